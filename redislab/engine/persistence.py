"""Persistence glue: loading at start, SAVE/BGSAVE, save points, AOF, INFO persistence.

:func:`load_at_start` is called by ``Server.load_data``. It installs:

* a propagate hook feeding the AOF (:class:`~redislab.engine.aof.AOF`),
* a cron hook (save points, scheduled BGSAVE/BGREWRITEAOF, AOF fsync every second,
  automatic AOF rewrite),
* the ``persistence`` INFO section (Redis 7.0's fields, in its order),
* a guard refusing writes with MISCONF after a failed BGSAVE / AOF write, as Redis does;
  it sits in ``server.guards`` only while a save or an AOF write has failed (Redis'
  ``writeCommandsDeniedByDiskError``), so writes pay nothing otherwise,
* a shutdown hook (fsync the AOF, drop a running background save),
* a config listener (``CONFIG SET appendonly yes|no``),

then loads the AOF (appendonly yes) or the RDB at ``dir``/``dbfilename``, logging the lines
Redis 7.0 logs. The engine does not fork: BGSAVE serializes the dataset in-process (a
consistent snapshot) and writes the file from a worker thread; the "child" log lines carry
role ``C`` like Redis' child's.

Other modules reuse :func:`rdb_aux` (repl-id/offset aux fields), :func:`bgsave`,
:func:`save_rdb`, :func:`load_rdb_data` and :func:`child_active`.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any, Callable

from . import errors as E
from . import rdb
from .aof import AOF, AOF_FAILED, AOF_NOT_EXIST, AOF_OPEN_ERR, AOFLoadError, ON
from .errors import CommandError
from .fileio import SafeWriteError, replace_synced

if TYPE_CHECKING:  # pragma: no cover
    from .server import Client, Server


class State:
    """Persistence counters and background jobs of one server."""

    def __init__(self, server: "Server"):
        self.server = server
        self.rdb_saves = 0
        self.bgsave_start: float | None = None
        self.last_bgsave_time = -1
        self.dirty_before_bgsave = 0
        self.lastbgsave_try = 0.0
        self.bgsave_scheduled = False
        self.bgsave_cancelled = False
        self.bgsave_callbacks: list[Callable[[bool], None]] = []
        self.keys_loaded = 0
        self.keys_expired = 0
        self.loaded_aux: dict[str, bytes] = {}
        self.aof = AOF(server)
        self.aof.on_status = self.refresh_guard
        self.installed = False

    # ------------------------------------------------------------------ hooks

    def cron(self) -> None:
        srv = self.server
        aof = self.aof
        if not child_active(srv):
            if aof.rewrite_scheduled and not aof.rewrite_limited():
                aof.rewrite_background()
            elif self.bgsave_scheduled:
                self.bgsave_scheduled = False
                bgsave(srv)
        if not child_active(srv):
            self._check_save_points()
            self._check_auto_rewrite()
        aof.cron()

    def _check_save_points(self) -> None:
        srv = self.server
        params = srv.config["save"]
        if not params:
            return
        now = time.time()
        changes = srv.keyspace.dirty - srv.dirty_at_save
        for seconds, need in params:
            if (changes >= need and now - srv.last_save > seconds
                    and (now - self.lastbgsave_try > 5 or srv.last_bgsave_status == "ok")):
                srv.log.notice(f"{need} changes in {seconds} seconds. Saving...")
                bgsave(srv)
                break

    def _check_auto_rewrite(self) -> None:
        srv = self.server
        aof = self.aof
        cfg = srv.config
        perc = cfg["auto-aof-rewrite-percentage"]
        if aof.state != ON or not perc or aof.current_size <= cfg["auto-aof-rewrite-min-size"]:
            return
        base = aof.base_size or 1
        growth = aof.current_size * 100 // base - 100
        if growth >= perc and not aof.rewrite_limited():
            srv.log.notice(f"Starting automatic rewriting of AOF on {growth}% growth")
            aof.rewrite_background()

    def write_failed(self) -> bool:
        """True while the last BGSAVE or an AOF write (or fsync) has failed."""
        aof = self.aof
        return (self.server.last_bgsave_status == "err" or aof.last_write_status != "ok"
                or not aof.fsync_status_ok)

    def refresh_guard(self) -> None:
        """Keep :meth:`guard` in ``server.guards`` only while a save or an AOF write has
        failed; call after any of those statuses changes. Redis checks the disk before
        min-replicas and READONLY, so the guard goes in before replication's."""
        if not self.installed:
            return
        guards = self.server.guards
        if self.write_failed():
            if self.guard not in guards:
                repl = getattr(self.server, "repl", None)
                repl_guard = getattr(repl, "guard", None)
                if repl_guard is not None and repl_guard in guards:
                    guards.insert(guards.index(repl_guard), self.guard)
                else:
                    guards.append(self.guard)
        elif self.guard in guards:
            guards.remove(self.guard)

    def guard(self, c: "Client", cmd: Any, args: list[bytes]) -> None:
        """MISCONF: refuse writes (and PING) after a failed BGSAVE or AOF write."""
        if not (cmd.is_write or cmd.name == "ping"):
            return
        if "master" in c.flags:
            return
        srv = self.server
        if srv.last_bgsave_status == "err":
            cfg = srv.config
            if cfg["stop-writes-on-bgsave-error"] and cfg["save"]:
                raise CommandError(E.MISCONF)
        aof = self.aof
        if aof.state != "off" and (aof.last_write_status != "ok" or not aof.fsync_status_ok):
            raise CommandError("MISCONF Errors writing to the AOF file: "
                               + os.strerror(aof.last_write_errno or 5))

    def on_shutdown(self) -> None:
        srv = self.server
        if srv.bgsave_task is not None:
            srv.log.warning("There is a child saving an .rdb. Killing it!")
            self.bgsave_cancelled = True
            srv.bgsave_task = None
            self.bgsave_start = None
        self.aof.on_shutdown()

    def config_changed(self, name: str, value: Any) -> None:
        self.aof.config_changed(name, value)

    def info(self) -> list[tuple[str, Any]]:
        srv = self.server
        aof = self.aof
        now = time.time()
        bg = srv.bgsave_task is not None
        rw = aof.rewrite_task is not None
        fields: list[tuple[str, Any]] = [
            ("loading", 1 if srv.loading else 0),
            ("async_loading", 0),
            ("current_cow_peak", 0),
            ("current_cow_size", 0),
            ("current_cow_size_age", 0),
            ("current_fork_perc", "0.00"),
            ("current_save_keys_processed", 0),
            ("current_save_keys_total", 0),
            ("rdb_changes_since_last_save", srv.keyspace.dirty - srv.dirty_at_save),
            ("rdb_bgsave_in_progress", 1 if bg else 0),
            ("rdb_last_save_time", int(srv.last_save)),
            ("rdb_last_bgsave_status", srv.last_bgsave_status),
            ("rdb_last_bgsave_time_sec", self.last_bgsave_time),
            ("rdb_current_bgsave_time_sec",
             int(now - self.bgsave_start) if bg and self.bgsave_start else -1),
            ("rdb_saves", self.rdb_saves),
            ("rdb_last_cow_size", 0),
            ("rdb_last_load_keys_expired", self.keys_expired),
            ("rdb_last_load_keys_loaded", self.keys_loaded),
            ("aof_enabled", 0 if aof.state == "off" else 1),
            ("aof_rewrite_in_progress", 1 if rw else 0),
            ("aof_rewrite_scheduled", 1 if aof.rewrite_scheduled else 0),
            ("aof_last_rewrite_time_sec", aof.last_rewrite_time),
            ("aof_current_rewrite_time_sec",
             int(now - aof.rewrite_start) if rw and aof.rewrite_start else -1),
            ("aof_last_bgrewrite_status", aof.last_bgrewrite_status),
            ("aof_rewrites", aof.rewrites),
            ("aof_rewrites_consecutive_failures", aof.consecutive_failures),
            ("aof_last_write_status",
             "ok" if aof.last_write_status == "ok" and aof.fsync_status_ok else "err"),
            ("aof_last_cow_size", 0),
            ("module_fork_in_progress", 0),
            ("module_fork_last_cow_size", 0),
        ]
        if srv.config["appendonly"]:
            fields += [
                ("aof_current_size", aof.current_size),
                ("aof_base_size", aof.base_size),
                ("aof_pending_rewrite", 1 if aof.rewrite_scheduled else 0),
                ("aof_buffer_length", sum(len(p) for p in aof.pending)),
                ("aof_pending_bio_fsync", 1 if aof.fsync_in_progress else 0),
                ("aof_delayed_fsync", aof.delayed_fsync),
            ]
        return fields


