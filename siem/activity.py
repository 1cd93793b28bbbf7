"""Counts over time for dashboards: documents per time bucket, split by a keyword.

One date-histogram aggregation per series, buckets aligned to whole multiples of their size like Elasticsearch's
`fixed_interval`; missing indices (a fresh install) read as no data. siem draws its events per data set with it
(`Pipeline.ingested_by_dataset`), detections its alerts per level; the console only draws what they return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

# The split keywords are small closed sets (data sets, alert levels); beyond this many values the rest is counted
# in `TimeSeries.folded`, never dropped in silence.
MAX_SPLITS = 50
# Enough buckets to see a shape, few enough to label: about 48 over the chosen span.
TARGET_BUCKETS = 48


@dataclass(frozen=True)
class TimeSeries:
    """Counts per time bucket, split by a category (level or dataset)."""

    start: datetime
    bucket: timedelta
    buckets: list[datetime]
    counts: dict[str, list[int]] = field(default_factory=dict)
    # Documents in split values beyond MAX_SPLITS: counted, not drawn.
    folded: int = 0

    @property
    def totals(self) -> dict[str, int]:
        return {name: sum(values) for name, values in self.counts.items()}


def bucket_size(days: int) -> timedelta:
    return timedelta(hours=max(1, (days * 24) // TARGET_BUCKETS))


def time_histogram(
    es: Elasticsearch, index: str, *, time_field: str, split_field: str, days: int, now: datetime | None = None
) -> TimeSeries:
    """Documents of `index` over the last `days`, per bucket and per value of the keyword `split_field`."""
    size = bucket_size(days)
    step = int(size.total_seconds())
    end = now or datetime.now(UTC)
    # Buckets are aligned to whole multiples of the bucket size, like Elasticsearch's fixed_interval.
    last = datetime.fromtimestamp(int(end.timestamp()) // step * step, UTC)
    count = int(timedelta(days=days) / size)
    start = last - size * (count - 1)
    buckets = [start + size * i for i in range(count)]
    response = es.search(
        index=index,
        ignore_unavailable=True,
        allow_no_indices=True,
        size=0,
        query={"range": {time_field: {"gte": start.isoformat(), "lte": end.isoformat()}}},
        aggs={
            "split": {
                "terms": {"field": split_field, "size": MAX_SPLITS},
                "aggs": {"time": {"date_histogram": {"field": time_field, "fixed_interval": f"{step}s"}}},
            }
        },
    )
    body = response.body
    folded = int(body.get("aggregations", {}).get("split", {}).get("sum_other_doc_count", 0))
    return TimeSeries(start=start, bucket=size, buckets=buckets, counts=_counts(body, buckets), folded=folded)


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


def events_by_dataset(es: Elasticsearch, logs_pattern: str, days: int, now: datetime | None = None) -> TimeSeries:
    """Events ingested per data set (`event.dataset`), by the time siem indexed them (`event.ingested`)."""
    return time_histogram(
        es, logs_pattern, time_field="event.ingested", split_field="event.dataset", days=days, now=now
    )
