#!/usr/bin/env python3
"""study_features.py - do an encoder's features read Fashion-MNIST demonstrations better than
pixels?

A feasibility probe for the visual side of micl's in-context learner, in PyTorch. It trains a
ViT of micl's encoder shape (model.patch, model.enc_dim, model.enc_layers, model.enc_heads; pre-LN
blocks, learnt position embeddings, mean-pooled final tokens) as a classifier over the train
classes of a micl image store (the glyph store by default), optionally with image augmentation
and with extra classes (procedural filled shapes; characters of other Unicode scripts rendered
with PIL), for a fixed wall-clock budget. It then reads N-way K-shot episodes of Fashion-MNIST
test images (never trained on) with a nearest-neighbour reader on the features (cosine 1-NN and
nearest class mean), and with the model-free reader `micl eval` reports as `reference_*`
(pixel L2 1-NN) on the same episodes. If feature 1-NN cannot beat pixel 1-NN, an ICL model
reading those features is unlikely to either.

    nice -n 19 /usr/bin/python3 scripts/study_features.py --variant aug --steps 2000

Variants (--variant; several may be given, comma-separated):
    pixel       no encoder: cosine readers on raw pixels (a second model-free reference)
    random      the encoder untrained
    plain       glyph classes, no augmentation
    aug         glyph classes + augmentation (affine, stroke, blur, noise, contrast, inversion)
    shapes      aug + procedural filled-shape classes
    scripts     aug + characters of other scripts (PIL; DejaVu/unifont) as classes
    diverse     aug + shapes + scripts
--store may be any micl store: one built with the glyph store's extra classes and augmentation
(data.glyphs.script_classes, shape_classes, contrast, fill, invert, noise) is read as built by
the variant plain. Shape options: --dim, --layers, --patch, --heads. One torch thread (--threads) by default: the
machine is shared; run under nice -n 19.
"""
import argparse
import math
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SPLIT_TRAIN, SPLIT_TEST = 0, 1


def load_store(path, split):
    """Images (float, 0..1, [n,1,h,w]) and labels of one split of a micl store."""
    with h5py.File(path, "r") as h:
        sp = h["split"][:]
        keep = np.nonzero(sp == split)[0]
        img = h["images"][:][keep]
        lab = h["labels"][:][keep]
    if img.ndim == 4:
        img = img[..., 0]
    _, lab = np.unique(lab, return_inverse=True)
    return torch.from_numpy(img).float().div(255).unsqueeze(1), torch.from_numpy(lab).long()


# ----------------------------------------------------------------------------- extra classes


