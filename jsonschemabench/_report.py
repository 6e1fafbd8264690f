"""Tables (markdown and CSV) and plots (PNG, with matplotlib when installed) from results files.

Four record kinds: ``run`` (generation), ``compile`` (compile-coverage), ``maskbench``, ``maskdiff`` (the mask
differential against llguidance). Subset order follows
the paper; engines keep the order they first appear in.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

from . import _metrics as M
from ._data import ALL_SUBSETS

__all__ = ["coverage_table", "maskbench_table", "maskdiff_table", "render_report", "run_tables"]

FAILED = ("unsupported", "error", "timeout", "crash", "oom", "invalid_schema_file")


def _subset_order(names: Iterable[str]) -> list[str]:
    names = set(names)
    return [s for s in ALL_SUBSETS if s in names] + sorted(names - set(ALL_SUBSETS))


def _engines(recs: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for r in recs:
        seen.setdefault(r["engine"], None)
    return list(seen)


def _md(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _f(x, digits=2, scale=1.0):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * scale:.{digits}f}"


# ------------------------------------------------------------------------------------------- compile

def coverage_rows(recs: list[dict], engines: list[str] | None = None) -> tuple[list[str], list[list]]:
    """Declared coverage per subset and engine: header and rows (fractions, counts, pairwise differences)."""
    engines = engines or _engines(recs)
    by = defaultdict(dict)
    for r in recs:
        by[r["subset"]].setdefault(r["schema"], {})[r["engine"]] = r.get("status") == "ok"
    header = ["subset", "N"] + [f"{e} DC" for e in engines]
    pair = "tokensieve" in engines and "llguidance" in engines
    if pair:
        header += ["llg ok, ts not", "ts ok, llg not"]
    rows = []
    tot = Counter()
    tot_n = 0
    for s in _subset_order(by):
        schemas = by[s]
        n = len(schemas)
        tot_n += n
        row = [s, n]
        for e in engines:
            k = sum(1 for v in schemas.values() if v.get(e))
            tot[e] += k
            row.append(f"{k / n:.3f} ({k})")
        if pair:
            a = sum(1 for v in schemas.values() if v.get("llguidance") and not v.get("tokensieve"))
            b = sum(1 for v in schemas.values() if v.get("tokensieve") and not v.get("llguidance"))
            tot["a"] += a
            tot["b"] += b
            row += [a, b]
        rows.append(row)
    if len(rows) > 1:
        row = ["**total**", tot_n] + [f"{tot[e] / tot_n:.3f} ({tot[e]})" for e in engines]
        if pair:
            row += [tot["a"], tot["b"]]
        rows.append(row)
    return header, rows


def coverage_table(recs: list[dict], engines: list[str] | None = None) -> str:
    """Markdown: declared coverage per subset, then failure counts by status per engine."""
    header, rows = coverage_rows(recs, engines)
    engines = engines or _engines(recs)
    status = [[e] + [sum(1 for r in recs if r["engine"] == e and r.get("status") == s) for s in FAILED]
              for e in engines]
    ttfm = []
    for e in engines:
        t = [r["ttfm_s"] for r in recs if r["engine"] == e and r.get("status") == "ok" and r.get("ttfm_s") is not None]
        ttfm.append([e, _f(M.percentile(t, 50), 1, 1e3), _f(M.percentile(t, 90), 1, 1e3),
                     _f(M.percentile(t, 99), 1, 1e3), _f(max(t) if t else None, 1, 1e3)])
    warned = [[e, sum(1 for r in recs if r["engine"] == e and r.get("status") == "ok"
                      and (r.get("warnings") or "warning" in (r.get("stderr") or "").lower()))] for e in engines]
    return "\n\n".join([
        "Declared coverage (compile + first mask succeeded), fraction (count):\n\n" + _md(header, rows),
        "Failures by status:\n\n" + _md(["engine", *FAILED], status),
        "Compiled, but the engine warned (an approximation of the schema; records keep the text in `warnings` or "
        "`stderr`):\n\n" + _md(["engine", "schemas"], warned),
        "Time to first mask of compiled schemas (ms):\n\n" + _md(["engine", "p50", "p90", "p99", "max"], ttfm),
    ])


def coverage_losses(recs: list[dict], engine: str = "tokensieve", ref: str = "llguidance") -> str:
    """Markdown list of schemas ``ref`` compiles and ``engine`` does not, with ``engine``'s reason."""
    by = defaultdict(dict)
    for r in recs:
        by[r["schema"]][r["engine"]] = r
    lines = []
    for key in sorted(by):
        v = by[key]
        if engine in v and ref in v and v[ref].get("status") == "ok" and v[engine].get("status") != "ok":
            err = (v[engine].get("error") or "").replace("\n", " ")[:240]
            lines.append(f"- `{key}`: {v[engine].get('status')}: {err}")
    if not lines:
        return f"No schema that {ref} compiles fails in {engine}."
    return f"{len(lines)} schemas {ref} compiles and {engine} does not:\n\n" + "\n".join(lines)


