"""Sentinel on real processes: engine sentinels (``redislab sentinel``) and Debian's
``redis-sentinel`` 7.0, watching engine nodes and real ``redis-server`` nodes, in every
combination the lessons use.

Each failover test kills (SIGKILL) or shuts down the master and then checks what a user
would check: every sentinel reports the same, single master; that node says ROLE master;
every other live node replicates from it with its link up; a write acknowledged by
``WAIT 1`` before the kill is on the new master; the sentinels' logs show redis-sentinel's
events. The killed node is started again as a replica so the next kill has two replicas.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel as PySentinel

from nodes import Node, RawClient, free_port, require_binary, wait_ping, wait_until

# one worker runs the whole module (scripts/test.sh uses --dist loadgroup): the failovers
# are timing-sensitive, and test_enough_kills counts the kills of the other tests
pytestmark = pytest.mark.xdist_group("sentinel")

FAST = ("--repl-diskless-sync-delay", "0")
NAME = "mymaster"
# ``SENTINEL DEBUG ping-period 300`` (a redis-sentinel 7.0 knob, applied to both kinds):
# links are re-established within 300 ms, so a just promoted master is not seen down for
# missing its first PING, which with the default 1 s period happens after about one switch
# in four and starts a second failover (see Group.wait_stable). The tests that kill
# masters several times use it to stay fast; the three-sentinel test keeps the defaults.
QUICK_LINKS = ("ping-period", "300")
KILLS = {"count": 0}  # master kills across the module (at least 20)


# ----------------------------------------------------------------------------- helpers


class SentinelProc(Node):
    """A sentinel process on 127.0.0.1: ``engine`` (redislab sentinel) or ``real``."""

    def __init__(self, kind: str, master_port: int, quorum: int, down_after: int = 1000,
                 failover_timeout: int = 3000, extra: tuple[str, ...] = (),
                 password: str | None = None, debug: tuple[str, ...] = ()):
        port = free_port()
        super().__init__(kind, port,
                         workdir=tempfile.mkdtemp(prefix=f"redislab-sentinel-{kind}-{port}-"))
        self.debug = debug
        self.conf = os.path.join(self.dir, "sentinel.conf")
        self.logfile = os.path.join(self.dir, "sentinel.log")
        lines = [f"port {self.port}", f'dir "{self.dir}"', f'logfile "{self.logfile}"',
                 f"sentinel monitor {NAME} 127.0.0.1 {master_port} {quorum}",
                 f"sentinel down-after-milliseconds {NAME} {down_after}",
                 f"sentinel failover-timeout {NAME} {failover_timeout}"]
        if password:
            lines.append(f"sentinel auth-pass {NAME} {password}")
        lines += list(extra)
        Path(self.conf).write_text("\n".join(lines) + "\n")

    def command_line(self) -> list[str]:
        if self.kind == "engine":
            return [sys.executable, "-m", "redislab", "sentinel", self.conf]
        return [require_binary("redis-sentinel"), self.conf]

    def start(self, wait: bool = True) -> "SentinelProc":
        super().start(wait=False)
        if wait:
            self.wait()
        return self

    def wait(self) -> None:
        self.wait_up(timeout=20)
        if self.debug:
            with self.r() as r:
                assert r.execute_command("SENTINEL", "DEBUG", *self.debug) == "OK"

    def r(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=5,
                           retry=Retry(NoBackoff(), 0))

    def master_addr(self) -> tuple[str, int] | None:
        with self.r() as r:
            got = r.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
        return (got[0], int(got[1])) if got else None


def _flags(entry: dict[str, Any]) -> set[str]:
    flags = entry["flags"]
    return set(flags.split(",")) if isinstance(flags, str) else set(flags)


def _pairs(flat: Any) -> dict[str, Any]:
    """A SENTINEL MASTER / REPLICAS entry as a dict (redis-py may have parsed it)."""
    if isinstance(flat, dict):
        return flat
    return dict(zip(flat[::2], flat[1::2]))


class Group:
    """A master, its replicas and the sentinels watching them."""

    def __init__(self, node_kind: str, sentinel_kind: str, replicas: int = 2,
                 sentinels: int = 3, quorum: int = 2, down_after: int = 1000,
                 failover_timeout: int = 3000, password: str | None = None,
                 sentinel_extra: tuple[str, ...] = (), debug: tuple[str, ...] = (),
                 node_extra: tuple[str, ...] = ()):
        self.node_kind = node_kind
        self.password = password
        auth = ("--requirepass", password, "--masterauth", password) if password else ()
        self.node_args = (*FAST, *auth, *node_extra)
        self.nodes: list[Node] = []
        master = Node(node_kind, args=self.node_args)
        self.nodes.append(master)
        for _ in range(replicas):
            self.nodes.append(Node(node_kind, args=(*self.node_args, "--replicaof",
                                                    "127.0.0.1", str(master.port))))
        self.sentinels = [SentinelProc(sentinel_kind, master.port, quorum, down_after,
                                       failover_timeout, sentinel_extra, password, debug)
                          for _ in range(sentinels)]
        self.dead: list[Node] = []

    # lifecycle

    def start(self) -> "Group":
        for n in self.nodes:
            n.start(wait=False)
        for n in self.nodes:
            n.wait_up(password=self.password)
        # the sentinels' first INFO then lists every replica (else they wait 10 s more)
        with self.client(self.nodes[0].port) as r:
            wait_until(lambda: r.info("replication")["connected_slaves"]
                       == len(self.nodes) - 1 and all(
                           r.info("replication")[f"slave{i}"]["state"] == "online"
                           for i in range(len(self.nodes) - 1)), 20,
                       what="the replicas to be online")
        for s in self.sentinels:
            s.start(wait=False)
        for s in self.sentinels:
            s.wait()
        return self

    def cleanup(self) -> None:
        for p in self.sentinels + self.nodes + self.dead:
            p.cleanup()

    # views

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=self.password, decode_responses=True,
                           socket_timeout=5, retry=Retry(NoBackoff(), 0))

    def node(self, port: int) -> Node:
        return next(n for n in self.nodes if n.port == port)

    def agreed_master(self, sentinels: list[SentinelProc] | None = None) -> int | None:
        """The master port every (live) sentinel reports, or None while they differ."""
        ports = set()
        for s in sentinels or [s for s in self.sentinels if s.alive()]:
            addr = s.master_addr()
            if addr is None:
                return None
            ports.add(addr[1])
        return ports.pop() if len(ports) == 1 else None

    def topology_ok(self, master_port: int) -> bool:
        return self.topology_problem(master_port) is None

    def topology_problem(self, master_port: int) -> str | None:
        """None when the node says it is the master and every other live node replicates
        from it with its link up; else what is wrong."""
        with self.client(master_port) as r:
            if r.execute_command("ROLE")[0] != "master":
                return f"{master_port} is not a master"
        for n in self.nodes:
            if n.port == master_port:
                continue
            with self.client(n.port) as r:
                role = r.execute_command("ROLE")
            if role[0] != "slave" or int(role[2]) != master_port or role[3] != "connected":
                return f"{n.port} ROLE {role}"
        return None

    def sentinels_problem(self, master_port: int) -> str | None:
        """None when every live sentinel knows every replica (reachable, not down) and
        the other live sentinels; else what is missing."""
        live = [s for s in self.sentinels if s.alive()]
        want = {n.port for n in self.nodes if n.port != master_port}
        for s in live:
            with s.r() as r:
                master = _pairs(r.execute_command("SENTINEL", "MASTER", NAME))
                if int(master["port"]) != master_port or _flags(master) != {"master"}:
                    return f"sentinel {s.port}: master {master['port']} {master['flags']}"
                if int(master["num-other-sentinels"]) < len(live) - 1:
                    return f"sentinel {s.port}: {master['num-other-sentinels']} sentinels"
                seen = {}
                for entry in r.execute_command("SENTINEL", "REPLICAS", NAME):
                    e = _pairs(entry)
                    seen[int(e["port"])] = e
            for port in want:
                e = seen.get(port)
                if e is None:
                    return f"sentinel {s.port}: replica {port} unknown"
                if (_flags(e) != {"slave"} or e["master-link-status"] != "ok"
                        or int(e["master-port"]) != master_port):
                    return (f"sentinel {s.port}: replica {port} {e['flags']} "
                            f"{e['master-link-status']} {e['master-port']}")
        return None

    def wait_stable(self, exclude: int | None = None, timeout: float = 30) -> int:
        """Wait until every live sentinel reports the same master (not ``exclude``), that
        node is a master, every other live node replicates from it and every sentinel
        knows every replica; returns its port.

        The master may change on the way: right after a switch, redis-sentinel can see
        the new master miss its first PING (the link is re-established at most once per
        ping period) and, with the other sentinels' down reports still fresh, fail over
        again. The engine does the same; the invariants hold once it settles."""

        def problem() -> tuple[int | None, str | None]:
            port = self.agreed_master()
            if port is None:
                return None, "the sentinels do not agree"
            if port == exclude:
                return None, f"the sentinels still report {port}"
            return port, self.topology_problem(port) or self.sentinels_problem(port)

        deadline = time.time() + timeout
        while True:
            try:
                port, last = problem()
            except (OSError, redis.exceptions.RedisError) as exc:
                port, last = None, repr(exc)
            if port is not None and last is None:
                return port
            if time.time() > deadline:
                raise AssertionError(f"no stable group: {last}")
            time.sleep(0.1)

    # faults

    def acked_write(self, master_port: int, key: str) -> str:
        value = f"v-{time.time()}"
        with self.client(master_port) as r:
            r.set(key, value)
            assert r.execute_command("WAIT", 1, 2000) >= 1
        return value

    def restart_as_replica(self, victim: Node, master_port: int) -> Node:
        again = Node(self.node_kind, port=victim.port, workdir=victim.dir,
                     args=(*self.node_args, "--replicaof", "127.0.0.1", str(master_port)))
        again.start(password=self.password)
        if victim in self.dead:
            self.dead.remove(victim)
        self.nodes.append(again)
        return again

    def kill_master(self, key: str, timeout: float = 40, restart: bool = True) -> int:
        """SIGKILL the master after an acknowledged write; wait for the failover and
        check it; start the old master again as a replica of the new one."""
        old = self.wait_stable(timeout=timeout)
        value = self.acked_write(old, key)
        victim = self.node(old)
        t0 = time.time()
        victim.kill()
        KILLS["count"] += 1
        self.nodes.remove(victim)
        self.dead.append(victim)
        wait_until(lambda: self.agreed_master() not in (None, old), timeout, interval=0.05,
                   what="a new master")
        self.failover_seconds = time.time() - t0
        new = self.wait_stable(exclude=old, timeout=timeout)
        with self.client(new) as r:
            assert r.get(key) == value, "a write acknowledged by WAIT 1 was lost"
        if restart:
            self.restart_as_replica(victim, new)
            new = self.wait_stable(timeout=timeout)
            with self.client(new) as r:
                assert r.get(key) == value, "a write acknowledged by WAIT 1 was lost"
        return new


@pytest.fixture
def group_factory():
    made: list[Group] = []

    def make(*args: Any, **kw: Any) -> Group:
        g = Group(*args, **kw)
        made.append(g)
        return g.start()

    yield make
    for g in made:
        g.cleanup()


def events(text: str) -> list[str]:
    """The messages of a sentinel log (``pid:X date time level message``)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^\d+:X \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} [.\-*#] (.*)$", line)
        if m:
            out.append(m.group(1))
    return out


def assert_in_order(lines: list[str], wanted: list[str]) -> None:
    i = 0
    for line in lines:
        if i < len(wanted) and re.fullmatch(wanted[i], line):
            i += 1
    assert i == len(wanted), f"missing {wanted[i]!r} (in order) in:\n" + "\n".join(lines)


# ----------------------------------------------------------------------------- tests


def test_walkthrough_single_sentinel_quorum_1(group_factory):
    """The seed walkthrough: 3 servers, ``sentinel monitor mymaster 127.0.0.1 <port> 1``,
    SHUTDOWN of the master, a replica becomes master, the other follows it, the restarted
    old master becomes a replica; the sentinel's log tells the story."""
    g = group_factory("engine", "engine", sentinels=1, quorum=1, down_after=1000,
                      debug=QUICK_LINKS)
    s = g.sentinels[0]
    old = g.wait_stable()
    a, b = [n.port for n in g.nodes if n.port != old]
    with g.client(old) as r:
        r.set("k1", "v1")
        assert r.execute_command("WAIT", 2, 2000) == 2
    old_node = g.node(old)
    subprocess.run([require_binary("redis-cli"), "-p", str(old), "shutdown", "nosave"],
                   capture_output=True, timeout=10)
    old_node.wait_exit()
    KILLS["count"] += 1
    new = wait_until(lambda: (p := s.master_addr()[1]) != old and p, 30, what="failover")
    assert new in (a, b)
    other = a if new == b else b
    g.nodes.remove(old_node)
    wait_until(lambda: g.topology_ok(new), 20, what="the other replica follows")
    with g.client(other) as r:
        assert r.get("k1") == "v1"
    # once the sentinel sees the old master as a replica that is down, it comes back
    # (as a master, with an empty dataset) and is converted
    wait_until(lambda: f"+sdown slave 127.0.0.1:{old}" in s.log_text(), 20,
               what="+sdown of the old master as a replica")
    back = Node("engine", port=old, workdir=old_node.dir, args=g.node_args)
    back.start()
    g.nodes.append(back)
    wait_until(lambda: g.topology_ok(new), 40, interval=0.2, what="+convert-to-slave")
    with g.client(old) as r:
        wait_until(lambda: r.get("k1") == "v1", 10, what="the old master resynced")
    log = events(s.log_text())
    assert re.fullmatch(r"Sentinel ID is [0-9a-f]{40}", next(x for x in log if "ID" in x))
    assert_in_order(log, [
        rf"\+monitor master {NAME} 127\.0\.0\.1 {old} quorum 1",
        rf"\+slave slave 127\.0\.0\.1:\d+ 127\.0\.0\.1 \d+ @ {NAME} 127\.0\.0\.1 {old}",
        rf"\+sdown master {NAME} 127\.0\.0\.1 {old}",
        rf"\+odown master {NAME} 127\.0\.0\.1 {old} #quorum 1/1",
        r"\+new-epoch 1",
        rf"\+try-failover master {NAME} 127\.0\.0\.1 {old}",
        r"\+vote-for-leader [0-9a-f]{40} 1",
        rf"\+elected-leader master {NAME} 127\.0\.0\.1 {old}",
        rf"\+failover-state-select-slave master {NAME} 127\.0\.0\.1 {old}",
        rf"\+selected-slave slave 127\.0\.0\.1:{new} 127\.0\.0\.1 {new} @ {NAME} "
        rf"127\.0\.0\.1 {old}",
        rf"\+failover-state-send-slaveof-noone slave 127\.0\.0\.1:{new} .*",
        rf"\+failover-state-wait-promotion slave 127\.0\.0\.1:{new} .*",
        rf"\+promoted-slave slave 127\.0\.0\.1:{new} .*",
        rf"\+failover-state-reconf-slaves master {NAME} 127\.0\.0\.1 {old}",
        rf"\+slave-reconf-sent slave 127\.0\.0\.1:{other} .*",
        rf"\+slave-reconf-inprog slave 127\.0\.0\.1:{other} .*",
        rf"\+slave-reconf-done slave 127\.0\.0\.1:{other} .*",
        rf"\+failover-end master {NAME} 127\.0\.0\.1 {old}",
        rf"\+switch-master {NAME} 127\.0\.0\.1 {old} 127\.0\.0\.1 {new}",
        rf"\+slave slave 127\.0\.0\.1:{old} 127\.0\.0\.1 {old} @ {NAME} 127\.0\.0\.1 {new}",
        rf"\+sdown slave 127\.0\.0\.1:{old} 127\.0\.0\.1 {old} @ {NAME} 127\.0\.0\.1 {new}",
        rf"-sdown slave 127\.0\.0\.1:{old} 127\.0\.0\.1 {old} @ {NAME} 127\.0\.0\.1 {new}",
        rf"\+convert-to-slave slave 127\.0\.0\.1:{old} 127\.0\.0\.1 {old} @ {NAME} "
        rf"127\.0\.0\.1 {new}",
    ])
    # the state is in the config file, so a restarted sentinel remembers it
    conf = Path(s.conf).read_text()
    assert f"sentinel monitor {NAME} 127.0.0.1 {new} 1" in conf
    assert re.search(r"^sentinel myid [0-9a-f]{40}$", conf, re.M)
    assert f"sentinel known-replica {NAME} 127.0.0.1 {old}" in conf
    assert "sentinel config-epoch mymaster 1" in conf
    assert "sentinel current-epoch 1" in conf
    myid = s.r().execute_command("SENTINEL", "MYID")
    s.stop()
    s.start()
    with s.r() as r:
        assert r.execute_command("SENTINEL", "MYID") == myid
        assert r.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME) == \
            ["127.0.0.1", str(new)]
        assert int(_pairs(r.execute_command("SENTINEL", "MASTER", NAME))["num-slaves"]) == 2


