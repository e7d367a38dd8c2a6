"""Server commands: INFO, CONFIG, COMMAND, TIME, SHUTDOWN, DEBUG, SLOWLOG, MONITOR, LATENCY,
MEMORY, SWAPDB.

Replies follow Redis 7.0.15 (fields, order, wording). The command metadata (COMMAND INFO,
COMMAND DOCS) comes from ``redislab/engine/data/commands.json``, generated from a real
redis-server by ``tools/gen_command_metadata.py``; the engine answers only for the commands
its table actually has.

Per-server state (latency monitor events, memory peaks, the instantaneous kbps samples,
approximate per-command latency histograms) is attached by an ``init`` hook and kept fresh
by a cron hook, so the dispatch hot path is left alone.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any, Iterable

from .. import errors as E
from ..config import ConfigError
from ..errors import CommandError
from ..keyspace import ZSet
from ..resp import OK, Double, ErrorReply, Map, SetReply, Simple, Verbatim
from ..server import NO_REPLY, Client, Server, adjust_open_files
from . import COMMANDS, Command, command, subcommand
from .util import parse_int

# ============================================================================ helpers


def _help(args: list[bytes], lines: Iterable[str]) -> list[Simple]:
    """``addReplyHelp``: header with the command name as typed (upper-cased), the lines,
    and the HELP footer."""
    name = args[0].decode(errors="replace").upper()
    out = [Simple(f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".encode())]
    out += [Simple(x.encode()) for x in lines]
    out += [Simple(b"HELP"), Simple(b"    Prints this help.")]
    return out


def _syntax_subcommand(args: list[bytes]) -> CommandError:
    """``addReplySubcommandSyntaxError``."""
    return CommandError(
        "ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
        % (args[1][:128].decode(errors="replace"), args[0].decode(errors="replace").upper()))


def _is_local(c: Client) -> bool:
    if c.addr.startswith("unix:") or c.addr in ("?", ""):
        return True
    host = c.addr.rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "::1")


def _protected_allowed(c: Client, name: str) -> bool:
    mode = c.server.config[name]
    return mode == "yes" or (mode == "local" and _is_local(c))


def _human(n: int) -> str:
    """Redis' ``bytesToHuman``."""
    if n < 1024:
        return f"{n}B"
    for unit, div in (("K", 1024), ("M", 1024**2), ("G", 1024**3), ("T", 1024**4),
                      ("P", 1024**5)):
        if n < div * 1024:
            return "%.2f%s" % (n / div, unit)
    return f"{n}B"


def _all_commands(table: dict[bytes, Command]) -> Iterable[Command]:
    """Every command of a table and its subcommands, in table order."""
    for cmd in table.values():
        yield cmd
        subs = subcommands_of(cmd)
        if subs:
            yield from subs.values()


# ============================================================================ per-server state


class _State:
    """Side state one server needs for the commands of this module."""

    def __init__(self, server: Server):
        self.server = server
        self.latency_events: dict[str, _LatencySeries] = {}
        self.startup_rss = _rss()
        self.peak = self.startup_rss
        self.net_samples: deque[tuple[float, int, int]] = deque(maxlen=16)
        self.hist: dict[int, dict[int, int]] = {}  # id(cmd) -> {ns bucket: count}
        self.hist_seen: dict[int, tuple[int, int]] = {}
        self.replid = os.urandom(20).hex()


def state(server: Server) -> _State:
    st = getattr(server, "_server_cmds_state", None)
    if st is None:
        st = _State(server)
        server._server_cmds_state = st  # type: ignore[attr-defined]
    return st


def _init(server: Server) -> None:
    st = state(server)
    if not hasattr(server, "active_expire_enabled"):
        server.active_expire_enabled = True  # type: ignore[attr-defined]
    server.config.on_change(lambda name, value: _apply_config(server, name, value))
    server.cron_hooks.append(lambda: _cron(st))
    if server.config["latency-monitor-threshold"]:
        _install_latency_wrappers()


Server.init_hooks.append(_init)


def _cron(st: _State) -> None:
    srv = st.server
    now = time.time()
    stats = srv.stats
    st.net_samples.append((now, stats.net_input_bytes, stats.net_output_bytes))
    rss = _rss()
    if rss > st.peak:
        st.peak = rss
    if srv.config["latency-tracking"]:
        _sample_latency(st)


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return usage * 1024


# ---------------------------------------------------------------------------- config apply


def _apply_config(server: Server, name: str, value: Any) -> None:
    """Make a CONFIG SET change effective; a refusal is logged as Redis logs it and raised
    as ConfigError (Config then restores every value)."""
    try:
        _apply(server, name, value)
    except ConfigError as exc:
        if server.config.restoring:
            server.log.warning(f"Failed applying restored failed CONFIG SET command: {exc}")
        else:
            server.log.warning(f"Failed applying new configuration. Possibly related to new "
                               f"{name} setting. Restoring previous settings.")
        raise


def _apply(server: Server, name: str, value: Any) -> None:
    if name == "port":
        try:
            server.rebind()
        except OSError:
            raise ConfigError("Unable to listen on this port. Check server logs.") from None
    elif name == "bind":
        try:
            server.rebind()
        except OSError:
            server.log.warning("Failed to bind")
            raise ConfigError("Failed to bind to specified addresses.") from None
    elif name == "maxclients":
        allowed = adjust_open_files(server, value, at_startup=False)
        if allowed != value:
            raise ConfigError(f"The operating system is not able to handle the specified "
                              f"number of clients, try with {allowed}")
    elif name == "maxmemory":
        used = _rss()
        if value and value < used:
            server.log.warning(
                f"WARNING: the new maxmemory value set via CONFIG SET ({value}) is smaller "
                f"than the current memory usage ({used}). This will result in key eviction "
                f"and/or the inability to accept new write commands depending on the "
                f"maxmemory-policy.")
    elif name == "latency-monitor-threshold" and value:
        _install_latency_wrappers()


# ============================================================================ INFO


def _section_server(srv: Server) -> list[tuple[str, Any]]:
    cfg = srv.config
    uname = os.uname()
    now = time.time()
    uptime = int(now - srv.start_time)
    mode = ("cluster" if cfg["cluster-enabled"] else
            "sentinel" if srv.mode == "sentinel" else "standalone")
    supervised = "no"
    if getattr(srv, "supervised", False):
        supervised = {"upstart": "upstart", "systemd": "systemd"}.get(cfg["supervised"],
                                                                       "unknown")
    compiler = platform.python_compiler().split()
    gcc = compiler[1] if len(compiler) > 1 and compiler[0] == "GCC" else "0.0.0"
    gcc = ".".join((gcc.split(".") + ["0", "0"])[:3])
    exe = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else sys.executable
    api = "epoll" if sys.platform.startswith("linux") else "kqueue"
    return [
        ("redis_version", srv.version),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", _build_id()),
        ("redis_mode", mode),
        ("os", f"{uname.sysname} {uname.release} {uname.machine}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", api),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", gcc),
        ("process_id", os.getpid()),
        ("process_supervised", supervised),
        ("run_id", srv.run_id),
        ("tcp_port", srv.port or cfg["tls-port"]),
        ("server_time_usec", int(now * 1_000_000)),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", cfg["hz"]),
        ("configured_hz", cfg["hz"]),
        ("lru_clock", int(now) & 0xFFFFFF),
        ("executable", exe),
        ("config_file", cfg.file or ""),
        ("io_threads_active", 0),
    ]


def _build_id() -> str:
    import hashlib

    from ... import __version__

    return hashlib.sha1(f"redislab-{__version__}".encode()).hexdigest()[:15]


def _section_clients(srv: Server) -> list[tuple[str, Any]]:
    clients = list(srv.clients.values())
    replicas = sum(1 for c in clients if "slave" in c.flags)
    maxin = max((c.parser.pending_bytes() for c in clients), default=0)
    maxout = 0
    for c in clients:
        if c.transport is not None:
            try:
                maxout = max(maxout, c.transport.get_write_buffer_size())
            except (AttributeError, RuntimeError):
                pass
    blocked = sum(1 for c in clients if c.blocked)
    return [
        ("connected_clients", len(clients) - replicas),
        ("cluster_connections", (len(srv.cluster.nodes) - 1) * 2
         if getattr(srv, "cluster", None) is not None else 0),
        ("maxclients", srv.config["maxclients"]),
        ("client_recent_max_input_buffer", maxin),
        ("client_recent_max_output_buffer", maxout),
        ("blocked_clients", blocked),
        ("tracking_clients", 0),
        ("clients_in_timeout_table", blocked),
    ]


