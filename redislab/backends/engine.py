"""The engine backend: every node is a built-in engine node, ``python -m redislab server
<conf>`` (``python -m redislab sentinel <conf>`` for sentinels), run as a subprocess on
127.0.0.1. Nothing to install: the default backend.

Pause is SIGSTOP / SIGCONT. Partition / heal: all nodes share 127.0.0.1, so instead of a
firewall the node itself drops its links: ``DEBUG PARTITION ON`` (an engine-only DEBUG
subcommand; every node's conf says ``enable-debug-command local`` so it can be typed from
the host) closes and refuses its replication links (to its master and from its replicas),
its cluster bus links and its links with sentinels; ``DEBUG PARTITION OFF`` lets them come
back by the normal reconnects (a replica resyncs, partially when it can). Unlike docker,
where the host loses a partitioned container too, clients from the host (redis-cli, the
lab's polling) are still served: a learner can look at the cut-off node, e.g. an old master
still taking writes during a split brain. A new process (start after stop or kill) is not
partitioned.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..topology import NodeSpec
from .errors import BackendError
from .local import LocalBackend

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class EngineBackend(LocalBackend):
    name = "engine"

    def command(self, node: NodeSpec) -> list[str]:
        mode = "sentinel" if node.is_sentinel else "server"
        return [sys.executable, "-m", "redislab", mode, self.conf_path(node.name)]

    def display_command(self, node: NodeSpec) -> list[str]:
        mode = "sentinel" if node.is_sentinel else "server"
        return ["redislab", mode, self.conf_path(node.name)]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + path if path else "")
        return env

    def conf_extra(self, node: NodeSpec) -> list[tuple[str, tuple[str, ...]]]:
        # DEBUG (and so DEBUG PARTITION, what partition / heal send) from 127.0.0.1 only
        return [("enable-debug-command", ("local",))]

    # ------------------------------------------------------------------ partition

    def partition(self, node: str) -> None:
        """Cut ``node`` off from the other nodes: ``DEBUG PARTITION ON`` over RESP. It drops
        and refuses its links with them (master link, replicas, cluster bus, sentinels);
        the host can still talk to it (docker's partition hides it from the host too)."""
        self._debug_partition(node, True)

    def heal(self, node: str) -> None:
        """``DEBUG PARTITION OFF``: the links come back by the normal reconnects."""
        self._debug_partition(node, False)

    def _debug_partition(self, node: str, on: bool) -> None:
        import redis

        action = "partition" if on else "heal"
        self.spec(node)
        if self._pid(node) is None:
            if on:
                raise BackendError(f"{action} {node}: it is not running")
            self._set_partitioned(node, False)  # a new process starts unpartitioned
            return
        if self.is_paused(node):
            raise BackendError(f"{action} {node}: it is paused (resume it first)")
        try:
            self.exec(node, "DEBUG", "PARTITION", "ON" if on else "OFF")
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise BackendError(f"{action} {node}: no reply ({exc})") from None
        except redis.ResponseError as exc:
            raise BackendError(f"{action} {node}: {exc}") from None
        self._set_partitioned(node, on)

    def _set_partitioned(self, node: str, on: bool) -> None:
        rec = self._rec()
        rec.nodes.setdefault(node, {})["partitioned"] = on
        rec.save()

    def _equivalent(self, action: str, node: str, *args: Any) -> str:
        if action in ("partition", "heal"):
            cli = " ".join(self.cli_args(node))
            if action == "partition":
                return (f"{cli} DEBUG PARTITION ON  # drops its links to the other nodes; "
                        "redis-cli from the host still works")
            return f"{cli} DEBUG PARTITION OFF  # the links come back by themselves"
        return super()._equivalent(action, node, *args)
