"""Docker specifics: the offline image, the compose export run for real, clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
import redis
import yaml

from labtools import docker_objects, free_topology, need, run_cli, wait_for

from redislab import topology as T
from redislab.backends import BackendError, DockerUnavailable, ImageMissing, get_backend, state
from redislab.backends import image as image_mod
from redislab.backends.docker import LABEL_HOME, LABEL_LAB, connect, pick_subnet


def test_rootfs_holds_binaries_libraries_and_loader(tmp_path: Path) -> None:
    fs = image_mod.collect()
    out = tmp_path / "rootfs.tar"
    image_mod.write_rootfs(fs, out)
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        passwd = tar.extractfile("etc/passwd").read().decode()
        members = {m.name: m for m in tar.getmembers()}
    for prog in ("redis-server", "redis-sentinel", "redis-cli"):
        assert f"usr/bin/{prog}" in names
    for lib in fs.files:  # every ldd line, the loader included, reachable at its path
        assert members[_resolve(members, lib)].isfile(), lib
    assert any("ld-linux" in lib or "ld-musl" in lib for lib in fs.files)
    assert "redis:x:999:999" in passwd
    assert members["data"].isdir() and members["tmp"].mode == 0o1777
    assert fs.version.count(".") == 2


def _resolve(members: dict, path: str, depth: int = 0) -> str:
    """``path`` inside the tarball, following its symlinks as the loader would."""
    assert depth < 20, path
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        head = "/".join(parts[:i])
        m = members.get(head)
        assert m is not None, f"{head} missing (resolving {path})"
        if m.issym():
            target = os.path.normpath(os.path.join(os.path.dirname("/" + head), m.linkname))
            rest = "/".join(parts[i:])
            return _resolve(members, f"{target}/{rest}" if rest else target, depth + 1)
    return "/".join(parts)


def test_image_runs_redis(docker_ready) -> None:
    out = docker_ready.containers.run(image_mod.DEFAULT_IMAGE, ["redis-server", "--version"],
                                      remove=True, labels={"redislab.test": "1"})
    assert b"Redis server v=" in out
    out = docker_ready.containers.run(image_mod.DEFAULT_IMAGE, ["redis-cli", "--version"],
                                      remove=True, labels={"redislab.test": "1"})
    assert out.startswith(b"redis-cli ")


def test_image_build_offline(docker_ready) -> None:
    """A fresh build under a throw-away tag; the shared default image is left as it is."""
    tag = f"test-{uuid.uuid4().hex[:6]}"
    name = image_mod.build(docker_ready, tag=tag, latest=False)
    try:
        assert name == f"{image_mod.REPOSITORY}:{tag}"
        cfg = docker_ready.images.get(name).attrs["Config"]
        assert cfg["Cmd"] == ["redis-server"] and cfg["WorkingDir"] == "/data"
        out = docker_ready.containers.run(name, ["redis-sentinel", "--version"], remove=True,
                                          labels={"redislab.test": "1"})
        assert b"v=" in out
    finally:
        docker_ready.images.remove(name)
    assert "already here" in run_cli("image", "build", "--if-missing").stdout


def test_missing_image_says_build_it(docker_ready) -> None:
    lab = get_backend("docker", "timg", image="redislab/redis:no-such-tag")
    with pytest.raises(ImageMissing, match="redislab image build"):
        lab.up(free_topology(T.standalone(1)))
    assert image_mod.default_image(docker_ready) in (image_mod.PREFERRED_IMAGE,
                                                     image_mod.DEFAULT_IMAGE)


def test_daemon_not_running_is_clear(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(DockerUnavailable, match="not running|cannot talk"):
        connect(timeout=5)
    with pytest.raises(DockerUnavailable):
        get_backend("docker", "tnodocker").up(T.standalone(1, base_port=free_port_base()))


def free_port_base() -> int:
    return free_topology(T.standalone(1)).ports[0]


def test_process_backend_without_redis_is_clear(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackendError, match="redis-server not found on PATH.*apt-get install"):
        get_backend("process", "tnobin").up(T.standalone(1, base_port=free_port_base()))
    assert not (state.labs_dir() / "tnobin.json").exists()


def _compose(project_dir: Path, project: str, *args: str) -> subprocess.CompletedProcess:
    """The real Compose: v2 (`docker compose`) when the plugin is here, else v1
    (`docker-compose`, Debian's package, the one the walkthrough uses)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        tool = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        tool = ["docker-compose"]
    else:
        need("docker compose or docker-compose (Debian package docker-compose)")
    return subprocess.run([*tool, "-p", project, *args], cwd=project_dir, capture_output=True,
                          text=True, timeout=180)


def test_exported_compose_project_runs(docker_ready, tmp_path: Path) -> None:
    topo = free_topology(T.replication(password="123456"))
    base = topo.ports[0]
    lab_id = f"compose{uuid.uuid4().hex[:6]}"
    labels = {LABEL_LAB: lab_id, LABEL_HOME: state.home_tag()}  # reaped if we crash
    avoid: list = []
    for attempt in range(5):
        # A parallel worker's lab may take the free subnet between export and `up`
        # (docker answers "Pool overlaps"): export again on another one.
        subnet = pick_subnet(docker_ready, avoid)
        project_dir = tmp_path / f"compose{attempt}"
        out = run_cli("export", "compose", "replication", str(project_dir), "--password",
                      "123456", "--port", str(base), "--subnet", str(subnet)).stdout
        assert "docker-compose.yml" in out
        assert "config`: ok" in out  # compose itself checked the file
        doc = yaml.safe_load((project_dir / "docker-compose.yml").read_text())
        for name, svc in doc["services"].items():  # names and labels of our own, so
            svc["container_name"] = f"{lab_id}-{name}"  # parallel runs do not collide
            svc["labels"].update(labels)
        for net in doc["networks"].values():
            net["labels"].update(labels)
        (project_dir / "docker-compose.yml").write_text(yaml.safe_dump(doc))
        res = _compose(project_dir, lab_id, "up", "-d")
        if res.returncode == 0:
            break
        _compose(project_dir, lab_id, "down", "-v")
        assert "overlaps" in res.stderr, res.stderr
        avoid.append(subnet)
    else:
        pytest.fail("no free subnet for the exported project after 5 tries")
    try:
        replica = redis.Redis(port=base + 1, password="123456", protocol=2)
        wait_for(lambda: replica.info("replication")["master_link_status"] == "up",
                 timeout=30, what="replica1 linked to the master")
        master = redis.Redis(port=base, password="123456", protocol=2)
        master.set("a", "250")
        assert master.execute_command("WAIT", 2, 5000) == 2
        assert redis.Redis(port=base + 2, password="123456", protocol=2).get("a") == b"250"
        assert master.info("replication")["connected_slaves"] == 2
        # CONFIG REWRITE works: the conf directory is mounted, not the single file
        assert master.execute_command("CONFIG", "REWRITE") == b"OK"
    finally:
        res = _compose(project_dir, lab_id, "down", "-v")
        assert res.returncode == 0, res.stderr
    assert docker_objects(f"{LABEL_LAB}={lab_id}") == []
