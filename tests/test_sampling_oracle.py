"""Exact-enumeration oracles for grammar-aligned sampling (toy LMs, languages enumerated by brute force, Q, EFG,
the GCD distribution, a chi-square test without scipy), and the tests of the oracles themselves."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pytest

import tokensieve as ts


class ToyLM:
    """Random logits that depend on the whole prefix through a seeded hash; counts its calls."""

    def __init__(self, vocab_size: int, seed: int, *, scale: float = 1.2, eos_ids=(), eos_bias: float = 0.6,
                 zero=None):
        self.V = vocab_size
        self.seed = seed
        self.scale = scale
        self.eos_ids = list(eos_ids)
        self.eos_bias = eos_bias
        self.zero = zero  # optional f(prefix) -> token ids given -inf logits
        self.calls = 0

    def logits(self, prefix) -> np.ndarray:
        rng = np.random.default_rng([self.seed, len(prefix), *prefix])
        lg = rng.normal(size=self.V) * self.scale
        for e in self.eos_ids:
            lg[e] += self.eos_bias * len(prefix)
        if self.zero is not None:
            for t in self.zero(tuple(prefix)):
                lg[t] = -np.inf
        return lg

    def __call__(self, prefix) -> np.ndarray:
        self.calls += 1
        return self.logits(prefix)

    def logp(self, prefix) -> np.ndarray:
        lg = self.logits(prefix)
        m = lg.max()
        return lg - (m + np.log(np.exp(lg - m).sum()))


@dataclass
class Setup:
    """A toy vocabulary + grammar + length cap whose valid outputs are enumerated by brute force."""

    name: str
    tokens: list
    eos: list
    grammar: str  # lark text, or "regex:<pattern>"
    pattern: str  # Python regex over the decoded text: the language, checked independently of the engine
    max_tokens: int
    finite: bool  # every viable prefix of the unbounded language completes within max_tokens
    lm_seed: int = 1
    lm_scale: float = 1.2
    zero: object = None
    member: object = None  # optional f(text) -> bool replacing the regex (for non-regular languages)

    def __str__(self) -> str:
        return self.name

    @cached_property
    def vocab(self):
        return ts.Vocabulary.from_tokens(self.tokens, eos_token_ids=self.eos)

    @cached_property
    def compiled(self):
        g = (ts.Grammar.from_regex(self.grammar[6:]) if self.grammar.startswith("regex:")
             else ts.Grammar.from_lark(self.grammar))
        return ts.compile(g, self.vocab)

    def lm(self, seed=None) -> ToyLM:
        return ToyLM(len(self.tokens), self.lm_seed if seed is None else seed, scale=self.lm_scale,
                     eos_ids=self.eos, zero=self.zero)

    @cached_property
    def content(self) -> list[int]:
        return [i for i in range(len(self.tokens)) if i not in self.eos]

    def text(self, seq) -> str:
        return b"".join(self.tokens[t] for t in seq).decode()

    def in_language(self, seq) -> bool:
        if self.member is not None:
            return self.member(self.text(seq))
        return re.fullmatch(self.pattern, self.text(seq)) is not None

    @cached_property
    def all_sequences(self) -> list[tuple[int, ...]]:
        out = []
        for n in range(self.max_tokens + 1):
            out.extend(itertools.product(self.content, repeat=n))
        return out

    @cached_property
    def language(self) -> list[tuple[int, ...]]:
        """L_N: the valid token sequences of at most max_tokens tokens."""
        return [s for s in self.all_sequences if self.in_language(s)]

    @cached_property
    def prefixes(self) -> set[tuple[int, ...]]:
        return {w[:i] for w in self.language for i in range(len(w) + 1)}


class Exact:
    """Q, Z, EFG and the GCD distribution of one (setup, LM), by enumeration."""

    def __init__(self, setup: Setup, lm: ToyLM):
        self.s = setup
        self.lm = lm
        self._lp: dict[tuple, np.ndarray] = {}

    def logp(self, prefix) -> np.ndarray:
        prefix = tuple(prefix)
        r = self._lp.get(prefix)
        if r is None:
            r = self._lp[prefix] = self.lm.logp(prefix)
        return r

    def log_prefix(self, u) -> float:
        return sum(float(self.logp(u[:i])[u[i]]) for i in range(len(u)))

    def log_eos(self, u) -> float:
        lp = self.logp(u)
        return float(np.logaddexp.reduce(lp[self.s.eos]))

    @cached_property
    def joint(self) -> dict[tuple, float]:
        """P(w EOS) for every w in L_N."""
        return {w: math.exp(self.log_prefix(w) + self.log_eos(w)) for w in self.s.language}

    @cached_property
    def Z(self) -> float:
        return sum(self.joint.values())

    @cached_property
    def Q(self) -> dict[tuple, float]:
        return {w: p / self.Z for w, p in self.joint.items()}

    def efg(self, u) -> float:
        """EFG_N(u) = P(valid within max_tokens | prefix u)."""
        u = tuple(u)
        return self._prefix_mass.get(u, 0.0) / math.exp(self.log_prefix(u)) if u in self._prefix_mass else 0.0

    @cached_property
    def _prefix_mass(self) -> dict[tuple, float]:
        mass: dict[tuple, float] = {}
        for w, p in self.joint.items():
            for i in range(len(w) + 1):
                mass[w[:i]] = mass.get(w[:i], 0.0) + p
        return mass

    @cached_property
    def gcd(self) -> dict[tuple, float]:
        """q_GCD(w) = prod_i P(w_i|u) / A(u), masks from the enumerated viable prefixes (finite setups only)."""
        assert self.s.finite
        lang = set(self.s.language)
        out = {}
        for w in self.s.language:
            q = 1.0
            for i in range(len(w) + 1):
                u = w[:i]
                p = np.exp(self.logp(u))
                allowed = [t for t in self.s.content if u + (t,) in self.s.prefixes]
                a = float(p[allowed].sum()) + (float(p[self.s.eos].sum()) if u in lang else 0.0)
                q *= (float(p[w[i]]) if i < len(w) else float(p[self.s.eos].sum())) / a
            out[w] = q
        return out


def kl(p: dict, q: dict) -> float:
    tot = 0.0
    for w, pw in p.items():
        if pw > 0:
            qw = q.get(w, 0.0)
            if qw <= 0:
                return math.inf
            tot += pw * math.log(pw / qw)
    return tot


def tv(p: dict, q: dict) -> float:
    return 0.5 * sum(abs(p.get(w, 0.0) - q.get(w, 0.0)) for w in set(p) | set(q))


def _gammaincc(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) (series below a + 1, Lentz continued fraction above)."""
    if x <= 0:
        return 1.0
    lead = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(lead))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(lead) * h


