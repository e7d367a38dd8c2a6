"""Fuzzing the request parser: hostile bytes must end in requests or a protocol error.

Two levels:

* unit: :class:`RequestParser` gets random bytes and mutated valid RESP (truncated, flipped
  bytes, absurd declared lengths, missing CRLF, unbalanced quotes, 70 KB lines) in random
  chunk sizes. It must return requests or raise :class:`ProtocolError` (nothing else, and
  quickly), never buffer more than it was fed, give the same requests however the input is
  split, and agree with a small reference model of Redis 7.0's ``processInputBuffer``
  written from the C code (``strchr`` stops at a NUL byte, ``string2ll`` is strict, the byte
  after a ``\\r`` in a length line is not checked, ...).
* TCP: the same kind of input is sent to an engine node and to a real redis-server 7.0;
  the reply bytes and whether the connection was closed must be identical. Plus the
  resource limits: a huge declared bulk allocates nothing, ``client-query-buffer-limit``
  closes the client, an unauthenticated client gets Redis' smaller limits.
"""

from __future__ import annotations

import re
import select
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nodes import RawClient

from redislab.engine import resp as resp_module
from redislab.engine.resp import ProtocolError, RequestParser

INLINE_MAX = 64 * 1024  # PROTO_INLINE_MAX_SIZE
MAX_BULK = 512 * 1024 * 1024  # proto-max-bulk-len default
INT_MAX = 2**31 - 1


# =========================================================================== reference model
#
# Redis 7.0 networking.c, processInputBuffer / processMultibulkBuffer / processInlineBuffer,
# applied to a whole buffer in one go (one read). Written from the C semantics, not from the
# engine's code, so the two can be compared.


def _string2ll(s: bytes) -> int | None:
    """util.c string2ll: no sign but '-', no leading zero, no blanks, fits in 64 bits."""
    if not s or len(s) >= 21:  # LONG_STR_SIZE
        return None
    if s == b"0":
        return 0
    neg = s[0] == 45
    body = s[1:] if neg else s
    if not body or not 49 <= body[0] <= 57 or any(not 48 <= ch <= 57 for ch in body):
        return None
    v = -int(body) if neg else int(body)
    if not -(2**63) <= v <= 2**63 - 1:
        return None
    return v


def _strchr(buf: bytes, ch: int, pos: int) -> int:
    """C strchr on the query buffer from ``pos``: it stops at the first NUL byte."""
    for i in range(pos, len(buf)):
        b = buf[i]
        if b == ch:
            return i
        if b == 0:
            return -1
    return -1


_C_SPACE = b" \t\n\v\f\r"


def ref_splitargs(line: bytes) -> list[bytes] | None:
    """sds.c sdssplitargs on a C string (the line cannot hold a NUL: see _strchr)."""
    s = line + b"\x00"
    p = 0
    out: list[bytes] = []
    while True:
        while s[p] != 0 and s[p] in _C_SPACE:
            p += 1
        if s[p] == 0:
            return out
        cur = bytearray()
        inq = insq = done = False
        while not done:
            c = s[p]
            if inq:
                if c == 92 and s[p + 1] == ord("x") and _ishex(s[p + 2]) and _ishex(s[p + 3]):
                    cur.append(int(bytes(s[p + 2 : p + 4]), 16))
                    p += 3
                elif c == 92 and s[p + 1] != 0:
                    p += 1
                    cur += {110: b"\n", 114: b"\r", 116: b"\t", 98: b"\b", 97: b"\a"}.get(
                        s[p], bytes([s[p]])
                    )
                elif c == 34:
                    if s[p + 1] != 0 and s[p + 1] not in _C_SPACE:
                        return None
                    done = True
                elif c == 0:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == 92 and s[p + 1] == 39:
                    p += 1
                    cur.append(39)
                elif c == 39:
                    if s[p + 1] != 0 and s[p + 1] not in _C_SPACE:
                        return None
                    done = True
                elif c == 0:
                    return None
                else:
                    cur.append(c)
            else:
                if c in b" \n\r\t\x00":
                    done = True
                elif c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            if s[p] != 0:
                p += 1
        out.append(bytes(cur))


