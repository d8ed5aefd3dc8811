"""ncnn's Vulkan (GPU) backend as benchncnn runs it: which shader each layer runs, the work it
does, and its cost on many GPU rows at once (numba).

benchncnn with a gpu_device runs ncnn's default options on the GPU: fp16 packed storage
(`use_fp16_packed`, `use_fp16_storage`) and fp16 arithmetic (`use_fp16_arithmetic`) where the
device's driver exposes them (net.cpp turns each off when the Vulkan device lacks the
feature), channels packed by 4 (`elempack` 4 when the channel count divides by 4; pack8 is off
by default), Winograd and GEMM convolution on. Per layer (src/layer/vulkan/*.cpp, described in
our own words):

- Convolution_vulkan (convolution_vulkan.cpp, create_pipeline / forward):
  - a 3x3 stride-1 dilation-1 conv with at least 16 input and 16 output channels, both packed
    by 4, runs Winograd: F(4,3) normally, F(2,3) on small planes (a discrete GPU, Vulkan device
    type 0, when the padded input is at most 24 x 24 and neither side is 22; any other GPU when
    it is at most 12 x 12). The input is padded to whole tiles (a Padding dispatch), then three
    dispatches (input transform, a batched GEMM over the t*t tile positions, output transform
    with bias and activation) and a Crop back to the output size;
  - a 1x1 stride-1 conv whose input and output packs agree runs the 1x1 shader, a GEMM over
    pixels x output channels;
  - any other conv with at least 16 input and 16 output channels runs the GEMM shader
    (implicit im2col, `use_sgemm_convolution`);
  - everything else (the 3-channel stems, narrow layers) runs the generic direct shader, at the
    GEMM shaders' efficiency (VK_ALGO_FAMILY says why);
  - explicit padding is its own Padding dispatch before the conv.
- ConvolutionDepthWise_vulkan: one direct shader per layer (depthwise, or grouped).
- InnerProduct_vulkan: a matrix-vector product that reads every weight once (batch 1): bound by
  that weight stream, no efficiency of its own (VK_ALGO_FAMILY says why).
- Pooling, BinaryOp/Eltwise, Concat, Interp, Softmax, activations that are not fused: one
  element-wise dispatch each (stream).
- Reduction and the SSD/YOLO decoders have no Vulkan shader in the corpus' ncnn releases (see
  CPU_FALLBACK_OPS): ncnn runs them on the CPU, which costs a submit-and-wait, a download and an
  upload each (`cpu_fallback_us`).
- Per inference (benchncnn's Extractor with a VkCompute command): the input is uploaded and
  cast to fp16/packed, the commands are recorded, submitted and waited on, the output is
  downloaded. No separate term: the per-dispatch cost carries the one submission (a fitted
  per-inference cost, `submit_us`, went to zero on every fit).
- How far a small layer fills a large GPU: not modelled (every layer at the class's
  efficiency); a fitted and a hard fill rule were tried and were no better held out, so the
  rows carry neither the invocation nor the lane count such a rule reads. The dropped terms,
  with the figures that decided it: scripts/accuracy_ncnn_vulkan.py `DROPPED`, printed in
  docs/ACCURACY_NCNN_VULKAN.md ("Parameters dropped").

Cost of one kernel on one GPU row, in the roofline form the CPU runtime uses:

    t = max(flops / (eff[family] * peak), bytes / (mem_eff * dram_bw)) + dispatches * dispatch_us

peak is the fp16 shader rate where ncnn computes in fp16 (fp16_arithmetic), else fp32; bytes
count activations and weights at 2 bytes (fp16 storage or packed) or 4. eff, mem_eff,
dispatch_us and cpu_fallback_us are the fitted portable parameters: shared values times a factor
per GPU class (hw/schema.VULKAN_CLASSES) and per GPU kind (GPU_KINDS: integrated or discrete),
fitted by measure/ncnn_vulkan_fit.py. Quantised (int8) layers are
not run by ncnn's Vulkan backend (they fall back to the CPU, with transfers): networks that have
them are refused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from ..errors import AugurError
from .ncnn_algos import walk_kernels
from .ncnn_params import log_param_values, named_log_values, read_fit_doc

# Shader classes (the V_ALGO column).
(VA_NOOP, VA_WINO43, VA_WINO23, VA_GEMM1X1, VA_GEMM, VA_DIRECT, VA_DW, VA_FC, VA_STREAM, VA_CPU,
 VA_MATMUL) = range(11)
VK_ALGO_NAMES = ("noop", "vk_winograd43", "vk_winograd23", "vk_gemm1x1", "vk_gemm", "vk_direct",
                 "vk_depthwise", "vk_innerproduct", "vk_stream", "cpu_fallback", "vk_matmul")
# Efficiency family of each shader class (index into the eff_* parameters; -1: none, the shader's
# arithmetic at the peak rate, never its bound in practice).
# - The generic direct convolution (the stems and narrow convs: convolution.comp and its pack1to4
#   / pack4 / pack4to1 variants, the convs under the GEMM shader's 16-channel threshold) is priced
#   at the convolution shaders' efficiency (eff_gemm). A parameter of its own was not pinned by
#   the corpus: each network has one such conv, its stem, 0-5% of the network's time, and the fit
#   used that efficiency as a knob for the four networks with 7x7 and 11x11 stems (resnet18,
#   resnet50, googlenet, alexnet), up to its bound 1 in every class: the whole shader peak, for a
#   loop that loads an input value and a weight vector per multiply-add. With it fixed instead of
#   fitted, the fit's rms of log error was 0.4531 at 0.1 and 0.4507 at 1.0: no preference the
#   data can carry; and the fit stalled at the bound (projected steps), rms 0.4517. Which family
#   it joins the corpus barely tells (the depthwise shaders' loop is the closer in shape; the
#   GEMM family by 0.1 points held out; figures in scripts/accuracy_ncnn_vulkan.py `DROPPED`).
# - InnerProduct on one row reads every weight once for one multiply-add: 2 FLOPs per 2-byte
#   weight, 1 FLOP per byte, against 3 (the TH1520's PowerVR) to 81 (the RX 6900 XT) FLOP per
#   byte of shader peak over DRAM bandwidth on the corpus GPUs (median 29). Its compute outlasts
#   its weight stream only at an efficiency under mem_eff x bandwidth / peak, about 6% on the
#   narrowest GPU and under 1% on most. The fitted eff_innerproduct moved only while the
#   starting mem_eff (0.5) made the narrowest GPU's layers compute-bound (0.1 -> 0.109), then
#   bound no row and stayed there in every class, unconstrained. Its time is now the weights'
#   stream at mem_eff, its arithmetic priced at the peak rate as the element-wise shaders' is
#   (which changed no prediction of the fit).
VF_GEMM, VF_WINO, VF_DW = range(3)
VF_MATMUL = 6
VK_ALGO_FAMILY = (-1, VF_WINO, VF_WINO, VF_GEMM, VF_GEMM, VF_GEMM, VF_DW, -1, -1, -1, VF_MATMUL)

# Work-row columns.
(V_ALGO, V_FLOPS, V_ACT_ELEMS, V_W_ELEMS, V_DISPATCH, V_TRANS, V_KERNEL, V_CPU, V_XFORM) = range(9)
NVX = 9

# Hardware-row columns.
(VH_PEAK, VH_BW, VH_EB, VH_DISCRETE, VH_CLASS) = range(5)
NVH = 5

# Parameter columns (values, not logs); the efficiency families VF_* index the same columns.
(VP_GEMM, VP_WINO, VP_DW, VP_MEM, VP_DISPATCH_US, VP_FALLBACK_US, VP_MATMUL, VP_XFORM) = range(8)
NVP = 8
VK_PARAM_NAMES = ("eff_gemm", "eff_winograd", "eff_depthwise", "mem_eff", "dispatch_us", "cpu_fallback_us",
                  "eff_matmul", "winograd_transform_cost")
VK_PARAM_DOC = (
    "fraction of the shader peak the convolution shaders reach: 1x1, GEMM (implicit im2col) and the generic "
    "direct one (stems, narrow convs)",
    "fraction of the shader peak the Winograd transforms and batched GEMM reach",
    "fraction of the shader peak depthwise / grouped convolutions reach",
    "fraction of the DRAM bandwidth the shaders' loads and stores reach (InnerProduct on one row: its whole time)",
    "fixed cost of one dispatch (command recording, barrier, launch), microseconds",
    "fixed cost of a layer run on the CPU (submit and wait, download, CPU work, upload), microseconds",
    "fraction of the shader peak the Gemm/MatMul and multi-row InnerProduct shaders reach (in the corpus: "
    "vision_transformer's layers only)",
    "cost of one Winograd transform FLOP (counted as a dense matrix product) in the batched GEMM's FLOPs",
)
# Starting values of the fit: physically plausible, not fitted (the fit moves them).
VK_INIT = {"eff_gemm": 0.3, "eff_winograd": 0.3, "eff_depthwise": 0.1, "mem_eff": 0.5, "dispatch_us": 20.0,
           "cpu_fallback_us": 300.0, "eff_matmul": 0.3,
           "winograd_transform_cost": 1.0}
VK_INIT_LOG = np.log(np.array([VK_INIT[n] for n in VK_PARAM_NAMES]))

# ncnn's fusion on the GPU is the CPU's: BatchNorm/Scale and bias folded into the weights by
# ncnnoptimize, the activation run in the conv/InnerProduct shader's epilogue (activation_type
# is a specialisation constant of every convolution pipeline).
VK_FUSION = ("conv_bias", "conv_bn", "conv_relu", "fc_bias", "fc_relu", "bn_relu")
# Layers without a Vulkan implementation in the ncnn releases the corpus was measured with: ncnn
# runs them on the CPU (Net's forward_layer: a layer whose support_vulkan is false gets its input
# downloaded and its output uploaded). The SSD/YOLO decoders (DetectionOutput,
# Yolov3DetectionOutput) have no shader; Reduction got its shader late in ncnn's history
# (src/layer/vulkan/reduction_vulkan.cpp has a third or less of the revisions of the older layers'
# shaders), after most corpus sections were measured: a judgement, which a section run with a
# recent ncnn contradicts (it is then slower than measured). LayerNorm and GELU shaders are also
# late, but no network here but vision_transformer has them and its times are not explained
# either way (see docs/ACCURACY_NCNN_VULKAN.md): they stay on the GPU.
CPU_FALLBACK_OPS = ("reduce", "detection_output", "yolo_detection")
CPU_FALLBACK_ACTS: tuple = ()


def runs_on_cpu(layer) -> bool:
    """Whether ncnn's Vulkan backend (as the corpus ran it) hands this layer to the CPU."""
    return layer.op in CPU_FALLBACK_OPS or (layer.op == "act" and layer.attrs.get("fn") in CPU_FALLBACK_ACTS)
