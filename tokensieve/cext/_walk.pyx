# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Token-trie walks: the mask hot loop. Twin: ``tokensieve/masking/_walk_py.py`` (same names, semantics, and
the protocol of ``trie``, ``lexer`` and ``ctx`` documented there).

Per trie node: one transition-table read, one branch on dead/alive, a token-bit write. Python is entered only
to materialise a lexer state (once per state, ever), once per distinct (parse level, lexer state) at a
lexeme end (memoised in C for the walk), and, under a token budget, once per (level, state) cost. Measured on
this machine, a full walk through a JSON string body: ~6 ns per visited node (SmolLM2, 100k nodes: 0.59 ms;
cl100k, 210k nodes: 1.25 ms, was 1.68 ms before raw pointers and the inlined token loop); ``collect_ci`` +
``walk_points`` make the common mask a copy plus a walk of the few subtrees past a lexeme end.
"""

from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc


cdef struct MemoSlot:
    uint64_t key  # 0 = empty; else ((level << 32) | state) + 1
    int32_t r
    int32_t level


cdef class _Lexer:
    """The lexer's tables as raw pointers, refreshed after each (GIL-holding) state expansion or parse step
    (either may grow the tables). Indexing a memoryview attribute reloads its struct from ``self`` on every
    access; the walks read through these pointers."""
    cdef object lexer
    cdef int32_t[::1] trans
    cdef const uint8_t[::1] accept
    cdef const int32_t *p_trans
    cdef const uint8_t *p_accept

    def __cinit__(self, lexer):
        self.lexer = lexer
        self.refresh()

    cdef int refresh(self) except -1:
        self.trans = self.lexer.trans
        self.accept = self.lexer.accept_flag
        self.p_trans = &self.trans[0]
        self.p_accept = &self.accept[0]
        return 0

    cdef int expand(self, int s) except -1:
        self.lexer.expand(s)
        self.refresh()
        return 0


cdef class _Walker:
    """Buffers, views and the per-walk memo of parse steps, set up once per kernel call."""
    cdef const int32_t[::1] t_byte, t_depth, t_next, tok_start, tok_ids
    cdef _Lexer lx
    cdef int32_t[::1] costs
    cdef int cost_level
    cdef uint32_t[::1] out
    cdef object ctx
    cdef int limit, max_cost, min_cost
    cdef long visited
    cdef int *states
    cdef int *levels
    cdef MemoSlot *memo
    cdef Py_ssize_t memo_cap, memo_used
    # raw pointers into the views above (the views keep the buffers alive): indexing a memoryview attribute
    # reloads its struct from ``self`` on every access
    cdef const int32_t *p_byte
    cdef const int32_t *p_depth
    cdef const int32_t *p_next
    cdef const int32_t *p_tok_start
    cdef const int32_t *p_tok_ids
    cdef uint32_t *p_out

    def __cinit__(self, trie, lexer, ctx, uint32_t[::1] out, int limit):
        cdef int maxd = trie.max_depth
        self.t_byte = trie.byte
        self.t_depth = trie.depth
        self.t_next = trie.next
        self.tok_start = trie.tok_start
        self.tok_ids = trie.tok_ids
        self.lx = _Lexer(lexer)
        self.ctx = ctx
        self.out = out
        self.limit = limit
        self.max_cost = -1
        self.min_cost = -1
        self.cost_level = -1
        self.visited = 0
        if self.t_byte.shape[0]:
            self.p_byte = &self.t_byte[0]
            self.p_depth = &self.t_depth[0]
            self.p_next = &self.t_next[0]
        self.p_tok_start = &self.tok_start[0]
        if self.tok_ids.shape[0]:
            self.p_tok_ids = &self.tok_ids[0]
        if self.out.shape[0]:
            self.p_out = &self.out[0]
        self.states = <int *> malloc((maxd + 2) * sizeof(int))
        self.levels = <int *> malloc((maxd + 2) * sizeof(int))
        self.memo_cap = 256
        self.memo_used = 0
        self.memo = <MemoSlot *> calloc(self.memo_cap, sizeof(MemoSlot))
        if self.states == NULL or self.levels == NULL or self.memo == NULL:
            raise MemoryError()
        ctx.begin()

    def __dealloc__(self):
        free(self.states)
        free(self.levels)
        free(self.memo)

    cdef MemoSlot *_slot(self, uint64_t key) noexcept nogil:
        cdef uint64_t h = key * 0x9E3779B97F4A7C15ULL
        cdef Py_ssize_t mask = self.memo_cap - 1
        cdef Py_ssize_t j = <Py_ssize_t> (h >> 40) & mask
        while self.memo[j].key != 0 and self.memo[j].key != key:
            j = (j + 1) & mask
        return &self.memo[j]

    cdef int _grow(self) except -1 nogil:
        cdef MemoSlot *old = self.memo
        cdef Py_ssize_t k, cap = self.memo_cap
        cdef MemoSlot *slot
        self.memo = <MemoSlot *> calloc(cap * 2, sizeof(MemoSlot))
        if self.memo == NULL:
            self.memo = old
            with gil:
                raise MemoryError()
        self.memo_cap = cap * 2
        for k in range(cap):
            if old[k].key != 0:
                slot = self._slot(old[k].key)
                slot[0] = old[k]
        free(old)
        return 0

    cdef int _end_at(self, int level, int s, int *new_level) except? -2:
        r, lvl = self.ctx.end_at(level, s)
        self.lx.refresh()
        new_level[0] = lvl
        return r

    cdef int end_lexeme(self, int level, int s, int *new_level) except? -2 nogil:
        """Memoised ``ctx.end_at``: the next lexeme's start state (-1 if none), and its level."""
        cdef uint64_t key = ((<uint64_t> level << 32) | <uint64_t> s) + 1
        cdef MemoSlot *slot = self._slot(key)
        cdef int r
        if slot.key == key:
            new_level[0] = slot.level
            return slot.r
        with gil:
            r = self._end_at(level, s, new_level)
        if 2 * (self.memo_used + 1) > self.memo_cap:
            self._grow()
            slot = self._slot(key)
        slot.key = key
        slot.r = r
        slot.level = new_level[0]
        self.memo_used += 1
        return r

    cdef int mark(self, Py_ssize_t i, int state, int level) except -1:
        """Set the bits of the tokens ending at node ``i`` (there are some), under the budget if any."""
        cdef Py_ssize_t k
        cdef int c, tid
        if self.limit >= 0:
            if level != self.cost_level:
                self.costs = self.ctx.cost_table_at(level)
                self.cost_level = level
            c = self.costs[state] if state < self.costs.shape[0] else -1
            if c < 0:
                c = self.ctx.cost_at(level, state)
                self.costs = self.ctx.cost_table_at(level)
            if self.min_cost < 0 or c < self.min_cost:
                self.min_cost = c
            if c > self.limit:
                return 0
            if c > self.max_cost:
                self.max_cost = c
        for k in range(self.p_tok_start[i], self.p_tok_start[i + 1]):
            tid = self.p_tok_ids[k]
            self.p_out[tid >> 5] |= (<uint32_t> 1) << (tid & 31)
        return 0

    cdef int walk_range(self, Py_ssize_t i, Py_ssize_t i_end, int d0, int state) except -1 nogil:
        """Walk nodes ``[i, i_end)`` whose shallowest depth is ``d0``, entered in lexer ``state`` at level 0.
        Needs the GIL only to call back into Python (a new lexer state, a parse step, a cost): callers that walk
        long stretches (``walk_trie``) release it."""
        cdef int d, s, b, nxt, start, level, new_level
        cdef int *states = self.states
        cdef int *levels = self.levels
        cdef const int32_t *t_depth = self.p_depth
        cdef const int32_t *t_byte = self.p_byte
        cdef const int32_t *t_next = self.p_next
        cdef const int32_t *tok_start = self.p_tok_start
        cdef const int32_t *trans = self.lx.p_trans
        cdef const uint8_t *accept = self.lx.p_accept
        cdef const int32_t *tok_ids = self.p_tok_ids
        cdef uint32_t *out = self.p_out
        cdef bint budget = self.limit >= 0
        cdef Py_ssize_t k
        cdef int tid
        cdef long visited = 0
        states[d0] = state
        levels[d0] = 0
        while i < i_end:
            d = t_depth[i]
            s = states[d]
            level = levels[d]
            b = t_byte[i]
            visited += 1
            nxt = trans[s * 256 + b]
            if nxt < 0:
                with gil:
                    self.lx.expand(s)
                trans, accept = self.lx.p_trans, self.lx.p_accept
                nxt = trans[s * 256 + b]
            new_level = level
            if nxt == 0:
                if not accept[s]:
                    i = t_next[i]
                    continue
                start = self.end_lexeme(level, s, &new_level)
                trans, accept = self.lx.p_trans, self.lx.p_accept  # the parse step may have grown the lexer
                if start < 0:
                    i = t_next[i]
                    continue
                nxt = trans[start * 256 + b]
                if nxt < 0:
                    with gil:
                        self.lx.expand(start)
                    trans, accept = self.lx.p_trans, self.lx.p_accept
                    nxt = trans[start * 256 + b]
                if nxt == 0:
                    i = t_next[i]
                    continue
            states[d + 1] = nxt
            levels[d + 1] = new_level
            if tok_start[i] != tok_start[i + 1]:
                if budget:
                    with gil:
                        self.mark(i, nxt, new_level)
                else:
                    for k in range(tok_start[i], tok_start[i + 1]):
                        tid = tok_ids[k]
                        out[tid >> 5] |= (<uint32_t> 1) << (tid & 31)
            i += 1
        self.visited += visited
        return 0


