"""Redis 7.0 multi-part append-only file.

Layout (inside ``dir``)::

    appendonlydir/                         # appenddirname
        appendonly.aof.manifest            # <appendfilename>.manifest
        appendonly.aof.1.base.rdb          # snapshot (RDB preamble) or .base.aof (commands)
        appendonly.aof.1.incr.aof          # every write since, as RESP multibulk

Manifest lines: ``file <name> seq <n> type <b|h|i>`` (base first, then history, then incr).

Writes reach the AOF through a propagate hook (:meth:`AOF.feed`): a ``SELECT`` when the
database changes, then the command as RESP. Each write is handed to the OS at once, so a
killed process loses nothing that was acknowledged; ``appendfsync`` decides when it is
fsynced (``always`` on every write, ``everysec`` from the cron once a second, ``no`` never).

BGREWRITEAOF opens a new incr file and snapshots the dataset in the same instant (the
engine has no fork: the snapshot is serialized in-process), writes the new base file in
a worker thread and then updates the manifest and removes the history files, logging
what Redis' parent and child (role ``C``) log.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any, Callable

from . import rdb
from .config import ConfigError
from .errors import CommandError
from .fileio import SafeWriteError, replace_synced, write_synced
from .fileio import unlink_quiet as _unlink
from .resp import split_args

if TYPE_CHECKING:  # pragma: no cover
    from .keyspace import Keyspace
    from .server import Server

OFF, ON, WAIT_REWRITE = "off", "on", "wait_rewrite"

# load results
AOF_OK, AOF_NOT_EXIST, AOF_EMPTY, AOF_OPEN_ERR, AOF_FAILED, AOF_TRUNCATED = (
    "ok", "not_exist", "empty", "open_err", "failed", "truncated")

ITEMS_PER_CMD = 64  # AOF_REWRITE_ITEMS_PER_CMD
REPLICAS_ONLY = frozenset((b"publish", b"spublish"))  # propagated with PROPAGATE_REPL only


class AOFLoadError(Exception):
    """Loading the AOF failed: Redis would exit(1). The reason has been logged."""


# ====================================================================== RESP encoding


def encode_command(argv: list[bytes]) -> bytes:
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        if not isinstance(a, (bytes, bytearray)):
            a = str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


def _select(db_index: int) -> bytes:
    d = str(db_index).encode()
    return b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(d), d)


def _fmt_score(score: float) -> bytes:
    return b"%.17g" % score


def rewrite_commands(keyspace: "Keyspace", timestamp: bool = False) -> bytes:
    """The dataset as commands, like Redis' rewriteAppendOnlyFileRio (aof-use-rdb-preamble no):
    SELECT per non-empty database, SET / RPUSH / SADD / ZADD / HMSET (64 items per command)
    and PEXPIREAT for keys with a TTL."""
    out: list[bytes] = []
    if timestamp:
        out.append(b"#TS:%d\r\n" % int(time.time()))
    enc = encode_command
    for db in keyspace.dbs:
        if not db.data:
            continue
        out.append(_select(db.index))
        expires = db.expires
        for key, value in db.data.items():
            t = type(value).__name__
            if t == "bytes":
                out.append(enc([b"SET", key, value]))
            elif t == "deque":
                items = list(value)
                for i in range(0, len(items), ITEMS_PER_CMD):
                    out.append(enc([b"RPUSH", key, *items[i:i + ITEMS_PER_CMD]]))
            elif t == "set":
                items = list(value)
                for i in range(0, len(items), ITEMS_PER_CMD):
                    out.append(enc([b"SADD", key, *items[i:i + ITEMS_PER_CMD]]))
            elif t == "ZSet":
                flat: list[bytes] = []
                for score, member in value.order:
                    flat.append(_fmt_score(score))
                    flat.append(member)
                step = ITEMS_PER_CMD * 2
                for i in range(0, len(flat), step):
                    out.append(enc([b"ZADD", key, *flat[i:i + step]]))
            elif t == "dict":
                flat = []
                for f, v in value.items():
                    flat.append(f)
                    flat.append(v)
                step = ITEMS_PER_CMD * 2
                for i in range(0, len(flat), step):
                    out.append(enc([b"HMSET", key, *flat[i:i + step]]))
            else:  # pragma: no cover - every engine type is handled above
                raise TypeError(f"cannot rewrite a {t} value")
            when = expires.get(key) if expires else None
            if when is not None:
                out.append(enc([b"PEXPIREAT", key, str(when).encode()]))
    return b"".join(out)


# ====================================================================== manifest


class ManifestError(Exception):
    def __init__(self, message: str, line: str | None = None, linenum: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line
        self.linenum = linenum


_REPR_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
                 "\a": "\\a", "\b": "\\b"}


def _repr_name(name: str) -> str:
    """A file name as the manifest writes it: quoted like sdscatrepr when it needs it."""
    raw = name.encode("utf-8", "surrogateescape")
    if all(33 <= b < 127 and b not in (34, 39, 92) for b in raw) and raw:
        return name
    out = ['"']
    for b in raw:
        ch = chr(b)
        if ch in _REPR_ESCAPES:
            out.append(_REPR_ESCAPES[ch])
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % b)
    out.append('"')
    return "".join(out)


class Manifest:
    """The AOF manifest: one base, history files, incr files (in order)."""

    def __init__(self) -> None:
        self.base: tuple[str, int] | None = None
        self.history: list[tuple[str, int]] = []
        self.incr: list[tuple[str, int]] = []
        self.curr_base_seq = 0
        self.curr_incr_seq = 0

    def copy(self) -> "Manifest":
        m = Manifest()
        m.base = self.base
        m.history = list(self.history)
        m.incr = list(self.incr)
        m.curr_base_seq = self.curr_base_seq
        m.curr_incr_seq = self.curr_incr_seq
        return m

    @staticmethod
    def _fmt(name: str, seq: int, kind: str) -> str:
        return f"file {_repr_name(name)} seq {seq} type {kind}\n"

    def to_text(self) -> str:
        lines = []
        if self.base:
            lines.append(self._fmt(self.base[0], self.base[1], "b"))
        for name, seq in self.history:
            lines.append(self._fmt(name, seq, "h"))
        for name, seq in self.incr:
            lines.append(self._fmt(name, seq, "i"))
        return "".join(lines)

    @classmethod
    def parse(cls, text: str) -> "Manifest":
        m = cls()
        maxseq = 0
        linenum = 0
        raw_lines = text.split("\n")
        if text.endswith("\n"):
            raw_lines = raw_lines[:-1]
        if not raw_lines or text == "":
            raise ManifestError("Found an empty AOF manifest")
        for raw in raw_lines:
            linenum += 1
            if raw.startswith("#"):
                continue
            line = raw.strip(" \t\r\n")
            if len(raw) > 1024:
                raise ManifestError("The AOF manifest file contains too long line", line, linenum)
            if not line:
                raise ManifestError("Invalid AOF manifest file format", line, linenum)
            words = split_args(line.encode("utf-8", "surrogateescape"))
            if words is None:
                raise ManifestError("Invalid AOF manifest file format", line, linenum)
            argv = [w.decode("utf-8", "surrogateescape") for w in words]
            if len(argv) < 6 or len(argv) % 2:
                raise ManifestError("Invalid AOF manifest file format", line, linenum)
            name = None
            seq = 0
            kind = ""
            for i in range(0, len(argv), 2):
                k, v = argv[i].lower(), argv[i + 1]
                if k == "file":
                    name = v
                    if "/" in name:
                        raise ManifestError("File can't be a path, just a filename", line,
                                            linenum)
                elif k == "seq":
                    try:
                        seq = int(v)
                    except ValueError:
                        seq = 0
                elif k == "type":
                    kind = v[:1]
            if not name or not seq or not kind:
                raise ManifestError("Invalid AOF manifest file format", line, linenum)
            if kind == "b":
                if m.base is not None:
                    raise ManifestError("Found duplicate base file information", line, linenum)
                m.base = (name, seq)
                m.curr_base_seq = seq
            elif kind == "h":
                m.history.append((name, seq))
            elif kind == "i":
                if seq <= maxseq:
                    raise ManifestError("Found a non-monotonic sequence number", line, linenum)
                m.incr.append((name, seq))
                m.curr_incr_seq = seq
                maxseq = seq
            else:
                raise ManifestError("Unknown AOF file type", line, linenum)
        return m


# ====================================================================== the AOF


class AOF:
    """AOF state of one server (Redis' server.aof_* fields)."""

    def __init__(self, server: "Server"):
        self.server = server
        self.state = OFF
        self.fd: int | None = None
        self.selected_db = -1
        self.manifest = Manifest()
        self.pending: list[bytes] = []  # data not yet written (after a write error)
        self.last_fsync = time.time()
        self.fsync_in_progress = False
        self.fsync_status_ok = True
        self.current_size = 0
        self.base_size = 0  # aof_rewrite_base_size
        self.last_incr_size = 0
        self.rewrite_task: asyncio.Future[Any] | None = None
        self.rewrite_scheduled = False
        self.rewrite_start: float | None = None
        self.rewrite_cancelled = False
        self.last_rewrite_time = -1
        self.last_bgrewrite_status = "ok"
        self.rewrites = 0
        self.consecutive_failures = 0
        self.last_write_status = "ok"
        self.last_write_errno = 0
        # called after last_write_status or fsync_status_ok changed (persistence keeps its
        # MISCONF guard installed only while one of them reports an error)
        self.on_status: Callable[[], None] = lambda: None
        self.last_ts = 0
        self.delayed_fsync = 0
        self.limit_delay_minutes = 0
        self.next_rewrite_time = 0.0

    # ---------------------------------------------------------------- paths

    @property
    def cfg(self) -> Any:
        return self.server.config

    def workdir(self) -> str:
        return self.cfg["dir"] or "."

    def dirpath(self) -> str:
        return os.path.join(self.workdir(), self.cfg["appenddirname"])

    def path(self, name: str) -> str:
        return os.path.join(self.dirpath(), name)

    @property
    def filename(self) -> str:
        return self.cfg["appendfilename"]

    def manifest_name(self) -> str:
        return self.filename + ".manifest"

    def temp_incr_name(self) -> str:
        return "temp-" + self.filename + ".incr"

    def new_base_name(self, m: Manifest) -> str:
        if m.base is not None:
            m.history.insert(0, m.base)
        m.curr_base_seq += 1
        suffix = ".rdb" if self.cfg["aof-use-rdb-preamble"] else ".aof"
        name = f"{self.filename}.{m.curr_base_seq}.base{suffix}"
        m.base = (name, m.curr_base_seq)
        return name

    def new_incr_name(self, m: Manifest) -> str:
        m.curr_incr_seq += 1
        name = f"{self.filename}.{m.curr_incr_seq}.incr.aof"
        m.incr.append((name, m.curr_incr_seq))
        return name

    @property
    def log(self) -> Any:
        return self.server.log

    # ---------------------------------------------------------------- manifest I/O

    def persist_manifest(self, m: Manifest) -> bool:
        name = self.manifest_name()
        tmp_name = "temp-" + name
        text = m.to_text().encode("utf-8", "surrogateescape")
        return self.replace_file(self.path(tmp_name), self.path(name), text, {
            "open": f"Can't open the AOF manifest file {tmp_name}",
            "write": f"Error trying to write the temporary AOF manifest file {tmp_name}",
            "rename": f"Error trying to rename the temporary AOF manifest file {tmp_name} "
                      f"into {name}",
        })

    def replace_file(self, tmp: str, final: str, data: Any, failures: dict[str, str]) -> bool:
        """:func:`replace_synced`; a failure is logged as ``failures[stage]: reason``."""
        try:
            replace_synced(tmp, final, data)
        except SafeWriteError as exc:
            self.log.warning(f"{failures[exc.stage]}: {exc.strerror}")
            return False
        return True

    def make_dir(self) -> None:
        """Create appenddirname if needed; raises AOFLoadError("dir") (logged)."""
        try:
            os.makedirs(self.dirpath(), exist_ok=True)
        except OSError as exc:
            self.log.warning(f"Can't open or create append-only dir "
                             f"{self.cfg['appenddirname']}: {exc.strerror}")
            raise AOFLoadError("dir") from None

    def load_manifest_from_disk(self) -> None:
        """aofLoadManifestFromDisk: a missing directory or manifest means no AOF yet."""
        self.manifest = Manifest()
        if not os.path.isdir(self.dirpath()):
            self.log.debug(f"The AOF directory {self.cfg['appenddirname']} doesn't exist")
            return
        path = self.path(self.manifest_name())
        if not os.path.exists(path):
            self.log.debug(f"The AOF manifest file {self.manifest_name()} doesn't exist")
            return
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as exc:
            self.log.warning(f"Fatal error: can't open the AOF manifest file {path} for "
                             f"reading: {exc.strerror}")
            raise AOFLoadError("manifest") from None
        try:
            self.manifest = Manifest.parse(text)
        except ManifestError as exc:
            self.log.warning("\n*** FATAL AOF MANIFEST FILE ERROR ***\n")
            if exc.line is not None:
                self.log.warning(f"Reading the manifest file, at line {exc.linenum}\n")
                self.log.warning(f">>> '{exc.line}'\n")
            self.log.warning(f"{exc.message}\n")
            raise AOFLoadError("manifest") from None

    def upgrade_if_needed(self) -> None:
        """Move an old-style single AOF file (dir/appendonly.aof) into the AOF directory."""
        old = os.path.join(self.workdir(), self.filename)
        if not os.path.isfile(old):
            return
        m = self.manifest
        if not (not os.path.isdir(self.dirpath())
                or (m.base is None and not m.incr)
                or (m.base is not None and not m.incr and m.base[0] == self.filename
                    and not os.path.exists(self.path(self.filename)))):
            return
        self.make_dir()
        m = Manifest()
        m.base = (self.filename, 1)
        m.curr_base_seq = 1
        if not self.persist_manifest(m):
            raise AOFLoadError("manifest")
        try:
            os.rename(old, self.path(self.filename))
        except OSError as exc:
            self.log.warning(f"Error trying to move the old AOF file {self.filename} into dir "
                             f"{self.cfg['appenddirname']}: {exc.strerror}")
            raise AOFLoadError("upgrade") from None
        self.manifest = m
        self.log.notice(f"Successfully migrated an old-style AOF file ({self.filename}) into "
                        f"the AOF directory ({self.cfg['appenddirname']}).")

    # ---------------------------------------------------------------- loading

    def load_files(self) -> str:
        """loadAppendOnlyFiles: replay base and incr files; returns an AOF_* status."""
        self.upgrade_if_needed()
        m = self.manifest
        if m.base is None and not m.incr:
            return AOF_NOT_EXIST
        files = ([m.base[0]] if m.base else []) + [name for name, _ in m.incr]
        total = 0
        for name in files:
            try:
                total += os.stat(self.path(name)).st_size
            except OSError as exc:
                self.log.warning(f"Unable to obtain the AOF file {name} length. stat: "
                                 f"{exc.strerror}")
                return AOF_FAILED
        if total == 0:
            return AOF_EMPTY
        srv = self.server
        base_size = 0
        ret = AOF_OK
        n = len(files)
        for i, name in enumerate(files):
            is_base = m.base is not None and i == 0
            last = i == n - 1
            if is_base:
                base_size = os.stat(self.path(name)).st_size
            t0 = time.time()
            ret = self.load_single(name)
            if ret == AOF_OK or (ret == AOF_TRUNCATED and last):
                kind = "base" if is_base else "incr"
                srv.log.notice(f"DB loaded from {kind} file {name}: {time.time() - t0:.3f} seconds")
            if ret == AOF_EMPTY and not is_base:
                ret = AOF_OK
            if ret == AOF_TRUNCATED and not last:
                ret = AOF_FAILED
                srv.log.warning("Fatal error: the truncated file is not the last file")
            if ret in (AOF_OPEN_ERR, AOF_FAILED):
                return ret
        self.current_size = total
        self.base_size = base_size
        return ret

    def load_single(self, name: str) -> str:
        """loadSingleAppendOnlyFile: an RDB preamble/base and/or RESP commands."""
        srv = self.server
        log = srv.log
        path = self.path(name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError as exc:
            log.warning(f"The append log file {name} doesn't exist: {exc.strerror}")
            return AOF_NOT_EXIST
        except OSError as exc:
            log.warning(f"Fatal error: can't open the append log file {name} for reading: "
                        f"{exc.strerror}")
            return AOF_OPEN_ERR
        if not data:
            return AOF_EMPTY
        pos = 0
        if data[:5] == b"REDIS":
            old_style = name == self.filename
            if old_style:
                log.notice("Reading RDB preamble from AOF file...")
            else:
                log.notice("Reading RDB base file on AOF loading...")
            from . import persistence

            try:
                res = persistence.load_rdb_data(srv, data, aof_preamble=True)
            except rdb.RDBError:
                if old_style:
                    log.warning(f"Error reading the RDB preamble of the AOF file {name}, AOF "
                                f"loading aborted")
                else:
                    log.warning(f"Error reading the RDB base file {name}, AOF loading aborted")
                return AOF_FAILED
            pos = res.end
            if old_style:
                log.notice("Reading the remaining AOF tail...")
        return replay(srv, data, pos, name, path)

    # ---------------------------------------------------------------- start / stop

    def open_on_start(self) -> None:
        """aofOpenIfNeededOnServerStart: create a base for an empty AOF, open the incr file."""
        if self.state != ON:
            return
        self.make_dir()
        m = self.manifest
        had_incr = bool(m.incr)
        if m.base is None and not m.incr:
            base = self.new_base_name(m)
            if not self.write_base_sync(self.path(base)):
                raise AOFLoadError("base")
            self.log.notice(f"Creating AOF base file {base} on server start")
            self.base_size = os.path.getsize(self.path(base))
            self.current_size = self.base_size
        if m.incr:
            name = m.incr[-1][0]
        else:
            name = self.new_incr_name(m)
        try:
            self.fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            self.log.warning(f"Can't open the append-only file {name}: {exc.strerror}")
            raise AOFLoadError("open") from None
        if not self.persist_manifest(m):
            raise AOFLoadError("manifest")
        self.last_incr_size = os.fstat(self.fd).st_size
        if had_incr:
            self.log.notice(f"Opening AOF incr file {name} on server start")
        else:
            self.log.notice(f"Creating AOF incr file {name} on server start")

    def write_base_sync(self, final_path: str) -> bool:
        """rewriteAppendOnlyFile: write the current dataset to ``final_path`` now."""
        tmp = os.path.join(self.workdir(), f"temp-rewriteaof-{os.getpid()}.aof")
        write_failed = "Write error writing append only file on disk"
        return self.replace_file(tmp, final_path, self.snapshot(), {
            "open": write_failed,
            "write": write_failed,
            "rename": "Error moving temp append only file on the final destination",
        })

    def snapshot(self) -> Any:
        """The base file content for the current dataset: a callable producing the bytes
        (the dataset is walked now; compression and checksum happen when it is called)."""
        srv = self.server
        cfg = self.cfg
        if cfg["aof-use-rdb-preamble"]:
            parts = rdb.dump_parts(srv.keyspace, {"aof-base": 1},
                                   compress=cfg["rdbcompression"],
                                   limits=rdb.Limits.from_config(cfg))
            checksum = cfg["rdbchecksum"]
            return lambda: rdb.finish(rdb.assemble(parts), checksum)
        data = rewrite_commands(srv.keyspace, cfg["aof-timestamp-enabled"])
        return lambda: data

    def delete_history(self) -> None:
        """aofDelHistoryFiles."""
        m = self.manifest
        if not m.history:
            return
        for name, _ in m.history:
            self.log.notice(f"Removing the history file {name} in the background")
            _unlink(self.path(name))
        m.history = []
        self.persist_manifest(m)

    def start(self) -> bool:
        """startAppendOnly (CONFIG SET appendonly yes): rewrite first, then log writes."""
        srv = self.server
        from . import persistence

        self.state = WAIT_REWRITE
        if persistence.child_active(srv) and self.rewrite_task is None:
            self.rewrite_scheduled = True
            self.log.warning("AOF was enabled but there is already another background "
                             "operation. An AOF background was scheduled to start when "
                             "possible.")
        elif srv.in_exec:
            self.rewrite_scheduled = True
            self.log.warning("AOF was enabled during a transaction. An AOF background was "
                             "scheduled to start when possible.")
        else:
            if self.rewrite_task is not None:
                self.log.warning("AOF was enabled but there is already an AOF rewriting in "
                                 "background. Stopping background AOF and starting a rewrite "
                                 "now.")
                self.kill_rewrite()
            if not self.rewrite_background():
                self.state = OFF
                self.log.warning("Redis needs to enable the AOF but can't trigger a background "
                                 "AOF rewrite operation. Check the above logs for more info "
                                 "about the error.")
                return False
        self.last_fsync = time.time()
        if self.last_write_status != "ok":
            self.log.warning("AOF reopen, just ignore the last error.")
            self.last_write_status = "ok"
            self.on_status()
        return True

    def stop(self) -> None:
        """stopAppendOnly (CONFIG SET appendonly no)."""
        if self.state == OFF:
            return
        self.flush_pending()
        if self.fd is not None:
            try:
                os.fsync(self.fd)
                self.last_fsync = time.time()
            except OSError as exc:
                self.log.warning(f"Fail to fsync the AOF file: {exc.strerror}")
            _close(self.fd)
        self.fd = None
        self.selected_db = -1
        self.state = OFF
        self.rewrite_scheduled = False
        self.last_incr_size = 0
        self.kill_rewrite()
        self.pending = []

    def rewrite_limited(self) -> bool:
        """aofRewriteLimited: after 3 consecutive failures, wait 1, 2, 4 ... 60 minutes."""
        if self.consecutive_failures < 3:
            self.limit_delay_minutes = 0
            self.next_rewrite_time = 0.0
            return False
        now = time.time()
        if self.next_rewrite_time:
            if now < self.next_rewrite_time:
                return True
            self.next_rewrite_time = 0.0
            return False
        self.limit_delay_minutes = min(60, self.limit_delay_minutes * 2 or 1)
        self.next_rewrite_time = now + self.limit_delay_minutes * 60
        self.log.warning(f"Background AOF rewrite has repeatedly failed and triggered the "
                         f"limit, will retry in {self.limit_delay_minutes} minutes")
        return True

    def kill_rewrite(self) -> None:
        if self.rewrite_task is None:
            return
        self.log.notice(f"Killing running AOF rewrite child: {os.getpid()}")
        self.rewrite_cancelled = True
        self.rewrite_task = None
        self.rewrite_start = None
        _unlink(os.path.join(self.workdir(), f"temp-rewriteaof-bg-{os.getpid()}.aof"))

    def on_shutdown(self) -> None:
        if self.rewrite_task is not None:
            self.log.warning("There is a child rewriting the AOF. Killing it!")
            self.kill_rewrite()
        if self.state != OFF:
            self.log.notice("Calling fsync() on the AOF file.")
            self.flush_pending()
            if self.fd is not None:
                try:
                    os.fsync(self.fd)
                except OSError as exc:
                    self.log.warning(f"Fail to fsync the AOF file: {exc.strerror}.")

    # ---------------------------------------------------------------- writing

    def feed(self, db_index: int, argv: list[bytes]) -> None:
        """Propagate hook: append one write (with a SELECT when the db changes). PUBLISH
        and SPUBLISH go to replicas only, never to the AOF (as in Redis)."""
        if self.state == OFF or self.fd is None:
            return
        if argv[0].lower() in REPLICAS_ONLY:
            return
        parts: list[bytes] = []
        if self.cfg["aof-timestamp-enabled"]:
            now = int(time.time())
            if now > self.last_ts:
                parts.append(b"#TS:%d\r\n" % now)
                self.last_ts = now
        if db_index != self.selected_db:
            parts.append(_select(db_index))
            self.selected_db = db_index
        parts.append(encode_command(argv))
        self.write(b"".join(parts))

    def write(self, data: bytes) -> None:
        if self.pending:
            self.pending.append(data)
            return
        self._write_now(data)

    def _write_now(self, data: bytes) -> bool:
        fd = self.fd
        if fd is None:
            return False
        view = memoryview(data)
        try:
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except OSError as exc:
            if self.last_write_status == "ok":
                self.log.warning(f"Error writing to the AOF file: {exc.strerror}")
            self.last_write_status = "err"
            self.last_write_errno = exc.errno or 0
            self.pending = [bytes(view)]
            self.on_status()
            return False
        size = len(data)
        self.current_size += size
        self.last_incr_size += size
        if self.cfg["appendfsync"] == "always":
            try:
                os.fsync(fd)
                self.last_fsync = time.time()
            except OSError as exc:
                self.log.warning(f"Can't persist AOF for fsync error when the AOF fsync policy "
                                 f"is 'always': {exc.strerror}. Exiting...")
                self.fsync_status_ok = False
                self.on_status()
        return True

    def flush_pending(self) -> None:
        if not self.pending:
            return
        data = b"".join(self.pending)
        self.pending = []
        if self._write_now(data) and self.last_write_status == "err":
            self.log.warning("AOF write error looks solved, Redis can write again.")
            self.last_write_status = "ok"
            self.on_status()

    def cron(self) -> None:
        """Called every server cron tick: retry failed writes, fsync once a second."""
        if self.state == OFF:
            return
        if self.pending:
            self.flush_pending()
        if self.cfg["appendfsync"] != "everysec" or self.fd is None:
            return
        now = time.time()
        if now - self.last_fsync < 1 or self.fsync_in_progress:
            return
        self.last_fsync = now
        fd = self.fd
        loop = self.server.loop
        if loop is None:
            _fsync_quiet(fd)
            return
        self.fsync_in_progress = True

        def done(fut: "asyncio.Future[Any]") -> None:
            self.fsync_in_progress = False
            exc = fut.exception()
            ok = exc is None or isinstance(exc, OSError) and exc.errno == 9
            if ok != self.fsync_status_ok:
                self.fsync_status_ok = ok
                self.on_status()

        loop.run_in_executor(None, os.fsync, fd).add_done_callback(done)

    # ---------------------------------------------------------------- rewrite

    def rewrite_background(self) -> bool:
        """rewriteAppendOnlyFileBackground. Returns False (after logging) on failure."""
        srv = self.server
        try:
            os.makedirs(self.dirpath(), exist_ok=True)
        except OSError as exc:
            self.log.warning(f"Can't open or create append-only dir "
                             f"{self.cfg['appenddirname']}: {exc.strerror}")
            self.last_bgrewrite_status = "err"
            return False
        self.selected_db = -1
        self.flush_pending()
        if not self.open_new_incr():
            self.last_bgrewrite_status = "err"
            return False
        self.rewrites += 1
        data = self.snapshot()
        pid = os.getpid()
        tmp = os.path.join(self.workdir(), f"temp-rewriteaof-bg-{pid}.aof")
        self.log.notice(f"Background append only file rewriting started by pid {pid}")
        self.rewrite_scheduled = False
        self.rewrite_start = time.time()
        self.rewrite_cancelled = False
        loop = srv.loop
        if loop is None or not loop.is_running():
            fut: asyncio.Future[Any] = _done_future(write_synced, tmp, data)
            self.rewrite_task = fut
            self._rewrite_done(fut, tmp)
            return True
        fut = loop.run_in_executor(None, write_synced, tmp, data)
        self.rewrite_task = fut
        fut.add_done_callback(lambda f: self._rewrite_done(f, tmp) if self.rewrite_task is f
                              else None)
        return True

    def open_new_incr(self) -> bool:
        """openNewIncrAofForAppend."""
        if self.state == OFF:
            return True
        temp_m = None
        if self.state == WAIT_REWRITE:
            name = self.temp_incr_name()
        else:
            temp_m = self.manifest.copy()
            name = self.new_incr_name(temp_m)
        try:
            newfd = os.open(self.path(name), os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        except OSError as exc:
            self.log.warning(f"Can't open the append-only file {name}: {exc.strerror}")
            return False
        if temp_m is not None and not self.persist_manifest(temp_m):
            _close(newfd)
            return False
        self.log.notice(f"Creating AOF incr file {name} on background rewrite")
        if self.fd is not None:
            old = self.fd
            loop = self.server.loop
            if loop is not None and loop.is_running():
                loop.run_in_executor(None, _fsync_and_close, old)
            else:
                _fsync_and_close(old)
            self.last_fsync = time.time()
        self.fd = newfd
        self.last_incr_size = 0
        if temp_m is not None:
            self.manifest = temp_m
        return True

    def _rewrite_done(self, fut: "asyncio.Future[Any]", tmp: str) -> None:
        """backgroundRewriteDoneHandler."""
        log = self.log
        self.rewrite_task = None
        if self.rewrite_cancelled:
            self.rewrite_cancelled = False
            _unlink(tmp)
            return
        exc = fut.exception()
        start = self.rewrite_start or time.time()
        if exc is None:
            log.log(2, f"Successfully created the temporary AOF base file {os.path.basename(tmp)}",
                    role="C")
            log.log(2, "Fork CoW for AOF rewrite: current 0 MB, peak 0 MB, average 0 MB",
                    role="C")
            log.notice("Background AOF rewrite terminated with success")
            ok = self._install_rewrite(tmp)
        else:
            if isinstance(exc, (OSError, SafeWriteError)):
                log.log(3, f"Write error writing append only file on disk: {exc.strerror}",
                        role="C")
            log.warning("Background AOF rewrite terminated with error")
            ok = False
        if not ok:
            self.last_bgrewrite_status = "err"
            self.consecutive_failures += 1
        _unlink(tmp)
        if self.state == WAIT_REWRITE:
            if not ok:
                self.pending = []
                name = self.temp_incr_name()
                log.notice(f"Removing the temp incr aof file {name} in the background")
                _unlink(self.path(name))
                self.rewrite_scheduled = True
        self.last_rewrite_time = int(time.time() - start)
        self.rewrite_start = None

    def _install_rewrite(self, tmp: str) -> bool:
        log = self.log
        temp_m = self.manifest.copy()
        base = self.new_base_name(temp_m)
        base_path = self.path(base)
        try:
            os.rename(tmp, base_path)
        except OSError as exc:
            log.warning(f"Error trying to rename the temporary AOF base file "
                        f"{os.path.basename(tmp)} into {base_path}: {exc.strerror}")
            return False
        log.notice(f"Successfully renamed the temporary AOF base file {os.path.basename(tmp)} "
                   f"into {base}")
        new_incr_path = None
        if self.state == WAIT_REWRITE:
            temp_incr = self.temp_incr_name()
            new_incr = self.new_incr_name(temp_m)
            new_incr_path = self.path(new_incr)
            try:
                os.rename(self.path(temp_incr), new_incr_path)
            except OSError as exc:
                log.warning(f"Error trying to rename the temporary AOF incr file "
                            f"{self.path(temp_incr)} into {new_incr_path}: {exc.strerror}")
                _unlink(base_path)
                return False
            log.notice(f"Successfully renamed the temporary AOF incr file {temp_incr} into "
                       f"{new_incr}")
        # older incr files become history (all but the one being written)
        keep = temp_m.incr[-1:] if self.fd is not None else []
        old = temp_m.incr[:-1] if self.fd is not None else temp_m.incr
        for entry in old:
            temp_m.history.insert(0, entry)
        temp_m.incr = keep
        if not self.persist_manifest(temp_m):
            _unlink(base_path)
            if new_incr_path:
                _unlink(new_incr_path)
            return False
        self.manifest = temp_m
        if self.state != OFF:
            try:
                self.current_size = os.path.getsize(base_path) + self.last_incr_size
            except OSError:
                pass
            self.base_size = self.current_size
        self.delete_history()
        self.last_bgrewrite_status = "ok"
        self.consecutive_failures = 0
        log.notice("Background AOF rewrite finished successfully")
        if self.state == WAIT_REWRITE:
            self.state = ON
        return True

    # ---------------------------------------------------------------- config

    def config_changed(self, name: str, value: Any) -> None:
        if name != "appendonly":
            return
        if not value and self.state != OFF:
            self.stop()
        elif value and self.state == OFF:
            if not self.start():
                raise ConfigError("Unable to turn on AOF. Check server logs.")


# ====================================================================== replay


def _make_fake_client(server: "Server") -> Any:
    from .server import Client

    c = Client(server)
    c.authenticated = True
    c.flags.update(("aof", "loading"))
    c.addr = "?"
    c.name = b""
    return c


def replay(server: "Server", data: bytes, pos: int, name: str, path: str) -> str:
    """Run the RESP commands of an AOF file from ``pos`` through the command table with a
    fake client; handles MULTI/EXEC and a truncated tail (aof-load-truncated)."""
    log = server.log
    c = _make_fake_client(server)
    commands = server.commands
    n = len(data)
    valid_up_to = pos
    valid_before_multi = pos
    status = AOF_OK
    truncated = False
    try:
        while pos < n:
            first = data[pos]
            if first == 0x23:  # '#': annotation line
                nl = data.find(b"\n", pos)
                pos = n if nl < 0 else nl + 1
                continue
            if first != 0x2A:  # '*'
                return _fmt_error(log, name)
            nl = data.find(b"\n", pos)
            if nl < 0:
                truncated = True
                break
            try:
                argc = int(data[pos + 1:nl].strip() or b"0")
            except ValueError:
                argc = 0
            if argc < 1:
                return _fmt_error(log, name)
            p = nl + 1
            argv: list[bytes] = []
            for _ in range(argc):
                if p >= n:
                    truncated = True
                    break
                if data[p] != 0x24:  # '$'
                    return _fmt_error(log, name)
                nl = data.find(b"\n", p)
                if nl < 0:
                    truncated = True
                    break
                try:
                    ln = int(data[p + 1:nl].strip())
                except ValueError:
                    ln = 0
                p = nl + 1
                if p + ln + 2 > n:
                    truncated = True
                    break
                argv.append(data[p:p + ln])
                p += ln + 2
            if truncated:
                break
            cname = argv[0].lower()
            cmd = commands.get(cname)
            if cmd is not None and cmd.subcommands is not None:
                cmd = cmd.subcommands.get(argv[1].lower()) if len(argv) > 1 else None
            if cmd is None:
                log.warning(f"Unknown command '{argv[0].decode('utf-8', 'replace')}' reading "
                            f"the append only file {name}")
                return AOF_FAILED
            if cname == b"multi":
                valid_before_multi = valid_up_to
            if c.multi is not None and cname not in (b"exec", b"discard", b"multi"):
                c.multi.append((cmd, argv))
            else:
                _run(server, c, cmd, argv)
            pos = p
            valid_up_to = pos
        if not truncated:
            if c.multi is None:
                return status
            log.warning(f"Revert incomplete MULTI/EXEC transaction in AOF file {name}")
            valid_up_to = valid_before_multi
        # unexpected end of file
        if server.config["aof-load-truncated"]:
            log.warning(f"!!! Warning: short read while loading the AOF file {name}!!!")
            log.warning(f"!!! Truncating the AOF {name} at offset {valid_up_to} !!!")
            try:
                os.truncate(path, valid_up_to)
            except OSError as exc:
                log.warning(f"Error truncating the AOF file {name}: {exc.strerror}")
            else:
                log.warning(f"AOF {name} loaded anyway because aof-load-truncated is enabled")
                return AOF_TRUNCATED
        log.warning(f"Unexpected end of file reading the append only file {name}. You can: "
                    f"1) Make a backup of your AOF file, then use ./redis-check-aof --fix "
                    f"<filename.manifest>. 2) Alternatively you can set the "
                    f"'aof-load-truncated' configuration option to yes and restart the server.")
        return AOF_FAILED
    finally:
        c.multi = None


def _fmt_error(log: Any, name: str) -> str:
    log.warning(f"Bad file format reading the append only file {name}: make a backup of your "
                f"AOF file, then use ./redis-check-aof --fix <filename.manifest>")
    return AOF_FAILED


def _run(server: "Server", c: Any, cmd: Any, argv: list[bytes]) -> None:
    """Call a command handler for the AOF client (like cmd->proc(fakeClient))."""
    c.propagate_as = None
    c.last_cmd = cmd
    try:
        cmd.handler(c, argv)
    except CommandError:
        pass
    except Exception as exc:  # a malformed command must not abort loading
        server.log.warning(f"Error replaying '{argv[0].decode('utf-8', 'replace')}' from the "
                           f"append only file: {exc!r}")


# ====================================================================== helpers


def _done_future(fn: Any, *args: Any) -> "asyncio.Future[Any]":
    import concurrent.futures

    fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
    try:
        fut.set_result(fn(*args))
    except Exception as exc:
        fut.set_exception(exc)
    return fut  # type: ignore[return-value]


def _fsync_quiet(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError:
        pass


def _fsync_and_close(fd: int) -> None:
    _fsync_quiet(fd)
    _close(fd)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
