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
