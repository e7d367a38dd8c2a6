"""Replication throughput: 100,000 ``SET k$i v$i`` lines through ``redis-cli --pipe`` into a
master with two replicas, timed until both replicas hold every key and have applied the
master's whole stream (DBSIZE 100000 and ``slave_repl_offset`` = the master's
``master_repl_offset``). Runs the engine and a real redis-server in one run and prints
both times and the ratio (target: engine <= 3x real).

    python bench/replication_pipe.py [--keys 100000] [--runs 3]

The input is what walkthrough 003 pipes: ``for i in 1..N: echo "set k$i v$i"``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    """A minimal blocking RESP client (one command at a time)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def call(self, *args: str) -> bytes | int | None:
        parts = [a.encode() for a in args]
        self.sock.sendall(b"*%d\r\n" % len(parts)
                          + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b":":
            return int(rest)
        if kind in (b"+", b"-"):
            return rest
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed")
                self.buf += data
            value, self.buf = self.buf[:n], self.buf[n + 2:]
            return value
        raise ValueError(f"unexpected reply {line!r}")

    def info(self, section: str) -> dict[str, str]:
        raw = self.call("INFO", section)
        assert isinstance(raw, bytes)
        out = {}
        for line in raw.decode().split("\r\n"):
            if ":" in line and not line.startswith("#"):
                k, _, v = line.partition(":")
                out[k] = v
        return out


class Node:
    def __init__(self, kind: str, *args: str):
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"redislab-bench-repl-{kind}-")
        self.args = list(args)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Node":
        common = ["--port", str(self.port), "--save", "", "--appendonly", "no",
                  "--dir", self.dir, "--logfile", os.path.join(self.dir, "node.log"),
                  "--repl-diskless-sync-delay", "0", *self.args]
        if self.kind == "engine":
            cmd = [sys.executable, "-m", "redislab", "server", *common]
        else:
            exe = shutil.which("redis-server")
            if not exe:
                raise SystemExit("redis-server not found on PATH")
            cmd = [exe, *common]
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} node exited with {self.proc.returncode}")
            try:
                c = Conn(self.port)
                ok = c.call("PING") == b"PONG"
                c.close()
                if ok:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} node on port {self.port} did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def wait_for(fn, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {what}")


def run_once(kind: str, keys: int, payload: bytes) -> tuple[float, float, list[float]]:
    """(seconds until redis-cli --pipe returned, seconds until both replicas caught up,
    CPU seconds the master and each replica spent meanwhile)."""
    master = Node(kind).start()
    replicas: list[Node] = []
    conns: list[Conn] = []
    try:
        for _ in range(2):
            replicas.append(Node(kind, "--replicaof", "127.0.0.1", str(master.port)).start())
        mc = Conn(master.port)
        conns.append(mc)
        rcs = [Conn(r.port) for r in replicas]
        conns.extend(rcs)

        def online() -> bool:
            info = mc.info("replication")
            return sum("state=online" in v for k, v in info.items()
                       if k.startswith("slave")) == 2

        wait_for(online, 30, "two replicas online")
        cli = shutil.which("redis-cli")
        if not cli:
            raise SystemExit("redis-cli not found on PATH")
        nodes = [master, *replicas]
        cpu0 = [cpu_seconds(n.proc.pid) for n in nodes]  # type: ignore[union-attr]
        t0 = time.perf_counter()
        res = subprocess.run([cli, "-p", str(master.port), "--pipe"], input=payload,
                             capture_output=True, timeout=600)
        t_pipe = time.perf_counter() - t0
        if b"errors: 0" not in res.stdout:
            raise SystemExit(f"redis-cli --pipe failed: {res.stdout!r} {res.stderr!r}")

        def caught_up() -> bool:
            target = mc.info("replication")["master_repl_offset"]
            for rc in rcs:
                if rc.call("DBSIZE") != keys:
                    return False
                if rc.info("replication").get("slave_repl_offset") != target:
                    return False
            return True

        wait_for(caught_up, 600, "replicas to catch up")
        t_all = time.perf_counter() - t0
        cpu = [cpu_seconds(n.proc.pid) - c0 for n, c0 in zip(nodes, cpu0)]  # type: ignore
        return t_pipe, t_all, cpu
    finally:
        for c in conns:
            c.close()
        for n in replicas + [master]:
            n.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3, help="best of N runs per server")
    args = ap.parse_args()
    payload = b"".join(b"set k%d v%d\n" % (i, i) for i in range(1, args.keys + 1))
    results: dict[str, tuple[float, float, list[float]]] = {}
    print(f"{args.keys:,} SETs through redis-cli --pipe, master + 2 replicas, best of "
          f"{args.runs} ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    for kind in ("real", "engine"):
        best: tuple[float, float, list[float]] | None = None
        for _ in range(args.runs):
            t = run_once(kind, args.keys, payload)
            if best is None or t[1] < best[1]:
                best = t
        assert best is not None
        results[kind] = best
        label = "redis-server" if kind == "real" else "engine"
        cpu = ", ".join(f"{x:.2f}" for x in best[2])
        print(f"{label:13s} pipe {best[0]:7.3f}s   replicas caught up {best[1]:7.3f}s   "
              f"({args.keys / best[1]:,.0f} keys/s end to end; CPU s master, replicas: {cpu})")
    ratio = results["engine"][1] / results["real"][1]
    verdict = "OK" if ratio <= TARGET else "over target"
    print(f"ratio engine/real: {ratio:.2f}x (target <= {TARGET:.0f}x): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
