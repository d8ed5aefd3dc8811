"""Measure a GPU for augur-sim: microbenchmarks for calibration, and whole networks for
validation, in PyTorch (cuDNN/cuBLAS, eager mode). Writes one JSON file.

    python scripts/gpu_measure.py --out gpu.json [--nets-dir DIR] [--quick]

Run on the machine with the GPU; the fit and the comparison run anywhere afterwards
(scripts/gpu_fit_validate.py), so the GPU is held only while measuring. Partial results
are written after every section, so a run cut short still returns what it measured.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(torch, fn, reps: int, warmup: int = 3) -> list[float]:
    """GPU time of fn() per call, seconds, one CUDA-event pair per rep."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for a, b in evs:
        a.record()
        fn()
        b.record()
    torch.cuda.synchronize()
    return [a.elapsed_time(b) * 1e-3 for a, b in evs]


def graph_timed(torch, fn, reps: int, inner: int = 1) -> list[float]:
    """GPU time per fn() with the host out of the loop: `inner` calls captured in one CUDA
    graph, replayed `reps` times between events. What is left is the GPU's own time."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):  # warm-up on a side stream, as graph capture requires
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(inner):
            fn()
    g.replay()
    torch.cuda.synchronize()
    evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for a, b in evs:
        a.record()
        g.replay()
        b.record()
    torch.cuda.synchronize()
    return [a.elapsed_time(b) * 1e-3 / inner for a, b in evs]


def wall(torch, fn, reps: int, warmup: int = 3) -> list[float]:
    """Wall time per call including host dispatch, synchronising after each call."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append(time.perf_counter() - t)
    return out


