"""Caffe frontend: a NetParameter in text format (.prototxt) -> LayerGraph.

Caffe's semantics that matter here:
- Layers run in file order. A bottom must name a blob that an EARLIER layer (or a
  top-level ``input``) produced; a later layer's top never feeds an earlier layer, so a
  Caffe file cannot express a cycle. A bottom produced only further down is reported as
  "produced by no earlier layer".
- In-place layers (top == bottom, e.g. ReLU after a convolution) overwrite their input.
  The layer graph is SSA, so their output gets a fresh tensor name ``blob@layer`` and
  later layers that name the blob see that newest version.
- Inference runs in the TEST phase: layers whose include/exclude rules do not admit TEST
  are dropped, as are loss, accuracy and silence layers (recorded in graph.dropped).
- Data layers carry no image shape: (batch_size, 3, crop, crop) is assumed from
  transform_param.crop_size, with 3 colour channels (Caffe decodes colour images by
  default); the layer's attrs say so.

Everything in the file is untrusted: unknown fields, wrong value types, non-positive
or absurd sizes are errors naming the file, the line and the layer.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import AugurError, SchemaError, UnsupportedOpError
from ..fileio import read_text
from ..graph import MAX_DIM, GraphBuilder, Layer, LayerGraph, SourceLoc, check_shape
from .prototxt import Ident, Message, parse

# ---------------------------------------------------------------------------------------
# Schema: for each message type, field -> spec. Spec letters: u unsigned int, i signed
# int, f float, b bool, s string, e:<enum> enum name, m:<message> sub-message; a trailing
# * marks a repeated field. Field names and types follow caffe.proto (BVLC master), plus
# ``ceil_mode`` of the pooling fork used by several public model zoos (BVLC PR #3057).

_ENUMS = {
    "phase": ("TRAIN", "TEST"),
    "engine": ("DEFAULT", "CAFFE", "CUDNN"),
    "pool": ("MAX", "AVE", "STOCHASTIC"),
    "round_mode": ("CEIL", "FLOOR"),
    "norm_region": ("ACROSS_CHANNELS", "WITHIN_CHANNEL"),
    "eltwise_op": ("PROD", "SUM", "MAX"),
    "backend": ("LEVELDB", "LMDB"),
    "variance_norm": ("FAN_IN", "FAN_OUT", "AVERAGE"),
    "normalization": ("FULL", "VALID", "BATCH_SIZE", "NONE"),
    "share_mode": ("STRICT", "PERMISSIVE"),
}
# V1LayerParameter.LayerType, in enum order (numeric values are accepted too).
_V1_TYPES = ("NONE", "ACCURACY", "BNLL", "CONCAT", "CONVOLUTION", "DATA", "DROPOUT", "EUCLIDEAN_LOSS",
             "FLATTEN", "HDF5_DATA", "HDF5_OUTPUT", "IM2COL", "IMAGE_DATA", "INFOGAIN_LOSS",
             "INNER_PRODUCT", "LRN", "MULTINOMIAL_LOGISTIC_LOSS", "POOLING", "RELU", "SIGMOID",
             "SOFTMAX", "SOFTMAX_LOSS", "SPLIT", "TANH", "WINDOW_DATA", "ELTWISE", "POWER",
             "SIGMOID_CROSS_ENTROPY_LOSS", "HINGE_LOSS", "MEMORY_DATA", "ARGMAX", "THRESHOLD",
             "DUMMY_DATA", "SLICE", "MVN", "ABSVAL", "SILENCE", "CONTRASTIVE_LOSS", "EXP",
             "DECONVOLUTION")
_ENUMS["v1_type"] = _V1_TYPES
# Enum values as Caffe numbers them, for files that spell an enum as its number.
_ENUM_NUMBERS = {
    "v1_type": {0: "NONE", 1: "ACCURACY", 2: "BNLL", 3: "CONCAT", 4: "CONVOLUTION", 5: "DATA",
                6: "DROPOUT", 7: "EUCLIDEAN_LOSS", 8: "FLATTEN", 9: "HDF5_DATA", 10: "HDF5_OUTPUT",
                11: "IM2COL", 12: "IMAGE_DATA", 13: "INFOGAIN_LOSS", 14: "INNER_PRODUCT", 15: "LRN",
                16: "MULTINOMIAL_LOGISTIC_LOSS", 17: "POOLING", 18: "RELU", 19: "SIGMOID",
                20: "SOFTMAX", 21: "SOFTMAX_LOSS", 22: "SPLIT", 23: "TANH", 24: "WINDOW_DATA",
                25: "ELTWISE", 26: "POWER", 27: "SIGMOID_CROSS_ENTROPY_LOSS", 28: "HINGE_LOSS",
                29: "MEMORY_DATA", 30: "ARGMAX", 31: "THRESHOLD", 32: "DUMMY_DATA", 33: "SLICE",
                34: "MVN", 35: "ABSVAL", 36: "SILENCE", 37: "CONTRASTIVE_LOSS", 38: "EXP",
                39: "DECONVOLUTION"},
}
for _k, _vals in _ENUMS.items():
    _ENUM_NUMBERS.setdefault(_k, dict(enumerate(_vals)))

_FILLER = {"type": "s", "value": "f", "min": "f", "max": "f", "mean": "f", "std": "f", "sparse": "i",
           "variance_norm": "e:variance_norm"}
_RULE = {"phase": "e:phase", "min_level": "i", "max_level": "i", "stage": "s*", "not_stage": "s*"}
_BLOB_SHAPE = {"dim": "i*"}

_PARAMS = {
    "transform_param": {"scale": "f", "mirror": "b", "crop_size": "u", "mean_file": "s",
                        "mean_value": "f*", "force_color": "b", "force_gray": "b"},
    "loss_param": {"ignore_label": "i", "normalization": "e:normalization", "normalize": "b"},
    "accuracy_param": {"top_k": "u", "axis": "i", "ignore_label": "i"},
    "batch_norm_param": {"use_global_stats": "b", "moving_average_fraction": "f", "eps": "f"},
    "bias_param": {"axis": "i", "num_axes": "i", "filler": "m:filler"},
    "concat_param": {"axis": "i", "concat_dim": "u"},
    "convolution_param": {"num_output": "u", "bias_term": "b", "pad": "u*", "kernel_size": "u*",
                          "stride": "u*", "dilation": "u*", "pad_h": "u", "pad_w": "u", "kernel_h": "u",
                          "kernel_w": "u", "stride_h": "u", "stride_w": "u", "group": "u",
                          "weight_filler": "m:filler", "bias_filler": "m:filler", "engine": "e:engine",
                          "axis": "i", "force_nd_im2col": "b"},
    "data_param": {"source": "s", "batch_size": "u", "rand_skip": "u", "backend": "e:backend",
                   "scale": "f", "mean_file": "s", "crop_size": "u", "mirror": "b",
                   "force_encoded_color": "b", "prefetch": "u"},
    "dropout_param": {"dropout_ratio": "f", "scale_train": "b"},
    "dummy_data_param": {"data_filler": "m:filler*", "shape": "m:blob_shape*", "num": "u*",
                         "channels": "u*", "height": "u*", "width": "u*"},
    "eltwise_param": {"operation": "e:eltwise_op", "coeff": "f*", "stable_prod_grad": "b"},
    "elu_param": {"alpha": "f"},
    "exp_param": {"base": "f", "scale": "f", "shift": "f"},
    "flatten_param": {"axis": "i", "end_axis": "i"},
    "image_data_param": {"source": "s", "batch_size": "u", "rand_skip": "u", "shuffle": "b",
                         "new_height": "u", "new_width": "u", "is_color": "b", "scale": "f",
                         "mean_file": "s", "crop_size": "u", "mirror": "b", "root_folder": "s"},
    "inner_product_param": {"num_output": "u", "bias_term": "b", "weight_filler": "m:filler",
                            "bias_filler": "m:filler", "axis": "i", "transpose": "b"},
    "input_param": {"shape": "m:blob_shape*"},
    "lrn_param": {"local_size": "u", "alpha": "f", "beta": "f", "norm_region": "e:norm_region",
                  "k": "f", "engine": "e:engine"},
    "memory_data_param": {"batch_size": "u", "channels": "u", "height": "u", "width": "u"},
    "pooling_param": {"pool": "e:pool", "pad": "u", "pad_h": "u", "pad_w": "u", "kernel_size": "u",
                      "kernel_h": "u", "kernel_w": "u", "stride": "u", "stride_h": "u", "stride_w": "u",
                      "engine": "e:engine", "global_pooling": "b", "round_mode": "e:round_mode",
                      "ceil_mode": "b"},
    "power_param": {"power": "f", "scale": "f", "shift": "f"},
    "prelu_param": {"filler": "m:filler", "channel_shared": "b"},
    "relu_param": {"negative_slope": "f", "engine": "e:engine"},
    "reshape_param": {"shape": "m:blob_shape", "axis": "i", "num_axes": "i"},
    "scale_param": {"axis": "i", "num_axes": "i", "filler": "m:filler", "bias_term": "b",
                    "bias_filler": "m:filler"},
    "sigmoid_param": {"engine": "e:engine"},
    "slice_param": {"axis": "i", "slice_point": "u*", "slice_dim": "u"},
    "softmax_param": {"engine": "e:engine", "axis": "i"},
    "tanh_param": {"engine": "e:engine"},
}
_MESSAGES = {
    "filler": _FILLER, "rule": _RULE, "blob_shape": _BLOB_SHAPE,
    "param_spec": {"name": "s", "share_mode": "e:share_mode", "lr_mult": "f", "decay_mult": "f"},
    "blob": {"shape": "m:blob_shape", "data": "f*", "diff": "f*", "double_data": "f*",
             "double_diff": "f*", "num": "i", "channels": "i", "height": "i", "width": "i"},
    "net_state": {"phase": "e:phase", "level": "i", "stage": "s*"},
    **{name: fields for name, fields in _PARAMS.items()},
}
_PARAM_FIELDS = {name: f"m:{name}" for name in _PARAMS}
_LAYER = {"name": "s", "type": "s", "bottom": "s*", "top": "s*", "phase": "e:phase", "loss_weight": "f*",
          "param": "m:param_spec*", "blobs": "m:blob*", "propagate_down": "b*", "include": "m:rule*",
          "exclude": "m:rule*", **_PARAM_FIELDS}
_V1_LAYER = {"name": "s", "type": "e:v1_type", "bottom": "s*", "top": "s*", "include": "m:rule*",
             "exclude": "m:rule*", "blobs": "m:blob*", "param": "s*", "blob_share_mode": "i*",
             "blobs_lr": "f*", "weight_decay": "f*", "loss_weight": "f*", **_PARAM_FIELDS}
_NET = {"name": "s", "input": "s*", "input_dim": "i*", "input_shape": "m:blob_shape*", "layer": "m:layer*",
        "layers": "m:v1_layer*", "force_backward": "b", "state": "m:net_state", "debug_info": "b"}
_MESSAGES.update({"layer": _LAYER, "v1_layer": _V1_LAYER, "net": _NET})


def _compile(spec: str) -> tuple[str, bool, str | None]:
    rep = spec.endswith("*")
    spec = spec.rstrip("*")
    kind, _, arg = spec.partition(":")
    return kind, rep, arg or None


_SCHEMA = {m: {f: _compile(s) for f, s in fields.items()} for m, fields in _MESSAGES.items()}

_INT_RANGE = {"u": (0, (1 << 64) - 1), "i": (-(1 << 63), (1 << 63) - 1)}
_BOOLS = {"true": True, "True": True, "t": True, "false": False, "False": False, "f": False}


class _Ctx:
    """Where values come from, for error messages."""
    __slots__ = ("file", "where")

    def __init__(self, file, where=None):
        self.file, self.where = file, where

    def err(self, msg, line, cls=SchemaError):
        return cls(msg, file=self.file, line=line, where=self.where)


def _check(msg: Message, mtype: str, ctx: _Ctx, skip: frozenset = frozenset()) -> None:
    """Validate a message against the schema in place: unknown fields, repeated singular
    fields and ill-typed values are errors; values are converted (bool, enum name, float)."""
    schema = _SCHEMA[mtype]
    seen = set()
    fields = msg.fields
    for idx, (name, value, line) in enumerate(fields):
        if name in skip:
            continue
        spec = schema.get(name)
        if spec is None:
            raise ctx.err(f"unknown field '{name}' in {mtype}; expected one of: {', '.join(schema)}", line)
        kind, rep, arg = spec
        if not rep:
            if name in seen:
                raise ctx.err(f"field '{name}' is given more than once (it is not repeated)", line)
            seen.add(name)
        if kind == "m":
            if not isinstance(value, Message):
                raise ctx.err(f"field '{name}' must be a message {{ ... }}, got {value!r}", line)
            _check(value, arg, ctx)
            continue
        if isinstance(value, Message):
            raise ctx.err(f"field '{name}' takes a value, not a message", line)
        if kind == "s":
            if type(value) is not str:
                raise ctx.err(f"field '{name}' expects a quoted string, got {value!r}", line)
        elif kind == "u" or kind == "i":
            if type(value) is not int:
                raise ctx.err(f"field '{name}' expects an integer, got {value!r}", line)
            lo, hi = _INT_RANGE[kind]
            if not lo <= value <= hi:
                raise ctx.err(f"field '{name}' value {value} is out of range for "
                              f"{'an unsigned' if kind == 'u' else 'a signed'} integer", line)
        elif kind == "f":
            if type(value) is not float:
                if type(value) is not int:
                    raise ctx.err(f"field '{name}' expects a number, got {value!r}", line)
                fields[idx] = (name, float(value), line)
        elif kind == "b":
            if type(value) is bool:
                pass
            elif type(value) is Ident and value in _BOOLS:
                fields[idx] = (name, _BOOLS[value], line)
            elif type(value) is int and value in (0, 1):
                fields[idx] = (name, bool(value), line)
            else:
                raise ctx.err(f"field '{name}' expects true or false, got {value!r}", line)
        elif kind == "e":
            allowed = _ENUMS[arg]
            if type(value) is Ident:
                if value not in allowed:
                    raise ctx.err(f"field '{name}' has unknown value {value}; expected one of: "
                                  f"{', '.join(allowed)}", line)
            elif type(value) is int and value in _ENUM_NUMBERS[arg]:
                fields[idx] = (name, Ident(_ENUM_NUMBERS[arg][value]), line)
            else:
                raise ctx.err(f"field '{name}' expects one of {', '.join(allowed)}, got {value!r}", line)


# ---------------------------------------------------------------------------------------
# Layer types.

# V1 enum -> current type string.
_V1_TO_TYPE = {
    "ACCURACY": "Accuracy", "BNLL": "BNLL", "CONCAT": "Concat", "CONVOLUTION": "Convolution",
    "DATA": "Data", "DROPOUT": "Dropout", "EUCLIDEAN_LOSS": "EuclideanLoss", "FLATTEN": "Flatten",
    "HDF5_DATA": "HDF5Data", "HDF5_OUTPUT": "HDF5Output", "IM2COL": "Im2col", "IMAGE_DATA": "ImageData",
    "INFOGAIN_LOSS": "InfogainLoss", "INNER_PRODUCT": "InnerProduct", "LRN": "LRN",
    "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss", "POOLING": "Pooling", "RELU": "ReLU",
    "SIGMOID": "Sigmoid", "SOFTMAX": "Softmax", "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split",
    "TANH": "TanH", "WINDOW_DATA": "WindowData", "ELTWISE": "Eltwise", "POWER": "Power",
    "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss", "HINGE_LOSS": "HingeLoss",
    "MEMORY_DATA": "MemoryData", "ARGMAX": "ArgMax", "THRESHOLD": "Threshold", "DUMMY_DATA": "DummyData",
    "SLICE": "Slice", "MVN": "MVN", "ABSVAL": "AbsVal", "SILENCE": "Silence",
    "CONTRASTIVE_LOSS": "ContrastiveLoss", "EXP": "Exp", "DECONVOLUTION": "Deconvolution", "NONE": "NONE",
}
_DATA_TYPES = ("Input", "Data", "ImageData", "MemoryData", "DummyData")
_DROP_TYPES = {"Accuracy": "accuracy (training metric)", "Silence": "silence (discards blobs)"}
_SUPPORTED = ("AbsVal", "BatchNorm", "Bias", "Concat", "Convolution", "Data", "Deconvolution", "Dropout",
              "DummyData", "ELU", "Eltwise", "Exp", "Flatten", "ImageData", "InnerProduct", "Input", "LRN",
              "MemoryData", "PReLU", "Pooling", "Power", "ReLU", "Reshape", "Scale", "Sigmoid", "Slice",
              "Softmax", "Split", "TanH", "(dropped:) Accuracy, Silence, *Loss")

# Upper bound for any geometric value (kernel, stride, pad, dilation) and for counts
# (num_output, group): beyond it the descriptor is broken, not big.
_MAX_SIZE = MAX_DIM


class _Layer:
    """One Caffe layer message, validated, with accessors that report the right line."""
    __slots__ = ("msg", "name", "type", "src_type", "line", "ctx", "bottoms", "tops", "has_rules")

    def __init__(self, msg, name, type_, src_type, ctx):
        self.msg, self.name, self.type, self.src_type, self.ctx = msg, name, type_, src_type, ctx
        self.line = msg.line
        # One pass over the fields (this runs for every layer of every file).
        bottoms, tops, rules = [], [], False
        for n, v, _ in msg.fields:
            if n == "bottom":
                bottoms.append(v)
            elif n == "top":
                tops.append(v)
            elif n == "include" or n == "exclude":
                rules = True
        self.bottoms, self.tops, self.has_rules = bottoms, tops, rules

    def param(self, pname: str) -> Message:
        p = self.msg.get(pname)
        return p if p is not None else Message(line=self.line)

    def err(self, msg: str, line: int | None = None, cls=SchemaError) -> AugurError:
        return cls(msg, file=self.ctx.file, line=line or self.line, where=f"layer '{self.name}'")


def _size(layer: _Layer, p: Message, field: str, default=None, lo: int = 1, hi: int = _MAX_SIZE):
    """A validated integer field of a param message: lo <= v <= hi."""
    v = p.get(field)
    if v is None:
        return default
    if not lo <= v <= hi:
        what = "positive" if lo == 1 else f"at least {lo}"
        raise layer.err(f"{field} must be {what} and at most {hi}, got {v}", p.line_of(field))
    return v


def _pair(layer: _Layer, p: Message, base: str, default: int, lo: int) -> tuple[int, int]:
    """Caffe's 2-D geometry fields: ``base`` (repeated in ConvolutionParameter: 1 value for
    both axes or 2 for h, w) or ``base_h`` + ``base_w``; kernel_h/w naming differs."""
    stem = "kernel" if base == "kernel_size" else base
    h_name, w_name = f"{stem}_h", f"{stem}_w"
    vals = p.getall(base)
    has_hw = h_name in p or w_name in p
    if has_hw:
        if vals:
            raise layer.err(f"give either {base} or {h_name}/{w_name}, not both", p.line_of(h_name) or
                            p.line_of(w_name))
        if not (h_name in p and w_name in p):
            raise layer.err(f"{h_name} and {w_name} must be given together", p.line_of(h_name) or
                            p.line_of(w_name))
        return _size(layer, p, h_name, lo=lo), _size(layer, p, w_name, lo=lo)
    if not vals:
        return default, default
    for v in vals:
        if not lo <= v <= _MAX_SIZE:
            raise layer.err(f"{base} must be {'positive' if lo else 'non-negative'} and at most "
                            f"{_MAX_SIZE}, got {v}", p.line_of(base))
    if len(vals) == 1:
        return vals[0], vals[0]
    if len(vals) == 2:
        return vals[0], vals[1]
    raise layer.err(f"{base} has {len(vals)} values; only 2-D layers (1 or 2 values) are supported",
                    p.line_of(base))


def _conv(layer: _Layer) -> tuple[str, dict]:
    p = layer.param("convolution_param")
    if "num_output" not in p:
        raise layer.err("convolution_param.num_output is required", p.line)
    cout = _size(layer, p, "num_output")
    group = _size(layer, p, "group", 1)
    axis = p.get("axis", 1)
    if axis not in (1, -3):
        raise layer.err(f"convolution axis {axis} is not supported (only the channel axis 1)",
                        p.line_of("axis"))
    if "kernel_size" not in p and "kernel_h" not in p and "kernel_w" not in p:
        raise layer.err("convolution needs kernel_size or kernel_h/kernel_w", p.line)
    kernel = _pair(layer, p, "kernel_size", 1, 1)
    stride = _pair(layer, p, "stride", 1, 1)
    pad = _pair(layer, p, "pad", 0, 0)
    dil = p.getall("dilation")
    for v in dil:
        if not 1 <= v <= _MAX_SIZE:
            raise layer.err(f"dilation must be positive, got {v}", p.line_of("dilation"))
    if len(dil) > 2:
        raise layer.err(f"dilation has {len(dil)} values; only 2-D layers are supported",
                        p.line_of("dilation"))
    dilation = (dil[0], dil[-1]) if dil else (1, 1)
    attrs = {"out_channels": cout, "kernel": kernel, "stride": stride,
             "pad": (pad[0], pad[1], pad[0], pad[1]), "dilation": dilation, "group": group,
             "bias": p.get("bias_term", True)}
    if layer.type == "Deconvolution":
        attrs["output_padding"] = (0, 0)
        return "deconv", attrs
    return "conv", attrs


def _pool(layer: _Layer) -> tuple[str, dict]:
    p = layer.param("pooling_param")
    mode = p.get("pool", "MAX")
    if mode == "STOCHASTIC":
        raise layer.err("STOCHASTIC pooling is not supported", p.line_of("pool"), UnsupportedOpError)
    attrs = {"mode": "max" if mode == "MAX" else "avg"}
    # Caffe rounds pooled sizes up; the fork's ceil_mode: false and BVLC's later
    # round_mode: FLOOR round down.
    ceil = True
    if "round_mode" in p:
        ceil = p.get("round_mode") == "CEIL"
    if "ceil_mode" in p:
        if "round_mode" in p and p.get("ceil_mode") != ceil:
            raise layer.err("ceil_mode and round_mode disagree", p.line_of("ceil_mode"))
        ceil = p.get("ceil_mode")
    attrs["ceil"] = ceil
    if p.get("global_pooling", False):
        for f in ("kernel_size", "kernel_h", "kernel_w"):
            if f in p:
                raise layer.err("global_pooling takes no kernel size", p.line_of(f))
        pad = _pair(layer, p, "pad", 0, 0)
        stride = _pair(layer, p, "stride", 1, 1)
        if pad != (0, 0) or stride != (1, 1):
            raise layer.err("global_pooling needs pad 0 and stride 1", p.line_of("pad") or p.line_of("stride"))
        attrs["global"] = True
        return "pool", attrs
    if "kernel_size" not in p and "kernel_h" not in p and "kernel_w" not in p:
        raise layer.err("pooling needs kernel_size, kernel_h/kernel_w or global_pooling", p.line)
    attrs["kernel"] = _pair(layer, p, "kernel_size", 1, 1)
    attrs["stride"] = _pair(layer, p, "stride", 1, 1)
    ph, pw = _pair(layer, p, "pad", 0, 0)
    attrs["pad"] = (ph, pw, ph, pw)
    return "pool", attrs


def _axis(layer, p, field="axis", default=1):
    v = p.get(field, default)
    if abs(v) > 64:
        raise layer.err(f"{field} {v} is out of range", p.line_of(field))
    return v


def _simple(layer: _Layer) -> tuple[str, dict]:
    """All the layer types whose mapping is a few lines."""
    t = layer.type
    if t == "InnerProduct":
        p = layer.param("inner_product_param")
        if "num_output" not in p:
            raise layer.err("inner_product_param.num_output is required", p.line)
        return "fc", {"out_features": _size(layer, p, "num_output"), "axis": _axis(layer, p),
                      "bias": p.get("bias_term", True), "transpose": p.get("transpose", False)}
    if t == "ReLU":
        slope = layer.param("relu_param").get("negative_slope", 0.0)
        return ("act", {"fn": "relu"}) if slope == 0 else ("act", {"fn": "leaky_relu", "alpha": slope})
    if t == "PReLU":
        return "act", {"fn": "prelu", "channel_shared": layer.param("prelu_param").get("channel_shared", False)}
    if t == "ELU":
        return "act", {"fn": "elu", "alpha": layer.param("elu_param").get("alpha", 1.0)}
    if t == "Sigmoid":
        return "act", {"fn": "sigmoid"}
    if t == "TanH":
        return "act", {"fn": "tanh"}
    if t == "AbsVal":
        return "act", {"fn": "abs"}
    if t == "Exp":
        p = layer.param("exp_param")
        return "act", {"fn": "exp", "base": p.get("base", -1.0), "scale": p.get("scale", 1.0),
                       "shift": p.get("shift", 0.0)}
    if t == "Power":
        p = layer.param("power_param")
        return "act", {"fn": "power", "power": p.get("power", 1.0), "scale": p.get("scale", 1.0),
                       "shift": p.get("shift", 0.0)}
    if t == "BatchNorm":
        p = layer.param("batch_norm_param")
        # Caffe's BatchNorm stores mean, variance and one moving-average scale factor; the
        # affine part lives in a separate Scale layer.
        return "batchnorm", {"caffe_scale_factor": True, "affine": False, "eps": p.get("eps", 1e-5)}
    if t == "Scale":
        p = layer.param("scale_param")
        return "scale", {"axis": _axis(layer, p), "num_axes": _axis(layer, p, "num_axes", 1),
                         "bias": p.get("bias_term", False)}
    if t == "Bias":
        p = layer.param("bias_param")
        return "bias", {"axis": _axis(layer, p), "num_axes": _axis(layer, p, "num_axes", 1)}
    if t == "LRN":
        p = layer.param("lrn_param")
        return "lrn", {"size": _size(layer, p, "local_size", 5), "alpha": p.get("alpha", 1.0),
                       "beta": p.get("beta", 0.75), "k": p.get("k", 1.0),
                       "region": "within" if p.get("norm_region") == "WITHIN_CHANNEL" else "across"}
    if t == "Eltwise":
        p = layer.param("eltwise_param")
        op = p.get("operation", "SUM")
        coeffs = p.getall("coeff")
        if coeffs and op != "SUM":
            raise layer.err("eltwise coeff applies only to operation SUM", p.line_of("coeff"))
        if coeffs and len(coeffs) != len(layer.bottoms):
            raise layer.err(f"eltwise has {len(coeffs)} coeff values for {len(layer.bottoms)} bottoms",
                            p.line_of("coeff"))
        return "eltwise", {"fn": op.lower(), "coeffs": tuple(coeffs) if coeffs else None, "broadcast": False}
    if t == "Concat":
        p = layer.param("concat_param")
        if "axis" in p and "concat_dim" in p:
            raise layer.err("give either axis or concat_dim, not both", p.line_of("concat_dim"))
        axis = _axis(layer, p, "concat_dim") if "concat_dim" in p else _axis(layer, p)
        return "concat", {"axis": axis}
    if t == "Slice":
        p = layer.param("slice_param")
        if "axis" in p and "slice_dim" in p:
            raise layer.err("give either axis or slice_dim, not both", p.line_of("slice_dim"))
        axis = _axis(layer, p, "slice_dim") if "slice_dim" in p else _axis(layer, p)
        points = p.getall("slice_point")
        if points:
            if len(points) != len(layer.tops) - 1:
                raise layer.err(f"{len(points)} slice_point values for {len(layer.tops)} tops "
                                f"(want one fewer than the tops)", p.line_of("slice_point"))
            if any(b <= a for a, b in zip(points, points[1:])) or points[0] <= 0:
                raise layer.err(f"slice_point values {points} must be positive and increasing",
                                p.line_of("slice_point"))
        return "split", {"axis": axis, "points": tuple(points) if points else None,
                         "num_outputs": max(len(layer.tops), 1)}
    if t == "Split":
        return "identity", {"num_outputs": max(len(layer.tops), 1)}
    if t == "Dropout":
        return "identity", {"num_outputs": 1}
    if t == "Softmax":
        return "softmax", {"axis": _axis(layer, layer.param("softmax_param"))}
    if t == "Flatten":
        p = layer.param("flatten_param")
        return "flatten", {"axis": _axis(layer, p), "end_axis": _axis(layer, p, "end_axis", -1)}
    if t == "Reshape":
        return _reshape(layer)
    raise AssertionError(t)  # pragma: no cover (callers check _MAPPERS)


def _reshape(layer: _Layer) -> tuple[str, dict]:
    p = layer.param("reshape_param")
    shape = p.get("shape")
    if shape is None:
        raise layer.err("reshape_param.shape is required", p.line)
    dims = shape.getall("dim")
    for d in dims:
        if d < -1 or d > _MAX_SIZE:
            raise layer.err(f"reshape dim {d} is invalid (0 copies, -1 infers, else positive)",
                            shape.line_of("dim"))
    if dims.count(-1) > 1:
        raise layer.err("reshape has more than one -1 dim", shape.line_of("dim"))
    axis, num_axes = p.get("axis", 0), p.get("num_axes", -1)
    # Caffe replaces input axes [axis, axis+num_axes) by `dims`; 0 copies the input dim at
    # the same position. With axis=k >= 0 and num_axes=-1 that is the full-shape spec
    # [0]*k + dims, which the canonical reshape op understands. Other combinations need
    # the input rank, which is only known at shape inference.
    if num_axes == -1 and 0 <= axis <= 64:
        return "reshape", {"shape": tuple([0] * axis + dims)}
    raise layer.err(f"reshape with axis {axis} and num_axes {num_axes} is not supported (only "
                    f"num_axes -1 with axis >= 0)", p.line_of("num_axes") or p.line_of("axis"),
                    UnsupportedOpError)


_MAPPERS = {"Convolution": _conv, "Deconvolution": _conv, "Pooling": _pool}
for _t in ("InnerProduct", "ReLU", "PReLU", "ELU", "Sigmoid", "TanH", "AbsVal", "Exp", "Power", "BatchNorm",
           "Scale", "Bias", "LRN", "Eltwise", "Concat", "Slice", "Split", "Dropout", "Softmax", "Flatten",
           "Reshape"):
    _MAPPERS[_t] = _simple


# ---------------------------------------------------------------------------------------
# Phase rules (Caffe's Net::StateMeetsRule) for the inference state.

def _meets(rule: Message, phase: str, level: int, stages: set) -> bool:
    if rule.get("phase") is not None and rule.get("phase") != phase:
        return False
    if rule.get("min_level") is not None and level < rule.get("min_level"):
        return False
    if rule.get("max_level") is not None and level > rule.get("max_level"):
        return False
    if any(s not in stages for s in rule.getall("stage")):
        return False
    if any(s in stages for s in rule.getall("not_stage")):
        return False
    return True


def _active(layer: _Layer, phase: str, level: int, stages: set) -> bool:
    if not layer.has_rules:
        return True
    inc, exc = layer.msg.getall("include"), layer.msg.getall("exclude")
    if inc and exc:
        raise layer.err("give either include or exclude rules, not both", layer.msg.line_of("exclude"))
    if inc:
        return any(_meets(r, phase, level, stages) for r in inc)
    return not any(_meets(r, phase, level, stages) for r in exc)


# ---------------------------------------------------------------------------------------

def load_caffe(path, input_shape=None) -> LayerGraph:
    """Read a Caffe .prototxt into a shape-inferred LayerGraph. ``input_shape`` replaces
    the first input's shape."""
    path = Path(path)
    return load_caffe_text(read_text(path), str(path), input_shape=input_shape, stem=path.stem)


