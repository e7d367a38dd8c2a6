"""Redis Cluster in the engine (``cluster-enabled yes``), following Redis 7.0's cluster.c.

One :class:`Cluster` is attached to a server started with ``cluster-enabled yes``
(``server.cluster``). It keeps what a Redis node keeps:

* the node table (:class:`ClusterNode`: id, address, flags, role, config epoch, slots,
  ping/pong times, failure reports) and the slot table (16384 owners, plus the slots being
  migrated or imported), saved to and reloaded from ``cluster-config-file`` (nodes.conf, the
  CLUSTER NODES format plus a ``vars currentEpoch N lastVoteEpoch M`` line), so a restarted
  node comes back with its identity, epochs and slots;
* the gossip on the cluster bus (:mod:`redislab.engine.cluster_bus`): MEET handshakes,
  PING/PONG every half node timeout carrying the sender's slots and a few gossip entries,
  PFAIL after ``cluster-node-timeout``, FAIL once a majority of masters report it, config
  epoch collisions, UPDATE messages for stale slot owners;
* replica failover: automatic (rank-based delay, a majority of masters' votes for a new
  epoch), manual CLUSTER FAILOVER (the master pauses writes until its replica has its
  offset), FORCE and TAKEOVER; a replica replicates through the engine's replication
  (``server.repl.set_master``), so ``masterauth`` matters as in Redis;
* the redirection guard (first in ``server.guards``, installed only in cluster mode):
  MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN, READONLY replicas.

Log lines, error texts and output formats are Redis 7.0.15's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import fcntl
import os
import random
import socket
import time
from typing import TYPE_CHECKING, Any

from . import cluster_bus as bus
from .cluster_bus import Link, mstime
from .errors import CommandError

if TYPE_CHECKING:  # pragma: no cover
    from .commands import Command
    from .server import Client, Server

CLUSTER_SLOTS = 16384
NAMELEN = 40
PORT_INCR = 10000
BITMAP_BYTES = CLUSTER_SLOTS // 8

# node flags (Redis' CLUSTER_NODE_*)
MASTER, SLAVE, PFAIL, FAIL, MYSELF, HANDSHAKE, NOADDR, MEET, MIGRATE_TO, NOFAILOVER = (
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_FLAG_NAMES = ((MYSELF, "myself"), (MASTER, "master"), (SLAVE, "slave"), (PFAIL, "fail?"),
               (FAIL, "fail"), (HANDSHAKE, "handshake"), (NOADDR, "noaddr"),
               (NOFAILOVER, "nofailover"))
_FLAG_BY_NAME = {name: flag for flag, name in _FLAG_NAMES}

STATE_OK, STATE_FAIL = 0, 1

FAIL_REPORT_VALIDITY_MULT = 2
FAIL_UNDO_TIME_MULT = 2
MF_TIMEOUT = 5000
MF_PAUSE_MULT = 2
SLAVE_MIGRATION_DELAY = 5000
BLACKLIST_TTL = 60
MAX_REJOIN_DELAY = 5000
MIN_REJOIN_DELAY = 500
WRITABLE_DELAY = 2000
CANT_FAILOVER_RELOG_PERIOD = 60 * 5

CANT_NONE, CANT_DATA_AGE, CANT_WAITING_DELAY, CANT_EXPIRED, CANT_WAITING_VOTES = range(5)
_CANT_TEXT = {
    CANT_DATA_AGE: "Disconnected from master for longer than allowed. Please check the "
                   "'cluster-replica-validity-factor' configuration option.",
    CANT_WAITING_DELAY: "Waiting the delay before I can start a new failover.",
    CANT_EXPIRED: "Failover attempt expired.",
    CANT_WAITING_VOTES: "Waiting for votes, but majority still not reached.",
}

TODO_HANDLE_FAILOVER, TODO_UPDATE_STATE, TODO_SAVE_CONFIG, TODO_FSYNC_CONFIG, \
    TODO_HANDLE_MANUALFAILOVER = 1, 2, 4, 8, 16
# Not in Redis, for the lab's small clusters (up to SMALL_CLUSTER known nodes): a node that
# completed a handshake or learned a new slot owner tells every peer at once (a PONG, as
# clusterBroadcastPong), and a PING carries gossip about every other node (Redis: a tenth
# of them, at least three), so that six nodes agree within milliseconds of CLUSTER MEET
# instead of after a PING round or two (a second each). Failure detection is unchanged.
TODO_BROADCAST_PONG = 32
SMALL_CLUSTER = 16

CRON_PERIOD = 0.1  # clusterCron runs every 100 ms

# redirection / refusal texts (clusterRedirectClient)
SHARD_PUBSUB = frozenset({"ssubscribe", "sunsubscribe", "spublish"})
CROSSSLOT_ERR = "CROSSSLOT Keys in request don't hash to the same slot"
TRYAGAIN_ERR = "TRYAGAIN Multiple keys request during rehashing of slot"
DOWN_ERR = "CLUSTERDOWN The cluster is down"
DOWN_RO_ERR = "CLUSTERDOWN The cluster is down and only accepts read commands"
UNBOUND_ERR = "CLUSTERDOWN Hash slot not served"
SELECT_ERR = "ERR SELECT is not allowed in cluster mode"
DISABLED_ERR = "ERR This instance has cluster support disabled"


# --------------------------------------------------------------------------- slots


def key_hash_slot(key: bytes) -> int:
    """``keyHashSlot``: CRC16 (XMODEM) of the key, or of its ``{hash tag}``, mod 16384."""
    s = key.find(b"{")
    if s != -1:
        e = key.find(b"}", s + 1)
        if e != -1 and e != s + 1:
            key = key[s + 1:e]
    return binascii.crc_hqx(key, 0) & 0x3FFF


def bitmap_slots(bm: bytes | bytearray) -> list[int]:
    """The slots set in a bitmap, in order."""
    out: list[int] = []
    append = out.append
    for i, byte in enumerate(bm):
        if not byte:
            continue
        base = i << 3
        if byte == 255:
            out.extend(range(base, base + 8))
            continue
        for b in range(8):
            if byte & (1 << b):
                append(base + b)
    return out


def bitmap_ranges(bm: bytes | bytearray) -> list[tuple[int, int]]:
    """The runs of set bits of a slots bitmap as (first, last) pairs."""
    x = int.from_bytes(bm, "little")
    out: list[tuple[int, int]] = []
    base = 0
    while x:
        low = (x & -x).bit_length() - 1
        x >>= low
        base += low
        run = (~x & (x + 1)).bit_length() - 1
        out.append((base, base + run - 1))
        x >>= run
        base += run
    return out



def format_ranges(ranges: list[tuple[int, int]]) -> str:
    return "".join(f" {a}" if a == b else f" {a}-{b}" for a, b in ranges)


def flags_text(flags: int) -> str:
    names = [name for flag, name in _FLAG_NAMES if flags & flag]
    return ",".join(names) if names else "noflags"


def random_name() -> str:
    return os.urandom(NAMELEN // 2).hex()


def valid_name(name: str) -> bool:
    return len(name) == NAMELEN and all(ch in "0123456789abcdefghijklmnopqrstuvwxyz"
                                        for ch in name)


def _normalize_ip(ip: str) -> str | None:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, ip))
        except (OSError, ValueError):
            continue
    return None


# --------------------------------------------------------------------------- nodes


class ClusterNode:
    """One node as this node sees it (``clusterNode``)."""

    __slots__ = ("name", "ctime", "config_epoch", "flags", "slots", "numslots", "slaves",
                 "slaveof", "ping_sent", "pong_received", "data_received", "fail_time",
                 "voted_time", "repl_offset_time", "orphaned_time", "repl_offset", "ip",
                 "hostname", "port", "pport", "cport", "link", "inbound_link",
                 "fail_reports", "last_in_ping_gossip", "_b64", "_b64_ver", "slots_ver")

    def __init__(self, name: str | None, flags: int):
        self.name = name or random_name()
        self.ctime = mstime()
        self.config_epoch = 0
        self.flags = flags
        self.slots = bytearray(BITMAP_BYTES)
        self.numslots = 0
        self.slaves: list[ClusterNode] = []
        self.slaveof: ClusterNode | None = None
        self.ping_sent = 0
        self.pong_received = 0
        self.data_received = 0
        self.fail_time = 0
        self.voted_time = 0
        self.repl_offset_time = 0
        self.orphaned_time = 0
        self.repl_offset = 0
        self.ip = ""
        self.hostname = ""
        self.port = 0
        self.pport = 0
        self.cport = 0
        self.link: Link | None = None
        self.inbound_link: Link | None = None
        self.fail_reports: dict[ClusterNode, int] = {}
        self.last_in_ping_gossip = 0
        self._b64 = ""
        self._b64_ver = -1
        self.slots_ver = 0

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<ClusterNode {self.name[:8]} {self.ip}:{self.port} {flags_text(self.flags)}>"

    # flags
    @property
    def is_master(self) -> bool:
        return bool(self.flags & MASTER)

    @property
    def is_slave(self) -> bool:
        return bool(self.flags & SLAVE)

    @property
    def failed(self) -> bool:
        return bool(self.flags & FAIL)

    @property
    def timed_out(self) -> bool:
        return bool(self.flags & PFAIL)

    @property
    def in_handshake(self) -> bool:
        return bool(self.flags & HANDSHAKE)

    @property
    def has_addr(self) -> bool:
        return not self.flags & NOADDR

    @property
    def cant_failover(self) -> bool:
        return bool(self.flags & NOFAILOVER)

    # slots bitmap
    def has_slot(self, slot: int) -> bool:
        return bool(self.slots[slot >> 3] & (1 << (slot & 7)))

    def set_slot_bit(self, slot: int) -> bool:
        i, bit = slot >> 3, 1 << (slot & 7)
        old = bool(self.slots[i] & bit)
        if not old:
            self.slots[i] |= bit
            self.numslots += 1
            self.slots_ver += 1
        return old

    def clear_slot_bit(self, slot: int) -> bool:
        i, bit = slot >> 3, 1 << (slot & 7)
        old = bool(self.slots[i] & bit)
        if old:
            self.slots[i] &= ~bit & 0xFF
            self.numslots -= 1
            self.slots_ver += 1
        return old

    def slots_b64(self) -> str:
        if self._b64_ver != self.slots_ver:
            self._b64 = base64.b64encode(bytes(self.slots)).decode()
            self._b64_ver = self.slots_ver
        return self._b64

    # failure reports
    def cleanup_failure_reports(self, node_timeout: int) -> None:
        if not self.fail_reports:
            return
        maxtime = node_timeout * FAIL_REPORT_VALIDITY_MULT
        now = mstime()
        for sender, when in list(self.fail_reports.items()):
            if now - when > maxtime:
                del self.fail_reports[sender]


class SlotIndex:
    """Keys of database 0 by hash slot (Redis keeps ``slots_to_keys``); refreshed lazily
    from the dataset when it changed."""

    def __init__(self) -> None:
        self.data_id = 0
        self.dirty = -1
        self.size = -1
        self.keys: set[bytes] = set()
        self.by_slot: dict[int, dict[bytes, None]] = {}
        self.slot_of: dict[bytes, int] = {}

    def refresh(self, db: Any) -> None:
        data = db.data
        dirty = db.keyspace.dirty
        if id(data) == self.data_id and dirty == self.dirty and len(data) == self.size:
            return
        if id(data) != self.data_id:
            self.keys = set()
            self.by_slot = {}
            self.slot_of = {}
            self.data_id = id(data)
        cur = data.keys()
        removed = self.keys - cur
        added = cur - self.keys
        by_slot, slot_of = self.by_slot, self.slot_of
        for k in removed:
            s = slot_of.pop(k)
            d = by_slot.get(s)
            if d is not None:
                d.pop(k, None)
                if not d:
                    del by_slot[s]
        for k in added:
            s = key_hash_slot(k)
            slot_of[k] = s
            by_slot.setdefault(s, {})[k] = None
        self.keys = set(cur)
        self.dirty = dirty
        self.size = len(data)

    def count(self, db: Any, slot: int) -> int:
        self.refresh(db)
        d = self.by_slot.get(slot)
        return len(d) if d else 0

    def keys_in(self, db: Any, slot: int, limit: int | None = None) -> list[bytes]:
        self.refresh(db)
        d = self.by_slot.get(slot)
        if not d:
            return []
        keys = list(reversed(d))  # newest first, as Redis' per-slot list
        return keys if limit is None else keys[:limit]


# --------------------------------------------------------------------------- the state


class Cluster:
    """The cluster state of one server (``server.cluster``)."""

    def __init__(self, server: "Server"):
        self.server = server
        self.config = server.config
        self.log = server.log
        server.cluster = self  # type: ignore[attr-defined]
        self.myself: ClusterNode = ClusterNode(None, MYSELF | MASTER)
        self.current_epoch = 0
        self.state = STATE_FAIL
        self.size = 1
        self.todo = 0
        self.todo_scheduled = False
        self.nodes: dict[str, ClusterNode] = {}
        self.blacklist: dict[str, float] = {}
        self.failover_auth_time = 0
        self.failover_auth_count = 0
        self.failover_auth_sent = False
        self.failover_auth_rank = 0
        self.failover_auth_epoch = 0
        self.cant_failover_reason = CANT_NONE
        self.cant_lastlog_time = 0.0
        self.last_vote_epoch = 0
        self.stats_sent = [0] * bus.TYPE_COUNT
        self.stats_received = [0] * bus.TYPE_COUNT
        self.stats_pfail_nodes = 0
        self.links_buffer_limit_exceeded = 0
        self.slots: list[ClusterNode | None] = [None] * CLUSTER_SLOTS
        self.slots_ver = 0
        self.migrating: dict[int, ClusterNode] = {}
        self.importing: dict[int, ClusterNode] = {}
        self.owner_not_claiming: set[int] = set()
        self.mf_end = 0
        self.mf_can_start = False
        self.mf_slave: ClusterNode | None = None
        self.mf_master_offset = -1
        self.iteration = 0
        self.pings_sent = 0
        self.among_minority_time = 0
        self.first_call_time = 0
        self.bus_servers: list[asyncio.AbstractServer] = []
        self.inbound_links: set[Link] = set()
        self.lock_fd: int | None = None
        self.synced_epochs: tuple[int, int, int] | None = None
        self.slot_index = SlotIndex()
        self.cron_task: asyncio.Task[None] | None = None
        self.update_state_handle: asyncio.TimerHandle | None = None
        self.update_state_due = 0
        self.closing = False
        self.prev_announce_ip: str | None = None
        # manual failover: writes paused on the master
        self.pause_until = 0
        # MIGRATE connections (host:port -> _MigrateConn)
        self.migrate_sockets: dict[str, Any] = {}
        self._route: dict[Any, int] = {}

        server.guards.insert(0, self.guard)
        server.startup_hooks = [*server.startup_hooks, self.on_startup]
        server.shutdown_hooks.append(self.on_shutdown)
        server.partition_hooks.append(self.on_partition)
        self.config.on_change(self._config_changed)
        self._patch_commands()

    # ================================================================ helpers

    @property
    def node_timeout(self) -> int:
        return self.config["cluster-node-timeout"]

    def _loop(self) -> asyncio.AbstractEventLoop:
        return self.server.loop or asyncio.get_event_loop()

    def lookup(self, name: str | bytes | None) -> ClusterNode | None:
        if name is None:
            return None
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        if not valid_name(name):
            return None
        return self.nodes.get(name)

    def do_before_sleep(self, flags: int) -> None:
        """``clusterDoBeforeSleep``: work done once the current event is processed."""
        self.todo |= flags
        if not self.todo_scheduled and self.server.loop is not None:
            self.todo_scheduled = True
            self.server.loop.call_soon(self.before_sleep)

    def before_sleep(self) -> None:
        self.todo_scheduled = False
        flags = self.todo
        self.todo = 0
        if self.closing:
            return
        if flags & TODO_HANDLE_MANUALFAILOVER:
            if self.myself.is_slave:
                self.handle_manual_failover()
                self.handle_slave_failover()
        elif flags & TODO_HANDLE_FAILOVER:
            self.handle_slave_failover()
        if flags & TODO_UPDATE_STATE:
            self.update_state()
        if flags & TODO_SAVE_CONFIG:
            self.save_config_or_die(bool(flags & TODO_FSYNC_CONFIG))
        if flags & TODO_BROADCAST_PONG and len(self.nodes) <= SMALL_CLUSTER:
            self.broadcast_pong(False)

    def slave_offset(self) -> int:
        """``replicationGetSlaveOffset``."""
        repl = getattr(self.server, "repl", None)
        if repl is None or repl.master_host is None:
            return 0
        if repl.master is not None:
            off = repl.reploff
        elif repl.cached is not None:
            off = repl.cached.reploff
        else:
            off = 0
        return max(off, 0)

    def my_offset(self) -> int:
        if self.myself.is_slave:
            return self.slave_offset()
        repl = getattr(self.server, "repl", None)
        if repl is not None:
            repl.flush()
        return self.server.master_repl_offset

    def announced_ports(self) -> tuple[int, int, int]:
        """``deriveAnnouncedPorts``: (port, pport, cport)."""
        cfg = self.config
        port = self.server.port or cfg["port"]
        cport = cfg["cluster-port"] or port + PORT_INCR
        if cfg["cluster-announce-port"]:
            port = cfg["cluster-announce-port"]
        if cfg["cluster-announce-bus-port"]:
            cport = cfg["cluster-announce-bus-port"]
        return port, 0, cport

    def update_myself_announced(self) -> None:
        me = self.myself
        me.port, me.pport, me.cport = self.announced_ports()
        ip = self.config["cluster-announce-ip"] or None
        if ip != self.prev_announce_ip:
            self.prev_announce_ip = ip
            me.ip = ip if ip else ""
        me.hostname = self.config["cluster-announce-hostname"] or ""
        nofailover = NOFAILOVER if self.config["cluster-replica-no-failover"] else 0
        if (me.flags & NOFAILOVER) != nofailover:
            me.flags = (me.flags & ~NOFAILOVER) | nofailover
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)

    def _config_changed(self, name: str, value: Any) -> None:
        if name in ("cluster-announce-ip", "cluster-announce-port", "cluster-announce-bus-port",
                    "cluster-announce-hostname", "cluster-replica-no-failover"):
            self.update_myself_announced()

    def db0(self) -> Any:
        return self.server.keyspace.dbs[0]

    def count_keys_in_slot(self, slot: int) -> int:
        return self.slot_index.count(self.db0(), slot)

    def keys_in_slot(self, slot: int, limit: int | None = None) -> list[bytes]:
        return self.slot_index.keys_in(self.db0(), slot, limit)

    def del_keys_in_slot(self, slot: int) -> int:
        db = self.db0()
        keys = self.keys_in_slot(slot)
        for k in keys:
            db.delete(k)
        return len(keys)

    # ================================================================ node table

    def add_node(self, node: ClusterNode) -> None:
        assert node.name not in self.nodes
        self.nodes[node.name] = node

    def rename_node(self, node: ClusterNode, newname: str) -> None:
        self.log.debug(f"Renaming node {node.name} into {newname}")
        del self.nodes[node.name]
        node.name = newname
        self.nodes[newname] = node

    def del_node(self, delnode: ClusterNode) -> None:
        """``clusterDelNode``."""
        for j in [s for s, n in self.importing.items() if n is delnode]:
            del self.importing[j]
        for j in [s for s, n in self.migrating.items() if n is delnode]:
            del self.migrating[j]
        for j, owner in enumerate(self.slots):
            if owner is delnode:
                self.del_slot(j)
        for node in self.nodes.values():
            if node is not delnode:
                self.node_del_failure_report(node, delnode)
        self.free_node(delnode)

    def free_node(self, n: ClusterNode) -> None:
        for s in n.slaves:
            s.slaveof = None
        if n.is_slave and n.slaveof is not None:
            self.node_remove_slave(n.slaveof, n)
        self.nodes.pop(n.name, None)
        if n.link is not None:
            self.free_link(n.link)
        if n.inbound_link is not None:
            self.free_link(n.inbound_link)

    def node_add_slave(self, master: ClusterNode, slave: ClusterNode) -> bool:
        if slave in master.slaves:
            return False
        master.slaves.append(slave)
        master.flags |= MIGRATE_TO
        return True

    def node_remove_slave(self, master: ClusterNode, slave: ClusterNode) -> bool:
        if slave not in master.slaves:
            return False
        master.slaves.remove(slave)
        if not master.slaves:
            master.flags &= ~MIGRATE_TO
        return True

    def count_non_failing_slaves(self, n: ClusterNode) -> int:
        return sum(1 for s in n.slaves if not s.failed)

    # failure reports
    def node_add_failure_report(self, failing: ClusterNode, sender: ClusterNode) -> bool:
        new = sender not in failing.fail_reports
        failing.fail_reports[sender] = mstime()
        return new

    def node_del_failure_report(self, node: ClusterNode, sender: ClusterNode) -> bool:
        if sender not in node.fail_reports:
            return False
        del node.fail_reports[sender]
        node.cleanup_failure_reports(self.node_timeout)
        return True

    def failure_reports_count(self, node: ClusterNode) -> int:
        node.cleanup_failure_reports(self.node_timeout)
        return len(node.fail_reports)

    # blacklist (CLUSTER FORGET)
    def blacklist_cleanup(self) -> None:
        now = time.time()
        for name, expire in list(self.blacklist.items()):
            if expire < now:
                del self.blacklist[name]

    def blacklist_add(self, node: ClusterNode) -> None:
        self.blacklist_cleanup()
        self.blacklist[node.name] = time.time() + BLACKLIST_TTL

    def blacklist_exists(self, name: str) -> bool:
        self.blacklist_cleanup()
        return name in self.blacklist

    # ================================================================ slots

    def add_slot(self, n: ClusterNode, slot: int) -> bool:
        if self.slots[slot] is not None:
            return False
        if not n.set_slot_bit(slot) and n.numslots == 1 and self.masters_have_slaves():
            n.flags |= MIGRATE_TO
        self.slots[slot] = n
        self.slots_ver += 1
        return True

    def del_slot(self, slot: int) -> bool:
        n = self.slots[slot]
        if n is None:
            return False
        if self.server.shard_channels and self.myself in self.shard_nodes(n):
            # the slot leaves this node's shard: its shard channels' subscribers are
            # unsubscribed (removeChannelsInSlot)
            from .commands.pubsub import remove_channels_in_slot

            remove_channels_in_slot(self.server, slot)
        n.clear_slot_bit(slot)
        self.slots[slot] = None
        self.slots_ver += 1
        return True

    def del_node_slots(self, node: ClusterNode) -> int:
        deleted = 0
        if node.numslots:
            for j in bitmap_slots(node.slots):
                if self.slots[j] is node:
                    self.del_slot(j)
                else:
                    node.clear_slot_bit(j)
                deleted += 1
        return deleted

    def masters_have_slaves(self) -> bool:
        return any(n.slaves for n in self.nodes.values() if not n.is_slave)

    def close_all_slots(self) -> None:
        self.migrating.clear()
        self.importing.clear()

    def slot_unclaimed(self, slot: int) -> bool:
        return self.slots[slot] is None or slot in self.owner_not_claiming

    def slot_ranges_by_node(self) -> dict[ClusterNode, list[tuple[int, int]]]:
        """``clusterGenNodesSlotsInfo``: each owner's slot ranges (the slot table and the
        owners' bitmaps always agree)."""
        return {n: bitmap_ranges(n.slots) for n in self.nodes.values() if n.numslots}

    # ================================================================ epochs

    def max_epoch(self) -> int:
        m = max((n.config_epoch for n in self.nodes.values()), default=0)
        return max(m, self.current_epoch)

    def bump_epoch_without_consensus(self) -> bool:
        """``clusterBumpConfigEpochWithoutConsensus``."""
        max_epoch = self.max_epoch()
        me = self.myself
        if me.config_epoch == 0 or me.config_epoch != max_epoch:
            self.current_epoch += 1
            me.config_epoch = self.current_epoch
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG)
            self.log.warning(f"New configEpoch set to {me.config_epoch}")
            return True
        return False

    def handle_config_epoch_collision(self, sender: ClusterNode) -> None:
        me = self.myself
        if (sender.config_epoch != me.config_epoch or not sender.is_master
                or not me.is_master):
            return
        if sender.name <= me.name:
            return
        self.current_epoch += 1
        me.config_epoch = self.current_epoch
        self.save_config_or_die(True)
        self.log.verbose(f"WARNING: configEpoch collision with node {sender.name}. "
                         f"configEpoch set to {me.config_epoch}")

    # ================================================================ config file

    def config_path(self) -> str:
        path = self.config["cluster-config-file"]
        if os.path.isabs(path):
            return path
        return os.path.join(self.config["dir"] or os.getcwd(), path)

    def lock_config(self, path: str) -> bool:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            self.log.warning(f"Can't open {path} in order to acquire a lock: {exc.strerror}")
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (11, 35):  # EWOULDBLOCK
                self.log.warning(
                    f"Sorry, the cluster configuration file {self.config['cluster-config-file']} "
                    f"is already used by a different Redis Cluster node. Please make sure that "
                    f"different nodes use different cluster configuration files.")
            else:
                self.log.warning(f"Impossible to lock {path}: {exc.strerror}")
            os.close(fd)
            return False
        self.lock_fd = fd
        return True

    def load_config(self, path: str) -> bool:
        """``clusterLoadConfig``; False when there is no configuration yet."""
        try:
            with open(path, "r", encoding="utf-8", errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return False
        except OSError as exc:
            self.log.warning(f"Loading the cluster node config from {path}: {exc.strerror}")
            raise SystemExit(1) from None
        if not text:
            return False
        myself = None
        try:
            for line in text.split("\n"):
                if not line.strip():
                    continue
                argv = line.split()
                if argv[0].lower() == "vars":
                    if not len(argv) % 2:
                        raise ValueError
                    for j in range(1, len(argv), 2):
                        if argv[j].lower() == "currentepoch":
                            self.current_epoch = int(argv[j + 1])
                        elif argv[j].lower() == "lastvoteepoch":
                            self.last_vote_epoch = int(argv[j + 1])
                        else:
                            self.log.warning(
                                f"Skipping unknown cluster config variable '{argv[j]}'")
                    continue
                if len(argv) < 8 or not valid_name(argv[0]):
                    raise ValueError
                n = self.nodes.get(argv[0])
                if n is None:
                    n = ClusterNode(argv[0], 0)
                    self.add_node(n)
                addr = argv[1]
                if "," in addr:
                    addr, n.hostname = addr.split(",", 1)
                else:
                    n.hostname = ""
                if ":" not in addr:
                    raise ValueError
                ip, rest = addr.rsplit(":", 1)
                n.ip = ip
                if "@" in rest:
                    port, busp = rest.split("@", 1)
                    n.port = int(port or 0)
                    n.cport = int(busp or 0)
                else:
                    n.port = int(rest or 0)
                    n.cport = n.port + PORT_INCR
                for flag in argv[2].split(","):
                    f = flag.lower()
                    if f == "myself":
                        if myself is not None:
                            raise ValueError
                        myself = n
                        n.flags |= MYSELF
                    elif f == "fail":
                        n.flags |= FAIL
                        n.fail_time = mstime()
                    elif f == "noflags":
                        pass
                    elif f in _FLAG_BY_NAME:
                        n.flags |= _FLAG_BY_NAME[f]
                    else:
                        self.log.warning("Unknown flag in redis cluster config file")
                        raise SystemExit(1)
                if argv[3][0] != "-":
                    if not valid_name(argv[3]):
                        raise ValueError
                    master = self.nodes.get(argv[3])
                    if master is None:
                        master = ClusterNode(argv[3], 0)
                        self.add_node(master)
                    n.slaveof = master
                    self.node_add_slave(master, n)
                if int(argv[4]):
                    n.ping_sent = mstime()
                if int(argv[5]):
                    n.pong_received = mstime()
                n.config_epoch = 0 if (n.is_slave and n.slaveof) else int(argv[6])
                for spec in argv[8:]:
                    if spec.startswith("["):
                        body = spec[1:].rstrip("]")
                        if "->-" in body:
                            slot_s, other = body.split("->-", 1)
                            direction = ">"
                        elif "-<-" in body:
                            slot_s, other = body.split("-<-", 1)
                            direction = "<"
                        else:
                            raise ValueError
                        slot = int(slot_s)
                        if not 0 <= slot < CLUSTER_SLOTS or not valid_name(other):
                            raise ValueError
                        cn = self.nodes.get(other)
                        if cn is None:
                            cn = ClusterNode(other, 0)
                            self.add_node(cn)
                        (self.migrating if direction == ">" else self.importing)[slot] = cn
                        continue
                    if "-" in spec:
                        a, b = spec.split("-", 1)
                        start, stop = int(a), int(b)
                    else:
                        start = stop = int(spec)
                    if not (0 <= start < CLUSTER_SLOTS and 0 <= stop < CLUSTER_SLOTS):
                        raise ValueError
                    for s in range(start, stop + 1):
                        self.add_slot(n, s)
            if myself is None:
                raise ValueError
        except (ValueError, IndexError):
            self.log.warning("Unrecoverable error: corrupted cluster config file.")
            raise SystemExit(1) from None
        self.myself = myself
        self.log.notice(f"Node configuration loaded, I'm {myself.name}")
        if self.max_epoch() > self.current_epoch:
            self.current_epoch = self.max_epoch()
        return True

    def save_config(self, do_fsync: bool) -> bool:
        """``clusterSaveConfig``: rewrite nodes.conf in place (padded, then truncated)."""
        self.todo &= ~TODO_SAVE_CONFIG
        content = (self.nodes_description(HANDSHAKE)
                   + f"vars currentEpoch {self.current_epoch} "
                     f"lastVoteEpoch {self.last_vote_epoch}\n").encode()
        path = self.config_path()
        fd = -1
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            size = os.fstat(fd).st_size
            data = content
            if size > len(content):
                data = content + b"\n" * (size - len(content))
            if os.write(fd, data) != len(data):
                raise OSError(5, "short write")
            if do_fsync:
                self.todo &= ~TODO_FSYNC_CONFIG
                # what must survive a crash is the epochs (votes are given once per epoch);
                # an fsync for every slot moved would make resharding crawl on slow disks
                epochs = (self.current_epoch, self.last_vote_epoch, self.myself.config_epoch)
                if epochs != self.synced_epochs:
                    os.fsync(fd)
                    self.synced_epochs = epochs
            if len(data) != len(content):
                try:
                    os.ftruncate(fd, len(content))
                except OSError:
                    pass
            return True
        except OSError:
            return False
        finally:
            if fd != -1:
                os.close(fd)

    def save_config_or_die(self, do_fsync: bool) -> None:
        if not self.save_config(do_fsync):
            self.log.warning("Fatal: can't update cluster config file.")
            os._exit(1)

    # ================================================================ descriptions

    def node_description(self, node: ClusterNode,
                         ranges: list[tuple[int, int]] | None = None) -> str:
        """``clusterGenNodeDescription``: one CLUSTER NODES line (without the newline)."""
        if node.hostname:
            addr = f"{node.ip}:{node.port}@{node.cport},{node.hostname}"
        else:
            addr = f"{node.ip}:{node.port}@{node.cport}"
        master = node.slaveof.name if node.slaveof is not None else "-"
        epoch = node.config_epoch
        if node.is_slave and node.slaveof is not None:
            epoch = node.slaveof.config_epoch
        link = "connected" if (node.link is not None or node.flags & MYSELF) else "disconnected"
        line = (f"{node.name} {addr} {flags_text(node.flags)} {master} {node.ping_sent} "
                f"{node.pong_received} {epoch} {link}")
        if ranges is None and node.numslots:
            ranges = bitmap_ranges(node.slots)
        if ranges:
            line += format_ranges(ranges)
        if node.flags & MYSELF:
            for j in sorted(set(self.migrating) | set(self.importing)):
                if j in self.migrating:
                    line += f" [{j}->-{self.migrating[j].name}]"
                else:
                    line += f" [{j}-<-{self.importing[j].name}]"
        return line

    def nodes_description(self, filter_flags: int = 0) -> str:
        by_node = self.slot_ranges_by_node()
        out = []
        for node in list(self.nodes.values()):
            if node.flags & filter_flags:
                continue
            out.append(self.node_description(node, by_node.get(node, [])) + "\n")
        return "".join(out)

    def preferred_endpoint(self, n: ClusterNode) -> str:
        kind = self.config["cluster-preferred-endpoint-type"]
        if kind == "hostname":
            return n.hostname or "?"
        if kind == "unknown-endpoint":
            return ""
        return n.ip

    def info_text(self) -> str:
        """CLUSTER INFO."""
        assigned = ok = pfail = fail = 0
        for n in self.nodes.values():
            if not n.numslots:
                continue
            assigned += n.numslots
            if n.flags & FAIL:
                fail += n.numslots
            elif n.flags & PFAIL:
                pfail += n.numslots
            else:
                ok += n.numslots
        me = self.myself
        myepoch = me.slaveof.config_epoch if (me.is_slave and me.slaveof) else me.config_epoch
        lines = [
            f"cluster_state:{'ok' if self.state == STATE_OK else 'fail'}",
            f"cluster_slots_assigned:{assigned}",
            f"cluster_slots_ok:{ok}",
            f"cluster_slots_pfail:{pfail}",
            f"cluster_slots_fail:{fail}",
            f"cluster_known_nodes:{len(self.nodes)}",
            f"cluster_size:{self.size}",
            f"cluster_current_epoch:{self.current_epoch}",
            f"cluster_my_epoch:{myepoch}",
        ]
        tot = 0
        for i, v in enumerate(self.stats_sent):
            if v:
                tot += v
                lines.append(f"cluster_stats_messages_{bus.TYPE_NAMES[i]}_sent:{v}")
        lines.append(f"cluster_stats_messages_sent:{tot}")
        tot = 0
        for i, v in enumerate(self.stats_received):
            if v:
                tot += v
                lines.append(f"cluster_stats_messages_{bus.TYPE_NAMES[i]}_received:{v}")
        lines.append(f"cluster_stats_messages_received:{tot}")
        lines.append(f"total_cluster_links_buffer_limit_exceeded:"
                     f"{self.links_buffer_limit_exceeded}")
        return "".join(line + "\r\n" for line in lines)

    # ================================================================ lifecycle

    def on_startup(self) -> None:
        """``clusterInit`` (run once the server listens and loaded its data)."""
        srv = self.server
        path = self.config_path()
        if not self.lock_config(path):
            raise SystemExit(1)
        if not self.load_config(path):
            self.myself = ClusterNode(None, MYSELF | MASTER)
            self.log.notice(f"No cluster configuration found, I'm {self.myself.name}")
            self.add_node(self.myself)
            self.save_config_or_die(True)
        port = srv.port or self.config["port"]
        if not self.config["cluster-port"] and port > 65535 - PORT_INCR:
            self.log.warning("Redis port number too high. Cluster communication port is 10,000 "
                             "port numbers higher than your Redis port. Your Redis port number "
                             "must be 55535 or less.")
            raise SystemExit(1)
        cport = self.config["cluster-port"] or port + PORT_INCR
        try:
            socks = srv.listen_sockets(cport)
        except OSError:
            socks = []
        if not socks:
            self.log.warning(f"Failed listening on port {cport} (cluster), aborting.")
            raise SystemExit(1)
        loop = self._loop()
        for sock in socks:
            task = loop.create_task(loop.create_server(
                lambda: Link(self, None, True), sock=sock))
            task.add_done_callback(self._bus_server_started)
        self.update_myself_announced()
        self.reset_manual_failover()
        self.verify_config_with_data()
        stopped = getattr(srv, "_stopped", None)
        if stopped is not None:
            stopped.add_done_callback(lambda _f: self.close())
        self.cron_task = loop.create_task(self._cron_loop())

    def _bus_server_started(self, task: "asyncio.Task[Any]") -> None:
        if task.cancelled() or task.exception() is not None:
            return
        server = task.result()
        if self.closing:
            server.close()
        else:
            self.bus_servers.append(server)

    def verify_config_with_data(self) -> None:
        """``verifyClusterConfigWithData``: keys in slots we do not own."""
        if self.myself.is_slave:
            return
        dbs = self.server.keyspace.dbs
        if any(len(db.data) for db in dbs[1:]):
            self.log.warning("You can't have keys in a DB different than DB 0 when in Cluster "
                             "mode. Exiting.")
            raise SystemExit(1)
        if not len(dbs[0].data):
            return
        self.slot_index.refresh(dbs[0])
        update = 0
        for j in sorted(self.slot_index.by_slot):
            if self.slots[j] is self.myself or j in self.importing:
                continue
            update += 1
            if self.slots[j] is None:
                self.log.warning(f"I have keys for unassigned slot {j}. Taking responsibility "
                                 f"for it.")
                self.add_slot(self.myself, j)
            else:
                self.log.warning(f"I have keys for slot {j}, but the slot is assigned to "
                                 f"another node. Setting it to importing state.")
                self.importing[j] = self.slots[j]  # type: ignore[assignment]
        if update:
            self.save_config_or_die(True)

    def on_shutdown(self) -> None:
        self.close()

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        if self.cron_task is not None:
            self.cron_task.cancel()
        if self.update_state_handle is not None:
            self.update_state_handle.cancel()
            self.update_state_handle = None
        for srv in self.bus_servers:
            srv.close()
        self.bus_servers = []
        for node in list(self.nodes.values()):
            if node.link is not None:
                node.link.close()
            if node.inbound_link is not None:
                node.inbound_link.close()
        for link in list(self.inbound_links):
            link.close()
        self.inbound_links.clear()
        for conn in list(self.migrate_sockets.values()):
            conn.close()
        self.migrate_sockets.clear()
        self._unpause_writes()
        if self.lock_fd is not None:
            try:
                os.close(self.lock_fd)
            except OSError:
                pass
            self.lock_fd = None

    async def _cron_loop(self) -> None:
        # the first run at once, as Redis' first serverCron (1 ms after the event loop
        # starts) runs clusterCron: the WRITABLE_DELAY counts from there
        while not self.closing:
            try:
                self.cron()
            except Exception as exc:  # pragma: no cover - keep the node alive
                self.log.warning(f"cluster cron error: {exc!r}")
            await asyncio.sleep(CRON_PERIOD)

    # ================================================================ links

    def link_accepted(self, link: Link) -> None:
        if self.server.partitioned:  # DEBUG PARTITION: closed at accept
            self.free_link(link)
            return
        self.inbound_links.add(link)
        self.log.verbose(f"Accepting cluster node connection from {link.peer[0]}:{link.peer[1]}")

    def link_connected(self, link: Link) -> None:
        """``clusterLinkConnectHandler``: the connect completed, say hello."""
        node = link.node
        if node is None or node.link is not link:
            return
        old_ping_sent = node.ping_sent
        self.send_ping(link, bus.MEET if node.flags & MEET else bus.PING)
        if old_ping_sent:
            node.ping_sent = old_ping_sent
        node.flags &= ~MEET
        self.log.debug(f"Connecting with Node {node.name} at {node.ip}:{node.cport}")

    def create_outbound_link(self, node: ClusterNode) -> Link:
        link = Link(self, node, inbound=False)
        loop = self._loop()
        timeout = max(self.node_timeout / 1000.0, 1.0)

        async def connect() -> None:
            try:
                self.server.check_peer_connect()  # refused while partitioned
                await asyncio.wait_for(
                    loop.create_connection(lambda: link, node.ip, node.cport), timeout)
            except asyncio.CancelledError:
                raise
            except (OSError, asyncio.TimeoutError, ValueError) as exc:
                if link.closed:
                    return
                reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                          else "Connection timed out")
                self.log.verbose(f"Connection with Node {node.name} at {node.ip}:{node.cport} "
                                 f"failed: {reason}")
                if node.ping_sent == 0:
                    node.ping_sent = mstime()
                self.free_link(link)

        link.connect_task = loop.create_task(connect())
        return link

    def on_partition(self, on: bool) -> None:
        """``Server.partition_hooks`` entry: ON drops every bus link; while partitioned the
        cron's reconnects fail ("Connection refused") and inbound links are closed at
        accept, so the other nodes see this one time out (and it sees them time out).
        OFF: the cron reconnects as it does to any node without a link."""
        if not on:
            return
        for node in list(self.nodes.values()):
            for link in (node.link, node.inbound_link):
                if link is not None:
                    self.free_link(link)
        for link in list(self.inbound_links):
            self.free_link(link)

    def free_link(self, link: Link) -> None:
        """``freeClusterLink``."""
        link.close()
        self.inbound_links.discard(link)
        node = link.node
        if node is not None:
            if node.link is link:
                node.link = None
            elif node.inbound_link is link:
                node.inbound_link = None

    def set_inbound_link(self, node: ClusterNode, link: Link) -> None:
        if node.inbound_link is not None and node.inbound_link is not link:
            self.log.debug(f"Replacing inbound link from node {node.name}")
            self.free_link(node.inbound_link)
        node.inbound_link = link
        link.node = node

    def send_message(self, link: Link | None, msg: dict[str, Any]) -> None:
        if link is None:
            return
        link.send(bus.encode(msg))
        t = msg["type"]
        if 0 <= t < bus.TYPE_COUNT:
            self.stats_sent[t] += 1

    def broadcast_message(self, msg: dict[str, Any]) -> None:
        data = None
        for node in list(self.nodes.values()):
            if node.flags & (MYSELF | HANDSHAKE) or node.link is None:
                continue
            if data is None:
                data = bus.encode(msg)
            node.link.send(data)
            self.stats_sent[msg["type"]] += 1

    # ================================================================ messages out

    def build_header(self, mtype: int) -> dict[str, Any]:
        """``clusterBuildMessageHdr``."""
        me = self.myself
        master = me.slaveof if (me.is_slave and me.slaveof is not None) else me
        port, pport, cport = self.announced_ports()
        mflags = 0
        if me.is_master and self.mf_end:
            mflags |= bus.FLAG0_PAUSED
        return {
            "type": mtype,
            "sender": me.name,
            "myip": self.config["cluster-announce-ip"] or "",
            "slots": master.slots_b64(),
            "slaveof": me.slaveof.name if me.slaveof is not None else "",
            "port": port, "pport": pport, "cport": cport,
            "flags": me.flags,
            "state": self.state,
            "cepoch": self.current_epoch,
            "epoch": master.config_epoch,
            "offset": self.my_offset(),
            "mflags": mflags,
            "hostname": me.hostname,
        }

    @staticmethod
    def gossip_entry(n: ClusterNode) -> list[Any]:
        return [n.name, n.ping_sent // 1000, n.pong_received // 1000, n.ip, n.port, n.cport,
                n.flags, n.pport]

    def send_ping(self, link: Link, mtype: int) -> None:
        """``clusterSendPing``: PING, PONG or MEET with gossip about a few nodes."""
        self.pings_sent += 1
        nodes = list(self.nodes.values())
        freshnodes = len(nodes) - 2
        wanted = max(3, len(nodes) // 10)
        wanted = min(wanted, freshnodes)
        if not link.inbound and mtype == bus.PING and link.node is not None:
            link.node.ping_sent = mstime()
        msg = self.build_header(mtype)
        gossip: list[list[Any]] = []
        maxiter = wanted * 3
        if len(nodes) <= SMALL_CLUSTER:
            # every eligible node, in random order (the same filter as below)
            random.shuffle(nodes)
            for this in nodes:
                if (this is self.myself or this.flags & (PFAIL | HANDSHAKE | NOADDR)
                        or (this.link is None and this.numslots == 0)):
                    continue
                gossip.append(self.gossip_entry(this))
                this.last_in_ping_gossip = self.pings_sent
            freshnodes = 0
        while freshnodes > 0 and len(gossip) < wanted and maxiter > 0:
            maxiter -= 1
            this = random.choice(nodes)
            if this is self.myself or this.flags & PFAIL:
                continue
            if this.flags & (HANDSHAKE | NOADDR) or (this.link is None and this.numslots == 0):
                freshnodes -= 1
                continue
            if this.last_in_ping_gossip == self.pings_sent:
                continue
            gossip.append(self.gossip_entry(this))
            this.last_in_ping_gossip = self.pings_sent
            freshnodes -= 1
        if self.stats_pfail_nodes:
            for node in nodes:
                if node.flags & (HANDSHAKE | NOADDR) or not node.flags & PFAIL:
                    continue
                gossip.append(self.gossip_entry(node))
        msg["gossip"] = gossip
        self.send_message(link, msg)

    def broadcast_pong(self, local_slaves_only: bool) -> None:
        me = self.myself
        for node in list(self.nodes.values()):
            if node.link is None or node is me or node.in_handshake:
                continue
            if local_slaves_only:
                local = (node.is_slave and node.slaveof is not None
                         and (node.slaveof is me or node.slaveof is me.slaveof))
                if not local:
                    continue
            self.send_ping(node.link, bus.PONG)

    def send_fail(self, name: str) -> None:
        msg = self.build_header(bus.FAIL)
        msg["about"] = name
        self.broadcast_message(msg)

    def send_update(self, link: Link | None, node: ClusterNode) -> None:
        if link is None:
            return
        msg = self.build_header(bus.UPDATE)
        slots = node.slots
        if self.owner_not_claiming:
            slots = bytearray(slots)
            for j in self.owner_not_claiming:
                slots[j >> 3] &= ~(1 << (j & 7)) & 0xFF
        msg["update"] = [node.name, node.config_epoch, base64.b64encode(bytes(slots)).decode()]
        self.send_message(link, msg)

    @staticmethod
    def shard_nodes(node: ClusterNode) -> list[ClusterNode]:
        """``clusterGetNodesServingMySlots``: ``node``'s master and that master's
        replicas."""
        master = node if not node.is_slave else node.slaveof
        if master is None:
            return [node]
        return [master, *master.slaves]

    def propagate_publish_shard(self, channel: bytes, message: bytes) -> None:
        """SPUBLISH: a PUBLISHSHARD message to the other nodes of this shard."""
        msg = None
        for node in self.shard_nodes(self.myself):
            if node is self.myself or node.link is None:
                continue
            if msg is None:
                msg = self.build_header(bus.PUBLISHSHARD)
                msg["channel"] = channel.decode("latin-1")
                msg["message"] = message.decode("latin-1")
            self.send_message(node.link, msg)

    def propagate_publish(self, channel: bytes, message: bytes) -> None:
        msg = self.build_header(bus.PUBLISH)
        msg["channel"] = channel.decode("latin-1")
        msg["message"] = message.decode("latin-1")
        self.broadcast_message(msg)

    def request_failover_auth(self) -> None:
        msg = self.build_header(bus.AUTH_REQUEST)
        if self.mf_end:
            msg["mflags"] |= bus.FLAG0_FORCEACK
        self.broadcast_message(msg)

    def send_failover_auth(self, node: ClusterNode) -> None:
        if node.link is None:
            return
        self.send_message(node.link, self.build_header(bus.AUTH_ACK))

    def send_mf_start(self, node: ClusterNode) -> None:
        if node.link is None:
            return
        self.send_message(node.link, self.build_header(bus.MFSTART))

    # ================================================================ messages in

    def node_from_link_and_msg(self, link: Link, sender_name: str) -> ClusterNode | None:
        if link.node is not None and not link.node.in_handshake:
            return link.node
        sender = self.lookup(sender_name)
        if sender is not None and link.node is None:
            self.set_inbound_link(sender, link)
        return sender

    def _sender_epochs(self, sender: ClusterNode, msg: dict[str, Any],
                       now: int) -> tuple[int, int]:
        """The epochs and offset in the header of a known sender's message."""
        sender_cur_epoch = int(msg.get("cepoch", 0))
        sender_cfg_epoch = int(msg.get("epoch", 0))
        if sender_cur_epoch > self.current_epoch:
            self.current_epoch = sender_cur_epoch
        if sender_cfg_epoch > sender.config_epoch:
            sender.config_epoch = sender_cfg_epoch
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG)
        sender.repl_offset = int(msg.get("offset", 0))
        sender.repl_offset_time = now
        return sender_cur_epoch, sender_cfg_epoch

    def process_packet(self, link: Link, msg: dict[str, Any]) -> bool:
        """``clusterProcessPacket``; False when the link was freed."""
        if self.closing:
            return False
        now = mstime()
        mtype = msg.get("type")
        if not isinstance(mtype, int):
            return True
        if 0 <= mtype < bus.TYPE_COUNT:
            self.stats_received[mtype] += 1
        flags = int(msg.get("flags", 0))
        sender_name = str(msg.get("sender", ""))
        sender = self.node_from_link_and_msg(link, sender_name)
        if sender is not None:
            sender.data_received = now
        sender_cur_epoch = sender_cfg_epoch = 0
        if sender is not None and not sender.in_handshake:
            sender_cur_epoch, sender_cfg_epoch = self._sender_epochs(sender, msg, now)
            me = self.myself
            if (self.mf_end and me.is_slave and me.slaveof is sender
                    and int(msg.get("mflags", 0)) & bus.FLAG0_PAUSED):
                if self.mf_master_offset == -1:
                    self.mf_master_offset = sender.repl_offset
                    self.do_before_sleep(TODO_HANDLE_MANUALFAILOVER)
                    self.log.warning(f"Received replication offset for paused master manual "
                                     f"failover: {self.mf_master_offset}")
                elif sender.repl_offset > self.mf_master_offset:
                    # the master's stream moved while paused (a replication PING)
                    self.mf_master_offset = sender.repl_offset
                    self.do_before_sleep(TODO_HANDLE_MANUALFAILOVER)

        if mtype in (bus.PING, bus.MEET):
            me = self.myself
            if ((mtype == bus.MEET or not me.ip)
                    and not self.config["cluster-announce-ip"]):
                ip = link.local[0]
                if ip and ip != me.ip:
                    me.ip = ip
                    self.log.warning(f"IP address for this node updated to {me.ip}")
                    self.do_before_sleep(TODO_SAVE_CONFIG)
            if sender is None and mtype == bus.MEET:
                node = ClusterNode(None, HANDSHAKE)
                node.ip = str(msg.get("myip") or "") or link.peer[0]
                node.port = int(msg.get("port", 0))
                node.pport = int(msg.get("pport", 0))
                node.cport = int(msg.get("cport", 0))
                self.add_node(node)
                self.do_before_sleep(TODO_SAVE_CONFIG)
                self.process_gossip(msg, link, None)
                self.create_outbound_link(node)  # Redis: at the next clusterCron
            self.send_ping(link, bus.PONG)

        if mtype in (bus.PING, bus.PONG, bus.MEET):
            if not link.inbound and link.node is not None:
                lnode = link.node
                if lnode.in_handshake:
                    if sender is not None:
                        self.log.verbose(f"Handshake: we already know node {sender.name}, "
                                         f"updating the address if needed.")
                        if self.update_address_if_needed(sender, link, msg):
                            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
                        self.del_node(lnode)
                        return False
                    if not valid_name(sender_name) or sender_name in self.nodes:
                        return True
                    self.rename_node(lnode, sender_name)
                    self.log.debug(f"Handshake with node {lnode.name} completed.")
                    lnode.flags &= ~HANDSHAKE
                    lnode.flags |= flags & (MASTER | SLAVE)
                    # Redis reads this PONG's header (slots, role, gossip) only from the
                    # next one on, up to a second later; the engine reads it now, and tells
                    # its peers about the new node at once
                    sender = lnode
                    sender.data_received = now
                    sender_cur_epoch, sender_cfg_epoch = self._sender_epochs(sender, msg, now)
                    self.do_before_sleep(TODO_SAVE_CONFIG | TODO_BROADCAST_PONG)
                elif lnode.name != sender_name:
                    self.log.debug(f"PONG contains mismatching sender ID. About node "
                                   f"{lnode.name} added {now - lnode.ctime} ms ago, having "
                                   f"flags {lnode.flags}")
                    lnode.flags |= NOADDR
                    lnode.ip = ""
                    lnode.port = lnode.pport = lnode.cport = 0
                    self.free_link(link)
                    self.do_before_sleep(TODO_SAVE_CONFIG)
                    return False
            if sender is not None:
                sender.flags = (sender.flags & ~NOFAILOVER) | (flags & NOFAILOVER)
            if (sender is not None and mtype == bus.PING and not sender.in_handshake
                    and self.update_address_if_needed(sender, link, msg)):
                self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
            if not link.inbound and mtype == bus.PONG and link.node is not None:
                lnode = link.node
                lnode.pong_received = now
                lnode.ping_sent = 0
                if lnode.timed_out:
                    lnode.flags &= ~PFAIL
                    self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
                elif lnode.failed:
                    self.clear_node_failure_if_needed(lnode)
            if sender is not None:
                slaveof_name = msg.get("slaveof") or ""
                if not slaveof_name:
                    self.set_node_as_master(sender)
                else:
                    master = self.lookup(slaveof_name)
                    if sender.is_master:
                        self.del_node_slots(sender)
                        sender.flags &= ~(MASTER | MIGRATE_TO)
                        sender.flags |= SLAVE
                        self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
                    if master is not None and sender.slaveof is not master:
                        if sender.slaveof is not None:
                            self.node_remove_slave(sender.slaveof, sender)
                        self.node_add_slave(master, sender)
                        sender.slaveof = master
                        self.do_before_sleep(TODO_SAVE_CONFIG)
            sender_master = None
            dirty_slots = False
            hdr_slots_b64 = str(msg.get("slots", ""))
            if sender is not None:
                sender_master = sender if sender.is_master else sender.slaveof
                if sender_master is not None:
                    dirty_slots = sender_master.slots_b64() != hdr_slots_b64
            hdr_slots = None
            if dirty_slots:
                try:
                    hdr_slots = base64.b64decode(hdr_slots_b64)
                except (ValueError, binascii.Error):
                    hdr_slots = b""
                if len(hdr_slots) != BITMAP_BYTES:
                    hdr_slots = bytes(BITMAP_BYTES)
            if sender is not None and sender.is_master and dirty_slots:
                self.update_slots_config_with(sender, sender_cfg_epoch, hdr_slots)
            if sender is not None and dirty_slots and hdr_slots is not None:
                for j in bitmap_slots(hdr_slots):
                    owner = self.slots[j]
                    if owner is sender or self.slot_unclaimed(j):
                        continue
                    if owner.config_epoch > sender_cfg_epoch:  # type: ignore[union-attr]
                        self.log.verbose(f"Node {sender.name} has old slots configuration, "
                                         f"sending an UPDATE message about {owner.name}")
                        self.send_update(sender.link, owner)  # type: ignore[arg-type]
                        break
            me = self.myself
            if (sender is not None and me.is_master and sender.is_master
                    and sender_cfg_epoch == me.config_epoch):
                self.handle_config_epoch_collision(sender)
            if sender is not None:
                self.process_gossip(msg, link, sender)
                hostname = msg.get("hostname") or ""
                sender.hostname = str(hostname)
        elif mtype == bus.FAIL:
            about = str(msg.get("about", ""))
            if sender is not None:
                failing = self.lookup(about)
                if failing is not None and not failing.flags & (FAIL | MYSELF):
                    self.log.notice(f"FAIL message received from {sender_name} about {about}")
                    failing.flags |= FAIL
                    failing.fail_time = now
                    failing.flags &= ~PFAIL
                    self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
            else:
                self.log.notice(f"Ignoring FAIL message from unknown node {sender_name} about "
                                f"{about}")
        elif mtype in (bus.PUBLISH, bus.PUBLISHSHARD):
            if sender is None:
                return True
            srv = self.server
            if srv.channels or srv.patterns or srv.shard_channels:
                channel = str(msg.get("channel", "")).encode("latin-1")
                message = str(msg.get("message", "")).encode("latin-1")
                if mtype == bus.PUBLISHSHARD:
                    from .commands.pubsub import publish_shard

                    publish_shard(srv, channel, message)
                else:
                    srv.publish(channel, message)
        elif mtype == bus.AUTH_REQUEST:
            if sender is None:
                return True
            self.send_failover_auth_if_needed(sender, msg)
        elif mtype == bus.AUTH_ACK:
            if sender is None:
                return True
            if (sender.is_master and sender.numslots > 0
                    and sender_cur_epoch >= self.failover_auth_epoch):
                self.failover_auth_count += 1
                self.do_before_sleep(TODO_HANDLE_FAILOVER)
        elif mtype == bus.MFSTART:
            if sender is None or sender.slaveof is not self.myself:
                return True
            self.reset_manual_failover()
            self.mf_end = now + MF_TIMEOUT
            self.mf_slave = sender
            self._pause_writes(now + MF_TIMEOUT * MF_PAUSE_MULT)
            self.log.warning(f"Manual failover requested by replica {sender.name}.")
            self.send_ping(link, bus.PING)
        elif mtype == bus.UPDATE:
            if sender is None:
                return True
            upd = msg.get("update") or []
            if len(upd) != 3:
                return True
            n = self.lookup(str(upd[0]))
            if n is None:
                return True
            reported = int(upd[1])
            if n.config_epoch >= reported:
                return True
            if n.is_slave:
                self.set_node_as_master(n)
            n.config_epoch = reported
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG)
            try:
                slots = base64.b64decode(upd[2])
            except (ValueError, binascii.Error):
                return True
            if len(slots) == BITMAP_BYTES:
                self.update_slots_config_with(n, reported, slots)
        else:
            self.log.warning(f"Received unknown packet type: {mtype}")
        return not link.closed

    def update_address_if_needed(self, node: ClusterNode, link: Link,
                                 msg: dict[str, Any]) -> bool:
        """``nodeUpdateAddressIfNeeded``."""
        port = int(msg.get("port", 0))
        pport = int(msg.get("pport", 0))
        cport = int(msg.get("cport", 0))
        if link is node.link:
            return False
        ip = str(msg.get("myip") or "") or link.peer[0]
        if node.port == port and node.cport == cport and node.pport == pport and node.ip == ip:
            return False
        node.ip = ip
        node.port = port
        node.pport = pport
        node.cport = cport
        if node.link is not None:
            self.free_link(node.link)
        node.flags &= ~NOADDR
        self.log.warning(f"Address updated for node {node.name}, now {node.ip}:{node.port}")
        me = self.myself
        if me.is_slave and me.slaveof is node:
            self.replication_set_master(node.ip, node.port)
        return True

    def process_gossip(self, msg: dict[str, Any], link: Link,
                       sender: ClusterNode | None) -> None:
        """``clusterProcessGossipSection``."""
        if sender is None:
            sender = link.node if link.node is not None else self.lookup(msg.get("sender"))
        now = mstime()
        for g in msg.get("gossip") or ():
            try:
                name, _ping_s, pong_s, ip, port, cport, flags, pport = g
                flags = int(flags)
            except (TypeError, ValueError):
                continue
            node = self.lookup(name)
            if node is not None:
                if sender is not None and sender.is_master and node is not self.myself:
                    if flags & (FAIL | PFAIL):
                        if self.node_add_failure_report(node, sender):
                            self.log.verbose(f"Node {sender.name} reported node {node.name} as "
                                             f"not reachable.")
                        self.mark_node_as_failing_if_needed(node)
                    elif self.node_del_failure_report(node, sender):
                        self.log.verbose(f"Node {sender.name} reported node {node.name} is back "
                                         f"online.")
                if (not flags & (FAIL | PFAIL) and node.ping_sent == 0
                        and self.failure_reports_count(node) == 0):
                    pongtime = int(pong_s) * 1000
                    if pongtime <= now + 500 and pongtime > node.pong_received:
                        node.pong_received = pongtime
                if (node.flags & (FAIL | PFAIL) and not flags & NOADDR
                        and not flags & (FAIL | PFAIL)
                        and (node.ip != ip or node.port != port or node.cport != cport)):
                    if node.link is not None:
                        self.free_link(node.link)
                    node.ip = str(ip)
                    node.port = int(port)
                    node.pport = int(pport)
                    node.cport = int(cport)
                    node.flags &= ~NOADDR
            else:
                if (sender is not None and not flags & NOADDR and valid_name(str(name))
                        and not self.blacklist_exists(str(name))):
                    node = ClusterNode(str(name), flags & ~(MYSELF | MEET | HANDSHAKE))
                    node.ip = str(ip)
                    node.port = int(port)
                    node.pport = int(pport)
                    node.cport = int(cport)
                    self.add_node(node)
                    self.create_outbound_link(node)  # Redis: at the next clusterCron

    def set_node_as_master(self, n: ClusterNode) -> None:
        """``clusterSetNodeAsMaster``."""
        if n.is_master:
            return
        if n.slaveof is not None:
            self.node_remove_slave(n.slaveof, n)
            if n is not self.myself:
                n.flags |= MIGRATE_TO
        n.flags &= ~SLAVE
        n.flags |= MASTER
        n.slaveof = None
        self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)

    def update_slots_config_with(self, sender: ClusterNode, sender_epoch: int,
                                 slots: bytes | bytearray) -> None:
        """``clusterUpdateSlotsConfigWith``: adopt the slots ``sender`` claims with a newer
        config epoch; a master left without slots becomes a replica of the sender."""
        me = self.myself
        curmaster = me if me.is_master else me.slaveof
        if sender is me:
            self.log.warning("Discarding UPDATE message about myself.")
            return
        dirty_slots: list[int] = []
        sender_slots = 0
        migrated_our_slots = 0
        newmaster = None
        claimed = set(bitmap_slots(slots))
        for j in sorted(claimed):
            sender_slots += 1
            owner = self.slots[j]
            if owner is sender:
                self.owner_not_claiming.discard(j)
                continue
            if j in self.importing:
                continue
            if self.slot_unclaimed(j) or owner.config_epoch < sender_epoch:  # type: ignore
                if owner is me and sender is not me and self.count_keys_in_slot(j):
                    dirty_slots.append(j)
                if owner is curmaster and owner is not None:
                    newmaster = sender
                    migrated_our_slots += 1
                self.del_slot(j)
                self.add_slot(sender, j)
                self.owner_not_claiming.discard(j)
                self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG
                                     | TODO_BROADCAST_PONG)
        if sender.numslots:
            for j in bitmap_slots(sender.slots):
                if j not in claimed and self.slots[j] is sender:
                    self.owner_not_claiming.add(j)
        if (newmaster is not None and curmaster is not None and curmaster.numslots == 0
                and (self.config["cluster-allow-replica-migration"]
                     or sender_slots == migrated_our_slots)):
            self.log.warning(f"Configuration change detected. Reconfiguring myself as a replica "
                             f"of {sender.name}")
            self.set_master(sender)
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG)
        elif (me.slaveof is not None and me.slaveof.slaveof is not None
              and me.slaveof.slaveof is not me):
            grand = me.slaveof.slaveof
            self.log.warning(f"I'm a sub-replica! Reconfiguring myself as a replica of "
                             f"grandmaster {grand.name}")
            self.set_master(grand)
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG)
        elif dirty_slots:
            for j in dirty_slots:
                self.del_keys_in_slot(j)

    # ================================================================ failure detection

    def mark_node_as_failing_if_needed(self, node: ClusterNode) -> None:
        needed_quorum = self.size // 2 + 1
        if not node.timed_out or node.failed:
            return
        failures = self.failure_reports_count(node)
        if self.myself.is_master:
            failures += 1
        if failures < needed_quorum:
            return
        self.log.notice(f"Marking node {node.name} as failing (quorum reached).")
        node.flags &= ~PFAIL
        node.flags |= FAIL
        node.fail_time = mstime()
        self.send_fail(node.name)
        self.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)

    def clear_node_failure_if_needed(self, node: ClusterNode) -> None:
        now = mstime()
        if node.is_slave or node.numslots == 0:
            what = "replica" if node.is_slave else "master without slots"
            self.log.notice(f"Clear FAIL state for node {node.name}: {what} is reachable again.")
            node.flags &= ~FAIL
            self.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)
        if (node.is_master and node.numslots > 0
                and now - node.fail_time > self.node_timeout * FAIL_UNDO_TIME_MULT):
            self.log.notice(f"Clear FAIL state for node {node.name}: is reachable again and "
                            f"nobody is serving its slots after some time.")
            node.flags &= ~FAIL
            self.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)

    def update_state(self) -> None:
        """``clusterUpdateState``: ok / fail, with Redis' rejoin and writable delays."""
        self.todo &= ~TODO_UPDATE_STATE
        now = mstime()
        if self.first_call_time == 0:
            self.first_call_time = now
        me = self.myself
        if me.is_master and self.state == STATE_FAIL and now - self.first_call_time < WRITABLE_DELAY:
            self._update_state_at(self.first_call_time + WRITABLE_DELAY)
            return
        new_state = STATE_OK
        if self.config["cluster-require-full-coverage"]:
            covered = 0
            for n in self.nodes.values():
                if n.numslots:
                    covered += n.numslots
                    if n.flags & FAIL:
                        new_state = STATE_FAIL
            if covered != CLUSTER_SLOTS:
                new_state = STATE_FAIL
        size = 0
        reachable = 0
        for node in self.nodes.values():
            if node.is_master and node.numslots:
                size += 1
                if not node.flags & (FAIL | PFAIL):
                    reachable += 1
        self.size = size
        if reachable < size // 2 + 1:
            new_state = STATE_FAIL
            self.among_minority_time = now
        if new_state != self.state:
            rejoin_delay = min(max(self.node_timeout, MIN_REJOIN_DELAY), MAX_REJOIN_DELAY)
            if (new_state == STATE_OK and me.is_master
                    and now - self.among_minority_time < rejoin_delay):
                self._update_state_at(self.among_minority_time + rejoin_delay)
                return
            self.log.warning(f"Cluster state changed: {'ok' if new_state == STATE_OK else 'fail'}")
            self.state = new_state

    def _update_state_at(self, when_ms: int) -> None:
        """Check the state again when a delay ends rather than at the cron tick after it
        (Redis: up to 100 ms later), so the state turns ok when the delay says."""
        loop = self.server.loop
        if loop is None or self.closing:
            return
        handle = self.update_state_handle
        if handle is not None:
            if not handle.cancelled() and self.update_state_due == when_ms:
                return
            handle.cancel()
        self.update_state_due = when_ms

        def run() -> None:
            self.update_state_handle = None
            if not self.closing:
                self.update_state()

        self.update_state_handle = loop.call_later(
            max(when_ms + 1 - mstime(), 0) / 1000.0, run)

    # ================================================================ cron

    def cron(self) -> None:
        """``clusterCron``, every 100 ms."""
        self.iteration += 1
        self.update_myself_announced()
        node_timeout = self.node_timeout
        handshake_timeout = max(node_timeout, 1000)
        self.stats_pfail_nodes = 0
        now = mstime()
        me = self.myself
        for node in list(self.nodes.values()):
            if node.flags & (MYSELF | NOADDR):
                continue
            if node.flags & PFAIL:
                self.stats_pfail_nodes += 1
            if node.in_handshake and now - node.ctime > handshake_timeout:
                self.del_node(node)
                continue
            if node.link is None:
                self.create_outbound_link(node)
        # ping a random node among five, the one with the oldest pong, once a second
        if not self.iteration % 10:
            candidates = list(self.nodes.values())
            min_pong_node = None
            min_pong = 0
            for _ in range(5):
                if not candidates:
                    break
                this = random.choice(candidates)
                if this.link is None or this.ping_sent != 0:
                    continue
                if this.flags & (MYSELF | HANDSHAKE):
                    continue
                if min_pong_node is None or min_pong > this.pong_received:
                    min_pong_node = this
                    min_pong = this.pong_received
            if min_pong_node is not None:
                self.log.debug(f"Pinging node {min_pong_node.name}")
                self.send_ping(min_pong_node.link, bus.PING)  # type: ignore[arg-type]
        orphaned_masters = 0
        max_slaves = 0
        this_slaves = 0
        update_state = False
        for node in list(self.nodes.values()):
            now = mstime()
            if node.flags & (MYSELF | NOADDR | HANDSHAKE):
                continue
            if me.is_slave and node.is_master and not node.failed:
                okslaves = self.count_non_failing_slaves(node)
                if okslaves == 0 and node.numslots > 0 and node.flags & MIGRATE_TO:
                    orphaned_masters += 1
                max_slaves = max(max_slaves, okslaves)
                if me.slaveof is node:
                    this_slaves = okslaves
            ping_delay = now - node.ping_sent
            data_delay = now - node.data_received
            if (node.link is not None and now - node.link.ctime > node_timeout
                    and node.ping_sent and ping_delay > node_timeout / 2
                    and data_delay > node_timeout / 2):
                self.free_link(node.link)
            if (node.link is not None and node.ping_sent == 0
                    and now - node.pong_received > node_timeout / 2):
                self.send_ping(node.link, bus.PING)
                continue
            if self.mf_end and me.is_master and self.mf_slave is node and node.link is not None:
                self.send_ping(node.link, bus.PING)
                continue
            if node.ping_sent == 0:
                continue
            node_delay = min(ping_delay, data_delay)
            if node_delay > node_timeout and not node.flags & (PFAIL | FAIL):
                self.log.debug(f"*** NODE {node.name} possibly failing")
                node.flags |= PFAIL
                update_state = True
        repl = getattr(self.server, "repl", None)
        if (me.is_slave and repl is not None and repl.master_host is None
                and me.slaveof is not None and me.slaveof.has_addr and me.slaveof.ip):
            self.replication_set_master(me.slaveof.ip, me.slaveof.port)
        self.manual_failover_check_timeout()
        if me.is_slave:
            self.handle_manual_failover()
            self.handle_slave_failover()
            if (orphaned_masters and max_slaves >= 2 and this_slaves == max_slaves
                    and self.config["cluster-allow-replica-migration"]):
                self.handle_slave_migration(max_slaves)
        if update_state or self.state == STATE_FAIL:
            self.update_state()
        if self.pause_until and mstime() > self.pause_until:
            self._unpause_writes()
        if self.migrate_sockets and not self.iteration % 10:
            for key, conn in list(self.migrate_sockets.items()):
                if time.time() - conn.last_use > 10:
                    conn.close()
                    del self.migrate_sockets[key]

    # ================================================================ replication glue

    def replication_set_master(self, ip: str, port: int) -> None:
        repl = getattr(self.server, "repl", None)
        if repl is not None:
            repl.set_master(ip, port)

    def replication_unset_master(self) -> None:
        repl = getattr(self.server, "repl", None)
        if repl is not None:
            repl.unset_master()

    def set_master(self, n: ClusterNode) -> None:
        """``clusterSetMaster``: become a replica of ``n``."""
        me = self.myself
        assert n is not me
        if me.is_master:
            me.flags &= ~(MASTER | MIGRATE_TO)
            me.flags |= SLAVE
            self.close_all_slots()
        elif me.slaveof is not None:
            self.node_remove_slave(me.slaveof, me)
        me.slaveof = n
        self.node_add_slave(n, me)
        self.replication_set_master(n.ip, n.port)
        self.reset_manual_failover()

    # ================================================================ failover

    def send_failover_auth_if_needed(self, node: ClusterNode, request: dict[str, Any]) -> None:
        """``clusterSendFailoverAuthIfNeeded``: vote for a replica."""
        me = self.myself
        master = node.slaveof
        req_cur = int(request.get("cepoch", 0))
        req_cfg = int(request.get("epoch", 0))
        force_ack = int(request.get("mflags", 0)) & bus.FLAG0_FORCEACK
        if me.is_slave or me.numslots == 0:
            return
        log = self.log
        if req_cur < self.current_epoch:
            log.warning(f"Failover auth denied to {node.name}: reqEpoch ({req_cur}) < "
                        f"curEpoch({self.current_epoch})")
            return
        if self.last_vote_epoch == self.current_epoch:
            log.warning(f"Failover auth denied to {node.name}: already voted for epoch "
                        f"{self.current_epoch}")
            return
        if node.is_master or master is None or (not master.failed and not force_ack):
            if node.is_master:
                log.warning(f"Failover auth denied to {node.name}: it is a master node")
            elif master is None:
                log.warning(f"Failover auth denied to {node.name}: I don't know its master")
            elif not master.failed:
                log.warning(f"Failover auth denied to {node.name}: its master is up")
            return
        now = mstime()
        if now - master.voted_time < self.node_timeout * 2:
            log.warning(f"Failover auth denied to {node.name}: can't vote about this master "
                        f"before {self.node_timeout * 2 - (now - master.voted_time)} "
                        f"milliseconds")
            return
        try:
            claimed = base64.b64decode(str(request.get("slots", "")))
        except (ValueError, binascii.Error):
            claimed = b""
        for j in bitmap_slots(claimed):
            if self.slot_unclaimed(j) or self.slots[j].config_epoch <= req_cfg:  # type: ignore
                continue
            log.warning(f"Failover auth denied to {node.name}: slot {j} epoch "
                        f"({self.slots[j].config_epoch}) > reqEpoch ({req_cfg})")  # type: ignore
            return
        self.last_vote_epoch = self.current_epoch
        master.voted_time = now
        self.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG)
        self.send_failover_auth(node)
        log.warning(f"Failover auth granted to {node.name} for epoch {self.current_epoch}")

    def slave_rank(self) -> int:
        me = self.myself
        master = me.slaveof
        if master is None:
            return 0
        myoffset = self.slave_offset()
        return sum(1 for s in master.slaves
                   if s is not me and not s.cant_failover and s.repl_offset > myoffset)

    def log_cant_failover(self, reason: int) -> None:
        nolog_fail_time = self.node_timeout + 5000
        if (reason == self.cant_failover_reason
                and time.time() - self.cant_lastlog_time < CANT_FAILOVER_RELOG_PERIOD):
            return
        self.cant_failover_reason = reason
        me = self.myself
        if (me.slaveof is not None and me.slaveof.failed
                and mstime() - me.slaveof.fail_time < nolog_fail_time):
            return
        self.cant_lastlog_time = time.time()
        self.log.warning(f"Currently unable to failover: "
                         f"{_CANT_TEXT.get(reason, 'Unknown reason code.')}")

    def failover_replace_your_master(self) -> None:
        """``clusterFailoverReplaceYourMaster``."""
        me = self.myself
        oldmaster = me.slaveof
        if me.is_master or oldmaster is None:
            return
        self.set_node_as_master(me)
        self.replication_unset_master()
        if oldmaster.numslots:
            for j in bitmap_slots(oldmaster.slots):
                self.del_slot(j)
                self.add_slot(me, j)
        self.update_state()
        self.save_config_or_die(True)
        self.broadcast_pong(False)
        self.reset_manual_failover()

    def handle_slave_failover(self) -> None:
        """``clusterHandleSlaveFailover``: run an election once our master is FAIL."""
        now = mstime()
        auth_age = now - self.failover_auth_time
        needed_quorum = self.size // 2 + 1
        manual = self.mf_end != 0 and self.mf_can_start
        self.todo &= ~TODO_HANDLE_FAILOVER
        auth_timeout = max(self.node_timeout * 2, 2000)
        auth_retry_time = auth_timeout * 2
        me = self.myself
        master = me.slaveof
        if (me.is_master or master is None or (not master.failed and not manual)
                or (self.config["cluster-replica-no-failover"] and not manual)
                or master.numslots == 0):
            self.cant_failover_reason = CANT_NONE
            return
        repl = getattr(self.server, "repl", None)
        unixtime = int(time.time())
        if repl is not None and repl.state == "connected" and repl.master is not None:
            data_age = (unixtime - int(repl.master.last_interaction)) * 1000
        else:
            down = int(repl.down_since) if repl is not None else 0
            data_age = (unixtime - down) * 1000
        if data_age > self.node_timeout:
            data_age -= self.node_timeout
        factor = self.config["cluster-replica-validity-factor"]
        if factor and data_age > (self.config["repl-ping-replica-period"] * 1000
                                  + self.node_timeout * factor):
            if not manual:
                self.log_cant_failover(CANT_DATA_AGE)
                return
        if auth_age > auth_retry_time:
            self.failover_auth_time = now + 500 + random.randrange(500)
            self.failover_auth_count = 0
            self.failover_auth_sent = False
            self.failover_auth_rank = self.slave_rank()
            self.failover_auth_time += self.failover_auth_rank * 1000
            if self.mf_end:
                self.failover_auth_time = now
                self.failover_auth_rank = 0
                self.do_before_sleep(TODO_HANDLE_FAILOVER)
            self.log.warning(f"Start of election delayed for {self.failover_auth_time - now} "
                             f"milliseconds (rank #{self.failover_auth_rank}, offset "
                             f"{self.slave_offset()}).")
            self.broadcast_pong(True)
            return
        if not self.failover_auth_sent and self.mf_end == 0:
            newrank = self.slave_rank()
            if newrank > self.failover_auth_rank:
                added = (newrank - self.failover_auth_rank) * 1000
                self.failover_auth_time += added
                self.failover_auth_rank = newrank
                self.log.warning(f"Replica rank updated to #{newrank}, added {added} "
                                 f"milliseconds of delay.")
        if now < self.failover_auth_time:
            self.log_cant_failover(CANT_WAITING_DELAY)
            return
        if auth_age > auth_timeout:
            self.log_cant_failover(CANT_EXPIRED)
            return
        if not self.failover_auth_sent:
            self.current_epoch += 1
            self.failover_auth_epoch = self.current_epoch
            self.log.warning(f"Starting a failover election for epoch {self.current_epoch}.")
            self.request_failover_auth()
            self.failover_auth_sent = True
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG)
            return
        if self.failover_auth_count >= needed_quorum:
            self.log.warning("Failover election won: I'm the new master.")
            if me.config_epoch < self.failover_auth_epoch:
                me.config_epoch = self.failover_auth_epoch
                self.log.warning(f"configEpoch set to {me.config_epoch} after successful "
                                 f"failover")
            self.failover_replace_your_master()
        else:
            self.log_cant_failover(CANT_WAITING_VOTES)

    def handle_slave_migration(self, max_slaves: int) -> None:
        """``clusterHandleSlaveMigration``: move to an orphaned master."""
        if self.state != STATE_OK:
            return
        me = self.myself
        mymaster = me.slaveof
        if mymaster is None:
            return
        okslaves = sum(1 for s in mymaster.slaves if not s.failed and not s.timed_out)
        if okslaves <= self.config["cluster-migration-barrier"]:
            return
        candidate = me
        target = None
        now = mstime()
        for node in self.nodes.values():
            ok = 0
            orphaned = True
            if node.is_slave or node.failed:
                orphaned = False
            if not node.flags & MIGRATE_TO:
                orphaned = False
            if node.is_master:
                ok = self.count_non_failing_slaves(node)
            if ok > 0:
                orphaned = False
            if orphaned:
                if target is None and node.numslots > 0:
                    target = node
                if not node.orphaned_time:
                    node.orphaned_time = now
            else:
                node.orphaned_time = 0
            if ok == max_slaves:
                for s in node.slaves:
                    if s.name < candidate.name:
                        candidate = s
        if (target is not None and candidate is me
                and now - target.orphaned_time > SLAVE_MIGRATION_DELAY):
            self.log.warning(f"Migrating to orphaned master {target.name}")
            self.set_master(target)

    # manual failover
    def reset_manual_failover(self) -> None:
        if self.mf_slave is not None:
            self._unpause_writes()
        self.mf_end = 0
        self.mf_can_start = False
        self.mf_slave = None
        self.mf_master_offset = -1

    def manual_failover_check_timeout(self) -> None:
        if self.mf_end and self.mf_end < mstime():
            self.log.warning("Manual failover timed out.")
            self.reset_manual_failover()

    def handle_manual_failover(self) -> None:
        if self.mf_end == 0 or self.mf_can_start or self.mf_master_offset == -1:
            return
        if self.mf_master_offset == self.slave_offset():
            self.mf_can_start = True
            self.log.warning("All master replication stream processed, manual failover can "
                             "start.")
            self.do_before_sleep(TODO_HANDLE_FAILOVER)
            return
        self.do_before_sleep(TODO_HANDLE_MANUALFAILOVER)

    # ================================================================ CLUSTER RESET

    def reset(self, hard: bool) -> None:
        """``clusterReset``."""
        me = self.myself
        if me.is_slave:
            self.set_node_as_master(me)
            self.replication_unset_master()
            self.server.keyspace.flushall()
            self.server.keyspace.dirty += 1
        self.close_all_slots()
        self.reset_manual_failover()
        for j in range(CLUSTER_SLOTS):
            self.del_slot(j)
        self.owner_not_claiming.clear()
        for node in list(self.nodes.values()):
            if node is not me:
                self.del_node(node)
        if hard:
            self.current_epoch = 0
            self.last_vote_epoch = 0
            me.config_epoch = 0
            self.log.warning("configEpoch set to 0 via CLUSTER RESET HARD")
            del self.nodes[me.name]
            me.name = random_name()
            self.add_node(me)
            self.log.notice(f"Node hard reset, now I'm {me.name}")
        self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG)

    def start_handshake(self, ip: str, port: int, cport: int) -> str:
        """``clusterStartHandshake``: 'ok', 'inval' or 'again'."""
        norm = _normalize_ip(ip)
        if norm is None:
            return "inval"
        if not (0 < port <= 65535 and 0 < cport <= 65535):
            return "inval"
        for node in self.nodes.values():
            if (node.in_handshake and node.ip.lower() == norm.lower() and node.port == port
                    and node.cport == cport):
                return "again"
        n = ClusterNode(None, HANDSHAKE | MEET)
        n.ip = norm
        n.port = port
        n.cport = cport
        self.add_node(n)
        if self.server.loop is not None:
            self.create_outbound_link(n)  # Redis: at the next clusterCron
        return "ok"

    # ================================================================ pausing writes

    def _pause_writes(self, until: int) -> None:
        """``pauseClients(PAUSE_DURING_FAILOVER, ..., CLIENT_PAUSE_WRITE)`` until ``until``
        (ms): see pause.py."""
        self.pause_until = until
        self.server.write_pause.pause("cluster-failover")

    def _unpause_writes(self) -> None:
        self.pause_until = 0
        self.server.write_pause.unpause("cluster-failover")

    # ================================================================ the guard

    def _patch_commands(self) -> None:
        """Cluster-mode variants of SELECT and PUBLISH in this server's command table."""
        srv = self.server
        select = srv.commands.get(b"select")
        if select is not None and select.handler is not None:
            orig_select = select.handler

            def select_handler(c: "Client", args: list[bytes]) -> Any:
                from .commands.util import parse_int

                index = parse_int(args[1])  # getIntFromObjectOrReply
                if not -2**31 <= index < 2**31:
                    raise CommandError("ERR value is not an integer or out of range")
                if index != 0:
                    raise CommandError(SELECT_ERR)
                return orig_select(c, args)

            srv.commands[b"select"] = dataclasses.replace(select, handler=select_handler)
        publish = srv.commands.get(b"publish")
        if publish is not None and publish.handler is not None:
            def publish_handler(c: "Client", args: list[bytes]) -> Any:
                n = c.server.publish(args[1], args[2])
                self.propagate_publish(args[1], args[2])
                return n

            srv.commands[b"publish"] = dataclasses.replace(publish, handler=publish_handler)

    def _keys_of(self, cmd: "Command", args: list[bytes]) -> list[bytes]:
        """``getKeysFromCommand``: the command's getkeys procedure when it has movable keys,
        else its first/last/step key range."""
        mode = self._route.get(cmd)
        if mode is None:
            if "movablekeys" in cmd.flags:
                mode = 2
            elif cmd.first_key > 0:
                mode = 1
            else:
                mode = 0
                try:
                    from .commands.server_cmds import _has_keys

                    if cmd.parent is None and _has_keys(cmd):
                        mode = 2
                except Exception:  # pragma: no cover
                    mode = 0
            self._route[cmd] = mode
        if mode == 1:
            return [args[i] for i in cmd.key_positions(args)]
        if mode == 2:
            if cmd.name == "migrate":
                return _migrate_keys(args)
            try:
                from .commands.server_cmds import _proc_keys, get_keys

                found = _proc_keys(cmd, args)
                if found is None:
                    found = get_keys(cmd, args)
            except Exception:  # pragma: no cover - malformed arguments: no routing
                return []
            if not found:
                return []
            n = len(args)
            return [args[pos] for pos, _ in found if 0 < pos < n]
        return []

    def guard(self, c: "Client", cmd: "Command", args: list[bytes]) -> None:
        """Redirections in processCommand's place (``getNodeByQuery``)."""
        if "master" in c.flags:
            return
        is_exec = cmd.name == "exec" and cmd.parent is None
        try:
            if is_exec:
                if c.multi is None:
                    return
                queued = c.multi
            else:
                if cmd.name == "asking" and cmd.parent is None:
                    return
                queued = None
            self._route_query(c, cmd, args, queued)
        finally:
            if "asking" in c.flags and (c.multi is None or is_exec) and cmd.name != "asking":
                c.flags.discard("asking")

    def _route_query(self, c: "Client", cmd: "Command", args: list[bytes],
                     queued: list[tuple["Command", list[bytes]]] | None) -> None:
        items = queued if queued is not None else ((cmd, args),)
        me = self.myself
        n = None
        firstkey = None
        slot = 0
        migrating = importing = multiple_keys = shard_pubsub = False
        missing = existing = 0
        db = None
        for mcmd, margv in items:
            keys = self._keys_of(mcmd, margv)
            if keys and mcmd.name in SHARD_PUBSUB and mcmd.parent is None:
                shard_pubsub = True  # its "keys" are shard channels
            for key in keys:
                thisslot = key_hash_slot(key)
                if firstkey is None:
                    firstkey = key
                    slot = thisslot
                    n = self.slots[slot]
                    if n is None:
                        self._refuse(c, queued, UNBOUND_ERR)
                    if n is me and slot in self.migrating:
                        migrating = True
                    elif slot in self.importing:
                        importing = True
                elif key != firstkey:
                    if slot != thisslot:
                        self._refuse(c, queued, CROSSSLOT_ERR)
                    multiple_keys = True
                if (migrating or importing) and not shard_pubsub:
                    if db is None:
                        db = self.db0()
                        now = mstime()
                    if key in db.data and (key not in db.expires or db.expires[key] > now):
                        existing += 1
                    else:
                        missing += 1
        if n is None:
            return
        is_write = (cmd.is_write if queued is None
                    else any(q.is_write for q, _ in queued))
        if self.state != STATE_OK:
            if shard_pubsub:
                if not self.config["cluster-allow-pubsubshard-when-down"]:
                    self._refuse(c, queued, DOWN_ERR)
            elif not self.config["cluster-allow-reads-when-down"]:
                self._refuse(c, queued, DOWN_ERR)
            elif is_write:
                self._refuse(c, queued, DOWN_RO_ERR)
        if (migrating or importing) and cmd.name == "migrate":
            return
        if migrating and missing:
            if existing:
                self._refuse(c, queued, TRYAGAIN_ERR)
            target = self.migrating[slot]
            self._refuse(c, queued, f"ASK {slot} {self.preferred_endpoint(target)}:"
                                    f"{target.port}")
        if importing and ("asking" in c.flags or "asking" in cmd.flags):
            if multiple_keys and missing:
                self._refuse(c, queued, TRYAGAIN_ERR)
            return
        if (("readonly" in c.flags or shard_pubsub) and not is_write and me.is_slave
                and me.slaveof is n):
            return
        if n is not me:
            self._refuse(c, queued, f"MOVED {slot} {self.preferred_endpoint(n)}:{n.port}")

    def _refuse(self, c: "Client", queued: Any, text: str) -> None:
        if queued is not None:  # EXEC: discardTransaction
            c.multi = None
            c.multi_error = False
            self.server.unwatch_all(c)
        raise CommandError(text)


_MIGRATE_SKIP = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}


def _migrate_keys(argv: list[bytes]) -> list[bytes]:
    """``migrateGetKeys``."""
    first, num = 3, 1
    argc = len(argv)
    if argc > 6:
        i = 6
        while i < argc:
            word = argv[i].lower()
            if word == b"keys":
                if argv[3]:
                    num = 0
                else:
                    first = i + 1
                    num = argc - first
                break
            i += _MIGRATE_SKIP.get(word, 0) + 1
    return argv[first:first + num]


def attach(server: "Server") -> Cluster | None:
    """``Server.init_hooks`` entry: cluster state for ``cluster-enabled yes`` servers."""
    if not server.config.get("cluster-enabled"):
        server.cluster = None  # type: ignore[attr-defined]
        return None
    return Cluster(server)
