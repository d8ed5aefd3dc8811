"""Rules of the PyTorch kernel model that come from the software stack, checked by hand:
no Winograd conv on sm_90 (cuDNN 9's kernel names on an H200), a Caffe Scale after a
BatchNorm and PyTorch's composed LRN as the separate kernels eager PyTorch runs
(augur_sim/torch_lowering.py, hw/kmodel.NO_WINOGRAD_ARCHS); FFMA tiles issue-bound where
one warp instruction per clock fills a quadrant's FP32 lanes (hw/kmodel.ISSUE_BOUND_FP32_ARCHS)."""
import numpy as np
import pytest

from augur_sim.engine import hwrow as H
from augur_sim.engine.gpu_algos import (
    host_issue_time,
    pipeline_step,
    ALGO_IGEMM,
    ALGO_WINO_FUSED,
    ALGO_WINO_NONFUSED,
    conv_time,
    ffma_issue_factor,
    gemm_tile_time,
    gemm_time,
)
from augur_sim.estimator import estimate
from augur_sim.evaluate import resolve_target
from augur_sim.graph import GraphBuilder, Layer
from augur_sim.hw import apply_overrides, load_hw
from augur_sim.lowering import C_CLS, C_FLOPS, C_IN_BYTES, C_INCALL, C_OUT_BYTES, C_POW, C_TRANS, STREAM, lower
from augur_sim.torch_lowering import lrn_pass_elems
from test_gpu_kernels import row

# A 3x3 stride-1 fp32 conv where Winograd pays: 16 x 256 -> 256 channels, 28 x 28 outputs.
WINO_SHAPE = (16.0, 256.0, 256.0, 28.0, 28.0, 28.0, 28.0, 3.0, 3.0, 1.0, 1.0, 1.0, 4.0)


@pytest.mark.parametrize("dev, wino", [
    ("nvidia_v100_pcie_32gb", True),    # sm_70: the corpus shows Winograd kernels
    ("nvidia_t4", True),                # sm_75: likewise
    ("nvidia_a100_pcie_40gb", True),    # sm_80: no conv names measured, left eligible
    ("nvidia_h200", False),             # sm_90: cuDNN 9.19 ran none (kernel names)
    ("nvidia_h100_sxm", False),         # sm_90 too: an architecture rule, not a board's
])
def test_fp32_3x3_conv_gets_winograd_except_on_sm90(dev, wino):
    h = row(dev)                        # pytorch-eager, fp32 (TF32 off where the chip lacks it)
    h = h.copy()
    h[H.H_TC_CONV] = 0.0                # FP32 math on every chip, as the H200 was measured
    assert h[H.H_NOWINO] == (0.0 if wino else 1.0)
    for algo in (ALGO_WINO_FUSED, ALGO_WINO_NONFUSED):
        t, got = conv_time(*WINO_SHAPE, h, algo)
        # Forced to a Winograd form: costed where eligible, refused (no time) on sm_90.
        assert (got == algo and t < 1e299) == wino
    t_any, algo_any = conv_time(*WINO_SHAPE, h, -1)
    t_ig, _ = conv_time(*WINO_SHAPE, h, ALGO_IGEMM)
    if wino:
        # Winograd does 2.25x (fused) to 4x (non-fused) less work: it wins this shape.
        assert algo_any in (ALGO_WINO_FUSED, ALGO_WINO_NONFUSED) and t_any < t_ig
    else:
        assert algo_any == ALGO_IGEMM and t_any == t_ig


def _caffe_bn_scale(lrn=False):
    b = GraphBuilder("bn_scale")
    b.add_input("x", (2, 8, 6, 6))
    b.add_layer(Layer("bn", "batchnorm", {}, ("x",), ("y",)))
    b.add_layer(Layer("sc", "scale", {"bias": True}, ("y",), ("z",)))
    if lrn:
        b.add_layer(Layer("lrn", "lrn", {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0}, ("z",), ("w",)))
    return b.build()


def test_caffe_scale_after_batchnorm_is_its_own_kernel_in_pytorch():
    g = _caffe_bn_scale()
    folded = lower(g, "fp32", ("fc_bias",))
    apart = lower(g, "fp32", ("fc_bias", "scale_apart"))
    assert [k.layers for k in folded.kernels if k.cls] == [("bn", "sc")]
    assert [k.layers for k in apart.kernels if k.cls] == [("bn",), ("sc",)]
    # The Scale kernel streams its 2 x 8 x 6 x 6 = 576 floats in and out once more.
    sc = apart.rows[apart.layer_kernel["sc"]]
    assert sc[C_IN_BYTES] == sc[C_OUT_BYTES] == 576 * 4


