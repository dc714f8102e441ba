#!/usr/bin/env bash
# faults_test.sh MICL SRC WORK SHIM CASE - write errors and full disks at micl's writers: exit 1,
# a message naming the file, no signal or sanitizer report, no "*.tmp" left, and the previous
# file kept byte for byte (docs/FAULTS.md). The faults come from tests/lib/fault_shim.c, preloaded
# (MICL_FAULT_PATH/AFTER/ERRNO/ON); under ASan the binary's sanitizer runtime is preloaded first.
#   setup                       data prepare and a first run stopped at step 6 (SIGTERM, exit 3):
#                               the checkpoints and results the cases start from (ctest fixture)
#   ckpt_enospc ckpt_eio        `train --resume`: the periodic checkpoint at step 8 fails
#   ckpt_fsync                  ... its fsync fails
#   results_enospc results_eio  `train --resume`: the results write fails
#   store_enospc store_eio      `data prepare --force`: the glyph store write fails
#   export                      `data export`: the JSON samples file fails (ENOSPC)
#   predictions                 `eval --write-predictions`: the JSONL file fails (EIO)
#   bench                       `bench eval -o`: the bench file fails (ENOSPC)
#   png                         `data show -o`: the PNG fails (ENOSPC), and its fsync (EIO)
#   readonly                    the output folder is read-only (a read-only tmpfs as root,
#                               chmod 555 otherwise; 77 when neither is possible)
#   tmpfs                       output_dir on a 300 KiB tmpfs (77 where mounting is refused)
#   removed                     checkpoints and results deleted again and again under a running
#                               training: it finishes or fails cleanly, never a signal; a sweep's
#                               results file deleted after its first run: written again whole
#   kill_ckpt kill_results      kill -9 (the shim's SIGKILL) in the middle of the checkpoint or
#                               results write: the previous files keep their bytes, and
#                               `--resume` finishes with the bits of an uninterrupted run
#   kill_store                  kill -9 in the middle of the glyph store write: the cached store
#                               keeps its bytes; `data prepare --force` writes the same bytes
#   sweep                       a two-run sweep: ENOSPC and then kill -9 at its results file (a
#                               re-run finishes it, equal to shards 0/2 and 1/2 merged); ENOSPC
#                               and kill -9 at `results merge`'s output (the merge repeated
#                               gives the same file)
#   sigint                      SIGINT, then SIGHUP, in the middle of the glyph store write of
#                               `data prepare --force`: death by that signal, no .tmp left, the
#                               cached store kept
#   sigterm_eval                SIGTERM while the first run evaluates (10,000 episodes): exit 3,
#                               its results not written (kept only if the signal came after
#                               the evaluation); `--resume` gives the uninterrupted bits
#   kill_mpirun                 rank 0 of `mpirun -np 2` killed while it writes the checkpoint:
#                               mpirun ends the job (no hang), `--resume` with np=1 completes it
#   kill_eval                   kill -9 as the first run starts its evaluation (10,000 episodes): the
#                               checkpoint of the end of training is kept, no half-evaluated run
#                               in the results; `--resume` gives the uninterrupted bits
#   kill_handout                kill -9 of a four-run sweep as its coordinator hands out the
#                               second run: the same command again finishes it, equal to an
#                               uninterrupted sweep (checkpoints too)
#   import                      `data import`: ENOSPC and EIO at the store it writes; the
#                               previous store keeps its bytes
set -uo pipefail
MICL=$1 SRC=$2 WORK=$3 SHIM=$4 CASE=$5
SETUP=$WORK/setup
. "$SRC/tests/lib/expect_fail.sh"

# The sanitizer runtime the binary links, which must come first in LD_PRELOAD.
ASAN_RT=$(ldd "$MICL" | awk '/libasan/ {print $3}')
PRELOAD="${ASAN_RT:+$ASAN_RT }$SHIM"

# "${FAULTY[@]}" MICL_FAULT_...=... CMD...: CMD with the shim preloaded
FAULTY=(env LD_PRELOAD="$PRELOAD")

cfg() { # cfg OUTDIR
    sed -e "s|^output_dir = .*|output_dir = \"$1\";|" -e "s|cache_dir = .*|cache_dir = \"cache\";|" \
        -e "s|steps = 12;|steps = 12; checkpoint_every = 4;|" "$SRC/configs/tiny.cfg"
}