# Pack width ncnn uses for channels (opt.use_shader_pack8 is off by default).
PACK = 4
# Winograd only with at least this many input and output channels (create_pipeline's test).
WINO_MIN_CHANNELS = 16
GEMM_MIN_CHANNELS = 16

# The second level of the fit beside the GPU class: the Vulkan device type, integrated (the GPU
# shares the SoC's DRAM and is driven by its host cores: every corpus SoC, APU and Jetson) or
# discrete (its own memory, behind PCIe). ncnn itself reads the same distinction (gpu.cpp's
# device type; Convolution_vulkan::forward's Winograd choice, wino_variant below). Fitted factors
# per kind, pulled to 1 by a ridge (measure/ncnn_vulkan_fit.RIDGE_KIND), so a class with devices
# of one kind only (ARM, Adreno, Apple: integrated) can pass what the kinds share to the others.
# Leave-one-device-out, 2026-12-01 (median |error| / share within 35%, all rows; rows not
# flagged): without the level 34.8% / 50%; 32.8% / 54%; with it (ridge 1) 34.3% / 51%; 31.4% /
# 55%; ridge 10: 34.5% / 51%; 31.8% / 55%. What the fit gives integrated GPUs: ~2.4x the
# discrete dispatch cost and ~1.5x their DRAM efficiency (the class factors on top).
GPU_KINDS = ("integrated", "discrete")


