#!/usr/bin/env bash
# bad_input.sh MICL SRC WORK CASE - runs one bad-input case: the command must exit non-zero,
# print a message matching the expected pattern, and leave no partial output behind.
set -uo pipefail
MICL=$1 SRC=$2 WORK=$3 CASE=$4
PY=/usr/bin/python3
rm -rf "$WORK/$CASE" && mkdir -p "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1

# tiny config with a private output dir and the shared tiny store cache
tiny() { sed -e "s|^output_dir = .*|output_dir = \"out\";|" \
             -e "s|cache_dir = .*|cache_dir = \"$WORK/cache\";|" "$SRC/configs/tiny.cfg"; }
prepare() { tiny > prep.cfg && "$MICL" data prepare prep.cfg > /dev/null || exit 1; }

# expect PATTERN CMD... : non-zero exit, stderr matches PATTERN, no *.tmp anywhere here
expect() {
    local pattern=$1; shift
    "$@" > out.txt 2> err.txt
    local rc=$?
    cat err.txt
    if [ "$rc" -eq 0 ]; then echo "FAIL: exit 0, expected failure"; exit 1; fi
    if ! grep -Eq -- "$pattern" err.txt; then echo "FAIL: message does not match /$pattern/"; exit 1; fi
    if find . -name '*.tmp' | grep -q .; then echo "FAIL: partial output left:"; find . -name '*.tmp'; exit 1; fi
    echo "ok: exit $rc, message matches /$pattern/"
}
absent() { for f in "$@"; do [ -e "$f" ] && { echo "FAIL: $f was created"; exit 1; }; done; return 0; }

case "$CASE" in
missing_config)
    expect "cannot open|no such file|nope.cfg" "$MICL" train nope.cfg ;;
too_many_ranks)
    prepare; tiny | sed 's/micro_batches = 4/micro_batches = 2/' > c.cfg
    expect "3 ranks but train.micro_batches = 2" mpirun -np 3 "$MICL" train c.cfg
    absent out/results.h5 ;;
unwritable_output)
    prepare; tiny | sed 's|^output_dir = .*|output_dir = "/proc/micl-out";|' > c.cfg
    expect "cannot create output directory '/proc/micl-out'" "$MICL" train c.cfg ;;
missing_checkpoint)
    prepare
    expect "cannot open 'nope.ckpt.h5'" "$MICL" eval --checkpoint nope.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
checkpoint_not_hdf5)
    prepare; echo "not hdf5" > bad.ckpt.h5
    expect "is not an HDF5 file" "$MICL" eval --checkpoint bad.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
checkpoint_is_a_store)
    prepare
    expect "not a micl checkpoint" "$MICL" eval --checkpoint "$WORK/cache/glyphs.h5" --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
checkpoint_nan)
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    "$PY" -c "
import h5py, numpy as np
f = h5py.File('out/base.ckpt.h5', 'r+'); p = f['params'][()]; p[5] = np.nan; f['params'][...] = p"
    expect "non-finite value at index 5" "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
checkpoint_wrong_shape)
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    "$PY" -c "
import h5py, numpy as np
f = h5py.File('out/base.ckpt.h5', 'r+'); p = f['params'][()]; del f['params']; f['params'] = p[:-3]"
    expect "params.* elements, expected" "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 2 --shots 1 ;;
eval_image_size_mismatch)
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    expect "images are 28x28 but the model" "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/fashion_mnist.h5" --ways 2 --shots 1 ;;
eval_too_many_ways)
    prepare; tiny | sed 's/steps = 12;/steps = 4;/' > c.cfg
    "$MICL" train c.cfg --run base > /dev/null || exit 1
    expect "40-way evaluation needs 40 classes" "$MICL" eval --checkpoint out/base.ckpt.h5 --dataset "$WORK/cache/glyphs.h5" --ways 40 --shots 0 -o e.h5
    absent e.h5 ;;
eval_bad_shots)
    expect "--shots expects an integer" "$MICL" eval --checkpoint a.h5 --dataset b.h5 --ways 2 --shots 1,x ;;
report_not_results)
    prepare
    expect "not a micl results file" "$MICL" report "$WORK/cache/glyphs.h5" ;;
report_schema_version)
    "$PY" -c "
import h5py
f = h5py.File('r.h5', 'w'); f.attrs['kind'] = 'micl-results'; f.attrs['schema_version'] = 99"
    expect "results file schema version 99" "$MICL" report r.h5 ;;
max_seq_too_small)
    prepare; tiny | sed 's/max_seq = 64/max_seq = 10/' > c.cfg
    expect "needs (prompts of )?[0-9]+ tokens.* model.max_seq = 10" "$MICL" train c.cfg
    absent out/results.h5 ;;
nan_loss)
    prepare; tiny > c.cfg
    expect "step 5: the loss became non-finite" env MICL_TEST_NAN_AT_STEP=5 "$MICL" train c.cfg
    absent out/results.h5 ;;
unknown_command)
    expect "unknown command 'trian'" "$MICL" trian x.cfg ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
exit 0
