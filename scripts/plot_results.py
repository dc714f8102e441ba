#!/usr/bin/env python3
"""plot_results.py RESULTS.h5 [-o OUT.png] [--by AXIS] - training and shot curves of a results file.

Left: training loss per run (stage changes marked); middle: train ICL accuracy; right: held-out
binding accuracy against shots, one line per (run, ways), with 95% intervals and chance, and the
pixel nearest-neighbour reference of the same episodes in grey (dash-dot; results files that
carry it: eval/reference_nn_accuracy, docs/RESULTS.md), drawn once per ways.

For a sweep results file (`micl sweep`), --by AXIS (e.g. run, seed, model.dim) draws one line
per value of that axis instead: the mean over the runs that share the value (the other axes),
with the spread (standard deviation) as a band on the curves and as error bars on the shot
curves. A fourth panel shows the gradient L2 norm of each parameter tensor of the first run.
Run with Debian's interpreter: /usr/bin/python3 scripts/plot_results.py runs/quickstart/results.h5
"""
import argparse

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def run_names(f):
    return list(f["run_names"].asstr()[()])


def groups_by_axis(f, axis):
    """{value: [run, ...]} in sweep order; fails clearly for an unknown axis."""
    if "sweep" not in f:
        raise SystemExit(f"--by {axis}: {f.filename} is not a sweep results file")
    keys = list(f["sweep/axis_keys"].asstr()[()])
    if axis not in keys:
        raise SystemExit(f"--by {axis}: the sweep's axes are {', '.join(keys)}")
    vals = np.array(f["sweep/axis_values"].asstr()[()]).reshape(len(run_names(f)), len(keys))
    out = {}
    for run, v in zip(run_names(f), vals[:, keys.index(axis)]):
        out.setdefault(f"{axis}={v}", []).append(run)
    return out


def shot_curves(f, run):
    """{ways: (shots, accuracy, ci_low, ci_high)} of the binding benchmark."""
    e = f["runs"][run]["eval"]
    bench = e["benchmark"].asstr()[()]
    ways, shots = e["ways"][()], e["shots"][()]
    out = {}
    binding = (bench == "binding") | (bench == "openmi")
    for w in sorted(set(ways[binding])):
        sel = binding & (ways == w)
        out[w] = (shots[sel], e["accuracy"][()][sel], e["ci_low"][()][sel], e["ci_high"][()][sel])
    return out


def reference_curves(f, run):
    """{ways: (shots, pixel 1-NN accuracy)} of the binding benchmark's cells with references."""
    e = f["runs"][run]["eval"]
    if "reference_nn_accuracy" not in e:
        return {}
    bench = e["benchmark"].asstr()[()]
    ways, shots, ok = e["ways"][()], e["shots"][()], e["reference_scored"][()] == 1
    binding = ((bench == "binding") | (bench == "openmi")) & ok
    nn = e["reference_nn_accuracy"][()]
    return {w: (shots[binding & (ways == w)], nn[binding & (ways == w)])
            for w in sorted(set(ways[binding]))}


def plot_references(f, ax):
    """The pixel 1-NN reference per ways (the first run's: every run of a file reads the same
    episodes unless its seed differs)."""
    names = run_names(f)
    curves = reference_curves(f, names[0]) if names else {}
    for w, (shots, nn) in curves.items():
        ax[2].plot(shots, nn, color="grey", ls="-." if w == min(curves) else (0, (3, 1, 1, 1, 1, 1)),
                   marker="x", label=f"pixel 1-NN {w}-way")


