"""Fit the GPU kernel model's portable parameters (hw/kmodel.PARAMS) to measured kernels.

Loss: mean |log(predicted / measured)| over the rows (robust to the corpus' outliers, and
what the accuracy targets (median |error|) reward). Minimised by a coordinate search in log
space with numpy: each parameter in turn is scaled by a ladder of factors within its
bounds, the best accepted, the ladder shrinks when nothing improves, and the search ends when
its steps are under 2%. Deterministic. ROUNDS caps the rounds of one search well above what a
fit of the corpus needs (the all-GPU fit is identical with 30 and 60): a search cut short
leaves parameters near their start values (before 2026-12-01 the report used 5 rounds, which
left `igemm` exactly at its start value 0.8).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..engine import hwrow as H
from ..engine.gpu_algos import predict_rows
from ..hw import load_hw
from .gpu_corpus import OP_CLASS
from .gpu_tiles import arch_major, corpus_forces
from ..engine.hwrow import fill_kernel_model
from ..hw.kmodel import PARAM_NAMES

# Starting point and bounds (file units, hw/kmodel.PARAMS). Not results: the fit moves them.
START = {"emax": 0.8, "ahalf": 8.0, "khalf": 32.0, "igemm": 0.8, "wino": 0.8, "mem": 0.8, "mem_hbm": 0.9, "l2x": 0.7,
         "floor_us": 8.0, "kgap_us": 2.0, "trans": 8.0, "pow": 20.0, "alu": 0.5, "dw": 0.3,
         "floor_linear_x": 2.0, "floor_conv_x": 1.0, "floor_norm_x": 1.5,
         "fma_pj": 20.0, "gap_us": 2.0,
         "overlap_p": 2.0, "overlap_mm_p": 1.2, "norm_passes": 1.5, "lat_us": 10.0}
BOUNDS = {"emax": (0.05, 1.0), "ahalf": (0.1, 256.0), "khalf": (0.1, 4096.0), "igemm": (0.05, 2.0),
          "wino": (0.05, 2.0), "mem": (0.05, 1.0), "mem_hbm": (0.05, 1.0), "l2x": (0.1, 1.0), "floor_us": (0.5, 50.0),
          "kgap_us": (0.1, 50.0), "trans": (0.1, 200.0), "pow": (0.1, 500.0), "alu": (0.01, 1.0),
          "dw": (0.01, 1.0), "floor_linear_x": (0.5, 10.0), "floor_conv_x": (0.5, 20.0),
          "floor_norm_x": (0.5, 10.0), "fma_pj": (1.0, 200.0),
          "gap_us": (0.3, 30.0), "overlap_p": (1.0, 16.0),
          "overlap_mm_p": (1.0, 16.0), "norm_passes": (1.0, 4.0), "lat_us": (0.1, 50.0)}
# Kept at START, not fitted (estimates, docs/ACCURACY_GPU_KERNELS.md says so):
# - dw: not identifiable (no depthwise conv in the corpus).
# - gap_us, the GPU-side time each kernel adds under a CUDA graph: not identifiable from
#   eager timings, where a long kernel's intercept (14-24 us on the corpus hosts) is mostly
#   host launch work a graph does not have; fitted freely it wandered from 0.3 to 24 us
#   between leave-one-out fits. Held at 2 us, the same estimate as the runtimes'
#   graph_floor_us (the shortest kernel of a graph replay).
NOT_FITTED = ("dw", "gap_us")
LOSS = "median"
# The eager host's parameters, fitted on every row (fit()); the rest on kernel-bound rows.
FLOOR_PARAMS = ("floor_us", "floor_linear_x", "floor_conv_x", "floor_norm_x", "overlap_p", "overlap_mm_p",
                "lat_us")
KERNEL_BOUND_X = 3.0
ROUNDS = 30
# cuDNN's conv parameters, fitted once more per compute-capability major (fit_majors): cuDNN
# builds its conv kernels per architecture family (the corpus' main kernels are
# maxwell_scudnn_* / maxwell_sgemm_* on sm_60 and sm_61, volta_scudnn_* / volta_sgemm_* on
# sm_70 and sm_75), so the implicit-GEMM and fused-Winograd kernels' efficiency and the
# per-call cost of a cuDNN conv are properties of that family, not of one board. The corpus
# agrees: a straight line through each GPU's implicit-GEMM rows (measured against the
# model's kernel time, 0.5-8 ms) has intercept 403 / 444 us and slope 0.97 / 0.94 on the
# P100 / P4 (two different hosts), 231 / 196 us and 0.77 / 0.73 on the T4 / V100.
# A major without a training GPU (sm_8: the A100 has no conv rows; sm_9) keeps the shared
# figures. Written as 'name@major' keys beside the shared ones (device_params).
MAJOR_PARAMS = ("igemm", "wino", "floor_conv_x")
MAJOR_SEP = "@"


def device_params(params: dict, arch: str) -> dict:
    """The parameters a GPU of architecture `arch` is costed with: the shared ones, with
    its compute-capability major's own figures where the fit has them ('igemm@sm_6')."""
    out = {k: v for k, v in params.items() if MAJOR_SEP not in k}
    out.update(major_classes(params).get(arch_major(arch), {}))
    return out


