"""Nothing a lab made outlives it: not after ``down``, not after its owner dies.

"Nothing" is: its record and directory, node processes (found by pid and by working
directory), and docker containers and networks labelled with the lab.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from labtools import (ROOT, docker_objects, fast, free_topology, lab_leftovers, new_id,
                      run_cli, up, wait_for)

from redislab import topology as T
from redislab.backends import attach, reap, state


def test_up_down_cycles(backend_name: str) -> None:
    """20 cycles of up and down leave nothing behind."""
    ids = []
    for _ in range(20):
        lab = up(backend_name, T.standalone(1))
        ids.append(lab.lab_id)
        assert lab.exec("node1", "PING") == b"PONG"
        lab.down()
    for lab_id in ids:
        assert lab_leftovers(lab_id) == [], lab_id
    assert not {r.id for r in state.records()} & set(ids)


def _record(lab_id: str) -> dict | None:
    try:
        return json.loads((state.labs_dir() / f"{lab_id}.json").read_text())
    except (OSError, ValueError):
        return None


def _popen_up(backend: str, lab_id: str, base: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "redislab", "up", "replication", "--backend", backend,
         "--name", lab_id, "--port", str(base)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cli_killed_mid_lab_is_reaped(backend_name: str) -> None:
    """`redislab up` killed with SIGKILL half-way: the next `redislab` command cleans up."""
    lab_id = new_id("k")
    base = free_topology(T.replication()).ports[0]
    proc = _popen_up(backend_name, lab_id, base)
    key = "container" if backend_name == "docker" else "pid"

    def first_node_started() -> bool:
        rec = _record(lab_id)
        return bool(rec and any(key in n for n in rec["nodes"].values()))

    try:
        wait_for(first_node_started, timeout=60, interval=0.01, what="a node being started")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    rec = _record(lab_id)
    assert rec is not None and rec["state"] == "starting"
    pids = [n["pid"] for n in rec["nodes"].values() if "pid" in n]
    time.sleep(0.5)  # let whatever node was being spawned come up
    assert lab_leftovers(lab_id, pids) != []  # something was left ...
    run_cli("status")  # ... until the next command
    assert lab_leftovers(lab_id, pids) == []


def test_cli_interrupted_mid_lab_cleans_up(backend_name: str) -> None:
    """Ctrl-C (SIGINT) during `redislab up`: the lab is removed at once, exit code 130."""
    lab_id = new_id("i")
    base = free_topology(T.replication()).ports[0]
    proc = _popen_up(backend_name, lab_id, base)
    key = "container" if backend_name == "docker" else "pid"
    wait_for(lambda: any(key in n for n in (_record(lab_id) or {"nodes": {}})["nodes"].values()),
             timeout=60, interval=0.01, what="a node being started")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert lab_leftovers(lab_id) == []


def test_owner_exit_takes_the_lab_down(backend_name: str) -> None:
    """A program that brings a lab up and exits without down(): the lab goes with it."""
    lab_id = new_id("o")
    topo = fast(free_topology(T.standalone(2)))
    script = textwrap.dedent(f"""
        from redislab import topology
        from redislab.backends import get_backend
        topo = topology.Topology.from_dict({topo.to_dict()!r})
        lab = get_backend({backend_name!r}, {lab_id!r})
        lab.up(topo)
        assert lab.exec("node1", "PING") == b"PONG"
        print("up", flush=True)
    """)
    res = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0 and "up" in res.stdout, res.stderr
    assert lab_leftovers(lab_id) == []


def test_lab_whose_nodes_died_is_reaped(backend_name: str) -> None:
    """A detached lab whose every node is gone (killed, host rebooted) is reaped."""
    lab = up(backend_name, T.standalone(2))
    lab.detach()
    lab_id = lab.lab_id
    for node in ("node1", "node2"):
        lab.kill(node)
    assert lab_id in reap()
    assert lab_leftovers(lab_id) == []


def test_running_detached_lab_is_kept(backend_name: str) -> None:
    lab = up(backend_name, T.standalone(1))
    lab.detach()
    try:
        assert lab.lab_id not in reap()
        assert attach(state.LabRecord.load(lab.lab_id)).exec("node1", "PING") == b"PONG"
    finally:
        lab.down()


@pytest.fixture
def docker_only(docker_ready):
    return docker_ready


def test_unrecorded_containers_are_reaped(docker_only) -> None:
    """Containers and network labelled with our home but with no record: removed."""
    lab = up("docker", T.standalone(2))
    lab_id = lab.lab_id
    lab.detach()
    (state.labs_dir() / f"{lab_id}.json").unlink()
    assert docker_objects(f"redislab.lab={lab_id}")
    assert lab_id in reap()
    assert docker_objects(f"redislab.lab={lab_id}") == []
    lab.record = None  # already gone


def test_other_homes_are_left_alone(docker_only, tmp_path) -> None:
    """Reaping never touches containers of a lab recorded under another REDISLAB_HOME."""
    lab = up("docker", T.standalone(1))
    lab.detach()
    mine = os.environ["REDISLAB_HOME"]
    try:
        os.environ["REDISLAB_HOME"] = str(tmp_path / "other-home")
        reap()
        assert len(docker_objects(f"redislab.lab={lab.lab_id}")) == 2  # container, network
    finally:
        os.environ["REDISLAB_HOME"] = mine
    assert lab.exec("node1", "PING") == b"PONG"
    lab.down()
    assert lab_leftovers(lab.lab_id) == []
