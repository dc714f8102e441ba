#!/usr/bin/env bash
# format_test.sh MICL ROUNDTRIP SRC WORK CASE - the checksummed file format (format.cmake):
#   setup        a tiny training (checkpoint, results, stores) and a bench file, shared by the rest
#   old_refused  files from before checksums (tests/system/old_format/) are refused by every
#                reader with the message that names the format, before libhdf5 parses them
#   upgrade      scripts/micl_upgrade.py rewrites them and micl reads the rewrites
#   h5py_h5dump  h5dump and h5py read every file micl writes; the format is the one documented
#                (superblock 3, Fletcher32 on every dataset of numbers, strings_crc32 as
#                scripts/micl_h5.py computes it)
#   flip_KIND    a byte flipped at many offsets of a checkpoint, store or results file: refused
#                with a message naming the file, or nothing micl loads changes
set -uo pipefail
MICL=$1 ROUNDTRIP=$2 SRC=$3 WORK=$4 CASE=$5
PY=/usr/bin/python3
export PYTHONPATH="$SRC/scripts"
OLD=$SRC/tests/system/old_format
BASE=$WORK/base
fail() { echo "FAIL: $*"; exit 1; }

if [ "$CASE" = setup ]; then
    rm -rf "$BASE" && mkdir -p "$BASE" && cd "$BASE" || exit 1
    sed -e 's|^output_dir = .*|output_dir = "out";|' -e 's|cache_dir = .*|cache_dir = "cache";|' \
        -e 's/steps = 12;/steps = 4;/' "$SRC/configs/tiny.cfg" > c.cfg
    "$MICL" train c.cfg --run base > train.log 2>&1 || { cat train.log; fail "train"; }
    OMP_NUM_THREADS=1 "$MICL" bench comm --max-bytes 64 --iters 2 -o bench.h5 > bench.log 2>&1 ||
        { cat bench.log; fail "bench"; }
    ls -l out cache bench.h5
    exit 0
fi
[ -f "$BASE/out/base.ckpt.h5" ] || fail "the format_setup fixture did not run"
rm -rf "${WORK:?}/$CASE" && mkdir -p "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1
. "$SRC/tests/lib/expect_fail.sh"
CK=$BASE/out/base.ckpt.h5 RES=$BASE/out/results.h5 STORE=$BASE/cache/glyphs.h5

case "$CASE" in
old_refused)
    msg() { echo "^micl: error: $1: an HDF5 file without checksums \(superblock version 0\)"; }
    expect_fail --exit 1 --message "$(msg "$OLD/micro.ckpt.h5")" -- \
        "$MICL" eval --checkpoint "$OLD/micro.ckpt.h5" --dataset "$STORE" --ways 2 --shots 1 -o e.h5
    expect_fail --exit 1 --message "$(msg "$OLD/micro-results.h5")" -- "$MICL" report "$OLD/micro-results.h5"
    expect_fail --exit 1 --message "$(msg "$OLD/tiny-glyphs.h5")" -- \
        "$MICL" eval --checkpoint "$CK" --dataset "$OLD/tiny-glyphs.h5" --ways 2 --shots 1 -o e.h5
    expect_fail --exit 1 --message "$(msg "$OLD/tiny-scenes.h5")" -- \
        "$MICL" data show "$OLD/tiny-scenes.h5" --task binding -o s.png
    # an old store in a cache is not current: data prepare rebuilds it
    mkdir -p cache && cp "$OLD/tiny-glyphs.h5" cache/glyphs.h5 && cp "$BASE/c.cfg" . || exit 1
    "$MICL" data prepare c.cfg > prep.log 2>&1 || { cat prep.log; fail "data prepare"; }
    grep -q "glyphs: built cache/glyphs.h5" prep.log || { cat prep.log; fail "the old store was kept"; }
    [ "$(h5dump -B cache/glyphs.h5 | awk '/SUPERBLOCK_VERSION/ {print $2}')" = 3 ] || fail "not rebuilt"
    echo "ok: old files refused, an old cached store rebuilt" ;;
upgrade)
    for f in micro.ckpt.h5 micro-results.h5 tiny-glyphs.h5 tiny-scenes.h5; do
        "$PY" "$SRC/scripts/micl_upgrade.py" "$OLD/$f" "new-$f" || fail "upgrade $f"
    done
    "$MICL" report new-micro-results.h5 > r.txt || fail "report of the upgraded results"
    grep -q "binding" r.txt || fail "the upgraded results report no rows"
    "$MICL" eval --checkpoint new-micro.ckpt.h5 --dataset new-tiny-glyphs.h5 --ways 2 --shots 1 \
        --episodes 4 -o e.h5 > e.log 2>&1 || { cat e.log; fail "eval of the upgraded files"; }
    "$MICL" data show new-tiny-scenes.h5 --task scene -o s.png > /dev/null || fail "show"
    # values unchanged
    "$PY" - "$OLD" <<'PY' || exit 1
import sys, h5py, numpy as np
old = sys.argv[1]
for f in ("micro.ckpt.h5", "micro-results.h5", "tiny-glyphs.h5", "tiny-scenes.h5"):
    a, b = h5py.File(old + "/" + f, "r"), h5py.File("new-" + f, "r")
    def same(name, obj):
        if isinstance(obj, h5py.Dataset):
            x, y = obj[()], b[name][()]
            assert np.array_equal(np.asarray(x), np.asarray(y)), (f, name)
    a.visititems(same)
    for k in a.attrs:
        if k != "schema_version":
            assert np.array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k])), (f, k)
