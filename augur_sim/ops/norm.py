"""Normalisation and per-channel affine ops: BatchNorm, Scale, Bias, LRN, LayerNorm."""
from __future__ import annotations

from ..errors import ShapeError
from ._util import need_inputs, need_rank, norm_axis, pos_int, prod
from .counts import Counts
from .registry import OpDef, register


def _channels(shape, attrs, op):
    need_rank(shape, 2, op)
    axis = norm_axis(attrs.get("axis", 1), len(shape), op)
    num_axes = attrs.get("num_axes", 1)
    if num_axes == -1:
        num_axes = len(shape) - axis
    if num_axes < 0 or axis + num_axes > len(shape):
        raise ShapeError(f"{op}: axis {axis} with num_axes {num_axes} does not fit shape {tuple(shape)}")
    return tuple(shape[axis:axis + num_axes])


def infer_batchnorm(attrs, in_shapes):
    need_inputs(in_shapes, 1, "batchnorm")
    c = _channels(in_shapes[0], {"axis": 1}, "batchnorm")
    return [in_shapes[0]], [c, c] + ([c, c] if attrs.get("affine") else [])


def count_batchnorm(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    c = prod(params[0])
    stats = 2 * c + (1 if attrs.get("caffe_scale_factor") else 0)
    learned = 2 * c if attrs.get("affine") else 0
    flops = 0 if conventions.fold_bn else n * conventions.bn_flops_per_elem
    return Counts(flops=flops, params=learned, stat_params=stats, in_elems=n, out_elems=n,
                  weight_elems=learned + stats)


def infer_scale(attrs, in_shapes):
    need_inputs(in_shapes, (1, 2), "scale")
    if len(in_shapes) == 2:
        # Caffe Scale with a second bottom: the factor is a tensor, no learned weights.
        return [in_shapes[0]], ([_channels(in_shapes[0], attrs, "scale")] if attrs.get("bias") else [])
    c = _channels(in_shapes[0], attrs, "scale")
    return [in_shapes[0]], [c] + ([c] if attrs.get("bias") else [])


def count_scale(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    flops = n * conventions.scale_flops_per_elem + (n * conventions.bias_flops_per_output if attrs.get("bias") else 0)
    p = sum(prod(s) for s in params)
    return Counts(flops=flops, params=p, in_elems=sum(prod(s) for s in ins), out_elems=n, weight_elems=p)


def infer_bias(attrs, in_shapes):
    need_inputs(in_shapes, (1, 2), "bias")
    if len(in_shapes) == 2:
        return [in_shapes[0]], []
    return [in_shapes[0]], [_channels(in_shapes[0], attrs, "bias")]


def count_bias(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    p = sum(prod(s) for s in params)
    return Counts(flops=n * conventions.bias_flops_per_output, params=p, in_elems=sum(prod(s) for s in ins),
                  out_elems=n, weight_elems=p)


def infer_lrn(attrs, in_shapes):
    need_inputs(in_shapes, 1, "lrn")
    need_rank(in_shapes[0], 4, "lrn", 4)
    size = pos_int(attrs.get("size", 5), "lrn local_size")
    if size % 2 == 0:
        raise ShapeError(f"lrn local_size must be odd, got {size}")
    if attrs.get("region", "across") not in ("across", "within"):
        raise ShapeError(f"lrn region must be across or within, got {attrs.get('region')!r}")
    return [in_shapes[0]], []


def lrn_window(attrs) -> int:
    size = attrs.get("size", 5)
    return size if attrs.get("region", "across") == "across" else size * size


def count_lrn(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    # Caffe: scale = k + alpha/n * sum(x^2 over the window); y = x * scale^-beta.
    # Per element: window squares and adds, then the fixed scale/pow/multiply.
    flops = n * (2 * lrn_window(attrs) + conventions.lrn_flops_fixed)
    return Counts(flops=flops, in_elems=n, out_elems=n)


def infer_layernorm(attrs, in_shapes):
    need_inputs(in_shapes, 1, "layernorm")
    shape = in_shapes[0]
    axis = norm_axis(attrs.get("axis", -1), len(shape), "layernorm")
    norm = tuple(shape[axis:])
    return [shape], ([norm, norm] if attrs.get("affine", True) else [])


def count_layernorm(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    p = sum(prod(s) for s in params)
    return Counts(flops=n * conventions.layernorm_flops_per_elem, params=p, in_elems=n, out_elems=n, weight_elems=p)


register(OpDef("batchnorm", infer_batchnorm, count_batchnorm,
               doc="inference batch norm; attrs affine (ONNX gamma/beta), caffe_scale_factor"))
register(OpDef("scale", infer_scale, count_scale, doc="per-channel multiply; attrs axis, num_axes, bias"))
register(OpDef("bias", infer_bias, count_bias, doc="per-channel add; attrs axis, num_axes"))
register(OpDef("lrn", infer_lrn, count_lrn, doc="local response norm; attrs size, alpha, beta, k, region"))
register(OpDef("layernorm", infer_layernorm, count_layernorm, doc="layer norm from attrs axis; affine"))