def _ishex(c: int) -> bool:
    return c in b"0123456789abcdefABCDEF"


def ref_parse(buf: bytes, authenticated: bool = True,
              max_bulk: int = MAX_BULK) -> tuple[list[list[bytes]], str | None]:
    """(requests, protocol error message or None) for ``buf`` received in one read."""
    out: list[list[bytes]] = []
    pos, n = 0, len(buf)
    while pos < n:
        if buf[pos] == 42:  # '*'
            nl = _strchr(buf, 13, pos)
            if nl < 0:
                if n - pos > INLINE_MAX:
                    return out, "too big mbulk count string"
                return out, None
            if nl - pos > n - pos - 2:  # the byte after '\r' has not arrived
                return out, None
            ll = _string2ll(buf[pos + 1 : nl])
            if ll is None or ll > INT_MAX:
                return out, "invalid multibulk length"
            if ll > 10 and not authenticated:
                return out, "unauthenticated multibulk length"
            pos = nl + 2
            if ll <= 0:
                continue
            args: list[bytes] = []
            while len(args) < ll:
                nl = _strchr(buf, 13, pos)
                if nl < 0:
                    if n - pos > INLINE_MAX:
                        return out, "too big bulk count string"
                    return out, None
                if nl - pos > n - pos - 2:
                    return out, None
                if buf[pos] != 36:  # '$'
                    got = buf[pos]
                    if got in (10, 13):  # addReplyError maps \r and \n to spaces
                        got = 32
                    return out, "expected '$', got '%s'" % chr(got)
                bl = _string2ll(buf[pos + 1 : nl])
                if bl is None or bl < 0 or bl > max_bulk:
                    return out, "invalid bulk length"
                if bl > 16384 and not authenticated:
                    return out, "unauthenticated bulk length"
                pos = nl + 2
                if n - pos < bl + 2:
                    return out, None
                args.append(buf[pos : pos + bl])
                pos += bl + 2  # the two bytes after the payload are not checked
            out.append(args)
        else:
            nl = _strchr(buf, 10, pos)
            if nl < 0:
                if n - pos > INLINE_MAX:
                    return out, "too big inline request"
                return out, None
            end = nl - 1 if nl != pos and buf[nl - 1] == 13 else nl
            argv = ref_splitargs(buf[pos:end])
            if argv is None:
                return out, "unbalanced quotes in request"
            pos = nl + 1
            if argv:
                out.append(argv)
    return out, None


# =========================================================================== helpers


@contextmanager
def time_limit(seconds: float):
    """Fail (instead of hanging) if the block takes longer than ``seconds``."""

    def boom(signum, frame):  # pragma: no cover - only on a hang
        raise TimeoutError(f"parser took more than {seconds}s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_parser(chunks: list[bytes], authenticated: bool = True,
               max_bulk: int = MAX_BULK) -> tuple[list[list[bytes]], str | None]:
    """Feed ``chunks`` one by one, checking the parser's contract on the way; the parser's
    bulk fast path (for buffers holding several requests) must give what its general loop
    gives, so both are run."""
    result = _run_parser(chunks, authenticated, max_bulk)
    saved = resp_module._FAST_MIN, resp_module._FAST_MAX, resp_module._HiredisReader
    # the fast path always (with hiredis, and in Python as when hiredis is missing) / never
    for setting in ((0, 1 << 40, saved[2]), (0, 1 << 40, None), (1 << 40, 0, saved[2])):
        resp_module._FAST_MIN, resp_module._FAST_MAX, resp_module._HiredisReader = setting
        try:
            assert _run_parser(chunks, authenticated, max_bulk) == result, setting
        finally:
            resp_module._FAST_MIN, resp_module._FAST_MAX, resp_module._HiredisReader = saved
    return result