def gpu_kind(discrete: bool) -> str:
    return GPU_KINDS[1] if discrete else GPU_KINDS[0]


REPO = Path(__file__).resolve().parents[2]
DEFAULT_VK_FIT = REPO / "measurements" / "ncnn" / "vulkan_fit.yaml"


@dataclass(frozen=True)
class VkRows:
    """The ncnn-vulkan view of one lowered network: one work row per kernel."""
    net: str
    discrete: bool
    x: np.ndarray            # [kernels, NVX]
    algos: tuple             # shader class name per kernel
    kernel_names: tuple


def wino_variant(w_padded: int, h_padded: int, discrete: bool) -> int:
    """F(4,3) or F(2,3), as Convolution_vulkan::forward picks it from the padded input plane."""
    if discrete:
        small = w_padded <= 24 and h_padded <= 24 and w_padded != 22 and h_padded != 22
    else:
        small = w_padded <= 12 and h_padded <= 12
    return VA_WINO23 if small else VA_WINO43


def wino_work(algo: int, cin: int, cout: int, hout: int, wout: int) -> tuple[float, float, float, float, int]:
    """(GEMM FLOPs, transform FLOPs, extra elements moved, tile count, extra dispatches) of one
    Winograd conv.

    The output is padded up to whole m x m tiles (tiles = ceil(h/m) ceil(w/m)); the input
    transform writes tiles x t^2 x Cin values and the GEMM reads them and writes tiles x t^2
    x Cout, which the output transform reads (t = m + 2): each buffer written once and read
    once. FLOPs: the batched GEMM's 2 x tiles t^2 Cin Cout, plus the transforms counted as
    dense products (input 2 t^3 per tile and input channel, output m t^2 + m^2 t per tile and
    output channel, 2 FLOPs each). Dispatches beyond the conv's own three: the tile padding
    and the crop, each only when the output is not a whole number of tiles."""
    m = 4 if algo == VA_WINO43 else 2
    t = m + 2
    tiles = math.ceil(hout / m) * math.ceil(wout / m)
    gemm = 2.0 * tiles * t * t * cin * cout
    xform = 2.0 * tiles * (cin * 2 * t ** 3 + cout * (m * t * t + m * m * t))
    buf = 2.0 * tiles * t * t * (cin + cout)
    ragged = (hout % m) != 0 or (wout % m) != 0
    return gemm, xform, buf, tiles, 2 if ragged else 0


