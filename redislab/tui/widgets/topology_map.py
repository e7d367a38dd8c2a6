"""The topology map: nodes, roles, replication links and their state, offsets and lag,
what the sentinels agree on, cluster slot ranges. Redrawn from a
:class:`~redislab.tui.model.LabModel` whenever the INFO polls change it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from .. import freeze
from ..model import LabModel, NodeState

STATUS_MARK = {
    "up": ("●", "green"), "down": ("●", "red"), "slow": ("◌", "yellow"),
    "error": ("●", "magenta"), "starting": ("◌", "dim"),
}
LINK_STYLE = {"up": "green", "syncing": "yellow", "down": "red"}


class TopologyMap(Static):
    """A live drawing of the lab (see the module docstring)."""

    DEFAULT_CSS = """
    TopologyMap {
        height: auto;
        max-height: 16;
        padding: 0 1;
        border: round $primary 50%;
        border-title-color: $text-accent;
    }
    """

    def __init__(self, *, frozen: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__("starting…", name=name, id=id, classes=classes)
        self.frozen = frozen
        self.border_title = "topology"

    def show(self, model: LabModel) -> None:
        """Redraw from ``model``."""
        self.update(render_map(model, frozen=self.frozen))


def _num(value: int | None, frozen: bool) -> str:
    if value is None:
        return "-"
    return freeze.MASK if frozen else str(value)


def _node_label(s: NodeState, text: Text) -> None:
    mark, style = STATUS_MARK.get(s.status, ("?", "dim"))
    text.append(f"{mark} ", style=style)
    text.append(s.name, style="bold")
    text.append(f" :{s.address[1]}", style="dim")


def _state_words(s: NodeState) -> tuple[str, str] | None:
    if s.status == "down":
        why = s.error if s.error and s.error != "Connection refused" else "not running"
        return ("down (not running)" if why == "not running" else f"down: {why}"), "red"
    if s.status == "slow":
        return f"no reply: {s.error}" if s.error and "within" not in s.error else \
            "no reply (paused? slow?)", "yellow"
    if s.status == "error":
        return s.error[:40], "magenta"
    if s.status == "starting":
        return "starting…", "dim"
    if s.status == "up" and s.error:  # answering, but cut off from the others
        return s.error, "yellow"
    return None


def render_map(model: LabModel, *, frozen: bool = False) -> Text:
    """The map as Rich text (one line per node, replicas indented under their master)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    servers = [s for s in model.nodes.values() if s.kind == "server"]
    if not servers and not model.nodes:
        return Text("starting…", style="dim")
    cluster = any(s.cluster_nodes for s in servers)
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    foreign: dict[str, str] = {}
    for s in servers:
        master, addr = model.master_of(s.name)
        if master is not None and master != s.name:
            children.setdefault(master, []).append(s.name)
        else:
            roots.append(s.name)
            if s.role == "slave":
                foreign[s.name] = addr
    if cluster:
        _cluster(model, text, frozen)
    else:
        seen: set[str] = set()
        for root in roots:
            _tree(model, root, children, text, "", True, True, seen, foreign, frozen)
        for s in servers:  # loops (a replicates b replicates a) have no root
            if s.name not in seen:
                _tree(model, s.name, children, text, "", True, True, seen, foreign, frozen)
    _sentinels(model, text)
    text.rstrip()
    return text


