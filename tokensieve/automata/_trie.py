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

    def slice(self, loop: np.ndarray, n_words: int) -> tuple[np.ndarray, np.ndarray]:
        """Precomputed walk shortcuts for a lexer state that loops on the bytes ``loop`` (256 bools).

        Returns ``(pure, inside)``: ``pure[i]`` is 1 when every byte in node ``i``'s subtree (its own included)
        is in ``loop``, so a walk that reaches ``i`` in that state stays in it through the whole subtree; and
        ``inside``, the ``n_words`` uint32 mask of the tokens all of whose bytes are in ``loop``. Cached per
        class (a JSON string body is one class, shared by every string terminal), like llguidance's slicer.
        """
        key = (np.packbits(loop).tobytes(), n_words)
        cache = self.__dict__.setdefault("_slices", {})
        with _SLICE_LOCK:
            hit = cache.get(key)
        if hit is not None:
            return hit
        n = self.n_nodes
        off = ~np.asarray(loop, dtype=bool)[self.byte] if n else np.zeros(0, dtype=bool)
        below = np.concatenate([[0], np.cumsum(off, dtype=np.int64)])
        pure = (below[self.next] == below[:n]).astype(np.uint8)
        # a node's path leaves the class iff some ancestor-or-self is off it: mark each off node's subtree
        cover = np.zeros(n + 1, dtype=np.int64)
        np.add.at(cover, np.flatnonzero(off), 1)
        np.add.at(cover, self.next[off], -1)
        on_path = np.cumsum(cover[:n]) == 0
        counts = np.diff(self.tok_start)
        ids = self.tok_ids[np.repeat(on_path, counts)]
        bits = np.zeros(n_words * 32, dtype=bool)
        bits[ids] = True
        inside = np.packbits(bits, bitorder="little").view(np.uint32).copy()
        with _SLICE_LOCK:  # tries are shared by every grammar compiled for the vocabulary, across threads
            if len(cache) >= 16:
                cache.pop(next(iter(cache)))
            cache[key] = (pure, inside)
        return pure, inside
