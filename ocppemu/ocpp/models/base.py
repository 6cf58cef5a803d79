"""The common base of every generated OCPP payload model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class OcppPayload(BaseModel):
    """A request or response payload (or a part of one) with its keys exactly as on the wire.

    Models are strict: ``"1"`` is not an integer and ``1`` is not a string, as in the JSON schema. Each generated
    subclass sets ``extra`` to ``"forbid"`` where the schema says ``additionalProperties: false`` and ``"allow"``
    elsewhere (``customData``), so unknown vendor keys survive a round trip.

    Known differences from the schema, by design (the compiled schema validator remains the gate for wire
    traffic): an explicit ``null`` for an optional key is accepted and dropped by :meth:`to_wire`, ``date-time``
    and ``uri`` strings are not format-checked, and an integral float such as ``1.0`` is not accepted as an
    ``integer``.
    """

    model_config = ConfigDict(strict=True, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready payload: wire key names, optional keys that are ``None`` left out."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)
