"""Grammar-aligned sampling (GCD, ASAp, CARS) against exact enumeration on toy LMs and the real mask engine."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokensieve as ts
from tokensieve.sampling import GrammarAlignedSampler

from .test_sampling_oracle import Exact, Setup, ToyLM, chi_square_pvalue, kl, tv

EOS = None  # token bytes of an EOS slot

SKEWED = Setup("skewed", [b"0", b"1", EOS], [2], 'start: "00000" | /1[01]{4}/', r"00000|1[01]{4}", 5, True,
               lm_seed=2)
MULTITOK = Setup("multitoken", [b"0", b"1", b"00", b"01", b"11", EOS], [5], "start: /0[01]?|1[01]{0,3}/",
                 r"0[01]?|1[01]{0,3}", 4, True, lm_seed=5, lm_scale=1.0)
TWO_EOS = Setup("two-eos", [b"0", b"1", EOS, EOS], [2, 3], "start: /00[01]|1/", r"00[01]|1", 3, True, lm_seed=7)


def _anbn(text: str) -> bool:
    n = len(text) // 2
    return n >= 1 and text == "a" * n + "b" * n


ANBN = Setup("anbn-capped", [b"a", b"b", b"ab", b"bb", EOS], [4], 'start: "a" start "b" | "ab"', "", 5, False,
             lm_seed=11, lm_scale=1.0, member=_anbn)
ENDS1 = Setup("ends-in-1-capped", [b"0", b"1", b"01", EOS], [3], r"regex:[01]*1", r"[01]*1", 4, False, lm_seed=13,
              lm_scale=1.0)

# twelve one-letter tokens: nodes get enough children for the vectorised estimate arrays
WIDE = Setup("wide", [bytes([c]) for c in b"abcdefghijkl"] + [EOS], [12], "start: /[a-l]|[a-f][a-l]/",
             r"[a-l]|[a-f][a-l]", 2, True, lm_seed=17, lm_scale=0.8)

FINITE = [SKEWED, MULTITOK, TWO_EOS]
ALL = FINITE + [ANBN, ENDS1]
EXACTNESS = ALL + [WIDE]


def setup_ids(setups):
    return [s.name for s in setups]


# ----------------------------------------------------------------------------------------------- helpers


def seq_probs(sampler, setup, lm) -> dict:
    """The sampler's exact next-attempt distribution over L_N (no state change)."""
    return {w: sampler.sequence_probability(lm, list(w), setup.max_tokens) for w in setup.language}


def viable_after(setup, u) -> list[int]:
    """The engine's viable tokens after ``u`` under the length cap (EOS only at the cap)."""
    m = ts.Matcher(setup.compiled)
    assert m.accept_tokens(u) == len(u)
    if len(u) >= setup.max_tokens:
        return sorted(setup.eos) if m.is_accepting() else []
    return m.allowed_token_ids()


class TrieChecker:
    """Asserts the trie invariants after every update: estimates are upper bounds on EFG_N, never increase, and
    an expanded node's estimate is the P-weighted sum of its children's (unexplored viable children count 1)."""

    def __init__(self, setup, exact):
        self.setup, self.exact = setup, exact
        self.previous: dict[tuple, float] = {}
        self.viable: dict[tuple, list[int]] = {}
        self.checks = 0

    def __call__(self, sampler) -> None:
        for u, node in sampler._iter_nodes():
            c = math.exp(node.logc)
            efg = self.exact.efg(u)
            assert c >= efg - 1e-12, f"estimate {c} below EFG {efg} at {u}"
            assert c <= self.previous.get(u, 1.0) + 1e-12, f"estimate rose at {u}"
            self.previous[u] = c
            if node.expanded and node.logc > -math.inf:
                if u not in self.viable:
                    self.viable[u] = viable_after(self.setup, u)
                p = np.exp(self.exact.logp(u))
                kids = node.kids or {}
                local = sum(float(p[t]) * (math.exp(kids[t].logc) if t in kids else 1.0) for t in self.viable[u])
                assert c == pytest.approx(local, rel=1e-9, abs=1e-13), f"inconsistent estimate at {u}"
            if node.arr is not None:  # the vectorised mirror of the children agrees with them
                arr = node.arr
                mirror = dict(zip(arr.tok[:arr.n].tolist(), arr.logc[:arr.n].tolist()))
                assert mirror == {t: ch.logc for t, ch in (node.kids or {}).items()}, f"stale arrays at {u}"
            self.checks += 1
        assert sampler.stats.nodes == sum(1 for _ in sampler._iter_nodes())


