"""The locker against the real Elasticsearch and Redis: chain, reads, staleness, tampering, concurrent appenders."""

from __future__ import annotations

import base64
import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
import redis
from elasticsearch import Elasticsearch

from evidence import EvidenceArchive, EvidenceLocker, EvidenceSettings, InvalidEvidenceError, LockerIntegrityError
from evidence.locker import entry_hash, record_digest
from evidence.models import GENESIS_HASH
from tests.evidence.conftest import T0, Add

pytestmark = pytest.mark.integration


def test_appends_form_a_chain_and_verify(archive: EvidenceArchive, add: Add) -> None:
    items = [add(day) for day in range(4)]
    assert [i.sequence for i in items] == [1, 2, 3, 4]
    assert items[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(items):
        assert after.prev_hash == before.entry_hash
        assert after.entry_hash == entry_hash(after.sequence, after.prev_hash, after.record_digest)
    report = archive.locker.verify()
    assert report.ok, report.problems
    assert report.entries == 4
    assert report.head is not None
    assert report.head.entry_hash == items[-1].entry_hash


def test_item_keeps_everything_the_collector_stated(archive: EvidenceArchive, add: Add) -> None:
    item = add(2, controls=("CC7.2", "A.8.15", "CC7.2"))
    (read,) = list(archive.locker.items(T0, T0 + timedelta(days=5)))
    assert read == item.model_copy(update={"as_of": read.as_of, "stale": read.stale})
    assert read.collector == "test-collector"
    assert read.collector_version == "1.2.3"
    assert read.source_system == "unit-test"
    assert read.query == "GET /things?since=:since"
    assert read.parameters == {"since": (T0 + timedelta(days=2)).isoformat(), "n": 2}
    assert read.control_ids == ("A.8.15", "CC7.2")
    assert read.effective_at == T0 + timedelta(days=2)
    assert read.collected_at == T0 + timedelta(days=2, minutes=5)
    assert read.media_type == "application/json"
    assert read.size == len(b'{"day": 2}')
    with archive.locker.open_content(read.sha256) as handle:
        assert handle.read() == b'{"day": 2}'


def test_items_by_period_and_control(archive: EvidenceArchive, add: Add) -> None:
    add(0, controls=("A",))
    add(1, controls=("B",))
    add(2, controls=("A", "B"))
    add(9, controls=("A",))
    in_period = list(archive.locker.items(T0, T0 + timedelta(days=3)))
    assert [i.sequence for i in in_period] == [1, 2, 3]
    only_a = list(archive.locker.items(T0, T0 + timedelta(days=3), ["A"]))
    assert [i.sequence for i in only_a] == [1, 3]
    assert [i.sequence for i in archive.locker.items_for_control("A")] == [1, 3, 4]


def test_stale_items_are_marked_stale(archive: EvidenceArchive, add: Add) -> None:
    add(0, freshness_seconds=3600)
    (early,) = list(archive.locker.items(T0, T0 + timedelta(days=1), as_of=T0 + timedelta(minutes=30)))
    (late,) = list(archive.locker.items(T0, T0 + timedelta(days=1), as_of=T0 + timedelta(hours=2)))
    assert not early.stale
    assert late.stale
    assert late.fresh_until == T0 + timedelta(hours=1)


def test_streaming_reads_cross_page_boundaries(
    es: Elasticsearch, redis_conn: redis.Redis, evidence_settings: EvidenceSettings
) -> None:
    locker = EvidenceLocker(es, redis_conn, evidence_settings.model_copy(update={"page_size": 10}))
    for n in range(25):
        locker.append(
            collector="c", collector_version="1", source_system="s", query="q", effective_at=T0, content=str(n).encode()
        )
    assert [i.sequence for i in locker.items(T0, T0 + timedelta(days=1))] == list(range(1, 26))
    assert locker.verify().ok


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("effective_at", datetime(2026, 1, 1)),  # naive: no time zone
        ("collector", " "),
        ("media_type", "not a media type"),
        ("parameters", {"x": float("nan")}),
    ],
)
def test_bad_items_are_refused_with_a_precise_error(archive: EvidenceArchive, field: str, value: object) -> None:
    kwargs: dict[str, object] = {
        "collector": "c",
        "collector_version": "1",
        "source_system": "s",
        "query": "q",
        "effective_at": T0,
        "content": b"x",
    }
    kwargs[field] = value
    with pytest.raises(InvalidEvidenceError) as caught:
        archive.locker.append(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


def _doc(es: Elasticsearch, locker: EvidenceLocker, seq: int) -> dict[str, object]:
    return dict(es.get(index=locker.index, id=str(seq))["_source"])


def test_edited_record_is_detected(es: Elasticsearch, archive: EvidenceArchive, add: Add) -> None:
    for day in range(3):
        add(day)
    doc = _doc(es, archive.locker, 2)
    record = json.loads(str(doc["record"]))
    record["query"] = "SELECT nothing"
    es.update(index=archive.locker.index, id="2", doc={"record": json.dumps(record)}, refresh=True)
    problems = archive.locker.verify().problems
    assert problems == ["sequence 2: record was edited (its digest no longer matches)"]


def test_consistently_rewritten_entry_breaks_the_next_link(
    es: Elasticsearch, archive: EvidenceArchive, add: Add
) -> None:
    for day in range(3):
        add(day)
    doc = _doc(es, archive.locker, 2)
    raw = str(doc["record"]).replace("unit-test", "forged").encode()
    digest = record_digest(raw)
    forged = {
        "record": raw.decode(),
        "record_digest": digest,
        "entry_hash": entry_hash(2, str(doc["prev_hash"]), digest),
    }
    es.update(index=archive.locker.index, id="2", doc=forged, refresh=True)
    problems = archive.locker.verify().problems
    assert problems == ["sequence 3: prev_hash does not match the previous entry (removed or reordered)"]


def test_deleted_middle_entry_is_detected(es: Elasticsearch, archive: EvidenceArchive, add: Add) -> None:
    for day in range(4):
        add(day)
    es.delete(index=archive.locker.index, id="2", refresh=True)
    problems = archive.locker.verify().problems
    assert "sequence 3: expected 2 (entries 2..2 are missing)" in problems
    assert "sequence 3: prev_hash does not match the previous entry (removed or reordered)" in problems


def test_deleted_newest_entry_is_caught_by_the_head_anchor(
    es: Elasticsearch, archive: EvidenceArchive, add: Add
) -> None:
    for day in range(3):
        add(day)
    es.delete(index=archive.locker.index, id="3", refresh=True)
    (problem,) = archive.locker.verify().problems
    assert problem.startswith("head anchor says sequence 3")
    assert "newest entries were removed or replaced" in problem


def test_reordered_entries_are_detected(es: Elasticsearch, archive: EvidenceArchive, add: Add) -> None:
    for day in range(3):
        add(day)
    one, two = _doc(es, archive.locker, 1), _doc(es, archive.locker, 2)
    es.index(index=archive.locker.index, id="1", document={**two, "sequence": 1}, refresh=True)
    es.index(index=archive.locker.index, id="2", document={**one, "sequence": 2}, refresh=True)
    problems = archive.locker.verify().problems
    assert any("prev_hash does not match" in p for p in problems)
    assert any("entry_hash does not commit" in p for p in problems)


def test_altered_content_in_the_store_is_detected(es: Elasticsearch, archive: EvidenceArchive, add: Add) -> None:
    item = add(0)
    index = archive.settings.content_index
    upload = es.get(index=index, id=item.sha256)["_source"]["upload"]
    es.update(index=index, id=f"{upload}.0", doc={"data": base64.b64encode(b'{"day": 9}').decode()})
    (problem,) = archive.locker.verify().problems
    assert problem == f"sequence 1: blob {item.sha256} was altered: chunk 0 no longer matches its digest"
    assert archive.locker.verify(check_content=False).ok
    with pytest.raises(LockerIntegrityError, match="was altered"), archive.locker.open_content(item.sha256) as handle:
        handle.read()


def test_content_missing_from_the_store_is_detected(es: Elasticsearch, archive: EvidenceArchive, add: Add) -> None:
    item = add(0)
    es.delete(index=archive.settings.content_index, id=item.sha256)
    (problem,) = archive.locker.verify().problems
    assert problem == f"sequence 1: blob {item.sha256} is missing from the store {archive.settings.content_index}"


def test_concurrent_appenders_do_not_fork_the_chain(
    es: Elasticsearch, redis_conn: redis.Redis, evidence_settings: EvidenceSettings
) -> None:
    errors: list[BaseException] = []

    def appender(worker: int) -> None:
        locker = EvidenceLocker(es, redis_conn, evidence_settings)
        try:
            for n in range(8):
                locker.append(
                    collector=f"w{worker}",
                    collector_version="1",
                    source_system="s",
                    query="q",
                    effective_at=T0,
                    content=f"{worker}-{n}".encode(),
                )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = EvidenceLocker(es, redis_conn, evidence_settings).verify()
    assert report.ok, report.problems
    assert report.entries == 32


def test_stale_head_anchor_cannot_fork_the_chain(
    es: Elasticsearch, redis_conn: redis.Redis, archive: EvidenceArchive, add: Add, redis_namespace: str
) -> None:
    add(0)
    first_head = cast(bytes, redis_conn.get(f"{redis_namespace}:evidence:head"))
    add(1)
    redis_conn.set(f"{redis_namespace}:evidence:head", first_head)  # an appender that lost an update
    third = add(2)
    assert third.sequence == 3
    assert archive.locker.verify().ok


def test_appended_at_is_recorded(add: Add) -> None:
    before = datetime.now(UTC)
    item = add(0)
    assert before - timedelta(seconds=1) <= item.appended_at <= datetime.now(UTC)
