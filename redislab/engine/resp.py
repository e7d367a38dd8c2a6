"""RESP2/RESP3: the request parser (multibulk and inline) and the reply encoder.

The parser is resumable: a request split over many TCP reads is never re-parsed from the
start, and a large bulk argument is gathered as a list of chunks rather than by repeated
concatenation. Limits mirror Redis (``proto-max-bulk-len``, the 64 KiB cap on a request
line, and the smaller limits for unauthenticated clients), so a hostile client can make the
server neither crash nor allocate more than it actually sent.
"""

from __future__ import annotations

import re
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


# Lines without quotes, NUL, \v or \f split exactly like bytes.split() (the only
# separators left are space, \t, \r and \n, which sdssplitargs treats alike).
_NEEDS_FULL_SPLIT = re.compile(rb"[\"'\x00\x0b\x0c]").search


def split_args(line: bytes) -> list[bytes] | None:
    """Split an inline request as Redis' ``sdssplitargs`` does; None on unbalanced quotes."""
    if _NEEDS_FULL_SPLIT(line) is None:
        return line.split()
    return _split_args_full(line)


def _split_args_full(line: bytes) -> list[bytes] | None:
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


def _string2ll(s: bytes) -> int | None:
    """Redis' ``string2ll``: optional '-', no leading zero, no blanks or '+', 64-bit range."""
    if not s or len(s) >= 21:
        return None
    if s == b"0":
        return 0
    neg = s[0] == 45  # '-'
    body = s[1:] if neg else s
    if not body.isdigit() or body[0] == 48:  # bytes.isdigit() is ASCII-only
        return None
    v = int(body)
    if neg:
        return -v if v <= 2**63 else None
    return v if v < 2**63 else None


# Canonical small lengths ("0" .. "1023") map straight to their value: one dict lookup
# instead of validating and converting every "$3" / "*2" header.
_SMALL = {b"%d" % i: i for i in range(1024)}
# The same for whole header lines, used by the fast path below.
_MBULK_LINE = {b"*%d" % i: i for i in range(1, 1024)}
_BULK_LINE = {b"$%d" % i: i for i in range(1024)}
# The fast path pays for one split of the buffer: worth it from a few requests up (a lone
# request, the -P 1 case, is quicker in the general loop); larger buffers go straight to
# the general loop.
_FAST_MIN = 160
_FAST_MAX = 1024 * 1024


def _fast_requests(buf: bytes, pos: int, out: list[list[bytes]], authenticated: bool) -> int:
    """Parse the plain multibulk requests at ``buf[pos:]`` in bulk; returns the position
    of the first byte not consumed (a request boundary).

    The buffer is split on CRLF once and each request is checked wholesale: its ``*N``
    line and every ``$L`` line must be canonical (in the tables above, so no NUL, no lone
    ``\r``, no sign or leading zero) and every payload token must be exactly ``L`` bytes
    long. A payload holding CRLF, a large value, a missing CRLF or anything unusual fails
    the check and is left to the general loop, so results are the same as with that loop.
    """
    tokens = buf[pos:].split(b"\r\n")
    last = len(tokens) - 1  # tokens[last] is not followed by CRLF: never complete
    mbulk = _MBULK_LINE.get
    bulk = _BULK_LINE.get
    i = 0
    while True:
        count = mbulk(tokens[i])
        if count is None or (count > 10 and not authenticated):
            break
        end = i + 1 + 2 * count
        if end > last:
            break
        vals = tokens[i + 2 : end : 2]
        if list(map(bulk, tokens[i + 1 : end : 2])) != list(map(len, vals)):
            break
        out.append(vals)
        i = end
    if i:
        pos += sum(map(len, tokens[:i])) + 2 * i
    return pos


try:  # hiredis parses a run of requests in C; each is then checked against its canonical form
    from hiredis import Reader as _HiredisReader
    from hiredis import pack_command as _pack_command
except ImportError:  # pragma: no cover - hiredis is a dependency; the Python path stays exact
    _HiredisReader = None


def _hiredis_requests(buf: bytes, pos: int, out: list[list[bytes]]) -> int:
    """The multibulk requests at ``buf[pos:]`` parsed by hiredis; returns the position of
    the first byte not consumed, ``pos`` when nothing could be taken.

    hiredis reads replies, which are a superset of requests: it takes ``+``, ``:``, nested
    arrays and other types where Redis wants ``$``. So what it returns is only kept if the
    canonical encoding of those requests (``hiredis.pack_command``) is exactly the bytes
    they came from; anything else (an inline command, a non-canonical length, odd bytes
    after a payload) leaves the whole buffer to the general loop, which follows Redis to
    the letter.
    """
    reader = _HiredisReader()
    reader.feed(buf, pos)
    gets = reader.gets
    found: list[list[bytes]] = []
    try:
        while True:
            req = gets()
            if req is False:
                break
            found.append(req)
    except Exception:  # a protocol error further on: keep what came before it
        pass
    if not found:
        return pos
    try:
        canon = b"".join(map(_pack_command, map(tuple, found)))
    except Exception:  # None, a number, a nested array: not a request Redis would read
        return pos
    if not buf.startswith(canon, pos):
        return pos
    out.extend([req for req in found if req])  # "*0" is skipped, as Redis does
    return pos + len(canon)


