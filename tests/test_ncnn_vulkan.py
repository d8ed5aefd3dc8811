"""The ncnn-vulkan (GPU) runtime: shader choice, work, costs worked out by hand, fp16, the fit, the CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from augur_sim.engine.ncnn_vulkan import (
    NVH,
    NVP,
    V_ACT_ELEMS,
    V_ALGO,
    V_DISPATCH,
    V_FLOPS,
    V_W_ELEMS,
    V_XFORM,
    VA_DIRECT,
    VA_DW,
    VA_GEMM1X1,
    VA_WINO23,
    VA_WINO43,
    VH_BW,
    VH_EB,
    VH_PEAK,
    VK_FUSION,
    VK_INIT_LOG,
    VK_PARAM_NAMES,
    VP_DISPATCH_US,
    VP_GEMM,
    VP_MEM,
    VP_WINO,
    VP_XFORM,
    load_vk_fit,
    vk_hw,
    vk_kernel_costs,
    vk_rows,
    wino_variant,
    wino_work,
)
from augur_sim.errors import AugurError
from augur_sim.frontends import load_net
from augur_sim.hw import load_hw
from augur_sim.lowering import lower

SPEC = """\
name: {name}
description: "a tiny GPU for hand-checked tests"
memory_gib: 1                                  # estimate: test
sources:
  - {{id: t, ref: "test"}}
processors:
  gpu:
    kind: gpu
    units: 1                                   # estimate: test
    clock_ghz: 1.0                             # estimate: test
    flop_per_cycle_per_unit: {{fp32: 100, fp16: {fp16}}}   # estimate: test
    caches: []
    dram_bw_gbs: 10                            # estimate: test
    overheads: {{dispatch_us: 10}}             # estimate: test
    energy: {{pj_per_flop: {{fp32: 10}}, dram_pj_per_byte: 30, cache_pj_per_byte: [], static_w: 1}}  # estimate: test
    vulkan: {{class: nvidia, fp16_storage: true, fp16_arithmetic: {arith}, discrete: true}}  # estimate: test
    runtimes:
      r: {{stack: x, source: "estimate: x", gemm_peak: 0.4, gemm_half_m: 64, gemm_half_n: 256, gemm_half_k: 32, tile_m: 64, tile_n: 64, dw_conv: 0.2, mem: 0.6, fusion: [conv_bias]}}
    default_runtime: r
