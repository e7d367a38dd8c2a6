"""``redislab cli``: a redis-cli-like REPL on the nodes of a lab, or on any host:port.

Command names and node names complete with Tab, the syntax of the command being typed is
shown below the prompt (from ``COMMAND DOCS``, read from the node once, over RESP), the
history is kept between sessions, and replies are printed as redis-cli prints them::

    master 127.0.0.1:6379> SET k v
    OK
    master 127.0.0.1:6379> @replica1          (or  :node replica1)
    replica1 127.0.0.1:6380> GET k
    "v"

The first half of this module has no terminal code: :class:`CommandTable` (command docs,
syntax hints, completion) and :func:`format_reply` are shared with the TUI's consoles.
prompt-toolkit is imported only by :func:`run_repl`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

# ---------------------------------------------------------------------------- replies

#: Commands whose reply redis-cli prints raw even on a terminal (INFO, CLUSTER NODES ...).
RAW_COMMANDS = {"info", "lolwut", "client list", "cluster info", "cluster nodes",
                "memory doctor", "latency doctor", "cluster slots"}
#: Commands that take the connection over; a console cannot run them.
TAKEOVER = {"monitor", "subscribe", "psubscribe", "ssubscribe", "sync", "psync"}


def is_raw(args: Sequence[str]) -> bool:
    """Does redis-cli print the reply of ``args`` raw?"""
    if not args:
        return False
    words = " ".join(args[:2]).lower()
    return args[0].lower() in RAW_COMMANDS or words in RAW_COMMANDS


def format_reply(args: Sequence[str], reply: Any) -> str:
    """``reply`` to ``args`` as redis-cli prints it on a terminal (no trailing newline)."""
    from .cli_lab import format_raw, format_tty

    text = format_raw(reply) if is_raw(args) else format_tty(reply)
    return text.rstrip("\n")


# ---------------------------------------------------------------------------- command docs


def _pairs(value: Any) -> dict[str, Any]:
    """A RESP2 flat map (``[k1, v1, k2, v2]``) or a RESP3 map as a dict with str keys."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = list(zip(value[::2], value[1::2]))
    else:
        return {}
    return {_s(k): v for k, v in items}