def shape_classes(n_classes, per_class, size, seed):
    """Procedural classes: a class is a union of 1-4 random filled ellipses/rectangles with a
    grey level and a stripe texture; an instance jitters the parts (augmentation adds more)."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    out = np.zeros((n_classes * per_class, size, size), np.float32)
    for c in range(n_classes):
        parts = []
        for _ in range(g.integers(1, 5)):
            parts.append((g.integers(0, 2), g.uniform(-0.2, 0.2, 2), g.uniform(0.08, 0.35, 2),
                          g.uniform(0, math.pi), g.uniform(0.3, 1.0)))
        tex = (g.uniform(0, 0.5), g.uniform(4, 14), g.uniform(0, math.pi))
        for i in range(per_class):
            img = np.zeros((size, size), np.float32)
            for kind, ctr, rad, ang, grey in parts:
                cx, cy = ctr + g.normal(0, 0.02, 2)
                rx, ry = rad * g.uniform(0.9, 1.1, 2)
                a = ang + g.normal(0, 0.1)
                u = (xx - cx) * math.cos(a) + (yy - cy) * math.sin(a)
                v = -(xx - cx) * math.sin(a) + (yy - cy) * math.cos(a)
                m = (u / rx) ** 2 + (v / ry) ** 2 <= 1 if kind == 0 else \
                    (np.abs(u) <= rx) & (np.abs(v) <= ry)
                img = np.where(m, grey, img)
            amp, freq, ta = tex
            stripes = 1 - amp * 0.5 * (1 + np.sin(freq * 2 * math.pi *
                                                  (xx * math.cos(ta) + yy * math.sin(ta))))
            out[c * per_class + i] = img * stripes
    lab = np.repeat(np.arange(n_classes), per_class)
    return torch.from_numpy(out).unsqueeze(1), torch.from_numpy(lab).long()


SCRIPT_RANGES = [  # (first, last) code points: Latin, Greek, Cyrillic, Arabic, Hebrew,
    (0x21, 0x7E), (0xC0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x5D0, 0x5EA),
    (0x620, 0x64A), (0x900, 0x97F), (0x2190, 0x22FF), (0x2500, 0x25FF), (0x2600, 0x26FF),
    (0xAC00, 0xAC00 + 600), (0x3040, 0x30FF)]  # Devanagari, arrows+math, boxes, symbols, Hangul, kana
SCRIPT_FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
                "/usr/share/fonts/opentype/unifont/unifont.otf",
                "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"]


def render_scripts(per_class, size, seed, max_classes):
    """Characters of other scripts as classes, rendered with PIL from every font that has them;
    a character with a single distinct rendering is kept with probability 1/2."""
    from PIL import Image, ImageDraw, ImageFont
    import os
    fonts = [f for f in SCRIPT_FONTS if os.path.exists(f)]
    pil = [ImageFont.truetype(f, int(0.8 * size)) for f in fonts]
    g = np.random.default_rng(seed)
    imgs, labs, c = [], [], 0
    for lo, hi in SCRIPT_RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            rend = []
            for f in pil:
                im = Image.new("L", (size * 2, size * 2), 0)
                d = ImageDraw.Draw(im)
                try:
                    d.text((size, size), ch, fill=255, font=f, anchor="mm")
                except Exception:
                    continue
                a = np.asarray(im, np.float32) / 255
                if a.sum() < 3:
                    continue
                ys, xs = np.nonzero(a > 0.1)
                cy, cx = int(ys.mean()), int(xs.mean())
                cy = min(max(cy, size // 2), size * 2 - size // 2)
                cx = min(max(cx, size // 2), size * 2 - size // 2)
                crop = a[cy - size // 2: cy - size // 2 + size, cx - size // 2: cx - size // 2 + size]
                if all(np.abs(crop - r).sum() > 1 for r in rend):
                    rend.append(crop)
            if not rend or (len(rend) == 1 and g.uniform() < 0.5):
                continue  # tofu-only or missing glyphs are skipped
            for i in range(per_class):
                imgs.append(rend[i % len(rend)])
                labs.append(c)
            c += 1
            if c >= max_classes:
                break
        if c >= max_classes:
            break
    return (torch.from_numpy(np.stack(imgs)).unsqueeze(1),
            torch.from_numpy(np.array(labs)).long())


# ----------------------------------------------------------------------------- augmentation


def augment(x, g, s):
    """Random affine, stroke (dilate/erode), blur, contrast, inversion and noise, per image;
    s (0..1) scales the geometric ranges and the probabilities."""
    n = x.shape[0]
    ang = (torch.rand(n, generator=g) * 2 - 1) * math.radians(20) * s
    sc = 1 + (torch.rand(n, generator=g) * 2 - 1) * 0.25 * s
    sh = (torch.rand(n, generator=g) * 2 - 1) * 0.3 * s
    tx, ty = ((torch.rand(2, n, generator=g) * 2 - 1) * 0.12 * s)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin + sh, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    x = F.grid_sample(x, F.affine_grid(theta, x.shape, align_corners=False), align_corners=False)
    r = torch.rand(n, generator=g) / s
    dil = F.max_pool2d(x, 3, 1, 1)
    ero = -F.max_pool2d(-x, 3, 1, 1)
    fat = F.max_pool2d(x, 5, 1, 2)
    x = torch.where((r < 0.25).view(-1, 1, 1, 1), dil, x)
    x = torch.where(((r >= 0.25) & (r < 0.35)).view(-1, 1, 1, 1), ero, x)
    x = torch.where(((r >= 0.35) & (r < 0.5)).view(-1, 1, 1, 1), fat, x)
    blur = F.avg_pool2d(x, 3, 1, 1)
    x = torch.where((torch.rand(n, generator=g) < 0.3 * s).view(-1, 1, 1, 1), blur, x)
    lo = torch.rand(n, 1, 1, 1, generator=g) * 0.3 * s
    hi = 1 - torch.rand(n, 1, 1, 1, generator=g) * 0.5 * s
    x = torch.where(x > 0.02, lo + x * (hi - lo), x)  # ink grey levels in [lo, hi]
    inv = (torch.rand(n, generator=g) < 0.1 * s).view(-1, 1, 1, 1)
    x = torch.where(inv, 1 - x, x)
    x = x + torch.randn(x.shape, generator=g) * torch.rand(n, 1, 1, 1, generator=g) * 0.08 * s
    return x.clamp(0, 1)


# ----------------------------------------------------------------------------- model


class ViT(nn.Module):
    def __init__(self, size, patch, dim, layers, heads):
        super().__init__()
        self.patch = patch
        t = (size // patch) ** 2
        self.embed = nn.Linear(patch * patch, dim)
        self.pos = nn.Parameter(torch.randn(1, t, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, 0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        p = F.unfold(x, self.patch, stride=self.patch).transpose(1, 2)
        h = self.blocks(self.embed(p) + self.pos)
        return self.norm(h).mean(1)


def simclr_loss(z1, z2, tau=0.2):
    """NT-Xent: each view's positive is the other view of the same image."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / tau
    sim.fill_diagonal_(-1e9)
    n = z1.shape[0]
    tgt = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, tgt)