def _conv_work(host, hc, discrete: bool) -> tuple[int, float, float, float, float]:
    """(shader class, FLOPs, Winograd transform FLOPs, extra elements moved, dispatches) of one
    conv layer."""
    n, cin, hin, win = hc.input_shapes[0]
    _, cout, hout, wout = hc.output_shapes[0]
    kh, kw = host.attrs["kernel"]
    sh, sw = host.attrs.get("stride", (1, 1))
    dh, dw = host.attrs.get("dilation", (1, 1))
    g = host.attrs.get("group", 1)
    pt, pl, pb, pr = host.attrs.get("pad", (0, 0, 0, 0))
    flops = 2.0 * float(hc.counts.macs)
    padded = (pt + pl + pb + pr) > 0
    # Explicit padding is a Padding layer's dispatch that writes the bordered input.
    pad_disp = 1.0 if padded else 0.0
    pad_elems = 2.0 * n * cin * (hin + pt + pb) * (win + pl + pr) if padded else 0.0
    if g > 1:
        # ConvolutionDepthWise_vulkan: one direct shader for depthwise and grouped convs.
        return VA_DW, flops, 0.0, pad_elems, 1.0 + pad_disp
    packed = cin % PACK == 0 and cout % PACK == 0
    if (kh == kw == 3 and sh == sw == 1 and dh == dw == 1 and cin >= WINO_MIN_CHANNELS
            and cout >= WINO_MIN_CHANNELS and packed):
        algo = wino_variant(win + pl + pr, hin + pt + pb, discrete)
        gf, xf, buf, _, extra = wino_work(algo, cin, cout, hout, wout)
        return algo, gf * n, xf * n, buf * n + pad_elems, 3.0 + extra + pad_disp
    if kh == kw == 1 and sh == sw == 1 and dh == dw == 1 and (cin % PACK == 0) == (cout % PACK == 0):
        return VA_GEMM1X1, flops, 0.0, pad_elems, 1.0 + pad_disp
    if cin >= GEMM_MIN_CHANNELS and cout >= GEMM_MIN_CHANNELS:
        return VA_GEMM, flops, 0.0, pad_elems, 1.0 + pad_disp
    return VA_DIRECT, flops, 0.0, pad_elems, 1.0 + pad_disp


def is_quantised(graph) -> bool:
    """Whether a network has int8 layers (ncnn's Vulkan backend runs them on the CPU)."""
    return bool(graph.quantised_layers())


