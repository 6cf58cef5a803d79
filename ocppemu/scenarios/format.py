"""The scenario file format, version 1: pydantic models that are the single source of the JSON Schema.

A scenario is a YAML (or JSON) document::

    version: 1
    name: complete-session
    ocpp: ["1.6", "2.0.1"]
    stations: [{id: "CP-${index}", template: ac-7kw-single-1.6, count: 2}]
    steps:
      - connect
      - boot: {expect: Accepted}
      - plug_in: {connector: 1}
      - authorize: {id_tag: "${id_tag}", expect: Accepted}

Every step is a mapping with one key, the step kind, whose value holds the step's options (or a bare string for a
step without options, or a scalar for a step's main option: ``wait: 5``). ``docs/SCENARIOS.md`` documents every
field; ``scenario.schema.json`` beside this module is generated from these models (``python -m
ocppemu.scenarios.schema``) and a test keeps the two in agreement. Loading with line numbers is
:mod:`ocppemu.scenarios.loader`'s job; these models only validate data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from ocppemu.scenarios.format_parts import (
    NAME_PATTERN,
    VARIABLE_PATTERN,
    VERSIONS,
    Answer,
    Assertion,
    Capture,
    HttpRequest,
    Names,
    OcppVersion,
    Selector,
    Strict,
    Trigger,
    as_list,
    check_captures,
    many,
)

FORMAT_VERSION = 1

#: One or more OCPP versions.
Versions = Annotated[list[OcppVersion], BeforeValidator(as_list),
                     many({"anyOf": [{"enum": list(VERSIONS)}, {"enum": [1.6, 2.1]}]})]

# -- steps ------------------------------------------------------------------------------------------------------


class StepArgs(Strict):
    """Options every step has."""

    kind: ClassVar[str] = ""
    #: The option a scalar shorthand sets (``wait: 5`` is ``wait: {seconds: 5}``).
    shorthand: ClassVar[str | None] = None
    #: Whether the step acts on stations (and so takes ``on``).
    station_step: ClassVar[bool] = True

    name: str | None = Field(default=None, max_length=200, description="Shown in reports instead of the kind")
    continue_on_failure: bool = Field(default=False, description="A failure is reported but later steps still run")

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, v: object) -> object:
        if v is None:
            return {}
        if cls.shorthand is not None and not isinstance(v, dict):
            return {cls.shorthand: v}
        return v


class StationArgs(StepArgs):
    on: Selector = Field(default_factory=lambda: ["all"], description="Which stations run the step (default all)")
    timeout: float | None = Field(default=None, gt=0, le=86400,
                                  description="Seconds before the step fails (default settings.step_timeout)")
    ocpp: Versions | None = Field(
        default=None, description="Only stations of these OCPP versions run the step")


class ConnectorArgs(StationArgs):
    connector: int = Field(default=1, ge=0, le=1000, description="Connector id (1.6) or EVSE id (2.x)")


class Checked(StationArgs):
    """A step whose subject (a response or a CSMS call) can be asserted on and captured from."""

    assert_: list[Assertion] = Field(default_factory=list, alias="assert")
    capture: Capture = Field(default_factory=dict)

    @field_validator("capture")
    @classmethod
    def _captures(cls, v: dict[str, str]) -> dict[str, str]:
        return check_captures(v)


def _statuses(v: object) -> object:
    return as_list(v)


Statuses = Annotated[list[str] | None, BeforeValidator(_statuses),
                     WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                                               {"type": "null"}]})]


class ConnectArgs(StationArgs):
    """Open the station's connection to the CSMS (the station then sends its BootNotification)."""

    kind = "connect"
    expect: Literal["connected", "refused"] = "connected"


class DisconnectArgs(StationArgs):
    """Close the connection cleanly."""

    kind = "disconnect"


class BootArgs(Checked):
    """Wait for the BootNotification answer; pass when the registration status is one of ``expect``. Subject: the
    BootNotification response."""

    kind = "boot"
    shorthand = "expect"
    expect: Statuses = Field(default_factory=lambda: ["Accepted"])


class PlugInArgs(ConnectorArgs):
    kind = "plug_in"


class UnplugArgs(ConnectorArgs):
    kind = "unplug"


class AuthorizeArgs(Checked, ConnectorArgs):
    """Present an id tag at a connector (which starts charging if the cable is plugged in and it is accepted).
    Subject: the Authorize response; ``expect`` is its idTagInfo / idTokenInfo status."""

    kind = "authorize"
    shorthand = "id_tag"
    id_tag: str | None = Field(default=None, max_length=255, description="Default: the station's default id tag")
    expect: Statuses = None


class PresentCardArgs(AuthorizeArgs):
    """Present a card without plugging in first (same options as ``authorize``)."""

    kind = "present_card"


class StartArgs(Checked, ConnectorArgs):
    """Start a transaction locally. Subject: the StartTransaction / TransactionEvent(Started) response."""

    kind = "start"
    id_tag: str | None = Field(default=None, max_length=255)
    expect: Statuses = None


