#!/usr/bin/env python3
"""vlm_ref.py - an independent float64 PyTorch implementation of the micl VLM (model/vlm.h).

Reads the HDF5 file written by tests/model/test_reference_dump.c (config attributes, batch, parameters,
C logits / loss / gradients), recomputes the forward pass and the gradients with autograd in
float64, and checks every number with relative error max|a - b| / max|b| < 1e-4 per tensor.
Prints one line per check and a summary; exits 1 on any failure.

The architecture, from the spec in vlm.h:
  pixels / 255 -> P x P x C patches (row-major inside a patch, channels interleaved per pixel,
  patches row-major; C = 1 gray or 3 RGB) -> Linear
  + learned position embedding -> pre-LN ViT blocks (bidirectional MHA, GELU-tanh MLP)
  -> LayerNorm -> flatten (or mean) over patches -> Linear, GELU, Linear = one decoder token per image.
  Decoder: token embedding with image slots replaced (images in order), pre-LN blocks with
  causal MHA and RoPE on q, k (pairs (2i, 2i+1), theta_i = 10000^(-2i/head_dim), positions
  0..T-1; with smear_keys, each key after RoPE becomes s_h k_t + (1 - s_h) k_{t-1}, s_h =
  sigmoid(dec.L.attn.smear[h]), k'_0 = k_0), final LayerNorm, LM head with bias; loss = mean CE
  over targets >= 0.
  Linear weights are [out x in]; the qkv projection's output is q | k | v, heads contiguous.

Usage: vlm_ref.py FILE.h5
"""
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

TOL = 1e-4
LN_EPS = 1e-5


def linear(x, p, name):
    return F.linear(x, p[name + ".w"], p[name + ".b"])


def layer_norm(x, p, name):
    return F.layer_norm(x, (x.shape[-1],), p[name + ".w"], p[name + ".b"], eps=LN_EPS)


