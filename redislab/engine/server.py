"""The engine's server: listeners, client connections, command dispatch, auth, MULTI, pub/sub.

One asyncio event loop runs everything, like Redis' single thread. Each connection is a
:class:`Client` protocol: bytes are parsed into requests, every request goes through
:meth:`Server.call` (the same checks, in the same order, as Redis' ``processCommand``), and
the replies of one read are written back in one ``write``.

Other parts plug in without the core knowing them:

* ``server.guards`` — callables ``guard(client, cmd, args)`` run before a command; they raise
  :class:`~redislab.engine.errors.CommandError` to refuse it (READONLY on replicas, MOVED in
  a cluster, ...).
* ``server.propagate_hooks`` — callables ``hook(db_index, argv)`` that receive every write as
  it should be replayed (replication stream, AOF).
* ``server.info_providers`` — INFO sections by name.
* ``server.access_hooks`` — ``hook(client, cmd, args)`` just before each executed command
  (inside EXEC too): the keys it names are being accessed (LRU/LFU).
* ``server.after_command_hooks`` — ``hook(client, cmd, args)`` after a top-level command (a
  whole EXEC) that changed the dataset, and its propagation (serving blocked clients).
* ``server.cron_hooks`` — called every server cron tick (``hz`` times a second).
* ``server.partition_hooks`` / ``server.peer_filters`` — DEBUG PARTITION (engine only): see
  :meth:`Server.set_partitioned`.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import sys
import time
import traceback
from collections import deque
from typing import Any, Awaitable, Callable

from . import errors as E
from .commands import COMMANDS, Command, load_all
from .config import REDIS_VERSION, Config, repr_bytes
from .errors import CommandError
from .keyspace import Database, Keyspace
from .log import Logger
from .pause import WritePause
from .resp import OK, ErrorReply, ProtocolError, Push, RequestParser, Simple, encode

_perf_ns = time.perf_counter_ns  # commandstats' usec, twice per command

PUBSUB_ALLOWED = {
    b"subscribe", b"psubscribe", b"unsubscribe", b"punsubscribe", b"ping", b"quit",
    b"reset", b"ssubscribe", b"sunsubscribe",
}
MULTI_IMMEDIATE = {b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"}


class Blocked:
    """Returned by a handler that must wait (WAIT, BLPOP): the client stops until
    ``awaitable`` finishes, then its result is the reply."""

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Awaitable[Any]):
        self.awaitable = awaitable


def repr_arg(arg: bytes) -> str:
    """Quote an argument as Redis' ``sdscatrepr`` does (MONITOR, SLOWLOG, logs)."""
    return repr_bytes(arg)


_SENSITIVE_CONFIGS = {b"requirepass", b"masterauth", b"masteruser"}


def redact_args(args: list[bytes]) -> list[bytes]:
    """Hide passwords as Redis 7.0 does in MONITOR and SLOWLOG (``(redacted)``): every
    AUTH argument, HELLO's AUTH pair, MIGRATE's AUTH / AUTH2 and the values of sensitive
    parameters in CONFIG SET."""
    name = args[0].lower()
    if name not in (b"auth", b"hello", b"migrate", b"config"):
        return args
    red = b"(redacted)"
    out = list(args)
    n = len(out)
    if name == b"auth":
        return [out[0]] + [red] * (n - 1)
    if name == b"hello":
        i = 2
        while i < n:
            opt = out[i].lower()
            if opt == b"auth" and n - i - 1 >= 2:
                out[i + 1] = out[i + 2] = red
                i += 3
            elif opt == b"setname" and n - i - 1 >= 1:
                i += 2
            else:
                break
        return out
    if name == b"migrate":
        i = 6
        while i < n:
            opt = out[i].lower()
            more = n - i - 1
            if opt == b"auth" and more >= 1:
                out[i + 1] = red
                i += 2
            elif opt == b"auth2" and more >= 2:
                out[i + 1] = out[i + 2] = red
                i += 3
            elif opt == b"keys":
                break
            else:
                i += 1
        return out
    if n >= 4 and out[1].lower() == b"set":
        for i in range(2, n - 1, 2):
            if out[i].lower() in _SENSITIVE_CONFIGS:
                out[i + 1] = red
    return out


