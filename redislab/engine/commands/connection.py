"""Connection commands: PING, ECHO, AUTH, HELLO, SELECT, QUIT, RESET, CLIENT."""

from __future__ import annotations

import hmac
from typing import Any

from .. import errors as E
from ..errors import CommandError
from ..resp import OK, PONG, Map, Simple
from ..server import NO_REPLY, Client
from . import command, subcommand


@command("ping", -1, "fast stale loading", group="connection")
def ping(c: Client, args: list[bytes]) -> Any:
    if len(args) > 2:
        raise CommandError(E.WRONG_ARITY % "ping")
    if (c.channels or c.patterns or c.shard_channels) and not c.resp3:
        return [b"pong", args[1] if len(args) == 2 else b""]
    return args[1] if len(args) == 2 else PONG


@command("echo", 2, "fast stale loading", group="connection")
def echo(c: Client, args: list[bytes]) -> Any:
    return args[1]


def _check_password(c: Client, user: bytes, password: bytes) -> None:
    required = c.server.requirepass
    if user != b"default" or not required:
        if user == b"default" and not required:
            c.authenticated = True
            return
        raise CommandError(E.WRONGPASS)
    if not hmac.compare_digest(password, required.encode()):
        c.server.log.verbose("Failed authentication attempt")
        raise CommandError(E.WRONGPASS)
    c.authenticated = True


@command("auth", -2, "noscript loading stale fast no_auth", group="connection")
def auth(c: Client, args: list[bytes]) -> Any:
    if len(args) > 3:
        raise CommandError(E.SYNTAX)
    if len(args) == 2:
        if not c.server.requirepass:
            raise CommandError(E.AUTH_NOPASS)
        _check_password(c, b"default", args[1])
    else:
        _check_password(c, args[1], args[2])
    return OK


@command("hello", -1, "noscript loading stale fast no_auth", group="connection")
def hello(c: Client, args: list[bytes]) -> Any:
    proto = None
    if len(args) >= 2:
        try:
            proto = int(args[1])
        except ValueError:
            raise CommandError("ERR Protocol version is not an integer or out of range") from None
        if proto < 2 or proto > 3:
            raise CommandError("NOPROTO unsupported protocol version")
    i = 2
    setname = None
    while i < len(args):
        opt = args[i].lower()
        more = len(args) - i - 1
        if opt == b"auth" and more >= 2:
            _check_password(c, args[i + 1], args[i + 2])
            i += 3
        elif opt == b"setname" and more >= 1:
            setname = args[i + 1]
            _validate_name(setname)
            i += 2
        else:
            raise CommandError("ERR Syntax error in HELLO option '%s'" % args[i].decode(errors="replace"))
    if not c.authenticated:
        raise CommandError(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time"
        )
    if setname is not None:
        c.name = setname
    if proto is not None:
        c.resp3 = proto == 3
    srv = c.server
    return Map([
        (b"server", b"redis"),
        (b"version", srv.version.encode()),
        (b"proto", 3 if c.resp3 else 2),
        (b"id", c.id),
        (b"mode", b"cluster" if srv.config.get("cluster-enabled") else
         b"sentinel" if srv.mode == "sentinel" else b"standalone"),
        (b"role", b"replica" if srv.role == "slave" else b"master"),
        (b"modules", []),
    ])


@command("select", 2, "loading stale fast", group="connection")
def select(c: Client, args: list[bytes]) -> Any:
    try:
        index = int(args[1])
    except ValueError:
        raise CommandError(E.SELECT_INVALID) from None
    dbs = c.server.keyspace.dbs
    if index < 0 or index >= len(dbs):
        raise CommandError(E.INVALID_DB)
    c.db = dbs[index]
    return OK


@command("quit", -1, "noscript loading stale fast no_auth allow_busy", group="connection")
def quit_(c: Client, args: list[bytes]) -> Any:
    c.close_after_reply()
    return OK


