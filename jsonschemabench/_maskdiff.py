"""``maskdiff``: tokensieve's masks against llguidance's, bit for bit, along MaskBench's valid instances.

Both engines get the same tokenizer and a layout configured as equally as their options allow
(:data:`LAYOUTS`); llguidance runs with ``no_forcing`` by default, so its mask is the grammar's alone (with
forcing on it allows only the canonical token where the grammar forces bytes). Per schema, in one forked child:
compile both, walk each valid instance's canonical tokens, compare the two masks at every step and EOS at the
end; sort every differing token into a deviation class and ask an independent oracle who is right
(:mod:`jsonschemabench._maskdiff_classify`).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._data import SchemaItem, load_maskbench, maskbench_files
from ._engines import Engine, LlguidanceEngine, TokensieveEngine, classify_error
from ._maskdiff_classify import DOCUMENTED, JsonLexer, LexState, Oracle, TokenFacts, classify, instance_strings, \
    mask_ids, property_names, refine

__all__ = ["LAYOUTS", "DiffPair", "Layout", "diff_record", "engine_options", "run_maskdiff"]

#: The fork host's engine name for the pair.
PAIR = f"{__name__}:DiffPair"


@dataclass(frozen=True)
class Layout:
    """One whitespace/separator policy spelled for both engines, and the ``json.dumps`` arguments that write
    instances in it."""

    tokensieve: dict
    llguidance: dict
    dumps: dict


def _layouts() -> dict[str, Layout]:
    from tokensieve.schema import DEFAULT_MAX_WHITESPACE as n

    return {
        # both: optional runs of 1..n of the four JSON whitespace characters around every structural character
        # (llguidance's whitespace pattern is matched once per slot); instances as json.dumps writes them
        "flexible": Layout({"whitespace": "flexible", "max_whitespace": n},
                           {"whitespace_pattern": r"[\x20\x0A\x0D\x09]{1,%d}" % n}, {}),
        # both: exactly json.dumps's default separators, no other whitespace
        "dumps": Layout({"separators": [", ", ": "]},
                        {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}, {}),
        "compact": Layout({"whitespace": "compact"}, {"whitespace_flexible": False},
                          {"separators": (",", ":")}),
    }


LAYOUTS = _layouts()


def engine_options(ts_layout: Layout, llg_layout: Layout, forcing: bool, schema_options: dict | None
                   ) -> tuple[dict, dict]:
    """The options of the tokensieve and llguidance engines (see :mod:`jsonschemabench._engines`)."""
    return ({"schema_options": {**ts_layout.tokensieve, **(schema_options or {})}},
            {"json_options": llg_layout.llguidance, "no_forcing": not forcing})


class DiffPair(Engine):
    """tokensieve and llguidance on one tokenizer, configured for a differential.

    Options: ``layout`` (a :data:`LAYOUTS` name, default ``flexible``) for both engines and the instance text;
    ``tokensieve_layout`` / ``llguidance_layout`` override one engine's (to provoke differences on purpose);
    ``forcing`` (default False) keeps llguidance's forced-token masks; ``schema_options`` are extra tokensieve
    ``Grammar.from_json_schema`` options.
    """

    name = "maskdiff"
    modules = ("tokensieve", "llguidance")

    def __init__(self, bundle, options=None):
        super().__init__(bundle, options)
        for key in ("layout", "tokensieve_layout", "llguidance_layout"):
            if key in self.options and self.options[key] not in LAYOUTS:
                raise ValueError(f"{key} must be one of {', '.join(LAYOUTS)}, got {self.options[key]!r}")
        self.layout = LAYOUTS[self.options.get("layout", "flexible")]
        ts_layout = LAYOUTS[self.options.get("tokensieve_layout", self.options.get("layout", "flexible"))]
        llg_layout = LAYOUTS[self.options.get("llguidance_layout", self.options.get("layout", "flexible"))]
        self.forcing = bool(self.options.get("forcing", False))
        ts_opts, llg_opts = engine_options(ts_layout, llg_layout, self.forcing, self.options.get("schema_options"))
        self.ts = TokensieveEngine(bundle, ts_opts)
        self.llg = LlguidanceEngine(bundle, llg_opts)

    @classmethod
    def version(cls) -> str:
        return f"tokensieve {TokensieveEngine.version()}; llguidance {LlguidanceEngine.version()}"

    def warmup(self) -> None:
        self.ts.warmup()
        self.llg.warmup()


class _Probe:
    """A bare matcher as the oracle's walker needs it: ``fill(bitmask)`` and ``accept(token)``."""

    def __init__(self, m):
        self.m = m


