#!/usr/bin/env python3
"""plot_results.py RESULTS.h5 [-o OUT.png] - training curves and shot curves of a micl results file.

Left: training loss per run (stage changes marked); middle: train ICL accuracy; right: held-out
binding accuracy against shots, one line per (run, ways), with 95% intervals and chance.
Run with Debian's interpreter: /usr/bin/python3 scripts/plot_results.py runs/quickstart/results.h5
"""
import argparse

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("-o", "--out", default=None)
    a = ap.parse_args()
    out = a.out or a.results.rsplit(".", 1)[0] + ".png"
    f = h5py.File(a.results, "r")
    runs = [r.decode() if isinstance(r, bytes) else r for r in f["run_names"][()]]
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.5))
    for run in runs:
        t = f["runs"][run]["train"]
        (line,) = ax[0].plot(t["step"][()], t["loss"][()], label=run)
        for s in f["runs"][run]["stage_start"][()][1:]:
            ax[0].axvline(s, color=line.get_color(), ls=":", lw=0.8)
        if t["train_icl_acc"][()].max() > 0:  # runs without binding stages have no ICL accuracy
            ax[1].plot(t["step"][()], t["train_icl_acc"][()], label=run, color=line.get_color())
        e = f["runs"][run]["eval"]
        bench = e["benchmark"].asstr()[()]
        ways, shots = e["ways"][()], e["shots"][()]
        acc, lo, hi = e["accuracy"][()], e["ci_low"][()], e["ci_high"][()]
        binding = (bench == "binding") | (bench == "openmi")
        for w in sorted(set(ways[binding])):
            sel = binding & (ways == w)
            ax[2].errorbar(shots[sel], acc[sel], yerr=[acc[sel] - lo[sel], hi[sel] - acc[sel]],
                           marker="o", capsize=3, label=f"{run} {w}-way", color=line.get_color(),
                           ls="-" if w == min(ways) else "--")
            ax[2].axhline(1.0 / w, color="grey", lw=0.6, ls=":")
    ax[0].set(xlabel="step", ylabel="training loss (answer tokens)", yscale="log", title="loss")
    ax[1].set(xlabel="step", ylabel="accuracy", title="train ICL accuracy (new instances)", ylim=(0, 1))
    ax[2].set(xlabel="shots", ylabel="accuracy", title="held-out classes, fresh fake names",
              ylim=(0, 1.02))
    for x in ax:
        x.grid(alpha=0.3)
        x.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
