"""Databases, values and expiry.

A value's Python type is its Redis type: ``bytes`` (string), ``collections.deque`` (list),
``dict`` (hash), ``set`` (set), :class:`ZSet` (sorted set). Expiry times are absolute Unix
milliseconds kept beside the data. Expired keys are removed lazily on access (on a master)
and by an active cycle that samples keys with a TTL, as Redis does.

Every change to a key goes through :meth:`Database.modified` (or a method that calls it):
it bumps the server's dirty counter, which decides whether a write command is propagated to
replicas and the AOF, and invalidates WATCHes on the key.
"""

from __future__ import annotations

import bisect
import random
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .errors import WRONGTYPE, CommandError

if TYPE_CHECKING:  # pragma: no cover
    from .server import Client


def now_ms() -> int:
    return int(time.time() * 1000)


class ZSet:
    """A sorted set: member -> score, plus a list of (score, member) kept in order."""

    __slots__ = ("scores", "order")

    def __init__(self) -> None:
        self.scores: dict[bytes, float] = {}
        self.order: list[tuple[float, bytes]] = []

    def __len__(self) -> int:
        return len(self.scores)

    def __contains__(self, member: bytes) -> bool:
        return member in self.scores

    def add(self, member: bytes, score: float) -> bool:
        """Set a member's score; True if the member is new."""
        old = self.scores.get(member)
        if old is not None:
            if old == score:
                return False
            del self.order[bisect.bisect_left(self.order, (old, member))]
            self.scores[member] = score
            bisect.insort(self.order, (score, member))
            return False
        self.scores[member] = score
        bisect.insort(self.order, (score, member))
        return True

    def remove(self, member: bytes) -> bool:
        old = self.scores.pop(member, None)
        if old is None:
            return False
        del self.order[bisect.bisect_left(self.order, (old, member))]
        return True

    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        return bisect.bisect_left(self.order, (score, member))

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        return iter(self.order)


TYPE_NAMES: dict[type, bytes] = {
    bytes: b"string",
    deque: b"list",
    dict: b"hash",
    set: b"set",
    ZSet: b"zset",
}


def type_name(value: Any) -> bytes:
    return TYPE_NAMES[type(value)]


