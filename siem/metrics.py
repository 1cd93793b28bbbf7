"""Pipeline metrics: counters shared by every process (kept in Redis) plus the queue's live state.

Workers run in many processes and hosts, so counts live next to the queue, not in one process's memory;
`PipelineCollector` reads them at scrape time for `/metrics`, and `status()` for `vigil pipeline status`.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from siem.models import PipelineStatus
from siem.pipeline import Pipeline

_COUNTERS = {
    "received": "Events accepted into the queue.",
    "rejected": "Events refused with 429 above the high-water mark.",
    "indexed": "Events indexed into Elasticsearch.",
    "duplicates": "Redelivered events Elasticsearch already had (409), suppressed.",
    "dead_lettered": "Records written to the dead letter.",
    "syslog_dropped": "Syslog messages dropped before the queue (oversized, bad framing, UDP buffer full).",
}


def status(pipeline: Pipeline) -> PipelineStatus:
    stream = pipeline.stream
    stats = stream.stats()
    return PipelineStatus(
        **{name: stats.get(name, 0) for name in _COUNTERS},
        queue_depth=stream.depth(),
        pending_entries=stream.pending(),
        oldest_pending_seconds=round(stream.oldest_age_seconds(), 3),
        last_lag_seconds=stats.get("last_lag_ms", 0) / 1000,
        high_water_mark=pipeline.settings.high_water_mark,
    )


class PipelineCollector(Collector):
    """Prometheus view of `status()`; register it on a registry served at /metrics."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        try:
            current = status(self.pipeline)
        except (redis.RedisError, OSError):
            # A scrape must not fail with the queue: report it down, the rest of /metrics still answers.
            yield GaugeMetricFamily("vigil_siem_queue_up", "Whether the Redis queue answered the scrape.", value=0)
            return
        yield GaugeMetricFamily("vigil_siem_queue_up", "Whether the Redis queue answered the scrape.", value=1)
        for name, help_text in _COUNTERS.items():
            yield CounterMetricFamily(f"vigil_siem_events_{name}", help_text, value=getattr(current, name))
        gauges = {
            "queue_depth_events": ("Events queued and not yet acknowledged.", current.queue_depth),
            "pending_entries": ("Stream entries delivered and not yet acknowledged.", current.pending_entries),
            "oldest_pending_seconds": ("Age of the oldest unacknowledged entry.", current.oldest_pending_seconds),
            "lag_seconds": ("Queue-to-indexed delay of the last batch (end-to-end lag).", current.last_lag_seconds),
            "high_water_mark_events": ("Queue depth above which ingest answers 429.", current.high_water_mark),
        }
        for name, (help_text, value) in gauges.items():
            yield GaugeMetricFamily(f"vigil_siem_{name}", help_text, value=value)
