"""Lab commands: ``redislab up|status|exec|logs|down``, ``redislab export compose`` and
``redislab image build|pull``. Registered on the ``main`` group of :mod:`redislab.cli`.

Labs outlive the command that started them and are found again through their records
(see :mod:`redislab.backends.state`), so every command works from any shell. Every command
that touches labs first reaps stale ones (a ``redislab up`` killed half-way, a crashed
owner, a lab whose nodes all died).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from typing import TYPE_CHECKING

import click

from .cli import main

if TYPE_CHECKING:  # rich is imported when a command runs: `redislab server` starts fast
    from rich.console import Console

BACKEND_CHOICE = click.Choice(["engine", "process", "docker"])
RAW_COMMANDS = {"info", "lolwut", "client list", "cluster info", "cluster nodes",
                "memory doctor", "latency doctor", "cluster slots"}


def _console(err: bool = False) -> "Console":
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=True)


def _fail(exc: Exception) -> None:
    _console(err=True).print(f"[bold red]redislab:[/] {exc}")
    sys.exit(1)


def _reap() -> None:
    from .backends import BackendError, reap

    try:
        gone = reap()
    except BackendError:
        return
    if gone:
        _console(err=True).print(
            f"[dim]cleaned up what stale lab{'s' if len(gone) > 1 else ''} "
            f"{', '.join(gone)} left behind[/]")


# ---------------------------------------------------------------------------- up


def _free_base(topo: Any) -> Any:
    """The topology moved to the first block of free ports (same spacing) from its own."""
    from .backends.base import needed_ports, port_free

    for step in range(0, 1000, 10):
        cand = topo.shifted(min(topo.ports) + step) if step else topo
        if all(port_free(p) for p in needed_ports(cand)):
            return cand
    return topo


@main.command("up")
@click.argument("topology_spec", metavar="TOPOLOGY")
@click.option("--backend", "-b", type=BACKEND_CHOICE, default="engine", show_default=True,
              help="engine: built-in nodes; process: redis-server from PATH; docker: containers")
@click.option("--name", "lab_id", help="lab id (default: the topology's name)")
@click.option("--port", "base_port", type=int,
              help="first port (default: the topology's, or the next free block)")
@click.option("--password", help="requirepass / masterauth on every node")
@click.option("--masterauth", help="masterauth replicas use (overrides --password for it)")
@click.option("--sentinels", type=int, help="sentinel topology: 1 or 3 sentinels")
@click.option("--quorum", type=int, help="sentinel topology: quorum (default 2 with 3)")
@click.option("--image", help="docker backend: image (default redis:7.2 if present, else "
                              "the one `redislab image build` makes)")
def up_cmd(topology_spec: str, backend: str, lab_id: str | None, base_port: int | None,
           password: str | None, masterauth: str | None, sentinels: int | None,
           quorum: int | None, image: str | None) -> None:
    """Start a lab and return; its nodes keep running until `redislab down`.

    TOPOLOGY is standalone, replication, chain, sentinel, cluster, or a .yaml file.
    """
    from . import topology as topo_mod
    from .backends import BackendError, get_backend

    _reap()
    opts: dict[str, Any] = {"password": password, "masterauth": masterauth}
    if sentinels is not None or quorum is not None:
        if topology_spec != "sentinel":
            raise click.UsageError("--sentinels and --quorum are for the sentinel topology")
        opts.update(sentinels=sentinels, quorum=quorum)
    try:
        topo = topo_mod.resolve(topology_spec, base_port=base_port, **opts)
    except (topo_mod.TopologyError, OSError) as exc:
        _fail(exc)
    if base_port is None:
        moved = _free_base(topo)
        if moved is not topo:
            _console(err=True).print(
                f"[yellow]ports {', '.join(map(str, topo.ports))} are busy; using "
                f"{', '.join(map(str, moved.ports))}[/]")
            topo = moved
    kw: dict[str, Any] = {"image": image} if backend == "docker" else {}
    if image and backend != "docker":
        raise click.UsageError("--image is for --backend docker")
    try:
        lab = get_backend(backend, lab_id, **kw)
    except BackendError as exc:
        _fail(exc)

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    console = _console()
    try:
        with console.status(f"starting {topo.name} on the {backend} backend..."):
            lab.up(topo)
        lab.detach()
    except KeyboardInterrupt:
        _console(err=True).print("interrupted: the lab was removed")
        sys.exit(130)
    except BackendError as exc:
        _fail(exc)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    _print_up(console, lab)


def _print_up(console: "Console", lab: Any) -> None:
    from rich.table import Table

    table = Table(title=f"lab {lab.lab_id}: {lab.topology.name} on {lab.name}",
                  title_justify="left")
    for col in ("node", "address", "what", "try"):
        table.add_column(col, no_wrap=col in ("node", "address"))
    for node in lab.topology.nodes:
        host, port = lab.address(node.name)
        if node.replicaof:
            what = f"replica of {node.replicaof}"
        elif node.monitor:
            what = f"sentinel: {node.monitor.name} = {node.monitor.master}"
        elif node.cluster_enabled:
            what = "cluster node (not formed yet)"
        else:
            what = "master" if any(n.replicaof == node.name for n in lab.topology.nodes) else ""
        cmd = "INFO sentinel" if node.is_sentinel else "INFO replication"
        table.add_row(node.name, f"{host}:{port}", what, f"redislab exec {node.name} {cmd}")
    console.print(table)
    console.print(f"[dim]next: redislab status · redislab logs <node> -f · "
                  f"redislab down {lab.lab_id}[/]")


# ---------------------------------------------------------------------------- status


def _node_row(lab: Any, node: Any) -> list[str]:
    import redis

    from .backends import parse_info

    host, port = lab.address(node.name)
    addr = f"{host}:{port}"
    try:
        running = lab.is_running(node.name)
        paused = running and lab.is_paused(node.name)
    except Exception:
        running, paused = True, False
    partitioned = bool(lab.record.nodes.get(node.name, {}).get("partitioned"))
    if not running:
        return [node.name, node.kind, "[red]down[/]", "-", addr, "-", "-"]
    state = "[yellow]paused[/]" if paused else (
        "[yellow]partitioned[/]" if partitioned else "[green]up[/]")
    if paused or (partitioned and lab.name == "docker"):  # an engine node still answers
        return [node.name, node.kind, state, "-", addr, "-", "no reply"]
    section = "sentinel" if node.is_sentinel else "replication"
    try:
        info = parse_info(lab.exec(node.name, "INFO", section, timeout=1.0))
    except redis.ResponseError as exc:
        alive = lab.ping(node.name, timeout=1.0)
        why = "unknown to this node" if "unknown command" in str(exc) else str(exc)[:30]
        return [node.name, node.kind, state if alive else "[red]no reply[/]", "?", addr, "-",
                f"INFO {section}: {why}"]
    except (redis.RedisError, OSError):
        return [node.name, node.kind, "[red]no reply[/]", "-", addr, "-", "-"]
    if node.is_sentinel:
        masters = [v for k, v in info.items() if k.startswith("master") and "name=" in v]
        link = "; ".join(masters) or "no masters"
        return [node.name, node.kind, state, "sentinel", addr, "-", link]
    role = info.get("role", "?")
    if role == "slave":
        offset = info.get("slave_repl_offset", "-")
        status = info.get("master_link_status", "?")
        color = "green" if status == "up" else "red"
        link = (f"[{color}]{status}[/] {info.get('master_host', '?')}:"
                f"{info.get('master_port', '?')}")
        role = "replica"
    else:
        offset = info.get("master_repl_offset", "-")
        n = info.get("connected_slaves", "0")
        link = f"{n} replica{'' if n == '1' else 's'}"
    return [node.name, node.kind, state, role, addr, offset, link]


@main.command("status")
@click.option("--lab", "lab_id", help="only this lab")
def status_cmd(lab_id: str | None) -> None:
    """Show every running lab: nodes, roles, addresses, offsets, links (read over RESP)."""
    from rich.table import Table

    from .backends import BackendError, attach, labs

    _reap()
    console = _console()
    recs = [r for r in labs() if lab_id is None or r.id == lab_id]
    if not recs:
        console.print("no lab is running" + (f" named {lab_id}" if lab_id else "")
                      + " (start one: redislab up replication)")
        return
    for rec in recs:
        try:
            lab = attach(rec)
            nodes = lab.topology.nodes
            with ThreadPoolExecutor(max_workers=min(8, len(nodes))) as pool:
                rows = list(pool.map(lambda n: _node_row(lab, n), nodes))
        except BackendError as exc:
            console.print(f"[bold]lab {rec.id}[/] ({rec.backend}): [red]{exc}[/]")
            continue
        extra = ""
        if rec.backend == "docker":
            extra = f", network {rec.extra.get('network', 'host')} {rec.extra.get('subnet', '')}"
        table = Table(title=f"lab {rec.id}: {rec.topology.get('name')} on {rec.backend}{extra}",
                      title_justify="left")
        for col in ("node", "kind", "state", "role", "address", "offset", "link"):
            # fold, not "…": the master's address must stay readable on an 80-column terminal
            table.add_column(col, no_wrap=col in ("node", "state", "address"), overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)


# ---------------------------------------------------------------------------- exec


def _repr(data: bytes) -> str:
    """redis-cli's quoting of a bulk string (sdscatrepr)."""
    out = ['"']
    for b in data:
        ch = chr(b)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\x{b:02x}")
    out.append('"')
    return "".join(out)


