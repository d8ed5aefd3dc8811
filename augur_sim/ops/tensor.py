"""Ops that only move or re-view data: input, concat, split, slice, reshape, flatten,
transpose, pad, dropout/identity, plus reduce and resize."""
from __future__ import annotations

from ..errors import ShapeError
from ._util import need_inputs, norm_axis, pos_int, prod
from .counts import Counts
from .registry import OpDef, register


def _movement_count(attrs, ins, outs, params, conventions):
    return Counts(in_elems=sum(prod(s) for s in ins), out_elems=sum(prod(s) for s in outs))


def _free_count(attrs, ins, outs, params, conventions):
    # Views still "produce" their outputs as tensors (memory policies need the sizes),
    # but no arithmetic and no traffic happens.
    return Counts(in_elems=sum(prod(s) for s in ins), out_elems=sum(prod(s) for s in outs))


def infer_input(attrs, in_shapes):
    need_inputs(in_shapes, 0, "input")
    return [tuple(attrs["shape"])], []


def infer_concat(attrs, in_shapes):
    need_inputs(in_shapes, (1, 4096), "concat")
    rank = len(in_shapes[0])
    axis = norm_axis(attrs.get("axis", 1), rank, "concat")
    for s in in_shapes[1:]:
        if len(s) != rank or any(a != b for i, (a, b) in enumerate(zip(s, in_shapes[0])) if i != axis):
            raise ShapeError(f"concat along axis {axis}: shapes " +
                             ", ".join(str(tuple(x)) for x in in_shapes) + " differ off that axis")
    out = list(in_shapes[0])
    out[axis] = sum(s[axis] for s in in_shapes)
    return [tuple(out)], []


