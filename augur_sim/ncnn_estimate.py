"""`estimate(..., runtime="ncnn")`: a network as benchncnn runs it on a CPU of any spec.

The ncnn runtime needs nothing in the spec beyond its CPU clusters: the algorithm rules
come from ncnn's sources (engine/ncnn_algos.py), the efficiencies from the portable fit
(measurements/ncnn/fit.yaml) by the ISA class of the core the slowest thread runs on.
Per layer, the estimate says which algorithm ncnn used (LayerEstimate.algorithm).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .engine.kernels import BOUND_COMPUTE, BOUND_DRAM, BOUND_NONE, BOUND_OVERHEAD
from .engine.memory import POLICIES, footprint
from .engine.ncnn_algos import A_NOOP, NCNN_FUSION, X_ALGO, ncnn_rows
from .engine.ncnn_cost import N_EB_ACT, PARAM_NAMES, kernel_costs
from .engine.ncnn_hw import ncnn_hw, with_net
from .errors import AugurError
from .evaluate import lowered
from .hw.model import Runtime
from .measure.ncnn_params import DEFAULT_FIT, load_fit
from .result import DEFAULT_RUNTIME_MIB, MAX_RUNTIME_MIB, assemble


def ncnn_runtime(fit_source: str, isa_class: str, describe: str) -> Runtime:
    """A Runtime record for reports (the ncnn path does not use its efficiency fields)."""
    return Runtime(name="ncnn", stack=f"ncnn CPU (benchncnn defaults), {describe}",
                   source=f"fitted: {fit_source}, class {isa_class}", gemm_peak=1.0, gemm_half_m=0.0,
                   gemm_half_n=0.0, gemm_half_k=0.0, tile_m=1, tile_n=1, dw_conv=1.0, mem=1.0, eltwise=1.0,
                   fusion=NCNN_FUSION)


def estimate_ncnn(graph, device, proc, precision: str, cores: str | None, threads: int | None, policy: str,
                  conventions, runtime_mib, fit_path=None):
    if precision != "fp32":
        # benchncnn picks the precision itself: fp16 where the core computes in fp16, int8
        # for the quantised (_int8) networks.
        raise AugurError("the ncnn runtime chooses precision by core and network (fp16 storage and "
                         "arithmetic on ARMv8.2 cores with FP16, int8 for quantised layers); drop --precision")
    hw = ncnn_hw(proc, cores, threads)
    fit = load_fit(fit_path)
    params = fit.params(hw.isa_class, hw.caps.design or hw.caps.name, hw.caps.family)
    low = lowered(graph, "fp32", NCNN_FUSION, conventions)
    nr = ncnn_rows(graph, low, hw.arch)
    row = with_net(hw.row, float(low.total.weight_elems))
    kc = kernel_costs(nr.x, row, params)
    res = np.zeros((low.n, 7))
    res[:, 0] = kc[:, 0]
    res[:, 1] = kc[:, 1]
    res[:, 2] = kc[:, 2]
    # DRAM bytes are not tracked separately by the ncnn model (it charges a kernel's bytes to
    # cache or DRAM as a whole); report 0 rather than a number it did not compute.
    busy = np.maximum(kc[:, 1], kc[:, 2])
    res[:, 4] = np.where(nr.x[:, X_ALGO] == A_NOOP, BOUND_NONE,
                         np.where(kc[:, 3] > busy, BOUND_OVERHEAD,
                                  np.where(kc[:, 1] >= kc[:, 2], BOUND_COMPUTE, BOUND_DRAM)))
    e = proc.energy
    res[:, 5] = low.rows[:, 5] * e.flop_pj("fp16" if row[N_EB_ACT] == 2 else "fp32") * 1e-12 + e.static_w * res[:, 0]
    mib = DEFAULT_RUNTIME_MIB["cpu"] if runtime_mib is None else runtime_mib
    if not np.isfinite(mib) or mib < 0 or mib > MAX_RUNTIME_MIB:
        raise AugurError(f"runtime memory must be a non-negative number of MiB up to {MAX_RUNTIME_MIB}, got {mib}")
    fps = {p: footprint(graph, "fp16" if row[N_EB_ACT] == 2 else "fp32", p, int(mib * 2**20),
                        low.total.weight_elems) for p in POLICIES}
    src = str(fit_path or DEFAULT_FIT.relative_to(DEFAULT_FIT.parents[2]))
    if fit.d.shape[0] == 0:
        src += " (absent: unfitted starting values)"
    rt = ncnn_runtime(src, hw.isa_class if hw.isa_class in fit.classes else f"{hw.isa_class} -> default",
                      hw.describe)
    # Report the precision ncnn stores activations in on this core (fp16 on ARMv8.2 FP16 cores).
    store = "fp16" if row[N_EB_ACT] == 2 else "fp32"
    est = assemble(graph, device, proc, rt, low, res, store, threads, policy, fps, conventions)
    est.assumptions["ncnn"] = {
        "placement": hw.describe, "isa_class": hw.isa_class, "arch": hw.arch,
        "core_design": hw.caps.design, "pipeline_family": hw.caps.family,
        "fp16_arithmetic": bool(hw.caps.fp16_arith), "activation_bytes": int(row[N_EB_ACT]),
        "algorithms": {k: a for k, a in zip(nr.kernel_names, nr.algos) if a != "noop"},
        "parameters": dict(zip(PARAM_NAMES, (float(v) for v in params))),
    }
    return dataclasses.replace(est, algorithms=dict(zip(nr.kernel_names, nr.algos)))
