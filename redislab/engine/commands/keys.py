"""Generic key commands: DEL, UNLINK, EXISTS, KEYS, SCAN, TYPE, RENAME(NX), the EXPIRE and
TTL families, PERSIST, DBSIZE, FLUSHDB, FLUSHALL, RANDOMKEY, MOVE, COPY, TOUCH, OBJECT.

Besides the commands, this module keeps a little per-server side state that Redis stores in
its object headers and that our plain Python values have no room for (see :class:`Tracker`):

* the last access time and the LFU counter of each key (OBJECT IDLETIME / FREQ), updated
  by a ``server.access_hooks`` entry that sees the key arguments of every command as it
  runs (Redis touches them in ``lookupKey``; a queued command inside EXEC, not when queued);
* string encodings that cannot be derived from the bytes alone (APPEND and SETRANGE leave a
  ``raw`` string, INCRBYFLOAT an ``embstr`` one even when the text looks like an integer);
* the ordered key index SCAN walks, so a cursor stays valid while keys come and go.
"""

from __future__ import annotations

import bisect
import copy as _copy
import locale
import random
import time
from collections import deque
from itertools import islice
from typing import Any

from .. import errors as E
from ..errors import CommandError
from ..glob import match as glob_match
from ..keyspace import TYPE_NAMES, Database, ZSet, now_ms
from ..resp import OK, Simple
from . import command, container, subcommand
from .util import INT64_MAX, parse_int, strtod_sort

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
MASK64 = 2**64 - 1
SHARED_INTEGERS = 10000  # OBJ_SHARED_INTEGERS
SHARED_REFCOUNT = 2**31 - 1  # OBJ_SHARED_REFCOUNT (INT_MAX)
EMBSTR_LIMIT = 44  # OBJ_ENCODING_EMBSTR_SIZE_LIMIT
LFU_INIT_VAL = 5

# Commands that look keys up with LOOKUP_NOTOUCH: they leave the access time alone.
NOTOUCH = frozenset({
    "exists", "type", "ttl", "pttl", "expiretime", "pexpiretime", "object|encoding",
    "object|freq", "object|idletime", "object|refcount", "object|help", "memory|usage",
    # sharded pub/sub routes by channel like a key, but a channel is not a key
    "ssubscribe", "sunsubscribe", "spublish",
})


# --------------------------------------------------------------------------- side state


def _is_lfu(server: Any) -> bool:
    return "lfu" in server.config["maxmemory-policy"]


