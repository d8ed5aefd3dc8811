"""The ONNX frontend's structure-only read (frontends/onnx_wire.py): weights are skipped
unread, the few values shapes need are read back on demand, external data is never opened.

Every model is also loaded through a full protobuf decode of the file (the reader used
before the structure-only read, still the fallback) and must give the same graph."""
from __future__ import annotations

import os
import resource
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto as T, helper, numpy_helper  # noqa: E402

from augur_sim.counts import count_net  # noqa: E402
from augur_sim.errors import AugurError  # noqa: E402
from augur_sim.frontends import onnx as onnx_frontend  # noqa: E402
from augur_sim.frontends import onnx_wire  # noqa: E402
from augur_sim.frontends.onnx import load_onnx  # noqa: E402
from onnx_util import external_data_model  # noqa: E402


def peak_alloc(fn):
    """(fn(), peak bytes Python allocated while it ran)."""
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def vi(name, shape):
    return helper.make_tensor_value_info(name, T.FLOAT, shape)


def save(path: Path, nodes, inputs, outputs, inits=(), opset=17) -> Path:
    g = helper.make_graph(nodes, "t", inputs, [vi(o, None) for o in outputs], initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    path.write_bytes(m.SerializeToString())
    return path


def rand(name, *shape):
    return numpy_helper.from_array(np.random.default_rng(len(name)).standard_normal(shape)
                                   .astype(np.float32), name)


def full_decode(monkeypatch, path):
    """load_onnx with the whole file decoded by protobuf (nothing stripped)."""
    def read(p):
        return onnx.load_model_from_string(Path(p).read_bytes()), None
    with monkeypatch.context() as m:
        m.setattr(onnx_frontend, "_read_model", read)
        return load_onnx(path)


def same_graph(a, b):
    assert a.order == b.order
    assert {t: i.shape for t, i in a.tensors.items()} == {t: i.shape for t, i in b.tensors.items()}
    assert [a.layer(n).attrs for n in a.order] == [b.layer(n).attrs for n in b.order]
    ca, cb = count_net(a).total, count_net(b).total
    assert (ca.macs, ca.flops, ca.params) == (cb.macs, cb.flops, cb.params)


def conv_bn_fc(tmp_path, channels=512, affine_identity=True):
    """conv -> BN (scale all ones and bias zeros when affine_identity) -> pool -> fc; the BN
    parameters are larger than onnx_wire.INLINE_MAX_BYTES, so they are stripped."""
    c = channels
    ones = np.ones(c, np.float32) if affine_identity else np.linspace(0.5, 1.5, c, dtype=np.float32)
    zeros = np.zeros(c, np.float32)
    inits = [rand("W", c, 3, 3, 3), numpy_helper.from_array(ones, "s"), numpy_helper.from_array(zeros, "b"),
             numpy_helper.from_array(zeros, "m"), numpy_helper.from_array(ones, "v"), rand("F", 1000, c)]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="bn"),
             helper.make_node("GlobalAveragePool", ["n"], ["p"], name="pool"),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "F"], ["y"], transB=1, name="fc")]
    return save(tmp_path / "m.onnx", nodes, [vi("x", [1, 3, 32, 32])], ["y"], inits)


def test_weights_are_stripped_and_the_graph_is_the_same(tmp_path, monkeypatch):
    p = conv_bn_fc(tmp_path)
    st = onnx_wire.strip(p.read_bytes())
    model = onnx.load_model_from_string(st.data)
    by_name = {t.name: t for t in model.graph.initializer}
    # The fc weight (2 MB) and the BN vectors (2 KB each, kept inline) ...
    assert not by_name["F"].raw_data and list(by_name["F"].dims) == [1000, 512]
    assert by_name["s"].raw_data and by_name["s"].data_location == T.DEFAULT
    # ... so what protobuf decodes is a small fraction of the file.
    assert len(st.data) < 0.02 * p.stat().st_size
    assert st.stripped_bytes > 1000 * 512 * 4
    g = load_onnx(p)
    same_graph(g, full_decode(monkeypatch, p))
    assert g.layer("bn").attrs["affine"] is False  # read from the values, as before


