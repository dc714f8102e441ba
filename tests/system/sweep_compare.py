#!/usr/bin/env python3
"""sweep_compare.py A.h5 B.h5 [--checkpoints] - are two sweep results files the same results?

Compares, bit for bit, every dataset and attribute of the two files except the wall-time and
machine fields (created, hostname, world_size, threads, config_path, train_seconds,
eval_seconds, tokens_per_s, checkpoint, the train/tokens_per_s curve and the stall log, and
strings_crc32, the checksum that covers some of them) and the
sweep file's own text and ranks_per_run (the runs' resolved configs are compared), and
checks each file holds every run exactly once. With --checkpoints, also compares the params,
adam_m and adam_v of each run's checkpoint (the path stored in each file) bit for bit.
Exit status 0 when equal; prints every difference otherwise.
"""
import sys

import h5py
import numpy as np

SKIP_ATTRS = {"created", "hostname", "world_size", "threads", "config_path", "train_seconds",
              "eval_seconds", "tokens_per_s", "checkpoint", "micl_version", "ranks_per_run",
              "strings_crc32"}
SKIP_DATA = {"tokens_per_s", "stalls"}


def items(f):
    out = {}

    def visit(name, obj):
        if name.split("/")[-1] in SKIP_DATA or name == "config":
            return
        if isinstance(obj, h5py.Dataset):
            out[name] = obj[()]
        for k, v in obj.attrs.items():
            if k not in SKIP_ATTRS:
                out[f"{name}@{k}"] = v

    for k, v in f.attrs.items():
        if k not in SKIP_ATTRS:
            out[f"@{k}"] = v
    f.visititems(visit)
    return out


def same(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind in "fiu" and y.dtype.kind in "fiu":
        return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
    return x.shape == y.shape and np.array_equal(x, y)


def main():
    a_path, b_path = sys.argv[1], sys.argv[2]
    a, b = h5py.File(a_path, "r"), h5py.File(b_path, "r")
    bad = 0
    for f, p in ((a, a_path), (b, b_path)):
        names = list(f["run_names"].asstr())
        n = int(f["sweep"].attrs["n_expanded"])
        idx = [int(f[f"runs/{r}"].attrs["sweep_index"]) for r in names]
        if len(set(names)) != len(names) or sorted(idx) != list(range(n)):
            print(f"{p}: runs {names} (indices {idx}) are not every run of {n} exactly once")
            bad += 1
    ia, ib = items(a), items(b)
    for k in sorted(set(ia) | set(ib)):
        if k not in ia or k not in ib:
            print(f"{k}: only in {a_path if k in ia else b_path}")
            bad += 1
        elif not same(ia[k], ib[k]):
            print(f"{k}: differs")
            bad += 1
    if "--checkpoints" in sys.argv:
        for r in a["run_names"].asstr():
            ca = h5py.File(a[f"runs/{r}"].attrs["checkpoint"], "r")
            cb = h5py.File(b[f"runs/{r}"].attrs["checkpoint"], "r")
            for k in ("params", "adam_m", "adam_v"):
                if ca[k][()].tobytes() != cb[k][()].tobytes():
                    print(f"checkpoint of {r}: {k} differs")
                    bad += 1
    print(f"{a_path} vs {b_path}: {len(ia)} objects compared, {bad} difference(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
