"""Counts of canary probes per tier and window: the one question burn-rate alerting asks of the `canary` dataset.

The canary (`vigil.canary`) pushes one `CanaryRecord` per probe (`siem.parsers.canary`); burn-rate alerting asks
here, of the owner of the index, rather than querying its fields itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from elasticsearch import Elasticsearch
from pydantic import BaseModel, ConfigDict, Field

from siem.ecs import rfc3339
from siem.settings import SiemSettings
from siem.templates import IndexLayout


class ProbeCounts(BaseModel):
    """Probes of one tier in one window: all of them, the failed ones, and the slow ones among the good."""

    model_config = ConfigDict(frozen=True)

    tier: str
    total: int = Field(ge=0)
    failed: int = Field(ge=0)
    slow: int = Field(ge=0)


def probe_counts(
    es: Elasticsearch, settings: SiemSettings, tiers: Sequence[str], start: datetime, end: datetime
) -> dict[str, ProbeCounts]:
    """Counts per tier of canary probes with `@timestamp` in [start, end); a tier without probes counts zero.

    One `filters` aggregation per call (one bucket per tier asked for), so nothing is folded away.
    """
    layout = IndexLayout(settings)
    buckets = {tier: {"term": {"vigil.canary.tier": tier}} for tier in tiers}
    response = es.search(
        index=layout.dataset_pattern("canary"),
        ignore_unavailable=True,
        allow_no_indices=True,
        size=0,
        query={"range": {"@timestamp": {"gte": rfc3339(start), "lt": rfc3339(end)}}},
        aggs={
            "tiers": {
                "filters": {"filters": buckets},
                "aggs": {
                    "failed": {"filter": {"term": {"event.outcome": "failure"}}},
                    "slow": {
                        "filter": {
                            "bool": {
                                "filter": [
                                    {"term": {"event.outcome": "success"}},
                                    {"term": {"vigil.canary.slow": True}},
                                ]
                            }
                        }
                    },
                },
            }
        },
    )
    found = response.body.get("aggregations", {}).get("tiers", {}).get("buckets", {})
    out: dict[str, ProbeCounts] = {}
    for tier in tiers:
        bucket = found.get(tier, {})
        out[tier] = ProbeCounts(
            tier=tier,
            total=int(bucket.get("doc_count", 0)),
            failed=int(bucket.get("failed", {}).get("doc_count", 0)),
            slow=int(bucket.get("slow", {}).get("doc_count", 0)),
        )
    return out
