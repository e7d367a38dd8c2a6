"""Helpers of the backend contract suite, and the two session fixtures it shares with the
lesson tests (``lab_home``, ``docker_ready``: each conftest.py imports them)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest

from nodes import IN_CI, require_binary, wait_until

from redislab.backends import BaseBackend, get_backend
from redislab.backends.base import needed_ports, port_free
from redislab.topology import Topology

BACKENDS = ["engine", "process", "docker"]
ROOT = Path(__file__).resolve().parents[2]


def need(what: str) -> None:
    """Skip for lack of ``what`` -- or fail, under CI=true."""
    if IN_CI:
        pytest.fail(what)
    pytest.skip(what)


def start_dockerd() -> None:
    """Start dockerd (as root, when installed and no DOCKER_HOST) and wait for it."""
    if shutil.which("dockerd") is None or os.geteuid() != 0 or os.environ.get("DOCKER_HOST"):
        return
    log = open("/tmp/redislab-dockerd.log", "ab")
    subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT,
                     start_new_session=True, stdin=subprocess.DEVNULL)
    for _ in range(120):
        if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)


def prepare(request: pytest.FixtureRequest, name: str) -> str:
    """Make sure backend ``name`` can run here (skip, or fail in CI, when it cannot)."""
    if name == "process":
        require_binary("redis-server")
        require_binary("redis-sentinel")
    elif name == "docker":
        request.getfixturevalue("docker_ready")
    return name


def free_topology(topo: Topology, low: int = 12000, high: int = 13700) -> Topology:
    """``topo`` moved to a random block of ports that are free (bus ports included).

    Port plan of the suite, so parallel workers never race for the same ports: backends
    12000-13700 (cluster buses 22000-23700), TUI tests 20000-20900 and 23790-23810
    (snapshots), lessons and runner tests a learner's 6379/7000 blocks (one xdist group),
    engine tests 14000-15999 and 18000-19999 (buses 24000-25999, 28000-29999: tests/nodes.py)."""
    for _ in range(500):
        base = random.randrange(low, high, 10)
        cand = topo.shifted(base)
        if all(port_free(p) for p in needed_ports(cand)):
            return cand
    raise RuntimeError("no free block of ports")


def fast(topo: Topology) -> Topology:
    """``topo`` with ``repl-diskless-sync-delay 0`` on every server: Redis 7 waits 5 s by
    default before a full sync (to batch replicas), which only slows the tests down."""
    nodes = tuple(
        replace(n, config=n.config + (("repl-diskless-sync-delay", ("0",)),))
        if n.kind == "server" else n for n in topo.nodes)
    return Topology(topo.name, nodes)


def new_id(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def up(backend: str, topo: Topology, **kw: Any) -> BaseBackend:
    """A lab of ``topo`` on ``backend`` on free ports (the caller takes it down)."""
    lab = get_backend(backend, new_id(), **kw)
    up_on_free_ports(lab, topo)
    return lab


def up_on_free_ports(lab: BaseBackend, topo: Topology, tries: int = 3) -> None:
    """``lab.up`` on a random free block; another xdist worker may take the block between
    the check and the bind (Docker then says "port is already allocated"): try another.
    A learner gets the PortInUse error itself, with its hint."""
    from redislab.backends import PortInUse

    for attempt in range(tries):
        try:
            lab.up(free_topology(fast(topo)))
            return
        except PortInUse:
            lab.down()
            if attempt == tries - 1:
                raise


def wait_for(fn: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1,
             what: str = "condition") -> Any:
    """Poll ``fn`` until it returns something truthy; any exception (a node restarting, a
    link coming up) counts as "not yet"; fail with ``what`` after ``timeout``."""
    return wait_until(fn, timeout, interval, what, errors=(Exception,))


def docker_objects(label: str) -> list[str]:
    """Containers and networks carrying ``label`` (k=v), when docker answers."""
    from redislab.backends.docker import connect, docker_reachable
    from redislab.backends.errors import DockerUnavailable

    if not docker_reachable():
        return []
    try:
        client = connect(timeout=10)
    except DockerUnavailable:
        return []
    flt = {"label": label}
    out = [f"container {c['Names'][0]}" for c in client.api.containers(all=True, filters=flt)]
    out += [f"network {n['Name']}" for n in client.api.networks(filters=flt)]
    return out


def lab_processes(lab_id: str) -> list[str]:
    """Live node processes running in the lab's directory."""
    from redislab.backends import state

    out = []
    for pid in state.pids_in(state.labs_dir() / lab_id):
        cmd = state.pid_cmdline(pid) or ""
        if state.pid_alive(pid) and "redis" in cmd:
            out.append(f"pid {pid} ({cmd.strip()})")
    return out


def lab_leftovers(lab_id: str, pids: list[int] = ()) -> list[str]:
    """What a lab left behind: its record or directory, node processes, docker objects."""
    from redislab.backends import state
    from redislab.backends.docker import LABEL_LAB

    left = []
    if (state.labs_dir() / f"{lab_id}.json").exists():
        left.append("record")
    if (state.labs_dir() / lab_id).exists():
        left.append("directory")
    left += [f"pid {p}" for p in pids if state.pid_alive(p)]
    left += lab_processes(lab_id)
    left += docker_objects(f"{LABEL_LAB}={lab_id}")
    return left


def run_cli(*args: str, timeout: float = 120, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``redislab ARGS`` in a fresh process (as from another shell)."""
    res = subprocess.run([sys.executable, "-m", "redislab", *args], capture_output=True,
                         text=True, timeout=timeout, cwd=ROOT, env=env)
    if check:
        assert res.returncode == 0, f"redislab {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
    return res


# --------------------------------------------------------------------------- shared fixtures


@pytest.fixture(scope="session", autouse=True)
def lab_home(tmp_path_factory: pytest.TempPathFactory):
    """``REDISLAB_HOME`` in a fresh directory for the whole session, so the user's own
    labs and progress are never seen or touched; what is left there is taken down after."""
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
def docker_ready() -> Any:
    """A docker client with the daemon running (started here when installed, as root) and
    the offline image built; skip without Docker, or fail under CI=true."""
    from redislab.backends.docker import connect
    from redislab.backends.errors import DockerUnavailable
    from redislab.backends.image import DEFAULT_IMAGE, exists

    try:
        client = connect(timeout=30)
    except DockerUnavailable:
        start_dockerd()
        try:
            client = connect(timeout=30)
        except DockerUnavailable as exc:
            need(f"docker backend: {exc}")
    if not exists(client, DEFAULT_IMAGE):
        run_cli("image", "build", "--if-missing", timeout=300)
    return client
