"""Pure parts of the console: charts, period and filter parsing, redirects, CSRF tokens, flattening."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from detections import AlertStatus, Level
from evidence import Engagement
from siem.activity import TimeSeries, _counts, bucket_size
from tests.fixtures.edgeauth import EdgeAuthHarness
from vigil.console.analyst import queue_filter
from vigil.console.auditor import control_period, day
from vigil.console.charts import nice_ceiling, stacked_bars
from vigil.console.errors import ConsoleError, FormRejected
from vigil.console.pages import flatten, moment, when
from vigil.console.session import Sessions
from vigil.console.settings import ConsoleSettings
from vigil.console.signin import safe_next
from vigil.console.store import SessionStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def series(counts: dict[str, list[int]]) -> TimeSeries:
    n = len(next(iter(counts.values()), []))
    return TimeSeries(
        start=T0, bucket=timedelta(hours=3), buckets=[T0 + timedelta(hours=3 * i) for i in range(n)], counts=counts
    )


def test_nice_ceiling_is_the_next_1_2_5_step() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 2, 3, 6, 11, 99, 101, 4000)] == [1, 1, 2, 5, 10, 20, 100, 200, 5000]


@given(st.integers(min_value=1, max_value=10**9))
def test_nice_ceiling_bounds_the_value(value: int) -> None:
    top = nice_ceiling(value)
    assert value <= top < value * 5


def test_stacked_bars_are_valid_svg_with_one_rect_per_nonzero_count() -> None:
    svg = stacked_bars(series({"high": [1, 0, 2], "<script>": [0, 3, 0]}), title="Alerts & co", order=["high"])
    root = ET.fromstring(str(svg))  # noqa: S314 - our own chart markup
    rects = [
        r
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if r.find("{http://www.w3.org/2000/svg}title") is not None
    ]
    assert len(rects) == 3
    assert "<script>" not in str(svg)
    assert root.attrib["role"] == "img"
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None
    assert title.text == "Alerts & co: high 3, <script> 3"


def test_an_empty_chart_still_renders() -> None:
    svg = str(stacked_bars(series({}), title="Nothing"))
    assert "no data" in svg
    ET.fromstring(svg)  # noqa: S314 - our own chart markup


def test_histogram_buckets_land_in_their_slots() -> None:
    buckets = [T0 + timedelta(hours=3 * i) for i in range(4)]
    body = {
        "aggregations": {
            "split": {
                "buckets": [
                    {
                        "key": "access",
                        "time": {"buckets": [{"key": int(buckets[2].timestamp() * 1000), "doc_count": 7}]},
                    },
                    {"key": "auth", "time": {"buckets": [{"key": 1, "doc_count": 9}]}},
                ]
            }
        }
    }
    assert _counts(body, buckets) == {"access": [0, 0, 7, 0], "auth": [0, 0, 0, 0]}
    assert _counts({}, buckets) == {}
    assert bucket_size(7) == timedelta(hours=3)
    assert bucket_size(1) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/console"),
        ("/console/alerts?status=new", "/console/alerts?status=new"),
        ("https://evil.example/", "/console"),
        ("//evil.example/console/", "/console"),
        ("/console//evil.example", "/console"),
        ("/console/\\evil", "/console"),
        ("/detections/alerts", "/console"),
    ],
)
def test_only_console_paths_are_followed_after_sign_in(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


@given(st.text(max_size=200))
def test_safe_next_never_leaves_the_console(target: str) -> None:
    result = safe_next(target)
    assert result == "/console" or (result.startswith("/console/") and "//" not in result)


def test_queue_filter_reads_the_form() -> None:
    flt = queue_filter(
        {
            "status": ["new"],
            "level": ["high"],
            "since": "2026-03-01T10:00",
            "q": "scanner",
            "sort": "count",
            "page": "3",
        },
        50,
    )
    assert flt.status == [AlertStatus.NEW]
    assert flt.level == [Level.HIGH]
    assert flt.since == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert flt.text == "scanner"
    assert flt.offset == 100
    for bad in ({"page": "0"}, {"page": "x"}, {"level": ["loud"]}, {"sort": "rank"}, {"until": "tomorrow"}):
        with pytest.raises(FormRejected):
            queue_filter(bad, 50)


def test_moments_without_a_zone_are_utc() -> None:
    assert moment("2026-03-01T10:00") == "2026-03-01T10:00:00+00:00"
    assert moment("2026-03-01T10:00+02:00") == "2026-03-01T10:00:00+02:00"
    assert moment("") is None


def test_control_period_stays_inside_the_engagement() -> None:
    engagement = Engagement(start=T0, end=T0 + timedelta(days=30))
    assert control_period(engagement, None, None).start == T0
    inside = control_period(engagement, T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert inside.end == T0 + timedelta(days=2)
    with pytest.raises(ConsoleError) as refused:
        control_period(engagement, T0 - timedelta(days=1), None)
    assert refused.value.status_code == 403
    with pytest.raises(FormRejected):
        control_period(None, T0, T0 - timedelta(days=1))
    unbounded = control_period(None, None, None)
    assert unbounded.end - unbounded.start == timedelta(days=30)
    assert day("2026-03-01", "from") == T0
    with pytest.raises(FormRejected):
        day("March", "from")


def test_flatten_and_when() -> None:
    assert flatten({"source": {"ip": "192.0.2.1"}, "tags": ["a"], "empty": {}}) == {
        "source.ip": "192.0.2.1",
        "tags": ["a"],
        "empty": {},
    }
    assert flatten("scalar") == {}
    assert when("2026-03-01T10:00:00Z") == "2026-03-01 10:00:00 UTC"
    assert when(None) == "—"
    assert when("garbage") == "garbage"


def sessions_keyed(edge_auth: EdgeAuthHarness, key: bytes) -> Sessions:
    """CSRF needs no Redis: the store's client is never connected here."""
    store = SessionStore(redis.Redis(port=1), "pure", lambda: b"s" * 32, idle_seconds=60, absolute_seconds=300)
    return Sessions(edge_auth.verifier, ConsoleSettings(), store, lambda: key)


def test_csrf_tokens_are_bound_to_their_session(edge_auth: EdgeAuthHarness) -> None:
    sessions = sessions_keyed(edge_auth, b"k" * 32)
    other = sessions_keyed(edge_auth, b"j" * 32)
    token = sessions.csrf("session:abc")
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    sessions.check_csrf("session:abc", token)
    for binding, supplied in (
        ("session:abd", token),
        ("session:abc", other.csrf("session:abc")),
        ("session:abc", None),
    ):
        with pytest.raises(FormRejected):
            sessions.check_csrf(binding, supplied)


@given(st.binary(max_size=64).map(lambda b: b.hex()), st.text(max_size=80))
def test_no_forged_csrf_passes(edge_auth: EdgeAuthHarness, binding: str, supplied: str) -> None:
    sessions = sessions_keyed(edge_auth, b"fixed-key-for-the-property")
    if supplied != sessions.csrf(binding):
        with pytest.raises(FormRejected):
            sessions.check_csrf(binding, supplied)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_badge_colours_meet_wcag_aa_with_white_text() -> None:
    css = (Path(__file__).resolve().parents[2] / "vigil/console/static/console.css").read_text()
    badges = re.findall(r"\.(?:level|status|outcome)-[\w-]+ \{ background: (#[0-9a-f]{6}); \}", css)
    assert len(badges) == 11
    for colour in badges:
        ratio = 1.05 / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, f"white on {colour}: {ratio:.2f}"
