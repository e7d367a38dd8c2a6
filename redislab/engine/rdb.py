"""Redis' RDB format (version 10, as written by Redis 7.0): files, DUMP payloads, CRC64, LZF.

Public contract:

* :func:`dump` — a complete RDB file for a :class:`~redislab.engine.keyspace.Keyspace`
  (magic ``REDIS0010``, aux fields, SELECTDB/RESIZEDB per non-empty database, keys with
  EXPIRETIME_MS, values in the encodings Redis 7.0 itself uses for values of that shape —
  quicklists of listpacks, listpack hashes and sorted sets, intsets; hashtable sets/hashes
  and big sorted sets in the plain HASH/SET/ZSET_2 forms — EOF and the CRC64 trailer).
  DUMP payloads of such values are byte-identical to Redis' (LZF output aside).
* :func:`load` — read an RDB into a keyspace and return its aux fields. Every encoding Redis
  7.0 writes (and the older ones it still reads) is understood: integer and LZF strings,
  quicklists of listpacks or ziplists, ziplist/listpack/intset/zipmap compact values.
* :func:`dump_value` / :func:`load_value` — DUMP/RESTORE payloads (type byte, value,
  2-byte RDB version, CRC64 of everything before it).
* :func:`crc64` — Redis' CRC-64 (Jones polynomial, reflected, no final xor).
* :class:`RDBError` — anything wrong with the input; the message names the offset.

Values use the engine's Python types: ``bytes`` strings, ``deque`` lists, ``dict`` hashes,
``set`` sets and :class:`~redislab.engine.keyspace.ZSet` sorted sets.

The implementation follows the format as documented by Redis' sources; the code is our own.
"""

from __future__ import annotations

import math
import struct
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .config import REDIS_VERSION
from .keyspace import ZSet

if TYPE_CHECKING:  # pragma: no cover
    from .keyspace import Keyspace

RDB_VERSION = 10
MAGIC = b"REDIS%04d" % RDB_VERSION

# value types
T_STRING = 0
T_LIST = 1
T_SET = 2
T_ZSET = 3
T_HASH = 4
T_ZSET_2 = 5
T_MODULE = 6
T_MODULE_2 = 7
T_HASH_ZIPMAP = 9
T_LIST_ZIPLIST = 10
T_SET_INTSET = 11
T_ZSET_ZIPLIST = 12
T_HASH_ZIPLIST = 13
T_LIST_QUICKLIST = 14
T_STREAM_LISTPACKS = 15
T_HASH_LISTPACK = 16
T_ZSET_LISTPACK = 17
T_LIST_QUICKLIST_2 = 18
T_STREAM_LISTPACKS_2 = 19
T_SET_LISTPACK = 20  # Redis 7.2 (RDB 11); read if met

# opcodes
OP_FUNCTION2 = 245
OP_FUNCTION = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

TYPE_NAMES = {
    T_STRING: "string", T_LIST: "list", T_SET: "set", T_ZSET: "zset", T_HASH: "hash",
    T_ZSET_2: "zset-v2", T_MODULE: "module", T_MODULE_2: "module-v2",
    T_HASH_ZIPMAP: "hash-zipmap", T_LIST_ZIPLIST: "list-ziplist", T_SET_INTSET: "set-intset",
    T_ZSET_ZIPLIST: "zset-ziplist", T_HASH_ZIPLIST: "hash-ziplist",
    T_LIST_QUICKLIST: "quicklist", T_STREAM_LISTPACKS: "stream",
    T_HASH_LISTPACK: "hash-listpack", T_ZSET_LISTPACK: "zset-listpack",
    T_LIST_QUICKLIST_2: "quicklist-v2", T_STREAM_LISTPACKS_2: "stream-v2",
    T_SET_LISTPACK: "set-listpack",
}


class RDBError(Exception):
    """Malformed or unsupported RDB data. ``offset`` is where reading failed; ``kind`` is
    one of ``signature``, ``version``, ``eof``, ``corrupt``, ``checksum``, ``unsupported``,
    ``dbnum``, ``duplicate``. ``aux`` holds the aux fields read before the failure."""

    def __init__(self, message: str, offset: int | None = None, kind: str = "corrupt"):
        self.reason = message
        self.offset = offset
        self.kind = kind
        self.aux: dict[str, bytes] = {}
        text = message if offset is None else f"{message} (at offset {offset})"
        super().__init__(text)


# ====================================================================== CRC64

_POLY = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 (Jones), bit-reflected


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_T0 = _make_table()
_BLOCK = 512  # bytes per block in the column-parallel path
_FAST_MIN = 64 * 1024
_fast_tables: tuple[list[list[bytes]], list[list[int]]] | None = None


