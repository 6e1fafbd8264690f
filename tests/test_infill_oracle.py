"""An independent brute-force oracle for infilling, and the test grammars (imported by the other infill tests).

The oracle shares no code with ``tokensieve.infill``: terminals become character-level FSMs through
``interegular`` (not our regex parser), the grammar becomes a character-level CFG (each terminal a right-linear
sub-grammar, ``%ignore`` lexemes allowed between any two lexemes and at both ends), and a partial output
becomes an explicit DAG in which every hole is *unrolled* into at most ``bound`` wildcard characters (or,
for a token budget, into explicit token paths). A plain Earley recogniser over that DAG then searches all
fillings up to the bound at once: it is exhaustive bounded search, with no hubs, no lexer and no reuse.

Semantics (the same as the checker's, stated independently): a string is in the language iff it splits into
lexemes ``x0 l1 x1 ... lm xm`` with ``li`` matching terminal ``Ti`` (``re.fullmatch``), ``xi`` sequences of
ignored lexemes, and ``T1..Tm`` derivable from the start symbol.
"""

from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache

import interegular
import pytest
from interegular.fsm import anything_else

import tokensieve as ts
from tokensieve.infill import Hole

# ---------------------------------------------------------------------------------------------- grammars

BRACKETS = r"""
start: seq
seq: pair*
pair: "(" seq ")" | "[" seq "]"
"""

SCHEMA_REQUIRED = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "name"],
    "additionalProperties": False,
}

# Hand-written equivalent of SCHEMA_REQUIRED (keys in schema order, "tags" optional), used while
# Grammar.from_json_schema is not available; see schema_grammar().
SCHEMA_REQUIRED_LARK = r"""
start: "{" "\"id\"" ":" INT "," "\"name\"" ":" STRING tags? "}"
tags: "," "\"tags\"" ":" "[" [STRING ("," STRING)*] "]"
INT: /-?(0|[1-9][0-9]*)/
STRING: /"(?:[^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/
%import common.WS
%ignore WS
"""


def _data(name: str) -> str:
    from pathlib import Path

    return (Path(__file__).parent / "data" / "grammars" / name).read_text()


@lru_cache(maxsize=None)
def schema_grammar() -> tuple[ts.Grammar, str]:
    """The required-keys schema grammar and where it came from ("from_json_schema" or "hand-written lark")."""
    try:
        return ts.Grammar.from_json_schema(SCHEMA_REQUIRED), "from_json_schema"
    except (ImportError, AttributeError, NotImplementedError):
        return ts.Grammar.from_lark(SCHEMA_REQUIRED_LARK), "hand-written lark"


@lru_cache(maxsize=None)
def grammar(name: str) -> ts.Grammar:
    if name == "brackets":
        return ts.Grammar.from_lark(BRACKETS)
    if name == "arith":
        return ts.Grammar.from_lark(_data("arith.lark"))
    if name == "json":
        return ts.Grammar.from_lark(_data("json.lark"))
    if name == "schema":
        return schema_grammar()[0]
    if name == "schema_lark":
        return ts.Grammar.from_lark(SCHEMA_REQUIRED_LARK)
    raise KeyError(name)


GRAMMARS = ["brackets", "arith", "json", "schema"]

# characters random canvases are made of (besides those of sampled members)
ALPHABET = {
    "brackets": "()[]",
    "arith": "12a.+-*/(), ",
    "json": '{}[]":,01a -',
    "schema": '{}[]":,01aidnmetgs ',
    "schema_lark": '{}[]":,01aidnmetgs ',
}

# ---------------------------------------------------------------------------------------------- oracle


