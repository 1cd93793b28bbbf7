"""Offline verification of a bundle: signature, every hash, missing and extra files, the chain over its range.

A signed report (`vigil-transparency-report/1`) is the same package without a locker range: its signature, hashes
and file list are checked the same way, and the document its manifest names must be among the files.

Nothing is extracted: entries are read as streams, so hostile names (zip-slip) are reported, never written.
Every problem found is named; verification goes on after a problem so the auditor sees the whole picture.

Memory: the manifest's bytes are held once (the Ed25519 signature covers all of them), but its `files` array is
decoded and validated one entry at a time from the canonical bytes; per item only a digest and a size stay.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from evidence.bundle import layout
from evidence.bundle.keys import key_id, signature_valid
from evidence.bundle.manifest import ManifestFile, ManifestHead, ReportManifestHead
from evidence.canonical import canonical_json
from evidence.locker.chain import entry_hash
from evidence.models import VerificationReport

CHUNK = 1024 * 1024
# A canonical manifest starts with its `files` array (the first key in sorted order) and the head follows it.
_FILES_START = b'{"files":['
_HEAD_START = b'],"format":'
_WINDOW = 64 * 1024
_NOT_CANONICAL = "manifest.json is not in canonical form (it was re-serialised or edited)"


Head = ManifestHead | ReportManifestHead


@dataclass(frozen=True)
class _Manifest:
    head: Head
    # (index, value) of each `files` entry, decoded on demand: never a list of them all.
    files: Callable[[], Iterator[tuple[int, Any]]]


@dataclass
class _State:
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    chain_read: bool = False
    record_files: dict[int, str] = field(default_factory=dict)
    records: dict[int, tuple[str, int]] = field(default_factory=dict)
    evidence: dict[int, tuple[str, int]] = field(default_factory=dict)
    period: tuple[str, str] = ("", "")
    controls: frozenset[str] = frozenset()

    def not_canonical(self) -> None:
        if _NOT_CANONICAL not in self.problems:
            self.problems.append(_NOT_CANONICAL)


def verify_bundle(
    path: Path,
    *,
    public_keys: Mapping[str, Ed25519PublicKey] | None = None,
    pubkey: Ed25519PublicKey | None = None,
    max_manifest_bytes: int = 256 * 1024**2,
) -> VerificationReport:
    """Check a bundle against `pubkey` (when given) or the key its manifest names among `public_keys`."""
    state = _State()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return VerificationReport(
            problems=[f"not a readable zip archive (truncated or corrupt): {exc}"], files_checked=0, items=0, kid=None
        )
    with archive:
        names = _check_names(archive, state)
        raw = _read_small(archive, names, layout.MANIFEST, max_manifest_bytes, state)
        signature = _read_small(archive, names, layout.SIGNATURE, 1024, state)
        if raw is None:
            return _report(state, None, None)
        manifest = _parse_manifest(raw, state)
        if manifest is None:
            return _report(state, None, None)
        head = manifest.head
        state.period = (head.period.from_, head.period.to)
        if isinstance(head, ManifestHead):
            state.controls = frozenset(head.selection.controls)
        if signature is not None:
            _check_signature(raw, signature, head.signature.kid, public_keys, pubkey, state)
        listed = _check_files(archive, names, manifest.files(), state)
        if isinstance(head, ManifestHead):
            _check_chain(archive, head, state)
        else:
            _check_report(head, listed, state)
        return _report(state, head, head.signature.kid)


def _report(state: _State, head: Head | None, kid: str | None) -> VerificationReport:
    return VerificationReport(
        problems=state.problems,
        files_checked=state.checked,
        items=head.items if isinstance(head, ManifestHead) else 0,
        kid=kid,
        format=head.format if head else None,
        client=head.report.client if isinstance(head, ReportManifestHead) else None,
    )


def _check_report(head: ReportManifestHead, listed: set[str], state: _State) -> None:
    if head.report.file not in listed:
        state.problems.append(f"the manifest names report {head.report.file!r} but does not list it")
    for name in sorted(state.records.keys() | state.evidence.keys()):
        state.problems.append(f"sequence {name}: a report carries no locker records or evidence files")


def _check_names(archive: zipfile.ZipFile, state: _State) -> set[str]:
    names: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        if name in names:
            state.problems.append(f"duplicate entry {name!r} in the archive")
        names.add(name)
        if reason := layout.unsafe_name(name):
            state.problems.append(f"unsafe file name {name!r} ({reason}; zip-slip attempt?)")
    return names


def _read_small(archive: zipfile.ZipFile, names: set[str], name: str, limit: int, state: _State) -> bytes | None:
    if name not in names:
        state.problems.append(f"missing file {name}")
        return None
    try:
        with archive.open(name) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as exc:
        state.problems.append(f"file {name} is unreadable (truncated or corrupt): {exc}")
        return None
    if len(data) > limit:
        state.problems.append(f"file {name} is larger than the {limit}-byte limit")
        return None
    return data


def _parse_manifest(raw: bytes, state: _State) -> _Manifest | None:
    """The head, validated, and a stream of `files` entries; the canonical layout is read without a full parse."""
    split = raw.rfind(_HEAD_START) if raw.startswith(_FILES_START) else -1
    if split < len(_FILES_START) - 1:
        return _parse_whole(raw, state)
    head_bytes = b"{" + raw[split + 2 :]
    try:
        value = json.loads(head_bytes)
    except (ValueError, UnicodeDecodeError):
        return _parse_whole(raw, state)  # not the canonical layout after all: the whole parse names the problem
    if not isinstance(value, dict):
        return _parse_whole(raw, state)
    _check_canonical(value, head_bytes, state)
    head = _head(value, state)
    if head is None:
        return None
    region = memoryview(raw)[len(_FILES_START) : split]
    return _Manifest(head, lambda: _stream_files(region, state))


def _parse_whole(raw: bytes, state: _State) -> _Manifest | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        state.problems.append(f"manifest.json is not JSON: {exc}")
        return None
    _check_canonical(value, raw, state)
    if not isinstance(value, dict):
        state.problems.append("manifest.json is malformed at top level: Input should be a valid dictionary")
        return None
    files = value.pop("files", None)
    if not isinstance(files, list):
        state.problems.append("manifest.json is malformed at files: Input should be a valid list")
        return None
    head = _head(value, state)
    if head is None:
        return None
    return _Manifest(head, lambda: enumerate(files))


def _check_canonical(value: Any, raw: bytes, state: _State) -> None:
    try:
        if canonical_json(value) != raw:
            state.not_canonical()
    except Exception as exc:  # the canonical encoder refuses some JSON (NaN); report rather than crash
        state.problems.append(f"manifest.json is not canonical JSON material: {exc}")


def _head(value: dict[str, Any], state: _State) -> Head | None:
    model: type[Head] = ReportManifestHead if value.get("format") == layout.REPORT_FORMAT else ManifestHead
    try:
        head = model.model_validate(value)
    except ValidationError as exc:
        state.problems.append(_malformed(exc, ""))
        return None
    if head.format not in (layout.FORMAT, layout.REPORT_FORMAT):
        state.problems.append(f"manifest format {head.format!r} is not {layout.FORMAT} or {layout.REPORT_FORMAT}")
    return head


def _malformed(exc: ValidationError, prefix: str) -> str:
    first = exc.errors(include_input=False)[0]
    where = ".".join([prefix, *(str(p) for p in first["loc"])] if prefix else [str(p) for p in first["loc"]])
    return f"manifest.json is malformed at {where or 'top level'}: {first['msg']}"


def _stream_files(region: memoryview, state: _State) -> Iterator[tuple[int, Any]]:
    """Each entry of the canonical `files` array, decoded from a sliding window and checked to be canonical."""
    decoder = json.JSONDecoder()
    pos, index, window, expect_entry = 0, 0, _WINDOW, False
    while pos < len(region):
        chunk = bytes(region[pos : pos + window])
        reaches_end = pos + len(chunk) >= len(region)
        # surrogateescape: a multi-byte character cut at the window's edge decodes, and re-encodes, losslessly.
        text = chunk.decode("utf-8", "surrogateescape")
        at = 0
        while at < len(text):
            try:
                value, end = decoder.raw_decode(text, at)
            except json.JSONDecodeError:
                break
            if end == len(text) and not reaches_end:
                break  # the entry may continue beyond the window
            piece = text[at:end].encode("utf-8", "surrogateescape")
            try:
                if canonical_json(value) != piece:
                    state.not_canonical()
            except Exception:  # NaN and friends: not canonical material
                state.not_canonical()
            yield index, value
            index += 1
            pos += len(piece)
            expect_entry = end < len(text) and text[end] == ","
            if end < len(text) and not expect_entry:
                state.problems.append(f"manifest.json is not JSON: the files array breaks after entry {index - 1}")
                return
            pos += int(expect_entry)
            at = end + int(expect_entry)
        else:
            window = _WINDOW
            continue
        if at == 0 and not reaches_end:
            window *= 2  # one entry larger than the window: widen it (bounded by the manifest size limit)
            continue
        if at == 0 or reaches_end:
            state.problems.append(f"manifest.json is not JSON: the files array breaks at entry {index}")
            return
        window = _WINDOW
    if expect_entry:
        state.problems.append(f"manifest.json is not JSON: the files array breaks at entry {index}")


def _check_signature(
    raw: bytes,
    signature: bytes,
    kid: str,
    public_keys: Mapping[str, Ed25519PublicKey] | None,
    pubkey: Ed25519PublicKey | None,
    state: _State,
) -> None:
    if len(signature) != layout.SIGNATURE_BYTES:
        state.problems.append(f"manifest.sig is {len(signature)} bytes, an Ed25519 signature is 64")
        return
    key = pubkey if pubkey is not None else (public_keys or {}).get(kid)
    if key is None:
        state.problems.append(f"signature: no public key for kid {kid} (give the publisher's key with --pubkey)")
        return
    if not signature_valid(key, signature, raw):
        state.problems.append(
            f"signature does not verify with key {key_id(key)} (manifest names kid {kid}): "
            "the manifest was altered or signed with another key"
        )


def _check_files(
    archive: zipfile.ZipFile, names: set[str], files: Iterator[tuple[int, Any]], state: _State
) -> set[str]:
    listed: set[str] = set()
    for index, value in files:
        try:
            entry = ManifestFile.model_validate(value)
        except ValidationError as exc:
            state.problems.append(_malformed(exc, f"files.{index}"))
            continue
        if entry.path in listed:
            state.problems.append(f"manifest lists {entry.path!r} twice")
            continue
        listed.add(entry.path)
        if reason := layout.unsafe_name(entry.path):
            state.problems.append(f"manifest names unsafe path {entry.path!r} ({reason})")
            continue
        if entry.path not in names:
            state.problems.append(f"missing file {entry.path} (listed in the manifest)")
            continue
        _check_file(archive, entry.path, entry.sha256, entry.size, state)
    for name in sorted(names - listed - {layout.MANIFEST, layout.SIGNATURE}):
        state.problems.append(f"extra file {name!r} is not listed in the manifest")
    return listed


def _check_file(archive: zipfile.ZipFile, name: str, sha256: str, size: int, state: _State) -> None:
    digest = hashlib.sha256()
    seen = 0
    record = layout.RECORD_NAME.match(name)
    body = bytearray() if record else None
    try:
        with archive.open(name) as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                seen += len(chunk)
                if body is not None and len(body) < 16 * 1024**2:
                    body.extend(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as exc:
        state.problems.append(f"file {name} is unreadable (truncated or corrupt): {exc}")
        return
    state.checked += 1
    actual = digest.hexdigest()
    if seen != size:
        state.problems.append(f"file {name}: size {seen} bytes, the manifest says {size} (altered)")
    if actual != sha256:
        state.problems.append(f"file {name}: sha256 {actual} differs from the manifest's {sha256} (altered)")
    if name == layout.CHAIN:
        state.chain_read = True
    if evidence := layout.EVIDENCE_NAME.match(name):
        state.evidence[int(evidence.group(1))] = (actual, seen)
    if record and body is not None:
        seq = int(record.group(1))
        state.record_files[seq] = actual
        try:
            parsed = json.loads(bytes(body))
            content, stated_seq = parsed["content"], parsed["sequence"]
            effective, controls = str(parsed["effective_at"]), frozenset(parsed["control_ids"])
            state.records[seq] = (str(content["sha256"]), int(content["size"]))
        except (ValueError, KeyError, TypeError):
            state.problems.append(f"record {name} is not a valid evidence record")
            return
        if stated_seq != seq:
            state.problems.append(f"record {name} states sequence {stated_seq}")
        # Canonical timestamps have one fixed-width UTC form, so text order is time order.
        if not state.period[0] <= effective < state.period[1]:
            state.problems.append(f"record {name} is effective at {effective}, outside the bundle period")
        if state.controls and not state.controls & controls:
            state.problems.append(f"record {name} supports none of the selected controls")


def _check_chain(archive: zipfile.ZipFile, head: ManifestHead, state: _State) -> None:
    lock = head.locker
    if lock.chain_file != layout.CHAIN:
        state.problems.append(f"manifest names chain file {lock.chain_file!r}, the format fixes {layout.CHAIN}")
        return
    if not state.chain_read:
        return  # missing, unlisted or unreadable: already reported
    expected, prev = lock.first_sequence, lock.first_prev_hash
    record_digests: dict[int, str] = {}
    with archive.open(layout.CHAIN) as handle:
        for number, line in enumerate(handle, 1):
            try:
                link = json.loads(line)
                seq, link_prev, digest, entry = (
                    int(link["sequence"]),
                    str(link["prev_hash"]),
                    str(link["record_digest"]),
                    str(link["entry_hash"]),
                )
            except (ValueError, KeyError, TypeError):
                state.problems.append(f"{layout.CHAIN} line {number} is not a chain link")
                return
            if seq != expected:
                state.problems.append(f"sequence hole: expected {expected}, found {seq} in {layout.CHAIN}")
            if link_prev != prev:
                state.problems.append(f"sequence {seq}: prev_hash breaks the chain (entry removed or reordered)")
            if entry_hash(seq, link_prev, digest) != entry:
                state.problems.append(f"sequence {seq}: entry_hash does not match its sequence, prev_hash and record")
            record_digests[seq] = digest
            expected, prev = seq + 1, entry
    if expected - 1 != lock.last_sequence:
        state.problems.append(
            f"sequence range ends at {expected - 1}, the manifest claims {lock.last_sequence} (truncated chain)"
        )
    if prev != lock.chain_head:
        state.problems.append("chain head in the manifest does not match the last entry of the chain file")
    _check_items(head, record_digests, state)


def _check_items(head: ManifestHead, record_digests: dict[int, str], state: _State) -> None:
    for seq, (content_sha, content_size) in sorted(state.records.items()):
        digest = state.record_files.get(seq)
        if record_digests.get(seq) != digest:
            state.problems.append(f"record of sequence {seq} is not the one the chain commits to")
        if seq not in state.evidence:
            state.problems.append(f"sequence {seq}: evidence file is missing (record present)")
        elif state.evidence[seq] != (content_sha, content_size):
            state.problems.append(f"sequence {seq}: evidence file does not match the sha256/size in its record")
    for seq in sorted(set(state.evidence) - set(state.records)):
        state.problems.append(f"sequence {seq}: evidence file has no record")
    if len(state.records) != head.items:
        state.problems.append(f"manifest claims {head.items} item(s), the bundle holds {len(state.records)}")
