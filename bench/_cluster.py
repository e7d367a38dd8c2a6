"""Cluster nodes for the cluster benches: engine or real redis-server processes started with
``cluster-enabled yes`` on free ports (bus port free too), a blocking RESP client, and the
polls the benches time (cluster_state, roles, slot owners)."""

from __future__ import annotations

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
LABELS = {"engine": "engine", "real": "redis-server"}


def free_port() -> int:
    """A port free on 127.0.0.1 whose bus port (+10000) is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


class Conn:
    """A minimal blocking RESP client: one command, one decoded reply."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Conn":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
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
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed")
                self.buf += data
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


def call(port: int, *args, timeout: float = 5.0):
    with Conn(port, timeout) as c:
        return c.call(*args)


class ClusterNode:
    def __init__(self, kind: str, node_timeout: int, extra: tuple[str, ...] = ()):
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"redislab-bench-cluster-{kind}-")
        self.node_timeout = node_timeout
        self.extra = extra
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        common = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--dir", self.dir,
                  "--logfile", os.path.join(self.dir, "node.log"),
                  "--cluster-enabled", "yes",
                  "--cluster-node-timeout", str(self.node_timeout),
                  "--repl-diskless-sync-delay", "0", *self.extra]
        if self.kind == "engine":
            return [sys.executable, "-m", "redislab", "server", *common]
        exe = shutil.which("redis-server")
        if not exe:
            raise SystemExit("redis-server not found on PATH")
        return [exe, *common]

    def start(self, wait: bool = True) -> "ClusterNode":
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(self.command(), cwd=self.dir, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait:
            self.wait_up()
        return self

    def wait_up(self, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} node exited with {self.proc.returncode}")
            try:
                if call(self.port, "PING", timeout=1) == "PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"node on port {self.port} did not start")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Cluster:
    def __init__(self, kind: str, n: int = 6, node_timeout: int = 2000):
        self.kind = kind
        self.nodes = [ClusterNode(kind, node_timeout) for _ in range(n)]
        self.cli_seconds = 0.0

    def start(self) -> "Cluster":
        for node in self.nodes:
            node.start(wait=False)
        for node in self.nodes:
            node.wait_up()
        return self

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()

    def create(self, replicas: int = 1) -> float:
        """``redis-cli --cluster create``, then wait for cluster_state:ok on every node;
        returns the seconds from the command's start."""
        addrs = [f"127.0.0.1:{n.port}" for n in self.nodes]
        t0 = time.perf_counter()
        res = subprocess.run(["redis-cli", "--cluster", "create", *addrs, "--cluster-replicas",
                              str(replicas), "--cluster-yes"], capture_output=True, text=True,
                             timeout=120)
        self.cli_seconds = time.perf_counter() - t0  # redis-cli's own run (join included)
        if res.returncode != 0 or "[OK] All 16384 slots covered." not in res.stdout:
            raise RuntimeError(f"cluster create failed:\n{res.stdout}\n{res.stderr}")
        self.wait(lambda: all(state(n.port) == "ok" for n in self.nodes), 60, "cluster_state:ok")
        return time.perf_counter() - t0

    @staticmethod
    def wait(pred, timeout: float, what: str, interval: float = 0.02) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if pred():
                    return
            except (OSError, ConnectionError, RuntimeError, KeyError, ValueError):
                pass
            time.sleep(interval)
        raise RuntimeError(f"timed out waiting for {what}")

    def alive(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.alive()]


def state(port: int) -> str:
    info = call(port, "CLUSTER", "INFO")
    for line in info.splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return "?"


def nodes_view(port: int) -> list[dict]:
    out = []
    for line in call(port, "CLUSTER", "NODES").splitlines():
        f = line.split()
        out.append({"id": f[0], "port": int(f[1].split(":")[1].split("@")[0]),
                    "flags": f[2].split(","), "master": f[3], "slots": f[8:]})
    return out


def myself(port: int) -> dict:
    return next(d for d in nodes_view(port) if "myself" in d["flags"])


def slots_of(specs: list[str]) -> set[int]:
    out: set[int] = set()
    for s in specs:
        if s.startswith("["):
            continue
        a, _, b = s.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def replicas_linked(cluster: Cluster) -> bool:
    for n in cluster.alive():
        info = call(n.port, "INFO", "replication")
        if "role:slave" in info and "master_link_status:up" not in info:
            return False
    return True


def converged(cluster: Cluster) -> bool:
    """All live nodes: state ok, the same owner for every slot, owners alive."""
    live = {myself(n.port)["id"] for n in cluster.alive()}
    maps = []
    for n in cluster.alive():
        if state(n.port) != "ok":
            return False
        owners: dict[int, str] = {}
        for d in nodes_view(n.port):
            if "master" in d["flags"] and d["slots"]:
                if d["id"] not in live:
                    return False
                for s in slots_of(d["slots"]):
                    if s in owners:
                        raise AssertionError(f"slot {s} claimed twice in {n.port}'s view")
                    owners[s] = d["id"]
        if len(owners) != 16384:
            return False
        maps.append(owners)
    return all(m == maps[0] for m in maps) and replicas_linked(cluster)
