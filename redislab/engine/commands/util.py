"""Argument parsing shared by the command families, with Redis' error texts: integers
(``string2ll``) and doubles as the C library reads them (``strtod``, ``strtold``)."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction

from .. import errors as E
from ..errors import CommandError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def parse_int(raw: bytes, error: str = E.NOT_INTEGER) -> int:
    """A signed 64-bit integer written as Redis' ``string2ll`` accepts it."""
    if not raw or len(raw) > 20 or raw != raw.strip() or raw[:1] == b"+":
        raise CommandError(error)
    if (raw[:1] == b"0" and len(raw) > 1) or raw[:2] == b"-0":
        raise CommandError(error)
    try:
        value = int(raw)
    except ValueError:
        raise CommandError(error) from None
    if value < INT64_MIN or value > INT64_MAX or b"_" in raw:
        raise CommandError(error)
    return value


# --------------------------------------------------------------------------- doubles
#
# Redis reads doubles with the C library: ``strtod`` (``string2d``: ZADD, ZINCRBY, WEIGHTS;
# ``zslParseRange``: score ranges; SORT's scores) and, on x86-64, ``strtold`` into an 80-bit
# ``long double`` (``string2ld``: INCRBYFLOAT, HINCRBYFLOAT, blocking timeouts). Each caller
# checks the result its own way (leading space, trailing bytes, ERANGE, NaN), so there is one
# reader per C function here and one small function per Redis caller on top.

_WS = b" \t\n\v\f\r"
_DEC = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(
    rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?"
)
_INF = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
_NONZERO = re.compile(rb"[1-9]")
INF = math.inf
DBL_MIN = 2.2250738585072014e-308  # the smallest normal double


def _hex_parts(m: "re.Match[bytes]") -> tuple[int, int, int] | None:
    """(sign, mantissa, binary exponent) of a C99 hex float, None if it has no digits."""
    whole, frac = m.group(2), m.group(3) or b""
    if not whole and not frac:
        return None
    mant = int(whole + frac, 16)
    exp = int(m.group(4) or b"0") - 4 * len(frac)
    return (-1 if m.group(1) == b"-" else 1), mant, exp


def strtod(text: bytes) -> tuple[float, bool] | None:
    """glibc's ``strtod`` over the whole of ``text`` (no leading white space): (value,
    ERANGE) or None when ``text`` is not one number entirely, or is NaN (every Redis
    caller refuses NaN). ERANGE is set on overflow (the value is then +-inf) and on
    underflow (a tiny inexact result: zero or subnormal)."""
    if _DEC.fullmatch(text):
        value = float(text)
        if value == INF or value == -INF:
            return value, True
        if -DBL_MIN < value < DBL_MIN:
            mantissa = text.split(b"e")[0].split(b"E")[0]
            return value, _NONZERO.search(mantissa) is not None
        return value, False
    m = _HEX.fullmatch(text)
    if m is not None:
        parts = _hex_parts(m)
        if parts is None:
            return None
        sign, mant, exp = parts
        if mant == 0:
            return (-0.0 if sign < 0 else 0.0), False
        top = mant.bit_length() + exp
        if top > 1100:
            return sign * INF, True
        if top < -1100:
            return (-0.0 if sign < 0 else 0.0), True
        exact = Fraction(mant << exp) if exp >= 0 else Fraction(mant, 1 << -exp)
        try:
            value = float(exact)
        except OverflowError:
            return sign * INF, True
        if value == INF:
            return sign * INF, True
        erange = value < DBL_MIN and Fraction(value) != exact
        return sign * value, erange
    m = _INF.fullmatch(text)
    if m is not None:
        return (-INF if m.group(1) == b"-" else INF), False
    return None


def string2d(raw: bytes) -> float | None:
    """Redis' ``string2d`` (``getDoubleFromObject``): the whole string is one double; no
    leading space, no NaN, no overflow and no underflow to zero."""
    if not raw or raw[0] in _WS:
        return None
    r = strtod(raw)
    if r is None:
        return None
    value, erange = r
    if erange and (value == 0.0 or value == INF or value == -INF):
        return None
    return value


def parse_float(raw: bytes, error: str = E.NOT_FLOAT) -> float:
    """``getDoubleFromObjectOrReply``: :func:`string2d` or ``error``."""
    value = string2d(raw)
    if value is None:
        raise CommandError(error)
    return value


def _strtod_to_nul(raw: bytes) -> tuple[float, bool] | None:
    """``strtod(s, &eptr)`` with ``eptr[0] == '\\0'`` required: leading white space is
    skipped, the C string ends at the first NUL, and an empty string reads as 0."""
    nul = raw.find(b"\0")
    s = raw if nul < 0 else raw[:nul]
    if not s:
        return 0.0, False
    t = s.lstrip(_WS)
    if not t:
        return None
    return strtod(t)


def strtod_range(raw: bytes) -> float | None:
    """A score range bound as ``zslParseRange`` reads it (overflow gives +-inf)."""
    r = _strtod_to_nul(raw)
    return None if r is None else r[0]


