"""Hash commands, compared byte for byte with a real redis-server 7.0."""

from __future__ import annotations

import pytest
from test_lists import InProcess, resp3, run_script


def test_set_get(both):
    both("HSET", "h", "a", "1", "b", "2", "c", "3")
    both("HSET", "h", "a", "1", "d")
    both("HSET", "h", "a", "10", "e", "5")
    both("HMSET", "h", "x", "1")
    both("HMSET", "h", "x")
    both("HSETNX", "h", "a", "2")
    both("HSETNX", "h", "z", "2")
    both("HSETNX", "new", "f", "v")
    both("HGET", "h", "a")
    both("HGET", "h", "nope")
    both("HGET", "noh", "a")
    both("HMGET", "h", "a", "nope", "b")
    both("HMGET", "noh", "a", "b")
    both("HGETALL", "h")  # small hashes keep insertion order in Redis too
    both("HGETALL", "noh")
    both("HKEYS", "h")
    both("HVALS", "h")
    both("HKEYS", "noh")
    both("HVALS", "noh")
    both("HLEN", "h")
    both("HLEN", "noh")
    both("HSTRLEN", "h", "a")
    both("HSTRLEN", "h", "nope")
    both("HSTRLEN", "noh", "a")
    both("HEXISTS", "h", "a")
    both("HEXISTS", "h", "nope")
    both("HEXISTS", "noh", "a")


def test_del(both):
    both("HSET", "h", "a", "1", "b", "2")
    both("HDEL", "h", "a", "nope")
    both("HDEL", "noh", "a")
    both("HDEL", "h", "b", "b", "c")
    both("EXISTS", "h")
    both("HSET", "h", "a", "1")
    both("HDEL", "h", "a", "a")


def test_incr(both):
    both("HINCRBY", "h", "n", "5")
    both("HINCRBY", "h", "n", "-10")
    both("HINCRBY", "h", "n", "x")
    both("HINCRBY", "h", "n", "1.5")
    both("HSET", "h", "big", "9223372036854775807", "small", "-9223372036854775808",
         "str", "abc", "sp", " 1", "lead", "01")
    both("HINCRBY", "h", "big", "1")
    both("HINCRBY", "h", "small", "-1")
    both("HINCRBY", "h", "big", "-1")
    both("HINCRBY", "h", "str", "1")
    both("HINCRBY", "h", "sp", "1")
    both("HINCRBY", "h", "lead", "1")
    both("HINCRBY", "h", "n", "9223372036854775808")
    both("HGETALL", "h")


@pytest.mark.parametrize("incr", [
    "1.5", "0.1", "-1.6", "5.0e3", "0x1p-2", "1e308", "1e-20", "0.000003814697265625",
    "1.23456789012345678901234567890", "-0", "7.0e-18", "1e400", "+3", ".5", "5.",
    "abc", "inf", "-inf", "nan", " 1", "1 ", "", "1e5000", "1e-5000", "0x", "1e",
])
def test_incrbyfloat(both, incr):
    both("HSET", "h", "s", "abc", "i", "inf", "n", "10", "e", "1e3", "ws", " 1")
    both("HINCRBYFLOAT", "h", "f", "0.1")
    both("HINCRBYFLOAT", "h", "f", incr)
    both("HINCRBYFLOAT", "h", "f", incr)
    both("HINCRBYFLOAT", "h", "n", incr)
    both("HINCRBYFLOAT", "h", "e", incr)
    both("HINCRBYFLOAT", "h", "s", incr)
    both("HINCRBYFLOAT", "h", "i", incr)
    both("HINCRBYFLOAT", "h", "ws", incr)
    both("HINCRBYFLOAT", "new", "f", incr)
    both("HGET", "h", "f")


def test_incrbyfloat_overflow(both):
    both("HSET", "h", "f", "1e4900")
    both("HINCRBYFLOAT", "h", "f", "1e4000")
    both("HINCRBYFLOAT", "h", "f", "1e4931")
    both("HINCRBYFLOAT", "h", "f", "-1e4931")
    both("HSET", "h", "g", "1.18e4932")
    both("HINCRBYFLOAT", "h", "g", "1e4931")


