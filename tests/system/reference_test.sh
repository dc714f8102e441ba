#!/usr/bin/env bash
# reference_test.sh MICL SRC WORK - the model-free references (data/reference.h) equal an
# independent reader of the exported episodes: reference_nn.py answers every exported binding
# (openmi) and matching sample by pixel 1-NN and by nearest class mean; `micl eval --predictions`
# scores its answers, and (1) micl's count of right answers equals the script's own, exactly,
# and (2) the references micl computes itself on the same episodes give the same counts, per
# cell, and (3) prompt for prompt: the per-prompt datasets episode_reference_nn and
# episode_reference_mean are the script's outcomes of each sample, sum to the counts, and the
# file that scores a reader's answers has the reader's outcomes as its episode_correct. The
# paired gain over the pixel reader and its cluster-robust interval equal paired_gain.py's
# computation from the stored per-prompt datasets. 0-shot cells and benchmarks without readers
# have no references (NaN, not scored), and `micl report` shows them in its table, CSV and JSON;
# a file without the per-prompt references (written before them) still reports, its paired gain
# `-` / nan / null, and one whose per-prompt references disagree with the counts is refused.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
. "$SRC/tests/lib/expect_fail.sh"
sed 's|^output_dir = .*|output_dir = "out";|' "$SRC/configs/tiny.cfg" > tiny.cfg
"$MICL" data prepare tiny.cfg > /dev/null
for B in openmi matching; do
  # tiny's held-out classes have 4 images: at most 3 shots and the query
  CELLS=""; [ $B = openmi ] && CELLS="--shots 0,1,3"
  "$MICL" data export tiny.cfg --benchmark $B --episodes 16 $CELLS -o exp_$B > /dev/null
  "$PY" "$SRC/tests/system/reference_nn.py" exp_$B nn_$B.jsonl mean_$B.jsonl per_$B.json \
    > counts_$B.json
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
  "$PY" - per_$B.json nn_$B.h5 mean_$B.h5 <<'PY' || fail "$B: micl's per-prompt references differ from the script's"
