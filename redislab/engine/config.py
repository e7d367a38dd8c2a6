"""redis.conf: parsing, CONFIG GET/SET/REWRITE values, and start-up errors as Redis prints them.

Each directive has a :class:`Spec` (type, default, bounds, whether CONFIG SET may change it,
aliases). ``Config.load_text`` reads a redis.conf (plus command-line options, which Redis
appends to the file's text) and raises :class:`ConfigFileError` with Redis' message and line
number. Setting a value calls the listeners registered with ``on_change`` so the server
can apply it live (a new ``masterauth``, ``replicaof`` and so on).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .resp import split_args

REDIS_VERSION = "7.0.15"

_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
    "g": 1000**3, "gb": 1024**3,
}


class ConfigError(Exception):
    """A bad value for one directive (message as Redis words it)."""


class ConfigFileError(Exception):
    """A bad line in a config file: carries the line number and text for Redis' report."""

    def __init__(self, lineno: int, line: str, message: str):
        self.lineno = lineno
        self.line = line
        self.message = message
        super().__init__(f"line {lineno}: {message}")

    def report(self) -> str:
        """The text redis-server prints to stderr before exiting."""
        return (
            f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n"
            f"Reading the configuration file, at line {self.lineno}\n"
            f">>> '{self.line}'\n{self.message}\n"
        )


def parse_memory(text: str) -> int:
    m = re.fullmatch(r"(-?\d+)([a-zA-Z]*)", text.strip())
    if not m or m.group(2).lower() not in _UNITS:
        raise ConfigError("argument must be a memory value")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


@dataclass
class Spec:
    name: str
    kind: str  # bool | int | memory | string | enum | special
    default: Any
    mutable: bool = True
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    sensitive: bool = False
    multi_arg: bool = False  # takes several words (save, bind, replicaof, ...)

    def parse(self, words: list[str]) -> Any:
        if self.kind == "special":
            return _SPECIAL_PARSERS[self.name](words)
        if len(words) != 1:
            raise ConfigError("wrong number of arguments")
        text = words[0]
        if self.kind == "bool":
            low = text.lower()
            if low not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            return low == "yes"
        if self.kind == "int":
            try:
                value = int(text)
            except ValueError:
                raise ConfigError("argument couldn't be parsed into an integer") from None
            self._check_range(value)
            return value
        if self.kind == "memory":
            try:
                value = parse_memory(text)
            except ConfigError:
                raise ConfigError("argument must be a memory value") from None
            self._check_range(value)
            return value
        if self.kind == "enum":
            low = text.lower()
            if low not in self.choices:
                raise ConfigError(
                    "argument(s) must be one of the following: " + ", ".join(self.choices)
                )
            return low
        return text

    def _check_range(self, value: int) -> None:
        if self.lo is not None and self.hi is not None and not (self.lo <= value <= self.hi):
            raise ConfigError(f"argument must be between {self.lo} and {self.hi} inclusive")

    def format(self, value: Any) -> str:
        """The value as CONFIG GET shows it."""
        if self.kind == "special":
            return _SPECIAL_FORMATTERS.get(self.name, lambda v: str(v))(value)
        if self.kind == "bool":
            return "yes" if value else "no"
        if value is None:
            return ""
        return str(value)


def _parse_save(words: list[str]) -> list[tuple[int, int]]:
    if len(words) == 1 and words[0] == "":
        return []
    if len(words) % 2:
        raise ConfigError("Invalid save parameters")
    out = []
    for i in range(0, len(words), 2):
        try:
            seconds, changes = int(words[i]), int(words[i + 1])
        except ValueError:
            raise ConfigError("Invalid save parameters") from None
        if seconds < 1 or changes < 0:
            raise ConfigError("Invalid save parameters")
        out.append((seconds, changes))
    return out


def _parse_bind(words: list[str]) -> list[str]:
    if not words or len(words) > 16:
        raise ConfigError("Too many bind addresses specified.")
    return [w for w in words]