def _total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def memory_figures(srv: Server) -> dict[str, int]:
    """The engine's memory numbers. A Python process has no allocator accounting as cheap
    as Redis' zmalloc counter, so ``used`` is the resident set size (which includes the
    interpreter); ``startup`` is the RSS right after start, ``dataset`` what came after."""
    st = state(srv)
    used = _rss()
    if used > st.peak:
        st.peak = used
    clients = list(srv.clients.values())
    normal = sum(c.parser.pending_bytes() for c in clients if "slave" not in c.flags)
    slaves = 0
    for c in clients:
        if "slave" in c.flags and c.transport is not None:
            try:
                slaves += c.transport.get_write_buffer_size()
            except (AttributeError, RuntimeError):
                pass
    startup = min(st.startup_rss, used)
    tables = 0
    for db in srv.keyspace.dbs:
        if db.data:
            tables += _dict_overhead(len(db.data)) + 24 * len(db.data)
        if db.expires:
            tables += _dict_overhead(len(db.expires)) + 24 * len(db.expires)
    overhead = min(used, startup + normal + slaves + tables)
    dataset = max(0, used - overhead)
    return {"used": used, "rss": used, "peak": st.peak, "startup": startup,
            "overhead": overhead, "dataset": dataset, "clients_normal": normal,
            "clients_slaves": slaves}


def _section_memory(srv: Server) -> list[tuple[str, Any]]:
    m = memory_figures(srv)
    cfg = srv.config
    used, peak = m["used"], m["peak"]
    net = used - m["startup"]
    dataset_perc = m["dataset"] * 100.0 / net if net > 0 else 0.0
    total = _total_system_memory()
    maxmemory = cfg["maxmemory"]
    return [
        ("used_memory", used),
        ("used_memory_human", _human(used)),
        ("used_memory_rss", m["rss"]),
        ("used_memory_rss_human", _human(m["rss"])),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", _human(peak)),
        ("used_memory_peak_perc", "%.2f%%" % (used * 100.0 / peak if peak else 100.0)),
        ("used_memory_overhead", m["overhead"]),
        ("used_memory_startup", m["startup"]),
        ("used_memory_dataset", m["dataset"]),
        ("used_memory_dataset_perc", "%.2f%%" % dataset_perc),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", m["rss"]),
        ("total_system_memory", total),
        ("total_system_memory_human", _human(total)),
        ("used_memory_lua", 0),
        ("used_memory_vm_eval", 0),
        ("used_memory_lua_human", "0B"),
        ("used_memory_scripts_eval", 0),
        ("number_of_cached_scripts", 0),
        ("number_of_functions", 0),
        ("number_of_libraries", 0),
        ("used_memory_vm_functions", 0),
        ("used_memory_vm_total", 0),
        ("used_memory_vm_total_human", "0B"),
        ("used_memory_functions", 0),
        ("used_memory_scripts", 0),
        ("used_memory_scripts_human", "0B"),
        ("maxmemory", maxmemory),
        ("maxmemory_human", _human(maxmemory)),
        ("maxmemory_policy", cfg["maxmemory-policy"]),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "1.00"),
        ("allocator_rss_bytes", 0),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", "1.00"),
        ("mem_fragmentation_bytes", 0),
        ("mem_not_counted_for_evict", 0),
        ("mem_replication_backlog", 0),
        ("mem_total_replication_buffers", m["clients_slaves"]),
        ("mem_clients_slaves", m["clients_slaves"]),
        ("mem_clients_normal", m["clients_normal"]),
        ("mem_cluster_links", 0),
        ("mem_aof_buffer", 0),
        ("mem_allocator", "libc"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ]


def _section_persistence(srv: Server) -> list[tuple[str, Any]]:
    """Used until the persistence module provides its own section."""
    task = srv.bgsave_task
    in_progress = int(task is not None and not task.done())
    return [
        ("loading", int(bool(srv.loading))),
        ("async_loading", 0),
        ("current_cow_peak", 0),
        ("current_cow_size", 0),
        ("current_cow_size_age", 0),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", 0),
        ("current_save_keys_total", 0),
        ("rdb_changes_since_last_save", max(0, srv.keyspace.dirty - srv.dirty_at_save)),
        ("rdb_bgsave_in_progress", in_progress),
        ("rdb_last_save_time", srv.last_save),
        ("rdb_last_bgsave_status", srv.last_bgsave_status),
        ("rdb_last_bgsave_time_sec", -1),
        ("rdb_current_bgsave_time_sec", -1),
        ("rdb_saves", 0),
        ("rdb_last_cow_size", 0),
        ("rdb_last_load_keys_expired", 0),
        ("rdb_last_load_keys_loaded", 0),
        ("aof_enabled", int(bool(srv.config["appendonly"]))),
        ("aof_rewrite_in_progress", 0),
        ("aof_rewrite_scheduled", 0),
        ("aof_last_rewrite_time_sec", -1),
        ("aof_current_rewrite_time_sec", -1),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", 0),
        ("aof_rewrites_consecutive_failures", 0),
        ("aof_last_write_status", "ok"),
        ("aof_last_cow_size", 0),
        ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
    ]


def _kbps(srv: Server) -> tuple[float, float]:
    s = state(srv).net_samples
    if len(s) < 2:
        return 0.0, 0.0
    (t0, i0, o0), (t1, i1, o1) = s[0], s[-1]
    if t1 <= t0:
        return 0.0, 0.0
    return (i1 - i0) / (t1 - t0) / 1024, (o1 - o0) / (t1 - t0) / 1024


