"""Alerts in `{prefix}-alerts`: grouping repeat matches into one open alert, reading and filtering.

Elasticsearch here has no scripting, so merges are read-modify-write guarded by `if_seq_no`/`if_primary_term`.
Alert ids are derived from the rule, the group key and the first matched event, so a window processed twice
(or two overlapping correlation windows) lands on the same alert instead of a new one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ConflictError as EsConflictError
from elasticsearch import Elasticsearch, NotFoundError, helpers

from detections.alerts.index import LEVEL_RANK
from detections.engine.samples import SAMPLE_FIELDS, thin
from detections.errors import AlertNotFoundError, ConflictError
from detections.models import Alert, AlertFilter, AlertPage, AlertStatus, EventSnapshot, Level, RuleInfo

OPEN = [AlertStatus.NEW.value, AlertStatus.ACKNOWLEDGED.value]
# Group keys per open-alert lookup (one search each, collapsed to one alert per key).
LOOKUP_CHUNK = 1000
# Alerts per page of a scan that reads them all (`search_after` to the end).
SCAN_PAGE = 1000


@dataclass
class Candidate:
    """What one run found for one rule and one group key: exact facts from aggregations, plus samples.

    `count`, `first_seen` and `last_seen` are exact for the group over the searched span, whatever the number of
    events; `events` is only a bounded representative sample. `tally` splits the count by the start of the
    disjoint spans it covers (the run window, or a correlation's histogram buckets) and `counted_until` is where
    the last of them ends, so merging the same span twice (a retried window, overlapping correlation searches)
    never counts an event twice. Without a tally the candidate is one span [first_seen, last_seen].
    """

    rule: RuleInfo
    group_key: str
    first_seen: datetime
    last_seen: datetime
    count: int
    events: list[EventSnapshot]
    suppress_seconds: int
    detail: str = ""
    category: str = "detection"
    dataset: str = field(default="")
    tally: dict[datetime, int] | None = None
    counted_until: datetime | None = None
    folded_groups: int = 0

    def spans(self) -> tuple[dict[datetime, int], datetime]:
        if self.tally is None:
            return {self.first_seen: self.count}, self.counted_until or self.last_seen
        return self.tally, self.counted_until or self.last_seen

    def uncounted(self, counted_until: datetime | None) -> int:
        """Events of this candidate in spans starting at or after `counted_until` (all of them when None)."""
        tally, _ = self.spans()
        return sum(n for start, n in tally.items() if counted_until is None or start >= counted_until)


def alert_id(rule_id: str, group_key: str, anchor: str) -> str:
    return hashlib.sha256(f"{rule_id}\x1f{group_key}\x1f{anchor}".encode()).hexdigest()[:40]


# Event fields that name the client an event came from or was about: the token's client (azp) in edge and API
# decisions, the acting client of an audit record, the client an audit record changed (`client:<id>`), and the
# clients a raised alert's evidence lists (`clients`, e.g. the clients of a canary tier burning its budget).
CLIENT_FIELDS = ("vigil.auth.client_id", "client.id")
CLIENT_TARGET = "vigil.audit.target"
CLIENT_LIST = "clients"


def clients_of(alert: Alert) -> list[str]:
    """The clients the alert's recorded events name, indexed as `clients` so a per-client query filters on it.

    The recorded events are the alert's samples: the first and last event of its group and one per distinct
    value of the varying fields (the client among them for auth events), so a group keyed by client names it.
    """
    found: set[str] = set()
    for event in alert.events:
        for name in CLIENT_FIELDS:
            value = event.fields.get(name)
            if isinstance(value, str) and value:
                found.add(value)
        target = event.fields.get(CLIENT_TARGET)
        if isinstance(target, str) and target.startswith("client:") and len(target) > len("client:"):
            found.add(target.removeprefix("client:"))
        listed = event.fields.get(CLIENT_LIST)
        if isinstance(listed, list):
            found.update(c for c in listed if isinstance(c, str) and c)
    return sorted(found)


def to_document(alert: Alert) -> dict[str, Any]:
    doc = alert.model_dump(mode="json")
    doc["level_rank"] = LEVEL_RANK[alert.level]
    doc["clients"] = clients_of(alert)
    return doc


def from_hit(hit: dict[str, Any]) -> Alert:
    source = dict(hit["_source"])
    source.pop("level_rank", None)
    source.pop("clients", None)
    return Alert.model_validate(source)


def summary(alert: Alert) -> str:
    """ "<what matched>: N events for <group>, <first> to <last>, showing k samples", from the alert's facts."""
    span = f"{alert.first_seen.isoformat()} to {alert.last_seen.isoformat()}"
    head = alert.detail or alert.rule_title
    return f"{head}: {alert.count} events for {alert.group_key}, {span}, showing {len(alert.events)} samples"


def _adds_nothing(source: dict[str, Any], c: Candidate) -> bool:
    """The cheap check, before parsing the stored alert, that a candidate only repeats what it holds."""
    stored = source.get("counted_until")
    counted = datetime.fromisoformat(stored) if stored else None
    return (
        c.uncounted(counted) == 0
        and source["count"] >= c.count
        and datetime.fromisoformat(source["first_seen"]) <= c.first_seen
        and datetime.fromisoformat(source["last_seen"]) >= c.last_seen
    )


class AlertStore:
    def __init__(self, es: Elasticsearch, index: str, *, samples: int) -> None:
        self.es = es
        self.index = index
        self.samples = samples

    # -- writing -----------------------------------------------------------------------------------------------

    def _open_alerts(self, candidates: list[Candidate]) -> list[dict[str, Any] | None]:
        """For each candidate, its rule's latest open alert of the same group key still inside the suppression
        span, found with one search per rule and chunk of `LOOKUP_CHUNK` group keys (not one per candidate).

        The search collapses on the group key (latest `last_seen` first), so it returns at most one alert per key:
        its size is the number of keys asked, never a guess. If the latest open alert is too old, all are.
        """
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        by_rule: dict[str, list[str]] = {}
        for c in candidates:
            by_rule.setdefault(c.rule.id, []).append(c.group_key)
        for rule_id, keys in by_rule.items():
            unique = sorted(set(keys))
            for offset in range(0, len(unique), LOOKUP_CHUNK):
                chunk = unique[offset : offset + LOOKUP_CHUNK]
                response = self.es.search(
                    index=self.index,
                    size=len(chunk),
                    seq_no_primary_term=True,
                    sort=[{"last_seen": "desc"}, {"id": "asc"}],
                    collapse={"field": "group_key"},
                    query={
                        "bool": {
                            "filter": [
                                {"term": {"rule_id": rule_id}},
                                {"terms": {"group_key": chunk}},
                                {"terms": {"status": OPEN}},
                            ]
                        }
                    },
                )
                for hit in response["hits"]["hits"]:
                    latest[(rule_id, hit["_source"]["group_key"])] = dict(hit)
        found: list[dict[str, Any] | None] = []
        for c in candidates:
            hit = latest.get((c.rule.id, c.group_key))
            oldest_allowed = c.first_seen - timedelta(seconds=c.suppress_seconds)
            fresh = hit is not None and datetime.fromisoformat(hit["_source"]["last_seen"]) >= oldest_allowed
            found.append(hit if fresh else None)
        return found

    def latest(self, rule_id: str, group_key: str) -> Alert | None:
        """The most recently seen alert of one rule and group key, whatever its status."""
        if not self.es.indices.exists(index=self.index):
            return None
        response = self.es.search(
            index=self.index,
            size=1,
            sort=[{"last_seen": "desc"}, {"id": "asc"}],
            query={"bool": {"filter": [{"term": {"rule_id": rule_id}}, {"term": {"group_key": group_key}}]}},
        )
        hits = response["hits"]["hits"]
        return from_hit(hits[0]) if hits else None

    def _merge(self, alert: Alert, c: Candidate, now: datetime) -> bool:
        """Fold the candidate into the alert; False when it adds nothing (a span merged before).

        The alert never holds fewer events than one candidate folded into it: a candidate's count is exact over
        its own span, which the alert covers once merged. A retro-hunt counts by `@timestamp` and the live engine
        by `event.ingested`, so a hunt's spans all start before a live alert's `counted_until` and add nothing
        by span; when the live alert has seen only part of them, the hunt's count raises it instead of being
        skipped (and never adds to it: the events it already counted are among the hunt's).
        """
        count = max(alert.count + c.uncounted(alert.counted_until), c.count)
        if count == alert.count and c.first_seen >= alert.first_seen and c.last_seen <= alert.last_seen:
            return False
        alert.count = count
        alert.first_seen = min(alert.first_seen, c.first_seen)
        alert.last_seen = max(alert.last_seen, c.last_seen)
        _, until = c.spans()
        alert.counted_until = until if alert.counted_until is None else max(alert.counted_until, until)
        alert.folded_groups = max(alert.folded_groups, c.folded_groups)
        alert.events = thin(alert.events + c.events, self.samples, SAMPLE_FIELDS)
        alert.event_ids = [e.id for e in alert.events]
        alert.detail = c.detail or alert.detail
        alert.summary = summary(alert)
        alert.updated = now
        return True

    def _new(self, c: Candidate, now: datetime) -> Alert:
        # the earliest event anchors the id, so a retro-hunt over the same events finds the same alert
        ordered = sorted(c.events, key=lambda e: (e.timestamp or c.first_seen, e.id))
        anchor = ordered[0].id if ordered else c.first_seen.isoformat()
        kept = thin(c.events, self.samples, SAMPLE_FIELDS)
        _, until = c.spans()
        # built from the engine's typed values, one per group: no validation pass on this path (reads validate)
        alert = Alert.model_construct(
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
            count=c.count,
            event_ids=[e.id for e in kept],
            events=kept,
            detail=c.detail,
            counted_until=until,
            folded_groups=c.folded_groups,
        )
        alert.summary = summary(alert)
        return alert

    @staticmethod
    def _combine(candidates: list[Candidate]) -> tuple[list[Candidate], list[int]]:
        """Fold candidates of one rule and group key (catch-up windows of one cycle) into one.

        Spans seen twice (overlapping correlation searches) keep their larger count, never the sum.
        """
        merged: dict[tuple[str, str], Candidate] = {}
        slots: list[int] = []
        order: dict[tuple[str, str], int] = {}
        for c in candidates:
            key = (c.rule.id, c.group_key)
            if key not in merged:
                tally, until = c.spans()
                merged[key] = replace(c, events=list(c.events), tally=dict(tally), counted_until=until)
                order[key] = len(order)
            else:
                into = merged[key]
                assert into.tally is not None
                assert into.counted_until is not None
                tally, until = c.spans()
                for start, n in tally.items():
                    into.tally[start] = max(into.tally.get(start, 0), n)
                into.count = sum(into.tally.values())
                into.counted_until = max(into.counted_until, until)
                into.events.extend(c.events)
                into.first_seen = min(into.first_seen, c.first_seen)
                into.last_seen = max(into.last_seen, c.last_seen)
                into.folded_groups = max(into.folded_groups, c.folded_groups)
                into.detail = c.detail or into.detail
            slots.append(order[key])
        return list(merged.values()), slots

    def record(self, candidates: list[Candidate], now: datetime) -> list[int]:
        """Create or update one alert per candidate; 1 for each candidate that created or changed an alert."""
        if not candidates:
            return []
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

    def touching(self, clients: list[str], start: datetime, end: datetime) -> list[Alert]:
        """Every alert naming one of `clients` and active in [start, end) (first seen before the end, last seen at
        or after the start), oldest first: the client filter is part of the query, and the scan pages to the end.
        """
        if not clients or not self.es.indices.exists(index=self.index):
            return []
        query = {
            "bool": {
                "filter": [
                    {"terms": {"clients": clients}},
                    {"range": {"first_seen": {"lt": end.isoformat()}}},
                    {"range": {"last_seen": {"gte": start.isoformat()}}},
                ]
            }
        }
        return self._scan(query, [{"first_seen": "asc"}, {"id": "asc"}])

    def _scan(self, query: dict[str, Any], sort: list[dict[str, Any]]) -> list[Alert]:
        out: list[Alert] = []
        after: list[Any] | None = None
        while True:
            response = self.es.search(index=self.index, query=query, sort=sort, size=SCAN_PAGE, search_after=after)
            hits = response["hits"]["hits"]
            out.extend(from_hit(h) for h in hits)
            if len(hits) < SCAN_PAGE:
                return out
            after = hits[-1]["sort"]

    def all_resolved(self, since: datetime | None, levels: list[Level] | None = None) -> list[Alert]:
        """Every resolved alert (paged with `search_after` to the last one) for triage statistics."""
        if not self.es.indices.exists(index=self.index):
            return []
        filters: list[dict[str, Any]] = [{"term": {"status": AlertStatus.RESOLVED.value}}]
        if since:
            filters.append({"range": {"resolved_at": {"gte": since.isoformat()}}})
        if levels:
            filters.append({"terms": {"level": [level.value for level in levels]}})
        return self._scan({"bool": {"filter": filters}}, [{"id": "asc"}])
