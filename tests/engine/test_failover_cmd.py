"""The FAILOVER command (Redis 6.2+ / 7.0 ``failoverCommand``) on real processes.

The master pauses writes, waits for the target (or any) replica to acknowledge its
offset, then becomes a replica of it, sending ``PSYNC <replid> <offset> FAILOVER`` so the
target promotes itself; the demoted master continues with a partial resync. Other
replicas are not re-pointed: the demoted master drops them when the replication ID
changes and they come back to it, now chained below it.
"""

from __future__ import annotations

import threading

import pytest
import redis

from nodes import RawClient, contents, free_port, wait_until

FAST = ("--repl-diskless-sync-delay", "0")


def info(node, section: str = "replication") -> dict:
    with node.client() as r:
        return {k: str(v) for k, v in r.info(section).items()}


def role(node) -> list:
    with node.client() as r:
        return r.execute_command("ROLE")


def online(master, n: int) -> None:
    with master.client() as r:
        wait_until(lambda: len(r.execute_command("ROLE")[2]) >= n)


def caught_up(master, *replicas) -> None:
    def ok() -> bool:
        off = int(info(master)["master_repl_offset"])
        return all(int(info(r).get("slave_repl_offset", -1)) == off for r in replicas)
    wait_until(ok)


def linked(replica, master) -> bool:
    i = info(replica)
    return (i["role"] == "slave" and i["master_port"] == str(master.port)
            and i["master_link_status"] == "up")


# ----------------------------------------------------------------------------- errors

ERROR_CASES = [
    ["FAILOVER", "ABORT"], ["FAILOVER", "foo"], ["FAILOVER", "TIMEOUT", "0"],
    ["FAILOVER", "TIMEOUT", "x"], ["FAILOVER", "TIMEOUT", "-1"], ["FAILOVER", "TO", "h"],
    ["FAILOVER", "TO", "h", "x"], ["FAILOVER", "TIMEOUT", "10", "TIMEOUT", "10"],
    ["FAILOVER", "ABORT", "x"], ["FAILOVER", "FORCE", "FORCE"], ["FAILOVER", "abort",
                                                                 "TIMEOUT", "5"],
    ["FAILOVER", "TO", "127.0.0.1", "1", "TO", "127.0.0.1", "1"],
]


def test_error_texts_match_real(node_factory):
    """No replicas, as a replica, with a replica: each error reply byte for byte."""
    nodes = {}
    for kind in ("real", "engine"):
        m = node_factory(kind, *FAST)
        nodes[kind] = (m, node_factory(kind, "--replicaof", "127.0.0.1", str(m.port)))
    replies: dict[str, list[bytes]] = {}
    for kind, (m, r) in nodes.items():
        out = replies[kind] = []
        with RawClient(r.port) as c:
            for case in ERROR_CASES + [["FAILOVER"], ["FAILOVER", "FORCE"],
                                       ["FAILOVER", "TO", "127.0.0.1", "1", "FORCE"]]:
                out.append(c.call(*case))
        with RawClient(node_factory(kind).port) as c:  # a master with no replicas
            out.append(c.call("FAILOVER"))
            out.append(c.call("FAILOVER", "TO", "127.0.0.1", "1"))
            out.append(c.call("FAILOVER", "ABORT"))
        online(m, 1)
        rport = str(r.port)
        with RawClient(m.port) as c:
            for case in ERROR_CASES + [
                    ["FAILOVER", "TO", "127.0.0.1", "1"],
                    ["FAILOVER", "TO", "127.0.0.1", rport, "FORCE"],
                    ["FAILOVER", "FORCE", "TIMEOUT", "5"],
                    ["FAILOVER", "TIMEOUT", "10", "TO", "127.0.0.1", rport, "FORCE", "ABORT"],
                    ["COMMAND", "INFO", "FAILOVER"]]:
                out.append(c.call(*case))
    assert replies["engine"] == replies["real"]
    assert b"-ERR FAILOVER requires connected replicas.\r\n" in replies["real"]


