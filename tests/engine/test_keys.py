"""Generic key commands, compared byte for byte with a real redis-server 7.0."""

from __future__ import annotations

import time

import pytest
from test_strings import _engine_propagation, _normalize, _real_propagation, resp3

from nodes import RawClient


def requires(engine, *names: str) -> None:
    """Skip when the engine lacks a command of another family (used to build fixtures)."""
    for name in names:
        if engine.call(name).startswith(b"-ERR unknown command"):
            pytest.skip(f"engine has no {name.upper()} yet")


def populate(both) -> None:
    both("SET", "s", "v")
    both("RPUSH", "l", "a", "b")
    both("HSET", "h", "f", "v")


# --------------------------------------------------------------------------- DEL & co


def test_del_unlink_exists(both, engine):
    requires(engine, "rpush", "hset")
    populate(both)
    both("EXISTS", "s", "l", "h", "nokey")
    both("EXISTS", "s", "s", "s")
    both("DEL", "s", "nokey")
    both("DEL", "s")
    both("UNLINK", "l", "h", "l")
    both("EXISTS", "s", "l", "h")
    both("MSET", "a", "1", "b", "2")
    both("DEL", "a", "a", "b")
    both("DEL")
    both("UNLINK")
    both("EXISTS")


def test_type(both, engine):
    requires(engine, "rpush", "hset")
    populate(both)
    for key in ("s", "l", "h", "nokey"):
        both("TYPE", key)
    both("TYPE")
    both("TYPE", "a", "b")


def test_type_sets_zsets(both, engine):
    requires(engine, "sadd", "zadd")
    both("SADD", "st", "a")
    both("ZADD", "z", "1", "a")
    both("TYPE", "st")
    both("TYPE", "z")


def test_touch(both):
    both("MSET", "a", "1", "b", "2")
    both("TOUCH", "a", "b", "c", "a")
    both("TOUCH")


def test_keys(both):
    both("MSET", "one", "1", "two", "2", "three", "3", "four", "4", "h\\x", "5", "[a]", "6")
    for pattern in ("*", "t*", "*o*", "?ne", "t[wh]*", "[^t]*", "nomatch*", "*e", "h\\\\x",
                    "\\[a\\]", "[a-z]*", "*[", "t[", "[]", "", "f?u?"):
        both.unordered("KEYS", pattern)
    both("KEYS")
    both("KEYS", "a", "b")


def test_keys_skips_expired(both):
    both("SET", "a", "1", "PX", "30")
    both("SET", "b", "1")
    time.sleep(0.06)
    both.unordered("KEYS", "*")


def test_dbsize_flushdb_flushall(both):
    both("DBSIZE")
    both("MSET", "a", "1", "b", "2")
    both("DBSIZE")
    both("SELECT", "1")
    both("SET", "c", "3")
    both("DBSIZE")
    both("FLUSHDB")
    both("DBSIZE")
    both("SELECT", "0")
    both("DBSIZE")
    both("FLUSHDB", "ASYNC")
    both("DBSIZE")
    both("SET", "x", "1")
    both("SELECT", "2")
    both("SET", "y", "1")
    both("FLUSHALL", "SYNC")
    both("DBSIZE")
    both("SELECT", "0")
    both("DBSIZE")
    both("FLUSHALL", "async")
    both("FLUSHALL", "foo")
    both("FLUSHDB", "sync", "async")
    both("FLUSHDB", "now")
    both("DBSIZE", "x")


def test_randomkey(both, real, engine):
    both("RANDOMKEY")
    both("SET", "only", "1")
    both("RANDOMKEY")
    both("MSET", "a", "1", "b", "2", "c", "3")
    for _ in range(10):
        assert engine.call("RANDOMKEY") in (b"$4\r\nonly\r\n", b"$1\r\na\r\n", b"$1\r\nb\r\n",
                                            b"$1\r\nc\r\n")
    both("RANDOMKEY", "x")
    resp3(real, engine)
    both("FLUSHDB")
    both("RANDOMKEY")


# --------------------------------------------------------------------------- SCAN


def full_scan(client: RawClient, *opts: str, limit: int = 100_000) -> list[bytes]:
    keys: list[bytes] = []
    cursor = b"0"
    for _ in range(limit):
        reply = client.call("SCAN", cursor, *opts)
        # *2\r\n$N\r\n<cursor>\r\n*M\r\n($len\r\nkey\r\n)*
        lines = reply.split(b"\r\n")
        cursor = lines[2]
        count = int(lines[3][1:])
        keys += [lines[5 + 2 * i] for i in range(count)]
        if cursor == b"0":
            return keys
    raise AssertionError("SCAN did not finish")


