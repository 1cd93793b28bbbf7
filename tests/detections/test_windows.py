"""Window planning and sliding correlation windows (pure logic)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from detections.catalog.compiled import Correlation, Part
from detections.engine.correlation import Bucket, slide
from detections.engine.windows import is_due, plan_windows

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


@given(
    st.integers(min_value=0, max_value=10 * 86_400),
    st.integers(min_value=1, max_value=7200),
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=0, max_value=120),
)
def test_windows_are_contiguous_bounded_and_never_pass_now_minus_delay(
    behind: int, max_window: int, max_windows: int, delay: int
) -> None:
    checkpoint = NOW - timedelta(seconds=behind)
    windows = plan_windows(
        checkpoint,
        NOW,
        delay=timedelta(seconds=delay),
        initial_lookback=timedelta(hours=1),
        max_window=timedelta(seconds=max_window),
        max_windows=max_windows,
    )
    assert len(windows) <= max_windows
    if windows:
        assert windows[0].start == checkpoint
        assert windows[-1].end <= NOW - timedelta(seconds=delay)
    for a, b in itertools.pairwise(windows):
        assert a.end == b.start  # no gap, no overlap
    for w in windows:
        assert timedelta(0) < w.end - w.start <= timedelta(seconds=max_window)
    caught_up = not windows or windows[-1].end == NOW - timedelta(seconds=delay)
    assert caught_up or len(windows) == max_windows


def test_first_run_starts_from_the_initial_lookback() -> None:
    windows = plan_windows(
        None,
        NOW,
        delay=timedelta(seconds=15),
        initial_lookback=timedelta(minutes=10),
        max_window=timedelta(hours=1),
        max_windows=5,
    )
    assert [(w.start, w.end) for w in windows] == [
        (NOW - timedelta(minutes=10, seconds=15), NOW - timedelta(seconds=15))
    ]


def test_is_due() -> None:
    assert is_due(None, NOW, timedelta(seconds=60))
    assert not is_due(NOW - timedelta(seconds=30), NOW, timedelta(seconds=60))
    assert is_due(NOW - timedelta(seconds=60), NOW, timedelta(seconds=60))


def _corr(kind: str, count: int, timespan: int = 60) -> Correlation:
    parts = (Part("a", "a", "access", "x"), Part("b", "b", "exception", "y"))
    return Correlation(kind, timespan, ("source.ip",), "gte", count, "f" if kind == "value_count" else None, parts)


def _bucket(second: int, count: int = 1, values: set[str] | None = None, parts: set[str] | None = None) -> Bucket:
    start = NOW + timedelta(seconds=second)
    hit = {"_id": f"e{second}", "_source": {"@timestamp": start.isoformat()}}
    return Bucket(start, count, start, start, values or set(), parts or set(), [hit])


STEP = timedelta(seconds=10)


def test_event_count_fires_on_a_burst_straddling_fixed_windows() -> None:
    # 3 events at 50s, 3 at 70s: a fixed 60s grid splits them 3/3, the sliding window sees 6
    firings = slide(_corr("event_count", 6), "g", [_bucket(50, 3), _bucket(70, 3)], STEP)
    assert len(firings) == 1
    assert firings[0].measure == 6
    assert firings[0].first_seen == NOW + timedelta(seconds=50)


def test_event_count_does_not_fire_when_spread_wider_than_the_timespan() -> None:
    assert slide(_corr("event_count", 6), "g", [_bucket(0, 3), _bucket(60, 3)], STEP) == []


def test_overlapping_firing_windows_become_one_firing() -> None:
    buckets = [_bucket(s, 2) for s in range(0, 200, 10)]
    firings = slide(_corr("event_count", 4), "g", buckets, STEP)
    assert len(firings) == 1
    assert firings[0].count == 40  # events, not samples
    assert len(firings[0].events(100)) == 20
    assert len(firings[0].events(5)) == 5
    assert firings[0].first_seen == NOW
    assert firings[0].last_seen == NOW + timedelta(seconds=190)


def test_value_count_counts_distinct_values_across_buckets() -> None:
    buckets = [_bucket(0, values={"a", "b"}), _bucket(20, values={"b", "c"}), _bucket(40, values={"d"})]
    assert slide(_corr("value_count", 4), "g", buckets, STEP)[0].measure == 4
    assert slide(_corr("value_count", 5), "g", buckets, STEP) == []


def test_temporal_needs_every_rule_within_the_timespan() -> None:
    together = [_bucket(0, parts={"a"}), _bucket(30, parts={"b"})]
    apart = [_bucket(0, parts={"a"}), _bucket(120, parts={"b"})]
    assert len(slide(_corr("temporal", 2), "g", together, STEP)) == 1
    assert slide(_corr("temporal", 2), "g", apart, STEP) == []
