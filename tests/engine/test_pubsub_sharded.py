"""Sharded pub/sub (Redis 7.0): SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS,
PUBSUB SHARDNUMSUB — reply bytes against redis-server (RESP2 and RESP3), replication of
SPUBLISH outside cluster mode, and routing in an engine cluster (MOVED, CROSSSLOT, a
replica's subscribers, redis-py's RedisCluster)."""

from __future__ import annotations

import re
import pytest
import redis

from cluster_lab import ClusterLab, key_slot, slot_set
from nodes import RawClient, wait_until


def _run(port: int, script: list[tuple]) -> list[bytes]:
    """Runs ``script`` on two fresh connections ("s" subscriber, "p" publisher): each step
    is (who, *args) to send a command and read one reply, or ("s<", n) to read n more
    replies (pushes) from the subscriber; ("s~", *args) sends without comparing."""
    out: list[bytes] = []
    with RawClient(port) as s, RawClient(port) as p:
        conns = {"s": s, "p": p}
        for who, *args in script:
            if who.endswith("<"):
                for _ in range(args[0]):
                    out.append(conns[who[0]].read_reply())
            elif who.endswith("~"):  # not compared (HELLO's client id)
                conns[who[0]].call(*args)
            else:
                out.append(conns[who].call(*args))
    return out


def _same(real_node, engine_node, script: list[tuple]) -> list[bytes]:
    want = _run(real_node.port, script)
    got = _run(engine_node.port, script)
    for i, (w, g) in enumerate(zip(want, got)):
        assert g == w, f"step {i} {script!r}: engine {g!r} != redis {w!r}"
    assert len(got) == len(want)
    return got


def test_resp2_subscribe_counts_and_context(real_node, engine_node):
    out = _same(real_node, engine_node, [
        ("s", "SSUBSCRIBE", "a", "b", "a"), ("s<", 2),
        ("s", "SUBSCRIBE", "x"),            # channels + patterns count apart
        ("s", "PSUBSCRIBE", "y*"),
        ("s", "PING"), ("s", "PING", "hi"),
        ("s", "GET", "k"),                  # subscribed context
        ("s", "SPUBLISH", "a", "m"),
        ("s", "SUNSUBSCRIBE", "a", "zz"), ("s<", 1),
        ("s", "UNSUBSCRIBE"), ("s", "PUNSUBSCRIBE"),
        ("s", "GET", "k"),                  # still in context: one shard channel left
        ("s", "SUNSUBSCRIBE"),
        ("s", "SUNSUBSCRIBE"),
        ("s", "GET", "k"),
        ("s", "SSUBSCRIBE", "only"),
        ("s", "PING"),
        ("s", "RESET"),
        ("s", "GET", "k"),
    ])
    assert out[0] == b"*3\r\n$10\r\nssubscribe\r\n$1\r\na\r\n:1\r\n"


def test_spublish_delivery_resp2(real_node, engine_node):
    _same(real_node, engine_node, [
        ("s", "SSUBSCRIBE", "news", "other"), ("s<", 1),
        ("p", "SPUBLISH", "news", "hello"), ("s<", 1),
        ("p", "SPUBLISH", "nobody", "x"),
        ("p", "PUBLISH", "news", "regular"),        # a shard subscriber gets no PUBLISH
        ("p", "PUBSUB", "SHARDCHANNELS", "n*"),
        ("p", "PUBSUB", "SHARDCHANNELS", "zz*"),
        ("p", "PUBSUB", "SHARDNUMSUB", "news", "other", "none"),
        ("p", "PUBSUB", "SHARDNUMSUB"),
        ("p", "PUBSUB", "NUMSUB", "news"),
        ("p", "PUBSUB", "CHANNELS"),
        ("p", "SPUBLISH", "other", ""), ("s<", 1),
        ("s", "SUNSUBSCRIBE", "news"),
        ("p", "SPUBLISH", "news", "gone"),
        ("p", "PUBSUB", "SHARDCHANNELS"),
    ])


def test_shardchannels_unordered(real_node, engine_node):
    for port in (real_node.port, engine_node.port):
        with RawClient(port) as s, RawClient(port) as p:
            s.call("SSUBSCRIBE", "c1", "c2", "c3")
            s.read_reply()
            s.read_reply()
            got = p.call("PUBSUB", "SHARDCHANNELS")
            assert got.startswith(b"*3\r\n")
            assert sorted(got.split(b"\r\n")[1:-1:2]) == [b"$2"] * 3
            assert sorted(got.split(b"\r\n")[2::2]) == [b"c1", b"c2", b"c3"]


