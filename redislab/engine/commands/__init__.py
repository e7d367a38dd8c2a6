"""The command table: every command family registers here with its arity and flags.

A handler is ``handler(c, args) -> reply`` where ``c`` is the calling
:class:`~redislab.engine.server.Client` and ``args`` the full argv (``args[0]`` is the
command name as typed). Replies are plain values encoded by :mod:`redislab.engine.resp`
(bytes, int, None, list, :class:`~redislab.engine.resp.Simple`, ...); errors are raised as
:class:`~redislab.engine.errors.CommandError`.

Arity follows Redis: a positive number is exact, a negative one is a minimum, both counting
the command name. Flags use Redis' names (``write``, ``readonly``, ``denyoom``, ``admin``,
``pubsub``, ``noscript``, ``loading``, ``stale``, ``fast``, ``no_auth``, ``no_multi``,
``skip_monitor``, ``may_replicate``); they drive the same decisions as in Redis.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

Handler = Callable[[Any, list], Any]


@dataclass(eq=False)
class Command:
    name: str
    handler: Handler | None
    arity: int
    flags: frozenset[str]
    first_key: int = 0
    last_key: int = 0
    key_step: int = 0
    group: str = "generic"
    subcommands: dict[bytes, "Command"] | None = None
    parent: "Command | None" = None
    # statistics (INFO commandstats)
    calls: int = 0
    usec: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    # set once from the flags, read on the hot path
    is_write: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.is_write = "write" in self.flags

    @property
    def fullname(self) -> str:
        """``config|get`` for a subcommand, ``get`` for a command."""
        return f"{self.parent.name}|{self.name}" if self.parent else self.name

    def key_positions(self, args: list[bytes]) -> list[int]:
        """Indexes of the key arguments in ``args`` (COMMAND GETKEYS, cluster routing)."""
        if self.first_key <= 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(args) + self.last_key
        return list(range(self.first_key, min(last, len(args) - 1) + 1, self.key_step or 1))


COMMANDS: dict[bytes, Command] = {}


def _flags(flags: str) -> frozenset[str]:
    return frozenset(f for f in flags.replace(",", " ").split() if f)


def command(
    name: str,
    arity: int,
    flags: str = "",
    keys: tuple[int, int, int] = (0, 0, 0),
    group: str = "generic",
) -> Callable[[Handler], Handler]:
    """Register a top-level command."""

    def deco(fn: Handler) -> Handler:
        COMMANDS[name.lower().encode()] = Command(
            name.lower(), fn, arity, _flags(flags), *keys, group=group
        )
        return fn

    return deco


def container(name: str, arity: int = -2, flags: str = "", group: str = "server") -> Command:
    """Register (or fetch) a command made of subcommands, like CONFIG or CLIENT."""
    key = name.lower().encode()
    cmd = COMMANDS.get(key)
    if cmd is None:
        cmd = Command(name.lower(), None, arity, _flags(flags), group=group, subcommands={})
        COMMANDS[key] = cmd
    return cmd


def subcommand(
    parent: str,
    name: str,
    arity: int,
    flags: str = "",
    keys: tuple[int, int, int] = (0, 0, 0),
    group: str | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``PARENT NAME`` (arity counts the parent name too, as in Redis)."""

    def deco(fn: Handler) -> Handler:
        top = container(parent)
        sub = Command(
            name.lower(), fn, arity, _flags(flags), *keys, group=group or top.group, parent=top
        )
        assert top.subcommands is not None
        top.subcommands[name.lower().encode()] = sub
        return fn

    return deco


FAMILIES = (
    "connection",
    "server_cmds",
    "keys",
    "strings",
    "lists",
    "hashes",
    "sets",
    "zsets",
    "pubsub",
    "transactions",
    "persistence",
    "replication_cmds",
    "cluster_cmds",
    "sentinel_cmds",
)


def load_all() -> dict[bytes, Command]:
    """Import every command family module present (each registers itself)."""
    for fam in FAMILIES:
        try:
            importlib.import_module(f"{__name__}.{fam}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{fam}":
                raise
    return COMMANDS
