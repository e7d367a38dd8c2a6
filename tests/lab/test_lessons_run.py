"""Every lesson, applied and checked headless through the CLI, as a person would run it:
``redislab lesson run <id> --backend <b> --auto --check``. Engine and process run every
lesson (English, and Chinese on the engine); docker runs the Docker, Sentinel and Cluster
lessons.

``--fast`` (repl-diskless-sync-delay 0) only removes Redis' 5 s wait before full syncs;
the lessons' checks and timeouts are the ones learners get.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labtools import ROOT

from redislab.lab import loader

LESSONS = ROOT / "lessons"

IDS = [loader.load(p).id for p in sorted((LESSONS / "en").glob("*.md"))]

# Lessons use the ports a learner would (6379 up, 7000 up for the cluster): under xdist
# they all run on one worker, one after another (scripts/test.sh uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group("lessons")


def run_lesson(lesson_id: str, backend: str, lang: str, home: Path) -> None:
    env = {**os.environ, "REDISLAB_HOME": str(home), "COLUMNS": "120"}
    res = subprocess.run([sys.executable, "-m", "redislab", "lesson", "run", lesson_id,
                          "--backend", backend, "--auto", "--check", "--fast", "--lang", lang],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    lesson = loader.find(lesson_id, lang)
    assert f"all {len(lesson.steps)} steps passed" in out, out[-3000:]
    assert not re.search(r"^\s*FAIL ", out, re.M)  # a failed check (not CLUSTER FAILOVER)
    labs = home / "labs"
    assert not labs.exists() or list(labs.iterdir()) == [], "the lab was not torn down"


@pytest.mark.parametrize("lesson_id", IDS)
def test_engine(lesson_id: str, tmp_path: Path) -> None:
    run_lesson(lesson_id, "engine", "en", tmp_path)


@pytest.mark.parametrize("lesson_id", IDS)
def test_engine_in_chinese(lesson_id: str, tmp_path: Path) -> None:
    run_lesson(lesson_id, "engine", "zh", tmp_path)


@pytest.mark.parametrize("lesson_id", IDS)
def test_process(lesson_id: str, tmp_path: Path, backend_ready) -> None:
    backend_ready("process")
    run_lesson(lesson_id, "process", "en", tmp_path)


@pytest.mark.parametrize("lesson_id", ["replication-in-docker", "sentinel-failover",
                                       "sentinel-quorum", "cluster-by-hand"])
def test_docker_lesson_on_docker(lesson_id: str, tmp_path: Path, backend_ready) -> None:
    backend_ready("docker")
    run_lesson(lesson_id, "docker", "en", tmp_path)
