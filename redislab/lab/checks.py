"""Declarative checks: parsed from a lesson's ```check``` blocks (YAML), evaluated over RESP.

A check block is one mapping with one *check* (``timeout:`` may sit beside it)::

    info: {node: replica1, section: replication, field: master_link_status, equals: up}
    timeout: 10

Checks that read a node (each takes ``node:``):

    info      INFO <section> (default replication), one ``field:``, a comparison
    reply     any read-only ``command:`` (a list, or a string split like redis-cli); a
              comparison, or ``error:`` (a regex the error reply must match)
    role      ROLE's first word: ``is: master | slave | replica | sentinel``
    key       GET ``name:``; a comparison, or ``exists: true | false``
    dbsize    DBSIZE; a comparison
    log       the node's log since the step started (``since: lesson`` for the whole
              lesson): ``contains:`` or ``matches:``, optional ``count:`` (at least)
    ping      ``up: true`` (answers PING) or ``up: false`` (does not)

Comparisons: ``equals`` ``not_equals`` ``matches`` (regex search) ``contains`` ``in``
(a list) ``gt`` ``gte`` ``lt`` ``lte`` (numbers). ``equals: null`` means a nil reply; a list
compares an array reply element by element.

Checks made of checks: ``all: [...]``, ``any: [...]``, ``not: {...}``, and
``same: [...]`` -- a list of info/reply/key/dbsize reads (without comparisons) that must all
give the same value (offsets or DBSIZE of every node).

Values may hold ``{node.host}``, ``{node.port}``, ``{node.addr}``: the address of a node as
the other nodes see it (the container IP on docker). Inside ``matches:`` / ``error:`` the
address is escaped, so its dots match dots.

A check is polled until it passes or ``timeout`` seconds (default
:data:`DEFAULT_TIMEOUT`) have gone by: replication converges, it is not instantaneous.
Nothing here knows what kind of node answers: redis-py over TCP only.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from .text import LList, LMap, PlaceholderError, SplitError, line_of, split_args, substitute

DEFAULT_TIMEOUT = 5.0
POLL_INTERVAL = 0.2
PROBE_TIMEOUT = 2.0

COMPARATORS = ("equals", "not_equals", "matches", "contains", "in", "gt", "gte", "lt", "lte")
ROLES = {"master": "master", "slave": "slave", "replica": "slave", "sentinel": "sentinel"}
BLOCKING = {"monitor", "subscribe", "psubscribe", "ssubscribe", "sync", "psync", "blpop",
            "brpop", "blmove", "brpoplpush", "bzpopmin", "bzpopmax", "blmpop", "bzmpop",
            "xread", "xreadgroup", "wait", "waitaof", "shutdown", "debug"}


class CheckSyntaxError(ValueError):
    """A check block that does not make sense; ``line`` is the file line."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


class Context(Protocol):
    """What evaluating a check needs from the lab (the runner provides it)."""

    def client(self, node: str, timeout: float) -> Any:
        """A redis-py client for ``node`` (authenticated if needed), replies left raw."""

    def log_since(self, node: str, since: str) -> str:
        """The node's log since the step (``step``) or the lesson (``lesson``) started."""

    def resolve(self, node: str) -> tuple[str, int]:
        """The node's address as the other nodes see it (for placeholders)."""

    # optional: ``node_id(node) -> str`` fills ``{node.id}`` (its CLUSTER MYID); raises
    # KeyError for a node it does not know, PlaceholderError when it cannot say now


@dataclass
class Result:
    """The outcome of one check (a leaf) or of a group of checks."""

    ok: bool
    text: str
    children: list["Result"] = field(default_factory=list)

    def leaves(self) -> list["Result"]:
        if not self.children:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]


@dataclass
class Outcome:
    """A check block's final result after polling."""

    passed: bool
    result: Result
    elapsed: float
    attempts: int

    def lines(self) -> list[tuple[int, bool | None, str]]:
        """``(depth, ok, text)`` for printing: groups nest, a top-level ``all`` is flat.
        ``ok`` is None for a failed alternative of an ``any:`` that passed (not a failure)."""
        out: list[tuple[int, bool | None, str]] = []

        def walk(r: Result, depth: int, moot: bool = False) -> None:
            if r.children and r.text == "all of:" and depth == 0:
                for c in r.children:
                    walk(c, 0)
                return
            out.append((depth, None if moot and not r.ok else r.ok, r.text))
            for c in r.children:
                walk(c, depth + 1, moot or (r.text == "any of:" and r.ok))

        walk(self.result, 0)
        return out


