"""Log lines in Redis' format: ``pid:R dd Mon yyyy hh:mm:ss.mmm L message``.

R is the role (``M`` master, ``S`` replica, ``C`` child/config, ``X`` sentinel) and L the
level mark (``.`` debug, ``-`` verbose, ``*`` notice, ``#`` warning), as in Redis'
``serverLogRaw``. Lines go to the logfile (appended) or stdout, and to any in-process
subscribers (the lab backends use those to stream logs).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, TextIO

LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3, "nothing": 4}
MARKS = {0: ".", 1: "-", 2: "*", 3: "#"}
DEBUG, VERBOSE, NOTICE, WARNING = 0, 1, 2, 3

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def timestamp(now: float | None = None) -> str:
    now = time.time() if now is None else now
    t = time.localtime(now)
    ms = int((now - int(now)) * 1000)
    return f"{t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} " \
           f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ms:03d}"


class Logger:
    """Writes Redis-format lines; ``role`` is a callable so it follows the server's role."""

    def __init__(self, logfile: str = "", level: str = "notice",
                 role: Callable[[], str] = lambda: "M"):
        self.logfile = logfile
        self.level = LEVELS.get(level, 2)
        self.role = role
        self.pid = os.getpid()
        self.subscribers: list[Callable[[str], None]] = []
        self._fh: TextIO | None = None

    def set_file(self, logfile: str) -> None:
        if self._fh is not None and self._fh is not sys.stdout:
            self._fh.close()
        self._fh = None
        self.logfile = logfile

    def _stream(self) -> TextIO:
        if self._fh is None:
            if self.logfile:
                self._fh = open(self.logfile, "a", encoding="utf-8", buffering=1)
            else:
                self._fh = sys.stdout
        return self._fh

    def log(self, level: int, message: str, role: str | None = None) -> None:
        if level < self.level:
            return
        line = f"{self.pid}:{role or self.role()} {timestamp()} {MARKS[level]} {message}"
        try:
            stream = self._stream()
            stream.write(line + "\n")
            if stream is sys.stdout:
                stream.flush()
        except (OSError, ValueError):
            pass
        for fn in list(self.subscribers):
            fn(line)

    def raw(self, text: str, level: int = WARNING) -> None:
        """Write text as is (the ASCII logo) when ``level`` is logged."""
        if level < self.level:
            return
        try:
            stream = self._stream()
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass

    def signal_handler(self, message: str) -> None:
        """A line written from a signal handler: ``pid:signal-handler (unixtime) message``
        (Redis' ``serverLogFromHandler``, always at warning level)."""
        if WARNING < self.level:
            return
        line = f"{self.pid}:signal-handler ({int(time.time())}) {message}"
        try:
            stream = self._stream()
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass
        for fn in list(self.subscribers):
            fn(line)

    def debug(self, msg: str) -> None:
        self.log(DEBUG, msg)

    def verbose(self, msg: str) -> None:
        self.log(VERBOSE, msg)

    def notice(self, msg: str) -> None:
        self.log(NOTICE, msg)

    def warning(self, msg: str) -> None:
        self.log(WARNING, msg)
