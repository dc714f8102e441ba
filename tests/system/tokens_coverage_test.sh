#!/usr/bin/env bash
# tokens_coverage_test.sh MICL SRC WORK - equal compute and answer-word coverage on the tiny
# stores:
#   1. train.tokens_per_step: configs/tiny.cfg sized by tokens instead of items trains on exactly
#      steps x tokens_per_step tokens (results attribute and progress line), and np=1 and np=2
#      give bit-identical checkpoints;
#   2. `micl data coverage`: a tiny_recipe-like config whose baseline trains on real names only
#      exits 1 and names the fake names of openmi it never trains on; one whose run trains on
#      binding episodes with classification replayed as unrelated items (replay_mix) exits 0.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"

# ---- 1. tokens_per_step ----
for n in 1 2; do
  sed "s|^output_dir = .*|output_dir = \"out$n\";|; s|data/cache-tiny|cache|;
       s|items_per_step = 48;|tokens_per_step = 300;|" "$SRC/configs/tiny.cfg" > tok$n.cfg
done
grep -q "tokens_per_step = 300" tok1.cfg
mpirun -np 1 "$MICL" train tok1.cfg > tok1.log 2>&1
mpirun -np 2 "$MICL" train tok2.cfg > tok2.log 2>&1
grep -q "\[base\] trained on 3600 tokens" tok1.log || { echo "FAIL: progress line"; cat tok1.log; exit 1; }
"$PY" - <<'PY'
import h5py, sys
bad = 0
for run in ("base", "icl"):
    a, b = h5py.File(f"out1/{run}.ckpt.h5", "r"), h5py.File(f"out2/{run}.ckpt.h5", "r")
    for k in ("params", "adam_m", "adam_v"):
        same = a[k][()].tobytes() == b[k][()].tobytes()
        print(f"tokens_per_step {run}/{k}: np1 vs np2 bit-identical: {same}")
        bad += not same
    for n in (1, 2):
        g = h5py.File(f"out{n}/results.h5", "r")[f"runs/{run}"]
        tok = int(g.attrs["tokens"])
        print(f"np{n} {run}: tokens {tok}, images {g.attrs['images']}, answers "
              f"{g.attrs['answers']}, targets {g.attrs['targets']}, flops {g.attrs['flops']:.3g}")
        if tok != 12 * 300:
            print(f"FAIL: {run} trained on {tok} tokens, not 12 x 300"); bad += 1
        if not (g.attrs["images"] > 0 and g.attrs["targets"] > 0 and g.attrs["flops"] > 0):
            print(f"FAIL: {run}: empty run statistics"); bad += 1
sys.exit(1 if bad else 0)
PY

# ---- 2. coverage ----
"$PY" - "$SRC/configs/tiny_recipe.cfg" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("data/cache-tiny", "cache")
text = re.sub(r"eval = \{.*?\};", 'eval = { episodes = 8; ways = [2]; shots = [0, 1, 2]; '
              'zeroshot_images = 16; benchmarks = [ "openmi", "zeroshot" ]; };', text,
              flags=re.S)
head = text[:text.index("runs = (")]
base = head + """runs = (
  { name = "baseline"; stages = ( { name = "single"; family = "classify"; items = 1; } ); }
);
"""
covered = head + """runs = (
  { name = "binder"; stages = ( { name = "bind"; family = "binding"; ways = [2, 3]; items = 6;
      replay = 0.5; replay_mix = { classify = 1.0; }; } ); }
);
"""
open("cov_base.cfg", "w").write(base)
open("cov_covered.cfg", "w").write(covered)
PY
"$MICL" data prepare cov_base.cfg > /dev/null
rc=0
"$MICL" data coverage cov_base.cfg --steps 20 > cov_base.out 2> cov_base.err || rc=$?
cat cov_base.out cov_base.err
[ "$rc" = 1 ] || { echo "FAIL: coverage of the baseline exited $rc, not 1"; exit 1; }
grep -q "never train on some benchmark answer words" cov_base.err
# the openmi row names fake names (the words of the vocabulary's fake-name pool)
"$PY" - <<'PY'
import sys
rows = [l.split() for l in open("cov_base.out") if l.startswith("baseline")]
openmi = [r for r in rows if r[1] == "openmi"][0]
zs = [r for r in rows if r[1] == "zeroshot"][0]
ok = int(openmi[2]) > 0 and int(openmi[3]) == int(openmi[2]) and len(openmi) > 4
ok = ok and int(zs[3]) == 0
print("baseline: openmi never-trained words", openmi[4:], "; zeroshot missing", zs[3])
sys.exit(0 if ok else 1)
PY
"$MICL" data coverage cov_covered.cfg --steps 20 > cov_covered.out
cat cov_covered.out
grep -q "^binder *openmi" cov_covered.out
echo "tokens_per_step and coverage: ok"