# ------------------------------------------------------------------------------------------- run

def run_tables(recs: list[dict], n_boot: int = 100) -> tuple[str, str]:
    """``(markdown, csv)``: per subset and engine the coverage metrics (bootstrap median ± std) and the
    efficiency medians over the schemas all engines in that subset handled."""
    engines = _engines(recs)
    device, note = timing_device(recs)
    by = defaultdict(lambda: defaultdict(dict))
    for r in recs:
        by[r["subset"]][r["engine"]][r["schema"]] = r
        by[_ALL][r["engine"]][r["schema"]] = r
    header = ["subset", "engine", "N", "declared", "empirical", "compliance", "GCT (s)", "TTFT (s)", "TPOT (ms)",
              "ms/step", "TGT (s)", "output tokens", "timed on"]
    md_rows, csv_rows = [], []
    csv_header = ["subset", "engine", "n", "declared", "declared_std", "empirical", "empirical_std", "compliance",
                  "compliance_std", "compliance_ratio", "gct_s", "ttft_s", "tpot_ms", "step_ms", "tgt_s", "tokens",
                  "n_common"]
    subsets = _subset_order(set(by) - {_ALL})
    for s in subsets + ([_ALL] if len(subsets) > 1 else []):
        per = {e: by[s][e] for e in engines if e in by[s]}
        eff, n_common = M.efficiency({e: [r for r in v.values() if _device(r) == device] for e, v in per.items()})
        for e, recs_e in per.items():
            rows = list(recs_e.values())
            d = [r.get("compile_status") in ("ok", "none") for r in rows]
            v = [bool(r.get("valid")) for r in rows]
            dc, dc_s = M.bootstrap(d, n_boot)
            ec, ec_s = M.bootstrap(v, n_boot)
            cr, cr_s = M.bootstrap([x for x, y in zip(v, d) if y], n_boot)
            ratio = M.compliance(d, v)
            ef = eff[e]
            md_rows.append([s, e, len(rows), f"{_f(dc)} ± {_f(dc_s)}", f"{_f(ec)} ± {_f(ec_s)}",
                            f"{_f(cr)} ± {_f(cr_s)}", _f(ef["gct_s"], 3), _f(ef["ttft_s"], 3), _f(ef["tpot_ms"], 1),
                            _f(ef["step_ms"], 1), _f(ef["tgt_s"], 2), _f(ef["tokens"], 1), n_common])
            csv_rows.append([s, e, len(rows), dc, dc_s, ec, ec_s, cr, cr_s, ratio, ef["gct_s"], ef["ttft_s"],
                             ef["tpot_ms"], ef["step_ms"], ef["tgt_s"], ef["tokens"], n_common])
    md = ("Coverage: bootstrap median ± std of 100 resamples; compliance = empirical / declared. Efficiency: "
          "medians over the schemas of the subset that every engine listed handled (\"timed on\"); TPOT divides by "
          "the re-tokenised output length (the paper's), ms/step by the decode steps." + note + "\n\n"
          + _md(header, md_rows))
    return md, _csv(csv_header, csv_rows)