def test_three_sentinels_quorum_2(group_factory):
    """Three sentinels discover each other through hellos, agree on ODOWN with quorum 2,
    elect one leader by majority and all switch to the promoted replica; every event is
    also published on its pub/sub channel."""
    g = group_factory("engine", "engine", sentinels=3, quorum=2, down_after=1000)
    old = g.wait_stable()
    ids = [x.r().execute_command("SENTINEL", "MYID") for x in g.sentinels]
    with g.sentinels[0].r() as r:
        assert r.execute_command("SENTINEL", "CKQUORUM", NAME) == \
            "OK 3 usable Sentinels. Quorum and failover authorization can be reached"
        others = [_pairs(e) for e in r.execute_command("SENTINEL", "SENTINELS", NAME)]
        assert {e["runid"] for e in others} == set(ids[1:])
        assert all(e["name"] == e["runid"] for e in others)
        assert r.execute_command("ROLE") == ["sentinel", [NAME]]
    # on the master: two named links per sentinel, hellos in redis-sentinel's format
    with g.client(old) as r:
        names = {c["name"] for c in r.client_list()}
        for myid in ids:
            assert {f"sentinel-{myid[:8]}-cmd", f"sentinel-{myid[:8]}-pubsub"} <= names
        sub = r.pubsub()
        sub.subscribe("__sentinel__:hello")
        seen: dict[str, str] = {}
        deadline = time.time() + 10
        while len(seen) < 3 and time.time() < deadline:
            m = sub.get_message(timeout=0.5)
            if m and m["type"] == "message":
                fields = m["data"].split(",")
                seen[fields[2]] = m["data"]
        sub.close()
    assert set(seen) == set(ids)
    for myid, hello in seen.items():
        port = g.sentinels[ids.index(myid)].port
        assert re.fullmatch(rf"127\.0\.0\.1,{port},{myid},0,{NAME},127\.0\.0\.1,{old},0",
                            hello), hello
    watcher = g.sentinels[0].r().pubsub()
    watcher.psubscribe("*")
    new = g.kill_master("k:three")
    assert new != old
    published = []
    deadline = time.time() + 10
    while time.time() < deadline:
        m = watcher.get_message(timeout=0.2)
        if m is None and published:
            break
        if m and m["type"] == "pmessage":
            published.append(f"{m['channel']} {m['data']}")
    watcher.close()
    log0 = events(g.sentinels[0].log_text())
    for kind in ("+sdown", "+odown", "+switch-master", "+slave"):
        got = [x for x in published if x.startswith(kind + " ")]
        assert got and all(x in log0 for x in got), (kind, got)
    logs = [events(s.log_text()) for s in g.sentinels]
    leaders = [i for i, log in enumerate(logs)
               if any(x.startswith("+elected-leader") for x in log)]
    assert len(leaders) >= 1
    for log in logs:
        assert any(re.fullmatch(rf"\+odown master {NAME} 127\.0\.0\.1 {old} #quorum [23]/2",
                                x) for x in log)
        assert any(re.fullmatch(rf"\+switch-master {NAME} 127\.0\.0\.1 {old} 127\.0\.0\.1 "
                                rf"\d+", x) for x in log)
    for i, log in enumerate(logs):
        if i not in leaders:
            assert any(x.startswith("+vote-for-leader") for x in log)
            assert any(x.startswith("+config-update-from sentinel") for x in log)
    # the config file of every sentinel remembers the others
    for s in g.sentinels:
        conf = Path(s.conf).read_text()
        assert len(re.findall(rf"^sentinel known-sentinel {NAME} 127\.0\.0\.1 \d+ "
                              rf"[0-9a-f]{{40}}$", conf, re.M)) == 2