def test_lrn_runs_as_pytorchs_eight_kernels_with_the_hand_counted_bytes():
    g = _caffe_bn_scale(lrn=True)
    low = lower(g, "fp16", ("fc_bias", "scale_apart", "lrn_composite"))
    rows = [r for k, r in zip(low.kernels, low.rows) if k.name == "lrn"]
    assert len(rows) == 8 and all(r[C_CLS] == STREAM for r in rows)
    # By hand: E = 2 * 8 * 6 * 6 = 576 halves; the padded (N, 1, C + 4, H, W) tensor holds
    # 2 * 12 * 36 = 864. Reads: square 576, fill 0, copy 576, pool 864, scale 576, add 576,
    # pow 576, divide 1152; writes: 576 each but the fill's 864. Two bytes per element.
    reads = sorted(r[C_IN_BYTES] / 2 for r in rows)
    writes = sorted(r[C_OUT_BYTES] / 2 for r in rows)
    assert reads == sorted([576, 0, 576, 864, 576, 576, 576, 1152])
    assert writes == sorted([576, 864] + [576] * 6)
    # One pow per element (the ** beta pass), the pool's 5 adds per output.
    assert sum(r[C_POW] for r in rows) == 576
    assert max(r[C_FLOPS] for r in rows) == 5 * 576
    assert [p[0] for p in lrn_pass_elems(576.0, 8.0, 5)] == [
        "square", "pad_fill", "pad_copy", "avg_pool3d", "scale", "add", "pow", "divide"]
    # Without the rule: one LRN kernel.
    assert sum(k.name == "lrn" for k in lower(g, "fp16", ("fc_bias",)).kernels) == 1


@pytest.mark.parametrize("dev", ["nvidia_h200", "nvidia_t4", "nvidia_l4"])
@pytest.mark.parametrize("runtime", ["pytorch-eager", "pytorch-cudagraph"])
def test_pytorch_runtimes_declare_the_eager_rules_and_pay_per_kernel(dev, runtime):
    t = resolve_target(dev, runtime=runtime)
    assert {"scale_apart", "lrn_composite"} <= set(t.fusion)
    # Under a CUDA graph each further kernel pays at least the GPU-side gap: the same net
    # with its Scale folded and one LRN kernel (the rules dropped) costs less.
    g = _caffe_bn_scale(lrn=True)
    dev_off = apply_overrides(load_hw(dev), {f"gpu.runtimes.{runtime}.fusion": ["fc_bias"]})
    on = estimate(g, dev, runtime=runtime, precision="fp16").total.time_s
    off = estimate(g, dev_off, runtime=runtime, precision="fp16").total.time_s
    h = t.row("fp16")
    assert on - off >= 8 * h[H.P_GAP] * (1 - 1e-9)   # 1 Scale + 7 more LRN kernels


@pytest.mark.parametrize("dev, bound", [
    ("nvidia_p100_pcie_16gb", False),   # Pascal: two dispatch units per scheduler
    ("nvidia_v100_pcie_32gb", False),   # 16 FP32 lanes per quadrant: FFMA leaves slots free
    ("nvidia_a100_pcie_40gb", False),
    ("nvidia_rtx3090", True),           # sm_86: 16 + 16 FP32 lanes per quadrant (GA102)
    ("nvidia_l4", True),                # sm_89: 16 + 16 FP32 lanes per quadrant
    ("nvidia_h200", True),              # sm_90: 32 FP32 lanes per quadrant
])
def test_ffma_tiles_are_issue_bound_on_32_lane_quadrants(dev, bound):
    h = row(dev)
    assert h[H.H_FFMA_ISSUE] == (1.0 if bound else 0.0)
    free = h.copy()
    free[H.H_FFMA_ISSUE] = 0.0
    # By hand: a 128 x 128 tile on 4 warps owns 128 outputs per thread, which load at least
    # 2 sqrt(128) / 4 = 5.66 operand vectors per 128 FFMAs: 1 + 1 / (2 sqrt(128)) = 1.0442;
    # a 32 x 32 tile on 2 warps: 16 outputs per thread, 1 + 1 / 8 = 1.125.
    for tm, tn, want in ((128.0, 128.0, 1.0441942), (32.0, 32.0, 1.125), (128.0, 32.0, 1.0883883)):
        assert ffma_issue_factor(tm, tn, h) == pytest.approx(want if bound else 1.0, rel=1e-6)
        args = (4096.0, 4096.0, 4096.0, 1.0, tm, tn, 1.0, h[H.H_SM_GEMM], 1.0, 4.0)
        t_free = gemm_tile_time(*args, free)[0]
        t = gemm_tile_time(*args, h, ffma_issue_factor(tm, tn, h))[0]
        assert t / t_free == pytest.approx(want if bound else 1.0, rel=1e-6)
    # gemm_time applies it to CUDA-core tiles only: a compute-bound FP32 GEMM on the H200 is
    # slower than without the rule, an fp16 tensor-core GEMM is not.
    big = (8192.0, 8192.0, 8192.0, 1.0)
    t32 = gemm_time(*big, h[H.H_SM_GEMM], 0.0, 1.0, 4.0, h, 0)
    t32_free = gemm_time(*big, free[H.H_SM_GEMM], 0.0, 1.0, 4.0, free, 0)
    assert (t32 > t32_free * 1.04) == bound and t32 >= t32_free
    assert gemm_time(*big, h[H.H_SM_GEMM], 1.0, 1.0, 2.0, h, 0) == \
        gemm_time(*big, free[H.H_SM_GEMM], 1.0, 1.0, 2.0, free, 0)


