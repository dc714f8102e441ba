#!/usr/bin/env bash
# cli_test.sh MICL SRC WORK CASE - one test of the command line (common/cli_args.c): usage
# errors exit 2 with "micl CMD: message" and the usage on stderr, and create nothing; `micl help`
# is README.md's "Command line" block; `micl eval --checkpoint` prints no training fields.
set -uo pipefail
MICL=$1 SRC=$2 WORK=$3 CASE=$4
rm -rf "$WORK/$CASE" && mkdir -p "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1
tiny() { sed -e "s|^output_dir = .*|output_dir = \"out\";|" \
             -e "s|cache_dir = .*|cache_dir = \"$WORK/cache\";|" "$SRC/configs/tiny.cfg"; }
tiny > c.cfg

. "$(dirname "${BASH_SOURCE[0]}")/../lib/expect_fail.sh"
# usage PATTERN ARGS...: exit 2, stderr matches PATTERN and shows a usage line, nothing on
# stdout, nothing created (expect_fail --usage)
usage() { local pattern=$1; shift; expect_fail --exit 2 --usage --message "$pattern" -- "$MICL" "$@"; }

case "$CASE" in
bad_integer)
    usage "^micl bench step: --steps expects an integer in \[1, 100000\], got 'x'$" bench step --steps x
    usage "^micl data import: --size expects an integer in \[1, 1024\], got '0'$" data import d -o o.h5 --size 0
    usage "^micl eval: --shots expects an integer in \[0, 64\], got 'x' \(in '1,x'\)$" \
        eval --checkpoint a.h5 --dataset b.h5 --ways 2 --shots 1,x
    usage "^micl data show: --ways expects an integer in \[2, 64\], got '1e3'$" data show c.cfg --task binding --ways 1e3 -o e.png ;;
unknown_option)
    usage "^micl data prepare: unknown option '--forse'$" data prepare c.cfg --forse
    usage "^micl train: unknown option '--rezume'$" train c.cfg --rezume
    usage "^micl report: --format expects 'table', 'csv' or 'json', got 'xml'$" report r.h5 --format xml
    usage "^micl train: option '-o' needs a value$" train c.cfg -o ;;
stray_argument)
    usage "^micl data prepare: unexpected argument 'junk'$" data prepare c.cfg junk --force
    usage "^micl train: unexpected argument 'd.cfg'$" train c.cfg d.cfg
    usage "^micl eval: unexpected argument 'c.cfg'$" eval --checkpoint a.h5 c.cfg
    usage "^micl sweep: missing CFG$" sweep -o x.h5 ;;
repeated_option)
    usage "^micl train: option '-o' is given twice$" train c.cfg -o a.h5 -o b.h5
    usage "^micl data prepare: option '--force' is given twice$" data prepare c.cfg --force --force
    usage "^micl eval: option '--shots' is given twice$" \
        eval --checkpoint a.h5 --dataset b.h5 --ways 2 --shots 1 --shots 2 ;;
out_of_range)
    # values the parser's ranges cannot express, checked before anything loads: still exit 2
    usage "^micl eval: --shots expects comma-separated integers in \[0, 64\], got '1,'$" \
        eval --checkpoint a.h5 --dataset b.h5 --ways 2 --shots 1,
    usage "^micl eval: benchmark 'fsicl' is 2-way, not 3$" \
        eval c.cfg --benchmark fsicl --ways 3 --checkpoint a.h5
    usage "^micl eval: a 64-way 8-shot episode shows 513 images; at most 256 fit an episode$" \
        eval --checkpoint a.h5 --dataset b.h5 --ways 64 --shots 8
    usage "^micl data export: benchmark 'openmi': a 40-way 8-shot episode shows 321 images" \
        data export c.cfg --benchmark openmi --ways 40 --shots 8 -o x
    usage "^micl data show: a 30-way 30-shot episode has 901 turns; at most 256 fit" \
        data show c.cfg --task binding-eval --ways 30 --shots 30 -o s.png ;;
no_command)
    expect_fail --exit 2 --usage --message "^usage: micl <command>" --message "^micl train CFG" -- "$MICL"
    "$MICL" help > out.txt || { echo "FAIL: micl help"; exit 1; }
    grep -q "^micl train CFG" out.txt || { echo "FAIL: micl help lists no train"; exit 1; }
    "$MICL" train --help > out.txt || { echo "FAIL: micl train --help"; exit 1; }
    grep -q "^usage: micl train CFG" out.txt || { echo "FAIL: train --help"; exit 1; }
    echo "ok: no command: exit 2, usage on stderr; help on stdout" ;;
help_matches_readme)
    "$MICL" help | sed -n '3,/^$/p' | sed '$d' > help.txt
    awk '/^## Command line/ { sec = 1 } sec && /^```/ { if (inb) exit; inb = 1; next } inb' \
        "$SRC/README.md" > readme.txt
    [ -s readme.txt ] || { echo "FAIL: no command-line block in README.md"; exit 1; }
    diff readme.txt help.txt || { echo "FAIL: README.md's command-line block is not 'micl help' (diff above)"; exit 1; }
    echo "ok: README.md's block is micl help" ;;
eval_checkpoint_no_train_fields)
    tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" data prepare c.cfg > /dev/null && "$MICL" train c.cfg --run base > /dev/null || exit 1
    "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 0,1 --episodes 8 > out.txt || exit 1
    cat out.txt
    grep -q "checkpoint of 4 steps" out.txt || { echo "FAIL: no run line"; exit 1; }
    if grep -Eq "tokens/s|train [0-9]" out.txt; then echo "FAIL: training fields printed"; exit 1; fi
    echo "ok: no training fields" ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
exit 0
