"""Start and talk to real nodes in tests: the engine (``redislab server`` subprocesses) and
Debian's ``redis-server``, plus a raw RESP client that returns a reply's exact bytes, a poll
loop and a reader of a node's whole keyspace.

Everything here goes through the same doors a user has: processes, TCP ports, RESP.
Importing this module needs only the standard library (pytest and redis-py are imported
where they are used), so the benches share ``free_port``, ``wait_ping`` and ``wait_until``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterable, Self

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# Engine and redis-server nodes of the tests take ports from these bands (their cluster bus
# ports, +10000, fall in 24000-25999 and 28000-29999), below the kernel's ephemeral range
# (32768-60999): a port handed out by bind(0) can be taken by any outgoing connection of the
# suite between the check here and the node's own bind. The other blocks of the suite's port
# plan are in tests/backends/labtools.py (free_topology).
PORT_BANDS = ((14000, 16000), (18000, 20000))


_HANDED_OUT: "deque[int]" = deque(maxlen=512)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 whose cluster bus port (+10000) is free too.

    A port is free when checked but is only taken when the node binds it, a second later
    on a busy machine; so each pytest-xdist worker draws from its own residue class of the
    bands (port % workers == worker), and a process never hands the same port out twice
    in a row of 512."""
    import random

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    mine = int(worker[2:]) if worker[:2] == "gw" and worker[2:].isdigit() else None
    for _ in range(5000):
        low, high = random.choice(PORT_BANDS)
        port = random.randrange(low, high)
        if mine is not None and port % workers != mine % workers:
            continue
        if port in _HANDED_OUT:
            continue
        if all(_bindable(p) for p in (port, port + 10000)):
            _HANDED_OUT.append(port)
            return port
    raise RuntimeError("no free port")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def require_binary(name: str) -> str:
    """Path of a binary the tests need; in CI its absence is a failure, not a skip."""
    path = shutil.which(name)
    if path is None:
        import pytest

        msg = f"{name} not found on PATH (apt-get install redis-server redis-tools redis-sentinel)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def wait_ping(port: int, timeout: float = 10.0, password: str | None = None,
              proc: subprocess.Popen | None = None, logs: Iterable[str] = ()) -> None:
    """Wait for PONG (or NOAUTH) on ``port``; if ``proc`` exits first, the error quotes the
    end of the files in ``logs`` (the node's log and stderr say why it stopped)."""
    deadline = time.time() + timeout
    last: Exception | None = None
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            tails = []
            for path in logs:
                try:
                    lines = Path(path).read_text(errors="replace").splitlines()[-5:]
                except OSError:
                    continue
                tails += [f"  {Path(path).name}: {ln}" for ln in lines]
            raise RuntimeError(f"node on port {port} exited with {proc.returncode}"
                               + "".join(f"\n{t}" for t in tails))
        try:
            with RawClient(port, timeout=1.0) as c:
                if password:
                    c.call("AUTH", password)
                reply = c.call("PING")
                if reply in (b"+PONG\r\n",) or reply.startswith(b"-NOAUTH"):
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"node on port {port} did not answer PING: {last}")


def wait_until(fn: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05,
               what: str = "condition",
               errors: tuple[type[BaseException], ...] | None = None) -> Any:
    """Call ``fn`` until it returns something truthy and return that; an exception in
    ``errors`` (by default OSError and redis-py's errors: a node down, restarting or not
    ready yet) counts as "not yet". After ``timeout`` seconds: AssertionError naming
    ``what`` and the last value or exception."""
    if errors is None:
        import redis

        errors = (OSError, redis.exceptions.RedisError)
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except errors as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def read_value(r: Any, key: bytes) -> tuple[str, Any]:
    """(type, value) of ``key`` through the redis-py client ``r``: bytes, a list, a dict
    (hash; zset member -> score) or a set."""
    t = r.type(key).decode()
    if t == "string":
        return t, r.get(key)
    if t == "list":
        return t, r.lrange(key, 0, -1)
    if t == "hash":
        return t, r.hgetall(key)
    if t == "set":
        return t, r.smembers(key)
    if t == "zset":
        return t, dict(r.zrange(key, 0, -1, withscores=True))
    raise AssertionError(f"unexpected type {t} for {key!r}")


