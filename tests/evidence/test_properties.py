"""Property tests of the parsers of hostile input: bundle bytes, entry names, engagement claims, canonical JSON."""

from __future__ import annotations

import json
import struct
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence import EngagementError, EvidenceArchive, EvidenceSettings, engagement_from_claims, verify_bundle
from evidence.bundle.keys import load_public_pem
from evidence.bundle.layout import unsafe_name
from evidence.canonical import canonical_json
from tests.evidence.conftest import SEALER, T0


@pytest.fixture(scope="module")
def stored_bundle(
    es: Elasticsearch, redis_conn: redis.Redis, apply_indices: Callable[..., None]
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """A small uncompressed bundle (stored entries: every data byte is content) and its public keys."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as folder:
        cfg = EvidenceSettings(namespace=namespace, compression_level=0)
        archive = EvidenceArchive(es, redis_conn, cfg, SEALER)
        try:
            apply_indices(namespace, "evidence")
            for day in range(3):
                archive.locker.append(
                    collector="c",
                    collector_version="1",
                    source_system="s",
                    query="q",
                    effective_at=T0 + timedelta(days=day),
                    content=f"content {day}".encode(),
                )
            built = archive.build_bundle(T0, T0 + timedelta(days=5))
            keys = {k.kid: load_public_pem(k.public_key_pem.encode()) for k in archive.public_keys()}
            yield archive.export_bundle(built.info.name, Path(folder)).read_bytes(), keys
        finally:
            for index in (cfg.locker_index, cfg.bundle_index, cfg.content_index, cfg.bundle_file_index):
                es.options(ignore_status=404).indices.delete(index=index)
            for key in redis_conn.scan_iter(match=f"{namespace}:*"):
                redis_conn.delete(key)
            for key in redis_conn.scan_iter(match=f"{namespace}*"):
                redis_conn.delete(key)


def _data_ranges(data: bytes) -> list[range]:
    with tempfile.NamedTemporaryFile(suffix=".zip") as handle:
        handle.write(data)
        handle.flush()
        with zipfile.ZipFile(handle.name) as archive:
            infos = archive.infolist()
    ranges = []
    for info in infos:
        name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
        start = info.header_offset + 30 + name_len + extra_len
        ranges.append(range(start, start + info.compress_size))
    return ranges


@pytest.mark.integration
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_byte_change_in_entry_data_fails_and_nothing_crashes(
    stored_bundle: tuple[bytes, dict[str, Any]], data: st.DataObject
) -> None:
    original, keys = stored_bundle
    position = data.draw(st.integers(0, len(original) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != original[position]))
    mutated = bytearray(original)
    mutated[position] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.zip"
        path.write_bytes(bytes(mutated))
        report = verify_bundle(path, public_keys=keys)
    if any(position in r for r in _data_ranges(original)):
        assert not report.ok, f"a change at byte {position} inside entry data went unnoticed"
    assert all("\n" not in p for p in report.problems)


@pytest.mark.integration
def test_the_unmutated_bundle_verifies(stored_bundle: tuple[bytes, dict[str, Any]]) -> None:
    original, keys = stored_bundle
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.zip"
        path.write_bytes(original)
        assert verify_bundle(path, public_keys=keys).ok


@given(st.text(max_size=60))
def test_unsafe_names_never_escape(name: str) -> None:
    if unsafe_name(name) is None:
        assert not name.startswith("/")
        assert ".." not in name.split("/")
        assert "\\" not in name
        assert Path("/base", name).resolve().is_relative_to("/base")


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\..\\x", "a//b", "./a", "a/"])
def test_known_slip_names_are_unsafe(name: str) -> None:
    assert unsafe_name(name) is not None


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)  # RFC 8785 numbers are doubles: larger integers are refused
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_canonical_json_is_stable_under_reparsing(value: Any) -> None:
    once = canonical_json(value)
    # An RFC 8785 reader takes every number as a double.
    assert canonical_json(json.loads(once, parse_int=float)) == once


@given(st.dictionaries(st.text(max_size=10), _json | st.dictionaries(st.sampled_from(["from", "to"]), _json)))
def test_engagement_claims_parse_or_are_refused(claims: dict[str, Any]) -> None:
    problem = ""
    try:
        engagement = engagement_from_claims(claims)
    except EngagementError as exc:
        problem, engagement = str(exc), None
    assert "\n" not in problem
    if engagement is not None:
        assert engagement.start < engagement.end


def test_engagement_claim_examples() -> None:
    good = engagement_from_claims({"engagement": {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00+01:00"}})
    assert good is not None
    assert good.covers_period(T0.replace(month=1, day=2), T0.replace(month=1, day=3))
    assert not good.covers_period(T0.replace(month=1, day=2), T0.replace(month=2, day=3))
    assert engagement_from_claims({}) is None
    for bad in ({"from": "yesterday", "to": "2026-01-01T00:00:00Z"}, {"from": "2026-01-01T00:00:00"}, "2026"):
        with pytest.raises(EngagementError):
            engagement_from_claims({"engagement": bad})
