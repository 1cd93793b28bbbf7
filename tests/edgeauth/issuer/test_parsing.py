"""Pure parsing of issuer requests: the form body and the claimed client id, under arbitrary input."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from authlib.oauth2.rfc6749.errors import InvalidClientError
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

from edgeauth.issuer import IssuerError, IssuerRequest
from edgeauth.issuer.authority import claimed_client_id
from edgeauth.issuer.server import parse_form

FORM = "application/x-www-form-urlencoded"


@given(st.binary(max_size=2048), st.sampled_from([FORM, f"{FORM}; charset=utf-8", "text/plain", None]))
def test_parse_form_accepts_or_refuses_cleanly(body: bytes, content_type: str | None) -> None:
    try:
        form, audiences = parse_form(body, content_type, max_bytes=1024)
    except IssuerError as exc:
        refusal = str(exc)
    else:
        refusal = ""
        assert len(body) <= 1024
    assert "\n" not in refusal
    if refusal:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in form.items())
    assert all(isinstance(a, str) for a in audiences)


@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=10))
def test_parse_form_round_trips_single_valued_forms(fields: dict[str, str]) -> None:
    form, audiences = parse_form(urlencode(fields).encode(), FORM, max_bytes=1 << 20)
    assert form == fields
    assert audiences == tuple(v for k, v in fields.items() if k in ("audience", "resource"))


def test_repeated_parameters() -> None:
    _form, audiences = parse_form(b"audience=a&audience=b&resource=c", FORM, max_bytes=1024)
    assert audiences == ("a", "b", "c")
    with pytest.raises(IssuerError, match="repeated"):
        parse_form(b"scope=a&scope=b", FORM, max_bytes=1024)


def _request(headers: dict[str, str], form: dict[str, str] | None = None) -> IssuerRequest:
    return IssuerRequest(method="POST", path="/oauth/token", headers=Headers(headers), form=form or {})


@given(st.binary(max_size=200))
def test_claimed_client_id_from_any_basic_header(raw: bytes) -> None:
    request = _request({"authorization": "Basic " + base64.b64encode(raw).decode()})
    try:
        claimed = claimed_client_id(request)
    except InvalidClientError:
        return
    assert claimed is None or len(claimed) <= 64


@given(st.text(max_size=300))
def test_claimed_client_id_from_any_assertion(assertion: str) -> None:
    claimed = claimed_client_id(_request({}, {"client_assertion": assertion}))
    assert claimed is None or len(claimed) <= 64


def test_claimed_client_id_sources() -> None:
    assert claimed_client_id(_request({"Authorization": "Basic " + base64.b64encode(b"abc:s").decode()})) == "abc"
    assert claimed_client_id(_request({}, {"client_id": "x"})) == "x"
    payload = base64.urlsafe_b64encode(b'{"sub": "svc"}').rstrip(b"=").decode()
    assert claimed_client_id(_request({}, {"client_assertion": f"e30.{payload}.c2ln"})) == "svc"
