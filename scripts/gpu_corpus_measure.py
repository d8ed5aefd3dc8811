"""Time NeuSight-corpus kernel shapes on the GPU at hand, the way the corpus was timed, and
measure PyTorch's GPU memory for the zoo networks. Two steps, on two machines:

    # here, with the corpus beside the repo: pick the shapes (fixed seed), write them down
    python scripts/gpu_corpus_measure.py sample --corpus ../shared/corpora/neusight \
        --out measurements/h200_kernels/shapes.csv

    # on the GPU machine: time them, and measure network memory
    python scripts/gpu_corpus_measure.py measure --shapes measurements/h200_kernels/shapes.csv \
        --out-kernels k.csv --out-memory m.json --nets-dir nets

How the corpus timed (../shared/corpora/SOURCES.md): one op in PyTorch eager mode, fp32
tensors, CUDA events around the op, the mean of the fastest runs, PyTorch's defaults (cuDNN
may use TF32 for fp32 convs on Ampere and later; matmul TF32 off; cudnn.benchmark off). This
script does the same: for each shape, 5 warm-up calls, then REPS calls each between its own
pair of CUDA events, and it records the mean of the fastest third, the median and the minimum.

Which kernels ran is read with torch.profiler in a separate pass (one call per shape), so the
profiler's overhead never touches the timings. Results are written after every section
(atomic replace), so a run cut short still returns what it measured.
"""
from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Columns of the shape file: op, then the corpus' own dimension names.
DIMS = {
    "conv": ["B", "Input_Channel", "Output_Channel", "Kernel_Szie", "Input_Size", "Stride", "Padding"],
    "linear": ["B", "M", "N", "K"],
    "bmm": ["B", "M", "N", "K"],
}
ELEMENTWISE = ["add", "mul", "div", "pow", "addu", "mulu", "divu", "powu", "relu", "gelu", "tanh",
               "softmax", "ln"]
for _op in ELEMENTWISE:
    DIMS[_op] = ["B", "H"]
# How many shapes of each op the sample takes.
PER_OP = {"conv": 150, "linear": 70, "bmm": 70, "softmax": 20, "ln": 20}
PER_ELEMENTWISE = 8
# The sample leaves out shapes over this many FLOPs (conv/linear/bmm): on a ~60 TFLOP/s GPU
# they take longer than ~5 ms each, and a few of them would take the whole device lease.
MAX_FLOPS = 3e11
REPS = 30


def shape_flops(op: str, d: dict) -> float:
    if op == "conv":
        ho = (d["Input_Size"] + 2 * d["Padding"] - d["Kernel_Szie"]) // d["Stride"] + 1
        return 2.0 * d["B"] * d["Output_Channel"] * ho * ho * d["Input_Channel"] * d["Kernel_Szie"] ** 2
    if op in ("linear", "bmm"):
        return 2.0 * d["B"] * d["M"] * d["N"] * d["K"]
    return float(d["B"] * d["H"])


def sample(corpus: Path, out: Path, seed: int) -> None:
    """Shapes measured on every training GPU of their op, stratified by size (FLOPs or
    elements) so small, launch-bound shapes and large ones are both present."""
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(seed)
    rows = []
    for op, cols in DIMS.items():
        n_want = PER_OP.get(op, PER_ELEMENTWISE)
        df = pd.read_csv(corpus / f"{op}.csv.gz", usecols=cols + ["Device"])
        per = df.groupby(cols).Device.nunique().reset_index()
        per = per[per.Device == df.Device.nunique()][cols]
        recs = per.to_dict("records")
        flops = np.array([shape_flops(op, {k: int(v) for k, v in r.items()}) for r in recs])
        keep = flops <= MAX_FLOPS
        recs = [r for r, k in zip(recs, keep) if k]
        flops = flops[keep]
        # equal counts from each of n_want strata of log size
        order = np.argsort(flops, kind="stable")
        strata = np.array_split(order, n_want)
        for s in strata:
            if len(s):
                r = recs[int(rng.choice(s))]
                rows.append({"op": op, **{c: int(r[c]) for c in cols}})
    out.parent.mkdir(parents=True, exist_ok=True)
    allcols = ["op"] + sorted({c for cols in DIMS.values() for c in cols})
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=allcols)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    os.replace(tmp, out)
    print(f"{len(rows)} shapes -> {out}")


