"""Bundles against the real services: content, determinism, streaming, keys, and every kind of forgery."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from elasticsearch import Elasticsearch

from evidence import EvidenceArchive, EvidenceSettings, LockerIntegrityError, NoEvidenceError, verify_bundle
from evidence.bundle.keys import public_pem
from tests.evidence.conftest import SEALER, T0, Add, saved
from tests.evidence.tamper import manifest_of, resign, rewrite

pytestmark = pytest.mark.integration

PERIOD = (T0, T0 + timedelta(days=5))


@pytest.fixture
def bundle(archive: EvidenceArchive, add: Add, tmp_path: Path) -> Path:
    add(0, controls=("A",))
    add(1, controls=("B",))
    add(2, controls=("A", "B"), freshness_seconds=3600)
    add(20, controls=("A",))
    return saved(archive, archive.build_bundle(*PERIOD, ("A",)), tmp_path / "first")


def test_bundle_holds_selected_items_and_the_chain_over_their_range(archive: EvidenceArchive, bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        assert names == [
            "records/000000000001.json",
            "evidence/000000000001.json",
            "records/000000000003.json",
            "evidence/000000000003.json",
            "locker/chain.jsonl",
            "index.csv",
            "report.html",
            "SHA256SUMS",
            "manifest.json",
            "manifest.sig",
        ]
        chain = [json.loads(line) for line in z.read("locker/chain.jsonl").splitlines()]
        rows = list(csv.DictReader(io.StringIO(z.read("index.csv").decode())))
        report = z.read("report.html").decode()
        assert z.read("evidence/000000000003.json") == b'{"day": 2}'
    assert [link["sequence"] for link in chain] == [1, 2, 3]  # 2 is not selected but its link is proven
    assert [r["sequence"] for r in rows] == ["1", "3"]
    assert [r["stale"] for r in rows] == ["false", "true"]  # item 3 was fresh for one hour only
    assert "STALE" in report
    manifest = manifest_of(bundle)
    assert manifest["items"] == 2
    assert manifest["period"] == {"from": "2026-03-01T00:00:00.000000Z", "to": "2026-03-06T00:00:00.000000Z"}
    assert manifest["selection"]["controls"] == ["A"]
    assert manifest["selection"]["stale_items"] == 1
    assert manifest["locker"]["first_sequence"] == 1
    assert manifest["locker"]["last_sequence"] == 3
    assert manifest["locker"]["chain_head"] == chain[-1]["entry_hash"]
    assert manifest["generator"] == {"name": "vigil-evidence", "version": "0.1.0"}
    report_ok = archive.verify(bundle)
    assert report_ok.ok, report_ok.problems
    assert report_ok.items == 2
    assert report_ok.files_checked == 8


def test_same_inputs_give_a_byte_identical_zip(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    first = bundle.read_bytes()
    again = archive.build_bundle(*PERIOD, ("A",))
    assert again.info.name == bundle.name
    assert saved(archive, again, tmp_path / "again").read_bytes() == first
    other = archive.build_bundle(*PERIOD)
    assert other.info.name != bundle.name
    with zipfile.ZipFile(bundle) as z:
        for info in z.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644


def test_no_matching_evidence_is_a_clear_error(archive: EvidenceArchive, add: Add) -> None:
    add(0, controls=("A",))
    with pytest.raises(NoEvidenceError, match="for controls Z"):
        archive.build_bundle(*PERIOD, ("Z",))


def test_bundles_stream_across_pages(
    es: Elasticsearch, redis_conn: redis.Redis, evidence_settings: EvidenceSettings, tmp_path: Path
) -> None:
    small_pages = EvidenceArchive(es, redis_conn, evidence_settings.model_copy(update={"page_size": 10}), SEALER)
    for n in range(35):
        small_pages.locker.append(
            collector="c", collector_version="1", source_system="s", query="q", effective_at=T0, content=b"%d" % n
        )
    built = small_pages.build_bundle(*PERIOD)
    assert built.info.items == 35
    assert (built.info.first_sequence, built.info.last_sequence) == (1, 35)
    assert small_pages.verify(saved(small_pages, built, tmp_path)).ok


def test_rotation_keeps_old_bundles_verifiable_and_is_recorded(
    archive: EvidenceArchive, bundle: Path, tmp_path: Path
) -> None:
    old_kid = manifest_of(bundle)["signature"]["kid"]
    new = archive.rotate_key()
    assert new.kid != old_kid
    keys = {k.kid: k for k in archive.public_keys()}
    assert keys[old_kid].active is False
    assert keys[old_kid].retired_at is not None
    assert keys[new.kid].active is True
    assert archive.verify(bundle).ok
    rotation = list(archive.locker.items_for_control("A"))
    assert all(i.collector == "test-collector" for i in rotation)
    head = archive.locker.head()
    assert head is not None
    (event,) = [
        item
        for item in archive.locker.items(T0, T0 + timedelta(days=36500))
        if item.collector == "vigil-evidence" and item.query == "rotate-signing-key"
    ]
    with archive.locker.open_content(event.sha256) as handle:
        body = json.loads(handle.read())
    assert body["new_kid"] == new.kid
    assert body["retired_kid"] == old_kid
    rebuilt = archive.build_bundle(*PERIOD, ("A",))
    assert manifest_of(saved(archive, rebuilt, tmp_path / "rebuilt"))["signature"]["kid"] == new.kid


def test_verifies_with_an_explicit_public_key_file(archive: EvidenceArchive, bundle: Path) -> None:
    pem = archive.public_keys()[0].public_key_pem.encode()
    assert archive.verify(bundle, pem).ok
    stranger = public_pem(Ed25519PrivateKey.generate().public_key()).encode()
    (problem,) = archive.verify(bundle, stranger).problems
    assert problem.startswith("signature does not verify with key")


# -- forgeries -------------------------------------------------------------------------------------------------


def _problems(archive: EvidenceArchive, path: Path) -> list[str]:
    report = archive.verify(path)
    assert not report.ok
    return report.problems


def test_tampered_evidence_file(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    forged = rewrite(
        bundle,
        tmp_path / "f.zip",
        lambda name, data: b'{"day": 99}' if name == "evidence/000000000003.json" else data,
    )
    problems = _problems(archive, forged)
    assert problems[0].startswith("file evidence/000000000003.json: size 11 bytes, the manifest says 10")
    assert any(p.startswith("file evidence/000000000003.json: sha256") and "(altered)" in p for p in problems)
    assert "sequence 3: evidence file does not match the sha256/size in its record" in problems


def test_tampered_manifest_breaks_the_signature(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    def edit(name: str, data: bytes) -> bytes:
        return data.replace(b'"stale_items":1', b'"stale_items":0') if name == "manifest.json" else data

    problems = _problems(archive, rewrite(bundle, tmp_path / "f.zip", edit))
    assert len(problems) == 1
    assert problems[0].startswith("signature does not verify with key")
    assert "the manifest was altered or signed with another key" in problems[0]


def test_truncated_bundle(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    data = bundle.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    (problem,) = _problems(archive, cut)
    assert problem.startswith("not a readable zip archive (truncated or corrupt)")


def test_resigned_with_another_key(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    def change(entries: dict[str, bytes]) -> None:
        entries["evidence/000000000001.json"] = b'{"day": "forged"}'

    forged = resign(bundle, tmp_path / "f.zip", Ed25519PrivateKey.generate(), change)
    problems = _problems(archive, forged)
    kid = manifest_of(bundle)["signature"]["kid"]
    assert problems[0].startswith("signature does not verify with key ")
    assert f"(manifest names kid {kid})" in problems[0]
    assert "sequence 1: evidence file does not match the sha256/size in its record" in problems


def test_zip_slip_names(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    forged = rewrite(bundle, tmp_path / "f.zip", extra={"../../etc/cron.d/evil": b"* * * * * root sh"})
    problems = _problems(archive, forged)
    assert "unsafe file name '../../etc/cron.d/evil' (path traversal (`..`); zip-slip attempt?)" in problems
    assert "extra file '../../etc/cron.d/evil' is not listed in the manifest" in problems
    assert not (tmp_path.parent.parent / "etc").exists() or not (tmp_path.parent.parent / "etc/cron.d/evil").exists()


def test_absolute_name_is_unsafe(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    forged = rewrite(bundle, tmp_path / "f.zip", extra={"/tmp/evil": b"x"})
    assert "unsafe file name '/tmp/evil' (absolute path; zip-slip attempt?)" in _problems(archive, forged)


def test_missing_and_extra_files(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    forged = rewrite(
        bundle,
        tmp_path / "f.zip",
        lambda name, data: None if name == "evidence/000000000001.json" else data,
        extra={"notes.txt": b"hello"},
    )
    problems = _problems(archive, forged)
    assert "missing file evidence/000000000001.json (listed in the manifest)" in problems
    assert "extra file 'notes.txt' is not listed in the manifest" in problems
    assert "sequence 1: evidence file is missing (record present)" in problems


def test_sequence_hole_even_when_resigned_with_the_real_key(
    archive: EvidenceArchive, bundle: Path, tmp_path: Path
) -> None:
    def drop_link(entries: dict[str, bytes]) -> None:
        lines = entries["locker/chain.jsonl"].splitlines(keepends=True)
        entries["locker/chain.jsonl"] = lines[0] + lines[2]

    _, key = archive.keys.signer()
    problems = _problems(archive, resign(bundle, tmp_path / "f.zip", key, drop_link))
    assert "sequence hole: expected 2, found 3 in locker/chain.jsonl" in problems
    assert "sequence 3: prev_hash breaks the chain (entry removed or reordered)" in problems


def test_missing_signature(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    forged = rewrite(bundle, tmp_path / "f.zip", lambda name, data: None if name == "manifest.sig" else data)
    assert _problems(archive, forged) == ["missing file manifest.sig"]


def test_not_a_zip_at_all(archive: EvidenceArchive, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 definitely not a zip")
    (problem,) = _problems(archive, junk)
    assert problem.startswith("not a readable zip archive")


def test_verification_needs_a_key(bundle: Path) -> None:
    (problem,) = verify_bundle(bundle).problems
    assert problem.startswith("signature: no public key for kid")


def test_items_outside_the_stated_selection_are_named(archive: EvidenceArchive, bundle: Path, tmp_path: Path) -> None:
    def narrow(entries: dict[str, bytes]) -> None:
        manifest = json.loads(entries["manifest.json"])
        manifest["selection"]["controls"] = ["Z"]
        manifest["period"]["from"] = "2026-03-02T00:00:00.000000Z"
        entries["manifest.json"] = json.dumps(manifest).encode()

    _, key = archive.keys.signer()
    problems = _problems(archive, resign(bundle, tmp_path / "f.zip", key, narrow))
    assert (
        "record records/000000000001.json is effective at 2026-03-01T00:00:00.000000Z, outside the bundle period"
        in (problems)
    )
    assert "record records/000000000003.json supports none of the selected controls" in problems


def test_a_broken_locker_is_never_signed(es: Elasticsearch, archive: EvidenceArchive, add: Add) -> None:
    for day in range(3):
        add(day)
    es.delete(index=archive.locker.index, id="2", refresh=True)
    with pytest.raises(LockerIntegrityError, match=r"sequence 3: expected 2 \(entries 2..2 are missing\)"):
        archive.build_bundle(*PERIOD)
    assert archive.bundles_for(None) == []
