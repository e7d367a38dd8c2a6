"""Lesson files -> :class:`Lesson` objects. The format is documented in ``lessons/FORMAT.md``.

A lesson is one Markdown file per language (``lessons/en/01-master-two-replicas.md``):
front matter between ``---`` lines, an introduction, then one ``## `` heading per step.
A step holds prose and fenced blocks; ``### Check`` / ``### Hint`` / ``### Explanation`` /
``### Answer`` (or 检查 / 提示 / 解释 / 答案) split it into sections.

Runnable blocks (the info string names the kind, then ``key=value`` attributes)::

    ```redis node=replica1          commands sent to a node, one per line (redis-cli syntax)
    ```action                       backend actions, one per line: ``stop master``
    ```pipe node=master count=N     one command template sent N times pipelined ({i} = 1..N)
    ```redis.conf node=replica1     directives appended to the node's redis.conf
    ```check                        a declarative check (see redislab.lab.checks)

Any block may carry ``backend=docker`` (or ``backend=engine,process``) to apply on those
backends only. Every other block (```sh, ```conf, ```yaml ...) is text to read.

:func:`load` collects every problem of a file, each with its line number, and raises
:class:`LessonError` carrying them all; :func:`validate` returns them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Union

from .. import topology as topo_mod
from . import checks
from .text import (LList, LMap, SplitError, YamlError, placeholders, split_args, yaml_load)

BACKENDS = ("engine", "process", "docker")
LANGUAGES = ("en", "zh")
ACTIONS = ("start", "stop", "kill", "restart", "pause", "resume", "partition", "heal")
# actions only some backends can do: the backends that can
ACTION_BACKENDS = {"partition": frozenset({"engine", "docker"}),
                   "heal": frozenset({"engine", "docker"})}
RUNNABLE = ("redis", "action", "pipe", "redis.conf")
SECTIONS = {
    "check": "check", "checks": "check", "检查": "check",
    "hint": "hint", "提示": "hint",
    "explanation": "explanation", "if it fails": "explanation", "why it can fail":
        "explanation", "解释": "explanation", "失败原因": "explanation",
    "answer": "answer", "答案": "answer",
}
FRONT_KEYS = {"id", "title", "language", "topology", "nodes", "options", "config", "backends",
              "minutes", "summary"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")
FENCE_RE = re.compile(r"^(\s{0,3})(`{3,}|~{3,})\s*(.*)$")
DEFAULT_LESSONS = Path(__file__).resolve().parents[2] / "lessons"


# ---------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a lesson file."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class LessonError(ValueError):
    """A lesson file with problems (all of them, in ``problems``)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Command:
    """One command of a ```redis``` block, as typed (``text``) and split (``args``)."""

    node: str
    text: str
    args: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Action:
    """A backend action on a node: ``stop master``."""

    name: str
    node: str
    line: int

    @property
    def text(self) -> str:
        return f"{self.name} {self.node}"


@dataclass(frozen=True)
class Pipe:
    """``count`` copies of a command template sent pipelined (like ``redis-cli --pipe``)."""

    node: str
    text: str
    args: tuple[str, ...]
    count: int
    start: int
    line: int

    def commands(self) -> Iterable[list[str]]:
        for i in range(self.start, self.start + self.count):
            s = str(i)
            yield [a.replace("{i}", s) for a in self.args]


@dataclass(frozen=True)
class ConfEdit:
    """Directives appended to a node's redis.conf (they apply at its next start)."""

    node: str
    lines: tuple[str, ...]
    line: int

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


Item = Union[Command, Action, Pipe, ConfEdit]


@dataclass(frozen=True)
class Block:
    """A fenced block of a step, in file order."""

    kind: str  # redis | action | pipe | redis.conf | check | text
    info: str  # the whole info string
    text: str  # the content as written
    line: int  # line of the opening fence
    node: str | None = None
    backends: frozenset[str] | None = None
    items: tuple[Item, ...] = ()
    check: checks.CheckSpec | None = None

    @property
    def runnable(self) -> bool:
        return self.kind in RUNNABLE

    def runs_on(self, backend: str) -> bool:
        return self.backends is None or backend in self.backends


