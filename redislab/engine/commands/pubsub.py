"""Pub/sub: SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB."""

from __future__ import annotations

from typing import Any

from ..glob import match
from ..resp import Push
from ..server import NO_REPLY, Client
from . import command, subcommand


def _count(c: Client) -> int:
    return len(c.channels) + len(c.patterns)


def _sub(c: Client, names: list[bytes], mine: set[bytes], table: dict, kind: bytes) -> Any:
    for name in names:
        if name not in mine:
            mine.add(name)
            table.setdefault(name, set()).add(c)
        c.send(Push([kind, name, _count(c)]))
    return NO_REPLY


@command("subscribe", -2, "pubsub noscript loading stale", group="pubsub")
def subscribe(c: Client, args: list[bytes]) -> Any:
    return _sub(c, args[1:], c.channels, c.server.channels, b"subscribe")


@command("psubscribe", -2, "pubsub noscript loading stale", group="pubsub")
def psubscribe(c: Client, args: list[bytes]) -> Any:
    return _sub(c, args[1:], c.patterns, c.server.patterns, b"psubscribe")


def _unsub(c: Client, names: list[bytes], mine: set[bytes], table: dict, kind: bytes) -> Any:
    targets = names or sorted(mine)
    if not targets:
        c.send(Push([kind, None, _count(c)]))
        return NO_REPLY
    for name in targets:
        if name in mine:
            mine.discard(name)
            subs = table.get(name)
            if subs is not None:
                subs.discard(c)
                if not subs:
                    del table[name]
        c.send(Push([kind, name, _count(c)]))
    return NO_REPLY


@command("unsubscribe", -1, "pubsub noscript loading stale", group="pubsub")
def unsubscribe(c: Client, args: list[bytes]) -> Any:
    return _unsub(c, args[1:], c.channels, c.server.channels, b"unsubscribe")


@command("punsubscribe", -1, "pubsub noscript loading stale", group="pubsub")
def punsubscribe(c: Client, args: list[bytes]) -> Any:
    return _unsub(c, args[1:], c.patterns, c.server.patterns, b"punsubscribe")


@command("publish", 3, "pubsub loading stale fast may_replicate", group="pubsub")
def publish(c: Client, args: list[bytes]) -> Any:
    n = c.server.publish(args[1], args[2])
    # PUBLISH is propagated to replicas (and cluster nodes) as Redis does
    c.server.propagate(c.db.index, args)
    return n


@subcommand("pubsub", "channels", -2, "pubsub loading stale", group="pubsub")
def pubsub_channels(c: Client, args: list[bytes]) -> Any:
    pattern = args[2] if len(args) > 2 else None
    return [ch for ch in c.server.channels if pattern is None or match(pattern, ch)]


@subcommand("pubsub", "numsub", -2, "pubsub loading stale", group="pubsub")
def pubsub_numsub(c: Client, args: list[bytes]) -> Any:
    out: list[Any] = []
    for ch in args[2:]:
        out += [ch, len(c.server.channels.get(ch, ()))]
    return out


@subcommand("pubsub", "numpat", 2, "pubsub loading stale", group="pubsub")
def pubsub_numpat(c: Client, args: list[bytes]) -> Any:
    return len(c.server.patterns)
