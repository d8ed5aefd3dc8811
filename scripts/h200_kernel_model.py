"""The H200 as an unseen device: its measured networks (measurements/, never fitted to here)
against the PyTorch kernel model whose parameters come only from the NeuSight corpus
(hwspecs/fits/pytorch.yaml), next to the legacy runtimes fitted on the H200's own
microbenchmarks (docs/ACCURACY_GPU.md).

    python scripts/h200_kernel_model.py --doc docs/ACCURACY_GPU_KERNELS.md [--held-out]

--held-out also writes hwspecs/fits/pytorch.held_out.yaml (engine/held_out.py): predicted /
measured of these networks per runtime, precision and batch band, the range every estimate of
a kernel-model runtime then reports as its expected error. Re-run it after refitting
pytorch.yaml: the file is tied to the fit's sha256.

The measurements ran with TF32 off (scripts/gpu_measure.py), so fp32 convs are costed in
FP32 here (an override of the runtime's fp32_conv_math), not in PyTorch's default TF32.
The section is written between markers into the doc; the rest of the doc is kept.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from augur_sim.estimator import estimate  # noqa: E402
from augur_sim.frontends import load_net  # noqa: E402
from augur_sim.graph import rebatch  # noqa: E402
from augur_sim.hw import apply_overrides, load_hw  # noqa: E402
from augur_sim.engine.held_out import GPU_FIELDS, GPU_LEVELS, gpu_key  # noqa: E402
from augur_sim.hw.kmodel import FITS_DIR, class_params, load_fit  # noqa: E402
from augur_sim.measure.held_out import summarise, write_held_out  # noqa: E402
from augur_sim.measure.ncnn_accuracy import pairwise_order, scale_removed  # noqa: E402

RUNS = (("h200_pytorch_cudagraph_2026-11-26_run3.json", "pytorch-cudagraph", "legacy-h200fit-cudagraph"),
        ("h200_pytorch_2026-11-26_run1.json", "pytorch-eager", "legacy-h200fit-eager"))
BEGIN, END = "<!-- h200-kernel-model:begin -->", "<!-- h200-kernel-model:end -->"
# A group of the held-out error file needs this many measured networks (the H200's runs hold
# 29 per runtime x precision x batch): fewer would report a range from a handful of networks.
MIN_GROUP_ROWS = 20
HELD_OUT_PROTOCOL = ("one GPU the fit never saw: the H200's measured networks (measurements/, PyTorch 2.11, "
                     "cuDNN 9.19, TF32 off, batch 1 and 16), predicted with parameters fitted only on the "
                     "NeuSight corpus (five older GPUs), fp32 convs in FP32 as measured; "
                     "scripts/h200_kernel_model.py --held-out")


def net_points(run: str, shared: Path):
    data = json.loads((ROOT / "measurements" / run).read_text())
    for e in data["nets"]:
        if not e.get("gpu"):
            continue
        src = ROOT / "nets" / e["file"] if e["file"].endswith(".yaml") else shared / "prototxt" / e["file"]
        if src.exists():
            yield e, src


def errors(run: str, new_rt: str, old_rt: str, shared: Path):
    dev = load_hw("nvidia_h200")
    # As measured: TF32 off, so an fp32 conv is FP32.
    dev_new = apply_overrides(dev, {f"gpu.runtimes.{new_rt}.fp32_conv_math": "fp32"})
    rows = []
    for e, src in net_points(run, shared):
        g = rebatch(load_net(src), e["batch"])
        new = estimate(g, dev_new, runtime=new_rt, precision=e["precision"]).total.time_s
        old_name = old_rt if e["precision"] == "fp16" else old_rt + "-fp32"
        old = estimate(g, dev, runtime=old_name, precision=e["precision"]).total.time_s
        # The generic engine with estimated efficiencies (the big GPU specs' default until
        # 2026-12-03, when the kernel model's CUDA-graph runtime became it).
        generic = estimate(g, dev, runtime="cudnn", precision=e["precision"]).total.time_s
        m = e["gpu"]["median_s"]
        rows.append((e["file"], e["batch"], e["precision"], m, old, new, generic))
    return rows


def summary(rows, k):
    err = np.array([abs(r[k] / r[3] - 1) for r in rows])
    return (f"median |error| {np.median(err) * 100:.1f}%, {np.mean(err <= 0.25) * 100:.0f}% within 25%, "
            f"worst {err.max() * 100:.0f}%")


def ranking(rows, k, label: str) -> str:
    """Which of two networks runs faster at the same batch and precision (pairs ordered as
    measured), and the error once each (batch, precision)'s own scale is divided out: how well
    the model compares networks on this GPU, apart from how fast it takes the GPU to be."""
    keys = [(r[1], r[2]) for r in rows]
    nets = [r[0] for r in rows]
    meas = np.array([r[3] for r in rows])
    pred = np.array([r[k] for r in rows])
    n, ok = pairwise_order(keys, nets, pred, meas)
    rel = np.abs(scale_removed(keys, pred, meas) / meas - 1)
    return (f"{label}: which of two networks is faster (same batch and precision) ordered as measured in "
            f"{100 * ok / max(n, 1):.1f}% of {n} pairs, median |error| {100 * np.median(rel):.1f}% with each "
            f"batch and precision's own scale divided out")


HELD_BACK = ("nvidia_l4", "nvidia_a100_pcie_80gb", "nvidia_h100_sxm", "nvidia_h200")
# More GPUs no PyTorch timing here covers: GeForce boards with tensor rates of their own (FP16
# with FP32 accumulate and TF32 at half the professional boards', hwspecs/nvidia_rtx*.yaml), and
# the L40S (a data-centre Ada board at its architecture's full rates).
GEFORCE = ("nvidia_rtx3090", "nvidia_rtx4090")
OTHERS = GEFORCE + ("nvidia_l40s",)
NETS = ("resnet50", "mobilenet_v2", "vgg16", "efficientnet_b0")


def held_back_predictions() -> list[str]:
    """What the model says for GPUs with no measurement at all (specs from datasheets,
    parameters from the corpus): a comparison table, not a validation."""
    out = ["## Predictions for GPUs nobody measured here (pytorch-cudagraph, PyTorch defaults)", "",
           "Datasheet specs, corpus-fitted parameters, fp32 convs in TF32 (PyTorch's default), fp32 "
           "matmuls in FP32. No measurement of these GPUs was looked up or used. Milliseconds per "
           "inference. The GeForce cards (" + ", ".join(GEFORCE) + ") run FP16 (FP32 accumulate, "
           "as PyTorch asks) and TF32 at half their architecture's professional-board rate, the L40S "
           "at the full rate (docs/HWSPECS.md).", "",
           "| network | batch | precision | " + " | ".join(HELD_BACK + OTHERS) + " |",
           "|---|---|---|" + "---|" * len(HELD_BACK + OTHERS)]
    for net in NETS:
        for b in (1, 16):
            for prec in ("fp16", "fp32"):
                ts = [estimate(net, d, batch=b, runtime="pytorch-cudagraph", precision=prec).total.time_s
                      for d in HELD_BACK + OTHERS]
                out.append(f"| {net} | {b} | {prec} | " + " | ".join(f"{t * 1e3:.3f}" for t in ts) + " |")
    return out + [""]


def write_gpu_held_out(held) -> None:
    """The companion of hwspecs/fits/pytorch.yaml that estimates read (engine/held_out.py):
    predicted / measured of every H200 network, grouped by runtime, precision and batch band."""
    keys = [gpu_key(rt, r[2], r[1]) for rt, r in held]
    pred = [r[5] for _, r in held]
    meas = [r[3] for _, r in held]
    # Each runtime, batch and precision's own scale divided out: comparing two networks on the GPU.
    configs = [(rt, r[1], r[2]) for rt, r in held]
    rel = scale_removed(configs, pred, meas)
    groups = summarise(keys, ["nvidia_h200"] * len(held), pred, meas, GPU_LEVELS,
                       min_rows=MIN_GROUP_ROWS, min_devices=1, rel=rel, configs=configs)
    path = write_held_out(FITS_DIR / "pytorch.yaml", "pytorch", HELD_OUT_PROTOCOL,
                          "measurements/h200_pytorch_cudagraph_2026-11-26_run3.json and "
                          "measurements/h200_pytorch_2026-11-26_run1.json (networks only)", GPU_FIELDS, groups,
                          relative_to="GPU at one runtime, batch and precision")
    print(f"wrote {path.relative_to(ROOT)}: {len(groups)} groups", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--doc", default=None)
    ap.add_argument("--held-out", action="store_true",
                    help="also write hwspecs/fits/pytorch.held_out.yaml: the range of the H200's network "
                         "errors per runtime, precision and batch band, which estimates report")
    args = ap.parse_args()
    # The corpus-fitted host figures the eager pipeline uses (hwspecs/fits/pytorch.yaml).
    fit = class_params(load_fit("pytorch"), load_hw("nvidia_h200").processors["gpu"].arch)
    out = [BEGIN, "## The H200 as an unseen device (whole networks, measurements/)", "",
           "Measured networks of `measurements/` (PyTorch 2.11, cuDNN 9.19, TF32 off) against two models: "
           "*before* = the legacy runtimes fitted on the H200's own microbenchmarks (`legacy-h200fit-*`, "
           "docs/ACCURACY_GPU.md); *after* = the kernel model with parameters fitted only on the NeuSight "
           "corpus (five older GPUs, never the H200), fp32 convs in FP32 as measured. Under a CUDA graph "
           "each kernel costs its time plus the GPU-side gap `gap_us` (2 us, an estimate: eager timings "
           "cannot separate it from the host's launch work), with `graph_floor_us` (2 us, an estimate) "
           "as the minimum. "
           "Written by `scripts/h200_kernel_model.py`; with `--held-out` it also writes "
           "`hwspecs/fits/pytorch.held_out.yaml`, these networks' predicted / measured per runtime, precision "
           "and batch (1, or more), the range every `pytorch-eager` / `pytorch-cudagraph` estimate reports as "
           "its expected error (from this one GPU).", "",
           "Eager networks (`pytorch-eager`) are costed as the asynchronous pipeline eager PyTorch runs "
           "(engine/gpu_algos.pipeline_step), not as a sum of single-op times: the host issues op after op, "
           "the GPU starts an op at the later of the previous op's end and the op's issue, and runs it for "
           "its kernels + `gap_us` (the CUDA-graph runtime's kernel costs, without `graph_floor_us`). The "
           "host's issue time per op is the spec's `issue_us` of the runtime: on the H200 7.20 us, a HOST "
           "measurement (wall time of 200 back-to-back ReLUs; 6.63, 11.87, 7.20 us in runs 1-3, the median), "
           "not a GPU timing; a spec without it takes the corpus-fitted host enqueue latency `lat_us` "
           f"({fit['lat_us']:.3g} us). It is multiplied by the corpus' floor multiples for an addmm "
           f"({fit['floor_linear_x']:.3g}), a cuDNN conv ({fit['floor_conv_x']:.3g}) and a normalisation "
           f"with parameters ({fit['floor_norm_x']:.3g}), chosen before looking at the H200's "
           "networks: the only documented figure of those calls' extra host work, taken as ratios so that "
           "the synchronisation in every corpus floor (which a network run does not have) stays out. "
           "The single-op (corpus) path keeps its synchronous floor (measure/gpu_fit.hw_rows). "
           "Sensitivity, not adopted (it would be a choice made on the H200's timings): without the conv "
           "multiple (conv issue = 7.20 us) the eager median is 45% too fast; without any multiple 54% "
           "too fast; with them (below) the predictions are too slow. The corpus' conv multiple is "
           "PyTorch 2.1 + cuDNN 8.9's per-call host cost; the H200 ran PyTorch 2.11 + cuDNN 9.19, whose "
           "conv issue cost was not measured.", "",
           "Facts of the software stack the model takes from the H200, names only, never times: "
           "cuDNN 9.19 ran no Winograd kernel on this sm_90 GPU (measurements/h200_kernels/"
           "h200_kernels_2026-11-30_run1.csv, column `kernel`: 0 of 150 3x3 stride-1 convs; the 11 "
           "on CUDA-core FP32 math ran `sm80_xmma_fprop_implicit_gemm_*_ffma_*`), so fp32 3x3 convs "
           "on sm_90 are implicit GEMMs (hw/kmodel.NO_WINOGRAD_ARCHS; sm_80 and sm_89 keep Winograd: "
           "no conv names measured there). From PyTorch's own code (what eager mode runs, not "
           "the H200): a Caffe Scale after a BatchNorm is a kernel of its own (F.batch_norm, then "
           "addcmul in augur_sim/measure/torchexec.py: rule `scale_apart`), and an LRN is "
           "F.local_response_norm's eight kernels (torch/nn/functional.py, aten constant_pad_nd: "
           "rule `lrn_composite`, augur_sim/torch_lowering.py). From NVIDIA's whitepapers: an H100/"
           "H200 SM quadrant has 32 FP32 lanes and dispatches one warp instruction per clock, so an FFMA "
           "tile loses a dispatch slot to each operand load: at least 1 + 1/(2 sqrt(P)) its lanes' time, "
           "P outputs per thread (thread counts per tile from the H200's kernel names; "
           "engine/gpu_algos.ffma_issue_factor). `gap_us` stays the 2 us estimate: "
           "no published per-kernel figure for CUDA-graph replay on Hopper was found, and the "
           "H200's own runs may not set it.", "",
           "Tensor-core tiles (round 2; physics and documents, no fitted number, no H200 timing): "
           "(1) a tile's depth term k / (k + khalf) prices its fixed prologue (the first pipeline stages "
           "wait a full memory latency before the first MMA) and epilogue (the accumulators' write-out); "
           "`khalf` is fitted on the corpus' FFMA tiles, so it counts that time in FFMA K-steps, and a "
           "tensor-core tile, whose math is rate_tc / rate_fp32 times faster (14.8 for fp16 on sm_90), "
           "covers that many more K-steps in the same time (engine/gpu_algos.tensor_core_depth_scale). "
           "(2) Every tile is bounded by its shared-memory operand traffic, (tm + tn) x k x element bytes "
           "at 128 B per clock per SM (CUDA C++ Programming Guide, Compute Capabilities: 32 banks of 32 "
           "bits per clock; Hopper's wgmma reads its B operand, and A unless it sits in registers, from "
           "shared memory: PTX ISA). By hand this bound binds on no tile the model uses on any "
           "catalogued GPU: a 64 x 64 fp16 tile on sm_90 needs 2 clocks of operands per K-step against "
           "2.16 of math at 100% (Hopper is balanced at exactly this tile), 128 x 128 needs 4 against "
           "8.7; FFMA tiles need at most a quarter of their math time. It is kept as the roofline a "
           "what-if GPU with a faster tensor core runs into (tests/test_gpu_tile_bounds.py). Neither rule "
           "touches a corpus row (the corpus has no tensor-core kernel): the fit and the leave-one-GPU-out "
           "tables are unchanged. On the H200's 150 corpus shapes (TF32 convs, kernel + gap only) the "
           "conv median moves 48.0% -> 46.4%. "
           "(3) A tensor-core conv computes on channels padded to one 16-byte vector: C and K per group "
           "rounded up to 8 in fp16 (cuDNN developer guide, Legacy API, Tensor Core operations: channel "
           "counts in multiples of 8 for half precision, padded otherwise), to 4 in TF32 (the `alignc4` "
           "of cuDNN's TF32 kernel names on the H200, names only); the input and filter transforms write "
           "the padded tensors (engine/gpu_algos.tc_channel_pad). It costs the 3-channel first conv of "
           "every network 8/3 of its GEMM depth and doubles ResNeXt's 4-channel groups. No corpus row "
           "is a tensor-core conv, so the corpus tables are unchanged; H200 networks 22.7% -> 22.5% "
           "(fp16 batch 16 29.7% -> 29.2%), the H200's TF32 corpus convs (kernel + gap) 46.4% -> 45.9%.", "",
           "Round 3 (the bytes and kernels PyTorch runs; sources, no fitted number, no H200 timing): "
           "(4) a windowed max pool on CUDA writes an int64 argmax beside every output (aten's "
           "max_pool2d, aten/src/ATen/native/Pooling.cpp, runs max_pool2d_with_indices on any device "
           "but the CPU and drops the indices; its kernels, cuda/DilatedMaxPool2d.cu, store both): rule "
           "`pool_indices` of the PyTorch runtimes (augur_sim/torch_lowering.py), 8 bytes more per "
           "output element, 5x an fp16 pool's output bytes. No corpus row is a pool, so the corpus "
           "tables are unchanged; H200 networks 22.52% -> 22.45% (fp16 batch 16 29.2% -> 28.2%, fp32 "
           "batch 16 24.7% -> 24.4%). "
           "(5) An eval-mode BatchNorm that aten does not give to cuDNN runs its native CUDA path, "
           "three GPU operations: the running mean copied into an fp32 buffer (copy_), invstd = "
           "rsqrt(var + eps) in a kernel of its own (batch_norm_calc_invstd), then the element-wise "
           "pass (aten/src/ATen/native/cuda/Normalization.cu, batch_norm_cuda_out). aten's backend "
           "choice (aten/src/ATen/native/Normalization.cpp) sends to cuDNN only BatchNorms with "
           "weight and bias whose half-precision input comes with fp32 parameters: a network "
           "converted to fp16 whole (`model.half()`, as measure/torchexec.py builds it) and every "
           "BatchNorm without affine parameters (Caffe's) take the native path. Rule `bn_native` "
           "(augur_sim/torch_lowering.py): two more rows over C channels per such BatchNorm, each "
           "a node of a captured graph (kernel + `gap_us`); in an eager pipeline they add GPU time "
           "but no host issue of their own (lowering column C_INCALL: the BatchNorm call launches "
           "them). No corpus row is a BatchNorm (corpus tables unchanged); H200 CUDA-graph networks "
           "22.45% -> 16.84%, 59% -> 73% within 25% (fp16 batch 1 21.8% -> 9.3%, fp16 batch 16 "
           "28.2% -> 17.6%, fp32 batch 1 16.8% -> 14.6%, fp32 batch 16 24.4% -> 23.2%: fp32 changes "
           "only the Caffe nets); the eager networks 73.7% -> 77.5% (already too slow: the host "
           "multiples, above). "
           "(6) Spec: the H100 SXM and H200 files listed no TF32 rate, so they inherited sm_90's 2048 "
           "FLOP per clock per SM at their 1.98 GHz (535 T), where NVIDIA's datasheets give 494.7 T "
           "dense (989.4 T with sparsity), the same 1.83 GHz-rated product as their fp16 figure: "
           "tf32 1893 per clock now. It moves TF32 convs only (PyTorch's default for fp32 convs): "
           "not these TF32-off networks; the H200's TF32 corpus convs, kernel + gap, 45.9% -> 43.3%; "
           "the held-back H100/H200 fp32 predictions below. "
           "(7) The corpus fit run to convergence (gpu_fit.ROUNDS; 2026-12-01): every figure of the "
           "rounds above was measured with the fit as it then ran, 5 rounds per coordinate search, "
           "which left `igemm` at its start value 0.80. Converged (in-sample loss 0.130 -> 0.126, "
           "`igemm` 0.87, `l2x` at its bound 1.0; three corpus leave-one-out cells better, none "
           "lost), the H200 CUDA-graph networks read 16.84% -> 25.0% (fp16 batch 1 9.3% -> 9.0%, "
           "fp16 batch 16 17.6% -> 32.5%, fp32 batch 1 14.6% -> 20.4%, fp32 batch 16 23.2% -> "
           "32.9%): faster predictions where they were already too fast. The converged fit is kept; "
           "the tables below are its.", "",
           "Rules tried and dropped (H200 CUDA-graph median of the 116 points with the rule, against "
           "the kept model's): "
           "(a) round 1: cuDNN's FFMA implicit-GEMM tile set of the H200's kernel names for sm_90 convs: "
           "worse (its figure was not recorded); "
           "(b) round 1: `ahalf` scaled by the tensor/FP32 rate ratio for tensor-core tiles: 21.3% "
           "(better), dropped as unsupported: the shared-memory operand roofline above shows Hopper's "
           "tensor-core tiles are not operand-bound at the sizes used, so scaling the operand term has "
           "no physical basis; "
           "(c) round 2: the shared-memory roofline *replacing* the FFMA-fitted intensity curve for "
           "tensor-core tiles (math at the tensor rate x the depth term, bounded by shared memory): "
           "22.8% (fp16 batch 16: 31.7%) against 22.7%, dropped because a roofline is a bound, not a "
           "cost: it prices every tensor-core tile at 100% of the rate in its main loop, which no tile "
           "of the corpus reaches on FFMA either; "
           "(d) round 2: the depth term as a fixed number of SM clocks on every tile, FFMA included "
           "(khalf in K-steps of a 128-FLOP-per-clock SM, scaled by each SM's rate per clock at its "
           "math precision: x2 for FFMA on the P4's sm_61 and on sm_90): refitted, the corpus' "
           "leave-one-GPU-out got worse where the rule is tested, on the one corpus GPU with a "
           "256-FLOP-per-clock SM (P4 linear/bmm 13.4% -> 23.8%, conv 18.4% -> 19.3%; V100 linear "
           "11.0% -> 14.1%; A100 linear 16.2% -> 11.7%), and the refit moved `l2x` 0.30 -> 1.0: "
           "H200 32.9% with its own refit (20.6% with the kept parameters, not a valid model); "
           "dropped on the corpus' verdict, so the FFMA depth term stays in FFMA K-steps and only "
           "tensor-core tiles are rescaled. The verdict also speaks for rule (1)'s form: the fixed part "
           "of a tile follows its SM's CUDA-core rate (the P4's doubled FP32 rate did not leave it "
           "longer in K-steps), and a tensor-core tile's address set-up and epilogue run on those "
           "CUDA cores while its main loop runs rate_tc / rate_fp32 faster; "
           "(e) round 2: cuDNN's sm_90 tensor-core conv tile set from the H200's TF32 kernel names "
           "(256x128, 256x64, 256x32, 128x128, 128x64, 64x256, 64x192, 64x128, 64x64, 64x32; no "
           "128x256) in place of the generic tensor-core tiles: 23.8% (fp16 batch 1 21.8% -> 23.6%), "
           "and the H200's TF32 corpus convs, kernel + gap, 46.4% -> 46.8%. Dropped for a reason of "
           "the model, not of these figures: a tile set acts only through the model's chooser, the "
           "fastest candidate, which is not the library's heuristic (measure/gpu_tiles.py: the corpus "
           "shows cuBLAS picking slower tiles), so more candidates can only make predictions faster; "
           "the names also say which tile each shape got, and the set is worth adding together with "
           "a per-shape choice learned from them (as gpu_tiles.py does for cuBLAS), not before. "
           "This is likely also why round 1's FFMA tile set for sm_90 read worse (not rerun here): its small tiles "
           "(32x32) let small-batch convs spread over more of the 132 SMs; "
           "(f) round 3: a 1x1 stride-1 fp16 tensor-core conv as a plain batched GEMM on the NCHW tensors, "
           "without the NCHW<->NHWC transposes (out[n] = W x X[n] needs no rearrangement, and wgmma "
           "takes MN-major 16-bit operands from shared memory: PTX ISA), as a candidate beside the "
           "transposed implicit GEMM: 20.81% against 16.84% (fp16 batch 1 9.3% -> 19.3%, fp16 batch 16 "
           "17.6% -> 32.3%): predictions only get faster and the networks already read too fast; "
           "dropped, no document says cuDNN 9 has such an engine for NCHW; "
           "(g) round 3: torch.split / chunk as views (no kernel; ShuffleNet's channel split), an upper "
           "bound without the contiguous copy F.conv2d then makes of a channel slice at batch > 1: "
           "16.95% against 16.84%; not adopted (no gain even before the copies it would add back). "
           "Not attempted for want of a documented figure: an L2 -> shared-memory roofline for tile "
           "operand panels (NVIDIA publishes L2 bandwidth for A100, 5120 B/clock, but none for Hopper; "
           "the spec files' L2 figures are estimates), a Hopper per-kernel CUDA-graph gap or minimum "
           "kernel duration (none found), and a depthwise efficiency (`dw`: the corpus has no grouped "
           "or depthwise conv to fit it on).", ""]
    held: list = []
    for run, new_rt, old_rt in RUNS:
        rows = errors(run, new_rt, old_rt, Path(args.shared))
        if not rows:
            continue
        held += [(new_rt, r) for r in rows]
        out += [f"### `{run}`: {new_rt} (after) vs {old_rt} (before)", "",
                f"- before: {len(rows)} points, {summary(rows, 4)}",
                f"- after: {len(rows)} points, {summary(rows, 5)}",
                f"- the generic `cudnn` runtime (estimated efficiencies; the H200 spec's default until 2026-12-03, "
                f"`pytorch-cudagraph` since): {len(rows)} points, {summary(rows, 6)}"]
        for prec in ("fp16", "fp32"):
            for b in (1, 16):
                sub = [r for r in rows if r[2] == prec and r[1] == b]
                if sub:
                    out.append(f"- {prec} batch {b}: before {summary(sub, 4)}; after {summary(sub, 5)}")
        out += [f"- {ranking(rows, 4, 'before')}; {ranking(rows, 5, 'after')}"]
        out += ["", "| network | batch | precision | measured ms | before ms | before error | after ms | after error |",
                "|---|---|---|---|---|---|---|---|"]
        for f, b, p, m, o, n, _ in sorted(rows, key=lambda r: (r[2], r[1], r[0])):
            out.append(f"| {f} | {b} | {p} | {m * 1e3:.3f} | {o * 1e3:.3f} | {(o / m - 1) * 100:+.1f}% | "
                       f"{n * 1e3:.3f} | {(n / m - 1) * 100:+.1f}% |")
        out.append("")
        print(out[-len(rows) - 12:-len(rows) - 2])
    out += held_back_predictions()
    out.append(END)
    if args.held_out:
        write_gpu_held_out(held)
    text = "\n".join(out) + "\n"
    if args.doc:
        path = Path(args.doc)
        old = path.read_text() if path.exists() else ""
        if BEGIN in old and END in old:
            old = old[:old.index(BEGIN)] + old[old.index(END) + len(END) + 1:]
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
        with os.fdopen(fd, "w") as f:
            f.write(old.rstrip("\n") + "\n\n" + text)
        os.replace(tmp, path)
    else:
        print(text)


if __name__ == "__main__":
    main()
