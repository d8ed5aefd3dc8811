"""The ncnn CPU model against ncnn timed on a machine the fit never saw: this project's own VM.

    python scripts/ncnn_host_accuracy.py [--doc docs/ACCURACY_NCNN_HOST.md]

Reads measurements/ncnn_host/*.csv (written by scripts/ncnn_host_measure.py: benchncnn's networks
under a current ncnn release, timed as benchncnn times them) and the machine's spec (--spec, by
default hwspecs/host_epyc_zen4_kvm2c.yaml), predicts every row with
`augur estimate --runtime ncnn` (the corpus fit, measurements/ncnn/fit.yaml, untouched), and writes
the page: the error per thread count and network, whether the measured time fell inside the
range the estimate reported, int8 against float, and which thread count and which network the
predictions put first. Nothing here is fitted.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from augur_sim.estimator import estimate  # noqa: E402
from augur_sim.fileio import atomic_write_text  # noqa: E402
from augur_sim.frontends.ncnn import BENCHNCNN_INPUT_SHAPES  # noqa: E402
from augur_sim.hw import load_hw  # noqa: E402
from augur_sim.measure import ncnn_accuracy as A  # noqa: E402

MEASURED = REPO / "measurements" / "ncnn_host"
SPEC = REPO / "hwspecs" / "host_epyc_zen4_kvm2c.yaml"


def timing_files() -> list[Path]:
    """The timing sittings at ncnn's default options."""
    return sorted(f for f in MEASURED.glob("*.csv") if "_memory" not in f.stem and "_nowinograd" not in f.stem)


def timing_nowinograd_files() -> list[Path]:
    """Timings with ncnn's Winograd convolutions off (`--no-winograd`)."""
    return sorted(f for f in MEASURED.glob("*_nowinograd.csv") if "_memory" not in f.stem)


def predict_ms(models: Path, spec, model: str, threads: int, winograd: bool) -> float:
    """The ncnn estimate's time of a network, with ncnn's Winograd convolutions on or off
    (evaluate.ncnn_costs: the kernels' times, which `augur estimate --runtime ncnn` sums)."""
    from augur_sim.conventions import DEFAULT
    from augur_sim.engine.ncnn_params import load_fit
    from augur_sim.evaluate import ncnn_costs
    from augur_sim.frontends import load_net
    graph = load_net(str(models / f"{model}.param"), input_shape=BENCHNCNN_INPUT_SHAPES[model])
    proc = next(p for p in spec.processors.values() if p.kind == "cpu")
    nc = ncnn_costs(graph, proc, "big", threads, DEFAULT, load_fit(), winograd)
    return float(nc.costs[:, 0].sum() * 1e3)


def winograd_time_lines(on: dict, off: list[dict], models: Path, spec) -> list[str]:
    """What Winograd saves: each network's time with it off over its time with it on (`on`: per_run of
    the default sittings), measured and as the model prices the fallback."""
    rows = []
    for r in off:
        k = (r["model"], r["threads"])
        if k not in on:
            continue
        p_on = predict_ms(models, spec, r["model"], int(r["threads"]), True)
        p_off = predict_ms(models, spec, r["model"], int(r["threads"]), False)
        if p_off == p_on:
            continue  # no Winograd conv: nothing to compare
        rows.append((r["model"], r["threads"], float(r["avg_ms"]) / on[k][0], p_off / p_on, float(r["avg_ms"]), p_off))
    if not rows:
        return []
    m = np.array([x[2] for x in rows])
    p = np.array([x[3] for x in rows])
    s = A.stats(np.array([x[5] for x in rows]), np.array([x[4] for x in rows]))
    L = ["## What Winograd saves", "",
         "The networks with Winograd convs timed again with ncnn's Winograd switched off "
         "(`Option::use_winograd_convolution = false`, "
         f"{', '.join(f'`{f.relative_to(REPO)}`' for f in timing_nowinograd_files())}; "
         "their 3x3 convs then run the packed im2col GEMM, or the direct packed kernels when narrow): the time "
         "off over the time on (each run's mean over the default sittings), measured and as the model prices "
         "the fallback (the same estimate with those convs on the GEMM path). "
         f"Over {len(rows)} runs: measured {np.median(m):.2f}x at the median, predicted {np.median(p):.2f}x; "
         f"the model says Winograd helps for {int(np.sum(p > 1))} of them, the measurements for "
         f"{int(np.sum(m > 1))}. The times with Winograd off themselves: median |error| "
         f"{s['median_abs_pct']:.0f}%, {100 * s['within_35']:.0f}% within 35%.", "",
         "| network | threads | off / on, measured | off / on, predicted | measured ms off | predicted ms off |",
         "|---|---|---|---|---|---|"]
    L += [f"| {a} | {t} | {x:.2f} | {y:.2f} | {mo:.2f} | {po:.2f} |" for a, t, x, y, mo, po in sorted(rows)]
    return L + [""]


