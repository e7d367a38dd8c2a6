"""Helpers of the TUI tests: wait for what a person would wait for (the lab to be up, a
lesson action to end), open a redis-py client on a node as a learner would."""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Callable

PROBE = {
    "engine": (True, "built-in Python nodes, nothing to install"),
    "process": (True, "redis-server 7.0.15 at /usr/bin/redis-server"),
    "docker": (False, "the Docker daemon is not running (nothing answers at "
                      "/var/run/docker.sock). Start it: `sudo systemctl start docker`"),
}

def free_base(count: int, start: int = 23790, offsets: tuple[int, ...] = (0,)) -> int:
    """A first port with ``count`` free ports after it (the same one on every quiet run);
    ``offsets``: more blocks that must be free too (sentinels sit at base + 20000)."""
    for base in range(start, start + 2000, 10):
        ok = True
        for port in (base + off + i for off in offsets for i in range(count)):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


async def wait_until(pilot: Any, cond: Callable[[], Any], timeout: float = 30.0,
                     what: str = "") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or cond}")


async def lab_up(pilot: Any, timeout: float = 60.0) -> Any:
    """The lab screen in front, with its lab up and every node answering INFO."""
    screen = pilot.app.screen

    def ready() -> bool:
        return bool(screen.session and screen.session.ready and
                    all(s.status == "up" for s in screen.model.nodes.values()))

    try:
        await wait_until(pilot, ready, timeout, "the lab to be up")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {debug_state(screen)}") from None
    return screen


async def idle(pilot: Any, timeout: float = 90.0) -> None:
    """Wait for the lesson action in progress to end."""
    await pilot.pause(0.1)
    await wait_until(pilot, lambda: not pilot.app.screen.busy, timeout, "the action to end")
    await pilot.pause(0.1)


def client(address: tuple[str, int], password: str | None = None) -> Any:
    """A redis-py client on a node's address, as a learner would open one."""
    import redis

    host, port = address
    return redis.Redis(host=host, port=port, password=password, decode_responses=True,
                       socket_timeout=5)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def debug_state(screen: Any) -> str:
    """What the lab screen knows (for assertion messages)."""
    try:
        status = screen.query_one("#status").render()
    except Exception:
        status = "?"
    nodes = {k: (v.status, v.error) for k, v in screen.model.nodes.items()} \
        if hasattr(screen, "model") else {}
    return f"status={status} nodes={nodes}"
