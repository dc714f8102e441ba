#!/usr/bin/env bash
# sweep_test.sh MICL SRC WORK MODE - `micl sweep` on a 4-run sweep of the tiny model
# (run x seed, with train.steps and replay axes of one value each).
#   np      the sweep under np = 1, 2, 4 with ranks_per_run 1 and 2: every results file and
#           every checkpoint bit-identical to np = 1 (wall-time fields aside)
#   resume  SIGTERM during the sweep under np = 2 (exit 3, checkpoints), finished with np = 1;
#           kill -9 of all ranks with periodic checkpoints; each re-run of the sweep finishes
#           it bit-identically
#   shard   shards 0/2 and 1/2 merged give the whole sweep; merging a shard twice, a file of
#           another sweep or reusing another sweep's results file are refused clearly
#   bad     bad sweep sections fail with file, line and key, and leave no output; a stalled
#           group is reported on stderr and in the results file
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3 MODE=$4
PY=/usr/bin/python3
COMPARE="$PY $SRC/tests/system/sweep_compare.py"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"

cfg() { # cfg RANKS_PER_RUN STEPS CHECKPOINT_EVERY SEEDS
    sed -e "s|cache_dir = .*|cache_dir = \"cache\";|" \
        -e "s|steps = 12;|steps = 12; checkpoint_every = $3;|" "$SRC/configs/tiny.cfg"
    cat <<CFG
sweep = {
  ranks_per_run = $1;
  axes = ( { key = "run"; values = ["base", "icl"]; },
           { key = "seed"; values = $4; },
           { key = "train.steps"; values = [$2]; },
           { key = "replay"; values = [0.3]; } );
};
CFG
}
. "$(dirname "${BASH_SOURCE[0]}")/../lib/expect_fail.sh"
# refused CODE PATTERN CMD...: exit CODE, stderr matches PATTERN, nothing written here
refused() { local code=$1 pat=$2; shift 2; expect_fail --exit "$code" --message "$pat" -- "$@"; }

case "$MODE" in
np)
    for r in 1 2; do cfg $r 12 0 "[1, 2]" > rpr$r.cfg; done
    "$MICL" data prepare rpr1.cfg > /dev/null
    mpirun -np 1 "$MICL" sweep rpr1.cfg -o np1/s.h5 > np1.log
    grep -q "run 'icl-seed2-steps12-replay0.3' finished" np1.log
    for run in "2 1" "2 2" "4 1" "4 2"; do
        set -- $run
        mpirun -np "$1" "$MICL" sweep rpr$2.cfg -o np$1r$2/s.h5 > np$1r$2.log
        $COMPARE np1/s.h5 np$1r$2/s.h5 --checkpoints
    done
    "$MICL" report np1/s.h5 | tee report.txt
    grep -q "| icl-seed2-steps12-replay0.3 | [0-9a-f]\{16\} | icl | 2 | 12 | 0.3 |" report.txt
    "$MICL" report np1/s.h5 --group-by run | tee report.txt
    grep -q "| run=icl | 2 |" report.txt
    grep -q "^| run=icl best model-free reference | 2 | - |" report.txt  # none at 0 shots
    "$MICL" report np1/s.h5 --group-by seed,run --format csv | tee report.csv
    grep -q "^seed=1;run=base,openmi 2-way 0-shot,1," report.csv
    "$MICL" report np1/s.h5 --group-by seed --format json | "$PY" -c "
import json, sys
g = json.load(sys.stdin)['groups']
assert [x['axes']['seed'] for x in g] == ['1', '2'] and g[0]['cells'][0]['runs'] == 2, g
ref = [c['reference_mean'] for c in g[0]['cells']]  # 0-shot cells: none (null)
assert ref[0] is None and any(0 <= (r or -1) <= 1 for r in ref), ref"
    "$PY" "$SRC/scripts/plot_results.py" np1/s.h5 --by seed -o by_seed.png
    [ -s by_seed.png ]
    ;;
resume)
    cfg 1 12 0 "[1, 2]" > ref.cfg
    "$MICL" data prepare ref.cfg > /dev/null
    "$MICL" sweep ref.cfg -o ref/s.h5 > ref.log
    # SIGTERM at step 6 of the first run of each group: checkpoint, exit 3, then finish.
    set +e
    MICL_TEST_SIGTERM_AT_STEP=5 mpirun -np 2 "$MICL" sweep ref.cfg -o term/s.h5 > term1.log 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 3 ] || { echo "expected exit code 3 after SIGTERM, got $rc"; cat term1.log; exit 1; }
    # (a group told to stop by the coordinator may stop before its own step 6)
    grep -q "stop requested: checkpoint at step [1-6] " term1.log
    grep -q "sweep stopped: 4 run(s) unfinished" term1.log
    mpirun -np 1 "$MICL" sweep ref.cfg -o term/s.h5 > term2.log
    grep "resuming from term/base-seed1-steps12-replay0.3.ckpt.h5 at step [1-6]$" term2.log
    $COMPARE ref/s.h5 term/s.h5 --checkpoints
    # kill -9 of every rank somewhere in a longer sweep with a checkpoint every 10 steps.
    cfg 1 160 10 "[1, 2]" > long.cfg
    "$MICL" sweep long.cfg -o lref/s.h5 > lref.log
    mpirun -np 2 "$MICL" sweep long.cfg -o k9/s.h5 > k9a.log 2>&1 &
    pid=$!
    for _ in $(seq 600); do grep -q "finished" k9a.log && break; sleep 0.05; done
    sleep 0.3
    # mpirun puts each rank in a process group of its own: kill the ranks (its children) and
    # mpirun at once, and wait until the ranks are gone before resuming.
    ranks=$(pgrep -P "$pid" || true)
    kill -9 $ranks "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    for r in $ranks; do while kill -0 "$r" 2> /dev/null; do sleep 0.05; done; done
    echo "killed after: $(grep -c finished k9a.log) finished run(s)"
    "$MICL" sweep long.cfg -o k9/s.h5 > k9b.log
    grep -E "already finished|resuming from" k9b.log || true
    $COMPARE lref/s.h5 k9/s.h5 --checkpoints
    ;;