def test_redis_py_sentinel_client_through_failovers(group_factory):
    """redis-py's Sentinel client writes to the master through failovers and reads from
    replicas."""
    g = group_factory("engine", "engine", sentinels=3, quorum=2, down_after=1000,
                      debug=QUICK_LINKS)
    g.wait_stable()
    sentinel = PySentinel([("127.0.0.1", s.port) for s in g.sentinels], socket_timeout=1)
    master = sentinel.master_for(NAME, socket_timeout=1, decode_responses=True)
    replica = sentinel.slave_for(NAME, socket_timeout=1, decode_responses=True)
    written = 0
    for round_ in range(2):
        for i in range(20):
            master.set(f"py:{written}", written)
            written += 1
        assert master.execute_command("WAIT", 2, 2000) == 2
        assert replica.get(f"py:{written - 1}") == str(written - 1)
        old = sentinel.discover_master(NAME)[1]
        g.node(old).kill()
        KILLS["count"] += 1
        deadline = time.time() + 30
        while True:  # writes go through as soon as the new master is known
            try:
                master.set(f"py:{written}", written)
                written += 1
                break
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    redis.exceptions.ReadOnlyError):
                assert time.time() < deadline, "no master accepted writes after the kill"
                time.sleep(0.1)
        new = sentinel.discover_master(NAME)[1]
        assert new != old
        victim = g.node(old)
        g.nodes.remove(victim)
        g.dead.append(victim)
        g.restart_as_replica(victim, g.wait_stable(exclude=old))
        g.wait_stable()
        assert master.get("py:0") == "0"
        assert master.get(f"py:{written - 1}") == str(written - 1)
        wait_until(lambda: replica.get(f"py:{written - 1}") == str(written - 1), 10,
                   what="a replica read")


