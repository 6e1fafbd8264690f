"""The byte automaton of a partial output: known fragments, unbounded holes and budgeted holes.

Nodes are numbered in topological order; every edge goes forward, except that a *hub* node (an unbounded
hole, ``Σ*``) reads any byte and stays. A fragment is a chain of nodes, one per byte. An unbounded hole is the
node where the preceding fragment ends, marked as a hub, so ``s0 □ s1`` is ``s0`` into the hub and ``s1``
out of it. A budgeted hole is a layered region: layer ``c`` reads the ``c``-th token of the hole through a trie
of the vocabulary (or one byte per layer for byte budgets), and every layer in ``[lo, hi]`` may leave by an
epsilon edge. Edges carry the region id of the hole they read (-1 for fragment bytes), so a witness can be
split back into the hole fillers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import LimitExceededError

__all__ = ["Graph", "Region", "TokenTrie", "build_graph"]


class TokenTrie:
    """A byte trie of token strings for region expansion: per internal node, grouped child edges.

    ``edges[u]`` lists ``(lo, hi, child, ends)``: bytes ``lo..hi`` lead to trie node ``child`` (-1 if it has
    no children of its own) and ``ends`` says whether that byte completes a token. Node 0 is the root.
    """

    def __init__(self, tokens):
        children: list[dict[int, int]] = [{}]
        ends: list[bool] = [False]
        for tok in sorted(set(tokens)):
            u = 0
            for b in tok:
                v = children[u].get(b)
                if v is None:
                    v = len(children)
                    children.append({})
                    ends.append(False)
                    children[u][b] = v
                u = v
            ends[u] = True
        # renumber so that only nodes with children are kept (leaves become "ends" flags on the edge)
        keep: dict[int, int] = {}
        order = []
        stack = [0]
        while stack:  # preorder: a parent always precedes its children
            u = stack.pop()
            if u != 0 and not children[u]:
                continue
            keep[u] = len(order)
            order.append(u)
            stack.extend(sorted(children[u].values(), reverse=True))
        self.edges: list[list[tuple[int, int, int, bool]]] = []
        for u in order:
            row: list[tuple[int, int, int, bool]] = []
            for b in sorted(children[u]):
                v = children[u][b]
                item = (keep.get(v, -1), ends[v])
                if row and row[-1][1] == b - 1 and (row[-1][2], row[-1][3]) == item and item[0] == -1:
                    row[-1] = (row[-1][0], b, item[0], item[1])
                else:
                    row.append((b, b, item[0], item[1]))
            self.edges.append(row)
        self.n_internal = len(order)

    @classmethod
    def single_bytes(cls, byte_values) -> "TokenTrie":
        return cls(bytes((b,)) for b in byte_values)


@dataclass(frozen=True)
class Region:
    """How one hole is represented: ``kind`` is "hub" (unbounded) or "layers" (``lo..hi`` tokens of ``trie``)."""

    kind: str
    lo: int = 0
    hi: int = 0
    trie: TokenTrie | None = None


class Graph:
    """Nodes with forward byte edges ``out[n] = [(lo, hi, target, region)]``, epsilon edges, and hubs."""

    __slots__ = ("out", "eps", "eps_in", "hub", "final", "n", "max_nodes", "hole_cum")

    def __init__(self, max_nodes: int):
        self.out: list[list[tuple[int, int, int, int]]] = [[]]
        self.eps: list[list[int]] = [[]]
        self.eps_in: list[list[int]] = [[]]
        self.hub: list[int] = [-1]
        self.n = 1
        self.final = 0
        self.max_nodes = max_nodes
        self.hole_cum: list[int] = []  # hole_cum[n]: hole nodes among 0..n-1 (see hole_free)

    def new(self) -> int:
        if self.n >= self.max_nodes:
            raise LimitExceededError("canvas size", f"more than {self.max_nodes} automaton nodes "
                                     "(canvas bytes plus expanded hole budgets)")
        self.out.append([])
        self.eps.append([])
        self.eps_in.append([])
        self.hub.append(-1)
        self.n += 1
        return self.n - 1

    def add_eps(self, a: int, b: int) -> None:
        self.eps[a].append(b)
        self.eps_in[b].append(a)

    def hole_free(self, a: int, b: int) -> bool:
        """No byte between nodes ``a`` and ``b`` (inclusive) can lie in a hole: the span is known text."""
        return self.hole_cum[b + 1] == self.hole_cum[a]

    def same_node(self, other: "Graph", n: int) -> bool:
        return (n < other.n and self.out[n] == other.out[n] and self.eps[n] == other.eps[n]
                and self.hub[n] == other.hub[n] and self.eps_in[n] == other.eps_in[n])


def region_size(region: Region) -> int:
    """Nodes a region adds to the graph."""
    if region.kind == "hub":
        return 0
    return region.hi * (region.trie.n_internal) + 1


def build_graph(segments, *, max_nodes: int) -> Graph:
    """``segments``: a list of ``bytes`` (known text) and ``(region_id, Region)`` pairs (holes), in order."""
    g = Graph(max_nodes)
    cur = 0
    for seg in segments:
        if isinstance(seg, (bytes, bytearray)):
            for b in seg:
                n = g.new()
                g.out[cur].append((b, b, n, -1))
                cur = n
            continue
        rid, region = seg
        if region.kind == "hub":
            if g.hub[cur] < 0:
                g.hub[cur] = rid
            continue
        trie = region.trie
        roots = [cur]
        exits = [cur] if region.lo == 0 else []
        for c in range(region.hi):
            # layer c: the trie's internal nodes (root = roots[c]) in preorder, then the next root
            ids = [roots[c]] + [g.new() for _ in range(trie.n_internal - 1)]
            nxt = g.new()
            for u, row in enumerate(trie.edges):
                src = ids[u]
                for lo, hi, child, ends in row:
                    if child >= 0:
                        g.out[src].append((lo, hi, ids[child], rid))
                    if ends:
                        g.out[src].append((lo, hi, nxt, rid))
            roots.append(nxt)
            if c + 1 >= region.lo:
                exits.append(nxt)
        if len(exits) == 1 and exits[0] == roots[-1]:
            cur = roots[-1]
            continue
        x = g.new()
        for e in exits:
            g.add_eps(e, x)
        cur = x
    g.final = cur
    cum, c = [0], 0
    for n in range(g.n):
        if g.hub[n] >= 0 or any(e[3] >= 0 for e in g.out[n]):
            c += 1
        cum.append(c)
    g.hole_cum = cum
    return g