def _run_parser(chunks: list[bytes], authenticated: bool,
                max_bulk: int) -> tuple[list[list[bytes]], str | None]:
    p = RequestParser(max_bulk)
    p.authenticated = authenticated
    got: list[list[bytes]] = []
    fed = 0
    for chunk in chunks:
        fed += len(chunk)
        try:
            reqs = p.feed(chunk)
        except ProtocolError as exc:
            parsed = p.parsed
            assert isinstance(parsed, list)
            got.extend(parsed)
            _check_requests(parsed)
            return got, str(exc)
        assert isinstance(reqs, list)
        _check_requests(reqs)
        got.extend(reqs)
        pending = p.pending_bytes()
        assert 0 <= pending <= fed, (pending, fed)
    return got, None


def _check_requests(reqs: list) -> None:
    for r in reqs:
        assert isinstance(r, list) and r, r
        assert all(type(a) is bytes for a in r), r


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    out, prev = [], 0
    for c in points:
        out.append(data[prev:c])
        prev = c
    out.append(data[prev:])
    return out


TOO_BIG = ("too big inline request", "too big mbulk count string", "too big bulk count string")


def assert_same_outcome(whole: tuple, chunked: tuple) -> None:
    """Chunked feeding gives what feeding all at once gives. The one exception is Redis'
    own: the 64 KiB "too big" checks run on what has arrived so far, so a split input may
    fail where the whole one had its line end in time (never the other way round)."""
    (w_reqs, w_err), (c_reqs, c_err) = whole, chunked
    if c_err in TOO_BIG and c_err != w_err:
        assert w_reqs[: len(c_reqs)] == c_reqs
        return
    assert c_err == w_err
    assert c_reqs == w_reqs


# =========================================================================== strategies

SPECIAL_NUMBERS = [
    b"2147483648", b"2147483647", b"999999999999", b"-1", b"-5", b"", b"abc", b"01", b"+1",
    b" 1", b"1 ", b"-0", b"-", b"0", b"99999999999999999999", b"-99999999999999999999",
    b"9223372036854775808", b"-9223372036854775808", b"536870912", b"536870913",
    b"1073741824", b"16384", b"16385", b"10", b"11", b"1e3", b"0x10", b"1_0", b"\xd9\xa1",
]

TEMPLATES = [
    [b"PING"],
    [b"PING", b"hello world"],
    [b"ECHO", b"x"],
    [b"ECHO", b""],
    [b"ECHO", b"a\r\nb"],
    [b"ECHO", b"quote\"d 'x'"],
    [b"ECHO", b"y" * 100],
    [b"FUZZNOPE", b"a", b"b"],
    [b"ECHO"],
]


def resp(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def inline(args: list[bytes]) -> bytes:
    words = []
    for a in args:
        if a and not re.search(rb"[\s\"'\\\x00]", a):
            words.append(a)
        else:
            words.append(b'"' + a.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
                         .replace(b"\r", b"\\r").replace(b"\n", b"\\n") + b'"')
    return b" ".join(words) + b"\r\n"


def args_strategy(arg_bytes=st.binary(max_size=40)):
    return st.one_of(st.sampled_from(TEMPLATES), st.lists(arg_bytes, min_size=1, max_size=5))


ascii_bytes = st.binary(max_size=40).map(lambda b: bytes(x & 0x7F or 1 for x in b))

_NUM_RE = re.compile(rb"[*$](-?[0-9]*)\r")


@st.composite
def mutated_resp(draw, alphabet: st.SearchStrategy[int] = st.integers(0, 255),
                 arg_bytes: st.SearchStrategy[bytes] = st.binary(max_size=40)):
    """Valid requests (multibulk or inline), then a few mutations."""
    reqs = draw(st.lists(args_strategy(arg_bytes), min_size=1, max_size=4))
    data = bytearray()
    for r in reqs:
        data += resp(r) if draw(st.booleans()) else inline(r)
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(
            ["truncate", "flip", "insert", "delete", "number", "number", "crlf", "quote"]
        ))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "truncate":
            del data[i:]
        elif op == "flip":
            data[i] = draw(alphabet)
        elif op == "insert":
            data[i:i] = bytes(draw(st.lists(alphabet, min_size=1, max_size=4)))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 4))]
        elif op == "number":
            nums = list(_NUM_RE.finditer(data))
            if nums:
                m = nums[draw(st.integers(0, len(nums) - 1))]
                data[m.start(1) : m.end(1)] = draw(st.sampled_from(SPECIAL_NUMBERS))
        elif op == "crlf":
            crlfs = [m.start() for m in re.finditer(rb"\r\n", data)]
            if crlfs:
                j = crlfs[draw(st.integers(0, len(crlfs) - 1))]
                data[j : j + 2] = draw(st.sampled_from([b"\n", b"\r", b"", b"\r\x00", b"\rX"]))
        elif op == "quote":
            data[i:i] = draw(st.sampled_from([b'"', b"'", b'\\"', b"\\", b'"x"y', b"\\x4"]))
    return bytes(data)


