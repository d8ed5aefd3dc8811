"""Fully connected (InnerProduct / Gemm with constant weights) and tensor-tensor MatMul."""
from __future__ import annotations

from ..errors import ShapeError
from ._util import need_inputs, norm_axis, pos_int, prod
from .counts import Counts
from .registry import OpDef, register


def infer_fc(attrs, in_shapes):
    need_inputs(in_shapes, 1, "fc")
    shape = in_shapes[0]
    axis = norm_axis(attrs.get("axis", 1), len(shape), "fc")
    out = pos_int(attrs["out_features"], "fc num_output")
    k = prod(shape[axis:])
    params = [(out, k)]
    if attrs.get("bias", True):
        params.append((out,))
    # Caffe flattens everything from `axis` on; the leading dims stay.
    return [tuple(shape[:axis]) + (out,)], params


def count_fc(attrs, ins, outs, params, conventions):
    out_elems = prod(outs[0])
    k = params[0][1]
    macs = out_elems * k
    bias_flops = conventions.bias_flops_per_output * out_elems if attrs.get("bias", True) else 0
    flops = conventions.flops_per_mac * macs + bias_flops
    p = sum(prod(s) for s in params)
    return Counts(macs=macs, flops=flops, params=p, in_elems=prod(ins[0]), out_elems=out_elems,
                  weight_elems=p)


def _broadcast(a, b, op):
    out = []
    for x, y in zip(reversed(a), reversed(b)):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"{op}: batch dims {tuple(a)} and {tuple(b)} do not broadcast")
        out.append(max(x, y))
    longer = a if len(a) > len(b) else b
    return tuple(longer[: len(longer) - len(out)]) + tuple(reversed(out))


def infer_matmul(attrs, in_shapes):
    need_inputs(in_shapes, 2, "matmul")
    a, b = in_shapes
    if len(a) < 2 or len(b) < 2:
        raise ShapeError(f"matmul needs rank >= 2 operands, got {a} and {b}")
    if a[-1] != b[-2]:
        raise ShapeError(f"matmul inner dims differ: {a} @ {b}")
    batch = _broadcast(a[:-2], b[:-2], "matmul")
    return [batch + (a[-2], b[-1])], []


def count_matmul(attrs, ins, outs, params, conventions):
    k = ins[0][-1]
    macs = prod(outs[0]) * k
    return Counts(macs=macs, flops=conventions.flops_per_mac * macs, in_elems=sum(prod(s) for s in ins),
                  out_elems=prod(outs[0]))


register(OpDef("fc", infer_fc, count_fc, doc="fully connected; attrs out_features, axis, bias"))
register(OpDef("matmul", infer_matmul, count_matmul, doc="tensor x tensor product, numpy broadcasting"))
