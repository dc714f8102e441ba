#!/usr/bin/env bash
# nvcc_log.sh LOGDIR COMPILER ARGS... - the compiler launcher of the CUDA module (CMakeLists.txt):
# runs one compile and keeps all it printed in LOGDIR/<object>.log, ptxas's --resource-usage
# report included, for ptxas_report.sh. The build shows the rest (warnings, errors) as usual,
# without the per-kernel report lines.
set -uo pipefail
logdir=$1
shift
obj="" prev=""
for a in "$@"; do
    [ "$prev" = "-o" ] && obj=$a
    prev=$a
done
[ -n "$obj" ] || { echo "nvcc_log.sh: no -o in: $*" >&2; exit 2; }
mkdir -p "$logdir"
log="$logdir/$(basename "$obj" .o).log"
"$@" > "$log.tmp" 2>&1
rc=$?
mv -f "$log.tmp" "$log"
if [ $rc -ne 0 ]; then
    cat "$log" >&2
else
    grep -v -E '^ptxas info|^ +[0-9]+ bytes stack frame' "$log" >&2
fi
exit $rc