def rope(x, T):
    """x: [B, H, T, hd]; rotates pairs (2i, 2i+1) by angle t * 10000^(-2i/hd)."""
    hd = x.shape[-1]
    i = torch.arange(hd // 2, dtype=torch.float64)
    theta = 10000.0 ** (-2.0 * i / hd)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * theta[None, :]  # [T, hd/2]
    cos, sin = torch.cos(ang), torch.sin(ang)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    y0 = x0 * cos - x1 * sin
    y1 = x0 * sin + x1 * cos
    return torch.stack((y0, y1), dim=-1).flatten(-2)


def attention(x, p, name, heads, causal, use_rope):
    """x: [B, T, C] (already normalised)."""
    B, T, C = x.shape
    hd = C // heads
    qkv = linear(x, p, name + ".qkv")
    q, k, v = qkv.split(C, dim=-1)
    q, k, v = (t.reshape(B, T, heads, hd).transpose(1, 2) for t in (q, k, v))
    if use_rope:
        q, k = rope(q, T), rope(k, T)
    if name + ".smear" in p:
        # smeared keys: k'_t = s_h k_t + (1 - s_h) k_{t-1}, s_h = sigmoid(smear[h]), k'_0 = k_0
        s = torch.sigmoid(p[name + ".smear"]).to(k.dtype)[None, :, None, None]
        k_prev = torch.cat((k[:, :, :1], k[:, :, :-1]), dim=2)
        k = s * k + (1 - s) * k_prev
    scores = q @ k.transpose(-1, -2) / np.sqrt(hd)
    if causal:
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
    att = torch.softmax(scores, dim=-1) @ v
    att = att.transpose(1, 2).reshape(B, T, C)
    return linear(att, p, name + ".proj")


def block(x, p, name, heads, causal, use_rope):
    x = x + attention(layer_norm(x, p, name + ".ln1"), p, name + ".attn", heads, causal, use_rope)
    h = F.gelu(linear(layer_norm(x, p, name + ".ln2"), p, name + ".mlp.fc1"), approximate="tanh")
    return x + linear(h, p, name + ".mlp.fc2")


def encode_images(pixels, p, cfg):
    """pixels: [N, S, S] (gray) or [N, S, S, C] uint8 -> [N, dim]."""
    if pixels.ndim == 3:
        pixels = pixels[..., None]
    N, S, _, C = pixels.shape
    assert C == cfg.get("channels", 1)
    P = cfg["patch"]
    G = S // P
    x = torch.from_numpy(pixels.astype(np.float64)) / 255.0
    # [N, G, P, G, P, C] -> [N, G, G, P, P, C] -> [N, G*G, P*P*C]
    patches = x.reshape(N, G, P, G, P, C).permute(0, 1, 3, 2, 4, 5).reshape(N, G * G, P * P * C)
    h = linear(patches, p, "enc.patch") + p["enc.pos"][None]
    for layer in range(cfg["enc_layers"]):
        h = block(h, p, "enc.%d" % layer, cfg["enc_heads"], causal=False, use_rope=False)
    h = layer_norm(h, p, "enc.ln")
    # pool 0 = flatten: the patch tokens concatenated in grid order; 1 = mean over patches
    pooled = h.reshape(N, -1) if cfg.get("pool", 0) == 0 else h.mean(dim=1)
    return linear(F.gelu(linear(pooled, p, "proj.fc1"), approximate="tanh"), p, "proj.fc2")


def forward(p, cfg, tokens, targets, pixels):
    """Returns (logits at target positions in (sequence, position) order, mean loss, image emb)."""
    img = encode_images(pixels, p, cfg)
    tok = torch.from_numpy(tokens.astype(np.int64))
    is_img = tok == cfg["image_token"]
    x = p["dec.tok"][tok]  # [B, T, D]
    x = x.masked_scatter(is_img[..., None].expand_as(x), img)  # row-major order = image order
    for layer in range(cfg["layers"]):
        x = block(x, p, "dec.%d" % layer, cfg["heads"], causal=True, use_rope=True)
    tgt = torch.from_numpy(targets.astype(np.int64))
    sel = tgt >= 0
    logits = linear(layer_norm(x[sel], p, "dec.ln"), p, "dec.head")
    loss = F.cross_entropy(logits, tgt[sel], reduction="mean")
    return logits, loss, img


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    den = max(np.max(np.abs(b)) if b.size else 0.0, 1e-30)
    return float(np.max(np.abs(a - b)) / den) if b.size else 0.0


def main():
    if len(sys.argv) != 2:
        print("usage: vlm_ref.py FILE.h5", file=sys.stderr)
        return 2
    torch.set_default_dtype(torch.float64)
    with h5py.File(sys.argv[1], "r") as f:
        cfg = {k: f.attrs[k].item() for k in f.attrs}
        tokens = f["batch/tokens"][()]
        targets = f["batch/targets"][()]
        pixels = f["batch/pixels"][()]
        params = {k: torch.tensor(f["params"][k][()], dtype=torch.float64, requires_grad=True)
                  for k in f["params"]}
        c_grads = {k: f["grads"][k][()] for k in f["grads"]}
        c_logits = f["out/logits"][()]
        c_loss_sum = float(f["out/loss_sum"][()])
        c_img = f["out/image_embeddings"][()]

    logits, loss, img = forward(params, cfg, tokens, targets, pixels)
    loss.backward()
    n_targets = int((targets >= 0).sum())

    checks = [("logits", rel_err(c_logits, logits.detach().numpy())),
              ("loss", rel_err(c_loss_sum / n_targets, loss.item())),
              ("image embeddings", rel_err(c_img, img.detach().numpy()))]
    if n_targets != cfg["n_targets"]:
        checks.append(("n_targets", float("inf")))
    missing = sorted(set(params) ^ set(c_grads))
    for name in missing:
        checks.append(("tensor set: " + name, float("inf")))
    expected = expected_tensor_names(cfg)
    if sorted(expected) != sorted(params):
        checks.append(("tensor names match the spec", float("inf")))
    for name in sorted(params):
        if params[name].grad is None:
            checks.append(("grad " + name + " (no torch gradient)", float("inf")))
            continue
        # the C gradients are of the loss sum scaled by grad_scale = 1 / n_targets
        ref = params[name].grad.numpy() * (cfg["grad_scale"] * n_targets)
        checks.append(("grad " + name, rel_err(c_grads[name], ref)))

    failed = 0
    for name, err in checks:
        ok = err < TOL
        failed += not ok
        print("%-32s rel err %.2e %s" % (name, err, "ok" if ok else "FAIL"))
    worst = max(err for _, err in checks)
    print("reference_torch: %d checks, %d failed, worst rel err %.2e (tolerance %.0e), loss %.6f"
          % (len(checks), failed, worst, TOL, loss.item()))
    return 1 if failed else 0


def expected_tensor_names(cfg):
    block = ["ln1.w", "ln1.b", "attn.qkv.w", "attn.qkv.b", "attn.proj.w", "attn.proj.b",
             "ln2.w", "ln2.b", "mlp.fc1.w", "mlp.fc1.b", "mlp.fc2.w", "mlp.fc2.b"]
    names = ["enc.patch.w", "enc.patch.b", "enc.pos", "enc.ln.w", "enc.ln.b", "proj.fc1.w",
             "proj.fc1.b", "proj.fc2.w", "proj.fc2.b", "dec.tok", "dec.ln.w", "dec.ln.b",
             "dec.head.w", "dec.head.b"]
    for layer in range(cfg["enc_layers"]):
        names += ["enc.%d.%s" % (layer, b) for b in block]
    for layer in range(cfg["layers"]):
        names += ["dec.%d.%s" % (layer, b) for b in block]
        if cfg.get("smear_keys", 0):
            names.append("dec.%d.attn.smear" % layer)
    return names


if __name__ == "__main__":
    sys.exit(main())
