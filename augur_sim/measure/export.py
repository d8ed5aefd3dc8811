"""Export any layer graph as a runnable ONNX model with random weights.

The point is a cross-check against a real runtime: onnxruntime executes the model, its
output shapes must equal our inferred shapes, and re-importing the file must give the
same MACs and parameters. Weights are random (numpy RNG, scaled by 1/sqrt(fan-in) so deep
nets stay finite), never the trained ones.

Caffe semantics reproduced exactly (what an ONNX reader would otherwise get wrong):
- Caffe pooling rounds up: MaxPool/AveragePool with ceil_mode=1. Caffe's average pooling
  divides by the window clipped to the *padded* input, which is ONNX count_include_pad=1
  (the default here unless the layer came from ONNX with count_include_pad=0).
- Caffe Flatten(axis, end_axis) -> Reshape with 0 (copy) for the leading dims, -1 for the
  flattened run and the trailing dims spelled out.
- Caffe Scale / Bias (per-channel from axis 1) -> Mul / Add with [C,1,1] constants.
- Caffe BatchNorm (no affine part) -> BatchNormalization with gamma = 1, beta = 0; the
  ONNX importer reads that back as non-affine.
- LRN across channels -> ONNX LRN (same formula: k + alpha/size * sum of squares);
  LRN within a channel has no ONNX op and is refused.
- Eltwise with coefficients -> a Mul by each coefficient that is not 1, then Sum.
- Power (y = (shift + scale * x) ^ power) -> Mul, Add, Pow with scalar constants.
- PReLU -> PRelu with a [C,1,1] (or [1] shared) slope; identity with n outputs -> n Identity nodes.
All tensors are float32 whatever the graph's dtype: onnxruntime runs float32 everywhere.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AugurError, UnsupportedOpError
from ..fileio import _default_mode
from ..frontends import load_net
from ..frontends.onnx import floor_pad_end, ort_pool_extent
from ..graph import LayerGraph
from ..ops.activations import ACTIVATIONS
from ..ops.facts import NO_EXPORT

# A protobuf message cannot exceed 2 GiB; stay clear of it with the graph itself.
MAX_WEIGHT_BYTES = 1900 << 20
MIN_OPSET, MAX_OPSET = 13, 21
WEIGHT_MODES = ("random", "zeros")


@dataclass(frozen=True)
class ExportInfo:
    path: str
    nodes: int
    weight_elems: int
    opset: int


class _Emitter:
    def __init__(self, graph: LayerGraph, opset: int, seed: int, weights: str):
        self.g = graph
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.weights = weights
        self.nodes: list = []
        self.inits: list = []
        self.weight_elems = 0
        self._names: set[str] = set()

    def shape(self, t: str) -> tuple:
        return self.g.tensors[t].shape

    def name(self, hint: str) -> str:
        n, k = hint, 1
        while n in self._names or n in self.g.tensors:
            k += 1
            n = f"{hint}_{k}"
        self._names.add(n)
        return n

    def const(self, hint: str, arr, weight: bool = False) -> str:
        from onnx import numpy_helper
        arr = np.ascontiguousarray(arr)
        if weight:
            self.weight_elems += arr.size
            if self.weight_elems * 4 > MAX_WEIGHT_BYTES:
                raise AugurError(f"the network has more than {MAX_WEIGHT_BYTES >> 20} MiB of weights, too "
                                 "large for one ONNX file", where=f"layer '{hint.split('.')[0]}'")
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(arr, n))
        return n

    def weight(self, hint: str, shape, fan_in: int | None = None) -> str:
        shape = tuple(int(d) for d in shape)
        if self.weights == "zeros":
            arr = np.zeros(shape, np.float32)
        else:
            scale = 1.0 / np.sqrt(max(fan_in or 1, 1))
            arr = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        return self.const(hint, arr, weight=True)

    def ints(self, hint: str, values) -> str:
        return self.const(hint, np.asarray(list(values), dtype=np.int64))

    def scalar(self, hint: str, v: float) -> str:
        return self.const(hint, np.asarray(v, dtype=np.float32))

    def node(self, op: str, inputs, outputs, name: str, **attrs) -> None:
        from onnx import helper
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=self.name(name), **attrs))


def _chan_shape(shape, axis: int, num_axes: int, rank: int) -> tuple:
    """Broadcastable shape of a per-channel constant: its dims, then ones to the end."""
    return tuple(shape) + (1,) * (rank - axis - num_axes)


# ---------------------------------------------------------------------------------------
# One emitter per op kind. Each gets (emitter, layer) and writes nodes producing exactly the
# layer's output tensor names.

def _conv(e: _Emitter, L):
    a, x = L.attrs, e.shape(L.inputs[0])
    g, (kh, kw) = a.get("group", 1), a["kernel"]
    cout = a["out_channels"]
    geo = dict(kernel_shape=[kh, kw], strides=list(a.get("stride", (1, 1))),
               pads=list(a.get("pad", (0, 0, 0, 0))), dilations=list(a.get("dilation", (1, 1))), group=g)
    if L.op == "conv":
        w = e.weight(f"{L.name}.weight", (cout, x[1] // g, kh, kw), (x[1] // g) * kh * kw)
        op = "Conv"
    else:
        w = e.weight(f"{L.name}.weight", (x[1], cout // g, kh, kw), (x[1] // g) * kh * kw)
        geo["output_padding"] = list(a.get("output_padding", (0, 0)))
        op = "ConvTranspose"
    ins = [L.inputs[0], w]
    if a.get("bias", True):
        ins.append(e.weight(f"{L.name}.bias", (cout,)))
    e.node(op, ins, [L.outputs[0]], L.name, **geo)


def _fc(e: _Emitter, L):
    a, x = L.attrs, e.shape(L.inputs[0])
    axis = a.get("axis", 1)
    axis = axis + len(x) if axis < 0 else axis
    k = int(np.prod(x[axis:]))
    n_out = a["out_features"]
    bias = a.get("bias", True)
    src = L.inputs[0]
    if axis < len(x) - 1:  # Caffe InnerProduct flattens from axis on: keep the leading dims
        src2 = e.name(f"{L.name}/flat")
        e.node("Reshape", [src, e.ints(f"{L.name}.flat_shape", [0] * axis + [-1])], [src2], f"{L.name}/flat")
        src = src2
    if axis == 1:
        w = e.weight(f"{L.name}.weight", (n_out, k), k)
        ins = [src, w] + ([e.weight(f"{L.name}.bias", (n_out,))] if bias else [])
        e.node("Gemm", ins, [L.outputs[0]], L.name, transB=1)
        return
    # fc over the last axis of a rank > 2 tensor (or rank 1): MatMul (+ Add for the bias).
    w = e.weight(f"{L.name}.weight", (k, n_out), k)
    mm = e.name(f"{L.name}/matmul") if bias else L.outputs[0]
    e.node("MatMul", [src, w], [mm], L.name)
    if bias:
        e.node("Add", [mm, e.weight(f"{L.name}.bias", (n_out,))], [L.outputs[0]], f"{L.name}/bias")


def _matmul(e: _Emitter, L):
    e.node("MatMul", list(L.inputs), [L.outputs[0]], L.name)


def _pool(e: _Emitter, L):
    a, n = L.attrs, L.name
    mode = a["mode"]
    if a.get("global"):
        e.node("GlobalMaxPool" if mode == "max" else "GlobalAveragePool", [L.inputs[0]], [L.outputs[0]], n)
        return
    x, want = e.shape(L.inputs[0]), e.shape(L.outputs[0])[2:]
    kernel, stride = list(a["kernel"]), list(a.get("stride", (1, 1)))
    pt, pl, pb, pr = a.get("pad", (0, 0, 0, 0))
    begins, ends = [pt, pl], [pb, pr]
    ceil = bool(a.get("ceil", False))
    src = L.inputs[0]
    if ceil:
        # ceil_mode=1 only where ONNX shape inference (plain ceil), onnxruntime (which drops
        # a window starting past the input) and our Caffe rule all agree; elsewhere the same
        # windows are written as floor rounding with another end padding (same divisors for
        # count_include_pad=1), or, when that would need a pad >= kernel, an explicit Pad.
        agree = all(ort_pool_extent(x[2 + i], kernel[i], stride[i], begins[i], ends[i], True) == want[i] ==
                    -(-(x[2 + i] + begins[i] + ends[i] - kernel[i]) // stride[i]) + 1 for i in (0, 1))
        if not agree:
            ceil = False
            new_ends = [floor_pad_end(x[2 + i], kernel[i], stride[i], begins[i], ends[i], want[i]) for i in (0, 1)]
            if None not in new_ends:
                ends = new_ends
            else:  # Caffe keeps a window lying wholly in the padding: pad the input itself
                extra = [max(0, (want[i] - 1) * stride[i] + kernel[i] - (x[2 + i] + begins[i] + ends[i]))
                         for i in (0, 1)]
                padded = e.name(f"{n}/pad")
                fill = -3.4028235e38 if mode == "max" else 0.0  # Caffe starts a max at -FLT_MAX
                e.node("Pad", [src, e.ints(f"{n}.pads", [0, 0, 0, 0, 0, 0] + extra[:1] + extra[1:]),
                               e.scalar(f"{n}.fill", fill)], [padded], f"{n}/pad")
                src = padded
    attrs = dict(kernel_shape=kernel, strides=stride, pads=begins + ends, ceil_mode=int(ceil))
    if mode == "avg":
        # Caffe divides by the window clipped to the padded input: count_include_pad=1.
        attrs["count_include_pad"] = int(a.get("count_include_pad", True))
    e.node("MaxPool" if mode == "max" else "AveragePool", [src], [L.outputs[0]], n, **attrs)


def _first(a: dict, keys, default):
    for k in keys:
        if a.get(k) is not None:
            return a[k]
    return default


def _act(e: _Emitter, L):
    a, x, y, n = L.attrs, L.inputs[0], L.outputs[0], L.name
    fn = a["fn"]
    act = ACTIVATIONS.get(fn)
    if act is not None and act.export == "node" and act.onnx:
        # One ONNX node; its attributes from the table (ops/activations.py).
        e.node(act.onnx, [x], [y], n, **{o: float(a.get(ours, d)) for o, ours, d in act.onnx_attrs})
    elif fn == "leaky_relu":
        e.node("LeakyRelu", [x], [y], n, alpha=float(_first(a, ("alpha", "negative_slope"), 0.01)))
    elif fn == "clip":
        lo, hi = _first(a, ("min", "lo"), None), _first(a, ("max", "hi"), None)
        ins = [x, e.scalar(f"{n}.min", lo) if lo is not None else "",
               e.scalar(f"{n}.max", hi) if hi is not None else ""]
        while ins[-1] == "":
            ins.pop()
        e.node("Clip", ins, [y], n)
    elif fn == "prelu":
        shape = e.shape(x)
        slope = (1,) if a.get("channel_shared") or len(shape) < 2 else _chan_shape((shape[1],), 1, 1, len(shape))
        e.node("PRelu", [x, e.weight(f"{n}.slope", slope)], [y], n)
    elif fn == "gelu":
        if e.opset >= 20:
            e.node("Gelu", [x], [y], n, approximate=str(a.get("approximate", "none")))
        else:  # x * 0.5 * (1 + erf(x / sqrt(2)))
            t = [e.name(f"{n}/{s}") for s in ("div", "erf", "add", "mul")]
            e.node("Div", [x, e.scalar(f"{n}.sqrt2", np.sqrt(2.0))], [t[0]], f"{n}/div")
            e.node("Erf", [t[0]], [t[1]], f"{n}/erf")
            e.node("Add", [t[1], e.scalar(f"{n}.one", 1.0)], [t[2]], f"{n}/add")
            e.node("Mul", [x, t[2]], [t[3]], f"{n}/mul")
            e.node("Mul", [t[3], e.scalar(f"{n}.half", 0.5)], [y], n)
    elif fn == "mish":  # x * tanh(softplus(x)); the Mish op itself needs opset 18
        if e.opset >= 18:
            e.node("Mish", [x], [y], n)
        else:
            sp, th = e.name(f"{n}/softplus"), e.name(f"{n}/tanh")
            e.node("Softplus", [x], [sp], f"{n}/softplus")
            e.node("Tanh", [sp], [th], f"{n}/tanh")
            e.node("Mul", [x, th], [y], n)
    elif fn == "swish":
        s = e.name(f"{n}/sigmoid")
        e.node("Sigmoid", [x], [s], f"{n}/sigmoid")
        e.node("Mul", [x, s], [y], n)
    elif fn == "power":  # Caffe Power: (shift + scale * x) ^ power
        t1, t2 = e.name(f"{n}/scale"), e.name(f"{n}/shift")
        e.node("Mul", [x, e.scalar(f"{n}.scale", float(a.get("scale", 1.0)))], [t1], f"{n}/scale")
        e.node("Add", [t1, e.scalar(f"{n}.shift", float(a.get("shift", 0.0)))], [t2], f"{n}/shift")
        e.node("Pow", [t2, e.scalar(f"{n}.power", float(a.get("power", 1.0)))], [y], n)
    else:
        raise UnsupportedOpError(f"activation '{fn}' has no ONNX export", where=f"layer '{n}'")


def _softmax(e: _Emitter, L):
    e.node("Softmax", [L.inputs[0]], [L.outputs[0]], L.name, axis=int(L.attrs.get("axis", 1)))


def _batchnorm(e: _Emitter, L):
    c = e.shape(L.inputs[0])[1]
    n = L.name
    if L.attrs.get("affine"):
        gamma, beta = e.weight(f"{n}.scale", (c,)), e.weight(f"{n}.bias", (c,))
    else:  # Caffe BatchNorm: statistics only
        gamma, beta = e.const(f"{n}.scale", np.ones(c, np.float32)), e.const(f"{n}.bias", np.zeros(c, np.float32))
    mean = e.weight(f"{n}.mean", (c,))
    var = e.const(f"{n}.var", e.rng.uniform(0.5, 1.5, c).astype(np.float32), weight=True)
    e.node("BatchNormalization", [L.inputs[0], gamma, beta, mean, var], [L.outputs[0]], n,
           epsilon=float(L.attrs.get("eps", 1e-5)))


def _affine(e: _Emitter, L):
    """Caffe Scale (Mul, optional bias Add) and Bias (Add), per channel from `axis`."""
    a, x, n = L.attrs, e.shape(L.inputs[0]), L.name
    rank = len(x)
    axis = a.get("axis", 1)
    axis = axis + rank if axis < 0 else axis
    src = L.inputs[0]
    is_scale = L.op == "scale"
    if len(L.inputs) == 2:  # the factor is a tensor: reshape it to broadcast from `axis`
        other = e.shape(L.inputs[1])
        r = e.name(f"{n}/factor")
        e.node("Reshape", [L.inputs[1], e.ints(f"{n}.factor_shape", _chan_shape(other, axis, len(other), rank))],
               [r], f"{n}/factor")
        operand, params = r, list(L.params)
    else:
        num_axes = a.get("num_axes", 1)
        num_axes = rank - axis if num_axes == -1 else num_axes
        params = list(L.params)
        operand = e.weight(f"{n}.{'scale' if is_scale else 'bias'}",
                           _chan_shape(params.pop(0), axis, num_axes, rank))
    has_bias = is_scale and a.get("bias") and params
    first_out = e.name(f"{n}/mul") if has_bias else L.outputs[0]
    e.node("Mul" if is_scale else "Add", [src, operand], [first_out], n)
    if has_bias:
        pshape = params[0]
        b = e.weight(f"{n}.bias", _chan_shape(pshape, axis, len(pshape), rank))
        e.node("Add", [first_out, b], [L.outputs[0]], f"{n}/bias")


def _lrn(e: _Emitter, L):
    a = L.attrs
    if a.get("region", "across") != "across":
        raise UnsupportedOpError("LRN within a channel has no ONNX operator (only ACROSS_CHANNELS exports)",
                                 where=f"layer '{L.name}'")
    e.node("LRN", [L.inputs[0]], [L.outputs[0]], L.name, size=int(a.get("size", 5)),
           alpha=float(a.get("alpha", 1e-4)), beta=float(a.get("beta", 0.75)), bias=float(a.get("k", 1.0)))


def _const_operand_shape(out_shape, elems: int) -> tuple:
    """A shape with `elems` elements that broadcasts into out_shape: per channel, a
    trailing suffix, or a scalar."""
    if elems <= 1:
        return ()
    if len(out_shape) >= 2 and out_shape[1] == elems:
        return (elems,) + (1,) * (len(out_shape) - 2)
    for i in range(len(out_shape)):
        if int(np.prod(out_shape[i:])) == elems:
            return tuple(out_shape[i:])
    raise AugurError(f"cannot place a constant of {elems} elements against shape {out_shape}")


def _eltwise(e: _Emitter, L):
    a, n = L.attrs, L.name
    fn = a.get("fn", "sum")
    ins = list(L.inputs)
    coeffs = a.get("coeffs")
    if coeffs is not None:
        for i, cf in enumerate(coeffs):
            if cf != 1:
                t = e.name(f"{n}/coeff{i}")
                e.node("Mul", [ins[i], e.scalar(f"{n}.coeff{i}", float(cf))], [t], f"{n}/coeff{i}")
                ins[i] = t
    consts = a.get("const_elems", 0)
    if len(ins) == 1:
        # Unary use (x op constant): the constant operand, per channel when it fits.
        try:
            shape = _const_operand_shape(e.shape(L.outputs[0]), consts)
        except AugurError as err:
            raise err.located(where=f"layer '{n}'")
        ins.append(e.weight(f"{n}.const", shape) if consts > 1 else e.scalar(f"{n}.const", 1.0))
    if len(ins) == 1:
        e.node("Identity", ins, [L.outputs[0]], n)
        return
    variadic = {"sum": "Sum", "max": "Max", "min": "Min"}
    binary = {"prod": "Mul", "sub": "Sub", "div": "Div", "pow": "Pow"}
    if fn in variadic:
        e.node(variadic[fn] if len(ins) > 2 else {"sum": "Add"}.get(fn, variadic[fn]), ins,
               [L.outputs[0]], n)
        return
    if fn not in binary:
        raise UnsupportedOpError(f"eltwise '{fn}' has no ONNX export", where=f"layer '{n}'")
    acc = ins[0]
    for i, other in enumerate(ins[1:]):  # left fold: ((a op b) op c)
        last = i == len(ins) - 2
        out = L.outputs[0] if last else e.name(f"{n}/{i}")
        e.node(binary[fn], [acc, other], [out], n if last else f"{n}/{i}")
        acc = out


def _concat(e: _Emitter, L):
    rank = len(e.shape(L.outputs[0]))
    axis = L.attrs.get("axis", 1)
    e.node("Concat", list(L.inputs), [L.outputs[0]], L.name, axis=int(axis + rank if axis < 0 else axis))


def _split(e: _Emitter, L):
    x = e.shape(L.inputs[0])
    axis = L.attrs.get("axis", 1)
    axis = axis + len(x) if axis < 0 else axis
    sizes = [e.shape(t)[axis] for t in L.outputs]
    e.node("Split", [L.inputs[0], e.ints(f"{L.name}.split", sizes)], list(L.outputs), L.name, axis=axis)


def _slice(e: _Emitter, L):
    a, n = L.attrs, L.name
    starts, ends = list(a["starts"]), list(a["ends"])
    axes = list(a.get("axes") or range(len(starts)))
    steps = list(a.get("steps") or [1] * len(starts))
    e.node("Slice", [L.inputs[0], e.ints(f"{n}.starts", starts), e.ints(f"{n}.ends", ends),
                     e.ints(f"{n}.axes", axes), e.ints(f"{n}.steps", steps)], [L.outputs[0]], n)


def _reshape(e: _Emitter, L):
    # Canonical reshape semantics (0 copies, -1 infers) are ONNX's with allowzero=0.
    e.node("Reshape", [L.inputs[0], e.ints(f"{L.name}.shape", L.attrs["shape"])], [L.outputs[0]], L.name)


def _flatten(e: _Emitter, L):
    x = e.shape(L.inputs[0])
    rank = len(x)
    a = L.attrs.get("axis", 1)
    a = a + rank if a < 0 else a
    end = L.attrs.get("end_axis", -1)
    end = end + rank if end < 0 else end
    target = [0] * a + [-1] + list(x[end + 1:])
    e.node("Reshape", [L.inputs[0], e.ints(f"{L.name}.shape", target)], [L.outputs[0]], L.name)


def _transpose(e: _Emitter, L):
    perm = L.attrs.get("perm") or list(reversed(range(len(e.shape(L.inputs[0])))))
    e.node("Transpose", [L.inputs[0]], [L.outputs[0]], L.name, perm=[int(p) for p in perm])


def _pad(e: _Emitter, L):
    mode = str(L.attrs.get("mode", "constant"))
    e.node("Pad", [L.inputs[0], e.ints(f"{L.name}.pads", L.attrs["pads"])], [L.outputs[0]], L.name, mode=mode)


def _identity(e: _Emitter, L):
    for i, t in enumerate(L.outputs):
        e.node("Identity", [L.inputs[0]], [t], L.name if i == 0 else f"{L.name}/{i}")


_REDUCE = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin",
           "prod": "ReduceProd", "l1": "ReduceL1", "asum": "ReduceL1", "l2": "ReduceL2",
           "sumsquare": "ReduceSumSquare", "sumsq": "ReduceSumSquare", "logsum": "ReduceLogSum",
           "logsumexp": "ReduceLogSumExp"}


def _reduce(e: _Emitter, L):
    a, n = L.attrs, L.name
    fn = str(a.get("fn", "mean")).lower()
    if fn not in _REDUCE:
        raise UnsupportedOpError(f"reduce '{fn}' has no ONNX export", where=f"layer '{n}'")
    op = _REDUCE[fn]
    rank = len(e.shape(L.inputs[0]))
    axes = a.get("axes")
    axes = list(range(rank)) if axes is None else [int(v) for v in axes]
    keep = int(bool(a.get("keepdims", True)))
    # Axes moved from attribute to input: ReduceSum at opset 13, the others at 18.
    as_input = e.opset >= 18 or (op == "ReduceSum" and e.opset >= 13)
    scalar_out = not keep and len(set(v % rank for v in axes)) == rank
    out = e.name(f"{n}/scalar") if scalar_out else L.outputs[0]
    if as_input:
        e.node(op, [L.inputs[0], e.ints(f"{n}.axes", axes)], [out], n, keepdims=keep)
    else:
        e.node(op, [L.inputs[0]], [out], n, axes=axes, keepdims=keep)
    if scalar_out:  # ONNX gives a rank-0 tensor where the layer graph keeps shape (1,)
        e.node("Reshape", [out, e.ints(f"{n}.shape1", [1])], [L.outputs[0]], f"{n}/shape1")


def _resize(e: _Emitter, L):
    a, n = L.attrs, L.name
    mode = {"bilinear": "linear", "nearest": "nearest", "linear": "linear", "cubic": "cubic"}.get(
        str(a.get("mode", "nearest")))
    if mode is None:
        raise UnsupportedOpError(f"resize mode '{a.get('mode')}' has no ONNX export", where=f"layer '{n}'")
    if a.get("sizes"):
        ins = [L.inputs[0], "", "", e.ints(f"{n}.sizes", a["sizes"])]
    else:
        ins = [L.inputs[0], "", e.const(f"{n}.scales", np.asarray(a["scales"], np.float32))]
    e.node("Resize", ins, [L.outputs[0]], n, mode=mode)


def _layernorm(e: _Emitter, L):
    if e.opset < 17:
        raise UnsupportedOpError("layernorm needs opset 17 or later (LayerNormalization)", where=f"layer '{L.name}'")
    x = e.shape(L.inputs[0])
    axis = L.attrs.get("axis", -1)
    axis = axis + len(x) if axis < 0 else axis
    norm = x[axis:]
    if L.attrs.get("affine", True):
        scale, bias = e.weight(f"{L.name}.scale", norm), e.weight(f"{L.name}.bias", norm)
    else:  # ones / zeros: the importer reads these back as non-affine
        scale = e.const(f"{L.name}.scale", np.ones(norm, np.float32))
        bias = e.const(f"{L.name}.bias", np.zeros(norm, np.float32))
    e.node("LayerNormalization", [L.inputs[0], scale, bias], [L.outputs[0]], L.name, axis=axis,
           epsilon=float(L.attrs.get("eps", 1e-5)))


def _const(e: _Emitter, L):
    """A stored constant: a weight initializer, expanded to the batch it meets."""
    out = e.shape(L.outputs[0])
    w = e.weight(f"{L.name}.data", (1,) + tuple(L.attrs["shape"]))
    if out[0] == 1:
        e.node("Identity", [w], [L.outputs[0]], L.name)
    else:
        e.node("Expand", [w, e.ints(f"{L.name}.shape", out)], [L.outputs[0]], L.name)


def _channel_shuffle(e: _Emitter, L):
    """View (N, g, C/g, ...), swap the two channel axes, view back (ncnn's reverse=1
    swaps the roles of g and C/g)."""
    n, c, *rest = e.shape(L.inputs[0])
    g = int(L.attrs.get("group", 1))
    a, b = (c // g, g) if L.attrs.get("reverse") else (g, c // g)
    t1, t2 = e.name(f"{L.name}/split"), e.name(f"{L.name}/swap")
    e.node("Reshape", [L.inputs[0], e.ints(f"{L.name}.shape1", [n, a, b, *rest])], [t1], f"{L.name}/split")
    e.node("Transpose", [t1], [t2], f"{L.name}/swap", perm=[0, 2, 1] + list(range(3, 3 + len(rest))))
    e.node("Reshape", [t2, e.ints(f"{L.name}.shape2", [n, c, *rest])], [L.outputs[0]], L.name)


_EMIT = {"conv": _conv, "deconv": _conv, "fc": _fc, "matmul": _matmul, "pool": _pool, "act": _act,
         "softmax": _softmax, "batchnorm": _batchnorm, "scale": _affine, "bias": _affine, "lrn": _lrn,
         "eltwise": _eltwise, "concat": _concat, "split": _split, "slice": _slice, "reshape": _reshape,
         "flatten": _flatten, "transpose": _transpose, "pad": _pad, "identity": _identity,
         "reduce": _reduce, "resize": _resize, "layernorm": _layernorm, "const": _const,
         "channel_shuffle": _channel_shuffle}


PROBE_DATA_BYTES = 4096   # initializers larger than this enter the shape probe as typed inputs


def build_model(graph: LayerGraph, opset: int = 17, seed: int = 0, weights: str = "random"):
    """The ONNX ModelProto for a layer graph (checked, shapes cross-checked), not yet written."""
    import onnx
    from onnx import TensorProto, helper
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise AugurError(f"opset must be an integer from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}")
    if weights not in WEIGHT_MODES:
        raise AugurError(f"weights must be one of {', '.join(WEIGHT_MODES)}, got {weights!r}")
    e = _Emitter(graph, opset, seed, weights)
    inputs = []
    for name in graph.order:
        L = graph.layer(name)
        if L.op == "input":
            inputs.append(helper.make_tensor_value_info(L.outputs[0], TensorProto.FLOAT, list(e.shape(L.outputs[0]))))
            continue
        fn = _EMIT.get(L.op)
        if fn is None:
            why = NO_EXPORT.get(L.op, "no emitter")  # ops/facts.py says why a kind has no ONNX form
            raise UnsupportedOpError(f"op kind '{L.op}' has no ONNX export ({why}); exportable kinds: "
                                     f"{', '.join(sorted(_EMIT))}", file=graph.source_file, where=f"layer '{name}'")
        try:
            fn(e, L)
        except AugurError as err:
            raise err.located(file=graph.source_file, where=f"layer '{name}'")
    outputs = [helper.make_tensor_value_info(t, TensorProto.FLOAT, list(e.shape(t))) for t in graph.outputs]
    opsets = [helper.make_opsetid("", opset)]
    # The shape cross-check runs on a probe whose outputs carry no shape, so ONNX computes them
    # itself. Its weights are graph inputs of the same type and dims, not data: shape inference
    # needs only their shapes, and copying them would hold the weights twice more in memory
    # (export's peak was about 9x the weights: 936 MB for ResNet-50's 102 MB). Small constants
    # (the int64 shapes a Reshape reads) stay initializers.
    big = [t for t in e.inits if len(t.raw_data) > PROBE_DATA_BYTES]
    small = [t for t in e.inits if len(t.raw_data) <= PROBE_DATA_BYTES]
    probe = helper.make_model(helper.make_graph(
        e.nodes, graph.name or "augur",
        inputs + [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in big],
        [helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in graph.outputs], initializer=small),
        opset_imports=opsets, producer_name="augur-sim")
    g = helper.make_graph(e.nodes, graph.name or "augur", inputs, outputs, initializer=e.inits)
    e.inits = []            # the graph holds its own copy now
    model = helper.make_model(g, opset_imports=opsets, producer_name="augur-sim")
    del g
    # Runtimes accept an IR version no newer than they know; pin the one matching the opset.
    model.ir_version = min(model.ir_version, 8 if opset <= 18 else 9)
    probe.ir_version = model.ir_version
    try:
        onnx.checker.check_model(model)
        inferred = onnx.shape_inference.infer_shapes(probe, strict_mode=True)
    except MemoryError:
        raise  # not a fault of the model: the caller's memory limit
    except Exception as err:
        # (an exception may carry no message: name its type then)
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise AugurError(f"exported model fails the ONNX checker: {first}", file=graph.source_file)
    _check_shapes(graph, inferred)
    return model, e


def _check_shapes(graph: LayerGraph, inferred) -> None:
    """ONNX's shape inference must agree with ours on every tensor the layer graph names."""
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        info = graph.tensors.get(vi.name)
        if info is None or not vi.type.tensor_type.HasField("shape"):
            continue
        dims = vi.type.tensor_type.shape.dim
        if not all(d.HasField("dim_value") for d in dims):
            continue
        theirs = tuple(int(d.dim_value) for d in dims)
        if theirs != tuple(info.shape):
            raise AugurError(f"ONNX infers shape {theirs} for tensor '{vi.name}', augur infers "
                             f"{tuple(info.shape)}", file=graph.source_file, where=f"layer '{info.producer}'")


