"""Pure-Python twin of ``tokensieve.cext._walk``: same function names, same semantics.

It is the oracle for the Cython kernel in tests and the fallback when the extension is not built.

Shared protocol. ``trie`` has flat DFS arrays ``byte``, ``depth``, ``next``, ``tok_start``, ``tok_ids`` and
``max_depth`` (see ``tokensieve.automata.TokenTrie``). ``lexer`` has ``trans`` (int32, ``state*256+byte`` ->
state; -1 unknown, 0 dead), ``accept_flag`` and ``expand(state)``. ``ctx.boundary(state, byte)`` ends the lexeme
in ``state``, pushes a parse row if a terminal was scanned and returns ``new_state * 2 + pushed`` (-1 if the
byte cannot start a lexeme there); ``ctx.pop()`` undoes one push. With ``limit >= 0`` a token is set only if the
document can then be finished in at most ``limit`` bytes: ``ctx.cost_table()`` maps lexer states to that cost
under the current parse stack (-1 unknown) and ``ctx.cost(state)`` fills an entry. Walks return
``(nodes visited, max cost of a set token, min cost of an alive token)``, costs -1 when not computed.
"""

from __future__ import annotations

__all__ = ["walk_trie", "walk_points", "collect_ci", "or_words"]


def _walk_range(trie, lexer, ctx, i, i_end, d0, state, out, limit, acc) -> int:
    """Walk nodes ``[i, i_end)`` whose shallowest depth is ``d0``, entered in lexer ``state``."""
    t_byte, t_depth, t_next = trie.byte, trie.depth, trie.next
    t_tok_start, t_tok_ids = trie.tok_start, trie.tok_ids
    states = [0] * (trie.max_depth + 2)
    states[d0] = state
    pushed: list[int] = []
    trans, accept_flag = lexer.trans, lexer.accept_flag
    costs = ctx.cost_table() if limit >= 0 else None
    visited = 0
    while i < i_end:
        d = t_depth[i]
        while pushed and pushed[-1] >= d:
            pushed.pop()
            ctx.pop()
            if costs is not None:
                costs = ctx.cost_table()
        s = states[d]
        b = t_byte[i]
        visited += 1
        nxt = trans[s * 256 + b]
        if nxt < 0:
            lexer.expand(s)
            trans, accept_flag = lexer.trans, lexer.accept_flag
            nxt = trans[s * 256 + b]
        if nxt == 0:
            if not accept_flag[s]:
                i = t_next[i]
                continue
            r = ctx.boundary(s, b)
            trans, accept_flag = lexer.trans, lexer.accept_flag
            if r < 0:
                i = t_next[i]
                continue
            nxt = r >> 1
            if r & 1:
                pushed.append(d)
                if costs is not None:
                    costs = ctx.cost_table()
        states[d + 1] = nxt
        if _mark(trie, ctx, i, nxt, out, limit, acc, costs):
            costs = ctx.cost_table()
        i += 1
    while pushed:
        pushed.pop()
        ctx.pop()
    return visited


def _mark(trie, ctx, i, state, out, limit, acc, costs) -> bool:
    """Set the bits of the tokens ending at node ``i``; returns True if the cost table may have moved."""
    lo, hi = trie.tok_start[i], trie.tok_start[i + 1]
    if lo == hi:
        return False
    moved = False
    if costs is not None:
        c = costs[state] if state < len(costs) else -1
        if c < 0:
            c = ctx.cost(state)
            moved = True
        if acc[1] < 0 or c < acc[1]:
            acc[1] = c
        if c > limit:
            return moved
        if c > acc[0]:
            acc[0] = c
    ids = trie.tok_ids
    for k in range(lo, hi):
        tid = ids[k]
        out[tid >> 5] |= 1 << (tid & 31)
    return moved


def walk_trie(trie, lexer, ctx, start_state: int, out, limit: int = -1):
    """Set in ``out`` (uint32 words) the bit of every token whose bytes keep the state alive."""
    acc = [-1, -1]
    visited = _walk_range(trie, lexer, ctx, 0, len(trie.byte), 1, start_state, out, limit, acc)
    return visited, acc[0], acc[1]


def walk_points(trie, lexer, ctx, nodes, state: int, out, limit: int = -1):
    """Walk each node's subtree as if a lexeme started at that node in lexer ``state`` (its byte included)."""
    acc = [-1, -1]
    visited = 0
    for i in nodes:
        visited += _walk_range(trie, lexer, ctx, i, trie.next[i], trie.depth[i], state, out, limit, acc)
    return visited, acc[0], acc[1]


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


def or_words(dst, src) -> None:
    """dst |= src over uint32 words."""
    for k in range(len(dst)):
        dst[k] |= src[k]
