"""Hand-checkable tests of the cost engine on synthetic round-number devices."""

import numpy as np
import pytest

import augur_sim
from engine_util import device, processor, runtime
from hypothesis import given, settings
from hypothesis import strategies as st

from augur_sim.engine.hwrow import H_BW, H_DRAM_BW, H_PEAK, hw_row
from augur_sim.engine.kernels import PARALLEL_MIN_ROWS, cost_matrix, cost_totals
from augur_sim.engine.traffic import io_lower_bound_bytes
from augur_sim.estimator import estimate
from augur_sim.graph import GraphBuilder, Layer
from augur_sim.lowering import C_FLOPS, C_IN_BYTES, C_OUT_BYTES, C_W_BYTES, lower


def one_layer(input_shape, op, attrs, name="l"):
    b = GraphBuilder("one")
    b.add_input("x", input_shape)
    b.add_layer(Layer(name, op, attrs, ("x",), (name,)))
    return b.build()


def test_one_conv_exact_roofline_time():
    # 64 out, 3x3 over 64x28x28: M=64, N=784, K=576. Tiles of 1x1: 64*784 tiles on 4 units,
    # exactly 12544 waves, so utilisation 1 and eta = 1: t = FLOPs / 1 TFLOP/s.
    g = one_layer((1, 64, 28, 28), "conv", {"out_channels": 64, "kernel": (3, 3), "pad": (1, 1, 1, 1),
                                            "bias": False})
    est = estimate(g, device(processor(caches=((64 << 20, 1000.0),))))
    flops = 2 * 64 * 784 * 576
    conv = est.layers[1]
    assert conv.flops == flops
    assert conv.bound == "compute"
    assert conv.time_s == pytest.approx(flops / 1e12, rel=1e-12)


def test_batch1_fc_is_memory_bound_with_exact_time():
    g = one_layer((1, 4096), "fc", {"out_features": 4096, "axis": 1})
    est = estimate(g, device(processor(rt=runtime(fusion=("fc_bias",)))))
    fc = est.layers[1]
    assert fc.bound == "memory"
    weights = (4096 * 4096 + 4096) * 4
    io = 4096 * 4 * 2
    # Weights (64 MiB) do not fit the 1 MiB cache: each byte crosses once; everything in lines.
    assert fc.dram_bytes >= weights + io
    assert fc.time_s == pytest.approx(fc.dram_bytes / 100e9, rel=1e-12)
    assert fc.dram_bytes <= (weights + io) * 1.01


def test_overhead_bound_for_tiny_layers():
    g = one_layer((1, 8, 4, 4), "act", {"fn": "relu"})
    est = estimate(g, device(processor(dispatch_s=5e-6)))
    assert est.layers[1].bound == "overhead"
    assert est.layers[1].time_s >= 5e-6


@pytest.mark.parametrize("net", ["alexnet", "resnet50", "mobilenet_v2", "squeezenet1_1"])
def test_more_bandwidth_or_clock_never_slows_a_layer(net):
    g = augur_sim.load_net(net)  # the zoo ships in nets/: a failure to load is a failure
    proc = processor(units=8, caches=((32 << 10, 400.0), (1 << 20, 200.0)),
                     rt=runtime(gemm_peak=0.8, half=16.0, tile=8, dw=0.3, mem=0.8,
                                fusion=("conv_bn", "conv_relu")), dispatch_s=2e-6)
    rt = proc.runtimes["ideal"]
    low = lower(g, "fp32", rt.fusion)
    base = hw_row(proc, rt)
    rows = [base]
    for col, factor in [(H_DRAM_BW, 2.0), (H_PEAK, 2.0), (H_BW[1], 2.0), (H_DRAM_BW, 1.1)]:
        r = base.copy()
        r[col] *= factor
        rows.append(r)
    res = cost_matrix(low.rows, np.array(rows))
    t = res[:, :, 0]
    for i in range(1, len(rows)):
        assert np.all(t[i] <= t[0] * (1 + 1e-12)), f"variant {i} slowed a layer"
    assert t[2].sum() < t[0].sum()  # doubling peak helps a CNN


shapes = st.tuples(st.integers(1, 512), st.integers(1, 4096), st.integers(1, 2048), st.integers(1, 8))


@settings(max_examples=200, deadline=None)
@given(shapes, st.sampled_from([8 << 10, 256 << 10, 4 << 20]))
def test_traffic_never_below_compulsory_or_io_bound(mnkb, cache):
    m, n, k, batch = mnkb
    b = GraphBuilder("fc")
    b.add_input("x", (batch * n, k))
    b.add_layer(Layer("f", "fc", {"out_features": m, "axis": 1, "bias": False}, ("x",), ("f",)))
    g = b.build()
    proc = processor(caches=((cache, 500.0),))
    low = lower(g, "fp32")
    res = cost_matrix(low.rows, hw_row(proc, proc.runtimes["ideal"])[None, :])[0]
    r = low.rows[1]
    compulsory = r[C_IN_BYTES] + r[C_OUT_BYTES] + r[C_W_BYTES]
    assert res[1, 3] >= compulsory
    assert res[1, 3] >= io_lower_bound_bytes(m, batch * n, k, 1, 4, cache) - 1e-6