def chi_square_pvalue(counts: dict, probs: dict, min_expected: float = 5.0) -> float:
    """Pearson chi-square goodness of fit; outcomes with small expected counts are pooled into one bin."""
    n = sum(counts.values())
    assert set(counts) <= {w for w, p in probs.items() if p > 0}, "sampled an outcome of probability 0"
    bins_obs, bins_exp = [], []
    pool_o = pool_e = 0.0
    for w, p in sorted(probs.items(), key=lambda kv: -kv[1]):
        e = n * p
        if e >= min_expected:
            bins_obs.append(counts.get(w, 0))
            bins_exp.append(e)
        else:
            pool_o += counts.get(w, 0)
            pool_e += e
    if pool_e > 0:
        bins_obs.append(pool_o)
        bins_exp.append(pool_e)
    stat = sum((o - e) ** 2 / e for o, e in zip(bins_obs, bins_exp))
    dof = len(bins_obs) - 1
    return _gammaincc(dof / 2, stat / 2) if dof > 0 else 1.0


# ---------------------------------------------------------------------------------------------- oracle tests


@pytest.mark.parametrize("stat,dof,expected", [(3.841458820694124, 1, 0.05), (18.307038053275146, 10, 0.05),
                                               (0.5, 3, 0.918891), (40.0, 5, 1.493e-7), (2.0, 2, math.exp(-1))],
                         ids=["1dof", "10dof", "small-stat", "tail", "2dof-closed-form"])
def test_chi_square_survival_matches_known_values(stat, dof, expected):
    assert _gammaincc(dof / 2, stat / 2) == pytest.approx(expected, rel=1e-3)


def test_chi_square_rejects_a_wrong_distribution_and_accepts_the_right_one():
    rng = np.random.default_rng(0)
    probs = {"a": 0.5, "b": 0.3, "c": 0.2}
    draws = rng.choice(list(probs), size=3000, p=list(probs.values()))
    counts = {w: int((draws == w).sum()) for w in probs}
    assert chi_square_pvalue(counts, probs) > 1e-3
    assert chi_square_pvalue(counts, {"a": 0.4, "b": 0.4, "c": 0.2}) < 1e-6
