"""`vigil ingest syslog`: a syslog receiver over TCP (RFC 6587 framing), TLS (RFC 5425) and UDP (RFC 5426).

Messages are queued as `syslog` records through `Pipeline.push` in batches (`flush_records`, or every
`flush_seconds`); `siem.parsers.syslog` reads them in the workers. Acknowledgement is TCP-level only: syslog has
no application ack, so a message counts as delivered once its bytes are read, and a crash of this process loses at
most the batch not yet pushed (at most `flush_seconds` of messages) plus what the kernel held in socket buffers.
While the queue refuses (429 above the high-water mark, Redis down) the buffer fills and then TCP connections are no
longer read, so senders feel the back-pressure; UDP datagrams that find the buffer full are dropped and counted.
Every drop is counted (`SyslogCounters`, and `syslog_dropped` in the pipeline counters) and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from siem.errors import BackpressureError, ListenerError, QueueUnavailableError
from siem.pipeline import Pipeline

log = logging.getLogger(__name__)

_MAX_DIGITS = 10
SOURCE = "syslog"
#: How long a stopping receiver keeps offering its buffer to a refusing queue before counting it as dropped.
SHUTDOWN_SECONDS = 10.0


@dataclass
class SyslogCounters:
    """What the receiver saw; `dropped` never hides in the others."""

    received: int = 0
    queued: int = 0
    dropped: int = 0
    connections: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped += count
        self.reasons[reason] = self.reasons.get(reason, 0) + count


class FrameReader:
    """RFC 6587 framing of one TCP stream: octet-counting (`LEN SP MSG`, the frame starts with a digit) and
    non-transparent framing (`MSG LF`, anything else), chosen per frame as rsyslog and syslog-ng do.

    A frame above `max_frame` bytes is skipped, never buffered, and counted in `oversized`: an octet-counted one
    by its announced length (the stream stays in step), a newline one up to its LF. A count that is not 1 to 10
    digits followed by a space cannot be stepped over: `broken` is set and the connection should be closed.
    """

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._skip = 0  # bytes of an oversized octet-counted frame still to discard
        self._discarding_line = False  # inside an oversized newline-framed frame
        self.oversized = 0
        self.broken = False

    def feed(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        self._buffer += data
        while self._buffer and not self.broken:
            if self._skip:
                taken = min(self._skip, len(self._buffer))
                del self._buffer[:taken]
                self._skip -= taken
                continue
            if self._discarding_line:
                end = self._buffer.find(b"\n")
                if end < 0:
                    self._buffer.clear()
                    break
                del self._buffer[: end + 1]
                self._discarding_line = False
                continue
            frame = self._octet_counted() if self._buffer[:1].isdigit() else self._newline()
            if frame is None:
                break
            if frame:
                frames.append(frame)
        return frames

    def _octet_counted(self) -> bytes | None:
        space = self._buffer.find(b" ", 0, _MAX_DIGITS + 1)
        if space < 0:
            if len(self._buffer) > _MAX_DIGITS or not self._buffer.isdigit():
                self.broken = True
            return None
        digits = bytes(self._buffer[:space])
        if not digits.isdigit():
            self.broken = True
            return None
        length = int(digits)
        if length > self.max_frame:
            del self._buffer[: space + 1]
            self._skip = length
            self.oversized += 1
            return b""
        if len(self._buffer) < space + 1 + length:
            return None
        frame = bytes(self._buffer[space + 1 : space + 1 + length])
        del self._buffer[: space + 1 + length]
        return frame.rstrip(b"\r\n")

    def _newline(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > self.max_frame:
                self._buffer.clear()
                self._discarding_line = True
                self.oversized += 1
                return b""
            return None
        frame = bytes(self._buffer[:end]).rstrip(b"\r")
        del self._buffer[: end + 1]
        if len(frame) > self.max_frame:
            self.oversized += 1
            return b""
        return frame

    def rest(self) -> bytes:
        """What a closed connection left unframed: a last message without its LF is still a message, and so is
        an octet-counted frame cut short by a sender that vanished (what arrived of it, without its count)."""
        if self._skip or self._discarding_line or self.broken:
            return b""
        rest = bytes(self._buffer)
        if rest[:1].isdigit():
            count, space, message = rest.partition(b" ")
            if space and count.isdigit():
                rest = message
        return rest.rstrip(b"\r\n")


def decode(frame: bytes) -> str:
    """Syslog text is UTF-8 where senders say anything; bytes that are not become U+FFFD rather than a drop."""
    return frame.decode("utf-8", errors="replace")


class SyslogReceiver:
    """Listeners and one batching task in front of the pipeline (no per-run state outside `run`)."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        flush_records: int = 1000,
        flush_seconds: float = 0.2,
        buffer_records: int = 20_000,
    ) -> None:
        self.pipeline = pipeline
        self.max_frame = pipeline.settings.max_line_bytes
        self.flush_records = flush_records
        self.flush_seconds = flush_seconds
        self.buffer_records = buffer_records
        self.counters = SyslogCounters()
        self._buffer: list[str] = []
        self._room = asyncio.Event()
        self._room.set()
        self._full = asyncio.Event()
        self._reported = 0

    def take_datagram(self, data: bytes) -> None:
        """RFC 5426: one message per datagram; nothing pushes back on UDP, so a full buffer drops (and counts)."""
        if len(data) > self.max_frame:
            self.counters.drop("oversized")
        elif len(self._buffer) >= self.buffer_records:
            self.counters.drop("udp_buffer_full")
        elif data.strip():
            self._take(data.rstrip(b"\r\n"))

    def _take(self, frame: bytes) -> None:
        self.counters.received += 1
        self._buffer.append(decode(frame))
        if len(self._buffer) >= self.flush_records:
            self._full.set()
        if len(self._buffer) >= self.buffer_records:
            self._room.clear()

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counters.connections += 1
        frames = FrameReader(self.max_frame)
        try:
            while True:
                await self._room.wait()  # back-pressure: a full buffer stops reading, TCP pushes back
                data = await reader.read(65536)
                if not data:
                    break
                for frame in frames.feed(data):
                    self._take(frame)
                if frames.broken:
                    self.counters.drop("bad_framing")
                    log.warning("syslog: closed %s: bad octet-count framing", writer.get_extra_info("peername"))
                    break
            last = frames.rest()
            if last:
                self._take(last)
        except (ConnectionError, ssl.SSLError) as exc:
            log.warning("syslog: connection lost: %s", exc)
        finally:
            if frames.oversized:
                self.counters.drop("oversized", frames.oversized)
            writer.close()

    async def _report_drops(self) -> None:
        """Drops join the pipeline counters every process and `/metrics` read (`syslog_dropped`)."""
        delta = self.counters.dropped - self._reported
        if delta:
            self._reported += delta
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: self.pipeline.stream.count(syslog_dropped=delta)
                )
            except redis.RedisError:
                self._reported -= delta

    async def _flusher(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        while not (stop.is_set() and not self._buffer):
            if stop.is_set():
                deadline = deadline or time.monotonic() + SHUTDOWN_SECONDS
                if time.monotonic() > deadline:
                    log.error("syslog: stopping with %d messages the queue would not take", len(self._buffer))
                    self.counters.drop("unqueued_at_shutdown", len(self._buffer))
                    self._buffer.clear()
                    break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.flush_seconds)
            self._full.clear()
            await self._report_drops()
            if not self._buffer:
                continue
            batch = self._buffer[: self.flush_records]
            try:
                await loop.run_in_executor(None, functools.partial(self.pipeline.push, "syslog", batch, source=SOURCE))
            except (BackpressureError, QueueUnavailableError) as exc:
                # Keep the batch; readers stop once the buffer is full, so the wait is felt by TCP senders.
                log.warning("syslog: queue refused a batch, retrying: %s", exc)
                await asyncio.sleep(min(1.0, getattr(exc, "retry_after", 1)))
                continue
            del self._buffer[: len(batch)]
            self.counters.queued += len(batch)
            if len(self._buffer) < self.buffer_records:
                self._room.set()
            if len(self._buffer) >= self.flush_records:
                self._full.set()

    async def run(
        self,
        *,
        host: str = "127.0.0.1",
        tcp_port: int | None = None,
        udp_port: int | None = None,
        tls: ssl.SSLContext | None = None,
        stop: asyncio.Event | None = None,
        ready: Callable[[], None] | None = None,
    ) -> SyslogCounters:
        """Listen until `stop` is set, then push what is buffered and return the counters."""
        stop = stop or asyncio.Event()
        servers: list[asyncio.Server] = []
        transports: list[asyncio.BaseTransport] = []
        try:
            if tcp_port is not None:
                servers.append(await asyncio.start_server(self._tcp, host, tcp_port, ssl=tls))
            if udp_port is not None:
                loop = asyncio.get_running_loop()
                datagrams, _ = await loop.create_datagram_endpoint(
                    lambda: _Datagrams(self), local_addr=(host, udp_port)
                )
                transports.append(datagrams)
        except OSError as exc:
            for server in servers:
                server.close()
            raise ListenerError(f"cannot listen on {host} (tcp {tcp_port}, udp {udp_port}): {exc.strerror}") from None
        flusher = asyncio.create_task(self._flusher(stop))
        if ready is not None:
            ready()
        try:
            await stop.wait()
        finally:
            for server in servers:
                server.close()
            for transport in transports:
                transport.close()
            stop.set()
            await flusher
            await self._report_drops()
        return self.counters


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, receiver: SyslogReceiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.receiver.take_datagram(data)


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    """RFC 5425 server side: TLS 1.2 or later with the given certificate chain and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ListenerError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from None
    return context
