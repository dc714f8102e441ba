#!/usr/bin/env python3
"""paper_table.py RESULTS.h5 [MORE.h5 ...] [-o OUT.png] [--md OUT.md] [--recipe M] [--baselines M,M]
[--boot N] - the recipe against its baselines and ablations, as a reviewer would check it.

Reads the results of `micl sweep configs/paper_repro.cfg` (axes `run` x `seed`) or of
`micl train` (one seed per model) - several files are read as one (a sweep and the extra seeds
of another; a (model, seed) pair must occur once) - and reports, per model and benchmark, under both scoring
rules - open-ended exact match (greedy decoding, the paper's and VL-ICL Bench's rule) and
ranking among the episode's candidates:

  - acc: the mean accuracy over the benchmark's cells with 1 or more shots (every ways);
  - gain: acc minus the mean accuracy of its 0-shot cells (ICL is what the shots add);
  - norm: the chance-normalised accuracy (acc - chance) / (1 - chance) per cell, chance being
    the larger of "guess among the candidates" and "always the commonest answer", measured on
    the episodes actually drawn for that seed (results: eval/chance_random, chance_constant).

The headline averages norm over one benchmark per task family (HEADLINE below); cross_domain,
the paper's fsicl (whose query is always the first demo's class) and mc_bound are reported
beside it. Intervals are 95% percentile intervals of a bootstrap over seeds and episodes:
each replicate draws the seeds with replacement, then, per seed and (benchmark, ways), the
episode groups with replacement (episodes that share demonstrations - a binding curve's queries,
an episode's two option orders - are drawn together). Comparisons are paired: the same seed
value draws the same evaluation episodes for every model, so a replicate draws seeds among the
seed values both models have and applies one episode draw to both.

Checks (PASS / FAIL where a claim is made, info otherwise):
  - headline, exact match and ranked: recipe minus the best baseline; PASS when the interval's
    lower bound is above 0; the same with every cell's normalised accuracy floored at 0 (a
    model below the best constant answer - failing the answer format, say - counts as at
    chance, so that a baseline's failure cannot pass for the recipe's ICL);
  - zeroshot retention: recipe minus the instruction baseline; PASS when the lower bound is
    above -3 points;
  - per headline benchmark: the recipe's gain over 0 shots and its lead over the best baseline;
  - each ablation: headline (both rules) and zeroshot differences to the recipe, paired by
    seed value.
Files without per-episode outcomes (older micl) are read with the episodes of a cell
independent and the exact-match chance equal to the ranked one.

The figure has one panel per (benchmark, ways): exact-match accuracy against shots (solid,
ranked dashed), mean over seeds, per model; chance dotted.
Exit status: 0 when every check passes, 1 when one fails, 2 on bad input.
Run with Debian's interpreter: /usr/bin/python3 scripts/paper_table.py RESULTS.h5
"""
import argparse
import re
import sys

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BASELINES = ["instruction", "interleaved", "bursty"]
RECIPE = "icl"
# one benchmark per task family: (family, candidates in order of preference)
HEADLINE = [("binding", ["openmi"]), ("multiple choice", ["fsicl_random", "fsicl"]),
            ("matching", ["matching"]), ("count induction", ["count_induction"]),
            ("operator induction", ["operator_induction"]),
            ("held-out question", ["attributes_heldout"]), ("captioning", ["captioning"])]
RULES = [("exact", "exact match"), ("ranked", "ranked")]


