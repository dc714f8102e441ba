#!/usr/bin/env bash
# import_test.sh MICL MAKE_IMAGES SRC WORK CASE - one test of `micl data import`.
# Good cases build a folder of class sub-folders with make_images (every PNG colour type,
# 16-bit, palette with and without alpha, interlaced, gray and colour JPEG, sizes from 1x1 to
# 64x48) and check the store with h5py; bad cases (expect_fail) require the exit code, a message
# naming the problem and no OUT.h5, OUT.h5.tmp or other file left.
set -uo pipefail
MICL=$1 MK=$2 SRC=$3 WORK=$4 CASE=$5
PY=/usr/bin/python3
rm -rf "$WORK/$CASE" && mkdir -p "$WORK/$CASE" && cd "$WORK/$CASE" || exit 1

# The good tree. Each line: folder|file|kind|w|h|fill|r|g|b|a|tolerance. The luma of the colour
# encodes the class: blue (0,0,255) -> 29, green (0,255,0) -> 150, red (255,0,0) -> 76.
MANIFEST='blue sky|01_gray8.png|gray8|30|30|c|29|29|29|255|0
blue sky|02_rgb8.png|rgb8|40|20|c|0|0|255|255|0
blue sky|03_rgb16.png|rgb16|17|33|c|0|0|255|255|0
blue sky|04_palette.png|palette|23|17|c|0|0|255|255|0
blue sky|05_jpeg.JPG|jpeg-rgb|64|48|c|0|0|255|255|4
blue sky|06_tiny.png|gray8|1|1|c|29|29|29|255|0
green|a_gray16.png|gray16|20|20|c|150|150|150|255|0
green|b_rgba8.PNG|rgba8|32|32|c|0|255|0|255|0
green|c_rgba8_half.png|rgba8|16|16|c|0|255|0|128|0
green|d_graya8.png|graya8|16|16|c|150|150|150|200|0
green|e_interlaced.png|rgb8-interlaced|40|20|v|0|255|0|255|0
green|f_jpeg.jpeg|jpeg-gray|50|50|c|150|150|150|255|3
red|p1.png|rgb8|20|40|h|255|0|0|255|0
red|p2.png|gray8|32|32|k|255|255|255|255|0
red|p3.png|palette-trns|24|24|c|255|0|0|64|0
red|p4.png|graya16|16|16|c|76|76|76|255|0
red|p5.png|rgba16|30|30|c|255|0|0|255|0
red|p6.png|gray4|16|16|c|68|68|68|255|0
red|p7.png|gray1|16|16|v|255|255|255|255|0'

make_tree() { # make_tree DIR
    local d=$1
    while IFS='|' read -r folder file kind w h fill r g b a tol; do
        mkdir -p "$d/$folder"
        "$MK" "$d/$folder/$file" "$kind" "$w" "$h" "$fill" "$r" "$g" "$b" "$a" || exit 1
    done <<< "$MANIFEST"
    echo "not an image" > "$d/green/notes.txt"        # ignored: not an image extension
    echo "not an image" > "$d/green/.hidden.png"      # ignored: hidden
    echo "a file at the top" > "$d/README.txt"        # ignored: not a folder
}

