"""The runner on a live lab: events for every command, reply, action and check; passwords
learnt on the way; replay, reset and resume; teardown (Ctrl-C included)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from labtools import ROOT

from redislab.backends import state
from redislab.lab import loader
from redislab.lab import runner as R
from redislab.lab.progress import Progress

LESSON = """---
id: runner-test
title: Runner test
language: en
topology: standalone
nodes: [m, r]
backends: [engine, process]
minutes: 1
---

## Replicate

```redis node=r
REPLICAOF {m.host} {m.port}
```

```redis node=m
SET a 1
```

```check
key: {node: r, name: a, equals: "1"}
timeout: 15
```

## A password set at run time

```redis node=m
CONFIG SET requirepass pw
```

```check
key: {node: m, name: a, equals: "1"}
```

## A password in redis.conf, then a restart

```redis.conf node=r
requirepass rpw
```

```action
restart r
```

```check
all:
  - reply: {node: r, command: [CONFIG, GET, requirepass], equals: [requirepass, rpw]}
  - role: {node: r, is: master}
```

## A node that is down

```action
kill m
```

```redis node=m
PING
```

```check
ping: {node: m, up: false}
```
"""

# lessons run on a learner's ports (6379 up): with the lesson runs, on one worker
pytestmark = pytest.mark.xdist_group("lessons")


@pytest.fixture
def lesson(tmp_path: Path) -> loader.Lesson:
    path = tmp_path / "90-runner-test.md"
    path.write_text(LESSON)
    return loader.load(path)


def labs_left() -> list[str]:
    return [p.name for p in state.labs_dir().iterdir()]


def test_auto_run_reports_everything(lesson: loader.Lesson) -> None:
    events: list[R.Event] = []
    with R.Runner(lesson, "engine", on_event=events.append, fast=True) as run:
        assert run.run_auto()
        lab_id = run.lab.lab_id
    kinds = [type(e).__name__ for e in events]
    assert kinds[:2] == ["LabStarting", "LabReady"] and kinds[-2:] == ["LessonFinished",
                                                                     "LabStopped"]
    ready = events[1]
    assert [n.name for n in ready.nodes] == ["m", "r"]
    commands = [e for e in events if isinstance(e, R.CommandRun)]
    first = commands[0]
    port = ready.nodes[0].internal[1]
    assert first.text == f"REPLICAOF 127.0.0.1 {port}" and first.reply == b"OK"
    assert first.equivalent.startswith("redis-cli -p ")
    ping = commands[-1]
    assert ping.reply is None and "Could not connect" in ping.error
    actions = [e for e in events if isinstance(e, R.ActionRun)]
    assert [(a.action, a.node, a.error) for a in actions] == [("restart", "r", None),
                                                              ("kill", "m", None)]
    assert "kill -9" in actions[1].equivalent
    conf = next(e for e in events if isinstance(e, R.ConfEdited))
    assert conf.lines == ("requirepass rpw",) and conf.error is None
    checks = [e for e in events if isinstance(e, R.CheckFinished)]
    assert [c.passed for c in checks] == [True] * 4
    assert not os.path.exists(state.labs_dir() / f"{lab_id}.json")
    assert lab_id not in labs_left()


def test_failed_check_brings_hint_and_explanation(tmp_path: Path) -> None:
    text = LESSON.split("## A password set")[0] + """## Wrong on purpose

```redis node=m
SET b 2
```

```check
key: {node: r, name: b, equals: "3"}
timeout: 0.5
```

### Hint

Look closer.

### Explanation

