"""Back half: estimating a loaded network on one device, on 1,000 device variants, and
sweeps; plus the issue's end-to-end targets.

The estimate API caches the lowering (graph -> kernel arrays) on the graph object
(augur_sim.evaluate.lowered), so estimating the same graph twice skips it. Both paths are
timed: "cached" reuses the graph (what a what-if loop or a server does), "uncached"
drops the cache before each call (what a fresh graph pays).
"""
from __future__ import annotations

import numpy as np
import pytest
from benchutil import DEVICE, SIZE_IDS, SIZES, label

from augur_sim.engine.hwrow import H_DRAM_BW, H_PEAK, hw_row, pick_processor, pick_runtime
from augur_sim.engine.kernels import cost_totals
from augur_sim.estimator import estimate
from augur_sim.evaluate import lowered
from augur_sim.explore import sweep as S
from augur_sim.explore.whatif import grid, parse_vary
from augur_sim.frontends import load_net
from augur_sim.frontends.onnx import load_onnx
from augur_sim.hw import load_hw
from augur_sim.memo import per_graph

N_VARIANTS = 1000
SWEEP_DEVICES = ["jetson_tx2", "jetson_nano", "raspberry_pi_4", "nvidia_t4", "nvidia_a100",
                 "snapdragon_855"]


@pytest.fixture(scope="module")
def device():
    return load_hw(DEVICE)


def _drop_lowering(graph):
    # Lowerings are cached beside the graph in augur_sim.memo; drop those only. Counts and
    # footprints stay cached, as they did when this benchmark was set (before the redesign it
    # popped the graph's `_lowered` attribute alone), so its numbers compare across versions.
    per_graph(graph, "lowered").clear()


@pytest.mark.parametrize("size", SIZE_IDS)
def test_estimate_cached(benchmark, size, device):
    """estimate() of a pre-loaded graph on one device, lowering cached (after one warm-up
    call, which also loads the numba kernels)."""
    net = SIZES[size][0]
    g = load_net(net)
    estimate(g, device)  # warm-up
    est = benchmark(estimate, g, device)
    target = 200e-6 if net == "resnet50" else None
    label(benchmark, "estimate, graph loaded, lowering cached", net, size, target_s=target)
    assert est.total.time_s > 0 and est.total.peak_memory_bytes > 0


@pytest.mark.parametrize("size", SIZE_IDS)
def test_estimate_uncached(benchmark, size, device):
    """The same with the graph's lowering dropped before each call (lower + cost + assemble)."""
    net = SIZES[size][0]
    g = load_net(net)
    ref = estimate(g, device)  # warm-up
    _drop_lowering(g)
    est = benchmark.pedantic(estimate, args=(g, device), setup=lambda: _drop_lowering(g),
                             rounds=30 if size != "large" else 15, warmup_rounds=1)
    label(benchmark, "estimate, graph loaded, lowering not cached", net, size)
    assert est.total.time_s == ref.total.time_s


def _variant_rows(device, n: int) -> tuple[object, np.ndarray]:
    """n hardware rows derived from the device's default processor by scaling DRAM
    bandwidth (0.25x..4x) and peak FLOP/s (a clock scale, 0.5x..2x) on a 40 x 25 grid."""
    proc = pick_processor(device, None)
    rt = pick_runtime(proc, None)
    base = hw_row(proc, rt, "fp32")
    bw = np.geomspace(0.25, 4.0, 40)
    clk = np.linspace(0.5, 2.0, n // 40)
    rows = np.tile(base, (n, 1))
    rows[:, H_DRAM_BW] *= np.repeat(bw, n // 40)
    rows[:, H_PEAK] *= np.tile(clk, 40)
    return rt, rows


@pytest.mark.parametrize("size", SIZE_IDS)
def test_estimate_1000_variants(benchmark, size, device):
    """One cost_totals call: the lowered network against 1,000 hardware rows."""
    net = SIZES[size][0]
    rt, rows = _variant_rows(device, N_VARIANTS)
    low = lowered(load_net(net), "fp32", rt.fusion)
    cost_totals(low.rows, rows[:2])  # compile or load the numba cache outside the timing
    res = benchmark(cost_totals, low.rows, rows)
    label(benchmark, f"cost_totals x {N_VARIANTS} hw rows", net, size, variants=N_VARIANTS)
    t = res[:, 0]
    # More bandwidth and clock can only help: the fastest corner beats the slowest.
    assert res.shape == (N_VARIANTS, 4) and np.all(t > 0) and t[-1] < t[0]


@pytest.mark.parametrize("size", SIZE_IDS)
def test_whatif_grid_1000(benchmark, size, device):
    """The same study through the what-if API: a 40 x 25 --vary grid of the GPU's DRAM
    bandwidth and clock (rows derived and spot-checked against exact re-validation)."""
    net = SIZES[size][0]
    g = load_net(net)
    axes = [parse_vary("gpu.dram_bw_gbs=15:240:40:log"), parse_vary("gpu.clock_ghz=0.65:2.6:25")]
    grid(g, device, axes)  # warm-up (lowering cached on g, as in estimate_cached)
    res = benchmark.pedantic(grid, args=(g, device, axes), rounds=5, warmup_rounds=0)
    label(benchmark, f"whatif.grid, {N_VARIANTS} points", net, size, variants=N_VARIANTS)
    assert res.time_s.shape == (N_VARIANTS,) and res.method == "derived"
    assert res.time_s[-1] < res.time_s[0]


@pytest.mark.parametrize("size", SIZE_IDS)
def test_sweep(benchmark, size, tmp_path):
    """run_sweep of one zoo network x 6 devices (default processor) x batch 1, 8 x fp32, fp16,
    written to Parquet; local backend. The sweep keeps parsed descriptors per process, so
    rounds after the first reuse the graph, as a long sweep would."""
    net = SIZES[size][0]
    nets = S.expand_nets([net])
    devs = S.expand_hw(SWEEP_DEVICES)
    counter = iter(range(10**6))

    def run():
        return S.run_sweep(nets, devs, [1, 8], ["fp32", "fp16"], tmp_path / f"s{next(counter)}.parquet",
                           jobs=1)
    run()  # warm-up: descriptor parsed, numba kernels loaded
    summ = benchmark.pedantic(run, rounds=3, warmup_rounds=0)
    label(benchmark, "sweep: 1 net x 6 devices x 2 batches x 2 precisions", net, size,
          rows=summ.rows_in_file)
    assert summ.rows_in_file == 4 * len(devs) == summ.rows_written


def test_target_resnet50_estimate(benchmark, device):
    """Issue target: one estimate of ResNet-50 on one device after warm-up, under 200 us
    (graph loaded, lowering cached; the uncached path is test_estimate_uncached)."""
    g = load_net("resnet50")
    estimate(g, device)
    est = benchmark(estimate, g, device)
    label(benchmark, "estimate ResNet-50 on jetson_tx2 (cached lowering)", "resnet50", "medium",
          target_s=200e-6)
    assert 1e-3 < est.total.time_s < 10.0


def test_target_resnet50_onnx_import_estimate(benchmark, onnx_models, device):
    """Issue target: import ResNet-50 from an ONNX file (97 MB with weights) and estimate
    it on one device, under 50 ms. A fresh graph each round, so nothing is cached."""
    path = onnx_models["resnet50"]
    estimate(load_onnx(path), device)  # warm-up

    def run():
        return estimate(load_onnx(path), device)
    est = benchmark.pedantic(run, rounds=10, warmup_rounds=0)
    label(benchmark, "import ResNet-50 .onnx + estimate", "resnet50", "medium", target_s=0.050)
    assert est.total.macs > 4e9
