"""Set commands, compared byte for byte with a real redis-server 7.0. Sets of small
integers are intsets in Redis (replies in numeric order, compared exactly); other sets are
hash tables whose order is undefined (compared with ``both.unordered``)."""

from __future__ import annotations

from test_lists import InProcess, resp3, run_script


def test_add_rem_members(both):
    both("SADD", "s", "3", "1", "2", "10", "-5")
    both("SADD", "s", "1", "4")
    both("SMEMBERS", "s")
    both("SMEMBERS", "nos")
    both("SADD", "t", "a", "b", "c", "1")
    both.unordered("SMEMBERS", "t")
    both("SREM", "s", "1", "nope", "2")
    both("SREM", "nos", "a")
    both("SCARD", "s")
    both("SCARD", "nos")
    both("SISMEMBER", "s", "3")
    both("SISMEMBER", "s", "99")
    both("SISMEMBER", "nos", "1")
    both("SMISMEMBER", "s", "3", "99", "10")
    both("SMISMEMBER", "nos", "a", "b")
    both("SREM", "s", "3", "4", "10", "-5", "x")
    both("EXISTS", "s")
    both("SADD", "n", "9223372036854775807", "-9223372036854775808", "007", "0")
    both.unordered("SMEMBERS", "n")


def test_smove(both):
    both("SADD", "s", "1", "3", "4")
    both("SADD", "t", "a")
    both("SMOVE", "s", "t", "3")
    both("SMOVE", "s", "t", "99")
    both("SMOVE", "nos", "t", "3")
    both("SMOVE", "s", "s", "4")
    both("SMOVE", "s", "s", "99")
    both("SMEMBERS", "s")
    both.unordered("SMEMBERS", "t")
    both("SADD", "u", "10")
    both("SMOVE", "u", "t", "10")
    both("EXISTS", "u")
    both("SADD", "u", "20")
    both("SMOVE", "u", "fresh", "20")
    both("SMEMBERS", "fresh")
    both("SET", "str", "x")
    both("SMOVE", "str", "t", "a")
    both("SMOVE", "t", "str", "a")
    both("SMOVE", "nos", "str", "a")


def test_algebra(both):
    both("SADD", "x", "1", "2", "3", "4", "5")
    both("SADD", "y", "3", "4", "5", "6")
    both("SADD", "z", "5", "6", "7")
    both("SADD", "w", "a", "b", "5")
    both("SET", "str", "v")
    for cmd in ("SINTER", "SUNION", "SDIFF"):
        both(cmd, "x", "y")
        both(cmd, "x", "y", "z")
        both(cmd, "x", "nos")
        both(cmd, "nos", "x")
        both(cmd, "x", "x")
        both(cmd, "x", "str")
        both(cmd, "nos", "str")
        both.unordered(cmd, "w", "x")
    for cmd in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
        both(cmd, "d", "x", "y")
        both("SMEMBERS", "d")
        both("EXPIRE", "d", "100")
        both(cmd, "d", "x", "z")
        both("TTL", "d")
        both(cmd, "d", "x", "x")
        both(cmd, "d", "nos")
        both("EXISTS", "d")
        both(cmd, "d", "x", "str")
        both(cmd, "x", "x", "y")
        both("SMEMBERS", "x")
        both(cmd, "d")
    both("SINTERCARD", "2", "x", "y")
    both("SINTERCARD", "2", "x", "y", "LIMIT", "1")
    both("SINTERCARD", "3", "x", "y", "z", "LIMIT", "0")
    both("SINTERCARD", "2", "x", "nos")
    both("SINTERCARD", "1", "str")
    for bad in (["0", "x"], ["abc", "x"], ["3", "x", "y"], ["2", "x", "y", "LIMIT"],
                ["2", "x", "y", "LIMIT", "-1"], ["2", "x", "y", "LIMIT", "x"],
                ["2", "x", "y", "FOO", "1"], ["-1", "x"]):
        both("SINTERCARD", *bad)


