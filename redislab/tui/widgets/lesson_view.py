"""The lesson text: the current step (its Markdown, addresses filled in), buttons for what
the learner can do, and the outcome of the last check, hint or answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Markdown, Static

BUTTONS = (
    ("run", "▶ Run  F2"), ("check", "✓ Check  F3"), ("hint", "? Hint  F4"),
    ("answer", "Answer  F5"), ("prev", "◀ Prev  F6"), ("next", "Next ▶  F7"),
)


def annotate(markdown: str) -> str:
    """Runnable blocks made to read like a terminal: ```` ```redis node=replica1 ```` lines
    get a ``replica1>`` prompt, actions a ``▶``, redis.conf edits and pipes a caption."""
    out: list[str] = []
    fence: str | None = None
    prefix = ""
    for line in markdown.split("\n"):
        stripped = line.strip()
        if fence is None:
            m = re.match(r"^(`{3,}|~{3,})\s*(\S*)(.*)$", stripped)
            if m and m.group(2) in ("redis", "action", "pipe", "redis.conf"):
                fence = m.group(1)
                kind, attrs = m.group(2), dict(re.findall(r"(\w+)=(\S+)", m.group(3)))
                node = attrs.get("node", "")
                only = f" ({attrs['backend']} only)" if "backend" in attrs else ""
                if kind == "redis":
                    prefix = f"{node}> "
                elif kind == "action":
                    prefix = "▶ "
                elif kind == "pipe":
                    out.append(f"*{attrs.get('count', '?')} × pipelined to {node}{only}:*")
                    prefix = ""
                else:
                    out.append(f"*added to {node}'s redis.conf{only}:*")
                    prefix = ""
                if kind in ("redis", "action") and only:
                    out.append(f"*{only.strip()}:*")
                out.append(fence)
                continue
            out.append(line)
        else:
            if stripped.startswith(fence) and stripped.strip("`~") == "":
                fence = None
                prefix = ""
                out.append(line)
            else:
                out.append(prefix + line if line.strip() and prefix else line)
    return "\n".join(out)


class LessonView(Widget):
    """The current step of a lesson.

    Posts :class:`LessonView.Pressed` when a button is clicked (the same actions as the
    screen's key bindings).
    """

    DEFAULT_CSS = """
    LessonView {
        width: 1fr;
        height: 1fr;
        border: round $primary 50%;
        border-title-color: $text-accent;
    }
    LessonView #step-title {
        height: auto;
        padding: 0 1;
        text-style: bold;
        background: $boost;
    }
    LessonView VerticalScroll {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    LessonView Markdown {
        margin: 0 1 0 0;
        padding: 0;
    }
    LessonView #outcome {
        height: auto;
        max-height: 12;
        padding: 0 1;
        overflow-y: auto;
        border-top: hkey $primary 40%;
        display: none;
    }
    LessonView #outcome.-shown {
        display: block;
    }
    LessonView #buttons {
        height: 2;
        grid-size: 3 2;
        grid-gutter: 0 1;
    }
    LessonView #buttons Button {
        width: 1fr;
        min-width: 6;
        height: 1;
        margin: 0;
    }
    """

    @dataclass
    class Pressed(Message):
        """A lesson button: ``run``, ``check``, ``hint``, ``answer``, ``prev`` or ``next``."""

        what: str

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = "lesson"
        self.outcome_text = ""
        """The outcome shown, as plain text."""

    def compose(self) -> ComposeResult:
        yield Static("", id="step-title")
        with VerticalScroll(id="step-scroll"):
            yield Markdown("", id="step-text")
        yield Static("", id="outcome")
        with Grid(id="buttons"):
            for key, label in BUTTONS:
                yield Button(label, id=f"btn-{key}", compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id and event.button.id.startswith("btn-"):
            self.post_message(self.Pressed(event.button.id[4:]))

    def show_step(self, title: str, markdown: str) -> None:
        self.query_one("#step-title", Static).update(title)
        self.query_one("#step-text", Markdown).update(annotate(markdown))
        self.query_one("#step-scroll", VerticalScroll).scroll_home(animate=False)
        self.hide_outcome()

    def show_outcome(self, content: Any) -> None:
        """Show a check's outcome, a hint or an answer under the text."""
        self.outcome_text = _plain(content)
        box = self.query_one("#outcome", Static)
        box.update(content)
        box.add_class("-shown")

    def hide_outcome(self) -> None:
        self.outcome_text = ""
        self.query_one("#outcome", Static).remove_class("-shown")


def _plain(content: Any) -> str:
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return content.plain
    if hasattr(content, "renderables"):
        return "\n".join(_plain(r) for r in content.renderables)
    if hasattr(content, "markup"):
        return content.markup
    return str(content)
