#!/usr/bin/env bash
# slurm_test.sh MICL SRC WORK - micl under a real single-node Slurm cluster:
#  1. `sbatch --ntasks=2 slurm/train.sh` (srun + PMIx) gives the checkpoints of a local run;
#  2. `scancel --signal=USR1` on a running job: the ranks checkpoint and exit 3; a second
#     `sbatch slurm/train.sh ... --resume` completes it, bit-identical to the local run;
#  3. one rank killed (kill -9) under srun: the job ends (no hang) with a failed state, the last
#     checkpoint stays whole, and a resubmitted `--resume` job completes it, bit-identical.
# Exits 77 (skipped) without root or without the Slurm packages.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
command -v sbatch > /dev/null && command -v slurmctld > /dev/null || { echo "no Slurm: skipped"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
export SLURM_CI_DIR="$WORK/cluster"
eval "$(bash "$SRC/slurm/local_cluster.sh" start)"
trap 'bash "$SRC/slurm/local_cluster.sh" stop' EXIT
export MICL

slurm_wait() { # slurm_wait JOBID -> prints "STATE EXITCODE" when the job has left the queue
    local jid=$1
    for _ in $(seq 720); do squeue -h -j "$jid" 2> /dev/null | grep -q . || break; sleep 0.25; done
    scontrol -o show job "$jid" | sed -n 's/.* JobState=\([A-Z_]*\).* ExitCode=\([0-9:]*\).*/\1 \2/p'
}
cfg() { # cfg OUTDIR STEPS
    sed -e "s|^output_dir = .*|output_dir = \"$1\";|" -e "s|cache_dir = .*|cache_dir = \"cache\";|" \
        -e "s|steps = 12;|steps = $2;|" -e "s|log_every = 4;|log_every = 50;|" "$SRC/configs/tiny.cfg"
}
same() { # same DIR_A DIR_B: checkpoints bit-identical
    "$PY" - "$1" "$2" <<'PY'
import sys, h5py
a, b = sys.argv[1:3]
for run in ("base", "icl"):
    x, y = h5py.File(f"{a}/{run}.ckpt.h5", "r"), h5py.File(f"{b}/{run}.ckpt.h5", "r")
    for k in ("params", "adam_m", "adam_v"):
        assert x[k][()].tobytes() == y[k][()].tobytes(), f"{run}/{k} differs"
print(f"{a} and {b}: bit-identical checkpoints")
PY
}

cfg local 1500 > local.cfg
"$MICL" data prepare local.cfg > /dev/null
OMP_NUM_THREADS=1 "$MICL" train local.cfg > local.log

# 1. a plain batch job with two ranks
cfg job 1500 > job.cfg
jid=$(sbatch --parsable --ntasks=2 --output=job-%j.out "$SRC/slurm/train.sh" job.cfg)
state=$(slurm_wait "$jid"); echo "job $jid: $state"
[ "$state" = "COMPLETED 0:0" ] || { cat job-"$jid".out; exit 1; }
same local job

# 2. preemption by signal, then a resubmitted job resumes
cfg pre 1500 > pre.cfg
jid=$(sbatch --parsable --ntasks=2 --output=pre-%j.out "$SRC/slurm/train.sh" pre.cfg)
for _ in $(seq 400); do grep -q "step .*/1500" pre-"$jid".out 2> /dev/null && break; sleep 0.05; done
scancel --signal=USR1 "$jid"
state=$(slurm_wait "$jid"); echo "job $jid after SIGUSR1: $state"
cat pre-"$jid".out | grep -E "stop requested|step " | tail -2
if grep -q "stop requested" pre-"$jid".out; then
    [[ "$state" == *" 3:0" ]] || { echo "expected exit code 3"; exit 1; }
fi
jid=$(sbatch --parsable --ntasks=2 --output=res-%j.out "$SRC/slurm/train.sh" pre.cfg --resume)
state=$(slurm_wait "$jid"); echo "resume job $jid: $state"
[ "$state" = "COMPLETED 0:0" ] || { cat res-"$jid".out; exit 1; }
grep -o "resuming from .* at step [0-9]*" res-"$jid".out || true
same local pre

# 3. a rank killed under srun
cfg kill 1500 > kill.cfg
sed -i 's|checkpoint_every = [0-9]*;||; s|steps = 1500;|steps = 1500; checkpoint_every = 100;|' kill.cfg
jid=$(sbatch --parsable --ntasks=2 --output=kill-%j.out "$SRC/slurm/train.sh" kill.cfg)
victim=""
for _ in $(seq 600); do
    if grep -q "step .*/1500" kill-"$jid".out 2> /dev/null; then
        for p in $(pgrep -f "micl train kill.cfg"); do
            grep -qz "^SLURM_PROCID=1$" /proc/"$p"/environ 2> /dev/null && victim=$p
        done
        [ -n "$victim" ] && break
    fi
    sleep 0.05
done
[ -n "$victim" ] || { cat kill-"$jid".out; echo "no rank 1 to kill"; exit 1; }
kill -9 "$victim"
state=$(slurm_wait "$jid"); echo "job $jid after kill -9 of rank 1 (pid $victim): $state"
[ "$state" != "COMPLETED 0:0" ] || { echo "the job completed although a rank was killed"; exit 1; }
squeue -h -j "$jid" | grep -q . && { echo "the job is still queued: a hang"; exit 1; }
if [ -e kill/base.ckpt.h5 ]; then "$PY" -c "import h5py; h5py.File('kill/base.ckpt.h5', 'r')['params'][()]"; fi
jid=$(sbatch --parsable --ntasks=2 --output=kres-%j.out "$SRC/slurm/train.sh" kill.cfg --resume)
state=$(slurm_wait "$jid"); echo "resume job $jid: $state"
[ "$state" = "COMPLETED 0:0" ] || { cat kres-"$jid".out; exit 1; }
grep -o "resuming from .* at step [0-9]*" kres-"$jid".out || true
same local kill
echo "slurm_test: ok"
