"""The GPU kernel model (augur_sim/engine/gpu_algos.py): hand-checked waves, math modes,
Winograd work; corpus rows match the lowering; a small fixed corpus sample stays within
a loose error bound (skips without ../shared)."""
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from shared_data import SHARED

from augur_sim.engine import hwrow as H
from augur_sim.engine.gpu_algos import (
    ALGO_IGEMM,
    ALGO_WINO_FUSED,
    ALGO_WINO_NONFUSED,
    conv_time,
    gemm_tile_time,
    winograd_fused_flops,
    winograd_nonfused_flops,
)
from augur_sim.graph import GraphBuilder, Layer
from augur_sim.hw import load_hw
from augur_sim.hw.kmodel import resolve_math
from augur_sim.hw.power import sustained_clock_ghz
from augur_sim.lowering import lower
from augur_sim.measure import gpu_corpus as gc
from augur_sim.measure import gpu_fit as gf

PARAMS = dict(gf.START)


def row(dev="nvidia_v100_pcie_32gb", params=PARAMS, precision="fp32", runtime="pytorch-eager"):
    return gf.hw_rows([dev], runtime, params, precision)[0]


def test_one_tile_past_a_multiple_of_the_sms_costs_one_more_wave():
    h = row()
    sms = int(h[H.H_UNITS])
    assert sms == 80
    tm, tn = 128.0, 128.0
    K = 1024.0
    # 2 x 80 tiles of 128 x 128: exactly two waves; one tile more: a third wave.
    t2, w2 = gemm_tile_time(tm * 2 * sms, tn, K, 1.0, tm, tn, 1.0, h[H.H_SM_GEMM], 1.0, 4.0, h)
    t3, w3 = gemm_tile_time(tm * (2 * sms + 1), tn, K, 1.0, tm, tn, 1.0, h[H.H_SM_GEMM], 1.0, 4.0, h)
    assert (w2, w3) == (2, 3)
    # Compute-bound: the extra tile costs one whole tile time (a third more), not 1/160 more.
    assert t3 / t2 == pytest.approx(1.5, rel=1e-9)


def test_tf32_applies_to_fp32_conv_on_ampere_not_volta():
    a100 = load_hw("nvidia_a100_pcie_40gb").processors["gpu"]
    v100 = load_hw("nvidia_v100_pcie_32gb").processors["gpu"]
    for proc, conv_want in ((a100, "tf32"), (v100, "fp32")):
        rt = proc.runtimes["pytorch-eager"]
        assert resolve_math(proc, rt, "fp32", "conv") == conv_want
        assert resolve_math(proc, rt, "fp32", "matmul") == "fp32"   # PyTorch's matmul default
    ha, hv = row("nvidia_a100_pcie_40gb"), row("nvidia_v100_pcie_32gb")
    # A100: 1024 TF32 FLOP/clock/SM for convs, 128 FP32 for matmul, tensor cores for convs only.
    assert ha[H.H_SM_CONV] == pytest.approx(1.41e9 * 1024)
    assert ha[H.H_SM_GEMM] == pytest.approx(1.41e9 * 128)
    assert (ha[H.H_TC_CONV], ha[H.H_TC_GEMM]) == (1.0, 0.0)
    assert hv[H.H_SM_CONV] == pytest.approx(1.38e9 * 128) and hv[H.H_TC_CONV] == 0.0
    # The same fp32 conv is costed far faster on the A100's TF32 path than with TF32 off.
    args = (16.0, 256.0, 256.0, 56.0, 56.0, 56.0, 56.0, 3.0, 3.0, 1.0, 1.0, 1.0, 4.0)
    t_tf32, algo = conv_time(*args, ha, -1)
    off = ha.copy()
    off[H.H_SM_CONV], off[H.H_TC_CONV] = ha[H.H_SM_GEMM], 0.0
    t_fp32, _ = conv_time(*args, off, -1)
    t_fp32_ig, _ = conv_time(*args, off, ALGO_IGEMM)
    t_tf32_ig, _ = conv_time(*args, ha, ALGO_IGEMM)
    assert algo == ALGO_IGEMM          # Winograd is a CUDA-core path: not with tensor cores
    assert t_tf32 == t_tf32_ig
    # The same implicit GEMM at 8x the rate (the tiles differ, so not exactly 8x), and faster
    # than FP32's best algorithm (Winograd's 2.25x fewer multiplies do not make up for it).
    assert t_tf32_ig < t_fp32_ig / 4
    assert t_tf32 < t_fp32