def walk_trie(trie, lexer, ctx, int start_state, uint32_t[::1] out, int limit=-1):
    """Set in ``out`` the bit of every token whose bytes keep the state alive."""
    cdef _Walker w = _Walker(trie, lexer, ctx, out, limit)
    cdef Py_ssize_t n = w.t_byte.shape[0]
    with nogil:
        w.walk_range(0, n, 1, start_state)
    return w.visited, w.max_cost, w.min_cost


def walk_points(trie, lexer, ctx, const int32_t[::1] nodes, int state, uint32_t[::1] out, int limit=-1,
                const int32_t[::1] offs=None):
    """Walk each node's subtree as if a lexeme started at that node in lexer ``state`` (its byte included).

    With ``offs`` (257 entries), ``nodes`` are sorted by their byte, ``offs[b]:offs[b + 1]`` those of byte ``b``:
    the buckets whose byte ``state`` (a lexeme start: never accepting) cannot take are skipped whole. After a
    string value ends, a few of cl100k's ~3,000 nodes past the quote start with a byte the next lexeme takes.
    """
    cdef _Walker w = _Walker(trie, lexer, ctx, out, limit)
    cdef Py_ssize_t k, i, b
    # a few short subtrees: keeping the GIL avoids a hand-off per mask (the long walks release it)
    if offs is None:
        for k in range(nodes.shape[0]):
            i = nodes[k]
            w.walk_range(i, w.p_next[i], w.p_depth[i], state)
        return w.visited, w.max_cost, w.min_cost
    if offs.shape[0] != 257 or offs[256] != nodes.shape[0]:
        raise ValueError("offs must hold 257 bucket offsets ending at len(nodes)")
    if w.lx.p_trans[state * 256] < 0:
        w.lx.expand(state)
    for b in range(256):
        if offs[b] == offs[b + 1] or w.lx.p_trans[state * 256 + b] == 0:
            continue
        for k in range(offs[b], offs[b + 1]):
            i = nodes[k]
            w.walk_range(i, w.p_next[i], w.p_depth[i], state)
    return w.visited, w.max_cost, w.min_cost