def read_timings(files: list[Path]) -> list[dict]:
    """The timing rows of `files`, each with its sitting (the file's stem: one run of the script)."""
    return [{**r, "sitting": f.stem} for f in files for r in csv.DictReader(f.open())]


def per_run(res: list[dict]) -> dict:
    """(model, threads) -> (geometric mean of the measured times over the sittings, prediction)."""
    by: dict = {}
    for r in res:
        by.setdefault((r["model"], r["threads"]), []).append(r)
    return {k: (float(np.exp(np.mean([np.log(r["meas_ms"]) for r in v]))), v[0]["pred_ms"]) for k, v in by.items()}


def memory_files() -> list[Path]:
    return sorted(MEASURED.glob("*_memory.csv"))


def nowinograd_files() -> list[Path]:
    return sorted(MEASURED.glob("*_memory_nowinograd.csv"))


def winograd_growth(models: Path, spec, model: str, threads: int) -> float:
    """The bytes the model adds for the Winograd convs of a network (their transformed kernels
    over the kernels as stored: gpu_memory.NCNN_KERNEL_GROWTH), at the algorithms its ncnn
    estimate chose."""
    from augur_sim.engine.gpu_memory import _ncnn_weight_bytes
    from augur_sim.frontends import load_net
    est = estimate(str(models / f"{model}.param"), spec, runtime="ncnn", threads=threads, cores="big",
                   input_shape=BENCHNCNN_INPUT_SHAPES[model])
    graph = load_net(str(models / f"{model}.param"), input_shape=BENCHNCNN_INPUT_SHAPES[model])
    eb = est.assumptions["ncnn"]["activation_bytes"]
    algos = est.assumptions["ncnn"]["algorithms"]
    return float(_ncnn_weight_bytes(graph, eb, algos) - _ncnn_weight_bytes(graph, eb, None))


def winograd_lines(on: list[dict], off: list[dict], models: Path, spec) -> list[str]:
    """The measured peak with Winograd on less the same with it off, beside the model's growth."""
    by = {(r["model"], r["threads"]): r for r in on}
    rows = []
    for r in off:
        a = by.get((r["model"], r["threads"]))
        if a is None:
            continue
        g = winograd_growth(models, spec, r["model"], int(r["threads"]))
        if g > 0:
            rows.append((r["model"], r["threads"], (int(a["delta_bytes"]) - int(r["delta_bytes"])) / 2**20, g / 2**20))
    if not rows:
        return []
    ratio = np.median([m / p for _, _, m, p in rows if p > 0])
    L = ["## What a Winograd conv's kernel takes", "",
         "The same peaks with ncnn's Winograd convolutions switched off (`Option::use_winograd_convolution = false`, "
         f"{', '.join(f'`{f.relative_to(REPO)}`' for f in nowinograd_files())}): the difference is what the "
         "transformed kernels take over the kernels the fallback (packed sgemm) keeps, beside the bytes the model "
         "adds for them (`NCNN_KERNEL_GROWTH`, at the algorithm its estimate chose per conv). Over the "
         f"{len(rows)} networks with Winograd convs the measured difference is {ratio:.2f}x the model's at the "
         "median: the rule's direction and size hold; a ratio under 1 would be the fallback's packed kernel "
         "itself outgrowing the stored one, or ncnn choosing a smaller tile than the model.", "",
         "| network | threads | measured, Winograd on less off, MiB | model's transformed-kernel growth, MiB |",
         "|---|---|---|---|"]
    L += [f"| {m} | {t} | {d:.1f} | {g:.1f} |" for m, t, d, g in sorted(rows)]
    return L + [""]


