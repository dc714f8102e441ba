#!/usr/bin/env python3
"""report.py - the one table of tests/gpu/device_checks.sh: each stage's result, the checks of
gpu_check, and the speed of micl's training step beside PyTorch's.

Reads, in the results folder: status.tsv (stage, exit status, seconds; written by the script),
micl_fp32.json and micl_bf16.json (gpu_check --json), torch.json (torch_step.py --json). Any of
them may be missing (a stage that did not run). Prints the table and writes it to table.txt.

Exit status 77 in a stage is a skip: "skipped (no GPU)" with --dry-run, a failure otherwise
(the script decides what fails; this only words it).

Usage: report.py RESULTS_DIR [--dry-run]
"""
import json
import os
import sys

COLUMNS = [("micl", "fp32", "micl fp32"), ("micl", "bf16", "micl bf16"),
           ("torch", "eager-bf16", "torch eager bf16"),
           ("torch", "compiled-bf16", "torch compiled bf16"),
           ("torch", "eager-fp32", "torch eager fp32")]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def stage_word(rc, secs, dry):
    if rc == 0:
        return "ok (%s s)" % secs
    if rc == 77:
        return "skipped (no GPU)" if dry else "FAIL: skipped (no GPU or no module) (%s s)" % secs
    if rc in (124, 137):
        return "FAIL: timed out (%s s)" % secs
    if rc == -1:
        return "FAIL: not run (time budget spent)"
    if rc == -2:
        return "-"
    if rc == -3:
        return "FAIL: not built (build.log)"
    return "FAIL (exit %d, %s s)" % (rc, secs)


def speed_cells(results, micl, torch):
    """{(shape, column label): run record with ms_median and flops}."""
    cells = {}
    for prec in ("fp32", "bf16"):
        for s in (micl.get(prec) or {}).get("speed", []):
            cells[(s["shape"], "micl " + prec)] = dict(s, flops=s["flops_per_step"])
    for sh in (torch or {}).get("shapes", []):
        for r in sh["runs"]:
            label = "torch " + r["mode"].replace("-", " ")
            cells[(sh["shape"], label)] = dict(r, flops=sh["flops_per_step"], shape_rec=sh)
    return cells


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    d, dry = sys.argv[1], "--dry-run" in sys.argv[2:]
    lines = []
    status = []
    try:
        with open(os.path.join(d, "status.tsv")) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 3:
                    status.append((parts[0], int(parts[1]), parts[2]))
    except OSError:
        pass
    micl = {p: load(os.path.join(d, "micl_%s.json" % p)) for p in ("fp32", "bf16")}
    torch = load(os.path.join(d, "torch.json"))
    device = next((m["device"] for m in micl.values() if m), None)
    tdev = torch["device"] if torch else None
    head = "micl device check%s: micl on %s; torch %s on %s" % (
        " (dry run, no GPU)" if dry else "", device or "-",
        torch["torch_version"] if torch else "-", tdev or "-")
    lines.append(head)
    rows = [("check", "result")]
    for name, rc, secs in status:
        rows.append((name, stage_word(rc, secs, dry)))
        prec = name.split(" ")[-1] if name.startswith("gpu_check") else None
        if prec in micl and micl[prec]:
            for c in micl[prec]["checks"]:
                rows.append(("  %s %s" % (c["name"], prec),
                             ("ok: " if c["ok"] else "FAIL: ") + c["detail"]))
    w = max(len(r[0]) for r in rows)
    for a, b in rows:
        lines.append("%-*s | %s" % (w, a, b))

    cells = speed_cells(d, micl, torch)
    shapes = []
    for m in list(micl.values()) + [None]:
        for s in (m or {}).get("speed", []):
            if s["shape"] not in shapes:
                shapes.append(s["shape"])
    for sh in (torch or {}).get("shapes", []):
        if sh["shape"] not in shapes:
            shapes.append(sh["shape"])
    if shapes:
        m0 = next((m for m in micl.values() if m), {})
        pk16, pk32 = m0.get("peak_bf16_tflops", 0), m0.get("peak_fp32_tflops", 0)
        labels = [col[2] for col in COLUMNS]
        lines.append("")
        lines.append("speed: ms/step (median of the timed steps), model TFLOP/s (the FLOP count of "
                     "micl bench step), MFU = TFLOP/s / %s" %
                     ("%g (dense bf16 peak of %s)" % (pk16, device) if pk16 else "peak (card unknown)"))
        width = max(len(lb) for lb in labels)
        rowname = 28

        def row(name, vals):
            lines.append("%-*s | %s" % (rowname, name, " | ".join("%*s" % (width, v) for v in vals)))

        row("speed", labels)
        for shape in shapes:
            anyc = next((cells[(shape, lb)] for lb in labels if (shape, lb) in cells), None)
            desc = shape
            if anyc:
                src = anyc.get("shape_rec", anyc)
                desc = "%s: %dx%dx%d = %d tokens" % (shape, src["micro_batches"], src["seqs"],
                                                    src["T"], src["tokens"])
            lines.append(desc)
            for what in ("ms/step", "TFLOP/s", "MFU"):
                vals = []
                for lb in labels:
                    c = cells.get((shape, lb))
                    if c is None:
                        vals.append("-")
                    elif "skipped" in c:
                        vals.append("skipped")
                    elif what == "ms/step":
                        vals.append("%.2f" % c["ms_median"])
                    else:
                        tf = c["flops"] / (c["ms_median"] * 1e-3) * 1e-12
                        if what == "TFLOP/s":
                            vals.append("%.3g" % tf)
                        else:
                            vals.append("%.1f%%" % (100 * tf / pk16) if pk16 else "n/a")
                row("  " + what, vals)
            fp32 = []
            for lb in ("micl fp32", "torch eager fp32"):
                c = cells.get((shape, lb))
                if c and "skipped" not in c and pk32:
                    tf = c["flops"] / (c["ms_median"] * 1e-3) * 1e-12
                    fp32.append("%s %.1f%%" % (lb, 100 * tf / pk32))
            if fp32:
                lines.append("  MFU of the %g TFLOP/s fp32 peak: %s" % (pk32, ", ".join(fp32)))
        flops = {}
        for (shape, _), c in cells.items():
            flops.setdefault(shape, set()).add(round(c["flops"]))
        bad = [s for s, v in flops.items() if len(v) > 1]
        if bad:
            lines.append("WARNING: micl and torch count different FLOP per step for %s" % bad)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(d, "table.txt"), "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
