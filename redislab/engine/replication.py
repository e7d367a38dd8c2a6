"""Master/replica replication, wire-compatible with Redis 7.0 (PSYNC2).

One :class:`Replication` object is attached to every :class:`~redislab.engine.server.Server`
(``server.repl``). It plays both roles, as a Redis instance does:

* **Master side** — replicas are ordinary client connections that sent ``REPLCONF`` and
  ``PSYNC``/``SYNC``. A partial resync (``+CONTINUE``) is served from the replication
  backlog when the replication ID matches (or the secondary ID, up to
  ``second_repl_offset``) and the offset is still in it; otherwise a full resync
  (``+FULLRESYNC <replid> <offset>``) sends an RDB, either as ``$<len>`` (disk target) or
  as ``$EOF:<40 bytes mark>`` ... ``<mark>`` (diskless, after ``repl-diskless-sync-delay``
  seconds to let more replicas join), followed by the write stream. Every write reaches
  replicas through a ``server.propagate_hooks`` entry that encodes it into the stream
  (with a ``SELECT`` whenever the database changes), appends it to the backlog and to
  each online replica once per event-loop iteration.
* **Replica side** — a task connects to the master and performs Redis' handshake (PING,
  AUTH, REPLCONF listening-port / ip-address / capa, PSYNC), loads the RDB of a full
  resync (flushing old data first), then applies the stream through the normal command
  table as a client flagged ``master``. The applied bytes are counted (the replication
  offset), kept in the backlog and forwarded unchanged to our own replicas (chained
  replication), so a whole chain shares one replication ID and offsets. ``REPLCONF ACK``
  goes to the master every second and on ``REPLCONF GETACK``. A lost link is retried
  every second, trying a partial resync from the cached master state first.

Log lines, INFO fields, error texts and state names follow Redis 7.0.15.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any, Callable

from .commands.util import parse_int
from .errors import CommandError
from .resp import ProtocolError, encode_command

if TYPE_CHECKING:  # pragma: no cover
    from .server import Client, Server

NULL_REPLID = "0" * 40
CAPA_EOF = 1
CAPA_PSYNC2 = 2
BACKLOG_MIN_SIZE = 16 * 1024
SYNCIO_TIMEOUT = 5.0  # Redis' repl_syncio_timeout, seconds
READ_CHUNK = 256 * 1024

# FAILOVER states (INFO's master_failover_state)
NO_FAILOVER, FAILOVER_WAIT_FOR_SYNC, FAILOVER_IN_PROGRESS = (
    "no-failover", "waiting-for-sync", "failover-in-progress")

# per-replica states, as Redis names them (INFO shows the text in parentheses)
WAIT_BGSAVE_START = "wait_bgsave_start"  # (wait_bgsave)
WAIT_BGSAVE_END = "wait_bgsave_end"  # (wait_bgsave)
SEND_BULK = "send_bulk"
ONLINE = "online"
RDB_TRANSMITTED = "rdb_transmitted"

_STATE_TEXT = {
    WAIT_BGSAVE_START: "wait_bgsave", WAIT_BGSAVE_END: "wait_bgsave",
    SEND_BULK: "send_bulk", ONLINE: "online", RDB_TRANSMITTED: "rdb_transmitted",
}

# link states of the replica side (ROLE shows them; 'handshake' covers every step between
# the connect and the PSYNC reply, 'sync' is the RDB transfer)
NONE, CONNECT, CONNECTING, HANDSHAKE, TRANSFER, CONNECTED = (
    "none", "connect", "connecting", "handshake", "sync", "connected")

READONLY_ERR = "READONLY You can't write against a read only replica."
MASTERDOWN_ERR = ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set "
                  "to 'no'.")
NOREPLICAS_ERR = "NOREPLICAS Not enough good replicas to write."
WAIT_ON_REPLICA_ERR = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
    "if a replica is configured to be writable (which is not the default) writes to replicas "
    "are just local and are not propagated.")

_SELECT = {i: encode_command([b"SELECT", b"%d" % i]) for i in range(16)}
_PING = encode_command([b"PING"])
_GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])


def new_replid() -> str:
    return os.urandom(20).hex()


def _select_cmd(db: int) -> bytes:
    cmd = _SELECT.get(db)
    return cmd if cmd is not None else encode_command([b"SELECT", b"%d" % db])


def _encode(argv: list[Any]) -> bytes:
    """A write as the replication stream carries it (RESP multibulk)."""
    parts = [b"*%d\r\n" % len(argv)]
    append = parts.append
    try:
        for a in argv:
            append(b"$%d\r\n%s\r\n" % (len(a), a))
    except TypeError:  # an int or str slipped into a rewritten argv
        return encode_command(argv)
    return b"".join(parts)


def canonical_len(args: list[bytes]) -> int:
    """Bytes of ``args`` encoded as a RESP multibulk (what a master sends)."""
    n = 3 + len(str(len(args)))
    for a in args:
        la = len(a)
        n += la + 5 + len(str(la))
    return n


def _partial_len(parser: Any) -> int:
    """Bytes the request parser consumed for a request it has not finished yet."""
    args = parser.args
    if args is None:
        return 0
    n = 3 + len(str(len(args) + parser.remaining))
    for a in args:
        la = len(a)
        n += la + 5 + len(str(la))
    if parser.bulk_chunks is not None:
        n += 3 + len(str(parser.bulk_need))
    return n


def _strerror(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    if isinstance(exc, (asyncio.IncompleteReadError, EOFError)):
        return "connection lost"
    return str(exc) or exc.__class__.__name__


class Backlog:
    """The replication backlog: the last ``size`` bytes of the stream and their offsets.

    ``end`` is the offset of the last byte stored (the master offset when the backlog is
    up to date); the first byte held is ``first`` = ``end - histlen + 1``. Bytes are kept
    in a bytearray trimmed to ``size`` once it grows to twice that, so appends stay O(1)
    amortized."""

    __slots__ = ("buf", "size", "end")

    def __init__(self, size: int, master_offset: int):
        self.buf = bytearray()
        self.size = max(size, BACKLOG_MIN_SIZE)
        self.end = master_offset  # nothing yet: the next byte is master_offset + 1

    @property
    def histlen(self) -> int:
        return min(len(self.buf), self.size)

    @property
    def first(self) -> int:
        return self.end - self.histlen + 1

    def append(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        self.end += len(data)
        if len(buf) >= 2 * self.size:
            del buf[: len(buf) - self.size]

    def resize(self, size: int) -> None:
        self.size = max(size, BACKLOG_MIN_SIZE)
        if len(self.buf) > self.size:
            del self.buf[: len(self.buf) - self.size]

    def has(self, offset: int) -> bool:
        return self.first <= offset <= self.end + 1

    def since(self, offset: int) -> bytes:
        """The stream from ``offset`` (inclusive) to the end."""
        n = self.end - offset + 1
        if n <= 0:
            return b""
        return bytes(self.buf[len(self.buf) - n :])


class ReplicaLink:
    """What a master knows about one replica connection (Redis' ``client->repl*``)."""

    __slots__ = (
        "client", "state", "listening_port", "announced_ip", "capa", "ack_off", "ack_time",
        "initial_offset", "buffer", "start_on_ack", "pre_psync", "rdb_only", "rdb_filter",
        "registered",
    )

    def __init__(self, client: "Client"):
        self.client = client
        self.state = ""
        self.listening_port = 0
        self.announced_ip = ""
        self.capa = 0
        self.ack_off = 0
        self.ack_time = time.time()
        self.initial_offset = -1
        self.buffer: list[bytes] = []  # stream held back until the replica is online
        self.start_on_ack = False
        self.pre_psync = False
        self.rdb_only = False
        self.rdb_filter: str | None = None
        self.registered = False

    @property
    def streaming(self) -> bool:
        return self.state == ONLINE and not self.start_on_ack

    def ip(self) -> str:
        if self.announced_ip:
            return self.announced_ip
        addr = self.client.addr
        return addr.rsplit(":", 1)[0] if ":" in addr else addr

    def name(self) -> str:
        """``ip:port`` as Redis' ``replicationGetSlaveName`` prints a replica."""
        ip = self.ip()
        if self.listening_port:
            return f"[{ip}]:{self.listening_port}" if ":" in ip else f"{ip}:{self.listening_port}"
        return f"{ip}:<unknown-replica-port>"


class CachedMaster:
    """The state kept from a lost master link to ask for a partial resync later."""

    __slots__ = ("replid", "reploff", "db")

    def __init__(self, replid: str, reploff: int, db: int):
        self.replid = replid
        self.reploff = reploff
        self.db = db


def _send_raw(c: "Client", data: bytes) -> None:
    """Write to a replica keeping the order with replies it has pending (counted as
    replication traffic, like Redis' ``stat_net_repl_output_bytes``)."""
    if c.out is not None:
        c.out.append(data)
        st = c.server.stats
        st.net_repl_output_bytes = getattr(st, "net_repl_output_bytes", 0) + len(data)
        st.net_output_bytes -= len(data)  # Client.data_received counts it as output
    elif c.transport is not None and not c.closed:
        c.net_out += len(data)
        st = c.server.stats
        st.net_repl_output_bytes = getattr(st, "net_repl_output_bytes", 0) + len(data)
        c.queue(data)


class Replication:
    """Replication state and logic of one server (both roles)."""

    def __init__(self, server: "Server"):
        self.server = server
        self.config = server.config
        self.log = server.log
        server.repl = self
        server.repl_id = new_replid()
        server.repl_id2 = NULL_REPLID
        server.second_repl_offset = -1
        server.master_repl_offset = 0
        # master side
        self.backlog: Backlog | None = None
        self.replicas: list[ReplicaLink] = []
        self.slaveseldb = -1
        self.pending: list[bytes] = []
        self.flush_scheduled = False
        self.no_slaves_since = time.time()
        self.good_slaves = 0
        self.cron_loops = 0
        self.next_cron = 0.0
        self.waiters: list[tuple[asyncio.Future[int], int, int]] = []
        self.getack_scheduled = False
        self.sync_bgsave_running = False  # a disk BGSAVE we started for replicas
        # replica side
        self.master_host: str | None = None
        self.master_port = 0
        self.state = NONE
        self.master: "Client | None" = None
        self.master_replid = ""
        self.master_initial_offset = -1
        self.master_pre_psync = False
        self.reploff = 0
        self.read_reploff = 0
        self.cached: CachedMaster | None = None
        self.down_since = 0.0
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_lastio = 0.0
        self.transfer_tmpfile: str | None = None
        self.link_task: asyncio.Task[None] | None = None
        self.link_writer: asyncio.StreamWriter | None = None
        self.link_gen = 0
        self.retry_at = 0.0  # when a failed attempt may reconnect
        self.retry_after_failure = False
        self.fed = 0  # bytes of the current link fed to the parser
        self.raw: list[bytes] = []  # received, not yet applied stream bytes
        self.raw_len = 0
        self.batch: list[list[bytes]] = []  # the requests apply() is running
        self.batch_base = 0  # the offset where the first of them starts
        self.closing = False
        # write guards (recomputed when the role or the configuration changes)
        self.guard_on = False
        self.check_readonly = False
        self.check_stale = False
        self.check_min_replicas = False
        self._call_soon: Callable[..., Any] | None = None
        # FAILOVER (master side): failover_state, target, deadline (ms), FORCE
        self.failover_state = NO_FAILOVER
        self.failover_host: str | None = None
        self.failover_port = 0
        self.failover_end_time = 0
        self.force_failover = False

        server.info_providers["replication"] = self.info
        server.cron_hooks.append(self.cron_tick)
        server.shutdown_hooks.append(self.on_shutdown)
        server.startup_hooks = [*server.startup_hooks, self.on_startup]
        server.partition_hooks.append(self.on_partition)
        server.peer_filters.append(self.is_replica_link)
        self.config.on_change(self._config_changed)
        where = self.config["replicaof"]
        if where is not None:
            self.master_host, self.master_port = where[0], int(where[1])
            self.state = CONNECT
            server.role = "slave"
        self.refresh_guards()

    # ================================================================ helpers

    def _soon(self, fn: Callable[..., Any], *args: Any) -> None:
        call = self._call_soon
        if call is None:
            loop = self.server.loop or asyncio.get_event_loop()
            call = self._call_soon = loop.call_soon
        call(fn, *args)

    def refresh_guards(self) -> None:
        cfg = self.config
        slave = self.master_host is not None
        self.check_readonly = slave and bool(cfg["replica-read-only"])
        self.check_stale = slave and not cfg["replica-serve-stale-data"] and self.state != CONNECTED
        self.check_min_replicas = (not slave and cfg["min-replicas-to-write"] > 0
                                   and cfg["min-replicas-max-lag"] > 0)
        self.guard_on = self.check_readonly or self.check_stale or self.check_min_replicas
        self.sync_hook()
        # the guard only sits in the command path while it has something to check
        guards = self.server.guards
        if self.guard_on:
            if self.guard not in guards:
                guards.append(self.guard)
        elif self.guard in guards:
            guards.remove(self.guard)

    def _set_state(self, state: str) -> None:
        self.state = state
        if self.check_stale or (self.master_host is not None
                                and not self.config["replica-serve-stale-data"]):
            self.refresh_guards()

    # ================================================================ guards

    def guard(self, c: "Client", cmd: Any, args: list[bytes]) -> None:
        """READONLY / NOREPLICAS / MASTERDOWN checks, in processCommand's order."""
        if not self.guard_on:
            return
        if cmd.name == "exec" and c.multi is not None:
            self._guard_exec(c)
            return
        if cmd.is_write and self.check_min_replicas:
            self._refresh_good_slaves()
            if self.good_slaves < self.config["min-replicas-to-write"]:
                raise CommandError(NOREPLICAS_ERR)
        if cmd.is_write and self.check_readonly and "master" not in c.flags:
            raise CommandError(READONLY_ERR)
        if (self.check_stale and ("stale" not in cmd.flags or cmd.name == "ping")
                and "master" not in c.flags):  # Redis 7.0's PING has no STALE flag
            if (c.channels or c.patterns or c.shard_channels) and not c.resp3:
                return  # the pub/sub context error comes first
            raise CommandError(MASTERDOWN_ERR)

    def _guard_exec(self, c: "Client") -> None:
        """EXEC is judged by what it queued; a refusal discards the transaction
        (``execCommandAbort``). READONLY is left to EXEC itself, which aborts the same way."""
        queued = c.multi or []
        msg = None
        if self.check_min_replicas and any(q.is_write for q, _ in queued):
            self._refresh_good_slaves()
            if self.good_slaves < self.config["min-replicas-to-write"]:
                msg = NOREPLICAS_ERR
        if (msg is None and self.check_stale and "master" not in c.flags
                and any("stale" not in q.flags or q.name == "ping" for q, _ in queued)):
            msg = MASTERDOWN_ERR
        if msg is not None:
            c.multi = None
            c.multi_error = False
            self.server.unwatch_all(c)
            raise CommandError("EXECABORT Transaction discarded because of: " + msg)

    def _refresh_good_slaves(self) -> None:
        cfg = self.config
        max_lag = cfg["min-replicas-max-lag"]
        if not cfg["min-replicas-to-write"] or not max_lag:
            return
        now = int(time.time())
        self.good_slaves = sum(
            1 for r in self.replicas
            if r.state == ONLINE and now - int(r.ack_time) <= max_lag)

    # ================================================================ propagation (master)

    def propagate(self, db_index: int, argv: list[bytes]) -> None:
        """A write to replay on replicas (``server.propagate_hooks`` entry)."""
        if self.master_host is not None:
            return  # a replica proxies its master's stream instead
        if self.backlog is None and not self.replicas:
            return
        pending = self.pending
        if db_index != self.slaveseldb:
            sel = _select_cmd(db_index)
            pending.append(sel)
            self.server.master_repl_offset += len(sel)
            self.slaveseldb = db_index
        data = _encode(argv)
        pending.append(data)
        self.server.master_repl_offset += len(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self._soon(self.flush)

    def feed_raw(self, data: bytes) -> None:
        """Add bytes to the stream as they are (PING, GETACK, a master's stream)."""
        self.pending.append(data)
        self.server.master_repl_offset += len(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self._soon(self.flush)

    def flush(self) -> None:
        """Move pending stream bytes into the backlog and out to the replicas."""
        self.flush_scheduled = False
        pending = self.pending
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        if self.backlog is not None:
            self.backlog.append(data)
        for r in self.replicas:
            if r.state == ONLINE and not r.start_on_ack:
                _send_raw(r.client, data)
            elif r.state != WAIT_BGSAVE_START and not r.rdb_only:
                r.buffer.append(data)

    # ================================================================ backlog / ids

    def create_backlog(self) -> None:
        self.backlog = Backlog(self.config["repl-backlog-size"], self.server.master_repl_offset)
        self.sync_hook()

    def free_backlog(self) -> None:
        self.backlog = None
        self.sync_hook()

    def sync_hook(self) -> None:
        """Keep :meth:`propagate` in ``server.propagate_hooks`` only while writes have
        somewhere to go (a top-level master with a backlog or replicas), so a standalone
        server pays nothing for replication on its write path."""
        hooks = self.server.propagate_hooks
        needed = self.master_host is None and (self.backlog is not None or bool(self.replicas))
        self.server.repl_feeding = needed
        if needed:
            if self.propagate not in hooks:
                hooks.append(self.propagate)
        elif self.propagate in hooks:
            hooks.remove(self.propagate)

    def change_replid(self) -> None:
        self.server.repl_id = new_replid()

    def clear_replid2(self) -> None:
        self.server.repl_id2 = NULL_REPLID
        self.server.second_repl_offset = -1

    def shift_replid(self) -> None:
        srv = self.server
        srv.repl_id2 = srv.repl_id
        srv.second_repl_offset = srv.master_repl_offset + 1
        self.change_replid()
        self.log.warning(
            f"Setting secondary replication ID to {srv.repl_id2}, valid up to offset: "
            f"{srv.second_repl_offset}. New replication ID is {srv.repl_id}")

    def save_info(self) -> dict[str, Any] | None:
        """The repl-* aux fields an RDB saved now must carry (``rdbPopulateSaveInfo``),
        or None when this instance is in no replication chain."""
        self.flush()
        srv = self.server
        if self.master_host is None:
            if self.backlog is None:
                return None
            db = 0 if self.slaveseldb == -1 else self.slaveseldb
        elif self.master is not None:
            db = self.master.db.index
        elif self.cached is not None:
            db = self.cached.db
        else:
            return None
        return {"repl-stream-db": db, "repl-id": srv.repl_id,
                "repl-offset": srv.master_repl_offset}

    # ================================================================ master: SYNC / PSYNC

    def link_of(self, c: "Client") -> ReplicaLink:
        link = getattr(c, "repl", None)
        if link is None:
            link = c.repl = ReplicaLink(c)  # type: ignore[attr-defined]
        return link

    def sync_command(self, c: "Client", args: list[bytes]) -> Any:
        """SYNC and PSYNC (``syncCommand``)."""
        from .server import NO_REPLY

        if "slave" in c.flags:
            return NO_REPLY
        srv = self.server
        is_psync = args[0].lower() == b"psync"
        if is_psync and len(args) > 3 and args[3].lower() == b"failover":
            self.log.warning(f"Failover request received for replid "
                             f"{args[1].decode(errors='replace')}.")
            if self.master_host is None:
                raise CommandError("ERR PSYNC FAILOVER can't be sent to a master.")
            if args[1].decode(errors="replace").lower() != srv.repl_id:
                raise CommandError("ERR PSYNC FAILOVER replid must match my replid.")
            self.unset_master()
            self.log.notice(f"MASTER MODE enabled (failover request from '{c.info_line()}')")
        if self.master_host is not None and self.state != CONNECTED:
            raise CommandError("NOMASTERLINK Can't SYNC while not connected with my master")
        link = self.link_of(c)
        if link.rdb_filter is not None and not link.capa & CAPA_EOF:
            raise CommandError("ERR Filtered replica requires EOF capability")
        self.log.notice(f"Replica {link.name()} asks for synchronization")
        if is_psync:
            try:
                offset = parse_int(args[2])
            except CommandError:
                self.log.warning(f"Replica {link.name()} asks for synchronization but with a "
                                 f"wrong offset")
                raise
            replid = args[1].decode(errors="replace")
            if self.try_partial(c, link, replid, offset):
                srv.stats.sync_partial_ok += 1
                return NO_REPLY
            if not replid.startswith("?"):
                srv.stats.sync_partial_err += 1
        else:
            link.pre_psync = True
        srv.stats.sync_full += 1
        link.state = WAIT_BGSAVE_START
        self._register(c, link)
        if len(self.replicas) == 1 and self.backlog is None:
            self.change_replid()
            self.clear_replid2()
            self.create_backlog()
            self.log.notice(f"Replication backlog created, my new replication IDs are "
                            f"'{srv.repl_id}' and '{srv.repl_id2}'")
        if srv.bgsave_task is not None:  # CASE 1: a BGSAVE to disk is in progress
            other = None
            if self.sync_bgsave_running:
                other = next((r for r in self.replicas if r is not link
                              and r.state == WAIT_BGSAVE_END and not r.rdb_only), None)
            if (other is not None and (link.capa & other.capa) == other.capa
                    and link.rdb_filter == other.rdb_filter):
                self._setup_full_resync(link, other.initial_offset)
                link.buffer = list(other.buffer)
                self.log.notice("Waiting for end of BGSAVE for SYNC")
            else:
                self.log.notice("Can't attach the replica to the current BGSAVE. Waiting for "
                                "next BGSAVE for SYNC")
        elif (self.config["repl-diskless-sync"] and link.capa & CAPA_EOF
                and self.config["repl-diskless-sync-delay"]):
            self.log.notice("Delay next BGSAVE for diskless SYNC")
        elif self._child_active():
            self.log.notice("No BGSAVE in progress, but another BG operation is active. "
                            "BGSAVE for replication delayed")
        else:
            self.start_bgsave_for_replication(link.capa, link.rdb_filter)
        return NO_REPLY

    def _child_active(self) -> bool:
        try:
            from . import persistence
        except ImportError:  # pragma: no cover
            return self.server.bgsave_task is not None
        return persistence.child_active(self.server)

    def _register(self, c: "Client", link: ReplicaLink) -> None:
        c.flags.add("slave")
        if not link.registered:
            link.registered = True
            self.replicas.append(link)
            c.on_close.append(self._replica_closed)
            self.sync_hook()

    def try_partial(self, c: "Client", link: ReplicaLink, replid: str, offset: int) -> bool:
        """``masterTryPartialResynchronization``."""
        srv = self.server
        self.flush()
        low = replid.lower()
        if low != srv.repl_id and (low != srv.repl_id2 or offset > srv.second_repl_offset):
            if not replid.startswith("?"):
                if low != srv.repl_id and low != srv.repl_id2:
                    self.log.notice(
                        f"Partial resynchronization not accepted: Replication ID mismatch "
                        f"(Replica asked for '{replid}', my replication IDs are "
                        f"'{srv.repl_id}' and '{srv.repl_id2}')")
                else:
                    self.log.notice(
                        f"Partial resynchronization not accepted: Requested offset for second "
                        f"ID was {offset}, but I can reply up to {srv.second_repl_offset}")
            else:
                self.log.notice(f"Full resync requested by replica {link.name()}")
            return False
        bl = self.backlog
        if bl is None or offset < bl.first or offset > bl.first + bl.histlen:
            self.log.notice(
                f"Unable to partial resync with replica {link.name()} for lack of backlog "
                f"(Replica request was: {offset}).")
            if offset > srv.master_repl_offset:
                self.log.warning(
                    f"Warning: replica {link.name()} tried to PSYNC with an offset that is "
                    f"greater than the master replication offset.")
            return False
        link.state = ONLINE
        link.ack_time = time.time()
        link.start_on_ack = False
        self._register(c, link)
        if link.capa & CAPA_PSYNC2:
            reply = b"+CONTINUE %s\r\n" % srv.repl_id.encode()
        else:
            reply = b"+CONTINUE\r\n"
        data = bl.since(offset)
        _send_raw(c, reply + data)
        self.log.notice(
            f"Partial resynchronization request from {link.name()} accepted. Sending "
            f"{len(data)} bytes of backlog starting from offset {offset}.")
        self._refresh_good_slaves()
        return True

    def _make_rdb(self, rdb_filter: str | None = None) -> bytes:
        from . import rdb
        from .keyspace import Keyspace

        aux: dict[str, Any] = {}
        try:
            from .persistence import rdb_aux

            aux = dict(rdb_aux(self.server))
        except ImportError:
            pass
        for k in ("repl-stream-db", "repl-id", "repl-offset"):
            aux.pop(k, None)
        info = self.save_info()
        if info is not None:
            aux.update(info)
        keyspace = self.server.keyspace
        if rdb_filter is not None:  # REPLCONF rdb-filter-only: no data (functions only)
            keyspace = Keyspace(len(keyspace.dbs))
        return rdb.dump(keyspace, aux, compress=bool(self.config["rdbcompression"]),
                        checksum=bool(self.config["rdbchecksum"]))

    def _rdb_path(self) -> str:
        return os.path.join(self.config["dir"] or ".", self.config["dbfilename"])

    def start_bgsave_for_replication(self, mincapa: int, rdb_filter: str | None = None) -> None:
        """Make the RDB for every replica waiting for one and send it (``startBgsaveFor-
        Replication`` + the end of the child's work, done at once: our RDB is built in the
        event loop, so there is no child to wait for)."""
        waiting = [r for r in self.replicas
                   if r.state == WAIT_BGSAVE_START and r.rdb_filter == rdb_filter]
        if not waiting:
            return
        socket_target = bool((self.config["repl-diskless-sync"] or rdb_filter is not None)
                             and mincapa & CAPA_EOF)
        self.log.notice("Starting BGSAVE for SYNC with target: "
                        + ("replicas sockets" if socket_target else "disk"))
        self.flush()
        srv = self.server
        try:
            payload = self._make_rdb(rdb_filter)
        except Exception as exc:  # pragma: no cover - a bug in the RDB writer
            self.log.warning("BGSAVE for replication failed")
            self.log.warning(f"RDB error: {exc!r}")
            for r in waiting:
                self._unregister(r)
                r.client.flags.discard("slave")
                _send_raw(r.client, b"-ERR BGSAVE failed, replication can't continue\r\n")
                r.client.close_after_reply()
                if r.client.out is None:
                    r.client.close()
            return
        offset = srv.master_repl_offset
        pid = os.getpid()
        if socket_target:
            self.log.notice(f"Background RDB transfer started by pid {pid}")
            mark = os.urandom(20).hex().encode()
            blob = b"$EOF:%s\r\n%s%s" % (mark, payload, mark)
            for r in waiting:
                self._setup_full_resync(r, offset)
                _send_raw(r.client, blob)
            self.log.warning(f"Diskless rdb transfer, done reading from pipe, "
                             f"{len(waiting)} replicas still up.")
            self.log.notice("Background RDB transfer terminated with success")
            for r in waiting:
                self.log.notice(
                    f"Streamed RDB transfer with replica {r.name()} succeeded (socket). "
                    f"Waiting for REPLCONF ACK from slave to enable streaming")
                if self._put_online(r):
                    r.start_on_ack = True
        else:
            self._bgsave_to_disk(waiting, offset)

    def _bgsave_to_disk(self, waiting: list[ReplicaLink], offset: int) -> None:
        """Disk target: a BGSAVE of dbfilename, then each replica gets the file."""
        from . import persistence

        self.sync_bgsave_running = True
        done: list[bool] = []
        starting = True

        def on_done(ok: bool) -> None:
            if starting:
                done.append(ok)
            else:
                self._disk_bgsave_done(ok)

        started = persistence.bgsave(self.server, on_done)
        starting = False
        if not started:
            self.sync_bgsave_running = False
            self.log.warning("BGSAVE for replication failed")
            for r in waiting:
                self._unregister(r)
                r.client.flags.discard("slave")
                r.client.close()
            return
        # the snapshot (and its repl-stream-db) was taken: now the replicas are told
        for r in waiting:
            self._setup_full_resync(r, offset)
        if done:  # the save finished synchronously (no running event loop)
            self._disk_bgsave_done(done[0])

    def _disk_bgsave_done(self, ok: bool) -> None:
        """``updateSlavesWaitingBgsave`` for a disk BGSAVE."""
        self.sync_bgsave_running = False
        payload = None
        for r in list(self.replicas):
            if r.state != WAIT_BGSAVE_END:
                continue
            if not ok:
                self.log.warning("SYNC failed. BGSAVE child returned an error")
                r.client.close()
                continue
            if payload is None:
                try:
                    with open(self._rdb_path(), "rb") as f:
                        payload = f.read()
                except OSError as exc:
                    self.log.warning(f"SYNC failed. Can't open/stat DB after BGSAVE: "
                                     f"{exc.strerror}")
                    r.client.close()
                    continue
            r.state = SEND_BULK
            _send_raw(r.client, b"$%d\r\n" % len(payload) + payload)
            if self._put_online(r):
                self._start_stream(r)
        self._start_pending_sync(time.time())

    def _setup_full_resync(self, r: ReplicaLink, offset: int) -> None:
        r.initial_offset = offset
        r.state = WAIT_BGSAVE_END
        r.buffer = []
        self.slaveseldb = -1  # the stream for this replica starts with a SELECT
        if not r.pre_psync:
            _send_raw(r.client, b"+FULLRESYNC %s %d\r\n" % (self.server.repl_id.encode(), offset))

    def _put_online(self, r: ReplicaLink) -> bool:
        if r.rdb_only:
            r.state = RDB_TRANSMITTED
            self.log.notice(f"RDB transfer completed, rdb only replica ({r.name()}) should be "
                            f"disconnected asap")
            r.client.close_after_reply()
            if r.client.out is None:
                self._soon(r.client.close)
            return False
        r.state = ONLINE
        r.ack_time = time.time()
        self._refresh_good_slaves()
        self.log.notice(f"Synchronization with replica {r.name()} succeeded")
        return True

    def _start_stream(self, r: ReplicaLink) -> None:
        r.start_on_ack = False
        if r.buffer:
            data = b"".join(r.buffer)
            r.buffer = []
            _send_raw(r.client, data)

    def _unregister(self, r: ReplicaLink) -> None:
        if r.registered:
            r.registered = False
            try:
                self.replicas.remove(r)
            except ValueError:
                pass
            if not self.replicas:
                self.no_slaves_since = time.time()
            self.sync_hook()

    def _replica_closed(self, c: "Client") -> None:
        r = getattr(c, "repl", None)
        if r is None or not r.registered:
            return
        if "slave" in c.flags and not self.closing:
            self.log.warning(f"Connection with replica {r.name()} lost.")
        self._unregister(r)
        self._refresh_good_slaves()
        self._process_waiters()

    def disconnect_replicas(self) -> None:
        for r in list(self.replicas):
            r.client.close()

    # ================================================================ master: REPLCONF

    def replconf_command(self, c: "Client", args: list[bytes]) -> Any:
        from .resp import OK
        from .server import NO_REPLY

        if len(args) % 2 == 0:
            raise CommandError("ERR syntax error")
        link: ReplicaLink | None = None
        for j in range(1, len(args), 2):
            opt = args[j].lower()
            val = args[j + 1]
            if opt == b"listening-port":
                port = parse_int(val)
                link = link or self.link_of(c)
                link.listening_port = port
            elif opt == b"ip-address":
                if len(val) >= 256:
                    raise CommandError(f"ERR REPLCONF ip-address provided by replica instance "
                                       f"is too long: {len(val)} bytes")
                link = link or self.link_of(c)
                link.announced_ip = val.decode(errors="replace")
            elif opt == b"capa":
                link = link or self.link_of(c)
                if val.lower() == b"eof":
                    link.capa |= CAPA_EOF
                elif val.lower() == b"psync2":
                    link.capa |= CAPA_PSYNC2
            elif opt == b"ack":
                r = getattr(c, "repl", None)
                if "slave" not in c.flags or r is None:
                    return NO_REPLY
                try:
                    offset = int(val)
                except ValueError:
                    return NO_REPLY
                if offset > r.ack_off:
                    r.ack_off = offset
                r.ack_time = time.time()
                if r.start_on_ack and r.state == ONLINE:
                    self._start_stream(r)
                if self.failover_state == FAILOVER_WAIT_FOR_SYNC:
                    self._soon(self.update_failover_status)
                if self.waiters:
                    self._process_waiters()
                return NO_REPLY
            elif opt == b"getack":
                if self.master_host is not None and self.master is not None:
                    if c is self.master:
                        self.send_ack(self._offset_before(args))
                    else:
                        self.send_ack()
                return NO_REPLY
            elif opt == b"rdb-only":
                flag = parse_int(val)
                if flag not in (0, 1):
                    raise CommandError("ERR value is out of range, value must between 0 and 1")
                link = link or self.link_of(c)
                link.rdb_only = flag == 1
            elif opt == b"rdb-filter-only":
                words = val.split()
                for w in words:
                    if w.lower() != b"functions":
                        raise CommandError(f"ERR Unsupported rdb-filter-only option: "
                                           f"{w.decode(errors='replace')}")
                link = link or self.link_of(c)
                link.rdb_filter = val.decode(errors="replace")
            else:
                raise CommandError(f"ERR Unrecognized REPLCONF option: "
                                   f"{args[j].decode(errors='replace')}")
        return OK

    # ================================================================ WAIT

    def count_acks(self, offset: int) -> int:
        return sum(1 for r in self.replicas if r.state == ONLINE and r.ack_off >= offset)

    def wait_command(self, c: "Client", args: list[bytes]) -> Any:
        from .server import Blocked

        if self.master_host is not None:
            raise CommandError(WAIT_ON_REPLICA_ERR)
        numreplicas = parse_int(args[1])
        timeout = parse_int(args[2], "ERR timeout is not an integer or out of range")
        if timeout < 0:
            raise CommandError("ERR timeout is negative")
        self.flush()
        offset = self.server.master_repl_offset
        acked = self.count_acks(offset)
        if acked >= numreplicas or self.server.in_exec:
            return acked
        loop = self.server.loop or asyncio.get_event_loop()
        fut: asyncio.Future[int] = loop.create_future()
        entry = (fut, offset, numreplicas)
        self.waiters.append(entry)
        self.request_acks()

        async def wait() -> int:
            try:
                if timeout:
                    return await asyncio.wait_for(asyncio.shield(fut), timeout / 1000)
                return await fut
            except asyncio.TimeoutError:
                return self.count_acks(offset)
            finally:
                try:
                    self.waiters.remove(entry)
                except ValueError:
                    pass

        return Blocked(wait())

    def request_acks(self) -> None:
        if not self.getack_scheduled:
            self.getack_scheduled = True
            self._soon(self._send_getack)

    def _send_getack(self) -> None:
        self.getack_scheduled = False
        if self.master_host is None and self.replicas:
            self.feed_raw(_GETACK)
            self.flush()

    def _process_waiters(self) -> None:
        for fut, offset, num in list(self.waiters):
            if fut.done():
                continue
            n = self.count_acks(offset)
            if n >= num:
                fut.set_result(n)

    # ================================================================ ROLE / INFO

    def role_reply(self) -> list[Any]:
        srv = self.server
        self.flush()
        if self.master_host is None:
            replicas = []
            for r in self.replicas:
                if r.state != ONLINE:
                    continue
                replicas.append([r.ip().encode(), b"%d" % r.listening_port, b"%d" % r.ack_off])
            return [b"master", srv.master_repl_offset, replicas]
        return [b"slave", self.master_host.encode(), self.master_port, self.state.encode(),
                self.reploff if self.master is not None else -1]

    def info(self) -> list[tuple[str, Any]]:
        """The ``# Replication`` section of INFO, field by field as Redis 7.0 prints it."""
        srv = self.server
        cfg = self.config
        self.flush()
        now = time.time()
        out: list[tuple[str, Any]] = [("role", "master" if self.master_host is None else "slave")]
        if self.master_host is not None:
            if self.master is not None:
                off, read_off = self.reploff, self.read_reploff
            elif self.cached is not None:
                off = read_off = self.cached.reploff
            else:
                off = read_off = 1
            out += [
                ("master_host", self.master_host),
                ("master_port", self.master_port),
                ("master_link_status", "up" if self.state == CONNECTED else "down"),
                ("master_last_io_seconds_ago",
                 int(now - self.master.last_interaction) if self.master is not None else -1),
                ("master_sync_in_progress", 1 if self.state == TRANSFER else 0),
                ("slave_read_repl_offset", read_off),
                ("slave_repl_offset", off),
            ]
            if self.state == TRANSFER:
                size = max(self.transfer_size, 0)
                perc = (self.transfer_read / size * 100) if size else 0.0
                out += [
                    ("master_sync_total_bytes", size),
                    ("master_sync_read_bytes", self.transfer_read),
                    ("master_sync_left_bytes", size - self.transfer_read),
                    ("master_sync_perc", f"{perc:.2f}"),
                    ("master_sync_last_io_seconds_ago", int(now - self.transfer_lastio)),
                ]
            if self.state != CONNECTED:
                out.append(("master_link_down_since_seconds",
                            int(now - self.down_since) if self.down_since else -1))
            out += [
                ("slave_priority", cfg["replica-priority"]),
                ("slave_read_only", 1 if cfg["replica-read-only"] else 0),
                ("replica_announced", 1 if cfg["replica-announced"] else 0),
            ]
        out.append(("connected_slaves", len(self.replicas)))
        if cfg["min-replicas-to-write"] and cfg["min-replicas-max-lag"]:
            self._refresh_good_slaves()
            out.append(("min_slaves_good_slaves", self.good_slaves))
        i = 0
        for r in self.replicas:
            state = _STATE_TEXT.get(r.state, "")
            if not state:
                continue
            lag = int(now) - int(r.ack_time) if r.state == ONLINE else 0
            out.append((f"slave{i}", f"ip={r.ip()},port={r.listening_port},state={state},"
                                     f"offset={r.ack_off},lag={lag}"))
            i += 1
        bl = self.backlog
        out += [
            ("master_failover_state", self.failover_state),
            ("master_replid", srv.repl_id),
            ("master_replid2", srv.repl_id2),
            ("master_repl_offset", srv.master_repl_offset),
            ("second_repl_offset", srv.second_repl_offset),
            ("repl_backlog_active", 1 if bl is not None else 0),
            ("repl_backlog_size", cfg["repl-backlog-size"]),
            ("repl_backlog_first_byte_offset", bl.first if bl is not None else 0),
            ("repl_backlog_histlen", bl.histlen if bl is not None else 0),
        ]
        return out

    # ================================================================ FAILOVER

    def failover_command(self, c: "Client", args: list[bytes]) -> Any:
        """``FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]`` (``failoverCommand``)."""
        from .resp import OK

        if self.config.get("cluster-enabled"):
            raise CommandError("ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER "
                               "command instead.")
        if len(args) == 2 and args[1].lower() == b"abort":
            if self.failover_state == NO_FAILOVER:
                raise CommandError("ERR No failover in progress.")
            self.abort_failover("Failover manually aborted")
            return OK
        timeout = 0
        force = False
        host: str | None = None
        port = 0
        j = 1
        while j < len(args):
            opt = args[j].lower()
            if opt == b"timeout" and j + 1 < len(args) and timeout == 0:
                timeout = parse_int(args[j + 1])
                if timeout <= 0:
                    raise CommandError("ERR FAILOVER timeout must be greater than 0")
                j += 1
            elif opt == b"to" and j + 2 < len(args) and host is None:
                port = parse_int(args[j + 2])
                host = args[j + 1].decode(errors="replace")
                j += 2
            elif opt == b"force" and not force:
                force = True
            else:
                raise CommandError("ERR syntax error")
            j += 1
        if self.failover_state != NO_FAILOVER:
            raise CommandError("ERR FAILOVER already in progress.")
        if self.master_host is not None:
            raise CommandError("ERR FAILOVER is not valid when server is a replica.")
        if not self.replicas:
            raise CommandError("ERR FAILOVER requires connected replicas.")
        if force and (not timeout or host is None):
            raise CommandError("ERR FAILOVER with force option requires both a timeout and "
                               "target HOST and IP.")
        if host is not None:
            r = self._find_replica(host, port)
            if r is None:
                raise CommandError("ERR FAILOVER target HOST and PORT is not a replica.")
            if r.state != ONLINE:
                raise CommandError("ERR FAILOVER target replica is not online.")
            self.failover_host, self.failover_port = host, port
            self.log.notice(f"FAILOVER requested to {host}:{port}.")
        else:
            self.log.notice("FAILOVER requested to any replica.")
        if timeout:
            self.failover_end_time = int(time.time() * 1000) + timeout
        self.force_failover = force
        self.failover_state = FAILOVER_WAIT_FOR_SYNC
        self.server.write_pause.pause("failover")
        self._soon(self.update_failover_status)  # Redis looks again before sleeping
        return OK

    def _find_replica(self, host: str, port: int) -> ReplicaLink | None:
        """``findReplica``: by announced (or peer) address and listening port."""
        for r in self.replicas:
            if r.ip().lower() == host.lower() and r.listening_port == port:
                return r
        return None

    def update_failover_status(self) -> None:
        """``updateFailoverStatus``: time out (abort, or fail over anyway with FORCE), or
        fail over once the target (any replica without TO) acknowledged our offset."""
        if self.failover_state != FAILOVER_WAIT_FOR_SYNC:
            return
        if self.failover_end_time and self.failover_end_time <= int(time.time() * 1000):
            if self.force_failover:
                self.log.notice(f"FAILOVER to {self.failover_host}:{self.failover_port} time "
                                f"out exceeded, failing over.")
                self.failover_state = FAILOVER_IN_PROGRESS
                assert self.failover_host is not None
                self.set_master(self.failover_host, self.failover_port)
            else:
                self.abort_failover("Replica never caught up before timeout")
            return
        self.flush()
        offset = self.server.master_repl_offset
        replica: ReplicaLink | None = None
        if self.failover_host is not None:
            replica = self._find_replica(self.failover_host, self.failover_port)
        else:
            for r in self.replicas:
                if r.ack_off == offset:
                    replica = r
                    self.failover_host, self.failover_port = r.ip(), r.listening_port
                    break
        if replica is not None and replica.ack_off == offset:
            self.failover_state = FAILOVER_IN_PROGRESS
            self.log.notice(f"Failover target {self.failover_host}:{self.failover_port} is "
                            f"synced, failing over.")
            assert self.failover_host is not None
            self.set_master(self.failover_host, self.failover_port)

    def abort_failover(self, err: str) -> None:
        """``abortFailover``."""
        if self.failover_state == NO_FAILOVER:
            return
        if self.failover_host is not None:
            self.log.notice(f"FAILOVER to {self.failover_host}:{self.failover_port} aborted: "
                            f"{err}")
        else:
            self.log.notice(f"FAILOVER to any replica aborted: {err}")
        if self.failover_state == FAILOVER_IN_PROGRESS:
            self.unset_master()
        self.clear_failover_state()

    def clear_failover_state(self) -> None:
        """``clearFailoverState``: forget the failover, let paused writes run."""
        self.failover_end_time = 0
        self.force_failover = False
        self.failover_host = None
        self.failover_port = 0
        self.failover_state = NO_FAILOVER
        self.server.write_pause.unpause("failover")

    # ================================================================ REPLICAOF

    def replicaof_command(self, c: "Client", args: list[bytes]) -> Any:
        from .resp import OK, Simple

        if self.config.get("cluster-enabled"):
            raise CommandError("ERR REPLICAOF not allowed in cluster mode.")
        if self.failover_state != NO_FAILOVER:
            raise CommandError("ERR REPLICAOF not allowed while failing over.")
        host, port_arg = args[1], args[2]
        if host.lower() == b"no" and port_arg.lower() == b"one":
            if self.master_host is not None:
                self.unset_master()
                self.config.set_value("replicaof", None)
                self.log.notice(f"MASTER MODE enabled (user request from '{c.info_line()}')")
            return OK
        if "slave" in c.flags:
            raise CommandError("ERR Command is not valid when client is a replica.")
        try:
            port = parse_int(port_arg)
        except CommandError:
            port = -1
        if not 0 <= port <= 65535:
            raise CommandError("ERR Invalid master port")
        host_s = host.decode(errors="replace")
        if (self.master_host is not None and self.master_host.lower() == host_s.lower()
                and self.master_port == port):
            self.log.notice("REPLICAOF would result into synchronization with the master we "
                            "are already connected with. No operation performed.")
            return Simple(b"OK Already connected to specified master")
        self.set_master(host_s, port)
        self.config.set_value("replicaof", (host_s, port))
        self.log.notice(f"REPLICAOF {self.master_host}:{self.master_port} enabled "
                        f"(user request from '{c.info_line()}')")
        return OK

    def set_master(self, host: str, port: int) -> None:
        """``replicationSetMaster``."""
        srv = self.server
        was_master = self.master_host is None
        self.master_host = None
        srv.role = "master"  # as in Redis, what happens until masterhost is set logs as M
        if self.master is not None:
            self.master.close()
        self._disconnect_blocked()
        self.master_host, self.master_port = host, port
        srv.role = "slave"
        self.cancel_handshake(reconnect=False)
        if was_master:
            self.discard_cached_master()
            self.cache_master_using_myself()
        self._set_state(CONNECT)
        self.refresh_guards()
        self.log.notice(f"Connecting to MASTER {host}:{port}")
        self.connect()

    def unset_master(self) -> None:
        """``replicationUnsetMaster``: become a master, keeping our history as replid2."""
        if self.master_host is None:
            return
        srv = self.server
        self.master_host = None
        srv.role = "master"
        if self.master is not None:
            self.master.close()
        self.discard_cached_master()
        self.cancel_handshake(reconnect=False)
        self.shift_replid()
        self.disconnect_replicas()
        self._set_state(NONE)
        self.slaveseldb = -1
        self.no_slaves_since = time.time()
        self.down_since = 0
        self.refresh_guards()

    def _disconnect_blocked(self) -> None:
        """Clients blocked on a master are released when it becomes a replica (Redis
        answers them with an UNBLOCKED error); WAITers get their count now."""
        for fut, offset, _ in list(self.waiters):
            if not fut.done():
                fut.set_result(self.count_acks(offset))

    # ================================================================ cached master

    def cache_master_using_myself(self) -> None:
        self.log.notice(
            "Before turning into a replica, using my own master parameters to synthesize a "
            "cached master: I may be able to synchronize with the new master with just a "
            "partial transfer.")
        self.flush()
        self.cached = CachedMaster(self.server.repl_id, self.server.master_repl_offset, 0)

    def discard_cached_master(self) -> None:
        if self.cached is None:
            return
        self.log.notice("Discarding previously cached master state.")
        self.cached = None

    # ================================================================ replica: the link

    def connect(self) -> None:
        """``connectWithMaster``: start the non-blocking connect and the handshake."""
        if self.master_host is None or self.closing:
            return
        self.link_gen += 1
        self._set_state(CONNECTING)
        self.transfer_lastio = time.time()
        self.log.notice("MASTER <-> REPLICA sync started")
        loop = self.server.loop or asyncio.get_event_loop()
        self.link_task = loop.create_task(self._link(self.link_gen))

    def cancel_handshake(self, reconnect: bool) -> bool:
        """Abort a connect, handshake or RDB transfer in progress."""
        if self.state not in (CONNECTING, HANDSHAKE, TRANSFER):
            return False
        self._abort_link()
        self._set_state(CONNECT)
        if reconnect:
            self.log.notice(f"Reconnecting to MASTER {self.master_host}:{self.master_port} "
                            f"after failure")
            self.connect()
        return True

    def _abort_link(self) -> None:
        self.link_gen += 1
        task = self.link_task
        self.link_task = None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        w = self.link_writer
        self.link_writer = None
        if w is not None and self.master is None:
            w.close()
        self._remove_tmpfile()

    def _remove_tmpfile(self) -> None:
        if self.transfer_tmpfile:
            try:
                os.unlink(self.transfer_tmpfile)
            except OSError:
                pass
            self.transfer_tmpfile = None

    def _link_failed(self, gen: int, after_failure: bool = False) -> None:
        """The error path of the handshake: close and retry in a second."""
        if gen != self.link_gen:
            return
        w = self.link_writer
        self.link_writer = None
        self.link_task = None
        if w is not None:
            w.close()
        self._remove_tmpfile()
        self._set_state(CONNECT)
        # Redis reconnects at once after a failed transfer ("Reconnecting to MASTER ...
        # after failure"); we wait a second, as for a refused connection, so a master that
        # refuses us (NOAUTH) is not hammered in a tight loop
        self.retry_at = time.time() + 1.0
        self.retry_after_failure = after_failure

    async def _readline(self, reader: asyncio.StreamReader) -> str | None:
        """One reply line of the handshake, without CRLF (None: no answer in time)."""
        try:
            line = await asyncio.wait_for(reader.readline(), SYNCIO_TIMEOUT)
        except (asyncio.TimeoutError, OSError, ValueError, asyncio.LimitOverrunError) as exc:
            self.log.warning(f"Failed to read response from the server: {_strerror(exc)}")
            return None
        if not line:
            self.log.warning("Failed to read response from the server: Connection reset by peer"
                             if reader.at_eof() else "Failed to read response from the server")
            return None
        self.transfer_lastio = time.time()
        return line.rstrip(b"\r\n").decode(errors="replace")

    async def _handshake_reply(
            self, reader: asyncio.StreamReader, gen: int,
            no_reply: str = "Master did not respond to command during SYNC handshake",
    ) -> str | None:
        """The next handshake reply line; None when the handshake is over: another link
        took over, or the master did not answer (logged as ``no_reply``, link failed)."""
        reply = await self._readline(reader)
        if gen != self.link_gen:
            return None
        if reply is None:
            self.log.warning(no_reply)
            self._link_failed(gen)
        return reply

    async def _link(self, gen: int) -> None:
        try:
            await self._handshake(gen)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # pragma: no cover - keep the server alive
            self.log.warning(f"Replication link error: {exc!r}")
            if self.master is not None and self.master.transport is self._link_transport(gen):
                self.master.close()  # caches the master state and reconnects
            else:
                self._link_failed(gen)

    def _link_transport(self, gen: int) -> Any:
        w = self.link_writer
        return w.transport if w is not None and gen == self.link_gen else None

    async def _handshake(self, gen: int) -> None:
        host, port = self.master_host, self.master_port
        cfg = self.config
        log = self.log
        try:
            self.server.check_peer_connect()  # refused while partitioned
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=1 << 20), cfg["repl-timeout"])
        except asyncio.TimeoutError:
            if gen == self.link_gen:
                log.warning("Timeout connecting to the MASTER...")
                self._link_failed(gen)
            return
        except OSError as exc:
            if gen == self.link_gen:
                log.warning(f"Error condition on socket for SYNC: {_strerror(exc)}")
                self._link_failed(gen)
            return
        if gen != self.link_gen:
            writer.close()
            return
        self.link_writer = writer
        sock = writer.get_extra_info("socket")
        if sock is not None and not cfg["repl-disable-tcp-nodelay"]:
            import socket

            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        log.notice("Non blocking connect for SYNC fired the event.")
        self._set_state(HANDSHAKE)
        writer.write(encode_command([b"PING"]))
        reply = await self._handshake_reply(reader, gen)
        if reply is None:
            return
        if not (reply.startswith("+") or reply.startswith("-NOAUTH")
                or reply.startswith("-NOPERM") or reply.startswith("-ERR operation not permitted")):
            log.warning(f"Error reply to PING from master: '{reply}'")
            return self._link_failed(gen)
        log.notice("Master replied to PING, replication can continue...")

        # AUTH, REPLCONF listening-port, [ip-address], capa: sent together, read in turn
        masterauth = cfg["masterauth"]
        masteruser = cfg["masteruser"]
        announce_ip = cfg["replica-announce-ip"]
        out = []
        if masterauth:
            argv = [b"AUTH"] + ([masteruser.encode()] if masteruser else []) + [masterauth.encode()]
            out.append(encode_command(argv))
        listen_port = cfg["replica-announce-port"] or self.server.port
        out.append(encode_command([b"REPLCONF", b"listening-port", b"%d" % listen_port]))
        if announce_ip:
            out.append(encode_command([b"REPLCONF", b"ip-address", announce_ip.encode()]))
        out.append(encode_command([b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]))
        writer.write(b"".join(out))
        if masterauth:
            reply = await self._handshake_reply(reader, gen)
            if reply is None:
                return
            if reply.startswith("-"):
                log.warning(f"Unable to AUTH to MASTER: {reply}")
                return self._link_failed(gen)
        steps = [("listening-port", True)]
        if announce_ip:
            steps.append(("ip-address", True))
        steps.append(("capa", True))
        for what, _ in steps:
            reply = await self._handshake_reply(reader, gen)
            if reply is None:
                return
            if reply.startswith("-"):
                log.notice(f"(Non critical) Master does not understand REPLCONF {what}: {reply}")

        # PSYNC
        self.master_initial_offset = -1
        cached = self.cached
        if cached is not None:
            psync_replid, psync_offset = cached.replid, str(cached.reploff + 1)
            log.notice(f"Trying a partial resynchronization (request "
                       f"{psync_replid}:{psync_offset}).")
        else:
            log.notice("Partial resynchronization not possible (no cached master)")
            psync_replid, psync_offset = "?", "-1"
        psync = [b"PSYNC", psync_replid.encode(), psync_offset.encode()]
        if self.failover_state == FAILOVER_IN_PROGRESS:
            psync.append(b"FAILOVER")  # the target promotes itself
        writer.write(encode_command(psync))
        while True:
            reply = await self._handshake_reply(
                reader, gen, "Master did not reply to PSYNC, will try later")
            if reply is None:
                return
            if reply:
                break  # empty lines are keepalives sent while the master prepares the RDB
        use_sync = False
        if reply.startswith("+FULLRESYNC"):
            parts = reply.split(" ")
            if len(parts) < 3 or len(parts[1]) != 40:
                log.warning("Master replied with wrong +FULLRESYNC syntax.")
                self.master_replid = ""
            else:
                self.master_replid = parts[1]
                try:
                    self.master_initial_offset = int(parts[2])
                except ValueError:
                    self.master_initial_offset = 0
                log.notice(f"Full resync from master: {self.master_replid}:"
                           f"{self.master_initial_offset}")
            if self.failover_state == FAILOVER_IN_PROGRESS:
                self.clear_failover_state()
        elif reply.startswith("+CONTINUE"):
            log.notice("Successful partial resynchronization with master.")
            new = reply[10:].strip()
            assert cached is not None
            if len(new) == 40 and new != cached.replid:
                log.warning(f"Master replication ID changed to {new}")
                srv = self.server
                self.flush()
                srv.repl_id2 = cached.replid
                srv.second_repl_offset = srv.master_repl_offset + 1
                srv.repl_id = new
                cached.replid = new
                self.disconnect_replicas()
            if self.failover_state == FAILOVER_IN_PROGRESS:
                self.clear_failover_state()
            self._resurrect_cached_master(reader, writer)
            if self.backlog is None:
                self.create_backlog()
            log.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            await self._stream(gen, reader)
            return
        elif reply.startswith("-NOMASTERLINK") or reply.startswith("-LOADING"):
            log.notice(f"Master is currently unable to PSYNC but should be in the future: "
                       f"{reply}")
            if self.failover_state == FAILOVER_IN_PROGRESS:
                return self.abort_failover("Failover target rejected psync request")
            return self._link_failed(gen)
        else:
            if not reply.startswith("-ERR"):
                log.warning(f"Unexpected reply to PSYNC from master: {reply}")
            else:
                log.notice(f"Master does not support PSYNC or is in error state "
                           f"(reply: {reply})")
            if self.failover_state == FAILOVER_IN_PROGRESS:
                return self.abort_failover("Failover target rejected psync request")
            use_sync = True
        if use_sync:
            log.notice("Retrying with SYNC...")
            writer.write(b"SYNC\r\n")
        await self._transfer(gen, reader, writer)

    async def _transfer(self, gen: int, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        """``readSyncBulkPayload``: receive the RDB, load it, start streaming."""
        log = self.log
        cfg = self.config
        disk = cfg["repl-diskless-load"] == "disabled" or (
            cfg["repl-diskless-load"] == "on-empty-db" and self.server.keyspace.total_keys())
        self._set_state(TRANSFER)
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_lastio = time.time()
        # the bulk count line (newlines before it keep the link alive)
        while True:
            try:
                line = await reader.readline()
            except (OSError, ValueError, asyncio.LimitOverrunError) as exc:
                log.warning(f"I/O error reading bulk count from MASTER: {_strerror(exc)}")
                return self._link_failed(gen, after_failure=True)
            if gen != self.link_gen:
                return
            if not line:
                log.warning("I/O error reading bulk count from MASTER: connection lost")
                return self._link_failed(gen, after_failure=True)
            self.transfer_lastio = time.time()
            text = line.rstrip(b"\r\n")
            if not text:
                continue
            break
        if text[:1] == b"-":
            log.warning(f"MASTER aborted replication with an error: "
                        f"{text[1:].decode(errors='replace')}")
            return self._link_failed(gen, after_failure=True)
        if text[:1] != b"$":
            log.warning(f"Bad protocol from MASTER, the first byte is not '$' (we received "
                        f"'{text.decode(errors='replace')}'), are you sure the host and port "
                        f"are right?")
            return self._link_failed(gen, after_failure=True)
        where = "to disk" if disk else "to parser"
        mark = b""
        if text[1:5] == b"EOF:" and len(text) >= 45:
            mark = text[5:45]
            self.transfer_size = 0
            log.notice(f"MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF "
                       f"{where}")
        else:
            try:
                self.transfer_size = int(text[1:])
            except ValueError:
                self.transfer_size = 0
            log.notice(f"MASTER <-> REPLICA sync: receiving {self.transfer_size} bytes from "
                       f"master {where}")
        tmpfile = None
        fh = None
        if disk:
            tmpfile = os.path.join(cfg["dir"] or ".",
                                   f"temp-{int(time.time())}.{os.getpid()}.rdb")
            try:
                fh = open(tmpfile, "wb")
            except OSError as exc:
                log.warning(f"Opening the temp file needed for MASTER <-> REPLICA "
                            f"synchronization: {exc.strerror}")
                return self._link_failed(gen)
            self.transfer_tmpfile = tmpfile
        chunks: list[bytes] = []
        try:
            if mark:
                tail = b""
                while True:
                    data = await reader.read(READ_CHUNK)
                    if gen != self.link_gen:
                        return
                    if not data:
                        raise ConnectionResetError(0, "connection lost")
                    self.transfer_read += len(data)
                    self.transfer_lastio = time.time()
                    chunks.append(data)
                    tail = (tail + data)[-40:]
                    if fh is not None:
                        fh.write(data)
                    if tail == mark:
                        break
                payload = b"".join(chunks)[:-40]
            else:
                left = self.transfer_size
                while left > 0:
                    data = await reader.read(min(left, READ_CHUNK))
                    if gen != self.link_gen:
                        return
                    if not data:
                        raise ConnectionResetError(0, "connection lost")
                    left -= len(data)
                    self.transfer_read += len(data)
                    self.transfer_lastio = time.time()
                    chunks.append(data)
                    if fh is not None:
                        fh.write(data)
                payload = b"".join(chunks)
        except OSError as exc:
            if fh is not None:
                fh.close()
            if gen == self.link_gen:
                reason = "connection lost" if not exc.errno else os.strerror(exc.errno)
                log.warning(f"I/O error trying to sync with MASTER: {reason}")
                self._link_failed(gen, after_failure=True)
            return
        if fh is not None:
            if mark:
                fh.truncate(len(payload))
            fh.close()
        chunks = []
        srv = self.server
        if disk:
            path = self._rdb_path()
            try:
                os.replace(tmpfile, path)  # type: ignore[arg-type]
            except OSError as exc:
                log.warning(f"Failed trying to rename the temp DB into {cfg['dbfilename']} in "
                            f"MASTER <-> REPLICA synchronization: {exc.strerror}")
                return self._link_failed(gen, after_failure=True)
            self.transfer_tmpfile = None
        # from here on the data set is the master's
        self.discard_cached_master()
        self.disconnect_replicas()
        self.free_backlog()
        aof = getattr(getattr(srv, "persistence", None), "aof", None)
        if aof is not None and getattr(aof, "state", "off") != "off":
            aof.stop()
        log.notice("MASTER <-> REPLICA sync: Flushing old data")
        srv.keyspace.flushall()
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        try:
            aux = self._load_rdb(payload)
        except Exception as exc:
            how = "from disk" if disk else "from socket"
            log.warning(f"Failed trying to load the MASTER synchronization DB {how}: {exc}")
            srv.keyspace.flushall()
            return self._link_failed(gen, after_failure=True)
        if disk and cfg.get("rdb-del-sync-files") and not cfg["save"] and not cfg["appendonly"]:
            log.notice("Removing the RDB file obtained from the master. This replica has "
                       "persistence disabled")
            try:
                os.unlink(self._rdb_path())
            except OSError:
                pass
        try:
            stream_db = int(aux.get("repl-stream-db", b"0") or 0)
        except (TypeError, ValueError):
            stream_db = 0
        self._create_master_client(reader, writer, self.master_initial_offset, stream_db)
        self.flush()
        srv.repl_id = self.master_replid or new_replid()
        srv.master_repl_offset = self.reploff
        self.clear_replid2()
        if self.backlog is None:
            self.create_backlog()
        log.notice("MASTER <-> REPLICA sync: Finished with success")
        if mark:
            self.send_ack()
        if aof is not None and cfg["appendonly"] and getattr(aof, "state", "off") == "off":
            aof.start()
        await self._stream(gen, reader)

    def _load_rdb(self, payload: bytes) -> dict[str, Any]:
        """Load the master's RDB into our (flushed) keyspace, logging as Redis does."""
        srv = self.server
        srv.loading = True
        try:
            try:
                from .persistence import load_rdb_data
            except ImportError:  # pragma: no cover
                from . import rdb

                res = rdb.load(payload, srv.keyspace, is_master=False)
            else:
                res = load_rdb_data(srv, payload, is_master=False)
        finally:
            srv.loading = False
        srv.keyspace.dirty += 1
        return res

    # ---------------------------------------------------------------- the master client

    def _create_master_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                              reploff: int, db: int) -> "Client":
        from .server import Client, _fmt_addr

        srv = self.server
        c = Client(srv)
        transport = writer.transport
        c.transport = transport  # type: ignore[assignment]
        c.id = srv.next_client_id
        srv.next_client_id += 1
        c.addr = _fmt_addr(transport.get_extra_info("peername"))
        c.laddr = _fmt_addr(transport.get_extra_info("sockname"))
        sock = transport.get_extra_info("socket")
        c.fd = sock.fileno() if sock is not None else -1
        c.flags.add("master")
        c.authenticated = True
        c.parser.is_master = True
        c.parser.authenticated = True
        dbs = srv.keyspace.dbs
        c.db = dbs[db] if 0 <= db < len(dbs) else dbs[0]
        c.on_close.append(self._master_closed)
        srv.clients[c.id] = c
        self.master = c
        self.master_pre_psync = reploff == -1
        self.reploff = self.read_reploff = max(reploff, 0)
        self.fed = 0
        self.raw = []
        self.raw_len = 0
        self._set_state(CONNECTED)
        self.down_since = 0
        self.refresh_guards()
        return c

    def _resurrect_cached_master(self, reader: asyncio.StreamReader,
                                 writer: asyncio.StreamWriter) -> None:
        cached = self.cached
        assert cached is not None
        self.cached = None
        self.master_replid = cached.replid
        self._create_master_client(reader, writer, cached.reploff, cached.db)

    def _master_closed(self, c: "Client") -> None:
        """The master client is gone: cache it for a partial resync, reconnect."""
        if c is not self.master:
            return
        self.master = None
        self.link_writer = None
        self.link_task = None
        self.link_gen += 1
        if self.closing:
            return
        self.log.warning("Connection with master lost.")
        c.multi = None  # a transaction cut in half is discarded; the offset excludes it
        self.log.notice("Caching the disconnected master state.")
        self.cached = CachedMaster(self.master_replid, self.reploff, c.db.index)
        self._set_state(CONNECT)
        self.down_since = time.time()
        self.refresh_guards()
        if self.master_host is not None:
            self.log.notice(f"Reconnecting to MASTER {self.master_host}:{self.master_port}")
            self.connect()

    async def _stream(self, gen: int, reader: asyncio.StreamReader) -> None:
        """Apply the master's stream until the link goes down."""
        c = self.master
        while c is not None and c is self.master and not c.closed:
            try:
                data = await reader.read(READ_CHUNK)
            except OSError:
                data = b""
            if c is not self.master or c.closed:
                return
            if not data:
                c.close()
                return
            self.apply(data)

    def apply(self, data: bytes) -> None:
        """Execute a piece of the master's stream and account for it."""
        c = self.master
        assert c is not None
        self.read_reploff += len(data)
        c.last_interaction = time.time()
        c.net_in += len(data)
        srv = self.server
        st = srv.stats
        st.net_repl_input_bytes = getattr(st, "net_repl_input_bytes", 0) + len(data)
        parser = c.parser
        error: ProtocolError | None = None
        try:
            reqs = parser.feed(data)
        except ProtocolError as exc:
            reqs = parser.parsed
            error = exc
        self.batch = reqs
        self.batch_base = self.reploff
        if c.multi is not None:
            self.batch_base += 15 + sum(canonical_len(a) for _, a in c.multi)
        out: list[bytes] = []
        c.out = out
        call = srv.call
        try:
            for args in reqs:
                call(c, args, out)
                if out:
                    out.clear()
        except Exception as exc:  # pragma: no cover - a handler bug must not kill the link
            self.log.warning(f"Error applying the replication stream: {exc!r}")
        finally:
            c.out = None
            self.batch = []
        self.fed += len(data)
        self.raw.append(data)
        self.raw_len += len(data)
        if error is not None:
            self.log.warning(f"Protocol error ({error}) from client: {c.info_line()}")
            self.log.warning("WARNING: Receiving inline protocol from master, master stream "
                             "corruption? Closing the master connection and discarding the "
                             "cached master.")
            c.close()
            self.discard_cached_master()
            return
        complete = self.fed - parser.pending_bytes() - _partial_len(parser)
        if c.multi is not None:
            # a transaction is not applied before its EXEC: hold MULTI and what it queued
            # back (Redis does not advance the offset of a master client in MULTI)
            complete -= 15 + sum(canonical_len(a) for _, a in c.multi)
        applied = complete - (self.fed - self.raw_len)
        if applied <= 0:
            return
        raw = self.raw
        blob = raw[0] if len(raw) == 1 else b"".join(raw)
        if applied == len(blob):
            self.raw = []
            self.raw_len = 0
        else:
            self.raw = [blob[applied:]]
            self.raw_len = len(blob) - applied
            blob = blob[:applied]
        self.reploff += applied
        self.feed_raw(blob)

    def _offset_before(self, args: list[bytes]) -> int:
        """Our applied offset just before the master's request ``args`` of this batch."""
        off = self.batch_base
        for r in self.batch:
            if r is args:
                return off
            off += canonical_len(r)
        return self.reploff

    def send_ack(self, offset: int | None = None) -> None:
        c = self.master
        if c is None or c.closed:
            return
        off = self.reploff if offset is None else offset
        c.write(encode_command([b"REPLCONF", b"ACK", b"%d" % off]))

    # ================================================================ cron, start, stop

    def cron_tick(self) -> None:
        now = time.time()
        if self.failover_state == FAILOVER_WAIT_FOR_SYNC:
            self.update_failover_status()  # Redis checks it before each sleep
        if (self.state == CONNECT and self.master_host is not None and now >= self.retry_at
                and self.retry_at and not self.closing):
            self._retry(now)
        if now < self.next_cron:
            return
        self.next_cron = now + 1.0
        try:
            self.cron(now)
        finally:
            self.cron_loops += 1

    def cron(self, now: float) -> None:
        """``replicationCron``, once a second."""
        cfg = self.config
        timeout = cfg["repl-timeout"]
        if self.master_host is not None:
            if (self.state in (CONNECTING, HANDSHAKE)
                    and now - self.transfer_lastio > timeout):
                self.log.warning("Timeout connecting to the MASTER...")
                self.cancel_handshake(reconnect=True)
            if self.state == TRANSFER and now - self.transfer_lastio > timeout:
                self.log.warning("Timeout receiving bulk data from MASTER... If the problem "
                                 "persists try to set the 'repl-timeout' parameter in "
                                 "redis.conf to a larger value.")
                self.cancel_handshake(reconnect=True)
            if (self.state == CONNECTED and self.master is not None
                    and now - self.master.last_interaction > timeout):
                self.log.warning("MASTER timeout: no data nor PING received...")
                self.master.close()
            if self.state == CONNECT and now >= self.retry_at:
                self._retry(now)
            if self.master is not None and not self.master_pre_psync:
                self.send_ack()
        # PING the replicas (top-level masters only: replicas proxy their master's stream)
        if (self.replicas and self.master_host is None
                and self.cron_loops % cfg["repl-ping-replica-period"] == 0
                and not (self.failover_end_time and self.server.write_pause.active)):
            # no PING while a FAILOVER with a timeout pauses writes: it moves the offset
            self.feed_raw(_PING)
        for r in list(self.replicas):
            if r.state == WAIT_BGSAVE_START or (r.state == WAIT_BGSAVE_END
                                                and self.sync_bgsave_running):
                r.client.write(b"\n")
        for r in list(self.replicas):
            if (r.state == ONLINE and not r.pre_psync and now - r.ack_time > timeout):
                self.log.warning(f"Disconnecting timedout replica (streaming sync): {r.name()}")
                r.client.close()
                continue
            tr = r.client.transport
            if tr is not None and r.state == ONLINE:
                limit = self._replica_obuf_hard_limit()
                if limit and tr.get_write_buffer_size() > limit:
                    self.log.warning(f"Client {r.client.info_line()} scheduled to be closed ASAP "
                                     f"for overcoming of output buffer limits.")
                    r.client.close()
        if (not self.replicas and cfg["repl-backlog-ttl"] and self.backlog is not None
                and self.master_host is None and now - self.no_slaves_since > cfg["repl-backlog-ttl"]):
            self.change_replid()
            self.clear_replid2()
            self.free_backlog()
            self.log.notice(f"Replication backlog freed after {cfg['repl-backlog-ttl']} seconds "
                            f"without connected replicas.")
        self._start_pending_sync(now)
        self._refresh_good_slaves()
        if self.backlog is not None:
            self.backlog.resize(cfg["repl-backlog-size"])

    def _retry(self, now: float) -> None:
        if self.retry_after_failure:
            self.log.notice(f"Reconnecting to MASTER {self.master_host}:{self.master_port} "
                            f"after failure")
        else:
            self.log.notice(f"Connecting to MASTER {self.master_host}:{self.master_port}")
        self.retry_after_failure = False
        self.retry_at = 0.0
        self.connect()

    def _replica_obuf_hard_limit(self) -> int:
        try:
            words = self.config["client-output-buffer-limit"]
            i = words.index("slave")
            return int(words[i + 1])
        except (ValueError, IndexError, KeyError, TypeError):
            return 0

    def _start_pending_sync(self, now: float) -> None:
        """Start the delayed diskless transfer (``shouldStartChildReplication``)."""
        waiting = [r for r in self.replicas if r.state == WAIT_BGSAVE_START]
        if not waiting or self._child_active():
            return
        first = waiting[0]
        group = [r for r in waiting if r.rdb_filter == first.rdb_filter]
        max_idle = max(now - r.client.last_interaction for r in group)
        mincapa = CAPA_EOF | CAPA_PSYNC2
        for r in group:
            mincapa &= r.capa
        cfg = self.config
        max_replicas = cfg["repl-diskless-sync-max-replicas"]
        if (not cfg["repl-diskless-sync"]
                or (max_replicas > 0 and len(group) >= max_replicas)
                or max_idle >= cfg["repl-diskless-sync-delay"]):
            self.start_bgsave_for_replication(mincapa, first.rdb_filter)

    def on_startup(self) -> None:
        """After the dataset was loaded: reuse the replication ID/offset saved in the RDB
        (a replica tries a partial resync with them; a master accepts its former
        replicas' partial resyncs), then connect to the master if we are a replica."""
        srv = self.server
        loop = srv.loop or asyncio.get_event_loop()
        self._call_soon = loop.call_soon
        stopped = getattr(srv, "_stopped", None)
        if stopped is not None:
            stopped.add_done_callback(lambda _f: self.close())
        aux = self._startup_aux()
        if aux is not None:
            try:
                replid = aux["repl-id"]
                offset = int(aux["repl-offset"])
                stream_db = int(aux.get("repl-stream-db", b"-1"))
                if isinstance(replid, bytes):
                    replid = replid.decode()
            except (KeyError, ValueError, TypeError):
                replid, offset, stream_db = "", -1, -1
            if len(replid) == 40 and offset != -1 and stream_db != -1:
                if self.master_host is not None:
                    srv.repl_id = replid
                    srv.master_repl_offset = offset
                    self.cache_master_using_myself()
                    self.cached.db = stream_db  # type: ignore[union-attr]
                else:
                    srv.repl_id2 = replid
                    srv.second_repl_offset = offset + 1
                    srv.master_repl_offset += offset
                    self.create_backlog()
                    self.no_slaves_since = time.time()
        if self.master_host is not None:
            self._set_state(CONNECT)
            self.retry_at = 0.0
            self.next_cron = 0.0
            loop.call_soon(self.cron_tick)

    def _startup_aux(self) -> dict[str, Any] | None:
        """The aux fields of the RDB loaded at start (recorded by persistence)."""
        st = getattr(self.server, "persistence", None)
        aux = getattr(st, "loaded_aux", None)
        return aux or None

    def on_shutdown(self) -> None:
        """SHUTDOWN: hand the last writes to the replicas and report on them."""
        self.flush()
        srv = self.server
        if self.replicas:
            lagging = [r for r in self.replicas if r.ack_off != srv.master_repl_offset]
            if lagging and self.config["shutdown-timeout"] and self.master_host is None:
                # Redis asks for ACKs and pauses writes until the replicas caught up; our
                # last writes are flushed to their sockets before we close them
                self.feed_raw(_GETACK)
                self.flush()
                self.log.notice("Waiting for replicas before shutting down.")
            n = len(self.replicas)
            self.log.notice(f"{n} of {n} replicas are in sync when shutting down.")
        self.close()

    def close(self) -> None:
        """The server stops: no more reconnects or logs about lost links."""
        if self.closing:
            return
        self.flush()
        self.closing = True
        self.link_gen += 1
        task = self.link_task
        self.link_task = None
        if task is not None and not task.done():
            task.cancel()
        if self.link_writer is not None and self.master is None:
            self.link_writer.close()
        self._remove_tmpfile()

    # ================================================================ DEBUG PARTITION

    def on_partition(self, on: bool) -> None:
        """``Server.partition_hooks`` entry: ON drops the link to our master (it is cached
        for a partial resync, and the reconnects fail with "Connection refused" until OFF;
        then the normal retry, once a second, reconnects). The replicas' connections are
        closed by the server through :meth:`is_replica_link`."""
        if not on or self.master_host is None:
            return
        if self.master is not None:
            self.master.close()  # "Connection with master lost.", then reconnects (refused)
        else:
            self.cancel_handshake(reconnect=True)

    def is_replica_link(self, c: "Client", cmd: Any, args: list[bytes] | None) -> bool:
        """``Server.peer_filters`` entry: a replica's connection (or a client starting to
        be one with SYNC, PSYNC or REPLCONF)."""
        return "slave" in c.flags or (cmd is not None
                                      and cmd.name in ("sync", "psync", "replconf"))

    # ================================================================ configuration

    def _config_changed(self, name: str, value: Any) -> None:
        if name in ("replica-read-only", "replica-serve-stale-data", "min-replicas-to-write",
                    "min-replicas-max-lag"):
            self.refresh_guards()
        elif name == "repl-backlog-size":
            if self.backlog is not None:
                self.flush()
                self.backlog.resize(value)
        elif name == "replicaof":
            if value is None:
                if self.master_host is not None:
                    self.unset_master()
            elif (value[0], int(value[1])) != (self.master_host, self.master_port):
                self.set_master(value[0], int(value[1]))
        elif name == "masterauth" and self.master_host is not None:
            if self.state == CONNECT:
                self.retry_at = 0.0


def attach(server: "Server") -> Replication:
    """``Server.init_hooks`` entry: give ``server`` its replication state."""
    return Replication(server)


def save_info(server: "Server") -> dict[str, Any] | None:
    """The repl-stream-db / repl-id / repl-offset aux fields for an RDB saved now."""
    repl = getattr(server, "repl", None)
    return repl.save_info() if repl is not None else None
