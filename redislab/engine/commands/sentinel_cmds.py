"""Sentinel mode's command table: SENTINEL and its subcommands, and the sentinel versions of
INFO, ROLE, PUBLISH and SHUTDOWN.

Nothing here is registered in the global table: a server in normal mode answers SENTINEL
with the unknown command error, as redis-server does. When a server's config is in
sentinel mode, the init hook below attaches the sentinel state
(:mod:`redislab.engine.sentinel`) and replaces the server's command table by the one
redis-sentinel 7.0 has: PING, AUTH, HELLO, CLIENT, COMMAND, SUBSCRIBE, PSUBSCRIBE,
UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, INFO, ROLE, SHUTDOWN and SENTINEL (every other
command gets Redis' unknown command error), plus the engine's own DEBUG PARTITION (the only
DEBUG subcommand a sentinel has; redis-sentinel has no DEBUG).

For every server (sentinel mode or not) the init hook also registers how DEBUG PARTITION
recognises a sentinel's connection: the name it gives itself (``sentinel-<id>-cmd`` or
``-pubsub``, set with CLIENT SETNAME right after connecting).
"""

from __future__ import annotations

import os
from typing import Any, Callable

from .. import errors as E
from .. import sentinel as S
from ..errors import CommandError
from ..glob import match
from ..resp import NULL_ARRAY, OK, Map, Simple
from ..server import Client, Server
from . import COMMANDS, Command, _flags

SentinelState = S.Sentinel

# commands redis-sentinel shares with redis-server (ACL is not in the engine)
SHARED = ("ping", "auth", "hello", "client", "command", "subscribe", "psubscribe",
          "unsubscribe", "punsubscribe")


def _st(c: Client) -> SentinelState:
    return c.server.sentinel  # type: ignore[attr-defined, no-any-return]


def _text(arg: bytes) -> str:
    return arg.decode("utf-8", "surrogateescape")


def _ll(arg: bytes, msg: str = E.NOT_INTEGER) -> int:
    """``getLongLongFromObjectOrReply``: a strict integer or the error ``msg``."""
    from ..config import string2ll

    value = string2ll(_text(arg))
    if value is None:
        raise CommandError(msg if msg.startswith("ERR") else "ERR " + msg)
    return value


def _master_or_error(st: SentinelState, name: bytes) -> S.Instance:
    ri = st.masters.get(_text(name))
    if ri is None:
        raise CommandError("ERR No such master with that name")
    return ri


def _flush_and_reply(st: SentinelState) -> Any:
    if not st.flush_config():
        raise CommandError("ERR Failed to save config file. Check server logs.")
    return OK


# --------------------------------------------------------------------------- replies


