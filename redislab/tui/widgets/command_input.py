"""A redis-cli-like command line: history (up/down), Tab completion of command names,
and the syntax of the command being typed (from the node's COMMAND DOCS)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from ...repl import CommandTable, common_prefix


class CommandInput(Input):
    """An :class:`Input` with redis-cli's conveniences.

    | Key | Does |
    | :- | :- |
    | up / down | walk the history |
    | tab | complete the command (or subcommand) name |
    """

    BINDINGS = [
        Binding("up", "history(-1)", "Previous command", show=False, id="history-back",
                tooltip="The previous command typed in this console"),
        Binding("down", "history(1)", "Next command", show=False, id="history-forward",
                tooltip="The next command in this console's history"),
        Binding("tab", "complete", "Complete", show=False, id="complete",
                tooltip="Complete the command name"),
    ]

    @dataclass
    class Hint(Message):
        """The syntax hint for what is typed changed."""

        input: "CommandInput"
        text: str

    def __init__(self, *, placeholder: str = "type a Redis command", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(placeholder=placeholder, name=name, id=id, classes=classes,
                         compact=True)
        self.table = CommandTable()
        self.history: list[str] = []
        self._pos = 0
        self._draft = ""
        self.extra: list[str] = []  # words completed besides commands (@node names)

    def remember(self, line: str) -> None:
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self._pos = len(self.history)
        self._draft = ""

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._pos == len(self.history):
            self._draft = self.value
        self._pos = max(0, min(len(self.history), self._pos + step))
        self.value = self._draft if self._pos == len(self.history) else self.history[self._pos]
        self.cursor_position = len(self.value)

    def candidates(self) -> list[str]:
        line = self.value[: self.cursor_position]
        if line.lstrip().startswith("@"):
            word = line.strip()
            return [w for w in self.extra if w.startswith(word)]
        return self.table.complete(line)

    def action_complete(self) -> None:
        line = self.value[: self.cursor_position]
        cands = self.candidates()
        if not cands:
            return
        word = "" if line.endswith(" ") or not line.split() else line.split()[-1]
        if len(cands) == 1:
            done = cands[0] + ("" if cands[0].startswith("@") else " ")
        else:
            done = common_prefix(cands)
            if len(done) <= len(word):
                self.post_message(self.Hint(self, " ".join(cands[:20])))
                return
        head = line[: len(line) - len(word)]
        rest = self.value[self.cursor_position:]
        self.value = head + done + rest
        self.cursor_position = len(head + done)

    def hint_for(self, value: str) -> str:
        if value.lstrip().startswith("@"):
            return "switch console: " + " ".join(self.extra)
        words = value.split()
        if words and words[0].lower() == "help":
            return "help <command>: its syntax, from COMMAND DOCS"
        return self.table.hint(value)
