#!/usr/bin/env bash
# full_sweep.sh - `micl sweep` as one Slurm batch job that survives preemption.
#
#   sbatch --ntasks=8 slurm/full_sweep.sh configs/sweep_small.cfg [-o RESULTS.h5] [--shard I/N]
#
# The ranks split into groups of the config's sweep.ranks_per_run; rank 0 coordinates and
# writes the results file. 120 s before the time limit (--signal=B:USR1@120), or when the job
# is sent USR1/TERM (`scancel --batch --signal=USR1 JOB`, preemption), this script passes the
# signal to the ranks: every group finishes its step and checkpoints, rank 0 writes the
# results, micl exits 3, and the script requeues the job (--requeue), whose next start runs the
# same command and so resumes: finished runs are skipped, the others continue from their
# checkpoints. Ranks start with srun (PMIx), or with mpirun inside the allocation when
# MICL_LAUNCH=mpirun. MICL names the binary (default build/micl).
#SBATCH --job-name=micl-sweep
#SBATCH --ntasks=2
#SBATCH --cpus-per-task=1
#SBATCH --output=micl-sweep-%j.out
#SBATCH --open-mode=append
#SBATCH --signal=B:USR1@120
#SBATCH --requeue
set -uo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
CFG=${1:-configs/sweep_small.cfg}
shift || true
MICL=${MICL:-build/micl}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export OMPI_MCA_mpi_yield_when_idle=1 # ranks that wait must not spin on shared cores
echo "micl sweep $CFG $* (job ${SLURM_JOB_ID:-?}, start $((${SLURM_RESTART_COUNT:-0} + 1)))"

stopped=0
forward() { # the batch shell got the signal: pass it to every rank
    stopped=1
    [ -n "${pid:-}" ] && kill -USR1 "$pid" 2> /dev/null
}
trap forward USR1 TERM
if [ "${MICL_LAUNCH:-srun}" = mpirun ]; then
    mpirun "$MICL" sweep "$CFG" "$@" &
else
    srun --mpi=pmix --kill-on-bad-exit=1 "$MICL" sweep "$CFG" "$@" &
fi
pid=$!
rc=0
while :; do # wait returns early when a trapped signal arrives; wait again until micl exits
    wait "$pid"
    rc=$?
    kill -0 "$pid" 2> /dev/null || break
done
if [ "$rc" -eq 3 ] || { [ "$stopped" -eq 1 ] && [ "$rc" -ne 0 ]; }; then
    if [ -n "${SLURM_JOB_ID:-}" ]; then
        echo "micl sweep stopped (exit $rc): requeueing job $SLURM_JOB_ID to resume"
        scontrol requeue "$SLURM_JOB_ID" && exit 0
    fi
    exit 3
fi
exit "$rc"