class Run:
    """One run group's evaluation: per cell, per-group counts under both rules."""

    def __init__(self, f, name):
        g = f["runs"][name]
        e = g["eval"]
        self.name = name
        self.bench = e["benchmark"].asstr()[()]
        self.ways = e["ways"][()]
        self.shots = e["shots"][()]
        n = e["episodes"][()]
        cor = e["correct"][()]
        exa = e["exact_match"][()] if "exact_match" in e else cor
        ch = e["chance"][()]
        self.chance = ch
        self.chance_random = e["chance_random"][()] if "chance_random" in e else ch
        self.chance_constant = e["chance_constant"][()] if "chance_constant" in e else ch
        self.const_answer = (e["constant_answer"].asstr()[()] if "constant_answer" in e
                             else np.array([""] * len(ch)))
        self.stats = {k: float(g.attrs[k]) for k in ("tokens", "images", "answers", "targets",
                                                       "flops") if k in g.attrs}
        # per cell: {group id: [n, correct, exact]}
        self.groups = []
        if "episode_start" in e:
            start = e["episode_start"][()]
            gid, ec, ee = e["episode_group"][()], e["episode_correct"][()], e["episode_exact"][()]
            for r in range(len(n)):
                end = int(start[r + 1]) if r + 1 < len(start) else len(gid)
                s = slice(int(start[r]), end)
                self.groups.append(self._sum_groups(gid[s], ec[s], ee[s]))
        else:
            for r in range(len(n)):
                k = int(n[r])
                c = np.zeros(k, dtype=np.int64)
                x = np.zeros(k, dtype=np.int64)
                c[:int(cor[r])] = 1
                x[:int(exa[r])] = 1
                self.groups.append(self._sum_groups(np.arange(k), c, x))

    @staticmethod
    def _sum_groups(gid, c, x):
        out = {}
        for g, a, b in zip(gid.tolist(), c.tolist(), x.tolist()):
            t = out.setdefault(g, [0, 0, 0])
            t[0] += 1
            t[1] += a
            t[2] += b
        return out


def seed_of(f, name):
    """The seed of run group `name`: the sweep's seed axis, else the config's `seed`."""
    if "sweep" in f:
        keys = list(f["sweep/axis_keys"].asstr()[()])
        names = list(f["run_names"].asstr()[()])
        if "seed" in keys:
            vals = np.array(f["sweep/axis_values"].asstr()[()]).reshape(len(names), len(keys))
            return vals[names.index(name), keys.index("seed")]
    g = f["runs"][name]
    text = g["config"][()] if "config" in g else f["config"][()]
    text = text.decode() if isinstance(text, bytes) else str(text)
    m = re.search(r"^\s*seed\s*=\s*(\d+)", text, re.M)
    return m.group(1) if m else "?"


def model_runs(f):
    """{model: {seed value: run group}}: by the sweep's `run` axis, or one run per model."""
    names = list(f["run_names"].asstr()[()])
    out = {}
    if "sweep" not in f:
        for n in names:
            out[n] = {seed_of(f, n): n}
        return out
    keys = list(f["sweep/axis_keys"].asstr()[()])
    vals = np.array(f["sweep/axis_values"].asstr()[()]).reshape(len(names), len(keys))
    if "run" not in keys:
        sys.exit(f"{f.filename}: the sweep has no `run` axis (axes: {', '.join(keys)})")
    for n, v in zip(names, vals[:, keys.index("run")]):
        out.setdefault(v, {})[seed_of(f, n)] = n
    return out


class Boot:
    """Per (seed, benchmark, ways) block: one shared draw of episode groups per replicate, so
    that every model seen with that seed is resampled on the same episodes."""

    def __init__(self, runs, n_boot, rng):
        self.n_boot = n_boot
        self.universe = {}  # (seed, bench, ways) -> sorted group ids
        for seed, run in runs:
            for r in range(len(run.bench)):
                key = (seed, run.bench[r], int(run.ways[r]))
                self.universe.setdefault(key, set()).update(run.groups[r].keys())
        self.weights = {}
        for key in sorted(self.universe, key=str):
            ids = sorted(self.universe[key])
            self.universe[key] = {g: i for i, g in enumerate(ids)}
            G = len(ids)
            idx = rng.integers(G, size=(n_boot, G)) + G * np.arange(n_boot)[:, None]
            w = np.bincount(idx.ravel(), minlength=n_boot * G).reshape(n_boot, G)
            self.weights[key] = np.vstack([np.ones((1, G)), w])  # row 0: the data as drawn

    def cell_acc(self, seed, run, r):
        """{rule: accuracy per replicate (index 0: as drawn)} of row r of run."""
        key = (seed, run.bench[r], int(run.ways[r]))
        pos = self.universe[key]
        vec = np.zeros((3, len(pos)))
        for g, t in run.groups[r].items():
            vec[:, pos[g]] = t
        w = self.weights[key]
        n = w @ vec[0]
        n[n == 0] = 1
        return {"ranked": (w @ vec[1]) / n, "exact": (w @ vec[2]) / n}


def ch_of(run, r):
    """The chance of row r: the larger of guessing and the best constant answer."""
    return max(run.chance_random[r], run.chance_constant[r])


