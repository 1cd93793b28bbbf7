"""compliance: SOC 2 and ISO/IEC 27001 controls, checked continuously from evidence in the locker.

Collectors read edgeauth, siem, detections and the evidence locker through their public objects and append
evidence; checks are pure functions of that evidence; `Compliance` ties collection, evaluation, status history,
alerting and OSCAL export together; `create_router` serves the status under `compliance:read`.

Names load on first use: a process that needs one part (the edge verifier needs only the settings and the
stream writer) does not import the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Bound now, not on first use: the function shares its module's name, and a later import of the module
# `compliance.evaluate` would otherwise leave the module, not the function, under this name.
from compliance.evaluate import evaluate

if TYPE_CHECKING:
    from compliance.catalog import Catalog, CheckSpec, Control, load_catalog
    from compliance.checks import CHECKS, CheckContext, run_check
    from compliance.collectors import (
        COLLECTORS,
        ClientSource,
        ClientView,
        CollectionReport,
        KeySource,
        RetentionSource,
        RuleSource,
        RuleView,
        RunView,
        Sources,
        collect,
        load_evidence,
    )
    from compliance.errors import (
        CatalogError,
        CollectionError,
        ComplianceError,
        EvidenceFormatError,
        PeriodError,
        ScopeError,
        UnknownCheckError,
    )
    from compliance.evidence import Evidence, EvidenceSet
    from compliance.http import create_router
    from compliance.models import CheckResult, ControlResult, Outcome, Period, StatusReport
    from compliance.oscal import assessment_results
    from compliance.service import Compliance, Published, StatusUpdate
    from compliance.settings import ComplianceSettings, Thresholds
    from compliance.sla import (
        CanaryRun,
        ProbeResult,
        SlaAttainment,
        SlaObjectives,
        StepResult,
        attainment,
        attainment_by_tier,
        load_canary_runs,
        runs_in,
        sla_attainment,
    )
    from compliance.status import AlertSink, index_templates

__all__ = [
    "CHECKS",
    "COLLECTORS",
    "AlertSink",
    "CanaryRun",
    "Catalog",
    "CatalogError",
    "CheckContext",
    "CheckResult",
    "CheckSpec",
    "ClientSource",
    "ClientView",
    "CollectionError",
    "CollectionReport",
    "Compliance",
    "ComplianceError",
    "ComplianceSettings",
    "Control",
    "ControlResult",
    "Evidence",
    "EvidenceFormatError",
    "EvidenceSet",
    "KeySource",
    "Outcome",
    "Period",
    "PeriodError",
    "ProbeResult",
    "Published",
    "RetentionSource",
    "RuleSource",
    "RuleView",
    "RunView",
    "ScopeError",
    "SlaAttainment",
    "SlaObjectives",
    "Sources",
    "StatusReport",
    "StatusUpdate",
    "StepResult",
    "Thresholds",
    "UnknownCheckError",
    "assessment_results",
    "attainment",
    "attainment_by_tier",
    "collect",
    "create_router",
    "evaluate",
    "index_templates",
    "load_canary_runs",
    "load_catalog",
    "load_evidence",
    "run_check",
    "runs_in",
    "sla_attainment",
]

# name -> (module, name there)
_MODULES = {
    "AlertSink": ("compliance.status", "AlertSink"),
    "CHECKS": ("compliance.checks", "CHECKS"),
    "COLLECTORS": ("compliance.collectors", "COLLECTORS"),
    "Catalog": ("compliance.catalog", "Catalog"),
    "CanaryRun": ("compliance.sla", "CanaryRun"),
    "ProbeResult": ("compliance.sla", "ProbeResult"),
    "SlaAttainment": ("compliance.sla", "SlaAttainment"),
    "SlaObjectives": ("compliance.sla", "SlaObjectives"),
    "StepResult": ("compliance.sla", "StepResult"),
    "attainment": ("compliance.sla", "attainment"),
    "attainment_by_tier": ("compliance.sla", "attainment_by_tier"),
    "load_canary_runs": ("compliance.sla", "load_canary_runs"),
    "runs_in": ("compliance.sla", "runs_in"),
    "sla_attainment": ("compliance.sla", "sla_attainment"),
    "CatalogError": ("compliance.errors", "CatalogError"),
    "CheckContext": ("compliance.checks", "CheckContext"),
    "CheckSpec": ("compliance.catalog", "CheckSpec"),
    "ClientSource": ("compliance.collectors", "ClientSource"),
    "ClientView": ("compliance.collectors", "ClientView"),
    "CollectionError": ("compliance.errors", "CollectionError"),
    "CollectionReport": ("compliance.collectors", "CollectionReport"),
    "Compliance": ("compliance.service", "Compliance"),
    "ComplianceError": ("compliance.errors", "ComplianceError"),
    "ComplianceSettings": ("compliance.settings", "ComplianceSettings"),
    "Control": ("compliance.catalog", "Control"),
    "ControlResult": ("compliance.models", "ControlResult"),
    "Evidence": ("compliance.evidence", "Evidence"),
    "EvidenceFormatError": ("compliance.errors", "EvidenceFormatError"),
    "EvidenceSet": ("compliance.evidence", "EvidenceSet"),
    "KeySource": ("compliance.collectors", "KeySource"),
    "Outcome": ("compliance.models", "Outcome"),
    "Period": ("compliance.models", "Period"),
    "PeriodError": ("compliance.errors", "PeriodError"),
    "Published": ("compliance.service", "Published"),
    "RetentionSource": ("compliance.collectors", "RetentionSource"),
    "RuleSource": ("compliance.collectors", "RuleSource"),
    "RuleView": ("compliance.collectors", "RuleView"),
    "RunView": ("compliance.collectors", "RunView"),
    "ScopeError": ("compliance.errors", "ScopeError"),
    "Sources": ("compliance.collectors", "Sources"),
    "StatusReport": ("compliance.models", "StatusReport"),
    "StatusUpdate": ("compliance.service", "StatusUpdate"),
    "Thresholds": ("compliance.settings", "Thresholds"),
    "UnknownCheckError": ("compliance.errors", "UnknownCheckError"),
    "CheckResult": ("compliance.models", "CheckResult"),
    "assessment_results": ("compliance.oscal", "assessment_results"),
    "collect": ("compliance.collectors", "collect"),
    "create_router": ("compliance.http", "create_router"),
    "index_templates": ("compliance.status", "index_templates"),
    "load_catalog": ("compliance.catalog", "load_catalog"),
    "load_evidence": ("compliance.collectors", "load_evidence"),
    "run_check": ("compliance.checks", "run_check"),
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MODULES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain module attribute
    return value
