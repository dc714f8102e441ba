#!/usr/bin/env bash
# local_cluster.sh start|stop - a single-node Slurm cluster on this machine, for tests.
#
# Needs root and the Debian packages slurmctld slurmd slurm-client munge. Writes its config and
# state under $SLURM_CI_DIR (default /tmp/micl-slurm); `start` prints the SLURM_CONF line to
# export. No systemd: munged, slurmctld and slurmd are started by hand and stopped by PID file.
# cred_expire=10 (default 120 s) is also how long Slurm holds back a requeued job, so that the
# tests' preempted-and-requeued sweeps start again after 10 s.
set -euo pipefail
D=${SLURM_CI_DIR:-/tmp/micl-slurm}
CPUS=${SLURM_CI_CPUS:-$(getconf _NPROCESSORS_ONLN)}  # not nproc: it honours OMP_NUM_THREADS
# Ports derived from $D, so that clusters of different directories can run side by side
# (slurmctld on the default port 6817 fails with "Address already in use" next to another).
PORT=${SLURM_CI_PORT:-$((20000 + $(printf '%s' "$D" | cksum | cut -d' ' -f1) % 10000 * 2))}

start() {
    mkdir -p "$D"/{state,spool,log}
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --force
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    munge -n > /dev/null 2>&1 || runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n > /dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge > /dev/null
    local host mem
    host=$(hostname -s)
    mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    cat > "$D/slurm.conf" <<CONF
ClusterName=micl
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=cred_expire=10
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=pmix
ReturnToService=2
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$D/slurm.conf"
    slurmctld
    slurmd
    for _ in $(seq 100); do
        sinfo -h -o %T 2> /dev/null | grep -qE '^(idle|mixed|allocated)' && break
        sleep 0.2
    done
    sinfo -h -o %T | grep -qE '^(idle|mixed|allocated)' || { echo "slurm did not come up"; exit 1; }
    echo "export SLURM_CONF=$D/slurm.conf"
}

stop() {
    for f in "$D/slurmd.pid" "$D/slurmctld.pid"; do
        [ -s "$f" ] && kill "$(cat "$f")" 2> /dev/null || true
    done
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
