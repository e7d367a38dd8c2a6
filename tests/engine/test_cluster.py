"""Redis Cluster on real processes: engine nodes, and real redis-server 7.0 nodes to compare
formats and error texts with.

* differential: the same commands on a fresh cluster node of each kind (and on non-cluster
  nodes), reply bytes equal once node ids and ports are masked;
* walkthrough 002 by hand (MEET, ADDSLOTSRANGE, DELSLOTS, REPLICATE, a master stopped without
  ``masterauth`` so its replica cannot take over, FAILOVER refused then FORCE, the old master
  rejoining as a replica, MOVED, SELECT refused), on six engine nodes and six real ones side
  by side, comparing what a learner sees;
* the real tools: ``redis-cli --cluster create/check/reshard/rebalance``, ``redis-cli -c``,
  redis-py's ``RedisCluster`` across every slot and through a failover;
* faults: random master kills (SIGKILL), each followed by a failover, cluster_state:ok
  everywhere, no slot claimed twice in any node's view, and every write acknowledged by
  ``WAIT 1`` before the kill still readable.
"""

from __future__ import annotations

import concurrent.futures
import os
import random
import re
import threading
import time
from pathlib import Path

import pytest
import redis

from cluster_lab import (NODE_LINE, ClusterLab, bulk_text, key_slot, parse_nodes,
                         settle_writable_delay, slot_set, wait_for)
from nodes import Node, RawClient

pytestmark = pytest.mark.timeout(200)

INFO_FIELDS_FRESH = [
    "cluster_state", "cluster_slots_assigned", "cluster_slots_ok", "cluster_slots_pfail",
    "cluster_slots_fail", "cluster_known_nodes", "cluster_size", "cluster_current_epoch",
    "cluster_my_epoch", "cluster_stats_messages_sent", "cluster_stats_messages_received",
    "total_cluster_links_buffer_limit_exceeded",
]


def key_for_slot(slot: int, prefix: str = "k") -> str:
    """A key hashing to ``slot`` (brute force over a counter hash tag)."""
    cache = key_for_slot.__dict__.setdefault("cache", {})
    if not cache:
        i = 0
        while len(cache) < 16384:
            tag = str(i).encode()
            cache.setdefault(key_slot(tag), tag.decode())
            i += 1
    return f"{prefix}{{{cache[slot]}}}"


def mask(reply: bytes, ids: dict[bytes, bytes], ports: dict[int, str]) -> bytes:
    for raw, name in ids.items():
        reply = reply.replace(raw, name)
    for port, name in sorted(ports.items(), key=lambda kv: -kv[0]):
        reply = reply.replace(str(port + 10000).encode(), f"<{name}-bus>".encode())
        reply = reply.replace(str(port).encode(), f"<{name}>".encode())
    return reply


def log_has(node: Node, text: str) -> bool:
    return text in node.log_text()


# ============================================================================ differential


