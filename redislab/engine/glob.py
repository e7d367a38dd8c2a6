"""Glob-style matching with Redis' ``stringmatchlen`` rules (KEYS, SCAN MATCH, PSUBSCRIBE,
CONFIG GET): ``*``, ``?``, ``[abc]``, ``[^a-z]``, and ``\\`` escapes."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1024)
def _compile(pattern: bytes, nocase: bool) -> "re.Pattern[bytes]":
    out = bytearray()
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 42:  # *
            out += b".*"
        elif c == 63:  # ?
            out += b"."
        elif c == 91:  # [
            i += 1
            negate = False
            if i < n and pattern[i] == 94:  # ^
                negate = True
                i += 1
            items = bytearray()
            while i < n and pattern[i] != 93:
                if pattern[i] == 92 and i + 1 < n:  # escaped char
                    i += 1
                    items += re.escape(pattern[i : i + 1])
                elif i + 2 < n and pattern[i + 1] == 45 and pattern[i + 2] != 93:  # a-z
                    lo, hi = pattern[i], pattern[i + 2]
                    if lo > hi:
                        lo, hi = hi, lo
                    items += re.escape(bytes([lo])) + b"-" + re.escape(bytes([hi]))
                    i += 2
                else:
                    items += re.escape(pattern[i : i + 1])
                i += 1
            # an unterminated class matches what it has collected, as Redis does
            if items:
                out += b"[" + (b"^" if negate else b"") + bytes(items) + b"]"
            else:
                out += b"[^\\s\\S]" if not negate else b"[\\s\\S]"
        elif c == 92 and i + 1 < n:  # backslash escape
            i += 1
            out += re.escape(pattern[i : i + 1])
        else:
            out += re.escape(pattern[i : i + 1])
        i += 1
    return re.compile(bytes(out) + b"\\Z", re.DOTALL | (re.IGNORECASE if nocase else 0))


def match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """True if ``subject`` matches the glob ``pattern``."""
    if pattern == b"*":
        return True
    return _compile(pattern, nocase).match(subject) is not None