_ALL = "all"


def _device(rec: dict) -> str:
    return rec.get("device") or "cpu"  # records from before ``--device`` ran on the CPU


def timing_device(recs: list[dict]) -> tuple[str | None, str]:
    """The device whose records are timed, and a sentence for the report when records span several.

    Timings from different devices are not comparable, so efficiency uses the device that timed the most
    decoded records; the others still count for coverage.
    """
    counts = Counter(_device(r) for r in recs if M.handled(r))
    if not counts:
        return None, ""
    device = counts.most_common(1)[0][0]
    if len(counts) == 1:
        return device, f" Timed on {device}."
    others = ", ".join(f"{n} on {d}" for d, n in sorted(counts.items()) if d != device)
    return device, (f" Efficiency uses only the {counts[device]} decoded records timed on {device}; the others "
                    f"({others}) count for coverage only.")


def run_status_table(recs: list[dict]) -> str:
    """Markdown: compile and decode status counts per engine."""
    engines = _engines(recs)
    cs = sorted({r.get("compile_status") for r in recs} - {None})
    ds = sorted({r.get("decode_status") for r in recs} - {None})
    rows = []
    for e in engines:
        rr = [r for r in recs if r["engine"] == e]
        rows.append([e] + [sum(r.get("compile_status") == c for r in rr) for c in cs]
                    + [sum(r.get("decode_status") == d for r in rr) for d in ds])
    return _md(["engine"] + [f"compile {c}" for c in cs] + [f"decode {d}" for d in ds], rows)


# ------------------------------------------------------------------------------------------- maskbench

