"""A network under the pytorch-eager kernel model is an asynchronous pipeline (issue 11):
the host issues op after op, the GPU starts each op at the later of the previous op's end
and the op's issue (engine/gpu_algos.pipeline_step). Hand-checked cases, the engine's
wiring, and what must not move (CUDA-graph rows, the corpus' single-op rows)."""
from __future__ import annotations

import numpy as np
import pytest

from augur_sim.engine import hwrow as H
from augur_sim.engine.gpu_algos import host_issue_time, kernel_time, pipeline_step
from augur_sim.engine.kernels import cost_matrix, cost_totals
from augur_sim.evaluate import lowered, resolve_target
from augur_sim.frontends import load_net
from augur_sim.lowering import C_CLS, NOOP
from augur_sim.measure.gpu_fit import hw_rows
from augur_sim.hw.kmodel import class_params, load_fit

NET = "resnet50"


def stream_row():
    """One element-wise lowered row (a ReLU of resnet50): class, not size, matters here."""
    t = resolve_target("nvidia_h200", runtime="pytorch-eager")
    low = lowered(load_net(NET), "fp16", t.fusion)
    cls = low.rows[:, C_CLS]
    for r in low.rows:
        h = np.array(t.row("fp16"))
        if int(r[C_CLS]) != NOOP and host_issue_time(r, h) == h[H.P_HOST]:
            return r, h
    raise AssertionError(f"{NET} has no plain stream row ({np.unique(cls)})")


def run(gpu_us, host_us):
    r, h = stream_row()
    h = h.copy()
    h[H.P_HOST] = host_us * 1e-6
    clock = np.zeros(2)
    added = [pipeline_step(r, h, g * 1e-6, clock) for g in gpu_us]
    return np.array(added) * 1e6, clock * 1e6


def test_host_slower_costs_host_chain_plus_last_gpu_op():
    # Host 10 us per op, GPU 3 us: the GPU waits for each issue; end = 3 x 10 + 3.
    added, clock = run([3.0, 3.0, 3.0], 10.0)
    assert clock[1] == pytest.approx(33.0)
    assert added.sum() == pytest.approx(33.0)
    assert added == pytest.approx([13.0, 10.0, 10.0])
    assert clock[0] == pytest.approx(30.0)


def test_gpu_slower_costs_first_issue_plus_gpu_chain():
    # Host 10 us per op, GPU 20 us: after the first issue the GPU never waits; 10 + 3 x 20.
    added, clock = run([20.0, 20.0, 20.0], 10.0)
    assert clock[1] == pytest.approx(70.0)
    assert added == pytest.approx([30.0, 20.0, 20.0])


def test_mixed_op_waits_only_where_host_is_behind():
    # GPU 25, 2, 2 us; host 10 us: op 2 starts at 35 (GPU busy until then), op 3 at 37 >= 30.
    added, clock = run([25.0, 2.0, 2.0], 10.0)
    assert clock[1] == pytest.approx(39.0)


def test_engine_total_is_the_recurrence_over_gpu_times():
    """cost_matrix / cost_totals on a real H200 eager row equal the recurrence run by hand
    on the per-op GPU times (the row with the pipeline switched off) and host issue times."""
    t = resolve_target("nvidia_h200", runtime="pytorch-eager")
    low = lowered(load_net(NET), "fp16", t.fusion)
    h = np.array(t.row("fp16"))
    assert h[H.H_ASYNC] == 1.0 and h[H.P_FLOOR] == 0.0 and h[H.P_LAT] == 0.0
    assert h[H.P_HOST] == pytest.approx(7.20e-6)          # the spec's host measurement
    gpu_only = h.copy()
    gpu_only[H.H_ASYNC] = 0.0
    g = cost_matrix(low.rows, gpu_only[None, :])[0, :, 0]
    host = gpu = 0.0
    for r, gs in zip(low.rows, g):
        if int(r[C_CLS]) == NOOP:
            continue
        host += host_issue_time(r, h)
        gpu = max(gpu, host) + gs
    m = cost_matrix(low.rows, h[None, :])[0]
    assert m[:, 0].sum() == pytest.approx(gpu, rel=1e-12)
    assert cost_totals(low.rows, h[None, :])[0, 0] == pytest.approx(gpu, rel=1e-12)
    # The pipeline hides host time behind the GPU: never more than host + GPU serially.
    serial = sum(host_issue_time(r, h) for r in low.rows) + g.sum()
    assert g.sum() < gpu < serial


def test_cudagraph_rows_are_unchanged():
    """A CUDA-graph row has no pipeline: each op costs its kernel_time, summed."""
    t = resolve_target("nvidia_h200", runtime="pytorch-cudagraph")
    low = lowered(load_net(NET), "fp16", t.fusion)
    h = np.array(t.row("fp16"))
    assert h[H.H_ASYNC] == 0.0
    per_op = [kernel_time(r, h, -1)[0] for r in low.rows]
    assert cost_totals(low.rows, h[None, :])[0, 0] == pytest.approx(sum(per_op), rel=1e-12)
    assert np.array_equal(cost_matrix(low.rows, h[None, :])[0, :, 0], np.array(per_op))


def test_corpus_rows_keep_the_synchronous_floor():
    """measure/gpu_fit's rows (one op timed alone) keep the eager dispatch floor."""
    params = class_params(load_fit("pytorch"), "sm_70")
    h = hw_rows(["nvidia_v100_pcie_32gb"], "pytorch-eager", params)[0]
    assert h[H.H_ASYNC] == 0.0
    assert h[H.P_FLOOR] == pytest.approx(params["floor_us"] * 1e-6)
    assert h[H.P_LAT] == pytest.approx(params["lat_us"] * 1e-6)


def test_default_host_is_the_corpus_enqueue_latency():
    """A GPU whose spec carries no host measurement issues at the corpus' lat_us per op."""
    t = resolve_target("nvidia_v100_pcie_32gb", runtime="pytorch-eager")
    h = np.array(t.row("fp32"))
    params = class_params(load_fit("pytorch"), "sm_70")
    assert h[H.H_ASYNC] == 1.0
    assert h[H.P_HOST] == pytest.approx(params["lat_us"] * 1e-6)
    assert h[H.P_HCONV] == pytest.approx(params["floor_conv_x"])
