"""`redislab image pull` against a real registry: Debian's docker-registry on 127.0.0.1
(the registry a classroom might run; no traffic leaves the machine). The offline image
is pushed to it, the local copy removed, then pulled back and used for a lab."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from labtools import free_topology, need, new_id, run_cli, wait_for

from redislab import topology as T
from redislab.backends import get_backend
from redislab.backends.image import DEFAULT_IMAGE, exists, split_reference


def test_split_reference() -> None:
    assert split_reference("redis:7.2") == ("redis", "7.2")
    assert split_reference("redis") == ("redis", "latest")
    assert split_reference("127.0.0.1:5000/redislab/redis") == (
        "127.0.0.1:5000/redislab/redis", "latest")
    assert split_reference("127.0.0.1:5000/redislab/redis:7.0") == (
        "127.0.0.1:5000/redislab/redis", "7.0")


@pytest.fixture
def registry(docker_ready, tmp_path: Path):
    binary = shutil.which("docker-registry")
    if binary is None:
        need("docker-registry (Debian package docker-registry) for the image pull test")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "registry.yml"
    conf.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'store'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n")
    log = open(tmp_path / "registry.log", "wb")
    proc = subprocess.Popen([binary, "serve", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True,
                 timeout=20, what="the registry listening")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_pull_from_a_registry_and_run_a_lab(docker_ready, registry: str) -> None:
    client = docker_ready
    tag = uuid.uuid4().hex[:8]
    repo = f"{registry}/redislab/redis"
    name = f"{repo}:{tag}"
    client.images.get(DEFAULT_IMAGE).tag(repo, tag)
    for event in client.api.push(repo, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
    client.images.remove(name)
    assert not exists(client, name)
    try:
        out = run_cli("image", "pull", name).stdout
        assert f"pulled {name}" in out
        assert exists(client, name)
        lab = get_backend("docker", new_id("pull"), image=name)
        lab.up(free_topology(T.standalone(1)))
        try:
            assert lab.exec("node1", "PING") == b"PONG"
            info = client.api.inspect_container(lab.container_name("node1"))
            assert info["Config"]["Image"] == name
        finally:
            lab.down()
    finally:
        if exists(client, name):
            client.images.remove(name)


def test_pull_without_a_registry_says_what_to_do(docker_ready) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = run_cli("image", "pull", f"127.0.0.1:{port}/redislab/redis:none", check=False)
    assert res.returncode != 0
    assert "registry reachable" in res.stderr and "redislab image build" in res.stderr
