"""Shapes -> grammar IR.

Terminal granularity (safe for a greedy lexer): ``{ } [ ] , :``, one bounded whitespace terminal, ``true``/
``false``/``null``, one terminal per number language, per string language and per property key. Quoted strings
end at their closing quote and numbers are always followed by a delimiter, so no terminal's text can be
extended by a terminal allowed after it. Whitespace is an explicit optional nonterminal between tokens (never
``%ignore``), so each run is bounded.

Objects are emitted in schema order (named keys in the order ``properties`` lists them, then ``required``-only
names; optional ones skippable; keys outside the named set after them), or in any order with
``any_order=True`` (a subset automaton: exact for required keys and duplicate named keys, bounded by
:data:`MAX_ANY_ORDER_KEYS`). Objects that come from ``const``/``enum`` values are emitted in any key order when
they have at most :data:`MAX_CONST_ANY_ORDER` keys. Keys outside the named set are not checked for duplicates
among themselves (a grammar cannot), but can never repeat a named key.
"""

from __future__ import annotations

import re
from collections import deque
from itertools import combinations

from .._errors import LimitExceededError, UnsupportedFeatureError
from ..automata._regex import remember_parse
from ..grammar._ir import Grammar, GrammarBuilder, Rule
from . import _automata as A
from ._compile import Compiler, _names_complement
from ._shape import FALSE, TRUE, And, ArrC, Const, Not, ObjC, Or
from ._strings import StringAutomaton, json_string_regex

__all__ = ["Layout", "Emitter", "MAX_ANY_ORDER_KEYS", "MAX_RULES", "MAX_TERMINAL_CHARS", "MAX_CONTAINER_STATES"]

MAX_ANY_ORDER_KEYS = 10
MAX_CONST_ANY_ORDER = 6
MAX_RULES = 400_000
MAX_TERMINAL_CHARS = 4_000_000
MAX_CONTAINER_STATES = 20_000
MAX_REGIONS = 64
MAX_UNIQUE_VALUES = 12
MAX_INDENT_DEPTH = 48


class Layout:
    """Whitespace and separators: ``flexible`` (bounded optional whitespace between tokens), ``compact``, or a
    fixed ``json.dumps``-like layout (``indent`` / ``separators``)."""

    def __init__(self, b: GrammarBuilder, whitespace: str, max_whitespace: int, indent, separators):
        self.b = b
        self.fixed = indent is not None or separators is not None
        if whitespace not in ("flexible", "compact"):
            raise ValueError(f"whitespace must be 'flexible' or 'compact', got {whitespace!r}")
        if not isinstance(max_whitespace, int) or max_whitespace < 0:
            raise ValueError(f"max_whitespace must be a non-negative int, got {max_whitespace!r}")
        if isinstance(indent, int) and not isinstance(indent, bool):
            indent = " " * max(indent, 0)
        self.indent = indent
        if separators is None:
            separators = (",", ": ") if indent is not None else (", ", ": ")
        self.item_text, self.key_text = separators
        self.flexible = not self.fixed and whitespace == "flexible" and max_whitespace > 0
        self.lbrace = b.terminal(r"\{", "LBRACE")
        self.rbrace = b.terminal(r"\}", "RBRACE")
        self.lbrack = b.terminal(r"\[", "LBRACK")
        self.rbrack = b.terminal(r"\]", "RBRACK")
        if self.flexible:
            self.comma = b.terminal(",", "COMMA")
            self.colon = b.terminal(":", "COLON")
            ws = b.terminal(r"[ \t\n\r]{1,%d}" % max_whitespace, "WS")
            self.ws = b.nonterminal("ws")
            b.rule(self.ws, [])
            b.rule(self.ws, [ws])
        elif not self.fixed:
            self.comma = b.terminal(",", "COMMA")
            self.colon = b.terminal(":", "COLON")

    def _lit(self, text: str, name: str) -> int:
        return self.b.terminal(re.escape(text), name)

    def _nl(self, depth: int) -> str:
        return "\n" + self.indent * depth

    def open(self, bracket: int, depth: int) -> list[int]:
        if self.flexible:
            return [bracket, self.ws]
        if self.indent is not None:
            return [bracket, self._lit(self._nl(depth + 1), f"NL{depth + 1}")]
        return [bracket]

    def close(self, bracket: int, depth: int) -> list[int]:
        if self.flexible:
            return [self.ws, bracket]
        if self.indent is not None:
            return [self._lit(self._nl(depth), f"NL{depth}"), bracket]
        return [bracket]

    def empty(self, lb: int, rb: int) -> list[int]:
        return [lb, self.ws, rb] if self.flexible else [lb, rb]

    def item_sep(self, depth: int) -> list[int]:
        if self.flexible:
            return [self.ws, self.comma, self.ws]
        if self.indent is not None:
            return [self._lit(self.item_text + self._nl(depth + 1), f"SEP{depth + 1}")]
        if self.fixed:
            return [self._lit(self.item_text, "SEP")]
        return [self.comma]

    def key_sep(self) -> list[int]:
        if self.flexible:
            return [self.ws, self.colon, self.ws]
        if self.fixed:
            return [self._lit(self.key_text, "KEYSEP")]
        return [self.colon]


