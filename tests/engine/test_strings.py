"""String commands, compared byte for byte with a real redis-server 7.0."""

from __future__ import annotations

import re
import time


def resp3(real, engine) -> None:
    """Switch both connections to RESP3 (HELLO replies differ in id/version: not compared)."""
    for c in (real, engine):
        assert c.call("HELLO", "3").startswith(b"%7\r\n")


# --------------------------------------------------------------------------- SET / GET


def test_set_get_basic(both):
    both("SET", "k", "v")
    both("GET", "k")
    both("GET", "missing")
    both("SET", "k", "")
    both("GET", "k")
    both("SET", "bin", b"\x00\xff\r\n")
    both("GET", "bin")
    both("SET", "k")
    both("GET")
    both("GET", "a", "b")


def test_set_nx_xx(both):
    both("SET", "k", "1", "NX")
    both("SET", "k", "2", "NX")
    both("GET", "k")
    both("SET", "k", "3", "XX")
    both("SET", "other", "3", "XX")
    both("EXISTS", "other")
    both("SET", "k", "4", "nx", "xx")
    both("SET", "k", "4", "XX", "NX")
    both("SET", "k", "4", "NX", "NX")
    both("GET", "k")


def test_set_get_option(both):
    both("SET", "k", "new", "GET")
    both("SET", "k", "newer", "GET")
    both("SET", "k", "x", "GET", "GET")
    both("SET", "k", "y", "NX", "GET")
    both("GET", "k")
    both("SET", "nope", "y", "XX", "GET")
    both("EXISTS", "nope")
    both("SET", "k2", "z", "XX", "GET")


def test_set_expire_options(both):
    both("SET", "k", "v", "EX", "100")
    both("TTL", "k")
    both("SET", "k", "v", "PX", "100000")
    both("TTL", "k")
    both("SET", "k", "v")
    both("TTL", "k")
    both("SET", "k", "v", "EX", "100")
    both("SET", "k", "w", "KEEPTTL")
    both("TTL", "k")
    both("GET", "k")
    both("SET", "k", "v", "EXAT", str(int(time.time()) + 100))
    both("TTL", "k")
    both("SET", "k", "v", "PXAT", str(int(time.time() * 1000) + 100_000))
    both("TTL", "k")
    both("SET", "k", "v", "EXAT", "1")
    both("GET", "k")
    both("SET", "k", "v", "PXAT", "1")
    both("EXISTS", "k")
    both("SET", "k", "v", "EX", "10", "EX", "100")
    both("TTL", "k")


def test_set_errors(both):
    for bad in (
        ("EX", "0"), ("EX", "-1"), ("PX", "0"), ("EXAT", "0"), ("PXAT", "-5"),
        ("EX", "abc"), ("PX", "1.5"), ("EX", ""), ("EX", "9223372036854775807"),
        ("EX", "9223372036854776"), ("EX", "9223372036854775"),
        ("PX", "9223372036854775807"), ("EXAT", "9223372036854775807"),
        ("PXAT", "9223372036854775807"),
        ("EX",), ("PX",), ("EX", "10", "PX", "10"), ("PX", "10", "EX", "10"),
        ("EX", "10", "KEEPTTL"), ("KEEPTTL", "EX", "10"), ("EXAT", "10", "PXAT", "10"),
        ("NX", "XX"), ("FOO",), ("PERSIST",), ("GET", "FOO"), ("EX", "10", "FOO"),
        ("KEEPTTL", "KEEPTTL"), ("EX", "99999999999999999999"),
    ):
        both("SET", "k", "v", *bad)
    both("EXISTS", "k")
    both("RPUSH", "list", "a")
    both("SET", "list", "v", "GET")
    both("SET", "list", "v", "EX", "0", "GET")
    both("LRANGE", "list", "0", "-1")
    both("SET", "list", "v")
    both("TYPE", "list")


def test_setnx_setex_psetex(both):
    both("SETNX", "k", "a")
    both("SETNX", "k", "b")
    both("GET", "k")
    both("SETNX", "k")
    both("SETEX", "k", "100", "v")
    both("TTL", "k")
    both("GET", "k")
    both("PSETEX", "k", "100000", "w")
    both("TTL", "k")
    both("SETEX", "k", "0", "v")
    both("SETEX", "k", "-10", "v")
    both("SETEX", "k", "x", "v")
    both("PSETEX", "k", "0", "v")
    both("PSETEX", "k", "9223372036854775807", "v")
    both("SETEX", "k", "9223372036854775807", "v")
    both("SETEX", "k", "10")
    both("PSETEX", "k")


