"""GeForce cards under PyTorch (hwspecs/nvidia_rtx3090.yaml on sm_86, nvidia_rtx4090.yaml on sm_89;
the L40S beside them, a data-centre board at the architecture's rates):
the architecture file gives the professional boards' tensor rates, a GeForce board runs FP16/BF16
with FP32 accumulate (PyTorch's mode) and TF32 at half of them, and the kernel model prices
the cards with the same fitted runtime as the data-centre GPUs, so a sweep compares them under
one runtime."""
from __future__ import annotations

import pytest

from augur_sim.estimator import estimate
from augur_sim.explore import sweep as S
from augur_sim.frontends import load_net
from augur_sim.hw import apply_overrides, load_hw
from augur_sim.hw.kmodel import ISSUE_BOUND_FP32_ARCHS, class_params, load_fit, resolve_math
from augur_sim.hw.load import _find_arch

import yaml


def _arch_rates(arch: str) -> dict:
    path = _find_arch(arch)
    assert path is not None
    return yaml.safe_load(path.read_text())["processor"]["flop_per_cycle_per_unit"]


@pytest.mark.parametrize("name, arch, units, clock_ghz", [
    ("nvidia_rtx3090", "sm_86", 82, 1.695),
    ("nvidia_rtx4090", "sm_89", 128, 2.52),
])
def test_geforce_tensor_rates_are_half_the_architectures(name, arch, units, clock_ghz):
    gpu = load_hw(name).processors["gpu"]
    assert gpu.arch == arch and gpu.units == units and gpu.clock_ghz == pytest.approx(clock_ghz)
    full = _arch_rates(arch)
    rates = gpu.flop_per_cycle_per_unit
    # FP16/BF16 with FP32 accumulate and TF32: half the professional board's (A40, L4) rate.
    for p in ("fp16", "bf16", "tf32"):
        assert rates[p] == full[p] / 2, p
    # FP32 on the CUDA cores and INT8 on the tensor cores: the architecture's own.
    assert rates["fp32"] == full["fp32"] == 256 and rates["int8"] == full["int8"] == 2048
    # The datasheets' dense peaks, by hand: RTX 3090 35.6 T FP32 and 71 T FP16 (FP32 accumulate,
    # half of 142); RTX 4090 82.6 T FP32 and 165.2 T FP16.
    peak_fp32_t = units * clock_ghz * rates["fp32"] / 1e3
    peak_fp16_t = units * clock_ghz * rates["fp16"] / 1e3
    assert peak_fp32_t == pytest.approx({"nvidia_rtx3090": 35.6, "nvidia_rtx4090": 82.6}[name], rel=0.01)
    assert peak_fp16_t == pytest.approx({"nvidia_rtx3090": 71.1, "nvidia_rtx4090": 165.2}[name], rel=0.01)
    assert gpu.default_runtime == "pytorch-cudagraph"


def test_a_data_centre_ada_board_keeps_the_architectures_full_rates():
    """The L40S (sm_89, a data-centre board) writes no rates of its own: the architecture's, which
    reproduce its datasheet's dense peaks by hand (91.6 T FP32, 183 T TF32, 366 T FP16 with FP32
    accumulate, 733 T INT8 at 142 SMs x 2.52 GHz), twice a GeForce 4090's FP16 per SM and clock."""
    gpu = load_hw("nvidia_l40s").processors["gpu"]
    assert gpu.flop_per_cycle_per_unit == _arch_rates("sm_89")
    peaks_t = {p: gpu.peak_flops(p) / 1e12 for p in ("fp32", "tf32", "fp16", "int8")}
    assert peaks_t == pytest.approx({"fp32": 91.6, "tf32": 183.2, "fp16": 366.4, "int8": 732.9}, rel=0.002)
    rtx = load_hw("nvidia_rtx4090").processors["gpu"]
    assert gpu.flop_per_cycle_per_unit["fp16"] == 2 * rtx.flop_per_cycle_per_unit["fp16"]


def test_sm_86_inherits_the_shared_fit_and_the_issue_bound_fp32_rule():
    """No corpus GPU is sm_86: it takes the fit's default class, like the held-out sm_80/89/90,
    and its FFMA tiles are issue-bound (16 + 16 FP32 lanes per quadrant, as sm_89)."""
    fit = load_fit("pytorch")
    assert class_params(fit, "sm_86") == fit["classes"]["all"]["params"]
    assert "sm_86" in ISSUE_BOUND_FP32_ARCHS
    gpu = load_hw("nvidia_rtx3090").processors["gpu"]
    rt = gpu.runtime("pytorch-cudagraph")
    assert resolve_math(gpu, rt, "fp32", "conv") == "tf32"      # PyTorch's cuDNN default allows TF32
    assert resolve_math(gpu, rt, "fp32", "matmul") == "fp32"    # its matmul default does not


def test_the_half_rate_reaches_an_fp16_estimate():
    """An fp16 ResNet-50 at batch 32 is mostly tensor-core convs: on the RTX 3090 with the
    architecture's full FP16 rate (as an A40-like board) it is faster than with the GeForce
    half rate, by less than 2x (its memory-bound kernels do not move); fp32 does not move."""
    g = load_net("resnet50")
    dev = load_hw("nvidia_rtx3090")
    full = apply_overrides(dev, {"gpu.flop_per_cycle_per_unit.fp16": 1024.0})
    t_half = estimate(g, dev, precision="fp16", batch=32).total.time_s
    t_full = estimate(g, full, precision="fp16", batch=32).total.time_s
    assert 1.10 < t_half / t_full < 2.0
    t32 = estimate(g, dev, precision="fp32", batch=32).total.time_s
    assert estimate(g, full, precision="fp32", batch=32).total.time_s == pytest.approx(t32, rel=1e-12)


def test_a_sweep_of_geforce_and_data_centre_gpus_runs_one_runtime():
    nets = S.expand_nets(["resnet18"])
    devs = S.expand_hw(["nvidia_rtx3090", "nvidia_rtx4090", "nvidia_a100_pcie_40gb"])
    summ = S.run_sweep(nets, devs, [16], ["fp32"], None)
    rows = {r["hw"]: r for r in summ.table.to_pylist()}
    assert summ.notes == []
    assert {r["runtime"] for r in rows.values()} == {"pytorch-cudagraph"}
    # Model outcome, not a datasheet ratio: the 4090 (2.3x the 3090's FP32 peak, 8% more DRAM
    # bandwidth, 12x the L2) is faster than the 3090 on this mixed compute/memory network.
    assert rows["nvidia_rtx4090"]["time_ms"] < rows["nvidia_rtx3090"]["time_ms"]
