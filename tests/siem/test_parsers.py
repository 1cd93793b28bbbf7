"""Parsers: every format against realistic records, and properties over arbitrary input."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siem import FORMATS, ParseError, parse_record
from siem.parsers.exceptions import continues_traceback

RECEIVED = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def parse(fmt: str, record: str) -> dict[str, Any]:
    return parse_record(fmt, record, event_id="e1", received=RECEIVED)  # type: ignore[arg-type]


def test_combined_line_maps_to_ecs_access_fields() -> None:
    doc = parse(
        "nginx",
        '203.0.113.9 - alice [10/Oct/2026:13:55:36 -0700] "POST /api/v1/login?next=%2F HTTP/1.1" 401 53 '
        '"https://app.example/" "Mozilla/5.0 (X11)" rt=0.250 rid=req-42 host=api.example',
    )
    assert doc["@timestamp"] == "2026-10-10T20:55:36Z"
    assert doc["source"] == {"ip": "203.0.113.9"}
    assert doc["user"] == {"name": "alice"}
    assert doc["http"] == {
        "request": {"method": "POST", "referrer": "https://app.example/", "id": "req-42"},
        "response": {"status_code": 401, "body": {"bytes": 53}},
    }
    assert doc["url"] == {
        "original": "/api/v1/login?next=%2F",
        "path": "/api/v1/login",
        "query": "next=%2F",
        "domain": "api.example",
    }
    assert doc["event"]["outcome"] == "failure"
    assert doc["event"]["duration"] == 250_000_000
    assert doc["event"]["dataset"] == "access"
    assert doc["event"]["id"] == "e1"
    assert doc["event"]["ingested"] == "2026-11-29T06:00:00Z"
    assert doc["user_agent"] == {"original": "Mozilla/5.0 (X11)"}


def test_apache_common_line_without_referrer_and_agent_parses() -> None:
    doc = parse("nginx", '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 -')
    assert doc["http"]["response"] == {"status_code": 200}
    assert "user" not in doc


def test_lograge_json_maps_controller_action_duration_and_request_id() -> None:
    record = json.dumps(
        {
            "method": "PATCH",
            "path": "/users/7",
            "format": "json",
            "controller": "UsersController",
            "action": "update",
            "status": 422,
            "duration": 58.31,
            "request_id": "9f1c",
            "remote_ip": "2001:db8::1",
            "user_id": 7,
            "time": "2026-11-29T05:59:00.123Z",
        }
    )
    doc = parse("json", record)
    assert doc["vigil"] == {"rails": {"controller": "UsersController", "action": "update"}}
    assert doc["event"]["duration"] == 58_310_000
    assert doc["http"]["request"] == {"method": "PATCH", "id": "9f1c"}
    assert doc["http"]["response"] == {"status_code": 422}
    assert doc["source"] == {"ip": "2001:db8::1"}
    assert doc["user"] == {"name": "7"}
    assert doc["@timestamp"] == "2026-11-29T05:59:00.123000Z"
    assert doc["event"]["original"] == record


def test_access_endpoint_accepts_lograge_lines_in_nginx_format() -> None:
    doc = parse("nginx", '{"method": "GET", "path": "/", "status": 200}')
    assert doc["http"]["response"]["status_code"] == 200


def test_rails_exception_with_backtrace_list() -> None:
    record = json.dumps(
        {
            "@timestamp": "2026-11-29T05:00:00Z",
            "service": "billing",
            "request_id": "r-9",
            "exception": "ActiveRecord::RecordNotFound",
            "message": "Couldn't find User with 'id'=9",
            "backtrace": ["app/models/user.rb:10:in `find'", "app/controllers/users_controller.rb:5"],
        }
    )
    doc = parse("rails", record)
    assert doc["error"] == {
        "type": "ActiveRecord::RecordNotFound",
        "message": "Couldn't find User with 'id'=9",
        "stack_trace": "app/models/user.rb:10:in `find'\napp/controllers/users_controller.rb:5",
    }
    assert doc["http"]["request"]["id"] == "r-9"
    assert doc["service"]["name"] == "billing"
    assert doc["event"]["dataset"] == "exception"


def test_documented_exception_format_with_producer_id_keeps_that_id() -> None:
    record = json.dumps(
        {"id": "app-err-1", "level": "fatal", "error": {"type": "KeyError", "message": "'x'", "stack_trace": "tb"}}
    )
    doc = parse("exception", record)
    assert doc["event"]["id"] == "app-err-1"
    assert doc["log"]["level"] == "fatal"


PY_TRACEBACK = """2026-11-29 05:01:02,345 ERROR [payments] charge failed
Traceback (most recent call last):
  File "/srv/app/pay.py", line 12, in charge
    gateway.charge(amount)
  File "/srv/app/gateway.py", line 40, in charge
    raise GatewayError("card declined")