def load_caffe_text(text: str, file: str | None = None, input_shape=None, stem: str | None = None) -> LayerGraph:
    """The same from text in memory (tests, tools)."""
    net = parse(text, file)
    ctx = _Ctx(file)
    _check(net, "net", ctx, skip=frozenset(("layer", "layers")))
    new, old = net.getall("layer"), net.getall("layers")
    if new and old:
        raise SchemaError("the file mixes 'layer' and legacy 'layers' entries; use one form",
                          file=file, line=net.line_of("layers"))
    name = net.get("name") or stem or "net"
    b = GraphBuilder(name, file)

    # Inference state: TEST phase, level and stages from the file's own NetState.
    state = net.get("state") or Message()
    level, stages = state.get("level", 0), set(state.getall("stage"))

    layers: list[_Layer] = []
    for idx, msg in enumerate(new or old):
        if not isinstance(msg, Message):
            raise SchemaError("'layer' must be a message { ... }", file=file, line=net.line_of("layer"))
        layers.append(_read_layer(msg, bool(old), idx, file))

    override = None
    if input_shape is not None:
        override = tuple(input_shape)
    layer_names = {l.name for l in layers}

    # blob name -> current SSA tensor name; where each blob came from, for errors.
    current: dict[str, str] = {}
    dropped_tops: dict[str, str] = {}
    first_input = [True]

    def add_input(blob, shape, line, layer_name, src_type, attrs_extra=None):
        if first_input[0] and override is not None:
            shape = override
        first_input[0] = False
        try:
            shp = check_shape(list(shape), f"input '{blob}'")
        except AugurError as e:
            raise e.located(file=file, line=line)
        if blob in current:
            raise SchemaError(f"blob '{blob}' is already produced by an earlier layer", file=file, line=line,
                              where=f"layer '{layer_name}'")
        attrs = {"shape": shp, "dtype": "fp32", **(attrs_extra or {})}
        b.add_layer(Layer(name=layer_name, op="input", attrs=attrs, outputs=(blob,),
                          source=SourceLoc(file, line), src_type=src_type))
        current[blob] = blob

    _top_level_inputs(net, file, add_input, layer_names)

    for layer in layers:
        if not _active(layer, "TEST", level, stages):
            b.drop(layer.name, layer.src_type, "not active in the TEST phase (include/exclude rules)")
            for t in layer.tops:
                dropped_tops.setdefault(t, layer.name)
            continue
        t = layer.type
        if t in _DROP_TYPES or t.endswith("Loss"):
            b.drop(layer.name, layer.src_type, _DROP_TYPES.get(t, "loss (training only)"))
            for tp in layer.tops:
                dropped_tops[tp] = layer.name
            continue
        if t in _DATA_TYPES:
            _data_layer(layer, add_input, dropped_tops, first_input[0] and override is not None)
            continue
        mapper = _MAPPERS.get(t)
        if mapper is None:
            raise layer.err(f"unsupported Caffe layer type '{layer.src_type}'; supported: "
                            f"{', '.join(_SUPPORTED)}", cls=UnsupportedOpError)
        op, attrs = mapper(layer)
        inputs = []
        for bot in layer.bottoms:
            tensor = current.get(bot)
            if tensor is None:
                if bot in dropped_tops:
                    raise layer.err(f"bottom '{bot}' comes from the dropped layer '{dropped_tops[bot]}' "
                                    f"(labels, losses and TRAIN-only layers are not part of inference)")
                raise layer.err(f"bottom '{bot}' is produced by no earlier layer (Caffe runs layers in "
                                f"file order)")
            inputs.append(tensor)
        if not layer.tops:
            raise layer.err("layer has no top")
        if len(set(layer.tops)) != len(layer.tops):
            raise layer.err("a top is listed twice")
        outputs, inplace = [], False
        for top in layer.tops:
            if top in layer.bottoms:
                inplace = True
                outputs.append(f"{top}@{layer.name}")
            elif top in current:
                raise layer.err(f"top '{top}' is already produced by an earlier layer (only in-place "
                                f"layers, whose bottom is the same blob, may reuse a name)")
            else:
                outputs.append(top)
        b.add_layer(Layer(name=layer.name, op=op, attrs=attrs, inputs=tuple(inputs), outputs=tuple(outputs),
                          source=SourceLoc(file, layer.line), inplace=inplace, src_type=layer.src_type))
        for top, tensor in zip(layer.tops, outputs):
            current[top] = tensor
            dropped_tops.pop(top, None)
    if first_input[0]:
        raise SchemaError("the network declares no input (no top-level input, Input or data layer)", file=file)
    return b.build()


