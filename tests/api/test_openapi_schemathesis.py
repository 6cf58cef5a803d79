"""Schemathesis against the daemon's served OpenAPI document: no 5xx, every response matches its schema,
status code and content type (bounded: a few examples per operation)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.daemon import LISTENING

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.schemas.BaseSchema]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    env = {**os.environ, "OCPPEMU_CSMS_DEFAULT_URL": "ws://127.0.0.1:9/ocpp",
           "OCPPEMU_APPLICATION_MAX_STATIONS": "25"}
    log_path = tmp / "daemon.log"
    log = open(log_path, "w+", encoding="utf-8")  # noqa: SIM115 - a file, not a pipe: a full pipe would block it
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocppemu", "serve", "--host", "127.0.0.1", "--port", "0", "--store",
         f"sqlite:///{tmp / 'st.db'}", "--data-dir", str(tmp / "data")],
        stdout=log, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    url = None
    deadline = time.monotonic() + 20
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        m = LISTENING.search(log_path.read_text(encoding="utf-8"))
        url = m.group(1) if m else None
        time.sleep(0.05)
    assert url, "daemon did not start"
    try:
        yield schemathesis.openapi.from_url(f"{url}/api/openapi.json")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        assert proc.returncode == 0, log_path.read_text(encoding="utf-8")[-3000:]


def test_api_conforms_to_its_openapi_document(api_schema: schemathesis.schemas.BaseSchema) -> None:
    # Driven through Hypothesis directly (schemathesis' pytest plugin does not load under this pytest).
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case: schemathesis.Case) -> None:
            # Schema-valid bodies may still break rules JSON Schema cannot state (1.6 connector ids 1..N,
            # csms_url scheme, engines not available yet): those get a clear 422, so that check is left out.
            response = case.call_and_validate(timeout=30, excluded_checks=[positive_data_acceptance])
            assert response.status_code < 500

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert operations >= 20
    assert failures == [], "\n\n".join(failures)


def test_document_is_openapi_31_and_names_every_route(api_schema: schemathesis.schemas.BaseSchema) -> None:
    raw = api_schema.raw_schema
    assert raw["openapi"].startswith("3.1")
    paths = set(raw["paths"])
    assert {"/api/stations", "/api/stations/{station_id}/actions", "/api/messages/export", "/api/status"} <= paths
    assert all(re.match(r"^/api/", p) for p in paths)