import h5py, json, sys, numpy as np
per = json.load(open(sys.argv[1]))
checked = 0
for col, path in ((0, sys.argv[2]), (1, sys.argv[3])):
    e = h5py.File(path, "r")["runs/predictions/eval"]
    start, eps = e["episode_start"][()], e["episodes"][()]
    rnn, rmean = e["episode_reference_nn"][()], e["episode_reference_mean"][()]
    cor = e["episode_correct"][()]
    for i in range(len(eps)):
        s = slice(start[i], start[i] + eps[i])
        b, ways, shots = e["benchmark"].asstr()[i], e["ways"][i], e["shots"][i]
        head = "%s-w%d-s%d-e" % (b, ways, shots)
        if shots == 0:  # no demonstration: all 0, and the script reads none
            assert rnn[s].sum() == 0 and rmean[s].sum() == 0, (path, i)
            assert not any(k.startswith(head) for k in per), (path, i)
            continue
        nv = sum(1 for k in per if k.startswith(head + "000000-v"))
        ids = ["%s%06d-v%d" % (head, p // nv, p % nv) for p in range(eps[i])]
        want = np.array([per[k] for k in ids], dtype=np.uint8)
        assert np.array_equal(rnn[s], want[:, 0]), (path, i, rnn[s], want[:, 0])
        assert np.array_equal(rmean[s], want[:, 1]), (path, i, rmean[s], want[:, 1])
        assert rnn[s].sum() == e["reference_nn_correct"][i] and rmean[s].sum() == e["reference_mean_correct"][i]
        # the predictions scored are this reader's answers: its outcomes are episode_correct
        assert np.array_equal(cor[s], want[:, col]), (path, i, cor[s], want[:, col])
        checked += int(eps[i])
print("per-prompt references agree on", checked, "prompts")
PY
  for R in nn mean; do
    "$PY" "$SRC/tests/system/paired_gain.py" ${R}_$B.h5 || fail "$B: the paired gain in ${R}_$B.h5 differs"
  done
done
# scoring the class-mean reader's answers, the paired gain over the pixel reader is not trivial
"$PY" "$SRC/tests/system/paired_gain.py" mean_openmi.h5 --want-nontrivial \
  || fail "no non-trivial paired gain to compare"
# the report: reference lines in the table, columns in the CSV, fields in the JSON
"$MICL" report nn_openmi.h5 > report.txt
grep -q "^| pixel 1-NN |" report.txt || fail "the summary has no pixel 1-NN line"
grep -q "^| class mean |" report.txt || fail "the summary has no class-mean line"
grep -q "model-free reference" report.txt || fail "the rows have no reference block"
grep -q "gain/nn \[95%\]" report.txt || fail "the reference block has no paired gain"
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
    # the paired gain over the pixel reader: the file's value, 6 decimals in the CSV, exact in
    # the JSON (null where NaN), and the per-prompt references as lists
    s, n = e["episode_start"][i], e["episodes"][i]
    for k in ("gain_over_nn", "gain_over_nn_ci_low", "gain_over_nn_ci_high"):
        v = e[k][i]
        if math.isnan(v):
            assert r[k] == "nan" and j[k] is None, (k, r[k], j[k])
        else:
            assert abs(float(r[k]) - v) < 1e-6 and j[k] == v, (k, r[k], j[k], v)
    for k in ("episode_reference_nn", "episode_reference_mean"):
        assert j[k] == e[k][s:s + n].tolist(), (k, j[k])
PY
# a file written before the per-prompt references: read, the paired gain NaN everywhere
cp mean_openmi.h5 old.h5
"$PY" - old.h5 <<'PY'
import h5py, sys
e = h5py.File(sys.argv[1], "a")["runs/predictions/eval"]
for k in ("episode_reference_nn", "episode_reference_mean", "gain_over_nn", "gain_over_nn_ci_low",
          "gain_over_nn_ci_high"):
    del e[k]
PY
"$MICL" report old.h5 > old.txt || fail "a file without the per-prompt references does not report"
"$MICL" report --format csv old.h5 > old.csv || fail "a file without them has no CSV"
"$MICL" report --format json old.h5 > old.json || fail "a file without them has no JSON"
"$PY" - mean_openmi.h5 old.txt old.csv old.json <<'PY' || fail "an older file shows a paired gain"
import csv, h5py, json, math, sys
e = h5py.File(sys.argv[1], "r")["runs/predictions/eval"]
scored = e["reference_scored"][()]
lines = [l for l in open(sys.argv[2]) if l.startswith("  openmi ")]
block = lines[len(scored):]  # the reference block follows the rows
assert len(block) == int(scored.sum()) and all(l.rstrip().endswith(" -") for l in block), block
rows = list(csv.DictReader(open(sys.argv[3])))
js = json.load(open(sys.argv[4]))["runs"][0]["eval"]
assert len(rows) == len(js) == len(scored)
for r, j, sc, ref in zip(rows, js, scored, e["reference_nn_correct"][()]):
    for k in ("gain_over_nn", "gain_over_nn_ci_low", "gain_over_nn_ci_high"):
        assert r[k] == "nan" and j[k] is None, (k, r[k], j[k])
    assert "episode_reference_nn" not in j and "episode_reference_mean" not in j
    assert j["reference_scored"] == sc and j["reference_nn_correct"] == ref  # the rest as before
print("a file without the per-prompt references reports", len(rows), "rows, paired gain NaN")
PY
# per-prompt references that do not sum to the stored count are refused, naming the dataset
cp mean_openmi.h5 bad.h5
"$PY" - bad.h5 <<'PY'
import h5py, sys
e = h5py.File(sys.argv[1], "a")["runs/predictions/eval"]
i = list(e["reference_scored"][()]).index(1)
d = e["episode_reference_nn"]
p = e["episode_start"][i]
d[p] = 1 - d[p]
PY
expect_fail --exit 1 --message "bad.h5: /runs/predictions/eval/episode_reference_nn: row [0-9]+ sums to" \
  -- "$MICL" report bad.h5
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