class StopArgs(Checked, ConnectorArgs):
    """Stop the connector's transaction locally. Subject: the StopTransaction / TransactionEvent(Ended) response."""

    kind = "stop"
    reason: str = Field(default="Local", max_length=50)


class SuspendArgs(ConnectorArgs):
    kind = "suspend"
    by: Literal["EV", "EVSE"] = "EV"


class ResumeArgs(ConnectorArgs):
    kind = "resume"


class FaultArgs(ConnectorArgs):
    kind = "fault"
    error_code: str = Field(default="OtherError", max_length=50)


class RecoverArgs(ConnectorArgs):
    kind = "recover"


class ConnectorStatusArgs(ConnectorArgs):
    """Report a connector status directly (e.g. Unavailable)."""

    kind = "connector_status"
    shorthand = "status"
    status: str = Field(min_length=1, max_length=50)


class PowerLossArgs(StationArgs):
    """The station loses power: everything stops at once, no goodbye; it boots again after ``seconds``."""

    kind = "power_loss"
    shorthand = "seconds"
    seconds: float = Field(default=5.0, ge=0, le=86400)


class NetworkDropArgs(StationArgs):
    """The network drops for ``seconds``: the station keeps running offline (queueing transaction messages)."""

    kind = "network_drop"
    shorthand = "seconds"
    seconds: float = Field(default=10.0, ge=0, le=86400)


class ParkingBayArgs(ConnectorArgs):
    """The parking-bay occupancy sensor of an EVSE (OCPP 2.0.1 and 2.1, reported with NotifyEvent)."""

    kind = "parking_bay"
    shorthand = "occupied"
    occupied: bool = True


class ChargeArgs(ConnectorArgs):
    """Let the running transaction charge for ``duration`` seconds or until ``energy_wh`` is delivered."""

    kind = "charge"
    duration: float | None = Field(default=None, gt=0, le=86400 * 7)
    energy_wh: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_goal(self) -> ChargeArgs:
        if (self.duration is None) == (self.energy_wh is None):
            raise ValueError("charge needs exactly one of 'duration' (seconds) or 'energy_wh'")
        return self


class ExpectCallArgs(Checked):
    """Wait for a CSMS-initiated call (received since the previous step started) and answer it. Subject: the
    call's payload."""

    kind = "expect_call"
    shorthand = "action"
    action: Names = Field(min_length=1, description="Action name(s); the first to arrive is taken")
    answer: Answer = Field(default_factory=Answer)
    trigger: Trigger | None = None


class SendArgs(Checked):
    """Send a crafted CALL. ``validate: false`` lets a payload that breaks the schema through. Subject: the
    response payload (CallResult) or ``{errorCode, errorDescription, errorDetails}`` (CallError)."""

    kind = "send"
    action: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)
    validate_: bool = Field(default=True, alias="validate")
    expect: Literal["result", "error", "no_response", "any"] = "result"
    error_code: Statuses = None


class SendRawArgs(Checked):
    """Write a frame as it is (text, or a YAML value written as JSON) to test the CSMS's robustness."""

    kind = "send_raw"
    shorthand = "raw"
    raw: Any = Field(description="Text sent as it is, or any other value sent as JSON")
    expect: Literal["result", "error", "no_response", "any"] = "any"
    error_code: Statuses = None


class HttpArgs(Checked, HttpRequest):
    """Call the CSMS's own API (once per target station). Subject: the response body (JSON if it parses)."""

    kind = "http"


class PromptArgs(StationArgs):
    """Ask the operator to do something in the CSMS and wait for confirmation (terminal, notebook, dashboard)."""

    kind = "prompt"
    shorthand = "message"
    message: str = Field(min_length=1)


class FuzzArgs(StationArgs):
    """Fuzz the CSMS from a second connection (station id ``<station>-FUZZ``, the station's CSMS URL, auth and
    TLS): schema-driven malformed and boundary frames, each answer judged against the CallError the OCPP-J rules
    require (docs/COMPLIANCE.md). Every departure is a finding of the run; the step fails on an error finding."""

    kind = "fuzz"
    shorthand = "frames"
    frames: int = Field(default=50, ge=1, le=10000, description="Number of frames to send")
    seed: int | None = Field(default=None, description="Seed of the frames (default: the run's seed)")
    answer_timeout: float = Field(default=5.0, gt=0, le=600, description="Seconds to wait for each answer")


class WaitArgs(StepArgs):
    kind = "wait"
    shorthand = "seconds"
    station_step = False
    seconds: float = Field(ge=0, le=86400 * 7)


class SetArgs(StationArgs):
    """Set variables (per station): ``set: {vars: {tag: "TAG-${index}"}}`` or the shorthand ``set: {tag: ...}``."""

    kind = "set"
    vars: dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], Any]

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, v: object) -> object:
        if isinstance(v, dict) and "vars" not in v:
            return {"vars": v}
        return v


class CheckArgs(StationArgs):
    """Assertions on values (variables), not on a message."""

    kind = "check"
    shorthand = "assert"
    assert_: list[Assertion] = Field(min_length=1, alias="assert")


class RepeatArgs(StepArgs):
    """Run ``steps`` ``times`` times; ``${iteration}`` counts from 1."""

    kind = "repeat"
    station_step = False
    times: int = Field(ge=1, le=100000)
    steps: list[Step] = Field(min_length=1)


