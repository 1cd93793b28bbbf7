"""Alerts in `{prefix}-alerts`: grouping repeat matches into one open alert, reading and filtering.

Elasticsearch here has no scripting, so merges are read-modify-write guarded by `if_seq_no`/`if_primary_term`.
Alert ids are derived from the rule, the group key and the first matched event, so a window processed twice
(or two overlapping correlation windows) lands on the same alert instead of a new one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ConflictError as EsConflictError
from elasticsearch import Elasticsearch, NotFoundError, helpers

from detections.alerts.index import ALERT_MAPPINGS, LEVEL_RANK, ensure_index
from detections.errors import AlertNotFoundError, ConflictError
from detections.models import Alert, AlertFilter, AlertPage, AlertStatus, EventSnapshot, Level, RuleInfo

OPEN = [AlertStatus.NEW.value, AlertStatus.ACKNOWLEDGED.value]
LOOKUP_CHUNK = 1000


@dataclass
class Candidate:
    """What one run found for one rule and one group key."""

    rule: RuleInfo
    group_key: str
    first_seen: datetime
    last_seen: datetime
    events: list[EventSnapshot]
    suppress_seconds: int
    summary: str = ""
    category: str = "detection"
    extra_count: int = 0  # matches beyond the listed events (hit cap)
    dataset: str = field(default="")


def alert_id(rule_id: str, group_key: str, anchor: str) -> str:
    return hashlib.sha256(f"{rule_id}\x1f{group_key}\x1f{anchor}".encode()).hexdigest()[:40]


def to_document(alert: Alert) -> dict[str, Any]:
    doc = alert.model_dump(mode="json")
    doc["level_rank"] = LEVEL_RANK[alert.level]
    return doc


def from_hit(hit: dict[str, Any]) -> Alert:
    source = dict(hit["_source"])
    source.pop("level_rank", None)
    return Alert.model_validate(source)


def _adds_nothing(source: dict[str, Any], c: Candidate) -> bool:
    """The cheap check, before parsing the stored alert, that a candidate only repeats what it holds."""
    known = set(source.get("event_ids", []))
    return (
        all(e.id in known for e in c.events)
        and datetime.fromisoformat(source["first_seen"]) <= c.first_seen
        and datetime.fromisoformat(source["last_seen"]) >= c.last_seen
    )


class AlertStore:
    def __init__(self, es: Elasticsearch, index: str, *, max_event_ids: int) -> None:
        self.es = es
        self.index = index
        self.max_event_ids = max_event_ids

    def ensure(self) -> None:
        ensure_index(self.es, self.index, ALERT_MAPPINGS)

    # -- writing -----------------------------------------------------------------------------------------------

    def _open_alerts(self, candidates: list[Candidate]) -> list[dict[str, Any] | None]:
        """For each candidate, its rule's latest open alert of the same group key still inside the suppression
        span, found with one search per chunk of candidates (not one per candidate)."""
        found: list[dict[str, Any] | None] = []
        for offset in range(0, len(candidates), LOOKUP_CHUNK):
            chunk = candidates[offset : offset + LOOKUP_CHUNK]
            response = self.es.search(
                index=self.index,
                size=10_000,
                seq_no_primary_term=True,
                sort=[{"last_seen": "desc"}],
                query={
                    "bool": {
                        "filter": [
                            {"terms": {"rule_id": sorted({c.rule.id for c in chunk})}},
                            {"terms": {"group_key": sorted({c.group_key for c in chunk})}},
                            {"terms": {"status": OPEN}},
                        ]
                    }
                },
            )
            latest: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for hit in response["hits"]["hits"]:
                source = hit["_source"]
                latest.setdefault((source["rule_id"], source["group_key"]), []).append(dict(hit))
            for c in chunk:
                oldest_allowed = c.first_seen - timedelta(seconds=c.suppress_seconds)
                hits = [
                    h
                    for h in latest.get((c.rule.id, c.group_key), [])
                    if datetime.fromisoformat(h["_source"]["last_seen"]) >= oldest_allowed
                ]
                found.append(hits[0] if hits else None)
        return found

    def _merge(self, alert: Alert, c: Candidate, now: datetime) -> bool:
        """Fold the candidate into the alert; False when it adds nothing (an overlapping window)."""
        known = set(alert.event_ids)
        fresh = [e for e in c.events if e.id not in known]
        if not fresh and c.first_seen >= alert.first_seen and c.last_seen <= alert.last_seen:
            return False
        alert.count += len(fresh) + c.extra_count
        alert.first_seen = min(alert.first_seen, c.first_seen)
        alert.last_seen = max(alert.last_seen, c.last_seen)
        room = self.max_event_ids - len(alert.event_ids)
        alert.event_ids.extend(e.id for e in fresh[: max(room, 0)])
        alert.events.extend(fresh[: max(room, 0)])
        alert.updated = now
        return True

    def _new(self, c: Candidate, now: datetime) -> Alert:
        ordered = sorted(c.events, key=lambda e: (e.timestamp or c.first_seen, e.id))
        anchor = ordered[0].id if ordered else c.first_seen.isoformat()
        kept = ordered[: self.max_event_ids]
        return Alert(
            id=alert_id(c.rule.id, c.group_key, anchor),
            rule_id=c.rule.id,
            rule_title=c.rule.title,
            level=c.rule.level,
            category=c.category,
            tags=c.rule.tags,
            attack=c.rule.attack,
            dataset=c.dataset or c.rule.dataset,
            group_key=c.group_key,
            first_seen=c.first_seen,
            last_seen=c.last_seen,
            created=now,
            updated=now,
            count=len(c.events) + c.extra_count,
            event_ids=[e.id for e in kept],
            events=kept,
            summary=c.summary,
        )

    @staticmethod
    def _combine(candidates: list[Candidate]) -> tuple[list[Candidate], list[int]]:
        """Fold candidates of one rule and group key (catch-up windows of one cycle) into one."""
        merged: dict[tuple[str, str], Candidate] = {}
        slots: list[int] = []
        order: list[tuple[str, str]] = []
        for c in candidates:
            key = (c.rule.id, c.group_key)
            if key not in merged:
                merged[key] = Candidate(**{**c.__dict__, "events": list(c.events)})
                order.append(key)
            else:
                into = merged[key]
                known = {e.id for e in into.events}
                into.events.extend(e for e in c.events if e.id not in known)
                into.first_seen = min(into.first_seen, c.first_seen)
                into.last_seen = max(into.last_seen, c.last_seen)
                into.extra_count += c.extra_count
            slots.append(order.index(key))
        return [merged[k] for k in order], slots

    def record(self, candidates: list[Candidate], now: datetime) -> list[int]:
        """Create or update one alert per candidate; 1 for each candidate that created or changed an alert."""
        if not candidates:
            return []
        self.ensure()
        combined, slots = self._combine(candidates)
        changed = [0] * len(combined)
        actions: list[dict[str, Any]] = []
        action_slots: list[int] = []
        for index, (candidate, hit) in enumerate(zip(combined, self._open_alerts(combined), strict=True)):
            if hit is None:
                alert = self._new(candidate, now)
                actions.append(
                    {"_op_type": "create", "_index": self.index, "_id": alert.id, "_source": to_document(alert)}
                )
            else:
                if _adds_nothing(hit["_source"], candidate):
                    continue
                alert = from_hit(hit)
                if not self._merge(alert, candidate, now):
                    continue
                actions.append(
                    {
                        "_op_type": "index",
                        "_index": self.index,
                        "_id": alert.id,
                        "if_seq_no": hit["_seq_no"],
                        "if_primary_term": hit["_primary_term"],
                        "_source": to_document(alert),
                    }
                )
            action_slots.append(index)
        results = helpers.streaming_bulk(
            self.es, actions, raise_on_error=False, raise_on_exception=False, chunk_size=500
        )
        for slot, action, (ok, item) in zip(action_slots, actions, results, strict=True):
            if ok:
                changed[slot] = 1
            elif next(iter(item.values())).get("status") == 409:
                # raced with another writer, or the id exists already: merge into the stored alert one at a time
                current = dict(self.es.get(index=self.index, id=action["_id"]))
                changed[slot] = self._record_one(combined[slot], current, now)
            else:
                raise ConflictError(f"alert write failed: {next(iter(item.values())).get('error')}")
        self.es.indices.refresh(index=self.index)
        reported: set[int] = set()
        per_candidate = []
        for slot in slots:  # credit each changed alert once, to the first candidate that fed it
            per_candidate.append(changed[slot] if slot not in reported else 0)
            reported.add(slot)
        return per_candidate

    def _record_one(self, c: Candidate, hit: dict[str, Any] | None, now: datetime) -> int:
        for _ in range(3):
            if hit is None:
                alert = self._new(c, now)
                try:
                    self.es.create(index=self.index, id=alert.id, document=to_document(alert))
                    return 1
                except EsConflictError:
                    hit = dict(self.es.get(index=self.index, id=alert.id))
            alert = from_hit(hit)
            if not self._merge(alert, c, now):
                return 0
            try:
                self.es.index(
                    index=self.index,
                    id=alert.id,
                    document=to_document(alert),
                    if_seq_no=hit["_seq_no"],
                    if_primary_term=hit["_primary_term"],
                )
                return 1
            except EsConflictError:
                hit = dict(self.es.get(index=self.index, id=alert.id))
        raise ConflictError(f"alert {c.rule.id}/{c.group_key} kept changing while being updated")

    # -- reading -----------------------------------------------------------------------------------------------

    def get_hit(self, alert_id_: str) -> dict[str, Any]:
        try:
            return dict(self.es.get(index=self.index, id=alert_id_))
        except NotFoundError:
            raise AlertNotFoundError(f"no alert with id {alert_id_!r}") from None

    def get(self, alert_id_: str) -> Alert:
        return from_hit(self.get_hit(alert_id_))

    def save(self, alert: Alert, hit: dict[str, Any]) -> None:
        try:
            self.es.index(
                index=self.index,
                id=alert.id,
                document=to_document(alert),
                if_seq_no=hit["_seq_no"],
                if_primary_term=hit["_primary_term"],
                refresh="wait_for",
            )
        except EsConflictError:
            raise ConflictError(f"alert {alert.id} was changed by someone else; reload and retry") from None

    def search(self, flt: AlertFilter) -> AlertPage:
        filters: list[dict[str, Any]] = []
        if flt.status:
            filters.append({"terms": {"status": [s.value for s in flt.status]}})
        if flt.level:
            filters.append({"terms": {"level": [level.value for level in flt.level]}})
        if flt.rule_id:
            filters.append({"term": {"rule_id": flt.rule_id}})
        if flt.category:
            filters.append({"term": {"category": flt.category}})
        if flt.since or flt.until:
            bounds: dict[str, str] = {}
            if flt.since:
                bounds["gte"] = flt.since.isoformat()
            if flt.until:
                bounds["lte"] = flt.until.isoformat()
            filters.append({"range": {"last_seen": bounds}})
        must: list[dict[str, Any]] = []
        if flt.text:
            # simple_query_string never fails on syntax, so analyst text cannot break the query
            must.append(
                {
                    "simple_query_string": {
                        "query": flt.text,
                        "fields": ["rule_title", "summary", "group_key.text", "rule_id", "assignee"],
                        "default_operator": "and",
                        "lenient": True,
                    }
                }
            )
        sort_field = "level_rank" if flt.sort == "level" else flt.sort
        if not self.es.indices.exists(index=self.index):
            return AlertPage(total=0, alerts=[])
        response = self.es.search(
            index=self.index,
            query={"bool": {"filter": filters, "must": must}},
            sort=[{sort_field: flt.order}, {"id": "asc"}],
            from_=flt.offset,
            size=flt.limit,
            track_total_hits=True,
        )
        hits = response["hits"]["hits"]
        return AlertPage(total=int(response["hits"]["total"]["value"]), alerts=[from_hit(h) for h in hits])

    def all_resolved(self, since: datetime | None, levels: list[Level] | None = None) -> list[Alert]:
        """Resolved alerts (bounded scan) for triage statistics."""
        if not self.es.indices.exists(index=self.index):
            return []
        filters: list[dict[str, Any]] = [{"term": {"status": AlertStatus.RESOLVED.value}}]
        if since:
            filters.append({"range": {"resolved_at": {"gte": since.isoformat()}}})
        if levels:
            filters.append({"terms": {"level": [level.value for level in levels]}})
        response = self.es.search(index=self.index, query={"bool": {"filter": filters}}, size=10_000)
        return [from_hit(h) for h in response["hits"]["hits"]]