@pytest.mark.parametrize("affine_identity", [True, False])
def test_stripped_values_are_read_back_on_demand(tmp_path, monkeypatch, affine_identity):
    # 2048 channels: 8 KB BN vectors, stripped; the all-ones test reads them back lazily.
    p = conv_bn_fc(tmp_path, channels=2048, affine_identity=affine_identity)
    st = onnx_wire.strip(p.read_bytes())
    stripped = {t.name for t in onnx.load_model_from_string(st.data).graph.initializer if not t.raw_data}
    assert {"s", "b", "F"} <= stripped
    g = load_onnx(p)
    assert g.layer("bn").attrs["affine"] is (not affine_identity)
    same_graph(g, full_decode(monkeypatch, p))


def test_folding_reads_a_stripped_constant(tmp_path, monkeypatch):
    # A Reshape target taken out of a 1,000-entry int64 table (8 KB, stripped) by Gather and
    # Concat: folding must read the table back from the file.
    table = numpy_helper.from_array(np.arange(1000, dtype=np.int64), "table")
    idx = numpy_helper.from_array(np.asarray([48], np.int64), "idx")
    lead = numpy_helper.from_array(np.asarray([1], np.int64), "lead")
    nodes = [helper.make_node("Gather", ["table", "idx"], ["n"], axis=0, name="g"),
             helper.make_node("Concat", ["lead", "n"], ["shape"], axis=0, name="cat"),
             helper.make_node("Reshape", ["x", "shape"], ["y"], name="r"),
             helper.make_node("Relu", ["y"], ["z"], name="relu")]
    p = save(tmp_path / "m.onnx", nodes, [vi("x", [1, 3, 4, 4])], ["z"], [table, idx, lead])
    assert onnx_wire.strip(p.read_bytes()).stripped_bytes >= 8000
    g = load_onnx(p)
    assert g.tensors["y"].shape == (1, 48)
    same_graph(g, full_decode(monkeypatch, p))


def test_large_constant_node_is_stripped_and_counted(tmp_path, monkeypatch):
    big = numpy_helper.from_array(np.ones((64, 32, 32), np.float32), "k")  # 256 KB in a Constant node
    nodes = [helper.make_node("Constant", [], ["k"], value=big, name="const"),
             helper.make_node("Mul", ["x", "k"], ["y"], name="mul")]
    p = save(tmp_path / "m.onnx", nodes, [vi("x", [1, 64, 32, 32])], ["y"])
    st = onnx_wire.strip(p.read_bytes())
    assert st.stripped_bytes >= 64 * 32 * 32 * 4 and len(st.data) < 4096
    g = load_onnx(p)
    assert g.layer("mul").attrs["const_elems"] == 64 * 32 * 32
    same_graph(g, full_decode(monkeypatch, p))


def test_a_forged_marker_is_not_followed(tmp_path):
    # A file can name the scanner's own marker location; only offsets this scan recorded
    # are read, so this tensor is external data (never read), not bytes of the file.
    t = T()
    t.name, t.data_type, t.data_location = "shape", T.INT64, T.EXTERNAL
    t.dims.append(2)
    for k, v in (("location", onnx_wire.LAZY_LOCATION), ("offset", "0"), ("length", "16")):
        e = t.external_data.add()
        e.key, e.value = k, v
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")]
    p = save(tmp_path / "m.onnx", nodes, [vi("x", [1, 3, 4, 4])], ["y"], [t])
    with pytest.raises(AugurError, match="external data file"):
        load_onnx(p)


def test_a_truncated_file_still_says_why(tmp_path):
    p = conv_bn_fc(tmp_path)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(AugurError, match="not a valid ONNX model"):
        load_onnx(p)
    with pytest.raises(onnx_wire.Malformed):
        onnx_wire.strip(data[: len(data) // 2])


def test_weight_bytes_are_never_materialised(tmp_path):
    # A 64 MB fc weight: Python-side allocations while loading stay far below its size.
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "W"], ["y"], transB=1, name="fc")]
    p = save(tmp_path / "big.onnx", nodes, [vi("x", [1, 4096, 1, 1])], ["y"], [rand("W", 4096, 4096)])
    load_onnx(p)  # imports and caches outside the measurement
    g, peak = peak_alloc(lambda: load_onnx(p))
    assert count_net(g).total.params == 4096 * 4096
    assert peak < 8 << 20, peak


