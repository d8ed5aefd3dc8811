"""Lowering: layer graph -> arrays, one row per executed kernel.

A runtime fuses some layers into the kernel of the layer before (conv + bias + BN + ReLU,
a residual add into the conv that feeds it). Which rules apply belongs to the runtime in
the hardware spec; this module applies a given set and records, for every layer, the
kernel it ran in. Rows are float64 so one array feeds the numba kernels; the column
indices below are the contract with augur_sim/engine/kernels.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conventions import DEFAULT, Conventions
from .counts import Counts, LayerCount, count_net
from .errors import AugurError
from .fusion import FUSION_RULES
from .graph import DTYPE_BYTES, LayerGraph
from .memo import per_graph
from .ops.activations import ACTIVATIONS, EPILOGUE_ACTIVATIONS
from .ops.facts import CHAIN, FACTS
from .ort_layout import conv_plan
from .torch_lowering import INDEX_BYTES, bn_native_pass_elems, bn_takes_native_path, lrn_pass_elems

# Kernel classes.
NOOP, GEMM, DIRECT, STREAM = 0, 1, 2, 3
CLASS_NAMES = ("noop", "gemm", "direct", "stream")

# Row columns.
(C_CLS, C_M, C_N, C_K, C_GCOUNT, C_FLOPS, C_IN_BYTES, C_OUT_BYTES, C_W_BYTES, C_IM2COL,
 C_CH, C_KH, C_KW, C_HIN, C_WIN, C_HOUT, C_WOUT, C_SH, C_SW, C_BATCH, C_ELEM_BYTES,
 C_WSHARED, C_TRANS, C_POW) = range(24)
# Row-wise reductions (softmax, LayerNorm): 1. They pass over their input more than once
# (max/sum or mean/variance, then normalise), which the GPU kernel model costs apart from
# one-pass element-wise streams (engine/gpu_algos.stream_time).
C_REDUCE = 24
# 1: a GPU operation the previous row's library call launches itself (aten's native BatchNorm
# runs three; torch_lowering `bn_native`): no host call of its own, so an eager pipeline
# charges it no host issue time (engine/gpu_algos.host_issue_time).
C_INCALL = 25
NCOLS = 26

# Fusion rules: the closed vocabulary of augur_sim/fusion.py, declared per runtime in the
# hardware spec. A chain is fused only along single-consumer edges.


# Transcendental evaluations per output element, by layer kind. FMA pipes do not compute
# them: a runtime evaluates them with polynomial or library code, so a kernel full of them
# can be slower than its counted FLOPs say. Two classes, because runtimes treat them apart:
#  - exp-class (exp, sigmoid, tanh, erf): vectorised polynomials in most CPU libraries
#    (a few cycles per element); softmax: one exp; swish = x * sigmoid: one; gelu: one
#    (tanh or erf form); elu: one exp; Caffe's Power: one.
#  - pow with a non-integer exponent (LRN's (k + a/n * sum)^-beta): log + exp, which
#    libraries often leave scalar (tens of cycles per element).
# Piecewise-linear activations (relu, clip, hard_*) have none. Per activation function:
# ops/activations.py.


def transcendentals_per_elem(layer) -> tuple[float, float]:
    """(exp-class, pow) evaluations per output element of one layer; (0, 0) for most ops."""
    if layer.op == "act":
        act = ACTIVATIONS.get(layer.attrs.get("fn"))
        return float(act.exp if act else 0), 0.0
    f = FACTS.get(layer.op)
    return (f.exp, f.pow) if f else (0.0, 0.0)


@dataclass(frozen=True)
class Kernel:
    name: str                    # the host layer's name
    layers: tuple[str, ...]      # host first, then the layers fused into it
    cls: int
    # A kernel the runtime runs on behalf of its host layer (a separate bias pass where the
    # runtime does not fold the bias into the conv); its cost is the host layer's.
    aux: bool = False


@dataclass(frozen=True)
class LoweredNet:
    net: str
    batch: int
    dtype: str
    fusion: tuple[str, ...]
    kernels: tuple[Kernel, ...]
    rows: np.ndarray               # [kernels, NCOLS] float64
    layer_kernel: dict             # layer name -> index of the kernel it ran in
    counts: tuple[LayerCount, ...]  # per layer, graph order
    total: Counts                  # the sum of counts, kept so estimates need not re-add

    @property
    def n(self) -> int:
        return len(self.kernels)


def _is_depthwise(attrs, in_shape) -> bool:
    g = attrs.get("group", 1)
    cin = in_shape[1]
    # Depthwise (and very thin grouped) convs run as direct sliding-window kernels in
    # every runtime we model; a GEMM with K = kh*kw would waste the GEMM machinery.
    return g > 1 and cin // g == 1


def plan_fusion(graph: LayerGraph, rules) -> list[list[str]]:
    """Group layers into kernels, graph order, greedy along single-consumer chains."""
    rules = set(rules)
    bad = rules - set(FUSION_RULES)
    if bad:
        raise AugurError(f"unknown fusion rule(s) {', '.join(sorted(bad))}; known: {', '.join(FUSION_RULES)}")
    groups: list[list[str]] = []
    taken: set[str] = set()
    for name in graph.order:
        if name in taken:
            continue
        layer = graph.layer(name)
        group = [name]
        taken.add(name)
        head = layer
        stage = CHAIN.get(layer.op)  # conv, fc, bn, elt or None (ops/facts.py)
        while stage is not None:
            out = head.outputs[0]
            cons = graph.consumers(out)
            if len(cons) != 1 or cons[0] in taken:
                break
            nxt = graph.layer(cons[0])
            ok = False
            if stage in ("conv", "fc"):
                p = stage  # rule prefix: conv_* for conv/deconv hosts, fc_* for fc
                if nxt.op == "batchnorm" and stage == "conv" and "conv_bn" in rules:
                    ok = True
                elif nxt.op == "scale" and len(nxt.inputs) == 1 and stage == "conv" and "conv_bn" in rules:
                    ok = True
                elif nxt.op == "bias" and len(nxt.inputs) == 1 and f"{p}_bias" in rules:
                    ok = True
                elif nxt.op == "act" and nxt.attrs.get("fn") in EPILOGUE_ACTIVATIONS and f"{p}_relu" in rules:
                    ok, stage = True, "done"
                elif nxt.op == "eltwise" and nxt.attrs.get("fn", "sum") == "sum" and stage == "conv" \
                        and "conv_eltwise" in rules:
                    ok, stage = True, "elt"
            elif stage == "bn":
                if nxt.op in ("scale", "bias") and len(nxt.inputs) == 1 and "scale_apart" not in rules:
                    ok = True
                elif nxt.op == "act" and "bn_relu" in rules:
                    ok, stage = True, "done"
            elif stage == "elt":
                if nxt.op == "act" and nxt.attrs.get("fn") in EPILOGUE_ACTIVATIONS and \
                        ("eltwise_relu" in rules or "conv_eltwise" in rules):
                    ok, stage = True, "done"
            if not ok:
                break
            group.append(nxt.name)
            taken.add(nxt.name)
            head = nxt
            if stage == "done":
                break
        groups.append(group)
    return groups


def lower(graph: LayerGraph, precision: str = "fp32", fusion=(), conventions: Conventions = DEFAULT) -> LoweredNet:
    if precision not in DTYPE_BYTES:
        raise AugurError(f"unknown precision '{precision}'; expected one of {', '.join(DTYPE_BYTES)}")
    eb = DTYPE_BYTES[precision]
    # Counts depend on the graph, conventions and precision, not on the fusion rules: a sweep
    # that lowers one graph for several runtimes counts it once.
    counts_cache = per_graph(graph, "counts")
    key = (conventions.cache_key(), precision)
    if key not in counts_cache:
        counts_cache[key] = count_net(graph, conventions, precision)
    nc = counts_cache[key]
    by_name = {l.name: l for l in nc.layers}
    groups = plan_fusion(graph, fusion)
    # Rows are filled as Python lists and converted once: item assignment into a numpy
    # row costs several times a list's, and a network has a dozen fields per kernel.
    rows_l = [[0.0] * NCOLS for _ in groups]
    kernels, layer_kernel = [], {}
    for i, group in enumerate(groups):
        host = graph.layer(group[0])
        hc = by_name[host.name]
        r = rows_l[i]
        r[C_ELEM_BYTES] = eb
        hcc = hc.counts
        if len(group) == 1:
            # A kernel of one layer (every kernel of a runtime that fuses nothing): its
            # layer's figures, without the sums over fused layers below.
            flops, w_elems, in_elems, out_elems = hcc.flops, hcc.weight_elems, hcc.in_elems, hcc.out_elems
            te, tp = transcendentals_per_elem(host)
            r[C_TRANS] += te * out_elems
            r[C_POW] += tp * out_elems
        else:
            flops = sum(by_name[n].counts.flops for n in group)
            w_elems = sum(by_name[n].counts.weight_elems for n in group)
            # Fused layers read no intermediate; a fused residual add reads its other operand.
            in_elems = hcc.in_elems
            produced = set(host.outputs)
            for n in group[1:]:
                l = graph.layer(n)
                in_elems += sum(graph.tensors[t].elems for t in l.inputs if t not in produced)
                produced.update(l.outputs)
            out_elems = by_name[group[-1]].counts.out_elems
            # Fused activations (a conv's sigmoid epilogue) count too: the kernel evaluates them.
            for n in group:
                te, tp = transcendentals_per_elem(graph.layer(n))
                r[C_TRANS] += te * by_name[n].counts.out_elems
                r[C_POW] += tp * by_name[n].counts.out_elems
        r[C_FLOPS] = flops
        r[C_IN_BYTES] = in_elems * eb
        r[C_OUT_BYTES] = out_elems * eb
        r[C_W_BYTES] = w_elems * eb
        if host.op in ("softmax", "layernorm"):
            r[C_REDUCE] = 1.0
        cls = _classify(host, hc)
        if cls == DIRECT and _generic_conv(host, hc, fusion):
            cls = GEMM
        r[C_CLS] = cls
        if host.op in ("conv", "deconv"):
            n_, cin, hin, win = hc.input_shapes[0]
            _, cout, hout, wout = hc.output_shapes[0]
            kh, kw = host.attrs["kernel"]
            sh, sw = host.attrs.get("stride", (1, 1))
            g = host.attrs.get("group", 1)
            r[C_CH], r[C_KH], r[C_KW] = cin, kh, kw
            r[C_HIN], r[C_WIN], r[C_HOUT], r[C_WOUT] = hin, win, hout, wout
            r[C_SH], r[C_SW], r[C_BATCH] = sh, sw, n_
            if host.op == "conv":
                r[C_M], r[C_K], r[C_N] = cout // g, (cin // g) * kh * kw, hout * wout
            else:  # deconv as GEMM + col2im: M = Cout/g*kh*kw, K = Cin/g, N = Hin*Win
                r[C_M], r[C_K], r[C_N] = (cout // g) * kh * kw, cin // g, hin * win
            r[C_GCOUNT] = g * n_
            pad = host.attrs.get("pad", (0, 0, 0, 0))
            one_by_one = kh == kw == 1 and sh == sw == 1 and not any(pad)
            r[C_IM2COL] = 0.0 if (one_by_one or cls == DIRECT) else 1.0
            r[C_WSHARED] = 1.0  # one weight set serves every image of the batch
        elif host.op == "fc":
            in_shape = hc.input_shapes[0]
            axis = host.attrs.get("axis", 1) % len(in_shape)
            rows_ = 1
            for d in in_shape[:axis]:
                rows_ *= d
            r[C_M], r[C_K], r[C_N] = host.attrs["out_features"], hc.counts.macs // max(
                1, rows_ * host.attrs["out_features"]), rows_
            r[C_GCOUNT] = 1
            r[C_WSHARED] = 1.0
        elif host.op == "matmul":
            a, b = hc.input_shapes
            out = hc.output_shapes[0]
            r[C_M], r[C_K], r[C_N] = a[-2], a[-1], b[-1]
            bcount = 1
            for d in out[:-2]:
                bcount *= d
            r[C_GCOUNT] = bcount
        elif host.op == "pool" or host.op == "lrn":
            # Window re-reads stay in cache for any realistic line buffer; record the window
            # so the traffic model can charge re-reads when a plane does not fit.
            n_, c = hc.input_shapes[0][:2]
            r[C_BATCH], r[C_CH] = n_, c
            if host.op == "pool" and not host.attrs.get("global") and len(hc.input_shapes[0]) == 4:
                r[C_KH], r[C_KW] = host.attrs["kernel"]
                r[C_SH], r[C_SW] = host.attrs.get("stride", (1, 1))
                r[C_HIN], r[C_WIN] = hc.input_shapes[0][2:]
                r[C_HOUT], r[C_WOUT] = hc.output_shapes[0][2:]
                if "pool_indices" in fusion and host.attrs.get("mode") == "max" and len(group) == 1:
                    # PyTorch on CUDA writes each output's int64 argmax too (torch_lowering).
                    r[C_OUT_BYTES] += out_elems * INDEX_BYTES
        kernels.append(Kernel(host.name, tuple(group), cls))
        for n in group:
            layer_kernel[n] = i
    rows = np.array(rows_l, dtype=np.float64).reshape(len(groups), NCOLS)
    rows, kernels = _bias_passes(graph, by_name, fusion, rows, kernels, eb)
    if "lrn_composite" in fusion:
        rows, kernels = _lrn_passes(graph, rows, kernels)
    if "bn_native" in fusion:
        rows, kernels = _bn_native_passes(graph, rows, kernels, precision)
    return LoweredNet(graph.name, graph.batch, precision, tuple(sorted(set(fusion))), tuple(kernels),
                      rows, layer_kernel, nc.layers, nc.total)


def _with_aux(rows: np.ndarray, kernels: list, extra_rows: list, extra_kernels: list):
    """rows and kernels with a rule's auxiliary kernels appended after every layer's own
    (the bias, LRN and native BatchNorm passes: one row each)."""
    if not extra_rows:
        return rows, kernels
    return np.vstack([rows, np.array(extra_rows)]), list(kernels) + extra_kernels


def _bias_passes(graph, by_name, fusion, rows, kernels, eb):
    """A runtime without conv_bias (fc_bias) adds a conv's (fc's) bias in a pass of its own
    over the output (Caffe's bias GEMM, PyTorch's add_ after cuDNN): one more kernel, which
    streams the output once more. Its FLOPs move from the host's row to the pass."""
    extra_rows, extra_kernels = [], []
    for i, kern in enumerate(kernels):
        host = graph.layer(kern.name)
        if host.op not in ("conv", "deconv", "fc") or not host.attrs.get("bias", True):
            continue
        if ("fc_bias" if host.op == "fc" else "conv_bias") in fusion:
            continue
        lc = by_name[host.name]
        out_elems = lc.counts.out_elems
        cout = host.attrs["out_features"] if host.op == "fc" else host.attrs["out_channels"]
        r = np.zeros(NCOLS)
        r[C_CLS] = STREAM
        r[C_ELEM_BYTES] = eb
        r[C_FLOPS] = out_elems
        r[C_IN_BYTES] = out_elems * eb
        r[C_OUT_BYTES] = out_elems * eb
        r[C_W_BYTES] = cout * eb
        rows[i, C_FLOPS] -= out_elems
        extra_rows.append(r)
        extra_kernels.append(Kernel(host.name, (host.name,), STREAM, aux=True))
    return _with_aux(rows, kernels, extra_rows, extra_kernels)


