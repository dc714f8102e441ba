#!/usr/bin/env bash
# show_test.sh MICL SRC WORK CASE - `micl data show` on the tiny config: valid PNGs for every
# task from a config and from a store file, byte-identical reruns, and bad input (expect_fail:
# clear message, exit code, no PNG and no .tmp left). Case "prepare" builds the tiny stores in
# WORK/cache once (a ctest fixture); the other cases only read them.
set -uo pipefail
MICL=$1 SRC=$2 WORK=$3 CASE=$4
PY=/usr/bin/python3
TASKS="binding binding-eval classify mc mc-eval matching named bursty"

# tiny config with a private output dir and this test's private store cache
tiny() { sed -e "s|^output_dir = .*|output_dir = \"out\";|" \
             -e "s|cache_dir = .*|cache_dir = \"$WORK/cache\";|" "$SRC/configs/tiny.cfg"; }

if [ "$CASE" = prepare ]; then
    mkdir -p "$WORK" && cd "$WORK" || exit 1
    tiny > prep.cfg && "$MICL" data prepare prep.cfg || { echo "FAIL: data prepare"; exit 1; }
    exit 0
fi
rm -rf "$WORK/$CASE" && mkdir -p "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1
tiny > t.cfg
STORE=$WORK/cache/glyphs.h5
[ -f "$STORE" ] || { echo "FAIL: $STORE missing (the show_prepare fixture did not run)"; exit 1; }

# png FILE: PNG signature, IHDR (RGB, 8-bit, sane size) and a full decode by matplotlib
png() {
    "$PY" - "$1" <<'PYEOF' || { echo "FAIL: $1 is not a valid PNG"; exit 1; }
import struct, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
path = sys.argv[1]
with open(path, "rb") as f:
    head = f.read(33)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
length, kind, w, h, depth, color = struct.unpack(">I4sIIBB", head[8:26])
assert kind == b"IHDR" and length == 13, "no IHDR first"
assert depth == 8 and color == 2, f"expected 8-bit RGB, got depth {depth} color type {color}"
assert 400 <= w <= 4000 and 200 <= h <= 20000, f"odd size {w}x{h}"
img = mpimg.imread(path)
assert img.shape == (h, w, 3), f"decoded shape {img.shape}"
assert img.min() < 0.2 and img.max() > 0.9, "picture has no contrast"
print(f"ok: {path}: {w}x{h} RGB")
PYEOF
}
# show ARGS...: must succeed and leave no .tmp
show() {
    "$MICL" data show "$@" > out.txt 2> err.txt || { cat out.txt err.txt; echo "FAIL: micl data show $*"; exit 1; }
    if find . -name '*.tmp' | grep -q .; then echo "FAIL: .tmp left by: $*"; exit 1; fi
}
. "$(dirname "${BASH_SOURCE[0]}")/../lib/expect_fail.sh"
# expect RC PATTERN ARGS...: `micl data show ARGS` exits with RC, stderr matches PATTERN, nothing
# (no PNG, no .tmp) is left in this folder
expect() { local want=$1 pattern=$2; shift 2; expect_fail --exit "$want" --message "$pattern" -- "$MICL" data show "$@"; }

case "$CASE" in
tasks_cfg)
    for t in $TASKS; do show t.cfg --task "$t" -o "$t.png"; png "$t.png"; done
    show t.cfg --task binding --ways 2 --items 12 --format chat --seed 7 --index 3 -o chat.png
    png chat.png
    show t.cfg --task binding-eval --ways 4 --shots 0 -o zero.png; png zero.png ;;
tasks_store)
    for t in $TASKS; do show "$STORE" --task "$t" -o "$t.png"; png "$t.png"; done
    show "$WORK/cache/fashion_mnist.h5" --task binding-eval --ways 5 --shots 1 -o fm.png
    png fm.png ;;
