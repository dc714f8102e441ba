#!/usr/bin/env python3
"""torch_step.py - PyTorch's time for the training step that gpu_check.c times in micl.

The model is a standard PyTorch transformer laid out as micl's (model/vlm.h): a ViT encoder
(linear patch embedding + learned positions, pre-LN blocks with full attention, final LayerNorm,
patch tokens flattened) and a projector MLP give one decoder token per image; the decoder embeds
tokens, puts the image embeddings at the image tokens, and runs pre-LN blocks (causal attention
through F.scaled_dot_product_attention, RoPE on q and k, tanh-GELU MLP); like micl's passes, the
last block's output projection and MLP, the final LayerNorm and the LM head run only at the
target positions. It omits micl's key smearing (an elementwise mix, no products). So every
matrix product has micl's shapes, and the FLOP per step is micl's count
(vlm_flops_per_step_targets of model/vlm.c, ported below) of the same step: the batches are
`micl bench step`'s (<bos> then pairs x (<img> name), targets at the images), the optimizer
AdamW (fused on CUDA) with the bench's settings after clipping the gradient norm at 1.0.

Modes: eager-fp32 (pure fp32 products: no TF32), eager-bf16 and compiled-bf16 (autocast to
bf16: products in bf16 with fp32 accumulation, parameters and optimizer in fp32), and
compiled-fp32 on request. Each step is timed on the host clock and ends with a synchronize;
warm-up steps (the compile among them) come first; median, mean and best are reported.

Usage: torch_step.py [--device cuda|cpu] [--shapes preset,batched] [--modes M,M,...]
                     [--steps N] [--warmup W] [--time-budget S] [--json FILE]
Shapes: preset (4 micro-batches x 8 sequences x 19 tokens), batched (1 x 64 x 63), both on the
768-wide 12-layer decoder; tiny (a small model, for a CPU dry run).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The models: (image_size, patch, channels, enc_dim, enc_layers, enc_heads, dim, layers, heads,
# mlp_ratio, vocab, max_seq), gpu_check.c's WIDE config, and a small one for CPU runs.
WIDE = dict(image_size=28, patch=7, channels=1, enc_dim=64, enc_layers=1, enc_heads=4, dim=768,
            layers=12, heads=12, mlp_ratio=4, vocab=1454, max_seq=64)
SMALL = dict(WIDE, dim=64, layers=2, heads=4, enc_dim=32, enc_heads=2)
SHAPES = {  # name: (model, micro_batches, seqs, pairs)
    "preset": (WIDE, 4, 8, 9),
    "batched": (WIDE, 1, 64, 31),
    "tiny": (SMALL, 2, 2, 3),
}
MODES = ("eager-fp32", "eager-bf16", "compiled-bf16", "compiled-fp32")
IMAGE_TOKEN, BOS, FIRST_NAME = 1, 2, 3  # bench/workload.h
LR, BETAS, EPS, WEIGHT_DECAY, GRAD_CLIP = 2e-3, (0.9, 0.98), 1e-8, 0.01, 1.0


def flops_per_step(c, n_tokens, n_images, T, n_targets):
    """model/vlm.c: vlm_flops_per_step_targets (forward x 3)."""
    D, h = float(c["dim"]), float(c["mlp_ratio"] * c["dim"])
    g = c["image_size"] // c["patch"]
    npch, E = float(g * g), float(c["enc_dim"])
    he = c["mlp_ratio"] * E
    img = 2.0 * npch * c["patch"] * c["patch"] * c["channels"] * E
    img += c["enc_layers"] * (2.0 * npch * (3 * E * E + E * E + 2 * E * he) + 4.0 * npch * npch * E)
    img += 2.0 * (npch * E * D + D * D)
    attend = 2.0 * 3 * D * D + 4.0 * (T + 1) / 2.0 * D
    out = 2.0 * (D * D + 2 * D * h)
    fwd = n_tokens * c["layers"] * attend
    if c["layers"] > 0:
        fwd += n_tokens * (c["layers"] - 1) * out + n_targets * out
    fwd += n_targets * 2.0 * D * c["vocab"] + n_images * img
    return 3.0 * fwd


def mul32(x, c):
    """x * c mod 2^32 for an int64 tensor x of 32-bit values (no int64 overflow)."""
    return (x * (c & 0xFFFF) + (((x * (c >> 16)) & 0xFFFF) << 16)) & 0xFFFFFFFF


def mix32(x):
    """bench_mix32 (bench/workload.c) on an int64 tensor of 32-bit values."""
    x = x ^ (x >> 16)
    x = mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def workload(c, micro_batches, seqs, pairs):
    """The bench's batches: per micro-batch tokens [seqs, T], targets, pixels [n, S, S, C]."""
    T = 1 + 2 * pairs
    n_seq, n_names = micro_batches * seqs, c["vocab"] - FIRST_NAME
    s = torch.arange(n_seq, dtype=torch.int64)[:, None]
    j = torch.arange(pairs, dtype=torch.int64)[None, :]
    names = FIRST_NAME + mix32(s * 64 + j) % n_names  # [n_seq, pairs]
    tokens = torch.full((n_seq, T), BOS, dtype=torch.int64)
    targets = torch.full((n_seq, T), -1, dtype=torch.int64)
    tokens[:, 1::2] = IMAGE_TOKEN
    tokens[:, 2::2] = names
    targets[:, 1::2] = names  # the image position predicts its name
    S, C = c["image_size"], c["channels"]
    px, n_img = S * S * C, seqs * pairs
    batches = []
    for b in range(micro_batches):
        i = torch.arange(b * n_img * px, (b + 1) * n_img * px, dtype=torch.int64)
        pixels = (mix32((mul32(i, 2654435761) + 17) & 0xFFFFFFFF) >> 24).to(torch.uint8)
        batches.append((tokens[b * seqs:(b + 1) * seqs], targets[b * seqs:(b + 1) * seqs],
                        pixels.reshape(n_img, S, S, C)))
    return T, batches


