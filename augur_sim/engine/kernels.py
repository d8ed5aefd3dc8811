"""The cost kernels: every lowered kernel against every hardware row, in numba.

    t = max(F / (P * eta_c) + sum_k T_k / (R_k * units), max_level Q_level / (B_level * eta_m)) + t0

(DESIGN.md §3; T_k = transcendental evaluations of class k (exp-class, pow), R_k = their
rate per unit from the runtime; a rate of 0 switches its term off)

eta_c falls for small or skinny GEMMs (saturating in each of M, N, K), for output tiles
that leave units idle (waves = ceil(tiles / units)), and for depthwise/direct kernels.
Q_level comes from the analytical cache model in traffic.py, level by level.
"""
from __future__ import annotations

import math
from pathlib import Path

import numba
import numpy as np

from ..lowering import (C_BATCH, C_CH, C_CLS, C_ELEM_BYTES, C_FLOPS, C_GCOUNT, C_HIN, C_HOUT, C_IM2COL,
                     C_IN_BYTES, C_K, C_KH, C_KW, C_M, C_N, C_OUT_BYTES, C_POW, C_SH, C_SW, C_TRANS, C_W_BYTES,
                     C_WIN, C_WOUT, C_WSHARED, DIRECT, GEMM, NOOP)
from .hwrow import (H_BW, H_DRAM_BW, H_DW_EFF, H_E, H_E_DRAM, H_E_FLOP, H_ELT_EFF, H_GEMM_PEAK,
                    H_HALF_K, H_HALF_M, H_HALF_N, H_IS_GPU, H_LINE, H_MEM_EFF, H_NLEV, H_OVERHEAD, H_PEAK,
                    H_ISSUE, H_SIZE, H_STATIC_W, H_POW, H_TILE_M, H_TILE_N, H_TRANS, H_UNITS, H_CONV_EFF)
from .gpu_algos import kernel_time, pipeline_step
from .hwrow import H_KM, P_FLOOR
from .traffic import (direct_conv_traffic_bytes, gemm_traffic_bytes, io_lower_bound_bytes,
                      stream_traffic_bytes)

def _drop_stale_cache() -> None:
    """numba keys this module's on-disk cache on this file alone, but its kernels inline
    code from gpu_algos.py: when only that file changes, the cached machine code would
    silently keep the old model. Drop this module's cached entries when it changed."""
    here = Path(__file__)
    dep = here.with_name("gpu_algos.py").stat()
    cache = here.parent / "__pycache__"
    stamp = cache / "kernels.gpu_algos.stamp"
    key = f"{dep.st_mtime_ns}:{dep.st_size}"
    try:
        if stamp.read_text() == key:
            return
    except OSError:
        pass
    try:
        for f in cache.glob("kernels.*.nb[ic]"):
            f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(key)
    except OSError:
        pass  # a read-only install: numba then cannot cache either


_drop_stale_cache()

BOUND_COMPUTE, BOUND_DRAM, BOUND_CACHE, BOUND_OVERHEAD, BOUND_NONE = 0, 1, 2, 3, 4
BOUND_NAMES = ("compute", "memory", "cache", "overhead", "none")

# Tuple constants are frozen into the compiled code.
_HS, _HL, _HB, _HE = H_SIZE, H_LINE, H_BW, H_E


@numba.njit(cache=True)
def gemm_efficiency(M, N, K, count, h):
    """Achieved fraction of peak for `count` GEMMs of M x N x K on hardware row h."""
    shape = (M / (M + h[H_HALF_M])) * (N / (N + h[H_HALF_N])) * (K / (K + h[H_HALF_K]))
    tiles = math.ceil(M / h[H_TILE_M]) * math.ceil(N / h[H_TILE_N]) * count
    units = h[H_UNITS]
    waves = math.ceil(tiles / units)
    util = tiles / (waves * units)
    return h[H_GEMM_PEAK] * shape * util


@numba.njit(cache=True)
def direct_efficiency(planes, h):
    """Depthwise / element-wise kernels: one plane (channel of one image) per unit at a time."""
    units = h[H_UNITS]
    waves = math.ceil(planes / units)
    return h[H_DW_EFF] * planes / (waves * units)


