#!/usr/bin/env bash
# progress_test.sh MICL SRC WORK MODE - restarts keep progress, results keep their runs, signals
# stop cleanly. Tiny model, a few steps; each mode in its own folder.
#   refuse       a checkpoint (interrupted, then finished) makes a rerun without flags exit 2
#                naming it, its step and --resume / --restart, the file untouched; --restart
#                replaces it only with its first new checkpoint
#   stale        --resume refuses (exit 1) a checkpoint of another config, naming both hashes
#                and the first differing line; a change in another run does not matter; a
#                checkpoint without a hash (schema version 1) resumes with a warning
#   sweep_stale  a sweep of a changed config (other lr) refuses the old sweep's checkpoints and
#                writes nothing; --restart trains, and every checkpoint's hash is its run's id
#   keep_runs    `--run base` keeps run icl of the results file; refused when icl changed
#   signals      SIGINT stops training with a checkpoint (exit 3), a second one at once; a stop
#                during the evaluation of one run or of the first of two exits 3, writes no
#                result or next checkpoint, and --resume completes
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3 MODE=$4
PY=/usr/bin/python3
export PYTHONPATH="$SRC/scripts" # micl_h5.py: files in the format micl reads
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
. "$SRC/tests/lib/expect_fail.sh"
cfg() { # cfg STEPS CHECKPOINT_EVERY: tiny.cfg in out/ with a local cache
    sed -e "s|^output_dir = .*|output_dir = \"out\";|" -e "s|cache_dir = .*|cache_dir = \"cache\";|" \
        -e "s|steps = 12;|steps = $1; checkpoint_every = $2;|" "$SRC/configs/tiny.cfg"
}
attr() { "$PY" -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs[sys.argv[2]])" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
status() { set +e; "$@"; rc=$?; set -e; }

case "$MODE" in
refuse)
    cfg 12 4 > c.cfg
    "$MICL" data prepare c.cfg > /dev/null
    status env MICL_TEST_SIGTERM_AT_STEP=5 "$MICL" train c.cfg --run base > a.log 2>&1
    [ "$rc" -eq 3 ] || fail "SIGTERM: exit $rc, expected 3"
    [ "$(attr out/base.ckpt.h5 step)" -eq 6 ] || fail "no checkpoint at step 6"
    sum=$(sha256sum out/base.ckpt.h5)
    expect_fail --exit 2 --message "out/base.ckpt.h5 holds run 'base' at step 6 of 12$" \
        --message "--resume to continue" --message "--restart to train from step 0" \
        -- "$MICL" train c.cfg --run base
    expect_fail --exit 2 --usage --message "--resume and --restart exclude each other" \
        -- "$MICL" train c.cfg --run base --resume --restart
    [ "$(sha256sum out/base.ckpt.h5)" = "$sum" ] || fail "the refused commands changed the checkpoint"
    "$MICL" train c.cfg --run base --resume > b.log
    grep -q "resuming from out/base.ckpt.h5 at step 6" b.log || fail "no resume at step 6"
    expect_fail --exit 2 --message "holds run 'base' at step 12 of 12 \(trained to the end\)" \
        -- "$MICL" train c.cfg --run base
    attr out/base.ckpt.h5 config_hash | grep -Eq "^[0-9a-f]{16}$" || fail "no config_hash"
    [ "$(attr out/base.ckpt.h5 schema_version)" -eq 3 ] || fail "schema_version is not 3"
    # --restart that dies before its first checkpoint (step 4) leaves the old one whole
    sum=$(sha256sum out/base.ckpt.h5)
    status env MICL_TEST_NAN_AT_STEP=2 "$MICL" train c.cfg --run base --restart > c.log 2>&1
    [ "$rc" -eq 1 ] || fail "NaN at step 2: exit $rc"
    [ "$(sha256sum out/base.ckpt.h5)" = "$sum" ] || fail "--restart replaced the checkpoint early"
    "$MICL" train c.cfg --run base --restart > d.log
    grep -q "restart: training from step 0" d.log || fail "--restart said nothing"
    grep -q "resuming" d.log && fail "--restart resumed"
    [ "$(attr out/base.ckpt.h5 step)" -eq 12 ] || fail "--restart did not finish"
    ;;
