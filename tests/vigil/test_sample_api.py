from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from vigil.demo.sample_api import create_sample_api


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_access_lines_are_lograge_and_injection_reaches_the_code(tmp_path: Path) -> None:
    access, errors = tmp_path / "access.log", tmp_path / "exceptions.log"
    client = TestClient(create_sample_api(access, errors))
    ok = client.get("/api/orders", headers={"X-Request-ID": "rid-ok-0001", "X-Auth-Subject": "alice"})
    bad = client.get("/api/search", params={"q": "' OR 1=1 --"}, headers={"X-Request-ID": "rid-sqli-001"})
    assert ok.status_code == 200
    assert bad.status_code == 500
    logged = _lines(access)
    assert [(r["controller"], r["action"], r["status"]) for r in logged] == [
        ("OrdersController", "index", 200),
        ("SearchController", "index", 500),
    ]
    assert logged[0]["user"] == "alice"
    (exception,) = _lines(errors)
    assert exception["request_id"] == "rid-sqli-001"
    assert exception["error"]["type"] == "ActiveRecord::StatementInvalid"  # type: ignore[index]


def test_probes_and_metrics_stay_out_of_the_access_log(tmp_path: Path) -> None:
    access, errors = tmp_path / "access.log", tmp_path / "exceptions.log"
    client = TestClient(create_sample_api(access, errors))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    client.get("/api/reports/17", headers={"X-Request-ID": "rid-timeout-01"})
    scraped = client.get("/metrics").text
    assert 'storefront_requests_total{controller="ReportsController",status="504"} 1.0' in scraped
    assert 'storefront_exceptions_total{type="Net::ReadTimeout"} 1.0' in scraped
    assert [r["path"] for r in _lines(access)] == ["/api/reports/17"]