def major_classes(params: dict) -> dict:
    """{major: {name: value}} of the per-major figures in `params` (fit_majors)."""
    out: dict = {}
    for k, v in params.items():
        if MAJOR_SEP in k:
            name, m = k.split(MAJOR_SEP, 1)
            out.setdefault(m, {})[name] = v
    return out


def hw_rows(devices, runtime: str, params: dict, precision: str = "fp32") -> np.ndarray:
    """One kernel-model hardware row per device name, with the given parameters (each
    device's major's own figures where `params` has them: device_params)."""
    out = []
    for name in devices:
        proc = load_hw(name).processors["gpu"]
        rt = proc.runtimes[runtime]
        base = H.hw_row(proc, dataclasses.replace(rt, kernel_model=""), precision)
        # One op timed alone between CUDA events: the synchronous form, not a network's pipeline.
        fill_kernel_model(base, proc, rt, precision, device_params(params, proc.arch), pipeline=False)
        out.append(base)
    return np.array(out)


def predict(corpus, params: dict, runtime: str = "pytorch-eager", force_algo: bool = False,
            gemm_force=None):
    """(predicted seconds, algorithm) for every corpus row on its own device. gemm_force:
    per row, the cuBLAS tile/split code to cost a linear/bmm with (measure/gpu_tiles.py;
    -1 or None: the model's fastest candidate)."""
    devs = sorted(set(corpus.device.tolist()))
    hws = hw_rows(devs, runtime, params)
    idx = np.array([devs.index(d) for d in corpus.device], dtype=np.int64)
    force = corpus.algo if force_algo else np.full(len(corpus.op), -1, dtype=np.int64)
    force = np.where(corpus.op == "conv", force, -1).astype(np.int64)
    if gemm_force is not None:
        force = np.where(gemm_force >= 0, gemm_force, force).astype(np.int64)
    return predict_rows(corpus.rows, hws, idx, force)


def class_weights(corpus) -> np.ndarray:
    """Each (op class, device) pair weighs the same in the loss, whatever its row count."""
    key = np.array([f"{OP_CLASS[o]}|{d}" for o, d in zip(corpus.op, corpus.device)])
    _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    return 1.0 / cnt[inv]


def class_groups(corpus) -> np.ndarray:
    """Per row, the index of its (op class, device) pair."""
    key = np.array([f"{OP_CLASS[o]}|{d}" for o, d in zip(corpus.op, corpus.device)])
    return np.unique(key, return_inverse=True)[1]


def loss(corpus, params: dict, weights=None, force_algo: bool = False, gemm_force=None,
         groups=None) -> float:
    """Mean |log(predicted / measured)| (weighted); with groups, the mean over the groups of
    each group's median |log error| (what the accuracy targets measure)."""
    t, _ = predict(corpus, params, force_algo=force_algo, gemm_force=gemm_force)
    e = np.abs(np.log(t / corpus.latency_s))
    if groups is not None:
        return float(np.mean([np.median(e[groups == g]) for g in range(int(groups.max()) + 1)]))
    return float(np.average(e, weights=weights))


def kernel_bound(corpus) -> np.ndarray:
    """Rows whose time is mostly the GPU's: at least KERNEL_BOUND_X times the shortest time of
    the same op on the same device (that minimum is the host's dispatch floor)."""
    key = np.array([f"{o}|{d}" for o, d in zip(corpus.op, corpus.device)])
    _, inv = np.unique(key, return_inverse=True)
    floor_s = np.full(inv.max() + 1, np.inf)
    np.minimum.at(floor_s, inv, corpus.latency_s)
    return corpus.latency_s >= KERNEL_BOUND_X * floor_s[inv]