class FakeReplica:
    """A replica that takes its full sync and then never acknowledges anything: a
    FAILOVER to it stays in ``waiting-for-sync`` until ABORT or TIMEOUT."""

    def __init__(self, master, listening_port: int):
        self.raw = RawClient(master.port)
        assert self.raw.call("REPLCONF", "listening-port", listening_port) == b"+OK\r\n"
        self.raw.send_raw(b"PSYNC ? -1\r\n")  # no capa eof: an RDB from disk

    def close(self) -> None:
        self.raw.close()


def failover_state(node) -> str:
    return info(node)["master_failover_state"]


def test_failover_to_one_of_two_engine_replicas(node_factory):
    m = node_factory("engine", *FAST)
    a = node_factory("engine", *FAST, "--replicaof", "127.0.0.1", str(m.port))
    b = node_factory("engine", *FAST, "--replicaof", "127.0.0.1", str(m.port))
    online(m, 2)
    with m.client() as c:
        for i in range(200):
            c.set(f"k{i}", i)
        c.rpush("list", *range(50))
        assert c.wait(2, 0) == 2  # acknowledged by both replicas
    old_replid = info(m)["master_replid"]
    full_before = int(info(m, "stats")["sync_full"])
    with m.client() as c:
        assert c.execute_command("FAILOVER", "TO", "127.0.0.1", a.port) in (b"OK", "OK", True)
    # A is the master now, M its replica (partial resync), B chained below M
    wait_until(lambda: role(a)[0] == b"master")
    wait_until(lambda: linked(m, a))
    wait_until(lambda: linked(b, m))
    assert failover_state(m) == "no-failover"
    ia, im = info(a), info(m)
    assert ia["master_replid2"] == old_replid
    assert im["master_replid"] == ia["master_replid"]
    assert int(info(a, "stats")["sync_full"]) == 0
    assert int(info(a, "stats")["sync_partial_ok"]) == 1
    assert int(info(m, "stats")["sync_full"]) == full_before  # B came back partially
    assert int(info(m, "stats")["sync_partial_ok"]) >= 1
    mlog, alog = m.log_text(), a.log_text()
    assert f"FAILOVER requested to 127.0.0.1:{a.port}." in mlog
    assert f"Failover target 127.0.0.1:{a.port} is synced, failing over." in mlog
    assert "Successful partial resynchronization with master." in mlog
    assert f"Failover request received for replid {old_replid}." in alog
    assert "MASTER MODE enabled (failover request from" in alog
    # the old master refuses writes; the new one streams them down the chain
    with m.client() as c:
        with pytest.raises(redis.exceptions.ReadOnlyError):
            c.set("x", 1)
    with a.client() as c:
        c.set("after", "failover")
        assert c.wait(1, 0) == 1
    caught_up(a, m)
    wait_until(lambda: contents(b) == contents(a))
    assert contents(m) == contents(a)
    assert contents(a)[(0, b"k199")][1] == b"199"


