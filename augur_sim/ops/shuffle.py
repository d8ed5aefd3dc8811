"""Channel shuffle (ShuffleNet): view (N, g, C/g, H, W), swap the two channel axes, view
back. One pass that reads and writes every element, like a transpose."""
from __future__ import annotations

from ..errors import ShapeError
from ._util import need_inputs, need_rank, pos_int, prod
from .counts import Counts
from .registry import OpDef, register


def infer_shuffle(attrs, in_shapes):
    need_inputs(in_shapes, 1, "channel_shuffle")
    need_rank(in_shapes[0], 2, "channel_shuffle")
    c = in_shapes[0][1]
    g = pos_int(attrs.get("group", 1), "channel_shuffle group")
    if c % g:
        raise ShapeError(f"channel_shuffle: group {g} does not divide {c} channels")
    return [tuple(in_shapes[0])], []


def count_shuffle(attrs, ins, outs, params, conventions):
    return Counts(in_elems=prod(ins[0]), out_elems=prod(outs[0]))


register(OpDef("channel_shuffle", infer_shuffle, count_shuffle, "movement",
               "channel shuffle; attrs group, reverse (ncnn: shuffle by C/group instead)"))
