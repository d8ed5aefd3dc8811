"""Sweep speed: cost evaluations per second, and a generated-network sweep end to end.

Run: pytest bench/bench_sweep.py --benchmark-only. Numbers, not pass/fail thresholds.
"""
import os

import numpy as np
import pytest

from augur_sim.engine.hwrow import hw_row, pick_processor, pick_runtime
from augur_sim.engine.kernels import cost_totals
from augur_sim.evaluate import lowered
from augur_sim.explore import sweep as S
from augur_sim.frontends import load_net
from augur_sim.hw import load_hw

N_HW = 10_000
DEVS = ["jetson_nano", "nvidia_t4", "raspberry_pi_4", "nvidia_a100"]


def _hw_rows(n):
    dev = load_hw("jetson_nano")
    proc = pick_processor(dev, None)
    rt = pick_runtime(proc, None)
    base = hw_row(proc, rt, "fp32")
    rows = np.tile(base, (n, 1))
    # Spread bandwidth and clock so the rows are not one point repeated.
    rng = np.random.default_rng(0)
    rows[:, 2] *= rng.uniform(0.25, 4.0, n)
    rows[:, 0] *= rng.uniform(0.5, 2.0, n)
    return rt, rows


def test_resnet50_against_10k_hw_rows(benchmark):
    """Estimates/s: one ResNet-50 lowering against 10,000 hardware rows in one cost_totals call."""
    rt, rows = _hw_rows(N_HW)
    low = lowered(load_net("resnet50"), "fp32", rt.fusion)
    cost_totals(low.rows, rows[:2])  # compile / load the numba cache outside the timing
    res = benchmark(cost_totals, low.rows, rows)
    assert res.shape == (N_HW, 4) and np.all(res[:, 0] > 0)
    if benchmark.stats:  # None under --benchmark-disable (the smoke run)
        mean = benchmark.stats.stats.mean
        cores = os.cpu_count() or 1
        benchmark.extra_info["estimates_per_s"] = N_HW / mean
        benchmark.extra_info["estimates_per_s_per_core"] = N_HW / mean / cores


@pytest.mark.parametrize("n_nets", [500])
def test_generated_sweep(benchmark, tmp_path, n_nets):
    """Generation + lowering + evaluation of n_nets generated networks on 4 devices, local."""
    devs = S.expand_hw(DEVS)
    nets = S.generated_specs([("resnet", n_nets // 2), ("mobilenet", n_nets - n_nets // 2)], seed=0)
    counter = iter(range(10**6))

    def run():
        out = tmp_path / f"r{next(counter)}.parquet"
        return S.run_sweep(nets, devs, [1], ["fp32"], out)
    summ = benchmark.pedantic(run, rounds=1, iterations=1)
    assert summ.rows_in_file == n_nets * len(DEVS)
    if benchmark.stats:  # None under --benchmark-disable (the smoke run)
        benchmark.extra_info["nets_per_s"] = n_nets / benchmark.stats.stats.mean
