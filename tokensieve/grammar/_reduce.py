"""Grammar reduction shared by the front-ends: drop unproductive and unreachable symbols."""

from __future__ import annotations

from collections import deque

from .._errors import GrammarError
from ._ir import Grammar, Rule, term, term_index

__all__ = ["reduce_grammar"]


def reduce_grammar(g: Grammar) -> Grammar:
    """Return an equivalent grammar with only productive, reachable nonterminals and used terminals.

    A nonterminal is productive if some rule body has only terminals and productive nonterminals; it is
    reachable if the start symbol derives a sentential form containing it. Duplicate rules are dropped;
    ignored terminals are always kept. Symbols keep their relative order, so names stay stable.

    Raises:
        GrammarError: the start symbol is unproductive (the grammar's language is empty).
    """
    n_nt = len(g.nonterminals)
    rules = list(dict.fromkeys(g.rules))  # order-preserving dedupe

    # Productivity by a worklist over "missing" counts: linear in the grammar size, no recursion.
    missing = [0] * len(rules)
    users: list[list[int]] = [[] for _ in range(n_nt)]
    productive = [False] * n_nt
    queue: deque[int] = deque()
    for i, r in enumerate(rules):
        nts = [s for s in r.body if s >= 0]
        missing[i] = len(nts)
        for s in nts:
            users[s].append(i)
        if not nts and not productive[r.lhs]:
            productive[r.lhs] = True
            queue.append(r.lhs)
    while queue:
        n = queue.popleft()
        for i in users[n]:
            missing[i] -= 1
            lhs = rules[i].lhs
            if missing[i] == 0 and not productive[lhs]:
                productive[lhs] = True
                queue.append(lhs)
    if not productive[g.start]:
        raise GrammarError("grammar has an empty language", symbol=g.nonterminals[g.start])

    rules = [r for r in rules if productive[r.lhs] and all(s < 0 or productive[s] for s in r.body)]
    by_lhs: list[list[Rule]] = [[] for _ in range(n_nt)]
    for r in rules:
        by_lhs[r.lhs].append(r)

    reachable = [False] * n_nt
    reachable[g.start] = True
    stack = [g.start]
    while stack:
        n = stack.pop()
        for r in by_lhs[n]:
            for s in r.body:
                if s >= 0 and not reachable[s]:
                    reachable[s] = True
                    stack.append(s)
    rules = [r for r in rules if reachable[r.lhs]]

    nt_map: dict[int, int] = {}
    for n in range(n_nt):
        if reachable[n]:
            nt_map[n] = len(nt_map)
    used_terms = {term_index(s) for r in rules for s in r.body if s < 0} | set(g.ignore)
    t_map: dict[int, int] = {}
    for t in range(len(g.terminals)):
        if t in used_terms:
            t_map[t] = len(t_map)

    def sym(s: int) -> int:
        return term(t_map[term_index(s)]) if s < 0 else nt_map[s]

    return Grammar(
        terminals=tuple(g.terminals[t] for t in t_map),
        nonterminals=tuple(g.nonterminals[n] for n in nt_map),
        rules=tuple(Rule(nt_map[r.lhs], tuple(sym(s) for s in r.body)) for r in rules),
        start=nt_map[g.start],
        ignore=tuple(t_map[t] for t in dict.fromkeys(g.ignore)),
        source=g.source,
    )
