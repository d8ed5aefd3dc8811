"""Cost of ncnn's CPU kernels (ncnn_algos work rows) on many hardware rows at once, in numba.

Per kernel, on the threads one benchncnn run uses:

    t = max(t_compute, t_memory) + t_layer
    t_compute = work / (threads_eff * clock * rate * eff[family])
    t_memory  = bytes / bandwidth (DRAM when the working set spills the last cache level)

- work: 2 x (executed MACs + c_x x transform MACs) FLOPs for the float GEMM-like families
  (sgemm/im2col/direct, Winograd, depthwise, innerproduct), MACs for int8 kernels,
  element operations for stream kernels (pooling, element-wise, copies). c_x, the fitted
  `winograd_transform_cost`, prices a transform multiply-add (counted as a dense matrix
  product by ncnn_algos.winograd_work) in the GEMM's: see kernel_time.
- rate: the core's fp32 FLOP/cycle, doubled where the core computes in fp16 (ncnn's
  use_fp16_arithmetic on ARMv8.2 cores with FP16: 8 half lanes per 128-bit FMA instead of
  4); for int8, MACs/cycle of the core's best int8 instruction (sdot/vnni: 4 per 32-bit
  lane, i8mm: 8, a widening multiply-accumulate: 1) at the core's vector issue rate, the
  fp32 FMAs per cycle (ncnn_hw.int8_macs_per_cycle).
- threads_eff = threads x utilisation over the kernel's work items (work_items: ncnn's
  loops hand threads output-channel tiles or channel packs, so a narrow layer keeps only
  some threads busy) x 1 / (1 + sync x (busy cores - 1)) where the threads share a cluster
  L2, 1 / (1 + sync x log2(busy cores)) where each core has its own. Threads run ncnn's
  OpenMP loops with a static schedule, so with threads on unequal cores (--cores all on
  big.LITTLE) each thread gets the same share and the slowest core sets the pace: the row
  carries the slowest used core's clock, divided among the threads with work on that core
  (threads without an item wait at the barrier and leave their SMT sibling the core).
- bytes: activation elements x the storage size (2 with fp16 storage, 4 otherwise), weight
  elements x their size (1 for int8 layers).
- t_layer: per parallel region, a fixed cost in cycles of the core (layer dispatch) plus a
  fork/barrier cost per thread beyond the first (OpenMP wakes and joins each thread), at
  the core's clock (the dispatching thread does not share its core with a busy sibling).

eff[family], the stream cycles per element, the memory efficiencies, sync and t_layer are
the fitted, portable parameters (measurements/ncnn/fit.yaml, written by
`augur fit-corpus ncnn`), one set per ISA class.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .ncnn_algos import (
    SPLIT_GEMM_M,
    SPLIT_PACKED,
    X_SPLIT,
    X_SPLIT_KIND,
    A_INT8_DW,
    A_INT8_WINO43,
    A_NOOP,
    ALGO_FAMILY,
    FAM_DW,
    FAM_FC,
    FAM_GEMM,
    FAM_INT8,
    FAM_INT8_REF,
    FAM_STREAM,
    FAM_WINO,
    X_ACT_ELEMS,
    X_ALGO,
    X_I8_ELEMS,
    X_INT8,
    X_MACS,
    X_PAR,
    X_REGIONS,
    X_STREAM_OPS,
    X_TRANS,
    X_W_ELEMS,
    X_WS_ELEMS,
    X_XFORM,
)

# Hardware row columns (one benchncnn configuration: device, cores, threads).
(N_THREADS, N_CLOCK_HZ, N_FP32_FPC, N_FP16, N_INT8_MPC, N_DRAM_BPS, N_LLC_BYTES, N_CLASS,
 N_EB_ACT, N_NET_W_FITS, N_L2_SHARED, N_INT8_WIDE_MPC, N_CORES_BUSY, N_PACK, N_M_GRANULE, N_SMT_K,
 N_LONE_ISSUE, N_FC_W_BYTES, N_INT16_MPC) = range(19)
NN = 19

# Parameter columns (values, not logs), one row per ISA class.
(P_GEMM, P_WINO, P_DW, P_INT8, P_STREAM_CPE, P_MEM, P_CACHE_BPC, P_LAYER_CYC, P_SYNC, P_FC,
 P_FORK, P_SYNC_PRIV, P_INT8_REF, P_INT8_WINO, P_INT8_DW, P_GROUP_CYC, P_XFORM_COST) = range(17)
NP = 17
PARAM_NAMES = ("eff_gemm", "eff_winograd", "eff_depthwise", "eff_int8", "stream_cycles_per_elem",
               "dram_eff", "cache_bytes_per_cycle", "layer_overhead_kcycles", "sync_per_thread",
               "eff_innerproduct", "fork_kcycles_per_thread", "sync_per_thread_private_l2",
               "eff_int8_reference", "eff_int8_winograd", "eff_int8_depthwise", "group_op_kcycles",
               "winograd_transform_cost")
PARAM_DOC = (
    "fraction of the fp peak the packed sgemm / im2col / direct convs reach",
    "fraction of the fp peak Winograd's GEMM and transforms reach",
    "fraction of the fp peak depthwise convs reach",
    "fraction of the int8 peak quantised convs reach",
    "core cycles per element operation of stream kernels (pooling, element-wise, copies)",
    "fraction of the DRAM bandwidth streams reach",
    "bytes per cycle per core moved when a working set stays in cache",
    "fixed cost per kernel, thousands of core cycles (dispatch, OpenMP fork/join)",
    "thread inefficiency where the threads share an L2: threads_eff = T / (1 + sync (T - 1))",
    "fraction of the fp peak InnerProduct's matrix-vector products reach",
    "cost per parallel region and per thread beyond the first, thousands of core cycles (OpenMP fork/barrier)",
    "thread inefficiency where each core has its own L2: threads_eff = T / (1 + sync log2(cores))",
    "MACs per cycle ncnn's generic scalar int8 convolution reaches (cores without int8 kernels: RISC-V)",
    "fraction of the int8 peak the int8 Winograd F(4,3) convolutions reach (transforms in int16)",
    "fraction of the widening int8 multiply rate int8 depthwise convolutions reach (no dot product)",
    "fixed cost of each group op after the first of a grouped convolution, thousands of core cycles",
    "cost of one Winograd transform multiply-add (counted as a dense matrix product) in the kernel's GEMM "
    "multiply-adds",
)
# Bytes per element of the weights an int8 layer reads.
_INT8_W_BYTES = 1.0
_ALGO_FAM = np.array(ALGO_FAMILY, dtype=np.int64)


@numba.njit(cache=True)
def work_items(x, h):
    """Work items the kernel's parallel loop hands to the threads (ncnn_algos.SPLIT_*).

    SPLIT_GEMM_M: output channels in tiles of the row's GEMM M granule (N_M_GRANULE);
    SPLIT_PACKED: channels in packs of the blob's elempack, the widest of N_PACK, N_PACK/2,
    ... that divides the channel count (x86: 16, 8, 4, else 1; ARM: 4 or 8, else 1: ncnn
    has no elempack 2); otherwise, or on a row that does not give the widths (0), X_PAR."""
    kind = int(x[X_SPLIT_KIND])
    ch = x[X_SPLIT]
    if kind == SPLIT_GEMM_M and h[N_M_GRANULE] > 0.0 and ch > 0.0:
        return math.ceil(ch / h[N_M_GRANULE])
    if kind == SPLIT_PACKED and h[N_PACK] > 0.0 and ch > 0.0:
        pack = h[N_PACK]
        while pack > 1.0 and ch % pack != 0.0:
            pack = pack / 2.0
        if pack < 4.0:
            pack = 1.0
        return math.ceil(ch / pack)
    return max(x[X_PAR], 1.0)


@numba.njit(cache=True)
def kernel_time(x, h, p, out):
    """out[0:5] = time_s, compute_s, memory_s, overhead_s, DRAM bytes of one ncnn kernel row x."""
    algo = int(x[X_ALGO])
    for i in range(5):
        out[i] = 0.0
    if algo == A_NOOP:
        return
    fam = _ALGO_FAM[algo]
    T = h[N_THREADS]
    # The row's clock is the slowest thread's share of its core (the core's clock over the
    # N_SMT_K threads placed on it: SMT siblings or time-shared threads).
    k_core = max(h[N_SMT_K], 1.0)
    core_clk = h[N_CLOCK_HZ] * k_core
    par = work_items(x, h)
    util = par / (math.ceil(par / T) * T)
    # Only threads with a work item compete for their core: the others wait at the loop's
    # barrier (OpenMP's spin-wait, a pause loop that leaves the core's pipes to its sibling).
    # With B = min(items, T) busy threads on the busy cores, a core runs ceil(B / cores) of
    # them, not the k the placement put there: a layer with no more items than cores runs at
    # the full core clock even with 2 threads per core (SMT or oversubscribed runs).
    busy_cores = h[N_CORES_BUSY] if h[N_CORES_BUSY] > 0.0 else T
    share = max(min(k_core, math.ceil(min(par, T) / busy_cores)), 1.0)
    # A core whose single thread cannot issue every cycle (N_LONE_ISSUE < 1: the share of
    # the core's issue slots one thread can use) gives `share` busy threads together
    # min(1, share x N_LONE_ISSUE) of its rate; other cores (0 or 1: the whole core) 1.
    lone = h[N_LONE_ISSUE] if h[N_LONE_ISSUE] > 0.0 else 1.0
    clk = core_clk * min(1.0, share * lone) / share
    # Threads that share a cluster L2 (Cortex-A53/A72 clusters, Apple, ...) compete for its
    # capacity and fill bandwidth; cores with private L2s (DynamIQ, servers) much less: two
    # fitted inefficiencies, chosen by the slowest thread's cluster.
    sync = p[P_SYNC] if h[N_L2_SHARED] > 0.0 else p[P_SYNC_PRIV]
    # ncnn splits each layer's loop over opt.num_threads OpenMP threads (`#pragma omp
    # parallel for` in the layers' forward functions, e.g. src/layer/arm/convolution_arm.cpp).
    # The inefficiency grows with the physical cores that compete for the shared cache and
    # DRAM, not with the threads: threads time-sharing a core (SMT siblings, oversubscribed
    # runs) already split that core's rate (the row's clock is per thread) and add no
    # competitor of their own. A row that does not say (0) counts every thread as a core.
    # Within a shared-L2 cluster (a handful of cores) every added core is one more competitor
    # for the one L2: linear. Across cores with private L2s what is shared is the last level
    # and DRAM (whose bandwidth limits are priced in t_memory below) and the barrier, which
    # LLVM's OpenMP runtime (clang and NDK builds) combines in a tree (kmp_barrier.cpp), so
    # its depth, not the thread count, grows: log2. Chosen by leave-one-device-out: the linear
    # form fitted on 4-16 core parts and carried to 64 cores predicted 64-core servers 2-2.6x
    # too slow held out (EPYC 7742, a 64-vCPU Neoverse N2 VM); the log form 1.2-1.5x.
    # Tried and dropped (2026-12-01, full cold leave-one-device-out, against 26.0% / 61%
    # within 35%): the linear term counting only the busy cores of the slowest thread's
    # cluster (the cores that really share its L2: a Gracemont module of 4 on the i7-13700K,
    # one of the Snapdragon X Elite's three 4-core Oryon clusters, an Airmont pair), times
    # the private form's log2 over the other clusters, with those specs split one cluster
    # per L2: 26.4% / 60%. The i7-13700K held out went 5.13x -> 3.40x too slow and the Atom
    # x5-Z8350 22% -> 21%, but the X Elite (12 threads, its only multi-thread rows) 0.72 ->
    # 0.52 pred/meas (66% -> 14% of rows within 35%), and the shared sync value that moved
    # with it cost the SiFive U74 (16% -> 30%) and the Neoverse N2 VM (29% -> 32%).
    cores = h[N_CORES_BUSY] if h[N_CORES_BUSY] > 0.0 else T
    if h[N_L2_SHARED] > 0.0:
        teff = T * util / (1.0 + sync * (cores - 1.0))
    else:
        teff = T * util / (1.0 + sync * math.log2(cores))
    fp16 = h[N_FP16] > 0.0
    fpc = h[N_FP32_FPC] * (2.0 if fp16 else 1.0)
    int8 = x[X_INT8] > 0.0
    if int8 and fam == FAM_INT8_REF:
        # ncnn's generic int8 convolution (no vector kernels for this ISA): scalar code at a
        # fitted number of MACs per cycle.
        t_c = x[X_MACS] / (teff * clk * p[P_INT8_REF])
    elif int8 and algo == A_INT8_DW:
        # Quantised depthwise convs (convolutiondepthwise_arm.cpp, forward_int8_arm; likewise
        # x86): no reduction over channels to feed a dot-product instruction, so widening
        # int8 -> int16 multiplies and int32 accumulation, at the core's widening rate.
        t_c = (x[X_MACS] + x[X_XFORM]) / (teff * clk * h[N_INT8_WIDE_MPC] * p[P_INT8_DW])
    elif int8:
        # Quantised convs and innerproducts: MACs at the int8 rate; the int8 Winograd
        # (convolution_3x3_winograd_int8.h: int16 transforms, int16 x int16 GEMM) and the
        # int8 im2col GEMM (convolution_im2col_gemm_int8.h) reach different shares of it.
        # The int8 Winograd's int16 transforms take the float path's transform cost (see the
        # float branch below): fitted apart (2026-12-02, in-sample) they came out the same,
        # 7.6 against 7.8 GEMM multiply-adds per transform multiply-add.
        # The Winograd's batched GEMM multiplies int16 tiles by an int16 kernel: it runs at the
        # core's int16 multiply-accumulate rate (ncnn_hw.int16_macs_per_cycle), never on the
        # int8 dot products (SDOT, SMMLA, VPDPBUSD) the im2col GEMM uses.
        wino = algo == A_INT8_WINO43
        eff = p[P_INT8_WINO] if wino else p[P_INT8]
        rate = h[N_INT16_MPC] if wino else h[N_INT8_MPC]
        t_c = (x[X_MACS] + p[P_XFORM_COST] * x[X_XFORM]) / (teff * clk * rate * eff)
    elif fam == FAM_STREAM:
        t_c = 0.0
    else:
        if fam == FAM_WINO:
            eff = p[P_WINO]
        elif fam == FAM_DW:
            # One efficiency per MAC, whatever the window. Tried and dropped (2026-12-02,
            # in-sample): a fitted cost per output element on top of the MACs (the window's
            # loads and the store, which a 5x5 window spreads over 25 MACs and a 3x3 over 9):
            # it fitted to 9.8 MAC-equivalents, but the rms of log error went 0.307 -> 0.309
            # and the networks with 5x5 depthwise convs (MobileNet-V3, EfficientNet) kept
            # their residuals (1.15x, 1.05-1.10x too slow relative to their devices).
            eff = p[P_DW]
        elif fam == FAM_FC:
            eff = p[P_FC]
        else:
            eff = p[P_GEMM]
        # Winograd's input and output transforms are a phase of their own, before and after the
        # batched GEMM (convolution_3x3_winograd.h: conv3x3s1_winograd*_transform_input_tile /
        # _transform_output_tile, then the GEMM over the transformed tiles): gathers of
        # (m+2) x (m+2) tiles, a few adds and constant multiplies per element, scattered stores
        # into the GEMM's packed layout. Their cost per dense-counted multiply-add is not a GEMM
        # micro-kernel's FMA: the sparse transform matrices do fewer operations than the dense
        # count (about 2-4x fewer), each bound by loads and stores rather than the FMA pipes.
        # One fitted factor (`winograd_transform_cost`) prices them in GEMM multiply-adds.
        # Fitted on the benchncnn corpus (2026-12-02, measurements/ncnn/fit.yaml): 7.57 shared,
        # 4.3-12.9 with the ISA classes' offsets (7.97 and 4.6-13 before the InnerProduct
        # storage rule below and the bordered copies of ncnn_algos._bordered_elems), i.e. a
        # transform runs at about an eighth to a quarter of the GEMM's rate per counted
        # multiply-add. With the factor held at 1 (the dense count at GEMM speed, the model
        # before) the fit priced VGG-16 1.24x too slow and SqueezeNet-SSD 0.83x too fast
        # relative to each device's other networks, in-sample; 1.15x and 0.94x with it (the
        # model of that day). Leave-one-device-out (cold, 40 iterations): median |error|
        # 24.7% -> 24.4%, within 35% 63.5% -> 64.0%; the factor without class offsets (shared,
        # family and design levels only): 24.4% / 64.1%, no better, not kept.
        # Tried with it and dropped (in-sample, same day): a GEMM efficiency that saturates with
        # the reduction depth, K / (K + k_half) (k_half fitted to 12, rms of log error 0.3178 ->
        # 0.3158 without the transform factor, VGG-16 still 1.24x), or with the tile count (no
        # change); the im2col / packing buffers as a pass of their own added to the kernel's
        # time (0.3134 -> 0.3153) or priced per element like the transforms (0.3134 -> 0.3133).
        # Also tried and dropped (2026-12-02, full cold leave-one-device-out, 40 iterations, against
        # 23.8% / 64.9% within 35%, in-sample rms 0.3074): an efficiency of its own for the direct
        # packed convs (narrow convs and the 3-channel stems: convolution_packed.h and the
        # pack1to4 kernels, no GEMM micro-kernel), suggested by a regression of each run's residual
        # (its configuration's median removed) on the share of predicted time per algorithm, which
        # put them about 2x under-priced (GoogLeNet, whose 7x7 stem is a tenth of its time, 0.88x
        # of its devices' other networks): fitted to 0.31 against eff_gemm's 0.47, rms 0.3060,
        # GoogLeNet 0.88 -> 0.93 (ResNet-18 1.01 -> 1.07), but held out 24.0% / 65.5%: within the
        # protocol's noise, not kept.
        t_c = 2.0 * (x[X_MACS] + p[P_XFORM_COST] * x[X_XFORM]) / (teff * clk * fpc * eff)
    # Element-wise work (stream kernels, fused activations, quantise passes): vector code,
    # twice the lanes in fp16.
    cpe = p[P_STREAM_CPE] * (0.5 if fp16 else 1.0)
    t_c += x[X_STREAM_OPS] * cpe / (teff * clk)
    # Tried and dropped (2026-12-02, in-sample): stream kernels priced per element moved (their
    # reads and writes, a fitted `stream_cycles_per_elem_moved`) apart from their arithmetic,
    # since the same residual regression read the layout copies (Slice/Crop, Permute,
    # ShuffleChannel) as under-priced and the stand-alone activations as over-priced: it fitted
    # to 0.84 cycles per element moved, the layer overhead fell 58 -> 43 kcycles, but the rms
    # of log error went only 0.3074 -> 0.3071 and MobileNet-V3 (21 stand-alone HardSwish)
    # 1.14x -> 1.17x too slow relative to its devices' other networks.
    # Transcendentals (sigmoid/swish/softmax exp): a polynomial of ~10 vector ops each.
    t_c += x[X_TRANS] * 10.0 * cpe / (teff * clk)
    eb = h[N_EB_ACT]
    wb = _INT8_W_BYTES if int8 else eb
    if fam == FAM_FC and not int8 and h[N_FC_W_BYTES] > 0.0:
        # A float InnerProduct's weights in the storage its pipeline converts them to
        # (N_FC_W_BYTES, ncnn_hw.fc_weight_bytes): fp16 on far more cores than compute in fp16.
        # Counted at the activations' size before (2026-12-02, cold leave-one-device-out, 40
        # iterations): median |error| 24.4% -> 24.2%, within 35% 64.0% -> 64.6%; AlexNet
        # 34% -> 30%, VGG-16 31% -> 29%, whose weights are mostly InnerProduct's.
        wb = h[N_FC_W_BYTES]
    act_bytes = x[X_ACT_ELEMS] * eb + x[X_I8_ELEMS]
    w_bytes = x[X_W_ELEMS] * wb
    ws = x[X_WS_ELEMS] * eb
    cache_bw = T * h[N_CLOCK_HZ] * p[P_CACHE_BPC]
    # Tried and dropped (2026-12-02, full cold leave-one-device-out): a fitted DRAM rate per
    # core of its own (bytes per cycle one core's misses sustain), capping DRAM streams at
    # T x clock x that rate beside the cache rate: in-sample rms 0.307 -> 0.306, but held out
    # 23.8% / 64.9% within 35% -> 24.7% / 63.9%; the 4-thread rows stay 8% too slow against
    # the same devices' 1-thread rows (in-sample), AlexNet's 1.26x among them.
    # Also tried and dropped (2026-12-02, in-sample): a DRAM efficiency of its own for the weight
    # reads (one sequential pass, prefetch-friendly; dram_eff is fitted low, 0.21, and VGG-16, whose
    # weights are mostly InnerProduct's, reads 1.12x too slow relative to its devices' other
    # networks): fitted to 0.56 against dram_eff 0.17, but the rms of log error went 0.3074 ->
    # 0.3088, AlexNet 0.99x -> 0.88x and VGG-16 only 1.12x -> 1.10x.
    dram_bw = min(h[N_DRAM_BPS] * p[P_MEM], cache_bw)
    # Activations stay on chip when the kernel's working set fits in half the last level;
    # weights come from DRAM unless the whole network's weights fit (benchncnn runs the
    # network in a loop, so a small network's weights stay resident).
    act_on_chip = ws <= 0.5 * h[N_LLC_BYTES]
    t_m = act_bytes / (cache_bw if act_on_chip else dram_bw)
    t_m += w_bytes / (cache_bw if h[N_NET_W_FITS] > 0.0 else dram_bw)
    # The bytes the two choices above send to DRAM.
    out[4] = (0.0 if act_on_chip else act_bytes) + (0.0 if h[N_NET_W_FITS] > 0.0 else w_bytes)
    # Per parallel region (one per kernel; one per group of a grouped conv, which ncnn runs
    # as g Convolution ops in turn): a fixed dispatch cost, plus a fork/barrier cost that
    # grows with every thread the region wakes and joins (OpenMP's barrier touches each).
    # A grouped conv's later group ops pay their own (smaller, fitted) call cost, not the
    # layer's: no new blob bookkeeping in the net's layer loop, only the op's own setup.
    # Tried and dropped (2026-12-02, full cold leave-one-device-out): the per-thread term
    # growing with log2 of the threads (a tree barrier) instead of linearly: 24.4% / 64.0%
    # within 35% -> 24.7% / 64.5% (threads > 8: 55.3% -> 50.0%, but one thread 19.2% ->
    # 20.0%, the layer overhead refitted 56 -> 26 kcycles): mixed, not kept.
    regions = max(x[X_REGIONS], 1.0)
    t0 = (p[P_LAYER_CYC] + (regions - 1.0) * p[P_GROUP_CYC] + regions * p[P_FORK] * (T - 1.0)) * 1e3 / core_clk
    out[0] = max(t_c, t_m) + t0
    out[1] = t_c
    out[2] = t_m
    out[3] = t0


@numba.njit(cache=True)
def kernel_costs(xs, h, p):
    """[kernels, 5] for one hardware row and one parameter row."""
    res = np.zeros((xs.shape[0], 5))
    for k in range(xs.shape[0]):
        kernel_time(xs[k], h, p, res[k])
    return res


@numba.njit(cache=True, parallel=True)
def predict_rows(xall, net_start, net_stop, row_net, hws, prow):
    """Network time of many (network, hardware row, parameter row) triples at once.

    xall: every network's kernels stacked; network n is xall[net_start[n]:net_stop[n]].
    row_net[j], hws[j], prow[j]: the network, hardware row and parameters of triple j.
    """
    R = row_net.shape[0]
    out = np.zeros(R)
    for j in numba.prange(R):
        buf = np.zeros(5)
        n = row_net[j]
        t = 0.0
        for k in range(net_start[n], net_stop[n]):
            kernel_time(xall[k], hws[j], prow[j], buf)
            t += buf[0]
        out[j] = t
    return out


@numba.njit(cache=True, parallel=True)
def family_time_rows(xall, net_start, net_stop, row_net, hws, prow, nfam):
    """Time per algorithm family (ncnn_algos.ALGO_FAMILY) of each triple: [R, nfam]."""
    R = row_net.shape[0]
    out = np.zeros((R, nfam))
    for j in numba.prange(R):
        buf = np.zeros(5)
        n = row_net[j]
        for k in range(net_start[n], net_stop[n]):
            kernel_time(xall[k], hws[j], prow[j], buf)
            out[j, _ALGO_FAM[int(xall[k, X_ALGO])]] += buf[0]
    return out


_ = (FAM_GEMM, FAM_INT8)  # re-exported names documented above
