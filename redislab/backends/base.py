"""The Backend protocol and what all three backends share.

A backend brings a :class:`~redislab.topology.Topology` alive and acts on its nodes. Every
node is a real Redis endpoint: everything here talks to nodes over RESP (redis-py), never
through engine internals.

Actions and what they mean on each backend::

    up / down        start every node (masters, replicas, then sentinels) / remove it all
    start            start a stopped or killed node again (same conf, same data dir)
    stop             SHUTDOWN (a clean stop: the node saves if it has save points)
    kill             SIGKILL (kill -9 / docker kill): a crash, nothing saved
    restart          stop then start
    pause / resume   SIGSTOP / SIGCONT (docker pause / unpause): alive but silent
    partition / heal cut a node off from the other nodes / put it back. docker: the
                     container leaves the lab network (the host loses it too). engine:
                     the node drops and refuses its links to the other nodes (DEBUG
                     PARTITION ON|OFF) but still answers the host. process: raises
                     BackendUnsupported.

``equivalent(action, node, ...)`` gives the command a person would type for each action,
shown to learners next to what the lab does.
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import os
import shlex
import shutil
import socket
import time
from typing import Any, AsyncIterator, Protocol, runtime_checkable

from ..topology import NodeSpec, Topology
from . import state
from .errors import BackendError, BackendUnsupported, LabNotFound, NodeStartError, PortInUse
from .state import LabRecord

ACTIONS = ("up", "down", "start", "stop", "kill", "restart", "pause", "resume", "partition",
           "heal", "exec", "logs")

READY_TIMEOUT = 20.0


@runtime_checkable
class Backend(Protocol):
    """What the lesson runner, the TUI and the CLI use to drive a lab."""

    name: str
    lab_id: str | None
    topology: Topology | None

    def up(self, topology: Topology) -> None: ...
    def down(self) -> None: ...
    def start(self, node: str) -> None: ...
    def stop(self, node: str) -> None: ...
    def kill(self, node: str) -> None: ...
    def restart(self, node: str) -> None: ...
    def pause(self, node: str) -> None: ...
    def resume(self, node: str) -> None: ...
    def partition(self, node: str) -> None: ...
    def heal(self, node: str) -> None: ...
    def address(self, node: str) -> tuple[str, int]: ...
    def exec(self, node: str, *command: Any) -> Any: ...
    def logs(self, node: str, follow: bool = True) -> AsyncIterator[str]: ...
    def log_text(self, node: str) -> str: ...
    def conf_path(self, node: str) -> str: ...
    def equivalent(self, action: str, node: str | None = None, *args: Any) -> str: ...


class Status(bytes):
    """A RESP simple-string reply (``+OK``), told apart from a bulk string ``$2 OK``."""


def _status_parser() -> type | None:
    """A redis-py RESP2 parser that keeps simple strings as :class:`Status` (so replies can
    be printed like redis-cli prints them). None if redis-py's internals moved."""
    try:
        from redis._parsers import _RESP2Parser
        from redis.exceptions import ConnectionError as RConnectionError
        from redis.exceptions import InvalidResponse
    except ImportError:  # pragma: no cover
        return None

    class StatusParser(_RESP2Parser):  # type: ignore[misc, valid-type]
        def parse_error(self, response: str) -> Any:
            error = super().parse_error(response)
            error.args = (response,)  # keep Redis' own text, error code included
            return error

        def _read_response(self, disable_decoding: bool = False, timeout: Any = None):
            kw = {} if timeout is None else {"timeout": timeout}
            raw = self._buffer.readline(**kw)
            if not raw:
                raise RConnectionError("Connection closed by server.")
            byte, response = raw[:1], raw[1:]
            if byte == b"-":
                error = self.parse_error(response.decode("utf-8", errors="replace"))
                if isinstance(error, RConnectionError):
                    raise error
                return error
            if byte == b"+":
                return Status(response)
            if byte == b":":
                return int(response)
            if byte in (b"$", b"*") and response == b"-1":
                return None
            if byte == b"$":
                return self._buffer.read(int(response), **kw)
            if byte == b"*":
                return [self._read_response(disable_decoding, timeout)
                        for _ in range(int(response))]
            raise InvalidResponse(f"Protocol Error: {raw!r}")

    return StatusParser


_STATUS_PARSER = _status_parser()


