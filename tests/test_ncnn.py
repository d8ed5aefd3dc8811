"""ncnn .param frontend: the text format, the layer mapping, and the benchncnn corpus."""

import pytest
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
