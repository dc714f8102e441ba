#!/usr/bin/env bash
# e2e_tiny.sh MICL SRC WORK - prepare the tiny stores, train the tiny config under mpirun with
# np=1 and np=2, with np=1 on 3 threads (two micro-batches at once on 1 + 2 threads), and with
# np=1 on a thread team that changes at every step (4, 2, 1 threads in turn), and
# require bit-identical checkpoints (params, AdamW moments) and identical evaluation tables; then
# run `micl report` and `micl eval --checkpoint` on the result.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
sed 's|^output_dir = .*|output_dir = "out1";|' "$SRC/configs/tiny.cfg" > np1.cfg
sed 's|^output_dir = .*|output_dir = "out2";|' "$SRC/configs/tiny.cfg" > np2.cfg
sed 's|^output_dir = .*|output_dir = "out3";|' "$SRC/configs/tiny.cfg" > t3.cfg
sed 's|^output_dir = .*|output_dir = "out4";|' "$SRC/configs/tiny.cfg" > t4.cfg
"$MICL" data prepare np1.cfg
mpirun -np 1 "$MICL" train np1.cfg > np1.log
mpirun -np 2 "$MICL" train np2.cfg > np2.log
OMP_NUM_THREADS=3 "$MICL" train t3.cfg > t3.log
OMP_NUM_THREADS=4 MICL_TEST_TEAM_CYCLE=1 "$MICL" train t4.cfg > t4.log
grep -q "thread team: adaptive (4, 2 or 1 threads" t4.log || { echo "no thread team line"; cat t4.log; exit 1; }
grep -q "step .* 2.75 thr" t4.log || { echo "the team did not cycle"; cat t4.log; exit 1; }
grep -q "step .*loss .*tok/s .*ETA" np1.log || { echo "no progress line"; cat np1.log; exit 1; }
"$PY" - <<'PY'
import h5py, numpy as np, sys
bad = 0
for other, what in (("out2", "np1 vs np2"), ("out3", "1 vs 3 threads"),
                    ("out4", "1 thread vs a team of 4, 2, 1 threads in turn")):
    for run in ("base", "icl"):
        a, b = h5py.File(f"out1/{run}.ckpt.h5", "r"), h5py.File(f"{other}/{run}.ckpt.h5", "r")
        for k in ("params", "adam_m", "adam_v"):
            x, y = a[k][()], b[k][()]
            same = x.tobytes() == y.tobytes()
            print(f"{run}/{k}: {x.size} floats, {what} bit-identical: {same}")
            bad += not same
        for k in ("step", "stage", "stage_step"):
            if a.attrs[k] != b.attrs[k]:
                print(f"{run}: attribute {k} differs ({what})"); bad += 1
    ra, rb = h5py.File("out1/results.h5", "r"), h5py.File(f"{other}/results.h5", "r")
    assert ra.attrs["schema_version"] == 2
    for run in ("base", "icl"):
        for k in ("correct", "episodes", "accuracy"):
            if not np.array_equal(ra[f"runs/{run}/eval/{k}"][()], rb[f"runs/{run}/eval/{k}"][()]):
                print(f"{run}: eval/{k} differs ({what})"); bad += 1
        for k in ("loss", "grad_norm"):
            if not np.array_equal(ra[f"runs/{run}/train/{k}"][()], rb[f"runs/{run}/train/{k}"][()]):
                print(f"{run}: train/{k} differs ({what})"); bad += 1
        assert len(ra[f"runs/{run}/train/step"]) > 0
sys.exit(1 if bad else 0)
PY
"$MICL" report out1/results.h5 | tee report.txt
grep -Eq "openmi|binding" report.txt
"$MICL" report out1/results.h5 --format csv | head -3
"$MICL" report out1/results.h5 --format json > report.json
"$PY" - <<'PY'
import json, h5py, numpy as np
j = json.load(open("report.json"))
f = h5py.File("out1/results.h5", "r")
assert [r["name"] for r in j["runs"]] == ["base", "icl"]
for r in j["runs"]:
    acc = f[f"runs/{r['name']}/eval/accuracy"][()]
    assert np.array_equal(np.array([e["accuracy"] for e in r["eval"]]), acc)
    assert r["curve"]["step"] == list(f[f"runs/{r['name']}/train/step"][()])
print("report --format json matches the HDF5 file")
PY
"$MICL" eval --checkpoint out1/icl.ckpt.h5 --dataset data/cache-tiny/glyphs.h5 --ways 2 --shots 0,1 --episodes 20 -o eval.h5
"$PY" -c "import h5py; f=h5py.File('eval.h5','r'); assert len(f['runs/icl/eval/accuracy'])==2"
# re-evaluating the saved checkpoints reproduces the table written at the end of training
mpirun -np 2 "$MICL" eval np1.cfg -o reeval.h5 > /dev/null
"$PY" - <<'PY'
import h5py, numpy as np
a, b = h5py.File("out1/results.h5", "r"), h5py.File("reeval.h5", "r")
for run in ("base", "icl"):
    for k in ("correct", "exact_match"):
        x, y = a[f"runs/{run}/eval/{k}"][()], b[f"runs/{run}/eval/{k}"][()]
        assert np.array_equal(x, y), (run, k, x, y)
print("micl eval CFG reproduces the training-time evaluation")
PY
ls out1 | grep -q tmp && { echo "temporary files left"; exit 1; }
echo "e2e_tiny: ok"