def test_pop_randmember(both):
    both("SADD", "s", "1", "2", "3")
    both("SPOP", "s", "0")
    both("SPOP", "nos")
    both("SPOP", "nos", "2")
    both("SPOP", "s", "1", "2")
    both("SPOP", "s", "-1")
    both("SPOP", "s", "x")
    both("SPOP", "s", "3")  # the whole set, then the key is gone
    both("EXISTS", "s")
    both("SADD", "s", "1", "2", "3")
    both("SRANDMEMBER", "s", "0")
    both("SRANDMEMBER", "s", "100")
    both("SRANDMEMBER", "s", "-3", "extra")
    both("SRANDMEMBER", "nos", "3")
    both("SRANDMEMBER", "nos")
    both("SRANDMEMBER", "s", "x")
    both("SRANDMEMBER", "s", "-9223372036854775808")
    for args in (["s"], ["s", "2"], ["s", "-5"], ["s", "1"], ["s", "-1"]):
        r = both.real.call("SRANDMEMBER", *args)
        e = both.engine.call("SRANDMEMBER", *args)
        assert r.split(b"\r\n")[0] == e.split(b"\r\n")[0]
    for args in (["s"], ["s", "2"]):
        r = both.real.call("SPOP", *args)
        e = both.engine.call("SPOP", *args)
        assert r.split(b"\r\n")[0] == e.split(b"\r\n")[0]
    both("SCARD", "s")


def test_scan(both):
    both("SADD", "s", "1", "2", "3", "10", "11")
    both("SSCAN", "s", "0")
    both("SSCAN", "s", "0", "MATCH", "1*")
    both("SSCAN", "s", "7", "COUNT", "1")
    for bad in (["0", "COUNT", "0"], ["0", "TYPE", "set"], ["x"], ["0", "MATCH"]):
        both("SSCAN", "s", *bad)
    both("SSCAN", "nos", "0", "FOO")
    both("SADD", "w", "a", "b", "c")
    both.unordered("SSCAN", "w", "0")


def test_scan_large_set(real, engine):
    for c in (real, engine):
        c.call("SADD", "big", *[f"m{i}" for i in range(2000)])
        seen: set[bytes] = set()
        cursor = b"0"
        calls = 0
        while True:
            parts = c.call("SSCAN", "big", cursor).split(b"\r\n")
            calls += 1
            cursor = parts[2]
            seen.update(parts[5::2])
            if cursor == b"0":
                break
            c.call("SREM", "big", f"gone{calls}")
            c.call("SADD", "big", f"new{calls}")
        assert calls > 50
        assert {b"m%d" % i for i in range(2000)} <= seen


def test_wrongtype_arity_resp3(both):
    both("SET", "str", "v")
    for cmd in (["SADD", "str", "a"], ["SREM", "str", "a"], ["SMEMBERS", "str"],
                ["SISMEMBER", "str", "a"], ["SMISMEMBER", "str", "a"], ["SCARD", "str"],
                ["SPOP", "str"], ["SPOP", "str", "2"], ["SRANDMEMBER", "str"],
                ["SRANDMEMBER", "str", "2"], ["SSCAN", "str", "0"], ["SADD", "s"],
                ["SREM", "s"], ["SMISMEMBER", "s"], ["SISMEMBER", "s"], ["SMOVE", "a", "b"],
                ["SINTERCARD", "1"], ["SINTERSTORE", "d"], ["SCARD"]):
        both(*cmd)
    resp3(both)
    both("SADD", "s", "1", "2", "3")
    both("SMEMBERS", "s")
    both("SMEMBERS", "nos")
    both("SINTER", "s", "nos")
    both("SUNION", "s", "nos")
    both("SDIFF", "s", "nos")
    both("SPOP", "nos", "2")
    both("SPOP", "s", "0")
    both("SPOP", "nos")
    both("SRANDMEMBER", "s", "10")
    both("SRANDMEMBER", "nos", "10")
    both("SMISMEMBER", "s", "1", "9")
    both("SSCAN", "s", "0")
    both("SPOP", "s", "10")


def test_spop_propagation(tmp_path):
    node = InProcess(tmp_path)
    try:
        rows = run_script(node.port, [
            ("x", "SADD", "s", "a", "b", "c", "d"),
            ("x", "SPOP", "s"),
            ("x", "SPOP", "s", "2"),
            ("x", "SPOP", "s", "5"),
            ("x", "SPOP", "s", "5"),
        ])
    finally:
        node.close()
    one = rows[1][1].split(b"\r\n")[1]
    two = rows[2][1].split(b"\r\n")[2::2][:2]
    last = rows[3][1].split(b"\r\n")[2]
    assert node.log == [
        [b"SADD", b"s", b"a", b"b", b"c", b"d"],
        [b"SREM", b"s", one],
        [b"MULTI"], [b"SREM", b"s", two[0]], [b"SREM", b"s", two[1]], [b"EXEC"],
        [b"DEL", b"s"],
    ]
    assert {one, *two, last} == {b"a", b"b", b"c", b"d"}
