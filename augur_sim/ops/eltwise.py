"""N-ary element-wise arithmetic with numpy broadcasting (Caffe Eltwise, ONNX Add/Mul/...)."""
from __future__ import annotations

from ..errors import ShapeError
from ._util import need_inputs, prod
from .counts import Counts
from .registry import OpDef, register

FNS = ("sum", "prod", "max", "min", "sub", "div", "pow")


def broadcast_shapes(shapes, op="eltwise"):
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for dims in zip(*padded):
        big = {d for d in dims if d != 1}
        if len(big) > 1:
            raise ShapeError(f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} do not broadcast")
        out.append(big.pop() if big else 1)
    return tuple(out)


def infer_eltwise(attrs, in_shapes):
    need_inputs(in_shapes, (1, 64), "eltwise")
    if attrs.get("fn", "sum") not in FNS:
        raise ShapeError(f"eltwise fn must be one of {', '.join(FNS)}, got {attrs.get('fn')!r}")
    coeffs = attrs.get("coeffs")
    if coeffs is not None and len(coeffs) != len(in_shapes):
        raise ShapeError(f"eltwise has {len(coeffs)} coefficients for {len(in_shapes)} inputs")
    if attrs.get("broadcast", True):
        return [broadcast_shapes(in_shapes)], []
    # Caffe's Eltwise wants identical shapes.
    if any(tuple(s) != tuple(in_shapes[0]) for s in in_shapes):
        raise ShapeError("eltwise inputs must have the same shape, got " +
                         ", ".join(str(tuple(s)) for s in in_shapes))
    return [tuple(in_shapes[0])], []


def count_eltwise(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    k = len(ins)
    # A unary use (x op constant) still does one operation per element.
    flops = n * max(k - 1, 1) * conventions.eltwise_flops_per_input
    coeffs = attrs.get("coeffs")
    if coeffs is not None:
        flops += n * sum(1 for c in coeffs if c != 1)
    consts = attrs.get("const_elems", 0)  # ONNX: an initializer operand, counted as a weight
    return Counts(flops=flops, in_elems=sum(prod(s) for s in ins), out_elems=n, weight_elems=consts,
                  params=consts)


register(OpDef("eltwise", infer_eltwise, count_eltwise,
               doc="element-wise n-ary op; attrs fn (" + ", ".join(FNS) + "), coeffs, broadcast"))