class Emitter:
    """Builds the grammar for the root node of a :class:`Compiler`."""

    def __init__(self, compiler: Compiler, *, whitespace: str = "flexible", max_whitespace: int = 32, indent=None,
                 separators=None, any_order: bool = False, strict: bool = False, lenient: bool = False):
        self.c = compiler
        self.b = GrammarBuilder()
        self.layout = Layout(self.b, whitespace, max_whitespace, indent, separators)
        self.use_depth = self.layout.indent is not None
        self.any_order = any_order
        self.strict = strict
        self.lenient = lenient
        self.values: dict[tuple, int] = {}
        # (normalised shape, depth) -> its nonterminal: every reference to one definition ($ref, or an equal
        # combination) shares one nonterminal instead of emitting the definition again (Github_ultra/o13934
        # refers to one 230-property object 160 times: 150k rules)
        self.by_shape: dict[tuple, int] = {}
        self.queue: deque = deque()
        self.term_cache: dict[int, tuple] = {}
        self.key_cache: dict[str, int] = {}
        self.t_null = self.b.terminal("null", "NULL")
        self.t_true = self.b.terminal("true", "TRUE")
        self.t_false = self.b.terminal("false", "FALSE")
        self.n_rules = 0
        self.term_chars = 0
        self._hint_counts: dict[str, int] = {}

    def fresh(self, hint: str) -> int:
        """A new nonterminal (GrammarBuilder.fresh probes names linearly; a counter per hint stays O(1))."""
        k = self._hint_counts.get(hint, 0) + 1
        self._hint_counts[hint] = k
        return self.b.nonterminal(hint if k == 1 else f"{hint}#{k}")

    # ------------------------------------------------------------------ driver
    def build(self, source: str = "") -> Grammar:
        start = self.value(self.c.root, 0)
        while self.queue:
            key, depth, nt = self.queue.popleft()
            self._emit_value(nt, key, depth)
        return _reduce(self.b.build(start, source))

    def rule(self, lhs: int, body) -> None:
        self.n_rules += 1
        if self.n_rules > MAX_RULES:
            raise LimitExceededError("grammar size", f"more than {MAX_RULES} grammar rules")
        self.b.rule(lhs, body)

    def value(self, key, depth: int) -> int:
        d = depth if self.use_depth else 0
        k = (key, d)
        nt = self.values.get(k)
        if nt is not None:
            return nt
        sk = (id(self.c.norm(key)), d)  # the compiler keeps its shapes alive, so ids stay unique
        nt = self.by_shape.get(sk)
        if nt is None:
            hint = "value"
            if key[0] == "raw":
                path = self.c.path_of(key)
                hint = "value" + (re.sub(r"[^A-Za-z0-9_/]+", "_", path)[-48:] if path else "_root")
            elif key[0] in ("and", "or", "not", "const"):
                hint = "value_" + key[0]
            nt = self.by_shape[sk] = self.fresh(hint)
            if d <= MAX_INDENT_DEPTH:  # deeper documents are rejected in indent mode (documented)
                self.queue.append((key, d, nt))
        self.values[k] = nt
        return nt

    def terminal_for(self, lang, kind: str) -> int:
        """The terminal of a number/string language (cached per Lang object, which the cache keeps alive)."""
        hit = self.term_cache.get(id(lang))
        if hit is not None:
            return hit[1]
        if kind == "string" and not lang.has_ast():
            # a product's DFA: built into the lexer directly (its regex text is rendered only on demand)
            source = StringAutomaton(lang.dfa())
            self.term_chars += 16 * source.n_edges  # about what each edge costs as text
        else:
            if kind == "string":
                source = json_string_regex(lang)
            else:
                ast = lang.ast()
                source = A.to_regex(ast, A.plain_set)
                remember_parse(source, A.to_items(ast, A.plain_items))
            self.term_chars += len(source)
        if self.term_chars > MAX_TERMINAL_CHARS:
            raise LimitExceededError("grammar size", f"terminal regexes exceed {MAX_TERMINAL_CHARS} characters")
        t = self.b.terminal(source, f"{'STRING' if kind == 'string' else 'NUMBER'}{len(self.term_cache)}")
        self.term_cache[id(lang)] = (lang, t)
        return t

    def key_terminal(self, name: str) -> int:
        t = self.key_cache.get(name)
        if t is None:
            regex = json_string_regex(A.string(name))
            self.term_chars += len(regex)
            label = re.sub(r"[^A-Za-z0-9_]", "_", name)[:40]
            t = self.b.terminal(regex, f"KEY{len(self.key_cache)}_{label}")
            self.key_cache[name] = t
        return t

    # ------------------------------------------------------------------ values
    def _emit_value(self, nt: int, key, depth: int) -> None:
        if key == FALSE:
            return
        self.c.check_time()
        shape = self.c.norm(key)
        if shape.null:
            self.rule(nt, [self.t_null])
        if True in shape.bools:
            self.rule(nt, [self.t_true])
        if False in shape.bools:
            self.rule(nt, [self.t_false])
        if shape.num is not None and not shape.num.is_empty():
            self.rule(nt, [self.terminal_for(shape.num, "number")])
        if shape.str is not None:
            self.rule(nt, [self.terminal_for(shape.str, "string")])
        for a in shape.arrs:
            sub = self._array(a, depth, key)
            if sub is not None:
                self.rule(nt, [sub])
        for o in shape.objs:
            sub = self._object(o, depth, key)
            if sub is not None:
                self.rule(nt, [sub])

    # ------------------------------------------------------------------ arrays
    def _array(self, a: ArrC, depth: int, owner) -> int | None:
        L = self.layout
        prefix, rest = list(a.prefix), a.rest
        if self.strict and a.ev_prefix and not a.ev_all:
            # strict: a declared tuple takes no unevaluated extra items (as if unevaluatedItems were false)
            extra = Or(*a.ev_contains)
            prefix = [p if i < a.ev_prefix else And(p, extra) for i, p in enumerate(prefix)]
            rest = And(rest, extra)
        hi = a.max
        for i, p in enumerate(prefix):
            if p == FALSE:
                hi = i if hi is None else min(hi, i)
                break
        if rest == FALSE:
            hi = len(prefix) if hi is None else min(hi, len(prefix))
        lo = a.min
        if hi is not None and lo > hi:
            return None
        item = (lambda i: prefix[i] if i < len(prefix) else rest)
        contains = list(a.contains)
        unique = a.unique and (hi is None or hi > 1)
        values = None
        if unique:
            values = self._unique_values(prefix, rest, hi, owner)
            if values is None:
                unique = False  # lenient: uniqueness not enforced
        # index cap: beyond it every state behaves the same (unbounded arrays)
        cap_i = hi if hi is not None else max(len(prefix), lo, max((s for *_, s in contains), default=0)) + 1
        caps = [(h + 1 if h is not None else lo_c) for _, lo_c, h, _ in contains]

        def ok_end(i, counts):
            if i < lo:
                return False
            for (node, lo_c, h, _), c in zip(contains, counts):
                if c < lo_c or (h is not None and c > h):
                    return False
            return True

        def choices(i, counts, used):
            """(item node, new counts, new used) for the item at index i."""
            base = item(i)
            if base == FALSE:
                return
            if unique:
                for vi, (v, vkey) in enumerate(values):
                    if used >> vi & 1 or not self.c.member_node(v, base):
                        continue
                    new = list(counts)
                    for j, (node, lo_c, h, start) in enumerate(contains):
                        if i >= start and self.c.member_node(v, node):
                            new[j] = min(new[j] + 1, caps[j])
                    yield Const(v), tuple(new), used | (1 << vi)
                return
            opts = [(base, tuple(counts))]
            for j, (node, lo_c, h, start) in enumerate(contains):
                if i < start:
                    continue
                nxt = []
                for n, cs in opts:
                    bumped = cs[:j] + (min(cs[j] + 1, caps[j]),) + cs[j + 1:]
                    nxt.append((And(n, node), bumped))
                    nxt.append((And(n, Not(node)) if h is not None else n, cs))
                opts = nxt
            for n, cs in opts:
                if n != FALSE:
                    yield n, cs, used

        init = (0, tuple(0 for _ in contains), 0)
        states = _StateNames(self, "items", "array grammar size", "one array (maxItems/contains/uniqueItems)")
        state_nt = states.nt

        arr = self.fresh("array")
        if ok_end(0, init[1]):
            self.rule(arr, L.empty(L.lbrack, L.rbrack))
        if hi is None or hi > 0:
            for n, cs, used in choices(0, init[1], 0):
                nxt = (min(1, cap_i), cs, used)
                self.rule(arr, L.open(L.lbrack, depth) + [self.value(n, depth + 1), state_nt(nxt)]
                          + L.close(L.rbrack, depth))
        while states.work:
            st = states.work.popleft()
            i, counts, used = st
            me = states.names[st]
            if ok_end(i, counts):
                self.rule(me, [])
            if hi is not None and i >= hi:
                continue
            for n, cs, u in choices(i, counts, used):
                if any(c > h for c, (_, _, h, _) in zip(cs, contains) if h is not None):
                    continue
                nxt = (min(i + 1, cap_i), cs, u)
                self.rule(me, L.item_sep(depth) + [self.value(n, depth + 1), state_nt(nxt)])
        return arr

    def _unique_values(self, prefix, rest, hi, owner):
        positions = list(prefix) + ([rest] if rest != FALSE and (hi is None or hi > len(prefix)) else [])
        seen: dict[str, object] = {}
        from ._shape import canonical

        for p in positions:
            vals = self.c.key_values(p)
            if vals is None:
                if self.lenient:
                    return None
                raise UnsupportedFeatureError("uniqueItems", "exact only when every item has a small finite set "
                                              "of values (enum/const/boolean/null)", path=self.c.path_of(owner))
            for v in vals:
                seen.setdefault(canonical(v), v)
        if len(seen) > MAX_UNIQUE_VALUES:
            if self.lenient:
                return None
            raise UnsupportedFeatureError("uniqueItems", f"items range over {len(seen)} values (limit "
                                          f"{MAX_UNIQUE_VALUES}) ", path=self.c.path_of(owner))
        return [(v, Const(v)) for v in seen.values()]

    # ------------------------------------------------------------------ objects
    def _object(self, o: ObjC, depth: int, owner) -> int | None:
        L = self.layout
        if self.strict and o.has_eval() and not o.ev_all:
            # strict: keys no properties/patternProperties of this location declares are forbidden (as if
            # unevaluatedProperties were false)
            undeclared = _names_complement(o.ev_names)
            for lang in o.ev_langs:
                undeclared = undeclared - lang
            o = o.replace(langs=o.langs + ((undeclared, FALSE),))
        named = o.named_keys()
        required = set(o.required)
        slots = []  # (name, value node, required)
        for n in named:
            v = o.value_for(n)
            if v == FALSE:
                if n in required:
                    return None
                continue
            slots.append((n, v, n in required))
        exists = list(o.exists)
        regions = self._regions(o, named, exists)
        members = []  # (key terminal, value node, witnessable exists bitmask)
        for lang, rules in regions:
            v = And(*(o.langs[r][1] for r in rules if r < len(o.langs)))
            if v == FALSE:
                continue
            wit = 0
            for r in rules:
                if r >= len(o.langs):
                    wit |= 1 << (r - len(o.langs))
            members.append((self.terminal_for(lang, "string"), v, wit))
        slot_wit = []
        for n, v, _ in slots:
            wit = 0
            for j, (lang, _) in enumerate(exists):
                if lang.matches(n):
                    wit |= 1 << j
            slot_wit.append(wit)
        full = (1 << len(exists)) - 1
        lo, hi = o.min, o.max
        cap_c = hi if hi is not None else max(lo, 1)
        any_order = self.any_order or (o.unordered and len(slots) <= MAX_CONST_ANY_ORDER)
        if any_order and len(slots) > MAX_ANY_ORDER_KEYS:
            raise LimitExceededError("any_order", f"{len(slots)} named properties (any-order objects are exact only "
                                     f"up to {MAX_ANY_ORDER_KEYS})")
        req_mask = sum(1 << k for k, (_, _, r) in enumerate(slots) if r)

        def choices(node, wit, flags):
            yield node, flags
            bits = [j for j in range(len(exists)) if wit >> j & 1]
            for size in range(1, len(bits) + 1):
                for combo in combinations(bits, size):
                    extra = [exists[j][1] for j in combo]
                    f = flags
                    for j in combo:
                        f |= 1 << j
                    yield And(node, *extra), f

        def ok_end(pos, c, flags):
            if c < max(lo, 1) or flags != full:
                return False
            if any_order:
                return pos & req_mask == req_mask
            return pos == len(slots)

        states = _StateNames(self, "members", "object grammar size",
                             "one object (properties/min/maxProperties/any_order)")
        state_nt = states.nt

        def transitions(st):
            """(key terminal, value node, next state) for one more member."""
            pos, c, flags = st
            if hi is not None and c >= hi:
                return
            nc = min(c + 1, cap_c)
            if any_order:
                for k, (n, v, _) in enumerate(slots):
                    if not pos >> k & 1:
                        for node, f in choices(v, slot_wit[k], flags):
                            yield self.key_terminal(n), node, (pos | 1 << k, nc, f)
            elif pos < len(slots):
                n, v, _ = slots[pos]
                for node, f in choices(v, slot_wit[pos], flags):
                    yield self.key_terminal(n), node, (pos + 1, nc, f)
                return
            for term, v, wit in members:
                for node, f in choices(v, wit, flags):
                    yield term, node, (pos, nc, f)

        # members(pos, count, exists-flags): the members still to come; count 0 means "none yet" (no separator,
        # and at least one must follow: the empty object is its own rule). In schema order an optional slot is
        # skipped by a unit rule, so the grammar stays linear in the number of properties.
        obj = self.fresh("object")
        if lo == 0 and not required and not exists:
            self.rule(obj, L.empty(L.lbrace, L.rbrace))
        self.rule(obj, L.open(L.lbrace, depth) + [state_nt((0, 0, 0))] + L.close(L.rbrace, depth))
        while states.work:
            st = states.work.popleft()
            me = states.names[st]
            pos, c, flags = st
            if ok_end(*st):
                self.rule(me, [])
            if not any_order and pos < len(slots) and not slots[pos][2]:
                self.rule(me, [state_nt((pos + 1, c, flags))])
            sep = L.item_sep(depth) if c else []
            for term, node, nxt in transitions(st):
                self.rule(me, sep + [term] + L.key_sep() + [self.value(node, depth + 1), state_nt(nxt)])
        return obj

    def _regions(self, o: ObjC, named: list[str], exists) -> list[tuple]:
        """Partition the keys outside ``named`` by which language rules (and exists rules, numbered after the
        language rules) cover them: ``[(lang, rule indexes)]``."""
        rules = [(lang, i) for i, (lang, v) in enumerate(o.langs) if v != TRUE]
        rules += [(lang, len(o.langs) + j) for j, (lang, _) in enumerate(exists)]
        regions = [(_names_complement(named), frozenset())]
        for lang, idx in rules:
            new = []
            for r, mem in regions:
                if lang.co_names is not None and r.co_names is not None and lang.co_names <= r.co_names:
                    new.append((r, mem | {idx}))  # r ⊆ lang
                    continue
                inter = r & lang
                if not inter.is_empty():
                    new.append((inter, mem | {idx}))
                diff = r - lang
                if not diff.is_empty():
                    new.append((diff, mem))
            regions = new
            if len(regions) > MAX_REGIONS:
                raise LimitExceededError("patternProperties", f"property-name rules split the key space into more "
                                         f"than {MAX_REGIONS} regions")
        return regions


