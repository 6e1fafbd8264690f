# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Token-trie walks: the mask hot loop. Twin: ``tokensieve/masking/_walk_py.py`` (same names, semantics, and
the protocol of ``trie``, ``lexer`` and ``ctx`` documented there).

Per trie node: one transition-table read, one branch on dead/alive, a token-bit write. Python is entered only
to materialise a lexer state (once per state, ever), at a lexeme boundary (rows are cached per row and
terminal set) and, under a token budget, once per (row, state) cost. Measured on this machine (SmolLM2
vocabulary, ~100k trie nodes): ~7 ns per visited node, so a full walk is ~0.7 ms; ``collect_ci`` +
``walk_points`` make the common mask a copy plus a walk of the few subtrees past a lexeme end.
"""

from libc.stdint cimport int32_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc


cdef class _Walker:
    """Buffers and views acquired once per kernel call (a view costs ~0.5 us: never per node)."""
    cdef const int32_t[::1] t_byte, t_depth, t_next, tok_start, tok_ids
    cdef int32_t[::1] trans
    cdef const uint8_t[::1] accept
    cdef int32_t[::1] costs
    cdef uint32_t[::1] out
    cdef object lexer, ctx
    cdef int limit, max_cost, min_cost
    cdef long visited
    cdef int *states
    cdef int *pushed

    def __cinit__(self, trie, lexer, ctx, uint32_t[::1] out, int limit):
        cdef int maxd = trie.max_depth
        self.t_byte = trie.byte
        self.t_depth = trie.depth
        self.t_next = trie.next
        self.tok_start = trie.tok_start
        self.tok_ids = trie.tok_ids
        self.trans = lexer.trans
        self.accept = lexer.accept_flag
        self.lexer = lexer
        self.ctx = ctx
        self.out = out
        self.limit = limit
        self.max_cost = -1
        self.min_cost = -1
        self.visited = 0
        if limit >= 0:
            self.costs = ctx.cost_table()
        self.states = <int *> malloc((maxd + 2) * sizeof(int))
        self.pushed = <int *> malloc((maxd + 2) * sizeof(int))
        if self.states == NULL or self.pushed == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.states)
        free(self.pushed)

    cdef inline void _refresh(self):
        self.trans = self.lexer.trans
        self.accept = self.lexer.accept_flag

    cdef int mark(self, Py_ssize_t i, int state) except -1:
        """Set the bits of the tokens ending at node ``i`` (under the budget, if any)."""
        cdef Py_ssize_t k
        cdef int c, tid
        if self.tok_start[i] == self.tok_start[i + 1]:
            return 0
        if self.limit >= 0:
            c = self.costs[state] if state < self.costs.shape[0] else -1
            if c < 0:
                c = self.ctx.cost(state)
                self.costs = self.ctx.cost_table()
            if self.min_cost < 0 or c < self.min_cost:
                self.min_cost = c
            if c > self.limit:
                return 0
            if c > self.max_cost:
                self.max_cost = c
        for k in range(self.tok_start[i], self.tok_start[i + 1]):
            tid = self.tok_ids[k]
            self.out[tid >> 5] |= (<uint32_t> 1) << (tid & 31)
        return 0

    cdef int walk_range(self, Py_ssize_t i, Py_ssize_t i_end, int d0, int state) except -1:
        """Walk nodes ``[i, i_end)`` whose shallowest depth is ``d0``, entered in lexer ``state``."""
        cdef int d, s, b, nxt, r
        cdef int npushed = 0
        cdef int *states = self.states
        cdef int *pushed = self.pushed
        states[d0] = state
        while i < i_end:
            d = self.t_depth[i]
            while npushed > 0 and pushed[npushed - 1] >= d:
                npushed -= 1
                self.ctx.pop()
                if self.limit >= 0:
                    self.costs = self.ctx.cost_table()
            s = states[d]
            b = self.t_byte[i]
            self.visited += 1
            nxt = self.trans[s * 256 + b]
            if nxt < 0:
                self.lexer.expand(s)
                self._refresh()
                nxt = self.trans[s * 256 + b]
            if nxt == 0:
                if not self.accept[s]:
                    i = self.t_next[i]
                    continue
                r = self.ctx.boundary(s, b)
                self._refresh()
                if r < 0:
                    i = self.t_next[i]
                    continue
                nxt = r >> 1
                if r & 1:
                    pushed[npushed] = d
                    npushed += 1
                    if self.limit >= 0:
                        self.costs = self.ctx.cost_table()
            states[d + 1] = nxt
            self.mark(i, nxt)
            i += 1
        while npushed > 0:
            npushed -= 1
            self.ctx.pop()
        return 0


def walk_trie(trie, lexer, ctx, int start_state, uint32_t[::1] out, int limit=-1):
    """Set in ``out`` the bit of every token whose bytes keep the state alive."""
    cdef _Walker w = _Walker(trie, lexer, ctx, out, limit)
    w.walk_range(0, w.t_byte.shape[0], 1, start_state)
    return w.visited, w.max_cost, w.min_cost


def walk_points(trie, lexer, ctx, const int32_t[::1] nodes, int state, uint32_t[::1] out, int limit=-1):
    """Walk each node's subtree as if a lexeme started at that node in lexer ``state`` (its byte included)."""
    cdef _Walker w = _Walker(trie, lexer, ctx, out, limit)
    cdef Py_ssize_t k, i
    for k in range(nodes.shape[0]):
        i = nodes[k]
        w.walk_range(i, w.t_next[i], w.t_depth[i], state)
    return w.visited, w.max_cost, w.min_cost