def format_tty(reply: Any, prefix: str = "") -> str:
    """A reply as redis-cli prints it on a terminal."""
    import redis

    from .backends.base import Status

    if isinstance(reply, redis.ResponseError):
        return f"(error) {reply}\n"
    if isinstance(reply, Status):
        return reply.decode(errors="replace") + "\n"
    if reply is None:
        return "(nil)\n"
    if isinstance(reply, bool):
        return f"(integer) {int(reply)}\n"
    if isinstance(reply, int):
        return f"(integer) {reply}\n"
    if isinstance(reply, float):
        return f"(double) {reply}\n"
    if isinstance(reply, (bytes, bytearray)):
        return _repr(bytes(reply)) + "\n"
    if isinstance(reply, str):
        return _repr(reply.encode()) + "\n"
    if isinstance(reply, dict):
        reply = [x for kv in reply.items() for x in kv]
    if isinstance(reply, (list, tuple, set)):
        items = list(reply)
        if not items:
            return "(empty array)\n"
        width = len(str(len(items)))
        inner = prefix + " " * (width + 2)
        out = []
        for i, item in enumerate(items):
            out.append(f"{'' if i == 0 else prefix}{i + 1:>{width}}) ")
            out.append(format_tty(item, inner))
        return "".join(out)
    return f"{reply}\n"