def run_metrics(boot, seed, run):
    """{bench: {rule: {acc, gain, norm}}} per replicate for one run, plus chance per bench."""
    out, chance = {}, {}
    for b in dict.fromkeys(run.bench):
        rows = np.where(run.bench == b)[0]
        k = [r for r in rows if run.shots[r] >= 1 or b == "zeroshot"]
        z = [r for r in rows if run.shots[r] == 0 and b != "zeroshot"]
        accs = {r: boot.cell_acc(seed, run, r) for r in rows}
        chance[b] = (float(np.mean([ch_of(run, r) for r in k])),
                     "constant" if np.mean(run.chance_constant[k]) >= np.mean(run.chance_random[k])
                     else "random")
        out[b] = {}
        for rule, _ in RULES:
            acc = np.mean([accs[r][rule] for r in k], axis=0)
            gain = acc - np.mean([accs[r][rule] for r in z], axis=0) if z else acc * np.nan
            norm = [(accs[r][rule] - ch_of(run, r)) / (1 - ch_of(run, r)) for r in k
                    if ch_of(run, r) < 1 - 1e-9]  # a cell whose one answer is always right
            floor = np.mean(np.maximum(norm, 0), axis=0) if norm else acc * np.nan
            norm = np.mean(norm, axis=0) if norm else acc * np.nan  # measures nothing
            out[b][rule] = {"acc": acc, "gain": gain, "norm": norm, "floor": floor}
    return out, chance


def headline_benches(benches):
    out = []
    for fam, cands in HEADLINE:
        for c in cands:
            if c in benches:
                out.append((fam, c))
                break
    return out


def add_headline(m, heads):
    for rule, _ in RULES:
        for q in ("norm", "floor", "gain"):
            vals = [m[b][rule][q] for _, b in heads if not np.isnan(m[b][rule][q][0])]
            m.setdefault("headline", {}).setdefault(rule, {})[q] = (
                np.mean(vals, axis=0) if vals else np.full(len(m[heads[0][1]][rule]["acc"]),
                                                           np.nan))


def seed_boot(per_seed, seeds, rng, n_boot):
    """Point estimate and 95% interval of the mean over seeds of per-seed replicate arrays
    (index 0: as drawn): each replicate draws the seeds with replacement."""
    arr = np.array([per_seed[s] for s in seeds])  # seeds x (1 + n_boot)
    point = float(arr[:, 0].mean())
    if arr.shape[1] == 1:
        return point, np.nan, np.nan
    pick = rng.integers(len(seeds), size=(n_boot, len(seeds)))
    reps = arr[pick, 1 + np.arange(n_boot)[:, None]].mean(axis=1)
    lo, hi = np.nanpercentile(reps, [2.5, 97.5])
    return point, float(lo), float(hi)


def stat(metrics, model, seeds, bench, rule, q, rng, n_boot, minus=None):
    """(point, lo, hi) of metric q of bench for model over seeds; with minus, the paired
    difference model - minus over the seed values both have."""
    if minus is not None:
        seeds = [s for s in seeds if s in metrics[minus]]
        per = {s: metrics[model][s][bench][rule][q] - metrics[minus][s][bench][rule][q]
               for s in seeds}
    else:
        per = {s: metrics[model][s][bench][rule][q] for s in seeds}
    if not seeds:
        return np.nan, np.nan, np.nan
    return seed_boot(per, seeds, rng, n_boot)


