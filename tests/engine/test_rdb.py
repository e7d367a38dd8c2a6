"""RDB persistence: files written by a real redis-server 7.0 loaded by the engine and the
reverse, SAVE/BGSAVE/SHUTDOWN SAVE, DUMP/RESTORE across both, and the format helpers."""

from __future__ import annotations

import math
import os
import subprocess
import time

import pytest

from nodes import Node, RawClient, contents, read_value, require_binary

from redislab.engine import rdb
from redislab.engine.keyspace import Keyspace, ZSet

LONG_TEXT = b"the quick brown fox jumps over the lazy dog " * 40


# ---------------------------------------------------------------------- dataset


def populate(node: Node) -> dict:
    """Write a dataset that makes real Redis use every compact encoding; returns the
    expected contents {(db, key): (type, value)}."""
    r = node.client()
    r.flushall()
    exp: dict = {}

    def s(db, key, value):
        node.client(db=db).set(key, value)
        exp[(db, key)] = ("string", value)

    s(0, b"str", b"hello")
    s(0, b"int8", b"12")
    s(0, b"int16", b"-1234")
    s(0, b"int32", b"123456789")
    s(0, b"int64", b"12345678901234")
    s(0, b"notint", b"0123")
    s(0, b"long", LONG_TEXT)  # LZF-compressed by redis (rdbcompression yes)
    s(0, b"bin", bytes(range(256)) * 3)
    s(0, b"empty", b"")
    lsmall = [b"a", b"1", b"-5", b"300", b"70000", b"x" * 100, b"9999999999", b"-"]
    r.rpush(b"lsmall", *lsmall)
    exp[(0, b"lsmall")] = ("list", lsmall)
    lbig = [(b"v%d" % i) * 20 for i in range(2000)]
    r.rpush(b"lbig", *lbig)
    exp[(0, b"lbig")] = ("list", lbig)
    lplain = [b"z" * 20000, b"y"]
    r.rpush(b"lplain", *lplain)
    exp[(0, b"lplain")] = ("list", lplain)
    hsmall = {b"f1": b"v1", b"f2": b"2", b"n": b"-70000", b"": b"empty-field"}
    r.hset(b"hsmall", mapping=hsmall)
    exp[(0, b"hsmall")] = ("hash", hsmall)
    hbig = {b"f%d" % i: b"v%d" % i for i in range(500)}
    r.hset(b"hbig", mapping=hbig)
    exp[(0, b"hbig")] = ("hash", hbig)
    hlong = {b"k": b"w" * 100}  # a value > hash-max-listpack-value: hashtable
    r.hset(b"hlong", mapping=hlong)
    exp[(0, b"hlong")] = ("hash", hlong)
    sint = {b"1", b"2", b"3", b"-100", str(2**40).encode()}
    r.sadd(b"sint", *sint)
    exp[(0, b"sint")] = ("set", sint)
    sbig = {str(i).encode() for i in range(1000)}
    r.sadd(b"sbig", *sbig)
    exp[(0, b"sbig")] = ("set", sbig)
    sstr = {b"a", b"b", b"c"}
    r.sadd(b"sstr", *sstr)
    exp[(0, b"sstr")] = ("set", sstr)
    zsmall = {b"a": 1.0, b"b": 2.5, b"c": -3.0, b"10": 10.0, b"inf": math.inf,
              b"tiny": 1e-300}
    r.zadd(b"zsmall", zsmall)
    exp[(0, b"zsmall")] = ("zset", zsmall)
    zbig = {b"m%d" % i: i / 3 for i in range(300)}
    r.zadd(b"zbig", zbig)
    exp[(0, b"zbig")] = ("zset", zbig)
    r.set(b"ttl", b"x", px=5_000_000)
    exp[(0, b"ttl")] = ("string", b"x")
    r.hset(b"httl", b"a", b"b")
    r.pexpire(b"httl", 9_000_000)
    exp[(0, b"httl")] = ("hash", {b"a": b"b"})
    r3 = node.client(db=3)
    r3.rpush(b"l3", b"1", b"2")
    exp[(3, b"l3")] = ("list", [b"1", b"2"])
    s(3, b"in3", b"three")
    s(15, b"in15", b"fifteen")
    return exp


