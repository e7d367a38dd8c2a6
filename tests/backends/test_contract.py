"""The backend contract: the same tests on engine, process and docker.

Everything is checked through the doors a learner has: RESP on each node's address
(redis-py), the node's log, and the backend's own actions. Nothing here imports engine
internals.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import redis

from labtools import BACKENDS, free_topology, lab_leftovers, prepare, up, wait_for

from redislab import topology as T
from redislab.backends import (BackendUnsupported, BaseBackend, NodeStartError, PortInUse,
                               find_lab, get_backend)
from redislab.backends.base import _no_retry, collect_lines, port_free


def get(lab: BaseBackend, node: str, key: str) -> bytes | None:
    return lab.exec(node, "GET", key, timeout=2.0)


def link_up(lab: BaseBackend, node: str) -> bool:
    return lab.info(node).get("master_link_status") == "up"


# --------------------------------------------------------------------------- replication
# One replication lab per backend for the tests below (they leave it as they found it).


@pytest.fixture(scope="module", params=BACKENDS)
def repl(request: pytest.FixtureRequest):
    name = prepare(request, request.param)
    lab = up(name, T.replication())
    yield lab
    lab.down()


def test_replication_roles(repl: BaseBackend) -> None:
    assert repl.info("master")["role"] == "master"
    for replica in ("replica1", "replica2"):
        info = repl.info(replica)
        assert info["role"] == "slave"
        host, port = repl.internal_address("master")
        assert (info["master_host"], int(info["master_port"])) == (host, port)
    wait_for(lambda: repl.info("master").get("connected_slaves") == "2", what="2 replicas")


def test_replicate_a_key(repl: BaseBackend) -> None:
    assert repl.exec("master", "SET", "walk", "250") == b"OK"
    for replica in ("replica1", "replica2"):
        wait_for(lambda: get(repl, replica, "walk") == b"250", what=f"walk on {replica}")


def test_replica_is_read_only(repl: BaseBackend) -> None:
    with pytest.raises(redis.ResponseError, match="READONLY"):
        repl.exec("replica1", "SET", "b", "200")


def test_kill_and_start_a_replica(repl: BaseBackend) -> None:
    repl.kill("replica2")
    assert not repl.is_running("replica2")
    assert not repl.ping("replica2", timeout=0.5)
    repl.exec("master", "SET", "while-down", "1")
    repl.start("replica2")
    assert repl.is_running("replica2")
    wait_for(lambda: get(repl, "replica2", "while-down") == b"1", timeout=20,
             what="resync after kill -9")


def test_stop_and_start_the_master(repl: BaseBackend) -> None:
    repl.stop("master")
    assert not repl.is_running("master")
    wait_for(lambda: repl.info("replica1").get("master_link_status") == "down",
             what="replica1 noticing the master is gone")
    repl.start("master")
    assert repl.ping("master")
    for replica in ("replica1", "replica2"):
        wait_for(lambda: link_up(repl, replica), timeout=25, what=f"{replica} link up")
    repl.exec("master", "SET", "after-restart", "x")
    wait_for(lambda: get(repl, "replica1", "after-restart") == b"x", what="replication")


def test_restart_a_replica(repl: BaseBackend) -> None:
    before = repl.log_text("replica1").count("Redis is starting")
    repl.restart("replica1")
    assert repl.ping("replica1")
    assert repl.log_text("replica1").count("Redis is starting") == before + 1
    wait_for(lambda: link_up(repl, "replica1"), timeout=25, what="link up after restart")


def test_pause_and_resume(repl: BaseBackend) -> None:
    repl.pause("replica1")
    try:
        assert repl.is_running("replica1")
        assert repl.is_paused("replica1")
        assert not repl.ping("replica1", timeout=0.5)
    finally:
        repl.resume("replica1")
    assert not repl.is_paused("replica1")
    assert repl.ping("replica1", timeout=2.0)


def test_read_logs(repl: BaseBackend) -> None:
    lines = collect_lines(repl.logs("master", follow=False))
    assert any("Ready to accept connections" in ln for ln in lines), lines[-10:]
    assert any("Redis is starting" in ln for ln in lines)


def test_follow_logs(repl: BaseBackend) -> None:
    """Follow a node's log from the start; a restart's lines arrive as they are written."""
    before = repl.log_text("replica2").count("Redis is starting")

    async def follow() -> list[str]:
        seen: list[str] = []
        starts = 0
        restarter: threading.Thread | None = None
        agen = repl.logs("replica2", follow=True)
        try:
            async with asyncio.timeout(40):
                async for line in agen:
                    seen.append(line)
                    if "Redis is starting" in line:
                        starts += 1
                    if "Ready to accept connections" in line:
                        if starts == before and restarter is None:  # caught up: restart
                            restarter = threading.Thread(target=repl.restart,
                                                         args=("replica2",))
                            restarter.start()
                        elif starts > before:
                            break
        finally:
            await agen.aclose()
            if restarter is not None:
                restarter.join()
        return seen

    seen = asyncio.run(follow())
    assert sum("Redis is starting" in ln for ln in seen) == before + 1
    wait_for(lambda: link_up(repl, "replica2"), timeout=25, what="link up after restart")


def test_partition_and_heal(repl: BaseBackend) -> None:
    if repl.name == "process":
        with pytest.raises(BackendUnsupported, match="docker") as exc:
            repl.partition("replica1")
        assert "--backend engine" in str(exc.value)
        with pytest.raises(BackendUnsupported):
            repl.heal("replica1")
        assert repl.equivalent("partition", "replica1").startswith("# not possible")
        return
    if repl.name == "engine":
        port = repl.spec("replica1").port
        assert repl.equivalent("partition", "replica1").startswith(
            f"redis-cli -p {port} DEBUG PARTITION ON")
        assert repl.equivalent("heal", "replica1").startswith(
            f"redis-cli -p {port} DEBUG PARTITION OFF")
    wait_for(lambda: link_up(repl, "replica1"), what="replica1 linked before the partition")
    repl.partition("replica1")
    try:
        assert repl.is_running("replica1")
        assert repl.record.nodes["replica1"]["partitioned"] is True
        if repl.name == "docker":
            assert not repl.ping("replica1", timeout=0.5)  # cut off from the host too
        else:  # the engine node drops its links to the other nodes, not the host's
            assert repl.ping("replica1", timeout=2.0)
            wait_for(lambda: not link_up(repl, "replica1"), what="replica1's link down")
        repl.exec("master", "SET", "during-partition", "p")
        host, port = repl.internal_address("replica1")
        # the replicas of an engine lab share an ip: tell them apart by port
        tag = f"ip={host}," if repl.name == "docker" else f"ip={host},port={port},"

        def lagging() -> bool:  # no REPLCONF ACK from it any more (1 a second normally)
            for key, value in repl.info("master").items():
                if key.startswith("slave") and tag in value:
                    return int(value.rsplit("lag=", 1)[1]) >= 3
            return True  # already dropped

        wait_for(lagging, timeout=20, what="the master's link to replica1 going silent")
        if repl.name == "engine":
            assert get(repl, "replica1", "during-partition") is None
            assert "Partitioned: links to other nodes dropped" in repl.log_text("replica1")
    finally:
        repl.heal("replica1")
    assert repl.record.nodes["replica1"]["partitioned"] is False
    wait_for(lambda: repl.ping("replica1"), what="replica1 reachable after heal")
    wait_for(lambda: get(repl, "replica1", "during-partition") == b"p", timeout=30,
             what="catching up after heal")
    wait_for(lambda: link_up(repl, "replica1"), what="replica1 linked after heal")


def test_equivalent_commands(repl: BaseBackend) -> None:
    port = repl.spec("replica1").port
    for action in ("start", "stop", "kill", "restart", "pause", "resume", "logs", "up",
                   "down", "partition", "heal"):
        assert repl.equivalent(action, "replica1").strip()
    cmd = repl.equivalent("exec", "replica1", "REPLICAOF", "127.0.0.1", "6379")
    assert cmd.endswith(f"-p {port} REPLICAOF 127.0.0.1 6379")
    if repl.name == "docker":
        name = f"redislab-{repl.lab_id}-replica1"
        assert repl.equivalent("stop", "replica1") == f"docker stop {name}"
        assert repl.equivalent("kill", "replica1") == f"docker kill {name}"
        assert repl.equivalent("pause", "replica1") == f"docker pause {name}"
        assert repl.equivalent("up", "replica1").startswith(f"docker run -d --name {name}")
        assert "--ip 1" in repl.equivalent("heal", "replica1")
        assert repl.equivalent("up").startswith("docker network create --subnet")
        assert cmd.startswith(f"docker exec -it {name} redis-cli")
    else:
        assert repl.equivalent("stop", "replica1") == f"redis-cli -p {port} SHUTDOWN"
        assert repl.equivalent("kill", "replica1").startswith("kill -9 ")
        assert repl.equivalent("pause", "replica1").startswith("kill -STOP ")
        assert cmd.startswith(f"redis-cli -p {port}")
        prog = "redislab server" if repl.name == "engine" else "redis-server"
        assert prog in repl.equivalent("start", "replica1")


def test_found_from_another_shell(repl: BaseBackend) -> None:
    other = find_lab(repl.lab_id)
    assert other is not repl and other.name == repl.name
    assert other.address("master") == repl.address("master")
    assert other.exec("master", "PING") == b"PONG"
    assert other.is_running("replica1")


# --------------------------------------------------------------------------- other shapes


def test_standalone(make_lab, backend_name: str) -> None:
    lab = make_lab(T.standalone(2))
    lab.exec("node1", "SET", "k", "1")
    assert lab.exec("node1", "GET", "k") == b"1"
    assert lab.exec("node2", "GET", "k") is None
    ports = [lab.spec(n).port for n in ("node1", "node2")]
    lab_id = lab.lab_id
    lab.down()
    assert lab_leftovers(lab_id) == []
    assert all(port_free(p) for p in ports)


def test_chain(make_lab) -> None:
    lab = make_lab(T.chain())
    wait_for(lambda: lab.info("b").get("connected_slaves") == "1", what="c attached to b")
    assert lab.info("b")["role"] == "slave"
    lab.exec("a", "SET", "fire", "passed")
    wait_for(lambda: get(lab, "c", "fire") == b"passed", timeout=20, what="a -> b -> c")


def test_password(make_lab) -> None:
    lab = make_lab(T.replication(password="123456"))
    host, port = lab.address("master")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=host, port=port, protocol=2, socket_timeout=2,
                    retry=_no_retry()).get("a")
    lab.exec("master", "SET", "a", "250")
    wait_for(lambda: get(lab, "replica2", "a") == b"250", timeout=20,
             what="replication with masterauth")


def test_sentinel(make_lab, backend_name: str) -> None:
    lab = make_lab(T.sentinel(sentinels=3))
    for node in lab.topology.names:
        assert lab.ping(node)
    host, port = lab.internal_address("master")
    addr = lab.exec("sentinel1", "SENTINEL", "get-master-addr-by-name", "mymaster")
    assert addr == [host.encode(), str(port).encode()]

    def watching() -> bool:
        info = lab.info("sentinel1", "sentinel").get("master0", "")
        return "status=ok" in info and "slaves=2" in info and "sentinels=3" in info

    wait_for(watching, timeout=30, what="sentinel1 seeing 2 replicas and 3 sentinels")


def test_single_sentinel(make_lab, backend_name: str) -> None:
    lab = make_lab(T.sentinel(sentinels=1))
    assert [n.name for n in lab.topology.sentinels] == ["sentinel1"]
    assert lab.ping("sentinel1")
    assert lab.exec("sentinel1", "SENTINEL", "ckquorum", "mymaster").startswith(b"OK")


def test_cluster_nodes(make_lab, backend_name: str) -> None:
    lab = make_lab(T.cluster())
    for node in lab.topology.names:
        assert lab.exec(node, "PING") == b"PONG"
    assert lab.info("node1", "cluster")["cluster_enabled"] == "1"


@pytest.mark.parametrize("name", ["engine", "process", "docker"])
def test_cluster_moved_points_at_the_host(request: pytest.FixtureRequest, name: str) -> None:
    """Formed by hand (3 masters), a MOVED reply names an address the host can reach."""
    prepare(request, name)
    lab = up(name, T.cluster(nodes=3))
    try:
        for node in ("node2", "node3"):
            lab.exec(node, "CLUSTER", "MEET", *map(str, lab.internal_address("node1")))
        ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
        for node, (lo, hi) in zip(("node1", "node2", "node3"), ranges):
            lab.exec(node, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
        for node in ("node1", "node2", "node3"):
            wait_for(lambda: b"cluster_state:ok" in lab.exec(node, "CLUSTER", "INFO"),
                     timeout=30, what=f"cluster_state:ok on {node}")
        # "hello" hashes to slot 866 (node1); ask node3
        with pytest.raises(redis.ResponseError, match="MOVED 866") as err:
            lab.exec("node3", "SET", "hello", "1")
        host_port = str(err.value).split()[-1]
        host, port = host_port.rsplit(":", 1)
        assert (host, int(port)) == lab.address("node1")
        assert redis.Redis(host=host, port=int(port), protocol=2).set("hello", "1")
    finally:
        lab.down()


# --------------------------------------------------------------------------- failures


def test_failed_start_leaves_nothing(backend_name: str) -> None:
    bad = T.Topology("bad", (T.NodeSpec("node1", "server", 6379,
                                        (("no-such-directive", ("1",)),)),))
    lab = get_backend(backend_name, "tbad" + backend_name[:3])
    with pytest.raises(NodeStartError, match="no-such-directive"):
        lab.up(free_topology(bad))
    assert lab_leftovers(lab.lab_id) == []


def test_port_in_use(backend_name: str) -> None:
    import socket

    with socket.socket() as s:
        for _ in range(20):  # a parallel worker may take the free port before we bind it
            topo = free_topology(T.standalone(1))
            try:
                s.bind(("127.0.0.1", topo.ports[0]))
                break
            except OSError:
                continue
        s.listen()
        lab = get_backend(backend_name, "tport" + backend_name[:3])
        with pytest.raises(PortInUse, match=str(topo.ports[0])):
            lab.up(topo)
    assert lab_leftovers(lab.lab_id) == []
