"""List commands, and what the collection families (lists, hashes, sets, sorted sets) share.

Shared here:

* key lookups with Redis' read/write semantics (``lookupKeyWrite`` keeps no hit/miss stats);
* number parsing the way the C library does it: ``strtod`` (``string2d`` and the looser
  form ZRANGEBYSCORE uses) and ``strtold`` on x86-64, whose 80-bit ``long double`` is
  emulated exactly with fractions (HINCRBYFLOAT, blocking timeouts);
* HSCAN/SSCAN/ZSCAN cursors;
* the blocking machinery of BLPOP & co. and BZPOPMIN & co.

Blocking works as in Redis' ``blocked.c``: a client that must wait registers a waiter on
each of its keys (FIFO per database/key) and returns :class:`Blocked`. A command that
creates a list or sorted set key somebody waits for marks it *ready*; once that command
(or the whole MULTI/EXEC) has been propagated, the ready keys are served in order, first
waiter first, each served pop being propagated as Redis does (``LPOP key``, ``LMOVE ...``,
``ZPOPMIN key``...). The "after the command" point is found through a propagation hook
(every write is propagated right after it ran), kept last in ``server.propagate_hooks`` so
the replication stream sees the push before the pop.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import os
import random
import re
import socket
from collections import OrderedDict, deque
from decimal import Decimal
from fractions import Fraction
from itertools import islice
from typing import Any, Callable

from .. import errors as E
from ..errors import CommandError
from ..glob import match as glob_match
from ..keyspace import Database, ZSet
from ..resp import NULL_ARRAY, OK, ErrorReply
from ..server import Blocked, Client
from . import command
from .util import parse_int

LONG_MAX = 2**63 - 1

# --------------------------------------------------------------------------- lookups


def lookup_write(db: Database, key: bytes) -> Any:
    """``lookupKeyWrite``: the live value or None (expires the key, no hit/miss stats)."""
    value = db.data.get(key)
    if value is None:
        return None
    if db.expires and key in db.expires and not db.exists(key):
        return None
    return value


def get_write(db: Database, key: bytes, kind: type) -> Any:
    """``lookupKeyWrite`` + ``checkType``."""
    value = db.data.get(key)
    if value is None:
        return None
    if db.expires and key in db.expires and not db.exists(key):
        return None
    if type(value) is not kind:
        raise CommandError(E.WRONGTYPE)
    return value


def get_read(db: Database, key: bytes, kind: type) -> Any:
    """``lookupKeyRead`` + ``checkType`` (counts keyspace hits and misses)."""
    return db.get(key, kind)


def peek(db: Database, key: bytes) -> Any:
    """The live value without statistics (used when serving blocked clients)."""
    return lookup_write(db, key)


# --------------------------------------------------------------------------- integers


def parse_long(raw: bytes) -> int:
    """``getLongFromObjectOrReply``."""
    return parse_int(raw)


def parse_range_long(raw: bytes, lo: int, hi: int, msg: str | None = None) -> int:
    """``getRangeLongFromObjectOrReply``: ``msg`` (when given) is used for both errors."""
    try:
        value = parse_int(raw)
    except CommandError:
        raise CommandError(msg or E.NOT_INTEGER) from None
    if value < lo or value > hi:
        raise CommandError(msg or (E.RANGE_BETWEEN % (lo, hi)))
    return value


def parse_positive(raw: bytes, msg: str | None = None) -> int:
    """``getPositiveLongFromObjectOrReply``."""
    return parse_range_long(raw, 0, LONG_MAX, msg or E.NOT_POSITIVE)


_INT_RE = re.compile(rb"-?[1-9][0-9]{0,18}|0")


def is_int64_text(raw: bytes) -> bool:
    """True if Redis' ``string2ll`` accepts ``raw`` (what an intset may hold)."""
    if _INT_RE.fullmatch(raw) is None:
        return False
    if len(raw) >= 19:
        return -(2**63) <= int(raw) <= LONG_MAX
    return True


# --------------------------------------------------------------------------- doubles

_WS = b" \t\n\v\f\r"
_DEC = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(
    rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?"
)
_INF = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
_NONZERO = re.compile(rb"[1-9]")
INF = math.inf


def _hex_parts(m: "re.Match[bytes]") -> tuple[int, int, int] | None:
    """(sign, mantissa, binary exponent) of a C99 hex float, None if no digits."""
    whole, frac = m.group(2), m.group(3) or b""
    if not whole and not frac:
        return None
    mant = int(whole + frac, 16)
    exp = int(m.group(4) or b"0") - 4 * len(frac)
    return (-1 if m.group(1) == b"-" else 1), mant, exp


def _hex_to_float(m: "re.Match[bytes]") -> float | None:
    """A hex float rounded to a double; None if it has no digits. Overflow gives inf."""
    parts = _hex_parts(m)
    if parts is None:
        return None
    sign, mant, exp = parts
    if mant == 0:
        return -0.0 if sign < 0 else 0.0
    top = mant.bit_length() + exp
    if top > 1100:
        return sign * INF
    if top < -1100:
        return -0.0 if sign < 0 else 0.0
    fr = Fraction(mant << exp) if exp >= 0 else Fraction(mant, 1 << -exp)
    try:
        return sign * float(fr)
    except OverflowError:
        return sign * INF


