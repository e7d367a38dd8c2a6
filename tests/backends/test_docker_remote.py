"""DOCKER_HOST naming another machine: an instructor's Docker server for the class.

The daemon here is reached through a TCP port on 127.0.0.2 (a forwarder to its unix
socket stands in for the network between a learner's laptop and the server), so the lab
must reach its nodes at 127.0.0.2, not at 127.0.0.1, and say so."""

from __future__ import annotations

import socket
import threading

import pytest
import redis

from labtools import free_topology, new_id, run_cli, wait_for

from redislab import topology as T
from redislab.backends import get_backend
from redislab.backends.docker import remote_docker_host

SOCK = "/var/run/docker.sock"
REMOTE = "127.0.0.2"


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def remote_docker(docker_ready, monkeypatch: pytest.MonkeyPatch):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((REMOTE, 0))
    listener.listen(64)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            up = socket.socket(socket.AF_UNIX)
            up.connect(SOCK)
            for a, b in ((conn, up), (up, conn)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    url = f"tcp://{REMOTE}:{listener.getsockname()[1]}"
    monkeypatch.setenv("DOCKER_HOST", url)
    yield url
    stop.set()
    listener.close()


def test_docker_host_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    for url, want in (("", None), ("unix:///var/run/docker.sock", None),
                      ("tcp://127.0.0.1:2375", None), ("tcp://localhost:2375", None),
                      ("tcp://10.1.2.3:2376", "10.1.2.3"), ("ssh://me@class.example", "class.example"),
                      ("class.example:2375", "class.example")):
        monkeypatch.setenv("DOCKER_HOST", url)
        assert remote_docker_host() == want, url


def test_replication_on_a_remote_daemon(remote_docker: str) -> None:
    lab = get_backend("docker", new_id("rem"))
    lab.up(free_topology(T.replication()))
    try:
        assert lab.address("master") == (REMOTE, lab.spec("master").port)
        assert lab.exec("master", "SET", "k", "v") == b"OK"
        wait_for(lambda: lab.exec("replica2", "GET", "k") == b"v", what="k on replica2")
        # redis-py straight at the remote address, as a learner's client would go (replica1
        # gets k in its own time: it may still be finishing its first sync on a busy host)
        port = lab.spec("replica1").port
        with redis.Redis(host=REMOTE, port=port, protocol=2) as r:
            wait_for(lambda: r.get("k") == b"v", what="k on replica1 through the remote address")
        out = run_cli("status").stdout
        assert f"{REMOTE}:{port}" in out
        assert lab.equivalent("exec", "replica1", "INFO").startswith("docker exec")
    finally:
        lab.down()


def test_cluster_announces_the_remote_address(remote_docker: str) -> None:
    """Host-networked cluster nodes bind every address and announce the Docker machine's,
    so CLUSTER NODES (and so MOVED) name an address the learner's host can reach."""
    lab = get_backend("docker", new_id("rem"))
    lab.up(free_topology(T.cluster(nodes=3)))
    try:
        host, port = lab.internal_address("node1")
        assert host == REMOTE
        lab.exec("node2", "CLUSTER", "MEET", host, port)
        myself = lambda: next(ln for ln in lab.exec("node1", "CLUSTER", "NODES").decode()
                              .splitlines() if "myself" in ln)
        assert myself().split()[1].startswith(f"{REMOTE}:{port}@")
        wait_for(lambda: f"{REMOTE}:{lab.spec('node2').port}@" in
                 lab.exec("node1", "CLUSTER", "NODES").decode(), what="node2 met over 127.0.0.2")
    finally:
        lab.down()
