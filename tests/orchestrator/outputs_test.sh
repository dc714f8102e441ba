#!/usr/bin/env bash
# outputs_test.sh MICL SRC WORK CASE - no output replaces an input, a non-file or a file of
# another kind (common/atomic_file.c), and one micl at a time owns an output folder
# (common/dir_lock.c). Each refusal: the exit code, the message naming the paths, the file it
# would have replaced the same byte for byte, no *.tmp and nothing new (expect_fail).
set -uo pipefail
MICL=$1 SRC=$2 WORK=$3 CASE=$4
PY=/usr/bin/python3
tiny() { sed -e "s|^output_dir = .*|output_dir = \"out\";|" \
             -e "s|cache_dir = .*|cache_dir = \"cache\";|" "$SRC/configs/tiny.cfg"; }
if [ "$CASE" = setup ]; then # the tiny stores, prepared once for every case (a ctest fixture)
    rm -rf "$WORK/stores" && mkdir -p "$WORK/stores" && cd "$WORK/stores" || exit 1
    tiny > c.cfg && "$MICL" data prepare c.cfg > /dev/null || exit 1
    ls cache/glyphs.h5 && exit 0
    exit 1
fi
rm -rf "$WORK/$CASE" && mkdir -p "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1
# scenes.h5: a second store (a copy), only ever an input that an output must not replace
mkdir -p cache out && cp "$WORK"/stores/cache/glyphs.h5 cache/ && cp cache/glyphs.h5 cache/scenes.h5 ||
    exit 1
tiny > c.cfg && cp c.cfg c2.cfg
# fake_h5 PATH KIND: an HDF5 file whose root attribute kind is KIND (what file_kind reads)
fake_h5() { "$PY" -c "import h5py,sys; f=h5py.File(sys.argv[1],'w'); f.attrs['kind']=sys.argv[2]; \
f.attrs['schema_version']=1; f['x']=[1,2,3]" "$1" "$2" || exit 1; }
fake_h5 ck1.h5 micl-checkpoint && fake_h5 wp.ckpt.h5 micl-checkpoint
fake_h5 out/icl.ckpt.h5 micl-checkpoint && fake_h5 out/base.ckpt.h5 micl-checkpoint

. "$(dirname "${BASH_SOURCE[0]}")/../lib/expect_fail.sh"
# kept CODE PATTERN FILE ARGS...: micl ARGS fails with CODE and PATTERN; FILE keeps its bytes
kept() {
    local code=$1 pattern=$2 file=$3 before after; shift 3
    before=$(md5sum < "$file")
    expect_fail --exit "$code" --message "$pattern" -- "$MICL" "$@"
    after=$(md5sum < "$file")
    [ "$before" = "$after" ] || { echo "FAIL: $file changed"; exit 1; }
}
E="--ways 2 --shots 1"

case "$CASE" in
inputs)
    kept 2 "^micl eval: refusing to write 'c2.cfg': it is the config this command reads \('c2.cfg'\)$" \
        c2.cfg eval c2.cfg -o c2.cfg
    kept 2 "refusing to write 'ck1.h5': it is the checkpoint this command reads \('ck1.h5'\)$" \
        ck1.h5 eval --checkpoint ck1.h5 --dataset cache/glyphs.h5 $E -o ck1.h5
    kept 2 "refusing to write 'cache/glyphs.h5': it is the image store this command reads" \
        cache/glyphs.h5 eval --checkpoint ck1.h5 --dataset cache/glyphs.h5 $E -o cache/glyphs.h5
    kept 2 "^micl data show: refusing to write 'cache/glyphs.h5': it is the image store" \
        cache/glyphs.h5 data show cache/glyphs.h5 --task binding -o cache/glyphs.h5
    kept 2 "^micl train: refusing to write 'out/icl.ckpt.h5': it is the checkpoint of run 'icl'$" \
        out/icl.ckpt.h5 train c.cfg --run base -o out/icl.ckpt.h5
    kept 2 "^micl train: refusing to write 'out/base.ckpt.h5': it is the checkpoint of run 'base'$" \
        out/base.ckpt.h5 train c.cfg -o out/base.ckpt.h5 ;;
spellings) # the same input through ./ and through a symbolic link
    ln -s ck1.h5 link.h5
    kept 2 "refusing to write './ck1.h5': it is the checkpoint this command reads \('ck1.h5'\)$" \
        ck1.h5 eval --checkpoint ck1.h5 --dataset cache/glyphs.h5 $E -o ./ck1.h5
    kept 2 "refusing to write 'ck1.h5': it is the checkpoint this command reads \('link.h5'\)$" \
        ck1.h5 eval --checkpoint link.h5 --dataset cache/glyphs.h5 $E -o ck1.h5
    kept 2 "refusing to write 'link.h5': it is the checkpoint this command reads \('./ck1.h5'\)$" \
        ck1.h5 eval --checkpoint ./ck1.h5 --dataset cache/glyphs.h5 $E -o link.h5
    [ -L link.h5 ] || { echo "FAIL: the link was replaced"; exit 1; } ;;
