"""Lab topologies: pure data describing a lab's nodes. No I/O except :func:`load`.

A :class:`Topology` is a list of :class:`NodeSpec`. Each node has a name, a kind
(``server`` or ``sentinel``), the TCP port it listens on, and redis.conf directives as a
list of ``(name, args)``. Relations between nodes are kept symbolic (by node name) so each
backend can turn them into the addresses that work on it: ``replicaof`` names the master
node, ``monitor`` names the master a Sentinel watches. A backend renders the whole thing
into a real redis.conf / sentinel.conf (see ``redislab.backends.conf``).

Built-in shapes (the ones the lessons use)::

    standalone(n=1)      node1..nodeN, independent masters            6379...
    replication()        master + replica1 + replica2                 6379 6380 6381
    chain()              a -> b -> c (c replicates b, b replicates a) 6379 6380 6381
    sentinel(sentinels=3, quorum=2)
                         master + replica1 + replica2 + sentinel1..3  6379-6381, 26379...
    cluster()            node1..node6 with cluster-enabled yes        7000-7005
                         (started empty; forming 3 masters + 3 replicas is a lesson step)

Each builder takes ``password=`` (``requirepass`` on every server, ``masterauth`` on every
server so any of them can become a replica, ``sentinel auth-pass`` on sentinels) and
``base_port=``.

YAML files (``load``) use this shape; every key is optional except ``nodes`` or ``base``::

    name: my-lab
    base: sentinel            # start from a built-in shape ...
    options: {sentinels: 1, quorum: 1, password: secret, base_port: 7379}
    password: secret          # ... or give everything by hand:
    nodes:
      - name: master
        port: 6379
        config:               # a mapping, or a list of [name, arg, ...] for repeats
          appendonly: "yes"
          rename-command: [KEYS, ""]
      - name: replica1
        port: 6380
        replicaof: master
      - name: sentinel1
        kind: sentinel
        port: 26379
        monitor: {name: mymaster, master: master, quorum: 1}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

Kind = Literal["server", "sentinel"]
Directive = tuple[str, tuple[str, ...]]

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
SHAPES = ("standalone", "replication", "chain", "sentinel", "cluster")


class TopologyError(ValueError):
    """A topology (built-in options or a YAML file) that does not make sense."""


@dataclass(frozen=True)
class Monitor:
    """``sentinel monitor <name> <master address> <quorum>``, with the master by node name."""

    name: str
    master: str
    quorum: int


@dataclass(frozen=True)
class NodeSpec:
    """One node of a lab."""

    name: str
    kind: Kind = "server"
    port: int = 6379
    config: tuple[Directive, ...] = ()
    """redis.conf directives as ``(name, args)``, written after the generated basics."""
    replicaof: str | None = None
    """Name of the node this one replicates (rendered as ``replicaof <addr> <port>``)."""
    monitor: Monitor | None = None
    """For sentinels: the master they watch."""

    @property
    def is_sentinel(self) -> bool:
        return self.kind == "sentinel"

    def directive(self, name: str) -> tuple[str, ...] | None:
        """The arguments of the last ``name`` directive, or None."""
        found = None
        for key, args in self.config:
            if key == name:
                found = args
        return found

    @property
    def cluster_enabled(self) -> bool:
        return (self.directive("cluster-enabled") or ("no",))[0] == "yes"

    @property
    def password(self) -> str | None:
        """The password clients need (``requirepass``), if any."""
        args = self.directive("requirepass")
        return args[0] if args and args[0] else None


@dataclass(frozen=True)
class Topology:
    """A lab: its shape name and its nodes."""

    name: str
    nodes: tuple[NodeSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        validate(self)

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r} in this lab (nodes: {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    @property
    def servers(self) -> list[NodeSpec]:
        return [n for n in self.nodes if n.kind == "server"]

    @property
    def sentinels(self) -> list[NodeSpec]:
        return [n for n in self.nodes if n.kind == "sentinel"]

    @property
    def is_cluster(self) -> bool:
        return any(n.cluster_enabled for n in self.nodes)

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def start_order(self) -> list[NodeSpec]:
        """Masters before their replicas, sentinels last."""
        done: list[NodeSpec] = []
        seen: set[str] = set()
        pending = list(self.servers)
        while pending:
            progressed = False
            for node in list(pending):
                if node.replicaof is None or node.replicaof in seen:
                    done.append(node)
                    seen.add(node.name)
                    pending.remove(node)
                    progressed = True
            if not progressed:  # a replication loop: start the rest as they come
                done.extend(pending)
                break
        return done + self.sentinels

    def with_ports(self, ports: Mapping[str, int]) -> "Topology":
        """The same lab with some nodes moved to other ports."""
        nodes = tuple(replace(n, port=ports.get(n.name, n.port)) for n in self.nodes)
        return Topology(self.name, nodes)

    def shifted(self, base: int) -> "Topology":
        """The same lab with every port moved so the lowest server port is ``base``.

        Keeps the spacing between ports (sentinels stay 20000 above the servers, as 26379
        is above 6379), so ports of a shifted lab never overlap its cluster bus ports
        unless the original did.
        """
        low = min(self.ports)
        return self.with_ports({n.name: n.port - low + base for n in self.nodes})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "nodes": [_node_to_dict(n) for n in self.nodes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Topology":
        return _from_mapping(data)


def validate(topo: Topology) -> None:
    names: set[str] = set()
    ports: dict[int, str] = {}
    for node in topo.nodes:
        if not NAME_RE.match(node.name):
            raise TopologyError(
                f"node name {node.name!r}: use lower-case letters, digits, '-' and '_'")
        if node.name in names:
            raise TopologyError(f"two nodes are named {node.name!r}")
        names.add(node.name)
        if node.kind not in ("server", "sentinel"):
            raise TopologyError(f"node {node.name}: kind must be server or sentinel")
        if not 1 <= node.port <= 65535:
            raise TopologyError(f"node {node.name}: port {node.port} is out of range")
        busy = [node.port] + ([node.port + 10000] if node.cluster_enabled else [])
        for p in busy:
            if p in ports:
                raise TopologyError(f"nodes {ports[p]} and {node.name} both use port {p}")
            ports[p] = node.name
        if node.kind == "sentinel" and node.replicaof:
            raise TopologyError(f"sentinel {node.name} cannot be a replica")
        if node.kind == "server" and node.monitor:
            raise TopologyError(f"server {node.name} cannot monitor (only sentinels do)")
    for node in topo.nodes:
        if node.replicaof is not None:
            if node.replicaof not in names:
                raise TopologyError(f"{node.name} replicates unknown node {node.replicaof!r}")
            if node.replicaof == node.name:
                raise TopologyError(f"{node.name} cannot replicate itself")
        if node.monitor is not None and node.monitor.master not in names:
            raise TopologyError(f"{node.name} monitors unknown node {node.monitor.master!r}")


# ------------------------------------------------------------------------ builders


def _auth(password: str | None, *, sentinel: bool = False) -> list[Directive]:
    if not password:
        return []
    if sentinel:
        return []  # sentinels get ``sentinel auth-pass`` next to their monitor line
    return [("requirepass", (password,)), ("masterauth", (password,))]


def standalone(n: int = 1, *, base_port: int = 6379, password: str | None = None,
               masterauth: str | None = None) -> Topology:
    """``n`` independent masters: node1, node2, ..."""
    if n < 1:
        raise TopologyError("standalone needs at least one node")
    nodes = tuple(
        NodeSpec(f"node{i + 1}", "server", base_port + i,
                 tuple(_auth(password) + _masterauth(masterauth)))
        for i in range(n)
    )
    return Topology("standalone", nodes)


def _masterauth(masterauth: str | None) -> list[Directive]:
    return [("masterauth", (masterauth,))] if masterauth is not None else []


def replication(*, base_port: int = 6379, password: str | None = None,
                masterauth: str | None = None, replicas: int = 2) -> Topology:
    """One master and its replicas (replica1, replica2), each with ``replicaof`` in its conf.

    ``masterauth`` overrides the password replicas use (a wrong or empty one is how the
    NOAUTH lesson starts).
    """
    conf = tuple(_auth(password) + _masterauth(masterauth))
    nodes = [NodeSpec("master", "server", base_port, conf)]
    for i in range(replicas):
        nodes.append(NodeSpec(f"replica{i + 1}", "server", base_port + 1 + i, conf,
                              replicaof="master"))
    return Topology("replication", tuple(nodes))


def chain(*, base_port: int = 6379, password: str | None = None,
          masterauth: str | None = None, length: int = 3) -> Topology:
    """A -> B -> C: ``b`` replicates ``a`` and ``c`` replicates ``b`` (薪火相传)."""
    if not 2 <= length <= 26:
        raise TopologyError("a chain has 2 to 26 nodes")
    conf = tuple(_auth(password) + _masterauth(masterauth))
    names = [chr(ord("a") + i) for i in range(length)]
    nodes = tuple(
        NodeSpec(name, "server", base_port + i, conf, replicaof=names[i - 1] if i else None)
        for i, name in enumerate(names)
    )
    return Topology("chain", nodes)


def sentinel(*, sentinels: int = 3, quorum: int | None = None, base_port: int = 6379,
             sentinel_port: int | None = None, password: str | None = None,
             masterauth: str | None = None, master_name: str = "mymaster",
             down_after_ms: int = 5000, failover_timeout_ms: int = 60000) -> Topology:
    """Replication (master + 2 replicas) watched by 1 or 3 Sentinels.

    Quorum defaults to 2 with three sentinels and 1 with one. ``down-after-milliseconds``
    is 5 s instead of Redis' 30 s so failovers fit in a lesson.
    """
    if sentinels < 1:
        raise TopologyError("a sentinel lab needs at least one sentinel")
    if quorum is None:
        quorum = 2 if sentinels >= 3 else 1
    if not 1 <= quorum <= sentinels:
        raise TopologyError(f"quorum {quorum} must be between 1 and {sentinels}")
    base = replication(base_port=base_port, password=password, masterauth=masterauth)
    first = sentinel_port if sentinel_port is not None else base_port + 20000
    watch: list[Directive] = [
        ("sentinel", ("down-after-milliseconds", master_name, str(down_after_ms))),
        ("sentinel", ("failover-timeout", master_name, str(failover_timeout_ms))),
        ("sentinel", ("parallel-syncs", master_name, "1")),
    ]
    if password:
        watch.append(("sentinel", ("auth-pass", master_name, password)))
    sent = tuple(
        NodeSpec(f"sentinel{i + 1}", "sentinel", first + i, tuple(watch),
                 monitor=Monitor(master_name, "master", quorum))
        for i in range(sentinels)
    )
    return Topology("sentinel", base.nodes + sent)


def cluster(*, base_port: int = 7000, password: str | None = None,
            masterauth: str | None = None, nodes: int = 6,
            node_timeout_ms: int = 5000) -> Topology:
    """Six empty cluster-enabled nodes (node1..node6), to be formed 3 + 3 in a lesson."""
    specs = []
    for i in range(nodes):
        port = base_port + i
        conf: list[Directive] = [
            ("cluster-enabled", ("yes",)),
            ("cluster-config-file", (f"nodes-{port}.conf",)),
            ("cluster-node-timeout", (str(node_timeout_ms),)),
        ]
        conf += _auth(password) + _masterauth(masterauth)
        specs.append(NodeSpec(f"node{i + 1}", "server", port, tuple(conf)))
    return Topology("cluster", tuple(specs))


BUILDERS = {
    "standalone": standalone,
    "replication": replication,
    "chain": chain,
    "sentinel": sentinel,
    "cluster": cluster,
}


def build(shape: str, **options: Any) -> Topology:
    """A built-in shape by name, with its builder's keyword options (None values dropped)."""
    try:
        builder = BUILDERS[shape]
    except KeyError:
        raise TopologyError(
            f"unknown topology {shape!r} (built-in: {', '.join(SHAPES)}; or a .yaml file)"
        ) from None
    opts = {k.replace("-", "_"): v for k, v in options.items() if v is not None}
    try:
        return builder(**opts)
    except TypeError as exc:
        raise TopologyError(f"{shape}: {exc}") from None