def test_scan_full_iteration(both, real, engine):
    args = []
    for i in range(300):
        args += [f"key:{i}", str(i)]
    both("MSET", *args)
    both("RPUSH", "alist", "x")
    both("RPUSH", "key:list", "x")
    for opts in ((), ("COUNT", "1"), ("COUNT", "7"), ("COUNT", "1000"), ("MATCH", "key:1*"),
                 ("MATCH", "key:1*", "COUNT", "3"), ("TYPE", "list"), ("TYPE", "LIST"),
                 ("TYPE", "string", "MATCH", "*2?"), ("MATCH", "*"), ("TYPE", "nosuch"),
                 ("match", "nomatch", "count", "50")):
        want = sorted(set(full_scan(real, *opts)))
        got_all = full_scan(engine, *opts)
        assert sorted(set(got_all)) == want, opts
        assert len(got_all) == len(set(got_all)), opts  # no duplicates without rehashing


def test_scan_small_db_single_call(both):
    both.unordered("SCAN", "0")
    both("MSET", "a", "1", "b", "2", "c", "3")
    both.unordered("SCAN", "0")
    both.unordered("SCAN", "0", "MATCH", "a")
    both.unordered("SCAN", "0", "TYPE", "string")
    both.unordered("SCAN", "0", "TYPE", "hash")
    both.unordered("SCAN", "", "COUNT", "100")


def test_scan_errors(both):
    both("SET", "a", "1")
    for args in (("x",), ("0x10",), (" 1",), ("1 ",), ("18446744073709551616",), ("-",),
                 ("+",), ("0", "COUNT", "0"), ("0", "COUNT", "-1"), ("0", "COUNT", "x"),
                 ("0", "COUNT"), ("0", "MATCH"), ("0", "TYPE"), ("0", "FOO", "bar"),
                 ("0", "COUNT", "9223372036854775808"), ("0", "count", "1", "match")):
        both("SCAN", *args)
    both("SCAN")


def test_scan_accepts_odd_cursors(both, real, engine):
    both("SET", "a", "1")
    for cursor in ("-0", "+0", "00", "0"):
        both.unordered("SCAN", cursor)
    for cursor in ("18446744073709551615", "-1", "+7", "123456789"):
        for c in (real, engine):
            assert c.call("SCAN", cursor).startswith(b"*2\r\n$")


def test_scan_guarantee_under_changes(engine):
    """Keys present for the whole iteration are returned, while others come and go."""
    c = engine
    c.call("MSET", *[x for i in range(500) for x in (f"stay:{i}", "v")])
    seen: set[bytes] = set()
    cursor = b"0"
    step = 0
    while True:
        reply = c.call("SCAN", cursor, "COUNT", "20")
        lines = reply.split(b"\r\n")
        cursor = lines[2]
        seen.update(lines[5 + 2 * i] for i in range(int(lines[3][1:])))
        # grow the keyspace a lot (the virtual table doubles several times) ...
        c.call("MSET", *[x for i in range(40) for x in (f"tmp:{step}:{i}", "v")])
        # ... and remove older temporary keys
        if step >= 3:
            c.call("DEL", *[f"tmp:{step - 3}:{i}" for i in range(40)])
        step += 1
        if cursor == b"0":
            break
        assert step < 10_000
    assert {f"stay:{i}".encode() for i in range(500)} <= seen
    # and shrinking
    c.call("FLUSHALL")
    c.call("MSET", *[x for i in range(2000) for x in (f"k:{i}", "v")])
    seen = set()
    cursor = b"0"
    step = 0
    while True:
        reply = c.call("SCAN", cursor, "COUNT", "50")
        lines = reply.split(b"\r\n")
        cursor = lines[2]
        seen.update(lines[5 + 2 * i] for i in range(int(lines[3][1:])))
        doomed = [f"k:{i}" for i in range(step * 100, step * 100 + 100) if i % 2 and i < 2000]
        if doomed:
            c.call("DEL", *doomed)
        step += 1
        if cursor == b"0":
            break
    assert {f"k:{i}".encode() for i in range(0, 2000, 2)} <= seen


def test_scan_skips_expired(both):
    both("SET", "a", "1", "PX", "20")
    both("SET", "b", "1")
    time.sleep(0.05)
    both.unordered("SCAN", "0")
    both("DBSIZE")


# --------------------------------------------------------------------------- RENAME


def test_rename(both, engine):
    requires(engine, "rpush")
    both("SET", "a", "1")
    both("RENAME", "a", "b")
    both("GET", "b")
    both("EXISTS", "a")
    both("RENAME", "a", "b")
    both("RENAME", "b", "b")
    both("RENAME", "nokey", "nokey")
    both("SET", "t", "v", "EX", "100")
    both("RENAME", "t", "t2")
    both("TTL", "t2")
    both("RPUSH", "l", "x")
    both("RENAME", "l", "t2")
    both("TYPE", "t2")
    both("TTL", "t2")
    both("LRANGE", "t2", "0", "-1")
    both("RENAME", "a")


