"""A cluster of real processes for the cluster tests: engine nodes or real redis-servers
started with ``cluster-enabled yes``, plus the checks the tests keep repeating (CLUSTER NODES
parsed, convergence, failover waits). Everything goes through TCP and RESP, or redis-cli.
"""

from __future__ import annotations

import binascii
import re
import subprocess
import time
from typing import Iterable

from nodes import Node, RawClient, require_binary, wait_until

NODE_LINE = re.compile(
    r"^(?P<id>[0-9a-f]{40}) (?P<ip>[0-9.]*):(?P<port>\d+)@(?P<cport>\d+) "
    r"(?P<flags>[a-z?,]+) (?P<master>[0-9a-f]{40}|-) (?P<ping>\d+) (?P<pong>\d+) "
    r"(?P<epoch>\d+) (?P<link>connected|disconnected)(?P<slots>( \S+)*)$")


def key_slot(key: bytes) -> int:
    """The hash slot of ``key``: CRC16 (XMODEM) of the key or of its ``{hash tag}``, mod
    16384 (written here from the cluster spec, not taken from the engine)."""
    s = key.find(b"{")
    if s != -1:
        e = key.find(b"}", s + 1)
        if e != -1 and e != s + 1:
            key = key[s + 1:e]
    return binascii.crc_hqx(key, 0) & 0x3FFF


def parse_nodes(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        m = NODE_LINE.match(line)
        assert m, f"bad CLUSTER NODES line: {line!r}"
        d = m.groupdict()
        d["flags"] = d["flags"].split(",")
        d["slots"] = d["slots"].split()
        d["port"] = int(d["port"])
        d["epoch"] = int(d["epoch"])
        out.append(d)
    return out


def slot_set(specs: Iterable[str]) -> set[int]:
    out: set[int] = set()
    for s in specs:
        if s.startswith("["):
            continue
        if "-" in s:
            a, b = s.split("-")
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(s))
    return out


def bulk_text(reply: bytes) -> str:
    """The text of a bulk/verbatim reply from RawClient."""
    assert reply[:1] in (b"$", b"="), reply
    body = reply.split(b"\r\n", 1)[1][:-2]
    if reply[:1] == b"=":
        body = body[4:]
    return body.decode()


WRITABLE_DELAY = 2.0  # CLUSTER_WRITABLE_DELAY: a new master holds its state this long


def settle_writable_delay(started: float) -> None:
    """Wait until nodes that answered PING by ``started`` are past Redis' 2 s writable delay, during
    which a fresh master does not update its cluster state (cluster_size stays 1, as
    clusterInit set it). Before that, what CLUSTER INFO shows depends on timing alone,
    on real Redis and on the engine alike."""
    left = started + WRITABLE_DELAY + 0.3 - time.time()
    if left > 0:
        time.sleep(left)


def wait_for(pred, timeout: float = 30.0, what: str = "condition", interval: float = 0.05):
    """``wait_until`` that passes over what a node not up, or a cluster not converged yet,
    raises (a refused connection, a failed check, a node missing from a view)."""
    return wait_until(pred, timeout, interval, what,
                      errors=(OSError, AssertionError, KeyError, StopIteration, ValueError))