@st.composite
def inline_lines(draw, alphabet=st.sampled_from(list(b"ab \t\"'\\xAF0\r\v"))):
    """Inline requests built from quote-heavy tokens (unbalanced quotes and escapes)."""
    lines = draw(st.lists(st.lists(alphabet, max_size=30).map(bytes), min_size=1, max_size=3))
    return b"".join(line + draw(st.sampled_from([b"\r\n", b"\n", b""])) for line in lines)


any_input = st.one_of(
    st.binary(max_size=300),
    mutated_resp(),
    inline_lines(),
)


@st.composite
def chunking(draw, data: bytes):
    mode = draw(st.sampled_from(["random", "bytes", "whole"]))
    if mode == "whole" or not data:
        return [data]
    if mode == "bytes" and len(data) <= 400:
        return [data[i : i + 1] for i in range(len(data))]
    cuts = draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=20))
    return split(data, cuts)


# =========================================================================== unit tests


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), raw=any_input, authenticated=st.booleans())
@example(data=None, raw=b"*2147483648\r\n", authenticated=True)
@example(data=None, raw=b"*1\r\n$999999999999\r\n", authenticated=True)
@example(data=None, raw=b"*1\r\n$-1\r\n", authenticated=True)
@example(data=None, raw=b"*-1\r\n*1\r\n$4\r\nPING\r\n", authenticated=True)
@example(data=None, raw=b'SET a "b\r\n', authenticated=True)
@example(data=None, raw=b"*1\rX$4\r\nPING\r\n", authenticated=True)
@example(data=None, raw=b"*11\r\n", authenticated=False)
@example(data=None, raw=b"*1\r\n$16385\r\n", authenticated=False)
# what hiredis reads in an array where Redis wants '$': a simple string, a verbatim string,
# a big number (bytes, like bulks), here with lengths that add up to the canonical form's
@example(data=None, raw=b"*3\r\n$4\r\nECHO\r\n+aaaaaaaaaa\r\n=5\r\ntxt:a\r\n", authenticated=True)
@example(data=None, raw=b"*2\r\n$4\r\nECHO\r\n(12\r\n*1\r\n$4\r\nPING\r\n", authenticated=True)
@example(data=None, raw=b"*2\r\n$4\r\nECHO\r\n$1\r\naXY+b\r\n", authenticated=True)
@example(data=None, raw=b"*2\r\n$4\r\nECHO\r\n$1\r\naXY$1\r\nb\r\n", authenticated=True)
@example(data=None, raw=b"*0\r\n*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n", authenticated=True)
@example(data=None, raw=b"*1\r\n$4\r\nPING\r\n*2\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n", authenticated=True)
def test_parser_contract(data, raw, authenticated):
    whole = run_parser([raw], authenticated)
    assert whole == ref_parse(raw, authenticated)
    if data is None:
        return
    chunks = data.draw(chunking(raw))
    with time_limit(10):
        chunked = run_parser(chunks, authenticated)
    assert_same_outcome(whole, chunked)


tricky_payload = st.lists(st.sampled_from([b"\r\n", b"\r", b"\n", b"$", b"*", b"3", b"$3\r\n",
                                           b"*1\r\n", b"\x00", b"a", b"0"]),
                         max_size=12).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(reqs=st.lists(st.lists(st.one_of(st.binary(max_size=70), tricky_payload), min_size=1,
                              max_size=6), min_size=1, max_size=12),
       data=st.data())