def test_renamenx(both):
    both("MSET", "a", "1", "b", "2")
    both("RENAMENX", "a", "b")
    both("RENAMENX", "a", "c")
    both("GET", "c")
    both("RENAMENX", "c", "c")
    both("RENAMENX", "nokey", "c")
    both("RENAMENX", "nokey", "nokey")
    both("RENAMENX", "c")


# --------------------------------------------------------------------------- expiry


def test_expire_ttl(both, real, engine):
    both("SET", "k", "v")
    both("TTL", "k")
    both("PTTL", "k")
    both("EXPIRETIME", "k")
    both("PEXPIRETIME", "k")
    both("TTL", "nokey")
    both("PTTL", "nokey")
    both("EXPIRETIME", "nokey")
    both("PEXPIRETIME", "nokey")
    both("EXPIRE", "k", "100")
    both("TTL", "k")
    both("PEXPIRE", "k", "200000")
    both("TTL", "k")
    at = int(time.time()) + 1000
    both("EXPIREAT", "k", str(at))
    both("EXPIRETIME", "k")
    both("PEXPIRETIME", "k")
    both("PEXPIREAT", "k", str(at * 1000 + 123))
    both("PEXPIRETIME", "k")
    both("EXPIRETIME", "k")
    both("TTL", "k")
    both("EXPIRE", "nokey", "100")
    both("PEXPIRE", "nokey", "100")
    both("EXPIREAT", "nokey", "100")
    both("PEXPIREAT", "nokey", "100")
    both("PERSIST", "k")
    both("PERSIST", "k")
    both("PERSIST", "nokey")
    both("TTL", "k")
    both("EXPIRE", "k", "100")
    both("SET", "k", "v2")
    both("TTL", "k")


def test_expire_past_deletes(both):
    for cmd, when in (("EXPIRE", "-1"), ("PEXPIRE", "0"), ("EXPIREAT", "1"), ("PEXPIREAT", "1"),
                      ("EXPIRE", "0"), ("EXPIREAT", "-100")):
        both("SET", "k", "v")
        both(cmd, "k", when)
        both("EXISTS", "k")
        both("TTL", "k")


def test_expire_options(both):
    both("SET", "k", "v")
    both("EXPIRE", "k", "100", "XX")
    both("EXPIRE", "k", "100", "GT")
    both("TTL", "k")
    both("EXPIRE", "k", "100", "LT")
    both("TTL", "k")
    both("EXPIRE", "k", "200", "NX")
    both("TTL", "k")
    both("EXPIRE", "k", "300", "XX")
    both("TTL", "k")
    both("EXPIRE", "k", "200", "GT")
    both("EXPIRE", "k", "400", "gt")
    both("TTL", "k")
    both("EXPIRE", "k", "500", "LT")
    both("EXPIRE", "k", "50", "lt")
    both("TTL", "k")
    both("EXPIRE", "k", "60", "XX", "GT")
    both("TTL", "k")
    both("EXPIRE", "k", "70", "XX", "LT")
    both("PEXPIRE", "k", "10000", "XX", "LT")
    both("TTL", "k")
    both("SET", "k2", "v")
    both("EXPIRE", "k2", "-1", "LT")
    both("EXISTS", "k2")
    both("SET", "k2", "v")
    both("EXPIRE", "k2", "-1", "GT")
    both("EXISTS", "k2")
    both("EXPIRE", "k2", "-1", "NX")
    both("EXISTS", "k2")
    for opts in (("NX", "XX"), ("NX", "GT"), ("NX", "LT"), ("GT", "LT"), ("XX", "NX"),
                 ("FOO",), ("NX", "FOO"), ("xx", "yy"), ("GT", "LT", "NX"), ("NX", "NX")):
        both("EXPIRE", "k", "100", *opts)
        both("PEXPIREAT", "k", "100", *opts)
    both("EXPIRE", "nokey", "100", "FOO")
    both("EXPIRE", "nokey", "abc", "FOO")
    both("EXPIRE", "nokey", "abc", "NX", "XX")


def test_expire_errors(both):
    both("SET", "k", "v")
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        for when in ("abc", "1.5", "", " 1", "9223372036854775807", "9223372036854775808",
                     "-9223372036854775808", "9223372036854775", "9223372036854776",
                     "-9223372036854775", "-9223372036854776", "92233720368547758",
                     "9223372036854775000"):
            both(cmd, "k", when)
            both("EXISTS", "k")
            both("SET", "k", "v")
        both(cmd, "k")
        both(cmd)
    both("TTL")
    both("PTTL", "a", "b")
    both("PERSIST")
    both("EXPIRETIME", "a", "b")


