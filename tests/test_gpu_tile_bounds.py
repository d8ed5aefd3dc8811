"""Tensor-core tiles in the PyTorch kernel model, checked by hand: the depth term counts its
fixed prologue/epilogue time in the tile's own K-steps (gpu_algos.tensor_core_depth_scale), and
every tile is bounded by the shared-memory operand roofline (hw/kmodel.SMEM_BYTES_PER_CLOCK);
a tensor-core conv computes on channels padded to a 16-byte vector (gpu_algos.tc_channel_pad)."""
import pytest

from augur_sim.engine import hwrow as H
from augur_sim.engine.gpu_algos import (
    ALGO_IGEMM,
    TC_TILES,
    conv_time,
    gemm_tile_time,
    gemm_time,
    nchw_transposes,
    resident_bw,
    tc_channel_pad,
    tensor_core_depth_scale,
)
from augur_sim.hw.kmodel import SMEM_BYTES_PER_CLOCK
from test_gpu_kernels import PARAMS, row


def _clock_hz(h):
    return h[H.H_SMEM_BW] / SMEM_BYTES_PER_CLOCK


def test_smem_bandwidth_is_128_bytes_per_clock_at_the_heavy_clock():
    h = row("nvidia_h200", precision="fp16")
    # The heavy clock is the one the FP32 rate column carries times the power-limited ratio.
    assert _clock_hz(h) == pytest.approx(h[H.H_SM_FP32] * h[H.H_CLOCK_X] / 256.0, rel=1e-12)
    assert h[H.H_SMEM_BW] == pytest.approx(128.0 * _clock_hz(h), rel=1e-12)


def test_depth_scale_is_the_tensor_to_fp32_rate_ratio():
    h = row("nvidia_h200", precision="fp16")
    assert h[H.H_TC_GEMM] == 1.0
    # The H200 file restates NVIDIA's dense fp16 rate at its 1.98 GHz clock: 3786 FLOP per
    # clock per SM against 256 FP32: 14.79 FFMA K-steps per tensor-core K-step.
    assert tensor_core_depth_scale(h[H.H_SM_GEMM], h) == pytest.approx(3786.0 / 256.0, rel=1e-9)
    # An FP32 row (CUDA-core math): the FFMA tiles keep the fitted P_KHALF as it is.
    h32 = row("nvidia_h200", precision="fp32")
    assert h32[H.H_TC_GEMM] == 0.0
    assert tensor_core_depth_scale(h32[H.H_SM_GEMM], h32) == 1.0


def test_shallow_tensor_core_tile_pays_its_fixed_time_in_its_own_k_steps():
    h = row("nvidia_h200", precision="fp16")
    peak = h[H.H_SM_GEMM]
    kx = 3786.0 / 256.0
    # One 128 x 128 tile of depth 64 on one SM (a 1x1 conv over 64 channels), by hand:
    # ai = 64, efficiency = emax * 64 / (64 + ahalf) * 64 / (64 + khalf * kx).
    p = PARAMS
    eff = p["emax"] * 64.0 / (64.0 + p["ahalf"]) * 64.0 / (64.0 + p["khalf"] * kx)
    want = 2.0 * 128 * 128 * 64 / (peak * eff)
    t, waves = gemm_tile_time(128.0, 128.0, 64.0, 1.0, 128.0, 128.0, 1.0, peak, 1.0, 2.0, h, 1.0, kx)
    assert waves == 1
    assert t == pytest.approx(want, rel=1e-9)
    # With the FFMA-step P_KHALF the same tile would be 5.9x faster at this depth: the fixed
    # time is what a 64-deep tensor-core tile mostly is.
    t_ffma_steps, _ = gemm_tile_time(128.0, 128.0, 64.0, 1.0, 128.0, 128.0, 1.0, peak, 1.0, 2.0, h)
    assert t / t_ffma_steps == pytest.approx((64.0 + p["khalf"] * kx) / (64.0 + p["khalf"]), rel=1e-9)
    # gemm_time applies it to every tensor-core candidate: the fastest tile of TC_TILES at this
    # depth (no split-K: 64 / 2 < 64), each with kx.
    want_best = min(gemm_tile_time(128.0, 128.0, 64.0, 1.0, tm, tn, 1.0, peak, 1.0, 2.0, h, 1.0, kx)[0]
                    for tm, tn in TC_TILES)
    assert gemm_time(128.0, 128.0, 64.0, 1.0, peak, 1.0, 1.0, 2.0, h, 0) == pytest.approx(want_best, rel=1e-12)