def format_raw(reply: Any) -> str:
    """A reply as redis-cli prints it with --raw or into a pipe."""
    import redis

    if isinstance(reply, redis.ResponseError):
        return f"{reply}\n"
    if reply is None:
        return "\n"
    if isinstance(reply, (bytes, bytearray)):
        return bytes(reply).decode(errors="replace") + (
            "" if bytes(reply).endswith(b"\n") else "\n")
    if isinstance(reply, (list, tuple, set)):
        return "".join(format_raw(x) for x in reply) if reply else ""
    return f"{reply}\n"


@main.command("exec", context_settings={"ignore_unknown_options": True,
                                        "allow_interspersed_args": False})
@click.option("--lab", "lab_id", help="lab id (default: the most recent lab)")
@click.option("--raw", is_flag=True, help="print the reply raw (as redis-cli --raw)")
@click.argument("node")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_cmd(lab_id: str | None, raw: bool, node: str, command: tuple[str, ...]) -> None:
    """Send COMMAND to NODE over RESP and print the reply like redis-cli does.

    Example: redislab exec replica1 INFO replication
    """
    import redis

    from .backends import BackendError, find_lab

    _reap()
    try:
        lab = find_lab(lab_id)
        lab.spec(node)
    except (BackendError, KeyError) as exc:
        _fail(exc)
    try:
        reply = lab.exec(node, *command)
    except redis.ResponseError as exc:
        reply = exc
    except redis.TimeoutError:
        host, port = lab.address(node)
        _fail(BackendError(f"no reply from {node} at {host}:{port} (paused or partitioned?)"))
    except (redis.ConnectionError, OSError) as exc:
        host, port = lab.address(node)
        _fail(BackendError(f"could not connect to {node} at {host}:{port} (is it running? "
                           f"`redislab status`): {exc}"))
    words = " ".join(command[:2]).lower()
    use_raw = raw or not sys.stdout.isatty() or command[0].lower() in RAW_COMMANDS or \
        words in RAW_COMMANDS
    text = format_raw(reply) if use_raw else format_tty(reply)
    click.echo(text, nl=False)