def _parse_replicaof(words: list[str]) -> tuple[str, int] | None:
    if len(words) != 2:
        raise ConfigError("wrong number of arguments")
    if words[0].lower() == "no" and words[1].lower() == "one":
        return None
    try:
        port = int(words[1])
    except ValueError:
        raise ConfigError("Invalid master port") from None
    return (words[0], port)


def _parse_words(words: list[str]) -> list[str]:
    return list(words)


def _parse_oblimit(words: list[str]) -> list[str]:
    if len(words) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    return list(words)


_SPECIAL_PARSERS: dict[str, Callable[[list[str]], Any]] = {
    "save": _parse_save,
    "bind": _parse_bind,
    "replicaof": _parse_replicaof,
    "client-output-buffer-limit": _parse_oblimit,
    "oom-score-adj-values": _parse_words,
}

_SPECIAL_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "save": lambda v: " ".join(f"{s} {c}" for s, c in v),
    "bind": lambda v: " ".join(v),
    "replicaof": lambda v: "" if v is None else f"{v[0]} {v[1]}",
    "client-output-buffer-limit": lambda v: " ".join(v),
    "oom-score-adj-values": lambda v: " ".join(v),
}


def _b(name: str, default: bool, **kw: Any) -> Spec:
    return Spec(name, "bool", default, **kw)


def _i(name: str, default: int, lo: int = -(2**63), hi: int = 2**63 - 1, **kw: Any) -> Spec:
    return Spec(name, "int", default, lo=lo, hi=hi, **kw)


def _m(name: str, default: int, lo: int = 0, hi: int = 2**63 - 1, **kw: Any) -> Spec:
    return Spec(name, "memory", default, lo=lo, hi=hi, **kw)


def _s(name: str, default: str | None, **kw: Any) -> Spec:
    return Spec(name, "string", default, **kw)


def _e(name: str, default: str, choices: tuple[str, ...], **kw: Any) -> Spec:
    return Spec(name, "enum", default, choices=choices, **kw)


