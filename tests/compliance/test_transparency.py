"""Transparency reports end to end on the real services: two clients, each with its own canary tier, canary
evidence and alerts. Client A's report (JSON, HTML, PDF text) names nothing of B; the signed package verifies
offline (Vigil's verifier and openssl + sha256sum) and a tampered one does not; hostile requests get a 4xx.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from compliance import Compliance, ComplianceSettings, Outcome, Sources
from compliance.errors import PeriodError, UnknownClientError
from compliance.sla import CanaryRun, ProbeResult, SlaObjectives, StepResult
from compliance.transparency import Transparency, create_router
from detections import Alert, Detections, DetectionsSettings, Level, Verdict
from evidence import EvidenceArchive, EvidenceSettings, load_public_pem, verify_bundle
from siem import Pipeline, SiemSettings
from tests.conftest import remove_indices, remove_keys
from tests.evidence.conftest import KEK, SEALER
from tests.fixtures.cli import Result, cli_runner
from tests.fixtures.edgeauth import EdgeAuthHarness
from vigil.problems import install_error_answers

pytestmark = pytest.mark.integration

A, B = "acme-corp", "globex-inc"
A_TIER, B_TIER = "platinum", "silverline"
A_CANARY, B_CANARY = "canary-platinum", "canary-silverline"
A_TITLE, B_TITLE = "Acme token replay", "Globex credential stuffing"


@dataclass
class World:
    transparency: Transparency
    archive: EvidenceArchive
    start: datetime
    end: datetime
    a_alerts: list[Alert]
    b_alerts: list[Alert]

    def b_identifiers(self) -> list[str]:
        return [B, B_TIER, B_CANARY, B_TITLE, *(a.id for a in self.b_alerts)]


def _run(tier: str, clients: tuple[str, ...], canary: str, started: datetime, latency: float) -> CanaryRun:
    probe = ProbeResult(
        steps=(
            StepResult(kind="token", ok=True, latency_ms=4.0),
            StepResult(kind="request", target="/api/orders", ok=True, latency_ms=latency),
        )
    )
    return CanaryRun(
        canary=f"{tier}-orders",
        tier=tier,
        clients=clients,
        canary_client_id=canary,
        started_at=started,
        interval_seconds=60,
        proxy_url="http://127.0.0.1:18760",
        probes=(probe, probe, probe),
        objectives=SlaObjectives(availability_percent=99.9, latency_ms=300, latency_percentile=95),
    )


def _append_run(archive: EvidenceArchive, run: CanaryRun) -> None:
    archive.locker.append(
        collector=run.kind,
        collector_version="1",
        source_system="canary",
        query=f"canary {run.canary}",
        parameters={"tier": run.tier},
        effective_at=run.started_at,
        collected_at=run.started_at,
        control_ids=["CC7.2", "A.8.16"],
        media_type="application/json",
        content=run.canonical(),
    )


@pytest.fixture(scope="module")
def world_namespace(es: Elasticsearch, redis_conn: redis.Redis) -> Iterator[str]:
    """One namespace for the module: the world is built once (index creation is slow on the shared node)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    yield namespace
    remove_indices(es, namespace)
    remove_keys(redis_conn, namespace)