class ClusterLab:
    """``n`` nodes of one kind with cluster mode on."""

    def __init__(self, kind: str = "engine", n: int = 6, node_timeout: int = 1000,
                 extra: Iterable[str] = ()):
        self.kind = kind
        self.node_timeout = node_timeout
        args = ["--cluster-enabled", "yes", "--cluster-node-timeout", str(node_timeout),
                "--bind", "127.0.0.1", "--repl-diskless-sync-delay", "0", *extra]
        self.nodes = [Node(kind, args=args) for _ in range(n)]

    # ------------------------------------------------------------------ processes

    def start(self) -> "ClusterLab":
        for node in self.nodes:
            node.start(wait=False)
        try:
            for node in self.nodes:
                node.wait_up(timeout=20)
        except BaseException:  # one node did not come up: leave no process behind
            self.stop()
            raise
        settle_writable_delay(time.time())  # every node is up (and its cluster cron runs)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()

    def __enter__(self) -> "ClusterLab":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        import shutil

        self.stop()
        for node in self.nodes:
            shutil.rmtree(node.dir, ignore_errors=True)

    def alive(self) -> list[Node]:
        return [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]

    # ------------------------------------------------------------------ talking

    def call(self, node: Node, *args: str | int | bytes) -> bytes:
        with RawClient(node.port, timeout=20) as c:
            return c.call(*args)

    def text(self, node: Node, *args: str | int) -> str:
        return bulk_text(self.call(node, *args))

    def info(self, node: Node) -> dict[str, str]:
        out = {}
        for line in self.text(node, "CLUSTER", "INFO").splitlines():
            k, _, v = line.partition(":")
            out[k] = v
        return out

    def view(self, node: Node) -> list[dict]:
        return parse_nodes(self.text(node, "CLUSTER", "NODES"))

    def myself(self, node: Node) -> dict:
        return next(d for d in self.view(node) if "myself" in d["flags"])

    def ids(self) -> dict[int, str]:
        return {n.port: bulk_text(self.call(n, "CLUSTER", "MYID")) for n in self.alive()}

    def masters(self) -> list[Node]:
        return [n for n in self.alive() if "master" in self.myself(n)["flags"]
                and self.myself(n)["slots"]]

    def replicas_of(self, master: Node) -> list[Node]:
        mid = bulk_text(self.call(master, "CLUSTER", "MYID"))
        return [n for n in self.alive() if self.myself(n)["master"] == mid]

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [require_binary("redis-cli"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def create(self, replicas: int = 1) -> subprocess.CompletedProcess:
        addrs = [f"127.0.0.1:{n.port}" for n in self.nodes]
        res = self.cli("--cluster", "create", *addrs, "--cluster-replicas", str(replicas),
                       "--cluster-yes")
        assert res.returncode == 0, res.stdout + res.stderr
        assert "[OK] All 16384 slots covered." in res.stdout, res.stdout
        return res

    # ------------------------------------------------------------------ waiting

    wait = staticmethod(wait_for)

    def converged(self, nodes: list[Node] | None = None) -> bool:
        """Every live node: cluster_state:ok, all slots covered by one master each, the same
        slot map as the others, no fail flags on live nodes, replicas linked."""
        nodes = nodes or self.alive()
        live_ids = set(self.ids().values())
        maps = []
        roles = []
        for n in nodes:
            if self.info(n)["cluster_state"] != "ok":
                return False
            view = self.view(n)
            roles.append({d["id"]: ("master" in d["flags"], d["master"]) for d in view
                          if d["id"] in live_ids})
            owners: dict[int, str] = {}
            for d in view:
                if d["id"] in live_ids and ("fail" in d["flags"] or "fail?" in d["flags"]):
                    return False
                if "master" in d["flags"] and d["slots"]:
                    if d["id"] not in live_ids:
                        return False  # slots still on a dead master
                    for s in slot_set(d["slots"]):
                        assert s not in owners, f"slot {s} claimed twice in {n.port}'s view"
                        owners[s] = d["id"]
            if len(owners) != 16384:
                return False
            maps.append(owners)
        return all(m == maps[0] for m in maps) and all(r == roles[0] for r in roles)

    def no_double_claims(self) -> None:
        for n in self.alive():
            owners: dict[int, str] = {}
            for d in self.view(n):
                if "master" not in d["flags"]:
                    continue
                for s in slot_set(d["slots"]):
                    assert s not in owners, f"slot {s} claimed by {owners[s]} and {d['id']}"
                    owners[s] = d["id"]

    def replicas_synced(self) -> bool:
        for n in self.alive():
            info = self.call(n, "INFO", "replication").decode()
            if "role:slave" in info and "master_link_status:up" not in info:
                return False
        return True

    def wait_converged(self, timeout: float = 40.0) -> None:
        self.wait(lambda: self.converged() and self.replicas_synced(), timeout,
                  "cluster convergence")
