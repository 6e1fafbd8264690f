"""The vocabulary as a byte trie laid out flat in DFS order, the shape the mask walk reads."""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["TokenTrie", "UTF8_ERR", "utf8_table"]

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


    @property
    def parent(self) -> np.ndarray:
        """``parent[i]``: the node above ``i`` (-1 for the root's children)."""
        par = self.__dict__.get("_parent")
        if par is None:
            par = np.full(self.n_nodes, -1, dtype=np.int32)
            by_depth = self._by_depth()
            for d in range(2, len(by_depth)):
                above, here = by_depth[d - 1], by_depth[d]
                if here.size:  # preorder: the parent is the last node one level up before the node
                    par[here] = above[np.searchsorted(above, here) - 1]
            self.__dict__["_parent"] = par
        return par

    def _by_depth(self) -> list:
        """Node indexes of each depth (ascending), index 0 empty."""
        order = np.argsort(self.depth, kind="stable")
        cuts = np.searchsorted(self.depth[order], np.arange(self.max_depth + 2))
        return [order[cuts[d]:cuts[d + 1]] for d in range(self.max_depth + 1)]

    @property
    def utf8_state(self) -> np.ndarray:
        """``utf8_state[i]``: the UTF-8 decoder state (see ``_UTF8``) after node ``i``'s path, read from the root
        as a character boundary; ``UTF8_ERR`` once the path is not well-formed UTF-8 from there."""
        u = self.__dict__.get("_utf8")
        if u is None:
            u = np.zeros(self.n_nodes, dtype=np.uint8)
            by_depth, par = self._by_depth(), self.parent
            for d in range(1, len(by_depth)):
                here = by_depth[d]
                before = np.zeros(here.size, dtype=np.uint8) if d == 1 else u[par[here]]
                u[here] = _UTF8[before, self.byte[here]]
            self.__dict__["_utf8"] = u
        return u

    def utf8_pure(self, cls: np.ndarray) -> np.ndarray:
        """Subtrees a state that loops on the ASCII bytes of ``cls`` and reads every other character as UTF-8
        (a JSON string body) stays alive through: ``out[i]`` is 1 when node ``i`` starts a character and every
        path below it, its own byte included, is well-formed UTF-8 whose ASCII bytes are in ``cls`` (tokens
        may end inside a character). The non-ASCII twin of :attr:`TrieSlice.pure` (cl100k has ~20k tokens with
        such bytes, which byte-class slices cannot skip). Cached per class."""
        key = ("utf8", np.packbits(np.asarray(cls, dtype=bool)).tobytes())
        cache = self.__dict__.setdefault("_slices", {})
        hit = cache.get(key)
        if hit is not None:
            return hit
        u, b = self.utf8_state, self.byte
        ascii_ok = np.asarray(cls, dtype=bool)[:128]
        off = (u == UTF8_ERR) | ((b < 128) & ~ascii_ok[np.minimum(b, 127)])
        below = np.concatenate([[0], np.cumsum(off, dtype=np.int32)])
        starts = (u != UTF8_ERR) & ((b < 0x80) | (b >= 0xC0))  # the decoder was at a boundary before it
        out = ((below[self.next] == below[:self.n_nodes]) & starts).view(np.uint8)
        with _SLICE_LOCK:
            if len(cache) >= 64:
                cache.pop(next(iter(cache)))
            cache[key] = out
        return out


    def loop_ends(self, table: np.ndarray) -> np.ndarray:
        """Where the tokens of a :meth:`utf8_pure` subtree end, for a loop automaton ``table``: compact states,
        0 the loop state (a character boundary), ``table[q, b]`` the next one or -1, at most 32. ``out[i]`` has
        bit ``q`` when a token below node ``i`` (its own included) ends in ``q``, the walk having entered ``i``
        at the boundary in state 0 (meaningful where ``utf8_pure`` is 1). Cached per table."""
        table = np.asarray(table, dtype=np.int8)
        if table.shape[0] > 32:
            raise ValueError("a loop automaton of more than 32 states")
        key = ("ends", table.shape[0], table.tobytes())
        cache = self.__dict__.setdefault("_slices", {})
        hit = cache.get(key)
        if hit is not None:
            return hit
        n, b, u = self.n_nodes, self.byte, self.utf8_state
        q = np.full(n, -1, dtype=np.int8)
        by_depth, par = self._by_depth(), self.parent
        starts = (u != UTF8_ERR) & ((b < 0x80) | (b >= 0xC0))  # a character starts here: from state 0
        for d in range(1, len(by_depth)):
            here = by_depth[d]
            before = np.zeros(here.size, dtype=np.int8) if d == 1 else np.where(starts[here], 0, q[par[here]])
            q[here] = np.where(before >= 0, table[np.maximum(before, 0), b[here]], -1)
        has_tok = np.diff(self.tok_start) > 0
        acc = np.where(has_tok & (q >= 0), np.left_shift(1, np.maximum(q, 0).astype(np.int64)), 0).astype(np.uint32)
        for d in range(len(by_depth) - 1, 1, -1):  # bottom-up: a node gathers its children's bits
            here = by_depth[d]
            np.bitwise_or.at(acc, par[here], acc[here])
        with _SLICE_LOCK:
            if len(cache) >= 64:
                cache.pop(next(iter(cache)))
            cache[key] = acc
        return acc


def _utf8_table() -> np.ndarray:
    """Well-formed UTF-8 (no surrogates, no overlongs) as a DFA: 0 at a character boundary; 1 and 2: that many
    continuation bytes to go; 3 (after E0), 4 (after ED), 6 (after F0), 7 (after F4): restricted second bytes; 5:
    three to go; ``UTF8_ERR`` absorbing."""
    t = np.full((UTF8_ERR + 1, 256), UTF8_ERR, dtype=np.uint8)
    t[0, 0x00:0x80] = 0
    t[0, 0xC2:0xE0] = 1
    t[0, 0xE0] = 3
    t[0, 0xE1:0xED] = 2
    t[0, 0xED] = 4
    t[0, 0xEE:0xF0] = 2
    t[0, 0xF0] = 6
    t[0, 0xF1:0xF4] = 5
    t[0, 0xF4] = 7
    t[1, 0x80:0xC0] = 0
    t[2, 0x80:0xC0] = 1
    t[3, 0xA0:0xC0] = 1
    t[4, 0x80:0xA0] = 1
    t[5, 0x80:0xC0] = 2
    t[6, 0x90:0xC0] = 2
    t[7, 0x80:0x90] = 2
    return t


UTF8_ERR = 8
_UTF8 = _utf8_table()
utf8_table = _UTF8  # read-only by convention: the lexers check their string bodies against it


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