def _section_stats(srv: Server) -> list[tuple[str, Any]]:
    st = srv.stats
    ks = srv.keyspace
    kin, kout = _kbps(srv)
    return [
        ("total_connections_received", st.total_connections_received),
        ("total_commands_processed", st.total_commands_processed),
        ("instantaneous_ops_per_sec", srv.instantaneous_ops()),
        ("total_net_input_bytes", st.net_input_bytes),
        ("total_net_output_bytes", st.net_output_bytes),
        ("total_net_repl_input_bytes", getattr(st, "net_repl_input_bytes", 0)),
        ("total_net_repl_output_bytes", getattr(st, "net_repl_output_bytes", 0)),
        ("instantaneous_input_kbps", "%.2f" % kin),
        ("instantaneous_output_kbps", "%.2f" % kout),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", st.rejected_connections),
        ("sync_full", st.sync_full),
        ("sync_partial_ok", st.sync_partial_ok),
        ("sync_partial_err", st.sync_partial_err),
        ("expired_keys", ks.expired_keys),
        ("expired_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0),
        ("evicted_keys", ks.evicted_keys),
        ("evicted_clients", 0),
        ("total_eviction_exceeded_time", 0),
        ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", ks.hits),
        ("keyspace_misses", ks.misses),
        ("pubsub_channels", len(srv.channels)),
        ("pubsub_patterns", len(srv.patterns)),
        ("pubsubshard_channels", len(srv.shard_channels)),
        ("latest_fork_usec", 0),
        ("total_forks", 0),
        ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", 0),
        ("tracking_total_items", 0),
        ("tracking_total_prefixes", 0),
        ("unexpected_error_replies", 0),
        ("total_error_replies", st.total_error_replies),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", 0),
        ("total_writes_processed", 0),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", 0),
        ("reply_buffer_expands", 0),
    ]


def _section_replication(srv: Server) -> list[tuple[str, Any]]:
    """A master without replicas; the replication module provides the real section."""
    return [
        ("role", "master"),
        ("connected_slaves", 0),
        ("master_failover_state", "no-failover"),
        ("master_replid", getattr(srv, "repl_id", None) or state(srv).replid),
        ("master_replid2", "0" * 40),
        ("master_repl_offset", 0),
        ("second_repl_offset", -1),
        ("repl_backlog_active", 0),
        ("repl_backlog_size", srv.config["repl-backlog-size"]),
        ("repl_backlog_first_byte_offset", 0),
        ("repl_backlog_histlen", 0),
    ]


def _tv(seconds: float) -> str:
    sec = int(seconds)
    usec = int(round((seconds - sec) * 1_000_000))
    if usec >= 1_000_000:
        sec, usec = sec + 1, usec - 1_000_000
    return f"{sec}.{usec:06d}"


def _section_cpu(srv: Server) -> list[tuple[str, Any]]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = [
        ("used_cpu_sys", _tv(me.ru_stime)),
        ("used_cpu_user", _tv(me.ru_utime)),
        ("used_cpu_sys_children", _tv(ch.ru_stime)),
        ("used_cpu_user_children", _tv(ch.ru_utime)),
    ]
    thread = getattr(resource, "RUSAGE_THREAD", None)
    if thread is not None:
        th = resource.getrusage(thread)
        out += [("used_cpu_sys_main_thread", _tv(th.ru_stime)),
                ("used_cpu_user_main_thread", _tv(th.ru_utime))]
    return out


def command_stats(cmd: Command) -> tuple[int, int, int, int]:
    """(calls, usec, rejected_calls, failed_calls) as Redis would count them: calls this
    module refuses inside its handlers (COMMAND's own subcommand dispatch, DEBUG when it is
    not enabled) are moved from calls/failed_calls to rejected_calls or dropped."""
    calls, usec, rejected, failed = cmd.calls, cmd.usec, cmd.rejected_calls, cmd.failed_calls
    if cmd is _COMMAND_CMD[0]:
        subs = _COMMAND_SUBS.values()
        inner = _CMD_COUNTERS["rejected_sub"] + _CMD_COUNTERS["rejected_unknown"]
        calls -= sum(s.calls for s in subs) + inner
        usec -= sum(s.usec for s in subs)
        failed -= sum(s.failed_calls for s in subs) + inner
    moved = _IN_HANDLER_REJECTS.get(id(cmd), 0)
    if moved:
        calls -= moved
        failed -= moved
        rejected += moved
    return max(0, calls), max(0, usec), rejected, max(0, failed)


_IN_HANDLER_REJECTS: dict[int, int] = {}


def _safe_info(name: str) -> str:
    return name.translate(str.maketrans("#:\n\r", "____"))


def _section_commandstats(srv: Server) -> list[str]:
    lines = []
    for cmd in _all_commands(srv.commands):
        calls, usec, rejected, failed = command_stats(cmd)
        if calls or failed or rejected:
            per = usec / calls if calls else 0.0
            lines.append(f"cmdstat_{_safe_info(cmd.fullname)}:calls={calls},usec={usec},"
                         f"usec_per_call={per:.2f},rejected_calls={rejected},"
                         f"failed_calls={failed}")
    return lines


def _section_errorstats(srv: Server) -> list[str]:
    return [f"errorstat_{_safe_info(code)}:count={n}"
            for code, n in sorted(srv.stats.errors.items(), key=lambda kv: kv[0].encode())]


def _pct_label(p: float) -> str:
    text = "%f" % p
    return text.rstrip("0").rstrip(".") if "." in text else text


def _section_latencystats(srv: Server) -> list[str]:
    if not srv.config["latency-tracking"]:
        return []
    st = state(srv)
    _sample_latency(st)
    pcts = srv.config["latency-tracking-info-percentiles"]
    lines = []
    for cmd in _all_commands(srv.commands):
        h = st.hist.get(id(cmd))
        if not h:
            continue
        parts = [f"p{_pct_label(p)}={_hist_percentile(h, p) / 1000.0:.3f}" for p in pcts]
        lines.append(f"latency_percentiles_usec_{_safe_info(cmd.fullname)}:" + ",".join(parts))
    return lines


def _section_cluster(srv: Server) -> list[tuple[str, Any]]:
    return [("cluster_enabled", int(bool(srv.config["cluster-enabled"])))]


def avg_ttl(db: Any) -> int:
    """The average TTL (ms) of the keys with an expire, estimated on a sample as Redis'
    active expire cycle does."""
    exp = db.expires
    if not exp:
        return 0
    now = int(time.time() * 1000)
    if len(exp) <= 1000:
        ttls = [t - now for t in exp.values() if t > now]
    else:
        import itertools

        ttls = [t - now for t in itertools.islice(exp.values(), 1000) if t > now]
    return int(sum(ttls) / len(ttls)) if ttls else 0


def _section_keyspace(srv: Server) -> list[str]:
    lines = []
    for db in srv.keyspace.dbs:
        keys, vkeys = len(db.data), len(db.expires)
        if keys or vkeys:
            lines.append(f"db{db.index}:keys={keys},expires={vkeys},avg_ttl={avg_ttl(db)}")
    return lines


_SECTIONS = (
    ("server", "Server", _section_server),
    ("clients", "Clients", _section_clients),
    ("memory", "Memory", _section_memory),
    ("persistence", "Persistence", _section_persistence),
    ("stats", "Stats", _section_stats),
    ("replication", "Replication", _section_replication),
    ("cpu", "CPU", _section_cpu),
    ("modules", "Modules", lambda srv: []),
    ("commandstats", "Commandstats", _section_commandstats),
    ("errorstats", "Errorstats", _section_errorstats),
    ("latencystats", "Latencystats", _section_latencystats),
    ("cluster", "Cluster", _section_cluster),
    ("keyspace", "Keyspace", _section_keyspace),
)
DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication",
                    "cpu", "module_list", "errorstats", "cluster", "keyspace")


def _lines(items: list[Any]) -> list[str]:
    return [x if isinstance(x, str) else f"{x[0]}:{x[1]}" for x in items]


def info_text(srv: Server, names: list[str]) -> str:
    """The INFO text for the requested section names (Redis' genRedisInfoString)."""
    wanted: set[str] = set()
    all_sections = False
    if not names:
        wanted.update(DEFAULT_SECTIONS)
    for n in names:
        low = n.lower()
        if low == "default":
            wanted.update(DEFAULT_SECTIONS)
        elif low == "all":
            all_sections = True
        elif low == "everything":
            all_sections = True
        else:
            wanted.add(low)
    parts = []
    for key, title, fn in _SECTIONS:
        selected = all_sections or key in wanted or (key == "modules" and "module_list" in wanted)
        if not selected:
            continue
        provider = srv.info_providers.get(key)
        items = provider() if provider is not None else fn(srv)
        body = "".join(line + "\r\n" for line in _lines(list(items)))
        parts.append(f"# {title}\r\n{body}")
    return "\r\n".join(parts)


@command("info", -1, "loading stale", group="server")
def info(c: Client, args: list[bytes]) -> Any:
    names = [a.decode(errors="replace") for a in args[1:]]
    text = info_text(c.server, names).encode("utf-8", "replace")
    return Verbatim(text)


# ============================================================================ CONFIG


@subcommand("config", "get", -3, "admin noscript loading stale")
def config_get(c: Client, args: list[bytes]) -> Any:
    pats = [a.decode("utf-8", "surrogateescape") for a in args[2:]]
    pairs = c.server.config.get_matching(*pats)
    return Map([(k.encode("utf-8", "surrogateescape"), v.encode("utf-8", "surrogateescape"))
                for k, v in pairs])


@subcommand("config", "set", -4, "admin noscript loading stale")
def config_set(c: Client, args: list[bytes]) -> Any:
    if len(args) % 2:
        raise CommandError(E.SYNTAX)
    srv = c.server
    pairs = [(args[i].decode("utf-8", "surrogateescape"),
              args[i + 1].decode("utf-8", "surrogateescape")) for i in range(2, len(args), 2)]
    try:
        srv.config.set_many(pairs, allow_protected=_protected_allowed(
            c, "enable-protected-configs"), loading=bool(srv.loading))
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    return OK


@subcommand("config", "rewrite", 2, "admin noscript loading stale")
def config_rewrite(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    if not srv.config.file:
        raise CommandError("ERR The server is running without a config file")
    try:
        srv.config.rewrite()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        srv.log.warning(f"CONFIG REWRITE failed: {reason}")
        raise CommandError(f"ERR Rewriting config file: {reason}") from None
    srv.log.warning("CONFIG REWRITE executed with success.")
    return OK


def reset_stats(srv: Server) -> None:
    """CONFIG RESETSTAT: Redis' resetServerStats, command and error tables."""
    srv.stats.reset()
    ks = srv.keyspace
    ks.hits = ks.misses = ks.expired_keys = ks.evicted_keys = 0
    for cmd in _all_commands(srv.commands):
        cmd.calls = cmd.usec = cmd.rejected_calls = cmd.failed_calls = 0
    for cmd in _COMMAND_SUBS.values():
        cmd.calls = cmd.usec = cmd.rejected_calls = cmd.failed_calls = 0
    _CMD_COUNTERS["rejected_sub"] = _CMD_COUNTERS["rejected_unknown"] = 0
    _IN_HANDLER_REJECTS.clear()
    st = state(srv)
    st.hist.clear()
    st.hist_seen.clear()
    st.peak = _rss()
    st.net_samples.clear()


@subcommand("config", "resetstat", 2, "admin noscript loading stale")
def config_resetstat(c: Client, args: list[bytes]) -> Any:
    reset_stats(c.server)
    return OK


@subcommand("config", "help", 2, "loading stale")
def config_help(c: Client, args: list[bytes]) -> Any:
    return _help(args, [
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    ])


# ============================================================================ COMMAND metadata

_DATA = Path(__file__).resolve().parent.parent / "data" / "commands.json"
_META: dict[str, Any] | None = None
_CACHE: dict[tuple[int, int], tuple[Any, Any]] = {}


def _meta() -> dict[str, Any]:
    global _META
    if _META is None:
        try:
            _META = json.loads(_DATA.read_text())["commands"]
        except (OSError, ValueError, KeyError):
            _META = {}
    return _META


def _decode(obj: Any) -> Any:
    if isinstance(obj, str):
        return obj.encode()
    if obj is None or isinstance(obj, int):
        return obj
    if isinstance(obj, list):
        return [_decode(x) for x in obj]
    if "+" in obj:
        return Simple(obj["+"].encode())
    if "~" in obj:
        return SetReply([_decode(x) for x in obj["~"]])
    if "%" in obj:
        return Map([(_decode(k), _decode(v)) for k, v in obj["%"]])
    if "," in obj:
        return Double(float(obj[","]))
    return bool(obj.get("#"))


def _raw_entry(cmd: Command) -> tuple[Any, Any]:
    """The stored (info, docs) JSON of a command or subcommand, or (None, None)."""
    meta = _meta()
    if cmd.parent is None:
        entry = meta.get(cmd.name)
        return (entry["info"], entry["docs"]) if entry else (None, None)
    parent = meta.get(cmd.parent.name)
    if not parent:
        return None, None
    info = None
    subs = parent["info"][9]
    if isinstance(subs, list):
        info = next((s for s in subs if s[0] == cmd.fullname), None)
    docs = None
    for k, v in (parent["docs"] or {}).get("%", []):
        if k == "subcommands":
            docs = next((d for name, d in v["%"] if name == cmd.fullname), None)
    return info, docs


_FLAG_ORDER = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
               "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
               "fast", "no_auth", "may_replicate", "no_mandatory_keys", "no_async_loading",
               "no_multi", "movablekeys", "allow_busy")


