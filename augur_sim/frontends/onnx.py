"""ONNX frontend: an ``.onnx`` model -> LayerGraph, from shapes alone.

Weights are never needed: initializers are read for their dims (and, when small, for
values that drive shapes, such as a Reshape target). A model whose external weight file
is missing therefore still loads.

Translation walks the nodes in file order (ONNX requires topological order) and tracks
three kinds of tensors:
- graph tensors, produced by a layer; their shapes come from our own op rules
  (augur_sim/ops), applied as each layer is emitted;
- constants: initializers, Constant nodes, and whatever folds from them (the
  Shape -> Gather -> Unsqueeze -> Concat chains exporters write in front of a Reshape);
  they are weights or attributes, never graph tensors;
- nothing else: an input no earlier node produced is an error.
ONNX's own shape inference (rerun from the inputs, stored value_info ignored) is a
cross-check: where it finds a static shape that differs from ours, the import fails naming
the node, since one of the two counts would be wrong.

Decisions worth knowing (they change counts):
- a constant operand of an element-wise op (x * W) counts its elements as weights, except
  a single-element constant: that is a hyper-parameter (x * 0.5, a GELU decomposition's
  sqrt(2)), and ONNX has no attribute form for it;
- BatchNormalization / LayerNormalization whose scale is all ones and bias all zeros (when
  the values are stored in the file) has no learned affine part (Caffe's BatchNorm, as
  export.py writes it); otherwise it is affine;
- Cast and Dropout on graph tensors are free identities.
"""
from __future__ import annotations

import gc
import math
import struct
from pathlib import Path

import numpy as np

from ..errors import AugurError, ShapeError, UnsupportedOpError
from ..graph import GraphBuilder, Layer, LayerGraph, SourceLoc, as_text, check_batch, check_shapes
from ..ops.activations import ACTIVATIONS, ONNX_ACTIVATIONS
from ..ops.facts import ONNX_KINDS
from ..ops import (
    onnx_extra,  # noqa: F401  (registers the 'opaque' kind)
    registry,
)
from . import onnx_wire

# Protobuf cannot serialise more than 2 GiB, so no valid .onnx file is larger.
MAX_ONNX_BYTES = 2 << 30
# Folding is for shape arithmetic; a constant larger than this is a weight, never folded.
MAX_FOLD_ELEMS = 1 << 20
# Default batch bound to a symbolic leading dimension.
DEFAULT_BATCH = 1

_DTYPES = {1: "fp32", 10: "fp16", 16: "bf16", 3: "int8", 2: "int8"}
_F32 = struct.Struct("<f")  # ONNX raw data is little-endian


class _Const:
    """A constant tensor: dims always known, the value read lazily (never for external data;
    for a tensor the structure-only read stripped, from the mapped file, on demand)."""

    __slots__ = ("shape", "_proto", "_value", "_lazy")

    def __init__(self, shape, proto=None, value=None, lazy=None):
        self.shape = tuple(map(int, shape))
        self._proto = proto
        self._value = value
        self._lazy = lazy

    @property
    def external(self) -> bool:
        """True when the values live in a separate file (never read)."""
        return self._value is None and self._proto is not None and self._proto.data_location == 1 \
            and (self._lazy is None or self._lazy.span(self._proto) is None)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def stored(self) -> int:
        """Elements the constant really stores: a folded Expand is a view whose repeated axes
        (stride 0) hold one copy, as the file holds it (and a runtime keeps it)."""
        v = self._value
        if isinstance(v, np.ndarray):
            return int(np.prod([d for d, st in zip(v.shape, v.strides) if st != 0]))
        return self.size

    @property
    def repeats_over_batch(self) -> bool:
        """A folded Expand of a (1, ...) tensor over the batch axis."""
        v = self._value
        return isinstance(v, np.ndarray) and v.ndim > 0 and v.shape[0] > 1 and v.strides[0] == 0

    def value(self):
        """The numpy value, or None when it lives in an external file."""
        p = self._proto
        if self._value is not None or p is None:
            return self._value
        if p.data_location == 1:  # external: stripped by our scan (read back) or a real file (never)
            sp = self._lazy.span(p) if self._lazy is not None else None
            if sp is not None:
                self._value = self._lazy.load(p, sp)
            return self._value
        if onnx_wire.has_raw_array(p):
            self._value = onnx_wire.raw_array(p, p.raw_data)
            return self._value
        from onnx import numpy_helper
        try:
            self._value = numpy_helper.to_array(p)
        except Exception as e:  # malformed tensor data: a file problem, not a bug
            raise AugurError(f"initializer '{p.name}' is malformed: {e}")
        return self._value

    def all_equal(self, want: float) -> bool | None:
        """np.all(value == want), decided from the stored bytes where they suffice (a BN
        scale checked for all ones costs a bytes comparison, not an array): float32 raw
        data that is `want` repeated is True; a first element other than `want` is False.
        Anything else goes through the value. None when the value is not in the file."""
        raw = self._raw_f32()
        if raw is not None and len(raw) == 4 * self.size and raw:
            pattern = _F32.pack(want)
            if raw == pattern * self.size:
                return True
            if _F32.unpack_from(raw)[0] != want:
                return False
        v = self.value()
        return None if v is None else bool(np.all(v == want))

    def _raw_f32(self) -> bytes | None:
        """The float32 raw data as stored (inline, or stripped and read back), else None."""
        p = self._proto
        if self._value is not None or p is None or p.data_type != 1:
            return None
        if p.data_location == 1:
            sp = self._lazy.span(p) if self._lazy is not None else None
            return None if sp is None else self._lazy.raw_bytes(sp)
        return p.raw_data if p.HasField("raw_data") else None

    @staticmethod
    def of(arr) -> _Const:
        arr = np.asarray(arr)
        return _Const(arr.shape, value=arr)


def _attrs(node) -> dict:
    out = {}
    for a in node.attribute:
        # The common kinds directly (helper.get_attribute_value's chain of tests costs
        # more than the rest of translating a node); everything else through it.
        k = a.type
        if 0 < k < 8 and k not in (4, 5) and not a.ref_attr_name:
            if k == 2:  # INT
                out[a.name] = a.i
            elif k == 7:  # INTS
                out[a.name] = list(a.ints)
            elif k == 1:  # FLOAT (a BN's epsilon, an activation's alpha)
                out[a.name] = a.f
            elif k == 3:  # STRING
                out[a.name] = a.s.decode("utf-8", "replace")
            else:  # FLOATS (6)
                out[a.name] = list(a.floats)
            continue
        from onnx import helper
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, list):
            v = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v]
        out[a.name] = v
    return out


def _ints(v) -> tuple[int, ...]:
    if isinstance(v, (list, tuple)):
        # Attribute lists of plain ints, the common case: numpy would cost more than the
        # rest (a plain loop: a generator inside all() costs more than the check).
        for x in v:
            if type(x) is not int:
                break
        else:
            return tuple(v)
    return tuple(int(x) for x in np.asarray(v).reshape(-1))


