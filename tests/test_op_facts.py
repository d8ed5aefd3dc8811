"""Every registered op kind has its facts (ops/facts.py), and every activation function its
own (ops/activations.py); each kind lowers to the kernel class its facts say, exports to
ONNX and comes back with the same counts (as itself, where its facts name ONNX operators);
the kinds that have no ONNX form say why in the table. The table is checked against the
registry, the ONNX importer's handlers and the torch runner. A new kind without facts or an
example here fails the first tests."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import augur_sim  # noqa: E402
from augur_sim.counts import count_net  # noqa: E402
from augur_sim.errors import UnsupportedOpError  # noqa: E402
from augur_sim.frontends.onnx import load_onnx  # noqa: E402
from augur_sim.graph import GraphBuilder, Layer  # noqa: E402
from augur_sim.lowering import GEMM, NOOP, STREAM, lower  # noqa: E402
from augur_sim.measure.export import export_onnx  # noqa: E402
from augur_sim.ops import registry  # noqa: E402
from augur_sim.ops.activations import ACTIVATIONS, EPILOGUE_ACTIVATIONS, ONNX_ACTIVATIONS  # noqa: E402
from augur_sim.ops.facts import (  # noqa: E402
    CHAIN,
    EXPORT_RULES,
    FACTS,
    KERNEL_CLASSES,
    NO_EXPORT,
    ONNX_KINDS,
    TORCH_KINDS,
)

X = (2, 4, 8, 8)
# kind -> (attrs, extra input shapes beside x or None for a source op)
EXAMPLES = {
    "act": {"fn": "relu"},
    "batchnorm": {"affine": True},
    "bias": {},
    "channel_shuffle": {"group": 2},
    "concat": {"axis": 1},
    "conv": {"out_channels": 6, "kernel": (3, 3), "pad": (1, 1, 1, 1)},
    "deconv": {"out_channels": 6, "kernel": (4, 4), "stride": (2, 2), "pad": (1, 1, 1, 1)},
    "eltwise": {"fn": "sum"},
    "fc": {"out_features": 5, "axis": 1},
    "flatten": {"axis": 1},
    "identity": {},
    "layernorm": {"axis": -1},
    "lrn": {"size": 3, "alpha": 1e-4, "beta": 0.75, "k": 1.0},
    "matmul": {},
    "pad": {"pads": (0, 0, 1, 1, 0, 0, 1, 1)},
    "pool": {"mode": "max", "kernel": (2, 2), "stride": (2, 2)},
    "reduce": {"fn": "mean", "axes": (2, 3), "keepdims": True},
    "reshape": {"shape": (0, -1)},
    "resize": {"scales": (1.0, 1.0, 2.0, 2.0), "mode": "nearest"},
    "scale": {"bias": True},
    "slice": {"starts": (1,), "ends": (7,), "axes": (2,)},
    "softmax": {"axis": 1},
    "split": {"axis": 1, "num_outputs": 2},
    "transpose": {"perm": (0, 2, 3, 1)},
    "const": {"shape": (4, 8, 8), "batch": 1},
}


def _graph(kind: str, attrs: dict):
    b = GraphBuilder(f"one_{kind}", "t.yaml")
    if kind == "const":
        b.add_input("x", (attrs["batch"],) + X[1:])
        b.add_layer(Layer("k", "const", attrs, (), ("k",)))
        b.add_layer(Layer("l", "eltwise", {"fn": "sum"}, ("x", "k"), ("y",)))
        return b.build()
    b.add_input("x", X)
    ins: tuple = ("x",)
    if kind in ("concat", "eltwise"):
        ins = ("x", "x")
    if kind == "matmul":
        b.add_layer(Layer("t", "transpose", {"perm": (0, 1, 3, 2)}, ("x",), ("xt",)))
        ins = ("x", "xt")
    outs = ("y", "y2") if kind == "split" else ("y",)
    b.add_layer(Layer("l", kind, attrs, ins, outs))
    return b.build()


def test_every_kind_has_an_example_or_a_reason():
    assert set(EXAMPLES) | set(NO_EXPORT) == set(registry.kinds())
    assert not set(EXAMPLES) & set(NO_EXPORT)
    assert all(NO_EXPORT.values())


def test_every_registered_kind_has_consistent_facts():
    assert set(FACTS) == set(registry.kinds())
    for kind, f in FACTS.items():
        assert f.kind == kind and f.kernel in KERNEL_CLASSES and f.export in EXPORT_RULES, kind
        # lowering takes free kinds as no-ops from the registry's category: the two agree
        assert (f.kernel == "noop") == (registry.get(kind).category == "free"), kind
        assert f.exp >= 0 and f.pow >= 0
        assert (f.export == "none") == bool(f.no_export), kind
        assert f.torch is None or all(p.isidentifier() or p.startswith("__") for p in f.torch.split("."))
    assert set(CHAIN.values()) == {"conv", "fc", "bn", "elt"}


# Attributes that make an example's count use a convention it may skip (nearest resize is free).
FLOPS_ATTRS = {"resize": {"mode": "linear"}}


@pytest.mark.parametrize("kind", sorted(k for k in EXAMPLES if FACTS[k].flops))
def test_flops_conventions_named_by_the_facts_are_the_ones_counted(kind):
    from augur_sim.conventions import DEFAULT
    g = _graph(kind, {**EXAMPLES[kind], **FLOPS_ATTRS.get(kind, {})})
    base = count_net(g, DEFAULT).total.flops
    for name in FACTS[kind].flops:
        assert count_net(g, DEFAULT.with_(**{name: getattr(DEFAULT, name) + 1})).total.flops > base, name


def test_onnx_operators_are_the_importers_handlers():
    # The importer's operator table is built from the facts: every ONNX operator a kind names,
    # and no other, has a reader (two kinds for MatMul/Gemm: fc with a constant weight,
    # matmul otherwise); each kind's reader knows every operator the facts give it.
    from augur_sim.frontends.onnx import _ELTWISE, FOLDING_READERS, HANDLERS, KIND_READERS, OPERATOR_READERS
    named = {op for f in FACTS.values() for op in f.onnx}
    assert named == set(HANDLERS) - set(FOLDING_READERS) == set(ONNX_KINDS)
    assert {op for op in named if sum(op in f.onnx for f in FACTS.values()) > 1} == {"MatMul", "Gemm"}
    assert {k for k in FACTS if FACTS[k].onnx} - set(KIND_READERS) == {"fc", "matmul"}  # by operator
    assert set(OPERATOR_READERS) <= named
    assert set(ONNX_ACTIVATIONS) == set(FACTS["act"].onnx)
    assert set(_ELTWISE) == set(FACTS["eltwise"].onnx)


def test_an_operator_no_kind_names_is_refused_listing_the_supported_ones(tmp_path):
    from onnx import TensorProto, helper
    node = helper.make_node("Celu", ["x"], ["y"])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])])
    path = tmp_path / "celu.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(UnsupportedOpError) as e:
        load_onnx(path)
    msg = str(e.value)
    assert "ONNX op 'Celu' is not supported" in msg
    assert all(op in msg for f in FACTS.values() for op in f.onnx)


# One layer per YAML key, in the format's short forms (docs/NETFORMAT.md), on a (1, 4, 8, 8) input.
YAML_LAYERS = {
    "conv": "{conv: {out: 4, k: 3, p: 1}}", "deconv": "{deconv: {out: 4, k: 2, s: 2}}", "fc": "{fc: 10}",
    "maxpool": "{maxpool: 2}", "avgpool": "{avgpool: 2}", "gap": "{gap: true}", "gmp": "{gmp: true}",
    "bn": "{bn: true}", "act": "{act: relu}", "softmax": "{softmax: 1}", "lrn": "{lrn: 3}",
    **{k: f"{{{k}: true, in: [input, input]}}" for k in ("add", "mul", "max", "min", "sub", "div")},
    "concat": "{concat: 1, in: [input, input]}", "split": "{split: 2}", "flatten": "{flatten: 1}",
    "reshape": "{reshape: [0, -1]}", "transpose": "{transpose: [0, 2, 3, 1]}", "shuffle": "{shuffle: 2}",
    "dropout": "{dropout: 0.5}", "identity": "{identity: true}", "mean": "{mean: {axes: [2, 3]}}",
    "layernorm": "{layernorm: true}", "matmul": "{matmul: true, in: [input, input]}",
    "pad": "{pad: [0, 0, 1, 1, 0, 0, 1, 1]}",
}


@pytest.mark.parametrize("kind,key", [(f.kind, k) for f in FACTS.values() for k in f.yaml])
def test_each_yaml_key_makes_its_kind(kind, key):
    from augur_sim.frontends.yamlnet import OP_KEYS, load_yamlnet_text
    assert key in OP_KEYS  # the YAML frontend takes its keys from the facts
    g = load_yamlnet_text(f"name: t\ninput: {{shape: [1, 4, 8, 8]}}\nlayers:\n  - l: {YAML_LAYERS[key]}\n")
    assert kind in {layer.op for layer in g.layers()}


def test_every_yaml_key_has_an_example():
    assert set(YAML_LAYERS) == {k for f in FACTS.values() for k in f.yaml}


def test_torch_kinds_are_the_runners():
    # The runner dispatches on its table of kinds (torch need not be installed to read it):
    # exactly the kinds whose facts name a torch form, each to a function.
    from augur_sim.measure.torchexec import RUNNERS
    assert set(RUNNERS) == set(TORCH_KINDS)
    assert all(callable(f) for f in RUNNERS.values())


class _FakeTensor:
    """Stands for a torch tensor: keeps a shape and records every call made on it."""

    def __init__(self, calls, shape=()):
        self._calls, self.shape = calls, tuple(shape)

    def dim(self):
        return len(self.shape)

    def __getattr__(self, name):
        def method(*args, **kwargs):
            self._calls.append(f"Tensor.{name}")
            return _FakeTensor(self._calls, self.shape)
        return method

    def __iter__(self):  # torch.split's chunks
        return iter([_FakeTensor(self._calls, self.shape), _FakeTensor(self._calls, self.shape)])


def _operator(name):
    def op(self, *args):
        self._calls.append(f"Tensor.{name}")
        return _FakeTensor(self._calls, self.shape)
    return op


for _name in ("__add__", "__radd__", "__mul__", "__rmul__", "__pow__", "__getitem__", "__sub__", "__truediv__"):
    setattr(_FakeTensor, _name, _operator(_name))


class _FakeNamespace:
    """torch and its submodules: every function records its path under torch."""

    def __init__(self, calls, path=""):
        self._calls, self._path = calls, path

    def __getattr__(self, name):
        path = f"{self._path}.{name}" if self._path else name
        if name == "Module":
            return _FakeModule
        if name == "Generator":
            return lambda: _FakeGenerator()
        if name in ("float32", "float16", "bfloat16"):
            return name
        if name in ("nn", "functional"):
            return _FakeNamespace(self._calls, path)

        def fn(*args, **kwargs):
            if name == "randn":
                return _FakeTensor(self._calls, args)
            self._calls.append(path)
            first = next((a for a in args if isinstance(a, _FakeTensor)), None)
            return _FakeTensor(self._calls, first.shape if first is not None else ())
        return fn


class _FakeGenerator:
    def manual_seed(self, seed):
        return self


class _FakeModule:
    def __init__(self):
        pass

    def __call__(self, *xs):
        return self.forward(*xs)


# The runner's forms of the facts' names where it writes them as operators or not at all.
RUNNER_FORMS = {"mul": {"Tensor.__mul__", "addcmul"}, "add": {"Tensor.__add__", "add"},
                "Tensor.view_as": {"(returns its input)"}}


@pytest.mark.parametrize("kind", sorted(set(EXAMPLES) & set(TORCH_KINDS)))
def test_each_kind_runs_through_its_runner_with_the_facts_torch_form(kind, monkeypatch):
    # A recording stand-in for torch (torch need not be installed): the kind's layer is
    # built and run through the runner's table, and calls what its facts name.
    import sys

    from augur_sim.measure.torchexec import build_module
    calls: list = []
    monkeypatch.setitem(sys.modules, "torch", _FakeNamespace(calls))
    g = _graph(kind, EXAMPLES[kind])
    module = build_module(g)
    calls.clear()  # the weights drawn; from here, what the forward runs
    outs = module(*[_FakeTensor(calls, g.tensors[t].shape) for t in g.inputs])
    assert len(outs) == len(g.outputs)
    want = FACTS[kind].torch
    if kind == "act":
        want = f"{want}.{EXAMPLES[kind]['fn']}"
    seen = set(calls) or {"(returns its input)"}
    assert seen & RUNNER_FORMS.get(want, {want}), (want, calls)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_kind_lowers_exports_and_round_trips(tmp_path, kind):
    g = _graph(kind, EXAMPLES[kind])
    low = lower(g, "fp32", ("conv_bias", "conv_relu"))
    assert low.n >= 1 and np.all(np.isfinite(low.rows))
    # the kernel class the facts give (a depthwise conv would run as a direct kernel)
    host = "k" if kind == "const" else "l"
    cls = int(low.rows[low.layer_kernel[host], 0])
    assert cls == {"gemm": GEMM, "stream": STREAM, "noop": NOOP}[FACTS[kind].kernel]
    p = tmp_path / f"{kind}.onnx"
    export_onnx(g, p)
    back = load_onnx(p)
    a, b = count_net(g).total, count_net(back).total
    assert (a.macs, a.params, a.flops) == (b.macs, b.params, b.flops)
    assert [back.tensors[t].shape for t in back.outputs] == [g.tensors[t].shape for t in g.outputs]
    if FACTS[kind].onnx:  # it comes back as itself (a view as some view: flatten is written as Reshape)
        ops = {layer.op for layer in back.layers()} - {"input"}
        assert kind in ops or FACTS[kind].kernel == "noop" and {FACTS[o].kernel for o in ops} == {"noop"}


def test_batched_const_round_trips(tmp_path):
    # A batched const exports as Expand of its (1, ...) weight; the importer counts what the
    # file stores (256), not the expanded tensor (512).
    g = _graph("const", {"shape": (4, 8, 8), "batch": 2})
    export_onnx(g, tmp_path / "c.onnx")
    back = load_onnx(tmp_path / "c.onnx")
    assert count_net(back).total.params == count_net(g).total.params == 256
    assert [back.tensors[t].shape for t in back.outputs] == [(2, 4, 8, 8)]


def test_batched_const_into_a_concat_round_trips(tmp_path):
    b = GraphBuilder("const_cat", "t.yaml")
    b.add_input("x", (2, 4, 8))
    b.add_layer(Layer("k", "const", {"shape": (1, 8), "batch": 2}, (), ("k",)))
    b.add_layer(Layer("c", "concat", {"axis": 1}, ("x", "k"), ("y",)))
    g = b.build()
    export_onnx(g, tmp_path / "c.onnx")
    back = load_onnx(tmp_path / "c.onnx")
    assert count_net(back).total.params == count_net(g).total.params == 8
    assert [back.tensors[t].shape for t in back.outputs] == [(2, 5, 8)]


# Attributes an activation needs beyond its name, for the example graph.
ACT_ATTRS = {"clip": {"min": 0.0, "max": 6.0}, "leaky_relu": {"alpha": 0.1},
             "power": {"power": 2.0, "scale": 0.5, "shift": 1.0}}


@pytest.mark.parametrize("fn", sorted(ACTIVATIONS))
def test_activation_facts_are_read_by_every_stage(tmp_path, fn):
    act = ACTIVATIONS[fn]
    g = _graph("act", {"fn": fn, **ACT_ATTRS.get(fn, {})})
    # Counting reads the table's FLOPs; lowering its transcendentals.
    lc = augur_sim.analyze(g).layers[-1]
    assert lc.counts.flops == act.flops * lc.counts.out_elems
    low = lower(g)
    assert low.rows[-1, 22] == act.exp * lc.counts.out_elems  # C_TRANS
    # Fused into a conv epilogue exactly when the table says so.
    b = GraphBuilder("epi", "t.yaml")
    b.add_input("x", X)
    b.add_layer(Layer("c", "conv", {"out_channels": 4, "kernel": (1, 1)}, ("x",), ("c",)))
    b.add_layer(Layer("a", "act", {"fn": fn, **ACT_ATTRS.get(fn, {})}, ("c",), ("y",)))
    fused = lower(b.build(), "fp32", ("conv_relu",))
    assert (fused.layer_kernel["a"] == fused.layer_kernel["c"]) == (fn in EPILOGUE_ACTIVATIONS)
    # Export and re-import; a function with an ONNX operator comes back as itself (at an
    # opset that has the operator), the others as the nodes that compose them.
    assert act.export in ("node", "custom")
    p = tmp_path / f"{fn}.onnx"
    export_onnx(g, p, opset=20)
    back = load_onnx(p)
    assert count_net(back).total.macs == count_net(g).total.macs
    if act.onnx:
        assert ONNX_ACTIVATIONS[act.onnx] == fn
        assert [l.attrs["fn"] for l in back.layers() if l.op == "act"] == [fn]
        assert count_net(back).total.flops == count_net(g).total.flops
    # The torch runner names a function by its path under torch.
    assert act.torch is None or all(part.isidentifier() for part in act.torch.split("."))
