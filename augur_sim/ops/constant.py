"""A constant tensor stored with the weights (ncnn's MemoryData: a class token, position
embeddings, a per-channel bias blob). It costs nothing at run time; its elements count as
parameters, once, whatever the batch."""
from __future__ import annotations

from ._util import need_inputs, pos_int, prod
from .counts import Counts
from .registry import OpDef, register


def infer_const(attrs, in_shapes):
    need_inputs(in_shapes, 0, "const")
    shape = tuple(pos_int(d, "const dimension") for d in attrs["shape"])
    # A constant that enters a concat with batched activations must carry the batch
    # (the runtime broadcasts it); `batch` is set by the frontend and by graph.rebatch.
    batch = pos_int(attrs.get("batch", 1), "const batch")
    return [(batch,) + shape], []


def count_const(attrs, ins, outs, params, conventions):
    p = prod(attrs["shape"])
    return Counts(params=p, weight_elems=p, out_elems=prod(outs[0]))


register(OpDef("const", infer_const, count_const, "free",
               "a constant tensor stored with the weights; attrs shape (per sample), batch"))
