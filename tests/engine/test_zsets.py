"""Sorted set commands, compared byte for byte with a real redis-server 7.0, including score
formatting (``%.17g``, inf), RESP3 doubles and the blocking pops."""

from __future__ import annotations

import pytest
from test_lists import InProcess, resp3, run_script, same_script


def test_zadd_options(both):
    both("ZADD", "z", "1", "a", "2", "b", "3", "c")
    both("ZADD", "z", "NX", "10", "a", "4", "d")
    both("ZADD", "z", "XX", "10", "a", "5", "e")
    both("ZADD", "z", "CH", "11", "a", "3", "c", "6", "f")
    both("ZADD", "z", "GT", "1", "a", "20", "b")
    both("ZADD", "z", "LT", "CH", "1", "a", "30", "b")
    both("ZADD", "z", "GT", "CH", "XX", "100", "a", "1", "b", "5", "new")
    both("ZADD", "z", "INCR", "5", "a")
    both("ZADD", "z", "NX", "INCR", "5", "a")
    both("ZADD", "z", "XX", "INCR", "5", "zz")
    both("ZADD", "z", "GT", "INCR", "-1", "a")
    both("ZADD", "z", "LT", "INCR", "-1", "a")
    both("ZADD", "nz", "XX", "1", "a")
    both("ZADD", "nz", "XX", "INCR", "1", "a")
    both("EXISTS", "nz")
    both("ZADD", "nz", "GT", "1", "a")
    both("ZRANGE", "z", "0", "-1", "WITHSCORES")
    for bad in (["NX", "XX", "1", "a"], ["GT", "LT", "1", "a"], ["GT", "NX", "1", "a"],
                ["LT", "NX", "1", "a"], ["INCR", "1", "a", "2", "b"], ["1"], ["1", "a", "2"],
                ["abc", "a"], ["nan", "a"], ["1e400", "a"], [" 1", "a"], ["1x", "a"],
                ["FOO", "1", "a"], ["NX"], ["1", "a", "x", "b"]):
        both("ZADD", "z", *bad)
    both("ZADD", "z", "INCR", "inf", "a")
    both("ZADD", "z", "INCR", "-inf", "a")
    both("ZSCORE", "z", "a")


MINUS_ZERO = "-0"


@pytest.mark.parametrize("score", ["1.1", "0.1", MINUS_ZERO, "inf", "-inf", "+inf", "1e17",
                                   "123456789012345678", "0x10", "1e-300", "3e-320", "2.5e-3",
                                   "-1.5", "12345.6789", "1e16", "9007199254740993"])
def test_score_formatting(both, score):
    both("ZADD", "z", score, "m")
    both("ZSCORE", "z", "m")
    both("ZRANGE", "z", "0", "-1", "WITHSCORES")
    both("ZSCAN", "z", "0")
    both("ZINCRBY", "z", "0.5", "m")
    both("ZINCRBY", "z", score, "n")
    resp3(both)
    both("ZSCORE", "z", "m")
    both("ZMSCORE", "z", "m", "n", "none")
    both("ZRANGE", "z", "0", "-1", "WITHSCORES")


def test_minus_zero_in_small_sorted_sets(both):
    """A listpack keeps integral scores as integers: a stored -0 reads back as 0."""
    both("ZADD", "z", "-0", "a", "1", "b")
    both("ZSCORE", "z", "a")
    both("ZRANGE", "z", "0", "-1", "WITHSCORES")
    both("ZSCAN", "z", "0")
    both("ZADD", "z", "-0.0", "c")
    both("ZUNIONSTORE", "u", "1", "z", "WEIGHTS", "-1")
    both("ZRANGE", "u", "0", "-1", "WITHSCORES")


def test_basic_reads(both):
    both("ZADD", "z", "1", "a", "2", "b", "3", "c")
    both("ZINCRBY", "z", "2.5", "b")
    both("ZINCRBY", "z", "abc", "b")
    both("ZINCRBY", "z", "nx", "b")
    both("ZINCRBY", "nz2", "3", "q")
    both("ZCARD", "z")
    both("ZCARD", "noz")
    both("ZSCORE", "z", "a")
    both("ZSCORE", "z", "nope")
    both("ZSCORE", "noz", "a")
    both("ZMSCORE", "z", "a", "nope", "b")
    both("ZMSCORE", "noz", "a", "b")
    for cmd in ("ZRANK", "ZREVRANK"):
        both(cmd, "z", "b")
        both(cmd, "z", "a")
        both(cmd, "z", "nope")
        both(cmd, "noz", "a")
    both("ZREM", "z", "nope")
    both("ZREM", "z", "a", "b", "nope")
    both("ZREM", "noz", "a")
    both("ZREM", "z", "c", "c")
    both("EXISTS", "z")


