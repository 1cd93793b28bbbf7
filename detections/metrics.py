"""Detections metrics for `/metrics`: alert storms per rule, counted in Redis by every worker's cycles.

Storms are rare and each one hides groups behind a single alert, so operators alert on this counter moving.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from detections.engine.state import EngineState


class DetectionsCollector(Collector):
    """Prometheus view of the engine's shared counters; register it on a registry served at /metrics."""

    def __init__(self, state: EngineState) -> None:
        self.state = state

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        try:
            storms = self.state.storms()
        except (redis.RedisError, OSError):
            yield GaugeMetricFamily("vigil_detections_state_up", "Whether the engine state answered the scrape.", 0)
            return
        yield GaugeMetricFamily("vigil_detections_state_up", "Whether the engine state answered the scrape.", 1)
        family = CounterMetricFamily(
            "vigil_detections_alert_storms",
            "Runs of a rule whose groups were folded into one alert-storm alert (more than storm_groups).",
            labels=["rule_id"],
        )
        for rule_id, count in sorted(storms.items()):
            family.add_metric([rule_id], count)
        yield family