def maskbench_table(recs: list[dict], ref: str = "llguidance") -> tuple[str, str]:
    """``(markdown, csv)``: per engine TTFM and mask-time percentiles, correctness counts, memory; ratios to
    ``ref`` on the schemas both compiled."""
    engines = _engines(recs)
    by = {e: {r["schema"]: r for r in recs if r["engine"] == e} for e in engines}
    header = ["engine", "schemas", "compiled", "failed", "TTFM p50 (ms)", "TTFM p99 (ms)", "TTFM max (ms)",
              "masks", "mask p50 (µs)", "p90", "p99", "max", "valid accepted", "invalid rejected",
              "TTFM > 1 s", "masks > 50 ms", "RSS growth p50/max (MB)"]
    rows, csv_rows = [], []
    for e in engines:
        rr = list(by[e].values())
        ok = [r for r in rr if r.get("status") == "ok"]
        ttfm = [r["ttfm_s"] * 1e3 for r in ok]
        masks = [t for r in ok for t in r.get("mask_us", [])]
        va = sum(r.get("valid_accepted", 0) for r in ok)
        vt = sum(r.get("valid_total", 0) for r in ok)
        ir = sum(r.get("invalid_rejected", 0) for r in ok)
        it = sum(r.get("invalid_total", 0) for r in ok)
        rss = [r["rss_growth_mb"] for r in rr if r.get("rss_growth_mb") is not None]
        fails = Counter(r.get("status") for r in rr if r.get("status") != "ok")
        p = {q: M.percentile(masks, q) for q in (50, 90, 99)}
        row = [e, len(rr), len(ok), ", ".join(f"{k} {v}" for k, v in sorted(fails.items())) or "0",
               _f(M.percentile(ttfm, 50), 2), _f(M.percentile(ttfm, 99), 1), _f(max(ttfm) if ttfm else None, 1),
               len(masks), _f(p[50], 1), _f(p[90], 1), _f(p[99], 1), _f(max(masks) if masks else None, 0),
               f"{va}/{vt}", f"{ir}/{it}", sum(t > 1000 for t in ttfm), sum(t > 50_000 for t in masks),
               f"{_f(M.percentile(rss, 50), 1)} / {_f(max(rss) if rss else None, 1)}"]
        rows.append(row)
        csv_rows.append([e, len(rr), len(ok), sum(fails.values()), M.percentile(ttfm, 50), M.percentile(ttfm, 99),
                         max(ttfm) if ttfm else None, len(masks), p[50], p[90], p[99], max(masks) if masks else None,
                         va, vt, ir, it, sum(t > 1000 for t in ttfm), sum(t > 50_000 for t in masks),
                         M.percentile(rss, 50), max(rss) if rss else None])
    parts = [_md(header, rows)]
    # ratios to the reference, then to XGrammar as well when it ran (the standard asks for both peers)
    for r_eng in [ref] + [e for e in ("xgrammar",) if e != ref]:
        if r_eng not in by:
            continue
        rrows = []
        for e in engines:
            if e == r_eng:
                continue
            common = [k for k, r in by[e].items()
                      if r.get("status") == "ok" and by[r_eng].get(k, {}).get("status") == "ok"]
            a = [t for k in common for t in by[e][k].get("mask_us", [])]
            b = [t for k in common for t in by[r_eng][k].get("mask_us", [])]
            ta = [by[e][k]["ttfm_s"] for k in common]
            tb = [by[r_eng][k]["ttfm_s"] for k in common]

            def ratio(x, y):
                return _f(x / y if x is not None and y else None, 2)

            rrows.append([e, len(common), ratio(M.percentile(a, 50), M.percentile(b, 50)),
                          ratio(M.percentile(a, 90), M.percentile(b, 90)),
                          ratio(M.percentile(a, 99), M.percentile(b, 99)),
                          ratio(max(a) if a else None, max(b) if b else None),
                          ratio(M.percentile(ta, 50), M.percentile(tb, 50))])
        if rrows:
            parts.append(f"Ratios to {r_eng} on the schemas both compiled (lower is faster):\n\n"
                         + _md(["engine", "schemas", "mask p50", "p90", "p99", "max", "TTFM p50"], rrows))
    twin = [r for r in recs if "twin_masks" in r]
    if twin:
        n = sum(r["twin_masks"] for r in twin)
        bad = [r for r in twin if r["twin_mismatches"]]
        differ = sum(r["twin_mismatches"] for r in twin)
        line = f"Twin check: {n} masks compared on {len(twin)} schemas, {differ} differ"
        if bad:
            line += "; first: " + ", ".join(f"`{r['schema']}` {r['twin_first_mismatch']}" for r in bad[:5])
        parts.append(line + ".")
    csv_header = ["engine", "schemas", "compiled", "failed", "ttfm_p50_ms", "ttfm_p99_ms", "ttfm_max_ms", "masks",
                  "mask_p50_us", "mask_p90_us", "mask_p99_us", "mask_max_us", "valid_accepted", "valid_total",
                  "invalid_rejected", "invalid_total", "ttfm_over_1s", "masks_over_50ms", "rss_growth_p50_mb",
                  "rss_growth_max_mb"]
    return "\n\n".join(parts), _csv(csv_header, csv_rows)


# ------------------------------------------------------------------------------------------- maskdiff

def _cell(text: str) -> str:
    # one table cell on one line: no raw newline, pipe or backtick
    return text.replace("\n", "\\n").replace("\r", "\\r").replace("|", "\\|").replace("`", "'")


def _refused(recs: list[dict]) -> str:
    # valid instances whose walk stopped on a token one engine (or both) refused, by who refused
    by = Counter("+".join(x["refused_by"]) for r in recs for x in r.get("refusals", []))
    total = sum(r.get("n_refusals", 0) for r in recs)
    return f"{total} ({', '.join(f'{k} {v}' for k, v in sorted(by.items()))})" if total else "0"


