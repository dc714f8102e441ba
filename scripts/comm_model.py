#!/usr/bin/env python3
"""comm_model.py - an alpha-beta model of the gradient reduction, fitted to `micl bench comm`.

    python3 scripts/comm_model.py BENCH.h5 [BENCH.h5 ...] [--step-ms MS] [--micro-batches K]

Reads one or more HDF5 tables of `micl bench comm` (measurement "comm"; any rank counts, any
number of repeats: the median time of each (ranks, op, size) is used), and fits, per op,

    time = alpha * rounds(P) + beta * bytes(P, S)

by least squares on the relative error (every size from 4 B to the largest weighs the same),
where S is the vector's bytes, P the rank count, and rounds / bytes are what the busiest rank
does under the op's algorithm:

    tree_scatter   2(P-1) messages, 2(P-1)/P * S bytes sent (one maximal node per rank: P-1
                   slices out, then an all-gather that passes P-1 slices; the direct
                   reduce-scatter and a ring all-gather of comm_tree_scatter.c)
    allreduce      the same counts (a ring all-reduce; Open MPI picks its own algorithm, so this
                   is a description, not a promise)
    tree_reduce    (P-1) + ceil(log2 P) messages, (P-1 + ceil(log2 P)) * S bytes (rank 0 receives
                   every other rank's node whole, then a binomial broadcast of the sum)

It prints the fit and its residuals, the check that tree_scatter's time per byte is within
1.3x of MPI_Allreduce's for messages of 1 MiB or more (the median over the files of each
file's ratio: the two were timed side by side there), and the predicted share of a training
step that tree_scatter takes at 8, 64 and 512 ranks, for the quickstart (1.14 M fp32
parameters) and a 100 M-parameter model. The step's compute per rank is --step-ms (the
quickstart step at 1 thread, `micl bench step --config quickstart --threads 1`) divided by its
--micro-batches (4): each rank computes one micro-batch per step (the global batch grows with
the ranks). The 100 M model's compute scales with the parameters at the same tokens per
micro-batch and the same FLOP rate. The reduction is assumed not to overlap the compute (an
upper bound of its share).
"""
import argparse
import math
import sys

import h5py
import numpy as np

QUICKSTART_PARAMS = 1.14e6
LARGE_PARAMS = 100e6
RANKS = (8, 64, 512)


def rounds_bytes(op, p, s):
    """Messages and bytes sent by the busiest rank for op on p ranks and s bytes."""
    if op in ("tree_scatter", "allreduce"):
        return 2.0 * (p - 1), 2.0 * (p - 1) / p * s
    if op == "tree_reduce":
        lg = math.ceil(math.log2(p)) if p > 1 else 0
        return (p - 1) + lg, (p - 1 + lg) * s
    raise ValueError(op)


def load(paths):
    """{(ranks, op, size): median time_us over every file}, and the per-file ratios
    {(ranks, size): [tree_scatter / allreduce, ...]} (each file's rows were timed side by side,
    so their ratio is steadier than a ratio of medians on a busy machine)."""
    table, ratios = {}, {}
    for path in paths:
        with h5py.File(path, "r") as f:
            if f.attrs.get("measurement") != "comm":
                sys.exit("%s: not a `micl bench comm` table" % path)
            p = int(f.attrs["ranks"])
            ops = [o.decode() for o in f["op"][()]]
            mine = {}
            for op, size, t in zip(ops, f["size_bytes"][()], f["time_us"][()]):
                table.setdefault((p, op, int(size)), []).append(float(t))
                mine[(op, int(size))] = float(t)
            for (op, size), t in mine.items():
                if op == "tree_scatter" and ("allreduce", size) in mine:
                    ratios.setdefault((p, size), []).append(t / mine[("allreduce", size)])
    return {k: float(np.median(v)) for k, v in table.items()}, ratios


