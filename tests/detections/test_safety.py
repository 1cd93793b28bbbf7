"""YAML and regex limits: hostile shapes are refused; ordinary ones pass (property tests)."""

from __future__ import annotations

import contextlib
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from detections.catalog.regex import UnsafeRegexError, check_regex, regex_example
from detections.catalog.yamlsafe import UnsafeYamlError, load_documents

LIMITS = {"max_length": 1000, "max_repeat": 1000}


@pytest.mark.parametrize(
    "pattern", ["(a+)+$", "(x*)*", "((ab)*c)*", "(a|aa)+", "(.*a){2,}", "a{5000}", "(?=x)y", r"(a)\1", "("]
)
def test_catastrophic_or_unsupported_regexes_are_refused(pattern: str) -> None:
    with pytest.raises(UnsafeRegexError):
        check_regex(pattern, **LIMITS)


@pytest.mark.parametrize("pattern", [".{150}", "abc[0-9]+def", "(GET|POST) /x.*", r"\d{3}", "(ab|cd)*"])
def test_ordinary_regexes_pass_and_have_a_matching_example(pattern: str) -> None:
    check_regex(pattern, **LIMITS)
    assert re.fullmatch(pattern, regex_example(pattern))


_SAFE_ATOMS = st.sampled_from(["a", "b", "[0-9]", ".", r"\d", "(ab|cd)", "x"])
_QUANT = st.sampled_from(["", "*", "+", "?", "{2}", "{1,3}"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_SAFE_ATOMS, _QUANT), min_size=1, max_size=8))
def test_flat_patterns_are_accepted_and_examples_match(parts: list[tuple[str, str]]) -> None:
    pattern = "".join(a + q for a, q in parts)
    check_regex(pattern, **LIMITS)
    assert re.fullmatch(pattern, regex_example(pattern)), pattern


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["a", "[a-z]", "(ab)", "."]), st.sampled_from(["*", "+", "{2,}"]), st.sampled_from(["*", "+"]))
def test_nested_unbounded_repetition_is_always_refused(atom: str, inner: str, outer: str) -> None:
    with pytest.raises(UnsafeRegexError):
        check_regex(f"({atom}{inner}){outer}", **LIMITS)


def test_yaml_aliases_are_refused() -> None:
    with pytest.raises(UnsafeYamlError, match="aliases"):
        load_documents("a: &x [1]\nb: *x\n", max_nodes=100, max_depth=10)


def test_yaml_node_and_depth_limits() -> None:
    with pytest.raises(UnsafeYamlError, match="nodes"):
        load_documents("[" + ",".join("1" for _ in range(500)) + "]", max_nodes=100, max_depth=10)
    with pytest.raises(UnsafeYamlError, match="deeper"):
        load_documents("[" * 20 + "]" * 20, max_nodes=1000, max_depth=10)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_escapes_as_an_unexpected_exception(text: str) -> None:
    with contextlib.suppress(UnsafeYamlError, yaml.YAMLError):
        load_documents(text, max_nodes=500, max_depth=16)
