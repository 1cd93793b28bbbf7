"""Canonical JSON is RFC 8785 (JCS): the RFC's own examples, and the former encoding's bytes for what Vigil signed
before (integers, ASCII keys), so bundles made before the change still verify."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence import InvalidEvidenceError, canonical_json


def test_rfc8785_section_3_2_2_example() -> None:
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": '\u20ac$\u000f\nA\'B"\\\\"/',
        "literals": [None, True, False],
    }
    expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    expected += '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    assert canonical_json(value) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_sorts_keys_by_utf16_code_units() -> None:
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    document = json.loads(canonical_json({key: 0 for key in keys}))
    # The emoji is a surrogate pair (0xD83D...): before U+FB33 in UTF-16, after it in code points.
    assert list(document) == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (100.0, "100"),
        (-1.5, "-1.5"),
        (2**53 - 1, "9007199254740991"),
    ],
)
def test_numbers_are_written_as_ecmascript_writes_them(number: float, text: str) -> None:
    assert canonical_json(number) == text.encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53, {1: "x"}, "\ud800", object()])
def test_what_rfc8785_cannot_represent_is_refused(value: Any) -> None:
    with pytest.raises(InvalidEvidenceError):
        canonical_json(value)


ASCII_KEYS = st.text(st.characters(max_codepoint=127), max_size=8)
FORMER = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ASCII_KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(FORMER)
def test_former_bytes_are_unchanged_for_integers_and_ascii_keys(value: Any) -> None:
    former = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert canonical_json(value) == former.encode("utf-8")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip(number: float) -> None:
    assert float(json.loads(canonical_json(number))) == number
