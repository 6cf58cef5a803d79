"""Cost of OCPP 1.6 over SOAP per frame: JSON payload -> validated envelope, and envelope -> validated payload.

Run: python benchmarks/soap.py [--runs 2000]. Prints the median microseconds per frame for a BootNotification and
for a MeterValues with 10 sampled values, in both directions (the station writes, the CSMS side reads).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.soap.codec import SoapCodec

BOOT = {"chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger", "chargePointSerialNumber": "SN-1",
        "firmwareVersion": "1.2.3", "iccid": "89310410106543789301", "imsi": "310410123456789"}
METER = {"connectorId": 1, "transactionId": 42, "meterValue": [{"timestamp": "2026-11-25T10:00:00.000Z",
         "sampledValue": [{"value": str(1000 + i), "context": "Sample.Periodic",
                           "measurand": "Energy.Active.Import.Register", "unit": "Wh", "location": "Outlet"}
                          for i in range(10)]}]}


def median_us(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    station = SoapCodec("CP1", role="station", to="http://cs.example/ocpp", from_address="http://cp.example:8080/")
    csms = SoapCodec("CP1", role="csms")
    for action, payload in (("BootNotification", BOOT), ("MeterValues", METER)):
        frame = Call("19223201", action, payload)
        text = station.serialise(frame)
        write = median_us(lambda frame=frame: station.serialise(frame), args.runs)
        read = median_us(lambda text=text: csms.parse(text), args.runs)
        print(f"{action:18} write {write:7.1f} us   read {read:7.1f} us   ({len(text)} bytes)")


if __name__ == "__main__":
    main()