def spec_asap_probability(sampler, setup, exact, w) -> float:
    """ASAp's next-sample probability of ``w`` from the spec's formula, reading c(ut) off the trie."""
    node = sampler._root
    q = 1.0
    for i in range(len(w) + 1):
        u = w[:i]
        p = np.exp(exact.logp(u))
        kids = (node.kids or {}) if node is not None else {}

        def est(t):
            if t in setup.eos:
                return 1.0
            return math.exp(kids[t].logc) if t in kids else 1.0

        viable = viable_after(setup, u)
        norm = sum(float(p[t]) * est(t) for t in viable)
        if i == len(w):
            return q * sum(float(p[t]) for t in setup.eos if t in viable) / norm
        q *= float(p[w[i]]) * est(w[i]) / norm
        node = kids.get(w[i])
    return q


# ----------------------------------------------------------------------------------------------- oracle sanity


@pytest.mark.parametrize("setup", EXACTNESS, ids=setup_ids(EXACTNESS))
def test_engine_agrees_with_the_enumerated_language(setup):
    # the sampler's target is defined by the engine's masks: make sure they describe the intended language
    for u in setup.all_sequences:
        m = ts.Matcher(setup.compiled)
        n = m.accept_tokens(u)
        if setup.finite:
            assert (n == len(u)) == (u in setup.prefixes), u
        if n == len(u):
            assert m.is_accepting() == setup.in_language(u), u
    assert setup.language


# ----------------------------------------------------------------------------------------------- GCD / first sample


@pytest.mark.parametrize("setup", FINITE, ids=setup_ids(FINITE))
def test_first_asap_sample_is_exactly_gcd(setup):
    lm = setup.lm()
    exact = Exact(setup, lm)
    for method in ("gcd", "asap"):
        q = seq_probs(GrammarAlignedSampler(setup.compiled, method, seed=0), setup, lm)
        assert sum(q.values()) == pytest.approx(1.0, abs=1e-12)
        for w, p in exact.gcd.items():
            assert q[w] == pytest.approx(p, rel=1e-12, abs=1e-15), (method, w)
    # and the distortion is real on these toy LMs, so the tests below can tell GCD from Q
    assert tv(exact.gcd, exact.Q) > 0.02


def test_first_cars_proposal_is_the_model_itself():
    setup = SKEWED
    lm = setup.lm()
    exact = Exact(setup, lm)
    q = seq_probs(GrammarAlignedSampler(setup.compiled, "cars", seed=0), setup, lm)
    for w, p in exact.joint.items():
        assert q[w] == pytest.approx(p, rel=1e-12)


def test_sequence_probability_does_not_change_state():
    setup = SKEWED
    lm = setup.lm()
    s = GrammarAlignedSampler(setup.compiled, "cars", seed=1)
    s.sample_many(lm, 5, setup.max_tokens)
    before = ({u: (n.logc, n.expanded) for u, n in s._iter_nodes()}, s.stats.as_dict())
    seq_probs(s, setup, lm)
    assert s.sequence_probability(lm, [1, 1, 1], setup.max_tokens) == 0.0  # not in L
    assert s.sequence_probability(lm, [2], setup.max_tokens) == 0.0  # EOS is not content
    assert ({u: (n.logc, n.expanded) for u, n in s._iter_nodes()}, s.stats.as_dict()) == before


# ----------------------------------------------------------------------------------------------- ASAp convergence