class _Ctx:
    def __init__(self, file: str, builder: GraphBuilder, opset: int, onnx_shapes: dict, lenient: bool):
        self.file = file
        self.b = builder
        self.opset = opset
        self.onnx_shapes = onnx_shapes
        self.lenient = lenient
        self.shapes: dict[str, tuple] = {}
        self.consts: dict[str, _Const] = {}
        self.names: set[str] = set()
        self.node = ""  # current node name, for errors
        self.emitted = 0  # layers other than inputs
        self.stored_shapes: dict[str, tuple] = {}  # value_info kept in the file (for --lenient)
        self.lazy = None  # onnx_wire.LazyTensors of the structure-only read, or None
        self.source = SourceLoc(file, None)  # every layer's (ONNX has no line numbers)

    # -- errors -----------------------------------------------------------------------
    def err(self, msg: str, cls=AugurError) -> AugurError:
        return cls(msg, file=self.file, where=f"node '{self.node}'")

    # -- tensors ----------------------------------------------------------------------
    def is_const(self, t: str) -> bool:
        return t in self.consts

    def dyn(self, t: str) -> tuple:
        if t in self.shapes:
            return self.shapes[t]
        if t in self.consts:
            raise self.err(f"input '{t}' is a constant where a computed tensor is expected "
                           "(operations on constants only are supported for shape arithmetic)",
                           UnsupportedOpError)
        raise self.err(f"input '{t}' is produced by no earlier node or graph input")

    def shape_of(self, t: str) -> tuple:
        if t in self.consts:
            return self.consts[t].shape
        return self.dyn(t)

    def const(self, t: str, what: str) -> _Const:
        if t not in self.consts:
            raise self.err(f"{what} '{t}' must be a constant (initializer or foldable), "
                           "but it is computed at run time", UnsupportedOpError)
        return self.consts[t]

    def value(self, t: str, what: str):
        c = self.const(t, what)
        v = c.value()
        if v is None:
            raise self.err(f"{what} '{t}' is stored in an external data file; its value is "
                           "needed for shapes but external data is not read")
        return v

    def opt_value(self, node, i: int, what: str):
        """Value of optional input i, or None when absent."""
        if len(node.input) > i and node.input[i]:
            return self.value(node.input[i], what)
        return None

    # -- layers -----------------------------------------------------------------------
    def unique(self, name: str) -> str:
        base, k = name, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def emit(self, op: str, attrs: dict, inputs, outputs, src_type: str, suffix: str | None = None) -> str:
        name = self.unique(self.node if suffix is None else f"{self.node}/{suffix}")
        inputs, outputs = tuple(inputs), tuple(outputs)
        shapes = self.shapes
        in_shapes = tuple([shapes[t] if t in shapes else self.dyn(t) for t in inputs])
        try:
            out_shapes, param_shapes = registry.get(op).infer(attrs, in_shapes)
            if len(out_shapes) != len(outputs):
                raise ShapeError(f"{op} gives {len(out_shapes)} outputs, the node names {len(outputs)}")
            out_shapes = check_shapes(out_shapes, "output of", op)
            param_shapes = check_shapes(param_shapes, "weights of", op)
        except AugurError as e:
            raise e.located(file=self.file, where=f"node '{self.node}'")
        # The builder reuses these shapes instead of running the same rules again (and
        # keeps this layer object: its params are the ones the rule gives).
        # Positional: keyword arguments cost a frozen dataclass noticeably more per layer.
        self.b.add_layer(Layer(name, op, attrs, inputs, outputs, self.source, False, param_shapes, src_type),
                         inferred=(in_shapes, out_shapes, param_shapes))
        self.emitted += 1
        for t, s in zip(outputs, out_shapes):
            shapes[t] = s  # check_shapes gave tuples
        return name

    def tmp(self, suffix: str) -> str:
        return f"{self.node}/{suffix}:0"


# ---------------------------------------------------------------------------------------
# Constant folding (numpy), for the shape-arithmetic ops exporters emit.

def _np_dtype(onnx_type: int):
    from onnx import helper
    try:
        return helper.tensor_dtype_to_np_dtype(onnx_type)
    except Exception:
        raise AugurError(f"unknown ONNX data type {onnx_type}")


def _norm_axes(axes, rank: int) -> list[int]:
    out = []
    for a in axes:
        a = int(a)
        a = a + rank if a < 0 else a
        if not 0 <= a < rank:
            raise ShapeError(f"axis {a} out of range for rank {rank}")
        out.append(a)
    return out


def _guard_elems(n: int) -> None:
    if n > MAX_FOLD_ELEMS:
        raise ShapeError(f"folding would build a constant of {n} elements (limit {MAX_FOLD_ELEMS})")


def _int_div(a, b):
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(np.asarray(b).dtype, np.integer):
        q = np.abs(a) // np.abs(b)  # ONNX integer division truncates toward zero
        return (q * np.sign(a) * np.sign(b)).astype(np.result_type(a, b))
    return a / b


def _slice_params(node, a, vals):
    if len(vals) > 1:  # opset >= 10: inputs
        starts, ends = _ints(vals[1]), _ints(vals[2])
        axes = _ints(vals[3]) if len(vals) > 3 and vals[3] is not None else None
        steps = _ints(vals[4]) if len(vals) > 4 and vals[4] is not None else None
    else:
        starts, ends = _ints(a.get("starts", ())), _ints(a.get("ends", ()))
        axes = _ints(a["axes"]) if "axes" in a else None
        steps = None
    axes = axes if axes is not None else tuple(range(len(starts)))
    steps = steps if steps is not None else (1,) * len(starts)
    return starts, ends, axes, steps


def _fold(op: str, vals: list, a: dict, opset: int, node):
    """Evaluate a node on constant inputs; returns its output values."""
    x = vals[0] if vals else None
    if op in ("Identity", "Dropout"):
        return [x]
    if op == "Cast":
        return [x.astype(_np_dtype(a["to"]))]
    if op == "Gather":
        return [np.take(x, vals[1].astype(np.int64), axis=int(a.get("axis", 0)))]
    if op == "Unsqueeze":
        axes = a["axes"] if "axes" in a else _ints(vals[1])
        rank = x.ndim + len(axes)
        out = x
        for ax in sorted(_norm_axes(axes, rank)):
            out = np.expand_dims(out, ax)
        return [out]
    if op == "Squeeze":
        axes = a.get("axes") if "axes" in a else (_ints(vals[1]) if len(vals) > 1 and vals[1] is not None
                                                  else [i for i, d in enumerate(x.shape) if d == 1])
        return [np.squeeze(x, axis=tuple(_norm_axes(axes, x.ndim)))]
    if op == "Concat":
        return [np.concatenate([np.atleast_1d(v) for v in vals], axis=int(a["axis"]))]
    if op == "Slice":
        starts, ends, axes, steps = _slice_params(node, a, vals)
        idx = [slice(None)] * x.ndim
        for st, en, ax, sp in zip(starts, ends, _norm_axes(axes, x.ndim), steps):
            if sp == 0:
                raise ShapeError("Slice step 0")
            idx[ax] = slice(st, en, sp)
        return [x[tuple(idx)]]
    if op in ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Equal", "Less", "Greater"):
        out = vals[0]
        for v in vals[1:]:
            _guard_elems(int(np.prod(np.broadcast_shapes(np.shape(out), np.shape(v)))))
            out = {"Add": np.add, "Sum": np.add, "Sub": np.subtract, "Mul": np.multiply,
                   "Div": _int_div, "Pow": np.power, "Max": np.maximum, "Min": np.minimum,
                   "Equal": np.equal, "Less": np.less, "Greater": np.greater}[op](out, v)
        return [np.asarray(out)]
    if op in ("Neg", "Sqrt", "Abs", "Floor", "Ceil", "Reciprocal", "Relu"):
        fn = {"Neg": np.negative, "Sqrt": np.sqrt, "Abs": np.abs, "Floor": np.floor, "Ceil": np.ceil,
              "Reciprocal": np.reciprocal, "Relu": lambda v: np.maximum(v, 0)}[op]
        return [fn(x)]
    if op == "Where":
        return [np.where(vals[0], vals[1], vals[2])]
    if op == "ConstantOfShape":
        shape = _ints(x)
        if any(d < 0 for d in shape):
            raise ShapeError(f"ConstantOfShape with negative dims {shape}")
        _guard_elems(int(np.prod(shape)) if shape else 1)
        fill = np.zeros(1, np.float32)
        if "value" in a:
            from onnx import numpy_helper
            fill = numpy_helper.to_array(a["value"]).reshape(-1)[:1]
        return [np.full(shape, fill[0], dtype=fill.dtype)]
    if op == "Range":
        start, limit, delta = (np.asarray(v).reshape(()) for v in vals[:3])
        if delta == 0:
            raise ShapeError("Range with delta 0")
        n = max(int(math.ceil((limit - start) / delta)), 0)
        _guard_elems(n)
        return [np.arange(start, limit, delta, dtype=start.dtype)]
    if op == "Reshape":
        spec = list(_ints(vals[1]))
        spec = [x.shape[i] if d == 0 and not a.get("allowzero") else d for i, d in enumerate(spec)]
        return [x.reshape(spec)]
    if op == "Transpose":
        return [np.transpose(x, a.get("perm"))]
    if op == "Expand":
        shape = np.broadcast_shapes(x.shape, _ints(vals[1]))
        _guard_elems(int(np.prod(shape)))
        # A read-only view: the file stores x only, and the counts say so (stored_elems).
        return [np.broadcast_to(x, shape)]
    if op == "Size":
        return [np.asarray(x.size, np.int64)]
    raise KeyError(op)


