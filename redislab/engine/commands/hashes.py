"""Hash commands: HSET/HSETNX/HMSET, HGET/HMGET/HGETALL/HKEYS/HVALS, HDEL, HLEN, HSTRLEN,
HEXISTS, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.

A hash is a ``dict`` (field -> value); its insertion order is the order of a listpack
encoded hash in Redis, which is what small hashes reply with.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from .. import errors as E
from ..errors import CommandError
from ..resp import OK, Map
from ..server import Client
from . import command
from .lists import (
    EMPTY_SCAN, LONG_MAX, check_random_count, filter_pattern, get_read, get_write,
    parse_range_long, parse_scan_cursor, parse_scan_options, random_member, scan_members,
)
from .util import INT64_MAX, INT64_MIN, ld2string_human, ld_round, parse_int, string2ld


def _write_or_create(c: Client, key: bytes) -> dict:
    """``hashTypeLookupWriteOrCreate``."""
    db = c.db
    h = get_write(db, key, dict)
    if h is None:
        h = {}
        db.add_new(key, h)
    return h


def is_listpack(c: Client, h: dict) -> bool:
    """Would Redis keep this hash in a listpack (small, short fields and values)?"""
    cfg = c.server.config
    if len(h) > cfg["hash-max-listpack-entries"]:
        return False
    limit = cfg["hash-max-listpack-value"]
    return all(len(f) <= limit and len(v) <= limit for f, v in h.items())


# --------------------------------------------------------------------------- writes


def _hset(c: Client, args: list[bytes]) -> int:
    if len(args) % 2 == 1:
        raise CommandError(E.WRONG_ARITY % args[0].lower().decode(errors="replace"))
    key = args[1]
    h = _write_or_create(c, key)
    before = len(h)
    if len(args) == 4:
        h[args[2]] = args[3]
    else:
        it = iter(args)
        next(it)
        next(it)
        for field in it:
            h[field] = next(it)
    pairs = (len(args) - 2) // 2
    c.db.modified(key, pairs)
    return len(h) - before


@command("hset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash")
def hset(c: Client, args: list[bytes]) -> Any:
    return _hset(c, args)


@command("hmset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash")
def hmset(c: Client, args: list[bytes]) -> Any:
    _hset(c, args)
    return OK


@command("hsetnx", 4, "write denyoom fast", keys=(1, 1, 1), group="hash")
def hsetnx(c: Client, args: list[bytes]) -> Any:
    h = _write_or_create(c, args[1])
    if args[2] in h:
        return 0
    h[args[2]] = args[3]
    c.db.modified(args[1])
    return 1


@command("hdel", -3, "write fast", keys=(1, 1, 1), group="hash")
def hdel(c: Client, args: list[bytes]) -> Any:
    db = c.db
    key = args[1]
    h = get_write(db, key, dict)
    if h is None:
        return 0
    deleted = 0
    for field in args[2:]:
        if h.pop(field, None) is not None:
            deleted += 1
            if not h:
                db.delete_if_empty(key, h)
                break
    if deleted:
        db.modified(key, deleted)
    return deleted


@command("hincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="hash")
def hincrby(c: Client, args: list[bytes]) -> Any:
    incr = parse_int(args[3])
    key, field = args[1], args[2]
    h = _write_or_create(c, key)
    raw = h.get(field)
    if raw is None:
        value = 0
    else:
        value = parse_int(raw, E.HASH_NOT_INTEGER)
    if (incr < 0 and value < 0 and incr < INT64_MIN - value) or (
        incr > 0 and value > 0 and incr > INT64_MAX - value
    ):
        raise CommandError(E.OVERFLOW)
    value += incr
    h[field] = b"%d" % value
    c.db.modified(key)
    return value


@command("hincrbyfloat", 4, "write denyoom fast", keys=(1, 1, 1), group="hash")
def hincrbyfloat(c: Client, args: list[bytes]) -> Any:
    incr = string2ld(args[3])
    if incr is None:
        raise CommandError(E.NOT_FLOAT)
    if not isinstance(incr, Fraction):
        raise CommandError(E.INCR_NOT_FINITE)
    key, field = args[1], args[2]
    h = _write_or_create(c, key)
    raw = h.get(field)
    if raw is None:
        value: Any = Fraction(0)
    else:
        value = string2ld(raw)
        if value is None:
            raise CommandError(E.HASH_NOT_FLOAT)
        if not isinstance(value, Fraction):  # an "inf" stored by HSET
            raise CommandError(E.INCR_NAN)
    total = ld_round(value + incr)
    if total is None:
        raise CommandError(E.INCR_NAN)
    text = ld2string_human(total)
    h[field] = text
    c.db.modified(key)
    c.propagate_as = [b"HSET", key, field, text]
    return text


# --------------------------------------------------------------------------- reads


@command("hget", 3, "readonly fast", keys=(1, 1, 1), group="hash")
def hget(c: Client, args: list[bytes]) -> Any:
    h = get_read(c.db, args[1], dict)
    if h is None:
        return None
    return h.get(args[2])


@command("hmget", -3, "readonly fast", keys=(1, 1, 1), group="hash")
def hmget(c: Client, args: list[bytes]) -> Any:
    h = get_read(c.db, args[1], dict)
    if h is None:
        return [None] * (len(args) - 2)
    get = h.get
    return [get(f) for f in args[2:]]


@command("hlen", 2, "readonly fast", keys=(1, 1, 1), group="hash")
def hlen(c: Client, args: list[bytes]) -> Any:
    h = get_read(c.db, args[1], dict)
    return 0 if h is None else len(h)


@command("hstrlen", 3, "readonly fast", keys=(1, 1, 1), group="hash")
def hstrlen(c: Client, args: list[bytes]) -> Any:
    h = get_read(c.db, args[1], dict)
    if h is None:
        return 0
    value = h.get(args[2])
    return 0 if value is None else len(value)


@command("hexists", 3, "readonly fast", keys=(1, 1, 1), group="hash")
def hexists(c: Client, args: list[bytes]) -> Any:
    h = get_read(c.db, args[1], dict)
    return 1 if h is not None and args[2] in h else 0


@command("hgetall", 2, "readonly", keys=(1, 1, 1), group="hash")
def hgetall(c: Client, args: list[bytes]) -> Any:
    h = get_read(c.db, args[1], dict)
    if h is None:
        return Map([])
    return Map(h)


@command("hkeys", 2, "readonly", keys=(1, 1, 1), group="hash")
def hkeys(c: Client, args: list[bytes]) -> Any:
    h = get_read(c.db, args[1], dict)
    return [] if h is None else list(h)


@command("hvals", 2, "readonly", keys=(1, 1, 1), group="hash")
def hvals(c: Client, args: list[bytes]) -> Any:
    h = get_read(c.db, args[1], dict)
    return [] if h is None else list(h.values())


# --------------------------------------------------------------------------- HRANDFIELD


def _pairs_reply(c: Client, fields: list[bytes], h: dict, withvalues: bool) -> list[Any]:
    if not withvalues:
        return fields
    if c.resp3:
        return [[f, h[f]] for f in fields]
    out: list[Any] = []
    for f in fields:
        out.append(f)
        out.append(h[f])
    return out


@command("hrandfield", -2, "readonly", keys=(1, 1, 1), group="hash")
def hrandfield(c: Client, args: list[bytes]) -> Any:
    if len(args) >= 3:
        count = parse_range_long(args[2], -LONG_MAX, LONG_MAX)
        withvalues = False
        if len(args) > 4 or (len(args) == 4 and args[3].lower() != b"withvalues"):
            raise CommandError(E.SYNTAX)
        if len(args) == 4:
            withvalues = True
            if count < -(LONG_MAX // 2) or count > LONG_MAX // 2:
                raise CommandError(E.VALUE_OUT_OF_RANGE)
        h = get_read(c.db, args[1], dict)
        if h is None or count == 0:
            return []
        size = len(h)
        if count < 0 or count == 1:
            n = -count if count < 0 else 1
            check_random_count(n)
            if n == 1:
                fields = [random_member(h)]
            else:
                fields = random.choices(list(h), k=n)
            return _pairs_reply(c, fields, h, withvalues)
        if count >= size:
            return _pairs_reply(c, list(h), h, withvalues)
        picked = set(random.sample(list(h), count))
        fields = [f for f in h if f in picked]
        random.shuffle(fields)
        return _pairs_reply(c, fields, h, withvalues)
    h = get_read(c.db, args[1], dict)
    if h is None:
        return None
    return random_member(h)


# --------------------------------------------------------------------------- HSCAN


@command("hscan", -3, "readonly", keys=(1, 1, 1), group="hash")
def hscan(c: Client, args: list[bytes]) -> Any:
    cursor = parse_scan_cursor(args[2])
    h = get_read(c.db, args[1], dict)
    if h is None:
        return EMPTY_SCAN
    count, pattern = parse_scan_options(args, 3)
    if is_listpack(c, h):
        items: list[bytes] = []
        for f, v in h.items():
            items.append(f)
            items.append(v)
        return [b"0", filter_pattern(items, pattern, True)]
    cursor, fields = scan_members(h, lambda: list(h), cursor, count)
    items = []
    for f in fields:
        items.append(f)
        items.append(h[f])
    return [b"%d" % cursor, filter_pattern(items, pattern, True)]
