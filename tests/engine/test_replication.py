"""Replication on real processes: engine nodes, real redis-server 7.0 nodes, and both mixed.

Every scenario ends by comparing each replica's data with its master's (a digest over all
keys of every database: sorted keys with their type and value, read with redis-py) and by
reading ``sync_full`` / ``sync_partial_ok`` from the master's INFO to check which path the
resynchronization took.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest
import redis

from nodes import Node, RawClient, contents, free_port, wait_until

FAST = ("--repl-diskless-sync-delay", "0")

MASTER_FIELDS = [
    "role", "connected_slaves", "slave0", "master_failover_state", "master_replid",
    "master_replid2", "master_repl_offset", "second_repl_offset", "repl_backlog_active",
    "repl_backlog_size", "repl_backlog_first_byte_offset", "repl_backlog_histlen",
]
REPLICA_FIELDS = [
    "role", "master_host", "master_port", "master_link_status", "master_last_io_seconds_ago",
    "master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset",
    "slave_priority", "slave_read_only", "replica_announced", "connected_slaves",
    "master_failover_state", "master_replid", "master_replid2", "master_repl_offset",
    "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
    "repl_backlog_first_byte_offset", "repl_backlog_histlen",
]


# ----------------------------------------------------------------------------- helpers


def info_fields(node: Node, section: str = "replication",
                password: str | None = None) -> list[tuple[str, str]]:
    """INFO <section> as (field, value) pairs in the order the server printed them."""
    with RawClient(node.port) as c:
        if password:
            c.call("AUTH", password)
        raw = c.call("INFO", section)
    assert raw.startswith(b"$"), raw
    body = raw.split(b"\r\n", 1)[1].decode()
    out = []
    for line in body.split("\r\n"):
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition(":")
        out.append((k, v))
    return out


def info(node: Node, section: str = "replication", password: str | None = None) -> dict:
    return dict(info_fields(node, section, password))


def stats(node: Node, password: str | None = None) -> tuple[int, int, int]:
    s = info(node, "stats", password)
    return int(s["sync_full"]), int(s["sync_partial_ok"]), int(s["sync_partial_err"])


def digest(node: Node, password: str | None = None) -> dict:
    """Every key of every database with its type and value (not its TTL)."""
    return {k: (t, v) for k, (t, v, _) in contents(node, password=password).items()}


def in_sync(master: Node, replica: Node, password: str | None = None) -> bool:
    """The replica applied everything the master sent, and holds the same data."""
    m = info(master, password=password)
    r = info(replica, password=password)
    if r.get("master_link_status") != "up":
        return False
    if r["master_repl_offset"] != m["master_repl_offset"]:
        return False
    return digest(master, password) == digest(replica, password)


def wait_in_sync(master: Node, *replicas: Node, password: str | None = None,
                 timeout: float = 30.0) -> None:
    for r in replicas:
        try:
            wait_until(lambda: in_sync(master, r, password), timeout,
                       what=f"replica {r.port} in sync with {master.port}")
        except AssertionError as exc:
            details = [str(exc)]
            for n in (master, r):
                try:
                    details.append(f"INFO {n.kind}:{n.port}: {info(n, password=password)}")
                except Exception as info_exc:  # noqa: BLE001 - diagnostics only
                    details.append(f"INFO {n.port}: {info_exc!r}")
                details.append(f"log {n.port}:\n" + "\n".join(n.log_text().splitlines()[-25:]))
            raise AssertionError("\n".join(details)) from None


def online_replicas(master: Node, password: str | None = None) -> int:
    m = info(master, password=password)
    return sum(1 for k, v in m.items() if k.startswith("slave") and "state=online" in v)


def echo_ok(port: int) -> bool:
    with RawClient(port, timeout=1.0) as c:
        return c.call("ECHO", "up") == b"$2\r\nup\r\n"


def restart(node_factory, node: Node, *args: str, kind: str | None = None) -> Node:
    """Start a node again on the same port and directory."""
    node.stop()
    return node_factory(kind or node.kind, *(args or node.args), port=node.port,
                        workdir=node.dir, conf=node.conf)


def log_has(node: Node, text: str) -> bool:
    return text in node.log_text()


def fill(c: redis.Redis, prefix: str, n: int) -> None:
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"{prefix}:{i}", f"v{i}")
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


def sample_data(c: redis.Redis) -> None:
    """Values of every type, small (compact encodings) and large, in two databases."""
    c.set("str", "hello")
    c.set("int", 12345)
    c.set("big", "x" * 100_000)
    c.set("ttl", "soon", ex=1000)
    c.rpush("list", "a", "b", "c", 1, 2, 3)
    c.rpush("biglist", *[f"item{i}" for i in range(600)])
    c.hset("hash", mapping={"f": "v", "g": "12"})
    c.hset("bighash", mapping={f"f{i}": "v" * 80 for i in range(200)})
    c.sadd("intset", 1, 2, 3, 42)
    c.sadd("set", "a", "b", "c")
    c.zadd("zset", {"a": 1, "b": 2.5, "c": -3})
    c.zadd("bigzset", {f"m{i}": i / 3 for i in range(300)})
    c1 = redis.Redis(port=c.connection_pool.connection_kwargs["port"], db=3)
    c1.set("db3", "three")
    c1.rpush("db3list", "x")
    c1.close()


class Proxy:
    """A TCP relay to cut and restore a replication link on demand."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.port = free_port()
        self.up = True
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(16)
        self.lsock.settimeout(0.1)
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.lsock.accept()
            except (socket.timeout, OSError):
                continue
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def cut(self) -> None:
        """Drop every relayed connection and refuse new ones."""
        self.up = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def heal(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.stopped = True
        self.lsock.close()
        self.thread.join(2)


@pytest.fixture
def proxies():
    made: list[Proxy] = []

    def make(port: int) -> Proxy:
        p = Proxy(port)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


# ----------------------------------------------------------------------------- walkthrough


def test_walkthrough_three_engine_nodes(node_factory):
    """The steps of the 'three servers on one host' walkthrough, on engine nodes."""
    a = node_factory("engine")
    b = node_factory("engine", "--replicaof", "127.0.0.1", str(a.port))
    c = node_factory("engine", "--replicaof", "127.0.0.1", str(a.port))
    ca = a.client()

    # info replication on both sides: Redis 7.0's fields, in its order
    wait_until(lambda: online_replicas(a) == 2, 30, what="two replicas online")
    fields = [k for k, _ in info_fields(a)]
    assert fields == MASTER_FIELDS[:3] + ["slave1"] + MASTER_FIELDS[3:]
    m = info(a)
    assert m["role"] == "master" and m["connected_slaves"] == "2"
    ports = sorted(int(m[s].split("port=")[1].split(",")[0]) for s in ("slave0", "slave1"))
    assert ports == sorted([b.port, c.port])
    assert m["slave0"].startswith("ip=127.0.0.1,") and "state=online" in m["slave0"]
    assert m["repl_backlog_active"] == "1" and m["repl_backlog_first_byte_offset"] == "1"
    assert [k for k, _ in info_fields(b)] == REPLICA_FIELDS
    r = info(b)
    assert r["role"] == "slave" and r["master_host"] == "127.0.0.1"
    assert r["master_port"] == str(a.port) and r["master_link_status"] == "up"
    assert r["master_replid"] == m["master_replid"]
    assert a.cli("ROLE").split("\n")[0] == "master"
    assert b.cli("ROLE").split("\n")[:5] == ["slave", "127.0.0.1", str(a.port), "connected",
                                              r["slave_repl_offset"]]

    # full then incremental replication
    ca.set("k1", "v1")
    ca.set("k2", "v2")
    wait_in_sync(a, b, c)
    assert b.client().get("k2") == b"v2" and c.client().get("k1") == b"v1"

    # a replica is read-only
    with RawClient(b.port) as raw:
        assert raw.call("SET", "k3", "v3") == (
            b"-READONLY You can't write against a read only replica.\r\n")
    ca.set("k3", "v3")

    # master SHUTDOWN: the replicas stay replicas, link down
    ca.shutdown(nosave=True)
    a.wait_exit()
    for n in (b, c):
        wait_until(lambda: info(n)["master_link_status"] == "down", 10, what="link down")
        r = info(n)
        assert r["role"] == "slave" and r["master_port"] == str(a.port)
        assert "master_link_down_since_seconds" in r
        assert n.client().get("k3") == b"v3"
    assert log_has(b, "# Connection with master lost.")
    assert log_has(b, "Error condition on socket for SYNC: Connection refused")

    # the master comes back without persistence: empty, and its replicas follow it
    a = restart(node_factory, a)
    ca = a.client()
    ca.set("k4", "v4")
    wait_in_sync(a, b, c)
    assert b.client().get("k1") is None and c.client().get("k4") == b"v4"
    assert stats(a)[0] == 2  # both replicas needed a full resync (new replication ID)
    assert log_has(a, "Partial resynchronization not accepted: Replication ID mismatch")

    # a replica goes down and comes back (replicaof is in its configuration)
    b.client().shutdown(nosave=True)
    b.wait_exit()
    ca.set("k5", "v5")
    b = restart(node_factory, b)
    wait_in_sync(a, b)
    assert b.client().get("k5") == b"v5"
    assert info(b)["role"] == "slave"
    # it kept the RDB received from the master: a partial resync from its offset
    assert log_has(b, "Before turning into a replica, using my own master parameters to "
                      "synthesize a cached master")
    assert log_has(b, "Successful partial resynchronization with master.")
    assert stats(a)[:2] == (2, 1)

    # a chain: b replicates from c, which still replicates from a
    assert b.client().slaveof("127.0.0.1", c.port)
    wait_until(lambda: online_replicas(c) == 1, 20, what="c has one replica")
    r = info(c)
    assert r["role"] == "slave" and r["connected_slaves"] == "1"
    assert f"port={b.port},state=online" in r["slave0"]
    ca.set("chain", "yes")
    wait_in_sync(a, c)
    wait_in_sync(c, b)
    assert b.client().get("chain") == b"yes"
    assert info(b)["master_replid"] == info(a)["master_replid"]
    assert info(b)["master_repl_offset"] == info(a)["master_repl_offset"]

    # back to a -> (b, c), then manual promotion of b after a goes down
    assert b.client().slaveof("127.0.0.1", a.port)
    wait_until(lambda: online_replicas(a) == 2, 20, what="two replicas again")
    wait_in_sync(a, b, c)
    ca.shutdown(nosave=True)
    a.wait_exit()
    cb = b.client()
    assert cb.slaveof() is True  # SLAVEOF NO ONE
    assert log_has(b, "MASTER MODE enabled (user request from 'id=")
    assert log_has(b, "Setting secondary replication ID to")
    cb.set("k6", "v6")
    assert c.client().slaveof("127.0.0.1", b.port)
    wait_in_sync(b, c)
    assert c.client().get("k6") == b"v6"
    # the former sibling continued with a partial resync thanks to PSYNC2 (replid2)
    assert stats(b)[:2] == (0, 1)
    assert log_has(c, "Master replication ID changed to")
    m = info(b)
    assert m["master_replid2"] != "0" * 40 and int(m["second_repl_offset"]) > 0

    # the old master comes back: a master, with no replicas
    a = restart(node_factory, a)
    m = info(a)
    assert m["role"] == "master" and m["connected_slaves"] == "0"


def test_replicaof_command_replies(node_factory):
    real = node_factory("real")
    eng = node_factory("engine")
    target = node_factory("engine")
    replies = []
    for node in (real, eng):
        with RawClient(node.port) as c:
            got = [
                c.call("REPLICAOF", "NO", "ONE"),
                c.call("REPLICAOF", "127.0.0.1", "notaport"),
                c.call("REPLICAOF", "127.0.0.1", "70000"),
                c.call("REPLICAOF", "127.0.0.1"),
                c.call("WAIT", "0", "0"),
                c.call("WAIT", "x", "0"),
                c.call("WAIT", "0", "-1"),
                c.call("REPLCONF", "listening-port"),
                c.call("REPLCONF", "nosuch", "1"),
                c.call("REPLCONF", "listening-port", "x"),
                c.call("REPLCONF", "capa", "whatever"),
                c.call("ROLE"),
                c.call("SLAVEOF", "127.0.0.1", str(target.port)),
                c.call("SLAVEOF", "127.0.0.1", str(target.port)),
                c.call("WAIT", "0", "0"),
                c.call("SLAVEOF", "no", "one"),
            ]
            replies.append(got)
    assert replies[1] == replies[0]
    assert replies[0][13] == b"+OK Already connected to specified master\r\n"


# ----------------------------------------------------------------------------- interop


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_real_replica_of_engine_master(node_factory, diskless):
    m = node_factory("engine", *FAST, "--repl-diskless-sync", diskless)
    cm = m.client()
    sample_data(cm)
    r = node_factory("real", "--replicaof", "127.0.0.1", str(m.port))
    wait_in_sync(m, r)
    assert r.client().ttl("ttl") > 900
    # the stream: writes in several databases, MULTI/EXEC, expiry
    cm.incr("int")
    cm.lpush("list", "z")
    cm.hset("hash", "new", "1")
    cm.execute_command("SELECT", 0)
    p = cm.pipeline(transaction=True)
    p.set("tx1", "a").set("tx2", "b")
    p.execute()
    redis.Redis(port=m.port, db=5).set("db5", "five")
    cm.set("gone", "x", px=50)
    time.sleep(0.2)
    cm.get("gone")
    wait_in_sync(m, r)
    assert r.client().exists("gone") == 0
    assert stats(m)[:2] == (1, 0)
    target = "replicas sockets" if diskless == "yes" else "disk"
    assert log_has(m, f"Starting BGSAVE for SYNC with target: {target}")

    # cut the link from the replica side: it reconnects and continues where it was
    assert r.client().client_kill_filter(_type="master") == 1
    cm.set("after-kill", "1")
    wait_in_sync(m, r)
    assert stats(m)[:2] == (1, 1)
    assert log_has(m, "Partial resynchronization request from")
    assert log_has(r, "Successful partial resynchronization with master.")

    # and from the master side
    assert cm.client_kill_filter(_type="slave") == 1
    cm.set("after-kill-2", "2")
    wait_in_sync(m, r)
    assert stats(m)[:2] == (1, 2)


def test_engine_replica_of_real_master(node_factory):
    m = node_factory("real", *FAST)
    cm = m.client()
    sample_data(cm)
    r = node_factory("engine", "--replicaof", "127.0.0.1", str(m.port))
    real_r = node_factory("real", "--replicaof", "127.0.0.1", str(m.port))
    wait_in_sync(m, r, real_r)
    # the engine replica shows the same INFO replication fields as a real one
    assert [k for k, _ in info_fields(r)] == [k for k, _ in info_fields(real_r)]
    assert r.client().ttl("ttl") > 900
    cm.incr("int")
    cm.zadd("zset", {"d": 7})
    cm.sadd("intset", 99)
    cm.set("exp", "x", px=50)
    redis.Redis(port=m.port, db=3).delete("db3list")
    time.sleep(0.2)
    cm.get("exp")
    wait_in_sync(m, r)
    # the engine replica acknowledges its offset
    wait_until(lambda: f"port={r.port},state=online,offset={info(m)['master_repl_offset']}"
               in "".join(info(m).values()), 5, what="ACK from the engine replica")
    # a short disconnect: partial resync
    assert r.client().client_kill_filter(_type="master") == 1
    cm.set("after", "1")
    wait_in_sync(m, r)
    assert stats(m)[:2] == (2, 1)
    assert log_has(r, "Trying a partial resynchronization (request ")
    assert log_has(r, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
    # WAIT on the real master counts the engine replica
    cm.set("w", "1")
    assert cm.execute_command("WAIT", 2, 5000) == 2


def test_engine_master_info_fields_match_real(node_factory):
    fields = []
    for kind in ("real", "engine"):
        m = node_factory(kind, *FAST)
        r = node_factory(kind, "--replicaof", "127.0.0.1", str(m.port))
        wait_until(lambda: online_replicas(m) == 1, 20, what="replica online")
        m.client().set("x", "1")
        wait_in_sync(m, r)
        fields.append(([k for k, _ in info_fields(m)], [k for k, _ in info_fields(r)]))
        role_m = m.cli("ROLE").split("\n")
        assert role_m[0] == "master" and role_m[2:4] == ["127.0.0.1", str(r.port)]
    assert fields[1] == fields[0]
    assert fields[0][0] == MASTER_FIELDS


# ----------------------------------------------------------------------------- faults


def test_kill9_replica_then_master(node_factory):
    m = node_factory("engine", *FAST)
    cm = m.client()
    r1 = node_factory("engine", *FAST, "--replicaof", "127.0.0.1", str(m.port))
    r2 = node_factory("engine", *FAST, "--replicaof", "127.0.0.1", str(m.port))
    fill(cm, "a", 2000)
    wait_in_sync(m, r1, r2)
    assert stats(m)[:2] == (2, 0)

    # kill -9 a replica, write while it is down, bring it back: it resumes from the
    # offset of the RDB it received
    r1.kill()
    fill(cm, "b", 500)
    r1 = restart(node_factory, r1)
    wait_in_sync(m, r1, r2)
    assert stats(m)[:2] == (2, 1)
    assert log_has(m, "Connection with replica 127.0.0.1:%d lost." % r1.port)

    # kill -9 the master (no persistence): it comes back empty with a new history, the
    # replicas resync in full and flush what they had
    m.kill()
    for r in (r1, r2):
        wait_until(lambda: info(r)["master_link_status"] == "down", 10, what="link down")
    assert r1.client().dbsize() == 2500
    m = restart(node_factory, m)
    cm = m.client()
    cm.set("fresh", "1")
    wait_in_sync(m, r1, r2)
    assert r1.client().dbsize() == 1
    assert stats(m)[:2] == (2, 0)


def test_cut_link_partial_then_backlog_overflow(node_factory, proxies):
    m = node_factory("engine", *FAST, "--repl-backlog-size", "16kb")
    cm = m.client()
    proxy = proxies(m.port)
    r = node_factory("engine", "--replicaof", "127.0.0.1", str(proxy.port))
    fill(cm, "a", 200)
    wait_in_sync(m, r)
    assert stats(m)[:2] == (1, 0)

    # a short cut with a few writes: partial resync from the backlog
    proxy.cut()
    wait_until(lambda: info(r)["master_link_status"] == "down", 10, what="link down")
    fill(cm, "b", 50)
    proxy.heal()
    wait_in_sync(m, r)
    assert stats(m)[:2] == (1, 1)
    assert info(r)["role"] == "slave"

    # a long cut: more writes than the backlog holds, a full resync is the only way
    proxy.cut()
    wait_until(lambda: info(r)["master_link_status"] == "down", 10, what="link down")
    fill(cm, "c", 2000)
    assert int(info(m)["repl_backlog_histlen"]) <= 16 * 1024
    proxy.heal()
    wait_in_sync(m, r)
    assert stats(m)[:3] == (2, 1, 1)
    assert log_has(m, "for lack of backlog (Replica request was:")
    assert log_has(r, "Full resync from master:")


def test_requirepass_without_masterauth(node_factory):
    m = node_factory("engine", *FAST, "--requirepass", "secret")
    m_c = m.client(password="secret")
    m_c.set("k", "v")
    r = node_factory("engine", "--replicaof", "127.0.0.1", str(m.port))
    wait_until(lambda: log_has(r, "MASTER aborted replication with an error: NOAUTH "
                                  "Authentication required."), 10, what="NOAUTH in the log")
    text = r.log_text()
    assert "(Non critical) Master does not understand REPLCONF listening-port: -NOAUTH " \
           "Authentication required." in text
    assert "Unexpected reply to PSYNC from master: -NOAUTH Authentication required." in text
    assert info(r)["master_link_status"] == "down"
    # it keeps trying, about once a second
    n = text.count("MASTER aborted replication")
    wait_until(lambda: r.log_text().count("MASTER aborted replication") > n, 5,
               what="another attempt")
    assert r.client().config_set("masterauth", "secret")
    wait_until(lambda: info(r)["master_link_status"] == "up", 10, what="link up")
    wait_in_sync(m, r, password="secret")
    assert r.client().get("k") == b"v"


def test_real_replica_without_masterauth_on_engine_master(node_factory):
    m = node_factory("engine", *FAST, "--requirepass", "secret")
    r = node_factory("real", "--replicaof", "127.0.0.1", str(m.port))
    wait_until(lambda: log_has(r, "MASTER aborted replication with an error: NOAUTH "
                                  "Authentication required."), 10, what="NOAUTH in the log")
    r.client().config_set("masterauth", "secret")
    m.client(password="secret").set("k", "v")
    wait_until(lambda: r.client().get("k") == b"v", 10, what="key replicated")


# ----------------------------------------------------------------------------- guards, WAIT


def test_wait_min_replicas_and_stale_data(node_factory):
    m = node_factory("engine", *FAST)
    r1 = node_factory("engine", "--replicaof", "127.0.0.1", str(m.port))
    r2 = node_factory("engine", "--replicaof", "127.0.0.1", str(m.port),
                      "--replica-serve-stale-data", "no")
    wait_until(lambda: online_replicas(m) == 2, 20, what="two replicas")
    cm = m.client()
    cm.set("a", "1")
    assert cm.execute_command("WAIT", 2, 5000) == 2
    t0 = time.time()
    assert cm.execute_command("WAIT", 3, 300) == 2
    assert time.time() - t0 >= 0.25
    with RawClient(r1.port) as c:
        assert c.call("WAIT", "1", "0").startswith(b"-ERR WAIT cannot be used with replica")

    with RawClient(m.port) as c:
        assert c.call("CONFIG", "SET", "min-replicas-to-write", "3") == b"+OK\r\n"
        assert c.call("SET", "x", "1") == b"-NOREPLICAS Not enough good replicas to write.\r\n"
        assert c.call("GET", "x") == b"$-1\r\n"
        assert c.call("CONFIG", "SET", "min-replicas-to-write", "2") == b"+OK\r\n"
        assert c.call("SET", "x", "1") == b"+OK\r\n"
        fields = dict(info_fields(m))
        assert fields["min_slaves_good_slaves"] == "2"

    m.stop()
    wait_until(lambda: info(r2)["master_link_status"] == "down", 10, what="link down")
    with RawClient(r2.port) as c:
        assert c.call("GET", "a") == (
            b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to "
            b"'no'.\r\n")
        assert c.call("PING").startswith(b"-MASTERDOWN")  # PING is not a 'stale' command
        assert c.call("ECHO", "x") == b"$1\r\nx\r\n"
    assert r1.client().get("a") == b"1"


def test_write_guards_match_real(node_factory):
    """READONLY, MASTERDOWN and NOREPLICAS, alone and inside MULTI, byte for byte."""
    nowhere = str(free_port())
    scripts = {
        "replica": [("SET", "k", "v"), ("GET", "k"), ("MULTI",), ("SET", "k", "v"),
                    ("GET", "k"), ("EXEC",), ("EVAL", "return 1", "0")],
        "stale": [("GET", "k"), ("PING",), ("ECHO", "x"), ("MULTI",), ("GET", "k"),
                  ("EXEC",), ("MULTI",), ("PING",), ("EXEC",), ("SET", "k", "v")],
        "min": [("SET", "k", "v"), ("GET", "k"), ("MULTI",), ("SET", "k", "v"), ("EXEC",),
                ("MULTI",), ("GET", "k"), ("EXEC",), ("WAIT", "1", "10")],
    }
    args = {
        "replica": ("--replicaof", "127.0.0.1", nowhere),
        "stale": ("--replicaof", "127.0.0.1", nowhere, "--replica-serve-stale-data", "no"),
        "min": ("--min-replicas-to-write", "1"),
    }
    for name, script in scripts.items():
        got = {}
        for kind in ("real", "engine"):
            node = node_factory(kind, *args[name], start=False)
            node.start(wait=False)  # PING answers MASTERDOWN on a stale replica
            wait_until(lambda: echo_ok(node.port), 10, what="node up")
            with RawClient(node.port) as c:
                got[kind] = [c.call(*cmd) for cmd in script]
            node.stop()
        if name == "replica":  # the engine has no scripting: leave EVAL out
            got = {k: v[:-1] for k, v in got.items()}
        assert got["engine"] == got["real"], name


def test_replicaof_by_command_is_not_remembered_unless_rewritten(node_factory, tmp_path):
    m = node_factory("engine", *FAST)
    conf = tmp_path / "node.conf"
    port = free_port()
    conf.write_text(f'port {port}\nsave ""\nappendonly no\n')
    r = node_factory("engine", conf=str(conf), port=port)
    assert r.client().replicaof("127.0.0.1", m.port)
    wait_until(lambda: info(r)["master_link_status"] == "up", 20, what="link up")
    r = restart(node_factory, r, kind="engine")
    assert info(r)["role"] == "master"
    assert r.client().replicaof("127.0.0.1", m.port)
    assert r.client().config_rewrite()
    assert f"replicaof 127.0.0.1 {m.port}" in conf.read_text()
    r = restart(node_factory, r, kind="engine")
    assert info(r)["role"] == "slave"
    wait_until(lambda: info(r)["master_link_status"] == "up", 20, what="link up")


def test_kill_processes_cleanly(node_factory):
    """A replica's SIGTERM while connected ends it without errors in the log."""
    m = node_factory("engine", *FAST)
    r = node_factory("engine", "--replicaof", "127.0.0.1", str(m.port))
    wait_until(lambda: online_replicas(m) == 1, 20, what="replica online")
    r.stop(signal.SIGTERM)
    assert r.proc is not None and r.proc.returncode == 0
    assert "Traceback" not in r.log_text()
    assert "Traceback" not in open(os.path.join(r.dir, "stderr.log")).read()


@pytest.mark.parametrize("kind", ["real", "engine"])
def test_restarts_with_persistence_keep_the_history(node_factory, kind):
    """Redis 7.0: a master restarted from its RDB keeps the old replication ID as replid2,
    so its replicas resync partially; a replica restarted from its own RDB resumes at the
    offset it saved. The same scenario runs on real redis-server and on the engine."""
    m = node_factory(kind, *FAST, "--save", "3600 1")
    r = node_factory(kind, *FAST, "--save", "3600 1", "--replicaof", "127.0.0.1", str(m.port))
    cm = m.client()
    fill(cm, "a", 100)
    wait_in_sync(m, r)
    before = info(m)
    cm.shutdown(save=True)
    m.wait_exit()
    m = restart(node_factory, m)
    cm = m.client()
    wait_in_sync(m, r)
    after = info(m)
    assert after["master_replid2"] == before["master_replid"]
    assert after["master_replid"] != before["master_replid"]
    # (SHUTDOWN may add a REPLCONF GETACK to the stream while it waits for the replicas)
    assert int(after["second_repl_offset"]) - 1 in (int(before["master_repl_offset"]),
                                                    int(before["master_repl_offset"]) + 37)
    assert stats(m)[:2] == (0, 1)
    assert log_has(r, "Master replication ID changed to " + after["master_replid"])
    assert info(r)["master_replid2"] == before["master_replid"]

    # the replica saves on SHUTDOWN and comes back where it stopped
    r.client().shutdown(save=True)
    r.wait_exit()
    cm.set("while-down", "1")
    r = restart(node_factory, r)
    wait_in_sync(m, r)
    assert stats(m)[:2] == (0, 2)
    assert log_has(r, "Before turning into a replica, using my own master parameters")
    assert log_has(m, "accepted. Sending 60 bytes of backlog starting from offset")
    assert r.client().get("while-down") == b"1"


def test_replica_announce_ip_and_port(node_factory):
    lines = []
    for kind in ("real", "engine"):
        m = node_factory(kind, *FAST)
        node_factory(kind, "--replicaof", "127.0.0.1", str(m.port),
                     "--replica-announce-ip", "10.1.2.3", "--replica-announce-port", "6390")
        wait_until(lambda: online_replicas(m) == 1, 20, what="replica online")
        lines.append(info(m)["slave0"].split(",state=")[0])
        assert m.cli("ROLE").split("\n")[2:4] == ["10.1.2.3", "6390"]
    assert lines[0] == lines[1] == "ip=10.1.2.3,port=6390"


def test_redis_cli_rdb_and_replica_modes(node_factory, tmp_path):
    """redis-cli --rdb (REPLCONF rdb-only + SYNC) and --replica (SYNC, no data, then the
    command stream) against an engine master."""
    import subprocess

    from redislab.engine import rdb
    from redislab.engine.keyspace import Keyspace

    m = node_factory("engine", *FAST)
    cm = m.client()
    sample_data(cm)
    path = tmp_path / "dump.rdb"
    res = subprocess.run(["redis-cli", "-p", str(m.port), "--rdb", str(path)],
                         capture_output=True, timeout=30)
    assert res.returncode == 0, res
    assert b"Transfer finished with success" in res.stdout + res.stderr
    ks = Keyspace()
    rdb.load(path.read_bytes(), ks)
    assert sorted(ks.dbs[0].data) == sorted(cm.keys("*"))
    proc = subprocess.Popen(["redis-cli", "-p", str(m.port), "--replica"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: online_replicas(m) == 1, 10, what="redis-cli online")
        cm.set("streamed", "yes")
        time.sleep(2.5)  # the stream starts with redis-cli's first REPLCONF ACK
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert b'"set","streamed","yes"' in out.lower()


# ----------------------------------------------------------------------------- in-process


def _fake_replica():
    from redislab.engine.config import Config
    from redislab.engine.server import Client, Server

    srv = Server(Config())
    repl = srv.repl
    c = Client(srv)
    c.flags.add("master")
    c.authenticated = True
    c.parser.is_master = True
    srv.role = "slave"
    repl.master_host = "127.0.0.1"
    repl.master = c
    repl.refresh_guards()
    repl.create_backlog()
    return srv, repl


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_applied_offset_counts_whole_commands_only(seed):
    """However the stream is cut into reads, the applied offset (what a replica reports
    and resumes from) always ends on a command boundary, and the bytes forwarded to
    sub-replicas are exactly the applied ones."""
    import asyncio
    import random

    from redislab.engine.resp import encode_command

    async def run() -> None:
        srv, repl = _fake_replica()
        srv.loop = asyncio.get_running_loop()
        rnd = random.Random(seed)
        cmds = [[b"SELECT", b"0"]]
        for i in range(300):
            size = rnd.choice([1, 10, 100, 40_000, 70_000])
            if i % 40 == 7:  # a transaction: no boundary inside it
                cmds.append([[b"MULTI"], [b"SET", b"k%d" % i, b"x" * size],
                             [b"INCR", b"counter"], [b"EXEC"]])
            else:
                cmds.append([b"SET", b"k%d" % i, b"x" * size])
            if i % 50 == 0:
                cmds.append([b"PING"])
            if i % 30 == 3:
                cmds.append([b"REPLCONF", b"GETACK", b"*"])
        stream = b""
        bounds = {0}
        getacks = []  # where each GETACK starts: the offset its ACK must report
        for c in cmds:
            group = c if isinstance(c[0], list) else [c]
            if group[0][:2] == [b"REPLCONF", b"GETACK"]:
                getacks.append(len(stream))
            stream += b"".join(encode_command(x) for x in group)
            bounds.add(len(stream))
        acks: list[int] = []
        repl.send_ack = lambda offset=None: acks.append(offset)
        i = 0
        while i < len(stream):
            n = rnd.choice([1, 2, 7, 100, 4096, 65536, 200_000])
            repl.apply(stream[i:i + n])
            i += n
            assert repl.reploff in bounds
            assert repl.read_reploff == min(i, len(stream))
        repl.flush()
        assert repl.reploff == len(stream) == srv.master_repl_offset
        assert repl.backlog.since(repl.backlog.first) == stream[-repl.backlog.histlen:]
        assert acks == getacks
        assert len(srv.keyspace.dbs[0].data) == 301
        assert srv.keyspace.dbs[0].data[b"counter"] == b"8"

    asyncio.run(run())


def test_backlog_window():
    from redislab.engine.replication import Backlog

    bl = Backlog(16 * 1024, 100)
    assert (bl.first, bl.histlen) == (101, 0)
    data = bytes(range(256)) * 200  # 51200 bytes
    for i in range(0, len(data), 1000):
        bl.append(data[i:i + 1000])
    assert bl.end == 100 + len(data)
    assert bl.histlen == 16 * 1024
    assert bl.first == bl.end - 16 * 1024 + 1
    assert bl.since(bl.first) == data[-16 * 1024:]
    assert bl.since(bl.end - 9) == data[-10:]
    assert bl.since(bl.end + 1) == b""


def test_info_fields_while_syncing():
    """The fields a replica adds during the RDB transfer and while its link is down, in
    Redis 7.0's order."""
    from redislab.engine import replication as R

    srv, repl = _fake_replica()
    repl.master = None
    repl.state = R.TRANSFER
    repl.transfer_size, repl.transfer_read = 1000, 250
    names = [k for k, _ in repl.info()]
    assert names[:8] == ["role", "master_host", "master_port", "master_link_status",
                         "master_last_io_seconds_ago", "master_sync_in_progress",
                         "slave_read_repl_offset", "slave_repl_offset"]
    assert names[8:15] == ["master_sync_total_bytes", "master_sync_read_bytes",
                           "master_sync_left_bytes", "master_sync_perc",
                           "master_sync_last_io_seconds_ago",
                           "master_link_down_since_seconds", "slave_priority"]
    fields = dict(repl.info())
    assert fields["master_sync_perc"] == "25.00" and fields["master_sync_in_progress"] == 1
    assert fields["master_sync_left_bytes"] == 750


# ----------------------------------------------------------------------------- DEBUG PARTITION

DEBUG_LOCAL = ("--enable-debug-command", "local")


def refused_at_once(port: int, *cmd: str) -> bool:
    """The node closes the connection at ``cmd`` without a reply (a peer while
    partitioned)."""
    try:
        with RawClient(port, timeout=5) as c:
            c.call(*cmd)
    except ConnectionError:  # "connection closed by server", no reply first
        return True
    except OSError:  # a reset
        return True
    return False


def test_debug_partition_command(node_factory):
    """The engine-only DEBUG PARTITION: protected like the rest of DEBUG, listed by
    DEBUG HELP, ON|OFF only."""
    plain = node_factory("engine")
    with RawClient(plain.port) as c:
        assert c.call("DEBUG", "PARTITION", "ON").startswith(b"-ERR DEBUG command not allowed.")
    n = node_factory("engine", *DEBUG_LOCAL)
    with RawClient(n.port) as c:
        assert b"+PARTITION <ON|OFF>\r\n" in c.call("DEBUG", "HELP")
        assert c.call("DEBUG", "PARTITION", "maybe") == \
            b"-ERR DEBUG PARTITION takes ON or OFF\r\n"
        assert c.call("DEBUG", "PARTITION").startswith(b"-ERR unknown subcommand")
        assert c.call("DEBUG", "PARTITION", "on") == b"+OK\r\n"
        assert c.call("DEBUG", "PARTITION", "ON") == b"+OK\r\n"  # already on: nothing new
        assert c.call("PING") == b"+PONG\r\n"  # the host is still served
        assert c.call("CLIENT", "SETNAME", "lesson") == b"+OK\r\n"
        assert c.call("DEBUG", "PARTITION", "OFF") == b"+OK\r\n"
    log = n.log_text()
    assert log.count("Partitioned: links to other nodes dropped") == 1
    assert log.count("Partition healed") == 1


def test_debug_partition_replica_then_master(node_factory):
    """A partitioned replica loses its master link (reconnects refused) while the host
    still reads it; a partitioned master drops its replicas and refuses replicas and
    sentinels, not other clients; after OFF both resync partially."""
    m = node_factory("engine", *FAST, *DEBUG_LOCAL)
    cm = m.client()
    r1 = node_factory("engine", *FAST, *DEBUG_LOCAL, "--replicaof", "127.0.0.1", str(m.port))
    r2 = node_factory("engine", *FAST, *DEBUG_LOCAL, "--replicaof", "127.0.0.1", str(m.port))
    fill(cm, "a", 100)
    wait_in_sync(m, r1, r2)
    assert stats(m)[:2] == (2, 0)

    # the replica r1 cut off: the master sees one replica, r1 does not get new writes
    assert r1.client().execute_command("DEBUG", "PARTITION", "ON") == b"OK"
    wait_until(lambda: info(r1)["master_link_status"] == "down", 10, what="r1's link down")
    wait_until(lambda: online_replicas(m) == 1, 10, what="the master dropping r1")
    cm.set("during-r1", "1")
    wait_until(lambda: log_has(r1, "Error condition on socket for SYNC: Connection refused"),
               10, what="r1's reconnect refused")
    wait_in_sync(m, r2)
    assert r1.client().get("during-r1") is None
    assert log_has(r1, "Partitioned: links to other nodes dropped")
    assert r1.client().execute_command("DEBUG", "PARTITION", "OFF") == b"OK"
    wait_in_sync(m, r1, r2)
    assert stats(m)[:2] == (2, 1)  # a partial resync
    assert log_has(r1, "Partition healed")

    # the master cut off: both replicas lose it; replicas and sentinels are refused,
    # the host's clients are served (writes included: a split brain)
    assert cm.execute_command("DEBUG", "PARTITION", "ON") == b"OK"
    for r in (r1, r2):
        wait_until(lambda: info(r)["master_link_status"] == "down", 10, what="link down")
    assert online_replicas(m) == 0
    assert log_has(m, "Connection with replica 127.0.0.1:%d lost." % r1.port)
    cm.set("during-master", "1")
    assert refused_at_once(m.port, "REPLCONF", "listening-port", "1")
    assert refused_at_once(m.port, "PSYNC", "?", "-1")
    assert refused_at_once(m.port, "CLIENT", "SETNAME", "sentinel-0123abcd-cmd")
    with RawClient(m.port) as c:
        assert c.call("CLIENT", "SETNAME", "sentinels-fan") == b"+OK\r\n"
        assert c.call("GET", "during-master") == b"$1\r\n1\r\n"
    time.sleep(1.5)  # the replicas' reconnects (one a second) keep being refused
    assert info(r1)["master_link_status"] == "down"
    assert r2.client().get("during-master") is None
    assert cm.execute_command("DEBUG", "PARTITION", "OFF") == b"OK"
    wait_in_sync(m, r1, r2)
    assert stats(m)[:2] == (2, 3)
