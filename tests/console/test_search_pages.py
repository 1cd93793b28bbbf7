"""The console's event search, its pivots from an alert, and exceptions from an alert (HTTP, real services)."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest

from detections import AlertFilter
from tests.console.conftest import ANALYST, SCANNER_RULE, World
from tests.console.test_http import csrf_of, signed_in
from tests.fixtures.edgeauth import EdgeAuthHarness

pytestmark = pytest.mark.integration

ADMIN = (*ANALYST, "rules:admin")


def test_event_search_page_counts_pages_and_exports(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, ANALYST)
    query = {"q": "user_agent.original.caseless:SQLMAP*", "from": "now-1d", "to": "now", "field": ["source.ip"]}
    page = client.get("/console/events", params=query)
    assert page.status_code == 200, page.text[-3000:]
    assert '<span data-testid="total">3</span>' in page.text
    assert "access 3" in page.text
    assert "192.0.2.2" in page.text
    exported = client.get("/console/events/export", params=query | {"format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert sorted(r[2] for r in rows[1:]) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    bad = client.get("/console/events", params={"q": "source.ip:(", "from": "now-1d"})
    assert bad.status_code == 400
    assert "query: " in bad.text
    too_long = client.get("/console/events", params={"q": "*", "from": "now-90d"})
    assert too_long.status_code == 422
    assert "31 days" in too_long.text
    assert client.get("/console/events/export", params=query | {"format": "xlsx"}).status_code == 422


def test_an_alert_pivots_to_the_same_source(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, ANALYST)
    alert = next(
        a for a in world.detections.alerts(AlertFilter(rule_id=SCANNER_RULE)).alerts if a.group_key.endswith(".1")
    )
    detail = client.get(f"/console/alerts/{alert.id}").text
    assert "Same source 192.0.2.1, ±15 min" in detail
    link = next(part.split('"')[0] for part in detail.split('href="') if part.startswith("/console/events?"))
    params = parse_qs(urlparse(link.replace("&amp;", "&")).query)
    assert params["q"] == ['source.ip:"192.0.2.1"']
    pivoted = client.get(link.replace("&amp;", "&"))
    assert '<span data-testid="total">1</span>' in pivoted.text
    assert 'data-testid="exception-form"' not in detail  # an analyst without rules:admin may not add exceptions


def test_an_exception_from_an_alert_shows_on_the_rule_page(world: World, edge_auth: EdgeAuthHarness) -> None:
    alert = next(
        a for a in world.detections.alerts(AlertFilter(rule_id=SCANNER_RULE)).alerts if a.group_key.endswith(".3")
    )
    analyst = signed_in(world, edge_auth, ANALYST, subject="ana")
    refused = analyst.post(f"/console/alerts/{alert.id}/exceptions", data={"reason": "lab"})
    assert refused.status_code == 403
    admin = signed_in(world, edge_auth, ADMIN, subject="root")
    detail = admin.get(f"/console/alerts/{alert.id}").text
    assert 'data-testid="exception-form"' in detail
    csrf = csrf_of(detail)
    empty = admin.post(f"/console/alerts/{alert.id}/exceptions", data={"csrf": csrf, "reason": ""})
    assert empty.status_code == 422
    added = admin.post(
        f"/console/alerts/{alert.id}/exceptions",
        data={"csrf": csrf, "reason": "our weekly scan from the lab", "fields": ["source.ip"]},
    )
    assert added.status_code == 200
    assert "Exception added" in added.text
    assert "our weekly scan from the lab" in added.text
    [made] = [e for e in world.detections.exceptions(SCANNER_RULE) if e.deleted_at is None]
    assert (made.author, made.match) == ("root", {"source.ip": ["192.0.2.3"]})
    deleted = admin.post(f"/console/exceptions/{made.id}/delete", data={"csrf": csrf_of(added.text)})
    assert "Exception deleted" in deleted.text
    assert world.detections.exceptions(SCANNER_RULE)[0].deleted_by == "root"
