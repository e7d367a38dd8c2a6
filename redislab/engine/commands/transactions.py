"""MULTI / EXEC / DISCARD / WATCH / UNWATCH."""

from __future__ import annotations

from typing import Any

from .. import errors as E
from ..errors import CommandError
from ..resp import NULL_ARRAY, OK, ErrorReply
from ..server import Client
from . import command


@command("multi", 1, "noscript loading stale fast allow_busy", group="transactions")
def multi(c: Client, args: list[bytes]) -> Any:
    if c.multi is not None:
        raise CommandError(E.MULTI_NESTED)
    c.multi = []
    c.multi_error = False
    return OK


@command("exec", 1, "noscript loading stale skip_slowlog", group="transactions")
def exec_(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    if c.multi is None:
        raise CommandError(E.EXEC_NO_MULTI)
    if c.multi_error:
        c.multi = None
        c.multi_error = False
        srv.unwatch_all(c)
        raise CommandError(E.EXECABORT)
    if c.dirty_cas:
        c.multi = None
        srv.unwatch_all(c)
        return NULL_ARRAY
    srv.unwatch_all(c)
    # a write queued on a master that has since become a read-only replica fails as a whole
    if srv.role == "slave" and srv.config["replica-read-only"] and "master" not in c.flags:
        if any(cmd.is_write for cmd, _ in c.multi):
            c.multi = None
            raise CommandError("EXECABORT Transaction discarded because of: " + E.READONLY)
    return srv.run_transaction(c)


@command("discard", 1, "noscript loading stale fast allow_busy", group="transactions")
def discard(c: Client, args: list[bytes]) -> Any:
    if c.multi is None:
        raise CommandError(E.DISCARD_NO_MULTI)
    c.multi = None
    c.multi_error = False
    c.server.unwatch_all(c)
    return OK


@command("watch", -2, "noscript loading stale fast allow_busy", keys=(1, -1, 1), group="transactions")
def watch(c: Client, args: list[bytes]) -> Any:
    if c.multi is not None:
        raise CommandError(E.WATCH_IN_MULTI)
    for key in args[1:]:
        c.server.watch(c, key)
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy", group="transactions")
def unwatch(c: Client, args: list[bytes]) -> Any:
    c.server.unwatch_all(c)
    return OK


__all__ = ["ErrorReply"]