def _search(corpus, cur: dict, names, rounds: int, weights, gforce) -> tuple[dict, float]:
    """Coordinate search over `names` from `cur`; (parameters, loss)."""
    groups = class_groups(corpus) if LOSS == "median" else None
    best = loss(corpus, cur, weights, gemm_force=gforce, groups=groups)
    ladder = np.array([0.5, 0.7, 0.85, 1.0 / 0.85, 1.0 / 0.7, 2.0])
    for _ in range(rounds):
        improved = False
        for n in names:
            lo, hi = BOUNDS[n.split(MAJOR_SEP)[0]]
            for f in ladder:
                v = float(np.clip(cur[n] * f, lo, hi))
                if v == cur[n]:
                    continue
                trial = dict(cur, **{n: v})
                lt = loss(corpus, trial, weights, gemm_force=gforce, groups=groups)
                if lt < best - 1e-6:
                    best, cur, improved = lt, trial, True
        if not improved:
            ladder = np.sqrt(ladder)
            if ladder.max() < 1.02:
                break
    return cur, best


def fit(corpus, start: dict | None = None, rounds: int = ROUNDS, weights=None,
        free=None) -> tuple[dict, float, float]:
    """(fitted parameters, start loss, final loss).

    The host's dispatch floor is a property of the machine that timed the corpus, not of its
    GPU (the corpus hosts' floors differ by 1.7x), so it is fitted apart: the kernel
    parameters on the kernel-bound rows only (kernel_bound), the floor parameters
    (FLOOR_PARAMS) on every row with the kernel parameters held, twice over. A slow host's
    floor-bound rows then cannot drag a GPU figure (bandwidth, efficiency) to mimic it.
    A whole fit (no `free` subset, the class weights) then fits cuDNN's conv figures per
    compute-capability major (fit_majors)."""
    cur = dict(START if start is None else start)
    names = [n for n in PARAM_NAMES if n not in NOT_FITTED and (free is None or n in free)]
    floor_names = [n for n in names if n in FLOOR_PARAMS]
    kernel_names = [n for n in names if n not in FLOOR_PARAMS]
    # Training rows are costed with the cuBLAS kernel they ran (its name and grid say which).
    gforce = corpus_forces(corpus)
    kb = np.flatnonzero(kernel_bound(corpus))
    kcorpus = corpus.take(kb)
    if weights is None:
        w_all, w_k = class_weights(corpus), class_weights(kcorpus)
    else:
        w_all, w_k = weights, weights[kb]
    first = loss(corpus, cur, w_all, gemm_force=gforce,
                 groups=class_groups(corpus) if LOSS == "median" else None)
    cur, _ = _search(corpus, cur, floor_names, rounds, w_all, gforce)
    for _ in range(2):
        cur, _ = _search(kcorpus, cur, kernel_names, rounds, w_k, gforce[kb])
        cur, best = _search(corpus, cur, floor_names, rounds, w_all, gforce)
    if free is None and weights is None:
        cur = fit_majors(corpus, cur, rounds)
        best = loss(corpus, cur, gemm_force=gforce, groups=class_groups(corpus) if LOSS == "median" else None)
    return cur, first, best


def fit_majors(corpus, params: dict, rounds: int = ROUNDS) -> dict:
    """`params` plus MAJOR_PARAMS fitted again for each compute-capability major with conv
    rows in `corpus` ('igemm@sm_6', ...), from the shared figures, on that major's conv rows
    alone, the same way fit() does: the kernel figures on the kernel-bound rows, the floor
    multiple on every row, alternating. Those figures change no other row, so each major's
    search minimises the whole loss. The shared figures stay as fitted: a GPU of a major
    nobody measured (the A100's sm_8 has no conv rows; the H200's sm_9) is costed with them."""
    cur = dict(params)
    archs = {d: load_hw(d).processors["gpu"].arch for d in sorted(set(corpus.device.tolist()))}
    conv = corpus.op == "conv"
    for major in sorted({arch_major(a) for d, a in archs.items() if np.any(conv & (corpus.device == d))}):
        devs = [d for d, a in archs.items() if arch_major(a) == major]
        sub = corpus.take(np.flatnonzero(conv & np.isin(corpus.device, devs)))
        kb = np.flatnonzero(kernel_bound(sub))
        ksub = sub.take(kb)
        w_all, w_k = class_weights(sub), class_weights(ksub)
        none_all, none_k = np.full(len(sub.op), -1), np.full(len(ksub.op), -1)
        names = {n: f"{n}{MAJOR_SEP}{major}" for n in MAJOR_PARAMS}
        for n, key in names.items():
            cur[key] = cur[n]
        kernel_names = [names[n] for n in MAJOR_PARAMS if n not in FLOOR_PARAMS]
        floor_names = [names[n] for n in MAJOR_PARAMS if n in FLOOR_PARAMS]
        cur, _ = _search(sub, cur, floor_names, rounds, w_all, none_all)
        for _ in range(2):
            cur, _ = _search(ksub, cur, kernel_names, rounds, w_k, none_k)
            cur, _ = _search(sub, cur, floor_names, rounds, w_all, none_all)
    return cur