deterministic)
    for t in $TASKS; do
        show t.cfg --task "$t" --seed 5 --index 2 -o a.png
        show t.cfg --task "$t" --seed 5 --index 2 -o b.png
        cmp a.png b.png || { echo "FAIL: $t: two runs with the same arguments differ"; exit 1; }
        show t.cfg --task "$t" --seed 5 --index 3 -o c.png
        cmp -s a.png c.png && { echo "FAIL: $t: --index 2 and 3 drew the same picture"; exit 1; }
        echo "ok: $t: identical bytes for the same arguments"
        rm -f a.png b.png c.png
    done ;;
bad_unknown_task)
    expect 2 "unknown task 'bindng' \(valid tasks: classify, binding, binding-eval, mc, mc-eval, matching, named, bursty, scene, scene-eval\)" \
        t.cfg --task bindng -o e.png
    expect 2 "--task is required \(valid tasks: classify, binding, binding-eval, mc, mc-eval, matching, named, bursty, scene, scene-eval\)" t.cfg -o e.png ;;
scene_tasks)
    # the tiny config with small scene and operator stores in this case's own cache
    sed -e "s|cache_dir = .*|cache_dir = \"$PWD/cache\";|" \
        -e "s|^data = {|data = { scenes = { size = 16; images = 300; test_images = 50; heldout_images = 60; };\n  operators = { size = 16; images = 200; test_images = 20; heldout_images = 40; };|" \
        t.cfg > s.cfg
    "$MICL" data prepare s.cfg > prep.txt || { cat prep.txt; echo "FAIL: prepare"; exit 1; }
    grep -q "scenes: built" prep.txt && grep -q "operators: built" prep.txt || { cat prep.txt; exit 1; }
    for k in colour shape position count relation count_induction operator; do
        show s.cfg --task scene --kind $k -o "$k.png"; png "$k.png"
        show s.cfg --task scene-eval --kind $k --shots 2 -o "$k-eval.png"; png "$k-eval.png"
    done
    show s.cfg --task scene-eval --kind size --format chat -o size.png; png size.png
    show "$PWD/cache/scenes.h5" --task scene --kind count --index 4 -o a.png
    show "$PWD/cache/scenes.h5" --task scene --kind count --index 4 -o b.png
    cmp a.png b.png || { echo "FAIL: two runs with the same arguments differ"; exit 1; }
    rm -f ./*.png
    expect 1 "size questions are held out for evaluation" s.cfg --task scene --kind size -o e.png
    expect 1 "operator episodes need an operator store" "$PWD/cache/scenes.h5" --task scene --kind operator -o e.png
    expect 1 "store 'glyphs' has neither object nor operand metadata" "$STORE" --task scene -o e.png
    expect 2 "unknown --kind 'colr'" s.cfg --task scene --kind colr -o e.png
    expect 2 "--ways does not apply to task scene" s.cfg --task scene --ways 3 -o e.png ;;
bad_missing_store)
    expect 1 "nope.h5: cannot open image store" nope.h5 --task binding -o e.png
    sed "s|cache_dir = .*|cache_dir = \"$PWD/empty\";|" t.cfg > m.cfg
    expect 1 "empty/glyphs.h5: cannot open image store" m.cfg --task classify -o e.png
    expect 1 "nope.cfg" nope.cfg --task binding -o e.png ;;
bad_missing_dir)
    expect 1 "cannot write 'nodir/e.png': directory 'nodir' does not exist" \
        t.cfg --task binding -o nodir/e.png
    [ -e nodir ] && { echo "FAIL: nodir was created"; exit 1; }
    expect 1 "cannot write 'nodir/e.png'" "$STORE" --task classify -o nodir/e.png ;;
bad_too_many_ways)
    expect 1 "a 9-way binding-eval episode needs 9 classes, but .*glyphs.h5 has only 8 \(held-out classes\)" \
        t.cfg --task binding-eval --ways 9 --shots 1 -o e.png
    expect 1 "a 25-way binding episode needs 25 classes, but .*glyphs.h5 has only 24" \
        "$STORE" --task binding --ways 25 -o e.png
    expect 1 "a 9-way episode needs 9 fake names; the vocabulary has 8" \
        t.cfg --task binding --ways 9 -o e.png
    expect 2 "--ways expects an integer in \[2, 64\]" t.cfg --task binding --ways 65 -o e.png ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
exit 0
