#!/usr/bin/env bash
# resume_test.sh MICL SRC WORK - preemption and resume give the bytes of an uninterrupted run.
#  1. SIGTERM (raised by rank 0 at a known step, test hook) under mpirun -np 2: exit code 3,
#     a checkpoint, results holding only finished runs; `--resume` with np=1 completes it.
#  2. kill -9 at an arbitrary moment of a longer run with periodic checkpoints; `--resume`.
# Both must match an uninterrupted run bit for bit: parameters, AdamW moments, curves, evals
# and the run statistics (tokens, images, answers, targets, FLOPs continue from the checkpoint).
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
cfg() { # cfg OUTDIR STEPS CHECKPOINT_EVERY
    sed -e "s|^output_dir = .*|output_dir = \"$1\";|" -e "s|cache_dir = .*|cache_dir = \"cache\";|" \
        -e "s|steps = 12;|steps = $2; checkpoint_every = $3;|" "$SRC/configs/tiny.cfg"
}
compare() { # compare DIR_A DIR_B
    "$PY" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = sys.argv[1], sys.argv[2]
bad = 0
for run in ("base", "icl"):
    x, y = h5py.File(f"{a}/{run}.ckpt.h5", "r"), h5py.File(f"{b}/{run}.ckpt.h5", "r")
    for k in ("params", "adam_m", "adam_v"):
        if x[k][()].tobytes() != y[k][()].tobytes():
            print(f"{run}/{k} differs"); bad += 1
    for k in ("step", "stage", "stage_step", "stage_acc"):
        if x.attrs[k] != y.attrs[k]:
            print(f"{run} attribute {k} differs"); bad += 1
ra, rb = h5py.File(f"{a}/results.h5", "r"), h5py.File(f"{b}/results.h5", "r")
for run in ("base", "icl"):
    for k in ("train/step", "train/loss", "train/lr", "train/grad_norm", "train/train_icl_acc",
              "train/stage", "stage_start", "eval/correct", "eval/exact_match"):
        if not np.array_equal(ra[f"runs/{run}/{k}"][()], rb[f"runs/{run}/{k}"][()]):
            print(f"{run}/{k} differs"); bad += 1
    for k in ("tokens", "images", "answers", "targets", "flops"):  # the run statistics
        if ra[f"runs/{run}"].attrs[k] != rb[f"runs/{run}"].attrs[k]:
            print(f"{run} {k} differ"); bad += 1
print(f"{a} vs {b}: {'identical' if not bad else str(bad) + ' differences'}")
sys.exit(1 if bad else 0)
PY
}

cfg ref 40 0 > ref.cfg
"$MICL" data prepare ref.cfg > /dev/null
"$MICL" train ref.cfg > ref.log

# 1. SIGTERM at step 14 of the first run, two ranks; resume with one rank.
cfg pre 40 0 > pre.cfg
set +e
MICL_TEST_SIGTERM_AT_STEP=13 mpirun -np 2 "$MICL" train pre.cfg > pre1.log 2>&1
rc=$?
set -e
cat pre1.log | tail -3
[ "$rc" -eq 3 ] || { echo "expected exit code 3 after SIGTERM, got $rc"; exit 1; }
grep -q "stop requested: checkpoint at step 14" pre1.log
"$PY" -c "
import h5py
f = h5py.File('pre/base.ckpt.h5', 'r'); assert f.attrs['step'] == 14, f.attrs['step']
r = h5py.File('pre/results.h5', 'r'); assert len(r['run_names']) == 0"
"$MICL" train pre.cfg --resume > pre2.log
grep -q "resuming from pre/base.ckpt.h5 at step 14" pre2.log
compare ref pre

# 2. kill -9 somewhere in a longer run with a checkpoint every 25 steps, then resume.
cfg ref9 1500 25 > ref9.cfg
"$MICL" train ref9.cfg > ref9.log
cfg k9 1500 25 > k9.cfg
"$MICL" train k9.cfg > k9a.log 2>&1 &
pid=$!
sleep 1.5
kill -9 "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
echo "killed at: $(grep -o 'step *[0-9]*/' k9a.log | tail -1)"
"$MICL" train k9.cfg --resume > k9b.log
grep -o "resuming from .* at step [0-9]*" k9b.log || echo "(killed before the first checkpoint)"
compare ref9 k9
echo "resume_test: ok"
