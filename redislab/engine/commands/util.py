"""Argument parsing shared by the command families, with Redis' error texts."""

from __future__ import annotations

import math

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


def parse_float(raw: bytes, error: str = E.NOT_FLOAT, allow_inf: bool = True) -> float:
    """A double as Redis' ``strtold``-based parsers accept it (no NaN, no spaces)."""
    text = raw.decode("ascii", "replace")
    if not text or text != text.strip() or "_" in text:
        raise CommandError(error)
    low = text.lower()
    if low in ("inf", "+inf", "infinity", "+infinity"):
        if not allow_inf:
            raise CommandError(error)
        return math.inf
    if low in ("-inf", "-infinity"):
        if not allow_inf:
            raise CommandError(error)
        return -math.inf
    try:
        value = float(text)
    except ValueError:
        raise CommandError(error) from None
    if math.isnan(value) or "nan" in low or "inf" in low:
        raise CommandError(error)
    return value
