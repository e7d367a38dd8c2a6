"""A console on one node: what was sent to it and what it replied, as redis-cli shows it,
and a command line (:class:`CommandInput`) to type more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, RichLog, Static

from ... import repl
from .. import freeze
from .command_input import CommandInput


class NodeConsole(Widget):
    """Transcript and command line of one node.

    Posts :class:`NodeConsole.Submitted` with each line typed; the screen runs it (in a
    worker) and hands the result back with :meth:`show_command`.
    """

    DEFAULT_CSS = """
    NodeConsole {
        width: 1fr;
        height: 1fr;
    }
    NodeConsole RichLog {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    NodeConsole CommandInput {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    NodeConsole CommandInput:focus {
        background: $primary 20%;
    }
    NodeConsole .hint {
        height: 1;
        color: $text-muted;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    @dataclass
    class Submitted(Message):
        """A line typed in ``node``'s console."""

        node: str
        line: str

    def __init__(self, node: str, *, frozen: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.node = node
        self.frozen = frozen
        self.address = ""

    def compose(self) -> ComposeResult:
        yield RichLog(wrap=True, markup=False, max_lines=2000, id="transcript")
        command = CommandInput(id="command")
        if self.frozen:
            command.cursor_blink = False
        yield command
        yield Static("", classes="hint")

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    @property
    def log_view(self) -> RichLog:
        return self.query_one(RichLog)

    def set_table(self, table: repl.CommandTable) -> None:
        self.input.table = table

    def set_nodes(self, names: list[str]) -> None:
        self.input.extra = [f"@{n}" for n in names]

    def prompt(self) -> str:
        return f"{self.node} {self.address}> " if self.address else f"{self.node}> "

    @on(Input.Submitted, "#command")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value
        self.input.remember(line.strip())
        self.input.value = ""
        if line.strip():
            self.post_message(self.Submitted(self.node, line))

    @on(Input.Changed, "#command")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one(".hint", Static).update(self.input.hint_for(event.value))

    @on(CommandInput.Hint)
    def _hint(self, event: CommandInput.Hint) -> None:
        event.stop()
        self.query_one(".hint", Static).update(event.text)

    def clear(self) -> None:
        self.log_view.clear()

    def write(self, text: str | Text, style: str = "") -> None:
        if isinstance(text, str):
            if self.frozen:
                text = freeze.text(text)
            text = Text(text, style=style)
        self.log_view.write(text)

    def show_command(self, event: Any) -> None:
        """A :class:`~redislab.lab.runner.CommandRun`: the prompt line and the reply."""
        host, port = event.address
        line = Text()
        line.append(f"{self.node} ", style="bold")
        line.append(f"{host}:{port}> ", style="dim")
        line.append(event.text)
        self.log_view.write(line)
        if event.error:
            self.write(event.error, "red")
            return
        if event.args and event.args[0].lower() == "shutdown" and event.reply is None:
            self.write("not connected>", "dim")
            return
        text = repl.format_reply(event.args, event.reply)
        self.write(text, "red" if text.startswith("(error)") else "")

    def show_action(self, event: Any) -> None:
        """A :class:`~redislab.lab.runner.ActionRun`: what was done and its equivalent."""
        self.write(f"▶ {event.action} {event.node}  ({event.seconds:.1f}s)", "bold magenta")
        for line in (event.equivalent or "").splitlines():
            self.write(f"  $ {line}", "dim")
        if event.error:
            self.write(f"  {event.error}", "red")

    def show_pipe(self, event: Any) -> None:
        self.write(f"▶ {event.count} × {event.text}  (pipelined, as redis-cli --pipe)",
                   "bold magenta")
        self.write(f"  $ {event.equivalent}", "dim")
        if event.error:
            self.write(f"  {event.error}", "red")
        elif event.stats is not None:
            s = event.stats
            self.write("All data transferred. Waiting for the last reply...\n"
                       "Last reply received from server.\n"
                       f"errors: {s.errors}, replies: {s.replies}")

    def show_conf(self, event: Any) -> None:
        self.write(f"▶ added to {event.node}'s redis.conf (applies at its next start)",
                   "bold magenta")
        for line in event.lines:
            self.write(f"  {line}")
        if event.error:
            self.write(f"  {event.error}", "red")
