"""Sentinel soak: kill the master again and again (SIGKILL), bounded in count and time.

After every kill: the sentinels must agree on one new master, it must accept writes and
hold a write that ``WAIT`` confirmed on the replicas before the kill, every replica must
follow it; the killed node is then started again as a replica. Prints each failover time
and a summary (median / max, extra switches the sentinels made on their own).

    python bench/sentinel_soak.py [--kind engine|real|both] [--kills 30] [--max-seconds 300]
        [--down-after 1000] [--ping-period MS]

``--ping-period`` applies ``SENTINEL DEBUG ping-period`` to every sentinel (a smaller
period re-establishes links sooner after a switch, see tests/engine/test_sentinel.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sentinel import Group  # noqa: E402


def soak(kind: str, kills: int, max_seconds: float, down_after: int,
         ping_period: int | None) -> tuple[int, list[float], int, str | None]:
    debug = ("ping-period", str(ping_period)) if ping_period else ()
    g = Group(kind, down_after=down_after, failover_timeout=3000, debug=debug).start()
    times: list[float] = []
    error = None
    t_start = time.time()
    try:
        for i in range(kills):
            if time.time() - t_start > max_seconds:
                break
            old = g.wait_stable()
            elapsed = g.kill_and_time(f"soak:{i}")
            times.append(elapsed)
            victim = next(p for p in g.dead if p.port == old)
            new = g.wait_stable(exclude=old)
            g.restart_as_replica(victim, new)
            new = g.wait_stable()
            with g.node(new).client() as r:
                missing = [k for k in range(i + 1) if r.get(f"soak:{k}") is None]
            if missing:
                error = f"keys lost after kill {i + 1}: {missing}"
                break
            print(f"  {kind:6} kill {i + 1:3}: {elapsed:.2f} s", flush=True)
    except Exception as exc:  # report and stop
        error = f"{type(exc).__name__}: {exc}"
    finally:
        switches = max(s.log_text().count("+switch-master") for s in g.sentinels)
        g.cleanup()
    return len(times), times, switches - len(times), error


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("engine", "real", "both"), default="engine")
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--down-after", type=int, default=1000)
    ap.add_argument("--ping-period", type=int, default=None)
    opts = ap.parse_args()
    kinds = ("engine", "real") if opts.kind == "both" else (opts.kind,)
    failed = False
    for kind in kinds:
        print(f"{kind}: up to {opts.kills} kills in {opts.max_seconds:.0f} s, "
              f"down-after-milliseconds {opts.down_after}"
              + (f", ping-period {opts.ping_period}" if opts.ping_period else ""))
        n, times, extra, error = soak(kind, opts.kills, opts.max_seconds, opts.down_after,
                                      opts.ping_period)
        if times:
            print(f"{kind}: {n} kills, failover median {statistics.median(times):.2f} s, "
                  f"max {max(times):.2f} s, extra switches {extra}")
        if error:
            failed = True
            print(f"{kind}: FAILED: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
