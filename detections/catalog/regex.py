"""Safety checks for Sigma `|re` values before they reach Elasticsearch.

Lucene compiles a regular expression into an automaton; a pattern with nested unbounded repetition
(`(a+)+`, `(x*)*`) or huge bounded repeats explodes during determinisation, and the same shapes backtrack
catastrophically in Python when events are generated or checked locally. Such patterns are refused at load.
This is the one module that reads the stdlib's parse tree of a pattern (the safety walk and `regex_example`).
"""

from __future__ import annotations

import re
from re import _parser as sre_parse  # the stdlib regex parser, private but stable
from typing import Any

_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)}
_UNBOUNDED = sre_parse.MAXREPEAT


class UnsafeRegexError(ValueError):
    """The pattern is invalid or could blow up matching time or memory."""


def _walk(items: Any, inside_unbounded: bool, max_repeat: int) -> None:
    for op, arg in items:
        if op in _REPEATS:
            low, high, sub = arg
            bound = high if high != _UNBOUNDED else low
            if bound > max_repeat:
                raise UnsafeRegexError(f"repetition bound {bound} exceeds {max_repeat}")
            if high > 1 and inside_unbounded:
                raise UnsafeRegexError("nested repetition (catastrophic backtracking)")
            if high == _UNBOUNDED and _ambiguous_branch(sub):
                raise UnsafeRegexError("repeated alternatives that overlap (catastrophic backtracking)")
            _walk(sub, inside_unbounded or high == _UNBOUNDED, max_repeat)
        elif op is sre_parse.SUBPATTERN:
            _walk(arg[-1], inside_unbounded, max_repeat)
        elif op is sre_parse.BRANCH:
            for branch in arg[1]:
                _walk(branch, inside_unbounded, max_repeat)
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
            raise UnsafeRegexError("lookaround assertions are not supported by Elasticsearch")
        elif op is sre_parse.GROUPREF:
            raise UnsafeRegexError("backreferences are not supported by Elasticsearch")


def _first_literals(items: Any) -> set[int] | None:
    """The literal a sequence must start with, or None when it may start with anything."""
    for op, arg in items:
        if op is sre_parse.LITERAL:
            return {arg}
        if op is sre_parse.SUBPATTERN:
            return _first_literals(arg[-1])
        return None
    return None


def _ambiguous_branch(sub: Any) -> bool:
    """True when a repeated group holds alternatives that can start the same way, like `(a|aa)+`."""
    for op, arg in sub:
        if op is sre_parse.SUBPATTERN:
            return _ambiguous_branch(arg[-1])
        if op is sre_parse.BRANCH:
            seen: set[int] = set()
            for branch in arg[1]:
                first = _first_literals(branch)
                if first is None or first & seen:
                    return True
                seen |= first
    return False


def check_regex(pattern: str, *, max_length: int, max_repeat: int) -> None:
    """Raise `UnsafeRegexError` with the reason when `pattern` may not be used in a rule."""
    if len(pattern) > max_length:
        raise UnsafeRegexError(f"pattern longer than {max_length} characters")
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise UnsafeRegexError(f"invalid pattern: {exc}") from None
    _walk(list(parsed), inside_unbounded=False, max_repeat=max_repeat)


def regex_example(pattern: str) -> str:
    """A short string the (already safety-checked) regex matches in full, for generated test events."""
    return _emit(list(sre_parse.parse(pattern)))


def _emit(items: Any) -> str:
    out = []
    for op, arg in items:
        if op is sre_parse.LITERAL:
            out.append(chr(arg))
        elif op is sre_parse.ANY:
            out.append("a")
        elif op is sre_parse.IN:
            out.append(_in(arg))
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
            low, _high, sub = arg
            out.append(_emit(sub) * max(low, 1))
        elif op is sre_parse.SUBPATTERN:
            out.append(_emit(arg[-1]))
        elif op is sre_parse.BRANCH:
            out.append(_emit(arg[1][0]))
        elif op is sre_parse.AT:
            continue
        else:
            raise UnsafeRegexError(f"regex construct {op} has no generated example")
    return "".join(out)


def _in(items: Any) -> str:
    for op, arg in items:
        if op is sre_parse.LITERAL:
            return chr(arg)
        if op is sre_parse.RANGE:
            return chr(arg[0])
        if op is sre_parse.CATEGORY:
            return {"CATEGORY_DIGIT": "1", "CATEGORY_SPACE": " "}.get(str(arg), "a")
        if op is sre_parse.NEGATE:
            return "~"
    return "a"
