"""Op kinds only the ONNX frontend produces.

``opaque``: an ONNX node augur-sim cannot cost, kept in the graph under ``--lenient`` so the
graph stays connected. Its output shapes come from ONNX's own shape inference (attrs
``out_shapes``); it is counted as zero cost, and the frontend lists it in ``graph.dropped``
so reports say what was left out.
"""
from __future__ import annotations

from ..errors import ShapeError
from ._util import prod
from .counts import Counts
from .registry import OpDef, register


def infer_opaque(attrs, in_shapes):
    shapes = attrs.get("out_shapes")
    if not shapes:
        raise ShapeError("opaque op needs out_shapes (taken from ONNX shape inference)")
    return [tuple(s) for s in shapes], []


def count_opaque(attrs, ins, outs, params, conventions):
    # Zero arithmetic by decision (--lenient): the real cost is unknown, not zero, and the
    # report lists the layer as dropped. Activation sizes are still real.
    return Counts(in_elems=sum(prod(s) for s in ins), out_elems=sum(prod(s) for s in outs))


register(OpDef("opaque", infer_opaque, count_opaque, "free",
               "an op the frontend does not know, kept at zero cost under --lenient; attrs out_shapes"))