class Branch(Strict):
    """Steps run one after another, side by side with the other branches; ``on`` is the default for its steps."""

    name: str | None = None
    on: Selector | None = None
    steps: list[Step] = Field(min_length=1)


class ParallelArgs(StepArgs):
    """Run ``branches`` at the same time; the step ends when all have."""

    kind = "parallel"
    station_step = False
    shorthand = "branches"
    branches: list[Branch] = Field(min_length=1)


STEP_ARGS: tuple[type[StepArgs], ...] = (
    ConnectArgs, DisconnectArgs, BootArgs, PlugInArgs, UnplugArgs, AuthorizeArgs, PresentCardArgs, StartArgs,
    StopArgs, SuspendArgs, ResumeArgs, FaultArgs, RecoverArgs, ConnectorStatusArgs, PowerLossArgs, NetworkDropArgs,
    ParkingBayArgs, ChargeArgs, ExpectCallArgs, SendArgs, SendRawArgs, HttpArgs, PromptArgs, WaitArgs, SetArgs,
    CheckArgs, RepeatArgs, ParallelArgs, FuzzArgs,
)
STEP_KINDS: dict[str, type[StepArgs]] = {a.kind: a for a in STEP_ARGS}


class StepWrapper(Strict):
    """One step: a model with a single field named after its kind (see :attr:`args`)."""

    kind: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_kind(cls, v: object) -> object:
        return {v: None} if isinstance(v, str) else v

    @property
    def args(self) -> StepArgs:
        value: StepArgs = getattr(self, self.kind)
        return value

    @property
    def title(self) -> str:
        return self.args.name or self.kind


def _wrapper(args: type[StepArgs]) -> type[StepWrapper]:
    title = "".join(p.title() for p in args.kind.split("_")) + "Step"
    w: type[StepWrapper] = create_model(title, __base__=StepWrapper, __doc__=args.__doc__,
                                        **{args.kind: (args, Field(...))})  # type: ignore[call-overload]
    w.kind = args.kind
    return w


STEP_WRAPPERS: dict[str, type[StepWrapper]] = {k: _wrapper(a) for k, a in STEP_KINDS.items()}


def step_kind_of(v: Any) -> str | None:
    """The step kind a raw step names (``None`` when it names none, which pydantic reports as an error)."""
    if isinstance(v, StepWrapper):
        return v.kind
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and len(v) == 1:
        key = next(iter(v))
        return key if isinstance(key, str) else None
    return None


if TYPE_CHECKING:
    Step = StepWrapper
else:
    Step = Annotated[
        Union[tuple(Annotated[w, Tag(k)] for k, w in STEP_WRAPPERS.items())],  # noqa: UP007
        Discriminator(step_kind_of),
    ]


# -- the document -----------------------------------------------------------------------------------------------


class StationSpec(Strict):
    """Stations made from a built-in or stored ``template`` and/or an inline ``config`` (merged over the template);
    ``count`` copies numbered by ``${index}`` (from 1) in ``id``."""

    id: str = Field(default="OCPPEMU-${index}", min_length=1, max_length=60)
    template: str | None = None
    ocpp: OcppVersion | None = Field(default=None, description="Overrides the template's protocol version")
    count: int = Field(default=1, ge=1, le=100000)
    config: dict[str, Any] = Field(default_factory=dict, description="Station configuration (overrides)")
    per_station: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                   description="Station id -> configuration overrides for that one")
    variables: dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], Any] = Field(default_factory=dict)

    @field_validator("config")
    @classmethod
    def _no_id(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "station_id" in v:
            raise ValueError("give the station id as 'id' beside 'config', not as config.station_id")
        return v


class Settings(Strict):
    response_timeout: float = Field(default=30.0, gt=0, le=3600,
                                    description="Seconds the CSMS has to answer a station's call")
    step_timeout: float = Field(default=60.0, gt=0, le=86400, description="Default timeout of a step")
    seed: int | None = Field(default=None, description="Seed for everything random (overridden by --seed)")


class CsmsApi(Strict):
    """The CSMS's own HTTP API, for ``http`` steps and triggers with a relative ``url``."""

    base_url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)


class ScenarioFile(Strict):
    """A whole scenario file."""

    version: Literal[1] = Field(description="Format version; this document describes version 1")
    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    description: str = ""
    ocpp: Versions = Field(default_factory=lambda: list(VERSIONS),  # type: ignore[arg-type]
                           description="Versions the scenario is written for")
    oca: list[str] = Field(default_factory=list, description="OCA test-case ids the scenario exercises")
    tags: list[str] = Field(default_factory=list)
    variables: dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], Any] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)
    csms_api: CsmsApi | None = None
    stations: list[StationSpec] = Field(default_factory=lambda: [StationSpec()], min_length=1)
    steps: list[Step] = Field(min_length=1)


for _m in (RepeatArgs, Branch, ParallelArgs, ScenarioFile, *STEP_WRAPPERS.values()):
    _m.model_rebuild()  # type: ignore[attr-defined]