@dataclass(frozen=True)
class ReplyErr:
    """An error reply, kept as a value so ``error:`` can match it."""

    text: str

    def __str__(self) -> str:
        return f"(error) {self.text}"


_CODES = {"ReadOnlyError": "READONLY", "BusyLoadingError": "LOADING", "NoScriptError":
          "NOSCRIPT", "ExecAbortError": "EXECABORT", "OutOfMemoryError": "OOM",
          "NoPermissionError": "NOPERM", "MasterDownError": "MASTERDOWN"}


def error_text(exc: BaseException) -> str:
    """An error reply as Redis sent it: redis-py's own parser drops the code of the errors
    it maps to classes (``READONLY ...`` becomes ``You can't write...``); put it back."""
    text = str(exc)
    code = _CODES.get(type(exc).__name__)
    if code and not text.startswith(code + " "):
        text = f"{code} {text}"
    return text


def norm(reply: Any) -> Any:
    """A raw redis-py reply as plain Python: str, int, None, list, or :class:`ReplyErr`."""
    import redis

    if isinstance(reply, redis.ResponseError):
        return ReplyErr(error_text(reply))
    if isinstance(reply, (bytes, bytearray)):
        return bytes(reply).decode("utf-8", errors="replace")
    if isinstance(reply, (list, tuple)):
        return [norm(x) for x in reply]
    return reply


