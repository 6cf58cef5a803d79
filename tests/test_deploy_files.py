"""The deployment files cannot be built here (no Docker engine, no Kubernetes): they parse, have the expected
parts, and the Dockerfile copies files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_serve_dashboards_and_mongodb_7() -> None:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    assert services["mongodb"]["image"] == "mongo:7"
    serve = services["ocppemu"]
    assert serve["build"] == "." and serve["command"][0] == "serve"
    assert any("mongodb://mongodb:27017/" in part for part in serve["command"])
    assert all(str(p).startswith("127.0.0.1:") for p in serve["ports"])
    assert services["dashboards"]["command"][0] == "ui"
    assert set(doc["volumes"]) == {"mongo", "data"}


def test_kuberay_cluster_has_a_head_workers_and_token_auth() -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy/kuberay/raycluster.yaml").read_text()))
    assert len(docs) == 1
    rc = docs[0]
    assert (rc["apiVersion"], rc["kind"]) == ("ray.io/v1", "RayCluster")
    head = rc["spec"]["headGroupSpec"]["template"]["spec"]
    workers = rc["spec"]["workerGroupSpecs"][0]["template"]["spec"]
    for pod in (head, workers):
        assert pod["securityContext"]["runAsNonRoot"] is True
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        assert env["RAY_AUTH_MODE"]["value"] == "token" and "secretKeyRef" in env["RAY_AUTH_TOKEN"]["valueFrom"]
    assert {p["containerPort"] for p in head["containers"][0]["ports"]} >= {6379, 10001}


def test_dockerfile_is_slim_non_root_and_copies_existing_files() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.M)
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    copies = re.findall(r"^COPY (.+) \S+$", text, re.M)
    sources = [src for line in copies for src in line.split()]
    assert "ocppemu" in sources and "pyproject.toml" in sources
    for src in sources:
        assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which does not exist"
