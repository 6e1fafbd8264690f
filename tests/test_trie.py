"""TokenTrie and its slices against brute force over the token strings themselves."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve.automata import TokenTrie

_tokens = st.lists(st.binary(min_size=0, max_size=7).map(lambda b: bytes(x % 6 + 97 for x in b)),
                   min_size=1, max_size=40)
_classes = st.sets(st.sampled_from(b"abcdef"), max_size=6)


def _node_strings(trie):
    """The byte string of every node (path from the root)."""
    path, out = [], []
    for i in range(trie.n_nodes):
        del path[trie.depth[i] - 1:]
        path.append(int(trie.byte[i]))
        out.append(bytes(path))
    return out


@settings(max_examples=200, deadline=None)
@given(_tokens, _classes, st.integers(0, 8))
def test_reach_and_slice_equal_brute_force(tokens, cls_bytes, k):
    trie = TokenTrie(tokens)
    strings = _node_strings(trie)
    for i, s in enumerate(strings):
        below = [t for t in strings if t.startswith(s)]
        assert trie.reach[i] == max(len(t) for t in below)
    cls = np.zeros(256, dtype=bool)
    cls[list(cls_bytes)] = True
    n_words = (len(tokens) + 31) // 32
    sl = trie.slice(cls, n_words)
    for i, s in enumerate(strings):
        below = [t for t in strings if t.startswith(s)]
        assert sl.pure[i] == all(b in cls_bytes for t in below for b in t[len(s) - 1:])
    inside = [tid for tid, t in enumerate(tokens) if t and all(b in cls_bytes for b in t)]
    assert sl.lengths == sorted({len(tokens[t]) for t in inside})
    bits = np.unpackbits(sl.inside(k).view(np.uint8), bitorder="little")
    assert np.flatnonzero(bits).tolist() == [t for t in inside if len(tokens[t]) <= k]
    assert sl.cls.tolist() == cls.astype(np.uint8).tolist()


# bytes that make well- and ill-formed UTF-8: ASCII in and out of the class, leads of every length, the
# restricted second bytes of E0/ED/F0/F4, continuations, and bytes that never occur
_U8_BYTES = [0x61, 0x62, 0x22, 0xC3, 0xA9, 0x80, 0xBF, 0xE0, 0xA0, 0xED, 0x9F, 0xE6, 0xF0, 0x90, 0xF4, 0x8F, 0xC0, 0xFF]
_u8_tokens = st.lists(st.lists(st.sampled_from(_U8_BYTES), min_size=1, max_size=6).map(bytes), min_size=1,
                      max_size=40)


def _utf8_prefix_state(data: bytes):
    """(well-formed so far, bytes still owed by the last character) by Python's own decoder."""
    for cut in range(len(data), -1, -1):
        try:
            data[:cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        rest = data[cut:]
        if len(rest) > 3:
            return False, 0
        for k in range(1, 5):  # does some continuation complete the tail into one character?
            for tail in (bytes([0x80 + x]) * k for x in range(0, 0x40, 7)):
                try:
                    if len((rest + tail).decode("utf-8")) == 1:
                        return True, len(tail) if rest else 0
                except UnicodeDecodeError:
                    pass
        return (not rest), 0
    return False, 0


@settings(max_examples=150, deadline=None)
@given(_u8_tokens)
def test_utf8_pure_and_loop_ends_equal_brute_force(tokens):
    """A loop on the ASCII class {a, b} that reads other characters as UTF-8: a node's subtree is skippable
    when it starts a character and every path below is well-formed with ASCII in the class; its tokens end at
    a boundary (state 0) or owing 1..3 bytes (states 1..3 of a table that only counts)."""
    trie = TokenTrie(tokens)
    strings = _node_strings(trie)
    cls = np.zeros(256, dtype=bool)
    cls[[0x61, 0x62]] = True
    pure = trie.utf8_pure(cls)
    # a counting loop automaton: 0 boundary, q = bytes owed (no range checks: ill-formed paths are not pure)
    table = np.full((4, 256), -1, dtype=np.int8)
    table[0, [0x61, 0x62]] = 0
    table[0, 0xC2:0xE0], table[0, 0xE0:0xF0], table[0, 0xF0:0xF5] = 1, 2, 3
    for q in (1, 2, 3):
        table[q, 0x80:0xC0] = q - 1
    ends = trie.loop_ends(table)
    token_set = set(tokens)
    for i, s in enumerate(strings):
        parent = s[:-1]
        ok_parent, owed_parent = _utf8_prefix_state(parent)
        below = [t for t in strings if t.startswith(s)]
        def fine(t):
            well, _ = _utf8_prefix_state(t)
            rel = t[len(parent):]
            return well and all(b >= 0x80 or b in (0x61, 0x62) for b in rel)
        want = ok_parent and owed_parent == 0 and all(fine(t) for t in below)
        assert bool(pure[i]) == want, (s, below)
        if want:
            got = {q for q in range(4) if ends[i] >> q & 1}
            assert got == {_utf8_prefix_state(t)[1] for t in below if t in token_set}, (s, below)