def test_expiry_counts_down_and_expires(both, real, engine):
    both("SET", "k", "v")
    both("PEXPIRE", "k", "2500")
    for c in (real, engine):
        pttl = int(c.call("PTTL", "k")[1:-2])
        assert 0 < pttl <= 2500
        assert c.call("TTL", "k") in (b":2\r\n", b":3\r\n")
    both("SET", "gone", "v")
    both("PEXPIRE", "gone", "50")
    both("MSET", "x", "1", "y", "2")
    both("PEXPIRE", "x", "50")
    time.sleep(0.12)
    both("GET", "gone")
    both("EXISTS", "gone", "x", "y")
    both("TTL", "gone")
    both("PTTL", "x")
    for c in (real, engine):
        pttl = int(c.call("PTTL", "k")[1:-2])
        assert 0 < pttl < 2500


def test_expired_keys_are_removed_actively(engine):
    engine.call("SET", "k", "v", "PX", "20")
    engine.call("SET", "k2", "v", "PX", "20")
    time.sleep(0.4)  # no access: the active expiry cycle removes them
    assert engine.call("DBSIZE") == b":0\r\n"


# --------------------------------------------------------------------------- MOVE / COPY


def test_move(both, engine):
    both("SET", "k", "v")
    both("MOVE", "k", "1")
    both("EXISTS", "k")
    both("SELECT", "1")
    both("GET", "k")
    both("MOVE", "k", "1")
    both("MOVE", "k", "0")
    both("MOVE", "nokey", "0")
    both("SET", "t", "v", "EX", "100")
    both("MOVE", "t", "0")
    both("SELECT", "0")
    both("TTL", "t")
    both("SET", "k", "other")
    both("MOVE", "k", "1")
    both("GET", "k")
    for db in ("16", "-1", "x", "2147483648", "-2147483649", "99999999999999999999", "", "01"):
        both("MOVE", "k", db)
    both("MOVE", "nokey", "16")
    both("MOVE", "nokey", "0")
    both("MOVE", "k")


def test_copy(both, engine):
    requires(engine, "rpush", "hset")
    both("SET", "s", "v")
    both("COPY", "s", "s2")
    both("GET", "s2")
    both("COPY", "s", "s2")
    both("COPY", "s", "s2", "REPLACE")
    both("COPY", "s", "s")
    both("COPY", "s", "s", "DB", "0")
    both("COPY", "s", "s", "DB", "1")
    both("COPY", "nokey", "x")
    both("COPY", "nokey", "nokey")
    both("RPUSH", "l", "a", "b")
    both("COPY", "l", "l2")
    both("RPUSH", "l2", "c")
    both("LRANGE", "l", "0", "-1")
    both("LRANGE", "l2", "0", "-1")
    both("HSET", "h", "f", "v")
    both("COPY", "h", "s2", "REPLACE")
    both("TYPE", "s2")
    both("HSET", "s2", "g", "w")
    both("HLEN", "h")
    both("SET", "t", "v", "EX", "100")
    both("COPY", "t", "t2", "DB", "3")
    both("SELECT", "3")
    both("TTL", "t2")
    both("GET", "t2")
    both("SELECT", "0")
    both("SET", "p", "persistent")
    both("COPY", "p", "t", "replace")
    both("TTL", "t")
    for bad in (("DB",), ("DB", "16"), ("DB", "-1"), ("DB", "x"), ("FOO",), ("REPLACE", "X"),
                ("DB", "1", "DB", "2", "REPLACE", "REPLACE")):
        both("COPY", "s", "c", *bad)
    both("COPY", "s")


def test_copy_sets_zsets(both, engine):
    requires(engine, "sadd", "zadd", "smembers", "zrange")
    both("SADD", "st", "a", "b")
    both("COPY", "st", "st2")
    both("SADD", "st2", "c")
    both("SCARD", "st")
    both("ZADD", "z", "1", "a", "2", "b")
    both("COPY", "z", "z2")
    both("ZADD", "z2", "3", "c")
    both("ZRANGE", "z", "0", "-1", "WITHSCORES")
    both("ZRANGE", "z2", "0", "-1", "WITHSCORES")


# --------------------------------------------------------------------------- OBJECT



def fresh_idle(real, engine, key):
    """OBJECT IDLETIME of a key just touched: 0, or 1 when a second boundary (or a busy
    machine) falls between the touch and the question — on either server."""
    for c in (real, engine):
        assert c.call("OBJECT", "IDLETIME", key) in (b":0\r\n", b":1\r\n")


def test_object_basics(both, real, engine):
    requires(engine, "rpush", "hset")
    populate(both)
    both("OBJECT", "HELP")
    both("object", "help", "x")
    both("OBJECT")
    both("OBJECT", "FOO", "s")
    both("OBJECT", "ENCODING")
    both("OBJECT", "ENCODING", "s", "x")
    for sub in ("ENCODING", "REFCOUNT", "IDLETIME", "FREQ"):
        both("OBJECT", sub, "nokey")
    both("OBJECT", "ENCODING", "l")
    both("OBJECT", "ENCODING", "h")
    both("OBJECT", "REFCOUNT", "l")
    both("OBJECT", "REFCOUNT", "s")
    fresh_idle(real, engine, "s")
    both("OBJECT", "FREQ", "s")


