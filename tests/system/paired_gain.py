"""paired_gain.py RESULTS.h5 [--want-nontrivial] - the paired gain over the pixel reader, again.

For every run and row of a results file, from the stored per-prompt datasets alone
(episode_start, episodes, episode_group, episode_correct, episode_reference_nn,
episode_reference_mean): the references' per-prompt outcomes are 0 or 1, sum to
reference_nn_correct and reference_mean_correct, and are all 0 in rows without references; and
gain_over_nn, gain_over_nn_ci_low and gain_over_nn_ci_high equal, to 1e-12, the mean of
d = episode_correct - episode_reference_nn and dbar -+ 1.96 SE with the cluster-robust
SE^2 = G / (G - 1) * sum_g (D_g - n_g * dbar)^2 / n^2 over the G groups of episode_group
(docs/RESULTS.md); NaN without references (the interval also with fewer than 2 groups).
With --want-nontrivial, at least one row must have a non-zero gain and an interval of non-zero
width (so that the comparison tests something). Exit status 0 when all agree.
"""
import sys

import h5py
import numpy as np


def paired(cor, ref, grp):
    """dbar, low, high of one row by the formula of docs/RESULTS.md."""
    d = cor.astype(np.int64) - ref.astype(np.int64)
    n = len(d)
    dbar = d.sum() / n
    _, inv = np.unique(grp, return_inverse=True)
    big_d = np.bincount(inv, weights=d)
    n_g = np.bincount(inv)
    g = len(n_g)
    if g < 2:
        return dbar, np.nan, np.nan
    se = np.sqrt(g / (g - 1) * ((big_d - n_g * dbar) ** 2).sum() / n ** 2)
    return dbar, dbar - 1.96 * se, dbar + 1.96 * se


def close(x, y):
    return (np.isnan(x) and np.isnan(y)) or abs(x - y) <= 1e-12


def check_run(name, e):
    """(rows checked, rows with a non-trivial gain); asserts on a difference."""
    start, eps = e["episode_start"][()], e["episodes"][()]
    grp, cor = e["episode_group"][()], e["episode_correct"][()]
    rnn, rmean = e["episode_reference_nn"][()], e["episode_reference_mean"][()]
    scored = e["reference_scored"][()]
    assert rnn.dtype == np.uint8 and rmean.dtype == np.uint8, (rnn.dtype, rmean.dtype)
    assert len(rnn) == len(cor) == len(rmean), (len(rnn), len(cor), len(rmean))
    assert set(np.unique(rnn)) <= {0, 1} and set(np.unique(rmean)) <= {0, 1}
    stored = [e[k][()] for k in ("gain_over_nn", "gain_over_nn_ci_low", "gain_over_nn_ci_high")]
    rows = nontrivial = 0
    for i in range(len(eps)):
        s = slice(start[i], start[i] + eps[i])
        assert rnn[s].sum() == e["reference_nn_correct"][i], (name, i, "nn sum")
        assert rmean[s].sum() == e["reference_mean_correct"][i], (name, i, "mean sum")
        if not scored[i]:
            assert rnn[s].sum() == 0 and rmean[s].sum() == 0, (name, i, "unscored row not 0")
            want = (np.nan, np.nan, np.nan)
        else:
            want = paired(cor[s], rnn[s], grp[s])
        got = tuple(float(x[i]) for x in stored)
        assert all(close(a, b) for a, b in zip(got, want)), (name, i, got, want)
        if scored[i]:  # equals accuracy - reference_nn_accuracy in value
            assert abs(got[0] - (e["accuracy"][i] - e["reference_nn_accuracy"][i])) < 1e-12
        rows += 1
        nontrivial += bool(scored[i]) and got[0] != 0 and got[2] > got[1]
    return rows, nontrivial


def main():
    f = h5py.File(sys.argv[1], "r")
    rows = nontrivial = 0
    for run in f["run_names"].asstr()[()]:
        r, n = check_run(run, f[f"runs/{run}/eval"])
        rows += r
        nontrivial += n
    print(f"{sys.argv[1]}: paired gain of {rows} rows agrees ({nontrivial} non-trivial)")
    if "--want-nontrivial" in sys.argv and nontrivial == 0:
        print("no row has a non-zero gain with an interval of non-zero width")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
