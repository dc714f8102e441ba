#!/usr/bin/env bash
# export_test.sh MICL SRC WORK - `micl data export` and the scoring of external predictions:
# LLaVA-style samples are well formed (one <image> line per image at the start of each human
# turn, alternating human/gpt, image files present), predictions equal to the exported ground
# truth score 1.0 on every benchmark cell, constant answers score what chance predicts, and
# malformed prediction files fail with file:line messages and leave nothing behind (expect_fail);
# micl's own predictions (greedy and candidate-ranked) score what micl eval reports.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
sed 's|^output_dir = .*|output_dir = "out";|' "$SRC/configs/tiny.cfg" > tiny.cfg
"$MICL" data prepare tiny.cfg > /dev/null
fail() { echo "FAIL: $*"; exit 1; }
for B in fsicl openmi matching zeroshot; do
  # tiny's held-out classes have 4 images: openmi's own 4- and 8-shot cells would show one twice
  CELLS=""; [ $B = openmi ] && CELLS="--shots 0,1,2"
  "$MICL" data export tiny.cfg --benchmark $B --episodes 6 $CELLS -o exp_$B > /dev/null
  "$PY" - exp_$B <<'PY'
import json, os, sys
d = sys.argv[1]
data = json.load(open(os.path.join(d, "data.json")))
assert data, "no samples"
ids = set()
with open(os.path.join(d, "truth.jsonl"), "w") as t, open(os.path.join(d, "first.jsonl"), "w") as f:
    for s in data:
        assert s["id"] not in ids; ids.add(s["id"])
        conv = s["conversations"]
        assert len(conv) % 2 == 0 and conv
        n_img = 0
        for i, turn in enumerate(conv):
            assert turn["from"] == ("human" if i % 2 == 0 else "gpt")
            if i % 2 == 0:
                lines = turn["value"].split("\n")
                k = 0
                while k < len(lines) and lines[k] == "<image>": k += 1
                assert k >= 1, turn
                assert "<image>" not in "\n".join(lines[k:])
                n_img += k
        assert n_img == len(s["image"])
        for p in s["image"]:
            assert os.path.getsize(os.path.join(d, p)) > 0
        assert conv[-1]["value"] == s["answer"]
        assert s["answer"] in s["candidates"] or (s["benchmark"] == "zeroshot" and not s["candidates"])
        t.write(json.dumps({"id": s["id"], "prediction": " " + s["answer"] + ". "}) + "\n")
        f.write(json.dumps({"id": s["id"], "prediction": (s["candidates"] or ["?"])[0], "extra": [1, {"a": "b"}]}) + "\n")
print(d, len(data), "samples ok")
PY
  "$MICL" eval tiny.cfg --benchmark $B --predictions exp_$B/truth.jsonl --episodes 6 $CELLS -o truth_$B.h5 > truth_$B.txt
  "$PY" - truth_$B.h5 <<'PY' || fail "ground truth does not score 1.0"
import h5py, sys
f = h5py.File(sys.argv[1], "r")
acc = f["runs/predictions/eval/accuracy"][()]
assert len(acc) > 0 and (acc == 1.0).all(), acc
PY
done
# always the first candidate: exactly half right on fsicl (both option orders of every episode)
"$MICL" eval tiny.cfg --benchmark fsicl --predictions exp_fsicl/first.jsonl --episodes 6 -o first.h5 > /dev/null
"$PY" -c "
import h5py; a = h5py.File('first.h5')['runs/predictions/eval/accuracy'][()]
assert (a == 0.5).all(), a"
# a UTF-8 byte order mark before the first line (as some editors save) is skipped
{ printf '\357\273\277'; cat exp_fsicl/truth.jsonl; } > bom.jsonl
"$MICL" eval tiny.cfg --benchmark fsicl --predictions bom.jsonl --episodes 6 -o bom.h5 > /dev/null \
  || fail "a predictions file starting with a byte order mark is refused"