def test_energy_adds_flops_bytes_and_static_power():
    g = one_layer((1, 64, 28, 28), "conv", {"out_channels": 64, "kernel": (3, 3), "pad": (1, 1, 1, 1),
                                            "bias": False})
    est0 = estimate(g, device(processor(caches=((64 << 20, 1000.0),), static_w=0.0)))
    est1 = estimate(g, device(processor(caches=((64 << 20, 1000.0),), static_w=10.0)))
    conv0, conv1 = est0.layers[1], est1.layers[1]
    assert conv0.energy_j == pytest.approx(conv0.flops * 1e-12 + conv0.dram_bytes * 100e-12, rel=1e-9)
    assert conv1.energy_j - conv0.energy_j == pytest.approx(10.0 * conv0.time_s, rel=1e-9)


def test_fusion_removes_intermediate_traffic_and_kernels():
    b = GraphBuilder("cbr")
    b.add_input("x", (1, 32, 56, 56))
    b.add_layer(Layer("c", "conv", {"out_channels": 32, "kernel": (3, 3), "pad": (1, 1, 1, 1)}, ("x",), ("c",)))
    b.add_layer(Layer("bn", "batchnorm", {"affine": True}, ("c",), ("bn",)))
    b.add_layer(Layer("r", "act", {"fn": "relu"}, ("bn",), ("r",)))
    g = b.build()
    plain = lower(g, "fp32", ("conv_bias",))
    fused = lower(g, "fp32", ("conv_bias", "conv_bn", "conv_relu"))
    assert plain.n == 4 and fused.n == 2
    assert fused.kernels[1].layers == ("c", "bn", "r")
    assert fused.rows[1, C_FLOPS] == plain.rows[1:, C_FLOPS].sum()
    p_fused = processor(dispatch_s=1e-6, rt=runtime(fusion=("conv_bias", "conv_bn", "conv_relu")))
    p_plain = processor(dispatch_s=1e-6, rt=runtime(fusion=("conv_bias",)))
    e_f, e_p = estimate(g, device(p_fused)), estimate(g, device(p_plain))
    assert e_f.total.time_s < e_p.total.time_s
    assert e_f.total.dram_bytes < e_p.total.dram_bytes
    assert [l.bound for l in e_f.layers[2:]] == ["fused", "fused"]
    assert e_f.assumptions["fusion_rules"] == ["conv_bias", "conv_bn", "conv_relu"]


def test_serial_and_parallel_totals_equal_the_per_kernel_sums():
    g = augur_sim.load_net("resnet18")
    proc = processor(units=8, caches=((32 << 10, 400.0), (1 << 20, 200.0)), dispatch_s=1e-6,
                     rt=runtime(gemm_peak=0.8, half=16.0, tile=8, dw=0.3, mem=0.8))
    low = lower(g, "fp32")
    base = hw_row(proc, proc.runtimes["ideal"])
    rows = np.repeat(base[None, :], 300, axis=0)
    rows[:, H_DRAM_BW] *= np.linspace(0.5, 4.0, 300)
    assert len(rows) >= PARALLEL_MIN_ROWS  # all rows at once: the parallel path
    par = cost_totals(low.rows, rows)
    ser = np.concatenate([cost_totals(low.rows, rows[i:i + 1]) for i in range(len(rows))])  # one row: serial
    assert np.array_equal(ser, par)
    per = cost_matrix(low.rows, rows[:3])
    assert np.allclose(ser[:3, 0], per[:, :, 0].sum(axis=1), rtol=1e-12)
    assert np.allclose(ser[:3, 1], per[:, :, 3].sum(axis=1), rtol=1e-12)
    assert np.all(np.diff(ser[:, 0]) <= 1e-15)  # more bandwidth never slows the network


def test_runtime_without_conv_bias_pays_a_separate_bias_pass():
    g = one_layer((1, 64, 28, 28), "conv", {"out_channels": 64, "kernel": (3, 3), "pad": (1, 1, 1, 1)})
    folded = lower(g, "fp32", ("conv_bias",))
    apart = lower(g, "fp32", ())
    assert folded.n == 2 and apart.n == 3
    aux = apart.kernels[-1]
    assert aux.aux and aux.name == "l" and apart.rows[-1, C_FLOPS] == 64 * 28 * 28
    # FLOPs move, they are not added twice.
    assert apart.rows[:, C_FLOPS].sum() == folded.rows[:, C_FLOPS].sum()
    e_f = estimate(g, device(processor(dispatch_s=2e-6, rt=runtime(fusion=("conv_bias",)))))
    e_a = estimate(g, device(processor(dispatch_s=2e-6)))
    conv_f, conv_a = e_f.layers[1], e_a.layers[1]
    # The pass costs one more dispatch and a read and write of the output, charged to the conv.
    assert conv_a.time_s > conv_f.time_s + 2e-6 * 0.99
    assert e_a.total.time_s == pytest.approx(sum(l.time_s for l in e_a.layers), rel=1e-12)