def test_valid_requests_roundtrip(reqs, data):
    """Valid multibulk requests come back exactly, however they are split (payloads full
    of CRLF, '$' and '*' must not confuse the bulk fast path)."""
    raw = b"".join(resp(r) for r in reqs)
    chunks = data.draw(chunking(raw))
    assert run_parser(chunks) == (reqs, None)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 8192), min_size=1, max_size=50),
       mults=st.lists(st.sampled_from([1, 1, 7, 40]), min_size=1, max_size=13),
       big=st.sampled_from([32 * 1024 - 1, 32 * 1024, 100_000, 300_000]))
def test_large_bulks_in_random_chunks(sizes, mults, big):
    """Large values (gathered chunk by chunk in the parser) survive any split."""
    payload = bytes(range(256)) * (big // 256) + b"\r\n" * (big % 256 // 2) + b"x" * (big % 2)
    assert len(payload) == big
    raw = resp([b"SET", b"k", payload]) + resp([b"PING"]) + resp([b"ECHO", b"x" * 40000])[:-1]
    chunks, pos, i = [], 0, 0
    while pos < len(raw):
        n = sizes[i % len(sizes)] * mults[i % len(mults)]
        chunks.append(raw[pos : pos + n])
        pos += n
        i += 1
    with time_limit(10):
        got = run_parser(chunks)
    assert got == ([[b"SET", b"k", payload], [b"PING"]], None)


@pytest.mark.parametrize("prefix", [b"", b"PING\r\n", b"*1\r\n$4\r\nPING\r\n"])
@pytest.mark.parametrize("kind", ["inline", "mbulk", "bulk", "inline-quote"])
@pytest.mark.parametrize("chunk", [1, 1000, 16384, 1 << 20])
def test_long_lines_without_newline(prefix, kind, chunk):
    """70 KB with no line end: Redis' 64 KiB limit on a request line, in any chunking."""
    body = {
        "inline": b"A" * 70_000,
        "inline-quote": b'SET k "' + b"v" * 70_000,
        "mbulk": b"*" + b"1" * 70_000,
        "bulk": b"*2\r\n$" + b"9" * 70_000,
    }[kind]
    raw = prefix + body
    chunks = [raw[i : i + chunk] for i in range(0, len(raw), chunk)]
    with time_limit(20):
        got, err = run_parser(chunks)
    want = {
        "inline": "too big inline request",
        "inline-quote": "too big inline request",
        "mbulk": "too big mbulk count string",
        "bulk": "too big bulk count string",
    }[kind]
    assert err == want
    assert got == ([[b"PING"]] if prefix else [])


def test_exactly_64k_line_is_still_waiting():
    raw = b"A" * INLINE_MAX
    assert run_parser([raw]) == ([], None)
    assert run_parser([raw, b"B"]) == ([], "too big inline request")
    assert run_parser([raw, b"\n"]) == ([[raw]], None)


def test_huge_declared_lengths_allocate_nothing():
    """Declared sizes are not trusted: only received bytes are buffered."""
    for raw in (b"*2147483647\r\n$3\r\nSET\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\nab",
                b"*1\r\n$100000\r\n" + b"x" * 50):
        p = RequestParser()
        assert p.feed(raw) == []
        assert p.pending_bytes() <= len(raw)
    p = RequestParser(4 * 1024**3)
    p.feed(b"*1\r\n$1073741824\r\nab")
    for _ in range(100):
        p.feed(b"x" * 1000)
    assert p.pending_bytes() <= 100_002


def test_master_client_may_exceed_max_bulk():
    p = RequestParser(1024 * 1024)
    raw = b"*1\r\n$2000000\r\n"
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        p.feed(raw)
    p = RequestParser(1024 * 1024)
    p.is_master = True
    assert p.feed(raw) == []


@settings(max_examples=400, deadline=None)
@given(line=st.lists(st.sampled_from(list(b"ab \t\"'\\xAF0\r\v\n\x01")), max_size=40).map(bytes))
def test_split_args_matches_sdssplitargs(line):
    from redislab.engine.resp import split_args

    line = line.replace(b"\n", b"")
    assert split_args(line) == ref_splitargs(line)


# =========================================================================== over TCP


def exchange(port: int, data: bytes, idle: float = 0.3, total: float = 5.0) -> tuple[bytes, bool]:
    """Send ``data``; return (every byte the server sent, whether it closed the connection).
    Stops reading once the server has been silent for ``idle`` seconds."""
    s = socket.create_connection(("127.0.0.1", port), timeout=total)
    try:
        s.sendall(data)
        out = b""
        deadline = time.time() + total
        while time.time() < deadline:
            r, _, _ = select.select([s], [], [], idle)
            if not r:
                return out, False
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
        return out, False
    finally:
        s.close()


_pool = ThreadPoolExecutor(4)


def both_exchange(real_port: int, engine_port: int, data: bytes, **kw):
    """The same bytes to both servers at once: ((reply, closed) from redis, from engine).
    A difference is checked again with a long idle time, so that a busy machine (a reply
    later than ``idle``) is not taken for a difference."""
    f1 = _pool.submit(exchange, real_port, data, **kw)
    f2 = _pool.submit(exchange, engine_port, data, **kw)
    want, got = f1.result(), f2.result()
    if want != got:
        kw["idle"] = 2.0
        f1 = _pool.submit(exchange, real_port, data, **kw)
        f2 = _pool.submit(exchange, engine_port, data, **kw)
        want, got = f1.result(), f2.result()
    return want, got


MALFORMED = [
    b"*2147483648\r\n",
    b"*2147483647\r\n",
    b"*999999999999\r\n",
    b"*1\r\n$999999999999\r\n",
    b"*1\r\n$536870913\r\n",
    b"*1\r\n$1073741824\r\nabc",
    b"*1\r\n$536870912\r\nabc",
    b"*-1\r\nPING\r\n",
    b"*-0\r\n",
    b"*-99999999999999999999\r\nPING\r\n",
    b"*01\r\n$4\r\nPING\r\n",
    b"*+1\r\n$4\r\nPING\r\n",
    b"* 1\r\n$4\r\nPING\r\n",
    b"*\r\n",
    b"*abc\r\n",
    b"*1\r\n$x\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$04\r\nPING\r\n",
    b"*1\r\n$+4\r\nPING\r\n",
    b"*1\r\nfoo\r\n",
    b"*1\r\nXYZ",
    b"*1\r\n\rA",
    b"*1\r\n\nA\rB",
    b"*1\rx$4\r\nPING\r\n",
    b"*1\r\n$4\rxPING\r\n",
    b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPI",
    b"*1\r",
    b"*1\n$4\nPING\n",
    b"*1\x00\r\n",
    b"*1\r\n$4\x00\r\nPING\r\n",
    b"PING\x00\r\n",
    b"PING\r\n\x00PING\r\n",
    b'ECHO "abc\r\n',
    b"ECHO 'abc\r\n",
    b'ECHO "a"b\r\n',
    b"ECHO 'a'b\r\n",
    b'ECHO "\\x41\\x4" x\r\n',
    b"ECHO 'it\\'s'\r\n",
    b"ECHO a\vb\r\n",
    b'ECHO "\\n\\r\\t\\b\\a\\z"\r\n',
    b"PI\rNG\r\n",
    b"\r\n\r\n   \r\nPING\n",
    b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n",
    b"A" * 70_000,
    b"PING\r\n" + b"A" * 70_000,
    b"*" + b"1" * 70_000,
    b"*2\r\n$" + b"9" * 70_000,
    b'SET k "' + b"v" * 70_000,
    b"*3\r\n$4\r\nECHO\r\n$1\r\na\r\n",
    b"*1\r\n$4\r\nPING\r\n" * 50 + b"*1\r\n$4\r\nP\r\n",
    # long enough for the bulk fast path (hiredis), with what only a reply may hold
    b"*1\r\n$4\r\nPING\r\n" * 12 + b"*3\r\n$4\r\nECHO\r\n+aaaaaaaaaa\r\n=5\r\ntxt:a\r\n",
    b"*1\r\n$4\r\nPING\r\n" * 12 + b"*2\r\n$4\r\nECHO\r\n$1\r\naXY$1\r\nb\r\n",
    b"*1\r\n$4\r\nPING\r\n" * 12 + b"*0\r\n*2\r\n$4\r\nECHO\r\n:1\r\n",
]


@pytest.mark.parametrize("data", MALFORMED, ids=[repr(d[:40]) for d in MALFORMED])
def test_malformed_input_same_reply_as_redis(real_node, engine_node, data):
    want, got = both_exchange(real_node.port, engine_node.port, data)
    assert got == want


def _ascii_mutations():
    return mutated_resp(alphabet=st.integers(1, 127), arg_bytes=ascii_bytes)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.one_of(_ascii_mutations(), _ascii_mutations(), inline_lines(),
                      ascii_bytes))
