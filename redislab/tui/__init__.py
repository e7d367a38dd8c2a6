"""redislab's Textual TUI (``redislab`` with no arguments, ``redislab serve``).

Layers: screens (start, lesson, sandbox, help) show widgets (consoles, INFO panes, the
log pane, the topology map); workers do all the I/O -- the lab's lifecycle and lesson steps
through the runner, INFO polling and log streaming over RESP -- and post messages back.
Nothing here imports ``redislab.engine``: nodes are reached over RESP only.
"""

from __future__ import annotations

from typing import Any


def run(**options: Any) -> int:
    """Run the app in this terminal (see :class:`~redislab.tui.app.RedisLabApp`)."""
    from .app import run as run_app

    return run_app(**options)