RANGE_CASES = [
    ["0", "-1"], ["2", "4", "WITHSCORES"], ["-3", "-1"], ["5", "2"], ["0", "-1", "REV",
    "WITHSCORES"], ["1", "2", "REV"], ["2", "5", "BYSCORE"], ["(2", "5", "BYSCORE", "LIMIT",
    "1", "2", "WITHSCORES"], ["5", "2", "BYSCORE", "REV"], ["5", "2", "BYSCORE", "REV", "LIMIT",
    "1", "2"], ["5", "2", "BYSCORE", "REV", "LIMIT", "0", "-1"], ["5", "(2", "BYSCORE", "REV",
    "LIMIT", "-1", "2"], ["2", "5", "BYSCORE", "LIMIT", "100", "1"], ["2", "5", "BYSCORE",
    "LIMIT", "0", "0"], ["-inf", "+inf", "BYSCORE", "LIMIT", "3", "100"], ["0", "-1", "LIMIT",
    "0", "1"], ["0", "-1", "LIMIT", "0", "-1"], ["-", "+", "BYLEX", "WITHSCORES"], ["[a", "(c",
    "BYLEX"], ["0", "-1", "FOO"], ["0", "-1", "BYSCORE", "BYLEX"], ["0", "-1", "REV", "REV"],
    ["a", "b"], ["a", "b", "BYSCORE"], ["a", "b", "BYLEX"], ["(5", "5", "BYSCORE"], ["5", "(5",
    "BYSCORE"], ["", "", "BYSCORE"], [" 2", "(5", "BYSCORE"], ["(", "3", "BYSCORE"], ["nan",
    "1", "BYSCORE"], ["0", "1", "LIMIT", "1"], ["+", "-", "BYLEX", "REV", "LIMIT", "1", "3"],
    ["(e", "[b", "BYLEX", "REV"], ["0", "-1", "WITHSCORES", "WITHSCORES"],
]