class Client(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: "Server"):
        self.server = server
        self.id = 0
        self.transport: asyncio.Transport | None = None
        self.parser = RequestParser(server.config["proto-max-bulk-len"])
        self.db: Database = server.keyspace.dbs[0]
        self.resp3 = False
        self.authenticated = not server.requirepass
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.addr = "?"
        self.laddr = "?"
        self.fd = -1
        self.created = time.time()
        self.last_interaction = self.created
        self.last_cmd: Command | None = None
        self.multi: list[tuple[Command, list[bytes]]] | None = None
        self.multi_error = False
        self.dirty_cas = False
        self.watched: set[tuple[Database, bytes]] = set()
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.shard_channels: set[bytes] = set()  # SSUBSCRIBE (commands/pubsub.py)
        self.flags: set[str] = set()  # 'monitor', 'master', 'slave', 'pubsub', ...
        self.closing = False
        self.closed = False
        self.blocked = False
        self.pending: deque[list[bytes]] = deque()
        self.out: list[bytes] | None = None
        self.propagate_as: list[bytes] | None = None
        self.on_close: list[Callable[["Client"], None]] = []
        self.net_in = 0
        self.net_out = 0
        self.wbuf: list[bytes] | None = None  # output waiting for the end of the loop turn

    # ---------------------------------------------------------------- asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        srv = self.server
        self.id = srv.next_client_id
        srv.next_client_id += 1
        sock = transport.get_extra_info("socket")
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.addr = _fmt_addr(peer)
        self.laddr = _fmt_addr(local)
        self.fd = sock.fileno() if sock is not None else -1
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if srv.aborting:  # start-up failed: the process is on its way out
            transport.abort()
            self.closed = True
            return
        maxclients = srv.config["maxclients"]
        if len(srv.clients) >= maxclients:
            transport.write(b"-ERR max number of clients reached\r\n")
            srv.stats.rejected_connections += 1
            transport.close()
            self.closed = True
            return
        if srv.protected_mode_denies(peer):
            transport.write(b"-" + E.DENIED.encode() + b"\r\n")
            srv.stats.rejected_connections += 1
            transport.close()
            self.closed = True
            return
        srv.clients[self.id] = self
        srv.stats.total_connections_received += 1
        srv.log.verbose(f"Accepted {self.addr}")

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed and self.server.log.level <= 1:  # the peer closed it (verbose)
            self.server.log.verbose(f"Client closed connection {self.info_line()}")
        self._cleanup()

    def data_received(self, data: bytes) -> None:
        self.net_in += len(data)
        self.server.stats.net_input_bytes += len(data)
        parser = self.parser
        self.last_interaction = time.time()
        out: list[bytes] = []
        self.out = out
        call = self.server.call
        error = None
        while True:
            # an unauthenticated client is parsed one request at a time, as Redis runs
            # each request before reading the next: AUTH lifts the limits for what follows
            authenticated = parser.authenticated = self.authenticated
            try:
                requests = parser.feed(data, not authenticated)
            except ProtocolError as exc:
                requests = parser.parsed
                error = exc
            data = b""
            if parser.pending_bytes() > self.server.qbuf_limit:
                self.server.log.warning(
                    f"Closing client that reached max query buffer length: {self.info_line()} "
                    f"(qbuf initial bytes: {repr_arg(parser.buf[:64])})"
                )
                self.out = None
                if out:
                    self.write(b"".join(out))
                self.close()
                return
            if self.blocked:
                self.pending.extend(requests)
            else:
                for i, args in enumerate(requests):
                    call(self, args, out)
                    if self.closing:
                        break
                    if self.blocked:
                        self.pending.extend(requests[i + 1 :])
                        break
            if (authenticated or error is not None or self.closing or self.blocked
                    or not requests):
                break
        if error is not None and not self.closing:
            msg = E.PROTOCOL % error
            out.append(b"-%s\r\n" % msg.encode("latin-1", "replace"))
            self.server.log.verbose(f"Protocol error ({error}) from client: {self.info_line()}")
            self.closing = True
        self.out = None
        if out:
            self.write(b"".join(out))
        if self.closing:
            self.close()

    # ---------------------------------------------------------------- output

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.net_out += len(data)
            self.server.stats.net_output_bytes += len(data)
            self.queue(data)

    def queue(self, data: bytes) -> None:
        """Output for this client, sent when the event loop has served every client that
        was ready (as Redis writes in ``beforeSleep``): one socket write per client and
        turn, and a reader woken once for what several requests produced."""
        if self.wbuf is not None:
            self.wbuf.append(data)
            return
        self.wbuf = [data]
        self.server.pending_output(self)

    def flush_output(self) -> None:
        wbuf = self.wbuf
        if wbuf is not None:
            self.wbuf = None
            if self.transport is not None and not self.closed:
                self.transport.write(wbuf[0] if len(wbuf) == 1 else b"".join(wbuf))

    def send(self, value: Any) -> None:
        """Encode and send one reply or push now (pub/sub messages, MONITOR lines)."""
        buf: list[bytes] = []
        encode(value, buf, self.resp3)
        data = b"".join(buf)
        if self.out is not None:
            self.out.append(data)
        else:
            self.write(data)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.flush_output()
            self.transport.close()
        self._cleanup()

    def close_after_reply(self) -> None:
        self.closing = True

    def _cleanup(self) -> None:
        if self.closed:
            return
        self.closed = True
        srv = self.server
        srv.clients.pop(self.id, None)
        srv.unwatch_all(self)
        srv.pubsub_drop(self)
        srv.monitors.discard(self)
        for fn in self.on_close:
            try:
                fn(self)
            except Exception:  # pragma: no cover - a hook must not break cleanup
                pass

    # ---------------------------------------------------------------- blocking

    def block(self, blocked: Blocked) -> None:
        self.blocked = True
        # reading goes on (requests queue in self.pending), so a disconnect is noticed
        fut = asyncio.ensure_future(blocked.awaitable)
        fut.add_done_callback(self._unblock)

    def _unblock(self, fut: "asyncio.Future[Any]") -> None:
        self.blocked = False
        if self.closed:
            return
        try:
            reply = fut.result()
        except CommandError as exc:
            reply = ErrorReply(exc.text)
        except Exception as exc:  # pragma: no cover
            reply = ErrorReply(f"ERR {exc}".encode())
        out: list[bytes] = []
        encode(reply, out, self.resp3)
        self.out = out
        while self.pending and not self.blocked and not self.closing:
            self.server.call(self, self.pending.popleft(), out)
        self.out = None
        if out:
            self.write(b"".join(out))
        if self.closing:
            self.close()

    # ---------------------------------------------------------------- info

    def flags_text(self) -> str:
        f = ""
        if "slave" in self.flags:
            f += "S"
        if "master" in self.flags:
            f += "M"
        if self.channels or self.patterns or self.shard_channels:
            f += "P"
        if self.multi is not None:
            f += "x"
        if self.blocked:
            f += "b"
        if self.dirty_cas:
            f += "d"
        if self.closing:
            f += "c"
        if "monitor" in self.flags:
            f += "O"
        if "readonly" in self.flags:
            f += "r"
        return f or "N"

    def info_line(self) -> str:
        now = time.time()
        qbuf = self.parser.pending_bytes()
        multi = len(self.multi) if self.multi is not None else -1
        cmd = self.last_cmd.fullname if self.last_cmd else "NULL"
        return (
            f"id={self.id} addr={self.addr} laddr={self.laddr} fd={self.fd} "
            f"name={self.name.decode(errors='replace')} age={int(now - self.created)} "
            f"idle={int(now - self.last_interaction)} flags={self.flags_text()} "
            f"db={self.db.index} sub={len(self.channels)} psub={len(self.patterns)} "
            f"ssub={len(self.shard_channels)} "
            f"multi={multi} qbuf={qbuf} qbuf-free={max(0, 20474 - qbuf) if qbuf < 20474 else 0} "
            f"argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22400 "
            f"events=r cmd={cmd} user=default redir=-1 resp={3 if self.resp3 else 2}"
        )