def test_fuzz_same_reply_as_redis(real_node, engine_node, data):
    """Random malformed input: identical reply bytes and the same close/keep decision.

    Bytes >= 0x80 and NUL bytes inside arguments have tests of their own below."""
    want, got = both_exchange(real_node.port, engine_node.port, data, idle=0.2)
    assert got == want, data


def test_high_byte_in_protocol_error(real_node, engine_node):
    want, got = both_exchange(real_node.port, engine_node.port, b"*1\r\n\xffA\rB")
    assert want == (b"-ERR Protocol error: expected '$', got '\xff'\r\n", True)
    assert got == want


@pytest.mark.parametrize("data", [b"\xffPING\xfe a\xc3\r\n",
                                  b"*2\r\n$4\r\nPI\x00G\r\n$3\r\na\x00b\r\n"])
def test_binary_unknown_command_text(real_node, engine_node, data):
    want, got = both_exchange(real_node.port, engine_node.port, data)
    assert got == want


def test_server_keeps_serving_after_bad_clients(engine_node, real_node):
    """Hostile clients (errors, stalled huge bulks, half lines) do not disturb others."""
    stalled = []
    for node in (engine_node,):
        for raw in (b"*1\r\n$536870912\r\nabc", b"*2147483647\r\n", b"PING", b"*1\r\n$4\r\nPI"):
            s = socket.create_connection(("127.0.0.1", node.port))
            s.sendall(raw)
            stalled.append(s)
    for data in MALFORMED[:20]:
        exchange(engine_node.port, data, idle=0.05)
    try:
        with RawClient(engine_node.port) as c:
            assert c.call("PING") == b"+PONG\r\n"
            assert c.call("ECHO", b"x" * 100_000) == b"$100000\r\n" + b"x" * 100_000 + b"\r\n"
        # the stalled clients are still connected and finish their request when it completes
        s = stalled[3]
        s.sendall(b"NG\r\n")
        s.settimeout(5)
        assert s.recv(100) == b"+PONG\r\n"
    finally:
        for s in stalled:
            s.close()


