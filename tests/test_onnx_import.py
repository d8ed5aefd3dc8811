"""ONNX frontend: models built with onnx.helper here, shapes checked against hand
derivations and against onnxruntime, counts against hand-derived MACs and parameters."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto as T  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

from augur_sim.counts import count_net  # noqa: E402
from augur_sim.errors import AugurError, ShapeError, UnsupportedOpError  # noqa: E402
from augur_sim.frontends.onnx import load_onnx  # noqa: E402

INT64_MAX = (1 << 63) - 1


def vi(name, shape):
    return helper.make_tensor_value_info(name, T.FLOAT, shape)


def init(name, *shape, value=None, dtype=np.float32):
    arr = np.asarray(value, dtype) if value is not None else \
        np.random.default_rng(len(name)).standard_normal(shape).astype(dtype)
    return numpy_helper.from_array(arr, name)


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def save(tmp_path, nodes, inputs, outputs, inits=(), opset=17, name="m.onnx", value_info=()):
    g = helper.make_graph(nodes, "t", inputs, [vi(o, None) if isinstance(o, str) else o for o in outputs],
                          initializer=list(inits), value_info=list(value_info))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    p = tmp_path / name
    onnx.save_model(m, str(p))
    return p


def ort_shapes(path, graph):
    """Output shapes from a real run on random input."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {i.name: rng.standard_normal(graph.tensors[i.name].shape).astype(np.float32)
             for i in sess.get_inputs()}
    return {o.name: a.shape for o, a in zip(sess.get_outputs(), sess.run(None, feeds))}


def check_against_ort(path, graph):
    for name, shape in ort_shapes(path, graph).items():
        assert graph.tensors[name].shape == tuple(shape), name


def total(graph):
    return count_net(graph).total


def only(graph, op):
    layers = [l for l in graph.layers() if l.op == op]
    assert len(layers) == 1, [l.op for l in graph.layers()]
    return layers[0]


# ---------------------------------------------------------------------------------------
# Convolutions

def test_grouped_dilated_conv_counts(tmp_path):
    p = save(tmp_path, [helper.make_node("Conv", ["x", "W", "B"], ["y"], group=2, dilations=[2, 2],
                                         pads=[2, 2, 2, 2], name="conv1")],
             [vi("x", [1, 8, 32, 32])], ["y"], [init("W", 16, 4, 3, 3), init("B", 16)])
    g = load_onnx(p)
    assert g.tensors["y"].shape == (1, 16, 32, 32)
    conv = g.layer("conv1")
    assert conv.op == "conv" and conv.src_type == "Conv" and conv.attrs["group"] == 2
    c = total(g)
    assert c.macs == 32 * 32 * 16 * 4 * 9
    assert c.params == 16 * 4 * 9 + 16
    check_against_ort(p, g)


@pytest.mark.parametrize("auto_pad,kernel,stride,size,want_hw,want_pad", [
    ("SAME_UPPER", 3, 2, 15, 8, (1, 1, 1, 1)),
    ("SAME_UPPER", 2, 1, 16, 16, (0, 0, 1, 1)),
    ("SAME_LOWER", 2, 1, 16, 16, (1, 1, 0, 0)),
    ("VALID", 3, 2, 15, 7, (0, 0, 0, 0)),
    ("NOTSET", 3, 1, 10, 8, (0, 0, 0, 0)),
])
def test_conv_auto_pad(tmp_path, auto_pad, kernel, stride, size, want_hw, want_pad):
    p = save(tmp_path, [helper.make_node("Conv", ["x", "W"], ["y"], auto_pad=auto_pad, strides=[stride, stride])],
             [vi("x", [1, 3, size, size])], ["y"], [init("W", 4, 3, kernel, kernel)])
    g = load_onnx(p)
    conv = only(g, "conv")
    assert conv.attrs["pad"] == want_pad
    assert g.tensors["y"].shape == (1, 4, want_hw, want_hw)
    assert total(g).params == 4 * 3 * kernel * kernel  # no bias input
    check_against_ort(p, g)


