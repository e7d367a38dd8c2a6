"""What the panes know about a lab's nodes, built from the INFO polls (no I/O here).

:class:`LabModel` keeps the last :class:`~redislab.tui.messages.NodeInfo` of every node
and derives what the topology map draws: who replicates whom (from the replicas' own
``master_host`` / ``master_port``, so a ``REPLICAOF`` typed in a console shows at once),
the link state, offsets and lag, what the sentinels agree on, and cluster slot ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .messages import NodeInfo


@dataclass
class NodeState:
    name: str
    kind: str = "server"
    address: tuple[str, int] = ("127.0.0.1", 0)
    internal: tuple[str, int] = ("127.0.0.1", 0)
    status: str = "starting"  # starting | up | down | slow | error
    error: str = ""
    info: dict[str, dict[str, str]] = field(default_factory=dict)
    cluster_nodes: str | None = None

    @property
    def repl(self) -> dict[str, str]:
        return self.info.get("replication", {})

    @property
    def role(self) -> str:
        if self.kind == "sentinel":
            return "sentinel"
        return self.repl.get("role", "")

    @property
    def offset(self) -> int | None:
        key = "slave_repl_offset" if self.role == "slave" else "master_repl_offset"
        try:
            return int(self.repl[key])
        except (KeyError, ValueError):
            return None

    @property
    def link(self) -> str:
        """A replica's link to its master as it sees it: up, syncing or down."""
        r = self.repl
        if r.get("master_link_status") == "up":
            return "up"
        if r.get("master_sync_in_progress") == "1":
            return "syncing"
        return "down"

    def myself(self) -> list[str] | None:
        """This node's own line of CLUSTER NODES, split."""
        for line in (self.cluster_nodes or "").splitlines():
            parts = line.split()
            if len(parts) >= 8 and "myself" in parts[2].split(","):
                return parts
        return None


@dataclass
class Sentinel:
    name: str
    master: str  # monitored name: mymaster
    status: str
    address: str
    node: str | None  # the lab node at that address


class LabModel:
    """The nodes of one lab and what their last polls said."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeState] = {}

    def set_nodes(self, nodes: list[tuple[str, str, tuple[str, int], tuple[str, int]]]) -> None:
        """``(name, kind, address, internal)`` of every node (keeps what was polled)."""
        old = self.nodes
        self.nodes = {}
        for name, kind, addr, internal in nodes:
            state = old.get(name) or NodeState(name, kind)
            state.kind, state.address, state.internal = kind, addr, internal
            self.nodes[name] = state

    def update(self, msg: NodeInfo) -> bool:
        """Take a poll in; True when what the map shows may have changed."""
        state = self.nodes.get(msg.node)
        if state is None:
            return False
        before = self._signature(state)
        state.status, state.error = msg.status, msg.error
        if msg.status == "up":
            state.info = msg.sections
            state.cluster_nodes = msg.cluster_nodes
        return self._signature(state) != before

    @staticmethod
    def _signature(state: NodeState) -> Any:
        r = state.repl
        keys = ("role", "master_host", "master_port", "master_link_status",
                "master_sync_in_progress", "connected_slaves", "master_repl_offset",
                "slave_repl_offset")
        slaves = tuple(v for k, v in sorted(r.items()) if k.startswith("slave") and k[5:].isdigit())
        sent = tuple(v for k, v in sorted(state.info.get("sentinel", {}).items())
                     if k.startswith("master"))
        return (state.status, tuple(r.get(k) for k in keys), slaves, sent,
                state.cluster_nodes)

    # ------------------------------------------------------------------ lookups

    def by_address(self, host: str, port: int | str) -> str | None:
        try:
            port = int(port)
        except (TypeError, ValueError):
            return None
        for s in self.nodes.values():
            if s.internal == (host, port) or s.address == (host, port):
                return s.name
        hits = [s.name for s in self.nodes.values()
                if s.internal[1] == port or s.address[1] == port]
        return hits[0] if len(hits) == 1 else None

    def master_of(self, name: str) -> tuple[str | None, str]:
        """(the lab node ``name`` replicates, or None; its address as INFO says it)."""
        s = self.nodes[name]
        if s.role != "slave":
            return None, ""
        host, port = s.repl.get("master_host", ""), s.repl.get("master_port", "")
        return self.by_address(host, port), f"{host}:{port}"

    def replica_entry(self, master: str, replica: str) -> dict[str, str]:
        """The master's ``slaveN`` line about ``replica`` (state, offset, lag), if any."""
        m = self.nodes[master]
        r = self.nodes[replica]
        for key, value in m.repl.items():
            if key.startswith("slave") and key[5:].isdigit():
                fields = dict(kv.split("=", 1) for kv in value.split(",") if "=" in kv)
                if self.by_address(fields.get("ip", ""), fields.get("port", "")) == r.name:
                    return fields
        return {}

    def sentinels(self) -> list[Sentinel]:
        out = []
        for s in self.nodes.values():
            if s.kind != "sentinel":
                continue
            for key, value in s.info.get("sentinel", {}).items():
                if key.startswith("master") and "name=" in value:
                    fields = dict(kv.split("=", 1) for kv in value.split(",") if "=" in kv)
                    addr = fields.get("address", "")
                    host, _, port = addr.rpartition(":")
                    out.append(Sentinel(s.name, fields.get("name", "?"),
                                        fields.get("status", "?"), addr,
                                        self.by_address(host, port)))
        return out

    def link(self, replica: str) -> str:
        """The link of ``replica`` to its master: up, syncing (the master is preparing or
        sending the snapshot: ``wait_bgsave`` / ``send_bulk``) or down."""
        s = self.nodes[replica]
        if s.status != "up":
            return "down"
        link = s.link
        if link == "down":
            master, _ = self.master_of(replica)
            if master is not None and self.nodes[master].status == "up":
                state = self.replica_entry(master, replica).get("state", "")
                if state in ("wait_bgsave", "send_bulk"):
                    return "syncing"
        return link

    def cluster_id(self, name: str) -> str | None:
        me = self.nodes[name].myself()
        return me[0] if me else None
