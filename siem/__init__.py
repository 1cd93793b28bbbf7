"""siem: loss-free, duplicate-free ingestion of access logs, exceptions and auth decisions into Elasticsearch.

Producers push records with `Pipeline.push` (or the HTTP router, the file tail, the logging handler, the
`AuthDecisionSink`); workers drain the Redis Stream with `Pipeline.run_once`/`pump`, tests and the demo with
`Pipeline.drain`, which also makes the documents searchable.
"""

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
from siem.models import BatchReport, DeadLetter, IngestReceipt, PipelineStatus, RetentionDeletion
from siem.parsers import FORMATS, RecordFormat, parse_record
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
    "Dataset",
    "DeadLetter",
    "DeadLetterError",
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
    "QueueUnavailableError",
    "RecordFormat",
    "Retention",
    "RetentionDeletion",
    "SiemError",
    "SiemSettings",
    "TailError",
    "TailReport",
    "UnknownDatasetError",
    "VigilHandler",
    "event_id",
    "exception_record",
    "http_sender",
    "index_templates",
    "parse_record",
    "pipeline_status",
    "rfc3339",
]
