"""Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER,
SMOVE, SINTER/SINTERCARD/SINTERSTORE, SUNION/SUNIONSTORE, SDIFF/SDIFFSTORE, SSCAN.

A set is a Python ``set``. Redis keeps a small set of integers as a sorted *intset*, and
replies with its members in numeric order; we reproduce that order for such sets. Other
sets are hash tables whose order Redis leaves undefined.
"""

from __future__ import annotations

import random
from typing import Any, Iterable

from .. import errors as E
from ..errors import CommandError
from ..resp import SetReply
from ..server import Client
from . import command
from .lists import (
    check_random_count,
    EMPTY_SCAN, LONG_MAX, filter_pattern, get_read, get_write, is_int64_text, lookup_write,
    parse_positive, parse_range_long, parse_scan_cursor, parse_scan_options, random_member,
    scan_members,
)


def is_intset(c: Client, members: Iterable[bytes], size: int) -> bool:
    """Would Redis encode these members as an intset?"""
    if size > c.server.config["set-max-intset-entries"]:
        return False
    return all(is_int64_text(m) for m in members)


def ordered(c: Client, members: Any) -> list[bytes]:
    """Members in the order Redis replies with them (numeric for an intset)."""
    if is_intset(c, members, len(members)):
        return sorted(members, key=int)
    return list(members)


# --------------------------------------------------------------------------- basic


@command("sadd", -3, "write denyoom fast", keys=(1, 1, 1), group="set")
def sadd(c: Client, args: list[bytes]) -> Any:
    db = c.db
    key = args[1]
    s = get_write(db, key, set)
    if s is None:
        s = set()
        db.add_new(key, s)
    before = len(s)
    if len(args) == 3:
        s.add(args[2])
    else:
        s.update(args[2:])
    added = len(s) - before
    if added:
        db.modified(key, added)
    return added


@command("srem", -3, "write fast", keys=(1, 1, 1), group="set")
def srem(c: Client, args: list[bytes]) -> Any:
    db = c.db
    key = args[1]
    s = get_write(db, key, set)
    if s is None:
        return 0
    deleted = 0
    for m in args[2:]:
        if m in s:
            s.discard(m)
            deleted += 1
            if not s:
                db.delete_if_empty(key, s)
                break
    if deleted:
        db.modified(key, deleted)
    return deleted


@command("smove", 4, "write fast", keys=(1, 2, 1), group="set")
def smove(c: Client, args: list[bytes]) -> Any:
    db = c.db
    src_key, dst_key, member = args[1], args[2], args[3]
    src = lookup_write(db, src_key)
    dst = lookup_write(db, dst_key)
    if src is None:
        return 0
    if type(src) is not set or (dst is not None and type(dst) is not set):
        raise CommandError(E.WRONGTYPE)
    if src is dst:
        return 1 if member in src else 0
    if member not in src:
        return 0
    src.discard(member)
    if not src:
        db.delete_if_empty(src_key, src)
    if dst is None:
        dst = set()
        db.add_new(dst_key, dst)
    db.modified(src_key)
    if member not in dst:
        dst.add(member)
        db.modified(dst_key)
    return 1


@command("sismember", 3, "readonly fast", keys=(1, 1, 1), group="set")
def sismember(c: Client, args: list[bytes]) -> Any:
    s = get_read(c.db, args[1], set)
    return 1 if s is not None and args[2] in s else 0


@command("smismember", -3, "readonly fast", keys=(1, 1, 1), group="set")
def smismember(c: Client, args: list[bytes]) -> Any:
    s = get_read(c.db, args[1], set)
    if s is None:
        return [0] * (len(args) - 2)
    return [1 if m in s else 0 for m in args[2:]]


@command("scard", 2, "readonly fast", keys=(1, 1, 1), group="set")
def scard(c: Client, args: list[bytes]) -> Any:
    s = get_read(c.db, args[1], set)
    return 0 if s is None else len(s)


# --------------------------------------------------------------------------- random


@command("spop", -2, "write fast", keys=(1, 1, 1), group="set")
def spop(c: Client, args: list[bytes]) -> Any:
    if len(args) == 3:
        return _spop_count(c, args)
    if len(args) > 3:
        raise CommandError(E.SYNTAX)
    db = c.db
    key = args[1]
    s = get_write(db, key, set)
    if s is None:
        return None
    member = random_member(s)
    s.discard(member)
    c.propagate_as = [b"SREM", key, member]
    if not s:
        db.delete_if_empty(key, s)
    db.modified(key)
    return member


def _spop_count(c: Client, args: list[bytes]) -> Any:
    count = parse_positive(args[2])
    db = c.db
    key = args[1]
    s = get_write(db, key, set)
    if s is None or count == 0:
        return SetReply([])
    size = len(s)
    if count >= size:
        members = ordered(c, s)
        s.clear()
        db.delete_if_empty(key, s)
        db.modified(key, size)
        c.propagate_as = [b"DEL", key]
        return SetReply(members)
    if count == 1:
        members = [random_member(s)]
    else:
        members = random.sample(list(s), count)
    s.difference_update(members)
    db.modified(key, count)
    # propagated as one SREM per member, which the server wraps in MULTI/EXEC
    for m in members[:-1]:
        c.server.propagate(db.index, [b"SREM", key, m])
    c.propagate_as = [b"SREM", key, members[-1]]
    return SetReply(members)


