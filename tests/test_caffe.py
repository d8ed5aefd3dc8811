"""Caffe frontend: the real model-zoo descriptors against SOURCES.md, hand-derived
shapes and counts on tiny descriptors, and one-line errors for bad input."""
import time

import pytest
from shared_data import PROTOTXT

from augur_sim.counts import count_net
from augur_sim.errors import AugurError, ParseError, ShapeError, UnsupportedOpError
from augur_sim.frontends.caffe import load_caffe
from augur_sim.graph import rebatch

SHARED = PROTOTXT  # ../shared/prototxt or $AUGUR_SHARED/prototxt (tests/shared_data.py)

# The "derived from this file" column of ../shared/prototxt/SOURCES.md: conv + FC
# multiply-accumulates at batch 1 (in GMACs, as printed there) and learned parameters
# (conv/FC weights and biases + Scale gamma/beta; BN statistics excluded).
EXPECTED = {
    "alexnet": (0.7244, 60_965_224),
    "caffenet": (0.7244, 60_965_224),
    "googlenet": (1.583, 6_998_552),
    "vgg16": (15.470, 138_357_544),
    "resnet50": (3.858, 25_557_096),
    "resnet101": (7.570, 44_549_160),
    "resnet152": (11.282, 60_192_808),
    "squeezenet_v1.0": (0.861, 1_248_424),
    "squeezenet_v1.1": (0.388, 1_235_496),
    "mobilenet_v1": (0.5687, 4_231_976),
    "mobilenet_v2": (0.4291, 3_505_960),
    "densenet121": (2.834, 7_978_856),
    "inception_v3": (5.713, 23_834_568),
    "resnext50_32x4d": (4.2305, 25_028_904),
    "nin": (1.100, 7_595_176),  # 224 crop
}

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared descriptors not found at {SHARED}")


@needs_shared
def test_every_shared_file_is_in_the_table():
    assert sorted(p.stem for p in SHARED.glob("*.prototxt")) == sorted(EXPECTED)


@needs_shared
@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_shared_descriptor_counts(stem):
    graph = load_caffe(SHARED / f"{stem}.prototxt")
    total = count_net(rebatch(graph, 1)).total
    gmacs, params = EXPECTED[stem]
    assert total.macs / 1e9 == pytest.approx(gmacs, rel=1e-3)
    assert total.params == pytest.approx(params, rel=1e-3)
    assert graph.outputs, "a network has at least one output"


@needs_shared
def test_nin_drops_training_layers():
    g = load_caffe(SHARED / "nin.prototxt")
    assert g.name == "nin_imagenet"
    dropped = {(name, t) for name, t, _ in g.dropped}
    assert dropped == {("data", "DATA"), ("accuracy", "ACCURACY"), ("loss", "SOFTMAX_LOSS")}
    # The TEST data layer stays: batch_size 89, 3 assumed channels, 224 crop.
    assert g.tensors[g.inputs[0]].shape == (89, 3, 224, 224)
    assert "3 channels" in g.layer("data").attrs["assumed"]
    assert "label" not in g.tensors
    assert g.layer("conv1").src_type == "CONVOLUTION"


@needs_shared
def test_named_net_and_in_place_layers_of_resnet50():
    g = load_caffe(SHARED / "resnet50.prototxt")
    assert g.name == "ResNet-50"
    relu = g.layer("conv1_relu")
    assert relu.inplace and relu.outputs == ("conv1@conv1_relu",)
    assert relu.inputs == ("conv1@scale_conv1",)
    assert g.layer("conv1").source.line > 1


# ---------------------------------------------------------------------------------------
# Tiny hand-written descriptors.