stale)
    cfg 6 0 > c.cfg
    "$MICL" data prepare c.cfg > /dev/null
    "$MICL" train c.cfg --run base > a.log
    sed 's|lr = 2e-3;|lr = 3e-3;|' c.cfg > c2.cfg
    sum=$(sha256sum out/base.ckpt.h5)
    expect_fail --exit 1 --message "out/base.ckpt.h5 \(step 6\) was trained by another config: its config hash is [0-9a-f]{16}, run 'base' of c2.cfg resolves to [0-9a-f]{16}" \
        --message "first difference, line [0-9]+: 'lr = 2e-3; min_lr.*' in the checkpoint, 'lr = 3e-3; min_lr.*' in c2.cfg" \
        --message "--restart trains the run again" -- "$MICL" train c2.cfg --run base --resume
    [ "$(sha256sum out/base.ckpt.h5)" = "$sum" ] || fail "the refused resume changed the checkpoint"
    # a change in run icl only: base's resolved config is the same
    sed 's|exact_copy_steps = 4;|exact_copy_steps = 3;|' c.cfg > c3.cfg
    "$MICL" train c3.cfg --run base --resume > b.log
    grep -q "resuming from out/base.ckpt.h5 at step 6" b.log || fail "c3: no resume"
    # a checkpoint without the hash (one from before it, upgraded by scripts/micl_upgrade.py)
    # resumes with a warning
    "$PY" -c "
import micl_h5
f = micl_h5.edit('out/base.ckpt.h5'); del f.attrs['config_hash']; micl_h5.seal(f)"
    "$MICL" train c2.cfg --run base --resume > c.log 2> c.err
    grep -q "written before checkpoints carried their config's hash" c.err || fail "no warning"
    "$MICL" train c2.cfg --run base --restart > d.log
    h=$(attr out/base.ckpt.h5 config_hash)
    "$MICL" train c2.cfg --run base --resume > e.log
    grep -q "resuming from out/base.ckpt.h5 at step 6" e.log || fail "c2: no resume after --restart"
    [ "$(attr out/base.ckpt.h5 config_hash)" = "$h" ] || fail "the hash changed"
    ;;
sweep_stale)
    { cfg 6 0; cat <<'CFG'
sweep = { axes = ( { key = "run"; values = ["base"]; }, { key = "seed"; values = [1, 2]; } ); };
CFG
    } > s.cfg
    sed 's|lr = 2e-3;|lr = 3e-3;|' s.cfg > s3.cfg
    "$MICL" data prepare s.cfg > /dev/null
    "$MICL" sweep s.cfg -o sout/s.h5 > a.log
    expect_fail --exit 1 --dir sout --allow '^\./\.micl\.shard-0-of-2\.lock$' --message "sout/base-seed1.ckpt.h5 \(step 6\) was trained by another config" \
        --message "--restart trains the sweep's runs again" --message "nothing was trained" \
        -- "$MICL" sweep s3.cfg --shard 0/2 -o sout/new.h5
    "$MICL" sweep s3.cfg --shard 0/2 -o sout/new.h5 --restart > b.log
    "$PY" - <<'PY'
import h5py
r = h5py.File("sout/new.h5", "r")
names = [n.decode() if isinstance(n, bytes) else n for n in r["run_names"][()]]
assert names == ["base-seed1"], names
g = r["runs/base-seed1"]
text = g["config"][()]
text = text.decode() if isinstance(text, bytes) else str(text)
assert "0.003" in text, "the run's config is not s3's"
ck = h5py.File("sout/base-seed1.ckpt.h5", "r")
assert ck.attrs["config_hash"] == g.attrs["id"], (ck.attrs["config_hash"], g.attrs["id"])
ck2 = h5py.File("sout/base-seed2.ckpt.h5", "r")  # shard 1's run: untouched, s.cfg's
assert ck2.attrs["config_hash"] != g.attrs["id"]
print("sweep --restart: the checkpoint carries its run's id")
PY
    ;;
