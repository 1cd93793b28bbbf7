"""OpenTelemetry logs over OTLP/HTTP (`POST /v1/logs`, protobuf or JSON) as a door into the pipeline.

Called by the route in `siem.http`. The request is decoded here (protobuf with `opentelemetry-proto`, or the OTLP
JSON encoding), and each log record is flattened into one self-contained JSON record (its resource and scope
attributes copied in) queued with format `otel`; `siem.parsers.otel` maps it to ECS in the workers. A record above
`max_line_bytes` is rejected alone and reported in the answer's `partial_success`, as OTLP specifies, so the
exporter does not retry it; the rest are queued.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from siem.errors import InvalidBatchError
from siem.settings import SiemSettings

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def _value(any_value: Any) -> Any:
    """An OTLP `AnyValue` (JSON form) as a plain value; 64-bit integers arrive as strings in JSON."""
    if not isinstance(any_value, dict):
        return None
    if "stringValue" in any_value:
        return any_value["stringValue"]
    if "boolValue" in any_value:
        return bool(any_value["boolValue"])
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "doubleValue" in any_value:
        return float(any_value["doubleValue"])
    if "bytesValue" in any_value:
        return any_value["bytesValue"]
    if "arrayValue" in any_value:
        return [_value(v) for v in (any_value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in any_value:
        return attributes((any_value["kvlistValue"] or {}).get("values", []))
    return None


def attributes(pairs: Any) -> dict[str, Any]:
    if not isinstance(pairs, list):
        return {}
    return {p["key"]: _value(p.get("value")) for p in pairs if isinstance(p, dict) and isinstance(p.get("key"), str)}


def _hex_id(value: Any, *, base64_bytes: bool) -> str | None:
    """Trace and span ids: hex in OTLP JSON, bytes in protobuf (base64 once converted to a dict)."""
    if not isinstance(value, str) or not value:
        return None
    if base64_bytes:
        try:
            return base64.b64decode(value).hex() or None
        except ValueError:
            return None
    return value.lower()


def _records(request: dict[str, Any], *, from_protobuf: bool) -> Iterator[dict[str, Any]]:
    for resource_logs in request.get("resourceLogs") or []:
        resource = attributes((resource_logs.get("resource") or {}).get("attributes"))
        for scope_logs in resource_logs.get("scopeLogs") or []:
            scope = scope_logs.get("scope") or {}
            scope_fields = {
                "name": scope.get("name"),
                "version": scope.get("version"),
                "attributes": attributes(scope.get("attributes")),
            }
            for record in scope_logs.get("logRecords") or []:
                yield {
                    "resource": resource,
                    "scope": scope_fields,
                    "time_unix_nano": int(record.get("timeUnixNano") or 0),
                    "observed_time_unix_nano": int(record.get("observedTimeUnixNano") or 0),
                    "severity_number": int(record.get("severityNumber") or 0),
                    "severity_text": record.get("severityText"),
                    "body": _value(record.get("body")),
                    "attributes": attributes(record.get("attributes")),
                    "trace_id": _hex_id(record.get("traceId"), base64_bytes=from_protobuf),
                    "span_id": _hex_id(record.get("spanId"), base64_bytes=from_protobuf),
                    "event_name": record.get("eventName"),
                }


def read_logs(body: bytes, content_type: str, settings: SiemSettings) -> tuple[list[str], int, str]:
    """The flattened records of an export request, how many were rejected and why (for `partial_success`)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == PROTOBUF:
        message = ExportLogsServiceRequest()
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise InvalidBatchError(f"body is not an OTLP ExportLogsServiceRequest: {exc}") from None
        request: Any = MessageToDict(message, use_integers_for_enums=True)
    elif media == JSON:
        try:
            request = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise InvalidBatchError(f"body is not OTLP JSON: {exc}") from None
        if not isinstance(request, dict):
            raise InvalidBatchError("body is not OTLP JSON: the top level must be an object")
    else:
        raise InvalidBatchError(f"content-type {media!r} is not OTLP; send {PROTOBUF} or {JSON}")
    records: list[str] = []
    rejected = 0
    try:
        for record in _records(request, from_protobuf=media == PROTOBUF):
            text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
            if len(text.encode()) > settings.max_line_bytes:
                rejected += 1
                continue
            records.append(text)
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidBatchError(f"body is not OTLP logs: {type(exc).__name__}: {exc}") from None
    reason = f"{rejected} log record(s) exceed the {settings.max_line_bytes}-byte limit" if rejected else ""
    return records, rejected, reason


def export_response(media: str, rejected: int, reason: str) -> tuple[bytes, str]:
    """An `ExportLogsServiceResponse` in the request's encoding."""
    partial = ExportLogsPartialSuccess(rejected_log_records=rejected, error_message=reason) if rejected else None
    response = ExportLogsServiceResponse(partial_success=partial)
    if media.split(";", 1)[0].strip().lower() == PROTOBUF:
        return response.SerializeToString(), PROTOBUF
    return json.dumps(MessageToDict(response)).encode(), JSON