def test_range_family(both):
    both("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f", "5", "g",
         "6", "h")
    for case in RANGE_CASES:
        both("ZRANGE", "z", *case)
    both("ZRANGE", "noz", "0", "-1")
    both("ZRANGE", "noz", "x", "-1")
    both("ZREVRANGE", "z", "0", "2", "WITHSCORES")
    both("ZREVRANGE", "z", "0", "2", "LIMIT", "0", "1")
    both("ZREVRANGE", "z", "0", "2", "BYSCORE")
    both("ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", "2", "3")
    both("ZRANGEBYSCORE", "z", "(1", "(5")
    both("ZRANGEBYSCORE", "z", "1", "5", "REV")
    both("ZRANGEBYSCORE", "z", "x", "5")
    both("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "3")
    both("ZREVRANGEBYSCORE", "z", "5", "1", "WITHSCORES")
    for args in (["-", "+"], ["[b", "[e"], ["(b", "(e", "LIMIT", "1", "2"],
                 ["[b", "[e", "WITHSCORES"], ["b", "e"], ["+", "-"], ["-", "-"], ["+x", "+"],
                 ["[", "+"], ["(", "[c"], ["-", "(a"]):
        both("ZRANGEBYLEX", "z", *args)
    both("ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "2", "2")
    both("ZREVRANGEBYLEX", "z", "[e", "[b")
    for args in (["2", "5"], ["(2", "(5"], ["-inf", "+inf"], ["5", "2"], ["(5", "5"],
                 ["abc", "5"], [" 2", "5"], ["", "5"], ["0x2", "5"]):
        both("ZCOUNT", "z", *args)
    both("ZCOUNT", "noz", "1", "2")
    for args in (["-", "+"], ["[b", "(e"], ["b", "e"], ["(a", "(a"], ["+", "-"]):
        both("ZLEXCOUNT", "z", *args)
    both("ZLEXCOUNT", "noz", "-", "+")


def test_lex_mixed_scores(both):
    """Small sorted sets are listpacks: lex ranges over mixed scores follow that walk."""
    both("ZADD", "m", "5", "a", "1", "b", "3", "c", "2", "d", "4", "e")
    for args in (["[b", "[d"], ["-", "(c"], ["[a", "+"], ["(a", "[e"]):
        both("ZRANGEBYLEX", "m", *args)
        both("ZREVRANGEBYLEX", "m", args[1], args[0])
        both("ZLEXCOUNT", "m", *args)
    both("ZREMRANGEBYLEX", "m", "[b", "[d")
    both("ZRANGE", "m", "0", "-1")


def test_rangestore(both):
    both("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    both("ZRANGESTORE", "dst", "z", "0", "2")
    both("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    both("ZRANGESTORE", "dst", "z", "4", "2", "BYSCORE", "REV", "LIMIT", "0", "2")
    both("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    both("ZRANGESTORE", "dst", "z", "[a", "[c", "BYLEX")
    both("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    both("ZRANGESTORE", "dst", "z", "100", "200")
    both("EXISTS", "dst")
    both("ZRANGESTORE", "dst", "z", "0", "-1")
    both("ZRANGESTORE", "dst", "noz", "0", "-1")
    both("EXISTS", "dst")
    both("ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES")
    both("SET", "str", "x")
    both("ZRANGESTORE", "dst", "str", "0", "-1")
    both("ZRANGESTORE", "str", "z", "0", "0")
    both("TYPE", "str")


def test_remrange(both):
    both("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f", "5", "g",
         "6", "h")
    both("ZREMRANGEBYRANK", "z", "0", "1")
    both("ZREMRANGEBYRANK", "z", "5", "1")
    both("ZREMRANGEBYRANK", "z", "-1", "-1")
    both("ZREMRANGEBYRANK", "z", "a", "1")
    both("ZREMRANGEBYSCORE", "z", "(3", "5")
    both("ZREMRANGEBYSCORE", "z", "x", "5")
    both("ZRANGE", "z", "0", "-1", "WITHSCORES")
    both("ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e")
    both("ZREMRANGEBYLEX", "l", "[b", "(d")
    both("ZREMRANGEBYLEX", "l", "b", "d")
    both("ZRANGE", "l", "0", "-1")
    both("ZREMRANGEBYLEX", "l", "-", "+")
    both("EXISTS", "l")
    both("ZREMRANGEBYRANK", "noz", "0", "1")
    both("ZREMRANGEBYSCORE", "noz", "0", "1")
    both("ZREMRANGEBYLEX", "noz", "-", "+")
    both("ZREMRANGEBYRANK", "z", "0", "-1")
    both("EXISTS", "z")


def test_set_operations(both):
    both("ZADD", "z1", "1", "a", "2", "b", "3", "c")
    both("ZADD", "z2", "10", "b", "20", "c", "30", "d")
    both("SADD", "s1", "a", "d", "x")
    both("ZADD", "zi", "1", "a", "inf", "b", "-inf", "c")
    both("SET", "str", "x")
    for cmd in (["ZUNION", "2", "z1", "z2", "WITHSCORES"],
                ["ZUNION", "2", "z1", "z2", "WEIGHTS", "2", "3", "AGGREGATE", "MAX", "WITHSCORES"],
                ["ZINTER", "2", "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES"],
                ["ZUNION", "3", "z1", "z2", "s1", "WITHSCORES"],
                ["ZINTER", "2", "z1", "s1", "WITHSCORES"],
                ["ZINTER", "2", "z1", "z1", "WITHSCORES"],
                ["ZDIFF", "2", "z1", "z2", "WITHSCORES"], ["ZDIFF", "2", "z1", "z1"],
                ["ZDIFF", "2", "z1", "noz", "WITHSCORES"], ["ZDIFF", "2", "noz", "z1"],
                ["ZDIFF", "2", "s1", "z1", "WITHSCORES"],
                ["ZUNION", "2", "z1", "z2", "WEIGHTS", "inf", "-inf", "WITHSCORES"],
                ["ZUNION", "1", "zi", "WEIGHTS", "0", "WITHSCORES"],
                ["ZUNION", "2", "zi", "zi", "WITHSCORES"],
                ["ZINTER", "2", "zi", "zi", "WEIGHTS", "1", "-1", "WITHSCORES"],
                ["ZUNION", "2", "z1", "z2", "WEIGHTS", "1"],
                ["ZUNION", "2", "z1", "z2", "WEIGHTS", "1", "x"],
                ["ZUNION", "2", "z1", "z2", "AGGREGATE"],
                ["ZUNION", "2", "z1", "z2", "AGGREGATE", "AVG"],
                ["ZUNION", "2", "z1", "z2", "WITHSCORES", "WITHSCORES"],
                ["ZUNION", "2", "z1", "z2", "LIMIT", "1"], ["ZUNION", "0", "z1"],
                ["ZUNION", "-1", "z1"], ["ZUNION", "x", "z1"], ["ZUNION", "3", "z1"],
                ["ZUNION", "2", "z1", "str"], ["ZDIFF", "1", "str"],
                ["ZDIFF", "1", "z1", "WEIGHTS", "1"], ["ZINTER", "2", "z1", "noz", "WITHSCORES"],
                ["ZINTERCARD", "2", "z1", "z2"], ["ZINTERCARD", "2", "z1", "z2", "LIMIT", "1"],
                ["ZINTERCARD", "2", "z1", "z2", "WEIGHTS", "1", "1"],
                ["ZINTERCARD", "2", "z1", "noz"], ["ZINTERCARD", "1", "z1", "LIMIT", "-1"],
                ["ZINTERCARD", "1", "z1", "WITHSCORES"], ["ZINTERCARD", "0", "z1"]):
        both(*cmd)
    for cmd in ("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"):
        both(cmd, "out", "2", "z1", "z2")
        both("ZRANGE", "out", "0", "-1", "WITHSCORES")
        both(cmd, "out", "2", "z1", "noz")
        both("ZRANGE", "out", "0", "-1", "WITHSCORES")
        both(cmd, "out", "1", "z1", "WITHSCORES")
        both(cmd, "out", "0", "z1")
        both(cmd, "out", "2", "z1", "str")
        both(cmd, "str", "1", "z1")
        both("TYPE", "str")
        both("SET", "str", "x")
    both("ZUNIONSTORE", "out", "2", "z1", "z2", "WEIGHTS", "2", "0.5", "AGGREGATE", "SUM")
    both("ZRANGE", "out", "0", "-1", "WITHSCORES")
    both("ZINTERSTORE", "out", "2", "noz", "z1")
    both("EXISTS", "out")


def test_pops(both):
    both("ZADD", "z1", "1", "a", "2", "b", "3", "c")
    both("ZADD", "z2", "10", "b", "20", "c", "30", "d")
    both("ZPOPMIN", "z1")
    both("ZPOPMAX", "z2", "2")
    both("ZPOPMIN", "z1", "0")
    both("ZPOPMIN", "noz")
    both("ZPOPMIN", "noz", "2")
    both("ZPOPMIN", "z1", "-1")
    both("ZPOPMIN", "z1", "x")
    both("ZPOPMIN", "z1", "1", "2")
    both("ZPOPMAX", "z2", "10")
    both("EXISTS", "z2")
    both("ZADD", "m1", "1", "a", "2", "b", "3", "c")
    both("ZMPOP", "2", "noz", "m1", "MIN", "COUNT", "2")
    both("ZMPOP", "2", "noz", "m1", "max")
    both("ZMPOP", "1", "noz", "MIN")
    for bad in (["1", "m1", "MID"], ["0", "m1", "MIN"], ["1", "m1", "MIN", "COUNT", "0"],
                ["1", "m1", "MIN", "COUNT", "1", "COUNT", "1"], ["2", "m1", "MIN"],
                ["x", "m1", "MIN"], ["1", "m1", "MIN", "FOO"]):
        both("ZMPOP", *bad)
    both("SET", "str", "x")
    both("ZADD", "m1", "1", "a")
    both("ZMPOP", "2", "str", "m1", "MIN")
    both("ZMPOP", "2", "m1", "str", "MIN")
    both("ZPOPMIN", "str")
    resp3(both)
    both("ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d")
    both("ZPOPMIN", "p")
    both("ZPOPMIN", "p", "2")
    both("ZPOPMAX", "p", "1")
    both("ZPOPMIN", "noz", "2")
    both("ZMPOP", "1", "p", "MIN", "COUNT", "1")
    both("ZMPOP", "1", "noz", "MIN")


def test_randmember_and_scan(both):
    both("ZRANDMEMBER", "noz")
    both("ZRANDMEMBER", "noz", "3")
    both("ZADD", "r", "1", "a", "2", "b", "3", "c")
    both("ZRANDMEMBER", "r", "10", "WITHSCORES")  # whole set, from the highest score
    both("ZRANDMEMBER", "r", "3")
    both("ZRANDMEMBER", "r", "0")
    for bad in (["1", "x"], ["4611686018427387904", "WITHSCORES"], ["x"], ["1", "withscores",
                "x"]):
        both("ZRANDMEMBER", "r", *bad)
    for args in (["r"], ["r", "2"], ["r", "-5", "WITHSCORES"], ["r", "1"]):
        r = both.real.call("ZRANDMEMBER", *args)
        e = both.engine.call("ZRANDMEMBER", *args)
        assert r.split(b"\r\n")[0] == e.split(b"\r\n")[0]
    both("ZSCAN", "r", "0")
    both("ZSCAN", "r", "0", "MATCH", "b*")
    both("ZSCAN", "r", "0", "COUNT", "0")
    both("ZSCAN", "noz", "x")
    both("ZSCAN", "noz", "0", "FOO")
    resp3(both)
    both("ZRANDMEMBER", "r", "10", "WITHSCORES")
    both("ZSCAN", "r", "0")


def test_large_sorted_set(both):
    members = []
    for i in range(300):
        members += [str(i % 17 + i / 1000), f"m{i:03d}"]
    both("ZADD", "big", *members)
    both("ZRANGE", "big", "100", "120", "WITHSCORES")
    both("ZRANGE", "big", "3", "9.5", "BYSCORE", "LIMIT", "5", "10")
    both("ZREVRANGE", "big", "0", "4")
    both("ZCOUNT", "big", "(2", "7")
    both("ZRANK", "big", "m150")
    both("ZADD", "lex", *sum([["0", f"k{i:04d}"] for i in range(300)], []))
    both("ZRANGEBYLEX", "lex", "[k0100", "(k0110")
    both("ZREVRANGEBYLEX", "lex", "(k0200", "-", "LIMIT", "3", "4")
    both("ZLEXCOUNT", "lex", "(k0050", "+")
    both("ZREMRANGEBYLEX", "lex", "[k0010", "[k0280")
    both("ZRANGE", "lex", "0", "-1")
    both("ZREMRANGEBYSCORE", "big", "5", "(8")
    both("ZCARD", "big")
    both("ZADD", "neg", "-0", "a", *sum([[str(i), f"x{i}" * 20] for i in range(200)], []))
    both("ZSCORE", "neg", "x1" * 20)


def test_zscan_large(real, engine):
    for c in (real, engine):
        c.call("ZADD", "big", *sum([[str(i), f"m{i}"] for i in range(1000)], []))
        seen = {}
        cursor = b"0"
        calls = 0
        while True:
            parts = c.call("ZSCAN", "big", cursor).split(b"\r\n")
            calls += 1
            cursor = parts[2]
            items = parts[5::2]
            seen.update(zip(items[0::2], items[1::2]))
            if cursor == b"0":
                break
        assert calls > 50
        assert seen == {b"m%d" % i: b"%d" % i for i in range(1000)}


def test_wrongtype_arity(both):
    both("SET", "s", "v")
    for cmd in (["ZADD", "s", "1", "a"], ["ZINCRBY", "s", "1", "a"], ["ZREM", "s", "a"],
                ["ZCARD", "s"], ["ZSCORE", "s", "a"], ["ZMSCORE", "s", "a"], ["ZRANK", "s", "a"],
                ["ZREVRANK", "s", "a"], ["ZCOUNT", "s", "0", "1"], ["ZCOUNT", "s", "x", "1"],
                ["ZLEXCOUNT", "s", "-", "+"], ["ZRANGE", "s", "0", "1"],
                ["ZRANGE", "s", "x", "1"], ["ZRANGEBYSCORE", "s", "0", "1"],
                ["ZRANGEBYLEX", "s", "-", "+"], ["ZPOPMIN", "s"], ["ZPOPMAX", "s", "2"],
                ["ZREMRANGEBYRANK", "s", "0", "1"], ["ZREMRANGEBYSCORE", "s", "0", "1"],
                ["ZREMRANGEBYLEX", "s", "-", "+"], ["ZRANDMEMBER", "s"],
                ["ZRANDMEMBER", "s", "2"], ["ZSCAN", "s", "0"], ["BZPOPMIN", "s", "0"],
                ["BZPOPMAX", "noz", "s", "0"], ["BZMPOP", "0", "1", "s", "MIN"],
                ["ZADD", "z"], ["ZADD", "z", "1"], ["ZINCRBY", "z", "1"], ["ZRANGE", "z", "0"],
                ["ZRANGESTORE", "d", "z", "0"], ["ZMPOP", "1", "z"], ["BZPOPMIN", "z"],
                ["ZUNIONSTORE", "d", "1"], ["ZUNION", "1"], ["ZSCORE", "z"],
                ["ZRANGEBYLEX", "z", "a", "b"], ["ZREMRANGEBYLEX", "z", "a", "b"]):
        both(*cmd)


def test_blocking_timeouts(both):
    both("BZPOPMIN", "q", "0.01")
    both("BZPOPMAX", "q1", "q2", "0.01")
    both("BZMPOP", "0.01", "1", "q", "MIN")
    both("BZPOPMIN", "q", "x")
    both("BZPOPMIN", "q", "-1")
    both("BZMPOP", "x", "1", "q", "MIN")
    both("BZMPOP", "0", "1", "q", "MID")
    both("ZADD", "q", "1", "a", "2", "b", "3", "c")
    both("BZPOPMIN", "nq", "q", "0")
    both("BZPOPMAX", "q", "0")
    both("BZMPOP", "0", "1", "q", "MIN", "COUNT", "5")
    both("MULTI")
    both("BZPOPMIN", "q", "0")
    both("BZMPOP", "0", "1", "q", "MAX")
    both("EXEC")
    resp3(both)
    both("BZPOPMIN", "q", "0.01")
    both("ZADD", "q", "1.5", "a")
    both("BZPOPMIN", "q", "0")


def test_blocking_served(real_node, engine_node, real, engine):
    script = [
        ("a", "!", "BZPOPMAX", "zz", "0"),
        ("BLOCKED", 1),
        ("b", "!", "BZMPOP", "0", "1", "zz", "MIN", "COUNT", "2"),
        ("BLOCKED", 2),
        ("c", "~", "HELLO", "3"),
        ("c", "!", "BZPOPMIN", "other", "zz", "0"),
        ("BLOCKED", 3),
        ("d", "!", "BLPOP", "zz", "0.3"),  # a list waiter is not served by a sorted set
        ("BLOCKED", 4),
        ("x", "ZADD", "zz", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
        ("a", "READ"), ("b", "READ"), ("c", "READ"),
        ("x", "ZRANGE", "zz", "0", "-1", "WITHSCORES"),
        ("d", "READ"),
        ("a", "!", "BZPOPMIN", "u", "0"),
        ("BLOCKED", 1),
        ("x", "ZADD", "src", "7", "q"),
        ("x", "ZUNIONSTORE", "u", "1", "src"),
        ("a", "READ"),
    ]
    same_script(real_node, engine_node, script)


def test_blocking_propagation(tmp_path):
    node = InProcess(tmp_path)
    try:
        run_script(node.port, [
            ("a", "!", "BZPOPMIN", "z", "0"),
            ("BLOCKED", 1),
            ("b", "!", "BZMPOP", "0", "1", "z", "MAX", "COUNT", "10"),
            ("BLOCKED", 2),
            ("x", "ZADD", "z", "1", "a", "2", "b", "3", "c"),
            ("a", "READ"), ("b", "READ"),
            ("x", "ZADD", "y", "1", "a", "2", "b", "3", "c"),
            ("x", "BZPOPMAX", "y", "0"),
            ("x", "BZMPOP", "0", "1", "y", "MIN", "COUNT", "5"),
            ("x", "ZADD", "y", "1", "a"),
            ("x", "ZMPOP", "1", "y", "MIN"),
        ])
    finally:
        node.close()
    assert node.log == [
        [b"ZADD", b"z", b"1", b"a", b"2", b"b", b"3", b"c"],
        [b"ZPOPMIN", b"z"],
        [b"ZPOPMAX", b"z", b"2"],
        [b"ZADD", b"y", b"1", b"a", b"2", b"b", b"3", b"c"],
        [b"ZPOPMAX", b"y"],
        [b"ZPOPMIN", b"y", b"2"],
        [b"ZADD", b"y", b"1", b"a"],
        [b"ZPOPMIN", b"y", b"1"],
    ]
