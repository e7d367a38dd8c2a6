"""Masks for what changes from run to run (run ids, offsets, uptime, pids, timestamps).

The app applies them when started with ``frozen=True`` -- the snapshot tests do, so a
screenshot of a live lab is the same on every run. A learner never sees them.
"""

from __future__ import annotations

import re

MASK = "…"

VOLATILE = {
    "run_id", "master_replid", "master_replid2", "master_repl_offset", "second_repl_offset",
    "slave_repl_offset", "slave_read_repl_offset", "repl_backlog_first_byte_offset",
    "repl_backlog_histlen", "repl_backlog_active", "master_last_io_seconds_ago",
    "master_sync_left_bytes", "master_sync_last_io_seconds_ago", "master_link_down_since_seconds",
    "uptime_in_seconds", "uptime_in_days", "lru_clock", "server_time_usec", "process_id",
    "executable", "config_file", "sentinel_tilt_since_seconds", "os", "gcc_version",
    "redis_build_id", "multiplexing_api", "atomicvar_api", "monotonic_clock",
}
VOLATILE_PREFIXES = ("used_", "mem_", "total_", "instantaneous_", "rss_", "allocator_",
                     "rdb_", "aof_", "used_cpu", "expired_", "evicted_", "keyspace_",
                     "sync_", "latest_fork", "current_", "client_recent", "connected_clients",
                     "blocked_", "tracking_", "pubsub_", "lazyfree", "io_threaded", "reply_",
                     "dump_", "acl_", "migrate_", "unexpected_", "errorstat", "cmdstat",
                     "cluster_stats", "cluster_current_epoch", "cluster_my_epoch")
_SLAVE = re.compile(r"\b(offset|lag)=-?\d+")
_LOG = re.compile(r"^(\d+):([A-Z]) (\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3})")
_PID_WORDS = re.compile(r"\b(pid|PID)[=: ]+\d+")
_IDS = re.compile(r"\b[0-9a-f]{40}\b")


def volatile(field: str) -> bool:
    return field in VOLATILE or field.startswith(VOLATILE_PREFIXES)


def info_value(field: str, value: str) -> str:
    """``value`` of INFO ``field`` with what changes between runs masked."""
    if re.fullmatch(r"slave\d+", field) or field.startswith("master") and "name=" in value:
        return _SLAVE.sub(lambda m: f"{m.group(1)}={MASK}", value)
    return MASK if volatile(field) else value


def info_fields(values: dict[str, str]) -> dict[str, str]:
    """INFO fields with ``slaveN`` lines in a fixed order (replicas attach in any order)."""
    keys = [k for k in values if re.fullmatch(r"slave\d+", k)]
    ordered = sorted(values[k] for k in keys)
    out = dict(values)
    for key, value in zip(keys, ordered):
        out[key] = value
    return out


def info_line(line: str) -> str:
    """One ``field:value`` line of INFO text, masked."""
    if ":" not in line or line.startswith("#"):
        return line
    field, value = line.split(":", 1)
    return f"{field}:{info_value(field, value)}"


def log_line(line: str) -> str:
    """A Redis log line with its pid and timestamp masked."""
    line = _LOG.sub(lambda m: f"{MASK}:{m.group(2)} {MASK}", line)
    line = _PID_WORDS.sub(lambda m: f"{m.group(1)}={MASK}", line)
    return _IDS.sub(MASK, line)


def paths(value: str) -> str:
    """The data directory (different for every test run) as ``$REDISLAB_HOME``."""
    from ..backends.state import home

    return value.replace(str(home()), "$REDISLAB_HOME")


def text(value: str) -> str:
    """Free text (console output): INFO-like lines, 40-hex ids and paths masked."""
    return paths("\n".join(_IDS.sub(MASK, info_line(ln)) for ln in value.split("\n")))
