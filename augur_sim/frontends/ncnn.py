"""ncnn frontend: a text ``.param`` file -> LayerGraph.

The format (ncnn's src/net.cpp, Net::load_param): the magic number 7767517, then
"layer_count blob_count", then one layer per line:

    Type  name  n_bottoms  n_tops  bottom... top...  id=value ...

A value is an int, a float (it has '.', 'e' or 'E'), or an array written under the key
-23300-id as "count,v1,...,vcount". Array id 30 (key -23330) carries ncnn's shape hints,
four numbers per top: dims, w, h, c. The meaning of each numbered parameter comes from
ncnn's docs/developer-guide/operators.md and the layers' load_param (src/layer/*.cpp);
docs/NCNN.md lists what is used here.

Shapes. An ncnn blob has no batch axis: 1-D (w), 2-D (h, w) or 3-D (c, h, w). A graph
tensor here is (N,) followed by those dims, outermost first, so ncnn's axis a (a >= 0) is
axis a + 1 here. One exception: global pooling gives ncnn a 1-D blob of C values, here
(N, C, 1, 1), the canonical pooling op's shape; the per-tensor ncnn rank is tracked
(``dims``) so axis-taking layers and broadcasting still follow ncnn.

ncnn layers run in file order, so shapes are inferred as each layer is read; that is what
lets "SAME" padding, Reshape's "copy this dim" and Slice's "the rest" become explicit
sizes, and lets errors point at the line. Layers that ncnn fuses (a convolution's
activation, param 9) become separate canonical layers that the lowering's fusion rules
fuse again (conv_relu), so counts stay per operation.

Quantised layers: a Convolution / ConvolutionDepthWise / InnerProduct whose
int8_scale_term (param 8) is non-zero gets ``attrs["int8"] = True`` (and
``int8_scale_term``; ``int8_requant`` when the term is above 100, i.e. the layer also
stores its output's int8 scale, so its output stays int8). docs/NCNN.md states this
contract for the runtime model.

Everything in the file is untrusted: every count and size is range-checked, and errors
read ``FILE:LINE: layer 'NAME': message``.
"""
from __future__ import annotations

import math
import struct
from pathlib import Path

from ..errors import AugurError, ParseError, SchemaError, ShapeError, UnsupportedOpError
from ..fileio import read_text
from ..graph import MAX_DIM, GraphBuilder, Layer, LayerGraph, SourceLoc, check_shape
from ..ops import registry

MAGIC = 7767517
_MAX_LAYERS = 1 << 20
_MAX_TOKENS_PER_LAYER = 1 << 16
_INT32 = (1 << 31) - 1
# The largest size or count a .param can give: every value is a 32-bit integer (_number
# refuses more), so graph.MAX_DIM (2^31) itself cannot be written; range errors name this.
_MAX_SIZE = min(MAX_DIM, _INT32)
_MAX_PARAM_ID = 31  # ncnn keeps at most 32 params per layer (NCNN_MAX_PARAM_COUNT)
_ARRAY_BASE = -23300
_HINT_ID = 30
# ncnn's marker values: -233 "not set / the rest / SAME_UPPER", -234 "SAME_LOWER".
_UNSET, _SAME_LOWER = -233, -234

# The input each network of ncnn's benchmark is run with (benchmark/benchncnn.cpp,
# Tencent/ncnn): benchncnn feeds these, whatever the Input layer says. Two of the corpus
# files (FastestDet, vision_transformer) declare no input shape at all.
BENCHNCNN_INPUT_SHAPES = {
    **{n: (1, 3, 227, 227) for n in ("squeezenet", "squeezenet_int8", "alexnet")},
    **{n: (1, 3, 224, 224) for n in (
        "mobilenet", "mobilenet_int8", "mobilenet_v2", "mobilenet_v3", "shufflenet", "shufflenet_v2",
        "mnasnet", "proxylessnasnet", "efficientnet_b0", "efficientnetv2_b0", "regnety_400m", "googlenet",
        "googlenet_int8", "resnet18", "resnet18_int8", "vgg16", "vgg16_int8", "resnet50", "resnet50_int8")},
    "blazeface": (1, 3, 128, 128),
    **{n: (1, 3, 300, 300) for n in ("squeezenet_ssd", "squeezenet_ssd_int8", "mobilenet_ssd",
                                      "mobilenet_ssd_int8")},
    "mobilenet_yolo": (1, 3, 416, 416), "yolov4-tiny": (1, 3, 416, 416),
    "mobilenetv2_yolov3": (1, 3, 352, 352), "yolo-fastestv2": (1, 3, 352, 352), "FastestDet": (1, 3, 352, 352),
    "nanodet_m": (1, 3, 320, 320), "yolo-fastest-1.1": (1, 3, 320, 320),
    "vision_transformer": (1, 3, 384, 384),
}


# ---------------------------------------------------------------------------------------
# Reading the text.

class _Line:
    """One layer line: its tokens, parsed params, and error helpers that name it."""
    __slots__ = ("bottoms", "file", "line", "name", "params", "tops", "type")

    def __init__(self, file, line, type_, name, bottoms, tops, params):
        self.file, self.line, self.type, self.name = file, line, type_, name
        self.bottoms, self.tops, self.params = bottoms, tops, params

    def err(self, msg: str, cls=SchemaError) -> AugurError:
        return cls(msg, file=self.file, line=self.line, where=f"layer '{self.name}'")

    def has(self, pid: int) -> bool:
        return pid in self.params

    def i(self, pid: int, default: int, lo: int = -_INT32, hi: int = _INT32, what: str | None = None) -> int:
        v = self.params.get(pid, default)
        if isinstance(v, list):
            raise self.err(f"param {pid}{_named(what)} must be a single integer, got an array")
        if isinstance(v, float):
            if not v.is_integer():
                raise self.err(f"param {pid}{_named(what)} must be an integer, got {v}")
            v = int(v)
        if not lo <= v <= hi:
            raise self.err(f"param {pid}{_named(what)} is {v}; expected {lo} to {hi}")
        return v

    def size(self, pid: int, default: int, what: str, lo: int = 1) -> int:
        return self.i(pid, default, lo, _MAX_SIZE, what)

    def f(self, pid: int, default: float, what: str | None = None) -> float:
        v = self.params.get(pid, default)
        if isinstance(v, list):
            raise self.err(f"param {pid}{_named(what)} must be a single number, got an array")
        return float(v)

    def arr(self, pid: int, what: str | None = None) -> list | None:
        v = self.params.get(pid)
        if v is None:
            return None
        if not isinstance(v, list):
            raise self.err(f"param {pid}{_named(what)} must be an array (key {_ARRAY_BASE - pid}=count,values)")
        return v

    def int_arr(self, pid: int, what: str | None = None) -> list[int] | None:
        v = self.arr(pid, what)
        if v is None:
            return None
        if any(isinstance(x, float) and not x.is_integer() for x in v):
            raise self.err(f"array param {pid}{_named(what)} must hold integers, got {v}")
        return [int(x) for x in v]

    def float_arr(self, pid: int, what: str | None = None) -> list[float] | None:
        """A float array as ncnn reads it: the Mat holds raw 32-bit words, so an entry
        written as an integer is the bit pattern of a float (old converters wrote YOLO
        masks that way: 1077936128 is 3.0f)."""
        v = self.arr(pid, what)
        if v is None:
            return None
        out = []
        for x in v:
            if isinstance(x, int):
                x = struct.unpack("<f", struct.pack("<i", x))[0]
                if not math.isfinite(x):
                    raise self.err(f"array param {pid}{_named(what)}: an integer entry that is not the bit "
                                   f"pattern of a finite float")
            out.append(float(x))
        return out

    def only(self, allowed: str) -> None:
        """Refuse param ids this layer type does not have (ncnn would silently ignore them;
        here a stray id is far more often a typo or a newer feature we would misread)."""
        ok = _ids(allowed)
        for pid in self.params:
            if pid not in ok and pid != _HINT_ID:
                raise self.err(f"param id {pid} is not a parameter of {self.type} (known: "
                               f"{', '.join(str(x) for x in sorted(ok)) or 'none'})")


def _named(what: str | None) -> str:
    return f" ({what})" if what else ""


_ID_CACHE: dict[str, frozenset] = {}


