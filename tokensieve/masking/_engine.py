"""CompiledGrammar and Matcher: lexer + Earley parser + token trie -> exact next-token masks."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from .._errors import GrammarError, VocabularyError
from ..automata import DEAD, EarleyTables, Lexer, TokenTrie
from ..grammar import Grammar
from ..grammar._reduce import reduce_grammar
from . import _select
from ._vocabulary import Vocabulary

__all__ = ["CompiledGrammar", "Matcher", "compile", "allocate_token_bitmask", "fill_next_token_bitmasks"]

_SCAN_CACHE_LIMIT = 4096  # successor rows cached per row; beyond it the cache is dropped (bounded memory)
# Scan caches hold rows weakly (the tree of every explored row would otherwise live as long as the grammar);
# the most recent rows are also held strongly, so the lookahead rows a mask builds at lexeme ends survive until
# the next mask and the next token instead of being rebuilt (an Earley closure, ~25 us) every step. Bounded by
# Earley items, not rows: a row of a large grammar can hold thousands.
_RECENT_ROW_ITEMS = 100_000
_INF = (1 << 31) - 1
_NO_ROW = object()  # scan-cache entry: this terminal set leads nowhere
_MASK_CACHE_BYTES = 32 << 20  # masks kept per compiled grammar, keyed by (top row, lexer state)
_BUCKET_MIN_NODES = 256  # lexeme-end groups at least this big are bucketed by byte (cl100k after a string: ~3,000)
_SLICE_MIN_BYTES = 32  # a lexer state looping on at least this many bytes uses the trie's precomputed slice


def allocate_token_bitmask(batch: int, vocab_size: int) -> np.ndarray:
    """A zeroed int32 bitmask of shape ``(batch, ceil(vocab_size / 32))`` (XGrammar/llguidance layout)."""
    return np.zeros((batch, (vocab_size + 31) // 32), dtype=np.int32)


class _CIEntry:
    """Per lexer state: tokens inside the current lexeme, and lexeme-end trie nodes grouped by ending state
    (``(state, nodes, offsets)``: see :meth:`CompiledGrammar._by_byte`)."""

    __slots__ = ("mask", "groups", "ends")

    def __init__(self, mask, groups, ends):
        self.mask, self.groups, self.ends = mask, groups, ends


class _RecentRows:
    """Strong references to the latest rows, up to a total number of Earley items (oldest dropped first).
    Used under the compiled grammar's lock, like everything a _Stepper touches."""

    __slots__ = ("rows", "items", "limit")

    def __init__(self, limit: int):
        self.rows: deque = deque()
        self.items = 0
        self.limit = limit

    def append(self, row) -> None:
        self.rows.append(row)
        self.items += row.n_items
        while self.items > self.limit and len(self.rows) > 1:
            self.items -= self.rows.popleft().n_items