def collect_ci(trie, lexer, int start_state, uint32_t[::1] out):
    """Tokens that stay inside the current lexeme (bits set in ``out``) and the lexeme-end nodes.

    Returns ``(nodes, states, ends)``: trie nodes whose byte ends the lexeme, the state before it, and the set
    of lexer states in which marked tokens end.
    """
    return collect_ci_sliced(trie, lexer, start_state, out, None, None, None, 0, -1, None, ())


cdef struct IntVec:
    int *data
    Py_ssize_t n, cap


cdef int _push(IntVec *v, int x) except -1 nogil:
    cdef int *grown
    if v.n == v.cap:
        grown = <int *> realloc(v.data, (v.cap * 2 + 16) * sizeof(int))
        if grown == NULL:
            with gil:
                raise MemoryError()
        v.data, v.cap = grown, v.cap * 2 + 16
    v.data[v.n] = x
    v.n += 1
    return 0


def collect_ci_sliced(trie, lexer, int start_state, uint32_t[::1] out, const uint8_t[::1] cls,
                      const uint8_t[::1] pure, const uint32_t[::1] inside, int k, int loop,
                      const uint8_t[::1] lpure, ends0):
    """:func:`collect_ci` with trie slices. A run: ``start_state`` steps uniformly through the byte class ``cls``
    for ``k`` bytes; ``pure`` and ``inside`` (= ``TrieSlice.inside(k)``) are that class's slice and ``ends0`` the
    states its tokens end in; subtrees of class bytes only, no deeper than ``k``, on the run are not walked. A
    loop: the state ``loop`` stays itself on every byte of the subtrees ``lpure`` marks, which are skipped
    wherever the walk is in ``loop`` (their tokens marked). ``cls`` None: no run; ``lpure`` None: no loop.

    Measured per new JSON string-body state (plain walk -> sliced): SmolLM2 0.80 -> 0.07 ms, cl100k
    1.5 -> 0.35 ms; bounded runs (``maxLength``) too: new-state walks over 100 MaskBench files (cl100k) 4.5 ->
    3.7 s, the rest being lexer states materialised in Python.
    """
    cdef const int32_t[::1] t_byte = trie.byte
    cdef const int32_t[::1] t_depth = trie.depth
    cdef const int32_t[::1] t_next = trie.next
    cdef const int32_t[::1] tok_start = trie.tok_start
    cdef const int32_t[::1] tok_ids = trie.tok_ids
    cdef const int32_t[::1] reach
    cdef int maxd = trie.max_depth
    cdef _Lexer lx = _Lexer(lexer)
    cdef const int32_t *trans = lx.p_trans
    cdef const uint8_t *accept = lx.p_accept
    cdef Py_ssize_t n = t_byte.shape[0], i = 0, j, w
    cdef int d, s, b, nxt, tid, last_end = -1
    cdef bint sliced = cls is not None
    cdef bint looped = lpure is not None
    cdef IntVec nodes, bstates, ends
    nodes.data = bstates.data = ends.data = NULL
    nodes.n = nodes.cap = bstates.n = bstates.cap = ends.n = ends.cap = 0
    if sliced:
        reach = trie.reach
        for w in range(inside.shape[0]):
            out[w] |= inside[w]
    cdef int *states = <int *> malloc((maxd + 2) * sizeof(int))
    cdef uint8_t *on_path = <uint8_t *> malloc((maxd + 2) * sizeof(uint8_t))
    if states == NULL or on_path == NULL:
        free(states)
        free(on_path)
        raise MemoryError()
    states[1] = start_state
    on_path[1] = 1  # no byte yet: the path is still inside the class
    try:
        with nogil:
            while i < n:
                d = t_depth[i]
                s = states[d]
                if sliced and on_path[d] and pure[i] and reach[i] <= k:
                    # on the run: every token below is in ``inside`` and ends in ``ends0``
                    i = t_next[i]
                    continue
                if looped and s == loop and lpure[i]:
                    # in the loop: every token below stays alive and ends here
                    if tok_start[i] < tok_start[t_next[i]]:
                        for j in range(tok_start[i], tok_start[t_next[i]]):
                            tid = tok_ids[j]
                            out[tid >> 5] |= (<uint32_t> 1) << (tid & 31)
                        if last_end != loop:
                            _push(&ends, loop)
                            last_end = loop
                    i = t_next[i]
                    continue
                b = t_byte[i]
                nxt = trans[s * 256 + b]
                if nxt < 0:
                    with gil:
                        lx.expand(s)
                    trans, accept = lx.p_trans, lx.p_accept
                    nxt = trans[s * 256 + b]
                if nxt == 0:
                    if accept[s]:
                        _push(&nodes, <int> i)
                        _push(&bstates, s)
                    i = t_next[i]
                    continue
                states[d + 1] = nxt
                on_path[d + 1] = on_path[d] and sliced and cls[b]
                if tok_start[i] < tok_start[i + 1]:
                    # nearly every token of a string body ends in the same state: a run of equal end states
                    # is recorded once
                    if nxt != last_end:
                        _push(&ends, nxt)
                        last_end = nxt
                    for j in range(tok_start[i], tok_start[i + 1]):
                        tid = tok_ids[j]
                        out[tid >> 5] |= (<uint32_t> 1) << (tid & 31)
                i += 1
        end_set = set(ends0)
        end_set.update([ends.data[j] for j in range(ends.n)])
        return ([nodes.data[j] for j in range(nodes.n)], [bstates.data[j] for j in range(bstates.n)], end_set)
    finally:
        free(states)
        free(on_path)
        free(nodes.data)
        free(bstates.data)
        free(ends.data)


def or_words(uint32_t[::1] dst, const uint32_t[::1] src):
    """dst |= src over uint32 words."""
    cdef Py_ssize_t k
    with nogil:
        for k in range(dst.shape[0]):
            dst[k] |= src[k]
