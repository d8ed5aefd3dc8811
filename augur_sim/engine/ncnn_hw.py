"""The hardware row of one benchncnn run: the cores its threads use, what they compute in.

A run (device, --cores big|little|all, --threads N) is placed by the catalogue's ncnn rule
(augur_sim.hw.placement.place: static OpenMP split, the slowest thread paces every layer).
This module turns the placement into the ncnn cost row (ncnn_cost.N_* columns):

- the straggler core's clock, divided by the threads sharing it (time-sliced threads);
- its fp32 FLOP/cycle; whether it computes in fp16 (ncnn's fp16 storage + arithmetic path
  needs ARMv8.2 asimdhp: Convolution_arm's support_fp16_storage = cpu_support_arm_asimdhp(),
  src/layer/arm/convolution_arm.cpp); activations are then stored in 2 bytes, else 4;
- int8 MACs per cycle of its best int8 instruction (int8_macs_per_cycle: MACs per instruction
  x the vector instructions its fp32 rate says it issues per cycle);
- DRAM bandwidth and the last cache level the threads share;
- the ISA class whose fitted parameters apply, and the architecture family whose algorithm
  rules apply (ncnn compiles different kernels for arm, x86 and the rest).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import yaml

from ..errors import AugurError
from ..hw.load import find_catalog
from ..hw.placement import place
from .ncnn_cost import (N_CLASS, N_CLOCK_HZ, N_DRAM_BPS, N_EB_ACT, N_FP16, N_FP32_FPC, N_INT8_MPC, N_INT16_MPC,
                        N_CORES_BUSY, N_INT8_WIDE_MPC, N_L2_SHARED, N_LLC_BYTES, N_M_GRANULE, N_NET_W_FITS, N_PACK,
                        N_SMT_K, N_THREADS, N_LONE_ISSUE, N_FC_W_BYTES, NN)


@dataclass(frozen=True)
class CoreCaps:
    """What ncnn's kernel choice and speed depend on, for one core type."""
    name: str
    isa_class: str          # the catalogue's label ('default' when the spec has none)
    simd_bits: int
    fma_pipes: int
    fp32_flop_per_cycle: float
    fp16_arith: bool
    features: tuple
    design: str = ""        # the core design it is built on (root of the catalogue's `extends`)
    family: str = "default"  # the pipeline family whose fitted offsets a core with no data inherits

    @property
    def arch(self) -> str:
        """ncnn's source tree the kernels come from: arm, x86, riscv, or other."""
        if self.isa_class.startswith("arm"):
            return "arm"
        if self.isa_class.startswith("x86"):
            return "x86"
        if self.isa_class.startswith("riscv"):
            return "riscv"
        return "arm" if self.isa_class == "default" else "other"


