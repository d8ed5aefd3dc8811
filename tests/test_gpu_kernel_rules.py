"""Rules of the GPU kernel model taken from the NeuSight corpus' kernel names and from the
architecture whitepapers (augur_sim/engine/gpu_algos.py, hw/kmodel.py), checked by hand:
cuDNN's CUDA-core implicit GEMM does not split K and uses 128-pixel tiles; the HBM
architectures get their own bandwidth fraction; softmax/LayerNorm read their input
norm_passes times; the fit keeps floor-bound rows out of the kernel parameters."""
import math

import numpy as np
import pytest

from augur_sim.engine import hwrow as H
from augur_sim.engine.gpu_algos import (
    ALGO_IGEMM,
    IGEMM_TILES,
    conv_time,
    gemm_tile_time,
    gemm_time,
    kernel_time,
)
from augur_sim.lowering import C_IN_BYTES, C_OUT_BYTES
from augur_sim.measure import gpu_corpus as gc
from augur_sim.measure import gpu_fit as gf
from test_gpu_kernels import PARAMS, row


def test_cudnn_implicit_gemm_does_not_split_k():
    h = row()
    # 1 x 512 -> 512, 7 x 7 outputs, 3x3: a GEMM of 49 pixels x 512 channels x 4608 deep.
    M, N, K = 49.0, 512.0, 512.0 * 9
    t_conv, algo = conv_time(1.0, 512.0, 512.0, 7.0, 7.0, 7.0, 7.0, 3.0, 3.0, 1.0, 1.0, 1.0, 4.0, h,
                             ALGO_IGEMM)
    assert algo == ALGO_IGEMM
    # By hand: the best of cuDNN's three 128-pixel tiles, each run unsplit (one slice of 4608).
    best = min(gemm_tile_time(M, N, K, 1.0, tm, tn, 1.0, h[H.H_SM_CONV], h[H.P_IGEMM], 4.0, h)[0]
               for tm, tn in IGEMM_TILES)
    assert t_conv == pytest.approx(best, rel=1e-12)
    # 128 x 32 tiles: 1 x 16 = 16 tiles for 80 SMs, one wave; no split fills the rest.
    _, waves = gemm_tile_time(M, N, K, 1.0, 128.0, 32.0, 1.0, h[H.H_SM_CONV], 1.0, 4.0, h)
    assert waves == 1 and math.ceil(M / 128) * math.ceil(N / 32) == 16
    # cuBLAS (a linear of the same shape) may split K over the idle SMs: faster.
    t_blas = gemm_time(M, N, K, 1.0, h[H.H_SM_CONV], 0.0, h[H.P_IGEMM], 4.0, h, 0)
    assert t_blas < 0.5 * t_conv


@pytest.mark.parametrize("dev, hbm", [
    ("nvidia_p100_pcie_16gb", False),   # HBM2 behind Pascal's memory controller
    ("nvidia_p4", False),               # GDDR5
    ("nvidia_t4", False),               # GDDR6
    ("nvidia_l4", False),               # GDDR6 (sm_89)
    ("nvidia_rtx3090", False),          # GDDR6X (sm_86)
    ("nvidia_v100_pcie_32gb", True),
    ("nvidia_a100_pcie_40gb", True),
    ("nvidia_h200", True),
])
def test_stream_bandwidth_fraction_follows_the_memory_class(dev, hbm):
    p = dict(PARAMS, mem=0.75, mem_hbm=0.92)
    h = row(dev, p)
    assert h[H.P_MEM] == (0.92 if hbm else 0.75)


