"""`vigil ingest file`: tail a log file into the pipeline with a persisted offset, surviving restarts and rotation.

The offset saved after each durable push is the byte position of the first record not yet queued, so a restart
neither skips nor repeats lines. Each record's producer id hashes (device, inode, offset, text): should a crash
fall between the push and the save, the re-sent records keep their ids and Elasticsearch refuses them as 409s.
Rotation by rename is followed to the end of the old file (found again by inode after a restart), then the new
file is read from 0; truncation in place (copytruncate) restarts at 0.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, Field

from siem.errors import BackpressureError, TailError
from siem.models import DeadLetterForecast
from siem.parsers import RecordFormat
from siem.parsers.exceptions import continues_traceback
from siem.pipeline import Pipeline
from siem.screening import failures, forecast

_READ_BYTES = 4 * 1024 * 1024


class TailState(BaseModel):
    path: str
    dev: int
    inode: int
    offset: int = 0


class TailReport(BaseModel):
    records: int = 0
    rotations: int = 0
    truncations: int = 0
    failures: dict[str, int] = Field(default_factory=dict, description="Dead-letter reasons and their counts.")

    @property
    def dead_letter(self) -> DeadLetterForecast:
        """What of the queued records the workers will put in the dead letter, and why."""
        return forecast(Counter(self.failures))


class FileTail:
    def __init__(
        self,
        pipeline: Pipeline,
        path: Path,
        fmt: RecordFormat,
        state_dir: Path,
        *,
        batch_records: int = 1000,
        poll_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.pipeline = pipeline
        self.path = path.resolve()
        self.fmt = fmt
        key = hashlib.sha256(str(self.path).encode()).hexdigest()[:16]
        self.state_file = state_dir / f"{key}.json"
        self.batch_records = batch_records
        self.poll_seconds = poll_seconds
        self.sleep = sleep

    # -- state -----------------------------------------------------------------------------------------------

    def load_state(self) -> TailState | None:
        try:
            return TailState.model_validate_json(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise TailError(f"offset file {self.state_file} is unreadable ({exc}); delete it to start over") from None

    def _save(self, state: TailState) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(state.model_dump_json(), encoding="utf-8")
        temporary.replace(self.state_file)

    def _open(self, path: Path) -> tuple[BinaryIO, os.stat_result]:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise TailError(f"cannot read {path}: {exc.strerror}") from None
        return handle, os.fstat(handle.fileno())

    def _rotated_copy(self, state: TailState) -> Path | None:
        """After a restart, the file the saved offset belongs to, renamed beside the path by rotation."""
        for sibling in sorted(self.path.parent.glob(self.path.name + "*")):
            try:
                info = sibling.stat()
            except OSError:
                continue
            if (info.st_dev, info.st_ino) == (state.dev, state.inode) and sibling != self.path:
                return sibling
        return None

    # -- reading ---------------------------------------------------------------------------------------------

    def run(self, *, follow: bool = False, should_stop: Callable[[], bool] = lambda: False) -> TailReport:
        """Queue what the file holds (and, with `follow`, what it gains until `should_stop`)."""
        report = TailReport()
        handle, info = self._open(self.path)
        state = self.load_state()
        if state is None or (state.dev, state.inode) != (info.st_dev, info.st_ino):
            old = self._rotated_copy(state) if state is not None else None
            if old is not None and state is not None:
                with old.open("rb") as previous:
                    self._read(previous, state, report, idle=True, at_end=True)
                report.rotations += 1
            state = TailState(path=str(self.path), dev=info.st_dev, inode=info.st_ino)
            self._save(state)
        try:
            while True:
                if os.fstat(handle.fileno()).st_size < state.offset:
                    state.offset = 0
                    report.truncations += 1
                grew = self._read(handle, state, report)
                current = self._stat_path()
                if current is not None and (current.st_dev, current.st_ino) != (state.dev, state.inode):
                    self._read(handle, state, report, idle=True, at_end=True)
                    handle.close()
                    handle, info = self._open(self.path)
                    state = TailState(path=str(self.path), dev=info.st_dev, inode=info.st_ino)
                    self._save(state)
                    report.rotations += 1
                    continue
                if not follow or should_stop():
                    self._read(handle, state, report, idle=True, at_end=not follow)
                    return report
                if not grew:
                    # Nothing new for a poll: a traceback still open at the end is complete.
                    self._read(handle, state, report, idle=True)
                    self.sleep(self.poll_seconds)
        finally:
            handle.close()

    def _stat_path(self) -> os.stat_result | None:
        try:
            return self.path.stat()
        except FileNotFoundError:
            return None

    def _read(
        self, handle: BinaryIO, state: TailState, report: TailReport, *, idle: bool = False, at_end: bool = False
    ) -> bool:
        """Queue complete records from `state.offset`; returns whether anything was queued.

        `idle`: the file stopped growing, so a traceback open at the end is complete. `at_end`: the input is over,
        so an unterminated last line is a record too (while following, it may still be being written).
        """
        queued_any = False
        while True:
            handle.seek(state.offset)
            data = handle.read(_READ_BYTES)
            if not data:
                return queued_any
            end = data.rfind(b"\n") + 1
            forced = end == 0 and (at_end or len(data) == _READ_BYTES)
            if end == 0 and not forced:
                return queued_any  # a line still being written
            if forced:
                end = len(data)  # the unterminated last line, or a line longer than the read window
            records = self._records(data[:end], state.offset, close=idle or forced)
            if not records:
                return queued_any
            for start in range(0, len(records), self.batch_records):
                batch = records[start : start + self.batch_records]
                for reason, count in self._push(batch).items():
                    report.failures[reason] = report.failures.get(reason, 0) + count
                state.offset = batch[-1][1]
                self._save(state)
                report.records += len(batch)
            queued_any = True

    def _records(self, data: bytes, base: int, *, close: bool) -> list[tuple[str, int, str]]:
        """(text, offset just past it, producer id) of each complete record in `data`."""
        limit = self.pipeline.settings.max_line_bytes
        records: list[tuple[str, int, str]] = []
        current: list[str] = []
        current_start = base
        position = base
        for raw in data.splitlines(keepends=True):
            line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")[:limit]
            if current and self.fmt == "python" and continues_traceback("\n".join(current), line):
                current.append(line)
            else:
                if current:
                    records.append(self._record(current, current_start, position))
                current, current_start = [line], position
            position += len(raw)
        if current and (close or self.fmt != "python"):
            records.append(self._record(current, current_start, position))
        return [r for r in records if r[0].strip()]

    def _record(self, lines: list[str], start: int, end: int) -> tuple[str, int, str]:
        text = "\n".join(lines).rstrip("\n")
        key = f"{self.path}|{start}|{text}".encode()
        return text, end, hashlib.blake2b(key, digest_size=16).hexdigest()

    def _push(self, batch: list[tuple[str, int, str]]) -> Counter[str]:
        """Queue one batch; the reasons its records will be dead-lettered for."""
        texts = [r[0] for r in batch]
        while True:
            try:
                self.pipeline.push(self.fmt, texts, source=f"file:{self.path}", ids=[r[2] for r in batch])
                return failures(self.fmt, texts)
            except BackpressureError as exc:
                # A tail never skips: wait for the queue to drain below its high-water mark.
                self.sleep(exc.retry_after)
