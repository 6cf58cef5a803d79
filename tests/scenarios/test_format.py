"""Scenario files: the format, the loader's whole-file checks and the errors a bad file gets."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ocppemu.scenarios import format as fmt
from ocppemu.scenarios.loader import ScenarioError, load, loads
from ocppemu.scenarios.schema import SCHEMA_PATH, render

FILES = Path(__file__).parent / "files"
HEAD = "version: 1\nname: t\n"


def problems(text: str, **options: object) -> list[tuple[int, int, str]]:
    with pytest.raises(ScenarioError) as info:
        loads(text, "s.yaml", **options)  # type: ignore[arg-type]
    assert all(p.file == "s.yaml" for p in info.value.problems)
    return [(p.line, p.column, p.message) for p in info.value.problems]


def test_a_full_file_loads_with_its_stations_and_steps() -> None:
    s = load(FILES / "format-tour.yaml")
    assert s.name == "complete-session"
    assert [p.station_id for p in s.stations] == ["CP-1", "CP-2"]
    assert [p.config["vendor"] for p in s.stations] == ["ocppemu", "other"]
    assert s.model.ocpp == ["1.6", "2.0.1"]
    kinds = [st.kind for st in s.model.steps]
    assert kinds[:4] == ["connect", "boot", "plug_in", "authorize"]
    boot = s.model.steps[1].args
    assert isinstance(boot, fmt.BootArgs) and boot.expect == ["Accepted"]
    auth = s.model.steps[3].args
    assert isinstance(auth, fmt.AuthorizeArgs) and auth.capture == {"st": "$.idTagInfo.status"}
    wait = s.model.steps[-1].args
    assert isinstance(wait, fmt.WaitArgs) and wait.seconds == 2
    par = s.model.steps[8].args
    assert isinstance(par, fmt.ParallelArgs) and [b.on for b in par.branches] == [["CP-1"], ["CP-2"]]
    call = s.model.steps[9].args
    assert isinstance(call, fmt.ExpectCallArgs) and call.answer.delay == 1 and call.trigger is not None
    assert s.position(("steps", 9, "expect_call", "action")) == (33, 15)


def test_overrides_of_a_run_fan_out_and_change_version() -> None:
    s = load(FILES / "format-tour.yaml", stations=3, csms_url="ws://127.0.0.1:1/ocpp")
    assert [p.station_id for p in s.stations] == ["CP-1", "CP-2", "CP-3"]
    assert {p.config["csms_url"] for p in s.stations} == {"ws://127.0.0.1:1/ocpp"}
    text = HEAD + "ocpp: [1.6, 2.0.1, 2.1]\nstations: [{template: ac-7kw-single-1.6, count: 2}]\nsteps: [connect]\n"
    s2 = loads(text, ocpp="2.1")
    assert [(p.station_id, p.version) for p in s2.stations] == [("OCPPEMU-1", "2.1"), ("OCPPEMU-2", "2.1")]
    # a template that cannot be the asked version says why
    got = problems(text.replace("ac-7kw-single-1.6", "dc-150kw-2.0.1"), ocpp="1.6")
    assert got == [(4, 12, "stations[0].config: station OCPPEMU-1: OCPP 1.6 connector ids must be 1..N without gaps")]


def test_shorthands() -> None:
    s = loads(HEAD + "steps:\n  - connect\n  - boot:\n  - wait: 1.5\n  - network_drop: 3\n  - authorize: T1\n"
              "  - expect_call: Reset\n  - expect_call: {action: [Reset, GetConfiguration], answer: reject}\n"
              "  - set: {a: 1}\n  - check: [{value: '${a}', equals: 1}]\n  - parking_bay: false\n"
              "  - send_raw: [2, '1', Heartbeat, {}]\n", ocpp="2.0.1")
    args = [st.args for st in s.model.steps]
    assert isinstance(args[1], fmt.BootArgs) and args[1].expect == ["Accepted"]
    assert isinstance(args[3], fmt.NetworkDropArgs) and args[3].seconds == 3
    assert isinstance(args[4], fmt.AuthorizeArgs) and args[4].id_tag == "T1"
    assert isinstance(args[5], fmt.ExpectCallArgs) and args[5].action == ["Reset"]
    assert isinstance(args[6], fmt.ExpectCallArgs) and args[6].answer.respond == "reject"
    assert isinstance(args[7], fmt.SetArgs) and args[7].vars == {"a": 1}
    assert isinstance(args[9], fmt.ParkingBayArgs) and args[9].occupied is False
    assert isinstance(args[10], fmt.SendRawArgs) and args[10].raw == [2, "1", "Heartbeat", {}]


def test_yaml12_booleans_so_on_is_a_key() -> None:
    s = loads(HEAD + "stations: [{id: A}, {id: B}]\nsteps:\n  - plug_in: {on: A}\n  - set: {x: no}\n")
    plug = s.model.steps[0].args
    assert isinstance(plug, fmt.PlugInArgs) and plug.on == ["A"]
    assert isinstance(s.model.steps[1].args, fmt.SetArgs) and s.model.steps[1].args.vars == {"x": "no"}


# -- bad files: file, line, column and a reason ---------------------------------------------------------------


def test_syntax_error() -> None:
    assert problems(HEAD + "steps: [connect\n") == [
        (4, 1, "YAML syntax error: while parsing a flow sequence expected ',' or ']', but got '<stream end>'")]
    assert problems(HEAD + "steps:\n  - connect\n  bad: [\n")[0][:2] == (5, 3)


def test_characters_yaml_refuses() -> None:
    (line, _col, msg), = problems("name: m\udb89\udfd6\n")
    assert line == 0 and msg.startswith("the file holds a character YAML does not allow")


def test_empty_or_not_a_mapping() -> None:
    assert problems("")[0][2].startswith("the file is empty")
    assert problems("- connect\n")[0][2].startswith("a scenario is a mapping")


def test_unknown_step_with_a_suggestion() -> None:
    assert problems(HEAD + "steps:\n  - connect\n  - plug_inn: {connector: 1}\n") == [
        (5, 5, "steps[1]: unknown step 'plug_inn' (did you mean 'plug_in'?)")]
    assert problems(HEAD + "steps:\n  - repeat:\n      times: 2\n      steps: [wait: 1, frobnicate]\n")[0] == (
        6, 24, "steps[0].repeat.steps[1]: unknown step 'frobnicate'; known steps: " + ", ".join(fmt.STEP_KINDS))


def test_options_not_indented_under_the_step() -> None:
    (line, col, msg), = problems(HEAD + "steps:\n  - plug_in:\n    connector: 1\n")
    assert (line, col) == (4, 5) and "one key, the step kind" in msg and "plug_in, connector" in msg


def test_wrong_types_and_unknown_options() -> None:
    got = problems(HEAD + "steps:\n  - plug_in: {connector: one}\n  - wait: {secs: 3}\n  - charge: {duration: 1, "
                          "energy_wh: 2}\n  - expect_call: {answer: {delay: -1}}\n")
    assert (4, 26, "steps[0].plug_in.connector: input should be a valid integer, unable to parse string as an "
                   "integer (got 'one')") in got
    assert (5, 12, "steps[1].wait: unknown option 'secs' (did you mean 'seconds'?)") in got
    assert (5, 11, "steps[1].wait: 'seconds' is required") in got
    assert (6, 13, "steps[2].charge: charge needs exactly one of 'duration' (seconds) or 'energy_wh'") in got
    assert (7, 18, "steps[3].expect_call: 'action' is required") in got
    assert any(line == 7 and "answer.delay" in msg for line, _, msg in got)


def test_wrong_version_duplicate_key_and_bad_path() -> None:
    assert problems("version: 2\nname: t\nsteps: [connect]\n") == [
        (1, 10, "version: this ocppemu reads scenario format version 1, not 2")]
    assert problems(HEAD + "name: u\nsteps: [connect]\n") == [(3, 1, "duplicate key 'name'")]
    (line, _col, msg), = problems(HEAD + "steps:\n  - send: {action: Heartbeat, assert: [{path: status, equals: 1}]}\n")
    assert (line, msg) == (4, "steps[0].send.assert[0].path: a path starts with '$' (the payload), e.g. '$.status'; "
                              "got 'status'")


def test_unknown_variable() -> None:
    got = problems(HEAD + "variables: {tag: T}\nsteps:\n  - authorize: {id_tag: '${tagg}', capture: {st: $.x}}\n"
                          "  - check: [{value: '${st}', equals: Accepted}]\n"
                          "  - check: [{value: '${later}', equals: 1}]\n  - set: {later: 1}\n")
    assert got == [(5, 25, "steps[0].authorize.id_tag: unknown variable ${tagg} (did you mean ${tag}?): define it "
                           "under 'variables', or capture/set it in an earlier step"),
                   (7, 21, "steps[2].check[0].value: unknown variable ${later}: define it under 'variables', "
                           "or capture/set it in an earlier step")]


def test_iteration_exists_only_inside_a_repeat() -> None:
    loads(HEAD + "steps:\n  - repeat: {times: 2, steps: [{set: {n: '${iteration}'}}]}\n  - check: [{value: '${n}', "
                 "gt: 0}]\n")
    assert "unknown variable ${iteration}" in problems(HEAD + "steps:\n  - set: {n: '${iteration}'}\n")[0][2]


def test_stations_selectors_and_versions() -> None:
    text = HEAD + ("stations: [{id: A}, {id: B, ocpp: '2.0.1'}, {template: nope}]\nsteps: [connect]\n")
    assert problems(text)[0][2].startswith("stations[2].template: unknown template 'nope'; known: ")
    got = problems(HEAD + "stations: [{id: A}, {id: B, ocpp: '2.0.1'}]\nsteps:\n  - parking_bay: {on: [A, C]}\n"
                          "  - plug_in: {connector: 3}\n  - send: {action: Heartbeatt}\n  - expect_call: Reset\n"
                          "  - parking_bay: {on: B}\n  - expect_call: {action: RemoteStartTransaction, ocpp: 1.6}\n")
    msgs = [m for _, _, m in got]
    assert msgs == [
        "steps[0].parking_bay: parking_bay: OCPP 1.6 has no parking-bay sensor (2.0.1 and 2.1 do)",
        "steps[0].parking_bay.on: 'C' selects no station",
        "steps[1].plug_in.connector: station A has no connector 3",
        "steps[2].send.action: OCPP 1.6 has no station-initiated action 'Heartbeatt' (did you mean 'Heartbeat'?)",
        "steps[2].send.action: OCPP 2.0.1 has no station-initiated action 'Heartbeatt' (did you mean 'Heartbeat'?)",
    ]
    assert problems(HEAD + "stations: [{id: A, count: 2}, {id: A-2}]\nsteps: [connect]\n")[0][2] == (
        "stations[1].id: station id 'A-2' is defined twice")
    assert "not 2.1" in problems(HEAD + "ocpp: 1.6\nsteps: [connect]\n", ocpp="2.1")[0][2]
    assert "station X: connectors" in problems(HEAD + "stations: [{id: X, config: {connectors: []}}]\n"
                                                      "steps: [connect]\n")[0][2]


def test_every_problem_is_reported_at_once() -> None:
    assert len(problems(HEAD + "steps:\n  - plug_inn\n  - wait: x\n  - boot: {expect: 1, foo: 2}\n")) >= 3


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        load(tmp_path / "missing.yaml")


# -- the JSON Schema agrees with the models -------------------------------------------------------------------


def test_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), "run python -m ocppemu.scenarios.schema"


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _good_files() -> list[Path]:
    root = Path(__file__).parents[2]
    return sorted([*FILES.glob("*.yaml"), *(root / "scenarios").glob("**/*.yaml")])


@pytest.mark.parametrize("path", _good_files(), ids=lambda p: p.name)
def test_good_files_pass_the_schema(path: Path) -> None:
    from ocppemu.scenarios.loader import parse_yaml

    data, _, _ = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    assert list(_validator().iter_errors(data)) == []


@pytest.mark.parametrize("doc", [
    {"version": 1, "name": "t", "steps": [{"plug_inn": {}}]},
    {"version": 1, "name": "t", "steps": [{"plug_in": {"connector": "x"}}]},
    {"version": 1, "name": "t", "steps": [{"plug_in": {}, "wait": 1}]},
    {"version": 1, "name": "t", "steps": ["wait"]},
    {"version": 2, "name": "t", "steps": ["connect"]},
    {"version": 1, "name": "t", "steps": [{"expect_call": {"answer": "accept"}}]},
])
def test_schema_rejects_what_the_models_reject(doc: dict[str, object]) -> None:
    assert list(_validator().iter_errors(doc))
    with pytest.raises(ScenarioError):
        loads(json.dumps(doc))


def test_the_first_example_of_the_docs_loads() -> None:
    text = (Path(__file__).parents[2] / "docs" / "SCENARIOS.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    s = loads(example, "SCENARIOS.md")
    assert [p.station_id for p in s.stations] == ["CP-1", "CP-2"] and len(s.model.steps) == 7