def _entries(cmd: Command) -> tuple[Any, Any]:
    """(COMMAND INFO entry, COMMAND DOCS map) for an engine command."""
    subs = subcommands_of(cmd)
    key = (id(cmd), len(subs) if subs else 0)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    raw_info, raw_docs = _raw_entry(cmd)
    if raw_info is not None:
        info = _decode(raw_info[:9])
    else:
        flags = [f for f in _FLAG_ORDER if f in cmd.flags and f != "may_replicate"]
        info = [cmd.fullname.encode(), cmd.arity, SetReply([Simple(f.encode()) for f in flags]),
                cmd.first_key, cmd.last_key, cmd.key_step, SetReply([]), SetReply([]),
                SetReply([])]
    info.append([_entries(s)[0] for s in subs.values()] if subs else SetReply([]))
    if raw_docs is not None:
        items = [(k, v) for k, v in _decode(raw_docs).items if k != b"subcommands"]
    else:
        items = [(b"group", cmd.group.encode())]
    if subs:
        items.append((b"subcommands",
                      Map([(s.fullname.encode(), _entries(s)[1]) for s in subs.values()])))
    docs = Map(items)
    _CACHE[key] = (info, docs)
    return info, docs


def subcommands_of(cmd: Command) -> dict[bytes, Command] | None:
    if cmd is _COMMAND_CMD[0]:
        return _COMMAND_SUBS
    return cmd.subcommands


def lookup_by_name(srv: Server, name: bytes) -> Command | None:
    """``lookupCommandBySds``: ``name`` or ``container|sub`` (strict)."""
    parts = name.lower().split(b"|")
    if len(parts) > 2:
        return None
    base = srv.commands.get(parts[0])
    if base is None or len(parts) == 1:
        return base
    subs = subcommands_of(base)
    return subs.get(parts[1]) if subs else None


def lookup_argv(srv: Server, argv: list[bytes]) -> Command | None:
    """``lookupCommand`` on an argv (a container with more arguments is a subcommand)."""
    base = srv.commands.get(argv[0].lower())
    if base is None:
        return None
    subs = subcommands_of(base)
    if len(argv) == 1 or not subs:
        return base
    return subs.get(argv[1].lower())


def _key_specs(cmd: Command) -> list[dict[str, Any]]:
    raw_info, _ = _raw_entry(cmd)
    specs = []
    if raw_info is None:
        if cmd.first_key > 0:
            specs.append({"flags": [], "bs": ("index", cmd.first_key),
                          "fk": ("range", cmd.last_key - cmd.first_key
                                 if cmd.last_key >= 0 else cmd.last_key,
                                 cmd.key_step or 1, 0)})
        return specs
    for ks in raw_info[8]["~"]:
        d = {k: v for k, v in ks["%"]}
        flags = [f["+"] for f in d["flags"]["~"]]
        bs = {k: v for k, v in d["begin_search"]["%"]}
        bspec = {k: v for k, v in bs["spec"]["%"]}
        fk = {k: v for k, v in d["find_keys"]["%"]}
        fspec = {k: v for k, v in fk["spec"]["%"]}
        if bs["type"] == "index":
            begin: tuple[Any, ...] = ("index", bspec["index"])
        elif bs["type"] == "keyword":
            begin = ("keyword", bspec["keyword"], bspec["startfrom"])
        else:
            begin = ("unknown",)
        if fk["type"] == "range":
            find: tuple[Any, ...] = ("range", fspec["lastkey"], fspec["keystep"], fspec["limit"])
        elif fk["type"] == "keynum":
            find = ("keynum", fspec["keynumidx"], fspec["firstkey"], fspec["keystep"])
        else:
            find = ("unknown",)
        specs.append({"flags": flags, "bs": begin, "fk": find})
    return specs


def get_keys(cmd: Command, argv: list[bytes]) -> list[tuple[int, list[str]]] | None:
    """Key positions (with their flags) of ``argv`` from the key specs, as Redis'
    ``getKeysUsingKeySpecs``; None when the arguments do not fit the specs."""
    argc = len(argv)
    out: list[tuple[int, list[str]]] = []
    for spec in _key_specs(cmd):
        if "not_key" in spec["flags"]:
            continue
        bs, fk = spec["bs"], spec["fk"]
        if bs[0] == "index":
            first = bs[1]
        elif bs[0] == "keyword":
            keyword, startfrom = bs[1].lower().encode(), bs[2]
            start = startfrom if startfrom > 0 else argc + startfrom
            end = argc - 1 if startfrom > 0 else 1
            first = 0
            i = start
            while True:
                if i >= argc or i < 1:
                    break
                if argv[i].lower() == keyword:
                    first = i + 1
                    break
                if i == end:
                    break
                i = i + 1 if start <= end else i - 1
            if not first:
                continue
        else:
            return None
        if fk[0] == "range":
            lastkey, step, limit = fk[1], fk[2], fk[3]
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif fk[0] == "keynum":
            idx, firstkey, step = fk[1], fk[2], fk[3]
            if first + idx >= argc:
                return None
            try:
                numkeys = parse_int(argv[first + idx])
            except CommandError:
                return None
            if numkeys < 0:
                return None
            first += firstkey
            last = first + numkeys - 1
        else:
            return None
        if last >= argc or last < first or first >= argc:
            return None
        i = first
        while i <= last:
            out.append((i, spec["flags"]))
            i += step
        if "incomplete" in spec["flags"]:
            return None
    return out


def _proc_keys(cmd: Command, argv: list[bytes]) -> list[tuple[int, list[str]]] | None:
    """The key finders Redis uses instead of the specs for a few commands (specs flagged
    ``variable_flags`` or ``incomplete``): SET, BITFIELD, MIGRATE."""
    name = cmd.fullname
    if name == "set":
        get = any(a.lower() == b"get" for a in argv[3:])
        return [(1, ["RW", "access", "update"] if get else ["OW", "update"])]
    if name == "bitfield":
        readonly = True
        i = 2
        while i < len(argv):
            rem = len(argv) - i - 1
            arg = argv[i].lower()
            if arg == b"get" and rem >= 2:
                i += 3
            elif arg in (b"set", b"incrby") and rem >= 3:
                readonly = False
                break
            elif arg == b"overflow" and rem >= 1:
                i += 2
            else:
                readonly = False
                break
        return [(1, ["RO", "access"] if readonly else ["RW", "access", "update"])]
    if name == "migrate":
        flags = ["RW", "access", "delete"]
        if len(argv) > 6 and argv[3] == b"":
            for i in range(6, len(argv)):
                if argv[i].lower() == b"keys":
                    return [(j, flags) for j in range(i + 1, len(argv))]
            return []
        return [(3, flags)]
    return None


def _has_keys(cmd: Command) -> bool:
    specs = _key_specs(cmd)
    return any("not_key" not in s["flags"] for s in specs)


# ============================================================================ COMMAND


_COMMAND_SUBS: dict[bytes, Command] = {}
_COMMAND_CMD: list[Command] = []
_CMD_COUNTERS = {"rejected_sub": 0, "rejected_unknown": 0}


def _command_sub(name: str, arity: int, flags: str = "loading stale"):
    def deco(fn: Any) -> Any:
        _COMMAND_SUBS[name.encode()] = Command(
            name, fn, arity, frozenset(flags.split()), group="server",
            parent=_COMMAND_CMD[0] if _COMMAND_CMD else None)
        return fn
    return deco


