"""The vocabulary as a byte trie laid out flat in DFS order, the shape the mask walk reads."""

from __future__ import annotations

import numpy as np

__all__ = ["TokenTrie"]


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