def _read_layer(msg: Message, v1: bool, idx: int, file) -> _Layer:
    name = msg.get("name")
    where_name = name if isinstance(name, str) else f"#{idx + 1}"
    ctx = _Ctx(file, f"layer '{where_name}'")
    tval = msg.get("type")
    if tval is None:
        raise ctx.err("layer has no type", msg.line)
    if v1:
        if isinstance(tval, int) and not isinstance(tval, bool) and tval in _ENUM_NUMBERS["v1_type"]:
            tval = Ident(_ENUM_NUMBERS["v1_type"][tval])
        if type(tval) is not Ident or tval not in _V1_TO_TYPE:
            raise ctx.err(f"legacy 'layers' type must be a V1 enum such as CONVOLUTION, got {tval!r}",
                          msg.line_of("type"), UnsupportedOpError if type(tval) is Ident else SchemaError)
        type_, src_type = _V1_TO_TYPE[tval], str(tval)
    else:
        if type(tval) is not str:
            raise ctx.err(f"layer type must be a quoted string such as \"Convolution\", got {tval!r}",
                          msg.line_of("type"))
        type_ = src_type = tval
    _check(msg, "v1_layer" if v1 else "layer", ctx)
    if not name:
        name = f"{type_.lower()}_{idx + 1}"
        ctx.where = f"layer '{name}'"
    return _Layer(msg, name, type_, src_type, ctx)