def maskdiff_table(recs: list[dict], max_findings: int = 30) -> str:
    """Markdown summary of ``maskdiff`` records: per subset (compile outcomes, masks compared/equal/unexplained,
    EOS at the end), per deviation class (masks, sampled tokens, oracle verdicts, who deviates), and the
    unexplained findings with their repro (schema, prefix, token, the oracle's witness)."""
    from ._maskdiff_classify import DOCUMENTED

    by_subset: dict[str, list[dict]] = defaultdict(list)
    for r in recs:
        by_subset[r.get("subset", "?")].append(r)
    header = ["subset", "schemas", "both compile", "tokensieve only", "llguidance only", "neither", "failed",
              "masks compared", "masks equal", "equal %", "masks unexplained", "EOS at end both/walked",
              "instances refused (by)"]
    rows = []

    def row(name, rr):
        ok = [r for r in rr if r.get("status") == "ok"]
        comp = Counter((r["compile"].get("tokensieve") == "ok", r["compile"].get("llguidance") == "ok") for r in ok)
        both = [r for r in ok if r.get("both_compile")]
        n = sum(r.get("masks_compared", 0) for r in both)
        eq = sum(r.get("masks_equal", 0) for r in both)
        return [name, len(rr), comp[(True, True)], comp[(True, False)], comp[(False, True)], comp[(False, False)],
                len(rr) - len(ok), n, eq, _f(100 * eq / n if n else None, 1),
                sum(r.get("masks_unexplained", 0) for r in both),
                f"{sum(r.get('end_eos', {}).get('both', 0) for r in both)}/{sum(r.get('walked', 0) for r in both)}",
                _refused(both)]

    for sub in _subset_order(by_subset):
        rows.append(row(sub, by_subset[sub]))
    if len(by_subset) > 1:
        rows.append(row("all", recs))
    parts = [_md(header, rows)]
    both = [r for r in recs if r.get("status") == "ok" and r.get("both_compile")]
    masks, tokens, schemas = Counter(), Counter(), Counter()
    verdicts: dict[str, Counter] = defaultdict(Counter)
    for r in both:
        masks.update(r.get("mask_classes", {}))
        tokens.update(r.get("token_classes", {}))
        schemas.update(r.get("mask_classes", {}).keys())
        for k, v in r.get("verdicts", {}).items():
            verdicts[k].update(v)
    crow = []
    for key, n in masks.most_common():
        side, cls = key.split(":", 1)
        doc = DOCUMENTED.get((cls, side))
        v = verdicts.get(key, Counter())
        crow.append([side, cls, n, tokens.get(key, "–"), schemas[key],
                     f"{v['valid']}/{v['invalid']}/{v['unknown']}",
                     f"{doc[0]}: {doc[1]}" if doc else "**unexplained**"])
    if crow:
        parts.append("Differing masks by class (a mask can have several; tokens are a per-mask sample):\n\n" + _md(
            ["allowed only by", "class", "masks", "tokens", "schemas", "oracle valid/invalid/unknown",
             "documented deviation"], crow))
    findings = [(r["schema"], u) for r in both for u in r.get("unexplained", [])]
    if findings:
        frows = [[f"`{name}`", u["side"], u["class"], f"test {u['test']} step {u['step']}",
                  f"`{_cell(u['prefix'][-60:])}`", f"`{_cell(repr(u['token'][1]))}` ({u['token'][0]})",
                  u["verdict"], u.get("finding", ""), _cell((u.get("reason") or "")[:120])]
                 for name, u in findings[:max_findings]]
        parts.append(f"Unexplained judgements ({len(findings)}; first {len(frows)}):\n\n" + _md(
            ["schema", "allowed only by", "class", "where", "prefix (tail)", "token", "oracle", "finding",
             "oracle's reason"], frows))
    failed = Counter(r.get("status") for r in recs if r.get("status") != "ok")
    if failed:
        parts.append("Not run to the end: " + ", ".join(f"{k} {v}" for k, v in sorted(failed.items())) + ".")
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------------------- plots

