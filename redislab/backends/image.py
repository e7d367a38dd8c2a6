"""The Redis image for the docker backend, built OFFLINE from this machine's binaries.

``redislab image build`` packs the host's ``redis-server``, ``redis-sentinel``,
``redis-cli`` (and ``redis-benchmark`` / ``redis-check-*`` when present), every library
``ldd`` lists, the dynamic loader, a minimal ``/etc/passwd`` with a ``redis`` user, and
empty ``/data``, ``/etc/redis`` and ``/tmp`` into a root filesystem tarball, then imports
it with the Docker API (``docker import``): no registry, no Dockerfile, no base image.

Symlinks are kept as they are on the host: Debian's ``redis-server`` and
``redis-sentinel`` are links to ``redis-check-rdb`` (one binary that picks its mode from
its name), and Debian's ``/lib`` is a link to ``usr/lib``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .errors import BackendError, ImageMissing

REPOSITORY = "redislab/redis"
DEFAULT_IMAGE = f"{REPOSITORY}:latest"
"""The docker backend's default image name (the locally built one)."""
PREFERRED_IMAGE = "redis:7.2"
"""Used instead of the built image when it is present locally (pulled earlier)."""

REQUIRED = ("redis-server", "redis-sentinel", "redis-cli")
OPTIONAL = ("redis-benchmark", "redis-check-aof", "redis-check-rdb")

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "redis:x:999:999:redis:/data:/bin/false\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = "root:x:0:\nredis:x:999:\nnogroup:x:65534:\n"

CHANGES = [
    'CMD ["redis-server"]',
    "WORKDIR /data",
    "EXPOSE 6379",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
]


@dataclass
class RootFS:
    """What goes into the image: paths on the host and the entries they become."""

    binaries: dict[str, str] = field(default_factory=dict)  # name in image -> host path
    files: list[str] = field(default_factory=list)  # host paths copied at the same path
    version: str = ""


def redis_version(binary: str) -> str:
    """``7.0.15`` from ``redis-server --version``."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    m = re.search(r"v=(\d+\.\d+\.\d+)", out.stdout)
    if not m:
        raise BackendError(f"could not read the version of {binary}: {out.stdout!r}")
    return m.group(1)


def ldd(binary: str) -> list[str]:
    """Absolute paths of the shared libraries (and loader) ``binary`` needs."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise BackendError("ldd not found: it is needed to find the libraries redis-server "
                           "uses (Debian package libc-bin)") from None
    if "not a dynamic executable" in out.stdout + out.stderr:
        return []
    if out.returncode != 0:
        raise BackendError(f"ldd {binary} failed: {out.stderr.strip()}")
    libs = []
    for line in out.stdout.splitlines():
        line = line.strip()
        if "=> not found" in line:
            raise BackendError(f"{binary} needs {line.split()[0]}, which is not installed")
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"(/\S+)\s+\(", line)
        if m:
            libs.append(m.group(1))
    return libs


def collect(which: Callable[[str], str | None] = shutil.which) -> RootFS:
    """Find the host's Redis binaries and everything they need."""
    fs = RootFS()
    for name in REQUIRED + OPTIONAL:
        path = which(name)
        if path is None:
            if name in REQUIRED:
                raise BackendError(
                    f"{name} not found on PATH: the image is built from this machine's Redis. "
                    "Install it first (Debian/Ubuntu: apt-get install redis-server "
                    "redis-sentinel redis-tools)")
            continue
        fs.binaries[name] = path
    fs.version = redis_version(fs.binaries["redis-server"])
    seen: set[str] = set()
    for path in fs.binaries.values():
        for lib in ldd(os.path.realpath(path)):
            if lib not in seen:
                seen.add(lib)
                fs.files.append(lib)
    return fs


