"""Run a layer graph in PyTorch with random weights, to measure a real runtime.

Optional: only the GPU measurement script (scripts/gpu_measure.py) and the peer
benchmarks (bench/bench_peers.py: ptflops, fvcore) use it, and it needs torch installed.
Each canonical op maps to one torch call; the semantics are the graph's (Caffe rounding,
Caffe flatten, broadcasting eltwise), not torch's defaults.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from ..errors import AugurError
from ..graph import LayerGraph
from ..ops.activations import ACTIVATIONS
from ..ops.facts import TORCH_KINDS


def _torch():
    try:
        import torch
    except ImportError:
        raise AugurError("PyTorch is not installed; it is needed to run a graph in torch")
    return torch


def _torch_attr(path: str):
    """torch.<path> (the activation table names functions as attribute paths under torch)."""
    obj = _torch()
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


class _Build(NamedTuple):
    """What a kind's runner reads beside its layer: torch, torch.nn.functional, the seeded
    weight draw (rand(*shape, fan_in)) and the graph (for the layer's output shapes)."""
    torch: Any
    F: Any
    rand: Callable
    graph: LayerGraph


# Kind -> the function that turns one layer of that kind into fn(*inputs) -> output(s),
# drawing the layer's weights from the seeded generator as it goes. It runs exactly the
# kinds whose facts name a torch form (ops/facts.py TORCH_KINDS; tests/test_op_facts.py).
RUNNERS: dict[str, Callable] = {}


def _runs(*kinds: str):
    def register(runner):
        for k in kinds:
            RUNNERS[k] = runner
        return runner
    return register


@_runs("conv", "deconv")
def _conv(bld: _Build, layer, a: dict, ins: list):
    F, rand = bld.F, bld.rand
    op = layer.op
    kh, kw = a["kernel"]
    sh, sw = a.get("stride", (1, 1))
    dh, dw = a.get("dilation", (1, 1))
    pt, pl, pb, pr = a.get("pad", (0, 0, 0, 0))
    g = a.get("group", 1)
    wshape = layer.params[0]
    w = rand(*wshape, fan_in=wshape[1] * kh * kw)
    b = rand(a["out_channels"]) if a.get("bias", True) else None
    if op == "conv":
        sym = pt == pb and pl == pr
        def fn(x, w=w, b=b, s=(sh, sw), d=(dh, dw), p=(pt, pl, pb, pr), g=g, sym=sym):
            if not sym:
                x = F.pad(x, (p[1], p[3], p[0], p[2]))
                return F.conv2d(x, w, b, s, 0, d, g)
            return F.conv2d(x, w, b, s, (p[0], p[1]), d, g)
    else:
        oph, opw = a.get("output_padding", (0, 0))
        def fn(x, w=w, b=b, s=(sh, sw), d=(dh, dw), p=(pt, pl), op_=(oph, opw), g=g):
            return F.conv_transpose2d(x, w, b, s, p, op_, g, d)
    return fn


@_runs("fc")
def _fc(bld: _Build, layer, a: dict, ins: list):
    F, rand = bld.F, bld.rand
    out, k = layer.params[0]
    w = rand(out, k, fan_in=k)
    b = rand(out) if a.get("bias", True) else None
    axis = a.get("axis", 1) % len(ins[0])
    def fn(x, w=w, b=b, axis=axis):
        return F.linear(x.flatten(axis), w, b)
    return fn


@_runs("matmul")
def _matmul(bld: _Build, layer, a: dict, ins: list):
    torch = bld.torch
    def fn(x, y):
        return torch.matmul(x, y)
    return fn


@_runs("pool")
def _pool(bld: _Build, layer, a: dict, ins: list):
    F, graph = bld.F, bld.graph
    if a.get("global"):
        def fn(x, mode=a["mode"]):
            return x.amax((2, 3), keepdim=True) if mode == "max" else x.mean((2, 3), keepdim=True)
    else:
        kh, kw = a["kernel"]
        sh, sw = a.get("stride", (1, 1))
        pt, pl, pb, pr = a.get("pad", (0, 0, 0, 0))
        out_h, out_w = graph.out_shapes(layer)[0][2:]
        native = _torch_pool_fits(ins[0][2:], (kh, kw), (sh, sw), (pt, pl, pb, pr), (out_h, out_w))
        if native is not None:
            # One torch call with its own padding/ceil rules gives exactly the graph's shape.
            pool = F.max_pool2d if a["mode"] == "max" else F.avg_pool2d
            def fn(x, k=(kh, kw), s=(sh, sw), p=(pt, pl), c=native, pool=pool):
                return pool(x, k, s, p, ceil_mode=c)
        else:
            # Pad explicitly to exactly the extent the graph's rounding needs.
            need_h = (out_h - 1) * sh + kh - (ins[0][2] + pt)
            need_w = (out_w - 1) * sw + kw - (ins[0][3] + pl)
            extra = (pl, max(need_w, 0), pt, max(need_h, 0))
            if a["mode"] == "max":
                def fn(x, k=(kh, kw), s=(sh, sw), e=extra):
                    x = F.pad(x, e, value=float("-inf")) if any(e) else x
                    return F.max_pool2d(x, k, s)
            else:
                def fn(x, k=(kh, kw), s=(sh, sw), e=extra):
                    x = F.pad(x, e) if any(e) else x
                    return F.avg_pool2d(x, k, s)
    return fn


@_runs("act")
def _act(bld: _Build, layer, a: dict, ins: list):
    torch, F, rand = bld.torch, bld.F, bld.rand
    name = layer.name
    fnname = a["fn"]
    act = ACTIVATIONS.get(fnname)
    if fnname == "leaky_relu":
        def fn(x, s=a.get("alpha", 0.01)):
            return F.leaky_relu(x, s)
    elif fnname == "sqrt":
        def fn(x):
            return torch.sqrt(x.abs())  # random inputs: keep the root real
    elif fnname == "prelu":
        w = rand(*layer.params[0])
        def fn(x, w=w):
            return F.prelu(x, w)
    elif fnname == "clip":
        def fn(x, lo=a.get("min", 0.0), hi=a.get("max", 6.0)):
            return torch.clamp(x, lo, hi)
    elif fnname == "power":
        def fn(x, p=a.get("power", 1.0), sc=a.get("scale", 1.0), sh=a.get("shift", 0.0)):
            return (x * sc + sh).abs() ** p
    elif act is not None and act.torch:
        fn = _torch_attr(act.torch)
    else:
        raise AugurError(f"torch runner: activation '{fnname}' not supported", where=f"layer '{name}'")
    return fn


@_runs("softmax")
def _softmax(bld: _Build, layer, a: dict, ins: list):
    torch = bld.torch
    def fn(x, axis=a.get("axis", 1)):
        return torch.softmax(x, axis)
    return fn


@_runs("batchnorm")
def _batchnorm(bld: _Build, layer, a: dict, ins: list):
    F, rand = bld.F, bld.rand
    c = layer.params[0][0]
    mean, var = rand(c), rand(c).abs() + 1.0
    gamma, beta = (rand(c), rand(c)) if a.get("affine") else (None, None)
    def fn(x, m=mean, v=var, g_=gamma, b_=beta):
        return F.batch_norm(x, m, v, g_, b_, False, 0.0, 1e-5)
    return fn


@_runs("scale", "bias")
def _scale_bias(bld: _Build, layer, a: dict, ins: list):
    torch, rand = bld.torch, bld.rand
    op = layer.op
    params = [rand(*s) for s in layer.params]
    axis = a.get("axis", 1) % len(ins[0])
    def view(t, rank=len(ins[0]), axis=axis):
        return t.reshape(tuple(t.shape) + (1,) * (rank - axis - t.dim()))
    if op == "scale":
        two = len(layer.inputs) == 2
        def fn(x, y=None, p=params, two=two):
            s = y if two else view(p[0])
            if (two and p) or (not two and len(p) > 1):
                return torch.addcmul(view(p[-1]), x, s)  # one kernel, as a runtime would
            return x * s
    else:
        def fn(x, y=None, p=params):
            return x + (y if y is not None else view(p[0]))
    return fn


@_runs("lrn")
def _lrn(bld: _Build, layer, a: dict, ins: list):
    F = bld.F
    name = layer.name
    if a.get("region", "across") != "across":
        raise AugurError("torch runner: within-channel LRN not supported", where=f"layer '{name}'")
    def fn(x, n=a.get("size", 5), al=a.get("alpha", 1e-4), be=a.get("beta", 0.75), k=a.get("k", 1.0)):
        return F.local_response_norm(x, n, al, be, k)
    return fn


@_runs("layernorm")
def _layernorm(bld: _Build, layer, a: dict, ins: list):
    F, rand = bld.F, bld.rand
    norm = tuple(ins[0][a.get("axis", -1) % len(ins[0]):])
    w, b = (rand(*norm), rand(*norm)) if a.get("affine", True) else (None, None)
    def fn(x, norm=norm, w=w, b=b):
        return F.layer_norm(x, norm, w, b)
    return fn


@_runs("eltwise")
def _eltwise(bld: _Build, layer, a: dict, ins: list):
    torch = bld.torch
    f_ = a.get("fn", "sum")
    coeffs = a.get("coeffs")
    def fn(*xs, f_=f_, coeffs=coeffs):
        if coeffs is not None:
            xs = [x * c for x, c in zip(xs, coeffs)]
        out = xs[0]
        for x in xs[1:]:
            out = {"sum": torch.add, "prod": torch.mul, "max": torch.maximum, "min": torch.minimum,
                   "sub": torch.sub, "div": torch.div, "pow": torch.pow}[f_](out, x)
        return out
    return fn


@_runs("concat")
def _concat(bld: _Build, layer, a: dict, ins: list):
    torch = bld.torch
    def fn(*xs, axis=a.get("axis", 1)):
        return torch.cat(xs, axis)
    return fn


@_runs("split")
def _split(bld: _Build, layer, a: dict, ins: list):
    torch, graph = bld.torch, bld.graph
    sizes = [s[a.get("axis", 1) % len(ins[0])] for s in graph.out_shapes(layer)]
    def fn(x, sizes=sizes, axis=a.get("axis", 1)):
        return tuple(torch.split(x, sizes, axis))
    return fn


@_runs("reshape", "flatten")
def _reshape(bld: _Build, layer, a: dict, ins: list):
    graph = bld.graph
    shape = graph.out_shapes(layer)[0]
    def fn(x, shape=shape):
        return x.reshape(shape)
    return fn


@_runs("transpose")
def _transpose(bld: _Build, layer, a: dict, ins: list):
    def fn(x, perm=tuple(a["perm"])):
        return x.permute(perm).contiguous()
    return fn


@_runs("slice")
def _slice(bld: _Build, layer, a: dict, ins: list):
    def fn(x, a=a):
        idx = [slice(None)] * x.dim()
        axes = a.get("axes") or range(len(a["starts"]))
        steps = a.get("steps") or [1] * len(a["starts"])
        for st, en, ax, sp in zip(a["starts"], a["ends"], axes, steps):
            idx[ax] = slice(st, en, sp)
        return x[tuple(idx)]
    return fn


@_runs("pad")
def _pad(bld: _Build, layer, a: dict, ins: list):
    F = bld.F
    pads = a["pads"]
    r = len(ins[0])
    tp = []
    for i in reversed(range(r)):
        tp += [pads[i], pads[i + r]]
    def fn(x, tp=tuple(tp)):
        return F.pad(x, tp)
    return fn


@_runs("identity")
def _identity(bld: _Build, layer, a: dict, ins: list):
    n = len(layer.outputs)
    def fn(x, n=n):
        return (x,) * n if n > 1 else x
    return fn


@_runs("reduce")
def _reduce(bld: _Build, layer, a: dict, ins: list):
    torch = bld.torch
    def fn(x, a=a):
        axes = tuple(a["axes"]) if a.get("axes") is not None else tuple(range(x.dim()))
        f_ = {"mean": torch.mean, "sum": torch.sum}.get(a.get("fn", "mean"), torch.mean)
        return f_(x, axes, keepdim=a.get("keepdims", True))
    return fn


@_runs("resize")
def _resize(bld: _Build, layer, a: dict, ins: list):
    F, graph = bld.F, bld.graph
    size = graph.out_shapes(layer)[0][2:]
    def fn(x, size=size, mode=a.get("mode", "nearest")):
        return F.interpolate(x, size=size, mode="nearest" if mode == "nearest" else "bilinear")
    return fn


def build_module(graph: LayerGraph, device="cpu", dtype="fp32", seed: int = 0,
                 free_after_last_use: bool = False):
    """A torch.nn.Module whose forward(*inputs) runs the graph; weights drawn from `seed`.

    By default every layer output is kept until forward returns (the protocol of the H200
    memory measurements, measurements/h200_memory/). With `free_after_last_use`, a tensor is
    dropped after the last layer that reads it, as an ordinary PyTorch module's locals are."""
    torch = _torch()
    F = torch.nn.functional
    tdtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, fan_in=1):
        w = torch.randn(*shape, generator=gen) * (1.0 / math.sqrt(max(fan_in, 1)))
        return w.to(device=device, dtype=tdtype)

    steps = []  # (layer, fn(inputs) -> outputs tuple)
    build = _Build(torch, F, rand, graph)
    # The kinds the runner has a torch form for (ops/facts.py `torch`): refused before any
    # weight is drawn.
    for name in graph.order:
        op = graph.layer(name).op
        if op != "input" and op not in TORCH_KINDS:
            raise AugurError(f"torch runner: op '{op}' has no torch form here; it runs "
                             f"{', '.join(sorted(TORCH_KINDS))}", where=f"layer '{name}'")

    for name in graph.order:
        layer = graph.layer(name)
        a = layer.attrs
        ins = graph.in_shapes(layer)
        op = layer.op
        if op == "input":
            continue
        runner = RUNNERS.get(op)
        if runner is None:
            raise AugurError(f"torch runner: op '{op}' not supported", where=f"layer '{name}'")
        fn = runner(build, layer, a, ins)
        steps.append((layer, fn))

    inputs = list(graph.inputs)
    outputs = list(graph.outputs)
    drops = last_use_drops([layer for layer, _ in steps], outputs) if free_after_last_use else []

    class GraphModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = steps
            self.hook = None  # called as hook(layer_name, "pre"|"post") around each layer

        def forward(self, *xs):
            env = dict(zip(inputs, xs))
            hook = self.hook
            for i, (layer, fn) in enumerate(self.steps):
                if hook:
                    hook(layer.name, "pre")
                res = fn(*[env[t] for t in layer.inputs])
                if hook:
                    hook(layer.name, "post")
                if not isinstance(res, tuple):
                    res = (res,)
                for t, v in zip(layer.outputs, res):
                    env[t] = v
                if drops:
                    for t in drops[i]:
                        del env[t]
            return tuple(env[t] for t in outputs)

    return GraphModule()


