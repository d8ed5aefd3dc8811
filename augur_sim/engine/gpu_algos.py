"""GPU kernel-level model of the PyTorch / cuDNN / cuBLAS stack (issue 11), in numba.

Used for a hardware row whose runtime names a `kernel_model` (H_KM > 0); every other row
keeps the generic roofline of kernels.py, so other runtimes' numbers do not change.

What a kernel costs here (all times in seconds, per hardware row h):

- GEMM (cuBLAS sgemm / tensor-core GEMM): the output is cut into tm x tn tiles, one tile
  per SM at a time; an SM computes a tile of depth K at `peak_sm * eff(tile, K)`, where
  eff = P_EMAX * ai / (ai + P_AHALF) * K / (K + P_KHALF) and ai = tm*tn / (tm + tn) is the
  tile's arithmetic intensity (FLOP per operand element loaded: small tiles are bound by
  shared-memory/L1 operand traffic). Tiles run in waves of one per SM:
  waves = ceil(tiles / SMs) (wave quantisation). Split-K cuts K into s slices when the
  tiles alone leave SMs idle (cuBLAS does it for sgemm too: the corpus' linear rows show
  grid z up to the SM count); the partial outputs cost one more write+read and a reduction
  kernel. cuBLAS's tile/split choice is its own heuristic, not the fastest candidate: where
  a table learned from the corpus' kernel names of GPUs of the same compute-capability
  major exists (measure/gpu_tiles.py), the caller passes that choice as `force`; elsewhere
  the fastest candidate stands in. Candidate tiles are the CTA shapes the corpus' kernel
  names show (maxwell/volta/ampere_sgemm_128x128, 128x64, 64x64, 32x128, 128x32, 64x32,
  32x32).
  GEMM and conv rates are per SM at the clock the board's power limit sustains under a
  full FMA load (hw/power.py, set in the hardware row), not the boost clock. Where one warp
  instruction per clock fills an SM quadrant's FP32 lanes (sm_86, sm_89, sm_90), a CUDA-core
  tile is issue-bound: its operand loads take FFMA slots (ffma_issue_factor).
- Convolution: cuDNN picks an algorithm (CONV_ALGOS below, with the rule and its source);
  each algorithm has its own work and traffic:
    implicit GEMM (IMPLICIT_PRECOMP_GEMM, kernels scudnn_128xNN_*): a GEMM of
      M = batch*Hout*Wout, N = Cout/g, K = Cin/g*kh*kw per group, at P_IGEMM of a GEMM's
      efficiency (the im2col index math and halo loads happen inside the kernel);
    fused Winograd F(2x2,3x3) (WINOGRAD, kernels scudnn_winograd_128x128_*): 16
      multiplies per 2x2 output tile per (Cin, Cout) pair instead of 36, i.e. 16 GEMMs of
      tiles x Cin x Cout with the transforms inside the kernel, at P_WINO;
    non-fused Winograd F(4x4,3x3) (WINOGRAD_NONFUSED: the corpus shows it as an sgemm with
      grid z = 36 = 6x6 transformed positions): an input transform kernel (reads the input,
      writes 36 values per 4x4 tile and channel), 36 batched GEMMs Cout x tiles x Cin, an
      output transform (reads 36 per tile and output channel, writes the output) and a
      filter transform; 36 multiplies per 4x4 tile instead of 144.
  Neither Winograd form on sm_90 (NO_WINOGRAD_SOURCE: cuDNN 9.19's kernel names on an H200).
  A tensor-core conv (fp16, TF32) on PyTorch's default NCHW tensors adds the NCHW<->NHWC
  transposes cuDNN runs around it (nchw_transposes), and computes on channels padded to a
  16-byte vector (tc_channel_pad). A tensor-core tile counts its fixed prologue/epilogue in
  its own K-steps (tensor_core_depth_scale); every tile is bounded by its shared-memory
  operand traffic (hw/kmodel.SMEM_BYTES_PER_CLOCK).
  FFT never appears in the corpus' kernel names for its 3x3 stride-1 convs, so it is not
  modelled. Depthwise convs are bandwidth kernels at a fraction P_DW of the FP32 lanes.
- Streams (element-wise, activations, softmax, LayerNorm, pooling, bias passes): bytes at
  P_MEM of DRAM bandwidth (or P_L2X of the spec's L2 bandwidth when the working set fits in
  half the L2),
  or FP32-lane work (FLOPs + P_TRANS per exp-class evaluation + P_POW per pow) at P_ALU,
  whichever is longer.
- An op's time is the p-norm of (host floor, kernel + P_GAP + P_LAT) (op_time): P_GAP is
  the GPU-side cost of every kernel (launch latency, ramp, tail), P_LAT the eager host's
  enqueue latency a long kernel still shows; the floor is eager PyTorch's host dispatch,
  P_FLOOR, times P_FLIN for an addmm, P_FCONV for a cuDNN conv, P_FNORM for a normalisation
  with parameters. An op that runs several kernels (non-fused Winograd, split-K, layout
  transposes) pays P_KGAP per extra kernel. Under a CUDA graph there is no host dispatch:
  the floor is only the runtime's graph_floor_us, so each kernel costs its time + P_GAP.
- That p-norm is the corpus' single op, timed alone. A whole network run eagerly is an
  asynchronous pipeline (pipeline_step, engine/kernels.cost_in_pipeline): each op's GPU
  time is its kernels + P_GAP (as under a CUDA graph, floor 0), the host issues op after op
  (host_issue_time: P_HOST per tiny op, times the corpus' floor multiples by class), and
  the GPU starts an op at the later of the previous op's end and the op's issue
  (hwrow.fill_eager_pipeline says where the host figure comes from).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ..lowering import (
    C_BATCH,
    C_CH,
    C_CLS,
    C_ELEM_BYTES,
    C_FLOPS,
    C_GCOUNT,
    C_HIN,
    C_HOUT,
    C_IN_BYTES,
    C_INCALL,
    C_K,
    C_KH,
    C_KW,
    C_M,
    C_N,
    C_OUT_BYTES,
    C_POW,
    C_REDUCE,
    C_SH,
    C_SW,
    C_TRANS,
    C_W_BYTES,
    C_WIN,
    C_WOUT,
    DIRECT,
    GEMM,
    NOOP,
)
from .hwrow import (
    H_CLOCK_X,
    H_DRAM_BW,
    H_ASYNC,
    H_FFMA_ISSUE,
    H_L2_BW,
    H_L2_BYTES,
    H_NOWINO,
    H_SM_CONV,
    H_SM_FP32,
    H_SM_GEMM,
    H_SMEM_BW,
    H_TC_CONV,
    H_TC_GEMM,
    H_UNITS,
    P_AHALF,
    P_ALU,
    P_DW,
    P_EMAX,
    P_FCONV,
    P_FLIN,
    P_FLOOR,
    P_FNORM,
    P_GAP,
    P_HCONV,
    P_HLIN,
    P_HNORM,
    P_HOST,
    P_OVL,
    P_OVLMM,
    P_IGEMM,
    P_KGAP,
    P_KHALF,
    P_L2X,
    P_LAT,
    P_MEM,
    P_NORMX,
    P_POW,
    P_TRANS,
    P_WINO,
)

# Algorithms (index into the per-kernel algorithm record).
ALGO_GEMM, ALGO_IGEMM, ALGO_WINO_FUSED, ALGO_WINO_NONFUSED, ALGO_STREAM, ALGO_DW = range(6)
ALGO_NAMES = ("gemm", "implicit_gemm", "winograd_fused", "winograd_nonfused", "stream", "depthwise")

# Neither Winograd form on sm_90 (hw/kmodel.NO_WINOGRAD_ARCHS): the kernel names cuDNN 9.19
# picked on an H200 (measurements/h200_kernels, names only): no Winograd kernel among 150
# 3x3 stride-1 convs; the 11 on CUDA-core math ran FFMA implicit GEMM.
NO_WINOGRAD_SOURCE = ("H200 kernel names (cuDNN 9.19, sm_90; measurements/h200_kernels/"
                      "h200_kernels_2026-11-30_run1.csv, names only): 0 of 150 3x3 stride-1 convs "
                      "ran a Winograd kernel; the 11 on CUDA-core FP32 math ran "
                      "sm80_xmma_fprop_implicit_gemm_*_ffma_*")

# Conv algorithm rules, as data: (algorithm, condition, source). The choice among the
# eligible ones is the fastest predicted (cuDNN's heuristics aim at the fastest; PyTorch
# with benchmark=False takes the heuristic's first choice).
CONV_ALGOS = (
    ("implicit_gemm", "any conv", "cuDNN docs: CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM "
     "supports every configuration; corpus: scudnn_128x{32,64,128}_relu_* and *_3dconv_fprop_* "
     "kernels on P100, P4, T4, V100"),
    ("winograd_fused", "3x3, stride 1, groups 1, CUDA-core math (fp32, no tensor cores); not on "
     "sm_90",
     "cuDNN docs: CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD for 3x3 filters; corpus: "
     "scudnn_winograd_128x128_* kernels on all four conv GPUs; F(2x2,3x3) per Lavin & Gray, "
     "'Fast Algorithms for Convolutional Neural Networks' (CVPR 2016), whose kernels these are; " + NO_WINOGRAD_SOURCE),
    ("winograd_nonfused", "3x3, stride 1, groups 1, CUDA-core math; not on sm_90",
     "cuDNN docs: CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED (3x3 and 5x5); corpus: "
     "{maxwell,volta}_sgemm_* kernels with grid z = 36 (6x6 = F(4x4,3x3)) for 3x3 convs; " + NO_WINOGRAD_SOURCE),
)


# CUDA-core (sgemm) and tensor-core CTA tiles (tm, tn).
SGEMM_TILES = np.array([[128, 128], [128, 64], [64, 128], [64, 64], [128, 32], [32, 128], [32, 32],
                        [64, 32], [32, 64]], dtype=np.float64)
TC_TILES = np.array([[256, 128], [128, 256], [128, 128], [128, 64], [64, 128], [64, 64]],
                    dtype=np.float64)
# cuDNN's CUDA-core implicit-GEMM kernels (scudnn_128x32/64/128_*): 128 output pixels by
# 32, 64 or 128 output channels per CTA (the corpus' grids: x = ceil(pixels / 128),
# y = ceil(channels / NN)), in the conv GEMM's (M = pixels, N = channels) orientation.
IGEMM_TILES = np.array([[128, 32], [128, 64], [128, 128]], dtype=np.float64)
SPLITS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
# cuBLAS's batched sgemm (bmm; count > 1) runs CTA tiles of at least 64 x 64 = 4096 outputs,
# however small each matrix: 99.6-99.7% of the corpus' bmm rows on each of the five GPUs
# (kernel names), so a batch of tiny products pays for padded tiles (e.g. 863 products of
# 19 x 13 each on 128 x 128 tiles on the A100: 1.6 ms for 0.4 GFLOP).
MIN_BATCHED_TILE = 4096.0
# kernel_time's `force` for a GEMM row: FORCE_GEMM + 100 * (SGEMM_TILES index) + split-K.
FORCE_GEMM = 1000


# Threads per CTA of the CUDA-core (FFMA) GEMM / implicit-GEMM kernels cuBLAS and cuDNN ran on
# the H200 (sm80_xmma_gemm_* / sm80_xmma_fprop_implicit_gemm_*_ffma_* names in measurements/
# h200_kernels, names only: "tilesizeMxNx8_..._warpsizeAxBx1" = A*B warps of 32 threads):
# (tm, tn, threads). 128x128, 128x64, 64x128, 64x64, 128x32, 256x64, 64x256 ran 4 warps; 32x32,
# 32x64, 64x32, 32x128 ran 2.
FFMA_TILE_THREADS = np.array([[128, 128, 128], [128, 64, 128], [64, 128, 128], [64, 64, 128],
                              [128, 32, 128], [32, 128, 64], [32, 32, 64], [64, 32, 64], [32, 64, 64]],
                             dtype=np.float64)


@numba.njit(cache=True)
def ffma_issue_factor(tm, tn, h):
    """How much longer an FFMA tile takes than its FP32 lanes allow on an architecture whose
    quadrant issues one FFMA warp per clock (hw/kmodel.ISSUE_BOUND_FP32_ARCHS); 1 elsewhere.

    A thread that owns P = tm * tn / threads outputs issues P FFMAs per step of K and must
    first load its a + b (a * b = P) operands from shared memory, at most four floats per
    instruction (ld.shared.v4.f32, the widest vector load of the PTX ISA): at least
    (a + b) / 4 >= sqrt(P) / 2 loads per P FFMAs, each taking a dispatch slot. The factor
    1 + 1 / (2 sqrt(P)) is that lower bound (global loads, barriers and address arithmetic
    only add to it): no fitted number."""
    if h[H_FFMA_ISSUE] == 0.0:
        return 1.0
    threads = 128.0
    for i in range(FFMA_TILE_THREADS.shape[0]):
        if FFMA_TILE_THREADS[i, 0] == tm and FFMA_TILE_THREADS[i, 1] == tn:
            threads = FFMA_TILE_THREADS[i, 2]
    p = tm * tn / threads
    return 1.0 + 1.0 / (2.0 * math.sqrt(p))


@numba.njit(cache=True)
def tile_efficiency(tm, tn, k, h, kx=1.0):
    """Fraction of an SM's peak one tm x tn output tile of depth k reaches. kx scales the
    depth term's P_KHALF from FP32 K-steps to the tile's own (tensor_core_depth_scale)."""
    ai = tm * tn / (tm + tn)
    return h[P_EMAX] * ai / (ai + h[P_AHALF]) * k / (k + h[P_KHALF] * kx)


@numba.njit(cache=True)
def tensor_core_depth_scale(peak_sm, h):
    """P_KHALF in a tensor-core tile's K-steps: its per-SM math rate over the SM's FP32 rate
    at the same clock (fp16 on sm_90: 4096 / 256 = 16 at NVIDIA's rates).

    The depth term k / (k + P_KHALF) prices a tile's fixed work outside its main loop: the
    prologue that fills the first pipeline stages (global -> shared memory loads that wait a
    full memory latency before the first MMA can start; CUTLASS's multistage and warp-
    specialised main loops hide latency only between stages, not before the first), the
    address set-up, and the epilogue that converts and writes the accumulators out. None of
    it runs on the tensor cores: it is memory latency and CUDA-core work. P_KHALF is fitted on
    the corpus' FP32 (FFMA) tiles, so it counts that work in FFMA K-steps; a tensor-core tile
    of the same shape, whose main loop is rate_tc / rate_fp32 times faster, covers that many
    more of its own K-steps in the same time. No fitted number.
    What the corpus says about the form: scaling P_KHALF by the SM's FP32 rate per clock too
    (a fixed count of clocks; x2 on the P4's 128-lane sm_61) made the leave-one-GPU-out fit
    worse on the P4 (docs/ACCURACY_GPU_KERNELS.md, trial (d)), i.e. the fixed part tracks the
    SM's CUDA-core rate, as this scale assumes, rather than a clock count."""
    fp32 = h[H_SM_FP32] * h[H_CLOCK_X]
    if fp32 <= 0.0:
        return 1.0
    return max(1.0, peak_sm / fp32)


@numba.njit(cache=True)
def resident_bw(ws_bytes, h):
    """Bandwidth a working set is streamed at: DRAM's, or (never less) the spec's L2
    bandwidth while it fits in half the L2 (the op before just wrote it there)."""
    bw = h[H_DRAM_BW] * h[P_MEM]
    if ws_bytes <= 0.5 * h[H_L2_BYTES]:
        bw = max(bw, h[H_L2_BW] * h[P_L2X])
    return bw


@numba.njit(cache=True)
def gemm_tile_time(M, N, K, count, tm, tn, split, peak_sm, mult, eb, h, issue=1.0, kx=1.0):
    """One candidate: tm x tn tiles, K cut into `split` slices. Returns (time_s, waves).
    issue: the tile's FFMA issue factor (ffma_issue_factor; 1 for tensor-core tiles).
    kx: the depth term's scale (tensor_core_depth_scale; 1 for FFMA tiles)."""
    sms = h[H_UNITS]
    tiles = math.ceil(M / tm) * math.ceil(N / tn) * count * split
    kc = math.ceil(K / split)
    t_tile = 2.0 * tm * tn * kc * issue / (peak_sm * mult * tile_efficiency(tm, tn, kc, h, kx))
    if h[H_SMEM_BW] > 0.0:
        # The main loop's operand roofline: each step of K reads a tm-row slice of A and a
        # tn-column slice of B from shared memory (hw/kmodel.SMEM_BYTES_PER_CLOCK). A bound,
        # not a cost added to the fitted curve: it binds only where the math rate outruns
        # 128 B/clock (no tile of these tables on a catalogued GPU; what-if rows may).
        t_tile = max(t_tile, (tm + tn) * kc * eb / h[H_SMEM_BW])
    waves = math.ceil(tiles / sms)
    t_c = waves * t_tile
    q = eb * count * (M * K + K * N + M * N)
    if split > 1.0:
        q += 2.0 * eb * count * M * N * split     # partial outputs written, read by the reduction
    t_m = q / resident_bw(q, h)
    t = max(t_c, t_m)
    if split > 1.0:
        t += h[P_KGAP]                            # the reduction kernel
    return t, waves


@numba.njit(cache=True)
def gemm_time(M, N, K, count, peak_sm, tc, mult, eb, h, fixed_tiles, fixed_split=0.0, max_split=64.0,
              cudnn=False):
    """Fastest tile/split candidate for `count` GEMMs of M x N x K (no launch floor).
    fixed_tiles: 0 = the library's candidates; >0 = only SGEMM_TILES[fixed_tiles - 1].
    max_split: the largest split-K the kernel family uses (1: it never splits).
    cudnn: CUDA-core candidates are cuDNN's implicit-GEMM tiles (IGEMM_TILES)."""
    tiles_tab = TC_TILES if tc > 0.0 else (IGEMM_TILES if cudnn else SGEMM_TILES)
    kx = tensor_core_depth_scale(peak_sm, h) if tc > 0.0 else 1.0
    best = 1e300
    sms = h[H_UNITS]
    for i in range(tiles_tab.shape[0]):
        if fixed_tiles > 0:
            tm, tn = SGEMM_TILES[fixed_tiles - 1, 0], SGEMM_TILES[fixed_tiles - 1, 1]
        else:
            tm, tn = tiles_tab[i, 0], tiles_tab[i, 1]
            if count > 1.0 and tc == 0.0 and not cudnn and tm * tn < MIN_BATCHED_TILE:
                continue
        base_tiles = math.ceil(M / tm) * math.ceil(N / tn) * count
        issue = 1.0 if tc > 0.0 else ffma_issue_factor(tm, tn, h)
        if fixed_split > 0.0:
            t, _ = gemm_tile_time(M, N, K, count, tm, tn, fixed_split, peak_sm, mult, eb, h, issue, kx)
            best = min(best, t)
            break
        for s in SPLITS:
            # Split-K only pays while tiles leave SMs idle and each slice keeps some depth.
            # cuBLAS's sgemm kernels split too: a third of the corpus' linear rows ran with
            # grid z > 1 (up to the SM count) on every GPU.
            if s > 1.0 and (base_tiles * s > 2.0 * sms or K / s < 64.0 or s > max_split):
                break
            t, _ = gemm_tile_time(M, N, K, count, tm, tn, s, peak_sm, mult, eb, h, issue, kx)
            best = min(best, t)
        if fixed_tiles > 0:
            break
    return best


@numba.njit(cache=True)
def winograd_fused_flops(batch, cin, cout, hout, wout):
    """F(2x2,3x3): 16 multiplies (4x4 transformed tile) per 2x2 output tile per channel pair."""
    tiles = batch * math.ceil(hout / 2.0) * math.ceil(wout / 2.0)
    return 2.0 * 16.0 * tiles * cin * cout


@numba.njit(cache=True)
def winograd_nonfused_flops(batch, cin, cout, hout, wout):
    """F(4x4,3x3): 36 multiplies (6x6 transformed tile) per 4x4 output tile per channel pair."""
    tiles = batch * math.ceil(hout / 4.0) * math.ceil(wout / 4.0)
    return 2.0 * 36.0 * tiles * cin * cout


@numba.njit(cache=True)
def nchw_transposes(batch, cin, cout, hin, win, hout, wout, kh, kw, g, eb, h, cinp=0.0, coutp=0.0):
    """Tensor-core convs work on NHWC; PyTorch's default tensors are NCHW, so cuDNN runs
    layout-conversion kernels around them (cuDNN developer guide, Tensor Core operations:
    NCHW input is transposed; PyTorch's channels_last tutorial for the cost): the input and
    the output each read and written once more, the filter once, each a kernel of its own.
    cinp, coutp: the channel counts after padding (tc_channel_pad; 0 = unpadded): the input
    and filter transforms write the padded tensors, the output transform reads one."""
    cinp = max(cinp, cin)
    coutp = max(coutp, cout)
    t = 0.0
    for q in (eb * batch * (cin + cinp) * hin * win, eb * batch * (cout + coutp) * hout * wout,
              eb * (cout * cin + coutp * cinp) / g * kh * kw):
        t += q / resident_bw(q, h) + h[P_KGAP]
    return t


@numba.njit(cache=True)
def tc_channel_pad(c_per_group, eb):
    """Channels per group a tensor-core conv computes on: rounded up to 16 bytes of channels.
    cuDNN's tensor-core convolutions need the channel counts C and K in multiples of 8 for
    half precision and pad them otherwise (cuDNN developer guide, Legacy API, "Tensor Core
    operations": data and filter formats, padding among the tensor transformations it may
    apply); its TF32 kernels on sm_80/sm_90 carry `alignc4` in their names (measurements/
    h200_kernels, names only): 4 channels of 4 bytes. Both are one 128-bit vector of
    channels, which is what the kernels load along C in NHWC."""
    a = 16.0 / eb
    return math.ceil(c_per_group / a) * a


@numba.njit(cache=True)
def conv_time(batch, cin, cout, hin, win, hout, wout, kh, kw, sh, sw, groups, eb, h, force):
    """(time_s without the first launch floor, algorithm) of the fastest eligible algorithm;
    force >= 0 costs that algorithm only (the fit uses the one the corpus saw)."""
    peak = h[H_SM_CONV]
    tc = h[H_TC_CONV]
    g = max(groups, 1.0)
    best = 1e300
    algo = ALGO_IGEMM
    if force < 0 or force == ALGO_IGEMM:
        # cuDNN's CUDA-core implicit-GEMM kernels do not split K: every scudnn_128x* row of
        # the corpus (fp32, all four conv GPUs) ran with grid z = 1, so a conv with few output
        # tiles leaves SMs idle rather than cutting its reduction. (The corpus has no
        # tensor-core conv, so those keep the split-K candidates.)
        if tc > 0.0:
            # Tensor-core math on channels padded to a 16-byte vector (tc_channel_pad).
            cgi = tc_channel_pad(cin / g, eb)
            cgo = tc_channel_pad(cout / g, eb)
            best = gemm_time(batch * hout * wout, cgo, cgi * kh * kw, g, peak, tc, h[P_IGEMM],
                             eb, h, 0, 0.0, 64.0, True)
            best += nchw_transposes(batch, cin, cout, hin, win, hout, wout, kh, kw, g, eb, h,
                                    cgi * g, cgo * g)
        else:
            best = gemm_time(batch * hout * wout, cout / g, cin / g * kh * kw, g, peak, tc, h[P_IGEMM],
                             eb, h, 0, 0.0, 1.0, True)
    wino_ok = (kh == 3.0 and kw == 3.0 and sh == 1.0 and sw == 1.0 and g == 1.0 and tc == 0.0
               and h[H_NOWINO] == 0.0)
    if wino_ok and (force < 0 or force == ALGO_WINO_FUSED):
        tiles = batch * math.ceil(hout / 2.0) * math.ceil(wout / 2.0)
        # cuDNN's fused Winograd kernels use one 128x128 CTA shape (their names say so).
        t = gemm_time(tiles, cout, cin, 16.0, peak, 0.0, h[P_WINO], eb, h, 1)
        if t < best:
            best, algo = t, ALGO_WINO_FUSED
    if wino_ok and (force < 0 or force == ALGO_WINO_NONFUSED):
        tiles = batch * math.ceil(hout / 4.0) * math.ceil(wout / 4.0)
        t = gemm_time(cout, tiles, cin, 36.0, peak, 0.0, 1.0, eb, h, 0)
        x_in = eb * (batch * cin * hin * win + 36.0 * tiles * cin)
        x_out = eb * (36.0 * tiles * cout + batch * cout * hout * wout)
        x_f = eb * (9.0 + 36.0) * cin * cout
        for q in (x_in, x_out, x_f):
            t += q / resident_bw(q, h) + h[P_KGAP]
        if t < best:
            best, algo = t, ALGO_WINO_NONFUSED
    return best, algo


@numba.njit(cache=True)
def stream_time(in_b, out_b, w_b, flops, trans, pw, h):
    ws = in_b + out_b + w_b
    t_m = ws / resident_bw(ws, h)
    lanes = h[H_UNITS] * h[H_SM_FP32] * h[P_ALU]
    t_c = (flops + h[P_TRANS] * trans + h[P_POW] * pw) / lanes
    return max(t_m, t_c)


@numba.njit(cache=True)
def op_time(t_kernel, floor, p, h):
    """An op's time from its kernel's and the host's dispatch floor. Eager PyTorch in a
    loop, timed with CUDA events, queues kernels ahead while they are long (the dispatch
    hides behind the GPU's work) and leaves the GPU idle while they are short (the dispatch
    is the time); near the crossover the two partly overlap. The corpus' element-wise times
    show this shape (flat at the floor, a soft knee, then bytes / bandwidth), so the op
    costs the p-norm of the floor and the kernel plus its GPU-side gap (launch latency and
    tail: P_GAP) plus, eager only, the host's enqueue latency that even a long kernel shows
    after its start event (P_LAT: the corpus' long element-wise kernels sit 14-24 us above
    bytes / bandwidth): p = 1 adds them, a large p takes the longer. p is fitted per kind:
    P_OVL for bandwidth kernels, P_OVLMM for cuDNN/cuBLAS calls, whose per-call host setup
    the corpus shows adding to the kernel rather than hiding behind it. A CUDA-graph replay
    has no dispatch: its floor is the runtime's minimum per-kernel time."""
    k = t_kernel + h[P_GAP] + h[P_LAT]
    hi = max(floor, k)
    if hi <= 0.0:
        return 0.0
    return hi * ((floor / hi) ** p + (k / hi) ** p) ** (1.0 / p)


@numba.njit(cache=True)
def kernel_time(r, h, force):
    """(time_s, compute-bound?, algorithm) of one lowered kernel row under the kernel model."""
    cls = int(r[C_CLS])
    eb = r[C_ELEM_BYTES]
    if cls == NOOP:
        return 0.0, False, ALGO_STREAM
    floor = h[P_FLOOR] * dispatch_multiple(r, h, P_FLIN, P_FCONV, P_FNORM)
    if cls == GEMM:
        if r[C_KH] > 0.0 and r[C_N] == r[C_HOUT] * r[C_WOUT]:
            batch = max(r[C_BATCH], 1.0)
            g = r[C_GCOUNT] / batch
            t, algo = conv_time(batch, r[C_CH], r[C_M] * g, r[C_HIN], r[C_WIN], r[C_HOUT],
                                r[C_WOUT], r[C_KH], r[C_KW], r[C_SH], r[C_SW], g, eb, h, force)
            return op_time(t, floor, h[P_OVLMM], h), True, algo
        # FC / matmul / deconv as GEMM: cuBLAS at the matmul math mode.
        if force >= FORCE_GEMM:
            # A chosen cuBLAS tile and split (measure/gpu_tiles.py: the corpus' kernel names).
            ti = (force - FORCE_GEMM) // 100
            sp = float((force - FORCE_GEMM) % 100)
            t = gemm_time(r[C_M], r[C_N], r[C_K], r[C_GCOUNT], h[H_SM_GEMM], h[H_TC_GEMM], 1.0, eb, h,
                          ti + 1, sp)
        else:
            t = gemm_time(r[C_M], r[C_N], r[C_K], r[C_GCOUNT], h[H_SM_GEMM], h[H_TC_GEMM], 1.0, eb, h, 0)
        return op_time(t, floor, h[P_OVLMM], h), True, ALGO_GEMM
    if cls == DIRECT:
        ws = r[C_IN_BYTES] + r[C_OUT_BYTES] + r[C_W_BYTES]
        t_m = ws / resident_bw(ws, h)
        t_c = r[C_FLOPS] / (h[H_UNITS] * h[H_SM_FP32] * h[P_DW])
        return op_time(max(t_m, t_c), floor, h[P_OVL], h), t_c > t_m, ALGO_DW
    in_b = r[C_IN_BYTES]
    if r[C_REDUCE] > 0.0:
        # softmax / LayerNorm: the input is read P_NORMX times over (statistics, then the
        # normalisation), so it does not pull the one-pass streams' bandwidth fraction.
        in_b *= h[P_NORMX]
    t = stream_time(in_b, r[C_OUT_BYTES], r[C_W_BYTES], r[C_FLOPS], r[C_TRANS], r[C_POW], h)
    return op_time(t, floor, h[P_OVL], h), False, ALGO_STREAM


@numba.njit(cache=True)
def dispatch_multiple(r, h, p_lin, p_conv, p_norm):
    """How many times a tiny op's host dispatch one lowered (non-NOOP) row's op takes, from
    the hardware row's columns p_lin, p_conv, p_norm: a cuDNN conv h[p_conv]; an FC / linear,
    addmm with its bias, h[p_lin]; a normalisation with its own parameter tensors h[p_norm];
    anything else 1. The synchronous floor (kernel_time: P_FLIN, P_FCONV, P_FNORM) and the
    eager pipeline's host issue (host_issue_time: P_HLIN, P_HCONV, P_HNORM) share these
    classes."""
    cls = int(r[C_CLS])
    if cls == GEMM:
        if r[C_KH] > 0.0 and r[C_N] == r[C_HOUT] * r[C_WOUT]:
            return h[p_conv]
        if r[C_GCOUNT] == 1.0:
            return h[p_lin]
        return 1.0
    if cls == DIRECT:
        return 1.0
    if r[C_W_BYTES] > 0.0:
        return h[p_norm]
    return 1.0


@numba.njit(cache=True)
def host_issue_time(r, h):
    """Host time eager PyTorch takes to issue one lowered row (an op) in a network run: the
    host's tiny-op issue time times its class multiple (dispatch_multiple;
    hwrow.fill_eager_pipeline). A NOOP row (a view, an identity) launches nothing and is
    charged nothing, nor is a GPU operation another row's library call launches itself
    (C_INCALL: its host work is in that call's class multiple)."""
    if int(r[C_CLS]) == NOOP or r[C_INCALL] > 0.0:
        return 0.0
    return h[P_HOST] * dispatch_multiple(r, h, P_HLIN, P_HCONV, P_HNORM)


@numba.njit(cache=True)
def pipeline_step(r, h, gpu_s, clock):
    """One op of an eager network run as the asynchronous pipeline it is: the host issues
    op after op (its clock accumulates host_issue_time); the GPU starts an op at the later
    of the previous op's end and the op's issue, and runs it for gpu_s (kernels + gap).
    clock[0] = host time, clock[1] = GPU end, both updated. Returns the time the op adds to
    the GPU's end, its share of the network's total (the sum over ops is the last op's end):
    gpu_s, plus any wait for the host. Rows without H_ASYNC, and NOOP rows, add gpu_s and
    leave the clocks alone."""
    if h[H_ASYNC] == 0.0 or int(r[C_CLS]) == NOOP:
        return gpu_s
    clock[0] += host_issue_time(r, h)
    start = max(clock[1], clock[0])
    end = start + gpu_s
    added = end - clock[1]
    clock[1] = end
    return added


@numba.njit(cache=True, parallel=True)
def predict_rows(rows, hws, hw_of_row, force):
    """Corpus-style evaluation: row i on hardware row hws[hw_of_row[i]]; force[i] >= 0 costs
    that conv algorithm only. Returns (time_s, algorithm) per row."""
    n = rows.shape[0]
    t = np.empty(n)
    a = np.empty(n, dtype=np.int64)
    for i in numba.prange(n):
        ti, _, ai = kernel_time(rows[i], hws[hw_of_row[i]], force[i])
        t[i] = ti
        a[i] = ai
    return t, a