def _s(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode(errors="replace")
    return str(value)


def arg_syntax(arg: dict[str, Any]) -> str:
    """One argument of a COMMAND DOCS ``arguments`` list as the Redis docs write it."""
    kind = _s(arg.get("type", "string"))
    token = _s(arg["token"]) if arg.get("token") is not None else None
    flags = {_s(f) for f in arg.get("flags", []) or []}
    subs = [_pairs(a) for a in arg.get("arguments", []) or []]
    if kind == "pure-token":
        text = token or _s(arg.get("name", ""))
    elif kind == "oneof":
        text = "|".join(arg_syntax(a) for a in subs)
        if "optional" not in flags and len(subs) > 1:
            text = f"<{text}>"
    elif kind == "block":
        text = " ".join(arg_syntax(a) for a in subs)
    else:
        text = _s(arg.get("display_text") or arg.get("name", "arg"))
    if kind != "pure-token" and token:
        if "multiple" in flags and "multiple_token" in flags:
            text = f"{token} {text} [{token} {text} ...]"
        elif "multiple" in flags:
            text = f"{token} {text} [{text} ...]"
        else:
            text = f"{token} {text}"
    elif "multiple" in flags:
        text = f"{text} [{text} ...]"
    if "optional" in flags:
        text = f"[{text}]"
    return text


@dataclass
class CommandDoc:
    """What COMMAND DOCS says about one command (or one subcommand: ``CONFIG GET``)."""

    name: str  # as typed, upper case: "SET", "CONFIG GET"
    summary: str = ""
    group: str = ""
    since: str = ""
    complexity: str = ""
    arguments: str = ""  # the syntax after the name
    subcommands: dict[str, "CommandDoc"] = field(default_factory=dict)

    @property
    def syntax(self) -> str:
        return f"{self.name} {self.arguments}".strip()

    @classmethod
    def from_docs(cls, name: str, docs: Any) -> "CommandDoc":
        d = _pairs(docs)
        args = [_pairs(a) for a in d.get("arguments", []) or []]
        doc = cls(name=name.replace("|", " ").upper(), summary=_s(d.get("summary", "")),
                  group=_s(d.get("group", "")), since=_s(d.get("since", "")),
                  complexity=_s(d.get("complexity", "")),
                  arguments=" ".join(arg_syntax(a) for a in args))
        for sub_name, sub_docs in _pairs(d.get("subcommands", [])).items():
            sub = cls.from_docs(sub_name, sub_docs)
            doc.subcommands[sub_name.split("|", 1)[-1].upper()] = sub
        return doc


class CommandTable:
    """The commands a node knows, from its ``COMMAND DOCS`` reply: syntax hints and
    completion of command and subcommand names."""

    def __init__(self, docs: dict[str, CommandDoc] | None = None):
        self.docs: dict[str, CommandDoc] = docs or {}

    def __len__(self) -> int:
        return len(self.docs)

    @classmethod
    def from_reply(cls, reply: Any) -> "CommandTable":
        table = {}
        for name, docs in _pairs(reply).items():
            doc = CommandDoc.from_docs(name, docs)
            table[doc.name] = doc
        return cls(table)

    @classmethod
    def fetch(cls, client: Any) -> "CommandTable":
        """Read COMMAND DOCS through a redis-py client (replies left raw)."""
        return cls.from_reply(client.execute_command("COMMAND", "DOCS"))

    @property
    def names(self) -> list[str]:
        return sorted(self.docs)

    def lookup(self, words: Sequence[str]) -> CommandDoc | None:
        """The doc of the command ``words`` starts with (a subcommand when it is one)."""
        if not words:
            return None
        doc = self.docs.get(words[0].upper())
        if doc is None:
            return None
        if len(words) > 1 and doc.subcommands:
            return doc.subcommands.get(words[1].upper(), doc)
        return doc

    def complete(self, line: str) -> list[str]:
        """Completions of the last word of ``line``: command names for the first word,
        subcommand names for the second word of a container command (``CONFIG G``)."""
        words = line.split()
        if line.endswith(" ") or not words:
            words.append("")
        word = words[-1].upper()
        if len(words) == 1:
            return [n for n in self.names if n.startswith(word)]
        if len(words) == 2:
            doc = self.docs.get(words[0].upper())
            if doc is not None and doc.subcommands:
                return [n for n in sorted(doc.subcommands) if n.startswith(word)]
        return []

    def hint(self, line: str) -> str:
        """The syntax of the command being typed, with its summary (empty if unknown)."""
        words = line.split()
        if not words:
            return ""
        doc = self.lookup(words)
        if doc is None:
            matches = self.complete(words[0]) if len(words) == 1 and not line.endswith(" ") \
                else []
            if matches:
                shown = " ".join(matches[:12]) + (" ..." if len(matches) > 12 else "")
                return shown
            return ""
        text = doc.syntax
        if doc.subcommands and doc.name.count(" ") == 0:
            text = f"{doc.name} <{'|'.join(sorted(doc.subcommands))}>"
        return f"{text}  — {doc.summary}" if doc.summary else text


def common_prefix(words: Iterable[str]) -> str:
    words = list(words)
    if not words:
        return ""
    first, last = min(words), max(words)
    i = 0
    while i < len(first) and i < len(last) and first[i] == last[i]:
        i += 1
    return first[:i]


# ---------------------------------------------------------------------------- targets


def _no_retry() -> Any:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


def plain_client(host: str, port: int, password: str | None = None, timeout: float = 10.0,
                 user: str | None = None) -> Any:
    """A redis-py client for any host:port whose replies are left raw, simple strings kept
    apart from bulk strings (so they print as redis-cli prints them)."""
    import redis

    from .backends import base

    opts: dict[str, Any] = dict(host=host, port=port, password=password, username=user,
                                protocol=2, socket_timeout=timeout,
                                socket_connect_timeout=timeout, retry=_no_retry())
    parser = getattr(base, "_STATUS_PARSER", None)
    if parser is not None:
        opts["parser_class"] = parser
    r = redis.Redis(connection_pool=redis.ConnectionPool(**opts))
    r.response_callbacks.clear()
    return r


@dataclass
class Target:
    """One endpoint the REPL talks to: a lab node, or a plain host:port."""

    name: str
    host: str
    port: int
    kind: str = "server"
    connect: Callable[[], Any] | None = None
    client: Any = None
    db: int = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def get_client(self) -> Any:
        if self.client is None:
            self.client = self.connect() if self.connect else plain_client(self.host, self.port)
        return self.client

    def drop(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            except Exception:
                pass
        self.client = None


def lab_targets(lab: Any) -> list[Target]:
    """Every node of a running lab as a :class:`Target` (clients made on first use)."""
    out = []
    for node in lab.topology.nodes:
        host, port = lab.address(node.name)
        out.append(Target(node.name, host, port, node.kind,
                          connect=(lambda n=node.name: lab.client(n, timeout=10.0))))
    return out


# ---------------------------------------------------------------------------- the REPL


HELP_TEXT = """\
Type Redis commands as in redis-cli; Tab completes command and node names.
  @<node>  or  :node <node>   talk to another node of the lab
  :nodes                      the nodes you can switch to
  help <command>              the syntax of a command (from COMMAND DOCS)
  clear                       clear the screen
  quit  /  exit  /  Ctrl-D    leave"""


class Repl:
    """The REPL's logic, without the terminal: one line in, text out (via ``write``)."""

    def __init__(self, targets: list[Target], current: str | None = None, *,
                 write: Callable[[str], None] | None = None):
        if not targets:
            raise ValueError("nothing to connect to")
        self.targets = {t.name: t for t in targets}
        self.current = self.targets[current] if current else targets[0]
        self.write = write or (lambda s: sys.stdout.write(s + "\n"))
        self.tables: dict[str, CommandTable] = {}  # by node kind
        self.connected = True

    # -- prompt & hints

    def prompt(self) -> str:
        t = self.current
        if not self.connected:
            return "not connected> "
        db = f"[{t.db}]" if t.db else ""
        prefix = f"{t.name} " if t.name != t.address else ""
        return f"{prefix}{t.address}{db}> "

    def table(self) -> CommandTable:
        """COMMAND DOCS of the current node's kind (read once; empty if it cannot answer)."""
        kind = self.current.kind
        if kind not in self.tables:
            try:
                self.tables[kind] = CommandTable.fetch(self.current.get_client())
            except Exception:
                return CommandTable()
        return self.tables[kind]

    def completions(self, line: str) -> list[str]:
        stripped = line.lstrip()
        if stripped.startswith("@"):
            return [f"@{n}" for n in self.targets if f"@{n}".startswith(stripped)]
        if stripped.startswith(":"):
            words = stripped.split()
            if len(words) >= 2 or stripped.endswith(" "):
                part = "" if stripped.endswith(" ") else words[-1]
                if words[0] == ":node":
                    return [n for n in self.targets if n.startswith(part)]
                return []
            return [c for c in (":node", ":nodes", ":help") if c.startswith(stripped)]
        return self.table().complete(line)

    def hint(self, line: str) -> str:
        stripped = line.strip()
        if stripped.startswith(("@", ":")):
            return "nodes: " + " ".join(self.targets)
        if stripped.lower().startswith("help "):
            return ""
        return self.table().hint(line)

    # -- one line

    def handle(self, line: str) -> bool:
        """Run one line; False when the REPL should end."""
        from .lab.text import SplitError, split_args

        text = line.strip()
        if not text:
            return True
        if text.startswith("@"):
            self.switch(text[1:].strip())
            return True
        if text.startswith(":"):
            words = text[1:].split()
            if not words or words[0] in ("help", "h"):
                self.write(HELP_TEXT)
            elif words[0] == "nodes":
                for t in self.targets.values():
                    mark = "*" if t is self.current else " "
                    self.write(f"{mark} {t.name:<12} {t.address:<22} {t.kind}")
            elif words[0] == "node" and len(words) == 2:
                self.switch(words[1])
            else:
                self.write(f"unknown: {text} (try :help)")
            return True
        try:
            args = split_args(text)
        except SplitError:
            self.write("Invalid argument(s)")
            return True
        if not args:
            return True
        cmd = args[0].lower()
        if cmd in ("quit", "exit"):
            return False
        if cmd == "clear":
            self.write("\x1b[H\x1b[2J")
            return True
        if cmd == "help":
            self.help(args[1:])
            return True
        if cmd in TAKEOVER:
            self.write(f"(error) {args[0]} takes the connection over; use redis-cli "
                       f"{'-p ' + str(self.current.port)} for it")
            return True
        self.send(args)
        return True

    def switch(self, name: str) -> None:
        if name not in self.targets:
            self.write(f"no node {name!r} (nodes: {', '.join(self.targets)})")
            return
        self.current = self.targets[name]
        self.connected = True

    def help(self, words: list[str]) -> None:
        if not words:
            self.write(HELP_TEXT)
            return
        doc = self.table().lookup(words)
        if doc is None:
            self.write(f"no documentation for {' '.join(words)}")
            return
        self.write(f"\n  {doc.syntax}\n  summary: {doc.summary}\n  since: {doc.since}\n"
                   f"  group: {doc.group}\n")

    def send(self, args: list[str]) -> None:
        import redis

        t = self.current
        try:
            reply = t.get_client().execute_command(*args)
        except redis.ResponseError as exc:
            reply = exc
        except redis.AuthenticationError as exc:
            reply = redis.ResponseError(*exc.args)
            t.drop()
        except redis.TimeoutError:
            self.write(f"Error: no reply from {t.address} (paused? partitioned?)")
            t.drop()
            return
        except (redis.ConnectionError, OSError) as exc:
            t.drop()
            if args[0].lower() == "shutdown":
                self.connected = False
                return
            reason = "Connection refused" if "refused" in str(exc).lower() else str(exc)
            self.write(f"Could not connect to Redis at {t.address}: {reason}")
            self.connected = False
            return
        self.connected = True
        if args[0].lower() == "select" and len(args) == 2 and not isinstance(reply, Exception):
            try:
                t.db = int(args[1])
            except ValueError:
                pass
        self.write(format_reply(args, reply))

    def close(self) -> None:
        for t in self.targets.values():
            t.drop()


def history_path() -> Path:
    from .backends.state import home

    return home() / "cli_history"


def run_repl(repl: Repl, *, input: Any = None, output: Any = None,
             history: Any = None) -> int:
    """Run ``repl`` in a prompt-toolkit session until quit / Ctrl-D."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer, Completion
    from prompt_toolkit.history import FileHistory

    class ReplCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any):
            line = document.text_before_cursor
            word = line.split()[-1] if line.split() and not line.endswith(" ") else ""
            for cand in repl.completions(line):
                yield Completion(cand + ("" if cand.startswith((":", "@")) else " "),
                                 start_position=-len(word), display=cand)

    if history is None:
        try:
            path = history_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            history = FileHistory(str(path))
        except OSError:
            history = None
    session: Any = PromptSession(history=history, completer=ReplCompleter(),
                                 complete_while_typing=False, input=input, output=output,
                                 bottom_toolbar=lambda: repl.hint(session.default_buffer.text)
                                 or " ")
    try:
        while True:
            try:
                line = session.prompt(repl.prompt())
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if not repl.handle(line):
                break
    finally:
        repl.close()
    return 0


def repl_for(node: str | None = None, *, lab_id: str | None = None, host: str | None = None,
             port: int | None = None, password: str | None = None,
             write: Callable[[str], None] | None = None) -> Repl:
    """A :class:`Repl` on a running lab (its nodes) or on a plain host:port."""
    if host is not None or port is not None:
        h, p = host or "127.0.0.1", port or 6379
        name = f"{h}:{p}"
        target = Target(name, h, p, connect=lambda: plain_client(h, p, password))
        return Repl([target], write=write)
    from .backends import find_lab

    lab = find_lab(lab_id)
    targets = lab_targets(lab)
    if node is not None and node not in {t.name for t in targets}:
        raise KeyError(f"no node {node!r} in lab {lab.lab_id} "
                       f"(nodes: {', '.join(t.name for t in targets)})")
    return Repl(targets, node, write=write)


__all__ = ["CommandDoc", "CommandTable", "Repl", "Target", "arg_syntax", "format_reply",
           "is_raw", "lab_targets", "plain_client", "repl_for", "run_repl"]