def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt
    except ImportError:
        return None


def plot_run(recs: list[dict], out_dir: Path) -> list[Path]:
    """coverage.png (declared and empirical per subset and engine), tpot.png and gct.png (distributions over
    the schemas every engine handled). Returns the files written ([] without matplotlib)."""
    plt = _plt()
    if plt is None:
        return []
    engines = _engines(recs)
    subsets = _subset_order({r["subset"] for r in recs})
    files = []
    fig, axes = plt.subplots(2, 1, figsize=(min(14, max(6, 0.4 * len(subsets) * max(1, len(engines)))), 7),
                             sharex=True)
    width = 0.8 / max(1, len(engines))
    for ax, (label, fn) in zip(axes, [("declared coverage", lambda r: r.get("compile_status") in ("ok", "none")),
                                      ("empirical coverage", lambda r: bool(r.get("valid")))]):
        for i, e in enumerate(engines):
            ys = []
            for s in subsets:
                rr = [r for r in recs if r["engine"] == e and r["subset"] == s]
                ys.append(sum(map(fn, rr)) / len(rr) if rr else 0)
            ax.bar([j + i * width for j in range(len(subsets))], ys, width, label=e)
        ax.set_ylabel(label)
        ax.set_ylim(0, 1.05)
    axes[0].legend(ncol=len(engines), fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    axes[1].set_xticks([j + 0.4 - width / 2 for j in range(len(subsets))])
    axes[1].set_xticklabels(subsets, rotation=30, ha="right")
    fig.tight_layout()
    files.append(out_dir / "coverage.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)
    device, _ = timing_device(recs)
    per = defaultdict(dict)
    for r in recs:
        if _device(r) == device:
            per[r["engine"]][(r["subset"], r["schema"])] = r
    common = None
    for e in engines:
        keys = {k for k, r in per[e].items() if M.handled(r)}
        common = keys if common is None else common & keys
    common = common or set()
    for field, name, log in (("tpot_ms", "tpot.png", False), ("gct_s", "gct.png", True)):
        data, labels = [], []
        for e in engines:
            vals = [per[e][k].get(field) for k in common if per[e][k].get(field) is not None]
            if vals:
                data.append(vals)
                labels.append(e)
        if not data:
            continue
        fig, ax = plt.subplots(figsize=(1.6 * len(data) + 2, 4))
        ax.boxplot(data, showfliers=True)
        ax.set_xticks(range(1, len(labels) + 1))
        ax.set_xticklabels(labels)
        if log:
            ax.set_yscale("log")
        ax.set_ylabel({"tpot_ms": "TPOT (ms)", "gct_s": "GCT (s)"}[field])
        ax.set_title(f"{len(common)} schemas handled by every engine, timed on {device}")
        fig.tight_layout()
        files.append(out_dir / name)
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)
    return files


def plot_coverage(recs: list[dict], out_dir: Path) -> list[Path]:
    """compile_coverage.png: declared coverage per subset and engine."""
    plt = _plt()
    if plt is None:
        return []
    engines = _engines(recs)
    subsets = _subset_order({r["subset"] for r in recs})
    fig, ax = plt.subplots(figsize=(min(14, max(6, 0.4 * len(subsets) * max(1, len(engines)))), 4.5))
    width = 0.8 / max(1, len(engines))
    for i, e in enumerate(engines):
        ys = []
        for s in subsets:
            rr = [r for r in recs if r["engine"] == e and r["subset"] == s]
            ys.append(sum(r.get("status") == "ok" for r in rr) / len(rr) if rr else 0)
        ax.bar([j + i * width for j in range(len(subsets))], ys, width, label=e)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(subsets))])
    ax.set_xticklabels(subsets, rotation=30, ha="right")
    ax.set_ylabel("declared coverage")
    ax.set_ylim(0, 1.05)
    ax.legend(ncol=len(engines), fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    path = out_dir / "compile_coverage.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def plot_maskbench(recs: list[dict], out_dir: Path, tokenizer: str = "") -> list[Path]:
    """maskbench_cdf_<tokenizer>.png: distribution of mask times per engine (log scale)."""
    plt = _plt()
    if plt is None:
        return []
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4))
    for e in _engines(recs):
        t = np.sort([x for r in recs if r["engine"] == e and r.get("status") == "ok" for x in r.get("mask_us", [])])
        if t.size:
            ax.plot(t, np.arange(1, t.size + 1) / t.size, label=e)
    ax.set_xscale("log")
    ax.set_xlabel(f"mask time (µs){', tokenizer ' + tokenizer if tokenizer else ''}")
    ax.set_ylabel("fraction of masks")
    ax.legend()
    fig.tight_layout()
    path = out_dir / f"maskbench_cdf_{tokenizer}.png" if tokenizer else out_dir / "maskbench_cdf.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


