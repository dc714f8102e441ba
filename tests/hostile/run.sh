#!/usr/bin/env bash
# run.sh MICL GEN MKIMG SRC WORK CASE [REGEX] - one case of the hostile-input corpus
# (tests/hostile/hostile.cmake lists them). Builds the bad input (committed file under
# tests/hostile/config/ or written by GEN = make_hostile), runs the micl command that reads it,
# and checks with expect_fail (tests/lib/expect_fail.sh): exit 1, no signal, no sanitizer
# report, stderr matches REGEX (which names the file), and the case directory holds exactly the
# same files afterwards (no output, no temp file; ALLOW_NEW names complete files a case may make
# before it reaches the bad input).
# CASE "setup" writes the good inputs the others start from into WORK/base.
set -uo pipefail
MICL=$1 GEN=$2 MKIMG=$3 SRC=$4 WORK=$5 CASE=$6 REGEX=${7:-}
BASE=$WORK/base
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive LC_ALL=C

# tiny config: private output and cache dirs, Fashion-MNIST from FMDIR, 4 steps
tiny() {
    sed -e "s|^output_dir = .*|output_dir = \"out\";|" \
        -e "s|cache_dir = .*|cache_dir = \"cache\"; fashion_mnist_dir = \"$1\";|" \
        -e "s/steps = 12;/steps = 4;/" "$SRC/configs/tiny.cfg"
}

if [ "$CASE" = setup ]; then
    rm -rf "$BASE" && mkdir -p "$BASE/fm" && cd "$BASE" || exit 1
    "$GEN" idx_good_set fm || exit 1
    tiny "$BASE/fm" > c.cfg
    "$MICL" data prepare c.cfg > /dev/null || exit 1
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    ls -l cache out
    exit 0
fi
for f in c.cfg cache/glyphs.h5 out/base.ckpt.h5 out/results.h5; do
    [ -f "$BASE/$f" ] || { echo "missing $BASE/$f: the hostile_setup fixture did not run"; exit 1; }
done
rm -rf "${WORK:?}/$CASE" && mkdir -p "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1

gen() { "$GEN" "$@" || { echo "FAIL: make_hostile $*"; exit 1; }; }
png() { "$MKIMG" "$1" gray8 16 16 c "$2" 0 0 255 || exit 1; }
# good_class DIR: a class folder with two good images
good_class() { mkdir -p "$1" && png "$1/a.png" 200 && png "$1/b.png" 90; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/expect_fail.sh"
# expect CMD...: the checks above; REGEX comes from hostile.cmake
expect() { expect_fail --exit 1 --message "$REGEX" --allow "${ALLOW_NEW:-^$}" -- "$@"; }

# eval_store FILE: evaluate the good checkpoint on the image store FILE
eval_store() {
    expect "$MICL" eval --checkpoint "$BASE/out/base.ckpt.h5" --dataset "$1" --ways 2 --shots 1 \
        --episodes 4 -o e.h5
}
eval_ckpt() {
    expect "$MICL" eval --checkpoint "$1" --dataset "$BASE/cache/glyphs.h5" --ways 2 --shots 1 \
        --episodes 4 -o e.h5
}
# eval_predictions FILE: score the predictions FILE on the tiny config's fsicl cells
eval_predictions() {
    cp "$BASE/c.cfg" c.cfg && mkdir -p cache && cp "$BASE/cache/"*.h5 cache/ || exit 1
    expect "$MICL" eval c.cfg --benchmark fsicl --predictions "$1" --episodes 4 -o e.h5
}
# resume_from MAKE...: out/base.ckpt.h5 := make_hostile MAKE..., then train --resume
resume_from() {
    cp "$BASE/c.cfg" c.cfg && mkdir -p cache out && cp "$BASE/cache/"*.h5 cache/ || exit 1
    gen "$1" out/base.ckpt.h5 "$BASE/out/base.ckpt.h5"
    ALLOW_NEW='^\./out/\.micl\.lock$' expect "$MICL" train c.cfg --run base --resume # the folder lock stays
}
# prepare_idx FILE MAKE: the good Fashion-MNIST set with FILE replaced, then data prepare
prepare_idx() {
    mkdir -p fm cache && cp "$BASE/fm/"* fm/ && cp "$BASE/cache/glyphs.h5" cache/ || exit 1
    tiny "$PWD/fm" > c.cfg
    rm -f "fm/$1" && gen "$2" "fm/$1"
    expect "$MICL" data prepare c.cfg
}

t=${CASE#*_}
case "$CASE" in
config_huge_model) # fails only once the data is prepared: complete stores may stay
    cp "$SRC/tests/hostile/config/huge_model.cfg" .
    ALLOW_NEW='^\./(data|data/cache-tiny|data/cache-tiny/[a-z_]+\.h5|runs|runs/tiny)$'
    expect "$MICL" train huge_model.cfg ;;
config_*) # committed tests/hostile/config/<name>.cfg, or written by make_hostile
    if [ -f "$SRC/tests/hostile/config/$t.cfg" ]; then cp "$SRC/tests/hostile/config/$t.cfg" .
    else gen "config_$t" "$t.cfg"; fi
    expect "$MICL" train "$t.cfg" ;;
