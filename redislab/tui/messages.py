"""Messages the workers post to the screens (results of I/O, never I/O themselves).

Every message is a dataclass. Workers run off the UI thread and only ever call
``post_message``; the screens turn messages into widget updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class NodeInfo(Message):
    """One poll of one node: the INFO sections it answered, or why it did not answer.

    ``status`` is ``up``, ``down`` (connection refused: not running), ``slow`` (no reply
    within the poll's timeout: paused, partitioned or busy) or ``error`` (it answered
    with an error, e.g. NOAUTH).
    """

    node: str
    status: str
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    cluster_nodes: str | None = None
    error: str = ""
    latency: float = 0.0

    def can_replace(self, message: Message) -> bool:  # bursts collapse into the newest
        return isinstance(message, NodeInfo) and message.node == self.node


@dataclass
class LogLines(Message):
    """New lines of one node's log, in order."""

    node: str
    lines: list[str]


@dataclass
class LogEnded(Message):
    """A node's log stream stopped (the lab went away, or reading failed)."""

    node: str
    error: str = ""


@dataclass
class CommandDocsRead(Message):
    """``COMMAND DOCS`` of one node, as a :class:`redislab.repl.CommandTable`."""

    node: str
    table: Any


@dataclass
class RunnerEvent(Message):
    """An event of the lesson runner (:mod:`redislab.lab.runner`), in the order it happened."""

    event: Any


@dataclass
class LabStatus(Message):
    """The lab's lifecycle: ``starting``, ``ready``, ``failed`` (with ``error``), ``stopped``,
    ``busy`` (a long operation: ``text`` says which) and ``idle``."""

    state: str
    text: str = ""
    error: str = ""


@dataclass
class Equivalents(Message):
    """The command a person would type for each node action: ``{(action, node): text}``."""

    table: dict[tuple[str, str], str]


@dataclass
class Availability(Message):
    """Which backends work here: ``{name: (available, detail)}``."""

    backends: dict[str, tuple[bool, str]]


@dataclass
class LessonsLoaded(Message):
    """Lessons of a language, with the learner's progress."""

    lang: str
    lessons: list[Any]
    progress: Any
    problems: list[str] = field(default_factory=list)
