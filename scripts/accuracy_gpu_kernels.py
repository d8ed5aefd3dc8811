"""Fit the PyTorch GPU kernel model on the NeuSight corpus, cross-validate leaving one GPU
out, write the fitted parameters and the accuracy report.

    python scripts/accuracy_gpu_kernels.py --shared ../shared \
        --fit-out hwspecs/fits/pytorch.yaml --doc docs/ACCURACY_GPU_KERNELS.md

Fit sample: at most --per-op-device rows per (op, GPU), numpy default_rng(--seed). The
report predicts every row of the corpus (or --eval-per-op-device rows, same seed + 1).
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from augur_sim.measure import gpu_corpus as gc  # noqa: E402
from augur_sim.measure import gpu_fit as gf  # noqa: E402
from augur_sim.measure import gpu_tiles as gt  # noqa: E402
from augur_sim.measure.machine import machine_info, machine_label  # noqa: E402
from augur_sim.engine.gpu_algos import (  # noqa: E402
    ALGO_NAMES,
    CONV_ALGOS,
    IGEMM_TILES,
    MIN_BATCHED_TILE,
    SGEMM_TILES,
    TC_TILES,
)
from augur_sim.hw import load_hw  # noqa: E402
from augur_sim.hw.kmodel import HBM_ARCHS, PARAM_NAMES  # noqa: E402
from augur_sim.hw.power import sustained_clock_ghz  # noqa: E402

ARGS = argparse.Namespace(shared="")
# Architectures the fit file's classes list (every catalogued GPU's).
FIT_ARCHS = ("sm_60", "sm_61", "sm_70", "sm_75", "sm_80", "sm_89", "sm_90")
CLASSES = ("conv", "linear/bmm", "element-wise", "softmax/ln")
TARGETS = {"conv": 0.20, "linear/bmm": 0.15, "element-wise": 0.15}


def atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def shape_text(op, d) -> str:
    if op == "conv":
        return f"conv B{d['B']} {d['cin']}->{d['cout']} {d['h']}px k{d['k']}s{d['s']}"
    if op in ("linear", "bmm"):
        return f"{op} B{d['B']} M{d['M']} N{d['N']} K{d['K']}"
    return f"{op} B{d['B']} H{d['H']}"


def table(ev, pred, algo, title) -> list[str]:
    err = pred / ev.latency_s - 1
    cls = np.array([gc.OP_CLASS[o] for o in ev.op])
    out = [f"### {title}", "",
           "| GPU | op class | rows | median abs error | within 10% | within 25% | median signed | target |",
           "|---|---|---|---|---|---|---|---|"]
    summary = {}
    for dev in sorted(set(ev.device)):
        for c in CLASSES:
            m = (ev.device == dev) & (cls == c)
            if not m.any():
                continue
            a = np.abs(err[m])
            summary[(dev, c)] = float(np.median(a))
            tgt = TARGETS.get(c)
            verdict = "" if tgt is None else ("met" if np.median(a) <= tgt else "missed") + f" (<= {tgt * 100:.0f}%)"
            out.append(f"| {dev} | {c} | {m.sum()} | {np.median(a) * 100:.1f}% | {np.mean(a <= 0.1) * 100:.0f}% | "
                       f"{np.mean(a <= 0.25) * 100:.0f}% | {np.median(err[m]) * 100:+.1f}% | {verdict} |")
    out.append("")
    return out, summary


def worst(ev, pred, algo, n=12) -> list[str]:
    err = pred / ev.latency_s - 1
    idx = np.argsort(-np.abs(np.log(pred / ev.latency_s)))[:n]
    out = ["| GPU | shape | kernel algorithm (corpus) | model's algorithm | measured ms | predicted ms | error |",
           "|---|---|---|---|---|---|---|"]
    for i in idx:
        out.append(f"| {ev.device[i]} | {shape_text(ev.op[i], ev.dims[i])} | {ALGO_NAMES[ev.algo[i]]} | "
                   f"{ALGO_NAMES[algo[i]]} | {ev.latency_s[i] * 1e3:.4f} | {pred[i] * 1e3:.4f} | "
                   f"{err[i] * 100:+.0f}% |")
    return out + [""]


def census(ev) -> list[str]:
    m = ev.op == "conv"
    out = ["| GPU | implicit GEMM | fused Winograd | non-fused Winograd (sgemm, grid z 36) |", "|---|---|---|---|"]
    for dev in sorted(set(ev.device[m])):
        d = m & (ev.device == dev)
        cnt = [int(np.sum(ev.algo[d] == a)) for a in (1, 2, 3)]
        out.append(f"| {dev} | {cnt[0]} | {cnt[1]} | {cnt[2]} |")
    return out + [""]


FLOOR_OPS = ("add", "addu", "relu", "tanh", "gelu", "softmax", "ln", "bmm", "linear")


def floors(ev) -> list[str]:
    """Per GPU and op, the 2nd percentile of the measured times (in us): the shortest an op
    takes, i.e. the host's eager dispatch, not the GPU's work (tiny tensors dominate it)."""
    devs = sorted(set(ev.device))
    out = ["| GPU | " + " | ".join(FLOOR_OPS) + " |", "|---|" + "---|" * len(FLOOR_OPS)]
    for dev in devs:
        cells = []
        for op in FLOOR_OPS:
            m = (ev.device == dev) & (ev.op == op)
            cells.append(f"{np.percentile(ev.latency_s[m], 2) * 1e6:.1f}" if m.any() else "-")
        out.append(f"| {dev} | " + " | ".join(cells) + " |")
    return out + [""]


H200 = "nvidia_h200"

# Checks of the missed cells and rules tried, not adopted: figures from runs on 2026-12-01 (this
# repo's 2-core VM, branch s5-i11-gemm; scratch scripts, not this one), kept as the record.
TRIED = ["### Checked and tried for the missed cells (2026-12-01; not adopted)", "",
         "Each rule was refitted and judged by the leave-one-GPU-out table and by the H200 networks "
         "(CUDA graph, the issue's other target: 16.8% on the model of that day). These figures come "
         "from the fit as it then ran, 5 rounds per coordinate search (stopped before convergence; "
         "last item); two rules below were dropped for what they did to the held-out H200, a use of "
         "the held-out device in choosing the model that is disclosed here. Re-judged on the corpus "
         "alone with the converged fit (2026-12-01 05:39 UTC), the fused-Winograd CTA rule is mixed: "
         "P4 conv 18.3% -> 17.0%, T4 conv 13.3% -> 12.5%, V100 conv 18.3% -> 17.9%, T4 linear/bmm "
         "18.9% -> 18.7%, but P100 conv 24.2% -> 24.4% and P100 element-wise 16.1% -> 16.8%, the "
         "same 11 cells met: not landed. The floor exponent was re-judged in the second pass (below).", "",
         "- *Alignment* (cuBLAS vectorises loads only when leading dimensions allow it): the median "
         "log error of linear and bmm rows with M, N or K a multiple of 4 differs from the others' by "
         "at most 0.05 on every GPU (oracle tiles, all rows over 200 us): no alignment effect to model.",
         "- *A100 bmm* (the A100 cell's worst rows, e.g. B3 M26 N1020 K12: 0.375 ms measured): cuBLAS 12.1 "
         "ran `ampere_sgemm_128x128_nn` on 16588 of the A100's 16661 bmm rows, whatever the size, so a "
         "26 x 12 product fills a 128 x 128 tile over its whole depth; the model's fastest candidate "
         "(>= 64 x 64) is up to 8x faster on such rows. The other GPUs do not share it (P100, P4: 128x64; "
         "V100: 64x64, 32x128, 128x32; T4: 64x64, 128x64, 128x32), and the A100 is the only sm_8 GPU, "
         "so no rule from the others reproduces it: choosing the batched tile as if the batch were one "
         "matrix (no per-matrix padding) gives the A100's 128x128 but puts the T4's bmm at 30.9% and "
         "the V100's at 20.2% (leave-one-out parameters, not refitted). With the A100's own tiles "
         "(its kernel names, which a left-out GPU may not use) the A100 cell would read 14.1%.",
         "- *T4 clock*: without the T4 no training GPU constrains `fma_pj` (the P4 sits at its base "
         "clock and the HBM parts at boost anywhere in 16.5-23.6 pJ), so the leave-T4-out fit stops at "
         "its start value (T4 GEMM clock 0.91 GHz against 0.78 in-sample). Taking the upper edge of "
         "that flat interval (the most frugal non-throttling GPU exactly at its power limit): T4 "
         "linear/bmm 20.1% -> 19.5%, T4 conv 13.9% -> 18.8%: dropped. The T4's GEMM errors follow the "
         "kernel's duration (linear and bmm alike, tiles as the corpus ran them: 9-16% too slow "
         "under 1 ms, 19-21% too fast over 5 ms), a power or thermal signature; even an ideal "
         "per-duration correction leaves the cell at 13.8%, and a clock raised for GEMMs that leave "
         "SMs idle (less power drawn) did not help (19.5% -> 20.0-20.6%).",
         "- *Pascal `_tn` GEMMs*: PyTorch's linear runs cuBLAS's transposed-A kernels "
         "(`maxwell_sgemm_*_tn`); on the P100 and P4 these run ever slower than the model as the "
         "reduction dimension grows (median log error P100 -0.15 -> -0.79, P4 -0.45 -> -1.23 from "
         "K < 1k to K > 16k, oracle tiles), while their `_nn` bmm rows stay within 0.08; the "
         "V100 and A100 show no such trend, the T4 a mild one (0.07 -> -0.08). A TLB or DRAM-page "
         "effect of K-strided operand rows is suspected; no documented "
         "figure was found to model it. Those cells are met.",
         "- *P100 conv*: its convs over 5 ms are within about 10% (median); the miss is the "
         "0.6-5 ms rows (log error "
         "-0.27 to -0.36). Not the host: the P100's shortest conv (257 us) is in line with the T4's "
         "(272) and the P4's (321). Forced to the corpus' algorithm, non-fused Winograd reads too "
         "fast on the P100 (-0.31), P4 (-0.20) and V100 (-0.09), not on the T4 (0.00).",
         "- *A floor exponent for cuDNN convs apart from cuBLAS's* (`overlap_conv_p`): leave-one-out "
         "A100 linear/bmm 16.2% -> 11.9%, P100 conv 25.6% -> 23.8%, P100 element-wise 16.9% -> 15.0%, "
         "T4 linear/bmm 20.1% -> 19.5%, no met cell lost; but the refit makes the conv floor additive "
         "(p = 1, floor_conv_x 13.7 -> 9.5), raises `igemm` 0.80 -> 1.02, and the H200 networks go "
         "16.8% -> 25.5%: dropped.",
         "- *cuDNN's fused Winograd CTA as its grids show* (32 F(2x2,3x3) tiles x 32 output channels; "
         "the model's 128 x 128 tile padded Cout to 128, so forced fused predictions were 5-7x too "
         "slow for small Cout): leave-one-out A100 linear/bmm 11.8%, P100 conv 24.0%, P4 conv 16.5%, "
         "T4 conv 12.7%, T4 linear/bmm 19.4%, V100 conv 19.3%, no met cell lost; the refit moves "
         "`igemm` 0.80 -> 1.02 and `l2x` 0.30 -> 0.97, and the H200 networks go 16.8% -> 30.4%: not "
         "landed (branch s5-i11-gemm-wino).",
         "- *The fit run to convergence* (2026-12-01, `gpu_fit.ROUNDS`): with 5 rounds per search "
         "`igemm` stayed exactly at its start value 0.80 (every leave-one-out fit put it at 0.87-0.97). "
         "Run until its steps are under 2% (30 and 60 rounds give the identical fit), the in-sample "
         "loss falls 0.130 -> 0.126, `igemm` rises to 0.87 and `l2x` to its bound 1.0; leave-one-out "
         "A100 linear/bmm 16.2% -> 13.7% (met), P100 conv 25.6% -> 24.2%, P100 element-wise 16.9% -> "
         "16.1%, T4 linear/bmm 20.1% -> 18.9%, no met cell lost; the H200 CUDA-graph networks go "
         "16.8% -> 25.0% (predictions faster still, where they were already too fast). The converged "
         "fit is the one kept: the H200's 16.8% rested on a search cut short.", "",
         "Second pass (2026-12-01, branch s6-i11-cells; judged on the corpus alone, the H200 not "
         "consulted). Quick path: the stored leave-one-out parameters of the shared fit, the left-out "
         "GPU's every row, not refitted unless said; the per-major conv figures above were then run "
         "through this script in full.", "",
         "- *Non-fused Winograd's GEMM tile as its kernel names show*: cuDNN runs the 36 batched "
         "products on 4096-output tiles on the P100 and P4 (maxwell_sgemm_32x128_nn / 64x64_nn, every "
         "row) and the V100 (volta_sgemm_64x64_nn / 32x128_nn), the T4 mostly on volta_sgemm_128x64_nn "
         "(1570 of 2188); the model took the fastest tile of >= 4096 outputs. Each row costed with its "
         "own named tile (an oracle): P100 conv 24.2% -> 22.8%, P4 18.4% -> 17.6%, T4 13.3% -> 14.0%, "
         "V100 18.3% -> 17.5%; the tile is worth 3-9% of a product's time at the fitted `ahalf`, not the "
         "P100's 26%. The per-shape choice does not carry from one GPU to another (the P4's most "
         "frequent tile per one-octave cell of cout, tiles, cin names the P100's on 625 of 1980 rows, "
         "the T4's the V100's on 178 of 2142), so a left-out GPU cannot be given it; from the other GPU "
         "of the major: P100 22.4%, T4 14.8%. Not adopted.",
         "- *A fitted efficiency for non-fused Winograd's GEMM* (as `igemm` and `wino` are for the other "
         "two algorithms), per major: P100 conv 21.3%, P4 17.0%, but T4 13.3% -> 19.8% (the V100's "
         "0.75 on a T4 whose non-fused rows read right at 1.0) and V100 18.9%: dropped.",
         "- *What remains of the P100 conv miss*: with its major's figures from the P4, non-fused "
         "Winograd reads too fast on the P100 (median log error -0.26 forced to it; P4 -0.18, V100 -0.09, "
         "T4 +0.03), whichever algorithm "
         "the corpus ran (the model picks it for 1844 of the P100's 1980 non-fused rows and 1537 of its "
         "2013 fused ones), uniformly over the GEMM's share of the predicted time (-0.18 to -0.28 log) "
         "and over the reduction depth. No pass missing from the model could be named: the corpus "
         "keeps only the main kernel of each op. A lower P100 clock (the NeuSight summary lists 1380 "
         "MHz, NVIDIA's datasheet 9.3 TFLOPS = 56 x 128 x 1.30 GHz) has no NVIDIA figure for the "
         "sustained clock under this load: not tried.",
         "- *P100 element-wise*: its rows over 100 us read -6.5% (100-300 us), -3.7%, -0.3% (over 1 ms); "
         "the floor-bound rows under 100 us (14660 of 19250) -23% to -26%: the P100 host's dispatch "
         "(relu, addu, mulu, divu, powu, tanh floors 1.6x the other hosts', gelu's and LayerNorm's "
         "not), which no GPU-side rule reaches and no other GPU's host predicts. Nothing tried.",
         "- *T4 linear/bmm*: with the model's tiles (sm_7's cuBLAS table is not trusted) the cell is "
         "18.8% on a 3000-row sample, with the corpus' own tiles 19.1%: not the tile choice. The "
         "duration signature stands (linear +0.09 to +0.19 log under 1 ms, -0.21 over 5 ms; bmm -0.26 "
         "over 5 ms); without the T4 no training GPU is power-limited (the P4 sits at its base clock), "
         "so `fma_pj` is free in the leave-T4-out fit. Nothing new tried.",
         "- *A clock that depends on the kernel's duration* (2026-12-03, checked post hoc on a 600-rows-per-op "
         "sample of the T4 and P4, every other parameter at the shipped fit): a short GEMM or conv at the boost "
         "clock, a long one at the power-limited clock, blended by t / (t + tau) as a power limiter averaging "
         "over tau would: T4 linear/bmm 17.2% -> 12.3-12.8% and T4 conv 15.4% -> 13.8-14.2% (tau 1-3 ms, "
         "`fma_pj` x1.1-1.2), but P4 linear/bmm 18.3% -> 22-24%: the P4's short kernels run at its base clock, "
         "not above it. Without the T4 only the P4 would fit tau, and it fits none (best at tau <= 0.1 ms), so "
         "the leave-T4-out cell could not gain: not implemented.",
         "- *The process node's exponent in the energy per FLOP fitted* (2026-12-03, full script run; "
         "`fma_pj` x (node / 16 nm) ** node_exp, node_exp free in 0.1-2 from 1, since every GPU's linear/bmm "
         "reads too fast at the median and a weaker node scaling would power-limit the V100 and the A100): "
         "the fit took node_exp 1.15, not below 1; leave-one-out P100 conv 22.9% -> 22.7%, T4 linear/bmm "
         "18.9% -> 18.9%, P100 element-wise 16.1% -> 16.2%, V100 conv 17.5% -> 19.1%: dropped.",
         "- *cuBLAS's tile-efficiency figures per major too* (`emax`, `ahalf`, `khalf` beside the conv "
         "figures, fitted on the major's linear, bmm and conv rows; cuBLAS also ships its sgemm kernels "
         "per family: maxwell_, volta_, ampere_sgemm_*): on a 3000-rows-per-op sample, leave-one-out "
         "P100 conv 22.9% -> 20.5% and linear/bmm 15.1% -> 13.5%, but T4 linear/bmm 18.8% -> 20.5% (the "
         "V100's `ahalf` 5.0 against 8.3 shared in the leave-T4-out fit) and V100 conv 17.4% -> 18.3%: dropped.",
         "- *The floor exponent for cuDNN convs apart from cuBLAS's* (`overlap_conv_p`, above; dropped then "
         "for its H200 effect), re-judged on the corpus alone, full script run with the per-major conv "
         "figures: the fit makes the conv floor additive again (p = 1.0, shared `floor_conv_x` 12.8 -> 8.9, "
         "`l2x` 1.0 -> 0.21); P100 conv 22.9% -> 21.4%, but P4 conv 18.7% -> 21.9% (a met cell lost), P100 "
         "element-wise 16.1% -> 17.4%, P100 linear/bmm 8.7% -> 12.9%, T4 linear/bmm 18.9% -> 19.0%: dropped "
         "on the corpus' verdict.", "",
         "Third pass (2026-12-01, branch gpu; judged on the corpus alone, the H200 not consulted). "
         "Quick path as above unless said; *real fits* are this script's fit with one GPU left out.", "",
         "- *T4 linear/bmm, what the clock does*: per row, the GEMM clock the leave-T4-out model "
         "assumes (0.91 GHz) times its kernel time (the corpus' own tile) over the measured time less "
         "`lat_us`; median per band of measured time, linear 1.04 (0.3-0.5 ms), 1.00, 0.91, 0.80, 0.75 "
         "(5-10 ms), 0.73-0.74 (over 10 ms) GHz-equivalents, bmm 0.96, 0.96, 0.90, 0.78, 0.74, "
         "0.74-0.78. The same measure is flat on the P4's bmm (0.81-0.85 from 0.3 to 100 ms) and the "
         "V100's (1.46-1.50 from 0.5 to 20 ms), rises on the P100's (1.32 -> 1.40) and falls 8% on the "
         "A100's (1.56 -> 1.44 from 1 to 20 ms). Within one band of time it rises with the model's tile "
         "efficiency (T4, 0.3-2 ms: 0.57 below 0.5, 1.07 at 0.85-0.9), the opposite of a clock set by "
         "the power a kernel draws (its achieved FLOP rate or the SMs it keeps busy). It is a time "
         "signature, which the corpus' timing loop can produce on a power-limited board (NeuSight's "
         "neusight/Dataset/collect.py, sitar-lab/NeuSight: 25 calls per shape, each between CUDA "
         "events and followed by a synchronize, after the shape's set-up; the mean of the fastest 5): "
         "a short kernel's fastest calls run before the power limiter has pulled the clock down, a "
         "long one's do not. No training GPU shows it (the P4, the other 70-75 W board, is flat), so "
         "a transient rule's starting clock and time constant would be set by the T4 alone: not built.",
         "- *P100 conv and element-wise follow the floor exponents*: the leave-P100-out fit moves "
         "`overlap_mm_p` 1.29 -> 1.71 and `overlap_p` 1.21 -> 1.76 (`lat_us` 3.8 -> 9.8); the other "
         "leave-one-out fits put them at 1.13-1.82 and 1.19-1.51. With the in-sample exponent for convs "
         "(everything else left-P100-out) P100 conv reads 19.5%, with the in-sample `floor_us`, "
         "`overlap_p`, `lat_us` P100 element-wise 13.0%: the P100's host (floors 1.4-1.7x the others' "
         "on most ops) is what pins these exponents, and without it nothing does. Element-wise by op "
         "(leave-P100-out): the scalar ops and relu -0.27 to -0.37 median log error, the binary ops "
         "-0.06 to -0.09, tanh -0.12, gelu 0.00, as their floors are.",
         "- *The conv floor exponent per compute-capability major* (`overlap_conv_p` beside cuDNN's conv "
         "figures, `overlap_mm_p` for cuBLAS alone; stored shared parameters, conv figures refitted "
         "per major as `fit_majors` does): P100 conv 22.9% -> 22.9% (the P4 alone leaves sm_6's "
         "exponent at its start, 1.71; with the P100 in the fit it goes to 1.0), P4 18.7% -> 17.5%, "
         "T4 12.6% -> 13.1%, V100 17.5% -> 19.4% (sm_7's from the T4 alone: 2.3): not adopted.",
         "- *One efficiency for non-fused Winograd's GEMM shared by every GPU* (not per family, as "
         "above; fitted with `igemm` and `wino` on the conv rows, then the per-major figures): "
         "leave-P100-out puts it at 1.02 (P100 conv 23.3%), leave-T4-out at 0.80 (T4 conv 12.6% -> "
         "17.3%), P4 18.8%, V100 17.8%: dropped. Held fixed instead (leave-one-out parameters, no "
         "refit), non-fused time x1.1 / x1.2 gives P100 conv 19.7% / 17.4% but T4 15.2% / 19.3%: the "
         "P100's non-fused rows could carry its cell, but no training set without the P100 asks for it.",
         "- *`lat_us` fitted with the kernel parameters* (on the kernel-bound rows: it is the latency a "
         "long kernel still shows), real fits: P100 conv 22.9% -> 22.2%, P100 element-wise 16.1% -> "
         "15.9%, but T4 linear/bmm 18.9% -> 20.1% and P4 conv 18.7% -> 19.6% (V100 linear/bmm 14.1% "
         "-> 10.9%, A100 linear/bmm 13.8%): dropped.", "",
         "Fourth pass (2026-12-02; real leave-one-GPU-out fits, judged on the corpus alone, the H200 not consulted).",
         "",
         "- *A time constant of the board's power control* (`boost_tau_us`, fitted: a GEMM or conv averages "
         "the clock c + (1 - c) tau / (tau + t) of boost, c the power-limited share, t its time at that clock;"
         " the T4's duration signature above as a rule): T4 linear/bmm 18.9% -> 19.7%, P4 linear/bmm 13.6% -> "
         "15.6%, P100 conv 22.9% -> 24.3%, P100 linear/bmm 8.7% -> 12.4%, A100 linear/bmm 13.7% -> 16.4% (V100"
         " 14.1% -> 12.7%); the five fits put tau anywhere from 1 to 219 us: not identified, dropped.",
         "- *No base-clock floor under the power-limited clock* (so that the P4, which the floor holds at its "
         "base clock, would constrain `fma_pj` in the leave-T4-out fit): T4 linear/bmm 18.9% -> 21.8%, T4 conv"
         " 12.6% -> 12.0%: dropped.", ""]


def h200_section(path: Path, params: dict, arch_of, majors) -> list[str]:
    """Predicted vs measured for corpus shapes timed on the H200 (never fitted)."""
    ev = gc.load_measured(path, H200)
    tiles = gt.build(gc.load(gc.corpus_dir(Path(ARGS.shared)), ops=("linear", "bmm")), arch_of)
    gforce = gt.table_forces(ev, tiles, arch_of, majors)
    pred, algo = gf.predict(ev, params, gemm_force=gforce)
    tab, _ = table(ev, pred, algo, "H200, corpus shapes (held out: parameters fitted on the five corpus GPUs)")
    meta = (path.parent / "README.md")
    out = ["## The H200 as another unseen GPU", "",
           f"`{path.parent.name}/{path.name}` (measurements/; {len(ev.op)} corpus shapes timed on a lent H200 "
           "the way the corpus was: PyTorch eager, fp32, CUDA events around one op; versions in "
           f"{'its README' if meta.is_file() else 'the run metadata'}: PyTorch 2.11 / cuDNN 9.19, not the corpus' "
           "2.1 / 8.9). Predicted with the parameters fitted on all five corpus GPUs and runtime "
           "`pytorch-eager`; nothing was fitted to these rows.", ""]
    out += tab
    long_ = np.flatnonzero(ev.latency_s >= 100e-6)
    if long_.size:
        sub = ev.take(long_)
        tab2, _ = table(sub, pred[long_], algo[long_],
                        f"H200, the {long_.size} rows measured at 100 us or more, eager prediction")
        # The kernel alone: no host dispatch floor (the pytorch-cudagraph runtime: kernel + gap).
        kpred, kalgo = gf.predict(sub, params, runtime="pytorch-cudagraph", gemm_force=gforce[long_])
        tab3, _ = table(sub, kpred, kalgo, f"H200, the same {long_.size} rows, kernel + gap only (no host floor)")
        out += tab2 + tab3
    out += ["The eager floors are the corpus hosts' (PyTorch 2.1 on the NeuSight machines): the H200's "
            "host and PyTorch 2.11 dispatch faster, so rows near the floor read too slow; that is a host, "
            "not a GPU, figure.", "", "Worst H200 rows:", ""] + worst(ev, pred, algo, n=10)
    return out


def tile_agreement(held, gforce) -> tuple[int, int, int]:
    """(GEMM rows, rows the table covered, rows where its tile and split are the corpus' own)."""
    truth = gt.corpus_forces(held)
    g = np.isin(held.op, ("linear", "bmm")) & (truth >= 0)
    return int(g.sum()), int(np.sum(g & (gforce >= 0))), int(np.sum(g & (gforce == truth)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--per-op-device", type=int, default=120)
    ap.add_argument("--eval-per-op-device", type=int, default=0, help="0 = every row")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=gf.ROUNDS,
                    help="most rounds of each coordinate search (default: gpu_fit.ROUNDS, run to convergence)")
    ap.add_argument("--fit-out", default=None)
    ap.add_argument("--doc", default=None)
    ap.add_argument("--h200", default=str(ROOT / "measurements" / "h200_kernels"
                                          / "h200_kernels_2026-11-30_run1.csv"),
                    help="corpus shapes timed on the H200 (held out: predicted, never fitted); '' to skip")
    args = ap.parse_args()
    ARGS.shared = args.shared
    root = gc.corpus_dir(Path(args.shared))
    t0 = time.time()
    sample = gc.load(root, per_op_device=args.per_op_device, seed=args.seed)
    ev = gc.load(root, per_op_device=args.eval_per_op_device or None, seed=args.seed + 1)
    t_load = time.time() - t0
    devices = sorted(set(sample.device.tolist()))
    print(f"fit sample {len(sample.op)} rows, evaluation {len(ev.op)} rows ({t_load:.0f} s)", flush=True)

    t0 = time.time()
    params, l0, l1 = gf.fit(sample, rounds=args.rounds)
    t_fit = time.time() - t0
    print("all five:", {k: round(v, 4) for k, v in params.items()}, f"loss {l0:.3f} -> {l1:.3f}", flush=True)

    archs: dict = {}

    def arch_of(dev):
        if dev not in archs:
            archs[dev] = load_hw(dev).processors["gpu"].arch
        return archs[dev]

    gemm_rows = np.isin(ev.op, ("linear", "bmm"))
    # Which majors' tables carry between GPUs (kernel names of all five, no latencies).
    tile_agree = gt.agreement_by_major(ev.take(np.flatnonzero(gemm_rows)), arch_of)
    majors = gt.trusted_majors(tile_agree)
    print("tile-choice agreement by major:", tile_agree, "trusted:", sorted(majors), flush=True)
    loo_tiles = {}
    loo_pred = np.empty(len(ev.op))
    loo_algo = np.empty(len(ev.op), dtype=np.int64)
    loo_params = {}
    t0 = time.time()
    for dev in devices:
        keep = np.flatnonzero(sample.device != dev)
        p, _, _ = gf.fit(sample.take(keep), rounds=args.rounds)
        loo_params[dev] = p
        m = np.flatnonzero(ev.device == dev)
        # cuBLAS's tile choice from the other GPUs' kernel names only.
        tiles = gt.build(ev.take(np.flatnonzero(gemm_rows & (ev.device != dev))), arch_of)
        held = ev.take(m)
        gforce = gt.table_forces(held, tiles, arch_of, majors)
        loo_tiles[dev] = tile_agreement(held, gforce)
        pr, al = gf.predict(held, p, gemm_force=gforce)
        loo_pred[m], loo_algo[m] = pr, al
        e = np.abs(pr / ev.latency_s[m] - 1)
        print(f"left out {dev}: median |error| {np.median(e) * 100:.1f}%", flush=True)
    t_loo = time.time() - t0
    _, loo_sum0 = table(ev, loo_pred, loo_algo, "")
    for (dev, c), v in sorted(loo_sum0.items()):
        print(f"  LOO {dev} {c}: {v * 100:.1f}%", flush=True)
    t0 = time.time()
    table_all = gt.build(ev.take(np.flatnonzero(gemm_rows)), arch_of)
    all_pred, all_algo = gf.predict(ev, params, gemm_force=gt.table_forces(ev, table_all, arch_of, majors))
    t_pred = time.time() - t0

    h200_doc: list[str] = []
    if args.h200 and Path(args.h200).is_file():
        h200_doc = h200_section(Path(args.h200), params, arch_of, majors)
        print("\n".join(h200_doc[:20]), flush=True)

    date = datetime.date.today().isoformat()
    if args.fit_out:
        lines = ["# Fitted parameters of the PyTorch GPU kernel model (augur_sim/engine/gpu_algos.py,",
                 "# augur_sim/hw/kmodel.py). Written by scripts/accuracy_gpu_kernels.py; do not edit by hand.",
                 "name: pytorch",
                 f"source: \"fitted on {date} by scripts/accuracy_gpu_kernels.py from the NeuSight corpus "
                 f"(corpora/neusight, PyTorch 2.1 fp32, CUDA events): {len(sample.op)} rows, at most "
                 f"{args.per_op_device} per (op, GPU), numpy default_rng({args.seed}); GPUs: "
                 f"{', '.join(devices)}; mean |log error| {l0:.3f} -> {l1:.3f}. Not fitted: 'dw' "
                 f"(no depthwise conv in the corpus) and 'gap_us' (not identifiable from eager timings): "
                 f"estimates (gpu_fit.NOT_FITTED). Loss: mean over (op class, GPU) of the median |log error|; "
                 f"kernel parameters on kernel-bound rows, floor parameters on every row\"",
                 "classes:"]
        # One set for every architecture (the corpus has one GPU per SM architecture, so a
        # class per architecture could not be cross-validated), except cuDNN's conv figures,
        # fitted again per compute-capability major (gpu_fit.MAJOR_PARAMS): a class per major
        # with conv rows, the shared set for the others.
        by_major = gf.major_classes(params)
        shared_archs = [a for a in FIT_ARCHS if gt.arch_major(a) not in by_major]
        for major in sorted(by_major):
            archs_m = [a for a in FIT_ARCHS if gt.arch_major(a) == major]
            dp = gf.device_params(params, archs_m[0])
            lines += [f"  {major}:",
                      f"    # The shared set with cuDNN's conv figures ({', '.join(gf.MAJOR_PARAMS)}) of this major.",
                      f"    archs: [{', '.join(archs_m)}]", "    params:"]
            lines += [f"      {k}: {dp[k]:.6g}" for k in PARAM_NAMES]
        lines += ["  all:", "    default: true", f"    archs: [{', '.join(shared_archs)}]", "    params:"]
        for k in PARAM_NAMES:
            lines.append(f"      {k}: {params[k]:.6g}")
        lines += ["leave_one_gpu_out:"]
        for dev, p in loo_params.items():
            keys = list(PARAM_NAMES) + sorted(k for k in p if gf.MAJOR_SEP in k)
            lines.append(f"  {dev}: {{{', '.join(f'{k}: {p[k]:.4g}' for k in keys)}}}")
        atomic_write(Path(args.fit_out), "\n".join(lines) + "\n")

    if args.doc:
        peaks = []
        for dev in devices:
            p = load_hw(dev).processors["gpu"]
            heavy = sustained_clock_ghz(p.clock_ghz, p.base_clock_ghz, p.tdp_w, p.units,
                                        p.flop_per_cycle_per_unit["fp32"], p.process_nm, params["fma_pj"])
            peaks.append(f"| {dev} | {p.arch} | {p.units} | {p.clock_ghz} | {p.base_clock_ghz or '-'} | "
                         f"{p.tdp_w:g} | {p.process_nm:g} | {heavy:.3f} | "
                         f"{p.peak_flops('fp32') / 1e12:.1f} | {p.dram_bw_gbs:g} |")
        t_loo_tab, loo_sum = table(ev, loo_pred, loo_algo, "Leave one GPU out (the accuracy targets)")
        t_all_tab, _ = table(ev, all_pred, all_algo, "Fitted on all five GPUs (in-sample)")
        mconv = ev.op == "conv"
        agree = float(np.mean(loo_algo[mconv] == ev.algo[mconv])) if mconv.any() else float("nan")
        eval_what = ("every row" if not args.eval_per_op_device else
                     f"at most {args.eval_per_op_device} per op and GPU, seed {args.seed + 1}")
        doc = ["# Accuracy of the GPU kernel model on the NeuSight corpus", "",
               f"Produced by `scripts/accuracy_gpu_kernels.py` on {date} ({machine_label(machine_info())}), not typed "
               f"by hand. Data: `../shared/corpora/neusight/` (PyTorch 2.1.0, CUDA 12.1, cuDNN 8.9, fp32, "
               f"one op timed with CUDA events; SOURCES.md there). Model: `augur_sim/engine/gpu_algos.py` "
               f"(conv algorithm choice and work, GEMM tiles, waves, split-K, bandwidth kernels, launch floor, "
               f"power-limited clock of GEMMs and convs); "
               f"{len(PARAM_NAMES) - len(gf.NOT_FITTED)} fitted parameters, one set for every architecture "
               f"except the streams' fraction of DRAM bandwidth, which has one figure per memory class "
               f"(`mem`: GDDR parts and Pascal's HBM2; `mem_hbm`: the HBM architectures "
               f"{', '.join(HBM_ARCHS)}, whose Volta-or-later memory controller NVIDIA's V100 whitepaper "
               f"credits with 1.5x GP100's delivered bandwidth), and cuDNN's conv figures "
               f"({', '.join(gf.MAJOR_PARAMS)}), fitted once more per compute-capability major from that "
               f"major's training GPUs (below) (`hwspecs/fits/pytorch.yaml`). Not fitted: "
               f"{', '.join(gf.NOT_FITTED)} (estimates; `augur_sim/measure/gpu_fit.py` says why).", "",
               "Fit (`augur_sim/measure/gpu_fit.fit`): the loss is the mean over (op class, GPU) of the "
               "median |log(predicted / measured)|, what the targets measure. The eager host's dispatch "
               "floor belongs to the machine that timed the corpus, not to its GPU (the hosts' floors "
               "differ by up to 1.7x), so it is fitted apart: the floor parameters "
               f"({', '.join(gf.FLOOR_PARAMS)}) on every row, the kernel parameters only on the rows at "
               f"least {gf.KERNEL_BOUND_X:g}x the fastest time of their op on their GPU, alternating; "
               "a slow host's floor-bound rows then cannot drag a GPU figure. Then cuDNN's conv figures "
               f"({', '.join(gf.MAJOR_PARAMS)}) are fitted again, the same way, on the conv rows of each "
               "compute-capability major alone (`gpu_fit.fit_majors`; the shared set as the start): cuDNN "
               "builds its conv kernels per architecture family (the corpus' main kernels are "
               "maxwell_scudnn_* / maxwell_sgemm_* on sm_60 and sm_61, volta_scudnn_* / volta_sgemm_* on "
               "sm_70 and sm_75), and the corpus shows the two GPUs of a family alike and the families apart: "
               "a straight line through each GPU's implicit-GEMM rows (0.5-8 ms) against the model's kernel "
               "time (leave-one-out parameters of the shared fit) has intercept 403 / 444 us and slope "
               "0.97 / 0.94 on the P100 / P4 (two hosts whose "
               "element-wise floors differ by 1.6x), 231 / 196 us and 0.77 / 0.73 on the T4 / V100. A left-out "
               "GPU takes its major's figures from the other GPU of its family; a major with no conv rows "
               "(the A100's sm_8, the H200's sm_9) the shared set.", "",
               f"Fit sample: {len(sample.op)} rows (at most {args.per_op_device} per op and GPU, numpy "
               f"`default_rng({args.seed})`); evaluation: {len(ev.op)} rows "
               f"({eval_what}). "
               f"Times: load {t_load:.0f} s, fit {t_fit:.0f} s, five leave-one-out fits {t_loo:.0f} s, "
               f"prediction of all evaluation rows {t_pred:.2f} s.", "",
               "Held-back GPUs (H100, L4, A100 80GB) are not in the corpus and were never looked up; their "
               "specs come from datasheets only.", "",
               "## Hardware (datasheets, `hwspecs/`)", "",
               "| GPU | arch | SMs | boost GHz | base GHz | board W | process nm | "
               "GEMM/conv clock GHz (power-limited, fitted fma_pj) | FP32 TFLOPS at boost | DRAM GB/s |",
               "|---|---|---|---|---|---|---|---|---|---|"] + peaks + [""]
        doc += ["GEMMs and convs run at the clock the board's power limit sustains under a full FMA "
                "load (`augur_sim/hw/power.py`): min(boost, TDP / (energy per FLOP x SMs x FP32 "
                "FLOP/clock/SM)), never below the base clock, with one energy per FLOP for every GPU "
                f"(`fma_pj` = {params['fma_pj']:.3g} pJ per FP32 FLOP at 16 nm, fitted on the corpus; "
                "scaled linearly with the process node). Element-wise kernels keep the boost clock.", ""]
        doc += ["## Algorithm rules (`CONV_ALGOS` in augur_sim/engine/gpu_algos.py)", "",
                "| algorithm | eligible for | source |", "|---|---|---|"]
        doc += [f"| {a} | {cond} | {src} |" for a, cond, src in CONV_ALGOS]
        doc += ["", "cuDNN's choice is modelled as the fastest eligible algorithm. The GEMMs inside convs, "
                "and linear/bmm where no cuBLAS tile table applies (below), take the fastest of the CTA tiles "
                + ", ".join(f"{int(a)}x{int(b)}" for a, b in SGEMM_TILES) + " (CUDA cores; tensor cores: "
                + ", ".join(f"{int(a)}x{int(b)}" for a, b in TC_TILES)
                + ") and split-K 1-64 while the tiles leave SMs idle (the corpus' linear rows show sgemm "
                "kernels with grid z up to the SM count); tiles run in waves of one per SM. cuDNN's "
                "CUDA-core implicit GEMM takes its own tiles, "
                + ", ".join(f"{int(a)}x{int(b)}" for a, b in IGEMM_TILES)
                + " (output pixels x channels: the scudnn_128x32/64/128 kernels and their grids), and "
                "never splits K (grid z = 1 on every such corpus row). A batched GEMM (bmm, Winograd's 36 "
                f"products) never takes a tile of fewer than {int(MIN_BATCHED_TILE)} outputs: 99.6-99.7% "
                "of the corpus' bmm rows on each GPU ran 64x64 or larger, however small the matrices. "
                "Softmax and LayerNorm read their "
                f"input `norm_passes` = {params['norm_passes']:.3g} times over. An eager op "
                "costs the p-norm of the host's dispatch floor and the kernel plus the GPU-side gap "
                f"(`gap_us` = {params['gap_us']:.3g} us, an estimate) plus the eager host's enqueue latency "
                f"(`lat_us` = {params['lat_us']:.3g} us; none under a CUDA graph) "
                f"(p = {params['overlap_p']:.3g} for bandwidth "
                f"kernels, {params['overlap_mm_p']:.3g} for cuDNN/cuBLAS calls; p = 1 would add them, a "
                "large p take the longer): short kernels hide behind the dispatch, long ones hide it. "
                "Where one warp instruction per clock fills an SM quadrant's 32 FP32 lanes (sm_86, sm_89, "
                "sm_90: `ISSUE_BOUND_FP32_ARCHS` in augur_sim/hw/kmodel.py; NVIDIA's architecture "
                "whitepapers) a CUDA-core tile takes 1 + 1/(2 sqrt(P)) times its lanes' time, P its outputs "
                "per thread: the operand loads' dispatch slots (`ffma_issue_factor`; threads per tile from "
                "the H200's kernel names). No corpus GPU is such an architecture, nor runs sm_90, where "
                "neither Winograd form is eligible.", ""]
        doc += ["## Conv algorithm census (the corpus' main kernel names)", ""] + census(ev)
        doc += [f"The model picks the fastest eligible algorithm; it agrees with the corpus' kernel on "
                f"{agree * 100:.0f}% of conv rows (leave-one-out parameters).", ""]
        doc += ["## Results", ""] + t_loo_tab + t_all_tab
        doc += ["### The hosts' dispatch floors", "",
                "The shortest time of each op on each GPU (2nd percentile of its rows, us): the eager "
                "host's dispatch, which the model fits once for every GPU (the corpus' hosts are not "
                "its GPUs). A left-out GPU whose host is slower than the others' reads too fast on "
                "every row near the floor, whatever its GPU model; a GPU cannot explain a floor that "
                "differs by op the way the P100's does (its gelu and LayerNorm floors are the other "
                "hosts', its other element-wise floors 1.6x theirs).", ""] + floors(ev)
        doc += ["### Worst rows (leave one GPU out)", ""] + worst(ev, loo_pred, loo_algo)
        doc += ["### cuBLAS tile choice on the left-out GPU", "",
                "The fit costs each training row with the tile and split-K its kernel name and grid "
                "show. A prediction looks cuBLAS's choice up in a table from the other GPUs of the "
                "same compute-capability major (measure/gpu_tiles.py), for the majors where that "
                "choice carries from one GPU to another on at least half the rows (measured on the "
                "kernel names of all five GPUs, no latencies: "
                + ", ".join(f"{m}: {s_}/{n} = {s_ / max(n, 1) * 100:.0f}%" for m, (n, s_) in sorted(tile_agree.items()))
                + f"; trusted: {', '.join(sorted(majors)) or 'none'}). The left-out GPU's kernel names "
                "enter only that one-bit decision per major. Elsewhere (and for a major with one "
                "GPU, e.g. sm_8, or none, e.g. the H200's sm_9) the model's fastest tile and split "
                "stand in.", "",
                "| GPU | sgemm rows | covered by the table | same tile and split as the corpus |", "|---|---|---|---|"]
        doc += [f"| {d} | {n} | {cov} ({cov / max(n, 1) * 100:.0f}%) | {same} ({same / max(n, 1) * 100:.0f}%) |"
                for d, (n, cov, same) in sorted(loo_tiles.items())] + [""]
        doc += TRIED
        doc += h200_doc
        doc += ["## Fitted parameters", "", "| parameter | all five | " +
                " | ".join(f"without {d}" for d in devices) + " |",
                "|---|---|" + "---|" * len(devices)]
        major_keys = sorted({k for p in [params, *loo_params.values()] for k in p if gf.MAJOR_SEP in k})
        for k in list(PARAM_NAMES) + major_keys:
            doc.append(f"| {k} | {params[k]:.4g} | " if k in params else f"| {k} | - | ")
            doc[-1] += " | ".join(f"{loo_params[d][k]:.4g}" if k in loo_params[d] else "-" for d in devices) + " |"
        doc.append("")
        atomic_write(Path(args.doc), "\n".join(doc) + "\n")


if __name__ == "__main__":
    main()