shard)
    cfg 1 12 0 "[1, 2]" > s.cfg
    "$MICL" data prepare s.cfg > /dev/null
    "$MICL" sweep s.cfg -o all/s.h5 > all.log
    "$MICL" sweep s.cfg -o parts/s0.h5 --shard 0/2 > s0.log
    mpirun -np 2 "$MICL" sweep s.cfg -o parts/s1.h5 --shard 1/2 > s1.log
    "$MICL" results merge merged.h5 parts/s1.h5 parts/s0.h5
    $COMPARE all/s.h5 merged.h5 --checkpoints
    refused 1 "is in both parts/s0.h5 and parts/s0.h5" \
        "$MICL" results merge twice.h5 parts/s0.h5 parts/s0.h5
    [ ! -e twice.h5 ] && [ ! -e twice.h5.tmp ]
    cfg 1 12 0 "[1, 3]" > other.cfg
    "$MICL" sweep other.cfg -o other/s.h5 --shard 1/2 > other.log
    refused 1 "comes from another sweep config" \
        "$MICL" results merge mixed.h5 parts/s0.h5 other/s.h5
    refused 1 "was written by another sweep config" "$MICL" sweep other.cfg -o all/s.h5
    refused 1 "holds shard 1/2, not shard 0/2" "$MICL" sweep s.cfg -o parts/s1.h5 --shard 0/2
    refused 2 "expects I/N" "$MICL" sweep s.cfg --shard 2/2
    ;;
bad)
    cfg 1 12 0 "[1, 2]" > good.cfg
    sed 's|key = "seed"|key = "sead"|' good.cfg > typo.cfg
    refused 1 "typo.cfg:[0-9]*: key 'sweep.axes\[1\].key' = \"sead\" is not a config key \\(did you mean 'seed'\\?\\)" \
        "$MICL" sweep typo.cfg
    sed 's|values = \[1, 2\]|values = ["one", "two"]|' good.cfg > type.cfg
    refused 1 "type.cfg:[0-9]*: key 'sweep.axes\[1\].values\[0\]' must be an integer" "$MICL" sweep type.cfg
    sed 's|"base", "icl"|"base", "nosuch"|' good.cfg > run.cfg
    refused 1 "key 'sweep.axes\[0\].values\[1\]' = \"nosuch\" is not the name of a run" \
        "$MICL" sweep run.cfg
    sed 's|values = \[1, 2\]|values = [1, 1]|' good.cfg > dup.cfg
    refused 1 "repeats the value 1" "$MICL" sweep dup.cfg
    sed 's|key = "train.steps"; values = \[12\]|key = "model.dim"; values = [30]|' good.cfg > dim.cfg
    refused 1 "dim.cfg\[base-seed1-dim30-replay0.3\]: key 'model.heads' = 2 gives an odd head size" \
        "$MICL" sweep dim.cfg
    refused 1 "no 'sweep' section" "$MICL" sweep "$SRC/configs/tiny.cfg"
    sed 's|ranks_per_run = 1|ranks_per_run = 2|' good.cfg > rpr.cfg
    refused 1 "3 ranks is not a multiple of sweep.ranks_per_run = 2" mpirun -np 3 "$MICL" sweep rpr.cfg -o rpr/s.h5
    [ ! -e rpr/s.h5 ]
    # a group silent for longer than stall_seconds is reported (stderr and file), not killed
    sed 's|ranks_per_run = 1;|ranks_per_run = 1; stall_seconds = 1;|' good.cfg > stall.cfg
    MICL_TEST_STALL_AT_STEP=6 mpirun -np 2 "$MICL" sweep stall.cfg -o stall/s.h5 > stall.log 2>&1
    grep "sent nothing for" stall.log
    "$PY" -c "
import h5py
f = h5py.File('stall/s.h5', 'r')
s = list(f['sweep/stalls'].asstr()); assert s and 'group 1' in s[0], s
assert len(f['run_names']) == 4"
    ;;
*)
    echo "unknown mode $MODE"; exit 2 ;;
esac
echo "sweep_test $MODE: ok"