def _lfu_minutes() -> int:
    return (int(time.time()) // 60) & 65535


class _ScanIndex:
    """The keys of one database ordered by a 64-bit hash (the order SCAN visits them in)."""

    __slots__ = ("data", "dirty", "hashes", "keys", "members")

    def __init__(self, data: dict, dirty: int):
        pairs = sorted((hash(k) & MASK64, k) for k in data)
        self.data = data
        self.dirty = dirty
        self.hashes = [h for h, _ in pairs]
        self.keys = [k for _, k in pairs]
        self.members = set(data)

    def add_new_keys(self, data: dict, writes: int) -> bool:
        """Insert the keys added since the index was built; False if a rebuild is cheaper.

        A dict iterates in insertion order and every key added (or re-added) bumps the dirty
        counter, so the keys added since the index was built are among the last ``writes``
        keys of the dict."""
        if writes < 0 or writes > len(data) // 8 + 64:
            return False
        members = self.members
        hashes, keys = self.hashes, self.keys
        it = reversed(data)
        for _ in range(min(writes, len(data))):
            k = next(it)
            if k in members:
                continue
            h = hash(k) & MASK64
            pos = bisect.bisect_left(hashes, h)
            hashes.insert(pos, h)
            keys.insert(pos, k)
            members.add(k)
        return True


class Tracker:
    """Per-server state of this family (attached to the server on first use).

    Access times are kept lean because :meth:`accessed` runs before every command: one dict per
    database mapping key -> the LRU clock (whole seconds, one shared int object per tick)
    or, under an LFU policy, key -> [counter, minutes]. Entries of keys that are gone are
    purged from the cron, not on the command path.
    """

    def __init__(self, server: Any):
        self.server = server
        # per db index: key -> LRU clock (s) or [LFU counter, LFU minutes]
        self.access: list[dict[bytes, Any]] = [{} for _ in server.keyspace.dbs]
        # (db index, key) -> (value object, encoding, refcount): encodings that cannot be
        # computed from the value alone (a raw string that looks like an integer, a zset
        # SORT converted, a hash that once outgrew its listpack...); an entry is valid
        # while the key holds that very object
        self.enc: dict[tuple[int, bytes], tuple[Any, bytes, int]] = {}
        self.scan: dict[int, _ScanIndex] = {}
        self.born_s = int(server.start_time)
        self.clock = int(time.time())
        self.lfu = _is_lfu(server)
        self._last_purge = 0.0
        server.access_hooks.append(self.accessed)
        server.cron_hooks.append(self.cron)
        server.config.on_change(self._config_changed)

    # ------------------------------------------------------------- access tracking

    def _config_changed(self, name: str, value: Any) -> None:
        if name == "maxmemory-policy":
            self.lfu = "lfu" in str(value)

    def cron(self) -> None:
        now = time.time()
        self.clock = int(now)
        self.lfu = _is_lfu(self.server)
        if now - self._last_purge >= 1.0:
            self._last_purge = now
            tracked = sum(len(t) for t in self.access) + len(self.enc)
            if tracked > 2 * self.server.keyspace.total_keys() + 1024:
                self.purge()

    def _table(self, index: int) -> dict[bytes, Any]:
        access = self.access
        while index >= len(access):
            access.append({})
        return access[index]

    def accessed(self, c: Any, cmd: Any, args: list[bytes]) -> None:
        """Runs as every command is executed: its key arguments count as accessed."""
        # what to touch is decided once per command: 0 nothing, 1 its one key, 2 its keys
        how = cmd.__dict__.get("_touch")
        if how is None:
            first = cmd.first_key
            how = cmd.__dict__["_touch"] = (
                0 if first <= 0 or cmd.fullname in NOTOUCH else
                1 if cmd.last_key == first else 2)
        if not how:
            return
        if how == 1 and not self.lfu:  # the common case: one key, LRU
            first = cmd.first_key
            if len(args) > first:
                try:
                    self.access[c.db.index][args[first]] = self.clock
                except IndexError:
                    self._table(c.db.index)[args[first]] = self.clock
            return
        table = self._table(c.db.index)
        if self.lfu:
            for i in cmd.key_positions(args):
                self.touch(c.db, args[i])
        else:
            clock = self.clock
            for i in cmd.key_positions(args):
                table[args[i]] = clock

    def touch(self, db: Database, key: bytes) -> None:
        table = self._table(db.index)
        if not self.lfu:
            table[key] = self.clock
            return
        ent = table.get(key)
        if key not in db.data or not isinstance(ent, list):
            # a missing key that the command may create starts at LFU_INIT_VAL
            ent = table[key] = [LFU_INIT_VAL, _lfu_minutes()]
            if key not in db.data:
                return
        counter = self._lfu_decr(ent)
        if counter < 255:
            base = max(0, counter - LFU_INIT_VAL)
            if random.random() < 1.0 / (base * self.server.config["lfu-log-factor"] + 1):
                counter += 1
        ent[0] = counter
        ent[1] = _lfu_minutes()

    def _lfu_decr(self, ent: list[int]) -> int:
        now = _lfu_minutes()
        elapsed = now - ent[1] if now >= ent[1] else 65535 - ent[1] + now
        decay = self.server.config["lfu-decay-time"]
        periods = elapsed // decay if decay else 0
        counter = ent[0]
        if periods:
            counter = 0 if periods > counter else counter - periods
        return counter

    def idle_seconds(self, db: Database, key: bytes) -> int:
        when = self._table(db.index).get(key)
        if not isinstance(when, int):
            when = self.born_s
        return max(0, self.clock - when)  # the cached LRU clock, as Redis' LRU_CLOCK()

    def frequency(self, db: Database, key: bytes) -> int:
        ent = self._table(db.index).get(key)
        if not isinstance(ent, list):
            return LFU_INIT_VAL
        return self._lfu_decr(ent)

    def forget(self, db: Database, key: bytes) -> None:
        self._table(db.index).pop(key, None)

    def purge(self) -> None:
        """Drop what is kept about keys that no longer exist."""
        dbs = self.server.keyspace.dbs
        for index, table in enumerate(self.access):
            data = dbs[index].data if index < len(dbs) else {}
            for key in [k for k in table if k not in data]:
                del table[key]
        gone = [s for s in self.enc if s[0] >= len(dbs) or s[1] not in dbs[s[0]].data]
        for slot in gone:
            del self.enc[slot]

    # ------------------------------------------------------------- key moves

    def moved(self, src: Database, key: bytes, dst: Database, newkey: bytes) -> None:
        """The object at ``key`` of ``src`` now lives at ``newkey`` of ``dst`` (RENAME,
        MOVE): its access time and encoding go with it."""
        a_src, a_dst = self._table(src.index), self._table(dst.index)
        ent = a_src.pop(key, None)
        if ent is None:
            a_dst.pop(newkey, None)
        else:
            a_dst[newkey] = ent
        old, new = (src.index, key), (dst.index, newkey)
        enc = self.enc.pop(old, None)
        if enc is None:
            self.enc.pop(new, None)
        else:
            self.enc[new] = enc

    def forget_db(self, index: int | None) -> None:
        """After FLUSHDB (one index) or FLUSHALL (None)."""
        if index is None:
            for table in self.access:
                table.clear()
            self.enc.clear()
            self.scan.clear()
            return
        self._table(index).clear()
        for slot in [s for s in self.enc if s[0] == index]:
            del self.enc[slot]
        self.scan.pop(index, None)

    # ------------------------------------------------------------- encodings

    def set_encoding(self, db: Database, key: bytes, value: Any, enc: bytes | None,
                     refcount: int = 1) -> None:
        """Record the encoding of the object now at ``key`` (None: computed from it)."""
        if enc is None:
            if self.enc:
                self.enc.pop((db.index, key), None)
        else:
            self.enc[(db.index, key)] = (value, enc, refcount)


def tracker(server: Any) -> Tracker:
    """The :class:`Tracker` of ``server`` (created, and its hooks installed, on first use)."""
    t = server.__dict__.get("_keys_tracker")
    if t is None:
        t = server.__dict__["_keys_tracker"] = Tracker(server)
    return t


def _install(server: Any) -> None:
    tracker(server)


def _wants_lazy_install() -> bool:
    """True when the server offers no ``init_hooks``: handlers then install the tracker."""
    from ..server import Server

    hooks = getattr(Server, "init_hooks", None)
    if hooks is None:
        return True
    if _install not in hooks:
        hooks.append(_install)
    return False


LAZY_INSTALL = _wants_lazy_install()


def family_command(name: str, arity: int, flags: str, keys: tuple[int, int, int],
                   group: str):
    """``@command`` for this family and the string family: without ``Server.init_hooks``
    the handler makes sure the server's :class:`Tracker` (and its hooks) is installed."""

    def deco(fn):
        if not LAZY_INSTALL:
            command(name, arity, flags, keys, group)(fn)
            return fn

        def handler(c, args, _fn=fn):
            if "_keys_tracker" not in c.server.__dict__:
                tracker(c.server)
            return _fn(c, args)

        handler.__name__ = fn.__name__
        handler.__doc__ = fn.__doc__
        command(name, arity, flags, keys, group)(handler)
        return fn

    return deco


def _cmd(name: str, arity: int, flags: str = "", keys: tuple[int, int, int] = (0, 0, 0),
         group: str = "generic"):
    return family_command(name, arity, flags, keys, group)


# --------------------------------------------------------------------------- helpers


def lookup_write(db: Database, key: bytes) -> Any:
    """``lookupKeyWrite``: the value or None, expiring the key; no hit/miss statistics."""
    value = db.data.get(key)
    if value is None:
        return None
    if db.expires and key in db.expires and not db.exists(key):
        return None
    return value


def is_int_text(raw: bytes) -> bool:
    """True if ``raw`` is what Redis' ``string2ll`` accepts (a canonical int64)."""
    try:
        parse_int(raw)
    except CommandError:
        return False
    return True


def shared_integers_allowed(server: Any) -> bool:
    """Redis shares small integer objects unless maxmemory uses an LRU/LFU policy."""
    cfg = server.config
    if not cfg["maxmemory"]:
        return True
    policy = cfg["maxmemory-policy"]
    return "lru" not in policy and "lfu" not in policy


def string_encoding(server: Any, db: Database, key: bytes, value: bytes) -> tuple[bytes, int]:
    """(encoding, refcount) of a string value."""
    t = tracker(server)
    ent = t.enc.get((db.index, key))
    if ent is not None and ent[0] is value:
        return ent[1], ent[2]
    if len(value) <= 20 and is_int_text(value):
        n = int(value)
        if 0 <= n < SHARED_INTEGERS and shared_integers_allowed(server):
            return b"int", SHARED_REFCOUNT
        return b"int", 1
    if len(value) <= EMBSTR_LIMIT:
        return b"embstr", 1
    return b"raw", 1


def object_encoding(server: Any, db: Database, key: bytes, value: Any) -> bytes:
    """The name Redis 7.0 gives the encoding of ``value`` (OBJECT ENCODING).

    Computed from the value and the config thresholds. Redis never converts an aggregate
    back to its compact encoding, so a hashtable/skiplist seen once is remembered for as
    long as the key holds the same object."""
    kind = type(value)
    if kind is bytes:
        return string_encoding(server, db, key, value)[0]
    t = tracker(server)
    ent = t.enc.get((db.index, key))
    if ent is not None and ent[0] is value:
        return ent[1]
    cfg = server.config
    if kind is deque:
        return b"quicklist"  # 7.0 lists are always quicklists
    if kind is dict:
        limit = cfg["hash-max-listpack-value"]
        if len(value) <= cfg["hash-max-listpack-entries"] and all(
            len(f) <= limit and len(v) <= limit for f, v in value.items()
        ):
            return b"listpack"
        enc = b"hashtable"
    elif kind is set:
        if len(value) <= cfg["set-max-intset-entries"] and all(is_int_text(m) for m in value):
            return b"intset"
        enc = b"hashtable"
    elif kind is ZSet:
        limit = cfg["zset-max-listpack-value"]
        if len(value) <= cfg["zset-max-listpack-entries"] and all(
            len(m) <= limit for m in value.scores
        ):
            return b"listpack"
        enc = b"skiplist"
    else:
        if TYPE_NAMES.get(kind) == b"stream":
            return b"stream"
        return getattr(value, "encoding_name", b"unknown")
    t.set_encoding(db, key, value, enc)
    return enc


def type_of(value: Any) -> bytes:
    if value is None:
        return b"none"
    name = TYPE_NAMES.get(type(value))
    if name is None:
        name = getattr(value, "type_name", b"unknown")
    return name


def get_db_index(c: Any, raw: bytes) -> Database:
    """``getIntFromObjectOrReply`` + ``selectDb`` (MOVE, COPY DB)."""
    n = parse_int(raw)
    if n < INT32_MIN or n > INT32_MAX:
        raise CommandError(E.INT_RANGE_BETWEEN % (INT32_MIN, INT32_MAX))
    dbs = c.server.keyspace.dbs
    if n < 0 or n >= len(dbs):
        raise CommandError(E.INVALID_DB)
    return dbs[n]


def already_expired(c: Any, when: int) -> bool:
    """``checkAlreadyExpired``: a past time deletes the key, except on replicas/loading."""
    srv = c.server
    return when <= now_ms() and not srv.loading and srv.role != "slave"


def deleted_as(server: Any, lazy_option: str) -> bytes:
    return b"UNLINK" if server.config[lazy_option] else b"DEL"


def duplicate(value: Any) -> Any:
    """A deep enough copy of a value (COPY)."""
    kind = type(value)
    if kind is bytes:
        return value
    if kind is deque:
        return deque(value)
    if kind is dict:
        return dict(value)
    if kind is set:
        return set(value)
    if kind is ZSet:
        z = ZSet()
        z.scores = dict(value.scores)
        z.order = list(value.order)
        return z
    return _copy.deepcopy(value)


# --------------------------------------------------------------------------- DEL & co


def _delete_keys(c: Any, args: list[bytes]) -> int:
    db = c.db
    t = tracker(c.server)
    n = 0
    for key in args[1:]:
        if db.delete(key):
            n += 1
            t.enc.pop((db.index, key), None)
    return n


@_cmd("del", -2, "write", keys=(1, -1, 1))
def del_(c: Any, args: list[bytes]) -> Any:
    return _delete_keys(c, args)


@_cmd("unlink", -2, "write fast", keys=(1, -1, 1))
def unlink(c: Any, args: list[bytes]) -> Any:
    return _delete_keys(c, args)


@_cmd("exists", -2, "readonly fast", keys=(1, -1, 1))
def exists(c: Any, args: list[bytes]) -> Any:
    db = c.db
    return sum(1 for key in args[1:] if db.lookup(key) is not None)


@_cmd("touch", -2, "readonly fast", keys=(1, -1, 1))
def touch(c: Any, args: list[bytes]) -> Any:
    db = c.db
    return sum(1 for key in args[1:] if db.lookup(key) is not None)


@_cmd("type", 2, "readonly fast", keys=(1, 1, 1))
def type_(c: Any, args: list[bytes]) -> Any:
    return Simple(type_of(c.db.lookup(args[1])))


@_cmd("keys", 2, "readonly")
def keys(c: Any, args: list[bytes]) -> Any:
    db = c.db
    pattern = args[1]
    now = now_ms()
    exp = db.expires
    out = []
    every = pattern == b"*"
    for key in list(db.data):
        if every or glob_match(pattern, key):
            when = exp.get(key)
            if when is None or when > now:
                out.append(key)
    return out


@_cmd("dbsize", 1, "readonly fast", group="server")
def dbsize(c: Any, args: list[bytes]) -> Any:
    return len(c.db.data)


@_cmd("randomkey", 1, "readonly")
def randomkey(c: Any, args: list[bytes]) -> Any:
    return c.db.random_key()


# --------------------------------------------------------------------------- SCAN


def _parse_cursor(raw: bytes) -> int:
    """``strtoul`` base 10 as Redis' ``parseScanCursorOrReply`` uses it."""
    text = raw
    if text[:1] in (b" ", b"\t", b"\n", b"\v", b"\f", b"\r"):
        raise CommandError(E.SCAN_INVALID_CURSOR)
    if not text:
        return 0
    neg = False
    body = text
    if body[:1] in (b"+", b"-"):
        neg = body[:1] == b"-"
        body = body[1:]
    if not body or not body.isdigit():
        # strtoul stops at the first non-digit: anything left over is an error
        # (an empty digit run parses nothing, which leaves the whole text over)
        raise CommandError(E.SCAN_INVALID_CURSOR)
    value = int(body)
    if value > MASK64:
        raise CommandError(E.SCAN_INVALID_CURSOR)
    return (-value) & MASK64 if neg else value


def _rev64(v: int) -> int:
    return int(format(v & MASK64, "064b")[::-1], 2)


def _scan_index(c: Any, db: Database) -> _ScanIndex:
    t = tracker(c.server)
    ks = c.server.keyspace
    idx = t.scan.get(db.index)
    data = db.data
    if (idx is None or idx.data is not data
            or len(idx.keys) > 2 * len(data) + 64
            or (idx.dirty != ks.dirty and not idx.add_new_keys(data, ks.dirty - idx.dirty))):
        idx = t.scan[db.index] = _ScanIndex(data, ks.dirty)
    idx.dirty = ks.dirty
    return idx


def scan_keys(c: Any, db: Database, cursor: int, count: int) -> tuple[int, list[bytes]]:
    """One SCAN step over ``db``, modelled on Redis' reverse-binary bucket cursor.

    Keys are ordered by a 64-bit hash; a virtual table of ``size`` buckets (a power of two
    that follows the number of keys, like Redis' dict) groups them by the hash's top bits.
    The cursor is the bit-reversed bucket number, so the hash threshold it stands for does
    not depend on the table size: a key present from the first call to the last is
    returned at least once even when the table grows or shrinks in between.
    """
    idx = _scan_index(c, db)
    data = db.data
    size = 4
    while size < len(data):
        size <<= 1
    bits = size.bit_length() - 1
    shift = 64 - bits
    bucket = _rev64(cursor) >> shift
    hashes, keys = idx.hashes, idx.keys
    i = bisect.bisect_left(hashes, bucket << shift)
    n = len(hashes)
    out: list[bytes] = []
    budget = count * 10
    while True:
        while i < n and hashes[i] >> shift == bucket:
            k = keys[i]
            if k in data:
                out.append(k)
            i += 1
        bucket += 1
        if bucket >= size:
            bucket = 0
            break
        if budget == 0:
            break
        budget -= 1
        if len(out) >= count:
            break
    if bucket == 0:
        t = tracker(c.server)
        t.scan.pop(db.index, None)
        return 0, out
    return _rev64(bucket << shift), out


@_cmd("scan", -2, "readonly")
def scan(c: Any, args: list[bytes]) -> Any:
    cursor = _parse_cursor(args[1])
    count = 10
    pattern = None
    typename = None
    i = 2
    while i < len(args):
        opt = args[i].lower()
        more = len(args) - i
        if opt == b"count" and more >= 2:
            count = parse_int(args[i + 1])
            if count < 1:
                raise CommandError(E.SYNTAX)
            i += 2
        elif opt == b"match" and more >= 2:
            pattern = args[i + 1]
            if pattern == b"*":
                pattern = None
            i += 2
        elif opt == b"type" and more >= 2:
            typename = args[i + 1].lower()
            i += 2
        else:
            raise CommandError(E.SYNTAX)
    db = c.db
    cursor, found = scan_keys(c, db, cursor, count)
    out = []
    for key in found:
        if pattern is not None and not glob_match(pattern, key):
            continue
        if typename is not None:
            if type_of(db.lookup(key)) != typename:
                continue
        if not db.exists(key):
            continue
        out.append(key)
    return [b"%d" % cursor, out]


# --------------------------------------------------------------------------- RENAME


def _rename(c: Any, args: list[bytes], nx: bool) -> Any:
    db = c.db
    src, dst = args[1], args[2]
    if lookup_write(db, src) is None:
        raise CommandError(E.NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    if lookup_write(db, dst) is not None and nx:
        return 0
    t = tracker(c.server)
    t.forget(db, dst)
    t.moved(db, src, db, dst)
    db.rename(src, dst)  # calls modified() for both keys ...
    c.server.keyspace.dirty -= 1  # ... but Redis counts a rename as one change
    return 1 if nx else OK


@_cmd("rename", 3, "write", keys=(1, 2, 1))
def rename(c: Any, args: list[bytes]) -> Any:
    return _rename(c, args, False)


@_cmd("renamenx", 3, "write fast", keys=(1, 2, 1))
def renamenx(c: Any, args: list[bytes]) -> Any:
    return _rename(c, args, True)


# --------------------------------------------------------------------------- MOVE / COPY


@_cmd("move", 3, "write fast", keys=(1, 1, 1))
def move(c: Any, args: list[bytes]) -> Any:
    srv = c.server
    if srv.config.get("cluster-enabled"):
        raise CommandError(E.MOVE_IN_CLUSTER)
    src = c.db
    dst = get_db_index(c, args[2])
    if dst is src:
        raise CommandError(E.SAME_OBJECT)
    key = args[1]
    value = lookup_write(src, key)
    if value is None:
        return 0
    when = src.expires.get(key)
    if lookup_write(dst, key) is not None:
        return 0
    tracker(srv).moved(src, key, dst, key)
    src.data.pop(key, None)
    src.expires.pop(key, None)
    src.modified(key, 0)
    dst.data[key] = value
    if when is not None:
        dst.expires[key] = when
    dst.modified(key)
    return 1


@_cmd("copy", -3, "write denyoom", keys=(1, 2, 1))
def copy(c: Any, args: list[bytes]) -> Any:
    srv = c.server
    src = dst = c.db
    replace = False
    i = 3
    while i < len(args):
        opt = args[i].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and i + 1 < len(args):
            dst = get_db_index(c, args[i + 1])
            i += 1
        else:
            raise CommandError(E.SYNTAX)
        i += 1
    if srv.config.get("cluster-enabled") and (src.index != 0 or dst.index != 0):
        raise CommandError(E.COPY_IN_CLUSTER)
    key, newkey = args[1], args[2]
    if src is dst and key == newkey:
        raise CommandError(E.SAME_OBJECT)
    value = src.lookup(key)
    if value is None:
        return 0
    when = src.expires.get(key)
    if lookup_write(dst, newkey) is not None and not replace:
        return 0
    new = duplicate(value)
    t = tracker(srv)
    t.forget(dst, newkey)
    t.touch(dst, newkey)  # a new object
    t.enc.pop((dst.index, newkey), None)
    # the copy keeps the encoding of the original (a copied shared integer is not shared)
    if type(new) is bytes:
        enc, _ = string_encoding(srv, src, key, value)
        t.set_encoding(dst, newkey, new, enc, 1)
    else:
        enc = object_encoding(srv, src, key, value)
        if enc in (b"hashtable", b"skiplist"):
            t.set_encoding(dst, newkey, new, enc)
    dst.data[newkey] = new
    dst.expires.pop(newkey, None)
    if when is not None:
        dst.expires[newkey] = when
    dst.modified(newkey)
    return 1


# --------------------------------------------------------------------------- EXPIRE


def _expire(c: Any, args: list[bytes], name: str, relative: bool, seconds: bool) -> Any:
    nx = xx = gt = lt = False
    for opt in args[3:]:
        low = opt.lower()
        if low == b"nx":
            nx = True
        elif low == b"xx":
            xx = True
        elif low == b"gt":
            gt = True
        elif low == b"lt":
            lt = True
        else:
            raise CommandError(E.EXPIRE_UNSUPPORTED_OPTION % opt.decode(errors="replace"))
    if nx and (xx or gt or lt):
        raise CommandError(E.EXPIRE_NX_AND_OTHERS)
    if gt and lt:
        raise CommandError(E.EXPIRE_GT_AND_LT)
    when = parse_int(args[2])
    if seconds:
        if when > INT64_MAX // 1000 or when < -(INT64_MAX // 1000):
            raise CommandError(E.INVALID_EXPIRE % name)
        when *= 1000
    base = now_ms() if relative else 0
    if when > INT64_MAX - base:
        raise CommandError(E.INVALID_EXPIRE % name)
    when += base
    db = c.db
    key = args[1]
    if lookup_write(db, key) is None:
        return 0
    if nx or xx or gt or lt:
        current = db.expires.get(key)
        if nx and current is not None:
            return 0
        if xx and current is None:
            return 0
        if gt and (current is None or when <= current):
            return 0
        if lt and current is not None and when >= current:
            return 0
    if already_expired(c, when):
        db.delete(key)
        tracker(c.server).enc.pop((db.index, key), None)
        c.propagate_as = [deleted_as(c.server, "lazyfree-lazy-expire"), key]
        return 1
    db.set_expire(key, when)
    if name != "pexpireat":
        c.propagate_as = [b"PEXPIREAT", key, b"%d" % when, *args[3:]]
    return 1


def _expire_variant(name: str, relative: bool, seconds: bool) -> Any:
    def handler(c: Any, args: list[bytes]) -> Any:
        return _expire(c, args, name, relative, seconds)
    return handler


# name, relative (to now: not a unix time), in seconds (not milliseconds)
for _name, _relative, _seconds in (
    ("expire", True, True),
    ("pexpire", True, False),
    ("expireat", False, True),
    ("pexpireat", False, False),
):
    _cmd(_name, -3, "write fast", keys=(1, 1, 1))(_expire_variant(_name, _relative, _seconds))


def _ttl(c: Any, key: bytes, ms: bool, absolute: bool) -> int:
    db = c.db
    if db.lookup(key) is None:
        return -2
    when = db.expires.get(key)
    if when is None:
        return -1
    ttl = when if absolute else when - now_ms()
    if ttl < 0:
        ttl = 0
    return ttl if ms else (ttl + 500) // 1000


def _ttl_variant(ms: bool, absolute: bool) -> Any:
    def handler(c: Any, args: list[bytes]) -> Any:
        return _ttl(c, args[1], ms, absolute)
    return handler


# name, in milliseconds, absolute (a unix time, not the time left)
for _name, _ms, _absolute in (
    ("ttl", False, False),
    ("pttl", True, False),
    ("expiretime", False, True),
    ("pexpiretime", True, True),
):
    _cmd(_name, 2, "readonly fast", keys=(1, 1, 1))(_ttl_variant(_ms, _absolute))


@_cmd("persist", 2, "write fast", keys=(1, 1, 1))
def persist(c: Any, args: list[bytes]) -> Any:
    db = c.db
    if lookup_write(db, args[1]) is None:
        return 0
    return 1 if db.persist(args[1]) else 0


# --------------------------------------------------------------------------- FLUSH


def _flush_mode(args: list[bytes]) -> None:
    if len(args) == 2 and args[1].lower() in (b"sync", b"async"):
        return
    if len(args) == 1:
        return
    raise CommandError(E.SYNTAX)


def _force_propagation(c: Any, args: list[bytes], removed: int) -> None:
    """Redis always propagates FLUSHDB/FLUSHALL (``forceCommandPropagation``), even when
    nothing was removed; the server only propagates writes that changed the dirty counter,
    so an empty flush is propagated here."""
    if not removed:
        c.server.propagate(c.db.index, list(args))


@_cmd("flushdb", -1, "write", group="server")
def flushdb(c: Any, args: list[bytes]) -> Any:
    _flush_mode(args)
    db = c.db
    removed = db.flush()
    c.server.keyspace.dirty += removed
    tracker(c.server).forget_db(db.index)
    _force_propagation(c, args, removed)
    return OK


@_cmd("flushall", -1, "write", group="server")
def flushall(c: Any, args: list[bytes]) -> Any:
    _flush_mode(args)
    srv = c.server
    ks = srv.keyspace
    removed = ks.flushall()
    ks.dirty += removed
    tracker(srv).forget_db(None)
    _force_propagation(c, args, removed)
    if srv.config["save"]:
        try:
            from .. import persistence  # type: ignore[attr-defined]

            save = getattr(persistence, "save_rdb", None)
        except ImportError:
            save = None
        if save is not None:
            save(srv)
    return OK


# --------------------------------------------------------------------------- SORT

_COLLATE: list[Any] = []


def _collate_key(value: bytes) -> Any:
    """A key ordering byte strings as ``strcoll`` does in redis-server's locale
    (``setlocale(LC_COLLATE, "")`` at start, as Redis does)."""
    if not _COLLATE:
        try:
            name = locale.setlocale(locale.LC_COLLATE, "")
        except locale.Error:
            name = "C"
        plain = name in ("C", "POSIX") or name.upper().startswith(("C.", "POSIX."))
        _COLLATE.append(plain)
    text = value.split(b"\0", 1)[0]  # strcoll stops at the first NUL
    if _COLLATE[0]:
        return text
    try:
        return locale.strxfrm(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return text.decode("latin-1")


def _by_pattern(db: Database, pattern: bytes, subst: bytes) -> bytes | None:
    """``lookupKeyByPattern``: ``#``, ``prefix*suffix`` (a string key) or
    ``prefix*suffix->field`` (a hash field)."""
    if pattern == b"#":
        return subst
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(pattern):
        field = pattern[arrow + 2 :]
        key = pattern[:star] + subst + pattern[star + 1 : arrow]
    else:
        key = pattern[:star] + subst + pattern[star + 1 :]
    value = db.lookup(key)
    if value is None:
        return None
    if field is not None:
        if type(value) is not dict:
            return None
        return value.get(field)
    if type(value) is not bytes:
        return None
    return value


def _sort(c: Any, args: list[bytes], readonly: bool) -> Any:
    srv = c.server
    cluster = bool(srv.config.get("cluster-enabled"))
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby = storekey = None
    gets: list[bytes] = []
    j = 2
    n = len(args)
    while j < n:
        opt = args[j].lower()
        left = n - j - 1
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            limit_start = parse_int(args[j + 1])
            limit_count = parse_int(args[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            storekey = args[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            sortby = args[j + 1]
            if b"*" not in sortby:
                dontsort = True
            elif cluster:
                raise CommandError(E.SORT_BY_IN_CLUSTER)
            j += 1
        elif opt == b"get" and left >= 1:
            if cluster:
                raise CommandError(E.SORT_GET_IN_CLUSTER)
            gets.append(args[j + 1])
            j += 1
        else:
            raise CommandError(E.SYNTAX)
        j += 1
    db = c.db
    value = db.lookup(args[1])
    kind = type(value)
    if value is not None and kind not in (deque, set, ZSet):
        raise CommandError(E.WRONGTYPE)
    if value is None:
        value, kind = deque(), deque
    if dontsort and kind is set and storekey is not None:
        dontsort, alpha, sortby = False, True, None  # a set must come out in a stable order
    length = len(value)
    start = min(max(limit_start, 0), length)
    limit_count = min(max(limit_count, -1), length)
    end = length - 1 if limit_count < 0 else start + limit_count - 1
    if start >= length:
        start, end = length - 1, length - 2
    if end >= length:
        end = length - 1
    if kind is deque and dontsort:
        items: list[bytes] = []
        if end >= start:
            count = end - start + 1
            if desc:
                src = list(value)[::-1]
            else:
                src = value
            items = list(islice(src, start, start + count))
            end -= start
            start = 0
    elif kind is ZSet and dontsort:
        count = max(0, end - start + 1)
        members = [m for _, m in value.order]
        if desc:
            members.reverse()
        items = members[start : start + count]
        end -= start
        start = 0
    elif kind is deque:
        items = list(value)
    elif kind is set:
        items = list(value)
        if dontsort and object_encoding(srv, db, args[1], value) == b"intset":
            items.sort(key=int)  # an intset iterates in numeric order
    else:
        items = list(value.scores)
        # Redis converts the sorted set to a skiplist for good before sorting it
        tracker(srv).set_encoding(db, args[1], value, b"skiplist")
    if not dontsort:
        if alpha:
            if sortby is not None:
                weights = [_by_pattern(db, sortby, it) for it in items]
                if storekey is not None:
                    keyf = lambda w: (0, b"") if w is None else (1, w)  # noqa: E731
                else:
                    keyf = lambda w: (0, b"") if w is None else (1, _collate_key(w))  # noqa: E731
                order = sorted(range(len(items)), key=lambda i: keyf(weights[i]), reverse=desc)
                items = [items[i] for i in order]
            elif storekey is not None:
                items.sort(reverse=desc)
            else:
                items.sort(key=_collate_key, reverse=desc)
        else:
            scores: list[float] = []
            bad = False
            for it in items:
                w = _by_pattern(db, sortby, it) if sortby is not None else it
                if w is None:
                    scores.append(0.0)
                    continue
                score = strtod_sort(w)
                if score is None:
                    bad = True
                    score = 0.0
                scores.append(score)
            order = sorted(range(len(items)), key=lambda i: (scores[i], items[i]), reverse=desc)
            items = [items[i] for i in order]
            if bad:
                raise CommandError(E.SORT_NOT_DOUBLE)
    selected = items[start : end + 1] if end >= start else []
    if storekey is None:
        if not gets:
            return selected
        out: list[Any] = []
        for it in selected:
            for pattern in gets:
                out.append(_by_pattern(db, pattern, it))
        return out
    stored: deque = deque()
    for it in selected:
        if not gets:
            stored.append(it)
        else:
            for pattern in gets:
                got = _by_pattern(db, pattern, it)
                stored.append(b"" if got is None else got)
    if stored:
        db.set(storekey, stored)
        srv.keyspace.dirty += len(stored) - 1  # Redis counts one change per stored element
    elif db.delete(storekey):
        pass
    tracker(srv).enc.pop((db.index, storekey), None)
    return len(stored)


@_cmd("sort", -2, "write denyoom", keys=(1, 1, 1))
def sort(c: Any, args: list[bytes]) -> Any:
    return _sort(c, args, False)


@_cmd("sort_ro", -2, "readonly", keys=(1, 1, 1))
def sort_ro(c: Any, args: list[bytes]) -> Any:
    return _sort(c, args, True)


# --------------------------------------------------------------------------- OBJECT


container("object", -2, "", group="generic")

OBJECT_HELP = (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
)


@subcommand("object", "help", 2, "loading stale")
def object_help(c: Any, args: list[bytes]) -> Any:
    return [Simple(line.encode()) for line in OBJECT_HELP]


@subcommand("object", "encoding", 3, "readonly", keys=(2, 2, 1))
def object_encoding_cmd(c: Any, args: list[bytes]) -> Any:
    db = c.db
    value = db.lookup(args[2])
    if value is None:
        return None
    return object_encoding(c.server, db, args[2], value)


@subcommand("object", "refcount", 3, "readonly", keys=(2, 2, 1))
def object_refcount(c: Any, args: list[bytes]) -> Any:
    db = c.db
    value = db.lookup(args[2])
    if value is None:
        return None
    if type(value) is bytes:
        return string_encoding(c.server, db, args[2], value)[1]
    return 1


@subcommand("object", "idletime", 3, "readonly", keys=(2, 2, 1))
def object_idletime(c: Any, args: list[bytes]) -> Any:
    db = c.db
    if db.lookup(args[2]) is None:
        return None
    if _is_lfu(c.server):
        raise CommandError(E.IDLETIME_WITH_LFU)
    return tracker(c.server).idle_seconds(db, args[2])


@subcommand("object", "freq", 3, "readonly", keys=(2, 2, 1))
def object_freq(c: Any, args: list[bytes]) -> Any:
    db = c.db
    if db.lookup(args[2]) is None:
        return None
    if not _is_lfu(c.server):
        raise CommandError(E.FREQ_WITHOUT_LFU)
    return tracker(c.server).frequency(db, args[2])