class Database:
    """One of the numbered databases."""

    __slots__ = ("index", "data", "expires", "watched", "keyspace", "avg_ttl")

    def __init__(self, keyspace: "Keyspace", index: int):
        self.keyspace = keyspace
        self.index = index
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, int] = {}
        self.watched: dict[bytes, set["Client"]] = {}
        self.avg_ttl = 0

    # ------------------------------------------------------------------ lookups

    def _expired(self, key: bytes) -> bool:
        """True if the key has expired; deletes it when this server may do so."""
        when = self.expires.get(key)
        if when is None or when > now_ms():
            return False
        ks = self.keyspace
        if ks.is_replica():
            return True  # a replica waits for the master's DEL, but hides the key
        self._drop(key)
        ks.expired_keys += 1
        ks.on_expire(self, key)
        return True

    def lookup(self, key: bytes) -> Any:
        """The value at ``key`` or None (expired keys count as missing)."""
        value = self.data.get(key)
        if value is None:
            self.keyspace.misses += 1
            return None
        if self.expires and key in self.expires and self._expired(key):
            self.keyspace.misses += 1
            return None
        self.keyspace.hits += 1
        return value

    def get(self, key: bytes, kind: type) -> Any:
        """The value at ``key`` if it has type ``kind``; None if missing; WRONGTYPE otherwise."""
        value = self.lookup(key)
        if value is not None and type(value) is not kind:
            raise CommandError(WRONGTYPE)
        return value

    def exists(self, key: bytes) -> bool:
        if key not in self.data:
            return False
        if self.expires and key in self.expires and self._expired(key):
            return False
        return True

    def ttl_ms(self, key: bytes) -> int | None:
        """Milliseconds to live, None if no expiry (caller checks existence first)."""
        when = self.expires.get(key)
        if when is None:
            return None
        return max(0, when - now_ms())

    def __len__(self) -> int:
        return len(self.data)

    def keys(self) -> list[bytes]:
        """Live keys (a snapshot list)."""
        if not self.expires:
            return list(self.data)
        now = now_ms()
        exp = self.expires
        return [k for k in self.data if exp.get(k, now + 1) > now]

    # ------------------------------------------------------------------ changes

    def modified(self, key: bytes, n: int = 1) -> None:
        """Record a change of ``key``: dirty counter and WATCH invalidation."""
        self.keyspace.dirty += n
        if self.watched:
            self._touch_watched(key)

    def _touch_watched(self, key: bytes) -> None:
        """WATCH: the transactions of the clients watching ``key`` will fail."""
        clients = self.watched.get(key)
        if clients:
            for c in clients:
                c.dirty_cas = True

    def set(self, key: bytes, value: Any, keep_ttl: bool = False) -> None:
        """Set ``key`` to ``value`` (removing its expiry unless ``keep_ttl``)."""
        self.data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)
        self.keyspace.dirty += 1  # modified(key), without a call: SET is the hottest write
        if self.watched:
            self._touch_watched(key)

    def add_new(self, key: bytes, value: Any) -> None:
        """Store a freshly created container value (the key was missing)."""
        self.data[key] = value
        if self.expires:
            self.expires.pop(key, None)

    def _drop(self, key: bytes) -> None:
        self.data.pop(key, None)
        self.expires.pop(key, None)
        if self.watched:
            self._touch_watched(key)

    def delete(self, key: bytes) -> bool:
        """Delete ``key``; True if it existed."""
        if not self.exists(key):
            return False
        self._drop(key)
        self.keyspace.dirty += 1
        return True

    def delete_if_empty(self, key: bytes, value: Any) -> None:
        """Remove a container that became empty (Redis never keeps empty aggregates)."""
        if not value:
            self.data.pop(key, None)
            self.expires.pop(key, None)

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        self.modified(key)

    def persist(self, key: bytes) -> bool:
        if self.expires.pop(key, None) is None:
            return False
        self.modified(key)
        return True

    def rename(self, src: bytes, dst: bytes) -> None:
        value = self.data.pop(src)
        when = self.expires.pop(src, None)
        self._drop(dst)
        self.data[dst] = value
        if when is not None:
            self.expires[dst] = when
        self.modified(src)
        self.modified(dst)

    def flush(self) -> int:
        n = len(self.data)
        for key, clients in self.watched.items():
            if key in self.data:  # Redis invalidates only watched keys that existed
                for c in clients:
                    c.dirty_cas = True
        self.data = {}
        self.expires = {}
        return n

    def random_key(self) -> bytes | None:
        for _ in range(100):
            if not self.data:
                return None
            key = random.choice(list(self.data)) if len(self.data) < 64 else _sample_key(self.data)
            if not (self.expires and key in self.expires and self._expired(key)):
                return key
        return None

    def active_expire(self, budget: int = 20) -> int:
        """One pass of active expiry over up to ``budget`` sampled keys; returns removals."""
        if not self.expires or self.keyspace.is_replica():
            return 0
        now = now_ms()
        exp = self.expires
        if len(exp) <= budget * 5:
            sample = [k for k, t in exp.items() if t <= now]
        else:
            keys = random.sample(list(exp), budget) if len(exp) < 50_000 else [
                _sample_key(exp) for _ in range(budget)]
            sample = [k for k in keys if exp.get(k, now + 1) <= now]
        for key in sample:
            self._drop(key)
            self.keyspace.expired_keys += 1
            self.keyspace.on_expire(self, key)
        return len(sample)


def _sample_key(d: dict) -> bytes:
    """A pseudo-random key of a large dict without copying it."""
    n = len(d)
    skip = random.randrange(n)
    it = iter(d)
    # walking a C iterator is fast; cap the walk so sampling stays cheap
    for _ in range(min(skip, 4096)):
        next(it)
    return next(it)


class Keyspace:
    """All databases of one server, and the counters INFO reports."""

    def __init__(self, databases: int = 16):
        self.dbs = [Database(self, i) for i in range(databases)]
        self.dirty = 0
        self.hits = 0
        self.misses = 0
        self.expired_keys = 0
        self.evicted_keys = 0
        self.is_replica: Callable[[], bool] = lambda: False
        self.on_expire: Callable[[Database, bytes], None] = lambda db, key: None

    def resize(self, databases: int) -> None:
        while len(self.dbs) < databases:
            self.dbs.append(Database(self, len(self.dbs)))

    def flushall(self) -> int:
        return sum(db.flush() for db in self.dbs)

    def total_keys(self) -> int:
        return sum(len(db.data) for db in self.dbs)
