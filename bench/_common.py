"""What the bench scripts share: a server process on a free port of 127.0.0.1 (engine or real
redis-server) in its own temporary directory, a blocking RESP client that decodes replies,
and the poll loop.

The process (``Node``), ``wait_ping`` and ``wait_until`` are the tests' own: tests/nodes.py
imports only the standard library, and benches and tests start nodes and wait the same way.
"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from nodes import Node, wait_ping, wait_until  # noqa: E402,F401 (wait_until: for the benches)

LABELS = {"engine": "engine", "real": "redis-server", "fakeredis": "fakeredis"}
FAST = ("--repl-diskless-sync-delay", "0")


def binary(name: str) -> str:
    """Path of ``name`` on PATH; exits with a hint when it is not there."""
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} not found on PATH (apt-get install redis-server redis-tools "
                         f"redis-sentinel)")
    return path


class Proc(Node):
    """A server process for the benches: the tests' ``Node`` (an engine or real node without
    persistence, ``args`` after its options), labelled, and exiting with a hint rather than
    a pytest skip when redis-server is missing. Subclasses may run something else."""

    def __init__(self, kind: str, args: Iterable[str] = (), port: int | None = None,
                 workdir: str | None = None) -> None:
        super().__init__(kind, port, args, workdir=workdir)
        self.label = LABELS[kind]

    def command_line(self) -> list[str]:
        if self.kind == "real":
            binary("redis-server")
        return super().command_line()

    def wait_up(self, timeout: float = 20.0, password: str | None = None) -> None:
        """Until the process answers PING (RuntimeError if it exits or stays silent)."""
        super().wait_up(timeout, password)


class Conn:
    """A minimal blocking RESP client: one command, one decoded reply (str, int, None, a
    list, or a RuntimeError for an error reply, returned rather than raised)."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Conn":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return rest.decode() if kind == b"+" else RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n + 2:]
            return body.decode(errors="replace")
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise ValueError(f"unexpected reply {line!r}")

    def call(self, *args):
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.sock.sendall(b"*%d\r\n" % len(parts)
                          + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        return self._read()

    def info(self, section: str) -> dict[str, str]:
        """``INFO section`` as {field: value}."""
        out = {}
        for line in self.call("INFO", section).split("\r\n"):
            if ":" in line and not line.startswith("#"):
                k, _, v = line.partition(":")
                out[k] = v
        return out


def call(port: int, *args, timeout: float = 5.0):
    """One command on a new connection."""
    with Conn(port, timeout) as c:
        return c.call(*args)
