"""siem: loss-free, duplicate-free ingestion of access logs, exceptions and auth decisions into Elasticsearch.

Producers push records with `Pipeline.push` (or the HTTP router, the file tail, the logging handler, the
`AuthDecisionSink`); workers drain the Redis Stream with `Pipeline.run_once`/`pump`, tests and the demo with
`Pipeline.drain`, which also makes the documents searchable.

Names load on first use: a process that needs one part (the edge verifier needs only the settings and the
stream writer) does not import the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from siem.activity import TimeSeries, time_histogram
    from siem.canary import ProbeCounts, probe_counts
    from siem.deadletter import DeadLetterStore
    from siem.ecs import DATASETS, Dataset, EcsDocument, rfc3339
    from siem.errors import (
        BackpressureError,
        BatchTooLargeError,
        DeadLetterError,
        ElasticsearchUnavailableError,
        InvalidBatchError,
        ParseError,
        QueueUnavailableError,
        RecordsDeadLetteredError,
        SiemError,
        TailError,
        UnknownDatasetError,
    )
    from siem.inputs.audit import AuditRecordSink
    from siem.inputs.decisions import AuthDecisionSink
    from siem.inputs.loghandler import VigilHandler, exception_record, http_sender
    from siem.inputs.tail import FileTail, TailReport
    from siem.metrics import PipelineCollector
    from siem.metrics import status as pipeline_status
    from siem.models import (
        BatchReport,
        DeadLetter,
        DeadLetterForecast,
        IngestReceipt,
        PipelineStatus,
        RetentionDeletion,
    )
    from siem.parsers import FORMATS, RecordFormat, parse_record
    from siem.parsers.canary import CanaryRecord
    from siem.pipeline import Pipeline, event_id
    from siem.retention import Retention
    from siem.settings import SiemSettings
    from siem.templates import IndexLayout, IndexTemplate, index_templates

__all__ = [
    "DATASETS",
    "FORMATS",
    "AuditRecordSink",
    "AuthDecisionSink",
    "BackpressureError",
    "BatchReport",
    "BatchTooLargeError",
    "CanaryRecord",
    "Dataset",
    "DeadLetter",
    "DeadLetterError",
    "DeadLetterForecast",
    "DeadLetterStore",
    "EcsDocument",
    "ElasticsearchUnavailableError",
    "FileTail",
    "IndexLayout",
    "IndexTemplate",
    "IngestReceipt",
    "InvalidBatchError",
    "ParseError",
    "Pipeline",
    "PipelineCollector",
    "PipelineStatus",
    "ProbeCounts",
    "QueueUnavailableError",
    "RecordFormat",
    "RecordsDeadLetteredError",
    "Retention",
    "RetentionDeletion",
    "SiemError",
    "SiemSettings",
    "TailError",
    "TailReport",
    "TimeSeries",
    "UnknownDatasetError",
    "VigilHandler",
    "event_id",
    "exception_record",
    "http_sender",
    "index_templates",
    "parse_record",
    "pipeline_status",
    "probe_counts",
    "rfc3339",
    "time_histogram",
]

# name -> (module, name there)
_MODULES = {
    "AuditRecordSink": ("siem.inputs.audit", "AuditRecordSink"),
    "CanaryRecord": ("siem.parsers.canary", "CanaryRecord"),
    "ProbeCounts": ("siem.canary", "ProbeCounts"),
    "probe_counts": ("siem.canary", "probe_counts"),
    "AuthDecisionSink": ("siem.inputs.decisions", "AuthDecisionSink"),
    "BackpressureError": ("siem.errors", "BackpressureError"),
    "BatchReport": ("siem.models", "BatchReport"),
    "BatchTooLargeError": ("siem.errors", "BatchTooLargeError"),
    "DATASETS": ("siem.ecs", "DATASETS"),
    "Dataset": ("siem.ecs", "Dataset"),
    "DeadLetter": ("siem.models", "DeadLetter"),
    "DeadLetterError": ("siem.errors", "DeadLetterError"),
    "DeadLetterForecast": ("siem.models", "DeadLetterForecast"),
    "RecordsDeadLetteredError": ("siem.errors", "RecordsDeadLetteredError"),
    "DeadLetterStore": ("siem.deadletter", "DeadLetterStore"),
    "EcsDocument": ("siem.ecs", "EcsDocument"),
    "ElasticsearchUnavailableError": ("siem.errors", "ElasticsearchUnavailableError"),
    "FORMATS": ("siem.parsers", "FORMATS"),
    "FileTail": ("siem.inputs.tail", "FileTail"),
    "IndexLayout": ("siem.templates", "IndexLayout"),
    "IndexTemplate": ("siem.templates", "IndexTemplate"),
    "IngestReceipt": ("siem.models", "IngestReceipt"),
    "InvalidBatchError": ("siem.errors", "InvalidBatchError"),
    "ParseError": ("siem.errors", "ParseError"),
    "Pipeline": ("siem.pipeline", "Pipeline"),
    "PipelineCollector": ("siem.metrics", "PipelineCollector"),
    "PipelineStatus": ("siem.models", "PipelineStatus"),
    "QueueUnavailableError": ("siem.errors", "QueueUnavailableError"),
    "RecordFormat": ("siem.parsers", "RecordFormat"),
    "Retention": ("siem.retention", "Retention"),
    "RetentionDeletion": ("siem.models", "RetentionDeletion"),
    "SiemError": ("siem.errors", "SiemError"),
    "SiemSettings": ("siem.settings", "SiemSettings"),
    "TailError": ("siem.errors", "TailError"),
    "TailReport": ("siem.inputs.tail", "TailReport"),
    "UnknownDatasetError": ("siem.errors", "UnknownDatasetError"),
    "VigilHandler": ("siem.inputs.loghandler", "VigilHandler"),
    "event_id": ("siem.pipeline", "event_id"),
    "exception_record": ("siem.inputs.loghandler", "exception_record"),
    "http_sender": ("siem.inputs.loghandler", "http_sender"),
    "index_templates": ("siem.templates", "index_templates"),
    "parse_record": ("siem.parsers", "parse_record"),
    "pipeline_status": ("siem.metrics", "status"),
    "rfc3339": ("siem.ecs", "rfc3339"),
    "TimeSeries": ("siem.activity", "TimeSeries"),
    "time_histogram": ("siem.activity", "time_histogram"),
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MODULES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain module attribute
    return value
