"""Sorted set commands: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZCOUNT,
ZLEXCOUNT, ZRANGE (BYSCORE/BYLEX/REV/LIMIT/WITHSCORES), ZRANGESTORE, the deprecated
ZREVRANGE/Z[REV]RANGEBYSCORE/Z[REV]RANGEBYLEX, ZPOPMIN/ZPOPMAX, ZMPOP, BZPOPMIN/BZPOPMAX,
BZMPOP, ZREMRANGEBYRANK/SCORE/LEX, ZUNION/ZINTER/ZDIFF (and STORE), ZINTERCARD,
ZRANDMEMBER, ZSCAN.

A sorted set is a :class:`~redislab.engine.keyspace.ZSet`: ``scores`` (member -> score)
and ``order``, the ``(score, member)`` pairs sorted as Redis' skiplist orders them (score,
then member bytes). Small sorted sets are listpacks in Redis; where that shows in replies
(ZSCAN's score text, lexicographic ranges over mixed scores) we follow the listpack.
"""

from __future__ import annotations

import bisect
import math
import random
from operator import itemgetter
from typing import Any

from .. import errors as E
from ..errors import CommandError
from ..keyspace import Database, ZSet
from ..resp import NULL_ARRAY, Double
from ..server import Client
from . import Handler, command
from .blocking import BlockState, Waiter, block, parse_mpop
from .lists import (
    EMPTY_SCAN, LONG_MAX, check_random_count, d2string, filter_pattern, g17, get_read,
    get_write, index_span, lookup_write, parse_long, parse_positive, parse_range_long, parse_scan_cursor,
    parse_scan_options, scan_members, signal_key,
)
from .util import parse_float, parse_int, parse_timeout, strtod_range

MIN, MAX = 0, 1
_SCORE = itemgetter(0)
_MEMBER = itemgetter(1)
_POP_NAME = (b"ZPOPMIN", b"ZPOPMAX")
_SIDES = (b"min", b"max")


def is_listpack(c: Client, z: ZSet) -> bool:
    """Would Redis keep this sorted set in a listpack?"""
    cfg = c.server.config
    if len(z) > cfg["zset-max-listpack-entries"]:
        return False
    limit = cfg["zset-max-listpack-value"]
    return all(len(m) <= limit for m in z.scores)


def _listpack_zero(c: Client, z: ZSet) -> None:
    """A listpack stores integral scores as integers, so -0 becomes 0 in a small sorted
    set (``zzlInsertAt``); call after building a result that Redis would keep small."""
    if not is_listpack(c, z):
        return
    for i, (s, m) in enumerate(z.order):
        if s == 0.0 and math.copysign(1.0, s) < 0:
            z.order[i] = (0.0, m)
            z.scores[m] = 0.0


def _build(pairs: list[tuple[float, bytes]]) -> ZSet:
    """A ZSet from (score, member) pairs already sorted."""
    z = ZSet()
    z.order = pairs
    z.scores = {m: s for s, m in pairs}
    return z


def _with_scores(c: Client, pairs: Any, withscores: bool) -> list[Any]:
    """Members, or member/score pairs (flat in RESP2, nested in RESP3)."""
    if not withscores:
        return [m for _, m in pairs]
    if c.resp3:
        return [[m, Double(s)] for s, m in pairs]
    out: list[Any] = []
    for s, m in pairs:
        out.append(m)
        out.append(Double(s))
    return out


def _store(c: Client, dst: bytes, z: ZSet) -> int:
    """``setKey`` the result (or delete the destination when it is empty)."""
    db = c.db
    if len(z):
        _listpack_zero(c, z)
        existed = lookup_write(db, dst) is not None
        db.set(dst, z)
        if not existed:
            signal_key(c, dst)
        return len(z)
    db.delete(dst)
    return 0


# --------------------------------------------------------------------------- ranges


def _parse_score_range(raw_min: bytes, raw_max: bytes) -> tuple[float, bool, float, bool]:
    """``zslParseRange``: (min, min exclusive, max, max exclusive)."""
    out: list[Any] = []
    for raw in (raw_min, raw_max):
        ex = raw[:1] == b"("
        value = strtod_range(raw[1:] if ex else raw)
        if value is None:
            raise CommandError(E.MIN_MAX_NOT_FLOAT)
        out += [value, ex]
    return out[0], out[1], out[2], out[3]