def _tree(model: LabModel, name: str, children: dict[str, list[str]], text: Text,
          indent: str, last: bool, root: bool, seen: set[str], foreign: dict[str, str],
          frozen: bool) -> None:
    if name in seen:
        return
    seen.add(name)
    s = model.nodes[name]
    if not root:
        text.append(indent + ("└─▶ " if last else "├─▶ "), style="dim")
    _node_label(s, text)
    words = _state_words(s)
    if words:
        text.append(f"  {words[0]}", style=words[1])
    else:
        role = {"slave": "replica"}.get(s.role, s.role)
        text.append(f"  {role}", style="cyan" if role == "master" else "blue")
        if s.role == "slave":
            link = model.link(name)
            text.append("  link ", style="dim")
            text.append(link, style=LINK_STYLE.get(link, ""))
            if name in foreign:
                text.append(f" → {foreign[name]} (not in this lab)", style="yellow")
        text.append(f"  offset {_num(s.offset, frozen)}", style="dim")
        master, _ = model.master_of(name)
        if master is not None and s.offset is not None:
            m = model.nodes[master]
            if m.status == "up" and m.offset is not None:
                entry = model.replica_entry(master, name)
                lag = max(0, m.offset - s.offset)
                lag_s = freeze.MASK if frozen else f"{lag} B"
                if entry.get("lag") is not None and not frozen:
                    lag_s += f", {entry['lag']} s"
                text.append(f"  lag {lag_s}", style="dim" if lag == 0 or frozen else "yellow")
        n = len(children.get(name, []))
        if s.role == "master" and s.repl.get("connected_slaves", "0") != str(n):
            text.append(f"  connected_slaves:{s.repl.get('connected_slaves', '?')}",
                        style="dim")
    text.append("\n")
    kids = children.get(name, [])
    sub = indent if root else indent + ("    " if last else "│   ")
    for i, kid in enumerate(kids):
        _tree(model, kid, children, text, sub + (" " if root else ""), i == len(kids) - 1,
              False, seen, foreign, frozen)


def _ranges(slots: list[str]) -> str:
    ranges = [x for x in slots if not x.startswith("[")]
    return " ".join(ranges) if ranges else "no slots"


def _cluster(model: LabModel, text: Text, frozen: bool) -> None:
    ids = {model.cluster_id(n): n for n in model.nodes if model.cluster_id(n)}
    masters, replicas = [], {}
    for s in (s for s in model.nodes.values() if s.kind == "server"):
        me = s.myself()
        if me is None or s.status != "up":
            masters.append((s, None))
            continue
        flags = me[2].split(",")
        if "slave" in flags and me[3] in ids:
            replicas.setdefault(ids[me[3]], []).append(s)
        else:
            masters.append((s, me))
    for s, me in masters:
        _node_label(s, text)
        words = _state_words(s)
        if words:
            text.append(f"  {words[0]}\n", style=words[1])
            continue
        state = s.info.get("cluster_info", {}).get("cluster_state", "")
        text.append("  master" if me else "  ?", style="cyan")
        text.append(f"  slots {_ranges(me[8:]) if me else '-'}")
        known = len([ln for ln in (s.cluster_nodes or "").splitlines() if ln.strip()])
        text.append(f"  knows {known} node{'s' if known != 1 else ''}", style="dim")
        if state:
            text.append(f"  cluster_state:{state}", style="green" if state == "ok" else "red")
        text.append("\n")
        kids = replicas.get(s.name, [])
        for i, r in enumerate(kids):
            text.append("  └─▶ " if i == len(kids) - 1 else "  ├─▶ ", style="dim")
            _node_label(r, text)
            text.append("  replica", style="blue")
            text.append("  link ", style="dim")
            text.append(r.link, style=LINK_STYLE.get(r.link, ""))
            text.append(f"  offset {_num(r.offset, frozen)}\n", style="dim")


def _sentinels(model: LabModel, text: Text) -> None:
    sentinel_nodes = [s for s in model.nodes.values() if s.kind == "sentinel"]
    if not sentinel_nodes:
        return
    views = model.sentinels()
    text.append("sentinels ", style="bold")
    for s in sentinel_nodes:
        mark, style = STATUS_MARK.get(s.status, ("?", "dim"))
        text.append(f"{mark} ", style=style)
        text.append(f"{s.name} ")
    text.append("\n")
    by_master: dict[str, set[tuple[str, str | None]]] = {}
    for v in views:
        by_master.setdefault(v.master, set()).add((v.address, v.node))
    for name, seen in sorted(by_master.items()):
        agreeing = [v for v in views if v.master == name]
        text.append(f"  {name} = ", style="dim")
        if len(seen) == 1:
            addr, node = next(iter(seen))
            text.append(node or addr, style="bold cyan")
            text.append(f" ({addr})", style="dim")
            text.append(f"  {len(agreeing)}/{len(sentinel_nodes)} agree", style="green")
            status = {v.status for v in agreeing}
            if status != {"ok"}:
                text.append(f"  status {','.join(sorted(status))}", style="yellow")
        else:
            text.append("they disagree: ", style="yellow")
            text.append(", ".join(f"{v.name}→{v.node or v.address}" for v in agreeing))
        text.append("\n")
