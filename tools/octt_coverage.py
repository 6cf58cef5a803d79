"""Generate docs/OCTT_COVERAGE.md: every OCA CSMS test-case id of OCPP 1.6 and 2.0.1 with the predefined scenario
that exercises it, or why none does.

The ids (no titles) live in ``tools/octt_ids.json``, refreshed from the OCA list with
``python tools/octt_coverage.py --ids-from /path/to/CSMS_TEST_CASES.md``. The scenarios' ``oca`` lists say which
ids each exercises; ``REASONS`` below says why an uncovered id is uncovered. ``python tools/octt_coverage.py``
rewrites the document; ``--check`` exits 1 when it is out of date (the test suite runs the same check).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
IDS_FILE = ROOT / "tools" / "octt_ids.json"
LIBRARY = ROOT / "scenarios" / "library"
DOC = ROOT / "docs" / "OCTT_COVERAGE.md"

_SECURITY = ("security profiles, certificates and security events: ocppemu stations do Basic auth and (m)TLS, "
             "but the library has no security scenarios yet")
#: Why an id has no scenario: exact ids first, then prefixes (a group), longest prefix wins.
REASONS: dict[str, str] = {
    "TC_037_1": "a transaction started while offline (local authorization) needs an offline start step; "
                "network-interruption only carries a running transaction across a drop",
    "TC_037_3": "as TC_037_1 (offline start with an invalid tag)",
    "TC_039": "as TC_037_1 (a whole transaction offline)",
    "TC_044_2": "the emulated firmware download always succeeds; failure injection is not configurable yet",
    "TC_044_3": "as TC_044_2 (installation failure)",
    "TC_045_2": "the emulated diagnostics upload always succeeds; failure injection is not configurable yet",
    "TC_047": "a reservation expiring needs a step that waits for the station's expiry (not in the library yet)",
    "TC_053": "needs parent id tags configured in the CSMS (group authorization)",
    "TC_059": "remote start with a charging profile: not in the library yet (remote-start-stop without profile)",
    "TC_07": _SECURITY, "TC_08": _SECURITY,
    "TC_A_": _SECURITY,
    "TC_B_08": "limiting GetVariables to the station's maximum needs the CSMS to send more than "
               "ItemsPerMessageGetVariables entries; not in the library yet",
    "TC_B_30": "needs the CSMS to answer the station's early messages with SecurityError while Pending; the "
               "station never sends them before it is accepted",
    "TC_B_31": "needs a CSMS that triggers the boot of a Pending/Rejected station; not in the library yet",
    "TC_C_20": "an invalid tag served from the authorization cache needs the cache pre-filled; not in the library",
    "TC_C_39": "group id authorization needs group ids configured in the CSMS",
    "TC_C_40": "local authorization list with group ids: not in the library yet",
    "TC_C_43": "as TC_C_40",
    "TC_C_47": "master pass: needs MasterPassGroupId configured on both sides",
    "TC_C_48": "as TC_C_47", "TC_C_49": "as TC_C_47",
    "TC_C_5": "ISO 15118 contract certificates: the emulated EV has no ISO 15118 stack",
    "TC_E_": "a transaction start/stop point variant (TxStartPoint/TxStopPoint) or queued-message case that the "
             "library has no scenario for yet",
    "TC_E_11": "signed meter data (DataSigned) is not emulated",
    "TC_F_": "not in the library yet",
    "TC_H_": "a reservation variant (connector type, group id, expiry, cancel on fault) not in the library yet",
    "TC_I_": "tariff and cost messages (CostUpdated, running/final cost) are not in the library yet",
    "TC_J_04": "signed clock-aligned meter values are not emulated",
    "TC_J_11": "signed sampled meter values are not emulated",
    "TC_K_": "a smart-charging variant not in the library yet (smart-charging-limit covers Tx/TxDefault profiles, "
             "the composite schedule and clearing)",
    "TC_K_5": "external limits and ISO 15118 schedule renegotiation need an EV/EMS side the emulator lacks",
    "TC_L_": "secure firmware (signatures, certificates), publish/unpublish and failure cases: not in the library",
    "TC_M_": "ISO 15118 certificate management: not in the library yet",
    "TC_N_": "monitoring, customer information and further log cases: not in the library yet",
    "TC_O_": "display messages: not in the library yet",
    "TC_P_03": "custom data in messages is not sent by the emulated station",
}


def parse_ids(text: str) -> dict[str, dict[str, list[str]]]:
    """{version: {group: [ids]}} from the OCA list (ids only)."""
    out: dict[str, dict[str, list[str]]] = {"2.0.1": {}, "1.6": {}}
    version = "2.0.1"
    for line in text.splitlines():
        if line.startswith("## ") and "1.6" in line:
            version = "1.6"
        m = re.match(r"- \*\*(.+?)\*\*", line)
        if not m:
            continue
        group = re.sub(r"\s*\(\d+\)\s*:?$", "", m.group(1).rstrip(":")).strip()
        line = re.sub(r"(TC_\d+_)(\d)\.\.(\d)",  # TC_048_1..4 -> TC_048_1/_2/_3/_4
                      lambda r: "/".join([r.group(1) + r.group(2)] + [f"_{n}" for n in range(
                          int(r.group(2)) + 1, int(r.group(3)) + 1)]), line)
        ids: list[str] = []
        for raw in re.findall(r"TC_[A-Z0-9_/]+", line):
            base = raw.split("/")[0]
            ids.append(base)
            stem = base.rsplit("_", 1)[0] if re.search(r"_\d$", base) else None
            for alt in raw.split("/")[1:]:  # TC_017_1/_2 -> TC_017_1, TC_017_2; TC_077/TC_078
                ids.append(alt if alt.startswith("TC_") else f"{stem}{alt}" if stem else alt)
        out[version][group] = list(dict.fromkeys(i for i in ids if re.fullmatch(r"TC_[A-Z0-9_]+", i)))
    return out


def declared() -> dict[str, list[str]]:
    """{id: [scenario names]} from the library."""
    found: dict[str, list[str]] = {}
    for path in sorted(LIBRARY.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for tc in doc.get("oca") or []:
            found.setdefault(str(tc), []).append(str(doc["name"]))
    return found


def reason(tc: str) -> str | None:
    if tc in REASONS:
        return REASONS[tc]
    best = max((p for p in REASONS if tc.startswith(p)), key=len, default=None)
    return REASONS[best] if best else None


def render(ids: dict[str, dict[str, list[str]]], scenarios: dict[str, list[str]]) -> str:
    lines = ["# OCTT coverage of the predefined scenario library", "",
             "Every OCA compliance test case in which the CSMS is the system under test (OCPP 1.6 OCTT and OCPP",
             "2.0.1 Part 6; ids only, (c) Open Charge Alliance), with the scenario of `scenarios/library/` that",
             "drives the same message flow against the CSMS, or why none does. A scenario exercising an id is not an",
             "OCA certification: it plays the flow and judges the CSMS's answers by the schemas, the scenario's",
             "assertions and the compliance rules (`docs/COMPLIANCE.md`).", "",
             "Generated by `python tools/octt_coverage.py` from `tools/octt_ids.json` and the scenarios' `oca`",
             "lists; a test fails when this file is out of date.", ""]
    for version in ("1.6", "2.0.1"):
        groups = ids[version]
        total = sum(len(v) for v in groups.values())
        covered = sum(1 for v in groups.values() for tc in v if tc in scenarios)
        lines += [f"## OCPP {version}: {covered} of {total} covered", ""]
        for group, tcs in groups.items():
            lines += [f"### {group}", "", "| test case | scenario(s) or reason |", "|---|---|"]
            for tc in tcs:
                cell = ", ".join(f"`{s}`" for s in scenarios[tc]) if tc in scenarios else (
                    f"none: {reason(tc) or 'not in the library yet'}")
                lines.append(f"| {tc} | {cell} |")
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ids-from", help="refresh tools/octt_ids.json from the OCA test-case list")
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/OCTT_COVERAGE.md is out of date")
    args = ap.parse_args(argv)
    if args.ids_from:
        IDS_FILE.write_text(json.dumps(parse_ids(Path(args.ids_from).read_text(encoding="utf-8")), indent=1) + "\n",
                            encoding="utf-8")
    text = render(json.loads(IDS_FILE.read_text(encoding="utf-8")), declared())
    if args.check:
        if DOC.read_text(encoding="utf-8") != text:
            print("docs/OCTT_COVERAGE.md is out of date: run python tools/octt_coverage.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
