#!/usr/bin/env bash
# recipe_test.sh MICL SRC WORK - the whole recipe on the tiny stores: glyph, scene and operator
# stores, an RGB model, every task family (coherent, incoherent and single-turn stages) and
# every benchmark; np=1 and np=2 must give bit-identical checkpoints and identical tables.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
for n in 1 2; do
  sed "s|^output_dir = .*|output_dir = \"out$n\";|; s|data/cache-tiny|cache|" \
    "$SRC/configs/tiny_recipe.cfg" > np$n.cfg
done
"$MICL" data prepare np1.cfg > /dev/null
mpirun -np 1 "$MICL" train np1.cfg > np1.log
mpirun -np 2 "$MICL" train np2.cfg > np2.log
"$PY" - <<'PY'
import h5py, numpy as np, sys
bad = 0
for run in ("instr", "recipe"):
    a, b = h5py.File(f"out1/{run}.ckpt.h5", "r"), h5py.File(f"out2/{run}.ckpt.h5", "r")
    for k in ("params", "adam_m", "adam_v"):
        same = a[k][()].tobytes() == b[k][()].tobytes()
        print(f"{run}/{k}: np1 vs np2 bit-identical: {same}")
        bad += not same
ra, rb = h5py.File("out1/results.h5", "r"), h5py.File("out2/results.h5", "r")
for run in ("instr", "recipe"):
    ea, eb = ra[f"runs/{run}/eval"], rb[f"runs/{run}/eval"]
    names = set(ea["benchmark"].asstr()[()])
    want = {"fsicl", "fsicl_random", "mc_bound", "openmi", "matching", "count_induction",
            "operator_induction", "attributes_heldout", "captioning", "zeroshot"}
    if names != want:
        print(f"{run}: benchmarks {sorted(names)}, expected {sorted(want)}"); bad += 1
    for k in ("correct", "exact_match", "episodes", "chance", "chance_random",
              "chance_constant", "episode_start", "episode_group", "episode_correct",
              "episode_exact", "episode_reference_nn", "episode_reference_mean"):
        if not np.array_equal(ea[k][()], eb[k][()]):
            print(f"{run}: eval/{k} differs"); bad += 1
sys.exit(1 if bad else 0)
PY
# the table script on these results: one row per model, every ICL benchmark, the checks and a
# figure with one panel per (benchmark, ways)
rc=0
"$PY" "$SRC/scripts/paper_table.py" out1/results.h5 --recipe recipe --baselines instr \
  -o table.png --md table.md > table.out || rc=$?
[ "$rc" -le 1 ] || { echo "paper_table.py failed ($rc)"; cat table.out; exit 1; }
for want in "| instr | 1 |" "| recipe | 1 |" "openmi" "operator_induction" "headline" \
            "headline (exact match): recipe" "headline (ranked): recipe"; do
  grep -qF -- "$want" table.md || { echo "table.md lacks '$want'"; cat table.md; exit 1; }
done
[ -s table.png ] || { echo "no figure"; exit 1; }
# `micl eval --benchmark --checkpoint` on the scene and operator benchmarks reads their own
# stores and reproduces the table written at the end of training
for B in count_induction operator_induction attributes_heldout captioning; do
  "$MICL" eval np1.cfg --benchmark $B --checkpoint out1/recipe.ckpt.h5 --episodes 8 --shots 0,1,2 \
    -o alone_$B.h5 > alone_$B.txt
  "$PY" - out1/results.h5 alone_$B.h5 $B <<'PY' || { echo "$B: eval --benchmark differs"; exit 1; }
import h5py, sys, numpy as np
full, alone, name = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), sys.argv[3]
e = full["runs/recipe/eval"]
rows = e["benchmark"].asstr()[()] == name
a = alone["runs/recipe/eval"]
for k in ("shots", "correct", "exact_match", "episodes"):
    assert np.array_equal(e[k][()][rows], a[k][()]), (k, e[k][()][rows], a[k][()])
print(name, "correct", a["correct"][()].tolist(), "of", a["episodes"][()].tolist())
PY
done
echo "recipe_test: ok"