def forced_sample(sampler, lm, path, max_tokens, *, valid=True):
    """One committed sample whose first attempt is steered along ``path`` (then EOS when ``valid``); later
    attempts, after a dead end, draw at random. Explores rare prefixes on purpose."""
    eos = sorted(sampler.compiled.vocab.eos_token_ids)
    script = list(path) + ([None] if valid else [])
    rng_draw = sampler._draw

    def draw(cands, cw):
        if not script:
            return rng_draw(cands, cw)
        want = script.pop(0)
        for t in eos if want is None else [want]:
            j = t if cands is None else int(np.searchsorted(cands, t))
            if j < cw.shape[0] and (cands is None or cands[j] == t) and cw[j] > (cw[j - 1] if j else 0.0):
                return j
        raise AssertionError(f"cannot steer to {path}")

    sampler._draw = draw
    try:
        out = tuple(sampler.sample(lm, max_tokens))
    finally:
        del sampler._draw
    assert not script
    if valid:
        assert out == tuple(path)


@pytest.mark.parametrize("setup", EXACTNESS, ids=setup_ids(EXACTNESS))
def test_asap_converges_to_q_exactly_once_the_trie_covers_the_language(setup):
    lm = setup.lm()
    exact = Exact(setup, lm)
    s = GrammarAlignedSampler(setup.compiled, "asap", seed=42)
    check = TrieChecker(setup, exact)

    def update_checks():
        check(s)
        assert s.root_estimate >= exact.Z - 1e-12

    def explored(u):
        nodes = dict(s._iter_nodes())
        return any(nodes.get(u[:i]) is not None and nodes[u[:i]].logc == -math.inf for i in range(len(u) + 1)) \
            or all(u[:i] in nodes and nodes[u[:i]].expanded for i in range(len(u) + 1))

    for k in range(1, 31):
        assert tuple(s.sample(lm, setup.max_tokens)) in exact.Q
        update_checks()
        if k in (1, 2, 7, 30):  # the sampling rule is the spec's formula at intermediate trie states
            for v in setup.language[:10]:
                assert s.sequence_probability(lm, list(v), setup.max_tokens) == pytest.approx(
                    spec_asap_probability(s, setup, exact, v), rel=1e-9, abs=1e-15)
    # rare outputs would take 1e5 samples to meet: steer one sample to each output not yet explored, and one
    # attempt into each viable prefix that cannot finish within the cap (it dead-ends and is recorded)
    for w in setup.language:
        if not explored(w):
            forced_sample(s, lm, w, setup.max_tokens)
            update_checks()
    for u in setup.all_sequences:
        m = ts.Matcher(setup.compiled)
        dead_leaf = m.accept_tokens(u) == len(u) and len(u) == setup.max_tokens and not m.is_accepting()
        if dead_leaf and not explored(u):
            forced_sample(s, lm, u, setup.max_tokens, valid=False)
            update_checks()
    q = seq_probs(s, setup, lm)
    assert sum(q.values()) == pytest.approx(1.0, abs=1e-12)  # no attempt can dead-end any more
    assert kl(exact.Q, q) <= 1e-9
    assert s.root_estimate == pytest.approx(exact.Z, rel=1e-10)
    if not setup.finite:
        assert s.stats.dead_ends > 0  # truncated attempts happened and were recorded as invalid
    if setup is WIDE:
        assert any(n.arr is not None for _, n in s._iter_nodes())


# ----------------------------------------------------------------------------------------------- CARS exactness


@pytest.mark.parametrize("setup", EXACTNESS, ids=setup_ids(EXACTNESS))
def test_cars_proposal_is_proportional_to_p_at_every_trie_state(setup):
    # the certificate of exactness: restricted to valid outputs, an attempt draws w with probability
    # P(w EOS) / c(root); rejecting the invalid rest leaves exactly Q
    lm = setup.lm()
    exact = Exact(setup, lm)
    s = GrammarAlignedSampler(setup.compiled, "cars", seed=3)
    check = TrieChecker(setup, exact)
    for _ in range(25):
        s.sample(lm, setup.max_tokens)
        check(s)
        q = seq_probs(s, setup, lm)
        root = s.root_estimate
        assert root >= exact.Z - 1e-12
        for w, p in exact.joint.items():
            assert q[w] == pytest.approx(p / root, rel=1e-9), w
    assert s.stats.rejections + s.stats.dead_ends > 0  # the test exercised the rejection path


