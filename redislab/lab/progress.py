"""Per-user lesson progress, kept in ``<data dir>/progress.json``.

``<data dir>`` is ``$REDISLAB_HOME`` when set, else the platform data directory
(``~/.local/share/redislab`` on Linux) -- the same place labs are recorded.

Progress is keyed by lesson id and step number, so it is the same whatever the language a
lesson is read in. For classrooms, :meth:`Progress.export` writes one learner's progress
to a file and :meth:`Progress.import_file` merges such a file in (steps done are united; a
lesson completed anywhere stays completed).
"""

from __future__ import annotations

import getpass
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "redislab-progress"
VERSION = 1


def data_dir() -> Path:
    env = os.environ.get("REDISLAB_HOME")
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir("redislab")).resolve()


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "learner"


class ProgressError(ValueError):
    """A progress file that cannot be read or merged."""


@dataclass
class LessonProgress:
    done: set[int] = field(default_factory=set)  # 0-based indexes of steps passed
    current: int = 0  # where the learner is (0-based)
    steps: int = 0  # the lesson's number of steps when last seen
    completed: bool = False
    updated: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"done": sorted(self.done), "current": self.current, "steps": self.steps,
                "completed": self.completed, "updated": self.updated}

    @classmethod
    def from_json(cls, data: Any) -> "LessonProgress":
        if not isinstance(data, dict):
            raise ProgressError("a lesson's progress must be an object")
        try:
            return cls(done={int(x) for x in data.get("done", [])},
                       current=int(data.get("current", 0)), steps=int(data.get("steps", 0)),
                       completed=bool(data.get("completed", False)),
                       updated=float(data.get("updated", 0.0)))
        except (TypeError, ValueError) as exc:
            raise ProgressError(f"bad lesson progress: {exc}") from None

    @property
    def resume_at(self) -> int:
        """The first step not passed yet (0 when nothing was done)."""
        i = 0
        while i in self.done:
            i += 1
        return i if not self.steps else min(i, max(self.steps - 1, 0))

    def label(self, total: int | None = None) -> str:
        total = total or self.steps
        if self.completed:
            return "done"
        if not self.done:
            return "-"
        return f"{len(self.done)}/{total}" if total else str(len(self.done))


class Progress:
    """One learner's progress, saved after every change."""

    def __init__(self, path: str | os.PathLike[str] | None = None, user: str | None = None):
        self.path = Path(path) if path is not None else data_dir() / "progress.json"
        self.user = user or default_user()
        self.lessons: dict[str, LessonProgress] = {}
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ProgressError(f"cannot read {self.path}: {exc}") from None
        try:
            data = _parse(text, str(self.path))
        except ProgressError:
            # a damaged file is kept aside, never silently overwritten
            self.path.replace(self.path.with_suffix(f".damaged-{int(time.time())}.json"))
            return
        self.user = data.get("user") or self.user
        self.lessons = {k: LessonProgress.from_json(v) for k, v in data["lessons"].items()}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._document(), indent=2, ensure_ascii=False),
                       encoding="utf-8")
        os.replace(tmp, self.path)

    def _document(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "user": self.user,
                "lessons": {k: v.to_json() for k, v in sorted(self.lessons.items())}}

    # ------------------------------------------------------------------ reading

    def get(self, lesson_id: str) -> LessonProgress:
        return self.lessons.get(lesson_id) or LessonProgress()

    def resume_at(self, lesson_id: str) -> int:
        return self.get(lesson_id).resume_at

    # ------------------------------------------------------------------ changes

    def _entry(self, lesson_id: str, steps: int | None) -> LessonProgress:
        entry = self.lessons.setdefault(lesson_id, LessonProgress())
        if steps:
            entry.steps = steps
        entry.updated = time.time()
        return entry

    def step_done(self, lesson_id: str, index: int, steps: int) -> None:
        entry = self._entry(lesson_id, steps)
        entry.done.add(index)
        entry.current = min(index + 1, steps - 1) if steps else index + 1
        if steps and all(i in entry.done for i in range(steps)):
            entry.completed = True
        self.save()

    def at_step(self, lesson_id: str, index: int, steps: int | None = None) -> None:
        entry = self._entry(lesson_id, steps)
        entry.current = index
        self.save()

    def reset(self, lesson_id: str | None = None) -> None:
        if lesson_id is None:
            self.lessons.clear()
        else:
            self.lessons.pop(lesson_id, None)
        self.save()

    # ------------------------------------------------------------------ classrooms

    def export(self, path: str | os.PathLike[str], user: str | None = None) -> Path:
        """Write this learner's progress to ``path`` (JSON) and return it."""
        doc = self._document()
        doc["user"] = user or self.user
        doc["exported"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        out = Path(path)
        out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return out

    def import_file(self, path: str | os.PathLike[str], *, replace: bool = False) -> list[str]:
        """Merge (or with ``replace``, take over) an exported file; returns the lesson ids
        it held."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ProgressError(f"cannot read {path}: {exc}") from None
        data = _parse(text, str(path))
        incoming = {k: LessonProgress.from_json(v) for k, v in data["lessons"].items()}
        if replace:
            self.lessons = incoming
        else:
            for lesson_id, theirs in incoming.items():
                mine = self.lessons.get(lesson_id)
                if mine is None:
                    self.lessons[lesson_id] = theirs
                    continue
                mine.done |= theirs.done
                mine.steps = max(mine.steps, theirs.steps)
                mine.completed = mine.completed or theirs.completed
                mine.current = max(mine.current, theirs.current)
                mine.updated = max(mine.updated, theirs.updated)
        self.save()
        return sorted(incoming)


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProgressError(f"{where}: not a progress file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProgressError(f"{where}: not a redislab progress file")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise ProgressError(f"{where}: progress format version {data.get('version')} is newer "
                            f"than this redislab understands ({VERSION})")
    if not isinstance(data.get("lessons"), dict):
        raise ProgressError(f"{where}: no lessons in it")
    for key, value in data["lessons"].items():
        LessonProgress.from_json(value)
    return data
