"""Doubles as Redis reads them (``string2d``, ``zslParseRange``, SORT's ``strtod``,
``string2ld``), every reader against a real redis-server, and clients blocked on keys
served at the right moment: after a whole EXEC, and on a replica applying its master's
stream."""

from __future__ import annotations

import time

import pytest
from nodes import RawClient

from test_lists import _send, run_script, wait_blocked

VALUES = [
    "1e400", "-1e400", "-inf", "+inf", "inf", "INF", "Infinity", "-infinity", "infinit",
    "nan", "NaN", "-nan", "nan(1)", "0x10", "0X1p-2", "0x1.8p1", "0x", "0x1p", " 1", "1 ",
    "\t1", "1e-400", "1e-310", "-1e-310", "", " ", "1.5e3", "+1", "-0", ".5", "5.", ".",
    "1e", "1e+", "1_0", "1\x00", "1\x002", "12345678901234567890123", "0.1",
    "1.7976931348623157e308", "1.7976931348623159e308", "4.9e-324", "2e-324",
    "1e4932", "1e4933", "1e-4950", "1e-4960",
]


@pytest.mark.parametrize("value", VALUES)
def test_string2d_readers(both, value):
    """ZADD, ZINCRBY, ZUNIONSTORE WEIGHTS (``string2d``)."""
    both("ZADD", "z", value, "m")
    both("ZSCORE", "z", "m")
    both("ZADD", "w", "1", "m")
    both("ZINCRBY", "w", value, "m")
    both("ZSCORE", "w", "m")
    both("ZUNIONSTORE", "u", "1", "w", "WEIGHTS", value)
    both("ZRANGE", "u", "0", "-1", "WITHSCORES")


@pytest.mark.parametrize("value", VALUES)
def test_score_range_readers(both, value):
    """ZRANGEBYSCORE, ZCOUNT, ZREMRANGEBYSCORE bounds (``zslParseRange``)."""
    both("ZADD", "z", "-inf", "a", "0", "b", "1", "c", "1500", "d", "inf", "e")
    both("ZRANGEBYSCORE", "z", value, "+inf")
    both("ZRANGEBYSCORE", "z", "(" + value, "+inf")
    both("ZCOUNT", "z", "-inf", value)
    both("ZRANGE", "z", value, "(" + value, "BYSCORE")
    both("ZREMRANGEBYSCORE", "z", value, value)


@pytest.mark.parametrize("value", VALUES)
def test_long_double_readers(both, value):
    """INCRBYFLOAT, HINCRBYFLOAT, both as increment and as stored value (``string2ld``)."""
    both("INCRBYFLOAT", "a", value)
    both("GET", "a")
    both("SET", "b", value)
    both("INCRBYFLOAT", "b", "1")
    both("HINCRBYFLOAT", "h", "f", value)
    both("HSET", "h", "g", value)
    both("HINCRBYFLOAT", "h", "g", "1")
    both("HGET", "h", "f")
    both("HGET", "h", "g")


@pytest.mark.parametrize("value", VALUES)
def test_timeout_reader(both, value):
    """BLPOP & co. timeouts (``getTimeoutFromObjectOrReply``); inside MULTI nothing blocks,
    so a valid timeout gives the timeout reply."""
    for cmd in (("BLPOP", "nolist", value), ("BZPOPMIN", "nozset", value),
                ("BLMOVE", "nolist", "dst", "LEFT", "RIGHT", value),
                ("BLMPOP", value, "1", "nolist", "LEFT")):
        both("MULTI")
        both(*cmd)
        both("EXEC")


@pytest.mark.parametrize("value", VALUES)
def test_sort_reader(both, value):
    """SORT's scores (``strtod``, ERANGE refused)."""
    both("RPUSH", "l", "2", value, "1")
    both("SORT", "l")
    both("SORT", "l", "DESC")


# --------------------------------------------------------------------------- blocked clients


def _served_after_exec_script() -> list:
    return [
        ("a", "!", "BLPOP", "k", "z", "0"),
        ("BLOCKED", 1),
        ("b", "!", "BZPOPMIN", "z", "0"),
        ("BLOCKED", 2),
        ("x", "MULTI"),
        ("x", "RPUSH", "k", "a"),
        ("x", "LPUSH", "k", "b"),
        ("x", "ZADD", "z", "2", "two"),
        ("x", "ZADD", "z", "1", "one"),
        ("x", "RPUSH", "k", "c"),
        ("x", "EXEC"),
        ("a", "READ"),
        ("b", "READ"),
        ("x", "LRANGE", "k", "0", "-1"),
        ("x", "ZRANGE", "z", "0", "-1"),
    ]


def test_blocked_clients_served_after_exec(real_node, engine_node, real, engine):
    """Redis serves blocked clients once the whole transaction ran: BLPOP gets the head of
    the final list ("b"), not the first element pushed."""
    want = run_script(real_node.port, _served_after_exec_script())
    got = run_script(engine_node.port, _served_after_exec_script())
    assert got == want
    assert ("a", b"*2\r\n$1\r\nk\r\n$1\r\nb\r\n") in got


@pytest.mark.parametrize("kind", ["engine", "real"])
def test_replica_serves_its_blocked_clients(node_factory, kind):
    """A client blocked on a writable replica is served by the master's stream (the
    replica's after-command point runs for its master link too); engine and real replicas
    of an engine master behave alike."""
    master = node_factory("engine")
    replica = node_factory(kind, "--replicaof", "127.0.0.1", str(master.port),
                           "--replica-read-only", "no")
    deadline = time.time() + 20
    while b"master_link_status:up" not in RawClient(replica.port).call("INFO", "replication"):
        assert time.time() < deadline, "replica link did not come up"
        time.sleep(0.05)
    with RawClient(replica.port) as a, RawClient(replica.port) as b, \
            RawClient(replica.port) as ctl, RawClient(master.port) as m:
        _send(a, "BLPOP", "k", "0")
        _send(b, "BZPOPMAX", "z", "0")
        wait_blocked(ctl, 2)
        assert m.call("MULTI") == b"+OK\r\n"
        m.call("RPUSH", "k", "1")
        m.call("LPUSH", "k", "0")
        m.call("ZADD", "z", "1", "one", "2", "two")
        assert m.call("EXEC") == b"*3\r\n:1\r\n:2\r\n:2\r\n"
        assert a.read_reply() == b"*2\r\n$1\r\nk\r\n$1\r\n0\r\n"
        assert b.read_reply() == b"*3\r\n$1\r\nz\r\n$3\r\ntwo\r\n$1\r\n2\r\n"
        # the pops happened on the replica only: the master still has everything
        assert ctl.call("LRANGE", "k", "0", "-1") == b"*1\r\n$1\r\n1\r\n"
        assert m.call("LRANGE", "k", "0", "-1") == b"*2\r\n$1\r\n0\r\n$1\r\n1\r\n"


def test_key_access_counted_when_the_command_runs(both):
    """LFU counters move when a command runs (Redis touches keys in ``lookupKey``), not
    when MULTI queues it or a check refuses it."""
    both("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    try:
        both("SET", "k", "v")
        both("OBJECT", "FREQ", "k")
        both("MULTI")
        both("GET", "k")
        both("DISCARD")
        both("OBJECT", "FREQ", "k")
        both("GET", "k", "extra")  # wrong arity: refused before any lookup
        both("OBJECT", "FREQ", "k")
        both("MULTI")
        both("GET", "k")
        both("EXEC")
        both("OBJECT", "FREQ", "k")
    finally:
        both("CONFIG", "SET", "maxmemory-policy", "noeviction")
