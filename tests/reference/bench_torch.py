#!/usr/bin/env python3
"""bench_torch.py - the PyTorch side of `micl bench vs-torch`.

Reads the input file micl writes (model config and optimizer as attributes of /, the batch as
tokens/targets [micro_batches * seqs * T] and pixels [micro_batches, images, S, S], the initial
parameters as /params/<name>, AdamW decay flags in param_names/param_decay), builds the same
model as tests/reference/vlm_ref.py but in float32, and trains it for warm-up + timed steps
exactly as micl does: per step, zero the gradients, forward + backward of each micro-batch with
the summed cross-entropy divided by the step's target count, then torch.optim.AdamW (decay on
the tensors micl decays, constant lr). Each step is timed with time.perf_counter.

Writes OUT.h5 (kind "micl-bench-torch", schema_version 2, the format of scripts/micl_h5.py): step_s [steps] (timed steps only),
loss [warmup + steps] (mean loss of every step before its update), attributes torch_version,
threads, max_rss_kib (peak resident set of this process), openblas_num_threads, omp_wait_policy,
openblas_coretype (the environment's) and openblas_corename (the core the loaded OpenBLAS runs).

Usage: bench_torch.py IN.h5 OUT.h5 --threads T --steps N --warmup W
"""
import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import micl_h5  # noqa: E402  (the format micl reads: scripts/micl_h5.py)


def _thread_environment():
    """Runtime settings for PyTorch's own threads, set before torch (libgomp, OpenBLAS) loads:
    Debian's torch calls the pthread OpenBLAS, whose threads and torch's OpenMP threads would
    otherwise busy-wait against each other on a small machine (measured on 2 cores: a mean step
    3x its best). OpenBLAS gets the same thread count as torch, and OpenMP threads sleep when
    idle. A variable already in the environment is left alone."""
    threads = None
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            threads = sys.argv[i + 1]
    if threads:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_thread_environment()

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vlm_ref  # noqa: E402  (the float64 reference model; its blocks are dtype-agnostic)


