"""An auditor's own bundle downloads, read back from the evidence locker where every download is recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evidence import EvidenceArchive

# The evidence archive records downloads as its own audit items (collector `vigil-evidence`).
ARCHIVE_COLLECTOR = "vigil-evidence"
DOWNLOAD_QUERY = "download-bundle"
SCANNED = 500


@dataclass(frozen=True)
class Download:
    sequence: int
    at: str
    bundle: str
    sha256: str
    byte_range: str | None


class Downloads:
    def __init__(self, archive: EvidenceArchive) -> None:
        self.archive = archive

    def of(self, subject: str, limit: int) -> list[Download]:
        """The newest downloads by `subject` among the newest audit items of the archive."""
        locker = self.archive.locker
        locker.es.indices.refresh(index=locker.index)
        response = locker.es.search(
            index=locker.index,
            size=SCANNED,
            query={"term": {"collector": ARCHIVE_COLLECTOR}},
            sort=[{"sequence": "desc"}],
        )
        found: list[Download] = []
        for hit in response["hits"]["hits"]:
            doc: dict[str, Any] = hit["_source"]
            if json.loads(doc["record"]).get("query") != DOWNLOAD_QUERY:
                continue
            with locker.open_content(doc["sha256"]) as stream:
                content = json.loads(stream.read())
            if content.get("subject") != subject:
                continue
            found.append(
                Download(
                    sequence=int(doc["sequence"]),
                    at=str(content.get("at", doc["appended_at"])),
                    bundle=str(content.get("bundle")),
                    sha256=str(content.get("sha256")),
                    byte_range=content.get("range"),
                )
            )
            if len(found) >= limit:
                break
        return found
