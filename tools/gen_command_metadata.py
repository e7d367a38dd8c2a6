#!/usr/bin/env python3
"""Generate redislab/engine/data/commands.json from a real redis-server 7.0.

The engine answers COMMAND, COMMAND INFO, COMMAND DOCS, COMMAND LIST and COMMAND GETKEYS
from this file (for the commands it actually implements). The file holds the replies of
``COMMAND INFO`` and ``COMMAND DOCS`` for every command, read over RESP3 so that the reply
types (simple strings, sets, maps) are kept:

* bulk string -> JSON string          * simple string -> {"+": "text"}
* integer -> JSON number              * null -> null
* array -> JSON list                  * set -> {"~": [...]}
* map -> {"%": [[key, value], ...]}   * double -> {",": "text"}, boolean -> {"#": true}

Usage::

    python tools/gen_command_metadata.py                 # starts redis-server itself
    python tools/gen_command_metadata.py --port 6379     # or asks a running server
    python tools/gen_command_metadata.py --check         # compare with the stored file
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "redislab" / "engine" / "data" / "commands.json"


class Resp3:
    """A tiny blocking RESP3 client that keeps reply types."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def call(self, *args: str) -> Any:
        parts = [a.encode() for a in args]
        msg = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(msg)
        return self._read()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n + 2 :]
        return out

    def _read(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return {"+": rest.decode()}
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"_":
            return None
        if kind == b",":
            return {",": rest.decode()}
        if kind == b"#":
            return {"#": rest == b"t"}
        if kind in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n).decode()
            return data[4:] if kind == b"=" else data
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            items = [self._read() for _ in range(n)]
            return {"~": items} if kind == b"~" else items
        if kind == b"%":
            n = int(rest)
            return {"%": [[self._read(), self._read()] for _ in range(n)]}
        raise ValueError(f"unexpected reply type {line!r}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sorted_info(entry: list[Any]) -> list[Any]:
    """Subcommands come in hash order from Redis; sort them so the file is stable."""
    subs = entry[9]
    if isinstance(subs, list):
        entry[9] = sorted((_sorted_info(s) for s in subs), key=lambda s: s[0])
    return entry


def _sorted_docs(doc: Any) -> Any:
    if isinstance(doc, dict) and "%" in doc:
        for pair in doc["%"]:
            if pair[0] == "subcommands" and isinstance(pair[1], dict):
                pair[1]["%"] = sorted(([k, _sorted_docs(v)] for k, v in pair[1]["%"]),
                                      key=lambda kv: kv[0])
    return doc


def collect(port: int) -> dict[str, Any]:
    c = Resp3(port)
    c.call("HELLO", "3")
    info = c.call("INFO", "server")
    version = next(line.split(":", 1)[1] for line in info.splitlines()
                   if line.startswith("redis_version:"))
    infos = c.call("COMMAND", "INFO")
    docs = c.call("COMMAND", "DOCS")["%"]
    doc_by_name = {name: body for name, body in docs}
    commands: dict[str, Any] = {}
    for entry in infos:
        name = entry[0]
        commands[name] = {"info": _sorted_info(entry),
                          "docs": _sorted_docs(doc_by_name.get(name))}
    return {"redis_version": version, "commands": dict(sorted(commands.items()))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, help="ask the redis-server already on this port")
    ap.add_argument("--server", default="redis-server", help="redis-server binary to start")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--check", action="store_true", help="only compare with the stored file")
    opts = ap.parse_args()

    proc = None
    tmp = None
    port = opts.port
    if port is None:
        binary = shutil.which(opts.server)
        if binary is None:
            print(f"{opts.server} not found", file=sys.stderr)
            return 2
        tmp = tempfile.mkdtemp(prefix="redislab-cmdmeta-")
        port = _free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", tmp, "--logfile", os.path.join(tmp, "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
    try:
        data = collect(port)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    text = json.dumps(data, indent=None, separators=(",", ":"), sort_keys=False) + "\n"
    out = Path(opts.out)
    if opts.check:
        same = out.exists() and out.read_text() == text
        print("up to date" if same else "differs")
        return 0 if same else 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out} ({len(data['commands'])} commands, Redis {data['redis_version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