def test_power_limited_clock_by_hand():
    # 70 W board, 40 SMs x 128 FP32 FLOP/clock, 12 nm, 16 pJ/FLOP at 16 nm -> 12 pJ:
    # 70 / (12e-12 x 5120) = 1.1393 GHz, below its 1.59 GHz boost, above its 0.585 base.
    assert sustained_clock_ghz(1.59, 0.585, 70.0, 40, 128, 12.0, 16.0) == pytest.approx(1.13932, rel=1e-4)
    # 250 W board, 80 SMs, same node and energy: the limit (2.03 GHz) is above its boost.
    assert sustained_clock_ghz(1.38, 1.245, 250.0, 80, 128, 12.0, 16.0) == 1.38
    # 75 W, 20 SMs x 256, 16 nm, 20 pJ: 75 / (20e-12 x 5120) = 0.732 GHz: held at the base clock.
    assert sustained_clock_ghz(1.114, 0.886, 75.0, 20, 256, 16.0, 20.0) == 0.886
    # No board power on the spec: the boost clock.
    assert sustained_clock_ghz(1.59, 0.585, 0.0, 40, 128, 12.0, 16.0) == 1.59


def test_power_limit_slows_gemms_on_a_70w_board_not_a_250w_one():
    p = dict(PARAMS, fma_pj=16.0)
    t4, v100 = row("nvidia_t4", p), row("nvidia_v100_pcie_32gb", p)
    # The specs' datasheet facts (70 W, 40 SMs, 12 nm; 250 W, 80 SMs, 12 nm) give the hand
    # figures above: GEMM and conv rates at 1.139 GHz on the T4, at boost on the V100 ...
    assert t4[H.H_SM_GEMM] == pytest.approx(1.13932e9 * 128, rel=1e-4)
    assert t4[H.H_SM_CONV] == pytest.approx(1.13932e9 * 128, rel=1e-4)
    assert v100[H.H_SM_GEMM] == pytest.approx(1.38e9 * 128)
    assert v100[H.H_CLOCK_X] == 1.0
    # ... and element-wise lanes (memory-bound kernels) stay at the boost clock.
    assert t4[H.H_SM_FP32] == pytest.approx(1.59e9 * 128)
    # A compute-bound GEMM on the T4 takes boost/sustained longer than without the limit.
    t4_free = row("nvidia_t4", dict(PARAMS, fma_pj=1.0))
    args = (4096.0, 4096.0, 4096.0, 1.0, 128.0, 128.0, 1.0)
    t_lim, _ = gemm_tile_time(*args, t4[H.H_SM_GEMM], 1.0, 4.0, t4)
    t_free, _ = gemm_tile_time(*args, t4_free[H.H_SM_GEMM], 1.0, 4.0, t4_free)
    assert t_lim / t_free == pytest.approx(1.59 / 1.13932, rel=1e-4)


def test_winograd_work_is_the_hand_count():
    # F(2x2,3x3) on a 1 x 64 -> 128 conv of 56 x 56 outputs: 28 x 28 = 784 tiles, each 16
    # multiplies per (cin, cout) pair: 784 * 16 * 64 * 128 = 102,760,448 multiplies.
    assert winograd_fused_flops(1.0, 64.0, 128.0, 56.0, 56.0) == 2 * 102_760_448
    # Direct: 56 * 56 * 9 * 64 * 128 = 231,211,008 multiplies: 2.25x as many.
    assert 2 * 231_211_008 / winograd_fused_flops(1.0, 64.0, 128.0, 56.0, 56.0) == pytest.approx(2.25)
    # F(4x4,3x3): 14 x 14 = 196 tiles x 36 multiplies x 64 x 128 = 57,802,752: 4x fewer than direct.
    assert winograd_nonfused_flops(1.0, 64.0, 128.0, 56.0, 56.0) == 2 * 57_802_752
    # Odd sizes round the tile count up: 57 x 57 outputs need 29 x 29 tiles of 2 x 2.
    assert winograd_fused_flops(1.0, 1.0, 1.0, 57.0, 57.0) == 2 * 16 * 29 * 29