def _for_interegular(rx: str) -> str:
    """Adapt a terminal regex to interegular, exactly on text whose characters are all <= U+00FF.

    interegular does not read ``\\uXXXX`` escapes, and enumerates every character of a class (minutes for
    ``[\\ue000-\\U0010ffff]``), so escapes become literal characters and class members above U+00FF are
    dropped (a class left empty becomes U+0100, which no oracle input contains). The oracle therefore only
    judges text made of characters <= U+00FF, which the tests assert.
    """
    toks: list[str] = []  # regex tokens outside classes are copied; classes are rebuilt
    i, n = 0, len(rx)

    def one(j):
        """(token text, code point or None, next index) of one class member / atom at ``j``."""
        c = rx[j]
        if c == "\\" and j + 1 < n:
            nxt = rx[j + 1]
            width = {"u": 4, "U": 8, "x": 2}.get(nxt)
            if width:
                cp = int(rx[j + 2:j + 2 + width], 16)
                return re.escape(chr(cp)) if cp < 128 else chr(cp), cp, j + 2 + width
            return rx[j:j + 2], None, j + 2
        return (re.escape(c) if c in "-]^[" else c), ord(c), j + 1

    while i < n:
        c = rx[i]
        if c == "\\":
            tok, _cp, i = one(i)
            toks.append(tok)
            continue
        if c != "[":
            toks.append(c)
            i += 1
            continue
        i += 1
        neg = i < n and rx[i] == "^"
        if neg:
            i += 1
        members: list[str] = []
        first = True
        while i < n and (rx[i] != "]" or first):
            first = False
            lo_tok, lo_cp, i = one(i)
            if i + 1 < n and rx[i] == "-" and rx[i + 1] != "]":
                hi_tok, hi_cp, i = one(i + 1)
                if lo_cp is not None and lo_cp > 0xFF:
                    continue
                if hi_cp is not None and hi_cp > 0xFF:
                    hi_tok = "\\xff"
                members.append(f"{lo_tok}-{hi_tok}")
            elif lo_cp is None or lo_cp <= 0xFF:
                members.append(lo_tok)
        i += 1  # the closing bracket
        if not members:
            members = ["\u0100"] if not neg else ["\u0100"]
        toks.append("[" + ("^" if neg else "") + "".join(members) + "]")
    return "".join(toks)