def vk_rows(graph, low, discrete: bool) -> VkRows:
    """The work table of a network lowered with VK_FUSION (see the module docstring)."""
    if is_quantised(graph):
        raise AugurError("ncnn's Vulkan backend does not run int8 layers (they fall back to the CPU with "
                         "transfers, which this model does not cover); use the float network, or price the "
                         "quantised one on the CPU under ncnn (--processor cpu)",
                         where=graph.name)
    x = np.zeros((low.n, NVX), dtype=np.float64)
    algos = []
    for v in walk_kernels(graph, low):
        i, kern, host, hc = v.i, v.kern, v.host, v.counts[0]
        in_elems, out_elems, w_elems = v.in_elems, v.out_elems, v.w_elems
        r = x[i]
        r[V_KERNEL] = i
        r[V_TRANS] = v.trans
        if v.noop:
            r[V_ALGO] = VA_NOOP
            algos.append(VK_ALGO_NAMES[VA_NOOP])
            continue
        if runs_on_cpu(host):
            algo = VA_CPU
            r[V_CPU] = 1.0
            r[V_FLOPS] = v.flops
            r[V_ACT_ELEMS] = in_elems + out_elems
        elif host.op == "conv" and not kern.aux:
            algo, flops, xform, extra, disp = _conv_work(host, hc, discrete)
            if algo in (VA_WINO43, VA_WINO23):
                # Winograd weights are stored transformed: t^2 / 9 times the 3x3 kernel's.
                t = 6 if algo == VA_WINO43 else 4
                w_elems *= t * t / 9.0
            r[V_FLOPS] = flops
            r[V_XFORM] = xform
            r[V_ACT_ELEMS] = in_elems + out_elems + extra
            r[V_DISPATCH] = disp
        elif host.op in ("fc", "matmul", "deconv") and not kern.aux:
            # InnerProduct_vulkan: one input row is a matrix-vector product (every weight read once,
            # the innerproduct shader); several rows (a 2-D blob: a transformer's tokens) run a GEMM
            # shader (InnerProduct's innerproduct_gemm, or the Gemm layer's gemm shader), as does
            # MatMul: their own efficiency family. Deconvolution runs as a GEMM-like conv shader.
            rows_in = out_elems / max(1.0, float(host.attrs.get("out_features", out_elems) or out_elems))
            if host.op == "deconv":
                algo = VA_GEMM
            else:
                algo = VA_FC if host.op == "fc" and rows_in <= 1.0 else VA_MATMUL
            r[V_FLOPS] = 2.0 * float(hc.counts.macs)
            r[V_ACT_ELEMS] = in_elems + out_elems
            r[V_DISPATCH] = 1.0
        else:
            algo = VA_STREAM
            r[V_FLOPS] = v.flops
            r[V_ACT_ELEMS] = in_elems + out_elems
            r[V_DISPATCH] = 1.0
        if algo not in (VA_STREAM, VA_CPU):
            # Layers the shared lowering fused into this conv/fc that are layers of their own in
            # the file (a Swish, BatchNorm or Scale line after a Convolution): ncnn fuses only the
            # activation_type of the conv's own line (the frontend's '<conv>/act'); the others run
            # as their own in-place dispatch, a pass over the output each.
            for n, lc in zip(kern.layers[1:], v.counts[1:]):
                if runs_on_cpu(graph.layer(n)):
                    r[V_CPU] += 1.0
                elif not n.endswith("/act"):
                    r[V_DISPATCH] += 1.0
                    r[V_ACT_ELEMS] += 2.0 * out_elems
                    r[V_FLOPS] += float(lc.counts.flops)
        r[V_W_ELEMS] = w_elems
        r[V_ALGO] = algo
        algos.append(VK_ALGO_NAMES[algo])
    return VkRows(low.net, discrete, x, tuple(algos), tuple(k.name for k in low.kernels))


_FAM = np.array(VK_ALGO_FAMILY, dtype=np.int64)