@pytest.fixture(scope="module")
def world(
    es: Elasticsearch, redis_conn: redis.Redis, world_namespace: str, apply_indices: Callable[..., None]
) -> World:
    """Read-only for the tests: two clients' canary runs and alerts, A's first alert acknowledged and resolved."""
    es_namespace = world_namespace
    apply_indices(es_namespace, "siem", "detections", "compliance", "evidence")
    Pipeline(es, redis_conn, SiemSettings(namespace=es_namespace)).setup()
    detections = Detections(DetectionsSettings(namespace=es_namespace, ingest_delay_seconds=0), es, redis_conn)
    archive = EvidenceArchive(es, redis_conn, EvidenceSettings(namespace=es_namespace), SEALER)
    settings = ComplianceSettings(namespace=es_namespace, scope=("CC7.2", "A.8.16", "CC6.1"))
    compliance = Compliance(settings, es, archive.locker, sources=Sources(settings=settings, es=es))
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(minutes=30)
    for minute in range(10):
        moment = start + timedelta(minutes=5 + minute)
        # A's tier answers slowly (its latency objective is missed); B's is healthy.
        _append_run(archive, _run(A_TIER, (A,), A_CANARY, moment, 650.0))
        _append_run(archive, _run(B_TIER, (B,), B_CANARY, moment, 40.0))
    raise_ = detections.raise_alert
    a_alerts = [
        raise_(key="t-acme", title=A_TITLE, level=Level.HIGH, summary="replay", group_key="g-a",
               evidence={"vigil.auth.client_id": A}),
        raise_(key="t-acme-canary", title="Canary token refused", level=Level.MEDIUM, summary="canary",
               group_key="g-ac", evidence={"vigil.auth.client_id": A_CANARY}),
    ]  # fmt: skip
    b_alerts = [
        raise_(key="t-globex", title=B_TITLE, level=Level.CRITICAL, summary="stuffing", group_key="g-b",
               evidence={"client.id": B}),
        raise_(key="canary-burn", title="SLA burn", level=Level.HIGH, summary="burn", group_key="g-bb",
               evidence={"clients": [B], "tier": B_TIER}),
        raise_(key="t-globex-canary", title="Canary slow", level=Level.LOW, summary="slow", group_key="g-bc",
               evidence={"vigil.auth.client_id": B_CANARY}),
    ]  # fmt: skip
    detections.acknowledge(a_alerts[0].id, "analyst-1")
    detections.resolve(a_alerts[0].id, "analyst-1", Verdict.TRUE_POSITIVE)
    transparency = Transparency(compliance, detections, archive)
    return World(transparency, archive, start, end, a_alerts, b_alerts)


def _absent(world: World, text: str, form: str) -> None:
    leaked = [ident for ident in world.b_identifiers() if ident in text]
    assert not leaked, f"client A's {form} names client B's {leaked}"


def test_a_report_holds_its_sla_miss_its_alerts_and_nothing_of_the_other_client(world: World) -> None:
    report = world.transparency.report(A, world.start, world.end)
    assert report.client == A
    assert report.tiers == (A_TIER,)
    (sla,) = report.sla
    assert sla.status == "missed"
    assert {o.name: o.met for o in sla.objectives} == {"availability": True, "latency": False}
    assert sla.runs == 10
    assert sla.probes == 30
    sla_findings = [f for f in report.findings if f.startswith("SLA missed")]
    assert len(sla_findings) == 1
    assert A_TIER in sla_findings[0]
    availability = next(c for c in report.controls if c.control_id == "CC7.2")
    assert availability.outcome is Outcome.FAIL
    # Alerts tied by the client's own id and by its tier's canary client; the resolved one has its timings.
    assert {a.alert_id for a in report.incidents.alerts} == {a.id for a in world.a_alerts}
    replay = next(a for a in report.incidents.alerts if a.alert_id == world.a_alerts[0].id)
    assert replay.status == "resolved"
    assert replay.verdict == "true_positive"
    assert replay.seconds_to_acknowledge is not None
    assert replay.seconds_to_resolve is not None
    assert replay.seconds_to_acknowledge <= replay.seconds_to_resolve
    high = next(s for s in report.incidents.by_severity if s.level == "high")
    assert (high.alerts, high.resolved, high.open) == (1, 1, 0)
    # Evidence digests: the canary runs of A's tier, never B's.
    canary_items = [i for i in report.evidence.items if i.collector == "canary.run"]
    assert len(canary_items) == 10
    assert set(sla.evidence) == {i.sequence for i in canary_items}
    assert report.evidence.chain_head is not None

    _absent(world, world.transparency.document(A, world.start, world.end, "json").content.decode(), "JSON")
    _absent(world, world.transparency.document(A, world.start, world.end, "html").content.decode(), "HTML")


def test_b_report_meets_its_sla_and_names_nothing_of_a(world: World) -> None:
    report = world.transparency.report(B, world.start, world.end)
    assert [s.status for s in report.sla] == ["met"]
    assert not [f for f in report.findings if f.startswith("SLA")]
    assert {a.alert_id for a in report.incidents.alerts} == {a.id for a in world.b_alerts}
    text = world.transparency.document(B, world.start, world.end, "json").content.decode()
    leaked = [i for i in (A, A_TIER, A_CANARY, A_TITLE, *(a.id for a in world.a_alerts)) if i in text]
    assert not leaked


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    proc = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60)
    return proc.stdout.decode()


def test_the_pdf_renders_and_its_text_says_what_the_report_says(world: World, tmp_path: Path) -> None:
    pdf = world.transparency.document(A, world.start, world.end, "pdf").content
    assert pdf.startswith(b"%PDF-")
    text = _pdf_text(pdf, tmp_path)
    for expected in ("Transparency report", A, A_TIER, "MISSED", "latency", A_TITLE, "CC7.2", "Evidence"):
        assert expected in text, f"{expected!r} missing from the PDF text"
    _absent(world, text, "PDF")