@command("reset", 1, "noscript loading stale fast no_auth", group="connection")
def reset(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    c.multi = None
    c.multi_error = False
    srv.unwatch_all(c)
    srv.pubsub_drop(c)
    srv.monitors.discard(c)
    c.flags.discard("monitor")
    c.flags.discard("readonly")
    c.db = srv.keyspace.dbs[0]
    c.resp3 = False
    c.name = b""
    c.authenticated = not srv.requirepass
    return Simple(b"RESET")


# ------------------------------------------------------------------------- CLIENT


def _validate_name(name: bytes) -> None:
    for b in name:
        if b < 33 or b > 126:
            raise CommandError("ERR Client names cannot contain spaces, newlines or special characters.")


@subcommand("client", "id", 2, "noscript loading stale", group="connection")
def client_id(c: Client, args: list[bytes]) -> Any:
    return c.id


@subcommand("client", "setname", 3, "noscript loading stale", group="connection")
def client_setname(c: Client, args: list[bytes]) -> Any:
    _validate_name(args[2])
    c.name = args[2]
    return OK


@subcommand("client", "getname", 2, "noscript loading stale", group="connection")
def client_getname(c: Client, args: list[bytes]) -> Any:
    return c.name or None


@subcommand("client", "setinfo", 4, "noscript loading stale", group="connection")
def client_setinfo(c: Client, args: list[bytes]) -> Any:
    attr = args[2].lower()
    if attr == b"lib-name":
        c.lib_name = args[3]
    elif attr == b"lib-ver":
        c.lib_ver = args[3]
    else:
        raise CommandError("ERR Unrecognized option '%s'" % args[2].decode(errors="replace"))
    return OK


def _type_matches(c: Client, kind: bytes) -> bool:
    kind = kind.lower()
    if kind == b"normal":
        return not (c.flags & {"slave", "master", "monitor"}
                    or c.channels or c.patterns or c.shard_channels)
    if kind in (b"slave", b"replica"):
        return "slave" in c.flags
    if kind == b"master":
        return "master" in c.flags
    if kind == b"pubsub":
        return bool(c.channels or c.patterns or c.shard_channels)
    raise CommandError("ERR Unknown client type '%s'" % kind.decode(errors="replace"))


@subcommand("client", "list", -2, "admin noscript loading stale", group="connection")
def client_list(c: Client, args: list[bytes]) -> Any:
    clients = list(c.server.clients.values())
    i = 2
    while i < len(args):
        opt = args[i].lower()
        if opt == b"type" and i + 1 < len(args):
            kind = args[i + 1]
            clients = [x for x in clients if _type_matches(x, kind)]
            i += 2
        elif opt == b"id" and i + 1 < len(args):
            ids = set()
            for raw in args[i + 1 :]:
                try:
                    ids.add(int(raw))
                except ValueError:
                    raise CommandError("ERR Invalid client ID") from None
            clients = [x for x in clients if x.id in ids]
            i = len(args)
        else:
            raise CommandError(E.SYNTAX)
    return "".join(x.info_line() + "\n" for x in clients).encode()


@subcommand("client", "info", 2, "noscript loading stale", group="connection")
def client_info(c: Client, args: list[bytes]) -> Any:
    return (c.info_line() + "\n").encode()


@subcommand("client", "kill", -3, "admin noscript loading stale", group="connection")
def client_kill(c: Client, args: list[bytes]) -> Any:
    srv = c.server
    if len(args) == 3:  # old form: CLIENT KILL addr
        addr = args[2].decode(errors="replace")
        for x in list(srv.clients.values()):
            if x.addr == addr:
                _kill(c, x)
                return OK
        raise CommandError("ERR No such client")
    if (len(args) - 2) % 2:
        raise CommandError(E.SYNTAX)
    filters: list[tuple[bytes, bytes]] = [(args[i].lower(), args[i + 1]) for i in range(2, len(args), 2)]
    skipme = True
    for name, value in filters:
        if name == b"skipme":
            if value.lower() not in (b"yes", b"no"):
                raise CommandError(E.SYNTAX)
            skipme = value.lower() == b"yes"
        elif name == b"id":
            try:
                int(value)
            except ValueError:
                raise CommandError("ERR client-id should be greater than 0") from None
        elif name == b"type":
            _type_matches(c, value)
        elif name not in (b"addr", b"laddr", b"user"):
            raise CommandError(E.SYNTAX)
    killed = 0
    for x in list(srv.clients.values()):
        if skipme and x is c:
            continue
        ok = True
        for name, value in filters:
            if name == b"id" and x.id != int(value):
                ok = False
            elif name == b"type" and not _type_matches(x, value):
                ok = False
            elif name == b"addr" and x.addr != value.decode(errors="replace"):
                ok = False
            elif name == b"laddr" and x.laddr != value.decode(errors="replace"):
                ok = False
            elif name == b"user" and value != b"default":
                ok = False
        if ok:
            _kill(c, x)
            killed += 1
    return killed


def _kill(c: Client, target: Client) -> None:
    if target is c:
        c.close_after_reply()
    else:
        target.close()


@subcommand("client", "no-evict", 3, "admin noscript loading stale", group="connection")
def client_no_evict(c: Client, args: list[bytes]) -> Any:
    if args[2].lower() not in (b"on", b"off"):
        raise CommandError(E.SYNTAX)
    return OK


@subcommand("client", "reply", 3, "noscript loading stale", group="connection")
def client_reply(c: Client, args: list[bytes]) -> Any:
    mode = args[2].lower()
    if mode == b"on":
        return OK
    if mode in (b"off", b"skip"):
        return NO_REPLY
    raise CommandError(E.SYNTAX)


@subcommand("client", "help", 2, "loading stale", group="connection")
def client_help(c: Client, args: list[bytes]) -> Any:
    lines = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME", "    Return the name of the current connection.",
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, ADDR, LADDR, USER, SKIPME.",
        "LIST [options ...]", "    Return information about client connections.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "HELP", "    Print this help.",
    ]
    return [Simple(x.encode()) for x in lines]