def int8_macs_per_instruction(simd_bits: int, features) -> int:
    """int8 multiply-accumulates per vector instruction of ncnn's int8 GEMM inner loops.

    - SDOT/UDOT (ARMv8.2 dotprod): four int8 products summed into each 32-bit lane, one
      instruction (src/layer/arm/gemm_int8.h and convolution_im2col_gemm_int8.h, the
      __ARM_FEATURE_DOTPROD paths). x86 with AVX-512 VNNI or AVX-VNNI: VPDPBUSD, likewise four
      per lane (src/layer/x86/gemm_int8.h: with __AVX512VNNI__/__AVXVNNI__ pack_A_tile_int8
      packs k in fours and keeps a w_shift sum for the unsigned-input offset that VPDPBUSD
      needs).
    - I8MM (SMMLA, __ARM_FEATURE_MATMUL_INT8 paths): a 2x8 by 8x2 int8 product per 128 bits,
      8 per 32-bit lane.
    - Without them the int8 kernels widen: on Arm a SMULL and a SMLAL (8 int16 products each)
      then a SADALP into the int32 sums (vmull_s8 / vmlal_s8 / vpadalq_s16 in gemm_int8.h):
      16 MACs per 3 instructions over 4 lanes; on x86 the bytes are sign-extended to int16 and
      VPMADDWD + VPADDD accumulate (gemm_int8.h packs k in pairs; _mm_comp_dpwssd_epi32 in
      x86_usability.h): 2 MACs per lane per 2 instructions. About one MAC per 32-bit lane per
      instruction on average, counting the accumulate.
    """
    lanes = max(1, simd_bits // 32)
    f = set(features)
    if "i8mm" in f:
        return 8 * lanes
    if "dotprod" in f or "avx512_vnni" in f or "avx_vnni" in f:
        return 4 * lanes
    return lanes


def pack_lanes(caps: CoreCaps) -> int:
    """The widest elempack ncnn's layers pack a blob's channels in on this core.

    x86 (src/layer/x86/*_x86.cpp create_pipeline/forward: elempack 16 under __AVX512F__, 8
    under __AVX__, 4 under __SSE2__; a build without SSE2, e.g. Knights Corner's k1om, keeps
    elempack 1); ARM (src/layer/arm: 4 fp32 lanes of a 128-bit NEON register, 8 with fp16
    storage, use_fp16_storage on asimdhp cores); the other trees pack one vector register's
    fp32 lanes (LoongArch LSX 4 / LASX 8, MIPS MSA 4, RISC-V V vlen/32), scalar cores 1."""
    f = set(caps.features)
    if caps.arch == "x86":
        return 16 if "avx512f" in f else 8 if "avx" in f else 4 if "sse2" in f else 1
    if caps.arch == "arm":
        return 8 if caps.fp16_arith else 4
    return max(1, caps.simd_bits // 32) if caps.simd_bits >= 128 else 1


def generic_path(caps: CoreCaps) -> bool:
    """Whether ncnn runs this core on its portable C++ layers alone (src/layer/*.cpp): its
    vector ISA is one no per-architecture tree has kernels for. The x86 tree's vector paths
    all sit under __SSE2__ and up (a Knights Corner k1om build has none of them), the mips
    tree's under __mips_msa (the Loongson MMI of a GS464E is not used for float layers), the
    riscv tree's under __riscv_vector (a core without V, e.g. the SiFive U74). ARM cores always
    have NEON kernels."""
    return caps.arch != "arm" and pack_lanes(caps) == 1


# ISA classes ncnn builds one source tree for: the fitted offsets key on the code, so a core
# of one inherits what the other's devices show. src/layer/riscv/ is compiled for RVV 1.0
# (NCNN_RVV) and for T-Head's pre-ratification XTheadVector (NCNN_XTHEADVECTOR, the same
# kernels through ncnn's intrinsic shim; both pack channels by vlenb / 4).
_FIT_CLASS = {"riscv64-rvv": "riscv64-vector", "riscv64-xtheadvector": "riscv64-vector"}


def fit_class(caps: CoreCaps) -> str:
    """The ISA class the ncnn fit's offsets key on: the catalogue's, except where ncnn runs
    the same kernels for two classes (_FIT_CLASS). Chosen by leave-one-device-out
    (2026-12-01): with the two RISC-V vector classes apart, each had one training device, whose
    class offset took half of what that device's runs show and left the other nothing of it
    (SpacemiT X60 0.34, T-Head C910 0.38 predicted over measured); keyed together, 0.86 and
    1.03."""
    return _FIT_CLASS.get(caps.isa_class, caps.isa_class)


def gemm_m_granule(caps: CoreCaps) -> int:
    """Rows of the packed GEMM's M tile (output channels per work item, at least): what
    convolution_im2col_gemm_get_optimal_tile_mnk rounds TILE_M up to (convolution_im2col_gemm.h
    in each tree): 16 / 8 / 4 on x86 with AVX-512 / AVX / SSE2 (2 without), 8 on aarch64 and
    in the fp16 kernels (4 on armv7), 8 with LoongArch LASX or MIPS MSA, 4 with LSX, 2 in the
    scalar fallback; RISC-V (estimate) its fp32 lanes, at least 2."""
    lanes = pack_lanes(caps)
    if caps.arch == "x86":
        return max(2, lanes)
    if caps.arch == "arm":
        return 4 if caps.isa_class.startswith("armv7") else 8
    if caps.isa_class == "mips-msa" or caps.isa_class == "loongarch-lasx":
        return 8
    return max(2, lanes)


def vector_instructions_per_cycle(fp32_flop_per_cycle: float, simd_bits: int) -> float:
    """simd_bits-wide vector instructions a core issues per cycle, from its sourced fp32 rate.

    The catalogue's fp32 FLOP/cycle already says how many full-width FMAs a cycle completes
    (a Cortex-A55 runs a 128-bit FMLA over its two 64-bit halves: one per cycle; an A76 two;
    Willow Cove one 512-bit or two 256-bit; Zen 4 splits a 512-bit op over its 256-bit
    pipes): fp32_flop_per_cycle / (2 FLOP x the fp32 lanes of one simd_bits instruction).
    The int8 instructions of ncnn's kernels issue at that rate: SDOT/SMMLA on the ASIMD FMA
    pipes (Arm's software optimisation guides list them on the same V pipes as FMLA),
    VPDPBUSD/VPMADDWD on the FMA ports (Intel's optimisation manual: ports 0 and 1). Counting
    `fma_pipes` instead double counts cores whose pipes are narrower than a register (the
    A55's two 64-bit units) or whose 512-bit op takes both 256-bit pipes."""
    lanes = max(1, simd_bits // 32)
    return max(fp32_flop_per_cycle, 0.0) / (2.0 * lanes)


def int8_macs_per_cycle(simd_bits: int, fp32_flop_per_cycle: float, features) -> float:
    """int8 MACs per cycle of ncnn's int8 GEMM on one core: MACs per instruction of its best
    int8 instruction (int8_macs_per_instruction) x vector instructions per cycle
    (vector_instructions_per_cycle). The catalogue's int8 entry (2 x MACs/cycle, docs/HWSPECS.md)
    states the same figure; tests/test_ncnn_runtime.py checks every core file against it."""
    return int8_macs_per_instruction(simd_bits, features) * vector_instructions_per_cycle(
        fp32_flop_per_cycle, simd_bits)


def int16_macs_per_cycle(simd_bits: int, fp32_flop_per_cycle: float, features) -> float:
    """int16 x int16 multiply-accumulates per cycle, the arithmetic of ncnn's int8 Winograd F(4,3),
    whose transformed tiles and kernel are int16 (convolution_3x3_winograd_int8.h): on x86 with
    AVX-512 VNNI or AVX-VNNI one VPDPWSSD sums two int16 products into each 32-bit lane
    (_mm_comp_dpwssd_epi32 in x86_usability.h), else VPMADDWD + VPADDD do it in two
    instructions; on Arm SMLAL/SMLAL2 accumulate one int16 product per 32-bit lane. The int8
    dot products (SDOT, SMMLA, VPDPBUSD) take int8 operands and do not apply."""
    lanes = max(1, simd_bits // 32)
    per = 2 * lanes if {"avx512_vnni", "avx_vnni"} & set(features) else lanes
    return per * vector_instructions_per_cycle(fp32_flop_per_cycle, simd_bits)


def int8_widening_macs_per_cycle(simd_bits: int, fp32_flop_per_cycle: float) -> float:
    """int8 MACs per cycle without a dot product (what int8 depthwise convolutions get on
    every core: no reduction over channels to feed SDOT/VPDPBUSD; convolutiondepthwise_arm.cpp
    forward_int8_arm widens with vmull_s8/vmlal_s8): the widening rate of
    int8_macs_per_instruction at the vector issue rate."""
    return int8_macs_per_instruction(simd_bits, ()) * vector_instructions_per_cycle(fp32_flop_per_cycle, simd_bits)


@lru_cache(maxsize=512)
def core_design(name: str) -> str:
    """The design a catalogue core is built on: the root of its `extends` chain (Kryo 260
    Gold extends Cortex-A73, so both share one fitted offset), or the core itself."""
    seen = [name]
    cur = name
    for _ in range(8):
        path = find_catalog("core", cur)
        if path is None:
            break
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            break
        parent = doc.get("extends") if isinstance(doc, dict) else None
        if not isinstance(parent, str) or parent in seen:
            break
        seen.append(parent)
        cur = parent
    return cur


def pipeline_family(arch: str, description: str, issue_width) -> str:
    """The pipeline family of a core: in-order cores (the catalogue's description says
    "in-order": Cortex-A5/A7/A35/A53/A55/A510/A520, Knights Corner, SiFive U74, ...) run
    ncnn's hand-scheduled kernels differently from out-of-order ones, and out-of-order cores
    split by width (issue width <= 3: narrow, e.g. Cortex-A57/A72/A73; 4 and up: wide).
    A core type measured on no training device inherits its family's fitted offsets."""
    if "in-order" in (description or "").lower():
        return f"{arch}-inorder"
    if issue_width is None:
        return f"{arch}-ooo"
    return f"{arch}-ooo-{'narrow' if issue_width <= 3 else 'wide'}"


def code_family(caps: CoreCaps, pipeline: str) -> str:
    """The family whose fitted offsets a core with no data inherits: its pipeline family
    (pipeline_family), except where the code ncnn runs on it says more than the pipeline.
    Cores on ncnn's portable layers (generic_path: RISC-V without V, MIPS without MSA,
    Knights Corner) run the same scalar C++ whatever their architecture: one family. RISC-V
    cores with a vector unit run the riscv tree's RVV kernels (src/layer/riscv/, built for
    RVV 1.0 and for T-Head's XTheadVector from one source): one family, in-order or not.
    Chosen by leave-one-device-out (2026-12-01): with the RISC-V cores split by pipeline, the
    U74 (scalar) took its in-order family's offsets from the X60 (vector) and was predicted
    2.3x too slow held out; see docs/ACCURACY_NCNN.md for the figures."""
    if generic_path(caps):
        return "generic"
    if caps.arch == "riscv":
        return "riscv-vector"
    return pipeline


def caps_of_cluster(cluster) -> CoreCaps:
    """CoreCaps of a catalogue cluster (a core file behind it) or of an implicit one."""
    core = getattr(cluster, "core", None)
    fpc = dict(cluster.flop_per_cycle)
    fp32 = float(fpc["fp32"])
    if core is not None:
        feats = tuple(core.features)
        fp16 = "asimdhp" in feats and float(fpc.get("fp16", 0.0)) > fp32
        caps = CoreCaps(core.name, core.isa_class, int(core.simd_bits), int(core.fma_pipes), fp32, fp16, feats)
        design = core_design(core.name)
        desc = getattr(core, "description", "")
        if design != core.name:
            path = find_catalog("core", design)
            try:
                root = yaml.safe_load(path.read_text(encoding="utf-8")) if path else None
                desc = f"{desc} {root.get('description', '')}" if isinstance(root, dict) else desc
            except (OSError, yaml.YAMLError):
                pass
        return dataclasses.replace(caps, design=design, family=code_family(
            caps, pipeline_family(caps.arch, desc, getattr(core, "issue_width", None))))
    # A processor written without clusters: infer what the table says (an fp16 rate above
    # the fp32 rate means fp16 arithmetic); 128-bit SIMD with 2 FMA pipes per 16 FLOP/cycle.
    fp16 = float(fpc.get("fp16", 0.0)) > fp32
    simd = 128 if fp32 <= 16 else 256 if fp32 <= 32 else 512
    pipes = max(1, int(round(fp32 / (2 * simd / 32))))
    int8 = float(fpc.get("int8", 0.0))
    feats = ("dotprod",) if int8 >= 4 * fp32 else ()
    return CoreCaps(cluster.name, "default", simd, pipes, fp32, fp16, feats, cluster.name, "default")


def fc_weight_bytes(caps: CoreCaps, generic: bool) -> float:
    """Bytes per weight of a float InnerProduct as ncnn stores it with its default options
    (use_fp16_storage on). The weights are cast to fp16 once, when the pipeline is created,
    and widened back to fp32 in the matrix-vector loop, on many more cores than compute in
    fp16: on ARM wherever the core has VFPv4's half-precision conversions
    (src/layer/arm/innerproduct_arm.cpp, create_pipeline: the fp16s pipeline under
    NCNN_VFPV4 when cpu_support_arm_vfpv4(); every AArch64 core, and the ARMv7 cores whose
    catalogue lists vfpv4), on x86 wherever AVX comes with F16C
    (src/layer/x86/innerproduct_x86.cpp, create_pipeline_fp16s under NCNN_F16C && __AVX__,
    taken when cpu_support_x86_f16c()). Elsewhere (SSE-only x86, ARMv7 without VFPv4, the
    portable layers) fp32. A core computing in fp16 stores everything in fp16 anyway.
    A Gemm with constant weights (transformers' projections, which the ncnn frontend writes as
    fc) takes the same rule; on ARM so does ncnn (gemm_arm.cpp: support_fp16_storage =
    cpu_support_arm_vfpv4()), on x86 its Gemm keeps fp32 weights (gemm_x86.cpp has no fp16
    path): not told apart here, a difference under 0.5% on the corpus' x86 ViT rows, whose
    time is their GEMMs' arithmetic, not their weights' stream."""
    if caps.fp16_arith:
        return 2.0
    if generic:
        return 4.0
    feats = set(caps.features)
    if caps.arch == "arm" and (caps.isa_class.startswith("armv8") or "vfpv4" in feats):
        return 2.0
    if caps.arch == "x86" and {"avx", "f16c"} <= feats:
        return 2.0
    return 4.0


@dataclass(frozen=True)
class NcnnHw:
    """One run's hardware row plus what explains it."""
    row: np.ndarray
    caps: CoreCaps          # the straggler core
    isa_class: str          # the class the fit keys on (fit_class)
    arch: str               # the ncnn source tree its kernels come from ('generic': the portable layers)
    describe: str


def _llc_bytes(proc, placement) -> float:
    shared = [c.size_bytes for c in getattr(proc, "shared_caches", ()) or ()]
    if shared:
        return float(max(shared))
    c = placement.clusters[placement.straggler]
    l2 = float(getattr(c, "l2_bytes", 0) or 0)
    caches = [x.size_bytes for x in proc.caches]
    if getattr(proc, "clusters", ()):
        return max([l2] + caches) if caches else l2
    # Implicit cluster: the processor's caches; a private level counts once per thread.
    return float(max(caches)) if caches else 1 << 20


def ncnn_hw(proc, cores: str | None = None, threads: int | None = None, class_index: int = 0) -> NcnnHw:
    """The ncnn row of `proc` run with --cores/--threads (see the module docstring)."""
    if proc.kind != "cpu":
        raise AugurError("the ncnn runtime models CPUs; this processor is a GPU", where=proc.name)
    p = place(proc, cores, threads)
    c = p.clusters[p.straggler]
    caps = caps_of_cluster(c)
    r = np.zeros(NN)
    r[N_THREADS] = p.threads
    r[N_CLOCK_HZ] = c.clock_ghz * 1e9 / p.straggler_k
    r[N_FP32_FPC] = caps.fp32_flop_per_cycle
    r[N_FP16] = 1.0 if caps.fp16_arith else 0.0
    # int8 MACs per cycle of the best int8 instruction ncnn's kernels use, and of the widening
    # multiplies int8 kernels without a channel reduction get (see int8_macs_per_cycle).
    r[N_INT8_MPC] = int8_macs_per_cycle(caps.simd_bits, caps.fp32_flop_per_cycle, caps.features)
    r[N_INT8_WIDE_MPC] = int8_widening_macs_per_cycle(caps.simd_bits, caps.fp32_flop_per_cycle)
    r[N_INT16_MPC] = int16_macs_per_cycle(caps.simd_bits, caps.fp32_flop_per_cycle, caps.features)
    generic = generic_path(caps)
    if generic:
        # A core on ncnn's portable layers (generic_path: Knights Corner's IMCI, a MIPS core
        # with only Loongson MMI, RISC-V without V) runs scalar C++: one fp32 FMA (2 FLOP)
        # per FP pipe per cycle, not its vector or paired-single rate, and one int8
        # multiply-accumulate per cycle.
        r[N_FP32_FPC] = 2.0 * max(1, caps.fma_pipes)
        r[N_INT8_MPC] = r[N_INT8_WIDE_MPC] = r[N_INT16_MPC] = 1.0
    r[N_DRAM_BPS] = proc.dram_bw_gbs * 1e9
    r[N_LLC_BYTES] = _llc_bytes(proc, p)
    r[N_CLASS] = class_index
    r[N_EB_ACT] = 2.0 if caps.fp16_arith else 4.0
    r[N_FC_W_BYTES] = fc_weight_bytes(caps, generic)
    r[N_NET_W_FITS] = 0.0
    # Whether the slowest thread's L2 is shared by its cluster (a cluster without a core file
    # says nothing: private assumed).
    r[N_L2_SHARED] = 1.0 if getattr(c, "l2_shared", False) else 0.0
    # Physical cores running at least one thread (SMT siblings and time-shared threads count
    # their core once): what the thread inefficiency grows with (ncnn_cost.kernel_time).
    r[N_CORES_BUSY] = float(sum(1 for ks in p.load for k in ks if k > 0))
    # How ncnn's parallel loops cut a layer into work items on this core (ncnn_cost.work_items).
    r[N_PACK] = float(pack_lanes(caps))
    r[N_M_GRANULE] = float(gemm_m_granule(caps))
    r[N_SMT_K] = float(p.straggler_k)
    # Knights Corner issues from one hardware thread at most every other cycle (its in-order
    # front end alternates between the core's threads; Intel Xeon Phi Coprocessor System
    # Software Developers Guide, core pipeline): one thread per core reaches half the core.
    r[N_LONE_ISSUE] = 0.5 if caps.isa_class == "x86-knc" else 1.0
    return NcnnHw(r, caps, fit_class(caps), "generic" if generic else caps.arch, p.describe())


def with_net(row: np.ndarray, weight_elems: float) -> np.ndarray:
    """A copy of `row` that knows whether the network's weights stay in the last cache level."""
    r = row.copy()
    r[N_NET_W_FITS] = 1.0 if weight_elems * r[N_EB_ACT] <= 0.5 * r[N_LLC_BYTES] else 0.0
    return r