def test_engine_sentinels_on_real_redis_servers(group_factory):
    """Engine sentinels fail over redis-server 7.0 nodes whose CONFIG command is renamed
    (``sentinel rename-command``: else the SLAVEOF transaction would be refused)."""
    g = group_factory("real", "engine", sentinels=3, quorum=2, down_after=1000,
                      debug=QUICK_LINKS, node_extra=("--rename-command", "CONFIG", "CFG"),
                      sentinel_extra=(f"sentinel rename-command {NAME} CONFIG CFG",))
    for i in range(2):
        g.kill_master(f"k:real:{i}")


def test_real_sentinels_on_engine_servers(group_factory):
    """redis-sentinel 7.0 fails over engine nodes (needs engine replication)."""
    require_binary("redis-sentinel")
    g = group_factory("engine", "real", sentinels=3, quorum=2, down_after=1000,
                      debug=QUICK_LINKS)
    for i in range(2):
        g.kill_master(f"k:realsentinel:{i}")
    for s in g.sentinels:
        log = events(s.log_text())
        assert any(x.startswith("+switch-master") for x in log)


def test_mixed_sentinels_and_password(group_factory):
    """Two engine sentinels and one redis-sentinel agree (hellos, votes) on masters that
    require a password (``sentinel auth-pass``)."""
    g = Group("engine", "engine", sentinels=3, quorum=2, down_after=1000,
              password="s3cret", debug=QUICK_LINKS)
    g.sentinels[2] = SentinelProc("real", g.nodes[0].port, 2, 1000, 3000, (), "s3cret",
                                  QUICK_LINKS)
    try:
        g.start()
        for i in range(2):
            g.kill_master(f"k:mixed:{i}")
    finally:
        g.cleanup()


