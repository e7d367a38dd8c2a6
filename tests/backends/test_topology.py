"""Topologies are pure data: shapes, options, validation, YAML files, rendering."""

from __future__ import annotations

import pytest
import yaml

from redislab import topology as T
from redislab.backends import conf
from redislab.backends.compose import export
from redislab.backends.docker import render_docker_conf


def test_builtin_shapes() -> None:
    assert T.standalone(3).names == ["node1", "node2", "node3"]
    repl = T.replication()
    assert repl.names == ["master", "replica1", "replica2"]
    assert [n.port for n in repl.nodes] == [6379, 6380, 6381]
    assert repl.node("replica2").replicaof == "master"
    chain = T.chain()
    assert [(n.name, n.replicaof) for n in chain.nodes] == [("a", None), ("b", "a"), ("c", "b")]
    sent = T.sentinel()
    assert [n.name for n in sent.sentinels] == ["sentinel1", "sentinel2", "sentinel3"]
    assert sent.node("sentinel1").port == 26379
    assert sent.node("sentinel2").monitor == T.Monitor("mymaster", "master", 2)
    assert T.sentinel(sentinels=1).node("sentinel1").monitor.quorum == 1
    assert T.sentinel(quorum=3).node("sentinel3").monitor.quorum == 3
    cluster = T.cluster()
    assert cluster.ports == list(range(7000, 7006)) and cluster.is_cluster
    assert all(n.directive("cluster-enabled") == ("yes",) for n in cluster.nodes)


def test_options() -> None:
    repl = T.replication(password="123456", base_port=7379)
    master = repl.node("master")
    assert master.password == "123456" and master.port == 7379
    assert repl.node("replica1").directive("masterauth") == ("123456",)
    noauth = T.replication(password="x", masterauth="")
    assert noauth.node("replica1").directive("masterauth") == ("",)
    sent = T.sentinel(password="pw")
    assert ("sentinel", ("auth-pass", "mymaster", "pw")) in sent.node("sentinel1").config
    assert T.build("sentinel", sentinels=1, quorum=None).node("sentinel1").monitor.quorum == 1


def test_invalid() -> None:
    with pytest.raises(T.TopologyError, match="quorum"):
        T.sentinel(sentinels=3, quorum=4)
    with pytest.raises(T.TopologyError, match="unknown topology"):
        T.build("ring")
    with pytest.raises(T.TopologyError, match="both use port"):
        T.Topology("x", (T.NodeSpec("a", port=1), T.NodeSpec("b", port=1)))
    with pytest.raises(T.TopologyError, match="unknown node"):
        T.Topology("x", (T.NodeSpec("a", replicaof="zz"),))
    with pytest.raises(T.TopologyError, match="node name"):
        T.Topology("x", (T.NodeSpec("A B"),))
    with pytest.raises(T.TopologyError, match="both use port 17000"):  # a bus port
        T.Topology("x", (T.NodeSpec("a", port=7000, config=(("cluster-enabled", ("yes",)),)),
                         T.NodeSpec("b", port=17000)))


def test_start_order_and_shift() -> None:
    chain = T.Topology("c", (T.NodeSpec("c", port=3, replicaof="b"),
                             T.NodeSpec("b", port=2, replicaof="a"), T.NodeSpec("a", port=1)))
    assert [n.name for n in chain.start_order()] == ["a", "b", "c"]
    sent = T.sentinel().shifted(16000)
    assert sent.node("master").port == 16000 and sent.node("sentinel1").port == 36000


def test_round_trip() -> None:
    for topo in (T.replication(password="p"), T.sentinel(), T.cluster(), T.chain()):
        assert T.Topology.from_dict(topo.to_dict()) == topo


def test_yaml_file(tmp_path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump({
        "name": "mine",
        "password": "123456",
        "nodes": [
            {"name": "master", "port": 6379,
             "config": [["rename-command", "KEYS", ""], "appendonly yes"]},
            {"name": "slave1", "port": 6380, "replicaof": "master",
             "config": {"replica-read-only": True}},
            {"name": "s1", "kind": "sentinel", "port": 26379,
             "monitor": {"master": "master", "quorum": 1}},
        ],
    }))
    topo = T.load(path)
    assert topo.name == "mine"
    master = topo.node("master")
    assert master.directive("rename-command") == ("KEYS", "")
    assert master.directive("appendonly") == ("yes",)
    assert master.password == "123456"
    assert topo.node("slave1").directive("replica-read-only") == ("yes",)
    assert ("sentinel", ("auth-pass", "mymaster", "123456")) in topo.node("s1").config
    assert T.resolve(str(path)) == topo


