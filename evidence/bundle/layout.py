"""Names and fixed attributes of the bundle format `vigil-evidence-bundle/1` (see docs/evidence-format.md)."""

from __future__ import annotations

import re
import zipfile

FORMAT = "vigil-evidence-bundle/1"
# A signed document about one client (docs/trust.md): the same signature and file checks, no locker range.
REPORT_FORMAT = "vigil-transparency-report/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CHAIN = "locker/chain.jsonl"
INDEX = "index.csv"
REPORT = "report.html"
SUMS = "SHA256SUMS"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
SIGNATURE_BYTES = 64

_EXTENSIONS = {
    "application/json": ".json",
    "application/x-ndjson": ".ndjson",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "application/yaml": ".yaml",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "text/html": ".html",
    "text/markdown": ".md",
    "image/png": ".png",
    "image/jpeg": ".jpg",
}

SAFE_NAME = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)*[A-Za-z0-9][A-Za-z0-9._-]*$")
EVIDENCE_NAME = re.compile(r"^evidence/(\d{12})\.[a-z0-9]+$")
RECORD_NAME = re.compile(r"^records/(\d{12})\.json$")


def evidence_path(sequence: int, media_type: str) -> str:
    base = media_type.split(";", 1)[0].strip().lower()
    return f"evidence/{sequence:012d}{_EXTENSIONS.get(base, '.bin')}"


def record_path(sequence: int) -> str:
    return f"records/{sequence:012d}.json"


def entry_info(name: str, level: int, size: int) -> zipfile.ZipInfo:
    """A zip entry with nothing that varies between runs: fixed time, mode, system and compression."""
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.external_attr = FILE_MODE << 16
    info.create_system = 3
    info.compress_type = zipfile.ZIP_DEFLATED if level else zipfile.ZIP_STORED
    info._compresslevel = level or None  # type: ignore[attr-defined]  # Python 3.11 has no public setter
    info.file_size = size
    return info


def unsafe_name(name: str) -> str | None:
    """Why a name inside a bundle is unsafe to extract (zip-slip and friends), or None."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if any(part in {"..", "."} for part in name.split("/")):
        return "path traversal (`..`)"
    if "\x00" in name or not SAFE_NAME.match(name):
        return "characters outside [A-Za-z0-9._-/]"
    return None
