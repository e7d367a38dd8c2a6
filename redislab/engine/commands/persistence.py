"""Persistence commands: SAVE, BGSAVE [SCHEDULE], LASTSAVE, BGREWRITEAOF, DUMP, RESTORE."""

from __future__ import annotations

from typing import Any

from .. import errors as E
from .. import persistence as P
from .. import rdb
from ..errors import CommandError
from ..keyspace import now_ms
from ..resp import OK, Simple
from . import command
from .util import parse_int

BUSYKEY = "BUSYKEY Target key name already exists."
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"
BAD_TTL = "ERR Invalid TTL value, must be >= 0"
BAD_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
BAD_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
AOF_BUSY = "ERR Background append only file rewriting already in progress"
AOF_CANT = ("ERR Can't execute an AOF background rewriting. Please check the server logs for "
            "more information.")
BGSAVE_CHILD = ("ERR Another child process is active (AOF?): can't BGSAVE right now. Use "
                "BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")


def _in_exec(c: Any) -> bool:
    return c.server.in_exec


@command("save", 1, "admin noscript no_async_loading no_multi", group="server")
def save(c: Any, args: list[bytes]) -> Any:
    srv = c.server
    if srv.bgsave_task is not None:
        raise CommandError(E.BUSY_SAVE)
    st = P.get_state(srv)
    st.rdb_saves += 1
    if P.save_rdb(srv):
        return OK
    raise CommandError("ERR")


@command("bgsave", -1, "admin noscript no_async_loading", group="server")
def bgsave(c: Any, args: list[bytes]) -> Any:
    schedule = False
    if len(args) > 1:
        if len(args) == 2 and args[1].lower() == b"schedule":
            schedule = True
        else:
            raise CommandError(E.SYNTAX)
    srv = c.server
    st = P.get_state(srv)
    if srv.bgsave_task is not None:
        raise CommandError(E.BUSY_SAVE)
    if P.child_active(srv) or _in_exec(c):
        if schedule or _in_exec(c):
            st.bgsave_scheduled = True
            return Simple(b"Background saving scheduled")
        raise CommandError(BGSAVE_CHILD)
    if P.bgsave(srv):
        return Simple(b"Background saving started")
    raise CommandError("ERR")


@command("lastsave", 1, "loading stale fast", group="server")
def lastsave(c: Any, args: list[bytes]) -> Any:
    return int(c.server.last_save)


@command("bgrewriteaof", 1, "admin noscript no_async_loading", group="server")
def bgrewriteaof(c: Any, args: list[bytes]) -> Any:
    srv = c.server
    aof = P.get_state(srv).aof
    if aof.rewrite_task is not None:
        raise CommandError(AOF_BUSY)
    if P.child_active(srv) or _in_exec(c):
        aof.rewrite_scheduled = True
        aof.consecutive_failures = 0
        return Simple(b"Background append only file rewriting scheduled")
    if aof.rewrite_background():
        return Simple(b"Background append only file rewriting started")
    raise CommandError(AOF_CANT)


@command("dump", 2, "readonly", keys=(1, 1, 1), group="generic")
def dump(c: Any, args: list[bytes]) -> Any:
    value = c.db.lookup(args[1])
    if value is None:
        return None
    cfg = c.server.config
    return rdb.dump_value(value, compress=cfg["rdbcompression"],
                          limits=rdb.Limits.from_config(cfg))


@command("restore", -4, "write denyoom", keys=(1, 1, 1), group="generic")
def restore(c: Any, args: list[bytes]) -> Any:
    replace = absttl = False
    idletime = freq = -1
    j = 4
    n = len(args)
    while j < n:
        opt = args[j].lower()
        more = n - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idletime = parse_int(args[j + 1])
            if idletime < 0:
                raise CommandError(BAD_IDLETIME)
            j += 1
        elif opt == b"freq" and more >= 1 and idletime == -1:
            freq = parse_int(args[j + 1])
            if freq < 0 or freq > 255:
                raise CommandError(BAD_FREQ)
            j += 1
        else:
            raise CommandError(E.SYNTAX)
        j += 1
    db = c.db
    key = args[1]
    if not replace and db.exists(key):
        raise CommandError(BUSYKEY)
    ttl = parse_int(args[2])
    if ttl < 0:
        raise CommandError(BAD_TTL)
    try:
        value = rdb.load_value(args[3])
    except rdb.RDBError as exc:
        if exc.kind == "checksum":
            raise CommandError(BAD_PAYLOAD) from None
        c.server.log.verbose(f"Internal error in RDB reading offset 0, function at rdb.py -> "
                             f"{exc.reason}")
        raise CommandError(BAD_FORMAT) from None
    deleted = False
    if replace and key in db.data:
        deleted = db.exists(key)
        db._drop(key)
    if ttl and not absttl:
        ttl += now_ms()
    srv = c.server
    if ttl and ttl <= now_ms() and not srv.loading and srv.role != "slave":
        if deleted:
            c.propagate_as = [b"DEL", key]
            db.modified(key)
        return OK
    db.set(key, value)
    if ttl:
        db.expires[key] = ttl
        if not absttl:
            c.propagate_as = [args[0], key, str(ttl).encode(), *args[3:], b"ABSTTL"]
    return OK
