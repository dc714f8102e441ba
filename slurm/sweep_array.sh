#!/usr/bin/env bash
# sweep_array.sh - a sweep split over a Slurm job array: task i of n runs shard i/n.
#
#   sbatch --array=0-3 slurm/sweep_array.sh configs/sweep_small.cfg runs/sweep_small
#   build/micl results merge runs/sweep_small/sweep.h5 runs/sweep_small/shard-*-of-4.h5
#
# Task i writes OUTDIR/shard-i-of-n.h5 (run j of the expanded sweep belongs to shard j mod n);
# checkpoints go to OUTDIR, one per run. Each task may have several ranks (--ntasks). Signals,
# preemption and requeue work as in full_sweep.sh: a stopped task requeues itself and resumes
# its shard.
#SBATCH --job-name=micl-sweep-array
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=micl-sweep-%A_%a.out
#SBATCH --open-mode=append
#SBATCH --signal=B:USR1@120
#SBATCH --requeue
set -uo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
CFG=${1:?usage: sweep_array.sh CFG OUTDIR}
OUT=${2:?usage: sweep_array.sh CFG OUTDIR}
MICL=${MICL:-build/micl}
N=${SLURM_ARRAY_TASK_COUNT:?submit with sbatch --array=0-N}
I=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export OMPI_MCA_mpi_yield_when_idle=1
echo "micl sweep $CFG shard $I/$N (job ${SLURM_JOB_ID:-?}, start $((${SLURM_RESTART_COUNT:-0} + 1)))"

stopped=0
forward() {
    stopped=1
    [ -n "${pid:-}" ] && kill -USR1 "$pid" 2> /dev/null
}
trap forward USR1 TERM
if [ "${MICL_LAUNCH:-srun}" = mpirun ]; then
    mpirun "$MICL" sweep "$CFG" -o "$OUT/shard-$I-of-$N.h5" --shard "$I/$N" &
else
    srun --mpi=pmix --kill-on-bad-exit=1 "$MICL" sweep "$CFG" -o "$OUT/shard-$I-of-$N.h5" --shard "$I/$N" &
fi
pid=$!
rc=0
while :; do
    wait "$pid"
    rc=$?
    kill -0 "$pid" 2> /dev/null || break
done
if [ "$rc" -eq 3 ] || { [ "$stopped" -eq 1 ] && [ "$rc" -ne 0 ]; }; then
    echo "micl sweep shard $I/$N stopped (exit $rc): requeueing job $SLURM_JOB_ID to resume"
    scontrol requeue "$SLURM_JOB_ID" && exit 0
    exit 3
fi
exit "$rc"
