"""The canary on the real Redis, Elasticsearch, issuer registry and locker: failures alert and become evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from compliance.sla import KIND, CanaryRun
from detections import AlertFilter
from edgeauth.issuer import ClientRegistry
from evidence import EvidenceLocker
from vigil.canary.runner import CanaryError, run_canary, secret_path
from vigil.clients import elasticsearch_client, redis_client
from vigil.detections_runtime import build_detections
from vigil.settings import VigilSettings, load_settings

pytestmark = pytest.mark.integration

CLOSED = "http://127.0.0.1:9"  # discard port: nothing listens there


@pytest.fixture
def canary_settings(es_namespace: str, redis_namespace: str, tmp_path: Path) -> VigilSettings:
    ns = es_namespace
    return load_settings(
        home=tmp_path,
        namespace=ns,
        edgeauth={
            "oauth": {"scopes_supported": ["orders:read", "ingest:write"]},
            # Client secrets are keyed hashes under a sealed server key: the registry needs a KEK.
            "key_encryption_key": "canary-test-key-encryption-key",
        },
        canary={"issuer_url": CLOSED, "proxy_url": CLOSED, "probes": 2, "interval_seconds": 60},
    )


def _recorded(settings: VigilSettings) -> list[CanaryRun]:
    locker = EvidenceLocker(elasticsearch_client(settings), redis_client(settings), settings.evidence)
    everything = locker.items(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1))
    out = []
    for item in everything:
        if item.collector == KIND:
            assert set(item.control_ids) >= {"CC7.2", "A.8.16", "A1.2"}
            with locker.open_content(item.sha256) as handle:
                out.append(CanaryRun.model_validate(json.loads(handle.read())))
    return out


def test_an_unreachable_issuer_fails_every_probe_alerts_and_is_recorded(canary_settings: VigilSettings) -> None:
    (report,) = run_canary(canary_settings)
    assert report.success_rate == 0
    assert {p.failure for p in report.probes} == {"token: ConnectError"}
    assert secret_path(canary_settings, "vigil-canary").stat().st_mode & 0o077 == 0

    alerts = build_detections(canary_settings).alerts(AlertFilter(rule_id="compliance:canary")).alerts
    assert len(alerts) == 1
    assert alerts[0].rule_title == "Availability canary failing"
    assert "token: ConnectError" in alerts[0].summary

    (recorded,) = _recorded(canary_settings)
    assert recorded.tier == "default"
    assert recorded.clients == ("vigil-canary",)
    assert [p.ok for p in recorded.probes] == [False, False]
    assert recorded.objectives.availability_percent == 99.9


def test_a_canary_that_was_not_run_for_three_intervals_alerts(
    canary_settings: VigilSettings, redis_conn: redis.Redis
) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    redis_conn.set(f"{canary_settings.namespace}:canary:default:last_run", long_ago.isoformat())
    (report,) = run_canary(canary_settings)
    assert report.silent_seconds is not None
    assert report.silent_seconds > 3000
    (alert,) = build_detections(canary_settings).alerts(AlertFilter(rule_id="compliance:canary")).alerts
    assert "silent: no canary run for" in alert.summary


def test_an_issuer_without_the_canary_scopes_is_one_actionable_error(
    canary_settings: VigilSettings,
) -> None:
    narrow = canary_settings.model_copy(
        update={"edgeauth": canary_settings.edgeauth.model_copy(
            update={"oauth": canary_settings.edgeauth.oauth.model_copy(update={"scopes_supported": ("ingest:write",)})}
        )}
    )  # fmt: skip
    with pytest.raises(CanaryError, match="VIGIL_CANARY__SCOPES"):
        run_canary(narrow)


def test_a_tier_whose_scopes_changed_gets_them_on_its_next_run(canary_settings: VigilSettings) -> None:
    run_canary(canary_settings)
    registry = ClientRegistry.from_settings(canary_settings.edgeauth, redis_client(canary_settings))
    assert registry.get("vigil-canary").scopes == {"orders:read", "ingest:write"}
    narrowed = canary_settings.model_copy(
        update={"canary": canary_settings.canary.model_copy(update={"scopes": ("ingest:write",)})}
    )
    run_canary(narrowed)
    assert registry.get("vigil-canary").scopes == {"ingest:write"}
    assert secret_path(canary_settings, "vigil-canary").exists()
