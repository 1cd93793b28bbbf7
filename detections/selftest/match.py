"""A local Sigma matcher over ECS documents: checks that a generated event really satisfies its rule.

It reads pySigma's parsed condition (fields and values after modifiers) with Sigma's semantics: strings are
case-insensitive glob patterns, field-less keywords match anywhere in the keyword fields, `null` means absent.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from detections.conversion.ecs import KEYWORD_FIELDS, map_field
from detections.engine.events import source_value

Doc = dict[str, Any]


class Unsupported(Exception):
    """The rule uses a construct the local matcher or generator does not model."""


def glob_regex(value: SigmaString) -> str:
    out = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        elif isinstance(part, str):
            out.append(re.escape(part))
        else:
            raise Unsupported("placeholders are not supported")
    return "".join(out)


def value_matches(actual: Any, value: Any) -> bool:
    if isinstance(value, SigmaNull):
        return actual is None
    if isinstance(value, SigmaExists):
        return (actual is not None) == bool(value.exists)
    if actual is None:
        return False
    if isinstance(actual, list):
        return any(value_matches(a, value) for a in actual)
    if isinstance(value, SigmaNumber):
        try:
            return float(actual) == float(value.number)
        except (TypeError, ValueError):
            return False
    if isinstance(value, SigmaBool):
        return bool(actual) == value.boolean
    if isinstance(value, SigmaRegularExpression):
        return re.fullmatch(value.regexp.to_plain(), str(actual), re.IGNORECASE | re.DOTALL) is not None
    if isinstance(value, SigmaString):
        flags = re.DOTALL if isinstance(value, SigmaCasedString) else re.IGNORECASE | re.DOTALL
        return re.fullmatch(glob_regex(value), str(actual), flags) is not None
    raise Unsupported(f"value type {type(value).__name__}")


def matches(node: Any, doc: Doc, dataset: str) -> bool:
    if isinstance(node, ConditionAND):
        return all(matches(a, doc, dataset) for a in node.args)
    if isinstance(node, ConditionOR):
        return any(matches(a, doc, dataset) for a in node.args)
    if isinstance(node, ConditionNOT):
        return not matches(node.args[0], doc, dataset)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        try:
            field = map_field(node.field, dataset)
        except KeyError:
            raise Unsupported(f"field {node.field} is not indexed") from None
        return value_matches(source_value(doc, field), node.value)
    if isinstance(node, ConditionValueExpression):
        value = node.value
        if isinstance(value, SigmaString) and not value.startswith(SpecialChars.WILDCARD_MULTI):
            value = SpecialChars.WILDCARD_MULTI + value
        if isinstance(value, SigmaString) and not value.endswith(SpecialChars.WILDCARD_MULTI):
            value = value + SpecialChars.WILDCARD_MULTI
        return any(value_matches(source_value(doc, f), value) for f in KEYWORD_FIELDS[dataset])
    raise Unsupported(f"condition node {type(node).__name__}")
