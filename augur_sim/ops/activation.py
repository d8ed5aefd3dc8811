"""Element-wise activation functions and softmax: one input, same shape out."""
from __future__ import annotations

from ..errors import ShapeError
from ._util import need_inputs, norm_axis, prod
from .activations import ACTIVATIONS
from .counts import Counts
from .registry import OpDef, register


def infer_act(attrs, in_shapes):
    need_inputs(in_shapes, 1, "act")
    fn = attrs.get("fn")
    if fn not in ACTIVATIONS:
        raise ShapeError(f"unknown activation '{fn}'; known: {', '.join(sorted(ACTIVATIONS))}")
    params = []
    if fn == "prelu":
        shape = in_shapes[0]
        c = 1 if attrs.get("channel_shared") or len(shape) < 2 else shape[1]
        params.append((c,))
    return [in_shapes[0]], params


def count_act(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    p = sum(prod(s) for s in params)
    return Counts(flops=n * conventions.act_flops.get(attrs["fn"], 1), params=p, in_elems=prod(ins[0]),
                  out_elems=n, weight_elems=p)


def infer_softmax(attrs, in_shapes):
    need_inputs(in_shapes, 1, "softmax")
    norm_axis(attrs.get("axis", 1), len(in_shapes[0]), "softmax")
    return [in_shapes[0]], []


def count_softmax(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    return Counts(flops=n * conventions.softmax_flops_per_elem, in_elems=n, out_elems=n)


register(OpDef("act", infer_act, count_act, doc="element-wise activation; attrs fn (" +
               ", ".join(sorted(ACTIVATIONS)) + ") and its parameters"))
register(OpDef("softmax", infer_softmax, count_softmax, doc="softmax over attrs axis"))