def rope_tables(T, hd):
    i = torch.arange(hd // 2, dtype=torch.float64)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * (10000.0 ** (-2.0 * i / hd))[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope(x, cos, sin):
    """Rotates pairs (2i, 2i+1) of each head of x [B, H, T, hd] (micl's convention)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


def attention(q, k, v, causal):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # torch < 2.0 (CPU dry runs)
    if causal:
        T = q.shape[-2]
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), -math.inf)
    return torch.softmax(s.float(), dim=-1).to(v.dtype) @ v


class Block(nn.Module):
    def __init__(self, width, heads, mlp_ratio, causal, rope_T):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.fc1 = nn.Linear(width, mlp_ratio * width)
        self.fc2 = nn.Linear(mlp_ratio * width, width)
        if rope_T:
            cos, sin = rope_tables(rope_T, width // heads)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)
        else:
            self.cos = None

    def forward(self, x, rows=None):
        """x [B, T, W]; with rows (flat indices), the block after attention runs at those rows
        only and returns [len(rows), W]."""
        B, T, W = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(W, dim=-1)
        q, k, v = (t.reshape(B, T, self.heads, W // self.heads).transpose(1, 2) for t in (q, k, v))
        if self.cos is not None:
            q, k = rope(q, self.cos[:T], self.sin[:T]), rope(k, self.cos[:T], self.sin[:T])
        y = attention(q, k, v, self.causal).transpose(1, 2).reshape(B, T, W)
        if rows is not None:
            x, y = x.reshape(B * T, W)[rows], y.reshape(B * T, W)[rows]
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class VLM(nn.Module):
    def __init__(self, c, T):
        super().__init__()
        self.c = c
        g = c["image_size"] // c["patch"]
        E, D = c["enc_dim"], c["dim"]
        self.patch = nn.Linear(c["patch"] * c["patch"] * c["channels"], E)
        self.pos = nn.Parameter(0.02 * torch.randn(g * g, E))
        self.enc = nn.ModuleList(Block(E, c["enc_heads"], c["mlp_ratio"], False, 0)
                                 for _ in range(c["enc_layers"]))
        self.enc_ln = nn.LayerNorm(E)
        self.fc1, self.fc2 = nn.Linear(g * g * E, D), nn.Linear(D, D)
        self.tok = nn.Embedding(c["vocab"], D)
        self.dec = nn.ModuleList(Block(D, c["heads"], c["mlp_ratio"], True, T)
                                 for _ in range(c["layers"]))
        self.ln = nn.LayerNorm(D)
        self.head = nn.Linear(D, c["vocab"])
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def encode(self, pixels):
        """pixels uint8 [n, S, S, C] -> [n, dim]."""
        n, S, _, C = pixels.shape
        P, G = self.c["patch"], S // self.c["patch"]
        x = pixels.float() / 255.0
        x = x.reshape(n, G, P, G, P, C).permute(0, 1, 3, 2, 4, 5).reshape(n, G * G, P * P * C)
        h = self.patch(x) + self.pos
        for blk in self.enc:
            h = blk(h)
        h = self.enc_ln(h).reshape(n, -1)
        return self.fc2(F.gelu(self.fc1(h), approximate="tanh"))

    def forward(self, tokens, pixels, img_rows, tgt_rows, tgt_ids):
        """The summed cross-entropy of one micro-batch at its target rows."""
        B, T = tokens.shape
        x = self.tok(tokens).reshape(B * T, -1)
        img = self.encode(pixels).to(x.dtype)
        x = x.index_copy(0, img_rows, img).reshape(B, T, -1)
        for blk in self.dec[:-1]:
            x = blk(x)
        x = self.dec[-1](x, tgt_rows) if len(self.dec) else x.reshape(B * T, -1)[tgt_rows]
        logits = self.head(self.ln(x))
        return F.cross_entropy(logits.float(), tgt_ids, reduction="sum")


def run_mode(mode, c, T, batches, dev, steps, warmup):
    torch.manual_seed(1)
    model = VLM(c, T).to(dev)
    fused = {"fused": True} if dev.type == "cuda" else {}
    # micl decays the linear layers' weights only (not biases, norms or embeddings)
    decay = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    rest = [p for p in model.parameters() if all(p is not w for w in decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS, **fused)
    fwd = model
    if mode.startswith("compiled"):
        torch._dynamo.reset()
        fwd = torch.compile(model)
    bf16 = mode.endswith("bf16")
    n_targets = sum(int((tg >= 0).sum()) for _, tg, _ in batches)
    inputs = []
    for tok, tg, px in batches:
        flat = tg.reshape(-1)
        inputs.append((tok.to(dev), px.to(dev),
                       torch.nonzero(tok.reshape(-1) == IMAGE_TOKEN).flatten().to(dev),
                       torch.nonzero(flat >= 0).flatten().to(dev), flat[flat >= 0].to(dev)))

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    times, losses = [], []
    t_first = None
    for s in range(warmup + steps):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        total = 0.0
        for tok, px, img_rows, tgt_rows, tgt_ids in inputs:
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                ls = fwd(tok, px, img_rows, tgt_rows, tgt_ids)
            (ls / n_targets).backward()
            total += float(ls.detach())  # a synchronisation, as micl's loss is
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        sync()
        dt = time.perf_counter() - t0
        if t_first is None:
            t_first = dt
        losses.append(total / n_targets)
        if s >= warmup:
            times.append(1e3 * dt)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    return {"mode": mode, "ms_median": median, "ms_mean": sum(times) / n, "ms_best": times[0],
            "first_step_s": t_first, "loss_first": losses[0], "loss_last": losses[-1],
            "finite": all(math.isfinite(v) for v in losses)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--shapes", default="preset,batched")
    ap.add_argument("--modes", default="eager-bf16,compiled-bf16,eager-fp32")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--time-budget", type=float, default=0.0,
                    help="seconds; modes that would start later are skipped (0: no limit)")
    ap.add_argument("--json")
    a = ap.parse_args()
    shapes, modes = a.shapes.split(","), a.modes.split(",")
    bad = [s for s in shapes if s not in SHAPES] + [m for m in modes if m not in MODES]
    if bad or a.steps < 1 or a.warmup < 0:
        print("torch_step.py: bad shape, mode, --steps or --warmup: %s" % bad, file=sys.stderr)
        return 2
    if a.device == "cuda" and not torch.cuda.is_available():
        print("SKIP: torch %s sees no CUDA device" % torch.__version__)
        return 77
    dev = torch.device(a.device)
    if a.device == "cuda":
        torch.set_float32_matmul_precision("highest")  # fp32 products stay fp32 (no TF32)
        name = torch.cuda.get_device_name(0)
    else:
        name = "CPU (%d threads)" % torch.get_num_threads()
    has_compile = hasattr(torch, "compile")
    print("torch_step: torch %s on %s" % (torch.__version__, name), flush=True)
    out = {"program": "torch_step", "torch_version": str(torch.__version__), "device": name,
           "shapes": []}
    start = time.perf_counter()
    ok = True
    for shape in shapes:
        c, mb, seqs, pairs = SHAPES[shape]
        T, batches = workload(c, mb, seqs, pairs)
        n_tok, n_tgt = mb * seqs * T, mb * seqs * pairs
        flops = flops_per_step(c, n_tok, n_tgt, T, n_tgt)
        rec = {"shape": shape, "dim": c["dim"], "layers": c["layers"], "heads": c["heads"],
               "micro_batches": mb, "seqs": seqs, "pairs": pairs, "T": T, "tokens": n_tok,
               "targets": n_tgt, "flops_per_step": flops, "runs": []}
        for mode in modes:
            late = a.time_budget > 0 and time.perf_counter() - start > a.time_budget
            if mode.startswith("compiled") and not has_compile:
                r = {"mode": mode, "skipped": "torch.compile is not in torch %s" % torch.__version__}
            elif late:
                r = {"mode": mode, "skipped": "time budget of %.0f s spent" % a.time_budget}
            else:
                r = run_mode(mode, c, T, batches, dev, a.steps, a.warmup)
                r["tflops"] = flops / (r["ms_median"] * 1e-3) * 1e-12
                ok = ok and r["finite"]
            rec["runs"].append(r)
            if a.json:  # after each run, so that a stopped process leaves what it measured
                with open(a.json, "w") as f:
                    json.dump(dict(out, shapes=out["shapes"] + [rec]), f, indent=1)
            if "skipped" in r:
                print("torch %-8s %-14s skipped: %s" % (shape, mode, r["skipped"]), flush=True)
            else:
                print("torch %-8s %-14s %d x %d x %d tokens: %.2f ms/step median (best %.2f, "
                      "mean %.2f; first step %.1f s), %.3f TFLOP/step, %.2f TFLOP/s; loss %.4f -> "
                      "%.4f" % (shape, mode, mb, seqs, T, r["ms_median"], r["ms_best"],
                                r["ms_mean"], r["first_step_s"], flops * 1e-12, r["tflops"],
                                r["loss_first"], r["loss_last"]), flush=True)
        out["shapes"].append(rec)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
