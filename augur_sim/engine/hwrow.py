"""Hardware rows: one processor + runtime + precision + thread count as a float64 vector.

The numba kernels see hardware only through these rows, so a what-if or a sweep over a
thousand hypothetical devices is one array, not a thousand objects.
"""
from __future__ import annotations

import numpy as np

from ..errors import AugurError
from ..hw.model import ASSUMED_ASSOC, Cache
from ..hw.placement import place, private_caches
from ..hw.kmodel import (HBM_ARCHS, ISSUE_BOUND_FP32_ARCHS, NO_WINOGRAD_ARCHS, PARAMS, SMEM_BYTES_PER_CLOCK,
                         class_params, load_fit, resolve_math, uses_tensor_cores)
from ..hw.power import sustained_clock_ghz

MAX_LEVELS = 3
(H_PEAK, H_UNITS, H_DRAM_BW, H_MEM_EFF, H_ELT_EFF, H_NLEV,
 H_SIZE1, H_SIZE2, H_SIZE3, H_LINE1, H_LINE2, H_LINE3, H_BW1, H_BW2, H_BW3,
 H_GEMM_PEAK, H_HALF_M, H_HALF_N, H_HALF_K, H_TILE_M, H_TILE_N, H_DW_EFF, H_OVERHEAD,
 H_E_FLOP, H_E_DRAM, H_E1, H_E2, H_E3, H_STATIC_W, H_IS_GPU, H_ISSUE, H_TRANS, H_POW,
 H_CONV_EFF) = range(34)
# GPU kernel-level model (engine/gpu_algos.py, hw/kmodel.py): H_KM > 0 switches it on;
# per-SM rates at the math mode of each op class, then the runtime's fitted parameters.
(H_KM, H_SM_FP32, H_SM_GEMM, H_SM_CONV, H_TC_GEMM, H_TC_CONV, H_L2_BYTES,
 P_EMAX, P_AHALF, P_KHALF, P_IGEMM, P_WINO, P_MEM, P_L2X, P_FLOOR, P_KGAP, P_TRANS, P_POW,
 P_ALU, P_DW, P_FLIN, P_FCONV, P_FNORM, H_L2_BW) = range(34, 58)
# Power-limited clock (hw/power.py): the fitted energy per FLOP, and the sustained / boost
# clock ratio GEMM and conv rates already carry (kept for reports and tests).
P_FMA_PJ, H_CLOCK_X = 58, 59
# GPU-side cost of every kernel (launch latency + tail), the whole per-kernel floor of a
# CUDA-graph replay (engine/gpu_algos.op_time).
P_GAP = 60
# How the eager dispatch floor and a kernel overlap: the exponent of their norm
# (1: they add; large: the longer one; engine/gpu_algos.op_time).
# (P_OVL: bandwidth kernels; P_OVLMM: cuDNN / cuBLAS calls).
P_OVL, P_OVLMM = 61, 62
# Fraction of DRAM bandwidth streams reach on the HBM parts with Volta-or-later memory
# controllers (hw/kmodel.HBM_ARCHS); fill_kernel_model copies it into P_MEM for those.
P_MEMH = 63
# Softmax / LayerNorm rows (lowering C_REDUCE): input passes, a multiple of the bytes read.
P_NORMX = 64
# Eager PyTorch only: the host-side latency a long kernel still shows after its start event
# (the enqueue before it); 0 under a CUDA graph, where the GPU-side gap P_GAP remains.
P_LAT = 65
# 1 where cuDNN offers no Winograd conv on the architecture (hw/kmodel.NO_WINOGRAD_ARCHS).
H_NOWINO = 66
# 1 where one FFMA warp per clock fills a sub-partition's FP32 lanes (hw/kmodel.ISSUE_BOUND_FP32_ARCHS).
H_FFMA_ISSUE = 67
# Shared-memory bandwidth of one SM (bytes/s) at the clock GEMMs and convs hold: the operand
# roofline of a CTA tile's main loop (engine/gpu_algos.gemm_tile_time; hw/kmodel.SMEM_BYTES_PER_CLOCK).
H_SMEM_BW = 68
# Eager PyTorch running a whole network (engine/gpu_algos.pipeline_step): 1 when the host
# enqueues op after op while the GPU runs them (the GPU waits only when the host falls
# behind); P_HOST is the host's issue time of a tiny op (s), P_HLIN / P_HCONV / P_HNORM its
# multiples for an addmm, a cuDNN conv and a normalisation with parameters.
H_ASYNC, P_HOST, P_HLIN, P_HCONV, P_HNORM = 69, 70, 71, 72, 73
NHW = 74
H_SIZE = (H_SIZE1, H_SIZE2, H_SIZE3)
H_LINE = (H_LINE1, H_LINE2, H_LINE3)
H_BW = (H_BW1, H_BW2, H_BW3)
H_E = (H_E1, H_E2, H_E3)