class CompiledGrammar:
    """A grammar bound to a vocabulary: lexer, parser tables and token trie, shared by its matchers.

    Build with :func:`compile`. The lexer DFA grows lazily as matchers explore it.
    """

    def __init__(self, grammar: Grammar, vocab: Vocabulary, *, max_lexer_states: int = 65_536,
                 max_items_per_row: int = 50_000):
        if not isinstance(grammar, Grammar):
            raise TypeError(f"expected a tokensieve.Grammar, got {type(grammar).__name__}")
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"expected a tokensieve.Vocabulary, got {type(vocab).__name__}")
        self.grammar = grammar
        self.vocab = vocab
        # the parser's viable-prefix property (a non-empty row can be completed) needs a reduced grammar
        g = reduce_grammar(grammar)
        self.lexer = Lexer([t.source for t in g.terminals], [t.name for t in g.terminals],
                           max_states=max_lexer_states)
        dead = [i for i in range(len(g.terminals)) if not self.lexer.live_terminals >> i & 1]
        if dead:  # terminals with an empty language make their rules unproductive
            bad = {-1 - i for i in dead}
            g = reduce_grammar(Grammar(g.terminals, g.nonterminals,
                                       tuple(r for r in g.rules if not bad.intersection(r.body)), g.start,
                                       tuple(t for t in g.ignore if t not in dead), g.source))
            self.lexer = Lexer([t.source for t in g.terminals], [t.name for t in g.terminals],
                               max_states=max_lexer_states)
        self.reduced = g
        self.ignore_mask = 0
        for t in g.ignore:
            self.ignore_mask |= 1 << t
        self.parser = EarleyTables(g, max_items_per_row=max_items_per_row)
        self.trie = _trie_for(vocab)
        self.eos_ids = np.asarray(sorted(vocab.eos_token_ids), dtype=np.int64)
        self.n_words = (vocab.size + 31) // 32
        self.initial_row = self.parser.initial_row()
        self._set_start(self.initial_row)
        if self.initial_row.start_state == DEAD and not self.initial_row.accepting:
            raise GrammarError("grammar has an empty language", symbol=g.nonterminals[g.start])
        self.lock = threading.RLock()
        # A mask depends only on (lexer state, parse stack); a row object stands for its whole stack, so
        # (row serial, state) is an exact key. Inside one lexeme (a string body, a number) consecutive
        # tokens usually hit it.
        self.mask_cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self.mask_cache_limit = max(16, _MASK_CACHE_BYTES // (4 * self.n_words))
        self.ci_cache: OrderedDict[int, _CIEntry] = OrderedDict()
        self.recent_rows = _RecentRows(_RECENT_ROW_ITEMS)

    def _set_start(self, row) -> None:
        if row.start_state < 0:
            live = row.allowed | (self.ignore_mask if (row.allowed or row.accepting) else 0)
            row.start_state = self.lexer.start_state(live) if live else DEAD

    def ci_entry(self, state: int) -> "_CIEntry":
        """The context-independent part of the mask in lexer ``state`` (cached, bounded)."""
        e = self.ci_cache.get(state)
        if e is not None:
            self.ci_cache.move_to_end(state)
            return e
        mask = np.zeros(self.n_words, dtype=np.uint32)
        plan = self.slice_plan(state)
        if plan is not None:
            # a string body or similar: most of the vocabulary stays in the lexeme, so walk only the trie's
            # part that can leave it (the slice is shared by every state stepping through the same class)
            nodes, bstates, ends = _select.kernels.collect_ci_sliced(self.trie, self.lexer, state, mask, *plan)
        else:
            nodes, bstates, ends = _select.kernels.collect_ci(self.trie, self.lexer, state, mask)
        # the parse step at a lexeme end depends only on the state it ends in, not on the next byte
        groups: dict[int, list[int]] = {}
        for i, s in zip(nodes, bstates):
            groups.setdefault(s, []).append(i)
        e = _CIEntry(mask, [(s, *self._by_byte(v)) for s, v in groups.items()], tuple(ends))
        self.ci_cache[state] = e
        if len(self.ci_cache) > self.mask_cache_limit:
            self.ci_cache.popitem(last=False)
        return e

    def _by_byte(self, nodes: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
        """Lexeme-end nodes sorted by their byte, with the 257 offsets of each byte's run (walk_points skips the
        runs the next lexeme cannot start with); a small group stays as it is (sorting it costs more than the
        walk it saves: ~10 us a group on every new lexer state)."""
        nodes = np.asarray(nodes, dtype=np.int32)
        if len(nodes) < _BUCKET_MIN_NODES:
            return nodes, None
        first = self.trie.byte[nodes]
        order = np.argsort(first, kind="stable")
        offs = np.searchsorted(first[order], np.arange(257)).astype(np.int32)
        return np.ascontiguousarray(nodes[order]), offs

    def slice_plan(self, state: int):
        """The trie-slice arguments of ``collect_ci_sliced`` for lexer ``state``, or None for a plain walk.

        The class is the largest set of bytes (at least ``_SLICE_MIN_BYTES``) that ``state`` sends to one state
        ``t``. If ``t`` loops on a class of its own (a string body; ``t`` is ``state`` itself, or follows a key's
        first byte), the walk skips the subtrees of that class wherever it is in ``t``, with ``t``'s slice
        (shared by every string of every grammar). Otherwise the run follows the class while every class byte
        keeps leading to one live state, ``maxLength`` steps in a bounded string (a new state per character,
        each of which was a full-vocabulary walk: 1-2 ms on cl100k).
        """
        lexer = self.lexer
        row = lexer.row(state)
        alive = row[row > 0]
        if alive.size < _SLICE_MIN_BYTES:
            return None
        vals, counts = np.unique(alive, return_counts=True)
        j = int(counts.argmax())
        if counts[j] < _SLICE_MIN_BYTES:
            return None
        t = int(vals[j])
        lp = self._loop_slice(t)
        if lp is not None:
            if t == state:  # the state loops: its tokens of class bytes only are the precomputed mask
                k = lp.max_len
                return lp.cls, lp.pure, lp.inside(k), k, t, lp.pure, ({t} if lp.lengths else set())
            return None, None, None, 0, t, lp.pure, set()
        cls = row == t
        sl = self.trie.slice(cls, self.n_words, build_first=False)
        if sl is None:  # a class seen once so far: building it costs more than one plain walk
            return None
        chain = [state, t]  # chain[n]: the state after n class bytes
        while len(chain) <= sl.max_len:
            s = chain[-1]
            if s == chain[-2]:  # a loop on the class: every longer run stays here
                chain.extend([s] * (sl.max_len + 1 - len(chain)))
                break
            nxt = lexer.row(s)[cls]
            if nxt[0] <= 0 or (nxt != nxt[0]).any():
                break
            chain.append(int(nxt[0]))
        k = len(chain) - 1
        # a bounded run that ends in a loop on the class (minLength): class-only subtrees in that state are
        # skipped off the run too
        loop = chain[-1] if chain[-1] == chain[-2] else -1
        ends0 = {chain[n] for n in sl.lengths if n <= k}
        return sl.cls, sl.pure, sl.inside(k), k, loop, (sl.pure if loop >= 0 else None), ends0

    def _loop_slice(self, t: int):
        """The slice of the bytes on which state ``t`` loops (None if fewer than ``_SLICE_MIN_BYTES`` or not
        built yet)."""
        loop = self.lexer.row(t) == t
        if int(loop.sum()) < _SLICE_MIN_BYTES:
            return None
        return self.trie.slice(loop, self.n_words, build_first=False)

    def _budget_ready(self) -> None:
        """Shortest-completion tables, built on first use of a token budget."""
        if getattr(self.parser, "after", None) is None:
            self.parser.set_terminal_lengths([self.lexer.min_length(t) for t in range(self.lexer.n_terminals)])
            # byte costs bound token counts only if every single byte is a token
            have = {b[0] for b in self.vocab.token_bytes if b is not None and len(b) == 1}
            self.budget_exact_bound = len(have) == 256

    def __repr__(self) -> str:
        g = self.grammar
        return (f"CompiledGrammar(terminals={len(g.terminals)}, rules={len(g.rules)}, "
                f"vocab_size={self.vocab.size}, lexer_states={self.lexer.n_states})")


_TRIES: "OrderedDict[str, TokenTrie]" = OrderedDict()
_JSON_STRING_BYTES = np.zeros(256, dtype=bool)
_JSON_STRING_BYTES[0x20:0x80] = True
_JSON_STRING_BYTES[[0x22, 0x5C]] = False
_COMPILED: "OrderedDict[tuple[str, str], CompiledGrammar]" = OrderedDict()


def _trie_for(vocab: Vocabulary) -> TokenTrie:
    trie = _TRIES.get(vocab.fingerprint)
    if trie is None:
        trie = TokenTrie(vocab.token_bytes)
        # the slice every JSON string body loops on (ASCII but controls, quote and backslash), built with the
        # trie like llguidance's default slices: ~2 ms once per vocabulary instead of in some grammar's mask
        trie.slice(_JSON_STRING_BYTES, (vocab.size + 31) // 32)
        _TRIES[vocab.fingerprint] = trie
        while len(_TRIES) > 8:
            _TRIES.popitem(last=False)
    return trie


def compile(grammar: Grammar, vocab: Vocabulary, **limits) -> CompiledGrammar:  # noqa: A001 - public name
    """Bind ``grammar`` to ``vocab``; cached by content (grammar and vocabulary fingerprints).

    Raises: TypeError for arguments of the wrong kind; GrammarError / UnsupportedFeatureError /
    LimitExceededError for grammars the engine cannot run.
    """
    if not isinstance(grammar, Grammar):
        raise TypeError(f"expected a tokensieve.Grammar (e.g. Grammar.from_lark(text)), got {type(grammar).__name__}")
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"expected a tokensieve.Vocabulary, got {type(vocab).__name__}")
    key = (grammar.fingerprint(), vocab.fingerprint, tuple(sorted(limits.items())))
    cg = _COMPILED.get(key)
    if cg is None:
        cg = CompiledGrammar(grammar, vocab, **limits)
        _COMPILED[key] = cg
        while len(_COMPILED) > 64:
            _COMPILED.popitem(last=False)
    return cg


class _Stepper:
    """The byte-level transition of (Earley rows, lexer state), with lexeme boundaries."""

    __slots__ = ("cg", "rows", "_base", "_levels", "_level_of", "_cur")

    def __init__(self, cg: CompiledGrammar, rows: list):
        self.cg = cg
        self.rows = rows

    def _scan(self, terminals: int):
        """The row after the top row scans a lexeme of ``terminals`` (cached on the row), or None."""
        top = self.rows[-1]
        ref = top.scan_cache.get(terminals)
        if ref is _NO_ROW:
            return None
        if ref is not None:
            row = ref()
            if row is not None:
                return row
        row = self.cg.parser.scan(self.rows, terminals)
        if len(top.scan_cache) >= _SCAN_CACHE_LIMIT:
            top.scan_cache.clear()
        if row is None:
            top.scan_cache[terminals] = _NO_ROW
        else:
            self.cg._set_start(row)
            top.scan_cache[terminals] = weakref.ref(row)
            self.cg.recent_rows.append(row)
        return row

    def end_lexeme(self, state: int) -> int:
        """Close the lexeme in ``state``: returns ``start_state * 2 + pushed`` for the next lexeme, or -1."""
        cg = self.cg
        acc = cg.lexer.accepting[state]
        top = self.rows[-1]
        scan = acc & top.allowed
        if scan:
            nxt = self._scan(scan)
            if nxt is None or nxt.start_state == DEAD:
                return -1
            self.rows.append(nxt)
            return nxt.start_state * 2 + 1
        if acc & cg.ignore_mask and top.start_state != DEAD:
            return top.start_state * 2
        return -1

    def boundary(self, state: int, byte: int) -> int:
        """End the lexeme in ``state`` and feed ``byte``: ``new_state * 2 + pushed`` (rows pushed), or -1."""
        r = self.end_lexeme(state)
        if r < 0:
            return -1
        s2 = self.cg.lexer.step(r >> 1, byte)
        if s2 == DEAD:
            if r & 1:
                self.rows.pop()
            return -1
        return s2 * 2 + (r & 1)

    # ---- the level protocol of the trie walks (see masking/_walk_py.py) ----
    def begin(self) -> None:
        self._base = len(self.rows)
        self._levels = [(0, None)]  # level -> (parent level, row pushed)
        self._level_of = {}  # (parent level, row serial) -> level
        self._cur = 0

    def _sync(self, level: int) -> None:
        """Make ``rows`` the stack of ``level``: the base plus the rows pushed on the way to it."""
        if level == self._cur:
            return
        del self.rows[self._base:]
        chain, lv = [], level
        while lv:
            lv, row = self._levels[lv]
            chain.append(row)
        self.rows.extend(reversed(chain))
        self._cur = level

    def end_at(self, level: int, state: int) -> tuple[int, int]:
        """Close the lexeme in ``state`` on ``level``'s stack: (next lexeme's start state, its level), or -1."""
        self._sync(level)
        r = self.end_lexeme(state)
        if r < 0:
            return -1, level
        if not r & 1:
            return r >> 1, level
        row = self.rows.pop()
        key = (level, row.serial)
        new = self._level_of.get(key)
        if new is None:
            new = self._level_of[key] = len(self._levels)
            self._levels.append((level, row))
        return r >> 1, new

    # fewest bytes that finish the document from a lexer state, under the current top row
    def cost_table(self) -> np.ndarray:
        row = self.rows[-1]
        t = row.cost_table
        if t is None or t.shape[0] < self.cg.lexer.n_states:
            new = np.full(max(64, 2 * self.cg.lexer.n_states), -1, dtype=np.int32)
            if t is not None:
                new[: t.shape[0]] = t
            row.cost_table = t = new
        return t

    def cost(self, state: int) -> int:
        cg = self.cg
        row = self.rows[-1]
        if row.wait_cost is None:
            cg.parser.completion_costs(self.rows)
        if state == row.start_state:
            c = row.cost
        else:
            c = _INF
            for t, d in cg.lexer.terminal_distances(state).items():
                if row.allowed >> t & 1:
                    c = min(c, d + row.wait_cost.get(-1 - t, _INF))
                elif cg.ignore_mask >> t & 1:
                    c = min(c, d + row.cost)
        c = min(c, _INF)
        self.cost_table()[state] = c
        return c

    def cost_table_at(self, level: int) -> np.ndarray:
        self._sync(level)
        return self.cost_table()

    def cost_at(self, level: int, state: int) -> int:
        self._sync(level)
        return self.cost(state)

    def step(self, state: int, byte: int) -> int:
        """Advance one byte for real (rows are pushed); DEAD if rejected (rows untouched)."""
        s2 = self.cg.lexer.step(state, byte)
        if s2 != DEAD:
            return s2
        if not self.cg.lexer.accepting[state]:
            return DEAD
        r = self.boundary(state, byte)
        return DEAD if r < 0 else r >> 1

    def end_row(self, state: int):
        """The row reached if the input ended here (lexeme in ``state`` closed), or None."""
        top = self.rows[-1]
        if state == top.start_state:
            return top
        acc = self.cg.lexer.accepting[state]
        scan = acc & top.allowed
        if scan:
            return self._scan(scan)
        if acc & self.cg.ignore_mask:
            return top
        return None


class Matcher:
    """The state of one constrained sequence: masks, token acceptance, rollback and forking.

    Parameters: ``compiled`` from :func:`compile`; ``max_rollback`` bounds the token history kept;
    ``max_tokens`` is a token budget: when set, masks also forbid every token after which the document could
    not be finished within the tokens left (measured as the fewest bytes to finish, an upper bound on tokens
    when every single byte is a token, as in byte-level vocabularies). If no token can finish in time, the
    tokens that bring the end closest stay allowed, so generation never dead-ends.
    """

    def __init__(self, compiled: CompiledGrammar, *, max_rollback: int = 1 << 30, max_tokens: int | None = None):
        if not isinstance(compiled, CompiledGrammar):
            raise TypeError(f"expected a CompiledGrammar (tokensieve.compile(...)), got {type(compiled).__name__}")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise ValueError(f"max_tokens must be a positive int or None, got {max_tokens!r}")
        self.compiled = compiled
        self.max_rollback = max_rollback
        self.max_tokens = max_tokens
        if max_tokens is not None:
            compiled._budget_ready()
        self.reset()

    # ---- state ----
    def reset(self) -> None:
        cg = self.compiled
        self._rows = [cg.initial_row]
        self._state = cg.initial_row.start_state
        self._history: list[tuple[int, int, bool, int]] = []  # rows height, lexer state, terminated, count
        self._terminated = False
        self._n_tokens = 0

    def fork(self) -> "Matcher":
        """An independent copy sharing the compiled grammar and the immutable parse rows."""
        m = Matcher.__new__(Matcher)
        m.compiled, m.max_rollback, m.max_tokens = self.compiled, self.max_rollback, self.max_tokens
        m._rows, m._state = list(self._rows), self._state
        m._history, m._terminated, m._n_tokens = list(self._history), self._terminated, self._n_tokens
        return m

    def rollback(self, n: int = 1) -> None:
        """Undo the last ``n`` accepted tokens."""
        if n < 0 or n > len(self._history):
            raise ValueError(f"cannot roll back {n} tokens; {len(self._history)} in history")
        if n == 0:
            return
        height, state, term, count = self._history[-n]
        del self._history[-n:]
        del self._rows[height:]
        self._state, self._terminated, self._n_tokens = state, term, count

    def _push_history(self) -> None:
        self._history.append((len(self._rows), self._state, self._terminated, self._n_tokens))
        self._n_tokens += 1
        if len(self._history) > self.max_rollback:
            del self._history[0]

    # ---- queries ----
    def is_terminated(self) -> bool:
        """True once an EOS token was accepted."""
        return self._terminated

    def is_accepting(self) -> bool:
        """True if the input so far is a complete document (EOS would be allowed)."""
        if self._terminated:
            return True
        with self.compiled.lock:
            row = _Stepper(self.compiled, self._rows).end_row(self._state)
        return bool(row is not None and row.accepting)

    def _alive_after(self, data: bytes) -> tuple[list, int] | None:
        rows = list(self._rows)
        st = _Stepper(self.compiled, rows)
        s = self._state
        for b in data:
            s = st.step(s, b)
            if s == DEAD:
                return None
        # A lexeme that cannot grow ends now: the next mask then starts from a lexeme start, whose
        # context-independent part is large and whose lexeme-end subtrees are few.
        lexer = self.compiled.lexer
        if lexer.accepting[s] and lexer.is_dead_end(s):
            r = st.end_lexeme(s)
            if r >= 0:
                s = r >> 1
        return rows, s

    # ---- consuming ----
    def accept_bytes(self, data: bytes) -> bool:
        """Consume raw bytes (not a token); False and no change if they cannot continue the document."""
        if self._terminated:
            return False
        with self.compiled.lock:
            r = self._alive_after(bytes(data))
        if r is None:
            return False
        self._rows, self._state = r
        return True

    def accept_token(self, token_id: int) -> bool:
        """Consume one token; False (state unchanged) if it is not allowed here."""
        vocab = self.compiled.vocab
        tid = int(token_id)
        if self._terminated or not 0 <= tid < vocab.size:
            return False
        if tid in vocab.eos_token_ids:
            if not self.is_accepting():
                return False
            self._push_history()
            self._terminated = True
            return True
        data = vocab.token_bytes[tid] if tid < len(vocab.token_bytes) else None
        if not data:
            return False
        with self.compiled.lock:
            r = self._alive_after(data)
        if r is None:
            return False
        self._push_history()
        self._rows, self._state = r
        return True

    def accept_tokens(self, token_ids) -> int:
        """Consume tokens until one is rejected; returns how many were accepted."""
        n = 0
        for t in token_ids:
            if not self.accept_token(t):
                break
            n += 1
        return n

    # ---- masks ----
    def fill_next_token_bitmask(self, bitmask: np.ndarray, index: int = 0) -> None:
        """Write the allowed-token bits into row ``index`` of ``bitmask`` (int32, ``(batch, ceil(V/32))``)."""
        cg = self.compiled
        if not isinstance(bitmask, np.ndarray) or bitmask.dtype != np.int32 or bitmask.ndim not in (1, 2):
            raise VocabularyError("bitmask must be a numpy int32 array of shape (batch, ceil(vocab_size/32)) "
                                  "from allocate_token_bitmask")
        row = bitmask if bitmask.ndim == 1 else bitmask[index]
        if row.shape[0] != cg.n_words:
            raise VocabularyError(f"bitmask has {row.shape[0]} words per row, expected {cg.n_words} "
                                  f"for vocab_size {cg.vocab.size}")
        out = row.view(np.uint32)
        out[:] = 0
        if self._terminated:
            return
        self._fill(out)

    def tokens_left(self) -> int | None:
        """Tokens left in the budget (None without one)."""
        return None if self.max_tokens is None else self.max_tokens - self._n_tokens

    def _fill(self, out: np.ndarray) -> None:
        cg = self.compiled
        budget = self.max_tokens is not None
        with cg.lock:
            key = (self._rows[-1].serial, self._state, budget)
            cached = cg.mask_cache.get(key)
            if cached is not None:
                cg.mask_cache.move_to_end(key)
                mask, worst = cached
                out[:] = mask
            else:
                # with a budget, also learn the largest finishing cost among allowed tokens
                worst = self._compute(out, budget)
                cg.mask_cache[key] = (out.copy(), worst)
                if len(cg.mask_cache) > cg.mask_cache_limit:
                    cg.mask_cache.popitem(last=False)
            if budget:
                left = self.max_tokens - self._n_tokens
                if left <= 0:
                    out[:] = 0
                elif worst > left - 1:  # some allowed token could not finish in time: filter exactly
                    out[:] = 0
                    _, kept, best = self._walk(out, limit=left - 1)
                    if kept < 0 and best >= 0:  # nothing finishes in time: keep what gets closest
                        self._walk(out, limit=best)
            accepting = self.is_accepting()
        if accepting:
            for e in cg.eos_ids:
                out[e >> 5] |= np.uint32(1 << (int(e) & 31))

    def _compute(self, out: np.ndarray, budget: bool) -> int:
        """The mask from the per-state context-independent part plus the subtrees past a lexeme end.

        Returns the largest finishing cost (bytes) among allowed tokens when ``budget``, else -1.
        """
        cg = self.compiled
        if self._state == DEAD:
            return -1
        entry = cg.ci_entry(self._state)
        out[:] = entry.mask
        k = _select.kernels
        ctx = _Stepper(cg, list(self._rows))
        limit = _INF if budget else -1
        worst = -1
        if budget:
            for s in entry.ends:
                worst = max(worst, ctx.cost(s))
        height = len(ctx.rows)
        for s, nodes, offs in entry.groups:
            r = ctx.end_lexeme(s)
            if r >= 0:
                worst = max(worst, k.walk_points(cg.trie, cg.lexer, ctx, nodes, r >> 1, out, limit, offs)[1])
            del ctx.rows[height:]
        return worst

    def _walk(self, out: np.ndarray, limit: int = -1) -> tuple[int, int, int]:
        """The full trie walk (no cache): the reference the caches must agree with."""
        cg = self.compiled
        if self._state == DEAD:
            return 0, -1, -1
        return _select.kernels.walk_trie(cg.trie, cg.lexer, _Stepper(cg, list(self._rows)), self._state, out,
                                         limit)

    def allowed_token_ids(self) -> list[int]:
        """The allowed token ids, for tests and debugging (masks are the fast path)."""
        bm = allocate_token_bitmask(1, self.compiled.vocab.size)
        self.fill_next_token_bitmask(bm, 0)
        bits = np.unpackbits(bm[0].view(np.uint8), bitorder="little")[: self.compiled.vocab.size]
        return np.flatnonzero(bits).tolist()

    def forced_bytes(self, limit: int = 256) -> bytes:
        """Bytes every continuation must start with (empty when there is a choice or the document may end)."""
        out = bytearray()
        if self._terminated:
            return b""
        cg = self.compiled
        with cg.lock:
            st = _Stepper(cg, list(self._rows))
            s = self._state
            while len(out) < limit:
                row = st.end_row(s)
                if row is not None and row.accepting:
                    break
                only = -1
                height = len(st.rows)
                for b in range(256):
                    s2 = st.step(s, b)
                    del st.rows[height:]  # probe only: the stack is rebuilt for the byte kept below
                    if s2 != DEAD:
                        if only >= 0:
                            only = -2
                            break
                        only = b
                if only < 0:
                    break
                out.append(only)
                s = st.step(s, only)
        return bytes(out)


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def fill_next_token_bitmasks(matchers, bitmask: np.ndarray, indices=None, *, max_threads: int | None = None) -> None:
    """Fill row ``indices[i]`` of ``bitmask`` with the mask of ``matchers[i]``, for a whole batch.

    ``max_threads`` > 1 runs shares of the batch on a thread pool. The trie walks release the GIL, but the rest
    of a mask (caches, parse steps) is Python and holds it, so on CPython threads rarely pay: on a 2-core
    machine, 8 MaskBench schemas with cl100k took 0.35x (warm) to 0.68x (cold) of one thread's speed with two
    (``python -m jsonschemabench.batchfill``). Matchers of one grammar take turns on its lock.
    Parameters: ``matchers`` (Matcher objects), ``bitmask`` (int32, ``(batch, ceil(V/32))``), ``indices``
    (distinct rows, default ``0 .. len(matchers) - 1``), ``max_threads`` (default 1: this thread).

    Raises: TypeError for something that is not a Matcher; VocabularyError for a bitmask of the wrong dtype,
    rank or width; ValueError for indices that are out of range, repeated or of the wrong count.
    """
    matchers = list(matchers)
    for m in matchers:
        if not isinstance(m, Matcher):
            raise TypeError(f"expected Matcher objects, got {type(m).__name__}")
    if not isinstance(bitmask, np.ndarray) or bitmask.dtype != np.int32 or bitmask.ndim != 2:
        raise VocabularyError("bitmask must be a numpy int32 array of shape (batch, ceil(vocab_size/32)) "
                              "from allocate_token_bitmask")
    rows = list(range(len(matchers))) if indices is None else [int(i) for i in indices]
    if len(rows) != len(matchers):
        raise ValueError(f"{len(rows)} indices for {len(matchers)} matchers")
    if len(set(rows)) != len(rows):
        raise ValueError("indices repeat a row: two matchers would write the same mask")
    for r in rows:
        if not 0 <= r < bitmask.shape[0]:
            raise ValueError(f"index {r} out of range for a bitmask of {bitmask.shape[0]} rows")
    for m in matchers:
        if m.compiled.n_words != bitmask.shape[1]:
            raise VocabularyError(f"bitmask has {bitmask.shape[1]} words per row, a matcher's vocabulary needs "
                                  f"{m.compiled.n_words}")
    threads = 1 if max_threads is None else max_threads
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"max_threads must be a positive int, got {max_threads!r}")
    threads = min(threads, len(matchers))
    if threads <= 1:
        for m, r in zip(matchers, rows):
            m.fill_next_token_bitmask(bitmask, r)
        return
    with _POOLS_LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="tokensieve-mask")
    # one task per thread over an interleaved share of the batch: a task per matcher costs more in the pool's
    # hand-offs than a cached mask does to fill
    pairs = list(zip(matchers, rows))
    futures = [pool.submit(_fill_share, pairs[k::threads], bitmask) for k in range(threads)]
    wait(futures)  # every share finishes before an error (the first) is raised
    for f in futures:
        f.result()


def _fill_share(pairs, bitmask) -> None:
    for m, r in pairs:
        m.fill_next_token_bitmask(bitmask, r)
