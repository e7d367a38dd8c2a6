"""Cluster nodes for the cluster benches: engine or real redis-server processes started with
``cluster-enabled yes`` on free ports (bus port free too), and the polls the benches time
(cluster_state, roles, slot owners)."""

from __future__ import annotations

import subprocess
import time

from _common import FAST, Proc, call, wait_until


class ClusterNode(Proc):
    """A node with cluster mode on."""

    def __init__(self, kind: str, node_timeout: int, extra: tuple[str, ...] = ()):
        super().__init__(kind, ["--bind", "127.0.0.1", "--cluster-enabled", "yes",
                                "--cluster-node-timeout", str(node_timeout), *FAST, *extra])


class Cluster:
    def __init__(self, kind: str, n: int = 6, node_timeout: int = 2000):
        self.kind = kind
        self.nodes = [ClusterNode(kind, node_timeout) for _ in range(n)]
        self.cli_seconds = 0.0

    def start(self) -> "Cluster":
        for node in self.nodes:
            node.start(wait=False)
        for node in self.nodes:
            node.wait_up(30)
        return self

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()

    def create(self, replicas: int = 1) -> float:
        """``redis-cli --cluster create``, then wait for cluster_state:ok on every node;
        returns the seconds from the command's start."""
        addrs = [f"127.0.0.1:{n.port}" for n in self.nodes]
        t0 = time.perf_counter()
        res = subprocess.run(["redis-cli", "--cluster", "create", *addrs, "--cluster-replicas",
                              str(replicas), "--cluster-yes"], capture_output=True, text=True,
                             timeout=120)
        self.cli_seconds = time.perf_counter() - t0  # redis-cli's own run (join included)
        if res.returncode != 0 or "[OK] All 16384 slots covered." not in res.stdout:
            raise RuntimeError(f"cluster create failed:\n{res.stdout}\n{res.stderr}")
        self.wait(lambda: all(state(n.port) == "ok" for n in self.nodes), 60, "cluster_state:ok")
        return time.perf_counter() - t0

    @staticmethod
    def wait(pred, timeout: float, what: str, interval: float = 0.02) -> None:
        """``wait_until``, passing over what a node down or not ready yet raises."""
        wait_until(pred, timeout, interval, what,
                   errors=(OSError, RuntimeError, KeyError, ValueError))

    def alive(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.alive()]


def state(port: int) -> str:
    info = call(port, "CLUSTER", "INFO")
    for line in info.splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return "?"


def nodes_view(port: int) -> list[dict]:
    out = []
    for line in call(port, "CLUSTER", "NODES").splitlines():
        f = line.split()
        out.append({"id": f[0], "port": int(f[1].split(":")[1].split("@")[0]),
                    "flags": f[2].split(","), "master": f[3], "slots": f[8:]})
    return out


def myself(port: int) -> dict:
    return next(d for d in nodes_view(port) if "myself" in d["flags"])


def slots_of(specs: list[str]) -> set[int]:
    out: set[int] = set()
    for s in specs:
        if s.startswith("["):
            continue
        a, _, b = s.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def replicas_linked(cluster: Cluster) -> bool:
    for n in cluster.alive():
        info = call(n.port, "INFO", "replication")
        if "role:slave" in info and "master_link_status:up" not in info:
            return False
    return True


def converged(cluster: Cluster) -> bool:
    """All live nodes: state ok, the same owner for every slot, owners alive."""
    live = {myself(n.port)["id"] for n in cluster.alive()}
    maps = []
    for n in cluster.alive():
        if state(n.port) != "ok":
            return False
        owners: dict[int, str] = {}
        for d in nodes_view(n.port):
            if "master" in d["flags"] and d["slots"]:
                if d["id"] not in live:
                    return False
                for s in slots_of(d["slots"]):
                    if s in owners:
                        raise AssertionError(f"slot {s} claimed twice in {n.port}'s view")
                    owners[s] = d["id"]
        if len(owners) != 16384:
            return False
        maps.append(owners)
    return all(m == maps[0] for m in maps) and replicas_linked(cluster)
