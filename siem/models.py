"""Models at siem's boundaries: what ingest answers, what a batch did, dead letters, status, retention."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siem.ecs import Dataset


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReasonCount(_Model):
    reason: str
    count: int


class DeadLetterForecast(_Model):
    """Records of a batch that will end in the dead letter (they do not parse), grouped by reason."""

    dead_letter: int = Field(default=0, description="Records that will go to the dead letter instead of an index.")
    reasons: list[ReasonCount] = Field(default_factory=list, description="The most common reasons, most first.")
    other_reasons: int = Field(default=0, description="Further distinct reasons not listed in `reasons`.")

    def summary(self) -> str:
        """One line per reason, for a CLI: `  3 x exception record field exception.class must be a string`."""
        lines = [f"{r.count:>7} x {r.reason}" for r in self.reasons]
        if self.other_reasons:
            lines.append(f"        (and {self.other_reasons} other reason(s))")
        return "\n".join(lines)


class IngestReceipt(_Model):
    """The answer to an accepted batch: every record is durably queued; `dead_letter` of them will not parse."""

    dataset: Dataset
    format: str
    accepted: int
    entries: list[str] = Field(description="Redis Stream ids of the queued chunks.")
    dead_letter: DeadLetterForecast = Field(default_factory=DeadLetterForecast)


class BatchReport(_Model):
    """What one worker batch did; counts are events."""

    entries: int = 0
    events: int = 0
    indexed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    reclaimed: int = 0
    indices: list[str] = Field(default_factory=list)

    def __add__(self, other: BatchReport) -> BatchReport:
        return BatchReport(
            entries=self.entries + other.entries,
            events=self.events + other.events,
            indexed=self.indexed + other.indexed,
            duplicates=self.duplicates + other.duplicates,
            dead_lettered=self.dead_lettered + other.dead_lettered,
            reclaimed=self.reclaimed + other.reclaimed,
            indices=sorted(set(self.indices) | set(other.indices)),
        )


class DeadLetter(_Model):
    """A record that could not be indexed, kept with its raw text and the reason."""

    id: str
    index: str
    timestamp: datetime
    dataset: str
    format: str
    source: str
    error_type: str
    error_message: str
    original: str
    deliveries: int
    replayed: bool


class PipelineStatus(_Model):
    """Counters shared by every process (kept in Redis) and the live state of the queue."""

    received: int = Field(description="Events accepted into the queue.")
    rejected: int = Field(description="Events refused with 429 above the high-water mark.")
    indexed: int
    duplicates: int = Field(description="Redeliveries Elasticsearch refused as already present (409).")
    dead_lettered: int
    syslog_dropped: int = Field(default=0, description="Syslog messages dropped before reaching the queue.")
    queue_depth: int = Field(description="Events queued and not yet acknowledged.")
    pending_entries: int = Field(description="Stream entries delivered to a worker and not yet acknowledged.")
    oldest_pending_seconds: float
    last_lag_seconds: float = Field(description="Queue-to-indexed delay of the last batch.")
    high_water_mark: int


class RetentionDeletion(_Model):
    """One index deleted by retention: the audit record compliance collects."""

    timestamp: datetime
    index: str
    index_day: str
    retention_days: int
    docs: int