def assert_same(got: dict, want: dict, ttl_tolerance_ms: int = 60_000) -> None:
    assert sorted(got) == sorted(want)
    for k in want:
        gt, gv, gttl = got[k]
        wt, wv, wttl = want[k]
        assert (gt, gv) == (wt, wv), k
        if wttl < 0:
            assert gttl == wttl, k
        else:
            assert gttl > 0 and abs(gttl - wttl) < ttl_tolerance_ms, (k, gttl, wttl)


def assert_matches_expected(got: dict, exp: dict) -> None:
    assert sorted(got) == sorted(exp)
    for k, (t, v) in exp.items():
        assert got[k][:2] == (t, v), k
    assert got[(0, b"ttl")][2] > 4_000_000
    assert got[(0, b"httl")][2] > 8_000_000


def encodings(node: Node) -> set[str]:
    out = set()
    for db in range(16):
        r = node.client(db=db)
        for key in r.keys(b"*"):
            out.add(f"{r.type(key).decode()}:{r.object('encoding', key).decode()}")
    return out


def start_with_file(kind: str, node_factory, rdb_bytes: bytes, *args: str,
                    dbfilename: str = "dump.rdb") -> Node:
    node = node_factory(kind, "--dbfilename", dbfilename, *args, start=False)
    with open(os.path.join(node.dir, dbfilename), "wb") as f:
        f.write(rdb_bytes)
    node.start()
    return node


def save_and_read(node: Node, name: str = "dump.rdb") -> bytes:
    assert node.raw().call("SAVE") == b"+OK\r\n"
    with open(os.path.join(node.dir, name), "rb") as f:
        return f.read()


# ---------------------------------------------------------------------- format helpers


def test_crc64_check_value_and_fast_path():
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert rdb.crc64(b"") == 0
    data = os.urandom(300_001)
    assert rdb.crc64(data) == rdb._crc64_bytewise(data)
    assert rdb.crc64(data[1000:], rdb.crc64(data[:1000])) == rdb.crc64(data)


def test_lzf_round_trip():
    for data in (LONG_TEXT, b"a" * 5000, b"abcabcabd" * 300, bytes(range(256)) * 40):
        comp = rdb.lzf_compress(data, len(data) - 4)
        assert comp is not None and len(comp) < len(data)
        assert rdb.lzf_decompress(comp, len(data)) == data
    assert rdb.lzf_compress(os.urandom(10000), 9996) is None
    with pytest.raises(ValueError):
        rdb.lzf_decompress(b"\x05abc", 6)


def test_dump_load_round_trip_in_process():
    ks = Keyspace(4)
    db = ks.dbs[2]
    z = ZSet()
    for m, sc in ((b"a", 1.5), (b"b", -math.inf), (b"c", 3.0)):
        z.add(m, sc)
    from collections import deque

    db.data.update({b"s": b"v" * 100, b"n": b"-42", b"l": deque([b"1", b"x"]),
                    b"h": {b"f": b"1"}, b"set": {b"1", b"a"}, b"z": z})
    db.expires[b"s"] = int(time.time() * 1000) + 100_000
    for compress in (False, True):
        data = rdb.dump(ks, {"repl-id": "x" * 40, "repl-offset": 7}, compress=compress)
        assert data.startswith(b"REDIS0010")
        ks2 = Keyspace(4)
        aux = rdb.load(data, ks2)
        assert aux["repl-id"] == b"x" * 40 and aux["repl-offset"] == b"7"
        assert aux["redis-ver"] == b"7.0.15" and aux["aof-base"] == b"0"
        got = ks2.dbs[2]
        assert got.expires == db.expires
        assert got.data[b"z"].order == z.order
        for k in (b"s", b"n", b"l", b"h", b"set"):
            assert got.data[k] == db.data[k]
    bad = bytearray(rdb.dump(ks))
    bad[-3] ^= 1
    with pytest.raises(rdb.RDBError) as info:
        rdb.load(bytes(bad), Keyspace(4))
    assert info.value.kind == "checksum"
    with pytest.raises(rdb.RDBError) as info:
        rdb.load(rdb.dump(ks)[:-20], Keyspace(4))
    assert info.value.kind == "eof" and "offset" in str(info.value)
    with pytest.raises(rdb.RDBError) as info:
        rdb.load(b"REDIS0011" + b"\xff" + b"\0" * 8, Keyspace(4))
    assert info.value.kind == "version"