def _crc64_bytewise(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    t = _T0
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _build_fast_tables() -> tuple[list[list[bytes]], list[list[int]]]:
    """Tables for the column-parallel CRC.

    A block of L bytes fed into a zero register yields XOR over positions j of
    ``contrib_j[byte]``, where ``contrib_j[b]`` is the register after b followed by
    L-1-j zero bytes. Each contribution is split into its 8 bytes so that
    ``bytes.translate`` can look up a whole column of blocks at once. Blocks are then
    chained with a table-driven "advance the register over L zero bytes" map.
    """
    t0 = _T0
    L = _BLOCK
    by_pos: list[list[bytes]] = [[] for _ in range(L)]
    cur = list(t0)
    for d in range(L):
        packed = b"".join([v.to_bytes(8, "little") for v in cur])
        by_pos[L - 1 - d] = [packed[k::8] for k in range(8)]
        cur = [t0[c & 0xFF] ^ (c >> 8) for c in cur]
    basis = []
    for i in range(64):
        c = 1 << i
        for _ in range(L):
            c = t0[c & 0xFF] ^ (c >> 8)
        basis.append(c)
    shift: list[list[int]] = []
    for k in range(8):
        tab = []
        for b in range(256):
            v = 0
            for i in range(8):
                if b >> i & 1:
                    v ^= basis[8 * k + i]
            tab.append(v)
        shift.append(tab)
    return by_pos, shift


def crc64(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """Redis' crc64(crc, data): Jones polynomial, reflected in and out, no final xor.
    ``crc64(b"123456789") == 0xe9c6d914c4b8d9ca``."""
    n = len(data)
    if n < _FAST_MIN:
        return _crc64_bytewise(data, crc)
    global _fast_tables
    if _fast_tables is None:
        _fast_tables = _build_fast_tables()
    by_pos, shift = _fast_tables
    L = _BLOCK
    m = n // L
    body = bytes(data[: m * L])
    acc = 0
    fb = int.from_bytes
    join = b"".join
    for j in range(L):
        col = body[j::L]
        t = by_pos[j]
        acc ^= fb(join((col.translate(t[0]), col.translate(t[1]), col.translate(t[2]),
                        col.translate(t[3]), col.translate(t[4]), col.translate(t[5]),
                        col.translate(t[6]), col.translate(t[7]))), "little")
    planes = acc.to_bytes(8 * m, "little")
    inter = bytearray(8 * m)
    for k in range(8):
        inter[k::8] = planes[k * m:(k + 1) * m]
    z0, z1, z2, z3, z4, z5, z6, z7 = shift
    for bc in struct.unpack("<%dQ" % m, inter):
        crc = (z0[crc & 0xFF] ^ z1[(crc >> 8) & 0xFF] ^ z2[(crc >> 16) & 0xFF]
               ^ z3[(crc >> 24) & 0xFF] ^ z4[(crc >> 32) & 0xFF] ^ z5[(crc >> 40) & 0xFF]
               ^ z6[(crc >> 48) & 0xFF] ^ z7[crc >> 56] ^ bc)
    return _crc64_bytewise(data[m * L:], crc)


# ====================================================================== LZF


def lzf_decompress(data: bytes, out_len: int) -> bytes:
    """Decompress LZF data that must expand to exactly ``out_len`` bytes."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n:
                raise ValueError("literal run past the end of input")
            out += data[i:i + run]
            i += run
        else:
            length = ctrl >> 5
            if i >= n:
                raise ValueError("back reference past the end of input")
            if length == 7:
                length += data[i]
                i += 1
                if i >= n:
                    raise ValueError("back reference past the end of input")
            ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
            i += 1
            length += 2
            if ref < 0:
                raise ValueError("back reference before the start of output")
            if ref + length <= len(out):
                out += out[ref:ref + length]
            else:
                dist = len(out) - ref
                chunk = out[ref:]
                reps = length // dist + 1
                out += (chunk * reps)[:length]
        if len(out) > out_len:
            raise ValueError("output longer than announced")
    if len(out) != out_len:
        raise ValueError("output shorter than announced")
    return bytes(out)


def lzf_compress(data: bytes, max_out: int) -> bytes | None:
    """LZF-compress ``data``; None if the result would exceed ``max_out`` bytes (or the
    data does not look compressible). Greedy matching on 3-byte prefixes."""
    n = len(data)
    if n < 4:
        return None
    out = bytearray()
    table: dict[bytes, int] = {}
    i = 0
    lit = 0
    last = n - 2
    checkpoint = 4096
    while i < last:
        key = data[i:i + 3]
        ref = table.get(key)
        table[key] = i
        if ref is None or i - ref > 8192:
            i += 1
            if i >= checkpoint:
                checkpoint += 4096
                if len(out) + (i - lit) * 33 // 32 > i - i // 64:
                    return None  # no useful gain so far
            continue
        maxlen = min(264, n - i)
        length = 3
        while length + 16 <= maxlen and data[ref + length:ref + length + 16] == \
                data[i + length:i + length + 16]:
            length += 16
        while length < maxlen and data[ref + length] == data[i + length]:
            length += 1
        while lit < i:  # pending literals, 32 at most per run
            run = min(32, i - lit)
            out.append(run - 1)
            out += data[lit:lit + run]
            lit += run
        off = i - ref - 1
        enc = length - 2
        if enc < 7:
            out.append((enc << 5) | (off >> 8))
        else:
            out.append((7 << 5) | (off >> 8))
            out.append(enc - 7)
        out.append(off & 0xFF)
        if length > 3:
            table[data[i + length - 2:i + length + 1]] = i + length - 2
        i += length
        lit = i
        if len(out) > max_out:
            return None
    while lit < n:
        run = min(32, n - lit)
        out.append(run - 1)
        out += data[lit:lit + run]
        lit += run
    if len(out) > max_out:
        return None
    return bytes(out)


# ====================================================================== writing

_LEN_CACHE = [bytes((n,)) for n in range(64)] + [
    bytes((0x40 | (n >> 8), n & 0xFF)) for n in range(64, 16384)
]
_pack_b = struct.Struct("<b").pack
_pack_h = struct.Struct("<h").pack
_pack_i = struct.Struct("<i").pack
_pack_d = struct.Struct("<d").pack
_pack_q = struct.Struct("<q").pack


def _enc_len(n: int) -> bytes:
    if n < 16384:
        return _LEN_CACHE[n]
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


_INT_START = frozenset(b"-0123456789")


def _enc_str(s: bytes, compress: bool = False) -> bytes:
    """A string as rdbSaveRawString writes it: small integers in INT8/16/32, long strings
    LZF-compressed when asked and worth it, the rest length-prefixed."""
    n = len(s)
    if n <= 11 and n and s[0] in _INT_START:
        try:
            v = int(s)
        except ValueError:
            v = None
        if v is not None and str(v).encode() == s:
            if -128 <= v <= 127:
                return b"\xc0" + _pack_b(v)
            if -32768 <= v <= 32767:
                return b"\xc1" + _pack_h(v)
            if -2147483648 <= v <= 2147483647:
                return b"\xc2" + _pack_i(v)
    if compress and n > 20:
        return _Compressible(s)  # type: ignore[return-value]
    if n < 16384:
        return _LEN_CACHE[n] + s
    return _enc_len(n) + s


class _Compressible:
    """A string to be written LZF-compressed when worth it. Encoding is deferred so the
    expensive part can run outside the event loop (strings are immutable)."""

    __slots__ = ("s",)

    def __init__(self, s: bytes):
        self.s = s

    def encode(self) -> bytes:
        s = self.s
        n = len(s)
        comp = lzf_compress(s, n - 4)
        if comp is not None:
            return b"\xc3" + _enc_len(len(comp)) + _enc_len(n) + comp
        return _enc_len(n) + s


def assemble(parts: list[Any]) -> bytes:
    """Join the parts made by :func:`dump_parts`, compressing the deferred strings."""
    return b"".join([p if type(p) is bytes else p.encode() for p in parts])


class Limits:
    """The conversion thresholds that decide when Redis keeps a value in a compact encoding
    (hash/zset listpacks, intsets, quicklist node size). Defaults are Redis' compiled-in
    ones (hash-max-listpack-entries is 512 there; redis.conf ships 128)."""

    __slots__ = ("hash_entries", "hash_value", "set_intset", "zset_entries", "zset_value",
                 "list_fill")

    def __init__(self, hash_entries: int = 512, hash_value: int = 64, set_intset: int = 512,
                 zset_entries: int = 128, zset_value: int = 64, list_fill: int = -2):
        self.hash_entries = hash_entries
        self.hash_value = hash_value
        self.set_intset = set_intset
        self.zset_entries = zset_entries
        self.zset_value = zset_value
        self.list_fill = list_fill

    @classmethod
    def from_config(cls, cfg: Any) -> "Limits":
        return cls(cfg["hash-max-listpack-entries"], cfg["hash-max-listpack-value"],
                   cfg["set-max-intset-entries"], cfg["zset-max-listpack-entries"],
                   cfg["zset-max-listpack-value"], cfg["list-max-listpack-size"])


DEFAULT_LIMITS = Limits()
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _as_int64(s: bytes) -> int | None:
    """The value of a canonical integer string (string2ll / lpStringToInt64), else None."""
    n = len(s)
    if not n or n > 20 or s[0] not in _INT_START:
        return None
    try:
        v = int(s)
    except ValueError:
        return None
    if INT64_MIN <= v <= INT64_MAX and str(v).encode() == s:
        return v
    return None


def _backlen(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                      (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128,
                  ((n >> 7) & 127) | 128, (n & 127) | 128))


def _lp_int_entry(v: int) -> bytes:
    if 0 <= v <= 127:
        return bytes((v, 1))
    if -4096 <= v <= 4095:
        u = v & 0x1FFF
        return bytes((0xC0 | (u >> 8), u & 0xFF, 2))
    if -32768 <= v <= 32767:
        return b"\xf1" + v.to_bytes(2, "little", signed=True) + b"\x03"
    if -8388608 <= v <= 8388607:
        return b"\xf2" + v.to_bytes(3, "little", signed=True) + b"\x04"
    if -2147483648 <= v <= 2147483647:
        return b"\xf3" + v.to_bytes(4, "little", signed=True) + b"\x05"
    return b"\xf4" + v.to_bytes(8, "little", signed=True) + b"\x09"


def _lp_entry(e: bytes) -> bytes:
    """One listpack entry (encoding, data, backlen) as lpAppend writes it."""
    v = _as_int64(e) if len(e) <= 20 else None
    if v is not None:
        return _lp_int_entry(v)
    n = len(e)
    if n < 64:
        head = bytes((0x80 | n,))
    elif n < 4096:
        head = bytes((0xE0 | (n >> 8), n & 0xFF))
    else:
        head = b"\xf0" + n.to_bytes(4, "little")
    return head + e + _backlen(len(head) + n)


def _listpack(entries: list[bytes]) -> bytes:
    """A listpack from already encoded entries."""
    total = 7 + sum(map(len, entries))
    count = len(entries) if len(entries) < 65535 else 65535
    return b"".join((total.to_bytes(4, "little"), count.to_bytes(2, "little"), *entries,
                     b"\xff"))


_QL_LEVELS = (4096, 8192, 16384, 32768, 65536)


def _ql_allow_insert(node_sz: int, sz: int, count: int, fill: int) -> bool:
    """_quicklistNodeAllowInsert: may an element of ``sz`` bytes join this node?"""
    new_sz = node_sz + sz + 8
    if fill < 0:
        off = -fill - 1
        if off < len(_QL_LEVELS) and new_sz <= _QL_LEVELS[off]:
            return True
    if new_sz > 8192:
        return False
    return count < fill


def _quicklist_nodes(items: Any, fill: int) -> list[list[bytes]]:
    """Split list elements into listpack nodes the way RPUSH fills a quicklist."""
    nodes: list[list[bytes]] = []
    cur: list[bytes] = []
    cur_sz = 0
    for e in items:
        enc = _lp_entry(e)
        if cur and _ql_allow_insert(cur_sz, len(e), len(cur), fill):
            cur.append(enc)
            cur_sz += len(enc)
        else:
            if cur:
                nodes.append(cur)
            cur = [enc]
            cur_sz = 7 + len(enc)
    if cur:
        nodes.append(cur)
    return nodes


def _intset(values: list[int]) -> bytes:
    lo, hi = min(values), max(values)
    if -32768 <= lo and hi <= 32767:
        width, fmt = 2, "h"
    elif -2147483648 <= lo and hi <= 2147483647:
        width, fmt = 4, "i"
    else:
        width, fmt = 8, "q"
    values.sort()
    return struct.pack("<II%d%s" % (len(values), fmt), width, len(values), *values)


def _score_entry(score: float) -> bytes:
    """A zset listpack score: an integer when the double is integral (double2ll), else
    its d2string text."""
    if score == score and -4611686018427387903.0 <= score <= 4611686018427387903.0:
        iv = int(score)
        if iv == score:
            return _lp_int_entry(iv)
    if score == math.inf:
        text = b"inf"
    elif score == -math.inf:
        text = b"-inf"
    else:
        text = b"%.17g" % score
    return _lp_entry(text)


def _enc_value(value: Any, out: list[bytes], compress: bool,
               limits: Limits = DEFAULT_LIMITS) -> int:
    """Append the serialized value to ``out`` (in the encoding Redis would use for a value
    built the usual way); return its RDB type."""
    t = type(value)
    if t is bytes or isinstance(value, (bytes, bytearray)):
        out.append(_enc_str(bytes(value), compress))
        return T_STRING
    if t is deque:
        nodes = _quicklist_nodes(value, limits.list_fill)
        out.append(_enc_len(len(nodes)))
        for node in nodes:
            out.append(b"\x02")  # QUICKLIST_NODE_CONTAINER_PACKED
            out.append(_enc_str(_listpack(node), compress))
        return T_LIST_QUICKLIST_2
    if t is set:
        if len(value) <= limits.set_intset:
            ints = []
            for e in value:
                v = _as_int64(e)
                if v is None:
                    break
                ints.append(v)
            else:
                if ints:
                    out.append(_enc_str(_intset(ints), compress))
                    return T_SET_INTSET
        out.append(_enc_len(len(value)))
        out.extend([_enc_str(e, compress) for e in value])
        return T_SET
    if t is dict:
        lim = limits.hash_value
        if len(value) <= limits.hash_entries and all(
                len(f) <= lim and len(v) <= lim for f, v in value.items()):
            entries = []
            for f, v in value.items():
                entries.append(_lp_entry(f))
                entries.append(_lp_entry(v))
            out.append(_enc_str(_listpack(entries), compress))
            return T_HASH_LISTPACK
        out.append(_enc_len(len(value)))
        for f, v in value.items():
            out.append(_enc_str(f, compress))
            out.append(_enc_str(v, compress))
        return T_HASH
    if t is ZSet:
        order = value.order
        if len(order) <= limits.zset_entries and all(
                len(m) <= limits.zset_value for _, m in order):
            entries = []
            for score, member in order:
                entries.append(_lp_entry(member))
                entries.append(_score_entry(score))
            out.append(_enc_str(_listpack(entries), compress))
            return T_ZSET_LISTPACK
        out.append(_enc_len(len(order)))
        # like Redis, from the highest score down (the skiplist is walked from its tail)
        for score, member in reversed(order):
            out.append(_enc_str(member, compress))
            out.append(_pack_d(score))
        return T_ZSET_2
    raise TypeError(f"cannot serialize a {t.__name__} value")


def _aux_value(value: str | int | bytes) -> bytes:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


def dump_body(keyspace: "Keyspace", aux: dict[str, str | int | bytes] | None = None, *,
              compress: bool = False, used_mem: int | None = None,
              limits: Limits | None = None) -> bytes:
    """Everything of an RDB file up to and including the EOF opcode (no checksum)."""
    return assemble(dump_parts(keyspace, aux, compress=compress, used_mem=used_mem,
                               limits=limits))


def dump_parts(keyspace: "Keyspace", aux: dict[str, str | int | bytes] | None = None, *,
               compress: bool = False, used_mem: int | None = None,
               limits: Limits | None = None) -> list[Any]:
    """The RDB body as parts for :func:`assemble`: this walks the keyspace (do it where the
    data cannot change), ``assemble`` may then run in another thread."""
    out: list[bytes] = [MAGIC]
    fields: dict[str, str | int | bytes] = {
        "redis-ver": REDIS_VERSION,
        "redis-bits": 64,
        "ctime": int(time.time()),
        "used-mem": used_mem if used_mem is not None else _estimate_used_mem(keyspace),
    }
    extra = dict(aux or {})
    aof_base = extra.pop("aof-base", 0)
    fields.update(extra)
    fields["aof-base"] = aof_base
    for name, value in fields.items():
        out.append(b"\xfa")
        out.append(_enc_str(name.encode()))
        out.append(_enc_str(_aux_value(value)))
    lim = limits or DEFAULT_LIMITS
    for db in keyspace.dbs:
        data = db.data
        if not data:
            continue
        expires = db.expires
        out.append(b"\xfe" + _enc_len(db.index))
        out.append(b"\xfb" + _enc_len(len(data)) + _enc_len(len(expires)))
        for key, value in data.items():
            if expires:
                when = expires.get(key)
                if when is not None:
                    out.append(b"\xfc" + _pack_q(when))
            pos = len(out)
            out.append(b"")  # type byte placeholder
            out.append(_enc_str(key, compress))
            out[pos] = bytes((_enc_value(value, out, compress, lim),))
    out.append(b"\xff")
    return out


def finish(body: bytes, checksum: bool = True) -> bytes:
    """Append the CRC64 trailer to an RDB body (zero when checksums are disabled)."""
    crc = crc64(body) if checksum else 0
    return body + crc.to_bytes(8, "little")


def dump(keyspace: "Keyspace", aux: dict[str, str | int | bytes] | None = None, *,
         compress: bool = False, checksum: bool = True, limits: Limits | None = None) -> bytes:
    """A complete RDB file (version 10) holding every database of ``keyspace``.

    ``aux`` adds fields after redis-ver/redis-bits/ctime/used-mem (e.g. repl-id,
    repl-offset, repl-stream-db); ``aof-base`` is written last (0 unless given)."""
    return finish(dump_body(keyspace, aux, compress=compress, limits=limits), checksum)


def _estimate_used_mem(keyspace: "Keyspace") -> int:
    """A rough figure for the used-mem aux field (Redis writes zmalloc_used_memory)."""
    base = 900 * 1024
    keys = 0
    for db in keyspace.dbs:
        keys += len(db.data)
    return base + keys * 64


def dump_value(value: Any, *, compress: bool = False, limits: Limits | None = None) -> bytes:
    """A DUMP payload: type byte + value + RDB version (2 bytes LE) + CRC64 (8 bytes LE)."""
    out: list[bytes] = [b""]
    out[0] = bytes((_enc_value(value, out, compress, limits or DEFAULT_LIMITS),))
    out.append(RDB_VERSION.to_bytes(2, "little"))
    payload = assemble(out)
    return payload + crc64(payload).to_bytes(8, "little")


# ====================================================================== reading

_unpack_b = struct.Struct("<b").unpack_from
_unpack_h = struct.Struct("<h").unpack_from
_unpack_i = struct.Struct("<i").unpack_from
_unpack_q = struct.Struct("<q").unpack_from
_unpack_d = struct.Struct("<d").unpack_from
_unpack_f = struct.Struct("<f").unpack_from
_unpack_H = struct.Struct("<H").unpack_from
_unpack_I = struct.Struct("<I").unpack_from
# RDB_ENC_INT8, RDB_ENC_INT16, RDB_ENC_INT32: (reader, size)
_INT_ENCODINGS = ((_unpack_b, 1), (_unpack_h, 2), (_unpack_i, 4))


class _Reader:
    __slots__ = ("buf", "pos", "end", "base")

    def __init__(self, buf: bytes, pos: int = 0, base: int = 0):
        self.buf = buf
        self.pos = pos
        self.end = len(buf)
        self.base = base  # added to offsets in messages

    def fail(self, message: str, kind: str = "corrupt", at: int | None = None) -> RDBError:
        return RDBError(message, self.base + (self.pos if at is None else at), kind)

    def eof(self) -> RDBError:
        return self.fail("Unexpected EOF reading RDB file", "eof")

    def byte(self) -> int:
        p = self.pos
        if p >= self.end:
            raise self.eof()
        self.pos = p + 1
        return self.buf[p]

    def read(self, n: int) -> bytes:
        p = self.pos
        q = p + n
        if q > self.end:
            raise self.eof()
        self.pos = q
        return self.buf[p:q]

    def length(self) -> tuple[int, bool]:
        """(length, is_encoded): the RDB length encoding; for a special string encoding
        ``is_encoded`` is True and the value is the encoding type."""
        p = self.pos
        buf = self.buf
        if p >= self.end:
            raise self.eof()
        first = buf[p]
        kind = first >> 6
        if kind == 0:
            self.pos = p + 1
            return first & 0x3F, False
        if kind == 1:
            if p + 2 > self.end:
                raise self.eof()
            self.pos = p + 2
            return ((first & 0x3F) << 8) | buf[p + 1], False
        if kind == 3:
            self.pos = p + 1
            return first & 0x3F, True
        if first == 0x80:
            if p + 5 > self.end:
                raise self.eof()
            self.pos = p + 5
            return int.from_bytes(buf[p + 1:p + 5], "big"), False
        if first == 0x81:
            if p + 9 > self.end:
                raise self.eof()
            self.pos = p + 9
            return int.from_bytes(buf[p + 1:p + 9], "big"), False
        raise self.fail(f"Unknown length encoding {first} in rdbLoadLen()")

    def plain_len(self) -> int:
        n, enc = self.length()
        if enc:
            raise self.fail("Unexpected string encoding where a length was expected")
        return n

    def string(self) -> bytes:
        n, enc = self.length()
        if not enc:
            p = self.pos
            q = p + n
            if q > self.end:
                raise self.eof()
            self.pos = q
            return self.buf[p:q]
        if n <= 2:  # RDB_ENC_INT8 / INT16 / INT32
            unpack, size = _INT_ENCODINGS[n]
            p = self.pos
            if p + size > self.end:
                raise self.eof()
            self.pos = p + size
            return str(unpack(self.buf, p)[0]).encode()
        if n == 3:
            start = self.pos
            clen = self.plain_len()
            ulen = self.plain_len()
            comp = self.read(clen)
            try:
                return lzf_decompress(comp, ulen)
            except ValueError:
                raise self.fail("Invalid LZF compressed string", at=start) from None
        raise self.fail(f"Unknown RDB string encoding type {n}")

    def double_str(self) -> float:
        """The old ZSET score format: a length byte then ASCII (253 nan, 254 inf, 255 -inf)."""
        n = self.byte()
        if n == 255:
            return -math.inf
        if n == 254:
            return math.inf
        if n == 253:
            return math.nan
        text = self.read(n)
        try:
            return float(text)
        except ValueError:
            raise self.fail("Invalid double value") from None

    def binary_double(self) -> float:
        p = self.pos
        if p + 8 > self.end:
            raise self.eof()
        self.pos = p + 8
        return _unpack_d(self.buf, p)[0]


# ---------------------------------------------------------------- compact encodings


def _check_end(blob: bytes, i: int, count_at: int, found: int, kind: str) -> None:
    """The end of a listpack or ziplist walk: the terminator at ``i`` is the last byte and
    the element count in the header (at ``count_at``; 65535: not counted) is ``found``."""
    if i != len(blob) - 1:
        raise ValueError(f"data after {kind} terminator")
    count = _unpack_H(blob, count_at)[0]
    if count != 65535 and count != found:
        raise ValueError(f"{kind} element count mismatch")


def listpack_entries(lp: bytes) -> list[bytes]:
    """The elements of a listpack, integers rendered as decimal strings."""
    n = len(lp)
    if n < 7:
        raise ValueError("listpack too short")
    total = _unpack_I(lp, 0)[0]
    if total != n:
        raise ValueError("listpack size mismatch")
    out: list[bytes] = []
    append = out.append
    i = 6
    while True:
        if i >= n:
            raise ValueError("listpack without terminator")
        b = lp[i]
        if b < 0x80:  # 7 bit uint
            append(str(b).encode())
            size = 1
        elif b < 0xC0:  # 6 bit string
            ln = b & 0x3F
            append(lp[i + 1:i + 1 + ln])
            size = 1 + ln
        elif b < 0xE0:  # 13 bit int
            if i + 1 >= n:
                raise ValueError("truncated listpack entry")
            v = ((b & 0x1F) << 8) | lp[i + 1]
            if v >= 4096:
                v -= 8192
            append(str(v).encode())
            size = 2
        elif b < 0xF0:  # 12 bit string
            if i + 1 >= n:
                raise ValueError("truncated listpack entry")
            ln = ((b & 0x0F) << 8) | lp[i + 1]
            append(lp[i + 2:i + 2 + ln])
            size = 2 + ln
        elif b == 0xF0:  # 32 bit string
            ln = _unpack_I(lp, i + 1)[0]
            append(lp[i + 5:i + 5 + ln])
            size = 5 + ln
        elif b == 0xF1:
            append(str(_unpack_h(lp, i + 1)[0]).encode())
            size = 3
        elif b == 0xF2:
            v = int.from_bytes(lp[i + 1:i + 4], "little", signed=True)
            append(str(v).encode())
            size = 4
        elif b == 0xF3:
            append(str(_unpack_i(lp, i + 1)[0]).encode())
            size = 5
        elif b == 0xF4:
            append(str(_unpack_q(lp, i + 1)[0]).encode())
            size = 9
        elif b == 0xFF:
            break
        else:
            raise ValueError(f"bad listpack encoding byte {b:#x}")
        if size <= 127:
            back = 1
        elif size < 16383:
            back = 2
        elif size < 2097151:
            back = 3
        elif size < 268435455:
            back = 4
        else:
            back = 5
        i += size + back
        if i > n - 1:
            raise ValueError("listpack entry past the end")
    _check_end(lp, i, 4, len(out), "listpack")
    return out


def ziplist_entries(zl: bytes) -> list[bytes]:
    """The elements of a ziplist, integers rendered as decimal strings."""
    n = len(zl)
    if n < 11:
        raise ValueError("ziplist too short")
    if _unpack_I(zl, 0)[0] != n:
        raise ValueError("ziplist size mismatch")
    out: list[bytes] = []
    append = out.append
    i = 10
    while True:
        if i >= n:
            raise ValueError("ziplist without terminator")
        if zl[i] == 0xFF:
            break
        # previous entry length
        i += 5 if zl[i] == 0xFE else 1
        if i >= n:
            raise ValueError("truncated ziplist entry")
        enc = zl[i]
        top = enc >> 6
        if top == 0:
            ln = enc & 0x3F
            append(zl[i + 1:i + 1 + ln])
            i += 1 + ln
        elif top == 1:
            ln = ((enc & 0x3F) << 8) | zl[i + 1]
            append(zl[i + 2:i + 2 + ln])
            i += 2 + ln
        elif top == 2:
            ln = int.from_bytes(zl[i + 1:i + 5], "big")
            append(zl[i + 5:i + 5 + ln])
            i += 5 + ln
        elif enc == 0xC0:
            append(str(_unpack_h(zl, i + 1)[0]).encode())
            i += 3
        elif enc == 0xD0:
            append(str(_unpack_i(zl, i + 1)[0]).encode())
            i += 5
        elif enc == 0xE0:
            append(str(_unpack_q(zl, i + 1)[0]).encode())
            i += 9
        elif enc == 0xF0:
            append(str(int.from_bytes(zl[i + 1:i + 4], "little", signed=True)).encode())
            i += 4
        elif enc == 0xFE:
            append(str(_unpack_b(zl, i + 1)[0]).encode())
            i += 2
        elif 0xF1 <= enc <= 0xFD:
            append(str((enc & 0x0F) - 1).encode())
            i += 1
        else:
            raise ValueError(f"bad ziplist encoding byte {enc:#x}")
        if i > n - 1:
            raise ValueError("ziplist entry past the end")
    _check_end(zl, i, 8, len(out), "ziplist")
    return out


def intset_members(blob: bytes) -> list[bytes]:
    if len(blob) < 8:
        raise ValueError("intset too short")
    width = _unpack_I(blob, 0)[0]
    count = _unpack_I(blob, 4)[0]
    fmt = {2: "h", 4: "i", 8: "q"}.get(width)
    if fmt is None:
        raise ValueError(f"bad intset encoding {width}")
    if len(blob) != 8 + width * count:
        raise ValueError("intset size mismatch")
    values = struct.unpack_from("<%d%s" % (count, fmt), blob, 8)
    return [str(v).encode() for v in values]


def zipmap_pairs(zm: bytes) -> list[bytes]:
    """Field/value strings of an old zipmap-encoded hash, flattened."""
    out: list[bytes] = []
    i = 1
    n = len(zm)

    def get_len() -> int:
        nonlocal i
        b = zm[i]
        if b < 254:
            i += 1
            return b
        if b == 254:
            v = _unpack_I(zm, i + 1)[0]
            i += 5
            return v
        return -1

    while True:
        if i >= n:
            raise ValueError("zipmap without terminator")
        flen = get_len()
        if flen < 0:
            break
        out.append(zm[i:i + flen])
        i += flen
        vlen = get_len()
        if vlen < 0:
            raise ValueError("zipmap field without value")
        free = zm[i]
        i += 1
        out.append(zm[i:i + vlen])
        i += vlen + free
        if i > n:
            raise ValueError("zipmap entry past the end")
    return out


# ---------------------------------------------------------------- objects


def _pairs_to_hash(items: list[bytes], r: _Reader, at: int) -> dict[bytes, bytes]:
    if len(items) % 2:
        raise r.fail("Hash with an odd number of elements", at=at)
    h = dict(zip(items[0::2], items[1::2]))
    if len(h) * 2 != len(items):
        raise r.fail("Hash with dup elements", at=at)
    return h


def _zset_from_pairs(pairs: list[tuple[bytes, float]], r: _Reader, at: int) -> ZSet:
    z = ZSet()
    scores = dict(pairs)
    if len(scores) != len(pairs):
        raise r.fail("Duplicate zset fields detected", at=at)
    for _, s in pairs:
        if s != s:
            raise r.fail("Zset with NAN score detected", at=at)
    z.scores = scores
    z.order = sorted([(s, m) for m, s in pairs])
    return z


def _score(raw: bytes) -> float:
    v = float(raw)
    if v != v:
        raise ValueError("nan score")
    return v


def _skip_module_value(r: _Reader) -> None:
    """Skip a module value stored with the self-describing opcodes (RDB v2 modules)."""
    while True:
        op = r.plain_len()
        if op == 0:  # EOF
            return
        if op in (1, 2):  # SINT / UINT
            r.plain_len()
        elif op == 3:  # FLOAT
            r.read(4)
        elif op == 4:  # DOUBLE
            r.read(8)
        elif op == 5:  # STRING
            r.string()
        else:
            raise r.fail(f"Unknown module opcode {op}")


def _read_object(r: _Reader, rtype: int) -> Any:
    """Read one value of RDB type ``rtype``. Returns None for an empty aggregate."""
    at = r.pos
    if rtype == T_STRING:
        return r.string()
    if rtype == T_LIST:
        n = r.plain_len()
        string = r.string
        return deque([string() for _ in range(n)]) if n else None
    if rtype == T_SET:
        n = r.plain_len()
        string = r.string
        s = {string() for _ in range(n)}
        if len(s) != n:
            raise r.fail("Duplicate set members detected", at=at)
        return s or None
    if rtype in (T_ZSET, T_ZSET_2):
        n = r.plain_len()
        pairs = []
        string = r.string
        score = r.binary_double if rtype == T_ZSET_2 else r.double_str
        for _ in range(n):
            m = string()
            pairs.append((m, score()))
        return _zset_from_pairs(pairs, r, at) if pairs else None
    if rtype == T_HASH:
        n = r.plain_len()
        h: dict[bytes, bytes] = {}
        string = r.string
        for _ in range(n):
            f = string()
            v = string()
            if f in h:
                raise r.fail("Duplicate hash fields detected", at=at)
            h[f] = v
        return h or None
    if rtype in (T_LIST_QUICKLIST, T_LIST_QUICKLIST_2):
        n = r.plain_len()
        items: deque[bytes] = deque()
        for _ in range(n):
            container = 2
            if rtype == T_LIST_QUICKLIST_2:
                container = r.plain_len()
                if container not in (1, 2):
                    raise r.fail("Quicklist integrity check failed.")
            node_at = r.pos
            blob = r.string()
            if not blob:
                raise r.fail("Empty quicklist node", at=node_at)
            if container == 1:  # plain node: one element
                items.append(blob)
                continue
            try:
                if rtype == T_LIST_QUICKLIST_2:
                    items.extend(listpack_entries(blob))
                else:
                    items.extend(ziplist_entries(blob))
            except (ValueError, struct.error) as exc:
                what = "Listpack" if rtype == T_LIST_QUICKLIST_2 else "Ziplist"
                raise r.fail(f"{what} integrity check failed. ({exc})", at=node_at) from None
        return items or None
    if rtype in (T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST,
                 T_HASH_LISTPACK, T_ZSET_LISTPACK, T_SET_LISTPACK):
        blob = r.string()
        try:
            if rtype == T_SET_INTSET:
                members = intset_members(blob)
                s = set(members)
                if len(s) != len(members):
                    raise ValueError("duplicate intset members")
                return s or None
            if rtype == T_HASH_ZIPMAP:
                return _pairs_to_hash(zipmap_pairs(blob), r, at) or None
            entries = (listpack_entries(blob)
                       if rtype in (T_HASH_LISTPACK, T_ZSET_LISTPACK, T_SET_LISTPACK)
                       else ziplist_entries(blob))
            if rtype == T_LIST_ZIPLIST:
                return deque(entries) or None
            if rtype == T_SET_LISTPACK:
                s = set(entries)
                if len(s) != len(entries):
                    raise ValueError("duplicate set members")
                return s or None
            if rtype in (T_HASH_ZIPLIST, T_HASH_LISTPACK):
                return _pairs_to_hash(entries, r, at) or None
            # sorted set: member, score, member, score...
            if len(entries) % 2:
                raise ValueError("odd number of elements")
            pairs = [(entries[i], _score(entries[i + 1])) for i in range(0, len(entries), 2)]
            return _zset_from_pairs(pairs, r, at) if pairs else None
        except (ValueError, struct.error, IndexError) as exc:
            what = TYPE_NAMES.get(rtype, str(rtype))
            raise r.fail(f"{what} integrity check failed ({exc})", at=at) from None
    if rtype in (T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_2):
        raise r.fail("stream values are not supported by the redislab engine", "unsupported",
                     at=at)
    if rtype in (T_MODULE, T_MODULE_2):
        raise r.fail("The RDB file contains module data I can't load: the redislab engine "
                     "has no modules", "unsupported", at=at)
    raise r.fail(f"Unknown RDB encoding type {rtype}", at=at)


class LoadResult(dict):
    """The aux fields of a loaded RDB (name -> raw value), plus loading statistics."""

    def __init__(self) -> None:
        super().__init__()
        self.version = 0
        self.keys_loaded = 0
        self.keys_expired = 0
        self.empty_keys_skipped: list[tuple[int, bytes]] = []
        self.functions: list[bytes] = []
        self.module_aux_skipped = 0
        self.checksum = "ok"  # ok | disabled | mismatch-ignored | none (version < 5)
        self.end = 0  # offset just after the checksum (start of any AOF tail)
        self.expired_keys: list[tuple[int, bytes]] = []


def load(data: bytes, keyspace: "Keyspace", *, is_master: bool = True,
         aof_preamble: bool = False, allow_dup: bool = False, verify_checksum: bool = True,
         now_ms: int | None = None) -> LoadResult:
    """Load an RDB into ``keyspace`` (which the caller has flushed) and return its aux fields.

    Keys whose expire time has passed are skipped when ``is_master`` and not loading an
    AOF base (``aof_preamble``), as Redis does; the result counts them. Raises
    :class:`RDBError` for anything malformed or unsupported."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    res = LoadResult()
    r = _Reader(data)
    try:
        _load_into(r, data, keyspace, res, is_master, aof_preamble, allow_dup,
                   verify_checksum, now_ms)
    except RDBError as exc:
        exc.aux = dict(res)
        raise
    except (struct.error, IndexError) as exc:  # defensive: malformed input
        err = r.fail(f"Corrupt RDB data ({exc})")
        err.aux = dict(res)
        raise err from None
    return res


def _load_into(r: _Reader, data: bytes, keyspace: "Keyspace", res: LoadResult,
               is_master: bool, aof_preamble: bool, allow_dup: bool,
               verify_checksum: bool, now_ms: int | None) -> None:
    if len(data) < 9:
        raise r.fail("Unexpected EOF reading RDB file", "eof")
    if data[:5] != b"REDIS":
        raise r.fail("Wrong signature trying to load DB from file", "signature", at=0)
    try:
        version = int(data[5:9])
    except ValueError:
        version = 0
    if version < 1 or version > RDB_VERSION:
        raise r.fail(f"Can't handle RDB format version {version}", "version", at=5)
    res.version = version
    r.pos = 9
    now = int(time.time() * 1000) if now_ms is None else now_ms
    dbs = keyspace.dbs
    db = dbs[0]
    expire = -1
    string = r.string
    while True:
        op_at = r.pos
        op = r.byte()
        if op == OP_EXPIRETIME:
            p = r.pos
            r.read(4)
            expire = _unpack_i(data, p)[0] * 1000
            continue
        if op == OP_EXPIRETIME_MS:
            p = r.pos
            r.read(8)
            expire = _unpack_q(data, p)[0]
            continue
        if op == OP_FREQ:
            r.byte()
            continue
        if op == OP_IDLE:
            r.plain_len()
            continue
        if op == OP_EOF:
            break
        if op == OP_SELECTDB:
            dbid = r.plain_len()
            if dbid >= len(dbs):
                raise r.fail(f"FATAL: Data file was created with a Redis server configured "
                             f"to handle more than {len(dbs)} databases. Exiting\n", "dbnum",
                             at=op_at)
            db = dbs[dbid]
            continue
        if op == OP_RESIZEDB:
            r.plain_len()
            r.plain_len()
            continue
        if op == OP_AUX:
            name = string()
            value = string()
            res[name.decode("utf-8", "replace")] = value
            continue
        if op == OP_MODULE_AUX:
            r.plain_len()  # module id
            when_op = r.plain_len()
            if when_op != 2:
                raise r.fail("bad when_opcode")
            r.plain_len()  # when
            _skip_module_value(r)
            res.module_aux_skipped += 1
            continue
        if op == OP_FUNCTION2:
            res.functions.append(string())
            continue
        if op == OP_FUNCTION:
            name = string()
            engine = string()
            if r.plain_len():
                string()  # description
            blob = string()
            res.functions.append(b"#!%s name=%s\n%s" % (engine, name, blob))
            continue
        # a key/value pair of type ``op``
        if not (0 <= op <= 7 or 9 <= op <= 20):
            raise r.fail(f"Unknown RDB encoding type {op}", at=op_at)
        key = string()
        value = _read_object(r, op)
        if value is None:
            res.empty_keys_skipped.append((db.index, key))
        elif is_master and not aof_preamble and expire != -1 and expire < now:
            res.keys_expired += 1
            res.expired_keys.append((db.index, key))
        else:
            if key in db.data and not allow_dup:
                raise r.fail(f"RDB has duplicated key '{key.decode('utf-8', 'replace')}' in "
                             f"DB {db.index}", "duplicate", at=op_at)
            db.data[key] = value
            if expire != -1:
                db.expires[key] = expire
            elif allow_dup:
                db.expires.pop(key, None)
            res.keys_loaded += 1
        expire = -1
    eof_end = r.pos
    if version >= 5:
        p = r.pos
        r.read(8)
        stored = int.from_bytes(data[p:p + 8], "little")
        if not verify_checksum:
            res.checksum = "skipped"
        elif stored == 0:
            res.checksum = "disabled"
        else:
            computed = crc64(memoryview(data)[:eof_end])
            if computed != stored:
                err = r.fail(f"Wrong RDB checksum expected: ({computed:x}) but got "
                             f"({stored:x}). Aborting now.", "checksum", at=p)
                raise err
    else:
        res.checksum = "none"
    res.end = r.pos


def load_value(payload: bytes) -> Any:
    """The value of a DUMP payload; RDBError(kind='checksum') if the footer is wrong,
    RDBError (other kinds) if the body is malformed."""
    payload = bytes(payload)
    if len(payload) < 10:
        raise RDBError("DUMP payload too short", 0, "checksum")
    version = payload[-10] | (payload[-9] << 8)
    if version > RDB_VERSION:
        raise RDBError(f"DUMP payload version {version} is newer than {RDB_VERSION}",
                       len(payload) - 10, "checksum")
    stored = int.from_bytes(payload[-8:], "little")
    if crc64(memoryview(payload)[:-8]) != stored:
        raise RDBError("DUMP payload checksum mismatch", len(payload) - 8, "checksum")
    r = _Reader(payload[:-10])
    try:
        rtype = r.byte()
        if not (0 <= rtype <= 7 or 9 <= rtype <= 20):
            raise r.fail(f"Unknown RDB encoding type {rtype}", at=0)
        value = _read_object(r, rtype)
    except (struct.error, IndexError) as exc:
        raise r.fail(f"Corrupt DUMP payload ({exc})") from None
    if value is None:
        raise RDBError("Empty value in DUMP payload", 0, "corrupt")
    return value