@command("command", -1, "loading stale", group="server")
def command_(c: Client, args: list[bytes]) -> Any:
    """COMMAND and its subcommands. COMMAND with no argument is a command of its own in
    Redis, so the subcommands are dispatched here (with the same arity and unknown
    subcommand errors as the server's dispatcher) and counted on their own entries."""
    if len(args) == 1:
        return [_entries(cmd)[0] for cmd in c.server.commands.values()]
    sub = _COMMAND_SUBS.get(args[1].lower())
    if sub is None:
        _CMD_COUNTERS["rejected_unknown"] += 1
        raise CommandError(E.UNKNOWN_SUBCOMMAND % (args[1][:128].decode(errors="replace"),
                                                   args[0].decode(errors="replace").upper()))
    if (sub.arity > 0 and len(args) != sub.arity) or len(args) < -sub.arity:
        _CMD_COUNTERS["rejected_sub"] += 1
        sub.rejected_calls += 1
        raise CommandError(E.WRONG_ARITY % sub.fullname)
    t0 = time.perf_counter_ns()
    try:
        return sub.handler(c, args)  # type: ignore[misc]
    except CommandError:
        sub.failed_calls += 1
        raise
    finally:
        sub.calls += 1
        sub.usec += (time.perf_counter_ns() - t0) // 1000


_COMMAND_CMD.append(COMMANDS[b"command"])


@_command_sub("count", 2)
def command_count(c: Client, args: list[bytes]) -> Any:
    return len(c.server.commands)


@_command_sub("info", -2)
def command_info(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    if len(args) == 2:
        return [_entries(cmd)[0] for cmd in srv.commands.values()]
    out = []
    for name in args[2:]:
        cmd = lookup_by_name(srv, name)
        out.append(_entries(cmd)[0] if cmd is not None else None)
    return out


@_command_sub("docs", -2)
def command_docs(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    if len(args) == 2:
        cmds = list(srv.commands.values())
    else:
        cmds = [cmd for cmd in (lookup_by_name(srv, n) for n in args[2:]) if cmd is not None]
    return Map([(cmd.fullname.encode(), _entries(cmd)[1]) for cmd in cmds])


_ACL_CATEGORIES = {"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
                   "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
                   "blocking", "dangerous", "connection", "transaction", "scripting"}


def _categories(cmd: Command) -> set[str]:
    raw_info, _ = _raw_entry(cmd)
    if raw_info is None:
        return set()
    return {x["+"].lstrip("@").lower() for x in raw_info[6]["~"]}


@_command_sub("list", -2)
def command_list(c: Client, args: list[bytes]) -> Any:
    from ..glob import match

    i = 2
    filt: tuple[str, bytes] | None = None
    while i < len(args):
        more = len(args) - 1 - i
        if args[i].lower() == b"filterby" and more == 2:
            kind = args[i + 1].lower()
            if kind not in (b"module", b"aclcat", b"pattern"):
                raise CommandError(E.SYNTAX)
            filt = (kind.decode(), args[i + 2])
            i += 3
        else:
            raise CommandError(E.SYNTAX)
    out = []
    for cmd in _all_commands(c.server.commands):
        name = cmd.fullname.encode()
        if filt is not None:
            kind, arg = filt
            if kind == "module":
                continue
            if kind == "aclcat":
                cat = arg.decode(errors="replace").lower()
                if cat not in _ACL_CATEGORIES or cat not in _categories(cmd):
                    continue
            elif not match(arg, name, nocase=True):
                continue
        out.append(name)
    return out


def _getkeys(c: Client, args: list[bytes], with_flags: bool) -> Any:
    argv = args[2:]
    cmd = lookup_argv(c.server, argv)
    if cmd is None:
        raise CommandError("ERR Invalid command specified")
    if not _has_keys(cmd):
        raise CommandError("ERR The command has no key arguments")
    if (cmd.arity > 0 and cmd.arity != len(argv)) or len(argv) < -cmd.arity:
        raise CommandError("ERR Invalid number of arguments specified for command")
    keys = _proc_keys(cmd, argv)
    if keys is None:
        keys = get_keys(cmd, argv)
    if keys is None:
        raw_info, _ = _raw_entry(cmd)
        flags = [f["+"] for f in raw_info[2]["~"]] if raw_info else []
        if "no_mandatory_keys" in flags:
            return []
        raise CommandError("ERR Invalid arguments specified for command")
    if not with_flags:
        return [argv[pos] for pos, _ in keys]
    return [[argv[pos], SetReply([Simple(f.encode()) for f in flags])] for pos, flags in keys]


@_command_sub("getkeys", -4)
def command_getkeys(c: Client, args: list[bytes]) -> Any:
    return _getkeys(c, args, False)


@_command_sub("getkeysandflags", -4)
def command_getkeysandflags(c: Client, args: list[bytes]) -> Any:
    return _getkeys(c, args, True)


@_command_sub("help", 2)
def command_help(c: Client, args: list[bytes]) -> Any:
    return _help(args, [
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    ])


for _sub in _COMMAND_SUBS.values():
    _sub.parent = _COMMAND_CMD[0]


# ============================================================================ TIME / SHUTDOWN


@command("time", 1, "loading stale fast", group="server")
def time_(c: Client, args: list[bytes]) -> Any:
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]


@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group="server")
def shutdown(c: Client, args: list[bytes]) -> Any:
    flags: set[str] = set()
    abort = False
    for a in args[1:]:
        low = a.lower()
        if low in (b"nosave", b"save", b"now", b"force"):
            flags.add(low.decode())
        elif low == b"abort":
            abort = True
        else:
            raise CommandError(E.SYNTAX)
    if (abort and flags) or {"save", "nosave"} <= flags:
        raise CommandError(E.SYNTAX)
    if abort:
        raise CommandError("ERR No shutdown in progress.")
    srv = c.server
    save = True if "save" in flags else False if "nosave" in flags else None
    if srv.loading:
        save = False
    if srv.shutdown(save=save, force="force" in flags):
        return NO_REPLY
    raise CommandError("ERR Errors trying to SHUTDOWN. Check logs.")


# ============================================================================ DEBUG


_DEBUG_HELP = [
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
] + [
    # engine only (not in Redis): what the engine backend's partition / heal use
    "PARTITION <ON|OFF>",
    "    redislab engine only: drop and refuse every link with other nodes (replication,",
    "    cluster bus, sentinels) while ON; other clients are still served.",
]


def _atoi(raw: bytes) -> int:
    """C ``atoi``: leading digits, 0 when there are none."""
    text = raw.decode(errors="replace").lstrip()
    n = 0
    sign = 1
    i = 0
    if text[:1] in ("-", "+"):
        sign = -1 if text[0] == "-" else 1
        i = 1
    while i < len(text) and text[i].isdigit():
        n = n * 10 + int(text[i])
        i += 1
    return sign * n


def _strtod(raw: bytes) -> float:
    """C ``strtod`` on the longest valid prefix (0 when there is none)."""
    import re

    m = re.match(rb"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)", raw)
    if not m:
        return 0.0
    try:
        return float(m.group(0))
    except ValueError:
        return 0.0


@command("debug", -2, "admin noscript loading stale", group="server")
def debug(c: Client, args: list[bytes]) -> Any:
    if not _protected_allowed(c, "enable-debug-command"):
        key = id(COMMANDS[b"debug"])
        _IN_HANDLER_REJECTS[key] = _IN_HANDLER_REJECTS.get(key, 0) + 1
        raise CommandError(
            'ERR DEBUG command not allowed. If the enable-debug-command option is set to '
            '"local", you can run it from a local connection, otherwise you need to set this '
            'option in the configuration file, and then restart the server.')
    sub = args[1].lower()
    n = len(args)
    srv = c.server
    if sub == b"help" and n == 2:
        return _help(args, _DEBUG_HELP)
    if sub == b"sleep" and n == 3:
        seconds = _strtod(args[2])
        usec = int(seconds * 1_000_000)
        if usec > 0:
            time.sleep(usec / 1_000_000)  # blocks the whole server, as in Redis
        return OK
    if sub == b"set-active-expire" and n == 3:
        srv.active_expire_enabled = bool(_atoi(args[2]))  # type: ignore[attr-defined]
        return OK
    if sub == b"object" and n == 3:
        return _debug_object(c, args[2])
    if sub == b"log" and n == 3:
        srv.log.warning(f"DEBUG LOG: {args[2].decode(errors='replace')}")
        return OK
    if sub == b"error" and n == 3:
        text = args[2].replace(b"\r", b" ").replace(b"\n", b" ")
        srv._count_error(text)
        COMMANDS[b"debug"].failed_calls += 1
        return ErrorReply(text)
    if sub == b"leak" and n == 3:
        return OK
    if sub == b"change-repl-id" and n == 2:
        repl = getattr(srv, "repl", None)
        if repl is not None:
            repl.change_replid()
            repl.clear_replid2()
        else:
            state(srv).replid = os.urandom(20).hex()
        srv.log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
        return OK
    if sub == b"partition" and n == 3:
        return debug_partition(c, args)
    if sub == b"config-rewrite-force-all" and n == 2:
        raise CommandError("ERR CONFIG-REWRITE-FORCE-ALL failed: the redislab engine does not "
                           "support it")
    raise _syntax_subcommand(args)


