"""Pausing the commands that may write (Redis' ``pauseClients(..., CLIENT_PAUSE_WRITE)``).

A coordinated failover pauses writes while a replica catches up: CLUSTER FAILOVER on the
master side (cluster.py) and the FAILOVER command (replication.py). Each owner pauses under
its own purpose; writes run again when no purpose holds the pause. While paused, a command
that may write (or an EXEC holding one) blocks its client and runs as if just received when
the pause ends -- through the guards again, so a master demoted meanwhile answers READONLY.
Replication links (the master's stream, replicas) are never paused, nor is active expiry
allowed to delete keys behind the pause.

The server's command table is swapped for one whose write commands postpone themselves, so
the command path pays nothing while no pause is in effect.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any, Callable

from .errors import CommandError

if TYPE_CHECKING:  # pragma: no cover
    from .server import Client, Command, Server


class WritePause:
    def __init__(self, server: "Server") -> None:
        self.server = server
        self.purposes: set[str] = set()
        self.normal_table: dict[bytes, Any] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self._saved_active_expire = True

    @property
    def active(self) -> bool:
        return self.normal_table is not None

    def pause(self, purpose: str) -> None:
        self.purposes.add(purpose)
        if self.normal_table is not None:
            return
        srv = self.server
        loop = srv.loop or asyncio.get_event_loop()
        self.waiter = loop.create_future()
        self.normal_table = srv.commands
        table = dict(srv.commands)
        for name, cmd in srv.commands.items():
            if cmd.subcommands is not None or "blocking" in cmd.flags:
                continue
            if cmd.is_write or "may_replicate" in cmd.flags or name == b"exec":
                table[name] = dataclasses.replace(cmd, handler=self._postponing(cmd))
        srv.commands = table
        self._saved_active_expire = getattr(srv, "active_expire_enabled", True)
        srv.active_expire_enabled = False  # type: ignore[attr-defined]

    def unpause(self, purpose: str) -> None:
        self.purposes.discard(purpose)
        if self.purposes or self.normal_table is None:
            return
        srv = self.server
        srv.commands = self.normal_table
        self.normal_table = None
        srv.active_expire_enabled = self._saved_active_expire  # type: ignore[attr-defined]
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _postponing(self, cmd: "Command") -> Callable[["Client", list[bytes]], Any]:
        from .server import Blocked

        def handler(c: "Client", args: list[bytes]) -> Any:
            if ("master" in c.flags or "slave" in c.flags or c.server.in_exec
                    or self.normal_table is None):
                return cmd.handler(c, args)  # type: ignore[misc]
            if cmd.name == "exec" and not any(q.is_write or "may_replicate" in q.flags
                                              for q, _ in (c.multi or ())):
                return cmd.handler(c, args)  # type: ignore[misc]
            return Blocked(self._postponed(cmd, c, args))

        return handler

    async def _postponed(self, cmd: "Command", c: "Client", args: list[bytes]) -> Any:
        from .resp import ErrorReply

        while self.waiter is not None:
            await asyncio.shield(self.waiter)
        srv = self.server
        real = srv.commands.get(cmd.name.encode(), cmd)
        try:
            for guard in srv.guards:
                guard(c, real, args)
        except CommandError as exc:
            real.rejected_calls += 1
            srv._count_error(exc.text)
            return ErrorReply(exc.text)
        return srv.execute(c, real, args, [])
