#!/usr/bin/env bash
# ptxas_report.sh LOGDIR MAX_STACK_BYTES REPORT SOURCE.cu... - the CUDA module's resource usage:
# reads what ptxas printed (--resource-usage) when the build compiled each source (nvcc_log.sh
# keeps it in LOGDIR/<file>.cu.log), writes one line per device function to REPORT (file,
# architecture, registers, stack frame, spill stores and loads) and fails on any spill or on a
# stack frame (local memory) larger than MAX_STACK_BYTES per thread.
set -euo pipefail
logdir=$1 max_stack=$2 report=$3
shift 3
demangle() { if command -v c++filt > /dev/null; then c++filt; else cat; fi; }
: > "$report.tmp"
missing=0
for src in "$@"; do
    log="$logdir/$(basename "$src").log"
    if [ ! -f "$log" ]; then
        echo "FAIL: $log missing: build micl_cuda first (the compile of $src writes it)"
        missing=1
        continue
    fi
    if [ "$log" -ot "$src" ]; then
        echo "FAIL: $log is older than $src: build micl_cuda first"
        missing=1
        continue
    fi
    # ptxas prints, per function: "Compiling entry function 'f' for 'sm_90'" (kernels only),
    # "Function properties for f", "N bytes stack frame, S bytes spill stores, L bytes spill
    # loads", then "Used R registers, ..." (kernels only).
    awk -v file="$(basename "$src")" '
        /Compiling entry function/ { split($0, q, "'\''"); arch = q[4] }
        /Function properties for / { n++; fn[n] = $NF; ar[n] = arch == "" ? "?" : arch; regs[n] = "-" }
        /bytes stack frame/ { stack[n] = $1; st[n] = $5; ld[n] = $9 }
        /Used [0-9]+ registers/ { for (i = 1; i <= NF; i++) if ($i == "Used") regs[n] = $(i + 1) }
        END {
            if (n == 0) printf "%-22s %-6s %5s %6s %7s %7s  %s\n", file, "-", "-", "-", "-", "-", "(no device functions)"
            for (i = 1; i <= n; i++)
                printf "%-22s %-6s %5s %6d %7d %7d  %s\n", file, ar[i], regs[i], stack[i], st[i], ld[i], fn[i]
        }' "$log" >> "$report.tmp"
done
{
    printf "%-22s %-6s %5s %6s %7s %7s  %s\n" file arch regs stack spill_st spill_ld function
    demangle < "$report.tmp"
} > "$report"
rm -f "$report.tmp"
cat "$report"
# columns: 4 stack, 5 spill stores, 6 spill loads
bad=$(awk -v max="$max_stack" 'NR > 1 && $4 != "-" && ($5 > 0 || $6 > 0 || $4 > max)' "$report")
if [ -n "$bad" ]; then
    echo "FAIL: register spills, or a stack frame over $max_stack bytes per thread:"
    echo "$bad"
    exit 1
fi
[ $missing -eq 0 ] || exit 1
echo "ok: no spills, stack frames <= $max_stack bytes ($# files)"
