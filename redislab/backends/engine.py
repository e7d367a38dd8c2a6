"""The engine backend: every node is a built-in engine node, ``python -m redislab server
<conf>`` (``python -m redislab sentinel <conf>`` for sentinels), run as a subprocess on
127.0.0.1. Nothing to install: the default backend.

Pause is SIGSTOP / SIGCONT. Partition is not supported: all nodes share 127.0.0.1 and
cutting one off would need root and the host's firewall (use the docker backend).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..topology import NodeSpec
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
