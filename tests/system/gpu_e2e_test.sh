#!/usr/bin/env bash
# gpu_e2e_test.sh MICL SRC WORK PROBE CASE - micl on a GPU (--device cuda) against itself and
# the CPU, on the tiny config trained for 20 steps with a curve point every step. Exits 77
# (skipped) when PROBE (gpu_probe) cannot open the CUDA backend: no module in this build, no
# CUDA libraries, no GPU. CASE:
#   parity  the GPU run in fp32 against the CPU run: every step's loss within 1e-4 relative;
#           the final parameters and AdamW moments within a relative L2 difference of 1e-3
#           (moment v: 1e-2). Both sides compute in fp32 and differ only in the order of the sums
#           inside products and reductions (~1e-7 relative per operation); over 20 AdamW steps
#           that grows where a gradient is near zero (AdamW divides by its running RMS), so an
#           element may move by up to a few learning rates differently, but the arena as a
#           whole stays within ~1e-4; a wrong kernel gives 1e-2 or more.
#   repeat  the GPU run twice: bit-identical checkpoints and results (a fixed order in every
#           sum, no atomics)
#   resume  preempted after step 10 (checkpoint), resumed to 20 on the GPU: the bits of a
#           straight 20-step GPU run
#   eval    the CPU-trained checkpoints evaluated on the CPU and on the GPU: the same prompts,
#           per-cell counts at most 1 apart (a prompt whose two best candidates score within
#           the sums' rounding of each other may rank them the other way on the other device)
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3 PROBE=$4 CASE=$5
PY=/usr/bin/python3
CMP="$PY $SRC/tests/system/device_compare.py"
# the probe and micl open the same module: the one the build put beside micl, unless one is named
if [ -z "${MICL_CUDA_MODULE:-}" ] && [ -f "$(dirname "$MICL")/libmicl_cuda.so" ]; then
    export MICL_CUDA_MODULE="$(cd "$(dirname "$MICL")" && pwd)/libmicl_cuda.so"
fi
"$PROBE" || exit $?
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
for d in cpu gpu gpu2 res; do
    mkdir -p $d
    sed -e 's|^output_dir = .*|output_dir = "out";|' -e 's|cache_dir = .*|cache_dir = "../cache";|' \
        -e 's|steps = 12;|steps = 20;|' -e 's|log_every = 4;|log_every = 1;|' \
        "$SRC/configs/tiny.cfg" > $d/tiny.cfg
done
"$MICL" data prepare cpu/tiny.cfg > /dev/null
train() { # train DIR ARGS...
    local d=$1
    shift
    (cd "$d" && "$MICL" train tiny.cfg "$@" > train.log)
}
gpu_files() { # same bits on the GPU: results and both checkpoints
    for f in results.h5 base.ckpt.h5 icl.ckpt.h5; do $CMP same "$1/out/$f" "$2/out/$f"; done
}

case $CASE in
parity)
    train cpu
    train gpu --device cuda
    grep -q "^device: cuda" gpu/train.log
    $CMP parity cpu/out/results.h5 gpu/out/results.h5 --loss-rel 1e-4
    for f in base icl; do
        $CMP parity cpu/out/$f.ckpt.h5 gpu/out/$f.ckpt.h5 --param-rel-l2 1e-3
    done
    "$PY" -c "
import h5py
r = h5py.File('gpu/out/results.h5', 'r'); c = h5py.File('gpu/out/icl.ckpt.h5', 'r')
assert r['runs/icl'].attrs['device'] == 'cuda' and r['runs/icl'].attrs['precision'] == 'fp32'
assert c.attrs['device'] == 'cuda' and c.attrs['precision'] == 'fp32'
print('results and checkpoints record device cuda, precision fp32')"
    ;;
repeat)
    train gpu --device cuda
    train gpu2 --device cuda
    gpu_files gpu gpu2
    ;;
resume)
    train gpu --device cuda
    set +e
    (cd res && MICL_TEST_SIGTERM_AT_STEP=9 "$MICL" train tiny.cfg --device cuda > pre.log 2>&1)
    rc=$?
    set -e
    [ "$rc" -eq 3 ] || { echo "expected exit code 3 after SIGTERM, got $rc"; cat res/pre.log; exit 1; }
    grep -q "stop requested: checkpoint at step 10" res/pre.log
    (cd res && "$MICL" train tiny.cfg --device cuda --resume > post.log)
    grep -q "resuming from out/base.ckpt.h5 at step 10" res/post.log
    gpu_files gpu res
    ;;
eval)
    train cpu
    (cd cpu && "$MICL" eval tiny.cfg -o eval_cpu.h5 > /dev/null)
    (cd cpu && "$MICL" eval tiny.cfg -o eval_gpu.h5 --device cuda > /dev/null)
    $CMP counts cpu/eval_cpu.h5 cpu/eval_gpu.h5 --slack 1
    ;;
*)
    echo "unknown case '$CASE'"
    exit 2
    ;;
esac
echo "gpu_e2e $CASE: ok"
