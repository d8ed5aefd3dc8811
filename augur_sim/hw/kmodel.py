"""Parameters of the GPU kernel-level model (augur_sim/engine/gpu_algos.py) for one hardware row.

A runtime with `kernel_model: NAME` takes its fitted parameters from hwspecs/fits/NAME.yaml,
per SM architecture class (never per board: a GPU nobody measured inherits its class's
figures), and its math modes from the runtime: an fp32 conv runs in TF32 where the runtime
allows it (PyTorch's cuDNN default) and the chip has a tf32 rate; an fp32 matmul in FP32
unless the runtime says tf32.
"""
from __future__ import annotations

import functools
from pathlib import Path

import yaml

from ..errors import AugurError

FITS_DIR = Path(__file__).resolve().parents[2] / "hwspecs" / "fits"

# name in the fits file -> (hwrow column name, scale from file units to the row's SI units)
PARAMS = (
    ("emax", "P_EMAX", 1.0),        # fraction of an SM's peak the best tile reaches
    ("ahalf", "P_AHALF", 1.0),      # tile intensity (FLOP per loaded element) halving it
    ("khalf", "P_KHALF", 1.0),      # GEMM depth halving it
    ("igemm", "P_IGEMM", 1.0),      # implicit-GEMM conv: fraction of a GEMM's efficiency
    ("wino", "P_WINO", 1.0),        # fused Winograd: fraction of a GEMM's efficiency
    ("mem", "P_MEM", 1.0),          # fraction of DRAM bandwidth streams reach (GDDR, Pascal HBM2)
    ("mem_hbm", "P_MEMH", 1.0),     # ... on the HBM architectures of HBM_ARCHS
    ("l2x", "P_L2X", 1.0),          # fraction of the spec's L2 bandwidth a resident set gets
    ("floor_us", "P_FLOOR", 1e-6),  # launch/latency floor per op (eager, event-timed)
    ("kgap_us", "P_KGAP", 1e-6),    # each further kernel of a multi-kernel op
    ("trans", "P_TRANS", 1.0),      # FP32-lane FLOP-equivalents per exp-class evaluation
    ("pow", "P_POW", 1.0),          # ... per pow()
    ("alu", "P_ALU", 1.0),          # fraction of FP32 lanes element-wise code reaches
    ("dw", "P_DW", 1.0),            # fraction of FP32 lanes depthwise convs reach
    # Host-side dispatch differs by op in eager PyTorch (addmm with bias, cuDNN's conv
    # setup, LayerNorm's extra tensors): the floor's multiple for those ops.
    ("floor_linear_x", "P_FLIN", 1.0),
    ("floor_conv_x", "P_FCONV", 1.0),
    ("floor_norm_x", "P_FNORM", 1.0),
    # Board-level energy per FP32 FLOP on a 16 nm die (pJ): sets the power-limited clock of
    # GEMMs and convs from the spec's TDP (hw/power.py).
    ("fma_pj", "P_FMA_PJ", 1.0),
    # GPU-side time every kernel adds (launch latency, ramp and tail), eager or graph.
    ("gap_us", "P_GAP", 1e-6),
    # Norm exponent of (eager dispatch floor, kernel): 1 adds them, large takes the longer.
    ("overlap_p", "P_OVL", 1.0),          # ... bandwidth kernels
    ("overlap_mm_p", "P_OVLMM", 1.0),     # ... cuDNN convs and cuBLAS GEMMs
    # Softmax / LayerNorm: how many times the input's bytes are read (statistics pass, then
    # the normalising pass; a row that fits in cache is read once from DRAM).
    ("norm_passes", "P_NORMX", 1.0),
    # Eager only: host latency a long kernel still shows (enqueue after the start event).
    ("lat_us", "P_LAT", 1e-6),
)
PARAM_NAMES = tuple(p[0] for p in PARAMS)

# Architectures whose every chip carries HBM behind a Volta-or-later memory controller:
# sm_70 (V100: HBM2), sm_80 (A100: HBM2/HBM2e), sm_90 (H100/H200: HBM2e/HBM3/HBM3e). NVIDIA's
# Tesla V100 architecture whitepaper (section "HBM2 memory architecture") credits Volta's new
# memory controller with 1.5x the delivered bandwidth of Pascal GP100 and up to 95%
# utilisation on many workloads; GP100 (sm_60, also HBM2) and the GDDR parts (sm_61, sm_75,
# sm_86, sm_89) keep the older efficiency. The corpus agrees (large element-wise ops, bytes
# over time: V100 0.91-0.93, A100 0.88-0.91 of the datasheet bandwidth; P100, P4, T4
# 0.73-0.77), so the streams' bandwidth fraction is fitted as two parameters, `mem` and
# `mem_hbm`, each shared by every GPU of its memory class.
HBM_ARCHS = ("sm_70", "sm_80", "sm_90")

