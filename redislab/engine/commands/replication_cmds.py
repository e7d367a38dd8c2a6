"""Replication commands: REPLICAOF / SLAVEOF, ROLE, SYNC, PSYNC, REPLCONF, WAIT.

The logic lives in :mod:`redislab.engine.replication`; importing this module also makes
every new :class:`~redislab.engine.server.Server` get its replication state (through
``Server.init_hooks``).
"""

from __future__ import annotations

from typing import Any

from .. import replication
from ..server import Client, Server
from . import command

if replication.attach not in Server.init_hooks:
    Server.init_hooks.append(replication.attach)


def _stream_db(server: Server) -> int:
    """The database the replication stream has selected (the RDB's repl-stream-db)."""
    repl = getattr(server, "repl", None)
    if repl is None:
        return 0
    info = repl.save_info()
    return info["repl-stream-db"] if info is not None else 0


if not hasattr(Server, "repl_stream_db"):
    Server.repl_stream_db = property(_stream_db)  # type: ignore[attr-defined]


@command("replicaof", 3, "admin noscript stale no_async_loading", group="server")
def replicaof(c: Client, args: list[bytes]) -> Any:
    return c.server.repl.replicaof_command(c, args)


@command("slaveof", 3, "admin noscript stale no_async_loading", group="server")
def slaveof(c: Client, args: list[bytes]) -> Any:
    return c.server.repl.replicaof_command(c, args)


@command("role", 1, "noscript loading stale fast sentinel", group="server")
def role(c: Client, args: list[bytes]) -> Any:
    return c.server.repl.role_reply()


@command("sync", 1, "admin noscript no_multi no_async_loading", group="server")
def sync(c: Client, args: list[bytes]) -> Any:
    return c.server.repl.sync_command(c, args)


@command("psync", -3, "admin noscript no_multi no_async_loading", group="server")
def psync(c: Client, args: list[bytes]) -> Any:
    return c.server.repl.sync_command(c, args)


@command("replconf", -1, "admin noscript loading stale allow_busy", group="server")
def replconf(c: Client, args: list[bytes]) -> Any:
    return c.server.repl.replconf_command(c, args)


@command("wait", 3, "noscript", group="generic")
def wait(c: Client, args: list[bytes]) -> Any:
    return c.server.repl.wait_command(c, args)


@command("failover", -1, "admin noscript stale", group="server")
def failover(c: Client, args: list[bytes]) -> Any:
    return c.server.repl.failover_command(c, args)
