"""What the lesson and sandbox screens share: a lab and its live panes.

Layout (120x40)::

    ┌ left: lesson text / sandbox notes ┐┌ topology map ─────────────────────┐
    │                                   ││                                   │
    │                                   │├ master │ replica1 │ replica2 ─────┤
    │                                   ││ console (transcript + input) │INFO│
    └───────────────────────────────────┘└───────────────────────────────────┘
    ┌ logs ─────────────────────────────────────────────────────────────────┐
    status line · footer

Everything that touches the lab runs in workers: the lab's start and teardown, commands,
node actions and lesson steps in thread workers (the runner blocks), INFO polling in one
thread worker per node, log streaming in one async worker per node.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from ...lab import runner as R
from ..messages import (CommandDocsRead, Equivalents, LabStatus, LogEnded, LogLines, NodeInfo,
                        RunnerEvent)
from ..model import LabModel
from ..session import LabSession
from ..widgets.console import NodeConsole
from ..widgets.info_pane import InfoPane
from ..widgets.log_pane import LogPane
from ..widgets.topology_map import TopologyMap
from .. import workers

NODE_KEYS = {  # shift+letter -> action on the node of the active console (when not typing)
    "S": "stop", "K": "kill", "R": "restart", "P": "pause", "U": "resume", "T": "start",
    "X": "partition", "H": "heal",
}


def pane_id(node: str) -> str:
    return f"node-{node}"


class LabScreen(Screen[None]):
    """Base of the lesson and sandbox screens (see the module docstring).

    Textual calls the message handlers of every class of the MRO: a subclass's
    ``on_mount`` / ``on_runner_event`` runs besides this one's, never calls it.
    """

    BINDINGS = [
        Binding("f8", "node_actions", "Node…", id="node-actions",
                tooltip="Stop, kill, restart, pause or partition the active console's node"),
        Binding("ctrl+n", "next_node", "Next node", show=False, id="next-node",
                tooltip="Show the next node's console and INFO"),
        Binding("slash", "filter_logs", "Filter logs", id="filter-logs",
                tooltip="Filter the log pane (it keeps following)"),
        Binding("escape", "unfocus", "Keys", id="unfocus",
                tooltip="Leave the console: letters become keys (r run, c check, q leave...)"),
        Binding("q", "leave", "Leave", show=False, id="leave",
                tooltip="Back to the start screen (the lab is torn down)"),
    ] + [
        Binding(key, f"node_action('{action}')", action.capitalize(), show=False,
                id=f"node-{action}",
                tooltip=f"{action} the node of the active console (when not typing)")
        for key, action in NODE_KEYS.items()
    ]

    COMMANDS = set()  # filled in below (the provider imports this module)

    def __init__(self, lesson: Any, backend: str, *, sandbox: bool = False) -> None:
        super().__init__()
        self.lesson = lesson
        self.backend = backend
        self.sandbox = sandbox
        self.topology = lesson.build_topology()
        self.model = LabModel()
        self.session: LabSession | None = None
        self.sections: dict[str, set[str]] = {}
        self.equivalent_table: dict[tuple[str, str], str] = {}
        self.lab_equivalent = ""
        self.busy = ""
        self._docs_read: set[str] = set()
        self._polling = False
        self._poll_pool: ThreadPoolExecutor | None = None
        self._poll_stop = threading.Event()
        self._from_step = False

    # ------------------------------------------------------------------ layout

    def compose_left(self) -> ComposeResult:
        yield Static("")

    def compose(self) -> ComposeResult:
        frozen = self.app.frozen
        yield Header()
        with Horizontal(id="lab-main"):
            with Vertical(id="lab-left"):
                yield from self.compose_left()
            with Vertical(id="lab-right"):
                yield TopologyMap(frozen=frozen, id="map")
                with TabbedContent(id="nodes"):
                    for node in self.topology.nodes:
                        with TabPane(node.name, id=pane_id(node.name)):
                            with Horizontal(classes="node-pane"):
                                yield NodeConsole(node.name, frozen=frozen,
                                                  id=f"console-{node.name}")
                                yield InfoPane(node.name, kind=node.kind, frozen=frozen,
                                               id=f"info-{node.name}")
        yield LogPane(frozen=frozen, id="logs")
        yield Static("", id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        names = self.topology.names
        self.model.set_nodes([(n.name, n.kind, ("127.0.0.1", n.port), ("127.0.0.1", n.port))
                              for n in self.topology.nodes])
        for node in self.topology.nodes:
            self.sections[node.name] = {"sentinel" if node.is_sentinel else "replication"}
            if node.cluster_enabled:
                self.sections[node.name].add("cluster")
            self.console(node.name).set_nodes(names)
        self.query_one(LogPane).set_nodes(names)
        self.query_one(TopologyMap).show(self.model)
        self.session = self.app.new_session(
            self.lesson, self.backend, on_event=lambda e: self.post_message(RunnerEvent(e)),
            sandbox=self.sandbox)
        self.set_status(f"starting {len(names)} nodes on the {self.backend} backend…")
        self.start_lab()
        self.call_after_refresh(self.focus_console)

    # ------------------------------------------------------------------ helpers

    def console(self, node: str) -> NodeConsole:
        return self.query_one(f"#console-{node}", NodeConsole)

    def info_pane(self, node: str) -> InfoPane:
        return self.query_one(f"#info-{node}", InfoPane)

    @property
    def active_node(self) -> str:
        active = self.query_one("#nodes", TabbedContent).active
        return active.removeprefix("node-") if active else self.topology.names[0]

    def show_node(self, node: str) -> None:
        """Bring ``node``'s console and INFO to the front (focus follows: a focused widget
        in another pane would bring that pane back)."""
        tabs = self.query_one("#nodes", TabbedContent)
        if tabs.active != pane_id(node):
            tabs.active = pane_id(node)
        from ..widgets.command_input import CommandInput

        if self.focused is None or isinstance(self.focused, CommandInput):
            self.console(node).input.focus()

    def focus_console(self, node: str | None = None) -> None:
        node = node or self.active_node
        try:
            self.console(node).input.focus()
        except Exception:
            pass

    def set_status(self, text: str, style: str = "") -> None:
        self.query_one("#status", Static).update(Text(text, style=style))

    def ready(self) -> bool:
        if self.session is None or not self.session.ready:
            self.notify("the lab is not up yet", severity="warning")
            return False
        return True

    # ------------------------------------------------------------------ lab lifecycle

    @work(thread=True, exclusive=True, group="lab")
    def start_lab(self) -> None:
        self.post_message(LabStatus("starting"))
        try:
            step = self.session.start(resume=True)
        except Exception as exc:
            self.post_message(LabStatus("failed", error=str(exc)))
            return
        self.post_message(LabStatus("ready", text=str(step)))

    def on_lab_status(self, msg: LabStatus) -> None:
        if msg.state == "failed":
            self.set_status(f"the lab did not start: {msg.error}", "bold red")
            self.notify(msg.error, title="the lab did not start", severity="error",
                        timeout=20)
        elif msg.state == "ready":
            self.lab_ready()
        elif msg.state == "busy":
            self.busy = msg.text
            self.set_status(msg.text + "…", "yellow")
        elif msg.state == "idle":
            self.busy = ""
            if msg.text or msg.error:
                self.set_status(msg.error or msg.text, "red" if msg.error else "")
            else:
                self.show_ready_status()

    def lab_ready(self) -> None:
        """The lab is up (first start, or after a reset)."""
        self.show_ready_status()
        self.start_pollers()
        self.refresh_equivalents()

    def show_ready_status(self) -> None:
        lab = self.session.lab if self.session else None
        if lab is None:
            return
        self.set_status(f"lab {lab.lab_id} · {self.backend} backend · "
                        f"{len(self.topology.nodes)} nodes · ready — F1 help, F8 node actions, "
                        "ctrl+p commands", "green")

    def start_pollers(self) -> None:
        if not self._polling:
            self._polling = True
            for node in self.topology.nodes:
                self.poll(node.name, node.kind, node.cluster_enabled)
        self.workers.cancel_group(self, "logs")
        for node in self.topology.names:
            self.follow_log(node)
        for node in self.topology.nodes:
            if node.kind not in self._docs_read:
                self._docs_read.add(node.kind)
                self.read_docs(node.name)

    @work(group="poll")
    async def poll(self, node: str, kind: str, cluster: bool) -> None:
        """Poll ``node`` in a thread of the screen's own pool: pollers run as long as the
        screen does and must not take the threads the other workers need."""
        if self._poll_pool is None:
            self._poll_pool = ThreadPoolExecutor(max_workers=len(self.topology.nodes),
                                                 thread_name_prefix="poll")
        stop = self._poll_stop
        job = partial(workers.poll_node, self.session, node, kind=kind, cluster=cluster,
                      sections=lambda: set(self.sections.get(node, ())),
                      post=self.post_message, cancelled=stop.is_set)
        try:
            await asyncio.get_running_loop().run_in_executor(self._poll_pool, job)
        except asyncio.CancelledError:
            stop.set()
            raise

    @work(group="logs")
    async def follow_log(self, node: str) -> None:
        lab = self.session.lab if self.session else None
        if lab is None:
            return
        await workers.stream_logs(lab, node, self.post_message)

    @work(thread=True, group="docs")
    def read_docs(self, node: str) -> None:
        workers.read_docs(self.session, node, self.post_message)

    @work(thread=True, exclusive=True, group="equivalents")
    def refresh_equivalents(self) -> None:
        if self.session is not None:
            self.post_message(Equivalents(self.session.equivalents()))

    def on_equivalents(self, msg: Equivalents) -> None:
        self.equivalent_table = msg.table

    def on_node_info(self, msg: NodeInfo) -> None:
        try:
            self.info_pane(msg.node).show(msg)
        except Exception:
            return
        if self.model.update(msg):
            self.query_one(TopologyMap).show(self.model)

    def on_log_lines(self, msg: LogLines) -> None:
        self.query_one(LogPane).add_lines(msg.node, msg.lines)

    def on_log_ended(self, msg: LogEnded) -> None:
        if msg.error:
            self.query_one(LogPane).note(f"{msg.node}: log stream ended: {msg.error}")

    def on_command_docs_read(self, msg: CommandDocsRead) -> None:
        kind = next((n.kind for n in self.topology.nodes if n.name == msg.node), "server")
        for node in self.topology.nodes:
            if node.kind == kind:
                self.console(node.name).set_table(msg.table)

    @on(InfoPane.SectionChanged)
    def _section_changed(self, event: InfoPane.SectionChanged) -> None:
        node = next(n for n in self.topology.nodes if n.name == event.node)
        wanted = {"sentinel" if node.is_sentinel else "replication", event.section}
        if node.cluster_enabled:
            wanted.add("cluster")
        self.sections[event.node] = wanted

    # ------------------------------------------------------------------ runner events

    def on_runner_event(self, msg: RunnerEvent) -> None:
        e = msg.event
        if isinstance(e, R.LabStarting):
            ports = ", ".join(f"{n.name} :{n.port}" for n in e.topology.nodes)
            self.set_status(f"starting the lab on {e.backend}: {ports}…", "yellow")
        elif isinstance(e, R.LabReady):
            self.model.set_nodes([(n.name, n.kind, n.address, n.internal) for n in e.nodes])
            for n in e.nodes:
                self.console(n.name).address = f"{n.address[0]}:{n.address[1]}"
            self.lab_equivalent = e.equivalent
            self.query_one(TopologyMap).show(self.model)
            self.query_one(LogPane).note(f"── lab {e.lab_id} up on {e.backend} ──")
        elif isinstance(e, R.LabStopped):
            self.workers.cancel_group(self, "logs")
            self.query_one(LogPane).note(f"── lab {e.lab_id} removed ──")
        elif isinstance(e, R.CommandRun):
            if self._from_step:
                self.show_node(e.node)
            self.console(e.node).show_command(e)
        elif isinstance(e, R.ActionRun):
            self.console(e.node).show_action(e)
            detail = f"$ {e.equivalent}" if e.equivalent else ""
            if e.error:
                self.notify(e.error, title=f"{e.action} {e.node}", severity="error",
                            timeout=12)
            else:
                self.notify(detail, title=f"{e.action} {e.node} ({e.seconds:.1f}s)",
                            timeout=8)
            self.refresh_equivalents()
        elif isinstance(e, R.PipeRun):
            self.console(e.node).show_pipe(e)
        elif isinstance(e, R.ConfEdited):
            self.console(e.node).show_conf(e)
        else:
            self.on_lesson_event(e)

    def on_lesson_event(self, event: Any) -> None:
        """Step and check events (the lesson screen shows them)."""

    # ------------------------------------------------------------------ consoles

    @on(NodeConsole.Submitted)
    def _typed(self, event: NodeConsole.Submitted) -> None:
        from ...lab.text import SplitError, split_args
        from ...repl import TAKEOVER

        line = event.line.strip()
        console = self.console(event.node)
        if line.startswith("@"):
            target = line[1:].strip()
            if target in self.topology.names:
                self.show_node(target)
                self.call_after_refresh(self.focus_console, target)
            else:
                console.write(f"no node {target!r} (nodes: {', '.join(self.topology.names)})",
                              "red")
            return
        try:
            words = split_args(line)
        except SplitError:
            words = line.split()
        first = words[0].lower() if words else ""
        if first == "clear":
            console.clear()
            return
        if first == "help":
            self._help(console, words[1:])
            return
        if first in TAKEOVER:
            console.write(f"(error) {words[0]} takes the connection over and cannot run in "
                          f"a console: use `redislab cli {event.node}` or redis-cli", "red")
            return
        if not self.ready():
            console.write("the lab is not up yet", "yellow")
            return
        self.send(event.node, line)

    def _help(self, console: NodeConsole, words: list[str]) -> None:
        if not words:
            console.write("Type Redis commands as in redis-cli. Tab completes command names; "
                          "↑/↓ walk the history; @<node> switches console; help <command> "
                          "shows its syntax; clear clears this console.", "dim")
            return
        doc = console.input.table.lookup(words)
        if doc is None:
            console.write(f"no documentation for {' '.join(words)}", "yellow")
        else:
            console.write(f"{doc.syntax}\n  summary: {doc.summary}\n  since: {doc.since}\n"
                          f"  group: {doc.group}", "cyan")

    @work(thread=True, group="commands")
    def send(self, node: str, line: str) -> None:
        self.session.command(node, line)

    # ------------------------------------------------------------------ node actions

    def node_action(self, action: str, node: str | None = None) -> None:
        """Run a backend action on ``node`` (default: the active console's)."""
        if not self.ready():
            return
        node = node or self.active_node
        self.set_status(f"{action} {node}…", "yellow")
        self._node_action(action, node)

    @work(thread=True, group="actions")
    def _node_action(self, action: str, node: str) -> None:
        self.session.action(action, node)
        self.post_message(LabStatus("idle"))

    def action_node_action(self, action: str) -> None:
        self.node_action(action)

    def action_node_actions(self) -> None:
        from .actions import NodeActions

        node = self.active_node

        def chosen(action: str | None) -> None:
            if action:
                self.node_action(action, node)

        self.app.push_screen(NodeActions(node, self.equivalent_table, self.backend), chosen)

    def action_next_node(self) -> None:
        names = self.topology.names
        i = names.index(self.active_node)
        node = names[(i + 1) % len(names)]
        self.show_node(node)
        self.call_after_refresh(self.focus_console, node)

    def action_filter_logs(self) -> None:
        self.query_one(LogPane).action_filter()

    def action_unfocus(self) -> None:
        self.set_focus(None)

    def action_leave(self) -> None:
        from .confirm import Confirm

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.pop_screen()

        self.app.push_screen(Confirm("Leave this lab? Its nodes are torn down."), answer)

    @on(TabbedContent.TabActivated, "#nodes")
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        if not self._from_step:
            self.call_after_refresh(self.focus_console)

    def on_unmount(self) -> None:
        self._poll_stop.set()
        if self._poll_pool is not None:
            self._poll_pool.shutdown(wait=False)
        if self.session is not None:
            self.app.close_session(self.session)

    # ------------------------------------------------------------------ palette

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """``(title, help, callback)`` of everything the command palette offers here."""
        out: list[tuple[str, str, Any]] = []
        for node in self.topology.names:
            for action in ("stop", "kill", "restart", "pause", "resume", "start",
                           "partition", "heal"):
                eq = self.equivalent_table.get((action, node), "")
                out.append((f"{action} {node}", f"$ {eq}" if eq else f"{action} the node",
                            lambda a=action, n=node: self.node_action(a, n)))
            out.append((f"console {node}", "Show this node's console and INFO",
                        lambda n=node: (self.show_node(n), self.focus_console(n))))
            out.append((f"logs of {node} only", "Show only this node's log lines",
                        lambda n=node: self.query_one(LogPane).set_filter("", n)))
        out.append(("leave this lab", "Back to the start screen; the lab is torn down (q)",
                    self.action_leave))
        out.append(("logs of all nodes", "Merge every node's log lines",
                    lambda: self.query_one(LogPane).set_filter("", "all nodes")))
        if self.lab_equivalent:
            out.append(("how this lab was built", self.lab_equivalent.splitlines()[0],
                        self.show_lab_equivalent))
        return out

    def show_lab_equivalent(self) -> None:
        node = self.active_node
        self.console(node).write("This lab was built with the equivalent of:", "bold")
        for line in self.lab_equivalent.splitlines():
            self.console(node).write(f"  $ {line}", "dim")


from ..commands import LabCommands  # noqa: E402

LabScreen.COMMANDS = {LabCommands}