def get_state(server: "Server") -> State:
    st = getattr(server, "persistence", None)
    if st is None:
        st = State(server)
        server.persistence = st  # type: ignore[attr-defined]
    return st


def install(server: "Server") -> State:
    """Install the hooks (idempotent)."""
    st = get_state(server)
    if st.installed:
        return st
    st.installed = True
    server.propagate_hooks.append(st.aof.feed)
    server.cron_hooks.append(st.cron)
    server.info_providers["persistence"] = st.info
    st.refresh_guard()
    server.shutdown_hooks.append(st.on_shutdown)
    server.config.on_change(st.config_changed)
    return st


def child_active(server: "Server") -> bool:
    """Redis' hasActiveChildProcess(): a BGSAVE or an AOF rewrite is running."""
    st = get_state(server)
    return server.bgsave_task is not None or st.aof.rewrite_task is not None


def workdir(server: "Server") -> str:
    return server.config["dir"] or "."


def rdb_path(server: "Server") -> str:
    return os.path.join(workdir(server), server.config["dbfilename"])


# ====================================================================== loading


def load_at_start(server: "Server") -> None:
    """Install the persistence hooks and load the AOF or the RDB (Redis' loadDataFromDisk).
    A load failure is logged as Redis logs it and ends the process (SystemExit(1))."""
    st = install(server)
    log = server.log
    start = time.time()
    aof = st.aof
    server.loading = True
    try:
        try:
            aof.load_manifest_from_disk()  # read even with appendonly no, as Redis does
        except AOFLoadError:
            raise SystemExit(1) from None
        if server.config["appendonly"]:
            aof.state = ON
            try:
                ret = _with_quiet_propagation(server, aof.load_files)
            except AOFLoadError:
                raise SystemExit(1) from None
            if ret in (AOF_FAILED, AOF_OPEN_ERR):
                raise SystemExit(1)
            if ret != AOF_NOT_EXIST:
                log.notice(f"DB loaded from append only file: {time.time() - start:.3f} seconds")
        else:
            _load_rdb_file(server, start)
        try:
            aof.open_on_start()
            aof.delete_history()
        except AOFLoadError:
            raise SystemExit(1) from None
    finally:
        server.loading = False


