"""Start the three servers the benches compare (engine, real redis-server, fakeredis' TCP
server) as subprocesses on free ports, and read their memory from /proc."""

from __future__ import annotations

import sys
from pathlib import Path

from _common import Proc

FAKEREDIS_MAIN = """
import sys
from fakeredis import TcpFakeServer
server = TcpFakeServer(("127.0.0.1", int(sys.argv[1])), server_type="redis",
                       server_version=(7, 0))
server.daemon_threads = True
try:
    server.serve_forever()
finally:
    server.server_close()
"""


class Server(Proc):
    """One server process; ``kind`` is engine, real or fakeredis."""

    def command_line(self) -> list[str]:
        if self.kind == "fakeredis":
            return [sys.executable, "-c", FAKEREDIS_MAIN, str(self.port)]
        return super().command_line()

    def rss_kb(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")
