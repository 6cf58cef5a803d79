"""Run reports: JSON round trip, JUnit XML valid against the JUnit schema, HTML self-contained."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import xmlschema

from ocppemu.scenarios.reports import to_html, to_json, to_junit
from ocppemu.scenarios.results import RunReport, percentile
from tests.scenarios.reports_fixture import sample_report

XSD = Path(__file__).with_name("junit.xsd")


def test_junit_is_valid_and_names_rule_and_action() -> None:
    text = to_junit([sample_report(), sample_report()])
    xmlschema.XMLSchema(XSD).validate(text)
    root = ET.fromstring(text)
    assert root.get("tests") == "10" and root.get("failures") == "4" and root.get("skipped") == "2"
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["1 connect", "2 boot", "3 Authorize <bad> tag", "4 send",
                                              "compliance findings"]
    assert {c.get("classname") for c in cases} == {"report-sample.CP-1"}
    failure = cases[2].find("failure")
    assert failure is not None
    assert failure.get("message") == "[expect] Authorize: Authorize status is 'Invalid', expected Accepted"
    assert "line 9 of s.yaml" in (failure.text or "")
    finding = cases[4].find("failure")
    assert finding is not None and finding.get("message", "").startswith("[schema] Authorize: idTagInfo")
    assert cases[3].find("skipped") is not None


def test_json_report_round_trips() -> None:
    doc = json.loads(to_json([sample_report()]))
    assert doc["format"] == "ocppemu-scenario-report"
    again = RunReport.model_validate(doc["runs"][0])
    assert again == sample_report()
    assert again.exit_code() == 1


def test_html_is_one_file_without_remote_resources() -> None:
    page = to_html([sample_report()])
    assert "Authorize &lt;bad&gt; tag" in page and "idTagInfo is a required property" in page
    assert "<script src=" not in page and "<link" not in page  # plotly.js is inline; the browser test proves it


def test_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([1.0, 2.0], 99) == 2.0
