"""Max and average pooling, windowed or global."""
from __future__ import annotations

from ..errors import ShapeError
from ._util import need_inputs, need_rank, pos_int, prod
from .counts import Counts
from .registry import OpDef, register


def _pooled(size, k, s, p0, p1, ceil):
    span = size + p0 + p1 - k
    if span < 0:
        raise ShapeError(f"pooling window {k} is larger than the padded input {size + p0 + p1}")
    out = (-(-span // s) if ceil else span // s) + 1
    # Caffe and ONNX: the last window must start inside the input or the left padding,
    # else it is dropped (only ceil rounding can produce such a window).
    if ceil and (p0 or p1) and (out - 1) * s >= size + p0:
        out -= 1
    return out


def infer_pool(attrs, in_shapes):
    need_inputs(in_shapes, 1, "pool")
    need_rank(in_shapes[0], 3, "pool")
    shape = in_shapes[0]
    n, c, *spatial = shape
    if attrs.get("mode") not in ("max", "avg"):
        raise ShapeError(f"pool mode must be max or avg, got {attrs.get('mode')!r}")
    if attrs.get("global"):
        return [(n, c) + (1,) * len(spatial)], []
    if len(spatial) != 2:
        raise ShapeError(f"windowed pooling supports 2-D inputs, got shape {tuple(shape)}")
    kh, kw = (pos_int(k, "pool kernel size") for k in attrs["kernel"])
    sh, sw = (pos_int(s, "pool stride") for s in attrs.get("stride", (1, 1)))
    pt, pl, pb, pr = (pos_int(p, "pool pad", allow_zero=True) for p in attrs.get("pad", (0, 0, 0, 0)))
    if pt >= kh or pb >= kh or pl >= kw or pr >= kw:
        raise ShapeError(f"pool pad ({pt},{pl},{pb},{pr}) must be smaller than the kernel {kh}x{kw}")
    ceil = bool(attrs.get("ceil", False))
    ho = _pooled(spatial[0], kh, sh, pt, pb, ceil)
    wo = _pooled(spatial[1], kw, sw, pl, pr, ceil)
    return [(n, c, ho, wo)], []


def window(attrs, in_shape) -> int:
    """Input elements each output element reads."""
    if attrs.get("global"):
        return prod(in_shape[2:])
    kh, kw = attrs["kernel"]
    return kh * kw


def count_pool(attrs, ins, outs, params, conventions):
    out = prod(outs[0])
    flops = out * window(attrs, ins[0]) * conventions.pool_flops_per_window_elem
    if attrs["mode"] == "avg" and conventions.avg_pool_divide:
        flops += out
    return Counts(flops=flops, in_elems=prod(ins[0]), out_elems=out)


register(OpDef("pool", infer_pool, count_pool, doc="pooling; attrs mode max|avg, kernel, stride, pad, "
               "ceil, global"))
