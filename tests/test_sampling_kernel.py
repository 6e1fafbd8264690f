"""The sampler's trie kernel (tokensieve/cext/_gad.pyx) against its pure-Python twin (tokensieve/sampling/_gad_py.py):
same state codes, same estimates bit for bit, after random operation sequences and whole sampling runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokensieve as ts
from tokensieve.sampling import GrammarAlignedSampler, _kernel
from tokensieve.sampling import _gad_py as py

from .test_sampling import ENDS1, MULTITOK, SKEWED, WIDE
from .test_sampling_oracle import ToyLM

cy = _kernel.kernels if _kernel.kernels is not _kernel.python_kernels else None
needs_cy = pytest.mark.skipif(cy is None, reason="Cython extension _gad not built (or TOKENSIEVE_PUREPYTHON set)")
IMPLS = [pytest.param(py, id="python"), pytest.param(cy, id="cython", marks=needs_cy)]


def snapshot(trie) -> dict:
    """Every stored node's (logc, c, expanded, arrays mirror) by prefix, plus the counters."""
    out = {"nodes": trie.nodes, "frozen": trie.frozen}
    stack = [((), trie.root)]
    while stack:
        pre, n = stack.pop()
        arr = None
        if n.arr is not None:
            a = n.arr
            arr = (a.tok[:a.n].tolist(), a.logc[:a.n].tolist(), a.c[:a.n].tolist(), dict(a.slot))
        out[pre] = (n.logc, n.c, n.expanded, arr)
        for t, ch in (n.kids or {}).items():
            stack.append((pre + (t,), ch))
    return out


NONE = (-1, -1, None, None, 0.0, None)  # no draw left to record


class Pair:
    """The same trie in both implementations, each with its own weight buffer."""

    def __init__(self, V: int, eos, max_nodes: int):
        self.bufs = [np.zeros(V), np.zeros(V)]
        self.tries = [py.Trie(self.bufs[0], eos, max_nodes), cy.Trie(self.bufs[1], eos, max_nodes)]

    def both(self, name: str, *args):
        r = [getattr(t, name)(*args) for t in self.tries]
        assert r[0] == r[1], (name, args, r)
        return r[0]

    def set_weights(self, e: np.ndarray) -> None:
        for b in self.bufs:
            b[:] = e

    def push_slow(self, last) -> None:
        """Record ``last`` as the sampler does after NEED_LOG (any log weight will do for the comparison)."""
        k, lg = last[1], last[5]
        t = self.tries[0]
        self.both("push", k, True, -700.5, float(lg[k]) - t.prev_mx - t.prev_log_s)

    def check(self) -> None:
        assert np.array_equal(self.bufs[0], self.bufs[1])
        assert snapshot(self.tries[0]) == snapshot(self.tries[1])


@needs_cy
def test_constants_agree():
    for name in ("END", "REJECT", "NEED_LOG", "FRESH", "KIDS", "BARE", "ARRAY_KIDS", "TINY"):
        assert getattr(cy, name) == getattr(py, name), name
    assert len({py.END, py.REJECT, py.NEED_LOG, py.FRESH, py.KIDS, py.BARE}) == 6
    # the direct reads of numpy arrays work on this numpy; False would mean a silent slowdown
    assert cy.DIRECT_READS


LOGITS = st.one_of(st.floats(-40.0, 40.0), st.sampled_from([0.0, -700.0, -745.0, -800.0, -1e4, -math.inf, 35.0]))


