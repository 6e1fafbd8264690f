"""Pure-Python twin of ``tokensieve.cext._walk``: same function names, same semantics.

It is the oracle for the Cython kernel in tests and the fallback when the extension is not built.
"""

from __future__ import annotations

__all__ = ["walk_trie", "or_words"]


def walk_trie(t_byte, t_depth, t_next, t_tok_start, t_tok_ids, lexer, ctx, start_state: int, out) -> int:
    """Set in ``out`` (uint32 words) the bit of every token whose bytes keep the state alive.

    ``lexer`` provides ``trans`` (int32, state*256+byte -> state; -1 unknown, 0 dead), ``accept_flag`` and
    ``expand(state)``; ``ctx.boundary(state, byte)`` ends the lexeme in ``state`` and returns
    ``new_state * 2 + pushed`` (-1 if dead); ``ctx.pop()`` undoes one push. Returns the number of nodes visited.
    """
    n = len(t_byte)
    states = [0] * (int(max(t_depth, default=0)) + 2)
    states[1] = start_state  # state before the byte of a node at depth d is states[d]
    pushed: list[int] = []
    trans, accept_flag = lexer.trans, lexer.accept_flag
    i = visited = 0
    while i < n:
        d = t_depth[i]
        while pushed and pushed[-1] >= d:
            pushed.pop()
            ctx.pop()
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
        states[d + 1] = nxt
        for k in range(t_tok_start[i], t_tok_start[i + 1]):
            tid = t_tok_ids[k]
            out[tid >> 5] |= 1 << (tid & 31)
        i += 1
    while pushed:
        pushed.pop()
        ctx.pop()
    return visited


def or_words(dst, src) -> None:
    """dst |= src over uint32 words."""
    for k in range(len(dst)):
        dst[k] |= src[k]
