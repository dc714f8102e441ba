#!/usr/bin/env python3
"""paper_table.py RESULTS.h5 [-o OUT.png] [--md OUT.md] [--recipe M] [--baselines M,M]
- the recipe against its baselines.

Reads the results of `micl sweep configs/paper_repro.cfg` (axes `run` x `seed`) or of
`micl train configs/paper_repro.cfg` (one seed) and prints, as a Markdown table, each model's
score on every benchmark: the mean accuracy over the benchmark's cells with at least one shot
(every ways), averaged over seeds, with a 95% interval over seeds (Student t; none for one
seed). `zeroshot` is scored on its single cell. The "ICL avg" column averages the ICL
benchmarks (all but zeroshot). Then it checks the outcomes the recipe should show:

  - the ICL recipe's ICL average beats the best baseline (instruction, interleaved) by >= 20
    points;
  - on the fake-name binding benchmarks (openmi, cross_domain) the recipe's accuracy rises from
    1 to 4 shots, while every baseline's mean over seeds stays within 5 points of chance;
  - the recipe's zeroshot is within 3 points of the instruction-only baseline;
  - each ablation's effect on the ICL average: difference to the recipe, interval over seeds.

The figure has one panel per (benchmark, ways): accuracy against shots, one line per model
(mean over seeds, error bars: standard deviation over seeds), chance dotted.
Exit status: 0 when every check passes, 1 when one fails.
Run with Debian's interpreter: /usr/bin/python3 scripts/paper_table.py RESULTS.h5
"""
import argparse
import math
import sys

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BASELINES = ["instruction", "interleaved"]
RECIPE = "icl"
BINDING = ["openmi", "cross_domain"]  # fake-name binding (fsicl is real-name multiple choice)
# two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def mean_ci(xs):
    """Mean and half-width of the 95% interval over seeds (nan for one value)."""
    xs = np.asarray(xs, dtype=float)
    if len(xs) < 2:
        return float(xs.mean()), float("nan")
    t = T975[min(len(xs) - 1, len(T975)) - 1]
    return float(xs.mean()), t * float(xs.std(ddof=1)) / math.sqrt(len(xs))


def model_runs(f):
    """{model: [run group names]}: by the sweep's `run` axis, or one run per model."""
    names = list(f["run_names"].asstr()[()])
    if "sweep" not in f:
        return {n: [n] for n in names}
    keys = list(f["sweep/axis_keys"].asstr()[()])
    vals = np.array(f["sweep/axis_values"].asstr()[()]).reshape(len(names), len(keys))
    if "run" not in keys:
        sys.exit(f"{f.filename}: the sweep has no `run` axis (axes: {', '.join(keys)})")
    out = {}
    for n, v in zip(names, vals[:, keys.index("run")]):
        out.setdefault(v, []).append(n)
    return out


def cells(f, run):
    e = f["runs"][run]["eval"]
    return {k: e[k][()] for k in ("accuracy", "chance", "shots", "ways")} | {
        "benchmark": e["benchmark"].asstr()[()]
    }


def score(c, bench):
    """Mean accuracy over the benchmark's cells with >= 1 shot (zeroshot: its cells)."""
    sel = c["benchmark"] == bench
    if bench != "zeroshot":
        sel &= c["shots"] >= 1
    return float(c["accuracy"][sel].mean()) if sel.any() else float("nan")


def chance(c, bench):
    sel = (c["benchmark"] == bench) & (c["shots"] >= 1)
    return float(c["chance"][sel].mean()) if sel.any() else float("nan")


def shot_gain(c, bench):
    """Accuracy at 4 shots minus at 1 shot, averaged over ways (nan without those cells)."""
    sel = c["benchmark"] == bench
    gains = []
    for w in sorted(set(c["ways"][sel])):
        a1 = c["accuracy"][sel & (c["ways"] == w) & (c["shots"] == 1)]
        a4 = c["accuracy"][sel & (c["ways"] == w) & (c["shots"] == 4)]
        if len(a1) and len(a4):
            gains.append(float(a4[0] - a1[0]))
    return float(np.mean(gains)) if gains else float("nan")


def fmt(m, h, points=False):
    """An accuracy (3 decimals) or, with points, a signed difference in points (1 decimal),
    with its interval's half-width when there is one."""
    v = f"{m:+.1f}" if points else f"{m:.3f}"
    return v if math.isnan(h) else v + (f" ±{h:.1f}" if points else f" ±{h:.3f}")