def contents(node: "Node", dbs: Iterable[int] = range(16), password: str | None = None) -> dict:
    """Every key of a node: {(db, key): (type, value, pttl)}."""
    out = {}
    for db in dbs:
        with node.client(db=db, password=password) as r:
            for key in r.keys(b"*"):
                t, v = read_value(r, key)
                out[(db, key)] = (t, v, r.pttl(key))
    return out


class Node:
    """A server process on 127.0.0.1 (engine or real redis-server)."""

    def __init__(self, kind: str, port: int | None = None, args: Iterable[str] = (),
                 conf: str | None = None, workdir: str | None = None):
        self.kind = kind
        self.port = port or free_port()
        self.args = list(args)
        self.conf = conf
        self.dir = workdir or tempfile.mkdtemp(prefix=f"redislab-{kind}-{self.port}-")
        self.logfile = os.path.join(self.dir, "node.log")
        self.proc: subprocess.Popen | None = None

    def command_line(self) -> list[str]:
        if self.kind == "engine":
            base = [sys.executable, "-m", "redislab", "server"]
        else:
            base = [require_binary("redis-server")]
        if self.conf:
            base.append(self.conf)
        opts = ["--port", str(self.port), "--dir", self.dir, "--logfile", self.logfile]
        defaults = {"--save": [""], "--appendonly": ["no"]}
        given = {a for a in self.args if a.startswith("--")}
        for k, v in defaults.items():
            if k not in given and not self.conf:
                opts += [k, *v]
        return base + opts + self.args

    def start(self, wait: bool = True, password: str | None = None,
              timeout: float = 10.0) -> Self:
        self.proc = subprocess.Popen(
            self.command_line(), cwd=self.dir, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "stderr.log"), "ab"),
        )
        if wait:
            self.wait_up(timeout, password)
        return self

    def wait_up(self, timeout: float = 10.0, password: str | None = None) -> None:
        """Wait until the node answers PING; if it exits instead, say why (its log)."""
        wait_ping(self.port, timeout, password=password, proc=self.proc,
                  logs=(self.logfile, os.path.join(self.dir, "stderr.log")))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Send ``sig`` and wait for the exit (SIGKILL after ``timeout``); the directory
        stays, for a restart on the same files."""
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def cleanup(self, sig: int = signal.SIGKILL) -> None:
        """End the process (SIGKILL unless said) and remove its directory."""
        self.stop(sig)
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_exit(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def log_text(self) -> str:
        try:
            return Path(self.logfile).read_text(errors="replace")
        except OSError:
            return ""

    def client(self, **kw):  # redis-py client
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def raw(self) -> "RawClient":
        return RawClient(self.port)

    def cli(self, *args: str, stdin: bytes | None = None, extra: Iterable[str] = ()) -> str:
        """Run the real redis-cli against this node; returns stdout."""
        cmd = [require_binary("redis-cli"), "-p", str(self.port), *extra, *args]
        res = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)
        return res.stdout.decode(errors="replace")

    def __enter__(self) -> Self:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.cleanup(signal.SIGTERM)


class RawClient:
    """Sends commands and returns each reply as the exact bytes the server sent."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args: str | bytes | int) -> bytes:
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        msg = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(msg)
        return self.read_reply()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by server")
        self.buf += data

    def _line_end(self, pos: int) -> int:
        while True:
            nl = self.buf.find(b"\r\n", pos)
            if nl >= 0:
                return nl
            self._fill()

    def _skip(self, pos: int) -> int:
        """Position just after the reply starting at ``pos``."""
        while len(self.buf) <= pos:
            self._fill()
        kind = self.buf[pos : pos + 1]
        nl = self._line_end(pos)
        if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):
            return nl + 2
        if kind in (b"$", b"=", b"!"):
            n = int(self.buf[pos + 1 : nl])
            if n < 0:
                return nl + 2
            end = nl + 2 + n + 2
            while len(self.buf) < end:
                self._fill()
            return end
        if kind in (b"*", b"~", b">", b"%", b"|"):
            n = int(self.buf[pos + 1 : nl])
            p = nl + 2
            count = n * 2 if kind in (b"%", b"|") else n
            for _ in range(max(count, 0)):
                p = self._skip(p)
            return p
        raise ValueError(f"bad reply type {kind!r} in {self.buf[pos:pos+40]!r}")

    def read_reply(self) -> bytes:
        end = self._skip(0)
        reply, self.buf = self.buf[:end], self.buf[end:]
        return reply
