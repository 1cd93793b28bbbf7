"""RFC 6238 arithmetic and recovery codes, without Redis: window, format, digests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeauth.people import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def test_rfc_6238_reference_vector() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); our 6-digit code is its last six.
    seed = "12345678901234567890"
    secret = base64.b32encode(seed.encode()).decode()
    moment = datetime.fromtimestamp(59, UTC)
    assert totp.matching_step(secret, "287082", moment, window=0) == 1


@settings(max_examples=200, deadline=None)
@given(moment=moments, offset=st.integers(-3, 3), window=st.integers(0, 2))
def test_a_code_matches_exactly_within_the_window(moment: datetime, offset: int, window: int) -> None:
    app = pyotp.TOTP(SECRET)
    code = app.at(moment + timedelta(seconds=30 * offset))
    step = totp.matching_step(SECRET, code, moment, window=window)
    expected = app.timecode(moment) + offset
    if abs(offset) <= window:
        assert step == expected
    elif step is not None:
        # Another step in the window happened to give the same six digits (1 in 10^6 per step).
        assert app.generate_otp(step) == code


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_classify_never_raises_and_only_names_well_formed_codes(text: str) -> None:
    kind, normal = totp.classify(text)
    if kind == "totp":
        assert len(normal) == 6
        assert normal.isdigit()
    elif kind == "recovery_code":
        assert len(normal) == 16


def test_recovery_codes_are_distinct_formatted_and_only_their_digest_matches() -> None:
    shown, salt, digests = totp.new_recovery_codes()
    assert len(shown) == len(set(shown)) == len(digests) == 10
    for code in shown:
        assert len(code) == 19
        assert code.count("-") == 3
        kind, normal = totp.classify(code.upper().replace("-", " "))
        assert kind == "recovery_code"
        assert totp.matching_digest(salt, digests, normal) == totp.recovery_digest(salt, normal)
        assert code not in digests
    assert totp.matching_digest(salt, digests, "0" * 16) is None
    _, other_salt, _ = totp.new_recovery_codes()
    assert totp.matching_digest(other_salt, digests, totp.classify(shown[0])[1]) is None


def test_crockford_look_alikes_are_read_as_digits() -> None:
    assert totp.classify("IL0O-1100-aaaa-bbbb") == ("recovery_code", "11001100aaaabbbb")
    assert totp.classify("12 34 56") == ("totp", "123456")
    assert totp.classify("١٢٣٤٥٦")[0] == "malformed"  # Arabic-Indic digits are digits to str.isdigit, not to us


def test_the_qr_code_is_self_contained_svg() -> None:
    svg = totp.qr_svg(totp.provisioning_uri(SECRET, username="ana", issuer="Vigil"))
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in svg
