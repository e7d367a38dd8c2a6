"""Lesson files: the shipped lessons load; broken ones are rejected with the right lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from labtools import ROOT

from redislab.lab import loader
from redislab.lab.loader import Action, Command, ConfEdit, Pipe
from redislab.lab.text import SplitError, split_args, substitute

LESSONS = ROOT / "lessons"
BROKEN = ROOT / "tests" / "lab" / "broken"

SHIPPED = sorted((LESSONS / "en").glob("*.md")) + sorted((LESSONS / "zh").glob("*.md"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_shipped_lessons_are_valid(path: Path) -> None:
    assert loader.validate(path) == []
    lesson = loader.load(path)
    assert lesson.language == path.parent.name
    assert lesson.steps and all(step.title for step in lesson.steps)
    assert path.name.startswith(f"{lesson.number:02d}-{lesson.id}")
    for step in lesson.steps:  # every check has an answer on every backend it runs on
        for backend in lesson.backends:
            if step.checks(backend):
                assert step.answer(backend), (step.title, backend)


@pytest.mark.parametrize("path", sorted((LESSONS / "en").glob("*.md")), ids=lambda p: p.stem)
def test_translations_run_the_same_things(path: Path) -> None:
    """The Chinese lesson has the same steps, node names, commands, actions and checks."""
    zh = LESSONS / "zh" / path.name
    assert zh.exists(), f"no Chinese version of {path.name}"
    assert loader.same_runnables(loader.load(path), loader.load(zh)) == []


def test_lessons_follow_the_walkthroughs() -> None:
    ids = [loader.load(p).id for p in sorted((LESSONS / "en").glob("*.md"))]
    assert ids == ["master-two-replicas", "chained-replication", "manual-promotion",
                   "full-vs-partial-resync", "persistence-and-auth", "replication-in-docker",
                   "cluster-by-hand", "sentinel-failover", "sentinel-quorum"]
    first = loader.find("1")
    texts = [i.text for s in first.steps for i in s.answer("engine") if isinstance(i, Command)]
    for cmd in ("INFO replication", "SET k1 v1", "SLAVEOF {master.host} {master.port}",
                "SET k3 v3", "DBSIZE"):
        assert cmd in texts
    pipes = [i for s in first.steps for i in s.answer("engine") if isinstance(i, Pipe)]
    assert pipes and pipes[0].count == 100_000
    assert "redis-cli" in first.steps[-1].body and "--pipe" in first.steps[-1].body


# ---------------------------------------------------------------------------- broken files

BROKEN_CASES = {
    "bad-front-matter.md": [(2, "id must be"), (4, "language must be one of en, zh"),
                            (6, "minutes must be a whole number"),
                            (7, "unknown key 'colour'")],
    "bad-yaml.md": [(6, "not valid YAML")],
    "bad-topology.md": [(5, "unknown topology 'ring'")],
    "unknown-node.md": [(13, "unknown node 'replica9'"), (18, "unknown node 'replica7'"),
                        (22, "placeholder {nobody.host}: unknown node 'nobody'"),
                        (30, "check: unknown node 'ghost'"),
                        (36, "placeholder {phantom.id}: unknown node 'phantom'")],
    "bad-check.md": [(16, "unknown check 'infos'"), (26, "unknown field 'equal'"),
                     (38, "bad regex"), (48, "key: needs exists: or a comparison"),
                     (59, "timeout must be a number")],
    "missing-answer.md": [(9, "step 1 (Only text): missing answer"),
                          (29, "the answer section has no runnable block")],
    "unknown-action.md": [(12, "unknown action 'explode'"),
                          (13, "an action line is '<action> <node>'"),
                          (14, "partition works on the docker and engine backends only"),
                          (22, "```pipe``` block needs count="),
                          (27, "unbalanced double quotes")],
    "unclosed-fence.md": [(11, "never closed")],
}


def test_every_broken_file_has_a_case() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.md")) == sorted(BROKEN_CASES)


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_lessons_are_rejected_with_line_numbers(name: str) -> None:
    path = BROKEN / name
    problems = loader.validate(path)
    got = [(p.line, p.message) for p in problems]
    assert len(got) == len(BROKEN_CASES[name]), got
    for (line, text), (want_line, want_text) in zip(got, BROKEN_CASES[name]):
        assert line == want_line and want_text in text, got
    with pytest.raises(loader.LessonError) as err:
        loader.load(path)
    assert all(str(p).startswith(f"{path}:{p.line}: ") for p in err.value.problems)


def test_cli_validate_reports_every_problem_and_exits_1() -> None:
    files = [str(BROKEN / n) for n in sorted(BROKEN_CASES)]
    res = subprocess.run([sys.executable, "-m", "redislab", "lesson", "validate", *files],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 1
    for name, cases in BROKEN_CASES.items():
        for line, text in cases:
            assert any(ln.startswith(f"{BROKEN / name}:{line}: ") and text in ln
                       for ln in res.stdout.splitlines()), (name, line, res.stdout)
    ok = subprocess.run([sys.executable, "-m", "redislab", "lesson", "validate",
                         str(LESSONS)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("ok ") == len(SHIPPED)


# ---------------------------------------------------------------------------- parsing

SAMPLE = """---
id: sample
title: Sample
language: en
topology: standalone
nodes: [alpha, beta]
options: {password: secret}
config:
  beta: {appendonly: "yes", save: [60, 1]}
