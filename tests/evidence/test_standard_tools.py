"""A bundle verified the way docs/evidence-format.md tells an auditor: unzip, openssl, grep, sha256sum. No Vigil."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from evidence import EvidenceArchive
from tests.evidence.conftest import T0, Add, saved

pytestmark = pytest.mark.integration


def run(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(args), cwd=cwd, input=stdin, capture_output=True, check=False)


def sha256sum(cwd: Path, name: str | None = None, data: bytes | None = None) -> str:
    proc = run("sha256sum", *([name] if name else []), cwd=cwd, stdin=data)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[0].decode()


@pytest.fixture
def extracted(archive: EvidenceArchive, add: Add, tmp_path: Path) -> Path:
    for day in range(3):
        add(day, controls=("CC6.1",) if day != 1 else ("CC7.2",))
    built = archive.build_bundle(T0, T0 + timedelta(days=5), ("CC6.1",))
    out = tmp_path / "bundle"
    path = saved(archive, built, tmp_path / "saved")
    assert run("unzip", "-q", str(path), "-d", str(out), cwd=tmp_path).returncode == 0
    (tmp_path / "vigil-evidence.pem").write_text(archive.public_keys()[0].public_key_pem)
    return out


def openssl_verify(out: Path) -> subprocess.CompletedProcess[bytes]:
    return run(
        "openssl",
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "../vigil-evidence.pem",
        "-rawin",
        "-in",
        "manifest.json",
        "-sigfile",
        "manifest.sig",
        cwd=out,
    )


def test_bundle_verifies_with_openssl_and_sha256sum_only(extracted: Path) -> None:
    # 1. the signature over the manifest
    proc = openssl_verify(extracted)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert b"Signature Verified Successfully" in proc.stdout
    # 2. the checksum list is the one the signed manifest names
    grep = run("grep", "-o", '"path":"SHA256SUMS","sha256":"[0-9a-f]*"', "manifest.json", cwd=extracted)
    assert grep.returncode == 0
    assert grep.stdout.decode().strip().split('"')[-2] == sha256sum(extracted, "SHA256SUMS")
    # 3. every file against it, and no file that is not in it
    check = run("sha256sum", "--strict", "-c", "SHA256SUMS", cwd=extracted)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {line.split("  ", 1)[1] for line in (extracted / "SHA256SUMS").read_text().splitlines()}
    present = {str(p.relative_to(extracted)) for p in extracted.rglob("*") if p.is_file()}
    assert present - listed == {"SHA256SUMS", "manifest.json", "manifest.sig"}
    # 4. the chain: each link hashes "{sequence}:{prev_hash}:{record_digest}", records hash to their digest
    links = [json.loads(line) for line in (extracted / "locker/chain.jsonl").read_text().splitlines()]
    assert [link["sequence"] for link in links] == [1, 2, 3]
    prev = links[0]["prev_hash"]
    for link in links:
        text = f"{link['sequence']}:{link['prev_hash']}:{link['record_digest']}".encode()
        assert link["prev_hash"] == prev
        assert sha256sum(extracted, data=text) == link["entry_hash"]
        record = extracted / f"records/{link['sequence']:012d}.json"
        if record.exists():
            assert sha256sum(extracted, str(record.relative_to(extracted))) == link["record_digest"]
        prev = link["entry_hash"]
    assert not (extracted / "records/000000000002.json").exists()  # CC7.2 only: linked, not included


def test_standard_tools_catch_tampering(extracted: Path) -> None:
    evidence = extracted / "evidence/000000000001.json"
    evidence.write_bytes(b'{"day": 42}')
    check = run("sha256sum", "--strict", "-c", "SHA256SUMS", cwd=extracted)
    assert check.returncode != 0
    assert b"evidence/000000000001.json: FAILED" in check.stdout
    manifest = extracted / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"items":2', b'"items":3'))
    proc = openssl_verify(extracted)
    assert proc.returncode != 0
    assert b"Signature Verification Failure" in proc.stdout + proc.stderr
