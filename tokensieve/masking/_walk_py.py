"""Pure-Python twin of ``tokensieve.cext._walk``: same function names, same semantics.

It is the oracle for the Cython kernel in tests and the fallback when the extension is not built.
"""

from __future__ import annotations

__all__ = ["walk_trie", "or_words"]


def walk_trie(t_byte, t_depth, t_next, t_tok_start, t_tok_ids, lexer, ctx, start_state: int, out,
              limit: int = -1):
    """Set in ``out`` (uint32 words) the bit of every token whose bytes keep the state alive.

    ``lexer`` provides ``trans`` (int32, state*256+byte -> state; -1 unknown, 0 dead), ``accept_flag`` and
    ``expand(state)``; ``ctx.boundary(state, byte)`` ends the lexeme in ``state`` and returns
    ``new_state * 2 + pushed`` (-1 if dead); ``ctx.pop()`` undoes one push.

    With ``limit >= 0`` a token is set only if the document can then be finished in at most ``limit`` bytes:
    ``ctx.cost_table()`` is an int32 array (lexer state -> fewest bytes to finish under the current parse
    stack, -1 unknown) and ``ctx.cost(state)`` fills an entry.
    Returns ``(nodes visited, max cost of a set token, min cost of an alive token)`` (-1 when unknown).
    """
    n = len(t_byte)
    states = [0] * (int(max(t_depth, default=0)) + 2)
    states[1] = start_state  # state before the byte of a node at depth d is states[d]
    pushed: list[int] = []
    trans, accept_flag = lexer.trans, lexer.accept_flag
    costs = ctx.cost_table() if limit >= 0 else None
    max_cost = min_cost = -1
    i = visited = 0
    while i < n:
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
        if costs is not None and t_tok_start[i] < t_tok_start[i + 1]:
            c = costs[nxt] if nxt < len(costs) else -1
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
            out[tid >> 5] |= 1 << (tid & 31)
        i += 1
    while pushed:
        pushed.pop()
        ctx.pop()
    return visited, max_cost, min_cost


def or_words(dst, src) -> None:
    """dst |= src over uint32 words."""
    for k in range(len(dst)):
        dst[k] |= src[k]
