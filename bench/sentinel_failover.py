"""Sentinel failover time: a master, two replicas and three sentinels (quorum 2,
``down-after-milliseconds 1000``); the master is killed (SIGKILL) and the time is taken
until the sentinels name a new master that accepts a write and every replica replicates
from it. Engine sentinels on engine nodes and redis-sentinel on redis-server, in one run;
prints both (median of the runs) and the ratio.

Targets: <= 5 s on the engine, and no slower than the real thing (ratio <= 1, with some
room for the randomness both have: failover start and election are randomized by design).

    python bench/sentinel_failover.py [--runs 3] [--down-after 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sentinel import Group  # noqa: E402

TARGET_SECONDS = 5.0


def measure(kind: str, runs: int, down_after: int) -> list[float]:
    times = []
    for i in range(runs):
        g = Group(kind, down_after=down_after).start()
        try:
            times.append(g.kill_and_time(f"bench:{i}"))
        finally:
            g.cleanup()
        print(f"  {kind:6} run {i + 1}: {times[-1]:.2f} s", flush=True)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--down-after", type=int, default=1000)
    opts = ap.parse_args()
    print(f"sentinel failover: 1 master + 2 replicas, 3 sentinels, quorum 2, "
          f"down-after-milliseconds {opts.down_after}, {opts.runs} runs each")
    results = {}
    for kind in ("engine", "real"):
        results[kind] = measure(kind, opts.runs, opts.down_after)
    eng = statistics.median(results["engine"])
    real = statistics.median(results["real"])
    print(f"engine (redislab sentinel + redislab server): median {eng:.2f} s "
          f"(min {min(results['engine']):.2f}, max {max(results['engine']):.2f})")
    print(f"real   (redis-sentinel + redis-server 7.0):   median {real:.2f} s "
          f"(min {min(results['real']):.2f}, max {max(results['real']):.2f})")
    ratio = eng / real if real else float("inf")
    print(f"ratio engine/real: {ratio:.2f}")
    ok = eng <= TARGET_SECONDS
    print(f"target engine <= {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}; "
          f"no slower than real: {'met' if ratio <= 1.0 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