def fmt(p, lo, hi, points=False):
    """An accuracy (3 decimals) or a signed difference in points, with the interval's
    half-width (the percentile interval, halved) when there is one."""
    if np.isnan(p):
        return "-"
    if points:
        s = f"{100 * p:+.1f}"
        return s if np.isnan(lo) else s + f" [{100 * lo:+.1f}, {100 * hi:+.1f}]"
    s = f"{p:.3f}"
    return s if np.isnan(lo) else s + f" ±{(hi - lo) / 2:.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="+")
    ap.add_argument("-o", "--out", default=None, help="shot-curve figure (PNG)")
    ap.add_argument("--md", default=None, help="also write the tables and checks to this file")
    ap.add_argument("--recipe", default=RECIPE, help="the model the checks are about")
    ap.add_argument("--baselines", default=",".join(BASELINES),
                    help="comma-separated baseline models")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap replicates")
    a = ap.parse_args()
    recipe, baselines = a.recipe, [b for b in a.baselines.split(",") if b]
    runs = {}
    for path in a.results:
        try:
            f = h5py.File(path, "r")
        except OSError as err:
            print(f"{path}: cannot read: {err}", file=sys.stderr)
            return 2
        for m, sr in model_runs(f).items():
            for s, n in sr.items():
                if s in runs.get(m, {}):
                    print(f"{path}: model {m} seed {s} occurs twice", file=sys.stderr)
                    return 2
                runs.setdefault(m, {})[s] = Run(f, n)
    rng = np.random.default_rng(20240601)
    boot = Boot([(s, r) for sr in runs.values() for s, r in sr.items()], a.boot, rng)
    metrics, chances = {}, {}
    for m, sr in runs.items():
        metrics[m] = {}
        for s, r in sr.items():
            metrics[m][s], ch = run_metrics(boot, s, r)
            for b, c in ch.items():
                chances.setdefault(b, []).append(c)
    first = next(iter(next(iter(runs.values())).values()))
    benches = [b for b in dict.fromkeys(first.bench) if b != "zeroshot"]
    has_zs = "zeroshot" in set(first.bench)
    heads = headline_benches(benches)
    if not heads:
        print(f"{a.results[0]}: none of the headline benchmarks was evaluated", file=sys.stderr)
        return 2
    for m in metrics:
        for s in metrics[m]:
            add_headline(metrics[m][s], heads)

    def S(m, b, rule, q, minus=None):
        return stat(metrics, m, sorted(metrics[m]), b, rule, q, rng, a.boot, minus)

    lines = []
    # compute per run
    lines.append("Compute per run (mean over seeds): tokens, images, supervised answers, "
                 "training FLOPs.")
    lines.append("")
    lines.append("| model | seeds | tokens | images | answers | FLOPs |")
    lines.append("|---|---|---|---|---|---|")
    for m, sr in runs.items():
        st = [r.stats for r in sr.values()]

        def mean_of(k):
            v = [x[k] for x in st if k in x]
            return np.mean(v) if v else np.nan
        cols = [f"{mean_of(k):,.0f}" if not np.isnan(mean_of(k)) else "-"
                for k in ("tokens", "images", "answers")]
        fl = mean_of("flops")
        cols.append(f"{fl:.3g}" if not np.isnan(fl) else "-")
        lines.append(f"| {m} | {len(sr)} | " + " | ".join(cols) + " |")
    heads_b = [b for _, b in heads]
    others = [b for b in benches if b not in heads_b]
    for rule, label in RULES:
        lines.append("")
        lines.append(f"Scored by {label}: accuracy over the cells with 1-4 shots, ± half the "
                     "95% bootstrap interval; in brackets the gain over 0 shots. Headline: "
                     "chance-normalised accuracy averaged over one benchmark per family, "
                     "[95% interval]; floored: the same with every cell below its chance "
                     "counted as chance.")
        lines.append("")
        head = (["model", "seeds", "headline", "floored"] + heads_b + others +
                (["zeroshot"] if has_zs else []))
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        ch = []
        for b in heads_b + others:
            v = chances.get(b, [])
            p = np.mean([x[0] for x in v]) if v else np.nan
            kind = max(set(x[1] for x in v), key=[x[1] for x in v].count) if v else ""
            ch.append(f"{p:.3f} ({kind})")
        lines.append("| chance | | 0 | 0 | " + " | ".join(ch) + (" | |" if has_zs else " |"))
        for m in metrics:
            hp, hl, hh = S(m, "headline", rule, "norm")
            fp, fl, fh = S(m, "headline", rule, "floor")
            row = [m, str(len(metrics[m])), f"**{hp:.3f}**" +
                   ("" if np.isnan(hl) else f" [{hl:.3f}, {hh:.3f}]"),
                   f"{fp:.3f}" + ("" if np.isnan(fl) else f" [{fl:.3f}, {fh:.3f}]")]
            for b in heads_b + others:
                acc = fmt(*S(m, b, rule, "acc"))
                g = S(m, b, rule, "gain")
                row.append(acc + ("" if np.isnan(g[0]) else f" ({100 * g[0]:+.1f})"))
            if has_zs:
                row.append(fmt(*S(m, "zeroshot", rule, "acc")))
            lines.append("| " + " | ".join(row) + " |")

    checks = []
    if recipe in metrics:
        base = [b for b in baselines if b in metrics]
        what = {"norm": "headline ({}): ",
                "floor": "headline floored at chance ({}; a cell below its chance counts as "
                         "chance): "}
        for q in ("norm", "floor") if base else ():
            for rule, label in RULES:
                best = max(base, key=lambda b: S(b, "headline", rule, q)[0])
                d = S(recipe, "headline", rule, q, minus=best)
                checks.append((d[1] > 0 if not np.isnan(d[1]) else d[0] > 0,
                               what[q].format(label) +
                               f"recipe {S(recipe, 'headline', rule, q)[0]:.3f}, best baseline "
                               f"{best} {S(best, 'headline', rule, q)[0]:.3f}: "
                               f"{fmt(*d, points=True)} points"
                               + (" of chance-normalised accuracy" if q == "norm" else "")
                               + " (needs the interval above 0)"))
        if has_zs and "instruction" in metrics:
            d = S(recipe, "zeroshot", "ranked", "acc", minus="instruction")
            ok = (d[1] if not np.isnan(d[1]) else d[0]) > -0.03
            checks.append((ok, f"zeroshot retention: recipe - instruction {fmt(*d, points=True)} "
                               "points (needs the interval above -3)"))
        for fam, b in heads + [("", x) for x in others]:
            g = S(recipe, b, "exact", "gain")
            txt = f"{b}: recipe gain over 0 shots {fmt(*g, points=True)} points (exact match)"
            if base:
                best = max(base, key=lambda x: S(x, b, "exact", "acc")[0])
                txt += (f"; minus best baseline {best}: "
                        f"{fmt(*S(recipe, b, 'exact', 'acc', minus=best), points=True)}")
            checks.append((None, txt))
        for m in metrics:
            if m in baselines or m == recipe:
                continue
            d = S(m, "headline", "exact", "norm", minus=recipe)
            dr = S(m, "headline", "ranked", "norm", minus=recipe)
            zs = ""
            if has_zs:
                zs = f"; zeroshot {fmt(*S(m, 'zeroshot', 'ranked', 'acc', minus=recipe), points=True)}"
            checks.append((None, f"ablation {m}: headline {fmt(*d, points=True)} points vs the "
                                 f"recipe by exact match, {fmt(*dr, points=True)} ranked (paired "
                                 f"by seed value){zs}"))
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
        plot(runs, benches, recipe, baselines, a.out)
    return 0 if all(ok is None or bool(ok) for ok, _ in checks) else 1


