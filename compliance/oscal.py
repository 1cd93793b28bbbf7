"""OSCAL 1.2 assessment-results for one period: observations per check with their evidence, findings per
control, and one back-matter resource per evidence item carrying its SHA-256.

Identifiers are UUIDv5 of stable inputs, so the same period, evidence and settings give the same document.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from compliance.evidence import EvidenceSet
from compliance.models import Outcome, StatusReport
from siem import rfc3339

OSCAL_VERSION = "1.2.1"
MEDIA_TYPE = "application/json"
_NAMESPACE = uuid.UUID("6f1c3b9e-2a57-4c1e-9d57-0b8f3f6c2a10")
_PROPS_NS = "https://vigil.example/ns/oscal"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": _PROPS_NS, "value": value}


def assessment_results(report: StatusReport, evidence: EvidenceSet, *, version: str = "1") -> dict[str, Any]:
    """The OSCAL document (as JSON-ready data) for an evaluation and the evidence it read."""
    period = report.period
    scope = f"{rfc3339(period.start)}/{rfc3339(period.end)}"
    used = {i for control in report.controls for v in control.verdicts for i in v.evidence_ids}
    resources = {
        e.id: {
            "uuid": _uuid("resource", e.id, e.sha256),
            "title": f"Evidence item {e.id}: {e.kind}",
            "description": f"Locker item {e.id} collected by {e.kind}, effective {rfc3339(e.effective_at)}.",
            "props": [_prop("locker-sequence", e.id), _prop("collector", e.kind)],
            "rlinks": [
                {
                    "href": f"urn:vigil:evidence:{e.id}",
                    "media-type": MEDIA_TYPE,
                    "hashes": [{"algorithm": "SHA-256", "value": e.sha256}],
                }
            ],
        }
        for e in evidence.items
        if e.id in used
    }
    plan_uuid = _uuid("plan", scope)
    observations: dict[str, dict[str, Any]] = {}
    findings: list[dict[str, Any]] = []
    for control in report.controls:
        related = []
        for verdict in control.verdicts:
            obs_uuid = _uuid("observation", scope, verdict.check_id)
            related.append({"observation-uuid": obs_uuid})
            if obs_uuid in observations:
                continue
            observation: dict[str, Any] = {
                "uuid": obs_uuid,
                "title": f"Check {verdict.check_id}",
                "description": verdict.reason,
                "props": [
                    _prop("check-id", verdict.check_id),
                    _prop("outcome", verdict.outcome.value),
                    *(_prop(f"threshold-{k.replace('_', '-')}", str(v)) for k, v in sorted(verdict.thresholds.items())),
                ],
                "methods": ["TEST"],
                "types": ["finding"] if verdict.outcome is Outcome.FAIL else ["control-objective"],
                "collected": rfc3339(report.evaluated_at),
            }
            evidence_refs = [
                {"href": f"#{resources[i]['uuid']}", "description": f"Evidence item {i}"}
                for i in verdict.evidence_ids
                if i in resources
            ]
            if evidence_refs:
                observation["relevant-evidence"] = evidence_refs
            if verdict.findings:
                observation["remarks"] = "\n".join(verdict.findings)
            observations[obs_uuid] = observation
        status: dict[str, Any] = {
            "state": "not-satisfied" if control.outcome is Outcome.FAIL else "satisfied",
            "reason": {"pass": "pass", "fail": "fail"}.get(control.outcome.value, "other"),
        }
        if control.outcome is Outcome.NOT_APPLICABLE:
            status["remarks"] = "not applicable in this period"
        findings.append(
            {
                "uuid": _uuid("finding", scope, control.control_id),
                "title": f"{control.control_id} ({control.framework})",
                "description": control.summary,
                "props": [_prop("framework", control.framework), _prop("outcome", control.outcome.value)],
                "target": {
                    "type": "objective-id",
                    "target-id": control.control_id,
                    "status": status,
                },
                "related-observations": related,
                "remarks": control.reason,
            }
        )
    plan = {
        "uuid": plan_uuid,
        "title": "Vigil continuous assessment plan",
        "description": "The control catalog and thresholds in force: every control in scope, checked from evidence.",
    }
    return {
        "assessment-results": {
            "uuid": _uuid("assessment-results", scope, version),
            "metadata": {
                "title": f"Vigil assessment results {scope}",
                "last-modified": rfc3339(report.evaluated_at),
                "version": version,
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": {"href": f"#{plan_uuid}"},
            "results": [
                {
                    "uuid": _uuid("result", scope),
                    "title": f"Controls in scope, {scope}",
                    "description": f"{len(report.controls)} control(s) evaluated from {report.evidence_count} item(s).",
                    "start": rfc3339(period.start),
                    "end": rfc3339(period.end),
                    "reviewed-controls": {
                        "control-selections": [
                            {"include-controls": [{"control-id": c.control_id} for c in report.controls]}
                        ]
                    },
                    "observations": list(observations.values()),
                    "findings": findings,
                }
            ],
            "back-matter": {"resources": [plan, *resources.values()]},
        }
    }


def render(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()
