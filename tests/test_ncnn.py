"""ncnn .param frontend: the text format, the layer mapping, and the benchncnn corpus."""

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_data import SHARED

from augur_sim.counts import count_net
from augur_sim.errors import AugurError
from augur_sim.frontends import load_net
from augur_sim.frontends.ncnn import BENCHNCNN_INPUT_SHAPES, load_ncnn, load_ncnn_text

MODELS = SHARED / "corpora" / "ncnn" / "models"
CORPUS = sorted(MODELS.glob("*.param")) if MODELS.is_dir() else []


def net(body: str, n_layers: int | None = None, n_blobs: int = 64) -> str:
    lines = [ln for ln in body.strip().split("\n") if ln.strip()]
    return f"7767517\n{n_layers or len(lines)} {n_blobs}\n" + "\n".join(lines) + "\n"


def load(body: str, **kw):
    return load_ncnn_text(net(body), "t.param", **kw)


def error(body: str, **kw) -> str:
    with pytest.raises(AugurError) as e:
        load(body, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


CONV = """
Input        data   0 1 data 0=8 1=8 2=3
Convolution  conv1  1 1 data c1 0=16 1=3 3=2 4=1 5=1 6=432 9=1
"""


def test_conv_with_fused_relu_becomes_conv_plus_act():
    g = load(CONV)
    ops = [(l.name, l.op) for l in g.layers()]
    assert ops == [("data", "input"), ("conv1", "conv"), ("conv1/act", "act")]
    assert g.tensors["c1"].shape == (1, 16, 4, 4)
    c = count_net(g).total
    assert c.macs == 16 * 4 * 4 * 3 * 9
    assert c.params == 432 + 16


def test_line_numbers_and_layer_names_in_errors():
    msg = error("""
Input        data   0 1 data 0=8 1=8 2=3
Convolution  conv1  1 1 data c1 0=16 1=3 5=1 6=999
""")
    assert msg.startswith("t.param:4: layer 'conv1': weight_data_size 999")


def test_magic_and_counts_checked():
    with pytest.raises(AugurError, match=r"t.param:1: .*magic"):
        load_ncnn_text("7767518\n1 1\nInput data 0 1 data 0=1\n", "t.param")
    with pytest.raises(AugurError, match=r"t.param:2: .*layer_count"):
        load_ncnn_text("7767517\n-1 1\nInput data 0 1 data 0=1\n", "t.param")
    with pytest.raises(AugurError, match="declares 3 layers"):
        load_ncnn_text("7767517\n3 3\nInput data 0 1 data 0=4\n", "t.param")


def test_arrays_and_same_padding():
    g = load("""
Input        data   0 1 data 0=7 1=7 2=4
Convolution  c      1 1 data y 0=4 1=3 3=2 4=-233 5=0 6=144 9=3 -23310=2,0.0,6.0
""")
    assert g.tensors["y"].shape == (1, 4, 4, 4)           # SAME: ceil(7 / 2)
    assert g.layer("c").attrs["pad"] == (1, 1, 1, 1)
    assert g.layer("c/act").attrs == {"fn": "clip", "min": 0.0, "max": 6.0}


def test_int8_conv_is_marked():
    g = load("""
Input        data   0 1 data 0=8 1=8 2=3
Convolution  c      1 1 data y 0=8 1=1 5=1 6=24 8=102
InnerProduct fc     1 1 y z 0=10 1=1 2=5120 8=2
""")
    assert g.layer("c").attrs["int8"] is True and g.layer("c").attrs["int8_requant"] is True
    assert g.layer("fc").attrs["int8"] is True and g.layer("fc").attrs["int8_requant"] is False


def test_global_pool_then_binaryop_broadcasts_per_channel():
    g = load("""
Input      data  0 1 data 0=5 1=5 2=6
Split      sp    1 2 data a b
Pooling    gp    1 1 a p 0=1 4=1
Sigmoid    sg    1 1 p s
BinaryOp   mul   2 1 b s y 0=2
""")
    assert g.tensors["p"].shape == (1, 6, 1, 1)
    assert g.tensors["y"].shape == (1, 6, 5, 5)


@pytest.mark.skipif(not CORPUS, reason="../shared/corpora/ncnn/models not present")
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_corpus_file_loads_and_matches_its_shape_hints(path):
    shape = BENCHNCNN_INPUT_SHAPES[path.stem] if path.stem in ("FastestDet", "vision_transformer") else None
    g = load_ncnn(path, input_shape=shape, check_hints=True)
    c = count_net(g).total
    assert c.macs > 1e7 and c.params > 5e4


@pytest.mark.skipif(not CORPUS, reason="../shared/corpora/ncnn/models not present")
def test_load_net_picks_the_param_suffix():
    g = load_net(str(MODELS / "vgg16.param"), batch=2)
    assert g.batch == 2 and count_net(g).total.macs == 2 * 15_470_264_320


# --- layer mapping, one snippet per behaviour ---------------------------------------------

def test_full_padding_pooling_pads_the_tail_like_ncnn():
    # ncnn pad_mode 0: (w + pads - k) % stride != 0 -> extra right/bottom padding; no Caffe clip.
    g = load("""
Input    data  0 1 data 0=112 1=112 2=8
Pooling  p     1 1 data y 0=0 1=3 2=2
Pooling  v     1 1 data z 0=0 1=3 2=2 5=1
""")
    assert g.tensors["y"].shape == (1, 8, 56, 56)    # ceil((112 - 3) / 2) + 1
    assert g.tensors["z"].shape == (1, 8, 55, 55)    # valid: floor


def test_slice_rest_marker_and_explicit_sizes():
    g = load("""
Input  data  0 1 data 0=4 1=4 2=10
Slice  s1    1 2 data a b -23300=2,-233,-233 1=0
Slice  s2    1 3 a c d e -23300=3,1,-233,-233
""")
    assert [g.tensors[t].shape[1] for t in "abcde"] == [5, 5, 1, 2, 2]


def test_slice_sizes_that_do_not_add_up_are_an_error():
    msg = error("""
Input  data  0 1 data 0=4 1=4 2=10
Slice  s1    1 2 data a b -23300=2,3,4
""")
    assert msg.startswith("t.param:4: layer 's1': slices [3, 4]")


def test_crop_param_form_and_array_form():
    g = load("""
Input  data  0 1 data 0=104 1=104 2=64
Crop   c1    1 1 data a 2=32 3=104 4=104 5=32
Crop   c2    1 1 data b -23309=1,10 -23310=1,20 -23311=1,0
Crop   c3    1 1 data c 0=2 1=3 3=50 4=60
""")
    assert g.tensors["a"].shape == (1, 32, 104, 104)
    assert g.tensors["b"].shape == (1, 10, 104, 104)
    assert g.tensors["c"].shape == (1, 64, 60, 50)


def test_reshape_by_name_permute_and_flatten():
    g = load("""
Input    data  0 1 data 0=6 1=4 2=8
Reshape  r     1 1 data a 0=-1 1=8
Permute  p     1 1 a b 0=1
Permute  q     1 1 data c 0=3
Reshape  r0    1 1 data d 0=0 1=-1
Flatten  f     1 1 data e
""")
    assert g.tensors["a"].shape == (1, 8, 24)      # h=8, w=the rest
    assert g.tensors["b"].shape == (1, 24, 8)      # HW: transpose
    assert g.tensors["c"].shape == (1, 4, 6, 8)    # CWH: (c, h, w) -> (h, w, c)
    assert g.tensors["d"].shape == (1, 32, 6)      # 0 copies w by name (the innermost), not by position
    assert g.tensors["e"].shape == (1, 192)


def test_interp_padding_and_channel_padding():
    g = load("""
Input    data  0 1 data 0=10 1=10 2=4
Interp   up    1 1 data a 0=2 1=2.0 2=2.0
Interp   dn    1 1 data b 0=1 3=7 4=3
Padding  pad   1 1 data c 0=1 1=2 2=0 3=3 8=4
""")
    assert g.tensors["a"].shape == (1, 4, 20, 20)
    assert g.tensors["b"].shape == (1, 4, 7, 3)
    assert g.tensors["c"].shape == (1, 8, 13, 13)
    assert count_net(g).layers[1].counts.flops == 4 * 20 * 20 * 4  # bilinear: 4 taps per output


def test_memorydata_constant_concat_follows_the_batch_and_counts_as_params():
    text = """
Input       data   0 1 data 0=8 1=5
MemoryData  tok    0 1 tok 0=8 1=1
Concat      cat    2 1 tok data x 0=0
MemoryData  pos    0 1 pos 0=8 1=6
BinaryOp    add    2 1 x pos y 0=0
"""
    g = load(text)
    assert g.tensors["y"].shape == (1, 6, 8)
    assert count_net(g).total.params == 8 + 48
    g4 = load_net(g, batch=4)
    assert g4.tensors["y"].shape == (4, 6, 8)
    assert count_net(g4).total.params == 8 + 48   # stored once, whatever the batch


def test_binaryop_one_d_blob_broadcasts_over_channels_not_width():
    # A 1-D blob of C values meets a (C, H, W) blob: ncnn applies it per channel.
    g = load("""
Input       data  0 1 data 0=5 1=5 2=3
MemoryData  b     0 1 b 0=3
BinaryOp    add   2 1 data b y 0=0
BinaryOp    sc    1 1 y z 0=2 1=1 2=0.5
""")
    assert g.tensors["y"].shape == (1, 3, 5, 5)
    layers = {l.name: l for l in g.layers()}
    assert layers["add/bcast1"].op == "reshape" and g.tensors[layers["add/bcast1"].outputs[0]].shape == (1, 3, 1, 1)
    assert count_net(g).total.flops == 2 * 75
    assert count_net(g).total.params == 3


def test_eltwise_coeffs_and_noop_alias():
    g = load("""
Input    data  0 1 data 0=4 1=4 2=2
Split    sp    1 2 data a b
Eltwise  e     2 1 a b y 0=1 -23301=2,1.0,-1.0
Noop     out   2 1 y a z
""")
    assert [l.name for l in g.layers()][-1] == "e"
    assert ("out", "Noop", "no operation (its top is its first bottom)") in g.dropped
    assert count_net(g).total.flops == 32 + 32   # one add and one coefficient multiply per element


def test_gemm_and_multihead_attention_count_as_their_matmuls():
    s, e, h = 10, 16, 4
    g = load(f"""
Input               data  0 1 data 0={e} 1={s}
Split               sp    1 3 data q k v
MultiHeadAttention  mha   3 1 q k v a 0={e} 1={h} 2={e * e}
Gemm                fc    1 1 a y 3=1 5=1 6=1 8=32 9={e} 10=4
""")
    assert g.tensors["y"].shape == (1, s, 32)
    c = count_net(g)
    mha = [l for l in c.layers if l.src_type == "MultiHeadAttention"]
    macs = sum(l.counts.macs for l in mha)
    assert macs == 4 * s * e * e + 2 * s * s * e          # 4 projections, q k^T, attn v
    assert sum(l.counts.params for l in mha) == 4 * (e * e + e)
    assert any(l.op == "softmax" and l.output_shapes[0] == (1, h, s, s) for l in mha)
    fc = next(l for l in c.layers if l.name == "fc")
    assert fc.counts.macs == s * e * 32 and fc.counts.params == e * 32 + 32


def test_detection_heads_count_dense_work_and_bounded_nms():
    g = load("""
Input            data  0 1 data 0=8 1=8 2=4
Split            sp    1 3 data d0 d1 d2
Convolution      loc   1 1 d0 l 0=12 1=1 6=48
Convolution      conf  1 1 d1 cf 0=63 1=1 6=252
Flatten          fl    1 1 l lf
Flatten          fc    1 1 cf cff
PriorBox         pb    2 1 d2 data p -23300=1,30.0 -23302=1,2.0 9=-233 10=-233 13=0.5
DetectionOutput  det   3 1 lf cff p out 0=21 1=0.45 2=100 4=0.25
""")
    n_priors = 8 * 8 * 3                                    # min size, ratio 2 and its flip
    assert g.tensors["p"].shape == (1, 2, 4 * n_priors)
    assert g.tensors["out"].shape == (1, 100, 6)
    det = next(l for l in count_net(g).layers if l.name == "det")
    assert det.counts.flops > n_priors * 16 + n_priors * 20  # at least decoding and the threshold tests


def test_yolov3_mask_written_as_float_bits():
    # Old converters wrote the mask's floats as their bit patterns: 1077936128 is 3.0f.
    g = load("""
Input                  data  0 1 data 0=4 1=4 2=3
Convolution            head  1 1 data y 0=18 1=1 6=54
Yolov3DetectionOutput  det   1 1 y out 0=1 1=3 2=0.3 -23304=12,1,2,3,4,5,6,7,8,9,10,11,12 -23305=3,1077936128,0,1065353216 -23306=1,32.0
""")
    assert g.tensors["out"].shape == (1, 100, 6)
    msg = error("""
Input                  data  0 1 data 0=4 1=4 2=3
Convolution            head  1 1 data y 0=18 1=1 6=54
Yolov3DetectionOutput  det   1 1 y out 0=1 1=3 -23304=2,1,2 -23305=3,0,0,1065353216
""")
    assert "indexes beyond the 1 anchors" in msg


def test_reduction_shufflechannel_deconv_and_unary():
    g = load("""
Input                   data  0 1 data 0=6 1=6 2=8
Reduction               m     1 1 data a 0=3 1=0 -23303=2,1,2 4=1 5=1
ShuffleChannel          sh    1 1 data b 0=2
DeconvolutionDepthWise  up    1 1 data c 0=8 1=4 3=2 4=1 6=128 7=8
UnaryOp                 ab    1 1 c d 0=0
""")
    assert g.tensors["a"].shape == (1, 8, 1, 1)
    assert g.tensors["b"].shape == (1, 8, 6, 6)
    assert g.tensors["c"].shape == (1, 8, 12, 12)
    up = next(l for l in count_net(g).layers if l.name == "up")
    assert up.counts.macs == 8 * 6 * 6 * 4 * 4


@pytest.mark.parametrize("body,expect", [
    ("Input data 0 1 data 0=4 1=4 2=3\nFooBar x 1 1 data y", "t.param:4: layer 'x': unsupported ncnn layer type 'FooBar'"),
    ("Input data 0 1 data 0=4 1=4 2=3\nReLU r 1 1 nope y", "t.param:4: layer 'r': bottom 'nope' is produced by no earlier layer"),
    ("Input data 0 1 data 0=4 1=4 2=3\nReLU r 1 1 data data", "t.param:4: layer 'r': top 'data' is already produced"),
    ("Input data 0 1 data 0=4 1=4 2=3\nReLU r 1 1 data y 7=1", "t.param:4: layer 'r': param id 7 is not a parameter of ReLU"),
    ("Input data 0 1 data 0=4 1=4 2=3\nSlice s 1 2 data a b -23300=3,1,2", "t.param:4: layer 's': array param -23300: count 3"),
    ("Input data 0 1 data 0=4 1=4 2=3\nReLU r 1 1 data y 0=1x", "t.param:4: layer 'r': param 0: '1x'"),
    ("Input data 0 1 data 0=4 1=4 2=99999999999", "t.param:3: layer 'data': param 2: 99999999999 does not fit"),
    ("Input data 0 1 data 0=4 1=4 2=-3", "t.param:3: layer 'data': param 2 (c) is -3"),
    ("Input data 0 1 data 0=2147483647 1=2147483647 2=2147483647", "t.param:3: layer 'data': input 'data'"),
    ("Input data 0 1 data", "t.param:3: layer 'data': the Input layer gives no shape"),
    ("Input data 0 1 data 0=4 1=4 2=3\nConvolution c 1 1 data y 0=4 1=9 6=972", "t.param:4: layer 'c': conv kernel"),
    ("Input data 0 1 data 0=4 1=4 2=3\nConvolution c 1 1 data y 0=4 1=1 6=12 7=3", "param id 7 is not a parameter"),
    ("Input data 0 1 data 0=4 1=4 2=3\nPooling p 1 1 data y 0=0 1=2 2=0", "param 2 (stride_w) is 0"),
    ("Input data 0 1 data 0=4 1=4 2=3\nReLU r 2 1 data", "t.param:4: layer 'r': the line names 1 blobs"),
    ("Input data 0 1 data 0=4 1=4 2=3\nBinaryOp b 2 1 data data y 0=11", "BinaryOp op_type 11 is not supported"),
])
def test_bad_lines_give_one_located_error(body, expect):
    msg = error(body)
    assert expect in msg, msg


def test_input_shape_override_and_lines_beyond_the_count():
    text = "7767517\n2 2\nInput data 0 1 data\nReLU r 1 1 data y\nReLU extra 1 1 y z\n"
    g = load_ncnn_text(text, "t.param", input_shape=(2, 3, 5, 5))
    assert g.tensors["y"].shape == (2, 3, 5, 5)
    assert [l.name for l in g.layers()] == ["data", "r"]
    assert g.dropped and "beyond the header's layer count" in g.dropped[0][2]


def test_cli_analyze_and_bad_file_exit_code(tmp_path, capsys):
    from augur_sim.cli import main
    p = tmp_path / "tiny.param"
    p.write_text(net(CONV))
    assert main(["analyze", str(p)]) == 0
    assert "conv1" in capsys.readouterr().out
    bad = tmp_path / "bad.param"
    bad.write_text(net(CONV.replace("6=432", "6=431")))
    assert main(["analyze", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{bad}:4: layer 'conv1': weight_data_size 431" in err[0]


# --- the same networks from other descriptors ----------------------------------------------

def _folded_params(graph) -> int:
    """Learned parameters a converter folds away when it merges BN (+ Caffe Scale) into the
    conv before it: the scale goes into the conv weights, the shift into the conv bias (a new
    bias of C values when the conv had none, the existing one otherwise)."""
    folded = 0
    for l in graph.layers():
        if not (l.op == "scale" or (l.op == "batchnorm" and l.attrs.get("affine"))):
            continue
        c = l.params[0][0]
        src = graph.layer(graph.tensors[l.inputs[0]].producer)
        while src.op == "batchnorm":  # Caffe: conv -> BatchNorm (statistics) -> Scale (affine)
            src = graph.layer(graph.tensors[src.inputs[0]].producer)
        folded += 2 * c if src.attrs.get("bias", True) else c
    return folded


def _ref(path):
    p = Path(path)
    if not p.is_file():
        pytest.skip(f"reference descriptor {p} not present")
    return p


REPO = Path(__file__).resolve().parents[1]
# (ncnn file, reference, extra MACs in the ncnn file, extra params beyond BN folding, why)
SAME_NETS = [
    ("mobilenet", SHARED / "prototxt" / "mobilenet_v1.prototxt", 0, 0, "same"),
    ("mobilenet", REPO / "nets" / "mobilenet_v1.yaml", 0, 0, "same"),
    ("resnet50", SHARED / "prototxt" / "resnet50.prototxt", 0, 0, "same"),
    ("vgg16", SHARED / "prototxt" / "vgg16.prototxt", 0, 0, "same"),
    ("vgg16", REPO / "nets" / "vgg16.yaml", 0, 0, "same"),
    ("alexnet", SHARED / "prototxt" / "alexnet.prototxt", 0, 0, "same"),
    ("googlenet", SHARED / "prototxt" / "googlenet.prototxt", 0, 0, "same"),
    ("efficientnet_b0", REPO / "nets" / "efficientnet_b0.yaml", 0, 0, "same"),
    ("shufflenet_v2", REPO / "nets" / "shufflenet_v2_x1_0.yaml", 0, 0, "same"),
    # SqueezeNet v1.1 whose conv10 (1x1, 1000 outputs) has pad 1, as in DeepScale's original
    # deploy file: 16x16 instead of 14x14 outputs, 1000 x 512 x (256 - 196) more MACs.
    ("squeezenet", SHARED / "prototxt" / "squeezenet_v1.1.prototxt", 1000 * 512 * (256 - 196), 0, "conv10 pad 1"),
    # shicai's MobileNetV2 layout with the paper's strides: torchvision's net plus the first
    # bottleneck's expand conv (32 -> 32, 1x1, 112x112) and its bias.
    ("mobilenet_v2", REPO / "nets" / "mobilenet_v2.yaml", 112 * 112 * 32 * 32, 32 * 32 + 32, "extra expand"),
    # A Caffe ResNet-18 with a 1x1 projection shortcut in the first block (64 -> 64, 56x56).
    ("resnet18", REPO / "nets" / "resnet18.yaml", 56 * 56 * 64 * 64, 64 * 64 + 64, "res2a_branch1"),
]


@pytest.mark.skipif(not CORPUS, reason="../shared/corpora/ncnn/models not present")
@pytest.mark.parametrize("name,ref,extra_macs,extra_params,why", SAME_NETS,
                         ids=[f"{a}-{Path(b).name}" for a, b, *_ in SAME_NETS])
def test_macs_and_params_match_the_same_network(name, ref, extra_macs, extra_params, why):
    g = load_ncnn(MODELS / f"{name}.param")
    r = load_net(str(_ref(ref)), input_shape=g.tensors[g.inputs[0]].shape)
    a, b = count_net(g).total, count_net(r).total
    assert a.macs == b.macs + extra_macs, why
    # ncnn stores no BN statistics: they are folded into conv weights and biases.
    assert a.stat_params == 0
    assert a.params == b.params - _folded_params(r) + extra_params, why


# --- mutation fuzzing ------------------------------------------------------------------

SNIPPETS = [net(CONV), net("""
Input       data  0 1 data 0=9 1=9 2=4
Split       sp    1 2 data a b
Pooling     gp    1 1 a p 0=1 4=1
InnerProduct fc   1 1 p q 0=4 1=1 2=16 9=4
BinaryOp    mul   2 1 b q y 0=2
Slice       sl    1 2 y c d -23300=2,-233,-233
Concat      cat   2 1 d c z 0=0
Reshape     r     1 1 z w 0=-1 1=4
Softmax     sm    1 1 w o 0=1 1=1
""")]
TEXTS = {p.name: p.read_text() for p in CORPUS} or {f"snippet{i}.param": s for i, s in enumerate(SNIPPETS)}
NUMBERS = ["0", "-1", "1", "3", "-233", "-234", "2147483647", "2147483648", "-2147483649", "99999999999999",
           "1e308", "1e999", "-0.5", "nan", "inf", "2.5", "0x10", "", "1,2", "3,1,2,3"]
GARBAGE = ["=", "0=", "=1", "-23300=", "-23300=5,1", "-23330=4,3,1,1", "Convolution", "0 1", "7767517", "x=y",
           "-99999=1", "31=1", "32=1", "Input in 0 1 in", "Split s 1 9 a b", "\t", "é"]
_TOKEN = re.compile(r"\S+")


def mutate(text: str, ops) -> str:
    """Damage a .param text. Most mutations touch layer lines and keep the header's layer
    count true, so they reach the layer semantics rather than stopping at the header."""
    lines = text.split("\n")
    for op in ops:
        kind = op[0]
        body = len(lines) - 2
        if body < 1:
            break
        i = 2 + op[1] % body if kind != "header" else op[1] % 2
        if kind == "delete_layer" and body > 1:
            del lines[i]
            head = lines[1].split()
            if len(head) == 2 and head[0].isdigit():
                lines[1] = f"{int(head[0]) - 1} {head[1]}"
        elif kind == "swap_lines":
            j = 2 + op[2] % body
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "duplicate_line":
            lines.insert(i, lines[i])
        elif kind in ("drop_token", "number", "insert_token", "header"):
            toks = _TOKEN.findall(lines[i])
            if not toks:
                continue
            k = op[2] % len(toks)
            if kind == "drop_token":
                del toks[k]
            elif kind == "insert_token":
                toks.insert(k, op[3])
            else:  # a number inside a token: a count, a param value (keys less often), an array entry
                key, eq, val = toks[k].partition("=")
                prefix, target = (key + eq, val) if eq and op[3] % 4 else ("", toks[k])
                m = list(re.finditer(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", target))
                if m:
                    mm = m[op[3] % len(m)]
                    toks[k] = prefix + target[:mm.start()] + op[4] + target[mm.end():]
            lines[i] = " ".join(toks)
    return "\n".join(lines)


_idx = st.integers(0, 10**6)
mutation = st.one_of(
    st.tuples(st.just("delete_layer"), _idx),
    st.tuples(st.just("swap_lines"), _idx, _idx),
    st.tuples(st.just("duplicate_line"), _idx),
    st.tuples(st.just("drop_token"), _idx, _idx),
    st.tuples(st.just("insert_token"), _idx, _idx, st.sampled_from(GARBAGE)),
    st.tuples(st.just("number"), _idx, _idx, _idx, st.sampled_from(NUMBERS)),
    st.tuples(st.just("number"), _idx, _idx, _idx, st.sampled_from(NUMBERS)),
    st.tuples(st.just("header"), _idx, _idx, _idx, st.sampled_from(NUMBERS)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(TEXTS)), ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_param_files_give_a_graph_or_one_located_error(name, ops):
    text = mutate(TEXTS[name], ops)
    shape = BENCHNCNN_INPUT_SHAPES.get(name[:-6]) if name[:-6] in ("FastestDet", "vision_transformer") else None
    try:
        graph = load_ncnn_text(text, name, input_shape=shape)
    except AugurError as e:
        s = str(e)
        assert "\n" not in s and s.startswith(name), s
        return
    nc = count_net(graph)
    for lc in nc.layers:
        assert all(d > 0 for shp in lc.output_shapes for d in shp), (lc.name, lc.output_shapes)
        c = lc.counts
        assert min(c.macs, c.flops, c.params, c.out_elems) >= 0, lc.name
    assert nc.total.macs == sum(lc.counts.macs for lc in nc.layers)


# --- ONNX export round trip ------------------------------------------------------------------

def _round_trip(graph, tmp_path, run=True):
    from augur_sim.measure.export import export_onnx
    out = tmp_path / f"{graph.name}.onnx"
    export_onnx(graph, out)
    back = load_net(str(out))
    a, b = count_net(graph).total, count_net(back).total
    assert (b.macs, b.params) == (a.macs, a.params)
    if run:
        import numpy as np
        ort = pytest.importorskip("onnxruntime")
        sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        feeds = {i.name: np.random.default_rng(0).standard_normal(graph.tensors[i.name].shape).astype(np.float32)
                 for i in sess.get_inputs()}
        outs = sess.run(None, feeds)
        for o, meta in zip(outs, sess.get_outputs()):
            assert o.shape == graph.tensors[meta.name].shape
    return back


def test_export_round_trip_of_a_snippet_with_ncnn_only_ops(tmp_path):
    g = load("""
Input           data  0 1 data 0=6 1=6 2=8
MemoryData      bias  0 1 bias 0=8
BinaryOp        add   2 1 data bias a 0=0
ShuffleChannel  sh    1 1 a b 0=2
Convolution     c     1 1 b y 0=8 1=3 4=1 5=1 6=576 9=5
""")
    _round_trip(g, tmp_path)


def test_export_round_trip_of_a_transformer_block(tmp_path):
    # The vision_transformer file's layer types at toy size (the real one takes ~30 s to export).
    g = load("""
Input               data   0 1 data 0=8 1=8 2=3
MemoryData          cls    0 1 cls 0=16 1=1
MemoryData          pos    0 1 pos 0=16 1=5
Convolution         patch  1 1 data p 0=16 1=4 3=4 5=1 6=768
Reshape             r      1 1 p pr 0=-1 1=16
Permute             t      1 1 pr pt 0=1
Concat              cat    2 1 cls pt x 0=0
BinaryOp            add    2 1 x pos x1 0=0
Split               sp     1 4 x1 q k v res
LayerNorm           ln     1 1 q qn 0=16 1=0.000001 2=1
MultiHeadAttention  mha    3 1 qn k v a 0=16 1=4 2=256
BinaryOp            add2   2 1 res a x2 0=0
Gemm                fc1    1 1 x2 h 3=1 5=1 6=1 8=32 9=16 10=4
GELU                gelu   1 1 h hg 0=1
Gemm                fc2    1 1 hg y 3=1 5=1 6=1 8=16 9=32 10=4
Crop                first  1 1 y c -23309=1,0 -23310=1,1 -23311=1,0
""")
    assert g.tensors["c"].shape == (1, 1, 16)
    _round_trip(g, tmp_path)


@pytest.mark.skipif(not CORPUS, reason="../shared/corpora/ncnn/models not present")
@pytest.mark.parametrize("name,run", [("mobilenet", True), ("shufflenet_v2", True), ("efficientnetv2_b0", True),
                                      ("mobilenet_v3", True)])
def test_export_round_trip_of_corpus_files(name, run, tmp_path):
    g = load_ncnn(MODELS / f"{name}.param", input_shape=BENCHNCNN_INPUT_SHAPES[name])
    _round_trip(g, tmp_path, run)


@pytest.mark.skipif(not CORPUS, reason="../shared/corpora/ncnn/models not present")
def test_detection_heads_have_no_onnx_export(tmp_path):
    from augur_sim.measure.export import export_onnx
    g = load_ncnn(MODELS / "mobilenet_ssd.param")
    with pytest.raises(AugurError, match="op kind 'priorbox' has no ONNX export"):
        export_onnx(g, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_quantize_layers_are_marked_and_counted_per_element():
    g = load("""
Input       data  0 1 data 0=4 1=4 2=8
Quantize    q     1 1 data a 0=1
Dequantize  dq    1 1 a b 0=8 1=8
Requantize  rq    1 1 b c 0=8 1=1 2=8 3=1
""")
    kinds = {l.name: (l.op, l.attrs.get("quant")) for l in g.layers()}
    assert kinds["q"] == ("eltwise", "quantize")
    assert kinds["dq"] == ("scale", "dequantize") and kinds["rq"] == ("scale", "requantize")
    assert kinds["rq/act"] == ("act", None)
    c = {l.name: l.counts for l in count_net(g).layers}
    assert c["q"].flops == 128 and c["dq"].flops == 256 and c["dq"].params == 16


def test_cli_export_writes_an_onnx_model_with_the_same_counts(tmp_path, capsys):
    from augur_sim.cli import main
    p = tmp_path / "tiny.param"
    p.write_text(net(CONV))
    out = tmp_path / "tiny.onnx"
    assert main(["export", str(p), "--out", str(out)]) == 0
    capsys.readouterr()
    a, b = count_net(load_net(str(p))).total, count_net(load_net(str(out))).total
    assert (a.macs, a.params) == (b.macs, b.params)


def test_fused_activation_of_an_ncnn_conv_is_labelled_by_its_op():
    """The ReLU split out of a Convolution's activation_type keeps the layer's type; the
    kernel table names it by its op, not 'Convolution+Convolution'."""
    from augur_sim.estimator import estimate
    from augur_sim.views import kernels
    est = estimate(load(CONV), "rockchip_rk3588", runtime="ncnn")
    ks = {k.name: k.types for k in kernels(est)}
    assert ks["conv1"] == "Convolution+act"