def test_object_resp3(real, engine, both):
    both("SET", "s", "v")
    resp3(real, engine)
    both("OBJECT", "HELP")
    both("OBJECT", "ENCODING", "nokey")
    both("OBJECT", "ENCODING", "s")
    both("TYPE", "s")
    both("TYPE", "nokey")


def test_object_encoding_hash_list(both, engine):
    requires(engine, "rpush", "hset")
    both("HSET", "h", "f", "v")
    both("OBJECT", "ENCODING", "h")
    both("HSET", "big", "f", "x" * 65)
    both("OBJECT", "ENCODING", "big")
    both("HSET", "bigf", "x" * 65, "v")
    both("OBJECT", "ENCODING", "bigf")
    both("HSET", "edge", "f", "x" * 64)
    both("OBJECT", "ENCODING", "edge")
    args = []
    for i in range(128):
        args += [f"f{i}", "v"]
    both("HSET", "many", *args)
    both("OBJECT", "ENCODING", "many")
    both("HSET", "many", "one-more", "v")
    both("OBJECT", "ENCODING", "many")
    both("RPUSH", "l", *[str(i) for i in range(1000)])
    both("OBJECT", "ENCODING", "l")


def test_object_encoding_sets_zsets(both, engine):
    requires(engine, "sadd", "zadd")
    both("SADD", "ints", "1", "2", "-3", "9223372036854775807")
    both("OBJECT", "ENCODING", "ints")
    both("SADD", "strs", "1", "a")
    both("OBJECT", "ENCODING", "strs")
    both("SADD", "big", *[str(i) for i in range(512)])
    both("OBJECT", "ENCODING", "big")
    both("SADD", "big", "512")
    both("OBJECT", "ENCODING", "big")
    both("SADD", "notint", "01", "-0", "9223372036854775808")
    both("OBJECT", "ENCODING", "notint")
    both("ZADD", "z", "1", "a")
    both("OBJECT", "ENCODING", "z")
    both("ZADD", "zbig", "1", "x" * 65)
    both("OBJECT", "ENCODING", "zbig")
    args = []
    for i in range(129):
        args += [str(i), f"m{i}"]
    both("ZADD", "zmany", *args)
    both("OBJECT", "ENCODING", "zmany")


def test_object_encoding_thresholds_from_config(node_factory):
    opts = ("--hash-max-listpack-entries", "2", "--hash-max-listpack-value", "4",
            "--set-max-intset-entries", "2", "--zset-max-listpack-entries", "1",
            "--zset-max-listpack-value", "3")
    real_node = node_factory("real", *opts)
    engine_node = node_factory("engine", *opts)
    with RawClient(real_node.port) as real, RawClient(engine_node.port) as engine:
        def both(*args):
            want = real.call(*args)
            got = engine.call(*args)
            assert got == want, f"{args!r}: engine {got!r} != redis {want!r}"

        requires(engine, "hset")
        both("HSET", "h", "a", "1", "b", "2")
        both("OBJECT", "ENCODING", "h")
        both("HSET", "h2", "a", "1", "b", "2", "c", "3")
        both("OBJECT", "ENCODING", "h2")
        both("HSET", "h3", "a", "12345")
        both("OBJECT", "ENCODING", "h3")
        both("HSET", "h4", "abcd", "1234")
        both("OBJECT", "ENCODING", "h4")
        if not engine.call("SADD").startswith(b"-ERR unknown"):
            both("SADD", "s", "1", "2")
            both("OBJECT", "ENCODING", "s")
            both("SADD", "s2", "1", "2", "3")
            both("OBJECT", "ENCODING", "s2")
        if not engine.call("ZADD").startswith(b"-ERR unknown"):
            both("ZADD", "z", "1", "abc")
            both("OBJECT", "ENCODING", "z")
            both("ZADD", "z2", "1", "abcd")
            both("OBJECT", "ENCODING", "z2")
            both("ZADD", "z3", "1", "a", "2", "b")
            both("OBJECT", "ENCODING", "z3")


def test_object_freq_and_idletime_with_lfu(node_factory):
    real_node = node_factory("real", "--maxmemory-policy", "allkeys-lfu")
    engine_node = node_factory("engine", "--maxmemory-policy", "allkeys-lfu")
    with RawClient(real_node.port) as real, RawClient(engine_node.port) as engine:
        for c in (real, engine):
            assert c.call("SET", "k", "v") == b"+OK\r\n"
            assert c.call("OBJECT", "FREQ", "k") == b":5\r\n"
            c.call("GET", "k")  # the first access after creation always counts
            assert c.call("OBJECT", "FREQ", "k") == b":6\r\n"
            c.call("EXISTS", "k")  # no touch
            c.call("TYPE", "k")
            c.call("TTL", "k")
            assert c.call("OBJECT", "FREQ", "k") == b":6\r\n"
            for _ in range(200):
                c.call("GET", "k")
            freq = int(c.call("OBJECT", "FREQ", "k")[1:-2])
            assert 7 <= freq <= 20
        assert engine.call("OBJECT", "IDLETIME", "k") == real.call("OBJECT", "IDLETIME", "k")
        assert engine.call("OBJECT", "FREQ", "nokey") == real.call("OBJECT", "FREQ", "nokey")


