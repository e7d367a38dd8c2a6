"""Drive a lesson on a backend.

The runner brings the lesson's topology up, runs what a learner runs (a command, a whole
block, a step's answer), evaluates a step's checks and keeps progress. Everything it does
is reported as an :class:`Event` to ``on_event`` -- one for each command and its reply,
each backend action, each check -- which is all a front end (the TUI, ``redislab lesson
run``) needs to show it. The runner is synchronous: a TUI calls it from a worker thread.

Nodes are reached over RESP only (redis-py, or raw RESP for ```pipe``` blocks), with the
password the node needs: the topology's, or one the lesson set since (``CONFIG SET
requirepass``, ``AUTH``, a ``requirepass`` line added to redis.conf).

Typical use::

    with Runner(lesson, "engine", on_event=print) as run:   # the lab is torn down after
        ok = run.run_auto()
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..topology import Topology
from . import bulk, checks
from .loader import Action, Block, Command, ConfEdit, Item, Lesson, Pipe, Step
from .progress import Progress
from .text import (PlaceholderError, SplitError, placeholders, quote_arg, split_args,
                   substitute)

COMMAND_TIMEOUT = 10.0
PORT_TRIES = 5  # blocks of ports tried when another lab takes the free one first
DISPLAY_TIMEOUT = 1.0  # reading a node id to show it (not to run a command)


class RunnerError(RuntimeError):
    """The lesson cannot go on (the lab did not start, a replayed step failed...)."""


# ---------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    """Base of everything the runner reports."""


@dataclass(frozen=True)
class NodeAddress:
    name: str
    kind: str
    address: tuple[str, int]  # from the host
    internal: tuple[str, int]  # from the other nodes ({node.host} / {node.port})


@dataclass(frozen=True)
class LabStarting(Event):
    lesson: str
    backend: str
    topology: Topology


@dataclass(frozen=True)
class LabReady(Event):
    lab_id: str
    backend: str
    nodes: tuple[NodeAddress, ...]
    equivalent: str  # the commands a person would type to build this lab


@dataclass(frozen=True)
class LabStopped(Event):
    lab_id: str | None


@dataclass(frozen=True)
class StepStarted(Event):
    index: int
    step: Step
    replay: bool = False


@dataclass(frozen=True)
class CommandRun(Event):
    """A command sent to a node. ``reply`` is the raw redis-py reply (bytes, Status, int,
    list, None) or a ``redis.ResponseError`` for an error reply; ``error`` says why there
    is no reply at all (connection refused, timeout), as redis-cli would."""

    node: str
    text: str  # placeholders filled in
    args: tuple[str, ...]
    address: tuple[str, int]
    reply: Any = None
    error: str | None = None
    equivalent: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class ActionRun(Event):
    action: str
    node: str
    equivalent: str
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class PipeRun(Event):
    node: str
    text: str
    count: int
    stats: bulk.PipeStats | None
    equivalent: str
    error: str | None = None


@dataclass(frozen=True)
class ConfEdited(Event):
    node: str
    path: str
    lines: tuple[str, ...]
    equivalent: str
    error: str | None = None


@dataclass(frozen=True)
class CheckFinished(Event):
    index: int
    passed: bool
    outcomes: tuple[checks.Outcome, ...]
    hint: str = ""
    explanation: str = ""
    replay: bool = False

    @property
    def checked(self) -> bool:
        return bool(self.outcomes)


@dataclass(frozen=True)
class LessonFinished(Event):
    passed: bool
    steps: int


Listener = Callable[[Event], None]


# ---------------------------------------------------------------------------- runner


@dataclass
class _State:
    passwords: dict[str, str | None] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)
    step_marks: dict[str, int] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # {node.id}: CLUSTER MYID, per lab run


class Runner:
    """One lesson on one backend.

    Args:
        lesson: the loaded lesson.
        backend: ``engine`` | ``process`` | ``docker``, or a backend object not yet up.
        on_event: called with every :class:`Event`, from the calling thread.
        fast: ``repl-diskless-sync-delay 0`` on every server (no 5 s wait before a full
            sync; tests and demos).
        timeout_scale: multiplies every check's timeout.
        base_port: first port of the lab (default: the topology's own, or the next free
            block of ports).
        progress: where to record steps passed (None: nothing is recorded).
    """

    def __init__(self, lesson: Lesson, backend: str | Any = "engine", *,
                 on_event: Listener | None = None, fast: bool = False,
                 timeout_scale: float = 1.0, base_port: int | None = None,
                 lab_id: str | None = None, progress: Progress | None = None,
                 backend_options: dict[str, Any] | None = None,
                 command_timeout: float = COMMAND_TIMEOUT):
        self.lesson = lesson
        self.backend_name = backend if isinstance(backend, str) else backend.name
        self._backend_arg = backend
        self.on_event = on_event or (lambda e: None)
        self.fast = fast
        self.timeout_scale = timeout_scale
        self.base_port = base_port
        self.lab_id = lab_id
        self.progress = progress
        self.backend_options = backend_options or {}
        self.command_timeout = command_timeout
        self.lab: Any = None
        self.topology: Topology | None = None
        self.current = 0
        self._state = _State()
        self._replaying = False
        if self.backend_name not in lesson.backends:
            raise RunnerError(f"lesson {lesson.id} does not run on the {self.backend_name} "
                              f"backend (it runs on {', '.join(lesson.backends)})")

    # ------------------------------------------------------------------ lab

    def __enter__(self) -> "Runner":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def started(self) -> bool:
        return self.lab is not None and getattr(self.lab, "record", None) is not None

    def start(self) -> None:
        """Bring the lesson's topology up (on free ports) and get ready for step 0."""
        from ..backends import BackendError, get_backend
        from ..backends.base import needed_ports

        if self.started:
            return
        base = self.lesson.build_topology(fast=self.fast)
        if isinstance(self._backend_arg, str):
            lab = get_backend(self._backend_arg, self.lab_id, **self.backend_options)
        else:
            lab = self._backend_arg
        taken: set[int] = set()  # ports found free, then taken by another lab before ours
        for attempt in range(PORT_TRIES):
            # ports the learner chose are used as they are: busy, they get the error
            topo = base.shifted(self.base_port) if self.base_port else \
                _free_block(base, avoid=taken)
            self.topology = topo
            self._emit(LabStarting(self.lesson.id, self.backend_name, topo))
            try:
                lab.up(topo)
                break
            except BackendError as exc:
                if self.base_port or attempt == PORT_TRIES - 1 or not _port_race(exc):
                    raise RunnerError(f"the lab did not start: {exc}") from exc
                lab.down()  # nothing is left of a failed up; safe either way
                taken.update(needed_ports(topo))
        self.lab = lab
        self._state = _State(passwords={n.name: n.password for n in topo.nodes})
        self.current = 0
        nodes = tuple(NodeAddress(n.name, n.kind, lab.address(n.name),
                                  lab.internal_address(n.name)) for n in topo.nodes)
        try:
            equivalent = lab.equivalent("up")
        except Exception:  # the equivalent is shown to people; never stop a lesson for it
            equivalent = ""
        self._emit(LabReady(lab.lab_id, self.backend_name, nodes, equivalent))

    def stop(self) -> None:
        """Tear the lab down (every node, network and file it made). Safe to call twice."""
        self._close_sessions()
        self._state.ids.clear()  # a new lab has new ids
        lab, self.lab = self.lab, None
        if lab is not None:
            lab_id = lab.lab_id
            lab.down()
            self._emit(LabStopped(lab_id))

    def _require_lab(self) -> Any:
        if not self.started:
            raise RunnerError("the lab is not up: call start() first")
        return self.lab

    def resolve(self, node: str) -> tuple[str, int]:
        """A node's address as the other nodes see it (what placeholders become)."""
        lab = self._require_lab()
        if node not in lab.topology.names:
            raise KeyError(node)
        return lab.internal_address(node)

    def node_id(self, node: str, timeout: float | None = None) -> str:
        """``{node.id}``: the node's cluster node id, asked with ``CLUSTER MYID`` (and kept
        until the lab is rebuilt, the node is acted on, or it gets a ``CLUSTER RESET``).

        Raises KeyError for a node that is not in the lab, and :class:`PlaceholderError`
        (naming the node and the placeholder) when the node cannot tell: down, not in
        cluster mode."""
        import redis

        lab = self._require_lab()
        if node not in lab.topology.names:
            raise KeyError(node)
        known = self._state.ids.get(node)
        if known is not None:
            return known
        what = f"cannot fill {{{node}.id}}"
        if lab.topology.node(node).kind == "sentinel":
            raise PlaceholderError(f"{what}: {node} is a sentinel, not a cluster node")
        r = None
        try:
            r = self.client(node, timeout=self.command_timeout if timeout is None else timeout)
            reply = r.execute_command("CLUSTER", "MYID")
        except (redis.ResponseError, redis.AuthenticationError) as exc:
            text = str(exc)
            if "cluster support disabled" in text.lower():
                raise PlaceholderError(f"{what}: {node} is not in cluster mode (ERR {text})"
                                       ) from None
            raise PlaceholderError(f"{what}: CLUSTER MYID on {node} answered (error) {text}"
                                   ) from None
        except (redis.RedisError, OSError) as exc:
            raise PlaceholderError(f"{what}: {node} does not answer ({_reason(exc)})") from None
        finally:
            if r is not None:
                r.close()
        value = reply.decode() if isinstance(reply, bytes) else str(reply)
        self._state.ids[node] = value
        return value

    def fill(self, text: str) -> str:
        """``text`` with its placeholders filled in for this lab, to show it: a ``{node.id}``
        that cannot be read now (the node is down...) is left as it is."""
        if not self.started:
            return text

        def shown_id(node: str) -> str:
            try:
                return self.node_id(node, timeout=DISPLAY_TIMEOUT)
            except PlaceholderError:
                raise KeyError(node) from None

        return substitute(text, self.resolve, ids=shown_id)

    def _fill(self, text: str) -> str:
        """``text`` with its placeholders filled in, to run it (PlaceholderError if an id
        cannot be read)."""
        return substitute(text, self.resolve, ids=self.node_id)

    # ------------------------------------------------------------------ steps

    @property
    def steps(self) -> list[Step]:
        return self.lesson.steps

    def begin_step(self, index: int) -> Step:
        """Make ``index`` the current step; log checks look at lines written from now on."""
        if not 0 <= index < len(self.steps):
            raise IndexError(f"step {index + 1} out of 1..{len(self.steps)}")
        self._require_lab()
        self.current = index
        self._state.step_marks = {n: len(self._log(n)) for n in self.lab.topology.names}
        step = self.steps[index]
        self._read_ids(step)
        self._emit(StepStarted(index, step, replay=self._replaying))
        if self.progress is not None and not self._replaying:
            self.progress.at_step(self.lesson.id, index, len(self.steps))
        return step

    def apply_answer(self, index: int | None = None) -> None:
        """Run the step's answer (what ``--auto`` does, and what "show me" does in the TUI)."""
        step = self.steps[self.current if index is None else index]
        for item in step.answer(self.backend_name):
            self.run_item(item)

    def run_block(self, block: Block) -> None:
        """Run a runnable block of a step (a no-op on backends it is not for)."""
        if not block.runnable or not block.runs_on(self.backend_name):
            return
        for item in block.items:
            self.run_item(item)

    def check(self, index: int | None = None) -> CheckFinished:
        """Evaluate the step's checks (polling each until it passes or times out)."""
        index = self.current if index is None else index
        step = self.steps[index]
        self._require_lab()
        outcomes = []
        for spec in step.checks(self.backend_name):
            outcome = checks.evaluate(spec, _Context(self), timeout_scale=self.timeout_scale)
            outcomes.append(outcome)
            if not outcome.passed:
                break
        passed = all(o.passed for o in outcomes)
        event = CheckFinished(index, passed, tuple(outcomes),
                              hint="" if passed else step.hint,
                              explanation="" if passed else step.explanation,
                              replay=self._replaying)
        self._emit(event)
        if passed and self.progress is not None and not self._replaying:
            self.progress.step_done(self.lesson.id, index, len(self.steps))
        return event

    def run_step(self, index: int, *, check: bool = True) -> CheckFinished | None:
        """Begin a step, apply its answer, and (``check``) evaluate its checks."""
        self.begin_step(index)
        self.apply_answer(index)
        return self.check(index) if check else None

    def run_auto(self, *, check: bool = True, start: int = 0) -> bool:
        """Every step from ``start``: apply its answer, check it; stop at the first failure."""
        for i in range(start, len(self.steps)):
            result = self.run_step(i, check=check)
            if result is not None and not result.passed:
                self._emit(LessonFinished(False, i))
                return False
        self._emit(LessonFinished(True, len(self.steps)))
        return True

    def replay(self, upto: int) -> None:
        """Apply (and check) the answers of steps ``0 .. upto-1``: the lab as it is at the
        start of step ``upto``. Raises RunnerError if one of them does not pass."""
        self._replaying = True
        try:
            for i in range(upto):
                result = self.run_step(i)
                if result is not None and not result.passed:
                    raise RunnerError(f"replaying step {i + 1} ({self.steps[i].title}) failed")
        finally:
            self._replaying = False

    def reset_lesson(self) -> None:
        """A fresh lab and step 0 (the learner's progress on this lesson is cleared)."""
        self.stop()
        self.start()
        if self.progress is not None:
            self.progress.reset(self.lesson.id)
        self.begin_step(0)

    def reset_step(self, index: int | None = None) -> None:
        """A fresh lab brought to the start of step ``index`` (default: the current one)."""
        index = self.current if index is None else index
        self.stop()
        self.start()
        self.replay(index)
        self.begin_step(index)

    def resume(self) -> int:
        """Start the lab and bring it to where the learner left off; returns that step."""
        at = self.progress.resume_at(self.lesson.id) if self.progress is not None else 0
        at = min(at, len(self.steps) - 1)
        self.start()
        self.replay(at)
        self.begin_step(at)
        return at

    # ------------------------------------------------------------------ items

    def run_item(self, item: Item) -> Event:
        if isinstance(item, Command):
            return self.run_command(item.node, list(item.args))
        if isinstance(item, Action):
            return self.run_action(item.name, item.node)
        if isinstance(item, Pipe):
            return self.run_pipe(item)
        if isinstance(item, ConfEdit):
            return self.run_conf(item)
        raise TypeError(item)  # pragma: no cover

    def run_command(self, node: str, command: str | list[str]) -> CommandRun:
        """Send one command to ``node`` (a line as typed, or its words) and report it."""
        import redis

        lab = self._require_lab()
        lab.spec(node)
        if isinstance(command, str):
            try:
                args = split_args(command)
            except SplitError as exc:
                event = CommandRun(node, command, (), lab.address(node),
                                   error=f"Invalid argument(s): {exc}")
                self._emit(event)
                return event
        else:
            args = list(command)
        address = lab.address(node)
        try:
            args = [self._fill(a) for a in args]
        except PlaceholderError as exc:  # not sent: the command would name no node
            shown = [substitute(a, self.resolve) for a in args]
            event = CommandRun(node, " ".join(quote_arg(a) for a in shown), tuple(shown),
                               address, error=str(exc))
            self._emit(event)
            return event
        text = " ".join(quote_arg(a) for a in args)
        equivalent = self._equivalent("exec", node, *args)
        start = time.monotonic()
        reply: Any = None
        error = None
        if not args:
            error = "empty command"
        else:
            try:
                reply = self._call(node, args)
            except redis.ResponseError as exc:
                reply = exc
            except redis.AuthenticationError as exc:  # NOAUTH / WRONGPASS replies
                reply = redis.ResponseError(*exc.args)
            except redis.TimeoutError:
                error = f"no reply from {node} within {self.command_timeout:.0f}s " \
                        "(paused? partitioned?)"
            except (redis.ConnectionError, OSError) as exc:
                if args[0].lower() == "shutdown":
                    reply = None  # the node went away, as asked
                else:
                    error = f"Could not connect to Redis at {address[0]}:{address[1]}: " \
                            f"{_reason(exc)}"
        if not isinstance(reply, Exception) and error is None:
            self._learn_password(node, args)
        if [a.lower() for a in args[:2]] == ["cluster", "reset"]:
            self._state.ids.pop(node, None)  # CLUSTER RESET HARD gives the node a new id
        event = CommandRun(node, text, tuple(args), address, reply, error, equivalent,
                           time.monotonic() - start)
        self._emit(event)
        return event

    def run_action(self, action: str, node: str) -> ActionRun:
        """A backend action (stop, kill, restart, pause, partition ...) on ``node``."""
        from ..backends import BackendError

        lab = self._require_lab()
        equivalent = self._equivalent(action, node)
        self._drop_session(node)
        self._state.ids.pop(node, None)  # read it again next time (a rebuilt node: a new id)
        start = time.monotonic()
        error = None
        try:
            getattr(lab, action)(node)
        except BackendError as exc:
            error = str(exc)
        event = ActionRun(action, node, equivalent, error, time.monotonic() - start)
        self._emit(event)
        return event

    def run_pipe(self, pipe: Pipe) -> PipeRun:
        """``pipe.count`` commands sent pipelined, like ``redis-cli --pipe``."""
        lab = self._require_lab()
        host, port = lab.address(pipe.node)
        equivalent = " ".join(self._cli(pipe.node) + ["--pipe", "<", "commands.txt"])
        stats, error = None, None
        try:
            args = [self._fill(a) for a in pipe.args]
            filled = Pipe(pipe.node, pipe.text, tuple(args), pipe.count, pipe.start, pipe.line)
            stats = bulk.pipe(host, port, filled.commands(),
                              password=self._state.passwords.get(pipe.node),
                              timeout=max(60.0, self.command_timeout))
        except PlaceholderError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"Could not connect to Redis at {host}:{port}: {_reason(exc)}"
        event = PipeRun(pipe.node, self.fill(pipe.text), pipe.count, stats, equivalent, error)
        self._emit(event)
        return event

    def run_conf(self, edit: ConfEdit) -> ConfEdited:
        """Append directives to the node's redis.conf (they apply when it next starts)."""
        lab = self._require_lab()
        path = ""
        error = None
        try:
            lines = tuple(self._fill(line) for line in edit.lines)
        except PlaceholderError as exc:
            event = ConfEdited(edit.node, "", tuple(self.fill(ln) for ln in edit.lines), "",
                               str(exc))
            self._emit(event)
            return event
        try:
            path = lab.conf_path(edit.node)
            with open(path, "a", encoding="utf-8") as f:  # in place: docker mounts the file
                f.write(f"\n# added by lesson {self.lesson.id}, step {self.current + 1}\n")
                f.write("\n".join(lines) + "\n")
        except OSError as exc:
            error = f"cannot edit {edit.node}'s redis.conf: {exc}"
        if error is None:
            for line in lines:
                words = split_args(line)
                if words and words[0].lower() == "requirepass":
                    self._state.passwords[edit.node] = words[1] or None
        body = "\n".join(lines)
        equivalent = f"cat >> {path or 'redis.conf'} <<'EOF'\n{body}\nEOF"
        event = ConfEdited(edit.node, path, lines, equivalent, error)
        self._emit(event)
        return event

    # ------------------------------------------------------------------ RESP

    def client(self, node: str, timeout: float = 2.0) -> Any:
        """A fresh redis-py client for ``node``, authenticated with what the node needs now
        (replies left raw). The caller closes it."""
        import redis

        lab = self._require_lab()
        r = lab.client(node, timeout=timeout, password=None, **_NO_SETINFO)
        pw = self._state.passwords.get(node)
        if pw:
            try:
                r.execute_command("AUTH", pw)
            except (redis.AuthenticationError, redis.ResponseError):
                pass  # no password configured (yet / any more), or another one: go on
        return r

    def _call(self, node: str, args: list[str]) -> Any:
        import redis

        r = self._state.sessions.get(node)
        if r is None:
            r = self.client(node, timeout=self.command_timeout)
            self._state.sessions[node] = r
        try:
            return r.execute_command(*args)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            # includes NOAUTH / WRONGPASS (redis-py closes the connection on those): the
            # next command opens a new one, authenticated with what is known then
            self._drop_session(node)
            raise

    def _learn_password(self, node: str, args: list[str]) -> None:
        words = [a.lower() for a in args]
        if words[0] == "auth" and len(args) in (2, 3):
            self._state.passwords[node] = args[-1]
            self._drop_session(node)  # new connections authenticate with it
        elif words[:2] == ["config", "set"]:
            pairs = args[2:]
            for k, v in zip(pairs[::2], pairs[1::2]):
                if k.lower() == "requirepass":
                    self._state.passwords[node] = v or None

    def _drop_session(self, node: str) -> None:
        r = self._state.sessions.pop(node, None)
        if r is not None:
            try:
                r.close()
            except Exception:
                pass

    def _close_sessions(self) -> None:
        for node in list(self._state.sessions):
            self._drop_session(node)

    # ------------------------------------------------------------------ helpers

    def _read_ids(self, step: Step) -> None:
        """Read the ids the step's text names now (a worker thread calls begin_step), so a
        front end that shows the step fills them in without waiting on a node."""
        texts = (step.body, step.hint, step.answer_text)
        for node in sorted({n for t in texts for n, what in placeholders(t) if what == "id"}):
            try:
                self.node_id(node, timeout=DISPLAY_TIMEOUT)
            except (KeyError, PlaceholderError):
                pass  # shown as the placeholder; running it says why

    def _log(self, node: str) -> str:
        """The node's Redis log so far (the log file itself on local backends: their
        log_text adds the console output, which would move the step marks)."""
        lab = self.lab
        path = getattr(lab, "log_path", None)  # engine and process only, not docker
        if path is not None:
            try:
                return Path(path(node)).read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                return ""
        return lab.log_text(node)

    def _equivalent(self, action: str, node: str, *args: Any) -> str:
        try:
            return self.lab.equivalent(action, node, *args)
        except Exception:
            return ""

    def _cli(self, node: str) -> list[str]:
        try:
            return list(self.lab.cli_args(node))
        except Exception:
            return ["redis-cli"]

    def _emit(self, event: Event) -> None:
        self.on_event(event)