def test_conv_transpose(tmp_path):
    p = save(tmp_path, [helper.make_node("ConvTranspose", ["x", "W", "B"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1],
                                         output_padding=[1, 1])],
             [vi("x", [1, 4, 8, 8])], ["y"], [init("W", 4, 3, 3, 3), init("B", 3)])
    g = load_onnx(p)
    assert g.tensors["y"].shape == (1, 3, 16, 16)  # (8-1)*2 - 2 + 3 + 1
    c = total(g)
    assert c.macs == 8 * 8 * 4 * 3 * 9  # every input pixel scatters a 3x3x3 patch
    assert c.params == 4 * 3 * 9 + 3
    check_against_ort(p, g)


def test_conv_transpose_output_shape(tmp_path):
    p = save(tmp_path, [helper.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2], output_shape=[10, 9])],
             [vi("x", [1, 2, 5, 5])], ["y"], [init("W", 2, 6, 3, 3)])
    g = load_onnx(p)
    assert g.tensors["y"].shape == (1, 6, 10, 9)
    assert total(g).macs == 5 * 5 * 2 * 6 * 9
    check_against_ort(p, g)


# ---------------------------------------------------------------------------------------
# Dense layers

@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_constant_weight_is_fc(tmp_path, trans_b):
    w = init("W", 5, 10) if trans_b else init("W", 10, 5)
    p = save(tmp_path, [helper.make_node("Gemm", ["x", "W", "C"], ["y"], transB=trans_b)],
             [vi("x", [2, 10])], ["y"], [w, init("C", 5)])
    g = load_onnx(p)
    fc = only(g, "fc")
    assert fc.attrs["out_features"] == 5 and fc.attrs["bias"] is True
    assert g.tensors["y"].shape == (2, 5)
    c = total(g)
    assert (c.macs, c.params) == (2 * 5 * 10, 55)
    check_against_ort(p, g)


def test_gemm_two_dynamic_inputs_is_matmul(tmp_path):
    p = save(tmp_path, [helper.make_node("Gemm", ["a", "b"], ["y"], transB=1)],
             [vi("a", [4, 6]), vi("b", [3, 6])], ["y"])
    g = load_onnx(p)
    assert g.tensors["y"].shape == (4, 3)
    assert total(g).macs == 4 * 3 * 6 and total(g).params == 0
    assert [l.op for l in g.layers() if l.op != "input"] == ["transpose", "matmul"]


def test_matmul_rank3_with_bias(tmp_path):
    p = save(tmp_path, [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])],
             [vi("x", [2, 7, 16])], ["y"], [init("W", 16, 32), init("b", 32)])
    g = load_onnx(p)
    fc = only(g, "fc")
    assert fc.attrs["axis"] == 2
    assert g.tensors["y"].shape == (2, 7, 32)
    c = total(g)
    assert c.macs == 2 * 7 * 32 * 16
    assert c.params == 16 * 32 + 32
    check_against_ort(p, g)


def test_matmul_dynamic(tmp_path):
    p = save(tmp_path, [helper.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", [3, 4, 5]), vi("b", [3, 5, 6])], ["y"])
    g = load_onnx(p)
    assert g.tensors["y"].shape == (3, 4, 6)
    assert total(g).macs == 3 * 4 * 6 * 5


# ---------------------------------------------------------------------------------------
# Normalisation and element-wise

def test_batchnorm_affine_and_identity_affine(tmp_path):
    c = 8
    stats = [init("m", c), init("v", c, value=np.ones(c))]
    p = save(tmp_path, [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])],
             [vi("x", [1, c, 4, 4])], ["y"], [init("s", c), init("b", c)] + stats)
    t = total(load_onnx(p))
    assert (t.params, t.stat_params) == (2 * c, 2 * c)
    # gamma = 1, beta = 0 stored: no learned affine part (how export.py writes Caffe BatchNorm).
    p2 = save(tmp_path, [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])],
              [vi("x", [1, c, 4, 4])], ["y"], [init("s", value=np.ones(c)), init("b", value=np.zeros(c))] + stats,
              name="m2.onnx")
    t2 = total(load_onnx(p2))
    assert (t2.params, t2.stat_params) == (0, 2 * c)