# sums DIR: a sha256 line per file under DIR
sums() { (cd "$1" && find . -type f -name '*.h5' | LC_ALL=C sort | xargs -r sha256sum); }

# same_sums BEFORE DIR: the files of DIR still have the sums in BEFORE
same_sums() {
    local now
    now=$(sums "$2")
    [ "$1" = "$now" ] || { echo "FAIL: files changed"; diff <(echo "$1") <(echo "$now"); exit 1; }
    echo "ok: the previous files are unchanged, byte for byte"
}

# compare DIR_A DIR_B: the checkpoints and results of two finished trainings hold the same bits
compare() {
    /usr/bin/python3 - "$1" "$2" << 'PY'
import sys, h5py, numpy as np
a, b = sys.argv[1], sys.argv[2]
bad = 0
for run in ("base", "icl"):
    x, y = h5py.File(f"{a}/{run}.ckpt.h5", "r"), h5py.File(f"{b}/{run}.ckpt.h5", "r")
    for k in ("params", "adam_m", "adam_v"):
        if x[k][()].tobytes() != y[k][()].tobytes():
            print(f"{run}/{k} differs"); bad += 1
    if x.attrs["step"] != y.attrs["step"]:
        print(f"{run} step differs"); bad += 1
ra, rb = h5py.File(f"{a}/results.h5", "r"), h5py.File(f"{b}/results.h5", "r")
for run in ("base", "icl"):
    for k in ("train/loss", "train/grad_norm", "eval/correct"):
        if not np.array_equal(ra[f"runs/{run}/{k}"][()], rb[f"runs/{run}/{k}"][()]):
            print(f"{run}/{k} differs"); bad += 1
print(f"{a} vs {b}: {'identical' if not bad else str(bad) + ' differences'}")
sys.exit(1 if bad else 0)
PY
}

# killed_at FILE BYTES [mpirun -np N]: `train --resume` killed by the shim in the middle of
# writing FILE: exit 137 (or mpirun's report of the kill, not a timeout), FILE unchanged
killed_at() {
    local file=$1 after=$2 before rc=0
    shift 2
    before=$(sums out | grep "$file")
    timeout 120 "${FAULTY[@]}" MICL_FAULT_PATH="$file" MICL_FAULT_AFTER="$after" MICL_FAULT_ON=kill \
        "$@" "$MICL" train tiny.cfg --resume > killed.log 2>&1 || rc=$?
    tail -3 killed.log
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { echo "FAIL: exit $rc after the kill"; exit 1; }
    if [ "$#" -gt 0 ]; then # mpirun reports the rank that died
        grep -Eq "signal 9|Killed" killed.log || { echo "FAIL: mpirun did not report the kill"; exit 1; }
    else
        [ "$rc" -eq 137 ] || { echo "FAIL: exit $rc, expected 137 (SIGKILL)"; exit 1; }
    fi
    echo "ok: killed while writing $file (exit $rc)"
    [ "$before" = "$(sums out | grep "$file")" ] || { echo "FAIL: $file changed"; exit 1; }
    echo "ok: $file unchanged, byte for byte"
}

# resumed: `train --resume` finishes with the bits of the uninterrupted reference run
resumed() {
    "$MICL" train tiny.cfg --resume > resumed.log 2>&1 || { cat resumed.log; echo "FAIL: resume"; exit 1; }
    grep -o "resuming from .* at step [0-9]*" resumed.log
    [ -z "$(find out -name '*.tmp')" ] || { echo "FAIL: a .tmp file is left after the resume"; exit 1; }
    compare ../setup/ref out || exit 1
}

# fresh: a copy of the setup's folder as the current one
fresh() {
    rm -rf "$WORK/$CASE" && cp -a "$SETUP" "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1
}

# evaluating LOG: a fresh folder, the uninterrupted reference trained into ref/, then the same
# training (10,000 evaluation episodes per cell) started into out/ in the background, its output
# in LOG and its process id in $pid. The evaluation must outlast the tests' polling and signal
# by a wide margin: about a second here, where 800 episodes took 20 ms, within reach of a
# kill that comes a poll late.
evaluating() {
    fresh
    rm -rf out ref && cfg out | sed -e "s|episodes = 24;|episodes = 10000;|" > tiny.cfg
    sed -e 's|^output_dir = .*|output_dir = "ref";|' tiny.cfg > ref.cfg
    "$MICL" train ref.cfg > ref.log || exit 1
    "$MICL" train tiny.cfg > "$1" 2>&1 &
    pid=$!
}

