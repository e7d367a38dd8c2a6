"""A master, its replicas and the sentinels watching them, as subprocesses on 127.0.0.1:
engine nodes and sentinels (``redislab server`` / ``redislab sentinel``) or real ones
(``redis-server`` / ``redis-sentinel``). Used by the sentinel benches."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from _common import FAST, Proc, binary, wait_until

NAME = "mymaster"


class GroupProc(Proc):
    """A data node or a sentinel process (``role`` node or sentinel); a sentinel reads
    sentinel.conf in its directory."""

    def __init__(self, kind: str, role: str, args: list[str], port: int | None = None,
                 workdir: str | None = None):
        super().__init__(kind, [*FAST, *args], port, workdir)
        self.role = role

    def command_line(self) -> list[str]:
        if self.role != "sentinel":
            return super().command_line()
        base = ([sys.executable, "-m", "redislab", "sentinel"] if self.kind == "engine"
                else [binary("redis-sentinel")])
        return base + [os.path.join(self.dir, "sentinel.conf")]

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=2,
                           socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))


class Group:
    """Master + replicas + sentinels of one kind (engine or real)."""

    def __init__(self, kind: str, replicas: int = 2, sentinels: int = 3, quorum: int = 2,
                 down_after: int = 1000, failover_timeout: int = 10000,
                 debug: tuple[str, ...] = ()):
        self.kind = kind
        self.debug = debug
        master = GroupProc(kind, "node", [])
        self.nodes = [master] + [GroupProc(kind, "node", ["--replicaof", "127.0.0.1",
                                                     str(master.port)])
                                 for _ in range(replicas)]
        self.sentinels = []
        for _ in range(sentinels):
            s = GroupProc(kind, "sentinel", [])
            Path(s.dir, "sentinel.conf").write_text("\n".join([
                f"port {s.port}", f'dir "{s.dir}"', f'logfile "{s.logfile}"',
                f"sentinel monitor {NAME} 127.0.0.1 {master.port} {quorum}",
                f"sentinel down-after-milliseconds {NAME} {down_after}",
                f"sentinel failover-timeout {NAME} {failover_timeout}",
            ]) + "\n")
            self.sentinels.append(s)
        self.dead: list[GroupProc] = []

    def start(self) -> "Group":
        for n in self.nodes:
            n.start(wait=False)
        for n in self.nodes:
            n.wait_up()
        with self.nodes[0].client() as r:
            wait_until(lambda: r.info("replication")["connected_slaves"]
                       == len(self.nodes) - 1, 20, what="the replicas")
        for s in self.sentinels:
            s.start(wait=False)
        for s in self.sentinels:
            s.wait_up()
            if self.debug:
                with s.client() as r:
                    r.execute_command("SENTINEL", "DEBUG", *self.debug)
        return self

    def cleanup(self) -> None:
        for p in self.sentinels + self.nodes + self.dead:
            p.cleanup()

    def node(self, port: int) -> GroupProc:
        return next(n for n in self.nodes if n.port == port)

    def agreed_master(self) -> int | None:
        ports = set()
        for s in self.sentinels:
            if not s.alive():
                continue
            with s.client() as r:
                got = r.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
            if not got:
                return None
            ports.add(int(got[1]))
        return ports.pop() if len(ports) == 1 else None

    def replicas_follow(self, master: int) -> bool:
        for n in self.nodes:
            if n.port == master:
                continue
            with n.client() as r:
                role = r.execute_command("ROLE")
            if role[0] != "slave" or int(role[2]) != master or role[3] != "connected":
                return False
        return True

    def sentinels_ready(self, master: int) -> bool:
        """Every sentinel knows the other sentinels and every live replica, up."""
        want = {n.port for n in self.nodes if n.port != master}
        for s in self.sentinels:
            if not s.alive():
                continue
            with s.client() as r:
                m = r.execute_command("SENTINEL", "MASTER", NAME)
                m = m if isinstance(m, dict) else dict(zip(m[::2], m[1::2]))
                flags = m["flags"] if isinstance(m["flags"], str) else ",".join(m["flags"])
                if int(m["port"]) != master or flags != "master":
                    return False
                if int(m["num-other-sentinels"]) < len(self.sentinels) - 1:
                    return False
                seen = set()
                for e in r.execute_command("SENTINEL", "REPLICAS", NAME):
                    e = e if isinstance(e, dict) else dict(zip(e[::2], e[1::2]))
                    f = e["flags"] if isinstance(e["flags"], str) else ",".join(e["flags"])
                    if f == "slave" and e["master-link-status"] == "ok" \
                            and int(e["master-port"]) == master:
                        seen.add(int(e["port"]))
            if not want <= seen:
                return False
        return True

    def wait_stable(self, exclude: int | None = None, timeout: float = 60) -> int:
        def stable() -> int | None:
            port = self.agreed_master()
            if port is None or port == exclude:
                return None
            with self.node(port).client() as r:
                if r.execute_command("ROLE")[0] != "master":
                    return None
            if self.replicas_follow(port) and self.sentinels_ready(port):
                return port
            return None

        return int(wait_until(stable, timeout, 0.1, "a stable group"))

    def kill_and_time(self, key: str) -> float:
        """SIGKILL the master; seconds until the sentinels name a new master that accepts
        a write and every live replica replicates from it."""
        old = self.wait_stable()
        with self.node(old).client() as r:
            r.set(key, "before")
            r.execute_command("WAIT", len(self.nodes) - 1, 2000)
        victim = self.node(old)
        t0 = time.perf_counter()
        victim.kill()
        self.nodes.remove(victim)
        self.dead.append(victim)
        while True:
            try:
                port = self.agreed_master()
                if port is not None and port != old:
                    with self.node(port).client() as r:
                        r.set(key, "after")
                    if self.replicas_follow(port):
                        elapsed = time.perf_counter() - t0
                        with self.node(port).client() as r:
                            assert r.get(key) == "after"
                        return elapsed
            except (OSError, redis.exceptions.RedisError):
                pass
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("no failover within 120 s")
            time.sleep(0.01)

    def restart_as_replica(self, victim: GroupProc, master: int) -> None:
        again = GroupProc(self.kind, "node", ["--replicaof", "127.0.0.1", str(master)],
                     port=victim.port, workdir=victim.dir)
        again.start()
        self.dead.remove(victim)
        self.nodes.append(again)
