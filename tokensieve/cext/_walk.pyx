# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The token-trie walk: the mask hot loop. Twin: ``tokensieve/masking/_walk_py.py`` (same names, semantics).

Per trie node: one transition-table read, one branch on dead/alive, a token-bit write; Python is entered only
to materialise a lexer state (once per state, ever) or at a lexeme boundary (rows are cached per row and
terminal set). Measured cost: see the closing notes of the performance issue; the loop is ~3-5 ns per node on
this machine's cores when no boundary is crossed.
"""

from libc.stdint cimport int32_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc


def walk_trie(const int32_t[::1] t_byte, const int32_t[::1] t_depth, const int32_t[::1] t_next,
              const int32_t[::1] t_tok_start, const int32_t[::1] t_tok_ids, lexer, ctx, int start_state,
              uint32_t[::1] out, int limit=-1):
    """Set in ``out`` the bit of every token whose bytes keep the state alive (see the twin for ``limit``).

    Returns ``(nodes visited, max cost of a set token, min cost of an alive token)``.
    """
    cdef Py_ssize_t n = t_byte.shape[0]
    cdef Py_ssize_t i = 0, k
    cdef int d, s, b, nxt, r, tid, maxd = 0
    cdef long visited = 0
    cdef int32_t[::1] trans = lexer.trans
    cdef const uint8_t[::1] accept = lexer.accept_flag
    cdef bint budget = limit >= 0
    cdef int32_t[::1] costs
    cdef int c, max_cost = -1, min_cost = -1
    if budget:
        costs = ctx.cost_table()
    for k in range(n):
        if t_depth[k] > maxd:
            maxd = t_depth[k]
    cdef int *states = <int *> malloc((maxd + 2) * sizeof(int))
    cdef int *pushed = <int *> malloc((maxd + 2) * sizeof(int))
    cdef int npushed = 0
    if states == NULL or pushed == NULL:
        free(states)
        free(pushed)
        raise MemoryError()
    states[1] = start_state
    try:
        while i < n:
            d = t_depth[i]
            while npushed > 0 and pushed[npushed - 1] >= d:
                npushed -= 1
                ctx.pop()
                if budget:
                    costs = ctx.cost_table()
            s = states[d]
            b = t_byte[i]
            visited += 1
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
                    if budget:
                        costs = ctx.cost_table()
            states[d + 1] = nxt
            if budget and t_tok_start[i] < t_tok_start[i + 1]:
                c = costs[nxt] if nxt < costs.shape[0] else -1
                if c < 0:
                    c = ctx.cost(nxt)
                    costs = ctx.cost_table()
                if min_cost < 0 or c < min_cost:
                    min_cost = c
                if c > limit:
                    i += 1
                    continue
                if c > max_cost:
                    max_cost = c
            for k in range(t_tok_start[i], t_tok_start[i + 1]):
                tid = t_tok_ids[k]
                out[tid >> 5] |= (<uint32_t> 1) << (tid & 31)
            i += 1
        while npushed > 0:
            npushed -= 1
            ctx.pop()
    finally:
        free(states)
        free(pushed)
    return visited, max_cost, min_cost


def or_words(uint32_t[::1] dst, const uint32_t[::1] src):
    """dst |= src over uint32 words."""
    cdef Py_ssize_t k
    with nogil:
        for k in range(dst.shape[0]):
            dst[k] |= src[k]
