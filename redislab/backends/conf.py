"""Render a node of a topology into the redis.conf / sentinel.conf a backend starts it with.

Pure text: the backend says where things are (directory, log file, bind address, the
address other nodes use to reach each node) and gets back a file a person can read.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from ..topology import Directive, NodeSpec, Topology

Resolve = Callable[[str], tuple[str, int]]


def quote(word: str) -> str:
    """A redis.conf argument: bare when it can be, else double-quoted with escapes."""
    if word and not any(ch in word for ch in " \t\"'\\\n\r#"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def line(name: str, args: Sequence[str]) -> str:
    return " ".join([name, *(quote(a) for a in args)])


def conf_name(node: NodeSpec) -> str:
    return "sentinel.conf" if node.is_sentinel else "redis.conf"


def render(node: NodeSpec, topo: Topology, *, resolve: Resolve, basics: Iterable[Directive],
           header: str = "") -> str:
    """The conf text: a header, the backend's basics, the monitor line (sentinels), the
    node's own directives, and ``replicaof`` last."""
    out: list[str] = []
    for text in header.splitlines():
        out.append(f"# {text}".rstrip())
    if out:
        out.append("")
    for name, args in basics:
        out.append(line(name, args))
    if node.monitor is not None:
        host, port = resolve(node.monitor.master)
        out.append(line("sentinel", ("monitor", node.monitor.name, host, str(port),
                                     str(node.monitor.quorum))))
    for name, args in node.config:
        out.append(line(name, args))
    if node.replicaof is not None:
        host, port = resolve(node.replicaof)
        out.append(line("replicaof", (host, str(port))))
    return "\n".join(out) + "\n"


def local_basics(node: NodeSpec, *, directory: str, logfile: str, bind: str = "127.0.0.1",
                 extra: Iterable[Directive] = ()) -> list[Directive]:
    """Directives every node gets: where it listens, keeps data, and logs."""
    basics: list[Directive] = [
        ("port", (str(node.port),)),
        ("bind", tuple(bind.split())),
        ("daemonize", ("no",)),
        ("dir", (directory,)),
        ("logfile", (logfile,)),
    ]
    if not node.is_sentinel:
        basics += [("save", ("",)), ("appendonly", ("no",))]
    basics += list(extra)
    return basics