def test_randfield(both):
    both("HSET", "h", "a", "1", "b", "2", "c", "3")
    both("HRANDFIELD", "noh")
    both("HRANDFIELD", "noh", "3")
    both("HRANDFIELD", "noh", "3", "WITHVALUES")
    both("HRANDFIELD", "h", "0")
    both("HRANDFIELD", "h", "0", "withvalues")
    both("HRANDFIELD", "h", "100")  # the whole (small) hash, in order
    both("HRANDFIELD", "h", "3", "WITHVALUES")
    for bad in (["1", "foo"], ["1", "withvalues", "x"], ["x"], ["4611686018427387904",
                "withvalues"], ["-4611686018427387904", "withvalues"],
                ["-9223372036854775808"]):
        both("HRANDFIELD", "h", *bad)
    for args in (["h"], ["h", "2"], ["h", "-5"], ["h", "-5", "withvalues"], ["h", "1"]):
        r = both.real.call("HRANDFIELD", *args)
        e = both.engine.call("HRANDFIELD", *args)
        assert r.split(b"\r\n")[0] == e.split(b"\r\n")[0]


def test_scan(both):
    both("HSET", "h", "a", "1", "b", "2", "ab", "3")
    both("HSCAN", "h", "0")
    both("HSCAN", "h", "0", "MATCH", "a*")
    both("HSCAN", "h", "0", "MATCH", "*", "COUNT", "1")
    both("HSCAN", "h", "123")
    for bad in (["0", "COUNT", "0"], ["0", "COUNT", "x"], ["0", "TYPE", "string"], ["x"],
                [" 1"], ["18446744073709551616"], ["0", "MATCH"], ["0", "FOO", "bar"]):
        both("HSCAN", "h", *bad)
    for ok in (["-1"], [""], ["18446744073709551615"], ["+5"]):
        both("HSCAN", "h", *ok)
    both("HSCAN", "noh", "0", "FOO")
    both("HSCAN", "noh", "x")


def test_scan_large_hash(real, engine):
    """A full HSCAN returns every field present all along, while the hash changes."""
    fields = []
    for i in range(1000):  # above hash-max-listpack-entries: a hash table
        fields += [f"f{i}", f"v{i}"]
    for c in (real, engine):
        c.call("HSET", "big", *fields)
        seen = {}
        cursor = b"0"
        calls = 0
        while True:
            parts = c.call("HSCAN", "big", cursor, "COUNT", "20").split(b"\r\n")
            calls += 1
            cursor = parts[2]
            items = parts[5::2]
            for k, v in zip(items[0::2], items[1::2]):
                seen[k] = v
            if cursor == b"0":
                break
            c.call("HSET", "big", f"new{calls}", "x")
            if calls % 3 == 0:
                c.call("HDEL", "big", f"new{calls - 1}")
        assert 20 < calls < 200
        assert all(seen[b"f%d" % i] == b"v%d" % i for i in range(1000))


def test_wrongtype_arity_resp3(both):
    both("SET", "s", "v")
    for cmd in (["HSET", "s", "a", "b"], ["HMSET", "s", "a", "b"], ["HSETNX", "s", "a", "b"],
                ["HGET", "s", "a"], ["HMGET", "s", "a"], ["HGETALL", "s"], ["HDEL", "s", "a"],
                ["HLEN", "s"], ["HSTRLEN", "s", "a"], ["HEXISTS", "s", "a"], ["HKEYS", "s"],
                ["HVALS", "s"], ["HINCRBY", "s", "a", "1"], ["HINCRBY", "s", "a", "x"],
                ["HINCRBYFLOAT", "s", "a", "1"], ["HRANDFIELD", "s"],
                ["HRANDFIELD", "s", "2"], ["HSCAN", "s", "0"], ["HSCAN", "s", "x"],
                ["HSET", "h", "a"], ["HSET", "h", "a", "b", "c"], ["HMSET", "h", "a", "b", "c"],
                ["HGET", "h"], ["HINCRBY", "h", "a"]):
        both(*cmd)
    resp3(both)
    both("HSET", "h", "a", "1", "b", "2")
    both("HGETALL", "h")
    both("HGETALL", "noh")
    both("HRANDFIELD", "h", "10", "WITHVALUES")
    both("HRANDFIELD", "noh", "10", "WITHVALUES")
    both("HRANDFIELD", "noh")
    both("HGET", "h", "nope")
    both("HMGET", "h", "a", "nope")
    both("HINCRBYFLOAT", "h", "a", "0.5")


def test_incrbyfloat_propagates_hset(tmp_path):
    node = InProcess(tmp_path)
    try:
        run_script(node.port, [("x", "HINCRBYFLOAT", "h", "f", "0.1"),
                               ("x", "HINCRBYFLOAT", "h", "f", "2.0e2")])
    finally:
        node.close()
    assert node.log == [[b"HSET", b"h", b"f", b"0.1"],
                        [b"HSET", b"h", b"f", b"200.10000000000000001"]]
