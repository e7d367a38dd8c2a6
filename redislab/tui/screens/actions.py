"""Pick a backend action for a node; each shows the command a person would type."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

ACTIONS = (
    ("stop", "a clean SHUTDOWN (saves first when it has save points)"),
    ("kill", "SIGKILL: a crash, nothing saved"),
    ("restart", "stop, then start with the same conf and data"),
    ("pause", "SIGSTOP: alive but silent"),
    ("resume", "SIGCONT after a pause"),
    ("start", "start a stopped or killed node"),
    ("partition", "cut it off from the other nodes (engine and docker backends)"),
    ("heal", "give it its links back (engine and docker backends)"),
)


PARTITIONING = ("engine", "docker")
"""Backends that can cut a node off (the process backend cannot: see its message)."""


class NodeActions(ModalScreen[str | None]):
    """Actions on ``node``; dismissed with the action's name, or None."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="close-actions",
                        tooltip="Close without doing anything")]

    def __init__(self, node: str, equivalents: dict[tuple[str, str], str], backend: str) -> None:
        super().__init__()
        self.node = node
        self.equivalents = equivalents
        self.backend = backend

    def compose(self) -> ComposeResult:
        options = []
        for action, what in ACTIONS:
            label = Text()
            label.append(f"{action:<10}", style="bold")
            label.append(what)
            eq = self.equivalents.get((action, self.node))
            if eq:
                label.append(f"\n          $ {eq.splitlines()[0]}", style="dim")
            disabled = action in ("partition", "heal") and self.backend not in PARTITIONING
            options.append(Option(label, id=action, disabled=disabled))
        with Vertical(id="actions-box", classes="dialog"):
            yield Static(f"[b]{self.node}[/]: what should happen to it? (Esc: nothing)")
            yield OptionList(*options, id="actions")

    @on(OptionList.OptionSelected, "#actions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
