#!/usr/bin/env bash
# fsicl_export_test.sh MICL SRC WORK - the paper's FS-ICL through `micl data export` and the
# scoring of external predictions: every turn of an fsicl / fsicl_random sample lists the same
# two options, variant 1 is variant 0 with every turn's options reversed (answers swapped), a
# constant letter scores exactly 0.5, and "copy the first demo's letter" scores 1.0 on fsicl
# (the paper's shortcut) and exactly 0.5 on fsicl_random.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
sed 's|^output_dir = .*|output_dir = "out";|' "$SRC/configs/tiny.cfg" > tiny.cfg
"$MICL" data prepare tiny.cfg > /dev/null
fail() { echo "FAIL: $*"; exit 1; }
for B in fsicl fsicl_random; do
  "$MICL" data export tiny.cfg --benchmark $B --episodes 8 -o exp_$B > /dev/null
  "$PY" - exp_$B <<'PY' || fail "$B: exported samples"
import json, os, sys
d = sys.argv[1]
data = json.load(open(os.path.join(d, "data.json")))
by_id = {s["id"]: s for s in data}
def turns(s):
    c = s["conversations"]
    return [(c[i]["value"].split("\n")[-1].split(), c[i + 1]["value"]) for i in range(0, len(c), 2)]
swap = {"A": "B", "B": "A"}
with open(os.path.join(d, "const.jsonl"), "w") as k, open(os.path.join(d, "first.jsonl"), "w") as f:
    for s in data:
        t = turns(s)
        opts = t[0][0]
        assert len(opts) == 4 and opts[0] == "A" and opts[2] == "B", opts
        for q, a in t:
            assert q == opts, (s["id"], q, opts)  # the same options in every turn
            assert a in ("A", "B")
        assert s["candidates"] == ["A", "B"] and t[-1][1] == s["answer"]
        if s["variant"] == 0:
            o = by_id[s["id"][:-1] + "1"]
            assert o["image"] is not None and len(o["conversations"]) == len(s["conversations"])
            for (q0, a0), (q1, a1) in zip(t, turns(o)):
                assert q1 == ["A", q0[3], "B", q0[1]], (q0, q1)  # options reversed
                assert a1 == swap[a0]                             # answers swapped
        k.write(json.dumps({"id": s["id"], "prediction": "A"}) + "\n")
        if s["shots"] > 0:
            f.write(json.dumps({"id": s["id"], "prediction": t[0][1]}) + "\n")
print(d, len(data), "samples ok")
PY
  "$MICL" eval tiny.cfg --benchmark $B --predictions exp_$B/const.jsonl --episodes 8 -o const_$B.h5 > /dev/null
  "$MICL" eval tiny.cfg --benchmark $B --predictions exp_$B/first.jsonl --episodes 8 --shots 1,2,4 \
    -o first_$B.h5 > /dev/null
  WANT=$([ $B = fsicl ] && echo 1.0 || echo 0.5)
  "$PY" - const_$B.h5 first_$B.h5 $WANT <<'PY' || fail "$B: constant or copy-first accuracy"
import h5py, sys
const = h5py.File(sys.argv[1], "r")["runs/predictions/eval/accuracy"][()]
first = h5py.File(sys.argv[2], "r")["runs/predictions/eval/accuracy"][()]
assert len(const) == 4 and (const == 0.5).all(), const
assert len(first) == 3 and (first == float(sys.argv[3])).all(), first
print("constant", const.tolist(), "copy-first", first.tolist())
PY
done
echo "fsicl_export_test: ok"