def last_use_drops(layers, outputs) -> list[tuple]:
    """Per layer (in run order), the tensors it is the last reader of: dropped after it
    runs. Network outputs are never dropped; a tensor nobody reads is not listed (the
    executor keeps it, as the layer's own result, until forward returns)."""
    last: dict = {}
    for i, layer in enumerate(layers):
        for t in layer.inputs:
            last[t] = i
    keep = set(outputs)
    return [tuple(t for t in dict.fromkeys(layer.inputs) if last.get(t) == i and t not in keep)
            for i, layer in enumerate(layers)]


def _torch_pool_fits(hw, k, s, pad, want):
    """ceil_mode flag for which torch's own pooling gives the graph's output shape, or None."""
    pt, pl, pb, pr = pad
    if pt != pb or pl != pr or pt > k[0] // 2 or pl > k[1] // 2:
        return None
    for ceil in (False, True):
        got = []
        for size, kk, ss, pp in zip(hw, k, s, (pt, pl)):
            span = size + 2 * pp - kk
            out = (-(-span // ss) if ceil else span // ss) + 1
            if ceil and (out - 1) * ss >= size + pp:
                out -= 1
            got.append(out)
        if tuple(got) == tuple(want):
            return ceil
    return None


def random_inputs(graph: LayerGraph, device="cpu", dtype="fp32", seed: int = 1):
    torch = _torch()
    tdtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*graph.tensors[t].shape, generator=gen).to(device=device, dtype=tdtype)
            for t in graph.inputs]