def test_repeated_master_kills(group_factory):
    """Many SIGKILLs of the master in a row; after each one every sentinel reports the
    same single master, the replicas follow it and no acknowledged write is lost."""
    g = group_factory("engine", "engine", sentinels=3, quorum=2, down_after=800,
                      failover_timeout=2000, debug=QUICK_LINKS)
    times = []
    for i in range(9):
        g.kill_master(f"k:repeat:{i}")
        times.append(g.failover_seconds)
    with g.client(g.wait_stable()) as r:
        for i in range(9):
            assert r.get(f"k:repeat:{i}") is not None
    assert max(times) < 15, times


def test_sentinel_killed_during_failover(group_factory):
    """The elected leader is killed in the middle of its failover: the two others take
    over in a later epoch, and the killed sentinel, started again, learns the outcome."""
    g = group_factory("engine", "engine", sentinels=3, quorum=2, down_after=800,
                      failover_timeout=2000, debug=QUICK_LINKS)
    old = g.wait_stable()
    value = g.acked_write(old, "k:leader")
    victim = g.node(old)
    victim.kill()
    KILLS["count"] += 1
    leader = None
    deadline = time.time() + 30
    while leader is None and time.time() < deadline:
        for s in g.sentinels:
            if "+elected-leader" in s.log_text():
                leader = s
                break
        else:
            time.sleep(0.005)
    assert leader is not None, "nobody was elected"
    leader.kill()
    g.nodes.remove(victim)
    g.dead.append(victim)
    new = g.wait_stable(exclude=old, timeout=60)
    with g.client(new) as r:
        assert r.get("k:leader") == value
    leader.start()
    new = g.wait_stable(timeout=40)
    assert leader.master_addr() == ("127.0.0.1", new)