def test_getset_getdel(both):
    both("GETSET", "k", "a")
    both("GETSET", "k", "b")
    both("GET", "k")
    both("SET", "k", "v", "EX", "100")
    both("GETSET", "k", "c")
    both("TTL", "k")
    both("GETDEL", "k")
    both("GETDEL", "k")
    both("EXISTS", "k")
    both("RPUSH", "l", "x")
    both("GETSET", "l", "x")
    both("GETDEL", "l")
    both("GETDEL", "l", "x")
    both("GETSET", "l")


def test_getex(both):
    both("GETEX", "missing")
    both("GETEX", "missing", "EX", "0")
    both("GETEX", "missing", "FOO")
    both("SET", "k", "v")
    both("GETEX", "k")
    both("TTL", "k")
    both("GETEX", "k", "EX", "100")
    both("TTL", "k")
    both("GETEX", "k", "PX", "50000")
    both("TTL", "k")
    both("GETEX", "k", "PERSIST")
    both("TTL", "k")
    both("GETEX", "k", "EXAT", str(int(time.time()) + 200))
    both("TTL", "k")
    both("GETEX", "k", "PXAT", str(int(time.time() * 1000) + 300_000))
    both("TTL", "k")
    for bad in (("EX", "0"), ("EX", "-1"), ("PX", "x"), ("EX",), ("EX", "1", "PX", "1"),
                ("PERSIST", "EX", "10"), ("EX", "10", "PERSIST"), ("NX",), ("XX",),
                ("GET",), ("KEEPTTL",), ("PERSIST", "PERSIST"), ("EXAT", "0")):
        both("GETEX", "k", *bad)
    both("TTL", "k")
    both("GETEX", "k", "EXAT", "1")
    both("EXISTS", "k")
    both("SET", "k", "v")
    both("GETEX", "k", "PXAT", "1")
    both("GET", "k")
    both("RPUSH", "l", "x")
    both("GETEX", "l")
    both("GETEX", "l", "EX", "0")
    both("GETEX")


def test_mset_mget_msetnx(both):
    both("MSET", "a", "1", "b", "2", "c", "3")
    both("MGET", "a", "b", "c", "d")
    both("MSET", "a")
    both("MSET", "a", "1", "b")
    both("MSETNX", "a", "1", "b")
    both("MSETNX", "x", "1", "a", "2")
    both("EXISTS", "x")
    both("MSETNX", "x", "1", "y", "2")
    both("MGET", "x", "y")
    both("MSETNX", "z", "1", "z", "2")
    both("GET", "z")
    both("RPUSH", "l", "x")
    both("MGET", "l", "a", "nokey")
    both("MSET", "l", "str")
    both("TYPE", "l")
    both("MSET", "a", "1", "a", "2")
    both("GET", "a")
    both("MGET")
    both("SET", "t", "v", "EX", "100")
    both("MSET", "t", "w")
    both("TTL", "t")


# --------------------------------------------------------------------------- counters


def test_incr_decr(both):
    both("INCR", "n")
    both("INCR", "n")
    both("DECR", "n")
    both("DECR", "m")
    both("INCRBY", "n", "10")
    both("INCRBY", "n", "-100")
    both("DECRBY", "n", "-5")
    both("DECRBY", "n", "5")
    both("GET", "n")
    both("SET", "n", "9223372036854775806")
    both("INCR", "n")
    both("INCR", "n")
    both("SET", "n", "-9223372036854775807")
    both("DECR", "n")
    both("DECR", "n")
    both("INCRBY", "n", "-1")
    both("SET", "n", "5")
    both("DECRBY", "n", "-9223372036854775808")
    both("INCRBY", "n", "9223372036854775807")
    both("INCRBY", "n", "9223372036854775808")
    both("INCRBY", "n", "abc")
    both("INCRBY", "n", "")
    both("INCRBY", "n", " 1")
    both("INCRBY", "n", "1.0")
    both("INCRBY", "n", "+1")
    both("INCRBY", "n", "01")
    both("GET", "n")