def pick_processor(device, processor: str | None):
    procs = device.processors
    if processor is None:
        # A GPU, where the device has one, is what a deployment would use.
        gpus = [p for p in procs.values() if p.kind == "gpu"]
        return gpus[0] if gpus else next(iter(procs.values()))
    if processor in procs:
        return procs[processor]
    kinds = [p for p in procs.values() if p.kind == processor]
    if kinds:
        return kinds[0]
    raise AugurError(f"device '{device.name}' has no processor '{processor}'; it has: "
                     f"{', '.join(f'{n} ({p.kind})' for n, p in procs.items())}")


def pick_runtime(proc, runtime: str | None):
    """The spec's runtime `runtime` of `proc` (None: its default), as Processor.runtime."""
    return proc.runtime(runtime)


def resolve_runtime(proc, rt, placement):
    """A fitted runtime's parameters follow the core type the slowest thread runs on (a
    statically split loop ends with it); any other runtime is returned as is."""
    if placement is None or getattr(rt, "fitted", None) is None or not proc.clusters:
        return rt
    core = placement.clusters[placement.straggler].core_name
    return proc.fitted.get((rt.name, core), rt)


def cpu_placement(proc, threads: int | None = None, cores: str | None = None):
    """The Placement of a CPU run (None for a GPU; --threads/--cores on a GPU are errors)."""
    if proc.kind == "gpu":
        # Named as both spellings: the CLI's option and the API's keyword reach here alike.
        if threads is not None:
            raise AugurError(f"--threads (threads=) applies to CPU processors only; processor '{proc.name}' is a GPU "
                             f"(got {threads!r})")
        if cores is not None:
            raise AugurError(f"--cores (cores=) applies to CPU processors only; processor '{proc.name}' is a GPU")
        return None
    return place(proc, cores, threads)