def _cstr(arg: bytes) -> bytes:
    """What C's ``%s`` prints of an argument: up to its first NUL byte."""
    nul = arg.find(b"\0")
    return arg if nul < 0 else arg[:nul]


def _fmt_addr(addr: Any) -> str:
    if not addr:
        return "?"
    if isinstance(addr, tuple):
        host, port = addr[0], addr[1]
        return f"{host}:{port}"
    return f"unix:{addr}"


class Stats:
    def __init__(self) -> None:
        self.total_connections_received = 0
        self.total_commands_processed = 0
        self.rejected_connections = 0
        self.net_input_bytes = 0
        self.net_output_bytes = 0
        self.total_error_replies = 0
        self.errors: dict[str, int] = {}
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        self.ops_samples: deque[tuple[float, int]] = deque(maxlen=16)

    def reset(self) -> None:
        keep = self.ops_samples
        self.__init__()  # type: ignore[misc]
        self.ops_samples = keep


class Server:
    """A Redis-compatible server on one event loop."""

    # called with the new server at the end of __init__ (families install their hooks)
    init_hooks: list[Callable[["Server"], None]] = []
    # called once the listeners are open and the data is loaded
    startup_hooks: list[Callable[[], None]] = []

    def __init__(self, config: Config | None = None, *, logger: Logger | None = None):
        self.config = config or Config()
        load_all()
        self.keyspace = Keyspace(self.config["databases"])
        self.log = logger or Logger(
            self.config["logfile"], self.config["loglevel"], role=lambda: self.role_char()
        )
        self.commands: dict[bytes, Command] = self._build_table()
        self.clients: dict[int, Client] = {}
        self.next_client_id = 1
        self.channels: dict[bytes, set[Client]] = {}
        self.patterns: dict[bytes, set[Client]] = {}
        self.shard_channels: dict[bytes, set[Client]] = {}
        self.monitors: set[Client] = set()
        self.stats = Stats()
        self.slowlog: deque[list[Any]] = deque()
        self.slowlog_next_id = 0
        self.guards: list[Callable[[Client, Command, list[bytes]], None]] = []
        self.propagate_hooks: list[Callable[[int, list[bytes]], None]] = []
        self.info_providers: dict[str, Callable[[], list[tuple[str, Any]]]] = {}
        self.cron_hooks: list[Callable[[], None]] = []
        self.shutdown_hooks: list[Callable[[], None]] = []
        # DEBUG PARTITION (engine only, see set_partitioned): ``hook(on)`` drops a
        # subsystem's links to other nodes; ``filter(client, cmd, args)`` tells a link from
        # another node (cmd and args are None when asked about an open connection)
        self.partitioned = False
        # writes paused during a coordinated failover (pause.py; cluster and FAILOVER)
        self.write_pause = WritePause(self)
        # a top-level master with a backlog or replicas (replication keeps it): commands
        # propagated to replicas only (PUBLISH) are queued only then, as Redis'
        # shouldPropagate() -- so they never make an AOF-only MULTI/EXEC
        self.repl_feeding = False
        self.partition_hooks: list[Callable[[bool], None]] = []
        self.peer_filters: list[Callable[[Client, Command | None, list[bytes] | None],
                                         bool]] = []
        # ``hook(client, cmd, args)`` just before a command's handler runs, for every
        # command executed (each queued one inside EXEC too): its keys are being looked up
        # (Redis touches a key's LRU/LFU in lookupKey)
        self.access_hooks: list[Callable[[Client, Command, list[bytes]], None]] = []
        # ``hook(client, cmd, args)`` after a top-level command (a whole EXEC) that changed
        # the dataset ran and its propagation went out (Redis' handleClientsBlockedOnKeys
        # after call(): only a change can make a key ready)
        self.after_command_hooks: list[Callable[[Client, Command, list[bytes]], None]] = []
        self.role = "master"
        self.mode = "standalone"  # or "sentinel"
        self.version = REDIS_VERSION
        self.run_id = os.urandom(20).hex()
        self.start_time = time.time()
        self.servers: list[asyncio.AbstractServer] = []
        self.port = self.config["port"]
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Future[int] | None = None
        self._cron_task: asyncio.Task[None] | None = None
        self._prop: list[tuple[int, list[bytes]]] = []  # propagation of the running call
        self._unflushed: list[Client] = []  # clients with output queued (Client.queue)
        self.aborting = False  # start-up failed (loading): serve nobody while exiting
        self._depth = 0  # nesting of execute() (EXEC runs commands inside itself)
        self.in_exec = False  # True while EXEC runs its queued commands
        self.slowlog_threshold = self.config["slowlog-log-slower-than"]
        self.qbuf_limit = self.config["client-query-buffer-limit"]
        self.loading = False
        self.last_save = int(time.time())
        self.dirty_at_save = 0
        self.last_bgsave_status = "ok"
        self.bgsave_task: asyncio.Future[Any] | None = None
        self.in_shutdown = False
        self.keyspace.is_replica = lambda: self.role == "slave"
        self.keyspace.on_expire = self._propagate_expire
        self.config.on_change(self._config_changed)
        for init in list(Server.init_hooks):
            init(self)

    # ---------------------------------------------------------------- config

    @property
    def requirepass(self) -> str:
        return self.config["requirepass"]

    def _build_table(self) -> dict[bytes, Command]:
        table = dict(COMMANDS)
        for old, new in self.config.renames.items():
            cmd = table.pop(old.encode(), None)
            if cmd is not None and new:
                table[new.lower().encode()] = cmd
        return table

    def _config_changed(self, name: str, value: Any) -> None:
        if name == "slowlog-log-slower-than":
            self.slowlog_threshold = value
        elif name == "client-query-buffer-limit":
            self.qbuf_limit = value
        if name == "loglevel":
            from .log import LEVELS

            self.log.level = LEVELS[value]
        elif name == "proto-max-bulk-len":
            for c in self.clients.values():
                c.parser.max_bulk = value

    def role_char(self) -> str:
        return "S" if self.role == "slave" else "M"

    def protected_mode_denies(self, peer: Any) -> bool:
        if not self.config["protected-mode"] or self.requirepass:
            return False
        if not isinstance(peer, tuple):
            return False
        host = peer[0]
        return not (host.startswith("127.") or host == "::1" or host.startswith("::ffff:127."))

    # ---------------------------------------------------------------- partition

    def set_partitioned(self, on: bool) -> None:
        """DEBUG PARTITION ON|OFF (engine only): cut this node off from the other nodes of
        its lab, or stop doing so.

        The nodes of an engine lab all share 127.0.0.1, so the node drops its own links.
        While partitioned, every ``partition_hooks`` entry has dropped its subsystem's
        outbound links (the link to our master, cluster bus links, a sentinel's links) and
        their reconnects fail in :meth:`check_peer_connect`; connections that a
        ``peer_filters`` entry recognises as another node's (replicas, sentinels) are closed
        now, and closed without a reply as soon as one identifies itself. Other clients
        (redis-cli on the host, the lab's polling) keep working: unlike a container taken
        off its network, the cut-off node can still be looked at. OFF: the links come back
        through each subsystem's normal reconnect logic."""
        if on == self.partitioned:
            return
        self.partitioned = on
        if on:
            self.guards.insert(0, self._partition_guard)
            self.log.warning("Partitioned: links to other nodes dropped")
        else:
            self.guards.remove(self._partition_guard)
            self.log.warning("Partition healed")
        for hook in list(self.partition_hooks):
            hook(on)
        if on:
            for c in list(self.clients.values()):
                if "master" not in c.flags and self._is_peer(c, None, None):
                    c.close()

    def _is_peer(self, c: Client, cmd: Command | None, args: list[bytes] | None) -> bool:
        return any(f(c, cmd, args) for f in self.peer_filters)

    def _partition_guard(self, c: Client, cmd: Command, args: list[bytes]) -> None:
        """While partitioned: a link from another node is closed, with no reply."""
        if "master" not in c.flags and self._is_peer(c, cmd, args):
            self.log.verbose(f"Partitioned: closed a link from another node: {c.info_line()}")
            c.closing = True
            c.close()
            raise CommandError("ERR partitioned")  # not sent: the connection is closed

    def check_peer_connect(self) -> None:
        """Every outbound link to another node calls this before it connects: while
        partitioned the connect fails as one to a node that is not listening does."""
        if self.partitioned:
            raise ConnectionRefusedError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED))

    # ---------------------------------------------------------------- output

    def pending_output(self, c: Client) -> None:
        """``c`` has output queued: write it at the end of this loop turn."""
        unflushed = self._unflushed
        unflushed.append(c)
        if len(unflushed) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush_output)
            except RuntimeError:  # no loop running (a server driven by hand): now
                self.flush_output()

    def flush_output(self) -> None:
        unflushed = self._unflushed
        self._unflushed = []
        for c in unflushed:
            c.flush_output()

    # ---------------------------------------------------------------- dispatch

    def call(self, c: Client, args: list[bytes], out: list[bytes]) -> None:
        """Run one request and append its reply to ``out`` (Redis' processCommand)."""
        name = args[0].lower()
        cmd = self.commands.get(name)
        if cmd is None:
            # C's '%.*s': stops at a NUL byte; other bytes are sent as they are
            tail = b""
            for a in args[1:]:
                if len(tail) >= 128:
                    break
                tail += b"'%s' " % _cstr(a)[: 128 - len(tail)]
            self._reject(c, out, b"ERR unknown command '%s', with args beginning with: %s"
                         % (_cstr(args[0])[:128], tail), None)
            return
        if cmd.subcommands is not None:
            if len(args) == 1:
                self._reject(c, out, E.WRONG_ARITY % cmd.name, cmd)
                return
            sub = cmd.subcommands.get(args[1].lower())
            if sub is None:
                self._reject(c, out, b"ERR unknown subcommand '%s'. Try %s HELP."
                             % (_cstr(args[1])[:128], args[0].upper()), None)
                return
            cmd = sub
        arity = cmd.arity
        if (arity > 0 and len(args) != arity) or len(args) < -arity:
            self._reject(c, out, E.WRONG_ARITY % cmd.fullname, cmd)
            return
        if not c.authenticated and "no_auth" not in cmd.flags:
            self._reject(c, out, E.NOAUTH, cmd)
            return
        if self.guards:  # most of the time none is installed
            try:
                for guard in self.guards:
                    guard(c, cmd, args)
            except CommandError as exc:
                if c.closed:  # the guard dropped the connection (a peer while partitioned)
                    return
                self._reject(c, out, exc.text, cmd)
                return
        if ((c.channels or c.patterns or c.shard_channels) and not c.resp3
                and name not in PUBSUB_ALLOWED):
            self._reject(c, out, E.PUBSUB_CONTEXT % cmd.fullname, cmd)
            return
        if c.multi is not None and name not in MULTI_IMMEDIATE:
            if "no_multi" in cmd.flags:
                self._reject(c, out, "ERR Command not allowed inside a transaction", cmd)
                return
            c.multi.append((cmd, args))
            out.append(b"+QUEUED\r\n")
            return
        self.execute(c, cmd, args, out)

    def _reject(self, c: Client, out: list[bytes], text: str | bytes,
                cmd: Command | None) -> None:
        if c.multi is not None:
            c.multi_error = True
        if cmd is not None:
            cmd.rejected_calls += 1
        if isinstance(text, str):
            text = text.encode(errors="replace")
        self._count_error(text)
        out.append(b"-%s\r\n" % text.replace(b"\r", b" ").replace(b"\n", b" "))

    def _count_error(self, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        code = text.split(" ", 1)[0]
        if not code.isupper():
            code = "ERR"
        st = self.stats
        st.total_error_replies += 1
        st.errors[code] = st.errors.get(code, 0) + 1

    def execute(self, c: Client, cmd: Command, args: list[bytes], out: list[bytes]) -> Any:
        """Run a command that passed every check; returns the reply value."""
        ks = self.keyspace
        dirty = ks.dirty
        c.last_cmd = cmd
        c.propagate_as = None
        for hook in self.access_hooks:
            hook(c, cmd, args)
        self._depth += 1
        t0 = _perf_ns()
        try:
            reply = cmd.handler(c, args)  # type: ignore[misc]
        except CommandError as exc:
            cmd.failed_calls += 1
            self._count_error(exc.text)
            reply = ErrorReply(exc.text)
        except Exception as exc:  # a bug in a handler must not take the connection down
            cmd.failed_calls += 1
            self.log.warning(f"Internal error running {cmd.fullname.upper()}: {exc!r}\n"
                             + traceback.format_exc())
            text = f"ERR internal error in the redislab engine running '{cmd.fullname}': {exc}"
            self._count_error(text)
            reply = ErrorReply(text.replace("\r", " ").replace("\n", " ").encode())
        finally:
            self._depth -= 1
        elapsed = (_perf_ns() - t0) // 1000
        cmd.calls += 1
        cmd.usec += elapsed
        self.stats.total_commands_processed += 1
        if self.monitors and "skip_monitor" not in cmd.flags and "admin" not in cmd.flags:
            self.feed_monitors(c, args)
        if elapsed >= self.slowlog_threshold >= 0:
            self._slowlog_add(c, args, elapsed)
        if ks.dirty != dirty:
            if self.propagate_hooks:  # none: no replica, no AOF, nothing to queue
                alt = c.propagate_as
                if alt is not None:
                    self._prop.append((c.db.index, alt))
                elif cmd.is_write:
                    self._prop.append((c.db.index, args))
            if not self._depth:
                if self._prop:
                    self._flush_propagation()
                if self.after_command_hooks:  # only a change can wake blocked clients
                    for hook in tuple(self.after_command_hooks):  # a hook may remove itself
                        hook(c, cmd, args)
        elif self._prop and not self._depth:
            self._flush_propagation()
        t = type(reply)
        if reply is OK:  # the common replies, encoded here without a call
            out.append(b"+OK\r\n")
        elif t is bytes:
            out.append(b"$%d\r\n%s\r\n" % (len(reply), reply))
        elif t is Simple:
            out.append(b"+%s\r\n" % reply)
        elif t is int:
            out.append(b":%d\r\n" % reply)
        elif t is Blocked:
            c.block(reply)
        elif reply is not _NO_REPLY:
            encode(reply, out, c.resp3)
        return reply

    def feed_monitors(self, c: Client, args: list[bytes]) -> None:
        now = time.time()
        addr = c.addr if "master" not in c.flags else "127.0.0.1:0"
        if c.addr == "lua":
            addr = "lua"
        shown = redact_args(args)
        line = "%.6f [%d %s] %s" % (now, c.db.index, addr, " ".join(repr_arg(a) for a in shown))
        data = b"+%s\r\n" % line.encode()
        for m in list(self.monitors):
            if m is not c:
                m.write(data)

    def _slowlog_add(self, c: Client, args: list[bytes], usec: int) -> None:
        shown: list[bytes] = []
        for i, a in enumerate(redact_args(args)):
            if i == 31 and len(args) > 32:
                shown.append(b"... (%d more arguments)" % (len(args) - 31))
                break
            if len(a) > 128:
                a = a[:128] + b"... (%d more bytes)" % (len(a) - 128)
            shown.append(a)
        self.slowlog.appendleft(
            [self.slowlog_next_id, int(time.time()), usec, shown, c.addr.encode(), c.name]
        )
        self.slowlog_next_id += 1
        while len(self.slowlog) > self.config["slowlog-max-len"]:
            self.slowlog.pop()

    # ---------------------------------------------------------------- propagation

    def propagate(self, db_index: int, argv: list[bytes]) -> None:
        """Queue ``argv`` for replicas and the AOF. Everything one command (or one EXEC)
        causes is sent together when it ends, wrapped in MULTI/EXEC when there is more
        than one, as Redis 7.0 does (an expired key's DEL before the command, say)."""
        self._prop.append((db_index, argv))
        if not self._depth:
            self._flush_propagation()

    def _flush_propagation(self) -> None:
        items = self._prop
        self._prop = []
        hooks = self.propagate_hooks
        if not hooks:
            return
        if len(items) > 1:
            first = items[0][0]
            items = [(first, [b"MULTI"])] + items + [(items[-1][0], [b"EXEC"])]
        for db_index, argv in items:
            for hook in hooks:
                hook(db_index, argv)

    def _propagate_expire(self, db: Database, key: bytes) -> None:
        self.propagate(db.index, [b"DEL", key])

    def run_transaction(self, c: Client) -> list[Any]:
        """Run the queued commands of ``c`` (EXEC); writes are propagated as one
        MULTI/EXEC block, as Redis does."""
        assert c.multi is not None
        queued = c.multi
        c.multi = None
        replies: list[Any] = []
        scratch: list[bytes] = []
        self.in_exec = True
        try:
            for cmd, args in queued:
                replies.append(self.execute(c, cmd, args, scratch))
        finally:
            self.in_exec = False
        return replies

    # ---------------------------------------------------------------- watch / pubsub

    def watch(self, c: Client, key: bytes) -> None:
        entry = (c.db, key)
        if entry in c.watched:
            return
        c.watched.add(entry)
        c.db.watched.setdefault(key, set()).add(c)

    def unwatch_all(self, c: Client) -> None:
        for db, key in c.watched:
            clients = db.watched.get(key)
            if clients is not None:
                clients.discard(c)
                if not clients:
                    del db.watched[key]
        c.watched.clear()
        c.dirty_cas = False

    def publish(self, channel: bytes, message: bytes) -> int:
        from .glob import match

        receivers = 0
        for sub in list(self.channels.get(channel, ())):
            sub.send(Push([b"message", channel, message]))
            receivers += 1
        if self.patterns:
            for pattern, subs in list(self.patterns.items()):
                if match(pattern, channel):
                    for sub in list(subs):
                        sub.send(Push([b"pmessage", pattern, channel, message]))
                        receivers += 1
        return receivers

    def pubsub_drop(self, c: Client) -> None:
        for mine, table in ((c.channels, self.channels), (c.patterns, self.patterns),
                            (c.shard_channels, self.shard_channels)):
            for name in mine:
                subs = table.get(name)
                if subs is not None:
                    subs.discard(c)
                    if not subs:
                        del table[name]
            mine.clear()

    # ---------------------------------------------------------------- lifecycle

    def bind_addresses(self) -> list[tuple[str, bool]]:
        """(address, optional) pairs; a leading '-' marks an address that may fail."""
        out = []
        for a in self.config["bind"]:
            optional = a.startswith("-")
            a = a[1:] if optional else a
            if a == "*":
                a = "0.0.0.0"
            elif a == "::*":
                a = "::"
            out.append((a, optional))
        return out

    def listen_sockets(self, port: int) -> list[socket.socket]:
        """Bind every ``bind`` address on ``port`` as Redis' ``listenToPort`` does (logging
        the same warnings); raises OSError when a mandatory address fails."""
        socks: list[socket.socket] = []
        for shown, (host, optional) in zip(self.config["bind"], self.bind_addresses()):
            shown = shown[1:] if shown.startswith("-") else shown
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = None
            try:
                infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0,
                                           socket.AI_PASSIVE)
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    sock.bind(infos[0][4])
                except OSError as exc:
                    raise OSError(exc.errno, f"bind: {exc.strerror}") from None
                sock.listen(self.config["tcp-backlog"])
                sock.setblocking(False)
            except OSError as exc:
                if sock is not None:
                    sock.close()
                reason = exc.strerror or str(exc)
                if isinstance(exc, socket.gaierror):
                    reason = exc.strerror or str(exc)
                self.log.warning(f"Warning: Could not create server TCP listening socket "
                                 f"{shown}:{port}: {reason}")
                if exc.errno == 99 and optional:  # EADDRNOTAVAIL
                    continue
                if exc.errno in (92, 93, 94, 96, 97):  # no such protocol / family
                    continue
                for s_ in socks:
                    s_.close()
                raise
            socks.append(sock)
        return socks

    async def _serve(self, socks: list[socket.socket]) -> None:
        assert self.loop is not None
        for sock in socks:
            if sock.family == socket.AF_UNIX:
                srv = await self.loop.create_unix_server(lambda: Client(self), sock=sock)
            else:
                srv = await self.loop.create_server(lambda: Client(self), sock=sock)
            self.servers.append(srv)

    def rebind(self) -> None:
        """Close the TCP listeners and listen again on the configured port and addresses
        (CONFIG SET port / bind, like Redis' ``changeListenPort``); raises OSError (the
        listeners are then closed) when binding fails."""
        keep = []
        for srv in self.servers:
            socks = srv.sockets or ()
            if any(s.family == socket.AF_UNIX for s in socks):
                keep.append(srv)
            else:
                srv.close()
        self.servers = keep
        port = self.config["port"]
        self.port = port
        if not port:
            return
        socks = self.listen_sockets(port)
        assert self.loop is not None
        self.loop.create_task(self._serve(socks))

    async def start(self) -> None:
        """Open the listeners, load data and start the cron (logs as Redis does)."""
        self.loop = asyncio.get_running_loop()
        self._stopped = self.loop.create_future()
        self.port = self.config["port"]
        log = self.log
        cfg = self.config
        _adjust_open_files(self)
        log.notice("monotonic clock: POSIX clock_gettime")
        socks: list[socket.socket] = []
        if self.port:
            try:
                socks = self.listen_sockets(self.port)
            except OSError:
                log.warning(f"Failed listening on port {self.port} (TCP), aborting.")
                raise SystemExit(1) from None
        if cfg["unixsocket"]:
            path = cfg["unixsocket"]
            try:
                os.unlink(path)
            except OSError:
                pass
            try:
                usock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                usock.bind(path)
                if cfg["unixsocketperm"]:
                    os.chmod(path, cfg["unixsocketperm"])
                usock.listen(cfg["tcp-backlog"])
                usock.setblocking(False)
            except OSError as exc:
                log.warning(f"Failed opening Unix socket: {exc.strerror or exc}")
                for s_ in socks:
                    s_.close()
                raise SystemExit(1) from None
            socks.append(usock)
        if not socks:
            log.warning("Configured to not listen anywhere, exiting.")
            raise SystemExit(1)
        await self._serve(socks)
        background = cfg["daemonize"] and not getattr(self, "supervised", False)
        if background or cfg["pidfile"]:
            if not cfg["pidfile"]:
                cfg.set_value("pidfile", "/var/run/redis.pid")
            try:
                with open(cfg["pidfile"], "w") as f:
                    f.write(f"{os.getpid()}\n")
            except OSError:
                pass
        mode = ("cluster" if cfg.get("cluster-enabled") else
                "sentinel" if self.mode == "sentinel" else "standalone")
        if ((not cfg["syslog-enabled"] and not cfg["logfile"] and _stdout_isatty())
                or cfg["always-show-logo"]):
            log.raw(_logo(self.port, os.getpid(), mode), level=2)
        else:
            log.notice(f"Running mode={mode}, port={self.port}.")
        _check_backlog(self)
        if self.mode != "sentinel":
            log.warning("Server initialized")
            _memory_warnings(self)
            if cfg.modules:
                log.warning(f"Module {cfg.modules[0][0]} failed to load: the redislab engine "
                            f"cannot load Redis modules")
                raise SystemExit(1)
            if cfg.module_configs:
                log.warning("Module Configuration detected without loadmodule directive or "
                            "no ApplyConfig call: aborting")
                raise SystemExit(1)
        try:
            self.load_data()
        except BaseException:
            self._abort_serving()
            raise
        for hook in list(self.startup_hooks):
            hook()
        if self.mode != "sentinel":  # redis-sentinel logs neither of these lines
            if any(s.family != socket.AF_UNIX for s in socks):
                log.notice("Ready to accept connections")
            if cfg["unixsocket"]:
                log.notice(f"The server is now ready to accept connections at "
                           f"{cfg['unixsocket']}")
        if 0 < cfg["maxmemory"] < 1024 * 1024:
            log.warning(f"WARNING: You specified a maxmemory value that is less than 1MB "
                        f"(current value is {cfg['maxmemory']} bytes). Are you sure this is "
                        f"what you really want?")
        self._cron_task = asyncio.ensure_future(self._cron())


    def _abort_serving(self) -> None:
        """Loading failed and the server exits: nobody is served in the meantime (the
        loop still runs while asyncio winds down). Redis, busy loading, answers nobody
        before it exits; a PONG here would tell a client the node came up."""
        self.aborting = True
        for srv in self.servers:
            srv.close()
        self.servers = []
        for c in list(self.clients.values()):
            c.wbuf = None
            if c.transport is not None:
                c.transport.abort()
            c._cleanup()

    def load_data(self) -> None:
        """Load the AOF or the RDB at start, if persistence modules are present."""
        try:
            from . import persistence
        except ImportError:  # persistence module not present
            return
        persistence.load_at_start(self)

    async def _cron(self) -> None:
        while True:
            hz = max(1, min(500, self.config["hz"]))
            await asyncio.sleep(1.0 / hz)
            try:
                self.cron()
            except Exception as exc:  # pragma: no cover - keep the server alive
                self.log.warning(f"cron error: {exc!r}")

    def cron(self) -> None:
        for db in self.keyspace.dbs if getattr(self, "active_expire_enabled", True) else ():
            if db.expires:
                removed = db.active_expire()
                while removed > 5:
                    removed = db.active_expire()
        st = self.stats
        st.ops_samples.append((time.time(), st.total_commands_processed))
        timeout = self.config["timeout"]
        if timeout:
            now = time.time()
            for c in list(self.clients.values()):
                if (not c.flags & {"master", "slave"} and not c.blocked
                        and now - c.last_interaction > timeout):
                    self.log.verbose("Closing idle client")
                    c.close()
        for hook in list(self.cron_hooks):
            hook()

    def instantaneous_ops(self) -> int:
        s = self.stats.ops_samples
        if len(s) < 2:
            return 0
        (t0, n0), (t1, n1) = s[0], s[-1]
        return int((n1 - n0) / (t1 - t0)) if t1 > t0 else 0

    async def serve_forever(self) -> int:
        await self.start()
        assert self._stopped is not None
        return await self._stopped

    def stop(self, code: int = 0) -> None:
        """Close listeners and clients and end :meth:`serve_forever`."""
        for srv in self.servers:
            srv.close()
        self.servers = []
        for c in list(self.clients.values()):
            c.close()
        if self._cron_task is not None:
            self._cron_task.cancel()
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(code)

    def shutdown(self, save: bool | None = None, by_signal: str | None = None,
                 force: bool = False) -> bool:
        """SHUTDOWN: save if asked (or if save points are set), then stop. Returns False
        (and keeps running) when the final save fails and ``force`` is not set."""
        log = self.log
        if by_signal:
            log.signal_handler(f"Received {by_signal} scheduling shutdown...")
        log.warning("User requested shutdown...")
        for hook in list(self.shutdown_hooks):
            hook()
        if save is None:
            save = bool(self.config["save"])
        if save:
            log.notice("Saving the final RDB snapshot before exiting.")
            try:
                from . import persistence

                ok = bool(persistence.save_rdb(self))
            except ImportError:
                ok = False
            if not ok:
                if force:
                    log.warning("Error trying to save the DB. Exit anyway.")
                else:
                    log.warning("Error trying to save the DB, can't exit.")
                    log.warning("Errors trying to shut down the server. Check the logs for "
                                "more information.")
                    return False
        if self.config["daemonize"] or self.config["pidfile"]:
            log.notice("Removing the pid file.")
            try:
                os.unlink(self.config["pidfile"])
            except OSError:
                pass
        for srv in self.servers:
            srv.close()
        log.warning(f"{'Sentinel' if self.mode == 'sentinel' else 'Redis'} is now ready to "
                    f"exit, bye bye...")
        self.in_shutdown = True
        self.stop(0)
        return True

