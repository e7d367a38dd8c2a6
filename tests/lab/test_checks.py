"""Checks evaluated over RESP against real nodes: the engine and a real redis-server give
the same verdicts (a lesson that passes on one passes on the other)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from nodes import Node, free_port

from redislab.lab import checks
from redislab.lab.text import yaml_load


class Ctx:
    """A checks.Context over plain nodes (what the runner provides for a lab)."""

    def __init__(self, nodes: dict[str, Any]):
        self.nodes = nodes
        self.marks: dict[str, int] = {}

    def client(self, node: str, timeout: float) -> redis.Redis:
        port = self.nodes[node] if isinstance(self.nodes[node], int) else self.nodes[node].port
        r = redis.Redis(port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                        protocol=2, retry=Retry(NoBackoff(), 0))
        r.response_callbacks.clear()
        return r

    def log_since(self, node: str, since: str) -> str:
        text = self.nodes[node].log_text()
        return text[self.marks.get(node, 0):] if since == "step" else text

    def resolve(self, node: str) -> tuple[str, int]:
        n = self.nodes[node]
        return "127.0.0.1", n if isinstance(n, int) else n.port

    def mark(self) -> None:
        self.marks = {k: len(v.log_text()) for k, v in self.nodes.items()
                      if not isinstance(v, int)}


def spec(text: str) -> checks.CheckSpec:
    return checks.parse(yaml_load(text), 1)


def run(ctx: Ctx, text: str) -> checks.Outcome:
    return checks.evaluate(spec(text), ctx)


@pytest.fixture(scope="module", params=["engine", "real"])
def pair(request: pytest.FixtureRequest):
    """A master and a replica of one kind (engine nodes or redis-server), shared by the
    module's tests (they only add keys and cut links that heal)."""
    kind = request.param
    master = Node(kind, args=["--repl-diskless-sync-delay", "0"])
    replica = Node(kind, args=["--repl-diskless-sync-delay", "0"])
    with master, replica:
        yield _pair(master, replica)


def _pair(master: Node, replica: Node) -> Ctx:
    ctx = Ctx({"master": master, "replica": replica})
    ctx.client("master", 2).execute_command("SET", "k1", "v1")
    ctx.client("replica", 2).execute_command("REPLICAOF", "127.0.0.1", str(master.port))
    outcome = run(ctx, "info: {node: replica, field: master_link_status, equals: up}\n"
                       "timeout: 20")
    assert outcome.passed, outcome.result.text
    return ctx


PASSING = [
    "role: {node: master, is: master}",
    "role: {node: replica, is: replica}",
    "info: {node: master, field: connected_slaves, equals: 1}",
    "info: {node: replica, field: master_host, equals: '{master.host}'}",
    "info: {node: replica, field: master_port, equals: '{master.port}'}",
    "info: {node: master, field: slave0, matches: 'ip={replica.host},port={replica.port},'}",
    "info: {node: master, section: stats, field: sync_full, gte: 1}",
    "info: {node: master, field: master_replid, matches: '^[0-9a-f]{40}$'}",
    "key: {node: replica, name: k1, equals: v1}",
    "key: {node: replica, name: nope, exists: false}",
    "key: {node: master, name: k1, in: [v0, v1]}",
    "dbsize: {node: master, gte: 1}",
    "reply: {node: master, command: [CONFIG, GET, save], equals: [save, '']}",
    "reply: {node: master, command: GET nope, equals: null}",
    "reply: {node: replica, command: [SET, x, '1'], error: '^READONLY You can.t write'}",
    "reply: {node: master, command: [PING], equals: PONG}",
    "ping: {node: master, up: true}",
    "log: {node: master, contains: 'Synchronization with replica', since: lesson}",
    "log: {node: replica, matches: 'REPLICA sync: Finished with success', since: lesson}",
    "not: {role: {node: replica, is: master}}",
    "any: [{role: {node: replica, is: master}}, {role: {node: replica, is: slave}}]",
    "same: [{info: {node: master, field: master_replid}},"
    " {info: {node: replica, field: master_replid}}]",
    "same: [{dbsize: {node: master}}, {dbsize: {node: replica}}]",
]

