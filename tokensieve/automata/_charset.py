"""Sets of Unicode code points as sorted disjoint ranges, and their UTF-8 byte-range encodings."""

from __future__ import annotations

import functools
import re
import sys

MAX_CP = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)

Ranges = tuple[tuple[int, int], ...]


def normalize(ranges) -> Ranges:
    """Sort and merge overlapping/adjacent ranges."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if lo > hi:
            continue
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def negate(ranges: Ranges) -> Ranges:
    out, nxt = [], 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CP:
        out.append((nxt, MAX_CP))
    return tuple(out)


def union(*sets: Ranges) -> Ranges:
    return normalize([r for s in sets for r in s])


def contains(ranges: Ranges, cp: int) -> bool:
    import bisect

    i = bisect.bisect_right(ranges, (cp, MAX_CP + 1)) - 1
    return i >= 0 and ranges[i][0] <= cp <= ranges[i][1]


@functools.lru_cache(maxsize=None)
def _all_chars() -> str:
    # Every scalar value; surrogates cannot appear in UTF-8 text, so they are left out.
    return "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, MAX_CP + 1)))


@functools.lru_cache(maxsize=None)
def unicode_class(pattern: str) -> Ranges:
    """Code points matched by a one-character class of Python's ``re`` (e.g. ``\\w``), as ranges.

    Runs of matches found by ``re`` itself, so the semantics are exactly ``re``'s; about 0.1 s per class, once.
    """
    text = _all_chars()
    out = []
    for m in re.finditer(f"(?:{pattern})+", text):
        lo, hi = ord(text[m.start()]), ord(text[m.end() - 1])
        # a run may straddle the surrogate gap, where code points are not contiguous in `text`
        if lo < 0xD800 <= hi:
            out += [(lo, 0xD7FF), (0xE000, hi)]
        else:
            out.append((lo, hi))
    return normalize(out)


@functools.lru_cache(maxsize=None)
def _case_classes() -> dict[int, tuple[int, ...]]:
    """Map every cased code point to the code points ``re`` treats as equal to it under IGNORECASE."""
    groups: dict[str, set[int]] = {}
    for cp in range(MAX_CP + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        lo, up = c.lower(), c.upper()
        if lo == c and up == c:
            continue
        key = lo if len(lo) == 1 else c
        groups.setdefault(key, {ord(key)} if len(key) == 1 else set()).add(cp)
        if len(up) == 1:
            groups[key].add(ord(up))
    out: dict[int, tuple[int, ...]] = {}
    for members in groups.values():
        # keep only what `re` itself says is case-equal, so we never widen beyond Python's semantics
        ms = sorted(members)
        for cp in ms:
            pat = re.compile(re.escape(chr(cp)), re.IGNORECASE)
            eq = tuple(o for o in ms if pat.fullmatch(chr(o)))
            out[cp] = eq
    return out


def ignore_case(ranges: Ranges) -> Ranges:
    """Close a set under the case equivalence of ``re.IGNORECASE`` (Unicode)."""
    extra = []
    for cp, eq in _case_classes().items():
        if contains(ranges, cp):
            extra.extend((o, o) for o in eq)
    return union(ranges, tuple(extra))


def utf8_sequences(lo: int, hi: int) -> list[list[tuple[int, int]]]:
    """Split code points [lo, hi] into UTF-8 byte-range sequences (each a list of (lo, hi) per byte).

    The standard construction (as in RE2 / regex-syntax): split at encoding-length boundaries and where the
    continuation bytes stop covering their full 0x80-0xBF span.
    """
    out: list[list[tuple[int, int]]] = []
    stack = [(lo, hi)]
    while stack:
        lo, hi = stack.pop()
        if lo > hi:
            continue
        if lo <= SURROGATES[1] and hi >= SURROGATES[0]:
            stack.append((SURROGATES[1] + 1, hi))
            stack.append((lo, SURROGATES[0] - 1))
            continue
        split = False
        for b in (0x7F, 0x7FF, 0xFFFF):
            if lo <= b < hi:
                stack.append((b + 1, hi))
                stack.append((lo, b))
                split = True
                break
        if split:
            continue
        if hi <= 0x7F:
            out.append([(lo, hi)])
            continue
        n = 2 if hi <= 0x7FF else 3 if hi <= 0xFFFF else 4
        for i in range(1, n):
            m = (1 << (6 * i)) - 1
            if lo & ~m != hi & ~m:
                if lo & m:
                    stack.append(((lo | m) + 1, hi))
                    stack.append((lo, lo | m))
                    split = True
                    break
                if hi & m != m:
                    stack.append((hi & ~m, hi))
                    stack.append((lo, (hi & ~m) - 1))
                    split = True
                    break
        if split:
            continue
        a = chr(lo).encode("utf-8")
        b = chr(hi).encode("utf-8")
        out.append([(a[i], b[i]) for i in range(n)])
    return out


ANY_CHAR: Ranges = normalize([(0, SURROGATES[0] - 1), (SURROGATES[1] + 1, MAX_CP)])


def drop_surrogates(ranges: Ranges) -> Ranges:
    out = []
    for lo, hi in ranges:
        if hi < SURROGATES[0] or lo > SURROGATES[1]:
            out.append((lo, hi))
        else:
            if lo < SURROGATES[0]:
                out.append((lo, SURROGATES[0] - 1))
            if hi > SURROGATES[1]:
                out.append((SURROGATES[1] + 1, hi))
    return tuple(out)


assert sys.maxunicode == MAX_CP
