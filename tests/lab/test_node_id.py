"""``{node.id}``: a cluster node's id, filled in by the runner at run time with
``CLUSTER MYID`` on that node. Substitution and validation on their own, then the runner
on live cluster nodes: filled commands and checks, the cache and what invalidates it, and
the errors for a node that is down or not in cluster mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from redislab.lab import loader
from redislab.lab import runner as R
from redislab.lab.text import PlaceholderError, placeholders, substitute

ADDR = {"node1": ("10.0.0.1", 7000)}
IDS = {"node1": "a" * 40}


def test_substitute_fills_ids_and_addresses() -> None:
    text = "CLUSTER REPLICATE {node1.id} at {node1.addr}"
    assert substitute(text, ADDR.__getitem__, ids=IDS.__getitem__) == \
        f"CLUSTER REPLICATE {'a' * 40} at 10.0.0.1:7000"
    # no id function (or one that does not know the node): the placeholder stays
    assert substitute(text, ADDR.__getitem__) == "CLUSTER REPLICATE {node1.id} at 10.0.0.1:7000"
    assert substitute("{node2.id} {node1.id}", None, ids=IDS.__getitem__) == \
        "{node2.id} " + "a" * 40
    assert substitute("{node1.id}", None, ids=IDS.__getitem__, escape=lambda v: f"<{v}>") == \
        f"<{'a' * 40}>"
    assert list(placeholders("{node1.id} {node2.port} {x} {node3.ids}")) == \
        [("node1", "id"), ("node2", "port")]


def test_an_id_that_cannot_be_read_is_an_error_naming_it() -> None:
    def ids(node: str) -> str:
        raise PlaceholderError(f"cannot fill {{{node}.id}}: {node} does not answer")

    with pytest.raises(PlaceholderError, match=re.escape("{node1.id}")):
        substitute("CLUSTER REPLICATE {node1.id}", ADDR.__getitem__, ids=ids)


VALIDATE = """---
id: ids
title: Ids
language: en
topology: cluster
minutes: 1
---

## Replicate

```redis node=node4
CLUSTER REPLICATE {node1.id}
CLUSTER REPLICATE {node9.id}
```

```check
all:
  - reply: {node: node4, command: CLUSTER NODES, matches: 'slave {node1.id} '}
  - reply: {node: node4, command: CLUSTER NODES, contains: '{nobody.id}'}
```
"""


def test_validate_accepts_known_nodes_and_reports_unknown_ones(tmp_path: Path) -> None:
    path = tmp_path / "90-ids.md"
    path.write_text(VALIDATE)
    got = [(p.line, p.message) for p in loader.validate(path)]
    assert len(got) == 2, got
    assert got[0][0] == 13 and "placeholder {node9.id}: unknown node 'node9'" in got[0][1]
    assert got[1][0] == 19 and "placeholder {nobody.id}: unknown node 'nobody'" in got[1][1]
    path.write_text(VALIDATE.replace("node9", "node2").replace("nobody", "node3"))
    lesson = loader.load(path)
    assert lesson.steps[0].answer("engine")[0].text == "CLUSTER REPLICATE {node1.id}"


# ---------------------------------------------------------------------------- live

# the labs below take the lessons' ports when they are free: each test runs with the
# lesson runs (xdist group "lessons")

CLUSTER = """---
id: ids-live
title: Ids on live nodes
language: en
topology: cluster
options: {nodes: 2, node_timeout_ms: 2000}
backends: [engine, process]
minutes: 1
---

## Meet

```redis node=node1
CLUSTER MEET {node2.host} {node2.port}
```

```check
all:
  - reply: {node: node1, command: CLUSTER INFO, matches: 'cluster_known_nodes:2\\b'}
  - reply: {node: node2, command: CLUSTER NODES, contains: "{node1.id}"}
timeout: 20
```

## Replicate

```redis node=node2
CLUSTER REPLICATE {node1.id}
```