def predict_memory(rows, models: Path, spec) -> list[dict]:
    """Each measured peak (a fresh process' resident high-water mark over its baseline) beside the
    headline peak of `augur estimate --runtime ncnn` (ncnn's memory model) and its terms."""
    out = []
    for r in rows:
        est = estimate(str(models / f"{r['model']}.param"), spec, runtime="ncnn", threads=int(r["threads"]),
                       cores="big", input_shape=BENCHNCNN_INPUT_SHAPES[r["model"]])
        out.append({**r, "pred_bytes": est.total.peak_memory_bytes, "meas_bytes": int(r["delta_bytes"]),
                    "terms": {k: v for k, v, _ in est.runtime_memory.terms},
                    "int8": r["model"].endswith("_int8")})
    return out


def memory_lines(mem: list[dict], files: list[Path]) -> list[str]:
    pred = np.array([r["pred_bytes"] for r in mem], dtype=float)
    meas = np.array([r["meas_bytes"] for r in mem], dtype=float)
    first = mem[0]
    L = ["## Peak memory", "",
         f"Measured: {', '.join(f'`{f.relative_to(REPO)}`' for f in files)} (each network loaded and run twice "
         f"in a fresh process, the resident set's high-water mark over the process' baseline after importing "
         f"ncnn, the median of {first['samples']} processes: `scripts/ncnn_host_measure.py --memory-out`). "
         "Predicted: the headline peak of the same estimates, ncnn's memory model (blob allocator peak in light "
         "mode, the weights each layer keeps after create_pipeline, a Winograd conv's transformed kernel and a "
         "quantised kernel in int8 among them, the largest per-layer workspace, 2 MiB of library objects).",
         "", A.STATS_HEAD.format("runs"), A.STATS_SEP]
    for name, m in (("all", np.ones(len(mem), bool)),
                    ("float networks", np.array([not r["int8"] for r in mem])),
                    ("int8 networks", np.array([r["int8"] for r in mem]))):
        if m.any():
            L.append(A.stats_row(name, A.stats(pred[m], meas[m])))
    L += ["", "The quantised networks are read, as benchncnn reads them, with empty weights. ncnn's loader "
          "takes a weight blob whose type flag is zero for raw fp32 (src/modelbin.cpp, "
          "ModelBinFromDataReader::load), so each int8 kernel arrives as fp32, and the layer quantises it when "
          "it is built (create_pipeline of src/layer/convolution.cpp, convolutiondepthwise.cpp, "
          "innerproduct.cpp: \"runtime quantize the weight data\" when the kernel's elements are 4 bytes): the "
          "fp32 kernels pass through memory on the way, and the process peaks above what the int8 kernels it "
          "keeps take. The model counts what is kept, what a real `_int8` model's weights (int8 blobs) cost; "
          "the int8 rows read low for that reason.", "",
          "| network | threads | measured MiB | predicted MiB | error | weights MiB | blobs MiB | workspace MiB |",
          "|---|---|---|---|---|---|---|---|"]
    for r in sorted(mem, key=lambda r: (r["model"], int(r["threads"]))):
        t = r["terms"]
        L.append(f"| {r['model']} | {r['threads']} | {r['meas_bytes'] / 2**20:.1f} | {r['pred_bytes'] / 2**20:.1f} | "
                 f"{100 * (r['pred_bytes'] / r['meas_bytes'] - 1):+.0f}% | {t['weights'] / 2**20:.1f} | "
                 f"{t['blobs'] / 2**20:.1f} | {t['workspace'] / 2**20:.1f} |")
    return L + [""]


def predict(rows, models: Path, spec) -> list[dict]:
    out = []
    for r in rows:
        # benchncnn's input, as the corpus rows are predicted (two files declare none).
        est = estimate(str(models / f"{r['model']}.param"), spec, runtime="ncnn", threads=int(r["threads"]),
                       cores="big", input_shape=BENCHNCNN_INPUT_SHAPES[r["model"]])
        ee = est.assumptions["expected_error"]
        out.append({**r, "pred_ms": est.total.time_s * 1e3, "meas_ms": float(r["avg_ms"]),
                    "band": tuple(ee["range_ms"]) if ee.get("available") else None,
                    "int8": r["model"].endswith("_int8")})
    return out