gateway.GatewayError: card declined"""


def test_nested_exception_object_parses() -> None:
    """`exception: {class, message, backtrace}`: every record of a real log of this shape was dead-lettered."""
    doc = parse(
        "exception",
        json.dumps(
            {
                "time": "2026-11-29T05:00:00Z",
                "level": "ERROR",
                "message": "request failed",
                "exception": {"class": "ActiveRecord::RecordNotFound", "message": "id=7", "backtrace": ["a.rb:1"]},
            }
        ),
    )
    assert doc["error"] == {"type": "ActiveRecord::RecordNotFound", "message": "id=7", "stack_trace": "a.rb:1"}
    assert doc["message"] == "request failed"
    assert doc["log"]["level"] == "ERROR"


def test_python_traceback_joined_record_parses() -> None:
    doc = parse("python", PY_TRACEBACK)
    assert doc["error"]["type"] == "gateway.GatewayError"
    assert doc["error"]["message"] == "card declined"
    assert doc["error"]["stack_trace"].startswith("Traceback (most recent call last):")
    assert doc["service"]["name"] == "payments"
    assert doc["log"]["level"] == "ERROR"
    assert doc["@timestamp"] == "2026-11-29T05:01:02.345000Z"


def test_traceback_joiner_groups_chained_exceptions_and_splits_the_next_record() -> None:
    lines = [
        *PY_TRACEBACK.splitlines(),
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/srv/app/pay.py", line 14, in charge',
        "RuntimeError: retry failed",
        "2026-11-29 05:01:03,000 INFO [payments] next request",
    ]
    records: list[str] = []
    for line in lines:
        if records and continues_traceback(records[-1], line):
            records[-1] += "\n" + line
        else:
            records.append(line)
    assert len(records) == 2
    assert records[0].endswith("RuntimeError: retry failed")
    assert parse("python", records[0])["error"]["type"] == "RuntimeError"
    assert records[1].startswith("2026-11-29 05:01:03,000 INFO")


def test_auth_decision_maps_to_authentication_event() -> None:
    record = json.dumps(
        {
            "timestamp": "2026-11-29T05:00:00Z",
            "outcome": "failure",
            "reason": "insufficient_scope",
            "action": "verify",
            "subject": "svc-a",
            "client_id": "client-a",
            "scopes": ["b", "a"],
            "jti": "j1",
            "kid": "k1",
            "alg": "RS256",
            "source_ip": "198.51.100.7",
            "method": "GET",
            "path": "/alerts",
            "latency_us": 85,
            "request_id": "req-1",
        }
    )
    doc = parse("auth", record)
    assert doc["event"]["category"] == ["authentication"]
    assert doc["event"]["outcome"] == "failure"
    assert doc["event"]["reason"] == "insufficient_scope"
    assert doc["event"]["action"] == "verify"
    assert doc["event"]["duration"] == 85_000
    assert doc["user"]["name"] == "svc-a"
    assert doc["vigil"]["auth"] == {
        "client_id": "client-a",
        "scopes": ["a", "b"],
        "jti": "j1",
        "kid": "k1",
        "alg": "RS256",
    }
    assert doc["url"]["path"] == "/alerts"
    assert doc["http"]["request"] == {"method": "GET", "id": "req-1"}


@pytest.mark.parametrize(
    ("fmt", "record", "reason"),
    [
        ("nginx", "not a log line", "combined access log format"),
        ("nginx", '1.2.3.4 - - [99/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"', "dd/Mon/yyyy"),
        ("nginx", 'not-an-ip - - [10/Oct/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"', "source.ip"),
        ("json", '{"method": "GET", "path": "/", "status": "two hundred"}', "status_code"),
        ("json", '{"method": "GET", "path": {"deep": 1}, "status": 200}', "url.original"),
        ("json", "[1, 2]", "JSON object"),
        ("json", '{"method": "GET"', "not valid JSON"),
        ("json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("exception", '{"message": "no type"}', "no exception class"),
        # the error names the input's own field, never the ECS field it would have become (issue 13, item 10)
        ("exception", '{"exception": {"class": 7}}', "field exception.class must be a string"),
        ("exception", '{"exception": {"class": "E", "message": ["x"]}}', "field exception.message"),
        ("exception", '{"exception": ["E"]}', "field exception must be an object"),
        ("exception", '{"class": "E", "backtrace": {"0": "x"}}', "field backtrace must be a string or a list"),
        ("python", "ValueError: no traceback", "Traceback"),
        ("auth", '{"outcome": "maybe"}', "outcome"),
        ("auth", '{"outcome": "success", "source_ip": 12}', "source.ip"),
    ],
)
def test_broken_records_raise_parse_errors_naming_the_problem(fmt: str, record: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse(fmt, record)


@settings(max_examples=300, deadline=None)
@given(fmt=st.sampled_from(FORMATS), record=st.text(max_size=300))
def test_any_text_parses_or_raises_parse_error(fmt: str, record: str) -> None:
    try:
        document = parse_record(fmt, record, event_id="e", received=RECEIVED)  # type: ignore[arg-type]
    except ParseError:
        return
    assert document["event"]["original"] == record
    assert document["@timestamp"].endswith("Z")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    fmt=st.sampled_from(["json", "exception", "auth"]),
    obj=st.fixed_dictionaries(
        {},
        optional={
            k: json_values
            for k in ("method", "path", "status", "duration", "outcome", "error", "exception", "scopes", "remote_ip")
        },
    ),
)
def test_json_objects_with_arbitrary_types_parse_or_raise_parse_error(fmt: str, obj: dict[str, Any]) -> None:
    with contextlib.suppress(ParseError):
        parse_record(fmt, json.dumps(obj), event_id="e", received=RECEIVED)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    ip=st.ip_addresses().map(str),
    status=st.integers(100, 599),
    size=st.integers(0, 10**12),
    path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\?'), min_size=1),
    agent=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=40),
)
def test_generated_combined_lines_round_trip(ip: str, status: int, size: int, path: str, agent: str) -> None:
    line = f'{ip} - - [01/Feb/2026:03:04:05 +0100] "GET /{path} HTTP/2.0" {status} {size} "-" "{agent}"'
    doc = parse("nginx", line)
    assert doc["source"]["ip"] == ip
    assert doc["http"]["response"] == {"status_code": status, "body": {"bytes": size}}
    assert doc["url"]["path"] == f"/{path}"
    assert doc["@timestamp"] == "2026-02-01T02:04:05Z"
    assert doc.get("user_agent", {}).get("original") == (None if agent in ("", "-") else agent)


@settings(max_examples=200, deadline=None)
@given(
    ip=st.ip_addresses().map(str),
    path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\? '), min_size=1),
    millis=st.one_of(st.none(), st.integers(0, 3_600_000)),
    request_id=st.one_of(st.none(), st.binary(min_size=16, max_size=16).map(bytes.hex)),
)
def test_the_documented_vigil_log_format_and_plain_combined_both_parse(
    ip: str, path: str, millis: int | None, request_id: str | None
) -> None:
    # docs/siem.md: log_format vigil '... "$http_user_agent" rt=$request_time rid=$request_id';
    extra = "" if millis is None else f" rt={millis // 1000}.{millis % 1000:03d}"
    extra += "" if request_id is None else f" rid={request_id}"
    line = f'{ip} - - [01/Feb/2026:03:04:05 +0000] "POST /{path} HTTP/1.1" 502 0 "-" "curl/8.5.0"{extra}'
    doc = parse("nginx", line)
    assert doc["url"]["path"] == f"/{path}".partition("?")[0]
    assert doc["http"]["request"].get("id") == request_id
    assert doc["http"]["request"]["method"] == "POST"
    assert doc["event"].get("duration") == (None if millis is None else millis * 1_000_000)


@settings(max_examples=100, deadline=None)
@given(
    ip=st.ip_addresses().map(str),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\'), min_size=1),
)
def test_an_exception_keeps_the_client_method_and_path_of_its_request(ip: str, method: str, path: str) -> None:
    record = {"error": {"type": "KeyError", "message": "x"}, "remote_ip": ip, "method": method, "path": f"/{path}"}
    doc = parse("exception", json.dumps(record))
    assert doc["source"]["ip"] == ip
    assert doc["http"]["request"]["method"] == method
    assert doc["url"]["path"] == f"/{path}".partition("?")[0]