def test_object_idletime(both, real, engine):
    both("SET", "k", "v")
    both("SET", "k2", "v")
    fresh_idle(real, engine, "k")
    time.sleep(2.05)
    both("GET", "k2")
    both("EXISTS", "k")
    both("TYPE", "k")
    both("OBJECT", "ENCODING", "k")
    for c in (real, engine):
        assert c.call("OBJECT", "IDLETIME", "k") in (b":2\r\n", b":3\r\n")
        assert c.call("OBJECT", "IDLETIME", "k2") in (b":0\r\n", b":1\r\n")
    both("TOUCH", "k")
    fresh_idle(real, engine, "k")
    both("RENAME", "k2", "k3")
    fresh_idle(real, engine, "k3")


# --------------------------------------------------------------------------- WATCH


def test_key_commands_touch_watched_keys(real_node, engine_node):
    for node in (real_node, engine_node):
        with RawClient(node.port) as c, RawClient(node.port) as other:
            c.call("FLUSHALL")
            for setup, write in (
                (("SET", "k", "v"), ("DEL", "k")),
                (("SET", "k", "v"), ("EXPIRE", "k", "100")),
                (("SET", "k", "v", "EX", "100"), ("PERSIST", "k")),
                (("SET", "k", "v"), ("RENAME", "k", "k2")),
                (("SET", "src", "v"), ("RENAME", "src", "k")),
                (("SET", "k", "v"), ("MOVE", "k", "1")),
                (("SET", "src", "v"), ("COPY", "src", "k")),
                (("SET", "k", "v"), ("APPEND", "k", "x")),
                (("SET", "k", "1"), ("INCRBYFLOAT", "k", "1")),
                (("SET", "k", "v"), ("FLUSHDB",)),
            ):
                c.call("FLUSHALL")
                c.call(*setup)
                c.call("WATCH", "k")
                other.call(*write)
                c.call("MULTI")
                c.call("PING")
                assert c.call("EXEC") == b"*-1\r\n", (node.kind, write)


# --------------------------------------------------------------------------- propagation


def test_key_propagation_matches_redis(real_node):
    at = int(time.time()) + 5000
    commands = [
        ["SET", "k", "v"],
        ["EXPIRE", "k", "100"],
        ["EXPIRE", "k", "100", "NX"],
        ["EXPIRE", "k", "200", "GT"],
        ["PEXPIRE", "k", "500000", "XX", "GT"],
        ["EXPIREAT", "k", str(at)],
        ["PEXPIREAT", "k", str(at * 1000)],
        ["pexpireat", "k", str(at * 1000 + 5)],
        ["PERSIST", "k"],
        ["PERSIST", "k"],
        ["EXPIRE", "k", "-1"],
        ["EXPIRE", "k", "10"],
        ["SET", "k", "v"],
        ["PEXPIREAT", "k", "1"],
        ["SET", "a", "1"],
        ["RENAME", "a", "b"],
        ["RENAMENX", "b", "c"],
        ["MOVE", "c", "1"],
        ["MOVE", "c", "1"],
        ["SET", "c", "1"],
        ["COPY", "c", "d"],
        ["COPY", "c", "d", "REPLACE"],
        ["DEL", "c", "nokey"],
        ["UNLINK", "d"],
        ["DEL", "nokey"],
        ["FLUSHDB"],
    ]
    assert _normalize(_engine_propagation([["SELECT", "9"]] + commands)) == _normalize(
        _real_propagation(real_node.port, commands)
    )


# --------------------------------------------------------------------------- statistics


def _stats(c: RawClient) -> dict[str, int]:
    out = {}
    for section in ("stats", "persistence"):
        text = c.call("INFO", section).decode()
        for line in text.split("\r\n"):
            k, _, v = line.partition(":")
            if k in ("keyspace_hits", "keyspace_misses", "expired_keys",
                     "rdb_changes_since_last_save"):
                out[k] = int(v)
    return out