def test_tensor_core_64x64_tile_math_bound_on_h200_smem_bound_at_four_times_the_rate():
    h = row("nvidia_h200", precision="fp16")
    clk = _clock_hz(h)
    K = 4096.0
    args = (64.0, 64.0, K, 1.0, 64.0, 64.0, 1.0)
    # By hand, per K-step of a 64 x 64 fp16 tile: operands (64 + 64) x 2 B = 256 B = 2 clocks
    # of shared memory; math 2 x 64 x 64 / 3786 = 2.164 clocks even at 100%: math-bound, so
    # the roofline changes nothing on the H200 (Hopper's tensor rate and shared memory are
    # balanced at exactly this tile: 4096 FLOP / clock at NVIDIA's own clock).
    assert 2.0 * 64 * 64 / 3786.0 > 256.0 / 128.0
    free = h.copy()
    free[H.H_SMEM_BW] = 0.0
    kx = 3786.0 / 256.0
    t = gemm_tile_time(*args, h[H.H_SM_GEMM], 1.0, 2.0, h, 1.0, kx)[0]
    assert t == gemm_tile_time(*args, free[H.H_SM_GEMM], 1.0, 2.0, free, 1.0, kx)[0]
    # A what-if SM with four times the tensor rate and the same shared memory: math at the
    # test parameters' efficiency takes 0.54 / eff = 1.24 clocks per K-step, under the 2 of
    # shared memory, so the tile is smem-bound and takes exactly 256 B x K / (128 B/clock).
    p = PARAMS
    peak4 = 4.0 * h[H.H_SM_GEMM]
    kx4 = 4.0 * kx
    eff = p["emax"] * 32.0 / (32.0 + p["ahalf"]) * K / (K + p["khalf"] * kx4)
    assert 2.0 * 64 * 64 / (4 * 3786.0) / eff < 2.0
    t4 = gemm_tile_time(*args, peak4, 1.0, 2.0, h, 1.0, kx4)[0]
    assert t4 == pytest.approx(256.0 * K / 128.0 / clk, rel=1e-12)
    # ... while a 128 x 128 tile there stays math-bound: 2.16 / eff = 4.45 clocks of math
    # against 4 clocks of operands per K-step.
    eff128 = p["emax"] * 64.0 / (64.0 + p["ahalf"]) * K / (K + p["khalf"] * kx4)
    want128 = 2.0 * 128 * 128 * K / (peak4 * eff128)
    t128 = gemm_tile_time(128.0, 128.0, K, 1.0, 128.0, 128.0, 1.0, peak4, 1.0, 2.0, h, 1.0, kx4)[0]
    assert t128 == pytest.approx(want128, rel=1e-12)
    assert t128 > 512.0 * K / 128.0 / clk


@pytest.mark.parametrize("dev", ["nvidia_p4", "nvidia_v100_pcie_32gb", "nvidia_t4", "nvidia_a100_pcie_40gb"])
def test_smem_roofline_never_binds_an_ffma_tile_of_the_corpus_gpus(dev):
    # FP32 tiles read 4 B per operand but do 2 FLOP per lane-clock: per K-step a tm x tn tile
    # needs (tm + tn) x 4 / 128 clocks of shared memory against 2 tm tn / rate of math, which
    # for the smallest tile (32 x 32) and the widest SM (P4: 256 FLOP/clock) is 2 vs 8 clocks.
    h = row(dev)
    free = h.copy()
    free[H.H_SMEM_BW] = 0.0
    for tm, tn in ((32.0, 32.0), (128.0, 128.0)):
        args = (4096.0, 4096.0, 512.0, 1.0, tm, tn, 1.0, h[H.H_SM_GEMM], 1.0, 4.0)
        assert gemm_tile_time(*args, h)[0] == gemm_tile_time(*args, free)[0]


def test_tensor_core_conv_pads_channels_to_a_16_byte_vector():
    # fp16: 8 channels per 16 B, TF32 (4 B): 4; already aligned counts stay.
    assert tc_channel_pad(3.0, 2.0) == 8.0 and tc_channel_pad(64.0, 2.0) == 64.0
    assert tc_channel_pad(58.0, 2.0) == 64.0 and tc_channel_pad(3.0, 4.0) == 4.0
    assert tc_channel_pad(4.0, 2.0) == 8.0          # ResNeXt's 4-channel groups double
    h = row("nvidia_h200", precision="fp16")
    # A first conv, 3 -> 64 channels, 7x7 stride 2, 224 -> 112 px, batch 1, by hand: the
    # implicit GEMM is 12544 x 64 x (8 x 49) = 392 deep, not 147; the input transform reads
    # 3 and writes 8 channels of 224 x 224, the filter transform reads 64 x 3 x 49 and writes
    # 64 x 8 x 49 halves, the output transform 2 x 64 channels of 112 x 112.
    b, cin, cout, hin, hout, k = 1.0, 3.0, 64.0, 224.0, 112.0, 7.0
    t, _ = conv_time(b, cin, cout, hin, hin, hout, hout, k, k, 2.0, 2.0, 1.0, 2.0, h, -1)
    gemm = gemm_time(hout * hout, 64.0, 8.0 * 49.0, 1.0, h[H.H_SM_CONV], 1.0, h[H.P_IGEMM], 2.0, h, 0,
                     0.0, 64.0, True)
    q_in = 2.0 * (3.0 + 8.0) * 224 * 224
    q_out = 2.0 * (64.0 + 64.0) * 112 * 112
    q_f = 2.0 * (64 * 3 + 64 * 8) * 49
    trans = sum(q / resident_bw(q, h) + h[H.P_KGAP] for q in (q_in, q_out, q_f))
    assert t == pytest.approx(gemm + trans, rel=1e-12)
    assert nchw_transposes(b, cin, cout, hin, hin, hout, hout, k, k, 1.0, 2.0, h, 8.0, 64.0) == \
        pytest.approx(trans, rel=1e-12)
    # Unpadded, the same conv would be cheaper: the padding is a cost, never a saving.
    gemm147 = gemm_time(hout * hout, 64.0, 147.0, 1.0, h[H.H_SM_CONV], 1.0, h[H.P_IGEMM], 2.0, h, 0,
                        0.0, 64.0, True)
    assert gemm147 < gemm
    # FP32 (CUDA-core) convs are not padded: the corpus' scudnn kernels take any C.
    h32 = row("nvidia_h200", precision="fp32").copy()
    h32[H.H_TC_CONV] = 0.0
    t32, _ = conv_time(b, cin, cout, hin, hin, hout, hout, k, k, 2.0, 2.0, 1.0, 4.0, h32, ALGO_IGEMM)
    g32 = gemm_time(hout * hout, 64.0, 147.0, 1.0, h32[H.H_SM_CONV], 0.0, h32[H.P_IGEMM], 4.0, h32, 0,
                    0.0, 1.0, True)
    assert t32 == pytest.approx(g32, rel=1e-12)
