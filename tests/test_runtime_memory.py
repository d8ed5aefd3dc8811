"""Runtime memory models: hand-checked cases (issue 12).

The figures below are computed by hand in the comments from the runtimes' documented
behaviour, not taken from the code under test.
"""
from __future__ import annotations

import pytest

from augur_sim.engine.gpu_memory import (CachingAllocator, _ncnn_mat_bytes, caffe_memory, cuda_round, cuda_segment,
                                         ncnn_memory, pytorch_memory)
from augur_sim.ort_layout import conv_plan, mlas_packb_bytes, nchwc_block
from augur_sim.engine.runtime_memory import model_for, ort_memory, ort_weights, runtime_footprint
from augur_sim.errors import AugurError
from augur_sim.frontends.yamlnet import load_yamlnet_text

from shared_data import SHARED

MiB = 1 << 20


# ------------------------------------------------------------------ ONNX Runtime

def test_ort_nchwc_conv_stored_bytes():
    # 3x3 conv 60 -> 100 channels on AVX-512 (block 16): NCHWc (60 % 4 == 0); the filter
    # is padded to 112 x 64 x 3 x 3 floats = 64512 floats, the bias to 112 floats.
    p = conv_plan(60, 100, 1, 3, 3, block=16)
    assert p.nchwc
    assert p.weight_bytes == (112 * 64 * 9 + 112) * 4 == 258496
    # RGB stem 3 -> 64, 7x7: NCHWc with an NCHW input, only Cout padded (64 already is).
    stem = conv_plan(3, 64, 1, 7, 7, block=16)
    assert stem.nchwc and stem.weight_bytes == (64 * 3 * 49 + 64) * 4


def test_ort_generic_conv_when_channels_misaligned():
    # 58 channels (ShuffleNet v2 x1.0's stage-2 branch): not a multiple of 4 -> generic Conv,
    # weights stored as they are: depthwise 58 x 1 x 3 x 3 + bias 58.
    dw = conv_plan(58, 58, 58, 3, 3, block=16)
    assert not dw.nchwc and dw.weight_bytes == (58 * 9 + 58) * 4
    # 116 channels depthwise: 116 % 4 == 0 -> NCHWc, padded to 128.
    dw116 = conv_plan(116, 116, 116, 3, 3, block=16)
    assert dw116.nchwc and dw116.weight_bytes == (128 * 9 + 128) * 4
    # ResNeXt's 32 groups of 4 channels: a group does not fill a block -> generic Conv.
    assert not conv_plan(128, 128, 32, 3, 3, block=16).nchwc
    # 4 groups of 16: whole blocks -> NCHWc.
    assert conv_plan(64, 64, 4, 3, 3, block=16).nchwc
    # No NCHWc on this CPU (block 0): everything generic.
    assert not conv_plan(64, 64, 1, 3, 3, block=0).nchwc


def test_mlas_prepacked_gemm_bytes():
    # FC 2048 -> 1000 (ResNet-50's fc): B is K x N = 2048 x 1000; MLAS pads N to 16
    # (1008) and the buffer to 64 B: 1008 * 2048 * 4 = 8257536 B (already 64-aligned).
    assert mlas_packb_bytes(1000, 2048) == 8257536
    # N = 10, K = 3: 16 * 3 * 4 = 192 B, a multiple of 64.
    assert mlas_packb_bytes(10, 3) == 192
    # N = 16, K = 1: 64 B.
    assert mlas_packb_bytes(16, 1) == 64
    # N = 1, K = 1: 16 floats = 64 B.
    assert mlas_packb_bytes(1, 1) == 64


_NET = """
name: tiny
description: test net
input: {shape: [1, 60, 14, 14]}
layers:
  - c1: {conv: {out: 100, k: 3, p: 1}, bn: true, act: relu}
  - pool: {gap: true}
  - flat: {flatten: true}
  - fc: {fc: 1000}
"""