def test_keyspace_stats_and_dirty(both, real, engine):
    """Read lookups count hits/misses (write lookups do not); changes count as Redis does."""
    requires(engine, "info", "rpush")
    before = {id(c): _stats(c) for c in (real, engine)}
    both("SET", "k", "v", "EX", "100")
    both("GET", "k")
    both("GET", "nokey")
    both("SET", "k", "w", "GET")
    both("SET", "k2", "w", "NX", "GET")
    both("INCR", "n")
    both("INCRBYFLOAT", "n", "1.5")
    both("APPEND", "n", "0")
    both("SETRANGE", "n", "0", "1")
    both("MGET", "k", "n", "nokey")
    both("MSET", "a", "1", "b", "2")
    both("MSETNX", "a", "1", "c", "2")
    both("EXISTS", "k", "nokey")
    both("TYPE", "k")
    both("TTL", "nokey")
    both("OBJECT", "ENCODING", "k")
    both("STRLEN", "k")
    both("GETRANGE", "nokey", "0", "1")
    both("LCS", "k", "nokey")
    both("TOUCH", "k", "nokey")
    both.unordered("SCAN", "0", "TYPE", "string", "COUNT", "100")
    both.unordered("KEYS", "*")
    both("COPY", "k", "k3")
    both("RENAME", "k3", "k4")
    both("MOVE", "k4", "1")
    both("EXPIRE", "a", "100")
    both("PERSIST", "a")
    both("GETEX", "a", "EX", "10")
    both("GETDEL", "b")
    both("DEL", "a", "nokey")
    both("SET", "gone", "v", "PX", "1")
    time.sleep(0.01)
    both("GET", "gone")
    after = {id(c): _stats(c) for c in (real, engine)}
    deltas = [{k: after[id(c)][k] - before[id(c)][k] for k in after[id(c)]}
              for c in (real, engine)]
    assert deltas[1] == deltas[0]


def test_object_encoding_follows_the_value(both):
    both("SET", "n", "12")
    both("APPEND", "n", "3")  # raw now, though it looks like an integer
    both("SET", "e", "hello")
    both("SET", "i", "5")
    for key in ("n", "e", "i"):
        both("COPY", key, key + "c")
        both("OBJECT", "ENCODING", key + "c")
        both("OBJECT", "REFCOUNT", key + "c")
    both("RENAME", "n", "n2")
    both("OBJECT", "ENCODING", "n2")
    both("MOVE", "n2", "1")
    both("SELECT", "1")
    both("OBJECT", "ENCODING", "n2")
    both("COPY", "n2", "n3", "DB", "0")
    both("SELECT", "0")
    both("OBJECT", "ENCODING", "n3")
    both("DEL", "n3")
    both("SET", "n3", "123")
    both("OBJECT", "ENCODING", "n3")
    both("OBJECT", "REFCOUNT", "n3")


def test_object_encoding_never_shrinks_back(both, engine):
    requires(engine, "hset", "hdel", "sadd", "srem", "zadd", "zrem")
    both("HSET", "h", "f", "x" * 65)
    both("OBJECT", "ENCODING", "h")
    both("HDEL", "h", "f")
    both("HSET", "h", "g", "small")
    both("HSET", "h2", "f", "x" * 65)
    both("OBJECT", "ENCODING", "h2")
    both("HSET", "h2", "f", "small")
    both("OBJECT", "ENCODING", "h2")
    both("COPY", "h2", "h3")
    both("OBJECT", "ENCODING", "h3")
    both("SADD", "s", "1", "a")
    both("OBJECT", "ENCODING", "s")
    both("SREM", "s", "a")
    both("OBJECT", "ENCODING", "s")
    both("RENAME", "s", "s2")
    both("OBJECT", "ENCODING", "s2")
    both("ZADD", "z", "1", "x" * 65)
    both("OBJECT", "ENCODING", "z")
    both("ZADD", "z", "2", "a")
    both("ZREM", "z", "x" * 65)
    both("OBJECT", "ENCODING", "z")
    both("DEL", "z")
    both("ZADD", "z", "1", "a")
    both("OBJECT", "ENCODING", "z")


# --------------------------------------------------------------------------- SORT