print("ok: upgraded values equal the old ones")
PY
    before=$(md5sum < new-micro.ckpt.h5)
    "$PY" "$SRC/scripts/micl_upgrade.py" "$OLD/micro.ckpt.h5" new-micro.ckpt.h5 2> x.err &&
        fail "replaced an existing file"
    grep -q "exists" x.err || fail "no message for an existing output"
    [ "$(md5sum < new-micro.ckpt.h5)" = "$before" ] || fail "the existing output changed"
    "$PY" "$SRC/scripts/micl_upgrade.py" new-micro.ckpt.h5 again.h5 2> y.err && fail "upgraded twice"
    grep -q "nothing to upgrade" y.err || fail "no message for a current file"
    [ ! -e again.h5 ] && [ ! -e again.h5.tmp ] || fail "left a file"
    echo "ok: upgraded files read" ;;
h5py_h5dump)
    for f in "$CK" "$RES" "$STORE" "$BASE/bench.h5"; do
        [ "$(h5dump -B "$f" | awk '/SUPERBLOCK_VERSION/ {print $2}')" = 3 ] || fail "$f: superblock"
        h5dump "$f" > dump.txt 2> dump.err || { cat dump.err; fail "h5dump $f"; }
    done
    "$PY" - "$CK" "$RES" "$STORE" "$BASE/bench.h5" <<'PY' || exit 1
import shutil, sys, h5py, micl_h5
for path in sys.argv[1:]:
    n = 0
    with h5py.File(path, "r") as f:
        def check(name, obj):
            global n
            if isinstance(obj, h5py.Dataset):
                obj[()]  # every dataset reads (h5py verifies Fletcher32 too)
                info = h5py.check_string_dtype(obj.dtype)
                if info is not None and info.length is None:  # a text: compact, sealed
                    assert obj.id.get_create_plist().get_layout() == h5py.h5d.COMPACT, name
                    assert micl_h5.CRC in obj.attrs, (path, name)
                elif obj.size > 0:
                    assert obj.fletcher32, (path, name, "no Fletcher32")
                n += 1
        f.visititems(check)
        stored = {}
        def crc(name, obj):
            if micl_h5.CRC in obj.attrs: stored[name] = int(obj.attrs[micl_h5.CRC])
        crc("/", f); f.visititems(crc)
    shutil.copy(path, "copy.h5")
    with micl_h5.edit("copy.h5") as g:
        micl_h5.seal_all(g)
        again = {}
        def crc2(name, obj):
            if micl_h5.CRC in obj.attrs: again[name] = int(obj.attrs[micl_h5.CRC])
        crc2("/", g); g.visititems(crc2)
    assert stored and stored == again, (path, stored, again)
    print("ok: %s: %d datasets read, %d string checksums as documented" % (path, n, len(stored)))
PY
    ;;
flip_checkpoint|flip_store|flip_results)
    kind=${CASE#flip_}
    case $kind in checkpoint) src=$CK ;; store) src=$STORE ;; results) src=$RES ;; esac
    cp "$src" good.h5 && "$ROUNDTRIP" "$kind" good.h5 ref.h5 || fail "round trip of the intact file"
    "$PY" - "$ROUNDTRIP" "$kind" <<'PY'
import os, subprocess, sys, h5py
roundtrip, kind = sys.argv[1], sys.argv[2]
data = open("good.h5", "rb").read()
ref = open("ref.h5", "rb").read()
size = len(data)
# where loaded bytes surely are: the stored data of each dataset of numbers, the first string of
# each global heap collection, the object headers; and offsets spread over the whole file (where
# a flip may also land in free space or in a string's stored length, which libhdf5 ignores)
targeted = set()
with h5py.File("good.h5", "r") as f:
    def where(name, obj):
        if not isinstance(obj, h5py.Dataset) or obj.size == 0:
            return
        if h5py.check_string_dtype(obj.dtype) is not None:
            return
        if obj.chunks:
            for i in range(obj.id.get_num_chunks()):
                c = obj.id.get_chunk_info(i)
                for frac in (0, 1, 2):
                    targeted.add(c.byte_offset + frac * (c.size - 1) // 2)
        elif obj.id.get_offset() is not None:
            targeted.add(obj.id.get_offset())
    f.visititems(where)
for tag in (b"GCOL", b"OHDR"):
    at = data.find(tag)
    while at >= 0:
        targeted.add(at + 32 if tag == b"GCOL" else at + 6)
        at = data.find(tag, at + 1)
targeted = {o for o in targeted if 0 <= o < size}
spread = {size * k // 251 for k in range(251)}
counts = {"refused": 0, "harmless": 0}
for off in sorted(targeted | spread):
    bad = bytearray(data)
    bad[off] ^= 0x10
    open("bad.h5", "wb").write(bad)
    if os.path.exists("out.h5"):
        os.remove("out.h5")
    p = subprocess.run([roundtrip, kind, "bad.h5", "out.h5"], capture_output=True, timeout=120)
    err = p.stderr.decode(errors="replace")
    if p.returncode == 1:
        assert "bad.h5" in err and "micl: error:" in err, (off, err)
        assert not os.path.exists("out.h5"), off
        counts["refused"] += 1
    elif p.returncode == 0:
        same = open("out.h5", "rb").read() == ref
        assert same, "byte %d (of %d) flipped: loaded silently, with other content" % (off, size)
        assert off not in targeted, "byte %d holds loaded data but its flip went unnoticed" % off
        counts["harmless"] += 1
    else:
        raise AssertionError("byte %d: exit %d\n%s" % (off, p.returncode, err))
print("ok: %s, %d bytes, %d offsets (%d where loaded data lies): %d refused, %d changed nothing "
      "micl loads" % (kind, size, len(targeted | spread), len(targeted), counts["refused"],
                      counts["harmless"]))
PY
    ;;
*) fail "unknown case $CASE" ;;
esac