def plot_runs(f, ax):
    plot_references(f, ax)
    for run in run_names(f):
        t = f["runs"][run]["train"]
        (line,) = ax[0].plot(t["step"][()], t["loss"][()], label=run)
        for s in f["runs"][run]["stage_start"][()][1:]:
            ax[0].axvline(s, color=line.get_color(), ls=":", lw=0.8)
        if t["train_icl_acc"][()].max() > 0:  # runs without binding stages have no ICL accuracy
            ax[1].plot(t["step"][()], t["train_icl_acc"][()], label=run, color=line.get_color())
        curves = shot_curves(f, run)
        for w, (shots, acc, lo, hi) in curves.items():
            ax[2].errorbar(shots, acc, yerr=[acc - lo, hi - acc], marker="o", capsize=3,
                           label=f"{run} {w}-way", color=line.get_color(),
                           ls="-" if w == min(curves) else "--")
            ax[2].axhline(1.0 / w, color="grey", lw=0.6, ls=":")


def mean_band(ax, runs, f, key, label):
    """Mean and spread over runs of a curve; runs with other step grids are drawn alone."""
    steps = [f["runs"][r]["train/step"][()] for r in runs]
    ys = [f["runs"][r]["train"][key][()] for r in runs]
    if all(len(s) == len(steps[0]) and (s == steps[0]).all() for s in steps):
        y = np.array(ys)
        (line,) = ax.plot(steps[0], y.mean(0), label=f"{label} (n={len(runs)})")
        ax.fill_between(steps[0], y.mean(0) - y.std(0), y.mean(0) + y.std(0), alpha=0.2,
                        color=line.get_color())
        return line.get_color()
    color = None
    for s, y in zip(steps, ys):
        (line,) = ax.plot(s, y, color=color, lw=0.8, label=label if color is None else None)
        color = line.get_color()
    return color


def plot_groups(f, ax, axis):
    for label, runs in groups_by_axis(f, axis).items():
        color = mean_band(ax[0], runs, f, "loss", label)
        mean_band(ax[1], runs, f, "train_icl_acc", label)
        per_run = [shot_curves(f, r) for r in runs]
        for w in sorted(per_run[0]):
            shots = per_run[0][w][0]
            acc = np.array([c[w][1] for c in per_run if w in c and len(c[w][1]) == len(shots)])
            ax[2].errorbar(shots, acc.mean(0), yerr=acc.std(0), marker="o", capsize=3,
                           color=color, ls="-" if w == min(per_run[0]) else "--",
                           label=f"{label} {w}-way (n={len(acc)})")
            ax[2].axhline(1.0 / w, color="grey", lw=0.6, ls=":")


def plot_tensor_norms(f, ax):
    run = run_names(f)[0]
    t = f["runs"][run]["train"]
    if "grad_norm_tensor" not in t:
        ax.set_visible(False)
        return
    names = list(t["tensor_names"].asstr()[()])
    g = t["grad_norm_tensor"][()].reshape(len(t["step"]), len(names))
    for i, n in enumerate(names):
        ax.plot(t["step"][()], g[:, i], lw=0.8, label=n if i < 12 else None)
    ax.set(xlabel="step", ylabel="gradient L2 norm", yscale="log",
           title=f"gradient norm per tensor ({run})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("-o", "--out", default=None)
    ap.add_argument("--by", default=None, help="sweep axis: one line per value (mean, spread)")
    a = ap.parse_args()
    out = a.out or a.results.rsplit(".", 1)[0] + ".png"
    f = h5py.File(a.results, "r")
    sweep = "sweep" in f
    fig, ax = plt.subplots(1, 4 if sweep else 3, figsize=(21 if sweep else 16, 4.5))
    if a.by:
        plot_groups(f, ax, a.by)
    else:
        plot_runs(f, ax)
    if sweep:
        plot_tensor_norms(f, ax[3])
    ax[0].set(xlabel="step", ylabel="training loss (answer tokens)", yscale="log", title="loss")
    ax[1].set(xlabel="step", ylabel="accuracy", title="train ICL accuracy (new instances)",
              ylim=(0, 1))
    ax[2].set(xlabel="shots", ylabel="accuracy", title="held-out classes, fresh fake names",
              ylim=(0, 1.02))
    for x in ax:
        x.grid(alpha=0.3)
        x.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
