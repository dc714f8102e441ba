#!/usr/bin/env bash
# reference_test.sh MICL SRC WORK - the model-free references (data/reference.h) equal an
# independent reader of the exported episodes: reference_nn.py answers every exported binding
# (openmi) and matching sample by pixel 1-NN and by nearest class mean; `micl eval --predictions`
# scores its answers, and (1) micl's count of right answers equals the script's own, exactly,
# and (2) the references micl computes itself on the same episodes give the same counts, per
# cell. 0-shot cells and benchmarks without readers have no references (NaN, not scored), and
# `micl report` shows them in its table, CSV and JSON.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
sed 's|^output_dir = .*|output_dir = "out";|' "$SRC/configs/tiny.cfg" > tiny.cfg
"$MICL" data prepare tiny.cfg > /dev/null
for B in openmi matching; do
  # tiny's held-out classes have 4 images: at most 3 shots and the query
  CELLS=""; [ $B = openmi ] && CELLS="--shots 0,1,3"
  "$MICL" data export tiny.cfg --benchmark $B --episodes 16 $CELLS -o exp_$B > /dev/null
  "$PY" "$SRC/tests/system/reference_nn.py" exp_$B nn_$B.jsonl mean_$B.jsonl > counts_$B.json
  for R in nn mean; do
    "$MICL" eval tiny.cfg --benchmark $B --predictions ${R}_$B.jsonl --episodes 16 $CELLS \
      -o ${R}_$B.h5 > ${R}_$B.txt 2> /dev/null
  done
  "$PY" - counts_$B.json nn_$B.h5 mean_$B.h5 <<'PY' || fail "$B: micl's references differ from the script's"
import h5py, json, sys, numpy as np
counts = json.load(open(sys.argv[1]))
for col, path in ((1, sys.argv[2]), (2, sys.argv[3])):
    e = h5py.File(path, "r")["runs/predictions/eval"]
    ways, shots, eps = e["ways"][()], e["shots"][()], e["episodes"][()]
    scored = e["reference_scored"][()]
    ref = e["reference_nn_correct" if col == 1 else "reference_mean_correct"][()]
    for i in range(len(ways)):
        key = "%d-%d" % (ways[i], shots[i])
        if shots[i] == 0:  # no demonstration: no reference, not a made-up score
            assert scored[i] == 0 and key not in counts, (key, scored[i])
            assert np.isnan(e["reference_nn_accuracy"][i]) and np.isnan(e["gain_over_reference"][i])
            continue
        n, want = counts[key][0], counts[key][col]
        assert scored[i] == 1 and n == eps[i], (key, scored[i], n, eps[i])
        assert e["correct"][i] == want, ("scored predictions", key, e["correct"][i], want)
        assert ref[i] == want, ("micl's own reference", key, ref[i], want)
        assert e["accuracy"][i] == ref[i] / eps[i]
    print(path, "cells", len(ways), "right", e["correct"][()].tolist())
PY
done
# the report: reference lines in the table, columns in the CSV, fields in the JSON
"$MICL" report nn_openmi.h5 > report.txt
grep -q "^| pixel 1-NN |" report.txt || fail "the summary has no pixel 1-NN line"
grep -q "^| class mean |" report.txt || fail "the summary has no class-mean line"
grep -q "model-free reference" report.txt || fail "the rows have no reference block"
"$MICL" report --format csv nn_openmi.h5 > report.csv
"$MICL" report --format json nn_openmi.h5 > report.json
"$PY" - report.csv report.json nn_openmi.h5 <<'PY' || fail "the CSV or JSON report lacks the references"
import csv, h5py, json, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
doc = json.load(open(sys.argv[2]))
e = h5py.File(sys.argv[3], "r")["runs/predictions/eval"]
js = doc["runs"][0]["eval"]
for i, (r, j) in enumerate(zip(rows, js)):
    nn = e["reference_nn_accuracy"][i]
    if math.isnan(nn):
        assert r["reference_nn_accuracy"] == "nan" and j["reference_nn_accuracy"] is None, (r, j)
        assert j["reference_scored"] == 0 and j["gain_over_reference"] is None
    else:
        assert abs(float(r["reference_nn_accuracy"]) - nn) < 1e-6, r
        assert j["reference_nn_accuracy"] == nn and j["reference_scored"] == 1, j
        assert abs(j["gain_over_reference"] - (j["accuracy"] - j["reference_best"])) < 1e-12
    assert abs(j["gain_over_chance"] - (j["accuracy"] - j["chance"])) < 1e-12
PY
# a benchmark without readers (multiple choice) has no reference in any cell
"$MICL" data export tiny.cfg --benchmark fsicl --episodes 4 -o exp_fsicl > /dev/null
"$PY" -c "
import json
with open('fsicl.jsonl', 'w') as f:
    for s in json.load(open('exp_fsicl/data.json')):
        f.write(json.dumps({'id': s['id'], 'prediction': s['answer']}) + '\n')"
"$MICL" eval tiny.cfg --benchmark fsicl --predictions fsicl.jsonl --episodes 4 -o fsicl.h5 > /dev/null
"$PY" -c "
import h5py; e = h5py.File('fsicl.h5')['runs/predictions/eval']
assert (e['reference_scored'][()] == 0).all() and (e['reference_nn_correct'][()] == 0).all()" \
  || fail "multiple choice has a reference"
echo "reference_test: ok"
