"""The verifier's streaming read of a manifest's `files` array: the same entries as a full parse, in any window size,
and every deviation from the canonical bytes named, never an exception."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.bundle import verify
from evidence.canonical import canonical_json

ENTRY = st.fixed_dictionaries(
    {"path": st.text(min_size=1, max_size=40), "sha256": st.text(max_size=70), "size": st.integers(0, 10**12)}
)


def stream(region: bytes, window: int) -> tuple[list[tuple[int, Any]], list[str]]:
    state = verify._State()
    original = verify._WINDOW
    verify._WINDOW = window
    try:
        entries = list(verify._stream_files(memoryview(region), state))
    finally:
        verify._WINDOW = original
    return entries, state.problems


def region_of(entries: list[dict[str, Any]]) -> bytes:
    return canonical_json(entries)[1:-1]


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(ENTRY, max_size=12), window=st.integers(1, 300))
def test_canonical_entries_stream_back_whole_in_any_window(entries: list[dict[str, Any]], window: int) -> None:
    streamed, problems = stream(region_of(entries), window)
    assert problems == []
    assert [value for _, value in streamed] == entries
    assert [index for index, _ in streamed] == list(range(len(entries)))


@settings(max_examples=300, deadline=None)
@given(region=st.binary(max_size=300), window=st.integers(1, 64))
def test_any_bytes_are_reported_never_raised(region: bytes, window: int) -> None:
    streamed, problems = stream(region, window)
    if region and not problems:
        # Whatever streamed without complaint is exactly the canonical bytes it came from.
        assert region_of([value for _, value in streamed]) == region


@pytest.mark.parametrize(
    ("region", "problem"),
    [
        (b'{"path":"a","sha256":"x","size":1},', "breaks at entry 1"),
        (b'{"path":"a","sha256":"x","size":1} ,{"path":"b"}', "breaks after entry 0"),
        (b'{"path":"a","sha256":"x","size":1},{"path":', "breaks at entry 1"),
        (b'{"size":1,"path":"a"}', "not in canonical form"),
        (b'{"path":"a", "size":1}', "not in canonical form"),
    ],
)
def test_deviations_are_named(region: bytes, problem: str) -> None:
    for window in (3, 64 * 1024):
        _, problems = stream(region, window)
        assert any(problem in p for p in problems), (window, problems)