@numba.njit(cache=True)
def level_traffic(r, cache_bytes, line_bytes):
    """Bytes crossing into a cache of this size from the level below, for one kernel row r."""
    cls = int(r[C_CLS])
    eb = r[C_ELEM_BYTES]
    if cls == GEMM:
        M, N, K, cnt = r[C_M], r[C_N], r[C_K], r[C_GCOUNT]
        q = gemm_traffic_bytes(M, N, K, cnt, eb, cache_bytes, line_bytes)
        if r[C_IM2COL] > 0.0:
            # im2col reads the input and writes a K x N buffer that the GEMM then reads as B.
            # A buffer that fits stays on chip (its read is a hit); one that does not is
            # written back and re-read (the re-read is already in the GEMM's traffic).
            q += r[C_IN_BYTES]
            col = K * N * eb
            if col <= cache_bytes * 0.5:
                q -= col * cnt
            else:
                q += col * cnt
        # Each GEMM above reads its weights; a batch shares one weight set, which stays
        # resident when it fits, so it is then read once.
        w = r[C_W_BYTES]
        batch = r[C_BATCH]
        if r[C_WSHARED] > 0.0 and batch > 1.0 and w <= cache_bytes * 0.5:
            q -= w * (batch - 1.0)
        groups = max(cnt / max(batch, 1.0), 1.0)
        lb = io_lower_bound_bytes(M, N * max(batch, 1.0), K, groups, eb, cache_bytes)
        comp = stream_traffic_bytes(r[C_IN_BYTES], r[C_OUT_BYTES], w, line_bytes)
        return max(q, comp, lb)
    if cls == DIRECT:
        q = direct_conv_traffic_bytes(r[C_CH], r[C_KH], r[C_KW], r[C_HIN], r[C_WIN], r[C_HOUT],
                                      r[C_WOUT], r[C_SH], r[C_SW], r[C_BATCH], eb, cache_bytes,
                                      line_bytes)
        # Fused epilogue operands (a residual add) stream in on top.
        host_in = r[C_CH] * r[C_HIN] * r[C_WIN] * r[C_BATCH] * eb
        extra = r[C_IN_BYTES] - host_in
        if extra > 0.0:
            q += extra
        return max(q, stream_traffic_bytes(r[C_IN_BYTES], r[C_OUT_BYTES], r[C_W_BYTES], line_bytes))
    if cls == NOOP:
        return 0.0
    return stream_traffic_bytes(r[C_IN_BYTES], r[C_OUT_BYTES], r[C_W_BYTES], line_bytes)


@numba.njit(cache=True)
def cost_one(r, h, out):
    """Fill out[0:7] = time_s, compute_s, memory_s, dram_bytes, bound, energy_j, onchip_bytes,
    for a hardware row of the generic roofline (H_KM == 0; cost_one_km prices the others).
    Two entry points, not a branch on h[H_KM], so that a CPU estimate never compiles the
    GPU kernel model: numba compiles every function a compiled function can reach."""
    cls = int(r[C_CLS])
    for i in range(7):
        out[i] = 0.0
    if cls == NOOP:
        out[4] = BOUND_NONE
        return
    F = r[C_FLOPS]
    if cls == GEMM:
        # A skinny GEMM (a batch-1 FC is a GEMV) falls back to vector code: it never runs
        # below the efficiency of a plain vector loop over the same outputs.
        eta = gemm_efficiency(r[C_M], r[C_N], r[C_K], r[C_GCOUNT], h)
        if r[C_KH] > 0.0:
            # A convolution (only conv rows carry a kernel height) runs as implicit GEMM or
            # im2col + GEMM, at the runtime's fraction of a plain GEMM's efficiency.
            eta *= h[H_CONV_EFF]
        eta = max(eta, direct_efficiency(max(r[C_M] * r[C_N] * r[C_GCOUNT] / 4096.0, 1.0), h))
        meff = h[H_MEM_EFF]
    elif cls == DIRECT:
        eta = direct_efficiency(r[C_CH] * r[C_BATCH], h)
        meff = h[H_MEM_EFF]
    else:
        eta = direct_efficiency(max(r[C_OUT_BYTES] / (r[C_ELEM_BYTES] * 4096.0), 1.0), h)
        meff = h[H_ELT_EFF]
    t_c = F / (h[H_PEAK] * max(eta, 1e-6))
    # Transcendentals (LRN's pow, sigmoid's exp, ...) run in library code, not on the FMA
    # pipes: their own rate per unit, spread over the units the kernel keeps busy. A spec
    # without the rate (0) has no such term.
    if r[C_TRANS] > 0.0 and h[H_TRANS] > 0.0:
        t_c += r[C_TRANS] / (h[H_TRANS] * h[H_UNITS])
    if r[C_POW] > 0.0 and h[H_POW] > 0.0:
        t_c += r[C_POW] / (h[H_POW] * h[H_UNITS])
    nlev = int(h[H_NLEV])
    # Stream kernels (element-wise, pooling, LRN, concat...) touch each byte once, so where
    # their data lives decides their speed. A stream whose whole working set fits in half
    # of a cache level is resident there (its producer just wrote it; constants stay from
    # the previous run): that level and those outside it take no misses. Measured on a
    # 2-core Xeon VM (docs/ACCURACY.md): an Add of 3 x 200 KiB runs at L2 speed, 3 x 3 MiB
    # at L3 speed, only arrays far beyond L3 at DRAM speed. Depthwise (direct) convs stream
    # the same way on a CPU (each input element is read for its k x k window while it is
    # in L1): timed inside chains (what a network does), they run at the speed of the level
    # that holds their working set, not of DRAM.
    resident = nlev
    if cls != GEMM and (cls != DIRECT or h[H_IS_GPU] == 0.0):
        ws = r[C_IN_BYTES] + r[C_OUT_BYTES] + r[C_W_BYTES]
        for i in range(nlev):
            if ws <= 0.5 * h[_HS[i]]:
                resident = i
                break
    dram = 0.0
    t_cache = 0.0
    e_mem = 0.0
    onchip = 0.0
    # Level i's misses are served by level i+1 (DRAM after the last level).
    for i in range(nlev):
        q = level_traffic(r, h[_HS[i]], h[_HL[i]]) if i < resident else 0.0
        if i + 1 < nlev:
            t = q / (h[_HB[i + 1]] * meff)
            if t > t_cache:
                t_cache = t
            e_mem += q * h[_HE[i + 1]]
            onchip += q
        else:
            dram = q
    if nlev == 0:
        dram = stream_traffic_bytes(r[C_IN_BYTES], r[C_OUT_BYTES], r[C_W_BYTES], 64.0)
    t_d = dram / (h[H_DRAM_BW] * meff)
    e_mem += dram * h[H_E_DRAM]
    t_m = max(t_d, t_cache)
    t0 = h[H_OVERHEAD]
    t = max(t_c, t_m) + t0
    # An asynchronous runtime issues the next kernel while this one runs: a kernel shorter
    # than the host's issue time leaves the device waiting for the host.
    issue = h[H_ISSUE]
    if issue > t:
        t = issue
    if t0 > max(t_c, t_m) or issue >= t and issue > 0.0:
        bound = BOUND_OVERHEAD
    elif t_c >= t_m:
        bound = BOUND_COMPUTE
    elif t_d >= t_cache:
        bound = BOUND_DRAM
    else:
        bound = BOUND_CACHE
    out[0] = t
    out[1] = t_c
    out[2] = t_m
    out[3] = dram
    out[4] = bound
    out[5] = F * h[H_E_FLOP] + e_mem + h[H_STATIC_W] * t
    out[6] = onchip


