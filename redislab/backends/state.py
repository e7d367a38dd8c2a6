"""Where running labs are recorded, so another shell can find them.

Every lab has an id and a record ``<home>/labs/<id>.json`` next to its working directory
``<home>/labs/<id>/`` (one sub-directory per node: its generated conf, log and data).
``<home>`` is the platform data directory (``~/.local/share/redislab`` on Linux), or
``$REDISLAB_HOME`` when set (the tests use that).

A record has an *owner*: the process that created the lab and tears it down when it ends
(the TUI, a test). ``redislab up`` owns its lab only while it starts it, then detaches
(owner ``None``) so the nodes keep running after it returns. A lab is *stale* when its
owner died (a ``redislab up`` killed half-way, a crashed TUI) or when none of its node
processes is alive any more; the next ``redislab`` command that touches labs reaps stale
labs (see :func:`redislab.backends.reap`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,40}$")


def home() -> Path:
    env = os.environ.get("REDISLAB_HOME")
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir("redislab")).resolve()


def labs_dir() -> Path:
    d = home() / "labs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def home_tag() -> str:
    """A short id of this home, put on docker objects so labs of other homes are left alone."""
    return hashlib.sha1(str(home()).encode()).hexdigest()[:12]


# ------------------------------------------------------------------------ processes


def proc_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), to spot reused pids."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        fields = data[data.rindex(b")") + 2 :].split()
        return int(fields[19])
    except (ValueError, IndexError):
        return None


def pid_alive(pid: int | None, start: int | None = None) -> bool:
    """True when ``pid`` runs (zombies count as dead) and, if given, started at ``start``."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        state = data[data.rindex(b")") + 2 :].split()[0]
        if state in (b"Z", b"X"):
            try:  # our own child: reap it
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            return False
    except (OSError, ValueError, IndexError):
        return True  # no /proc (macOS): os.kill said it exists
    if start is not None:
        now = proc_start_time(pid)
        if now is not None and now != start:
            return False
    return True


def pid_cmdline(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def pids_in(directory: str | os.PathLike[str]) -> list[int]:
    """Processes whose working directory is ``directory`` or below it (Linux; [] elsewhere).

    Local nodes run with their node directory as working directory, so this finds a node
    even if the process that started it died before recording its pid.
    """
    root = os.path.realpath(directory)
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    me = os.getpid()
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            found.append(int(entry))
    return found


def owner_now() -> dict[str, int | None]:
    return {"pid": os.getpid(), "start": proc_start_time(os.getpid())}


# ------------------------------------------------------------------------ records


@dataclass
class LabRecord:
    """What is known about one lab, persisted as JSON."""

    id: str
    backend: str
    topology: dict[str, Any]
    created: float = field(default_factory=time.time)
    owner: dict[str, Any] | None = None
    state: str = "starting"  # starting | running
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return labs_dir() / f"{self.id}.json"

    @property
    def workdir(self) -> Path:
        return labs_dir() / self.id

    def save(self) -> None:
        tmp = self.path.with_suffix(f".json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        os.replace(tmp, self.path)

    def delete(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def owner_alive(self) -> bool:
        if not self.owner:
            return True
        return pid_alive(self.owner.get("pid"), self.owner.get("start"))

    @property
    def owned_by_me(self) -> bool:
        return bool(self.owner) and self.owner.get("pid") == os.getpid()

    @classmethod
    def load(cls, lab_id: str) -> "LabRecord | None":
        path = labs_dir() / f"{lab_id}.json"
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def records() -> Iterator[LabRecord]:
    """Every recorded lab, oldest first."""
    out = []
    for path in labs_dir().glob("*.json"):
        rec = LabRecord.load(path.stem)
        if rec is not None:
            out.append(rec)
    yield from sorted(out, key=lambda r: r.created)


def valid_id(lab_id: str) -> bool:
    return bool(ID_RE.match(lab_id))
