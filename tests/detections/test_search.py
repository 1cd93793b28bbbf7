"""Event search over real Elasticsearch: exact totals, search_after paging, bounds, hostile input, audit, export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from detections import Detections, EventSearch, LimitExceededError, QueryError, parse_moment
from detections.analyst.search import csv_cell, decode_cursor, encode_cursor
from tests.detections.conftest import Sender, api_client
from vigil.commands import app as cli

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@given(st.text(max_size=80))
def test_moment_parser_answers_only_with_a_datetime_or_a_query_error(text: str) -> None:
    try:
        moment = parse_moment(text, NOW)
    except QueryError:
        return
    assert moment.tzinfo is not None


def test_moments() -> None:
    assert parse_moment("now", NOW) == NOW
    assert parse_moment("now-15m", NOW) == NOW - timedelta(minutes=15)
    assert parse_moment("now-7d", NOW) == NOW - timedelta(days=7)
    assert parse_moment("2026-03-01T00:00:00", NOW) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_moment("2026-03-01T02:00:00+02:00", NOW) == datetime(2026, 3, 1, tzinfo=UTC)


@given(st.text(max_size=200))
def test_cursor_decoder_refuses_anything_it_did_not_make(text: str) -> None:
    try:
        values = decode_cursor(text)
    except QueryError:
        return
    assert isinstance(values[0], int)


def test_cursor_round_trip_and_csv_cells() -> None:
    assert decode_cursor(encode_cursor([1741600000000, "abc"])) == [1741600000000, "abc"]
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("-1+2") == "'-1+2"
    assert csv_cell(["a", "b"]) == '["a", "b"]'
    assert csv_cell(None) == ""


WEEK_AGO = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7)


@pytest.fixture
def seeded(sender: Sender, make_detections: Callable[..., Detections]) -> Detections:
    for minute in range(7):
        sender.send(
            "json",
            [
                {
                    "method": "GET",
                    "path": f"/search?q=union+select+{minute}",
                    "status": 200,
                    "remote_ip": "10.0.0.9",
                    "user_agent": "SQLMap/1.7",
                    "request_id": f"req-{minute}",
                }
            ],
            at=WEEK_AGO + timedelta(minutes=minute),
        )
    sender.send(
        "json",
        [{"method": "GET", "path": "/", "status": 200, "remote_ip": "10.0.0.1", "user_agent": "=cmd|' /C calc'!A0"}],
        at=WEEK_AGO + timedelta(minutes=3),
    )
    sender.send("json", [{"method": "GET", "path": "/late", "status": 200, "remote_ip": "10.0.0.9"}], at=WEEK_AGO)
    sender.send("auth", [{"outcome": "failure", "reason": "revoked", "source_ip": "10.0.0.9"}], at=WEEK_AGO)
    return make_detections(search_max_export_rows=9)


def _search(query: str, **extra: object) -> EventSearch:
    base = {"query": query, "start": WEEK_AGO - timedelta(minutes=1), "end": WEEK_AGO + timedelta(hours=1)}
    return EventSearch.model_validate(base | extra)


@pytest.mark.integration
def test_search_pages_to_the_end_with_exact_counts(seeded: Detections) -> None:
    search = _search('source.ip:"10.0.0.9"', size=3, fields=["@timestamp", "url.original", "source.ip"])
    seen: list[str] = []
    page = seeded.search_events(search, "ana")
    assert page.total == 9
    assert page.datasets == {"access": 8, "auth": 1}
    while True:
        seen.extend(row["_id"] for row in page.events)
        assert all(row["source.ip"] == "10.0.0.9" for row in page.events)
        if page.next is None:
            break
        page = seeded.search_events(search.model_copy(update={"after": page.next}), "ana")
    assert len(seen) == len(set(seen)) == 9


@pytest.mark.integration
def test_caseless_fields_match_any_case_and_the_range_is_half_open(seeded: Detections) -> None:
    assert seeded.search_events(_search("user_agent.original.caseless:sqlmap*"), "ana").total == 7
    assert seeded.search_events(_search("user_agent.original:sqlmap*"), "ana").total == 0
    assert seeded.search_events(_search("*SQLMAP*"), "ana").total == 7  # bare words: the free-text fields
    start = WEEK_AGO + timedelta(minutes=2)
    narrow = _search("user_agent.original.caseless:sqlmap*", start=start, end=start + timedelta(minutes=2))
    assert seeded.search_events(narrow, "ana").total == 2


@pytest.mark.integration
def test_hostile_and_oversized_searches_are_refused_clearly(seeded: Detections) -> None:
    with pytest.raises(QueryError, match="query: "):
        seeded.search_events(_search("source.ip:(10.0.0.9"), "ana")
    with pytest.raises(QueryError, match="query: "):
        seeded.search_events(_search("url.original:/[/"), "ana")
    with pytest.raises(QueryError, match="query: "):
        seeded.search_events(_search("http.response.status_code:abc"), "ana")
    with pytest.raises(LimitExceededError, match="longer than 31 days"):
        seeded.search_events(_search("*", start=WEEK_AGO - timedelta(days=40)), "ana")
    with pytest.raises(LimitExceededError, match="at most 500"):
        seeded.search_events(_search("*", size=501), "ana")
    with pytest.raises(LimitExceededError, match="characters"):
        seeded.search_events(_search("a" * 5000), "ana")
    with pytest.raises(QueryError, match="after"):
        seeded.search_events(_search("*", after="bm9wZQ"), "ana")
    with pytest.raises(LimitExceededError, match="at most 9"):
        seeded.export_events(_search("*"), "csv", "ana")


@pytest.mark.integration
def test_every_search_is_audited(seeded: Detections, es: Elasticsearch) -> None:
    seeded.search_events(_search('source.ip:"10.0.0.1"'), "ana")
    with pytest.raises(QueryError):
        seeded.search_events(_search("url.original:("), "bob")
    index = seeded.settings.index("detections-audit")
    es.indices.refresh(index=index)
    hits = es.search(index=index, query={"term": {"action": "event_search"}}, size=10)["hits"]["hits"]
    by_actor = {h["_source"]["actor"]: h["_source"]["detail"] for h in hits}
    assert by_actor["ana"]["query"] == 'source.ip:"10.0.0.1"'
    assert by_actor["ana"]["total"] == 1
    assert "refused" in by_actor["bob"]


@pytest.fixture
def api(edge_auth, seeded: Detections) -> Iterator[TestClient]:
    with api_client(edge_auth.guard, seeded) as client:
        yield client


@pytest.mark.integration
def test_api_search_export_and_errors(api: TestClient, edge_auth) -> None:
    h = {"Authorization": f"Bearer {edge_auth.token(['alerts:read'], subject='ana')}"}
    span = {"from": (WEEK_AGO - timedelta(minutes=1)).isoformat(), "to": (WEEK_AGO + timedelta(hours=1)).isoformat()}
    page = api.get("/detections/events", params={"q": 'source.ip:"10.0.0.9"', "size": 4} | span, headers=h).json()
    assert page["total"] == 9
    assert len(page["events"]) == 4
    assert page["next"]
    rest = api.get(
        "/detections/events", params={"q": 'source.ip:"10.0.0.9"', "size": 10, "after": page["next"]} | span, headers=h
    ).json()
    assert len(rest["events"]) == 5
    exported = api.get(
        "/detections/events",
        params={"q": 'source.ip:"10.0.0.1"', "format": "csv", "field": ["source.ip", "user_agent.original"]} | span,
        headers=h,
    )
    assert exported.status_code == 200
    assert exported.headers["vigil-total"] == "1"
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["_id", "_index", "source.ip", "user_agent.original"]
    assert rows[1][3].startswith("'=")  # a formula from the logs is not run by a spreadsheet
    lines = api.get(
        "/detections/events", params={"q": "http.request.id:req-3", "format": "ndjson"} | span, headers=h
    ).text.splitlines()
    assert [json.loads(line)["http.request.id"] for line in lines] == ["req-3"]
    bad = api.get("/detections/events", params={"q": "url.original:("} | span, headers=h)
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("query: ")
    assert api.get("/detections/events", params={"q": "*", "from": "yesterday"}, headers=h).status_code == 400
    assert api.get("/detections/events", params={"q": "*", "field": "a b"} | span, headers=h).status_code == 422
    assert api.get("/detections/events", params={"q": "*", "from": "now-60d"}, headers=h).status_code == 422
    assert api.get("/detections/events", params={"q": "*", "format": "csv"} | span, headers=h).status_code == 422
    triage_only = {"Authorization": f"Bearer {edge_auth.token(['alerts:triage'], subject='x')}"}
    assert api.get("/detections/events", params={"q": "*"}, headers=triage_only).status_code == 403


@pytest.mark.integration
def test_cli_search_prints_a_table_json_and_refusals(seeded: Detections) -> None:
    env = {"VIGIL_NAMESPACE": seeded.settings.namespace}
    span = [
        "--from",
        (WEEK_AGO - timedelta(minutes=1)).isoformat(),
        "--to",
        (WEEK_AGO + timedelta(hours=1)).isoformat(),
    ]
    runner = CliRunner()
    table = runner.invoke(
        cli, ["events", "search", 'source.ip:"10.0.0.9"', *span, "--size", "4", "-f", "source.ip"], env=env
    )
    assert table.exit_code == 0, table.output
    assert "4 of 9 events (access 8, auth 1)" in table.output
    assert "next page: --after " in table.output
    as_json = runner.invoke(cli, ["events", "search", "http.request.id:req-2", *span, "--json"], env=env)
    assert json.loads(as_json.output)["events"][0]["http.request.id"] == "req-2"
    refused = runner.invoke(cli, ["events", "search", "url.original:(", *span], env=env)
    assert refused.exit_code == 1


@pytest.mark.integration
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(min_size=1, max_size=200))
def test_any_query_text_is_answered_or_refused_with_a_4xx(api: TestClient, edge_auth, query: str) -> None:
    h = {"Authorization": f"Bearer {edge_auth.token(['alerts:read'], subject='fuzz')}"}
    response = api.get("/detections/events", params={"q": query, "from": "now-1h"}, headers=h)
    assert response.status_code in {200, 400, 422}, (query, response.status_code, response.text[:300])
