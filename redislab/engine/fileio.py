"""Writing files safely, as Redis does for the RDB, AOF base files and the AOF manifest:
write a temporary file, fsync it, rename it over the final name, fsync the directory.

Callers log failures with Redis' own wording, which depends on the step that failed, so
:class:`SafeWriteError` says which one it was.
"""

from __future__ import annotations

import os
from typing import Any, Callable


class SafeWriteError(Exception):
    """A step of a safe write failed: ``stage`` is ``"open"``, ``"write"`` (write or fsync),
    ``"cancelled"`` or ``"rename"``; ``strerror`` is the OS' reason (empty if cancelled)."""

    def __init__(self, stage: str, exc: OSError | None = None):
        super().__init__(stage, exc)
        self.stage = stage
        self.strerror = (exc.strerror or str(exc)) if exc is not None else ""


def write_synced(path: str, data: Any) -> None:
    """Create (or truncate) ``path``, write ``data`` (bytes-like, or a callable returning
    it) whole and fsync it. Raises :class:`SafeWriteError` (stage open or write)."""
    if callable(data):
        data = data()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SafeWriteError("open", exc) from None
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    except OSError as exc:
        raise SafeWriteError("write", exc) from None
    finally:
        os.close(fd)


def replace_synced(tmp: str, final: str, data: Any,
                   cancelled: Callable[[], bool] | None = None) -> None:
    """Write ``data`` to ``tmp`` (:func:`write_synced`), then rename it over ``final`` and
    fsync the directory. ``cancelled()`` is asked before the rename. On any failure the
    temporary file is removed and :class:`SafeWriteError` raised."""
    try:
        write_synced(tmp, data)
    except SafeWriteError as exc:
        if exc.stage != "open":
            unlink_quiet(tmp)
        raise
    if cancelled is not None and cancelled():
        unlink_quiet(tmp)
        raise SafeWriteError("cancelled")
    try:
        os.rename(tmp, final)
    except OSError as exc:
        unlink_quiet(tmp)
        raise SafeWriteError("rename", exc) from None
    fsync_dir(os.path.dirname(os.path.abspath(final)))


def fsync_dir(path: str) -> None:
    """fsync a directory so a rename in it is durable (errors are ignored)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
