"""The signed zip every Vigil package shares: fixed entries, `SHA256SUMS`, a canonical `manifest.json` and its
Ed25519 signature `manifest.sig`.

Evidence bundles (`writer.py`) stream a locker range through it; small documents such as a client's transparency
report go through `sign_package` whole. Both produce archives the one verifier (`verify.py`) and the openssl
procedure of docs/evidence-format.md check the same way: the signature over the manifest's exact bytes, every
listed file's SHA-256 and size, and nothing unlisted.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from typing import IO, Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.bundle import layout
from evidence.canonical import canonical_json
from evidence.errors import InvalidEvidenceError

CHUNK = 1024 * 1024


class PackageWriter:
    """Entries with fixed attributes, each noted in the manifest's `files` (archive order) and in `SHA256SUMS`.

    `files` and `sums` are text spools: on disk for a bundle of any size, in memory for a small package.
    """

    def __init__(self, archive: zipfile.ZipFile, level: int, files: IO[str], sums: IO[str]) -> None:
        self.archive = archive
        self.level = level
        self.files = files
        self.sums = sums
        self.files.write('{"files":[')
        self._files_written = 0

    def put_bytes(self, name: str, data: bytes) -> None:
        info = layout.entry_info(name, self.level, len(data))
        with self.archive.open(info, "w") as out:
            out.write(data)
        self._note(name, hashlib.sha256(data).hexdigest(), len(data))

    def put_stream(self, name: str, source: BinaryIO | IO[bytes], size: int) -> str:
        info = layout.entry_info(name, self.level, size)
        digest = hashlib.sha256()
        written = 0
        with self.archive.open(info, "w", force_zip64=size >= 2**31) as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                written += len(chunk)
        sha = digest.hexdigest()
        self._note(name, sha, written)
        return sha

    def _note(self, name: str, sha: str, size: int) -> None:
        if name in (layout.MANIFEST, layout.SIGNATURE):
            return
        if name != layout.SUMS:
            self.sums.write(f"{sha}  {name}\n")
        prefix = "," if self._files_written else ""
        self.files.write(prefix + canonical_json({"path": name, "sha256": sha, "size": size}).decode())
        self._files_written += 1

    def manifest(self, rest: Mapping[str, Any]) -> bytes:
        """`{"files":[...],<rest>}`: canonical because every other top-level key sorts after "files"."""
        assert all(key > "files" for key in rest)
        self.files.write("]," + canonical_json(dict(rest))[1:].decode("utf-8"))
        self.files.seek(0)
        return self.files.read().encode("utf-8")

    def sign(self, rest: Mapping[str, Any], private: Ed25519PrivateKey) -> bytes:
        """Write `manifest.json` (with `rest` beside `files`) and `manifest.sig`; return the manifest's bytes."""
        manifest = self.manifest(rest)
        self.put_bytes(layout.MANIFEST, manifest)
        self.put_bytes(layout.SIGNATURE, private.sign(manifest))
        return manifest


def sign_package(
    files: Sequence[tuple[str, bytes]],
    head: Mapping[str, Any],
    *,
    kid: str,
    private: Ed25519PrivateKey,
    level: int = 6,
) -> bytes:
    """A signed zip of `files` (in this order) then `SHA256SUMS`, `manifest.json` and `manifest.sig`, in memory.

    `head` holds the manifest members beside `files` (at least `format`); `signature` is added here. The same
    files, head and key give the same bytes.
    """
    names = [name for name, _ in files]
    reserved = {layout.SUMS, layout.MANIFEST, layout.SIGNATURE}
    for name in names:
        if name in reserved or layout.unsafe_name(name) or names.count(name) > 1:
            raise InvalidEvidenceError(f"a package cannot hold a file named {name!r}")
    if "format" not in head or "files" in head or "signature" in head:
        raise InvalidEvidenceError("a package head names its format and leaves `files` and `signature` to the writer")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        sums = io.StringIO()
        writer = PackageWriter(archive, level, io.StringIO(), sums)
        for name, data in files:
            writer.put_bytes(name, data)
        writer.put_bytes(layout.SUMS, sums.getvalue().encode("utf-8"))
        writer.sign({**head, "signature": {"alg": "Ed25519", "file": layout.SIGNATURE, "kid": kid}}, private)
    return buffer.getvalue()