# callables ``init(server)`` run at the end of every Server.__init__ (replication attaches
# its per-server state, guards, hooks and INFO section here)


class _NoReply:
    """A handler returns this when it wrote its reply itself (or none is due)."""


_NO_REPLY = _NoReply()
NO_REPLY = _NO_REPLY


def _logo(port: int, pid: int, mode: str = "standalone") -> str:
    return (
        f"                _._                                                  \n"
        f"           _.-``__ ''-._                                             \n"
        f"      _.-``    `.  `_.  ''-._           Redis {REDIS_VERSION} (00000000/0) 64 bit\n"
        f"  .-`` .-```.  ```\\/    _.,_ ''-._                                  \n"
        f" (    '      ,       .-`  | `,    )     Running in {mode} mode\n"
        f" |`-._`-...-` __...-.``-._|'` _.-'|     Port: {port}\n"
        f" |    `-._   `._    /     _.-'    |     PID: {pid}\n"
        f"  `-._    `-._  `-./  _.-'    _.-'                                   \n"
        f" |`-._`-._    `-.__.-'    _.-'_.-'|                                  \n"
        f" |    `-._`-._        _.-'_.-'    |           https://redis.io       \n"
        f"  `-._    `-._`-.__.-'_.-'    _.-'                                   \n"
        f" |`-._`-._    `-.__.-'    _.-'_.-'|                                  \n"
        f" |    `-._`-._        _.-'_.-'    |                                  \n"
        f"  `-._    `-._`-.__.-'_.-'    _.-'                                   \n"
        f"      `-._    `-.__.-'    _.-'                                       \n"
        f"          `-._        _.-'                                           \n"
        f"              `-.__.-'                                               \n\n"
    )