def train(model, x, y, n_classes, steps, aug, objective, seed):
    """Classifier over the store's classes, or SimCLR (two augmented views), for `steps`."""
    dim = model.norm.normalized_shape[0]
    head = nn.Linear(dim, n_classes) if objective == "classify" else \
        nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, 64))
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.05)
    g = torch.Generator().manual_seed(seed)
    t0, bs = time.time(), 256
    for step in range(1, steps + 1):  # cosine learning rate
        for pg in opt.param_groups:
            pg["lr"] = 2e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        idx = torch.randint(0, x.shape[0], (bs,), generator=g)
        if objective == "classify":
            xb = augment(x[idx], g, aug) if aug > 0 else x[idx]
            loss = F.cross_entropy(head(model(xb)), y[idx])
        else:
            loss = simclr_loss(head(model(augment(x[idx], g, aug))),
                               head(model(augment(x[idx], g, aug))))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0:
            print(f"  step {step} loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    return steps, loss.item()


# ----------------------------------------------------------------------------- episodes


def episodes(labels, ways, shots, n_ep, seed):
    """n_ep episodes: per episode `ways` classes, `shots` supports and one query per class."""
    g = np.random.default_rng(seed)
    by = [np.nonzero(labels == c)[0] for c in range(int(labels.max()) + 1)]
    out = []
    for _ in range(n_ep):
        cls = g.choice(len(by), ways, replace=False)
        pick = [g.choice(by[c], shots + 1, replace=False) for c in cls]
        sup = np.array([p[:shots] for p in pick])  # [ways, shots]
        qry = np.array([p[shots] for p in pick])  # [ways]
        out.append((sup, qry))
    return out


def read(feat, eps, metric):
    """Accuracy of a nearest-neighbour reader over episodes (query of class i -> label i)."""
    ok = tot = 0
    for sup, qry in eps:
        s, q = feat[sup.reshape(-1)], feat[qry]
        w, k = sup.shape
        if metric == "l2-1nn":
            d = torch.cdist(q, s)  # [w, w*k]
            pred = d.argmin(1) // k
        else:
            s, q = F.normalize(s, dim=1), F.normalize(q, dim=1)
            if metric == "cos-1nn":
                pred = (q @ s.T).argmax(1) // k
            else:  # cos-ncm: cosine to the normalised class means
                m = F.normalize(s.view(w, k, -1).mean(1), dim=1)
                pred = (q @ m.T).argmax(1)
        ok += int((pred == torch.arange(w)).sum())
        tot += w
    return ok / tot


CELLS = [(2, 1), (2, 2), (2, 4), (5, 1), (5, 2), (5, 4)]


def evaluate(name, feat, pix, lab, n_ep, seed):
    rows = []
    for w, k in CELLS:
        eps = episodes(lab, w, k, n_ep, seed + 100 * w + k)
        rows.append((w, k, read(pix, eps, "l2-1nn"), read(feat, eps, "cos-1nn"),
                     read(feat, eps, "cos-ncm")))
    print(f"\n{name}: FM test, {n_ep} episodes/cell, one query per class")
    print("  cell      pixel-L2-1NN  feat-cos-1NN  feat-cos-NCM   gain(1NN)")
    for w, k, p, a, b in rows:
        print(f"  {w}-way {k}-shot  {p:.3f}        {a:.3f}         {b:.3f}        {a - p:+.3f}")
    print("  mean gain 1NN %+.3f  NCM %+.3f" % (np.mean([r[3] - r[2] for r in rows]),
                                               np.mean([r[4] - r[2] for r in rows])), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", default="data/cache/glyphs.h5")
    ap.add_argument("--fm", default="data/cache/fashion_mnist.h5")
    ap.add_argument("--variant", default="plain")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--aug", type=float, default=0.5, help="augmentation strength 0..1")
    ap.add_argument("--objective", choices=["classify", "simclr"], default="classify")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--patch", type=int, default=7)
    ap.add_argument("--shapes", type=int, default=512, help="procedural shape classes")
    ap.add_argument("--scripts", type=int, default=1500, help="max. other-script classes")
    ap.add_argument("--episodes", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    fx, fy = load_store(a.fm, SPLIT_TEST)
    fy = fy.numpy()
    pix = fx.flatten(1)
    for v in a.variant.split(","):
        if v == "pixel":
            evaluate("pixel (cosine readers on raw pixels)", pix, pix, fy, a.episodes, a.seed)
            continue
        model = ViT(fx.shape[-1], a.patch, a.dim, a.layers, a.heads)
        if v != "random":
            x, y = load_store(a.store, SPLIT_TRAIN)
            xs, ys = [x], [y]
            n = int(y.max()) + 1
            if v in ("shapes", "diverse"):
                sx, sy = shape_classes(a.shapes, 26, x.shape[-1], a.seed)
                xs.append(sx), ys.append(sy + n)
                n += a.shapes
            if v in ("scripts", "diverse"):
                sx, sy = render_scripts(26, x.shape[-1], a.seed, a.scripts)
                xs.append(sx), ys.append(sy + n)
                n += int(sy.max()) + 1
            x, y = torch.cat(xs), torch.cat(ys)
            print(f"{v}: {n} classes, {x.shape[0]} images", flush=True)
            steps, loss = train(model, x, y, n, a.steps, 0 if v == "plain" else a.aug,
                                a.objective, a.seed)
            print(f"  trained {steps} steps ({a.objective}), final loss {loss:.3f}", flush=True)
        model.eval()
        with torch.no_grad():
            feat = torch.cat([model(fx[i:i + 1000]) for i in range(0, fx.shape[0], 1000)])
        evaluate(f"{v} ({a.objective}, aug {a.aug if v != 'plain' else 0}, dim {a.dim}, "
                 f"layers {a.layers}, patch {a.patch})", feat, pix, fy,
                 a.episodes, a.seed)


if __name__ == "__main__":
    main()
