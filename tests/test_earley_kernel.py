"""The Cython Earley closure against its pure-Python twin: identical sets (items, their order, acceptance)
along random scans of grammars with ambiguity, left and right recursion and empty rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensieve as ts
from tokensieve.automata import _earley
from tokensieve.automata._earley import EarleyTables
from tokensieve.grammar._reduce import reduce_grammar

pytestmark = pytest.mark.skipif(_earley.kernels is _earley.python_kernels,
                                reason="Cython extension not built: nothing to compare the twin with")

GRAMMARS = {
    "ambiguous": 'start: e\ne: e "+" e | e e | "a" | "(" e ")" | ',
    "left": 'start: l\nl: l "x" | l "y" l | "z"',
    "right": 'start: r\nr: "x" r | "y" | n r n\nn: | "w"',
    "nullable_chain": 'start: a b c "q"\na: | "a"\nb: a a | "b"\nc: b a | ',
    # more terminals than a machine word has bits (the allowed-terminal mask is a Python int)
    "many_terminals": "start: item*\nitem: " + " | ".join(f'"w{i}"' for i in range(150)) + ' | "(" item* ")"',
}
for f in sorted((Path(__file__).parent / "data" / "grammars").glob("*.lark")):
    GRAMMARS[f.stem] = f.read_text()


def _row(tables, kern, seeds, k, rows):
    prep = kern.prepare(tables)
    return kern.close(prep, seeds, k, rows)


@pytest.mark.parametrize("name", sorted(GRAMMARS))
@settings(max_examples=40, deadline=None)
@given(choices=st.lists(st.integers(0, 1 << 30), min_size=1, max_size=25))
def test_kernel_equals_twin_along_random_scans(name, choices):
    g = reduce_grammar(ts.Grammar.from_lark(GRAMMARS[name]))
    tables = EarleyTables(g)
    rows = [tables.initial_row()]
    for c in choices:
        allowed = [t for t in range(len(g.terminals)) if rows[-1].allowed >> t & 1]
        if not allowed:
            break
        # scan one terminal, or (every third choice) several at once, as a lexeme of ambiguous terminals does
        pick = [allowed[c % len(allowed)]] if c % 3 else allowed[: 1 + c % len(allowed)]
        mask = sum(1 << t for t in pick)
        seeds = _earley.python_kernels.scan_seeds(rows[-1].waiting, mask)
        assert _earley.kernels.scan_seeds(rows[-1].waiting, mask) == seeds
        assert sorted(seeds) == sorted(p + (1 << 32) for t in pick
                                       for p in _earley.python_kernels.items(rows[-1].waiting.get(-1 - t, b"")))
        want = _row(tables, _earley.python_kernels, seeds, len(rows), rows)
        got = _row(tables, _earley.kernels, seeds, len(rows), rows)
        assert _row(tables, _earley.kernels, list(seeds), len(rows), rows) == got  # seeds as a plain list
        assert got == want and list(got[0]) == list(want[0])  # same items, same symbol order
        assert want[3] == sum(1 << (-1 - s) for s in want[0] if s < 0)
        rows.append(_earley.Row(want[0], want[3], want[2], want[1]))


@pytest.mark.parametrize("kern", ["cython", "python"])
def test_item_limit_is_the_same_in_both(kern, monkeypatch):
    """A set over the item bound gives None (the caller raises LimitExceededError) in both implementations."""
    k = _earley.kernels if kern == "cython" else _earley.python_kernels
    monkeypatch.setattr(_earley, "kernels", k)
    g = reduce_grammar(ts.Grammar.from_lark(GRAMMARS["json"]))
    with pytest.raises(ts.LimitExceededError, match="Earley items"):
        EarleyTables(g, max_items_per_row=3).initial_row()
    tables = EarleyTables(g, max_items_per_row=10_000)
    assert k.close(k.prepare(tables), [tables.initial_dr << 32], 0, []) is not None


@pytest.mark.parametrize("kern", ["cython", "python"])
def test_rows_are_invisible_to_the_collector(kern, monkeypatch):
    """A row's waiting lists are bytes in a plain dict: neither is tracked, so the rows a grammar keeps do not
    lengthen full collections (which landed inside masks)."""
    import gc

    monkeypatch.setattr(_earley, "kernels", _earley.kernels if kern == "cython" else _earley.python_kernels)
    g = reduce_grammar(ts.Grammar.from_lark(GRAMMARS["json"]))
    row = EarleyTables(g).initial_row()
    assert row.waiting and all(type(v) is bytes for v in row.waiting.values())
    assert not gc.is_tracked(row.waiting)