def _top_level_inputs(net: Message, file, add_input, layer_names) -> None:
    names = net.getall("input")
    shapes = net.getall("input_shape")
    dims = net.getall("input_dim")
    if not names:
        if shapes or dims:
            raise SchemaError("input_shape/input_dim given without 'input' names", file=file,
                              line=net.line_of("input_shape") or net.line_of("input_dim"))
        return
    line = net.line_of("input")
    if shapes and dims:
        raise SchemaError("give either input_shape or input_dim, not both", file=file,
                          line=net.line_of("input_dim"))
    if shapes:
        if len(shapes) != len(names):
            raise SchemaError(f"{len(shapes)} input_shape entries for {len(names)} inputs", file=file,
                              line=net.line_of("input_shape"))
        shape_list = [(tuple(s.getall("dim")), s.line) for s in shapes]
    elif dims:
        if len(dims) != 4 * len(names):
            raise SchemaError(f"{len(dims)} input_dim values for {len(names)} inputs (want 4 each)",
                              file=file, line=net.line_of("input_dim"))
        dim_lines = [ln for n, _, ln in net.fields if n == "input_dim"]
        shape_list = [(tuple(dims[4 * k:4 * k + 4]), dim_lines[4 * k]) for k in range(len(names))]
    else:
        raise SchemaError("inputs declared without input_shape or input_dim", file=file, line=line)
    for blob, (shape, shape_line) in zip(names, shape_list):
        lname = blob if blob not in layer_names else f"{blob}_input"
        add_input(blob, shape, shape_line, lname, "input")


