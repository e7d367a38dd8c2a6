"""A node's live INFO: one section (replication by default, any selectable), refreshed by
the screen's poller; values that just changed are highlighted for a moment."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Select, Static

from .. import freeze
from ..messages import NodeInfo

SECTIONS = ("replication", "server", "clients", "memory", "persistence", "stats", "cpu",
            "keyspace", "cluster", "errorstats", "commandstats")
SENTINEL_SECTIONS = ("sentinel", "server", "clients", "stats", "cpu")
HIGHLIGHT_SECONDS = 1.5


class InfoPane(Widget):
    """INFO of one node.

    Posts :class:`InfoPane.SectionChanged` when the learner picks another section, so the
    poller asks the node for it.
    """

    DEFAULT_CSS = """
    InfoPane {
        width: 36;
        height: 1fr;
        border-left: vkey $primary 40%;
    }
    InfoPane Select {
        width: 1fr;
        margin: 0;
    }
    InfoPane #info-body {
        height: 1fr;
        overflow-y: auto;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    @dataclass
    class SectionChanged(Message):
        """The learner picked another INFO section for ``node``."""

        node: str
        section: str

    def __init__(self, node: str, *, kind: str = "server", frozen: bool = False,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.node = node
        self.kind = kind
        self.frozen = frozen
        self.section = "sentinel" if kind == "sentinel" else "replication"
        self._values: dict[str, str] = {}
        self._changed: dict[str, float] = {}
        self._status = "starting"
        self._error = ""

    def compose(self) -> ComposeResult:
        choices = SENTINEL_SECTIONS if self.kind == "sentinel" else SECTIONS
        yield Select([(c, c) for c in choices], value=self.section, allow_blank=False,
                     id="info-section", compact=True)
        yield Static("waiting for the node…", id="info-body")

    @on(Select.Changed, "#info-section")
    def _section(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != self.section and isinstance(event.value, str):
            self.section = event.value
            self._values = {}
            self._changed = {}
            self.post_message(self.SectionChanged(self.node, self.section))
            self._redraw()

    def show(self, info: NodeInfo) -> None:
        """Take a poll in and redraw (highlighting what changed since the last one)."""
        self._status, self._error = info.status, info.error
        if info.status == "up":
            values = info.sections.get(self.section)
            if values is None:
                return  # the poller has not fetched the new section yet
            now = time.monotonic()
            if self._values:
                for key, value in values.items():
                    if self._values.get(key) != value:
                        self._changed[key] = now
            self._values = dict(values)
        self._redraw()
        if self._changed and not self.frozen:
            self.set_timer(HIGHLIGHT_SECONDS + 0.05, self._redraw)

    def _redraw(self) -> None:
        body = self.query_one("#info-body", Static)
        text = Text(no_wrap=True, overflow="ellipsis")
        if self._status == "down":
            text.append("● down", style="bold red")
            text.append(f"\n{self._error or 'not running'}\n", style="red")
        elif self._status == "slow":
            text.append("◌ no reply", style="bold yellow")
            text.append(f"\n{self._error} (paused? partitioned? busy?)\n", style="yellow")
        elif self._status == "error":
            text.append(f"{self._error}\n", style="magenta")
        if self._status in ("down", "slow") and self._values:
            text.append("last known values:\n", style="dim")
        now = time.monotonic()
        values = freeze.info_fields(self._values) if self.frozen else self._values
        for key, value in values.items():
            if self.frozen:
                value = freeze.info_value(key, value)
            recent = not self.frozen and now - self._changed.get(key, -99) < HIGHLIGHT_SECONDS
            style = "dim" if self._status != "up" else ""
            text.append(f"{key}:", style="bold " + style if style else "bold")
            text.append(value, style="reverse yellow" if recent else style)
            text.append("\n")
        if not self._values and self._status == "up":
            text.append(f"(section {self.section} is empty on this node)", style="dim")
        if not self.frozen:
            self._changed = {k: t for k, t in self._changed.items()
                             if now - t < HIGHLIGHT_SECONDS}
        text.rstrip()
        body.update(text)
