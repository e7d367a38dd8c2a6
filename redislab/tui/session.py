"""A lab as the TUI drives it: one :class:`~redislab.lab.runner.Runner` (a lesson, or a
sandbox: a lesson without steps on the chosen topology) and the locks that keep its
lifecycle operations apart.

Everything here blocks (it brings nodes up, sends commands, waits for checks): the
screens call it from thread workers only. It never imports textual; what happens is
reported through the runner's events (``on_event``).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from typing import Any, Callable

from ..lab.loader import Lesson
from ..lab.runner import CommandRun, Runner, RunnerError

NODE_ACTIONS = ("stop", "kill", "restart", "pause", "resume", "start", "partition", "heal")
SANDBOX_SHAPES = ("standalone", "replication", "chain", "sentinel", "cluster")


def sandbox_lesson(shape: str, lang: str = "en") -> Lesson:
    """A lesson with no steps: just the lab of ``shape`` to play with."""
    return Lesson(id=f"sandbox-{shape}", title=f"Sandbox: {shape}", language=lang,
                  topology=shape, minutes=0, path="")


class LabSession:
    """One lab driven by the TUI (all methods block: call them from thread workers)."""

    def __init__(self, lesson: Lesson, backend: str, *, on_event: Callable[[Any], None],
                 fast: bool = False, base_port: int | None = None, progress: Any = None,
                 sandbox: bool = False):
        self.lesson = lesson
        self.backend = backend
        self.sandbox = sandbox
        self.runner = Runner(lesson, backend, on_event=on_event, fast=fast,
                             base_port=base_port, progress=progress)
        self._life = threading.RLock()
        self.closed = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def lab(self) -> Any:
        return self.runner.lab

    @property
    def ready(self) -> bool:
        return self.runner.started and not self.closed

    def start(self, resume: bool = True) -> int:
        """Bring the lab up; for a lesson, replay the steps already passed. Returns the step."""
        with self._life:
            if self.closed:
                raise RunnerError("this lab was closed")
            if self.sandbox or not self.lesson.steps:
                self.runner.start()
                return 0
            progress = self.runner.progress
            if resume and progress is not None and \
                    not progress.get(self.lesson.id).completed:
                return self.runner.resume()  # replays the steps passed, quietly
            self.runner.start()
            self.runner.begin_step(0)
            return 0

    def stop(self) -> None:
        """Tear the lab down (safe to call twice, and from any thread)."""
        with self._life:
            self.closed = True
            self.runner.stop()

    def reset_step(self) -> None:
        with self._life:
            self.runner.reset_step()

    def reset_lesson(self) -> None:
        with self._life:
            if self.sandbox or not self.lesson.steps:
                self.runner.stop()
                self.runner.start()
            else:
                self.runner.reset_lesson()

    # ------------------------------------------------------------------ steps

    @property
    def current(self) -> int:
        return self.runner.current

    def go(self, index: int) -> None:
        with self._life:
            self.runner.begin_step(index)

    def run_step(self) -> int:
        """Run the runnable blocks of the current step's text; returns how many."""
        step = self.runner.steps[self.runner.current]
        blocks = step.runnable_blocks(self.backend)
        for block in blocks:
            self.runner.run_block(block)
        return len(blocks)

    def check(self) -> Any:
        return self.runner.check()

    def answer(self) -> None:
        self.runner.apply_answer()

    # ------------------------------------------------------------------ nodes

    def command(self, node: str, line: str) -> CommandRun:
        return self.runner.run_command(node, line)

    def action(self, action: str, node: str) -> Any:
        return self.runner.run_action(action, node)

    def client(self, node: str, timeout: float) -> Any:
        """A fresh redis-py client for ``node``, authenticated with what the lab knows."""
        return self.runner.client(node, timeout=timeout)

    def node_state(self, node: str) -> str:
        """What the backend knows of a node that does not answer: ``partitioned``,
        ``paused``, ``stopped`` (not running) or ``""`` (running: then it is just slow)."""
        lab = self.lab
        if lab is None or lab.record is None:
            return "stopped"
        try:
            info = lab.record.nodes.get(node, {})
            if info.get("partitioned"):
                return "partitioned"
            if not lab.is_running(node):
                return "stopped"
            if lab.is_paused(node):
                return "paused"
        except Exception:
            return ""
        return ""

    def equivalents(self) -> dict[tuple[str, str], str]:
        lab = self.lab
        out: dict[tuple[str, str], str] = {}
        if lab is None or lab.topology is None:
            return out
        for node in lab.topology.names:
            for action in NODE_ACTIONS + ("logs",):
                try:
                    out[(action, node)] = lab.equivalent(action, node)
                except Exception:
                    out[(action, node)] = ""
            try:
                out[("exec", node)] = " ".join(lab.cli_args(node))
            except Exception:
                out[("exec", node)] = "redis-cli"
        return out

    def form_cluster(self, replicas: int = 1) -> None:
        """What ``redis-cli --cluster create ... --cluster-replicas 1`` does, command by
        command through the consoles: slots to the masters, MEET, then REPLICATE."""
        topo = self.lab.topology
        names = topo.names
        n_masters = max(1, len(names) // (replicas + 1))
        masters, others = names[:n_masters], names[n_masters:]
        per = 16384 // n_masters
        for i, node in enumerate(masters):
            first = i * per
            last = 16383 if i == n_masters - 1 else first + per - 1
            self.command(node, f"CLUSTER ADDSLOTSRANGE {first} {last}")
        host, port = self.runner.resolve(names[0])
        for node in names[1:]:
            self.command(node, f"CLUSTER MEET {host} {port}")
        ids = {}
        for node in masters:
            run = self.command(node, "CLUSTER MYID")
            reply = run.reply
            ids[node] = reply.decode() if isinstance(reply, bytes) else str(reply)
        import time

        deadline = time.monotonic() + 15
        for i, node in enumerate(others):
            master = masters[i % n_masters]
            while True:
                run = self.command(node, f"CLUSTER REPLICATE {ids[master]}")
                if not isinstance(run.reply, Exception) or time.monotonic() > deadline:
                    break
                time.sleep(0.3)  # the node has not heard of that master through gossip yet


# ---------------------------------------------------------------------------- backends


def availability(docker_timeout: int = 3) -> dict[str, tuple[bool, str]]:
    """What each backend needs and whether this machine has it: ``{name: (ok, detail)}``."""
    out: dict[str, tuple[bool, str]] = {
        "engine": (True, "built-in Python nodes, nothing to install"),
    }
    server = shutil.which("redis-server")
    if server:
        try:
            version = subprocess.run([server, "--version"], capture_output=True, text=True,
                                     timeout=5).stdout.split()
            ver = next((w.split("=", 1)[1] for w in version if w.startswith("v=")), "?")
        except (OSError, subprocess.SubprocessError):
            ver = "?"
        extra = "" if shutil.which("redis-sentinel") else \
            " (no redis-sentinel: sentinel labs need `apt-get install redis-sentinel`)"
        out["process"] = (True, f"redis-server {ver} at {server}{extra}")
    else:
        out["process"] = (False, "redis-server is not on PATH. Fix: `sudo apt-get install "
                                 "redis-server redis-sentinel` (or `brew install redis`)")
    try:
        from ..backends.docker import connect
        from ..backends.errors import BackendError

        try:
            client = connect(timeout=docker_timeout)
        except BackendError as exc:
            out["docker"] = (False, f"{exc}")
        else:
            try:
                from ..backends import image

                try:
                    name = image.default_image(client)
                    out["docker"] = (True, f"the daemon answers; image {name}")
                except BackendError:
                    out["docker"] = (True, "the daemon answers; no Redis image yet: the "
                                           "first lab needs `redislab image build`")
            finally:
                client.close()
    except Exception as exc:  # never let a probe break the start screen
        out["docker"] = (False, f"cannot check Docker: {exc}")
    return out