class _TarWriter:
    """Adds host paths to a tarball, recreating symlinked directories and files."""

    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        self.added: set[str] = set()

    def _dir(self, name: str, mode: int = 0o755) -> None:
        name = name.strip("/")
        if not name or name in self.added:
            return
        self._dir(os.path.dirname(name))
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        info.mode = mode
        info.mtime = int(time.time())
        self.tar.addfile(info)
        self.added.add(name)

    def _symlink(self, name: str, target: str) -> None:
        name = name.strip("/")
        if name in self.added:
            return
        self._dir(os.path.dirname(name))
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        info.mode = 0o777
        info.mtime = int(time.time())
        self.tar.addfile(info)
        self.added.add(name)

    def data(self, name: str, content: bytes, mode: int = 0o644) -> None:
        name = name.strip("/")
        self._dir(os.path.dirname(name))
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = mode
        info.mtime = int(time.time())
        self.tar.addfile(info, io.BytesIO(content))
        self.added.add(name)

    def empty_dir(self, name: str, mode: int = 0o755) -> None:
        self._dir(name, mode)

    def host_path(self, path: str, as_name: str | None = None, depth: int = 0) -> None:
        """Copy ``path`` into the tarball at the same place (or ``as_name``), following
        symlinks in its directories and at its end the way the host has them."""
        if depth > 40:
            raise BackendError(f"too many levels of symbolic links at {path}")
        path = os.path.abspath(path)
        # resolve symlinked parent directories (e.g. Debian's /lib -> usr/lib)
        parts = path.strip("/").split("/")
        prefix = ""
        for i, part in enumerate(parts[:-1]):
            prefix = f"{prefix}/{part}"
            if os.path.islink(prefix):
                target = os.readlink(prefix)
                self._symlink(prefix, target)
                real = os.path.normpath(os.path.join(os.path.dirname(prefix), target))
                rest = "/".join(parts[i + 1 :])
                self.host_path(f"{real}/{rest}", None if as_name is None else as_name,
                               depth + 1)
                return
        name = (as_name or path).strip("/")
        if name in self.added:
            return
        if os.path.islink(path):
            target = os.readlink(path)
            self._symlink(name, target)
            real = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if as_name is not None:
                real_as = os.path.normpath(os.path.join(os.path.dirname("/" + name), target))
                self.host_path(real, real_as, depth + 1)
            else:
                self.host_path(real, None, depth + 1)
            return
        st = os.stat(path)
        self._dir(os.path.dirname(name))
        info = tarfile.TarInfo(name)
        info.size = st.st_size
        info.mode = stat.S_IMODE(st.st_mode)
        info.mtime = int(st.st_mtime)
        with open(path, "rb") as f:
            self.tar.addfile(info, f)
        self.added.add(name)


def write_rootfs(fs: RootFS, out: str | os.PathLike[str],
                 step: Callable[[str], None] = lambda _msg: None) -> int:
    """Write the root filesystem tarball; returns its size in bytes."""
    with tarfile.open(out, "w") as tar:
        w = _TarWriter(tar)
        for d, mode in (("etc", 0o755), ("etc/redis", 0o777), ("data", 0o777),
                        ("tmp", 0o1777), ("usr/bin", 0o755), ("var/log/redis", 0o777)):
            w.empty_dir(d, mode)
        w.data("etc/passwd", PASSWD.encode())
        w.data("etc/group", GROUP.encode())
        w.data("etc/nsswitch.conf", b"passwd: files\ngroup: files\nhosts: files dns\n")
        w.data("etc/hosts", b"127.0.0.1\tlocalhost\n")
        for name, path in fs.binaries.items():
            step(f"adding {name}")
            real = os.path.realpath(path)
            real_name = f"/usr/bin/{os.path.basename(real)}"
            w.host_path(real, real_name)
            if os.path.basename(real) != name:
                w._symlink(f"usr/bin/{name}", os.path.basename(real))
        for lib in fs.files:
            step(f"adding {lib}")
            w.host_path(lib)
    return os.path.getsize(out)


