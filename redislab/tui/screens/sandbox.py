"""The sandbox: a lab of any built-in topology and the same live panes, without steps."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...lab import runner as R
from ..messages import LabStatus
from ..session import SANDBOX_SHAPES, sandbox_lesson
from .lab import LabScreen

SHAPES = {
    "standalone": "one independent master",
    "replication": "a master and two replicas (replicaof in their redis.conf)",
    "chain": "a → b → c: c replicates b, b replicates a",
    "sentinel": "a master, two replicas and three Sentinels (quorum 2)",
    "cluster": "six empty cluster nodes, to form 3 masters + 3 replicas (F2)",
}

TIPS = {
    "standalone": ["SET k v", "INFO server", "CONFIG GET save"],
    "replication": ["INFO replication (on each node)", "SET k v on master, GET k on a replica",
                    "F8 on master: stop it and watch the links go down"],
    "chain": ["INFO replication on b: a replica that has its own replica",
              "SET k v on a, GET k on c"],
    "sentinel": ["SENTINEL get-master-addr-by-name mymaster (on a sentinel)",
                 "F8 on master: kill it and watch the sentinels fail over"],
    "cluster": ["F2 forms the cluster (as redis-cli --cluster create)", "CLUSTER NODES",
                "CLUSTER KEYSLOT k"],
}


class SandboxSetup(ModalScreen[str | None]):
    """Pick the sandbox's topology; dismissed with its name or None."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="close-setup",
                        tooltip="Back to the start screen")]

    def __init__(self, backend: str) -> None:
        super().__init__()
        self.backend = backend

    def compose(self) -> ComposeResult:
        with Vertical(id="setup-box", classes="dialog"):
            yield Static(f"[b]Sandbox[/] on the [b]{self.backend}[/] backend: which topology?")
            yield OptionList(*[Option(Text.assemble((f"{s:<12}", "bold"), SHAPES[s]), id=s)
                               for s in SANDBOX_SHAPES], id="shapes")

    @on(OptionList.OptionSelected, "#shapes")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class SandboxScreen(LabScreen):
    """A lab to play with."""

    BINDINGS = [
        Binding("f2", "form_cluster", "Form cluster", id="form-cluster",
                tooltip="CLUSTER ADDSLOTSRANGE / MEET / REPLICATE, as redis-cli --cluster "
                        "create does (cluster topology)"),
    ]

    def __init__(self, shape: str, backend: str) -> None:
        super().__init__(sandbox_lesson(shape), backend, sandbox=True)
        self.shape = shape

    def compose_left(self) -> ComposeResult:
        with VerticalScroll(id="sandbox-notes"):
            yield Static(self._notes(), id="sandbox-text")

    def on_mount(self) -> None:
        self.query_one("#sandbox-notes").border_title = f"sandbox: {self.shape}"
        self.sub_title = f"sandbox · {self.shape} · {self.backend}"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "form_cluster":
            return self.shape == "cluster"
        return True

    def _notes(self) -> Text:
        text = Text()
        text.append(f"{self.shape}", style="bold")
        text.append(f": {SHAPES[self.shape]}\n\n")
        text.append("nodes\n", style="bold")
        for n in self.topology.nodes:
            addr = self.console(n.name).address if self.is_mounted else ""
            text.append(f"  {n.name:<10} {n.kind:<9} {addr}\n")
        text.append("\ntry\n", style="bold")
        for tip in TIPS.get(self.shape, []):
            text.append(f"  • {tip}\n")
        text.append("\nkeys\n", style="bold")
        text.append("  type in a console · @node switches · ctrl+n next node\n"
                    "  F8 node actions · / filter logs · ctrl+p commands · F1 help\n")
        if self.lab_equivalent:
            from .. import freeze

            text.append("\nbuilt with the equivalent of\n", style="bold")
            for line in self.lab_equivalent.splitlines():
                if self.app.frozen:
                    line = freeze.paths(line)
                text.append(f"  $ {line}\n", style="dim")
        return text

    def on_runner_event(self, msg: Any) -> None:
        if isinstance(msg.event, R.LabReady):  # after LabScreen's handler has taken it in
            self.call_later(lambda: self.query_one("#sandbox-text", Static).update(self._notes()))

    def action_form_cluster(self) -> None:
        if self.shape != "cluster" or not self.ready():
            return
        if self.busy:
            self.notify(f"wait: {self.busy}", severity="warning")
            return
        self.busy = "forming the cluster"
        self.set_status("forming the cluster (redis-cli --cluster create … "
                        "--cluster-replicas 1)…", "yellow")
        self._form()

    @work(thread=True, group="lesson")
    def _form(self) -> None:
        try:
            self.session.form_cluster()
        except Exception as exc:
            self.post_message(LabStatus("idle", error=f"forming the cluster: {exc}"))
            return
        self.post_message(LabStatus("idle", text="cluster formed: see the map"))

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        extra = []
        if self.shape == "cluster":
            extra.append(("form the cluster", "3 masters + 3 replicas, as redis-cli "
                          "--cluster create --cluster-replicas 1 (F2)", self.action_form_cluster))
        return extra + super().palette_commands()