@numba.njit(cache=True)
def cost_one_km(r, h, out):
    """cost_one for a hardware row whose runtime names a GPU kernel model (H_KM > 0)."""
    for i in range(7):
        out[i] = 0.0
    if int(r[C_CLS]) == NOOP:
        out[4] = BOUND_NONE
        return
    _cost_kernel_model(r, h, out)


@numba.njit(cache=True)
def _cost_kernel_model(r, h, out):
    """A row whose runtime names a GPU kernel model (engine/gpu_algos.py)."""
    t, compute_bound, _ = kernel_time(r, h, -1)
    dram = stream_traffic_bytes(r[C_IN_BYTES], r[C_OUT_BYTES], r[C_W_BYTES], 128.0)
    out[0] = t
    out[1] = t if compute_bound else 0.0
    out[2] = 0.0 if compute_bound else t
    out[3] = dram
    if h[P_FLOOR] >= 0.5 * t:
        out[4] = BOUND_OVERHEAD
    else:
        out[4] = BOUND_COMPUTE if compute_bound else BOUND_DRAM
    out[5] = r[C_FLOPS] * h[H_E_FLOP] + dram * h[H_E_DRAM] + h[H_STATIC_W] * t
    out[6] = 0.0


@numba.njit(cache=True)
def cost_in_pipeline(r, h, out, clock):
    """cost_one_km, then the op's place in an eager network's asynchronous pipeline
    (gpu_algos.pipeline_step; clock carries the host's and the GPU's time from op to op):
    its time becomes what it adds to the network's end, its GPU time plus any wait for the
    host, labelled overhead-bound when the wait is at least half of it."""
    cost_one_km(r, h, out)
    gpu_s = out[0]
    t = pipeline_step(r, h, gpu_s, clock)
    if t > gpu_s:
        out[0] = t
        out[5] += h[H_STATIC_W] * (t - gpu_s)
        if t - gpu_s >= 0.5 * t:
            out[4] = BOUND_OVERHEAD