def _chunks(path: str, advance: Callable[[int], None], size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            chunk = f.read(size)
            if not chunk:
                return
            advance(len(chunk))
            yield chunk


def build(client: Any, *, console: Any = None, tag: str | None = None,
          keep_tarball: str | None = None, latest: bool = True) -> str:
    """Build and import the image; returns its versioned name (``redislab/redis:7.0.15``).

    Also tags it as :data:`DEFAULT_IMAGE` (unless ``latest`` is False). ``console`` (a rich
    Console) shows progress.
    """
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, SpinnerColumn,
                               TextColumn, TransferSpeedColumn)

    console = console or Console(stderr=True)
    fs = collect()
    version_tag = tag or fs.version
    workdir = tempfile.mkdtemp(prefix="redislab-image-")
    tarball = keep_tarball or os.path.join(workdir, "rootfs.tar")
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), console=console,
                      transient=True) as progress:
            items = len(fs.binaries) + len(fs.files)
            task = progress.add_task("collecting files", total=items)

            def step(msg: str) -> None:
                progress.update(task, description=msg, advance=1)

            size = write_rootfs(fs, tarball, step)
        console.print(f"[green]✓[/] root filesystem: {len(fs.binaries)} programs, "
                      f"{len(fs.files)} libraries, {size / 1e6:.1f} MB "
                      f"(Redis {fs.version} from {os.path.dirname(fs.binaries['redis-server'])})")
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      DownloadColumn(), TransferSpeedColumn(), console=console,
                      transient=True) as progress:
            task = progress.add_task(f"importing {REPOSITORY}:{version_tag}", total=size)
            result = client.api.import_image(
                src=_chunks(tarball, lambda n: progress.update(task, advance=n)),
                repository=REPOSITORY, tag=version_tag, changes=CHANGES, stream_src=True)
        _check_import(result)
        image = client.images.get(f"{REPOSITORY}:{version_tag}")
        if latest:
            image.tag(REPOSITORY, "latest")
        also = f" (also {DEFAULT_IMAGE})" if latest else ""
        console.print(f"[green]✓[/] image {REPOSITORY}:{version_tag}{also} {image.short_id}")
        return f"{REPOSITORY}:{version_tag}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _check_import(result: Any) -> None:
    text = result if isinstance(result, str) else str(result)
    if '"error"' in text or "errorDetail" in text:
        raise BackendError(f"docker import failed: {text.strip()}")


def exists(client: Any, name: str) -> bool:
    import docker.errors

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def default_image(client: Any) -> str:
    """``redis:7.2`` if it is here, else the image ``redislab image build`` makes."""
    for name in (PREFERRED_IMAGE, DEFAULT_IMAGE):
        if exists(client, name):
            return name
    raise ImageMissing(
        f"no Redis image for the docker backend: neither {PREFERRED_IMAGE} nor "
        f"{DEFAULT_IMAGE} is present. Run `redislab image build` to build one offline "
        f"from this machine's redis-server (or `docker pull {PREFERRED_IMAGE}` where a "
        "registry is reachable).")


def require(client: Any, name: str) -> str:
    if not exists(client, name):
        hint = ("Run `redislab image build` to build it offline from this machine's "
                "redis-server." if name.startswith(REPOSITORY) else
                f"Pull it first (`docker pull {name}`) or run `redislab image build` and "
                "leave --image out.")
        raise ImageMissing(f"image {name} is not present locally. {hint}")
    return name


def split_reference(name: str) -> tuple[str, str]:
    """``repo[:tag]`` -> (repo, tag); a registry's port (``host:5000/repo``) is not a tag."""
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, "latest"
    return repo, tag


def pull(client: Any, name: str = PREFERRED_IMAGE, *, console: Any = None) -> str:
    """Pull ``name`` from its registry with a progress bar (needs a reachable registry)."""
    import docker.errors
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    console = console or Console(stderr=True)
    repo, tag = split_reference(name)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      console=console, transient=True) as progress:
            _pull_events(client, name, repo, tag, progress)
    except docker.errors.APIError as exc:
        raise BackendError(
            f"docker pull {name}: {exc.explanation or exc}. Is the registry reachable from "
            "the Docker daemon? Without one, `redislab image build` makes an image offline "
            "from this machine's redis-server.") from None
    console.print(f"[green]✓[/] pulled {name}")
    return name


def _pull_events(client: Any, name: str, repo: str, tag: str, progress: Any) -> None:
    """Follow ``docker pull``'s event stream: one bar per layer being downloaded."""
    layers: dict[str, Any] = {}
    for event in client.api.pull(repo, tag=tag, stream=True, decode=True):
        if "error" in event:
            raise BackendError(f"docker pull {name}: {event['error']}")
        layer = event.get("id")
        detail = event.get("progressDetail") or {}
        if layer and detail.get("total"):
            if layer not in layers:
                layers[layer] = progress.add_task(f"{layer} {event.get('status', '')}",
                                                  total=detail["total"])
            progress.update(layers[layer], completed=detail.get("current", 0),
                            description=f"{layer} {event.get('status', '')}")
