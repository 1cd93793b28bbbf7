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
# Of our other packages the edge needs the settings (VigilSettings nests them) and siem's stream writer; their
# boundary models, HTTP routers, pipelines and Celery tasks stay out. (compliance binds `evaluate` eagerly, a
# function named like its module, so its small pure chain comes along: it is not checked here.)
FORBIDDEN_OURS = {
    "siem": ("models", "http", "pipeline", "tasks", "bulk", "parsers"),
    "detections": ("models", "http", "service", "tasks", "engine"),
    "evidence": ("models", "http", "archive", "locker", "tasks"),
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
    for package, parts in FORBIDDEN_OURS.items():
        loaded = {m for m in modules if m.split(".")[0] == package and set(m.split(".")[1:]) & set(parts)}
        assert not loaded, f"{package}: {sorted(loaded)}"
    assert "siem.stream" in modules  # the probe did build the real edge
