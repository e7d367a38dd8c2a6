"""``redislab export compose``: a topology as a docker-compose project a person can run
without redislab, shaped like the compose walkthrough (a bridge network with a fixed
subnet, one service per node with a fixed ``ipv4_address``, its redis.conf mounted
read-only and a ``./<node>/data`` directory mounted at ``/data``).

Cluster topologies use ``network_mode: host`` instead (as the cluster walkthrough ends up
doing), so MOVED replies point at addresses reachable from the host.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from ..topology import Topology
from .docker import render_docker_conf

DEFAULT_SUBNET = "172.28.0.0/24"
NETWORK = "redislab"


def export(topo: Topology, directory: str | os.PathLike[str], *, image: str,
           subnet: str = DEFAULT_SUBNET, project: str | None = None) -> list[Path]:
    """Write ``docker-compose.yml`` and every node's conf under ``directory``; returns the
    files written. The YAML is parsed back before returning, so a broken file never
    leaves here silently."""
    import yaml

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    project = project or f"redis-{topo.name}"
    host_mode = topo.is_cluster
    net = ipaddress.IPv4Network(subnet)
    hosts = list(net.hosts())
    ips = {n.name: str(hosts[9 + i]) for i, n in enumerate(topo.nodes)}

    def resolve(name: str) -> tuple[str, int]:
        port = topo.node(name).port
        return ("127.0.0.1", port) if host_mode else (ips[name], port)

    written: list[Path] = []
    services: dict[str, Any] = {}
    for node in topo.start_order():
        ndir = out / node.name
        (ndir / "data").mkdir(parents=True, exist_ok=True)
        header = (f"node {node.name} of the redislab '{topo.name}' topology "
                  f"(docker compose project {project})")
        text = render_docker_conf(node, topo, bridge=not host_mode, ip=ips[node.name],
                                  resolve=resolve, header=header)
        name = "sentinel.conf" if node.is_sentinel else "redis.conf"
        conf_file = ndir / "etc" / name
        conf_file.parent.mkdir(exist_ok=True)
        # a directory, not the single file: CONFIG REWRITE and redis-sentinel rename a
        # temporary file over the conf, whatever user the image runs them as
        volumes = [f"./{node.name}/etc:/etc/redis", f"./{node.name}/data:/data"]
        command = ["redis-sentinel" if node.is_sentinel else "redis-server", f"/etc/redis/{name}"]
        conf_file.write_text(text)
        conf_file.parent.chmod(0o777)
        conf_file.chmod(0o666)
        (ndir / "data").chmod(0o777)
        written.append(conf_file)
        svc: dict[str, Any] = {
            "image": image,
            "container_name": f"{project}-{node.name}",
            "command": command,
            "volumes": volumes,
            "labels": {"redislab.compose": project, "redislab.node": node.name},
        }
        if host_mode:
            svc["network_mode"] = "host"
        else:
            svc["networks"] = {NETWORK: {"ipv4_address": ips[node.name]}}
            svc["ports"] = [f"127.0.0.1:{node.port}:{node.port}"]
        deps = []
        if node.replicaof:
            deps.append(node.replicaof)
        if node.monitor:
            deps.append(node.monitor.master)
        if deps:
            svc["depends_on"] = sorted(set(deps))
        services[node.name] = svc
    # version "3.8" and no top-level name: read by Compose v2 (`docker compose`, which
    # ignores the version) and by v1 (`docker-compose`, as in the walkthrough), which
    # rejects a `name` key; the project is named after the directory or `-p`
    doc: dict[str, Any] = {"version": "3.8", "services": services}
    if not host_mode:
        doc["networks"] = {NETWORK: {
            "driver": "bridge",
            "labels": {"redislab.compose": project},
            "ipam": {"driver": "default", "config": [{"subnet": str(net)}]},
        }}
    head = (f"# docker compose project for the redislab '{topo.name}' topology.\n"
            f"# Run: docker compose up -d   (or docker-compose up -d; in this directory)\n"
            f"# Then: docker exec -it {project}-{topo.nodes[0].name} redis-cli -p "
            f"{topo.nodes[0].port} INFO replication\n")
    text = head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    parsed = yaml.safe_load(text)
    if parsed != doc:  # pragma: no cover - safe_dump/safe_load round-trip
        raise ValueError("the generated docker-compose.yml does not parse back")
    path = out / "docker-compose.yml"
    path.write_text(text)
    written.insert(0, path)
    return written