def _ids(spec: str) -> frozenset:
    s = _ID_CACHE.get(spec)
    if s is None:
        s = frozenset(int(x) for x in spec.split()) if spec else frozenset()
        _ID_CACHE[spec] = s
    return s


def _number(tok: str, err, key: int):
    if not tok:
        raise err(f"param {key} has an empty value")
    if any(ch in tok for ch in ".eE"):
        try:
            v = float(tok)
        except ValueError:
            raise err(f"param {key}: '{tok}' is not a number")
        if not math.isfinite(v):
            raise err(f"param {key}: '{tok}' is not a finite number")
        return v
    try:
        v = int(tok)
    except ValueError:
        raise err(f"param {key}: '{tok}' is not an integer (a float needs '.' or 'e')")
    if not -_INT32 - 1 <= v <= _INT32:
        raise err(f"param {key}: {v} does not fit a 32-bit integer")
    return v


def _parse_params(tokens, err) -> dict:
    params: dict[int, object] = {}
    for tok in tokens:
        key_s, eq, val = tok.partition("=")
        if not eq:
            raise err(f"expected id=value, got '{tok}'")
        try:
            key = int(key_s)
        except ValueError:
            raise err(f"param id '{key_s}' is not an integer")
        if key <= _ARRAY_BASE:
            pid = _ARRAY_BASE - key
            if pid > _MAX_PARAM_ID:
                raise err(f"array key {key} is out of range ({_ARRAY_BASE - _MAX_PARAM_ID} to {_ARRAY_BASE})")
            parts = val.split(",")
            count = _number(parts[0], err, key)
            if not isinstance(count, int) or count < 0 or count != len(parts) - 1:
                raise err(f"array param {key}: count {parts[0]} does not match the {len(parts) - 1} values "
                          f"that follow")
            value = [_number(p, err, key) for p in parts[1:]]
        else:
            pid = key
            if not 0 <= pid <= _MAX_PARAM_ID:
                raise err(f"param id {key} is out of range (0 to {_MAX_PARAM_ID}, or an array key "
                          f"{_ARRAY_BASE} to {_ARRAY_BASE - _MAX_PARAM_ID})")
            value = _number(val, err, key)
        if pid in params:
            raise err(f"param {pid} is given twice")
        params[pid] = value
    return params


def parse_param(text: str, file: str | None = None) -> tuple[int, int, list[_Line], list[int]]:
    """Syntax only: (layer_count, blob_count, layers, line numbers beyond the header's count)."""
    lines = text.split("\n")
    rows = [(i + 1, ln.split()) for i, ln in enumerate(lines)]
    rows = [(n, t) for n, t in rows if t]
    if not rows:
        raise ParseError("empty file; an ncnn .param starts with the magic number 7767517", file=file, line=1)
    n0, t0 = rows[0]
    if t0 != [str(MAGIC)]:
        raise ParseError(f"expected the ncnn magic number {MAGIC} alone on the first line, got "
                         f"'{' '.join(t0)[:40]}' (binary .param.bin files are not supported)", file=file, line=n0)
    if len(rows) < 2:
        raise ParseError("missing the 'layer_count blob_count' line", file=file, line=n0)
    n1, t1 = rows[1]
    try:
        counts = [int(x) for x in t1]
    except ValueError:
        counts = []
    if len(counts) != 2 or not all(1 <= c <= _MAX_LAYERS for c in counts):
        raise ParseError(f"expected 'layer_count blob_count' (two integers 1 to {_MAX_LAYERS}), got "
                         f"'{' '.join(t1)[:60]}'", file=file, line=n1)
    layer_count, blob_count = counts
    body = rows[2:]
    if len(body) < layer_count:
        raise ParseError(f"the header declares {layer_count} layers but the file has {len(body)} layer lines",
                         file=file, line=n1)
    out = []
    for n, t in body[:layer_count]:
        where = f"layer '{t[1]}'" if len(t) > 1 else None

        def err(msg, n=n, where=where):
            return ParseError(msg, file=file, line=n, where=where)
        if len(t) < 4:
            raise err("expected 'Type name n_bottoms n_tops bottoms... tops... params...'")
        if len(t) > _MAX_TOKENS_PER_LAYER:
            raise err(f"{len(t)} tokens on one line; more than {_MAX_TOKENS_PER_LAYER}")
        type_, name = t[0], t[1]
        if not (type_[0].isalpha() and all(ch.isalnum() or ch == "_" for ch in type_)):
            raise err(f"'{type_[:40]}' is not a layer type name")
        try:
            nb, nt = int(t[2]), int(t[3])
        except ValueError:
            raise err(f"bottom and top counts must be integers, got '{t[2]}' '{t[3]}'")
        if not (0 <= nb <= 4096 and 0 <= nt <= 4096):
            raise err(f"bottom/top counts {nb}/{nt} out of range (0 to 4096)")
        if len(t) < 4 + nb + nt:
            raise err(f"the line names {len(t) - 4} blobs/params but declares {nb} bottoms and {nt} tops")
        blobs = t[4:4 + nb + nt]
        for bname in blobs:
            if "=" in bname:
                raise err(f"'{bname}' looks like a param where a blob name is expected (bottom/top counts "
                          f"{nb}/{nt} do not match the names given)")
        params = _parse_params(t[4 + nb + nt:], err)
        out.append(_Line(file, n, type_, name, blobs[:nb], blobs[nb:], params))
    extra = [n for n, _ in body[layer_count:]]
    return layer_count, blob_count, out, extra


# ---------------------------------------------------------------------------------------
# Building the graph.

class _Ctx:
    def __init__(self, file, name, input_shape, check_hints):
        self.file = file
        self.b = GraphBuilder(name, file)
        self.shapes: dict[str, tuple] = {}
        self.dims: dict[str, int] = {}
        self.alias: dict[str, str] = {}  # blob name -> tensor (Noop passes its first bottom on)
        self.names: set[str] = set()
        self.override = tuple(input_shape) if input_shape is not None else None
        self.first_input = True
        self.batch = None
        self.check_hints = check_hints
        self.hint_mismatches: list[str] = []
        self.int8_layers = 0

    def unique(self, name: str) -> str:
        if name not in self.names:
            return name
        k = 2
        while f"{name}#{k}" in self.names:
            k += 1
        return f"{name}#{k}"

    def tensor(self, L: _Line, blob: str) -> str:
        t = self.alias.get(blob, blob)
        if t not in self.shapes:
            raise L.err(f"bottom '{blob}' is produced by no earlier layer (ncnn runs layers in file order)")
        return t

    def shape(self, t: str) -> tuple:
        return self.shapes[t]

    def nshape(self, t: str) -> tuple:
        """The blob's shape as ncnn sees it: no batch, outermost first."""
        s = self.shapes[t][1:]
        return s[:self.dims[t]]

    def emit(self, L: _Line, op: str, attrs: dict, inputs, outputs, suffix: str | None = None,
             dims: int | None = None) -> str:
        name = L.name if suffix is None else f"{L.name}/{suffix}"
        if suffix is None and name in self.names:
            raise L.err(f"duplicate layer name '{name}'")
        name = self.unique(name)
        inputs, outputs = tuple(inputs), tuple(outputs)
        for t in outputs:
            if t in self.shapes or t in self.alias:
                raise L.err(f"top '{t}' is already produced by an earlier layer (blob names must be unique)")
        try:
            out_shapes, _ = registry.get(op).infer(attrs, tuple(self.shapes[t] for t in inputs))
            if len(out_shapes) != len(outputs):
                raise ShapeError(f"{op} gives {len(out_shapes)} outputs but the layer names {len(outputs)} tops")
            out_shapes = [check_shape(s, f"output of {L.type}") for s in out_shapes]
        except AugurError as e:
            raise e.located(file=self.file, line=L.line, where=f"layer '{L.name}'")
        self.b.add_layer(Layer(name=name, op=op, attrs=attrs, inputs=inputs, outputs=outputs,
                               source=SourceLoc(self.file, L.line), src_type=L.type))
        self.names.add(name)
        for t, s in zip(outputs, out_shapes):
            self.shapes[t] = tuple(s)
            self.dims[t] = len(s) - 1 if dims is None else dims
        return name

    def tmp(self, L: _Line, suffix: str) -> str:
        t = f"{L.name}/{suffix}"
        while t in self.shapes or t in self.alias:
            t += "'"
        return t


