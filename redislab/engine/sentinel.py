"""Sentinel mode: the engine running as ``redis-sentinel`` 7.0 does.

A sentinel watches masters (and, found through their INFO, their replicas; found through
``__sentinel__:hello`` messages, the other sentinels watching them), decides when a master
is subjectively down (no valid reply to PING for ``down-after-milliseconds``) and
objectively down (``quorum`` sentinels agree, asked with SENTINEL IS-MASTER-DOWN-BY-ADDR),
is elected leader of an epoch by a majority of the sentinels it knows, then promotes the
best replica and points the others at it. Every step is an event with redis-sentinel's
name and text, logged and published on a pub/sub channel of that name, and the state is
written back into the config file so a restarted sentinel remembers it.

The timings, state machine and formats follow ``src/sentinel.c`` of Redis 7.0; the code is
this engine's own. Each watched instance has a :class:`InstanceLink` of two asynchronous
connections (:class:`Conn`): one for commands (PING, INFO, PUBLISH of hellos, SLAVEOF) and
one subscribed to the hello channel. Everything runs on the server's event loop from a
timer that ticks 10 to 19 times a second, like redis-sentinel's ``sentinelTimer``.

Nothing here is imported unless the server runs in sentinel mode
(:mod:`redislab.engine.commands.sentinel_cmds` attaches it).
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import socket
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .config import ConfigFileError, _RewriteState, repr_text, rewrite_file
from .resp import split_args

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config
    from .server import Server

SENTINEL_PORT = 26379
HELLO_CHANNEL = "__sentinel__:hello"
DEFAULT_SLAVE_PRIORITY = 100
DEFAULT_PARALLEL_SYNCS = 1
MAX_PENDING_COMMANDS = 100
MAX_DESYNC = 1000
ID_SIZE = 40

# instance flags (the names SENTINEL MASTERS prints, in its order)
MASTER = 1 << 0
SLAVE = 1 << 1
SENTINEL = 1 << 2
S_DOWN = 1 << 3
O_DOWN = 1 << 4
MASTER_DOWN = 1 << 5
FAILOVER_IN_PROGRESS = 1 << 6
PROMOTED = 1 << 7
RECONF_SENT = 1 << 8
RECONF_INPROG = 1 << 9
RECONF_DONE = 1 << 10
FORCE_FAILOVER = 1 << 11
SCRIPT_KILL_SENT = 1 << 12
MASTER_REBOOT = 1 << 13

# failover states
ST_NONE, ST_WAIT_START, ST_SELECT_SLAVE, ST_SEND_SLAVEOF_NOONE = 0, 1, 2, 3
ST_WAIT_PROMOTION, ST_RECONF_SLAVES, ST_UPDATE_CONFIG = 4, 5, 6
STATE_NAMES = {ST_NONE: "none", ST_WAIT_START: "wait_start", ST_SELECT_SLAVE: "select_slave",
               ST_SEND_SLAVEOF_NOONE: "send_slaveof_noone",
               ST_WAIT_PROMOTION: "wait_promotion", ST_RECONF_SLAVES: "reconf_slaves",
               ST_UPDATE_CONFIG: "update_config"}

LINK_UP, LINK_DOWN = 0, 1

# log levels (Logger's numbers)
DEBUG, VERBOSE, NOTICE, WARNING = 0, 1, 2, 3

# SENTINEL SIMULATE-FAILURE flags
SIM_CRASH_AFTER_ELECTION = 1 << 0
SIM_CRASH_AFTER_PROMOTION = 1 << 1

# directives read before the "monitor" lines, whatever their place in the file
PRE_MONITOR = {"announce-ip", "announce-port", "deny-scripts-reconfig", "sentinel-user",
               "sentinel-pass", "current-epoch", "myid", "resolve-hostnames",
               "announce-hostnames"}

# (directive, argc) whose first argument names a monitored master, looked up first
_MASTER_DIRECTIVES = {
    (name, argc)
    for names, argc in (
        (("down-after-milliseconds", "failover-timeout", "parallel-syncs",
          "notification-script", "client-reconfig-script", "auth-pass", "auth-user",
          "config-epoch", "leader-epoch", "master-reboot-down-after-period"), 3),
        (("known-slave", "known-replica", "rename-command"), 4),
        (("known-sentinel",), 5),
    )
    for name in names
}

SCRIPT_MAX_QUEUE = 256
SCRIPT_MAX_RUNNING = 16
SCRIPT_MAX_RETRY = 10


def mstime() -> int:
    """Milliseconds on a monotonic clock (every timing here is a difference)."""
    return time.monotonic_ns() // 1_000_000


def _wall(ms: int) -> float:
    """The wall-clock time of a :func:`mstime` value."""
    return time.time() + (ms - mstime()) / 1000.0


class SentinelError(Exception):
    """A SENTINEL request or directive refused; the text is Redis' reason."""


# =========================================================================== RESP client


class Status(str):
    """A ``+status`` reply."""


class Error(str):
    """A ``-error`` reply."""


_INCOMPLETE = object()


