"""detections: Sigma rules on a schedule, correlation and absence, alerts and analyst triage.

The public API other packages (and `vigil`) use; everything else is private.
"""

from detections.alerts.index import index_templates
from detections.analyst.moments import parse_moment
from detections.analyst.moments import time_range as parse_time_range
from detections.catalog.loader import RuleSet, load_rules
from detections.conversion.ecs import vigil_ecs_pipeline
from detections.errors import (
    AlertNotFoundError,
    ConflictError,
    ConversionError,
    DetectionsError,
    LimitExceededError,
    QueryError,
    RuleNotFoundError,
    TriageError,
)
from detections.http import create_router
from detections.metrics import DetectionsCollector
from detections.models import (
    DEFAULT_EVENT_FIELDS,
    Alert,
    AlertExceptionCreate,
    AlertFilter,
    AlertPage,
    AlertStatus,
    EventPage,
    EventSearch,
    ExceptionCreate,
    FilterInfo,
    Finding,
    Level,
    RuleException,
    RuleInfo,
    RuleRun,
    SourceHealth,
    TriageTimes,
    Verdict,
)
from detections.selftest.report import CorpusEntry, CorpusReport, corpus_report
from detections.selftest.selftest import RuleTest, self_test
from detections.service import Detections
from detections.settings import DetectionsSettings
from detections.tasks import CYCLE_QUEUE, register_tasks

__all__ = [
    "CYCLE_QUEUE",
    "DEFAULT_EVENT_FIELDS",
    "Alert",
    "AlertExceptionCreate",
    "AlertFilter",
    "AlertNotFoundError",
    "AlertPage",
    "AlertStatus",
    "ConflictError",
    "ConversionError",
    "CorpusEntry",
    "CorpusReport",
    "Detections",
    "DetectionsCollector",
    "DetectionsError",
    "DetectionsSettings",
    "EventPage",
    "EventSearch",
    "ExceptionCreate",
    "ExceptionNotFoundError",
    "FilterInfo",
    "Finding",
    "Level",
    "LimitExceededError",
    "QueryError",
    "RuleException",
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
    "index_templates",
    "load_rules",
    "parse_moment",
    "parse_time_range",
    "register_tasks",
    "self_test",
    "vigil_ecs_pipeline",
]