def main():
    global RECIPE, BASELINES
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("-o", "--out", default=None, help="shot-curve figure (PNG)")
    ap.add_argument("--md", default=None, help="also write the table and checks to this file")
    ap.add_argument("--recipe", default=RECIPE, help="the model the checks are about")
    ap.add_argument("--baselines", default=",".join(BASELINES),
                    help="comma-separated baseline models")
    a = ap.parse_args()
    RECIPE, BASELINES = a.recipe, [b for b in a.baselines.split(",") if b]
    f = h5py.File(a.results, "r")
    models = model_runs(f)
    per = {m: [cells(f, r) for r in runs] for m, runs in models.items()}
    first = per[next(iter(per))][0]
    benches = [b for b in dict.fromkeys(first["benchmark"]) if b != "zeroshot"]
    has_zs = "zeroshot" in set(first["benchmark"])
    icl_avg = {m: [np.mean([score(c, b) for b in benches]) for c in cs] for m, cs in per.items()}

    lines = []
    n_seeds = {m: len(cs) for m, cs in per.items()}
    head = ["model", "seeds"] + benches + ["ICL avg"] + (["zeroshot"] if has_zs else [])
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    lines.append("| chance | | " + " | ".join(f"{chance(first, b):.3f}" for b in benches) +
                 f" | {np.mean([chance(first, b) for b in benches]):.3f} |" +
                 (" |" if has_zs else ""))
    for m, cs in per.items():
        row = [m, str(n_seeds[m])]
        row += [fmt(*mean_ci([score(c, b) for c in cs])) for b in benches]
        row.append("**" + fmt(*mean_ci(icl_avg[m])) + "**")
        if has_zs:
            row.append(fmt(*mean_ci([score(c, "zeroshot") for c in cs])))
        lines.append("| " + " | ".join(row) + " |")

    checks = []
    if RECIPE in per:
        base = [b for b in BASELINES if b in per]
        rec = np.mean(icl_avg[RECIPE])
        if base:
            best = max(base, key=lambda b: np.mean(icl_avg[b]))
            gap = 100 * (rec - np.mean(icl_avg[best]))
            checks.append((gap >= 20, f"ICL average: recipe {rec:.3f}, best baseline {best} "
                           f"{np.mean(icl_avg[best]):.3f}: +{gap:.1f} points (needs >= 20)"))
        for b in [b for b in BINDING if b in benches]:
            g = [shot_gain(c, b) for c in per[RECIPE]]
            checks.append((np.mean(g) > 0, f"{b}: recipe accuracy 4 shots - 1 shot = "
                           f"{fmt(*mean_ci(g))} (needs > 0)"))
            for bl in base:
                d = 100 * abs(np.mean([score(c, b) - chance(c, b) for c in per[bl]]))
                checks.append((d <= 5, f"{b}: {bl} (mean over seeds) within {d:.1f} points of "
                               "chance (needs <= 5)"))
        if has_zs and "instruction" in per:
            zr = np.mean([score(c, "zeroshot") for c in per[RECIPE]])
            zi = np.mean([score(c, "zeroshot") for c in per["instruction"]])
            checks.append((abs(zr - zi) <= 0.03, f"zeroshot: recipe {zr:.3f}, instruction "
                           f"{zi:.3f}: {100 * (zr - zi):+.1f} points (needs within 3)"))
        for m in per:
            if m in BASELINES or m == RECIPE:
                continue
            k = min(len(icl_avg[m]), len(icl_avg[RECIPE]))
            d = [100 * (x - y) for x, y in zip(icl_avg[m][:k], icl_avg[RECIPE][:k])]
            zs = ""
            if has_zs:
                dz = [100 * (score(x, "zeroshot") - score(y, "zeroshot"))
                      for x, y in zip(per[m][:k], per[RECIPE][:k])]
                zs = f"; zeroshot {fmt(*mean_ci(dz), points=True)} points"
            checks.append((None, f"ablation {m}: ICL average {fmt(*mean_ci(d), points=True)} points "
                           f"vs the recipe (paired by seed, 95% interval){zs}"))
    lines.append("")
    for ok, text in checks:
        mark = "info" if ok is None else ("PASS" if bool(ok) else "FAIL")
        lines.append(f"- {mark}: {text}")
    text = "\n".join(lines)
    print(text)
    if a.md:
        with open(a.md, "w") as o:
            o.write(text + "\n")

    if a.out:
        panels = []
        for b in benches:
            sel = first["benchmark"] == b
            for w in sorted(set(first["ways"][sel])):
                panels.append((b, w))
        ncol = min(4, len(panels))
        nrow = (len(panels) + ncol - 1) // ncol
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
        for ax, (b, w) in zip(axes.flat, panels):
            for m, cs in per.items():
                sel = (cs[0]["benchmark"] == b) & (cs[0]["ways"] == w)
                shots = cs[0]["shots"][sel]
                acc = np.array([c["accuracy"][(c["benchmark"] == b) & (c["ways"] == w)]
                                for c in cs])
                ls = "-" if m == RECIPE or m in BASELINES else "--"
                ax.errorbar(shots, acc.mean(0), yerr=acc.std(0) if len(cs) > 1 else None,
                            marker="o", ms=3, capsize=2, ls=ls, lw=2 if m == RECIPE else 1,
                            label=m)
            ax.axhline(float(cs[0]["chance"][sel].mean()), color="grey", lw=0.8, ls=":")
            ax.set(title=f"{b} {w}-way" if w > 0 else b, xlabel="shots", ylabel="accuracy",
                   ylim=(0, 1.02))
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(a.out, dpi=100)
    return 0 if all(ok is None or bool(ok) for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
