"""Settings of the siem package (`VIGIL_SIEM__<FIELD>` once composed into `VigilSettings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class SiemSettings(BaseModel):
    """Limits and names of the ingestion pipeline; every field has a safe default."""

    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(
        default="vigil",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Names every index, template, alias and Redis key siem creates. From VIGIL_NAMESPACE.",
    )
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest HTTP body, before and after gzip decompression."
    )
    max_line_bytes: int = Field(default=1024 * 1024, ge=256, description="Largest single record in a batch.")
    high_water_mark: int = Field(
        default=200_000, ge=1, description="Queued, not yet indexed events above which ingest answers 429."
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="`Retry-After` sent with a 429.")
    chunk_records: int = Field(default=1000, ge=1, description="Records per Redis Stream entry.")
    batch_max_events: int = Field(default=5000, ge=1, description="A worker batch closes at this many events...")
    batch_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="... or this many raw bytes ...")
    batch_max_age: float = Field(default=1.0, gt=0, description="... or after waiting this many seconds.")
    claim_idle_ms: int = Field(
        default=60_000, ge=100, description="A pending entry idle this long belonged to a dead worker: reclaim it."
    )
    max_deliveries: int = Field(
        default=5, ge=1, description="An entry delivered this many times without success goes to the dead letter."
    )
    es_retry_seconds: float = Field(
        default=20.0, gt=0, description="How long a batch retries 429/5xx/unreachable Elasticsearch before giving up."
    )
    retention_days: int = Field(default=30, ge=1, description="Daily log indices older than this are deleted.")
    deadletter_retention_days: int = Field(default=90, ge=1, description="Dead-letter indices older than this go.")
    wait_replicas: int = Field(
        default=0,
        ge=0,
        description="Replicas that must hold a batch before ingest acknowledges it (Redis WAIT); 0: off.",
    )
    wait_timeout_ms: int = Field(default=2000, ge=1, description="How long ingest waits for those replicas.")
    refresh_interval: str = Field(default="1s", pattern=r"^(-1|\d+(ms|s|m))$")
    pump_seconds: float = Field(
        default=5.0, gt=0, description="How long one Celery pump task drains the stream before returning."
    )
    tail_state_dir: Path = Field(
        default=Path(".vigil/tail"), description="Where `vigil ingest file` persists its read offsets."
    )

    @property
    def stream_key(self) -> str:
        return f"{self.namespace}:siem:stream"

    @property
    def group(self) -> str:
        return f"{self.namespace}-siem-workers"

    @property
    def depth_key(self) -> str:
        return f"{self.namespace}:siem:depth"

    @property
    def stats_key(self) -> str:
        return f"{self.namespace}:siem:stats"
