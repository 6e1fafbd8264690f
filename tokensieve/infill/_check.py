"""The completability decision: unbounded check, then token budgets by counterexample-guided refinement.

Budgets: a hole first runs unbounded (an over-approximation). If the witness's filler of every budgeted
hole fits its budget, the answer is exact. Otherwise each failing hole is refined once: to its exact layered
expansion (one trie of the vocabulary per token slot) when that fits ``max_region_nodes``; else to an
over-approximation (at most ``max_tokens * longest token`` bytes, when that chain fits ``max_chain``), and,
when that still yields no fitting witness, an under-approximation (single-byte tokens only). A "no" from
over-approximations and a fitting witness are exact answers; anything else is *undecided* and answered by the
``undecided`` policy ("reject" by default), reported as ``exact=False``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .._errors import LimitExceededError
from ._chart import Chart, CheckTimeout
from ._graph import Region, TokenTrie, build_graph, region_size
from ._witness import witness_fills

__all__ = ["Limits", "Verdict", "decide", "ALL_BYTES"]

ALL_BYTES = TokenTrie.single_bytes(range(256))


@dataclass(frozen=True)
class Limits:
    """Work bounds of one check.

    ``max_nodes``: automaton nodes (canvas bytes plus expanded budgets), ``max_items``: Earley items,
    ``max_region_nodes``: nodes one exact budget expansion may add, ``max_chain``: the longest byte chain
    used for a budget approximation.
    """

    max_nodes: int = 1 << 20
    max_items: int = 2_000_000
    max_region_nodes: int = 4096
    max_chain: int = 64


@dataclass
class Verdict:
    """The answer of a check.

    ``completable``: the answer (False on timeout). ``exact``: False when a timeout or an undecided budget
    forced it. ``reason``: "member" / "completable" / "empty" / "timeout" / "undecided".
    ``text``: a witness completion (when asked for and completable); ``fills``: the bytes of each hole.
    """

    completable: bool
    exact: bool = True
    reason: str = ""
    text: str | None = None
    fills: list[bytes] | None = None
    data: bytes | None = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return self.completable


def _region(spec, mode: str, limits: Limits) -> Region | None:
    """The region for a hole in ``mode``; None if that mode is unaffordable."""
    if mode == "hub" or not spec.bounded:
        return Region("hub")
    v = spec.vocab
    if mode == "exact":
        if spec.hi is None:
            return None
        trie = ALL_BYTES if v is None else v.trie
        r = Region("layers", spec.lo, spec.hi, trie)
        if (v is not None and spec.hi * v.n_internal + 1 > limits.max_region_nodes) or \
                region_size(r) > limits.max_region_nodes:
            return None
        return r
    if mode == "over":
        lmax = 1 if v is None else v.lmax
        lmin = 1 if v is None else v.lmin
        if spec.hi is None or spec.hi * lmax > limits.max_chain:
            return Region("hub")  # any text: still a superset
        return Region("layers", spec.lo * lmin, spec.hi * lmax, ALL_BYTES)
    if mode == "under":
        if spec.hi is None or spec.hi > limits.max_chain:
            return None
        single = list(range(256)) if v is None else v.single
        if not single:
            return None
        return Region("layers", spec.lo, spec.hi, TokenTrie.single_bytes(single))
    raise ValueError(mode)  # pragma: no cover


def _text(segs, holes, fills) -> bytes:
    hole_ids = {id(h): i for i, h in enumerate(holes)}
    return b"".join(s if isinstance(s, bytes) else fills[hole_ids[id(s)]] for s in segs)


def _run(comp, segs, holes, modes, limits, deadline, *, bps, base=None):
    hole_ids = {id(h): i for i, h in enumerate(holes)}
    seq = []
    for s in segs:
        if isinstance(s, bytes):
            seq.append(s)
        else:
            i = hole_ids[id(s)]
            seq.append((i, _region(s, modes[i], limits)))
    g = build_graph(seq, max_nodes=limits.max_nodes)
    start = 0
    if base is not None and (base.bps or not bps):
        bg = base.graph
        n = min(bg.n, g.n)
        while start < n and g.same_node(bg, start):
            start += 1
    chart = Chart(comp, g, bps=bps, deadline=deadline, max_items=limits.max_items,
                  base=base if start else None, start=start)
    chart.run()
    return chart


def decide(comp, segs, holes, *, witness: bool = False, timeout: float | None = None,
           undecided: str = "reject", limits: Limits = Limits(), base: Chart | None = None,
           keep: list | None = None) -> Verdict:
    """Decide whether ``segs`` (from :func:`parse_parts`) can be completed to a word of the grammar.

    ``base``: a chart of a similar canvas whose prefix is reused. ``keep``: if given, the first (unbounded)
    chart is appended to it, for reuse by the next call.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    budgeted = [i for i, h in enumerate(holes) if h.bounded]
    need_bps = witness or bool(budgeted)
    modes = ["hub"] * len(holes)
    tried_under = False
    with comp.lock:
        try:
            chart = _run(comp, segs, holes, modes, limits, deadline, bps=need_bps, base=base)
            if keep is not None:
                keep.append(chart)
            while True:
                if not chart.accepted:
                    # every region is exact or an over-approximation, so "empty" is exact
                    if all(m != "under" for m in modes):
                        return Verdict(False, True, "empty")
                    return Verdict(undecided == "accept", False, "undecided")
                if not need_bps:
                    return Verdict(True, True, "completable" if holes else "member")
                fills = witness_fills(chart, len(holes))
                failing = [i for i in budgeted if not holes[i].fits(fills[i])]
                if not failing:
                    v = Verdict(True, True, "completable" if holes else "member")
                    if witness:
                        data = _text(segs, holes, fills)
                        v.data = data
                        v.text = data.decode("utf-8", "surrogateescape")
                        v.fills = fills
                    return v
                changed = False
                for i in failing:
                    if modes[i] == "hub":
                        if _region(holes[i], "exact", limits) is not None:
                            modes[i] = "exact"
                            changed = True
                        elif _region(holes[i], "over", limits).kind != "hub":
                            modes[i] = "over"
                            changed = True
                        else:
                            modes[i] = "over-hub"  # no affordable refinement: stays unbounded
                if not changed:
                    if tried_under:
                        return Verdict(undecided == "accept", False, "undecided")
                    tried_under = True
                    for i in failing:
                        if modes[i] in ("over", "over-hub") and _region(holes[i], "under", limits) is not None:
                            modes[i] = "under"
                            changed = True
                    if not changed:
                        return Verdict(undecided == "accept", False, "undecided")
                run_modes = ["hub" if m == "over-hub" else m for m in modes]
                try:
                    chart = _run(comp, segs, holes, run_modes, limits, deadline, bps=True)
                except LimitExceededError:  # refining is optional precision: past the limits it stays open
                    return Verdict(undecided == "accept", False, "undecided")
        except CheckTimeout:
            return Verdict(False, False, "timeout")
