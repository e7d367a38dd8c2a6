"""Fixtures of the backend contract suite.

* Every test here runs with ``REDISLAB_HOME`` pointing at a fresh directory, so the
  user's own labs are never seen or touched; at the end every lab left there is taken
  down and docker objects labelled with that home are removed.
* ``backend_name`` is parametrised over engine, process and docker. Docker tests run
  against the real daemon: ``docker_ready`` starts dockerd when it is installed and not
  running (as root) and builds the offline image (``redislab image build --if-missing``).
  Without Docker (or redis-server for the process backend) the tests skip, except under
  CI=true, where that is a failure.
* ``make_lab(topology)`` brings a topology up on free ports and takes it down afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest

from labtools import (BACKENDS, docker_ready, lab_home, new_id, prepare,  # noqa: F401
                      up_on_free_ports)

from redislab.backends import BaseBackend, get_backend
from redislab.topology import Topology


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return prepare(request, request.param)


@pytest.fixture
def make_lab(backend_name: str):
    labs: list[BaseBackend] = []

    def make(topo: Topology, **kw: Any) -> BaseBackend:
        lab = get_backend(backend_name, new_id(), **kw)
        labs.append(lab)
        up_on_free_ports(lab, topo)
        return lab

    yield make
    for lab in labs:
        lab.down()
