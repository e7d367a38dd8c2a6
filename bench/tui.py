"""TUI figures: time from `redislab` start to its first frame, and the CPU an idle lesson
screen with live panes (INFO polled twice a second, logs followed, map redrawn) uses.

Runs the real command in a pseudo-terminal of 120x40, on the engine backend, with its own
REDISLAB_HOME (nothing of yours is touched) and prints::

    first frame: 0.62 s (target < 1 s)
    idle lesson screen: 4.1% of one core over 30 s (target < 10%)

Usage: .venv/bin/python bench/tui.py [--seconds 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDISLAB = [sys.executable, "-m", "redislab"]


class Term:
    """``redislab`` in a pseudo-terminal; collects what it prints."""

    def __init__(self, args: list[str], env: dict[str, str], cols: int = 120, rows: int = 40):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=ROOT, start_new_session=True, close_fds=True)
        os.close(slave)
        self.fd = master
        self.out = bytearray()
        self.lock = threading.Lock()
        self.first_output: float | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                if not ready:
                    if self.proc.poll() is not None:
                        return
                    continue
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                if self.first_output is None:
                    self.first_output = time.monotonic()
                self.out += data

    def wait_for(self, text: bytes, timeout: float) -> float:
        """Seconds from start until ``text`` was printed."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if text in self.out:
                    return time.monotonic() - self.started
            time.sleep(0.005)
        raise TimeoutError(f"{text!r} not printed within {timeout}s")

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def close(self) -> None:
        try:
            self.send(b"\x11")  # ctrl+q: the app tears its lab down and exits
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        finally:
            os.close(self.fd)


def env_for(home: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(REDISLAB_HOME=home, TERM="xterm-256color", COLUMNS="120", LINES="40",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    env.pop("TEXTUAL", None)
    return env


def first_frame(runs: int) -> list[float]:
    """Seconds until the start screen's lesson table header is on the terminal."""
    times = []
    for _ in range(runs):
        home = tempfile.mkdtemp(prefix="redislab-bench-")
        term = Term(REDISLAB, env_for(home))
        try:
            times.append(term.wait_for(b"lessons", 20))
        finally:
            term.close()
            shutil.rmtree(home, ignore_errors=True)
    return times


def idle_cpu(seconds: float) -> tuple[float, float]:
    """(% of one core the TUI used, % its nodes used) over ``seconds`` on lesson 1."""
    home = tempfile.mkdtemp(prefix="redislab-bench-")
    term = Term(REDISLAB + ["--fast"], env_for(home))
    try:
        term.wait_for(b"lessons", 20)
        time.sleep(1.0)  # lessons loaded, backends probed
        term.send(b"\r")  # open lesson 1
        term.wait_for(b"ready", 60)
        time.sleep(3.0)  # logs read, command docs fetched
        nodes = node_pids(home)
        t0, c0 = time.monotonic(), term.cpu_seconds()
        n0 = sum(proc_cpu(p) for p in nodes)
        time.sleep(seconds)
        t1, c1 = time.monotonic(), term.cpu_seconds()
        n1 = sum(proc_cpu(p) for p in nodes)
        return 100 * (c1 - c0) / (t1 - t0), 100 * (n1 - n0) / (t1 - t0)
    finally:
        term.close()
        shutil.rmtree(home, ignore_errors=True)


def node_pids(home: str) -> list[int]:
    import json

    pids = []
    for rec in Path(home, "labs").glob("*.json"):
        data = json.loads(rec.read_text())
        pids += [n.get("pid") for n in data.get("nodes", {}).values() if n.get("pid")]
    return pids


def proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="idle measurement length")
    ap.add_argument("--runs", type=int, default=3, help="first-frame runs (best and median)")
    args = ap.parse_args()
    times = sorted(first_frame(args.runs))
    median = times[len(times) // 2]
    print(f"first frame: {median:.2f} s median of {len(times)} (best {times[0]:.2f} s; "
          f"target < 1 s)")
    tui, nodes = idle_cpu(args.seconds)
    print(f"idle lesson screen: {tui:.1f}% of one core over {args.seconds:.0f} s "
          f"(target < 10%); its 3 engine nodes: {nodes:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
