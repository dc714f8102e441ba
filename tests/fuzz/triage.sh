#!/usr/bin/env bash
# triage.sh TARGET [--after GOOD] ARTIFACT... - reruns each crash, timeout or OOM input that a fork-mode fuzzing
# run left behind (README.md "Fuzzing") and says whose code failed: "libhdf5" when the innermost
# frame outside the sanitizer runtime and libc lies in libhdf5 (a library bug micl cannot fix),
# "micl" otherwise (a micl bug: fix it and add the input to tests/fuzz/corpus/<target>/),
# "none" when the input no longer fails. Each input runs twice in one process and, with --after,
# once more after the good input GOOD (a seed): libhdf5 keeps state between files, and some
# inputs fail only after another file was read. Prints one line per input; exits 1 if any is
# micl's.
set -uo pipefail
TARGET=$1; shift
GOOD=
if [ "${1:-}" = --after ]; then GOOD=$2; shift 2; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
for a in "$@"; do
    # twice in one process: some inputs fail only once the library has seen them (and reset)
    log=$(timeout 60 "$TARGET" -detect_leaks=0 -rss_limit_mb=4096 -timeout=10 "$a" "$a" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ -n "$GOOD" ]; then
        log=$(timeout 60 "$TARGET" -detect_leaks=0 -rss_limit_mb=4096 -timeout=10 "$GOOD" "$a" 2>&1)
        rc=$?
    fi
    if [ "$rc" -eq 0 ]; then
        echo "none     $a"
        continue
    fi
    # innermost frame that is not the sanitizer runtime, libFuzzer or libc
    # (frames in the target binary without a source line are sanitizer interceptors)
    frame=$(printf '%s\n' "$log" | grep -E '^ +#[0-9]+ ' | grep -Fv "$(basename "$TARGET")+0x" |
        grep -Ev '__asan|__ubsan|__sanitizer|__interceptor|compiler-rt|sanitizer_common|libc\.so|fuzzer::|libFuzzer|malloc|calloc|realloc|operator new|StackTrace|Die\(' |
        head -n 1)
    kind=$(printf '%s\n' "$log" | grep -Eo 'ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer|LeakSanitizer): [A-Za-z-]+|runtime error: [^:]*' | head -n 1)
    if printf '%s' "$frame" | grep -q 'libhdf5'; then who=libhdf5
    elif [ -z "$frame" ] && [ "$rc" -eq 124 ]; then who=libhdf5?; kind="no answer in 60 s"
    else who=micl; status=1
    fi
    fn=$(printf '%s' "$frame" | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //; s/^ +#[0-9]+ 0x[0-9a-f]+ //')
    echo "$who $a: ${kind:-exit $rc} at ${fn:-?}"
done
exit $status
