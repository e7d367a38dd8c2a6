"""Fixtures of the lesson tests.

* Every test runs with ``REDISLAB_HOME`` in a fresh directory (labs and progress of the
  user are never touched); labs left there are taken down at the end.
* ``backend_ready(name)`` makes sure a backend can run here: redis-server for process,
  a running dockerd and the offline image for docker. Missing pieces skip the test, or
  fail it under CI=true (see tests/backends/labtools.py, reused here).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backends"))

import labtools  # noqa: E402  (tests/backends/labtools.py)

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
BROKEN = Path(__file__).resolve().parent / "broken"


@pytest.fixture(scope="session", autouse=True)
def lab_home(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("REDISLAB_HOME")
    os.environ["REDISLAB_HOME"] = str(home)
    yield home
    from redislab.backends import attach, labs, reap

    for rec in labs():
        try:
            attach(rec).down()
        except Exception:
            pass
    try:
        reap()
    except Exception:
        pass
    if old is None:
        os.environ.pop("REDISLAB_HOME", None)
    else:
        os.environ["REDISLAB_HOME"] = old


@pytest.fixture(scope="session")
def docker_ready():
    """The docker daemon up and the offline image built (or skip / fail in CI)."""
    from redislab.backends.docker import connect
    from redislab.backends.errors import DockerUnavailable
    from redislab.backends.image import DEFAULT_IMAGE, exists

    try:
        client = connect(timeout=30)
    except DockerUnavailable:
        labtools.start_dockerd()
        try:
            client = connect(timeout=30)
        except DockerUnavailable as exc:
            labtools.need(f"docker backend: {exc}")
    if not exists(client, DEFAULT_IMAGE):
        labtools.run_cli("image", "build", "--if-missing", timeout=300)
    return client


@pytest.fixture
def backend_ready(request: pytest.FixtureRequest):
    def ready(name: str) -> str:
        return labtools.prepare(request, name)

    return ready
