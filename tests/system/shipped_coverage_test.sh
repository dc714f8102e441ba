#!/usr/bin/env bash
# shipped_coverage_test.sh MICL SRC WORK - every model of the shipped comparisons can say every
# answer it is scored on: `micl data coverage` on configs/paper_repro.cfg (the recipe, its three
# baselines and its ablations, on the full glyph, scene and operator stores) and on
# configs/quickstart.cfg counts, from each run's training episode stream (its first 300 steps
# of every stage), the answer words of every benchmark it is evaluated on, and must find every
# one of them among the training targets. The per-run table is checked to list every
# baseline against every benchmark, so that a config that silently drops one fails. Also:
# configs/paper_repro_seeds.cfg (the extra seeds) equals paper_repro.cfg but for its first
# line, its note on itself and its sweep section.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
"$PY" - "$SRC/configs/paper_repro.cfg" "$SRC/configs/paper_repro_seeds.cfg" <<'PY'
import sys
def body(path):
    text = open(path).read()
    lines = text[:text.index("\nsweep = {")].split("\n")[1:]
    return [l for l in lines if "paper_repro_seeds.cfg is this file" not in l and
            "of the best baseline (interleaved), for five seeds" not in l]
a, b = body(sys.argv[1]), body(sys.argv[2])
if a != b:
    print("FAIL: paper_repro_seeds.cfg differs from paper_repro.cfg outside its sweep section")
    sys.exit(1)
PY
for c in paper_repro quickstart; do
  sed "s|^output_dir = .*|output_dir = \"out_$c\";|; s|cache_dir = \"data/cache\"|cache_dir = \"cache\"|" \
    "$SRC/configs/$c.cfg" > $c.cfg
  grep -q 'cache_dir = "cache"' $c.cfg
done
"$MICL" data prepare paper_repro.cfg > prepare.log
for c in paper_repro quickstart; do
  rc=0
  "$MICL" data coverage $c.cfg --steps 300 > $c.out 2> $c.err || rc=$?
  cat $c.out $c.err
  [ "$rc" = 0 ] || { echo "FAIL: $c: coverage exited $rc"; exit 1; }
done
"$PY" - <<'PY'
import sys
want = {"paper_repro": (["instruction", "interleaved", "bursty", "icl"],
                        ["openmi", "fsicl_random", "matching", "count_induction",
                         "operator_induction", "attributes_heldout", "captioning", "fsicl",
                         "mc_bound", "cross_domain", "zeroshot"]),
        "quickstart": (["baseline", "icl"], ["openmi", "cross_domain", "zeroshot"])}
bad = 0
for cfg, (runs, benches) in want.items():
    rows = [l.split() for l in open(f"{cfg}.out") if l.strip() and not l.startswith("run ")]
    seen = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}
    for run in runs:
        for b in benches:
            if (run, b) not in seen:
                print(f"FAIL: {cfg}: no coverage row for {run} x {b}"); bad += 1
            elif seen[(run, b)][0] == 0 or seen[(run, b)][1] != 0:
                print(f"FAIL: {cfg}: {run} x {b}: {seen[(run, b)]}"); bad += 1
print("coverage rows checked:", len(want["paper_repro"][0]) * len(want["paper_repro"][1]) +
      len(want["quickstart"][0]) * len(want["quickstart"][1]))
sys.exit(1 if bad else 0)
PY
echo "shipped_coverage: ok"
