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

The trie lives in a kernel (``tokensieve/cext/_gad.pyx``, or its pure-Python twin ``_gad_py.py``; picked by
``_kernel.py``) that the loop calls once per drawn token and once per attempt: the bookkeeping ASAp/CARS add to
GCD is then a small fraction of the engine's mask time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from typing import Callable, Sequence

import numpy as np

from .._errors import LimitExceededError, TokensieveError, VocabularyError
from ..masking import CompiledGrammar, Matcher, allocate_token_bitmask
from . import _kernel
from ._gad_py import BARE, FRESH, NEED_LOG, REJECT, TINY, rest_weight, seq_sum

__all__ = ["GrammarAlignedSampler", "SamplerStats", "METHODS"]

METHODS = ("gcd", "asap", "cars")
_NEG_INF = -math.inf
# Below this total (relative to the largest logit's weight) the fast linear-space weights may have lost mass to
# underflow; the step is then redone in log space (the trie kernel uses the same bound).
_TINY = TINY

NextLogits = Callable[[Sequence[int]], "np.ndarray"]


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
        # the trie lives in a kernel (tokensieve/cext/_gad.pyx or its twin _gad_py.py) bound to the weight buffer
        self._trie = _kernel.kernels.Trie(self._buf, self._eos, self.max_nodes)
        self._root_state = None
        self._max_tokens: int | None = None
        self._stats = SamplerStats(nodes=1)

    @property
    def _root(self):
        return self._trie.root

    @property
    def stats(self) -> SamplerStats:
        """Counters and timings since construction or :meth:`reset` (the trie's figures are read at this call)."""
        st = self._stats
        if self.method == "gcd":
            st.root_estimate = st.log_root_estimate = None
        else:
            trie = self._trie
            st.nodes, st.frozen = trie.nodes, trie.frozen
            st.log_root_estimate = trie.root.logc
            st.root_estimate = math.exp(trie.root.logc)
        return st

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
                self._stats.samples += 1
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

        saved = self._stats
        self._stats = SamplerStats()
        try:
            out = self._attempt(next_logits, max_tokens, scripted, commit=False)
        except _Stop:
            return 0.0
        finally:
            self._stats = saved
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

    def _draw(self, cands, cw: np.ndarray) -> int:
        """Index drawn with weights given by the cumulative sums ``cw`` (``cands`` unused; tests script it)."""
        j = int(np.searchsorted(cw, self._rng.random() * cw[-1], side="right"))
        return min(j, cw.shape[0] - 1)

    def _logits(self, next_logits: NextLogits, prefix: list[int]) -> np.ndarray:
        stats = self._stats
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
        stats = self._stats
        use_trie = self.method != "gcd"
        cars = self.method == "cars"
        trie = self._trie
        m = self._matcher
        m.reset()
        eos = self._eos
        perf = time.perf_counter
        log = math.log
        prefix: list[int] = []
        died = False  # the trie's cursor node has no valid continuation
        leaf = _NEG_INF  # log c of what ended the attempt: 0 after EOS, -inf after an invalid token
        result = None
        # Timings accumulate locally (attribute updates per step are not free). Every call into the trie and
        # everything only ASAp/CARS do runs inside a t_book window, save two attribute reads per attempt
        # (_root_state) and the held_* rebindings, a few nanoseconds.
        t_mask = t_apply = t_draw = t_book = 0.0
        stats.attempts += 1
        st = BARE  # the trie cursor's state; GCD keeps it: nothing to reweight, every prefix masked
        # the last masked draw, recorded by the trie at the next step (j = -1: nothing left to record)
        j, k, wa, cw, tot = -1, -1, None, None, 0.0
        # the trie records a draw one step late: held_idx and held_lg keep the previous step's arrays for it
        idx = lg = held_idx = held_lg = None
        try:
            if use_trie:
                # the last committed attempt left the cursor on the root (None: it must be put there)
                st = self._root_state if commit else None
                self._root_state = None
                if st is None:
                    t0 = perf()
                    st = trie.begin(commit)
                    t_book += perf() - t0
            while True:
                # ---- viable tokens (no model call when there are none)
                t0 = perf()
                if len(prefix) >= max_tokens:
                    held_idx = idx
                    idx = self._eos_idx if m.is_accepting() else self._eos_idx[:0]
                    t1 = perf()
                    t_mask += t1 - t0
                else:
                    m.fill_next_token_bitmask(self._bitmask, 0)
                    t1 = perf()
                    t_mask += t1 - t0
                    held_idx = idx
                    idx = _allowed_ids(self._bitmask[0])
                    t0 = t1
                    t1 = perf()
                    t_apply += t1 - t0
                if idx.shape[0] == 0:
                    died = True
                    break
                # ---- model
                held_lg = lg
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
                if use_trie:
                    # one trie call per step: record the last draw, move the cursor, e[t] *= c(ut) at its children
                    t1 = perf()
                    t_draw += t1 - t0
                    st = trie.advance(j, k, wa, cw, tot, held_lg, mx, log_s)
                    if st == NEED_LOG:
                        st = self._advance_slow(j, k, wa, cw, tot, held_idx, held_lg, mx, log_s)
                    j = -1
                    t0 = perf()
                    t_book += t0 - t1
                if cars and st == FRESH:
                    # CARS at a first-visited prefix proposes from the unmasked distribution
                    k = int(choose(None, np.cumsum(e)))
                    t1 = perf()
                    t_draw += t1 - t0
                    st = trie.step_first(k, idx, lg, mx, log_s)
                    if st == NEED_LOG:
                        st = self._record_first_slow(k, idx, lg, mx, log_s)
                    t_book += perf() - t1
                    if st == REJECT:
                        stats.rejections += 1
                        break
                else:
                    wa = e[idx]
                    cw = np.cumsum(wa)
                    tot = float(cw[-1])
                    shift = None
                    if tot < _TINY:
                        wa, shift, tot = self._log_weights(lg, mx, idx, trie.cur.kids if use_trie else None)
                        if tot == 0.0:  # the model gives no mass to any viable token (or all are proven invalid)
                            t_draw += perf() - t0
                            died = True
                            break
                        cw = np.cumsum(wa)
                    j = int(choose(idx, cw))
                    k = int(idx[j])
                    t1 = perf()
                    t_draw += t1 - t0
                    if use_trie and shift is not None:  # log-space weights: recorded at once, by Python
                        st = self._record_slow(j, k, idx, wa, cw, tot, shift, lg, mx, log_s)
                        j = -1
                        t_book += perf() - t1
                # ---- advance
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
                st = trie.commit(j, k, wa, cw, tot, lg, leaf, died)
                if st == NEED_LOG:  # (after a death at the mask, idx is already the next step's)
                    self._record_slow(j, k, held_idx if died else idx, wa, cw, tot, 0.0, lg, trie.prev_mx,
                                      trie.prev_log_s)
                    st = trie.commit(-1, -1, None, None, 0.0, None, leaf, died)
                self._root_state = st  # stats read the trie's figures when asked
                t_book += perf() - t0
        finally:
            stats.mask_s += t_mask
            stats.apply_s += t_apply
            stats.draw_s += t_draw
            stats.bookkeeping_s += t_book
        return result

    def _advance_slow(self, j: int, k: int, wa: np.ndarray, cw: np.ndarray, tot: float, pidx: np.ndarray,
                      plg: np.ndarray, mx: float, log_s: float) -> int:
        """:meth:`Trie.advance` when the recorded draw's rest underflowed: record it in log space first (``pidx``
        and ``plg``: that draw's viable tokens and logits)."""
        trie = self._trie
        self._record_slow(j, k, pidx, wa, cw, tot, 0.0, plg, trie.prev_mx, trie.prev_log_s)
        return trie.advance(-1, -1, None, None, 0.0, None, mx, log_s)

    def _record_slow(self, j: int, k: int, idx: np.ndarray, wa: np.ndarray, cw: np.ndarray, tot: float,
                     shift: float, lg: np.ndarray, mx: float, log_s: float) -> int:
        """Record the masked draw of ``k = idx[j]`` from the cursor, in Python: for log-space weights (true weight
        ``wa * exp(shift)``) or when the rest of the weight underflowed."""
        kids = self._trie.cur.kids
        log_rest = self._log_rest(rest_weight(wa, cw, j, True, tot), shift, log_s, lg, mx, idx, j, True, kids)
        return self._trie.push(k, True, log_rest, float(lg[k]) - mx - log_s)

    def _record_first_slow(self, k: int, idx: np.ndarray, lg: np.ndarray, mx: float, log_s: float) -> int:
        """:meth:`Trie.step_first` when the viable tokens' weights underflowed."""
        wa, shift = self._buf[idx], 0.0
        tot = seq_sum(wa)
        if tot < _TINY:
            wa, shift, tot = self._log_weights(lg, mx, idx, None)
        j = int(np.searchsorted(idx, k))
        valid = j < idx.shape[0] and int(idx[j]) == k
        log_rest = self._log_rest(rest_weight(wa, None, j, valid, tot), shift, log_s, lg, mx, idx, j, valid, None)
        return self._trie.push(k, valid, log_rest, float(lg[k]) - mx - log_s)

    def _log_rest(self, rest: float, shift: float, log_s: float, lg: np.ndarray, mx: float, idx: np.ndarray,
                  j: int, valid: bool, kids) -> float:
        """log P-weight of the viable tokens other than ``idx[j]`` (all when not ``valid``) given its linear value
        ``rest * exp(shift)``, redone in log space when that underflowed."""
        if rest >= _TINY:
            return math.log(rest) + shift - log_s
        if idx.shape[0] == (1 if valid else 0):
            return _NEG_INF
        # the other tokens' weights may have underflowed (tiny estimates or logits far below the max) yet decide
        # c(u) once the chosen child's estimate drops: sum them in log space
        lw = self._log_viable(lg, mx, idx, kids)
        if valid:
            lw[j] = _NEG_INF
        top = float(lw.max())
        return (top + math.log(float(np.exp(lw - top).sum())) - log_s) if top > _NEG_INF else _NEG_INF

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

