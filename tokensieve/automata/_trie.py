"""The vocabulary as a byte trie laid out flat in DFS order, the shape the mask walk reads."""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["TokenTrie"]

_SLICE_LOCK = threading.Lock()


class TokenTrie:
    """Flat DFS trie over token byte strings.

    Node ``i`` (0-based, root excluded) has ``byte[i]``, ``depth[i]`` (1 for children of the root),
    ``next[i]`` (index of the first node after its subtree) and the token ids ending there in
    ``tok_ids[tok_start[i]:tok_start[i + 1]]`` (several ids may share the same bytes).
    """

    def __init__(self, token_bytes):
        order = sorted((b, i) for i, b in enumerate(token_bytes) if b)
        byte, depth, tok_lists = [], [], []
        path: list[int] = []  # node index at each depth of the current path
        prev = b""
        for data, tid in order:
            if data == prev and path:
                tok_lists[path[-1]].append(tid)
                continue
            lcp = 0
            n = min(len(prev), len(data))
            while lcp < n and prev[lcp] == data[lcp]:
                lcp += 1
            del path[lcp:]
            for k in range(lcp, len(data)):
                byte.append(data[k])
                depth.append(k + 1)
                tok_lists.append([])
                path.append(len(byte) - 1)
            tok_lists[path[-1]].append(tid)
            prev = data
        n_nodes = len(byte)
        nxt = [n_nodes] * n_nodes
        stack: list[int] = []
        for i in range(n_nodes):
            while stack and depth[stack[-1]] >= depth[i]:
                nxt[stack.pop()] = i
            stack.append(i)
        self.byte = np.asarray(byte, dtype=np.int32)
        self.depth = np.asarray(depth, dtype=np.int32)
        self.next = np.asarray(nxt, dtype=np.int32)
        starts = np.zeros(n_nodes + 1, dtype=np.int32)
        flat = []
        for i, ids in enumerate(tok_lists):
            starts[i] = len(flat)
            flat.extend(ids)
        starts[n_nodes] = len(flat)
        self.tok_start = starts
        self.tok_ids = np.asarray(flat, dtype=np.int32)
        self.n_nodes = n_nodes
        self.max_depth = int(self.depth.max()) if n_nodes else 0

    @property
    def token_nodes(self) -> np.ndarray:
        """The node of each entry of ``tok_ids``."""
        t = self.__dict__.get("_token_nodes")
        if t is None:
            t = self.__dict__["_token_nodes"] = np.repeat(np.arange(self.n_nodes, dtype=np.int32),
                                                          np.diff(self.tok_start))
        return t

    @property
    def reach(self) -> np.ndarray:
        """``reach[i]``: the greatest depth in node ``i``'s subtree (the length of its longest token)."""
        r = self.__dict__.get("_reach")
        if r is None:
            n = self.n_nodes
            # range maximum of depth over [i, next[i]) by a sparse table: O(n log n) in numpy, no Python loop
            levels = [self.depth.astype(np.int32)]
            span = 1
            while span * 2 <= max(n, 1):
                prev = levels[-1]
                levels.append(np.maximum(prev, np.concatenate([prev[span:], np.zeros(span, np.int32)])))
                span *= 2
            length = self.next[:n] - np.arange(n)
            lg = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
            r = np.zeros(n, dtype=np.int32)
            for j in range(len(levels)):
                sel = np.flatnonzero(lg == j)
                if sel.size:
                    a = levels[j][sel]
                    b = levels[j][self.next[sel] - (1 << j)]
                    r[sel] = np.maximum(a, b)
            self.__dict__["_reach"] = r
        return r

    def slice(self, cls: np.ndarray, n_words: int, build_first: bool = True) -> "TrieSlice | None":
        """Precomputed walk shortcuts for a byte class ``cls`` (256 bools) that a lexer state steps through
        uniformly (a JSON string body, with or without a length bound): see :class:`TrieSlice`. Cached per class,
        like llguidance's slicer. With ``build_first`` False, None the first time a class is asked for."""
        key = (np.packbits(cls).tobytes(), n_words)
        cache = self.__dict__.setdefault("_slices", {})
        with _SLICE_LOCK:
            hit = cache.get(key)
            if hit is None and not build_first:
                # building costs about two plain walks (cl100k: 2.2 ms): only for a class asked for again
                asked = self.__dict__.setdefault("_slice_asks", set())
                if key not in asked:
                    if len(asked) >= 4096:
                        asked.clear()
                    asked.add(key)
                    return None
        if hit is not None:
            return hit
        sl = TrieSlice(self, np.asarray(cls, dtype=bool), n_words)
        with _SLICE_LOCK:  # tries are shared by every grammar compiled for the vocabulary, across threads
            if len(cache) >= 64:  # schemas make a few classes each (keys excluded from a string's first byte)
                cache.pop(next(iter(cache)))
            cache[key] = sl
        return sl


class TrieSlice:
    """The vocabulary seen through one byte class ``cls``.

    ``pure[i]`` is 1 when every byte in node ``i``'s subtree (its own included) is in the class; ``lengths``
    are the distinct byte lengths of the tokens made only of class bytes (``max_len`` the largest), and
    :meth:`inside` their mask, up to a length. A walk in a state that steps through the class uniformly for
    ``k`` bytes takes ``inside(k)`` whole and skips every pure subtree no deeper than ``k``.
    """

    def __init__(self, trie: TokenTrie, cls: np.ndarray, n_words: int):
        self.cls = cls.astype(np.uint8)
        self.n_words = n_words
        n = trie.n_nodes
        off = ~cls[trie.byte] if n else np.zeros(0, dtype=bool)
        below = np.concatenate([[0], np.cumsum(off, dtype=np.int32)])
        self.pure = (below[trie.next] == below[:n]).view(np.uint8)
        # a node's path leaves the class iff some ancestor-or-self is off it: mark each off node's subtree
        cover = np.bincount(np.flatnonzero(off), minlength=n + 1) - np.bincount(trie.next[off], minlength=n + 1)
        on_path = np.cumsum(cover[:n]) == 0
        tok_node = trie.token_nodes
        keep = on_path[tok_node]
        self._ids = trie.tok_ids[keep]
        self._len = trie.depth[tok_node[keep]]
        self.lengths = np.flatnonzero(np.bincount(self._len)).tolist()
        self.max_len = self.lengths[-1] if self.lengths else 0
        self._inside: dict[int, np.ndarray] = {}

    def inside(self, k: int) -> np.ndarray:
        """The ``n_words`` uint32 mask of the class-only tokens of at most ``k`` bytes (cached)."""
        k = min(k, self.max_len)
        m = self._inside.get(k)
        if m is None:
            bits = np.zeros(self.n_words * 32, dtype=bool)
            bits[self._ids[self._len <= k]] = True
            m = np.packbits(bits, bitorder="little").view(np.uint32).copy()
            with _SLICE_LOCK:
                if len(self._inside) >= 256:
                    self._inside.clear()
                self._inside[k] = m
        return m
