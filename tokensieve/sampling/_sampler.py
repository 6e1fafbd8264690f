"""Grammar-aligned sampling over the mask engine: GCD, ASAp (Park et al. 2024) and exact CARS (Parys et al. 2025).

All three draw from the same loop: at prefix ``u`` the engine gives the viable tokens, the model gives ``P(.|u)``,
and a token is drawn with weight ``P(t|u) * c(ut)``. They differ only in ``c``:

* GCD: ``c(ut) = 1`` for every viable token (no memory across samples).
* ASAp: ``c`` is read from a persistent trie of sampled prefixes; ``c(u)`` over-approximates the expected future
  grammaticality ``EFG(u) = P(valid | prefix u)`` and is tightened by every sample (``1`` until ``u`` is visited,
  then ``sum_t P(t|u) c(ut)`` over viable ``t``). The first sample is a GCD sample; as the trie fills the samples
  converge to ``Q(w) = P(w) 1[w valid] / Z``.
* CARS: the same trie, but a prefix visited for the first time proposes from the unmasked ``P(.|u)`` and an
  invalid token rejects the attempt. Proposals are then exactly ``P`` restricted to the prefixes not yet proven
  invalid, so every returned sample follows ``Q`` exactly; rejections teach the trie and become rarer.

Trie values are stored as ``log c`` (``Z`` and ``c`` can be far below 1e-308 for long outputs). A node keeps only
its sampled children; when something below a node changes, its value is rebuilt from the model's distribution
at that visit as a sum of non-negative terms, so no cancellation accumulates.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from typing import Callable, Sequence

import numpy as np

from .._errors import LimitExceededError, TokensieveError, VocabularyError
from ..masking import CompiledGrammar, Matcher, allocate_token_bitmask

__all__ = ["GrammarAlignedSampler", "SamplerStats", "METHODS"]

METHODS = ("gcd", "asap", "cars")
_NEG_INF = -math.inf
# Below this total (relative to the largest logit's weight) the fast linear-space weights may have lost mass to
# underflow; the step is then redone in log space.
_TINY = 1e-250

NextLogits = Callable[[Sequence[int]], "np.ndarray"]


class _Node:
    """A visited or sampled prefix. ``logc`` = log of the estimate c(u); ``kids`` maps token -> _Node
    (only sampled children; EOS and invalid tokens are never stored); ``arr`` mirrors the children's tokens and
    estimates in arrays once there are many of them."""

    __slots__ = ("logc", "expanded", "kids", "arr")

    def __init__(self) -> None:
        self.logc = 0.0
        self.expanded = False
        self.kids: dict[int, _Node] | None = None
        self.arr: _KidArrays | None = None


_ARRAY_KIDS = 8  # from this many children on, their estimates are applied with one vectorised step


class _KidArrays:
    """The children of a node with many of them as (token, log c) arrays, kept in step by the updates."""

    __slots__ = ("tok", "logc", "n", "slot")

    def __init__(self, kids: dict) -> None:
        n = len(kids)
        cap = max(16, 2 * n)
        self.tok = np.zeros(cap, dtype=np.int64)
        self.logc = np.zeros(cap, dtype=np.float64)
        self.n = n
        self.slot = {}
        for i, (t, ch) in enumerate(kids.items()):
            self.tok[i], self.logc[i] = t, ch.logc
            self.slot[t] = i

    def add(self, t: int) -> None:
        if self.n == self.tok.shape[0]:
            self.tok = np.concatenate([self.tok, np.zeros_like(self.tok)])
            self.logc = np.concatenate([self.logc, np.zeros_like(self.logc)])
        self.tok[self.n] = t
        self.logc[self.n] = 0.0
        self.slot[t] = self.n
        self.n += 1


@dataclass
class SamplerStats:
    """Counters and timings of a :class:`GrammarAlignedSampler` since construction (or :meth:`reset`).

    ``root_estimate`` is ``c(root)``: an upper bound on ``Z`` (the model's probability of producing a valid output
    within ``max_tokens``) that only decreases, and equals ``Z`` once the trie covers the language; ``log_`` is its
    natural log (``Z`` may underflow). Both are ``None`` for GCD. ``attempts`` counts drawn sequences, of which
    ``rejections`` were invalid proposals (CARS) and ``dead_ends`` prefixes with no valid continuation within
    ``max_tokens`` or with zero model mass on every viable token (attempt abandoned and recorded as invalid).
    ``model_calls`` counts ``next_logits`` calls (one per token drawn). Timings in seconds: ``mask_s``
    (the engine: mask fills and token acceptance), ``apply_s`` (bitmask to token ids), ``model_s``
    (``next_logits``), ``draw_s`` (softmax and draw: what GCD also does), ``bookkeeping_s`` (trie reads and
    updates and the extra sums ASAp/CARS need).
    """

    samples: int = 0
    attempts: int = 0
    rejections: int = 0
    dead_ends: int = 0
    model_calls: int = 0
    nodes: int = 0
    frozen: bool = False
    root_estimate: float | None = None
    log_root_estimate: float | None = None
    mask_s: float = 0.0
    apply_s: float = 0.0
    model_s: float = 0.0
    draw_s: float = 0.0
    bookkeeping_s: float = 0.0

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class _Dead(Exception):
    """Internal: the attempt hit a node with no valid continuation."""


class GrammarAlignedSampler:
    """Draws grammatical outputs from a model, conditioned on the grammar (ASAp, CARS) or merely masked (GCD).

    Parameters:
        compiled: a grammar bound to the model's vocabulary (:func:`tokensieve.compile`).
        method: ``"asap"`` (every attempt valid; distribution converges to the model conditioned on the grammar),
            ``"cars"`` (exact conditional at every sample; pays with rejected attempts, fewer as the trie fills) or
            ``"gcd"`` (plain constrained decoding, biased; no state).
        seed: seed of the private random generator.
        temperature: logits are divided by it before anything else; the trie stores these tempered probabilities.
        max_nodes: trie size bound (a node is about 300 bytes: the default caps the trie near 75 MB). Policy:
            once reached the trie stops growing; stored estimates are still used and tightened, prefixes below
            the frontier are sampled as if unexplored (ASAp: the GCD rule; CARS: plain rejection sampling, still
            exact), and subtrees proven invalid are freed at once. ``stats.frozen`` tells when it happened.
        max_attempts: attempts per :meth:`sample` call before giving up (dead ends and CARS rejections).

    The trie is only meaningful for one (model, prompt, grammar, temperature, ``max_tokens``): use a new sampler,
    or :meth:`reset`, when any of them changes. ``next_logits(prefix_ids)`` must return the model's logits
    (length ``compiled.vocab.size``) after the prompt followed by ``prefix_ids``.
    """

    def __init__(self, compiled: CompiledGrammar, method: str = "asap", *, seed: int | None = None,
                 temperature: float = 1.0, max_nodes: int = 250_000, max_attempts: int = 10_000):
        if not isinstance(compiled, CompiledGrammar):
            raise TypeError(f"expected a CompiledGrammar (tokensieve.compile(...)), got {type(compiled).__name__}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
        if not isinstance(max_nodes, int) or max_nodes < 1:
            raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be a positive int, got {max_attempts!r}")
        self.compiled = compiled
        self.method = method
        self.temperature = float(temperature)
        self.max_nodes = max_nodes
        self.max_attempts = max_attempts
        self._rng = np.random.default_rng(seed)
        vocab = compiled.vocab
        self._V = vocab.size
        self._eos = frozenset(int(e) for e in vocab.eos_token_ids)
        if not self._eos:
            raise VocabularyError("the vocabulary has no EOS token: sampled outputs could never end "
                                  "(pass eos_token_ids to the Vocabulary)")
        self._eos_idx = np.asarray(sorted(self._eos), dtype=np.int64)
        self._matcher = Matcher(compiled)
        self._bitmask = allocate_token_bitmask(1, self._V)
        self._buf = np.empty(self._V, dtype=np.float64)  # per-step weights, reused to spare an allocation
        self.reset()

    # ------------------------------------------------------------------ public
    def reset(self) -> None:
        """Forget the trie and the statistics (keeps the random generator's state)."""
        self._root = _Node()
        self._max_tokens: int | None = None
        self.stats = SamplerStats(nodes=1)
        self._update_root_stats()

    @property
    def root_estimate(self) -> float | None:
        """``c(root)``, an anytime upper bound on ``Z`` (None for GCD)."""
        return self.stats.root_estimate

    def sample(self, next_logits: NextLogits, max_tokens: int = 256) -> list[int]:
        """Draw one valid output: its token ids, EOS excluded.

        ``max_tokens`` bounds the output length (EOS not counted; the EOS step after ``max_tokens`` tokens still
        consults the model). An attempt that reaches it without a complete document is invalid: the trie records
        it as such and a new attempt starts. The target is the model conditioned on "valid and at most
        ``max_tokens`` tokens".

        Raises:
            TokensieveError: the model returned NaN or +inf logits, or puts zero probability on every valid output
                within ``max_tokens`` (shown by the trie: ``c(root) == 0``).
            VocabularyError: the logits do not have ``compiled.vocab.size`` entries.
            LimitExceededError: ``max_attempts`` attempts produced no valid output.
            ValueError: ``max_tokens`` differs from the one this sampler's trie was built with.
        """
        self._check_max_tokens(max_tokens)
        for _ in range(self.max_attempts):
            if self.method != "gcd" and self._root.logc == _NEG_INF:
                raise TokensieveError(self._no_output_message(max_tokens))
            result = self._attempt(next_logits, max_tokens, self._draw, commit=True)
            if result is not None:
                self.stats.samples += 1
                return result
        if self.method != "gcd" and self._root.logc == _NEG_INF:
            raise TokensieveError(self._no_output_message(max_tokens))
        raise LimitExceededError(
            "max_attempts", f"{self.max_attempts} attempts of {self.method} sampling found no valid output within "
            f"max_tokens={max_tokens} (dead ends: {self.stats.dead_ends}, rejections: {self.stats.rejections}; "
            f"estimated probability of a valid output: {self._estimate_text()})")

    def sample_many(self, next_logits: NextLogits, n: int, max_tokens: int = 256) -> list[list[int]]:
        """``n`` successive :meth:`sample` calls (the trie learns from each)."""
        return [self.sample(next_logits, max_tokens) for _ in range(n)]

    def sequence_probability(self, next_logits: NextLogits, token_ids: Sequence[int], max_tokens: int = 256) -> float:
        """The exact probability that the next attempt draws ``token_ids`` followed by EOS; no state changes.

        For GCD and ASAp without dead ends this is the probability that :meth:`sample` returns ``token_ids``;
        for CARS it is the probability of the proposal (accepted samples follow the conditional exactly).
        Calls ``next_logits`` once per prefix (not counted in the statistics). Returns 0.0 for sequences the
        sampler cannot draw, including any whose last step would need an EOS the grammar forbids.
        """
        self._check_max_tokens(max_tokens, record=False)
        script = [int(t) for t in token_ids]
        eos_ids = self._eos_idx
        pos = [0]
        logq = [0.0]

        def scripted(cands, cw):
            # cands None: the draw is over every token id (CARS at a first-visited prefix)
            at = pos[0]
            pos[0] += 1
            want = np.asarray([script[at]]) if at < len(script) else eos_ids  # any EOS ends the output
            js = want if cands is None else np.searchsorted(cands, want)
            n = cw.shape[0]
            ok = js < n
            js = js[ok]
            if cands is not None:
                js = js[cands[js] == want[ok]]
            w = cw[js] - np.where(js > 0, cw[np.maximum(js - 1, 0)], 0.0)
            if js.shape[0] == 0 or not float(w.sum()) > 0:
                raise _Stop
            logq[0] += math.log(float(w.sum())) - math.log(float(cw[-1]))
            return int(js[int(np.argmax(w > 0))])

        saved = self.stats
        self.stats = SamplerStats()
        try:
            out = self._attempt(next_logits, max_tokens, scripted, commit=False)
        except _Stop:
            return 0.0
        finally:
            self.stats = saved
        if out is None or out != script:
            return 0.0
        return math.exp(logq[0])

    # ------------------------------------------------------------------ internals
    def _check_max_tokens(self, max_tokens: int, record: bool = True) -> None:
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
            raise ValueError(f"max_tokens must be a non-negative int, got {max_tokens!r}")
        if self._max_tokens is None:
            if record:
                self._max_tokens = max_tokens
        elif max_tokens != self._max_tokens:
            raise ValueError(f"this sampler's trie was built with max_tokens={self._max_tokens}; its estimates do "
                             f"not hold for max_tokens={max_tokens} (call reset() or use a new sampler)")

    def _no_output_message(self, max_tokens: int) -> str:
        return (f"no valid output: the model gives probability 0 to every output the grammar accepts within "
                f"max_tokens={max_tokens} tokens (or none exists)")

    def _estimate_text(self) -> str:
        if self.method == "gcd":
            return "unknown (gcd keeps no trie)"
        return f"<= exp({self._root.logc:.6g})"

    def _update_root_stats(self) -> None:
        if self.method == "gcd":
            self.stats.root_estimate = self.stats.log_root_estimate = None
        else:
            self.stats.log_root_estimate = self._root.logc
            self.stats.root_estimate = math.exp(self._root.logc)

    def _draw(self, cands, cw: np.ndarray) -> int:
        """Index drawn with weights given by the cumulative sums ``cw`` (``cands`` unused; tests script it)."""
        j = int(np.searchsorted(cw, self._rng.random() * cw[-1], side="right"))
        return min(j, cw.shape[0] - 1)

    def _logits(self, next_logits: NextLogits, prefix: list[int]) -> np.ndarray:
        stats = self.stats
        t0 = time.perf_counter()
        raw = next_logits(tuple(prefix))
        stats.model_s += time.perf_counter() - t0
        stats.model_calls += 1
        if type(raw).__module__.startswith("torch"):
            raw = raw.detach().to("cpu").double().numpy()
        lg = np.asarray(raw, dtype=np.float64).reshape(-1)
        if lg.shape[0] != self._V:
            raise VocabularyError(f"next_logits returned {lg.shape[0]} logits, expected vocab size {self._V} "
                                  f"(at prefix of {len(prefix)} tokens)")
        if self.temperature != 1.0:
            lg = lg / self.temperature
        return lg

    def _attempt(self, next_logits: NextLogits, max_tokens: int, choose, commit: bool):
        """One drawn sequence: the token ids if valid, None if rejected or dead (the trie learns if ``commit``)."""
        stats = self.stats
        use_trie = self.method != "gcd"
        cars = self.method == "cars"
        m = self._matcher
        m.reset()
        eos = self._eos
        perf = time.perf_counter
        log, exp = math.log, math.exp
        prefix: list[int] = []
        # per step: (node, was it expanded, log c(uk) as the draw saw it, log weight of the other viable tokens,
        # log P(k|u), child or None, k)
        path: list[tuple] = []
        node = self._root if use_trie else None
        dead = None  # the node found to have no valid continuation
        died = False
        leaf = _NEG_INF  # log c of what ended the attempt: 0 after EOS, -inf after an invalid token
        result = None
        # timings accumulate locally (attribute updates per step are not free)
        t_mask = t_apply = t_draw = t_book = 0.0
        stats.attempts += 1
        try:
            while True:
                # ---- viable tokens (no model call when there are none)
                t0 = perf()
                if len(prefix) >= max_tokens:
                    idx = self._eos_idx if m.is_accepting() else self._eos_idx[:0]
                    t1 = perf()
                    t_mask += t1 - t0
                else:
                    m.fill_next_token_bitmask(self._bitmask, 0)
                    t1 = perf()
                    t_mask += t1 - t0
                    idx = _allowed_ids(self._bitmask[0])
                    t0 = t1
                    t1 = perf()
                    t_apply += t1 - t0
                if idx.shape[0] == 0:
                    dead, died = node, True
                    break
                # ---- model
                lg = self._logits(next_logits, prefix)
                t0 = perf()
                mx = float(lg.max())
                if not mx < math.inf:  # NaN or +inf somewhere (max propagates NaN)
                    raise TokensieveError(
                        f"next_logits returned {'NaN' if math.isnan(mx) else '+inf'} logits after {len(prefix)} "
                        f"generated tokens (prefix {prefix[:16]}{'...' if len(prefix) > 16 else ''})")
                if mx == _NEG_INF:
                    raise TokensieveError(f"next_logits returned only -inf logits (no token has probability) "
                                          f"after {len(prefix)} generated tokens")
                e = np.subtract(lg, mx, out=self._buf)
                np.exp(e, out=e)
                log_s = log(float(e.sum()))  # log normaliser, relative to exp(mx)
                if cars and not node.expanded:
                    # CARS at a first-visited prefix proposes from the unmasked distribution
                    k = int(choose(None, np.cumsum(e)))
                    t1 = perf()
                    t_draw += t1 - t0
                    wa, shift, cw = e[idx], 0.0, None
                    tot = float(wa.sum())
                    if tot < _TINY:
                        wa, shift, tot = self._log_weights(lg, mx, idx, None)
                    j = int(np.searchsorted(idx, k))
                    valid = j < idx.shape[0] and int(idx[j]) == k
                else:
                    kids = node.kids if node is not None else None
                    if kids:
                        t1 = perf()
                        t_draw += t1 - t0
                        arr = node.arr
                        if arr is None and len(kids) >= _ARRAY_KIDS:
                            arr = node.arr = _KidArrays(kids)
                        if arr is not None:
                            n_k = arr.n
                            e[arr.tok[:n_k]] *= np.exp(arr.logc[:n_k])
                        else:
                            for t, ch in kids.items():
                                if ch.logc != 0.0:
                                    e[t] *= exp(ch.logc)
                        t0 = perf()
                        t_book += t0 - t1
                    wa, shift = e[idx], 0.0
                    cw = np.cumsum(wa)
                    tot = float(cw[-1])
                    if tot < _TINY:
                        wa, shift, tot = self._log_weights(lg, mx, idx, kids)
                        if tot == 0.0:  # the model gives no mass to any viable token (or all are proven invalid)
                            t_draw += perf() - t0
                            dead, died = node, True
                            break
                        cw = np.cumsum(wa)
                    j = int(choose(idx, cw))
                    k = int(idx[j])
                    valid = True
                    t1 = perf()
                    t_draw += t1 - t0
                # ---- bookkeeping: what the update at the end of the attempt needs
                if use_trie:
                    n_idx = idx.shape[0]
                    if valid:
                        wj = float(wa[j])
                        if wj <= 0.5 * tot:
                            rest = tot - wj
                        else:  # subtracting a dominant weight cancels: add up the others instead
                            if cw is None:
                                head = float(wa[:j].sum()) if j else 0.0
                                tail = float(wa[j + 1:].sum()) if j + 1 < n_idx else 0.0
                            else:
                                head = float(cw[j - 1]) if j else 0.0
                                tail = tot - float(cw[j]) if j + 1 < n_idx else 0.0
                                if tail < 1e-6 * tot and j + 1 < n_idx:  # too much cancelled: sum directly
                                    tail = float(wa[j + 1:].sum())
                            rest = head + tail
                    else:
                        rest = tot
                    if rest >= _TINY:
                        log_rest = log(rest) + shift - log_s
                    elif n_idx == (1 if valid else 0):
                        log_rest = _NEG_INF
                    else:
                        # the other tokens' weights may have underflowed (tiny estimates or logits far below the
                        # max) yet decide c(u) once the chosen child's estimate drops: sum them in log space
                        lw = self._log_viable(lg, mx, idx, node.kids)
                        if valid:
                            lw[j] = _NEG_INF
                        top = float(lw.max())
                        log_rest = (top + log(float(np.exp(lw - top).sum())) - log_s) if top > _NEG_INF \
                            else _NEG_INF
                    ref = nxt = None  # ref: what the update reads as c(uk); None = the attempt ended at k
                    seen = 0.0  # the value of c(uk) this draw used
                    if valid and k not in eos:
                        kids = node.kids
                        ref = nxt = kids.get(k) if kids is not None else None
                        if nxt is not None:
                            seen = nxt.logc
                        else:
                            nxt = _Node()
                            if commit and stats.nodes < self.max_nodes:
                                if kids is None:
                                    node.kids = kids = {}
                                kids[k] = ref = nxt
                                if node.arr is not None:
                                    node.arr.add(k)
                                stats.nodes += 1
                            else:
                                stats.frozen = stats.frozen or commit
                                ref = _UNEXPLORED
                    path.append((node, node.expanded, seen, log_rest, float(lg[k]) - mx - log_s, ref, k))
                    node = nxt
                    t_book += perf() - t1
                # ---- advance
                if not valid:
                    stats.rejections += 1
                    break
                if k in eos:
                    leaf = 0.0
                    result = prefix
                    break
                t0 = perf()
                if not m.accept_token(k):
                    raise TokensieveError(f"the matcher rejected token {k} that its mask allowed (an engine defect)")
                t_mask += perf() - t0
                prefix.append(k)
            if died:
                stats.dead_ends += 1
                if not prefix and not use_trie:
                    raise TokensieveError(self._no_output_message(max_tokens))
            if use_trie and commit:
                t0 = perf()
                self._commit(path, leaf, dead)
                self._update_root_stats()
                t_book += perf() - t0
        finally:
            stats.mask_s += t_mask
            stats.apply_s += t_apply
            stats.draw_s += t_draw
            stats.bookkeeping_s += t_book
        return result

    def _log_viable(self, lg: np.ndarray, mx: float, idx: np.ndarray, kids) -> np.ndarray:
        """log(P(t|u) c(ut)) + log S for the viable tokens ``idx`` (relative to exp(mx))."""
        lw = lg[idx] - mx
        if kids:
            toks = np.fromiter(kids.keys(), dtype=np.int64, count=len(kids))
            logc = np.fromiter((ch.logc for ch in kids.values()), dtype=np.float64, count=len(kids))
            pos = np.searchsorted(idx, toks)
            ok = pos < idx.shape[0]
            ok[ok] = idx[pos[ok]] == toks[ok]
            lw[pos[ok]] += logc[ok]
        return lw

    def _log_weights(self, lg: np.ndarray, mx: float, idx: np.ndarray, kids) -> tuple[np.ndarray, float, float]:
        """The viable tokens' weights when the linear ones underflow: (weights, shift, total) with true weight
        = weights * exp(shift), relative to exp(mx)."""
        lw = self._log_viable(lg, mx, idx, kids)
        m = float(lw.max())
        if m == _NEG_INF:
            return np.zeros_like(lw), 0.0, 0.0
        w = np.exp(lw - m)
        return w, m, float(w.sum())

    def _commit(self, path: list[tuple], leaf: float, dead: "_Node | None") -> None:
        """Deferred update along the attempt's path, bottom up: c(u) = (other viable tokens' weight) + P(k|u) c(uk).

        Deferring is exact: a draw at u reads only u's children, which change only through visits below u. The
        walk stops at the first already-expanded node whose chosen child kept the value the draw saw: that node
        already holds sum_t P(t|u) c(ut) over its current children, and so does every ancestor."""
        if dead is not None:
            dead.logc = _NEG_INF
            dead.expanded = True
            if dead.kids:
                self.stats.nodes -= _count(dead.kids)
                dead.kids = dead.arr = None
        below = leaf
        for node, was_expanded, seen, log_rest, logp, child, k in reversed(path):
            if child is not None:
                below = child.logc
                if node.arr is not None and below != seen:
                    slot = node.arr.slot.get(k)
                    if slot is not None:
                        node.arr.logc[slot] = below
            if was_expanded and below == seen:
                break
            a, b = log_rest, logp + below
            if a == _NEG_INF:
                new = b
            elif b == _NEG_INF:
                new = a
            else:
                hi, lo = (a, b) if a >= b else (b, a)
                new = hi + math.log1p(math.exp(lo - hi))
            # never rises: guards the invariant against rounding and slightly nondeterministic logits
            if new < node.logc:
                node.logc = new
            node.expanded = True
            if node.logc == _NEG_INF and node.kids:
                self.stats.nodes -= _count(node.kids)
                node.kids = node.arr = None
            below = node.logc

    # ------------------------------------------------------------------ introspection (tests, diagnostics)
    def _iter_nodes(self):
        """(prefix tuple, node) for every stored node, root first (explicit stack, no recursion)."""
        stack = [((), self._root)]
        while stack:
            pre, n = stack.pop()
            yield pre, n
            if n.kids:
                for t, ch in n.kids.items():
                    stack.append((pre + (t,), ch))


class _Unexplored:
    """Stands for a child the full trie could not store: its parent keeps counting it as unexplored (c = 1),
    which keeps the parent consistent with what later draws will see (CARS stays exact)."""

    __slots__ = ()
    logc = 0.0


_UNEXPLORED = _Unexplored()


class _Stop(Exception):
    pass


_BIT_OFFSETS = np.arange(32, dtype=np.int64)


def _allowed_ids(row: np.ndarray) -> np.ndarray:
    """Sorted token ids whose bit is set in one bitmask row; touches only the non-zero words when few are."""
    words = row.view(np.uint32)
    nz = np.flatnonzero(words)
    if 4 * nz.shape[0] < words.shape[0]:
        bits = np.unpackbits(words[nz].view(np.uint8), bitorder="little").reshape(-1, 32).view(bool)
        return (nz[:, None] * 32 + _BIT_OFFSETS)[bits]
    return np.flatnonzero(np.unpackbits(row.view(np.uint8), bitorder="little"))


def _count(kids: dict) -> int:
    n = 0
    stack = list(kids.values())
    while stack:
        x = stack.pop()
        n += 1
        if x.kids:
            stack.extend(x.kids.values())
    return n