def _with_quiet_propagation(server: "Server", fn: Callable[[], Any]) -> Any:
    """Run ``fn`` with the propagate hooks detached (loading must not feed replicas/AOF)."""
    hooks = server.propagate_hooks
    saved = list(hooks)
    hooks.clear()
    try:
        return fn()
    finally:
        hooks[:0] = saved


def _load_rdb_file(server: "Server", start: float) -> None:
    log = server.log
    path = rdb_path(server)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning(f"Fatal error loading the DB: {exc.strerror}. Exiting.")
        raise SystemExit(1) from None
    try:
        res = load_rdb_data(server, data)
    except rdb.RDBError:
        raise SystemExit(1) from None
    log.notice(f"DB loaded from disk: {time.time() - start:.3f} seconds")
    st = get_state(server)
    st.loaded_aux = dict(res)


def load_rdb_data(server: "Server", data: bytes, *, aof_preamble: bool = False,
                  is_master: bool | None = None) -> rdb.LoadResult:
    """Load RDB bytes into the server's keyspace with Redis' log lines (aux fields, expired
    and empty keys, the final count). On error the failure is logged as Redis does and the
    :class:`~redislab.engine.rdb.RDBError` is re-raised (the caller decides to exit)."""
    log = server.log
    st = get_state(server)
    if is_master is None:
        is_master = server.role != "slave"
    st.keys_loaded = 0
    st.keys_expired = 0
    try:
        res = rdb.load(data, server.keyspace, is_master=is_master, aof_preamble=aof_preamble,
                       verify_checksum=server.config["rdbchecksum"])
    except rdb.RDBError as exc:
        _log_aux(server, exc.aux)
        _log_rdb_error(server, exc)
        raise
    _log_aux(server, res)
    for db_index, key in res.expired_keys:  # Redis feeds these DELs to the backlog
        server.propagate(db_index, [b"DEL", key])
    for i, (_, key) in enumerate(res.empty_keys_skipped):
        if i < 10:
            log.warning(f"rdbLoadObject skipping empty key: {key.decode('utf-8', 'replace')}")
    if res.checksum == "disabled":
        log.warning("RDB file was saved with checksum disabled: no check performed.")
    st.keys_loaded = res.keys_loaded
    st.keys_expired = res.keys_expired
    if res.empty_keys_skipped:
        log.warning(f"Done loading RDB, keys loaded: {res.keys_loaded}, keys expired: "
                    f"{res.keys_expired}, empty keys skipped: {len(res.empty_keys_skipped)}.")
    else:
        log.notice(f"Done loading RDB, keys loaded: {res.keys_loaded}, keys expired: "
                   f"{res.keys_expired}.")
    return res