def instance_reply(st: SentinelState, ri: S.Instance) -> Map:
    """One instance as SENTINEL MASTERS / REPLICAS / SENTINELS show it (field names and
    order of ``addReplySentinelRedisInstance``)."""
    now = S.mstime()
    link = ri.link
    names = [("s_down", S.S_DOWN), ("o_down", S.O_DOWN), ("master", S.MASTER),
             ("slave", S.SLAVE), ("sentinel", S.SENTINEL)]
    flags = [n for n, bit in names if ri.flags & bit]
    if link.disconnected:
        flags.append("disconnected")
    for n, bit in (("master_down", S.MASTER_DOWN),
                   ("failover_in_progress", S.FAILOVER_IN_PROGRESS),
                   ("promoted", S.PROMOTED), ("reconf_sent", S.RECONF_SENT),
                   ("reconf_inprog", S.RECONF_INPROG), ("reconf_done", S.RECONF_DONE),
                   ("force_failover", S.FORCE_FAILOVER),
                   ("script_kill_sent", S.SCRIPT_KILL_SENT)):
        if ri.flags & bit:
            flags.append(n)

    def num(n: int) -> bytes:
        return b"%d" % n

    items: list[tuple[bytes, bytes]] = [
        (b"name", ri.name.encode()),
        (b"ip", st.announce_addr(ri.addr).encode()),
        (b"port", num(ri.addr.port)),
        (b"runid", (ri.runid or "").encode()),
        (b"flags", ",".join(flags).encode()),
        (b"link-pending-commands", num(link.pending_commands)),
        (b"link-refcount", num(link.refcount)),
    ]
    if ri.flags & S.FAILOVER_IN_PROGRESS:
        items.append((b"failover-state", S.STATE_NAMES.get(ri.failover_state,
                                                            "unknown").encode()))
    items += [
        (b"last-ping-sent", num(now - link.act_ping_time if link.act_ping_time else 0)),
        (b"last-ok-ping-reply", num(now - link.last_avail_time)),
        (b"last-ping-reply", num(now - link.last_pong_time)),
    ]
    if ri.flags & S.S_DOWN:
        items.append((b"s-down-time", num(now - ri.s_down_since_time)))
    if ri.flags & S.O_DOWN:
        items.append((b"o-down-time", num(now - ri.o_down_since_time)))
    items.append((b"down-after-milliseconds", num(ri.down_after_period)))
    if ri.flags & (S.MASTER | S.SLAVE):
        items += [
            (b"info-refresh", num(now - ri.info_refresh if ri.info_refresh else 0)),
            (b"role-reported", b"master" if ri.role_reported == S.MASTER else b"slave"),
            (b"role-reported-time", num(now - ri.role_reported_time)),
        ]
    if ri.flags & S.MASTER:
        items += [
            (b"config-epoch", num(ri.config_epoch)),
            (b"num-slaves", num(len(ri.slaves))),
            (b"num-other-sentinels", num(len(ri.sentinels))),
            (b"quorum", num(ri.quorum)),
            (b"failover-timeout", num(ri.failover_timeout)),
            (b"parallel-syncs", num(ri.parallel_syncs)),
        ]
        if ri.notification_script:
            items.append((b"notification-script", ri.notification_script.encode()))
        if ri.client_reconfig_script:
            items.append((b"client-reconfig-script", ri.client_reconfig_script.encode()))
    if ri.flags & S.SLAVE:
        items += [
            (b"master-link-down-time", num(ri.master_link_down_time)),
            (b"master-link-status",
             b"ok" if ri.slave_master_link_status == S.LINK_UP else b"err"),
            (b"master-host", (ri.slave_master_host or "?").encode()),
            (b"master-port", num(ri.slave_master_port)),
            (b"slave-priority", num(ri.slave_priority)),
            (b"slave-repl-offset", num(ri.slave_repl_offset)),
            (b"replica-announced", num(ri.replica_announced)),
        ]
    if ri.flags & S.SENTINEL:
        items += [
            (b"last-hello-message", num(now - ri.last_hello_time)),
            (b"voted-leader", (ri.leader or "?").encode()),
            (b"voted-leader-epoch", num(ri.leader_epoch)),
        ]
    return Map(items)


def _instances(st: SentinelState, table: dict[str, S.Instance]) -> list[Map]:
    return [instance_reply(st, ri) for ri in table.values()
            if not (ri.flags & S.SLAVE and not ri.replica_announced)]


# --------------------------------------------------------------------------- SENTINEL

_HELP = [
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
]