def parse_double(raw: bytes) -> float | None:
    """``string2d``/``getDoubleFromObject``: a whole-string double, or None.

    No leading space, nothing after the number, no NaN, and values that overflow (or
    underflow to zero) are refused, as ``strtod`` reports ERANGE for them."""
    if not raw or raw[0] in _WS:
        return None
    if _DEC.fullmatch(raw):
        value = float(raw)
        if value in (INF, -INF):
            return None
        if value == 0.0 and _NONZERO.search(raw.split(b"e")[0].split(b"E")[0]):
            return None
        return value
    m = _HEX.fullmatch(raw)
    if m is not None:
        value = _hex_to_float(m)
        if value is None or value in (INF, -INF):
            return None
        if value == 0.0 and m.group(2).strip(b"0") + (m.group(3) or b"").strip(b"0"):
            return None
        return value
    m = _INF.fullmatch(raw)
    if m is not None:
        return -INF if m.group(1) == b"-" else INF
    return None


def parse_strtod_prefix(raw: bytes) -> float | None:
    """``strtod(s, &eptr)`` with the check ``eptr[0] == '\\0'`` (score ranges): leading
    white space is skipped, the text ends at the first NUL, overflow gives inf and an empty
    string is 0. None when the text is not a number or is NaN."""
    nul = raw.find(b"\0")
    s = raw if nul < 0 else raw[:nul]
    if not s:
        return 0.0
    t = s.lstrip(_WS)
    if not t:
        return None
    if _DEC.fullmatch(t):
        return float(t)
    m = _HEX.fullmatch(t)
    if m is not None:
        return _hex_to_float(m)
    m = _INF.fullmatch(t)
    if m is not None:
        return -INF if m.group(1) == b"-" else INF
    return None


# ---- x86-64 long double (80-bit extended precision), exactly

LD_MAX_EXP = 16384  # values >= 2**16384 overflow
LD_MIN_QUANTUM = -16445  # smallest subnormal is 2**-16445
LD_MAX_CHARS = 5 * 1024  # MAX_LONG_DOUBLE_CHARS


def ld_round(value: Fraction) -> Fraction | None:
    """Round an exact value to the nearest long double (ties to even); None on overflow."""
    if value == 0:
        return Fraction(0)
    neg = value < 0
    a = -value if neg else value
    n, d = a.numerator, a.denominator
    e = n.bit_length() - d.bit_length()
    if e >= 0:
        if n < (d << e):
            e -= 1
    elif (n << -e) < d:
        e -= 1
    q_exp = max(e - 63, LD_MIN_QUANTUM)
    if q_exp >= 0:
        num, den = n, d << q_exp
    else:
        num, den = n << -q_exp, d
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    if q == 0:
        return Fraction(0)
    if q.bit_length() + q_exp > LD_MAX_EXP:
        return None
    out = Fraction(q << q_exp) if q_exp >= 0 else Fraction(q, 1 << -q_exp)
    return -out if neg else out


def parse_long_double(raw: bytes) -> Fraction | float | None:
    """``string2ld``: a Fraction (exact long double value), ``±inf``, or None when
    ``strtold`` would not accept the whole string (or reports overflow/underflow)."""
    if not raw or len(raw) >= LD_MAX_CHARS or raw[0] in _WS:
        return None
    m = _DEC.fullmatch(raw)
    if m is not None:
        neg = raw[:1] == b"-"
        body = raw.lstrip(b"+-")
        exp = 0
        for sep in (b"e", b"E"):
            if sep in body:
                body, e_txt = body.split(sep, 1)
                exp = int(e_txt)
                break
        if b"." in body:
            ip, fp = body.split(b".", 1)
        else:
            ip, fp = body, b""
        digits = (ip + fp).lstrip(b"0")
        if not digits:
            return Fraction(0)
        exp10 = exp - len(fp)
        magnitude = len(digits) + exp10
        if magnitude > 4940:
            return None
        if magnitude < -4970:
            return None
        mant = int(Decimal(digits.decode()))  # no 4300-digit limit, unlike int()
        exact = Fraction(mant * 10**exp10) if exp10 >= 0 else Fraction(mant, 10**-exp10)
        value = ld_round(exact)
        if value is None or value == 0:
            return None
        return -value if neg else value
    m = _HEX.fullmatch(raw)
    if m is not None:
        parts = _hex_parts(m)
        if parts is None:
            return None
        sign, mant, exp = parts
        if mant == 0:
            return Fraction(0)
        top = mant.bit_length() + exp
        if top > LD_MAX_EXP + 2 or top < LD_MIN_QUANTUM - 2:
            return None
        exact = Fraction(mant << exp) if exp >= 0 else Fraction(mant, 1 << -exp)
        value = ld_round(exact)
        if value is None or value == 0:
            return None
        return -value if sign < 0 else value
    m = _INF.fullmatch(raw)
    if m is not None:
        return -INF if m.group(1) == b"-" else INF
    return None


def ld_format_human(value: Fraction) -> bytes:
    """``ld2string(..., LD_STR_HUMAN)``: ``%.17Lf`` without trailing zeros, no ``-0``."""
    neg = value < 0
    q = round(abs(value) * 10**17)
    text = str(Decimal(q)).rjust(18, "0")  # str(int) refuses more than 4300 digits
    out = text[:-17] + "." + text[-17:]
    out = out.rstrip("0")
    if out.endswith("."):
        out = out[:-1]
    if neg:
        out = "-" + out
    if out == "-0":
        out = "0"
    return out.encode()


def parse_timeout(raw: bytes) -> int:
    """``getTimeoutFromObjectOrReply`` in seconds: milliseconds to wait (0 = forever)."""
    value = parse_long_double(raw)
    if value is None:
        raise CommandError(E.TIMEOUT_NOT_FLOAT)
    if isinstance(value, float):  # +-inf: the cast to long long gives LLONG_MIN
        raise CommandError(E.TIMEOUT_NEGATIVE)
    scaled = ld_round(value * 1000)
    if scaled is None:
        raise CommandError(E.TIMEOUT_NEGATIVE)
    ms = math.ceil(scaled)
    if ms < 0 or ms > LONG_MAX:
        raise CommandError(E.TIMEOUT_NEGATIVE)
    return ms


