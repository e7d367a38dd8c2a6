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
* ``server.cron_hooks`` — called every server cron tick (``hz`` times a second).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import deque
from typing import Any, Awaitable, Callable

from . import errors as E
from .commands import COMMANDS, Command, load_all
from .config import REDIS_VERSION, Config
from .errors import CommandError
from .keyspace import Database, Keyspace
from .log import Logger
from .resp import NULL_ARRAY, ErrorReply, ProtocolError, Push, RequestParser, encode

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
    out = ['"']
    for b in arg:
        if b == 92:
            out.append("\\\\")
        elif b == 34:
            out.append('\\"')
        elif b == 10:
            out.append("\\n")
        elif b == 13:
            out.append("\\r")
        elif b == 9:
            out.append("\\t")
        elif b == 7:
            out.append("\\a")
        elif b == 8:
            out.append("\\b")
        elif 32 <= b < 127:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    out.append('"')
    return "".join(out)


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
        self._cleanup()

    def data_received(self, data: bytes) -> None:
        self.net_in += len(data)
        self.server.stats.net_input_bytes += len(data)
        parser = self.parser
        parser.authenticated = self.authenticated
        error = None
        try:
            requests = parser.feed(data)
        except ProtocolError as exc:
            requests = parser.parsed
            error = exc
        if parser.pending_bytes() > self.server.config["client-query-buffer-limit"]:
            self.server.log.warning(
                f"Closing client that reached max query buffer length: {self.info_line()} "
                f"(qbuf initial bytes: {repr_arg(parser.buf[:64])})"
            )
            self.close()
            return
        self.last_interaction = time.time()
        out: list[bytes] = []
        self.out = out
        call = self.server.call
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
        if error is not None and not self.closing:
            msg = E.PROTOCOL % error
            out.append(b"-%s\r\n" % msg.encode())
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
            self.transport.write(data)

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
        if self.transport is not None:
            self.transport.pause_reading()
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
        elif not self.blocked and self.transport is not None:
            self.transport.resume_reading()

    # ---------------------------------------------------------------- info

    def flags_text(self) -> str:
        f = ""
        if "slave" in self.flags:
            f += "S"
        if "master" in self.flags:
            f += "M"
        if self.channels or self.patterns:
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
            f"db={self.db.index} sub={len(self.channels)} psub={len(self.patterns)} ssub=0 "
            f"multi={multi} qbuf={qbuf} qbuf-free={max(0, 20474 - qbuf) if qbuf < 20474 else 0} "
            f"argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22400 "
            f"events=r cmd={cmd} user=default redir=-1 resp={3 if self.resp3 else 2}"
        )


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
        self.monitors: set[Client] = set()
        self.stats = Stats()
        self.slowlog: deque[list[Any]] = deque()
        self.slowlog_next_id = 0
        self.guards: list[Callable[[Client, Command, list[bytes]], None]] = []
        self.propagate_hooks: list[Callable[[int, list[bytes]], None]] = []
        self.info_providers: dict[str, Callable[[], list[tuple[str, Any]]]] = {}
        self.cron_hooks: list[Callable[[], None]] = []
        self.shutdown_hooks: list[Callable[[], None]] = []
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
        self._exec_buffer: list[tuple[int, list[bytes]]] | None = None
        self.loading = False
        self.last_save = int(time.time())
        self.dirty_at_save = 0
        self.last_bgsave_status = "ok"
        self.bgsave_task: asyncio.Future[Any] | None = None
        self.in_shutdown = False
        self.keyspace.is_replica = lambda: self.role == "slave"
        self.keyspace.on_expire = self._propagate_expire
        self.config.on_change(self._config_changed)

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

    # ---------------------------------------------------------------- dispatch

    def call(self, c: Client, args: list[bytes], out: list[bytes]) -> None:
        """Run one request and append its reply to ``out`` (Redis' processCommand)."""
        name = args[0].lower()
        cmd = self.commands.get(name)
        if cmd is None:
            tail = ""
            for a in args[1:]:
                if len(tail) >= 128:
                    break
                tail += "'%s' " % a.decode(errors="replace")[: 128 - len(tail)]
            self._reject(
                c, out, E.UNKNOWN_COMMAND % (args[0][:128].decode(errors="replace"), tail), None
            )
            return
        if cmd.subcommands is not None:
            if len(args) == 1:
                self._reject(c, out, E.WRONG_ARITY % cmd.name, cmd)
                return
            sub = cmd.subcommands.get(args[1].lower())
            if sub is None:
                self._reject(
                    c, out,
                    E.UNKNOWN_SUBCOMMAND % (args[1][:128].decode(errors="replace"),
                                            cmd.name.upper()),
                    cmd,
                )
                return
            cmd = sub
        arity = cmd.arity
        if (arity > 0 and len(args) != arity) or len(args) < -arity:
            self._reject(c, out, E.WRONG_ARITY % cmd.fullname, cmd)
            return
        if not c.authenticated and "no_auth" not in cmd.flags:
            self._reject(c, out, E.NOAUTH, cmd)
            return
        try:
            for guard in self.guards:
                guard(c, cmd, args)
        except CommandError as exc:
            self._reject(c, out, exc.text.decode(errors="replace"), cmd)
            return
        if (c.channels or c.patterns) and not c.resp3 and name not in PUBSUB_ALLOWED:
            self._reject(c, out, E.PUBSUB_CONTEXT % cmd.fullname, cmd)
            return
        if c.multi is not None and name not in MULTI_IMMEDIATE:
            c.multi.append((cmd, args))
            out.append(b"+QUEUED\r\n")
            return
        self.execute(c, cmd, args, out)

    def _reject(self, c: Client, out: list[bytes], text: str, cmd: Command | None) -> None:
        if c.multi is not None:
            c.multi_error = True
        if cmd is not None:
            cmd.rejected_calls += 1
        self._count_error(text)
        text = text.replace("\r", " ").replace("\n", " ")
        out.append(b"-%s\r\n" % text.encode(errors="replace"))

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
        if self.monitors and "skip_monitor" not in cmd.flags and "admin" not in cmd.flags:
            self.feed_monitors(c, args)
        ks = self.keyspace
        dirty = ks.dirty
        c.last_cmd = cmd
        c.propagate_as = None
        t0 = time.perf_counter_ns()
        try:
            reply = cmd.handler(c, args)  # type: ignore[misc]
        except CommandError as exc:
            cmd.failed_calls += 1
            self._count_error(exc.text)
            reply = ErrorReply(exc.text)
        elapsed = (time.perf_counter_ns() - t0) // 1000
        cmd.calls += 1
        cmd.usec += elapsed
        self.stats.total_commands_processed += 1
        threshold = self.config["slowlog-log-slower-than"]
        if threshold >= 0 and elapsed >= threshold:
            self._slowlog_add(c, args, elapsed)
        if ks.dirty != dirty and cmd.is_write:
            self.propagate(c.db.index, c.propagate_as or args)
        elif c.propagate_as is not None and ks.dirty != dirty:
            self.propagate(c.db.index, c.propagate_as)
        if type(reply) is Blocked:
            c.block(reply)
            return reply
        if reply is not _NO_REPLY:
            encode(reply, out, c.resp3)
        return reply

    def feed_monitors(self, c: Client, args: list[bytes]) -> None:
        now = time.time()
        addr = c.addr if "master" not in c.flags else "127.0.0.1:0"
        if c.addr == "lua":
            addr = "lua"
        shown = args
        if args[0].lower() in (b"auth", b"hello", b"migrate"):
            shown = [args[0]] + [b"(redacted)"] * (len(args) - 1)
        line = "%.6f [%d %s] %s" % (now, c.db.index, addr, " ".join(repr_arg(a) for a in shown))
        data = b"+%s\r\n" % line.encode()
        for m in list(self.monitors):
            if m is not c:
                m.write(data)

    def _slowlog_add(self, c: Client, args: list[bytes], usec: int) -> None:
        shown: list[bytes] = []
        for i, a in enumerate(args):
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
        if self._exec_buffer is not None:
            self._exec_buffer.append((db_index, argv))
            return
        for hook in self.propagate_hooks:
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
        outer = self._exec_buffer
        self._exec_buffer = buf = [] if outer is None else outer
        try:
            for cmd, args in queued:
                scratch: list[bytes] = []
                reply = self.execute(c, cmd, args, scratch)
                replies.append(reply)
        finally:
            self._exec_buffer = outer
        if outer is None and buf:
            if len(buf) == 1:
                self.propagate(*buf[0])
            else:
                db_index = buf[0][0]
                self.propagate(db_index, [b"MULTI"])
                for db_i, argv in buf:
                    self.propagate(db_i, argv)
                self.propagate(buf[-1][0], [b"EXEC"])
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
        for ch in c.channels:
            subs = self.channels.get(ch)
            if subs is not None:
                subs.discard(c)
                if not subs:
                    del self.channels[ch]
        for p in c.patterns:
            subs = self.patterns.get(p)
            if subs is not None:
                subs.discard(c)
                if not subs:
                    del self.patterns[p]
        c.channels.clear()
        c.patterns.clear()

    # ---------------------------------------------------------------- lifecycle

    def bind_addresses(self) -> list[tuple[str, bool]]:
        """(address, optional) pairs; a leading '-' marks an address that may fail."""
        out = []
        for a in self.config["bind"]:
            optional = a.startswith("-")
            a = a.lstrip("-")
            if a == "*":
                a = "0.0.0.0"
            elif a == "::*":
                a = "::"
            out.append((a, optional))
        return out

    async def start(self) -> None:
        """Open the listeners, load data and start the cron (logs as Redis does)."""
        self.loop = asyncio.get_running_loop()
        self._stopped = self.loop.create_future()
        self.port = self.config["port"]
        log = self.log
        log.notice(f"monotonic clock: POSIX clock_gettime")
        if self.config.get("always-show-logo"):
            log.raw(_logo(self.port, os.getpid()))
        else:
            mode = "cluster" if self.config.get("cluster-enabled") else "standalone"
            log.notice(f"Running mode={mode}, port={self.port}.")
        if self.port:
            for host, optional in self.bind_addresses():
                try:
                    srv = await self.loop.create_server(
                        lambda: Client(self), host, self.port,
                        backlog=self.config["tcp-backlog"], reuse_address=True,
                    )
                except OSError as exc:
                    if optional and exc.errno in (99, 97, 22):  # no such address family
                        continue
                    reason = exc.strerror or str(exc)
                    log.warning(
                        f"Warning: Could not create server TCP listening socket "
                        f"{host}:{self.port}: bind: {reason}"
                    )
                    log.warning(f"Failed listening on port {self.port} (TCP), aborting.")
                    for s in self.servers:
                        s.close()
                    raise SystemExit(1) from None
                self.servers.append(srv)
        log.warning("Server initialized")
        self.load_data()
        for hook in list(self.startup_hooks):
            hook()
        log.notice("Ready to accept connections")
        self._cron_task = asyncio.ensure_future(self._cron())

    startup_hooks: list[Callable[[], None]]

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
        for db in self.keyspace.dbs:
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

    def shutdown(self, save: bool | None = None, by_signal: str | None = None) -> bool:
        """SHUTDOWN: save if asked (or if save points are set), then stop."""
        log = self.log
        if by_signal:
            log.warning(f"Received {by_signal} scheduling shutdown...")
        else:
            log.warning("User requested shutdown...")
        for hook in list(self.shutdown_hooks):
            hook()
        if save is None:
            save = bool(self.config["save"])
        if save:
            log.notice("Saving the final RDB snapshot before exiting.")
            try:
                from . import persistence
            except ImportError:
                log.warning("Error trying to save the DB, can't exit.")
                return False
            if not persistence.save_rdb(self):
                log.warning("Error trying to save the DB, can't exit.")
                return False
        if self.config["pidfile"]:
            log.notice("Removing the pid file.")
            try:
                os.unlink(self.config["pidfile"])
            except OSError:
                pass
        log.warning("Redis is now ready to exit, bye bye...")
        self.in_shutdown = True
        self.stop(0)
        return True


Server.startup_hooks = []


class _NoReply:
    """A handler returns this when it wrote its reply itself (or none is due)."""


_NO_REPLY = _NoReply()
NO_REPLY = _NO_REPLY


def _logo(port: int, pid: int) -> str:
    return (
        f"                _._                                                  \n"
        f"           _.-``__ ''-._                                             \n"
        f"      _.-``    `.  `_.  ''-._           Redis {REDIS_VERSION} (00000000/0) 64 bit\n"
        f"  .-`` .-```.  ```\\/    _.,_ ''-._                                  \n"
        f" (    '      ,       .-`  | `,    )     Running in standalone mode\n"
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


def run(config: Config, *, use_uvloop: bool = True) -> int:
    """Run a server until SHUTDOWN or a signal (the ``redislab server`` entry point)."""
    server = Server(config)
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
            loop.add_signal_handler(
                sig, lambda n=name: server.shutdown(by_signal=n) or server.stop(1)
            )
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