def test_incr_not_integer(both):
    for v in ("abc", "1.5", " 1", "1 ", "+1", "01", "-0", "", "99999999999999999999",
              "12345678901234567890", "0x10", "1e3"):
        both("SET", "s", v)
        both("INCR", "s")
        both("DECRBY", "s", "2")
    both("SET", "s", "-0")
    both("GET", "s")
    both("RPUSH", "l", "1")
    both("INCR", "l")
    both("DECR", "l")
    both("INCR")
    both("INCRBY", "x")
    both("DECRBY", "x", "1", "2")


def test_incr_keeps_ttl(both):
    both("SET", "n", "1", "EX", "100")
    both("INCR", "n")
    both("TTL", "n")
    both("INCRBYFLOAT", "n", "1.5")
    both("TTL", "n")
    both("APPEND", "n", "0")
    both("TTL", "n")
    both("SETRANGE", "n", "0", "9")
    both("TTL", "n")
    both("GET", "n")


def test_incrbyfloat(both):
    both("INCRBYFLOAT", "f", "10.5")
    both("INCRBYFLOAT", "f", "0.1")
    both("INCRBYFLOAT", "f", "-5")
    both("INCRBYFLOAT", "f", "5.0e3")
    both("INCRBYFLOAT", "f", "-5.0E3")
    both("GET", "f")
    cases = ["1e20", "1e-20", "0x10", "0x1.8p1", "+.5", "5.", "-0.0000000000000000001",
             "1.23456789012345678901", "0.000003814697265625", "0.000011444091796875",
             "1e-4940", "3.0e3", "1e308", "1.7976931348623157e308", "123456789.123456789",
             "-1.5", "0", "-0", "0.1", "0.2", "0.3", "1e4932", "1.18e4932",
             "0e-99999", "18446744073709551615", "9223372036854775807",
             "1" * 60, "0." + "0" * 30 + "1", "00012.5000", "1E+5", "0X1P-3"]
    for i, v in enumerate(cases):
        both("INCRBYFLOAT", f"c{i}", v)
        both("INCRBYFLOAT", f"c{i}", "0.1")
    for bad in ("abc", " 1", "1.5 ", "1e", "", "nan", "NaN", "0x", "1e-5000", "1e5000",
                "1.5x", "--1", "1_000", "١"):
        both("INCRBYFLOAT", "g", bad)
    both("INCRBYFLOAT", "g", "inf")
    both("INCRBYFLOAT", "g", "-infinity")
    both("INCRBYFLOAT", "g", "1e4933")
    both("SET", "big", "1.18e4932")
    both("INCRBYFLOAT", "big", "1.18e4932")
    both("SET", "s", " 1")
    both("INCRBYFLOAT", "s", "1")
    both("SET", "s", "0x10")
    both("INCRBYFLOAT", "s", "1")
    both("SET", "s", "inf")
    both("INCRBYFLOAT", "s", "1")
    both("SET", "s", "nan")
    both("INCRBYFLOAT", "s", "1")
    both("RPUSH", "l", "1")
    both("INCRBYFLOAT", "l", "1")
    both("INCRBYFLOAT", "l")
    both("EXISTS", "g")


def test_incrbyfloat_repeated_sums(both):
    for _ in range(30):
        both("INCRBYFLOAT", "acc", "0.1")
    for _ in range(10):
        both("INCRBYFLOAT", "acc2", "-3.3333333333333333")
    both("INCRBYFLOAT", "acc3", "1e17")
    both("INCRBYFLOAT", "acc3", "0.5")
    both("INCRBYFLOAT", "acc3", "0.25")


# --------------------------------------------------------------------------- ranges


def test_append_strlen(both):
    both("APPEND", "k", "hello")
    both("APPEND", "k", " world")
    both("GET", "k")
    both("STRLEN", "k")
    both("STRLEN", "nokey")
    both("APPEND", "k", "")
    both("APPEND", "e", "")
    both("EXISTS", "e")
    both("SET", "n", "12")
    both("APPEND", "n", "34")
    both("INCR", "n")
    both("RPUSH", "l", "x")
    both("APPEND", "l", "x")
    both("STRLEN", "l")
    both("APPEND", "k")
    both("STRLEN")