class Rope32:
    """RoPE with float32 cos/sin tables per sequence length (vlm_ref.rope builds float64 ones,
    which would promote the whole decoder to float64)."""

    def __init__(self):
        self.tables = {}

    def __call__(self, x, T):
        hd = x.shape[-1]
        key = (T, hd)
        if key not in self.tables:
            i = torch.arange(hd // 2, dtype=torch.float64)
            theta = 10000.0 ** (-2.0 * i / hd)
            ang = torch.arange(T, dtype=torch.float64)[:, None] * theta[None, :]
            self.tables[key] = (torch.cos(ang).float(), torch.sin(ang).float())
        cos, sin = self.tables[key]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


def _openblas_corename():
    """The core OpenBLAS runs in this process (it reads OPENBLAS_CORETYPE when torch loads it);
    "" if torch's BLAS is not OpenBLAS. dlopen of the loaded library returns its handle."""
    import ctypes
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            fn = ctypes.CDLL(name).openblas_get_corename
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_char_p
        return (fn() or b"").decode()
    return ""


def encode_images(pixels, p, cfg):
    """pixels: uint8 tensor [N, S, S] -> [N, dim], float32 throughout."""
    N, S, _ = pixels.shape
    P = cfg["patch"]
    G = S // P
    x = pixels.float() / 255.0
    patches = x.reshape(N, G, P, G, P).permute(0, 1, 3, 2, 4).reshape(N, G * G, P * P)
    h = vlm_ref.linear(patches, p, "enc.patch") + p["enc.pos"][None]
    for layer in range(cfg["enc_layers"]):
        h = vlm_ref.block(h, p, "enc.%d" % layer, cfg["enc_heads"], causal=False, use_rope=False)
    h = vlm_ref.layer_norm(h, p, "enc.ln")
    pooled = h.reshape(N, -1) if cfg["pool"] == 0 else h.mean(dim=1)
    g = F.gelu(vlm_ref.linear(pooled, p, "proj.fc1"), approximate="tanh")
    return vlm_ref.linear(g, p, "proj.fc2")


def loss_sum(p, cfg, tokens, targets, pixels):
    """Summed cross-entropy over the targets >= 0 of one micro-batch (tokens [B, T])."""
    img = encode_images(pixels, p, cfg)
    is_img = tokens == cfg["image_token"]
    x = p["dec.tok"][tokens]
    x = x.masked_scatter(is_img[..., None].expand_as(x), img)
    for layer in range(cfg["layers"]):
        x = vlm_ref.block(x, p, "dec.%d" % layer, cfg["heads"], causal=True, use_rope=True)
    sel = targets >= 0
    logits = vlm_ref.linear(vlm_ref.layer_norm(x[sel], p, "dec.ln"), p, "dec.head")
    return F.cross_entropy(logits, targets[sel], reduction="sum")


def main():
    ap = argparse.ArgumentParser(description="PyTorch side of micl bench vs-torch")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--warmup", type=int, required=True)
    a = ap.parse_args()
    if a.threads < 1 or a.steps < 1 or a.warmup < 0:
        print("bench_torch.py: bad --threads/--steps/--warmup", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    torch.set_default_dtype(torch.float32)
    vlm_ref.rope = Rope32()  # vlm_ref.attention looks rope up at call time

    with h5py.File(a.input, "r") as f:
        if f.attrs.get("kind") != "micl-bench-input" or int(f.attrs["schema_version"]) != 2:
            print("bench_torch.py: %s is not a micl bench input (schema 1)" % a.input,
                  file=sys.stderr)
            return 1
        cfg = {k: f.attrs[k].item() for k in f.attrs if k != "kind"}
        MB, B, T = cfg["micro_batches"], cfg["seqs"], cfg["T"]
        tokens = torch.from_numpy(f["tokens"][()].astype(np.int64)).reshape(MB, B, T)
        targets = torch.from_numpy(f["targets"][()].astype(np.int64)).reshape(MB, B, T)
        pixels = torch.from_numpy(f["pixels"][()])  # uint8 [MB, N, S, S]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["param_names"][()]]
        decay = f["param_decay"][()]
        params = {n: torch.nn.Parameter(torch.from_numpy(f["params"][n][()].astype(np.float32)))
                  for n in names}

    n_targets = int((targets >= 0).sum())
    if n_targets != cfg["targets_per_step"]:
        print("bench_torch.py: %d targets, the input says %d" % (n_targets,
              cfg["targets_per_step"]), file=sys.stderr)
        return 1
    groups = [{"params": [params[n] for n, d in zip(names, decay) if d],
               "weight_decay": cfg["weight_decay"]},
              {"params": [params[n] for n, d in zip(names, decay) if not d], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]),
                            eps=cfg["eps"])

    losses, times = [], []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        total = 0.0
        for mb in range(MB):
            ls = loss_sum(params, cfg, tokens[mb], targets[mb], pixels[mb])
            (ls / n_targets).backward()
            total += ls.item()
        opt.step()
        dt = time.perf_counter() - t0
        losses.append(total / n_targets)
        if step >= a.warmup:
            times.append(dt)
        if not np.isfinite(losses[-1]):
            print("bench_torch.py: step %d: non-finite loss" % (step + 1), file=sys.stderr)
            return 1

    with micl_h5.create(a.output) as f:
        f.attrs["kind"] = "micl-bench-torch"
        f.attrs["schema_version"] = np.int64(2)
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["threads"] = np.int64(torch.get_num_threads())
        f.attrs["openblas_num_threads"] = os.environ.get("OPENBLAS_NUM_THREADS", "")
        f.attrs["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "")
        f.attrs["openblas_coretype"] = os.environ.get("OPENBLAS_CORETYPE", "")
        f.attrs["openblas_corename"] = _openblas_corename()
        f.attrs["max_rss_kib"] = np.int64(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        micl_h5.dataset(f, "step_s", np.asarray(times, dtype=np.float64))
        micl_h5.dataset(f, "loss", np.asarray(losses, dtype=np.float64))
        micl_h5.seal_all(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