@pytest.mark.parametrize("setup", [SKEWED, MULTITOK, ANBN], ids=setup_ids([SKEWED, MULTITOK, ANBN]))
@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_cars_samples_pass_chi_square_against_q(setup, seed):
    # each CARS sample follows Q whatever the trie, so a run's successive samples are i.i.d. Q
    lm = setup.lm()
    exact = Exact(setup, lm)
    s = GrammarAlignedSampler(setup.compiled, "cars", seed=seed)
    counts = Counter(tuple(s.sample(lm, setup.max_tokens)) for _ in range(2000))
    assert chi_square_pvalue(counts, exact.Q) > 1e-3
    attempts_per_sample = s.stats.attempts / s.stats.samples
    assert attempts_per_sample >= 1.0


@pytest.mark.parametrize("k", [1, 3], ids=["first", "third"])
def test_kth_cars_sample_of_fresh_samplers_follows_q(k):
    setup = SKEWED
    lm = setup.lm()
    exact = Exact(setup, lm)
    counts = Counter()
    for run in range(800):
        s = GrammarAlignedSampler(setup.compiled, "cars", seed=1000 + run)
        counts[tuple(s.sample_many(lm, k, setup.max_tokens)[-1])] += 1
    assert chi_square_pvalue(counts, exact.Q) > 1e-3


def test_gcd_fails_the_same_chi_square_but_passes_against_its_own_distribution():
    setup = SKEWED
    lm = setup.lm()
    exact = Exact(setup, lm)
    assert tv(exact.gcd, exact.Q) > 0.1
    s = GrammarAlignedSampler(setup.compiled, "gcd", seed=0)
    counts = Counter(tuple(s.sample(lm, setup.max_tokens)) for _ in range(2000))
    assert chi_square_pvalue(counts, exact.Q) < 1e-6
    assert chi_square_pvalue(counts, exact.gcd) > 1e-3
    assert s.root_estimate is None and s.stats.nodes == 1


# ----------------------------------------------------------------------------------------------- cost


@pytest.mark.parametrize("setup", FINITE, ids=setup_ids(FINITE))
def test_asap_makes_one_model_call_per_token_like_gcd(setup):
    for method in ("gcd", "asap"):
        lm = setup.lm()
        s = GrammarAlignedSampler(setup.compiled, method, seed=5)
        for _ in range(40):
            before = lm.calls
            w = s.sample(lm, setup.max_tokens)
            assert lm.calls - before == len(w) + 1  # one call per token and one for EOS: no look-ahead
        assert s.stats.model_calls == lm.calls
        assert s.stats.attempts == 40 and s.stats.rejections == 0


# ----------------------------------------------------------------------------------------------- properties


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lm_seed=st.integers(0, 10**6), setup=st.sampled_from(ALL), method=st.sampled_from(["asap", "cars"]),
       n=st.integers(1, 12), scale=st.floats(0.3, 4.0))
def test_invariants_hold_for_random_models(lm_seed, setup, method, n, scale):
    lm = ToyLM(len(setup.tokens), lm_seed, scale=scale, eos_ids=setup.eos)
    exact = Exact(setup, lm)
    s = GrammarAlignedSampler(setup.compiled, method, seed=lm_seed)
    check = TrieChecker(setup, exact)
    for _ in range(n):
        assert tuple(s.sample(lm, setup.max_tokens)) in exact.Q
        check(s)
    if method == "cars":
        q = seq_probs(s, setup, lm)
        for w, p in exact.joint.items():
            assert q[w] == pytest.approx(p / s.root_estimate, rel=1e-9)


# ----------------------------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("density", [0.0, 0.001, 0.02, 0.5, 1.0], ids=["empty", "sparse", "some", "half", "full"])
def test_bitmask_rows_expand_to_sorted_ids(density):
    from tokensieve.masking._apply import bitmask_to_bool
    from tokensieve.sampling._sampler import _allowed_ids

    V = 49_157
    allowed = np.random.default_rng(0).random(V) < density
    bm = ts.allocate_token_bitmask(1, V)
    for t in np.flatnonzero(allowed):
        bm[0, t >> 5] |= np.int32(np.uint32(1 << (t & 31)).view(np.int32))
    assert np.array_equal(bitmask_to_bool(bm, V)[0], allowed)
    assert np.array_equal(_allowed_ids(bm[0]), np.flatnonzero(allowed))