@numba.njit(cache=True)
def _matrix(rows, hws):
    out = np.empty((hws.shape[0], rows.shape[0], 7), dtype=np.float64)
    for p in range(hws.shape[0]):
        for l in range(rows.shape[0]):
            cost_one(rows[l], hws[p], out[p, l])
    return out


@numba.njit(cache=True)
def _matrix_km(rows, hws):
    out = np.empty((hws.shape[0], rows.shape[0], 7), dtype=np.float64)
    for p in range(hws.shape[0]):
        clock = np.zeros(2)
        for l in range(rows.shape[0]):
            cost_in_pipeline(rows[l], hws[p], out[p, l], clock)
    return out


@numba.njit(cache=True)
def _add_kernel(buf, out):
    """Add one kernel's cost (buf, as cost_one fills it) to the totals out[0:4]."""
    out[0] += buf[0]
    out[1] += buf[3]
    out[2] += buf[5]
    if buf[4] == BOUND_COMPUTE:
        out[3] += buf[0]


@numba.njit(cache=True)
def _totals_serial(rows, hws):
    """out[p, 0:4] = time, DRAM bytes, energy, compute-bound time of all kernels on row p."""
    res = np.zeros((hws.shape[0], 4), dtype=np.float64)
    buf = np.empty(7, dtype=np.float64)
    for p in range(hws.shape[0]):
        for l in range(rows.shape[0]):
            cost_one(rows[l], hws[p], buf)
            _add_kernel(buf, res[p])
    return res


@numba.njit(cache=True, parallel=True)
def _totals_parallel(rows, hws):
    res = np.zeros((hws.shape[0], 4), dtype=np.float64)
    for p in numba.prange(hws.shape[0]):
        buf = np.empty(7, dtype=np.float64)
        for l in range(rows.shape[0]):
            cost_one(rows[l], hws[p], buf)
            _add_kernel(buf, res[p])
    return res


# The kernel-model twins of the two loops above. Not one loop taking the cost function as
# an argument: numba then misses its on-disk cache on every run (measured with numba 0.68:
# a dispatcher-typed argument recompiles in each new process), which cold start pays.
@numba.njit(cache=True)
def _totals_serial_km(rows, hws):
    res = np.zeros((hws.shape[0], 4), dtype=np.float64)
    buf = np.empty(7, dtype=np.float64)
    for p in range(hws.shape[0]):
        clock = np.zeros(2)
        for l in range(rows.shape[0]):
            cost_in_pipeline(rows[l], hws[p], buf, clock)
            _add_kernel(buf, res[p])
    return res


@numba.njit(cache=True, parallel=True)
def _totals_parallel_km(rows, hws):
    res = np.zeros((hws.shape[0], 4), dtype=np.float64)
    for p in numba.prange(hws.shape[0]):
        buf = np.empty(7, dtype=np.float64)
        clock = np.zeros(2)
        for l in range(rows.shape[0]):
            cost_in_pipeline(rows[l], hws[p], buf, clock)
            _add_kernel(buf, res[p])
    return res


def _by_model(roofline, kernel_model, rows, hws, width):
    """Run the roofline entry point on the rows without a GPU kernel model and the
    kernel-model one on the others (each compiled on first use only), in hws' order."""
    if hws.shape[0] == 1:  # one device (an estimate): no array work
        return kernel_model(rows, hws) if hws[0, H_KM] > 0.0 else roofline(rows, hws)
    km = hws[:, H_KM] > 0.0
    if not km.any():
        return roofline(rows, hws)
    if km.all():
        return kernel_model(rows, hws)
    out = np.empty((hws.shape[0],) + width, dtype=np.float64)
    out[~km] = roofline(rows, np.ascontiguousarray(hws[~km]))
    out[km] = kernel_model(rows, np.ascontiguousarray(hws[km]))
    return out


def cost_matrix(rows, hws):
    """All kernels x all hardware rows -> [P, L, 7] (see cost_one)."""
    return _by_model(_matrix, _matrix_km, rows, hws, (rows.shape[0], 7))


# Waking numba's thread pool costs milliseconds: below this many hardware rows one
# thread is faster (measured: 3 rows took 4 ms in parallel, 0.12 ms serially).
PARALLEL_MIN_ROWS = 256


def cost_totals(rows, hws):
    """Whole-network totals for many hardware rows at once: [P, 4] time, DRAM bytes, energy,
    compute-bound time. Parallel over hardware rows when there are enough of them; both
    paths run the same per-row code, so they give identical results."""
    if hws.shape[0] >= PARALLEL_MIN_ROWS:
        return _by_model(_totals_parallel, _totals_parallel_km, rows, hws, (4,))
    return _by_model(_totals_serial, _totals_serial_km, rows, hws, (4,))