# ---------------------------------------------------------------------------- node actions

NODE_ACTIONS = ("start", "stop", "kill", "restart", "pause", "resume", "partition", "heal")
DONE = {"start": "started", "stop": "stopped (SHUTDOWN)", "kill": "killed (SIGKILL)",
        "restart": "restarted", "pause": "paused (alive but silent)", "resume": "resumed",
        "partition": "cut off from the other nodes", "heal": "back with the other nodes"}


@main.command("node")
@click.option("--lab", "lab_id", help="lab id (default: the most recent lab)")
@click.argument("action", type=click.Choice(NODE_ACTIONS))
@click.argument("node")
def node_cmd(lab_id: str | None, action: str, node: str) -> None:
    """Break (or mend) one node of a running lab: ACTION is start, stop, kill, restart,
    pause, resume, partition or heal. Prints the command a person would type for it.

    Example: redislab node kill master   (then watch `redislab status`)
    """
    from .backends import BackendError, find_lab

    _reap()
    try:
        lab = find_lab(lab_id)
        lab.spec(node)
    except KeyError:
        _fail(BackendError(f"no node {node!r} in lab {lab.lab_id} (its nodes: "
                           f"{', '.join(lab.topology.names)})"))
    except BackendError as exc:
        _fail(exc)
    console = _console()
    try:
        equivalent = lab.equivalent(action, node)
    except BackendError:
        equivalent = ""
    if equivalent and not equivalent.startswith("#"):
        console.print(f"[dim]$ {equivalent}[/]", highlight=False)
    try:
        getattr(lab, action)(node)
    except BackendError as exc:
        _fail(exc)
    console.print(f"[green]✓[/] {node} {DONE[action]}")


# ---------------------------------------------------------------------------- logs


@main.command("logs")
@click.option("--lab", "lab_id", help="lab id (default: the most recent lab)")
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines")
@click.option("-n", "--lines", type=int, help="only the last N lines (before following)")
@click.argument("node")
def logs_cmd(lab_id: str | None, follow: bool, lines: int | None, node: str) -> None:
    """Print NODE's log (Redis' own log lines) from the start; -f to follow it."""
    from .backends import BackendError, find_lab

    _reap()
    try:
        lab = find_lab(lab_id)
        lab.spec(node)
    except (BackendError, KeyError) as exc:
        _fail(exc)

    async def run() -> None:
        if lines is not None:
            text = lab.log_text(node) if lab.name == "docker" else None
            if text is None:
                all_lines = [ln async for ln in lab.logs(node, follow=False)]
            else:
                all_lines = text.splitlines()
            skip = max(0, len(all_lines) - lines)
        else:
            skip = 0
        n = 0
        async for line in lab.logs(node, follow=follow):
            n += 1
            if n > skip:
                click.echo(line)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


# ---------------------------------------------------------------------------- down


@main.command("down")
@click.argument("lab_id", required=False)
@click.option("--all", "all_labs", is_flag=True, help="every running lab")
def down_cmd(lab_id: str | None, all_labs: bool) -> None:
    """Stop a lab (default: the most recent) and remove all it made."""
    from .backends import BackendError, attach, find_lab, labs

    _reap()
    console = _console()
    try:
        targets = [attach(r) for r in labs()] if all_labs else [find_lab(lab_id)]
    except BackendError as exc:
        if all_labs or lab_id is None:
            console.print("no lab is running")
            return
        _fail(exc)
    if not targets:
        console.print("no lab is running")
    for lab in targets:
        name = lab.lab_id
        try:
            lab.down()
        except BackendError as exc:
            _fail(exc)
        console.print(f"lab {name} removed")