@dataclass
class Step:
    index: int  # 0-based
    title: str
    line: int
    body: str = ""  # Markdown of the step's own section (blocks included)
    blocks: list[Block] = field(default_factory=list)  # body blocks
    hint: str = ""
    explanation: str = ""
    check_text: str = ""  # Markdown of the ### Check section, if any
    answer_text: str = ""  # Markdown of the ### Answer section, if any
    answer_blocks: list[Block] = field(default_factory=list)
    check_blocks: list[Block] = field(default_factory=list)  # from any section
    has_answer_section: bool = False

    @property
    def number(self) -> int:
        return self.index + 1

    def runnable_blocks(self, backend: str | None = None) -> list[Block]:
        return [b for b in self.blocks if b.runnable and (backend is None or b.runs_on(backend))]

    def answer(self, backend: str) -> list[Item]:
        """What the runner applies in --auto mode: the ### Answer section's blocks if there
        is one, else every runnable block of the step body."""
        blocks = self.answer_blocks if self.has_answer_section else self.blocks
        return [item for b in blocks if b.runnable and b.runs_on(backend) for item in b.items]

    def checks(self, backend: str) -> list[checks.CheckSpec]:
        return [b.check for b in self.check_blocks if b.check is not None and b.runs_on(backend)]

    @property
    def has_check(self) -> bool:
        return bool(self.check_blocks)


@dataclass
class Lesson:
    id: str
    title: str
    language: str
    topology: str
    minutes: int
    path: str
    nodes: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    config: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(default_factory=dict)
    backends: tuple[str, ...] = BACKENDS
    summary: str = ""
    intro: str = ""
    steps: list[Step] = field(default_factory=list)
    number: int | None = None  # from the file name: 01-... -> 1

    def build_topology(self, *, base_port: int | None = None,
                       fast: bool = False) -> topo_mod.Topology:
        """The lab this lesson runs on. ``fast``: no 5 s wait before diskless full syncs
        (``repl-diskless-sync-delay 0``), unless the lesson sets that itself."""
        topo = build_topology(self.topology, self.nodes, self.options, self.config)
        if fast:
            nodes = tuple(
                replace(n, config=n.config + (("repl-diskless-sync-delay", ("0",)),))
                if n.kind == "server" and n.directive("repl-diskless-sync-delay") is None
                else n for n in topo.nodes)
            topo = topo_mod.Topology(topo.name, nodes)
        if base_port is not None:
            topo = topo.shifted(base_port)
        return topo

    @property
    def node_names(self) -> list[str]:
        return build_topology(self.topology, self.nodes, self.options, self.config).names

    def step(self, n: int) -> Step:
        return self.steps[n]


def build_topology(shape: str, names: tuple[str, ...], options: dict[str, Any],
                   config: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]
                   ) -> topo_mod.Topology:
    opts = dict(options)
    if "requirepass" in opts:
        opts["password"] = opts.pop("requirepass")
    if names and shape == "standalone":
        opts.setdefault("n", len(names))
    topo = topo_mod.build(shape, **opts)
    if names:
        if len(names) != len(topo.nodes):
            raise topo_mod.TopologyError(
                f"nodes: {shape} has {len(topo.nodes)} nodes, {len(names)} names given")
        rename = dict(zip(topo.names, names))
        topo = topo_mod.Topology(topo.name, tuple(
            replace(n, name=rename[n.name],
                    replicaof=rename.get(n.replicaof) if n.replicaof else None)
            for n in topo.nodes))
    if config:
        extra_all = config.get("all", ())
        nodes = []
        for n in topo.nodes:
            add = extra_all + config.get(n.name, ()) if n.kind == "server" else \
                config.get(n.name, ())
            nodes.append(replace(n, config=n.config + tuple(add)) if add else n)
        topo = topo_mod.Topology(topo.name, tuple(nodes))
    return topo


# ---------------------------------------------------------------------------- loading


def load(path: str | os.PathLike[str]) -> Lesson:
    """Parse a lesson file; raise :class:`LessonError` listing every problem."""
    lesson, problems = _parse_file(Path(path))
    if problems or lesson is None:
        raise LessonError(problems)
    return lesson