def hw_row(proc, rt, precision: str = "fp32", threads: int | None = None,
           cores: str | None = None) -> np.ndarray:
    """Pack one processor/runtime at one precision into a row (see the H_* columns).

    CPU runs are placed by `augur_sim.hw.placement` (ncnn's big/little rule; default: the
    big cores, one thread each). A plain units/clock_ghz processor is one cluster: its peak
    is threads/units of the spec's (as before), and threads beyond its cores time-share them
    (T threads on C cores deliver T / ceil(T/C) cores' worth under static splitting). A
    clustered CPU's peak is T x the slowest placed thread's rate, with that cluster's L1/L2."""
    r = np.zeros(NHW, dtype=np.float64)
    pl = cpu_placement(proc, threads, cores)
    rt = resolve_runtime(proc, rt, pl)
    caches = list(proc.caches)
    if pl is None:
        units = proc.units
        r[H_PEAK] = proc.peak_flops(precision)
    elif not proc.clusters:
        units = pl.threads
        r[H_PEAK] = proc.peak_flops(precision) * units / (proc.units * pl.straggler_k)
    else:
        units = pl.threads
        r[H_PEAK] = pl.peak_flops(precision)
        ln = proc.shared_caches[0].line_bytes if proc.shared_caches else 64
        caches = [Cache(level=lv, size_bytes=size, line_bytes=ln, assoc=ASSUMED_ASSOC, assoc_assumed=True, shared=sh,
                        bw_gbs=bw / 1e9)
                  for lv, size, sh, bw in private_caches(pl)] + list(proc.shared_caches)
    r[H_UNITS] = units
    r[H_DRAM_BW] = proc.dram_bw_gbs * 1e9
    r[H_MEM_EFF] = rt.mem
    r[H_ELT_EFF] = rt.eltwise if rt.eltwise else rt.mem
    # Keep the outermost levels: they bound DRAM traffic (energy figures align with them).
    pj = list(proc.energy.cache_pj_per_byte)[-MAX_LEVELS:] if len(caches) > MAX_LEVELS \
        else list(proc.energy.cache_pj_per_byte)
    caches = caches[-MAX_LEVELS:]
    r[H_NLEV] = len(caches)
    for i, c in enumerate(caches):
        r[H_SIZE[i]] = c.size_bytes
        r[H_LINE[i]] = c.line_bytes
        r[H_BW[i]] = c.bw_gbs * 1e9
        if i < len(pj):
            r[H_E[i]] = pj[i] * 1e-12
    r[H_GEMM_PEAK] = rt.gemm_peak
    r[H_HALF_M], r[H_HALF_N], r[H_HALF_K] = rt.gemm_half_m, rt.gemm_half_n, rt.gemm_half_k
    r[H_TILE_M], r[H_TILE_N] = rt.tile_m, rt.tile_n
    r[H_DW_EFF] = rt.dw_conv
    r[H_OVERHEAD] = rt.dispatch_s or proc.dispatch_s
    r[H_E_FLOP] = proc.flop_pj(precision) * 1e-12
    r[H_E_DRAM] = proc.energy.dram_pj_per_byte * 1e-12
    r[H_STATIC_W] = proc.energy.static_w
    r[H_IS_GPU] = 1.0 if proc.kind == "gpu" else 0.0
    r[H_ISSUE] = getattr(rt, "issue_s", 0.0)
    # Per unit; 0 (the default) switches the transcendental term off.
    r[H_TRANS] = getattr(rt, "transcendental_per_s", 0.0)
    r[H_POW] = getattr(rt, "pow_per_s", 0.0)
    r[H_CONV_EFF] = getattr(rt, "conv_gemm", 1.0)
    if getattr(rt, "kernel_model", ""):
        fill_kernel_model(r, proc, rt, precision)
    return r


# Column indices by name, for the fitted parameters' table (hw/kmodel.py PARAMS).
_KM_COLUMNS = {n: v for n, v in globals().items() if n.startswith(("H_", "P_")) and isinstance(v, int)}