# --------------------------------------------------------------------------- memory


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def test_huge_bulk_claims_do_not_grow_rss(node_factory, real_node):
    # proto-max-bulk-len 2gb so that a 1 GB bulk is accepted (by default it is refused)
    node = node_factory("engine", "--proto-max-bulk-len", "2gb")
    pid = node.proc.pid
    with RawClient(node.port) as c:  # warm up the code paths once
        c.call("PING")
    before = rss_kb(pid)
    socks = []
    try:
        for i in range(30):
            s = socket.create_connection(("127.0.0.1", node.port))
            s.sendall([b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1073741824\r\nabc",
                       b"*2147483647\r\n$4\r\nECHO\r\n",
                       b"*1\r\n$536870912\r\n" + b"x" * 1000][i % 3])
            socks.append(s)
        time.sleep(0.5)
        with RawClient(node.port) as c:
            assert c.call("PING") == b"+PONG\r\n"
        grown = rss_kb(pid) - before
        assert grown < 4 * 1024, f"RSS grew by {grown} kB"
    finally:
        for s in socks:
            s.close()
    # with the default limit a 1 GB bulk is a protocol error, as in Redis
    want, got = both_exchange(real_node.port, node_factory("engine").port,
                              b"*1\r\n$1073741824\r\nabc")
    assert got == want == (b"-ERR Protocol error: invalid bulk length\r\n", True)


