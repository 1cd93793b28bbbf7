"""Which Sigma meta-filters apply to which rule, and applying them to a copy of the rule.

pySigma's `SigmaFilter.apply_on_rule` rewrites the rule it is given (and the Lucene conversion rewrites it
again), so the loader only ever hands it deep copies: the parsed originals stay pristine for the next
recompilation, when an exception is added, expires or is deleted.
"""

from __future__ import annotations

import hashlib
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaRuleNotFoundError
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

#: Where a filter came from: a file among the rule paths, or an analyst's exception (stored in Elasticsearch).
FILE, EXCEPTION = "file", "exception"


@dataclass(frozen=True)
class TuningFilter:
    """One meta-filter with what analysts are shown about it."""

    filter: SigmaFilter
    source: str
    kind: str = FILE
    author: str | None = None
    reason: str | None = None
    expires: datetime | None = None
    since: datetime | None = None  # when an exception was added: runs before it were not tuned by it

    @property
    def id(self) -> str:
        if self.filter.id is not None:
            return str(self.filter.id)
        return hashlib.sha256(f"{self.source}:{self.filter.title}".encode()).hexdigest()[:32]

    @property
    def title(self) -> str:
        return str(self.filter.title)


def applies(tuning: TuningFilter, rule: SigmaRule) -> bool:
    """The filter's log source covers the rule's and its `rules:` names the rule (by id or name) or is `any`."""
    spec = tuning.filter
    if rule.logsource not in spec.logsource:
        return False
    named = spec.filter.rules
    if isinstance(named, str):
        return named.lower() == "any"
    probe = SigmaCollection([rule], resolve_references=False)
    for reference in named:
        try:
            probe[reference.reference]
        except SigmaRuleNotFoundError:
            continue
        return True
    return False


def names(tuning: TuningFilter) -> list[str]:
    named = tuning.filter.filter.rules
    return [named] if isinstance(named, str) else [r.reference for r in named]


def filtered(rule: SigmaRule, filters: list[TuningFilter]) -> SigmaRule:
    """A copy of `rule` with every filter's condition and-ed in; neither the rule nor a filter is changed."""
    copy = deepcopy(rule)
    for tuning in filters:
        deepcopy(tuning.filter).apply_on_rule(copy)
    return copy