def test_resp3_shapes(real_node, engine_node):
    _same(real_node, engine_node, [
        ("s~", "HELLO", "3"),
        ("p~", "HELLO", "3"),
        ("s", "SSUBSCRIBE", "a", "b"), ("s<", 1),
        ("s", "GET", "k"),                          # no context limits in RESP3
        ("s", "SPUBLISH", "a", "self"), ("s<", 1),  # the push comes before the reply
        ("p", "SPUBLISH", "b", "msg"), ("s<", 1),
        ("p", "PUBSUB", "SHARDNUMSUB", "a"),
        ("s", "SUNSUBSCRIBE", "a"),  # (unsubscribe-all goes in Redis' dict order)
        ("s", "SUNSUBSCRIBE"),
        ("s", "SUNSUBSCRIBE"),
        ("s", "PING"),
    ])


def test_errors_and_metadata(both):
    both("SSUBSCRIBE")
    both("SPUBLISH", "a")
    both("SPUBLISH", "a", "b", "c")
    both("PUBSUB", "SHARDNUMSUB", "a")
    both("PUBSUB", "SHARDCHANNELS")
    both("PUBSUB", "SHARDCHANNELS", "a", "b")
    both("pubsub", "shardChannels", "a", "b")
    both("pubsub", "channels", "a", "b")
    both("MULTI")
    both("SSUBSCRIBE", "a")
    both("SPUBLISH", "a", "b")
    both("EXEC")
    for name in ("SSUBSCRIBE", "SUNSUBSCRIBE", "SPUBLISH"):
        both("COMMAND", "INFO", name)
        both("COMMAND", "DOCS", name)
    both("COMMAND", "GETKEYS", "SPUBLISH", "ch", "msg")
    both("COMMAND", "GETKEYS", "SSUBSCRIBE", "a", "b")
    # (PUBSUB's own entry lists its subcommands in Redis' per-process dict order)
    for sub in ("SHARDCHANNELS", "SHARDNUMSUB", "HELP"):
        both("COMMAND", "INFO", f"PUBSUB|{sub}")
        both("COMMAND", "DOCS", f"PUBSUB|{sub}")
    both("PUBSUB", "HELP")


def test_client_list_ssub(real_node, engine_node):
    for port in (real_node.port, engine_node.port):
        with RawClient(port) as s, RawClient(port) as p:
            s.call("CLIENT", "SETNAME", "shardsub")
            s.call("SSUBSCRIBE", "a", "b")
            s.read_reply()
            text = p.call("CLIENT", "LIST", "TYPE", "pubsub").decode()
            line = next(ln for ln in text.splitlines() if "name=shardsub" in ln)
            assert re.search(r" flags=P ", line) and " sub=0 psub=0 ssub=2 " in line, line


def test_spublish_replicated_outside_cluster(node_factory):
    master = node_factory("engine")
    replica = node_factory("engine", "--replicaof", "127.0.0.1", str(master.port))
    with RawClient(replica.port) as r:
        wait_until(lambda: b"master_link_status:up" in r.call("INFO", "replication"))
    with RawClient(replica.port) as s, RawClient(master.port) as p:
        assert s.call("SSUBSCRIBE", "ch") == b"*3\r\n$10\r\nssubscribe\r\n$2\r\nch\r\n:1\r\n"
        assert p.call("SPUBLISH", "ch", "hi") == b":0\r\n"
        assert s.read_reply() == b"*3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"


# ---------------------------------------------------------------- cluster


def _channel_for_slot_of(node_slots: set[int], avoid: set[int] = frozenset()) -> str:
    i = 0
    while True:
        name = f"chan:{i}"
        s = key_slot(name.encode())
        if s in node_slots and s not in avoid:
            return name
        i += 1