def debug_partition(c: Client, args: list[bytes]) -> Any:
    """DEBUG PARTITION ON|OFF (engine only, also in sentinel mode): see
    :meth:`~redislab.engine.server.Server.set_partitioned`."""
    word = args[2].lower()
    if word not in (b"on", b"off"):
        raise CommandError("ERR DEBUG PARTITION takes ON or OFF")
    c.server.set_partitioned(word == b"on")
    return OK


def _debug_object(c: Client, key: bytes) -> Any:
    db = c.db
    value = db.data.get(key)
    if value is None:
        raise CommandError(E.NO_SUCH_KEY)
    srv = c.server
    encoding, refcount, idle = b"unknown", 1, 0
    try:
        from . import keys as keys_family

        encoding = keys_family.object_encoding(srv, db, key, value)
        if type(value) is bytes:
            refcount = keys_family.string_encoding(srv, db, key, value)[1]
        idle = int(keys_family.tracker(srv).idle_seconds(db, key))
    except (ImportError, AttributeError, CommandError):
        pass
    serialized = 0
    try:
        from .. import rdb

        serialized = len(rdb.dump_value(value)) - 11
    except (ImportError, AttributeError, TypeError):
        pass
    extra = ""
    if encoding == b"quicklist":
        nodes = _quicklist_nodes(value, srv.config["list-max-listpack-size"])
        total = sum(sz for _, sz in nodes)
        count = len(value)
        extra = (f" ql_nodes:{len(nodes)} ql_avg_node:{count / len(nodes) if nodes else 0:.2f}"
                 f" ql_listpack_max:{srv.config['list-max-listpack-size']}"
                 f" ql_compressed:{int(srv.config['list-compress-depth'] != 0)}"
                 f" ql_uncompressed_size:{total}")
    lru = (int(time.time()) - idle) & 0xFFFFFF
    return Simple((f"Value at:0x{id(value):x} refcount:{refcount} encoding:"
                   f"{encoding.decode()} serializedlength:{serialized} lru:{lru} "
                   f"lru_seconds_idle:{idle}{extra}").encode())


# ============================================================================ SLOWLOG


@subcommand("slowlog", "get", -2, "admin loading stale")
def slowlog_get(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    count = 10
    if len(args) == 3:
        msg = "ERR count should be greater than or equal to -1"
        try:
            count = parse_int(args[2])
        except CommandError:
            raise CommandError(msg) from None
        if count < -1:
            raise CommandError(msg)
        if count == -1:
            count = len(srv.slowlog)
    elif len(args) > 3:
        raise _syntax_subcommand(args)
    out = []
    for entry in list(srv.slowlog)[:count]:
        eid, when, usec, argv, peer, name = entry
        out.append([eid, when, usec, list(argv), peer, name])
    return out


@subcommand("slowlog", "len", 2, "admin loading stale")
def slowlog_len(c: Client, args: list[bytes]) -> Any:
    return len(c.server.slowlog)


@subcommand("slowlog", "reset", 2, "admin loading stale")
def slowlog_reset(c: Client, args: list[bytes]) -> Any:
    c.server.slowlog.clear()
    return OK


@subcommand("slowlog", "help", 2, "loading stale")
def slowlog_help(c: Client, args: list[bytes]) -> Any:
    return _help(args, [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ])


# ============================================================================ MONITOR


@command("monitor", 1, "admin noscript loading stale", group="server")
def monitor(c: Client, args: list[bytes]) -> Any:
    if "slave" in c.flags or "monitor" in c.flags:
        return NO_REPLY
    c.flags.add("monitor")
    c.server.monitors.add(c)
    return OK


# ============================================================================ LATENCY


LATENCY_TS_LEN = 160


class _LatencySeries:
    __slots__ = ("samples", "max")

    def __init__(self) -> None:
        self.samples: deque[list[int]] = deque(maxlen=LATENCY_TS_LEN)  # [time, latency]
        self.max = 0


def latency_add_sample(server: Server, event: str, latency_ms: int) -> None:
    """``latencyAddSample``: one sample per second per event (the highest wins)."""
    series = state(server).latency_events.setdefault(event, _LatencySeries())
    now = int(time.time())
    if latency_ms > series.max:
        series.max = latency_ms
    if series.samples and series.samples[-1][0] == now:
        if latency_ms > series.samples[-1][1]:
            series.samples[-1][1] = latency_ms
        return
    series.samples.append([now, latency_ms])


_WRAPPED: list[bool] = []


def _install_latency_wrappers() -> None:
    """Time every command for the latency monitor (installed the first time a server sets
    latency-monitor-threshold, so servers that never use it pay nothing)."""
    if _WRAPPED:
        return
    _WRAPPED.append(True)
    cmds = list(COMMANDS.values())
    for cmd in list(cmds):
        cmds.extend((subcommands_of(cmd) or {}).values())
    for cmd in cmds:
        if cmd.handler is not None:
            cmd.handler = _timed(cmd, cmd.handler)


def _timed(cmd: Command, fn: Any) -> Any:
    event = "fast-command" if "fast" in cmd.flags else "command"
    perf = time.perf_counter

    def timed(c: Client, args: list[bytes]) -> Any:
        threshold = c.server.config["latency-monitor-threshold"]
        if not threshold:
            return fn(c, args)
        t0 = perf()
        try:
            return fn(c, args)
        finally:
            ms = int((perf() - t0) * 1000)
            if ms >= threshold:
                latency_add_sample(c.server, event, ms)

    timed.__wrapped__ = fn  # type: ignore[attr-defined]
    return timed


@subcommand("latency", "latest", 2, "admin noscript loading stale")
def latency_latest(c: Client, args: list[bytes]) -> Any:
    out = []
    for event, series in state(c.server).latency_events.items():
        t, lat = series.samples[-1] if series.samples else (0, 0)
        out.append([event.encode(), t, lat, series.max])
    return out


@subcommand("latency", "history", 3, "admin noscript loading stale")
def latency_history(c: Client, args: list[bytes]) -> Any:
    series = state(c.server).latency_events.get(args[2].decode(errors="replace"))
    if series is None:
        return []
    return [[t, lat] for t, lat in series.samples]


@subcommand("latency", "reset", -2, "admin noscript loading stale")
def latency_reset(c: Client, args: list[bytes]) -> Any:
    events = state(c.server).latency_events
    if len(args) == 2:
        n = len(events)
        events.clear()
        return n
    resets = 0
    for name in args[2:]:
        if events.pop(name.decode(errors="replace"), None) is not None:
            resets += 1
    return resets


@subcommand("latency", "graph", 3, "admin noscript loading stale")
def latency_graph(c: Client, args: list[bytes]) -> Any:
    event = args[2].decode(errors="replace")
    series = state(c.server).latency_events.get(event)
    if series is None:
        raise CommandError(f"ERR No samples available for event '{event}'")
    lats = [lat for _, lat in series.samples]
    text = (f"{event} - high {max(lats)} ms, low {min(lats)} ms (all time high {series.max} "
            f"ms)\n" + "-" * 80 + "\n")
    now = int(time.time())
    for t, lat in series.samples:
        ago = now - t
        label = (f"{ago}s" if ago < 60 else f"{ago // 60}m" if ago < 3600 else
                 f"{ago // 3600}h" if ago < 86400 else f"{ago // 86400}d")
        text += f"{label:>6} {'#' * max(1, min(60, lat * 60 // max(1, series.max)))} {lat}\n"
    return Verbatim(text.encode())


@subcommand("latency", "doctor", 2, "admin noscript loading stale")
def latency_doctor(c: Client, args: list[bytes]) -> Any:
    return Verbatim(_latency_report(c.server).encode())


def _latency_report(srv: Server) -> str:
    events = state(srv).latency_events
    threshold = srv.config["latency-monitor-threshold"]
    if not events and threshold == 0:
        return ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
                "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" "
                "in order to enable it. If we weren't in a deep space mission I'd suggest to "
                "take a look at https://redis.io/topics/latency-monitor.\n")
    report = ""
    advices = 0
    slowlog_enabled = slowlog_tuning = slowlog_inspect = scheduler = large_objects = False
    now = int(time.time())
    for num, (event, series) in enumerate(events.items(), start=1):
        if num == 1:
            report += ("Dave, I have observed latency spikes in this Redis instance. You don't "
                       "mind talking about it, do you Dave?\n\n")
        lats = [lat for _, lat in series.samples]
        samples = len(lats)
        avg = sum(lats) // samples if samples else 0
        mad = sum(abs(avg - x) for x in lats) // samples if samples else 0
        period = (now - min(t for t, _ in series.samples)) if samples else 0
        period = period or 1
        report += (f"{num}. {event}: {samples} latency spikes (average {avg}ms, mean deviation "
                   f"{mad}ms, period {period / samples if samples else 0:.2f} sec). Worst all "
                   f"time event {series.max}ms.")
        if event == "command":
            slow = srv.config["slowlog-log-slower-than"]
            if slow < 0:
                slowlog_enabled = True
                advices += 1
            elif slow // 1000 > threshold:
                slowlog_tuning = True
                advices += 1
            slowlog_inspect = large_objects = True
            advices += 2
        if event == "fast-command":
            scheduler = True
            advices += 1
        report += "\n"
    if not events and not advices:
        return report + ("Dave, no latency spike was observed during the lifetime of this Redis "
                         "instance, not in the slightest bit. I honestly think you ought to sit "
                         "down calmly, take a stress pill, and think things over.\n")
    if events and not advices:
        return report + ("\nWhile there are latency events logged, I'm not able to suggest any "
                         "easy fix. Please use the Redis community to get some help, providing "
                         "this report in your help request.\n")
    report += "\nI have a few advices for you:\n\n"
    if slowlog_enabled:
        report += (f"- There are latency issues with potentially slow commands you are using. "
                   f"Try to enable the Slow Log Redis feature using the command 'CONFIG SET "
                   f"slowlog-log-slower-than {threshold * 1000}'. If the Slow log is disabled "
                   f"Redis is not able to log slow commands execution for you.\n")
    if slowlog_tuning:
        report += (f"- Your current Slow Log configuration only logs events that are slower "
                   f"than your configured latency monitor threshold. Please use 'CONFIG SET "
                   f"slowlog-log-slower-than {threshold * 1000}'.\n")
    if slowlog_inspect:
        report += ("- Check your Slow Log to understand what are the commands you are running "
                   "which are too slow to execute. Please check "
                   "https://redis.io/commands/slowlog for more information.\n")
    if scheduler:
        report += ("- The system is slow to execute Redis code paths not containing system "
                   "calls. This usually means the system does not provide Redis CPU time to run "
                   "for long periods. You should try to:\n"
                   "  1) Lower the system load.\n"
                   "  2) Use a computer / VM just for Redis if you are running other software "
                   "in the same system.\n"
                   "  3) Check if you have a \"noisy neighbour\" problem.\n"
                   "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic "
                   "latency in your system.\n"
                   "  5) Check if the problem is allocator-related by recompiling Redis with "
                   "MALLOC=libc, if you are using Jemalloc. However this may create "
                   "fragmentation problems.\n")
    if large_objects:
        report += ("- Deleting, expiring or evicting (because of maxmemory policy) large "
                   "objects is a blocking operation. If you have very large objects that are "
                   "often deleted, expired, or evicted, try to fragment those objects into "
                   "multiple smaller objects.\n")
    return report