# check_store STORE SIZE [rgb] - every image against the manifest (h5py): luma, or RGB
check_store() {
    MANIFEST="$MANIFEST" "$PY" - "$1" "$2" "${3:-gray}" <<'PY'
import os, sys, h5py, numpy as np
path, size, rgb = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "rgb"
rows = [l.split("|") for l in os.environ["MANIFEST"].splitlines()]
folders = sorted({r[0] for r in rows})
files = [r for f in folders for r in sorted((r for r in rows if r[0] == f), key=lambda r: r[1])]
f = h5py.File(path, "r")
img, lab, spl = f["images"][()], f["labels"][()], f["split"][()]
names = [n.decode() if isinstance(n, bytes) else n for n in f["class_names"][()]]
assert img.shape == ((len(files), size, size, 3) if rgb else (len(files), size, size)), img.shape
assert img.dtype == np.uint8 and f.attrs["schema_version"] == (4 if rgb else 3)
assert names == ["blue-sky", "green", "red"], names
assert list(f["class_split"][()]) == [0, 0, 0]
assert (spl == 1).all(), spl
assert f.attrs["source"] in ("import", b"import")
prov = f.attrs["provenance"]; prov = prov.decode() if isinstance(prov, bytes) else prov
for key in ("dir=", f"size={size}", "images=19", "classes=3", "libpng=", "libjpeg=", "blue-sky: 6",
            "colour=rgb" if rgb else "gray=bt601-luma"):
    assert key in prov, (key, prov)
half = size // 2
bad = 0
for i, (folder, name, kind, w, h, fill, r, g, b, a, tol) in enumerate(files):
    r, g, b, a, tol = int(r), int(g), int(b), int(a), int(tol)
    if kind.startswith("gray"):
        y = r if kind != "gray4" else (r >> 4) * 17
        if kind == "gray1": y = 255 if r >= 128 else 0
        if kind.startswith("graya"): y = (2 * y * a + 255) // 510
        c = (y, y, y)
    else:
        y = ((19595 * r + 38470 * g + 7471 * b) * a + 65536 * 255 // 2) // (65536 * 255)
        c = tuple((2 * v * a + 255) // 510 for v in (r, g, b))
    if rgb:  # the colour itself; the checkerboard averages to half of it
        want = np.empty((size, size, 3), dtype=np.int64); want[:] = c
        y = c[0]
    else:
        want = np.full((size, size), y, dtype=np.int64)
    if fill == "v": want[:, :half] = 0
    if fill == "h": want[:half, :] = 0
    if fill == "k" and int(w) == 2 * size:  # 2x2 blocks of a checkerboard average to y/2
        want[:, :] = (y + 1) // 2
    elif fill == "k":  # unaligned boxes: only the mean is y/2
        want[...] = img[i]
        tol = tol if abs(img[i].mean() - y / 2) < 2 else -1
    assert lab[i] == folders.index(folder), (name, lab[i])
    err = np.abs(img[i].astype(np.int64) - want).max()
    ok = err <= tol
    bad += not ok
    print(f"{folder}/{name} ({kind} {w}x{h} {fill}): luma {y}, max error {err} (allowed {tol})"
          f"{'' if ok else '  FAIL'}")
    if not ok: print(img[i])
sys.exit(1 if bad else 0)
PY
}

. "$(dirname "${BASH_SOURCE[0]}")/../lib/expect_fail.sh"
# expect CODE PATTERN CMD...: exit CODE, stderr matches PATTERN, no OUT.h5, *.tmp or any other
# file left in this folder
expect() { local code=$1 pattern=$2; shift 2; expect_fail --exit "$code" --message "$pattern" -- "$@"; }

# two good classes plus whatever the case adds
two_classes() { mkdir -p imgs/a imgs/b
    "$MK" imgs/a/1.png gray8 8 8 c 10 10 10 255 && "$MK" imgs/b/1.png gray8 8 8 c 200 200 200 255; }

case "$CASE" in
formats)
    make_tree imgs
    "$MICL" data import imgs -o OUT.h5 --size 16 > log.txt 2>&1 || { cat log.txt; echo "FAIL: import"; exit 1; }
    cat log.txt
    grep -q "16x16 RGB" log.txt || { echo "FAIL: not an RGB import"; exit 1; }
    grep -q "class folder 'blue sky' becomes class name 'blue-sky'" log.txt || { echo "FAIL: no rename note"; exit 1; }
    grep -q "ignored 2 entries" log.txt || { echo "FAIL: no note on ignored entries"; exit 1; }
    grep -q "19 images of 3 classes" log.txt || { echo "FAIL: no summary"; exit 1; }
    check_store OUT.h5 16 rgb || exit 1
    # --gray: BT.601 luma; the default size is 28
    "$MICL" data import imgs -o g16.h5 --gray --size 16 > logg.txt 2>&1 || { cat logg.txt; exit 1; }
    grep -q "16x16 gray" logg.txt || { echo "FAIL: not a gray import"; exit 1; }
    check_store g16.h5 16 || exit 1
    "$MICL" data import imgs -o d28.h5 --gray > log28.txt 2>&1 || { cat log28.txt; exit 1; }
    check_store d28.h5 28 > /dev/null || { echo "FAIL: size 28 store"; exit 1; }
    ls | grep -q '\.tmp$' && { echo "FAIL: temporary file left"; exit 1; }
    echo "import_formats: ok" ;;
determinism)
    make_tree imgs
    for mode in "" --gray; do
    "$MICL" data import imgs -o a.h5 --size 12 $mode > /dev/null || exit 1
    "$MICL" data import imgs $mode --size 12 -o b.h5 > /dev/null || exit 1
    "$PY" - <<'PY' || exit 1
