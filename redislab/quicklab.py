"""``redislab`` with no arguments, until the TUI lands: a three-node engine lab on this
machine (one master, two replicas once replication is in) and a usage screen."""

from __future__ import annotations

import asyncio
import socket

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

BASE_PORT = 6379


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_ports(n: int = 3) -> list[int]:
    for base in range(BASE_PORT, BASE_PORT + 1000, 10):
        ports = list(range(base, base + n))
        if all(_free(p) for p in ports):
            return ports
    raise SystemExit("redislab: no three free consecutive ports found from 6379 up")


def run_quick_lab() -> int:
    from .engine.config import Config
    from .engine.log import Logger
    from .engine.server import Server

    console = Console()
    ports = _pick_ports()
    names = ["node1", "node2", "node3"]
    logs: list[str] = []

    async def main() -> None:
        servers = []
        for name, port in zip(names, ports):
            cfg = Config()
            cfg.load_text(f"port {port}\nsave \"\"\n")
            logger = Logger(role=lambda: "M")
            logger.set_file("/dev/null")
            logger.subscribers.append(lambda line, n=name: logs.append(f"[{n}] {line}"))
            srv = Server(cfg, logger=logger)
            await srv.start()
            servers.append(srv)
        table = Table(title="redislab quick lab: three built-in engine nodes")
        table.add_column("node")
        table.add_column("address")
        table.add_column("try")
        for name, port in zip(names, ports):
            table.add_row(name, f"127.0.0.1:{port}", f"redis-cli -p {port} INFO replication")
        console.print(table)
        console.print(Panel(
            "Each node is a real Redis endpoint: use redis-cli, redis-benchmark or redis-py.\n"
            f"Make node2 a replica of node1:  redis-cli -p {ports[1]} REPLICAOF 127.0.0.1 {ports[0]}\n"
            f"Write on node1, read on node2:  redis-cli -p {ports[0]} SET k v; "
            f"redis-cli -p {ports[1]} GET k\n\n"
            "Other commands: redislab --help  (server, and more as they land)\n"
            "Press Ctrl-C to stop the lab.",
            title="usage",
        ))
        try:
            await asyncio.Event().wait()
        finally:
            for srv in servers:
                srv.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        console.print("lab stopped.")
    return 0