def stats(xs):
    xs = sorted(xs)
    return {"median_s": statistics.median(xs), "min_s": xs[0], "max_s": xs[-1], "n": len(xs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--nets-dir", action="append", default=[])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--budget-s", type=float, default=360.0, help="stop network runs after this")
    ap.add_argument("--cudagraph", action="store_true",
                    help="time everything as CUDA-graph replays: the GPU's time without the host")
    args = ap.parse_args()
    t_start = time.time()
    import torch
    import torch.nn.functional as F
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type != "cuda":
        print("no CUDA device; running the same code on the CPU for a dry run", file=sys.stderr)
        torch.cuda.synchronize = lambda: None  # noqa: E731 (dry run only)
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "host": platform.node(),
           "torch": torch.__version__, "cudnn": torch.backends.cudnn.version() if dev.type == "cuda" else None,
           "micro": {}, "nets": []}
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(0)
        res["gpu"] = {"name": p.name, "sms": p.multi_processor_count, "mem_bytes": p.total_memory,
                      "l2_bytes": getattr(p, "L2_cache_size", None), "cc": f"{p.major}.{p.minor}"}
    # "fp32" means true FP32: no TF32 tensor cores (the spec's fp32 rate is the FP32 rate).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    reps = 5 if args.quick else 20

    def save():
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(res, f, indent=1)
        os.replace(tmp, args.out)

    res["mode"] = "cudagraph" if args.cudagraph else "eager"

    def run_event(fn):
        if args.cudagraph and dev.type == "cuda":
            return stats(graph_timed(torch, fn, reps, inner=10))
        return stats(timed(torch, fn, reps)) if dev.type == "cuda" else stats(wall(torch, fn, 2, 1))

    # --- microbenchmarks -----------------------------------------------------------------
    dts = {"fp32": torch.float32, "fp16": torch.float16}
    mm_shapes = [(m, n, k) for m in (64, 512, 4096) for n in (64, 512, 4096) for k in (64, 512, 4096)]
    mm_shapes += [(8192, 8192, 8192), (1000, 1, 4096), (4096, 1, 4096), (4096, 8, 4096), (4096, 32, 4096)]
    if args.quick:
        mm_shapes = mm_shapes[:4]
    micro = res["micro"]
    micro["matmul"] = []
    for prec, dt in dts.items():
        for m, n, k in mm_shapes:
            a = torch.randn(m, k, device=dev, dtype=dt)
            b = torch.randn(k, n, device=dev, dtype=dt)
            micro["matmul"].append({"precision": prec, "M": m, "N": n, "K": k, **run_event(lambda a=a, b=b: a @ b)})
            del a, b
    save()
    conv_shapes = [  # (batch, cin, h, cout, k, stride, groups)
        (1, 3, 224, 64, 7, 2, 1), (1, 64, 56, 64, 3, 1, 1), (1, 64, 56, 256, 1, 1, 1),
        (1, 256, 56, 64, 1, 1, 1), (1, 128, 28, 128, 3, 1, 1), (1, 256, 14, 256, 3, 1, 1),
        (1, 512, 7, 512, 3, 1, 1), (1, 1024, 14, 256, 1, 1, 1), (1, 32, 112, 32, 3, 1, 32),
        (1, 144, 56, 144, 3, 2, 144), (1, 960, 7, 960, 3, 1, 960), (1, 128, 56, 128, 3, 1, 32),
        (32, 64, 56, 64, 3, 1, 1), (32, 256, 14, 256, 3, 1, 1), (32, 1024, 14, 256, 1, 1, 1),
        (32, 144, 56, 144, 3, 2, 144), (8, 512, 28, 128, 1, 1, 1), (8, 3, 224, 64, 7, 2, 1),
    ]
    if args.quick:
        conv_shapes = conv_shapes[:3]
    micro["conv"] = []
    for prec, dt in dts.items():
        for (n, cin, h, cout, k, s, g) in conv_shapes:
            x = torch.randn(n, cin, h, h, device=dev, dtype=dt)
            w = torch.randn(cout, cin // g, k, k, device=dev, dtype=dt)
            micro["conv"].append({"precision": prec, "batch": n, "cin": cin, "h": h, "cout": cout, "k": k,
                                  "stride": s, "groups": g, "pad": k // 2,
                                  **run_event(lambda x=x, w=w, s=s, k=k, g=g: F.conv2d(x, w, None, s, k // 2, 1, g))})
    save()
    micro["stream"] = []
    for prec, dt in dts.items():
        for n in ((1 << 16), (1 << 20), (1 << 24), (1 << 28)) if not args.quick else ((1 << 20),):
            x = torch.randn(n, device=dev, dtype=dt)
            y = torch.randn(n, device=dev, dtype=dt)
            o = torch.empty_like(x)
            eb = x.element_size()
            micro["stream"].append({"precision": prec, "op": "copy", "elems": n, "bytes": 2 * n * eb,
                                    **run_event(lambda o=o, x=x: o.copy_(x))})
            micro["stream"].append({"precision": prec, "op": "add", "elems": n, "bytes": 3 * n * eb,
                                    **run_event(lambda x=x, y=y, o=o: torch.add(x, y, out=o))})
            micro["stream"].append({"precision": prec, "op": "relu", "elems": n, "bytes": 2 * n * eb,
                                    **run_event(lambda x=x: torch.relu(x))})
            del x, y, o
        for (n, c, h) in ((1, 64, 112), (32, 64, 112), (1, 256, 56)):
            x = torch.randn(n, c, h, h, device=dev, dtype=dt)
            micro["stream"].append({"precision": prec, "op": "maxpool3s2", "elems": x.numel(),
                                    "bytes": x.numel() * x.element_size() * 5 // 4,
                                    **run_event(lambda x=x: F.max_pool2d(x, 3, 2, 1))})
    save()
    # Host-side dispatch: many tiny ops back to back, wall time per op.
    x = torch.randn(8, device=dev)
    def tiny():
        for _ in range(200):
            torch.relu(x)
    w = wall(torch, tiny, 10 if not args.quick else 2)
    micro["dispatch"] = {"per_op_s": statistics.median(w) / 200, "min_per_op_s": min(w) / 200}
    save()
    print(f"micro done in {time.time() - t_start:.1f}s", flush=True)

    # --- whole networks -------------------------------------------------------------------
    from augur_sim.frontends import load_net
    from augur_sim.graph import rebatch
    from augur_sim.measure.torchexec import build_module, random_inputs
    files = []
    for d in args.nets_dir:
        files += sorted(Path(d).glob("*.yaml")) + sorted(Path(d).glob("*.prototxt"))
    configs = [(1, "fp32"), (1, "fp16"), (16, "fp16"), (16, "fp32")]
    if args.quick:
        configs = configs[:1]
    for batch, prec in configs:
        for f in files:
            if time.time() - t_start > args.budget_s:
                res["truncated"] = True
                break
            entry = {"file": f.name, "batch": batch, "precision": prec}
            try:
                g = rebatch(load_net(f), batch)
                mod = build_module(g, dev, prec)
                xs = random_inputs(g, dev, prec)
                with torch.inference_mode():
                    nreps = reps if batch == 1 else max(5, reps // 2)
                    if args.cudagraph and dev.type == "cuda":
                        entry.update({"gpu": stats(graph_timed(torch, lambda mod=mod, xs=xs: mod(*xs), nreps))})
                        res["nets"].append(entry)
                        print(f"{f.name} b{batch} {prec}: {entry['gpu']}", flush=True)
                        save()
                        del mod, xs
                        continue
                    entry.update({"gpu": stats(timed(torch, lambda mod=mod, xs=xs: mod(*xs), nreps, warmup=3))
                                  if dev.type == "cuda" else None,
                                  "wall": stats(wall(torch, lambda mod=mod, xs=xs: mod(*xs), nreps, warmup=2))})
                    if batch == 1 and dev.type == "cuda":
                        # Per layer: CUDA events between layers (no synchronisation inside).
                        marks = []
                        def hook(name, when, marks=marks):
                            ev = torch.cuda.Event(enable_timing=True)
                            ev.record()
                            marks.append((name, when, ev))
                        per = {}
                        mod.hook = hook
                        for _ in range(5):
                            marks.clear()
                            mod(*xs)
                            torch.cuda.synchronize()
                            for i in range(0, len(marks), 2):
                                name, _, a = marks[i]
                                _, _, b = marks[i + 1]
                                per.setdefault(name, []).append(a.elapsed_time(b) * 1e-3)
                        mod.hook = None
                        entry["layers"] = {k: statistics.median(v) for k, v in per.items()}
                del mod, xs
            except Exception as e:  # record and go on: one unsupported net must not cost the run
                entry["error"] = f"{type(e).__name__}: {e}"
            res["nets"].append(entry)
            print(f"{f.name} b{batch} {prec}: {entry.get('gpu') or entry.get('error')}", flush=True)
            save()
        torch.cuda.empty_cache() if dev.type == "cuda" else None
    res["elapsed_s"] = time.time() - t_start
    save()


if __name__ == "__main__":
    main()
