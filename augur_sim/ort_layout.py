"""What ONNX Runtime's CPU provider does to a network's convolutions and weights.

Shared by the lowering (its layout-conversion kernels), the ORT memory models
(augur_sim/engine/runtime_memory.py, ort_arena.py) and the spec writer: whether a convolution
runs as an MLAS NCHWc kernel or as ORT's generic Conv decides both how its weights are stored
and how fast it runs. It imports nothing, so it sits in the lowering stage, below the engine.

The NCHWc rewrite (onnxruntime/core/optimizer/nchwc_transformer.cc, applied at
ORT_ENABLE_ALL on x86 with AVX2/AVX-512) replaces a Conv by com.microsoft.nchwc.Conv with
channels blocked by MLAS' block size (MlasNchwcGetBlockSize: 16 floats with AVX-512,
8 with AVX2) and its filter reordered into a new initializer padded to that block. The
rules below were read off the optimised graphs ORT 1.32 writes on this project's AVX-512
host (a conv of each kind, `optimized_model_filepath`), not guessed:
  - group 1: input channels a multiple of 4 -> NCHWc, Cin and Cout padded to the block;
    fewer input channels than one block (an RGB stem) -> NCHWc with an NCHW input
    (filter padded on Cout only); otherwise the generic Conv (58 -> 64: generic).
  - depthwise (group = Cin = Cout): C a multiple of 4 -> NCHWc, C padded to the block
    (24 -> 32, 60 -> 64); 58 or 62 -> generic Conv.
  - other groups: only when the channels per group fill whole blocks (64/4 = 16 -> NCHWc;
    128/32 = 4 or 116/2 = 58 -> generic Conv).
The generic Conv (onnxruntime/core/providers/cpu/nn/conv.cc) runs group by group: an
im2col into a scratch buffer and one SGEMM per group and image, so a depthwise conv on
58 channels becomes 58 GEMMs of M = 1, K = 9.
"""
from __future__ import annotations

from dataclasses import dataclass

# Filter/channel alignment the NCHWc rewrite needs (measured: 60 and 116 convert, 58 and 62 do not).
NCHWC_CHANNEL_ALIGN = 4


@dataclass(frozen=True)
class ConvPlan:
    nchwc: bool
    weight_bytes: int     # filter + bias as ORT stores them (padded when NCHWc)
    out_channels: int     # output channels as stored (padded when NCHWc)


def round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def conv_plan(cin: int, cout: int, group: int, kh: int, kw: int, block: int, elem_bytes: int = 4,
              bias: bool = True) -> ConvPlan:
    """How ORT's CPU provider runs and stores one Conv with `block`-float NCHWc blocks
    (block <= 1: no NCHWc rewrite on this machine)."""
    plain_w = cout * (cin // group) * kh * kw + (cout if bias else 0)
    if block <= 1:
        return ConvPlan(False, plain_w * elem_bytes, cout)
    cpg, opg = cin // group, cout // group
    if group == 1:
        if cin < block:
            ok, w = True, round_up(cout, block) * cin * kh * kw
        elif cin % NCHWC_CHANNEL_ALIGN == 0:
            ok, w = True, round_up(cout, block) * round_up(cin, block) * kh * kw
        else:
            ok, w = False, 0
    elif cpg == 1 and opg == 1:
        ok = cin % NCHWC_CHANNEL_ALIGN == 0
        w = round_up(cout, block) * kh * kw
    else:
        ok = cpg % block == 0 and opg % block == 0
        w = cout * cpg * kh * kw
    if not ok:
        return ConvPlan(False, plain_w * elem_bytes, cout)
    co = round_up(cout, block)
    # A bias always exists after ORT folds BN into the conv; padded like the filter.
    return ConvPlan(True, (w + co) * elem_bytes, co)


def nchwc_block(isa_flags) -> int:
    """MLAS' NCHWc block size in floats for a CPU with these ISA flags (0: no NCHWc path):
    16 with AVX-512F, 8 with AVX2 (onnxruntime/core/mlas/lib/platform.cpp picks the kernels)."""
    flags = set(isa_flags or ())
    if "avx512f" in flags:
        return 16
    if "avx2" in flags:
        return 8
    return 0


# MLAS' SGEMM packs B in panels of 16 columns (MLAS_SGEMM_STRIDEN_THREAD_ALIGN) and rounds
# the buffer to its preferred alignment, 64 bytes on x86 (onnxruntime/core/mlas/lib/sgemm.cpp,
# MlasGemmPackBSize).
SGEMM_PACK_N_ALIGN = 16
MLAS_BUFFER_ALIGN = 64


def mlas_packb_bytes(n: int, k: int) -> int:
    """Bytes of the pre-packed B (K x N, fp32) a Gemm/MatMul kernel keeps."""
    return round_up(round_up(n, SGEMM_PACK_N_ALIGN) * k * 4, MLAS_BUFFER_ALIGN)