def plot(runs, benches, recipe, baselines, out):
    first = next(iter(next(iter(runs.values())).values()))
    panels = []
    for b in benches:
        sel = first.bench == b
        for w in sorted(set(first.ways[sel])):
            panels.append((b, w))
    ncol = min(4, len(panels))
    nrow = (len(panels) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (b, w) in zip(axes.flat, panels):
        for i, (m, sr) in enumerate(runs.items()):
            col = colours[i % len(colours)]
            rs = list(sr.values())
            sel = (rs[0].bench == b) & (rs[0].ways == w)
            shots = rs[0].shots[sel]
            for rule, ls in (("exact", "-"), ("ranked", "--")):
                acc = []
                for r in rs:
                    s = np.where((r.bench == b) & (r.ways == w))[0]
                    acc.append([sum(t[2 if rule == "exact" else 1] for t in r.groups[k].values()) /
                                max(1, sum(t[0] for t in r.groups[k].values())) for k in s])
                acc = np.array(acc)
                ax.plot(shots, acc.mean(0), marker="o", ms=3, ls=ls, color=col,
                        lw=2 if m == recipe else 1, label=m if rule == "exact" else None)
        ch = [max(x, y) for x, y in zip(rs[0].chance_random[sel], rs[0].chance_constant[sel])]
        ax.plot(shots, ch, color="grey", lw=0.8, ls=":")
        ax.set(title=f"{b} {w}-way" if w > 0 else b, xlabel="shots", ylabel="accuracy",
               ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("exact match (solid), ranked (dashed), chance (dotted); mean over seeds",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