def fit(med, op):
    """alpha (s), beta (s/byte) of op over all its rows; the rows' relative residuals."""
    rows = [(p, s, t * 1e-6) for (p, o, s), t in med.items() if o == op and p > 1]
    if len(rows) < 2:
        return None
    a = np.array([[rounds_bytes(op, p, s)[0] / t, rounds_bytes(op, p, s)[1] / t]
                  for p, s, t in rows])
    coef, *_ = np.linalg.lstsq(a, np.ones(len(rows)), rcond=None)
    alpha, beta = (max(c, 0.0) for c in coef)
    res = [(p, s, t, model(op, p, s, alpha, beta)) for p, s, t in rows]
    return alpha, beta, res


def model(op, p, s, alpha, beta):
    r, b = rounds_bytes(op, p, s)
    return alpha * r + beta * b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--step-ms", type=float, default=None,
                    help="quickstart step at 1 thread (ms); no predictions without it")
    ap.add_argument("--micro-batches", type=int, default=4)
    args = ap.parse_args()
    med, ratios = load(args.files)
    ranks = sorted({p for p, _, _ in med})
    print("tables: %d file(s), rank counts %s; median time of each (ranks, op, size)"
          % (len(args.files), ranks))

    fits = {}
    print("\nfit: time = alpha * rounds + beta * bytes (busiest rank), relative least squares")
    print("  %-13s %12s %14s %12s %12s" % ("op", "alpha (us)", "beta (ns/B)", "1/beta GB/s",
                                          "max |err|"))
    for op in ("tree_scatter", "allreduce", "tree_reduce"):
        f = fit(med, op)
        if f is None:
            continue
        alpha, beta, res = f
        fits[op] = (alpha, beta)
        err = max(abs(m - t) / t for _, _, t, m in res)
        print("  %-13s %12.3f %14.4f %12.3f %11.0f%%"
              % (op, alpha * 1e6, beta * 1e9, (1e-9 / beta) if beta > 0 else float("inf"),
                 100 * err))
    if "tree_scatter" in fits:
        alpha, beta, res = fit(med, "tree_scatter")
        print("\ntree_scatter, measured against the fit (>= 64 KiB):")
        print("  %5s %12s %14s %14s" % ("ranks", "size (B)", "measured (us)", "model (us)"))
        for p, s, t, m in sorted(res):
            if s >= 65536:
                print("  %5d %12d %14.1f %14.1f" % (p, s, t * 1e6, m * 1e6))

    print("\ntime per byte, tree_scatter / allreduce, messages >= 1 MiB (limit 1.3): the median"
          " of the runs' ratios [their range]")
    worst = 0.0
    for p in ranks:
        cells = []
        for (q, s), r in sorted(ratios.items()):
            if q == p and s >= (1 << 20):
                worst = max(worst, float(np.median(r)))
                cells.append("%d MiB %.2f [%.2f-%.2f]" % (s >> 20, np.median(r), min(r), max(r)))
        if cells:
            print("  np %d: %s" % (p, ", ".join(cells)))
    if worst:
        print("  worst median %.2f: %s" % (worst, "within 1.3x" if worst <= 1.3 else "OVER 1.3x"))

    if args.step_ms is None or "tree_scatter" not in fits:
        return
    alpha, beta = fits["tree_scatter"]
    mb_ms = args.step_ms / args.micro_batches
    print("\npredicted share of a step (tree_scatter; compute per rank = one micro-batch):")
    for name, params in (("quickstart", QUICKSTART_PARAMS), ("100M", LARGE_PARAMS)):
        s = 4 * params
        comp = mb_ms * 1e-3 * params / QUICKSTART_PARAMS
        print("  %s: %.1f MB of gradient, compute %.1f ms per rank and step"
              % (name, s / 1e6, comp * 1e3))
        for p in RANKS:
            t = model("tree_scatter", p, s, alpha, beta)
            r, b = rounds_bytes("tree_scatter", p, s)
            print("    P = %4d: reduction %9.2f ms (latency %7.2f ms, bytes %8.2f ms), "
                  "share %5.1f%%" % (p, t * 1e3, alpha * r * 1e3, beta * b * 1e3,
                                     100 * t / (t + comp)))


if __name__ == "__main__":
    main()