backends: [engine, docker]
minutes: 3
---

Intro text.

## First step

Prose with a `{alpha.port}`.

```redis node=beta
REPLICAOF {alpha.host} {alpha.port}
SET "two words" 'it\\'s'
```

```action backend=docker
partition beta
```

```pipe node=alpha count=3 start=5
SET k{i} v{i}
```

```redis.conf node=beta
replicaof {alpha.host} {alpha.port}
```

```check
role: {node: beta, is: replica}
timeout: 2
```

### Hint

Use REPLICAOF.

### Explanation

It fails when...

## Second step

```sh
echo not run
```

### Check

```check backend=docker
ping: {node: alpha, up: true}
```

### Answer

Restart it:

```action
restart alpha
```
"""


def test_parse_a_lesson(tmp_path: Path) -> None:
    path = tmp_path / "07-sample.md"
    path.write_text(SAMPLE)
    lesson = loader.load(path)
    assert (lesson.id, lesson.number, lesson.minutes) == ("sample", 7, 3)
    assert lesson.intro == "Intro text."
    topo = lesson.build_topology(base_port=7100, fast=True)
    assert topo.names == ["alpha", "beta"] and topo.ports == [7100, 7101]
    beta = topo.node("beta")
    assert beta.password == "secret" and beta.directive("appendonly") == ("yes",)
    assert beta.directive("save") == ("60", "1")
    assert beta.directive("repl-diskless-sync-delay") == ("0",)
    one, two = lesson.steps
    assert one.hint == "Use REPLICAOF." and one.explanation == "It fails when..."
    engine = one.answer("engine")
    assert [type(i) for i in engine] == [Command, Command, Pipe, ConfEdit]
    assert engine[1].args == ("SET", "two words", "it's")
    assert engine[1].line == 22
    assert [type(i) for i in one.answer("docker")] == [Command, Command, Action, Pipe, ConfEdit]
    pipe = engine[2]
    assert list(pipe.commands()) == [["SET", "k5", "v5"], ["SET", "k6", "v6"],
                                     ["SET", "k7", "v7"]]
    assert one.checks("engine")[0].timeout == 2
    assert two.checks("engine") == [] and len(two.checks("docker")) == 1
    assert two.has_answer_section and two.answer_text.startswith("Restart it:")
    assert [i.text for i in two.answer("engine")] == ["restart alpha"]
    assert two.runnable_blocks() == []


def test_find_by_id_number_and_path() -> None:
    assert loader.find("manual-promotion").number == 3
    assert loader.find("03").id == "manual-promotion"
    assert loader.find("3", "zh").language == "zh"
    assert loader.find(str(LESSONS / "en" / "02-chained-replication.md")).id == \
        "chained-replication"
    with pytest.raises(LookupError):
        loader.find("no-such-lesson")


@pytest.mark.parametrize("line,words", [
    ("SET k v", ["SET", "k", "v"]),
    ('SET "a b" c', ["SET", "a b", "c"]),
    (r'SET k "line\nbreak\x41"', ["SET", "k", "line\nbreakA"]),
    ("SET k 'single \\' quote'", ["SET", "k", "single ' quote"]),
    ('CONFIG SET save ""', ["CONFIG", "SET", "save", ""]),
    ("   ", []),
])
def test_split_args_like_redis_cli(line: str, words: list[str]) -> None:
    assert split_args(line) == words


@pytest.mark.parametrize("line", ['SET "open', "SET 'open", 'SET "a"b'])
def test_split_args_rejects_bad_quotes(line: str) -> None:
    with pytest.raises(SplitError):
        split_args(line)


def test_placeholders() -> None:
    addr = {"master": ("172.28.0.10", 6379)}
    assert substitute("SLAVEOF {master.host} {master.port}", addr.__getitem__) == \
        "SLAVEOF 172.28.0.10 6379"
    assert substitute("{master.addr} {other.host} {x}", addr.__getitem__) == \
        "172.28.0.10:6379 {other.host} {x}"
