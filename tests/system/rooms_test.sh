#!/usr/bin/env bash
# rooms_test.sh CC BUILD_DIR SRC_DIR WORK_DIR - the build enforces the rooms (CMakeLists.txt):
#  1. through orchestrator/'s view of the tree, an include of worker/ compiles and an include of
#     kernels/ (a room the orchestrator may not know) does not;
#  2. the same for model/ (may know kernels/, not data/ or comm/);
#  3. a copy of the tree with an orchestrator file that includes "../kernels/kernels.h" does not
#     configure, and the message names the file.
set -euo pipefail
cc=$1 build=$2 src=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
compiles() { # room header -> 0 if a file of `room` including `header` compiles
  printf '#include "%s"\nint main(void) { return 0; }\n' "$2" > "$work/probe.c"
  "$cc" -std=c11 -fsyntax-only -I "$build/rooms/$1" "$work/probe.c" 2> "$work/probe.err"
}
expect_ok() {
  compiles "$1" "$2" || { echo "FAIL: $1 cannot include $2:"; cat "$work/probe.err"; exit 1; }
}
expect_refused() {
  if compiles "$1" "$2"; then echo "FAIL: $1 may include $2"; exit 1; fi
  grep -q "No such file" "$work/probe.err" || { cat "$work/probe.err"; exit 1; }
  echo "refused as expected: $1 -> $2: $(grep -m1 'error' "$work/probe.err")"
}
expect_ok orchestrator bench/bench.h
expect_ok orchestrator worker/step.h
expect_refused orchestrator kernels/kernels.h
expect_refused orchestrator kernels/buffer.h
expect_ok model kernels/kernels.h
expect_refused model data/store.h
expect_refused model comm/comm.h
expect_refused kernels model/vlm.h
expect_refused data worker/trainer.h
expect_refused comm model/vlm.h
expect_refused bench orchestrator/experiment.h

# A "../" include would bypass the views: the configure step refuses it.
mkdir -p "$work/tree"
(cd "$src" && tar cf - --exclude='./build*' --exclude='./.git' --exclude='./data/cache*' \
   --exclude='./runs' .) | (cd "$work/tree" && tar xf -)
printf '#include "../kernels/kernels.h"\n' >> "$work/tree/orchestrator/sweep.c"
if cmake -S "$work/tree" -B "$work/tree/build" > "$work/configure.log" 2>&1; then
  echo "FAIL: a \"../\" include configured"; exit 1
fi
msg=$(sed -n '/CMake Error/,/Call Stack/p' "$work/configure.log" | tr -s ' \n' ' ')
case "$msg" in
  *'orchestrator/sweep.c: includes through "../"'*) echo "refused as expected: $msg" ;;
  *) cat "$work/configure.log"; exit 1 ;;
esac
echo "rooms: ok"