case "$CASE" in
setup)
    rm -rf "$SETUP" && mkdir -p "$SETUP" && cd "$SETUP" || exit 1
    cfg out > tiny.cfg
    "$MICL" data prepare tiny.cfg > /dev/null || exit 1
    MICL_TEST_SIGTERM_AT_STEP=5 "$MICL" train tiny.cfg > first.log 2>&1
    rc=$?
    [ "$rc" -eq 3 ] || { cat first.log; echo "FAIL: expected exit 3 after SIGTERM, got $rc"; exit 1; }
    grep -q "checkpoint at step 6" first.log || { cat first.log; exit 1; }
    cfg ref > ref.cfg && "$MICL" train ref.cfg > ref.log || exit 1
    ;;
ckpt_enospc | ckpt_eio | ckpt_fsync)
    fresh
    before=$(sums out)
    e=ENOSPC on=write
    [ "$CASE" = ckpt_eio ] && e=EIO
    [ "$CASE" = ckpt_fsync ] && on=fsync
    what="No space left on device|HDF5"
    [ "$on" = fsync ] && what="cannot sync 'out/base.ckpt.h5.tmp' to disk: No space left"
    expect_fail --exit 1 --message "out/base\.ckpt\.h5\.tmp" --message "$what|Input/output" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=base.ckpt.h5 MICL_FAULT_ERRNO=$e MICL_FAULT_ON=$on \
        "$MICL" train tiny.cfg --resume
    same_sums "$before" out
    ;;
results_enospc | results_eio)
    fresh
    before=$(sums out | grep results.h5)
    e=ENOSPC
    [ "$CASE" = results_eio ] && e=EIO
    expect_fail --exit 1 --message "out/results\.h5\.tmp" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=results.h5 MICL_FAULT_AFTER=2000 MICL_FAULT_ERRNO=$e \
        "$MICL" train tiny.cfg --resume
    now=$(sums out | grep results.h5)
    [ "$before" = "$now" ] || { echo "FAIL: results.h5 changed"; exit 1; }
    echo "ok: results.h5 unchanged, byte for byte"
    ;;
store_enospc | store_eio)
    fresh
    before=$(sums cache)
    e=ENOSPC
    [ "$CASE" = store_eio ] && e=EIO
    expect_fail --exit 1 --message "cache/glyphs\.h5\.tmp" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=glyphs.h5 MICL_FAULT_AFTER=10000 MICL_FAULT_ERRNO=$e \
        "$MICL" data prepare tiny.cfg --force
    same_sums "$before" cache
    ;;
export)
    fresh
    mkdir exp && "$MICL" data export tiny.cfg --benchmark fsicl --episodes 2 -o exp > /dev/null || exit 1
    before=$(cd exp && find . -type f | LC_ALL=C sort | xargs sha256sum)
    expect_fail --exit 1 --message "exp/[a-z_]*\.json[l]*\.tmp.*No space left" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=.json MICL_FAULT_AFTER=300 \
        "$MICL" data export tiny.cfg --benchmark fsicl --episodes 2 -o exp
    now=$(cd exp && find . -type f | LC_ALL=C sort | xargs sha256sum)
    [ "$before" = "$now" ] || { echo "FAIL: the export changed"; exit 1; }
    echo "ok: the previous export is unchanged"
    ;;
predictions)
    fresh
    expect_fail --exit 1 --message "pred\.jsonl\.tmp.*Input/output error" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=pred.jsonl MICL_FAULT_AFTER=100 MICL_FAULT_ERRNO=EIO \
        "$MICL" eval tiny.cfg --benchmark fsicl --checkpoint out/base.ckpt.h5 --episodes 4 \
        --write-predictions pred.jsonl -o pred.h5
    ;;
bench)
    fresh
    expect_fail --exit 1 --message "b\.h5\.tmp" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=b.h5 MICL_FAULT_AFTER=1000 \
        "$MICL" bench eval --config tiny --episodes 4 --repeats 1 --threads 1 -o b.h5
    ;;