def _data_layer(layer: _Layer, add_input, dropped_tops, overridden: bool) -> None:
    """Register a data layer's first top as an input (``overridden``: the caller's
    input_shape will replace its shape, so a missing image size is no error)."""
    t = layer.type
    if not layer.tops:
        raise layer.err("data layer has no top")
    if layer.bottoms:
        raise layer.err(f"{t} layer takes no bottom")
    if t == "Input":
        p = layer.param("input_param")
        shapes = p.getall("shape")
        if len(shapes) not in (1, len(layer.tops)):
            raise layer.err(f"input_param has {len(shapes)} shapes for {len(layer.tops)} tops (want 1 or "
                            f"one per top)", p.line)
        for k, top in enumerate(layer.tops):
            s = shapes[k if len(shapes) > 1 else 0]
            lname = layer.name if len(layer.tops) == 1 else f"{layer.name}:{top}"
            add_input(top, s.getall("dim"), layer.line, lname, layer.src_type)
        return
    if t == "DummyData":
        p = layer.param("dummy_data_param")
        shapes = [tuple(s.getall("dim")) for s in p.getall("shape")]
        if not shapes:
            legacy = [p.getall(f) for f in ("num", "channels", "height", "width")]
            if legacy[0]:
                if len({len(x) for x in legacy}) != 1:
                    raise layer.err("dummy_data_param num/channels/height/width differ in count", p.line)
                shapes = [tuple(x) for x in zip(*legacy)]
        if len(shapes) not in (1, len(layer.tops)):
            raise layer.err(f"dummy_data_param has {len(shapes)} shapes for {len(layer.tops)} tops", p.line)
        add_input(layer.tops[0], shapes[0], layer.line, layer.name, layer.src_type)
        for top in layer.tops[1:]:
            dropped_tops[top] = layer.name  # a label-like top; see below
        return
    if t == "MemoryData":
        p = layer.param("memory_data_param")
        shape = tuple(_size(layer, p, f, 1 if f == "batch_size" else None) for f in
                      ("batch_size", "channels", "height", "width"))
        if None in shape:
            raise layer.err("memory_data_param needs channels, height and width", p.line)
        add_input(layer.tops[0], shape, layer.line, layer.name, layer.src_type)
    else:
        # Data / ImageData: the image size lives in the database, not the descriptor.
        tp = layer.param("transform_param")
        dp = layer.param("data_param" if t == "Data" else "image_data_param")
        batch = _size(layer, dp, "batch_size", 1)
        crop = _size(layer, tp, "crop_size", 0, lo=0) or _size(layer, dp, "crop_size", 0, lo=0)
        if crop:
            h = w = crop
        elif t == "ImageData" and dp.get("new_height") and dp.get("new_width"):
            h, w = _size(layer, dp, "new_height"), _size(layer, dp, "new_width")
        elif overridden:
            h = w = 1  # replaced by the caller's input_shape in add_input
        else:
            raise layer.err(f"{t} layer gives no image size (no crop_size); pass an input shape")
        channels = 1 if t == "ImageData" and dp.get("is_color", True) is False else 3
        note = (f"shape assumed from the descriptor: batch_size {batch}, {channels} channels "
                f"({'grey' if channels == 1 else 'colour'} images), {h}x{w} from "
                f"{'crop_size' if crop else 'new_height/new_width'}")
        add_input(layer.tops[0], (batch, channels, h, w), layer.line, layer.name, layer.src_type,
                  {"assumed": note})
    # Further tops of a data layer are labels: nothing at inference reads them.
    for top in layer.tops[1:]:
        dropped_tops[top] = layer.name
