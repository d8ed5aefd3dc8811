"""The calibration's microbenchmarks: each one a LayerSpec, built both as a LayerGraph (what
the model costs) and as a single-op ONNX model (what ONNX Runtime runs); stream sizes of
the bandwidth benchmark per cache level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import AugurError
from ..graph import GraphBuilder, Layer
from ..ops.activations import ACTIVATIONS
from .machine import MachineInfo


@dataclass(frozen=True)
class LayerSpec:
    """One microbenchmark: a single layer of our graph vocabulary.

    chain = 0: the op alone in a model; its time is the run minus session.run's fixed cost.
    chain = K > 0: the op is timed as a chain. A `unit` (the op, followed by `back` where
    the op changes the channel count: a conv mapping the channels back) is repeated 1 and
    1 + K times, and the time of one unit is the slope (t[1+K] - t[1]) / K. The slope
    drops what a standalone op pays once per run and a network amortises: session.run,
    and the layout Reorder nodes ORT puts around its NCHWc kernels (convs, pools)."""
    name: str
    family: str                   # gemm | conv | dwconv | gconv | pool | eltwise | act | lrn | concat | softmax
    op: str
    attrs: dict
    in_shapes: tuple
    chain: int = 0
    back: dict | None = None      # attrs of the conv that closes a unit (cout -> cin), or None


CHAIN_K = 6   # extra units in the long chain (units: 1 and 1 + CHAIN_K)


def conv_spec(name, family, cin, cout, hw, k, s=1, g=1, chain=False):
    p = k // 2
    attrs = {"out_channels": cout, "kernel": (k, k), "stride": (s, s), "pad": (p, p, p, p), "group": g,
             "bias": True}
    back = None
    if chain and s != 1:
        raise AugurError(f"benchmark {name}: only stride-1 convs keep their shape in a chain")
    if chain and cin != cout:
        back = dict(attrs, out_channels=cin)
    return LayerSpec(name, family, "conv", attrs, ((1, cin, hw, hw),), CHAIN_K if chain else 0, back)


def gemm_spec(name, m, n, k):
    return LayerSpec(name, "gemm", "fc", {"out_features": m, "axis": 1, "bias": True}, ((n, k),))


def pool_spec(name, mode, c, hw, k, s, p, chain=False):
    return LayerSpec(name, "pool", "pool", {"mode": mode, "kernel": (k, k), "stride": (s, s), "pad": (p,) * 4},
                     ((1, c, hw, hw),), CHAIN_K if chain else 0)


def lrn_spec(name, c, hw):
    return LayerSpec(name, "lrn", "lrn", {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0, "region": "across"},
                     ((1, c, hw, hw),))


def bench_specs(mode: str) -> list[LayerSpec]:
    """The benchmark set: 'full', 'quick' (a subset) or 'tiny' (tests only).

    Stride-1 convs, depthwise convs and stride-1 pools are timed as chains (see LayerSpec):
    that is how a network runs them. Strided and first-layer convs, GEMMs, element-wise
    ops, LRN, softmax and concat are timed alone (their shape does not survive a chain,
    or a network runs them outside the NCHWc layout too)."""
    if mode == "tiny":
        return [gemm_spec("gemm_64x32x64", 64, 32, 64), conv_spec("conv3x3_8_8", "conv", 8, 8, 8, 3, chain=True),
                conv_spec("dw3x3_8", "dwconv", 8, 8, 8, 3, g=8),
                LayerSpec("relu_4k", "act", "act", {"fn": "relu"}, ((1, 16, 16, 16),)),
                LayerSpec("add_4k", "eltwise", "eltwise", {"fn": "sum"}, ((1, 16, 16, 16),) * 2),
                lrn_spec("lrn5_16_8", 16, 8),
                LayerSpec("sigmoid_4k", "trans", "act", {"fn": "sigmoid"}, ((1, 16, 16, 16),))]
    quick = [
        gemm_spec("gemm_1000x1x4096", 1000, 1, 4096),
        gemm_spec("gemm_256x256x256", 256, 256, 256),
        gemm_spec("gemm_1024x64x1024", 1024, 64, 1024),
        conv_spec("conv3x3_64_56", "conv", 64, 64, 56, 3, chain=True),
        conv_spec("conv3x3_256_14", "conv", 256, 256, 14, 3, chain=True),
        conv_spec("conv1x1_256_64_56", "conv", 256, 64, 56, 1, chain=True),
        conv_spec("conv1x1_1024_256_14", "conv", 1024, 256, 14, 1, chain=True),
        conv_spec("conv3x3s2_128_56", "conv", 128, 128, 56, 3, s=2),
        conv_spec("conv7x7s2_3_64_224", "conv", 3, 64, 224, 7, s=2),
        conv_spec("conv1x1_64_16_55", "conv", 64, 16, 55, 1, chain=True),
        conv_spec("dw3x3_32_112", "dwconv", 32, 32, 112, 3, g=32, chain=True),
        conv_spec("dw3x3_512_14", "dwconv", 512, 512, 14, 3, g=512, chain=True),
        conv_spec("gconv3x3_g32_128_56", "gconv", 128, 128, 56, 3, g=32, chain=True),
        pool_spec("maxpool3x3s1_64_56", "max", 64, 56, 3, 1, 1, chain=True),
        LayerSpec("gavgpool_2048_7", "pool", "pool", {"mode": "avg", "global": True}, ((1, 2048, 7, 7),)),
        LayerSpec("relu_64_112", "act", "act", {"fn": "relu"}, ((1, 64, 112, 112),)),
        LayerSpec("add_256_56", "eltwise", "eltwise", {"fn": "sum"}, ((1, 256, 56, 56),) * 2),
        LayerSpec("add_64_28", "eltwise", "eltwise", {"fn": "sum"}, ((1, 64, 28, 28),) * 2),
        lrn_spec("lrn5_96_55", 96, 55),
        LayerSpec("sigmoid_64_112", "trans", "act", {"fn": "sigmoid"}, ((1, 64, 112, 112),)),
    ]
    if mode == "quick":
        return quick
    more = [
        gemm_spec("gemm_4096x1x4096", 4096, 1, 4096),
        gemm_spec("gemm_1024x1024x1024", 1024, 1024, 1024),
        gemm_spec("gemm_64x3136x576", 64, 3136, 576),
        gemm_spec("gemm_512x49x4608", 512, 49, 4608),
        gemm_spec("gemm_16x256x64", 16, 256, 64),
        gemm_spec("gemm_128x128x2048", 128, 128, 2048),
        conv_spec("conv3x3_128_28", "conv", 128, 128, 28, 3, chain=True),
        conv_spec("conv3x3_512_7", "conv", 512, 512, 7, 3, chain=True),
        conv_spec("conv3x3_3_64_224", "conv", 3, 64, 224, 3),
        conv_spec("conv3x3_64_64_224", "conv", 64, 64, 224, 3, chain=True),
        conv_spec("conv1x1_64_256_56", "conv", 64, 256, 56, 1),
        conv_spec("conv1x1_2048_512_7", "conv", 2048, 512, 7, 1, chain=True),
        conv_spec("conv1x1_96_16_55", "conv", 96, 16, 55, 1, chain=True),
        conv_spec("conv1x1_32_96_112", "conv", 32, 96, 112, 1, chain=True),
        conv_spec("conv1x1_320_1280_7", "conv", 320, 1280, 7, 1, chain=True),
        conv_spec("conv1x1s2_256_512_56", "conv", 256, 512, 56, 1, s=2),
        conv_spec("conv11x11s4_3_96_227", "conv", 3, 96, 227, 11, s=4),
        conv_spec("conv5x5_48_128_27", "conv", 48, 128, 27, 5, chain=True),
        conv_spec("conv3x3_16_64_55", "conv", 16, 64, 55, 3, chain=True),
        conv_spec("gconv5x5_g2_96_256_27", "gconv", 96, 256, 27, 5, g=2),
        conv_spec("dw3x3s2_64_112", "dwconv", 64, 64, 112, 3, s=2, g=64),
        conv_spec("dw3x3_1024_7", "dwconv", 1024, 1024, 7, 3, g=1024, chain=True),
        conv_spec("dw3x3_144_56", "dwconv", 144, 144, 56, 3, g=144, chain=True),
        conv_spec("dw5x5_240_14", "dwconv", 240, 240, 14, 5, g=240, chain=True),
        pool_spec("maxpool3x3s1_192_28", "max", 192, 28, 3, 1, 1, chain=True),
        pool_spec("avgpool3x3s1_256_28", "avg", 256, 28, 3, 1, 1, chain=True),
        LayerSpec("relu_512_28", "act", "act", {"fn": "relu"}, ((1, 512, 28, 28),)),
        LayerSpec("relu_4k", "act", "act", {"fn": "relu"}, ((1, 64, 8, 8),)),
        LayerSpec("add_2048_7", "eltwise", "eltwise", {"fn": "sum"}, ((1, 2048, 7, 7),) * 2),
        LayerSpec("concat2_128_28", "concat", "concat", {"axis": 1}, ((1, 128, 28, 28),) * 2),
        LayerSpec("softmax_1000", "softmax", "softmax", {"axis": 1}, ((1, 1000),)),
        lrn_spec("lrn5_256_27", 256, 27),
        LayerSpec("sigmoid_256_28", "trans", "act", {"fn": "sigmoid"}, ((1, 256, 28, 28),)),
        LayerSpec("tanh_64_112", "trans", "act", {"fn": "tanh"}, ((1, 64, 112, 112),)),
    ]
    return quick + more


def layer_graph(spec: LayerSpec, units: int = 1):
    """The benchmark as a LayerGraph: `units` repetitions of its unit (the op, then `back`
    where set), inputs x0, x1, ...; the first unit's op is named spec.name."""
    if units < 1 or (units > 1 and not spec.chain):
        raise AugurError(f"benchmark {spec.name}: {units} units asked of a benchmark that is not a chain")
    b = GraphBuilder(spec.name if units == 1 else f"{spec.name}_x{units}")
    names = []
    for i, s in enumerate(spec.in_shapes):
        b.add_input(f"x{i}", s)
        names.append(f"x{i}")
    prev = tuple(names)
    for u in range(units):
        steps = [(spec.op, spec.attrs)] + ([("conv", spec.back)] if spec.back else [])
        for j, (op, attrs) in enumerate(steps):
            name = spec.name if (u, j) == (0, 0) else f"{spec.name}_u{u}_{j}"
            b.add_layer(Layer(name, op, dict(attrs), prev, (name,)))
            prev = (name,)
    return b.build()