def test_cluster_disabled(both):
    for cmd in (("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("CLUSTER", "KEYSLOT", "x"),
                ("CLUSTER", "HELP"), ("CLUSTER", "MEET", "127.0.0.1", "1"), ("READONLY",),
                ("READWRITE",), ("ASKING",), ("CLUSTER", "NOPE"), ("CLUSTER",)):
        both(*cmd)


FRESH_COMMANDS = [
    ("CLUSTER", "KEYSLOT", "foo"), ("CLUSTER", "KEYSLOT", "{user1000}.following"),
    ("CLUSTER", "KEYSLOT", "foo{}{bar}"), ("CLUSTER", "KEYSLOT", "foo{{bar}}zap"),
    ("CLUSTER", "KEYSLOT", ""), ("CLUSTER", "KEYSLOT", "hello"), ("CLUSTER", "KEYSLOT", "number"),
    ("CLUSTER", "COUNTKEYSINSLOT", "0"), ("CLUSTER", "COUNTKEYSINSLOT", "-1"),
    ("CLUSTER", "COUNTKEYSINSLOT", "16384"), ("CLUSTER", "COUNTKEYSINSLOT", "abc"),
    ("CLUSTER", "GETKEYSINSLOT", "0", "10"), ("CLUSTER", "GETKEYSINSLOT", "0", "-1"),
    ("CLUSTER", "GETKEYSINSLOT", "x", "1"), ("CLUSTER", "GETKEYSINSLOT", "16384", "1"),
    ("CLUSTER", "ADDSLOTS", "abc"), ("CLUSTER", "ADDSLOTS", "16384"),
    ("CLUSTER", "ADDSLOTS", "-1"), ("CLUSTER", "ADDSLOTS", "5", "5"),
    ("CLUSTER", "ADDSLOTSRANGE", "1"), ("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"),
    ("CLUSTER", "ADDSLOTSRANGE", "5", "1"), ("CLUSTER", "ADDSLOTSRANGE", "1", "3", "2", "4"),
    ("CLUSTER", "DELSLOTS", "7"), ("CLUSTER", "DELSLOTSRANGE", "7", "9"),
    ("CLUSTER", "SETSLOT", "1", "MIGRATING", "abc"), ("CLUSTER", "SETSLOT", "1", "IMPORTING", "abc"),
    ("CLUSTER", "SETSLOT", "1", "NODE", "abc"), ("CLUSTER", "SETSLOT", "1", "FOO"),
    ("CLUSTER", "SETSLOT", "1", "STABLE", "x"), ("CLUSTER", "SETSLOT", "abc", "STABLE"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "-1"), ("CLUSTER", "SET-CONFIG-EPOCH", "x"),
    ("CLUSTER", "REPLICATE", "abc"), ("CLUSTER", "FORGET", "abc"),
    ("CLUSTER", "COUNT-FAILURE-REPORTS", "abc"), ("CLUSTER", "REPLICAS", "abc"),
    ("CLUSTER", "SLAVES", "abc"), ("CLUSTER", "FAILOVER"), ("CLUSTER", "FAILOVER", "FOO"),
    ("CLUSTER", "FAILOVER", "FORCE", "X"), ("CLUSTER", "RESET", "FOO"),
    ("CLUSTER", "RESET", "SOFT", "X"), ("CLUSTER", "MEET", "localhost", "7000"),
    ("CLUSTER", "MEET", "127.0.0.1", "x"), ("CLUSTER", "MEET", "127.0.0.1", "7000", "y"),
    ("CLUSTER", "MEET", "127.0.0.1", "70000"), ("CLUSTER", "MEET", "1.2.3.4"),
    ("CLUSTER", "MEET", "127.0.0.1", "1", "2", "3"), ("CLUSTER", "FOO"), ("CLUSTER",),
    ("CLUSTER", "INFO", "x"), ("CLUSTER", "NODES", "x"), ("CLUSTER", "HELP"),
    ("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("CLUSTER", "MYID"),
    ("SELECT", "1"), ("SELECT", "0"), ("SELECT", "x"), ("SELECT", "99"),
    ("GET", "foo"), ("MSET", "a", "1", "b", "2"), ("MGET", "{a}1", "{a}2"), ("READONLY",),
    ("READWRITE",), ("ASKING",), ("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS"),
    ("CLUSTER", "LINKS"), ("CLUSTER", "BUMPEPOCH"), ("CLUSTER", "BUMPEPOCH"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "5"),
    ("CLUSTER", "REPLICATE", "$ME"), ("CLUSTER", "FORGET", "$ME"),
    ("CLUSTER", "COUNT-FAILURE-REPORTS", "$ME"), ("CLUSTER", "REPLICAS", "$ME"),
    ("SET", "x", "1"), ("CLUSTER", "REPLICATE", "$ME"), ("DEL", "x"),
    ("CLUSTER", "ADDSLOTSRANGE", "0", "16383"), ("CLUSTER", "ADDSLOTS", "0"),
    ("CLUSTER", "REPLICATE", "$ME"), ("CLUSTER", "SETSLOT", "1", "IMPORTING", "$ME"),
    ("CLUSTER", "SETSLOT", "1", "MIGRATING", "$ME"), ("CLUSTER", "NODES"),
    ("CLUSTER", "SETSLOT", "1", "STABLE"), ("CLUSTER", "FLUSHSLOTS"),
    ("CLUSTER", "COUNTKEYSINSLOT", "12182"), ("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS"),
    ("CLUSTER", "NODES"), ("CLUSTER", "RESET", "HARD"), ("CLUSTER", "RESET"),
    ("CLUSTER", "FAILOVER"), ("CLUSTER", "MYID"),
    ("MIGRATE", "127.0.0.1", "1", "k", "0", "100"),
    ("MIGRATE", "127.0.0.1", "1", "k", "0", "100", "KEYS", "a"),
    ("MIGRATE", "127.0.0.1", "1", "", "0", "100", "FOO"),
    ("MIGRATE", "127.0.0.1", "1", "", "x", "100", "KEYS", "a"),
    ("RESTORE-ASKING", "k", "0", "x"),
]


def test_fresh_node_differential(node_factory):
    """Every reply of a fresh cluster node, byte for byte (node ids and ports masked)."""
    args = ("--cluster-enabled", "yes", "--bind", "127.0.0.1")
    real = node_factory("real", *args)
    eng = node_factory("engine", *args)
    settle_writable_delay(time.time())  # both answer PING: their cluster crons run
    with RawClient(real.port) as rc, RawClient(eng.port) as ec:
        for cmd in FRESH_COMMANDS:
            rid = bulk_text(rc.call("CLUSTER", "MYID")).encode()
            eid = bulk_text(ec.call("CLUSTER", "MYID")).encode()
            want = rc.call(*[rid if a == "$ME" else a for a in cmd])
            got = ec.call(*[eid if a == "$ME" else a for a in cmd])
            # CLUSTER NODES shows ping/pong times: mask numbers after the address
            want = mask(want, {rid: b"<ID>"}, {real.port: "P"})
            got = mask(got, {eid: b"<ID>"}, {eng.port: "P"})
            if cmd[:2] == ("CLUSTER", "NODES"):
                want = re.sub(rb" \d{13}", b" <T>", want)
                got = re.sub(rb" \d{13}", b" <T>", got)
            assert got == want, f"{cmd}: engine {got!r} != redis {want!r}"


# ============================================================================ walkthrough 002


def _walkthrough(kind: str) -> dict:
    """The steps of walkthrough 002 on six nodes of ``kind``; returns what a learner sees
    (texts with node ids and ports masked) for the comparison between kinds."""
    seen: dict = {}
    lab = ClusterLab(kind, 6, node_timeout=1000, extra=("--requirepass", "123456"))
    lab.start()
    try:
        def call(node: Node, *args) -> bytes:
            with RawClient(node.port, timeout=20) as c:
                assert c.call("AUTH", "123456") == b"+OK\r\n"
                return c.call(*args)

        def text(node: Node, *args) -> str:
            return bulk_text(call(node, *args))

        def info(node: Node) -> dict[str, str]:
            return dict(line.split(":", 1) for line in text(node, "CLUSTER", "INFO").split("\r\n")
                        if line)

        def view(node: Node) -> list[dict]:
            return parse_nodes(text(node, "CLUSTER", "NODES"))

        n = lab.nodes
        ids = {node.port: text(node, "CLUSTER", "MYID") for node in n}
        names = {ids[node.port].encode(): f"<N{i}>".encode() for i, node in enumerate(n)}
        ports = {node.port: f"P{i}" for i, node in enumerate(n)}

        def masked(reply: bytes) -> bytes:
            return mask(reply, names, ports)

        # CLUSTER MEET every node to the first one
        for node in n[1:]:
            assert call(n[0], "CLUSTER", "MEET", "127.0.0.1", node.port) == b"+OK\r\n"
        wait_for(lambda: all(len(view(node)) == 6 and all("handshake" not in d["flags"]
                                                            for d in view(node)) for node in n),
                 20, "every node knows six nodes")
        lines = view(n[0])
        assert sum("myself" in d["flags"] for d in lines) == 1
        assert all("master" in d["flags"] and d["master"] == "-" for d in lines)
        fresh = info(n[0])
        seen["cluster_connections"] = re.search(rb"cluster_connections:\d+",
                                                call(n[0], "INFO", "clients")).group()
        seen["info_fields_met"] = [k for k in fresh if "stats_messages" not in k]
        assert fresh["cluster_state"] == "fail"
        assert fresh["cluster_slots_assigned"] == "0"
        assert fresh["cluster_known_nodes"] == "6"
        seen["info_values_met"] = {k: fresh[k] for k in ("cluster_state", "cluster_slots_assigned",
                                                         "cluster_slots_ok", "cluster_size")}
        # ADDSLOTS in three ranges
        for node, (a, b) in zip(n[:3], ((0, 5461), (5462, 10922), (10923, 16383))):
            assert call(node, "CLUSTER", "ADDSLOTSRANGE", a, b) == b"+OK\r\n"
        wait_for(lambda: all(info(node)["cluster_state"] == "ok" for node in n), 20,
                 "cluster_state:ok")
        ok = info(n[0])
        assert ok["cluster_slots_assigned"] == "16384" and ok["cluster_size"] == "3"
        seen["info_values_ok"] = {k: ok[k] for k in ("cluster_state", "cluster_slots_assigned",
                                                     "cluster_slots_ok", "cluster_slots_fail",
                                                     "cluster_known_nodes", "cluster_size")}
        seen["info_fields_ok"] = [k for k in ok if "stats_messages" not in k]
        # "Try it yourself - CLUSTER DELSLOTS 0": the cluster fails at once, and comes back
        assert call(n[0], "CLUSTER", "DELSLOTS", 0) == b"+OK\r\n"
        wait_for(lambda: info(n[0])["cluster_state"] == "fail", 5, "fail after DELSLOTS 0")
        seen["delslots_info"] = info(n[0])["cluster_slots_assigned"]
        seen["get_unserved"] = call(n[0], "GET", key_for_slot(0))
        assert call(n[0], "CLUSTER", "ADDSLOTS", 0) == b"+OK\r\n"
        wait_for(lambda: info(n[0])["cluster_state"] == "ok", 10, "ok after ADDSLOTS 0")
        # a replica must be empty and without slots
        seen["replicate_busy"] = masked(call(n[0], "CLUSTER", "REPLICATE", ids[n[1].port]))
        # CLUSTER REPLICATE: 6382 -> 6379, 6383 -> 6380, 6384 -> 6381
        for rep, master in zip(n[3:], n[:3]):
            assert call(rep, "CLUSTER", "REPLICATE", ids[master.port]) == b"+OK\r\n"
        wait_for(lambda: sum("slave" in d["flags"] for d in view(n[0])) == 3
                 and all(info(node)["cluster_state"] == "ok" for node in n), 20, "replicas")
        seen["nodes_flags"] = sorted(",".join(d["flags"]) for d in view(n[0]))
        for d in view(n[0]):
            if "slave" in d["flags"]:
                master = next(x for x in view(n[0]) if x["id"] == d["master"])
                assert d["epoch"] == master["epoch"]
        seen["replicas_cmd"] = masked(call(n[0], "CLUSTER", "REPLICAS", ids[n[0].port]))
        # ping-sent, pong-received and the config epoch (the collision resolution that
        # numbers the masters depends on their random ids) differ from run to run
        seen["replicas_cmd"] = re.sub(rb" \d+ \d+ \d+ connected", b" <T> <T> <E> connected",
                                      seen["replicas_cmd"])
        # CLUSTER SLOTS / SHARDS / LINKS shapes (replicas that never synced are left out of
        # SLOTS and are "loading" in SHARDS, on both)
        seen["slots"] = masked(call(n[0], "CLUSTER", "SLOTS"))
        r = redis.Redis(port=n[0].port, password="123456", decode_responses=True)
        shards = r.execute_command("CLUSTER", "SHARDS")
        seen["shards"] = sorted(
            (tuple(sh["slots"]), tuple(sorted((node["role"], node["health"], tuple(sorted(node)))
                                              for node in sh["nodes"])))
            for sh in shards)
        links = wait_for(lambda: len(r.execute_command("CLUSTER", "LINKS")) == 10
                         and r.execute_command("CLUSTER", "LINKS"), 10, "ten links")
        seen["links"] = sorted((tuple(link), link["direction"]) for link in links)
        r.close()
        # MOVED, SELECT
        seen["moved_get"] = masked(call(n[4], "GET", "hello"))
        seen["moved_set"] = masked(call(n[0], "SET", "number", "20004"))
        seen["moved_replica_read"] = masked(call(n[3], "GET", "hello"))
        seen["select0"] = call(n[4], "SELECT", "0")
        seen["select1"] = call(n[4], "SELECT", "1")
        # stop the master of 5462-10922 (6380): without masterauth its replica never synced
        assert "master_link_status:down" in call(n[4], "INFO", "replication").decode()
        n[1].stop()
        wait_for(lambda: any(d["port"] == n[1].port and "fail" in d["flags"]
                             for d in view(n[0])), 20, "FAIL of the stopped master")
        wait_for(lambda: info(n[0])["cluster_state"] == "fail", 10, "cluster fails")
        time.sleep(1.5)  # the replica would have started an election by now
        down = info(n[0])
        seen["info_values_down"] = {k: down[k] for k in ("cluster_state", "cluster_slots_assigned",
                                                         "cluster_slots_ok", "cluster_slots_fail")}
        assert "slave" in lab_flags(view(n[4]), ids[n[4].port])
        seen["noauth_log"] = [line for line in (
            "(Non critical) Master does not understand REPLCONF listening-port: "
            "-NOAUTH Authentication required.",
            "Unexpected reply to PSYNC from master: -NOAUTH Authentication required.",
            "Retrying with SYNC...",
            "MASTER aborted replication with an error: NOAUTH Authentication required.",
        ) if log_has(n[4], line)]
        # CLUSTER FAILOVER is refused, FAILOVER FORCE works
        seen["failover_refused"] = call(n[4], "CLUSTER", "FAILOVER")
        assert call(n[4], "CLUSTER", "FAILOVER", "FORCE") == b"+OK\r\n"
        wait_for(lambda: "master" in lab_flags(view(n[4]), ids[n[4].port])
                 and all(info(node)["cluster_state"] == "ok" for node in n if node is not n[1]),
                 20, "forced failover")
        mine = next(d for d in view(n[4]) if "myself" in d["flags"])
        assert slot_set(mine["slots"]) == set(range(5462, 10923))
        seen["force_log"] = [line for line in (
            "Forced failover user request accepted.", "Failover election won: I'm the new master.",
            "after successful failover") if log_has(n[4], line)]
        # the old master comes back as a replica of its replacement
        n[1].start(wait=True, password="123456")
        wait_for(lambda: any(d["port"] == n[1].port and "slave" in d["flags"]
                             and d["master"] == ids[n[4].port] for d in view(n[0]))
                 and all(info(node)["cluster_state"] == "ok" for node in n), 30, "rejoin")
        seen["moved_after"] = masked(call(n[0], "SET", "number", "20004"))
        # with masterauth the replicas sync, and an automatic failover works
        for node in n:
            assert call(node, "CONFIG", "SET", "masterauth", "123456") == b"+OK\r\n"
        wait_for(lambda: all("master_link_status:up" in call(node, "INFO", "replication").decode()
                             for node in n if "slave" in lab_flags(view(node), ids[node.port])),
                 30, "replicas in sync")
        n[2].kill()
        wait_for(lambda: "master" in lab_flags(view(n[5]), ids[n[5].port])
                 and info(n[0])["cluster_state"] == "ok", 30, "automatic failover")
        seen["auto_log"] = [line for line in (
            "Cluster state changed: fail", "Cluster state changed: ok",
            "Start of election delayed for", "Starting a failover election for epoch",
            "Failover election won: I'm the new master.") if log_has(n[5], line)]
        seen["fail_received"] = any("FAIL message received from" in node.log_text()
                                    or "as failing (quorum reached)" in node.log_text()
                                    for node in n if node is not n[2])
        seen["config_file"] = re.sub(r"\d+", "N", Path(n[0].dir, "nodes.conf").read_text()
                                     .splitlines()[-1])
    finally:
        lab.stop()
        import shutil

        for node in lab.nodes:
            shutil.rmtree(node.dir, ignore_errors=True)
    return seen


def lab_flags(view: list[dict], node_id: str) -> list[str]:
    return next(d["flags"] for d in view if d["id"] == node_id)


def test_walkthrough_002_engine_vs_real():
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        fut_real = pool.submit(_walkthrough, "real")
        fut_eng = pool.submit(_walkthrough, "engine")
        real, eng = fut_real.result(), fut_eng.result()
    assert eng["select1"] == b"-ERR SELECT is not allowed in cluster mode\r\n"
    assert eng["failover_refused"] == (b"-ERR Master is down or failed, please use CLUSTER "
                                       b"FAILOVER FORCE\r\n")
    assert eng["replicate_busy"] == (b"-ERR To set a master the node must be empty and without "
                                     b"assigned slots.\r\n")
    assert eng["moved_get"] == b"-MOVED 866 127.0.0.1:<P0>\r\n"
    assert eng["moved_set"] == b"-MOVED 7743 127.0.0.1:<P1>\r\n"
    assert eng["moved_after"] == b"-MOVED 7743 127.0.0.1:<P4>\r\n"
    assert eng["get_unserved"] == b"-CLUSTERDOWN Hash slot not served\r\n"
    assert len(eng["noauth_log"]) == 4
    assert eng["config_file"] == "vars currentEpoch N lastVoteEpoch N"
    for key in real:
        assert eng[key] == real[key], f"{key}: engine {eng[key]!r} != redis {real[key]!r}"


# ============================================================================ real tools


def test_redis_cli_create_check_reshard_rebalance():
    with ClusterLab("engine", 6, node_timeout=2000) as lab:
        t0 = time.time()
        res = lab.create()
        assert "Adding replica" in res.stdout and ">>> Nodes configuration updated" in res.stdout
        assert time.time() - t0 < 20
        lab.wait_converged()
        first = lab.nodes[0]
        # redis-cli -c follows MOVED
        for i in range(20):
            out = lab.cli("-c", "-p", str(first.port), "SET", f"user:{i}", f"v{i}")
            assert out.stdout.strip() == "OK", out
        out = lab.cli("-c", "-p", str(first.port), "GET", "user:7")
        assert out.stdout.strip() == "v7"
        rc = redis.cluster.RedisCluster(host="127.0.0.1", port=first.port, decode_responses=True)
        for i in range(600):
            rc.set(f"data:{i}", str(i))
        res = lab.cli("--cluster", "check", f"127.0.0.1:{first.port}")
        assert res.returncode == 0 and "[OK] All 16384 slots covered." in res.stdout, res.stdout
        assert "[OK] All nodes agree about slots configuration." in res.stdout
        masters = lab.masters()
        ids = lab.ids()
        src, dst = masters[0], masters[1]
        res = lab.cli("--cluster", "reshard", f"127.0.0.1:{src.port}", "--cluster-from",
                      ids[src.port], "--cluster-to", ids[dst.port], "--cluster-slots", "300",
                      "--cluster-yes")
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr
        lab.wait_converged()
        res = lab.cli("--cluster", "check", f"127.0.0.1:{first.port}")
        assert res.returncode == 0 and "[OK] All 16384 slots covered." in res.stdout, res.stdout
        dst_slots = slot_set(lab.myself(dst)["slots"])
        assert len(dst_slots) == 5462 + 300 or len(dst_slots) == 5461 + 300
        res = lab.cli("--cluster", "rebalance", f"127.0.0.1:{first.port}")
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr
        assert "Rebalancing across 3 nodes" in res.stdout
        lab.wait_converged()
        counts = sorted(len(slot_set(lab.myself(m)["slots"])) for m in lab.masters())
        assert counts[-1] - counts[0] <= 2, counts
        res = lab.cli("--cluster", "check", f"127.0.0.1:{first.port}")
        assert res.returncode == 0 and "[OK] All 16384 slots covered." in res.stdout
        rc = redis.cluster.RedisCluster(host="127.0.0.1", port=first.port, decode_responses=True)
        for i in range(600):
            assert rc.get(f"data:{i}") == str(i)
        total = sum(int(lab.call(m, "DBSIZE")[1:-2]) for m in lab.masters())
        assert total == 620


def test_redis_py_cluster_all_slots_and_failover():
    with ClusterLab("engine", 6, node_timeout=1000) as lab:
        lab.create()
        lab.wait_converged()
        rc = redis.cluster.RedisCluster(host="127.0.0.1", port=lab.nodes[0].port,
                                        decode_responses=True)
        keys = [key_for_slot(s) for s in range(16384)]
        pipe = rc.pipeline()
        for k in keys:
            pipe.set(k, k)
        pipe.execute()
        pipe = rc.pipeline()
        for k in keys:
            pipe.get(k)
        assert pipe.execute() == keys
        for m in lab.masters():  # replicas caught up, then a master dies
            assert int(lab.call(m, "WAIT", 1, 5000)[1:-2]) == 1
        # a replica serves reads of its master's slots after READONLY, MOVED before
        master = lab.masters()[0]
        replica = lab.replicas_of(master)[0]
        key = key_for_slot(min(slot_set(lab.myself(master)["slots"])))
        with RawClient(replica.port) as c:
            assert c.call("GET", key).startswith(b"-MOVED ")
            assert c.call("READONLY") == b"+OK\r\n"
            assert c.call("GET", key) == b"$%d\r\n%s\r\n" % (len(key), key.encode())
            assert c.call("SET", key, "x").startswith(b"-MOVED ")
            assert c.call("READWRITE") == b"+OK\r\n"
            assert c.call("GET", key).startswith(b"-MOVED ")
        # PUBLISH reaches subscribers on every node through the bus
        with RawClient(lab.nodes[5].port) as sub, RawClient(lab.nodes[1].port) as pub:
            assert sub.call("SUBSCRIBE", "news").startswith(b"*3\r\n$9\r\nsubscribe")
            assert pub.call("PUBLISH", "news", "hello") == b":0\r\n"
            assert sub.read_reply() == b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
        victim = lab.masters()[1]
        victim_slots = slot_set(lab.myself(victim)["slots"])
        victim.kill()
        lab.wait(lambda: lab.converged(), 30, "failover")
        owners = {d["id"] for d in lab.view(lab.nodes[0]) if "master" in d["flags"]
                  and slot_set(d["slots"]) == victim_slots}
        assert len(owners) == 1
        rc = redis.cluster.RedisCluster(host="127.0.0.1", port=lab.nodes[0].port,
                                        decode_responses=True)
        pipe = rc.pipeline()
        for k in keys:
            pipe.get(k)
        assert pipe.execute() == keys
        pipe = rc.pipeline()
        for k in keys:
            pipe.set(k, k + ":2")
        pipe.execute()
        assert rc.get(keys[12345]) == keys[12345] + ":2"
        assert rc.mget_nonatomic(keys[0], keys[1]) == [keys[0] + ":2", keys[1] + ":2"]


# ============================================================================ faults


def _acked_writes(lab: ClusterLab, master: Node, tag: int, n: int = 20) -> dict[str, str]:
    """Write ``n`` keys to ``master``'s slots, each acknowledged by WAIT 1."""
    mine = sorted(slot_set(lab.myself(master)["slots"]))
    out = {}
    with RawClient(master.port) as c:
        for i in range(n):
            slot = random.choice(mine)
            key = key_for_slot(slot, f"w{tag}:{i}:")
            val = f"{tag}-{i}-{random.random()}"
            assert c.call("SET", key, val) == b"+OK\r\n"
            out[key] = val
        for _ in range(50):
            if c.call("WAIT", 1, 1000) == b":1\r\n":
                break
        else:
            raise AssertionError("no replica acknowledged the writes")
    return out


def test_random_master_kills():
    """Repeated SIGKILLs of a random master: after each, the cluster converges (state ok
    everywhere, one owner per slot in every view) and every acknowledged write survives."""
    rng = random.Random(os.environ.get("CLUSTER_SEED", "20"))
    random.seed(rng.random())
    kills = int(os.environ.get("CLUSTER_KILLS", "18"))
    with ClusterLab("engine", 6, node_timeout=1000) as lab:
        lab.create()
        lab.wait_converged()
        acked: dict[str, str] = {}
        durations = []
        for k in range(kills):
            lab.wait_converged(60)
            lab.no_double_claims()
            candidates = [m for m in lab.masters() if lab.replicas_of(m)]
            victim = rng.choice(candidates)
            replica_ids = {lab.ids()[r.port] for r in lab.replicas_of(victim)}
            acked.update(_acked_writes(lab, victim, k))
            t0 = time.time()
            victim.kill()
            survivors = [n for n in lab.alive()]
            lab.wait(lambda: any(lab.myself(n)["id"] in replica_ids
                                 and "master" in lab.myself(n)["flags"] for n in survivors)
                     and lab.converged(), 30, f"failover #{k}")
            durations.append(time.time() - t0)
            lab.no_double_claims()
            rc = redis.cluster.RedisCluster(host="127.0.0.1", port=survivors[0].port,
                                            decode_responses=True)
            pipe = rc.pipeline()
            for key in acked:
                pipe.get(key)
            got = dict(zip(acked, pipe.execute()))
            lost = {k2: v for k2, v in acked.items() if got[k2] != v}
            assert not lost, f"kill #{k}: acknowledged writes lost: {list(lost)[:5]}"
            rc.close()
            victim.start()
        lab.wait_converged(60)
        lab.no_double_claims()
        assert max(durations) < 15, durations


def test_nodes_conf_survives_restart():
    # node-timeout 5000: a restart slower than the timeout (a loaded CI machine) would
    # rightly start an election -- a currentEpoch bump -- which is not what this tests
    with ClusterLab("engine", 6, node_timeout=5000) as lab:
        lab.create()
        lab.wait_converged()
        before = {n.port: lab.myself(n) for n in lab.nodes}
        info_before = {n.port: lab.info(n)["cluster_current_epoch"] for n in lab.nodes}
        for n in lab.nodes[:2] + lab.nodes[3:4]:
            conf = Path(n.dir, "nodes.conf").read_text().splitlines()
            assert len(conf) == 7
            for line in conf[:-1]:
                assert NODE_LINE.match(line), line
            saved = re.fullmatch(r"vars currentEpoch (\d+) lastVoteEpoch \d+", conf[-1])
            assert saved and saved.group(1) == info_before[n.port]
            n.stop()  # SIGTERM: SHUTDOWN
            n.start()
        lab.wait_converged()
        for n in lab.nodes:
            after = lab.myself(n)
            assert after["id"] == before[n.port]["id"]
            assert after["flags"] == before[n.port]["flags"]
            assert after["master"] == before[n.port]["master"]
            assert after["slots"] == before[n.port]["slots"]
            assert after["epoch"] == before[n.port]["epoch"]
            # loaded from nodes.conf (a node that lost it would only catch up by gossip);
            # higher only if an election started meanwhile
            assert int(lab.info(n)["cluster_current_epoch"]) >= int(info_before[n.port])
        assert "Node configuration loaded, I'm " + before[lab.nodes[0].port]["id"] in \
            lab.nodes[0].log_text()


def test_manual_failover_modes():
    with ClusterLab("engine", 6, node_timeout=2000) as lab:
        lab.create()
        lab.wait_converged()
        # coordinated failover while a client keeps writing to the master
        master = lab.masters()[0]
        replica = lab.replicas_of(master)[0]
        mine = sorted(slot_set(lab.myself(master)["slots"]))
        stop = threading.Event()
        written: dict[str, str] = {}
        errors: list[bytes] = []

        def writer() -> None:
            i = 0
            with RawClient(master.port) as c:
                while not stop.is_set():
                    key = key_for_slot(mine[i % len(mine)], f"mf{i}:")
                    reply = c.call("SET", key, str(i))
                    if reply == b"+OK\r\n":
                        written[key] = str(i)
                    else:
                        errors.append(reply)
                        if reply.startswith(b"-MOVED"):
                            return
                    i += 1

        t = threading.Thread(target=writer)
        t.start()
        time.sleep(0.5)
        assert lab.call(replica, "CLUSTER", "FAILOVER") == b"+OK\r\n"
        lab.wait(lambda: "master" in lab.myself(replica)["flags"]
                 and "slave" in lab.myself(master)["flags"], 20, "manual failover")
        time.sleep(0.3)
        stop.set()
        t.join(10)
        assert errors and errors[-1].startswith(b"-MOVED"), errors[-3:]
        assert log_has(master, "Manual failover requested by replica ")
        assert log_has(replica, "Manual failover user request accepted.")
        assert log_has(replica, "Received replication offset for paused master manual failover:")
        assert log_has(replica, "All master replication stream processed, manual failover can "
                                "start.")
        assert log_has(replica, "Failover election won: I'm the new master.")
        lab.wait_converged()
        with RawClient(replica.port) as c:  # nothing acknowledged was lost
            for key, val in written.items():
                assert c.call("GET", key) == b"$%d\r\n%s\r\n" % (len(val), val.encode())
        # FORCE and TAKEOVER
        for opt, line in (("FORCE", "Forced failover user request accepted."),
                          ("TAKEOVER", "Taking over the master (user request).")):
            master = lab.masters()[1]
            replica = lab.replicas_of(master)[0]
            assert lab.call(replica, "CLUSTER", "FAILOVER", opt) == b"+OK\r\n"
            lab.wait(lambda: "master" in lab.myself(replica)["flags"]
                     and "slave" in lab.myself(master)["flags"], 20, f"failover {opt}")
            assert log_has(replica, line)
            lab.wait_converged()
        assert lab.call(lab.masters()[0], "CLUSTER", "FAILOVER") == \
            b"-ERR You should send CLUSTER FAILOVER to a replica\r\n"
        epochs = [d["epoch"] for d in lab.view(lab.nodes[0]) if "master" in d["flags"]]
        assert len(set(epochs)) == len(epochs)


def _slot_migration(kind: str) -> list[bytes]:
    """ASK / ASKING / TRYAGAIN / MIGRATE / SETSLOT NODE by hand on three masters; returns
    the replies, masked."""
    out: list[bytes] = []
    with ClusterLab(kind, 3, node_timeout=2000) as lab:
        lab.create(replicas=0)
        lab.wait_converged()
        a, b, _ = lab.nodes
        ids = lab.ids()
        names = {ids[n.port].encode(): f"<N{i}>".encode() for i, n in enumerate(lab.nodes)}
        ports = {n.port: f"P{i}" for i, n in enumerate(lab.nodes)}
        slot = 42
        k1, k2 = key_for_slot(slot, "x"), key_for_slot(slot, "y")
        with RawClient(a.port) as ca, RawClient(b.port) as cb:
            def both(c, *args):
                out.append(mask(c.call(*args), names, ports))

            both(ca, "SET", k1, "1")
            both(ca, "SET", k2, "2")
            both(cb, "GET", k1)
            both(cb, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[a.port])
            both(ca, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[b.port])
            both(ca, "CLUSTER", "COUNTKEYSINSLOT", slot)
            both(ca, "MIGRATE", "127.0.0.1", b.port, "", 0, 5000, "KEYS", k1)
            both(ca, "GET", k1)                       # ASK
            both(ca, "MGET", k1, k2)                  # TRYAGAIN (one key moved)
            both(ca, "GET", k2)
            both(cb, "GET", k1)                       # MOVED without ASKING
            both(cb, "ASKING")
            both(cb, "GET", k1)
            both(cb, "GET", k1)                       # ASKING is for one command
            both(cb, "ASKING")
            both(cb, "MGET", k1, k2)                  # TRYAGAIN
            both(cb, "ASKING")
            both(cb, "SET", k2, "other")
            both(ca, "MIGRATE", "127.0.0.1", b.port, k2, 0, 5000)  # BUSYKEY
            both(ca, "MIGRATE", "127.0.0.1", b.port, k2, 0, 5000, "AUTH", "pw", "REPLACE")
            both(ca, "MIGRATE", "127.0.0.1", b.port, k2, 0, 5000, "REPLACE")
            both(ca, "MIGRATE", "127.0.0.1", b.port, k2, 0, 5000)  # NOKEY
            both(ca, "CLUSTER", "COUNTKEYSINSLOT", slot)
            both(ca, "CLUSTER", "SETSLOT", slot, "NODE", ids[b.port])
            both(cb, "CLUSTER", "SETSLOT", slot, "NODE", ids[b.port])
            both(ca, "GET", k1)
            both(cb, "MGET", k1, k2)
            both(cb, "SET", k1, "1")
            both(cb, "MIGRATE", "127.0.0.1", a.port, k1, 0, 5000, "COPY")
        lab.wait(lambda: lab.converged(), 20, "converged after migration")
    return out


def test_slot_migration_engine_vs_real():
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        real_f = pool.submit(_slot_migration, "real")
        eng_f = pool.submit(_slot_migration, "engine")
        real, eng = real_f.result(), eng_f.result()
    assert b"-ASK 42 127.0.0.1:<P1>\r\n" in eng
    assert b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n" in eng
    assert eng == real


def test_bus_port_and_announce(node_factory):
    """cluster-port and cluster-announce-* decide the address others use (CLUSTER NODES
    shows ip:port@cport), and MEET takes an explicit bus port."""
    from nodes import free_port

    nodes = []
    for _ in range(3):
        cport = free_port()
        nodes.append(node_factory("engine", "--cluster-enabled", "yes", "--bind", "127.0.0.1",
                                  "--cluster-node-timeout", "1000", "--cluster-port", str(cport),
                                  "--cluster-announce-ip", "127.0.0.1"))
        nodes[-1].cport = cport
    a = nodes[0]
    with RawClient(a.port) as c:
        mine = parse_nodes(bulk_text(c.call("CLUSTER", "NODES")))[0]
        assert (mine["ip"], int(mine["cport"])) == ("127.0.0.1", a.cport)
        for n in nodes[1:]:
            assert c.call("CLUSTER", "MEET", "127.0.0.1", n.port, n.cport) == b"+OK\r\n"
    for n, (lo, hi) in zip(nodes, ((0, 5000), (5001, 10000), (10001, 16383))):
        with RawClient(n.port) as c:
            assert c.call("CLUSTER", "ADDSLOTSRANGE", lo, hi) == b"+OK\r\n"

    def ok() -> bool:
        for n in nodes:
            with RawClient(n.port) as c:
                if b"cluster_state:ok" not in c.call("CLUSTER", "INFO"):
                    return False
                view = parse_nodes(bulk_text(c.call("CLUSTER", "NODES")))
                if {(d["port"], int(d["cport"])) for d in view} != \
                        {(m.port, m.cport) for m in nodes}:
                    return False
        return True

    wait_for(ok, 20, "a three-master cluster on explicit bus ports")
    with RawClient(a.port) as c:
        assert c.call("CONFIG", "GET", "cluster-port") == \
            b"*2\r\n$12\r\ncluster-port\r\n$%d\r\n%d\r\n" % (len(str(a.cport)), a.cport)


def test_cluster_down_and_reads_when_down():
    with ClusterLab("engine", 3, node_timeout=1000) as lab:
        lab.create(replicas=0)
        lab.wait_converged()
        a, b, c = lab.nodes
        mine = sorted(slot_set(lab.myself(a)["slots"]))
        key = key_for_slot(mine[0])
        assert lab.call(a, "SET", key, "v") == b"+OK\r\n"
        c.kill()
        lab.wait(lambda: lab.info(a)["cluster_state"] == "fail", 20, "cluster down")
        assert lab.call(a, "GET", key) == b"-CLUSTERDOWN The cluster is down\r\n"
        assert lab.call(a, "CONFIG", "SET", "cluster-allow-reads-when-down", "yes") == b"+OK\r\n"
        assert lab.call(a, "GET", key) == b"$1\r\nv\r\n"
        assert lab.call(a, "SET", key, "w") == \
            b"-CLUSTERDOWN The cluster is down and only accepts read commands\r\n"
        assert lab.call(a, "PING") == b"+PONG\r\n"
        c.start()
        lab.wait(lambda: lab.info(a)["cluster_state"] == "ok", 20, "cluster back")
        assert lab.call(a, "SET", key, "w") == b"+OK\r\n"


def test_debug_partition_master_fails_over_and_rejoins():
    """DEBUG PARTITION ON on a master (the engine backend's partition): the other nodes
    mark it fail after node-timeout and promote its replica; the cut-off node still
    answers the host and sees every other node time out (fail?) and the cluster down;
    after OFF it rejoins as a replica of the promoted node."""
    with ClusterLab("engine", 6, node_timeout=1000,
                    extra=("--enable-debug-command", "local")) as lab:
        lab.create()
        lab.wait_converged()
        victim = lab.masters()[0]
        ids = lab.ids()
        vid = ids[victim.port]
        replica_ids = {ids[r.port] for r in lab.replicas_of(victim)}
        others = [n for n in lab.nodes if n is not victim]
        assert lab.call(victim, "DEBUG", "PARTITION", "ON") == b"+OK\r\n"

        def seen_failed() -> bool:
            return all("fail" in next(d for d in lab.view(n) if d["id"] == vid)["flags"]
                       for n in others)

        lab.wait(seen_failed, 30, "the other nodes marking the partitioned master fail")
        lab.wait(lambda: any(lab.myself(n)["id"] in replica_ids
                             and "master" in lab.myself(n)["flags"] for n in others)
                 and all(lab.info(n)["cluster_state"] == "ok" for n in others),
                 30, "its replica promoted, the rest of the cluster ok")
        # the host still reaches the cut-off node: it sees the others time out
        assert lab.call(victim, "PING") == b"+PONG\r\n"
        lab.wait(lambda: all("fail?" in d["flags"] and d["link"] == "disconnected"
                             for d in lab.view(victim) if d["id"] != vid),
                 30, "the partitioned node seeing every other node time out")
        lab.wait(lambda: lab.info(victim)["cluster_state"] == "fail", 30,
                 "the partitioned node in the minority: cluster down")
        assert "Partitioned: links to other nodes dropped" in victim.log_text()
        assert lab.call(victim, "DEBUG", "PARTITION", "OFF") == b"+OK\r\n"
        lab.wait_converged(60)
        me = lab.myself(victim)
        assert "slave" in me["flags"] and me["master"] in replica_ids
        lab.no_double_claims()