keep_runs)
    cfg 4 0 > c.cfg
    "$MICL" data prepare c.cfg > /dev/null
    "$MICL" train c.cfg > a.log
    "$PY" -c "
import h5py, numpy as np
r = h5py.File('out/results.h5', 'r'); np.save('icl.npy', r['runs/icl/eval/correct'][()])"
    "$MICL" train c.cfg --run base --restart > b.log
    "$PY" - <<'PY'
import h5py, numpy as np
r = h5py.File("out/results.h5", "r")
names = [n.decode() if isinstance(n, bytes) else n for n in r["run_names"][()]]
assert names == ["base", "icl"], names
assert np.array_equal(r["runs/icl/eval/correct"][()], np.load("icl.npy"))
print("--run base kept run icl")
PY
    sed 's|exact_copy_steps = 4;|exact_copy_steps = 3;|' c.cfg > c4.cfg
    sum=$(sha256sum out/results.h5)
    expect_fail --exit 1 --dir out --message "out/results.h5 holds run 'icl' of another config" \
        -- "$MICL" train c4.cfg --run base --restart
    [ "$(sha256sum out/results.h5)" = "$sum" ] || fail "the refused command changed results.h5"
    ;;
signals)
    cfg 8 0 > c.cfg
    "$MICL" data prepare c.cfg > /dev/null
    status env MICL_TEST_SIGINT_AT_STEP=3 "$MICL" train c.cfg --run base > a.log 2>&1
    [ "$rc" -eq 3 ] || fail "SIGINT: exit $rc, expected 3"
    grep -q "stop requested: checkpoint at step 4" a.log || fail "SIGINT: no checkpoint"
    # a second SIGINT: at once, by the signal, no checkpoint and no .tmp
    mkdir twice && sed 's|^output_dir = .*|output_dir = "twice";|' c.cfg > t.cfg
    status env MICL_TEST_SIGINT_AT_STEP=3,3 "$MICL" train t.cfg --run base > b.log 2>&1
    [ "$rc" -eq 130 ] || fail "two SIGINTs: exit $rc, expected 130"
    [ -z "$(ls twice)" ] || fail "two SIGINTs left: $(ls twice)"
    # a stop during the evaluation of one run
    status env MICL_TEST_SIGTERM_IN_EVAL=1 "$MICL" train c.cfg --run base --restart > c.log 2>&1
    [ "$rc" -eq 3 ] || fail "stop in evaluation of one run: exit $rc, expected 3"
    grep -q "evaluation ended" c.log || fail "no message"
    [ "$(attr out/base.ckpt.h5 step)" -eq 8 ] || fail "no finished checkpoint"
    # ... and of the first of two: icl does not start
    rm -rf out
    status env MICL_TEST_SIGTERM_IN_EVAL=2 "$MICL" train c.cfg > d.log 2>&1
    [ "$rc" -eq 3 ] || fail "stop in evaluation of the first of two runs: exit $rc, expected 3"
    [ -e out/icl.ckpt.h5 ] && fail "run icl started after the stop"
    "$PY" -c "
import h5py; assert len(h5py.File('out/results.h5', 'r')['run_names']) == 0"
    "$MICL" train c.cfg --resume > e.log
    grep -q "resuming from out/base.ckpt.h5 at step 8" e.log || fail "no resume"
    "$PY" -c "
import h5py; assert len(h5py.File('out/results.h5', 'r')['run_names']) == 2"
    # SIGINT in a sweep: exit 3, resumed by the same command
    { cat c.cfg; echo 'sweep = { axes = ( { key = "run"; values = ["base"]; } ); };'; } > s.cfg
    status env MICL_TEST_SIGINT_AT_STEP=3 "$MICL" sweep s.cfg -o sw/s.h5 > f.log 2>&1
    [ "$rc" -eq 3 ] || fail "SIGINT in a sweep: exit $rc, expected 3"
    "$MICL" sweep s.cfg -o sw/s.h5 > g.log
    grep -q "resuming from sw/base.ckpt.h5 at step 4" g.log || fail "sweep: no resume"
    ;;
*) fail "unknown mode $MODE" ;;
esac
echo "progress_test $MODE: ok"