def test_ort_weights_classify_and_prepack():
    g = load_yamlnet_text(_NET)
    w = ort_weights(g, block=16)
    # conv: NCHWc bytes as above (BN folded: nothing of its own); fc: packed B + bias.
    assert w.nchwc_bytes == 258496
    assert w.plain_bytes == 0
    assert w.gemm_bytes == mlas_packb_bytes(1000, 100) + 1000 * 4 == 1008 * 100 * 4 + 4000
    assert w.largest_bytes == w.gemm_bytes
    assert w.other_bytes == 0


def test_ort_memory_terms_add_up_and_scale_with_constants():
    g = load_yamlnet_text(_NET)
    base = {"base_mib": 10, "per_thread_mib": 1, "per_node_kib": 0, "nchwc_weight_copies": 2,
            "plain_weight_copies": 2, "gemm_weight_copies": 1, "transient_copies": 1,
            "activation_factor": 1, "nchwc_block": 16}
    f1 = ort_memory(g, 1, base)
    f2 = ort_memory(g, 2, base)
    assert f2.peak_bytes - f1.peak_bytes == MiB          # one more thread
    f3 = ort_memory(g, 1, {**base, "nchwc_weight_copies": 3})
    assert f3.peak_bytes - f1.peak_bytes == 258496       # one more copy of the NCHWc filter
    assert f1.peak_bytes == sum(b for _, b, _ in f1.terms)


def test_model_selection_by_name_and_section():
    assert model_for("onnxruntime", None) == "onnxruntime"
    assert model_for("pytorch-cudagraph", {}) == "pytorch"
    assert model_for("caffe-cublas", None) == "caffe"
    assert model_for("ncnn", None) == "ncnn"
    assert model_for("tensorrt", None) == "tensors"
    assert model_for("tensorrt", {"model": "pytorch"}) == "pytorch"
    g = load_yamlnet_text(_NET)
    with pytest.raises(AugurError, match="unknown memory model"):
        runtime_footprint(g, "nonsense", {}, 1)
    with pytest.raises(AugurError, match="non-negative"):
        runtime_footprint(g, "onnxruntime", {"base_mib": -1}, 1)


def test_nchwc_block_from_isa():
    assert nchwc_block(["avx2", "avx512f"]) == 16
    assert nchwc_block(["avx2", "fma"]) == 8
    assert nchwc_block(["neon"]) == 0


# ------------------------------------------------------------------ CUDA caching allocator

def test_cuda_round_sizes():
    assert cuda_round(1) == 512
    assert cuda_round(512) == 512
    assert cuda_round(513) == 1024
    assert cuda_round(1000 * 4) == 4096            # a 1000-float bias: 4000 B -> 8 blocks
    assert cuda_round(3 * 224 * 224 * 4) == 602112  # 602112 = 1176 * 512 exactly


def test_cuda_segment_sizes():
    assert cuda_segment(512) == 2 * MiB             # small pool: 2 MiB segments
    assert cuda_segment(MiB) == 2 * MiB             # exactly 1 MiB is still small
    assert cuda_segment(MiB + 512) == 20 * MiB      # large, under 10 MiB: a 20 MiB segment
    assert cuda_segment(10 * MiB) == 10 * MiB       # from 10 MiB: rounded to 2 MiB
    assert cuda_segment(10 * MiB + 1) == 12 * MiB


def test_caching_allocator_reuse_and_reserved():
    a = CachingAllocator()
    h1 = a.malloc(3 * MiB)        # new 20 MiB large segment, 3 MiB block
    h2 = a.malloc(3 * MiB)        # split from the same segment
    assert a.reserved == 20 * MiB and a.allocated == 6 * MiB
    a.free(h1)
    a.free(h2)
    assert a.allocated == 0 and a.reserved == 20 * MiB   # cached, not returned
    a.malloc(15 * MiB)            # fits the merged 20 MiB free block: no new segment
    assert a.reserved == 20 * MiB
    a.malloc(100)                 # small pool: its own 2 MiB segment
    assert a.reserved == 22 * MiB
    assert a.peak_allocated == 15 * MiB + 512