def _score_bounds(z: ZSet, spec: tuple[float, bool, float, bool]) -> tuple[int, int]:
    """[lo, hi) indexes of ``z.order`` whose scores are inside the range."""
    lo_v, lo_ex, hi_v, hi_ex = spec
    order = z.order
    lo = (bisect.bisect_right if lo_ex else bisect.bisect_left)(order, lo_v, key=_SCORE)
    hi = (bisect.bisect_left if hi_ex else bisect.bisect_right)(order, hi_v, key=_SCORE)
    return lo, hi


class _Lex:
    """A lexicographic bound of ZRANGEBYLEX: ``-``, ``+``, ``[x`` or ``(x``."""

    __slots__ = ("value", "ex", "kind")

    def __init__(self, raw: bytes):
        c0 = raw[:1]
        self.kind = 0
        if c0 in (b"+", b"-"):
            if raw[1:2] not in (b"", b"\0"):
                raise CommandError(E.MIN_MAX_NOT_STRING)
            self.kind = 1 if c0 == b"+" else -1
            self.ex = True
            self.value = b""
        elif c0 in (b"(", b"["):
            self.ex = c0 == b"("
            self.value = raw[1:]
        else:
            raise CommandError(E.MIN_MAX_NOT_STRING)


def _lexcmp_bounds(a: _Lex, b: _Lex) -> int:
    """``sdscmplex`` between two bounds."""
    if a.kind and a.kind == b.kind:
        return 0
    if a.kind == -1 or b.kind == 1:
        return -1
    if a.kind == 1 or b.kind == -1:
        return 1
    return (a.value > b.value) - (a.value < b.value)


def _gte_min(m: bytes, lo: _Lex) -> bool:
    if lo.kind:
        return lo.kind < 0
    return m > lo.value if lo.ex else m >= lo.value


def _lte_max(m: bytes, hi: _Lex) -> bool:
    if hi.kind:
        return hi.kind > 0
    return m < hi.value if hi.ex else m <= hi.value


def _lex_nonempty(lo: _Lex, hi: _Lex) -> bool:
    cmp = _lexcmp_bounds(lo, hi)
    return not (cmp > 0 or (cmp == 0 and (lo.ex or hi.ex)))


def _lex_in_range(order: list[tuple[float, bytes]], lo: _Lex, hi: _Lex) -> bool:
    """``zslIsInLexRange``: may some member be inside the range?"""
    return (bool(order) and _lex_nonempty(lo, hi)
            and _gte_min(order[-1][1], lo) and _lte_max(order[0][1], hi))


def _lex_bisect(z: ZSet, lo: _Lex, hi: _Lex) -> tuple[int, int]:
    """[lo, hi) for a sorted set whose members are in lexicographic order (same scores)."""
    order = z.order
    n = len(order)
    if lo.kind:
        a = 0 if lo.kind < 0 else n
    else:
        a = (bisect.bisect_right if lo.ex else bisect.bisect_left)(order, lo.value, key=_MEMBER)
    if hi.kind:
        b = n if hi.kind > 0 else 0
    else:
        b = (bisect.bisect_left if hi.ex else bisect.bisect_right)(order, hi.value, key=_MEMBER)
    return a, b


def _lex_first(c: Client, z: ZSet, lo: _Lex, hi: _Lex) -> int | None:
    """``zzlFirstInLexRange`` / ``zslFirstInLexRange``: index to start a forward walk."""
    order = z.order
    if not _lex_in_range(order, lo, hi):
        return None
    if is_listpack(c, z):
        for i, (_, m) in enumerate(order):
            if _gte_min(m, lo):
                return i if _lte_max(m, hi) else None
        return None
    a, b = _lex_bisect(z, lo, hi)
    return a if a < b else None


def _lex_last(c: Client, z: ZSet, lo: _Lex, hi: _Lex) -> int | None:
    """``zzlLastInLexRange`` / ``zslLastInLexRange``: index to start a backward walk."""
    order = z.order
    if not _lex_in_range(order, lo, hi):
        return None
    if is_listpack(c, z):
        for i in range(len(order) - 1, -1, -1):
            m = order[i][1]
            if _lte_max(m, hi):
                return i if _gte_min(m, lo) else None
        return None
    a, b = _lex_bisect(z, lo, hi)
    return b - 1 if a < b else None


