"""Measure the ORT memory microbenchmarks and fit the ORT memory model's constants.

    PYTHONPATH=. python scripts/ort_memfit.py [--threads 1,2] [--samples 3]
        [--points measurements/ort_memory_synthetic.json] [--reuse] [--write hwspecs/a.yaml,hwspecs/b.yaml]

Networks: the synthetic ones of augur_sim/measure/memfit.py (never the networks of
docs/ACCURACY.md). Each point is the median of `--samples` fresh processes (peak RSS after
session creation, and after the first run). `--reuse` refits the saved points without
measuring. `--write` replaces the fitted constants in the specs' onnxruntime `memory:`
sections (the lines `key: value  # src: ...`), keeping everything else.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augur_sim.fileio import atomic_write_text  # noqa: E402
from augur_sim.engine.runtime_memory import ort_features  # noqa: E402
from augur_sim.frontends.yamlnet import load_yamlnet_text  # noqa: E402
from augur_sim.measure.memfit import MemPoint, bench_nets, fit_ort, measure_points  # noqa: E402

FITTED = ("base_mib", "per_thread_mib", "per_node_kib", "nchwc_weight_copies", "plain_weight_copies",
          "gemm_weight_copies", "transient_copies", "activation_factor", "heap_retained_copies")


def write_consts(path: Path, consts: dict) -> None:
    text = path.read_text()
    for k in FITTED:
        v = consts[k]
        pat = re.compile(rf"^(\s+){k}:\s*[0-9.eE+-]+(\s*#.*)?$", re.M)
        line = f"{k}: {v:.3f}" if k != "per_node_kib" else f"{k}: {v:.2f}"
        m = pat.search(text)
        if m:
            note = (m.group(2) or "# src: mem (fitted)").strip()
            text = text[:m.start()] + m.group(1) + line.ljust(48) + "  " + note + text[m.end():]
        else:
            anchor = re.compile(r"^(\s+)activation_factor:.*$", re.M).search(text) or \
                re.compile(r"^(\s+)nchwc_block:.*$", re.M).search(text)
            if anchor is None:
                raise SystemExit(f"{path}: no onnxruntime memory section to update")
            text = text[:anchor.start()] + anchor.group(1) + line.ljust(48) + "  # src: mem (fitted)\n" + \
                text[anchor.start():]
    atomic_write_text(path, text)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--points", default=str(REPO / "measurements" / "ort_memory_synthetic.json"))
    ap.add_argument("--reuse", action="store_true", help="refit the saved points, measure nothing")
    ap.add_argument("--write", default="", help="comma-separated specs whose memory constants to replace")
    ap.add_argument("--add", default="", help="comma-separated benchmarks to measure and add to the saved points")
    args = ap.parse_args()
    pts_path = Path(args.points)
    if args.add:
        saved = json.loads(pts_path.read_text())
        add = set(args.add.split(","))
        ths = tuple(int(t) for t in args.threads.split(","))
        new_pts = measure_points(ths, args.samples, "full", None, only=add)
        keep = [p for p in saved["points"] if p["name"] not in add]
        saved["points"] = keep + [dataclasses.asdict(p) for p in new_pts]
        atomic_write_text(pts_path, json.dumps(saved, indent=1) + "\n")
        args.reuse = True
    if args.reuse:
        saved = json.loads(pts_path.read_text())
        # The features are the model's view of each network: recompute them with this code.
        nets = {n: load_yamlnet_text(t, file=f"<memory benchmark {n}>") for n, t in bench_nets("full")}
        pts = [dataclasses.replace(MemPoint(**p), features=ort_features(nets[p["name"]], p["threads"]))
               for p in saved["points"]]
    else:
        ths = tuple(int(t) for t in args.threads.split(","))

        def progress(name, th, m):
            print(f"{name:14s} {th}t  creation {m.session_peak_bytes / 2**20:7.1f} MiB  peak "
                  f"{m.peak_bytes / 2**20:7.1f} MiB  spread {m.spread_bytes / 2**20:5.1f}", flush=True)
        pts = measure_points(ths, args.samples, "full", progress)
        atomic_write_text(pts_path, json.dumps({
            "what": "ORT memory microbenchmarks (augur_sim/measure/memfit.py): median of fresh processes",
            "date": dt.date.today().isoformat(), "samples": args.samples,
            "points": [dataclasses.asdict(p) for p in pts]}, indent=1) + "\n")
    fit = fit_ort(pts)
    print(json.dumps(fit.consts, indent=1))
    for k, v in fit.residual_pct.items():
        print(f"  {k:18s} {v:+6.1f}%")
    print(f"fit: median |error| {fit.median_abs_pct:.1f}%, max {fit.max_abs_pct:.1f}% (stacks excluded)")
    for spec in filter(None, args.write.split(",")):
        write_consts(Path(spec), fit.consts)
        print(f"wrote {spec}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
