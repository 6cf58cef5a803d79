"""Parse + validate + serialise cost per frame: ocppemu's codec beside the third-party `ocpp` package's.

Run: python benchmarks/codec.py [--runs 2000]. Prints the median time per frame (microseconds) for a
BootNotification and for a MeterValues with 10 sampled values, for both implementations, and the ratio.
Needs the `ocpp` package (a test dependency) for the comparison column.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from ocppemu.ocpp.framing import Call, parse, serialise
from ocppemu.ocpp.validation import validate, warm_up
from ocppemu.ocpp.versions import Version

BOOT = json.dumps([2, "19223201", "BootNotification", {
    "chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger", "chargePointSerialNumber": "SN-1",
    "firmwareVersion": "1.2.3", "iccid": "89310410106543789301", "imsi": "310410123456789"}])
METER = json.dumps([2, "19223202", "MeterValues", {
    "connectorId": 1, "transactionId": 42,
    "meterValue": [{"timestamp": "2026-11-25T10:00:00.000Z", "sampledValue": [
        {"value": str(1000 + i), "context": "Sample.Periodic", "measurand": m, "unit": u, "location": "Outlet"}
        for i, (m, u) in enumerate([
            ("Energy.Active.Import.Register", "Wh"), ("Power.Active.Import", "W"), ("Current.Import", "A"),
            ("Voltage", "V"), ("SoC", "Percent"), ("Current.Offered", "A"), ("Power.Offered", "W"),
            ("Temperature", "Celsius"), ("Frequency", None), ("Power.Factor", None)])
    ] if True else []}]}])
# Frequency and Power.Factor carry no unit in OCPP 1.6.
_m = json.loads(METER)
for sv in _m[3]["meterValue"][0]["sampledValue"]:
    if sv["unit"] is None:
        del sv["unit"]
METER = json.dumps(_m)


def ours(text: str) -> str:
    frame = parse(text, Version.V16)
    assert isinstance(frame, Call)
    problem = validate(Version.V16, frame.action, "request", frame.payload)
    assert problem is None, problem
    return serialise(frame)


def theirs_factory() -> Callable[[str], str] | None:
    try:
        from ocpp.messages import _validate_payload as validate_payload  # the sync core of its validator
        from ocpp.messages import unpack
    except ImportError:
        return None

    def theirs(text: str) -> str:
        msg = unpack(text)
        validate_payload(msg, "1.6")
        return str(msg.to_json())

    return theirs


def median_us(fn: Callable[[str], str], text: str, runs: int, batch: int = 50) -> float:
    fn(text)
    samples = []
    for _ in range(runs // batch or 1):
        t = time.perf_counter()
        for _ in range(batch):
            fn(text)
        samples.append((time.perf_counter() - t) / batch * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()
    warm_up(Version.V16)
    theirs = theirs_factory()
    print(f"{'frame':<28}{'ocppemu µs':>12}{'ocpp µs':>12}{'ratio':>8}")
    for name, text in (("BootNotification", BOOT), ("MeterValues (10 values)", METER)):
        a = median_us(ours, text, args.runs)
        b = median_us(theirs, text, args.runs) if theirs else float("nan")
        print(f"{name:<28}{a:>12.1f}{b:>12.1f}{b / a:>7.1f}x")


if __name__ == "__main__":
    main()
