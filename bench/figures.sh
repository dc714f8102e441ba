#!/bin/sh
# figures.sh [OUTDIR] - every speed measurement bench/README.md quotes, in one go, on an otherwise idle
# machine: the training step (quickstart and large at 1 and 2 threads), micl beside
# PyTorch at 1 and 2 threads, rank scaling, and the shot-curve cost. Each command prints its
# table and writes its HDF5 file into OUTDIR (default bench-out/); the load average before
# and after each is printed, so that a figure taken on a busy machine can be recognised.
set -eu
out=${1:-bench-out}
micl=${MICL:-build/micl}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

run() {
    name=$1
    shift
    echo "== $name: $* (load $(cut -d' ' -f1-3 /proc/loadavg))"
    "$micl" "$@" -o "$out/$name.h5"
    echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

run step-quickstart-1t bench step --config quickstart --threads 1 --steps 30
run step-quickstart-2t bench step --config quickstart --threads 2 --steps 30
run step-large-1t bench step --config large --threads 1 --steps 10
run step-large-2t bench step --config large --threads 2 --steps 10
run vs-torch-1t bench vs-torch --config quickstart --threads 1 --steps 20
run vs-torch-2t bench vs-torch --config quickstart --threads 2 --steps 20
run scaling bench scaling --config quickstart --steps 20
run eval bench eval --config quickstart --episodes 500 --repeats 3 --threads 1