def load_ncnn(path, input_shape=None, check_hints: bool = False) -> LayerGraph:
    """Read an ncnn ``.param`` into a shape-inferred LayerGraph. ``input_shape`` (with the
    batch first, e.g. (1, 3, 224, 224)) replaces the first Input's shape."""
    path = Path(path)
    return load_ncnn_text(read_text(path), str(path), input_shape=input_shape, stem=path.stem,
                          check_hints=check_hints)


def load_ncnn_text(text: str, file: str | None = None, input_shape=None, stem: str | None = None,
                   check_hints: bool = False) -> LayerGraph:
    """The same from text in memory. ``check_hints``: the file's -23330 shape hints must
    agree with the inferred shapes (a test of this frontend's semantics; ncnn itself only
    uses them to plan memory, so a stale hint is no error by default)."""
    _, blob_count, lines, extra = parse_param(text, file)
    c = _Ctx(file, stem or "net", input_shape, check_hints)
    n_tops = 0
    for L in lines:
        handler = _HANDLERS.get(L.type)
        if handler is None:
            raise L.err(f"unsupported ncnn layer type '{L.type}'; supported: {', '.join(sorted(_HANDLERS))}",
                        UnsupportedOpError)
        n_tops += len(L.tops)
        if n_tops > blob_count:
            raise L.err(f"more blobs than the header's blob count {blob_count}")
        handler(L, c)
        if check_hints:
            _check_hints(L, c)
    if c.first_input:
        raise SchemaError("the network has no Input layer", file=file)
    for n in extra:
        c.b.drop(f"line {n}", "?", f"beyond the header's layer count {len(lines)}; ncnn does not read it")
    if c.hint_mismatches:
        raise ShapeError("; ".join(c.hint_mismatches[:3]), file=file)
    return c.b.build()


# Layers whose output size depends on the data: ncnnoptimize's hints for them are whatever
# its probe run left behind, not a shape.
_DATA_DEPENDENT = ("DetectionOutput", "YoloDetectionOutput", "Yolov3DetectionOutput")


def _check_hints(L: _Line, c: _Ctx) -> None:
    hint = L.params.get(_HINT_ID)
    if not isinstance(hint, list) or len(hint) != 4 * len(L.tops) or L.type in _DATA_DEPENDENT:
        return
    for k, top in enumerate(L.tops):
        dims, w, h, ch = (int(x) for x in hint[4 * k:4 * k + 4])
        want = {1: (w,), 2: (h, w), 3: (ch, h, w)}.get(dims)
        t = c.alias.get(top, top)
        if want is None or t not in c.shapes:
            continue
        got = c.nshape(t)
        if got != want:
            c.hint_mismatches.append(f"line {L.line}: layer '{L.name}' top '{top}': the file's shape hint says "
                                     f"{want}, inferred {got}")


# ---------------------------------------------------------------------------------------
# Layer handlers: one ncnn line -> one or more canonical layers.

def _one(L: _Line, n_bottoms=(1, 1), n_tops=(1, 1)) -> None:
    lo, hi = n_bottoms
    if not lo <= len(L.bottoms) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise L.err(f"{L.type} takes {want} bottom(s), got {len(L.bottoms)}")
    lo, hi = n_tops
    if not lo <= len(L.tops) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise L.err(f"{L.type} gives {want} top(s), got {len(L.tops)}")


def _ins(L: _Line, c: _Ctx) -> list[str]:
    return [c.tensor(L, b) for b in L.bottoms]


def _need_dims(L: _Line, c: _Ctx, t: str, dims: int) -> None:
    if c.dims[t] != dims:
        raise L.err(f"{L.type} needs a {dims}-D ncnn blob (c, h, w), got '{t}' of shape {c.nshape(t)}", ShapeError)


def _axis(L: _Line, c: _Ctx, t: str, axis: int) -> int:
    """ncnn axis (no batch; negative counts from the end) -> canonical axis."""
    d = c.dims[t]
    a = axis + d if axis < 0 else axis
    if not 0 <= a < d:
        raise L.err(f"axis {axis} is out of range for the {d}-D blob '{t}'", ShapeError)
    return a + 1


def _input(L: _Line, c: _Ctx) -> None:
    _one(L, (0, 0), (1, 64))
    L.only("0 1 2 11")
    w, h, d, ch = (L.size(p, 0, n, lo=0) for p, n in ((0, "w"), (1, "h"), (11, "d"), (2, "c")))
    hint = L.params.get(_HINT_ID)
    for k, top in enumerate(L.tops):
        if c.first_input and c.override is not None:
            shape = c.override
        elif w or h or ch:
            dims = [x for x in (ch, d, h, w) if x]
            shape = None
            if ch and d:
                shape = (ch, d, h or 1, w or 1)
            elif ch:
                shape = (ch, h or 1, w or 1)
            elif h:
                shape = (h, w or 1)
            else:
                shape = (w,)
            shape = (c.batch or 1,) + shape
            del dims
        elif isinstance(hint, list) and len(hint) >= 4 * (k + 1) and all(isinstance(x, int) for x in hint):
            dims, hw, hh, hc = hint[4 * k:4 * k + 4]
            shape = (c.batch or 1,) + {1: (hw,), 2: (hh, hw), 3: (hc, hh, hw)}.get(dims, (0,))
        else:
            known = BENCHNCNN_INPUT_SHAPES.get(c.b.net_name)
            hint_ = f"; benchncnn runs {c.b.net_name} at {'x'.join(map(str, known))}" if known else ""
            raise L.err("the Input layer gives no shape (no 0=w 1=h 2=c params, no -23330 hint); pass an "
                        f"input shape (--input-shape 1x3xHxW){hint_}")
        try:
            shape = check_shape(shape, f"input '{top}'")
        except AugurError as e:
            raise e.located(file=c.file, line=L.line, where=f"layer '{L.name}'")
        if c.batch is None:
            c.batch = shape[0]
        c.first_input = False
        lname = L.name if len(L.tops) == 1 else f"{L.name}:{top}"
        if top in c.shapes or lname in c.names:
            raise L.err(f"top '{top}' is already produced by an earlier layer")
        c.b.add_layer(Layer(name=lname, op="input", attrs={"shape": shape, "dtype": "fp32"}, outputs=(top,),
                            source=SourceLoc(c.file, L.line), src_type=L.type))
        c.names.add(lname)
        c.shapes[top] = shape
        c.dims[top] = len(shape) - 1


def _memorydata(L: _Line, c: _Ctx) -> None:
    _one(L, (0, 0))
    L.only("0 1 2 11 21")
    w, h, d, ch = (L.size(p, 0, n, lo=0) for p, n in ((0, "w"), (1, "h"), (11, "d"), (2, "c")))
    if not w:
        raise L.err("MemoryData needs its size: 0=w (and 1=h, 2=c for 2-D/3-D data)")
    shape = (ch, d, h, w) if d else (ch, h or 1, w) if ch else (h, w) if h else (w,)
    c.emit(L, "const", {"shape": shape, "batch": c.batch or 1}, (), L.tops)


# Activation types of Convolution/InnerProduct param 9 (ncnn's activation_type).
def _fused_act(L: _Line, type_id: int = 9, params_id: int = 10):
    at = L.i(type_id, 0, 0, 6, "activation_type")
    p = L.arr(params_id, "activation_params") or []
    if at == 0:
        return None
    if at == 1:
        return {"fn": "relu"}
    if at == 2:
        return {"fn": "leaky_relu", "alpha": float(p[0]) if p else 0.0}
    if at == 3:
        if len(p) < 2:
            raise L.err("activation_type 3 (clip) needs activation_params min,max (key -23310=2,min,max)")
        return {"fn": "clip", "min": float(p[0]), "max": float(p[1])}
    if at == 4:
        return {"fn": "sigmoid"}
    if at == 5:
        return {"fn": "mish"}
    return {"fn": "hard_swish", "alpha": float(p[0]) if p else 0.2, "beta": float(p[1]) if len(p) > 1 else 0.5}


def _emit_with_act(L: _Line, c: _Ctx, op: str, attrs: dict, inputs, act, dims=None) -> None:
    if act is None:
        c.emit(L, op, attrs, inputs, L.tops, dims=dims)
        return
    mid = c.tmp(L, "pre_act")
    c.emit(L, op, attrs, inputs, [mid], dims=dims)
    c.emit(L, "act", act, [mid], L.tops, suffix="act", dims=c.dims[mid])


