"""detections: Sigma rules on a schedule, correlation and absence, alerts and analyst triage.

The public API other packages (and `vigil`) use; everything else is private.

Names load on first use: a process that needs one part (the edge verifier needs only the settings and the
stream writer) does not import the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        ExceptionNotFoundError,
        HuntNotFoundError,
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
        HuntJob,
        HuntRequest,
        HuntRuleResult,
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
    from detections.tasks import CYCLE_QUEUE, HUNT_TASK, register_tasks

__all__ = [
    "CYCLE_QUEUE",
    "DEFAULT_EVENT_FIELDS",
    "HUNT_TASK",
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
    "HuntJob",
    "HuntNotFoundError",
    "HuntRequest",
    "HuntRuleResult",
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

# name -> (module, name there)
_MODULES = {
    "Alert": ("detections.models", "Alert"),
    "AlertExceptionCreate": ("detections.models", "AlertExceptionCreate"),
    "AlertFilter": ("detections.models", "AlertFilter"),
    "AlertNotFoundError": ("detections.errors", "AlertNotFoundError"),
    "AlertPage": ("detections.models", "AlertPage"),
    "AlertStatus": ("detections.models", "AlertStatus"),
    "CYCLE_QUEUE": ("detections.tasks", "CYCLE_QUEUE"),
    "ConflictError": ("detections.errors", "ConflictError"),
    "ConversionError": ("detections.errors", "ConversionError"),
    "CorpusEntry": ("detections.selftest.report", "CorpusEntry"),
    "CorpusReport": ("detections.selftest.report", "CorpusReport"),
    "DEFAULT_EVENT_FIELDS": ("detections.models", "DEFAULT_EVENT_FIELDS"),
    "Detections": ("detections.service", "Detections"),
    "DetectionsCollector": ("detections.metrics", "DetectionsCollector"),
    "DetectionsError": ("detections.errors", "DetectionsError"),
    "DetectionsSettings": ("detections.settings", "DetectionsSettings"),
    "EventPage": ("detections.models", "EventPage"),
    "EventSearch": ("detections.models", "EventSearch"),
    "ExceptionCreate": ("detections.models", "ExceptionCreate"),
    "ExceptionNotFoundError": ("detections.errors", "ExceptionNotFoundError"),
    "FilterInfo": ("detections.models", "FilterInfo"),
    "Finding": ("detections.models", "Finding"),
    "HUNT_TASK": ("detections.tasks", "HUNT_TASK"),
    "HuntJob": ("detections.models", "HuntJob"),
    "HuntNotFoundError": ("detections.errors", "HuntNotFoundError"),
    "HuntRequest": ("detections.models", "HuntRequest"),
    "HuntRuleResult": ("detections.models", "HuntRuleResult"),
    "Level": ("detections.models", "Level"),
    "LimitExceededError": ("detections.errors", "LimitExceededError"),
    "QueryError": ("detections.errors", "QueryError"),
    "RuleException": ("detections.models", "RuleException"),
    "RuleInfo": ("detections.models", "RuleInfo"),
    "RuleNotFoundError": ("detections.errors", "RuleNotFoundError"),
    "RuleRun": ("detections.models", "RuleRun"),
    "RuleSet": ("detections.catalog.loader", "RuleSet"),
    "RuleTest": ("detections.selftest.selftest", "RuleTest"),
    "SourceHealth": ("detections.models", "SourceHealth"),
    "TriageError": ("detections.errors", "TriageError"),
    "TriageTimes": ("detections.models", "TriageTimes"),
    "Verdict": ("detections.models", "Verdict"),
    "corpus_report": ("detections.selftest.report", "corpus_report"),
    "create_router": ("detections.http", "create_router"),
    "index_templates": ("detections.alerts.index", "index_templates"),
    "load_rules": ("detections.catalog.loader", "load_rules"),
    "parse_moment": ("detections.analyst.moments", "parse_moment"),
    "parse_time_range": ("detections.analyst.moments", "time_range"),
    "register_tasks": ("detections.tasks", "register_tasks"),
    "self_test": ("detections.selftest.selftest", "self_test"),
    "vigil_ecs_pipeline": ("detections.conversion.ecs", "vigil_ecs_pipeline"),
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MODULES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain module attribute
    return value