SPECS: list[Spec] = [
    # network
    Spec("bind", "special", ["*", "-::*"], multi_arg=True),
    _i("port", 6379, 0, 65535),
    _b("protected-mode", True),
    _i("tcp-backlog", 511, 0, 2**31 - 1, mutable=False),
    _i("timeout", 0, 0, 2**31 - 1),
    _i("tcp-keepalive", 300, 0, 2**31 - 1),
    _s("unixsocket", None, mutable=False),
    _s("unixsocketperm", "0", mutable=False),
    _i("maxclients", 10000, 1, 2**31 - 1),
    _m("proto-max-bulk-len", 512 * 1024**2, 1024 * 1024),
    _m("client-query-buffer-limit", 1024**3, 1024 * 1024),
    Spec("client-output-buffer-limit", "special",
         ["normal", "0", "0", "0", "slave", "268435456", "67108864", "60",
          "pubsub", "33554432", "8388608", "60"], multi_arg=True),
    # general
    _b("daemonize", False, mutable=False),
    _e("supervised", "no", ("upstart", "systemd", "auto", "no"), mutable=False),
    _s("pidfile", "", mutable=False),
    _e("loglevel", "notice", ("debug", "verbose", "notice", "warning", "nothing")),
    _s("logfile", "", mutable=False),
    _b("syslog-enabled", False, mutable=False),
    _s("syslog-ident", "redis", mutable=False),
    _s("syslog-facility", "local0", mutable=False),
    _i("databases", 16, 1, 2**31 - 1, mutable=False),
    _b("always-show-logo", False, mutable=False),
    _b("set-proc-title", True, mutable=False),
    _s("proc-title-template", "{title} {listen-addr} {server-mode}"),
    _i("hz", 10, 0, 2**31 - 1),
    _b("dynamic-hz", True),
    _e("enable-debug-command", "no", ("no", "yes", "local"), mutable=False),
    _e("enable-protected-configs", "no", ("no", "yes", "local"), mutable=False),
    _e("enable-module-command", "no", ("no", "yes", "local"), mutable=False),
    _i("io-threads", 1, 1, 128, mutable=False),
    _b("io-threads-do-reads", False, mutable=False),
    _b("crash-log-enabled", True),
    _b("crash-memcheck-enabled", True),
    _b("disable-thp", True, mutable=False),
    _e("oom-score-adj", "no", ("no", "yes", "relative", "absolute")),
    Spec("oom-score-adj-values", "special", ["0", "200", "800"], multi_arg=True),
    _b("jemalloc-bg-thread", True),
    _s("ignore-warnings", ""),
    _s("locale-collate", ""),
    # security
    _s("requirepass", "", sensitive=True),
    _s("masterauth", "", sensitive=True),
    _s("masteruser", ""),
    _s("aclfile", "", mutable=False),
    _i("acllog-max-len", 128, 0, 2**31 - 1),
    _e("acl-pubsub-default", "resetchannels", ("allchannels", "resetchannels")),
    # snapshotting
    Spec("save", "special", [(3600, 1), (300, 100), (60, 10000)], multi_arg=True),
    _b("stop-writes-on-bgsave-error", True),
    _b("rdbcompression", True),
    _b("rdbchecksum", True, mutable=False),
    _e("sanitize-dump-payload", "no", ("no", "yes", "clients")),
    _s("dbfilename", "dump.rdb"),
    _b("rdb-del-sync-files", False),
    _s("dir", "", mutable=True),
    # append only
    _b("appendonly", False),
    _s("appendfilename", "appendonly.aof", mutable=False),
    _s("appenddirname", "appendonlydir", mutable=False),
    _e("appendfsync", "everysec", ("always", "everysec", "no")),
    _b("no-appendfsync-on-rewrite", False),
    _i("auto-aof-rewrite-percentage", 100, 0, 2**31 - 1),
    _m("auto-aof-rewrite-min-size", 64 * 1024**2),
    _b("aof-load-truncated", True),
    _b("aof-use-rdb-preamble", True),
    _b("aof-timestamp-enabled", False),
    _b("aof-rewrite-incremental-fsync", True),
    _b("rdb-save-incremental-fsync", True),
    # replication
    Spec("replicaof", "special", None, multi_arg=True, aliases=("slaveof",)),
    _b("replica-serve-stale-data", True, aliases=("slave-serve-stale-data",)),
    _b("replica-read-only", True, aliases=("slave-read-only",)),
    _e("repl-diskless-load", "disabled", ("disabled", "on-empty-db", "swapdb")),
    _b("repl-diskless-sync", True),
    _i("repl-diskless-sync-delay", 5, 0, 2**31 - 1),
    _i("repl-diskless-sync-max-replicas", 0, 0, 2**31 - 1),
    _i("repl-ping-replica-period", 10, 1, 2**31 - 1, aliases=("repl-ping-slave-period",)),
    _i("repl-timeout", 60, 1, 2**31 - 1),
    _b("repl-disable-tcp-nodelay", False),
    _m("repl-backlog-size", 1024**2, 1),
    _i("repl-backlog-ttl", 3600, 0, 2**31 - 1),
    _i("replica-priority", 100, 0, 2**31 - 1, aliases=("slave-priority",)),
    _b("replica-announced", True),
    _i("min-replicas-to-write", 0, 0, 2**31 - 1, aliases=("min-slaves-to-write",)),
    _i("min-replicas-max-lag", 10, 0, 2**31 - 1, aliases=("min-slaves-max-lag",)),
    _s("replica-announce-ip", "", aliases=("slave-announce-ip",)),
    _i("replica-announce-port", 0, 0, 65535, aliases=("slave-announce-port",)),
    _b("replica-lazy-flush", False, aliases=("slave-lazy-flush",)),
    _b("replica-ignore-maxmemory", True, aliases=("slave-ignore-maxmemory",)),
    # memory
    _m("maxmemory", 0),
    _e("maxmemory-policy", "noeviction", (
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
        "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")),
    _i("maxmemory-samples", 5, 1, 2**31 - 1),
    _i("maxmemory-eviction-tenacity", 10, 0, 100),
    _b("lazyfree-lazy-eviction", False),
    _b("lazyfree-lazy-expire", False),
    _b("lazyfree-lazy-server-del", False),
    _b("lazyfree-lazy-user-del", False),
    _b("lazyfree-lazy-user-flush", False),
    _i("active-expire-effort", 1, 1, 10),
    _b("activedefrag", False),
    _b("activerehashing", True),
    _i("lfu-log-factor", 10, 0, 2**31 - 1),
    _i("lfu-decay-time", 1, 0, 2**31 - 1),
    # limits / encodings
    _i("lua-time-limit", 5000, 0, 2**63 - 1, aliases=("busy-reply-threshold",)),
    _i("slowlog-log-slower-than", 10000, -1, 2**63 - 1),
    _i("slowlog-max-len", 128, 0, 2**63 - 1),
    _i("latency-monitor-threshold", 0, 0, 2**63 - 1),
    _b("latency-tracking", True),
    _s("latency-tracking-info-percentiles", "50 99 99.9"),
    _s("notify-keyspace-events", ""),
    _i("hash-max-listpack-entries", 128, 0, 2**63 - 1, aliases=("hash-max-ziplist-entries",)),
    _i("hash-max-listpack-value", 64, 0, 2**63 - 1, aliases=("hash-max-ziplist-value",)),
    _i("list-max-listpack-size", -2, -5, 2**31 - 1, aliases=("list-max-ziplist-size",)),
    _i("list-compress-depth", 0, 0, 2**31 - 1),
    _i("set-max-intset-entries", 512, 0, 2**63 - 1),
    _i("zset-max-listpack-entries", 128, 0, 2**63 - 1, aliases=("zset-max-ziplist-entries",)),
    _i("zset-max-listpack-value", 64, 0, 2**63 - 1, aliases=("zset-max-ziplist-value",)),
    _i("hll-sparse-max-bytes", 3000, 0, 2**63 - 1),
    _i("stream-node-max-bytes", 4096, 0, 2**63 - 1),
    _i("stream-node-max-entries", 100, 0, 2**63 - 1),
    _i("tracking-table-max-keys", 1000000, 0, 2**63 - 1),
    _i("active-defrag-threshold-lower", 10, 0, 1000),
    _i("active-defrag-threshold-upper", 100, 0, 1000),
    _m("active-defrag-ignore-bytes", 100 * 1024**2, 1),
    _i("active-defrag-cycle-min", 1, 1, 99),
    _i("active-defrag-cycle-max", 25, 1, 99),
    _i("active-defrag-max-scan-fields", 1000, 1, 2**63 - 1),
    _b("lazyfree-lazy-user-flush", False),
    _i("shutdown-timeout", 10, 0, 2**31 - 1),
    _s("shutdown-on-sigint", "default"),
    _s("shutdown-on-sigterm", "default"),
    # cluster
    _b("cluster-enabled", False, mutable=False),
    _s("cluster-config-file", "nodes.conf", mutable=False),
    _i("cluster-node-timeout", 15000, 0, 2**63 - 1),
    _i("cluster-port", 0, 0, 65535, mutable=False),
    _i("cluster-replica-validity-factor", 10, 0, 2**31 - 1,
       aliases=("cluster-slave-validity-factor",)),
    _i("cluster-migration-barrier", 1, 0, 2**31 - 1),
    _b("cluster-allow-replica-migration", True),
    _b("cluster-require-full-coverage", True),
    _b("cluster-replica-no-failover", False, aliases=("cluster-slave-no-failover",)),
    _b("cluster-allow-reads-when-down", False),
    _b("cluster-allow-pubsubshard-when-down", True),
    _s("cluster-announce-ip", ""),
    _i("cluster-announce-port", 0, 0, 65535),
    _i("cluster-announce-bus-port", 0, 0, 65535),
    _i("cluster-announce-tls-port", 0, 0, 65535),
    _s("cluster-announce-hostname", ""),
    _e("cluster-preferred-endpoint-type", "ip", ("ip", "hostname", "unknown-endpoint")),
    _m("cluster-link-sendbuf-limit", 0),
    # tls (accepted so stock files load; the engine does not speak TLS)
    _i("tls-port", 0, 0, 65535, mutable=False),
    _b("tls-replication", False),
    _b("tls-cluster", False),
]