def test_winograd_is_only_for_3x3_stride_1():
    h = row()
    for k, s, ok in ((3.0, 1.0, True), (3.0, 2.0, False), (5.0, 1.0, False), (1.0, 1.0, False)):
        ho = math.floor((56 + 2 * (k // 2) - k) / s) + 1
        for a in (ALGO_WINO_FUSED, ALGO_WINO_NONFUSED):
            t, got = conv_time(8.0, 64.0, 64.0, 56.0, 56.0, ho, ho, k, k, s, s, 1.0, 4.0, h, a)
            assert (got == a) == ok and (t < 1e299) == ok


def _one(shapes, op, attrs, n_inputs=1):
    b = GraphBuilder("micro")
    for i, s in enumerate(shapes):
        b.add_input(f"x{i}", s)
    b.add_layer(Layer("op", op, attrs, tuple(f"x{i}" for i in range(n_inputs)), ("op",)))
    return b.build()


@pytest.mark.parametrize("op, dims, graph", [
    ("conv", {"B": 2, "cin": 16, "cout": 32, "k": 3, "h": 20, "s": 1, "pad": 1},
     lambda: _one([(2, 16, 20, 20)], "conv", {"out_channels": 32, "kernel": (3, 3), "stride": (1, 1),
                                               "pad": (1, 1, 1, 1), "group": 1, "bias": False})),
    ("bmm", {"B": 3, "M": 5, "N": 7, "K": 11},
     lambda: _one([(3, 5, 7), (3, 7, 11)], "matmul", {}, 2)),
    ("add", {"B": 4, "H": 100}, lambda: _one([(4, 100), (4, 100)], "eltwise", {"fn": "sum"}, 2)),
    ("relu", {"B": 4, "H": 100}, lambda: _one([(4, 100)], "act", {"fn": "relu"})),
    ("softmax", {"B": 4, "H": 100}, lambda: _one([(4, 100)], "softmax", {"axis": 1})),
])
def test_corpus_rows_match_the_lowering(op, dims, graph):
    mine = gc.kernel_row(op, dims)
    low = lower(graph(), "fp32", ("fc_bias",))
    theirs = low.rows[low.rows[:, 0] != 0]
    assert theirs.shape[0] == 1
    np.testing.assert_allclose(mine, theirs[0])


def _corpus():
    root = gc.corpus_dir(Path(SHARED))
    if not (root / "conv.csv.gz").is_file():
        pytest.skip(f"NeuSight corpus not present under {root}")
    return gc.load(root, ops=("conv", "linear", "add", "softmax"), per_op_device=8, seed=0)


def test_corpus_sample_with_shipped_parameters():
    """A fixed 8-rows-per-(op, GPU) sample, the shipped fit: a loose bound that a broken
    model (wrong units, wrong peak, a lost floor) would fail by far."""
    c = _corpus()
    assert set(c.device) == set(gc.DEVICES.values())
    from augur_sim.hw.kmodel import class_params, load_fit
    p = class_params(load_fit("pytorch"), "sm_70")
    pred, algo = gf.predict(c, p)
    err = np.abs(np.log(pred / c.latency_s))
    assert np.median(err) < np.log(1.5)
    assert np.all(np.isfinite(pred)) and np.all(pred > 0)
    # The census: the corpus' conv kernels include all three modelled algorithms.
    conv = c.algo[c.op == "conv"]
    assert {ALGO_IGEMM, ALGO_WINO_FUSED, ALGO_WINO_NONFUSED} <= set(conv.tolist())


def test_kernel_model_runtime_through_estimate():
    from augur_sim.estimator import estimate
    # Batch 16, where the tensor rates decide: at batch 1 a CUDA graph of resnet18 is mostly
    # launches, and fp16 BatchNorm runs aten's native path with two extra kernels each
    # (gpu_algos rule bn_native), which may outweigh fp16's rate over TF32 there.
    a = estimate("resnet18", "nvidia_a100_pcie_80gb", runtime="pytorch-cudagraph", precision="fp16", batch=16)
    b = estimate("resnet18", "nvidia_a100_pcie_80gb", runtime="pytorch-cudagraph", precision="fp32", batch=16)
    c = estimate("resnet18", "nvidia_l4", runtime="pytorch-cudagraph", precision="fp16", batch=16)
    assert 0 < a.total.time_s < b.total.time_s
    # The compute-bound part alone is faster in fp16 (tensor cores) than in TF32.
    assert a.total.bound_time_s["compute"] < 0.75 * b.total.bound_time_s["compute"]
    # L4: a third of the A100's tensor rate and a sixth of its bandwidth.
    assert c.total.time_s > a.total.time_s


def test_arch_files_cite_their_figures_and_unknown_arch_is_one_line(tmp_path):
    import re

    import yaml

    from augur_sim.errors import SchemaError
    from augur_sim.hw import check_hw
    archs = sorted((Path(__file__).resolve().parents[1] / "hwspecs" / "archs").glob("*.yaml"))
    assert {p.stem for p in archs} >= {"sm_60", "sm_61", "sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90"}
    for p in archs:
        ids = {s["id"] for s in yaml.safe_load(p.read_text())["sources"]}
        for no, raw in enumerate(p.read_text().splitlines(), 1):
            code, _, comment = raw.partition(" #")
            if raw.lstrip().startswith(("#", "- {id:")) or not re.search(r"[:\[,]\s*-?\d", code):
                continue
            m = re.search(r"src:\s*([\w-]+(?:\s*,\s*[\w-]+)*)", comment)
            assert "estimate:" in comment or m, f"{p.name}:{no}: {raw.strip()}"
            if m and "estimate:" not in comment:
                assert set(re.split(r"\s*,\s*", m.group(1))) <= ids, f"{p.name}:{no}"
    bad = tmp_path / "x.yaml"
    text = (Path(__file__).resolve().parents[1] / "hwspecs" / "nvidia_l4.yaml").read_text()
    bad.write_text(text.replace("name: nvidia_l4", "name: x").replace("arch: sm_89", "arch: sm_999"))
    with pytest.raises(SchemaError, match=r"x.yaml:\d+: processors.gpu.arch: unknown architecture 'sm_999'"):
        check_hw(bad)


def test_cublas_kernel_name_gives_tile_and_split_in_the_models_orientation():
    from augur_sim.engine.gpu_algos import SGEMM_TILES
    # A linear: cuBLAS's m is out_features, the model's M: the tile reads as named; grid z
    # is the split-K factor.
    ti, sp = gc.gemm_choice("linear", "maxwell_sgemm_128x32_tn", (3, 2, 7), {"B": 1})
    assert tuple(SGEMM_TILES[ti]) == (128.0, 32.0) and sp == 7
    # bmm: cuBLAS computes the K x M product per batch: the named tile is swapped; grid z
    # is the batch, so no split.
    ti, sp = gc.gemm_choice("bmm", "volta_sgemm_32x128_nn", (1, 1, 12), {"B": 12})
    assert tuple(SGEMM_TILES[ti]) == (128.0, 32.0) and sp == 1
    ti, sp = gc.gemm_choice("bmm", "volta_sgemm_64x32_sliced1x4_nn", (1, 1, 3), {"B": 3})
    assert tuple(SGEMM_TILES[ti]) == (32.0, 64.0)
    assert gc.gemm_choice("conv", "maxwell_sgemm_128x64_nn", (1, 1, 36), {"B": 1}) == (-1, 0)
    assert gc.gemm_choice("linear", "gemv2T_kernel", (1, 1, 1), {"B": 1}) == (-1, 0)


def test_forced_split_k_fills_idle_sms_and_costs_the_partials():
    """A 32x32 output with K = 30000 is one tile: unsplit, one SM walks all of K; split 64
    ways, 64 SMs share it (cuBLAS does this: the corpus' grid z reaches the SM count)."""
    from augur_sim.engine.gpu_algos import SGEMM_TILES, gemm_time
    h = row("nvidia_a100_pcie_40gb")
    t32 = int(np.flatnonzero((SGEMM_TILES[:, 0] == 32) & (SGEMM_TILES[:, 1] == 32))[0])
    args = (32.0, 32.0, 30000.0, 1.0, h[H.H_SM_GEMM], 0.0, 1.0, 4.0, h, t32 + 1)
    t1 = gemm_time(*args, 1.0)
    t64 = gemm_time(*args, 64.0)
    one_tile = gemm_tile_time(32.0, 32.0, 30000.0, 1.0, 32.0, 32.0, 1.0, h[H.H_SM_GEMM], 1.0, 4.0, h)[0]
    assert t1 == one_tile
    assert t64 < t1 / 8


def test_tile_table_predicts_from_other_gpus_of_the_same_major():
    from augur_sim.measure import gpu_tiles as gt
    c = _corpus()
    archs = {d: load_hw(d).processors["gpu"].arch for d in set(c.device)}
    gemm = np.isin(c.op, ("linear", "bmm"))
    tab = gt.build(c.take(np.flatnonzero(gemm & (c.device != "nvidia_p100_pcie_16gb"))), archs.get)
    assert "sm_6" in tab.majors() and tab.devices and "nvidia_p100_pcie_16gb" not in tab.devices
    # The P4's own shapes asked for the P100 (same major, sm_6): the P4's kernels come back.
    p4 = c.take(np.flatnonzero(gemm & (c.device == "nvidia_p4")))
    as_p100 = dataclasses.replace(p4, device=np.full(len(p4.op), "nvidia_p100_pcie_16gb"))
    f = gt.table_forces(as_p100, tab, archs.get)
    truth = gt.corpus_forces(p4)
    assert np.sum(truth >= 0) >= 8
    assert np.mean(f[truth >= 0] == truth[truth >= 0]) >= 0.9
    # Only linear/bmm rows get a code.
    assert np.all(gt.table_forces(c, tab, archs.get)[~gemm] == -1)
    # A GPU whose major no training GPU shares gets no table (the model's fastest tile).
    assert gt.arch_major("sm_90") == "sm_9" and "sm_9" not in tab.majors()


def test_event_timed_op_overlaps_host_floor_and_kernel_plus_gap():
    from augur_sim.engine.gpu_algos import op_time
    h = row()
    h[H.P_GAP] = 3e-6
    h[H.P_LAT] = 0.0       # the eager enqueue latency: checked apart below
    # p = 1: floor and kernel add; p = 2: their Euclidean norm; a large p: the longer one.
    assert op_time(27e-6, 30e-6, 1.0, h) == pytest.approx(60e-6)
    assert op_time(37e-6, 30e-6, 2.0, h) == pytest.approx(50e-6)
    assert op_time(1e-6, 30e-6, 64.0, h) == pytest.approx(30e-6, rel=1e-3)
    assert op_time(100e-6, 30e-6, 64.0, h) == pytest.approx(103e-6, rel=1e-3)
    # Eager: a long kernel also shows the host's enqueue latency on top of the gap.
    h[H.P_LAT] = 4e-6
    assert op_time(100e-6, 30e-6, 64.0, h) == pytest.approx(107e-6, rel=1e-3)
    g = gf.hw_rows(["nvidia_h200"], "pytorch-cudagraph", dict(PARAMS, gap_us=3.0))[0]
    # A graph replay: no host dispatch, only a 2 us minimum; every kernel pays the gap.
    assert g[H.P_FLOOR] == pytest.approx(2e-6)
    assert op_time(10e-6, g[H.P_FLOOR], g[H.P_OVLMM], g) == pytest.approx(13e-6, rel=1e-6)