FAILING = [
    ("role: {node: master, is: slave}", "master role is 'master' (expected 'slave')"),
    ("key: {node: replica, name: k1, equals: v2}", "replica key k1 is 'v1', expected = 'v2'"),
    ("key: {node: replica, name: k1, exists: false}", "replica key k1 exists (expected it not"),
    ("info: {node: master, field: connected_slaves, gt: 1}", "expected > 1"),
    ("info: {node: master, field: no_such_field, equals: 1}", "is nil, expected = 1"),
    ("reply: {node: master, command: [SET, y, '1'], error: READONLY}", "expected an error"),
    ("log: {node: master, contains: 'no such line ever'}", "log has no 'no such line ever'"),
    ("all: [{role: {node: master, is: master}}, {dbsize: {node: master, equals: 500}}]",
     "expected = 500"),
]


@pytest.mark.parametrize("text", PASSING)
def test_passing_checks(pair: Ctx, text: str) -> None:
    outcome = run(pair, text + "\ntimeout: 10")
    assert outcome.passed, [line for line in outcome.lines()]


def test_failing_checks_say_why(pair: Ctx) -> None:
    for text, why in FAILING:
        outcome = run(pair, text + "\ntimeout: 0")
        assert not outcome.passed, text
        assert any(why in line for _, ok, line in outcome.lines() if ok is False), \
            (text, outcome.lines())


def test_log_checks_look_at_the_current_step(pair: Ctx) -> None:
    assert run(pair, "log: {node: master, contains: 'Synchronization with replica'}").passed
    pair.mark()  # a new step begins
    out = run(pair, "log: {node: master, contains: 'Synchronization with replica'}\ntimeout: 0")
    assert not out.passed and "since this step began" in out.result.text
    pair.client("replica", 2).execute_command("CLIENT", "KILL", "TYPE", "master")
    out = run(pair, "log: {node: replica, contains: 'Successful partial resynchronization'}\n"
                    "timeout: 10")
    assert out.passed, out.result.text


def test_polling_until_a_state_converges(pair: Ctx) -> None:
    def later() -> None:
        time.sleep(0.6)
        pair.client("master", 2).execute_command("SET", "late", "yes")

    t = threading.Thread(target=later)
    t.start()
    try:
        quick = run(pair, "key: {node: replica, name: late, equals: 'yes'}\ntimeout: 0")
        assert not quick.passed and quick.attempts == 1 and quick.elapsed < 1
        slow = run(pair, "key: {node: replica, name: late, equals: 'yes'}\ntimeout: 10")
        assert slow.passed and slow.attempts > 1
    finally:
        t.join()


def test_a_node_that_is_down() -> None:
    ctx = Ctx({"gone": free_port()})
    assert run(ctx, "ping: {node: gone, up: false}").passed
    out = run(ctx, "ping: {node: gone, up: true}\ntimeout: 0")
    assert not out.passed and "gone does not answer" in out.result.text
    out = run(ctx, "key: {node: gone, name: k, exists: true}\ntimeout: 0")
    assert not out.passed and "cannot reach gone" in out.result.text


def test_moot_alternatives_of_a_passing_any_are_not_failures(pair: Ctx) -> None:
    out = run(pair, "any: [{role: {node: master, is: slave}}, {role: {node: master, is: master}}]")
    assert out.passed
    assert [ok for _, ok, _ in out.lines()] == [True, None, True]


@pytest.mark.parametrize("text,line,message", [
    ("nope: 1", 1, "unknown check 'nope'"),
    ("info: {node: m}", 1, "needs field"),
    ("role: {node: m, is: boss}", 1, "role: is must be one of"),
    ("all: []", 1, "non-empty list"),
    ("same: [{dbsize: {node: m}}]", 1, "at least two reads"),
    ("same:\n  - dbsize: {node: m, equals: 1}\n  - dbsize: {node: n}", 2, "no comparison"),
    ("key: {node: m, name: k, equals: 1, matches: x}", 1, "one comparison only"),
    ("reply: {node: m, command: [MONITOR], equals: OK}", 1, "cannot be used in a check"),
    ("info: {node: m, field: f, gte: many}", 1, "takes a number"),
    ("log: {node: m, contains: x, since: yesterday}", 1, "since must be step or lesson"),
    ("role: {node: m, is: master}\nrole2: 1", 1, "one check per mapping"),
    ("all:\n  - role: {node: m, is: master}\n  - info: {node: m}", 3, "needs field"),
])
def test_check_syntax_errors_have_lines(text: str, line: int, message: str) -> None:
    with pytest.raises(checks.CheckSyntaxError) as err:
        spec(text)
    assert err.value.line == line and message in str(err.value)