def test_pytorch_cudagraph_keeps_a_private_pool():
    g = load_yamlnet_text(_NET)
    eager = pytorch_memory(g, {"context_mib": 0, "cublas_workspace_mib": 0})
    graph = pytorch_memory(g, {"context_mib": 0, "cublas_workspace_mib": 0, "cudagraph": 1})
    assert dict((n, b) for n, b, _ in eager.terms)["graph_pool"] == 0
    # Everything here fits the small pool. Eager: the cuBLASLt 1 MiB is allocated lazily at
    # the fc (the first GEMM), when only the weights (0.59 MiB), the input and the small
    # pooled activations are alive: one 2 MiB segment. CUDA graph: the warm-up stream's
    # 1 MiB workspace is held from the start (segment with the weights: 2 MiB, kept by
    # empty_cache) and the capture stream creates its own 1 MiB in the private pool with the
    # captured activations (2 MiB): max(2, 2 + 2) = 4 MiB.
    assert graph.extra["graph_pool_reserved"] == 2 * MiB
    assert eager.extra["max_memory_reserved"] == 2 * MiB
    assert graph.extra["max_memory_reserved"] == 4 * MiB
    assert eager.extra["cublas_workspaces"] == MiB and graph.extra["cublas_workspaces"] == 2 * MiB
    assert graph.peak_bytes == eager.peak_bytes + 2 * MiB
    # Hand check of the eager allocation: the conv's filter 60*100*9 (no bias before a BN),
    # 4 BN vectors of 100, fc 1000*100 + 1000, one block each rounded up to 512 B:
    # 216064 + 4 * 512 + 400384 + 4096 = 622592.
    assert eager.extra["weights_allocated"] == 216064 + 4 * 512 + 400384 + 4096 == 622592


# ------------------------------------------------------------------ Caffe TEST phase

def _alexnet10():
    """BVLC AlexNet's deploy.prototxt from ../shared: declares batch 10, ReLU and Dropout in
    place (top == bottom), groups of 2 in conv2, conv4, conv5."""
    path = SHARED / "prototxt" / "alexnet.prototxt"
    if not path.exists():
        pytest.skip(f"reference prototxt not found ({path}); set AUGUR_SHARED")
    from augur_sim.frontends import load_net
    g = load_net(str(path))
    assert g.batch == 10
    return g


def test_caffe_test_phase_alexnet_batch10_hand_checked():
    g = _alexnet10()
    # Blob data, batch 10, fp32 (ReLUs in place share their conv's/fc's top; Caffe's
    # flatten is a view here; no diffs in TEST):
    n = 10
    blobs = n * (3 * 227 * 227          # data
                 + 96 * 55 * 55         # conv1 (+relu1 in place)
                 + 96 * 55 * 55         # norm1
                 + 96 * 27 * 27         # pool1
                 + 256 * 27 * 27        # conv2
                 + 256 * 27 * 27        # norm2
                 + 256 * 13 * 13        # pool2
                 + 384 * 13 * 13 * 2    # conv3, conv4
                 + 256 * 13 * 13        # conv5
                 + 256 * 6 * 6          # pool5
                 + 4096 * 2 + 1000      # fc6, fc7, fc8
                 + 1000)                # prob
    weights = (96 * 3 * 121 + 96 + 256 * 48 * 25 + 256 + 384 * 256 * 9 + 384 + 384 * 192 * 9 + 384
               + 256 * 192 * 9 + 256 + 4096 * 9216 + 4096 + 4096 * 4096 + 4096 + 1000 * 4096 + 1000)
    assert weights == 60965224         # BVLC AlexNet's published parameter count
    # Per-layer col_buffer_ (one image, all groups): (Cin/g * k * k * g) x (Hout * Wout).
    cols = (3 * 121 * 55 * 55 + 96 * 25 * 27 * 27 + 256 * 9 * 13 * 13 + 384 * 9 * 13 * 13
            + 384 * 9 * 13 * 13)
    f = caffe_memory(g, {"context_mib": 0}, "fp32", "gpu")
    t = {name: b for name, b, _ in f.terms}
    assert t["blobs"] == blobs * 4
    assert t["weights"] == weights * 4
    assert t["conv_scratch"] == cols * 4
    assert f.peak_bytes == (blobs + weights + cols) * 4
    # On a Jetson: the weights' host copy shares the DRAM, and a CUDA context.
    j = caffe_memory(g, {"context_mib": 100, "host_weight_copy": 1}, "fp32", "gpu")
    assert j.peak_bytes == f.peak_bytes + weights * 4 + 100 * MiB