def test_isolated_sentinel_does_not_fail_over_alone(group_factory):
    """With quorum 2 of 3, one sentinel whose peers are stopped sees the master down
    (+sdown) but never reaches ODOWN, so nothing is promoted."""
    g = group_factory("engine", "engine", sentinels=3, quorum=2, down_after=500)
    old = g.wait_stable()
    lone = g.sentinels[0]
    for s in g.sentinels[1:]:
        s.stop()
    g.node(old).kill()
    wait_until(lambda: "+sdown master" in lone.log_text(), 10, what="+sdown")
    time.sleep(3)
    log = lone.log_text()
    assert "+odown" not in log and "+try-failover" not in log
    assert lone.master_addr() == ("127.0.0.1", old)
    with lone.r() as r:
        master = _pairs(r.execute_command("SENTINEL", "MASTER", NAME))
        assert _flags(master) == {"master", "s_down", "disconnected"}
        with pytest.raises(redis.exceptions.ResponseError, match="NOQUORUM 1 usable"):
            r.execute_command("SENTINEL", "CKQUORUM", NAME)
    for n in g.nodes:
        if n.port != old:
            with g.client(n.port) as r:
                assert r.execute_command("ROLE")[0] == "slave"


# ----------------------------------------------------------------------------- vs redis-sentinel

STATIC_COMMANDS = [
    ("GET", "x"), ("SENTINEL",), ("SENTINEL", "FOO"), ("SENTINEL", "MASTERS", "x"),
    ("PUBLISH", "x", "y"), ("SENTINEL", "CONFIG", "GET", "*"),
    ("SENTINEL", "CONFIG", "GET", "announce*"), ("SENTINEL", "CONFIG", "SET", "foo", "bar"),
    ("SENTINEL", "CONFIG", "SET", "announce-port", "x"), ("SENTINEL", "CONFIG", "FOO"),
    ("SENTINEL", "CONFIG", "GET", "a", "b"), ("ROLE",),
    ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"),
    ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME), ("SENTINEL", "MASTER", "nosuch"),
    ("SENTINEL", "CKQUORUM", NAME), ("SENTINEL", "CKQUORUM", "nosuch"),
    ("SENTINEL", "MONITOR", "a", "127.0.0.1", "x", "1"),
    ("SENTINEL", "MONITOR", "a", "127.0.0.1", "1", "x"),
    ("SENTINEL", "MONITOR", "a", "127.0.0.1", "1", "0"),
    ("SENTINEL", "MONITOR", "a", "foo.invalid", "1", "1"),
    ("SENTINEL", "MONITOR", NAME, "127.0.0.1", "1", "1"),
    ("SENTINEL", "MONITOR", "a", "127.0.0.1", "70000", "1"),
    ("SENTINEL", "SET", NAME, "foo", "1"), ("SENTINEL", "SET", NAME, "quorum", "x"),
    ("SENTINEL", "SET", NAME, "quorum"), ("SENTINEL", "SET", "nosuch", "quorum", "1"),
    ("SENTINEL", "SET", NAME, "notification-script", "/bin/true"),
    ("SENTINEL", "SET", NAME, "parallel-syncs", "1"),
    ("SENTINEL", "DEBUG"), ("SENTINEL", "DEBUG", "foo", "1"),
    ("SENTINEL", "DEBUG", "info-period", "x"), ("SENTINEL", "DEBUG", "info-period"),
    ("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "x", "0", "*"),
    ("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.2", "1", "0", "*"),
    ("SENTINEL", "HELP"), ("SENTINEL", "SIMULATE-FAILURE", "help"),
    ("SENTINEL", "SIMULATE-FAILURE", "foo"), ("SENTINEL", "PENDING-SCRIPTS"),
    ("SENTINEL", "RESET", "nomatch*"), ("SENTINEL", "FAILOVER", "nosuch"),
    ("SENTINEL", "REMOVE", "nosuch"), ("SENTINEL", "INFO-CACHE", "nosuch"),
    ("SENTINEL", "REPLICAS", "nosuch"), ("SENTINEL", "SENTINELS", "nosuch"),
    ("SENTINEL", "MONITOR", "other", "127.0.0.1", "1", "1"), ("SENTINEL", "REMOVE", "other"),
    ("INFO", "keyspace"), ("CONFIG", "GET", "port"), ("SELECT", "1"), ("QUIT",),
    ("ECHO", "x"), ("HELLO", "4"), ("AUTH", "x"), ("PING",), ("SHUTDOWN", "ABORT"),
    ("SENTINEL", "MYID", "x"), ("SENTINEL", "FLUSHCONFIG", "x"), ("SUBSCRIBE",),
]