FOLDABLE = ("Identity", "Dropout", "Cast", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Add",
            "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Equal", "Less", "Greater", "Neg", "Sqrt",
            "Abs", "Floor", "Ceil", "Reciprocal", "Relu", "Where", "ConstantOfShape", "Range", "Reshape",
            "Transpose", "Expand", "Size")


# ---------------------------------------------------------------------------------------
# Node handlers: each turns one ONNX node into layers (or constants).

def _spatial_pads(c: _Ctx, a: dict, in_hw, kernel, strides, dilations) -> tuple[int, int, int, int]:
    auto = a.get("auto_pad", "NOTSET") or "NOTSET"
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for size, k, s, d in zip(in_hw, kernel, strides, dilations):
            out = -(-size // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            small = total // 2
            # SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the start.
            b, e = (small, total - small) if auto == "SAME_UPPER" else (total - small, small)
            begins.append(b)
            ends.append(e)
        return begins[0], begins[1], ends[0], ends[1]
    if auto == "VALID":
        return 0, 0, 0, 0
    if auto != "NOTSET":
        raise c.err(f"unknown auto_pad '{auto}'; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID")
    pads = _ints(a.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4:
        raise c.err(f"pads {pads} must have 4 entries for a 2-D window")
    return pads[0], pads[1], pads[2], pads[3]


def _pair(c: _Ctx, a: dict, key: str, default=(1, 1)) -> tuple[int, int]:
    v = _ints(a.get(key, default))
    if len(v) != 2:
        raise c.err(f"{key} {v} must have 2 entries (only 2-D windows are supported)")
    return v


def _need_4d(c: _Ctx, shape, op: str) -> None:
    if len(shape) != 4:
        raise c.err(f"only 2-D {op} on NCHW (rank-4) input is supported, got input shape {shape}",
                    UnsupportedOpError)


def h_conv(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    _need_4d(c, x, node.op_type)
    w = c.const(node.input[1], "weight").shape
    if len(w) != 4:
        raise c.err(f"weight shape {w} is not rank 4")
    kernel = _pair(c, a, "kernel_shape", w[2:])
    strides, dil = _pair(c, a, "strides"), _pair(c, a, "dilations")
    group = int(a.get("group", 1))
    bias = len(node.input) > 2 and bool(node.input[2])
    attrs = {"kernel": kernel, "stride": strides, "dilation": dil, "group": group, "bias": bias}
    if node.op_type == "Conv":
        if w[1] * group != x[1]:
            raise c.err(f"weight {w} with group {group} expects {w[1] * group} input channels, "
                        f"input has {x[1]}", ShapeError)
        attrs["out_channels"] = w[0]
        attrs["pad"] = _spatial_pads(c, a, x[2:], kernel, strides, dil)
        c.emit("conv", attrs, [node.input[0]], [node.output[0]], node.op_type)
        return
    # ConvTranspose: weight is [Cin, Cout/group, kh, kw].
    if w[0] != x[1]:
        raise c.err(f"weight {w} expects {w[0]} input channels, input has {x[1]}", ShapeError)
    attrs["out_channels"] = w[1] * group
    out_pad = _pair(c, a, "output_padding", (0, 0))
    attrs["output_padding"] = out_pad
    auto = a.get("auto_pad", "NOTSET") or "NOTSET"
    target = _ints(a["output_shape"])[-2:] if "output_shape" in a else None
    if target is None and auto in ("SAME_UPPER", "SAME_LOWER"):
        target = tuple(d * s for d, s in zip(x[2:], strides))
    if target is not None:
        begins, ends = [], []
        for size, k, s, d, op_, want in zip(x[2:], kernel, strides, dil, out_pad, target):
            total = s * (size - 1) + op_ + (k - 1) * d + 1 - want
            if total < 0:
                raise c.err(f"output_shape {tuple(target)} needs negative padding", ShapeError)
            small = total // 2
            b, e = (small, total - small) if auto == "SAME_UPPER" else (total - small, small)
            begins.append(b)
            ends.append(e)
        attrs["pad"] = (begins[0], begins[1], ends[0], ends[1])
    elif auto == "VALID":
        attrs["pad"] = (0, 0, 0, 0)
    else:
        attrs["pad"] = _spatial_pads(c, a, x[2:], kernel, strides, dil)
    c.emit("deconv", attrs, [node.input[0]], [node.output[0]], node.op_type)


def _eltwise_const(c: _Ctx, dyn_ins, const_ins, fn, out, src, suffix=None):
    shapes = [c.dyn(t) for t in dyn_ins]
    cshapes = [c.consts[t].shape for t in const_ins]
    try:
        full = np.broadcast_shapes(*shapes, *cshapes)
        own = np.broadcast_shapes(*shapes)
    except ValueError:
        raise c.err(f"operand shapes {shapes + cshapes} do not broadcast", ShapeError)
    if tuple(full) != tuple(own):
        raise c.err(f"a constant operand {cshapes} widens the result to {tuple(full)}; only constants "
                    "that broadcast into the computed operand are supported", UnsupportedOpError)
    # A single-element constant is a hyper-parameter, not a weight (module docstring).
    consts = sum(c.consts[t].stored for t in const_ins if c.consts[t].stored > 1)
    attrs = {"fn": fn, "broadcast": True}
    if consts:
        attrs["const_elems"] = consts
    return c.emit("eltwise", attrs, dyn_ins, [out], src, suffix)


_ELTWISE = {"Add": "sum", "Sum": "sum", "Mul": "prod", "Sub": "sub", "Div": "div", "Pow": "pow",
            "Max": "max", "Min": "min"}


def h_eltwise(c: _Ctx, node, a):
    ins = [t for t in node.input if t]
    dyn_ins = [t for t in ins if not c.is_const(t)]
    const_ins = [t for t in ins if c.is_const(t)]
    _eltwise_const(c, dyn_ins, const_ins, _ELTWISE[node.op_type], node.output[0], node.op_type)


def h_gemm(c: _Ctx, node, a):
    A, B = node.input[0], node.input[1]
    C = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if c.is_const(A):
        raise c.err("Gemm with a constant left operand is not supported", UnsupportedOpError)
    if int(a.get("transA", 0)):
        t = c.tmp("transA")
        c.emit("transpose", {"perm": (1, 0)}, [A], [t], "Transpose", "transA")
        A = t
    ashape = c.dyn(A)
    if len(ashape) != 2:
        raise c.err(f"Gemm needs a rank-2 input, got {ashape}", ShapeError)
    transb = int(a.get("transB", 0))
    out = node.output[0]
    if c.is_const(B):
        bshape = c.consts[B].shape
        if len(bshape) != 2:
            raise c.err(f"Gemm weight {bshape} is not rank 2", ShapeError)
        n_out, k = (bshape[0], bshape[1]) if transb else (bshape[1], bshape[0])
        if ashape[1] != k:
            raise c.err(f"Gemm input {ashape} does not match weight {bshape} (transB={transb})", ShapeError)
        # The bias goes into the fc layer when it is one value per output, as counted there.
        fold_bias = C is not None and c.is_const(C) and c.consts[C].size == n_out
        fc_out = out if C is None or fold_bias else c.tmp("fc")
        c.emit("fc", {"out_features": n_out, "axis": 1, "bias": fold_bias}, [A], [fc_out], node.op_type)
        if C is not None and not fold_bias:
            _bias_add(c, fc_out, C, out)
        return
    if transb:
        t = c.tmp("transB")
        c.emit("transpose", {"perm": (1, 0)}, [B], [t], "Transpose", "transB")
        B = t
    mm_out = out if C is None else c.tmp("matmul")
    c.emit("matmul", {}, [A, B], [mm_out], node.op_type)
    if C is not None:
        _bias_add(c, mm_out, C, out)


def _bias_add(c: _Ctx, x: str, bias: str, out: str):
    if c.is_const(bias):
        _eltwise_const(c, [x], [bias], "sum", out, "Add", "bias")
    else:
        _eltwise_const(c, [x, bias], [], "sum", out, "Add", "bias")


def h_matmul(c: _Ctx, node, a):
    A, B = node.input[0], node.input[1]
    if c.is_const(A):
        raise c.err("MatMul with a constant left operand is not supported", UnsupportedOpError)
    ashape = c.dyn(A)
    if not c.is_const(B):
        c.emit("matmul", {}, [A, B], [node.output[0]], node.op_type)
        return
    bshape = c.consts[B].shape
    if len(bshape) != 2:
        raise c.err(f"MatMul with a constant rank-{len(bshape)} right operand is not supported",
                    UnsupportedOpError)
    if ashape[-1] != bshape[0]:
        raise c.err(f"MatMul inner dims differ: {ashape} @ {bshape}", ShapeError)
    # x @ W with constant W is a fully connected layer over the last axis.
    c.emit("fc", {"out_features": bshape[1], "axis": len(ashape) - 1, "bias": False},
           [A], [node.output[0]], node.op_type)


def _affine_is_identity(c: _Ctx, scale: str | None, bias: str | None) -> bool:
    """True when scale is stored as all ones and bias as all zeros (no learned affine part)."""
    for t, want in ((scale, 1.0), (bias, 0.0)):
        if t is None:
            continue
        if not c.is_const(t):
            return False
        if c.consts[t].size > MAX_FOLD_ELEMS or not c.consts[t].all_equal(want):
            return False
    return True


def h_batchnorm(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    if len(x) < 2:
        raise c.err(f"BatchNormalization needs rank >= 2, got {x}", ShapeError)
    for t in node.input[1:5]:
        if not c.is_const(t):
            raise c.err(f"BatchNormalization parameter '{t}' must be a constant", UnsupportedOpError)
        if c.consts[t].size != x[1]:
            raise c.err(f"BatchNormalization parameter '{t}' has shape {c.consts[t].shape}, "
                        f"want {x[1]} channels", ShapeError)
    if any(o for o in node.output[1:]):
        raise c.err("training-mode BatchNormalization outputs are not supported", UnsupportedOpError)
    affine = not _affine_is_identity(c, node.input[1], node.input[2])
    c.emit("batchnorm", {"affine": affine, "eps": float(a.get("epsilon", 1e-5))},
           [node.input[0]], [node.output[0]], node.op_type)


def h_layernorm(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    axis = int(a.get("axis", -1))
    scale = node.input[1] if len(node.input) > 1 and node.input[1] else None
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    affine = not _affine_is_identity(c, scale, bias)
    if any(o for o in node.output[1:]):
        raise c.err("LayerNormalization mean/inv-std outputs are not supported", UnsupportedOpError)
    norm_rank = -axis if axis < 0 else len(x) - axis
    if not 0 < norm_rank <= len(x):
        raise c.err(f"LayerNormalization axis {axis} out of range for rank {len(x)}", ShapeError)
    c.emit("layernorm", {"axis": axis, "affine": affine, "eps": float(a.get("epsilon", 1e-5))},
           [node.input[0]], [node.output[0]], node.op_type)


_ACT = ONNX_ACTIVATIONS  # ONNX operator -> activation function (ops/activations.py)


def h_act(c: _Ctx, node, a):
    fn = _ACT[node.op_type]
    attrs: dict = {"fn": fn}
    x = c.dyn(node.input[0])
    for onnx_attr, ours, default in ACTIVATIONS[fn].onnx_attrs:
        attrs[ours] = float(a.get(onnx_attr, default))
    if node.op_type == "Gelu":
        attrs["approximate"] = a.get("approximate", "none")
    elif node.op_type == "Clip":
        lo = c.opt_value(node, 1, "Clip min")
        hi = c.opt_value(node, 2, "Clip max")
        lo = a.get("min") if lo is None else float(np.asarray(lo).reshape(-1)[0])
        hi = a.get("max") if hi is None else float(np.asarray(hi).reshape(-1)[0])
        attrs["min"], attrs["max"] = lo, hi
    elif node.op_type == "PRelu":
        slope = c.const(node.input[1], "PRelu slope")
        channels = x[1] if len(x) >= 2 else 1
        if slope.size not in (1, channels):
            raise c.err(f"PRelu slope of shape {slope.shape} is neither shared nor per-channel "
                        f"({channels})", UnsupportedOpError)
        attrs["channel_shared"] = slope.size == 1
    c.emit("act", attrs, [node.input[0]], [node.output[0]], node.op_type)


def ort_pool_extent(size: int, k: int, s: int, p0: int, p1: int, ceil: bool) -> int:
    """Pooled extent as onnxruntime computes it: with ceil_mode it drops a last window that
    would start past the input and its left padding, padding or not (Caffe only checks when
    padded; ONNX's shape inference never checks)."""
    span = size + p0 + p1 - k
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p0:
        out -= 1
    return out


def floor_pad_end(size: int, k: int, s: int, p0: int, p1: int, target: int) -> int | None:
    """An end padding below the kernel size for which floor rounding gives `target`
    windows (the original one when it already does, else the one whose last window ends
    exactly at the padded edge, which keeps average pooling's divisors); None if none."""
    for pe in (p1, (target - 1) * s + k - size - p0):
        if 0 <= pe < k and (size + p0 + pe - k) // s + 1 == target:
            return pe
    return None


def h_pool(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    mode = "max" if "Max" in node.op_type else "avg"
    if any(o for o in node.output[1:]):
        raise c.err("MaxPool's indices output is not supported", UnsupportedOpError)
    if node.op_type.startswith("Global"):
        if len(x) < 3:
            raise c.err(f"{node.op_type} needs rank >= 3, got {x}", ShapeError)
        c.emit("pool", {"mode": mode, "global": True}, [node.input[0]], [node.output[0]], node.op_type)
        return
    _need_4d(c, x, node.op_type)
    kernel = _pair(c, a, "kernel_shape", None) if "kernel_shape" in a else None
    if kernel is None:
        raise c.err(f"{node.op_type} has no kernel_shape")
    strides = _pair(c, a, "strides")
    if any(d != 1 for d in _pair(c, a, "dilations")):
        raise c.err("dilated pooling is not supported", UnsupportedOpError)
    pads = _spatial_pads(c, a, x[2:], kernel, strides, (1, 1))
    ceil = bool(a.get("ceil_mode", 0))
    attrs = {"mode": mode, "kernel": kernel, "stride": strides, "pad": pads, "ceil": ceil, "global": False}
    if mode == "avg":
        attrs["count_include_pad"] = bool(a.get("count_include_pad", 0))
    if ceil:
        begins, ends = pads[:2], pads[2:]
        want = [ort_pool_extent(x[2 + i], kernel[i], strides[i], begins[i], ends[i], True) for i in (0, 1)]
        try:
            ours = registry.get("pool").infer(attrs, (x,))[0][0][2:]
        except AugurError:
            ours = None
        if ours is None or list(ours) != want:
            # Our pool rule is Caffe's; onnxruntime's differs at this edge. Express its
            # result exactly as floor rounding with another end padding.
            new_ends = [floor_pad_end(x[2 + i], kernel[i], strides[i], begins[i], ends[i], want[i])
                        for i in (0, 1)]
            if None in new_ends:
                raise c.err(f"ceil_mode pooling to {tuple(want)} cannot be expressed", UnsupportedOpError)
            attrs["pad"] = (begins[0], begins[1], new_ends[0], new_ends[1])
            attrs["ceil"] = False
        if want != [-(-(x[2 + i] + begins[i] + ends[i] - kernel[i]) // strides[i]) + 1 for i in (0, 1)]:
            # ONNX's shape inference skips that rule, so its shapes from here on are not ours.
            c.onnx_shapes = {}
    c.emit("pool", attrs, [node.input[0]], [node.output[0]], node.op_type)


def h_lrn(c: _Ctx, node, a):
    c.emit("lrn", {"size": int(a["size"]), "alpha": float(a.get("alpha", 1e-4)),
                   "beta": float(a.get("beta", 0.75)), "k": float(a.get("bias", 1.0)), "region": "across"},
           [node.input[0]], [node.output[0]], node.op_type)


def h_softmax(c: _Ctx, node, a):
    # Before opset 13 Softmax worked on a 2-D coercion starting at axis 1 (same cost).
    default = 1 if c.opset < 13 else -1
    c.emit("softmax", {"axis": int(a.get("axis", default))}, [node.input[0]], [node.output[0]], node.op_type)


def h_concat(c: _Ctx, node, a):
    ins = [t for t in node.input if t]
    if any(c.is_const(t) for t in ins):
        # A stored tensor joined to activations (a transformer's class token): it becomes a
        # `const` layer, broadcast over the batch when its own leading dim is 1.
        dyn = [t for t in ins if not c.is_const(t)]
        if not dyn:
            raise c.err("Concat of constants only is shape arithmetic; it should have folded", UnsupportedOpError)
        batch = c.dyn(dyn[0])[0]
        for i, t in enumerate(ins):
            if c.is_const(t):
                shape = tuple(int(d) for d in c.consts[t].shape)
                if not shape or shape[0] not in (1, batch) or int(a["axis"]) % len(shape) == 0:
                    raise c.err("Concat of computed tensors with a constant along the batch axis is not "
                                "supported", UnsupportedOpError)
                if shape[0] != 1 and not c.consts[t].repeats_over_batch:
                    raise c.err(f"constant '{t}' repeats per image ({shape}); only a leading 1 broadcasts",
                                UnsupportedOpError)
                out = f"{t}:const"
                if out not in c.shapes:
                    c.emit("const", {"shape": shape[1:], "batch": batch}, [], [out], "Constant",
                           suffix=f"const{i}")
                ins[i] = out
    c.emit("concat", {"axis": int(a["axis"])}, ins, [node.output[0]], node.op_type)


def _keep_batch(dst, keeps_batch: bool) -> tuple[int, ...]:
    """A reshape target whose first entry is 0 (copy) when the op keeps the batch dim in
    place, so the layer stays valid when the graph is re-batched."""
    dst = tuple(int(d) for d in dst)
    return ((0,) + dst[1:]) if keeps_batch and dst else dst


def h_flatten(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    axis = int(a.get("axis", 1))
    axis = axis + len(x) if axis < 0 else axis
    if not 0 <= axis <= len(x):
        raise c.err(f"Flatten axis {a.get('axis')} out of range for rank {len(x)}", ShapeError)
    if axis == 1 and len(x) >= 2:
        # ONNX Flatten(axis=1) equals Caffe flatten from axis 1 to the end.
        c.emit("flatten", {"axis": 1, "end_axis": -1}, [node.input[0]], [node.output[0]], node.op_type)
        return
    # Every form below stays right when the graph is re-batched (no batch-sized constant).
    src, out = node.input[0], node.output[0]
    if axis == 0:
        c.emit("reshape", {"shape": (1, -1)}, [src], [out], node.op_type)
    elif axis == len(x):
        c.emit("reshape", {"shape": (-1, 1)}, [src], [out], node.op_type)
    elif axis == len(x) - 1:
        c.emit("flatten", {"axis": 0, "end_axis": axis - 1}, [src], [out], node.op_type)
    else:  # fold the leading dims, then the trailing ones
        mid = c.tmp("outer")
        c.emit("flatten", {"axis": 0, "end_axis": axis - 1}, [src], [mid], node.op_type, "outer")
        c.emit("flatten", {"axis": 1, "end_axis": -1}, [mid], [out], node.op_type)


def h_reshape(c: _Ctx, node, a):
    spec = _ints(c.value(node.input[1], "Reshape shape"))
    if int(a.get("allowzero", 0)) and 0 in spec:
        raise c.err("Reshape with allowzero=1 and a 0 dimension makes an empty tensor", ShapeError)
    c.emit("reshape", {"shape": spec}, [node.input[0]], [node.output[0]], node.op_type)


def h_squeeze(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = _ints(c.value(node.input[1], f"{node.op_type} axes"))
    try:
        if node.op_type == "Unsqueeze":
            rank = len(x) + len(axes or ())
            ax = sorted(_norm_axes(axes or (), rank))
            out, it = [], iter(x)
            for i in range(rank):
                out.append(1 if i in ax else next(it))
        else:
            ax = _norm_axes(axes, len(x)) if axes else [i for i, d in enumerate(x) if d == 1]
            if any(x[i] != 1 for i in ax):
                raise ShapeError(f"Squeeze axes {tuple(ax)} are not all size 1 in {x}")
            out = [d for i, d in enumerate(x) if i not in ax]
    except ShapeError as e:
        raise e.located(file=c.file, where=f"node '{c.node}'")
    c.emit("reshape", {"shape": _keep_batch(out or [1], 0 not in ax and bool(out))}, [node.input[0]],
           [node.output[0]], node.op_type)


def h_transpose(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    perm = _ints(a["perm"]) if "perm" in a else tuple(reversed(range(len(x))))
    c.emit("transpose", {"perm": perm}, [node.input[0]], [node.output[0]], node.op_type)


def h_split(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    axis = int(a.get("axis", 0))
    ax = _norm_axes([axis], len(x))[0]
    outs = list(node.output)
    sizes = None
    if len(node.input) > 1 and node.input[1]:
        sizes = _ints(c.value(node.input[1], "Split sizes"))
    elif "split" in a:
        sizes = _ints(a["split"])
    elif "num_outputs" in a:
        # Opset 18: equal chunks of ceil(d / n), the last one smaller.
        n = int(a["num_outputs"])
        chunk = -(-x[ax] // n)
        sizes = tuple(min(chunk, x[ax] - i * chunk) for i in range(n))
    attrs = {"axis": axis, "num_outputs": len(outs)}
    if sizes is not None:
        attrs["sizes"] = tuple(sizes)
    c.emit("split", attrs, [node.input[0]], outs, node.op_type)


def h_slice(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    vals = [None] + [c.value(t, "Slice parameter") if t else None for t in node.input[1:]]
    starts, ends, axes, steps = _slice_params(node, a, vals)
    # Clamp int64 sentinels (INT64_MAX "to the end") to the dim so attrs stay small ints.
    axes_n = _norm_axes(axes, len(x))
    lim = [x[ax] for ax in axes_n]
    starts = tuple(max(min(s, d), -d - 1) for s, d in zip(starts, lim))
    ends = tuple(max(min(e, d), -d - 1) for e, d in zip(ends, lim))
    c.emit("slice", {"starts": starts, "ends": ends, "axes": tuple(axes_n), "steps": tuple(steps)},
           [node.input[0]], [node.output[0]], node.op_type)


def h_pad(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    pads = _ints(c.value(node.input[1], "Pad pads")) if len(node.input) > 1 and node.input[1] \
        else _ints(a.get("pads", ()))
    if len(node.input) > 3 and node.input[3]:  # opset 18 axes: pads for the listed axes only
        axes = _norm_axes(_ints(c.value(node.input[3], "Pad axes")), len(x))
        full = [0] * (2 * len(x))
        for i, ax in enumerate(axes):
            full[ax], full[ax + len(x)] = pads[i], pads[i + len(axes)]
        pads = tuple(full)
    c.emit("pad", {"pads": pads, "mode": a.get("mode", "constant")}, [node.input[0]], [node.output[0]],
           node.op_type)


def h_reduce(c: _Ctx, node, a):
    fn = node.op_type[len("Reduce"):].lower()
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = _ints(c.value(node.input[1], f"{node.op_type} axes"))
    if not axes:
        if int(a.get("noop_with_empty_axes", 0)):
            c.emit("identity", {}, [node.input[0]], [node.output[0]], node.op_type)
            return
        axes = None
    c.emit("reduce", {"fn": fn, "axes": None if axes is None else tuple(int(v) for v in axes),
                      "keepdims": bool(a.get("keepdims", 1))}, [node.input[0]], [node.output[0]],
           node.op_type)


def h_resize(c: _Ctx, node, a):
    x = c.dyn(node.input[0])
    if node.op_type == "Upsample" or c.opset < 11:
        scales = a.get("scales")
        if scales is None:
            scales = c.value(node.input[1], "scales")
        sizes = None
    else:
        scales = c.opt_value(node, 2, "Resize scales")
        sizes = c.opt_value(node, 3, "Resize sizes")
        if scales is not None and np.asarray(scales).size == 0:
            scales = None
    axes = a.get("axes")
    attrs: dict = {"mode": {"bilinear": "linear"}.get(a.get("mode", "nearest"), a.get("mode", "nearest"))}
    if sizes is not None and np.asarray(sizes).size:
        sz = list(_ints(sizes))
        if axes is not None:
            full = list(x)
            for ax, s in zip(_norm_axes(axes, len(x)), sz):
                full[ax] = s
            sz = full
        if a.get("keep_aspect_ratio_policy", "stretch") != "stretch":
            raise c.err("Resize keep_aspect_ratio_policy other than stretch is not supported",
                        UnsupportedOpError)
        attrs["sizes"] = tuple(sz)
    elif scales is not None:
        sc = [float(v) for v in np.asarray(scales).reshape(-1)]
        if axes is not None:
            full = [1.0] * len(x)
            for ax, s in zip(_norm_axes(axes, len(x)), sc):
                full[ax] = s
            sc = full
        attrs["scales"] = tuple(sc)
    else:
        raise c.err(f"{node.op_type} has neither scales nor sizes", ShapeError)
    c.emit("resize", attrs, [node.input[0]], [node.output[0]], node.op_type)


def h_identity(c: _Ctx, node, a):
    if node.op_type == "Dropout" and any(o for o in node.output[1:]):
        raise c.err("Dropout's mask output is not supported", UnsupportedOpError)
    c.emit("identity", {}, [node.input[0]], [node.output[0]], node.op_type)


def h_constant(c: _Ctx, node, a):
    if "value" in a:
        c.consts[node.output[0]] = _Const(tuple(a["value"].dims), proto=a["value"], lazy=c.lazy)
        return
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                       ("value_ints", np.int64)):
        if key in a:
            c.consts[node.output[0]] = _Const.of(np.asarray(a[key], dtype=dtype))
            return
    if "value_string" in a or "value_strings" in a:
        c.consts[node.output[0]] = _Const.of(np.asarray(a.get("value_string", a.get("value_strings"))))
        return
    raise c.err("Constant without a dense value (sparse constants are not supported)", UnsupportedOpError)


def h_shape(c: _Ctx, node, a):
    shape = c.shape_of(node.input[0])
    start, end = int(a.get("start", 0)), a.get("end")
    sl = shape[start:] if end is None else shape[start:int(end)]
    c.consts[node.output[0]] = _Const.of(np.asarray(sl, dtype=np.int64))


# The reader of each kind that ops/facts.py gives ONNX operators: the facts say which
# operators become which kind, so an operator is supported exactly when a kind names it there.
KIND_READERS = {
    "conv": h_conv, "deconv": h_conv, "batchnorm": h_batchnorm, "layernorm": h_layernorm, "lrn": h_lrn,
    "act": h_act, "eltwise": h_eltwise, "pool": h_pool, "softmax": h_softmax, "concat": h_concat,
    "flatten": h_flatten, "reshape": h_reshape, "transpose": h_transpose, "split": h_split,
    "slice": h_slice, "pad": h_pad, "reduce": h_reduce, "resize": h_resize, "identity": h_identity,
}
# Operators whose form differs from their kind's other operators: Gemm and MatMul each become
# fc (constant weight) or matmul; Squeeze and Unsqueeze name their axes where Reshape gives a shape.
OPERATOR_READERS = {"Gemm": h_gemm, "MatMul": h_matmul, "Squeeze": h_squeeze, "Unsqueeze": h_squeeze}
# Operators that make no layer: they fold into constants (shape arithmetic).
FOLDING_READERS = {"Constant": h_constant, "Shape": h_shape}


def _operator_readers() -> dict:
    """ONNX operator -> its reader, for every operator ops/facts.py names (a kind given an
    operator without a reader here fails at import, not on the first file that uses it)."""
    out = dict(FOLDING_READERS)
    for op, kinds in ONNX_KINDS.items():
        out[op] = OPERATOR_READERS.get(op) or KIND_READERS[kinds[0]]
    return out


HANDLERS = _operator_readers()


def supported_ops() -> list[str]:
    return sorted(set(HANDLERS) | set(FOLDABLE))


# ---------------------------------------------------------------------------------------
# Loading.

def _read_model(path: Path):
    """(model, lazy): the ModelProto, and the reader of the tensors stripped from it.

    A structure-only read (onnx_wire): the file is mapped, large tensor payloads are
    skipped unread, and `lazy` reads them back on demand until the caller closes it.
    Where the file cannot be mapped or the scan gives up, the whole file is decoded by
    protobuf and `lazy` is None."""
    import onnx
    file = str(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise AugurError(f"cannot read: {e.strerror}", file=file)
    if size == 0:
        raise AugurError("empty file; expected an ONNX model", file=file)
    if size > MAX_ONNX_BYTES:
        raise AugurError(f"file is {size} bytes, larger than any ONNX protobuf can be (2 GiB)", file=file)
    model = lazy = None
    try:
        with open(path, "rb") as f:
            buf = onnx_wire.map_file(f)
    except (OSError, ValueError):
        buf = None
    if buf is not None:
        try:
            st = onnx_wire.strip(buf)
            model = onnx.load_model_from_string(st.data)
            lazy = onnx_wire.LazyTensors(buf, st.spans, file, st)
        except Exception:  # Malformed, or a decode error: the full decode below says why
            model = None
            buf.close()
    if model is None:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise AugurError(f"cannot read: {e.strerror}", file=file)
        try:
            model = onnx.load_model_from_string(data)
        except Exception as e:  # DecodeError, RuntimeWarning-as-error, ...: all mean "not ONNX"
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise AugurError(f"not a valid ONNX model ({first})", file=file)
    if not model.HasField("graph") or model.ir_version <= 0 or \
            (not model.graph.node and not model.graph.input):
        if lazy is not None:
            lazy.close()
        raise AugurError("not an ONNX model (no graph, IR version or nodes; truncated or wrong file?)",
                         file=file)
    return model, lazy


def _dims(vi) -> list:
    """Dims of a ValueInfo: ints where static, the symbol (str) or None where not."""
    t = vi.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    out = []
    for d in t.tensor_type.shape.dim:
        if d.HasField("dim_value") and d.dim_value > 0:
            out.append(int(d.dim_value))
        else:
            out.append(d.dim_param or None)
    return out


def _resolve_inputs(model, file: str, batch, input_shape, init_names) -> list[tuple[str, tuple, str]]:
    if batch is not None:
        try:
            check_batch(batch)
        except AugurError as e:
            raise e.located(file=file)
    real = [vi for vi in model.graph.input if vi.name not in init_names]
    if not real:
        raise AugurError("the model declares no (non-initializer) input", file=file)
    out = []
    for i, vi in enumerate(real):
        dims = _dims(vi)
        where = f"input '{vi.name}'"
        if input_shape is not None and i == 0:
            shape = [int(d) for d in input_shape]
            if dims is not None and len(shape) != len(dims):
                raise AugurError(f"input shape {tuple(shape)} has rank {len(shape)}, the model's input "
                                 f"has rank {len(dims)}", file=file, where=where)
            dims = shape
        if dims is None:
            raise AugurError("input has no declared tensor shape; pass an input shape", file=file, where=where)
        shape = []
        for k, d in enumerate(dims):
            if k == 0 and batch is not None:
                d = batch
            elif k == 0 and not isinstance(d, int):
                d = DEFAULT_BATCH  # a symbolic leading dim is the batch
            elif not isinstance(d, int):
                raise AugurError(f"dimension {k} is symbolic ({d or 'unnamed'}); only the batch dimension "
                                 "may be, pass a full input shape", file=file, where=where)
            shape.append(d)
        elem = vi.type.tensor_type.elem_type
        out.append((vi.name, tuple(shape), _DTYPES.get(elem, "fp32")))
    return out


def _static_shapes(vis) -> dict[str, tuple]:
    out = {}
    for vi in vis:
        # A value that is not a tensor has a default (empty) tensor_type: no shape either.
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            # Static when every dim has a positive value (one pass, no per-dim HasField).
            dims = tuple([d.dim_value for d in tt.shape.dim])
            if not dims or min(dims) > 0:
                out[vi.name] = dims
    return out


def _bn_only(nodes, graph, declared) -> frozenset:
    """Names of initializers that ONNX's shape inference does not need: those read only as
    a BatchNormalization's scale, bias, mean or variance (a BN's output shape is its input's,
    whatever they hold; augur checks their sizes itself, h_batchnorm). A ResNet-50 has 212
    of them, a third of what inference spends its time on. None are left out where a
    node carries a subgraph (If, Loop, Scan, or a custom op), which may read any name."""
    bn: set = set()
    other: set = set(declared)
    for n in nodes:
        if n.op_type == "BatchNormalization" and n.domain in ("", "ai.onnx"):
            bn.update(n.input[1:5])
            other.update(n.input[:1])
            other.update(n.input[5:])
        elif n.op_type in ("If", "Loop", "Scan") or n.domain not in ("", "ai.onnx"):
            return frozenset()
        else:
            other.update(n.input)
    other.update(vi.name for vi in graph.output)
    return frozenset(bn - other)


def _onnx_shapes(model, inputs, stripped: bool = False, wire=None, unread=frozenset()) -> dict[str, tuple]:
    """Static shapes ONNX's own inference finds from the inputs alone (best effort: {} when
    it fails). Stored value_info is cleared first: it is often stale in edited models and
    describes the declared batch, and ONNX would keep it rather than recompute.
    `stripped`: the model comes from the structure-only read, its large tensors are stubs
    already (and its small ones are kept whole). `wire`: that read's StrippedModel, whose
    parts give the inference model as bytes (the same model the copy below builds, without
    building it in Python). `unread`: initializers left out of the inference model
    (_bn_only: ones it does not need)."""
    import onnx
    from onnx import shape_inference
    by_name = {n: s for n, s, _ in inputs}
    if wire is not None and wire.infer_graph is not None:
        return _onnx_shapes_wire(model, wire, by_name, unread)
    # A weight-free copy: inference reads only the small shape-carrying constants, and
    # copying a 100 MB model's weights just to clear them again costs more than the rest.
    m = onnx.ModelProto()
    m.ir_version = model.ir_version
    m.opset_import.extend(model.opset_import)
    g, src = m.graph, model.graph
    g.node.extend(src.node)
    g.input.extend(src.input)
    g.output.extend(src.output)
    if stripped:
        g.initializer.extend(t for t in src.initializer if t.name not in unread)
    for t in () if stripped else src.initializer:
        if t.name in unread:
            continue
        n = 1
        for d in t.dims:
            n *= d
        # Decide by element count: reading t.raw_data would copy the weight bytes.
        if t.data_location != onnx.TensorProto.EXTERNAL and n > 1024:
            stub = g.initializer.add()
            stub.name, stub.data_type = t.name, t.data_type
            stub.dims.extend(t.dims)
            stub.data_location = onnx.TensorProto.EXTERNAL
            e = stub.external_data.add()
            e.key, e.value = "location", "augur-stripped"
        else:
            g.initializer.append(t)
    for vi in m.graph.input:
        _set_input_shape(vi, by_name)
    del m.graph.value_info[:]
    for vi in m.graph.output:
        vi.type.tensor_type.ClearField("shape")
    try:
        m = shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)
    except Exception:
        return {}
    return _static_shapes(list(m.graph.value_info) + list(m.graph.output))


def _set_input_shape(vi, by_name) -> bool:
    """Give a graph input the resolved shape (batch, --input-shape); True if it is one."""
    if vi.name not in by_name or not vi.type.tensor_type.HasField("shape"):
        return False
    for d, v in zip(vi.type.tensor_type.shape.dim, by_name[vi.name]):
        d.Clear()
        d.dim_value = v
    return True


def _onnx_shapes_wire(model, wire, by_name, unread=frozenset()) -> dict[str, tuple]:
    """_onnx_shapes from the structure-only read's parts: ir_version, opset_import, nodes,
    initializers (stubs where stripped), inputs with the resolved shapes, outputs without
    their shapes; no value_info. Input i of the parts is graph.input[i] of `model` (both
    come from the same bytes), so only the real inputs are copied and edited."""
    import onnx
    from onnx import shape_inference
    declared = iter(model.graph.input)

    def edit_input(payload: bytes) -> bytes:
        vi = onnx.ValueInfoProto()
        vi.CopyFrom(next(declared))
        return vi.SerializeToString() if _set_input_shape(vi, by_name) else payload

    def edit_output(payload: bytes) -> bytes:
        vi = onnx.ValueInfoProto.FromString(payload)
        vi.type.tensor_type.ClearField("shape")
        return vi.SerializeToString()
    try:
        inits = model.graph.initializer  # the same fields, in the same order, as the parts'
        drop = [i for i, t in enumerate(inits) if t.name in unread] \
            if unread and len(inits) == len(wire.infer_inits) else ()
        data = onnx_wire.inference_model(wire, edit_input, edit_output, drop)
        m = shape_inference.infer_shapes(data, strict_mode=False, data_prop=True)
    except Exception:
        return {}
    return {**_static_shapes(m.graph.value_info), **_static_shapes(m.graph.output)}


def load_onnx(path, batch: int | None = None, input_shape: tuple | None = None,
              lenient: bool = False) -> LayerGraph:
    """Load an ONNX model's structure as a shape-inferred LayerGraph (weights not read)."""
    path = Path(path)
    model, lazy = _read_model(path)
    # Translation allocates many small objects and frees none of them before it ends; the
    # cyclic collector's passes over them are about a tenth of the load time, for nothing.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _load_model(model, lazy, path, batch, input_shape, lenient)
    finally:
        if gc_was_on:
            gc.enable()
        if lazy is not None:
            lazy.close()


def _load_model(model, lazy, path: Path, batch, input_shape, lenient: bool) -> LayerGraph:
    file = str(path)
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    init_names = {t.name for t in graph.initializer}
    inputs = _resolve_inputs(model, file, batch, input_shape, init_names)
    declared = {vi.name: _dims(vi) for vi in graph.input}
    changed = any(declared.get(n) != list(s) for n, s, _ in inputs)
    nodes = [_Node(p) for p in graph.node]
    onnx_shapes = _onnx_shapes(model, inputs, stripped=lazy is not None,
                               wire=getattr(lazy, "stripped", None), unread=_bn_only(nodes, graph, declared))
    # Shapes stored in the file describe the declared input shapes; valid only if unchanged.
    # Only --lenient reads them (for ops it keeps as opaque).
    stored = {} if changed or not lenient else _static_shapes(list(graph.value_info) + list(graph.output))

    b = GraphBuilder(path.stem or graph.name or "onnx", file)
    c = _Ctx(file, b, opset, onnx_shapes, lenient)
    c.stored_shapes = stored
    c.lazy = lazy
    consts = c.consts
    for t in graph.initializer:
        consts[t.name] = _Const(t.dims, t, None, lazy)  # positional: 300 of them in a ResNet-50
    for name, shape, dtype in inputs:
        c.names.add(name)
        b.add_input(name, shape, dtype, source=SourceLoc(file, None))
        c.shapes[name] = shape

    for i, node in enumerate(nodes):
        c.node = as_text(node.name) or f"{as_text(node.op_type)}_{i}"
        _translate(c, node, i)

    if not c.emitted:
        raise AugurError("the model has no computing node (everything folded to constants)", file=file)
    return b.build()


class _Node:
    """A NodeProto's fields read once. Protobuf builds a new string (and a new container)
    on every access to a field, and a handler reads node.input, node.output and
    node.op_type several times each: reading them once is a tenth of translating a node."""

    __slots__ = ("op_type", "domain", "name", "input", "output", "attribute")

    def __init__(self, p) -> None:
        self.op_type = p.op_type
        self.domain = p.domain
        self.name = p.name
        self.input = list(p.input)
        self.output = list(p.output)
        self.attribute = p.attribute


def _translate(c: _Ctx, node, index: int) -> None:
    op = node.op_type
    a = _attrs(node)
    if node.domain not in ("", "ai.onnx"):
        return _unsupported(c, node, f"custom-domain op '{node.domain}::{op}'")
    try:
        ins = [t for t in node.input if t] if op in FOLDABLE else None
        if ins and all(c.is_const(t) for t in ins) and op not in ("Constant", "Shape"):
            for t in ins:  # sizes checked before any value is read
                if c.consts[t].size > MAX_FOLD_ELEMS:
                    raise c.err(f"{op} on a constant of {c.consts[t].size} elements: folding is limited "
                                f"to {MAX_FOLD_ELEMS}", UnsupportedOpError)
            vals = [c.value(t, f"{op} input") if t else None for t in node.input]
            outs = _fold(op, vals, a, c.opset, node)
            for name, v in zip(node.output, outs):
                if name:
                    c.consts[name] = _Const.of(v)
            return
        handler = HANDLERS.get(op)
        if handler is None:
            return _unsupported(c, node, f"ONNX op '{op}'")
        handler(c, node, a)
    except AugurError as e:
        raise e.located(file=c.file, where=f"node '{c.node}'")
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError, AttributeError, StopIteration) as e:
        # AttributeError: an optional input left empty where a value is needed (folding None);
        # StopIteration: Unsqueeze axes that repeat, so the output runs out of input dims.
        # Malformed attributes or inputs (a missing required attribute, wrong arity).
        raise c.err(f"malformed {op} node ({type(e).__name__}: {e})")
    _cross_check(c, node)


def _cross_check(c: _Ctx, node) -> None:
    for t in node.output:
        theirs = c.onnx_shapes.get(t)
        ours = c.shapes.get(t)
        if theirs is not None and ours is not None and tuple(theirs) != tuple(ours):
            raise c.err(f"augur infers shape {ours} for '{t}' but ONNX shape inference gives "
                        f"{tuple(theirs)}", ShapeError)


def _unsupported(c: _Ctx, node, what: str) -> None:
    if not c.lenient:
        if node.op_type in FOLDABLE and node.op_type not in HANDLERS:
            # Not "Gather is not supported; supported: ... Gather": say what is and is not.
            raise c.err(f"{what} on a computed (non-constant) input is not supported: augur evaluates "
                        f"{node.op_type} only when all its inputs are constants (e.g. an embedding lookup "
                        f"of model inputs is not modelled); --lenient counts it as zero cost",
                        UnsupportedOpError)
        ops = ", ".join(sorted(HANDLERS))
        const_only = ", ".join(sorted(set(FOLDABLE) - set(HANDLERS)))
        raise c.err(f"{what} is not supported; supported ONNX ops: {ops}; on constant inputs only: "
                    f"{const_only} (--lenient counts unknown ops as zero cost)", UnsupportedOpError)
    outs = [t for t in node.output if t]
    shapes = [c.onnx_shapes.get(t) or c.stored_shapes.get(t) for t in outs]
    if not outs or any(s is None for s in shapes):
        raise c.err(f"{what} is not supported, and --lenient cannot keep it: ONNX shape inference "
                    "does not know its output shapes", UnsupportedOpError)
    dyn_ins = [t for t in node.input if t and t in c.shapes]
    c.emit("opaque", {"out_shapes": tuple(tuple(s) for s in shapes), "onnx_op": node.op_type},
           dyn_ins, outs, node.op_type)
    c.b.drop(c.node, node.op_type, "unsupported: counted as zero cost (--lenient)")
