"""RESP2/RESP3: the request parser (multibulk and inline) and the reply encoder.

The parser is resumable: a request split over many TCP reads is never re-parsed from the
start, and a large bulk argument is gathered as a list of chunks rather than by repeated
concatenation. Limits mirror Redis (``proto-max-bulk-len``, the 64 KiB cap on a request
line, and the smaller limits for unauthenticated clients), so a hostile client can make the
server neither crash nor allocate more than it actually sent.
"""

from __future__ import annotations

from typing import Any, Iterable

CRLF = b"\r\n"
INLINE_MAX = 64 * 1024  # PROTO_INLINE_MAX_SIZE


class ProtocolError(Exception):
    """Malformed request: the server replies ``-ERR Protocol error: <msg>`` and closes."""


# --------------------------------------------------------------------------- replies


class Simple(bytes):
    """A simple string reply (``+OK``)."""


class ErrorReply(bytes):
    """An error reply kept as a value (inside EXEC's array, for example)."""


class Map:
    """A map reply: ``%`` in RESP3, a flat array in RESP2."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[tuple[Any, Any]] | dict):
        self.items = list(items.items()) if isinstance(items, dict) else list(items)


class SetReply:
    """A set reply: ``~`` in RESP3, an array in RESP2."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]):
        self.items = list(items)


class Double:
    """A double reply: ``,`` in RESP3, a bulk string in RESP2 (formatted as Redis 7.0)."""

    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = value


class Verbatim:
    """A verbatim string (INFO in RESP3): ``=len\\r\\ntxt:...``, a bulk string in RESP2."""

    __slots__ = ("text", "fmt")

    def __init__(self, text: bytes, fmt: bytes = b"txt"):
        self.text = text
        self.fmt = fmt


class Push:
    """An out-of-band push (pub/sub messages): ``>`` in RESP3, an array in RESP2."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]):
        self.items = items


class _NullArray:
    """``*-1`` in RESP2 (EXEC aborted by WATCH, BLPOP timeout), ``_`` in RESP3."""


NULL_ARRAY = _NullArray()
OK = Simple(b"OK")
QUEUED = Simple(b"QUEUED")
PONG = Simple(b"PONG")


def format_double(value: float) -> bytes:
    """Format a double the way Redis 7.0 does in replies (``%.17g``, inf, -inf, nan)."""
    if value != value:
        return b"nan"
    if value == float("inf"):
        return b"inf"
    if value == float("-inf"):
        return b"-inf"
    if value == int(value) and abs(value) < 1e17:
        return b"%d" % int(value)
    return (b"%.17g" % value)


def encode(value: Any, out: list[bytes], resp3: bool) -> None:
    """Append the RESP encoding of ``value`` to ``out``."""
    t = type(value)
    if t is bytes:
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    elif t is Simple:
        out.append(b"+%s\r\n" % value)
    elif t is int:
        out.append(b":%d\r\n" % value)
    elif value is None:
        out.append(b"_\r\n" if resp3 else b"$-1\r\n")
    elif t is list or t is tuple:
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            encode(item, out, resp3)
    elif t is ErrorReply:
        out.append(b"-%s\r\n" % value)
    elif t is bool:
        if resp3:
            out.append(b"#t\r\n" if value else b"#f\r\n")
        else:
            out.append(b":1\r\n" if value else b":0\r\n")
    elif t is Map:
        out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(value.items) * (1 if resp3 else 2)))
        for k, v in value.items:
            encode(k, out, resp3)
            encode(v, out, resp3)
    elif t is SetReply:
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value.items))
        for item in value.items:
            encode(item, out, resp3)
    elif t is Double:
        text = format_double(value.value)
        if resp3:
            out.append(b",%s\r\n" % text)
        else:
            out.append(b"$%d\r\n%s\r\n" % (len(text), text))
    elif t is Verbatim:
        if resp3:
            body = value.fmt + b":" + value.text
            out.append(b"=%d\r\n%s\r\n" % (len(body), body))
        else:
            out.append(b"$%d\r\n%s\r\n" % (len(value.text), value.text))
    elif t is Push:
        out.append((b">%d\r\n" if resp3 else b"*%d\r\n") % len(value.items))
        for item in value.items:
            encode(item, out, resp3)
    elif t is _NullArray:
        out.append(b"_\r\n" if resp3 else b"*-1\r\n")
    elif t is str:
        data = value.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    elif t is float:
        encode(Double(value), out, resp3)
    elif isinstance(value, bytes):  # bytes subclasses not handled above
        out.append(b"$%d\r\n%s\r\n" % (len(value), bytes(value)))
    else:
        raise TypeError(f"cannot encode reply of type {t.__name__}")


def encode_command(args: Iterable[bytes | str | int]) -> bytes:
    """Encode a command as a RESP multibulk request (used for replication and AOF)."""
    parts = []
    items = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    parts.append(b"*%d\r\n" % len(items))
    for a in items:
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


# --------------------------------------------------------------------------- inline


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_HEX = b"0123456789abcdefABCDEF"


def split_args(line: bytes) -> list[bytes] | None:
    """Split an inline request as Redis' ``sdssplitargs`` does; None on unbalanced quotes."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f\x00":
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    return None
                c = line[i]
                if (
                    c == 92 and i + 3 < n and line[i + 1] == ord("x")
                    and line[i + 2] in _HEX and line[i + 3] in _HEX
                ):
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    cur += _ESCAPES.get(line[i], bytes([line[i]]))
                elif c == 34:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f\x00":
                        return None
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f\x00":
                        return None
                    insq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\x00":
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