def write(tmp_path, text, name="t.prototxt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def load(tmp_path, text, **kw):
    return load_caffe(write(tmp_path, text), **kw)


def net(body, shape=(1, 3, 8, 8)):
    dims = " ".join(f"dim: {d}" for d in shape)
    return f'name: "t"\ninput: "data"\ninput_shape {{ {dims} }}\n' + body


def conv(name, bottom, top, **p):
    params = "\n".join(f"    {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in p.items())
    return (f'layer {{\n  name: "{name}"\n  type: "Convolution"\n  bottom: "{bottom}"\n  top: "{top}"\n'
            f'  convolution_param {{\n{params}\n  }}\n}}\n')


def one(tmp_path, text, layer, **kw):
    g = load(tmp_path, text, **kw)
    l = g.layer(layer)
    counts = {lc.name: lc.counts for lc in count_net(g).layers}
    return g, l, g.out_shapes(l)[0], counts[layer]


def test_grouped_conv(tmp_path):
    g, l, shape, c = one(tmp_path, net(conv("c", "data", "c", num_output=8, group=2, kernel_size=3, pad=1),
                                       (1, 4, 8, 8)), "c")
    assert shape == (1, 8, 8, 8)
    assert c.macs == 8 * 8 * 8 * (4 // 2) * 3 * 3
    assert c.params == 8 * 2 * 9 + 8


def test_depthwise_strided_conv(tmp_path):
    g, l, shape, c = one(tmp_path, net(conv("dw", "data", "dw", num_output=4, group=4, kernel_size=3, pad=1,
                                            stride=2), (1, 4, 8, 8)), "dw")
    assert shape == (1, 4, 4, 4)  # (8 + 2 - 3) // 2 + 1
    assert c.macs == 4 * 4 * 4 * 1 * 9
    assert c.params == 4 * 9 + 4


def test_dilated_conv_without_bias(tmp_path):
    g, l, shape, c = one(tmp_path, net(conv("d", "data", "d", num_output=1, kernel_size=3, dilation=2,
                                            bias_term=False), (1, 1, 9, 9)), "d")
    assert shape == (1, 1, 5, 5)  # dilated extent 5
    assert c.macs == 25 * 9 and c.params == 9


def test_rectangular_conv_fields(tmp_path):
    text = net(conv("r", "data", "r", num_output=3, kernel_h=3, kernel_w=1, pad_h=1, pad_w=0, stride_h=2,
                    stride_w=3), (1, 2, 7, 9))
    g, l, shape, c = one(tmp_path, text, "r")
    assert shape == (1, 3, 4, 3)  # h: (7+2-3)//2+1, w: (9-1)//3+1
    assert l.attrs["pad"] == (1, 0, 1, 0)
    assert c.macs == 4 * 3 * 3 * 2 * 3 * 1


def test_two_value_repeated_kernel(tmp_path):
    text = net('layer { name: "r" type: "Convolution" bottom: "data" top: "r"\n'
               '  convolution_param { num_output: 2 kernel_size: 3 kernel_size: 1 pad: 1 pad: 0 } }', (1, 1, 5, 5))
    g, l, shape, c = one(tmp_path, text, "r")
    assert l.attrs["kernel"] == (3, 1) and shape == (1, 2, 5, 5)


def test_transposed_conv(tmp_path):
    text = net('layer { name: "up" type: "Deconvolution" bottom: "data" top: "up"\n'
               '  convolution_param { num_output: 3 kernel_size: 4 stride: 2 pad: 1 } }', (1, 2, 4, 4))
    g, l, shape, c = one(tmp_path, text, "up")
    assert l.op == "deconv"
    assert shape == (1, 3, 8, 8)  # (4-1)*2 - 2 + 4
    assert c.macs == 4 * 4 * 2 * 3 * 16
    assert c.params == 2 * 3 * 16 + 3


def test_batch_greater_than_one(tmp_path):
    text = net(conv("c", "data", "c", num_output=2, kernel_size=3), (4, 1, 5, 5))
    g, l, shape, c = one(tmp_path, text, "c")
    assert g.batch == 4 and shape == (4, 2, 3, 3)
    assert c.macs == 4 * 3 * 3 * 2 * 9
    assert count_net(rebatch(g, 1)).total.macs * 4 == c.macs


def pool(extra, shape=(1, 1, 6, 6)):
    return net(f'layer {{ name: "p" type: "Pooling" bottom: "data" top: "p"\n  pooling_param {{ {extra} }} }}',
               shape)


@pytest.mark.parametrize("extra,hw", [
    ("pool: MAX kernel_size: 3 stride: 2", 3),                      # Caffe default: ceil((6-3)/2)+1
    ("pool: MAX kernel_size: 3 stride: 2 ceil_mode: false", 2),     # fork field: floor
    ("pool: AVE kernel_size: 3 stride: 2 round_mode: FLOOR", 2),
    ("pool: AVE kernel_size: 3 stride: 2 round_mode: CEIL", 3),
    ("pool: MAX kernel_size: 3 stride: 2 ceil_mode: true", 3),
])
def test_pool_rounding(tmp_path, extra, hw):
    g, l, shape, c = one(tmp_path, pool(extra), "p")
    assert shape == (1, 1, hw, hw)


def test_pool_ceil_drops_window_starting_in_padding(tmp_path):
    # 5 wide, kernel 2, stride 2, pad 1: ceil((5+2-2)/2)+1 = 4, but the 4th window would
    # start at 6 >= 5 + 1 (entirely in the padding), so Caffe keeps 3.
    g, l, shape, c = one(tmp_path, pool("pool: MAX kernel_size: 2 stride: 2 pad: 1", (1, 1, 5, 5)), "p")
    assert shape == (1, 1, 3, 3)


def test_global_pooling(tmp_path):
    g, l, shape, c = one(tmp_path, pool("pool: AVE global_pooling: true", (2, 4, 6, 6)), "p")
    assert shape == (2, 4, 1, 1) and l.attrs["mode"] == "avg"
    assert c.flops == 2 * 4 * (36 + 1)  # 36 adds per window + one divide


def test_pool_rounding_fields_must_agree(tmp_path):
    with pytest.raises(AugurError, match="disagree"):
        load(tmp_path, pool("pool: MAX kernel_size: 3 stride: 2 ceil_mode: true round_mode: FLOOR"))


def test_in_place_chain(tmp_path):
    text = net(conv("conv1", "data", "conv1", num_output=2, kernel_size=1) +
               'layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1" }\n'
               'layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }\n'
               'layer { name: "pool" type: "Pooling" bottom: "conv1" top: "pool"\n'
               '  pooling_param { pool: MAX global_pooling: true } }\n')
    g = load(tmp_path, text)
    assert not g.layer("conv1").inplace
    bn, relu = g.layer("bn1"), g.layer("relu1")
    assert bn.inplace and bn.inputs == ("conv1",) and bn.outputs == ("conv1@bn1",)
    assert relu.inplace and relu.inputs == ("conv1@bn1",) and relu.outputs == ("conv1@relu1",)
    assert g.layer("pool").inputs == ("conv1@relu1",)
    assert relu.src_type == "ReLU" and relu.op == "act" and relu.attrs["fn"] == "relu"
    assert g.outputs == ["pool"]
    assert g.order == ["data", "conv1", "bn1", "relu1", "pool"]
    # BatchNorm: 2 statistics per channel + Caffe's scale factor, no learned params.
    counts = {lc.name: lc.counts for lc in count_net(g).layers}
    assert counts["bn1"].params == 0 and counts["bn1"].stat_params == 2 * 2 + 1


def test_leaky_relu_and_scale(tmp_path):
    text = net('layer { name: "r" type: "ReLU" bottom: "data" top: "r" relu_param { negative_slope: 0.1 } }\n'
               'layer { name: "s" type: "Scale" bottom: "r" top: "s" scale_param { bias_term: true } }\n')
    g = load(tmp_path, text)
    assert g.layer("r").attrs == {"fn": "leaky_relu", "alpha": 0.1}
    assert {lc.name: lc.counts for lc in count_net(g).layers}["s"].params == 3 + 3


def concat_net(shape_b, extra=""):
    return ('input: "a"\ninput_shape { dim: 1 dim: 2 dim: 4 dim: 4 }\n'
            f'input: "b"\ninput_shape {{ {" ".join(f"dim: {d}" for d in shape_b)} }}\n'
            f'layer {{ name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "cat" {extra} }}\n')


def test_concat_shapes(tmp_path):
    g = load(tmp_path, concat_net((1, 3, 4, 4)))
    assert g.tensors["cat"].shape == (1, 5, 4, 4)
    g = load(tmp_path, concat_net((1, 2, 4, 4), "concat_param { concat_dim: 2 }"))
    assert g.tensors["cat"].shape == (1, 2, 8, 4)


def test_concat_mismatch_names_layer_and_line(tmp_path):
    with pytest.raises(ShapeError) as ei:
        load(tmp_path, concat_net((1, 3, 5, 4)))
    s = str(ei.value)
    assert "t.prototxt:5:" in s and "layer 'cat'" in s and "\n" not in s


def test_eltwise_requires_identical_shapes(tmp_path):
    ok = concat_net((1, 2, 4, 4)).replace('type: "Concat"', 'type: "Eltwise"')
    g = load(tmp_path, ok)
    assert g.tensors["cat"].shape == (1, 2, 4, 4) and g.layer("cat").attrs["broadcast"] is False
    bad = concat_net((1, 2, 1, 1)).replace('type: "Concat"', 'type: "Eltwise"')
    with pytest.raises(ShapeError, match="same shape") as ei:
        load(tmp_path, bad)
    assert ei.value.line == 5 and "layer 'cat'" in str(ei.value)


def test_eltwise_coeffs(tmp_path):
    text = concat_net((1, 2, 4, 4), "eltwise_param { operation: SUM coeff: 1 coeff: -1 }").replace(
        'type: "Concat"', 'type: "Eltwise"')
    g = load(tmp_path, text)
    assert g.layer("cat").attrs["coeffs"] == (1.0, -1.0)
    with pytest.raises(AugurError, match="coeff"):
        load(tmp_path, text.replace("coeff: -1 ", ""))


def test_slice_points(tmp_path):
    text = net('layer { name: "sl" type: "Slice" bottom: "data" top: "x" top: "y" top: "z"\n'
               '  slice_param { axis: 1 slice_point: 1 slice_point: 4 } }\n', (1, 6, 4, 4))
    g = load(tmp_path, text)
    assert [g.tensors[t].shape[1] for t in "xyz"] == [1, 3, 2]
    # Legacy slice_dim and an equal split without points.
    text = net('layer { name: "sl" type: "Slice" bottom: "data" top: "x" top: "y"\n'
               '  slice_param { slice_dim: 2 } }\n', (1, 6, 4, 4))
    g = load(tmp_path, text)
    assert g.tensors["x"].shape == (1, 6, 2, 4) == g.tensors["y"].shape
    with pytest.raises(AugurError, match="slice_point"):
        load(tmp_path, net('layer { name: "sl" type: "Slice" bottom: "data" top: "x" top: "y"\n'
                           '  slice_param { slice_point: 1 slice_point: 2 } }\n', (1, 6, 4, 4)))


def test_split_dropout_flatten_fc_softmax(tmp_path):
    text = net('layer { name: "sp" type: "Split" bottom: "data" top: "a" top: "b" }\n'
               'layer { name: "dr" type: "Dropout" bottom: "a" top: "a" dropout_param { dropout_ratio: 0.5 } }\n'
               'layer { name: "fl" type: "Flatten" bottom: "a" top: "f" }\n'
               'layer { name: "fc" type: "InnerProduct" bottom: "f" top: "fc" '
               'inner_product_param { num_output: 10 } }\n'
               'layer { name: "sm" type: "Softmax" bottom: "fc" top: "prob" }\n'
               'layer { name: "rs" type: "Reshape" bottom: "b" top: "r" reshape_param { shape { dim: 0 dim: -1 } } }\n',
               (2, 3, 4, 4))
    g = load(tmp_path, text)
    assert g.layer("sp").op == "identity" and g.layer("dr").op == "identity" and g.layer("dr").inplace
    assert g.tensors["f"].shape == (2, 48) and g.tensors["prob"].shape == (2, 10)
    assert g.tensors["r"].shape == (2, 48)
    fc = {lc.name: lc.counts for lc in count_net(g).layers}["fc"]
    assert fc.macs == 2 * 10 * 48 and fc.params == 10 * 48 + 10
    assert sorted(g.outputs) == ["prob", "r"]


def test_reshape_with_axis(tmp_path):
    text = net('layer { name: "rs" type: "Reshape" bottom: "data" top: "r"\n'
               '  reshape_param { axis: 1 shape { dim: -1 } } }\n', (2, 3, 4, 4))
    assert load(tmp_path, text).tensors["r"].shape == (2, 48)
    text = net('layer { name: "rs" type: "Reshape" bottom: "data" top: "r"\n'
               '  reshape_param { axis: 1 num_axes: 1 shape { dim: 3 dim: 1 } } }\n', (2, 3, 4, 4))
    with pytest.raises(UnsupportedOpError, match="num_axes"):
        load(tmp_path, text)


def test_v1_layers_form(tmp_path):
    text = ('name: "old"\ninput: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\n'
            'layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv" blobs_lr: 1 blobs_lr: 2\n'
            '  weight_decay: 1 weight_decay: 0\n'
            '  convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "gaussian" std: 0.01 } } }\n'
            'layers { name: "relu" type: RELU bottom: "conv" top: "conv" }\n'
            'layers { name: "pool" type: POOLING bottom: "conv" top: "pool" '
            'pooling_param { pool: AVE kernel_size: 2 stride: 2 } }\n'
            'layers { name: "ip" type: INNER_PRODUCT bottom: "pool" top: "ip" inner_product_param { num_output: 5 } }\n'
            'layers { name: "loss" type: SOFTMAX_LOSS bottom: "ip" bottom: "label" }\n')
    g = load(tmp_path, text)
    assert g.name == "old"
    assert g.tensors["pool"].shape == (1, 4, 3, 3)
    assert g.layer("relu").src_type == "RELU" and g.layer("relu").inplace
    assert g.dropped == [("loss", "SOFTMAX_LOSS", "loss (training only)")]
    assert g.outputs == ["ip"]


def test_input_layer_and_override(tmp_path):
    text = ('layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 10 dim: 3 dim: 8 dim: 8 } } }\n'
            + conv("c", "data", "c", num_output=2, kernel_size=3))
    g = load(tmp_path, text)
    assert g.name == "t" and g.inputs == ["data"] and g.tensors["c"].shape == (10, 2, 6, 6)
    g = load(tmp_path, text, input_shape=(1, 3, 16, 16))
    assert g.tensors["c"].shape == (1, 2, 14, 14)


def test_data_layers(tmp_path):
    text = ('layer { name: "d" type: "Data" top: "data" top: "label" include { phase: TEST }\n'
            '  data_param { source: "x" batch_size: 4 backend: LMDB } transform_param { crop_size: 8 } }\n'
            'layer { name: "d" type: "Data" top: "data" top: "label" include { phase: TRAIN }\n'
            '  data_param { source: "y" batch_size: 64 } transform_param { crop_size: 8 mirror: true } }\n'
            + conv("c", "data", "c", num_output=2, kernel_size=3) +
            'layer { name: "acc" type: "Accuracy" bottom: "c" bottom: "label" top: "acc" include { phase: TEST } }\n')
    g = load(tmp_path, text)
    assert g.tensors["data"].shape == (4, 3, 8, 8)
    assert [d[:2] for d in g.dropped] == [("d", "Data"), ("acc", "Accuracy")]
    # A kept layer reading the label is an error naming the layer.
    bad = text.replace('bottom: "c" bottom: "label" top: "acc" include { phase: TEST }',
                       'bottom: "label" top: "acc"').replace('type: "Accuracy"', 'type: "ReLU"')
    with pytest.raises(AugurError, match="dropped layer 'd'") as ei:
        load(tmp_path, bad)
    assert "layer 'acc'" in str(ei.value)
    # No crop size: the shape is unknown unless the caller gives one.
    nocrop = text.replace("transform_param { crop_size: 8 }", "")
    with pytest.raises(AugurError, match="image size"):
        load(tmp_path, nocrop)
    assert load(tmp_path, nocrop, input_shape=(1, 3, 9, 9)).tensors["c"].shape == (1, 2, 7, 7)


def test_memory_and_dummy_data(tmp_path):
    text = ('layer { name: "m" type: "MemoryData" top: "data" top: "label"\n'
            '  memory_data_param { batch_size: 2 channels: 1 height: 5 width: 6 } }\n')
    assert load(tmp_path, text).tensors["data"].shape == (2, 1, 5, 6)
    text = ('layer { name: "m" type: "DummyData" top: "data"\n'
            '  dummy_data_param { shape { dim: 3 dim: 2 dim: 4 dim: 4 } data_filler { type: "constant" } } }\n')
    assert load(tmp_path, text).tensors["data"].shape == (3, 2, 4, 4)


def test_phase_rules_with_stages(tmp_path):
    text = net('layer { name: "a" type: "ReLU" bottom: "data" top: "a" include { phase: TEST stage: "deploy" } }\n'
               'layer { name: "b" type: "ReLU" bottom: "data" top: "b" exclude { phase: TEST } }\n'
               'layer { name: "c" type: "ReLU" bottom: "data" top: "c" exclude { phase: TRAIN } }\n')
    g = load(tmp_path, text)
    assert [d[0] for d in g.dropped] == ["a", "b"] and "c" in g.order
    g = load(tmp_path, text.replace('name: "t"', 'name: "t"\nstate { stage: "deploy" }'))
    assert "a" in g.order


# ---------------------------------------------------------------------------------------
# Bad input: every error is an AugurError whose str() is one line naming file and line.

def bad(tmp_path, text, match, cls=AugurError, line=None, layer=None):
    with pytest.raises(cls, match=match) as ei:
        load(tmp_path, text)
    s = str(ei.value)
    assert "\n" not in s and "t.prototxt" in s
    if line is not None:
        assert ei.value.line == line, s
        assert f"t.prototxt:{line}:" in s
    if layer is not None:
        assert f"layer '{layer}'" in s
    return s


def test_unbalanced_braces(tmp_path):
    bad(tmp_path, net('layer {\n  name: "r" type: "ReLU"\n  bottom: "data" top: "r"\n'), "never closed",
        ParseError, line=4)
    bad(tmp_path, net('layer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n}\n'), "unbalanced",
        ParseError, line=5)


def test_bad_numbers(tmp_path):
    bad(tmp_path, net(conv("c", "data", "c", num_output="1x6", kernel_size=3)), "bad number", ParseError, line=10)
    bad(tmp_path, net(conv("c", "data", "c", num_output=2.5, kernel_size=3)), "expects an integer", line=10,
        layer="c")
    bad(tmp_path, net(conv("c", "data", "c", num_output=-4, kernel_size=3)), "out of range", line=10)


def test_unknown_fields(tmp_path):
    s = bad(tmp_path, net(conv("c", "data", "c", num_output=2, kernal_size=3)), "unknown field 'kernal_size'",
            line=11, layer="c")
    assert "kernel_size" in s  # the message lists the valid fields
    bad(tmp_path, net('layer { name: "r" type: "ReLU" bottom: "data" top: "r"\n frobnicate: 1 }'),
        "unknown field 'frobnicate'", line=5)
    bad(tmp_path, "colour: 3\n" + net(""), "unknown field 'colour' in net", line=1)
    bad(tmp_path, net('layer { name: "p" type: "Pooling" bottom: "data" top: "p"\n'
                      '  pooling_param { pool: MEDIAN kernel_size: 2 } }'), "unknown value MEDIAN", line=5)
    bad(tmp_path, net('layer { name: "r" type: "ReLU" bottom: "data" top: "r" top: "r" }'), "listed twice")
    bad(tmp_path, net(conv("c", "data", "c", num_output=2, kernel_size=3, group=1) .replace(
        "group: 1", "group: 1\n    group: 1")), "more than once")


def test_unsupported_type(tmp_path):
    s = bad(tmp_path, net('layer { name: "x" type: "Crop" bottom: "data" top: "x" }'), "unsupported Caffe layer "
            "type 'Crop'", UnsupportedOpError, line=4, layer="x")
    assert "Convolution" in s and "Pooling" in s


def test_bottom_produced_by_no_layer(tmp_path):
    bad(tmp_path, net('layer { name: "r" type: "ReLU" bottom: "nothing" top: "r" }'), "produced by no earlier",
        line=4, layer="r")


def test_later_top_cannot_feed_earlier_bottom(tmp_path):
    # Caffe runs layers in file order: "a" reads "b", which only the later layer
    # makes, and that layer reads "a". In Caffe this is "unknown bottom blob", not a cycle.
    text = net('layer { name: "A" type: "ReLU" bottom: "b" top: "a" }\n'
               'layer { name: "B" type: "ReLU" bottom: "a" top: "b" }\n')
    bad(tmp_path, text, "'b' is produced by no earlier layer", line=4, layer="A")


def test_redefined_top(tmp_path):
    bad(tmp_path, net('layer { name: "r" type: "ReLU" bottom: "data" top: "x" }\n'
                      'layer { name: "s" type: "ReLU" bottom: "data" top: "x" }\n'), "already produced", line=5)


@pytest.mark.parametrize("dims", [(1, 3, 0, 8), (1, -3, 8, 8), (1, 3, 1 << 40, 8)])
def test_bad_input_dims(tmp_path, dims):
    bad(tmp_path, net("", dims), "dimension|out of range", line=3)


@pytest.mark.parametrize("field,value", [("num_output", 0), ("kernel_size", 0), ("stride", 0), ("group", 0),
                                         ("kernel_size", 1 << 40), ("pad", 1 << 40), ("dilation", 0)])
def test_bad_conv_values(tmp_path, field, value):
    p = {"num_output": 2, "kernel_size": 3, field: value}
    bad(tmp_path, net(conv("c", "data", "c", **p)), "must be positive|at most", layer="c")


def test_kernel_larger_than_padded_input(tmp_path):
    bad(tmp_path, net(conv("c", "data", "c", num_output=2, kernel_size=11, pad=1)), "larger than the padded input",
        ShapeError, line=4, layer="c")


def test_group_must_divide_channels(tmp_path):
    bad(tmp_path, net(conv("c", "data", "c", num_output=4, kernel_size=1, group=2)), "group", ShapeError,
        line=4, layer="c")


def test_huge_file_fails_fast(tmp_path):
    p = tmp_path / "t.prototxt"
    with open(p, "wb") as f:
        f.truncate(2 << 30)  # sparse: no disk used, and must never be read
    start = time.process_time()
    with pytest.raises(AugurError, match="bytes") as ei:
        load_caffe(p)
    assert time.process_time() - start < 1.0  # a sanity bound, not a benchmark: reading 2 GiB takes far longer
    assert "t.prototxt" in str(ei.value) and "\n" not in str(ei.value)


def test_non_utf8(tmp_path):
    p = tmp_path / "t.prototxt"
    p.write_bytes(b'name: "x"\ninput: "data"\nname2: "\xff\xfe"\n')
    with pytest.raises(AugurError, match="UTF-8") as ei:
        load_caffe(p)
    assert ei.value.line == 3 and "t.prototxt:3" in str(ei.value)


def test_no_input(tmp_path):
    bad(tmp_path, 'name: "x"\nlayer { name: "r" type: "ReLU" bottom: "data" top: "r" }', "no earlier layer|no input")


def test_mixed_layer_forms(tmp_path):
    bad(tmp_path, net('layer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n'
                      'layers { name: "s" type: RELU bottom: "r" top: "s" }\n'), "mixes")
