"""Canary definitions (`vigil.canary.tiers`): the shipped file, precise one-line errors, and generated files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from celery import Celery
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.canary.runner import register_tasks
from vigil.canary.settings import BurnWindow, CanarySettings
from vigil.canary.tiers import default_definition, load_definitions, parse_definitions, select
from vigil.errors import ConfigurationError
from vigil.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

ENTRY = {
    "name": "gold-orders",
    "tier": "gold",
    "clients": ["acme"],
    "client_id": "canary-gold",
    "scopes": ["orders:read", "ingest:write"],
    "endpoints": ["/api/orders"],
    "interval_seconds": 60,
    "objectives": {"availability_percent": 99.9, "latency_ms": 300},
}


def text(*entries: dict[str, object]) -> str:
    return yaml.safe_dump({"canaries": list(entries)})


def test_the_shipped_file_defines_two_tiers_with_their_own_clients() -> None:
    definitions = load_definitions(CanarySettings(definitions=ROOT / "deploy" / "canaries.yaml"))
    assert [d.tier for d in definitions] == ["premium", "standard"]
    assert len({d.client_id for d in definitions}) == 2
    assert all("ingest:write" in d.scopes for d in definitions)


def test_without_a_file_the_settings_make_one_default_tier() -> None:
    (only,) = load_definitions(CanarySettings(client_id="c1", path="/x", interval_seconds=30))
    assert only == default_definition(CanarySettings(client_id="c1", path="/x", interval_seconds=30))
    assert (only.tier, only.client_id, only.endpoints, only.interval_seconds) == ("default", "c1", ("/x",), 30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tier": "Gold!"}, "canaries.0(gold-orders).tier: String should match pattern"),
        ({"scopes": ["orders:read"]}, "scopes must include ingest:write"),
        ({"objectives": {"availability_percent": 100, "latency_ms": 300}}, "objectives.availability_percent"),
        ({"objectives": {"availability_percent": 99, "latency_ms": 0}}, "objectives.latency_ms"),
        ({"interval_seconds": 1}, "interval_seconds: Input should be greater than or equal to 10"),
        ({"endpoints": []}, "endpoints: Tuple should have at least 1 item"),
        ({"endpoints": ["api/orders"]}, "endpoints.0: String should match pattern"),
        ({"proxy_url": "ftp://x"}, "proxy_url: String should match pattern"),
        ({"secret": "hunter2"}, "secret: Extra inputs are not permitted"),
    ],
)
def test_a_bad_entry_is_one_line_naming_entry_and_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^canaries: ") as raised:
        parse_definitions(text({**ENTRY, **change}))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_names_tiers_and_clients_are_unique() -> None:
    second = {**ENTRY, "name": "gold-search"}
    with pytest.raises(ConfigurationError, match="tier must be unique; repeated: gold"):
        parse_definitions(text(ENTRY, second))


def test_not_yaml_or_not_a_mapping_is_one_line() -> None:
    with pytest.raises(ConfigurationError, match="not valid YAML at line"):
        parse_definitions("canaries: [\n  - {")
    with pytest.raises(ConfigurationError, match="canaries: file: Input should be a valid dictionary"):
        parse_definitions("- just a list")


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read VIGIL_CANARY__DEFINITIONS"):
        load_definitions(CanarySettings(definitions=tmp_path / "absent.yaml"))


def test_select_names_the_defined_tiers() -> None:
    definitions = parse_definitions(text(ENTRY))
    assert select(definitions, "gold") == definitions
    with pytest.raises(ConfigurationError, match="no canary of tier 'silver'; defined tiers: gold"):
        select(definitions, "silver")


def test_a_burn_window_needs_a_shorter_short_window() -> None:
    with pytest.raises(ValueError, match="shorter than the long one"):
        BurnWindow(long_seconds=300, short_seconds=300, factor=2)
    assert BurnWindow(long_seconds=3600, short_seconds=300, factor=14.4).label == "1h/5m"


names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(names, min_size=1, max_size=5, unique=True), st.integers(10, 86400), st.floats(50, 99.999))
def test_generated_valid_files_round_trip(tiers: list[str], interval: int, availability: float) -> None:
    entries = [
        {
            **ENTRY,
            "name": f"{t}-c",
            "tier": t,
            "client_id": f"canary-{t}",
            "interval_seconds": interval,
            "objectives": {"availability_percent": availability, "latency_ms": 100},
        }
        for t in tiers
    ]
    parsed = parse_definitions(text(*entries))
    assert [d.tier for d in parsed] == tiers
    assert all(d.objectives.availability_percent == availability for d in parsed)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c) | st.dictionaries(st.text(max_size=8), c),
        max_leaves=20,
    )
)
def test_arbitrary_documents_parse_or_fail_with_one_line(document: object) -> None:
    problem = ""
    try:
        parse_definitions(yaml.safe_dump({"canaries": document}))
    except ConfigurationError as exc:
        problem = str(exc)
    assert "\n" not in problem


def test_beat_schedules_each_tier_at_its_own_interval(tmp_path: Path) -> None:
    second = {**ENTRY, "name": "silver-orders", "tier": "silver", "client_id": "canary-silver", "interval_seconds": 300}
    file = tmp_path / "canaries.yaml"
    file.write_text(text(ENTRY, second), encoding="utf-8")
    app = Celery("test-canary-beat")
    register_tasks(app, load_settings(home=tmp_path, canary={"enabled": True, "definitions": str(file)}))
    schedule = {name: (entry["schedule"], entry["args"]) for name, entry in app.conf.beat_schedule.items()}
    assert schedule == {
        "vigil-canary-gold-orders": (60.0, ("gold",)),
        "vigil-canary-silver-orders": (300.0, ("silver",)),
    }
    assert "vigil.canary" in app.tasks

    idle = Celery("test-canary-off")
    register_tasks(idle, load_settings(home=tmp_path, canary={"enabled": False, "definitions": str(file)}))
    assert not idle.conf.beat_schedule
