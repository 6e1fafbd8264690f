"""Pure-Python twin of ``tokensieve.cext._walk``: same function names, same semantics.

It is the oracle for the Cython kernel in tests and the fallback when the extension is not built.

Shared protocol. ``trie`` has flat DFS arrays ``byte``, ``depth``, ``next``, ``tok_start``, ``tok_ids`` and
``max_depth`` (see ``tokensieve.automata.TokenTrie``). ``lexer`` has ``trans`` (int32, ``state*256+byte`` ->
state; -1 unknown, 0 dead), ``accept_flag`` and ``expand(state)``. The parse stack is seen through *levels*:
level 0 is the stack the walk starts on; ``ctx.begin()`` starts a walk; ``ctx.end_at(level, state)`` closes the
lexeme in ``state`` on top of ``level``'s stack and returns ``(start state of the next lexeme, its level)`` or
``(-1, level)``; the byte that ended the lexeme is then stepped from that start state (start states never
accept, so a dead step is a dead node). Results are memoised per walk on ``(level, state)``, so each distinct
parse step costs one call. With ``limit >= 0`` a token is set only if
the document can then be finished in at most ``limit`` bytes: ``ctx.cost_table_at(level)`` maps lexer states
to that cost (-1 unknown) and ``ctx.cost_at(level, state)`` fills an entry. Walks return
``(nodes visited, max cost of a set token, min cost of an alive token)``, costs -1 when not computed.
"""

from __future__ import annotations

__all__ = ["walk_trie", "walk_points", "collect_ci", "collect_ci_sliced", "or_words"]


class _Walk:
    def __init__(self, trie, lexer, ctx, out, limit):
        self.trie, self.lexer, self.ctx, self.out, self.limit = trie, lexer, ctx, out, limit
        self.memo: dict[tuple[int, int], tuple[int, int]] = {}
        self.max_cost = self.min_cost = -1
        self.visited = 0
        self.cost_level, self.costs = -1, None
        ctx.begin()

    def mark(self, i: int, state: int, level: int) -> None:
        trie = self.trie
        lo, hi = trie.tok_start[i], trie.tok_start[i + 1]
        if lo == hi:
            return
        if self.limit >= 0:
            if level != self.cost_level:
                self.costs, self.cost_level = self.ctx.cost_table_at(level), level
            c = self.costs[state] if state < len(self.costs) else -1
            if c < 0:
                c = self.ctx.cost_at(level, state)
                self.costs = self.ctx.cost_table_at(level)
            if self.min_cost < 0 or c < self.min_cost:
                self.min_cost = c
            if c > self.limit:
                return
            if c > self.max_cost:
                self.max_cost = c
        ids, out = trie.tok_ids, self.out
        for k in range(lo, hi):
            tid = ids[k]
            out[tid >> 5] |= 1 << (tid & 31)

    def walk_range(self, i: int, i_end: int, d0: int, state: int) -> None:
        """Walk nodes ``[i, i_end)`` whose shallowest depth is ``d0``, entered in lexer ``state`` at level 0."""
        trie, lexer, ctx, memo = self.trie, self.lexer, self.ctx, self.memo
        t_byte, t_depth, t_next = trie.byte, trie.depth, trie.next
        states = [0] * (trie.max_depth + 2)
        levels = [0] * (trie.max_depth + 2)
        states[d0] = state
        trans, accept_flag = lexer.trans, lexer.accept_flag
        while i < i_end:
            d = t_depth[i]
            s, level, b = states[d], levels[d], t_byte[i]
            self.visited += 1
            nxt = trans[s * 256 + b]
            if nxt < 0:
                lexer.expand(s)
                trans, accept_flag = lexer.trans, lexer.accept_flag
                nxt = trans[s * 256 + b]
            new_level = level
            if nxt == 0:
                if not accept_flag[s]:
                    i = t_next[i]
                    continue
                key = (level, s)
                res = memo.get(key)
                if res is None:
                    res = memo[key] = ctx.end_at(level, s)
                    trans, accept_flag = lexer.trans, lexer.accept_flag
                start, new_level = res
                if start < 0:
                    i = t_next[i]
                    continue
                nxt = trans[start * 256 + b]
                if nxt < 0:
                    lexer.expand(start)
                    trans, accept_flag = lexer.trans, lexer.accept_flag
                    nxt = trans[start * 256 + b]
                if nxt == 0:
                    i = t_next[i]
                    continue
            states[d + 1], levels[d + 1] = nxt, new_level
            self.mark(i, nxt, new_level)
            i += 1


