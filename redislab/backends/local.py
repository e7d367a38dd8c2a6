"""Nodes as local processes on 127.0.0.1 (shared by the engine and process backends).

Each node runs in its own directory ``<home>/labs/<lab>/<node>/`` holding its generated
``redis.conf`` (or ``sentinel.conf``), its log file ``redis.log`` and its data. Nodes are
started in their own session (``setsid``), so they outlive the command that started them
and a Ctrl-C in that terminal does not reach them; their pids are recorded in the lab's
record with their start time; a pid is only ever signalled after checking that the
process still has that start time, so a recycled pid is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, AsyncIterator

from ..topology import NodeSpec, Topology
from . import conf, state
from .base import BaseBackend, tail_file
from .errors import BackendError, NodeStartError

STOP_TIMEOUT = 10.0


class LocalBackend(BaseBackend):
    """Nodes as subprocesses; subclasses say which program runs a node."""

    name = "local"

    def __init__(self, lab_id: str | None = None) -> None:
        super().__init__(lab_id)
        self._procs: dict[str, subprocess.Popen] = {}

    def _restore(self, record: state.LabRecord) -> None:
        self._procs = {}

    # ------------------------------------------------------------------ paths & commands

    def conf_path(self, node: str) -> str:
        return os.path.join(self.node_dir(node), conf.conf_name(self.spec(node)))

    def log_path(self, node: str) -> str:
        return os.path.join(self.node_dir(node), "redis.log")

    def console_path(self, node: str) -> str:
        return os.path.join(self.node_dir(node), "console.log")

    def command(self, node: NodeSpec) -> list[str]:
        """The argv that runs ``node`` with its conf file."""
        raise NotImplementedError

    def display_command(self, node: NodeSpec) -> list[str]:
        """``command`` as a person would type it (shown in confs and equivalents)."""
        return self.command(node)

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def conf_extra(self, node: NodeSpec) -> list[tuple[str, tuple[str, ...]]]:
        """Directives this backend adds to every node's conf (after the basics)."""
        return []

    def render(self, node: NodeSpec, topo: Topology) -> str:
        d = self.node_dir(node.name)
        basics = conf.local_basics(node, directory=d, logfile=self.log_path(node.name),
                                   extra=self.conf_extra(node))
        header = (f"redislab lab {self._rec().id}, node {node.name} ({self.name} backend)\n"
                  f"started as: {' '.join(self.display_command(node))}")
        return conf.render(node, topo, resolve=self.internal_address, basics=basics,
                           header=header)

    # ------------------------------------------------------------------ lifecycle

    def _up(self, topology: Topology) -> None:
        for node in topology.start_order():
            d = Path(self.node_dir(node.name))
            d.mkdir(parents=True, exist_ok=True)
            Path(self.conf_path(node.name)).write_text(self.render(node, topology))
            self._spawn(node.name)
        for node in topology.start_order():
            self.wait_ready(node.name)

    def _spawn(self, node: str) -> None:
        spec = self.spec(node)
        with open(self.console_path(node), "ab") as console:
            proc = subprocess.Popen(
                self.command(spec), cwd=self.node_dir(node), stdin=subprocess.DEVNULL,
                stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
                env=self.env(), close_fds=True)
        self._procs[node] = proc
        rec = self._rec()
        rec.nodes[node] = {"pid": proc.pid, "start": state.proc_start_time(proc.pid),
                           "paused": False}
        rec.save()

    def _pid(self, node: str) -> int | None:
        """The pid of ``node`` if it is alive and really is that node."""
        info = self._rec().nodes.get(node) or {}
        pid = info.get("pid")
        proc = self._procs.get(node)
        if proc is not None and proc.pid == pid:
            if proc.poll() is not None:
                return None
        start = info.get("start")
        if not state.pid_alive(pid, start):
            return None
        if start is None:  # no start time to compare (no /proc): look at the command line
            cmdline = state.pid_cmdline(pid)
            port = f":{self.spec(node).port}"
            if cmdline is not None and self.conf_path(node) not in cmdline and port not in cmdline:
                return None
        return pid

    def _signal(self, node: str, sig: int) -> bool:
        pid = self._pid(node)
        if pid is None:
            return False
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return False
        return True

    def _wait_exit(self, node: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pid(node) is None:
                return True
            time.sleep(0.03)
        return self._pid(node) is None

    def _set_paused(self, node: str, paused: bool) -> None:
        rec = self._rec()
        rec.nodes.setdefault(node, {})["paused"] = paused
        rec.save()

    def _teardown(self) -> None:
        rec = self._rec()
        order = [n.name for n in reversed(self.topology.start_order())] if self.topology else []
        names = [n for n in order if n in rec.nodes] + [n for n in rec.nodes if n not in order]
        for node in names:  # sentinels and replicas first, so masters wait for nobody
            if rec.nodes[node].get("paused"):
                self._signal(node, signal.SIGCONT)
            self._signal(node, signal.SIGTERM)
        deadline = time.monotonic() + 3.0
        for node in names:
            while self._pid(node) is not None and time.monotonic() < deadline:
                time.sleep(0.03)
            if self._pid(node) is not None:
                self._signal(node, signal.SIGKILL)
                self._wait_exit(node, 2.0)
        # nodes whose pid never made it into the record (the starter was killed right
        # after spawning them) still run in their node directory
        strays = [p for p in state.pids_in(rec.workdir)
                  if state.pid_alive(p) and "redis" in (state.pid_cmdline(p) or "")]
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in strays:
            deadline = time.monotonic() + 2.0
            while state.pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        for proc in self._procs.values():
            try:
                proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        self._procs.clear()

    # ------------------------------------------------------------------ node actions

    def is_running(self, node: str) -> bool:
        self.spec(node)
        return self._pid(node) is not None

    def start(self, node: str) -> None:
        self.spec(node)
        if self._pid(node) is not None:
            return
        self._spawn(node)
        self.wait_ready(node)

    def stop(self, node: str) -> None:
        """SHUTDOWN over RESP (SIGTERM if the node does not know SHUTDOWN), wait, then -9."""
        import redis

        self.spec(node)
        if self._pid(node) is None:
            return
        if self.is_paused(node):
            self.resume(node)
        try:
            self.exec(node, "SHUTDOWN", timeout=STOP_TIMEOUT)
        except redis.AuthenticationError:
            # NOAUTH/WRONGPASS (a password set at run time): redis-py files these under
            # ConnectionError, but the node is alive; SIGTERM makes it save and exit
            self._signal(node, signal.SIGTERM)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass  # the connection drops when the node exits: the expected outcome
        except redis.RedisError:
            self._signal(node, signal.SIGTERM)
        if not self._wait_exit(node, STOP_TIMEOUT):
            self._signal(node, signal.SIGKILL)
            self._wait_exit(node, 2.0)

    def kill(self, node: str) -> None:
        self.spec(node)
        if self._signal(node, signal.SIGKILL):
            self._wait_exit(node, 5.0)
        self._set_paused(node, False)

    def pause(self, node: str) -> None:
        self.spec(node)
        if not self._signal(node, signal.SIGSTOP):
            raise BackendError(f"{node} is not running")
        self._set_paused(node, True)

    def resume(self, node: str) -> None:
        self.spec(node)
        self._signal(node, signal.SIGCONT)
        self._set_paused(node, False)

    def address(self, node: str) -> tuple[str, int]:
        return "127.0.0.1", self.spec(node).port

    def internal_address(self, node: str) -> tuple[str, int]:
        return "127.0.0.1", self.spec(node).port

    def pid(self, node: str) -> int | None:
        return self._pid(node)

    def _check_started(self, node: str) -> None:
        if self._pid(node) is None:
            proc = self._procs.get(node)
            code = proc.poll() if proc is not None else None
            how = f" (exit code {code})" if code is not None else ""
            raise NodeStartError(f"{node} exited while starting{how}: "
                                 f"{' '.join(self.command(self.spec(node)))}"
                                 + self._log_tail(node))

    # ------------------------------------------------------------------ logs

    def log_text(self, node: str) -> str:
        parts = []
        for path in (self.log_path(node), self.console_path(node)):
            try:
                parts.append(Path(path).read_text(errors="replace"))
            except OSError:
                pass
        return "".join(parts)

    def logs(self, node: str, follow: bool = True) -> AsyncIterator[str]:
        self.spec(node)
        return tail_file(self.log_path(node), follow=follow)

    # ------------------------------------------------------------------ people

    def _equivalent(self, action: str, node: str, *args: Any) -> str:
        spec = self.spec(node)
        pid = self._pid(node) if self.record else None
        pid_s = str(pid) if pid else f"$(pgrep -f {self.conf_path(node)})"
        cli = " ".join(self.cli_args(node))
        start = " ".join(self.display_command(spec))
        return {
            "up": start,
            "start": start,
            "down": f"{cli} SHUTDOWN NOSAVE",
            "stop": f"{cli} SHUTDOWN",
            "kill": f"kill -9 {pid_s}",
            "restart": f"{cli} SHUTDOWN && {start}",
            "pause": f"kill -STOP {pid_s}",
            "resume": f"kill -CONT {pid_s}",
            "partition": f"# not possible on the {self.name} backend: use --backend engine "
                         "or docker",
            "heal": f"# not possible on the {self.name} backend: use --backend engine or "
                    "docker",
            "logs": f"tail -f {self.log_path(node)}",
        }[action]