def _fields(reply: bytes) -> list[bytes]:
    """The field names of a flat RESP map reply (every other bulk string)."""
    bulks = [x for x in reply.split(b"\r\n") if x and x[:1] not in (b"$", b"*")]
    return bulks[::2]


def test_replies_match_redis_sentinel(group_factory):
    """An engine sentinel and redis-sentinel 7.0 watching the same master give the same
    reply bytes, field names and INFO sentinel section."""
    g = group_factory("real", "engine", replicas=1, sentinels=1, quorum=1, down_after=5000)
    real = SentinelProc("real", g.nodes[0].port, 1, 5000, 3000)
    g.sentinels.append(real)
    real.start()
    g.wait_stable()
    with RawClient(g.sentinels[0].port) as e, RawClient(real.port) as r:
        for cmd in STATIC_COMMANDS:
            assert e.call(*cmd) == r.call(*cmd), cmd
        for cmd in [("SENTINEL", "MASTER", NAME), ("SENTINEL", "MASTERS"),
                    ("SENTINEL", "REPLICAS", NAME), ("SENTINEL", "SLAVES", NAME),
                    ("SENTINEL", "SENTINELS", NAME), ("SENTINEL", "DEBUG")]:
            assert _fields(e.call(*cmd)) == _fields(r.call(*cmd)), cmd
        assert e.call("INFO", "sentinel") == r.call("INFO", "sentinel")
        sections = [x for x in e.call("INFO").split(b"\r\n") if x.startswith(b"# ")]
        assert sections == [x for x in r.call("INFO").split(b"\r\n") if x.startswith(b"# ")]
        assert len(e.call("SENTINEL", "MYID")) == len(r.call("SENTINEL", "MYID"))
        port = str(g.nodes[0].port)
        assert e.call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", port, "0", "*") == \
            r.call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", port, "0", "*")
    # both logged the same events for the same commands
    for s in g.sentinels:
        log = events(s.log_text())
        assert "+monitor master other 127.0.0.1 1 quorum 1" in log
        assert "-monitor master other 127.0.0.1 1" in log
        assert any(re.fullmatch(rf"\+set master {NAME} 127\.0\.0\.1 \d+ parallel-syncs 1", x)
                   for x in log)


BAD_CONFIGS = [
    "sentinel monitor m 127.0.0.1 1 0\n",
    "sentinel foo bar\n",
    "sentinel down-after-milliseconds m 10\n",
    "sentinel myid abc\n",
    "sentinel monitor m 127.0.0.1 1 1\nsentinel monitor m 127.0.0.1 2 1\n",
    "port 1\nsentinel known-replica m 127.0.0.1 5\nsentinel monitor m 127.0.0.1 1 1\n"
    "sentinel known-replica m 127.0.0.1 5\n",
    "sentinel monitor m 127.0.0.1 1 1\nsentinel down-after-milliseconds m 0\n",
    "sentinel monitor m 127.0.0.1 1 1\nsentinel resolve-hostnames maybe\n",
]


def _run_all(cmds: list[list[str]], cwd: str) -> list[tuple[int, str, list[str]]]:
    """Run the commands at once; (exit code, stderr, log messages) of each."""
    procs = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for c in cmds]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=30)
        msgs = [re.sub(r"^\d+:X \S+ \S+ \S+ \S+ ", "", x) for x in stdout.splitlines()]
        out.append((p.returncode, stderr, msgs))
    return out


def test_start_up_matches_redis_sentinel(tmp_path):
    """The start-up log lines, the refusals (no config file, a bad directive) and the
    config file written at the first start are redis-sentinel's."""
    real = require_binary("redis-sentinel")
    engine = [sys.executable, "-m", "redislab", "sentinel"]
    cmds = []
    for i, text in enumerate(BAD_CONFIGS):
        conf = tmp_path / f"bad{i}.conf"
        conf.write_text(text)
        cmds += [engine + [str(conf)], [real, str(conf)]]
    cmds += [engine + ["--port", "0"], [sys.executable, "-m", "redislab", "server",
                                        "--sentinel"]]
    results = _run_all(cmds, str(tmp_path))
    for i, text in enumerate(BAD_CONFIGS):
        assert results[2 * i][:2] == results[2 * i + 1][:2], text
    no_conf = (1, "", ["# Sentinel needs config file on disk to save state. Exiting..."])
    assert results[-2] == results[-1] == no_conf
    master = free_port()
    got = {}
    for kind, cmd in (("engine", engine), ("real", [real])):
        conf = tmp_path / f"{kind}.conf"
        port = free_port()
        conf.write_text(f"port {port}\nsentinel monitor {NAME} 127.0.0.1 {master} 2\n")
        proc = subprocess.Popen(cmd + [str(conf)], cwd=tmp_path, stdout=subprocess.PIPE,
                                text=True)
        wait_ping(port, proc=proc)
        with RawClient(port) as c:
            c.send_raw(b"SHUTDOWN\r\n")
        out, _ = proc.communicate(timeout=10)
        lines = [re.sub(r"^\d+:X \d\d \w{3} \d{4} [\d:.]+ ", "", x) for x in out.splitlines()]
        lines = [re.sub(r"pid=\d+|[0-9a-f]{40}|port=\d+", "#", x) for x in lines
                 if "TCP backlog" not in x and "open files" not in x]
        conf_text = conf.read_text()
        got[kind] = (lines, re.sub(r"[0-9a-f]{40}|\d{4,}", "#", "\n".join(
            sorted(x for x in conf_text.splitlines() if x.startswith("sentinel")))),
            f"port {port}" in conf_text)
    assert got["engine"] == got["real"]
    assert "# Sentinel ID is #" in got["engine"][0]


