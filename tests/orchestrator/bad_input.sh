#!/usr/bin/env bash
# bad_input.sh MICL SRC WORK CASE - one bad-input case of tests/orchestrator/bad_input.cmake that
# must first prepare a store or train a checkpoint: then expect_fail (tests/lib/expect_fail.sh)
# requires the exit code, a message matching the expected pattern and no partial output.
set -uo pipefail
MICL=$1 SRC=$2 WORK=$3 CASE=$4
PY=/usr/bin/python3
export PYTHONPATH="$SRC/scripts" # micl_h5.py: files in the format micl reads
rm -rf "$WORK/$CASE" && mkdir -p "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1

# tiny config with a private output dir and the shared tiny store cache
tiny() { sed -e "s|^output_dir = .*|output_dir = \"out\";|" \
             -e "s|cache_dir = .*|cache_dir = \"$WORK/cache\";|" "$SRC/configs/tiny.cfg"; }
prepare() { tiny > prep.cfg && "$MICL" data prepare prep.cfg > /dev/null || exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/../lib/expect_fail.sh"
# expect CODE PATTERN CMD...: exit CODE, stderr matches PATTERN, nothing left in this folder
# (but for new entries matching ALLOW)
expect() {
    local code=$1 pattern=$2; shift 2
    expect_fail --exit "$code" --message "$pattern" --allow "${ALLOW:-^$}" -- "$@"
}

case "$CASE" in
too_many_ranks)
    prepare; tiny | sed 's/micro_batches = 4/micro_batches = 2/' > c.cfg
    expect 1 "3 ranks but train.micro_batches = 2" mpirun -np 3 "$MICL" train c.cfg ;;
unwritable_output)
    prepare; tiny | sed 's|^output_dir = .*|output_dir = "/proc/micl-out";|' > c.cfg
    expect 1 "cannot create output directory '/proc/micl-out'" "$MICL" train c.cfg ;;
missing_checkpoint)
    prepare
    expect 1 "cannot open 'nope.ckpt.h5'" "$MICL" eval --checkpoint nope.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
checkpoint_not_hdf5)
    prepare; echo "not hdf5" > bad.ckpt.h5
    expect 1 "is not an HDF5 file" "$MICL" eval --checkpoint bad.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
checkpoint_is_a_store)
    prepare
    expect 1 "not a micl checkpoint" "$MICL" eval --checkpoint "$WORK/cache/glyphs.h5" --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
checkpoint_nan)
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    "$PY" -c "
import h5py, numpy as np
f = h5py.File('out/base.ckpt.h5', 'r+'); p = f['params'][()]; p[5] = np.nan; f['params'][...] = p"
    expect 1 "non-finite value at index 5" "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
checkpoint_wrong_shape)
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    "$PY" -c "
import micl_h5
f = micl_h5.edit('out/base.ckpt.h5'); p = f['params'][()]; del f['params']; micl_h5.dataset(f, 'params', p[:-3])"
    expect 1 "params.* elements, expected" "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
eval_image_size_mismatch)
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    expect 1 "images are 28x28 but the model" "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/fashion_mnist.h5" --ways 2 --shots 1 ;;
eval_too_many_ways)
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    expect 1 "the 40-way 0-shot cell needs 40 classes" "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 40 --shots 0 -o e.h5 ;;
eval_store_too_small)
    # a store of one image per class: a K-shot cell (K >= 1) would show a demo image as the
    # query; refused before anything is scored, naming the cell, the images per class it needs
    # and the smallest class. Real names the vocabulary lacks are named as such.
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    "$PY" -c "
import h5py, numpy as np, micl_h5
src = h5py.File('$WORK/cache/glyphs.h5', 'r')
lab = src['labels'][()]
keep = np.array(sorted({int(l): i for i, l in reversed(list(enumerate(lab)))}.values()))
with micl_h5.create('one.h5') as f:
    for k in src.keys():
        if k in ('images', 'labels', 'split'): micl_h5.dataset(f, k, src[k][()][keep])
        else: src.copy(k, f)
    for a, v in src.attrs.items(): f.attrs[a] = v
    micl_h5.seal_all(f)" || exit 1
    expect 1 "the 5-way 1-shot cell needs 2 images per class so that no image is shown twice in an episode; the smallest class, '.+', has 1 in the split evaluated" \
        "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset one.h5 --ways 5 --shots 0,1,4 -o e.h5
    expect 1 "the 2-way 1-shot cell of benchmark 'openmi' needs 2 images per class" \
        "$MICL" eval c.cfg --benchmark openmi --checkpoint out/base.ckpt.h5 --dataset one.h5 --shots 0,1 -o e.h5
    expect 1 "the 5-way 0-shot cell with real names needs 5 classes whose names are in the model's vocabulary; the store has 0 \(its class names, e.g. '.+', are not in it" \
        "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 5 --shots 0 --names real -o e.h5 ;;
report_not_results)
    prepare
    expect 1 "not a micl results file" "$MICL" report "$WORK/cache/glyphs.h5" ;;
report_schema_version)
    "$PY" -c "
import micl_h5
f = micl_h5.create('r.h5'); f.attrs['kind'] = 'micl-results'; f.attrs['schema_version'] = 99"
    expect 1 "results file schema version 99" "$MICL" report r.h5 ;;
max_seq_too_small)
    prepare; tiny | sed 's/max_seq = 64/max_seq = 10/' > c.cfg
    ALLOW='^\./out$' # the (empty) output directory
    expect 1 "needs (prompts of )?[0-9]+ tokens.* model.max_seq = 10" "$MICL" train c.cfg ;;
nan_loss)
    prepare; tiny > c.cfg
    ALLOW='^\./out$' # the (empty) output directory
    expect 1 "step 5: the loss became non-finite" env MICL_TEST_NAN_AT_STEP=5 "$MICL" train c.cfg ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
exit 0