def _parse(buf: bytearray, pos: int) -> Any:
    """One reply at ``pos``: (value, next position) or ``_INCOMPLETE``."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return _INCOMPLETE
    kind = buf[pos]
    head = bytes(buf[pos + 1:end])
    nxt = end + 2
    if kind == 43:  # +
        return Status(head.decode("utf-8", "replace")), nxt
    if kind == 45:  # -
        return Error(head.decode("utf-8", "replace")), nxt
    if kind == 58:  # :
        return int(head), nxt
    if kind in (36, 61):  # $ =
        n = int(head)
        if n < 0:
            return None, nxt
        if len(buf) < nxt + n + 2:
            return _INCOMPLETE
        return bytes(buf[nxt:nxt + n]), nxt + n + 2
    if kind in (42, 126, 62, 37):  # * ~ > %
        n = int(head)
        if n < 0:
            return None, nxt
        if kind == 37:
            n *= 2
        items = []
        for _ in range(n):
            got = _parse(buf, nxt)
            if got is _INCOMPLETE:
                return _INCOMPLETE
            items.append(got[0])
            nxt = got[1]
        return items, nxt
    if kind == 95:  # _
        return None, nxt
    if kind == 35:  # #
        return head == b"t", nxt
    return head.decode("utf-8", "replace"), nxt  # , ( and anything else: as text


def _encode_command(args: Iterable[Any]) -> bytes:
    parts = [a if isinstance(a, bytes) else str(a).encode("utf-8", "surrogateescape")
             for a in args]
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


Callback = Callable[["Conn", Any], None]


class Conn(asyncio.Protocol):
    """An asynchronous connection to an instance, used like a hiredis async context:
    commands are written at once (kept until the socket is connected), each reply goes to
    the callback given with its command, in order, and after SUBSCRIBE every message goes
    to the subscription's callback. ``link`` is the :class:`InstanceLink` it belongs to;
    a closed connection drops its callbacks and reports nothing more."""

    def __init__(self, host: str, port: int, link: "InstanceLink",
                 on_fail: Callable[[str], None] | None = None,
                 check: Callable[[], None] | None = None):
        self.link: InstanceLink | None = link
        self.transport: asyncio.Transport | None = None
        self.out: list[bytes] = []
        self.callbacks: deque[Callback | None] = deque()
        self.sub_cb: Callback | None = None
        self.buf = bytearray()
        self.closed = False
        self.sockname: tuple[str, int] | None = None
        self.on_fail = on_fail
        self.check = check  # raises OSError to refuse the connect (DEBUG PARTITION)
        self.task = asyncio.get_running_loop().create_task(self._connect(host, port))

    async def _connect(self, host: str, port: int) -> None:
        try:
            if self.check is not None:
                self.check()
            await asyncio.get_running_loop().create_connection(lambda: self, host, port)
        except (OSError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) or self.closed:
                return
            if self.on_fail is not None:
                self.on_fail(exc.strerror or str(exc))
            self._lost()

    # asyncio protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.closed:
            transport.close()
            return
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        name = transport.get_extra_info("sockname")
        if isinstance(name, tuple):
            self.sockname = (name[0], name[1])
        if self.out:
            self.transport.write(b"".join(self.out))
            self.out = []

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        try:
            while pos < len(buf):
                got = _parse(buf, pos)
                if got is _INCOMPLETE:
                    break
                value, pos = got
                self._dispatch(value)
                if self.closed:
                    return
        except ValueError:  # not RESP: drop the connection
            self._lost()
            if self.transport is not None:
                self.transport.close()
            return
        del buf[:pos]

    def _dispatch(self, value: Any) -> None:
        if self.sub_cb is not None:
            self.sub_cb(self, value)
            return
        if self.callbacks:
            cb = self.callbacks.popleft()
            if cb is not None:
                cb(self, value)

    def _lost(self) -> None:
        """The connection failed or was closed by the peer: tell the link."""
        if self.closed:
            return
        self.closed = True
        self.callbacks.clear()
        self.sub_cb = None
        link, self.link = self.link, None
        if link is not None:
            link.connection_error(self)

    # use

    def command(self, cb: Callback | None, *args: Any) -> bool:
        if self.closed:
            return False
        data = _encode_command(args)
        if self.transport is not None:
            self.transport.write(data)
        else:
            self.out.append(data)
        self.callbacks.append(cb)
        return True

    def subscribe(self, cb: Callback, *args: Any) -> bool:
        def first(conn: Conn, reply: Any) -> None:
            conn.sub_cb = cb
            cb(conn, reply)

        return self.command(first, *args)

    def close(self) -> None:
        """Close without reporting (``redisAsyncFree``)."""
        if self.closed:
            return
        self.closed = True
        self.link = None
        self.callbacks.clear()
        self.sub_cb = None
        if self.transport is not None:
            self.transport.close()
        elif not self.task.done():
            self.task.cancel()


class InstanceLink:
    """The two connections to one instance and the failure detection timers (shared by
    the instances that are the same sentinel seen for different masters)."""

    def __init__(self) -> None:
        now = mstime()
        self.refcount = 1
        self.disconnected = True
        self.pending_commands = 0
        self.cc: Conn | None = None
        self.pc: Conn | None = None
        self.cc_conn_time = 0
        self.pc_conn_time = 0
        self.pc_last_activity = 0
        self.act_ping_time = now  # a timeout is detected even if we never connect
        self.last_ping_time = 0
        self.last_avail_time = now
        self.last_pong_time = now
        self.last_reconn_time = 0

    def connection_error(self, conn: Conn) -> None:
        if conn is self.pc:
            self.pc = None
        elif conn is self.cc:
            self.cc = None
        self.disconnected = True

    def close_connection(self, conn: Conn | None) -> None:
        if conn is None:
            return
        if conn is self.cc:
            self.cc = None
            self.pending_commands = 0
        if conn is self.pc:
            self.pc = None
        self.disconnected = True
        conn.close()


# =========================================================================== addresses


class Addr:
    """``hostname`` as given, ``ip`` resolved (empty when it could not be), ``port``."""

    __slots__ = ("hostname", "ip", "port")

    def __init__(self, hostname: str, ip: str, port: int):
        self.hostname = hostname
        self.ip = ip
        self.port = port

    def copy(self) -> "Addr":
        return Addr(self.hostname, self.ip, self.port)


def _resolve(host: str, ip_only: bool) -> str | None:
    """``anetResolve``: the first address of ``host`` as text, None when it fails."""
    flags = socket.AI_NUMERICHOST if ip_only else 0
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, flags)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    if not infos:
        return None
    return str(infos[0][4][0])


# =========================================================================== instances


class Instance:
    """A master, replica or sentinel as this sentinel sees it (``sentinelRedisInstance``)."""

    def __init__(self, st: "Sentinel", name: str, flags: int, addr: Addr, quorum: int,
                 master: "Instance | None"):
        now = mstime()
        self.flags = flags
        self.name = name
        self.runid: str | None = None
        self.config_epoch = 0
        self.addr = addr
        self.link = InstanceLink()
        self.released = False
        self.last_pub_time = now
        self.last_hello_time = now
        self.last_master_down_reply_time = now
        self.s_down_since_time = 0
        self.o_down_since_time = 0
        self.down_after_period = master.down_after_period if master else st.default_down_after
        self.master_reboot_down_after_period = 0
        self.master_reboot_since_time = 0
        self.info_refresh = 0
        self.renamed_commands: dict[str, str] = {}
        self.role_reported = flags & (MASTER | SLAVE)
        self.role_reported_time = now
        self.slave_conf_change_time = now
        # master
        self.sentinels: dict[str, Instance] = {}
        self.slaves: dict[str, Instance] = {}
        self.quorum = quorum
        self.parallel_syncs = DEFAULT_PARALLEL_SYNCS
        self.auth_pass: str | None = None
        self.auth_user: str | None = None
        # replica
        self.master_link_down_time = 0
        self.slave_priority = DEFAULT_SLAVE_PRIORITY
        self.replica_announced = 1
        self.slave_reconf_sent_time = 0
        self.master = master
        self.slave_master_host: str | None = None
        self.slave_master_port = 0
        self.slave_master_link_status = LINK_DOWN
        self.slave_repl_offset = 0
        # failover
        self.leader: str | None = None
        self.leader_epoch = 0
        self.failover_epoch = 0
        self.failover_state = ST_NONE
        self.failover_state_change_time = 0
        self.failover_start_time = 0
        self.failover_timeout = st.default_failover_timeout
        self.failover_delay_logged = 0
        self.promoted_slave: Instance | None = None
        self.notification_script: str | None = None
        self.client_reconfig_script: str | None = None
        self.info: str | None = None

    def type_name(self) -> str:
        if self.flags & MASTER:
            return "master"
        if self.flags & SLAVE:
            return "slave"
        if self.flags & SENTINEL:
            return "sentinel"
        return "unknown"

    def map_command(self, name: str) -> str:
        """The name to send for ``name`` (``sentinel rename-command``)."""
        ri = self.master if self.master is not None else self
        return ri.renamed_commands.get(name.lower(), name)


# =========================================================================== the sentinel


class Sentinel:
    """The whole sentinel state of one server (Redis' global ``sentinel`` struct)."""

    def __init__(self, server: "Server | None", config: "Config"):
        self.server = server
        self.config = config
        self.myid = ""
        self.current_epoch = 0
        self.masters: dict[str, Instance] = {}
        self.tilt = False
        self.tilt_start_time = 0
        self.previous_time = mstime()
        self.running_scripts = 0
        self.scripts_queue: list[dict[str, Any]] = []
        self.announce_ip: str | None = None
        self.announce_port = 0
        self.simfailure_flags = 0
        self.deny_scripts_reconfig = True
        self.sentinel_auth_pass: str | None = None
        self.sentinel_auth_user: str | None = None
        self.resolve_hostnames = False
        self.announce_hostnames = False
        # the periods SENTINEL DEBUG can change (milliseconds)
        self.info_period = 10000
        self.ping_period = 1000
        self.ask_period = 1000
        self.publish_period = 2000
        self.default_down_after = 30000
        self.tilt_trigger = 2000
        self.tilt_period = 1000 * 30
        self.slave_reconf_timeout = 10000
        self.min_link_reconnect_period = 15000
        self.election_timeout = 10000
        self.script_max_runtime = 60000
        self.script_retry_delay = 30000
        self.default_failover_timeout = 60 * 3 * 1000
        self.hz = 10
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self.boot_log: Any = None  # the logger used before the server exists

    # ------------------------------------------------------------------ logging / events

    def log(self, level: int, msg: str) -> None:
        if self.server is not None:
            self.server.log.log(level, msg)
        elif self.boot_log is not None:
            self.boot_log.log(level, msg)

    def event(self, level: int, kind: str, ri: Instance | None, fmt: str = "",
              *args: Any) -> None:
        """Log ``kind msg`` and publish ``msg`` on the channel ``kind`` (``sentinelEvent``).
        A format starting with ``%@`` gets the instance's description in front."""
        msg = ""
        if fmt.startswith("%@"):
            assert ri is not None
            master = None if ri.flags & MASTER else ri.master
            msg = f"{ri.type_name()} {ri.name} {self.announce_addr(ri.addr)} {ri.addr.port}"
            if master is not None:
                msg += (f" @ {master.name} {self.announce_addr(master.addr)} "
                        f"{master.addr.port}")
            fmt = fmt[2:]
        if fmt:
            msg += (fmt % args) if args else fmt
        srv = self.server
        if srv is None:
            return
        if level >= srv.log.level:
            srv.log.log(level, f"{kind} {msg}")
        if level != DEBUG:
            srv.publish(kind.encode(), msg.encode("utf-8", "replace"))
        if level == WARNING and ri is not None:
            master = ri if ri.flags & MASTER else ri.master
            if master is not None and master.notification_script:
                self.schedule_script(master.notification_script, kind, msg)

    # ------------------------------------------------------------------ addresses

    def create_addr(self, hostname: str, port: int, accept_unresolved: bool) -> Addr:
        """``createSentinelAddr``; raises SentinelError with the reason the instance
        cannot be created (``sentinelCheckCreateInstanceErrors``)."""
        if port < 0 or port > 65535:
            raise SentinelError("Invalid port number.")
        ip = _resolve(hostname, not self.resolve_hostnames)
        if ip is None:
            self.log(WARNING, f"Failed to resolve hostname '{hostname}'")
            if self.resolve_hostnames and accept_unresolved:
                ip = ""
            else:
                raise SentinelError("Can't resolve instance hostname.")
        return Addr(hostname, ip, port)

    def announce_addr(self, a: Addr) -> str:
        return a.hostname if self.announce_hostnames else a.ip

    def announce_addr_port(self, a: Addr) -> str:
        host = self.announce_addr(a)
        return f"[{host}]:{a.port}" if ":" in host else f"{host}:{a.port}"

    @staticmethod
    def addr_or_hostname_equal(a: Addr, b: Addr) -> bool:
        return a.port == b.port and (a.ip == b.ip or a.hostname.lower() == b.hostname.lower())

    def addr_equals_hostname(self, a: Addr, hostname: str | None) -> bool:
        if hostname is None:
            return False
        ip = _resolve(hostname, not self.resolve_hostnames)
        if ip is None:
            mine = a.hostname if self.resolve_hostnames else a.ip
            return mine.lower() == hostname.lower()
        return a.ip.lower() == ip.lower()

    # ------------------------------------------------------------------ instances

    def create_instance(self, name: str | None, flags: int, hostname: str, port: int,
                        quorum: int, master: Instance | None) -> Instance:
        addr = self.create_addr(hostname, port, True)
        if flags & SLAVE:
            name = self.announce_addr_port(addr)
        assert name is not None
        if flags & MASTER:
            table = self.masters
        elif flags & SLAVE:
            assert master is not None
            table = master.slaves
        else:
            assert master is not None
            table = master.sentinels
        if name in table:
            raise SentinelError("Duplicate master name." if flags & MASTER else
                                "Duplicate hostname and port for replica." if flags & SLAVE
                                else "Duplicate runid for sentinel.")
        ri = Instance(self, name, flags, addr, quorum, master)
        table[name] = ri
        return ri

    def release_instance(self, ri: Instance) -> None:
        """Free an instance removed from its table, its replicas and sentinels too."""
        for sub in list(ri.sentinels.values()) + list(ri.slaves.values()):
            self.release_instance(sub)
        ri.sentinels = {}
        ri.slaves = {}
        ri.released = True
        self.release_link(ri.link)
        if ri.flags & SLAVE and ri.flags & PROMOTED and ri.master is not None:
            ri.master.promoted_slave = None

    def release_link(self, link: InstanceLink) -> None:
        link.refcount -= 1
        if link.refcount > 0:
            return  # callbacks of a released instance check ``released``
        link.close_connection(link.cc)
        link.close_connection(link.pc)

    def drop_table(self, table: dict[str, Instance]) -> None:
        for ri in list(table.values()):
            self.release_instance(ri)
        table.clear()

    def lookup_slave(self, master: Instance, host: str, port: int) -> Instance | None:
        try:
            addr = self.create_addr(host, port, False)
        except SentinelError:
            return None
        return master.slaves.get(self.announce_addr_port(addr))

    def master_by_name(self, name: str) -> Instance | None:
        return self.masters.get(name)

    def instance_by_addr_and_runid(self, table: dict[str, Instance], host: str | None,
                                   port: int, runid: str | None) -> Instance | None:
        addr = None
        if host is not None:
            try:
                addr = self.create_addr(host, port, True)
            except SentinelError:
                return None
        for ri in table.values():
            if runid is not None and ri.runid is None:
                continue
            if ((runid is None or ri.runid == runid)
                    and (addr is None or self.addr_or_hostname_equal(ri.addr, addr))):
                return ri
        return None

    def remove_matching_sentinel(self, master: Instance, runid: str | None) -> int:
        if runid is None:
            return 0
        removed = 0
        for key, ri in list(master.sentinels.items()):
            if ri.runid is not None and ri.runid == runid:
                del master.sentinels[key]
                self.release_instance(ri)
                removed += 1
        return removed

    def try_connection_sharing(self, ri: Instance) -> bool:
        if ri.runid is None or ri.link.refcount > 1:
            return False
        for master in self.masters.values():
            if master is ri.master:
                continue
            match = self.instance_by_addr_and_runid(master.sentinels, None, 0, ri.runid)
            if match is None or match is ri:
                continue
            self.release_link(ri.link)
            ri.link = match.link
            match.link.refcount += 1
            return True
        return False

    def update_sentinel_address_in_all_masters(self, ri: Instance) -> int:
        reconfigured = 0
        for master in self.masters.values():
            match = self.instance_by_addr_and_runid(master.sentinels, None, 0, ri.runid)
            if match is None:
                continue
            match.link.close_connection(match.link.cc)
            match.link.close_connection(match.link.pc)
            if match is ri:
                continue
            match.addr = ri.addr.copy()
            reconfigured += 1
        if reconfigured:
            self.event(NOTICE, "+sentinel-address-update", ri,
                       "%@ %d additional matching instances", reconfigured)
        return reconfigured

    def drop_instance_connections(self, master: Instance) -> None:
        master.link.close_connection(master.link.cc)
        master.link.close_connection(master.link.pc)
        for slave in master.slaves.values():
            slave.link.close_connection(slave.link.cc)
            slave.link.close_connection(slave.link.pc)

    def drop_sentinel_connections(self) -> int:
        dropped = 0
        for master in self.masters.values():
            for si in master.sentinels.values():
                if not si.link.disconnected:
                    si.link.close_connection(si.link.pc)
                    si.link.close_connection(si.link.cc)
                    dropped += 1
        return dropped

    def reset_master(self, ri: Instance, no_sentinels: bool = False,
                     generate_event: bool = False) -> None:
        self.drop_table(ri.slaves)
        ri.slaves = {}
        if not no_sentinels:
            self.drop_table(ri.sentinels)
            ri.sentinels = {}
        ri.link.close_connection(ri.link.cc)
        ri.link.close_connection(ri.link.pc)
        ri.flags &= MASTER
        ri.leader = None
        ri.failover_state = ST_NONE
        ri.failover_state_change_time = 0
        ri.failover_start_time = 0
        ri.promoted_slave = None
        ri.runid = None
        ri.slave_master_host = None
        now = mstime()
        ri.link.act_ping_time = now
        ri.link.last_ping_time = 0
        ri.link.last_avail_time = now
        ri.link.last_pong_time = now
        ri.role_reported_time = now
        ri.role_reported = MASTER
        if generate_event:
            self.event(WARNING, "+reset-master", ri, "%@")

    def reset_masters_by_pattern(self, pattern: bytes) -> int:
        from .glob import match

        reset = 0
        for ri in list(self.masters.values()):
            if match(pattern, ri.name.encode("utf-8", "surrogateescape")):
                self.reset_master(ri, generate_event=True)
                reset += 1
        return reset

    def reset_master_and_change_address(self, master: Instance, hostname: str,
                                        port: int) -> bool:
        try:
            newaddr = self.create_addr(hostname, port, False)
        except SentinelError:
            return False
        keep = [s.addr.copy() for s in master.slaves.values()
                if not self.addr_or_hostname_equal(s.addr, newaddr)]
        if not self.addr_or_hostname_equal(newaddr, master.addr):
            keep.append(master.addr.copy())
        self.reset_master(master, no_sentinels=True)
        master.addr = newaddr
        master.o_down_since_time = 0
        master.s_down_since_time = 0
        for a in keep:
            try:
                slave = self.create_instance(None, SLAVE, a.hostname, a.port, master.quorum,
                                             master)
            except SentinelError:
                continue
            self.event(NOTICE, "+slave", slave, "%@")
        self.flush_config()
        return True

    @staticmethod
    def no_down_for(ri: Instance, ms: int) -> bool:
        most_recent = max(ri.s_down_since_time, ri.o_down_since_time)
        return most_recent == 0 or (mstime() - most_recent) > ms

    @staticmethod
    def current_master_addr(master: Instance) -> Addr:
        if (master.flags & FAILOVER_IN_PROGRESS and master.promoted_slave is not None
                and master.failover_state >= ST_RECONF_SLAVES):
            return master.promoted_slave.addr
        return master.addr

    @staticmethod
    def propagate_down_after_period(master: Instance) -> None:
        for table in (master.slaves, master.sentinels):
            for ri in table.values():
                ri.down_after_period = master.down_after_period

    # ------------------------------------------------------------------ configuration

    def load_lines(self, lines: list[list[str]], text_lines: list[str] | None = None) -> None:
        """Apply the ``sentinel ...`` directives (pre-monitor ones first, then ``monitor``,
        then the rest, as redis-sentinel queues them); raises ConfigFileError with the
        line of the config text that failed."""
        where = _sentinel_lines(text_lines or [])
        if len(where) != len(lines):  # lines from an include: no line numbers
            where = [(0, "sentinel " + " ".join(a)) for a in lines]
        entries = list(zip(lines, where))
        pre = [e for e in entries if e[0] and e[0][0].lower() in PRE_MONITOR]
        mon = [e for e in entries if e[0] and e[0][0].lower() == "monitor"]
        post = [e for e in entries if e[0] and e[0][0].lower() != "monitor"
                and e[0][0].lower() not in PRE_MONITOR]
        for argv, (lineno, shown) in pre + mon + post:
            err = self.handle_directive(argv)
            if err is not None:
                raise ConfigFileError(lineno, shown, err)

    def handle_directive(self, argv: list[str]) -> str | None:
        """One directive (``sentinelHandleConfiguration``): None or the error text."""
        name = argv[0].lower()
        argc = len(argv)
        if (name, argc) in _MASTER_DIRECTIVES:  # ri: the master they configure
            ri = self.masters.get(argv[1])
            if ri is None:
                return "No such master with specified name."
        try:
            if name == "monitor" and argc == 5:
                quorum = _atoi(argv[4])
                if quorum <= 0:
                    return "Quorum must be 1 or greater."
                self.create_instance(argv[1], MASTER, argv[2], _atoi(argv[3]), quorum, None)
            elif name == "down-after-milliseconds" and argc == 3:
                ri.down_after_period = _atoi(argv[2])
                if ri.down_after_period <= 0:
                    return "negative or zero time parameter."
                self.propagate_down_after_period(ri)
            elif name == "failover-timeout" and argc == 3:
                ri.failover_timeout = _atoi(argv[2])
                if ri.failover_timeout <= 0:
                    return "negative or zero time parameter."
            elif name == "parallel-syncs" and argc == 3:
                ri.parallel_syncs = _atoi(argv[2])
            elif name == "notification-script" and argc == 3:
                if not os.access(argv[2], os.X_OK):
                    return "Notification script seems non existing or non executable."
                ri.notification_script = argv[2]
            elif name == "client-reconfig-script" and argc == 3:
                if not os.access(argv[2], os.X_OK):
                    return ("Client reconfiguration script seems non existing or "
                            "non executable.")
                ri.client_reconfig_script = argv[2]
            elif name == "auth-pass" and argc == 3:
                ri.auth_pass = argv[2]
            elif name == "auth-user" and argc == 3:
                ri.auth_user = argv[2]
            elif name == "current-epoch" and argc == 2:
                epoch = _strtoull(argv[1])
                if epoch > self.current_epoch:
                    self.current_epoch = epoch
            elif name == "myid" and argc == 2:
                if len(argv[1].encode("utf-8", "surrogateescape")) != ID_SIZE:
                    return "Malformed Sentinel id in myid option."
                self.myid = argv[1]
            elif name == "config-epoch" and argc == 3:
                ri.config_epoch = _strtoull(argv[2])
                if ri.config_epoch > self.current_epoch:
                    self.current_epoch = ri.config_epoch
            elif name == "leader-epoch" and argc == 3:
                ri.leader_epoch = _strtoull(argv[2])
            elif name in ("known-slave", "known-replica") and argc == 4:
                self.create_instance(None, SLAVE, argv[2], _atoi(argv[3]), ri.quorum, ri)
            elif name == "known-sentinel" and argc in (4, 5):
                if argc == 5:  # the old form without a run id is ignored
                    si = self.create_instance(argv[4], SENTINEL, argv[2], _atoi(argv[3]),
                                              ri.quorum, ri)
                    si.runid = argv[4]
                    self.try_connection_sharing(si)
            elif name == "rename-command" and argc == 4:
                if argv[2].lower() in ri.renamed_commands:
                    return "Same command renamed multiple times with rename-command."
                ri.renamed_commands[argv[2].lower()] = argv[3]
            elif name == "announce-ip" and argc == 2:
                if argv[1]:
                    self.announce_ip = argv[1]
            elif name == "announce-port" and argc == 2:
                self.announce_port = _atoi(argv[1])
            elif name == "deny-scripts-reconfig" and argc == 2:
                yn = _yesno(argv[1])
                if yn is None:
                    return "Please specify yes or no for the deny-scripts-reconfig options."
                self.deny_scripts_reconfig = yn
            elif name == "sentinel-user" and argc == 2:
                if argv[1]:
                    self.sentinel_auth_user = argv[1]
            elif name == "sentinel-pass" and argc == 2:
                if argv[1]:
                    self.sentinel_auth_pass = argv[1]
            elif name == "resolve-hostnames" and argc == 2:
                yn = _yesno(argv[1])
                if yn is None:
                    return "Please specify yes or no for the resolve-hostnames option."
                self.resolve_hostnames = yn
            elif name == "announce-hostnames" and argc == 2:
                yn = _yesno(argv[1])
                if yn is None:
                    return "Please specify yes or no for the announce-hostnames option."
                self.announce_hostnames = yn
            elif name == "master-reboot-down-after-period" and argc == 3:
                ri.master_reboot_down_after_period = _atoi(argv[2])
                if ri.master_reboot_down_after_period < 0:
                    return "negative time parameter."
            else:
                return "Unrecognized sentinel configuration statement."
        except SentinelError as exc:
            return str(exc)
        return None

    def config_lines(self) -> list[tuple[str, str | None, bool]]:
        """The ``sentinel`` lines of the config file as (option, line, force) in the order
        redis-sentinel writes them (``rewriteConfigSentinelOption``): a line not forced
        only replaces an existing one; a None line only marks the option as rewritten
        (its old lines are removed)."""
        out: list[tuple[str, str | None, bool]] = []

        def yes_no(v: bool) -> str:
            return "yes" if v else "no"

        out.append(("sentinel myid", f"sentinel myid {self.myid}", True))
        out.append(("sentinel deny-scripts-reconfig",
                    f"sentinel deny-scripts-reconfig {yes_no(self.deny_scripts_reconfig)}",
                    not self.deny_scripts_reconfig))
        out.append(("sentinel resolve-hostnames",
                    f"sentinel resolve-hostnames {yes_no(self.resolve_hostnames)}",
                    self.resolve_hostnames))
        out.append(("sentinel announce-hostnames",
                    f"sentinel announce-hostnames {yes_no(self.announce_hostnames)}",
                    self.announce_hostnames))
        for master in self.masters.values():
            maddr = self.current_master_addr(master)
            name = master.name
            lines = [("monitor", f"{name} {self.announce_addr(maddr)} {maddr.port} "
                                 f"{master.quorum}")]
            if master.down_after_period != self.default_down_after:
                lines.append(("down-after-milliseconds", f"{name} {master.down_after_period}"))
            if master.failover_timeout != self.default_failover_timeout:
                lines.append(("failover-timeout", f"{name} {master.failover_timeout}"))
            if master.parallel_syncs != DEFAULT_PARALLEL_SYNCS:
                lines.append(("parallel-syncs", f"{name} {master.parallel_syncs}"))
            if master.notification_script:
                lines.append(("notification-script", f"{name} {master.notification_script}"))
            if master.client_reconfig_script:
                lines.append(("client-reconfig-script",
                              f"{name} {master.client_reconfig_script}"))
            if master.auth_pass:
                lines.append(("auth-pass", f"{name} {master.auth_pass}"))
            if master.auth_user:
                lines.append(("auth-user", f"{name} {master.auth_user}"))
            if master.master_reboot_down_after_period:
                lines.append(("master-reboot-down-after-period",
                              f"{name} {master.master_reboot_down_after_period}"))
            lines.append(("config-epoch", f"{name} {master.config_epoch}"))
            lines.append(("leader-epoch", f"{name} {master.leader_epoch}"))
            for slave in master.slaves.values():
                saddr = slave.addr
                if self.addr_or_hostname_equal(saddr, maddr):
                    saddr = master.addr  # the promoted replica: write the old master
                lines.append(("known-replica",
                              f"{name} {self.announce_addr(saddr)} {saddr.port}"))
            for si in master.sentinels.values():
                if si.runid is not None:
                    lines.append(("known-sentinel", f"{name} {self.announce_addr(si.addr)} "
                                                    f"{si.addr.port} {si.runid}"))
            for old, new in master.renamed_commands.items():
                lines.append(("rename-command", f"{name} {old} {new}"))
            out += [(f"sentinel {opt}", f"sentinel {opt} {rest}", True) for opt, rest in lines]
        out.append(("sentinel current-epoch", f"sentinel current-epoch {self.current_epoch}",
                    True))
        optional = [
            ("announce-ip", repr_text(self.announce_ip) if self.announce_ip is not None
             else None),
            ("announce-port", str(self.announce_port) if self.announce_port else None),
            ("sentinel-user", self.sentinel_auth_user),
            ("sentinel-pass", self.sentinel_auth_pass),
        ]
        for opt, value in optional:
            out.append((f"sentinel {opt}", f"sentinel {opt} {value}" if value else None, True))
        for opt in ("monitor", "down-after-milliseconds", "failover-timeout",
                    "parallel-syncs", "notification-script", "client-reconfig-script",
                    "auth-pass", "auth-user", "config-epoch", "leader-epoch",
                    "known-replica", "known-sentinel", "rename-command",
                    "master-reboot-down-after-period"):
            out.append((f"sentinel {opt}", None, True))
        return out

    def rewrite_text(self, old_text: str | None) -> str:
        """The new config file: Redis' CONFIG REWRITE in sentinel mode (every standard
        option but ``save``, the default user, then the sentinel state)."""
        config = self.config
        state = _RewriteState(config, old_text)
        where = state.option_lines.pop("sentinel", [])
        for n in where:
            words = split_args(state.lines[n].encode("utf-8", "surrogateescape")) or []
            key = "sentinel"
            if len(words) > 1:
                key += " " + words[1].decode("utf-8", "surrogateescape").lower()
            state.option_lines.setdefault(key, []).append(n)
        config.rewrite_options(state, skip=frozenset(("save",)))
        for option, line, force in self.config_lines():
            if line is None:
                state.mark(option)
            else:
                state.rewrite_line(option, line, force)
        return state.content()

    def flush_config(self) -> bool:
        """Rewrite the config file with the current state (``sentinelFlushConfig``)."""
        path = self.config.file
        try:
            if not path:
                raise OSError(2, os.strerror(2))
            rewrite_file(path, self.rewrite_text)
        except OSError as exc:
            self.log(WARNING, f"WARNING: Sentinel was not able to save the new configuration "
                              f"on disk!!!: {exc.strerror or exc}")
            return False
        self.log(NOTICE, "Sentinel new configuration saved on disk")
        return True

    # ------------------------------------------------------------------ start / stop

    def is_running(self) -> None:
        """At start: pick an ID if the config has none, say it, announce the masters."""
        if not self.myid:
            self.myid = os.urandom(ID_SIZE // 2).hex()
            self.flush_config()
        self.log(WARNING, f"Sentinel ID is {self.myid}")
        for ri in self.masters.values():
            self.event(WARNING, "+monitor", ri, "%@ quorum %d", ri.quorum)
        self.start_timer()

    def start_timer(self) -> None:
        if self._task is None:
            self.previous_time = mstime()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stopped:
            await asyncio.sleep(1.0 / self.hz)
            try:
                self.timer()
            except Exception as exc:  # pragma: no cover - keep the sentinel alive
                self.log(WARNING, f"sentinel timer error: {exc!r}")

    def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.close_all_links()

    def close_all_links(self) -> None:
        for master in self.masters.values():
            for ri in [master, *master.slaves.values(), *master.sentinels.values()]:
                ri.link.close_connection(ri.link.cc)
                ri.link.close_connection(ri.link.pc)

    # ------------------------------------------------------------------ connections

    def _send_auth_if_needed(self, ri: Instance, conn: Conn) -> None:
        if ri.flags & MASTER:
            auth_pass, auth_user = ri.auth_pass, ri.auth_user
        elif ri.flags & SLAVE:
            assert ri.master is not None
            auth_pass, auth_user = ri.master.auth_pass, ri.master.auth_user
        elif self.sentinel_auth_pass:
            auth_pass, auth_user = self.sentinel_auth_pass, self.sentinel_auth_user
        else:
            srv_pass = self.config.values.get("requirepass") or None
            auth_pass, auth_user = srv_pass, None
        if auth_pass and auth_user is None:
            if conn.command(self._discard_cb(ri), ri.map_command("AUTH"), auth_pass):
                ri.link.pending_commands += 1
        elif auth_pass and auth_user:
            if conn.command(self._discard_cb(ri), ri.map_command("AUTH"), auth_user,
                            auth_pass):
                ri.link.pending_commands += 1

    def _set_client_name(self, ri: Instance, conn: Conn, kind: str) -> None:
        name = f"sentinel-{self.myid[:8]}-{kind}"
        if conn.command(self._discard_cb(ri), ri.map_command("CLIENT"), "SETNAME", name):
            ri.link.pending_commands += 1

    def reconnect_instance(self, ri: Instance) -> None:
        link = ri.link
        if not link.disconnected or ri.addr.port == 0:
            return
        now = mstime()
        if now - link.last_reconn_time < self.ping_period:
            return
        link.last_reconn_time = now
        if link.cc is None:
            if self.resolve_hostnames:
                try:
                    ri.addr = self.create_addr(ri.addr.hostname, ri.addr.port, False)
                except SentinelError:
                    pass
            link.cc = Conn(ri.addr.ip, ri.addr.port, link, self._fail_reporter(
                ri, "-cmd-link-reconnection"), self._connect_check())
            link.pending_commands = 0
            link.cc_conn_time = mstime()
            self._send_auth_if_needed(ri, link.cc)
            self._set_client_name(ri, link.cc, "cmd")
            self.send_ping(ri)
        if ri.flags & (MASTER | SLAVE) and link.pc is None:
            link.pc = Conn(ri.addr.ip, ri.addr.port, link, self._fail_reporter(
                ri, "-pubsub-link-reconnection"), self._connect_check())
            link.pc_conn_time = mstime()
            self._send_auth_if_needed(ri, link.pc)
            self._set_client_name(ri, link.pc, "pubsub")
            if not link.pc.subscribe(self._hello_cb(ri), ri.map_command("SUBSCRIBE"),
                                     HELLO_CHANNEL):
                link.close_connection(link.pc)
                return
        if link.cc is not None and (ri.flags & SENTINEL or link.pc is not None):
            link.disconnected = False

    def _connect_check(self) -> Callable[[], None] | None:
        return self.server.check_peer_connect if self.server is not None else None

    def on_partition(self, on: bool) -> None:
        """``Server.partition_hooks`` entry: ON closes every link to masters, replicas and
        other sentinels; their reconnects are refused while partitioned, so every instance
        times out (+sdown) as it would behind a real partition. OFF: the timer reconnects.
        (Other sentinels' connections to us are closed by the server: they name
        themselves ``sentinel-...``.)"""
        if on:
            self.close_all_links()

    def _fail_reporter(self, ri: Instance, kind: str) -> Callable[[str], None]:
        def report(err: str) -> None:
            if not ri.released:
                self.event(DEBUG, kind, ri, "%@ #%s", err)
        return report

    # ------------------------------------------------------------------ reply callbacks

    def _discard_cb(self, ri: Instance) -> Callback:
        def cb(conn: Conn, reply: Any) -> None:
            if conn.link is not None:
                conn.link.pending_commands -= 1
        return cb

    def _reply_cb(self, ri: Instance,
                  handle: Callable[[Instance, InstanceLink, Any], None]) -> Callback:
        """The start every reply callback of Redis' sentinel shares: nothing when the link
        is gone, one pending command less, then ``handle(ri, link, reply)`` unless the
        instance was released."""
        def cb(conn: Conn, reply: Any) -> None:
            link = conn.link
            if link is None:
                return
            link.pending_commands -= 1
            if not ri.released:
                handle(ri, link, reply)
        return cb

    def _info_reply(self, ri: Instance, link: InstanceLink, reply: Any) -> None:
        if isinstance(reply, bytes):
            self.refresh_instance_info(ri, reply.decode("utf-8", "replace"))

    def _ping_reply(self, ri: Instance, link: InstanceLink, reply: Any) -> None:
        if isinstance(reply, (Status, Error)):
            if reply.startswith(("PONG", "LOADING", "MASTERDOWN")):
                link.last_avail_time = mstime()
                link.act_ping_time = 0
                if ri.flags & MASTER_REBOOT and reply.startswith("PONG"):
                    ri.flags &= ~MASTER_REBOOT
            elif (reply.startswith("BUSY") and ri.flags & S_DOWN
                  and not ri.flags & SCRIPT_KILL_SENT):
                if link.cc is not None and link.cc.command(
                        self._discard_cb(ri), ri.map_command("SCRIPT"), "KILL"):
                    link.pending_commands += 1
                ri.flags |= SCRIPT_KILL_SENT
        link.last_pong_time = mstime()

    @staticmethod
    def _publish_reply(ri: Instance, link: InstanceLink, reply: Any) -> None:
        if not isinstance(reply, Error):
            ri.last_pub_time = mstime()

    def _hello_cb(self, ri: Instance) -> Callback:
        def cb(conn: Conn, reply: Any) -> None:
            if ri.released:
                return
            ri.link.pc_last_activity = mstime()
            if (not isinstance(reply, list) or len(reply) != 3
                    or not all(isinstance(x, bytes) for x in reply)
                    or reply[0] != b"message"):
                return
            text = reply[2].decode("utf-8", "replace")
            if self.myid in text:
                return  # our own hello
            self.process_hello(text)
        return cb

    def _is_master_down_reply(self, ri: Instance, link: InstanceLink, reply: Any) -> None:
        if (isinstance(reply, list) and len(reply) == 3 and isinstance(reply[0], int)
                and isinstance(reply[1], bytes) and isinstance(reply[2], int)):
            ri.last_master_down_reply_time = mstime()
            if reply[0] == 1:
                ri.flags |= MASTER_DOWN
            else:
                ri.flags &= ~MASTER_DOWN
            leader = reply[1].decode("utf-8", "replace")
            if leader != "*":
                if ri.leader_epoch != reply[2]:
                    self.log(WARNING, f"{ri.name} voted for {leader} {reply[2]}")
                ri.leader = leader
                ri.leader_epoch = reply[2]

    # ------------------------------------------------------------------ INFO

    def refresh_instance_info(self, ri: Instance, info: str) -> None:
        """Read an INFO reply: run id, replicas, role, replication link (then act on it)."""
        ri.info = info
        ri.master_link_down_time = 0
        role = 0
        for line in info.split("\r\n"):
            if len(line) >= 47 and line.startswith("run_id:"):
                runid = line[7:47]
                if ri.runid is None:
                    ri.runid = runid
                elif ri.runid != runid:
                    self.event(NOTICE, "+reboot", ri, "%@")
                    if ri.flags & MASTER and ri.master_reboot_down_after_period:
                        ri.flags |= MASTER_REBOOT
                        ri.master_reboot_since_time = mstime()
                    ri.runid = runid
            if (ri.flags & MASTER and len(line) >= 7 and line.startswith("slave")
                    and line[5].isdigit()):
                found = _replica_addr(line)
                if found is not None:
                    ip, port = found
                    if self.lookup_slave(ri, ip, port) is None:
                        try:
                            slave = self.create_instance(None, SLAVE, ip, port, ri.quorum, ri)
                        except SentinelError:
                            slave = None
                        if slave is not None:
                            self.event(NOTICE, "+slave", slave, "%@")
                            self.flush_config()
            if len(line) >= 32 and line.startswith("master_link_down_since_seconds"):
                ri.master_link_down_time = _strtoll(line[31:]) * 1000
            if line.startswith("role:master"):
                role = MASTER
            elif line.startswith("role:slave"):
                role = SLAVE
            if role == SLAVE:
                if line.startswith("master_host:"):
                    host = line[12:]
                    if ri.slave_master_host is None or host.lower() != \
                            ri.slave_master_host.lower():
                        ri.slave_master_host = host
                        ri.slave_conf_change_time = mstime()
                elif line.startswith("master_port:"):
                    port = _atoi(line[12:])
                    if ri.slave_master_port != port:
                        ri.slave_master_port = port
                        ri.slave_conf_change_time = mstime()
                elif line.startswith("master_link_status:"):
                    ri.slave_master_link_status = (LINK_UP if line[19:].lower() == "up"
                                                   else LINK_DOWN)
                elif line.startswith("slave_priority:"):
                    ri.slave_priority = _atoi(line[15:])
                elif line.startswith("slave_repl_offset:"):
                    ri.slave_repl_offset = _strtoull(line[18:])
                elif line.startswith("replica_announced:"):
                    ri.replica_announced = _atoi(line[18:])
        ri.info_refresh = mstime()

        if role != ri.role_reported:
            ri.role_reported_time = mstime()
            ri.role_reported = role
            if role == SLAVE:
                ri.slave_conf_change_time = mstime()
            self.event(VERBOSE, "+role-change" if (ri.flags & (MASTER | SLAVE)) == role
                       else "-role-change", ri, "%@ new reported role is %s",
                       "master" if role == MASTER else "slave")

        if self.tilt:
            return
        master = ri.master
        if ri.flags & SLAVE and role == MASTER:
            assert master is not None
            if (ri.flags & PROMOTED and master.flags & FAILOVER_IN_PROGRESS
                    and master.failover_state == ST_WAIT_PROMOTION):
                master.config_epoch = master.failover_epoch
                master.failover_state = ST_RECONF_SLAVES
                master.failover_state_change_time = mstime()
                self.flush_config()
                self.event(WARNING, "+promoted-slave", ri, "%@")
                if self.simfailure_flags & SIM_CRASH_AFTER_PROMOTION:
                    self.sim_failure_crash()
                self.event(WARNING, "+failover-state-reconf-slaves", master, "%@")
                self.call_client_reconf_script(master, "leader", "start", master.addr,
                                               ri.addr)
                self.force_hello_update_for_master(master)
            else:
                wait_time = self.publish_period * 4
                if (not ri.flags & PROMOTED and self.master_looks_sane(master)
                        and self.no_down_for(ri, wait_time)
                        and mstime() - ri.role_reported_time > wait_time):
                    if self.send_slaveof(ri, master.addr):
                        self.event(NOTICE, "+convert-to-slave", ri, "%@")

        if (ri.flags & SLAVE and role == SLAVE and master is not None
                and (ri.slave_master_port != master.addr.port
                     or not self.addr_equals_hostname(master.addr, ri.slave_master_host))):
            wait_time = master.failover_timeout
            if (self.master_looks_sane(master) and self.no_down_for(ri, wait_time)
                    and mstime() - ri.slave_conf_change_time > wait_time):
                if self.send_slaveof(ri, master.addr):
                    self.event(NOTICE, "+fix-slave-config", ri, "%@")

        if (ri.flags & SLAVE and role == SLAVE and ri.flags & (RECONF_SENT | RECONF_INPROG)
                and master is not None and master.promoted_slave is not None):
            promoted = master.promoted_slave
            if (ri.flags & RECONF_SENT and ri.slave_master_host
                    and self.addr_equals_hostname(promoted.addr, ri.slave_master_host)
                    and ri.slave_master_port == promoted.addr.port):
                ri.flags &= ~RECONF_SENT
                ri.flags |= RECONF_INPROG
                self.event(NOTICE, "+slave-reconf-inprog", ri, "%@")
            if ri.flags & RECONF_INPROG and ri.slave_master_link_status == LINK_UP:
                ri.flags &= ~RECONF_INPROG
                ri.flags |= RECONF_DONE
                self.event(NOTICE, "+slave-reconf-done", ri, "%@")

    def master_looks_sane(self, master: Instance) -> bool:
        return bool(master.flags & MASTER and master.role_reported == MASTER
                    and not master.flags & (S_DOWN | O_DOWN)
                    and mstime() - master.info_refresh < self.info_period * 2)

    # ------------------------------------------------------------------ hello messages

    def process_hello(self, hello: str) -> None:
        """``ip,port,runid,current_epoch,master_name,master_ip,master_port,config_epoch``:
        learn about a sentinel and, if its view of the master is newer, adopt it."""
        token = hello.split(",")
        if len(token) != 8:
            return
        master = self.masters.get(token[4])
        if master is None:
            return
        port = _atoi(token[1])
        master_port = _atoi(token[6])
        si = self.instance_by_addr_and_runid(master.sentinels, token[0], port, token[2])
        current_epoch = _strtoull(token[3])
        master_config_epoch = _strtoull(token[7])
        if si is None:
            removed = self.remove_matching_sentinel(master, token[2])
            if removed:
                self.event(NOTICE, "+sentinel-address-switch", master,
                           "%@ ip %s port %d for %s", token[0], port, token[2])
            else:
                other = self.instance_by_addr_and_runid(master.sentinels, token[0], port, None)
                if other is not None:
                    self.event(NOTICE, "+sentinel-invalid-addr", other, "%@")
                    obsolete = other.runid
                    for m in self.masters.values():
                        self.remove_matching_sentinel(m, obsolete)
            try:
                si = self.create_instance(token[2], SENTINEL, token[0], port, master.quorum,
                                          master)
            except SentinelError:
                si = None
            if si is not None:
                if not removed:
                    self.event(NOTICE, "+sentinel", si, "%@")
                si.runid = token[2]
                self.try_connection_sharing(si)
                if removed:
                    self.update_sentinel_address_in_all_masters(si)
                self.flush_config()
        if current_epoch > self.current_epoch:
            self.current_epoch = current_epoch
            self.flush_config()
            self.event(WARNING, "+new-epoch", master, "%d", self.current_epoch)
        if si is not None and master.config_epoch < master_config_epoch:
            master.config_epoch = master_config_epoch
            if (master_port != master.addr.port
                    or not self.addr_equals_hostname(master.addr, token[5])):
                self.event(WARNING, "+config-update-from", si, "%@")
                self.event(WARNING, "+switch-master", master, "%s %s %d %s %d", master.name,
                           self.announce_addr(master.addr), master.addr.port, token[5],
                           master_port)
                old = master.addr.copy()
                self.reset_master_and_change_address(master, token[5], master_port)
                self.call_client_reconf_script(master, "observer", "start", old, master.addr)
        if si is not None:
            si.last_hello_time = mstime()

    def send_hello(self, ri: Instance) -> bool:
        master = ri if ri.flags & MASTER else ri.master
        assert master is not None
        maddr = self.current_master_addr(master)
        link = ri.link
        if link.disconnected or link.cc is None:
            return False
        if self.announce_ip is not None:
            ip = self.announce_ip
        else:
            if link.cc.sockname is None:
                return False
            ip = link.cc.sockname[0]
        port = self.announce_port or self.config.values["port"]
        payload = (f"{ip},{port},{self.myid},{self.current_epoch},"
                   f"{master.name},{self.announce_addr(maddr)},{maddr.port},"
                   f"{master.config_epoch}")
        if not link.cc.command(self._reply_cb(ri, self._publish_reply),
                               ri.map_command("PUBLISH"), HELLO_CHANNEL, payload):
            return False
        link.pending_commands += 1
        return True

    def _force_hello(self, table: dict[str, Instance]) -> None:
        for ri in table.values():
            if ri.last_pub_time >= self.publish_period + 1:
                ri.last_pub_time -= self.publish_period + 1

    def force_hello_update_for_master(self, master: Instance) -> None:
        if not master.flags & MASTER:
            return
        if master.last_pub_time >= self.publish_period + 1:
            master.last_pub_time -= self.publish_period + 1
        self._force_hello(master.sentinels)
        self._force_hello(master.slaves)

    # ------------------------------------------------------------------ periodic commands

    def send_ping(self, ri: Instance) -> bool:
        link = ri.link
        if link.cc is None or not link.cc.command(self._reply_cb(ri, self._ping_reply),
                                                  ri.map_command("PING")):
            return False
        link.pending_commands += 1
        link.last_ping_time = mstime()
        if link.act_ping_time == 0:
            link.act_ping_time = link.last_ping_time
        return True

    def send_periodic_commands(self, ri: Instance) -> None:
        link = ri.link
        if link.disconnected or link.cc is None:
            return
        if link.pending_commands >= MAX_PENDING_COMMANDS * link.refcount:
            return
        now = mstime()
        master = ri.master
        if (ri.flags & SLAVE and master is not None
                and (master.flags & (O_DOWN | FAILOVER_IN_PROGRESS)
                     or ri.master_link_down_time != 0)):
            info_period = 1000
        else:
            info_period = self.info_period
        ping_period = min(ri.down_after_period, self.ping_period)
        if not ri.flags & SENTINEL and (ri.info_refresh == 0
                                        or now - ri.info_refresh > info_period):
            if link.cc.command(self._reply_cb(ri, self._info_reply), ri.map_command("INFO")):
                link.pending_commands += 1
        if now - link.last_pong_time > ping_period and \
                now - link.last_ping_time > ping_period // 2:
            self.send_ping(ri)
        if now - ri.last_pub_time > self.publish_period:
            self.send_hello(ri)

    # ------------------------------------------------------------------ down detection

    def check_subjectively_down(self, ri: Instance) -> None:
        link = ri.link
        now = mstime()
        elapsed = 0
        if link.act_ping_time:
            elapsed = now - link.act_ping_time
        elif link.disconnected:
            elapsed = now - link.last_avail_time
        if (link.cc is not None and now - link.cc_conn_time > self.min_link_reconnect_period
                and link.act_ping_time != 0
                and now - link.act_ping_time > ri.down_after_period // 2
                and now - link.last_pong_time > ri.down_after_period // 2):
            link.close_connection(link.cc)
        if (link.pc is not None and now - link.pc_conn_time > self.min_link_reconnect_period
                and now - link.pc_last_activity > self.publish_period * 3):
            link.close_connection(link.pc)
        if (elapsed > ri.down_after_period
                or (ri.flags & MASTER and ri.role_reported == SLAVE
                    and now - ri.role_reported_time > ri.down_after_period
                    + self.info_period * 2)
                or (ri.flags & MASTER_REBOOT
                    and now - ri.master_reboot_since_time
                    > ri.master_reboot_down_after_period)):
            if not ri.flags & S_DOWN:
                self.event(WARNING, "+sdown", ri, "%@")
                ri.s_down_since_time = now
                ri.flags |= S_DOWN
        elif ri.flags & S_DOWN:
            self.event(WARNING, "-sdown", ri, "%@")
            ri.flags &= ~(S_DOWN | SCRIPT_KILL_SENT)

    def check_objectively_down(self, master: Instance) -> None:
        quorum = 0
        odown = False
        if master.flags & S_DOWN:
            quorum = 1 + sum(1 for ri in master.sentinels.values() if ri.flags & MASTER_DOWN)
            odown = quorum >= master.quorum
        if odown:
            if not master.flags & O_DOWN:
                self.event(WARNING, "+odown", master, "%@ #quorum %d/%d", quorum,
                           master.quorum)
                master.flags |= O_DOWN
                master.o_down_since_time = mstime()
        elif master.flags & O_DOWN:
            self.event(WARNING, "-odown", master, "%@")
            master.flags &= ~O_DOWN

    def ask_master_state_to_other_sentinels(self, master: Instance, forced: bool) -> None:
        for ri in list(master.sentinels.values()):
            elapsed = mstime() - ri.last_master_down_reply_time
            if elapsed > self.ask_period * 5:
                ri.flags &= ~MASTER_DOWN
                ri.leader = None
            if not master.flags & S_DOWN:
                continue
            if ri.link.disconnected or ri.link.cc is None:
                continue
            if not forced and mstime() - ri.last_master_down_reply_time < self.ask_period:
                continue
            runid = self.myid if master.failover_state > ST_NONE else "*"
            if ri.link.cc.command(self._reply_cb(ri, self._is_master_down_reply),
                                  ri.map_command("SENTINEL"),
                                  "is-master-down-by-addr", self.announce_addr(master.addr),
                                  str(master.addr.port), str(self.current_epoch), runid):
                ri.link.pending_commands += 1

    # ------------------------------------------------------------------ leader election

    def vote_leader(self, master: Instance, req_epoch: int,
                    req_runid: str) -> tuple[str | None, int]:
        if req_epoch > self.current_epoch:
            self.current_epoch = req_epoch
            self.flush_config()
            self.event(WARNING, "+new-epoch", master, "%d", self.current_epoch)
        if master.leader_epoch < req_epoch and self.current_epoch <= req_epoch:
            master.leader = req_runid
            master.leader_epoch = self.current_epoch
            self.flush_config()
            self.event(WARNING, "+vote-for-leader", master, "%s %d", master.leader,
                       master.leader_epoch)
            if master.leader.lower() != self.myid.lower():
                master.failover_start_time = mstime() + random.randrange(MAX_DESYNC)
        return master.leader, master.leader_epoch

    def get_leader(self, master: Instance, epoch: int) -> str | None:
        voters = len(master.sentinels) + 1
        counters: dict[str, int] = {}
        for ri in master.sentinels.values():
            if ri.leader is not None and ri.leader_epoch == self.current_epoch:
                counters[ri.leader] = counters.get(ri.leader, 0) + 1
        winner = None
        max_votes = 0
        for runid, votes in counters.items():
            if votes > max_votes:
                max_votes = votes
                winner = runid
        myvote, leader_epoch = self.vote_leader(master, epoch,
                                                winner if winner else self.myid)
        if myvote is not None and leader_epoch == epoch:
            votes = counters.get(myvote, 0) + 1
            counters[myvote] = votes
            if votes > max_votes:
                max_votes = votes
                winner = myvote
        if winner is not None and (max_votes < voters // 2 + 1 or max_votes < master.quorum):
            winner = None
        return winner

    # ------------------------------------------------------------------ failover

    def send_slaveof(self, ri: Instance, addr: Addr | None) -> bool:
        """SLAVEOF in a transaction with CONFIG REWRITE and the disconnection of the
        instance's clients, as redis-sentinel sends it (replies are ignored: the effect
        is observed in the next INFO)."""
        if addr is None:
            host, port = "NO", "ONE"
        else:
            host, port = self.announce_addr(addr), str(addr.port)
        conn = ri.link.cc
        if conn is None:
            return False
        steps: list[tuple[str, ...]] = [
            (ri.map_command("MULTI"),),
            (ri.map_command("SLAVEOF"), host, port),
            (ri.map_command("CONFIG"), "REWRITE"),
            (ri.map_command("CLIENT"), "KILL", "TYPE", "normal"),
            (ri.map_command("CLIENT"), "KILL", "TYPE", "pubsub"),
            (ri.map_command("EXEC"),),
        ]
        for step in steps:
            if not conn.command(self._discard_cb(ri), *step):
                return False
            ri.link.pending_commands += 1
        return True

    def start_failover(self, master: Instance) -> None:
        master.failover_state = ST_WAIT_START
        master.flags |= FAILOVER_IN_PROGRESS
        self.current_epoch += 1
        master.failover_epoch = self.current_epoch
        self.event(WARNING, "+new-epoch", master, "%d", self.current_epoch)
        self.event(WARNING, "+try-failover", master, "%@")
        master.failover_start_time = mstime() + random.randrange(MAX_DESYNC)
        master.failover_state_change_time = mstime()

    def start_failover_if_needed(self, master: Instance) -> bool:
        if not master.flags & O_DOWN or master.flags & FAILOVER_IN_PROGRESS:
            return False
        if mstime() - master.failover_start_time < master.failover_timeout * 2:
            if master.failover_delay_logged != master.failover_start_time:
                when = _wall(master.failover_start_time + master.failover_timeout * 2)
                master.failover_delay_logged = master.failover_start_time
                self.log(WARNING, f"Next failover delay: I will not start a failover before "
                                  f"{time.ctime(int(when))}")
            return False
        self.start_failover(master)
        return True

    def select_slave(self, master: Instance) -> Instance | None:
        now = mstime()
        max_master_down_time = 0
        if master.flags & S_DOWN:
            max_master_down_time += now - master.s_down_since_time
        max_master_down_time += master.down_after_period * 10
        candidates = []
        for slave in master.slaves.values():
            if slave.flags & (S_DOWN | O_DOWN) or slave.link.disconnected:
                continue
            if now - slave.link.last_avail_time > self.ping_period * 5:
                continue
            if slave.slave_priority == 0:
                continue
            validity = self.ping_period * 5 if master.flags & S_DOWN else self.info_period * 3
            if now - slave.info_refresh > validity:
                continue
            if slave.master_link_down_time > max_master_down_time:
                continue
            candidates.append(slave)
        if not candidates:
            return None
        # lower priority, then larger offset, then the smaller run id (none is last)
        candidates.sort(key=lambda s: (s.slave_priority, -s.slave_repl_offset,
                                       s.runid is None, (s.runid or "").lower()))
        return candidates[0]

    def failover_wait_start(self, ri: Instance) -> None:
        leader = self.get_leader(ri, ri.failover_epoch)
        isleader = leader is not None and leader.lower() == self.myid.lower()
        if not isleader and not ri.flags & FORCE_FAILOVER:
            election_timeout = min(self.election_timeout, ri.failover_timeout)
            if mstime() - ri.failover_start_time > election_timeout:
                self.event(WARNING, "-failover-abort-not-elected", ri, "%@")
                self.abort_failover(ri)
            return
        self.event(WARNING, "+elected-leader", ri, "%@")
        if self.simfailure_flags & SIM_CRASH_AFTER_ELECTION:
            self.sim_failure_crash()
        ri.failover_state = ST_SELECT_SLAVE
        ri.failover_state_change_time = mstime()
        self.event(WARNING, "+failover-state-select-slave", ri, "%@")

    def failover_select_slave(self, ri: Instance) -> None:
        slave = self.select_slave(ri)
        if slave is None:
            self.event(WARNING, "-failover-abort-no-good-slave", ri, "%@")
            self.abort_failover(ri)
            return
        self.event(WARNING, "+selected-slave", slave, "%@")
        slave.flags |= PROMOTED
        ri.promoted_slave = slave
        ri.failover_state = ST_SEND_SLAVEOF_NOONE
        ri.failover_state_change_time = mstime()
        self.event(NOTICE, "+failover-state-send-slaveof-noone", slave, "%@")

    def failover_send_slaveof_noone(self, ri: Instance) -> None:
        promoted = ri.promoted_slave
        assert promoted is not None
        if promoted.link.disconnected:
            if mstime() - ri.failover_state_change_time > ri.failover_timeout:
                self.event(WARNING, "-failover-abort-slave-timeout", ri, "%@")
                self.abort_failover(ri)
            return
        if not self.send_slaveof(promoted, None):
            return
        self.event(NOTICE, "+failover-state-wait-promotion", promoted, "%@")
        ri.failover_state = ST_WAIT_PROMOTION
        ri.failover_state_change_time = mstime()

    def failover_wait_promotion(self, ri: Instance) -> None:
        if mstime() - ri.failover_state_change_time > ri.failover_timeout:
            self.event(WARNING, "-failover-abort-slave-timeout", ri, "%@")
            self.abort_failover(ri)

    def failover_detect_end(self, master: Instance) -> None:
        elapsed = mstime() - master.failover_state_change_time
        promoted = master.promoted_slave
        if promoted is None or promoted.flags & S_DOWN:
            return
        not_reconfigured = sum(1 for s in master.slaves.values()
                               if not s.flags & (PROMOTED | RECONF_DONE)
                               and not s.flags & S_DOWN)
        timeout = False
        if elapsed > master.failover_timeout:
            not_reconfigured = 0
            timeout = True
            self.event(WARNING, "+failover-end-for-timeout", master, "%@")
        if not_reconfigured == 0:
            self.event(WARNING, "+failover-end", master, "%@")
            master.failover_state = ST_UPDATE_CONFIG
            master.failover_state_change_time = mstime()
        if timeout:
            for slave in list(master.slaves.values()):
                if slave.flags & (PROMOTED | RECONF_DONE | RECONF_SENT):
                    continue
                if slave.link.disconnected:
                    continue
                if self.send_slaveof(slave, promoted.addr):
                    self.event(NOTICE, "+slave-reconf-sent-be", slave, "%@")
                    slave.flags |= RECONF_SENT

    def failover_reconf_next_slave(self, master: Instance) -> None:
        in_progress = sum(1 for s in master.slaves.values()
                          if s.flags & (RECONF_SENT | RECONF_INPROG))
        promoted = master.promoted_slave
        assert promoted is not None
        for slave in list(master.slaves.values()):
            if in_progress >= master.parallel_syncs:
                break
            if slave.flags & (PROMOTED | RECONF_DONE):
                continue
            if (slave.flags & RECONF_SENT
                    and mstime() - slave.slave_reconf_sent_time > self.slave_reconf_timeout):
                self.event(NOTICE, "-slave-reconf-sent-timeout", slave, "%@")
                slave.flags &= ~RECONF_SENT
                slave.flags |= RECONF_DONE
            if slave.flags & (RECONF_SENT | RECONF_INPROG):
                continue
            if slave.link.disconnected:
                continue
            if self.send_slaveof(slave, promoted.addr):
                slave.flags |= RECONF_SENT
                slave.slave_reconf_sent_time = mstime()
                self.event(NOTICE, "+slave-reconf-sent", slave, "%@")
                in_progress += 1
        self.failover_detect_end(master)

    def failover_switch_to_promoted_slave(self, master: Instance) -> None:
        ref = master.promoted_slave if master.promoted_slave is not None else master
        self.event(WARNING, "+switch-master", master, "%s %s %d %s %d", master.name,
                   self.announce_addr(master.addr), master.addr.port,
                   self.announce_addr(ref.addr), ref.addr.port)
        self.reset_master_and_change_address(master, ref.addr.hostname, ref.addr.port)

    def failover_state_machine(self, ri: Instance) -> None:
        if not ri.flags & FAILOVER_IN_PROGRESS:
            return
        state = ri.failover_state
        if state == ST_WAIT_START:
            self.failover_wait_start(ri)
        elif state == ST_SELECT_SLAVE:
            self.failover_select_slave(ri)
        elif state == ST_SEND_SLAVEOF_NOONE:
            self.failover_send_slaveof_noone(ri)
        elif state == ST_WAIT_PROMOTION:
            self.failover_wait_promotion(ri)
        elif state == ST_RECONF_SLAVES:
            self.failover_reconf_next_slave(ri)

    def abort_failover(self, ri: Instance) -> None:
        ri.flags &= ~(FAILOVER_IN_PROGRESS | FORCE_FAILOVER)
        ri.failover_state = ST_NONE
        ri.failover_state_change_time = mstime()
        if ri.promoted_slave is not None:
            ri.promoted_slave.flags &= ~PROMOTED
            ri.promoted_slave = None

    def sim_failure_crash(self) -> None:
        self.log(WARNING, "Sentinel CRASH because of SENTINEL simulate-failure")
        os._exit(99)

    # ------------------------------------------------------------------ the timer

    def handle_instance(self, ri: Instance) -> None:
        self.reconnect_instance(ri)
        self.send_periodic_commands(ri)
        if self.tilt:
            if mstime() - self.tilt_start_time < self.tilt_period:
                return
            self.tilt = False
            self.event(WARNING, "-tilt", None, "#tilt mode exited")
        self.check_subjectively_down(ri)
        if ri.flags & MASTER:
            self.check_objectively_down(ri)
            if self.start_failover_if_needed(ri):
                self.ask_master_state_to_other_sentinels(ri, True)
            self.failover_state_machine(ri)
            self.ask_master_state_to_other_sentinels(ri, False)

    def handle_table(self, table: dict[str, Instance]) -> None:
        switch_to_promoted = None
        for ri in list(table.values()):
            if ri.released:
                continue
            self.handle_instance(ri)
            if ri.flags & MASTER:
                self.handle_table(ri.slaves)
                self.handle_table(ri.sentinels)
                if ri.failover_state == ST_UPDATE_CONFIG:
                    switch_to_promoted = ri
        if switch_to_promoted is not None:
            self.failover_switch_to_promoted_slave(switch_to_promoted)

    def check_tilt(self) -> None:
        now = mstime()
        delta = now - self.previous_time
        if delta < 0 or delta > self.tilt_trigger:
            self.tilt = True
            self.tilt_start_time = mstime()
            self.event(WARNING, "+tilt", None, "#tilt mode entered")
        self.previous_time = mstime()

    def timer(self) -> None:
        self.check_tilt()
        self.handle_table(self.masters)
        self.run_pending_scripts()
        # a different tick rate on every sentinel keeps their elections apart
        self.hz = 10 + random.randrange(10)

    # ------------------------------------------------------------------ scripts

    def schedule_script(self, path: str, *args: str) -> None:
        self.scripts_queue.append({"argv": [path, *args], "running": False, "pid": 0,
                                   "start_time": 0, "retry_num": 0})
        if len(self.scripts_queue) > SCRIPT_MAX_QUEUE:
            for job in self.scripts_queue:
                if not job["running"]:
                    self.scripts_queue.remove(job)
                    break

    def call_client_reconf_script(self, master: Instance, role: str, state: str,
                                  frm: Addr, to: Addr) -> None:
        if master.client_reconfig_script is None:
            return
        self.schedule_script(master.client_reconfig_script, master.name, role, state,
                             self.announce_addr(frm), str(frm.port), self.announce_addr(to),
                             str(to.port))

    def run_pending_scripts(self) -> None:
        if not self.scripts_queue:
            return
        now = mstime()
        for job in list(self.scripts_queue):
            if self.running_scripts >= SCRIPT_MAX_RUNNING:
                break
            if job["running"] or (job["start_time"] and job["start_time"] > now):
                continue
            job["running"] = True
            job["start_time"] = now
            job["retry_num"] += 1
            self.running_scripts += 1
            asyncio.get_running_loop().create_task(self._run_script(job))

    async def _run_script(self, job: dict[str, Any]) -> None:
        code, signum = 0, 0
        try:
            proc = await asyncio.create_subprocess_exec(
                *job["argv"], stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        except OSError:
            code = 2  # execve failed: not retried
        else:
            job["pid"] = proc.pid
            self.event(DEBUG, "+script-child", None, "%d", proc.pid)
            try:
                rc = await asyncio.wait_for(proc.wait(), self.script_max_runtime / 1000)
            except asyncio.TimeoutError:
                self.event(WARNING, "-script-timeout", None, "%s %d", job["argv"][0],
                           proc.pid)
                proc.kill()
                rc = await proc.wait()
            code, signum = (rc, 0) if rc >= 0 else (0, -rc)
            self.event(DEBUG, "-script-child", None, "%d %d %d", proc.pid, code, signum)
        self.running_scripts -= 1
        if (signum or code == 1) and job["retry_num"] != SCRIPT_MAX_RETRY:
            job["running"] = False
            job["pid"] = 0
            delay = self.script_retry_delay * (2 ** max(0, job["retry_num"] - 1))
            job["start_time"] = mstime() + delay
            return
        if signum or code != 0:
            self.event(WARNING, "-script-error", None, "%s %d %d", job["argv"][0], signum,
                       code)
        if job in self.scripts_queue:
            self.scripts_queue.remove(job)

    # ------------------------------------------------------------------ quorum

    def is_quorum_reachable(self, master: Instance) -> tuple[bool, bool, int]:
        """(quorum reachable, majority reachable, usable sentinels) for CKQUORUM."""
        voters = len(master.sentinels) + 1
        usable = 1 + sum(1 for ri in master.sentinels.values()
                         if not ri.flags & (S_DOWN | O_DOWN))
        return usable >= master.quorum, usable >= voters // 2 + 1, usable


# =========================================================================== helpers


def _atoi(text: str) -> int:
    """C's ``atoi``: leading spaces, a sign, digits; anything else ends the number."""
    return max(-(2**31), min(2**31 - 1, _strtoll(text)))


def _strtoll(text: str) -> int:
    s = text.lstrip(" \t\n\r\f\v")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    n = 0
    for ch in s:
        if not ch.isdigit() or not ch.isascii():
            break
        n = n * 10 + ord(ch) - 48
    return max(-(2**63), min(2**63 - 1, n * sign))


def _strtoull(text: str) -> int:
    n = _strtoll(text)
    return n % (2**64) if n < 0 else n


def _yesno(text: str) -> bool | None:
    low = text.lower()
    if low == "yes":
        return True
    if low == "no":
        return False
    return None


def _replica_addr(line: str) -> tuple[str, int] | None:
    """The address in an INFO ``slaveN:`` line (both the old and the new format)."""
    if "ip=" not in line:
        rest = line.split(":", 1)
        if len(rest) != 2:
            return None
        parts = rest[1].split(",")
        if len(parts) < 3:
            return None
        return parts[0], _atoi(parts[1])
    ip = line[line.index("ip=") + 3:].split(",", 1)[0]
    if "port=" not in line:
        return None
    port = line[line.index("port=") + 5:].split(",", 1)[0]
    return ip, _atoi(port)


def _sentinel_lines(text_lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text) of every ``sentinel <option> ...`` line of a config text, in
    the order Config collected them."""
    out = []
    for n, raw in enumerate(text_lines, start=1):
        line = raw.strip(" \t\r\n")
        if not line or line.startswith("#"):
            continue
        words = split_args(line.encode("utf-8", "surrogateescape"))
        if words and len(words) > 1 and words[0].lower() == b"sentinel":
            out.append((n, line))
    return out


# =========================================================================== start-up


def prepare_config(config: "Config") -> None:
    """Sentinel defaults a config gets before its file is read (port 26379, protected
    mode off, no save points), as ``initSentinelConfig`` sets them."""
    config.sentinel_mode = True
    config.values["port"] = SENTINEL_PORT
    config.values["protected-mode"] = False


def load_state(config: "Config", stdin_text: str | None = None,
               extra: str = "") -> Sentinel:
    """Read the ``sentinel`` directives of a loaded config into a new state (kept on the
    config for the server to pick up); raises ConfigFileError like redis-sentinel."""
    text_lines: list[str] = []
    if config.file:
        try:
            with open(config.file, encoding="utf-8", errors="surrogateescape") as f:
                text_lines = f.read().split("\n")
        except OSError:
            pass
    if stdin_text:
        text_lines += stdin_text.split("\n")
    if extra:
        text_lines += ("\n" + extra).split("\n")
    from .log import Logger

    st = Sentinel(None, config)
    st.boot_log = Logger(config["logfile"], config["loglevel"], role=lambda: "X")
    try:
        st.load_lines(config.sentinel_lines, text_lines)
    finally:
        st.boot_log.set_file("")
    config.sentinel_state = st  # type: ignore[attr-defined]
    config.values["save"] = []
    return st


def check_config_file(config: "Config") -> str | None:
    """``sentinelCheckConfigFile``: the warning to log (then exit 1), or None."""
    if not config.file:
        return "Sentinel needs config file on disk to save state. Exiting..."
    if not os.access(config.file, os.W_OK):
        return (f"Sentinel config file {config.file} is not writable: "
                f"{os.strerror(errno.EACCES)}. Exiting...")
    return None


def attach(server: "Server") -> Sentinel:
    """Turn ``server`` into a sentinel (called from ``Server.init_hooks`` when its config
    is in sentinel mode)."""
    config = server.config
    st = getattr(config, "sentinel_state", None)
    if not isinstance(st, Sentinel):
        st = load_state(config)
    st.server = server
    server.sentinel = st  # type: ignore[attr-defined]
    server.mode = "sentinel"
    server.log.role = lambda: "X"
    server.load_data = lambda: None  # type: ignore[method-assign]
    server.startup_hooks = [*server.startup_hooks, st.is_running]
    server.shutdown_hooks.append(st.stop)
    server.partition_hooks.append(st.on_partition)
    return st