def build_call(torch, op: str, d: dict, dev):
    """The op as the corpus ran it: a callable with its tensors already on the device."""
    F = torch.nn.functional
    f32 = torch.float32
    if op == "conv":
        conv = torch.nn.Conv2d(d["Input_Channel"], d["Output_Channel"], d["Kernel_Szie"], d["Stride"],
                               d["Padding"], bias=False).to(dev)
        x = torch.randn(d["B"], d["Input_Channel"], d["Input_Size"], d["Input_Size"], device=dev, dtype=f32)
        return lambda: conv(x)
    if op == "linear":
        lin = torch.nn.Linear(d["N"], d["K"], bias=True).to(dev)
        x = torch.randn(d["B"], d["M"], d["N"], device=dev, dtype=f32)
        return lambda: lin(x)
    if op == "bmm":
        a = torch.randn(d["B"], d["M"], d["N"], device=dev, dtype=f32)
        b = torch.randn(d["B"], d["N"], d["K"], device=dev, dtype=f32)
        return lambda: torch.bmm(a, b)
    x = torch.rand(d["B"], d["H"], device=dev, dtype=f32) + 0.5
    y = torch.rand(d["B"], d["H"], device=dev, dtype=f32) + 0.5
    two = {"add": torch.add, "mul": torch.mul, "div": torch.div, "pow": torch.pow}
    if op in two:
        fn = two[op]
        return lambda: fn(x, y)
    if op.endswith("u") and op[:-1] in two:
        fn = two[op[:-1]]
        return lambda: fn(x, 1.5)
    if op == "relu":
        return lambda: torch.relu(x)
    if op == "gelu":
        return lambda: F.gelu(x)
    if op == "tanh":
        return lambda: torch.tanh(x)
    if op == "softmax":
        return lambda: torch.softmax(x, dim=-1)
    if op == "ln":
        ln = torch.nn.LayerNorm(d["H"]).to(dev)
        return lambda: ln(x)
    raise ValueError(f"unknown op {op!r}")


def event_times_ms(torch, fn, reps: int) -> list[float]:
    from augur_sim.measure.gpuvalidate import cuda_event_times_s
    for _ in range(5):
        fn()
    return [t * 1e3 for t in cuda_event_times_s(torch, fn, reps)]