def _no_retry() -> Any:
    """redis-py retries with backoff by default; a lab wants a dead node to look dead now."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Could a server listen on ``host:port`` now (as Redis does, with SO_REUSEADDR)?"""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def needed_ports(topo: Topology) -> list[int]:
    ports = []
    for node in topo.nodes:
        ports.append(node.port)
        if node.cluster_enabled:
            ports.append(node.port + 10000)
    return ports


def parse_info(text: bytes | str) -> dict[str, str]:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    out: dict[str, str] = {}
    for raw in text.splitlines():
        if raw and not raw.startswith("#") and ":" in raw:
            k, v = raw.split(":", 1)
            out[k] = v.strip()
    return out


class BaseBackend(abc.ABC):
    """Shared lab bookkeeping: the record, readiness, RESP access, equivalents."""

    name = "base"

    def __init__(self, lab_id: str | None = None) -> None:
        if lab_id is not None and not state.valid_id(lab_id):
            raise BackendError(
                f"lab id {lab_id!r}: use lower-case letters, digits, '.', '-' and '_'")
        self.lab_id = lab_id
        self.topology: Topology | None = None
        self.record: LabRecord | None = None
        self._atexit = False

    # ------------------------------------------------------------------ attach

    @classmethod
    def from_record(cls, record: LabRecord) -> "BaseBackend":
        """The backend of a lab started elsewhere (another shell, an earlier run)."""
        self = cls.__new__(cls)
        BaseBackend.__init__(self, record.id)
        self.record = record
        self.topology = Topology.from_dict(record.topology)
        self._restore(record)
        return self

    def _restore(self, record: LabRecord) -> None:
        """Subclass hook: rebuild backend-specific state from ``record.extra``."""

    # ------------------------------------------------------------------ lifecycle

    def up(self, topology: Topology, *, wait_replication: float = 10.0) -> None:
        """Start every node of ``topology``; on any failure remove what was started."""
        from . import reap

        if self.record is not None:
            raise BackendError(f"lab {self.record.id} is already up")
        try:
            reap()
        except BackendError:
            pass  # a stale lab that cannot be removed now must not stop a new one
        self._preflight(topology)
        lab_id = self._claim_id(topology)
        busy = self.busy_ports(topology)
        if busy:
            raise PortInUse(
                f"port{'s' if len(busy) > 1 else ''} {', '.join(map(str, busy))} "
                f"already in use on 127.0.0.1: stop what uses {'them' if len(busy) > 1 else 'it'}"
                f" (see `redislab status`) or pick other ports with --port")
        self.lab_id = lab_id
        self.topology = topology
        record = LabRecord(lab_id, self.name, topology.to_dict(), owner=state.owner_now())
        record.workdir.mkdir(parents=True, exist_ok=True)
        record.save()
        self.record = record
        self._register_atexit()
        try:
            self._up(topology)
            record.state = "running"
            record.save()
            if wait_replication:
                self.wait_replication(wait_replication)
        except BaseException:
            self.down()
            raise

    def busy_ports(self, topology: Topology) -> list[int]:
        """Ports of ``topology`` already taken where the lab would publish them."""
        return [p for p in needed_ports(topology) if not port_free(p)]

    def _claim_id(self, topology: Topology) -> str:
        if self.lab_id is not None:
            if LabRecord.load(self.lab_id) is not None or self._id_taken(self.lab_id):
                raise BackendError(
                    f"a lab named {self.lab_id} already exists: `redislab down {self.lab_id}` "
                    "first, or choose another --name")
            return self.lab_id
        base = topology.name if state.valid_id(topology.name) else "lab"
        for i in range(1, 1000):
            cand = base if i == 1 else f"{base}-{i}"
            if LabRecord.load(cand) is None and not self._id_taken(cand):
                return cand
        raise BackendError("no free lab id")  # pragma: no cover

    def _id_taken(self, lab_id: str) -> bool:
        """Subclass hook: is the id used outside our records (docker names)?"""
        return False

    def _preflight(self, topology: Topology) -> None:
        """Subclass hook: fail early and clearly (binary missing, docker down...)."""

    @abc.abstractmethod
    def _up(self, topology: Topology) -> None: ...

    @abc.abstractmethod
    def _teardown(self) -> None:
        """Remove every process / container / network of the lab."""

    def down(self) -> None:
        """Stop and remove everything the lab made: nodes, networks, files, its record."""
        if self.record is None:
            return
        try:
            self._teardown()
        finally:
            shutil.rmtree(self.record.workdir, ignore_errors=True)
            self.record.delete()
            self._unregister_atexit()
            self.record = None

    def detach(self) -> None:
        """Let the lab outlive this process (``redislab up``): it stays until ``down``."""
        rec = self._rec()
        rec.owner = None
        rec.save()
        self._unregister_atexit()

    def _register_atexit(self) -> None:
        if not self._atexit:
            atexit.register(self._atexit_down)
            self._atexit = True

    def _unregister_atexit(self) -> None:
        if self._atexit:
            atexit.unregister(self._atexit_down)
            self._atexit = False

    def _atexit_down(self) -> None:
        if self.record is not None and self.record.owned_by_me:
            try:
                self.down()
            except Exception:  # pragma: no cover - best effort at exit
                pass

    def __enter__(self) -> "BaseBackend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    # ------------------------------------------------------------------ nodes

    def _rec(self) -> LabRecord:
        if self.record is None:
            raise LabNotFound("this lab is not up")
        return self.record

    def spec(self, node: str) -> NodeSpec:
        if self.topology is None:
            raise LabNotFound("this lab is not up")
        return self.topology.node(node)

    def node_dir(self, node: str) -> str:
        return str(self._rec().workdir / node)

    @abc.abstractmethod
    def start(self, node: str) -> None: ...

    @abc.abstractmethod
    def stop(self, node: str) -> None: ...

    @abc.abstractmethod
    def kill(self, node: str) -> None: ...

    def restart(self, node: str) -> None:
        self.stop(node)
        self.start(node)

    @abc.abstractmethod
    def pause(self, node: str) -> None: ...

    @abc.abstractmethod
    def resume(self, node: str) -> None: ...

    def partition(self, node: str) -> None:
        raise BackendUnsupported(
            f"partition is not supported on the {self.name} backend: its nodes all share "
            "127.0.0.1, so one cannot be cut off without changing the host's firewall. Use "
            "--backend engine (the node drops its links to the other nodes) or --backend "
            "docker (the container leaves the lab network), or pause the node to make it "
            "silent.")

    def heal(self, node: str) -> None:
        raise BackendUnsupported(
            f"heal is not supported on the {self.name} backend (nor is partition).")

    @abc.abstractmethod
    def address(self, node: str) -> tuple[str, int]:
        """Where the host reaches ``node``."""

    @abc.abstractmethod
    def internal_address(self, node: str) -> tuple[str, int]:
        """Where the other nodes of the lab reach ``node`` (what its conf files say)."""

    @abc.abstractmethod
    def is_running(self, node: str) -> bool:
        """Is the node's process / container running (paused counts as running)?"""

    def is_paused(self, node: str) -> bool:
        return bool(self._rec().nodes.get(node, {}).get("paused"))

    @abc.abstractmethod
    def _check_started(self, node: str) -> None:
        """Raise NodeStartError (with the log's tail) if the node has exited."""

    # ------------------------------------------------------------------ RESP

    def client(self, node: str, timeout: float = 5.0, **kw: Any):
        """A redis-py client for ``node`` (with its password), replies left raw."""
        import redis

        host, port = self.address(node)
        spec = self.spec(node)
        opts: dict[str, Any] = dict(host=host, port=port, password=spec.password, protocol=2,
                                    socket_timeout=timeout, socket_connect_timeout=timeout)
        if _STATUS_PARSER is not None:
            opts["parser_class"] = _STATUS_PARSER
            try:  # redis-py >= 7 wants hiredis/RESP3 for these; a lab needs none of them
                from redis.maint_notifications import MaintNotificationsConfig

                opts["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
            except ImportError:  # pragma: no cover - older redis-py
                pass
        opts["retry"] = _no_retry()
        opts.update(kw)
        r = redis.Redis(connection_pool=redis.ConnectionPool(**opts))
        r.response_callbacks.clear()
        return r

    def exec(self, node: str, *command: Any, timeout: float = 5.0) -> Any:
        """Send one command to ``node``; returns redis-py's reply (errors are raised)."""
        if not command:
            raise BackendError("exec needs a command")
        r = self.client(node, timeout=timeout)
        try:
            return r.execute_command(*command)
        finally:
            r.close()

    def info(self, node: str, section: str = "replication", timeout: float = 2.0) -> dict[str, str]:
        return parse_info(self.exec(node, "INFO", section, timeout=timeout))

    def ping(self, node: str, timeout: float = 1.0) -> bool:
        """Does the node answer (PONG, or a NOAUTH / LOADING error) within ``timeout``?"""
        import redis

        host, port = self.address(node)
        r = redis.Redis(host=host, port=port, socket_timeout=timeout, protocol=2,
                        socket_connect_timeout=timeout, retry=_no_retry())
        try:
            r.execute_command("PING")
            return True
        except (redis.AuthenticationError, redis.ResponseError):
            return True
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            r.close()

    def wait_ready(self, node: str, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_started(node)
            if self.ping(node, timeout=1.0):
                return
            if time.monotonic() > deadline:
                raise NodeStartError(
                    f"{node} did not answer PING within {timeout:.0f}s." + self._log_tail(node))
            time.sleep(0.05)

    def wait_replication(self, timeout: float = 10.0) -> bool:
        """Wait until every replica says master_link_status:up (best effort, False if not).

        Gives up at once when a node cannot answer INFO (an engine without replication yet).
        """
        import redis

        replicas = [n.name for n in (self.topology.nodes if self.topology else ())
                    if n.replicaof]
        deadline = time.monotonic() + timeout
        pending = list(replicas)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                try:
                    if self.info(name).get("master_link_status") == "up":
                        pending.remove(name)
                except redis.ResponseError:
                    return False
                except (redis.RedisError, OSError):
                    pass
            if pending:
                time.sleep(0.1)
        return not pending

    def _log_tail(self, node: str, lines: int = 15) -> str:
        try:
            text = self.log_text(node)
        except Exception:
            return ""
        tail = text.rstrip("\n").splitlines()[-lines:]
        if not tail:
            return ""
        return f"\nLast lines of {node}'s log:\n  " + "\n  ".join(tail)

    @abc.abstractmethod
    def log_text(self, node: str) -> str:
        """The whole log of ``node`` so far."""

    @abc.abstractmethod
    def conf_path(self, node: str) -> str:
        """The node's redis.conf / sentinel.conf on this machine: what it was started with,
        and what CONFIG REWRITE and Sentinel rewrite (on docker: in the mounted directory)."""

    @abc.abstractmethod
    def logs(self, node: str, follow: bool = True) -> AsyncIterator[str]:
        """Log lines of ``node`` from the start, then (``follow``) as they come."""

    # ------------------------------------------------------------------ people

    def cli_args(self, node: str) -> list[str]:
        """redis-cli's connection options for ``node`` as a person on the host types them."""
        host, port = self.address(node)
        args = ["redis-cli"]
        if host not in ("127.0.0.1", "localhost"):
            args += ["-h", host]
        args += ["-p", str(port)]
        pw = self.spec(node).password
        if pw:
            args += ["-a", pw, "--no-auth-warning"]
        return args

    def equivalent(self, action: str, node: str | None = None, *args: Any) -> str:
        """The command a person would type to do ``action`` (shown to learners)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
        if action == "exec":
            assert node is not None
            return shlex.join(self.cli_args(node) + [str(a) for a in args])
        if action in ("up", "down") and node is None:
            nodes = self.topology.start_order() if self.topology else []
            if action == "down":
                nodes = list(reversed(nodes))
            return "\n".join(self._equivalent(action, n.name) for n in nodes)
        if node is None:
            raise ValueError(f"{action} needs a node")
        return self._equivalent(action, node, *args)

    @abc.abstractmethod
    def _equivalent(self, action: str, node: str, *args: Any) -> str: ...


async def tail_file(path: str, follow: bool = True, poll: float = 0.1) -> AsyncIterator[str]:
    """Lines of a file from its start; with ``follow``, keep reading as it grows (and from
    the start again if it is truncated)."""
    pos = 0
    partial = b""
    while True:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = -1
        if 0 <= size < pos:  # truncated or replaced
            pos, partial = 0, b""
        if size > pos:
            with open(path, "rb") as f:
                f.seek(pos)
                data = f.read()
            pos += len(data)
            partial += data
            *lines, partial = partial.split(b"\n")
            for raw in lines:
                yield raw.decode(errors="replace").rstrip("\r")
            continue
        if not follow:
            if partial:
                yield partial.decode(errors="replace")
            return
        await asyncio.sleep(poll)


def collect_lines(agen: AsyncIterator[str], limit: int | None = None) -> list[str]:
    """Run an async line iterator to its end from sync code (for ``follow=False``)."""

    async def run() -> list[str]:
        out = []
        async for ln in agen:
            out.append(ln)
            if limit is not None and len(out) >= limit:
                break
        return out

    return asyncio.run(run())