def test_truncated_attempts_are_invalid_and_recorded():
    setup = ENDS1
    lm = setup.lm()
    s = GrammarAlignedSampler(setup.compiled, "asap", seed=0)
    outs = s.sample_many(lm, 200, setup.max_tokens)
    assert all(len(w) <= setup.max_tokens and setup.in_language(w) for w in outs)
    assert s.stats.dead_ends > 0
    # a prefix that cannot finish within the cap ends up with estimate 0 once explored
    dead = [u for u, n in s._iter_nodes() if n.logc == -math.inf]
    assert dead and all(Exact(setup, lm).efg(u) == 0.0 for u in dead)


def test_max_tokens_is_part_of_the_trie_key():
    s = GrammarAlignedSampler(SKEWED.compiled, "asap", seed=0)
    s.sample(SKEWED.lm(), 5)
    with pytest.raises(ValueError, match="max_tokens=5"):
        s.sample(SKEWED.lm(), 6)
    s.reset()
    assert s.stats.samples == 0 and s.root_estimate == 1.0
    s.sample(SKEWED.lm(), 6)


@pytest.mark.parametrize("method", ["gcd", "asap", "cars"], ids=["gcd", "asap", "cars"])
def test_no_valid_output_within_max_tokens_is_a_clear_error(method):
    # "00000" needs five tokens; with three no valid output exists, and the sampler must not loop forever
    s = GrammarAlignedSampler(SKEWED.compiled, method, seed=0, max_attempts=200)
    lm = SKEWED.lm()
    err = ts.LimitExceededError if method == "gcd" else ts.TokensieveError
    with pytest.raises(err, match="max_tokens=3"):
        s.sample(lm, 3)
    if method != "gcd":
        assert s.root_estimate == 0.0 and s.stats.attempts < 200


@pytest.mark.parametrize("method", ["gcd", "asap", "cars"], ids=["gcd", "asap", "cars"])
def test_model_with_zero_mass_on_every_valid_output(method):
    setup = SKEWED
    # the model never emits 0 or 1 as the first token: only EOS has probability there
    lm = ToyLM(3, 1, eos_ids=[2], zero=lambda u: [0, 1] if not u else [])
    s = GrammarAlignedSampler(setup.compiled, method, seed=0, max_attempts=50)
    with pytest.raises(ts.TokensieveError, match="probability 0"):
        s.sample(lm, setup.max_tokens)
    assert lm.calls <= 2


@pytest.mark.parametrize("method", ["asap", "cars"], ids=["asap", "cars"])
def test_zero_mass_deep_in_one_branch_is_learned(method):
    setup = SKEWED
    # after "1" the model only wants EOS, which is invalid there: only "00000" has probability
    lm = ToyLM(3, 1, eos_ids=[2], zero=lambda u: [0, 1] if u == (1,) else [])
    s = GrammarAlignedSampler(setup.compiled, method, seed=0)
    outs = s.sample_many(lm, 20, setup.max_tokens)
    assert all(w == [0, 0, 0, 0, 0] for w in outs)
    assert s._root.kids[1].logc == -math.inf


@pytest.mark.parametrize("bad,match", [(np.nan, "NaN"), (np.inf, r"\+inf")], ids=["nan", "posinf"])
@pytest.mark.parametrize("method", ["gcd", "asap", "cars"], ids=["gcd", "asap", "cars"])
def test_non_finite_logits_raise(method, bad, match):
    def lm(prefix):
        lg = np.zeros(3)
        if len(prefix) == 2:
            lg[0] = bad
        return lg

    s = GrammarAlignedSampler(SKEWED.compiled, method, seed=0)
    with pytest.raises(ts.TokensieveError, match=match):
        for _ in range(50):
            s.sample(lm, 5)


def test_all_minus_inf_logits_raise():
    s = GrammarAlignedSampler(SKEWED.compiled, "asap", seed=0)
    with pytest.raises(ts.TokensieveError, match="only -inf"):
        s.sample(lambda u: np.full(3, -np.inf), 5)


def test_wrong_logits_length_is_a_vocabulary_error():
    s = GrammarAlignedSampler(SKEWED.compiled, "asap", seed=0)
    with pytest.raises(ts.VocabularyError, match="expected vocab size 3"):
        s.sample(lambda u: np.zeros(4), 5)