def _length(s: bytes) -> int | None:
    v = _SMALL.get(s)
    if v is None:
        if s.isdigit() and s[0] != 48 and len(s) < 19:  # fits in 64 bits for sure
            return int(s)
        return _string2ll(s)
    return v


class RequestParser:
    """Turns bytes from a client into argument lists, exactly as Redis 7.0's
    ``processInputBuffer`` does.

    ``feed(data)`` returns the complete requests found so far. It raises
    :class:`ProtocolError` with Redis' message on a malformed request; the requests parsed
    before the error are kept in ``self.parsed`` so they can still be executed first, as
    Redis does.

    Redis' quirks are kept on purpose, since clients see them: a length line is found by
    looking for ``\r`` with ``strchr`` (so a NUL byte before it means "no line yet" and the
    byte after the ``\r`` is skipped unchecked), lengths are read by the strict
    ``string2ll``, the two bytes after a bulk payload are not checked, and the 64 KiB limit
    on a line without its end applies to what has arrived so far.
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

    def feed(self, data: bytes, one: bool = False) -> list[list[bytes]]:
        """Parse ``data`` (after what is buffered); with ``one``, stop after the first
        complete request and keep the rest buffered."""
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
            # Redis does not check the two bytes after a bulk; neither do we
            self.args.append(joined[:need])  # type: ignore[union-attr]
            self.remaining -= 1
            buf = joined[need + 2 :]
            if self.remaining == 0:
                out.append(self.args)  # type: ignore[arg-type]
                self.args = None
        else:
            buf = self.buf + data if self.buf else data
        self.buf = b""
        pos = 0
        n = len(buf)
        args = self.args
        remaining = self.remaining
        find = buf.find
        small = _SMALL
        fast = _FAST_MIN <= n <= _FAST_MAX and self.max_bulk >= 1023 and not one
        # hiredis takes every request length; the limits Redis puts on an unauthenticated
        # client and proto-max-bulk-len are then left to the general loop
        hiredis = (fast and _HiredisReader is not None and self.authenticated
                   and (n <= self.max_bulk or self.is_master))
        try:
            while pos < n and not (one and out):
                if args is None:
                    if buf[pos] == 42:  # '*'
                        # once per feed, and only if the "*N" line is short and complete
                        if fast and find(b"\r\n", pos, pos + 7) >= 0:
                            fast = False
                            if hiredis:
                                pos = _hiredis_requests(buf, pos, out)
                            else:
                                pos = _fast_requests(buf, pos, out, self.authenticated)
                            if pos >= n:
                                break
                            if buf[pos] != 42:
                                continue
                        nl = find(b"\r", pos)
                        if nl < 0 or nl + 1 >= n:  # no line, or its '\n' not here yet
                            if n - pos > INLINE_MAX and (nl < 0 or find(b"\0", pos, nl) >= 0):
                                raise ProtocolError("too big mbulk count string")
                            break
                        count = small.get(buf[pos + 1 : nl])
                        if count is None:
                            count = _string2ll(buf[pos + 1 : nl])
                            if count is None or count > 2147483647:
                                if find(b"\0", pos, nl) >= 0:  # strchr stops at NUL
                                    if n - pos > INLINE_MAX:
                                        raise ProtocolError("too big mbulk count string")
                                    break
                                raise ProtocolError("invalid multibulk length")
                        if count > 10 and not self.authenticated:
                            raise ProtocolError("unauthenticated multibulk length")
                        pos = nl + 2
                        if count <= 0:
                            continue
                        args = []
                        remaining = count
                    else:
                        nl = find(b"\n", pos)
                        if nl >= 0 and find(b"\0", pos, nl) >= 0:  # strchr stops at NUL
                            nl = -1
                        if nl < 0:
                            if n - pos > INLINE_MAX:
                                raise ProtocolError("too big inline request")
                            break
                        end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
                        parts = split_args(buf[pos:end])
                        if parts is None:
                            raise ProtocolError("unbalanced quotes in request")
                        pos = nl + 1
                        if parts:
                            out.append(parts)
                        continue
                # reading the bulk arguments of a multibulk request
                while remaining:
                    nl = find(b"\r", pos)
                    if nl < 0 or nl + 1 >= n:
                        if n - pos > INLINE_MAX and (nl < 0 or find(b"\0", pos, nl) >= 0):
                            raise ProtocolError("too big bulk count string")
                        break
                    if buf[pos] != 36:  # '$'
                        if find(b"\0", pos, nl) >= 0:
                            if n - pos > INLINE_MAX:
                                raise ProtocolError("too big bulk count string")
                            break
                        got = buf[pos]
                        if got == 10 or got == 13:  # Redis maps \r and \n in errors to spaces
                            got = 32
                        raise ProtocolError("expected '$', got '%s'" % chr(got))
                    ln = small.get(buf[pos + 1 : nl])
                    if ln is None:
                        ln = _length(buf[pos + 1 : nl])
                        if ln is None or ln < 0 or (ln > self.max_bulk and not self.is_master):
                            if find(b"\0", pos, nl) >= 0:
                                if n - pos > INLINE_MAX:
                                    raise ProtocolError("too big bulk count string")
                                break
                            raise ProtocolError("invalid bulk length")
                        if ln > 16384 and not self.authenticated:
                            raise ProtocolError("unauthenticated bulk length")
                    elif ln > self.max_bulk and not self.is_master:
                        raise ProtocolError("invalid bulk length")
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
