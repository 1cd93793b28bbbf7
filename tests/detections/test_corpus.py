"""The shared SigmaHQ corpus (../shared/sigma, read in place): load, convert, run, and fire on a generated event."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from detections import Detections, DetectionsSettings, load_rules
from detections.selftest.generate import generate
from detections.selftest.match import Unsupported
from detections.selftest.report import corpus_report
from siem import Pipeline
from tests.detections.conftest import alerts_of, later

pytestmark = pytest.mark.integration

# `../shared/sigma` beside the checkout; VIGIL_SIGMA_CORPUS points elsewhere (a checkout in another folder).
CORPUS = Path(os.environ.get("VIGIL_SIGMA_CORPUS") or Path(__file__).resolve().parents[2].parent / "shared" / "sigma")

#: Rules that cannot run in Vigil, each with the reason the report must give.
NOT_RUNNING = {
    "web_lnx_exploit_cve_2025_31324_sap_netviewer_webshell_uploaded.yml": "cs-content-type",
}


def test_corpus_is_present() -> None:
    assert len(list(CORPUS.rglob("*.yml"))) >= 90, f"the shared corpus is missing at {CORPUS}"


def test_every_corpus_rule_converts_generates_and_fires_through_real_ingest(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections], det_prefix: str
) -> None:
    settings = DetectionsSettings(namespace=det_prefix, include_bundled=False, rule_paths=[CORPUS])
    ruleset = load_rules(settings)
    samples: dict[str, list[str]] = defaultdict(list)
    expected: dict[str, str] = {}
    not_generated: dict[str, str] = {}
    stamp = datetime.now(UTC)
    for number, (rule_id, compiled) in enumerate(sorted(ruleset.rules.items())):
        sigma_rule = next(r for r in _parsed(compiled.info.source) if str(r.id) == rule_id)
        try:
            sample = generate(sigma_rule)
        except Unsupported as exc:
            not_generated[compiled.info.source] = str(exc)
            continue
        samples[sample.format].append(sample.line(stamp, request_id=f"corpus-{number}"))
        expected[rule_id] = compiled.info.source
    for fmt, lines in samples.items():
        pipeline.push(fmt, lines)
    drained = pipeline.drain()
    assert drained.indexed == sum(len(v) for v in samples.values()), drained

    report = corpus_report([CORPUS], settings, es)
    failing = {Path(e.source).name: e.reason or "" for e in report.entries if e.status != "ran"}
    assert set(failing) == set(NOT_RUNNING), report.summary()
    for name, needle in NOT_RUNNING.items():
        assert needle in failing[name]
    assert report.counts["ran"] == len(report.entries) - len(NOT_RUNNING)
    assert not not_generated, json.dumps(not_generated, indent=1)

    det = make_detections(include_bundled=False, rule_paths=[CORPUS])
    cycle = det.run_cycle(later())
    assert not cycle.errors, [r.error for r in cycle.errors]
    silent = {source for rule_id, source in expected.items() if not alerts_of(det, rule_id)}
    assert not silent, f"{len(silent)} generated events raised no alert: {sorted(silent)}"


def _parsed(source: str) -> list[SigmaRule]:
    return [r for r in SigmaCollection.load_ruleset([source]) if isinstance(r, SigmaRule)]