def test_eltwise_constant_operand_counts_weights_but_not_scalars(tmp_path):
    p = save(tmp_path, [helper.make_node("Mul", ["x", "s"], ["a"]), helper.make_node("Add", ["a", "half"], ["b"]),
                        helper.make_node("Add", ["b", "x"], ["y"])],
             [vi("x", [2, 6, 5, 5])], ["y"], [init("s", 6, 1, 1), init("half", value=0.5)])
    g = load_onnx(p)
    elt = [l for l in g.layers() if l.op == "eltwise"]
    assert [len(l.inputs) for l in elt] == [1, 1, 2]
    assert total(g).params == 6  # the per-channel scale, not the scalar 0.5
    assert total(g).flops == 3 * 2 * 6 * 5 * 5
    check_against_ort(p, g)


def test_layernorm_softmax_and_activations(tmp_path):
    nodes = [
        helper.make_node("LayerNormalization", ["x", "g", "b"], ["ln"], axis=-1),
        helper.make_node("Clip", ["ln", "lo", "hi"], ["cl"]),
        helper.make_node("HardSwish", ["cl"], ["hs"]),
        helper.make_node("LeakyRelu", ["hs"], ["lr"], alpha=0.2),
        helper.make_node("Erf", ["lr"], ["er"]),
        helper.make_node("Softmax", ["er"], ["y"], axis=-1),
    ]
    p = save(tmp_path, nodes, [vi("x", [2, 7, 16])], ["y"],
             [init("g", 16), init("b", 16), init("lo", value=0.0), init("hi", value=6.0)])
    g = load_onnx(p)
    assert g.tensors["y"].shape == (2, 7, 16)
    assert total(g).params == 32
    clip = [l for l in g.layers() if l.attrs.get("fn") == "clip"][0]
    assert (clip.attrs["min"], clip.attrs["max"]) == (0.0, 6.0)
    n = 2 * 7 * 16
    cv = count_net(g).conventions
    want = n * (cv.layernorm_flops_per_elem + cv.act_flops["clip"] + cv.act_flops["hard_swish"]
                + cv.act_flops["leaky_relu"] + cv.act_flops["erf"] + cv.softmax_flops_per_elem)
    assert total(g).flops == want
    check_against_ort(p, g)


# ---------------------------------------------------------------------------------------
# Pooling

@pytest.mark.parametrize("ceil,want", [(0, 2), (1, 3)])
def test_maxpool_ceil_mode(tmp_path, ceil, want):
    p = save(tmp_path, [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=ceil)],
             [vi("x", [1, 3, 6, 6])], ["y"])
    g = load_onnx(p)
    assert g.tensors["y"].shape == (1, 3, want, want)
    assert total(g).flops == 3 * want * want * 9
    check_against_ort(p, g)


@pytest.mark.parametrize("size,k,s,pad", [(6, 2, 3, 0), (5, 2, 2, 1), (7, 2, 3, 1), (112, 3, 2, 0)])
def test_ceil_mode_edges_follow_onnxruntime(tmp_path, size, k, s, pad):
    # onnxruntime drops a last window that would start past the input and its left padding
    # (with or without padding); ONNX's shape inference does not. The import follows the runtime.
    p = save(tmp_path, [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[k, k], strides=[s, s],
                                         pads=[pad] * 4, ceil_mode=1), helper.make_node("Relu", ["y"], ["z"])],
             [vi("x", [1, 2, size, size])], ["z"])
    g = load_onnx(p)
    check_against_ort(p, g)
    assert g.tensors["z"].shape == g.tensors["y"].shape