# Architectures on which cuDNN runs no Winograd convolution kernel: fp32 3x3 stride-1 convs
# there take implicit GEMM (FFMA math; engine/gpu_algos.conv_time). The only evidence is a
# software-stack fact, the kernel NAMES cuDNN 9.19 picked on an H200 (sm_90), never their
# times (measurements/h200_kernels/h200_kernels_2026-11-30_run1.csv, column `kernel`): of
# 150 corpus convs, all 3x3 stride 1, none ran a Winograd kernel; the 11 that took CUDA-core
# FP32 math all ran sm80_xmma_fprop_implicit_gemm_*_ffma_* kernels, whereas on the corpus GPUs
# (cuDNN 8.9) 2-4 of those same 11 shapes per GPU ran a Winograd kernel. NVIDIA's cuDNN
# documentation states no architecture limit for CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD(_NONFUSED)
# that we could find, so sm_80/sm_86/sm_89 (no conv names measured) keep Winograd eligible.
NO_WINOGRAD_ARCHS = ("sm_90",)

# Architectures whose FP32 FMA rate is bound by instruction issue, not by the FP32 lanes.
# Every SM sub-partition (quadrant) of Volta, Turing, Ampere and Hopper dispatches one warp
# instruction per clock ("Warp Scheduler (32 thread/clk)", "Dispatch Unit (32 thread/clk)" in
# the SM diagrams of NVIDIA's V100, A100 and H100 architecture whitepapers). A V100, T4 or A100
# quadrant has 16 FP32 lanes, so a warp's FFMA holds them two clocks and every other dispatch
# slot is free for the loads, address and loop instructions a GEMM needs (Pascal: two dispatch
# units per scheduler, the same freedom). A GH100 quadrant has 32 FP32 lanes (H100 whitepaper),
# and a GA102/AD102 quadrant 16 + 16 (the second datapath shared with INT32: NVIDIA Ampere GA102
# whitepaper): one FFMA warp per clock fills them, so each other instruction takes an FFMA's slot
# and the doubled FP32 peak is out of reach for any kernel that loads its operands.
# engine/gpu_algos.ffma_issue_factor prices that from the tile shape alone.
ISSUE_BOUND_FP32_ARCHS = ("sm_86", "sm_89", "sm_90")

# Shared-memory bandwidth of one SM per clock, every architecture from compute capability 5.0
# to 9.0: 32 banks, each delivering one 32-bit word per clock (NVIDIA CUDA C++ Programming Guide,
# "Compute Capabilities", the shared-memory subsections of 5.x, 6.x, 7.x, 8.x and 9.0, which
# state the same 32 banks of 32 bits per clock). A CTA tile's main loop reads its A and B
# operands from shared memory (CUDA-core tiles through registers after an LDS; Ampere tensor-core
# tiles through ldmatrix; Hopper's wgmma reads B, and A unless it comes from registers, from
# shared memory directly: PTX ISA, wgmma.mma_async operand descriptors), so a tile cannot
# outrun 128 bytes of operands per clock (engine/gpu_algos.gemm_tile_time).
SMEM_BYTES_PER_CLOCK = 128.0


@functools.lru_cache(maxsize=8)
def load_fit(model: str) -> dict:
    """hwspecs/fits/MODEL.yaml as a checked mapping: {'classes': {name: {'archs': [...],
    'params': {...}}}, ...}."""
    path = FITS_DIR / f"{model}.yaml"
    if not path.is_file():
        raise AugurError(f"kernel model {model!r} has no fitted parameters ({path.name} missing in "
                         f"hwspecs/fits/); run scripts/accuracy_gpu_kernels.py --fit-out hwspecs/fits/{model}.yaml")
    data = yaml.safe_load(path.read_text())
    classes = data.get("classes") if isinstance(data, dict) else None
    if not isinstance(classes, dict) or not classes:
        raise AugurError("expected a mapping 'classes' of architecture classes",
                         file=f"hwspecs/fits/{path.name}")
    for cname, c in classes.items():
        prm = c.get("params") if isinstance(c, dict) else None
        if not isinstance(prm, dict) or set(prm) != set(PARAM_NAMES):
            raise AugurError(f"class {cname!r}: params must be exactly {', '.join(PARAM_NAMES)}",
                             file=f"hwspecs/fits/{path.name}")
        for k, v in prm.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v > 1e6:
                raise AugurError(f"class {cname!r}: {k} must be a positive number, got {v!r}",
                                 file=f"hwspecs/fits/{path.name}")
    return data


def class_params(fit: dict, arch: str) -> dict:
    """The parameters of the class listing `arch`, else of the class marked default."""
    classes = fit["classes"]
    for c in classes.values():
        if arch in c.get("archs", ()):
            return dict(c["params"])
    for c in classes.values():
        if c.get("default"):
            return dict(c["params"])
    raise AugurError(f"no fitted class covers architecture {arch!r} and none is the default")


def asked_math(rt, op: str) -> str:
    """The math a runtime asks for an fp32 op of class `op` ('conv' or 'matmul'), whatever the chip has."""
    return rt.fp32_conv_math if op == "conv" else rt.fp32_matmul_math


def resolve_math(proc, rt, precision: str, op: str) -> str:
    """The rate precision an op of class `op` ('conv' or 'matmul') runs at."""
    if precision == "fp32":
        want = asked_math(rt, op)
        if want == "tf32" and "tf32" in proc.flop_per_cycle_per_unit:
            return "tf32"
        return "fp32"
    return proc.rate_precision(precision)


def uses_tensor_cores(proc, rate: str) -> bool:
    return rate != "fp32" and proc.sm is not None and proc.sm.tensor_cores > 0 and rate != "fp64"
