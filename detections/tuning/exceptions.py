"""Analysts' exceptions in `{namespace}-detections-exceptions`, each stored as the Sigma meta-filter it is.

The document keeps the filter's YAML (what the loader applies, what an analyst can copy into a rule path) next to
who added it, why, until when, and who deleted it: nothing is removed, so the audit trail and "why did this
alert stop?" stay answerable. Every replica reads the same index, so any worker applies the same exceptions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import yaml
from elasticsearch import Elasticsearch, NotFoundError
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from detections.errors import ExceptionNotFoundError
from detections.models import RuleException
from detections.tuning.filters import EXCEPTION, TuningFilter

PAGE = 1000


def sigma_value(value: str) -> str:
    """A literal value in Sigma: its wildcards and escape character escaped, so it matches exactly itself."""
    return value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def filter_yaml(
    exception_id: str, rule: SigmaRule, rule_id: str, match: dict[str, list[str]], reason: str, author: str
) -> str:
    """The SigmaHQ meta-filter of one exception: the rule's log source, `rules: [id]`, `condition: not selection`."""
    document = {
        "title": f"Exception to {rule.title}"[:256],
        "id": exception_id,
        "status": "experimental",
        "description": reason,
        "author": author,
        "logsource": rule.logsource.to_dict(),
        "filter": {
            "rules": [rule_id],
            "selection": {field: [sigma_value(v) for v in values] for field, values in match.items()},
            "condition": "not selection",
        },
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def tuning_filter(exception: RuleException) -> TuningFilter:
    return TuningFilter(
        SigmaFilter.from_yaml(exception.sigma),
        source=f"exception:{exception.id}",
        kind=EXCEPTION,
        author=exception.author,
        reason=exception.reason,
        expires=exception.expires,
        since=exception.created,
    )


def new_id() -> str:
    return str(uuid.uuid4())


class ExceptionStore:
    def __init__(self, es: Elasticsearch, index: str) -> None:
        self.es = es
        self.index = index

    def put(self, exception: RuleException) -> None:
        self.es.index(index=self.index, id=exception.id, document=exception.model_dump(mode="json"), refresh="wait_for")

    def get(self, exception_id: str) -> RuleException:
        try:
            hit = self.es.get(index=self.index, id=exception_id)
        except NotFoundError:
            raise ExceptionNotFoundError(f"no exception with id {exception_id!r}") from None
        return RuleException.model_validate(hit["_source"])

    def all(self, rule_id: str | None = None, *, active_at: datetime | None = None) -> list[RuleException]:
        """Every exception (with `active_at`: only those in force then), oldest first, paged to the end."""
        if not self.es.indices.exists(index=self.index):
            return []
        filters: list[dict[str, Any]] = [{"term": {"rule_id": rule_id}}] if rule_id else []
        if active_at is not None:
            unexpired = {"range": {"expires": {"gt": active_at.isoformat()}}}
            filters.append({"bool": {"should": [unexpired, {"bool": {"must_not": {"exists": {"field": "expires"}}}}]}})
            filters.append({"bool": {"must_not": {"exists": {"field": "deleted_at"}}}})
        query: dict[str, Any] = {"bool": {"filter": filters}}
        out: list[RuleException] = []
        after: list[Any] | None = None
        while True:
            extra: dict[str, Any] = {"search_after": after} if after else {}
            hits = self.es.search(
                index=self.index, query=query, sort=[{"created": "asc"}, {"id": "asc"}], size=PAGE, **extra
            )["hits"]["hits"]
            out.extend(RuleException.model_validate(h["_source"]) for h in hits)
            if len(hits) < PAGE:
                return out
            after = hits[-1]["sort"]

    def active(self, now: datetime) -> list[RuleException]:
        return self.all(active_at=now)
