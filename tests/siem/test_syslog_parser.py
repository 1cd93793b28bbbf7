"""Syslog parsing (RFC 5424, RFC 3164) and RFC 6587 framing: examples from the RFCs and properties (hypothesis)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siem.errors import ParseError
from siem.inputs.syslog import FrameReader
from siem.parsers import parse_record
from siem.parsers.syslog import FACILITIES, SEVERITIES, read_syslog

RECEIVED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def parsed(record: str) -> dict[str, Any]:
    return parse_record("syslog", record, event_id="e1", received=RECEIVED)


def test_rfc5424_example_with_structured_data_and_bom() -> None:
    doc = parsed(
        '<165>1 2003-10-11T22:14:15.003-07:00 mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
        'eventSource="App\\"lication\\]" eventID="1011"][examplePriority@32473 class="high"] \ufeffAn entry'
    )
    assert doc["@timestamp"] == "2003-10-12T05:14:15.003000Z"
    assert doc["message"] == "An entry"
    assert doc["event"]["dataset"] == "syslog"
    syslog = doc["log"]["syslog"]
    assert syslog["facility"] == {"code": 20, "name": "local4"}
    assert syslog["severity"] == {"code": 5, "name": "notice"}
    assert (syslog["appname"], syslog["msgid"], syslog["version"]) == ("evntslog", "ID47", "1")
    assert "procid" not in syslog
    assert syslog["structured_data"]["exampleSDID@32473"]["eventSource"] == 'App"lication]'
    assert syslog["structured_data"]["examplePriority@32473"] == {"class": "high"}
    assert doc["host"] == {"hostname": "mymachine.example.com"}
    assert doc["log"]["level"] == "notice"


def test_rfc3164_example_and_tag_with_pid() -> None:
    doc = parsed("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8")
    assert doc["@timestamp"].startswith(f"{datetime.now(UTC).year - (datetime.now(UTC).month < 10)}-10-11T22:14:15")
    assert doc["message"] == "'su root' failed for lonvick on /dev/pts/8"
    assert doc["process"] == {"name": "su", "pid": 230}
    assert doc["host"] == {"hostname": "mymachine"}
    assert doc["log"]["syslog"]["severity"]["name"] == "critical"


def test_rfc3164_without_hostname_and_with_rfc3339_time() -> None:
    assert "host" not in parsed("<13>sshd[42]: Accepted publickey")
    doc = parsed("<13>2026-12-01T16:00:00.5+02:00 web1 app: hello")
    assert (doc["@timestamp"], doc["host"]["hostname"], doc["message"]) == (
        "2026-12-01T14:00:00.500000Z",
        "web1",
        "hello",
    )


def test_nginx_lines_and_json_exceptions_inside_syslog_are_what_they_are() -> None:
    nginx = '10.0.0.1 - - [29/Nov/2026:05:00:00 +0000] "GET /a?b=1 HTTP/1.1" 404 5 "-" "curl/8"'
    access = parsed(f"<190>Dec  1 10:00:00 web1 nginx: {nginx}")
    assert access["event"]["dataset"] == "access"
    assert (access["url"]["path"], access["http"]["response"]["status_code"]) == ("/a", 404)
    assert access["@timestamp"] == "2026-11-29T05:00:00Z"  # the access line's own time wins
    assert access["log"]["syslog"]["appname"] == "nginx"
    exception = parsed('<11>1 2026-12-01T10:00:00Z app1 billing 77 - - {"error": {"type": "KeyError"}}')
    assert exception["event"]["dataset"] == "exception"
    assert (exception["error"]["type"], exception["process"]["pid"]) == ("KeyError", 77)
    assert parsed("<13>1 - - - - - - {not json")["event"]["dataset"] == "syslog"


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ("no pri", "does not start with <PRI>"),
        ("<192>x", "out of range"),
        ("<13>1 2026-12-01T10:00:00Z host", "fewer than the seven"),
        ("<13>1 2026-13-01T10:00:00Z h a p m -", "month must be"),
        ("<13>1 yesterday h a p m -", "not RFC 3339"),
        ('<13>1 - h a p m [id k="v"', "not closed"),
        ("<13>1 - h a p m x", "neither '-' nor"),
    ],
)
def test_malformed_messages_are_parse_errors(record: str, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parsed(record)


NAMES = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='="]- '), min_size=1, max_size=20
)
VALUES = st.text(st.characters(codec="utf-8"), max_size=30)
MESSAGES = st.text(st.characters(codec="utf-8", exclude_characters="\ufeff"), max_size=80)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


@given(
    pri=st.integers(0, 191),
    moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.just(UTC)),
    host=NAMES,
    app=NAMES,
    procid=st.one_of(st.just("-"), NAMES),
    data=st.dictionaries(NAMES, st.dictionaries(NAMES, VALUES, max_size=3), max_size=3),
    message=MESSAGES,
)
def test_rfc5424_round_trips(
    pri: int, moment: datetime, host: str, app: str, procid: str, data: dict[str, dict[str, str]], message: str
) -> None:
    sd = "".join(
        f"[{sd_id}" + "".join(f' {k}="{_escape(v)}"' for k, v in params.items()) + "]" for sd_id, params in data.items()
    )
    stamp = moment.isoformat().replace("+00:00", "Z")
    fields = read_syslog(f"<{pri}>1 {stamp} {host} {app} {procid} - {sd or '-'} {message}")
    assert fields["pri"] == pri
    assert fields["timestamp"] == moment
    assert (fields["hostname"], fields["appname"]) == (host, app)
    assert fields["procid"] == (None if procid == "-" else procid)
    assert fields["structured_data"] == (data or None)
    assert fields["message"] == message
    doc = parsed(f"<{pri}>1 {stamp} {host} {app} {procid} - {sd or '-'} {message}")
    assert doc["log"]["syslog"]["facility"]["name"] == FACILITIES[pri >> 3]
    assert doc["log"]["syslog"]["severity"]["name"] == SEVERITIES[pri & 7]


@given(st.text(max_size=300))
def test_any_text_parses_or_is_a_parse_error(record: str) -> None:
    with contextlib.suppress(ParseError):
        parsed(record)


@given(st.binary(max_size=300), st.integers(1, 64))
def test_any_bytes_frame_without_crashing_or_holding_more_than_a_frame(data: bytes, step: int) -> None:
    reader = FrameReader(max_frame=64)
    for start in range(0, len(data), step):
        for frame in reader.feed(data[start : start + step]):
            assert 0 < len(frame) <= 64
        if reader.broken:
            break
        assert len(reader._buffer) <= 64 + 11  # never buffers past one frame and its count


FRAMES = st.lists(
    st.binary(min_size=1, max_size=80).filter(lambda b: b"\n" not in b and not b[:1].isdigit() and b.strip() == b),
    min_size=1,
    max_size=20,
)


@given(FRAMES, st.lists(st.booleans(), min_size=20, max_size=20), st.integers(1, 50))
def test_mixed_octet_counted_and_newline_frames_come_back_in_order(
    frames: list[bytes], counted: list[bool], step: int
) -> None:
    wire = b"".join((b"%d %s" % (len(f), f)) if counted[n] else f + b"\n" for n, f in enumerate(frames))
    reader = FrameReader(max_frame=1000)
    out = [frame for start in range(0, len(wire), step) for frame in reader.feed(wire[start : start + step])]
    assert out + ([reader.rest()] if reader.rest() else []) == frames


def test_oversized_frames_are_skipped_and_counted_and_the_stream_stays_in_step() -> None:
    reader = FrameReader(max_frame=10)
    wire = b"5 hello" + b"20 " + b"x" * 20 + b"y" * 30 + b"\n" + b"<13>ok\n" + b"3 end"
    assert reader.feed(wire) == [b"hello", b"<13>ok", b"end"]
    assert reader.oversized == 2
    broken = FrameReader(max_frame=10)
    assert broken.feed(b"12345678901 x") == []
    assert broken.broken


def test_a_frame_cut_short_by_a_vanished_sender_keeps_what_arrived_without_its_count() -> None:
    reader = FrameReader(max_frame=1000)
    assert reader.feed(b"5 hello500 <13>1 - h a - - - cut") == [b"hello"]
    assert reader.rest() == b"<13>1 - h a - - - cut"
