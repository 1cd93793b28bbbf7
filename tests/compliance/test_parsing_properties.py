"""Hostile catalog text and evidence content end in the package's own error, never another exception."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from compliance.catalog import load_catalog, parse_catalog
from compliance.errors import CatalogError, EvidenceFormatError
from compliance.evidence import PAYLOADS, Evidence, TokenPolicy

yaml_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _catalog_error(text: str) -> CatalogError | None:
    try:
        parse_catalog(text)
    except CatalogError as exc:
        return exc
    return None


@given(st.text(max_size=400))
def test_any_text_is_a_catalog_or_a_catalog_error(text: str) -> None:
    error = _catalog_error(text)
    assert error is None or str(error).startswith("catalog: ")


@given(yaml_like)
def test_any_structure_is_a_catalog_or_a_catalog_error(data: object) -> None:
    error = _catalog_error(yaml.safe_dump(data))
    assert error is None or str(error).startswith("catalog: ")


@given(st.binary(max_size=300).filter(lambda b: not b.strip().startswith(b"{")), st.sampled_from(sorted(PAYLOADS)))
def test_any_content_decodes_or_raises_evidence_format_error(content: bytes, kind: str) -> None:
    with pytest.raises(EvidenceFormatError, match=rf"^evidence 1 \({re.escape(kind)}\): "):
        Evidence.decode(id="1", kind=kind, effective_at=datetime.now(UTC), sha256="0" * 64, content=content)


@given(st.integers(30, 86_400), st.lists(st.sampled_from(["RS256", "ES256", "EdDSA", "HS256"]), min_size=1))
def test_payloads_round_trip_through_their_canonical_bytes(ttl: int, algs: list[str]) -> None:
    policy = TokenPolicy(
        issuer="https://i",
        signing_algorithm=algs[0],
        allowed_algorithms=tuple(algs),
        access_token_ttl_seconds=ttl,
        leeway_seconds=0,
    )
    decoded = Evidence.decode(
        id="2", kind=policy.kind, effective_at=datetime.now(UTC), sha256="0" * 64, content=policy.canonical()
    )
    assert decoded.payload == policy


def test_the_shipped_catalog_round_trips() -> None:
    assert load_catalog().controls
