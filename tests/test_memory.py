"""Memory footprint policies, checked by hand."""
import pytest
from shared_data import prototxt

from augur_sim.engine.memory import footprint, im2col_bytes
from augur_sim.errors import AugurError
from augur_sim.frontends import load_net
from augur_sim.graph import GraphBuilder, Layer


def test_alexnet_batch10_caffe_policy_by_hand():
    g = load_net(prototxt("alexnet"))
    assert g.batch == 10
    # Every blob of BVLC AlexNet at batch 10, 227x227 (in-place ReLU/Dropout share theirs):
    blobs = {
        "data": 10 * 3 * 227 * 227, "conv1": 10 * 96 * 55 * 55, "norm1": 10 * 96 * 55 * 55,
        "pool1": 10 * 96 * 27 * 27, "conv2": 10 * 256 * 27 * 27, "norm2": 10 * 256 * 27 * 27,
        "pool2": 10 * 256 * 13 * 13, "conv3": 10 * 384 * 13 * 13, "conv4": 10 * 384 * 13 * 13,
        "conv5": 10 * 256 * 13 * 13, "pool5": 10 * 256 * 6 * 6, "fc6": 10 * 4096, "fc7": 10 * 4096,
        "fc8": 10 * 1000, "prob": 10 * 1000,
    }
    act = sum(blobs.values()) * 4
    assert act == 56_573_880
    # Caffe's column buffer is (Cin*kh*kw) x (Hout*Wout) for one image, all groups; conv2
    # (96*5*5 x 27*27) is the largest.
    col = 96 * 5 * 5 * 27 * 27 * 4
    weights = 60_965_224 * 4
    fp = footprint(g, "fp32", "caffe", runtime_bytes=0)
    assert fp.peak_activation_bytes == act
    assert fp.workspace_bytes == col
    assert fp.weight_bytes == weights
    assert fp.peak_memory_bytes == act + col + weights


def chain():
    b = GraphBuilder("chain")
    b.add_input("x", (1, 1, 10, 10))                                                  # 100
    b.add_layer(Layer("a", "conv", {"out_channels": 4, "kernel": (1, 1)}, ("x",), ("a",)))        # 400
    b.add_layer(Layer("r", "act", {"fn": "relu"}, ("a",), ("a@r",), inplace=True))                # shares a
    b.add_layer(Layer("b", "conv", {"out_channels": 2, "kernel": (3, 3), "pad": (1, 1, 1, 1)},
                      ("a@r",), ("b",)))                                                         # 200
    b.add_layer(Layer("c", "eltwise", {"fn": "sum"}, ("b", "b"), ("c",)))                         # 200
    b.add_layer(Layer("f", "flatten", {"axis": 1}, ("c",), ("f",)))                               # view
    return b.build()


def test_reuse_policy_frees_after_last_consumer():
    g = chain()
    fp = footprint(g, "fp32", "reuse")
    # Step b: x is dead (last used by a), a (shared with r) is live, b is born, plus b's
    # im2col (4*9 x 100) = 3600 elements: 400 + 200 + 3600 at the peak.
    assert fp.peak_step == "b"
    assert fp.workspace_bytes == 3600 * 4
    assert fp.peak_activation_bytes == (400 + 200) * 4
    caffe = footprint(g, "fp32", "caffe")
    assert caffe.peak_activation_bytes == (100 + 400 + 200 + 200) * 4
    assert caffe.peak_memory_bytes > fp.peak_memory_bytes


def test_im2col_skips_pointwise_and_unknown_policy():
    g = chain()
    assert im2col_bytes(g, "a", 4) == 0
    with pytest.raises(AugurError, match="unknown memory policy"):
        footprint(g, "fp32", "magic")