def validate(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem of a lesson file (an empty list: the file is fine)."""
    return _parse_file(Path(path))[1]


def loads(text: str, path: str = "<lesson>") -> Lesson:
    lesson, problems = _parse(text, path)
    if problems or lesson is None:
        raise LessonError(problems)
    return lesson


def _parse_file(path: Path) -> tuple[Lesson | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 0, f"cannot read: {exc}")]
    lesson, problems = _parse(text, str(path))
    if lesson is not None:
        m = re.match(r"^(\d+)-", path.name)
        lesson.number = int(m.group(1)) if m else None
    return lesson, problems


class _Parser:
    def __init__(self, text: str, path: str):
        self.path = path
        self.lines = text.splitlines()
        self.problems: list[Problem] = []
        self.names: set[str] = set()
        self.backends: tuple[str, ...] = BACKENDS

    def err(self, line: int, msg: str) -> None:
        self.problems.append(Problem(self.path, line, msg))


def _parse(text: str, path: str) -> tuple[Lesson | None, list[Problem]]:
    p = _Parser(text, path)
    lines = p.lines
    if not lines or lines[0].strip() != "---":
        p.err(1, "a lesson starts with front matter between two '---' lines")
        return None, p.problems
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        p.err(1, "front matter is not closed: add a '---' line after it")
        return None, p.problems
    lesson = _front_matter(p, "\n".join(lines[1:end]), first_line=2)
    if lesson is None:
        return None, sorted(p.problems, key=lambda x: x.line)
    _body(p, lesson, end + 1)
    if not lesson.steps:
        p.err(end + 1, "no steps: each step starts with a '## ' heading")
    return lesson, sorted(p.problems, key=lambda x: x.line)


def _front_matter(p: _Parser, text: str, first_line: int) -> Lesson | None:
    try:
        data = yaml_load(text, first_line)
    except YamlError as exc:
        p.err(exc.line, f"front matter: {exc}")
        return None
    if not isinstance(data, LMap):
        p.err(first_line, "front matter must be 'key: value' lines (id, title, language, "
                          "topology, minutes ...)")
        return None
    ok = True
    for key in data:
        if key not in FRONT_KEYS:
            p.err(data.line_of(key), f"front matter: unknown key {key!r} (known: "
                                     f"{', '.join(sorted(FRONT_KEYS))})")
            ok = False
    for key in ("id", "title", "language", "topology", "minutes"):
        if key not in data:
            p.err(data.line, f"front matter: missing {key}:")
            ok = False
    lid = data.get("id")
    if "id" in data and (not isinstance(lid, str) or not ID_RE.match(lid)):
        p.err(data.line_of("id"), "front matter: id must be lower-case letters, digits and "
                                  "'-' (e.g. master-two-replicas)")
        ok = False
    title = data.get("title")
    if "title" in data and (not isinstance(title, str) or not title.strip()):
        p.err(data.line_of("title"), "front matter: title must be text")
        ok = False
    lang = data.get("language")
    if "language" in data and lang not in LANGUAGES:
        p.err(data.line_of("language"), f"front matter: language must be one of "
                                        f"{', '.join(LANGUAGES)}")
        ok = False
    minutes = data.get("minutes")
    if "minutes" in data and (isinstance(minutes, bool) or not isinstance(minutes, int)
                              or not 1 <= minutes <= 600):
        p.err(data.line_of("minutes"), "front matter: minutes must be a whole number (1-600)")
        ok = False
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        p.err(data.line_of("summary"), "front matter: summary must be text")
        summary = ""
    shape = data.get("topology")
    if "topology" in data and shape not in topo_mod.SHAPES:
        p.err(data.line_of("topology"), f"front matter: unknown topology {shape!r} (one of "
                                        f"{', '.join(topo_mod.SHAPES)})")
        ok = False
    backends: tuple[str, ...] = BACKENDS
    if "backends" in data:
        raw = data["backends"]
        if not isinstance(raw, LList) or not raw or any(b not in BACKENDS for b in raw):
            p.err(data.line_of("backends"), f"front matter: backends must be a list of "
                                            f"{', '.join(BACKENDS)}")
            ok = False
        else:
            backends = tuple(raw)
    names: tuple[str, ...] = ()
    if "nodes" in data:
        raw = data["nodes"]
        if not isinstance(raw, LList) or not all(isinstance(n, str) for n in raw):
            p.err(data.line_of("nodes"), "front matter: nodes must be a list of names")
            ok = False
        elif shape != "standalone":
            p.err(data.line_of("nodes"), "front matter: nodes (renaming) is for the "
                                         "standalone topology only")
            ok = False
        else:
            names = tuple(raw)
    options: dict[str, Any] = {}
    if "options" in data:
        raw = data["options"]
        if not isinstance(raw, LMap):
            p.err(data.line_of("options"), "front matter: options must be a mapping")
            ok = False
        else:
            options = {str(k): (str(v) if isinstance(v, (int, float)) and
                                k in ("password", "requirepass", "masterauth") else v)
                       for k, v in raw.items()}
    config: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    if "config" in data:
        config = _config(p, data["config"], data.line_of("config")) or {}
    if not ok:
        return None
    try:
        topo = build_topology(shape, names, options, config)
    except topo_mod.TopologyError as exc:
        key = "nodes" if "nodes" in str(exc) and "nodes" in data else (
            "options" if "options" in data else "topology")
        p.err(data.line_of(key), f"front matter: {exc}")
        return None
    p.names = set(topo.names)
    for name in config:
        if name != "all" and name not in p.names:
            p.err(data["config"].line_of(name),
                  f"front matter: config for unknown node {name!r} (nodes: "
                  f"{', '.join(topo.names)})")
    p.backends = backends
    return Lesson(id=lid, title=title.strip(), language=lang, topology=shape, minutes=minutes,
                  path=p.path, nodes=names, options=options, config=config, backends=backends,
                  summary=summary.strip())


def _config(p: _Parser, raw: Any, line: int
            ) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]] | None:
    if not isinstance(raw, LMap):
        p.err(line, "front matter: config maps a node name (or all) to directives, e.g. "
                    "config: {all: {appendonly: 'yes'}}")
        return None
    out: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    for node, directives in raw.items():
        if not isinstance(directives, LMap):
            p.err(raw.line_of(node), f"front matter: config {node}: expected directives "
                                     "(name: value)")
            continue
        items = []
        for name, value in directives.items():
            if isinstance(value, LMap):
                p.err(directives.line_of(name), f"front matter: config {node} {name}: a "
                                                "value or a list of values")
                continue
            vals = value if isinstance(value, list) else [value]
            items.append((str(name).lower(), tuple(_conf_word(v) for v in vals)))
        out[str(node)] = tuple(items)
    return out


def _conf_word(v: Any) -> str:
    if v is True:
        return "yes"
    if v is False:
        return "no"
    if v is None:
        return ""
    return str(v)


# ---------------------------------------------------------------------------- body


def _body(p: _Parser, lesson: Lesson, start: int) -> None:
    lines = p.lines
    step: Step | None = None
    section = "body"
    section_line = 0
    buf: list[str] = []  # Markdown of the current section
    intro: list[str] = []
    fence: tuple[str, str, int, list[str]] | None = None  # marker, info, line, content

    def flush() -> None:
        nonlocal buf
        text = "\n".join(buf).strip("\n")
        buf = []
        if step is None:
            intro.append(text)
            return
        if section == "body":
            step.body = text
        elif section == "hint":
            step.hint = text
        elif section == "explanation":
            step.explanation = text
        elif section == "answer":
            step.answer_text = text
        elif section == "check":
            step.check_text = text

    def finish_step() -> None:
        if step is None:
            return
        _check_step(p, step, lesson)
        lesson.steps.append(step)

    for i in range(start, len(lines)):
        raw = lines[i]
        lineno = i + 1
        if fence is not None:
            marker, info, fline, content = fence
            stripped = raw.strip()
            if stripped and set(stripped) == {marker[0]} and len(stripped) >= len(marker):
                block = _block(p, info, content, fline)
                buf.append(raw)
                fence = None
                if block is None:
                    continue
                if step is None:
                    if block.runnable or block.kind == "check":
                        p.err(fline, "runnable and check blocks belong in a step (after a "
                                     "'## ' heading)")
                    continue
                if block.kind == "check":
                    step.check_blocks.append(block)
                if section == "answer":
                    if block.kind != "check":
                        step.answer_blocks.append(block)
                elif section in ("hint", "explanation") and block.runnable:
                    p.err(fline, f"a runnable block in the {section} section is never run: "
                                 "put it in the step or its answer")
                else:
                    if block.kind != "check":
                        step.blocks.append(block)
            else:
                content.append(raw)
                buf.append(raw)
            continue
        m = FENCE_RE.match(raw)
        if m:
            fence = (m.group(2), m.group(3).strip(), lineno, [])
            buf.append(raw)
            continue
        if raw.startswith("## "):
            flush()
            finish_step()
            title = raw[3:].strip()
            if not title:
                p.err(lineno, "a step heading needs a title")
            step = Step(index=len(lesson.steps), title=title, line=lineno)
            section = "body"
            continue
        if raw.startswith("### ") and step is not None:
            name = raw[4:].strip().rstrip(":：").strip().lower()
            if name in SECTIONS:
                flush()
                section = SECTIONS[name]
                section_line = lineno
                if section == "answer":
                    if step.has_answer_section:
                        p.err(lineno, "a step has one answer section")
                    step.has_answer_section = True
                    step.answer_line = lineno  # type: ignore[attr-defined]
                continue
        buf.append(raw)
    if fence is not None:
        p.err(fence[2], f"code block opened here is never closed (add a {fence[0]} line)")
    flush()
    finish_step()
    del section_line
    lesson.intro = "\n\n".join(t for t in intro if t).strip()
    # the H1 title, if any, is part of the intro text; readers show the front matter title


def _check_step(p: _Parser, step: Step, lesson: Lesson) -> None:
    if step.has_answer_section and not any(b.runnable for b in step.answer_blocks):
        p.err(getattr(step, "answer_line", step.line),
              f"step {step.number} ({step.title}): the answer section has no runnable block "
              "(```redis node=...```, ```action```, ```pipe```, ```redis.conf```)")
        return
    if not step.has_check:
        return
    lacking = [b for b in lesson.backends if step.checks(b) and not step.answer(b)]
    if lacking:
        where = "" if len(lacking) == len(lesson.backends) else \
            f" on the {', '.join(lacking)} backend{'s' if len(lacking) > 1 else ''}"
        p.err(step.line, f"step {step.number} ({step.title}): missing answer{where}: the "
                         "step has a check but nothing the runner can apply -- add "
                         "runnable blocks or a '### Answer' section")


def _attrs(p: _Parser, info: str, line: int) -> tuple[str, dict[str, str], list[str]]:
    words = info.split()
    kind = words[0] if words else ""
    attrs: dict[str, str] = {}
    flags: list[str] = []
    for w in words[1:]:
        if "=" in w:
            k, v = w.split("=", 1)
            if k in attrs:
                p.err(line, f"block attribute {k} given twice")
            attrs[k] = v
        else:
            flags.append(w)
    return kind, attrs, flags


def _block(p: _Parser, info: str, content: list[str], line: int) -> Block | None:
    kind, attrs, flags = _attrs(p, info, line)
    text = "\n".join(content)
    known = {"redis": {"node", "backend"}, "action": {"backend"},
             "pipe": {"node", "count", "start", "backend"}, "redis.conf": {"node", "backend"},
             "check": {"backend"}}
    if kind not in known:
        return Block("text", info, text, line)
    for key in attrs:
        if key not in known[kind]:
            p.err(line, f"```{kind}``` block: unknown attribute {key!r} (allowed: "
                        f"{', '.join(sorted(known[kind]))})")
    for flag in flags:
        p.err(line, f"```{kind}``` block: unknown word {flag!r} (attributes are key=value)")
    backends = None
    if "backend" in attrs:
        names = [b for b in attrs["backend"].split(",") if b]
        bad = [b for b in names if b not in BACKENDS]
        if bad or not names:
            p.err(line, f"backend={attrs['backend']}: use {', '.join(BACKENDS)} "
                        "(comma-separated)")
        backends = frozenset(n for n in names if n in BACKENDS)
        unused = [b for b in names if b in BACKENDS and b not in p.backends]
        if unused:
            p.err(line, f"backend={attrs['backend']}: the lesson does not run on "
                        f"{', '.join(unused)} (see backends: in the front matter)")
    node = attrs.get("node")
    if kind in ("redis", "pipe", "redis.conf"):
        if not node:
            p.err(line, f"```{kind}``` block needs node=<name> (one of "
                        f"{', '.join(sorted(p.names))})")
            return None
        if node not in p.names:
            p.err(line, f"unknown node {node!r} (nodes: {', '.join(sorted(p.names))})")
            return None
    items: list[Item] = []
    first = line + 1
    before = len(p.problems)
    if kind == "redis":
        for j, raw in enumerate(content):
            cmd = raw.strip()
            if not cmd or cmd.startswith("#"):
                continue
            lno = first + j
            _placeholders(p, cmd, lno)
            try:
                args = split_args(cmd)
            except SplitError as exc:
                p.err(lno, f"{exc}: {cmd}")
                continue
            if args and args[0].lower() in ("monitor", "subscribe", "psubscribe", "ssubscribe",
                                            "sync", "psync"):
                p.err(lno, f"{args[0]} takes over the connection and cannot be run from a "
                           "lesson; show it in a text block")
                continue
            items.append(Command(node, cmd, tuple(args), lno))
        if not items and len(p.problems) == before:
            p.err(line, "```redis``` block without commands")
    elif kind == "action":
        for j, raw in enumerate(content):
            words = raw.split()
            if not words or words[0].startswith("#"):
                continue
            lno = first + j
            if len(words) != 2:
                p.err(lno, f"an action line is '<action> <node>' (e.g. stop master): {raw.strip()}")
                continue
            name, target = words
            if name not in ACTIONS:
                p.err(lno, f"unknown action {name!r} (known: {', '.join(ACTIONS)}); actions "
                           "are backend operations, never shell commands")
                continue
            if target not in p.names:
                p.err(lno, f"unknown node {target!r} (nodes: {', '.join(sorted(p.names))})")
                continue
            able = ACTION_BACKENDS.get(name)
            if able is not None:
                on = backends if backends is not None else frozenset(p.backends)
                if on - able:
                    where = ",".join(sorted(able))
                    p.err(lno, f"{name} works on the {where.replace(',', ' and ')} backends "
                               f"only: mark the block backend={where} (and give the others "
                               "an equivalent)")
                    continue
            items.append(Action(name, target, lno))
        if not items and len(p.problems) == before:
            p.err(line, "```action``` block without actions")
    elif kind == "pipe":
        count = _int_attr(p, attrs, "count", line, required=True, low=1, high=10_000_000)
        start = _int_attr(p, attrs, "start", line, required=False, low=0, high=10**12)
        cmds = [(first + j, raw.strip()) for j, raw in enumerate(content)
                if raw.strip() and not raw.strip().startswith("#")]
        if len(cmds) != 1:
            p.err(line, "a ```pipe``` block holds exactly one command template, e.g. "
                        "SET key:{i} value:{i}")
            return None
        lno, cmd = cmds[0]
        _placeholders(p, cmd, lno)
        try:
            args = split_args(cmd)
        except SplitError as exc:
            p.err(lno, f"{exc}: {cmd}")
            return None
        if count is None:
            return None
        items.append(Pipe(node, cmd, tuple(args), count, 1 if start is None else start, lno))
    elif kind == "redis.conf":
        conf_lines = []
        for j, raw in enumerate(content):
            d = raw.strip()
            if not d or d.startswith("#"):
                continue
            lno = first + j
            _placeholders(p, d, lno)
            try:
                words = split_args(d)
            except SplitError as exc:
                p.err(lno, f"{exc}: {d}")
                continue
            if len(words) < 2:
                p.err(lno, f"a redis.conf line is '<directive> <value...>': {d}")
                continue
            if words[0].lower() in ("port", "bind", "dir", "logfile", "daemonize", "include"):
                p.err(lno, f"{words[0]} is set by the lab (each backend decides it); "
                           "changing it would break the lab")
                continue
            conf_lines.append(d)
        if not conf_lines:
            if len(p.problems) == before:
                p.err(line, "```redis.conf``` block without directives")
            return None
        items.append(ConfEdit(node, tuple(conf_lines), first))
    elif kind == "check":
        try:
            data = yaml_load(text, first)
        except YamlError as exc:
            p.err(exc.line, f"check: {exc}")
            return None
        try:
            spec = checks.parse(data, line_of(data, first))
        except checks.CheckSyntaxError as exc:
            p.err(exc.line, f"check: {exc}")
            return None
        for name in sorted(spec.nodes()):
            if name not in p.names:
                p.err(_node_line(content, name, first),
                      f"check: unknown node {name!r} (nodes: {', '.join(sorted(p.names))})")
        for t in spec.check.placeholder_texts():
            _placeholders(p, t, _text_line(content, t, first))
        return Block("check", info, text, line, backends=backends, check=spec)
    return Block(kind, info, text, line, node=node, backends=backends, items=tuple(items))


def line_of(value: Any, default: int) -> int:
    return getattr(value, "line", default) or default


def _node_line(content: list[str], name: str, first: int) -> int:
    pat = re.compile(r"node:\s*['\"]?" + re.escape(name) + r"\b")
    for j, raw in enumerate(content):
        if pat.search(raw):
            return first + j
    return first


def _text_line(content: list[str], text: str, first: int) -> int:
    for j, raw in enumerate(content):
        if text in raw:
            return first + j
    return first


def _placeholders(p: _Parser, text: str, line: int) -> None:
    for node, _field in placeholders(text):
        if node not in p.names:
            p.err(line, f"placeholder {{{node}.{_field}}}: unknown node {node!r} (nodes: "
                        f"{', '.join(sorted(p.names))})")


def _int_attr(p: _Parser, attrs: dict[str, str], key: str, line: int, *, required: bool,
              low: int, high: int) -> int | None:
    if key not in attrs:
        if required:
            p.err(line, f"```pipe``` block needs {key}=<number>")
        return None
    try:
        value = int(attrs[key].replace("_", ""))
    except ValueError:
        p.err(line, f"{key}={attrs[key]}: not a whole number")
        return None
    if not low <= value <= high:
        p.err(line, f"{key}={value}: must be between {low} and {high}")
        return None
    return value


# ---------------------------------------------------------------------------- finding


def lessons_dir() -> Path:
    """``$REDISLAB_LESSONS`` or the ``lessons/`` directory next to the package."""
    env = os.environ.get("REDISLAB_LESSONS")
    return Path(env) if env else DEFAULT_LESSONS


def lesson_files(lang: str = "en", root: Path | None = None) -> list[Path]:
    """Lesson files of a language, in file-name order (``01-...``, ``02-...``); lessons with
    no translation come from English."""
    root = root or lessons_dir()
    files = {f.name: f for f in sorted((root / "en").glob("*.md"))}
    if lang != "en":
        files.update({f.name: f for f in sorted((root / lang).glob("*.md"))})
    return [files[k] for k in sorted(files)]


def discover(lang: str = "en", root: Path | None = None) -> list[Lesson]:
    """Every lesson of a language (raises LessonError on the first broken file)."""
    return [load(f) for f in lesson_files(lang, root)]


def find(ref: str, lang: str = "en", root: Path | None = None) -> Lesson:
    """A lesson by id (``master-two-replicas``), number (``1``, ``01``) or file path."""
    if ref.endswith(".md") or os.sep in ref:
        return load(ref)
    for f in lesson_files(lang, root):
        m = re.match(r"^(\d+)-(.*)\.md$", f.name)
        if m and ref.isdigit() and int(ref) == int(m.group(1)):
            return load(f)
        if m and ref == m.group(2):
            return load(f)
    for f in lesson_files(lang, root):
        lesson = load(f)
        if lesson.id == ref:
            return lesson
    known = [f.stem for f in lesson_files(lang, root)]
    raise LookupError(f"no lesson {ref!r} (lessons: {', '.join(known) or 'none'})")


def same_runnables(a: Lesson, b: Lesson) -> list[str]:
    """Differences between two translations of one lesson in what they run and check
    (they must have the same steps, node names, commands, actions and checks)."""
    out = []
    if a.id != b.id:
        out.append(f"ids differ: {a.id} / {b.id}")
    if (a.topology, a.nodes, a.options, a.config, a.backends) != \
            (b.topology, b.nodes, b.options, b.config, b.backends):
        out.append("front matter (topology, nodes, options, config, backends) differs")
    if len(a.steps) != len(b.steps):
        out.append(f"{len(a.steps)} steps / {len(b.steps)} steps")
        return out

    def runs(step: Step) -> list[tuple[Any, ...]]:
        return [(blk.kind, blk.node, blk.backends, blk.text.strip())
                for blk in step.blocks + step.answer_blocks if blk.runnable] + \
               [("check", None, blk.backends, blk.text.strip()) for blk in step.check_blocks]

    for sa, sb in zip(a.steps, b.steps):
        if runs(sa) != runs(sb):
            out.append(f"step {sa.number}: blocks differ ({sa.title} / {sb.title})")
    return out