def _lrn_passes(graph, rows: np.ndarray, kernels: list):
    """Rule lrn_composite: each across-channel LRN kernel as the eight kernels PyTorch runs
    (torch_lowering.lrn_pass_elems): its row becomes the avg_pool3d pass, the seven others
    are appended as auxiliary rows of the layer (like _bias_passes' bias kernels)."""
    extra_rows, extra_kernels = [], []
    rows = rows.copy()
    for i, kern in enumerate(kernels):
        layer = graph.layer(kern.name)
        if layer.op != "lrn" or len(kern.layers) != 1 or layer.attrs.get("region", "across") != "across":
            continue
        eb = rows[i, C_ELEM_BYTES]
        elems = rows[i, C_OUT_BYTES] / eb
        channels = max(rows[i, C_CH], 1.0)
        for name, e_in, e_out, flops, pw in lrn_pass_elems(elems, channels, int(layer.attrs.get("size", 5))):
            r = rows[i] if name == "avg_pool3d" else np.zeros(NCOLS)
            r[C_CLS] = STREAM
            r[C_ELEM_BYTES] = eb
            r[C_IN_BYTES], r[C_OUT_BYTES], r[C_W_BYTES] = e_in * eb, e_out * eb, 0.0
            r[C_FLOPS], r[C_POW], r[C_TRANS] = flops, pw, 0.0
            if name != "avg_pool3d":
                extra_rows.append(r)
                extra_kernels.append(Kernel(kern.name, (kern.name,), STREAM, aux=True))
    return _with_aux(rows, kernels, extra_rows, extra_kernels)


