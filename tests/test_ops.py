"""Hand-derived shapes and counts for every op family, built straight on GraphBuilder."""
import pytest

from augur_sim.conventions import DEFAULT
from augur_sim.counts import count_net
from augur_sim.errors import AugurError, ShapeError
from augur_sim.graph import GraphBuilder, Layer, SourceLoc, rebatch
from augur_sim.ops import registry


def build(input_shape, *layers, inputs=None):
    b = GraphBuilder("t", "t.prototxt")
    b.add_input("x", input_shape)
    for extra_name, extra_shape in (inputs or {}).items():
        b.add_input(extra_name, extra_shape)
    prev = "x"
    for i, (op, attrs, *rest) in enumerate(layers):
        ins = rest[0] if rest else (prev,)
        name = f"l{i}"
        b.add_layer(Layer(name, op, attrs, tuple(ins), (name,), SourceLoc("t.prototxt", 10 + i)))
        prev = name
    return b.build()


def layer_count(g, name):
    return next(l for l in count_net(g).layers if l.name == name)


def conv(out, k, s=1, p=0, d=1, g=1, bias=True):
    return ("conv", {"out_channels": out, "kernel": (k, k), "stride": (s, s), "pad": (p, p, p, p),
                     "dilation": (d, d), "group": g, "bias": bias})


def test_plain_conv_shape_and_macs():
    g = build((1, 3, 224, 224), conv(64, 7, s=2, p=3))
    lc = layer_count(g, "l0")
    assert lc.output_shapes == ((1, 64, 112, 112),)
    assert lc.counts.macs == 112 * 112 * 64 * 3 * 7 * 7
    assert lc.counts.params == 64 * 3 * 49 + 64
    assert lc.counts.flops == 2 * lc.counts.macs + 64 * 112 * 112