def test_external_data_over_2gb_is_never_read(tmp_path):
    p, data = external_data_model(tmp_path)
    assert data.stat().st_size > 2 << 30 and data.stat().st_blocks * 512 < 1 << 20  # sparse
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    g, peak = peak_alloc(lambda: load_onnx(p))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    c = count_net(g).total
    assert c.macs == c.params == 25_000 * 30_000
    assert peak < 4 << 20 and after - before < 256 << 20
    # The weight file plays no part: without it the graph is the same.
    os.remove(data)
    assert count_net(load_onnx(p)).total.params == c.params


def test_cli_estimates_an_external_data_model(tmp_path, capsys):
    import json

    from augur_sim.cli import main
    p, _ = external_data_model(tmp_path)
    assert main(["estimate", str(p), "--hw", "jetson_tx2", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"]["macs"] == out["total"]["params"] == 25_000 * 30_000


def test_builder_reuses_the_frontends_shapes_only_when_inputs_match(tmp_path, monkeypatch):
    from augur_sim.graph import GraphBuilder, Layer
    p = conv_bn_fc(tmp_path)
    fast = load_onnx(p)
    orig = GraphBuilder.add_layer
    monkeypatch.setattr(GraphBuilder, "add_layer", lambda self, layer, inferred=None: orig(self, layer))
    slow = load_onnx(p)
    same_graph(fast, slow)
    assert [fast.layer(n).params for n in fast.order] == [slow.layer(n).params for n in slow.order]
    monkeypatch.undo()
    # Shapes recorded for other input shapes are not trusted: the rule runs again.
    b = GraphBuilder("t")
    b.add_input("x", (1, 4))
    b.add_layer(Layer(name="r", op="act", attrs={"fn": "relu"}, inputs=("x",), outputs=("y",)),
                inferred=(((1, 5),), ((1, 5),), ()))
    assert b.build().tensors["y"].shape == (1, 4)


def _wire_and_copy_shapes(path: Path, batch=None):
    """ONNX's inference shapes from the wire-level inference model and from the protobuf
    copy (_onnx_shapes without the read's parts): (wire, copy)."""
    model, lazy = onnx_frontend._read_model(path)
    try:
        assert lazy is not None and lazy.stripped.infer_graph is not None
        inits = {t.name for t in model.graph.initializer}
        inputs = onnx_frontend._resolve_inputs(model, str(path), batch, None, inits)
        return (onnx_frontend._onnx_shapes(model, inputs, True, wire=lazy.stripped),
                onnx_frontend._onnx_shapes(model, inputs, True))
    finally:
        lazy.close()


@pytest.mark.parametrize("batch", [None, 3])
def test_inference_model_from_the_wire_equals_the_protobuf_copy(tmp_path, batch):
    # Stale value_info (a wrong shape for 'c'), a declared output shape, an initializer
    # listed among the inputs (IR 3 style), a symbolic batch: all as the copy handles them.
    p = conv_bn_fc(tmp_path, channels=2048)
    m = onnx.load(str(p))
    m.graph.value_info.append(vi("c", [1, 2048, 5, 5]))
    m.graph.output[0].CopyFrom(vi("y", [7, 1000]))
    m.graph.input.append(vi("F", [1000, 2048]))
    m.graph.input[0].CopyFrom(vi("x", ["N", 3, 32, 32]))
    p.write_bytes(m.SerializeToString())
    wire, copy = _wire_and_copy_shapes(p, batch)
    n = batch or 1
    assert wire == copy
    assert wire["c"] == (n, 2048, 32, 32) and wire["y"] == (n, 1000)


def test_a_file_with_two_graph_fields_is_inferred_from_the_copy(tmp_path):
    # Protobuf merges repeated message fields: the wire parts would hold only the last one.
    p = conv_bn_fc(tmp_path)
    data = p.read_bytes()
    extra = onnx.ModelProto()
    extra.graph.name = "again"
    p.write_bytes(data + extra.SerializeToString())
    st = onnx_wire.strip(p.read_bytes())
    assert st.infer_graph is None
    g = load_onnx(p)
    assert g.tensors["y"].shape == (1, 1000)


@pytest.mark.parametrize("scale, bias, affine", [
    (1.0, 0.0, False),   # the bytes decide: all ones, all zeros
    (1.0, -0.0, False),  # -0.0 == 0.0, as numpy compares (the bytes differ)
    (2.0, 0.0, True),    # first element decides
    (1.0, 0.5, True),
])
@pytest.mark.parametrize("channels", [16, 2048])  # kept inline; stripped and read back
def test_batchnorm_identity_check_on_stored_bytes(tmp_path, monkeypatch, scale, bias, affine, channels):
    p = conv_bn_fc(tmp_path, channels=channels)
    m = onnx.load(str(p))
    for t in m.graph.initializer:
        if t.name in ("s", "b"):
            v = np.full(channels, scale if t.name == "s" else bias, np.float32)
            t.CopyFrom(numpy_helper.from_array(v, t.name))
    if scale == 1.0 and bias == 0.0:
        # one element off at the end: the whole run is compared, not the first element only
        m2 = onnx.ModelProto()
        m2.CopyFrom(m)
        for t in m2.graph.initializer:
            if t.name == "s":
                v = np.ones(channels, np.float32)
                v[-1] = 1.0 + 2 ** -20
                t.CopyFrom(numpy_helper.from_array(v, "s"))
        q = tmp_path / "off.onnx"
        q.write_bytes(m2.SerializeToString())
        assert load_onnx(q).layer("bn").attrs["affine"] is True
    p.write_bytes(m.SerializeToString())
    g = load_onnx(p)
    assert g.layer("bn").attrs["affine"] is affine
    same_graph(g, full_decode(monkeypatch, p))
    assert full_decode(monkeypatch, p).layer("bn").attrs["affine"] is affine


def test_built_graph_equals_networkx_construction():
    """graph._digraph fills networkx's adjacency directly: the same graph (nodes, edges,
    attributes, one data dict per edge) as add_nodes_from / add_edges_from build."""
    import networkx as nx

    from augur_sim.frontends import load_net
    from augur_sim.graph import _digraph
    g = load_net("resnet50")
    layers = [g.layer(n) for n in g.g._node]
    edges = {(u, v): d["tensors"] for u, v, d in g.g.edges(data=True)}
    ref = nx.DiGraph()
    ref.add_nodes_from((l.name, {"layer": l}) for l in layers)
    ref.add_edges_from((u, v, {"tensors": ts}) for (u, v), ts in edges.items())
    mine = _digraph(layers, edges)
    assert nx.utils.graphs_equal(mine, ref)
    assert list(mine.nodes) == list(ref.nodes) and list(mine.edges) == list(ref.edges)
    assert all(mine._succ[u][v] is mine._pred[v][u] for u, v in mine.edges)
    assert list(nx.topological_sort(mine)) and dict(mine.in_degree()) == dict(ref.in_degree())


def test_attribute_fast_paths_read_what_onnx_helper_reads():
    """_attrs reads INT, INTS, FLOAT, FLOATS and STRING attributes directly; the values
    (and types) are helper.get_attribute_value's, strings decoded."""
    node = helper.make_node("X", ["a"], ["b"], i=3, f=0.1, s="h\u00e9llo", ints=[1, 2], floats=[0.5, 1.5],
                            strs=["a", "b"], t=helper.make_tensor("t", T.FLOAT, [1], [1.0]))
    got = onnx_frontend._attrs(node)
    for a in node.attribute:
        want = helper.get_attribute_value(a)
        if isinstance(want, bytes):
            want = want.decode()
        elif isinstance(want, list):
            want = [x.decode() if isinstance(x, bytes) else x for x in want]
        assert type(got[a.name]) is type(want) and got[a.name] == want, a.name


def _shapes_with_and_without(path: Path, wire: bool):
    """ONNX's inference shapes of a model with every initializer, and with the ones
    _bn_only leaves out; plus the names left out."""
    model, lazy = onnx_frontend._read_model(path)
    try:
        inits = {t.name for t in model.graph.initializer}
        inputs = onnx_frontend._resolve_inputs(model, str(path), None, None, inits)
        declared = {v.name: onnx_frontend._dims(v) for v in model.graph.input}
        nodes = [onnx_frontend._Node(n) for n in model.graph.node]
        unread = onnx_frontend._bn_only(nodes, model.graph, declared)
        st = lazy.stripped if wire else None
        return (onnx_frontend._onnx_shapes(model, inputs, True, st),
                onnx_frontend._onnx_shapes(model, inputs, True, st, unread), unread)
    finally:
        lazy.close()


@pytest.mark.parametrize("opset", [7, 9, 14, 15, 17])
@pytest.mark.parametrize("wire", [True, False])
def test_bn_parameters_left_out_of_onnx_inference_change_no_shape(tmp_path, opset, wire):
    # Two BNs, one with parameters above INLINE_MAX_BYTES (stripped markers) and one below
    # (kept whole inside a run of fields), and a BN mean also read by an Add (broadcast over
    # the last axis): not left out.
    c = 2048
    ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
    small = [numpy_helper.from_array(np.ones(8, np.float32), n) for n in ("s2", "b2", "m2", "v2")]
    inits = [rand("W", c, 3, 3, 3), numpy_helper.from_array(ones, "s"), numpy_helper.from_array(zeros, "b"),
             numpy_helper.from_array(zeros, "m"), numpy_helper.from_array(ones, "v"), rand("W2", 8, c, 1, 1),
             *small]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="bn"),
             helper.make_node("Conv", ["n", "W2"], ["c2"], name="conv2"),
             helper.make_node("BatchNormalization", ["c2", "s2", "b2", "m2", "v2"], ["n2"], name="bn2"),
             helper.make_node("Add", ["n2", "m2"], ["y"], name="add")]
    p = save(tmp_path / "m.onnx", nodes, [vi("x", [1, 3, 8, 8])], ["y"], inits, opset=opset)
    every, fewer, unread = _shapes_with_and_without(p, wire)
    assert unread == {"s", "b", "m", "v", "s2", "b2", "v2"}  # m2 is read by the Add
    assert fewer == every and every["n2"] == (1, 8, 8, 8) and every["y"] == (1, 8, 8, 8)
    assert load_onnx(p).tensors["y"].shape == (1, 8, 8, 8)