def _log_aux(server: "Server", aux: dict[str, bytes]) -> None:
    log = server.log
    for name, value in aux.items():
        text = value.decode("utf-8", "replace")
        low = name.lower()
        if name.startswith("%"):
            log.notice(f"RDB '{name}': {text}")
        elif low == "redis-ver":
            log.notice(f"Loading RDB produced by version {text}")
        elif low == "ctime":
            age = int(time.time()) - _to_int(text)
            log.notice(f"RDB age {max(0, age)} seconds")
        elif low == "used-mem":
            log.notice(f"RDB memory usage when created {_to_int(text) / (1024 * 1024):.2f} Mb")
        elif low == "aof-preamble":
            if _to_int(text):
                log.notice("RDB has an AOF tail")
        elif low == "aof-base":
            if _to_int(text):
                log.notice("RDB is base AOF")
        elif low in ("repl-stream-db", "repl-id", "repl-offset", "lua", "redis-bits"):
            pass
        else:
            log.debug(f"Unrecognized RDB AUX field: '{name}'")


def _to_int(text: str) -> int:
    digits = ""
    for i, ch in enumerate(text.strip()):
        if ch.isdigit() or (i == 0 and ch in "+-"):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


def _log_rdb_error(server: "Server", exc: rdb.RDBError) -> None:
    log = server.log
    kind = exc.kind
    if kind in ("signature", "version"):
        log.warning(exc.reason)
        log.warning("Fatal error loading the DB: Invalid argument. Exiting.")
        return
    if kind == "dbnum":
        log.warning(exc.reason)
        return
    if kind == "duplicate":
        log.warning(exc.reason)
        log.warning("Guru Meditation: Duplicated key found in RDB file #rdb.c")
        return
    offset = exc.offset or 0
    if kind == "eof":
        log.warning("Short read or OOM loading DB. Unrecoverable error, aborting now.")
        log.warning(f"Internal error in RDB reading offset {offset}, function at rdb.py -> "
                    f"Unexpected EOF reading RDB file")
    elif kind == "checksum":
        log.warning(exc.reason)
        log.warning(f"Internal error in RDB reading offset {offset}, function at rdb.py -> "
                    f"RDB CRC error")
    else:
        log.warning(f"Internal error in RDB reading offset {offset}, function at rdb.py -> "
                    f"{exc.reason}")
    log.warning("Terminating server after rdb file reading failure.")


# ====================================================================== saving


def rdb_aux(server: "Server", aof_base: bool = False) -> dict[str, str | int | bytes]:
    """Aux fields describing the replication state (rdbPopulateSaveInfo): repl-stream-db,
    repl-id and repl-offset when the instance is in a replication chain (asked to the
    replication module; without it, whenever ``server.repl_id`` is set); plus ``aof-base``."""
    aux: dict[str, str | int | bytes] = {}
    try:
        from .replication import save_info
    except ImportError:  # pragma: no cover - replication module absent
        save_info = None
    if save_info is not None and getattr(server, "repl", None) is not None:
        info = save_info(server)  # rdbPopulateSaveInfo: None outside a replication chain
        if info:
            aux.update(info)
        aux["aof-base"] = 1 if aof_base else 0
        return aux
    repl_id = getattr(server, "repl_id", None)
    if repl_id:
        stream_db = getattr(server, "repl_stream_db", 0)
        if stream_db is None or stream_db < 0:
            stream_db = 0
        aux["repl-stream-db"] = stream_db
        aux["repl-id"] = repl_id
        aux["repl-offset"] = getattr(server, "master_repl_offset", 0) or 0
    aux["aof-base"] = 1 if aof_base else 0
    return aux


def snapshot(server: "Server") -> list[Any]:
    """The current dataset as RDB body parts (see :func:`rdb.dump_parts`): taken on the
    event loop, finished (compression, checksum) by whoever writes it."""
    cfg = server.config
    return rdb.dump_parts(server.keyspace, rdb_aux(server), compress=cfg["rdbcompression"],
                          limits=rdb.Limits.from_config(cfg))


def _write_rdb(server: "Server", parts: list[Any], checksum: bool, *, log: Any,
               cancelled: Callable[[], bool] = lambda: False) -> None:
    """Write temp-<pid>.rdb in dir, fsync, rename over dbfilename. Raises _SaveError."""
    wd = workdir(server)
    tmp_name = f"temp-{os.getpid()}.rdb"
    data = rdb.finish(rdb.assemble(parts), checksum)
    try:
        replace_synced(os.path.join(wd, tmp_name), rdb_path(server), data, cancelled)
    except SafeWriteError as exc:
        if exc.stage == "open":
            raise _SaveError(f"Failed opening the temp RDB file {tmp_name} (in server root "
                             f"dir {os.path.abspath(wd)}) for saving: {exc.strerror}") from None
        if exc.stage == "write":
            raise _SaveError(f"Write error saving DB on disk(rdbSaveRio): {exc.strerror}"
                             ) from None
        if exc.stage == "cancelled":
            raise _SaveError("cancelled") from None
        raise _SaveError(f"Error moving temp DB file {tmp_name} on the final destination "
                         f"{server.config['dbfilename']} (in server root dir "
                         f"{os.path.abspath(wd)}): {exc.strerror}") from None


