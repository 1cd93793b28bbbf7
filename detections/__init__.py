"""detections: Sigma rules on a schedule, correlation and absence, alerts and analyst triage.

The public API other packages (and `vigil`) use; everything else is private.
"""

from detections.catalog.loader import RuleSet, load_rules
from detections.corpus.report import CorpusEntry, CorpusReport, corpus_report
from detections.corpus.selftest import RuleTest, self_test
from detections.errors import (
    AlertNotFoundError,
    ConflictError,
    ConversionError,
    DetectionsError,
    RuleNotFoundError,
    TriageError,
)
from detections.http import create_router
from detections.models import (
    Alert,
    AlertFilter,
    AlertPage,
    AlertStatus,
    Finding,
    Level,
    RuleInfo,
    RuleRun,
    SourceHealth,
    TriageTimes,
    Verdict,
)
from detections.service import Detections
from detections.settings import DetectionsSettings
from detections.tasks import register_tasks

__all__ = [
    "Alert",
    "AlertFilter",
    "AlertNotFoundError",
    "AlertPage",
    "AlertStatus",
    "ConflictError",
    "ConversionError",
    "CorpusEntry",
    "CorpusReport",
    "Detections",
    "DetectionsError",
    "DetectionsSettings",
    "Finding",
    "Level",
    "RuleInfo",
    "RuleNotFoundError",
    "RuleRun",
    "RuleSet",
    "RuleTest",
    "SourceHealth",
    "TriageError",
    "TriageTimes",
    "Verdict",
    "corpus_report",
    "create_router",
    "load_rules",
    "register_tasks",
    "self_test",
]
