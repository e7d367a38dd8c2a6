"""Shared fixtures.

* ``real`` / ``engine``: one real redis-server and one engine node for the whole session
  (each test starts from FLUSHALL and default settings).
* ``both``: a :class:`Differential` that sends the same command to both and asserts the
  reply bytes are identical — the shape of the differential suite.
* ``node_factory``: start extra nodes of either kind; all are stopped after the test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from nodes import Node, RawClient  # noqa: E402


@pytest.fixture(scope="session")
def real_node():
    with Node("real") as node:
        yield node


@pytest.fixture(scope="session")
def engine_node():
    with Node("engine") as node:
        yield node


def _fresh(node: Node) -> RawClient:
    c = node.raw()
    c.call("FLUSHALL")
    c.call("SELECT", "0")
    return c


@pytest.fixture
def real(real_node):
    c = _fresh(real_node)
    yield c
    c.close()


@pytest.fixture
def engine(engine_node):
    c = _fresh(engine_node)
    yield c
    c.close()


class Differential:
    """Same command to a real redis-server and to the engine; replies must match exactly."""

    def __init__(self, real: RawClient, engine: RawClient):
        self.real = real
        self.engine = engine

    def __call__(self, *args) -> bytes:
        want = self.real.call(*args)
        got = self.engine.call(*args)
        assert got == want, f"{args!r}: engine {got!r} != redis {want!r}"
        return got

    def unordered(self, *args) -> bytes:
        """For replies whose element order Redis does not define (SMEMBERS, KEYS...)."""
        want = self.real.call(*args)
        got = self.engine.call(*args)
        assert sorted(got.split(b"\r\n")) == sorted(want.split(b"\r\n")), (
            f"{args!r}: engine {got!r} != redis {want!r}"
        )
        return got


@pytest.fixture
def both(real, engine) -> Differential:
    return Differential(real, engine)


@pytest.fixture
def node_factory():
    started: list[Node] = []

    def make(kind: str = "engine", *args: str, conf: str | None = None, start: bool = True,
             **kw) -> Node:
        node = Node(kind, args=args, conf=conf, **kw)
        started.append(node)
        if start:
            node.start()
        return node

    yield make
    for node in started:
        node.stop()