def _pools():
    b = GraphBuilder("pools")
    b.add_input("x", (2, 8, 6, 6))
    b.add_layer(Layer("mp", "pool", {"mode": "max", "kernel": (2, 2), "stride": (2, 2)}, ("x",), ("y",)))
    b.add_layer(Layer("ap", "pool", {"mode": "avg", "kernel": (3, 3), "stride": (1, 1)}, ("y",), ("z",)))
    b.add_layer(Layer("gp", "pool", {"mode": "max", "global": True}, ("z",), ("w",)))
    return b.build()


@pytest.mark.parametrize("precision, eb", [("fp16", 2), ("fp32", 4)])
def test_max_pool_writes_int64_indices_under_pytorch(precision, eb):
    """aten's max_pool2d on CUDA is max_pool2d_with_indices: 2 x 8 x 3 x 3 = 144 outputs,
    each its value and an 8-byte argmax; the average pool (2 x 8 x 1 x 1 = 16 outputs) and
    the global max pool (torchexec: amax) write their outputs only."""
    g = _pools()
    plain = lower(g, precision, ("fc_bias",))
    rule = lower(g, precision, ("fc_bias", "pool_indices"))
    mp_plain, mp = plain.rows[plain.layer_kernel["mp"]], rule.rows[rule.layer_kernel["mp"]]
    assert mp_plain[C_OUT_BYTES] == 144 * eb
    assert mp[C_OUT_BYTES] == 144 * eb + 144 * 8
    assert mp[C_IN_BYTES] == mp_plain[C_IN_BYTES] == 2 * 8 * 6 * 6 * eb
    for name, outs in (("ap", 16), ("gp", 16)):
        assert rule.rows[rule.layer_kernel[name]][C_OUT_BYTES] == plain.rows[plain.layer_kernel[name]][C_OUT_BYTES] \
            == outs * eb


def test_pytorch_runtimes_declare_pool_indices():
    dev = load_hw("nvidia_h200")
    for rt in ("pytorch-eager", "pytorch-cudagraph"):
        assert "pool_indices" in resolve_target(dev, "gpu", rt).fusion


def _bn(affine):
    b = GraphBuilder("bn")
    b.add_input("x", (2, 24, 5, 5))
    b.add_layer(Layer("bn", "batchnorm", {"affine": affine, "eps": 1e-5}, ("x",), ("y",)))
    return b.build()


@pytest.mark.parametrize("precision, affine, native", [
    ("fp32", True, False),     # cuDNN: fp32 input, fp32 weight and bias
    ("fp32", False, True),     # no weight/bias (Caffe's BatchNorm): aten's native path
    ("fp16", True, True),      # half input with half parameters: native
    ("fp16", False, True),
    ("bf16", True, True),      # bfloat16 never goes to cuDNN
])
def test_batchnorm_off_cudnn_runs_two_more_ops_over_its_channels(precision, affine, native):
    """aten's native eval BatchNorm: copy_ of the 24-channel running mean into an fp32
    buffer, invstd = rsqrt(var + eps) over the 24 channels, then the element-wise pass."""
    g = _bn(affine)
    low = lower(g, precision, ("fc_bias", "bn_native"))
    rows = [r for k, r in zip(low.kernels, low.rows) if k.name == "bn"]
    assert len(rows) == (3 if native else 1)
    main = low.rows[low.layer_kernel["bn"]]
    plain = lower(g, precision, ("fc_bias",))
    assert main[C_INCALL] == 0.0 and main[C_IN_BYTES] == plain.rows[plain.layer_kernel["bn"]][C_IN_BYTES]
    if native:
        eb = {"fp16": 2, "bf16": 2, "fp32": 4}[precision]
        copy, invstd = [r for r in rows if r is not main and r[C_INCALL] == 1.0]
        assert copy[C_CLS] == invstd[C_CLS] == STREAM
        assert (copy[C_IN_BYTES], copy[C_OUT_BYTES], copy[C_FLOPS], copy[C_TRANS]) == (24 * eb, 24 * 4, 0, 0)
        assert (invstd[C_IN_BYTES], invstd[C_OUT_BYTES], invstd[C_FLOPS], invstd[C_TRANS]) == (24 * eb, 24 * 4, 24, 24)


def test_in_call_ops_cost_gpu_time_but_no_host_issue():
    g = _bn(True)
    t = resolve_target("nvidia_h200", runtime="pytorch-eager")
    assert "bn_native" in t.fusion
    low = lower(g, "fp16", t.fusion)
    h = t.row("fp16")
    main = low.rows[low.layer_kernel["bn"]]
    aux = low.rows[-1]
    assert aux[C_INCALL] == 1.0
    assert host_issue_time(main, h) > 0.0 and host_issue_time(aux, h) == 0.0
    # The GPU is idle at host time 0: the main op waits for its issue; the in-call op
    # starts when the main op ends and adds its own 2 us only.
    clock = np.zeros(2)
    first = pipeline_step(main, h, 5e-6, clock)
    assert first == pytest.approx(host_issue_time(main, h) + 5e-6)
    assert pipeline_step(aux, h, 2e-6, clock) == pytest.approx(2e-6)