```check
all:
  - role: {node: node2, is: slave}
  - reply: {node: node2, command: CLUSTER NODES, matches: 'myself,slave {node1.id} '}
timeout: 20
```
"""


@pytest.fixture
def cluster_lesson(tmp_path: Path) -> loader.Lesson:
    path = tmp_path / "91-ids-live.md"
    path.write_text(CLUSTER)
    return loader.load(path)


def myid(run: R.Runner, node: str) -> str:
    r = run.client(node)
    try:
        return r.execute_command("CLUSTER", "MYID").decode()
    finally:
        r.close()


@pytest.mark.xdist_group("lessons")
def test_ids_are_filled_in_commands_checks_and_text(cluster_lesson: loader.Lesson) -> None:
    events: list[R.Event] = []
    with R.Runner(cluster_lesson, "engine", on_event=events.append, fast=True) as run:
        assert run.run_auto()
        id1 = myid(run, "node1")
        assert re.fullmatch(r"[0-9a-f]{40}", id1)
        replicate = [e for e in events if isinstance(e, R.CommandRun)][-1]
        assert replicate.text == f"CLUSTER REPLICATE {id1}" and replicate.reply == b"OK"
        assert replicate.args == ("CLUSTER", "REPLICATE", id1) and replicate.error is None
        # what the TUI shows of a step: the id filled in, the address too
        host, port = run.resolve("node1")
        assert run.fill("REPLICATE {node1.id} ({node1.addr})") == \
            f"REPLICATE {id1} ({host}:{port})"
        checks = [e for e in events if isinstance(e, R.CheckFinished)]
        assert [c.passed for c in checks] == [True, True]
        texts = [t for c in checks for o in c.outcomes for _, _, t in o.lines()]
        assert not any("{node1.id}" in t for t in texts), texts


@pytest.mark.xdist_group("lessons")
def test_a_new_id_after_cluster_reset_and_after_a_rebuild(
        cluster_lesson: loader.Lesson) -> None:
    with R.Runner(cluster_lesson, "engine", fast=True) as run:
        run.run_step(0)
        before = run.node_id("node2")
        assert before == myid(run, "node2") == run.fill("{node2.id}")
        reset = run.run_command("node2", "CLUSTER RESET HARD")
        assert reset.reply == b"OK"
        after = run.node_id("node2")
        assert after != before and after == myid(run, "node2")
        old1 = run.node_id("node1")
        run.reset_lesson()  # a fresh lab: fresh ids, nothing kept from the old one
        assert run.node_id("node1") == myid(run, "node1") != old1


@pytest.mark.xdist_group("lessons")
def test_a_node_that_is_down_or_not_a_cluster_node(cluster_lesson: loader.Lesson,
                                                   tmp_path: Path) -> None:
    events: list[R.Event] = []
    with R.Runner(cluster_lesson, "engine", on_event=events.append, fast=True) as run:
        run.run_step(0)
        assert run.run_action("stop", "node1").error is None
        # shown as the placeholder while it cannot be read
        assert run.fill("CLUSTER REPLICATE {node1.id}") == "CLUSTER REPLICATE {node1.id}"
        with pytest.raises(PlaceholderError, match=r"\{node1\.id\}: node1 does not answer"):
            run.node_id("node1")
        sent = run.run_command("node2", "CLUSTER REPLICATE {node1.id}")
        assert sent.reply is None and sent.text == "CLUSTER REPLICATE {node1.id}"
        assert "{node1.id}" in sent.error and "node1 does not answer" in sent.error
        run.timeout_scale = 0.05  # it cannot pass: do not poll it for 20 s
        result = run.check(1)  # a check naming the id fails and says why
        assert not result.passed
        texts = [t for o in result.outcomes for _, _, t in o.lines()]
        assert any("{node1.id}" in t and "node1" in t for t in texts), texts
        with pytest.raises(KeyError):
            run.node_id("node9")

    path = tmp_path / "92-plain.md"
    path.write_text("---\nid: plain\ntitle: Plain\nlanguage: en\ntopology: standalone\n"
                    "nodes: [solo]\nbackends: [engine]\nminutes: 1\n---\n\n## Ask\n\n"
                    "```redis node=solo\nECHO {solo.id}\n```\n")
    with R.Runner(loader.load(path), "engine", fast=True) as run:
        sent = run.run_command("solo", "ECHO {solo.id}")
        assert sent.reply is None
        assert "{solo.id}" in sent.error and "solo is not in cluster mode" in sent.error
        assert run.fill("ECHO {solo.id}") == "ECHO {solo.id}"
