"""detections: Sigma rules on a schedule, correlation and absence, alerts and analyst triage.

The public API other packages (and `vigil`) use; everything else is private.
"""

from detections.catalog.loader import RuleSet, load_rules
from detections.errors import (
    AlertNotFoundError,
    ConflictError,
    ConversionError,
    DetectionsError,
    InvalidFilterError,
    RuleLoadError,
    RuleNotFoundError,
    SearchError,
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
    "Detections",
    "DetectionsError",
    "DetectionsSettings",
    "Finding",
    "InvalidFilterError",
    "Level",
    "RuleInfo",
    "RuleLoadError",
    "RuleNotFoundError",
    "RuleRun",
    "RuleSet",
    "SearchError",
    "SourceHealth",
    "TriageError",
    "TriageTimes",
    "Verdict",
    "create_router",
    "load_rules",
    "register_tasks",
]