"$PY" -c "
import h5py; a = h5py.File('bom.h5')['runs/predictions/eval/accuracy'][()]
assert (a == 1.0).all(), a" || fail "a predictions file with a byte order mark does not score 1.0"
# bad prediction files
printf '{"id": "fsicl-w2-s1-e000000-v0", "prediction": "A"}\n{"id": 3}\n' > bad1.jsonl
printf '{"id": "fsicl-w2-s1-e000000-v0", "prediction": "A"}\n{"id": "fsicl-w2-s1-e000000-v0", "prediction": "B"}\n' > bad2.jsonl
printf '{"id": "nope", "prediction": "A"}\n' > bad3.jsonl
printf '{"id": "fsicl-w2-s1-e000000-v0", "prediction": "A"\n' > bad4.jsonl
: > bad5.jsonl
. "$(dirname "${BASH_SOURCE[0]}")/../lib/expect_fail.sh"
check_bad() { # file regex: exit 1, the message, no bad.h5 (nor bad.h5.tmp, nor any other file)
  expect_fail --exit 1 --message "$2" -- \
    "$MICL" eval tiny.cfg --benchmark fsicl --predictions "$1" --episodes 6 -o bad.h5
}
check_bad bad1.jsonl 'bad1.jsonl:2: member "id" must be a string'
check_bad bad2.jsonl 'bad2.jsonl:2: id "fsicl-w2-s1-e000000-v0" repeats line 1'
check_bad bad3.jsonl 'bad3.jsonl:1: id "nope" is not an episode of benchmark .fsicl.'
check_bad bad4.jsonl "bad4.jsonl:1: invalid JSON at byte [0-9]+: '}' expected"
check_bad bad5.jsonl 'bad5.jsonl: no predictions'
check_bad missing.jsonl "cannot read 'missing.jsonl'"
expect_fail --exit 2 --message "unknown benchmark 'nosuch' \\(valid: fsicl, openmi" -- \
  "$MICL" eval tiny.cfg --benchmark nosuch --predictions bad1.jsonl
# export into a path that is a file
touch afile
expect_fail --exit 1 --message "'afile' exists and is not a directory" -- \
  "$MICL" data export tiny.cfg --benchmark fsicl -o afile
# micl's own model: its written predictions ("prediction": greedy decoding's answer) scored by
# `micl eval --predictions` give exactly the exact-match counts micl eval reports, and its
# "ranked" answers the ranked counts, under np=1 and np=2; the single-pass binding curve (no
# predictions) gives the same table; the per-prompt outcomes sum to the counts, are the same
# for np=1 and np=2, and group the prompts of an episode (binding: of a nested episode); the
# references' per-prompt outcomes and the paired gain over the pixel reader are the same bytes
# for np=1 and np=2 and single pass, and the gain agrees with paired_gain.py
"$MICL" train tiny.cfg > train.log
for B in fsicl openmi matching zeroshot; do
  CELLS=""; [ $B = openmi ] && CELLS="--ways 2,3 --shots 0,1,2"
  mpirun -np 2 "$MICL" eval tiny.cfg --benchmark $B --checkpoint out/icl.ckpt.h5 --episodes 8 $CELLS \
    --write-predictions own_$B.jsonl -o own_$B.h5 > own_$B.txt
  "$MICL" eval tiny.cfg --benchmark $B --checkpoint out/icl.ckpt.h5 --episodes 8 $CELLS \
    --write-predictions own1_$B.jsonl -o own1_$B.h5 > /dev/null
  cmp own_$B.jsonl own1_$B.jsonl || fail "$B: predictions differ between np=1 and np=2"
  "$MICL" eval tiny.cfg --benchmark $B --checkpoint out/icl.ckpt.h5 --episodes 8 $CELLS -o plain_$B.h5 > /dev/null
  "$MICL" eval tiny.cfg --benchmark $B --predictions own_$B.jsonl --episodes 8 $CELLS -o scored_$B.h5 > /dev/null
  "$PY" -c "
import json, sys
with open('ranked_$B.jsonl', 'w') as out:
    for line in open('own_$B.jsonl'):
        p = json.loads(line)
        assert set(p) == {'id', 'prediction', 'ranked'}, p
        out.write(json.dumps({'id': p['id'], 'prediction': p['ranked']}) + '\n')"
  "$MICL" eval tiny.cfg --benchmark $B --predictions ranked_$B.jsonl --episodes 8 $CELLS -o ranked_$B.h5 > /dev/null
  "$PY" - own_$B.h5 own1_$B.h5 plain_$B.h5 scored_$B.h5 ranked_$B.h5 <<'PY' || fail "$B: scored predictions differ from micl eval"
import h5py, sys, numpy as np
own, own1, plain, scored, ranked = (h5py.File(p, "r") for p in sys.argv[1:6])
def ev(f):
    return f["runs"][list(f["runs"].keys())[0]]["eval"]
a, a1, c, g, r = ev(own), ev(own1), ev(plain), ev(scored), ev(ranked)
cells = ("ways", "shots", "episodes")
per = ("episode_start", "episode_group", "episode_correct", "episode_exact")
chance = ("chance", "chance_random", "chance_constant", "constant_answer")
# the model-free references: the same on the model's prompts for np=1, np=2, single pass and
# re-prompting, and on the episodes of the predictions' scoring
ref = ("reference_scored", "reference_nn_correct", "reference_mean_correct",
       "episode_reference_nn", "episode_reference_mean")