png)
    fresh
    expect_fail --exit 1 --message "ep\.png\.tmp.*No space left" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=ep.png MICL_FAULT_AFTER=100 \
        "$MICL" data show cache/glyphs.h5 --task binding -o ep.png
    expect_fail --exit 1 --message "cannot sync 'ep\.png\.tmp' to disk: Input/output error" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=ep.png MICL_FAULT_ON=fsync MICL_FAULT_ERRNO=EIO \
        "$MICL" data show cache/glyphs.h5 --task binding -o ep.png
    ;;
readonly)
    fresh
    mkdir ro
    if [ "$(id -u)" -ne 0 ]; then
        chmod 555 ro
    elif ! mount -t tmpfs -o ro,size=64k tmpfs ro 2> /dev/null; then
        echo "skip: running as root, and mounting a read-only tmpfs is not allowed"
        exit 77
    fi
    trap 'umount ro 2> /dev/null; chmod 755 ro 2> /dev/null' EXIT
    cfg ro > ro.cfg
    expect_fail --exit 1 --dir ro --message "'ro'|ro/" \
        -- "$MICL" train ro.cfg
    expect_fail --exit 1 --dir ro --message "ro/ep\.png" \
        -- "$MICL" data show cache/glyphs.h5 --task binding -o ro/ep.png
    ;;
tmpfs)
    fresh
    mkdir small
    if ! mount -t tmpfs -o size=300k tmpfs small 2> /dev/null; then
        echo "skip: mounting a tmpfs is not allowed here"
        exit 77
    fi
    trap 'umount small' EXIT
    cfg small/o > small.cfg
    expect_fail --exit 1 --dir small --allow '^\./o(/\.micl\.lock)?$' \
        --message "small/o/base\.ckpt\.h5\.tmp.*cannot write|No space left" \
        -- "$MICL" train small.cfg
    ;;
removed)
    fresh
    rm -rf out && cfg out > tiny.cfg
    "$MICL" train tiny.cfg > removed.log 2>&1 &
    pid=$!
    while kill -0 "$pid" 2> /dev/null; do
        rm -f out/results.h5 out/base.ckpt.h5 out/icl.ckpt.h5
        sleep 0.05
    done
    wait "$pid"
    rc=$?
    cat removed.log | tail -3
    [ "$rc" -le 1 ] || { echo "FAIL: exit $rc"; exit 1; }
    if grep -Eq 'Sanitizer|runtime error:' removed.log; then echo "FAIL: sanitizer report"; exit 1; fi
    [ "$rc" -eq 0 ] || grep -q "micl: error: .*out/" removed.log || { echo "FAIL: no message"; exit 1; }
    [ -z "$(find out -name '*.tmp')" ] || { echo "FAIL: a .tmp file is left"; exit 1; }
    echo "ok: exit $rc, no signal, no partial file"
    cfg sw > s.cfg
    cat >> s.cfg << 'CFG'
sweep = { ranks_per_run = 1;
  axes = ( { key = "run"; values = ["base", "icl"]; }, { key = "seed"; values = [1]; } ); };
CFG
    "$MICL" sweep s.cfg -o all/s.h5 > sweep.log 2>&1 &
    pid=$!
    until [ -e all/s.h5 ] || ! kill -0 "$pid" 2> /dev/null; do sleep 0.02; done
    kill -0 "$pid" 2> /dev/null && rm -f all/s.h5 # not the final file of a sweep already done
    wait "$pid" || { cat sweep.log; echo "FAIL: the sweep failed"; exit 1; }
    /usr/bin/python3 -c "
import h5py
names = sorted(n.decode() for n in h5py.File('all/s.h5', 'r')['run_names'][()])
assert names == ['base-seed1', 'icl-seed1'], names" || exit 1
    echo "ok: the sweep's results file, deleted under it, written again with every run"
    ;;
kill_ckpt)
    fresh
    killed_at base.ckpt.h5 100000
    resumed
    ;;
kill_results)
    fresh
    killed_at results.h5 2000
    resumed
    ;;
kill_mpirun)
    fresh
    killed_at base.ckpt.h5 100000 mpirun -np 2
    resumed
    ;;
sweep)
    fresh
    cfg sw > s.cfg
    cat >> s.cfg << 'CFG'
