"""Cluster commands: CLUSTER *, READONLY, READWRITE, ASKING, MIGRATE, RESTORE-ASKING.

The cluster state lives in :mod:`redislab.engine.cluster`; importing this module makes every
server started with ``cluster-enabled yes`` get one (through ``Server.init_hooks``). Without
it, CLUSTER, READONLY, READWRITE and ASKING answer ``ERR This instance has cluster support
disabled`` as Redis does. Replies, errors and formats follow Redis 7.0.15's cluster.c.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from .. import cluster as cl
from .. import errors as E
from .. import rdb
from ..errors import CommandError
from ..keyspace import now_ms
from ..resp import OK, Map, Simple, Verbatim, encode_command
from ..server import Blocked, Client, Server
from . import command, container, subcommand
from .util import parse_int

if cl.attach not in Server.init_hooks:
    Server.init_hooks.append(cl.attach)

container("cluster", -2, "", group="cluster")


def _cluster(c: Client) -> cl.Cluster:
    state = getattr(c.server, "cluster", None)
    if state is None:
        raise CommandError(cl.DISABLED_ERR)
    return state


def _syntax(args: list[bytes]) -> CommandError:
    return CommandError(
        "ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
        % (args[1][:128].decode(errors="replace"), args[0].decode(errors="replace").upper()))


def _slot_or_reply(raw: bytes) -> int:
    try:
        slot = parse_int(raw)
    except CommandError:
        slot = -1
    if not 0 <= slot < cl.CLUSTER_SLOTS:
        raise CommandError("ERR Invalid or out of range slot")
    return slot


def _node_arg(raw: bytes) -> str:
    return raw.decode(errors="replace")


def _sub(name: str, arity: int, flags: str):
    return subcommand("cluster", name, arity, flags, group="cluster")


# ============================================================================ CLUSTER

_HELP = [
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current "
    "node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes "
    "of a link",
]


@_sub("help", 2, "loading stale")
def cluster_help(c: Client, args: list[bytes]) -> Any:
    _cluster(c)
    name = args[0].decode(errors="replace").upper()
    out = [Simple(f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".encode())]
    out += [Simple(x.encode()) for x in _HELP]
    out += [Simple(b"HELP"), Simple(b"    Prints this help.")]
    return out


@_sub("meet", -4, "admin stale no_async_loading")
def cluster_meet(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    if len(args) not in (4, 5):
        raise _syntax(args)
    try:
        port = parse_int(args[3])
    except CommandError:
        raise CommandError(f"ERR Invalid TCP base port specified: "
                           f"{args[3].decode(errors='replace')}") from None
    if len(args) == 5:
        try:
            cport = parse_int(args[4])
        except CommandError:
            raise CommandError(f"ERR Invalid TCP bus port specified: "
                               f"{args[4].decode(errors='replace')}") from None
    else:
        cport = port + cl.PORT_INCR
    if st.start_handshake(args[2].decode(errors="replace"), port, cport) == "inval":
        raise CommandError(f"ERR Invalid node address specified: "
                           f"{args[2].decode(errors='replace')}:"
                           f"{args[3].decode(errors='replace')}")
    return OK


@_sub("nodes", 2, "stale")
def cluster_nodes(c: Client, args: list[bytes]) -> Any:
    return Verbatim(_cluster(c).nodes_description().encode())


@_sub("myid", 2, "stale")
def cluster_myid(c: Client, args: list[bytes]) -> Any:
    return _cluster(c).myself.name.encode()


def _node_entry(st: cl.Cluster, node: cl.ClusterNode) -> list[Any]:
    kind = st.config["cluster-preferred-endpoint-type"]
    if kind == "ip":
        endpoint: Any = node.ip.encode()
    elif kind == "hostname":
        endpoint = (node.hostname or "?").encode()
    else:
        endpoint = None
    extra = []
    if kind != "ip":
        extra.append((b"ip", node.ip.encode()))
    if kind != "hostname" and node.hostname:
        extra.append((b"hostname", node.hostname.encode()))
    return [endpoint, node.port, node.name.encode(), Map(extra)]


def _replica_available(st: cl.Cluster, node: cl.ClusterNode) -> bool:
    if node.failed:
        return False
    off = st.slave_offset() if node.flags & cl.MYSELF else node.repl_offset
    return off != 0


@_sub("slots", 2, "stale")
def cluster_slots(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    out: list[Any] = []
    slots = st.slots
    n = None
    start = 0
    for i in range(cl.CLUSTER_SLOTS + 1):
        cur = slots[i] if i < cl.CLUSTER_SLOTS else None
        if cur is n:
            continue
        if n is not None:
            entry: list[Any] = [start, i - 1, _node_entry(st, n)]
            for s in n.slaves:
                if _replica_available(st, s):
                    entry.append(_node_entry(st, s))
            out.append(entry)
        n = cur
        start = i
    return out


def _shard_node(st: cl.Cluster, node: cl.ClusterNode) -> Map:
    items: list[tuple[bytes, Any]] = [(b"id", node.name.encode())]
    if node.port:
        items.append((b"port", node.port))
    items.append((b"ip", node.ip.encode()))
    items.append((b"endpoint", st.preferred_endpoint(node).encode()))
    if node.hostname:
        items.append((b"hostname", node.hostname.encode()))
    if node.flags & cl.MYSELF:
        offset = st.slave_offset() if node.is_slave else st.my_offset()
    else:
        offset = node.repl_offset
    items.append((b"role", b"replica" if node.is_slave else b"master"))
    items.append((b"replication-offset", offset))
    if node.failed:
        health = b"fail"
    elif node.is_slave and offset == 0:
        health = b"loading"
    else:
        health = b"online"
    items.append((b"health", health))
    return Map(items)


@_sub("shards", 2, "stale")
def cluster_shards(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    by_node = st.slot_ranges_by_node()
    out = []
    for n in list(st.nodes.values()):
        if not n.is_master:
            continue
        ranges = by_node.get(n, [])
        flat: list[Any] = []
        for a, b in ranges:
            flat += [a, b]
        nodes = [_shard_node(st, n)] + [_shard_node(st, s) for s in n.slaves]
        out.append(Map([(b"slots", flat), (b"nodes", nodes)]))
    return out


@_sub("flushslots", 2, "admin stale no_async_loading")
def cluster_flushslots(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    if len(st.db0().data):
        raise CommandError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    st.del_node_slots(st.myself)
    st.do_before_sleep(cl.TODO_UPDATE_STATE | cl.TODO_SAVE_CONFIG)
    return OK


def _check_assignments(st: cl.Cluster, seen: set[int], delete: bool, start: int,
                       end: int) -> None:
    for slot in range(start, end + 1):
        if delete and st.slots[slot] is None:
            raise CommandError(f"ERR Slot {slot} is already unassigned")
        if not delete and st.slots[slot] is not None:
            raise CommandError(f"ERR Slot {slot} is already busy")
        if slot in seen:
            raise CommandError(f"ERR Slot {slot} specified multiple times")
        seen.add(slot)


def _update_slots(st: cl.Cluster, slots: set[int], delete: bool) -> None:
    for j in sorted(slots):
        st.importing.pop(j, None)
        if delete:
            st.del_slot(j)
        else:
            st.add_slot(st.myself, j)
    st.do_before_sleep(cl.TODO_UPDATE_STATE | cl.TODO_SAVE_CONFIG)


_SLOT_SPELLINGS = {str(i).encode(): i for i in range(cl.CLUSTER_SLOTS)}
"""Canonical slot numbers: `redis-cli --cluster create` sends ~5,462 in one ADDSLOTS."""


def _addslots(c: Client, args: list[bytes], delete: bool) -> Any:
    st = _cluster(c)
    get = _SLOT_SPELLINGS.get
    parsed = [get(a) for a in args[2:]]
    if None in parsed:  # some other spelling: parse each as Redis does, first error wins
        parsed = [_slot_or_reply(a) for a in args[2:]]
    seen = set(parsed)
    owners = st.slots
    if len(seen) != len(parsed) or any((owners[s] is None) is delete for s in seen):
        seen = set()  # a duplicate or a busy/unassigned slot: find the first, in order
        for slot in parsed:
            _check_assignments(st, seen, delete, slot, slot)
    _update_slots(st, seen, delete)
    return OK


@_sub("addslots", -3, "admin stale no_async_loading")
def cluster_addslots(c: Client, args: list[bytes]) -> Any:
    return _addslots(c, args, False)


@_sub("delslots", -3, "admin stale no_async_loading")
def cluster_delslots(c: Client, args: list[bytes]) -> Any:
    return _addslots(c, args, True)


def _addslotsrange(c: Client, args: list[bytes], delete: bool) -> Any:
    st = _cluster(c)
    if len(args) % 2 == 1:
        raise CommandError(E.WRONG_ARITY % f"cluster|{args[1].decode(errors='replace').lower()}")
    seen: set[int] = set()
    for j in range(2, len(args), 2):
        start = _slot_or_reply(args[j])
        end = _slot_or_reply(args[j + 1])
        if start > end:
            raise CommandError(f"ERR start slot number {start} is greater than end slot "
                               f"number {end}")
        _check_assignments(st, seen, delete, start, end)
    _update_slots(st, seen, delete)
    return OK


@_sub("addslotsrange", -4, "admin stale no_async_loading")
def cluster_addslotsrange(c: Client, args: list[bytes]) -> Any:
    return _addslotsrange(c, args, False)


@_sub("delslotsrange", -4, "admin stale no_async_loading")
def cluster_delslotsrange(c: Client, args: list[bytes]) -> Any:
    return _addslotsrange(c, args, True)


def _setslot_target(st: cl.Cluster, arg: bytes, unknown: str) -> cl.ClusterNode:
    """The master node named by ``arg`` (``unknown``: the error's words when none is)."""
    n = st.lookup(arg)
    if n is None:
        raise CommandError(f"ERR {unknown} {_node_arg(arg)}")
    if n.is_slave:
        raise CommandError("ERR Target node is not a master")
    return n


@_sub("setslot", -4, "admin stale no_async_loading")
def cluster_setslot(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    me = st.myself
    if me.is_slave:
        raise CommandError("ERR Please use SETSLOT only with masters.")
    slot = _slot_or_reply(args[2])
    action = args[3].lower()
    if action == b"migrating" and len(args) == 5:
        if st.slots[slot] is not me:
            raise CommandError(f"ERR I'm not the owner of hash slot {slot}")
        st.migrating[slot] = _setslot_target(st, args[4], "I don't know about node")
    elif action == b"importing" and len(args) == 5:
        if st.slots[slot] is me:
            raise CommandError(f"ERR I'm already the owner of hash slot {slot}")
        st.importing[slot] = _setslot_target(st, args[4], "I don't know about node")
    elif action == b"stable" and len(args) == 4:
        st.importing.pop(slot, None)
        st.migrating.pop(slot, None)
    elif action == b"node" and len(args) == 5:
        n = _setslot_target(st, args[4], "Unknown node")
        if st.slots[slot] is me and n is not me and st.count_keys_in_slot(slot) != 0:
            raise CommandError(f"ERR Can't assign hashslot {slot} to a different node while I "
                               f"still hold keys for this hash slot.")
        if st.count_keys_in_slot(slot) == 0 and slot in st.migrating:
            del st.migrating[slot]
        slot_was_mine = st.slots[slot] is me
        st.del_slot(slot)
        st.add_slot(n, slot)
        st.owner_not_claiming.discard(slot)
        if (slot_was_mine and n is not me and me.numslots == 0
                and st.config["cluster-allow-replica-migration"]):
            st.log.warning(f"Configuration change detected. Reconfiguring myself as a replica "
                           f"of {n.name}")
            st.set_master(n)
            st.do_before_sleep(cl.TODO_SAVE_CONFIG | cl.TODO_UPDATE_STATE
                               | cl.TODO_FSYNC_CONFIG)
        if n is me and slot in st.importing:
            if st.bump_epoch_without_consensus():
                st.log.warning(f"configEpoch updated after importing slot {slot}")
            del st.importing[slot]
            st.broadcast_pong(False)
    else:
        raise CommandError("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try "
                           "CLUSTER HELP")
    st.do_before_sleep(cl.TODO_SAVE_CONFIG | cl.TODO_UPDATE_STATE)
    return OK


@_sub("bumpepoch", 2, "admin stale no_async_loading")
def cluster_bumpepoch(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    bumped = st.bump_epoch_without_consensus()
    return Simple(b"%s %d" % (b"BUMPED" if bumped else b"STILL", st.myself.config_epoch))


@_sub("info", 2, "stale")
def cluster_info(c: Client, args: list[bytes]) -> Any:
    return Verbatim(_cluster(c).info_text().encode())


@_sub("saveconfig", 2, "admin stale no_async_loading")
def cluster_saveconfig(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    if st.save_config(True):
        return OK
    raise CommandError("ERR error saving the cluster node config: Input/output error")


@_sub("keyslot", 3, "stale")
def cluster_keyslot(c: Client, args: list[bytes]) -> Any:
    _cluster(c)
    return cl.key_hash_slot(args[2])


@_sub("countkeysinslot", 3, "stale")
def cluster_countkeysinslot(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    slot = parse_int(args[2])
    if not 0 <= slot < cl.CLUSTER_SLOTS:
        raise CommandError("ERR Invalid slot")
    return st.count_keys_in_slot(slot)


@_sub("getkeysinslot", 4, "stale")
def cluster_getkeysinslot(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    slot = parse_int(args[2])
    maxkeys = parse_int(args[3])
    if not 0 <= slot < cl.CLUSTER_SLOTS or maxkeys < 0:
        raise CommandError("ERR Invalid slot or number of keys")
    return st.keys_in_slot(slot, maxkeys)


@_sub("forget", 3, "admin stale no_async_loading")
def cluster_forget(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    n = st.lookup(args[2])
    if n is None:
        raise CommandError(f"ERR Unknown node {_node_arg(args[2])}")
    if n is st.myself:
        raise CommandError("ERR I tried hard but I can't forget myself...")
    if st.myself.is_slave and st.myself.slaveof is n:
        raise CommandError("ERR Can't forget my master!")
    st.blacklist_add(n)
    st.del_node(n)
    st.do_before_sleep(cl.TODO_UPDATE_STATE | cl.TODO_SAVE_CONFIG)
    return OK


@_sub("replicate", 3, "admin stale no_async_loading")
def cluster_replicate(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    n = st.lookup(args[2])
    if n is None:
        raise CommandError(f"ERR Unknown node {_node_arg(args[2])}")
    me = st.myself
    if n is me:
        raise CommandError("ERR Can't replicate myself")
    if n.is_slave:
        raise CommandError("ERR I can only replicate a master, not a replica.")
    if me.is_master and (me.numslots != 0 or len(st.db0().data) != 0):
        raise CommandError("ERR To set a master the node must be empty and without assigned "
                           "slots.")
    st.set_master(n)
    st.do_before_sleep(cl.TODO_UPDATE_STATE | cl.TODO_SAVE_CONFIG)
    return OK


def _replicas(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    n = st.lookup(args[2])
    if n is None:
        raise CommandError(f"ERR Unknown node {_node_arg(args[2])}")
    if n.is_slave:
        raise CommandError("ERR The specified node is not a master")
    return [st.node_description(s).encode() for s in n.slaves]


@_sub("replicas", 3, "admin stale")
def cluster_replicas(c: Client, args: list[bytes]) -> Any:
    return _replicas(c, args)


@_sub("slaves", 3, "admin stale")
def cluster_slaves(c: Client, args: list[bytes]) -> Any:
    return _replicas(c, args)


@_sub("count-failure-reports", 3, "admin stale")
def cluster_count_failure_reports(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    n = st.lookup(args[2])
    if n is None:
        raise CommandError(f"ERR Unknown node {_node_arg(args[2])}")
    return st.failure_reports_count(n)


@_sub("failover", -2, "admin stale no_async_loading")
def cluster_failover(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    if len(args) > 3:
        raise _syntax(args)
    force = takeover = False
    if len(args) == 3:
        opt = args[2].lower()
        if opt == b"force":
            force = True
        elif opt == b"takeover":
            takeover = force = True
        else:
            raise CommandError(E.SYNTAX)
    me = st.myself
    if me.is_master:
        raise CommandError("ERR You should send CLUSTER FAILOVER to a replica")
    if me.slaveof is None:
        raise CommandError("ERR I'm a replica but my master is unknown to me")
    if not force and (me.slaveof.failed or me.slaveof.link is None):
        raise CommandError("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
    st.reset_manual_failover()
    st.mf_end = cl.mstime() + cl.MF_TIMEOUT
    if takeover:
        st.log.warning("Taking over the master (user request).")
        st.bump_epoch_without_consensus()
        st.failover_replace_your_master()
    elif force:
        st.log.warning("Forced failover user request accepted.")
        st.mf_can_start = True
    else:
        st.log.warning("Manual failover user request accepted.")
        st.send_mf_start(me.slaveof)
    return OK


@_sub("set-config-epoch", 3, "admin stale no_async_loading")
def cluster_set_config_epoch(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    epoch = parse_int(args[2])
    if epoch < 0:
        raise CommandError(f"ERR Invalid config epoch specified: {epoch}")
    if len(st.nodes) > 1:
        raise CommandError("ERR The user can assign a config epoch only when the node does "
                           "not know any other node.")
    if st.myself.config_epoch != 0:
        raise CommandError("ERR Node config epoch is already non-zero")
    st.myself.config_epoch = epoch
    st.log.warning(f"configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH")
    if st.current_epoch < epoch:
        st.current_epoch = epoch
    st.do_before_sleep(cl.TODO_UPDATE_STATE | cl.TODO_SAVE_CONFIG)
    return OK


@_sub("reset", -2, "admin noscript stale")
def cluster_reset(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    if len(args) > 3:
        raise _syntax(args)
    hard = False
    if len(args) == 3:
        opt = args[2].lower()
        if opt == b"hard":
            hard = True
        elif opt != b"soft":
            raise CommandError(E.SYNTAX)
    if st.myself.is_master and len(c.db.data) != 0:
        raise CommandError("ERR CLUSTER RESET can't be called with master nodes containing "
                           "keys")
    st.reset(hard)
    return OK


@_sub("links", 2, "stale")
def cluster_links(c: Client, args: list[bytes]) -> Any:
    st = _cluster(c)
    out = []
    for node in list(st.nodes.values()):
        for link in (node.link, node.inbound_link):
            if link is None:
                continue
            used = link.send_buffer_used()
            events = "r" if link.transport is not None else ""
            if used or (link.transport is None and not link.inbound):
                events += "w"
            out.append(Map([
                (b"direction", b"from" if link.inbound else b"to"),
                (b"node", node.name.encode()),
                (b"create-time", link.ctime),
                (b"events", events.encode()),
                (b"send-buffer-allocated", max(used, 0)),
                (b"send-buffer-used", used),
            ]))
    return out


# ============================================================================ per connection


@command("readonly", 1, "loading stale fast", group="cluster")
def readonly(c: Client, args: list[bytes]) -> Any:
    _cluster(c)
    c.flags.add("readonly")
    return OK


@command("readwrite", 1, "loading stale fast", group="cluster")
def readwrite(c: Client, args: list[bytes]) -> Any:
    _cluster(c)
    c.flags.discard("readonly")
    return OK


@command("asking", 1, "fast", group="cluster")
def asking(c: Client, args: list[bytes]) -> Any:
    _cluster(c)
    c.flags.add("asking")
    return OK


def _restore_handler() -> Any:
    from . import persistence

    return persistence.restore


@command("restore-asking", -4, "write denyoom asking", keys=(1, 1, 1), group="server")
def restore_asking(c: Client, args: list[bytes]) -> Any:
    return _restore_handler()(c, args)


# ============================================================================ MIGRATE


class _MigrateConn:
    """A cached connection to a MIGRATE target (``migrateCachedSocket``)."""

    def __init__(self, reader: asyncio.StreamReader | None, writer: asyncio.StreamWriter | None,
                 sock: socket.socket | None = None):
        self.reader = reader
        self.writer = writer
        self.sock = sock
        self.sbuf = b""
        self.last_dbid = -1
        self.last_use = time.time()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass


class _IOError(Exception):
    def __init__(self, what: str, timed_out: bool = False):
        super().__init__(what)
        self.what = what
        self.timed_out = timed_out


class _AsyncIO:
    """Stream I/O for MIGRATE on the event loop."""

    def __init__(self, timeout: float):
        self.timeout = timeout

    async def connect(self, host: str, port: int) -> _MigrateConn:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), self.timeout)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        return _MigrateConn(reader, writer)

    async def write(self, conn: _MigrateConn, data: bytes) -> None:
        assert conn.writer is not None
        try:
            conn.writer.write(data)
            await asyncio.wait_for(conn.writer.drain(), self.timeout)
        except asyncio.TimeoutError:
            raise _IOError("writing", True) from None
        except (OSError, ConnectionError):
            raise _IOError("writing") from None

    async def readline(self, conn: _MigrateConn) -> bytes:
        assert conn.reader is not None
        try:
            line = await asyncio.wait_for(conn.reader.readline(), self.timeout)
        except asyncio.TimeoutError:
            raise _IOError("reading", True) from None
        except (OSError, ConnectionError, ValueError):
            raise _IOError("reading") from None
        if not line:
            raise _IOError("reading")
        return line.rstrip(b"\r\n")


class _SyncIO:
    """Blocking socket I/O for MIGRATE inside MULTI/EXEC (Redis' MIGRATE always blocks);
    its coroutines never suspend, so they are driven with a single ``send``."""

    def __init__(self, timeout: float):
        self.timeout = timeout

    async def connect(self, host: str, port: int) -> _MigrateConn:
        sock = socket.create_connection((host, port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _MigrateConn(None, None, sock)

    async def write(self, conn: _MigrateConn, data: bytes) -> None:
        assert conn.sock is not None
        try:
            conn.sock.sendall(data)
        except socket.timeout:
            raise _IOError("writing", True) from None
        except OSError:
            raise _IOError("writing") from None

    async def readline(self, conn: _MigrateConn) -> bytes:
        assert conn.sock is not None
        while b"\r\n" not in conn.sbuf:
            try:
                data = conn.sock.recv(65536)
            except socket.timeout:
                raise _IOError("reading", True) from None
            except OSError:
                raise _IOError("reading") from None
            if not data:
                raise _IOError("reading")
            conn.sbuf += data
        line, conn.sbuf = conn.sbuf.split(b"\r\n", 1)
        return line


def _migrate_cache(srv: Server) -> dict[str, _MigrateConn]:
    st = getattr(srv, "cluster", None)
    if st is not None:
        return st.migrate_sockets
    cache = srv.__dict__.get("_migrate_sockets")
    if cache is None:
        cache = srv.__dict__["_migrate_sockets"] = {}
    return cache


async def _migrate(c: Client, args: list[bytes], keys: list[bytes], values: list[Any],
                   dbid: int, timeout_ms: int, copy: bool, replace: bool,
                   auth: list[bytes] | None, io: Any) -> Any:
    srv = c.server
    cache = _migrate_cache(srv)
    host = args[1].decode(errors="replace")
    name = f"{host}:{args[2].decode(errors='replace')}"
    db = c.db
    cluster_mode = getattr(srv, "cluster", None) is not None
    may_retry = True
    while True:
        conn = cache.get(name)
        if conn is None:
            try:
                conn = await io.connect(host, int(args[2]))
            except (OSError, asyncio.TimeoutError, ValueError):
                raise CommandError("IOERR error or timeout connecting to the client") from None
            cache[name] = conn
        conn.last_use = time.time()
        parts: list[bytes] = []
        if auth:
            parts.append(encode_command([b"AUTH", *auth]))
        select = conn.last_dbid != dbid
        if select:
            parts.append(encode_command([b"SELECT", b"%d" % dbid]))
        sent_keys: list[bytes] = []
        sent_values: list[Any] = []
        cfg = srv.config
        for key, value in zip(keys, values):
            when = db.expires.get(key)
            ttl = 0
            if when is not None:
                ttl = when - now_ms()
                if ttl < 0:
                    continue
                if ttl < 1:
                    ttl = 1
            sent_keys.append(key)
            sent_values.append(value)
            payload = rdb.dump_value(value, compress=cfg["rdbcompression"],
                                     limits=rdb.Limits.from_config(cfg))
            argv = [b"RESTORE-ASKING" if cluster_mode else b"RESTORE", key, b"%d" % ttl,
                    payload]
            if replace:
                argv.append(b"REPLACE")
            parts.append(encode_command(argv))
        error_from_target = None
        socket_error = None
        deleted: list[bytes] = []
        try:
            await io.write(conn, b"".join(parts))
            auth_reply = await io.readline(conn) if auth else b"+OK"
            select_reply = await io.readline(conn) if select else b"+OK"
            j = 0
            for j, key in enumerate(sent_keys):
                try:
                    reply = await io.readline(conn)
                except _IOError as exc:
                    socket_error = exc
                    break
                if auth_reply[:1] == b"-" or select_reply[:1] == b"-" or reply[:1] == b"-":
                    if error_from_target is None:
                        conn.last_dbid = -1
                        if auth_reply[:1] == b"-":
                            err = auth_reply
                        elif select_reply[:1] == b"-":
                            err = select_reply
                        else:
                            err = reply
                        error_from_target = err[1:]
                elif not copy:
                    if db.delete(key):
                        deleted.append(key)
            else:
                j = len(sent_keys)
        except _IOError as exc:
            conn.close()
            cache.pop(name, None)
            if not exc.timed_out and may_retry:
                may_retry = False
                continue
            raise CommandError(f"IOERR error or timeout {exc.what} to target instance") from None
        if deleted:
            srv.propagate(db.index, [b"DEL", *deleted])
        if socket_error is not None:
            conn.close()
            cache.pop(name, None)
            if error_from_target is None and j == 0 and may_retry and not socket_error.timed_out:
                may_retry = False
                continue
            if error_from_target is None:
                raise CommandError(f"IOERR error or timeout {socket_error.what} to target "
                                   f"instance")
        if error_from_target is not None:
            raise CommandError(b"ERR Target instance replied with error: " + error_from_target)
        conn.last_dbid = dbid
        return OK


@command("migrate", -6, "write movablekeys", keys=(3, 3, 1), group="generic")
def migrate(c: Client, args: list[bytes]) -> Any:
    copy = replace = False
    auth: list[bytes] | None = None
    first_key, num_keys = 3, 1
    j = 6
    n = len(args)
    while j < n:
        more = n - 1 - j
        opt = args[j].lower()
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise CommandError(E.SYNTAX)
            j += 1
            auth = [args[j]]
        elif opt == b"auth2":
            if more < 2:
                raise CommandError(E.SYNTAX)
            auth = [args[j + 1], args[j + 2]]
            j += 2
        elif opt == b"keys":
            if args[3]:
                raise CommandError("ERR When using MIGRATE KEYS option, the key argument must "
                                   "be set to the empty string")
            first_key = j + 1
            num_keys = n - j - 1
            break
        else:
            raise CommandError(E.SYNTAX)
        j += 1
    timeout = parse_int(args[5])
    dbid = parse_int(args[4])
    if timeout <= 0:
        timeout = 1000
    keys: list[bytes] = []
    values: list[Any] = []
    for key in args[first_key:first_key + num_keys]:
        value = c.db.lookup(key)
        if value is not None:
            keys.append(key)
            values.append(value)
    if not keys:
        return Simple(b"NOKEY")
    if c.server.in_exec:
        coro = _migrate(c, args, keys, values, dbid, timeout, copy, replace, auth,
                        _SyncIO(timeout / 1000.0))
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value
        raise CommandError("ERR MIGRATE could not complete")  # pragma: no cover
    return Blocked(_migrate(c, args, keys, values, dbid, timeout, copy, replace, auth,
                            _AsyncIO(timeout / 1000.0)))