paired = ("gain_over_nn", "gain_over_nn_ci_low", "gain_over_nn_ci_high")  # NaN: bytes compared
for k in paired:
    assert a[k][()].tobytes() == c[k][()].tobytes(), (k, a[k][()], c[k][()])
    assert a[k][()].tobytes() == a1[k][()].tobytes(), (k, a[k][()], a1[k][()])
for k in ref:
    assert np.array_equal(a[k][()], g[k][()]), (k, a[k][()], g[k][()])
for k in cells + ("correct", "exact_match") + per + chance + ref:
    assert np.array_equal(a[k][()], c[k][()]), (k, a[k][()], c[k][()])  # re-prompting == single pass
    assert np.array_equal(a[k][()], a1[k][()]), (k, a[k][()], a1[k][()])  # np=2 == np=1
for k in cells + chance:
    assert np.array_equal(a[k][()], g[k][()]), (k, a[k][()], g[k][()])
assert np.array_equal(g["correct"][()], a["exact_match"][()]), ("greedy", g["correct"][()], a["exact_match"][()])
assert np.array_equal(r["correct"][()], a["correct"][()]), ("ranked", r["correct"][()], a["correct"][()])
assert np.array_equal(g["episode_correct"][()], a["episode_exact"][()])
assert np.array_equal(r["episode_correct"][()], a["episode_correct"][()])
start, eps = a["episode_start"][()], a["episodes"][()]
assert np.array_equal(start, np.concatenate([[0], np.cumsum(eps)[:-1]])), start
grp, cor, ex = (a[k][()] for k in ("episode_group", "episode_correct", "episode_exact"))
assert cor.dtype == np.uint8 and ex.dtype == np.uint8 and grp.dtype == np.int64
bench = a["benchmark"][0].decode()
variants = 2 if bench == "fsicl" else 1
for i in range(len(eps)):
    s = slice(start[i], start[i] + eps[i])
    assert cor[s].sum() == a["correct"][i] and ex[s].sum() == a["exact_match"][i], i
    e = np.arange(eps[i]) // variants
    assert np.array_equal(grp[s], e // 4 if bench == "openmi" else e), (i, grp[s])
assert np.allclose(a["chance"][()], np.maximum(a["chance_random"][()], a["chance_constant"][()]))
scored = a["reference_scored"][()]  # binding and matching with demonstrations only
assert np.array_equal(scored, (a["shots"][()] > 0) & (bench in ("openmi", "matching"))), scored
nn, gain = a["reference_nn_accuracy"][()], a["gain_over_reference"][()]
assert np.isnan(nn[scored == 0]).all() and np.isnan(gain[scored == 0]).all()
best = np.maximum(nn, a["reference_mean_accuracy"][()])
assert np.allclose(gain[scored == 1], (a["accuracy"][()] - best)[scored == 1])
print(sys.argv[1], "ranked", a["correct"][()].tolist(), "exact", a["exact_match"][()].tolist(),
      "of", eps.tolist())
PY
  "$PY" "$SRC/tests/system/paired_gain.py" own_$B.h5 || fail "$B: the paired gain differs"
done
# a results file without the per-prompt datasets (older files) still reads and reports
"$PY" -c "
import h5py
f = h5py.File('own_fsicl.h5', 'a')
g = f['runs'][list(f['runs'].keys())[0]]['eval']
for k in ('episode_start', 'episode_group', 'episode_correct', 'episode_exact', 'chance_random', 'chance_constant', 'constant_answer'):
    del g[k]
for k in [k for k in g if k.startswith('reference_') or k.startswith('gain_')]:
    del g[k]"
"$MICL" report own_fsicl.h5 > old_report.txt || fail "an older results file does not report"
grep -q "fsicl" old_report.txt || fail "an older results file reports no rows"
# a benchmark whose store the config has not prepared (tiny has no operator store), and an
# unknown task: a clear message, a non-zero exit, and no export directory or results file
msg="benchmark 'operator_induction' needs the store"
expect_fail --exit 1 --message "$msg" -- \
  "$MICL" data export tiny.cfg --benchmark operator_induction -o noop
expect_fail --exit 1 --message "unknown task 'nosuch'" -- "$MICL" data export tiny.cfg --task nosuch -o notask
expect_fail --exit 1 --message "$msg" -- \
  "$MICL" eval tiny.cfg --benchmark operator_induction --checkpoint out/icl.ckpt.h5 -o noop.h5
echo "export_test: ok"