# --------------------------------------------------------------------------- query buffer


def _set_qbuf_limit(node_factory, kind: str):
    """A node whose client-query-buffer-limit is 1mb (CONFIG SET, or the start option
    while the engine has no CONFIG command)."""
    node = node_factory(kind)
    with RawClient(node.port) as c:
        reply = c.call("CONFIG", "SET", "client-query-buffer-limit", "1mb")
    if reply != b"+OK\r\n":
        assert kind == "engine" and reply.startswith(b"-ERR unknown command"), reply
        node.stop()
        node = node_factory(kind, "--client-query-buffer-limit", "1mb")
    return node


def test_client_query_buffer_limit(node_factory):
    nodes = [_set_qbuf_limit(node_factory, k) for k in ("real", "engine")]
    big = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n" + b"v" * 1_500_000
    results = []
    for node in nodes:
        with RawClient(node.port) as other:
            results.append(exchange(node.port, big, idle=5.0))
            assert other.call("PING") == b"+PONG\r\n"
        # a pipeline bigger than the limit is fine: it is consumed as it arrives
        pipe = b"*2\r\n$4\r\nECHO\r\n$1000\r\n" + b"e" * 1000 + b"\r\n"
        with RawClient(node.port) as c:
            c.send_raw(pipe * 1500)
            for _ in range(1500):
                assert c.read_reply() == b"$1000\r\n" + b"e" * 1000 + b"\r\n"
        # just under the limit is fine too
        with RawClient(node.port) as c:
            assert c.call("ECHO", b"u" * 1_000_000) == b"$1000000\r\n" + b"u" * 1_000_000 + b"\r\n"
        assert "Closing client that reached max query buffer length" in node.log_text()
    assert results[1] == results[0] == (b"", True)


# --------------------------------------------------------------------------- auth limits

UNAUTH_CASES = [
    b"*11\r\n",
    b"*10\r\n$4\r\nAUTH\r\n" + b"$1\r\nx\r\n" * 9,
    b"*2\r\n$4\r\nAUTH\r\n$16385\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$16384\r\n" + b"p" * 16384 + b"\r\n",
    b"*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n",
    b"AUTH " + b"q" * 20000 + b"\r\n",
    b"*1\r\n$4\r\nPING\r\n*12\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n*11\r\n",
]

# AUTH and a big request in the same packet: Redis parses one request, runs it, then parses
# the next, so the second one is already authenticated.
AUTH_THEN_BIG = [
    b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*11\r\n" + b"$4\r\nPING\r\n" * 11,
    b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n"
    + b"e" * 20000 + b"\r\n",
]


@pytest.fixture(scope="module")
def auth_nodes():
    from nodes import Node

    nodes = [Node(k, args=["--requirepass", "secret"]) for k in ("real", "engine")]
    try:
        for node in nodes:
            node.start(password="secret")
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.mark.parametrize("data", UNAUTH_CASES, ids=[repr(d[:30]) for d in UNAUTH_CASES])
def test_unauthenticated_limits(auth_nodes, data):
    real, engine = auth_nodes
    want, got = both_exchange(real.port, engine.port, data)
    assert got == want
    if data == UNAUTH_CASES[0]:
        assert want == (b"-ERR Protocol error: unauthenticated multibulk length\r\n", True)


@pytest.mark.parametrize("data", AUTH_THEN_BIG, ids=["mbulk", "bulk"])
def test_auth_then_big_request_in_one_packet(auth_nodes, data):
    real, engine = auth_nodes
    want, got = both_exchange(real.port, engine.port, data)
    assert got == want


def test_auth_then_big_request_in_separate_packets(auth_nodes):
    for node in auth_nodes:
        with RawClient(node.port) as c:
            assert c.call("AUTH", "secret") == b"+OK\r\n"
            assert c.call(*["PING"] * 11) == (
                b"-ERR wrong number of arguments for 'ping' command\r\n")
            assert c.call("ECHO", b"e" * 20000) == b"$20000\r\n" + b"e" * 20000 + b"\r\n"