def test_avgpool_pads_and_global(tmp_path):
    nodes = [helper.make_node("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                              count_include_pad=1, ceil_mode=1),
             helper.make_node("GlobalMaxPool", ["a"], ["y"])]
    p = save(tmp_path, nodes, [vi("x", [1, 4, 7, 7])], ["y"])
    g = load_onnx(p)
    assert g.tensors["a"].shape == (1, 4, 4, 4)
    assert g.tensors["y"].shape == (1, 4, 1, 1)
    check_against_ort(p, g)


# ---------------------------------------------------------------------------------------
# Tensor plumbing

@pytest.mark.parametrize("axis,want", [(1, (2, 60)), (2, (6, 20)), (0, (1, 120))])
def test_flatten_is_2d(tmp_path, axis, want):
    p = save(tmp_path, [helper.make_node("Flatten", ["x"], ["y"], axis=axis)], [vi("x", ["N", 3, 4, 5])], ["y"])
    g = load_onnx(p, batch=2)
    assert g.tensors["y"].shape == want
    check_against_ort(p, g)
    # Re-batching keeps ONNX semantics (axis 0 folds the batch into the second dim).
    from augur_sim.graph import rebatch
    g1 = rebatch(g, 1)
    assert g1.tensors["y"].shape == load_onnx(p, batch=1).tensors["y"].shape


def _shape_chain_model(tmp_path, batch_dim="N"):
    # Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape: what torch.flatten exports as.
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["s"]),
        helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.asarray(0, np.int64))),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["c", "shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "Wfc", "bfc"], ["y"], transB=1),
    ]
    return save(tmp_path, nodes, [vi("x", [batch_dim, 3, 4, 4])], ["y"],
                [init("W", 8, 3, 3, 3), ints("ax0", [0]), ints("minus1", [-1]), init("Wfc", 10, 128), init("bfc", 10)])


def test_reshape_from_folded_shape_chain_and_symbolic_batch(tmp_path):
    p = _shape_chain_model(tmp_path)
    g1 = load_onnx(p)
    assert g1.tensors["y"].shape == (1, 10)  # symbolic batch defaults to 1
    assert [l.op for l in g1.layers()] == ["input", "conv", "reshape", "fc"]  # the chain folded away
    g3 = load_onnx(p, batch=3)
    assert g3.tensors["flat"].shape == (3, 128)
    assert total(g3).macs == 3 * total(g1).macs
    assert total(g3).params == total(g1).params == 8 * 27 + 1280 + 10
    check_against_ort(p, g3)


def test_non_batch_symbolic_dim_is_an_error_naming_the_input(tmp_path):
    p = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 3, "H", 8])], ["y"])
    with pytest.raises(AugurError) as e:
        load_onnx(p)
    assert "input 'x'" in str(e.value) and "H" in str(e.value)
    assert load_onnx(p, input_shape=(2, 3, 5, 8)).tensors["y"].shape == (2, 3, 5, 8)


def test_split_slice_pad_transpose(tmp_path):
    nodes = [
        helper.make_node("Split", ["x", "sp"], ["a", "b"], axis=1),
        helper.make_node("Slice", ["b", "st", "en", "ax", "stp"], ["s"]),
        helper.make_node("Pad", ["a", "pads"], ["pd"]),
        helper.make_node("Transpose", ["s"], ["t"], perm=[0, 2, 3, 1]),
    ]
    p = save(tmp_path, nodes, [vi("x", [1, 6, 10, 10])], ["pd", "t"],
             [ints("sp", [2, 4]), ints("st", [1]), ints("en", [INT64_MAX]), ints("ax", [2]), ints("stp", [2]),
              ints("pads", [0, 0, 1, 2, 0, 0, 3, 4])])
    g = load_onnx(p)
    assert g.tensors["a"].shape == (1, 2, 10, 10) and g.tensors["b"].shape == (1, 4, 10, 10)
    assert g.tensors["s"].shape == (1, 4, 5, 10)
    assert g.tensors["pd"].shape == (1, 2, 14, 16)
    assert g.tensors["t"].shape == (1, 5, 10, 4)
    check_against_ort(p, g)


