"""`vigil services` against the real servers, and its one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vigil import services
from vigil.errors import DownloadError
from vigil.services.elasticsearch import ElasticsearchService
from vigil.settings import VigilSettings, load_settings

pytestmark = pytest.mark.integration

VIGIL = str(Path(sys.executable).with_name("vigil"))


def run_vigil(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VIGIL, *args], capture_output=True, text=True, check=False, env={**os.environ, **env}, timeout=300
    )


def test_status_json_shows_both_services_healthy(live_services: list[services.ServiceStatus]) -> None:
    proc = run_vigil("services", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    report = {entry["name"]: entry for entry in json.loads(proc.stdout)}
    assert set(report) == {"elasticsearch", "redis"}
    es, rd = report["elasticsearch"], report["redis"]
    assert es["healthy"]
    assert es["health"] in {"green", "yellow"}
    assert es["version"].split(".")[0] in {"8", "9"}
    assert es["address"].startswith("http")
    assert rd["healthy"]
    assert rd["version"]
    assert "appendonly=yes" in rd["detail"] or rd["mode"] == "external"


def test_up_is_idempotent(settings: VigilSettings, live_services: list[services.ServiceStatus]) -> None:
    again = services.up(settings)
    assert [(s.name, s.pid, s.healthy) for s in again] == [(s.name, s.pid, s.healthy) for s in live_services]


def test_es_port_taken_is_one_actionable_line(squatter: int, tmp_path: Path) -> None:
    proc = run_vigil("services", "up", VIGIL_ES_URL=f"http://127.0.0.1:{squatter}", VIGIL_HOME=str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert f"port {squatter} is taken" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_redis_port_taken_is_one_actionable_line(squatter: int, tmp_path: Path) -> None:
    proc = run_vigil("services", "up", VIGIL_REDIS_URL=f"redis://127.0.0.1:{squatter}/0", VIGIL_HOME=str(tmp_path))
    assert proc.returncode == 1
    assert f"port {squatter} is taken" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_unreachable_external_elasticsearch_is_one_line(tmp_path: Path) -> None:
    proc = run_vigil("services", "status", VIGIL_ES_URL="https://192.0.2.1:9243", VIGIL_HOME=str(tmp_path))
    assert proc.returncode == 1
    assert "unhealthy: elasticsearch" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_setting_exits_2_naming_the_variable() -> None:
    proc = run_vigil("services", "status", VIGIL_ES_HEAP="a lot")
    assert proc.returncode == 2
    assert proc.stderr.startswith("vigil: error: VIGIL_ES_HEAP")


def test_disk_full_before_download_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = ElasticsearchService(load_settings(home=tmp_path, es_version="9.0.0"))
    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10, 10, 10))
    with pytest.raises(DownloadError, match="disk full"):
        service.ensure_distribution()


def test_a_download_with_the_wrong_digest_is_refused(
    settings: VigilSettings, tmp_path: Path, live_services: list[services.ServiceStatus]
) -> None:
    """The cached zip is real; a wrong pinned digest must refuse it rather than unpack it."""
    cached = ElasticsearchService(settings).zip_path
    if not cached.exists():
        pytest.fail(f"the session's Elasticsearch download is missing at {cached}")
    service = ElasticsearchService(load_settings(home=tmp_path, es_sha256="0" * 64))
    service.downloads.mkdir(parents=True)
    shutil.copyfile(cached, service.zip_path)
    with pytest.raises(DownloadError, match="SHA-256"):
        service.ensure_distribution()
    assert cached.exists()
    assert not service.zip_path.exists()
    assert not service.dist.exists()