def test_getrange_substr(both):
    both("SET", "k", "Hello World")
    for start, end in [(0, 4), (-5, -1), (0, -1), (5, 3), (-1, -5), (0, 100), (-100, 2),
                       (-100, -100), (100, 200), (3, 3), (-3, 100), (0, 0), (-1, -1),
                       (11, 11), (10, 10), (-11, -11), (-12, 0), (1, -12)]:
        both("GETRANGE", "k", str(start), str(end))
        both("SUBSTR", "k", str(start), str(end))
    both("GETRANGE", "nokey", "0", "-1")
    both("GETRANGE", "k", "a", "1")
    both("GETRANGE", "k", "0", "b")
    both("GETRANGE", "nokey", "a", "1")
    both("GETRANGE", "k", "0", "9223372036854775807")
    both("GETRANGE", "k", "-9223372036854775808", "9223372036854775807")
    both("GETRANGE", "k", "0", "9223372036854775808")
    both("SET", "e", "")
    both("GETRANGE", "e", "0", "-1")
    both("GETRANGE", "e", "0", "0")
    both("SET", "n", "12345")
    both("GETRANGE", "n", "1", "2")
    both("RPUSH", "l", "x")
    both("GETRANGE", "l", "0", "1")
    both("GETRANGE", "k", "0")
    both("SUBSTR", "k")


def test_setrange(both):
    both("SETRANGE", "k", "0", "Hello")
    both("SETRANGE", "k", "6", "World")
    both("GET", "k")
    both("SETRANGE", "k", "0", "J")
    both("GET", "k")
    both("SETRANGE", "k", "3", "")
    both("SETRANGE", "new", "5", "")
    both("EXISTS", "new")
    both("SETRANGE", "new", "3", "x")
    both("GET", "new")
    both("SETRANGE", "k", "-1", "x")
    both("SETRANGE", "k", "x", "x")
    both("SETRANGE", "k", "536870912", "x")
    both("SETRANGE", "k", "536870911", "xx")
    both("SETRANGE", "huge", "536870912", "")
    both("SETRANGE", "huge", "536870912", "x")
    both("SETRANGE", "k", "9223372036854775807", "x")
    both("SETRANGE", "k", "9223372036854775808", "x")
    both("EXISTS", "huge")
    both("SET", "n", "123")
    both("SETRANGE", "n", "1", "9")
    both("GET", "n")
    both("RPUSH", "l", "x")
    both("SETRANGE", "l", "0", "x")
    both("SETRANGE", "l", "0", "")
    both("SETRANGE", "l", "-1", "x")
    both("SETRANGE", "k", "0")


# --------------------------------------------------------------------------- LCS