def strtod_sort(raw: bytes) -> float | None:
    """A score as SORT reads it (``sortCompare``'s ``strtod``: ERANGE refused)."""
    r = _strtod_to_nul(raw)
    if r is None or r[1]:
        return None
    return r[0]


# ---- x86-64 long double (80-bit extended precision), exactly

LD_MAX_EXP = 16384  # values >= 2**16384 overflow
LD_MIN_QUANTUM = -16445  # the smallest subnormal is 2**-16445
LD_MAX_CHARS = 5 * 1024  # MAX_LONG_DOUBLE_CHARS


def ld_round(value: Fraction) -> Fraction | None:
    """Round an exact value to the nearest long double (ties to even); None on overflow."""
    if value == 0:
        return Fraction(0)
    neg = value < 0
    a = -value if neg else value
    n, d = a.numerator, a.denominator
    e = n.bit_length() - d.bit_length()
    if e >= 0:
        if n < (d << e):
            e -= 1
    elif (n << -e) < d:
        e -= 1
    q_exp = max(e - 63, LD_MIN_QUANTUM)
    if q_exp >= 0:
        num, den = n, d << q_exp
    else:
        num, den = n << -q_exp, d
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    if q == 0:
        return Fraction(0)
    if q.bit_length() + q_exp > LD_MAX_EXP:
        return None
    out = Fraction(q << q_exp) if q_exp >= 0 else Fraction(q, 1 << -q_exp)
    return -out if neg else out


def string2ld(raw: bytes) -> Fraction | float | None:
    """Redis' ``string2ld``: the exact long double value (a Fraction), ``+-inf`` (floats),
    or None when ``strtold`` would not read the whole string, or reports overflow or
    underflow to zero, or reads NaN."""
    if not raw or len(raw) >= LD_MAX_CHARS or raw[0] in _WS:
        return None
    m = _DEC.fullmatch(raw)
    if m is not None:
        neg = raw[:1] == b"-"
        body = raw.lstrip(b"+-")
        exp = 0
        for sep in (b"e", b"E"):
            if sep in body:
                body, e_txt = body.split(sep, 1)
                exp = int(e_txt)
                break
        ip, _, fp = body.partition(b".")
        digits = (ip + fp).lstrip(b"0")
        if not digits:
            return Fraction(0)
        exp10 = exp - len(fp)
        magnitude = len(digits) + exp10  # 10**(magnitude-1) <= value < 10**magnitude
        if magnitude > 4940 or magnitude < -4970:
            return None  # certain overflow / underflow to zero
        mant = int(Decimal(digits.decode()))  # no 4300-digit limit, unlike int()
        exact = Fraction(mant * 10**exp10) if exp10 >= 0 else Fraction(mant, 10**-exp10)
        value = ld_round(exact)
        if value is None or value == 0:
            return None
        return -value if neg else value
    m = _HEX.fullmatch(raw)
    if m is not None:
        parts = _hex_parts(m)
        if parts is None:
            return None
        sign, mant, exp = parts
        if mant == 0:
            return Fraction(0)
        top = mant.bit_length() + exp
        if top > LD_MAX_EXP + 2 or top < LD_MIN_QUANTUM - 2:
            return None
        exact = Fraction(mant << exp) if exp >= 0 else Fraction(mant, 1 << -exp)
        value = ld_round(exact)
        if value is None or value == 0:
            return None
        return -value if sign < 0 else value
    m = _INF.fullmatch(raw)
    if m is not None:
        return -INF if m.group(1) == b"-" else INF
    return None


def ld2string_human(value: Fraction) -> bytes:
    """``ld2string(..., LD_STR_HUMAN)``: ``%.17Lf`` without trailing zeros, no ``-0``."""
    neg = value < 0
    a = -value if neg else value
    scaled = a * 10**17
    q, r = divmod(scaled.numerator, scaled.denominator)
    if 2 * r > scaled.denominator or (2 * r == scaled.denominator and q & 1):
        q += 1
    ip, fp = divmod(q, 10**17)
    text = str(Decimal(ip)).encode() + b".%017d" % fp  # str(int) stops at 4300 digits
    text = text.rstrip(b"0").rstrip(b".")
    if neg:
        text = b"-" + text
    if text == b"-0":
        text = b"0"
    return text


def parse_timeout(raw: bytes) -> int:
    """``getTimeoutFromObjectOrReply`` in seconds: milliseconds to wait (0 = forever)."""
    value = string2ld(raw)
    if value is None:
        raise CommandError(E.TIMEOUT_NOT_FLOAT)
    if isinstance(value, float):  # +-inf: the cast to long long gives LLONG_MIN
        raise CommandError(E.TIMEOUT_NEGATIVE)
    scaled = ld_round(value * 1000)
    if scaled is None:
        raise CommandError(E.TIMEOUT_NEGATIVE)
    ms = math.ceil(scaled)
    if ms < 0 or ms > INT64_MAX:
        raise CommandError(E.TIMEOUT_NEGATIVE)
    return ms