def _run_tool(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, check=False, timeout=60)


def test_the_signed_package_verifies_offline_and_a_tampered_one_does_not(world: World, tmp_path: Path) -> None:
    package = world.transparency.document(A, world.start, world.end, "zip").content
    path = tmp_path / "report.zip"
    path.write_bytes(package)
    pem = next(k for k in world.archive.public_keys() if k.active).public_key_pem
    report = verify_bundle(path, pubkey=load_public_pem(pem.encode()))
    assert report.ok, report.problems
    assert (report.client, report.format, report.files_checked) == (A, "vigil-transparency-report/1", 4)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        inner = json.loads(archive.read("report.json"))
    assert names == ["report.json", "report.html", "report.pdf", "SHA256SUMS", "manifest.json", "manifest.sig"]
    assert inner["client"] == A
    _absent(world, _pdf_text(zipfile.ZipFile(path).read("report.pdf"), tmp_path), "packaged PDF")

    # The documented procedure, standard tools only (docs/trust.md).
    out = tmp_path / "unzipped"
    assert _run_tool("unzip", "-q", str(path), "-d", str(out), cwd=tmp_path).returncode == 0
    (tmp_path / "vigil-evidence.pem").write_text(pem)
    signature = _run_tool(
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "../vigil-evidence.pem", "-rawin",
        "-in", "manifest.json", "-sigfile", "manifest.sig", cwd=out,
    )  # fmt: skip
    assert signature.returncode == 0
    assert b"Signature Verified Successfully" in signature.stdout
    sums = _run_tool("sha256sum", "--strict", "-c", "SHA256SUMS", cwd=out)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    listed = json.loads((out / "manifest.json").read_bytes())
    sums_sha = _run_tool("sha256sum", "SHA256SUMS", cwd=out).stdout.split()[0].decode()
    assert {"path": "SHA256SUMS", "sha256": sums_sha} == {
        k: v for f in listed["files"] if f["path"] == "SHA256SUMS" for k, v in f.items() if k != "size"
    }

    # Tampered: one changed figure in report.json, the archive otherwise intact.
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(forged, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "report.json":
                data = data.replace(b'"status":"missed"', b'"status":"met"')
            target.writestr(info, data)
    problems = verify_bundle(forged, pubkey=load_public_pem(pem.encode())).problems
    assert problems == [f"file report.json: size {len(_member(forged, 'report.json'))} bytes, the manifest says "
                        f"{len(_member(path, 'report.json'))} (altered)",
                        f"file report.json: sha256 {_sha(_member(forged, 'report.json'))} differs from the "
                        f"manifest's {_sha(_member(path, 'report.json'))} (altered)"]  # fmt: skip
    assert _run_tool("unzip", "-q", "-o", str(forged), "-d", str(tmp_path / "forged"), cwd=tmp_path).returncode == 0
    assert _run_tool("sha256sum", "--strict", "-c", "SHA256SUMS", cwd=tmp_path / "forged").returncode != 0


def _member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_hostile_requests_are_refused_by_the_service(world: World) -> None:
    with pytest.raises(PeriodError, match="end after it starts"):
        world.transparency.report(A, world.end, world.start)
    with pytest.raises(UnknownClientError, match="no client 'nobody'"):
        world.transparency.report("nobody", world.start, world.end)
    with pytest.raises(PeriodError, match="longer than 366 days"):
        world.transparency.report(A, world.start - timedelta(days=400), world.end)
    with pytest.raises(PeriodError, match="invalid report request"):
        world.transparency.report("../etc", world.start, world.end)


@pytest.fixture
def api(world: World, edge_auth: EdgeAuthHarness) -> TestClient:
    app = FastAPI()
    install_error_answers(app)
    app.include_router(create_router(edge_auth.guard, world.transparency))
    return TestClient(app, raise_server_exceptions=False)


def _auth(edge_auth: EdgeAuthHarness, *scopes: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {edge_auth.token(scopes or ['compliance:read'], **claims)}"}


def test_the_api_serves_each_form_to_compliance_readers(api: TestClient, world: World, edge_auth: Any) -> None:
    window = {"from": world.start.isoformat(), "to": world.end.isoformat()}
    assert api.get(f"/compliance/transparency/{A}", params=window).status_code == 401
    assert (
        api.get(f"/compliance/transparency/{A}", params=window, headers=_auth(edge_auth, "alerts:read")).status_code
        == 403
    )
    for form, media in (("json", "application/json"), ("html", "text/html"), ("zip", "application/zip")):
        answer = api.get(f"/compliance/transparency/{A}", params={**window, "format": form}, headers=_auth(edge_auth))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(media)
        assert "attachment" in answer.headers["content-disposition"]
    payload = api.get(f"/compliance/transparency/{A}", params={**window, "format": "json"}, headers=_auth(edge_auth))
    assert payload.json()["client"] == A


@pytest.mark.parametrize(
    ("client", "query", "status", "words"),
    [
        (A, "from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 422, "end after it starts"),
        ("nobody", "from={start}&to={end}", 404, "no client 'nobody'"),
        (A, "from=2020-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", 422, "longer than 366 days"),
        (A, "from=2026-03-01T00:00:00&to=2026-03-02T00:00:00", 422, ""),
        (A, "from={start}&to={end}&format=docx", 422, ""),
        ("bad%20id", "from={start}&to={end}", 422, ""),
        (A, "to=2026-03-02T00:00:00Z", 422, ""),
    ],
)
def test_the_api_answers_hostile_parameters_with_a_4xx(
    api: TestClient, world: World, edge_auth: Any, client: str, query: str, status: int, words: str
) -> None:
    filled = query.format(
        start=world.start.isoformat().replace("+", "%2B"), end=world.end.isoformat().replace("+", "%2B")
    )
    answer = api.get(f"/compliance/transparency/{client}?{filled}", headers=_auth(edge_auth))
    assert answer.status_code == status, answer.text
    assert words in answer.text


def test_an_auditor_is_bounded_by_the_engagement(api: TestClient, world: World, edge_auth: Any) -> None:
    inside = {"from": (world.start - timedelta(days=1)).isoformat(), "to": (world.end + timedelta(days=1)).isoformat()}
    bounded = _auth(edge_auth, engagement=inside)
    ok = api.get(f"/compliance/transparency/{A}", params={"from": world.start.isoformat(), "to": world.end.isoformat(),
                                                         "format": "json"}, headers=bounded)  # fmt: skip
    assert ok.status_code == 200
    outside = {"from": (world.start - timedelta(days=30)).isoformat(), "to": world.end.isoformat(), "format": "json"}
    refused = api.get(f"/compliance/transparency/{A}", params=outside, headers=bounded)
    assert refused.status_code == 403
    assert "outside your engagement" in refused.text


@pytest.fixture
def vigil(
    world: World, world_namespace: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    monkeypatch.setenv("VIGIL_NAMESPACE", world_namespace)
    monkeypatch.setenv("VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY", KEK)
    return cli_runner(monkeypatch, capsys)


def test_the_cli_writes_a_package_that_vigil_evidence_verify_accepts(
    vigil: Callable[..., Result], world: World, tmp_path: Path
) -> None:
    window = ("--from", world.start.isoformat(), "--to", world.end.isoformat())
    made = vigil("report", "transparency", "--client", A, *window, "--out", str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert f"SLA {A_TIER}" in made.stdout
    assert "MISSED" in made.stdout
    assert "findings (" in made.stdout
    assert "SLA missed on tier platinum" in made.stdout
    path = next(tmp_path.glob("transparency-acme-corp-*.zip"))
    (tmp_path / "key.pem").write_text(next(k for k in world.archive.public_keys() if k.active).public_key_pem)
    checked = vigil("evidence", "verify", str(path), "--pubkey", str(tmp_path / "key.pem"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"OK: transparency report for client {A}, 4 files")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--client", A, "--from", "2026-03-02", "--to", "2026-03-01"), "--to must be after --from"),
        (("--client", "nobody", "--from", "{start}", "--to", "{end}"), "no client 'nobody'"),
        (("--client", A, "--from", "2020-01-01", "--to", "2026-03-01"), "longer than 366 days"),
        (("--client", A, "--from", "{start}", "--to", "{end}", "--format", "docx"), "--format 'docx'"),
        (("--client", A, "--from", "yesterday", "--to", "{end}"), "neither a date"),
    ],
)
def test_the_cli_refuses_hostile_parameters_in_one_line(
    vigil: Callable[..., Result], world: World, args: tuple[str, ...], message: str
) -> None:
    filled = [a.format(start=world.start.isoformat(), end=world.end.isoformat()) for a in args]
    result = vigil("report", "transparency", *filled)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vigil: error: "), result.stderr
    assert message in lines[0]