@numba.njit(cache=True)
def vk_kernel_time(x, h, p, out):
    """out[0:5] = time_s, compute_s, memory_s, overhead_s, DRAM bytes of one work row x."""
    for i in range(5):
        out[i] = 0.0
    algo = int(x[V_ALGO])
    if algo == VA_NOOP:
        return
    fam = _FAM[algo]
    if algo == VA_CPU:
        # A layer ncnn runs on the CPU: the GPU work recorded so far is submitted and waited
        # for, the blob downloaded, the layer run, the result uploaded: a fitted fixed cost
        # plus the blob's transfer at DRAM speed.
        nbytes = x[V_ACT_ELEMS] * h[VH_EB]
        t_m = nbytes / (min(p[VP_MEM], 1.0) * h[VH_BW])
        t0 = x[V_CPU] * p[VP_FALLBACK_US] * 1e-6
        out[0] = t_m + t0
        out[2] = t_m
        out[3] = t0
        out[4] = nbytes
        return
    if fam < 0:
        # Element-wise shaders and InnerProduct's matrix-vector product: their arithmetic at
        # the peak rate, never the bound in practice (the bytes are); transcendentals as ~10
        # FLOPs each (a polynomial per evaluation).
        t_c = (x[V_FLOPS] + 10.0 * x[V_TRANS]) / h[VH_PEAK]
    else:
        # An efficiency is a fraction of the peak: never above 1, whatever the fit tries.
        eff = min(p[fam], 1.0)
        # Winograd's input and output transforms are shaders of their own (convolution_3x3s1d1_
        # winograd*_transform_input / _transform_output, around the batched GEMM): per element a
        # few adds and constant multiplies between a gathered tile load and a scattered store,
        # bound by memory and addressing, not by the ALUs. Their dense-counted FLOPs are priced
        # at a fitted multiple of the GEMM's (`winograd_transform_cost`), as on the CPU
        # (engine/ncnn_cost.kernel_time). Fitted on benchncnn's Vulkan rows (2026-12-02,
        # measurements/ncnn/vulkan_fit.yaml): 50 shared, 25-81 by GPU class, the GEMM's
        # efficiency rising to 0.77 of the peak (0.12 with the transforms at the GEMM's rate).
        # Leave-one-device-out 34.2% / 51% within 35% -> 33.6% / 52%; the buffers' traffic
        # added as a pass after the GEMM instead (no new parameter): 33.8% / 52%, in-sample rms
        # of log error 0.447 -> 0.449 (0.445 with the factor): not kept.
        t_c = (x[V_FLOPS] + p[VP_XFORM] * x[V_XFORM] + 10.0 * x[V_TRANS]) / (eff * h[VH_PEAK])
    nbytes = (x[V_ACT_ELEMS] + x[V_W_ELEMS]) * h[VH_EB]
    t_m = nbytes / (min(p[VP_MEM], 1.0) * h[VH_BW])
    # Dispatches, and the CPU round trips of fused layers that run on the CPU (a GELU after a Gemm).
    t0 = (x[V_DISPATCH] * p[VP_DISPATCH_US] + x[V_CPU] * p[VP_FALLBACK_US]) * 1e-6
    out[0] = max(t_c, t_m) + t0
    out[1] = t_c
    out[2] = t_m
    out[3] = t0
    out[4] = nbytes


@numba.njit(cache=True)
def vk_kernel_costs(xs, h, p):
    """[kernels, 5] for one GPU row and one parameter row."""
    res = np.zeros((xs.shape[0], 5))
    for k in range(xs.shape[0]):
        vk_kernel_time(xs[k], h, p, res[k])
    return res


@numba.njit(cache=True, parallel=True)
def vk_predict_rows(xall, net_start, net_stop, row_net, hws, prow):
    """Network time (s) of many (network, GPU row, parameter row) triples."""
    R = row_net.shape[0]
    out = np.zeros(R)
    for j in numba.prange(R):
        buf = np.zeros(5)
        n = row_net[j]
        t = 0.0
        for k in range(net_start[n], net_stop[n]):
            vk_kernel_time(xall[k], hws[j], prow[j], buf)
            t += buf[0]
        out[j] = t
    return out


@dataclass(frozen=True)
class VkHw:
    """One GPU's ncnn-vulkan row plus what explains it."""
    row: np.ndarray
    gpu_class: str
    discrete: bool
    fp16_arithmetic: bool
    fp16_storage: bool
    peak_flops: float
    describe: str