def test_yaml_base_shape(tmp_path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("base: sentinel\noptions: {sentinels: 1, base_port: 7379}\n")
    topo = T.load(path)
    assert [n.port for n in topo.nodes] == [7379, 7380, 7381, 27379]


def test_yaml_errors(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - {name: a}\n")
    with pytest.raises(T.TopologyError, match="needs a name and a port"):
        T.load(bad)
    bad.write_text("nodes: [\n")
    with pytest.raises(T.TopologyError, match="not valid YAML"):
        T.load(bad)
    bad.write_text("nodes:\n  - {name: a, port: 1, colour: red}\n")
    with pytest.raises(T.TopologyError, match="unknown keys: colour"):
        T.load(bad)


def test_render_local_conf() -> None:
    topo = T.sentinel(password="a b")
    addr = {n.name: ("127.0.0.1", n.port) for n in topo.nodes}
    text = conf.render(topo.node("replica1"), topo, resolve=addr.__getitem__,
                       basics=conf.local_basics(topo.node("replica1"), directory="/d",
                                                logfile="/d/redis.log"), header="hi")
    lines = text.splitlines()
    assert lines[0] == "# hi"
    assert 'requirepass "a b"' in lines and 'save ""' in lines
    assert lines[-1] == "replicaof 127.0.0.1 6379"
    s1 = conf.render(topo.node("sentinel1"), topo, resolve=addr.__getitem__,
                     basics=conf.local_basics(topo.node("sentinel1"), directory="/d",
                                              logfile=""))
    monitor = s1.index("sentinel monitor mymaster 127.0.0.1 6379 2")
    assert monitor < s1.index("sentinel down-after-milliseconds mymaster 5000")
    assert "save" not in s1


def test_render_docker_conf() -> None:
    topo = T.sentinel()
    ips = {n.name: f"172.28.0.{10 + i}" for i, n in enumerate(topo.nodes)}
    resolve = lambda n: (ips[n], topo.node(n).port)  # noqa: E731
    text = render_docker_conf(topo.node("replica1"), topo, bridge=True, ip=ips["replica1"],
                              resolve=resolve)
    assert "bind 0.0.0.0" in text and "protected-mode no" in text
    assert "replica-announce-ip 172.28.0.11" in text and "replicaof 172.28.0.10 6379" in text
    text = render_docker_conf(topo.node("sentinel2"), topo, bridge=True, ip=ips["sentinel2"],
                              resolve=resolve)
    assert "sentinel announce-ip 172.28.0.14" in text
    assert "sentinel monitor mymaster 172.28.0.10 6379 2" in text
    node = T.cluster().node("node1")
    text = render_docker_conf(node, T.cluster(), bridge=False, ip=None,
                              resolve=lambda n: ("127.0.0.1", 0))
    assert "bind 127.0.0.1" in text and "cluster-announce-ip 127.0.0.1" in text


def test_export_compose_files(tmp_path) -> None:
    files = export(T.replication(password="123456"), tmp_path, image="redis:7.2",
                   subnet="172.19.0.0/24")
    doc = yaml.safe_load(files[0].read_text())
    master = doc["services"]["master"]
    assert master["networks"]["redislab"]["ipv4_address"] == "172.19.0.10"
    assert master["ports"] == ["127.0.0.1:6379:6379"]
    assert "./master/etc:/etc/redis" in master["volumes"]  # a directory: CONFIG REWRITE works
    assert master["command"] == ["redis-server", "/etc/redis/redis.conf"]
    assert doc["services"]["replica2"]["depends_on"] == ["master"]
    assert doc["networks"]["redislab"]["ipam"]["config"] == [{"subnet": "172.19.0.0/24"}]
    replica_conf = (tmp_path / "replica1" / "etc" / "redis.conf").read_text()
    assert "replicaof 172.19.0.10 6379" in replica_conf and "masterauth 123456" in replica_conf
    cdoc = yaml.safe_load(export(T.cluster(), tmp_path / "c", image="x")[0].read_text())
    assert cdoc["services"]["node1"]["network_mode"] == "host" and "networks" not in cdoc
    sdoc = yaml.safe_load(export(T.sentinel(), tmp_path / "s", image="x")[0].read_text())
    assert "./sentinel1/etc:/etc/redis" in sdoc["services"]["sentinel1"]["volumes"]


def test_shipped_topology_files() -> None:
    from pathlib import Path

    assets = Path(__file__).resolve().parents[2] / "assets" / "topologies"
    w = T.load(assets / "walkthrough-001.yaml")
    assert w.names == ["master", "slave-1", "slave-2"]
    assert w.node("slave-2").replicaof == "master" and w.node("slave-2").password == "123456"
    assert w.node("master").directive("rename-command") == ("KEYS", "")
    s = T.load(assets / "sentinel-one.yaml")
    assert s.node("sentinel1").monitor == T.Monitor("mymaster", "master", 1)