# --------------------------------------------------------------------------- doubles out


_LL_HALF = float(LONG_MAX // 2)


def d2string(value: float) -> bytes:
    """Redis' ``d2string`` (how a listpack stores a sorted set score)."""
    if value != value:
        return b"nan"
    if value in (INF, -INF):
        return b"inf" if value > 0 else b"-inf"
    if value == 0:
        return b"-0" if math.copysign(1.0, value) < 0 else b"0"
    if -_LL_HALF <= value <= _LL_HALF and value == int(value):
        return b"%d" % int(value)
    return b"%.17g" % value


def g17(value: float) -> bytes:
    """``%.17g`` as Redis prints doubles into strings (``inf``/``-inf`` spelled out)."""
    if value in (INF, -INF):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


# --------------------------------------------------------------------------- SCAN family


def parse_scan_cursor(raw: bytes) -> int:
    """``parseScanCursorOrReply`` (``strtoul``: an optional sign, digits, nothing else)."""
    nul = raw.find(b"\0")
    s = raw if nul < 0 else raw[:nul]
    if not s:
        return 0
    if s[0] in _WS:
        raise CommandError(E.INVALID_CURSOR)
    neg = s[:1] == b"-"
    body = s[1:] if s[:1] in (b"-", b"+") else s
    if not body or not body.isdigit():
        raise CommandError(E.INVALID_CURSOR)
    value = int(body)
    if value > 2**64 - 1:
        raise CommandError(E.INVALID_CURSOR)
    return (2**64 - value) % 2**64 if neg else value


def parse_scan_options(args: list[bytes], start: int) -> tuple[int, bytes | None]:
    """COUNT and MATCH of HSCAN/SSCAN/ZSCAN (TYPE is only for SCAN)."""
    count = 10
    pattern: bytes | None = None
    i, n = start, len(args)
    while i < n:
        opt = args[i].lower()
        if opt == b"count" and n - i >= 2:
            count = parse_int(args[i + 1])
            if count < 1:
                raise CommandError(E.SYNTAX)
            i += 2
        elif opt == b"match" and n - i >= 2:
            pattern = args[i + 1]
            if pattern == b"*":
                pattern = None
            i += 2
        else:
            raise CommandError(E.SYNTAX)
    return count, pattern


class _ScanSnapshot:
    __slots__ = ("container", "hashes", "members")

    def __init__(self, container: Any, members: list[bytes]):
        pairs = sorted(((hash(m) & 0xFFFFFFFF) + 1, m) for m in members)
        self.container = container
        self.hashes = [h for h, _ in pairs]
        self.members = [m for _, m in pairs]


_SCANS: "OrderedDict[int, _ScanSnapshot]" = OrderedDict()


def scan_members(container: Any, members: Callable[[], list[bytes]], cursor: int,
                 count: int) -> tuple[int, list[bytes]]:
    """One step over a large (hash table encoded) collection.

    Members are visited in the order of a hash of their bytes, and the cursor is the hash
    of the next member to return, so a cursor stays meaningful whatever happens to the
    collection between calls: a member present during the whole iteration is returned
    at least once, as SCAN guarantees. A snapshot of the order is kept while an
    iteration is in progress (rebuilt when one starts at cursor 0)."""
    ident = id(container)
    snap = _SCANS.get(ident)
    if snap is None or snap.container is not container or cursor == 0:
        snap = _ScanSnapshot(container, members())
        _SCANS[ident] = snap
        while len(_SCANS) > 8:
            _SCANS.popitem(last=False)
    else:
        _SCANS.move_to_end(ident)
    hashes = snap.hashes
    pos = bisect.bisect_left(hashes, cursor)
    end = min(pos + count, len(hashes))
    while end < len(hashes) and end > pos and hashes[end] == hashes[end - 1]:
        end += 1
    out = [m for m in snap.members[pos:end] if m in container]
    if end >= len(hashes):
        _SCANS.pop(ident, None)
        return 0, out
    return hashes[end], out


def filter_pattern(items: list[bytes], pattern: bytes | None, pairs: bool) -> list[bytes]:
    """Step 3 of ``scanGenericCommand``: keep the elements (or pairs) matching MATCH."""
    if pattern is None:
        return items
    if not pairs:
        return [m for m in items if glob_match(pattern, m)]
    out: list[bytes] = []
    for i in range(0, len(items), 2):
        if glob_match(pattern, items[i]):
            out.append(items[i])
            out.append(items[i + 1])
    return out


EMPTY_SCAN = [b"0", []]


# --------------------------------------------------------------------------- random picks


# Redis would try to build any reply a negative count asks for (and eat all memory doing
# so); a reply this big is refused instead, so the single-threaded engine cannot hang.
MAX_RANDOM_REPLY = 10_000_000


def check_random_count(n: int) -> None:
    if n > MAX_RANDOM_REPLY:
        raise CommandError(E.VALUE_OUT_OF_RANGE)


def random_member(coll: Any) -> Any:
    """A random element of a set or a key of a dict without copying it whole."""
    n = len(coll)
    skip = random.randrange(n if n <= 4096 else 4096)
    return next(islice(coll, skip, None))


# --------------------------------------------------------------------------- blocking


class Waiter:
    """A client blocked on one or more keys."""

    __slots__ = (
        "client", "db_index", "keys", "kind", "cmd", "where", "whereto", "target", "count",
        "fut", "timer", "closer", "serve",
    )

    def __init__(self, client: Client, kind: str, cmd: str, serve: Callable[..., bool]):
        self.client = client
        self.db_index = client.db.index
        self.keys: list[bytes] = []
        self.kind = kind  # "list" or "zset"
        self.cmd = cmd
        self.where = 0  # 0 = head / min, 1 = tail / max
        self.whereto = 0
        self.target: bytes | None = None
        self.count = -1
        self.fut: asyncio.Future[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.closer: Callable[[Client], None] | None = None
        self.serve = serve


# commands that signal the keys they create themselves (or cannot create a list or a
# sorted set): after any other write, the keys clients wait for are checked (RENAME, COPY,
# MOVE, RESTORE... create keys through the keyspace, where we cannot see it happen)
_SELF_SIGNALING = frozenset({
    b"lpush", b"rpush", b"lpushx", b"rpushx", b"lmove", b"rpoplpush", b"linsert", b"lset",
    b"lpop", b"rpop", b"lrem", b"ltrim", b"lmpop", b"zadd", b"zincrby", b"zrem",
    b"zunionstore", b"zinterstore", b"zdiffstore", b"zrangestore", b"zpopmin", b"zpopmax",
    b"zmpop", b"zremrangebyscore", b"zremrangebyrank", b"zremrangebylex", b"sadd", b"srem",
    b"hset", b"hmset", b"hsetnx", b"hdel", b"hincrby", b"hincrbyfloat", b"smove", b"spop",
    b"sinterstore", b"sunionstore", b"sdiffstore", b"select", b"ping",
})


class BlockState:
    """Per-server blocking state (attached to the server on first use)."""

    def __init__(self, server: Any):
        self.server = server
        # (db index, key) -> waiters in arrival order (a dict used as an ordered set)
        self.waiting: dict[tuple[int, bytes], dict[Waiter, None]] = {}
        self.by_client: dict[Client, Waiter] = {}
        self.ready: dict[tuple[int, bytes], None] = {}
        self.serving = False
        self.in_multi = False
        self.foreign = False
        self.hook = self._on_propagate
        self.tail = self._tail
        self.reaper: asyncio.TimerHandle | None = None

    # ---------------------------------------------------------------- registration

    def ensure_hook(self) -> None:
        """Keep our propagation hook last, so pushes reach replicas before pops."""
        hooks = self.server.propagate_hooks
        if hooks and hooks[-1] is self.hook:
            return
        while self.hook in hooks:
            hooks.remove(self.hook)
        hooks.append(self.hook)

    def add(self, w: Waiter, keys: list[bytes], timeout_ms: int) -> Blocked:
        loop = asyncio.get_running_loop()
        w.fut = loop.create_future()
        unique = list(dict.fromkeys(keys))
        for key in unique:
            self.waiting.setdefault((w.db_index, key), {})[w] = None
        w.keys = unique
        self.by_client[w.client] = w
        if timeout_ms > 0:
            w.timer = loop.call_later(timeout_ms / 1000.0, self._timed_out, w)

        def closer(_c: Client, w: Waiter = w) -> None:
            w.closer = None  # the client is iterating its on_close list: leave it alone
            self.remove(w)
            if w.fut is not None and not w.fut.done():
                w.fut.cancel()

        w.closer = closer
        w.client.on_close.append(closer)
        self.ensure_hook()
        if self.reaper is None:
            self.reaper = loop.call_later(1.0, self._reap)
        return Blocked(w.fut)

    def _reap(self) -> None:
        """Once a second while clients wait: drop the ones whose peer went away (Redis
        notices at once; our server does not read from blocked clients)."""
        self.reaper = None
        for w in list(self.by_client.values()):
            if peer_gone(w.client):
                self.remove(w)
                w.client.close()
                if w.fut is not None and not w.fut.done():
                    w.fut.cancel()
        if self.by_client:
            self.reaper = asyncio.get_event_loop().call_later(1.0, self._reap)

    def remove(self, w: Waiter) -> None:
        for key in w.keys:
            k = (w.db_index, key)
            q = self.waiting.get(k)
            if q is not None:
                q.pop(w, None)
                if not q:
                    del self.waiting[k]
        w.keys = []
        if self.by_client.get(w.client) is w:
            del self.by_client[w.client]
        if w.timer is not None:
            w.timer.cancel()
            w.timer = None
        if w.closer is not None:
            try:
                w.client.on_close.remove(w.closer)
            except ValueError:
                pass
            w.closer = None

    def finish(self, w: Waiter, reply: Any) -> None:
        """Unblock ``w`` with ``reply``."""
        self.remove(w)
        if w.fut is not None and not w.fut.done():
            w.fut.set_result(reply)

    def _timed_out(self, w: Waiter) -> None:
        w.timer = None
        self.finish(w, NULL_ARRAY)

    # ---------------------------------------------------------------- readiness

    def signal(self, db_index: int, key: bytes) -> None:
        k = (db_index, key)
        if k in self.waiting and k not in self.ready:
            self.ready[k] = None

    def _on_propagate(self, db_index: int, argv: list[bytes]) -> None:
        if self.serving:
            return
        if not self.waiting:
            self.ready.clear()
            self.foreign = False
            self.in_multi = False
            return
        name = argv[0].lower() if argv else b""
        if name == b"multi":
            self.in_multi = True
            return
        if name != b"exec" and name not in _SELF_SIGNALING:
            self.foreign = True
        if self.in_multi and name != b"exec":
            return
        self.in_multi = False
        if not self.ready and not self.foreign:
            return
        hooks = self.server.propagate_hooks
        if hooks and hooks[-1] is not self.hook and hooks[-1] is not self.tail:
            # other hooks still have to see this command: serve after them
            hooks.append(self.tail)
            return
        self.serve()

    def _tail(self, db_index: int, argv: list[bytes]) -> None:
        hooks = self.server.propagate_hooks
        while self.tail in hooks:
            hooks.remove(self.tail)
        self.serve()

    def _scan_foreign(self) -> None:
        """Keys made ready by commands of other families (RENAME, COPY, RESTORE...)."""
        dbs = self.server.keyspace.dbs
        for (dbi, key), q in list(self.waiting.items()):
            if (dbi, key) in self.ready or dbi >= len(dbs):
                continue
            value = peek(dbs[dbi], key)
            if not value:
                continue
            kind = "list" if type(value) is deque else "zset" if type(value) is ZSet else None
            if kind is not None and any(w.kind == kind for w in q):
                self.ready[(dbi, key)] = None

    def serve(self) -> None:
        """``handleClientsBlockedOnKeys``."""
        if self.serving:
            return
        self.serving = True
        try:
            if self.foreign:
                self.foreign = False
                self._scan_foreign()
            while self.ready:
                batch = self.ready
                self.ready = {}
                for dbi, key in batch:
                    self._serve_key(dbi, key)
        finally:
            self.serving = False

    def _serve_key(self, dbi: int, key: bytes) -> None:
        q = self.waiting.get((dbi, key))
        if not q:
            return
        dbs = self.server.keyspace.dbs
        if dbi >= len(dbs):
            return
        db = dbs[dbi]
        for w in list(q):
            value = peek(db, key)
            if not value:
                return
            kind = "list" if type(value) is deque else "zset" if type(value) is ZSet else None
            if w.kind != kind:
                continue
            if w.fut is None or w.fut.done():
                self.remove(w)
                continue
            if peer_gone(w.client):
                self.remove(w)
                w.client.close()
                if not w.fut.done():
                    w.fut.cancel()
                continue
            if w.serve(self, w, db, key, value):
                return

    def count_error(self, text: bytes) -> None:
        counter = getattr(self.server, "_count_error", None)
        if counter is not None:
            counter(text)


def peer_gone(c: Client) -> bool:
    """True if the client's connection is closed, even if nobody noticed yet.

    The server stops reading from a blocked client, so a disconnect is only seen when it
    resumes reading; before handing it an element we peek at the socket ourselves."""
    if c.closed:
        return True
    t = c.transport
    if t is None:
        return False
    if t.is_closing():
        return True
    sock = t.get_extra_info("socket")
    if sock is None:
        return False
    try:
        fd = sock.fileno()
        if fd < 0:
            return True
        probe = socket.socket(fileno=os.dup(fd))
        try:
            data = probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        finally:
            probe.close()
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b""


def block_state(server: Any) -> BlockState:
    st = server.__dict__.get("_collections_blocking")
    if st is None:
        st = BlockState(server)
        server.__dict__["_collections_blocking"] = st
    return st


def signal_key(c: Client, key: bytes) -> None:
    """A list or sorted set was created at ``key``: wake its waiters after this command
    (Redis' ``signalKeyAsReady`` from ``dbAdd``)."""
    st = c.server.__dict__.get("_collections_blocking")
    if st is not None and st.waiting:
        st.signal(c.db.index, key)


def signal_db_key(server: Any, db_index: int, key: bytes) -> None:
    st = server.__dict__.get("_collections_blocking")
    if st is not None and st.waiting:
        st.signal(db_index, key)


def may_block(c: Client) -> bool:
    """False inside MULTI/EXEC (and for clients without a connection): a blocking
    command then behaves as if its timeout had expired."""
    if c.transport is None or "master" in c.flags:
        return False
    return not c.server.in_exec


def unblock_client(c: Client, error: bool = False) -> bool:
    """CLIENT UNBLOCK for list and sorted set waits: True if ``c`` was blocked here.
    With ``error`` the client gets ``-UNBLOCKED``, otherwise the timeout reply."""
    st = c.server.__dict__.get("_collections_blocking")
    if st is None:
        return False
    w = st.by_client.get(c)
    if w is None:
        return False
    if error:
        st.count_error(E.UNBLOCKED_CLIENT.encode())
        st.finish(w, ErrorReply(E.UNBLOCKED_CLIENT.encode()))
    else:
        st.finish(w, NULL_ARRAY)
    return True


def disconnect_all_blocked(server: Any) -> int:
    """``disconnectAllBlockedClients`` (a master turning into a replica)."""
    st = server.__dict__.get("_collections_blocking")
    if st is None:
        return 0
    waiters = list(st.by_client.values())
    for w in waiters:
        w.client.close_after_reply()
        st.count_error(E.UNBLOCKED_ROLE.encode())
        st.finish(w, ErrorReply(E.UNBLOCKED_ROLE.encode()))
    return len(waiters)


def blocked_clients(server: Any) -> int:
    st = server.__dict__.get("_collections_blocking")
    return len(st.by_client) if st is not None else 0


# --------------------------------------------------------------------------- list helpers

HEAD, TAIL = 0, 1
_POS_NAME = (b"LEFT", b"RIGHT")
_POP_NAME = (b"LPOP", b"RPOP")


def _where(raw: bytes) -> int:
    low = raw.lower()
    if low == b"left":
        return HEAD
    if low == b"right":
        return TAIL
    raise CommandError(E.SYNTAX)


def _range(lst: deque, start: int, end: int, reverse: bool = False) -> list[bytes]:
    """``addListRangeReply``: elements start..end (inclusive, negative from the end)."""
    n = len(lst)
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return []
    if end >= n:
        end = n - 1
    if start == 0 and end == n - 1:
        out = list(lst)
    elif start > n - 1 - end:  # nearer the tail: walk from there
        out = list(islice(reversed(lst), n - 1 - end, n - start))
        out.reverse()
    else:
        out = list(islice(lst, start, end + 1))
    if reverse:
        out.reverse()
    return out


def _pop_n(lst: deque, where: int, n: int) -> list[bytes]:
    pop = lst.popleft if where == HEAD else lst.pop
    return [pop() for _ in range(n)]


def _after_removal(db: Database, key: bytes, lst: deque, n: int) -> None:
    """``listElementsRemoved``: drop the key when empty, signal, count dirty."""
    if not lst:
        db.delete_if_empty(key, lst)
    db.modified(key, n)


def _push_into(c: Client, db: Database, key: bytes, dst: deque | None, value: bytes,
               where: int) -> None:
    """``lmoveHandlePush`` (the reply is the caller's)."""
    if dst is None:
        dst = deque()
        db.add_new(key, dst)
        signal_db_key(c.server, db.index, key)
    if where == HEAD:
        dst.appendleft(value)
    else:
        dst.append(value)
    db.modified(key)


# --------------------------------------------------------------------------- push


def _push(c: Client, args: list[bytes], where: int, xx: bool) -> int:
    db = c.db
    key = args[1]
    lst = get_write(db, key, deque)
    if lst is None:
        if xx:
            return 0
        lst = deque()
        db.add_new(key, lst)
        signal_key(c, key)
    if len(args) == 3:
        if where == HEAD:
            lst.appendleft(args[2])
        else:
            lst.append(args[2])
    elif where == HEAD:
        lst.extendleft(islice(args, 2, None))
    else:
        lst.extend(islice(args, 2, None))
    db.modified(key, len(args) - 2)
    return len(lst)


@command("lpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list")
def lpush(c: Client, args: list[bytes]) -> Any:
    return _push(c, args, HEAD, False)


@command("rpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list")
def rpush(c: Client, args: list[bytes]) -> Any:
    return _push(c, args, TAIL, False)


@command("lpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list")
def lpushx(c: Client, args: list[bytes]) -> Any:
    return _push(c, args, HEAD, True)


@command("rpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list")
def rpushx(c: Client, args: list[bytes]) -> Any:
    return _push(c, args, TAIL, True)


@command("linsert", 5, "write denyoom", keys=(1, 1, 1), group="list")
def linsert(c: Client, args: list[bytes]) -> Any:
    pos = args[2].lower()
    if pos == b"after":
        after = True
    elif pos == b"before":
        after = False
    else:
        raise CommandError(E.SYNTAX)
    db = c.db
    lst = get_write(db, args[1], deque)
    if lst is None:
        return 0
    try:
        i = lst.index(args[3])
    except ValueError:
        return -1
    lst.insert(i + 1 if after else i, args[4])
    db.modified(args[1])
    return len(lst)


# --------------------------------------------------------------------------- read


@command("llen", 2, "readonly fast", keys=(1, 1, 1), group="list")
def llen(c: Client, args: list[bytes]) -> Any:
    lst = get_read(c.db, args[1], deque)
    return 0 if lst is None else len(lst)


@command("lindex", 3, "readonly", keys=(1, 1, 1), group="list")
def lindex(c: Client, args: list[bytes]) -> Any:
    lst = get_read(c.db, args[1], deque)
    if lst is None:
        return None
    index = parse_long(args[2])
    n = len(lst)
    if index < 0:
        index += n
    if index < 0 or index >= n:
        return None
    return lst[index]


@command("lrange", 4, "readonly", keys=(1, 1, 1), group="list")
def lrange(c: Client, args: list[bytes]) -> Any:
    start = parse_long(args[2])
    end = parse_long(args[3])
    lst = get_read(c.db, args[1], deque)
    if lst is None:
        return []
    return _range(lst, start, end)


@command("lpos", -3, "readonly", keys=(1, 1, 1), group="list")
def lpos(c: Client, args: list[bytes]) -> Any:
    elem = args[2]
    rank, count, maxlen = 1, -1, 0
    i, n = 3, len(args)
    while i < n:
        opt = args[i].lower()
        more = n - 1 - i
        if opt == b"rank" and more:
            rank = parse_long(args[i + 1])
            if rank == 0:
                raise CommandError(E.LPOS_RANK_ZERO)
        elif opt == b"count" and more:
            count = parse_positive(args[i + 1], E.LPOS_COUNT_NEGATIVE)
        elif opt == b"maxlen" and more:
            maxlen = parse_positive(args[i + 1], E.LPOS_MAXLEN_NEGATIVE)
        else:
            raise CommandError(E.SYNTAX)
        i += 2
    forward = rank > 0
    rank = abs(rank)
    lst = get_read(c.db, args[1], deque)
    if lst is None:
        return [] if count != -1 else None
    size = len(lst)
    if count == -1 and rank == 1 and forward and not maxlen:
        try:
            return lst.index(elem)
        except ValueError:
            return None
    source = lst if forward else reversed(lst)
    if maxlen:
        source = islice(source, maxlen)
    found: list[int] = []
    matches = 0
    for idx, item in enumerate(source):
        if item == elem:
            matches += 1
            if matches >= rank:
                found.append(idx if forward else size - idx - 1)
                if count == -1 or (count and matches - rank + 1 >= count):
                    break
    if count != -1:
        return found
    return found[0] if found else None


# --------------------------------------------------------------------------- modify


@command("lset", 4, "write denyoom", keys=(1, 1, 1), group="list")
def lset(c: Client, args: list[bytes]) -> Any:
    db = c.db
    lst = lookup_write(db, args[1])
    if lst is None:
        raise CommandError(E.NO_SUCH_KEY)
    if type(lst) is not deque:
        raise CommandError(E.WRONGTYPE)
    index = parse_long(args[2])
    n = len(lst)
    if index < 0:
        index += n
    if index < 0 or index >= n:
        raise CommandError(E.INDEX_OUT_OF_RANGE)
    lst[index] = args[3]
    db.modified(args[1])
    return OK


@command("lrem", 4, "write", keys=(1, 1, 1), group="list")
def lrem(c: Client, args: list[bytes]) -> Any:
    toremove = parse_long(args[2])
    db = c.db
    key = args[1]
    lst = get_write(db, key, deque)
    if lst is None:
        return 0
    elem = args[3]
    if elem not in lst:
        return 0
    if toremove == 0:
        keep = [x for x in lst if x != elem]
        removed = len(lst) - len(keep)
    else:
        keep = []
        removed = 0
        limit = abs(toremove)
        source = lst if toremove > 0 else reversed(lst)
        for x in source:
            if removed < limit and x == elem:
                removed += 1
            else:
                keep.append(x)
        if toremove < 0:
            keep.reverse()
    lst.clear()
    lst.extend(keep)
    _after_removal(db, key, lst, removed)
    return removed


@command("ltrim", 4, "write", keys=(1, 1, 1), group="list")
def ltrim(c: Client, args: list[bytes]) -> Any:
    start = parse_long(args[2])
    end = parse_long(args[3])
    db = c.db
    key = args[1]
    lst = get_write(db, key, deque)
    if lst is None:
        return OK
    n = len(lst)
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        ltrim_n, rtrim_n = n, 0
    else:
        if end >= n:
            end = n - 1
        ltrim_n, rtrim_n = start, n - end - 1
    kept = n - ltrim_n - rtrim_n
    if kept < ltrim_n + rtrim_n:
        keep = list(islice(lst, ltrim_n, ltrim_n + kept))
        lst.clear()
        lst.extend(keep)
    else:
        for _ in range(ltrim_n):
            lst.popleft()
        for _ in range(rtrim_n):
            lst.pop()
    if not lst:
        db.delete_if_empty(key, lst)
    db.modified(key, ltrim_n + rtrim_n)
    return OK


# --------------------------------------------------------------------------- pop


def _pop(c: Client, args: list[bytes], where: int) -> Any:
    if len(args) > 3:
        raise CommandError(E.WRONG_ARITY % args[0].lower().decode(errors="replace"))
    has_count = len(args) == 3
    count = parse_positive(args[2]) if has_count else 0
    db = c.db
    key = args[1]
    lst = get_write(db, key, deque)
    if lst is None:
        return NULL_ARRAY if has_count else None
    if has_count and not count:
        return []
    if not has_count:
        value = lst.popleft() if where == HEAD else lst.pop()
        _after_removal(db, key, lst, 1)
        return value
    out = _pop_n(lst, where, min(count, len(lst)))
    _after_removal(db, key, lst, len(out))
    return out


@command("lpop", -2, "write fast", keys=(1, 1, 1), group="list")
def lpop(c: Client, args: list[bytes]) -> Any:
    return _pop(c, args, HEAD)


@command("rpop", -2, "write fast", keys=(1, 1, 1), group="list")
def rpop(c: Client, args: list[bytes]) -> Any:
    return _pop(c, args, TAIL)


def _mpop_parse(args: list[bytes], numkeys_idx: int) -> tuple[list[bytes], int, int]:
    """LMPOP/BLMPOP arguments: (keys, where, count)."""
    numkeys = parse_range_long(args[numkeys_idx], 1, LONG_MAX, E.NUMKEYS_POSITIVE)
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(args):
        raise CommandError(E.SYNTAX)
    where = _where(args[where_idx])
    count = -1
    j = where_idx + 1
    while j < len(args):
        more = len(args) - 1 - j
        if count == -1 and args[j].lower() == b"count" and more:
            count = parse_range_long(args[j + 1], 1, LONG_MAX, E.COUNT_POSITIVE)
            j += 2
        else:
            raise CommandError(E.SYNTAX)
    if count == -1:
        count = 1
    return args[numkeys_idx + 1 : where_idx], where, count


def _mpop_from(c: Client, keys: list[bytes], where: int, count: int) -> Any:
    """Pop up to ``count`` elements from the first non-empty list of ``keys``."""
    db = c.db
    for key in keys:
        lst = get_write(db, key, deque)
        if not lst:
            continue
        n = min(count, len(lst))
        out = _pop_n(lst, where, n)
        _after_removal(db, key, lst, n)
        c.propagate_as = [_POP_NAME[where], key, b"%d" % n]
        return [key, out]
    return None


@command("lmpop", -4, "write movablekeys", keys=(0, 0, 0), group="list")
def lmpop(c: Client, args: list[bytes]) -> Any:
    keys, where, count = _mpop_parse(args, 1)
    reply = _mpop_from(c, keys, where, count)
    return NULL_ARRAY if reply is None else reply


def _move(c: Client, src_key: bytes, dst_key: bytes, wherefrom: int, whereto: int) -> Any:
    """``lmoveGenericCommand``."""
    db = c.db
    src = get_write(db, src_key, deque)
    if src is None:
        return None
    dst = get_write(db, dst_key, deque)
    value = src.popleft() if wherefrom == HEAD else src.pop()
    _push_into(c, db, dst_key, dst, value, whereto)
    if not src:
        db.delete_if_empty(src_key, src)
    db.modified(src_key)
    return value


@command("lmove", 5, "write denyoom", keys=(1, 2, 1), group="list")
def lmove(c: Client, args: list[bytes]) -> Any:
    wherefrom = _where(args[3])
    whereto = _where(args[4])
    return _move(c, args[1], args[2], wherefrom, whereto)


@command("rpoplpush", 3, "write denyoom", keys=(1, 2, 1), group="list")
def rpoplpush(c: Client, args: list[bytes]) -> Any:
    return _move(c, args[1], args[2], TAIL, HEAD)


# --------------------------------------------------------------------------- blocking pops


def _serve_list(st: BlockState, w: Waiter, db: Database, key: bytes, lst: deque) -> bool:
    """``serveClientBlockedOnList``; True when the list was emptied (and deleted)."""
    srv = st.server
    if w.target is None:
        if w.cmd == "blmpop":
            n = min(w.count, len(lst))
            srv.propagate(db.index, [_POP_NAME[w.where], key, b"%d" % n])
            reply: Any = [key, _pop_n(lst, w.where, n)]
        else:
            srv.propagate(db.index, [_POP_NAME[w.where], key])
            value = lst.popleft() if w.where == HEAD else lst.pop()
            reply = [key, value]
    else:
        dst = peek(db, w.target)
        if dst is not None and type(dst) is not deque:
            st.count_error(E.WRONGTYPE.encode())
            st.finish(w, ErrorReply(E.WRONGTYPE.encode()))
            return False
        value = lst.popleft() if w.where == HEAD else lst.pop()
        if dst is None:
            dst = deque()
            db.add_new(w.target, dst)
            st.signal(db.index, w.target)
        if w.whereto == HEAD:
            dst.appendleft(value)
        else:
            dst.append(value)
        db.modified(w.target)
        if w.cmd == "brpoplpush":
            srv.propagate(db.index, [b"RPOPLPUSH", key, w.target])
        else:
            srv.propagate(db.index, [b"LMOVE", key, w.target, _POS_NAME[w.where],
                                     _POS_NAME[w.whereto]])
        reply = value
    deleted = not lst
    if deleted:
        db.delete_if_empty(key, lst)
    db.modified(key)
    st.finish(w, reply)
    return deleted


def _block_list(c: Client, keys: list[bytes], cmd: str, where: int, timeout_ms: int,
                whereto: int = HEAD, target: bytes | None = None, count: int = -1) -> Blocked:
    st = block_state(c.server)
    w = Waiter(c, "list", cmd, _serve_list)
    w.where = where
    w.whereto = whereto
    w.target = target
    w.count = count
    return st.add(w, keys, timeout_ms)


def _blocking_pop(c: Client, keys: list[bytes], where: int, timeout_raw: bytes,
                  count: int, cmd: str) -> Any:
    """``blockingPopGenericCommand`` (count -1: BLPOP/BRPOP reply shape)."""
    timeout_ms = parse_timeout(timeout_raw)
    db = c.db
    for key in keys:
        lst = get_write(db, key, deque)
        if not lst:
            continue
        if count != -1:
            n = min(count, len(lst))
            out = _pop_n(lst, where, n)
            _after_removal(db, key, lst, n)
            c.propagate_as = [_POP_NAME[where], key, b"%d" % n]
            return [key, out]
        value = lst.popleft() if where == HEAD else lst.pop()
        _after_removal(db, key, lst, 1)
        c.propagate_as = [_POP_NAME[where], key]
        return [key, value]
    if not may_block(c):
        return NULL_ARRAY
    return _block_list(c, keys, cmd, where, timeout_ms, count=count)


@command("blpop", -3, "write noscript blocking", keys=(1, -2, 1), group="list")
def blpop(c: Client, args: list[bytes]) -> Any:
    return _blocking_pop(c, args[1:-1], HEAD, args[-1], -1, "blpop")


@command("brpop", -3, "write noscript blocking", keys=(1, -2, 1), group="list")
def brpop(c: Client, args: list[bytes]) -> Any:
    return _blocking_pop(c, args[1:-1], TAIL, args[-1], -1, "brpop")


@command("blmpop", -5, "write blocking movablekeys", keys=(0, 0, 0), group="list")
def blmpop(c: Client, args: list[bytes]) -> Any:
    keys, where, count = _mpop_parse(args, 2)
    return _blocking_pop(c, keys, where, args[1], count, "blmpop")


def _blmove(c: Client, args: list[bytes], wherefrom: int, whereto: int, timeout_ms: int,
            cmd: str) -> Any:
    db = c.db
    src = get_write(db, args[1], deque)
    if src is None:
        if not may_block(c):
            return None
        return _block_list(c, [args[1]], cmd, wherefrom, timeout_ms, whereto, args[2])
    value = _move(c, args[1], args[2], wherefrom, whereto)
    if cmd == "blmove":
        c.propagate_as = [b"LMOVE", args[1], args[2], args[3], args[4]]
    else:
        c.propagate_as = [b"RPOPLPUSH", args[1], args[2]]
    return value


@command("blmove", 6, "write denyoom noscript blocking", keys=(1, 2, 1), group="list")
def blmove(c: Client, args: list[bytes]) -> Any:
    wherefrom = _where(args[3])
    whereto = _where(args[4])
    timeout_ms = parse_timeout(args[5])
    return _blmove(c, args, wherefrom, whereto, timeout_ms, "blmove")


@command("brpoplpush", 4, "write denyoom noscript blocking", keys=(1, 2, 1), group="list")
def brpoplpush(c: Client, args: list[bytes]) -> Any:
    timeout_ms = parse_timeout(args[3])
    return _blmove(c, args, TAIL, HEAD, timeout_ms, "brpoplpush")