def test_lcs(both):
    both("MSET", "a", "ohmytext", "b", "mynewtext")
    both("LCS", "a", "b")
    both("LCS", "a", "b", "LEN")
    both("LCS", "a", "b", "IDX")
    both("LCS", "a", "b", "IDX", "MINMATCHLEN", "4")
    both("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
    both("LCS", "a", "b", "IDX", "WITHMATCHLEN")
    both("LCS", "a", "b", "IDX", "MINMATCHLEN", "-3")
    both("LCS", "a", "b", "IDX", "LEN")
    both("LCS", "a", "b", "IDX", "MINMATCHLEN")
    both("LCS", "a", "b", "IDX", "MINMATCHLEN", "x")
    both("LCS", "a", "b", "FOO")
    both("LCS", "a", "nokey")
    both("LCS", "nokey", "nokey2", "IDX")
    both("LCS", "a", "a", "IDX", "WITHMATCHLEN")
    both("MSET", "x", "abcdefgh", "y", "xaxcxexgx")
    both("LCS", "x", "y", "IDX", "WITHMATCHLEN")
    both("LCS", "x", "y", "LEN", "LEN")
    both("RPUSH", "l", "x")
    both("LCS", "a", "l")
    both("LCS", "l", "nokey", "IDX")
    both("LCS", "a")


def test_lcs_resp3(real, engine, both):
    resp3(real, engine)
    both("MSET", "a", "ohmytext", "b", "mynewtext")
    both("LCS", "a", "b", "IDX", "WITHMATCHLEN")
    both("LCS", "a", "b", "LEN")
    both("LCS", "a", "b")


# --------------------------------------------------------------------------- RESP3


def test_resp3_nulls(real, engine, both):
    resp3(real, engine)
    both("GET", "nokey")
    both("MGET", "a", "b")
    both("SET", "k", "v", "NX")
    both("SET", "k", "w", "NX")
    both("SET", "k", "x", "NX", "GET")
    both("SET", "nokey", "x", "XX")
    both("GETDEL", "nokey")
    both("GETEX", "nokey", "EX", "10")
    both("GETSET", "k2", "v")
    both("INCRBYFLOAT", "f", "1.5")
    both("SETNX", "k", "v")
    both("GETRANGE", "nokey", "0", "1")
    both("STRLEN", "k")


# --------------------------------------------------------------------------- encodings


def test_object_encoding_strings(both):
    values = ["1", "0", "9999", "10000", "-1", "-0", "01", "+1", " 1", "abc", "",
              "9223372036854775807", "9223372036854775808", "-9223372036854775808",
              "12345678901234567890", "x" * 44, "x" * 45, "1" * 20, "1" * 21, "1.5"]
    for i, v in enumerate(values):
        both("SET", f"s{i}", v)
        both("OBJECT", "ENCODING", f"s{i}")
        both("OBJECT", "REFCOUNT", f"s{i}")
    both("APPEND", "a", "1")
    both("OBJECT", "ENCODING", "a")
    both("APPEND", "a", "2")
    both("OBJECT", "ENCODING", "a")
    both("OBJECT", "REFCOUNT", "a")
    both("INCR", "a")
    both("OBJECT", "ENCODING", "a")
    both("INCRBYFLOAT", "f", "3")
    both("OBJECT", "ENCODING", "f")
    both("OBJECT", "REFCOUNT", "f")
    both("INCRBYFLOAT", "f2", "1e50")
    both("OBJECT", "ENCODING", "f2")
    both("SETRANGE", "r", "0", "5")
    both("OBJECT", "ENCODING", "r")
    both("SET", "r2", "abc")
    both("SETRANGE", "r2", "0", "")
    both("OBJECT", "ENCODING", "r2")
    both("SETRANGE", "r2", "0", "x")
    both("OBJECT", "ENCODING", "r2")
    both("SET", "r2", "abc")
    both("OBJECT", "ENCODING", "r2")
    both("INCR", "cnt")
    both("OBJECT", "REFCOUNT", "cnt")
    both("INCRBY", "cnt", "20000")
    both("OBJECT", "ENCODING", "cnt")
    both("OBJECT", "REFCOUNT", "cnt")
    both("MSET", "m1", "7", "m2", "hello")
    both("OBJECT", "ENCODING", "m1")
    both("OBJECT", "ENCODING", "m2")
    both("GETSET", "m2", "123")
    both("OBJECT", "ENCODING", "m2")
    both("SETEX", "m3", "100", "456")
    both("OBJECT", "ENCODING", "m3")


# --------------------------------------------------------------------------- expiry


def test_expiry_counts_down(both, real, engine):
    both("SET", "k", "v", "PX", "1500")
    assert int(real.call("PTTL", "k")[1:-2]) <= 1500
    assert 0 < int(engine.call("PTTL", "k")[1:-2]) <= 1500
    both("PSETEX", "p", "50", "v")
    both("SET", "q", "v", "PX", "50")
    both("SET", "g", "v")
    both("GETEX", "g", "PX", "50")
    time.sleep(0.12)
    both("GET", "p")
    both("GET", "q")
    both("GET", "g")
    both("EXISTS", "p", "q", "g")
    both("GET", "k")


# --------------------------------------------------------------------------- propagation


def _engine_propagation(commands: list[list[str]]) -> list[list[bytes]]:
    from redislab.engine.config import Config
    from redislab.engine.server import Client, Server

    srv = Server(Config())
    got: list[list[bytes]] = []
    srv.propagate_hooks.append(lambda db, argv: got.append(list(argv)))
    c = Client(srv)
    for cmd in commands:
        srv.call(c, [a.encode() for a in cmd], [])
    return got


def _real_propagation(port: int, commands: list[list[str]]) -> list[list[bytes]]:
    """The replication stream of a real redis-server (we attach as a replica with SYNC)."""
    import socket

    from nodes import RawClient

    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"SYNC\r\n")
    buf = b""
    while True:  # skip the RDB payload
        while b"\r\n" not in buf:
            buf += s.recv(65536)
        if buf[:1] == b"\n":
            buf = buf[1:]
            continue
        line, buf = buf.split(b"\r\n", 1)
        if line.startswith(b"$"):
            n = int(line[1:])
            while len(buf) < n:
                buf += s.recv(65536)
            buf = buf[n:]
            break
    with RawClient(port) as c:
        c.call("SELECT", "9")
        c.call("FLUSHDB")
        for cmd in commands:
            c.call(*cmd)
        c.call("SET", "__end__", "1")  # an end marker
        c.call("DEL", "__end__")
    s.settimeout(3)
    while b"DEL\r\n$7\r\n__end__\r\n" not in buf:
        buf += s.recv(65536)
    s.close()
    cmds: list[list[bytes]] = []
    pos = 0
    while pos < len(buf):
        if buf[pos : pos + 1] != b"*":
            pos = buf.index(b"\r\n", pos) + 2
            continue
        nl = buf.index(b"\r\n", pos)
        n = int(buf[pos + 1 : nl])
        pos = nl + 2
        argv = []
        for _ in range(n):
            nl = buf.index(b"\r\n", pos)
            ln = int(buf[pos + 1 : nl])
            argv.append(buf[nl + 2 : nl + 2 + ln])
            pos = nl + 4 + ln
        cmds.append(argv)
    cmds = [a for a in cmds if a[0].upper() not in (b"SELECT", b"PING", b"REPLCONF")]
    assert cmds[0] == [b"FLUSHDB"]
    return cmds[1:-2]