def s_help(c: Client, args: list[bytes]) -> Any:
    name = args[0].decode(errors="replace").upper()
    out = [Simple(f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".encode())]
    out += [Simple(x.encode()) for x in _HELP]
    out += [Simple(b"HELP"), Simple(b"    Prints this help.")]
    return out


def s_masters(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    return _instances(st, st.masters)


def s_master(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    return instance_reply(st, _master_or_error(st, args[2]))


def s_replicas(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    return _instances(st, _master_or_error(st, args[2]).slaves)


def s_sentinels(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    return _instances(st, _master_or_error(st, args[2]).sentinels)


def s_myid(c: Client, args: list[bytes]) -> Any:
    return _st(c).myid.encode()


def s_is_master_down_by_addr(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    port = _ll(args[3])
    req_epoch = _ll(args[4])
    ri = st.instance_by_addr_and_runid(st.masters, _text(args[2]), port, None)
    isdown = bool(not st.tilt and ri is not None and ri.flags & S.S_DOWN
                  and ri.flags & S.MASTER)
    leader = None
    leader_epoch = 0
    if ri is not None and ri.flags & S.MASTER and args[5] != b"*":
        leader, leader_epoch = st.vote_leader(ri, req_epoch & (2**64 - 1), _text(args[5]))
    return [1 if isdown else 0, (leader or "*").encode(), leader_epoch]


def s_reset(c: Client, args: list[bytes]) -> Any:
    return _st(c).reset_masters_by_pattern(args[2])


def s_get_master_addr_by_name(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    ri = st.masters.get(_text(args[2]))
    if ri is None:
        return NULL_ARRAY
    addr = st.current_master_addr(ri)
    return [st.announce_addr(addr).encode(), b"%d" % addr.port]


def s_failover(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    ri = _master_or_error(st, args[2])
    if ri.flags & S.FAILOVER_IN_PROGRESS:
        raise CommandError("INPROG Failover already in progress")
    if st.select_slave(ri) is None:
        raise CommandError("NOGOODSLAVE No suitable replica to promote")
    st.log(S.WARNING, f"Executing user requested FAILOVER of '{ri.name}'")
    st.start_failover(ri)
    ri.flags |= S.FORCE_FAILOVER
    return OK


def s_pending_scripts(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    now = S.mstime()
    out = []
    for job in st.scripts_queue:
        items: list[tuple[bytes, Any]] = [
            (b"argv", [a.encode() for a in job["argv"]]),
            (b"flags", b"running" if job["running"] else b"scheduled"),
            (b"pid", b"%d" % job["pid"]),
        ]
        if job["running"]:
            items.append((b"run-time", b"%d" % (now - job["start_time"])))
        else:
            delay = max(0, job["start_time"] - now) if job["start_time"] else 0
            items.append((b"run-delay", b"%d" % delay))
        items.append((b"retry-num", b"%d" % job["retry_num"]))
        out.append(Map(items))
    return out


def s_monitor(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    quorum = _ll(args[5], "Invalid quorum")
    port = _ll(args[4], "Invalid port")
    if quorum <= 0:
        raise CommandError("ERR Quorum must be 1 or greater.")
    if S._resolve(_text(args[3]), not st.resolve_hostnames) is None:
        raise CommandError("ERR Invalid IP address or hostname specified")
    try:
        ri = st.create_instance(_text(args[2]), S.MASTER, _text(args[3]), port, quorum, None)
    except S.SentinelError as exc:
        raise CommandError("ERR " + str(exc)) from None
    reply = _flush_and_reply(st)
    st.event(S.WARNING, "+monitor", ri, "%@ quorum %d", ri.quorum)
    return reply


def s_flushconfig(c: Client, args: list[bytes]) -> Any:
    return _flush_and_reply(_st(c))


def s_remove(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    ri = _master_or_error(st, args[2])
    st.event(S.WARNING, "-monitor", ri, "%@")
    del st.masters[ri.name]
    st.release_instance(ri)
    return _flush_and_reply(st)


def s_ckquorum(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    ri = _master_or_error(st, args[2])
    quorum_ok, majority_ok, usable = st.is_quorum_reachable(ri)
    if quorum_ok and majority_ok:
        return Simple(b"OK %d usable Sentinels. Quorum and failover authorization can be "
                      b"reached" % usable)
    err = f"NOQUORUM {usable} usable Sentinels. "
    if not quorum_ok:
        err += "Not enough available Sentinels to reach the specified quorum for this master"
    if not majority_ok:
        if not quorum_ok:
            err += ". "
        err += "Not enough available Sentinels to reach the majority and authorize a failover"
    raise CommandError(err)


def s_set(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    ri = _master_or_error(st, args[2])
    changes = 0
    j = 3
    n = len(args)
    try:
        while j < n:
            moreargs = n - 1 - j
            option = _text(args[j])
            low = option.lower()
            old_j = j
            redacted = False
            if low in ("down-after-milliseconds", "failover-timeout", "parallel-syncs",
                       "quorum") and moreargs > 0:
                j += 1
                value = _string2ll(args[j])
                if value is None or value <= 0:
                    raise _BadArg(j, option)
                if low == "down-after-milliseconds":
                    ri.down_after_period = value
                    st.propagate_down_after_period(ri)
                elif low == "failover-timeout":
                    ri.failover_timeout = value
                elif low == "parallel-syncs":
                    ri.parallel_syncs = value
                else:
                    ri.quorum = value
                changes += 1
            elif low in ("notification-script", "client-reconfig-script") and moreargs > 0:
                j += 1
                path = _text(args[j])
                if st.deny_scripts_reconfig:
                    raise CommandError(
                        "ERR Reconfiguration of scripts path is denied for security reasons. "
                        "Check the deny-scripts-reconfig configuration directive in your "
                        "Sentinel configuration")
                if path and not os.access(path, os.X_OK):
                    raise CommandError(
                        "ERR Notification script seems non existing or non executable"
                        if low == "notification-script" else
                        "ERR Client reconfiguration script seems non existing or "
                        "non executable")
                if low == "notification-script":
                    ri.notification_script = path or None
                else:
                    ri.client_reconfig_script = path or None
                changes += 1
            elif low == "auth-pass" and moreargs > 0:
                j += 1
                ri.auth_pass = _text(args[j]) or None
                st.drop_instance_connections(ri)
                changes += 1
                redacted = True
            elif low == "auth-user" and moreargs > 0:
                j += 1
                ri.auth_user = _text(args[j]) or None
                st.drop_instance_connections(ri)
                changes += 1
            elif low == "rename-command" and moreargs > 1:
                oldname, newname = _text(args[j + 1]), _text(args[j + 2])
                j += 2
                if not oldname or not newname:
                    raise _BadArg(j - 1 if newname else j, option)
                ri.renamed_commands.pop(oldname.lower(), None)
                if oldname.lower() != newname.lower():
                    ri.renamed_commands[oldname.lower()] = newname
                changes += 1
            elif low == "master-reboot-down-after-period" and moreargs > 0:
                j += 1
                value = _string2ll(args[j])
                if value is None or value < 0:
                    raise _BadArg(j, option)
                ri.master_reboot_down_after_period = value
                changes += 1
            else:
                raise CommandError(f"ERR Unknown option or number of arguments for "
                                   f"SENTINEL SET '{option}'")
            numargs = j - old_j + 1
            if numargs == 2:
                st.event(S.WARNING, "+set", ri, "%@ %s %s", _text(args[old_j]),
                         "******" if redacted else _text(args[old_j + 1]))
            elif numargs == 3:
                st.event(S.WARNING, "+set", ri, "%@ %s %s %s", _text(args[old_j]),
                         _text(args[old_j + 1]), _text(args[old_j + 2]))
            else:
                st.event(S.WARNING, "+set", ri, "%@ %s", _text(args[old_j]))
            j += 1
    except _BadArg as bad:
        if changes:
            st.flush_config()
        raise CommandError(f"ERR Invalid argument '{_text(args[bad.index])}' for "
                           f"SENTINEL SET '{bad.option}'") from None
    except CommandError:
        if changes:
            st.flush_config()
        raise
    if changes:
        return _flush_and_reply(st)
    return OK  # pragma: no cover - the arity (-5) guarantees at least one option


class _BadArg(Exception):
    def __init__(self, index: int, option: str):
        self.index = index
        self.option = option


def _string2ll(arg: bytes) -> int | None:
    from ..config import string2ll

    return string2ll(_text(arg))


def s_config(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    sub = args[2].lower()
    if sub == b"set" and len(args) == 5:
        return _config_set(st, args)
    if sub == b"get" and len(args) == 4:
        return _config_get(st, args[3])
    raise CommandError("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are "
                       "supported.")


def _config_set(st: SentinelState, args: list[bytes]) -> Any:
    option, raw = _text(args[3]), _text(args[4])
    low = option.lower()
    drop = False
    bad = False
    if low in ("resolve-hostnames", "announce-hostnames"):
        yn = S._yesno(raw)
        if yn is None:
            bad = True
        elif low == "resolve-hostnames":
            st.resolve_hostnames = yn
        else:
            st.announce_hostnames = yn
    elif low == "announce-ip":
        st.announce_ip = raw
    elif low == "announce-port":
        value = _string2ll(args[4])
        if value is None or value < 0 or value > 65535:
            bad = True
        else:
            st.announce_port = value
    elif low == "sentinel-user":
        st.sentinel_auth_user = raw or None
        drop = True
    elif low == "sentinel-pass":
        st.sentinel_auth_pass = raw or None
        drop = True
    else:
        raise CommandError(f"ERR Invalid argument '{option}' to SENTINEL CONFIG SET")
    if bad:
        raise CommandError(f"ERR Invalid value '{raw}' to SENTINEL CONFIG SET '{option}'")
    reply = _flush_and_reply(st)
    if drop:
        st.drop_sentinel_connections()
    return reply


def _config_get(st: SentinelState, pattern: bytes) -> Any:
    values = [
        ("resolve-hostnames", b"yes" if st.resolve_hostnames else b"no"),
        ("announce-hostnames", b"yes" if st.announce_hostnames else b"no"),
        ("announce-ip", (st.announce_ip or "").encode()),
        ("announce-port", b"%d" % st.announce_port),
        ("sentinel-user", (st.sentinel_auth_user or "").encode()),
        ("sentinel-pass", (st.sentinel_auth_pass or "").encode()),
    ]
    return Map([(name.encode(), value) for name, value in values
                if match(pattern, name.encode(), nocase=True)])


def s_info_cache(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    now = S.mstime()
    if len(args) > 2:
        chosen: dict[str, S.Instance] = {}
        for a in args[2:]:
            ri = st.masters.get(_text(a))
            if ri is not None:
                chosen[ri.name] = ri
    else:
        chosen = st.masters
    out: list[Any] = []
    for ri in chosen.values():
        out.append(ri.name.encode())
        entries: list[Any] = [[now - ri.info_refresh if ri.info_refresh else 0,
                               ri.info.encode() if ri.info is not None else None]]
        for sri in ri.slaves.values():
            entries.append([now - sri.info_refresh if ri.info_refresh else 0,
                            sri.info.encode() if sri.info is not None else None])
        out.append(entries)
    return out


def s_simulate_failure(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    st.simfailure_flags = 0
    for a in args[2:]:
        low = a.lower()
        if low == b"crash-after-election":
            st.simfailure_flags |= S.SIM_CRASH_AFTER_ELECTION
            st.log(S.WARNING, "Failure simulation: this Sentinel will crash after being "
                              "successfully elected as failover leader")
        elif low == b"crash-after-promotion":
            st.simfailure_flags |= S.SIM_CRASH_AFTER_PROMOTION
            st.log(S.WARNING, "Failure simulation: this Sentinel will crash after promoting "
                              "the selected replica to master")
        elif low == b"help":
            return [b"crash-after-election", b"crash-after-promotion"]
        else:
            raise CommandError("ERR Unknown failure simulation specified")
    return OK


_DEBUG_PARAMS = (
    ("info-period", "info_period"), ("ping-period", "ping_period"),
    ("ask-period", "ask_period"), ("publish-period", "publish_period"),
    ("default-down-after", "default_down_after"),
    ("default-failover-timeout", "default_failover_timeout"),
    ("tilt-trigger", "tilt_trigger"), ("tilt-period", "tilt_period"),
    ("slave-reconf-timeout", "slave_reconf_timeout"),
    ("min-link-reconnect-period", "min_link_reconnect_period"),
    ("election-timeout", "election_timeout"), ("script-max-runtime", "script_max_runtime"),
    ("script-retry-delay", "script_retry_delay"),
)


def s_debug(c: Client, args: list[bytes]) -> Any:
    st = _st(c)
    if len(args) == 2:
        return Map([(name.upper().encode(), b"%d" % getattr(st, attr))
                    for name, attr in _DEBUG_PARAMS])
    by_name = dict(_DEBUG_PARAMS)
    j = 2
    while j < len(args):
        option = _text(args[j])
        attr = by_name.get(option.lower())
        if attr is None or len(args) - 1 - j <= 0:
            raise CommandError(f"ERR Unknown option or number of arguments for "
                               f"SENTINEL DEBUG '{option}'")
        j += 1
        value = _string2ll(args[j])
        if value is None or value <= 0:
            raise CommandError(f"ERR Invalid argument '{_text(args[j])}' for "
                               f"SENTINEL DEBUG '{option}'")
        setattr(st, attr, value)
        j += 1
    return OK


# --------------------------------------------------------------------------- INFO, ROLE, ...

SENTINEL_SECTIONS = ("server", "clients", "cpu", "stats", "sentinel")


def info(c: Client, args: list[bytes]) -> Any:
    """INFO in sentinel mode: only server, clients, cpu, stats and sentinel."""
    from .server_cmds import info_text

    names = {_text(a).lower() for a in args[1:]}
    if not names or names & {"default", "all", "everything"}:
        wanted = set(SENTINEL_SECTIONS)
    else:
        wanted = names & set(SENTINEL_SECTIONS)
    redis_part = [n for n in SENTINEL_SECTIONS if n in wanted and n != "sentinel"]
    text = info_text(c.server, redis_part) if redis_part else ""
    if "sentinel" in wanted:
        st = _st(c)
        if text:
            text += "\r\n"
        text += ("# Sentinel\r\n"
                 f"sentinel_masters:{len(st.masters)}\r\n"
                 f"sentinel_tilt:{1 if st.tilt else 0}\r\n"
                 f"sentinel_tilt_since_seconds:"
                 f"{(S.mstime() - st.tilt_start_time) // 1000 if st.tilt else -1}\r\n"
                 f"sentinel_running_scripts:{st.running_scripts}\r\n"
                 f"sentinel_scripts_queue_length:{len(st.scripts_queue)}\r\n"
                 f"sentinel_simulate_failure_flags:{st.simfailure_flags}\r\n")
        for i, ri in enumerate(st.masters.values()):
            status = "odown" if ri.flags & S.O_DOWN else "sdown" if ri.flags & S.S_DOWN \
                else "ok"
            text += (f"master{i}:name={ri.name},status={status},"
                     f"address={st.announce_addr(ri.addr)}:{ri.addr.port},"
                     f"slaves={len(ri.slaves)},sentinels={len(ri.sentinels) + 1}\r\n")
    return text.encode("utf-8", "replace")


def role(c: Client, args: list[bytes]) -> Any:
    return [b"sentinel", [name.encode() for name in _st(c).masters]]


def publish(c: Client, args: list[bytes]) -> Any:
    """Sentinels receive the other sentinels' hellos as PUBLISH to the hello channel."""
    if args[1] != S.HELLO_CHANNEL.encode():
        raise CommandError("ERR Only HELLO messages are accepted by Sentinel instances.")
    _st(c).process_hello(args[2].decode("utf-8", "replace"))
    return 1


def _shutdown(original: Callable[[Client, list[bytes]], Any]) -> Callable[..., Any]:
    def shutdown(c: Client, args: list[bytes]) -> Any:
        """SHUTDOWN: a sentinel never saves (SAVE becomes NOSAVE, as in Redis)."""
        words = {a.lower() for a in args[1:]}
        if b"save" in words and b"nosave" not in words:
            args = [a if a.lower() != b"save" else b"nosave" for a in args]
        elif not words & {b"save", b"nosave", b"abort"}:
            args = [*args, b"nosave"]
        return original(c, args)
    return shutdown


# --------------------------------------------------------------------------- DEBUG PARTITION

_DEBUG_HELP = [
    "PARTITION <ON|OFF>",
    "    redislab engine only: drop and refuse every link with other nodes (masters,",
    "    replicas, other sentinels) while ON; other clients are still served.",
]


def debug(c: Client, args: list[bytes]) -> Any:
    """DEBUG in sentinel mode: only the engine's PARTITION (and HELP)."""
    from .server_cmds import _help, _protected_allowed, _syntax_subcommand, debug_partition

    if not _protected_allowed(c, "enable-debug-command"):
        raise CommandError(
            'ERR DEBUG command not allowed. If the enable-debug-command option is set to '
            '"local", you can run it from a local connection, otherwise you need to set this '
            'option in the configuration file, and then restart the server.')
    sub = args[1].lower()
    if sub == b"help" and len(args) == 2:
        return _help(args, _DEBUG_HELP)
    if sub == b"partition" and len(args) == 3:
        return debug_partition(c, args)
    raise _syntax_subcommand(args)


def is_sentinel_link(c: Client, cmd: Command | None, args: list[bytes] | None) -> bool:
    """``Server.peer_filters`` entry: a connection from a sentinel (it names itself
    ``sentinel-...`` first thing)."""
    if c.name.startswith(b"sentinel-"):
        return True
    return (cmd is not None and args is not None and cmd.fullname == "client|setname"
            and len(args) > 2 and args[2].startswith(b"sentinel-"))


# --------------------------------------------------------------------------- the table


def _cmd(name: str, handler: Any, arity: int, flags: str, group: str = "sentinel",
         parent: Command | None = None) -> Command:
    return Command(name, handler, arity, _flags(flags), group=group, parent=parent)


def _sentinel_container() -> Command:
    top = Command("sentinel", None, -2, _flags("admin"), group="sentinel", subcommands={})
    subs = [
        ("ckquorum", s_ckquorum, 3), ("config", s_config, -3), ("debug", s_debug, -2),
        ("failover", s_failover, 3), ("flushconfig", s_flushconfig, 2),
        ("get-master-addr-by-name", s_get_master_addr_by_name, 3),
        ("help", s_help, 2), ("info-cache", s_info_cache, -3),
        ("is-master-down-by-addr", s_is_master_down_by_addr, 6),
        ("master", s_master, 3), ("masters", s_masters, 2), ("monitor", s_monitor, 6),
        ("myid", s_myid, 2), ("pending-scripts", s_pending_scripts, 2),
        ("remove", s_remove, 3), ("replicas", s_replicas, 3), ("reset", s_reset, 3),
        ("sentinels", s_sentinels, 3), ("set", s_set, -5),
        ("simulate-failure", s_simulate_failure, -3), ("slaves", s_replicas, 3),
    ]
    assert top.subcommands is not None
    for name, fn, arity in subs:
        flags = "loading stale" if name == "help" else "admin"
        top.subcommands[name.encode()] = _cmd(name, fn, arity, flags, parent=top)
    return top


_TABLE_CACHE: dict[bytes, Command] | None = None


def sentinel_commands() -> dict[bytes, Command]:
    """The commands a sentinel knows (before rename-command is applied)."""
    global _TABLE_CACHE
    if _TABLE_CACHE is None:
        table: dict[bytes, Command] = {}
        for name in SHARED:
            cmd = COMMANDS.get(name.encode())
            if cmd is not None:
                table[name.encode()] = cmd
        table[b"info"] = _cmd("info", info, -1, "loading stale", group="server")
        table[b"role"] = _cmd("role", role, 1, "noscript loading stale fast", group="server")
        table[b"publish"] = _cmd("publish", publish, 3, "pubsub loading stale fast",
                                 group="pubsub")
        original = COMMANDS[b"shutdown"]
        table[b"shutdown"] = _cmd("shutdown", _shutdown(original.handler),  # type: ignore
                                  original.arity, " ".join(sorted(original.flags)),
                                  group="server")
        table[b"sentinel"] = _sentinel_container()
        table[b"debug"] = _cmd("debug", debug, -2, "admin noscript loading stale",
                               group="server")
        _TABLE_CACHE = table
    return _TABLE_CACHE


def _attach(server: Server) -> None:
    """``Server.init_hooks`` entry: a server whose config is in sentinel mode becomes a
    sentinel (state, events, the timer) with sentinel mode's command table. Every server
    refuses sentinels' connections while partitioned (DEBUG PARTITION)."""
    server.peer_filters.append(is_sentinel_link)
    if not getattr(server.config, "sentinel_mode", False):
        return
    S.attach(server)
    table = dict(sentinel_commands())
    for old, new in server.config.renames.items():
        cmd = table.pop(old.encode(), None)
        if cmd is not None and new:
            table[new.lower().encode()] = cmd
    server.commands = table


if _attach not in Server.init_hooks:
    Server.init_hooks.append(_attach)