class _Context:
    """What checks see of the lab: authenticated clients, logs, addresses."""

    def __init__(self, runner: Runner):
        self.runner = runner

    def client(self, node: str, timeout: float) -> Any:
        return self.runner.client(node, timeout)

    def log_since(self, node: str, since: str) -> str:
        text = self.runner._log(node)
        if since == "step":
            return text[self.runner._state.step_marks.get(node, 0):]
        return text

    def resolve(self, node: str) -> tuple[str, int]:
        return self.runner.resolve(node)

    def node_id(self, node: str) -> str:
        return self.runner.node_id(node)


def _no_setinfo() -> dict[str, Any]:
    """redis-py options that stop it sending CLIENT SETINFO when it connects: before AUTH, a
    node with a password answers that with NOAUTH, which redis-py raises as a connection
    error -- AUTH must be the first command."""
    import inspect

    try:
        from redis.connection import AbstractConnection as Conn
    except ImportError:  # pragma: no cover - redis-py < 5
        from redis.connection import Connection as Conn

    params = inspect.signature(Conn.__init__).parameters
    if "driver_info" in params:
        return {"driver_info": None}
    if "lib_name" in params:
        return {"lib_name": None, "lib_version": None}
    return {}


_NO_SETINFO = _no_setinfo()


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "Connection refused"
    if "reset" in text.lower():
        return "Connection reset by peer"
    return text.splitlines()[0] if text else type(exc).__name__


def _free_block(topo: Topology, avoid: set[int] | frozenset[int] = frozenset()) -> Topology:
    """``topo`` on its own ports when they are free, else on the next free block (none of
    whose ports is in ``avoid``). Free now, not reserved: another lab may bind them first,
    which ``lab.up`` then reports (see :func:`_port_race`)."""
    from ..backends.base import needed_ports, port_free

    low = min(topo.ports)
    for step in range(0, 2000, 10):
        cand = topo.shifted(low + step) if step else topo
        ports = needed_ports(cand)
        if max(ports) > 65535:
            break
        if not avoid.intersection(ports) and all(port_free(p) for p in ports):
            return cand
    return topo


def _port_race(exc: BaseException) -> bool:
    """Did ``lab.up`` fail because a port was taken after :func:`_free_block` saw it free?
    The backends say PortInUse (taken before the lab starts, or docker's "port is already
    allocated"); a local node that lost the race exits with Redis' bind error in its log."""
    from ..backends import PortInUse

    return isinstance(exc, PortInUse) or "Address already in use" in str(exc)