# ------------------------------------------------------------------------ files


def load(path: str | Path) -> Topology:
    """A topology from a small YAML file (see the module docstring for the format)."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise TopologyError(f"{path}: expected a mapping with 'nodes' or 'base'")
    try:
        return _from_mapping(data, default_name=Path(path).stem)
    except TopologyError as exc:
        raise TopologyError(f"{path}: {exc}") from None


def resolve(spec: str, **options: Any) -> Topology:
    """A built-in shape name or the path of a YAML file."""
    if spec in BUILDERS:
        return build(spec, **options)
    if spec.endswith((".yaml", ".yml")) or Path(spec).is_file():
        topo = load(spec)
        if "base_port" in options and options["base_port"] is not None:
            topo = topo.shifted(options["base_port"])
        return topo
    return build(spec, **options)


def _str_args(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(_scalar(v) for v in value)
    return (_scalar(value),)


def _scalar(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return ""
    return str(value)


def _parse_config(raw: Any, where: str) -> tuple[Directive, ...]:
    if raw is None:
        return ()
    out: list[Directive] = []
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            out.append((str(key).lower(), _str_args(value)))
    elif isinstance(raw, Sequence) and not isinstance(raw, str):
        for item in raw:
            if isinstance(item, str):
                words = item.split()
                if not words:
                    continue
                out.append((words[0].lower(), tuple(words[1:])))
            elif isinstance(item, Sequence) and item:
                out.append((str(item[0]).lower(), tuple(_scalar(v) for v in item[1:])))
            else:
                raise TopologyError(f"{where}: bad config entry {item!r}")
    else:
        raise TopologyError(f"{where}: config must be a mapping or a list")
    return tuple(out)


def _from_mapping(data: Mapping[str, Any], default_name: str = "custom") -> Topology:
    unknown = set(data) - {"name", "base", "options", "password", "nodes"}
    if unknown:
        raise TopologyError(f"unknown keys: {', '.join(sorted(unknown))}")
    password = data.get("password")
    nodes: list[NodeSpec] = []
    name = str(data.get("name") or default_name)
    if data.get("base"):
        opts = dict(data.get("options") or {})
        if password is not None:
            opts.setdefault("password", str(password))
        nodes.extend(build(str(data["base"]), **opts).nodes)
        name = str(data.get("name") or data["base"])
    for i, raw in enumerate(data.get("nodes") or []):
        if not isinstance(raw, Mapping):
            raise TopologyError(f"nodes[{i}] must be a mapping")
        extra = set(raw) - {"name", "kind", "port", "config", "replicaof", "monitor"}
        if extra:
            raise TopologyError(f"nodes[{i}]: unknown keys: {', '.join(sorted(extra))}")
        if "name" not in raw or "port" not in raw:
            raise TopologyError(f"nodes[{i}] needs a name and a port")
        kind = str(raw.get("kind", "server"))
        config = list(_parse_config(raw.get("config"), f"node {raw['name']}"))
        if password and kind == "server":
            config = _auth(str(password)) + config
        monitor = None
        if raw.get("monitor"):
            m = raw["monitor"]
            if not isinstance(m, Mapping) or "master" not in m:
                raise TopologyError(f"node {raw['name']}: monitor needs at least 'master'")
            monitor = Monitor(str(m.get("name", "mymaster")), str(m["master"]),
                              int(m.get("quorum", 1)))
            if password and not any(k == "sentinel" and a[:1] == ("auth-pass",)
                                    for k, a in config):
                config.append(("sentinel", ("auth-pass", monitor.name, str(password))))
        try:
            port = int(raw["port"])
        except (TypeError, ValueError):
            raise TopologyError(f"node {raw['name']}: port must be a number") from None
        spec = NodeSpec(str(raw["name"]), kind, port, tuple(config),  # type: ignore[arg-type]
                        replicaof=str(raw["replicaof"]) if raw.get("replicaof") else None,
                        monitor=monitor)
        nodes = [n for n in nodes if n.name != spec.name] + [spec]
    if not nodes:
        raise TopologyError("no nodes (give 'nodes' or a 'base' shape)")
    return Topology(name, tuple(nodes))


def _node_to_dict(node: NodeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": node.name, "kind": node.kind, "port": node.port}
    if node.config:
        out["config"] = [[k, *args] for k, args in node.config]
    if node.replicaof:
        out["replicaof"] = node.replicaof
    if node.monitor:
        out["monitor"] = {"name": node.monitor.name, "master": node.monitor.master,
                          "quorum": node.monitor.quorum}
    return out


def describe(topo: Topology) -> Iterable[str]:
    """One line per node, for people: ``replica1  server  :6380  replicaof master``."""
    for n in topo.nodes:
        rel = ""
        if n.replicaof:
            rel = f"replicaof {n.replicaof}"
        elif n.monitor:
            rel = f"monitors {n.monitor.master} as {n.monitor.name} (quorum {n.monitor.quorum})"
        elif n.cluster_enabled:
            rel = "cluster-enabled"
        yield f"{n.name:<10} {n.kind:<8} :{n.port:<6} {rel}".rstrip()