import) # an output inside the folder being imported
    mkdir -p imgs/a imgs/b
    "$MICL" data show cache/glyphs.h5 --task binding -o imgs/a/1.png > /dev/null || exit 1
    cp imgs/a/1.png imgs/b/1.png
    kept 2 "^micl data import: refusing to write 'imgs/a/1.png': it is inside the image folder being imported \('imgs'\)$" \
        imgs/a/1.png data import imgs -o imgs/a/1.png
    kept 2 "^micl data import: refusing to write 'c.cfg': it is a text file, and this would replace it with a micl image store$" \
        c.cfg data import imgs -o c.cfg ;;
kinds) # an existing file of another kind: refused before any work, and at commit
    kept 2 "^micl eval: refusing to write 'wp.ckpt.h5': it is a micl checkpoint, and this would replace it with a text file$" \
        wp.ckpt.h5 eval c.cfg --benchmark openmi --checkpoint ck1.h5 --write-predictions wp.ckpt.h5
    kept 2 "refusing to write 'cache/scenes.h5': it is a micl image store, and this would replace it with a micl results file$" \
        cache/scenes.h5 eval --checkpoint ck1.h5 --dataset cache/glyphs.h5 $E -o cache/scenes.h5
    kept 2 "^micl data show: refusing to write 'cache/scenes.h5': it is a micl image store, and this would replace it with a PNG image$" \
        cache/scenes.h5 data show cache/glyphs.h5 --task binding -o cache/scenes.h5
    # bench has no early check: the atomic writer refuses at commit, exit 1
    kept 1 "^micl: error: refusing to write 'wp.ckpt.h5': it is a micl checkpoint, and this would replace it with a micl bench file( \\[.*\\])?$" \
        wp.ckpt.h5 bench eval --config tiny --ways 2 --shots 0 --episodes 2 --repeats 1 -o wp.ckpt.h5 ;;
devices) # a node is never replaced by a regular file (as root a rename would do it)
    mkfifo fifo
    for dev in /dev/null /dev/full fifo out; do
        expect_fail --exit 2 --message "refusing to write '$dev': it is a (character device|FIFO|directory), not a regular file$" \
            -- "$MICL" eval --checkpoint ck1.h5 --dataset cache/glyphs.h5 $E -o "$dev"
    done
    [ -c /dev/null ] && [ -c /dev/full ] && [ -p fifo ] || { echo "FAIL: a node was replaced"; exit 1; }
    expect_fail --exit 2 --message "refusing to write '/dev/full': it is a character device" \
        -- "$MICL" eval c.cfg --benchmark openmi --checkpoint ck1.h5 --write-predictions /dev/full
    [ -c /dev/full ] || { echo "FAIL: /dev/full was replaced"; exit 1; } ;;
lock) # two micl in one folder: the second stops at once; the first, stopped by SIGTERM after
    # them (it is long enough never to end on its own first), leaves its checkpoint whole
    sed -e 's/steps = 12;/steps = 1000000;/' c.cfg > l.cfg
    sed -e 's/^seed = 3;/seed = 4;/' l.cfg > l2.cfg
    "$MICL" train l.cfg --run base --restart > first.log 2>&1 &
    first=$!
    for _ in $(seq 600); do [ -s out/.micl.lock ] && break; sleep 0.05; done
    [ -s out/.micl.lock ] || { echo "FAIL: no lock file"; kill "$first"; exit 1; }
    mkdir quiet # the second commands' folder: they must write nothing (the first writes out/)
    held="^micl: error: out: in use by micl train l.cfg \(pid $first on host [^ ]+\) since [0-9T:-]+( \\[.*\\])?$"
    expect_fail --exit 1 --message "$held" --dir quiet -- "$MICL" train l.cfg --run base
    expect_fail --exit 1 --message "$held" --dir quiet -- "$MICL" train l2.cfg --run base
    expect_fail --exit 1 --message "$held" --dir quiet -- "$MICL" eval l.cfg
    for _ in $(seq 600); do grep -q "^\[base\] step " first.log && break; sleep 0.05; done
    kill -0 "$first" || { echo "FAIL: the first train ended early"; cat first.log; exit 1; }
    kill -TERM "$first"
    wait "$first"
    code=$?
    [ "$code" = 3 ] || { echo "FAIL: the first train exited $code, expected 3"; cat first.log; exit 1; }
    "$PY" - <<'PY' || exit 1
import h5py
ck = h5py.File("out/base.ckpt.h5", "r")
assert 0 < ck.attrs["step"] < 1000000, ck.attrs["step"]
PY
    [ ! -e out/.micl.lock ] || { echo "FAIL: the lock file was not removed"; exit 1; }
    echo "ok: the second micl stopped, the first kept its folder" ;;
stale) # a lock file whose holder is dead is taken over, saying so
    sed -e 's/steps = 12;/steps = 4;/' c.cfg > s.cfg
    echo "999999 elsewhere 2020-01-01T00:00:00 micl train old.cfg" > out/.micl.lock
    "$MICL" train s.cfg --run base --restart > s.log 2>&1 || { echo "FAIL: train exited $?"; cat s.log; exit 1; }
    grep -q "^out: taken over a stale lock file left by micl train old.cfg (pid 999999 on host elsewhere) since 2020-01-01T00:00:00$" s.log ||
        { echo "FAIL: no stale-lock message"; cat s.log; exit 1; }
    echo "ok: stale lock taken over" ;;
*) echo "unknown case $CASE"; exit 1 ;;
esac
