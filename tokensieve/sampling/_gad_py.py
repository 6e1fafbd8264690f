"""Pure-Python twin of ``tokensieve.cext._gad``: the sampler's trie of prefixes, same names and semantics.

It is the oracle for the Cython kernel in tests and the fallback when the extension is not built.

Protocol. A :class:`Trie` is bound to the sampler's weight buffer ``e`` (float64, one entry per token id; the
sampler writes ``exp(logit - max)`` into it at every step) and walks one attempt at a time. :meth:`Trie.begin`
puts the cursor on the root. At every step, once ``e`` holds the step's weights, one :meth:`Trie.advance` call
records the previous step's masked draw (deferred to here so that a step costs one call), moves the cursor, keeps
this step's ``max`` and normaliser for the next record and multiplies ``e`` at the cursor's stored children by
their estimates. CARS's unmasked draw at a first-visited prefix is recorded at once by :meth:`Trie.step_first`;
:meth:`Trie.push` records a draw whose sums the caller computed (log space). :meth:`Trie.commit` records the last
draw and folds the attempt into the estimates. Calls return a state code: ``FRESH`` (the cursor's node was never
expanded: CARS proposes unmasked there), ``KIDS`` (expanded, with stored children), ``BARE`` (expanded, none),
``END`` (the attempt ended on an EOS), ``REJECT`` (the token was not viable) or ``NEED_LOG`` (the weights
underflowed: nothing happened; record the draw in log space with :meth:`Trie.push`, with ``prev_mx`` and
``prev_log_s`` for its logits' max and normaliser, then repeat the call with ``j = -1``). The trie keeps no
reference to the caller's arrays.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Node", "KidArrays", "Trie", "UNEXPLORED", "rest_weight", "seq_sum",
           "END", "REJECT", "NEED_LOG", "FRESH", "KIDS", "BARE", "ARRAY_KIDS", "TINY"]

END, REJECT, NEED_LOG, FRESH, KIDS, BARE = range(6)
ARRAY_KIDS = 8  # from this many children on, a node mirrors them in arrays (one vectorised reweighting step)
# Below this total (relative to the largest logit's weight) the linear weights may have lost mass to underflow.
TINY = 1e-250
_NEG_INF = -math.inf


class Node:
    """A visited or sampled prefix. ``logc`` = log of the estimate c(u) and ``c`` = exp(logc) (cached: the draw
    multiplies by it); ``kids`` maps token -> Node (only sampled children; EOS and invalid tokens are never
    stored); ``arr`` mirrors the children in arrays once there are many."""

    __slots__ = ("logc", "c", "expanded", "kids", "arr")

    def __init__(self) -> None:
        self.logc = 0.0
        self.c = 1.0
        self.expanded = False
        self.kids: dict[int, Node] | None = None
        self.arr: KidArrays | None = None


class KidArrays:
    """The children of a node with many of them as (token, log c, c) arrays, kept in step by the updates."""

    __slots__ = ("tok", "logc", "c", "n", "slot")

    def __init__(self, kids: dict) -> None:
        n = len(kids)
        cap = max(16, 2 * n)
        self.tok = np.zeros(cap, dtype=np.int64)
        self.logc = np.zeros(cap, dtype=np.float64)
        self.c = np.ones(cap, dtype=np.float64)
        self.n = n
        self.slot: dict[int, int] = {}
        for i, (t, ch) in enumerate(kids.items()):
            self.tok[i], self.logc[i], self.c[i] = t, ch.logc, ch.c
            self.slot[t] = i

    def add(self, t: int) -> None:
        """Append a new child (estimate 1)."""
        if self.n == self.tok.shape[0]:
            self.tok = np.concatenate([self.tok, np.zeros_like(self.tok)])
            self.logc = np.concatenate([self.logc, np.zeros_like(self.logc)])
            self.c = np.concatenate([self.c, np.ones_like(self.c)])
        self.tok[self.n] = t
        self.logc[self.n] = 0.0
        self.c[self.n] = 1.0
        self.slot[t] = self.n
        self.n += 1


# Stands for a child the full trie could not store: its parent keeps counting it as unexplored (c = 1), which
# keeps the parent consistent with what later draws will see. Never written.
UNEXPLORED = Node()


def seq_sum(a: np.ndarray) -> float:
    """Left-to-right float64 sum (the kernel's loop, bit for bit; numpy's ``sum`` is pairwise)."""
    return float(np.cumsum(a)[-1]) if a.shape[0] else 0.0


def rest_weight(wa: np.ndarray, cw: np.ndarray | None, j: int, valid: bool, tot: float) -> float:
    """Total weight of the viable tokens other than the drawn one (``wa[j]``; all of them when not ``valid``).

    ``tot`` is the total of ``wa``; ``cw`` its running sums (None: not computed). Subtracting a dominant weight
    from the total would cancel, so then the others are added up instead."""
    if not valid:
        return tot
    n = wa.shape[0]
    if cw is None:
        wj = float(wa[j])
        if wj <= 0.5 * tot:
            return tot - wj
        return seq_sum(wa[:j]) + seq_sum(wa[j + 1:])
    # the running sums give the drawn weight (to within rounding of the total, which is all the test below and
    # tot - wj need) without reading wa: one array fewer to fetch
    head = float(cw[j - 1]) if j else 0.0
    wj = float(cw[j]) - head
    if wj <= 0.5 * tot:
        return tot - wj
    tail = tot - float(cw[j]) if j + 1 < n else 0.0
    if tail < 1e-6 * tot and j + 1 < n:  # too much cancelled: sum directly
        tail = seq_sum(wa[j + 1:])
    return head + tail


def _count_nodes(kids: dict) -> int:
    """Nodes in the subtrees below ``kids`` (explicit stack)."""
    n = 0
    stack = list(kids.values())
    while stack:
        x = stack.pop()
        n += 1
        if x.kids:
            stack.extend(x.kids.values())
    return n


def _state(node: Node) -> int:
    # never expanded comes first: an attempt that failed before its commit can leave children under such a node
    if not node.expanded:
        return FRESH
    return KIDS if node.kids else BARE


class Trie:
    """The persistent trie of one sampler and the cursor of the attempt in progress.

    Parameters:
        e: the sampler's weight buffer (float64, vocabulary-sized), read and reweighted in place.
        eos: EOS token ids (never stored as children).
        max_nodes: once this many nodes exist no more are stored (``frozen`` tells it happened).
    """

    def __init__(self, e: np.ndarray, eos, max_nodes: int) -> None:
        self.e = e
        self.eos = frozenset(int(t) for t in eos)
        self.max_nodes = int(max_nodes)
        self.root = Node()
        self.nodes = 1
        self.frozen = False
        self.cur: Node | None = self.root
        self.committing = False
        # max and log normaliser of the logits of the step whose draw is recorded next (set by advance)
        self.prev_mx = self.prev_log_s = 0.0
        # the attempt's path, one entry per drawn token: (node, was it expanded, log c(uk) as the draw saw it,
        # log weight of the other viable tokens, log P(k|u), child or None, k)
        self.path: list[tuple] = []

    def begin(self, commit: bool) -> int:
        """Start an attempt at the root; ``commit``: new children may be stored. Returns the root's state."""
        self.cur = self.root
        self.committing = bool(commit)
        self.path.clear()
        return _state(self.root)

    def reweight(self) -> None:
        """Multiply ``e`` at the cursor's stored children by their estimates."""
        node = self.cur
        if node is None:
            raise RuntimeError("no attempt in progress (call begin)")
        kids = node.kids
        if not kids:
            return
        arr = node.arr
        if arr is None and len(kids) >= ARRAY_KIDS:
            arr = node.arr = KidArrays(kids)
        e = self.e
        if arr is not None:
            n = arr.n
            e[arr.tok[:n]] *= arr.c[:n]
        else:
            for t, ch in kids.items():
                if ch.c != 1.0:
                    e[t] *= ch.c

    def _record(self, j: int, k: int, wa: np.ndarray, cw: np.ndarray, tot: float, lg: np.ndarray) -> int:
        """The masked draw of ``k = idx[j]`` with weights ``wa`` (that step's ``e`` gathered at its viable tokens
        ``idx``), running sums ``cw``, total ``tot = cw[-1]`` and logits ``lg``."""
        rest = rest_weight(wa, cw, j, True, tot)
        log_s = self.prev_log_s
        if rest >= TINY:
            log_rest = math.log(rest) - log_s
        elif wa.shape[0] == 1:
            log_rest = _NEG_INF
        else:
            return NEED_LOG
        return self.push(k, True, log_rest, float(lg[k]) - self.prev_mx - log_s)

    def advance(self, j: int, k: int, wa, cw, tot: float, plg, mx: float, log_s: float) -> int:
        """Record the previous step's masked draw ``(j, k, wa, cw, tot)`` whose logits were ``plg`` (``j = -1``:
        none to record; see ``_record``), keep this step's logits' max ``mx`` and log normaliser ``log_s``
        (relative to ``exp(mx)``) for the next record, and reweight ``e`` (this step's weights) at the cursor's
        children. Returns the cursor's state, or ``NEED_LOG`` with nothing done."""
        if self.cur is None:
            raise RuntimeError("no attempt in progress (call begin)")
        if j >= 0:
            state = self._record(j, k, wa, cw, tot, plg)
            if state == NEED_LOG:
                return state
        self.prev_mx, self.prev_log_s = mx, log_s
        self.reweight()
        return _state(self.cur)

    def step_first(self, k: int, idx: np.ndarray, lg: np.ndarray, mx: float, log_s: float) -> int:
        """Record CARS's unmasked draw of ``k`` at a first-visited prefix whose viable tokens are ``idx`` (sorted,
        int64); weights ``e[idx]``. Returns the new state (``REJECT`` when ``k`` is not viable, ``NEED_LOG`` when
        the weights underflowed: nothing recorded)."""
        n = idx.shape[0]
        wa = self.e[idx]
        tot = seq_sum(wa)
        if tot < TINY:
            return NEED_LOG
        j = int(np.searchsorted(idx, k))
        valid = j < n and int(idx[j]) == k
        rest = rest_weight(wa, None, j, valid, tot)
        if rest >= TINY:
            log_rest = math.log(rest) - log_s
        elif n == (1 if valid else 0):
            log_rest = _NEG_INF
        else:
            return NEED_LOG
        return self.push(k, valid, log_rest, float(lg[k]) - mx - log_s)

    def push(self, k: int, valid: bool, log_rest: float, logp: float) -> int:
        """Record the draw of ``k`` from the cursor given the other viable tokens' log weight ``log_rest`` and
        ``logp = log P(k|u)``; moves the cursor (storing the child when allowed). Returns the new state."""
        node = self.cur
        if node is None:
            raise RuntimeError("no attempt in progress (call begin)")
        if valid and k not in self.eos:
            kids = node.kids
            ref = nxt = kids.get(k) if kids is not None else None
            seen = 0.0
            if nxt is not None:
                seen = nxt.logc
            else:
                nxt = Node()
                if self.committing and self.nodes < self.max_nodes:
                    if kids is None:
                        node.kids = kids = {}
                    kids[k] = ref = nxt
                    if node.arr is not None:
                        node.arr.add(k)
                    self.nodes += 1
                else:
                    self.frozen = self.frozen or self.committing
                    ref = UNEXPLORED
            self.path.append((node, node.expanded, seen, log_rest, logp, ref, k))
            self.cur = nxt
            return _state(nxt)
        self.path.append((node, node.expanded, 0.0, log_rest, logp, None, k))
        self.cur = None
        return END if valid else REJECT

    def commit(self, j: int, k: int, wa, cw, tot: float, plg, leaf: float, died: bool) -> int:
        """Record the last masked draw ``(j, k, wa, cw, tot)`` with logits ``plg`` as :meth:`advance` does
        (``j = -1``: none), then
        update the estimates along the attempt's path, bottom up: c(u) = (other viable tokens' weight) +
        P(k|u) c(uk). ``leaf``: log c of what ended the attempt (0 after EOS, -inf after an invalid token);
        ``died``: the cursor's node has no valid continuation. Leaves the cursor on the root as ``begin(True)``
        would and returns the root's state, or ``NEED_LOG`` with nothing done.

        Deferring is exact: a draw at u reads only u's children, which change only through visits below u. The
        walk stops at the first already-expanded node whose chosen child kept the value the draw saw: that node
        already holds sum_t P(t|u) c(ut) over its current children, and so does every ancestor."""
        if j >= 0 and self._record(j, k, wa, cw, tot, plg) == NEED_LOG:
            return NEED_LOG
        if died:
            dead = self.cur
            if dead is None:
                raise RuntimeError("died without a node at the cursor")
            dead.logc, dead.c = _NEG_INF, 0.0
            dead.expanded = True
            if dead.kids:
                self.nodes -= _count_nodes(dead.kids)
                dead.kids = dead.arr = None
        below = leaf
        for node, was_expanded, seen, log_rest, logp, child, k in reversed(self.path):
            if child is not None:
                below = child.logc
                arr = node.arr
                if arr is not None and below != seen:
                    slot = arr.slot.get(k)
                    if slot is not None:
                        arr.logc[slot] = below
                        arr.c[slot] = child.c
            if was_expanded and below == seen:
                break
            a, b = log_rest, logp + below
            if a == _NEG_INF:
                new = b
            elif b == _NEG_INF:
                new = a
            else:
                hi, lo = (a, b) if a >= b else (b, a)
                new = hi + math.log1p(math.exp(lo - hi))
            # never rises: guards the invariant against rounding and slightly nondeterministic logits
            if new < node.logc:
                node.logc = new
                node.c = math.exp(new)
            node.expanded = True
            if node.logc == _NEG_INF and node.kids:
                self.nodes -= _count_nodes(node.kids)
                node.kids = node.arr = None
            below = node.logc
        return self.begin(True)
