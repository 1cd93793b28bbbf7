"""Build a signed, deterministic bundle while streaming the locker: one page of entries in memory at a time.

The archive is written in a fixed order (per item `records/N.json` then `evidence/N.ext`, then
`locker/chain.jsonl`, `index.csv`, `report.html`, `SHA256SUMS`, `manifest.json`, `manifest.sig`) with fixed
entry attributes, so the same locker range, period, controls, key and generator version give a byte-identical
zip. The manifest lists files in archive order; its per-file lines are spooled to disk and only the finished
manifest is held in memory (to sign it). The zip is assembled in a scratch folder, then stored in the shared
bundle store (named by its SHA-256) and the scratch removed: no replica keeps a bundle on its own disk.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence.bundle import layout
from evidence.bundle.keys import SigningKeyStore
from evidence.bundle.package import PackageWriter
from evidence.bundle.report import IndexWriter, ReportWriter
from evidence.canonical import canonical_json, parse_rfc3339, rfc3339, utc
from evidence.errors import LockerIntegrityError, NoEvidenceError
from evidence.locker import EvidenceLocker, check_entry
from evidence.locker.chain import record_fields
from evidence.models import BundleInfo
from evidence.store import BlobStore

GENERATOR = "vigil-evidence"


@dataclass(frozen=True)
class BuiltBundle:
    info: BundleInfo


@dataclass
class _Totals:
    items: int = 0
    stale: int = 0
    last_entry: str = ""


def bundle_name(period_from: datetime, period_to: datetime, sha256: str) -> str:
    def stamp(moment: datetime) -> str:
        return utc(moment).strftime("%Y%m%dT%H%M%SZ")

    return f"evidence-{stamp(period_from)}-{stamp(period_to)}-{sha256[:12]}.zip"


def build_bundle(
    locker: EvidenceLocker,
    keys: SigningKeyStore,
    *,
    period_from: datetime,
    period_to: datetime,
    controls: tuple[str, ...] = (),
    store: BlobStore,
    level: int = 6,
    version: str = "0.1.0",
) -> BuiltBundle:
    wanted = sorted(set(controls))
    span = locker.sequence_range(period_from, period_to, wanted)
    if span is None:
        raise NoEvidenceError(
            f"no evidence effective in [{rfc3339(period_from)}, {rfc3339(period_to)})"
            + (f" for controls {', '.join(wanted)}" if wanted else "")
        )
    first, last, _ = span
    kid, private = keys.signer()
    with tempfile.TemporaryDirectory(prefix="vigil-bundle-") as scratch:
        work = Path(scratch)
        zip_path = work / "bundle.zip"
        with zipfile.ZipFile(zip_path, "w", allowZip64=True) as archive:
            builder = _Builder(archive, work, level)
            totals, first_prev = builder.items(locker, first, last, period_from, period_to, wanted)
            rest = {
                "format": layout.FORMAT,
                "generator": {"name": GENERATOR, "version": version},
                "items": totals.items,
                "locker": {
                    "chain_file": layout.CHAIN,
                    "chain_head": totals.last_entry,
                    "first_prev_hash": first_prev,
                    "first_sequence": first,
                    "last_sequence": last,
                },
                "period": {"from": rfc3339(period_from), "to": rfc3339(period_to)},
                "selection": {"controls": wanted, "stale_as_of": rfc3339(period_to), "stale_items": totals.stale},
                "signature": {"alg": "Ed25519", "file": layout.SIGNATURE, "kid": kid},
            }
            builder.close_spools(totals, first, last, kid)
            builder.sign(rest, private)
            builder.files.close()
        with zip_path.open("rb") as built:
            digest, size = store.put(built)
        name = bundle_name(period_from, period_to, digest)
    info = BundleInfo(
        name=name,
        sha256=digest,
        size=size,
        period_from=utc(period_from),
        period_to=utc(period_to),
        controls=tuple(wanted),
        items=totals.items,
        first_sequence=first,
        last_sequence=last,
        kid=kid,
        built_at=datetime.now(UTC),
    )
    return BuiltBundle(info=info)


class _Builder(PackageWriter):
    def __init__(self, archive: zipfile.ZipFile, work: Path, level: int) -> None:
        super().__init__(
            archive,
            level,
            (work / "manifest.part").open("w+", encoding="utf-8"),
            (work / "sums.part").open("w+", encoding="utf-8", newline="\n"),
        )
        self.chain = (work / "chain.part").open("w+", encoding="utf-8", newline="\n")
        self.index_out = (work / "index.part").open("w+", encoding="utf-8", newline="")
        self.report_out = (work / "report.part").open("w+", encoding="utf-8", newline="\n")
        self.index = IndexWriter(self.index_out)
        self.report: ReportWriter | None = None

    def items(
        self,
        locker: EvidenceLocker,
        first: int,
        last: int,
        period_from: datetime,
        period_to: datetime,
        wanted: list[str],
    ) -> tuple[_Totals, str]:
        totals = _Totals()
        first_prev = ""
        start, end, as_of = utc(period_from), utc(period_to), utc(period_to)
        self.report = ReportWriter(self.report_out, f"{rfc3339(start)} .. {rfc3339(end)}", wanted)
        expected = first
        for doc in locker.entries(first, last):
            if not first_prev:
                first_prev = doc["prev_hash"]
            # Never sign a broken chain: the bundle would carry the break with our signature on it.
            if broken := check_entry(doc, expected, totals.last_entry or first_prev):
                raise LockerIntegrityError(f"{broken[0]}; run `vigil evidence verify-locker`")
            expected = int(doc["sequence"]) + 1
            self.chain.write(
                canonical_json(
                    {
                        "entry_hash": doc["entry_hash"],
                        "prev_hash": doc["prev_hash"],
                        "record_digest": doc["record_digest"],
                        "sequence": doc["sequence"],
                    }
                ).decode()
                + "\n"
            )
            totals.last_entry = doc["entry_hash"]
            record = json.loads(doc["record"])
            effective = parse_rfc3339(record["effective_at"])
            if not start <= effective < end or (wanted and not set(wanted) & set(record["control_ids"])):
                continue
            stale = as_of >= parse_rfc3339(record["fresh_until"])
            self._item(locker, doc, record, stale)
            totals.items += 1
            totals.stale += stale
        if expected != last + 1:
            raise LockerIntegrityError(f"entries {expected}..{last} are missing; run `vigil evidence verify-locker`")
        return totals, first_prev

    def _item(self, locker: EvidenceLocker, doc: dict[str, Any], record: dict[str, Any], stale: bool) -> None:
        seq = int(doc["sequence"])
        content = record["content"]
        rec_path = layout.record_path(seq)
        self.put_bytes(rec_path, doc["record"].encode("utf-8"))
        path = layout.evidence_path(seq, content["media_type"])
        with locker.open_content(content["sha256"]) as source:
            digest = self.put_stream(path, source, content["size"])
        if digest != content["sha256"]:
            raise LockerIntegrityError(
                f"sequence {seq}: the stored content no longer matches its recorded sha256; run verify-locker"
            )
        row = {
            **record_fields(record),
            "path": path,
            "record": rec_path,
            "stale": "true" if stale else "false",
            "control_ids": " ".join(record["control_ids"]),
            "query": record["query"],
            "parameters_json": canonical_json(record["parameters"]).decode(),
            "entry_hash": doc["entry_hash"],
        }
        self.index.row(row)
        assert self.report is not None
        self.report.row(row)

    def close_spools(self, totals: _Totals, first: int, last: int, kid: str) -> None:
        assert self.report is not None
        self.report.close(
            items=totals.items, stale=totals.stale, first=first, last=last, head=totals.last_entry, kid=kid
        )
        for name, spool in (
            (layout.CHAIN, self.chain),
            (layout.INDEX, self.index_out),
            (layout.REPORT, self.report_out),
            (layout.SUMS, self.sums),
        ):
            spool.close()
            path = Path(spool.name)
            with path.open("rb") as source:
                self.put_stream(name, source, path.stat().st_size)
