#!/usr/bin/env bash
# step_alloc.sh MICL SRC_DIR WORK_DIR COUNT_LIB - the training step loop allocates nothing:
# trains the tiny config (two runs) for 12 and for 36 steps under the malloc_count preload and
# requires the two processes' allocation counts to differ by less than one per extra step
# (48 extra steps in all; a per-step allocation would add at least 48).
set -euo pipefail
micl=$1 src=$2 work=$3 lib=$4
rm -rf "$work" && mkdir -p "$work"
count() { # steps -> allocation count of the training process
  sed -e "s/steps = 12;/steps = $1;/" -e "s#runs/tiny#$work/run$1#" \
      -e "s#data/cache-tiny#$work/cache#" -e "s/log_every = 4;/log_every = 1000;/" \
      "$src/configs/tiny.cfg" > "$work/t$1.cfg"
  "$micl" train "$work/t$1.cfg" > "$work/prep$1.log" 2>&1 # data prepared, not counted
  rm -rf "$work/run$1"
  LD_PRELOAD="$lib" "$micl" train "$work/t$1.cfg" 2> "$work/count$1.log" > /dev/null
  grep -m1 '^malloc_count: ' "$work/count$1.log" | cut -d' ' -f2
}
a=$(count 12)
b=$(count 36)
echo "allocations: 12 steps $a, 36 steps $b"
test -n "$a" && test -n "$b"
d=$((b - a))
test ${d#-} -lt 48 || { echo "the step loop allocates: $d more allocations for 48 more steps"; exit 1; }