def walk_trie(trie, lexer, ctx, start_state: int, out, limit: int = -1):
    """Set in ``out`` (uint32 words) the bit of every token whose bytes keep the state alive."""
    w = _Walk(trie, lexer, ctx, out, limit)
    w.walk_range(0, len(trie.byte), 1, start_state)
    return w.visited, w.max_cost, w.min_cost


def walk_points(trie, lexer, ctx, nodes, state: int, out, limit: int = -1, offs=None):
    """Walk each node's subtree as if a lexeme started at that node in lexer ``state`` (its byte included).
    With ``offs``, ``nodes`` are bucketed by byte and buckets whose byte ``state`` cannot take are skipped."""
    w = _Walk(trie, lexer, ctx, out, limit)
    if offs is not None:
        if len(offs) != 257 or offs[256] != len(nodes):
            raise ValueError("offs must hold 257 bucket offsets ending at len(nodes)")
        row = lexer.row(state)
        nodes = [nodes[k] for b in range(256) if row[b] != 0 for k in range(offs[b], offs[b + 1])]
    for i in nodes:
        w.walk_range(i, trie.next[i], trie.depth[i], state)
    return w.visited, w.max_cost, w.min_cost


def collect_ci(trie, lexer, start_state: int, out):
    """The context-independent part of a mask: tokens that stay inside the current lexeme.

    Sets their bits in ``out`` and returns ``(nodes, states, ends)``: the trie nodes whose byte ends the
    lexeme (the state before that byte is accepting but cannot take it), with that state, and the set of lexer
    states in which the marked tokens end. The nodes' subtrees depend on the parse stack and are left to
    :func:`walk_points`.
    """
    t_byte, t_depth, t_next = trie.byte, trie.depth, trie.next
    t_tok_start, t_tok_ids = trie.tok_start, trie.tok_ids
    n = len(t_byte)
    states = [0] * (trie.max_depth + 2)
    states[1] = start_state
    trans, accept_flag = lexer.trans, lexer.accept_flag
    nodes: list[int] = []
    bstates: list[int] = []
    ends: set[int] = set()
    i = 0
    while i < n:
        d = t_depth[i]
        s = states[d]
        b = t_byte[i]
        nxt = trans[s * 256 + b]
        if nxt < 0:
            lexer.expand(s)
            trans, accept_flag = lexer.trans, lexer.accept_flag
            nxt = trans[s * 256 + b]
        if nxt == 0:
            if accept_flag[s]:
                nodes.append(i)
                bstates.append(s)
            i = t_next[i]
            continue
        states[d + 1] = nxt
        if t_tok_start[i] < t_tok_start[i + 1]:
            ends.add(nxt)
            for k in range(t_tok_start[i], t_tok_start[i + 1]):
                tid = t_tok_ids[k]
                out[tid >> 5] |= 1 << (tid & 31)
        i += 1
    return nodes, bstates, ends


def collect_ci_sliced(trie, lexer, start_state: int, out, cls, pure, inside, k, loop, lpure, ends0):
    """Same result as :func:`collect_ci`; the kernel skips the subtrees ``pure`` marks (tokens that stay in
    ``start_state``'s uniform run through the byte class ``cls``) and takes ``inside`` and ``ends0`` instead.
    The twin ignores the slice and walks everything, so it stays an independent check of it."""
    return collect_ci(trie, lexer, start_state, out)


def or_words(dst, src) -> None:
    """dst |= src over uint32 words."""
    for k in range(len(dst)):
        dst[k] |= src[k]