class Oracle:
    """Character-level Earley over an unrolled canvas DAG (see the module doc)."""

    def __init__(self, g: ts.Grammar):
        rules: list[tuple[object, tuple]] = []
        self.classes: dict[tuple, tuple] = {}  # ('c', t, sym) -> (chars, other, explicit, ascii)
        fsms = []
        for t, term in enumerate(g.terminals):
            fsm = interegular.parse_pattern(_for_interegular(term.regex)).to_fsm()
            fsms.append(fsm)
            explicit = set()
            for sym, chars in fsm.alphabet.by_transition.items():
                explicit.update(c for c in chars if c is not anything_else)
            for sym, chars in fsm.alphabet.by_transition.items():
                other = any(c is anything_else for c in chars)
                real = frozenset(c for c in chars if c is not anything_else)
                if other:
                    asc = tuple(chr(c) for c in range(128) if chr(c) not in explicit)
                else:
                    asc = tuple(c for c in real if len(c) == 1 and ord(c) < 128)
                self.classes[("c", t, sym)] = (real, other, frozenset(explicit), asc)
            for s, trans in fsm.map.items():
                for sym, s2 in trans.items():
                    rules.append((("Q", t, s), (("c", t, sym), ("Q", t, s2))))
                if s in fsm.finals:
                    rules.append((("Q", t, s), ()))
            rules.append((("L", t), ("IGN", ("Q", t, fsm.initial))))
        rules.append(("IGN", ()))
        for t in g.ignore:
            rules.append(("IGN", ("IGN", ("Q", t, fsms[t].initial))))
        for r in g.rules:
            rules.append((("N", r.lhs), tuple(("N", s) if s >= 0 else ("L", -1 - s) for s in r.body)))
        rules.append(("S'", (("N", g.start), "IGN")))
        self.rules = rules
        self.by_lhs: dict[object, list[int]] = {}
        for i, (lhs, _b) in enumerate(rules):
            self.by_lhs.setdefault(lhs, []).append(i)
        nullable: set = set()
        changed = True
        while changed:
            changed = False
            for lhs, body in rules:
                if lhs not in nullable and all(x in nullable for x in body):
                    nullable.add(lhs)
                    changed = True
        self.nullable = nullable

    def _match(self, cls, ch) -> bool:
        real, other, explicit, _asc = self.classes[cls]
        if ch is None:  # wildcard: any ASCII character
            return bool(_asc)
        return ch in real or (other and ch not in explicit)

    # ---- the DAG: nodes 0..n-1 in topological order; edges (src, label, dst), label a char, None = any
    def run(self, n_nodes, edges, eps, final) -> bool:
        rules, by_lhs, nullable = self.rules, self.by_lhs, self.nullable
        out: list[list[tuple[object, int]]] = [[] for _ in range(n_nodes)]
        for a, lab, b in edges:
            out[a].append((lab, b))
        eps_in: list[list[int]] = [[] for _ in range(n_nodes)]
        for a, b in eps:
            eps_in[b].append(a)
        seeds: list[set] = [set() for _ in range(n_nodes)]
        charts: list[set | None] = [None] * n_nodes
        waits: list[dict | None] = [None] * n_nodes  # node -> symbol -> items waiting for it
        for r in by_lhs["S'"]:
            seeds[0].add((r, 0, 0))
        for k in range(n_nodes):
            items = set(seeds[k])
            for p in eps_in[k]:
                if charts[p]:
                    items |= charts[p]
            if not items:
                continue
            wait: dict = {}
            work = list(items)
            while work:
                r, dot, org = work.pop()
                lhs, body = rules[r]
                if dot == len(body):
                    if org == k:
                        continue
                    for r2, d2, o2 in waits[org].get(lhs, ()):
                        it = (r2, d2 + 1, o2)
                        if it not in items:
                            items.add(it)
                            work.append(it)
                    continue
                sym = body[dot]
                wait.setdefault(sym, []).append((r, dot, org))
                if isinstance(sym, tuple) and sym[0] == "c":
                    continue
                for r2 in by_lhs.get(sym, ()):
                    it = (r2, 0, k)
                    if it not in items:
                        items.add(it)
                        work.append(it)
                if sym in nullable:
                    it = (r, dot + 1, org)
                    if it not in items:
                        items.add(it)
                        work.append(it)
            # completions at k of items predicted at k cannot happen (org == k skipped): nullable covers them
            charts[k], waits[k] = items, wait
            classes = [sym for sym in wait if isinstance(sym, tuple) and sym[0] == "c"]
            for lab, b in out[k]:
                for sym in classes:
                    if self._match(sym, lab):
                        for r, dot, org in wait[sym]:
                            seeds[b].add((r, dot + 1, org))
        last = charts[final]
        return bool(last) and any(rules[r][0] == "S'" and dot == len(rules[r][1]) and org == 0
                                  for r, dot, org in last)

    def member(self, text: str) -> bool:
        edges = [(i, ch, i + 1) for i, ch in enumerate(text)]
        return self.run(len(text) + 1, edges, [], len(text))

    def completable(self, parts, bound: int) -> bool:
        """Exhaustive search over fillings: unbounded holes up to ``bound`` ASCII characters."""
        edges, eps = [], []
        cur, n = 0, 1
        for p in parts:
            if isinstance(p, Hole):
                lo = p.min_tokens
                hi = bound if p.max_tokens is None else p.max_tokens
                vocab = p.vocab
                layer = [cur]
                for c in range(hi):
                    toks = [None] if vocab is None else [t if isinstance(t, str) else t.decode() for t in vocab]
                    pending = []  # edges into the next layer root, which gets the next id after the paths
                    for tok in toks:
                        if tok is None:
                            pending.append(layer[-1])
                            continue
                        a = layer[-1]
                        for ch in tok[:-1]:
                            edges.append((a, ch, n))
                            a = n
                            n += 1
                        pending.append((a, tok[-1]))
                    nxt_root = n
                    n += 1
                    for e in pending:
                        if isinstance(e, tuple):
                            edges.append((e[0], e[1], nxt_root))
                        else:
                            edges.append((e, None, nxt_root))
                    layer.append(nxt_root)
                x = n
                n += 1
                for j, node in enumerate(layer):
                    if j >= lo:
                        eps.append((node, x))
                cur = x
            else:
                text = p if isinstance(p, str) else p.decode()
                for ch in text:
                    edges.append((cur, ch, n))
                    cur = n
                    n += 1
        # nodes are numbered in creation order, which is topological: every edge goes to a larger id
        assert all(a < b for a, _l, b in edges) and all(a < b for a, b in eps)
        return self.run(n, edges, eps, cur)


@lru_cache(maxsize=None)
def oracle(name: str) -> Oracle:
    return Oracle(grammar(name))


# ---------------------------------------------------------------------------------------------- samplers


