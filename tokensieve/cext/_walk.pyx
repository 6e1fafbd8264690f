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


cdef class _Acc:
    cdef public int max_cost, min_cost
    cdef public long visited

    def __cinit__(self):
        self.max_cost = -1
        self.min_cost = -1
        self.visited = 0


cdef inline bint _mark(const int32_t[::1] tok_start, const int32_t[::1] tok_ids, Py_ssize_t i, int state,
                       uint32_t[::1] out, int limit, _Acc acc, object ctx, int32_t[::1] costs) except -1:
    """Set the bits of tokens ending at node ``i``; returns True if the cost table may have moved."""
    cdef Py_ssize_t k
    cdef int c, tid
    cdef bint moved = False
    if tok_start[i] == tok_start[i + 1]:
        return False
    if limit >= 0:
        c = costs[state] if state < costs.shape[0] else -1
        if c < 0:
            c = ctx.cost(state)
            moved = True
        if acc.min_cost < 0 or c < acc.min_cost:
            acc.min_cost = c
        if c > limit:
            return moved
        if c > acc.max_cost:
            acc.max_cost = c
    for k in range(tok_start[i], tok_start[i + 1]):
        tid = tok_ids[k]
        out[tid >> 5] |= (<uint32_t> 1) << (tid & 31)
    return moved


cdef int _walk_range(trie, lexer, ctx, Py_ssize_t i, Py_ssize_t i_end, int d0, int state,
                     uint32_t[::1] out, int limit, _Acc acc) except -1:
    cdef const int32_t[::1] t_byte = trie.byte
    cdef const int32_t[::1] t_depth = trie.depth
    cdef const int32_t[::1] t_next = trie.next
    cdef const int32_t[::1] tok_start = trie.tok_start
    cdef const int32_t[::1] tok_ids = trie.tok_ids
    cdef int maxd = trie.max_depth
    cdef int32_t[::1] trans = lexer.trans
    cdef const uint8_t[::1] accept = lexer.accept_flag
    cdef int32_t[::1] costs = ctx.cost_table() if limit >= 0 else None
    cdef int d, s, b, nxt, r
    cdef int *states = <int *> malloc((maxd + 2) * sizeof(int))
    cdef int *pushed = <int *> malloc((maxd + 2) * sizeof(int))
    cdef int npushed = 0
    if states == NULL or pushed == NULL:
        free(states)
        free(pushed)
        raise MemoryError()
    states[d0] = state
    try:
        while i < i_end:
            d = t_depth[i]
            while npushed > 0 and pushed[npushed - 1] >= d:
                npushed -= 1
                ctx.pop()
                if limit >= 0:
                    costs = ctx.cost_table()
            s = states[d]
            b = t_byte[i]
            acc.visited += 1
            nxt = trans[s * 256 + b]
            if nxt < 0:
                lexer.expand(s)
                trans = lexer.trans
                accept = lexer.accept_flag
                nxt = trans[s * 256 + b]
            if nxt == 0:
                if not accept[s]:
                    i = t_next[i]
                    continue
                r = ctx.boundary(s, b)
                trans = lexer.trans
                accept = lexer.accept_flag
                if r < 0:
                    i = t_next[i]
                    continue
                nxt = r >> 1
                if r & 1:
                    pushed[npushed] = d
                    npushed += 1
                    if limit >= 0:
                        costs = ctx.cost_table()
            states[d + 1] = nxt
            if _mark(tok_start, tok_ids, i, nxt, out, limit, acc, ctx, costs):
                costs = ctx.cost_table()
            i += 1
        while npushed > 0:
            npushed -= 1
            ctx.pop()
    finally:
        free(states)
        free(pushed)
    return 0


def walk_trie(trie, lexer, ctx, int start_state, uint32_t[::1] out, int limit=-1):
    """Set in ``out`` the bit of every token whose bytes keep the state alive."""
    cdef _Acc acc = _Acc()
    _walk_range(trie, lexer, ctx, 0, trie.byte.shape[0], 1, start_state, out, limit, acc)
    return acc.visited, acc.max_cost, acc.min_cost


def walk_points(trie, lexer, ctx, const int32_t[::1] nodes, int state, uint32_t[::1] out, int limit=-1):
    """Walk each node's subtree as if a lexeme started at that node in lexer ``state`` (its byte included)."""
    cdef _Acc acc = _Acc()
    cdef const int32_t[::1] t_depth = trie.depth
    cdef const int32_t[::1] t_next = trie.next
    cdef Py_ssize_t k, i
    for k in range(nodes.shape[0]):
        i = nodes[k]
        _walk_range(trie, lexer, ctx, i, t_next[i], t_depth[i], state, out, limit, acc)
    return acc.visited, acc.max_cost, acc.min_cost


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