class _SaveError(Exception):
    pass


def save_rdb(server: "Server") -> bool:
    """Synchronous save (SAVE, SHUTDOWN, save on exit): True on success."""
    log = server.log
    try:
        body = snapshot(server)
        _write_rdb(server, body, server.config["rdbchecksum"], log=log)
    except _SaveError as exc:
        log.warning(str(exc))
        return False
    except OSError as exc:  # pragma: no cover - defensive
        log.warning(f"Write error saving DB on disk(rdbSaveRio): {exc.strerror}")
        return False
    log.notice("DB saved on disk")
    server.dirty_at_save = server.keyspace.dirty
    server.last_save = int(time.time())
    server.last_bgsave_status = "ok"
    get_state(server).refresh_guard()
    return True


def bgsave(server: "Server", on_done: Callable[[bool], None] | None = None) -> bool:
    """Start a background save (rdbSaveBackground). False if one is already running (or
    the snapshot could not be taken). ``on_done(ok)`` is called when it finishes."""
    st = get_state(server)
    if child_active(server):
        return False
    log = server.log
    st.rdb_saves += 1
    st.dirty_before_bgsave = server.keyspace.dirty
    st.lastbgsave_try = time.time()
    try:
        body = snapshot(server)
    except Exception as exc:  # pragma: no cover - defensive
        server.last_bgsave_status = "err"
        get_state(server).refresh_guard()
        log.warning(f"Can't save in background: fork: {exc}")
        return False
    pid = os.getpid()
    log.notice(f"Background saving started by pid {pid}")
    st.bgsave_start = time.time()
    st.bgsave_cancelled = False
    if on_done is not None:
        st.bgsave_callbacks.append(on_done)
    checksum = server.config["rdbchecksum"]
    loop = server.loop

    def work() -> None:
        _write_rdb(server, body, checksum, log=log, cancelled=lambda: st.bgsave_cancelled)

    if loop is None or not loop.is_running():
        import concurrent.futures

        fut: Any = concurrent.futures.Future()
        try:
            work()
            fut.set_result(None)
        except Exception as exc:
            fut.set_exception(exc)
        server.bgsave_task = fut
        _bgsave_done(server, fut)
        return True
    task = loop.run_in_executor(None, work)
    server.bgsave_task = task
    task.add_done_callback(lambda f: _bgsave_done(server, f))
    return True


def _bgsave_done(server: "Server", fut: Any) -> None:
    """backgroundSaveDoneHandlerDisk."""
    st = get_state(server)
    log = server.log
    if server.bgsave_task is not fut:  # killed (shutdown)
        return
    server.bgsave_task = None
    exc = fut.exception()
    now = time.time()
    ok = exc is None
    if ok:
        log.log(2, "DB saved on disk", role="C")
        log.log(2, "Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB", role="C")
        log.notice("Background saving terminated with success")
        server.dirty_at_save = st.dirty_before_bgsave
        server.last_save = int(now)
        server.last_bgsave_status = "ok"
        get_state(server).refresh_guard()
    else:
        if isinstance(exc, _SaveError):
            log.log(3, str(exc), role="C")
        elif isinstance(exc, OSError):
            log.log(3, f"Write error saving DB on disk(rdbSaveRio): {exc.strerror}", role="C")
        log.warning("Background saving error")
        server.last_bgsave_status = "err"
        get_state(server).refresh_guard()
    if st.bgsave_start is not None:
        st.last_bgsave_time = int(now - st.bgsave_start)
    st.bgsave_start = None
    callbacks, st.bgsave_callbacks = st.bgsave_callbacks, []
    for cb in callbacks:
        try:
            cb(ok)
        except Exception as cb_exc:  # pragma: no cover - a callback must not break us
            log.warning(f"bgsave callback failed: {cb_exc!r}")


async def wait_bgsave(server: "Server") -> None:
    """Wait until a running BGSAVE has finished (tests, replication)."""
    while server.bgsave_task is not None:
        await asyncio.sleep(0.01)
