"""Start the three servers the benches compare (engine, real redis-server, fakeredis' TCP
server) as subprocesses on free ports, and read their memory from /proc."""

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

FAKEREDIS_MAIN = """
import sys
from fakeredis import TcpFakeServer
server = TcpFakeServer(("127.0.0.1", int(sys.argv[1])), server_type="redis",
                       server_version=(7, 0))
server.daemon_threads = True
try:
    server.serve_forever()
finally:
    server.server_close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Server:
    """One server process; ``kind`` is engine, real or fakeredis."""

    LABELS = {"engine": "engine", "real": "redis-server", "fakeredis": "fakeredis"}

    def __init__(self, kind: str):
        self.kind = kind
        self.label = self.LABELS[kind]
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"redislab-bench-{kind}-")
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        common = ["--port", str(self.port), "--save", "", "--appendonly", "no",
                  "--dir", self.dir, "--logfile", os.path.join(self.dir, "node.log")]
        if self.kind == "engine":
            return [sys.executable, "-m", "redislab", "server", *common]
        if self.kind == "real":
            exe = shutil.which("redis-server")
            if not exe:
                raise SystemExit("redis-server not found on PATH")
            return [exe, *common]
        return [sys.executable, "-c", FAKEREDIS_MAIN, str(self.port)]

    def start(self) -> "Server":
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(self.command(), cwd=self.dir, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode}")
            if ping(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.label} did not answer PING on port {self.port}")

    def rss_kb(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