def infer_split(attrs, in_shapes):
    need_inputs(in_shapes, 1, "split")
    shape = in_shapes[0]
    axis = norm_axis(attrs.get("axis", 1), len(shape), "split")
    total = shape[axis]
    n_out = pos_int(attrs.get("num_outputs", 1), "split output count")
    if n_out > total:
        # Checked before any per-part list is built: a count such as 10**9 must cost nothing.
        raise ShapeError(f"split: {n_out} parts of an axis of size {total} (each part needs at least 1)")
    if attrs.get("sizes"):
        sizes = list(attrs["sizes"])
    elif attrs.get("points"):
        pts = [0] + list(attrs["points"]) + [total]
        sizes = [b - a for a, b in zip(pts, pts[1:])]
    else:
        if total % n_out:
            raise ShapeError(f"split: axis {axis} of size {total} does not divide into {n_out} equal parts")
        sizes = [total // n_out] * n_out
    if len(sizes) != n_out:
        raise ShapeError(f"split gives {len(sizes)} parts but the layer names {n_out} outputs")
    if any(s <= 0 for s in sizes) or sum(sizes) != total:
        raise ShapeError(f"split sizes {sizes} must be positive and add up to {total} along axis {axis}")
    outs = []
    for s in sizes:
        o = list(shape)
        o[axis] = s
        outs.append(tuple(o))
    return outs, []


def infer_slice(attrs, in_shapes):
    need_inputs(in_shapes, 1, "slice")
    shape = list(in_shapes[0])
    starts, ends = attrs["starts"], attrs["ends"]
    axes = attrs.get("axes") or list(range(len(starts)))
    steps = attrs.get("steps") or [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ShapeError("slice: starts, ends, axes and steps differ in length")
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        a = norm_axis(ax, len(shape), "slice")
        d = shape[a]
        if sp == 0:
            raise ShapeError("slice: step 0")
        # ONNX clamping rules.
        st = st + d if st < 0 else st
        en = en + d if en < 0 else en
        if sp > 0:
            st, en = min(max(st, 0), d), min(max(en, 0), d)
            n = max(0, -(-(en - st) // sp))
        else:
            st, en = min(max(st, -1), d - 1), min(max(en, -1), d - 1)
            n = max(0, -(-(st - en) // -sp))
        if n == 0:
            raise ShapeError(f"slice leaves axis {a} empty")
        shape[a] = n
    return [tuple(shape)], []


def infer_reshape(attrs, in_shapes):
    need_inputs(in_shapes, 1, "reshape")
    src = in_shapes[0]
    spec = list(attrs["shape"])
    out, infer_at = [], None
    for i, d in enumerate(spec):
        if d == 0:
            if i >= len(src):
                raise ShapeError(f"reshape: 0 at position {i} copies a dim the input {tuple(src)} lacks")
            out.append(src[i])
        elif d == -1:
            if infer_at is not None:
                raise ShapeError("reshape: more than one -1")
            infer_at = i
            out.append(1)
        elif d > 0:
            out.append(d)
        else:
            raise ShapeError(f"reshape: bad dimension {d}")
    total, known = prod(src), prod(out)
    if infer_at is not None:
        if total % known:
            raise ShapeError(f"reshape: {tuple(src)} does not fit {tuple(spec)}")
        out[infer_at] = total // known
    if prod(out) != total:
        raise ShapeError(f"reshape: {tuple(src)} has {total} elements, target {tuple(out)} has {prod(out)}")
    return [tuple(out)], []


def infer_flatten(attrs, in_shapes):
    need_inputs(in_shapes, 1, "flatten")
    s = in_shapes[0]
    a = norm_axis(attrs.get("axis", 1), len(s), "flatten")
    e = norm_axis(attrs.get("end_axis", -1), len(s), "flatten")
    if e < a:
        raise ShapeError(f"flatten: end_axis {e} before axis {a}")
    return [tuple(s[:a]) + (prod(s[a:e + 1]),) + tuple(s[e + 1:])], []


def infer_transpose(attrs, in_shapes):
    need_inputs(in_shapes, 1, "transpose")
    s = in_shapes[0]
    perm = list(attrs.get("perm") or reversed(range(len(s))))
    if sorted(perm) != list(range(len(s))):
        raise ShapeError(f"transpose: perm {perm} is not a permutation of {len(s)} axes")
    return [tuple(s[p] for p in perm)], []


def infer_pad(attrs, in_shapes):
    need_inputs(in_shapes, 1, "pad")
    s = in_shapes[0]
    pads = list(attrs["pads"])
    if len(pads) != 2 * len(s):
        raise ShapeError(f"pad: {len(pads)} pads for rank {len(s)} (want {2 * len(s)})")
    out = tuple(d + pads[i] + pads[i + len(s)] for i, d in enumerate(s))
    if any(d <= 0 for d in out):
        raise ShapeError(f"pad: result {out} has an empty dimension")
    return [out], []


def infer_identity(attrs, in_shapes):
    need_inputs(in_shapes, 1, "identity")
    return [in_shapes[0]] * pos_int(attrs.get("num_outputs", 1), "identity output count"), []


def infer_reduce(attrs, in_shapes):
    need_inputs(in_shapes, 1, "reduce")
    s = list(in_shapes[0])
    axes = attrs.get("axes")
    axes = range(len(s)) if axes is None else [norm_axis(a, len(s), "reduce") for a in axes]
    keep = attrs.get("keepdims", True)
    out = [1 if i in axes else d for i, d in enumerate(s)] if keep else \
        [d for i, d in enumerate(s) if i not in axes]
    return [tuple(out) if out else (1,)], []


def count_reduce(attrs, ins, outs, params, conventions):
    n = prod(ins[0])
    return Counts(flops=n * conventions.reduce_flops_per_input + prod(outs[0]), in_elems=n, out_elems=prod(outs[0]))


def infer_resize(attrs, in_shapes):
    need_inputs(in_shapes, 1, "resize")
    s = in_shapes[0]
    if attrs.get("sizes"):
        out = tuple(attrs["sizes"])
    else:
        scales = attrs["scales"]
        if len(scales) != len(s) or any(x <= 0 for x in scales):
            raise ShapeError(f"resize: scales {scales} do not fit rank {len(s)}")
        out = tuple(int(d * x) for d, x in zip(s, scales))
    if len(out) != len(s):
        raise ShapeError(f"resize: target {out} does not fit rank {len(s)}")
    return [out], []


def count_resize(attrs, ins, outs, params, conventions):
    n = prod(outs[0])
    per = 0 if attrs.get("mode", "nearest") == "nearest" else conventions.resize_flops_per_output
    return Counts(flops=n * per, in_elems=prod(ins[0]), out_elems=n)


register(OpDef("input", infer_input, _free_count, "free", "network input; attrs shape, dtype"))
register(OpDef("concat", infer_concat, _movement_count, "movement", "concatenate along attrs axis"))
register(OpDef("split", infer_split, _movement_count, "movement",
               "split along axis into num_outputs parts (sizes or Caffe slice points)"))
register(OpDef("slice", infer_slice, _movement_count, "movement", "ONNX-style strided slice"))
register(OpDef("transpose", infer_transpose, _movement_count, "movement", "permute axes"))
register(OpDef("pad", infer_pad, _movement_count, "movement", "pad; attrs pads (begins then ends)"))
register(OpDef("reshape", infer_reshape, _free_count, "free", "reshape (0 copies, -1 infers)"))
register(OpDef("flatten", infer_flatten, _free_count, "free", "flatten axis..end_axis (Caffe)"))
register(OpDef("identity", infer_identity, _free_count, "free",
               "identity / dropout at inference / Caffe Split; num_outputs copies"))
register(OpDef("reduce", infer_reduce, count_reduce, "compute", "reduce; attrs fn, axes, keepdims"))
register(OpDef("resize", infer_resize, count_resize, "compute", "resize; attrs scales or sizes, mode"))