def _lex_span(c: Client, z: ZSet, lo: _Lex, hi: _Lex) -> tuple[int, int]:
    """[start, end) of the elements a forward walk visits (ZLEXCOUNT, ZREMRANGEBYLEX)."""
    first = _lex_first(c, z, lo, hi)
    if first is None:
        return 0, 0
    order = z.order
    if not is_listpack(c, z):
        return first, _lex_bisect(z, lo, hi)[1]
    end = first
    while end < len(order) and _lte_max(order[end][1], hi):
        end += 1
    return first, end


# --------------------------------------------------------------------------- ZADD


def _zadd_generic(c: Client, args: list[bytes], incr: bool) -> Any:
    nx = xx = gt = lt = ch = False
    i = 2
    n = len(args)
    while i < n:
        opt = args[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        elif opt == b"incr":
            incr = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            break
        i += 1
    elements = n - i
    if elements % 2 or not elements:
        raise CommandError(E.SYNTAX)
    pairs = elements // 2
    if nx and xx:
        raise CommandError(E.ZADD_XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError(E.ZADD_GT_LT_NX)
    if incr and pairs > 1:
        raise CommandError(E.ZADD_INCR_PAIR)
    scores = []
    for j in range(pairs):
        scores.append(parse_float(args[i + 2 * j]))
    db = c.db
    key = args[1]
    z = get_write(db, key, ZSet)
    added = updated = processed = 0
    score = 0.0
    if z is None:
        if xx:
            return None if incr else 0
        z = ZSet()
        db.add_new(key, z)
        signal_key(c, key)
    zscores = z.scores
    try:
        for j in range(pairs):
            score = scores[j]
            member = args[i + 2 * j + 1]
            cur = zscores.get(member)
            if cur is not None:
                if nx:
                    continue
                if incr:
                    score += cur
                    if score != score:
                        raise CommandError(E.SCORE_NAN)
                if (lt and score >= cur) or (gt and score <= cur):
                    continue
                if score != cur:
                    z.add(member, score)
                    updated += 1
                processed += 1
            elif not xx:
                z.add(member, score)
                added += 1
                processed += 1
            else:
                continue
            if score == 0.0 and math.copysign(1.0, score) < 0:
                cfg = c.server.config
                if (len(z) <= cfg["zset-max-listpack-entries"]
                        and len(member) <= cfg["zset-max-listpack-value"]):
                    z.remove(member)  # stored as the integer 0 in a listpack
                    z.add(member, 0.0)
    finally:
        if added or updated:
            db.modified(key, added + updated)
    if incr:
        return Double(score) if processed else None
    return added + updated if ch else added


@command("zadd", -4, "write denyoom fast", keys=(1, 1, 1), group="sorted-set")
def zadd(c: Client, args: list[bytes]) -> Any:
    return _zadd_generic(c, args, False)


@command("zincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="sorted-set")
def zincrby(c: Client, args: list[bytes]) -> Any:
    return _zadd_generic(c, args, True)


@command("zrem", -3, "write fast", keys=(1, 1, 1), group="sorted-set")
def zrem(c: Client, args: list[bytes]) -> Any:
    db = c.db
    key = args[1]
    z = get_write(db, key, ZSet)
    if z is None:
        return 0
    deleted = 0
    for m in args[2:]:
        if z.remove(m):
            deleted += 1
        if not z:
            db.delete_if_empty(key, z)
            break
    if deleted:
        db.modified(key, deleted)
    return deleted


# --------------------------------------------------------------------------- reads


@command("zcard", 2, "readonly fast", keys=(1, 1, 1), group="sorted-set")
def zcard(c: Client, args: list[bytes]) -> Any:
    z = get_read(c.db, args[1], ZSet)
    return 0 if z is None else len(z)


@command("zscore", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set")
def zscore(c: Client, args: list[bytes]) -> Any:
    z = get_read(c.db, args[1], ZSet)
    if z is None:
        return None
    score = z.scores.get(args[2])
    return None if score is None else Double(score)


@command("zmscore", -3, "readonly fast", keys=(1, 1, 1), group="sorted-set")
def zmscore(c: Client, args: list[bytes]) -> Any:
    z = get_read(c.db, args[1], ZSet)
    if z is None:
        return [None] * (len(args) - 2)
    get = z.scores.get
    out: list[Any] = []
    for m in args[2:]:
        s = get(m)
        out.append(None if s is None else Double(s))
    return out


def _rank(c: Client, args: list[bytes], reverse: bool) -> Any:
    z = get_read(c.db, args[1], ZSet)
    if z is None:
        return None
    r = z.rank(args[2])
    if r is None:
        return None
    return len(z) - 1 - r if reverse else r


@command("zrank", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set")
def zrank(c: Client, args: list[bytes]) -> Any:
    return _rank(c, args, False)


@command("zrevrank", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set")
def zrevrank(c: Client, args: list[bytes]) -> Any:
    return _rank(c, args, True)


@command("zcount", 4, "readonly fast", keys=(1, 1, 1), group="sorted-set")
def zcount(c: Client, args: list[bytes]) -> Any:
    spec = _parse_score_range(args[2], args[3])
    z = get_read(c.db, args[1], ZSet)
    if z is None:
        return 0
    lo, hi = _score_bounds(z, spec)
    return max(0, hi - lo)


@command("zlexcount", 4, "readonly fast", keys=(1, 1, 1), group="sorted-set")
def zlexcount(c: Client, args: list[bytes]) -> Any:
    lo, hi = _Lex(args[2]), _Lex(args[3])
    z = get_read(c.db, args[1], ZSet)
    if z is None:
        return 0
    a, b = _lex_span(c, z, lo, hi)
    return b - a


# --------------------------------------------------------------------------- ZRANGE family

AUTO, RANK, SCORE, LEX = 0, 1, 2, 3
FORWARD, REVERSE = 1, 2


def _zrange_generic(c: Client, args: list[bytes], argc_start: int, store: bool,
                    rangetype: int, direction: int) -> Any:
    """``zrangeGenericCommand``."""
    key = args[argc_start]
    minidx, maxidx = argc_start + 1, argc_start + 2
    withscores = False
    offset, limit = 0, -1
    n = len(args)
    j = argc_start + 3
    while j < n:
        left = n - j - 1
        opt = args[j].lower()
        if not store and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and left >= 2:
            offset = parse_long(args[j + 1])
            limit = parse_long(args[j + 2])
            j += 2
        elif direction == AUTO and opt == b"rev":
            direction = REVERSE
        elif rangetype == AUTO and opt == b"bylex":
            rangetype = LEX
        elif rangetype == AUTO and opt == b"byscore":
            rangetype = SCORE
        else:
            raise CommandError(E.SYNTAX)
        j += 1
    if direction == AUTO:
        direction = FORWARD
    if rangetype == AUTO:
        rangetype = RANK
    if limit != -1 and rangetype == RANK:
        raise CommandError(E.ZRANGE_LIMIT_RANK)
    if withscores and rangetype == LEX:
        raise CommandError(E.ZRANGE_WITHSCORES_LEX)
    reverse = direction == REVERSE
    if reverse and rangetype in (SCORE, LEX):
        minidx, maxidx = maxidx, minidx
    if rangetype == RANK:
        start = parse_long(args[minidx])
        end = parse_long(args[maxidx])
    elif rangetype == SCORE:
        spec = _parse_score_range(args[minidx], args[maxidx])
    else:
        lo, hi = _Lex(args[minidx]), _Lex(args[maxidx])
    z = get_read(c.db, key, ZSet)
    if z is None:
        if store:
            return _store(c, args[1], ZSet())
        return []
    order = z.order
    size = len(order)
    if rangetype == RANK:
        span = index_span(start, end, size)
        if span is None:
            pairs: list[tuple[float, bytes]] = []
        else:
            start, end = span
            if reverse:
                pairs = order[size - 1 - end : size - start]
                pairs.reverse()
            else:
                pairs = order[start : end + 1]
    elif rangetype == SCORE:
        if offset > 0 and offset >= size:
            pairs = []
        elif offset < 0:
            pairs = []
        else:
            a, b = _score_bounds(z, spec)
            if a >= b:
                pairs = []
            elif not reverse:
                stop = b if limit < 0 else min(b, a + offset + limit)
                pairs = order[a + offset : stop] if a + offset < stop else []
            else:
                top = b - 1 - offset
                bottom = a if limit < 0 else max(a, top - limit + 1)
                if top < bottom:
                    pairs = []
                else:
                    pairs = order[bottom : top + 1]
                    pairs.reverse()
    else:
        pairs = _lex_walk(c, z, lo, hi, reverse, offset, limit)
    if store:
        return _store(c, args[1], _build(sorted(pairs)))
    return _with_scores(c, pairs, withscores)


def _lex_walk(c: Client, z: ZSet, lo: _Lex, hi: _Lex, reverse: bool, offset: int,
              limit: int) -> list[tuple[float, bytes]]:
    """``genericZrangebylexCommand``: start, skip ``offset``, then walk while in range."""
    if offset < 0:
        return []
    order = z.order
    out: list[tuple[float, bytes]] = []
    if not reverse:
        i = _lex_first(c, z, lo, hi)
        if i is None:
            return out
        i += offset
        while i < len(order) and limit != 0:
            if not _lte_max(order[i][1], hi):
                break
            out.append(order[i])
            i += 1
            limit -= 1
    else:
        i = _lex_last(c, z, lo, hi)
        if i is None:
            return out
        i -= offset
        while i >= 0 and limit != 0:
            if not _gte_min(order[i][1], lo):
                break
            out.append(order[i])
            i -= 1
            limit -= 1
    return out


def _zrange_variant(argc_start: int, store: bool, rangetype: int, direction: int) -> Handler:
    def handler(c: Client, args: list[bytes]) -> Any:
        return _zrange_generic(c, args, argc_start, store, rangetype, direction)
    return handler


# ZRANGE and its older forms are all ``zrangeGenericCommand``:
# name, arity, flags, keys, (argc_start, store, rangetype, direction)
for _name, _arity, _flags, _keys, _how in (
    ("zrange", -4, "readonly", (1, 1, 1), (1, False, AUTO, AUTO)),
    ("zrangestore", -5, "write denyoom", (1, 2, 1), (2, True, AUTO, AUTO)),
    ("zrevrange", -4, "readonly", (1, 1, 1), (1, False, RANK, REVERSE)),
    ("zrangebyscore", -4, "readonly", (1, 1, 1), (1, False, SCORE, FORWARD)),
    ("zrevrangebyscore", -4, "readonly", (1, 1, 1), (1, False, SCORE, REVERSE)),
    ("zrangebylex", -4, "readonly", (1, 1, 1), (1, False, LEX, FORWARD)),
    ("zrevrangebylex", -4, "readonly", (1, 1, 1), (1, False, LEX, REVERSE)),
):
    command(_name, _arity, _flags, keys=_keys, group="sorted-set")(_zrange_variant(*_how))


# --------------------------------------------------------------------------- ZREMRANGEBY*


def _remove_span(c: Client, key: bytes, z: ZSet, a: int, b: int) -> int:
    if a >= b:
        return 0
    removed = z.order[a:b]
    del z.order[a:b]
    scores = z.scores
    for _, m in removed:
        del scores[m]
    db = c.db
    if not z:
        db.delete_if_empty(key, z)
    db.modified(key, len(removed))
    return len(removed)


@command("zremrangebyrank", 4, "write", keys=(1, 1, 1), group="sorted-set")
def zremrangebyrank(c: Client, args: list[bytes]) -> Any:
    start = parse_long(args[2])
    end = parse_long(args[3])
    key = args[1]
    z = get_write(c.db, key, ZSet)
    if z is None:
        return 0
    span = index_span(start, end, len(z))
    if span is None:
        return 0
    return _remove_span(c, key, z, span[0], span[1] + 1)


@command("zremrangebyscore", 4, "write", keys=(1, 1, 1), group="sorted-set")
def zremrangebyscore(c: Client, args: list[bytes]) -> Any:
    spec = _parse_score_range(args[2], args[3])
    key = args[1]
    z = get_write(c.db, key, ZSet)
    if z is None:
        return 0
    a, b = _score_bounds(z, spec)
    return _remove_span(c, key, z, a, b)


@command("zremrangebylex", 4, "write", keys=(1, 1, 1), group="sorted-set")
def zremrangebylex(c: Client, args: list[bytes]) -> Any:
    lo, hi = _Lex(args[2]), _Lex(args[3])
    key = args[1]
    z = get_write(c.db, key, ZSet)
    if z is None:
        return 0
    a, b = _lex_span(c, z, lo, hi)
    return _remove_span(c, key, z, a, b)


# --------------------------------------------------------------------------- set operations

UNION, INTER, DIFF = 0, 1, 2
SUM, AMIN, AMAX = 0, 1, 2


def _members_scores(obj: Any) -> Any:
    """(member, score) of a sorted set or a set (whose members score 1.0)."""
    if type(obj) is ZSet:
        return [(m, s) for s, m in obj.order]
    return [(m, 1.0) for m in obj]


def _score_of(obj: Any, member: bytes) -> float | None:
    if type(obj) is ZSet:
        return obj.scores.get(member)
    return 1.0 if member in obj else None


def _aggregate(target: float, value: float, how: int) -> float:
    if how == SUM:
        out = target + value
        return 0.0 if out != out else out
    if how == AMIN:
        return value if value < target else target
    return value if value > target else target


def _zsetop(c: Client, args: list[bytes], numkeys_idx: int, op: int, dst: bytes | None,
            card_only: bool = False) -> Any:
    """``zunionInterDiffGenericCommand``."""
    setnum = parse_int(args[numkeys_idx])
    if setnum < 1:
        raise CommandError(E.ZSET_NEED_KEY % args[0].lower().decode(errors="replace"))
    if setnum > len(args) - (numkeys_idx + 1):
        raise CommandError(E.SYNTAX)
    db = c.db
    srcs: list[Any] = []
    weights: list[float] = []
    j = numkeys_idx + 1
    for _ in range(setnum):
        obj = db.lookup(args[j])
        if obj is not None and type(obj) is not ZSet and type(obj) is not set:
            raise CommandError(E.WRONGTYPE)
        srcs.append(obj)
        weights.append(1.0)
        j += 1
    how = SUM
    withscores = False
    limit = 0
    n = len(args)
    while j < n:
        remaining = n - j
        opt = args[j].lower()
        if op != DIFF and not card_only and remaining >= setnum + 1 and opt == b"weights":
            j += 1
            for i in range(setnum):
                weights[i] = parse_float(args[j], E.WEIGHT_NOT_FLOAT)
                j += 1
        elif op != DIFF and not card_only and remaining >= 2 and opt == b"aggregate":
            kind = args[j + 1].lower()
            if kind == b"sum":
                how = SUM
            elif kind == b"min":
                how = AMIN
            elif kind == b"max":
                how = AMAX
            else:
                raise CommandError(E.SYNTAX)
            j += 2
        elif remaining >= 1 and dst is None and not card_only and opt == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and opt == b"limit":
            limit = parse_positive(args[j + 1], E.LIMIT_NEGATIVE)
            j += 2
        else:
            raise CommandError(E.SYNTAX)
    src = list(zip(srcs, weights))
    if op != DIFF:
        src.sort(key=lambda sw: len(sw[0]) if sw[0] is not None else 0)
    result: dict[bytes, float] = {}
    if op == INTER:
        first, w0 = src[0]
        if first:
            rest = src[1:]
            count = 0
            for m, s in _members_scores(first):
                score = w0 * s
                if score != score:
                    score = 0.0
                for obj, w in rest:
                    if obj is first:
                        value = s * w
                    else:
                        v = _score_of(obj, m)
                        if v is None:
                            break
                        value = v * w
                    score = _aggregate(score, value, how)
                else:
                    if card_only:
                        count += 1
                        if limit and count >= limit:
                            break
                    else:
                        result[m] = score
            if card_only:
                return count
        elif card_only:
            return 0
    elif op == UNION:
        for obj, w in src:
            if not obj:
                continue
            for m, s in _members_scores(obj):
                score = w * s
                if score != score:
                    score = 0.0
                old = result.get(m)
                result[m] = score if old is None else _aggregate(old, score, how)
    else:
        first = src[0][0]
        if first and not any(obj is first for obj, _ in src[1:]):
            others = [obj for obj, _ in src[1:] if obj]
            for m, s in _members_scores(first):
                for obj in others:
                    if _score_of(obj, m) is not None:
                        break
                else:
                    result[m] = s
    z = _build(sorted((s, m) for m, s in result.items()))
    if dst is not None:
        return _store(c, dst, z)
    return _with_scores(c, z.order, withscores)


@command("zunionstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group="sorted-set")
def zunionstore(c: Client, args: list[bytes]) -> Any:
    return _zsetop(c, args, 2, UNION, args[1])


@command("zinterstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group="sorted-set")
def zinterstore(c: Client, args: list[bytes]) -> Any:
    return _zsetop(c, args, 2, INTER, args[1])


@command("zdiffstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group="sorted-set")
def zdiffstore(c: Client, args: list[bytes]) -> Any:
    return _zsetop(c, args, 2, DIFF, args[1])


@command("zunion", -3, "readonly movablekeys", keys=(0, 0, 0), group="sorted-set")
def zunion(c: Client, args: list[bytes]) -> Any:
    return _zsetop(c, args, 1, UNION, None)


@command("zinter", -3, "readonly movablekeys", keys=(0, 0, 0), group="sorted-set")
def zinter(c: Client, args: list[bytes]) -> Any:
    return _zsetop(c, args, 1, INTER, None)


@command("zintercard", -3, "readonly movablekeys", keys=(0, 0, 0), group="sorted-set")
def zintercard(c: Client, args: list[bytes]) -> Any:
    return _zsetop(c, args, 1, INTER, None, card_only=True)


@command("zdiff", -3, "readonly movablekeys", keys=(0, 0, 0), group="sorted-set")
def zdiff(c: Client, args: list[bytes]) -> Any:
    return _zsetop(c, args, 1, DIFF, None)


# --------------------------------------------------------------------------- pops


def _pop_pairs(db: Database, key: bytes, z: ZSet, where: int,
               n: int) -> list[tuple[float, bytes]]:
    order = z.order
    if where == MIN:
        pairs = order[:n]
        del order[:n]
    else:
        pairs = order[-n:]
        del order[-n:]
        pairs.reverse()
    scores = z.scores
    for _, m in pairs:
        del scores[m]
    if not z:
        db.delete_if_empty(key, z)
    db.modified(key, n)
    return pairs


def _zpop(c: Client, keys: list[bytes], where: int, emitkey: bool, count: int,
          nested: bool, nil_when_empty: bool) -> Any:
    """``genericZpopCommand``; returns (reply, key popped from, elements popped)."""
    db = c.db
    z = None
    key = b""
    for key in keys:
        z = get_write(db, key, ZSet)
        if z is not None:
            break
    if z is None:
        return (NULL_ARRAY if nil_when_empty else []), None, 0
    if count == 0:
        return [], None, 0
    if count == -1:
        count = 1
    n = min(count, len(z))
    pairs = _pop_pairs(db, key, z, where, n)
    return _pop_reply(key, pairs, emitkey, nested), key, n


def _pop_reply(key: bytes, pairs: list[tuple[float, bytes]], emitkey: bool,
               nested: bool) -> list[Any]:
    if nested:
        items: list[Any] = [[m, Double(s)] for s, m in pairs]
        return [key, items] if emitkey else items
    out: list[Any] = [key] if emitkey else []
    for s, m in pairs:
        out.append(m)
        out.append(Double(s))
    return out


def _zpop_minmax(c: Client, args: list[bytes], where: int) -> Any:
    if len(args) > 3:
        raise CommandError(E.SYNTAX)
    count = parse_positive(args[2]) if len(args) == 3 else -1
    nested = c.resp3 and count != -1
    reply, _, _ = _zpop(c, [args[1]], where, False, count, nested, False)
    return reply


@command("zpopmin", -2, "write fast", keys=(1, 1, 1), group="sorted-set")
def zpopmin(c: Client, args: list[bytes]) -> Any:
    return _zpop_minmax(c, args, MIN)


@command("zpopmax", -2, "write fast", keys=(1, 1, 1), group="sorted-set")
def zpopmax(c: Client, args: list[bytes]) -> Any:
    return _zpop_minmax(c, args, MAX)


@command("zmpop", -4, "write movablekeys", keys=(0, 0, 0), group="sorted-set")
def zmpop(c: Client, args: list[bytes]) -> Any:
    keys, where, count = parse_mpop(args, 1, _SIDES)
    reply, key, n = _zpop(c, keys, where, True, count, True, True)
    if key is not None:
        c.propagate_as = [_POP_NAME[where], key, b"%d" % n]
    return reply


def _serve_zset(st: BlockState, w: Waiter, db: Database, key: bytes, z: ZSet) -> bool:
    """Serve a BZPOPMIN/BZPOPMAX/BZMPOP waiter; True when the sorted set was emptied."""
    count = w.count
    n = 1 if count == -1 else min(count, len(z))
    pairs = _pop_pairs(db, key, z, w.where, n)
    reply = _pop_reply(key, pairs, True, w.cmd == "bzmpop")
    argv = [_POP_NAME[w.where], key]
    if count != -1:
        argv.append(b"%d" % n)
    st.server.propagate(db.index, argv)
    st.finish(w, reply)
    return key not in db.data


def _blocking_zpop(c: Client, keys: list[bytes], where: int, timeout_raw: bytes,
                   count: int, cmd: str) -> Any:
    """``blockingGenericZpopCommand``."""
    timeout_ms = parse_timeout(timeout_raw)
    db = c.db
    nested = cmd == "bzmpop"
    for key in keys:
        z = get_write(db, key, ZSet)
        if not z:
            continue
        n = 1 if count == -1 else min(count, len(z))
        pairs = _pop_pairs(db, key, z, where, n)
        c.propagate_as = [_POP_NAME[where], key] if count == -1 else [
            _POP_NAME[where], key, b"%d" % n]
        return _pop_reply(key, pairs, True, nested)
    return block(c, "zset", cmd, _serve_zset, keys, timeout_ms, where=where, count=count)


@command("bzpopmin", -3, "write noscript fast blocking", keys=(1, -2, 1), group="sorted-set")
def bzpopmin(c: Client, args: list[bytes]) -> Any:
    return _blocking_zpop(c, args[1:-1], MIN, args[-1], -1, "bzpopmin")


@command("bzpopmax", -3, "write noscript fast blocking", keys=(1, -2, 1), group="sorted-set")
def bzpopmax(c: Client, args: list[bytes]) -> Any:
    return _blocking_zpop(c, args[1:-1], MAX, args[-1], -1, "bzpopmax")


@command("bzmpop", -5, "write blocking movablekeys", keys=(0, 0, 0), group="sorted-set")
def bzmpop(c: Client, args: list[bytes]) -> Any:
    keys, where, count = parse_mpop(args, 2, _SIDES)
    return _blocking_zpop(c, keys, where, args[1], count, "bzmpop")


# --------------------------------------------------------------------------- random, scan


@command("zrandmember", -2, "readonly", keys=(1, 1, 1), group="sorted-set")
def zrandmember(c: Client, args: list[bytes]) -> Any:
    if len(args) >= 3:
        count = parse_range_long(args[2], -LONG_MAX, LONG_MAX)
        withscores = False
        if len(args) > 4 or (len(args) == 4 and args[3].lower() != b"withscores"):
            raise CommandError(E.SYNTAX)
        if len(args) == 4:
            withscores = True
            if count < -(LONG_MAX // 2) or count > LONG_MAX // 2:
                raise CommandError(E.VALUE_OUT_OF_RANGE)
        z = get_read(c.db, args[1], ZSet)
        if z is None or count == 0:
            return []
        order = z.order
        if count < 0 or count == 1:
            n = -count if count < 0 else 1
            check_random_count(n)
            pairs = random.choices(order, k=n)
        elif count >= len(order):
            pairs = order[::-1]  # Redis iterates sorted sets from the tail here
        else:
            pairs = random.sample(order, count)
        return _with_scores(c, pairs, withscores)
    z = get_read(c.db, args[1], ZSet)
    if z is None:
        return None
    return random.choice(z.order)[1]


@command("zscan", -3, "readonly", keys=(1, 1, 1), group="sorted-set")
def zscan(c: Client, args: list[bytes]) -> Any:
    cursor = parse_scan_cursor(args[2])
    z = get_read(c.db, args[1], ZSet)
    if z is None:
        return EMPTY_SCAN
    count, pattern = parse_scan_options(args, 3)
    items: list[bytes] = []
    if is_listpack(c, z):
        for s, m in z.order:
            items.append(m)
            items.append(d2string(s + 0.0))
        return [b"0", filter_pattern(items, pattern, True)]
    scores = z.scores
    cursor, members = scan_members(z, lambda: list(scores), cursor, count)
    for m in members:
        items.append(m)
        items.append(g17(scores[m]))
    return [b"%d" % cursor, filter_pattern(items, pattern, True)]
