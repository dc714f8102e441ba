"""reference_nn.py DIR OUT_NN OUT_MEAN [OUT_PER] - the model-free readers of exported episodes.

Reads `micl data export`'s DIR/data.json and images, and answers each sample's query from its
demonstrations alone, as data/reference.h defines the readers: binding (one image per turn) by
the answer of the nearest demonstration image (pixel 1-NN, squared L2 over the PNG bytes) and by
the answer whose demonstrations' mean image is nearest; matching (a pair per turn) by the pair
distance d(a, b) against the demonstration pairs' (nearest pair, nearest answer mean). Ties go
to the first demonstration / the first answer shown. Writes one prediction per sample with
demonstrations ({"id", "prediction"}) to OUT_NN and OUT_MEAN, and prints the right counts of
both readers per cell as JSON: {"<ways>-<shots>": [samples, nn_right, mean_right]}. With
OUT_PER, also writes each sample's outcomes as JSON: {"<id>": [nn_right, mean_right]} (1 or 0),
to compare with the per-prompt datasets episode_reference_nn and episode_reference_mean.
"""
import json
import os
import sys

import numpy as np
from PIL import Image


def pixels(d, path):
    return np.asarray(Image.open(os.path.join(d, path)), dtype=np.int64).ravel()


def turns(sample):
    """[(images of the turn, answer)] in order; the last is the query."""
    conv, imgs, out, k = sample["conversations"], sample["image"], [], 0
    for i in range(0, len(conv), 2):
        n = conv[i]["value"].split("\n").count("<image>")
        out.append((imgs[k:k + n], conv[i + 1]["value"]))
        k += n
    return out


def sq(a, b):
    return int(((a - b) ** 2).sum())


def read(d, sample):
    ts = turns(sample)
    demos, query = ts[:-1], ts[-1]
    if not demos:
        return None
    if len(query[0]) == 1:  # binding: distances of demo images to the query image
        q = pixels(d, query[0][0])
        imgs = [pixels(d, t[0][0]) for t in demos]
        dist = [sq(x, q) for x in imgs]
        nn = demos[int(np.argmin(dist))][1]  # argmin: the first of equal values
        best, best_d = None, None
        for a in dict.fromkeys(t[1] for t in demos):  # answers in order of first appearance
            members = [x for x, t in zip(imgs, demos) if t[1] == a]
            n = len(members)
            s = np.sum(members, axis=0)
            dd = float(((n * q - s) ** 2).sum()) / (float(n) * float(n))
            if best is None or dd < best_d:
                best, best_d = a, dd
        return nn, best
    pair = lambda t: sq(pixels(d, t[0][0]), pixels(d, t[0][1]))  # matching: pair distances
    dq, dist = pair(query), [pair(t) for t in demos]
    nn = demos[int(np.argmin([abs(x - dq) for x in dist]))][1]
    best, best_d = None, None
    for a in dict.fromkeys(t[1] for t in demos):
        vals = [x for x, t in zip(dist, demos) if t[1] == a]
        dd = abs(float(sum(vals)) / float(len(vals)) - float(dq))
        if best is None or dd < best_d:
            best, best_d = a, dd
    return nn, best


def main():
    d, out_nn, out_mean = sys.argv[1:4]
    counts, per = {}, {}
    with open(out_nn, "w") as fn, open(out_mean, "w") as fm:
        for s in json.load(open(os.path.join(d, "data.json"))):
            got = read(d, s)
            if got is None:
                continue
            key = "%d-%d" % (s["ways"], s["shots"])
            c = counts.setdefault(key, [0, 0, 0])
            c[0] += 1
            c[1] += got[0] == s["answer"]
            c[2] += got[1] == s["answer"]
            per[s["id"]] = [int(got[0] == s["answer"]), int(got[1] == s["answer"])]
            fn.write(json.dumps({"id": s["id"], "prediction": got[0]}) + "\n")
            fm.write(json.dumps({"id": s["id"], "prediction": got[1]}) + "\n")
    if len(sys.argv) > 4:
        with open(sys.argv[4], "w") as f:
            json.dump(per, f, sort_keys=True)
    print(json.dumps(counts, sort_keys=True))


main()
