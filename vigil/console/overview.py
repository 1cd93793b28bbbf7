"""The numbers behind the overview charts: alerts over time by severity, events ingested per source.

Two date-histogram aggregations, one over detections' alerts index and one over siem's log indices, each split by
a keyword (the alert level, the event dataset). Missing indices (a fresh install) read as no data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

# Enough buckets to see a shape, few enough to label: about 48 over the chosen span.
TARGET_BUCKETS = 48


@dataclass(frozen=True)
class Series:
    """Counts per time bucket, split by a category (level or dataset)."""

    start: datetime
    bucket: timedelta
    buckets: list[datetime]
    counts: dict[str, list[int]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        return {name: sum(values) for name, values in self.counts.items()}


def bucket_size(days: int) -> timedelta:
    return timedelta(hours=max(1, (days * 24) // TARGET_BUCKETS))


class Overview:
    def __init__(self, es: Elasticsearch, *, alerts_index: str, logs_pattern: str) -> None:
        self.es = es
        self.alerts_index = alerts_index
        self.logs_pattern = logs_pattern

    def alerts_by_level(self, days: int, now: datetime | None = None) -> Series:
        return self._histogram(self.alerts_index, "first_seen", "level", days, now)

    def events_by_source(self, days: int, now: datetime | None = None) -> Series:
        return self._histogram(self.logs_pattern, "event.ingested", "event.dataset", days, now)

    def _histogram(self, index: str, time_field: str, split: str, days: int, now: datetime | None) -> Series:
        size = bucket_size(days)
        step = int(size.total_seconds())
        end = now or datetime.now(UTC)
        # Buckets are aligned to whole multiples of the bucket size, like Elasticsearch's fixed_interval.
        last = datetime.fromtimestamp(int(end.timestamp()) // step * step, UTC)
        count = int(timedelta(days=days) / size)
        start = last - size * (count - 1)
        buckets = [start + size * i for i in range(count)]
        response = self.es.search(
            index=index,
            ignore_unavailable=True,
            allow_no_indices=True,
            size=0,
            query={"range": {time_field: {"gte": start.isoformat(), "lte": end.isoformat()}}},
            aggs={
                "split": {
                    "terms": {"field": split, "size": 20},
                    "aggs": {"time": {"date_histogram": {"field": time_field, "fixed_interval": f"{step}s"}}},
                }
            },
        )
        return Series(start=start, bucket=size, buckets=buckets, counts=_counts(response.body, buckets))


def _counts(body: dict[str, Any], buckets: list[datetime]) -> dict[str, list[int]]:
    position = {int(b.timestamp() * 1000): i for i, b in enumerate(buckets)}
    counts: dict[str, list[int]] = {}
    for term in body.get("aggregations", {}).get("split", {}).get("buckets", []):
        row = [0] * len(buckets)
        for slot in term["time"]["buckets"]:
            i = position.get(int(slot["key"]))
            if i is not None:
                row[i] += int(slot["doc_count"])
        counts[str(term["key"])] = row
    return counts
