"""Small signed packages (`sign_package`): the bundle verifier accepts them, names any change, refuses bad names."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import REPORT_FORMAT, InvalidEvidenceError, verify_bundle
from evidence.bundle.keys import key_id
from evidence.bundle.package import sign_package

KEY = Ed25519PrivateKey.generate()
KID = key_id(KEY.public_key())
HEAD = {
    "format": REPORT_FORMAT,
    "generator": {"name": "test", "version": "1"},
    "period": {"from": "2026-03-01T00:00:00.000000Z", "to": "2026-03-02T00:00:00.000000Z"},
    "report": {"client": "acme", "file": "report.json"},
}
FILES = [("report.json", b'{"client":"acme"}'), ("report.html", b"<p>acme</p>")]


def _write(tmp_path: Path, data: bytes, name: str = "p.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_package_verifies_and_is_byte_identical_for_the_same_inputs(tmp_path: Path) -> None:
    data = sign_package(FILES, HEAD, kid=KID, private=KEY)
    assert data == sign_package(FILES, HEAD, kid=KID, private=KEY)
    report = verify_bundle(_write(tmp_path, data), pubkey=KEY.public_key())
    assert report.problems == []
    assert (report.format, report.client, report.files_checked, report.items) == (REPORT_FORMAT, "acme", 3, 0)
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        assert archive.namelist() == ["report.json", "report.html", "SHA256SUMS", "manifest.json", "manifest.sig"]


def test_another_key_and_a_missing_report_file_are_named(tmp_path: Path) -> None:
    data = sign_package(FILES[1:], HEAD, kid=KID, private=KEY)
    other = Ed25519PrivateKey.generate().public_key()
    problems = verify_bundle(_write(tmp_path, data), pubkey=other).problems
    assert problems[0].startswith("signature does not verify with key")
    assert problems[1] == "the manifest names report 'report.json' but does not list it"


@pytest.mark.parametrize("name", ["SHA256SUMS", "manifest.json", "../evil", "/abs", "a\\b", "dup"])
def test_reserved_unsafe_or_repeated_names_are_refused(name: str) -> None:
    files = [(name, b"x"), ("dup", b"y")] if name == "dup" else [(name, b"x")]
    with pytest.raises(InvalidEvidenceError, match="cannot hold a file named"):
        sign_package(files, HEAD, kid=KID, private=KEY)


def test_the_head_must_name_a_format_and_leave_files_and_signature_to_the_writer() -> None:
    with pytest.raises(InvalidEvidenceError, match="names its format"):
        sign_package(FILES, {"generator": {}}, kid=KID, private=KEY)
    with pytest.raises(InvalidEvidenceError, match="names its format"):
        sign_package(FILES, {**HEAD, "signature": {}}, kid=KID, private=KEY)
