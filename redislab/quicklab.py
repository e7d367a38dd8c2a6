"""``redislab`` with no arguments, until the TUI lands: three fresh built-in engine nodes
(the start of the first lesson) and a usage screen. Ctrl-C tears the lab down.

It goes through the engine backend like any lab, so ``redislab status``, ``redislab exec``
and ``redislab logs`` work on it from another terminal.
"""

from __future__ import annotations

import signal
import time

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from . import topology
from .backends import BackendError, get_backend
from .backends.base import port_free

BASE_PORT = 6379


def _base_port(n: int = 3) -> int:
    for base in range(BASE_PORT, BASE_PORT + 1000, 10):
        if all(port_free(p) for p in range(base, base + n)):
            return base
    raise BackendError("no three free consecutive ports found from 6379 up")


def run_quick_lab() -> int:
    console = Console()
    try:
        topo = topology.standalone(3, base_port=_base_port())
        lab = get_backend("engine")
        with console.status("starting three engine nodes..."):
            lab.up(topo)
    except BackendError as exc:
        console.print(f"[red]redislab: {exc}[/red]")
        return 1
    try:
        table = Table(title=f"redislab lab {lab.lab_id}: three built-in engine nodes")
        for col in ("node", "address", "try"):
            table.add_column(col)
        ports = []
        for node in topo.names:
            host, port = lab.address(node)
            ports.append(port)
            table.add_row(node, f"{host}:{port}", f"redis-cli -p {port} INFO replication")
        console.print(table)
        a, b, c = ports
        console.print(Panel(
            "Each node is a real Redis endpoint: use redis-cli, redis-benchmark or redis-py.\n\n"
            f"  Make node2 and node3 replicas of node1:\n"
            f"    redis-cli -p {b} REPLICAOF 127.0.0.1 {a}\n"
            f"    redis-cli -p {c} REPLICAOF 127.0.0.1 {a}\n"
            f"  Write on node1, read on a replica:\n"
            f"    redis-cli -p {a} SET k v && redis-cli -p {b} GET k\n"
            f"  Try writing on a replica:   redis-cli -p {b} SET x 1\n\n"
            "From another terminal:  redislab status | redislab exec node2 INFO replication |"
            " redislab logs node1 -f\n"
            "Press Ctrl-C to stop the lab and remove its nodes.",
            title="usage",
        ))
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        with console.status("stopping the lab..."):
            lab.down()
        console.print("lab stopped.")
    return 0
