"""OCPP 1.6 smart charging of a charge point: the profile store wired to the connectors' meters."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ocppemu.station.charging_limits import LimitTarget, apply_limits, on_limits_timer
from ocppemu.station.smart_charging import ProfileStore

if TYPE_CHECKING:
    from ocppemu.station.v16.station import Station16


class SmartCharging16:
    """SetChargingProfile / ClearChargingProfile / GetCompositeSchedule and the limits they put on the meters."""

    def __init__(self, station: Station16) -> None:
        self.station = station
        self.store = ProfileStore(station.version, [c for c in station.connectors if c > 0])

    def _tx_of(self, connector_id: int) -> tuple[int | str | None, datetime | None]:
        conn = self.station.connectors.get(connector_id)
        if conn is None or conn.tx is None:
            return None, None
        tx = conn.tx
        tid: int | str = tx.transaction_id if tx.transaction_id is not None else tx.local_key
        return tid, self.station.clock.datetime(tx.started_at)

    def install(self, connector_id: int, profile: dict[str, Any], now: float, *,
                for_remote_start: bool = False) -> str:
        if "SmartCharging" not in self.station.config.supported_profiles:
            return "NotSupported"
        tid, _ = self._tx_of(connector_id)
        result = self.store.install(connector_id, profile, now=self.station.clock.datetime(now),
                                    active_transaction_id=tid, from_csms=not for_remote_start)
        if not result.accepted:
            self.station.emit("charging_profile", now, status="Rejected", reason=result.reason)
        self.apply_limits(now)
        return result.status

    def clear(self, payload: dict[str, Any], now: float) -> str:
        cleared = self.store.clear(profile_id=payload.get("id"), connector_id=payload.get("connectorId"),
                                   purpose=payload.get("chargingProfilePurpose"),
                                   stack_level=payload.get("stackLevel"))
        self.apply_limits(now)
        return "Accepted" if cleared else "Unknown"

    def composite(self, payload: dict[str, Any], now: float) -> dict[str, Any]:
        cid = payload["connectorId"]
        st = self.station
        if cid != 0 and cid not in st.connectors:
            return {"status": "Rejected"}
        unit: Literal["W", "A"] = "A" if payload.get("chargingRateUnit") == "A" else "W"
        conn = st.connectors.get(cid)
        cfg = conn.config if conn is not None else None
        max_w = cfg.max_power if cfg is not None else sum(c.max_power for c in st.config.connectors)
        phases = cfg.phases if cfg is not None and cfg.current_type == "AC" else (1 if cfg is not None else 3)
        tid, tstart = self._tx_of(cid)
        start = st.clock.datetime(now)
        schedule = self.store.composite_schedule(cid, start, payload["duration"], unit, max_limit_w=max_w,
                                                 active_transaction_id=tid, transaction_start=tstart, phases=phases)
        return {"status": "Accepted", "connectorId": cid, "scheduleStart": schedule["startSchedule"],
                "chargingSchedule": schedule}

    def transaction_ended(self, transaction_id: int | str | None, now: float) -> None:
        if transaction_id is not None:
            self.store.end_transaction(transaction_id)
        self.apply_limits(now)

    def _targets(self) -> list[LimitTarget]:
        return [(c.id, c.meter, c.config, *self._tx_of(c.id)) for c in self.station.connectors.values()
                if c.meter is not None and c.config is not None]

    def apply_limits(self, now: float) -> None:
        """Set each meter's limit from the composite of the profiles now, and when it next changes."""
        apply_limits(self.store, self._targets(), now, self.station.clock, self.station.timers, self.on_timer)

    def on_timer(self, now: float) -> None:
        on_limits_timer(self.store, self._targets(), now, self.station.clock, self.station.timers,
                        self.on_timer)
