#!/usr/bin/env bash
# device_checks.sh - every GPU check of micl in one run, for a GPU machine that has the CUDA
# toolkit, a C compiler and PyTorch but not micl's other libraries (HDF5, libconfig, MPI, image
# libraries): it builds the standalone project tests/gpu/standalone (the CPU and CUDA kernels,
# the model, the CUDA module, gpu_check and, where the tree has it, test_cuda_kernels), runs
#   test_cuda_kernels and test_cuda_kernels --bf16   every kernel against the CPU table
#   gpu_check --precision fp32 / bf16                 parity, repeat, resume; speed of a step
#   torch_step.py                                     PyTorch's time for the same step
# and prints one table (tests/gpu/standalone/report.py). Each stage runs under a share of one
# time budget (MICL_GPU_BUDGET seconds, 330 unless set), so the table always comes.
#
#   tests/gpu/device_checks.sh            on the GPU machine; a stage that skips (exit 77: no
#                                         device, no module) counts as a failure
#   tests/gpu/device_checks.sh --dry-run  anywhere with nvcc and no GPU: the same build in a
#                                         temporary folder; the GPU programs must skip (77), which
#                                         counts as "skipped (no GPU)"; gpu_check's checks run once
#                                         with the CPU table in the device's place (a self-test);
#                                         torch_step.py runs on the CPU with a tiny model
#
# Output: the log, status.tsv, the JSON figures and table.txt go to $OUT when it is set, else to
# a new temporary folder (its name is printed). Exit status: 0 when nothing failed, else 1.
# Environment: MICL_GPU_BUDGET (seconds), MICL_PYTHON (a python3 with torch), CUDA_HOME.
set -u -o pipefail

DRY=0
for arg in "$@"; do
    case "$arg" in
    --dry-run) DRY=1 ;;
    -h | --help)
        sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "device_checks.sh: unknown argument '$arg' (--dry-run)" >&2
        exit 2
        ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$ROOT/tests/gpu/standalone
RES=${OUT:-}
[ -n "$RES" ] || RES=$(mktemp -d "${TMPDIR:-/tmp}/micl-gpu-check.XXXXXX")
mkdir -p "$RES"
: >"$RES/status.tsv"
if [ $DRY = 1 ]; then
    BUILD=$(mktemp -d "${TMPDIR:-/tmp}/micl-gpu-build.XXXXXX")
    JOBS=${MICL_GPU_JOBS:-2}
else
    BUILD=${MICL_GPU_BUILD:-/tmp/micl-gpu-build}
    JOBS=${MICL_GPU_JOBS:-16}
fi
BUDGET=${MICL_GPU_BUDGET:-330}
START=$(date +%s)
exec > >(tee "$RES/device_checks.log") 2>&1

FAILED=0
# stage NAME CAP_SECONDS LOG command... : runs the command under min(CAP, what is left of the
# budget less a reserve for the table), its output on the console (LOG "-") or appended to LOG,
# and records "NAME<TAB>exit<TAB>seconds" in status.tsv. A stage with under 10 s left is not run
# (exit -1).
stage() {
    local name=$1 cap=$2 log=$3
    shift 3
    local left=$((BUDGET - ($(date +%s) - START) - 15))
    local t=$((cap < left ? cap : left))
    echo
    echo "==== $name (at most ${t} s)"
    if [ "$t" -lt 10 ]; then
        printf '%s\t-1\t0\n' "$name" >>"$RES/status.tsv"
        FAILED=1
        return 0
    fi
    local t0 rc
    t0=$(date +%s)
    if [ "$log" = - ]; then
        timeout --kill-after=5 "$t" "$@"
    else
        timeout --kill-after=5 "$t" "$@" >>"$log" 2>&1
    fi
    rc=$?
    printf '%s\t%d\t%d\n' "$name" "$rc" $(($(date +%s) - t0)) >>"$RES/status.tsv"
    if [ $rc -ne 0 ] && ! { [ $rc -eq 77 ] && [ $DRY = 1 ]; }; then FAILED=1; fi
    return 0
}

# ---- the machine ----------------------------------------------------------------------------
echo "==== machine: $(uname -srm), $(nproc) cores; results in $RES; build in $BUILD"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L
    nvidia-smi --query-gpu=driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
else
    echo "nvidia-smi: not found"
fi
NVCC=$(command -v nvcc || true)
for c in "${CUDA_HOME:-}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
    [ -n "$NVCC" ] || { [ -x "$c" ] && NVCC=$c; }
done
if [ -n "$NVCC" ]; then "$NVCC" --version | tail -2; else echo "nvcc: not found"; fi

PY=${MICL_PYTHON:-}
if [ -z "$PY" ]; then
    for p in python3 /usr/bin/python3; do
        if "$p" -c 'import torch' >/dev/null 2>&1; then PY=$p && break; fi
    done
fi
[ -n "$PY" ] || PY=python3
"$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.version.cuda, "devices", torch.cuda.device_count() if torch.cuda.is_available() else 0)' 2>&1