def _stdout_isatty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def raise_nofile(want: int) -> tuple[int, int]:
    """Make ``want`` file descriptors available if possible, as Redis'
    ``adjustOpenFilesLimit`` (which steps down 16 at a time from ``want`` until
    ``setrlimit`` accepts); returns (the limit now in force, errno of the refusal or 0)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return want, 0
    err = 0
    candidates = [want]
    if hard != resource.RLIM_INFINITY and hard < want:
        candidates.append(want - 16 * -(-(want - hard) // 16))
    for best in candidates:
        if best <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (best, best))
            return best, err
        except (OSError, ValueError) as exc:
            err = getattr(exc, "errno", None) or 1  # EPERM when raising the hard limit
            try:
                if hard == resource.RLIM_INFINITY or best <= hard:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (best, hard))
                    return best, err
            except (OSError, ValueError):
                pass
    return soft, err or 1


def adjust_open_files(server: "Server", maxclients: int | None = None,
                      at_startup: bool = True) -> int:
    """Raise the open files limit for maxclients as Redis' ``adjustOpenFilesLimit`` (with
    its log lines); returns the maxclients the limit allows."""
    try:
        import resource
    except ImportError:  # pragma: no cover
        return maxclients or server.config["maxclients"]
    log = server.log
    if maxclients is None:
        maxclients = server.config["maxclients"]
    want = maxclients + 32
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    best, err = raise_nofile(want)
    if best >= want:
        if soft < want:
            log.notice(f"Increased maximum number of open files to {want} (it was originally "
                       f"set to {soft}).")
        return maxclients
    if best <= 32 and at_startup:
        log.warning(f"Your current 'ulimit -n' of {soft} is not enough for the server to "
                    f"start. Please increase your open file limit to at least {want}. "
                    f"Exiting.")
        raise SystemExit(1)
    log.warning(f"You requested maxclients of {maxclients} requiring at least {want} max "
                f"file descriptors.")
    log.warning(f"Server can't set maximum open files to {want} because of OS error: "
                f"{os.strerror(err or 1)}.")
    log.warning(f"Current maximum open files is {best}. maxclients has been reduced to "
                f"{best - 32} to compensate for low ulimit. If you need higher maxclients "
                f"increase 'ulimit -n'.")
    return best - 32


def _adjust_open_files(server: "Server") -> None:
    allowed = adjust_open_files(server)
    if allowed != server.config["maxclients"]:
        server.config.set_value("maxclients", allowed)


def _check_backlog(server: "Server") -> None:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    backlog = server.config["tcp-backlog"]
    if 0 < somaxconn < backlog:
        server.log.warning(f"WARNING: The TCP backlog setting of {backlog} cannot be enforced "
                           f"because /proc/sys/net/core/somaxconn is set to the lower value of "
                           f"{somaxconn}.")


def _memory_warnings(server: "Server") -> None:
    """The overcommit warning Redis prints on Linux (it reads the same /proc file)."""
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            overcommit = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if overcommit != 1:
        server.log.warning(
            "WARNING Memory overcommit must be enabled! Without it, a background save or "
            "replication may fail under low memory condition. Being disabled, it can can also "
            "cause failures without low memory condition, see "
            "https://github.com/jemalloc/jemalloc/issues/1328. To fix this issue add "
            "'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command "
            "'sysctl vm.overcommit_memory=1' for this to take effect.")


def _on_signal(server: "Server", name: str) -> None:
    """SIGTERM / SIGINT: shut down with the shutdown-on-sig* flags; a failed shutdown keeps
    the server running, as Redis does."""
    if server.in_shutdown:
        return
    flags = server.config["shutdown-on-sigint" if name == "SIGINT" else "shutdown-on-sigterm"]
    words = flags.split()
    save = True if "save" in words else False if "nosave" in words else None
    if not server.shutdown(save=save, by_signal=name, force="force" in words):
        server.log.warning(f"{name} received but errors trying to shut down the server, "
                           f"check the logs for more information")


def run(config: Config, *, use_uvloop: bool = True, supervised: bool = False) -> int:
    """Run a server until SHUTDOWN or a signal (the ``redislab server`` entry point)."""
    server = Server(config)
    server.supervised = supervised
    log = server.log
    if use_uvloop:
        try:
            import uvloop

            uvloop.install()
        except ImportError:  # pragma: no cover
            pass

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for sig, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
            loop.add_signal_handler(sig, lambda n=name: _on_signal(server, n))
        try:
            return await server.serve_forever()
        except SystemExit as exc:
            return int(exc.code or 1)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:  # pragma: no cover
        return 0
    finally:
        log.set_file("")
        sys.stdout.flush()
