"""Cluster soak: a bounded number of random master kills under a steady write load.

Six nodes (3 masters + 3 replicas). Before each kill the cluster must have converged
(cluster_state:ok everywhere, one owner per slot in every node's view, replicas linked);
then a batch of writes to the victim's slots is acknowledged with ``WAIT 1``, the victim is
SIGKILLed, the failover is timed, every acknowledged write so far is read back, and the
victim is restarted (it rejoins as a replica of its replacement).

    python bench/cluster_soak.py [--kills 10] [--kind engine|real|both] [--node-timeout 1000]

Prints failover times (median / max), the number of acknowledged writes lost (must be 0)
and the slots claimed twice in any view (must be 0).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cluster import Cluster, converged, myself, nodes_view, slots_of, state  # noqa: E402
from _common import LABELS, Conn  # noqa: E402
from cluster_lab import key_slot  # noqa: E402 (tests/, put on the path by _common)


def soak(kind: str, kills: int, node_timeout: int, seed: int) -> dict:
    rng = random.Random(seed)
    cluster = Cluster(kind, 6, node_timeout).start()
    acked: dict[str, str] = {}
    times: list[float] = []
    lost = 0
    try:
        cluster.create(replicas=1)
        for k in range(kills):
            cluster.wait(lambda: converged(cluster), 90, "convergence")
            masters = [n for n in cluster.alive() if "master" in myself(n.port)["flags"]
                       and myself(n.port)["slots"]]
            victim = rng.choice(masters)
            me = myself(victim.port)
            mine = sorted(slots_of(me["slots"]))
            replica_ids = {myself(n.port)["id"] for n in cluster.alive()
                           if myself(n.port)["master"] == me["id"]}
            batch = {}
            with Conn(victim.port) as c:
                i = 0
                while len(batch) < 50:
                    key = f"soak:{k}:{i}"
                    i += 1
                    if key_slot(key.encode()) not in mine:
                        continue
                    val = f"{k}-{i}"
                    if c.call("SET", key, val) == "OK":
                        batch[key] = val
                for _ in range(50):
                    if c.call("WAIT", 1, 1000) == 1:
                        break
                else:
                    raise RuntimeError("writes not acknowledged by a replica")
            acked.update(batch)
            survivors = [n for n in cluster.alive() if n is not victim]
            t0 = time.perf_counter()
            victim.kill()

            def failed_over() -> bool:
                for n in survivors:
                    if state(n.port) != "ok":
                        return False
                    owners = {d["id"] for d in nodes_view(n.port)
                              if "master" in d["flags"] and set(mine) <= slots_of(d["slots"])}
                    if not owners or not owners <= replica_ids:
                        return False
                return True

            cluster.wait(failed_over, 60, f"failover #{k}")
            times.append(time.perf_counter() - t0)
            # read back every acknowledged write from its owner
            owner_of: dict[int, int] = {}
            for d in nodes_view(survivors[0].port):
                if "master" in d["flags"]:
                    for s in slots_of(d["slots"]):
                        owner_of[s] = d["port"]
            conns: dict[int, Conn] = {}
            try:
                for key, val in acked.items():
                    port = owner_of[key_slot(key.encode())]
                    c = conns.get(port) or conns.setdefault(port, Conn(port))
                    if c.call("GET", key) != val:
                        lost += 1
            finally:
                for c in conns.values():
                    c.close()
            victim.start()
        cluster.wait(lambda: converged(cluster), 90, "final convergence")
        double = 0
        for n in cluster.alive():
            seen: set[int] = set()
            for d in nodes_view(n.port):
                if "master" in d["flags"]:
                    s = slots_of(d["slots"])
                    double += len(seen & s)
                    seen |= s
    finally:
        cluster.cleanup()
    return {"times": times, "acked": len(acked), "lost": lost, "double": double}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--kind", choices=("engine", "real", "both"), default="engine")
    ap.add_argument("--node-timeout", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    opts = ap.parse_args()
    kinds = ("real", "engine") if opts.kind == "both" else (opts.kind,)
    ok = True
    for kind in kinds:
        t0 = time.time()
        r = soak(kind, opts.kills, opts.node_timeout, opts.seed)
        times = r["times"]
        print(f"{LABELS[kind]:13} {len(times)} kills in {time.time() - t0:.0f}s, "
              f"cluster-node-timeout {opts.node_timeout} ms: failover median "
              f"{statistics.median(times):.2f}s max {max(times):.2f}s; acknowledged writes "
              f"{r['acked']}, lost {r['lost']}; slots claimed twice {r['double']}")
        ok = ok and r["lost"] == 0 and r["double"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
