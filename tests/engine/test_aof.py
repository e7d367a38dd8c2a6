"""Multi-part AOF: crash recovery (kill -9), AOF directories exchanged between a real
redis-server 7.0 and the engine in both directions, a truncated tail, BGREWRITEAOF and
turning AOF on at run time."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

import nodes
from nodes import Node, require_binary

MANIFEST = "appendonlydir/appendonly.aof.manifest"


def write_workload(node: Node) -> None:
    r = node.client()
    r.set(b"a", b"1")
    r.incr(b"a")
    r.rpush(b"l", b"x", b"y", b"z")
    r.lpop(b"l")
    r.hset(b"h", mapping={b"f": b"v", b"g": b"w"})
    r.hdel(b"h", b"g")
    r.sadd(b"s", b"1", b"2", b"three")
    r.set(b"ttl", b"v", ex=5000)
    r.set(b"del-me", b"x")
    r.delete(b"del-me")
    r3 = node.client(db=3)
    r3.set(b"in3", b"three")
    r3.rpush(b"l3", b"1", b"2")
    p = node.client().pipeline(transaction=True)
    p.set(b"m1", b"1")
    p.set(b"m2", b"2")
    p.execute()
    r.set(b"bin", bytes(range(256)))


def contents(node: Node) -> dict:
    """Every key: {(db, key): (type, value, has a TTL)} (the TTL itself counts down)."""
    return {k: (t, v, ttl > 0) for k, (t, v, ttl) in nodes.contents(node).items()}


EXPECTED = {
    (0, b"a"): ("string", b"2", False),
    (0, b"l"): ("list", [b"y", b"z"], False),
    (0, b"h"): ("hash", {b"f": b"v"}, False),
    (0, b"s"): ("set", {b"1", b"2", b"three"}, False),
    (0, b"ttl"): ("string", b"v", True),
    (0, b"m1"): ("string", b"1", False),
    (0, b"m2"): ("string", b"2", False),
    (0, b"bin"): ("string", bytes(range(256)), False),
    (3, b"in3"): ("string", b"three", False),
    (3, b"l3"): ("list", [b"1", b"2"], False),
}


def copy_aof_dir(src: Node, dst: Node) -> None:
    shutil.copytree(os.path.join(src.dir, "appendonlydir"),
                    os.path.join(dst.dir, "appendonlydir"))


def manifest(node: Node) -> str:
    with open(os.path.join(node.dir, MANIFEST)) as f:
        return f.read()


def incr_file(node: Node) -> str:
    for line in manifest(node).splitlines():
        if line.endswith("type i"):
            return os.path.join(node.dir, "appendonlydir", line.split()[1])
    raise AssertionError("no incr file")


def check_aof(node: Node) -> str:
    res = subprocess.run([require_binary("redis-check-aof"), os.path.join(node.dir, MANIFEST)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "All AOF files and manifest are valid" in res.stdout
    return res.stdout


def test_kill9_then_restart_replays_aof(node_factory):
    engine = node_factory("engine", "--appendonly", "yes")
    write_workload(engine)
    engine.kill()
    assert manifest(engine) == ("file appendonly.aof.1.base.rdb seq 1 type b\n"
                                "file appendonly.aof.1.incr.aof seq 1 type i\n")
    with open(incr_file(engine), "rb") as f:
        incr = f.read()
    assert incr.startswith(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n")
    assert b"*1\r\n$5\r\nMULTI\r\n" in incr or b"*1\r\n$5\r\nmulti\r\n" in incr
    engine.start()
    assert contents(engine) == EXPECTED
    log = engine.log_text()
    assert "Reading RDB base file on AOF loading..." in log
    assert "DB loaded from base file appendonly.aof.1.base.rdb: " in log
    assert "DB loaded from incr file appendonly.aof.1.incr.aof: " in log
    assert "DB loaded from append only file: " in log
    assert "Opening AOF incr file appendonly.aof.1.incr.aof on server start" in log


def test_real_aof_replayed_by_engine(node_factory):
    real = node_factory("real", "--appendonly", "yes")
    r = real.client()
    r.set(b"before-rewrite", b"1")
    r.rpush(b"l", b"0")
    assert r.bgrewriteaof()
    deadline = time.time() + 10
    while r.info("persistence")["aof_rewrite_in_progress"] and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    write_workload(real)
    r.delete(b"l")
    r.rpush(b"l", b"y", b"z")
    r.delete(b"before-rewrite")
    want = contents(real)
    assert want == EXPECTED
    real.stop()
    assert "seq 2 type b" in manifest(real)

    engine = node_factory("engine", "--appendonly", "yes", start=False)
    copy_aof_dir(real, engine)
    engine.start()
    assert contents(engine) == want
    assert "DB loaded from base file appendonly.aof.2.base.rdb" in engine.log_text()


def test_engine_aof_replayed_by_real(node_factory):
    engine = node_factory("engine", "--appendonly", "yes")
    r = engine.client()
    r.set(b"before-rewrite", b"1")
    r.rpush(b"l", b"0")
    assert engine.raw().call("BGREWRITEAOF") == (
        b"+Background append only file rewriting started\r\n")
    time.sleep(0.5)
    write_workload(engine)
    r.delete(b"l")
    r.rpush(b"l", b"y", b"z")
    r.delete(b"before-rewrite")
    want = contents(engine)
    assert want == EXPECTED
    engine.kill()
    assert manifest(engine) == ("file appendonly.aof.2.base.rdb seq 2 type b\n"
                                "file appendonly.aof.2.incr.aof seq 2 type i\n")
    assert sorted(os.listdir(os.path.join(engine.dir, "appendonlydir"))) == [
        "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
    check_aof(engine)

    real = node_factory("real", "--appendonly", "yes", start=False)
    copy_aof_dir(engine, real)
    real.start()
    assert contents(real) == want


def test_aof_without_rdb_preamble(node_factory):
    engine = node_factory("engine", "--appendonly", "yes", "--aof-use-rdb-preamble", "no")
    write_workload(engine)
    engine.client().execute_command("BGREWRITEAOF")
    time.sleep(0.5)
    engine.client().set(b"after", b"rewrite")
    engine.kill()
    assert "file appendonly.aof.2.base.aof seq 2 type b" in manifest(engine)
    check_aof(engine)
    want = dict(EXPECTED)
    want[(0, b"after")] = ("string", b"rewrite", False)
    real = node_factory("real", "--appendonly", "yes", start=False)
    copy_aof_dir(engine, real)
    real.start()
    assert contents(real) == want
    engine.start()
    assert contents(engine) == want


def _truncated_tail(node_factory, kind: str, src: Node) -> Node:
    node = node_factory(kind, "--appendonly", "yes", start=False)
    copy_aof_dir(src, node)
    with open(incr_file(node), "ab") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$5\r\nval")
    node.start()
    return node


def test_truncated_tail_loads_like_real(node_factory):
    src = node_factory("engine", "--appendonly", "yes")
    write_workload(src)
    src.kill()
    size = os.path.getsize(incr_file(src))
    nodes = [_truncated_tail(node_factory, kind, src) for kind in ("real", "engine")]
    name = os.path.basename(incr_file(src))
    for node in nodes:
        assert contents(node) == EXPECTED, node.kind
        assert os.path.getsize(incr_file(node)) == size, node.kind
        log = node.log_text()
        assert f"!!! Warning: short read while loading the AOF file {name}!!!" in log
        assert f"!!! Truncating the AOF {name} at offset {size} !!!" in log
        assert f"AOF {name} loaded anyway because aof-load-truncated is enabled" in log


def test_truncated_tail_refused_without_aof_load_truncated(node_factory):
    src = node_factory("engine", "--appendonly", "yes")
    src.client().set(b"k", b"v")
    src.kill()
    node = node_factory("engine", "--appendonly", "yes", "--aof-load-truncated", "no",
                        start=False)
    copy_aof_dir(src, node)
    with open(incr_file(node), "ab") as f:
        f.write(b"*2\r\n$3\r\nDEL\r\n")
    with pytest.raises(RuntimeError):
        node.start()
    assert "Unexpected end of file reading the append only file" in node.log_text()


def test_config_set_appendonly_yes_rewrites_first(node_factory):
    engine = node_factory("engine")
    write_workload(engine)
    r = engine.client()
    assert r.config_set("appendonly", "yes")
    deadline = time.time() + 10
    while not os.path.exists(os.path.join(engine.dir, MANIFEST)) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    r.set(b"after", b"on")
    log = engine.log_text()
    assert "Creating AOF incr file temp-appendonly.aof.incr on background rewrite" in log
    assert ("Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into "
            "appendonly.aof.1.incr.aof") in log
    assert manifest(engine) == ("file appendonly.aof.1.base.rdb seq 1 type b\n"
                                "file appendonly.aof.1.incr.aof seq 1 type i\n")
    engine.kill()
    check_aof(engine)
    want = dict(EXPECTED)
    want[(0, b"after")] = ("string", b"on", False)
    real = node_factory("real", "--appendonly", "yes", start=False)
    copy_aof_dir(engine, real)
    real.start()
    assert contents(real) == want


def test_aof_selects_db_and_fsync_always(node_factory):
    engine = node_factory("engine", "--appendonly", "yes", "--appendfsync", "always")
    c = engine.raw()
    c.call("SELECT", "5")
    c.call("SET", "k", "v")
    c.call("SELECT", "5")
    c.call("SET", "k2", "v")
    with open(incr_file(engine), "rb") as f:
        data = f.read()
    assert data == (b"*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n"
                    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
                    b"*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$1\r\nv\r\n")


def test_publish_goes_to_replicas_not_to_the_aof(node_factory):
    """PUBLISH and SPUBLISH are propagated to replicas only (Redis 7.0:
    forceCommandPropagation(c, PROPAGATE_REPL)): the AOF of the engine is the AOF of a real
    redis-server for the same commands, MULTI/EXEC blocks included."""
    files = {}
    for kind in ("real", "engine"):
        node = node_factory(kind, "--appendonly", "yes", "--appendfsync", "always")
        c = node.raw()
        for cmd in (("PUBLISH", "news", "hello"), ("SPUBLISH", "news", "hello"),
                    ("SET", "k", "v"), ("MULTI",), ("PUBLISH", "news", "again"),
                    ("SET", "k2", "v"), ("EXEC",), ("MULTI",), ("PUBLISH", "a", "b"),
                    ("EXEC",)):
            c.call(*cmd)
        c.call("PING")
        with open(incr_file(node), "rb") as f:
            files[kind] = f.read()
    assert b"PUBLISH" not in files["real"]
    assert files["engine"] == files["real"]


def test_publish_with_a_replica_still_stays_out_of_the_aof(node_factory):
    """With a replica attached, PUBLISH is propagated (to it), so a MULTI holding a
    PUBLISH and a SET is a transaction of two: the AOF gets MULTI, SET, EXEC."""
    files = {}
    for kind in ("real", "engine"):
        master = node_factory(kind, "--appendonly", "yes", "--appendfsync", "always",
                              "--repl-diskless-sync-delay", "0")
        replica = node_factory(kind)
        replica.raw().call("REPLICAOF", "127.0.0.1", str(master.port))
        nodes.wait_until(lambda: b"master_link_status:up" in replica.raw().call(
            "INFO", "replication"), what="replica linked")
        c = master.raw()
        for cmd in (("MULTI",), ("PUBLISH", "news", "again"), ("SET", "k2", "v"), ("EXEC",),
                    ("MULTI",), ("PUBLISH", "a", "b"), ("PUBLISH", "c", "d"), ("EXEC",),
                    ("PUBLISH", "x", "y")):
            c.call(*cmd)
        c.call("PING")
        with open(incr_file(master), "rb") as f:
            files[kind] = f.read()
    assert b"MULTI" in files["real"] and b"PUBLISH" not in files["real"]
    assert files["engine"] == files["real"]