def onnx_model(spec: LayerSpec, graph) -> bytes:
    """An ONNX model of the benchmark graph (one node per layer), weights random (their
    values do not matter)."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    inits, nodes = [], []
    for lname in graph.order:
        layer = graph.layer(lname)
        if layer.op == "input":
            continue
        a = layer.attrs
        node_in = list(layer.inputs)
        in_shape = graph.tensors[layer.inputs[0]].shape

        def weight(suffix, shape):
            # Called at once, inside this iteration: the loop variables are the current layer's.
            inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.05).astype(np.float32),
                                                 f"{lname}_{suffix}"))  # noqa: B023
            node_in.append(f"{lname}_{suffix}")  # noqa: B023

        out = [layer.outputs[0]]
        if layer.op == "conv":
            cin = in_shape[1]
            g = a.get("group", 1)
            kh, kw = a["kernel"]
            weight("w", (a["out_channels"], cin // g, kh, kw))
            if a.get("bias", True):
                weight("b", (a["out_channels"],))
            t, l, b_, r = a.get("pad", (0, 0, 0, 0))
            node = helper.make_node("Conv", node_in, out, name=lname, kernel_shape=[kh, kw],
                                    strides=list(a.get("stride", (1, 1))), pads=[t, l, b_, r], group=g)
        elif layer.op == "fc":
            weight("w", (a["out_features"], in_shape[1]))
            if a.get("bias", True):
                weight("b", (a["out_features"],))
            node = helper.make_node("Gemm", node_in, out, name=lname, transB=1)
        elif layer.op == "pool":
            if a.get("global"):
                node = helper.make_node("GlobalAveragePool" if a["mode"] == "avg" else "GlobalMaxPool",
                                        node_in, out, name=lname)
            else:
                t, l, b_, r = a.get("pad", (0, 0, 0, 0))
                kw_: dict[str, Any] = {"count_include_pad": 1} if a["mode"] == "avg" else {}
                node = helper.make_node("MaxPool" if a["mode"] == "max" else "AveragePool", node_in, out,
                                        name=lname, kernel_shape=list(a["kernel"]),
                                        strides=list(a.get("stride", (1, 1))), pads=[t, l, b_, r], **kw_)
        elif layer.op == "act":
            act = ACTIVATIONS.get(a["fn"])
            if act is None or act.export != "node" or not act.onnx or act.onnx_attrs:
                raise AugurError(f"calibrate has no ONNX builder for activation '{a['fn']}'")
            node = helper.make_node(act.onnx, node_in, out, name=lname)
        elif layer.op == "eltwise":
            node = helper.make_node("Add", node_in, out, name=lname)
        elif layer.op == "lrn":
            node = helper.make_node("LRN", node_in, out, name=lname, size=a["size"], alpha=a["alpha"],
                                    beta=a["beta"], bias=a["k"])
        elif layer.op == "concat":
            node = helper.make_node("Concat", node_in, out, name=lname, axis=a.get("axis", 1))
        elif layer.op == "softmax":
            node = helper.make_node("Softmax", node_in, out, name=lname, axis=a.get("axis", 1))
        else:
            raise AugurError(f"calibrate has no ONNX builder for op '{layer.op}'")
        nodes.append(node)
    ins = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, list(s)) for i, s in enumerate(spec.in_shapes)]
    last = graph.layer(graph.order[-1]).outputs[0]
    outs = [helper.make_tensor_value_info(last, TensorProto.FLOAT, list(graph.tensors[last].shape))]
    g = helper.make_graph(nodes, graph.name, ins, outs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def chain_model(n: int, elems: int = 8) -> bytes:
    """n tiny ReLUs in a row: the per-node and per-run overhead of the runtime."""
    from onnx import TensorProto, helper
    nodes, prev = [], "x"
    for i in range(n):
        out = "y" if i == n - 1 else f"t{i}"
        nodes.append(helper.make_node("Relu", [prev], [out], name=f"r{i}"))
        prev = out
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, elems])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, elems])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def add_model(elems: int) -> bytes:
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"], name="add")], "stream",
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, [elems]) for n in ("a", "b")],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [elems])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()




def stream_sizes(machine: MachineInfo, threads: int, mode: str) -> dict:
    """Elements per array of the Add stream for each level (three arrays live at once)."""
    caches = machine.caches
    l2 = next((c for c in caches if c.level == 2), None)
    llc = caches[-1] if caches else None
    if mode == "tiny":
        return {"L2": 1 << 14, "DRAM": 1 << 18}
    out = {}
    if l2:
        per = l2.size_bytes * (threads if not l2.shared else 1) // 2
        out["L2"] = max(per // 12, 1 << 12)
    if llc and llc.level >= 3:
        # Well inside the last level (a VM's share of a big shared L3 is smaller than sysfs says).
        out["L3"] = max(min(llc.size_bytes // 16, 32 << 20) // 12, 1 << 16)
    big = max((llc.size_bytes if llc else 32 << 20) * (2 if mode == "quick" else 3), 256 << 20)
    big = min(big, machine.memory_bytes // 6)
    out["DRAM"] = big // 12
    return out