def test_split_num_outputs_opset18(tmp_path):
    p = save(tmp_path, [helper.make_node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)],
             [vi("x", [1, 7, 2, 2])], ["a", "b", "c"], opset=18)
    g = load_onnx(p)
    assert [g.tensors[t].shape[1] for t in "abc"] == [3, 3, 1]
    check_against_ort(p, g)


def test_reduce_mean_attr_and_input_axes(tmp_path):
    p = save(tmp_path, [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=1)],
             [vi("x", [1, 3, 5, 5])], ["y"])
    g = load_onnx(p)
    assert g.tensors["y"].shape == (1, 3, 1, 1)
    assert total(g).flops == 75 + 3
    p18 = save(tmp_path, [helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)],
               [vi("x", [1, 3, 5, 5])], ["y"], [ints("axes", [-1, -2])], opset=18, name="r18.onnx")
    g18 = load_onnx(p18)
    assert g18.tensors["y"].shape == (1, 3)
    check_against_ort(p18, g18)


def test_resize_scales_and_sizes(tmp_path):
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["a"], mode="nearest"),
             helper.make_node("Resize", ["a", "", "", "sizes"], ["y"], mode="linear")]
    p = save(tmp_path, nodes, [vi("x", [1, 3, 5, 5])], ["y"],
             [init("scales", value=[1, 1, 2, 2]), ints("sizes", [1, 3, 7, 9])])
    g = load_onnx(p)
    assert g.tensors["a"].shape == (1, 3, 10, 10)
    assert g.tensors["y"].shape == (1, 3, 7, 9)
    cv = count_net(g).conventions
    assert total(g).flops == 3 * 7 * 9 * cv.resize_flops_per_output  # nearest is free of arithmetic
    check_against_ort(p, g)


def test_dropout_identity_unsqueeze_are_free(tmp_path):
    nodes = [helper.make_node("Dropout", ["x"], ["d"]), helper.make_node("Identity", ["d"], ["i"]),
             helper.make_node("Unsqueeze", ["i", "ax"], ["u"]), helper.make_node("Squeeze", ["u", "ax"], ["y"])]
    p = save(tmp_path, nodes, [vi("x", [2, 3])], ["y"], [ints("ax", [1])])
    g = load_onnx(p)
    assert g.tensors["u"].shape == (2, 1, 3) and g.tensors["y"].shape == (2, 3)
    assert total(g).flops == 0 and total(g).macs == 0


# ---------------------------------------------------------------------------------------
# Files, errors, leniency

