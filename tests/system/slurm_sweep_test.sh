#!/usr/bin/env bash
# slurm_sweep_test.sh MICL SRC WORK - sweeps under a real single-node Slurm cluster
# (slurm/local_cluster.sh), each checked against `mpirun -np 2 micl sweep` of the same config:
#  1. `sbatch --ntasks=2 slurm/full_sweep.sh`: the results file and checkpoints match;
#  2. the same job sent USR1 while it trains (`scancel --batch --signal=USR1`, as Slurm's
#     --signal=B:USR1 or preemption does): the ranks checkpoint, micl exits 3, the job requeues
#     itself and its second start resumes; the results match;
#  3. `sbatch --array=0-1 slurm/sweep_array.sh`: two shards, merged with `micl results merge`,
#     hold every run exactly once and match.
# Exits 77 (skipped) without root or without the Slurm packages.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
COMPARE="$PY $SRC/tests/system/sweep_compare.py"
command -v sbatch > /dev/null && command -v slurmctld > /dev/null || { echo "no Slurm: skipped"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
export SLURM_CI_DIR="$WORK/cluster"
eval "$(bash "$SRC/slurm/local_cluster.sh" start)"
trap 'bash "$SRC/slurm/local_cluster.sh" stop' EXIT
export MICL

slurm_wait() { # slurm_wait JOBID -> "STATE EXITCODE" of each job (array task) once all have left
    local jid=$1
    for _ in $(seq 1200); do squeue -h -j "$jid" 2> /dev/null | grep -q . || break; sleep 0.25; done
    scontrol -o show job "$jid" | sed -n 's/.* JobState=\([A-Z_]*\).* ExitCode=\([0-9:]*\).*/\1 \2/p'
}
sed -e "s|cache_dir = .*|cache_dir = \"cache\";|" \
    -e "s|steps = 12;|steps = 12; checkpoint_every = 20;|" \
    -e "s|log_every = 4;|log_every = 20;|" "$SRC/configs/tiny.cfg" > s.cfg
cat >> s.cfg <<'CFG'
sweep = {
  ranks_per_run = 1;
  axes = ( { key = "run"; values = ["base", "icl"]; },
           { key = "seed"; values = [1, 2]; },
           { key = "train.steps"; values = [300]; } );
};
CFG
"$MICL" data prepare s.cfg > /dev/null
mpirun -np 2 "$MICL" sweep s.cfg -o ref/s.h5 > ref.log

# 1. one batch job, two ranks
jid=$(sbatch --parsable --ntasks=2 --output=job-%j.out "$SRC/slurm/full_sweep.sh" s.cfg -o job/s.h5)
state=$(slurm_wait "$jid"); echo "job $jid: $state"
[ "$state" = "COMPLETED 0:0" ] || { cat job-"$jid".out; exit 1; }
$COMPARE ref/s.h5 job/s.h5 --checkpoints

# 2. USR1 to the batch shell while training: checkpoint, exit 3, requeue, resume
jid=$(sbatch --parsable --ntasks=2 --output=pre-%j.out "$SRC/slurm/full_sweep.sh" s.cfg -o pre/s.h5)
for _ in $(seq 600); do grep -q "step .*/300" pre-"$jid".out 2> /dev/null && break; sleep 0.05; done
scancel --batch --signal=USR1 "$jid"
state=$(slurm_wait "$jid"); echo "job $jid after USR1: $state"
grep -E "stop requested|requeueing|start [0-9]|resuming from|already finished" pre-"$jid".out
grep -q "requeueing job $jid" pre-"$jid".out || { cat pre-"$jid".out; exit 1; }
grep -q "(job $jid, start 2)" pre-"$jid".out
[ "$state" = "COMPLETED 0:0" ] || { cat pre-"$jid".out; exit 1; }
$COMPARE ref/s.h5 pre/s.h5 --checkpoints

# 3. a job array of two shards, then merge
jid=$(sbatch --parsable --array=0-1 --ntasks=1 --output=arr-%A_%a.out \
    "$SRC/slurm/sweep_array.sh" s.cfg arr)
states=$(slurm_wait "$jid"); echo "array $jid: $(echo $states)"
[ "$(echo "$states" | grep -c 'COMPLETED 0:0')" -eq 2 ] || { cat arr-*.out; exit 1; }
"$MICL" results merge arr/sweep.h5 arr/shard-0-of-2.h5 arr/shard-1-of-2.h5
$COMPARE ref/s.h5 arr/sweep.h5 --checkpoints
echo "slurm_sweep_test: ok"