def test_softmax_reads_its_input_norm_passes_times():
    # CUDA-graph rows: no host floor or enqueue latency, only the GPU-side gap.
    h1 = row(params=dict(PARAMS, norm_passes=1.0), runtime="pytorch-cudagraph")
    h2 = row(params=dict(PARAMS, norm_passes=2.0), runtime="pytorch-cudagraph")
    big = {"B": 4096, "H": 8192}            # 128 MiB in, 128 MiB out: DRAM-bound
    r = gc.kernel_row("softmax", big)
    t1, _, _ = kernel_time(r, h1, -1)
    t2, _, _ = kernel_time(r, h2, -1)
    # Bytes 2x in + 1x out against 1x in + 1x out: 1.5x the stream time (gap aside).
    k1 = t1 - h1[H.P_GAP]
    k2 = t2 - h2[H.P_GAP]
    assert k2 / k1 == pytest.approx(1.5, rel=1e-6)
    # An element-wise op of the same size is not touched.
    a = gc.kernel_row("relu", big)
    assert kernel_time(a, h1, -1)[0] == kernel_time(a, h2, -1)[0]


def test_kernel_bound_rows_are_three_times_their_op_floor():
    lat = np.array([10.0, 29.0, 30.0, 100.0, 50.0, 149.0, 150.0]) * 1e-6
    op = np.array(["add", "add", "add", "add", "relu", "relu", "relu"])
    dev = np.array(["a"] * 4 + ["b"] * 3)
    n = len(lat)
    c = gc.Corpus(op=op, device=dev, latency_s=lat, kernel=np.array([""] * n), dims=[{}] * n,
                  rows=np.zeros((n, 1)), algo=np.zeros(n, dtype=np.int64), grid=np.ones((n, 3), dtype=np.int64))
    # Floors: add on a 10 us, relu on b 50 us; kernel-bound from 3x that.
    assert gf.kernel_bound(c).tolist() == [False, False, True, True, False, False, True]


def test_enqueue_latency_is_eager_only():
    p = dict(PARAMS, lat_us=7.0, gap_us=2.0)
    eager, graph = row(params=p), row(params=p, runtime="pytorch-cudagraph")
    assert eager[H.P_LAT] == pytest.approx(7e-6) and graph[H.P_LAT] == 0.0
    # A long bandwidth kernel: under the graph, kernel + gap only.
    r = gc.kernel_row("relu", {"B": 4096, "H": 8192})
    tg, _, _ = kernel_time(r, graph, -1)
    ws = r[C_IN_BYTES] + r[C_OUT_BYTES]
    assert tg == pytest.approx(ws / (graph[H.H_DRAM_BW] * graph[H.P_MEM]) + 2e-6, rel=1e-3)


def test_batched_sgemm_pads_tiny_products_to_a_64x64_tile_or_more():
    from augur_sim.engine.gpu_algos import MIN_BATCHED_TILE, SGEMM_TILES
    h = row("nvidia_a100_pcie_40gb")
    M, N, K, count = 19.0, 13.0, 1002.0, 863.0
    big = [(tm, tn) for tm, tn in SGEMM_TILES if tm * tn >= MIN_BATCHED_TILE]
    assert len(big) == 6            # 128x128, 128x64, 64x128, 64x64, 128x32, 32x128
    t = gemm_time(M, N, K, count, h[H.H_SM_GEMM], 0.0, 1.0, 4.0, h, 0)
    # Hand count: one padded tile per product, 863 tiles in ceil(863 / 108) = 8 waves; no
    # split-K (863 tiles already fill the SMs); the best of the large tiles.
    best = min(gemm_tile_time(M, N, K, count, tm, tn, 1.0, h[H.H_SM_GEMM], 1.0, 4.0, h)[0] for tm, tn in big)
    assert t == pytest.approx(best, rel=1e-12)
    assert gemm_tile_time(M, N, K, count, 64.0, 64.0, 1.0, h[H.H_SM_GEMM], 1.0, 4.0, h)[1] == 8
    # 32 x 32 tiles would waste far less (the model's fastest otherwise): the rule costs more.
    small = gemm_tile_time(M, N, K, count, 32.0, 32.0, 1.0, h[H.H_SM_GEMM], 1.0, 4.0, h)[0]
    assert t > 2.0 * small


