"""Every node's log as it is written: merged (each line tagged and coloured by node) or one
node at a time, filterable with ``/`` while it keeps following."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, RichLog, Select

from .. import freeze

NODE_STYLES = ("cyan", "green", "magenta", "yellow", "blue", "bright_red", "bright_cyan",
               "bright_green", "bright_magenta", "bright_yellow")
KEEP = 5000
ALL = "all nodes"


class LogPane(Widget):
    """Logs of the lab's nodes.

    | Key | Does |
    | :- | :- |
    | / | filter (the lines shown contain the text; new ones keep coming) |
    | escape | clear the filter |
    """

    BINDINGS = [
        Binding("slash", "filter", "Filter logs", id="log-filter",
                tooltip="Show only log lines containing some text (keeps following)"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="log-clear-filter",
                tooltip="Show every log line again"),
    ]

    DEFAULT_CSS = """
    LogPane {
        height: 10;
        border: round $primary 40%;
        border-title-color: $text-accent;
    }
    LogPane Horizontal#log-bar {
        height: 1;
    }
    LogPane Select {
        width: 24;
    }
    LogPane Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    LogPane Label {
        padding: 0 1;
        color: $text-muted;
    }
    LogPane RichLog {
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    """

    def __init__(self, *, frozen: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.frozen = frozen
        self.nodes: list[str] = []
        self.entries: deque[tuple[str, str]] = deque(maxlen=KEEP)
        self.scope = ALL
        self.pattern = ""
        self.border_title = "logs"

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-bar"):
            yield Select([(ALL, ALL)], value=ALL, allow_blank=False, id="log-scope",
                         compact=True)
            box = Input(placeholder="/ to filter", id="log-filter", compact=True)
            if self.frozen:
                box.cursor_blink = False
            yield box
            yield Label("following", id="log-state")
        yield RichLog(wrap=False, markup=False, max_lines=KEEP, auto_scroll=True,
                      id="log-lines")

    def set_nodes(self, names: list[str]) -> None:
        self.nodes = list(names)
        options = [(ALL, ALL)] + [(n, n) for n in names]
        select = self.query_one("#log-scope", Select)
        select.set_options(options)
        select.value = self.scope if self.scope in names else ALL

    def style_of(self, node: str) -> str:
        try:
            return NODE_STYLES[self.nodes.index(node) % len(NODE_STYLES)]
        except ValueError:
            return "white"

    def _line(self, node: str, line: str) -> Text:
        if self.frozen:
            line = freeze.log_line(line)
        text = Text(no_wrap=True)
        if self.scope == ALL:
            width = max((len(n) for n in self.nodes), default=6)
            text.append(f"{node:<{width}} │ ", style=self.style_of(node))
        style = "yellow" if " # " in line else ""
        text.append(line, style=style)
        if self.pattern:
            text.highlight_words([self.pattern], style="reverse", case_sensitive=False)
        return text

    def _visible(self, node: str, line: str) -> bool:
        if self.scope != ALL and node != self.scope:
            return False
        return not self.pattern or self.pattern.lower() in line.lower()

    def add_lines(self, node: str, lines: list[str]) -> None:
        """New lines of ``node``'s log (kept for re-filtering; shown if they match)."""
        view = self.query_one("#log-lines", RichLog)
        shown = []
        for line in lines:
            self.entries.append((node, line))
            if self._visible(node, line):
                shown.append(self._line(node, line))
        if shown:
            view.write(Text("\n").join(shown))

    def note(self, text: str) -> None:
        self.entries.append(("", text))
        self.query_one("#log-lines", RichLog).write(Text(text, style="dim italic"))

    def _redraw(self) -> None:
        view = self.query_one("#log-lines", RichLog)
        view.clear()
        lines = [self._line(n, ln) for n, ln in self.entries if n and self._visible(n, ln)]
        if lines:
            view.write(Text("\n").join(lines[-2000:]))
        state = self.query_one("#log-state", Label)
        what = f"{self.scope}" + (f" matching {self.pattern!r}" if self.pattern else "")
        state.update(f"following {what}" if self.pattern or self.scope != ALL else "following")

    def action_filter(self) -> None:
        self.query_one("#log-filter", Input).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.value = ""

    def set_filter(self, pattern: str, scope: str | None = None) -> None:
        """Filter programmatically (the palette, tests)."""
        if scope is not None:
            self.query_one("#log-scope", Select).value = scope
            self.scope = scope
        self.query_one("#log-filter", Input).value = pattern
        self.pattern = pattern
        self._redraw()

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.pattern = event.value
        self._redraw()

    @on(Input.Submitted, "#log-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#log-lines", RichLog).focus()

    @on(Select.Changed, "#log-scope")
    def _scope_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str) and event.value != self.scope:
            self.scope = event.value
            self._redraw()
