"""device_compare.py MODE A B [options] - two micl results or checkpoint files, compared for the
device tests (host_as_device_test.sh, gpu_e2e_test.sh).

  same A B             every dataset and attribute bit for bit, except wall-time and machine
                       fields (timings, host, creation time, paths) and, with --any-device, the
                       device attributes
  parity CPU GPU       a GPU run against the CPU run of the same config: results files (every
                       run's curve) or checkpoints (parameters, AdamW moments), within the
                       tolerances given
  counts A B           evaluation counts (correct, exact_match) per cell of every run, at most
                       --slack prompts apart
Prints what it compared; exit status 0 when it holds, 1 when not.
"""
import argparse
import sys

import h5py
import numpy as np

# fields that differ between identical runs: wall time, the machine, where files were written
# (and strings_crc32, the checksum of string attributes, some of which are such fields)
MACHINE = {"train_seconds", "eval_seconds", "tokens_per_s", "created", "hostname",
           "config_path", "checkpoint", "threads", "world_size", "isa", "strings_crc32"}
DEVICE = {"device", "precision"}


def same(a, b, skip):
    bad = counted = 0

    def attrs(x, y, name):
        nonlocal bad, counted
        for k in sorted(set(x.attrs) | set(y.attrs)):
            if k in skip:
                continue
            if k not in x.attrs or k not in y.attrs:
                print(f"{name} attribute {k}: only in {'A' if k in x.attrs else 'B'}")
                bad += 1
                continue
            counted += 1
            if np.asarray(x.attrs[k]).tobytes() != np.asarray(y.attrs[k]).tobytes():
                print(f"{name} attribute {k}: {x.attrs[k]!r} vs {y.attrs[k]!r}")
                bad += 1

    def walk(x, y, name):
        nonlocal bad, counted
        attrs(x, y, name or "/")
        if isinstance(x, h5py.Dataset):
            if name.rsplit("/", 1)[-1] in skip:
                return
            counted += 1
            vx, vy = x[()], y[()]
            if x.dtype.kind == "O" or y.dtype.kind == "O":
                ok = np.array_equal(np.asarray(vx, dtype=object), np.asarray(vy, dtype=object))
            else:
                ok = x.dtype == y.dtype and np.asarray(vx).tobytes() == np.asarray(vy).tobytes()
            if not ok:
                print(f"{name}: differs")
                bad += 1
            return
        for k in sorted(set(x) | set(y)):
            if k not in x or k not in y:
                print(f"{name}/{k}: only in {'A' if k in x else 'B'}")
                bad += 1
                continue
            walk(x[k], y[k], f"{name}/{k}")

    walk(a, b, "")
    return bad, counted


def rel(x, y):
    return np.abs(x - y) / np.maximum(np.abs(x), 1e-30)


def parity(a, b, o):
    bad = 0
    if "runs" in a:  # results: every run's curve, point by point (train.log_every = 1: per step)
        for run in a["run_names"].asstr()[()]:
            for k in ("loss",):
                x, y = a[f"runs/{run}/train/{k}"][()], b[f"runs/{run}/train/{k}"][()]
                r = rel(x, y)
                print(f"{run}/train/{k}: {len(x)} points, max relative difference {r.max():.2e} "
                      f"(tolerance {o.loss_rel:.0e})")
                bad += int(len(x) != len(y) or not (r <= o.loss_rel).all())
    else:  # a checkpoint: the arena
        for k in ("params", "adam_m", "adam_v"):
            x, y = a[k][()].astype(np.float64), b[k][()].astype(np.float64)
            d = np.abs(x - y)
            l2 = np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30)
            tol = o.param_rel_l2 if k != "adam_v" else 10 * o.param_rel_l2
            print(f"{k}: {x.size} floats, relative L2 difference {l2:.2e} (tolerance {tol:.0e}), "
                  f"max |difference| {d.max():.2e}, {(d > 1e-4).sum()} above 1e-4")
            bad += int(not l2 <= tol)
        step_a, step_b = a.attrs["step"], b.attrs["step"]
        if step_a != step_b:
            print(f"step {step_a} vs {step_b}")
            bad += 1
    return bad


def counts(a, b, o):
    bad = 0
    for run in a["run_names"].asstr()[()]:
        e, f = a[f"runs/{run}/eval"], b[f"runs/{run}/eval"]
        for k in ("episodes",):
            if not np.array_equal(e[k][()], f[k][()]):
                print(f"{run}/eval/{k} differs")
                bad += 1
        for k in ("correct", "exact_match"):
            d = np.abs(e[k][()].astype(np.int64) - f[k][()].astype(np.int64))
            print(f"{run}/eval/{k}: {len(d)} cells, {int((d > 0).sum())} differ, at most by "
                  f"{int(d.max()) if len(d) else 0} (allowed {o.slack})")
            bad += int((d > o.slack).any())
    return bad


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("same", "parity", "counts"))
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--any-device", action="store_true")
    p.add_argument("--loss-rel", type=float, default=1e-4)
    p.add_argument("--param-rel-l2", type=float, default=1e-3)
    p.add_argument("--slack", type=int, default=0)
    o = p.parse_args()
    a, b = h5py.File(o.a, "r"), h5py.File(o.b, "r")
    if o.mode == "same":
        bad, n = same(a, b, MACHINE | (DEVICE if o.any_device else set()))
        print(f"{o.a} vs {o.b}: {n} datasets and attributes compared, {bad} differences")
    elif o.mode == "parity":
        bad = parity(a, b, o)
    else:
        bad = counts(a, b, o)
    print(f"{o.mode} {o.a} {o.b}: {'ok' if not bad else 'FAILED'}")
    sys.exit(1 if bad else 0)


main()