store_heap_zero_free | store_heap_overrun)
    gen "${CASE#store_}" bad.h5 "$BASE/cache/glyphs.h5"; eval_store bad.h5 ;;
ckpt_heap_zero_free | ckpt_heap_overrun)
    gen "${CASE#ckpt_}" bad.ckpt.h5 "$BASE/out/base.ckpt.h5"; eval_ckpt bad.ckpt.h5 ;;
results_heap_zero_free | results_heap_overrun)
    gen "${CASE#results_}" bad.h5 "$BASE/out/results.h5"; expect "$MICL" report bad.h5 ;;
store_empty | store_half | store_text)
    gen "$t" bad.h5 "$BASE/cache/glyphs.h5"; eval_store bad.h5 ;;
store_show_huge_count) # the same reader behind `micl data show`
    gen store_huge_count bad.h5 "$BASE/cache/glyphs.h5"
    expect "$MICL" data show bad.h5 --task classify -o ep.png ;;
store_*) gen "$CASE" bad.h5 "$BASE/cache/glyphs.h5"; eval_store bad.h5 ;;
ckpt_empty | ckpt_half)
    gen "$t" bad.ckpt.h5 "$BASE/out/base.ckpt.h5"; eval_ckpt bad.ckpt.h5 ;;
ckpt_is_results) eval_ckpt "$BASE/out/results.h5" ;;
ckpt_eval_cfg_half) # `micl eval CFG` reads out/<run>.ckpt.h5 of every run
    cp "$BASE/c.cfg" c.cfg && mkdir -p cache out && cp "$BASE/cache/"*.h5 cache/ || exit 1
    gen half out/base.ckpt.h5 "$BASE/out/base.ckpt.h5"
    expect "$MICL" eval c.cfg -o e.h5 ;;
ckpt_stage_out_of_range | ckpt_stage_beyond_run | ckpt_step_negative | ckpt_stage_acc_nan | ckpt_progress_short)
    resume_from "$CASE" ;;
ckpt_*) gen "$CASE" bad.ckpt.h5 "$BASE/out/base.ckpt.h5"; eval_ckpt bad.ckpt.h5 ;;
results_empty | results_half | results_text)
    gen "$t" bad.h5 "$BASE/out/results.h5"; expect "$MICL" report bad.h5 ;;
results_is_checkpoint) expect "$MICL" report "$BASE/out/base.ckpt.h5" ;;
results_*) gen "$CASE" bad.h5 "$BASE/out/results.h5"; expect "$MICL" report bad.h5 ;;
idx_empty) prepare_idx train-images-idx3-ubyte.gz empty ;;
idx_short_header) prepare_idx train-images-idx3-ubyte.gz idx_short_header ;;
idx_labels_short) prepare_idx train-labels-idx1-ubyte.gz idx_labels_short ;;
idx_label_out_of_range) prepare_idx train-labels-idx1-ubyte.gz idx_label_out_of_range ;;
idx_dims_overflow) prepare_idx train-images-idx3-ubyte.gz idx_dims_overflow ;;
idx_test_size_differs) prepare_idx t10k-images-idx3-ubyte.gz idx_test_size_differs ;;
idx_labels_rank3) prepare_idx train-labels-idx1-ubyte.gz idx_labels_rank3 ;;
idx_plain_truncated) prepare_idx train-images-idx3-ubyte.gz idx_plain_truncated ;;
idx_is_directory)
    mkdir -p fm cache && cp "$BASE/fm/"* fm/ && cp "$BASE/cache/glyphs.h5" cache/ || exit 1
    tiny "$PWD/fm" > c.cfg && rm fm/t10k-images-idx3-ubyte.gz && mkdir fm/t10k-images-idx3-ubyte.gz
    expect "$MICL" data prepare c.cfg ;;
import_class_not_utf8)
    good_class in/aa && good_class "$(printf 'in/b\xe9\xff')"
    expect "$MICL" data import in -o out.h5 ;;
import_only_broken_links)
    good_class in/aa && mkdir in/bb && ln -s nowhere1.png in/bb/x.png && ln -s nowhere2.png in/bb/y.png
    expect "$MICL" data import in -o out.h5 ;;
import_only_fifos)
    good_class in/aa && mkdir in/bb && mkfifo in/bb/x.png in/bb/y.jpg
    expect "$MICL" data import in -o out.h5 ;;
import_zero_width_png)
    good_class in/aa && good_class in/bb && gen png_zero_width in/bb/c.png
    expect "$MICL" data import in -o out.h5 ;;
import_png_is_directory)
    good_class in/aa && mkdir -p in/bb/x.png && png in/bb/y.png 30 && mkdir -p in/cc/z.png
    expect "$MICL" data import in -o out.h5 ;;
pred_binary) gen config_binary bad.jsonl; eval_predictions bad.jsonl ;;
pred_long_line) # 200 MiB: not kept in the build tree
    gen "$CASE" bad.jsonl; (eval_predictions bad.jsonl); rc=$?; rm -f bad.jsonl; exit $rc ;;
pred_*) gen "$CASE" bad.jsonl; eval_predictions bad.jsonl ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
exit 0