def test_bn_parameters_stay_in_onnx_inference_beside_a_subgraph(tmp_path):
    # An If's branches may read any outer name: nothing is left out.
    p = conv_bn_fc(tmp_path)
    m = onnx.load(str(p))
    branch = helper.make_graph([helper.make_node("Identity", ["s"], ["o"])], "b", [], [vi("o", None)])
    m.graph.node.append(helper.make_node("If", ["cond"], ["z"], then_branch=branch, else_branch=branch))
    model = onnx.ModelProto.FromString(m.SerializeToString())
    nodes = [onnx_frontend._Node(n) for n in model.graph.node]
    assert onnx_frontend._bn_only(nodes, model.graph, {}) == frozenset()
    nodes = nodes[:-1]
    assert onnx_frontend._bn_only(nodes, model.graph, {}) == {"s", "b", "m", "v"}


def test_inference_model_leaves_out_the_initializers_asked(tmp_path):
    # Stripped (W, F, and the 2048-channel BN vectors) and whole (a small tensor) initializers,
    # cut from a run of unchanged fields or dropped as their own part.
    p = conv_bn_fc(tmp_path, channels=2048)
    m = onnx.load(str(p))
    m.graph.initializer.append(numpy_helper.from_array(np.ones(3, np.float32), "tiny"))
    m.graph.initializer.insert(0, numpy_helper.from_array(np.ones(2, np.float32), "first"))
    p.write_bytes(m.SerializeToString())
    st = onnx_wire.strip(p.read_bytes())
    names = [t.name for t in onnx.load_model_from_string(st.data).graph.initializer]
    assert len(st.infer_inits) == len(names)
    same = lambda b: b  # noqa: E731
    for drop in ([], [0], [names.index("s"), names.index("tiny")], list(range(len(names)))):
        kept = onnx.ModelProto.FromString(onnx_wire.inference_model(st, same, same, drop))
        assert [t.name for t in kept.graph.initializer] == [n for i, n in enumerate(names) if i not in drop]
        assert [n.name for n in kept.graph.node] == [n.name for n in m.graph.node]