def export_onnx(graph: LayerGraph, path, opset: int = 17, seed: int = 0, weights: str = "random") -> ExportInfo:
    """Write `graph` as an ONNX model at `path`, atomically (no partial file on failure)."""
    path = Path(path)
    if path.is_dir():   # before the work of building the model
        raise AugurError("cannot write: this is a folder; expected a file path", file=str(path))
    model, e = build_model(graph, opset, seed, weights)
    data = model.SerializeToString()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _default_mode())  # mkstemp's 0600 is not what a user's output file should get
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise AugurError(f"cannot write: {err.strerror or err}", file=str(path))
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return ExportInfo(str(path), len(model.graph.node), e.weight_elems, opset)


def export_cmd(net_spec, out_path, batch: int | None = None, opset: int = 17,
               input_shape: tuple | None = None) -> str:
    """`augur export NET --out model.onnx [--batch N] [--input-shape S]`: returns a one-line summary."""
    graph = load_net(net_spec, batch=batch, input_shape=input_shape)
    info = export_onnx(graph, out_path, opset=opset)
    return (f"wrote {info.path}: {graph.name}, batch {graph.batch}, {len(graph) - len(graph.inputs)} layers "
            f"-> {info.nodes} ONNX nodes, {info.weight_elems} random weights, opset {info.opset}")
