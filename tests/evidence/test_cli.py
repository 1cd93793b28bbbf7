"""`vigil evidence ...` end to end: real services, the real command line entry point, one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from evidence import EvidenceArchive, EvidenceSettings
from tests.evidence.conftest import KEK, T0, Add, saved
from tests.fixtures.cli import Result, cli_runner

pytestmark = pytest.mark.integration


@pytest.fixture
def vigil(
    evidence_settings: EvidenceSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """The real entry point (`vigil.cli.main`) in this process, with the test's namespace in the environment."""
    monkeypatch.setenv("VIGIL_NAMESPACE", evidence_settings.namespace)
    monkeypatch.setenv("VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY", KEK)
    return cli_runner(monkeypatch, capsys, "evidence")


def test_bundle_verify_pubkey_and_verify_locker(vigil, add: Add, tmp_path: Path) -> None:
    for day in range(3):
        add(day)
    built = vigil("bundle", "--from", "2026-03-01", "--to", "2026-03-02", "--controls", "CC6.1", "--out", str(tmp_path))
    assert built.returncode == 0, built.stderr
    path = Path(built.stdout.splitlines()[0])
    assert path.parent == tmp_path
    assert "2 item(s)" in built.stdout  # --to is a whole day: March 1 and 2
    ok = vigil("verify", str(path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK: 2 item(s)")
    pem = vigil("pubkey")
    assert pem.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "pub.pem").write_text(pem.stdout)
    assert vigil("verify", str(path), "--pubkey", str(tmp_path / "pub.pem")).returncode == 0
    locker = vigil("verify-locker")
    assert locker.returncode == 0
    assert locker.stdout.startswith("OK: 3 entries")


def test_verify_names_problems_and_exits_nonzero(vigil, archive: EvidenceArchive, add: Add, tmp_path: Path) -> None:
    add(0)
    built = archive.build_bundle(T0, T0 + timedelta(days=1))
    forged = tmp_path / "forged.zip"
    forged.write_bytes(saved(archive, built, tmp_path / "built").read_bytes()[:-100])
    result = vigil("verify", str(forged))
    assert result.returncode == 1
    assert result.stdout.startswith("PROBLEM not a readable zip archive (truncated or corrupt)")
    assert result.stderr == "vigil: error: forged.zip failed verification with 1 problem(s)\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("verify", "/nonexistent.zip"), "vigil: error: no such bundle file: /nonexistent.zip\n"),
        (("bundle", "--from", "soon", "--to", "2026-03-02"), "vigil: error: 'soon' is neither a date"),
        (("bundle", "--from", "2026-03-05", "--to", "2026-03-01"), "vigil: error: the period must end after it starts"),
        (
            ("bundle", "--from", "2026-03-01T00:00:00", "--to", "2026-03-02"),
            "vigil: error: '2026-03-01T00:00:00' has no",
        ),
        (("bundle", "--from", "2020-01-01", "--to", "2020-01-02"), "vigil: error: no evidence effective in"),
    ],
)
def test_bad_input_is_one_line(vigil, add: Add, args: tuple[str, ...], message: str) -> None:
    add(0)
    result = vigil(*args)
    assert result.returncode != 0
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_verify_locker_reports_breaks(vigil, archive: EvidenceArchive, add: Add, es) -> None:
    for day in range(3):
        add(day)
    es.delete(index=archive.locker.index, id="2", refresh=True)
    result = vigil("verify-locker")
    assert result.returncode == 1
    assert "PROBLEM sequence 3: expected 2 (entries 2..2 are missing)" in result.stdout
    assert result.stderr.startswith("vigil: error: the locker chain is broken")


def test_rotate_key_then_pubkey_all(vigil, add: Add) -> None:
    add(0)
    assert vigil("pubkey").returncode == 0
    rotated = vigil("rotate-key")
    assert rotated.returncode == 0
    listing = vigil("pubkey", "--all").stdout
    assert listing.count("-----BEGIN PUBLIC KEY-----") == 2
    assert "retired" in listing
    assert "(active)" in listing