"""


def tiny_gpu(tmp_path, fp16=200, arith=True, name="tiny_gpu"):
    p = tmp_path / f"{name}.yaml"
    p.write_text(SPEC.format(name=name, fp16=fp16, arith=str(arith).lower()), encoding="utf-8")
    return load_hw(str(p)).processor("gpu")


def net(tmp_path, lines, name="n"):
    p = tmp_path / f"{name}.param"
    p.write_text(f"7767517\n{len(lines)} {len(lines)}\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return load_net(str(p))


def rows(g, discrete=True):
    return vk_rows(g, lower(g, "fp32", VK_FUSION), discrete)


def params(**kw):
    p = np.exp(VK_INIT_LOG.copy())
    for k, v in kw.items():
        p[VK_PARAM_NAMES.index(k)] = v
    return p


def test_pointwise_conv_time_worked_out_by_hand(tmp_path):
    # 16 -> 32 channels, 1x1, on an 8x8 plane, with a bias: the 1x1 shader (a GEMM).
    g = net(tmp_path, ["Input data 0 1 data 0=8 1=8 2=16", "Convolution conv 1 1 data out 0=32 1=1 5=1 6=512"])
    vr = rows(g)
    k = [i for i, a in enumerate(vr.algos) if a != "noop"]
    assert len(k) == 1 and int(vr.x[k[0], V_ALGO]) == VA_GEMM1X1
    x = vr.x[k[0]]
    assert x[V_FLOPS] == 2 * 8 * 8 * 16 * 32                     # 65,536 FLOPs
    assert x[V_ACT_ELEMS] == 16 * 64 + 32 * 64                   # 3,072 elements in and out
    assert x[V_W_ELEMS] == 512 + 32                              # weights and bias
    assert x[V_DISPATCH] == 1
    hw = vk_hw(tiny_gpu(tmp_path))
    assert hw.row[VH_PEAK] == 200e9 and hw.row[VH_EB] == 2
    p = params(eff_gemm=0.5, mem_eff=0.5, dispatch_us=10.0)
    t, comp, mem, over, nbytes = vk_kernel_costs(vr.x[k[0]:k[0] + 1], hw.row, p)[0]
    # compute = 65,536 / (0.5 x 200e9) = 0.65536 us
    assert comp == pytest.approx(65536 / (0.5 * 200e9), rel=1e-12)
    # memory = (3,072 + 544) elements x 2 B / (0.5 x 10 GB/s) = 7,232 B / 5e9 = 1.4464 us
    assert nbytes == 7232 and mem == pytest.approx(1.4464e-6, rel=1e-12)
    assert over == pytest.approx(10e-6, rel=1e-12)
    assert t == pytest.approx(1.4464e-6 + 10e-6, rel=1e-12)                   # memory-bound + dispatch


def test_a_small_layer_runs_at_its_class_efficiency_whatever_its_invocation_count(tmp_path):
    """No fill rule (ncnn_vulkan's docstring: the fitted and the bound forms were no better held
    out): 16 -> 32 channels 1x1 on a 2x2 plane is 32 invocations on the tiny GPU's 50 lanes, and
    its compute time is still FLOPs / (eff x peak); a 64x larger plane takes 64x the time."""
    small = net(tmp_path, ["Input data 0 1 data 0=2 1=2 2=16", "Convolution conv 1 1 data out 0=32 1=1 5=1 6=512"],
                name="small")
    large = net(tmp_path, ["Input data 0 1 data 0=16 1=16 2=16", "Convolution conv 1 1 data out 0=32 1=1 5=1 6=512"],
                name="large")
    hw = vk_hw(tiny_gpu(tmp_path)).row
    comp = []
    for g in (small, large):
        vr = rows(g)
        x = vr.x[[i for i, a in enumerate(vr.algos) if a != "noop"]]
        comp.append(vk_kernel_costs(x, hw, params(eff_gemm=0.5))[0][1])
    assert comp[0] == pytest.approx(2 * 4 * 16 * 32 / (0.5 * 200e9), rel=1e-12)
    assert comp[1] == pytest.approx(64 * comp[0], rel=1e-12)


def test_fp16_arithmetic_halves_compute_only_where_the_gpu_has_it(tmp_path):
    g = net(tmp_path, ["Input data 0 1 data 0=64 1=64 2=256", "Convolution conv 1 1 data out 0=256 1=1 5=1 6=65536"])
    vr = rows(g)
    p = params(eff_gemm=0.5, mem_eff=1.0)
    x = vr.x[[i for i, a in enumerate(vr.algos) if a != "noop"]]
    with16 = vk_kernel_costs(x, vk_hw(tiny_gpu(tmp_path, fp16=200, arith=True, name="a")).row, p)[0]
    without = vk_kernel_costs(x, vk_hw(tiny_gpu(tmp_path, fp16=200, arith=False, name="b")).row, p)[0]
    same_rate = vk_kernel_costs(x, vk_hw(tiny_gpu(tmp_path, fp16=100, arith=True, name="c")).row, p)[0]
    assert with16[1] == pytest.approx(without[1] / 2, rel=1e-9)   # packed half2: twice the FLOPs per cycle
    assert same_rate[1] == pytest.approx(without[1], rel=1e-9)    # fp16 on the fp32 lanes (GA10x-like): no gain
    assert with16[2] == pytest.approx(without[2], rel=1e-12)      # memory is fp16 in both (fp16 storage)


def test_winograd_variant_and_work_by_hand(tmp_path):
    # create_pipeline/forward: F(2,3) on small planes (discrete: padded side <= 24, not 22; others: <= 12)
    assert wino_variant(10, 10, True) == VA_WINO23 and wino_variant(26, 26, True) == VA_WINO43
    assert wino_variant(22, 10, True) == VA_WINO43
    assert wino_variant(14, 14, False) == VA_WINO43 and wino_variant(12, 12, False) == VA_WINO23
    # F(2,3), 16 -> 16 channels, 8x8 output: 16 tiles of 4x4; GEMM 2 x 16 x 16 x 16 x 16 = 131,072;
    # transforms 2 x 16 x (16 x 2 x 64 + 16 x (2 x 16 + 4 x 4)) = 2 x 16 x (2,048 + 768) = 90,112
    gemm, xform, buf, tiles, extra = wino_work(VA_WINO23, 16, 16, 8, 8)
    assert tiles == 16 and (gemm, xform) == (131072, 90112)
    assert buf == 2 * 16 * 16 * 32 and extra == 0           # whole tiles: no tile padding, no crop
    # F(4,3) on a 14x14 output: 4 x 4 = 16 tiles of 6x6, ragged (14 % 4 != 0): pad + crop dispatches
    gemm, xform, _, tiles, extra = wino_work(VA_WINO43, 16, 32, 14, 14)
    assert tiles == 16 and extra == 2
    assert gemm == 2 * 16 * 36 * 16 * 32 and xform == 2 * 16 * (16 * 2 * 216 + 32 * (4 * 36 + 16 * 6))
    # In a network: a padded 3x3 conv, 16 -> 16 at 8x8, on a discrete GPU runs F(2,3): a Padding
    # dispatch plus three; weights stored transformed (16 / 9 of the 3x3 kernel's).
    g = net(tmp_path, ["Input data 0 1 data 0=8 1=8 2=16",
                       "Convolution conv 1 1 data out 0=16 1=3 4=1 5=0 6=2304"], name="w")
    vr = rows(g)
    i = vr.algos.index("vk_winograd23")
    assert vr.x[i, V_DISPATCH] == 4 and vr.x[i, V_W_ELEMS] == pytest.approx(2304 * 16 / 9)
    # the row keeps the GEMM's and the transforms' FLOPs apart (the 16 -> 16, 8x8 layer above),
    # and the fitted transform cost multiplies only the transforms' share of the compute time
    assert (vr.x[i, V_FLOPS], vr.x[i, V_XFORM]) == (131072, 90112)
    hrow = np.zeros(NVH)
    hrow[VH_PEAK], hrow[VH_BW], hrow[VH_EB] = 1e12, 1e15, 2.0
    p = np.exp(VK_INIT_LOG)
    t = {}
    for c in (1.0, 50.0):
        p[VP_XFORM] = c
        t[c] = vk_kernel_costs(vr.x[i:i + 1], hrow, p)[0][1]
    assert t[1.0] == pytest.approx((131072 + 90112) / (p[VP_WINO] * 1e12), rel=1e-12)
    assert t[50.0] == pytest.approx((131072 + 50 * 90112) / (p[VP_WINO] * 1e12), rel=1e-12)


def test_shader_choice_for_narrow_and_grouped_convs(tmp_path):
    g = net(tmp_path, ["Input data 0 1 data 0=16 1=16 2=3",
                       "Convolution stem 1 1 data a 0=16 1=3 3=2 4=1 5=1 6=432",
                       "ConvolutionDepthWise dw 1 1 a b 0=16 1=3 4=1 5=1 6=144 7=16"], name="s")
    vr = rows(g)
    algos = [int(a) for a in vr.x[:, V_ALGO] if a > 0]
    assert algos == [VA_DIRECT, VA_DW]                # 3-channel stem: direct shader; depthwise: its own


def test_reduction_runs_on_the_cpu_at_the_fallback_cost(tmp_path):
    from augur_sim.engine.ncnn_vulkan import VA_CPU, VP_FALLBACK_US
    # A global mean over a 32 x 8 x 8 blob (Reduction op 3 = mean over axes 1,2): no Vulkan shader
    # in the corpus' ncnn releases, so a CPU fallback: 300 us + (2,048 + 32) elements x 2 B at 0.5 x 10 GB/s.
    g = net(tmp_path, ["Input data 0 1 data 0=8 1=8 2=32",
                       "Reduction r 1 1 data out 0=3 1=0 -23303=2,1,2 4=1 5=1"], name="r")
    vr = rows(g)
    i = vr.algos.index("cpu_fallback")
    assert int(vr.x[i, V_ALGO]) == VA_CPU
    p = params(mem_eff=0.5, cpu_fallback_us=300.0)
    t, _, mem, over, nbytes = vk_kernel_costs(vr.x[i:i + 1], vk_hw(tiny_gpu(tmp_path)).row, p)[0]
    assert nbytes == (2048 + 32) * 2 and over == pytest.approx(300e-6) and p[VP_FALLBACK_US] == 300.0
    assert t == pytest.approx(300e-6 + 4160 / 5e9, rel=1e-12)


def test_innerproduct_on_one_row_is_a_gemv_and_on_many_a_gemm(tmp_path):
    one = net(tmp_path, ["Input data 0 1 data 0=64", "InnerProduct fc 1 1 data out 0=16 1=0 2=1024"], name="fc1")
    many = net(tmp_path, ["Input data 0 1 data 0=64 1=8", "InnerProduct fc 1 1 data out 0=16 1=0 2=1024"],
               name="fc8")
    assert "vk_innerproduct" in rows(one).algos
    vr = rows(many)                                   # 8 token rows x 64 -> 16: the GEMM shader
    i = vr.algos.index("vk_matmul")
    assert vr.x[i, V_FLOPS] == 2 * 8 * 64 * 16


def test_quantised_network_is_refused(tmp_path):
    g = net(tmp_path, ["Input data 0 1 data 0=8 1=8 2=16",
                       "Convolution conv 1 1 data out 0=16 1=1 5=0 6=256 8=2"], name="q")
    with pytest.raises(AugurError, match="int8"):
        rows(g)


def test_cpu_or_plain_gpu_processor_is_refused(tmp_path):
    with pytest.raises(AugurError, match="models GPUs"):
        vk_hw(load_hw("rockchip_rk3588").processor("cpu"))
    with pytest.raises(AugurError, match="no ncnn-vulkan figures"):
        vk_hw(load_hw("nvidia_t4").processor("gpu"))


def synthetic(n_classes=3, seed=0):
    """Work rows with compute-, memory- and dispatch-bound kernels, GPUs of several classes, and
    times generated from known parameters."""
    from augur_sim.engine.ncnn_vulkan import NVH, NVX, VA_GEMM, VA_STREAM, VH_CLASS
    from augur_sim.measure.ncnn_vulkan_fit import VkData
    rng = np.random.default_rng(seed)
    nets = []
    for n in range(6):
        k = 12 + 4 * n
        x = np.zeros((k, NVX))
        if n >= 4:
            # dispatch-bound networks: many tiny kernels (20 and 60 of them)
            k = 20 if n == 4 else 60
            x = np.zeros((k, NVX))
            x[:, V_ALGO] = VA_STREAM
            x[:, V_FLOPS], x[:, V_ACT_ELEMS], x[:, V_DISPATCH] = 1e3, 1e3, 1.0
            nets.append(x)
            continue
        for i in range(k):
            kind = i % 3
            x[i, V_ALGO] = (VA_GEMM, VA_WINO23, VA_STREAM)[kind]
            x[i, V_FLOPS] = (10 ** rng.uniform(7, 9.5)) if kind < 2 else 1e3
            x[i, V_ACT_ELEMS] = 10 ** rng.uniform(4, 7.5)
            x[i, V_DISPATCH] = 1 + (i % 4 == 0) * 3
        nets.append(x)
    sizes = np.array([len(x) for x in nets])
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    hws, cls, net_of, grp = [], [], [], []
    for gpu in range(12):
        h = np.zeros(NVH)
        h[VH_PEAK] = 10 ** rng.uniform(10.5, 13.5)
        h[VH_BW] = 10 ** rng.uniform(10, 11.8)
        h[VH_EB] = 2.0
        c = gpu % n_classes
        h[VH_CLASS] = c
        for n in range(len(nets)):
            hws.append(h)
            cls.append(c)
            net_of.append(n)
            grp.append(gpu)
    g_true = np.log(params(eff_gemm=0.3, eff_winograd=0.2, mem_eff=0.5, dispatch_us=15.0))
    d_true = np.zeros((n_classes, NVP))
    d_true[1, VP_GEMM] = math.log(0.5)
    d_true[2, VP_DISPATCH_US] = math.log(2.0)
    data = VkData(np.vstack(nets), start.astype(np.int64), (start + sizes).astype(np.int64),
                  np.array(net_of, dtype=np.int64), np.array(hws), np.array(cls, dtype=np.int64), np.ones(len(cls)),
                  tuple(f"c{i}" for i in range(n_classes)), np.array(grp, dtype=np.int64),
                  tuple(map(str, range(12))), np.ones(len(cls)))
    from augur_sim.measure.ncnn_vulkan_fit import predict_ms
    data.y_ms = predict_ms(data, g_true, d_true)
    return data, g_true, d_true


def test_fit_recovers_known_parameters_from_synthetic_data():
    from augur_sim.measure.ncnn_vulkan_fit import fit, predict_fit
    data, g_true, d_true = synthetic()
    res = fit(data, lam=1e-4, huber=10.0, iters=200, tol=1e-12)
    pred = predict_fit(data, res)
    assert np.max(np.abs(np.log(pred / data.y_ms))) < 0.01
    for cls in range(3):
        got = res.params(f"c{cls}", discrete=False)   # every synthetic GPU is integrated (VH_DISCRETE 0)
        want = np.exp(g_true + d_true[cls])
        for k in (VP_GEMM, VP_WINO, VP_MEM, VP_DISPATCH_US):
            assert got[k] == pytest.approx(want[k], rel=0.05), (cls, VK_PARAM_NAMES[k])


def test_gpu_map_column_and_fit_file_errors(tmp_path):
    from augur_sim.measure.ncnn_vulkan_fit import parse_gpu_map
    assert parse_gpu_map("gpu", "x_vulkan") == {-1: ("x_vulkan", "gpu")}
    assert parse_gpu_map("0=a:gpu;1=a:gpu_igpu", "cpu_spec") == {0: ("a", "gpu"), 1: ("a", "gpu_igpu")}
    with pytest.raises(AugurError):
        parse_gpu_map("x=a:gpu", "h")
    bad = tmp_path / "fit.yaml"
    bad.write_text("default: {eff_gemm: -1}\n", encoding="utf-8")
    with pytest.raises(AugurError, match="eff_gemm"):
        load_vk_fit(bad)


def test_every_mapped_gpu_spec_loads_with_vulkan_figures():
    from pathlib import Path

    from augur_sim.measure.ncnn_vulkan_fit import load_gpu_devices
    devs = load_gpu_devices(Path(__file__).resolve().parents[1] / "measurements" / "ncnn" / "devices.csv")
    targets = {t for m in devs.values() for t in m.values()}
    assert len(targets) >= 30
    for spec, proc in targets:
        hw = vk_hw(load_hw(spec).processor(proc))
        assert hw.peak_flops > 0 and hw.row[VH_BW] > 0


def test_cli_estimate_ncnn_vulkan_end_to_end(capsys):
    from augur_sim.cli import main
    from shared_data import SHARED
    param = SHARED / "corpora" / "ncnn" / "models" / "mobilenet.param"
    if not param.is_file():
        pytest.skip(f"{param} not present")
    assert main(["estimate", str(param), "--hw", "rockchip_rk3588_vulkan", "--runtime", "ncnn-vulkan",
                 "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    convs = [la for la in d["layers"] if la["op"] == "conv" and la["fused_into"] is None]
    assert {la["algorithm"] for la in convs} == {"vk_direct", "vk_depthwise", "vk_gemm1x1"}
    assert d["runtime"] == "ncnn-vulkan" and d["total"]["time_ms"] > 0
    # The total is the layers' sum (no per-inference term: ncnn_vulkan's docstring says why).
    assert "submit_ms" not in d["assumptions"]["ncnn_vulkan"]
    assert sum(la["time_ms"] for la in d["layers"]) == pytest.approx(d["total"]["time_ms"], rel=1e-9)
    for hw in ("rockchip_rk3588", "nvidia_t4"):
        assert main(["estimate", str(param), "--hw", hw, "--runtime", "ncnn-vulkan"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("augur: error:") and "\n" not in err


def test_leave_one_out_never_sees_the_held_out_rows():
    from augur_sim.measure.ncnn_vulkan_fit import loo
    data, _, _ = synthetic()
    keep = data.groups < 6
    data = data.subset(keep)
    base = loo(data, iters=15)
    # Scaling one device's own measurements by 3x cannot move its held-out prediction.
    g0 = data.groups == 0
    data.y_ms = np.where(g0, data.y_ms * 3.0, data.y_ms)
    moved = loo(data, iters=15)
    assert np.allclose(moved[g0], base[g0], rtol=1e-9)
    assert not np.allclose(moved[~g0], base[~g0], rtol=1e-3)     # the others did see it


def test_corpus_flags_paravirtualised_and_impossible_sections():
    from augur_sim.measure.ncnn_corpus import load_corpus
    from augur_sim.measure.ncnn_vulkan_fit import build_vk_table, load_gpu_devices
    from shared_data import SHARED
    from pathlib import Path
    corpus = SHARED / "corpora" / "ncnn"
    if not (corpus / "benchncnn_train.csv").is_file():
        pytest.skip(f"{corpus} not present")
    rows = load_corpus(corpus / "benchncnn_train.csv")
    tab = build_vk_table(rows, load_gpu_devices(Path(__file__).resolve().parents[1] / "measurements" / "ncnn"
                                                / "devices.csv"), corpus / "models")
    flagged = {tab.rows[i].section for i in tab.flagged}
    # Hyper-V GPU-PV guests (83, 84); the RK3588 section whose vgg16 "ran" in 0.56 ms, less than
    # streaming its 276 MB of fp16 weights at 34 GB/s takes (28).
    assert flagged == {28, 83, 84}
    assert all(not r.is_cpu for r in tab.rows) and len(tab.rows) > 900
    assert not any("_int8" in r.model for r in tab.rows)


def test_hw_show_says_what_ncnn_vulkan_reads():
    from augur_sim.hw import format_hw
    text = format_hw(load_hw("rockchip_rk3399_vulkan"))
    assert "vulkan (ncnn-vulkan): class mali-midgard, integrated, fp16 storage no, fp16 arithmetic no" in text


def test_fit_recovers_a_gpu_kind_factor_and_the_fit_file_keeps_it(tmp_path):
    """The second level (engine/ncnn_vulkan.GPU_KINDS): half the synthetic GPUs discrete, whose
    dispatch cost is a third of the integrated ones'. The fit recovers each (class, kind)'s
    parameters; the written file, read back, gives the same values; a kind that is not
    integrated or discrete is refused."""
    from augur_sim.engine.ncnn_vulkan import GPU_KINDS, VH_DISCRETE
    from augur_sim.measure.ncnn_vulkan_fit import fit, predict_fit, predict_ms, write_vk_fit
    data, g_true, d_true = synthetic()
    data.hws[:, VH_DISCRETE] = (data.groups % 2).astype(float)
    dk_true = np.zeros((len(GPU_KINDS), NVP))
    dk_true[1, VP_DISPATCH_US] = math.log(1 / 3)
    data.y_ms = predict_ms(data, g_true, d_true, dk_true)
    res = fit(data, lam=1e-4, lam_kind=1e-4, huber=10.0, iters=200, tol=1e-12)
    assert res.kinds == GPU_KINDS
    assert np.max(np.abs(np.log(predict_fit(data, res) / data.y_ms))) < 0.01
    for cls in range(3):
        for disc in (False, True):
            want = np.exp(g_true + d_true[cls] + dk_true[int(disc)])
            got = res.params(f"c{cls}", discrete=disc)
            for k in (VP_GEMM, VP_MEM, VP_DISPATCH_US):
                assert got[k] == pytest.approx(want[k], rel=0.05), (cls, disc, VK_PARAM_NAMES[k])
    path = tmp_path / "vk.yaml"
    write_vk_fit(path, res, {"fitted_on": "synthetic"})
    back = load_vk_fit(path)
    assert back.kinds == GPU_KINDS
    assert back.params("c1", discrete=True) == pytest.approx(res.params("c1", discrete=True), rel=1e-5)
    assert back.params("c1", discrete=False) == pytest.approx(res.params("c1", discrete=False), rel=1e-5)
    assert predict_fit(data, back) == pytest.approx(predict_fit(data, res), rel=1e-4)
    path.write_text(path.read_text(encoding="utf-8").replace("discrete:", "external:"), encoding="utf-8")
    with pytest.raises(AugurError, match="gpu_kinds"):
        load_vk_fit(path)


def test_cpu_and_gpu_rows_read_one_kernel_walk(tmp_path):
    """engine/ncnn_algos.walk_kernels is the one walk over the lowered kernels that the CPU's
    ncnn_rows and the GPU's vk_rows both read: 16 -> 32 channels 1x1 on 8x8 with a Sigmoid line
    after it (fused by the lowering), a 2x2 max pool, a Flatten (nothing runs), a 10-way
    InnerProduct. Worked out by hand: the conv kernel reads 16 x 64 = 1,024 elements and writes
    32 x 64 = 2,048, weighs 512 + 32, evaluates 2,048 exponentials (the sigmoid); FLOPs 32,768
    MACs x 2, 2,048 bias adds and the sigmoid's 6,144 (3 per element); both tables put the same
    figures where they read them."""
    from augur_sim.engine.ncnn_algos import NCNN_FUSION, X_ACT_ELEMS, X_TRANS, X_W_ELEMS, ncnn_rows, walk_kernels
    from augur_sim.engine.ncnn_vulkan import V_TRANS
    g = net(tmp_path, ["Input data 0 1 data 0=8 1=8 2=16", "Convolution conv 1 1 data a 0=32 1=1 5=1 6=512",
                       "Sigmoid sig 1 1 a b", "Pooling pool 1 1 b c 0=0 1=2 2=2", "Flatten fl 1 1 c e",
                       "InnerProduct fc 1 1 e out 0=10 1=1 2=5120"], name="walk")
    views = list(walk_kernels(g, lower(g, "fp32", NCNN_FUSION)))
    assert [v.noop for v in views] == [True, False, False, True, False]
    conv = views[1]
    assert conv.kern.layers == ("conv", "sig") and conv.host.name == "conv"
    assert (conv.in_elems, conv.out_elems, conv.w_elems, conv.trans) == (1024, 2048, 544, 2048)
    assert conv.flops == 2 * 64 * 16 * 32 + 2048 + 6144 and conv.fused_flops == 6144
    cpu = ncnn_rows(g, lower(g, "fp32", NCNN_FUSION), "arm")
    gpu = rows(g)
    assert [a == "noop" for a in cpu.algos] == [a == "noop" for a in gpu.algos] == [v.noop for v in views]
    assert list(cpu.x[:, X_TRANS]) == list(gpu.x[:, V_TRANS]) == [v.trans for v in views]
    # The pool: 2,048 in, 512 out in both; the conv's weights in both.
    assert cpu.x[2, X_ACT_ELEMS] == gpu.x[2, V_ACT_ELEMS] == 2048 + 512
    assert cpu.x[1, X_W_ELEMS] == gpu.x[1, V_W_ELEMS] == 544
    # The GPU runs the Sigmoid line as its own in-place pass (ncnn fuses only the conv's own
    # activation_type): 1,024 + 2,048 + 2 x 2,048 elements, and one more dispatch.
    assert gpu.x[1, V_ACT_ELEMS] == 1024 + 2048 + 2 * 2048 and gpu.x[1, V_DISPATCH] == 2


def test_direct_stem_runs_at_the_gemm_efficiency_and_innerproduct_at_its_weight_stream(tmp_path):
    """The two shader classes without a parameter of their own (engine/ncnn_vulkan.VK_ALGO_FAMILY
    says why). A 3 -> 16 channel 3x3 stride-2 stem on a 16x16 input (8x8 output, padded by 1: a
    Padding dispatch) runs the generic direct shader: 64 x 16 x 27 = 27,648 MACs, 55,296 FLOPs,
    at eff_gemm x peak, whatever eff_depthwise is. A 64 -> 16
    InnerProduct on one row: its arithmetic at the peak, its time the stream of 1,024 + 16 weights
    and 64 + 16 activations, 2 bytes each, at mem_eff x DRAM, whatever any efficiency is."""
    g = net(tmp_path, ["Input data 0 1 data 0=16 1=16 2=3",
                       "Convolution stem 1 1 data out 0=16 1=3 3=2 4=1 5=1 6=432"], name="stem")
    vr = rows(g)
    i = vr.algos.index("vk_direct")
    assert vr.x[i, V_FLOPS] == 2 * 64 * 16 * 27 and vr.x[i, V_DISPATCH] == 2
    hw = vk_hw(tiny_gpu(tmp_path)).row
    x = vr.x[i:i + 1]
    comp = vk_kernel_costs(x, hw, params(eff_gemm=0.25, eff_depthwise=0.05))[0][1]
    assert comp == pytest.approx(55296 / (0.25 * 200e9), rel=1e-12)
    assert vk_kernel_costs(x, hw, params(eff_gemm=0.25, eff_depthwise=0.5))[0][1] == comp
    fc = net(tmp_path, ["Input data 0 1 data 0=64", "InnerProduct fc 1 1 data out 0=16 1=1 2=1024"], name="gemv")
    vr = rows(fc)
    x = vr.x[vr.algos.index("vk_innerproduct")][None, :]
    for eff in (0.01, 0.3, 1.0):
        t, comp, mem, over, nbytes = vk_kernel_costs(x, hw, params(eff_gemm=eff, eff_depthwise=eff, eff_matmul=eff,
                                                                  eff_winograd=eff, mem_eff=0.5))[0]
        assert comp == pytest.approx(2 * 1024 / 200e9, rel=1e-12)      # 2 FLOPs per MAC
        assert nbytes == (1024 + 16 + 64 + 16) * 2 and mem == pytest.approx(2240 / 5e9, rel=1e-12)
        assert t == pytest.approx(2240 / 5e9 + 20e-6, rel=1e-12)


def test_every_parameter_moves_some_shader_class(tmp_path):
    """No parameter the cost never reads (the fit cannot pin one, and the report would present an
    unfitted starting value as fitted): doubling each cost in microseconds, or halving each
    fraction, in turn changes the time of at
    least one kernel of a network that has every shader class but the MatMul one, or of a
    transformer's MatMul."""
    from augur_sim.engine.ncnn_vulkan import VK_ALGO_FAMILY, VK_ALGO_NAMES
    g = net(tmp_path, ["Input data 0 1 data 0=32 1=32 2=3",
                       "Convolution stem 1 1 data a 0=16 1=3 3=2 4=1 5=1 6=432",
                       "Convolution w 1 1 a b 0=16 1=3 4=1 5=1 6=2304",
                       "Convolution p 1 1 b c 0=32 1=1 5=1 6=512",
                       "Convolution s 1 1 c d 0=32 1=3 3=2 4=1 5=1 6=9216",
                       "ConvolutionDepthWise dw 1 1 d e 0=32 1=3 4=1 5=1 6=288 7=32",
                       "Pooling pool 1 1 e f 0=0 1=2 2=2",
                       "Reduction r 1 1 f h 0=3 1=0 -23303=2,1,2 4=1 5=1",
                       "InnerProduct fc 1 1 h out 0=10 1=1 2=320"], name="all")
    mm = net(tmp_path, ["Input data 0 1 data 0=64 1=8", "InnerProduct fc 1 1 data out 0=16 1=0 2=1024"], name="mm")
    xs = np.vstack([rows(g, discrete=False).x, rows(mm).x])
    algos = {int(a) for a in xs[:, V_ALGO]}
    assert {VK_ALGO_NAMES[a] for a in algos} >= {"vk_winograd43", "vk_gemm1x1", "vk_gemm", "vk_direct",
                                                 "vk_depthwise", "vk_innerproduct", "vk_stream", "cpu_fallback",
                                                 "vk_matmul"}
    hw = vk_hw(tiny_gpu(tmp_path)).row
    # Low efficiencies and a fast memory, so every family's compute binds its convs; the
    # element-wise, matrix-vector and CPU-fallback kernels stay memory- or overhead-bound.
    base = params(mem_eff=1.0, eff_gemm=0.01, eff_winograd=0.01, eff_depthwise=0.01, eff_matmul=0.01)
    t0 = vk_kernel_costs(xs, hw, base)[:, 0]
    for k, name in enumerate(VK_PARAM_NAMES):
        p = base.copy()
        p[k] *= 2.0 if name.endswith("_us") else 0.5
        assert np.any(vk_kernel_costs(xs, hw, p)[:, 0] != t0), name
    # Every efficiency family the shader classes use is a parameter column.
    assert {f for f in VK_ALGO_FAMILY if f >= 0} == {k for k, n in enumerate(VK_PARAM_NAMES) if n.startswith("eff_")}
