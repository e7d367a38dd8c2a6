"""Fixtures of the lesson tests.

* Every test runs with ``REDISLAB_HOME`` in a fresh directory (labs and progress of the
  user are never touched); labs left there are taken down at the end.
* ``backend_ready(name)`` makes sure a backend can run here: redis-server for process,
  a running dockerd and the offline image for docker. Missing pieces skip the test, or
  fail it under CI=true (see tests/backends/labtools.py, reused here).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backends"))

import labtools  # noqa: E402  (tests/backends/labtools.py)
from labtools import docker_ready, lab_home  # noqa: E402,F401  (the shared fixtures)


@pytest.fixture
def backend_ready(request: pytest.FixtureRequest):
    def ready(name: str) -> str:
        return labtools.prepare(request, name)

    return ready