@subcommand("latency", "histogram", -2, "admin noscript loading stale")
def latency_histogram(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    st = state(srv)
    _sample_latency(st)
    if len(args) == 2:
        cmds = list(_all_commands(srv.commands))
    else:
        cmds = []
        for name in args[2:]:
            cmd = lookup_by_name(srv, name)
            if cmd is None:
                continue
            cmds.append(cmd)
            cmds.extend((subcommands_of(cmd) or {}).values())
    out = []
    for cmd in cmds:
        h = st.hist.get(id(cmd))
        if h:
            out.append((cmd.fullname.encode(), _cdf(h)))
    return Map(out)


@subcommand("latency", "help", 2, "loading stale")
def latency_help(c: Client, args: list[bytes]) -> Any:
    return _help(args, [
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for "
        "the specified command names.",
        "    If no commands are specified then all histograms are replied.",
    ])


# ---------------------------------------------------------------------------- latency tracking
#
# Redis keeps an HDR histogram per command, fed by every call. The engine's dispatch loop
# only keeps calls and total microseconds per command, so the cron samples those counters:
# every tick, the calls made since the previous tick are recorded at their average latency.
# With the interactive rates of a lab that is close to per-call figures.


def _bucket(ns: int) -> int:
    """Quantize to ~2 significant decimal digits like an HDR histogram (the highest value
    equivalent to ``ns``)."""
    if ns < 1024:
        return ns
    shift = ns.bit_length() - 8
    return (((ns >> shift) + 1) << shift) - 1


def _sample_latency(st: _State) -> None:
    srv = st.server
    for cmd in _all_commands(srv.commands):
        calls, usec = cmd.calls, cmd.usec
        if cmd is _COMMAND_CMD[0]:
            calls, usec = command_stats(cmd)[:2]
        seen = st.hist_seen.get(id(cmd))
        if seen is None:
            st.hist_seen[id(cmd)] = (calls, usec)
            seen = (0, 0)
        if calls == seen[0]:
            continue
        if calls < seen[0]:
            seen = (0, 0)
        d_calls = calls - seen[0]
        d_usec = max(0, usec - seen[1])
        st.hist_seen[id(cmd)] = (calls, usec)
        ns = _bucket(max(1, d_usec * 1000 // d_calls))
        h = st.hist.setdefault(id(cmd), {})
        h[ns] = h.get(ns, 0) + d_calls


def _hist_percentile(h: dict[int, int], pct: float) -> int:
    total = sum(h.values())
    target = max(1, math.ceil(total * pct / 100.0))
    seen = 0
    for value in sorted(h):
        seen += h[value]
        if seen >= target:
            return value
    return max(h) if h else 0


def _cdf(h: dict[int, int]) -> Map:
    total = sum(h.values())
    out = []
    bound = 1024
    cumulative = 0
    values = sorted(h)
    i = 0
    prev = 0
    while i < len(values) and bound <= 2**40:
        while i < len(values) and values[i] < bound:
            cumulative += h[values[i]]
            i += 1
        if cumulative > prev:
            out.append(((bound - 1) // 1000, cumulative))
        prev = cumulative
        bound *= 2
    return Map([(b"calls", total), (b"histogram_usec", Map(out))])


# ============================================================================ MEMORY


def _jemalloc_class(n: int) -> int:
    """The jemalloc size class an allocation of ``n`` bytes lands in."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) // 16 * 16
    lg = (n - 1).bit_length()
    step = 1 << (lg - 3)
    return (n + step - 1) // step * step


def _sds_size(n: int) -> int:
    if n < 32:
        hdr = 1
    elif n < 256:
        hdr = 3
    elif n < 65536:
        hdr = 5
    elif n < 2**32:
        hdr = 9
    else:
        hdr = 17
    return _jemalloc_class(hdr + n + 1)


def _is_int(raw: bytes) -> bool:
    if not raw or len(raw) > 20:
        return False
    try:
        parse_int(raw)
        return True
    except CommandError:
        return False


def _lp_entry(raw: bytes) -> int:
    """Bytes of one listpack entry (encoding + data + back length)."""
    if _is_int(raw):
        v = int(raw)
        if 0 <= v <= 127:
            size = 1
        elif -4096 <= v <= 4095:
            size = 2
        elif -(2**15) <= v < 2**15:
            size = 3
        elif -(2**23) <= v < 2**23:
            size = 4
        elif -(2**31) <= v < 2**31:
            size = 5
        else:
            size = 9
    else:
        n = len(raw)
        size = n + (1 if n < 64 else 2 if n < 4096 else 5)
    back = 1 if size <= 127 else 2 if size < 16383 else 3 if size < 2097151 else 4
    return size + back


def _lp_size(items: Iterable[bytes]) -> int:
    return 6 + sum(_lp_entry(x) for x in items) + 1


def _quicklist_nodes(value: Any, fill: int) -> list[tuple[int, int]]:
    """(entries, listpack bytes) of each quicklist node for a list."""
    limit = {-1: 4096, -2: 8192, -3: 16384, -4: 32768, -5: 65536}.get(fill)
    nodes: list[tuple[int, int]] = []
    count, size = 0, 7
    for item in value:
        e = _lp_entry(item)
        full = (count >= fill) if limit is None and fill > 0 else (size + e > (limit or 8192))
        if count and full:
            nodes.append((count, size))
            count, size = 0, 7
        count += 1
        size += e
    if count:
        nodes.append((count, size))
    return nodes


def _dict_overhead(n: int) -> int:
    slots = 4
    while slots < n:
        slots *= 2
    return 56 + 8 * slots


def _sampled(items: list[Any], samples: int, per: Any) -> int:
    take = items[:samples] if samples else items
    if not take:
        return 0
    return int(sum(per(x) for x in take) / len(take) * len(items))


def memory_usage(srv: Server, db: Any, key: bytes, value: Any, samples: int = 5) -> int:
    """An estimate of the bytes Redis 7.0 would use for ``key`` and its value (Redis'
    structures and jemalloc size classes; exact for strings, close for the rest)."""
    robj = 16
    cfg = srv.config
    kind = type(value)
    encoding = b""
    try:
        from . import keys as keys_family

        encoding = keys_family.object_encoding(srv, db, key, value)
    except (ImportError, AttributeError, CommandError):
        pass
    if kind is bytes:
        if encoding == b"int" or (not encoding and _is_int(value)):
            size = robj
        elif encoding == b"embstr" or (not encoding and len(value) <= 44):
            size = _jemalloc_class(robj + 3 + len(value) + 1)
        else:
            size = robj + _sds_size(len(value))
    elif kind is deque:
        nodes = _quicklist_nodes(value, cfg["list-max-listpack-size"])
        size = robj + 40
        if nodes:
            take = nodes[:samples] if samples else nodes
            per = sum(40 + _jemalloc_class(sz) for _, sz in take) / len(take)
            size += int(per * len(nodes))
    elif kind is dict:
        if encoding == b"listpack":
            flat = [x for kv in value.items() for x in kv]
            size = robj + _jemalloc_class(_lp_size(flat))
        else:
            size = robj + _dict_overhead(len(value)) + _sampled(
                list(value.items()), samples, lambda kv: _sds_size(len(kv[0]))
                + _sds_size(len(kv[1])) + 24)
    elif kind is set:
        if encoding == b"intset":
            width = 2
            for m in value:
                v = int(m)
                if not -(2**15) <= v < 2**15:
                    width = max(width, 4 if -(2**31) <= v < 2**31 else 8)
            size = robj + _jemalloc_class(8 + width * len(value))
        else:
            size = robj + _dict_overhead(len(value)) + _sampled(
                list(value), samples, lambda m: _sds_size(len(m)) + 24)
    elif kind is ZSet:
        if encoding == b"listpack":
            flat = []
            for score, member in value.order:
                flat.append(member)
                flat.append(_score_text(score))
            size = robj + _jemalloc_class(_lp_size(flat))
        else:
            size = (robj + 16 + 32 + _dict_overhead(len(value)) + 640 + _sampled(
                [m for _, m in value.order], samples,
                lambda m: _sds_size(len(m)) + 24 + _jemalloc_class(24 + 16)))
    else:
        size = robj + 64
    return size + _sds_size(len(key)) + 24


def _score_text(score: float) -> bytes:
    if score == int(score) and abs(score) < 2**63:
        return b"%d" % int(score)
    return repr(score).encode()


@subcommand("memory", "usage", -3, "readonly", keys=(2, 2, 1))
def memory_usage_cmd(c: Client, args: list[bytes]) -> Any:
    samples = 5
    j = 3
    while j < len(args):
        if args[j].lower() == b"samples" and j + 1 < len(args):
            samples = parse_int(args[j + 1])
            if samples < 0:
                raise CommandError(E.SYNTAX)
            j += 2
        else:
            raise CommandError(E.SYNTAX)
    value = c.db.data.get(args[2])
    if value is None:
        return None
    return memory_usage(c.server, c.db, args[2], value, samples)


def dataset_estimate(srv: Server, sample: int = 64) -> int:
    """Bytes Redis would need for the data set: MEMORY USAGE of a sample of keys in each
    database, scaled to the number of keys."""
    import itertools

    total = 0
    for db in srv.keyspace.dbs:
        n = len(db.data)
        if not n:
            continue
        keys = list(itertools.islice(db.data.items(), sample))
        size = sum(memory_usage(srv, db, k, v) for k, v in keys)
        total += size * n // len(keys)
    return total


@subcommand("memory", "stats", 2, "")
def memory_stats(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    m = memory_figures(srv)
    items: list[tuple[bytes, Any]] = [
        (b"peak.allocated", m["peak"]),
        (b"total.allocated", m["used"]),
        (b"startup.allocated", m["startup"]),
        (b"replication.backlog", 0),
        (b"clients.slaves", m["clients_slaves"]),
        (b"clients.normal", m["clients_normal"]),
        (b"cluster.links", 0),
        (b"aof.buffer", 0),
        (b"lua.caches", 0),
        (b"functions.caches", 0),
    ]
    keys = 0
    for db in srv.keyspace.dbs:
        if not db.data and not db.expires:
            continue
        keys += len(db.data)
        items.append((f"db.{db.index}".encode(), Map([
            (b"overhead.hashtable.main", _dict_overhead(len(db.data)) + 24 * len(db.data)),
            (b"overhead.hashtable.expires", _dict_overhead(len(db.expires))
             + 24 * len(db.expires) if db.expires else 0),
            (b"overhead.hashtable.slot-to-keys", 0),
        ])))
    net = m["used"] - m["startup"]
    items += [
        (b"overhead.total", m["overhead"]),
        (b"keys.count", keys),
        (b"keys.bytes-per-key", net // keys if keys else 0),
        (b"dataset.bytes", m["dataset"]),
        (b"dataset.percentage", Double(m["dataset"] * 100.0 / net if net > 0 else 0.0)),
        (b"peak.percentage", Double(m["used"] * 100.0 / m["peak"] if m["peak"] else 100.0)),
        (b"allocator.allocated", m["used"]),
        (b"allocator.active", m["used"]),
        (b"allocator.resident", m["rss"]),
        (b"allocator-fragmentation.ratio", Double(1.0)),
        (b"allocator-fragmentation.bytes", 0),
        (b"allocator-rss.ratio", Double(1.0)),
        (b"allocator-rss.bytes", 0),
        (b"rss-overhead.ratio", Double(1.0)),
        (b"rss-overhead.bytes", 0),
        (b"fragmentation", Double(1.0)),
        (b"fragmentation.bytes", 0),
    ]
    return Map(items)


@subcommand("memory", "doctor", 2, "")
def memory_doctor(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    m = memory_figures(srv)
    if dataset_estimate(srv) < 5 * 1024 * 1024:
        text = ("Hi Sam, this instance is empty or is using very little memory, my issues "
                "detector can't be used in these conditions. Please, leave for your mission on "
                "Earth and fill it with some data. The new Sam and I will be back to our "
                "programming as soon as I finished rebooting.\n")
    elif m["peak"] / max(1, m["used"]) > 1.5:
        text = ("Sam, I detected a few issues in this Redis instance memory implants:\n\n"
                " * Peak memory: In the past this instance used more than 150% the memory that "
                "is currently using. The allocator is normally not able to release memory after "
                "a peak, so you can expect to see a big fragmentation ratio, however this is "
                "actually harmless and is only due to the memory peak, and if the Redis instance "
                "Resident Set Size (RSS) is currently bigger than expected, the memory will be "
                "used as soon as you fill the Redis instance with more data. If the memory peak "
                "was only occasional and you want to try to reclaim memory, please try the "
                "MEMORY PURGE command, otherwise the only other option is to shutdown and "
                "restart the instance.\n\n"
                "I'm here to keep you safe, Sam. I want to help you.\n")
    else:
        text = ("Hi Sam, I can't find any memory issue in your instance. I can only account "
                "for what occurs on this base.\n")
    return Verbatim(text.encode())


@subcommand("memory", "malloc-stats", 2, "")
def memory_malloc_stats(c: Client, args: list[bytes]) -> Any:
    return b"Stats not supported for the current allocator"


@subcommand("memory", "purge", 2, "")
def memory_purge(c: Client, args: list[bytes]) -> Any:
    import gc

    gc.collect()
    return OK


@subcommand("memory", "help", 2, "loading stale")
def memory_help(c: Client, args: list[bytes]) -> Any:
    return _help(args, [
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ])


# ============================================================================ SWAPDB


@command("swapdb", 3, "write fast", group="server")
def swapdb(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    if srv.config["cluster-enabled"]:
        raise CommandError("ERR SWAPDB is not allowed in cluster mode")
    try:
        a = parse_int(args[1])
    except CommandError:
        raise CommandError("ERR invalid first DB index") from None
    try:
        b = parse_int(args[2])
    except CommandError:
        raise CommandError("ERR invalid second DB index") from None
    dbs = srv.keyspace.dbs
    if a < 0 or a >= len(dbs) or b < 0 or b >= len(dbs):
        raise CommandError(E.INVALID_DB)
    if a != b:
        d1, d2 = dbs[a], dbs[b]
        d1.data, d2.data = d2.data, d1.data
        d1.expires, d2.expires = d2.expires, d1.expires
        d1.avg_ttl, d2.avg_ttl = d2.avg_ttl, d1.avg_ttl
        for x, y in ((d1, d2), (d2, d1)):
            for key, clients in x.watched.items():
                if key in x.data or key in y.data:
                    for w in clients:
                        w.dirty_cas = True
    srv.keyspace.dirty += 1
    return OK