class Sampler:
    """Random members of a grammar: random derivations, lexemes by random walks on interegular FSMs."""

    def __init__(self, g: ts.Grammar, alphabet: str, rng: random.Random):
        self.g, self.rng = g, rng
        self.alphabet = alphabet
        self.fsms = [interegular.parse_pattern(_for_interegular(t.regex)).to_fsm() for t in g.terminals]
        n = len(g.nonterminals)
        inf = 1 << 30
        # derivation height, to steer deep derivations home
        h = [inf] * n
        changed = True
        while changed:
            changed = False
            for r in g.rules:
                v = 1 + max([0] + [h[s] for s in r.body if s >= 0])
                if v < h[r.lhs]:
                    h[r.lhs] = v
                    changed = True
        self.height = h
        self.by_lhs: dict[int, list] = {}
        for r in g.rules:
            self.by_lhs.setdefault(r.lhs, []).append(r.body)

    def _dist(self, t):
        fsm = self.fsms[t]
        dist = {s: 0 for s in fsm.finals}
        changed = True
        while changed:
            changed = False
            for s, trans in fsm.map.items():
                for _sym, s2 in trans.items():
                    if s2 in dist and dist[s2] + 1 < dist.get(s, 1 << 30):
                        dist[s] = dist[s2] + 1
                        changed = True
        return dist

    def lexeme(self, t: int, max_len: int = 5) -> str:
        fsm = self.fsms[t]
        dist = self._dist(t)
        by_sym = fsm.alphabet.by_transition
        explicit = {c for chars in by_sym.values() for c in chars if c is not anything_else}
        s, out = fsm.initial, []
        while True:
            if s in fsm.finals and (len(out) >= max_len or self.rng.random() < 0.3):
                return "".join(out)
            opts = []
            # sorted: interegular keeps symbols in sets, whose order changes with the string hash seed
            for sym, s2 in sorted(fsm.map.get(s, {}).items(), key=lambda kv: sorted(map(str, by_sym[kv[0]]))):
                if s2 not in dist:
                    continue
                if len(out) >= max_len and dist[s2] >= dist[s]:
                    continue
                chars = sorted(c for c in by_sym[sym] if c is not anything_else and len(c) == 1 and ord(c) < 128)
                if any(c is anything_else for c in by_sym[sym]):
                    chars += [c for c in self.alphabet if c not in explicit] or ["a"]
                nice = [c for c in chars if c in self.alphabet] or [c for c in chars if c.isprintable()]
                if nice:
                    opts.append((nice, s2))
            if not opts:
                if s in fsm.finals:
                    return "".join(out)
                raise RuntimeError("dead end in lexeme walk")
            chars, s2 = self.rng.choice(opts)
            out.append(self.rng.choice(chars))
            s = s2

    def member(self, max_depth: int = 6) -> str:
        g, rng = self.g, self.rng
        out: list[str] = []
        stack: list[tuple[int, int]] = [(g.start, 0)]
        ws = [t for t in g.ignore]
        while stack:
            sym, depth = stack.pop()
            if sym < 0:
                if ws and rng.random() < 0.15:
                    out.append(" ")
                out.append(self.lexeme(-1 - sym))
                continue
            bodies = self.by_lhs[sym]
            if depth >= max_depth:
                best = min(1 + max([0] + [self.height[s] for s in b if s >= 0]) for b in bodies)
                bodies = [b for b in bodies if 1 + max([0] + [self.height[s] for s in b if s >= 0]) == best]
            body = rng.choice(bodies)
            for s in reversed(body):
                stack.append((s, depth + 1))
        return "".join(out)


def random_canvas(name: str, rng: random.Random, *, budget_p: float = 0.3, max_holes: int = 3):
    """A random partial output: a (possibly mutated) member or random text, with 0..max_holes holes."""
    sampler = _sampler(name)
    sampler.rng = rng
    alpha = ALPHABET[name]
    if rng.random() < 0.15:
        text = "".join(rng.choice(alpha) for _ in range(rng.randint(0, 10)))
    else:
        text = sampler.member()
        while len(text) > 40:
            text = sampler.member(max_depth=rng.randint(2, 5))
    n_holes = rng.randint(0, max_holes)
    cuts = sorted(rng.randint(0, len(text)) for _ in range(n_holes))
    parts: list = []
    pos = 0
    for c in cuts:
        c = max(c, pos)
        parts.append(text[pos:c])
        span = min(rng.choice([0, 0, 1, 1, 2, 3, 4]), len(text) - c)
        if rng.random() < budget_p:
            parts.append(Hole(max_tokens=max(0, span + rng.choice([-1, 0, 0, 1, 2]))))
        else:
            parts.append(Hole())
        pos = c + span
    parts.append(text[pos:])
    if rng.random() < 0.35:  # mutate a known piece
        idx = [i for i, p in enumerate(parts) if isinstance(p, str)]
        i = rng.choice(idx)
        s = parts[i]
        k = rng.randint(0, len(s))
        op = rng.choice("idr")
        if op == "i":
            s = s[:k] + rng.choice(alpha) + s[k:]
        elif op == "d" and s:
            k = min(k, len(s) - 1)
            s = s[:k] + s[k + 1:]
        elif s:
            k = min(k, len(s) - 1)
            s = s[:k] + rng.choice(alpha) + s[k + 1:]
        parts[i] = s
    return [p for p in parts if not (isinstance(p, str) and p == "")] if rng.random() < 0.5 else parts


@lru_cache(maxsize=None)
def _sampler(name: str) -> Sampler:
    return Sampler(grammar(name), ALPHABET[name], random.Random(0))