def test_conv_figures_per_major_reach_only_their_family():
    """gpu_fit.MAJOR_PARAMS fitted per compute-capability major ('igemm@sm_6') cost the GPUs
    of that major only (sm_60 and sm_61 alike); every other GPU keeps the shared figures."""
    p = dict(PARAMS, **{"igemm@sm_6": 0.3, "floor_conv_x@sm_6": 7.0})
    for arch in ("sm_60", "sm_61"):
        d = gf.device_params(p, arch)
        assert (d["igemm"], d["floor_conv_x"]) == (0.3, 7.0)
    for arch in ("sm_70", "sm_75", "sm_80", "sm_90"):
        d = gf.device_params(p, arch)
        assert (d["igemm"], d["floor_conv_x"]) == (PARAMS["igemm"], PARAMS["floor_conv_x"])
        assert not any(gf.MAJOR_SEP in k for k in d)
    assert gf.major_classes(p) == {"sm_6": {"igemm": 0.3, "floor_conv_x": 7.0}}
    p100, p4, t4 = gf.hw_rows(["nvidia_p100_pcie_16gb", "nvidia_p4", "nvidia_t4"], "pytorch-eager", p)
    assert p100[H.P_IGEMM] == p4[H.P_IGEMM] == 0.3 and t4[H.P_IGEMM] == PARAMS["igemm"]
    assert p100[H.P_FCONV] == 7.0 and t4[H.P_FCONV] == PARAMS["floor_conv_x"]
    # An implicit-GEMM conv on the P100 costs more at the lower efficiency.
    shared = gf.hw_rows(["nvidia_p100_pcie_16gb"], "pytorch-eager", PARAMS)[0]
    args = (8.0, 64.0, 128.0, 28.0, 28.0, 28.0, 28.0, 1.0, 1.0, 1.0, 1.0, 1.0, 4.0)
    assert conv_time(*args, p100, ALGO_IGEMM)[0] > 2.0 * conv_time(*args, shared, ALGO_IGEMM)[0]


def test_fit_majors_moves_only_the_conv_figures_of_majors_with_conv_rows():
    from test_gpu_kernels import _corpus
    c = _corpus()
    p = gf.fit_majors(c, PARAMS, rounds=4)
    by_major = gf.major_classes(p)
    # The A100 (sm_8) has no conv rows: no sm_8 figures; the shared set is untouched.
    assert set(by_major) == {"sm_6", "sm_7"}
    assert all(set(v) == set(gf.MAJOR_PARAMS) for v in by_major.values())
    assert {k: v for k, v in p.items() if gf.MAJOR_SEP not in k} == PARAMS
    # Rows other than convs cost the same; each major's conv rows fit no worse than before.
    before, _ = gf.predict(c, PARAMS)
    after, _ = gf.predict(c, p)
    conv = c.op == "conv"
    np.testing.assert_array_equal(before[~conv], after[~conv])
    assert not np.array_equal(before[conv], after[conv])
    for devs in (("nvidia_p100_pcie_16gb", "nvidia_p4"), ("nvidia_t4", "nvidia_v100_pcie_32gb")):
        m = conv & np.isin(c.device, devs)
        err = [np.mean([np.median(np.abs(np.log(t[m & (c.device == d)] / c.latency_s[m & (c.device == d)])))
                        for d in devs]) for t in (before, after)]
        assert err[1] <= err[0] + 1e-9


def test_shipped_fit_has_per_major_conv_classes_and_one_shared_set():
    """hwspecs/fits/pytorch.yaml (scripts/accuracy_gpu_kernels.py): sm_60/61 and sm_70/75 take
    their major's conv figures, everything else the shared set; the classes differ in those
    figures only, and the held-out architectures (sm_80, sm_89, sm_90) keep the shared set."""
    from augur_sim.hw.kmodel import class_params, load_fit
    fit = load_fit("pytorch")
    shared = fit["classes"]["all"]["params"]
    for a, b in (("sm_60", "sm_61"), ("sm_70", "sm_75")):
        pa, pb = class_params(fit, a), class_params(fit, b)
        assert pa == pb
        assert {k for k in pa if pa[k] != shared[k]} <= set(gf.MAJOR_PARAMS)
        assert pa["igemm"] != shared["igemm"]
    assert class_params(fit, "sm_60")["igemm"] != class_params(fit, "sm_70")["igemm"]
    for a in ("sm_80", "sm_89", "sm_90"):
        assert class_params(fit, a) == shared