def test_grouped_conv_divides_input_channels():
    g = build((2, 8, 10, 10), conv(16, 3, p=1, g=4, bias=False))
    lc = layer_count(g, "l0")
    assert lc.output_shapes == ((2, 16, 10, 10),)
    assert lc.counts.macs == 2 * 10 * 10 * 16 * (8 // 4) * 9
    assert lc.counts.params == 16 * 2 * 9


def test_depthwise_conv():
    g = build((1, 32, 56, 56), conv(32, 3, s=2, p=1, g=32, bias=False))
    lc = layer_count(g, "l0")
    assert lc.output_shapes == ((1, 32, 28, 28),)
    assert lc.counts.macs == 28 * 28 * 32 * 9
    assert lc.counts.params == 32 * 9


def test_dilated_conv_extent():
    # 3x3 dilation 2 spans 5x5: 20 + 0 - 5 + 1 = 16
    g = build((1, 4, 20, 20), conv(4, 3, d=2))
    assert g.tensors["l0"].shape == (1, 4, 16, 16)
    assert layer_count(g, "l0").counts.macs == 16 * 16 * 4 * 4 * 9


def test_strided_padded_conv_rounds_down():
    # (227 + 0 - 11) / 4 + 1 = 55 ; (13 + 2 - 3)/2 + 1 = 7
    assert build((1, 3, 227, 227), conv(96, 11, s=4)).tensors["l0"].shape == (1, 96, 55, 55)
    assert build((1, 3, 13, 13), conv(8, 3, s=2, p=1)).tensors["l0"].shape == (1, 8, 7, 7)
    asym = ("conv", {"out_channels": 2, "kernel": (3, 1), "stride": (1, 1), "pad": (1, 0, 1, 0)})
    assert build((1, 1, 5, 5), asym).tensors["l0"].shape == (1, 2, 5, 5)


def test_transposed_conv():
    d = ("deconv", {"out_channels": 8, "kernel": (4, 4), "stride": (2, 2), "pad": (1, 1, 1, 1),
                    "group": 2, "bias": True})
    g = build((1, 16, 7, 7), d)
    lc = layer_count(g, "l0")
    # (7-1)*2 - 2 + 4 = 14
    assert lc.output_shapes == ((1, 8, 14, 14),)
    assert lc.counts.macs == 7 * 7 * 16 * (8 // 2) * 16
    assert lc.counts.params == 16 * 4 * 16 + 8


def test_batch_scales_counts_and_rebatch():
    g1 = build((1, 3, 32, 32), conv(8, 3, p=1), ("fc", {"out_features": 10, "axis": 1}))
    g4 = rebatch(g1, 4)
    c1, c4 = count_net(g1).total, count_net(g4).total
    assert c4.macs == 4 * c1.macs and c4.params == c1.params
    assert g4.tensors["l1"].shape == (4, 10)


def test_pool_ceil_versus_floor():
    ceil = ("pool", {"mode": "max", "kernel": (3, 3), "stride": (2, 2), "ceil": True})
    floor = ("pool", {"mode": "max", "kernel": (3, 3), "stride": (2, 2), "ceil": False})
    # (112-3)/2 = 54.5 -> ceil 55 + 1 = 56, floor 54 + 1 = 55
    assert build((1, 64, 112, 112), ceil).tensors["l0"].shape == (1, 64, 56, 56)
    assert build((1, 64, 112, 112), floor).tensors["l0"].shape == (1, 64, 55, 55)
    # Caffe drops a last window that would start in the right padding: 4 + 1 + 1 - 2 = 4 / 2 -> 3,
    # but window 3 would start at 4 >= 4 + 1? no: (3-1)*2 = 4 < 5 keeps it.
    padded = ("pool", {"mode": "avg", "kernel": (2, 2), "stride": (2, 2), "pad": (1, 1, 1, 1), "ceil": True})
    assert build((1, 1, 4, 4), padded).tensors["l0"].shape == (1, 1, 3, 3)
    lc = layer_count(build((1, 2, 6, 6), ("pool", {"mode": "avg", "kernel": (2, 2), "stride": (2, 2)})), "l0")
    assert lc.counts.flops == 2 * 3 * 3 * (4 + 1)


def test_global_pool():
    g = build((2, 1024, 7, 7), ("pool", {"mode": "avg", "global": True}))
    lc = layer_count(g, "l0")
    assert lc.output_shapes == ((2, 1024, 1, 1),)
    assert lc.counts.flops == 2 * 1024 * (49 + 1)


def test_concat_and_eltwise_shape_rules():
    b = GraphBuilder("t")
    b.add_input("a", (1, 3, 8, 8))
    b.add_input("b", (1, 5, 8, 8))
    b.add_layer(Layer("cat", "concat", {"axis": 1}, ("a", "b"), ("cat",)))
    g = b.build()
    assert g.tensors["cat"].shape == (1, 8, 8, 8)
    b = GraphBuilder("t")
    b.add_input("a", (1, 3, 8, 8))
    b.add_input("b", (1, 3, 8, 9))
    b.add_layer(Layer("cat", "concat", {"axis": 1}, ("a", "b"), ("cat",)))
    with pytest.raises(ShapeError, match="differ off that axis"):
        b.build()
    # Caffe eltwise: identical shapes; ONNX-style: broadcasting (an SE block's channel scale).
    b = GraphBuilder("t")
    b.add_input("a", (1, 16, 8, 8))
    b.add_input("s", (1, 16, 1, 1))
    b.add_layer(Layer("mul", "eltwise", {"fn": "prod"}, ("a", "s"), ("mul",)))
    g = b.build()
    assert g.tensors["mul"].shape == (1, 16, 8, 8)
    b = GraphBuilder("t")
    b.add_input("a", (1, 16, 8, 8))
    b.add_input("s", (1, 16, 1, 1))
    b.add_layer(Layer("sum", "eltwise", {"fn": "sum", "broadcast": False}, ("a", "s"), ("sum",)))
    with pytest.raises(ShapeError, match="same shape"):
        b.build()


def test_inplace_layer_keeps_shape_and_is_flagged():
    b = GraphBuilder("t")
    b.add_input("x", (1, 4, 5, 5))
    b.add_layer(Layer("c", "conv", {"out_channels": 4, "kernel": (1, 1)}, ("x",), ("c",)))
    b.add_layer(Layer("r", "act", {"fn": "relu"}, ("c",), ("c@r",), inplace=True))
    g = b.build()
    assert g.layer("r").inplace and g.tensors["c@r"].shape == (1, 4, 5, 5)
    assert layer_count(g, "r").counts.flops == 100


def test_bn_stats_counted_apart_and_fold():
    g = build((1, 8, 4, 4), ("batchnorm", {"caffe_scale_factor": True}), ("scale", {"bias": True}))
    bn, sc = layer_count(g, "l0"), layer_count(g, "l1")
    assert (bn.counts.params, bn.counts.stat_params) == (0, 17)
    assert sc.counts.params == 16
    assert bn.counts.flops == 2 * 128
    folded = count_net(g, DEFAULT.with_(fold_bn=True))
    assert folded.layers[1].counts.flops == 0


def test_errors_name_layer_and_line():
    with pytest.raises(AugurError) as e:
        build((1, 3, 4, 4), conv(8, 7))
    msg = str(e.value)
    assert "t.prototxt:10" in msg and "layer 'l0'" in msg and "larger than the padded input" in msg
    assert "\n" not in msg
    with pytest.raises(AugurError, match="group 3 must divide"):
        build((1, 4, 8, 8), conv(6, 3, g=3))
    with pytest.raises(AugurError, match="produced by no layer"):
        build((1, 4, 8, 8), ("act", {"fn": "relu"}, ("nope",)))


def test_cycle_and_bad_dims_rejected():
    b = GraphBuilder("t", "n.yaml")
    b.add_input("x", (1, 2, 3, 3))
    b.add_layer(Layer("a", "eltwise", {"fn": "sum"}, ("x", "bb"), ("aa",), SourceLoc("n.yaml", 3)))
    b.add_layer(Layer("b", "act", {"fn": "relu"}, ("aa",), ("bb",), SourceLoc("n.yaml", 4)))
    with pytest.raises(AugurError, match="cycle"):
        b.build()
    for bad in [(1, 0, 3, 3), (1, -2, 3, 3), (1, 3, 1 << 40, 1 << 40)]:
        b = GraphBuilder("t")
        with pytest.raises(AugurError):
            b.add_input("x", bad)


def test_free_and_movement_ops_are_listed_apart():
    cats = registry.by_category()
    assert "reshape" in cats["free"] and "concat" in cats["movement"] and "conv" in cats["compute"]
    with pytest.raises(AugurError, match="supported: .*conv"):
        registry.get("fancy_op")


def test_fc_and_matmul():
    g = build((2, 64, 3, 3), ("fc", {"out_features": 10, "axis": 1}))
    lc = layer_count(g, "l0")
    assert lc.output_shapes == ((2, 10),) and lc.counts.macs == 2 * 10 * 576
    b = GraphBuilder("t")
    b.add_input("a", (4, 5, 6))
    b.add_input("b", (6, 7))
    b.add_layer(Layer("mm", "matmul", {}, ("a", "b"), ("mm",)))
    g = b.build()
    assert g.tensors["mm"].shape == (4, 5, 7)
    assert layer_count(g, "mm").counts.macs == 4 * 5 * 7 * 6


def test_reshape_split_slice_transpose():
    g = build((1, 116, 28, 28), ("reshape", {"shape": (0, 2, 58, 28, 28)}),
              ("transpose", {"perm": (0, 2, 1, 3, 4)}), ("reshape", {"shape": (0, -1, 28, 28)}))
    assert g.tensors["l2"].shape == (1, 116, 28, 28)
    b = GraphBuilder("t")
    b.add_input("x", (1, 10, 4, 4))
    b.add_layer(Layer("s", "split", {"axis": 1, "points": (3,), "num_outputs": 2}, ("x",), ("s0", "s1")))
    b.add_layer(Layer("sl", "slice", {"starts": (1,), "ends": (-1,), "axes": (2,)}, ("s1",), ("sl",)))
    g = b.build()
    assert g.tensors["s0"].shape == (1, 3, 4, 4) and g.tensors["s1"].shape == (1, 7, 4, 4)
    assert g.tensors["sl"].shape == (1, 7, 2, 4)