def fill_kernel_model(r, proc, rt, precision: str, params: dict | None = None,
                      pipeline: bool = True) -> None:
    """Write the kernel-model columns of hardware row r from the processor's SM facts and
    the fitted parameters of its architecture class (hw/kmodel.py).

    pipeline: an eager runtime (no graph_floor_us) costs a network as the asynchronous
    pipeline eager PyTorch runs (engine/gpu_algos.pipeline_step): each op's GPU time is its
    kernels + the GPU-side gap, as under a CUDA graph, and the host's issue time per op sets
    when the GPU may start it. False keeps the single-op, event-timed form the corpus was
    measured in (measure/gpu_fit.py: the host's synchronous dispatch floor per op)."""
    if proc.kind != "gpu":
        raise AugurError(f"runtime {rt.name!r}: the GPU kernel model needs a GPU processor")
    if params is None:
        params = class_params(load_fit(rt.kernel_model), proc.arch)
    clock_hz = proc.clock_ghz * 1e9
    fpc = proc.flop_per_cycle_per_unit
    conv_rate = resolve_math(proc, rt, precision, "conv")
    mm_rate = resolve_math(proc, rt, precision, "matmul")
    r[H_KM] = 1.0
    # GEMMs and convs are the loads that keep every lane busy: they run at the clock the
    # board's power limit sustains; element-wise kernels (memory-bound) at the boost clock.
    heavy_hz = 1e9 * sustained_clock_ghz(proc.clock_ghz, proc.base_clock_ghz, proc.tdp_w, proc.units,
                                         fpc["fp32"], proc.process_nm, float(params.get("fma_pj", 0.0)))
    r[H_CLOCK_X] = heavy_hz / clock_hz
    r[H_SM_FP32] = clock_hz * fpc["fp32"]
    r[H_SM_GEMM] = heavy_hz * fpc[mm_rate]
    r[H_SM_CONV] = heavy_hz * fpc[conv_rate]
    r[H_TC_GEMM] = 1.0 if uses_tensor_cores(proc, mm_rate) else 0.0
    r[H_TC_CONV] = 1.0 if uses_tensor_cores(proc, conv_rate) else 0.0
    shared = [c for c in proc.caches if c.shared]
    r[H_L2_BYTES] = shared[-1].size_bytes if shared else 0.0
    r[H_L2_BW] = shared[-1].bw_gbs * 1e9 if shared else proc.dram_bw_gbs * 1e9
    for name, col, scale in PARAMS:
        r[_KM_COLUMNS[col]] = float(params[name]) * scale
    if proc.arch in HBM_ARCHS:
        r[P_MEM] = r[P_MEMH]
    r[H_NOWINO] = 1.0 if proc.arch in NO_WINOGRAD_ARCHS else 0.0
    r[H_FFMA_ISSUE] = 1.0 if proc.arch in ISSUE_BOUND_FP32_ARCHS else 0.0
    r[H_SMEM_BW] = SMEM_BYTES_PER_CLOCK * heavy_hz
    if rt.graph_floor_s > 0.0:
        # A CUDA-graph replay: no host launch per kernel, only the GPU's own gap; the floor
        # is a minimum kernel time, not host work.
        _gpu_side_only(r, rt.graph_floor_s)
    elif pipeline:
        fill_eager_pipeline(r, rt)
    # The generic columns still drive energy and the bound labels; its overhead column is
    # the floor, which the kernel model already charges.
    r[H_OVERHEAD] = 0.0
    r[H_ISSUE] = 0.0


def fill_eager_pipeline(r, rt) -> None:
    """An eager kernel-model row that costs a whole network as an asynchronous pipeline.

    The GPU side of each op is what a CUDA-graph replay pays (kernels + P_GAP, each further
    kernel of the op P_GAP as well): no dispatch floor, no enqueue latency in front of the
    kernel, because those are host time, which the pipeline charges on the host's own clock.

    The host's issue time of a tiny op (P_HOST) is a property of the host, not of the GPU:
    the runtime's `issue_us` where the spec carries a host measurement (e.g. the H200's, the
    wall time of back-to-back ReLUs), else the corpus-fitted host enqueue latency `lat_us`
    (the latency a long kernel still shows after its start event: an enqueue, not the
    synchronous floor). The corpus' floor multiples for an addmm, a cuDNN conv and a
    normalisation with parameters (floor_linear_x, floor_conv_x, floor_norm_x) scale it: they
    are the only documented figure of how much more host work those calls take than a tiny
    op. Taken as ratios, not as the floors themselves: a synchronisation common to every
    event-timed op (which a network run does not have) sits in floor_us whole, but only
    dilutes a ratio ((S + d_class) / (S + d_tiny) < d_class / d_tiny), so if anything these
    multiples understate a class's extra host work."""
    host_s = rt.issue_s if rt.issue_s > 0.0 else r[P_LAT]
    r[H_ASYNC] = 1.0
    r[P_HOST] = host_s
    r[P_HLIN], r[P_HCONV], r[P_HNORM] = r[P_FLIN], r[P_FCONV], r[P_FNORM]
    _gpu_side_only(r, 0.0)           # no floor: op_time is the kernel + P_GAP exactly


def _gpu_side_only(r, floor_s: float) -> None:
    """Row r's ops cost only their GPU side: no host dispatch floor per op (the CUDA graph's
    minimum kernel time floor_s, or none), no host enqueue latency before a kernel, each
    further kernel of an op at most the gap a first one pays (the larger of P_GAP and the
    floor)."""
    r[P_FLOOR] = floor_s
    r[P_KGAP] = min(r[P_KGAP], max(r[P_GAP], floor_s))
    r[P_FLIN] = r[P_FCONV] = r[P_FNORM] = 1.0
    r[P_OVL] = r[P_OVLMM] = 8.0
    r[P_LAT] = 0.0