sweep = { ranks_per_run = 1;
  axes = ( { key = "run"; values = ["base", "icl"]; }, { key = "seed"; values = [1]; } ); };
CFG
    "$MICL" sweep s.cfg -o parts/s0.h5 --shard 0/2 > s0.log || exit 1
    "$MICL" sweep s.cfg -o parts/s1.h5 --shard 1/2 > s1.log || exit 1
    expect_fail --exit 1 --message "all/s\.h5\.tmp.*No space left" --allow '^\./(all|sw)(/.*)?$' \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=all/s.h5 MICL_FAULT_AFTER=3000 \
        "$MICL" sweep s.cfg -o all/s.h5
    rc=0
    "${FAULTY[@]}" MICL_FAULT_PATH=all/s.h5 MICL_FAULT_AFTER=3000 MICL_FAULT_ON=kill \
        "$MICL" sweep s.cfg -o all/s.h5 > k.log 2>&1 || rc=$?
    [ "$rc" -eq 137 ] || { cat k.log; echo "FAIL: exit $rc, expected 137"; exit 1; }
    "$MICL" sweep s.cfg -o all/s.h5 > all.log || { cat all.log; exit 1; }
    [ -z "$(find all -name '*.tmp')" ] || { echo "FAIL: a .tmp file is left"; exit 1; }
    expect_fail --exit 1 --message "merged\.h5\.tmp.*Input/output error" \
        -- "${FAULTY[@]}" MICL_FAULT_PATH=merged.h5 MICL_FAULT_AFTER=3000 MICL_FAULT_ERRNO=EIO \
        "$MICL" results merge merged.h5 parts/s1.h5 parts/s0.h5
    rc=0
    "${FAULTY[@]}" MICL_FAULT_PATH=merged.h5 MICL_FAULT_AFTER=3000 MICL_FAULT_ON=kill \
        "$MICL" results merge merged.h5 parts/s1.h5 parts/s0.h5 > k.log 2>&1 || rc=$?
    [ "$rc" -eq 137 ] && [ ! -e merged.h5 ] || { echo "FAIL: exit $rc, expected 137"; exit 1; }
    "$MICL" results merge merged.h5 parts/s1.h5 parts/s0.h5 || exit 1
    [ ! -e merged.h5.tmp ] || { echo "FAIL: merged.h5.tmp is left"; exit 1; }
    /usr/bin/python3 "$SRC/tests/system/sweep_compare.py" all/s.h5 merged.h5 --checkpoints || exit 1
    ;;
sigterm_eval)
    evaluating term.log
    until grep -qs "step *12/12" term.log || ! kill -0 "$pid" 2> /dev/null; do sleep 0.02; done
    kill -TERM "$pid" 2> /dev/null
    rc=0
    wait "$pid" || rc=$?
    grep -E "eval|stop requested" term.log
    [ "$rc" -eq 3 ] || { echo "FAIL: exit $rc after SIGTERM, expected 3"; exit 1; }
    grep -q "stop requested: evaluation ended, its results are not written" term.log ||
        echo "(the signal came after the evaluation)"
    /usr/bin/python3 -c "
import os, h5py
names = []
if os.path.exists('out/results.h5'):
    names = [n.decode() for n in h5py.File('out/results.h5', 'r')['run_names'][()]]
assert names in ([], ['base']), names
print('results.h5 holds', names)" || exit 1
    echo "ok: exit 3, a checkpoint, no half-evaluated run in the results"
    "$MICL" train tiny.cfg --resume > resumed.log || exit 1
    compare ref out || exit 1
    ;;
kill_eval)
    evaluating killed.log
    # base's last checkpoint is written (the line comes after it); its evaluation begins
    until grep -qs "^\[base\] trained on" killed.log || ! kill -0 "$pid" 2> /dev/null; do
        sleep 0.01
    done
    kill -KILL "$pid" 2> /dev/null
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 137 ] || { cat killed.log; echo "FAIL: exit $rc, expected 137 (killed in the evaluation)"; exit 1; }
    /usr/bin/python3 -c "
import os, h5py
assert h5py.File('out/base.ckpt.h5', 'r').attrs['step'] == 12
names = []
if os.path.exists('out/results.h5'):
    names = [n.decode() for n in h5py.File('out/results.h5', 'r')['run_names'][()]]