def _bn_native_passes(graph, rows: np.ndarray, kernels: list, precision: str):
    """Rule bn_native: a BatchNorm kernel that aten runs natively (torch_lowering) is preceded
    by two small operations over its channels, appended as auxiliary rows of the layer."""
    extra_rows, extra_kernels = [], []
    for i, kern in enumerate(kernels):
        layer = graph.layer(kern.name)
        if layer.op != "batchnorm" or getattr(kern, "aux", False):
            continue
        if not bn_takes_native_path(precision, bool(layer.attrs.get("affine", False))):
            continue
        eb = rows[i, C_ELEM_BYTES]
        channels = float(graph.tensors[layer.inputs[0]].shape[1])
        for _name, e_in, out_b, flops, trans in bn_native_pass_elems(channels):
            r = np.zeros(NCOLS)
            r[C_CLS] = STREAM
            r[C_ELEM_BYTES] = eb
            r[C_IN_BYTES], r[C_OUT_BYTES] = e_in * eb, out_b
            r[C_FLOPS], r[C_TRANS] = flops, trans
            r[C_INCALL] = 1.0
            extra_rows.append(r)
            extra_kernels.append(Kernel(kern.name, (kern.name,), STREAM, aux=True))
    return _with_aux(rows, kernels, extra_rows, extra_kernels)


def _generic_conv(layer, lc: LayerCount, rules) -> bool:
    """A conv ORT's NCHWc rewrite leaves to the generic Conv (per-group im2col + SGEMM):
    ShuffleNet v2's 58-channel branches, ResNeXt's 4-channel groups."""
    block = 16 if "nchwc16" in rules else 8 if "nchwc8" in rules else 0
    if not block or layer.op != "conv":
        return False
    cin, cout = lc.input_shapes[0][1], lc.output_shapes[0][1]
    kh, kw = layer.attrs["kernel"]
    return not conv_plan(cin, cout, layer.attrs.get("group", 1), kh, kw, block).nchwc


def _classify(layer, lc: LayerCount) -> int:
    if lc.category == "free":
        return NOOP
    if FACTS[layer.op].kernel == "gemm":
        return DIRECT if layer.op == "conv" and _is_depthwise(layer.attrs, lc.input_shapes[0]) else GEMM
    return STREAM
