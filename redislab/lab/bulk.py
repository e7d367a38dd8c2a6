"""Mass insertion over RESP, as ``redis-cli --pipe`` does it: commands encoded in the Redis
protocol, written in large batches on one connection, replies counted (not printed).

Used by ```pipe``` blocks: a lesson cannot run ``redis-cli --pipe`` (that would be a host
shell command), so the runner sends the same bytes itself.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from itertools import islice
from typing import Iterable

BATCH = 2000


@dataclass
class PipeStats:
    """What ``redis-cli --pipe`` reports: ``errors: N, replies: M``."""

    sent: int = 0
    replies: int = 0
    errors: int = 0
    first_error: str | None = None
    seconds: float = 0.0


def encode(args: Iterable[str | bytes]) -> bytes:
    parts = []
    items = [a.encode() if isinstance(a, str) else a for a in args]
    parts.append(b"*%d\r\n" % len(items))
    for a in items:
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class _Reader:
    """Reads whole RESP2 replies off a socket; returns ``(is_error, first_line)``."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0

    def _fill(self) -> None:
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("connection closed by the server")
        if self.pos > 1 << 20:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += data

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def _skip(self, n: int) -> None:
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        self.pos += n + 2

    def reply(self) -> tuple[bool, str]:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            return True, rest.decode(errors="replace")
        if kind == b"$":
            n = int(rest)
            if n >= 0:
                self._skip(n)
        elif kind == b"*":
            for _ in range(max(0, int(rest))):
                self.reply()
        elif kind not in (b"+", b":"):
            raise ConnectionError(f"protocol error: {line[:40]!r}")
        return False, ""


def pipe(host: str, port: int, commands: Iterable[list[str]], *, password: str | None = None,
         timeout: float = 60.0, batch: int = BATCH) -> PipeStats:
    """Send ``commands`` pipelined on one connection; count replies and errors."""
    stats = PipeStats()
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = _Reader(sock)
        if password:
            sock.sendall(encode(["AUTH", password]))
            is_err, text = reader.reply()
            if is_err and "without any password" not in text:
                stats.first_error = text
        it = iter(commands)
        while True:
            chunk = list(islice(it, batch))
            if not chunk:
                break
            sock.sendall(b"".join(encode(c) for c in chunk))
            stats.sent += len(chunk)
            for _ in chunk:
                is_err, text = reader.reply()
                stats.replies += 1
                if is_err:
                    stats.errors += 1
                    if stats.first_error is None:
                        stats.first_error = text
    stats.seconds = time.monotonic() - start
    return stats