def _reduce(g: Grammar) -> Grammar:
    """Drop unproductive and unreachable symbols; an empty language keeps only the start symbol."""
    n = len(g.nonterminals)
    productive = [False] * n
    # linear worklist: a rule fires when all its nonterminals are productive
    missing = [0] * len(g.rules)
    uses: dict[int, list[int]] = {}
    queue = []
    for i, r in enumerate(g.rules):
        nts = {s for s in r.body if s >= 0}
        missing[i] = len(nts)
        for s in nts:
            uses.setdefault(s, []).append(i)
        if not nts and not productive[r.lhs]:
            productive[r.lhs] = True
            queue.append(r.lhs)
    while queue:
        x = queue.pop()
        for i in uses.get(x, ()):
            missing[i] -= 1
            lhs = g.rules[i].lhs
            if missing[i] == 0 and not productive[lhs]:
                productive[lhs] = True
                queue.append(lhs)
    rules = [r for r in g.rules if productive[r.lhs] and all(s < 0 or productive[s] for s in r.body)]
    reach = {g.start}
    stack = [g.start]
    by_lhs = {}
    for r in rules:
        by_lhs.setdefault(r.lhs, []).append(r)
    while stack:
        x = stack.pop()
        for r in by_lhs.get(x, ()):
            for s in r.body:
                if s >= 0 and s not in reach:
                    reach.add(s)
                    stack.append(s)
    keep_nt = sorted(reach, key=lambda x: (x != g.start, x))
    nt_map = {old: new for new, old in enumerate(keep_nt)}
    used_t = sorted({-1 - s for r in rules if r.lhs in reach for s in r.body if s < 0})
    t_map = {old: new for new, old in enumerate(used_t)}
    new_rules = tuple(Rule(nt_map[r.lhs], tuple(nt_map[s] if s >= 0 else -1 - t_map[-1 - s] for s in r.body))
                      for r in rules if r.lhs in reach)
    return Grammar(tuple(g.terminals[i] for i in used_t), tuple(g.nonterminals[i] for i in keep_nt), new_rules,
                   0, (), g.source)


class _StateNames:
    """Nonterminals for the states of a container's member automaton, made on first use and queued for
    their rules (bounded by MAX_CONTAINER_STATES)."""

    __slots__ = ("emitter", "prefix", "limit", "what", "names", "work")

    def __init__(self, emitter, prefix: str, limit: str, what: str):
        self.emitter, self.prefix, self.limit, self.what = emitter, prefix, limit, what
        self.names: dict[tuple, int] = {}
        self.work: deque = deque()

    def nt(self, st) -> int:
        nt = self.names.get(st)
        if nt is None:
            if len(self.names) >= MAX_CONTAINER_STATES:
                raise LimitExceededError(self.limit, f"more than {MAX_CONTAINER_STATES} states for {self.what}")
            nt = self.names[st] = self.emitter.fresh(self.prefix)
            self.work.append(st)
        return nt