def test_pause_abort_and_timeout(node_factory):
    m = node_factory("engine", *FAST)
    fake = FakeReplica(m, 1)
    try:
        online(m, 1)
        with m.client() as c:
            c.set("before", "1")
            assert c.execute_command("FAILOVER", "TO", "127.0.0.1", 1)
            assert failover_state(m) == "waiting-for-sync"
            with pytest.raises(redis.exceptions.ResponseError,
                               match="FAILOVER already in progress."):
                c.execute_command("FAILOVER")
            with pytest.raises(redis.exceptions.ResponseError,
                               match="REPLICAOF not allowed while failing over."):
                c.execute_command("REPLICAOF", "127.0.0.1", 1)
            assert c.get("before") == b"1"  # reads are served during the pause
        # a write waits (the client is blocked), it is not refused
        done: list = []
        t = threading.Thread(target=lambda: done.append(m.client().set("during", "2")))
        t.start()
        wait_until(lambda: int(info(m, "clients")["blocked_clients"]) == 1)
        assert not done
        with m.client() as c:
            assert c.execute_command("FAILOVER", "ABORT")
            t.join(10)
            assert done == [True]
            assert c.get("during") == b"2"
            assert failover_state(m) == "no-failover"
            with pytest.raises(redis.exceptions.ResponseError, match="No failover in progress."):
                c.execute_command("FAILOVER", "ABORT")
            assert "FAILOVER to 127.0.0.1:1 aborted: Failover manually aborted" in m.log_text()
            # TIMEOUT without FORCE: the failover gives up, writes go on
            assert c.execute_command("FAILOVER", "TO", "127.0.0.1", 1, "TIMEOUT", 50)
            wait_until(lambda: failover_state(m) == "no-failover")
            c.set("after", "3")
        assert ("FAILOVER to 127.0.0.1:1 aborted: Replica never caught up before timeout"
                in m.log_text())
        assert role(m)[0] == b"master"
    finally:
        fake.close()


@pytest.mark.parametrize("kind", ["engine", "real"])
def test_timeout_force_fails_over_anyway(node_factory, kind):
    """The target address first belongs to a replica that never acknowledges; FORCE fails
    over to that address when the TIMEOUT expires, where the real replica answers."""
    m = node_factory(kind, *FAST)
    a_port = free_port()
    fake = FakeReplica(m, a_port)
    try:
        online(m, 1)
        a = node_factory("engine", *FAST, "--replicaof", "127.0.0.1", str(m.port),
                         port=a_port)
        online(m, 2)
        with m.client() as c:
            c.set("k", "v")
            assert c.wait(1, 0) == 1
            caught_up(m, a)
            assert c.execute_command("FAILOVER", "TO", "127.0.0.1", a_port,
                                     "TIMEOUT", 100, "FORCE")
        wait_until(lambda: linked(m, a))
        assert role(a)[0] == b"master"
        assert failover_state(m) == "no-failover"
        assert (f"FAILOVER to 127.0.0.1:{a_port} time out exceeded, failing over."
                in m.log_text())
        assert contents(a) == contents(m)
        assert int(info(a, "stats")["sync_partial_ok"]) == 1
    finally:
        fake.close()


@pytest.mark.parametrize("master_kind,target_kind", [("real", "engine"), ("engine", "real")])
def test_mixed_real_and_engine(node_factory, master_kind, target_kind):
    m = node_factory(master_kind, *FAST)
    a = node_factory(target_kind, *FAST, "--replicaof", "127.0.0.1", str(m.port))
    b = node_factory(master_kind, *FAST, "--replicaof", "127.0.0.1", str(m.port))
    online(m, 2)
    with m.client() as c:
        for i in range(100):
            c.hset("h", f"f{i}", i)
            c.incr("counter")
        assert c.wait(2, 0) == 2
        assert c.execute_command("FAILOVER", "TO", "127.0.0.1", a.port, "TIMEOUT", 60000)
    wait_until(lambda: linked(m, a))
    wait_until(lambda: linked(b, m))
    assert role(a)[0] == b"master"
    assert failover_state(m) == "no-failover"
    assert int(info(a, "stats")["sync_full"]) == 0
    assert int(info(a, "stats")["sync_partial_ok"]) == 1
    with a.client() as c:
        c.incr("counter")
        assert c.wait(1, 0) == 1
    caught_up(a, m)
    wait_until(lambda: contents(b) == contents(a))
    assert contents(m) == contents(a)
    with a.client() as c:
        assert c.get("counter") == b"101"


def test_cluster_mode_error_matches_real(node_factory):
    replies = {}
    for kind in ("real", "engine"):
        with RawClient(node_factory(kind, "--cluster-enabled", "yes").port) as c:
            replies[kind] = [c.call("FAILOVER"), c.call("FAILOVER", "ABORT")]
    assert replies["engine"] == replies["real"]