import h5py, numpy as np
a, b = h5py.File("a.h5", "r"), h5py.File("b.h5", "r")
for k in ("images", "labels", "split", "class_names", "class_split"):
    assert np.array_equal(a[k][()], b[k][()]), k
for k in ("source", "provenance", "schema_version"):
    assert a.attrs[k] == b.attrs[k], k
print("datasets and attributes identical")
PY
    cmp a.h5 b.h5 || { echo "FAIL: the two stores differ byte for byte"; exit 1; }
    done
    echo "import_determinism: ok (byte-identical)" ;;
eval_tiny)
    make_tree imgs
    "$MICL" data import imgs -o imported.h5 --size 16 --gray || exit 1
    sed -e 's|^output_dir = .*|output_dir = "out";|' -e 's|cache_dir = .*|cache_dir = "cache";|' \
        "$SRC/configs/tiny.cfg" > tiny.cfg
    "$MICL" data prepare tiny.cfg > /dev/null || exit 1
    "$MICL" train tiny.cfg --run icl > train.log || { cat train.log; exit 1; }
    "$MICL" eval --checkpoint out/icl.ckpt.h5 --dataset imported.h5 --ways 2 --shots 0,1 \
        --episodes 20 -o eval.h5 | tee eval.txt
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "FAIL: eval"; exit 1; }
    grep -q "imported.h5 (import, 19 images, 3 classes)" eval.txt || { echo "FAIL: header"; exit 1; }
    grep -q "binding" eval.txt || { echo "FAIL: no table"; exit 1; }
    "$PY" -c "
import h5py; f = h5py.File('eval.h5', 'r'); e = f['runs/icl/eval/episodes'][()]
assert list(e) == [20, 20], e; print('eval rows:', list(f['runs/icl/eval/accuracy'][()]))" || exit 1
    # an RGB store and a gray model: refused with a message naming both
    "$MICL" data import imgs -o rgb.h5 --size 16 > /dev/null || exit 1
    expect 1 "rgb.h5: images have 3 channels but the model in out/icl.ckpt.h5 takes 1" \
        "$MICL" eval --checkpoint out/icl.ckpt.h5 --dataset rgb.h5 --ways 2 --shots 0 --episodes 4 -o e2.h5
    echo "import_eval_tiny: ok" ;;
missing_dir)
    expect 1 "nope: cannot open the image folder: No such file" "$MICL" data import nope -o OUT.h5 ;;
not_a_dir)
    echo x > file.txt
    expect 1 "file.txt: is not a directory" "$MICL" data import file.txt -o OUT.h5 ;;
no_classes)
    mkdir -p imgs && echo x > imgs/a.png
    expect 1 "imgs: no class sub-folders" "$MICL" data import imgs -o OUT.h5 ;;
one_class)
    mkdir -p imgs/only && "$MK" imgs/only/1.png gray8 4 4 c 1 1 1 255
    expect 1 "imgs: only one class sub-folder \('only'\); at least 2 classes" "$MICL" data import imgs -o OUT.h5 ;;