# Where cuBLASLt and NCCL are: the loader's cache, the toolkit, and the pip wheels of the python
# (nvidia/*/lib). Their folders go to the build as hints and to LD_LIBRARY_PATH for the module.
HINTS=()
LIBDIRS=()
echo "loader cache:"
ldconfig -p 2>/dev/null | grep -E 'libcublasLt\.so|libnccl\.so|libcudart\.so' | sed 's/^/  /'
NV_PY=$("$PY" -c 'import nvidia, os; print(" ".join(nvidia.__path__))' 2>/dev/null || true)
for lib in libcublasLt.so libnccl.so; do
    found=""
    for dir in "${CUDA_HOME:-/nonexistent}"/lib{64,} /usr/local/cuda/lib{64,} \
        /usr/local/cuda/targets/x86_64-linux/lib $(for n in $NV_PY; do echo "$n"/*/lib; done); do
        for f in "$dir/$lib"*; do
            if [ -e "$f" ]; then found=$f && break; fi
        done
        [ -z "$found" ] || break
    done
    echo "$lib: ${found:-not found outside the loader cache}"
    if [ -n "$found" ]; then
        d=$(cd "$(dirname "$found")" && pwd)
        LIBDIRS+=("$d")
        HINTS+=("$(dirname "$d")")
    fi
done
LDPATH=$(IFS=:; echo "${LIBDIRS[*]:-}")
export LD_LIBRARY_PATH=${LDPATH}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# ---- build ----------------------------------------------------------------------------------
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
LOG=$RES/build.log
: >"$LOG"
stage "configure (standalone project)" 60 "$LOG" cmake -S "$SRC" -B "$BUILD" "${GEN[@]}" \
    -DCMAKE_BUILD_TYPE=Release ${NVCC:+-DCMAKE_CUDA_COMPILER=$NVCC} \
    "-DMICL_CUDA_HINTS=$(IFS=';'; echo "${HINTS[*]:-}")"
stage "build (standalone project)" 240 "$LOG" cmake --build "$BUILD" -j "$JOBS"
grep -E 'cuBLASLt:|error:|CMake Error' "$LOG" | head -20
echo "$(grep -c 'warning:' "$LOG") compiler warnings (build.log)"
tail -1 "$RES/status.tsv" | grep -q $'\t0\t' || tail -30 "$LOG"
export MICL_CUDA_MODULE=$BUILD/libmicl_cuda.so
export PYTHONUNBUFFERED=1

# ---- checks and speed -----------------------------------------------------------------------
# test_cuda_kernels is built where the tree has its source; a source that did not build fails.
KTEST=0
if [ -x "$BUILD/test_cuda_kernels" ]; then
    KTEST=1
    stage "test_cuda_kernels fp32" 60 - "$BUILD/test_cuda_kernels"
elif [ -f "$ROOT/tests/gpu/test_cuda_kernels.c" ]; then
    printf '%s\t-3\t0\n' "test_cuda_kernels (not built)" >>"$RES/status.tsv"
    FAILED=1
else
    printf '%s\t-2\t0\n' "test_cuda_kernels (no source in this tree)" >>"$RES/status.tsv"
fi
if [ -x "$BUILD/gpu_check" ]; then
    if [ $DRY = 1 ]; then
        stage "gpu_check fp32" 60 - "$BUILD/gpu_check" --precision fp32 --json "$RES/micl_fp32.json"
        stage "gpu_check bf16" 60 - "$BUILD/gpu_check" --precision bf16 --json "$RES/micl_bf16.json"
        stage "gpu_check self-test (CPU table)" 120 - "$BUILD/gpu_check" --backend cpu --no-speed \
            --check-steps 4
    else
        stage "gpu_check fp32" 90 - "$BUILD/gpu_check" --precision fp32 --json "$RES/micl_fp32.json"
        stage "gpu_check bf16" 90 - "$BUILD/gpu_check" --precision bf16 --json "$RES/micl_bf16.json"
    fi
else
    printf '%s\t-3\t0\n' "gpu_check (not built)" >>"$RES/status.tsv"
    FAILED=1
fi
if [ $KTEST = 1 ]; then
    stage "test_cuda_kernels bf16" 60 - "$BUILD/test_cuda_kernels" --bf16
fi
if [ $DRY = 1 ]; then
    stage "torch_step (CPU, tiny)" 120 - "$PY" "$SRC/torch_step.py" --device cpu --shapes tiny \
        --steps 2 --warmup 1 --json "$RES/torch.json"
else
    left=$((BUDGET - ($(date +%s) - START) - 45))
    stage "torch_step" 200 - "$PY" "$SRC/torch_step.py" --device cuda --shapes preset,batched \
        --time-budget $((left > 60 ? left - 40 : 20)) --json "$RES/torch.json"
fi

# ---- the table ------------------------------------------------------------------------------
echo
echo "==== table ($(($(date +%s) - START)) s in all)"
REPORT=("$SRC/report.py" "$RES")
[ $DRY = 1 ] && REPORT+=(--dry-run)
if ! "$PY" "${REPORT[@]}" ||
    ! grep -q '^check ' "$RES/table.txt" 2>/dev/null; then
    echo "device_checks.sh: the table could not be made"
    FAILED=1
fi
[ $DRY = 1 ] && rm -rf "$BUILD"
echo "results: $RES"
if [ $FAILED = 0 ]; then echo "device_checks.sh: nothing failed"; else echo "device_checks.sh: FAILED"; fi
exit $FAILED
