"""One decision path: a refused token on every surface of a default `vigil serve` (no injected guard) that takes
tokens becomes an `auth` event in Elasticsearch, through the real worker, and the forgery rules fire on it."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis
from elasticsearch import ApiError, Elasticsearch

from detections import AlertFilter, Detections, DetectionsSettings
from siem import IndexLayout, SiemSettings
from tests.vigil.running import RunningVigil, wait_for

pytestmark = pytest.mark.integration

FORGERY_BURST = "ce500df6-15fa-4ecc-aacb-bd53d5d0d92b"


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def alg_none_token() -> str:
    """An unsigned token claiming every scope: the classic forgery."""
    now = int(time.time())
    claims = {
        "iss": "http://127.0.0.1:8000",
        "sub": "adm",
        "aud": "vigil",
        "client_id": "adm",
        "scope": "admin alerts:read evidence:read compliance:read",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    return f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(claims)}."


def test_a_refused_token_on_every_surface_reaches_elasticsearch_and_the_forgery_rule(
    vigil_run: RunningVigil, es: Elasticsearch, redis_conn: redis.Redis
) -> None:
    # The test runs the detection cycle itself, once every event is in: a worker's own cycle could hold the cycle
    # lock at that moment (this run would then skip) and write its alert a moment later.
    vigil_run.start_worker(detections=False)
    url = vigil_run.start_app()
    forged = alg_none_token()
    bearer = {"Authorization": f"Bearer {forged}"}
    surfaces: dict[str, tuple[str, dict[str, str]]] = {
        "analyst": ("/detections/alerts", bearer),
        "auditor": ("/evidence/bundles", bearer),
        "verify": ("/verify", {**bearer, "X-Original-Method": "GET", "X-Original-URI": "/api/x"}),
    }
    request_ids = {}
    with httpx.Client(base_url=url, follow_redirects=False) as client:
        for name, (path, headers) in surfaces.items():
            rid = f"decision-path-{name}-{uuid.uuid4().hex[:8]}"
            request_ids[name] = rid
            response = client.get(path, headers={**headers, "X-Request-Id": rid})
            assert response.status_code == 401, (name, response.status_code)
        # The console's cookie names a server-side session, never a token (its tokens come from the issuer's code
        # flow): a forged token there is an unknown session, sent to the sign-in page with no token decision.
        console = client.get("/console/alerts", headers={"Cookie": f"vigil_console={forged}"})
        assert console.status_code == 303

    layout = IndexLayout(SiemSettings(namespace=vigil_run.namespace))

    def indexed() -> list[dict[str, Any]]:
        try:
            es.indices.refresh(index=layout.logs_pattern, ignore_unavailable=True, allow_no_indices=True)
            found = es.search(
                index=layout.logs_pattern,
                query={"terms": {"http.request.id": list(request_ids.values())}},
                size=50,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
        except ApiError:  # the worker may be creating the day's index this instant: poll again
            return []
        return [hit["_source"] for hit in found["hits"]["hits"]]

    wait_for(lambda: len({d["http"]["request"]["id"] for d in indexed()}) == len(request_ids), "three auth events")
    by_request = {d["http"]["request"]["id"]: d for d in indexed()}
    for name, rid in request_ids.items():
        event = by_request[rid]
        assert event["event"]["dataset"] == "auth", name
        assert event["event"]["outcome"] == "failure", name
        assert event["event"]["reason"] == "alg_not_allowed", name
        assert event["source"]["ip"] == "127.0.0.1", name

    detections = Detections(DetectionsSettings(namespace=vigil_run.namespace, ingest_delay_seconds=0), es, redis_conn)
    report = detections.run_cycle(datetime.now(UTC) + timedelta(milliseconds=1), force=True)
    assert not report.errors
    assert not report.skipped
    bursts = detections.alerts(AlertFilter(rule_id=FORGERY_BURST, limit=50)).alerts
    assert [a.group_key for a in bursts] == ["source.ip=127.0.0.1"]
    assert bursts[0].count >= 3  # the rule's threshold: three forgery signals from one source
