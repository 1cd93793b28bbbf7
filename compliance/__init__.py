"""compliance: SOC 2 and ISO/IEC 27001 controls, checked continuously from evidence in the locker.

Collectors read edgeauth, siem, detections and the evidence locker through their public objects and append
evidence; checks are pure functions of that evidence; `Compliance` ties collection, evaluation, status history,
alerting and OSCAL export together; `create_router` serves the status under `compliance:read`.
"""

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
from compliance.evaluate import evaluate
from compliance.evidence import Evidence, EvidenceSet
from compliance.http import create_router
from compliance.models import ControlResult, Outcome, Period, StatusReport, Verdict
from compliance.oscal import assessment_results
from compliance.service import Compliance, Published, StatusUpdate
from compliance.settings import ComplianceSettings, Thresholds
from compliance.status import AlertSink, index_templates

__all__ = [
    "CHECKS",
    "COLLECTORS",
    "AlertSink",
    "Catalog",
    "CatalogError",
    "CheckContext",
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
    "Published",
    "RetentionSource",
    "RuleSource",
    "RuleView",
    "RunView",
    "ScopeError",
    "Sources",
    "StatusReport",
    "StatusUpdate",
    "Thresholds",
    "UnknownCheckError",
    "Verdict",
    "assessment_results",
    "collect",
    "create_router",
    "evaluate",
    "index_templates",
    "load_catalog",
    "load_evidence",
    "run_check",
]