def show(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, ReplyErr):
        return str(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 80 else repr(value[:77] + "...")
    return repr(value)


def _scalar(value: Any) -> Any:
    """YAML scalars as the text Redis would show (yes/no for booleans)."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return value


# ---------------------------------------------------------------------------- nodes


@dataclass
class Comparison:
    op: str
    expected: Any

    def check(self, value: Any, ctx: Any) -> bool:
        exp = _subst(self.expected, ctx, regex=self.op == "matches")
        if isinstance(value, ReplyErr):
            return self.op == "not_equals"
        op = self.op
        if op in ("equals", "not_equals"):
            same = _equal(value, exp)
            return same if op == "equals" else not same
        if value is None:
            return False
        if op == "matches":
            return re.search(str(exp), _text(value), re.MULTILINE) is not None
        if op == "contains":
            return str(exp) in _text(value)
        if op == "in":
            return any(_equal(value, x) for x in exp)
        try:
            got, want = float(value), float(exp)
        except (TypeError, ValueError):
            return False
        return {"gt": got > want, "gte": got >= want, "lt": got < want, "lte": got <= want}[op]

    def describe(self, ctx: Any) -> str:
        exp = _subst(self.expected, ctx, regex=False)
        sym = {"equals": "=", "not_equals": "!=", "matches": "~", "contains": "contains",
               "in": "in", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[self.op]
        return f"{sym} {show(exp)}"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return str(value)


def _equal(value: Any, expected: Any) -> bool:
    expected = _scalar(expected)
    if expected is None:
        return value is None
    if isinstance(expected, list):
        return isinstance(value, list) and len(value) == len(expected) and all(
            _equal(v, e) for v, e in zip(value, expected))
    if value is None or isinstance(value, list):
        return False
    return str(value) == str(expected)


def _subst(value: Any, ctx: Any, regex: bool = False) -> Any:
    """``value`` with the placeholders filled in from ``ctx`` (a :class:`Context`)."""
    if isinstance(value, str):
        return substitute(value, ctx.resolve, escape=re.escape if regex else None,
                          ids=getattr(ctx, "node_id", None))
    if isinstance(value, list):
        return [_subst(v, ctx, regex) for v in value]
    return value


class Check:
    """A node of a check tree."""

    line: int

    def evaluate(self, ctx: Context) -> Result:
        raise NotImplementedError

    def nodes(self) -> set[str]:
        """Names of the lab nodes this check reads."""
        return set()

    def placeholder_texts(self) -> list[str]:
        return []


@dataclass
class Read(Check):
    """A check that reads one value from one node (info, reply, key, dbsize, role, ping)."""

    kind: str
    node: str
    params: dict[str, Any]
    comparison: Comparison | None
    line: int

    def nodes(self) -> set[str]:
        return {self.node}

    def placeholder_texts(self) -> list[str]:
        out = [v for v in self.params.values() if isinstance(v, str)]
        out += [a for a in self.params.get("command", []) if isinstance(a, str)]
        if self.comparison is not None:
            exp = self.comparison.expected
            out += [exp] if isinstance(exp, str) else [x for x in exp or [] if isinstance(x, str)] \
                if isinstance(exp, list) else []
        return out

    def label(self, ctx: Context) -> str:
        p = self.params
        if self.kind == "info":
            return f"{self.node} INFO {p['section']} {p['field']}"
        if self.kind == "reply":
            return f"{self.node} {' '.join(_subst(p['command'], ctx))}"
        if self.kind == "key":
            return f"{self.node} key {p['name']}"
        return f"{self.node} {self.kind.upper()}"

    def read(self, ctx: Context) -> Any:
        import redis

        r = ctx.client(self.node, PROBE_TIMEOUT)
        try:
            p = self.params
            if self.kind == "info":
                raw = r.execute_command("INFO", p["section"])
                info = parse_info(norm(raw))
                return info.get(_subst(p["field"], ctx))
            if self.kind == "reply":
                try:
                    return norm(r.execute_command(*_subst(p["command"], ctx)))
                except (redis.ResponseError, redis.AuthenticationError) as exc:
                    return ReplyErr(error_text(exc))
            if self.kind == "key":
                if p.get("exists") is not None:
                    return bool(r.execute_command("EXISTS", p["name"]))
                return norm(r.execute_command("GET", p["name"]))
            if self.kind == "dbsize":
                return norm(r.execute_command("DBSIZE"))
            if self.kind == "role":
                reply = norm(r.execute_command("ROLE"))
                return reply[0] if isinstance(reply, list) and reply else reply
            raise AssertionError(self.kind)  # pragma: no cover
        finally:
            r.close()

    def evaluate(self, ctx: Context) -> Result:
        import redis

        if self.kind == "ping":
            return self._ping(ctx)
        label = self.label(ctx)
        try:
            value = self.read(ctx)
        except (redis.ResponseError, redis.AuthenticationError) as exc:
            return Result(False, f"{label}: (error) {error_text(exc)}")
        except (redis.RedisError, OSError) as exc:
            return Result(False, f"{label}: cannot reach {self.node} ({_why(exc)})")
        if self.kind == "key" and self.params.get("exists") is not None:
            want = bool(self.params["exists"])
            ok = value is want
            what = "exists" if value else "does not exist"
            return Result(ok, f"{label} {what}" + ("" if ok else
                          f" (expected it {'to exist' if want else 'not to exist'})"))
        if self.kind == "role":
            want = ROLES[self.params["is"]]
            ok = value == want
            return Result(ok, f"{self.node} role is {show(value)}" +
                          ("" if ok else f" (expected {want!r})"))
        if self.kind == "reply" and "error" in self.params:
            pattern = _subst(self.params["error"], ctx, regex=True)
            ok = isinstance(value, ReplyErr) and re.search(pattern, value.text) is not None
            return Result(ok, f"{label} -> {show(value)}" +
                          ("" if ok else f" (expected an error matching {pattern!r})"))
        assert self.comparison is not None
        ok = self.comparison.check(value, ctx)
        desc = self.comparison.describe(ctx)
        if ok:
            return Result(True, f"{label} is {show(value)}")
        return Result(False, f"{label} is {show(value)}, expected {desc}")

    def _ping(self, ctx: Context) -> Result:
        import redis

        want = bool(self.params["up"])
        r = None
        try:
            r = ctx.client(self.node, min(PROBE_TIMEOUT, 1.0))
            r.execute_command("PING")
            up = True
        except (redis.ResponseError, redis.AuthenticationError):  # NOAUTH, LOADING: it answers
            up = True
        except (redis.RedisError, OSError):
            up = False
        finally:
            if r is not None:
                r.close()
        state = "answers" if up else "does not answer"
        expected = "" if up == want else \
            f" (expected it {'to answer' if want else 'to be down'})"
        return Result(up == want, f"{self.node} {state}{expected}")


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:120]


@dataclass
class Log(Check):
    node: str
    contains: str | None
    matches: str | None
    count: int
    since: str
    line: int

    def nodes(self) -> set[str]:
        return {self.node}

    def placeholder_texts(self) -> list[str]:
        return [t for t in (self.contains, self.matches) if t]

    def evaluate(self, ctx: Context) -> Result:
        try:
            text = ctx.log_since(self.node, self.since)
        except Exception as exc:  # a log that cannot be read is a failed check, said why
            return Result(False, f"{self.node} log: cannot read it ({_why(exc)})")
        if self.contains is not None:
            needle = _subst(self.contains, ctx)
            n = text.count(needle)
            what = f"{needle!r}"
        else:
            pattern = _subst(self.matches, ctx, regex=True)
            n = len(re.findall(pattern, text, re.MULTILINE))
            what = f"/{pattern}/"
        ok = n >= self.count
        where = "since this step began" if self.since == "step" else "since the lesson began"
        times = "" if self.count == 1 else f" at least {self.count} times"
        if ok:
            return Result(True, f"{self.node} log has {what}")
        seen = f" (seen {n} times)" if n else ""
        return Result(False, f"{self.node} log has no {what}{times} {where}{seen}")


@dataclass
class Same(Check):
    reads: list[Read]
    line: int

    def nodes(self) -> set[str]:
        return {r.node for r in self.reads}

    def placeholder_texts(self) -> list[str]:
        return [t for r in self.reads for t in r.placeholder_texts()]

    def evaluate(self, ctx: Context) -> Result:
        import redis

        values = []
        for read in self.reads:
            try:
                values.append(read.read(ctx))
            except (redis.RedisError, OSError) as exc:
                return Result(False, f"{read.label(ctx)}: cannot read ({_why(exc)})")
        parts = ", ".join(f"{read.label(ctx)} = {show(v)}" for read, v in zip(self.reads, values))
        ok = values[0] is not None and all(_norm_same(v) == _norm_same(values[0])
                                           for v in values)
        return Result(ok, ("same: " if ok else "not the same: ") + parts)


def _norm_same(value: Any) -> Any:
    return str(value) if not isinstance(value, list) else [str(v) for v in value]


def _evaluate(check: Check, ctx: Context) -> Result:
    try:
        return check.evaluate(ctx)
    except PlaceholderError as exc:  # {node.id} of a node that is down: a failed check
        return Result(False, str(exc))


@dataclass
class Group(Check):
    op: str  # all | any | not
    children: list[Check]
    line: int

    def nodes(self) -> set[str]:
        return set().union(*(c.nodes() for c in self.children))

    def placeholder_texts(self) -> list[str]:
        return [t for c in self.children for t in c.placeholder_texts()]

    def evaluate(self, ctx: Context) -> Result:
        results = [_evaluate(c, ctx) for c in self.children]
        if self.op == "all":
            return Result(all(r.ok for r in results), "all of:", results)
        if self.op == "any":
            return Result(any(r.ok for r in results), "any of:", results)
        inner = results[0]
        return Result(not inner.ok, "not:", [Result(not inner.ok, inner.text, inner.children)])


@dataclass
class CheckSpec:
    """A whole check block: its check and how long to poll it."""

    check: Check
    timeout: float
    line: int

    def nodes(self) -> set[str]:
        return self.check.nodes()


def parse_info(text: Any) -> dict[str, str]:
    if not isinstance(text, str):
        text = str(text)
    out: dict[str, str] = {}
    for raw in text.splitlines():
        if raw and not raw.startswith("#") and ":" in raw:
            k, v = raw.split(":", 1)
            out[k] = v.strip()
    return out


# ---------------------------------------------------------------------------- parsing

READS = ("info", "reply", "role", "key", "dbsize", "ping")
KINDS = READS + ("log", "same", "all", "any", "not")


def parse(data: Any, line: int) -> CheckSpec:
    """A check block's YAML (as :func:`~redislab.lab.text.yaml_load` gives it) -> CheckSpec."""
    if not isinstance(data, LMap):
        raise CheckSyntaxError("a check block must be a mapping such as "
                               "`info: {node: replica1, field: role, equals: slave}`", line)
    timeout = DEFAULT_TIMEOUT
    body = LMap(data)
    body.line, body.key_lines = data.line, dict(data.key_lines)
    if "timeout" in body:
        t = body.pop("timeout")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0 or t > 600:
            raise CheckSyntaxError("timeout must be a number of seconds (0 to 600)",
                                   data.line_of("timeout"))
        timeout = float(t)
    return CheckSpec(_parse_node(body, data.line), timeout, data.line)


def _parse_node(data: Any, line: int) -> Check:
    if not isinstance(data, LMap):
        raise CheckSyntaxError(f"expected a check (one of {', '.join(KINDS)}), got "
                               f"{_kind_name(data)}", line_of(data, line))
    keys = list(data)
    if len(keys) != 1:
        if "timeout" in data:
            raise CheckSyntaxError("timeout goes at the top of the check block only",
                                   data.line_of("timeout"))
        raise CheckSyntaxError(
            f"one check per mapping (found {', '.join(map(str, keys)) or 'none'}); "
            "combine checks with all: [...] or any: [...]", data.line)
    kind = keys[0]
    kline = data.line_of(kind)
    value = data[kind]
    if kind not in KINDS:
        raise CheckSyntaxError(f"unknown check {kind!r} (known: {', '.join(KINDS)})", kline)
    if kind in ("all", "any", "same"):
        if not isinstance(value, LList) or not value:
            raise CheckSyntaxError(f"{kind} takes a non-empty list", kline)
        if kind == "same":
            reads = []
            for i, item in enumerate(value):
                chk = _parse_node_in_same(item, value.line_of(i))
                if not isinstance(chk, Read) or chk.kind not in ("info", "reply", "key",
                                                                 "dbsize"):
                    raise CheckSyntaxError("same: compares info, reply, key or dbsize reads",
                                           value.line_of(i))
                reads.append(chk)
            if len(reads) < 2:
                raise CheckSyntaxError("same: needs at least two reads", kline)
            return Same(reads, kline)
        return Group(kind, [_parse_node(item, value.line_of(i)) for i, item in enumerate(value)],
                     kline)
    if kind == "not":
        return Group("not", [_parse_node(value, kline)], kline)
    if not isinstance(value, LMap):
        raise CheckSyntaxError(f"{kind} takes a mapping, e.g. {kind}: {{node: master, ...}}",
                               kline)
    if kind == "log":
        return _parse_log(value, kline)
    return _parse_read(kind, value, kline, in_same=False)


def _kind_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{value!r}"


_FIELDS = {
    "info": {"node", "section", "field"},
    "reply": {"node", "command", "error"},
    "role": {"node", "is"},
    "key": {"node", "name", "exists"},
    "dbsize": {"node"},
    "ping": {"node", "up"},
}


def _parse_read(kind: str, m: LMap, line: int, in_same: bool) -> Read:
    allowed = _FIELDS[kind] | (set(COMPARATORS) if kind in ("info", "reply", "key", "dbsize")
                               else set())
    for key in m:
        if key not in allowed:
            raise CheckSyntaxError(f"{kind}: unknown field {key!r} (allowed: "
                                   f"{', '.join(sorted(allowed))})", m.line_of(key))
    node = m.get("node")
    if not isinstance(node, str) or not node:
        raise CheckSyntaxError(f"{kind}: needs node: <name>", m.line_of("node"))
    params: dict[str, Any] = {}
    if kind == "info":
        fld = m.get("field")
        if not isinstance(fld, str) or not fld:
            raise CheckSyntaxError("info: needs field: <name> (e.g. master_link_status)",
                                   m.line_of("field"))
        section = m.get("section", "replication")
        if not isinstance(section, str):
            raise CheckSyntaxError("info: section must be a word", m.line_of("section"))
        params.update(field=fld, section=section)
    elif kind == "reply":
        cmd = m.get("command")
        if isinstance(cmd, str):
            try:
                cmd = split_args(cmd)
            except SplitError as exc:
                raise CheckSyntaxError(f"reply: command: {exc}", m.line_of("command")) from None
        elif isinstance(cmd, list):
            cmd = [str(_scalar(a)) for a in cmd]
        if not cmd:
            raise CheckSyntaxError("reply: needs command: [WORD, ...]", m.line_of("command"))
        if cmd[0].lower() in BLOCKING:
            raise CheckSyntaxError(f"reply: {cmd[0]} cannot be used in a check (it blocks "
                                   "or changes the connection)", m.line_of("command"))
        params["command"] = cmd
        if "error" in m:
            if not isinstance(m["error"], str):
                raise CheckSyntaxError("reply: error must be a regex", m.line_of("error"))
            params["error"] = m["error"]
    elif kind == "role":
        role = m.get("is")
        if role not in ROLES:
            raise CheckSyntaxError(f"role: is must be one of {', '.join(ROLES)}",
                                   m.line_of("is"))
        params["is"] = role
    elif kind == "key":
        name = m.get("name")
        if name is None or isinstance(name, (LMap, LList)):
            raise CheckSyntaxError("key: needs name: <key>", m.line_of("name"))
        params["name"] = str(name)
        if "exists" in m:
            if not isinstance(m["exists"], bool):
                raise CheckSyntaxError("key: exists must be true or false", m.line_of("exists"))
            params["exists"] = m["exists"]
    elif kind == "ping":
        if not isinstance(m.get("up"), bool):
            raise CheckSyntaxError("ping: needs up: true or up: false", m.line_of("up"))
        params["up"] = m["up"]
    comps = [k for k in m if k in COMPARATORS]
    if len(comps) > 1:
        raise CheckSyntaxError(f"{kind}: one comparison only (found {', '.join(comps)})",
                               m.line_of(comps[1]))
    comparison = None
    if comps:
        op = comps[0]
        exp = m[op]
        if op == "matches":
            if not isinstance(exp, str):
                raise CheckSyntaxError("matches: takes a regex", m.line_of(op))
            try:
                re.compile(exp)
            except re.error as exc:
                raise CheckSyntaxError(f"matches: bad regex: {exc}", m.line_of(op)) from None
        elif op == "in" and not isinstance(exp, list):
            raise CheckSyntaxError("in: takes a list of values", m.line_of(op))
        elif op in ("gt", "gte", "lt", "lte") and (
                isinstance(exp, bool) or not isinstance(exp, (int, float))):
            raise CheckSyntaxError(f"{op}: takes a number", m.line_of(op))
        elif isinstance(exp, LMap):
            raise CheckSyntaxError(f"{op}: takes a value, not a mapping", m.line_of(op))
        comparison = Comparison(op, exp)
    if "error" in m and comparison is not None:
        raise CheckSyntaxError("reply: give error: or a comparison, not both", m.line_of("error"))
    has_test = comparison is not None or kind in ("role", "ping") or \
        "error" in params or "exists" in params
    if in_same and has_test:
        raise CheckSyntaxError("inside same:, reads take no comparison", m.line)
    if not in_same and not has_test:
        what = {"key": "exists: or a comparison", "reply": "error: or a comparison"}.get(
            kind, "a comparison")
        raise CheckSyntaxError(f"{kind}: needs {what} ({', '.join(COMPARATORS)})", line)
    return Read(kind, node, params, comparison, line)


def _parse_log(m: LMap, line: int) -> Log:
    allowed = {"node", "contains", "matches", "count", "since"}
    for key in m:
        if key not in allowed:
            raise CheckSyntaxError(f"log: unknown field {key!r} (allowed: "
                                   f"{', '.join(sorted(allowed))})", m.line_of(key))
    node = m.get("node")
    if not isinstance(node, str) or not node:
        raise CheckSyntaxError("log: needs node: <name>", m.line_of("node"))
    contains, matches = m.get("contains"), m.get("matches")
    if (contains is None) == (matches is None):
        raise CheckSyntaxError("log: needs exactly one of contains: or matches:", line)
    if contains is not None and not isinstance(contains, str):
        raise CheckSyntaxError("log: contains takes text", m.line_of("contains"))
    if matches is not None:
        if not isinstance(matches, str):
            raise CheckSyntaxError("log: matches takes a regex", m.line_of("matches"))
        try:
            re.compile(matches)
        except re.error as exc:
            raise CheckSyntaxError(f"log: bad regex: {exc}", m.line_of("matches")) from None
    count = m.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise CheckSyntaxError("log: count must be a whole number >= 1", m.line_of("count"))
    since = m.get("since", "step")
    if since not in ("step", "lesson"):
        raise CheckSyntaxError("log: since must be step or lesson", m.line_of("since"))
    return Log(node, contains, matches, count, since, line)


def _parse_node_in_same(data: Any, line: int) -> Check:
    if isinstance(data, LMap) and len(data) == 1:
        kind = next(iter(data))
        if kind in ("info", "reply", "key", "dbsize") and isinstance(data[kind], LMap):
            return _parse_read(kind, data[kind], data.line_of(kind), in_same=True)
    return _parse_node(data, line)


# ---------------------------------------------------------------------------- evaluation


def evaluate(spec: CheckSpec, ctx: Context, *, timeout_scale: float = 1.0,
             sleep: Callable[[float], None] = time.sleep,
             cancelled: Callable[[], bool] | None = None) -> Outcome:
    """Poll ``spec`` until it passes or its timeout (times ``timeout_scale``) runs out."""
    start = time.monotonic()
    deadline = start + spec.timeout * timeout_scale
    attempts = 0
    while True:
        attempts += 1
        result = _evaluate(spec.check, ctx)
        now = time.monotonic()
        if result.ok or now >= deadline or (cancelled is not None and cancelled()):
            return Outcome(result.ok, result, now - start, attempts)
        sleep(min(POLL_INTERVAL, max(0.0, deadline - now)))


def nodes_in(specs: Sequence[CheckSpec]) -> set[str]:
    return set().union(*(s.nodes() for s in specs)) if specs else set()