It was never going to be 3.
"""
    path = tmp_path / "91-fail.md"
    path.write_text(text)
    events: list[R.Event] = []
    with R.Runner(loader.load(path), "engine", on_event=events.append, fast=True) as run:
        assert not run.run_auto()
    failed = [e for e in events if isinstance(e, R.CheckFinished) and not e.passed]
    assert len(failed) == 1
    assert failed[0].hint == "Look closer." and "never going" in failed[0].explanation
    assert events[-2] == R.LessonFinished(False, 1)


def test_learner_commands_and_blocks(lesson: loader.Lesson) -> None:
    with R.Runner(lesson, "engine", fast=True) as run:
        run.begin_step(0)
        for block in run.steps[0].runnable_blocks("engine"):
            run.run_block(block)
        assert run.check().passed
        bad = run.run_command("m", 'SET "oops')
        assert bad.error and "Invalid argument" in bad.error
        err = run.run_command("r", "SET x 1")
        assert isinstance(err.reply, redis.ResponseError) and "READONLY" in str(err.reply)
        assert run.run_command("m", "AUTH nopass").reply is not None  # an error reply
        assert run.run_command("m", ["CONFIG", "SET", "requirepass", "s3"]).reply == b"OK"
        # new connections (checks, the next session) authenticate by themselves
        c = run.client("m")
        assert c.execute_command("GET", "a") == b"1"
        c.close()
        assert run.run_command("m", "DBSIZE").reply == 1


def test_replay_reset_and_resume(lesson: loader.Lesson, tmp_path: Path) -> None:
    progress = Progress(tmp_path / "progress.json")
    events: list[R.Event] = []
    with R.Runner(lesson, "engine", fast=True, progress=progress,
                  on_event=events.append) as run:
        run.run_step(0)
        run.run_step(1)
        assert progress.resume_at("runner-test") == 2
        run.reset_step(1)  # fresh lab, step 0 replayed
        assert run.current == 1
        assert run.client("r").execute_command("GET", "a") == b"1"
        assert any(isinstance(e, R.StepStarted) and e.replay for e in events)
        run.reset_lesson()
        assert run.current == 0 and progress.resume_at("runner-test") == 0
        assert run.client("r").execute_command("ROLE")[0] == b"master"
    progress.step_done("runner-test", 0, 4)
    progress.step_done("runner-test", 1, 4)
    with R.Runner(lesson, "engine", fast=True, progress=progress) as run:
        assert run.resume() == 2
        assert run.client("r").execute_command("GET", "a") == b"1"
    assert labs_left() == []


def test_a_block_taken_before_the_lab_binds_it_moves_the_lab(lesson: loader.Lesson) -> None:
    """Two labs started at once can both find the same block free: the one that loses the
    race starts on another block instead of failing. Here a socket takes the block the
    runner announced, before the backend binds it."""
    held: list[socket.socket] = []
    events: list[R.Event] = []

    def take_the_block(e: R.Event) -> None:
        events.append(e)
        if isinstance(e, R.LabStarting) and not held:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", e.topology.ports[0]))
            s.listen()
            held.append(s)

    try:
        with R.Runner(lesson, "engine", on_event=take_the_block, fast=True) as run:
            starting = [e.topology.ports for e in events if isinstance(e, R.LabStarting)]
            assert len(starting) == 2, starting
            assert starting[0][0] not in starting[1] and run.topology.ports == starting[1]
            assert run.client("m").execute_command("PING") in (b"PONG", "PONG")
        assert labs_left() == []
    finally:
        for s in held:
            s.close()


def test_ports_the_learner_chose_are_kept_even_when_busy(lesson: loader.Lesson) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        events: list[R.Event] = []
        run = R.Runner(lesson, "engine", on_event=events.append, base_port=port, fast=True)
        with pytest.raises(R.RunnerError, match=rf"did not start: .*\b{port}\b.*already in use"):
            run.start()
    assert [e.topology.ports[0] for e in events if isinstance(e, R.LabStarting)] == [port]
    assert not run.started and labs_left() == []


def test_backend_the_lesson_does_not_support(lesson: loader.Lesson) -> None:
    with pytest.raises(R.RunnerError, match="does not run on the docker backend"):
        R.Runner(lesson, "docker")


def test_ctrl_c_tears_the_lab_down(tmp_path: Path) -> None:
    env = {**os.environ, "REDISLAB_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "redislab", "lesson", "run", "1",
                             "--backend", "engine", "--auto", "--check", "--fast"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if "Step 3/" in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + out
    assert "interrupted" in out and "removed" in out
    labs = tmp_path / "home" / "labs"
    assert not labs.exists() or list(labs.iterdir()) == []
    left = [p for p in state.pids_in(tmp_path / "home") if state.pid_alive(p)]
    assert left == []
