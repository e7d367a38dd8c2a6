"""List commands, and what the collection families (lists, hashes, sets, sorted sets) share.

Shared here:

* key lookups with Redis' read/write semantics (``lookupKeyWrite`` keeps no hit/miss stats);
* range checks of integer arguments and doubles printed as Redis prints them (number
  parsing itself is in :mod:`.util`);
* HSCAN/SSCAN/ZSCAN cursors.

Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) wait through :mod:`.blocking`;
:func:`_serve_list` is how a waiting list client is served.
"""

from __future__ import annotations

import bisect
import math
import random
import re
from collections import OrderedDict, deque
from itertools import islice
from typing import Any, Callable

from .. import errors as E
from ..errors import CommandError
from ..glob import match as glob_match
from ..keyspace import Database
from ..resp import NULL_ARRAY, OK, ErrorReply
from ..server import Client
from . import command
from .blocking import BlockState, Waiter, block, parse_mpop, signal_db_key, signal_key
from .keys import lookup_write
from .util import parse_int, parse_timeout

LONG_MAX = 2**63 - 1

# --------------------------------------------------------------------------- lookups


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


INF = math.inf
_WS = b" \t\n\v\f\r"


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


# --------------------------------------------------------------------------- list helpers

HEAD, TAIL = 0, 1
_POS_NAME = (b"LEFT", b"RIGHT")
_POP_NAME = (b"LPOP", b"RPOP")
_SIDES = (b"left", b"right")


def _where(raw: bytes) -> int:
    low = raw.lower()
    if low == b"left":
        return HEAD
    if low == b"right":
        return TAIL
    raise CommandError(E.SYNTAX)


def index_span(start: int, end: int, n: int) -> tuple[int, int] | None:
    """LRANGE's, LTRIM's and ZRANGE's ranks (inclusive, negative from the end) inside
    ``n`` elements: clamped, or None when they select nothing."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    return start, min(end, n - 1)


def _range(lst: deque, start: int, end: int, reverse: bool = False) -> list[bytes]:
    """``addListRangeReply``: elements start..end (inclusive, negative from the end)."""
    n = len(lst)
    span = index_span(start, end, n)
    if span is None:
        return []
    start, end = span
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
    span = index_span(start, end, n)
    if span is None:
        ltrim_n, rtrim_n = n, 0
    else:
        ltrim_n, rtrim_n = span[0], n - span[1] - 1
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
    keys, where, count = parse_mpop(args, 1, _SIDES)
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
        dst = lookup_write(db, w.target)
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
    return block(c, "list", cmd, _serve_list, keys, timeout_ms, where=where, count=count)


@command("blpop", -3, "write noscript blocking", keys=(1, -2, 1), group="list")
def blpop(c: Client, args: list[bytes]) -> Any:
    return _blocking_pop(c, args[1:-1], HEAD, args[-1], -1, "blpop")


@command("brpop", -3, "write noscript blocking", keys=(1, -2, 1), group="list")
def brpop(c: Client, args: list[bytes]) -> Any:
    return _blocking_pop(c, args[1:-1], TAIL, args[-1], -1, "brpop")


@command("blmpop", -5, "write blocking movablekeys", keys=(0, 0, 0), group="list")
def blmpop(c: Client, args: list[bytes]) -> Any:
    keys, where, count = parse_mpop(args, 2, _SIDES)
    return _blocking_pop(c, keys, where, args[1], count, "blmpop")


def _blmove(c: Client, args: list[bytes], wherefrom: int, whereto: int, timeout_ms: int,
            cmd: str) -> Any:
    db = c.db
    src = get_write(db, args[1], deque)
    if src is None:
        return block(c, "list", cmd, _serve_list, [args[1]], timeout_ms, where=wherefrom,
                     whereto=whereto, target=args[2], timeout_reply=None)
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