@needs_cy
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_operation_sequences_agree(data):
    V = data.draw(st.integers(2, 14), label="V")
    eos = [V - 1]
    pair = Pair(V, eos, data.draw(st.integers(1, 40), label="max_nodes"))
    for _ in range(data.draw(st.integers(1, 8), label="attempts")):
        state = pair.both("begin", data.draw(st.sampled_from([True, True, True, False]), label="commit"))
        last = NONE  # the masked draw the next call records, and its logits
        for _ in range(data.draw(st.integers(1, 5), label="depth")):
            lg = np.array(data.draw(st.lists(LOGITS, min_size=V, max_size=V), label="logits"))
            lg[data.draw(st.integers(0, V - 1), label="finite")] = data.draw(st.floats(-5.0, 5.0))
            mx = float(lg.max())
            e = np.exp(lg - mx)
            log_s = math.log(float(e.sum()))
            pair.set_weights(e)
            idx = np.array(sorted(data.draw(st.sets(st.integers(0, V - 2), min_size=1), label="viable")),
                           dtype=np.int64)
            state = pair.both("advance", *last, mx, log_s)
            if state == py.NEED_LOG:  # the recorded draw's rest underflowed: the caller records it
                pair.push_slow(last)
                state = pair.both("advance", *NONE, mx, log_s)
            pair.check()  # e reweighted alike
            last = NONE
            e = pair.bufs[0]
            if state == py.FRESH and data.draw(st.booleans(), label="unmasked"):
                k = data.draw(st.integers(0, V - 1), label="k")
                state = pair.both("step_first", k, idx, lg, mx, log_s)
                if state == py.NEED_LOG:
                    state = pair.both("push", k, bool(k in idx), -700.5, float(lg[k]) - mx - log_s)
                if state in (py.END, py.REJECT):
                    break
            else:
                wa = e[idx]
                cw = np.cumsum(wa)
                # the ends of the range and the heaviest token (the cancellation paths) are the interesting draws
                j = data.draw(st.sampled_from([0, len(idx) - 1, int(np.argmax(wa)), len(idx) // 2]), label="j")
                last = (j, int(idx[j]), wa, cw, float(cw[-1]), lg)
        died = data.draw(st.booleans(), label="died") if state not in (py.END, py.REJECT) else False
        if data.draw(st.booleans(), label="ends-on-eos") and state not in (py.END, py.REJECT) and not died:
            lg = np.zeros(V)
            pair.set_weights(np.ones(V))
            idx = np.array([V - 1], dtype=np.int64)
            state = pair.both("advance", *last, 0.0, math.log(V))
            if state == py.NEED_LOG:
                pair.push_slow(last)
                pair.both("advance", *NONE, 0.0, math.log(V))
            wa = pair.bufs[0][idx]
            last = (0, V - 1, wa, np.cumsum(wa), float(wa[0]), lg)
        leaf = 0.0 if last[1] == V - 1 else -math.inf
        r = pair.both("commit", *last, leaf, died)
        if r == py.NEED_LOG:
            pair.push_slow(last)
            pair.both("commit", *NONE, leaf, died)
        pair.check()


@needs_cy
@pytest.mark.parametrize("j", [0, 1, 2], ids=["first", "middle", "last"])
@pytest.mark.parametrize("case", ["dominant", "cancelled-tail", "underflow", "single", "balanced"],
                         ids=["dominant", "cancelled-tail", "underflow", "single", "balanced"])
def test_record_edge_cases_agree(case, j):
    V = 6
    idx = np.array([0, 2, 4], dtype=np.int64)
    e = np.full(V, 0.25)
    if case == "dominant":
        e[idx[j]] = 1.0
    elif case == "cancelled-tail":  # the others carry < 1e-6 of the total: tot - cw[j] would cancel
        e[:] = 1e-9
        e[idx[j]] = 1.0
    elif case == "underflow":  # the other weights are below TINY
        e[:] = 1e-300
        e[idx[j]] = 1.0
    elif case == "single":
        idx = idx[j:j + 1]
        j = 0
    lg = np.log(e)
    mx = float(lg.max())
    log_s = math.log(float(np.exp(lg - mx).sum()))
    pair = Pair(V, [5], 100)
    pair.set_weights(np.exp(lg - mx))
    pair.both("begin", True)
    assert pair.both("advance", *NONE, mx, log_s) == py.FRESH
    wa = pair.bufs[0][idx]
    cw = np.cumsum(wa)
    draw = (j, int(idx[j]), wa, cw, float(cw[-1]), lg)
    pair.set_weights(np.zeros(V))  # the next step overwrites e: the record must not read it
    state = pair.both("advance", *draw, 0.0, 0.0)
    if case == "underflow":
        assert state == py.NEED_LOG
        pair.both("push", int(idx[j]), True, -900.0, float(lg[idx[j]]) - mx - log_s)
    else:
        assert state == py.FRESH
    pair.both("commit", *NONE, -math.inf, True)
    pair.check()
    root = pair.tries[0].root
    if case == "single":
        assert root.logc == -math.inf  # the only viable token led nowhere
    elif case != "underflow":
        # c(root) = the other viable tokens' weight (the chosen child died), summed without cancellation
        assert root.logc == pytest.approx(math.log(math.fsum(np.delete(wa, j))) - log_s, rel=1e-13)


@needs_cy
@pytest.mark.parametrize("kind", ["dominant", "rejected", "underflow", "all-zero"],
                         ids=["dominant", "rejected", "underflow", "all-zero"])
def test_step_first_edge_cases_agree(kind):
    V = 8
    idx = np.array([1, 3, 6], dtype=np.int64)
    e = np.full(V, 0.5)
    k = 3
    if kind == "dominant":
        e[3] = 1.0
        e[[1, 6]] = 1e-12
    elif kind == "rejected":
        k = 5
    elif kind == "underflow":
        e[idx] = 1e-260
    elif kind == "all-zero":
        e[idx] = 0.0
    pair = Pair(V, [7], 100)
    pair.set_weights(e)
    lg = np.log(np.maximum(e, 1e-320))
    state = pair.both("begin", True)
    assert state == py.FRESH
    state = pair.both("step_first", k, idx, lg, 0.0, 0.5)
    expected = {"dominant": py.FRESH, "rejected": py.REJECT, "underflow": py.NEED_LOG, "all-zero": py.NEED_LOG}
    assert state == expected[kind]
    pair.both("commit", *NONE, -math.inf, False)
    pair.check()


@needs_cy
def test_generic_reads_match_direct_reads():
    # strided, foreign-typed and non-int64 inputs take the kernel's generic path and must give the same result
    V = 64
    rng = np.random.default_rng(0)
    lg_big = rng.normal(size=2 * V)
    lg_contig = np.ascontiguousarray(lg_big[::2])
    mx = float(lg_contig.max())
    e = np.exp(lg_contig - mx)
    idx = np.array([3, 10, 11, 40], dtype=np.int64)
    wa = e[idx]
    cw = np.cumsum(wa)
    j = int(np.argmax(wa))
    results = []
    for lg, arr_kind, idx_kind in [(lg_contig, "array", "int64"), (lg_big[::2], "list", "int32"),
                                   (lg_big[::2], "strided", "strided")]:
        t = cy.Trie(e.copy(), [V - 1], 100)
        t.begin(True)
        wa_arg, cw_arg = {"array": (wa, cw), "list": (wa.tolist(), cw.tolist()),
                          "strided": (np.repeat(wa, 2)[::2], np.repeat(cw, 2)[::2])}[arr_kind]
        ix = {"int64": idx, "int32": idx.astype(np.int32), "strided": np.repeat(idx, 2)[::2]}[idx_kind]
        s0 = t.advance(*NONE, mx, 0.7)
        s1 = t.step_first(5, ix, lg, mx, 0.7)  # token 5 is not viable: rejected
        t.begin(True)
        t.advance(*NONE, mx, 0.7)
        s2 = t.commit(j, int(idx[j]), wa_arg, cw_arg, float(cw[-1]), lg, -math.inf, False)
        results.append((s0, s1, s2, snapshot(t)))
    assert results[0] == results[1] == results[2]
    assert (int(idx[j]),) in results[0][3] and results[0][3][()][2]  # the record reached the trie
    t = cy.Trie(e.copy(), [V - 1], 100)
    t.begin(True)
    t.advance(*NONE, mx, 0.7)
    with pytest.raises(IndexError):
        t.advance(0, V, wa, cw, 1.0, lg_contig, mx, 0.7)
    with pytest.raises(IndexError):
        t.advance(len(idx), 3, wa, cw, 1.0, lg_contig, mx, 0.7)


@pytest.mark.parametrize("impl", IMPLS)
def test_calls_without_an_attempt_raise(impl):
    t = impl.Trie(np.ones(4), [3], 10)
    t.begin(True)
    t.advance(*NONE, 0.0, 1.0)
    assert t.commit(0, 3, np.ones(1), np.ones(1), 1.0, np.zeros(4), 0.0, False) == py.BARE  # ended on EOS
    t.push(3, True, 0.0, 0.0)  # EOS again: the cursor is gone now
    with pytest.raises(RuntimeError):
        t.advance(*NONE, 0.0, 1.0)
    with pytest.raises(RuntimeError):
        t.commit(*NONE, -math.inf, True)


@needs_cy
def test_many_children_grow_the_arrays_alike():
    # > 16 children: the arrays mirror is created (at 8) and grown, in both implementations
    V = 40
    pair = Pair(V, [V - 1], 10_000)
    lg = np.linspace(-3.0, 0.0, V)
    mx = float(lg.max())
    log_s = math.log(float(np.exp(lg - mx).sum()))
    idx = np.arange(V - 1, dtype=np.int64)
    for t in range(24):
        pair.set_weights(np.exp(lg - mx))
        pair.both("begin", True)
        pair.both("advance", *NONE, mx, log_s)
        pair.check()
        wa = pair.bufs[0][idx]
        cw = np.cumsum(wa)
        pair.both("commit", t, t, wa, cw, float(cw[-1]), lg, -math.inf, True)
        pair.check()
    assert pair.tries[1].root.arr is not None and pair.tries[1].root.arr.n == 24


def run_sampler(impl, monkeypatch, setup, method, n, lm=None, **kw):
    monkeypatch.setattr(_kernel, "kernels", impl)
    s = GrammarAlignedSampler(setup.compiled, method, seed=5, **kw)
    outs = s.sample_many(lm or setup.lm(), n, setup.max_tokens)
    return outs, {k: v for k, v in s.stats.as_dict().items() if not k.endswith("_s")}, snapshot(s._trie)


def _underflowing_lm(prefix):
    lg = np.zeros(3)
    lg[2] = 800.0  # only EOS has non-negligible mass: every step goes through log space
    return lg


CASES = [(SKEWED, "asap", {}), (SKEWED, "cars", {}), (MULTITOK, "cars", {"max_nodes": 4}), (WIDE, "asap", {}),
         (ENDS1, "asap", {}), (ENDS1, "cars", {}), (SKEWED, "cars", {"lm": _underflowing_lm})]


@needs_cy
@pytest.mark.parametrize("setup,method,kw", CASES,
                         ids=[f"{s.name}-{m}{'-' + '-'.join(kw) if kw else ''}" for s, m, kw in CASES])
def test_sampling_runs_agree(setup, method, kw, monkeypatch):
    kw = dict(kw)
    lm = kw.pop("lm", None)
    a = run_sampler(py, monkeypatch, setup, method, 60, lm, **kw)
    b = run_sampler(cy, monkeypatch, setup, method, 60, lm, **kw)
    assert a == b


@pytest.mark.parametrize("impl", IMPLS)
def test_sampling_follows_the_zero_mass_rule(impl, monkeypatch):
    # after "1" only EOS (invalid there) has mass: each implementation must learn c("1") = 0
    lm = ToyLM(3, 1, eos_ids=[2], zero=lambda u: [0, 1] if u == (1,) else [])
    outs, stats, snap = run_sampler(impl, monkeypatch, SKEWED, "asap", 20, lm)
    assert all(w == [0, 0, 0, 0, 0] for w in outs)
    assert snap[(1,)][0] == -math.inf and snap[(1,)][1] == 0.0


@pytest.mark.parametrize("impl", IMPLS)
def test_deep_tries_are_pruned_and_freed_without_recursion(impl):
    depth = 200_000  # far beyond the C stack if freeing recursed child by child
    t = impl.Trie(np.ones(4), [3], 10 * depth)
    t.begin(True)
    for i in range(depth):
        t.push(i % 2, True, -1.0, -1.0)
    t.commit(*NONE, 0.0, False)
    assert t.nodes == depth + 1
    # the root's only child dies: its whole subtree is freed, and so is the root's estimate
    t.begin(True)
    t.push(0, True, -math.inf, -1.0)
    assert t.commit(*NONE, 0.0, True) == py.BARE
    assert t.nodes == 1 and t.root.logc == -math.inf and t.root.kids is None
    t.begin(True)
    for i in range(depth):
        t.push(i % 2, True, -1.0, -1.0)
    t.commit(*NONE, 0.0, False)
    del t  # frees a deep chain


@pytest.mark.parametrize("impl", IMPLS)
def test_a_node_never_expanded_is_fresh_even_with_children(impl):
    t = impl.Trie(np.ones(4), [3], 10)
    assert t.begin(True) == py.FRESH
    assert t.step_first(1, np.array([0, 1]), np.zeros(4), 0.0, 0.0) == py.FRESH  # stores child 1 at the root
    assert t.root.kids and not t.root.expanded
    assert t.begin(True) == py.FRESH  # the attempt was abandoned: the root still has no estimate of its own


@pytest.mark.parametrize("impl", IMPLS)
def test_cars_stays_exact_after_an_attempt_aborted_by_the_model(impl, monkeypatch):
    # an attempt that raises midway can leave stored children under a prefix it never expanded: CARS must still
    # propose from the unmasked model there (a masked draw at such a prefix would bias the proposals)
    from .test_sampling import seq_probs
    from .test_sampling_oracle import Exact

    monkeypatch.setattr(_kernel, "kernels", impl)
    setup = SKEWED
    lm = setup.lm()
    exact = Exact(setup, lm)
    for seed in range(40):  # find a run whose first attempt stores a child of the root, then fails
        fired = []

        def flaky(prefix):
            lg = lm(prefix)
            if len(prefix) == 1 and not fired:
                fired.append(prefix)
                lg[0] = np.nan
            return lg

        s = GrammarAlignedSampler(setup.compiled, "cars", seed=seed)
        with pytest.raises(ts.TokensieveError, match="NaN"):
            for _ in range(50):
                s.sample(flaky, setup.max_tokens)
        if s._root.kids and not s._root.expanded:
            break
    else:
        pytest.fail("no seed left a stored child under the unexpanded root")
    q = seq_probs(s, setup, lm)
    for w, p in exact.joint.items():  # the proposal is the model restricted to valid outputs, over c(root)
        assert q[w] == pytest.approx(p / s.root_estimate, rel=1e-9), w
    s.sample_many(lm, 20, setup.max_tokens)
    q = seq_probs(s, setup, lm)
    for w, p in exact.joint.items():
        assert q[w] == pytest.approx(p / s.root_estimate, rel=1e-9), w