def _same_pad(size: int, k_ext: int, stride: int, lower: bool) -> tuple[int, int]:
    total = max(k_ext + (size - 1) // stride * stride - size, 0)
    small = total // 2
    return (total - small, small) if lower else (small, total - small)


def _int8(L: _Line, c: _Ctx, attrs: dict) -> None:
    term = L.i(8, 0, 0, 1000, "int8_scale_term")
    if term:
        attrs["int8"] = True
        attrs["int8_scale_term"] = term
        attrs["int8_requant"] = term > 100
        c.int8_layers += 1


def _conv(L: _Line, c: _Ctx) -> None:
    _one(L)
    deconv = L.type.startswith("Deconvolution")
    dw_ = "DepthWise" in L.type
    L.only("0 1 2 3 4 5 6 9 10 11 12 13 14 15 16 18 19" + (" 7" if dw_ else "") + (" 20 21" if deconv else " 8"))
    x = _ins(L, c)[0]
    _need_dims(L, c, x, 3)
    cin, h, w = c.nshape(x)
    cout = L.size(0, 0, "num_output")
    kw = L.size(1, 0, "kernel_w")
    kh = L.size(11, kw, "kernel_h")
    dw = L.size(2, 1, "dilation_w")
    dh = L.size(12, dw, "dilation_h")
    sw = L.size(3, 1, "stride_w")
    sh = L.size(13, sw, "stride_h")
    pl = L.i(4, 0, _SAME_LOWER, _MAX_SIZE, "pad_left")
    pr = L.i(15, pl, _SAME_LOWER, _MAX_SIZE, "pad_right")
    pt = L.i(14, pl, _SAME_LOWER, _MAX_SIZE, "pad_top")
    pb = L.i(16, pt, _SAME_LOWER, _MAX_SIZE, "pad_bottom")
    group = L.size(7, 1, "group") if dw_ else 1
    bias = bool(L.i(5, 0, 0, 1, "bias_term"))
    if not deconv and L.i(19, 0, 0, 1, "dynamic_weight"):
        raise L.err("dynamic_weight convolutions (weights from a second bottom) are not supported",
                    UnsupportedOpError)
    pads = (pt, pl, pb, pr)
    if any(p < 0 for p in pads):
        if deconv or not (all(p == _UNSET for p in pads) or all(p == _SAME_LOWER for p in pads)):
            raise L.err(f"pads {pads}: negative pads must all be -233 (SAME_UPPER) or all -234 (SAME_LOWER)")
        lower = pads[0] == _SAME_LOWER
        pt, pb = _same_pad(h, dh * (kh - 1) + 1, sh, lower)
        pl, pr = _same_pad(w, dw * (kw - 1) + 1, sw, lower)
    if cin % group or cout % group:
        raise L.err(f"group {group} must divide the input channels {cin} and num_output {cout}", ShapeError)
    wsize = L.i(6, 0, 0, _INT32, "weight_data_size")
    want = cout * (cin // group) * kh * kw
    if wsize != want:
        raise L.err(f"weight_data_size {wsize} does not match num_output {cout} x input channels {cin}"
                    f"{f' / group {group}' if group > 1 else ''} x kernel {kh}x{kw} = {want}", ShapeError)
    attrs = {"out_channels": cout, "kernel": (kh, kw), "stride": (sh, sw), "pad": (pt, pl, pb, pr),
             "dilation": (dh, dw), "group": group, "bias": bias}
    if deconv:
        oph = L.size(18, 0, "output_pad_right", lo=0)
        opw_b = L.size(19, oph, "output_pad_bottom", lo=0)
        if L.i(20, 0, 0, _MAX_SIZE) or L.i(21, 0, 0, _MAX_SIZE):
            raise L.err("deconvolution output_w/output_h (params 20/21) are not supported", UnsupportedOpError)
        attrs["output_padding"] = (opw_b, oph)
        op = "deconv"
    else:
        op = "conv"
        _int8(L, c, attrs)
    _emit_with_act(L, c, op, attrs, [x], _fused_act(L))


def _pooling(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1 2 3 4 5 6 7 8 11 12 13 14 15 18")
    x = _ins(L, c)[0]
    ptype = L.i(0, 0, 0, 1, "pooling_type")
    mode = "max" if ptype == 0 else "avg"
    _need_dims(L, c, x, 3)
    _, h, w = c.nshape(x)
    if L.i(4, 0, 0, 1, "global_pooling"):
        c.emit(L, "pool", {"mode": mode, "global": True}, [x], L.tops, dims=1)
        return
    if L.i(7, 0, 0, 1, "adaptive_pooling"):
        ow = L.size(8, 0, "out_w")
        oh = L.size(18, ow, "out_h")
        if h % oh or w % ow:
            raise L.err(f"adaptive pooling {h}x{w} -> {oh}x{ow} with uneven windows is not supported",
                        UnsupportedOpError)
        attrs = {"mode": mode, "kernel": (h // oh, w // ow), "stride": (h // oh, w // ow), "pad": (0, 0, 0, 0)}
        c.emit(L, "pool", attrs, [x], L.tops)
        return
    kw = L.size(1, 0, "kernel_w")
    kh = L.size(11, kw, "kernel_h")
    sw = L.size(2, 1, "stride_w")
    sh = L.size(12, sw, "stride_h")
    pl = L.size(3, 0, "pad_left", lo=0)
    pr = L.size(14, pl, "pad_right", lo=0)
    pt = L.size(13, pl, "pad_top", lo=0)
    pb = L.size(15, pt, "pad_bottom", lo=0)
    pad_mode = L.i(5, 0, 0, 3, "pad_mode")
    if pad_mode == 0:
        # "Full padding" (Caffe-like): ncnn pads the tail so the last partial window counts.
        for size, k, _s, lo_, hi_, axis in ((h, kh, sh, pt, pb, "h"), (w, kw, sw, pl, pr, "w")):
            if size + lo_ + hi_ < k:
                raise L.err(f"pooling window {k} is larger than the padded input {size + lo_ + hi_} ({axis})",
                            ShapeError)
        th = (h + pt + pb - kh) % sh
        tw = (w + pl + pr - kw) % sw
        pb += sh - th if th else 0
        pr += sw - tw if tw else 0
    elif pad_mode in (2, 3):
        pt, pb = _same_pad(h, kh, sh, pad_mode == 3)
        pl, pr = _same_pad(w, kw, sw, pad_mode == 3)
    if max(pt, pb) >= kh or max(pl, pr) >= kw:
        # The canonical pooling op refuses windows that see only padding; ncnn's tail padding
        # can reach one full stride, which stays below the kernel only when stride <= kernel.
        raise L.err(f"pooling pads ({pt},{pl},{pb},{pr}) reach a whole {kh}x{kw} window", UnsupportedOpError)
    attrs = {"mode": mode, "kernel": (kh, kw), "stride": (sh, sw), "pad": (pt, pl, pb, pr), "ceil": False}
    c.emit(L, "pool", attrs, [x], L.tops)


def _innerproduct(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1 2 8 9 10")
    x = _ins(L, c)[0]
    cout = L.size(0, 0, "num_output")
    bias = bool(L.i(1, 0, 0, 1, "bias_term"))
    wsize = L.i(2, 0, 0, _INT32, "weight_data_size")
    ns = c.nshape(x)
    total = 1
    for v in ns:
        total *= v
    if len(ns) == 2 and wsize == cout * ns[1] and wsize != cout * total:
        # ncnn applies a 2-D blob's rows one by one when the weights fit one row.
        attrs, dims = {"out_features": cout, "axis": -1, "bias": bias}, 2
    elif wsize == cout * total:
        attrs, dims = {"out_features": cout, "axis": 1, "bias": bias}, 1
    else:
        raise L.err(f"weight_data_size {wsize} does not match num_output {cout} x {total} input values",
                    ShapeError)
    _int8(L, c, attrs)
    _emit_with_act(L, c, "fc", attrs, [x], _fused_act(L), dims=dims)


def _gemm(L: _Line, c: _Ctx) -> None:
    L.only("0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 20 21 22")
    ins = _ins(L, c)
    if L.i(4, 0, 0, 1, "constantA"):
        raise L.err("Gemm with a constant A (weights on the left) is not supported", UnsupportedOpError)
    for pid, what in ((11, "output_N1M"), (14, "output_transpose"), (2, "transA")):
        if L.i(pid, 0, 0, 1, what):
            raise L.err(f"Gemm {what}=1 is not supported", UnsupportedOpError)
    const_b, const_c = L.i(5, 0, 0, 1, "constantB"), L.i(6, 0, 0, 1, "constantC")
    if const_b:
        _one(L, (1, 2))
        x = ins[0]
        n_out = L.size(8, 0, "constantN")
        k = L.size(9, 0, "constantK")
        if c.shape(x)[-1] != k:
            raise L.err(f"Gemm constantK {k} does not match the input's last dimension {c.shape(x)[-1]}",
                        ShapeError)
        bias = bool(const_c) and L.i(10, 0, -1, 4, "constant_broadcast_type_C") != -1
        c.emit(L, "fc", {"out_features": n_out, "axis": -1, "bias": bias}, [x], L.tops, dims=c.dims[x])
        return
    _one(L, (2, 2))
    if L.i(3, 0, 0, 1, "transB"):
        raise L.err("Gemm of two inputs with transB=1 is not supported", UnsupportedOpError)
    c.emit(L, "matmul", {}, ins, L.tops, dims=max(c.dims[t] for t in ins))


def _mha(L: _Line, c: _Ctx) -> None:
    """ncnn's MultiHeadAttention as the operations it runs: the q/k/v projections, per
    head softmax(q k^T) v, the output projection. The head split and merge are written as
    reshape + transpose (ncnn does them inside its projection loops, so those transposes'
    traffic is an over-estimate; their FLOPs are zero)."""
    _one(L, (1, 3))
    L.only("0 1 2 3 4 5")
    if L.i(5, 0, 0, 1, "attn_mask"):
        raise L.err("MultiHeadAttention with an attention mask input is not supported", UnsupportedOpError)
    ins = _ins(L, c)
    q, k, v = (ins * 3)[:3] if len(ins) == 1 else (ins[0], ins[1], ins[1]) if len(ins) == 2 else ins
    e = L.size(0, 0, "embed_dim")
    heads = L.size(1, 1, "num_head")
    kdim = L.size(3, e, "kdim")
    vdim = L.size(4, e, "vdim")
    if e % heads:
        raise L.err(f"embed_dim {e} is not a multiple of num_head {heads}", ShapeError)
    wsize = L.i(2, 0, 0, _INT32, "weight_data_size")
    if wsize != e * e:
        raise L.err(f"weight_data_size {wsize} does not match embed_dim {e} x {e}", ShapeError)
    for t, want in ((q, e), (k, kdim), (v, vdim)):
        s = c.shape(t)
        if c.dims[t] != 2 or s[-1] != want:
            raise L.err(f"MultiHeadAttention input '{t}' has shape {c.nshape(t)}; expected (seq, {want})",
                        ShapeError)
    n, s_q = c.shape(q)[0], c.shape(q)[1]
    s_k = c.shape(k)[1]
    d = e // heads
    t = {nm: c.tmp(L, nm) for nm in ("q", "k", "v", "qh", "kh", "vh", "qt", "kt", "vt", "qk", "attn", "o",
                                     "ot", "om")}
    fc = {"out_features": e, "axis": -1, "bias": True}
    c.emit(L, "fc", fc, [q], [t["q"]], suffix="q_proj")
    c.emit(L, "fc", fc, [k], [t["k"]], suffix="k_proj")
    c.emit(L, "fc", fc, [v], [t["v"]], suffix="v_proj")
    c.emit(L, "reshape", {"shape": (0, 0, heads, d)}, [t["q"]], [t["qh"]], suffix="q_heads")
    c.emit(L, "reshape", {"shape": (0, 0, heads, d)}, [t["k"]], [t["kh"]], suffix="k_heads")
    c.emit(L, "reshape", {"shape": (0, 0, heads, d)}, [t["v"]], [t["vh"]], suffix="v_heads")
    c.emit(L, "transpose", {"perm": (0, 2, 1, 3)}, [t["qh"]], [t["qt"]], suffix="q_t")
    c.emit(L, "transpose", {"perm": (0, 2, 3, 1)}, [t["kh"]], [t["kt"]], suffix="k_t")
    c.emit(L, "transpose", {"perm": (0, 2, 1, 3)}, [t["vh"]], [t["vt"]], suffix="v_t")
    c.emit(L, "matmul", {}, [t["qt"], t["kt"]], [t["qk"]], suffix="qk")
    c.emit(L, "softmax", {"axis": -1}, [t["qk"]], [t["attn"]], suffix="softmax")
    c.emit(L, "matmul", {}, [t["attn"], t["vt"]], [t["o"]], suffix="qkv")
    c.emit(L, "transpose", {"perm": (0, 2, 1, 3)}, [t["o"]], [t["ot"]], suffix="merge_t")
    c.emit(L, "reshape", {"shape": (0, 0, e)}, [t["ot"]], [t["om"]], suffix="merge")
    c.emit(L, "fc", fc, [t["om"]], L.tops, suffix="out_proj")
    del n, s_q, s_k


_BINARY = {0: "sum", 1: "sub", 2: "prod", 3: "div", 4: "max", 5: "min", 6: "pow", 7: "sub", 8: "div"}


def _binaryop(L: _Line, c: _Ctx) -> None:
    L.only("0 1 2")
    op_type = L.i(0, 0, 0, 11, "op_type")
    if op_type not in _BINARY:
        raise L.err(f"BinaryOp op_type {op_type} is not supported (0-8: add sub mul div max min pow rsub rdiv)",
                    UnsupportedOpError)
    fn = _BINARY[op_type]
    if L.i(1, 0, 0, 1, "with_scalar"):
        _one(L)
        x = _ins(L, c)[0]
        # x op b with b a hyper-parameter: one operation per element, no weights.
        c.emit(L, "eltwise", {"fn": fn, "broadcast": True, "scalar": L.f(2, 0.0, "b")}, [x], L.tops,
               dims=c.dims[x])
        return
    _one(L, (2, 2))
    a, b = _ins(L, c)
    if op_type in (7, 8):
        a, b = b, a  # reversed: b - a, b / a
    a, b = _outer_align(L, c, a, b)
    c.emit(L, "eltwise", {"fn": fn, "broadcast": True}, [a, b], L.tops, dims=max(c.dims[a], c.dims[b]))


def _outer_align(L: _Line, c: _Ctx, a: str, b: str) -> tuple[str, str]:
    """ncnn broadcasts a lower-rank blob along the OUTER axes (a 1-D blob of C values
    scales each channel of a (C, H, W) blob); numpy aligns the inner ones. A free reshape
    that appends unit axes makes the canonical op see what ncnn does."""
    ra, rb = len(c.shape(a)), len(c.shape(b))
    if ra == rb:
        return a, b
    lo = a if ra < rb else b
    target = tuple(c.shape(lo)) + (1,) * (abs(ra - rb))
    t = c.tmp(L, f"bcast_{lo}")
    c.emit(L, "reshape", {"shape": (0,) + target[1:]}, [lo], [t], suffix=f"bcast{0 if lo == a else 1}",
           dims=c.dims[lo])
    return (t, b) if lo == a else (a, t)


def _eltwise(L: _Line, c: _Ctx) -> None:
    _one(L, (2, 4096))
    L.only("0 1")
    op_type = L.i(0, 0, 0, 2, "op_type")
    fn = ("prod", "sum", "max")[op_type]
    coeffs = L.arr(1, "coeffs")
    if coeffs and op_type != 1:
        coeffs = None  # ncnn applies coefficients to SUM only
    if coeffs is not None and len(coeffs) != len(L.bottoms):
        raise L.err(f"Eltwise has {len(coeffs)} coeffs for {len(L.bottoms)} bottoms")
    ins = _ins(L, c)
    c.emit(L, "eltwise", {"fn": fn, "coeffs": tuple(float(x) for x in coeffs) if coeffs else None,
                          "broadcast": False}, ins, L.tops, dims=c.dims[ins[0]])


def _split(L: _Line, c: _Ctx) -> None:
    _one(L, (1, 1), (1, 4096))
    L.only("")
    x = _ins(L, c)[0]
    c.emit(L, "identity", {"num_outputs": len(L.tops)}, [x], L.tops, dims=c.dims[x])


def _concat(L: _Line, c: _Ctx) -> None:
    _one(L, (1, 4096))
    L.only("0")
    ins = _ins(L, c)
    axis = _axis(L, c, ins[0], L.i(0, 0, -4, 4, "axis"))
    c.emit(L, "concat", {"axis": axis}, ins, L.tops, dims=c.dims[ins[0]])


def _slice(L: _Line, c: _Ctx) -> None:
    _one(L, (1, 1), (1, 4096))
    L.only("0 1")
    x = _ins(L, c)[0]
    axis = _axis(L, c, x, L.i(1, 0, -4, 4, "axis"))
    slices = L.int_arr(0, "slices")
    total = c.shape(x)[axis]
    n = len(L.tops)
    if slices is None:
        slices = [_UNSET] * n
    if len(slices) != n:
        raise L.err(f"Slice has {len(slices)} slices for {n} tops")
    sizes, used = [], 0
    for i, s in enumerate(slices):
        if s == _UNSET:
            s = (total - used) // (n - i)  # ncnn: the rest, shared by the remaining slices
        elif s < 0:
            raise L.err(f"slice size {s} is negative (only -233, 'the rest', is allowed)")
        sizes.append(s)
        used += s
    if used != total or any(s <= 0 for s in sizes):
        raise L.err(f"slices {slices} give sizes {sizes}, which do not split {total} along axis "
                    f"{axis - 1} into non-empty parts", ShapeError)
    c.emit(L, "split", {"axis": axis, "sizes": tuple(sizes), "num_outputs": n}, [x], L.tops, dims=c.dims[x])


def _crop(L: _Line, c: _Ctx) -> None:
    L.only("0 1 2 3 4 5 6 7 8 9 10 11")
    _one(L, (1, 2))
    ins = _ins(L, c)
    x = ins[0]
    ns = c.nshape(x)
    rank = len(c.shape(x))
    starts_a = L.int_arr(9, "starts")
    if starts_a is not None:
        ends_a = L.int_arr(10, "ends") or []
        axes_a = L.int_arr(11, "axes")
        if axes_a is None:
            axes_a = list(range(len(starts_a)))
        if not len(starts_a) == len(ends_a) == len(axes_a):
            raise L.err(f"Crop starts/ends/axes have {len(starts_a)}/{len(ends_a)}/{len(axes_a)} values")
        axes = [_axis(L, c, x, a) for a in axes_a]
        big = 1 << 40
        ends = [big if e in (_UNSET, _INT32) else e for e in ends_a]
        c.emit(L, "slice", {"starts": tuple(starts_a), "ends": tuple(ends), "axes": tuple(axes)}, [x], L.tops,
               dims=c.dims[x])
        return
    # Offsets and sizes per named axis (w, h, c); a second bottom gives the sizes instead.
    offs = {"w": L.size(0, 0, "woffset", lo=0), "h": L.size(1, 0, "hoffset", lo=0), "c": L.size(2, 0, "coffset", lo=0)}
    offs2 = {"w": L.size(6, 0, "woffset2", lo=0), "h": L.size(7, 0, "hoffset2", lo=0),
             "c": L.size(8, 0, "coffset2", lo=0)}
    outs = {"w": L.i(3, 0, _UNSET, _MAX_SIZE, "outw"), "h": L.i(4, 0, _UNSET, _MAX_SIZE, "outh"),
            "c": L.i(5, 0, _UNSET, _MAX_SIZE, "outc")}
    if len(ins) == 2:
        ref = c.nshape(ins[1])
        outs = {"w": ref[-1], "h": ref[-2] if len(ref) >= 2 else 0, "c": ref[-3] if len(ref) >= 3 else 0}
    named = {"w": -1, "h": -2, "c": -3}
    starts, ends, axes = [], [], []
    for nm, neg in named.items():
        if -neg > len(ns):
            if offs[nm] or outs[nm] > 0:
                raise L.err(f"Crop along {nm} on a {len(ns)}-D blob", ShapeError)
            continue
        size = ns[neg]
        o, o2, out = offs[nm], offs2[nm], outs[nm]
        if out == _UNSET:
            out = size - o
        elif out == 0:
            out = size - o - o2
        if out < 0:
            raise L.err(f"Crop size {out} along {nm} is negative")
        if o == 0 and out == size:
            continue
        if o + out > size or out == 0:
            raise L.err(f"Crop {nm}: offset {o} + size {out} exceeds {size} or is empty", ShapeError)
        starts.append(o)
        ends.append(o + out)
        axes.append(rank + neg)
    if not axes:
        c.emit(L, "identity", {"num_outputs": 1}, [x], L.tops, dims=c.dims[x])
        return
    c.emit(L, "slice", {"starts": tuple(starts), "ends": tuple(ends), "axes": tuple(axes)}, [x], L.tops,
           dims=c.dims[x])


def _interp(L: _Line, c: _Ctx) -> None:
    L.only("0 1 2 3 4 5 6 7")
    rtype = L.i(0, 0, 0, 3, "resize_type")
    mode = {0: "nearest", 1: "nearest", 2: "bilinear", 3: "cubic"}[rtype]
    dynamic = L.i(5, 0, 0, 1, "dynamic_target_size")
    _one(L, (2, 2) if dynamic else (1, 1))
    ins = _ins(L, c)
    x = ins[0]
    _need_dims(L, c, x, 3)
    _, h, w = c.nshape(x)
    if dynamic:
        oh, ow = c.nshape(ins[1])[-2:]
    else:
        hs, ws = L.f(1, 1.0, "height_scale"), L.f(2, 1.0, "width_scale")
        oh, ow = L.size(3, 0, "output_height", lo=0), L.size(4, 0, "output_width", lo=0)
        if not (0 < hs < 1e6 and 0 < ws < 1e6):
            raise L.err(f"Interp scales {hs}, {ws} must be positive")
        oh = oh or int(h * hs)
        ow = ow or int(w * ws)
    if oh <= 0 or ow <= 0:
        raise L.err(f"Interp output {oh}x{ow} is empty", ShapeError)
    # Scales that floor back to exactly (oh, ow) (the resize op computes int(size * scale)).
    scales = (1.0, 1.0, (oh + 0.5) / h, (ow + 0.5) / w)
    c.emit(L, "resize", {"scales": scales, "mode": mode}, [x], L.tops)


def _reshape(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1 2 3 11")
    x = _ins(L, c)[0]
    if L.i(3, 0, 0, 1, "permute"):
        raise L.err("Reshape with permute=1 (reshape in HWC order) is not supported", UnsupportedOpError)
    ns = c.nshape(x)
    named_in = {"w": ns[-1], "h": ns[-2] if len(ns) >= 2 else 1, "d": ns[-4] if len(ns) >= 4 else 1,
                "c": ns[-3] if len(ns) >= 3 else 1}
    spec = {nm: L.i(pid, _UNSET, _UNSET, _MAX_SIZE, nm) for pid, nm in ((0, "w"), (1, "h"), (11, "d"), (2, "c"))}
    if spec["c"] != _UNSET:
        order = ("c", "d", "h", "w") if spec["d"] != _UNSET else ("c", "h", "w")
    elif spec["h"] != _UNSET:
        order = ("h", "w")
    else:
        order = ("w",)
    target = []
    for nm in order:
        v = spec[nm]
        if v == _UNSET:
            raise L.err(f"Reshape: {nm} is unset while an outer dimension is set")
        if v == 0:
            v = named_in[nm]  # 0: copy the bottom's dimension of the same name
        elif v < -1:
            raise L.err(f"Reshape {nm}={v}; expected a size, 0 (copy), -1 (the rest) or -233 (none)")
        target.append(v)
    if target.count(-1) > 1:
        raise L.err("Reshape has more than one -1")
    c.emit(L, "reshape", {"shape": (0,) + tuple(target)}, [x], L.tops)


# Permute order types (ncnn operators.md): the letters name, innermost first, which input
# axis each output axis takes.
_PERMUTE3 = ("WHC", "HWC", "WCH", "CWH", "HCW", "CHW")
_PERMUTE2 = ("WH", "HW")


def _permute(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0")
    x = _ins(L, c)[0]
    order = L.i(0, 0, 0, 23, "order_type")
    d = c.dims[x]
    table = {2: _PERMUTE2, 3: _PERMUTE3}.get(d)
    if table is None or order >= len(table):
        raise L.err(f"Permute order_type {order} on a {d}-D blob is not supported", UnsupportedOpError)
    letters = table[order]
    pos = {"W": d, "H": d - 1, "C": d - 2}  # canonical axis of each input letter
    perm = (0,) + tuple(pos[ch] for ch in reversed(letters))
    c.emit(L, "transpose", {"perm": perm}, [x], L.tops)


def _flatten(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("")
    x = _ins(L, c)[0]
    c.emit(L, "flatten", {"axis": 1, "end_axis": -1}, [x], L.tops)


def _padding(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1 2 3 4 5 6 7 8")
    x = _ins(L, c)[0]
    t, b, l, r = (L.size(p, 0, nm, lo=0) for p, nm in ((0, "top"), (1, "bottom"), (2, "left"), (3, "right")))
    front, behind = L.size(7, 0, "front", lo=0), L.size(8, 0, "behind", lo=0)
    ptype = L.i(4, 0, 0, 2, "type")
    if L.i(6, 0, 0, _MAX_SIZE, "per_channel_pad_data_size"):
        raise L.err("per-channel pad values are not supported", UnsupportedOpError)
    d = c.dims[x]
    if d == 3:
        begins, ends = (0, front, t, l), (0, behind, b, r)
    elif d == 2 and not (front or behind):
        begins, ends = (0, t, l), (0, b, r)
    elif d == 1 and not (front or behind or t or b):
        begins, ends = (0, l), (0, r)
    else:
        raise L.err(f"Padding of a {d}-D blob along axes it lacks", ShapeError)
    if not any(begins + ends):
        c.emit(L, "identity", {"num_outputs": 1}, [x], L.tops, dims=d)
        return
    mode = ("constant", "edge", "reflect")[ptype]
    c.emit(L, "pad", {"pads": begins + ends, "mode": mode, "value": L.f(5, 0.0, "value")}, [x], L.tops)


def _softmax(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1")
    x = _ins(L, c)[0]
    c.emit(L, "softmax", {"axis": _axis(L, c, x, L.i(0, 0, -4, 4, "axis"))}, [x], L.tops, dims=c.dims[x])


def _act(fn: str, ids: str = "", attrs_fn=None):
    def handler(L: _Line, c: _Ctx) -> None:
        _one(L)
        L.only(ids)
        x = _ins(L, c)[0]
        attrs = {"fn": fn, **(attrs_fn(L) if attrs_fn else {})}
        if fn == "relu" and attrs.get("alpha"):
            attrs = {"fn": "leaky_relu", "alpha": attrs["alpha"]}
        elif fn == "relu":
            attrs = {"fn": "relu"}
        c.emit(L, "act", attrs, [x], L.tops, dims=c.dims[x])
    return handler


_UNARY = {0: "abs", 1: "neg", 5: "sqrt", 7: "exp", 16: "tanh"}


def _unaryop(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0")
    op = L.i(0, 0, 0, 20, "op_type")
    if op not in _UNARY:
        raise L.err(f"UnaryOp op_type {op} is not supported (supported: "
                    f"{', '.join(f'{k} {v}' for k, v in _UNARY.items())})", UnsupportedOpError)
    x = _ins(L, c)[0]
    c.emit(L, "act", {"fn": _UNARY[op]}, [x], L.tops, dims=c.dims[x])


def _prelu(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0")
    x = _ins(L, c)[0]
    n = L.size(0, 0, "num_slope")
    ch = c.shape(x)[1] if len(c.shape(x)) > 1 else 1
    if n not in (1, ch):
        raise L.err(f"PReLU num_slope {n} must be 1 or the channel count {ch}", ShapeError)
    c.emit(L, "act", {"fn": "prelu", "channel_shared": n == 1}, [x], L.tops, dims=c.dims[x])


def _batchnorm(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1")
    x = _ins(L, c)[0]
    ch = L.size(0, 0, "channels")
    if c.shape(x)[1] != ch:
        raise L.err(f"BatchNorm channels {ch} do not match the input's {c.shape(x)[1]}", ShapeError)
    # ncnn stores slope, mean, variance and bias: the affine part is learned.
    c.emit(L, "batchnorm", {"affine": True, "eps": L.f(1, 0.0, "eps")}, [x], L.tops, dims=c.dims[x])


def _scale(L: _Line, c: _Ctx) -> None:
    L.only("0 1")
    size = L.i(0, 0, _UNSET, _MAX_SIZE, "scale_data_size")
    bias = bool(L.i(1, 0, 0, 1, "bias_term"))
    if size == _UNSET:
        _one(L, (2, 2))
        a, b = _ins(L, c)
        a, b = _outer_align(L, c, a, b)
        c.emit(L, "eltwise", {"fn": "prod", "broadcast": True}, [a, b], L.tops, dims=c.dims[a])
        return
    _one(L)
    x = _ins(L, c)[0]
    if c.shape(x)[1] != size:
        raise L.err(f"Scale scale_data_size {size} does not match the input's {c.shape(x)[1]} channels", ShapeError)
    c.emit(L, "scale", {"axis": 1, "num_axes": 1, "bias": bias}, [x], L.tops, dims=c.dims[x])


def _bias(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0")
    x = _ins(L, c)[0]
    size = L.size(0, 0, "bias_data_size")
    if c.shape(x)[1] != size:
        raise L.err(f"Bias bias_data_size {size} does not match the input's {c.shape(x)[1]} channels", ShapeError)
    c.emit(L, "bias", {"axis": 1, "num_axes": 1}, [x], L.tops, dims=c.dims[x])


def _lrn(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1 2 3 4")
    x = _ins(L, c)[0]
    region = L.i(0, 0, 0, 1, "region_type")
    c.emit(L, "lrn", {"size": L.size(1, 5, "local_size"), "alpha": L.f(2, 1.0), "beta": L.f(3, 0.75),
                      "k": L.f(4, 1.0), "region": "within" if region else "across"}, [x], L.tops)


def _layernorm(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1 2")
    x = _ins(L, c)[0]
    size = L.size(0, 0, "affine_size")
    s = c.shape(x)
    if s[-1] == size:
        axis = -1
    elif len(s) >= 3 and s[-1] * s[-2] == size:
        axis = -2
    else:
        raise L.err(f"LayerNorm affine_size {size} matches neither the last dimension nor the last two of "
                    f"{c.nshape(x)}", ShapeError)
    c.emit(L, "layernorm", {"axis": axis, "affine": bool(L.i(2, 1, 0, 1, "affine")), "eps": L.f(1, 0.001)},
           [x], L.tops, dims=c.dims[x])


_REDUCTION = ("sum", "asum", "sumsq", "mean", "max", "min", "prod", "l1", "l2", "logsum", "logsumexp")


def _reduction(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1 2 3 4 5")
    x = _ins(L, c)[0]
    fn = _REDUCTION[L.i(0, 0, 0, len(_REDUCTION) - 1, "operation")]
    keep = bool(L.i(4, 0, 0, 1, "keepdims"))
    d = c.dims[x]
    if L.i(1, 1, 0, 1, "reduce_all"):
        axes = tuple(range(1, d + 1))
    else:
        raw = L.int_arr(3, "axes")
        if not raw:
            raise L.err("Reduction with reduce_all=0 needs axes (key -23303)")
        if not L.i(5, 0, 0, 1, "fixbug0"):
            raise L.err("Reduction axes from an old converter (no 5=1 fixbug0) are ambiguous; regenerate the "
                        "file with a current ncnn", UnsupportedOpError)
        axes = tuple(sorted({_axis(L, c, x, a) for a in raw}))
    out_dims = d if keep else max(d - len(axes), 1)
    c.emit(L, "reduce", {"fn": fn, "axes": axes, "keepdims": keep}, [x], L.tops, dims=out_dims)


def _shufflechannel(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0 1")
    x = _ins(L, c)[0]
    _need_dims(L, c, x, 3)
    c.emit(L, "channel_shuffle", {"group": L.size(0, 1, "group"), "reverse": bool(L.i(1, 0, 0, 1, "reverse"))},
           [x], L.tops)


def _noop(L: _Line, c: _Ctx) -> None:
    # ncnn's Noop computes nothing; its top stands for its first bottom.
    L.only("")
    if not L.tops:
        return
    if len(L.tops) != 1 or not L.bottoms:
        raise L.err("Noop takes one or more bottoms and gives one top")
    src = _ins(L, c)[0]
    if L.tops[0] in c.shapes or L.tops[0] in c.alias:
        raise L.err(f"top '{L.tops[0]}' is already produced by an earlier layer")
    c.alias[L.tops[0]] = src
    c.b.drop(L.name, L.type, "no operation (its top is its first bottom)")


def _identity(ids: str = ""):
    def handler(L: _Line, c: _Ctx) -> None:
        _one(L)
        L.only(ids)
        x = _ins(L, c)[0]
        c.emit(L, "identity", {"num_outputs": 1}, [x], L.tops, dims=c.dims[x])
    return handler


def _dropout(L: _Line, c: _Ctx) -> None:
    _one(L)
    L.only("0")
    x = _ins(L, c)[0]
    scale = L.f(0, 1.0, "scale")
    if scale == 1.0:
        c.emit(L, "identity", {"num_outputs": 1}, [x], L.tops, dims=c.dims[x])
    else:
        c.emit(L, "eltwise", {"fn": "prod", "broadcast": True, "scalar": scale}, [x], L.tops, dims=c.dims[x])


def _quant(kind: str):
    """Quantize (x * scale -> int8), Dequantize (x * scale + bias) and Requantize (both,
    with an activation between): per-element multiply-adds, marked ``quant`` so the
    runtime model can tell them from float arithmetic."""
    def handler(L: _Line, c: _Ctx) -> None:
        _one(L)
        L.only("0 1 2 3 4" if kind == "requantize" else "0 1")
        x = _ins(L, c)[0]
        ch = c.shape(x)[1] if len(c.shape(x)) > 1 else 1
        n_scale = L.size(0, 1, "scale_data_size" if kind != "requantize" else "scale_in_data_size")
        n_bias = 0 if kind == "quantize" else L.size(1 if kind == "dequantize" else 2, 0, "bias_data_size", lo=0)
        for n, what in ((n_scale, "scale"), (n_bias, "bias")):
            if n not in (0, 1, ch):
                raise L.err(f"{L.type} {what} size {n} must be 1 or the channel count {ch}", ShapeError)
        act = _fused_act(L, 3, 4) if kind == "requantize" else None
        if n_scale == ch and ch > 1:
            attrs = {"axis": 1, "num_axes": 1, "bias": n_bias > 0, "quant": kind}
            _emit_with_act(L, c, "scale", attrs, [x], act, dims=c.dims[x])
        else:
            attrs = {"fn": "prod", "broadcast": True, "scalar": 1.0, "quant": kind}
            _emit_with_act(L, c, "eltwise", attrs, [x], act, dims=c.dims[x])
    return handler


def _priorbox(L: _Line, c: _Ctx) -> None:
    _one(L, (1, 2))
    L.only("0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15")
    ins = _ins(L, c)
    mins = L.arr(0, "min_sizes") or []
    maxs = L.arr(1, "max_sizes") or []
    ars = L.arr(2, "aspect_ratios") or []
    if L.i(9, 0, _UNSET, _MAX_SIZE) == _UNSET and L.i(10, 0, _UNSET, _MAX_SIZE) == _UNSET and len(ins) == 1 \
            and not maxs:
        raise L.err("MXNet-style PriorBox (one bottom) is not supported", UnsupportedOpError)
    _need_dims(L, c, ins[0], 3)
    attrs = {"min_sizes": tuple(float(v) for v in mins), "max_sizes": tuple(float(v) for v in maxs),
             "aspect_ratios": tuple(float(v) for v in ars), "flip": bool(L.i(7, 1, 0, 1, "flip")),
             "clip": bool(L.i(8, 0, 0, 1, "clip"))}
    # The image bottom only lends its size: the canonical op reads the feature map alone.
    c.emit(L, "priorbox", attrs, ins[:1], L.tops, dims=2)


def _detectionoutput(L: _Line, c: _Ctx) -> None:
    _one(L, (3, 3))
    L.only("0 1 2 3 4 5 6 7 8")
    ins = _ins(L, c)
    attrs = {"num_classes": L.size(0, 0, "num_class"), "nms_top_k": L.size(2, 300, "nms_top_k"),
             "keep_top_k": L.size(3, 100, "keep_top_k")}
    c.emit(L, "detection_output", attrs, ins, L.tops, dims=2)


def _yolo(v3: bool):
    def handler(L: _Line, c: _Ctx) -> None:
        _one(L, (1, 16))
        L.only("0 1 2 3 4 5 6" if v3 else "0 1 2 3 4")
        ins = _ins(L, c)
        for t in ins:
            _need_dims(L, c, t, 3)
        attrs = {"num_classes": L.size(0, 20, "num_class"), "num_box": L.size(1, 5, "num_box"),
                 "softmax": not v3}
        biases = L.float_arr(4, "biases") or []
        if v3:
            mask = L.float_arr(5, "mask") or []
            if len(mask) < attrs["num_box"] * len(ins):
                raise L.err(f"Yolov3DetectionOutput mask has {len(mask)} entries; {len(ins)} inputs x num_box "
                            f"{attrs['num_box']} need one each")
            if any(not 0 <= int(m) < len(biases) // 2 for m in mask):
                raise L.err(f"mask {mask} indexes beyond the {len(biases) // 2} anchors in biases")
        elif len(biases) < 2 * attrs["num_box"]:
            raise L.err(f"YoloDetectionOutput has {len(biases)} bias values for {attrs['num_box']} boxes "
                        f"(want 2 each)")
        c.emit(L, "yolo_detection", attrs, ins, L.tops, dims=2)
    return handler


_HANDLERS = {
    "Input": _input, "MemoryData": _memorydata,
    "Convolution": _conv, "ConvolutionDepthWise": _conv, "Deconvolution": _conv, "DeconvolutionDepthWise": _conv,
    "Pooling": _pooling, "InnerProduct": _innerproduct, "Gemm": _gemm, "MultiHeadAttention": _mha,
    "BinaryOp": _binaryop, "Eltwise": _eltwise, "Split": _split, "Concat": _concat, "Slice": _slice,
    "Crop": _crop, "Interp": _interp, "Reshape": _reshape, "Permute": _permute, "Flatten": _flatten,
    "Padding": _padding, "Softmax": _softmax,
    "ReLU": _act("relu", "0", lambda L: {"alpha": L.f(0, 0.0, "slope")}),
    "Clip": _act("clip", "0 1", lambda L: {"min": L.f(0, -3.4e38), "max": L.f(1, 3.4e38)}),
    "Sigmoid": _act("sigmoid"), "Swish": _act("swish"), "Mish": _act("mish"), "TanH": _act("tanh"),
    "AbsVal": _act("abs"),
    "HardSwish": _act("hard_swish", "0 1", lambda L: {"alpha": L.f(0, 0.2), "beta": L.f(1, 0.5)}),
    "HardSigmoid": _act("hard_sigmoid", "0 1", lambda L: {"alpha": L.f(0, 0.2), "beta": L.f(1, 0.5)}),
    "ELU": _act("elu", "0", lambda L: {"alpha": L.f(0, 0.1)}),
    "GELU": _act("gelu", "0", lambda L: {"approximate": "tanh" if L.i(0, 0, 0, 1) else "none"}),
    "UnaryOp": _unaryop, "PReLU": _prelu,
    "BatchNorm": _batchnorm, "Scale": _scale, "Bias": _bias, "LRN": _lrn, "LayerNorm": _layernorm,
    "Reduction": _reduction, "ShuffleChannel": _shufflechannel, "Noop": _noop,
    "Dropout": _dropout, "Cast": _identity("0 1"), "Packing": _identity("0 1 2 3 4 5"),
    "Quantize": _quant("quantize"), "Dequantize": _quant("dequantize"), "Requantize": _quant("requantize"),
    "PriorBox": _priorbox, "DetectionOutput": _detectionoutput,
    "Yolov3DetectionOutput": _yolo(True), "YoloDetectionOutput": _yolo(False),
}
