"""Memory: load 1,000,000 small string keys into the engine and into a real redis-server
and compare the processes' resident memory (VmRSS from /proc).

    python bench/memory.py [--keys N]

Keys are ``key:%07d`` -> ``value:%07d``, sent as a RESP pipe through ``redis-cli --pipe``
(the bulk-loading method Redis documents). Target: engine RSS <= 3x redis-server RSS.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _servers import Server  # noqa: E402

TARGET = 3.0


def write_pipe(path: Path, n: int) -> None:
    with open(path, "wb") as f:
        batch = []
        for i in range(n):
            k, v = b"key:%07d" % i, b"value:%07d" % i
            batch.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
            if len(batch) == 10000:
                f.write(b"".join(batch))
                batch.clear()
        f.write(b"".join(batch))


def load(srv: Server, pipe: Path, n: int) -> float:
    cli = shutil.which("redis-cli")
    if not cli:
        raise SystemExit("redis-cli not found on PATH")
    t0 = time.perf_counter()
    with open(pipe, "rb") as f:
        res = subprocess.run([cli, "-p", str(srv.port), "--pipe"], stdin=f,
                             capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - t0
    if f"errors: 0, replies: {n}" not in res.stdout:
        raise RuntimeError(f"{srv.label}: redis-cli --pipe said {res.stdout!r} {res.stderr!r}")
    out = subprocess.run([cli, "-p", str(srv.port), "DBSIZE"], capture_output=True, text=True)
    if out.stdout.strip() != str(n):
        raise RuntimeError(f"{srv.label}: DBSIZE is {out.stdout.strip()}, expected {n}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", "-n", type=int, default=1_000_000)
    args = ap.parse_args()
    n = args.keys

    tmp = Path(tempfile.mkdtemp(prefix="redislab-membench-"))
    pipe = tmp / "load.resp"
    rows = []
    try:
        write_pipe(pipe, n)
        for kind in ("engine", "real"):
            srv = Server(kind).start()
            try:
                before = srv.rss_kb()
                secs = load(srv, pipe, n)
                time.sleep(1.0)  # let the server settle (freed read buffers, cron)
                after = srv.rss_kb()
                rows.append((srv.label, before, after, secs))
            finally:
                srv.cleanup()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{n:,} keys key:%07d -> value:%07d, loaded with redis-cli --pipe\n")
    print(f"{'server':<14} {'RSS empty':>10} {'RSS loaded':>11} {'growth':>10} "
          f"{'bytes/key':>10} {'load s':>7} {'keys/s':>9}")
    for label, before, after, secs in rows:
        print(f"{label:<14} {before / 1024:>8.1f}MB {after / 1024:>9.1f}MB "
              f"{(after - before) / 1024:>8.1f}MB {(after - before) * 1024 / n:>10.0f} "
              f"{secs:>7.1f} {n / secs:>9.0f}")
    (_, eb, ea, _), (_, rb, ra, _) = rows
    ratio = ea / ra
    growth_ratio = (ea - eb) / max(1, ra - rb)
    print(f"\nengine/redis RSS: {ratio:.2f}x (target <= {TARGET:.0f}x: "
          f"{'ok' if ratio <= TARGET else 'MISS'}); growth ratio {growth_ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