def test_caffe_cudnn_workspaces_replace_col_buffers():
    g = _alexnet10()
    f = caffe_memory(g, {"cudnn": 1}, "fp32", "gpu")
    t = {name: b for name, b, _ in f.terms}
    lim = 8 * MiB
    # per layer: min(col per group, 8 MiB) x groups x 3 streams
    want = sum(min(c // gr, lim) * gr * 3 for c, gr in (
        (3 * 121 * 55 * 55 * 4, 1), (96 * 25 * 27 * 27 * 4, 2), (256 * 9 * 169 * 4, 1),
        (384 * 9 * 169 * 4, 2), (384 * 9 * 169 * 4, 2)))
    assert t["conv_scratch"] == want


# ------------------------------------------------------------------ ncnn

def test_ncnn_fp16_storage_halves_blobs_and_weights():
    g = load_yamlnet_text(_NET)
    full = {n: b for n, b, _ in ncnn_memory(g, {}).terms}
    half = {n: b for n, b, _ in ncnn_memory(g, {"fp16_storage": 1}).terms}
    assert half["weights"] * 2 == full["weights"]
    assert half["blobs"] < full["blobs"]
    # Without light mode every blob stays: never less than with it.
    keep = {n: b for n, b, _ in ncnn_memory(g, {"lightmode": 0}).terms}
    assert keep["blobs"] >= full["blobs"]


def test_ncnn_workspace_is_the_column_buffer_plus_the_bordered_copy():
    """ncnn's per-layer scratch: a padded conv first copies its input into a bordered blob
    (make_padding, from the workspace allocator), then im2cols it; a depthwise conv has no
    column buffer. By hand, fp32, input 1x16x10x10: a 3x3 pad-1 16 -> 16 conv has a
    16*9 x 10*10 column buffer (57,600 B) and a 16x12x12 bordered copy (9,216 B): 66,816 B;
    a depthwise 3x3 pad-1 conv only the copy (9,216 B); a 3x3 stride-1 pad-1 max pool the
    same copy; a 1x1 conv nothing."""
    from augur_sim.graph import GraphBuilder, Layer

    def ws(op, attrs):
        b = GraphBuilder("w")
        b.add_input("x", (1, 16, 10, 10))
        b.add_layer(Layer("l", op, attrs, ("x",), ("y",)))
        return {n: v for n, v, _ in ncnn_memory(b.build(), {"fp16_storage": 0}).terms}["workspace"]

    conv = {"out_channels": 16, "kernel": (3, 3), "stride": (1, 1), "pad": (1,) * 4, "group": 1, "bias": True}
    assert ws("conv", conv) == 16 * 9 * 10 * 10 * 4 + 16 * 12 * 12 * 4
    assert ws("conv", dict(conv, group=16)) == 16 * 12 * 12 * 4
    assert ws("pool", {"mode": "max", "kernel": (3, 3), "stride": (1, 1), "pad": (1,) * 4}) == 16 * 12 * 12 * 4
    assert ws("conv", dict(conv, kernel=(1, 1), pad=(0,) * 4)) == 0


def test_ncnn_mat_channel_alignment():
    # One 1x3x5x5 fp32 blob: each 25-float plane (100 B) padded to 112 B, x3, + 64 B margin.

    assert _ncnn_mat_bytes((1, 3, 5, 5), 4) == 3 * 112 + 64
    assert _ncnn_mat_bytes((1, 3, 4, 4), 4) == 3 * 64 + 64
