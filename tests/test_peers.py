"""augur-sim's counts agree with onnx-tool's on the same ONNX files.

What onnx-tool counts (read from its node.py / graph.py, version 1.0): a Conv's MACs are
output elements x (C_in / groups x kh x kw), plus one more per output element when the
node has a bias input; a Gemm's are output elements x K, plus one per output element
with a bias. It also gives MACs to ReLU, pooling, Add, BatchNormalization and so on, which
augur-sim counts as FLOPs, not MACs; so MACs are compared on Conv and Gemm nodes, bias
adds taken out. A node's parameters are the elements of the initializers it reads (each
initializer counted at its first reader), which for BatchNormalization includes the
running mean and variance (augur-sim's stat_params), and also inputs that are settings,
not weights: Reshape's int64 target shape, Clip's bounds (ReLU6). With those two conventions
accounted for, both must agree exactly, node by node.
"""
from __future__ import annotations

import math

import pytest

onnx_tool = pytest.importorskip("onnx_tool", reason="onnx-tool not installed (the 'bench' extra)")

from augur_sim.counts import count_net  # noqa: E402
from augur_sim.frontends import load_net  # noqa: E402
from augur_sim.measure.export import export_onnx  # noqa: E402

# Fire modules (1x1 + 3x3), a residual net with batch norm and an FC layer, depthwise
# convs with ReLU6, inception branches, channel split and shuffle, squeeze-excitation
# with swish; all small enough to export and profile in a few seconds.
NETS = ["squeezenet1_1", "resnet18", "mobilenet_v2", "googlenet", "shufflenet_v2_x1_0",
        "efficientnet_b0"]


@pytest.fixture(scope="module", params=NETS)
def pair(request, tmp_path_factory):
    """(augur NetCount of the re-imported file, onnx-tool profiled graph, the ONNX model)."""
    import onnx
    path = tmp_path_factory.mktemp("peers") / f"{request.param}.onnx"
    export_onnx(load_net(request.param), path)
    nc = count_net(load_net(str(path)))
    m = onnx_tool.Model(str(path), {"verbose": False})
    g = m.graph
    g.graph_reorder_nodes()
    g.shape_infer()
    g.profile()
    model = onnx.load(str(path))
    return nc, g, model


# Inputs that carry an op's settings, not weights: ReLU6's bounds, a reshape's target shape.
OPERAND_SLOTS = {"Clip": (1, 2), "Reshape": (1,), "Pad": (1, 2, 3), "Slice": (1, 2, 3, 4),
                 "Resize": (1, 2, 3), "Pow": (1,)}


def _operand_elems(model) -> dict[str, int]:
    """Initializers read only as settings (OPERAND_SLOTS, or integer-typed): elements each."""
    import onnx
    inits = {t.name: t for t in model.graph.initializer}
    ints = (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
    out = {n: math.prod(t.dims) for n, t in inits.items() if t.data_type in ints}
    for node in model.graph.node:
        for i in OPERAND_SLOTS.get(node.op_type, ()):
            if i < len(node.input) and node.input[i] in inits:
                out[node.input[i]] = math.prod(inits[node.input[i]].dims)
    return out


def test_conv_and_gemm_macs_agree_per_node(pair):
    nc, g, model = pair
    layers = {l.name: l for l in nc.layers}
    compared = 0
    for name, node in g.nodemap.items():
        if node.op_type not in ("Conv", "Gemm"):
            continue
        assert name in layers, f"{node.op_type} node {name} has no augur-sim layer"
        out_elems = math.prod(g.tensormap[node.output[0]].get_shape())
        bias_adds = out_elems if len(node.input) == 3 else 0
        assert int(node.macs[0]) - bias_adds == layers[name].counts.macs, name
        compared += 1
    assert compared >= 20


def test_params_agree_per_node(pair):
    nc, g, model = pair
    layers = {l.name: l for l in nc.layers}
    operands = _operand_elems(model)
    seen = set()
    compared = 0
    for name, node in g.nodemap.items():
        # onnx-tool charges an initializer to its first reader only; so must we.
        shape_elems = sum(operands[i] for i in node.input if i in operands and i not in seen)
        seen.update(node.input)
        if name not in layers:
            assert int(node.params) == shape_elems, f"{name}: weights outside any augur-sim layer"
            continue
        c = layers[name].counts
        assert int(node.params) - shape_elems == c.params + c.stat_params, name
        compared += 1
    assert compared == len(g.nodemap)


def test_totals_agree(pair):
    """Whole-network totals under the same two conventions: parameters exactly, and the
    MACs of everything onnx-tool counts beyond conv/gemm are what augur-sim calls FLOPs
    of other ops (so onnx-tool's total is never below augur-sim's)."""
    nc, g, model = pair
    operands = sum(_operand_elems(model).values())
    assert int(g.params) - operands == nc.total.params + nc.total.stat_params
    conv_gemm = {l.name: l.counts.macs for l in nc.layers if l.op in ("conv", "fc")}
    # augur-sim gives MACs to conv and fc layers only: the totals are their sum.
    assert nc.total.macs == sum(conv_gemm.values())
    assert g.macs[0] > nc.total.macs