assert names == [], names
print('kept: the checkpoint of step 12; results hold', names)" || exit 1
    "$MICL" train tiny.cfg --resume > resumed.log || exit 1
    compare ref out || exit 1
    ;;
kill_handout)
    fresh
    sweep_cfg() { # sweep_cfg OUTDIR: four runs, one group
        cfg "$1"
        cat << 'CFG'
sweep = { ranks_per_run = 1;
  axes = ( { key = "run"; values = ["base", "icl"]; }, { key = "seed"; values = [1, 2]; } ); };
CFG
    }
    sweep_cfg sw > s.cfg # the checkpoints go beside the results file (-o)
    "$MICL" sweep s.cfg -o ref/s.h5 > ref.log || exit 1
    "$MICL" sweep s.cfg -o sw/s.h5 > k.log 2>&1 &
    pid=$!
    until grep -qs "sweep: run 2/4" k.log || ! kill -0 "$pid" 2> /dev/null; do sleep 0.01; done
    kill -KILL "$pid" 2> /dev/null
    rc=0
    wait "$pid" || rc=$?
    grep "sweep: run" k.log
    [ "$rc" -eq 137 ] || { cat k.log; echo "FAIL: exit $rc, expected 137"; exit 1; }
    "$MICL" sweep s.cfg -o sw/s.h5 > again.log 2>&1 || { cat again.log; exit 1; }
    grep -E "already finished|sweep: run" again.log
    [ -z "$(find sw -name '*.tmp')" ] || { echo "FAIL: a .tmp file is left"; exit 1; }
    /usr/bin/python3 "$SRC/tests/system/sweep_compare.py" ref/s.h5 sw/s.h5 --checkpoints || exit 1
    ;;
import)
    fresh
    mkdir -p imgs/a imgs/b
    for c in a b; do for i in 1 2 3; do cp "$SRC/docs/quickstart.png" "imgs/$c/$i.png"; done; done
    "$MICL" data import imgs -o imp.h5 --size 16 > imp.log 2>&1 || { cat imp.log; exit 1; }
    before=$(sha256sum imp.h5)
    for e in ENOSPC EIO; do
        expect_fail --exit 1 --message "imp\.h5\.tmp" \
            -- "${FAULTY[@]}" MICL_FAULT_PATH=imp.h5 MICL_FAULT_AFTER=2000 MICL_FAULT_ERRNO=$e \
            "$MICL" data import imgs -o imp.h5 --size 16
        [ "$before" = "$(sha256sum imp.h5)" ] || { echo "FAIL: imp.h5 changed"; exit 1; }
    done
    echo "ok: imp.h5 unchanged, byte for byte"
    ;;
sigint)
    fresh
    before=$(sums cache)
    for sig in sigint:130 sighup:129; do
        rc=0
        "${FAULTY[@]}" MICL_FAULT_PATH=glyphs.h5 MICL_FAULT_AFTER=10000 MICL_FAULT_ON=${sig%:*} \
            "$MICL" data prepare tiny.cfg --force > sig.log 2>&1 || rc=$?
        [ "$rc" -eq "${sig#*:}" ] || { cat sig.log; echo "FAIL: exit $rc after $sig"; exit 1; }
        [ -z "$(find cache -name '*.tmp')" ] || { echo "FAIL: a .tmp file is left"; exit 1; }
        echo "ok: ${sig%:*}: exit $rc, no .tmp left"
        same_sums "$before" cache
    done
    ;;
kill_store)
    fresh
    before=$(sums cache)
    rc=0
    "${FAULTY[@]}" MICL_FAULT_PATH=glyphs.h5 MICL_FAULT_AFTER=10000 MICL_FAULT_ON=kill \
        "$MICL" data prepare tiny.cfg --force > killed.log 2>&1 || rc=$?
    [ "$rc" -eq 137 ] || { cat killed.log; echo "FAIL: exit $rc, expected 137"; exit 1; }
    same_sums "$before" cache
    "$MICL" data prepare tiny.cfg --force > /dev/null || exit 1
    [ -z "$(find cache -name '*.tmp')" ] || { echo "FAIL: a .tmp file is left"; exit 1; }
    same_sums "$before" cache
    ;;
*)
    echo "unknown case $CASE"
    exit 2
    ;;
esac
echo "faults $CASE: ok"