# ------------------------------------------------------------------------------------------- report

def render_report(records: list[dict], out_dir: Path | None, plots: bool = True) -> tuple[str, list[Path]]:
    """The markdown report of every record kind present; with ``out_dir`` also CSVs, PNGs and report.md.

    Returns ``(markdown, files written)``.
    """
    parts, files = [], []
    runs = [r for r in records if r.get("kind") == "run"]
    comp = [r for r in records if r.get("kind") == "compile"]
    mb = [r for r in records if r.get("kind") == "maskbench"]
    md_recs = [r for r in records if r.get("kind") == "maskdiff"]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    if runs:
        md, csv_text = run_tables(runs)
        parts += ["## Generation (`run`)", md, "Status counts:\n\n" + run_status_table(runs)]
        if out_dir is not None:
            files.append(out_dir / "run.csv")
            files[-1].write_text(csv_text)
            if plots:
                files += plot_run(runs, out_dir)
    if comp:
        for tok in sorted({r.get("tokenizer") for r in comp}, key=str):
            rr = [r for r in comp if r.get("tokenizer") == tok]
            parts += [f"## Compile coverage (tokenizer {tok})", coverage_table(rr)]
            if {"tokensieve", "llguidance"} <= {r["engine"] for r in rr}:
                parts.append(coverage_losses(rr))
            if out_dir is not None:
                header, rows = coverage_rows(rr)
                files.append(out_dir / f"compile_coverage_{tok}.csv")
                files[-1].write_text(_csv(header, rows))
                if plots:
                    files += plot_coverage(rr, out_dir)
    if mb:
        for tok in sorted({r.get("tokenizer") for r in mb}, key=str):
            rr = [r for r in mb if r.get("tokenizer") == tok]
            md, csv_text = maskbench_table(rr)
            parts += [f"## MaskBench (tokenizer {tok})", md]
            if out_dir is not None:
                files.append(out_dir / f"maskbench_{tok}.csv")
                files[-1].write_text(csv_text)
                if plots:
                    files += plot_maskbench(rr, out_dir, str(tok))
    for key in sorted({(str(r.get("tokenizer")), str(r.get("layout")), bool(r.get("forcing"))) for r in md_recs}):
        rr = [r for r in md_recs if (str(r.get("tokenizer")), str(r.get("layout")), bool(r.get("forcing"))) == key]
        parts += [f"## Mask differential vs llguidance (tokenizer {key[0]}, layout {key[1]}, llguidance forcing "
                  f"{'on' if key[2] else 'off'})", maskdiff_table(rr)]
    if not parts:
        parts.append("No records.")
    text = "\n\n".join(parts) + "\n"
    if out_dir is not None:
        files.append(out_dir / "report.md")
        files[-1].write_text(text)
    return text, files
