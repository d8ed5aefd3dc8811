"""Produce docs/ACCURACY_NCNN_VULKAN.md and measurements/ncnn/vulkan_fit.yaml: every Vulkan (GPU)
row of the benchncnn corpus predicted by the ncnn-vulkan model.

    PYTHONPATH=. python scripts/accuracy_ncnn_vulkan.py [--out docs/ACCURACY_NCNN_VULKAN.md] [--no-loo]

Inputs: ../shared/corpora/ncnn (or $AUGUR_SHARED/corpora/ncnn): benchncnn_train.csv and the .param
files; measurements/ncnn/devices.csv (gpu_processor column: section -> GPU spec); the specs.
Two predictions per row: fitted on every weighted training row (in-sample; the parameters written
to measurements/ncnn/vulkan_fit.yaml), and leave-one-device-out (each device section's GPU
predicted by a cold-started fit without its rows). Held-back devices have no rows here.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augur_sim.engine.ncnn_vulkan import VK_ALGO_NAMES, VK_PARAM_DOC, VK_PARAM_NAMES, V_ALGO  # noqa: E402
from augur_sim.engine.held_out import VK_FIELDS, VK_LEVELS, vk_key  # noqa: E402
from augur_sim.engine.ncnn_vulkan import VH_DISCRETE  # noqa: E402
from augur_sim.measure import ncnn_accuracy as A  # noqa: E402
from augur_sim.measure.machine import machine_info, machine_label  # noqa: E402
from augur_sim.fileio import atomic_write_text  # noqa: E402
from augur_sim.measure.held_out import (MIN_DEVICES, MIN_ROWS, anchored_band_coverage,  # noqa: E402
                                        band_inside, fit_band_stretch, loo_band_quantiles, summarise,
                                        write_held_out)
from augur_sim.measure.ncnn_corpus import load_corpus  # noqa: E402
from augur_sim.measure.ncnn_vulkan_fit import (HUBER_LOG, RIDGE_CLASS, RIDGE_KIND, build_vk_table, fit,  # noqa: E402
                                               load_gpu_devices, loo, predict_fit, write_vk_fit)

# Sections with Vulkan rows that have no GPU spec, and why (the table's skip reasons say which rows).
NOT_MODELLED = {
    "Ingenic T40XP": "no Vulkan GPU on this SoC: its gpu_device=0 rows run on the CPU (ncnn falls back when no "
                     "Vulkan device exists); they are CPU rows mislabelled",
    "AXERA AX620A": "no Vulkan GPU on this SoC (as above: CPU runs)",
    "iPhone 5S": "Apple A7's PowerVR G6430 through MoltenVK: no sourced shader figures, and the times (260 ms for "
                 "squeezenet) look like CPU runs",
}

# Parameters the model had and no longer has, with the figures that decided it (measured with the
# model as it was then; engine/ncnn_vulkan.py's docstring points here).
DROPPED = (
    "`submit_us` (a fixed cost per inference: upload, submit, fence wait, download): every fit drove it to "
    "zero (3.8e-5 us from a 300 us start); the corpus' networks have tens to hundreds of dispatches each and "
    "the fitted per-dispatch cost carries the one submission. With it 36.0% / 49%; 33% / 53%; without "
    "35.9% / 49%; 32.8% / 53%.",
    "`fill_items_per_lane` (a layer with few shader invocations fills a large GPU partly: fill = items / (items "
    "+ f x lanes), f fitted per class, 2.6-5.1): it improved the in-sample fit by 0.4 points and cost 1.1 "
    "held out: with it 35.9% / 49%; 32.8% / 53%; without (every layer at its class's efficiency) 34.8% / 50%; "
    "32.8% / 54%. Also tried, nothing fitted: the hard bound fill = min(1, invocations / FP32 lanes) (one "
    "invocation per SIMD lane): 35.1% / 50%; 32.5% / 54%, with eff_innerproduct pushed to its bound 1 "
    "(ncnn's InnerProduct shaders split one output's sum over several invocations). Not kept: no better "
    "held out than nothing.",
    "`eff_direct` (an efficiency of its own for the generic direct convolution shader: the stems and narrow "
    "convs): not pinned by the corpus (one such conv per network, 0-5% of its time); the fit drove it to its "
    "bound 1 in every class, a per-network knob for the four networks with 7x7 and 11x11 stems, and stalled "
    "there (rms of log error 0.4517). Fixed instead of fitted (shared value, no class factors), the fit's rms "
    "was 0.4806 at 0.02, 0.4579 at 0.05, 0.4531 at 0.1, 0.4517 at 0.2, 0.4510 at 0.5, 0.4507 at 1.0. With it "
    "34.3% / 51%; 31.4% / 55%; the direct shader at the depthwise shaders' efficiency 34.0% / 51%; 31.2% / "
    "56% (rms 0.4491); at the GEMM shaders' (`eff_gemm`, kept) 33.9% / 52%; 31.0% / 56% (rms 0.4477).",
    "`eff_innerproduct` (InnerProduct's matrix-vector product on one row): bound no corpus row after the "
    "first iterations (1 FLOP per byte of weight against 3-81 FLOP per byte of shader peak over bandwidth), "
    "so it stayed at 0.109 in every class, unconstrained; setting it to 1 changes no prediction of that fit. "
    "Its arithmetic is now priced at the shader peak, its time is the weights' stream. Fixed lower instead "
    "(shared value, no class factors) the fit's rms was 0.4986 at 0.003, 0.4580 at 0.01, 0.4538 at 0.02, "
    "0.4514 at 0.05, 0.4512 at 0.109: the data does not ask for a compute-bound matrix-vector product. Held "
    "out: measured together with `eff_direct`'s change above (its figures).",
    "Tried on the worst classes' residuals (nvidia, mali-valhall, mali-midgard, powervr), not kept: "
    "`eff_stream`, the element-wise shaders' arithmetic (their FLOPs plus one operation per element moved, "
    "index arithmetic) at a fitted fraction of the peak instead of the peak, for the compute-bound classes "
    "(powervr, midgard, videocore) whose rows with a larger element-wise share were under-predicted: the fit "
    "put it at 0.62 of the peak in every class alike (no class moved) and held out 33.9% / 51%; 31.0% / 56% "
    "against 33.9% / 52%; 31.0% / 56% without.",
    "`cpu_ns_per_elem`, a CPU-fallback layer's own work per element it reads and writes (the YOLO and SSD "
    "decoders, Reduction), for yolov4-tiny, under-predicted on most GPUs: fitted 8-17 ns per element by class, "
    "it drove `cpu_fallback_us` to zero and bettered the in-sample fit (rms of log error 0.443 against "
    "0.448), but held out 34.6% / 51%; 31.2% / 55% against 33.9% / 52%; 31.0% / 56% without.",
    "`mem_eff_gemv`, a DRAM efficiency of its own for InnerProduct's weight stream (one long read of "
    "contiguous weights, against the activations' many short passes), for vgg16, over-predicted in most "
    "classes: fitted 0.16-0.33 by class (mem_eff 0.06-0.36), in-sample rms 0.4465 against 0.4477, held out "
    "35.1% / 50%; 32.1% / 54% against 33.9% / 52%; 31.0% / 56% without.",
)


def shared_dir() -> Path:
    env = os.environ.get("AUGUR_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def stats(err: np.ndarray) -> tuple:
    a = np.abs(err)
    if len(a) == 0:
        return (0, float("nan"), float("nan"), float("nan"), float("nan"), float("nan"))
    return (len(a), 100 * float(np.median(a)), 100 * float(np.mean(a <= 0.25)), 100 * float(np.mean(a <= 0.35)),
            100 * float(np.mean(a <= 0.5)), float(np.median(err + 1)))


def row(label, err) -> str:
    n, med, w25, w35, w50, ratio = stats(err)
    return f"| {label} | {n} | {med:.0f}% | {w25:.0f}% | {w35:.0f}% | {w50:.0f}% | {ratio:.2f} |"


HEAD = ("| {} | rows | median abs error | within 25% | within 35% | within 50% | median pred/meas |\n"
        "|---|---|---|---|---|---|---|")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "ACCURACY_NCNN_VULKAN.md"))
    ap.add_argument("--fit-out", default=str(REPO / "measurements" / "ncnn" / "vulkan_fit.yaml"))
    ap.add_argument("--no-loo", action="store_true", help="skip leave-one-device-out (the slow part)")
    a = ap.parse_args(argv)
    t_all = time.perf_counter()
    corpus = shared_dir() / "corpora" / "ncnn"
    rows = load_corpus(corpus / "benchncnn_train.csv")
    n_vk = sum(1 for r in rows if not r.is_cpu)
    t0 = time.perf_counter()
    tab = build_vk_table(rows, load_gpu_devices(REPO / "measurements" / "ncnn" / "devices.csv"), corpus / "models")
    t_table = time.perf_counter() - t0
    d = tab.data
    t0 = time.perf_counter()
    res = fit(d)
    t_fit = time.perf_counter() - t0
    pred = predict_fit(d, res)
    e_in = pred / d.y_ms - 1
    e_loo = None
    t_loo = 0.0
    if not a.no_loo:
        t0 = time.perf_counter()
        e_loo = loo(d) / d.y_ms - 1
        t_loo = time.perf_counter() - t0
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    devices = sorted({f"{r.section}:{g}" for r, g in zip(tab.rows, tab.gpus)})
    write_vk_fit(a.fit_out, res, {
        "fitted_on": {"corpus": "../shared/corpora/ncnn/benchncnn_train.csv (Vulkan rows)", "rows": int(res.n_rows),
                      "device_sections": len(devices), "date": now},
        "residuals": {"rms_log": round(res.rms_log, 4),
                      "median_abs_pct": round(100 * float(np.median(np.abs(e_in))), 1),
                      "within_35_pct": round(100 * float(np.mean(np.abs(e_in) <= 0.35)), 1)},
        "method": f"Levenberg-Marquardt on log times, class offsets with ridge {RIDGE_CLASS}, GPU-kind offsets "
                  f"with ridge {RIDGE_KIND}, Huber {HUBER_LOG}",
    })
    band_lines: list = []
    if e_loo is not None:
        # The fit file's held-out error (engine/held_out.py), reported by `augur estimate
        # --runtime ncnn-vulkan` as its expected error; tied to the fit just written.
        keys = [vk_key(c, bool(h[VH_DISCRETE] > 0)) for c, h in zip(tab.classes, d.hws)]
        gpus = [f"{r.section}:{g}" for r, g in zip(tab.rows, tab.gpus)]
        loo_ms = (1 + e_loo) * d.y_ms
        rel = A.scale_removed(gpus, loo_ms, d.y_ms)
        groups = summarise(keys, gpus, loo_ms, d.y_ms, VK_LEVELS, rel=rel, configs=gpus)
        q = loo_band_quantiles(keys, gpus, loo_ms, d.y_ms, VK_LEVELS, VK_FIELDS)
        inside = band_inside(loo_ms, d.y_ms, q)
        stretch, nested = fit_band_stretch(gpus, loo_ms, d.y_ms, q)
        wide = band_inside(loo_ms, d.y_ms, q, stretch)
        # The relative band, checked and stretched the same way (on the scale-removed predictions).
        q_rel = loo_band_quantiles(keys, gpus, loo_ms, d.y_ms, VK_LEVELS, VK_FIELDS, rel=rel)
        inside_rel = band_inside(rel, d.y_ms, q_rel)
        rel_stretch, nested_rel = fit_band_stretch(gpus, rel, d.y_ms, q_rel)
        wide_rel = band_inside(rel, d.y_ms, q_rel, rel_stretch)
        write_held_out(a.fit_out, "ncnn-vulkan",
                       f"leave-one-device-out: each of {len(devices)} device sections' GPU predicted by a fit "
                       "without its rows (cold start)",
                       "benchncnn's published Vulkan results (corpora/ncnn/benchncnn_train.csv, training sections)",
                       VK_FIELDS, groups, "generated by scripts/accuracy_ncnn_vulkan.py; do not edit by hand",
                       relative_to="GPU", band_stretch=stretch, rel_band_stretch=rel_stretch,
                       device_order=A.order_by_predicted_gap([r.model for r in tab.rows], gpus, loo_ms, d.y_ms))
        inside_anc = anchored_band_coverage(keys, gpus, loo_ms, d.y_ms, VK_LEVELS, VK_FIELDS, gpus)
        g_all = next(g for g in groups if not any(f in g for f in VK_FIELDS))
        band_lines = [
            "", "## The expected error `augur estimate --runtime ncnn-vulkan` reports", "",
            "Every ncnn-vulkan estimate states the range its measured time should fall in: the 10th to 90th "
            "percentile of predicted/measured over the held-out runs like it (leave-one-device-out, by GPU class and "
            f"kind; a group needs {MIN_ROWS} runs from {MIN_DEVICES} devices), written to "
            f"`measurements/ncnn/{Path(a.fit_out).stem}.held_out.yaml` ({len(groups)} groups), tied to the fit's "
            "sha256. Checked by leaving each device out (its groups recomputed without it): "
            f"{100 * inside.mean():.1f}% of {len(inside)} runs fell inside the band they would have been given "
            "(nominal 80%); per kind: " + ", ".join(
                f"{k} {100 * inside[m].mean():.1f}% of {int(m.sum())}" for k in ("integrated", "discrete")
                for m in [np.array([x["kind"] == k for x in keys])] if m.any()) + ". Estimates widen the band "
            f"x{stretch:.2f} in log around the group's median (`band_stretch`: the smallest stretch under which 80% "
            f"of these runs fall inside, `measure/held_out.fit_band_stretch`): {100 * wide.mean():.1f}% inside; "
            f"judged on each GPU at the stretch fitted on the others alone, {100 * nested.mean():.1f}%. Each group "
            "also holds "
            "the same runs with each GPU's own scale divided out (`rel_*`), the range estimates report for "
            f"comparing two networks on one GPU: {100 * inside_rel.mean():.1f}% of the runs fell inside that band "
            f"as they would have been given it (nominal 80%; `rel_band_stretch`, fitted the same way around the "
            f"band's geometric centre: x{rel_stretch:.2f}, {100 * wide_rel.mean():.1f}% inside, nested "
            f"{100 * nested_rel.mean():.1f}%). And its runs anchored on one measured network of "
            "the same GPU (`anc_*`: every ordered pair of networks on one GPU, the first's measured / predicted "
            "scaling the second's prediction), the band `augur estimate --anchor NET=MS` reports: over all "
            f"{g_all['anc_pairs']} pairs {g_all['anc_ratio_p10']:.2f}x to {g_all['anc_ratio_p90']:.2f}x, median "
            f"{g_all['anc_median_abs_pct']:.1f}%, {100 * g_all['anc_within_35']:.0f}% within 35%; "
            f"{100 * inside_anc.mean():.1f}% of the pairs fell inside it as they would have been given it."]
    main_err = e_loo if e_loo is not None else e_in
    w = d.row_weight > 0
    L = ["# Accuracy against the benchncnn corpus: ncnn's Vulkan (GPU) backend", "",
         "<!-- generated by scripts/accuracy_ncnn_vulkan.py; do not edit by hand -->",
         f"Generated {now} by `scripts/accuracy_ncnn_vulkan.py` in {time.perf_counter() - t_all:.0f} s on "
         f"{machine_label(machine_info())} (table {t_table:.1f} s, fit {t_fit:.1f} s, "
         f"leave-one-device-out {t_loo:.0f} s: "
         f"one cold-started fit per held-out device section and GPU).", "",
         "Measured: benchncnn's avg_ms, rows with gpu_device >= 0 (`../shared/corpora/ncnn/benchncnn_train.csv`); "
         "the model: `augur_sim/engine/ncnn_vulkan.py` (docs/NCNN.md, \"Vulkan\"). "
         "Error = predicted / measured - 1.", "",
         "## Coverage", "",
         f"- Vulkan rows in the corpus: {n_vk}",
         f"- predicted: {len(tab.rows)} rows ({100 * len(tab.rows) / max(n_vk, 1):.0f}%), {len(devices)} GPUs in "
         f"{len({r.section for r in tab.rows})} device sections, {len(set(r.model for r in tab.rows))} networks, "
         f"{len(d.classes)} GPU classes ({', '.join(d.classes)})"]
    for why, n in sorted(tab.skipped.items(), key=lambda kv: -kv[1]):
        L.append(f"- not predicted: {n} rows: {why}")
    L += ["", "Sections with Vulkan rows and no GPU spec:", ""]
    for k, why in NOT_MODELLED.items():
        n = sum(1 for r, _ in tab.skipped_rows if r.device.startswith(k))
        L.append(f"- {k} ({n} rows): {why}")
    L += ["", f"Rows flagged ({len(tab.flagged)}): predicted and kept in every figure below, no weight in the fit:", ""]
    for why, n in Counter(tab.flagged.values()).items():
        secs = sorted({tab.rows[i].section for i, y in tab.flagged.items() if y == why})
        L.append(f"- {n} rows, sections {', '.join(map(str, secs))}: {why}")
    L += ["", "## Summary", "", HEAD.format("prediction"),
          row("fitted on every training row (in-sample), all predicted rows", e_in),
          row("in-sample, rows not flagged", e_in[w])]
    if e_loo is not None:
        L += [row("leave-one-device-out, all predicted rows", e_loo),
              row("leave-one-device-out, rows not flagged", e_loo[w])]
    L += ["", f"Parameters: {len(VK_PARAM_NAMES)} shared values and the same {len(VK_PARAM_NAMES)} as factors per GPU "
          f"class ({len(res.classes)} classes with data), each class's log-offset pulled to zero by a ridge "
          f"({RIDGE_CLASS}), and per GPU kind (integrated, discrete: factors below, ridge {RIDGE_KIND}); rows "
          f"further off than {HUBER_LOG} in log time weigh less (Huber). Fit rms of log error "
          f"{res.rms_log:.3f} after {res.iterations} iterations. A GPU of a class the fit has not seen takes the "
          "shared values.", "",
          "| parameter | shared | " + " | ".join(res.classes) + " | meaning |",
          "|---|---|" + "---|" * len(res.classes) + "---|"]
    for k, n in enumerate(VK_PARAM_NAMES):
        vals = [np.exp(res.g[k] + res.d[i][k]) for i in range(len(res.classes))]
        L.append(f"| {n} | {np.exp(res.g[k]):.3g} | " + " | ".join(f"{v:.3g}" for v in vals)
                 + f" | {VK_PARAM_DOC[k]} |")
    if res.dk is not None:
        L += ["", f"GPU-kind factors, on top of the class's values (ridge {RIDGE_KIND} on their logs; "
              "`engine/ncnn_vulkan.GPU_KINDS`: integrated GPUs share the SoC's DRAM and host, discrete ones "
              "have their own memory behind PCIe):", "",
              "| parameter | " + " | ".join(res.kinds) + " |", "|---|" + "---|" * len(res.kinds)]
        for k, n in enumerate(VK_PARAM_NAMES):
            L.append(f"| {n} | " + " | ".join(f"{np.exp(res.dk[i][k]):.3g}" for i in range(len(res.kinds))) + " |")
    L += ["", "Parameters dropped (leave-one-device-out of this script's protocol on 2026-12-01, before and after; "
          "median |error| / share within 35%, all predicted rows; rows not flagged):", ""] + [f"- {d}" for d in DROPPED]
    label = "leave-one-device-out" if e_loo is not None else "in-sample"
    L += ["", f"## Per GPU class ({label}; in-sample beside)", "",
          "| class | rows | median abs error | within 25% | within 35% | within 50% | median pred/meas "
          "| in-sample median | in-sample within 35% | rows not flagged | their median | their within 35% |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cls = np.array(tab.classes)
    for c in d.classes:
        m = cls == c
        s_in = stats(e_in[m])
        s_ok = stats(main_err[m & w])
        L.append(row(c, main_err[m]) + f" {s_in[1]:.0f}% | {s_in[3]:.0f}% | {s_ok[0]} | {s_ok[1]:.0f}% | "
                 f"{s_ok[3]:.0f}% |")
    L += ["", f"## Per device section and GPU ({label})", "",
          "| section | GPU (spec:processor) | class | rows | median abs error | within 35% | median pred/meas "
          "| flagged |",
          "|---|---|---|---|---|---|---|---|"]
    groups: dict = defaultdict(list)
    for i, (r, g) in enumerate(zip(tab.rows, tab.gpus)):
        groups[(r.section, g)].append(i)
    for (sec, g), ix in sorted(groups.items()):
        ix = np.array(ix)
        n, med, _, w35, _, ratio = stats(main_err[ix])
        fl = "yes" if any(i in tab.flagged for i in ix) else ""
        L.append(f"| {sec} | {g} | {tab.classes[ix[0]]} | {n} | {med:.0f}% | {w35:.0f}% | {ratio:.2f} | {fl} |")
    L += ["", f"## Per network ({label})", "", HEAD.format("network")]
    nets = np.array([r.model for r in tab.rows])
    for net in sorted(set(nets)):
        L.append(row(net, main_err[nets == net]))
    # Which shader class each network's kernels run (the discrete-GPU lowering; integrated differ
    # only in the Winograd variant on small planes).
    L += ["", "## Shader classes per network (discrete GPU lowering)", "",
          "| network | " + " | ".join(n for n in VK_ALGO_NAMES if n != "noop") + " |",
          "|---|" + "---|" * (len(VK_ALGO_NAMES) - 1)]
    for (net, disc), bi in sorted(((k, i) for i, k in enumerate(tab.net_keys)), key=lambda t: t[0]):
        if not disc:
            continue
        x = tab.data.xall[tab.data.net_start[bi]:tab.data.net_stop[bi]]
        cnt = Counter(int(v) for v in x[:, V_ALGO])
        L.append(f"| {net} | " + " | ".join(str(cnt.get(i, 0)) for i in range(1, len(VK_ALGO_NAMES))) + " |")
    err_w = np.where(d.row_weight > 0, np.abs(main_err), -1.0)
    worst = np.argsort(-err_w)[:15]
    L += ["", f"## Worst rows not flagged ({label})", "",
          "| section | GPU | network | measured ms | predicted ms | error |", "|---|---|---|---|---|---|"]
    for i in worst:
        r = tab.rows[i]
        L.append(f"| {r.section} | {tab.gpus[i]} | {r.model} | {r.avg_ms:.2f} | {r.avg_ms * (1 + main_err[i]):.2f} | "
                 f"{100 * main_err[i]:+.0f}% |")
    # The two choices a user makes with these figures: which GPU for a network, which network
    # for a GPU (pairs ordered as measured), and the error once each GPU's own scale is out.
    pred_main = (1 + main_err) * d.y_ms
    gpu_of = [f"{r.section}:{g}" for r, g in zip(tab.rows, tab.gpus)]
    models = [r.model for r in tab.rows]
    rel = A.stats(A.scale_removed(gpu_of, pred_main, d.y_ms), d.y_ms)
    L += ["", f"## Which GPU, which network ({label})", "",
          "Every two runs of the same network on two different device sections' GPUs, and whether the predictions "
          "put the same one first as the measurements:", "", *A.order_lines(models, gpu_of, pred_main, d.y_ms), "",
          "The same pairs by how far apart the predictions put them (the held-out file's `device_order`, quoted "
          "by `augur report` with several devices and `augur sweep` across devices):", "",
          *A.gap_order_lines(A.order_by_predicted_gap(models, gpu_of, pred_main, d.y_ms)), "",
          "Every two different networks on the same device section's GPU:", "",
          *A.order_lines(gpu_of, models, pred_main, d.y_ms), "",
          f"With each GPU's own scale divided out (its predictions divided by its median predicted / measured "
          f"ratio), the {rel['n']} rows' median |error| is {rel['median_abs_pct']:.1f}%, "
          f"{100 * rel['within_35']:.0f}% within 35%: the networks' times relative to each other on one GPU."]
    anc = A.stats(A.anchored(gpu_of, models, pred_main, d.y_ms, "squeezenet"), d.y_ms)
    L += ["", f"Anchored on one measured network (each GPU's SqueezeNet time scaling the others' predictions), "
          f"the {anc['n']} other rows read {anc['median_abs_pct']:.1f}% median |error|, "
          f"{100 * anc['within_35']:.0f}% within 35%: what one benchncnn run on the device buys (another protocol "
          f"than the spec-only figures). Which network to measure as the anchor (each as the anchor of the others "
          f"on every GPU that ran it):", "", *A.anchor_choice_lines(gpu_of, models, pred_main, d.y_ms, "GPU")]
    L += ["", "## What is not modelled", "",
          "- int8 networks (their quantised layers run on the CPU, with uploads and downloads between): refused.",
          "- The GPU's caches: every kernel's activations and weights are priced at DRAM bandwidth times a fitted "
          "efficiency; desktop GPUs keep small networks in L2 (or AMD's Infinity Cache), which the fitted "
          "efficiency and dispatch cost absorb only on average.",
          "- Clocks under load: boost clocks from the datasheets; laptops and phones throttle or run below them "
          "(the RTX 2060 and A3000 laptops' own clocks are not known).",
          "- Driver and ncnn-version differences: the corpus mixes ncnn releases (the RTX 3090 section's two runs "
          "of the same GPU differ by 2x on small networks); one parameter set per class cannot follow both.",
          "- Layout conversions (pack1 <-> pack4 Packing dispatches at the input and around narrow layers), "
          "descriptor-set updates and the per-layer barriers beyond the fitted dispatch cost.",
          "- Adreno, VideoCore and several Mali/PowerVR shader figures are estimates (their vendors publish no ALU "
          "counts); the class factors absorb a consistent error, not one that differs between devices of a class.",
          "- Devices of one class that disagree with each other (residual analysis of the leave-one-device-out "
          "predictions, 2026-12-01): over all rows not flagged, each GPU's median log error spreads with rms 0.35 "
          "and the networks around it with rms 0.43; in powervr and mali-midgard the devices' own offsets "
          "dominate (rms 0.45 and 0.46 against 0.23 and 0.32 within a device), in opposite directions for GPUs of "
          "one architecture: the JH7110's BXE-4-32 ran 1.5x faster than its spec predicts and the TH1520's "
          "BXM-4-64 1.9x slower (measured about equal, the spec says 2.6x apart), the RK3399's T860 1.8x faster and "
          "the RK3288's T764 1.15x slower, the A311D's G52 1.6x faster and the RK3566's 1.4x slower. Clocks, "
          "driver features (shaderFloat16 on Midgard, which the specs take as absent) or ncnn releases would "
          "explain it; none is sourced, and a class rule cannot follow both directions. The dispatch-bound "
          "desktop NVIDIA GPUs likewise (RTX 3060 Ti 1.9x faster than predicted, RTX A3000 laptop 1.6x slower): "
          "their dispatch cost is the host's and the driver's, which the corpus does not name.",
          "- vision_transformer: measured between 6x and 130x resnet50's time depending on the section (218 ms "
          "against 1.6 ms on the RTX 3090), which no shader-level roofline reproduces: in many ncnn releases parts "
          "of it (MultiHeadAttention, LayerNorm, GELU) ran on the CPU or on unoptimised shaders. It is predicted "
          "as if every layer ran on the GPU, hence far too fast on most devices.",
          "- Which ncnn release a section ran: layers whose Vulkan shader came late (Reduction) are priced as CPU "
          "fallbacks (`cpu_fallback_us`, a submit-and-wait and transfers each), right for the older sections "
          "and pessimistic for a recent one.",
          "", "## Leave-one-device-out: how to read it", "",
          "Each device section's GPU is held out in turn: the parameters are refitted (cold start) on every other "
          "GPU's rows and the held-out GPU is predicted from its spec alone. A class with one device (videocore: "
          "the two Pi 5 sections are the same GPU; apple; mali-midgard) is predicted largely from the shared values "
          "and the other device of its class, so its held-out error is what a new device of that class can expect."]
    atomic_write_text(Path(a.out), "\n".join(L + band_lines) + "\n")
    msg = (f"wrote {a.out} and {a.fit_out}; rows {len(tab.rows)}/{n_vk}; "
           f"in-sample median {100 * np.median(np.abs(e_in)):.1f}%")
    if e_loo is not None:
        msg += (f"; LOO median {100 * np.median(np.abs(e_loo)):.1f}%, "
                f"within 35% {100 * np.mean(np.abs(e_loo) <= 0.35):.0f}%")
    print(msg)
    return 0




if __name__ == "__main__":
    sys.exit(main())