def collect_ci(trie, lexer, int start_state, uint32_t[::1] out):
    """Tokens that stay inside the current lexeme (bits set in ``out``) and the lexeme-end nodes.

    Returns ``(nodes, states, ends)``: trie nodes whose byte ends the lexeme, the state before it, and the set
    of lexer states in which marked tokens end.
    """
    cdef const int32_t[::1] t_byte = trie.byte
    cdef const int32_t[::1] t_depth = trie.depth
    cdef const int32_t[::1] t_next = trie.next
    cdef const int32_t[::1] tok_start = trie.tok_start
    cdef const int32_t[::1] tok_ids = trie.tok_ids
    cdef int maxd = trie.max_depth
    cdef int32_t[::1] trans = lexer.trans
    cdef const uint8_t[::1] accept = lexer.accept_flag
    cdef Py_ssize_t n = t_byte.shape[0], i = 0, k
    cdef int d, s, b, nxt, tid
    nodes, bstates, ends = [], [], set()
    cdef int *states = <int *> malloc((maxd + 2) * sizeof(int))
    if states == NULL:
        raise MemoryError()
    states[1] = start_state
    try:
        while i < n:
            d = t_depth[i]
            s = states[d]
            b = t_byte[i]
            nxt = trans[s * 256 + b]
            if nxt < 0:
                lexer.expand(s)
                trans = lexer.trans
                accept = lexer.accept_flag
                nxt = trans[s * 256 + b]
            if nxt == 0:
                if accept[s]:
                    nodes.append(i)
                    bstates.append(s)
                i = t_next[i]
                continue
            states[d + 1] = nxt
            if tok_start[i] < tok_start[i + 1]:
                ends.add(nxt)
                for k in range(tok_start[i], tok_start[i + 1]):
                    tid = tok_ids[k]
                    out[tid >> 5] |= (<uint32_t> 1) << (tid & 31)
            i += 1
    finally:
        free(states)
    return nodes, bstates, ends


def or_words(uint32_t[::1] dst, const uint32_t[::1] src):
    """dst |= src over uint32 words."""
    cdef Py_ssize_t k
    with nogil:
        for k in range(dst.shape[0]):
            dst[k] |= src[k]
