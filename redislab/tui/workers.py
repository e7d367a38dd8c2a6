"""What the TUI's workers do: poll INFO, stream logs, read COMMAND DOCS, probe backends.

These are plain functions; the screens run them in ``@work`` workers and pass ``post``
(``post_message``, thread-safe) and ``cancelled`` (the worker's cancellation flag). They
talk to nodes over RESP only (redis-py), never through engine internals.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from .messages import CommandDocsRead, LogEnded, LogLines, NodeInfo

POLL_INTERVAL = 0.5
"""Seconds between two INFO polls of a node (the panes refresh at least twice a second)."""
POLL_TIMEOUT = 1.0
"""A node that has not answered within this is shown as slow (paused, partitioned, busy)."""
LOG_BATCH = 0.1
"""Log lines are posted in batches at most this often."""


def parse_sections(text: bytes | str) -> dict[str, dict[str, str]]:
    """An INFO reply as ``{section: {field: value}}`` (section names lower-cased)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode(errors="replace")
    out: dict[str, dict[str, str]] = {}
    current = out.setdefault("", {})
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            current = out.setdefault(line.lstrip("# ").strip().lower(), {})
        elif ":" in line:
            key, value = line.split(":", 1)
            current[key] = value
    if not out[""]:
        del out[""]
    return out



def _sleep(seconds: float, cancelled: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while not cancelled():
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.1))


def poll_node(session: Any, node: str, *, kind: str, cluster: bool,
              sections: Callable[[], set[str]], post: Callable[[Any], Any],
              cancelled: Callable[[], bool], interval: float = POLL_INTERVAL,
              timeout: float = POLL_TIMEOUT, once: bool = False) -> None:
    """Poll ``node`` until cancelled, posting a :class:`NodeInfo` whenever it changes."""
    import redis

    client = None
    last: NodeInfo | None = None
    base = "sentinel" if kind == "sentinel" else "replication"
    while not cancelled():
        started = time.monotonic()
        wanted = [base] + sorted(s for s in sections() if s != base)
        info: NodeInfo
        try:
            if client is None:
                client = session.client(node, timeout)
            text = client.execute_command("INFO", *wanted)
            sections_read = parse_sections(text)
            nodes_text = None
            if cluster:
                reply = client.execute_command("CLUSTER", "NODES")
                nodes_text = reply.decode(errors="replace") if isinstance(reply, bytes) \
                    else str(reply)
                state = parse_sections(client.execute_command("CLUSTER", "INFO"))
                sections_read["cluster_info"] = state.get("", next(iter(state.values()), {}))
            info = NodeInfo(node, "up", sections_read, nodes_text,
                            latency=time.monotonic() - started)
        except redis.TimeoutError:
            info = NodeInfo(node, "slow", error=f"no reply within {timeout:.1f}s")
            client = _drop(client)
        except (redis.ConnectionError, OSError) as exc:
            text = str(exc)
            if "NOAUTH" in text or "WRONGPASS" in text or "invalid password" in text:
                info = NodeInfo(node, "error", error=text.splitlines()[0])
            elif "refused" in text.lower():
                info = NodeInfo(node, "down", error="Connection refused")
            else:
                info = NodeInfo(node, "down", error=text.splitlines()[0] if text else "down")
            client = _drop(client)
        except redis.ResponseError as exc:
            info = NodeInfo(node, "error", error=str(exc))
            client = _drop(client)  # NOAUTH: the next client authenticates with what is known
        except Exception as exc:  # a lab being torn down under us
            info = NodeInfo(node, "down", error=str(exc) or type(exc).__name__)
            client = _drop(client)
        if info.status in ("down", "slow"):
            why = _why(session, node)
            if why:
                info.error = why
        elif info.status == "up" and _partitioned(session, node):
            # an engine node cut off from the others still answers the host
            info.error = "partitioned: its links to the other nodes are dropped"
        if last is None or (info.status, info.sections, info.cluster_nodes, info.error) != \
                (last.status, last.sections, last.cluster_nodes, last.error):
            post(info)
            last = info
        if once:
            break
        _sleep(interval - (time.monotonic() - started), cancelled)
    _drop(client)


WHY = {"partitioned": "partitioned (cut off the lab network)",
       "paused": "paused (SIGSTOP: alive but silent)", "stopped": "not running"}


def _why(session: Any, node: str) -> str:
    """Why a node does not answer, as its backend knows it ("" if it should)."""
    try:
        return WHY.get(session.node_state(node), "")
    except Exception:
        return ""


def _partitioned(session: Any, node: str) -> bool:
    """The lab's own record (no I/O): was ``node`` partitioned and not healed?"""
    try:
        return bool(session.lab.record.nodes.get(node, {}).get("partitioned"))
    except Exception:
        return False


def _drop(client: Any) -> None:
    if client is not None:
        try:
            client.close()
        except Exception:
            pass
    return None


async def stream_logs(lab: Any, node: str, post: Callable[[Any], Any],
                      batch: float = LOG_BATCH) -> None:
    """Follow ``node``'s log (``backend.logs``), posting :class:`LogLines` in batches."""
    buffer: list[str] = []
    lines = lab.logs(node, follow=True)

    async def pump() -> None:
        async for line in lines:
            buffer.append(line)

    task = asyncio.ensure_future(pump())
    error = ""
    try:
        while True:
            done = task.done()
            if buffer:
                chunk = buffer[:]
                buffer.clear()
                post(LogLines(node, chunk))
            if done:
                exc = task.exception()
                error = str(exc) if exc else ""
                break
            await asyncio.sleep(batch)
    finally:
        task.cancel()
        try:
            await lines.aclose()  # type: ignore[attr-defined]
        except Exception:
            pass
    post(LogEnded(node, error))


def read_docs(session: Any, node: str, post: Callable[[Any], Any]) -> None:
    """``COMMAND DOCS`` of ``node`` (once), posted as a :class:`CommandDocsRead`."""
    from ..repl import CommandTable

    try:
        client = session.client(node, 5.0)
        try:
            table = CommandTable.fetch(client)
        finally:
            client.close()
    except Exception:
        table = CommandTable()
    post(CommandDocsRead(node, table))
