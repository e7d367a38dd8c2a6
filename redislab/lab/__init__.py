"""Lessons: load a lesson file, run its steps on a backend, evaluate checks, keep progress.

* :mod:`.loader`   -- ``lessons/<lang>/NN-<id>.md`` -> :class:`~.loader.Lesson` (every problem
  reported with its line number; see ``lessons/FORMAT.md``).
* :mod:`.checks`   -- declarative checks evaluated over RESP, polling until they pass or
  time out.
* :mod:`.runner`   -- drives a lesson on a backend; events for every command, reply, action
  and check (what the TUI and ``redislab lesson run`` show).
* :mod:`.progress` -- per-user progress in the data directory; export / import for
  classrooms.

Nothing here imports ``textual`` or ``redislab.engine``: lessons talk to nodes over RESP
only, so a lesson that passes on the engine passes on a real ``redis-server``.
"""

from __future__ import annotations

from .loader import Lesson, LessonError, Problem, Step, discover, find, load, validate

__all__ = ["Lesson", "LessonError", "Problem", "Step", "discover", "find", "load", "validate"]