def write_csv(path: str, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    for r in rows:
        cols += [c for c in r if c not in cols]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def kernel_names(torch, calls) -> list[str]:
    """The longest GPU kernel of one call of each shape, by the profiler; '' where unknown."""
    from torch.profiler import ProfilerActivity, profile
    names = []
    for fn in calls:
        try:
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                fn()
                torch.cuda.synchronize()
            evs = [e for e in prof.events() if getattr(e, "device_type", None) is not None
                   and "CUDA" in str(e.device_type)]
            best = max(evs, key=lambda e: e.device_time_total if hasattr(e, "device_time_total")
                       else e.cuda_time_total, default=None)
            names.append(best.name if best is not None else "")
        except Exception as e:  # the names are extra; a profiler failure must not cost the run
            names.append(f"?{type(e).__name__}")
    return names


def measure_kernels(torch, shapes: list[dict], out: str, budget_s: float, t0: float) -> dict:
    dev = torch.device("cuda")
    rows = []
    for i, s in enumerate(shapes):
        if time.time() - t0 > budget_s:
            print(f"kernel budget reached after {i} shapes", flush=True)
            break
        op = s["op"]
        d = {c: int(s[c]) for c in DIMS[op]}
        row = {"op": op, **d}
        try:
            fn = build_call(torch, op, d, dev)
            with torch.no_grad():
                ms = event_times_ms(torch, fn, REPS)
            ms.sort()
            fastest = ms[: max(1, len(ms) // 3)]
            row.update({"latency_ms": sum(fastest) / len(fastest), "median_ms": statistics.median(ms),
                        "min_ms": ms[0], "max_ms": ms[-1], "reps": len(ms)})
            del fn
        except Exception as e:  # record and go on (e.g. out of memory)
            row["error"] = f"{type(e).__name__}: {e}"[:200]
        rows.append(row)
        if i % 25 == 0:
            write_csv(out, rows)
            torch.cuda.empty_cache()
    write_csv(out, rows)
    return {"rows": len(rows), "errors": sum("error" in r for r in rows)}


def add_kernel_names(torch, out: str, budget_s: float, t0: float) -> None:
    dev = torch.device("cuda")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if time.time() - t0 > budget_s:
            break
        if r.get("error"):
            continue
        d = {c: int(r[c]) for c in DIMS[r["op"]]}
        try:
            fn = build_call(torch, r["op"], d, dev)
            with torch.no_grad():
                fn()
                r["kernel"] = kernel_names(torch, [fn])[0]
            del fn
        except Exception as e:
            r["kernel"] = f"?{type(e).__name__}"
    write_csv(out, rows)


def measure_memory(torch, nets_dir: str, out: str, budget_s: float, t0: float, meta: dict) -> None:
    """Peak allocated and reserved GPU memory of one inference, per net, batch and precision,
    in eager mode and under CUDA-graph capture and replay; each in a clean allocator."""
    from augur_sim.frontends import load_net
    from augur_sim.graph import rebatch
    from augur_sim.measure.torchexec import build_module, random_inputs
    dev = torch.device("cuda")
    res = {**meta, "nets": []}
    files = sorted(Path(nets_dir).glob("*.yaml"))
    for mode in ("eager", "cudagraph"):
        for batch, prec in ((1, "fp32"), (16, "fp32"), (1, "fp16"), (16, "fp16")):
            for f in files:
                if time.time() - t0 > budget_s:
                    res["truncated"] = True
                    break
                e = {"file": f.name, "batch": batch, "precision": prec, "mode": mode}
                try:
                    # The previous entry's module and graph may sit in reference cycles: collect
                    # them first, or their memory is freed in the middle of this entry.
                    gc.collect()
                    torch.cuda.synchronize()
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                    base = torch.cuda.memory_allocated()
                    e["base_allocated_bytes"] = base
                    e["base_reserved_bytes"] = torch.cuda.memory_reserved()
                    g = rebatch(load_net(f), batch)
                    mod = build_module(g, dev, prec)
                    xs = random_inputs(g, dev, prec)
                    torch.cuda.synchronize()
                    e["weights_inputs_allocated_bytes"] = torch.cuda.memory_allocated() - base
                    e["after_build_reserved_bytes"] = torch.cuda.memory_reserved()
                    with torch.inference_mode():
                        if mode == "eager":
                            mod(*xs)
                            torch.cuda.synchronize()
                        else:
                            s = torch.cuda.Stream()
                            s.wait_stream(torch.cuda.current_stream())
                            with torch.cuda.stream(s):
                                mod(*xs)
                            torch.cuda.current_stream().wait_stream(s)
                            torch.cuda.synchronize()
                            e["warmup_peak_allocated_bytes"] = torch.cuda.max_memory_allocated() - base
                            gr = torch.cuda.CUDAGraph()
                            with torch.cuda.graph(gr):
                                mod(*xs)
                            gr.replay()
                            torch.cuda.synchronize()
                            e["after_capture_allocated_bytes"] = torch.cuda.memory_allocated() - base
                            del gr
                    e["peak_allocated_bytes"] = torch.cuda.max_memory_allocated() - base
                    e["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
                    del mod, xs, g
                except Exception as ex:
                    e["error"] = f"{type(ex).__name__}: {ex}"[:300]
                res["nets"].append(e)
                print(f"mem {mode} {f.name} b{batch} {prec}: "
                      f"{e.get('peak_allocated_bytes', e.get('error'))}", flush=True)
            tmp = out + ".tmp"
            with open(tmp, "w") as fh:
                json.dump(res, fh, indent=1)
            os.replace(tmp, out)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--corpus", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    m = sub.add_parser("measure")
    m.add_argument("--shapes", required=True)
    m.add_argument("--out-kernels", required=True)
    m.add_argument("--out-memory")
    m.add_argument("--out-meta", required=True)
    m.add_argument("--nets-dir", default="nets")
    m.add_argument("--skip-kernels", action="store_true", help="network memory only")
    # Budgets in seconds since the start (the names pass: since its own start), so the
    # whole run fits one short device lease.
    m.add_argument("--kernel-budget-s", type=float, default=120.0)
    m.add_argument("--memory-budget-s", type=float, default=260.0)
    m.add_argument("--names-budget-s", type=float, default=50.0)
    a = ap.parse_args()
    if a.cmd == "sample":
        sample(Path(a.corpus), Path(a.out), a.seed)
        return
    import torch
    t0 = time.time()
    p = torch.cuda.get_device_properties(0)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "host": platform.node(),
            "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "gpu": {"name": p.name, "sms": p.multi_processor_count, "mem_bytes": p.total_memory,
                    "cc": f"{p.major}.{p.minor}"},
            "defaults": {"cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
                         "matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                         "cudnn.benchmark": torch.backends.cudnn.benchmark},
            "method": f"eager, fp32, 5 warm-up calls, {REPS} calls each between CUDA events; "
                      "latency_ms = mean of the fastest third"}
    with open(a.shapes, newline="") as f:
        shapes = [] if a.skip_kernels else list(csv.DictReader(f))
    meta["kernels"] = measure_kernels(torch, shapes, a.out_kernels, a.kernel_budget_s, t0)
    meta["kernels_s"] = round(time.time() - t0, 1)
    print(f"kernels done {meta['kernels']} in {meta['kernels_s']} s", flush=True)
    with open(a.out_meta, "w") as fh:
        json.dump(meta, fh, indent=1)
    if a.out_memory:
        measure_memory(torch, a.nets_dir, a.out_memory, a.memory_budget_s, t0, meta)
        meta["memory_s"] = round(time.time() - t0, 1)
    if not a.skip_kernels:
        add_kernel_names(torch, a.out_kernels, a.names_budget_s, time.time())
    meta["total_s"] = round(time.time() - t0, 1)
    with open(a.out_meta, "w") as fh:
        json.dump(meta, fh, indent=1)
    print(f"all done in {meta['total_s']} s", flush=True)


if __name__ == "__main__":
    main()
