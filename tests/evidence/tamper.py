"""Helpers that forge bundles the way an attacker (or a broken copy) would."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.canonical import canonical_json

Edit = Callable[[str, bytes], bytes | None]


def rewrite(src: Path, dst: Path, edit: Edit | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """Copy a bundle entry by entry; `edit` may change an entry's bytes or drop it (None)."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            changed = edit(info.filename, data) if edit else data
            if changed is not None:
                new.writestr(info.filename, changed)
        for name, data in (extra or {}).items():
            new.writestr(name, data)
    return dst


def manifest_of(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        value: dict[str, Any] = json.loads(archive.read("manifest.json"))
    return value


def resign(src: Path, dst: Path, key: Ed25519PrivateKey, change: Callable[[dict[str, bytes]], None]) -> Path:
    """Apply `change` to the entries, recompute every manifest hash, and sign with `key` (a forger's re-seal)."""
    import hashlib

    with zipfile.ZipFile(src) as old:
        entries = {i.filename: old.read(i.filename) for i in old.infolist()}
    change(entries)
    manifest = json.loads(entries["manifest.json"])
    files = []
    for entry in manifest["files"]:
        if entry["path"] in entries:
            data = entries[entry["path"]]
            files.append({"path": entry["path"], "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    manifest["files"] = files
    raw = canonical_json(manifest)
    entries["manifest.json"] = raw
    entries["manifest.sig"] = key.sign(raw)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in entries.items():
            new.writestr(name, data)
    return dst
