"""Small text tools shared by the loader, the checks and the runner.

* :func:`split_args` splits a command line the way ``redis-cli`` does (double quotes with
  ``\\n`` / ``\\xHH`` escapes, single quotes, blanks between words).
* :func:`placeholders` / :func:`substitute` handle ``{node.host}``, ``{node.port}``,
  ``{node.addr}`` and ``{node.id}``.
* :func:`yaml_load` parses YAML keeping the line of every mapping key and list item, so
  problems in front matter and check blocks can be reported with their line number.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

PLACEHOLDER_RE = re.compile(r"\{([a-z0-9][a-z0-9_-]*)\.(host|port|addr|id)\}")
"""``{master.host}``, ``{master.port}``, ``{master.addr}`` (host:port): the address of a node
as the other nodes of the lab see it. ``{node1.id}``: the cluster node id of a node (what
``CLUSTER MYID`` answers there), known only at run time."""

ADDRESS_FIELDS = ("host", "port", "addr")


class PlaceholderError(RuntimeError):
    """A placeholder that names a known node but cannot be filled in now (``{node1.id}`` of
    a node that is down, or not in cluster mode). The message names the placeholder."""


class SplitError(ValueError):
    """Unbalanced quotes in a command line."""


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}


def split_args(line: str) -> list[str]:
    """Split a command line like redis-cli (``sdssplitargs``); raise SplitError on bad quotes."""
    out: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return out
        word: list[str] = []
        in_dq = in_sq = False
        while True:
            if in_dq:
                if i >= n:
                    raise SplitError("unbalanced double quotes")
                ch = line[i]
                if ch == "\\" and i + 3 < n and line[i + 1] == "x" and \
                        _is_hex(line[i + 2]) and _is_hex(line[i + 3]):
                    word.append(chr(int(line[i + 2:i + 4], 16)))
                    i += 3
                elif ch == "\\" and i + 1 < n:
                    i += 1
                    word.append(_ESCAPES.get(line[i], line[i]))
                elif ch == '"':
                    if i + 1 < n and not line[i + 1].isspace():
                        raise SplitError("closing quote must be followed by a space")
                    in_dq = False
                    i += 1
                    break
                else:
                    word.append(ch)
            elif in_sq:
                if i >= n:
                    raise SplitError("unbalanced single quotes")
                ch = line[i]
                if ch == "\\" and i + 1 < n and line[i + 1] == "'":
                    i += 1
                    word.append("'")
                elif ch == "'":
                    if i + 1 < n and not line[i + 1].isspace():
                        raise SplitError("closing quote must be followed by a space")
                    in_sq = False
                    i += 1
                    break
                else:
                    word.append(ch)
            else:
                if i >= n or line[i].isspace():
                    break
                ch = line[i]
                if ch == '"':
                    in_dq = True
                elif ch == "'":
                    in_sq = True
                else:
                    word.append(ch)
            i += 1
        out.append("".join(word))


def _is_hex(ch: str) -> bool:
    return ch in "0123456789abcdefABCDEF"


def quote_arg(arg: str) -> str:
    """One argument as a person would type it in redis-cli."""
    if arg and not any(ch.isspace() or ch in "\"'\\" for ch in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def placeholders(text: str) -> Iterator[tuple[str, str]]:
    """``(node, field)`` of every placeholder in ``text``."""
    for m in PLACEHOLDER_RE.finditer(text):
        yield m.group(1), m.group(2)


Resolve = Callable[[str], tuple[str, int]]
NodeId = Callable[[str], str]


def substitute(text: str, resolve: Resolve | None, escape: Callable[[str], str] | None = None,
               *, ids: NodeId | None = None) -> str:
    """Replace placeholders with the addresses ``resolve(node)`` gives and the node ids
    ``ids(node)`` gives. A placeholder is left as it is when its function is None or raises
    KeyError (a node it does not know); a :class:`PlaceholderError` from ``ids`` goes up."""
    if (resolve is None and ids is None) or "{" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        node, what = m.group(1), m.group(2)
        if what == "id":
            if ids is None:
                return m.group(0)
            try:
                value = ids(node)
            except KeyError:
                return m.group(0)
            return escape(value) if escape else value
        if resolve is None:
            return m.group(0)
        try:
            host, port = resolve(node)
        except KeyError:
            return m.group(0)
        value = {"host": host, "port": str(port), "addr": f"{host}:{port}"}[what]
        return escape(value) if escape else value

    return PLACEHOLDER_RE.sub(repl, text)


# ---------------------------------------------------------------------------- YAML


class YamlError(ValueError):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


class LMap(dict):
    """A YAML mapping that remembers its line and the line of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LList(list):
    """A YAML sequence that remembers its line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        try:
            return self.item_lines[index]
        except IndexError:
            return self.line


def line_of(value: Any, default: int) -> int:
    return getattr(value, "line", default) or default


def yaml_load(text: str, first_line: int = 1) -> Any:
    """YAML -> Python with :class:`LMap` / :class:`LList` carrying line numbers.

    ``first_line`` is the line of ``text``'s first line in its file. Raises
    :class:`YamlError` (with the file line) on syntax errors and duplicate keys.
    """
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        where = ""
        if exc.context_mark is not None and exc.context_mark.line != (mark.line if mark else -1):
            where = f" ({exc.context} on line {first_line + exc.context_mark.line})"
        raise YamlError(f"not valid YAML: {exc.problem or exc}{where}", line) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}", first_line) from None
    if node is None:
        return None
    constructor = yaml.SafeLoader("")

    def build(n: Any) -> Any:
        line = first_line + n.start_mark.line
        if isinstance(n, yaml.MappingNode):
            out = LMap()
            out.line = line
            out.key_lines = {}
            for knode, vnode in n.value:
                key = build(knode)
                if isinstance(key, (LMap, LList)):
                    raise YamlError("a mapping key must be a plain value", line)
                if key in out:
                    raise YamlError(f"duplicate key {key!r}", first_line + knode.start_mark.line)
                out[key] = build(vnode)
                out.key_lines[key] = first_line + knode.start_mark.line
            return out
        if isinstance(n, yaml.SequenceNode):
            seq = LList(build(item) for item in n.value)
            seq.line = line
            seq.item_lines = [first_line + item.start_mark.line for item in n.value]
            return seq
        try:
            return constructor.construct_object(n, deep=True)
        except yaml.YAMLError as exc:
            raise YamlError(f"bad value: {exc}", line) from None

    return build(node)
