"""Fixtures of the compliance integration tests: a locker under the test namespace and a collection helper."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from elasticsearch import Elasticsearch

from compliance import CheckContext, CheckResult, ComplianceSettings, Period, Sources, collect, load_evidence, run_check
from compliance.catalog import load_catalog
from evidence import EvidenceLocker, EvidenceSettings


@pytest.fixture
def evidence_settings(
    es_namespace: str, redis_namespace: str, tmp_path: Path, apply_indices: Callable[..., None]
) -> EvidenceSettings:
    apply_indices(es_namespace, "evidence")
    return EvidenceSettings(namespace=es_namespace)


@pytest.fixture
def locker(es: Elasticsearch, redis_conn: redis.Redis, evidence_settings: EvidenceSettings) -> EvidenceLocker:
    return EvidenceLocker(es, redis_conn, evidence_settings)


Judge = Callable[..., CheckResult]


@pytest.fixture
def judge(locker: EvidenceLocker) -> Judge:
    """Collect `collectors` from `sources` at `at`, then run `check` on the period [since, at] (default: just that
    collection)."""

    def run(
        check: str, sources: Sources, *collectors: str, at: datetime | None = None, since: datetime | None = None
    ) -> CheckResult:
        moment = at or datetime.now(UTC)
        report = collect(locker, sources, only=collectors, now=moment)
        assert not report.failed, report.failed
        assert {c.collector for c in report.collected} == set(collectors), report
        period = Period(start=since or moment - timedelta(milliseconds=1), end=moment + timedelta(milliseconds=1))
        evidence = load_evidence(locker, period)
        catalog = load_catalog()
        context = CheckContext(
            period=period,
            evidence=evidence,
            thresholds=sources.settings.thresholds,
            privileged_roles=sources.settings.privileged_roles,
            privileged_scopes=sources.settings.privileged_scopes,
            expected_collectors=catalog.checks[check].collectors,
        )
        return run_check(check, context)

    return run


@pytest.fixture
def compliance_settings(es_namespace: str, apply_indices: Callable[..., None]) -> ComplianceSettings:
    apply_indices(es_namespace, "compliance")
    return ComplianceSettings(namespace=es_namespace)
