"""The compact YAML network format (docs/NETFORMAT.md): blocks, repeat, fused conv+bn+act.

A file is expanded here into plain graph layers. Expansion tracks tensor shapes as it
goes (with the op registry's own shape rules), so that depthwise groups, channel
shuffles and early shape errors can be resolved at the line that caused them.
Every error is a one-line AugurError naming the file, the line and the YAML path.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path


from ..errors import AugurError, SchemaError
from ..fileio import read_text
from ..hw.yamlsrc import Node
from ..hw.yamlsrc import parse_yaml as read_parsed
from ..graph import DTYPE_BYTES, MAX_DIM, GraphBuilder, Layer, LayerGraph, SourceLoc, check_shape
from ..ops import registry
from ..ops.activations import ACTIVATIONS
from ..ops.facts import FACTS

# Guards against files that expand without bound (typos such as `repeat: 100000`).
MAX_REPEAT = 10_000
# Expansion costs about 0.3-1 ms per layer (shape inference included) on a small VM: 20,000
# layers (ResNet-1001 has about 3,000) keeps the worst file a user can write to seconds, not
# the minutes 500,000 took (found by fuzzing: a mutated repeat count gave 29,000 layers in 34 s).
MAX_LAYERS = 20_000
MAX_BLOCK_DEPTH = 64
MAX_SPLIT_PARTS = 4096

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_PARAM_RE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_REF_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)(?::([0-9]+))?$")
_REQUIRED = object()

TOP_KEYS = ("name", "source", "description", "input", "blocks", "layers", "outputs")
BLOCK_KEYS = ("params", "layers", "output", "description")
CALL_KEYS = ("block", "args", "repeat", "first", "in", "if")
PARAM_TYPES = ("int", "float", "bool", "str", "ints", "any")
# The name a scope's input is referenced by, in a block and at the top level.
INPUT_REF = "input"

# Activation spellings accepted besides the canonical fn names, and what they mean.
ACT_ALIASES = {
    "relu6": {"fn": "clip", "min": 0.0, "max": 6.0},
    "silu": {"fn": "swish"},
    "hardswish": {"fn": "hard_swish"},
    "hardsigmoid": {"fn": "hard_sigmoid"},
}
ELTWISE_KEYS = {"add": "sum", "mul": "prod", "max": "max", "min": "min", "sub": "sub", "div": "div"}
# Keys that make a layer (each kind's `yaml` keys in ops/facts.py); `bn` and `act` may also
# follow another op in the same entry.
OP_KEYS = tuple(k for f in FACTS.values() for k in f.yaml)
POST_KEYS = ("bn", "act")
LAYER_KEYS = OP_KEYS + ("in", "if")
# How many inputs each op takes (lo, hi).
ARITY = {**{k: (1, 1) for k in OP_KEYS}, **{k: (2, 64) for k in ELTWISE_KEYS},
         "concat": (1, 4096), "matmul": (2, 2)}


# ---------------------------------------------------------------- YAML with line numbers

class _Map(dict):
    """A YAML mapping that remembers the line of every key."""
    line: int = 0
    lines: dict


class _Seq(list):
    """A YAML sequence that remembers the line of every item."""
    line: int = 0
    lines: list


# A net may be long (every layer spelled out), far more than a spec: a larger node bound.
MAX_YAML_NODES = 2_000_000


def _from_node(n: Node):
    """The located tree of the shared reader (hw/yamlsrc.py) as _Map/_Seq/scalars."""
    if isinstance(n.value, dict):
        m = _Map((k, _from_node(v)) for k, v in n.value.items())
        m.line = n.line or 0
        m.lines = dict(n.key_lines or {})
        return m
    if isinstance(n.value, list):
        s = _Seq(_from_node(v) for v in n.value)
        s.line = n.line or 0
        s.lines = [v.line for v in n.value]
        return s
    return n.value


def parse_yaml(text: str, file: str | None):
    """The shared YAML reader (safe loader; duplicate keys, tags, merges and alias blow-ups
    refused, hw/yamlsrc.py); mappings and sequences carry line numbers."""
    top = f"a network file is a mapping with keys {', '.join(TOP_KEYS)}"
    return _from_node(read_parsed(text, file or "<string>", max_nodes=MAX_YAML_NODES, what="networks",
                                  top=top, empty="the file is empty", empty_line=None))


# ---------------------------------------------------------------- locations

@dataclass(frozen=True)
class _W:
    """Where a value sits: its YAML path and line."""
    path: str
    line: int | None

    def key(self, m, k: str) -> _W:
        line = m.lines.get(k, m.line) if isinstance(m, _Map) else self.line
        return _W(f"{self.path}.{k}" if self.path else k, line)

    def idx(self, s, i: int) -> _W:
        line = s.lines[i] if isinstance(s, _Seq) else self.line
        return _W(f"{self.path}[{i}]", line)


@dataclass(frozen=True)
class _Param:
    type: str
    default: object
    w: _W


@dataclass(frozen=True)
class _BlockDef:
    name: str
    params: dict
    layers: object
    layers_w: _W
    output: tuple | None  # (name, _W)
    w: _W


@dataclass
class _Scope:
    prefix: str                 # "" at the top level, "layer2.1" inside a block call
    input: tuple                # the tensor(s) the scope starts from
    params: dict                # parameter values bound by the call
    block: str | None = None
    stack: tuple = ()           # chain of block names, for recursion errors
    locals: dict = field(default_factory=dict)  # local layer name -> (tensors, _W)

    def full(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name


@dataclass(frozen=True)
class _Sub:
    """One graph layer an entry expands to (a fused entry gives several)."""
    suffix: str | None
    op: str
    attrs: dict
    n_out: int
    src_type: str


# ---------------------------------------------------------------- the expander

class _Expander:
    def __init__(self, doc, file: str, input_shape):
        self.doc = doc
        self.file = file
        self.input_shape = input_shape
        self.blocks: dict[str, _BlockDef] = {}
        self.used_blocks: set[str] = set()
        self.shapes: dict[str, tuple] = {}
        self.names: dict[str, _W] = {}          # full layer name -> where it was declared
        self.producer_w: dict[str, tuple] = {}  # tensor -> (layer name, _W)
        self.consumed: set[str] = set()
        self.ctx: list[str] = []                # "layer2.1 = bottleneck" while expanding calls
        self.builder: GraphBuilder | None = None
        self.work = 0                           # lower bound of the expansion, summed over top-level calls

    # -- errors
    def err(self, w: _W, msg: str) -> SchemaError:
        where = w.path or None
        if self.ctx:
            where = f"{where} (expanding {self.ctx[-1]})"
        return SchemaError(msg, file=self.file, line=w.line, where=where)

    def keys_ok(self, m, w: _W, allowed, required=(), what="key"):
        if not isinstance(m, _Map):
            raise self.err(w, f"expected a mapping with keys {', '.join(allowed)}, got {_kind(m)}")
        for k in m:
            if k not in allowed:
                close = difflib.get_close_matches(k, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.err(w.key(m, k), f"unknown {what} '{k}'{hint}; expected one of "
                                            f"{', '.join(allowed)}")
        for k in required:
            if k not in m:
                raise self.err(w, f"missing required key '{k}'")

    # -- parameters
    def subst(self, v, w: _W, scope: _Scope | None):
        if isinstance(v, str):
            m = _PARAM_RE.match(v)
            if m:
                name = m.group(1)
                params = scope.params if scope else {}
                if name not in params:
                    if scope is None or scope.block is None:
                        raise self.err(w, f"'{v}': parameters can only be used inside a block")
                    known = ", ".join(sorted(params)) or "none"
                    raise self.err(w, f"undefined parameter '{v}'; block '{scope.block}' declares: {known}")
                return params[name]
            if v.startswith("$"):
                raise self.err(w, f"'{v}' is not a parameter reference ($name, letters digits _)")
        elif isinstance(v, _Seq):
            out = _Seq(self.subst(x, w.idx(v, i), scope) for i, x in enumerate(v))
            out.line, out.lines = v.line, v.lines
            return out
        return v

    def check_type(self, v, typ: str, w: _W):
        ok = {"int": lambda x: _is_int(x),
              "float": lambda x: _is_num(x),
              "bool": lambda x: isinstance(x, bool),
              "str": lambda x: isinstance(x, str),
              "ints": lambda x: isinstance(x, list) and all(_is_int(i) for i in x),
              "any": lambda x: True}[typ](v)
        if not ok:
            raise self.err(w, f"expected {typ}, got {_kind(v)} {v!r}")

    # -- value parsers: (value already substituted, where) -> canonical value
    def p_pos(self, v, w):
        if not _is_int(v):
            raise self.err(w, f"expected a positive integer, got {_kind(v)} {v!r}")
        if v <= 0:
            raise self.err(w, f"must be a positive integer, got {v}")
        if v > MAX_DIM:
            raise self.err(w, f"{v} is absurdly large (more than {MAX_DIM})")
        return v

    def p_nonneg(self, v, w):
        if not _is_int(v):
            raise self.err(w, f"expected a non-negative integer, got {_kind(v)} {v!r}")
        if v < 0:
            raise self.err(w, f"must not be negative, got {v}")
        if v > MAX_DIM:
            raise self.err(w, f"{v} is absurdly large (more than {MAX_DIM})")
        return v

    def p_int(self, v, w):
        if not _is_int(v) or abs(v) > MAX_DIM:
            raise self.err(w, f"expected an integer, got {_kind(v)} {v!r}")
        return v

    def p_bool(self, v, w):
        if not isinstance(v, bool):
            raise self.err(w, f"expected true or false, got {_kind(v)} {v!r}")
        return v

    def p_num(self, v, w):
        if not _is_num(v) or not math.isfinite(v):
            raise self.err(w, f"expected a finite number, got {_kind(v)} {v!r}")
        return v

    def p_str(self, v, w):
        if not isinstance(v, str):
            raise self.err(w, f"expected a string, got {_kind(v)} {v!r}")
        return v

    def p_list(self, item, lo=1, hi=64):
        def parse(v, w):
            if not isinstance(v, list) or not lo <= len(v) <= hi:
                n = f"{lo}" if lo == hi else f"{lo} to {hi}"
                raise self.err(w, f"expected a list of {n} values, got {_kind(v)} {v!r}")
            return tuple(item(x, w.idx(v, i)) for i, x in enumerate(v))
        return parse

    def p_pair(self, item):
        def parse(v, w):
            if isinstance(v, list):
                return self.p_list(item, 2, 2)(v, w)
            x = item(v, w)
            return (x, x)
        return parse

    def p_pad(self, v, w):
        """Padding: n, [h, w], [top, left, bottom, right], or `auto` (keeps the size at stride 1)."""
        if v == "auto":
            return "auto"
        if isinstance(v, list):
            if len(v) not in (2, 4):
                raise self.err(w, f"pad wants n, [h, w] or [top, left, bottom, right], got {v!r}")
            p = self.p_list(self.p_nonneg, 2, 4)(v, w)
            return p + p if len(p) == 2 else p
        p = self.p_nonneg(v, w)
        return (p, p, p, p)

    def opts(self, v, w: _W, scope: _Scope, schema: dict, short: str | None = None) -> dict:
        """An op's options: `true`/empty, a mapping, or the shorthand value of one option."""
        v = self.subst(v, w, scope)
        if v is True or v is None:
            m = _Map()
            m.line, m.lines = w.line, {}
        elif isinstance(v, _Map):
            m = v
        elif short is not None:
            m = _Map({short: v})
            m.line, m.lines = w.line, {short: w.line}
        else:
            raise self.err(w, f"expected true or a mapping of {', '.join(schema) or 'nothing'}, "
                              f"got {_kind(v)} {v!r}")
        self.keys_ok(m, w, tuple(schema), what="option")
        out = {}
        for k, (parse, default) in schema.items():
            if k in m:
                kw = w.key(m, k) if short is None or k != short or isinstance(v, _Map) else w
                out[k] = parse(self.subst(m[k], kw, scope), kw)
            elif default is _REQUIRED:
                raise self.err(w, f"missing required option '{k}'")
            else:
                out[k] = default
        return out

    # -- top level
    def run(self) -> LayerGraph:
        doc = self.doc
        root = _W("", 1)
        if not isinstance(doc, _Map):
            raise self.err(root, f"a network file is a mapping with keys {', '.join(TOP_KEYS)}, "
                                 f"got {_kind(doc)}")
        self.keys_ok(doc, root, TOP_KEYS, required=("name", "input", "layers"))
        name = self.p_str(doc["name"], root.key(doc, "name"))
        for k in ("source", "description"):
            if k in doc:
                self.p_str(doc[k], root.key(doc, k))
        self.builder = GraphBuilder(name, self.file)
        if "blocks" in doc:
            self.read_blocks(doc["blocks"], root.key(doc, "blocks"))
        in_tensor = self.read_input(doc["input"], root.key(doc, "input"))
        top = _Scope(prefix="", input=(in_tensor,), params={})
        top.locals[in_tensor] = ((in_tensor,), root.key(doc, "input"))
        last = self.expand_list(doc["layers"], root.key(doc, "layers"), top)
        self.check_outputs(doc, root, top, last)
        for bname, b in self.blocks.items():
            if bname not in self.used_blocks:
                raise self.err(b.w, f"block '{bname}' is never used (an unused block is never checked)")
        return self.builder.build()

    def read_input(self, v, w: _W) -> str:
        self.keys_ok(v, w, ("shape", "name", "dtype"), required=("shape",))
        name = self.p_str(v["name"], w.key(v, "name")) if "name" in v else "data"
        if not _NAME_RE.match(name) or name == INPUT_REF:
            raise self.err(w.key(v, "name"), f"bad input name '{name}' (letters, digits, _ and -; "
                                             f"not '{INPUT_REF}')")
        dtype = self.p_str(v["dtype"], w.key(v, "dtype")) if "dtype" in v else "fp32"
        if dtype not in DTYPE_BYTES:
            raise self.err(w.key(v, "dtype"), f"dtype must be one of {', '.join(DTYPE_BYTES)}, got '{dtype}'")
        sw = w.key(v, "shape")
        shape = self.p_list(self.p_pos, 1, 8)(v["shape"], sw)
        if self.input_shape is not None:
            try:
                shape = check_shape(list(self.input_shape), "input_shape override")
            except AugurError as e:
                raise e.located(file=self.file, line=sw.line, where=sw.path)
        try:
            shape = check_shape(shape, f"input '{name}'")
        except AugurError as e:
            raise self.err(sw, e.message)
        self.builder.add_input(name, shape, dtype=dtype, source=SourceLoc(self.file, w.line))
        self.shapes[name] = shape
        self.names[name] = w
        self.producer_w[name] = (name, w)
        return name

    def read_blocks(self, v, w: _W):
        if not isinstance(v, _Map):
            raise self.err(w, f"blocks is a mapping of block name to block, got {_kind(v)}")
        for bname, body in v.items():
            bw = w.key(v, bname)
            if not _NAME_RE.match(bname):
                raise self.err(bw, f"bad block name '{bname}' (letters, digits, _ and -)")
            self.keys_ok(body, bw, BLOCK_KEYS, required=("layers",))
            params = {}
            if "params" in body:
                pw = bw.key(body, "params")
                pm = body["params"]
                if not isinstance(pm, _Map):
                    raise self.err(pw, f"params is a mapping of name to type, got {_kind(pm)}")
                for pname, spec in pm.items():
                    params[pname] = self.read_param(pname, spec, pw.key(pm, pname))
            out = None
            if "output" in body:
                ow = bw.key(body, "output")
                out = (self.p_str(body["output"], ow), ow)
            self.blocks[bname] = _BlockDef(bname, params, body["layers"], bw.key(body, "layers"), out, bw)

    def read_param(self, pname, spec, w: _W) -> _Param:
        if not _PARAM_RE.match("$" + pname):
            raise self.err(w, f"bad parameter name '{pname}' (letters, digits and _)")
        default = _REQUIRED
        if isinstance(spec, _Map):
            self.keys_ok(spec, w, ("type", "default"), required=("type",))
            typ = spec["type"]
            tw = w.key(spec, "type")
        else:
            typ, tw = spec, w
        if typ not in PARAM_TYPES:
            raise self.err(tw, f"parameter type must be one of {', '.join(PARAM_TYPES)}, got {typ!r}")
        if isinstance(spec, _Map) and "default" in spec:
            default = spec["default"]
            self.check_type(default, typ, w.key(spec, "default"))
        return _Param(typ, default, w)

    def check_outputs(self, doc, root: _W, top: _Scope, last: tuple):
        declared = set(last)
        if "outputs" in doc:
            ow = root.key(doc, "outputs")
            refs = doc["outputs"]
            if isinstance(refs, str):
                refs = [refs]
            if not isinstance(refs, list) or not refs:
                raise self.err(ow, f"outputs is a list of layer names, got {_kind(refs)}")
            declared = {t for i, r in enumerate(refs) for t in self.resolve(r, ow.idx(refs, i), top, whole=True)}
        for t, (lname, w) in self.producer_w.items():
            if t not in self.consumed and t not in declared:
                raise self.err(w, f"the output of layer '{lname}' is never used; consume it with in: "
                                  f"or list it under outputs:")

    # -- layer lists and entries
    def expand_list(self, seq, w: _W, scope: _Scope) -> tuple:
        if not isinstance(seq, _Seq) or not seq:
            raise self.err(w, f"layers is a non-empty list, got {_kind(seq)}")
        items, explicit = [], {}
        for i, item in enumerate(seq):
            name, spec, sw = self.split_item(item, w.idx(seq, i))
            if name is not None:
                if name in explicit:
                    raise self.err(sw, f"duplicate layer name '{name}' (first at line {explicit[name].line})")
                explicit[name] = sw
            items.append((name, spec, sw))
        counters: dict[str, int] = {}
        prev, prev_name = scope.input, INPUT_REF
        for name, spec, sw in items:
            if name is None:
                # Readable automatic names: conv1, conv2, ... skipping the explicit ones.
                kind = _entry_kind(spec)
                k = counters.get(kind, 0)
                while True:
                    k += 1
                    if f"{kind}{k}" not in explicit and f"{kind}{k}" not in scope.locals:
                        break
                counters[kind] = k
                name = f"{kind}{k}"
            if name in scope.locals:
                raise self.err(sw, f"layer name '{name}' is already used in this scope")
            outs = self.expand_entry(name, spec, sw, scope, prev, prev_name)
            scope.locals[name] = (outs, sw)
            prev, prev_name = outs, name
        return prev

    def split_item(self, item, iw: _W):
        if not isinstance(item, _Map) or not item:
            got = "an empty mapping" if isinstance(item, dict) else _kind(item)
            raise self.err(iw, f"a layer is a mapping (NAME: {{op: ...}} or {{op: ...}}), got {got}")
        if len(item) == 1:
            (key,) = item
            val = item[key]
            # `- add: {add: true, in: [a, b]}` names a layer after an op: a one-key entry is a
            # name unless the key is an op whose value holds no entry keys (`- conv: {out: 8}`).
            named = key not in LAYER_KEYS and key not in CALL_KEYS or (
                key in OP_KEYS and isinstance(val, dict) and any(k in LAYER_KEYS or k in CALL_KEYS for k in val))
            if named:
                sw = iw.key(item, key)
                if not _NAME_RE.match(key):
                    raise self.err(sw, f"bad layer name '{key}' (letters, digits, _ and -; no dots or colons)")
                if key == INPUT_REF:
                    raise self.err(sw, f"'{INPUT_REF}' is reserved: it names the scope's input")
                spec = item[key]
                if not isinstance(spec, _Map):
                    raise self.err(sw, f"layer '{key}' needs a mapping such as {{conv: {{out: 64, k: 3}}}}, "
                                       f"got {_kind(spec)}")
                return key, spec, sw
        return None, item, iw

    def inputs(self, spec, sw: _W, scope: _Scope, prev: tuple, prev_name: str) -> tuple:
        if "in" in spec:
            iw = sw.key(spec, "in")
            refs = self.subst(spec["in"], iw, scope)
            if isinstance(refs, str):
                return self.resolve(refs, iw, scope)
            if not isinstance(refs, list) or not refs:
                raise self.err(iw, f"in: takes a layer name or a list of them, got {_kind(refs)}")
            out = []
            for i, r in enumerate(refs):
                out.extend(self.resolve(r, iw.idx(refs, i), scope))
            return tuple(out)
        if len(prev) != 1:
            raise self.err(sw, f"'{prev_name}' has {len(prev)} outputs; say which with "
                               f"in: {prev_name}:0 (or :1 ...)")
        return prev

    def resolve(self, ref, w: _W, scope: _Scope, whole: bool = False) -> tuple:
        if not isinstance(ref, str) or not _REF_RE.match(ref):
            raise self.err(w, f"expected a layer reference NAME or NAME:INDEX, got {_kind(ref)} {ref!r}")
        m = _REF_RE.match(ref)
        name, idx = m.group(1), m.group(2)
        if name == INPUT_REF:
            outs = scope.input
        elif name in scope.locals:
            outs = scope.locals[name][0]
        else:
            where = f"block '{scope.block}'" if scope.block else "the top level"
            known = ", ".join([INPUT_REF] + list(scope.locals))
            raise self.err(w, f"undefined layer '{name}' (a reference names an earlier layer of {where}: "
                              f"{known})")
        if idx is not None:
            i = int(idx)
            if i >= len(outs):
                raise self.err(w, f"'{name}' has {len(outs)} output(s); index {i} is out of range")
            return (outs[i],)
        if len(outs) != 1 and not whole:
            raise self.err(w, f"'{name}' has {len(outs)} outputs; pick one with {name}:0 (or :1 ...)")
        return outs

    def condition(self, spec, sw: _W, scope: _Scope) -> bool:
        if "if" not in spec:
            return True
        iw = sw.key(spec, "if")
        return self.p_bool(self.subst(spec["if"], iw, scope), iw)

    def expand_entry(self, name, spec, sw: _W, scope: _Scope, prev, prev_name) -> tuple:
        if "block" in spec:
            return self.expand_call(name, spec, sw, scope, prev, prev_name)
        for k in CALL_KEYS:
            if k in spec and k not in LAYER_KEYS:
                raise self.err(sw.key(spec, k), f"'{k}' belongs to a block call, which needs block:")
        self.keys_ok(spec, sw, LAYER_KEYS)
        stages = [k for k in spec if k in OP_KEYS and k not in POST_KEYS]
        if len(stages) > 1:
            raise self.err(sw.key(spec, stages[1]), f"one op per layer entry: found {' and '.join(stages)}")
        posts = [k for k in POST_KEYS if k in spec and not _off(self.subst(spec[k], sw.key(spec, k), scope))]
        stages += posts
        if not stages:
            raise self.err(sw, f"a layer entry needs an op: one of {', '.join(OP_KEYS)}")
        on = self.condition(spec, sw, scope)
        ins = self.inputs(spec, sw, scope, prev, prev_name)
        if not on:
            # A skipped layer stands for its first input, so later references still resolve:
            # a skipped `add: {in: [body, input]}` passes `body` on.
            return ins[:1]
        full = scope.full(name)
        fused_bn = "bn" in posts and stages[0] != "bn"
        cur = ins
        for si, key in enumerate(stages):
            kw = sw.key(spec, key)
            lo, hi = ARITY[key]
            if not lo <= len(cur) <= hi:
                want = str(lo) if lo == hi else f"{lo} to {hi}"
                raise self.err(sw.key(spec, "in") if "in" in spec else kw,
                               f"{key} takes {want} input(s), got {len(cur)}")
            in_shapes = tuple(self.shapes[t] for t in cur)
            subs = self.build_op(key, spec[key], kw, scope, in_shapes, fused_bn)
            for j, sub in enumerate(subs):
                if si == 0 and j == len(subs) - 1:
                    lname = full
                elif si == 0:
                    lname = f"{full}.{sub.suffix}"
                else:
                    lname = f"{full}.{sub.suffix}"
                cur = self.emit(lname, sub, cur, kw)
        return cur

    def expand_call(self, name, spec, sw: _W, scope: _Scope, prev, prev_name) -> tuple:
        self.keys_ok(spec, sw, CALL_KEYS, what="key of a block call")
        bw = sw.key(spec, "block")
        bname = self.p_str(self.subst(spec["block"], bw, scope), bw)
        if bname not in self.blocks:
            known = ", ".join(self.blocks) or "none"
            raise self.err(bw, f"undefined block '{bname}'; defined blocks: {known}")
        self.used_blocks.add(bname)
        bdef = self.blocks[bname]
        if bname in scope.stack:
            chain = " -> ".join(scope.stack + (bname,))
            raise self.err(bw, f"block recursion: {chain}")
        if len(scope.stack) >= MAX_BLOCK_DEPTH:
            raise self.err(bw, f"blocks nest deeper than {MAX_BLOCK_DEPTH}")
        args, aw = spec.get("args"), sw.key(spec, "args")
        if args is not None and not isinstance(args, _Map):
            raise self.err(aw, f"args is a mapping of parameter values, got {_kind(args)}")
        first, fw = spec.get("first"), sw.key(spec, "first")
        if first is not None:
            if "repeat" not in spec:
                raise self.err(fw, "first: overrides the first repetition; it needs repeat:")
            if not isinstance(first, _Map):
                raise self.err(fw, f"first is a mapping of parameter values, got {_kind(first)}")
        n = None
        if "repeat" in spec:
            rw = sw.key(spec, "repeat")
            n = self.p_pos(self.subst(spec["repeat"], rw, scope), rw)
            if n > MAX_REPEAT:
                raise self.err(rw, f"repeat {n} is more than {MAX_REPEAT}")
        on = self.condition(spec, sw, scope)
        cur = self.inputs(spec, sw, scope, prev, prev_name)
        if not on:
            return cur
        # Refuse before expanding: nested repeats multiply (six levels of repeat: 10 are a
        # million layers), and finding out by expanding takes minutes.
        # Top-level calls only: a nested call's work is already inside its ancestor's bound.
        least = (n or 1) * self.min_work(bname, ())
        self.work += least if not scope.stack else 0
        if self.work > MAX_LAYERS:
            raise self.err(sw, f"this call expands to at least {least} layers and block calls; a network "
                               f"may expand to at most {MAX_LAYERS}")
        full = scope.full(name)
        for i in range(n or 1):
            if len(cur) != 1:
                raise self.err(sw, f"a block takes one input tensor, got {len(cur)}")
            prefix = f"{full}.{i}" if n is not None else full
            params = self.bind(bdef, args, aw, first if i == 0 else None, fw, scope, sw)
            inner = _Scope(prefix=prefix, input=cur, params=params, block=bname,
                           stack=scope.stack + (bname,))
            self.ctx.append(f"{prefix} = {bname}")
            cur = self.expand_list(bdef.layers, bdef.layers_w, inner)
            if bdef.output is not None:
                cur = self.resolve(bdef.output[0], bdef.output[1], inner)
            self.ctx.pop()
        return cur

    def min_work(self, bname: str, stack: tuple) -> int:
        """A lower bound of the entries (layers and block calls) one call of block `bname`
        expands, read from the text without expanding. A conditional entry counts once
        (its condition is evaluated either way) and a conditional call does not count its
        body; a `repeat:` given by a parameter counts once. Malformed entries count 1 here;
        expansion reports them."""
        memo = self.__dict__.setdefault("_work_memo", {})
        if bname in memo:
            return memo[bname]
        bdef = self.blocks.get(bname)
        if bdef is None or bname in stack or not isinstance(bdef.layers, list):
            return 0
        total = 0
        for item in bdef.layers:
            total += 1
            spec = item
            if isinstance(item, dict) and len(item) == 1:
                (val,) = item.values()
                if isinstance(val, dict) and "block" in val:
                    spec = val
            if not isinstance(spec, dict) or "block" not in spec or "if" in spec:
                continue
            rep = spec.get("repeat", 1)
            rep = rep if _is_int(rep) and 0 < rep <= MAX_REPEAT else 1
            child = spec["block"]
            if isinstance(child, str):
                total += rep * self.min_work(child, stack + (bname,))
            if total > MAX_LAYERS:
                break
        memo[bname] = total
        return total

    def bind(self, bdef: _BlockDef, args, aw: _W, first, fw: _W, caller: _Scope, sw: _W) -> dict:
        vals = {}
        for src, w in ((args, aw), (first, fw)):
            if src is None:
                continue
            for k, v in src.items():
                kw = w.key(src, k)
                if k not in bdef.params:
                    known = ", ".join(bdef.params) or "none"
                    raise self.err(kw, f"block '{bdef.name}' has no parameter '{k}'; it declares: {known}")
                v = self.subst(v, kw, caller)
                self.check_type(v, bdef.params[k].type, kw)
                vals[k] = v
        for p, spec in bdef.params.items():
            if p not in vals:
                if spec.default is _REQUIRED:
                    raise self.err(aw if args is not None else sw,
                                   f"block '{bdef.name}' needs parameter '{p}' ({spec.type})")
                vals[p] = spec.default
        return vals

    def emit(self, name: str, sub: _Sub, ins: tuple, w: _W) -> tuple:
        if name in self.names:
            raise self.err(w, f"layer name '{name}' is already used (line {self.names[name].line})")
        if len(self.names) >= MAX_LAYERS:
            raise self.err(w, f"the network expands to more than {MAX_LAYERS} layers")
        in_shapes = tuple(self.shapes[t] for t in ins)
        where = f"{w.path} (layer '{name}')"
        if self.ctx:
            where = f"{where} (expanding {self.ctx[-1]})"
        try:
            # Shapes first: they refuse absurd output counts before any name is built.
            out_shapes, _ = registry.get(sub.op).infer(sub.attrs, in_shapes)
            out_shapes = [check_shape(s, f"output of {sub.op}") for s in out_shapes]
        except AugurError as e:
            raise e.located(file=self.file, line=w.line, where=where)
        outs = (name,) if sub.n_out == 1 else tuple(f"{name}:{i}" for i in range(sub.n_out))
        self.builder.add_layer(Layer(name=name, op=sub.op, attrs=sub.attrs, inputs=tuple(ins), outputs=outs,
                                     source=SourceLoc(self.file, w.line), src_type=sub.src_type))
        self.names[name] = w
        self.consumed.update(ins)
        for t, s in zip(outs, out_shapes):
            self.shapes[t] = tuple(s)
            self.producer_w[t] = (name, w)
        return outs

    # -- ops: each turns an entry's value into canonical layers
    def build_op(self, key, v, w: _W, scope: _Scope, in_shapes, fused_bn: bool) -> list[_Sub]:
        P = self
        if key in ("conv", "deconv"):
            schema = {"out": (P.p_pos, None), "k": (P.p_pair(P.p_pos), _REQUIRED),
                      "s": (P.p_pair(P.p_pos), (1, 1)), "p": (P.p_pad, (0, 0, 0, 0)),
                      "d": (P.p_pair(P.p_pos), (1, 1)), "g": (self.p_group, 1), "bias": (P.p_bool, None)}
            if key == "deconv":
                schema["op"] = (P.p_pair(P.p_nonneg), (0, 0))
            o = self.opts(v, w, scope, schema)
            shape = in_shapes[0]
            cin = shape[1] if len(shape) >= 2 else None
            g, out = o["g"], o["out"]
            if g == "dw":
                g = cin
                out = cin if out is None else out
            if out is None:
                raise self.err(w, "missing required option 'out'")
            (kh, kw), (dh, dw) = o["k"], o["d"]
            pad = o["p"]
            if pad == "auto":
                ph, pw = dh * (kh - 1) // 2, dw * (kw - 1) // 2
                pad = (ph, pw, ph, pw)
            attrs = {"out_channels": out, "kernel": o["k"], "stride": o["s"], "pad": pad,
                     "dilation": o["d"], "group": g,
                     "bias": (not fused_bn) if o["bias"] is None else o["bias"]}
            if key == "deconv":
                attrs["output_padding"] = o["op"]
            return [_Sub(None, key, attrs, 1, key)]
        if key == "fc":
            o = self.opts(v, w, scope, {"out": (P.p_pos, _REQUIRED), "bias": (P.p_bool, None)}, short="out")
            return [_Sub(None, "fc", {"out_features": o["out"], "axis": 1,
                                      "bias": (not fused_bn) if o["bias"] is None else o["bias"]}, 1, "fc")]
        if key in ("maxpool", "avgpool"):
            o = self.opts(v, w, scope, {"k": (P.p_pair(P.p_pos), _REQUIRED), "s": (P.p_pair(P.p_pos), None),
                                        "p": (P.p_pad, (0, 0, 0, 0)), "ceil": (P.p_bool, False)}, short="k")
            if o["p"] == "auto":
                raise self.err(w, "pool padding must be explicit (n, [h, w] or [t, l, b, r])")
            # PyTorch's default: the stride equals the kernel.
            attrs = {"mode": key[:3], "kernel": o["k"], "stride": o["s"] or o["k"], "pad": o["p"],
                     "ceil": o["ceil"], "global": False}
            return [_Sub(None, "pool", attrs, 1, key)]
        if key in ("gap", "gmp"):
            self.opts(v, w, scope, {})
            mode = "avg" if key == "gap" else "max"
            return [_Sub(None, "pool", {"mode": mode, "global": True}, 1, key)]
        if key == "bn":
            o = self.opts(v, w, scope, {"affine": (P.p_bool, True), "eps": (P.p_num, 1e-5)})
            return [_Sub("bn", "batchnorm", {"affine": o["affine"], "eps": o["eps"]}, 1, "bn")]
        if key == "act":
            return [self.build_act(v, w, scope)]
        if key == "softmax":
            o = self.opts(v, w, scope, {"axis": (P.p_int, 1)}, short="axis")
            return [_Sub("softmax", "softmax", {"axis": o["axis"]}, 1, "softmax")]
        if key == "lrn":
            o = self.opts(v, w, scope, {"size": (P.p_pos, 5), "alpha": (P.p_num, 1e-4),
                                        "beta": (P.p_num, 0.75), "k": (P.p_num, 1.0)}, short="size")
            return [_Sub("lrn", "lrn", {**o, "region": "across"}, 1, "lrn")]
        if key in ELTWISE_KEYS:
            o = self.opts(v, w, scope, {"broadcast": (P.p_bool, True)})
            return [_Sub(key, "eltwise", {"fn": ELTWISE_KEYS[key], "broadcast": o["broadcast"]}, 1, key)]
        if key == "concat":
            o = self.opts(v, w, scope, {"axis": (P.p_int, 1)}, short="axis")
            return [_Sub("concat", "concat", {"axis": o["axis"]}, 1, "concat")]
        if key == "split":
            o = self.opts(v, w, scope, {"parts": (P.p_pos, None),
                                        "sizes": (P.p_list(P.p_pos, 1, MAX_SPLIT_PARTS), None),
                                        "axis": (P.p_int, 1)}, short="parts")
            if (o["parts"] is None) == (o["sizes"] is None):
                raise self.err(w, "split takes either parts: N or sizes: [...]")
            n = o["parts"] or len(o["sizes"])
            if n > MAX_SPLIT_PARTS:
                raise self.err(w, f"split into {n} parts; at most {MAX_SPLIT_PARTS}")
            attrs = {"axis": o["axis"], "num_outputs": n}
            if o["sizes"]:
                attrs["sizes"] = o["sizes"]
            return [_Sub("split", "split", attrs, n, "split")]
        if key == "flatten":
            o = self.opts(v, w, scope, {"axis": (P.p_int, 1)}, short="axis")
            return [_Sub("flatten", "flatten", {"axis": o["axis"], "end_axis": -1}, 1, "flatten")]
        if key == "reshape":
            o = self.opts(v, w, scope, {"shape": (P.p_list(P.p_int, 1, 8), _REQUIRED)}, short="shape")
            if any(d < -1 for d in o["shape"]):
                raise self.err(w, f"reshape dims are positive, 0 (copy) or -1 (infer), got {list(o['shape'])}")
            return [_Sub("reshape", "reshape", {"shape": o["shape"]}, 1, "reshape")]
        if key == "transpose":
            o = self.opts(v, w, scope, {"perm": (P.p_list(P.p_nonneg, 1, 8), _REQUIRED)}, short="perm")
            return [_Sub("transpose", "transpose", {"perm": o["perm"]}, 1, "transpose")]
        if key == "shuffle":
            return self.build_shuffle(v, w, scope, in_shapes[0])
        if key in ("dropout", "identity"):
            o = self.opts(v, w, scope, {"p": (P.p_num, 0.5)} if key == "dropout" else {}, short="p"
                          if key == "dropout" else None)
            if key == "dropout" and not 0 <= o["p"] < 1:
                raise self.err(w, f"dropout probability must be in [0, 1), got {o['p']}")
            return [_Sub(key, "identity", {"num_outputs": 1, **o}, 1, key)]
        if key == "mean":
            o = self.opts(v, w, scope, {"axes": (P.p_list(P.p_int, 1, 8), _REQUIRED),
                                        "keepdims": (P.p_bool, False)}, short="axes")
            return [_Sub("mean", "reduce", {"fn": "mean", "axes": o["axes"], "keepdims": o["keepdims"]},
                         1, "mean")]
        if key == "layernorm":
            o = self.opts(v, w, scope, {"axis": (P.p_int, -1), "affine": (P.p_bool, True)})
            return [_Sub("layernorm", "layernorm", o, 1, "layernorm")]
        if key == "matmul":
            self.opts(v, w, scope, {})
            return [_Sub("matmul", "matmul", {}, 1, "matmul")]
        if key == "pad":
            o = self.opts(v, w, scope, {"pads": (P.p_list(P.p_nonneg, 2, 16), _REQUIRED)}, short="pads")
            return [_Sub("pad", "pad", {"pads": o["pads"], "mode": "constant"}, 1, "pad")]
        raise AssertionError(f"op key {key} has no builder")  # OP_KEYS and this function disagree

    def p_group(self, v, w):
        if v == "dw":
            return "dw"
        return self.p_pos(v, w)

    def build_act(self, v, w: _W, scope: _Scope) -> _Sub:
        v = self.subst(v, w, scope)
        if isinstance(v, str):
            m = _Map({"fn": v})
            m.line, m.lines = w.line, {"fn": w.line}
            v = m
        o = self.opts(v, w, scope, {"fn": (self.p_str, _REQUIRED), "alpha": (self.p_num, None),
                                    "min": (self.p_num, None), "max": (self.p_num, None)})
        fn = o["fn"]
        attrs = dict(ACT_ALIASES.get(fn, {"fn": fn}))
        if attrs["fn"] not in ACTIVATIONS:
            known = ", ".join(sorted(set(ACTIVATIONS) | set(ACT_ALIASES)))
            raise self.err(w, f"unknown activation '{fn}'; known: {known}")
        for k in ("alpha", "min", "max"):
            if o[k] is not None:
                attrs[k] = o[k]
        return _Sub(fn, "act", attrs, 1, fn)

    def build_shuffle(self, v, w: _W, scope: _Scope, shape) -> list[_Sub]:
        o = self.opts(v, w, scope, {"groups": (self.p_pos, _REQUIRED)}, short="groups")
        g = o["groups"]
        if len(shape) != 4 or shape[1] % g:
            raise self.err(w, f"channel shuffle with {g} groups needs an NCHW input whose channels "
                              f"divide by {g}, got shape {tuple(shape)}")
        _, c, h, wd = shape
        # (N, C, H, W) -> (N, g, C/g, H, W) -> swap the group axes -> (N, C, H, W); 0 keeps the
        # batch free so the graph can be rebatched.
        return [_Sub("split_groups", "reshape", {"shape": (0, g, c // g, h, wd)}, 1, "shuffle"),
                _Sub("transpose", "transpose", {"perm": (0, 2, 1, 3, 4)}, 1, "shuffle"),
                _Sub(None, "reshape", {"shape": (0, c, h, wd)}, 1, "shuffle")]


def _entry_kind(spec) -> str:
    if isinstance(spec, dict):
        b = spec.get("block")
        if isinstance(b, str) and _NAME_RE.match(b):
            return b
        for k in spec:
            if k in OP_KEYS:
                return k
    return "layer"


def _off(v) -> bool:
    """`bn: false` / `act: none` (often through a parameter) switch a fused stage off."""
    return v is False or v is None or v == "none"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _kind(v) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if v is None:
        return "nothing"
    return type(v).__name__


def load_yamlnet_text(text: str, file: str = "<string>", input_shape=None) -> LayerGraph:
    """Expand a YAML network given as text (tests, generated networks)."""
    doc = parse_yaml(text, file)
    return _Expander(doc, file, input_shape).run()


def load_yamlnet(path, input_shape=None) -> LayerGraph:
    """Load a YAML network file (docs/NETFORMAT.md) into a shape-inferred LayerGraph."""
    path = Path(path)
    return load_yamlnet_text(read_text(path), str(path), input_shape)
