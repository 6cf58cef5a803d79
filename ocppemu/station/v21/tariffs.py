"""OCPP 2.1 local cost calculation: default tariffs per EVSE, transaction tariffs and the running cost.

Pure part: :class:`TariffTable` (which tariff applies where) and :func:`cost_details` (a ``CostDetailsType`` from a
tariff and the usage of a transaction). Protocol part: the handlers of SetDefaultTariff, GetTariffs, ClearTariffs
and ChangeTransactionTariff.

Pricing rules (documented simplification of the specification's tariff conditions): for each tariff element
(``fixedFee``, ``energy``, ``chargingTime``, ``idleTime``) the first price without ``conditions`` is used, else the
first price; conditions are stored and reported but not evaluated. Tax: ``inclTax = exclTax * (1 + sum of the
element's tax rates / 100)``. ``minCost`` / ``maxCost`` bound the total (excl. tax), and ``typeOfCost`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.station.clock import parse_iso
from ocppemu.station.v21.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v21.station import Station21

JSON = dict[str, Any]
_ELEMENTS = (("fixedFee", "priceFixed"), ("energy", "priceKwh"), ("chargingTime", "priceMinute"),
             ("idleTime", "priceMinute"))
_COST_KEYS = {"fixedFee": "fixed", "energy": "energy", "chargingTime": "chargingTime", "idleTime": "idleTime"}


@dataclass(slots=True, frozen=True)
class Usage:
    """What a transaction used so far: energy (Wh), charging and idle seconds."""

    energy_wh: float
    charging_s: int
    idle_s: int


@dataclass(slots=True)
class TariffTable:
    """Default tariffs by EVSE id (0: every EVSE without its own). Tariffs are kept as received (wire form)."""

    defaults: dict[int, JSON] = field(default_factory=dict)

    def set_default(self, evse_id: int, tariff: JSON) -> str:
        """Install ``tariff`` as the default of ``evse_id``; returns the SetDefaultTariff status.

        ``DuplicateTariffId``: the same ``tariffId`` is installed elsewhere with other content.
        """
        tid = tariff["tariffId"]
        for where, existing in self.defaults.items():
            if existing["tariffId"] == tid and where != evse_id and existing != tariff:
                return "DuplicateTariffId"
        self.defaults[evse_id] = dict(tariff)
        return "Accepted"

    def for_evse(self, evse_id: int, at: float | None = None) -> JSON | None:
        """The default tariff that applies to ``evse_id`` at station time ``at`` (its own, else the station-wide
        one); a tariff whose ``validFrom`` is still ahead of ``at`` does not apply yet."""
        for where in (evse_id, 0):
            tariff = self.defaults.get(where)
            if tariff is not None and (at is None or _valid_from(tariff) <= at):
                return tariff
        return None

    def assignments(self, evse_id: int) -> list[JSON]:
        """``TariffAssignmentType`` items for GetTariffs: every tariff (``evse_id`` 0) or those of one EVSE."""
        by_id: dict[str, JSON] = {}
        for where, tariff in sorted(self.defaults.items()):
            if evse_id not in (0, where) and where != 0:
                continue
            item = by_id.setdefault(tariff["tariffId"], {"tariffId": tariff["tariffId"], "tariffKind": "DefaultTariff"})
            if "validFrom" in tariff:
                item["validFrom"] = tariff["validFrom"]
            if where != 0:
                item.setdefault("evseIds", []).append(where)
        return list(by_id.values())

    def clear(self, tariff_ids: list[str] | None, evse_id: int | None) -> list[JSON]:
        """Remove tariffs; returns ``ClearTariffsResultType`` items (``NoTariff`` when nothing matched)."""
        results: list[JSON] = []
        wanted = set(tariff_ids) if tariff_ids else None
        for where in list(self.defaults):
            tid = self.defaults[where]["tariffId"]
            if evse_id not in (None, 0, where) or (wanted is not None and tid not in wanted):
                continue
            del self.defaults[where]
            results.append({"tariffId": tid, "status": "Accepted"})
        if wanted is not None:
            done = {r["tariffId"] for r in results}
            results += [{"tariffId": t, "status": "NoTariff"} for t in sorted(wanted - done)]
        return results or [{"status": "NoTariff"}]


def _valid_from(tariff: JSON) -> float:
    start = parse_iso(tariff["validFrom"]) if isinstance(tariff.get("validFrom"), str) else None
    return float("-inf") if start is None else start


def _price(element: JSON, key: str) -> float:
    prices = element.get("prices") or []
    chosen = next((p for p in prices if not p.get("conditions")), prices[0] if prices else None)
    return float(chosen[key]) if chosen is not None else 0.0


def _with_tax(element: JSON, excl: float) -> JSON:
    rate = sum(float(t.get("tax", 0.0)) for t in element.get("taxRates") or [])
    return {"exclTax": round(excl, 4), "inclTax": round(excl * (1 + rate / 100.0), 4)}


def cost_details(tariff: JSON, usage: Usage, period_start: str) -> JSON:
    """A ``CostDetailsType`` for ``usage`` under ``tariff`` (see the module docstring for the rules)."""
    quantities = {"fixedFee": 1.0, "energy": usage.energy_wh / 1000.0, "chargingTime": usage.charging_s / 60.0,
                  "idleTime": usage.idle_s / 60.0}
    total: JSON = {"currency": tariff["currency"], "typeOfCost": "NormalCost"}
    excl = incl = 0.0
    for name, key in _ELEMENTS:
        element = tariff.get(name)
        if not isinstance(element, dict):
            continue
        part = _with_tax(element, _price(element, key) * quantities[name])
        total[_COST_KEYS[name]] = part
        excl += part["exclTax"]
        incl += part["inclTax"]
    for bound, kind, better in (("minCost", "MinCost", max), ("maxCost", "MaxCost", min)):
        limit = tariff.get(bound)
        if isinstance(limit, dict) and "exclTax" in limit:
            bounded = better(excl, float(limit["exclTax"]))
            if bounded != excl:
                total["typeOfCost"] = kind
                excl = bounded
                incl = float(limit.get("inclTax", bounded))
    total["total"] = {"exclTax": round(excl, 4), "inclTax": round(incl, 4)}
    period = {"tariffId": tariff["tariffId"], "startPeriod": period_start,
              "dimensions": [{"type": "Energy", "volume": round(usage.energy_wh, 3)},
                             {"type": "ChargingTime", "volume": usage.charging_s},
                             {"type": "IdleTIme", "volume": usage.idle_s}]}
    return {"chargingPeriods": [period], "totalCost": total,
            "totalUsage": {"energy": round(usage.energy_wh, 3), "chargingTime": usage.charging_s,
                           "idleTime": usage.idle_s}}


def running_total(details: JSON) -> float:
    """The total including tax of a ``CostDetailsType``."""
    return float(details["totalCost"]["total"].get("inclTax", 0.0))


# -- protocol ----------------------------------------------------------------------------------------------


def _info(code: str, text: str) -> JSON:
    return {"reasonCode": code[:20], "additionalInfo": text[:1024]}


@HANDLERS.call("SetDefaultTariff")
def on_call_SetDefaultTariff(self: Station21, call: Call, now: float) -> None:
    evse_id, tariff = call.payload["evseId"], call.payload["tariff"]
    if evse_id != 0 and evse_id not in self.evses:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("UnknownEvse", f"no EVSE {evse_id}")}, now)
        return
    status = self.tariffs.set_default(evse_id, tariff)
    self.answer(call, {"status": status}, now)
    if status == "Accepted":
        self.emit("tariff", now, evse_id=evse_id, tariff_id=tariff["tariffId"], tariff_kind="DefaultTariff")


@HANDLERS.call("GetTariffs")
def on_call_GetTariffs(self: Station21, call: Call, now: float) -> None:
    evse_id = call.payload["evseId"]
    if evse_id != 0 and evse_id not in self.evses:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("UnknownEvse", f"no EVSE {evse_id}")}, now)
        return
    found = self.tariffs.assignments(evse_id)
    for evse in self.evses.values():
        tx = evse.active_tx
        driver = None if tx is None else self.tx_tariffs.get(tx.transaction_id)
        if driver is not None and evse_id in (0, evse.id) and driver["tariffId"] not in {
                f["tariffId"] for f in found}:
            item: JSON = {"tariffId": driver["tariffId"], "tariffKind": "DriverTariff", "evseIds": [evse.id]}
            if tx is not None and tx.id_token is not None:
                item["idTokens"] = [tx.id_token.id[:255]]
            found.append(item)
    if not found:
        self.answer(call, {"status": "NoTariff"}, now)
        return
    self.answer(call, {"status": "Accepted", "tariffAssignments": found}, now)


@HANDLERS.call("ClearTariffs")
def on_call_ClearTariffs(self: Station21, call: Call, now: float) -> None:
    results = self.tariffs.clear(call.payload.get("tariffIds"), call.payload.get("evseId"))
    self.answer(call, {"clearTariffsResult": results}, now)


@HANDLERS.call("ChangeTransactionTariff")
def on_call_ChangeTransactionTariff(self: Station21, call: Call, now: float) -> None:
    tid, tariff = call.payload["transactionId"], call.payload["tariff"]
    evse = next((e for e in self.evses.values() if e.active_tx is not None and e.active_tx.transaction_id == tid),
                None)
    if evse is None or evse.active_tx is None:
        self.answer(call, {"status": "TxNotFound"}, now)
        return
    current = self.tx_tariffs.get(tid)
    if current is not None and current["currency"] != tariff["currency"]:
        self.answer(call, {"status": "NoCurrencyChange", "statusInfo": _info(
            "NoCurrencyChange", f"the transaction is priced in {current['currency']}")}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self.tx_tariffs[tid] = dict(tariff)
    self.tariff_sent.discard(tid)
    self.emit("tariff", now, evse_id=evse.id, tariff_id=tariff["tariffId"], tariff_kind="DriverTariff",
              transaction_id=tid)
    values = self.sample(evse, self.dm.get_list("SampledDataCtrlr", "TxUpdatedMeasurands"), "Other", now,
                         evse.active_tx)
    self.transaction_event(evse, "Updated", "TariffChanged", now, meter_values=values)




@HANDLERS.call("NotifyWebPaymentStarted")
def on_call_NotifyWebPaymentStarted(self: Station21, call: Call, now: float) -> None:
    """A driver started paying on a web page for ``evseId``: the EVSE waits ``timeout`` seconds for it."""
    evse_id, timeout = call.payload["evseId"], call.payload["timeout"]
    self.answer(call, {}, now)
    if evse_id not in self.evses:
        return
    self.web_payments[evse_id] = now + max(0, timeout)
    self.timers.set(("web_payment", evse_id), now + max(0, timeout), partial(_web_payment_timeout, self, evse_id))
    self.emit("web_payment", now, evse_id=evse_id, status="Started", timeout=timeout)


def _web_payment_timeout(self: Station21, evse_id: int, now: float) -> None:
    if self.web_payments.pop(evse_id, None) is not None:
        self.emit("web_payment", now, evse_id=evse_id, status="TimedOut")
