"""How a station configuration is laid out in the ``stations`` collection (shared by both backends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ocppemu.config.station import StationConfig
from ocppemu.store import codec
from ocppemu.store.errors import StoredDataError

_CONFIG_FIELDS = frozenset(StationConfig.model_fields)


def station_to_doc(config: StationConfig, created_at: datetime, updated_at: datetime) -> dict[str, Any]:
    """The stored document: every configuration field with secrets in clear (the store is the source of
    truth), ``created_at``/``updated_at`` as ISO text truncated to the millisecond."""
    stamped = config.model_copy(
        update={"created_at": codec.trunc_ms(created_at), "updated_at": codec.trunc_ms(updated_at)}
    )
    return stamped.export(include_secrets=True)


def station_from_doc(doc: dict[str, Any]) -> StationConfig:
    """Validate a stored document back into a :class:`StationConfig`; storage-only keys are ignored.

    Raises :class:`StoredDataError` naming the station when the document no longer validates.
    """
    data = {k: v for k, v in doc.items() if k in _CONFIG_FIELDS}
    try:
        return StationConfig.model_validate(data)
    except ValidationError as exc:
        raise StoredDataError(f"stored station {doc.get('station_id')!r} is invalid: {exc}") from exc