# ---------------------------------------------------------------------- real <-> engine


def test_real_rdb_loaded_by_engine(node_factory):
    real = node_factory("real")
    exp = populate(real)
    encs = encodings(real)
    for want in ("string:int", "string:embstr", "string:raw", "list:quicklist",
                 "hash:listpack", "hash:hashtable", "set:intset", "set:hashtable",
                 "zset:listpack", "zset:skiplist"):
        assert want in encs, (want, encs)
    # a key that is already expired inside the file must be skipped by a master
    real.client().set(b"gone", b"x", px=2000)
    data = save_and_read(real)
    assert b"\xc3" in data  # LZF-compressed strings are present
    time.sleep(2.1)
    want = contents(real)
    assert (0, b"gone") not in want

    engine = start_with_file("engine", node_factory, data)
    got = contents(engine)
    assert_same(got, want)
    assert_matches_expected(got, exp)
    log = engine.log_text()
    assert "Loading RDB produced by version 7.0.15" in log
    assert "RDB age " in log and "RDB memory usage when created " in log
    assert f"Done loading RDB, keys loaded: {len(exp)}, keys expired: 1." in log
    assert "DB loaded from disk: " in log


def test_engine_rdb_loaded_by_real(node_factory):
    engine = node_factory("engine")
    exp = populate(engine)
    data = save_and_read(engine)
    assert data.startswith(b"REDIS0010")
    path = os.path.join(engine.dir, "dump.rdb")
    check = subprocess.run([require_binary("redis-check-rdb"), path], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "RDB looks OK" in check.stdout
    assert f"[info] {len(exp)} keys read" in check.stdout

    real = start_with_file("real", node_factory, data)
    got = contents(real)
    assert_same(got, contents(engine))
    assert_matches_expected(got, exp)
    assert "Done loading RDB, keys loaded: %d, keys expired: 0." % len(exp) in real.log_text()


def test_engine_rdb_with_compression_loaded_by_real(node_factory):
    engine = node_factory("engine", "--rdbcompression", "yes")
    engine.client().set(b"long", LONG_TEXT)
    engine.client().rpush(b"l", LONG_TEXT, b"x" * 30)
    data = save_and_read(engine)
    assert b"\xc3" in data and len(data) < len(LONG_TEXT)
    real = start_with_file("real", node_factory, data)
    assert real.client().get(b"long") == LONG_TEXT
    assert real.client().lrange(b"l", 0, -1) == [LONG_TEXT, b"x" * 30]


def test_expired_keys_skipped_on_load(node_factory):
    ks = Keyspace(16)
    now = int(time.time() * 1000)
    ks.dbs[0].data.update({b"old": b"1", b"new": b"2", b"keep": b"3"})
    ks.dbs[0].expires.update({b"old": now - 10_000, b"new": now + 600_000})
    engine = start_with_file("engine", node_factory, rdb.dump(ks))
    r = engine.client()
    assert sorted(r.keys(b"*")) == [b"keep", b"new"]
    assert 500_000 < r.pttl(b"new") <= 600_000
    assert "Done loading RDB, keys loaded: 2, keys expired: 1." in engine.log_text()


def test_corrupt_rdb_refuses_to_start(node_factory):
    ks = Keyspace(16)
    ks.dbs[0].data[b"k"] = b"v"
    data = bytearray(rdb.dump(ks))
    data[-1] ^= 0xFF
    node = node_factory("engine", start=False)
    with open(os.path.join(node.dir, "dump.rdb"), "wb") as f:
        f.write(data)
    with pytest.raises(RuntimeError):
        node.start()
    assert node.proc.wait(10) == 1
    log = node.log_text()
    assert "Wrong RDB checksum expected: (" in log
    assert "Terminating server after rdb file reading failure." in log


def test_shutdown_save_then_restart(node_factory):
    engine = node_factory("engine")
    exp = populate(engine)
    before = contents(engine)
    with RawClient(engine.port) as c:
        c.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n")
        try:
            c.read_reply()
        except (ConnectionError, OSError):
            pass
    assert engine.wait_exit(20) == 0
    log = engine.log_text()
    assert "Saving the final RDB snapshot before exiting." in log
    assert "DB saved on disk" in log
    engine.start()
    after = contents(engine)
    assert_same(after, before)
    assert_matches_expected(after, exp)


def test_save_bgsave_lastsave(node_factory):
    engine = node_factory("engine")
    c = engine.raw()
    c.call("SET", "k", "v")
    t0 = int(c.call("LASTSAVE")[1:-2])
    time.sleep(1.1)
    assert c.call("BGSAVE") == b"+Background saving started\r\n"
    deadline = time.time() + 10
    while int(c.call("LASTSAVE")[1:-2]) == t0 and time.time() < deadline:
        time.sleep(0.05)
    assert int(c.call("LASTSAVE")[1:-2]) > t0
    assert c.call("BGSAVE", "nope") == b"-ERR syntax error\r\n"
    log = engine.log_text()
    assert f"Background saving started by pid {engine.proc.pid}" in log
    assert f"{engine.proc.pid}:C " in log and "Background saving terminated with success" in log
    with open(os.path.join(engine.dir, "dump.rdb"), "rb") as f:
        ks = Keyspace(16)
        rdb.load(f.read(), ks)
    assert ks.dbs[0].data == {b"k": b"v"}


def test_save_points_trigger_bgsave(node_factory):
    engine = node_factory("engine", "--save", "1 2")
    r = engine.client()
    r.set(b"a", b"1")
    r.set(b"b", b"2")
    path = os.path.join(engine.dir, "dump.rdb")
    deadline = time.time() + 10
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(path)
    assert "2 changes in 1 seconds. Saving..." in engine.log_text()


def test_info_persistence_fields_match_real(real_node, engine_node):
    def fields(node):
        with RawClient(node.port) as c:
            text = c.call("INFO", "persistence").decode()
        return [line.split(":")[0] for line in text.split("\r\n") if ":" in line]

    assert fields(engine_node) == fields(real_node)


# ---------------------------------------------------------------------- DUMP / RESTORE


def test_dump_restore_between_real_and_engine(real, engine, real_node, engine_node):
    exp = populate(real_node)
    rr = real_node.client()
    er = engine_node.client()
    for (db, key), (t, v) in exp.items():
        if db != 0:
            continue
        payload = rr.dump(key)
        ttl = max(rr.pttl(key), 0)
        assert er.restore(key, ttl, payload) in (True, b"OK")
        assert read_value(er, key) == (t, v), key
        back = er.dump(key)
        rr.delete(key)
        assert rr.restore(key, ttl, back) in (True, b"OK")
        assert read_value(rr, key) == (t, v), key
    assert rr.pttl(b"ttl") > 4_000_000 and er.pttl(b"ttl") > 4_000_000


def test_restore_errors_match_real(both, real_node):
    real_node.client().set(b"src", b"value")
    payload = real_node.client().dump(b"src")
    both("SET", "k", "v")
    both("RESTORE", "k", "0", payload)  # BUSYKEY
    both("RESTORE", "k", "0", payload, "REPLACE")
    both("GET", "k")
    both("RESTORE", "k2", "-1", payload)
    both("RESTORE", "k2", "abc", payload)
    both("RESTORE", "k2", "0", payload[:-1] + bytes([payload[-1] ^ 1]))
    both("RESTORE", "k2", "0", b"short")
    newer = bytearray(payload)
    newer[-10] = 11
    both("RESTORE", "k2", "0", bytes(newer))
    both("RESTORE", "k2", "0", payload, "FOO")
    both("RESTORE", "k2", "0", payload, "IDLETIME", "-1")
    both("RESTORE", "k2", "0", payload, "FREQ", "300")
    both("RESTORE", "k2", "0", payload, "IDLETIME", "10", "FREQ", "5")
    both("RESTORE", "k2", "0", payload, "IDLETIME", "10")
    both("RESTORE", "k3", str(int(time.time() * 1000) - 1000), payload, "ABSTTL")
    both("EXISTS", "k3")
    both("RESTORE", "k3", str(int(time.time() * 1000) + 100000), payload, "ABSTTL")
    both("DUMP", "nosuchkey")
    both("DUMP", "k")
    both("RESTORE", "k4", "0")
    bad = rdb.dump_value(b"x")[:-10] + b"\x0a\x00"
    bad = b"\x63" + bad[1:]  # unknown type byte, valid footer
    import struct

    bad = bad + struct.pack("<Q", rdb.crc64(bad))
    both("RESTORE", "k5", "0", bad)


# ---------------------------------------------------------------------- older encodings


def _zl_entry(prev: int, e: bytes) -> bytes:
    head = bytes((prev,)) if prev < 254 else b"\xfe" + prev.to_bytes(4, "little")
    try:
        v = int(e)
        canonical = str(v).encode() == e
    except ValueError:
        canonical = False
    if canonical and -(2**63) <= v < 2**63:
        if 0 <= v <= 12:
            return head + bytes((0xF1 + v,))
        if -128 <= v <= 127:
            return head + b"\xfe" + v.to_bytes(1, "little", signed=True)
        if -32768 <= v <= 32767:
            return head + b"\xc0" + v.to_bytes(2, "little", signed=True)
        if -(2**23) <= v < 2**23:
            return head + b"\xf0" + v.to_bytes(3, "little", signed=True)
        if -(2**31) <= v < 2**31:
            return head + b"\xd0" + v.to_bytes(4, "little", signed=True)
        return head + b"\xe0" + v.to_bytes(8, "little", signed=True)
    n = len(e)
    if n < 64:
        return head + bytes((n,)) + e
    if n < 16384:
        return head + bytes((0x40 | (n >> 8), n & 0xFF)) + e
    return head + b"\x80" + n.to_bytes(4, "big") + e


def ziplist(items: list[bytes]) -> bytes:
    body = b""
    prev = 0
    tail = 10
    for e in items:
        tail = 10 + len(body)
        ent = _zl_entry(prev, e)
        body += ent
        prev = len(ent)
    total = 10 + len(body) + 1
    return (total.to_bytes(4, "little") + tail.to_bytes(4, "little")
            + len(items).to_bytes(2, "little") + body + b"\xff")


def zipmap(pairs: list[tuple[bytes, bytes]]) -> bytes:
    out = bytes((len(pairs),))
    for f, v in pairs:
        out += bytes((len(f),)) + f + bytes((len(v),)) + b"\x00" + v
    return out + b"\xff"


def _s(b: bytes) -> bytes:
    return rdb._enc_len(len(b)) + b


def test_old_encodings_loaded_like_real(node_factory):
    """Ziplist/zipmap/quicklist-v1/intset/old-zset encodings Redis still reads, in a file
    the engine and a real redis-server both load."""
    when_s = int(time.time()) + 100_000
    body = b"REDIS0009" + b"\xfa" + _s(b"redis-ver") + _s(b"5.0.7") + b"\xfe\x00"
    zl_list = [b"a", b"12", b"-7", b"1000", b"100000", b"5000000000", b"x" * 300, b"0"]
    body += b"\x0a" + _s(b"zl_list") + _s(ziplist(zl_list))
    body += b"\x0d" + _s(b"zl_hash") + _s(ziplist([b"f1", b"v1", b"f2", b"2"]))
    body += b"\x0c" + _s(b"zl_zset") + _s(ziplist([b"a", b"1", b"b", b"2.5", b"c", b"-3"]))
    body += (b"\x0e" + _s(b"ql") + b"\x02" + _s(ziplist([b"n1", b"2"]))
             + _s(ziplist([b"3", b"n4"])))
    body += b"\x09" + _s(b"zm") + _s(zipmap([(b"f1", b"v1"), (b"f2", b"v2")]))
    body += b"\x0b" + _s(b"iset") + _s(rdb._intset([5, -2, 2**40]))
    body += (b"\x03" + _s(b"oldz") + b"\x03" + _s(b"m1") + b"\x031.5" + _s(b"m2") + b"\xfe"
             + _s(b"m3") + b"\xff")
    body += b"\xfd" + when_s.to_bytes(4, "little") + b"\x00" + _s(b"secs") + _s(b"v")
    body += b"\xff"
    data = body + rdb.crc64(body).to_bytes(8, "little")
    expected = {
        (0, b"zl_list"): ("list", zl_list),
        (0, b"zl_hash"): ("hash", {b"f1": b"v1", b"f2": b"2"}),
        (0, b"zl_zset"): ("zset", {b"a": 1.0, b"b": 2.5, b"c": -3.0}),
        (0, b"ql"): ("list", [b"n1", b"2", b"3", b"n4"]),
        (0, b"zm"): ("hash", {b"f1": b"v1", b"f2": b"v2"}),
        (0, b"iset"): ("set", {b"5", b"-2", str(2**40).encode()}),
        (0, b"oldz"): ("zset", {b"m1": 1.5, b"m2": math.inf, b"m3": -math.inf}),
        (0, b"secs"): ("string", b"v"),
    }
    results = []
    for kind in ("real", "engine"):
        node = start_with_file(kind, node_factory, data)
        got = contents(node)
        assert {k: v[:2] for k, v in got.items()} == expected, kind
        assert abs(got[(0, b"secs")][2] - 100_000_000) < 60_000
        results.append(got)
    assert_same(results[1], results[0])


def test_dump_payloads_identical_to_real(both, real, engine):
    """Values Redis keeps in a deterministic encoding DUMP to the very same bytes."""
    for c in (real, engine):
        assert c.call("CONFIG", "SET", "rdbcompression", "no") == b"+OK\r\n"
    try:
        both("SET", "s", "hello")
        both("SET", "n", "-12345")
        both("SET", "big", "x" * 100)
        both("RPUSH", "l", "a", "1", "-5", "300", "70000", "9999999999", "x" * 70, "-")
        both("RPUSH", "lbig", *[f"element-{i:05d}" for i in range(3000)])
        both("HSET", "h", "f", "v", "n", "12", "", "empty")
        both("SADD", "si", "1", "2", "3", "-4", "70000")
        both("SADD", "si64", "1", str(2**40))
        both("ZADD", "z", "1", "a", "2.5", "b", "-3", "c", "1e100", "d", "inf", "e")
        both("ZADD", "zbig", *[x for i in range(300) for x in (str(i / 7), f"m{i}")])
        for key in ("s", "n", "big", "l", "lbig", "h", "si", "si64", "z", "zbig"):
            both("DUMP", key)
    finally:
        for c in (real, engine):
            c.call("CONFIG", "SET", "rdbcompression", "yes")


def test_engine_payloads_pass_real_deep_sanitization(node_factory, engine_node):
    real = node_factory("real", "--sanitize-dump-payload", "yes")
    exp = populate(engine_node)
    er = engine_node.client()
    rr = real.client()
    for (db, key), (t, v) in exp.items():
        if db == 0:
            assert rr.restore(key, 0, er.dump(key), replace=True) in (True, b"OK"), key
            assert read_value(rr, key) == (t, v), key


def test_bgsave_and_bgrewriteaof_scheduled_inside_multi(both):
    both("MULTI")
    both("BGSAVE")
    both("BGREWRITEAOF")
    both("EXEC")


def test_failed_bgsave_refuses_writes_like_real(node_factory):
    replies = []
    for kind in ("real", "engine"):
        node = node_factory(kind, "--save", "3600 1", "--enable-protected-configs", "yes")
        c = node.raw()
        c.call("SET", "k", "v")
        assert c.call("CONFIG", "SET", "dir", "/proc") == b"+OK\r\n"
        assert c.call("BGSAVE") == b"+Background saving started\r\n"
        deadline = time.time() + 10
        while b"rdb_bgsave_in_progress:1" in c.call("INFO", "persistence") \
                and time.time() < deadline:
            time.sleep(0.05)
        assert b"rdb_last_bgsave_status:err" in c.call("INFO", "persistence")
        got = [c.call("SET", "k", "w"), c.call("PING"), c.call("GET", "k")]
        assert c.call("CONFIG", "SET", "dir", node.dir) == b"+OK\r\n"
        got.append(c.call("SAVE"))
        got.append(c.call("SET", "k", "w"))
        replies.append(got)
        assert "Background saving error" in node.log_text()
    assert replies[1] == replies[0]
    assert replies[0][0].startswith(b"-MISCONF ")


def test_function_and_module_aux_skipped_unsupported_types_rejected():
    lib = b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)"
    module_aux = (b"\xf7" + rdb._enc_len(12345) + b"\x02\x02"  # module id, UINT when=2
                  + b"\x01\x05" + b"\x05" + _s(b"blob") + b"\x04" + b"\0" * 8 + b"\x00")
    body = (b"REDIS0010" + b"\xfa" + _s(b"redis-ver") + _s(b"7.0.15") + b"\xf5" + _s(lib)
            + module_aux + b"\xfe\x00\x00" + _s(b"k") + _s(b"v") + b"\xff")
    data = body + rdb.crc64(body).to_bytes(8, "little")
    ks = Keyspace(16)
    res = rdb.load(data, ks)
    assert res.functions == [lib] and res.module_aux_skipped == 1
    assert ks.dbs[0].data == {b"k": b"v"}
    for type_byte, what in ((b"\x0f", "stream"), (b"\x07", "module")):
        body = b"REDIS0010\xfe\x00" + type_byte + _s(b"key") + b"\x00" * 20 + b"\xff"
        with pytest.raises(rdb.RDBError) as info:
            rdb.load(body + b"\0" * 8, Keyspace(16))
        assert info.value.kind == "unsupported" and what in str(info.value)
        assert "offset 16" in str(info.value)  # where the value starts


def test_misconf_guard_sits_in_the_command_path_only_after_a_failure(tmp_path):
    """The MISCONF guard is installed when a save fails and removed when one succeeds
    (writes pay nothing for it otherwise)."""
    from redislab.engine import persistence
    from redislab.engine.config import Config
    from redislab.engine.server import Server

    cfg = Config()
    cfg.chdir = False
    cfg.load_text(f'dir {tmp_path}\nsave "3600 1"\nappendonly no\n'
                  f"logfile {tmp_path}/log.txt\n")
    srv = Server(cfg)
    st = persistence.install(srv)
    assert st.guard not in srv.guards
    cfg.set_value("dir", str(tmp_path / "missing"))
    assert persistence.bgsave(srv)  # no running loop: the save runs (and fails) now
    assert srv.last_bgsave_status == "err" and st.guard in srv.guards
    cfg.set_value("dir", str(tmp_path))
    assert persistence.save_rdb(srv)
    assert st.guard not in srv.guards