def test_sort_basic(both, engine):
    requires(engine, "rpush", "sadd", "zadd", "hset")
    both("RPUSH", "l", "3", "1", "2", "10", "-5", "2.5", "1e1")
    both("SORT", "l")
    both("SORT", "l", "DESC")
    both("SORT", "l", "ALPHA")
    both("SORT", "l", "ALPHA", "DESC")
    both("SORT", "l", "LIMIT", "1", "3")
    both("SORT", "l", "LIMIT", "-1", "3")
    both("SORT", "l", "LIMIT", "5", "-1")
    both("SORT", "l", "LIMIT", "100", "2")
    both("SORT", "l", "LIMIT", "0", "0")
    both("SORT", "l", "LIMIT", "2", "100", "DESC")
    both("SORT", "l", "ASC", "DESC", "ASC")
    both("SORT_RO", "l", "DESC")
    both("RPUSH", "bad", "1", "x", "2")
    both("SORT", "bad")
    both("SORT", "bad", "ALPHA")
    both("RPUSH", "odd2", "", " 7", "0x10", "inf", "-inf", "3\x00junk", "+4", ".5",
         "0x1p-1030", "-0x1p-1074")
    both("SORT", "odd2")
    both("SORT", "odd2", "DESC")
    for bad in ("nan", "1e400", "1e-310", "0x1.0000001p-1070", "7 ", "  ", "1e", "0x"):
        both("DEL", "bad")
        both("RPUSH", "bad", "1.5", bad)
        both("SORT", "bad")
        # redis-server leaves errno at ERANGE after an out-of-range number, and SORT does
        # not clear it: the next SORT would fail too. INCRBYFLOAT clears it (string2ld).
        both("INCRBYFLOAT", "errno-reset", "1")
    both("SORT", "nokey")
    both("SORT", "nokey", "STORE", "dst")
    both("SADD", "s", "5", "3", "9", "-1")
    both("SORT", "s")
    both("SORT", "s", "DESC", "LIMIT", "0", "2")
    both("SADD", "sa", "b", "a", "C", "c", "B")
    both("SORT", "sa", "ALPHA")
    both("ZADD", "z", "1", "c", "2", "a", "3", "b")
    both("SORT", "z", "ALPHA")
    both("SORT", "z", "BY", "nosort")
    both("SORT", "z", "BY", "nosort", "DESC")
    both("SORT", "z", "BY", "nosort", "LIMIT", "1", "5")
    both("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "1")
    both("OBJECT", "ENCODING", "z")
    both("SORT", "l", "BY", "nosort")
    both("SORT", "l", "BY", "nosort", "DESC")
    both("SORT", "l", "BY", "nosort", "LIMIT", "2", "3")
    both("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "2", "3")
    both("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "20", "3")
    both("SORT", "s", "BY", "nosort")
    both("SORT", "s", "BY", "nosort", "STORE", "dst")
    both("LRANGE", "dst", "0", "-1")
    both("SET", "str", "x")
    both("SORT", "str")
    both("HSET", "h", "a", "1")
    both("SORT", "h")


def test_sort_errors(both, engine):
    requires(engine, "rpush")
    both("RPUSH", "l", "1", "2")
    for opts in (("LIMIT",), ("LIMIT", "1"), ("LIMIT", "x", "1"), ("LIMIT", "1", "y"),
                 ("FOO",), ("BY",), ("GET",), ("STORE",), ("ALPHA", "BETA")):
        both("SORT", "l", *opts)
        both("SORT_RO", "l", *opts)
    both("SORT_RO", "l", "STORE", "x")
    both("SORT")
    both("SORT_RO")
    both("SET", "str", "x")
    both("SORT", "str", "FOO")
    both("SORT", "str", "LIMIT", "x", "1")


def test_sort_by_get_store(both, engine):
    requires(engine, "rpush", "hset", "lrange")
    both("RPUSH", "ids", "1", "2", "3", "4")
    both("MSET", "w_1", "30", "w_2", "10", "w_3", "20", "name_1", "one", "name_2", "two",
         "name_3", "three")
    both("HSET", "h_1", "age", "40", "nm", "alpha")
    both("HSET", "h_2", "age", "5", "nm", "beta")
    both("HSET", "h_4", "age", "x", "nm", "delta")
    both("SORT", "ids", "BY", "w_*")
    both("SORT", "ids", "BY", "w_*", "DESC")
    both("SORT", "ids", "BY", "w_*", "GET", "name_*")
    both("SORT", "ids", "BY", "w_*", "GET", "#", "GET", "name_*", "GET", "nokey")
    both("SORT", "ids", "BY", "w_*", "ALPHA")
    both("SORT", "ids", "BY", "name_*", "ALPHA")
    both("SORT", "ids", "BY", "name_*", "ALPHA", "DESC")
    both("SORT", "ids", "BY", "name_*")
    both("SORT", "ids", "BY", "h_*->age")
    both("SORT", "ids", "BY", "h_*->nm", "ALPHA", "GET", "h_*->nm", "GET", "h_*->")
    both("SORT", "ids", "BY", "h_*->age", "LIMIT", "0", "2")
    both("SORT", "ids", "GET", "h_*->nm", "GET", "w_*->x", "GET", "#")
    both("SORT", "ids", "BY", "nosort", "GET", "name_*")
    both("SORT", "ids", "BY", "w_*", "GET", "name_*", "STORE", "dst")
    both("LRANGE", "dst", "0", "-1")
    both("SORT", "ids", "STORE", "dst")
    both("LRANGE", "dst", "0", "-1")
    both("SET", "dst2", "x", "EX", "100")
    both("SORT", "ids", "DESC", "STORE", "dst2")
    both("TTL", "dst2")
    both("SORT", "ids", "LIMIT", "10", "10", "STORE", "dst")
    both("EXISTS", "dst")
    both("SORT", "ids", "BY", "w_*", "STORE", "ids")
    both("LRANGE", "ids", "0", "-1")
    both("SORT_RO", "ids", "BY", "w_*", "GET", "name_*")