@pytest.mark.parametrize("kwargs,match", [({"method": "beam"}, "method"), ({"temperature": 0}, "temperature"),
                                          ({"max_nodes": 0}, "max_nodes"), ({"max_attempts": 0}, "max_attempts")],
                         ids=["method", "temperature", "max_nodes", "max_attempts"])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GrammarAlignedSampler(SKEWED.compiled, **kwargs)


def test_bad_max_tokens_and_compiled():
    s = GrammarAlignedSampler(SKEWED.compiled)
    with pytest.raises(ValueError, match="max_tokens"):
        s.sample(SKEWED.lm(), -1)
    with pytest.raises(TypeError, match="CompiledGrammar"):
        GrammarAlignedSampler(ts.Grammar.from_regex("a"))


def test_vocabulary_without_eos_is_rejected():
    cg = ts.compile(ts.Grammar.from_regex("[01]+"), ts.Vocabulary.from_tokens([b"0", b"1"]))
    with pytest.raises(ts.VocabularyError, match="EOS"):
        GrammarAlignedSampler(cg)


def test_temperature_is_applied_before_the_trie():
    setup = MULTITOK
    lm = setup.lm()
    hot = GrammarAlignedSampler(setup.compiled, "asap", seed=0, temperature=2.0)
    cold = GrammarAlignedSampler(setup.compiled, "asap", seed=0)
    half = lambda u: lm.logits(u) / 2.0  # noqa: E731
    assert hot.sample_many(lm, 30, 4) == cold.sample_many(half, 30, 4)
    assert hot.root_estimate == pytest.approx(cold.root_estimate, rel=1e-12)
    for w in setup.language:
        assert hot.sequence_probability(lm, list(w), 4) == pytest.approx(
            cold.sequence_probability(half, list(w), 4), rel=1e-9)


def test_same_seed_same_samples():
    runs = [GrammarAlignedSampler(MULTITOK.compiled, "cars", seed=9).sample_many(MULTITOK.lm(), 30, 4)
            for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("method", ["asap", "cars"], ids=["asap", "cars"])
def test_full_trie_freezes_and_cars_stays_exact(method):
    setup = MULTITOK
    lm = setup.lm()
    exact = Exact(setup, lm)
    s = GrammarAlignedSampler(setup.compiled, method, seed=2, max_nodes=4)
    check = TrieChecker(setup, exact)
    for _ in range(40):
        assert tuple(s.sample(lm, setup.max_tokens)) in exact.Q
        check(s)
        assert s.stats.nodes <= 4
    assert s.stats.frozen
    if method == "cars":
        q = seq_probs(s, setup, lm)
        for w, p in exact.joint.items():
            assert q[w] == pytest.approx(p / s.root_estimate, rel=1e-9)


@pytest.mark.parametrize("method", ["asap", "cars"], ids=["asap", "cars"])
def test_tiny_probabilities_stay_in_log_space(method):
    # every viable token has probability ~e^-800 per step: Z ~ e^-4000 underflows float64, estimates must not
    setup = SKEWED

    def lm(prefix):
        lg = np.array([0.0, 0.0, 0.0])
        lg[2] = 800.0  # EOS dominates everywhere; 0 and 1 are ~e^-800
        return lg

    s = GrammarAlignedSampler(setup.compiled, method, seed=0)
    outs = s.sample_many(lm, 300, setup.max_tokens)
    assert all(tuple(w) in set(setup.language) for w in outs)
    assert len(set(map(tuple, outs))) == 17
    # Z = 17 e^-4000 (minus e^-800-sized corrections); the linear value underflows, the log does not
    assert s.stats.log_root_estimate == pytest.approx(math.log(17) - 4000, abs=1e-9)
    assert s.root_estimate == 0.0


def test_stats_and_timings_are_reported():
    setup = SKEWED
    s = GrammarAlignedSampler(setup.compiled, "asap", seed=0)
    s.sample_many(setup.lm(), 10, setup.max_tokens)
    d = s.stats.as_dict()
    assert d["samples"] == 10 and d["model_calls"] == 60
    assert d["mask_s"] > 0 and d["apply_s"] > 0 and d["draw_s"] > 0 and d["bookkeeping_s"] > 0
    assert 0 < d["root_estimate"] <= 1 and d["nodes"] > 1