_BY_NAME: dict[str, Spec] = {}
for _spec in SPECS:
    _BY_NAME[_spec.name] = _spec
    for _alias in _spec.aliases:
        _BY_NAME[_alias] = _spec

# directives redis.conf accepts that are not CONFIG parameters
FILE_ONLY = {"include", "rename-command", "user", "loadmodule", "sentinel"}


def find_spec(name: str) -> Spec | None:
    return _BY_NAME.get(name.lower())


class Config:
    """The live configuration of one server."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {s.name: _copy(s.default) for s in SPECS}
        self.renames: dict[str, str] = {}  # rename-command old -> new ('' disables)
        self.file: str | None = None
        self.sentinel_lines: list[list[str]] = []
        self.explicit: set[str] = set()
        self._listeners: list[Callable[[str, Any], None]] = []

    # ---------------------------------------------------------------- access

    def __getitem__(self, name: str) -> Any:
        spec = _BY_NAME[name]
        return self.values[spec.name]

    def get(self, name: str, default: Any = None) -> Any:
        spec = _BY_NAME.get(name)
        return self.values[spec.name] if spec else default

    def on_change(self, fn: Callable[[str, Any], None]) -> None:
        self._listeners.append(fn)

    # ---------------------------------------------------------------- loading

    def load_file(self, path: str, extra: str = "") -> None:
        """Load ``path`` (and the command-line options in ``extra``)."""
        self.file = os.path.abspath(path)
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as exc:
            raise ConfigFileError(0, path, f"Fatal error, can't open config file '{path}': "
                                  f"{exc.strerror}") from None
        self.load_text(text + ("\n" + extra if extra else ""))

    def load_text(self, text: str) -> None:
        for lineno, raw in enumerate(text.split("\n"), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = split_args(line.encode("utf-8", "surrogateescape"))
            if words is None:
                raise ConfigFileError(lineno, line, "Unbalanced quotes in configuration line")
            if not words:
                continue
            argv = [w.decode("utf-8", "surrogateescape") for w in words]
            try:
                self._apply_line(argv)
            except ConfigError as exc:
                raise ConfigFileError(lineno, line, str(exc)) from None

    def _apply_line(self, argv: list[str]) -> None:
        name = argv[0].lower()
        args = argv[1:]
        if name == "include":
            if len(args) != 1:
                raise ConfigError("Bad directive or wrong number of arguments")
            for path in sorted(_glob(args[0])):
                with open(path, encoding="utf-8", errors="surrogateescape") as f:
                    self.load_text(f.read())
            return
        if name == "rename-command":
            if len(args) != 2:
                raise ConfigError("Bad directive or wrong number of arguments")
            from .commands import COMMANDS, load_all

            load_all()
            if args[0].lower().encode() not in COMMANDS:
                raise ConfigError("No such command in rename-command")
            self.renames[args[0].lower()] = args[1]
            return
        if name == "sentinel":
            self.sentinel_lines.append(args)
            return
        if name in ("user", "loadmodule"):
            raise ConfigError(f"'{name}' is not supported by the redislab engine")
        spec = _BY_NAME.get(name)
        if spec is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        if not spec.multi_arg and len(args) != 1:
            raise ConfigError("wrong number of arguments")
        self.values[spec.name] = spec.parse(args)
        self.explicit.add(spec.name)

    # ---------------------------------------------------------------- CONFIG SET / GET

    def set(self, name: str, words: list[str]) -> None:
        """Change a parameter at run time; raises ConfigError with Redis' reason."""
        spec = _BY_NAME.get(name.lower())
        if spec is None:
            raise KeyError(name)
        if not spec.mutable:
            raise ConfigError("can't set immutable config")
        value = spec.parse(words)
        old = self.values[spec.name]
        self.values[spec.name] = value
        self.explicit.add(spec.name)
        try:
            for fn in self._listeners:
                fn(spec.name, value)
        except ConfigError:
            self.values[spec.name] = old
            raise

    def set_value(self, name: str, value: Any) -> None:
        """Store an already parsed value (the server changing its own config)."""
        spec = _BY_NAME[name]
        self.values[spec.name] = value
        self.explicit.add(spec.name)

    def get_matching(self, pattern: str) -> list[tuple[str, str]]:
        out: dict[str, str] = {}
        pat = pattern.lower()
        names = list(_BY_NAME) if any(ch in pat for ch in "*?[") else [pat]
        for name in names:
            spec = _BY_NAME.get(name)
            if spec is None or not fnmatch.fnmatchcase(name, pat):
                continue
            out[name] = spec.format(self.values[spec.name])
        return list(out.items())

    # ---------------------------------------------------------------- CONFIG REWRITE

    def rewrite(self) -> None:
        """Rewrite the config file as Redis does: keep lines, update changed directives."""
        if not self.file:
            raise ConfigError("The server is running without a config file")
        try:
            with open(self.file, encoding="utf-8", errors="surrogateescape") as f:
                lines = f.read().split("\n")
        except OSError:
            lines = []
        todo = {n for n in self.explicit if self._differs(n)}
        out: list[str] = []
        seen: set[str] = set()
        for raw in lines:
            stripped = raw.strip()
            if stripped == "# Generated by CONFIG REWRITE":
                continue
            words = split_args(stripped.encode("utf-8", "surrogateescape")) if stripped else []
            if not stripped or stripped.startswith("#") or not words:
                out.append(raw)
                continue
            name = words[0].decode("utf-8", "surrogateescape").lower()
            spec = _BY_NAME.get(name)
            if spec is None:
                out.append(raw)
                continue
            if spec.name in seen:
                continue
            seen.add(spec.name)
            if spec.name in todo or spec.name in self.explicit:
                out.extend(self._lines_for(spec))
            else:
                out.append(raw)
        extra = [n for n in todo if n not in seen]
        if extra:
            while out and out[-1] == "":
                out.pop()
            out.append("# Generated by CONFIG REWRITE")
            for n in extra:
                out.extend(self._lines_for(_BY_NAME[n]))
        text = "\n".join(out).rstrip("\n") + "\n"
        tmp = self.file + ".tmp-rewrite"
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        os.replace(tmp, self.file)

    def _differs(self, name: str) -> bool:
        spec = _BY_NAME[name]
        return self.values[name] != spec.default or name in self.explicit

    def _lines_for(self, spec: Spec) -> list[str]:
        value = self.values[spec.name]
        if spec.name == "save":
            if not value:
                return ['save ""']
            return [f"save {s} {c}" for s, c in value]
        if spec.name == "replicaof":
            return [] if value is None else [f"replicaof {value[0]} {value[1]}"]
        text = spec.format(value)
        if text == "" or any(ch in text for ch in ' "\'\\'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return [f"{spec.name} {text}"]


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _glob(pattern: str) -> list[str]:
    import glob

    return glob.glob(pattern)