@pytest.mark.parametrize("kind", ["engine", "real"])
def test_cluster_routing_and_replica_subscribers(kind):
    with ClusterLab(kind, 6, node_timeout=1000) as lab:
        lab.create()
        lab.wait_converged()
        master = lab.masters()[0]
        replica = lab.replicas_of(master)[0]
        mine = slot_set(lab.myself(master)["slots"])
        other = lab.masters()[1]
        theirs = slot_set(lab.myself(other)["slots"])
        ch = _channel_for_slot_of(mine)
        ch2 = _channel_for_slot_of(mine, {key_slot(ch.encode())})
        far = _channel_for_slot_of(theirs)
        with RawClient(master.port) as s1, RawClient(replica.port) as s2, \
                RawClient(master.port) as p:
            assert s1.call("SSUBSCRIBE", ch) == (
                b"*3\r\n$10\r\nssubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(ch), ch.encode()))
            # a replica serves SSUBSCRIBE for its master's slots without READONLY
            assert s2.call("SSUBSCRIBE", ch).endswith(b":1\r\n")
            assert s2.call("SSUBSCRIBE", far).startswith(b"-MOVED %d " % key_slot(far.encode()))
            assert s1.call("SSUBSCRIBE", ch, ch2) == (
                b"-CROSSSLOT Keys in request don't hash to the same slot\r\n")
            assert p.call("SPUBLISH", far, "x").startswith(b"-MOVED ")
            assert p.call("SPUBLISH", ch, "hello") == b":1\r\n"
            msg = b"*3\r\n$8\r\nsmessage\r\n$%d\r\n%s\r\n$5\r\nhello\r\n" % (len(ch), ch.encode())
            assert s1.read_reply() == msg
            assert s2.read_reply() == msg  # over the bus to the shard's replica
            assert p.call("PUBSUB", "SHARDNUMSUB", ch).endswith(b":1\r\n")
            # regular PUBLISH is not routed; a shard subscriber does not get it
            assert p.call("PUBLISH", ch, "plain") == b":0\r\n"
        # redis-py's cluster client routes SPUBLISH by the channel's slot
        rc = redis.cluster.RedisCluster(host="127.0.0.1", port=lab.nodes[0].port)
        with RawClient(other.port) as s:
            s.call("SSUBSCRIBE", far)
            assert rc.spublish(far, "via-redis-py") == 1
            assert s.read_reply().endswith(b"$12\r\nvia-redis-py\r\n")
        rc.close()


@pytest.mark.parametrize("kind", ["engine", "real"])
def test_cluster_slot_moving_away_unsubscribes(kind):
    with ClusterLab(kind, 3, node_timeout=1000) as lab:
        lab.create(replicas=0)
        lab.wait_converged()
        a, b = lab.masters()[:2]
        a_id = lab.myself(a)["id"]
        b_id = lab.myself(b)["id"]
        ch = _channel_for_slot_of(slot_set(lab.myself(a)["slots"]))
        slot = key_slot(ch.encode())
        with RawClient(a.port) as s:
            s.call("SSUBSCRIBE", ch)
            # hand the (empty) slot to b: a learns it lost the slot and unsubscribes
            for n in (b, a):
                assert lab.call(n, "CLUSTER", "SETSLOT", slot, "NODE", b_id) == b"+OK\r\n"
            assert s.read_reply() == (
                b"*3\r\n$12\r\nsunsubscribe\r\n$%d\r\n%s\r\n:0\r\n" % (len(ch), ch.encode()))
            assert s.call("GET", "k").startswith(b"-MOVED ")  # out of subscribed mode
        assert a_id


@pytest.mark.parametrize("kind", ["engine", "real"])
def test_cluster_failover_keeps_promoted_replicas_subscribers(kind):
    with ClusterLab(kind, 6, node_timeout=1000) as lab:
        lab.create()
        lab.wait_converged()
        master = lab.masters()[0]
        replica = lab.replicas_of(master)[0]
        ch = _channel_for_slot_of(slot_set(lab.myself(master)["slots"]))
        with RawClient(master.port) as s_old, RawClient(replica.port) as s_new:
            s_old.call("SSUBSCRIBE", ch)
            s_new.call("SSUBSCRIBE", ch)
            assert lab.call(replica, "CLUSTER", "FAILOVER") == b"+OK\r\n"
            # the old master loses the slot: its subscriber is unsubscribed
            assert s_old.read_reply() == (
                b"*3\r\n$12\r\nsunsubscribe\r\n$%d\r\n%s\r\n:0\r\n" % (len(ch), ch.encode()))
            lab.wait_converged()
            # the promoted replica kept its subscriber, which gets the new master's SPUBLISH
            assert lab.call(replica, "SPUBLISH", ch, "after") == b":1\r\n"
            assert s_new.read_reply().endswith(b"$5\r\nafter\r\n")