# --------------------------------------------------------------------------- requests


class RequestParser:
    """Turns bytes from a client into argument lists.

    ``feed(data)`` returns the complete requests found so far. It raises
    :class:`ProtocolError` with Redis' message on a malformed request; the requests parsed
    before the error are kept in ``self.parsed`` so they can still be executed first, as
    Redis does.
    """

    __slots__ = (
        "buf", "args", "remaining", "bulk_chunks", "bulk_need", "bulk_got",
        "max_bulk", "authenticated", "parsed", "is_master",
    )

    def __init__(self, max_bulk: int = 512 * 1024 * 1024):
        self.buf = b""
        self.args: list[bytes] | None = None  # multibulk in progress
        self.remaining = 0  # arguments still to read for it
        self.bulk_chunks: list[bytes] | None = None  # a large bulk being gathered
        self.bulk_need = 0
        self.bulk_got = 0
        self.max_bulk = max_bulk
        self.authenticated = True
        self.is_master = False
        self.parsed: list[list[bytes]] = []

    def pending_bytes(self) -> int:
        """Bytes received and not yet turned into a request (the query buffer)."""
        return len(self.buf) + self.bulk_got

    def feed(self, data: bytes) -> list[list[bytes]]:
        out: list[list[bytes]] = []
        self.parsed = out
        if self.bulk_chunks is not None:
            self.bulk_chunks.append(data)
            self.bulk_got += len(data)
            if self.bulk_got < self.bulk_need + 2:
                return out
            joined = b"".join(self.bulk_chunks)
            self.bulk_chunks = None
            self.bulk_got = 0
            need = self.bulk_need
            if joined[need : need + 2] != CRLF:
                pass  # Redis does not check the CRLF after a bulk; neither do we
            self.args.append(joined[:need])
            self.remaining -= 1
            buf = joined[need + 2 :]
            if self.remaining == 0:
                out.append(self.args)
                self.args = None
        else:
            buf = self.buf + data if self.buf else data
        self.buf = b""
        pos = 0
        n = len(buf)
        args = self.args
        remaining = self.remaining
        find = buf.find
        try:
            while pos < n:
                if args is None:
                    c = buf[pos]
                    if c == 42:  # '*'
                        nl = find(b"\r\n", pos)
                        if nl < 0:
                            if n - pos > INLINE_MAX:
                                raise ProtocolError("too big mbulk count string")
                            break
                        try:
                            count = int(buf[pos + 1 : nl])
                        except ValueError:
                            raise ProtocolError("invalid multibulk length") from None
                        if count > 2147483647:
                            raise ProtocolError("invalid multibulk length")
                        if not self.authenticated and count > 10:
                            raise ProtocolError("unauthenticated multibulk length")
                        pos = nl + 2
                        if count <= 0:
                            continue
                        args = []
                        remaining = count
                    else:
                        nl = find(b"\n", pos)
                        if nl < 0:
                            if n - pos > INLINE_MAX:
                                raise ProtocolError("too big inline request")
                            break
                        line = buf[pos:nl]
                        pos = nl + 1
                        if line.endswith(b"\r"):
                            line = line[:-1]
                        parts = split_args(line)
                        if parts is None:
                            raise ProtocolError("unbalanced quotes in request")
                        if parts:
                            out.append(parts)
                        continue
                # reading the bulk arguments of a multibulk request
                while remaining:
                    if pos >= n:
                        break
                    if buf[pos] != 36:  # '$'
                        raise ProtocolError("expected '$', got '%s'" % chr(buf[pos]))
                    nl = find(b"\r\n", pos)
                    if nl < 0:
                        if n - pos > INLINE_MAX:
                            raise ProtocolError("too big bulk count string")
                        break
                    try:
                        ln = int(buf[pos + 1 : nl])
                    except ValueError:
                        raise ProtocolError("invalid bulk length") from None
                    if ln < 0 or (ln > self.max_bulk and not self.is_master):
                        raise ProtocolError("invalid bulk length")
                    if not self.authenticated and ln > 16384:
                        raise ProtocolError("unauthenticated bulk length")
                    start = nl + 2
                    end = start + ln
                    if end + 2 > n:
                        if ln >= 32 * 1024:
                            # gather a large value chunk by chunk
                            self.bulk_chunks = [buf[start:]]
                            self.bulk_got = n - start
                            self.bulk_need = ln
                            self.args = args
                            self.remaining = remaining
                            pos = n
                            return out
                        break
                    args.append(buf[start:end])
                    remaining -= 1
                    pos = end + 2
                if remaining:
                    break
                out.append(args)
                args = None
        finally:
            self.args = args
            self.remaining = remaining
            if self.bulk_chunks is None:
                self.buf = buf[pos:] if pos < n else b""
        return out
