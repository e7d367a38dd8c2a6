"""Clients blocked on keys (BLPOP & co., BZPOPMIN & co.) and the argument parsing the
``*MPOP`` commands share.

This works as Redis' ``blocked.c``: a client that must wait registers a :class:`Waiter` on
each of its keys (FIFO per database/key) and its command returns
:class:`~redislab.engine.server.Blocked`. A command that creates a list or a sorted set
somebody waits for marks the key *ready* (:func:`signal_key`, Redis' ``signalKeyAsReady``);
once the command, or the whole MULTI/EXEC, has run and its propagation went out, a
``server.after_command_hooks`` entry serves the ready keys (``handleClientsBlockedOnKeys``),
first waiter first, and each served pop is propagated as Redis does (``LPOP key``,
``LMOVE ...``, ``ZPOPMIN key``...). The master's stream on a replica runs through the same
path, so a replica serves its own blocked clients too.

The hook sits in ``server.after_command_hooks`` only while some client waits, so the
command path pays nothing otherwise. How a waiter is served is the family's business
(``Waiter.serve``: ``lists._serve_list``, ``zsets._serve_zset``).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import deque
from typing import Any, Callable

from .. import errors as E
from ..errors import CommandError
from ..keyspace import ZSet
from ..resp import NULL_ARRAY, ErrorReply
from ..server import Blocked, Client
from .keys import lookup_write
from .util import INT64_MAX, parse_int


def _kind(value: Any) -> str | None:
    t = type(value)
    return "list" if t is deque else "zset" if t is ZSet else None


# --------------------------------------------------------------------------- *MPOP arguments


def parse_mpop(args: list[bytes], numkeys_idx: int,
               sides: tuple[bytes, bytes]) -> tuple[list[bytes], int, int]:
    """``LMPOP``/``BLMPOP``/``ZMPOP``/``BZMPOP`` arguments: ``numkeys key... side [COUNT n]``
    from ``args[numkeys_idx]`` on, ``sides`` the two side words in lower case (``left``/
    ``right`` or ``min``/``max``). Returns (keys, side index 0 or 1, count)."""
    try:
        numkeys = parse_int(args[numkeys_idx])
    except CommandError:
        raise CommandError(E.NUMKEYS_POSITIVE) from None
    if numkeys < 1:
        raise CommandError(E.NUMKEYS_POSITIVE)
    where_idx = numkeys_idx + numkeys + 1
    n = len(args)
    if where_idx >= n:
        raise CommandError(E.SYNTAX)
    side = args[where_idx].lower()
    if side == sides[0]:
        where = 0
    elif side == sides[1]:
        where = 1
    else:
        raise CommandError(E.SYNTAX)
    count = -1
    j = where_idx + 1
    while j < n:
        if count == -1 and j + 1 < n and args[j].lower() == b"count":
            try:
                count = parse_int(args[j + 1])
            except CommandError:
                raise CommandError(E.COUNT_POSITIVE) from None
            if count < 1 or count > INT64_MAX:
                raise CommandError(E.COUNT_POSITIVE)
            j += 2
        else:
            raise CommandError(E.SYNTAX)
    return args[numkeys_idx + 1 : where_idx], where, (1 if count == -1 else count)


# --------------------------------------------------------------------------- waiters


class Waiter:
    """A client blocked on one or more keys."""

    __slots__ = (
        "client", "db_index", "keys", "kind", "cmd", "where", "whereto", "target", "count",
        "fut", "timer", "closer", "serve",
    )

    def __init__(self, client: Client, kind: str, cmd: str, serve: Callable[..., bool]):
        self.client = client
        self.db_index = client.db.index
        self.keys: list[bytes] = []
        self.kind = kind  # "list" or "zset"
        self.cmd = cmd
        self.where = 0  # 0 = head / min, 1 = tail / max
        self.whereto = 0
        self.target: bytes | None = None
        self.count = -1
        self.fut: asyncio.Future[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.closer: Callable[[Client], None] | None = None
        # serve(state, waiter, db, key, value) -> True when the key was emptied
        self.serve = serve


# commands that signal the keys they create themselves (or cannot create a list or a
# sorted set): after any other command that changed the dataset, the keys clients wait
# for are checked (RENAME, COPY, MOVE, RESTORE, SORT ... STORE, an EXEC... create keys
# through the keyspace, where we cannot see it happen)
_SELF_SIGNALING = frozenset({
    "lpush", "rpush", "lpushx", "rpushx", "lmove", "rpoplpush", "linsert", "lset", "lpop",
    "rpop", "lrem", "ltrim", "lmpop", "blpop", "brpop", "blmpop", "blmove", "brpoplpush",
    "zadd", "zincrby", "zrem", "zunionstore", "zinterstore", "zdiffstore", "zrangestore",
    "zpopmin", "zpopmax", "zmpop", "bzpopmin", "bzpopmax", "bzmpop", "zremrangebyscore",
    "zremrangebyrank", "zremrangebylex", "sadd", "srem", "hset", "hmset", "hsetnx", "hdel",
    "hincrby", "hincrbyfloat", "smove", "spop", "sinterstore", "sunionstore", "sdiffstore",
    "set", "get", "incr", "decr", "del", "unlink", "expire", "pexpire", "select", "ping",
})


class BlockState:
    """Per-server blocking state (attached to the server on first use)."""

    def __init__(self, server: Any):
        self.server = server
        # (db index, key) -> waiters in arrival order (a dict used as an ordered set)
        self.waiting: dict[tuple[int, bytes], dict[Waiter, None]] = {}
        self.by_client: dict[Client, Waiter] = {}
        self.ready: dict[tuple[int, bytes], None] = {}
        self.serving = False
        self.dirty_seen = 0
        self.hook = self.after_command
        self.reaper: asyncio.TimerHandle | None = None

    # ---------------------------------------------------------------- registration

    def add(self, w: Waiter, keys: list[bytes], timeout_ms: int) -> Blocked:
        loop = asyncio.get_running_loop()
        w.fut = loop.create_future()
        unique = list(dict.fromkeys(keys))
        for key in unique:
            self.waiting.setdefault((w.db_index, key), {})[w] = None
        w.keys = unique
        self.by_client[w.client] = w
        if timeout_ms > 0:
            w.timer = loop.call_later(timeout_ms / 1000.0, self._timed_out, w)

        def closer(_c: Client, w: Waiter = w) -> None:
            w.closer = None  # the client is iterating its on_close list: leave it alone
            self.remove(w)
            if w.fut is not None and not w.fut.done():
                w.fut.cancel()

        w.closer = closer
        w.client.on_close.append(closer)
        hooks = self.server.after_command_hooks
        if self.hook not in hooks:
            self.dirty_seen = self.server.keyspace.dirty
            hooks.append(self.hook)
        if self.reaper is None:
            self.reaper = loop.call_later(1.0, self._reap)
        return Blocked(w.fut)

    def _reap(self) -> None:
        """Once a second while clients wait: drop the ones whose peer went away (Redis
        notices at once; our server does not read from blocked clients)."""
        self.reaper = None
        for w in list(self.by_client.values()):
            if peer_gone(w.client):
                self.remove(w)
                w.client.close()
                if w.fut is not None and not w.fut.done():
                    w.fut.cancel()
        if self.by_client:
            self.reaper = asyncio.get_event_loop().call_later(1.0, self._reap)

    def remove(self, w: Waiter) -> None:
        for key in w.keys:
            k = (w.db_index, key)
            q = self.waiting.get(k)
            if q is not None:
                q.pop(w, None)
                if not q:
                    del self.waiting[k]
        w.keys = []
        if self.by_client.get(w.client) is w:
            del self.by_client[w.client]
        if w.timer is not None:
            w.timer.cancel()
            w.timer = None
        if w.closer is not None:
            try:
                w.client.on_close.remove(w.closer)
            except ValueError:
                pass
            w.closer = None
        if not self.waiting and not self.serving:
            self._unhook()

    def _unhook(self) -> None:
        self.ready.clear()
        hooks = self.server.after_command_hooks
        if self.hook in hooks:
            hooks.remove(self.hook)

    def finish(self, w: Waiter, reply: Any) -> None:
        """Unblock ``w`` with ``reply``."""
        self.remove(w)
        if w.fut is not None and not w.fut.done():
            w.fut.set_result(reply)

    def _timed_out(self, w: Waiter) -> None:
        w.timer = None
        self.finish(w, NULL_ARRAY)

    # ---------------------------------------------------------------- readiness

    def signal(self, db_index: int, key: bytes) -> None:
        k = (db_index, key)
        if k in self.waiting and k not in self.ready:
            self.ready[k] = None

    def after_command(self, c: Client, cmd: Any, args: list[bytes]) -> None:
        """``server.after_command_hooks`` entry (installed while clients wait)."""
        dirty = self.server.keyspace.dirty
        foreign = dirty != self.dirty_seen and (
            cmd.parent is not None or cmd.name not in _SELF_SIGNALING)
        self.dirty_seen = dirty
        if self.ready or foreign:
            self.serve(foreign)
            self.dirty_seen = self.server.keyspace.dirty

    def _scan_foreign(self) -> None:
        """Keys made ready by commands of other families (RENAME, COPY, RESTORE...)."""
        dbs = self.server.keyspace.dbs
        for (dbi, key), q in list(self.waiting.items()):
            if (dbi, key) in self.ready or dbi >= len(dbs):
                continue
            kind = _kind(lookup_write(dbs[dbi], key))
            if kind is not None and any(w.kind == kind for w in q):
                self.ready[(dbi, key)] = None

    def serve(self, scan: bool = False) -> None:
        """``handleClientsBlockedOnKeys``."""
        if self.serving:
            return
        self.serving = True
        try:
            if scan:
                self._scan_foreign()
            while self.ready:
                batch = self.ready
                self.ready = {}
                for dbi, key in batch:
                    self._serve_key(dbi, key)
        finally:
            self.serving = False
        if not self.waiting:
            self._unhook()

    def _serve_key(self, dbi: int, key: bytes) -> None:
        q = self.waiting.get((dbi, key))
        if not q:
            return
        dbs = self.server.keyspace.dbs
        if dbi >= len(dbs):
            return
        db = dbs[dbi]
        for w in list(q):
            value = lookup_write(db, key)
            if not value:
                return
            if w.kind != _kind(value):
                continue
            if w.fut is None or w.fut.done():
                self.remove(w)
                continue
            if peer_gone(w.client):
                self.remove(w)
                w.client.close()
                if not w.fut.done():
                    w.fut.cancel()
                continue
            if w.serve(self, w, db, key, value):
                return

    def count_error(self, text: bytes) -> None:
        counter = getattr(self.server, "_count_error", None)
        if counter is not None:
            counter(text)


def peer_gone(c: Client) -> bool:
    """True if the client's connection is closed, even if nobody noticed yet.

    The server stops reading from a blocked client, so a disconnect is only seen when it
    resumes reading; before handing it an element we peek at the socket ourselves."""
    if c.closed:
        return True
    t = c.transport
    if t is None:
        return False
    if t.is_closing():
        return True
    sock = t.get_extra_info("socket")
    if sock is None:
        return False
    try:
        fd = sock.fileno()
        if fd < 0:
            return True
        probe = socket.socket(fileno=os.dup(fd))
        try:
            data = probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        finally:
            probe.close()
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b""


def block_state(server: Any) -> BlockState:
    st = server.__dict__.get("_collections_blocking")
    if st is None:
        st = BlockState(server)
        server.__dict__["_collections_blocking"] = st
    return st


def block(c: Client, kind: str, cmd: str, serve: Callable[..., bool], keys: list[bytes],
          timeout_ms: int, *, where: int = 0, whereto: int = 0, target: bytes | None = None,
          count: int = -1, timeout_reply: Any = NULL_ARRAY) -> Any:
    """Make ``c`` wait on ``keys`` (``blockForKeys``), or give ``timeout_reply`` at once
    where a client may not block (inside MULTI/EXEC, the master link, the AOF)."""
    if c.transport is None or "master" in c.flags or c.server.in_exec:
        return timeout_reply
    w = Waiter(c, kind, cmd, serve)
    w.where = where
    w.whereto = whereto
    w.target = target
    w.count = count
    return block_state(c.server).add(w, keys, timeout_ms)


def signal_key(c: Client, key: bytes) -> None:
    """A list or sorted set was created at ``key``: wake its waiters after this command
    (Redis' ``signalKeyAsReady`` from ``dbAdd``)."""
    st = c.server.__dict__.get("_collections_blocking")
    if st is not None and st.waiting:
        st.signal(c.db.index, key)


def signal_db_key(server: Any, db_index: int, key: bytes) -> None:
    st = server.__dict__.get("_collections_blocking")
    if st is not None and st.waiting:
        st.signal(db_index, key)


def unblock_client(c: Client, error: bool = False) -> bool:
    """CLIENT UNBLOCK for list and sorted set waits: True if ``c`` was blocked here.
    With ``error`` the client gets ``-UNBLOCKED``, otherwise the timeout reply."""
    st = c.server.__dict__.get("_collections_blocking")
    if st is None:
        return False
    w = st.by_client.get(c)
    if w is None:
        return False
    if error:
        st.count_error(E.UNBLOCKED_CLIENT.encode())
        st.finish(w, ErrorReply(E.UNBLOCKED_CLIENT.encode()))
    else:
        st.finish(w, NULL_ARRAY)
    return True


def disconnect_all_blocked(server: Any) -> int:
    """``disconnectAllBlockedClients`` (a master turning into a replica)."""
    st = server.__dict__.get("_collections_blocking")
    if st is None:
        return 0
    waiters = list(st.by_client.values())
    for w in waiters:
        w.client.close_after_reply()
        st.count_error(E.UNBLOCKED_ROLE.encode())
        st.finish(w, ErrorReply(E.UNBLOCKED_ROLE.encode()))
    return len(waiters)


def blocked_clients(server: Any) -> int:
    st = server.__dict__.get("_collections_blocking")
    return len(st.by_client) if st is not None else 0
