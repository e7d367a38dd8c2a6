"""Pub/sub: SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB, and the
sharded SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH of Redis 7.0."""

from __future__ import annotations

from typing import Any

from ..errors import CommandError
from ..glob import match
from ..resp import Push
from ..server import NO_REPLY, Client
from . import command, subcommand


_SYNTAX = b"ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."


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
    # to replicas only (never the AOF), and only when there are some (cluster mode
    # replaces this handler: the bus carries it)
    if c.server.repl_feeding:
        c.server.propagate(c.db.index, args)
    return n


@subcommand("pubsub", "channels", -2, "pubsub loading stale", group="pubsub")
def pubsub_channels(c: Client, args: list[bytes]) -> Any:
    if len(args) > 3:
        raise CommandError(_SYNTAX % (args[1][:128], args[0].upper()))
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


# ---------------------------------------------------------------- sharded pub/sub (7.0)
# Shard channels are routed like keys in cluster mode (the key range 1..-1 of SSUBSCRIBE,
# SUNSUBSCRIBE, SPUBLISH: cluster.py's guard gives MOVED / CROSSSLOT, and serves them on a
# replica of the slot's owner without READONLY). Their subscription count is separate from
# the channels + patterns count, as Redis' clientShardSubscriptionsCount.


def _shard_count(c: Client) -> int:
    return len(c.shard_channels)


@command("ssubscribe", -2, "pubsub noscript loading stale", keys=(1, -1, 1), group="pubsub")
def ssubscribe(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    if srv.in_exec:  # CLIENT_DENY_BLOCKING (MULTI): no exception for SSUBSCRIBE in 7.0
        raise CommandError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    mine = c.shard_channels
    table = srv.shard_channels
    for name in args[1:]:
        if name not in mine:
            mine.add(name)
            table.setdefault(name, set()).add(c)
        c.send(Push([b"ssubscribe", name, _shard_count(c)]))
    return NO_REPLY


def shard_unsubscribe(c: Client, name: bytes) -> bool:
    """Drop ``c``'s subscription to shard channel ``name``; False when it had none."""
    if name not in c.shard_channels:
        return False
    c.shard_channels.discard(name)
    subs = c.server.shard_channels.get(name)
    if subs is not None:
        subs.discard(c)
        if not subs:
            del c.server.shard_channels[name]
    return True


@command("sunsubscribe", -1, "pubsub noscript loading stale", keys=(1, -1, 1),
         group="pubsub")
def sunsubscribe(c: Client, args: list[bytes]) -> Any:
    targets = args[1:] or sorted(c.shard_channels)
    if not targets:
        c.send(Push([b"sunsubscribe", None, 0]))
        return NO_REPLY
    for name in targets:
        shard_unsubscribe(c, name)
        c.send(Push([b"sunsubscribe", name, _shard_count(c)]))
    return NO_REPLY


def publish_shard(srv: Any, channel: bytes, message: bytes) -> int:
    """``pubsubPublishMessage`` for the shard type: no patterns."""
    receivers = 0
    for sub in list(srv.shard_channels.get(channel, ())):
        sub.send(Push([b"smessage", channel, message]))
        receivers += 1
    return receivers


@command("spublish", 3, "pubsub loading stale fast may_replicate", keys=(1, 1, 1),
         group="pubsub")
def spublish(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    n = publish_shard(srv, args[1], args[2])
    cluster = getattr(srv, "cluster", None)
    if cluster is not None:
        # cluster mode: the nodes of this shard get it over the bus (PUBLISHSHARD),
        # not through the replication stream
        cluster.propagate_publish_shard(args[1], args[2])
    elif srv.repl_feeding:
        srv.propagate(c.db.index, args)
    return n


def remove_channels_in_slot(srv: Any, slot: int) -> None:
    """``removeChannelsInSlot``: the slot left this node's shard; its subscribers get a
    sunsubscribe push for each of its shard channels."""
    if not srv.shard_channels:
        return
    from ..cluster import key_hash_slot

    for name in sorted(ch for ch in srv.shard_channels if key_hash_slot(ch) == slot):
        for sub in list(srv.shard_channels.get(name, ())):
            if shard_unsubscribe(sub, name):
                sub.send(Push([b"sunsubscribe", name, _shard_count(sub)]))


@subcommand("pubsub", "shardchannels", -2, "pubsub loading stale", group="pubsub")
def pubsub_shardchannels(c: Client, args: list[bytes]) -> Any:
    if len(args) > 3:
        raise CommandError(_SYNTAX % (args[1][:128], args[0].upper()))
    pattern = args[2] if len(args) > 2 else None
    return [ch for ch in c.server.shard_channels if pattern is None or match(pattern, ch)]


@subcommand("pubsub", "shardnumsub", -2, "pubsub loading stale", group="pubsub")
def pubsub_shardnumsub(c: Client, args: list[bytes]) -> Any:
    out: list[Any] = []
    for ch in args[2:]:
        out += [ch, len(c.server.shard_channels.get(ch, ()))]
    return out


@subcommand("pubsub", "help", 2, "loading stale", group="pubsub")
def pubsub_help(c: Client, args: list[bytes]) -> Any:
    from .server_cmds import _help

    return _help(args, [
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> "
        "(default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ])