empty_class)
    two_classes; mkdir -p imgs/c && echo x > imgs/c/notes.txt
    expect 1 "imgs/c: class folder 'c' has no images" "$MICL" data import imgs -o OUT.h5 ;;
duplicate_names)
    two_classes; mkdir -p "imgs/x y" imgs/x-y
    "$MK" "imgs/x y/1.png" gray8 4 4 c 1 1 1 255 && "$MK" imgs/x-y/1.png gray8 4 4 c 1 1 1 255
    expect 1 "class folders 'x y' and 'x-y' both give the class name 'x-y'" "$MICL" data import imgs -o OUT.h5 ;;
corrupt_png)
    two_classes; "$MK" imgs/b/2.png rgb8 20 20 c 9 9 9 255
    "$PY" -c "
d = bytearray(open('imgs/b/2.png', 'rb').read()); d[40:60] = b'\xff' * 20; open('imgs/b/2.png', 'wb').write(d)"
    expect 1 "imgs/b/2.png: cannot decode PNG image: libpng: " "$MICL" data import imgs -o OUT.h5 ;;
truncated_png)
    two_classes; "$MK" imgs/b/2.png rgb8 64 64 k 9 99 9 255
    head -c 100 imgs/b/2.png > t && mv t imgs/b/2.png
    expect 1 "imgs/b/2.png: cannot decode PNG image: libpng: .*truncated" "$MICL" data import imgs -o OUT.h5 ;;
truncated_jpeg)
    two_classes; "$MK" imgs/a/2.jpg jpeg-rgb 64 64 k 200 10 10 255
    head -c 700 imgs/a/2.jpg > t && mv t imgs/a/2.jpg
    expect 1 "imgs/a/2.jpg: cannot decode JPEG image: libjpeg: Premature end of JPEG file" "$MICL" data import imgs -o OUT.h5 ;;
corrupt_jpeg)
    two_classes; printf '\xff\xd8\xff\xe0 this is not a jpeg stream at all' > imgs/a/2.jpeg
    expect 1 "imgs/a/2.jpeg: cannot decode JPEG image: libjpeg: " "$MICL" data import imgs -o OUT.h5 ;;
not_an_image)
    two_classes; echo "hello" > imgs/a/2.png
    expect 1 "imgs/a/2.png: cannot decode image: not a PNG or JPEG file" "$MICL" data import imgs -o OUT.h5 ;;
empty_file)
    two_classes; : > imgs/b/0.jpg
    expect 1 "imgs/b/0.jpg: cannot decode image: the file is empty" "$MICL" data import imgs -o OUT.h5 ;;
too_large_png)
    two_classes; "$MK" imgs/a/big.png gray8 20000 2 c 5 5 5 255
    expect 1 "imgs/a/big.png: .*20000 x 2 pixels, larger than the limit of 16384" "$MICL" data import imgs -o OUT.h5 ;;
too_large_jpeg)
    two_classes; "$MK" imgs/a/big.jpg jpeg-gray 8 16385 c 5 5 5 255
    expect 1 "imgs/a/big.jpg: .*8 x 16385 pixels, larger than the limit of 16384" "$MICL" data import imgs -o OUT.h5 ;;
unwritable_output)
    two_classes
    expect 1 "nodir/OUT.h5: cannot write the output store: cannot create 'nodir/OUT.h5.tmp': No such file" \
        "$MICL" data import imgs -o nodir/OUT.h5
    [ -e nodir ] && { echo "FAIL: nodir created"; exit 1; } ;;
output_is_dir)
    two_classes; mkdir OUT.d
    expect 2 "refusing to write 'OUT.d': it is a directory, not a regular file" "$MICL" data import imgs -o OUT.d ;;
bad_size)
    two_classes
    expect 2 "--size expects an integer in \[1, 1024\], got '0'" "$MICL" data import imgs -o OUT.h5 --size 0 ;;
missing_output)
    two_classes
    expect 2 "missing -o OUT.h5" "$MICL" data import imgs ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
exit 0
