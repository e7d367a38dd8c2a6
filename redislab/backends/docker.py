"""The docker backend: one container per node, through the Docker SDK (``docker.from_env``,
so ``DOCKER_HOST`` and friends are honoured).

Layout of a lab ``<id>`` (as in the walkthroughs: a network with a fixed subnet, fixed
container IPs, a mounted redis.conf and /data):

* network ``redislab-<id>``: a bridge with a free /24 subnet (172.28-31.x or 192.168.x,
  never one another docker network or a host route uses); containers get ``.10``, ``.11``
  ... in topology order.
* container ``redislab-<id>-<node>``: listens on the node's port inside the container and
  is published on ``127.0.0.1:<port>`` only (on a remote daemon: on every address of that
  machine, see below). ``<lab dir>/<node>/etc`` is mounted writable at ``/etc/redis``
  (holding ``redis.conf`` or ``sentinel.conf``: CONFIG REWRITE and redis-sentinel rename a
  temporary file over it, which a single bind-mounted file would refuse) and
  ``<lab dir>/<node>/data`` at ``/data``. Logs go to stdout (``docker logs``).
* replicas announce their container IP and port (``replica-announce-ip``), sentinels
  likewise (``sentinel announce-ip``), so INFO and SENTINEL replies show addresses that
  work from every container of the lab and, on Linux, from the host.
* cluster labs use host networking instead (``--network host``, ``bind 127.0.0.1``,
  ``cluster-announce-ip 127.0.0.1``), so MOVED redirections point at addresses the host
  can reach. There is no lab network then, so partition is not available for them.

Every container and network carries the labels ``redislab.lab=<id>`` and
``redislab.home=<hash of the state directory>``; nothing without them is ever touched.
Containers run as the calling user (``--user uid:gid``) so the files they write in the lab
directory can be removed without root.

Partition = ``docker network disconnect``; heal = ``docker network connect --ip <same ip>``.

``DOCKER_HOST`` is honoured (an instructor can run a class's labs on one Docker server).
With ``tcp://host:port`` or ``ssh://user@host`` naming another machine, nodes are reached
at that machine's address (resolved once, when the lab comes up), ports are published on
all its addresses (``REDISLAB_PUBLISH_IP`` overrides), and host-networked cluster nodes
bind every address and announce that one, so MOVED replies point where the host can go.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shlex
import shutil
import socket
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from ..topology import NodeSpec, Topology
from . import conf, image, state
from .base import BaseBackend
from .errors import (BackendError, BackendUnsupported, DockerUnavailable, NodeStartError,
                     PortInUse)

LABEL_LAB = "redislab.lab"
LABEL_HOME = "redislab.home"
LABEL_NODE = "redislab.node"
STOP_TIMEOUT = 10


def explain(exc: BaseException) -> str:
    """Turn a docker SDK connection error into what to do."""
    text = str(exc)
    host = os.environ.get("DOCKER_HOST")
    where = f"DOCKER_HOST={host}" if host else "/var/run/docker.sock"
    if "Permission denied" in text or isinstance(exc, PermissionError):
        return (f"permission denied talking to the Docker daemon at {where}. Add yourself "
                "to the docker group (`sudo usermod -aG docker $USER`, then log in again) or "
                "run redislab with sudo.")
    if not host and shutil.which("docker") is None and shutil.which("dockerd") is None:
        return ("Docker is not installed (no docker or dockerd on PATH). Install it "
                "(Debian/Ubuntu: `sudo apt-get install docker.io`; or Docker Desktop), or "
                "use --backend engine or --backend process.")
    if any(s in text for s in ("No such file", "FileNotFoundError", "Connection refused",
                               "Connection aborted", "ConnectionRefused")):
        return (f"the Docker daemon is not running (nothing answers at {where}). Start it: "
                "`sudo systemctl start docker` (or `sudo dockerd &`, or open Docker "
                "Desktop), then try again.")
    return f"cannot talk to the Docker daemon at {where}: {text}"


def connect(timeout: int = 60) -> Any:
    """A docker SDK client that answered ping, or DockerUnavailable with a clear reason."""
    try:
        import docker
    except ImportError:  # pragma: no cover - a declared dependency
        raise DockerUnavailable("the docker Python SDK is missing: pip install docker") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except (docker.errors.DockerException, OSError) as exc:
        raise DockerUnavailable(explain(exc)) from None


LOCAL_NAMES = ("127.0.0.1", "localhost", "::1", "")


def remote_docker_host() -> str | None:
    """The machine name in ``DOCKER_HOST`` when it is another machine (``tcp://h:2376``,
    ``ssh://user@h``), None for this one (unset, ``unix://``, ``tcp://127.0.0.1:...``)."""
    url = os.environ.get("DOCKER_HOST", "").strip()
    if not url or url.startswith(("unix://", "npipe://", "fd://")):
        return None
    host = urllib.parse.urlsplit(url if "://" in url else f"tcp://{url}").hostname or ""
    return None if host in LOCAL_NAMES else host


def lab_addresses() -> tuple[str, str]:
    """(where the host reaches published ports, the address they are published on)."""
    remote = remote_docker_host()
    if remote is None:
        return "127.0.0.1", os.environ.get("REDISLAB_PUBLISH_IP", "127.0.0.1")
    try:
        ip = socket.getaddrinfo(remote, None, socket.AF_INET)[0][4][0]
    except OSError as exc:
        raise DockerUnavailable(f"cannot resolve the Docker host {remote!r} of "
                                f"DOCKER_HOST: {exc}") from None
    return ip, os.environ.get("REDISLAB_PUBLISH_IP", "0.0.0.0")


def docker_reachable() -> bool:
    """Cheap check before reaping: a socket or DOCKER_HOST exists (no connection made)."""
    if os.environ.get("DOCKER_HOST"):
        return True
    return os.path.exists("/var/run/docker.sock")


def _host_routes() -> list[ipaddress.IPv4Network]:
    nets = []
    try:
        with open("/proc/net/route") as f:
            next(f)
            for row in f:
                cols = row.split()
                dest, mask = int(cols[1], 16), int(cols[7], 16)
                if mask == 0:
                    continue
                addr = ipaddress.IPv4Address(dest.to_bytes(4, "little"))
                netmask = ipaddress.IPv4Address(mask.to_bytes(4, "little"))
                nets.append(ipaddress.IPv4Network(f"{addr}/{netmask}", strict=False))
    except (OSError, ValueError, StopIteration):
        pass
    return nets


def used_subnets(client: Any) -> list[ipaddress.IPv4Network]:
    used = []
    for net in client.api.networks():
        for cfg in ((net.get("IPAM") or {}).get("Config") or []):
            sub = cfg.get("Subnet")
            if sub and ":" not in sub:
                used.append(ipaddress.IPv4Network(sub, strict=False))
    return used + _host_routes()


def candidate_subnets() -> Iterator[ipaddress.IPv4Network]:
    for second in range(28, 32):
        for third in range(256):
            yield ipaddress.IPv4Network(f"172.{second}.{third}.0/24")
    for third in range(200, 255):
        yield ipaddress.IPv4Network(f"192.168.{third}.0/24")


def pick_subnet(client: Any, avoid: list[ipaddress.IPv4Network] = ()) -> ipaddress.IPv4Network:
    used = used_subnets(client) + list(avoid)
    for cand in candidate_subnets():
        if not any(cand.overlaps(u) for u in used):
            return cand
    raise BackendError("no free private /24 subnet for a lab network")


class DockerBackend(BaseBackend):
    name = "docker"

    def __init__(self, lab_id: str | None = None, *, image: str | None = None,
                 network_mode: str | None = None, client: Any = None) -> None:
        super().__init__(lab_id)
        if network_mode not in (None, "bridge", "host"):
            raise BackendError("network_mode must be bridge or host")
        self.image = image
        self.network_mode = network_mode
        self._client = client

    def _restore(self, record: state.LabRecord) -> None:
        self.image = record.extra.get("image")
        self.network_mode = record.extra.get("network_mode")
        self._client = None

    @property
    def dclient(self) -> Any:
        if self._client is None:
            self._client = connect()
        return self._client

    # ------------------------------------------------------------------ names

    @property
    def network_name(self) -> str:
        return f"redislab-{self._rec().id}"

    def container_name(self, node: str) -> str:
        return f"redislab-{self._rec().id}-{node}"

    def labels(self, node: str | None = None) -> dict[str, str]:
        out = {LABEL_LAB: self._rec().id, LABEL_HOME: state.home_tag()}
        if node:
            out[LABEL_NODE] = node
        return out

    @property
    def bridge(self) -> bool:
        return self._rec().extra.get("network_mode", "bridge") == "bridge"

    def ip(self, node: str) -> str | None:
        return (self._rec().extra.get("ips") or {}).get(node)

    @property
    def host_ip(self) -> str:
        """Where the host reaches this lab's published ports (the Docker machine)."""
        return self._rec().extra.get("host_ip", "127.0.0.1")

    @property
    def publish_ip(self) -> str:
        return self._rec().extra.get("publish_ip", "127.0.0.1")

    @property
    def remote(self) -> bool:
        return self.host_ip != "127.0.0.1"

    def _id_taken(self, lab_id: str) -> bool:
        api = self.dclient.api
        if api.containers(all=True, filters={"label": f"{LABEL_LAB}={lab_id}"}):
            return True
        return bool(api.networks(names=[f"redislab-{lab_id}"]))

    # ------------------------------------------------------------------ lifecycle

    def _preflight(self, topology: Topology) -> None:
        client = self.dclient
        self.image = (image.require(client, self.image) if self.image
                      else image.default_image(client))
        self._addresses = lab_addresses()

    def busy_ports(self, topology: Topology) -> list[int]:
        if remote_docker_host() is not None:
            return []  # not this machine's ports: the daemon says "port is already allocated"
        return super().busy_ports(topology)

    def conf_path(self, node: str) -> str:
        name = "sentinel.conf" if self.spec(node).is_sentinel else "redis.conf"
        return os.path.join(self.node_dir(node), "etc", name)

    def render(self, node: NodeSpec, topo: Topology) -> str:
        return render_docker_conf(node, topo, bridge=self.bridge, ip=self.ip(node.name),
                                  resolve=self.internal_address, host_ip=self.host_ip,
                                  header=f"redislab lab {self._rec().id}, node {node.name} "
                                         f"(docker backend, image {self.image})")

    def _up(self, topology: Topology) -> None:
        rec = self._rec()
        mode = self.network_mode or ("host" if topology.is_cluster else "bridge")
        host_ip, publish_ip = self._addresses
        rec.extra.update({"image": self.image, "network_mode": mode, "host_ip": host_ip,
                          "publish_ip": publish_ip})
        if mode == "bridge":
            subnet = self._create_network()
            hosts = list(subnet.hosts())
            rec.extra["ips"] = {n.name: str(hosts[9 + i]) for i, n in enumerate(topology.nodes)}
        rec.save()
        for node in topology.start_order():
            self._create(node, topology)
        for node in topology.start_order():
            self.wait_ready(node.name)

    def _create_network(self) -> ipaddress.IPv4Network:
        import docker

        rec = self._rec()
        avoid: list[ipaddress.IPv4Network] = []
        for _ in range(20):
            subnet = pick_subnet(self.dclient, avoid)
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
                subnet=str(subnet), gateway=str(next(subnet.hosts())))])
            try:
                self.dclient.api.create_network(self.network_name, driver="bridge", ipam=ipam,
                                               labels=self.labels())
            except docker.errors.APIError as exc:
                if "overlap" in str(exc).lower():
                    avoid.append(subnet)  # taken meanwhile by someone else: next one
                    continue
                raise BackendError(f"docker could not create network {self.network_name}: "
                                   f"{exc.explanation or exc}") from None
            rec.extra["network"] = self.network_name
            rec.extra["subnet"] = str(subnet)
            rec.save()
            return subnet
        raise BackendError("could not find a free subnet for the lab network")

    def _mounts(self, node: NodeSpec) -> dict[str, dict[str, str]]:
        d = Path(self.node_dir(node.name))
        data = d / "data"
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o777)  # the official image's entrypoint may drop to its redis user
        return {str(d / "etc"): {"bind": "/etc/redis", "mode": "rw"},
                str(data): {"bind": "/data", "mode": "rw"}}

    def container_command(self, node: NodeSpec) -> list[str]:
        if node.is_sentinel:
            return ["redis-sentinel", "/etc/redis/sentinel.conf"]
        return ["redis-server", "/etc/redis/redis.conf"]

    def _create(self, node: NodeSpec, topo: Topology) -> None:
        import docker

        api = self.dclient.api
        path = Path(self.conf_path(node.name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(node, topo))
        # redis-sentinel and CONFIG REWRITE rename a temporary file over the conf, whatever
        # user the image runs them as
        path.parent.chmod(0o777)
        path.chmod(0o666)
        binds = self._mounts(node)
        kw: dict[str, Any] = {}
        if self.bridge:
            host_config = api.create_host_config(
                binds=binds, port_bindings={node.port: (self.publish_ip, node.port)},
                network_mode=self.network_name)
            kw["networking_config"] = api.create_networking_config({
                self.network_name: api.create_endpoint_config(ipv4_address=self.ip(node.name))})
            kw["ports"] = [node.port]
        else:
            host_config = api.create_host_config(binds=binds, network_mode="host")
        try:
            created = api.create_container(
                self.image, command=self.container_command(node),
                name=self.container_name(node.name), labels=self.labels(node.name),
                user=f"{os.getuid()}:{os.getgid()}", working_dir="/data",
                host_config=host_config, **kw)
            rec = self._rec()
            rec.nodes[node.name] = {"container": created["Id"], "paused": False,
                                    "partitioned": False}
            rec.save()
            api.start(created["Id"])
        except docker.errors.APIError as exc:
            msg = str(exc.explanation or exc)
            if "port is already allocated" in msg or "address already in use" in msg:
                raise PortInUse(f"port {node.port} is already in use on {self.host_ip} "
                                f"(docker: {msg}); pick other ports with --port") from None
            if "No such image" in msg:
                raise image.ImageMissing(f"image {self.image} is missing: run "
                                         "`redislab image build`") from None
            raise BackendError(f"docker could not start {node.name}: {msg}") from None

    def _teardown(self) -> None:
        remove_lab_objects(self.dclient, self._rec().id)

    # ------------------------------------------------------------------ node actions

    def _cid(self, node: str) -> str:
        self.spec(node)
        info = self._rec().nodes.get(node) or {}
        return info.get("container") or self.container_name(node)

    def _inspect(self, node: str) -> dict[str, Any] | None:
        import docker

        try:
            return self.dclient.api.inspect_container(self._cid(node))
        except docker.errors.NotFound:
            return None

    def _set(self, node: str, **flags: Any) -> None:
        rec = self._rec()
        rec.nodes.setdefault(node, {}).update(flags)
        rec.save()

    def is_running(self, node: str) -> bool:
        info = self._inspect(node)
        return bool(info and info["State"].get("Running"))

    def is_paused(self, node: str) -> bool:
        info = self._inspect(node)
        return bool(info and info["State"].get("Paused"))

    def start(self, node: str) -> None:
        if self.is_running(node):
            return
        self.dclient.api.start(self._cid(node))
        self.wait_ready(node)

    def stop(self, node: str) -> None:
        """``docker stop``: SIGTERM, which Redis handles as SHUTDOWN; SIGKILL after 10 s."""
        if self.is_paused(node):
            self.resume(node)
        self.dclient.api.stop(self._cid(node), timeout=STOP_TIMEOUT)

    def kill(self, node: str) -> None:
        if self.is_paused(node):
            self.resume(node)
        if self.is_running(node):
            self.dclient.api.kill(self._cid(node))
        self._wait_stopped(node)

    def _wait_stopped(self, node: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.is_running(node) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, node: str) -> None:
        if self.is_paused(node):
            self.resume(node)
        self.dclient.api.restart(self._cid(node), timeout=STOP_TIMEOUT)
        self.wait_ready(node)

    def pause(self, node: str) -> None:
        if not self.is_running(node):
            raise BackendError(f"{node} is not running")
        if not self.is_paused(node):
            self.dclient.api.pause(self._cid(node))
        self._set(node, paused=True)

    def resume(self, node: str) -> None:
        if self.is_paused(node):
            self.dclient.api.unpause(self._cid(node))
        self._set(node, paused=False)

    def _require_bridge(self, action: str) -> None:
        if not self.bridge:
            raise BackendUnsupported(
                f"{action} is not available in this lab: it uses host networking (cluster "
                "labs do, so MOVED addresses work from the host), and there is no lab "
                "network to disconnect a container from.")

    def partition(self, node: str) -> None:
        """Cut ``node`` off the lab network: no other node, nor the host, reaches it."""
        import docker

        self._require_bridge("partition")
        try:
            self.dclient.api.disconnect_container_from_network(self._cid(node),
                                                              self.network_name)
        except docker.errors.APIError as exc:
            if "is not connected" not in str(exc):
                raise BackendError(f"partition {node}: {exc.explanation or exc}") from None
        self._set(node, partitioned=True)

    def heal(self, node: str) -> None:
        """Put ``node`` back on the lab network with the same IP."""
        import docker

        self._require_bridge("heal")
        try:
            self.dclient.api.connect_container_to_network(
                self._cid(node), self.network_name, ipv4_address=self.ip(node))
        except docker.errors.APIError as exc:
            if "already exists" not in str(exc):
                raise BackendError(f"heal {node}: {exc.explanation or exc}") from None
        self._set(node, partitioned=False)

    def address(self, node: str) -> tuple[str, int]:
        return self.host_ip, self.spec(node).port

    def internal_address(self, node: str) -> tuple[str, int]:
        port = self.spec(node).port
        if self.bridge:
            ip = self.ip(node)
            assert ip is not None
            return ip, port
        return self.host_ip, port

    def _check_started(self, node: str) -> None:
        info = self._inspect(node)
        if info is None:
            raise NodeStartError(f"container {self.container_name(node)} is gone")
        st = info["State"]
        if not st.get("Running"):
            raise NodeStartError(
                f"{node} (container {self.container_name(node)}) exited with code "
                f"{st.get('ExitCode')}: {' '.join(self.container_command(self.spec(node)))}"
                + self._log_tail(node))

    # ------------------------------------------------------------------ logs

    def log_text(self, node: str) -> str:
        import docker

        try:
            return self.dclient.api.logs(self._cid(node), stdout=True, stderr=True).decode(
                errors="replace")
        except docker.errors.NotFound:
            return ""

    async def logs(self, node: str, follow: bool = True) -> AsyncIterator[str]:  # type: ignore[override]
        """``docker logs [-f]``; when following, keeps following across restarts."""
        import docker

        cid = self._cid(node)
        api = self.dclient.api
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        stop = threading.Event()
        current: list[Any] = []

        def pump() -> None:
            seen = 0
            try:
                while not stop.is_set():
                    try:
                        stream = api.logs(cid, stream=True, follow=follow)
                    except docker.errors.NotFound:
                        return
                    current[:] = [stream]
                    count, partial = 0, b""
                    try:
                        for chunk in stream:
                            partial += chunk
                            *lines, partial = partial.split(b"\n")
                            for raw in lines:
                                count += 1
                                if count > seen:
                                    seen = count
                                    loop.call_soon_threadsafe(
                                        queue.put_nowait, raw.decode(errors="replace"))
                            if stop.is_set():
                                return
                    except Exception:
                        if stop.is_set():
                            return
                    if partial and not follow:
                        loop.call_soon_threadsafe(queue.put_nowait,
                                                  partial.decode(errors="replace"))
                    if not follow:
                        return
                    # the container stopped: wait for it to run again, then resume
                    while not stop.is_set():
                        try:
                            info = api.inspect_container(cid)
                        except docker.errors.NotFound:
                            return
                        if info["State"].get("Running"):
                            break
                        time.sleep(0.3)
            finally:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, None)
                except RuntimeError:
                    pass  # loop closed

        thread = threading.Thread(target=pump, name=f"logs-{node}", daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            stop.set()
            for stream in current:
                try:
                    stream.close()
                except Exception:
                    pass

    # ------------------------------------------------------------------ people

    def cli_args(self, node: str) -> list[str]:
        args = ["docker", "exec", "-it", self.container_name(node), "redis-cli", "-p",
                str(self.spec(node).port)]
        pw = self.spec(node).password
        if pw:
            args += ["-a", pw, "--no-auth-warning"]
        return args

    def run_args(self, node: str) -> list[str]:
        """``docker run`` for ``node``, as this backend creates it."""
        spec = self.spec(node)
        args = ["docker", "run", "-d", "--name", self.container_name(node)]
        for k, v in self.labels(node).items():
            args += ["--label", f"{k}={v}"]
        if self.bridge:
            args += ["--network", self.network_name, "--ip", str(self.ip(node)),
                     "-p", f"{self.publish_ip}:{spec.port}:{spec.port}"]
        else:
            args += ["--network", "host"]
        args += ["--user", f"{os.getuid()}:{os.getgid()}"]
        for src, m in self._mounts(spec).items():
            args += ["-v", f"{src}:{m['bind']}" + (":ro" if m["mode"] == "ro" else "")]
        args += [str(self.image)] + self.container_command(spec)
        return args

    def equivalent(self, action: str, node: str | None = None, *args: Any) -> str:
        if node is None and action in ("up", "down") and self.record is not None:
            body = super().equivalent(action, None)
            if not self.bridge:
                return body
            sub = self._rec().extra.get("subnet", "<subnet>")
            if action == "up":
                return (f"docker network create --subnet {sub} --label "
                        f"{LABEL_LAB}={self._rec().id} {self.network_name}\n{body}")
            return f"{body}\ndocker network rm {self.network_name}"
        return super().equivalent(action, node, *args)

    def _equivalent(self, action: str, node: str, *args: Any) -> str:
        name = self.container_name(node)
        if action == "up":
            return shlex.join(self.run_args(node))
        net = self.network_name
        if not self.bridge and action in ("partition", "heal"):
            return f"# not possible: {name} uses host networking (no lab network)"
        return {
            "start": f"docker start {name}",
            "down": f"docker rm -f {name}",
            "stop": f"docker stop {name}",
            "kill": f"docker kill {name}",
            "restart": f"docker restart {name}",
            "pause": f"docker pause {name}",
            "resume": f"docker unpause {name}",
            "partition": f"docker network disconnect {net} {name}",
            "heal": f"docker network connect --ip {self.ip(node)} {net} {name}",
            "logs": f"docker logs -f {name}",
        }[action]


def render_docker_conf(node: NodeSpec, topo: Topology, *, bridge: bool, ip: str | None,
                       resolve: Any, header: str = "", directory: str = "/data",
                       host_ip: str = "127.0.0.1") -> str:
    """redis.conf / sentinel.conf of a node inside a container (also used for compose).

    ``host_ip``: the Docker machine's address as the host sees it; for host networking on
    a remote daemon the nodes bind every address and announce that one."""
    extra: list[tuple[str, tuple[str, ...]]] = []
    if bridge:
        bind = "0.0.0.0"
        extra.append(("protected-mode", ("no",)))
        if node.is_sentinel:
            extra += [("sentinel", ("announce-ip", str(ip))),
                      ("sentinel", ("announce-port", str(node.port))),
                      ("sentinel", ("resolve-hostnames", "no"))]
        else:
            extra += [("replica-announce-ip", (str(ip),)),
                      ("replica-announce-port", (str(node.port),))]
    elif host_ip == "127.0.0.1":
        bind = "127.0.0.1"
        if node.cluster_enabled:
            extra += [("cluster-announce-ip", ("127.0.0.1",))]
    else:
        bind = "0.0.0.0"
        extra.append(("protected-mode", ("no",)))
        if node.is_sentinel:
            extra += [("sentinel", ("announce-ip", host_ip)),
                      ("sentinel", ("resolve-hostnames", "no"))]
        else:
            extra += [("replica-announce-ip", (host_ip,))]
            if node.cluster_enabled:
                extra += [("cluster-announce-ip", (host_ip,))]
    basics = conf.local_basics(node, directory=directory, logfile="", bind=bind, extra=extra)
    return conf.render(node, topo, resolve=resolve, basics=basics, header=header)


def remove_lab_objects(client: Any, lab_id: str, home_tag: str | None = None) -> int:
    """Remove every container and network labelled with this lab (and our home). Returns
    how many objects were removed."""
    import docker

    home = home_tag or state.home_tag()
    filters = {"label": [f"{LABEL_LAB}={lab_id}", f"{LABEL_HOME}={home}"]}
    api = client.api
    n = 0
    for c in api.containers(all=True, filters=filters):
        try:
            api.remove_container(c["Id"], force=True, v=True)
            n += 1
        except docker.errors.NotFound:
            pass
    for net in api.networks(filters=filters):
        for _ in range(10):
            try:
                api.remove_network(net["Id"])
                n += 1
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                time.sleep(0.2)  # an endpoint still being released
    return n


def reap_orphans(client: Any, known: set[str]) -> list[str]:
    """Remove containers and networks of our home whose lab has no record. Returns the
    lab ids reaped."""
    home = state.home_tag()
    filters = {"label": [f"{LABEL_HOME}={home}"]}
    labs: set[str] = set()
    for c in client.api.containers(all=True, filters=filters):
        labs.add((c.get("Labels") or {}).get(LABEL_LAB, ""))
    for net in client.api.networks(filters=filters):
        labs.add((net.get("Labels") or {}).get(LABEL_LAB, ""))
    reaped = []
    for lab_id in sorted(labs - known - {""}):
        remove_lab_objects(client, lab_id, home)
        reaped.append(lab_id)
    return reaped
