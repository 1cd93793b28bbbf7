"""The OSCAL export is valid assessment-results (trestle's models), deterministic, and hashes its evidence."""

from __future__ import annotations

import json
from typing import Any

from compliance import ComplianceSettings, assessment_results, evaluate, load_catalog
from compliance.evidence import ComplianceConfig, TokenPolicy
from compliance.oscal import render
from compliance.settings import Thresholds
from tests.compliance.factories import PERIOD, T0, ev, evidence, hours
from tests.compliance.oscal_validation import validate_assessment_results


def _document() -> tuple[dict[str, Any], list[str]]:
    policy = TokenPolicy(
        issuer="https://i",
        signing_algorithm="RS256",
        allowed_algorithms=("RS256", "HS256"),
        access_token_ttl_seconds=600,
        leeway_seconds=30,
    )
    config = ComplianceConfig(scope=(), thresholds=Thresholds())
    items = evidence(ev(policy, T0 + hours(1), "7"), ev(config, T0 + hours(1), "8"))
    report = evaluate(load_catalog(), ComplianceSettings(), items, PERIOD, PERIOD.end)
    return assessment_results(report, items), [e.sha256 for e in items.items]


def test_export_validates_against_trestle_oscal_models() -> None:
    document, _ = _document()
    model = validate_assessment_results(document)
    result = model.results[0]
    assert {f.target.target_id for f in result.findings or []} >= {"CC6.1", "A.8.5", "A.8.24"}
    cc61 = next(f for f in result.findings or [] if f.target.target_id == "CC6.1")
    assert cc61.target.status is not None
    assert cc61.target.status.state.value == "not-satisfied"
    algorithms = next(o for o in result.observations or [] if o.title == "Check tokens.algorithms")
    assert algorithms.relevant_evidence
    resources = {r.uuid: r for r in (model.back_matter.resources or [])} if model.back_matter else {}
    href = algorithms.relevant_evidence[0].href
    assert href is not None
    target = resources[href.removeprefix("#")]
    assert target.rlinks
    assert target.rlinks[0].hashes
    assert target.rlinks[0].hashes[0].algorithm == "SHA-256"


def test_export_is_deterministic() -> None:
    first, _ = _document()
    second, _ = _document()
    assert render(first) == render(second)
    json.loads(render(first))


def test_back_matter_carries_the_sha256_of_each_evidence_item_used() -> None:
    document, hashes = _document()
    resources = document["assessment-results"]["back-matter"]["resources"]
    recorded = {h["value"] for r in resources for link in r.get("rlinks", []) for h in link["hashes"]}
    assert recorded == set(hashes)
