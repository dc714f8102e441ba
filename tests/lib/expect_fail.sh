#!/usr/bin/env bash
# expect_fail.sh - the one bad-input check of micl's tests. It runs a command that must fail and
# requires all of:
#   --exit CODE       the exit status CODE (common/error.h: 1 bad input, 2 bad command line);
#                     a signal (status > 128), a timeout or a sanitizer report always fails;
#   --message REGEX   a line of stderr matching REGEX (grep -E; repeatable: each must match);
#   --absent REGEX    no line of stderr matching REGEX (repeatable);
#   --usage           a "usage: micl" line on stderr and nothing on stdout;
#   no partial output: no *.tmp file under the checked folder (--dir, default the current one),
#   and the same entries in it afterwards as before, except new ones matching --allow REGEX
#   (paths as "./a/b": complete files a command may write before it reaches the bad input).
#   --timeout S       give up after S seconds (default 120).
#
# Two ways in, the same checks:
#   bash expect_fail.sh [--workdir DIR] OPTIONS -- CMD...   as a program (micl_bad_input_test in
#                                   tests/CMakeLists.txt): runs CMD in DIR, emptied first
#   . tests/lib/expect_fail.sh; expect_fail OPTIONS -- CMD...   in a test script that first builds
#                                   the bad input: a failed check exits the script with status 1
# CMD's stdout and stderr are echoed, then "ok: ..." or "FAIL: ...". Safe under set -e.

# _expect_fail_snapshot DIR: every entry under DIR, one "./path" a line, sorted
_expect_fail_snapshot() { (cd "$1" && find . -mindepth 1 | LC_ALL=C sort); }

# _expect_fail_fail MESSAGE: report, remove expect_fail's captured output ($out, $err), end the test
_expect_fail_fail() { echo "FAIL: $*"; rm -f "$out" "$err"; exit 1; }

expect_fail() {
    local want="" dir=. allow="" usage=0 limit=120 messages=() absents=()
    while [ $# -gt 0 ]; do
        case "$1" in
        --exit) want=$2; shift 2 ;;
        --message) messages+=("$2"); shift 2 ;;
        --absent) absents+=("$2"); shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --allow) allow=$2; shift 2 ;;
        --usage) usage=1; shift ;;
        --timeout) limit=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "FAIL: expect_fail: unknown option '$1'"; exit 1 ;;
        esac
    done
    if [ -z "$want" ] || [ ${#messages[@]} -eq 0 ] || [ $# -eq 0 ]; then
        echo "FAIL: expect_fail needs --exit CODE, --message REGEX and a command"; exit 1
    fi
    local out err before after rc re
    out=$(mktemp) && err=$(mktemp) || exit 1
    before=$(_expect_fail_snapshot "$dir")
    rc=0
    timeout "$limit" "$@" > "$out" 2> "$err" || rc=$?
    after=$(_expect_fail_snapshot "$dir")
    if [ -n "$allow" ]; then after=$(printf '%s\n' "$after" | grep -aEv -- "$allow" || true); fi
    echo "\$ $*"
    cat "$out" "$err"
    [ "$rc" -eq 124 ] && _expect_fail_fail "no answer within $limit s"
    [ "$rc" -gt 128 ] && _expect_fail_fail "killed by signal $((rc - 128))"
    [ "$rc" -eq "$want" ] || _expect_fail_fail "exit $rc, expected $want"
    if grep -Eaq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: ' "$err"; then
        _expect_fail_fail "sanitizer report"
    fi
    for re in "${messages[@]}"; do
        grep -Eaq -- "$re" "$err" || _expect_fail_fail "stderr does not match /$re/"
    done
    for re in "${absents[@]}"; do
        if grep -Eaq -- "$re" "$err"; then _expect_fail_fail "stderr matches /$re/"; fi
    done
    if [ "$usage" -eq 1 ]; then
        grep -aq '^usage: micl' "$err" || _expect_fail_fail "no usage line on stderr"
        [ -s "$out" ] && _expect_fail_fail "a usage error printed on stdout"
    fi
    if (cd "$dir" && find . -name '*.tmp' | grep -q .); then
        _expect_fail_fail "partial output left:" $(cd "$dir" && find . -name '*.tmp')
    fi
    if [ "$before" != "$after" ]; then
        diff <(echo "$before") <(echo "$after"); _expect_fail_fail "files changed in $dir (diff above)"
    fi
    rm -f "$out" "$err"
    echo "ok: exit $rc, message matches, nothing written"
}

# As a program: [--workdir DIR] OPTIONS -- CMD...
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    if [ "${1:-}" = --workdir ]; then
        rm -rf "${2:?}" && mkdir -p "$2" && cd "$2" || exit 1
        shift 2
    fi
    expect_fail "$@"
    exit 0
fi