def _normalize(cmds: list[list[bytes]]) -> list[list[bytes]]:
    now = time.time() * 1000
    out = []
    for argv in cmds:
        norm = []
        for a in argv:
            if re.fullmatch(rb"\d{12,14}", a) and abs(int(a) - now) < 10_000_000:
                a = b"<ms:%d>" % round((int(a) - now) / 10_000)
            norm.append(a)
        out.append(norm)
    return out


def test_string_propagation_matches_redis(real_node):
    now_s = int(time.time())
    commands = [
        ["SET", "k", "v", "EX", "100"],
        ["SET", "k", "v", "GET"],
        ["SET", "k", "v", "get", "NX", "GET"],
        ["SET", "k", "v", "XX", "GET", "KEEPTTL"],
        ["SET", "k2", "v", "NX", "GET"],
        ["SET", "k", "v", "PX", "100000", "GET"],
        ["SET", "k", "v", "EXAT", str(now_s + 1000)],
        ["SETEX", "k", "100", "v"],
        ["PSETEX", "k", "100000", "v"],
        ["SETNX", "k", "x"],
        ["SETNX", "nx", "x"],
        ["SET", "n", "1"],
        ["INCRBYFLOAT", "n", "1.5"],
        ["INCR", "n2"],
        ["GETEX", "n", "EX", "100"],
        ["GETEX", "n", "PERSIST"],
        ["GETEX", "n", "PERSIST"],
        ["GETEX", "n"],
        ["GETEX", "n", "PXAT", "1"],
        ["SET", "g", "v"],
        ["GETSET", "g", "w"],
        ["GETDEL", "g"],
        ["GETDEL", "g"],
        ["APPEND", "a", "x"],
        ["SETRANGE", "a", "3", "y"],
        ["SETRANGE", "a", "3", ""],
        ["MSET", "m", "1", "m2", "2"],
        ["MSETNX", "m", "1", "m3", "3"],
        ["MSETNX", "m4", "1", "m3", "3"],
        ["SET", "k", "v", "EX", "0"],
    ]
    assert _normalize(_engine_propagation([["SELECT", "9"]] + commands)) == _normalize(
        _real_propagation(real_node.port, commands)
    )


def test_lcs_random(both):
    import random

    rnd = random.Random(7)
    for n, m, alphabet in ((0, 5, b"ab"), (30, 40, b"ab"), (200, 150, b"acgt"),
                           (1500, 1200, b"abcdefgh"), (64, 64, b"x"), (65, 63, b"xy")):
        a = bytes(rnd.choice(alphabet) for _ in range(n))
        b = bytes(rnd.choice(alphabet) for _ in range(m))
        both("MSET", "a", a, "b", b)
        both("LCS", "a", "b")
        both("LCS", "b", "a", "LEN")
        both("LCS", "a", "b", "IDX", "WITHMATCHLEN")
        both("LCS", "a", "b", "IDX", "MINMATCHLEN", "3")
