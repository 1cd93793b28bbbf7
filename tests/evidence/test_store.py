"""The shared blob store in the real Elasticsearch: chunks, streams, ranges, dedup, limits, tampering."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest
from elasticsearch import Elasticsearch
from hypothesis import given
from hypothesis import strategies as st

from evidence import EvidenceSettings, InvalidEvidenceError, LockerIntegrityError
from evidence.rfc9110 import RangeNotSatisfiableError, byte_range
from evidence.store import ElasticsearchBlobStore

CHUNK = 64 * 1024


@pytest.fixture
def store(es: Elasticsearch, evidence_settings: EvidenceSettings) -> ElasticsearchBlobStore:
    """The content index as declared (strict mapping), with small chunks so that blobs span several."""
    return ElasticsearchBlobStore(es, evidence_settings.content_index, CHUNK, 1024 * 1024)


def _chunks(es: Elasticsearch, store: ElasticsearchBlobStore) -> int:
    es.indices.refresh(index=store.index)
    return int(es.count(index=store.index, query={"term": {"kind": "chunk"}})["count"])


@pytest.mark.integration
def test_a_stream_is_stored_in_chunks_and_read_back_whole(es: Elasticsearch, store: ElasticsearchBlobStore) -> None:
    data = os.urandom(3 * CHUNK + 123)
    sha, size = store.put(io.BytesIO(data))
    assert (sha, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert _chunks(es, store) == 4
    with store.open(sha) as reader:
        assert reader.read() == data
    assert store.check(sha, size) is None
    assert store.check(sha, size + 1) == f"blob {sha} holds {size} bytes, {size + 1} recorded"


@pytest.mark.integration
def test_seeks_read_any_range(store: ElasticsearchBlobStore) -> None:
    data = os.urandom(2 * CHUNK + 10)
    sha, _ = store.put(data)
    with store.open(sha) as reader:
        reader.seek(CHUNK - 5)
        assert reader.read(20) == data[CHUNK - 5 : CHUNK + 15]
        reader.seek(-3, io.SEEK_END)
        assert reader.read() == data[-3:]
        assert reader.read() == b""


@pytest.mark.integration
def test_the_same_bytes_are_stored_once_even_when_written_together(
    es: Elasticsearch, store: ElasticsearchBlobStore
) -> None:
    data = os.urandom(2 * CHUNK)
    results: list[tuple[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(store.put(io.BytesIO(data)))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert store.put(data) == results[0]
    assert _chunks(es, store) == 2  # the losers of the race removed their chunks


@pytest.mark.integration
def test_the_size_limit_refuses_and_leaves_nothing(es: Elasticsearch, store: ElasticsearchBlobStore) -> None:
    with pytest.raises(InvalidEvidenceError, match="limit"):
        store.put(io.BytesIO(os.urandom(1024 * 1024 + 1)))
    assert _chunks(es, store) == 0


@pytest.mark.integration
def test_an_empty_blob_round_trips(store: ElasticsearchBlobStore) -> None:
    sha, size = store.put(b"")
    with store.open(sha) as reader:
        assert reader.read() == b""
    assert size == 0


@pytest.mark.integration
def test_a_rewritten_head_is_caught_by_the_whole_digest(es: Elasticsearch, store: ElasticsearchBlobStore) -> None:
    sha, _ = store.put(b"original bytes")
    other, _ = store.put(b"forged content")
    forged = es.get(index=store.index, id=other)["_source"]
    es.index(index=store.index, id=sha, document={**forged, "sha256": sha})
    with pytest.raises(LockerIntegrityError, match=f"blob {sha} was altered"), store.open(sha) as reader:
        reader.read()


@given(size=st.integers(min_value=1, max_value=10_000), header=st.text(max_size=40))
def test_any_range_header_gives_a_range_inside_or_a_clear_answer(size: int, header: str) -> None:
    try:
        span = byte_range(header, size)
    except RangeNotSatisfiableError:
        return
    if span is not None:
        first, last = span
        assert 0 <= first <= last < size


@given(size=st.integers(min_value=1, max_value=10_000), first=st.integers(0, 20_000), length=st.integers(1, 500))
def test_well_formed_ranges_are_honoured(size: int, first: int, length: int) -> None:
    header = f"bytes={first}-{first + length - 1}"
    if first >= size:
        with pytest.raises(RangeNotSatisfiableError):
            byte_range(header, size)
    else:
        assert byte_range(header, size) == (first, min(first + length - 1, size - 1))