def pattern_regex(parts) -> re.Pattern:
    """A bytes regex matching exactly the fillings of ``parts`` (holes: any bytes within their byte budget)."""
    rx = []
    for p in parts:
        if isinstance(p, Hole):
            assert p.vocab is None
            hi = "" if p.max_tokens is None else str(p.max_tokens)
            rx.append(b"(.{%d,%s})" % (p.min_tokens, hi.encode()))
        else:
            rx.append(re.escape(p.encode() if isinstance(p, str) else p))
    return re.compile(b"".join(rx), re.DOTALL)


# ---------------------------------------------------------------------------------------------- self-tests
# The oracle is itself checked against plain enumeration (every filling, re.fullmatch lexing) on tiny cases.


def _members_by_enumeration(g: ts.Grammar, text: str) -> bool:
    """Membership by trying every split of ``text`` into lexemes (re.fullmatch) and CYK-free Earley on terms."""
    n = len(text)
    terms = [re.compile(t.regex) for t in g.terminals]
    ign = set(g.ignore)
    # boundaries reachable with a terminal sequence: set of (position, tuple of terminals)
    from collections import deque

    used = {-1 - s for r in g.rules for s in r.body if s < 0}
    seqs = set()
    q = deque([(0, ())])
    seen = {(0, ())}
    while q:
        i, seq = q.popleft()
        if i == n:
            seqs.add(seq)
            continue
        for j in range(i + 1, n + 1):
            for t, rx in enumerate(terms):
                if not rx.fullmatch(text[i:j]):
                    continue
                nxt = []
                if t in ign:
                    nxt.append((j, seq))
                if t in used:
                    nxt.append((j, seq + (t,)))
                for cand in nxt:
                    if cand not in seen:
                        seen.add(cand)
                        q.append(cand)
    return any(_derives(g, s) for s in seqs)


def _derives(g: ts.Grammar, seq) -> bool:
    """CYK-style fixpoint: which nonterminals derive which spans of ``seq``."""
    n = len(seq)
    changed = True
    table: set[tuple[int, int, int]] = set()
    while changed:
        changed = False
        for r in g.rules:
            # all ways the body covers seq[i:j]
            for i in range(n + 1):
                ends = {i}
                for s in r.body:
                    nxt = set()
                    for e in ends:
                        if s < 0:
                            if e < n and seq[e] == -1 - s:
                                nxt.add(e + 1)
                        else:
                            for j in range(e, n + 1):
                                if (s, e, j) in table:
                                    nxt.add(j)
                    ends = nxt
                for j in ends:
                    if (r.lhs, i, j) not in table:
                        table.add((r.lhs, i, j))
                        changed = True
    return (g.start, 0, n) in table


@pytest.mark.parametrize("name", GRAMMARS, ids=GRAMMARS)
def test_oracle_membership_matches_enumeration(name):
    g, orc = grammar(name), oracle(name)
    rng = random.Random(7)
    s = _sampler(name)
    s.rng = rng
    cases = [s.member(max_depth=3) for _ in range(12)]
    cases += ["".join(rng.choice(ALPHABET[name]) for _ in range(rng.randint(1, 6))) for _ in range(12)]
    for text in cases:
        if len(text) > 14:
            continue
        assert orc.member(text) == _members_by_enumeration(g, text), text


@pytest.mark.parametrize("name", ["brackets", "arith"], ids=["brackets", "arith"])
def test_oracle_canvas_matches_enumeration(name):
    """Unrolled holes = trying every filling over a small alphabet (the oracle's wildcard is any ASCII char,
    so enumeration with the grammar's whole alphabet must agree whenever it finds a filling)."""
    g, orc = grammar(name), oracle(name)
    rng = random.Random(11)
    alpha = {"brackets": "()[]", "arith": "1a+(),"}[name]
    outcomes = []
    for _ in range(40):
        parts = random_canvas(name, rng, budget_p=0.0, max_holes=2)
        if sum(len(p) for p in parts if isinstance(p, str)) > 8:
            continue
        holes = sum(isinstance(p, Hole) for p in parts)
        found = False
        for lens in itertools.product(range(3), repeat=holes):
            for fills in itertools.product(*[itertools.product(alpha, repeat=k) for k in lens]):
                it = iter(fills)
                text = "".join("".join(next(it)) if isinstance(p, Hole) else p for p in parts)
                if _members_by_enumeration(g, text):
                    found = True
                    break
            if found:
                break
        # the oracle's wildcard is any ASCII character, a superset of the enumerated alphabet
        if found:
            assert orc.completable(parts, 2), parts
        outcomes.append(found)
    assert sum(outcomes) >= 5 and len(outcomes) - sum(outcomes) >= 3, outcomes