def vk_hw(proc) -> VkHw:
    """The ncnn-vulkan row of a GPU processor with a `vulkan:` section (docs/HWSPECS.md)."""
    if proc.kind != "gpu":
        raise AugurError("the ncnn-vulkan runtime models GPUs; this processor is a CPU (pick the spec's GPU "
                         "with --processor, or a spec with a GPU)", where=proc.name)
    vk = getattr(proc, "vulkan", None)
    if vk is None:
        raise AugurError("this GPU has no ncnn-vulkan figures (a `vulkan:` section: class, fp16_storage, "
                         "fp16_arithmetic, discrete)", where=proc.name)
    fpc = proc.flop_per_cycle_per_unit
    fp32 = float(fpc["fp32"])
    # ncnn computes in fp16 only where the driver exposes shaderFloat16; the spec's fp16 rate is
    # then the shader-core rate (packed half2 on most GPUs: 2x fp32; 1x where fp16 runs on the
    # fp32 lanes).
    use16 = bool(vk.fp16_arithmetic) and "fp16" in fpc
    rate = float(fpc["fp16"]) if use16 else fp32
    peak = proc.units * proc.clock_ghz * 1e9 * rate
    r = np.zeros(NVH)
    r[VH_PEAK] = peak
    r[VH_BW] = proc.dram_bw_gbs * 1e9
    # fp16 storage, or ncnn's fp16 packing of pack-4 blobs (use_fp16_packed, every device):
    # blobs move 2 bytes per element; a device with neither would move 4.
    r[VH_EB] = 2.0
    r[VH_DISCRETE] = 1.0 if vk.discrete else 0.0
    desc = (f"{proc.units} units x {fp32 / 2:g} lanes @ {proc.clock_ghz:g} GHz, "
            f"{'fp16' if use16 else 'fp32'} arithmetic {peak / 1e9:,.0f} GFLOP/s, {proc.dram_bw_gbs:g} GB/s, "
            f"{'discrete' if vk.discrete else 'integrated'}, class {vk.gpu_class}")
    return VkHw(r, vk.gpu_class, bool(vk.discrete), use16, bool(vk.fp16_storage), peak, desc)


# ------------------------------------------------------------------ fitted parameters on disk


@dataclass(frozen=True)
class VkFit:
    """Fitted ncnn-vulkan parameters: shared log values, per-class log offsets and per GPU kind
    (GPU_KINDS: integrated or discrete, as Vulkan reports the device type) log offsets."""
    g: np.ndarray             # [NVP]
    d: np.ndarray             # [C, NVP]
    classes: tuple
    rms_log: float = float("nan")
    iterations: int = 0
    n_rows: int = 0
    dk: np.ndarray | None = None   # [K, NVP] GPU-kind log-offsets on top of the class's
    kinds: tuple = ()

    def params(self, cls: str | None, discrete: bool | None = None) -> np.ndarray:
        """Parameter values of a class (the shared ones for a class the fit has not seen), with
        the GPU kind's offsets where the fit has them (discrete None: none)."""
        lp = self.g.copy()
        if cls in self.classes:
            lp = lp + self.d[self.classes.index(cls)]
        kind = None if discrete is None else gpu_kind(discrete)
        if kind in self.kinds and self.dk is not None:
            lp = lp + self.dk[self.kinds.index(kind)]
        return np.exp(lp)


def _vals(node, path, where) -> np.ndarray:
    return log_param_values(node, path, where, VK_PARAM_NAMES, hi=1e7)


def load_vk_fit(path=None) -> VkFit:
    """The fitted parameters (measurements/ncnn/vulkan_fit.yaml); without the default file,
    the unfitted starting values."""
    path = Path(path) if path else DEFAULT_VK_FIT
    if not path.is_file():
        if path == DEFAULT_VK_FIT:
            return VkFit(VK_INIT_LOG.copy(), np.zeros((0, NVP)), ())
        raise AugurError("fit file not found", file=str(path))
    doc = read_fit_doc(path)
    g = _vals(doc["default"], path, "default")
    d, names = named_log_values(doc, path, "classes", "GPU class -> parameters", VK_PARAM_NAMES, hi=1e7)
    dk, knames = named_log_values(doc, path, "gpu_kinds", "GPU kind -> factors", VK_PARAM_NAMES, hi=1e7)
    bad = [k for k in knames if k not in GPU_KINDS]
    if bad:
        raise AugurError(f"gpu_kinds: expected {' or '.join(GPU_KINDS)}, got {bad[0]!r}", file=str(path),
                         where="gpu_kinds")
    return VkFit(g, d - g, names, dk=dk if len(knames) else None, kinds=knames)
