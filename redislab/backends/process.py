"""The process backend: real ``redis-server`` / ``redis-sentinel`` binaries from PATH
(Debian's packages or an upstream build), one subprocess per node on 127.0.0.1.

Pause is SIGSTOP / SIGCONT. Partition is not supported: all nodes share 127.0.0.1 and
redis-server has no way to drop its own links (use the engine or docker backend).
"""

from __future__ import annotations

import shutil

from ..topology import NodeSpec, Topology
from .errors import BackendError
from .local import LocalBackend

INSTALL_HINT = (
    "Install Redis: `sudo apt-get install redis-server redis-sentinel redis-tools` "
    "(Debian/Ubuntu), `brew install redis` (macOS), or build it from source and put "
    "redis-server and redis-sentinel on PATH. Or use --backend engine, which needs nothing."
)


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackendError(f"{name} not found on PATH. {INSTALL_HINT}")
    return path


class ProcessBackend(LocalBackend):
    name = "process"

    def _preflight(self, topology: Topology) -> None:
        binary("redis-server")
        if topology.sentinels:
            binary("redis-sentinel")

    def command(self, node: NodeSpec) -> list[str]:
        prog = "redis-sentinel" if node.is_sentinel else "redis-server"
        return [shutil.which(prog) or prog, self.conf_path(node.name)]
