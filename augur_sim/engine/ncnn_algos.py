"""ncnn's CPU algorithm choice per kernel, and the work each algorithm really does.

The shared lowering (one row per executed kernel, fusion applied) says *what* a kernel
computes; this module says *how* ncnn computes it on a CPU, as benchncnn runs it (ncnn's
default options: packed layouts, Winograd and sgemm convolution on, fp16 storage and
arithmetic where the core has them, light mode), and what that costs in element counts:

- multiply-accumulates the algorithm actually executes (Winograd does far fewer than the
  layer's MACs), the arithmetic of its transforms, the elements it moves (activations,
  transform and packing buffers, weights), the independent work items it can spread over
  threads, and whether it runs on the int8 path.

Counts are in *elements*, never bytes: the bytes per element depend on the core (fp16
storage on ARMv8.2 cores with FP16 arithmetic, fp32 elsewhere), which the hardware row
carries, so one table serves every device of an architecture family. Every rule names
the ncnn source file and function it describes (Tencent/ncnn, src/layer/...); the rules
are described in our own words, not copied.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..lowering import C_CLS as _C_CLS
from ..lowering import C_ELEM_BYTES as _C_ELEM_BYTES
from ..lowering import C_GCOUNT as _C_GCOUNT
from ..lowering import C_IN_BYTES as _C_IN_BYTES
from ..lowering import C_M as _C_M
from ..lowering import C_OUT_BYTES as _C_OUT_BYTES
from ..lowering import C_POW as _C_POW
from ..lowering import C_TRANS as _C_TRANS

# Algorithm classes (the ALGO column). A kernel runs exactly one.
(A_NOOP, A_WINO63, A_WINO43, A_WINO23, A_SGEMM1X1, A_IM2COL, A_DIRECT, A_DW, A_FC, A_STREAM,
 A_INT8_GEMM, A_INT8_WINO43, A_INT8_DW, A_MATMUL, A_INT8_REF, A_GENERIC) = range(16)
ALGO_NAMES = ("noop", "winograd63", "winograd43", "winograd23", "sgemm1x1", "im2col_sgemm", "direct_packed",
              "depthwise", "innerproduct", "stream", "int8_gemm", "int8_winograd43", "int8_depthwise", "matmul",
              "int8_reference", "direct_generic")
# The algorithm families the fitted parameters belong to (one efficiency each).
FAM_GEMM, FAM_WINO, FAM_DW, FAM_FC, FAM_STREAM, FAM_INT8, FAM_INT8_REF = range(7)
FAMILY_NAMES = ("gemm", "winograd", "depthwise", "innerproduct", "stream", "int8", "int8_reference")
ALGO_FAMILY = (FAM_STREAM, FAM_WINO, FAM_WINO, FAM_WINO, FAM_GEMM, FAM_GEMM, FAM_GEMM, FAM_DW, FAM_FC,
               FAM_STREAM, FAM_INT8, FAM_INT8, FAM_DW, FAM_GEMM, FAM_INT8_REF, FAM_GEMM)

# Columns of an ncnn work row.
(X_ALGO, X_MACS, X_XFORM, X_ACT_ELEMS, X_W_ELEMS, X_STREAM_OPS, X_PAR, X_INT8, X_TRANS, X_WS_ELEMS,
 X_KERNEL, X_REGIONS, X_I8_ELEMS, X_SPLIT, X_SPLIT_KIND) = range(15)
NX = 15
# How a kernel's main parallel loop is cut into work items (X_SPLIT_KIND), when the count
# depends on the core's vector width and so on the hardware row (ncnn_cost.work_items):
# - SPLIT_ITEMS: X_PAR items, whatever the core;
# - SPLIT_GEMM_M: X_SPLIT output channels in tiles of the GEMM's M granule. ncnn's packed
#   GEMMs split only the M (output channel) dimension over threads: the im2col GEMM
#   (convolution_im2col_gemm.h, convolution_im2col_gemm: `omp parallel for` over nn_M, after
#   convolution_im2col_gemm_get_optimal_tile_mnk sets TILE_M to about M / threads rounded up
#   to the micro-kernel's rows: 16 with AVX-512, 8 with AVX, 4 with SSE2 on x86, 8 on aarch64
#   and in the fp16 kernels), the 1x1 GEMM (the same path) and the Winograd GEMM with its
#   output transform (convolution_3x3_winograd.h, conv3x3s1_winograd*: `omp parallel for`
#   over nn_M). A layer with fewer M tiles than threads leaves the other threads idle.
# - SPLIT_PACKED: X_SPLIT channels in packs of the blob's elempack (16/8/4/1 on x86 by what
#   divides the channels; 4 on NEON, 8 with fp16 storage): depthwise convs
#   (convolutiondepthwise_x86.cpp / _arm.cpp forward: `omp parallel for` over channels),
#   direct packed convs (convolution_packed.h: over output channel packs), innerproduct
#   (innerproduct_x86.cpp: over num_output / out_elempack) and the element-wise, pooling and
#   copy layers (binaryop_x86.cpp, pooling_x86.cpp, ...: over the blob's channels).
SPLIT_ITEMS, SPLIT_GEMM_M, SPLIT_PACKED = 0, 1, 2

# Fusion ncnn applies: ncnnoptimize folds BatchNorm/Scale and the bias into the convolution
# and InnerProduct weights, and Convolution/ConvolutionDepthWise/InnerProduct run their
# activation in place at the end of forward (activation_type; e.g. Convolution_arm::forward
# calls activation->forward_inplace). A residual add stays a BinaryOp/Eltwise of its own.
# An activation the .param file writes as a layer of its own after a conv or InnerProduct
# (EfficientNet-B0's 49 Swish, MobileNet-V3's 33 HardSwish/HardSigmoid layers) is fused here
# too, though ncnn's Net runs the layers of the file as they are. Tried and dropped
# (2026-12-02, in-sample): fusing only the conv's own activation (param 9, the frontend's
# '<layer>/act') and pricing the others as passes of their own: rms of log error 0.307 ->
# 0.310, MobileNet-V3 1.15x -> 1.20x and EfficientNet-B0 1.07x -> 1.13x too slow relative to
# their devices' other networks: the measured times do not show those passes' cost.
NCNN_FUSION = ("conv_bias", "conv_bn", "conv_relu", "fc_bias", "fc_relu", "bn_relu")

# "generic": a core whose vector ISA none of ncnn's per-architecture trees has kernels for
# (x86 without SSE2, e.g. Knights Corner's k1om builds; MIPS without MSA; RISC-V without V;
# ncnn_hw.generic_path). Every layer is then the portable C++ of src/layer/*.cpp: its own
# algorithms, whatever the core's architecture.
ARCHS = ("arm", "x86", "riscv", "other", "generic")


@dataclass(frozen=True)
class NcnnRows:
    """The ncnn view of one lowered network for one architecture family."""
    net: str
    arch: str
    x: np.ndarray            # [kernels, NX] float64
    algos: tuple             # algorithm name per kernel
    kernel_names: tuple      # host layer per kernel (same order as the shared lowering)


# ncnn's Winograd variant tables (src/layer/x86/convolution_x86.cpp and the ports that share
# them, e.g. src/layer/loongarch/convolution_loongarch.cpp: test_prefer_winograd63 and
# test_prefer_winograd23, "profiled on i7-7700 single thread"), restated as data: for a band
# of input channels (at least the first number) and of output channels (at least the second),
# the ranges of min(padded w, padded h) on which the variant is preferred. A layer not in a
# band (64 or more input channels for F(6,3)) does not prefer it.
_WINO63_BANDS = {
    (32, 32): ((11, 14), (19, 20), (23, 44), (47, 56), (63, 130)),
    (32, 16): ((13, 14), (19, 20), (23, 38), (43, 44), (47, 140)),
    (32, 8): ((11, 14), (19, 20), (31, 38), (43, 44), (55, 162)),
    (16, 32): ((11, 14), (19, 20), (23, 44), (47, 92), (95, 188)),
    (16, 16): ((11, 14), (27, 38), (43, 44), (47, 74), (81, 110), (117, 170), (177, 182)),
    (16, 8): ((19, 20), (33, 38), (43, 44), (47, 128), (155, 210)),
    (8, 32): ((7, 14), (17, 20), (23, 26), (31, 38), (43, 162)),
    (8, 16): ((31, 32), (39, 44), (47, 212)),
}
# x86's F(2,3) table also covers wide layers: on small planes the cheap transforms win there.
_WINO23_BANDS_X86 = {
    (512, 512): ((3, 14),), (512, 256): ((3, 14),), (512, 128): ((3, 14),),
    (512, 64): ((3, 8), (11, 12)), (512, 32): ((3, 8),), (512, 16): ((3, 8),), (512, 8): ((3, 6),),
    (256, 512): ((3, 14),), (256, 256): ((3, 14),), (256, 128): ((3, 12),), (256, 64): ((3, 4),),
    (256, 32): ((3, 8),), (256, 16): ((3, 8),), (256, 8): ((3, 6),),
    (128, 512): ((3, 14),), (128, 256): ((3, 8), (11, 12)), (128, 128): ((3, 10),), (128, 64): ((3, 8),),
    (128, 32): ((3, 10),), (128, 16): ((3, 6),), (128, 8): ((3, 6),),
    (64, 512): ((3, 8), (11, 12), (15, 20)), (64, 256): ((7, 8),), (64, 128): ((3, 8), (19, 22)),
    (64, 64): ((3, 12),), (64, 32): ((3, 12),), (64, 16): ((3, 12),), (64, 8): ((3, 12),),
    (32, 512): ((3, 6), (11, 12)), (32, 256): ((3, 6), (11, 12)), (32, 128): ((3, 4), (7, 16)),
    (32, 64): ((3, 8),), (32, 32): ((7, 8),), (32, 16): ((7, 8),), (32, 8): ((3, 10),),
    (16, 512): ((11, 12),), (16, 256): ((3, 12),), (16, 128): ((3, 6), (9, 18)),
    (16, 64): ((3, 4), (7, 8), (11, 12), (15, 18)), (16, 32): ((3, 4), (9, 10)), (16, 16): ((3, 10),),
    (16, 8): ((3, 8), (11, 12)),
    (8, 64): ((3, 4), (7, 14), (47, 48)), (8, 32): ((3, 6), (15, 16)), (8, 16): ((3, 6), (9, 14), (47, 212)),
    (8, 8): ((3, 10 ** 6),),
}
# The other trees' F(2,3) rule (the loongarch/mips/arm ports): narrow layers only, above a
# plane size that grows with the channel counts.
_WINO23_MIN_NARROW = {(32, 32): 36, (32, 16): 28, (32, 8): 20, (16, 32): 24, (16, 16): 16, (16, 8): 12,
                      (8, 32): 16, (8, 16): 8}


def _band(c: int, edges) -> int:
    """The largest band edge c reaches (0: below every band)."""
    return max((e for e in edges if c >= e), default=0)


def _in_ranges(x: int, ranges) -> bool:
    return any(lo <= x <= hi for lo, hi in ranges)


def winograd_choice(cin: int, cout: int, w_padded: int, h_padded: int, arch: str) -> int:
    """Which Winograd variant ncnn runs for a 3x3 stride-1 convolution.

    Describes create_pipeline of src/layer/x86/convolution_x86.cpp (and its ports): F(6,3) is
    preferred by test_prefer_winograd63's table, F(2,3) by test_prefer_winograd23's, F(4,3)
    otherwise (both preferred cannot happen in the tables). The tables key on the smaller
    padded side and on bands of channel counts (_WINO63_BANDS, _WINO23_BANDS_X86,
    _WINO23_MIN_NARROW above). x86's F(2,3) table also picks F(2,3) for wide layers on small
    planes (e.g. 512 -> 512 channels at 7x7, 14x14); the other trees keep F(4,3) there.
    Where both tables prefer their variant the if-chain that follows takes F(2,3).

    Tried and dropped (2026-12-02, full cold leave-one-device-out): the rule of the fp16
    pipeline for cores computing in fp16 (a version of src/layer/arm/convolution_fp16s.h,
    convolution_transform_kernel_fp16s: Winograd only with 16 or more channels in or out, then
    F(6,3) while both channel counts are at most 128, else F(4,3) with 16 or more each, else
    F(2,3)), as an `arm-fp16` tree of its own: 23.8% / 64.9% within 35% -> 23.8% / 64.7%,
    in-sample rms 0.307 -> 0.308. The ncnn versions behind the corpus' rows differ, and the
    stored source that has this rule also has the fp32 path on a simpler rule than the tables
    here; neither reads better on the corpus.
    """
    minwh = min(w_padded, h_padded)
    ci63 = _band(cin, (8, 16, 32)) if cin < 64 else 0
    co63 = _band(cout, (8, 16, 32)) if cout < 64 else 0
    f63 = bool(ci63 and co63 and _in_ranges(minwh, _WINO63_BANDS.get((ci63, co63), ())))
    if arch == "x86":
        key = (_band(cin, (8, 16, 32, 64, 128, 256, 512)), _band(cout, (8, 16, 32, 64, 128, 256, 512)))
        f23 = _in_ranges(minwh, _WINO23_BANDS_X86.get(key, ()))
    else:
        f23 = minwh >= _WINO23_MIN_NARROW.get((ci63, co63), 10 ** 9) if ci63 and co63 else False
    # Where both tables prefer their variant, create_pipeline's if-chain takes F(2,3) first.
    if f23:
        return A_WINO23
    return A_WINO63 if f63 else A_WINO43


def winograd_work(algo: int, cin: int, cout: int, hout: int, wout: int) -> tuple[float, float, float]:
    """(GEMM MACs, transform MACs, transform-buffer elements written and read) of F(m,3).

    src/layer/arm/convolution_3x3_winograd.h (conv3x3s1_winograd{23,43,63}): the output is
    cut into m x m tiles, each read as a (m+2) x (m+2) input tile; per tile and input channel
    the input transform computes B^T d B, the element-wise stage is, for each of the
    (m+2)^2 positions, a GEMM over channels (Cout x Cin times Cin x tiles), and per tile and
    output channel the output transform computes A^T M A. Transforms are counted as dense
    matrix products (t = m + 2):  input 2 * t^3, output m * t^2 + m^2 * t MACs per tile and
    channel. The transformed input (tiles x t^2 x Cin) and the GEMM output (tiles x t^2 x
    Cout) are written once and read once each.
    """
    m = {A_WINO63: 6, A_WINO43: 4, A_WINO23: 2, A_INT8_WINO43: 4}[algo]
    t = m + 2
    tiles = math.ceil(hout / m) * math.ceil(wout / m)
    gemm = float(tiles) * t * t * cin * cout
    xform = float(tiles) * (cin * 2 * t ** 3 + cout * (m * t * t + m * m * t))
    buf = 2.0 * tiles * t * t * (cin + cout)
    return gemm, xform, buf


def is_ncnn_depthwise(group: int, cin: int, cout: int) -> bool:
    """Whether ncnn runs a grouped conv as its direct depthwise kernels: one group per input
    and per output channel (src/layer/arm/convolutiondepthwise_arm.cpp, forward: 3x3/5x5
    stride 1/2 specialised, generic otherwise; never an im2col). Other grouped convs,
    channel multipliers included, run one im2col GEMM per group (create_group_ops)."""
    return group > 1 and cin == group and cout == group


def _conv_row(host, hc, arch: str, winograd: bool = True) -> tuple[int, float, float, float, float, float, float, int]:
    """(algo, executed MACs, transform MACs, extra elements moved, parallel items per region,
    parallel regions, channels split, how they split: SPLIT_*) of a conv."""
    n, cin, hin, win = hc.input_shapes[0]
    _, cout, hout, wout = hc.output_shapes[0]
    kh, kw = host.attrs["kernel"]
    sh, sw = host.attrs.get("stride", (1, 1))
    dh, dw = host.attrs.get("dilation", (1, 1))
    g = host.attrs.get("group", 1)
    pt, pl, pb, pr = host.attrs.get("pad", (0, 0, 0, 0))
    macs = float(hc.counts.macs)
    int8 = bool(host.attrs.get("int8", False))
    # ConvolutionDepthWise: ncnn's direct depthwise kernels; work items are channel planes.
    if is_ncnn_depthwise(g, cin, cout):
        return (A_INT8_DW if int8 else A_DW), macs, 0.0, 0.0, float(n * cin), 1.0, float(n * cin), SPLIT_PACKED
    if arch == "generic":
        # The portable layers (src/layer/convolution.cpp, Convolution::forward and
        # forward_int8): no Winograd, no im2col, no packing: a direct loop over every MAC
        # of the layer (grouped convs too: convolutiondepthwise.cpp loops over the groups
        # itself), each output channel an `omp parallel for` item; quantised layers the
        # same loop in int8 (the int8 reference class). Depthwise convs keep their class
        # above (convolutiondepthwise.cpp: the same direct loop, per channel).
        # Tried and dropped (2026-12-01, leave-one-device-out of the three devices on this
        # path): a MIPS core with Loongson MMI running its quantised convs on the mips tree's
        # MMI int8 kernels (convolution_*_int8_loongson_mmi.cpp) at its widening int8 rate,
        # not here: Loongson 3A3000 0.67 -> 0.57 pred/meas (31% within 35% either way), SiFive
        # U74 66% -> 69% within 35%, but Xeon Phi 0.84 -> 1.36 (32% -> 22%).
        if int8:
            return A_INT8_REF, macs, 0.0, 0.0, float(n * cout), 1.0, 0.0, SPLIT_ITEMS
        return A_GENERIC, macs, 0.0, 0.0, float(n * cout), 1.0, 0.0, SPLIT_ITEMS
    # Other grouped convs: ConvolutionDepthWise with group < channels runs one Convolution
    # per group (create_group_ops), i.e. g small im2col GEMMs, and its forward (the "group
    # convolution" branch of ConvolutionDepthWise_arm::forward) calls them one after the
    # other: g parallel regions, each splitting only its own group's GEMM over the threads.
    if g > 1:
        col = float(n * g * (cin // g) * kh * kw * hout * wout)
        par_g = float(n * max(1, math.ceil(cout / g / 8)) * max(1, math.ceil(hout * wout / 64)))
        return (A_INT8_GEMM if int8 else A_IM2COL), macs, 0.0, 2.0 * col, par_g, float(g), float(cout // g), \
            SPLIT_GEMM_M
    if int8 and arch == "riscv":
        # ncnn's RISC-V convolutions have no int8 kernels (src/layer/riscv/convolution_riscv.cpp:
        # create_pipeline leaves the int8 case unimplemented and forward hands quantised layers
        # to the generic Convolution::forward_int8, unpacked): a scalar direct convolution over
        # every MAC of the layer, split over output channels.
        return A_INT8_REF, macs, 0.0, 0.0, float(n * cout), 1.0, 0.0, SPLIT_ITEMS
    par_gemm = float(n * max(1, math.ceil(cout / 8)) * max(1, math.ceil(hout * wout / 64)))
    # `winograd` False: ncnn's Option::use_winograd_convolution off (it defaults on), which every
    # create_pipeline tests before its Winograd branch: the conv takes the path below instead.
    wino_ok = winograd and kh == kw == 3 and sh == sw == 1 and dh == dw == 1
    # prefer_winograd: ARM takes Winograd when either channel count is at least 8, x86 and
    # the others when either exceeds 8 (Convolution_arm / Convolution_x86 create_pipeline).
    wide = (cin >= 8 or cout >= 8) if arch == "arm" else (cin > 8 or cout > 8)
    if int8:
        # Quantised convs (src/layer/arm/convolution_arm.cpp, create_pipeline_int8_arm /
        # forward_int8_arm): 3x3 stride 1 with at least 16 channels in and out use the int8
        # F(4,3) Winograd (convolution_3x3_winograd_int8.h, transforms in int16), everything
        # else the int8 im2col GEMM (convolution_im2col_gemm_int8.h). The input is quantised
        # and the output dequantised/requantised in passes over the activations.
        if wino_ok and cin >= 16 and cout >= 16:
            gemm, xform, buf = winograd_work(A_INT8_WINO43, cin, cout, hout, wout)
            return A_INT8_WINO43, gemm * n, xform * n, buf * n, par_gemm, 1.0, float(cout), SPLIT_GEMM_M
        col = 0.0 if kh == kw == 1 and sh == sw == 1 else float(n * cin * kh * kw * hout * wout)
        return A_INT8_GEMM, macs, 0.0, 2.0 * col, par_gemm, 1.0, float(cout), SPLIT_GEMM_M
    if wino_ok and wide:
        algo = winograd_choice(cin, cout, win + pl + pr, hin + pt + pb, arch)
        gemm, xform, buf = winograd_work(algo, cin, cout, hout, wout)
        return algo, gemm * n, xform * n, buf * n, par_gemm, 1.0, float(cout), SPLIT_GEMM_M
    if kh == kw == 1:
        # 1x1 always goes to the GEMM path (convolution_im2col_gemm.h: for a 1x1 kernel
        # the "im2col" is the input itself); the input is still packed into the GEMM's B
        # tiles on every forward, and a stride-2 1x1 first gathers every other pixel.
        pack = float(n * cin * hout * wout) * (2.0 if sh * sw > 1 else 1.0)
        return A_SGEMM1X1, macs, 0.0, pack, par_gemm, 1.0, float(cout), SPLIT_GEMM_M
    # Narrow convs (few channels, e.g. the 3-channel stem) run ncnn's direct packed
    # kernels (convolution_packed.h; prefer_sgemm false when both channel counts are at
    # most 16 and the weights fit in L2); wider ones im2col + sgemm
    # (convolution_im2col_gemm.h), which writes and reads a Cin*k*k x Hout*Wout buffer.
    if cin <= 16 and cout <= 16:
        return A_DIRECT, macs, 0.0, 0.0, float(n * max(1, math.ceil(cout / 4)) * hout), 1.0, float(cout), SPLIT_PACKED
    if cin <= 4:
        # pack1to4 3x3 s1/s2 and 7x7 s2 stems keep their direct kernels
        # (Convolution_arm create_pipeline: prefer_sgemm forced false for elempack 1 -> 4).
        return A_DIRECT, macs, 0.0, 0.0, float(n * max(1, math.ceil(cout / 4)) * hout), 1.0, float(cout), SPLIT_PACKED
    col = float(n * cin * kh * kw * hout * wout)
    return A_IM2COL, macs, 0.0, 2.0 * col, par_gemm, 1.0, float(cout), SPLIT_GEMM_M


# Layers that pass a blob through unchanged in type (ncnn's Split, Noop-like reshapes): an
# int8 blob stays int8 across them.
_PASS_OPS = ("identity", "reshape", "flatten")


def _input_is_int8(graph, host) -> bool:
    """Whether a conv's input blob is int8: produced, through pass-through layers, by an int8
    conv that requantizes its output (int8_scale_term > 100) with no float activation between."""
    t = host.inputs[0] if host.inputs else None
    for _ in range(16):
        if t is None or t not in graph.tensors:
            return False
        prod = graph.tensors[t].producer
        try:
            layer = graph.layer(prod)
        except (KeyError, ValueError):
            return False
        if layer.op == "conv":
            return bool(layer.attrs.get("int8_requant", False))
        if layer.op == "act" and layer.name.endswith("/act"):
            # the conv's own fused activation (the frontend's '<conv>/act' layer)
            t = layer.inputs[0] if layer.inputs else None
            continue
        if layer.op in _PASS_OPS:
            t = layer.inputs[0] if layer.inputs else None
            continue
        return False
    return False


@dataclass(frozen=True)
class KernelView:
    """One kernel of a lowered network as the ncnn row builders read it (the CPU's ncnn_rows
    and the GPU's engine/ncnn_vulkan.vk_rows walk the same kernels the same way)."""
    i: int                   # the kernel's row in the lowering
    kern: object             # lowering.Kernel
    host: object             # the host layer (graph.layer(kern.name))
    counts: tuple            # LayerCount of each layer of the kernel, host first
    in_elems: float          # activation elements read and written (fused operands included):
    out_elems: float         # the lowering's byte counts over its element size
    w_elems: float           # weight elements of every layer in the kernel
    trans: float             # transcendental evaluations (exp, tanh, ... and pow)
    noop: bool               # nothing runs (a free layer: reshape, identity, ...)

    @property
    def flops(self) -> float:
        """The FLOPs of every layer in the kernel (the host's and its fused layers')."""
        return float(sum(c.counts.flops for c in self.counts))

    @property
    def fused_flops(self) -> float:
        """The FLOPs of the layers fused into the host (its epilogue: activation, operands)."""
        return float(sum(c.counts.flops for c in self.counts[1:]))


def walk_kernels(graph, low):
    """KernelView of each kernel of a lowered network, in the lowering's order."""
    by_name = {lc.name: lc for lc in low.counts}
    for i, kern in enumerate(low.kernels):
        host = graph.layer(kern.name)
        counts = tuple(by_name[n] for n in kern.layers)
        eb = low.rows[i, _C_ELEM_BYTES]
        yield KernelView(i, kern, host, counts, low.rows[i, _C_IN_BYTES] / eb, low.rows[i, _C_OUT_BYTES] / eb,
                         float(sum(c.counts.weight_elems for c in counts)),
                         float(low.rows[i, _C_TRANS] + low.rows[i, _C_POW]),
                         bool(low.rows[i, _C_CLS] == 0 or by_name[host.name].category == "free"))


def bordered_elems(op: str, attrs: dict, in_shape, out_shape) -> float:
    """Elements of the bordered copy ncnn makes of a padded conv's or pooling window's input.

    Convolution, ConvolutionDepthWise and Pooling pad by copying: their forward functions
    begin with make_padding(bottom_blob, bottom_blob_bordered, opt), which runs
    copy_make_border into a new blob from the workspace allocator whenever a pad is non-zero
    (src/layer/arm/convolution_arm.cpp, convolutiondepthwise_arm.cpp, pooling_arm.cpp,
    forward; likewise the x86, mips, loongarch and riscv trees and the portable
    src/layer/convolution.cpp); the kernel then reads the bordered blob. Global pooling and
    unpadded layers copy nothing. The pads are the op's (top, left, bottom, right), plus the
    tail a ceil-mode window needs beyond them (ncnn's "full padding", pad_mode 0, which
    caffe2ncnn writes for Caffe's pooling; the ncnn frontend has already folded it into the
    bottom and right pads). Shared by the time model (ncnn_rows) and the memory model
    (gpu_memory.ncnn_memory's workspace).
    Not counted before (2026-12-02, cold leave-one-device-out, 40 iterations): median |error|
    24.2% -> 23.8%, within 35% 64.6% -> 64.9%; in-sample rms of log error 0.311 -> 0.307."""
    if op not in ("conv", "pool") or attrs.get("global"):
        return 0.0
    pt, pl, pb, pr = (tuple(attrs.get("pad") or ()) + (0, 0, 0, 0))[:4]
    ishape, oshape = tuple(in_shape or ()), tuple(out_shape or ())
    if len(ishape) != 4 or len(oshape) != 4:
        return 0.0
    n, c, h, w = (int(v) for v in ishape)
    kh, kw = attrs.get("kernel", (1, 1))
    sh, sw = attrs.get("stride", (1, 1))
    dh, dw = attrs.get("dilation", (1, 1)) if op == "conv" else (1, 1)
    # the rows and columns the windows reach: the pads, or further for a ceil-mode tail
    hb = max(h + pt + pb, (int(oshape[2]) - 1) * sh + dh * (kh - 1) + 1)
    wb = max(w + pl + pr, (int(oshape[3]) - 1) * sw + dw * (kw - 1) + 1)
    if hb == h and wb == w:
        return 0.0
    return float(n * c * hb * wb)


def _bordered_elems(host, hc) -> float:
    """bordered_elems of a kernel's host layer, from its counted shapes."""
    return bordered_elems(host.op, host.attrs, hc.input_shapes[0] if hc.input_shapes else (),
                          hc.output_shapes[0] if hc.output_shapes else ())


def _add_bordered_copy(r: np.ndarray, bordered: float, int8: bool) -> None:
    """The bordered copy's cost on a kernel row: it reads the input and writes the bordered
    blob (one element operation each), and the kernel reads the bordered blob instead of the
    input: 2 x bordered more elements moved, in int8 for a quantised conv (forward_int8_arm
    quantizes first, then pads the int8 blob)."""
    if bordered <= 0.0:
        return
    r[X_I8_ELEMS if int8 else X_ACT_ELEMS] += 2.0 * bordered
    r[X_STREAM_OPS] += bordered
    r[X_WS_ELEMS] += bordered


def ncnn_rows(graph, low, arch: str, winograd: bool = True) -> NcnnRows:
    """The ncnn work table of a network lowered with NCNN_FUSION, for one architecture family;
    `winograd` False: with ncnn's Winograd convolutions switched off (Option::use_winograd_convolution)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown ncnn architecture family {arch!r}; expected one of {ARCHS}")
    x = np.zeros((low.n, NX), dtype=np.float64)
    algos = []
    for v in walk_kernels(graph, low):
        i, kern, host, hc = v.i, v.kern, v.host, v.counts[0]
        r = x[i]
        r[X_KERNEL] = i
        in_elems, out_elems, w_elems = v.in_elems, v.out_elems, v.w_elems
        if kern.aux:
            # A separate bias pass (not used with NCNN_FUSION, kept for completeness).
            in_elems = out_elems
            w_elems = 0.0
        r[X_W_ELEMS] = w_elems
        r[X_TRANS] = v.trans
        if v.noop:
            r[X_ALGO] = A_NOOP
            algos.append(ALGO_NAMES[A_NOOP])
            continue
        int8 = bool(host.attrs.get("int8", False))
        if host.op == "conv" and not kern.aux:
            algo, macs, xform, extra, par, regions, split, kind = _conv_row(host, hc, arch, winograd)
            r[X_REGIONS] = regions
            r[X_SPLIT], r[X_SPLIT_KIND] = split, kind
            r[X_MACS], r[X_XFORM] = macs, xform
            r[X_ACT_ELEMS] = in_elems + out_elems + extra
            # Fused epilogue operands (none with NCNN_FUSION but a conv_eltwise spec) and
            # the activation in place cost a pass over the output each.
            r[X_STREAM_OPS] = v.fused_flops
            r[X_PAR] = par
            if algo in (A_INT8_GEMM, A_INT8_WINO43, A_INT8_DW, A_INT8_REF):
                r[X_INT8] = 1.0
                # Requantize fusion (forward_int8_arm: int8_scale_term > 100 requantizes the
                # int32 sums straight to int8 with the output scale; the next int8 conv sees an
                # int8 blob and skips its quantize pass): the output pass is always paid
                # (requantize or dequantize), the input's quantize pass only when the input is
                # a float blob. int8 blobs move 1 byte per element.
                in_i8 = _input_is_int8(graph, host)
                out_i8 = bool(host.attrs.get("int8_requant", False))
                r[X_STREAM_OPS] += (0.0 if in_i8 else in_elems) + out_elems
                i8 = (in_elems if in_i8 else 0.0) + (out_elems if out_i8 else 0.0)
                r[X_I8_ELEMS] = i8
                r[X_ACT_ELEMS] -= i8
            r[X_WS_ELEMS] = in_elems + out_elems + w_elems + extra
            _add_bordered_copy(r, _bordered_elems(host, hc), int8=r[X_INT8] > 0.0)
        elif host.op == "fc" and not kern.aux:
            # InnerProduct (src/layer/arm/innerproduct_arm.cpp, forward): at batch 1 a
            # matrix-vector product that streams every weight once; int8 weights when
            # quantised (innerproduct int8 path).
            algo = A_FC
            r[X_MACS] = float(hc.counts.macs)
            r[X_ACT_ELEMS] = in_elems + out_elems
            r[X_PAR] = float(max(1, math.ceil(host.attrs["out_features"] / 4)))
            r[X_SPLIT], r[X_SPLIT_KIND] = float(host.attrs["out_features"]), SPLIT_PACKED
            r[X_WS_ELEMS] = in_elems + out_elems + w_elems
            if int8:
                r[X_INT8] = 1.0
        elif host.op in ("matmul", "deconv") and not kern.aux:
            # MatMul / Gemm / Deconvolution: packed GEMMs (src/layer/arm/gemm_arm.cpp,
            # deconvolution_arm.cpp), at the sgemm efficiency.
            algo = A_MATMUL
            r[X_MACS] = float(hc.counts.macs)
            r[X_ACT_ELEMS] = in_elems + out_elems
            r[X_PAR] = float(max(1, low.rows[i, _C_GCOUNT] * math.ceil(low.rows[i, _C_M] / 8)))
            r[X_WS_ELEMS] = in_elems + out_elems + w_elems
        else:
            # Pooling, BinaryOp/Eltwise, Concat/Slice/Crop copies, Interp, Softmax,
            # activations not fused: one pass over their elements at memory or vector
            # speed (pooling_arm.cpp, binaryop_arm.cpp, ...).
            algo = A_STREAM
            r[X_ACT_ELEMS] = in_elems + out_elems
            r[X_STREAM_OPS] = v.flops + out_elems
            r[X_PAR] = float(max(1.0, out_elems / 4096.0))
            oshape = tuple(hc.output_shapes[0]) if hc.output_shapes else ()
            if len(oshape) == 4 and int(oshape[2]) * int(oshape[3]) > 1:
                # a (n, c, h, w) blob: the layer's loop runs over its (packed) channels
                r[X_SPLIT], r[X_SPLIT_KIND] = float(oshape[0] * oshape[1]), SPLIT_PACKED
            r[X_WS_ELEMS] = in_elems + out_elems + w_elems
            if host.op == "pool":
                _add_bordered_copy(r, _bordered_elems(host, hc), int8=False)
        r[X_ALGO] = algo
        if r[X_REGIONS] == 0.0:
            r[X_REGIONS] = 1.0
        algos.append(ALGO_NAMES[algo])
    return NcnnRows(low.net, arch, x, tuple(algos), tuple(k.name for k in low.kernels))

