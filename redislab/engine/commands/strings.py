"""String commands: SET and its variants, GET/GETSET/GETDEL/GETEX, MSET(NX)/MGET, the
INCR family, INCRBYFLOAT, APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE, LCS.

INCRBYFLOAT computes as Redis does on x86-64: in 80-bit ``long double`` (64-bit
mantissa), parsing with ``strtold`` rules and printing with ``%.17Lf`` minus trailing
zeros. Python has no such type, so the arithmetic is done exactly on fractions and rounded
to the long double grid (see :func:`.util.ld_round`), which gives the same bits.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .. import errors as E
from ..errors import CommandError
from ..keyspace import Database, now_ms
from ..resp import OK, Map
from .keys import already_expired, deleted_as, family_command, lookup_write, tracker
from .util import INT64_MAX, INT64_MIN, ld2string_human, ld_round, parse_int, string2ld

GROUP = "string"


def _cmd(name: str, arity: int, flags: str, keys: tuple[int, int, int] = (1, 1, 1)):
    return family_command(name, arity, flags, keys, GROUP)


def _store(c: Any, db: Database, key: bytes, value: bytes, keep_ttl: bool = False,
           enc: bytes | None = None) -> None:
    """Set a string value (``db.set``) and record an encoding the bytes do not imply."""
    db.set(key, value, keep_ttl=keep_ttl)
    t = tracker(c.server)
    if enc is not None or t.enc:  # else there is no recorded encoding to drop
        t.set_encoding(db, key, value, enc)


def _read_string(db: Database, key: bytes) -> bytes | None:
    """``lookupKeyWrite`` + ``checkType`` for strings."""
    value = lookup_write(db, key)
    if value is not None and type(value) is not bytes:
        raise CommandError(E.WRONGTYPE)
    return value


def _check_length(c: Any, size: int, append: int) -> None:
    """``checkStringLength``: the result may not exceed proto-max-bulk-len."""
    if "master" in c.flags or c.server.loading:
        return
    if size + append > c.server.config["proto-max-bulk-len"]:
        raise CommandError(E.STRING_TOO_LONG)


# --------------------------------------------------------------------------- SET family

NX, XX, EX, PX, KEEPTTL, GET, EXAT, PXAT, PERSIST = (1 << i for i in range(9))
_EXPIRES = EX | PX | EXAT | PXAT
# EX, PX, EXAT, PXAT: (flag, the flags that refuse it: KEEPTTL, PERSIST, the other three)
_EXPIRE_OPTIONS = {
    opt: (flag, KEEPTTL | PERSIST | (_EXPIRES & ~flag))
    for opt, flag in ((b"ex", EX), (b"px", PX), (b"exat", EXAT), (b"pxat", PXAT))
}


def parse_extended(args: list[bytes], for_set: bool) -> tuple[int, bytes | None]:
    """``parseExtendedStringArgumentsOrReply`` of SET (``for_set``) and GETEX."""
    flags = 0
    expire = None
    j = 3 if for_set else 2
    n = len(args)
    while j < n:
        opt = args[j].lower()
        has_next = j < n - 1
        if opt == b"nx" and not flags & XX and for_set:
            flags |= NX
        elif opt == b"xx" and not flags & NX and for_set:
            flags |= XX
        elif opt == b"get" and for_set:
            flags |= GET
        elif opt == b"keepttl" and not flags & (PERSIST | _EXPIRES) and for_set:
            flags |= KEEPTTL
        elif opt == b"persist" and not for_set and not flags & (_EXPIRES | KEEPTTL):
            flags |= PERSIST
        elif (option := _EXPIRE_OPTIONS.get(opt)) and not flags & option[1] and has_next:
            flags |= option[0]
            expire = args[j + 1]
            j += 1
        else:
            raise CommandError(E.SYNTAX)
        j += 1
    return flags, expire


def expire_ms(raw: bytes, flags: int, name: str) -> int:
    """``getExpireMillisecondsOrReply``: the absolute expiry time in milliseconds."""
    ms = parse_int(raw)
    seconds = bool(flags & (EX | EXAT))
    if ms <= 0 or (seconds and ms > INT64_MAX // 1000):
        raise CommandError(E.INVALID_EXPIRE % name)
    if seconds:
        ms *= 1000
    if flags & (EX | PX):
        ms += now_ms()
    if ms > INT64_MAX:  # Redis detects the signed overflow
        raise CommandError(E.INVALID_EXPIRE % name)
    return ms


def _set_generic(c: Any, name: str, key: bytes, value: bytes, flags: int,
                 expire: bytes | None, ok: Any = OK, abort: Any = None) -> Any:
    when = expire_ms(expire, flags, name) if expire is not None else None
    db = c.db
    old = None
    if flags & GET:
        old = db.get(key, bytes)
    found = lookup_write(db, key) is not None
    if (flags & NX and found) or (flags & XX and not found):
        return old if flags & GET else abort
    if when is not None:
        # Redis counts SET ... EX as one change: store the expiry first, then db.set
        db.expires[key] = when
        _store(c, db, key, value, keep_ttl=True)
        c.propagate_as = [b"SET", key, value, b"PXAT", b"%d" % when]
    else:
        _store(c, db, key, value, keep_ttl=bool(flags & KEEPTTL))
    return old if flags & GET else ok


@_cmd("set", -3, "write denyoom")
def set_(c: Any, args: list[bytes]) -> Any:
    if len(args) == 3:
        db = c.db
        key = args[1]
        if not db.expires or key not in db.expires:
            # plain SET of a key without a TTL: nothing can expire on the way
            _store(c, db, key, args[2])
            return OK
    flags, expire = parse_extended(args, True)
    if flags & GET and expire is None:
        # propagated without GET (it only shapes the reply)
        c.propagate_as = [a for j, a in enumerate(args) if j < 3 or a.lower() != b"get"]
    return _set_generic(c, "set", args[1], args[2], flags, expire)


@_cmd("setnx", 3, "write denyoom fast")
def setnx(c: Any, args: list[bytes]) -> Any:
    return _set_generic(c, "setnx", args[1], args[2], NX, None, 1, 0)


@_cmd("setex", 4, "write denyoom")
def setex(c: Any, args: list[bytes]) -> Any:
    return _set_generic(c, "setex", args[1], args[3], EX, args[2])


@_cmd("psetex", 4, "write denyoom")
def psetex(c: Any, args: list[bytes]) -> Any:
    return _set_generic(c, "psetex", args[1], args[3], PX, args[2])


@_cmd("get", 2, "readonly fast")
def get(c: Any, args: list[bytes]) -> Any:
    return c.db.get(args[1], bytes)


@_cmd("getset", 3, "write denyoom fast")
def getset(c: Any, args: list[bytes]) -> Any:
    db = c.db
    old = db.get(args[1], bytes)
    _store(c, db, args[1], args[2])
    c.propagate_as = [b"SET", args[1], args[2]]
    return old


@_cmd("getdel", 2, "write fast")
def getdel(c: Any, args: list[bytes]) -> Any:
    db = c.db
    old = db.get(args[1], bytes)
    if old is not None and db.delete(args[1]):
        tracker(c.server).set_encoding(db, args[1], old, None)
        c.propagate_as = [deleted_as(c.server, "lazyfree-lazy-user-del"), args[1]]
    return old


@_cmd("getex", -2, "write fast")
def getex(c: Any, args: list[bytes]) -> Any:
    flags, expire = parse_extended(args, False)
    db = c.db
    key = args[1]
    value = db.get(key, bytes)
    if value is None:
        return None
    when = expire_ms(expire, flags, "getex") if expire is not None else None
    if flags & (EXAT | PXAT) and already_expired(c, when):
        db.delete(key)
        tracker(c.server).set_encoding(db, key, value, None)
        c.propagate_as = [deleted_as(c.server, "lazyfree-lazy-expire"), key]
    elif when is not None:
        db.set_expire(key, when)
        c.propagate_as = [b"PEXPIREAT", key, b"%d" % when]
    elif flags & PERSIST:
        if db.persist(key):
            c.propagate_as = [b"PERSIST", key]
    return value


@_cmd("mget", -2, "readonly fast", keys=(1, -1, 1))
def mget(c: Any, args: list[bytes]) -> Any:
    db = c.db
    out = []
    for key in args[1:]:
        value = db.lookup(key)
        out.append(value if type(value) is bytes else None)
    return out


def _mset(c: Any, args: list[bytes], name: str, nx: bool) -> Any:
    if len(args) % 2 == 0:
        raise CommandError(E.WRONG_ARITY % name)
    db = c.db
    if nx:
        for j in range(1, len(args), 2):
            if lookup_write(db, args[j]) is not None:
                return 0
    for j in range(1, len(args), 2):
        _store(c, db, args[j], args[j + 1])
    return 1 if nx else OK


@_cmd("mset", -3, "write denyoom", keys=(1, -1, 2))
def mset(c: Any, args: list[bytes]) -> Any:
    return _mset(c, args, "mset", False)


@_cmd("msetnx", -3, "write denyoom", keys=(1, -1, 2))
def msetnx(c: Any, args: list[bytes]) -> Any:
    return _mset(c, args, "msetnx", True)


# --------------------------------------------------------------------------- counters


def _incr(c: Any, key: bytes, incr: int) -> int:
    db = c.db
    old = _read_string(db, key)
    value = 0 if old is None else parse_int(old)
    if (incr < 0 and value < 0 and incr < INT64_MIN - value) or (
        incr > 0 and value > 0 and incr > INT64_MAX - value
    ):
        raise CommandError(E.OVERFLOW)
    value += incr
    _store(c, db, key, b"%d" % value, keep_ttl=True)
    return value


@_cmd("incr", 2, "write denyoom fast")
def incr(c: Any, args: list[bytes]) -> Any:
    return _incr(c, args[1], 1)


@_cmd("decr", 2, "write denyoom fast")
def decr(c: Any, args: list[bytes]) -> Any:
    return _incr(c, args[1], -1)


@_cmd("incrby", 3, "write denyoom fast")
def incrby(c: Any, args: list[bytes]) -> Any:
    return _incr(c, args[1], parse_int(args[2]))


@_cmd("decrby", 3, "write denyoom fast")
def decrby(c: Any, args: list[bytes]) -> Any:
    n = parse_int(args[2])
    if n == INT64_MIN:
        raise CommandError(E.DECR_OVERFLOW)
    return _incr(c, args[1], -n)


# --------------------------------------------------------------------------- long double


@_cmd("incrbyfloat", 3, "write denyoom fast")
def incrbyfloat(c: Any, args: list[bytes]) -> Any:
    db = c.db
    key = args[1]
    old = _read_string(db, key)
    value = Fraction(0) if old is None else string2ld(old)
    incr = string2ld(args[2]) if value is not None else None
    if value is None or incr is None:
        raise CommandError(E.NOT_FLOAT)
    if isinstance(value, float) or isinstance(incr, float):
        raise CommandError(E.INCR_NAN)  # inf + x is inf, inf - inf is NaN
    result = ld_round(value + incr)
    if result is None:
        raise CommandError(E.INCR_NAN)
    text = ld2string_human(result)
    _store(c, db, key, text, keep_ttl=True, enc=b"embstr" if len(text) <= 44 else b"raw")
    c.propagate_as = [b"SET", key, text, b"KEEPTTL"]
    return text


# --------------------------------------------------------------------------- byte ranges


@_cmd("append", 3, "write denyoom fast")
def append(c: Any, args: list[bytes]) -> Any:
    db = c.db
    key, tail = args[1], args[2]
    old = _read_string(db, key)
    if old is None:
        _store(c, db, key, tail)
        return len(tail)
    _check_length(c, len(old), len(tail))
    value = old + tail
    _store(c, db, key, value, keep_ttl=True, enc=b"raw")
    return len(value)


@_cmd("strlen", 2, "readonly fast")
def strlen(c: Any, args: list[bytes]) -> Any:
    value = c.db.get(args[1], bytes)
    return 0 if value is None else len(value)


def _getrange(c: Any, args: list[bytes]) -> Any:
    start = parse_int(args[2])
    end = parse_int(args[3])
    value = c.db.get(args[1], bytes)
    if value is None:
        return b""
    n = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return value[start : end + 1]


@_cmd("getrange", 4, "readonly")
def getrange(c: Any, args: list[bytes]) -> Any:
    return _getrange(c, args)


@_cmd("substr", 4, "readonly")
def substr(c: Any, args: list[bytes]) -> Any:
    return _getrange(c, args)


@_cmd("setrange", 4, "write denyoom")
def setrange(c: Any, args: list[bytes]) -> Any:
    offset = parse_int(args[2])
    if offset < 0:
        raise CommandError(E.OFFSET_OUT_OF_RANGE)
    piece = args[3]
    db = c.db
    key = args[1]
    old = _read_string(db, key)
    if old is None:
        if not piece:
            return 0
        _check_length(c, offset, len(piece))
        value = b"\x00" * offset + piece
        _store(c, db, key, value, enc=b"raw")
        return len(value)
    if not piece:
        return len(old)
    _check_length(c, offset, len(piece))
    if offset > len(old):
        value = old + b"\x00" * (offset - len(old)) + piece
    else:
        value = old[:offset] + piece + old[offset + len(piece) :]
    _store(c, db, key, value, keep_ttl=True, enc=b"raw")
    return len(value)


# --------------------------------------------------------------------------- LCS


@_cmd("lcs", -3, "readonly", keys=(1, 2, 1))
def lcs(c: Any, args: list[bytes]) -> Any:
    db = c.db
    a = db.lookup(args[1])
    b = db.lookup(args[2])
    if (a is not None and type(a) is not bytes) or (b is not None and type(b) is not bytes):
        raise CommandError(E.LCS_NOT_STRINGS)
    a = a or b""
    b = b or b""
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j = 3
    while j < len(args):
        opt = args[j].lower()
        more = len(args) - 1 - j
        if opt == b"idx":
            getidx = True
        elif opt == b"len":
            getlen = True
        elif opt == b"withmatchlen":
            withmatchlen = True
        elif opt == b"minmatchlen" and more:
            minmatchlen = max(0, parse_int(args[j + 1]))
            j += 1
        else:
            raise CommandError(E.SYNTAX)
        j += 1
    if getlen and getidx:
        raise CommandError(E.LCS_LEN_AND_IDX)
    alen, blen = len(a), len(b)
    if (alen + 1) * (blen + 1) * 4 > c.server.config["proto-max-bulk-len"]:
        raise CommandError(E.LCS_TOO_BIG)
    # Bit-parallel LCS (Hyyro): after i bytes of ``a``, the zero bits of rows[i] mark the
    # positions j of ``b`` where LCS(a[:i], b[:j]) grows, so LCS(i, j) is j minus the ones
    # among its low j bits. Same table as Redis' dynamic programming, 64 cells a word.
    full = (1 << blen) - 1
    masks: dict[int, int] = {}
    for pos, ch in enumerate(b):
        masks[ch] = masks.get(ch, 0) | (1 << pos)
    rows = [full]
    v = full
    for ch in a:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
        rows.append(v)

    def table(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    total = table(alen, blen)
    if getlen and not getidx:
        return total
    result = bytearray(total)
    idx = total
    matches: list[Any] = []
    i, jj = alen, blen
    a_start = alen  # alen means "no range being tracked"
    a_end = b_start = b_end = 0
    while i > 0 and jj > 0:
        emit = False
        if a[i - 1] == b[jj - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = jj - 1
            elif a_start == i and b_start == jj:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            jj -= 1
        else:
            if table(i - 1, jj) > table(i, jj - 1):
                i -= 1
            else:
                jj -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                item = [[a_start, a_end], [b_start, b_end]]
                if withmatchlen:
                    item.append(match_len)
                matches.append(item)
            a_start = alen
    if getidx:
        return Map([(b"matches", matches), (b"len", total)])
    return bytes(result)