# ---------------------------------------------------------------------------- export


@main.group("export")
def export_group() -> None:
    """Write a topology out as files to run without redislab."""


@export_group.command("compose")
@click.argument("topology_spec", metavar="TOPOLOGY")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--image", help="image for every service (default: redis:7.2 if present "
                              "locally, else redislab/redis:latest)")
@click.option("--subnet", help="the network's subnet (default: a free one, else "
                               "172.28.0.0/24)")
@click.option("--password", help="requirepass / masterauth on every node")
@click.option("--port", "base_port", type=int, help="first port")
def export_compose_cmd(topology_spec: str, directory: str, image: str | None,
                       subnet: str | None, password: str | None, base_port: int | None) -> None:
    """docker-compose.yml and every node's conf for TOPOLOGY, in DIRECTORY."""
    from . import topology as topo_mod
    from .backends import BackendError
    from .backends import compose
    from .backends import image as image_mod

    try:
        topo = topo_mod.resolve(topology_spec, base_port=base_port, password=password)
    except (topo_mod.TopologyError, OSError) as exc:
        _fail(exc)
    client = None
    if image is None or subnet is None:
        from .backends.docker import connect, docker_reachable, pick_subnet

        if docker_reachable():
            try:
                client = connect(timeout=10)
            except BackendError:
                client = None
        if subnet is None and client is not None:
            subnet = str(pick_subnet(client))
        if image is None and client is not None:
            try:
                image = image_mod.default_image(client)
            except BackendError:
                image = None
    files = compose.export(topo, directory, image=image or image_mod.PREFERRED_IMAGE,
                           subnet=subnet or compose.DEFAULT_SUBNET)
    console = _console()
    for f in files:
        console.print(f"wrote {f}")
    compose_file = files[0]
    check = _compose_config_check(str(compose_file))
    console.print(check)


def _compose_tool() -> list[str] | None:
    """Compose v2 (``docker compose``) if the plugin answers, else v1 (``docker-compose``)."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True,
                               text=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _compose_config_check(path: str) -> str:
    """Validate with ``docker compose config`` (or ``docker-compose config``) when found."""
    tool = _compose_tool()
    where = os.path.dirname(path) or "."
    if tool is None:
        return ("YAML parsed back ok (neither `docker compose` nor `docker-compose` is "
                f"installed here, so compose itself did not check it). Run: cd {where} && "
                "docker compose up -d")
    res = subprocess.run([*tool, "-f", path, "config", "-q"], capture_output=True,
                         text=True, timeout=60)
    name = " ".join([os.path.basename(tool[0])] + tool[1:])
    if res.returncode != 0:
        raise click.ClickException(f"{name} rejects {path}: {res.stderr}")
    return f"checked with `{name} config`: ok. Run: cd {where} && {name} up -d"


# ---------------------------------------------------------------------------- image


@main.group("image")
def image_group() -> None:
    """The Redis image of the docker backend."""


@image_group.command("build")
@click.option("--tag", help="tag (default: the host's Redis version)")
@click.option("--if-missing", is_flag=True, help="do nothing if the image already exists")
def image_build_cmd(tag: str | None, if_missing: bool) -> None:
    """Build redislab/redis offline from this machine's redis-server (no registry)."""
    from .backends import BackendError
    from .backends import image as image_mod
    from .backends.docker import connect

    try:
        client = connect()
        if if_missing and image_mod.exists(client, image_mod.DEFAULT_IMAGE):
            _console().print(f"{image_mod.DEFAULT_IMAGE} is already here")
            return
        image_mod.build(client, console=_console(), tag=tag)
    except BackendError as exc:
        _fail(exc)


@image_group.command("pull")
@click.argument("name", default="redis:7.2")
def image_pull_cmd(name: str) -> None:
    """Pull NAME (default redis:7.2) from its registry, with progress (needs network)."""
    from .backends import BackendError
    from .backends import image as image_mod
    from .backends.docker import connect

    try:
        image_mod.pull(connect(), name, console=_console())
    except BackendError as exc:
        _fail(exc)