def test_external_data_model_imports_without_its_weight_file(tmp_path):
    g = helper.make_graph([helper.make_node("Conv", ["x", "W", "B"], ["c"]),
                           helper.make_node("Flatten", ["c"], ["f"]),
                           helper.make_node("Gemm", ["f", "Wfc"], ["y"], transB=1)],
                          "ext", [vi("x", [1, 3, 8, 8])], [vi("y", None)],
                          initializer=[init("W", 16, 3, 3, 3), init("B", 16), init("Wfc", 10, 16 * 36)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    p = tmp_path / "ext.onnx"
    onnx.save_model(m, str(p), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="w.bin", size_threshold=0)
    (tmp_path / "w.bin").unlink()
    graph = load_onnx(p)
    assert graph.tensors["y"].shape == (1, 10)
    c = total(graph)
    assert c.params == 16 * 27 + 16 + 10 * 576
    assert c.macs == 36 * 16 * 27 + 10 * 576


def test_unknown_op_errors_naming_node_and_op_and_lenient_drops_it(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Celu", ["r"], ["c"], name="weird"),
             helper.make_node("Relu", ["c"], ["y"])]
    p = save(tmp_path, nodes, [vi("x", [1, 4])], ["y"])
    with pytest.raises(UnsupportedOpError) as e:
        load_onnx(p)
    msg = str(e.value)
    assert "weird" in msg and "Celu" in msg and "Conv" in msg and "\n" not in msg
    g = load_onnx(p, lenient=True)
    assert g.dropped == [("weird", "Celu", "unsupported: counted as zero cost (--lenient)")]
    assert g.tensors["y"].shape == (1, 4)
    assert total(g).flops == 2 * 4  # the two ReLUs only


def test_unnamed_nodes_get_op_index_names(tmp_path):
    p = save(tmp_path, [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Sigmoid", ["a"], ["y"])],
             [vi("x", [1, 4])], ["y"])
    g = load_onnx(p)
    assert g.order == ["x", "Relu_0", "Sigmoid_1"]
    assert g.layer("Sigmoid_1").src_type == "Sigmoid"


def test_stale_value_info_is_ignored_and_onnx_inference_cross_checks(tmp_path, monkeypatch):
    # A stored shape (1, 4, 5, 5) that the file got wrong does not override our (1, 4, 6, 6)...
    p = save(tmp_path, [helper.make_node("Conv", ["x", "W"], ["c"], name="c1"), helper.make_node("Relu", ["c"], ["y"])],
             [vi("x", [1, 3, 8, 8])], ["y"], [init("W", 4, 3, 3, 3)], value_info=[vi("c", [1, 4, 5, 5])])
    assert load_onnx(p).tensors["c"].shape == (1, 4, 6, 6)
    # ...but where ONNX's own inference disagrees with ours, the import stops at that node.
    import augur_sim.frontends.onnx as fe
    monkeypatch.setattr(fe, "_onnx_shapes", lambda model, inputs, **kw: {"c": (1, 4, 5, 5)})
    with pytest.raises(ShapeError) as e:
        load_onnx(p)
    assert "node 'c1'" in str(e.value) and "(1, 4, 6, 6)" in str(e.value) and "(1, 4, 5, 5)" in str(e.value)


def test_lenient_needs_known_output_shapes(tmp_path):
    node = helper.make_node("Mystery", ["x"], ["m"], domain="acme", name="myst")
    nodes = [node, helper.make_node("Relu", ["m"], ["y"])]
    g = helper.make_graph(nodes, "t", [vi("x", [1, 4])], [vi("y", None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("acme", 1)])
    p = tmp_path / "custom.onnx"
    onnx.save_model(m, str(p))
    with pytest.raises(UnsupportedOpError, match="myst.*shape"):
        load_onnx(p, lenient=True)
    m.graph.value_info.append(vi("m", [1, 8]))  # the exporter recorded its output shape
    onnx.save_model(m, str(p))
    graph = load_onnx(p, lenient=True)
    assert graph.tensors["y"].shape == (1, 8)
    assert graph.dropped[0][:2] == ("myst", "Mystery")


@pytest.mark.parametrize("content", [b"", b"\x08\x07\x12\x03abc\x3a\xff\xff\xff", bytes(range(256)) * 4, None])
def test_bad_files_give_one_line_errors(tmp_path, content):
    p = tmp_path / "bad.onnx"
    if content is None:  # a truncated real model
        good = _shape_chain_model(tmp_path).read_bytes()
        content = good[: len(good) // 2]
    p.write_bytes(content)
    with pytest.raises(AugurError) as e:
        load_onnx(p)
    msg = str(e.value)
    assert msg.startswith(str(p)) and "\n" not in msg


def test_missing_file(tmp_path):
    with pytest.raises(AugurError, match="cannot read"):
        load_onnx(tmp_path / "nope.onnx")


def test_constant_weight_beyond_fold_limit_is_not_folded(tmp_path):
    # A Relu on a pure constant is folded; a Conv on a constant input is refused cleanly.
    p = save(tmp_path, [helper.make_node("Conv", ["k", "W"], ["y"])], [vi("x", [1, 1])], ["y"],
             [init("k", 1, 3, 4, 4), init("W", 2, 3, 3, 3)])
    with pytest.raises(UnsupportedOpError, match="Conv_0"):
        load_onnx(p)
