#!/usr/bin/env bash
# train.sh - run `micl train` as a Slurm batch job, one MPI rank per task.
#
#   sbatch slurm/train.sh [CFG] [extra micl train options]
#   sbatch --ntasks=4 slurm/train.sh configs/quickstart.cfg -o runs/quickstart/results.h5
#
# Each rank runs --cpus-per-task OpenMP threads. Ranks are launched with srun (PMIx); Debian's
# Open MPI also works with plain `mpirun` inside the allocation (set MICL_LAUNCH=mpirun).
# --kill-on-bad-exit=1: a rank that dies (a node lost, kill -9) ends the job step at once
# instead of leaving the other ranks waiting in a collective; resubmit with --resume.
# The number of tasks must not exceed the config's train.micro_batches.
#SBATCH --job-name=micl-train
#SBATCH --ntasks=2
#SBATCH --cpus-per-task=1
#SBATCH --output=micl-train-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
CFG=${1:-configs/quickstart.cfg}
shift || true
MICL=${MICL:-build/micl}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export OMPI_MCA_mpi_yield_when_idle=1   # ranks that wait must not spin on shared cores
"$MICL" data prepare "$CFG"             # once, before the ranks start
if [ "${MICL_LAUNCH:-srun}" = mpirun ]; then
    mpirun "$MICL" train "$CFG" "$@"
else
    srun --mpi=pmix --kill-on-bad-exit=1 "$MICL" train "$CFG" "$@"
fi