def lines(res: list[dict], files: list[Path], spec, elapsed: float) -> list[str]:
    pred = np.array([r["pred_ms"] for r in res])
    meas = np.array([r["meas_ms"] for r in res])
    first = res[0]
    L = ["# The ncnn CPU model on a machine it never saw: this project's VM", "",
         "<!-- generated by scripts/ncnn_host_accuracy.py; do not edit by hand -->",
         f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `scripts/ncnn_host_accuracy.py` in "
         f"{elapsed:.1f} s. Measured: {', '.join(f'`{f.relative_to(REPO)}`' for f in files)} (ncnn "
         f"{first['ncnn_version']} from its Python package, benchncnn's networks and inputs, empty weights, "
         f"light mode, the average of {first['runs']} timed runs after warm-up: scripts/ncnn_host_measure.py; "
         f"{first['cpu']}; sittings {', '.join(sorted({r['date_utc'] for r in res}))} UTC). "
         f"Predicted: `augur estimate NET.param --hw {spec.name} "
         "--runtime ncnn --threads T` from the spec alone (its clock measured, its caches read from the OS, its "
         "DRAM bandwidth from `augur calibrate`) and the corpus fit `measurements/ncnn/fit.yaml`, which has no "
         "row of this machine, of a Zen 4 core, or of this ncnn release; nothing on this page is fitted. "
         "Error = predicted / measured - 1.", "",
         "A device the fit never saw, of a core design it never saw (Zen 4: the fit knows Zen, Zen 2 and "
         "Zen 3 from one device each), measured with a newer ncnn than most of the corpus: the case of the "
         "corpus' held-out devices whose design no other device has (docs/ACCURACY_NCNN.md: 29% median there).",
         "", A.STATS_HEAD.format("runs"), A.STATS_SEP]
    for name, m in (("all", np.ones(len(res), bool)),
                    *((f"{t} thread{'s' if t > 1 else ''}", np.array([r["threads"] == str(t) for r in res]))
                      for t in sorted({int(r["threads"]) for r in res})),
                    ("float networks", np.array([not r["int8"] for r in res])),
                    ("int8 networks", np.array([r["int8"] for r in res]))):
        if m.any():
            L.append(A.stats_row(name, A.stats(pred[m], meas[m])))
    runs = per_run(res)
    sittings = sorted({r["sitting"] for r in res})
    if len(sittings) > 1:
        spread = []
        for k in runs:
            ms = [r["meas_ms"] for r in res if (r["model"], r["threads"]) == k]
            if len(ms) > 1:
                spread.append(max(ms) / min(ms) - 1)
        L += ["", f"The machine's own repeatability: {len(sittings)} sittings of the same runs differ by "
              f"{100 * np.median(spread):.0f}% at the median and by up to {100 * max(spread):.0f}% ({len(spread)} "
              "runs measured in each); the rows above count each sitting, the figures below use each run's "
              "geometric mean over the sittings."]
    banded = [r for r in res if r["band"]]
    inside = [r["band"][0] <= r["meas_ms"] <= r["band"][1] for r in banded]
    L += ["", f"The range each estimate reported (the 80% band of held-out runs like it, "
          f"`expected error` in `augur estimate`): {sum(inside)} of {len(banded)} measured times fell inside "
          f"({100 * np.mean(inside):.0f}%; nominal 80%)."]
    # Which network is faster on this machine (one thread count), and with this machine's own scale out.
    ks = sorted(runs)
    keys = [t for _, t in ks]
    nets = [m for m, _ in ks]
    mm = np.array([runs[k][0] for k in ks])
    pp = np.array([runs[k][1] for k in ks])
    n, ok = A.pairwise_order(keys, nets, pp, mm)
    rel = A.scale_removed(keys, pp, mm)
    s = A.stats(rel, mm)
    L += ["", f"Which of two networks runs faster here (same thread count): {ok} of {n} pairs ordered as measured "
          f"({100 * ok / max(n, 1):.1f}%). With each thread count's own scale divided out (its median predicted / "
          f"measured): median |error| {s['median_abs_pct']:.1f}%, {100 * s['within_35']:.0f}% within 35%."]
    # int8 against float on the same thread count: the x86 question of docs/ACCURACY_NCNN.md.
    by = {k: {"meas_ms": v[0], "pred_ms": v[1]} for k, v in runs.items()}
    pairs = [(by[(m, t)], by[(m[:-5], t)]) for m, t in by if m.endswith("_int8") and (m[:-5], t) in by]
    if pairs:
        mi = np.median([a["meas_ms"] / b["meas_ms"] for a, b in pairs])
        pi = np.median([a["pred_ms"] / b["pred_ms"] for a, b in pairs])
        L += ["", f"int8 against float (the `_int8` network over its float original, same threads, {len(pairs)} "
              f"pairs): measured {mi:.2f}x at the median, predicted {pi:.2f}x. The corpus' x86 sections measured "
              "0.7-1.0x on recent ncnn releases and 1.5-3.2x on older ones (docs/ACCURACY_NCNN.md, \"x86: int8 "
              "against float time\"): this release on a VNNI core is the recent behaviour."]
    # Threads: is 2 faster than 1, by how much, measured and predicted.
    ts = sorted({int(r["threads"]) for r in res})
    if len(ts) > 1:
        sp_m, sp_p = [], []
        for m in sorted({r["model"] for r in res}):
            if all((m, str(t)) in by for t in ts[:2]):
                a, b = by[(m, str(ts[0]))], by[(m, str(ts[1]))]
                sp_m.append(a["meas_ms"] / b["meas_ms"])
                sp_p.append(a["pred_ms"] / b["pred_ms"])
        agree = sum((x > 1) == (y > 1) for x, y in zip(sp_m, sp_p))
        names = sorted({r["model"] for r in res})
        slower = [f"{m} {x:.2f}x" for m, x in zip(names, sp_m) if x < 1]
        big = max(sp_m)
        L += ["", f"Speed-up from {ts[0]} to {ts[1]} threads ({len(sp_m)} networks): measured {np.median(sp_m):.2f}x "
              f"at the median ({min(sp_m):.2f}-{max(sp_m):.2f}x), predicted {np.median(sp_p):.2f}x "
              f"({min(sp_p):.2f}-{max(sp_p):.2f}x); the faster thread count predicted right for {agree} of "
              f"{len(sp_m)}. The largest networks gain up to {big:.2f}x, so the two vCPUs are two cores rather than "
              f"one core's two SMT threads; {len(slower)} networks ran slower on {ts[1]} threads than on {ts[0]} "
              f"({', '.join(slower)}), small networks most: the cost of waking and synchronising the second vCPU at "
              "every layer, larger here than on the corpus' machines (its cloud VMs included: the AWS c5 and Azure "
              "D64s/D64ps v6 sections), whose fitted per-thread costs predict "
              + ("every network faster on two threads." if min(sp_p) > 1 else "few such slowdowns.")]
    L += ["", "| network | threads | measured ms | predicted ms | error | inside the reported range | sitting |",
          "|---|---|---|---|---|---|---|"]
    for r in sorted(res, key=lambda r: (r["model"], int(r["threads"]), r["sitting"])):
        band = "" if not r["band"] else ("yes" if r["band"][0] <= r["meas_ms"] <= r["band"][1] else
                                         f"no ({r['band'][0]:.1f}-{r['band'][1]:.1f})")
        L.append(f"| {r['model']} | {r['threads']} | {r['meas_ms']:.2f} | {r['pred_ms']:.2f} | "
                 f"{100 * (r['pred_ms'] / r['meas_ms'] - 1):+.0f}% | {band} | {r['sitting']} |")
    return L + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--doc", default=str(REPO / "docs" / "ACCURACY_NCNN_HOST.md"))
    ap.add_argument("--spec", default=str(SPEC))
    ap.add_argument("--models", default=str(REPO.parent / "shared" / "corpora" / "ncnn" / "models"))
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    files = timing_files()
    if not files:
        print(f"no measurements in {MEASURED}", file=sys.stderr)
        return 2
    rows = read_timings(files)
    spec = load_hw(args.spec)
    res = predict(rows, Path(args.models), spec)
    text = lines(res, files, spec, time.monotonic() - t0)
    off_t = read_timings(timing_nowinograd_files())
    if off_t:
        text += winograd_time_lines(per_run(res), off_t, Path(args.models), spec)
    mfiles = memory_files()
    if mfiles:
        mem = predict_memory([r for f in mfiles for r in csv.DictReader(f.open())], Path(args.models), spec)
        text += memory_lines(mem, mfiles)
        off = [r for f in nowinograd_files() for r in csv.DictReader(f.open())]
        if off:
            text += winograd_lines([r for f in mfiles for r in csv.DictReader(f.open())], off, Path(args.models), spec)
    atomic_write_text(args.doc, "\n".join(text))
    s = A.stats([r["pred_ms"] for r in res], [r["meas_ms"] for r in res])
    print(f"wrote {args.doc}: {s['n']} runs, median |error| {s['median_abs_pct']:.1f}%, "
          f"{100 * s['within_35']:.0f}% within 35%", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