class _LlgProbe(_Probe):
    def fill(self, bm):
        row = bm[0]
        self.m.unsafe_compute_mask_ptr(row.ctypes.data, row.size * 4)

    def accept(self, tid):
        return bool(self.m.consume_token(int(tid)))


class _TsProbe(_Probe):
    def fill(self, bm):
        self.m.fill_next_token_bitmask(bm, 0)

    def accept(self, tid):
        return self.m.accept_token(int(tid))


def _show(data: bytes, tail: int | None = None) -> str:
    if tail is not None and len(data) > tail:
        data = data[-tail:]
    return data.decode("utf-8", "backslashreplace")


class _Walk:
    """Everything one schema's differential accumulates (see :func:`diff_record` for the record)."""

    def __init__(self, pair: DiffPair, bundle, schema, tm, lm, *, sample_cap: int, max_examples: int,
                 oracle_per_group: int, max_oracle: int, oracle_budget_s: float, oracle_total_s: float):
        self.pair, self.bundle, self.tm, self.lm = pair, bundle, tm, lm
        self.tb = bundle.vocab.token_bytes
        self.size = bundle.size
        self.eos = list(bundle.eos_ids)
        self.oracle = Oracle(schema, [t or b"" for t in self.tb], self.eos)
        self.sample_cap, self.max_examples = sample_cap, max_examples
        self.oracle_per_group, self.max_oracle, self.oracle_budget_s = oracle_per_group, max_oracle, oracle_budget_s
        self.oracle_deadline = time.perf_counter() + oracle_total_s
        self.names = property_names(self.oracle.schema)
        self.masks_compared = self.masks_equal = 0
        self.mask_keys: Counter = Counter()  # undocumented side:class sets of differing masks -> how many
        self.relabels: dict[str, list] = {}  # side:other -> the class each judgement's witness proved (or None)
        # tokens whose bytes start with something other than whitespace: what a whitespace run may lead to
        nonws = np.array([bool(t) and t[0] not in b" \t\n\r" for t in self.tb] + [False] * (-self.size % 32))
        self.nonws = np.packbits(nonws, bitorder="little").view(np.int32)[None, :]
        self.mask_classes: Counter = Counter()
        self.token_classes: Counter = Counter()
        self.judged: Counter = Counter()
        self.verdicts: dict[str, Counter] = {}
        self.examples: list[dict] = []
        self.judgements: list[dict] = []
        self.unexplained: list[dict] = []

    # ---- per instance
    def start(self, text: bytes, value: Any) -> None:
        self.text = text
        self.strings = instance_strings(text)
        self.formats = self.oracle.formats_of(value)

    def format_at(self, facts: TokenFacts, pos: int) -> str | None:
        start = facts.in_string_at
        span = self.strings.get(start)
        # the instance's own string at that offset: the one being written, or the one the token opens there
        if span is None or span[1] or span[0] < 0:
            return None
        try:
            value = json.loads(self.text[start:span[0] + 1].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        return self.formats.get(value)

    def int_number_at(self, st: LexState, pos: int) -> bool:
        start = st.start if st.in_number else pos
        end = start
        while end < len(self.text) and self.text[end] in b"0123456789+-.eE":
            end += 1
        lit = self.text[start:end]
        return bool(lit) and not any(c in lit for c in b".eE")

    # ---- per step
    def compare(self, a: np.ndarray, b: np.ndarray, prefix: bytes, st: LexState, test: int, step: int) -> None:
        self.masks_compared += 1
        if np.array_equal(a, b):
            self.masks_equal += 1
            return
        pos = len(prefix)
        groups: dict[tuple[str, str], list[int]] = {}
        eos_ts = any(_bit(a, e) for e in self.eos)
        eos_llg = any(_bit(b, e) for e in self.eos)
        if eos_ts != eos_llg:
            groups[("tokensieve" if eos_ts else "llguidance", "eos")] = [self.eos[0]]
        sides = {"tokensieve": mask_ids(a[0] & ~b[0], self.size), "llguidance": mask_ids(b[0] & ~a[0], self.size)}
        counts = {}
        forced = bytes(self.lm.m.compute_ff_bytes()) if self.pair.forcing else None
        self._masks, self._boundary = (a, b), {}
        for side, ids in sides.items():
            ids = ids[~np.isin(ids, self.eos)]
            counts[side] = int(ids.size)
            if ids.size > self.sample_cap:  # an evenly spread sample keeps huge string-body differences cheap
                ids = ids[np.linspace(0, ids.size - 1, self.sample_cap).astype(np.int64)]
            for t in ids.tolist():
                cls = self._classify(side, int(t), prefix, st, pos, forced)
                groups.setdefault((side, cls), []).append(int(t))
        undocumented = []
        for (side, cls), toks in groups.items():
            key = f"{side}:{cls}"
            self.mask_classes[key] += 1
            if cls != "eos":
                self.token_classes[key] += len(toks)
            if (cls, side) not in DOCUMENTED:
                undocumented.append(key)
            self._judge(side, cls, toks, prefix, st, test, step)
        self.mask_keys[frozenset(undocumented)] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append({
                "test": test, "step": step, "prefix": _show(prefix, 120), "eos": {"tokensieve": eos_ts,
                                                                                  "llguidance": eos_llg},
                **{f"{side}_only": {"n": counts[side], "classes": {c: len(t) for (s, c), t in groups.items()
                                                                   if s == side},
                                    "sample": [[t, _show(self.tb[t] or b"")] for t in _sample(sides[side], 12)]}
                   for side in sides}})

    def _boundary_ok(self, side: str, t: int) -> bool:
        """After whitespace token ``t``, does ``side`` allow some token that the other engine allows right here
        (so only the whitespace differs)?  Once per step and side."""
        if side not in self._boundary:
            if side == "tokensieve":
                m = self.tm.m.fork()
                probe = _TsProbe(m) if m.accept_token(t) else None
            else:
                m = self.lm.m.deep_copy()
                probe = _LlgProbe(m) if m.consume_token(t) else None
            ok = False
            if probe is not None:
                after = np.zeros_like(self._masks[0])
                probe.fill(after)
                other = self._masks[1] if side == "tokensieve" else self._masks[0]
                ok = bool(np.any(after & other & self.nonws))
            self._boundary[side] = ok
        return self._boundary[side]

    def _facts(self, t: int, prefix: bytes, st: LexState) -> TokenFacts:
        return TokenFacts.of(st, self.tb[t] or b"", len(prefix), prefix[-2:])

    def _classify(self, side: str, t: int, prefix: bytes, st: LexState, pos: int, forced: bytes | None) -> str:
        data = self.tb[t] or b""
        facts = self._facts(t, prefix, st)
        fmt = self.format_at(facts, pos) if facts.in_string_at >= 0 else None
        intnum = facts.dot and self.int_number_at(st, pos)

        def other_allows():
            stripped = facts.without_ws(data)
            if not stripped:
                return self._boundary_ok(side, t)
            if side == "llguidance":
                return self.tm.m.fork().accept_bytes(stripped)
            toks = self.pair.llg.tok.tokenize_bytes(stripped)
            return self.lm.m.validate_tokens(toks) == len(toks)

        return classify(side, facts, format_at=fmt, int_number=intnum, other_allows_stripped=other_allows,
                        data=data, forced=forced, number_so_far=prefix[st.start:] if st.in_number else b"")

    def _judge(self, side: str, cls: str, toks: list[int], prefix: bytes, st: LexState, test: int,
               step: int) -> None:
        key = f"{side}:{cls}"
        for t in toks:
            if self.judged[key] >= self.oracle_per_group or len(self.judgements) >= self.max_oracle:
                return
            self.judged[key] += 1
            if cls == "eos":
                ok, reason = self.oracle.grade(prefix)
                res = {"verdict": {True: "valid", False: "invalid", None: "unknown"}[ok], "reason": reason}
            else:
                budget = min(self.oracle_budget_s, self.oracle_deadline - time.perf_counter())
                if budget <= 0:
                    return
                res = self.oracle.judge(prefix, self.tb[t] or b"", self.text, self._probes(side, t), budget_s=budget)
            self.verdicts.setdefault(key, Counter())[res["verdict"]] += 1
            doc = res.pop("document", None)
            entry = {"side": side, "class": cls, "test": test, "step": step, "prefix": _show(prefix, 200),
                     "token": [t, _show(self.tb[t] or b"") if cls != "eos" else "<EOS>"], **res}
            self.judgements.append(entry)
            if cls == "other":
                facts = self._facts(t, prefix, st)
                if st.in_number:
                    number_start = st.start
                else:
                    number_start = len(prefix) if (self.tb[t] or b"")[:1] in b"-0123456789" else -1
                proved = refine(side, facts, number_start, {**res, "document": doc}, self.oracle, self.names)
                self.relabels.setdefault(key, []).append(proved)
                if proved is not None:
                    entry["class"], entry["proved_by_witness"] = proved, True
            why = _unexplained(side, entry["class"], res["verdict"])
            if why:
                entry["finding"] = why
                self.unexplained.append(entry)

    def _probes(self, side: str, t: int):
        if side == "tokensieve":
            def make():
                m = self.tm.m.fork()
                return _TsProbe(m) if m.accept_token(t) else None
        else:
            def make():
                m = self.lm.m.deep_copy()
                return _LlgProbe(m) if m.consume_token(t) else None
        return make

    def record(self) -> dict:
        # a side:other group whose every judgement's witness proved the same class is renamed to it
        rename = {}
        for key, proved in self.relabels.items():
            if proved and proved[0] is not None and all(p == proved[0] for p in proved):
                rename[key] = f"{key.split(':')[0]}:{proved[0]}"

        def renamed(counter: Counter) -> dict:
            out: Counter = Counter()
            for k, v in counter.items():
                out[rename.get(k, k)] += v
            return dict(out)

        verdicts: dict[str, Counter] = {}
        for k, v in self.verdicts.items():
            verdicts.setdefault(rename.get(k, k), Counter()).update(v)
        unexplained_masks = sum(n for keys, n in self.mask_keys.items() if any(k not in rename for k in keys))
        return {"masks_compared": self.masks_compared, "masks_equal": self.masks_equal,
                "masks_differ": self.masks_compared - self.masks_equal, "masks_unexplained": unexplained_masks,
                "mask_classes": renamed(self.mask_classes), "token_classes": renamed(self.token_classes),
                "verdicts": {k: dict(v) for k, v in verdicts.items()}, "examples": self.examples,
                "oracle": self.judgements, "unexplained": self.unexplained, "proved_by_witness": rename}


def _unexplained(side: str, cls: str, verdict: str) -> str | None:
    """Why a judged difference needs a human, or None when its class and the oracle agree."""
    doc = DOCUMENTED.get((cls, side))
    other = "llguidance" if side == "tokensieve" else "tokensieve"
    if doc is not None:
        deviator = doc[0]
        if verdict == "invalid" and deviator == other:
            return f"documented as {other}'s deviation, but {side}'s completions are all invalid"
        return None
    if verdict == "valid":
        return f"{other} forbids a token that a valid document continues with ({other} too strict)"
    if verdict == "invalid":
        return f"{side} allows a token whose completions are all invalid ({side} unsound?)"
    return f"{side} only; the oracle found no completion"


def _bit(bm: np.ndarray, t: int) -> bool:
    return bool((int(bm[0, t >> 5]) >> (t & 31)) & 1)


def _sample(ids: np.ndarray, n: int) -> list[int]:
    return ids.tolist() if ids.size <= n else ids[np.linspace(0, ids.size - 1, n).astype(np.int64)].tolist()


def diff_record(pair: DiffPair, bundle, record: dict, *, timeout_s: float = 60.0, sample_cap: int = 256,
                max_examples: int = 5, oracle_per_group: int = 2, max_oracle: int = 16,
                oracle_budget_s: float = 3.0) -> dict:
    """The differential on one MaskBench record (``{"schema", "tests"}``).

    Returns a dict: ``compile`` (each engine's status), ``both_compile``, ``instances``/``walked``, ``end_eos``
    (after the whole instance: EOS allowed by both, one, neither), mask counts
    (``masks_compared``, ``masks_equal``, ``masks_differ``, ``masks_unexplained``: differing masks with a token
    outside every documented class), ``mask_classes`` / ``token_classes`` (``side:class`` counts; tokens are
    counted in a sample of at most ``sample_cap`` per side and mask), ``verdicts`` per ``side:class``,
    ``refusals`` (a valid instance's token refused by an engine), ``examples`` (the first differing masks: prefix,
    token samples per side), ``oracle`` (every judgement: at most ``oracle_per_group`` per ``side:class`` and
    ``max_oracle`` per schema) and ``unexplained`` (judgements that need a human: an undocumented class, or a
    documented one the oracle contradicts).
    """
    schema = record["schema"]
    out: dict = {"compile": {}, "errors": {}}
    compiled = {}
    for name, eng in (("tokensieve", pair.ts), ("llguidance", pair.llg)):
        t0 = time.perf_counter()
        try:
            compiled[name] = eng.compile(schema)
            out["compile"][name] = "ok"
        except Exception as e:  # noqa: BLE001 - a refusal is data
            out["compile"][name], out["errors"][name] = classify_error(name, e)
        out[f"compile_s_{name}"] = round(time.perf_counter() - t0, 4)
    out["both_compile"] = len(compiled) == 2
    tests = [t for t in record.get("tests", []) if isinstance(t, dict) and "data" in t and t.get("valid")]
    out["instances"] = len(tests)
    if not out["both_compile"]:
        return out
    tm, lm = pair.ts.matcher(compiled["tokensieve"]), pair.llg.matcher(compiled["llguidance"])
    w = _Walk(pair, bundle, schema, tm, lm, sample_cap=sample_cap, max_examples=max_examples,
              oracle_per_group=oracle_per_group, max_oracle=max_oracle, oracle_budget_s=oracle_budget_s,
              oracle_total_s=timeout_s * 0.3)
    words = (bundle.size + 31) // 32
    a, b = np.zeros((1, words), dtype=np.int32), np.zeros((1, words), dtype=np.int32)
    refusals, walked, oracle_rejects, end_eos = [], 0, [], Counter()
    t_end = time.perf_counter() + timeout_s * 0.85
    dumps = {"ensure_ascii": False, **pair.layout.dumps}
    for k, test in enumerate(record.get("tests", [])):
        if not (isinstance(test, dict) and "data" in test and test.get("valid")):
            continue
        text = json.dumps(test["data"], **dumps)
        ids = bundle.encode(text)
        data = text.encode("utf-8")
        w.start(data, test["data"])
        ok, why = w.oracle.grade(data)
        if ok is False:  # MaskBench calls it valid; the oracle does not: its verdicts there are suspect
            oracle_rejects.append({"test": k, "reason": why})
        walked += 1
        tm.reset()
        lm.reset()
        st, prefix = LexState(), b""
        for i, tid in enumerate(ids + [None]):
            tm.fill(a)
            lm.fill(b)
            w.compare(a, b, prefix, st, k, i)
            if tid is None:
                end_eos[(any(_bit(a, e) for e in w.eos), any(_bit(b, e) for e in w.eos))] += 1
                break
            if i % 64 == 63 and time.perf_counter() > t_end:
                break
            ok_ts, ok_llg = tm.accept(tid), lm.accept(tid)
            if not (ok_ts and ok_llg):
                refusals.append({"test": k, "step": i, "prefix": _show(prefix, 120),
                                 "token": [tid, _show(bundle.vocab.token_bytes[tid] or b"")],
                                 "refused_by": [n for n, ok in (("tokensieve", ok_ts), ("llguidance", ok_llg))
                                                if not ok]})
                break
            tb = bundle.vocab.token_bytes[tid] or b""
            st = JsonLexer.feed(st, tb, len(prefix))
            prefix += tb
        if time.perf_counter() > t_end:  # keep what was compared rather than lose the schema to the kill
            out["truncated"] = True
            break
    out.update(walked=walked, refusals=refusals[:10], n_refusals=len(refusals), **w.record(),
               end_eos={"both": end_eos[(True, True)], "tokensieve_only": end_eos[(True, False)],
                        "llguidance_only": end_eos[(False, True)], "neither": end_eos[(False, False)]})
    if oracle_rejects:
        out["instances_invalid_per_oracle"] = oracle_rejects[:5]
    if w.oracle.ignored_schema_keywords:
        out["oracle_ignored_inner_schema"] = w.oracle.ignored_schema_keywords
    return out


def run_diff_task(task: dict, engine: DiffPair, bundle) -> dict:
    """Fork-host task body: load the MaskBench file named by ``task['path']`` and diff it."""
    record, err = load_maskbench(SchemaItem("", "", Path(task["path"])))
    if err:
        return {"status": "invalid_schema_file", "error": err}
    return {"status": "ok", **diff_record(engine, bundle, record, timeout_s=float(task.get("timeout_s", 60.0)))}


# ------------------------------------------------------------------------------------------- runner

def run_maskdiff(*, peer: str, data: Path, subset: str | None, sample: int | None, seed: int | None,
                 tokenizers: list[str], layout: str, forcing: bool, timeout_s: float, memory_mb: float | None,
                 out: Path, resume: bool, schema_options: dict, progress: bool = True, log=print) -> int:
    """Run the differential for each tokenizer; write one JSONL record per schema and print the summary."""
    from ._coverage import _bar
    from ._report import maskdiff_table
    from ._results import ResultsWriter, read_records
    from ._workers import Worker, fork_host_main

    if peer != "llguidance":
        raise ValueError(f"only llguidance is supported as the peer, got {peer!r}")
    items = maskbench_files(data, subset, sample, seed)
    writer = ResultsWriter(out, ("schema", "tokenizer", "layout", "forcing"), kind="maskdiff", resume=resume)
    options = {DiffPair.name: {"layout": layout, "forcing": forcing, "schema_options": schema_options}}
    status = 0
    try:
        for tok in tokenizers:
            worker = Worker(fork_host_main, (tok, [PAIR], options))
            try:
                todo = [it for it in items if (it.key, tok, layout, forcing) not in writer.done]
                info = {"tokenizer": tok, "versions": {}}
                if todo:
                    info = worker.start()
                    if PAIR not in info["engines"]:
                        log(f"{tok}: cannot run the differential ({info['missing'].get(PAIR)})", file=sys.stderr)
                        status = 2
                        continue
                bar = _bar(len(todo), f"maskdiff {tok}", progress)
                for it in todo:
                    task = {"kind": "maskdiff", "engine": PAIR, "path": str(it.path), "timeout_s": timeout_s,
                            "memory_mb": memory_mb}
                    res, failure, _, _ = worker.call(task, {"start": 30.0, "run": timeout_s + 5})
                    if res is None:
                        res = {"status": "timeout" if failure == "timeout" else "crash", "error": failure}
                    writer.write({"schema": it.key, "subset": it.subset, "tokenizer": tok, "layout": layout,
                                  "forcing": forcing, "peer": peer, "version": info["versions"].get(PAIR), **res})
                    bar.update(1)
                bar.close()
                keys = {it.key for it in items}
                recs = [r for r in read_records(out, "maskdiff") if r.get("tokenizer") == tok
                        and r["schema"] in keys and r.get("layout") == layout and r.get("forcing") == forcing]
                ts_opts, llg_opts = engine_options(LAYOUTS[layout], LAYOUTS[layout], forcing, schema_options)
                log(f"\nMask differential tokensieve vs {peer}, tokenizer {tok}, layout {layout}, {len(keys)} "
                    f"schemas, versions: {info['versions'].get(PAIR, '?')}\ntokensieve: {json.dumps(ts_opts)}\n"
                    f"llguidance: {json.dumps(llg_opts)}\ninstances: json.dumps(ensure_ascii=False"
                    + "".join(f", {k}={v!r}" for k, v in LAYOUTS[layout].dumps.items()) + ")\n")
                log(maskdiff_table(recs))
            finally:
                worker.close()
    finally:
        writer.close()
    return status
