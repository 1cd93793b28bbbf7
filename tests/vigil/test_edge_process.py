"""The edge verifier process imports what its hot path needs and nothing else (issue 15: memory).

A fresh interpreter builds the edge app exactly as `vigil edge serve` does, then reports what it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import vigil.edge
vigil.edge.create_edge_app()
print(json.dumps(sorted(sys.modules)))
"""
# Whole libraries the edge must never load: the web framework of the app, the task queue, the search client,
# the issuer's OAuth library, the detection engine.
FORBIDDEN_LIBRARIES = ("fastapi", "celery", "elasticsearch", "elastic_transport", "authlib", "sigma", "jinja2")
# Of our own packages, only settings (VigilSettings nests them), siem's stream writer and the verifier.
ALLOWED_OURS = {
    # detections' settings derive their index names from siem's layout (templates, which reads ecs).
    "siem": {
        "siem",
        "siem.errors",
        "siem.inputs",
        "siem.inputs.decisions",
        "siem.settings",
        "siem.stream",
        "siem.templates",
        "siem.ecs",
    },
    "detections": {"detections", "detections.settings"},
    # compliance binds `evaluate` eagerly (a function named like its module): its small pure chain comes along.
    "compliance": {
        "compliance",
        "compliance.settings",
        "compliance.evaluate",
        "compliance.errors",
        "compliance.catalog",
        "compliance.catalog.model",
        "compliance.evidence",
        "compliance.models",
        "compliance.checks",
        "compliance.checks.registry",
        "compliance.checks.identity",
        "compliance.checks.monitoring",
        "compliance.checks.operation",
    },
    "evidence": {"evidence", "evidence.settings"},
}


def test_the_edge_process_imports_no_app_no_celery_no_elasticsearch() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    roots = {m.split(".")[0] for m in modules}
    assert not roots & set(FORBIDDEN_LIBRARIES), sorted(roots & set(FORBIDDEN_LIBRARIES))
    assert "vigil.app" not in modules
    assert not {m for m in modules if m.startswith(("edgeauth.issuer", "edgeauth.edge.http"))}
    for package, allowed in ALLOWED_OURS.items():
        extra = {m for m in modules if m.split(".")[0] == package} - allowed
        assert not extra, f"{package}: {sorted(extra)}"
