#!/usr/bin/env bash
# host_as_device_test.sh MICL SRC WORK - the host-staging paths of a device backend, run on the
# CPU: MICL_TEST_HOST_AS_DEVICE=1 makes micl use the CPU kernels' table with host_memory = 0
# (worker/device.h), so every reader of model buffers outside model/ copies through host memory
# (checkpoint write and read, the evaluator's logits, the step's logits and tensor norms, the
# bench's parameters and GEMM operands) and training runs one micro-batch at a time. Everything
# must give the bytes of the plain CPU run: training (np=1 and np=2), a preempted and resumed
# run, `micl eval CFG`, `micl eval --checkpoint`, a benchmark with predictions, `micl bench step`.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
CMP="$PY $SRC/tests/system/device_compare.py"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
# the same config text in every folder (results and checkpoints hold it)
for d in cpu dev dev2 pre; do
    mkdir -p $d
    sed -e 's|^output_dir = .*|output_dir = "out";|' -e 's|cache_dir = .*|cache_dir = "../cache";|' \
        -e 's|log_every = 4;|log_every = 1;|' "$SRC/configs/tiny.cfg" > $d/tiny.cfg
done
"$MICL" data prepare cpu/tiny.cfg > /dev/null
dev() { MICL_TEST_HOST_AS_DEVICE=1 "$@"; }
same_run() { # same_run DIR_A DIR_B
    for f in results.h5 base.ckpt.h5 icl.ckpt.h5; do $CMP same "$1/out/$f" "$2/out/$f"; done
}

(cd cpu && "$MICL" train tiny.cfg > train.log)
(cd dev && dev "$MICL" train tiny.cfg > train.log)
grep -q "device: cpu (the host's processor, as a device" dev/train.log
same_run cpu dev
(cd dev2 && dev mpirun -np 2 "$MICL" train tiny.cfg > train.log)
same_run cpu dev2

# preempted at step 6 under two ranks, resumed with one
set +e
(cd pre && MICL_TEST_SIGTERM_AT_STEP=5 dev mpirun -np 2 "$MICL" train tiny.cfg > pre1.log 2>&1)
rc=$?
set -e
[ "$rc" -eq 3 ] || { echo "expected exit code 3 after SIGTERM, got $rc"; cat pre/pre1.log; exit 1; }
(cd pre && dev "$MICL" train tiny.cfg --resume > pre2.log)
grep -q "resuming from out/base.ckpt.h5 at step 6" pre/pre2.log
same_run cpu pre

# evaluation: the config's checkpoints, a checkpoint on a store, a benchmark with predictions
(cd cpu && "$MICL" eval tiny.cfg -o reeval.h5 > /dev/null)
(cd dev && dev "$MICL" eval tiny.cfg -o reeval.h5 > /dev/null)
$CMP same cpu/reeval.h5 dev/reeval.h5
for d in cpu dev; do
    pre=""
    [ $d = dev ] && pre="env MICL_TEST_HOST_AS_DEVICE=1"
    (cd $d && $pre "$MICL" eval --checkpoint out/icl.ckpt.h5 --dataset ../cache/glyphs.h5 --ways 2 \
        --shots 0,1,2 --episodes 24 -o ck.h5 > /dev/null)
    (cd $d && $pre "$MICL" eval tiny.cfg --benchmark openmi --checkpoint out/icl.ckpt.h5 \
        --ways 2 --shots 0,1 --episodes 12 --write-predictions pred.jsonl -o bench.h5 > /dev/null)
done
$CMP same cpu/ck.h5 dev/ck.h5
$CMP same cpu/bench.h5 dev/bench.h5
cmp cpu/pred.jsonl dev/pred.jsonl
echo "predictions: $(wc -l < cpu/pred.jsonl) lines, identical"

# the training-step bench: the same losses
"$MICL" bench step --config tiny --steps 3 --warmup 1 -o cpu/bench_step.h5 > /dev/null
dev "$MICL" bench step --config tiny --steps 3 --warmup 1 -o dev/bench_step.h5 > /dev/null
"$PY" - <<'PY'
import h5py
a, b = h5py.File("cpu/bench_step.h5", "r"), h5py.File("dev/bench_step.h5", "r")
assert a["loss"][()].tobytes() == b["loss"][()].tobytes(), "bench step losses differ"
assert a.attrs["device"] == "cpu" and a.attrs["precision"] == "fp32", dict(a.attrs)
print("bench step: the same losses;", a.attrs["device"], a.attrs["device_name"], a.attrs["precision"])
PY
"$PY" -c "
import h5py
r = h5py.File('dev/out/results.h5', 'r')
for run in ('base', 'icl'):
    a = r['runs/' + run].attrs
    assert a['device'] == 'cpu' and a['precision'] == 'fp32', dict(a)
print('results record device cpu, precision fp32')"
echo "host_as_device_test: ok"