def test_sentinel_is_unknown_outside_sentinel_mode(both):
    both("SENTINEL", "MASTERS")
    both("SENTINEL")


# ----------------------------------------------------------------------------- DEBUG PARTITION


def _debug_partition(port: int, on: bool, password: str | None = None) -> None:
    with redis.Redis(port=port, password=password, socket_timeout=5,
                     retry=Retry(NoBackoff(), 0)) as r:
        assert r.execute_command("DEBUG", "PARTITION", "ON" if on else "OFF") == b"OK"


def test_partitioned_master_split_brain_then_converted(group_factory):
    """DEBUG PARTITION ON on the master (the engine backend's partition): the sentinels
    lose it (their connections are refused once they name themselves), agree it is down
    and promote a replica; the host can still write to the old master (a split brain);
    after OFF the sentinels convert it to a replica of the new master and what it took
    during the partition is gone."""
    g = group_factory("engine", "engine", sentinels=3, quorum=2, down_after=1000,
                      node_extra=("--enable-debug-command", "local"), debug=QUICK_LINKS)
    old = g.wait_stable()
    value = g.acked_write(old, "before")
    _debug_partition(old, True)
    new = wait_until(lambda: (p := g.agreed_master()) not in (None, old) and p, 40,
                     what="a failover away from the partitioned master")
    with g.client(old) as r:  # still reachable from the host, still a master
        assert r.execute_command("ROLE")[0] == "master"
        r.set("split-brain", "lost")
    wait_until(lambda: any(f"+switch-master {NAME} 127.0.0.1 {old} 127.0.0.1 {new}"
                           in s.log_text() for s in g.sentinels), 20, what="+switch-master")
    with g.client(new) as r:
        assert r.get("before") == value
        assert r.get("split-brain") is None
    _debug_partition(old, False)
    new = g.wait_stable(timeout=60)
    with g.client(old) as r:
        assert r.execute_command("ROLE")[0] == "slave"
        wait_until(lambda: r.get("before") == value, 20, what="the old master resynced")
        assert r.get("split-brain") is None
    assert any(f"+convert-to-slave slave 127.0.0.1:{old}" in s.log_text()
               for s in g.sentinels)
    assert "Partition healed" in g.node(old).log_text()


def test_partitioned_sentinel(group_factory):
    """DEBUG PARTITION ON on a sentinel: it closes its links and its reconnects are
    refused, so it sees the master down alone (no quorum: no failover); the other
    sentinels' connections to it are closed, so they see it down; after OFF everything
    is reachable again."""
    g = group_factory("engine", "engine", sentinels=3, quorum=2, down_after=1000,
                      sentinel_extra=("enable-debug-command local",), debug=QUICK_LINKS)
    master = g.wait_stable()
    lone, *rest = g.sentinels
    with lone.r() as r:
        assert "PARTITION <ON|OFF>" in r.execute_command("DEBUG", "HELP")
        assert r.execute_command("PING") is True
    _debug_partition(lone.port, True)
    wait_until(lambda: f"+sdown master {NAME} 127.0.0.1 {master}" in lone.log_text(), 20,
               what="the partitioned sentinel seeing the master down")
    for s in rest:
        wait_until(lambda: re.search(rf"\+sdown sentinel \S+ 127\.0\.0\.1 {lone.port} ",
                                     s.log_text()), 20,
                   what="the other sentinels seeing the partitioned one down")
    assert g.agreed_master(rest) == master  # the others still see the master fine
    with lone.r() as r:  # the host is still served
        assert int(_pairs(r.execute_command("SENTINEL", "MASTER", NAME))["port"]) == master
    _debug_partition(lone.port, False)
    wait_until(lambda: f"-sdown master {NAME} 127.0.0.1 {master}" in lone.log_text(), 20,
               what="the master reachable again")
    for s in rest:
        wait_until(lambda: re.search(rf"-sdown sentinel \S+ 127\.0\.0\.1 {lone.port} ",
                                     s.log_text()), 20, what="the sentinel reachable again")
    assert g.wait_stable() == master
    assert "+odown" not in lone.log_text()


# ----------------------------------------------------------------------------- last


def test_enough_kills():
    """The suite killed masters at least 20 times (run last in this module)."""
    if KILLS["count"] == 0:
        pytest.skip("run with the rest of the module")
    assert KILLS["count"] >= 20, KILLS