@command("srandmember", -2, "readonly", keys=(1, 1, 1), group="set")
def srandmember(c: Client, args: list[bytes]) -> Any:
    if len(args) == 3:
        count = parse_range_long(args[2], -LONG_MAX, LONG_MAX)
        s = get_read(c.db, args[1], set)
        if s is None or count == 0:
            return []
        if count < 0:
            n = -count
            check_random_count(n)
            if n == 1:
                return [random_member(s)]
            return random.choices(list(s), k=n)
        if count == 1:
            return [random_member(s)]
        if count >= len(s):
            return ordered(c, s)
        return random.sample(list(s), count)
    if len(args) > 3:
        raise CommandError(E.SYNTAX)
    s = get_read(c.db, args[1], set)
    if s is None:
        return None
    return random_member(s)


# --------------------------------------------------------------------------- algebra


def _read_sets(c: Client, keys: list[bytes]) -> list[set | None]:
    """Look every key up (``lookupKeyRead``): WRONGTYPE wins over missing keys."""
    db = c.db
    return [get_read(db, k, set) for k in keys]


def _store(c: Client, dst_key: bytes, result: set) -> int:
    """Store a result set (``setKey``) or delete the destination when it is empty."""
    db = c.db
    if result:
        db.set(dst_key, result)
        return len(result)
    db.delete(dst_key)
    return 0


def _inter(sets: list[set]) -> set:
    sets = sorted(sets, key=len)
    first = sets[0]
    others = [s for s in sets[1:] if s is not first]
    return first.intersection(*others)


@command("smembers", 2, "readonly", keys=(1, 1, 1), group="set")
def smembers(c: Client, args: list[bytes]) -> Any:
    s = get_read(c.db, args[1], set)
    if s is None:
        return SetReply([])
    return SetReply(ordered(c, s))


@command("sinter", -2, "readonly", keys=(1, -1, 1), group="set")
def sinter(c: Client, args: list[bytes]) -> Any:
    sets = _read_sets(c, args[1:])
    if any(s is None for s in sets):
        return SetReply([])
    return SetReply(ordered(c, _inter(sets)))  # type: ignore[arg-type]


@command("sintercard", -3, "readonly movablekeys", keys=(0, 0, 0), group="set")
def sintercard(c: Client, args: list[bytes]) -> Any:
    numkeys = parse_range_long(args[1], 1, LONG_MAX, E.NUMKEYS_POSITIVE)
    if numkeys > len(args) - 2:
        raise CommandError(E.NUMKEYS_TOO_MANY)
    limit = 0
    j = 2 + numkeys
    while j < len(args):
        more = len(args) - 1 - j
        if args[j].lower() == b"limit" and more:
            limit = parse_positive(args[j + 1], E.LIMIT_NEGATIVE)
            j += 2
        else:
            raise CommandError(E.SYNTAX)
    sets = _read_sets(c, args[2 : 2 + numkeys])
    if any(s is None for s in sets):
        return 0
    ordered_sets = sorted(sets, key=len)  # type: ignore[arg-type]
    first = ordered_sets[0]
    others = [s for s in ordered_sets[1:] if s is not first]
    if not limit:
        return len(first.intersection(*others))
    n = 0
    for m in first:
        for s in others:
            if m not in s:
                break
        else:
            n += 1
            if n >= limit:
                break
    return n


@command("sinterstore", -3, "write denyoom", keys=(1, -1, 1), group="set")
def sinterstore(c: Client, args: list[bytes]) -> Any:
    sets = _read_sets(c, args[2:])
    if any(s is None for s in sets):
        return _store(c, args[1], set())
    return _store(c, args[1], _inter(sets))  # type: ignore[arg-type]


def _union(sets: list[set | None]) -> set:
    out: set = set()
    for s in sets:
        if s:
            out.update(s)
    return out


def _diff(sets: list[set | None]) -> set:
    first = sets[0]
    if not first:
        return set()
    if any(s is first for s in sets[1:]):
        return set()
    return first.difference(*[s for s in sets[1:] if s])


@command("sunion", -2, "readonly", keys=(1, -1, 1), group="set")
def sunion(c: Client, args: list[bytes]) -> Any:
    return SetReply(ordered(c, _union(_read_sets(c, args[1:]))))


@command("sunionstore", -3, "write denyoom", keys=(1, -1, 1), group="set")
def sunionstore(c: Client, args: list[bytes]) -> Any:
    return _store(c, args[1], _union(_read_sets(c, args[2:])))


@command("sdiff", -2, "readonly", keys=(1, -1, 1), group="set")
def sdiff(c: Client, args: list[bytes]) -> Any:
    return SetReply(ordered(c, _diff(_read_sets(c, args[1:]))))


@command("sdiffstore", -3, "write denyoom", keys=(1, -1, 1), group="set")
def sdiffstore(c: Client, args: list[bytes]) -> Any:
    return _store(c, args[1], _diff(_read_sets(c, args[2:])))


# --------------------------------------------------------------------------- SSCAN


@command("sscan", -3, "readonly", keys=(1, 1, 1), group="set")
def sscan(c: Client, args: list[bytes]) -> Any:
    cursor = parse_scan_cursor(args[2])
    s = get_read(c.db, args[1], set)
    if s is None:
        return EMPTY_SCAN
    count, pattern = parse_scan_options(args, 3)
    if is_intset(c, s, len(s)):
        return [b"0", filter_pattern(sorted(s, key=int), pattern, False)]
    cursor, members = scan_members(s, lambda: list(s), cursor, count)
    return [b"%d" % cursor, filter_pattern(members, pattern, False)]
