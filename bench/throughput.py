"""Throughput: redis-benchmark SET/GET against the engine, a real redis-server and
fakeredis' TCP server, in one run.

    python bench/throughput.py [--requests N] [--quick] [--clients 50]

Runs ``redis-benchmark -t set,get -c 50 -n N --csv`` at ``-P 1`` and ``-P 16`` (with 8 x N
requests, ``--p16-factor``, so the run lasts long enough to measure) against each
server and prints requests/s, the ratios engine/real and engine/fakeredis, and whether the
targets are met (engine >= 0.5x real at -P 1, >= 0.25x real at -P 16, >= 5x fakeredis).
fakeredis gets fewer requests (``--fake-requests``): it is slow, and requests/s does not
depend much on the count.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _servers import Server  # noqa: E402

TARGET_REAL = {1: 0.5, 16: 0.25}
TARGET_FAKE = 5.0


def benchmark(port: int, requests: int, pipeline: int, clients: int) -> dict[str, float]:
    exe = shutil.which("redis-benchmark")
    if not exe:
        raise SystemExit("redis-benchmark not found on PATH")
    res = subprocess.run(
        [exe, "-p", str(port), "-t", "set,get", "-c", str(clients), "-n", str(requests),
         "-P", str(pipeline), "--csv"],
        capture_output=True, text=True, timeout=1800,
    )
    rows = list(csv.reader(io.StringIO(res.stdout)))
    out: dict[str, float] = {}
    for row in rows:
        if len(row) >= 2 and row[0] != "test":
            try:
                out[row[0]] = float(row[1])
            except ValueError:
                pass
    if not out:
        raise RuntimeError(f"no results (rc={res.returncode}): {res.stdout} {res.stderr}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", "-n", type=int, default=100_000)
    ap.add_argument("--fake-requests", type=int, default=None,
                    help="requests for fakeredis (default: requests/5, at most 20000)")
    ap.add_argument("--clients", "-c", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="20000 requests (2000 for fakeredis)")
    ap.add_argument("--skip-fakeredis", action="store_true")
    ap.add_argument("--p16-factor", type=int, default=8,
                    help="-P 16 runs send this many times the requests (default 8): at -P 16 "
                         "a run of -n requests is over in a fraction of a second, too short "
                         "for a steady figure")
    ap.add_argument("--repeat", "-r", type=int, default=1,
                    help="run everything R times, interleaved, and keep each best figure "
                         "(steadier on a busy machine)")
    args = ap.parse_args()
    n = 20_000 if args.quick else args.requests
    fake_n = args.fake_requests or (2_000 if args.quick else min(20_000, max(1000, n // 5)))

    kinds = ["engine", "real"] + ([] if args.skip_fakeredis else ["fakeredis"])
    results: dict[str, dict[tuple[str, int], float]] = {k: {} for k in kinds}
    servers = []
    try:
        for kind in kinds:
            servers.append(Server(kind).start())
        for rep in range(args.repeat):
            for srv in servers:
                for pipeline in (1, 16):
                    reqs = fake_n if srv.kind == "fakeredis" else n
                    if pipeline > 1 and srv.kind != "fakeredis":  # slow enough already
                        reqs *= args.p16_factor
                    print(f"  [{rep + 1}/{args.repeat}] {srv.label:<13} -P {pipeline:<2} "
                          f"-n {reqs} ...", file=sys.stderr, flush=True)
                    got = benchmark(srv.port, reqs, pipeline, args.clients)
                    for test, rps in got.items():
                        key = (test, pipeline)
                        results[srv.kind][key] = max(rps, results[srv.kind].get(key, 0.0))
    finally:
        for srv in servers:
            srv.cleanup()

    print(f"\nredis-benchmark -t set,get -c {args.clients} -n {n} "
          f"(fakeredis -n {fake_n}; engine and redis x{args.p16_factor} at -P 16), requests/s"
          + (f", best of {args.repeat}" if args.repeat > 1 else "") + "\n")
    head = f"{'test':<10} {'engine':>10} {'redis':>10} {'fakeredis':>10} " \
           f"{'eng/redis':>10} {'target':>7} {'eng/fake':>9} {'target':>7}"
    print(head)
    print("-" * len(head))
    ok = True
    for pipeline in (1, 16):
        for test in ("SET", "GET"):
            e = results["engine"].get((test, pipeline))
            r = results["real"].get((test, pipeline))
            f = results.get("fakeredis", {}).get((test, pipeline))
            r_ratio = e / r if e and r else None
            f_ratio = e / f if e and f else None
            r_ok = r_ratio is not None and r_ratio >= TARGET_REAL[pipeline]
            f_ok = f_ratio is None or f_ratio >= TARGET_FAKE
            ok &= r_ok and f_ok
            fake_cols = (f"{f:>10.0f}", f"{f_ratio:>8.1f}x {'ok' if f_ok else 'MISS':>4}"
                         f">={TARGET_FAKE:.0f}") if f_ratio else (f"{'-':>10}", f"{'-':>9}")
            print(f"{test + ' -P' + str(pipeline):<10} {e or 0:>10.0f} {r or 0:>10.0f} "
                  f"{fake_cols[0]} {r_ratio or 0:>9.3f}x "
                  f"{'ok' if r_ok else 'MISS':>4}>={TARGET_REAL[pipeline]:<4} {fake_cols[1]}")
    print("\nall targets met" if ok else "\nsome targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
