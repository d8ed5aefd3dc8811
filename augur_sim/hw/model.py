"""Validated hardware description: small frozen dataclasses in SI-ish units.

YAML carries human units (KiB, GHz, us); these objects carry what the cost engine
multiplies with (bytes, seconds, GB/s, FLOP/cycle). Only the loader builds them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from augur_sim.errors import AugurError, name_hint

# How a precision the processor does not declare is costed. fp16/bf16 without a
# declared rate run at the fp32 rate (the CPU converts and computes in fp32; a GPU
# without fast half math does the same). int8 without a rate runs at the fp16 rate
# if declared, else fp32 (int8 GEMMs fall back to the widest fast path). tf32 is an
# fp32 tensor-core mode: absent, it is plain fp32. fp64 has no fallback: costing it
# at the fp32 rate would be optimistic by up to 64x on GPUs, so it is an error.
PRECISION_FALLBACK: dict[str, tuple[str, ...]] = {
    "fp64": (),
    "fp32": (),
    "tf32": ("fp32",),
    "fp16": ("fp32",),
    "bf16": ("fp16", "fp32"),
    "int8": ("fp16", "fp32"),
}

# Runtimes priced by a model of their own (estimator.estimate_ncnn / estimate_ncnn_vulkan), not
# by a runtime a spec lists, and the processor kind each runs on. A spec never lists them under
# `runtimes` (they take nothing from it beyond the processor's facts) but may name one as a
# processor's default_runtime: `ncnn` on any CPU, `ncnn-vulkan` on a GPU with a `vulkan:` section.
MODEL_RUNTIMES = {"ncnn": "cpu", "ncnn-vulkan": "gpu"}


def model_runtimes_for(kind: str, has_vulkan: bool) -> list[str]:
    """The MODEL_RUNTIMES a processor of `kind` can run (ncnn-vulkan needs a `vulkan:` section)."""
    return [n for n, k in MODEL_RUNTIMES.items() if k == kind and (n != "ncnn-vulkan" or has_vulkan)]


@dataclass(frozen=True)
class Source:
    id: str
    ref: str


# The associativity given to a clustered CPU's L1 and L2 (the core files do not list it). Only
# the trace-driven oracle (augur cachesim) reads associativity; `hw show` and cachesim mark it.
ASSUMED_ASSOC = 8


@dataclass(frozen=True)
class Cache:
    level: int
    size_bytes: int       # one instance: per unit if private, total if shared
    line_bytes: int
    assoc: int
    shared: bool
    bw_gbs: float         # aggregate over all units of the processor
    assoc_assumed: bool = False   # ASSUMED_ASSOC, not a figure of the spec or the core file


@dataclass(frozen=True)
class Energy:
    pj_per_flop: dict     # precision -> pJ per FLOP
    dram_pj_per_byte: float
    cache_pj_per_byte: tuple  # one per cache level, innermost first
    static_w: float

    def flop_pj(self, precision: str) -> float:
        """pJ per FLOP at `precision`, falling back like peak rates do."""
        for p in (precision,) + PRECISION_FALLBACK.get(precision, ()):
            if p in self.pj_per_flop:
                return float(self.pj_per_flop[p])
        raise AugurError(f"no energy per FLOP for precision {precision!r}; "
                         f"the spec has {sorted(self.pj_per_flop)}")


@dataclass(frozen=True)
class Runtime:
    name: str
    stack: str
    source: str
    gemm_peak: float
    gemm_half_m: float
    gemm_half_n: float
    gemm_half_k: float
    tile_m: int
    tile_n: int
    dw_conv: float
    mem: float
    eltwise: float        # defaults to mem when the YAML omits it
    fusion: tuple         # of rule names from schema.FUSION_RULES
    # Per-kernel fixed cost under this runtime (s); the processor's dispatch_s unless the
    # runtime declares its own dispatch_us (e.g. PyTorch eager vs TensorRT on one GPU).
    dispatch_s: float = 0.0
    # Host time to issue one kernel of an asynchronous runtime (0 for synchronous CPU
    # runtimes): the GPU runs a kernel while the host issues the next, so a kernel takes
    # max(its own time, issue_s).
    issue_s: float = 0.0
    # Transcendental evaluations (exp, pow, tanh, erf) per second per unit in this runtime's
    # element-wise code; 0 = not modelled (the kernel pays only its counted FLOPs).
    transcendental_per_s: float = 0.0
    # pow(x, y) with a non-integer y (LRN) per second per unit; 0 = not modelled.
    pow_per_s: float = 0.0
    # Fraction of the GEMM efficiency a convolution lowered to GEMM reaches (1 = the same).
    conv_gemm: float = 1.0
    # Name of the fit file (hwspecs/fits/NAME.yaml) the fields came from, or None.
    fitted: str | None = None
    # The fit class the fields came from (a core name, an isa_class or 'default').
    fit_class: str | None = None

    # GPU kernel-level model family ("" = the generic efficiency fields) and the math an
    # fp32 conv / matmul runs in under this stack ("tf32" only where the chip has it).
    kernel_model: str = ""
    fp32_conv_math: str = "fp32"
    fp32_matmul_math: str = "fp32"
    graph_floor_s: float = 0.0
    # The tensor precisions the stack runs (empty: every precision the processor has a rate
    # for); precision.resolve costs one outside it at its fallback, with a warning.
    precisions: tuple = ()
    # The runtime's `memory:` section as (key, value) pairs (hashable); empty = defaults.
    memory: tuple = ()


@dataclass(frozen=True)
class SmFacts:
    """What every GPU of one SM architecture shares (hwspecs/archs/)."""
    compute_capability: float
    fp32_lanes: int
    tensor_cores: int
    l1_shared_kib: float
    max_shared_kib: float
    registers: int
    max_warps: int
    max_blocks: int


@dataclass(frozen=True)
class VulkanFacts:
    """What ncnn's Vulkan backend sees of a GPU (the spec's `vulkan:` section)."""
    gpu_class: str            # schema.VULKAN_CLASSES
    fp16_storage: bool
    fp16_arithmetic: bool
    discrete: bool


def _rate_precision(table: dict, precision: str, where: str) -> str:
    """The key of `table` whose rate `precision` is costed at (see PRECISION_FALLBACK)."""
    if precision not in PRECISION_FALLBACK:
        raise AugurError(f"unknown precision {precision!r}; expected one of "
                         f"{', '.join(PRECISION_FALLBACK)}", where=where)
    for p in (precision,) + PRECISION_FALLBACK[precision]:
        if p in table:
            return p
    raise AugurError(f"processor has no {precision} rate and {precision} has no fallback; "
                     f"it has {', '.join(sorted(table))}", where=where)


@dataclass(frozen=True)
class Core:
    """One CPU microarchitecture (hwspecs/cores/NAME.yaml): facts shared by every SoC using it."""
    name: str
    description: str
    vendor: str
    isa: str
    isa_class: str
    simd_bits: int
    fma_pipes: int
    flop_per_cycle: dict          # precision -> FLOP/cycle per core (FMA = 2)
    features: tuple
    l1d_bytes: int
    l2_bytes: int | None          # per core, or per cluster when l2_shared; None: not given
    l2_shared: bool
    l1_bytes_per_cycle: float
    l2_bytes_per_cycle: float
    smt: int
    issue_width: int | None
    sources: tuple
    file: str


@dataclass(frozen=True)
class Cluster:
    """Cores of one type at one clock inside a CPU processor. A processor written with plain
    `units`/`clock_ghz` is one implicit cluster (core None, caches from the processor)."""
    name: str
    core: Core | None
    count: int                    # physical cores
    clock_ghz: float              # the cluster's maximum clock
    flop_per_cycle: dict          # per core: the core's table (or the processor's, implicit)
    smt: int = 1
    l1d_bytes: int = 0
    l2_bytes: int = 0             # one instance: per core, or the cluster's total when l2_shared
    l2_shared: bool = False
    l1_bytes_per_cycle: float = 0.0
    l2_bytes_per_cycle: float = 0.0

    @property
    def core_name(self) -> str:
        return self.core.name if self.core is not None else self.name

    @property
    def isa_class(self) -> str | None:
        return self.core.isa_class if self.core is not None else None

    def core_flops(self, precision: str = "fp32") -> float:
        """Peak FLOP/s of one core of this cluster at `precision` (or its fallback)."""
        p = _rate_precision(self.flop_per_cycle, precision, self.name)
        return self.clock_ghz * 1e9 * float(self.flop_per_cycle[p])


@dataclass(frozen=True)
class Processor:
    name: str
    kind: str             # "cpu" | "gpu"
    units: int
    clock_ghz: float
    flop_per_cycle_per_unit: dict
    caches: tuple         # of Cache, innermost first
    dram_bw_gbs: float
    dispatch_s: float
    energy: Energy
    runtimes: dict        # name -> Runtime
    default_runtime: str
    arch: str = ""        # hwspecs/archs/ name this processor inherits from ("" = none)
    sm: SmFacts | None = None
    vulkan: VulkanFacts | None = None
    # GPU power facts (0 = not given): board power limit, base clock, process node (hw/power.py).
    tdp_w: float = 0.0
    base_clock_ghz: float = 0.0
    process_nm: float = 0.0
    # CPU clusters from a `clusters:` spec (empty for a plain units/clock_ghz processor, which
    # placement treats as one implicit cluster). units = the clusters' cores, clock_ghz = the
    # fastest cluster's, and flop_per_cycle_per_unit the table that makes peak_flops the sum
    # of the clusters' peaks; caches are those of the default (big) core set.
    clusters: tuple = ()
    # Fitted runtimes resolved per core type: (runtime name, core name) -> Runtime. The
    # runtime in `runtimes` is the one for the default (big) core set.
    fitted: dict = field(default_factory=dict, compare=False, repr=False)
    # Clustered CPUs: the shared cache levels beyond L2 as written in the spec.
    shared_caches: tuple = ()

    def rate_precision(self, precision: str) -> str:
        """The declared precision whose rate `precision` is costed at (see PRECISION_FALLBACK)."""
        return _rate_precision(self.flop_per_cycle_per_unit, precision, self.name)

    def rate_precision_within(self, precision: str, allowed: tuple) -> str:
        """As rate_precision, among the precisions a runtime's stack runs (`allowed`): the first
        of `precision` and its fallbacks that both the spec has a rate for and the stack runs;
        fp32 when none is."""
        for p in (precision,) + PRECISION_FALLBACK.get(precision, ()):
            if p in allowed and p in self.flop_per_cycle_per_unit:
                return p
        return "fp32"

    def peak_flops(self, precision: str = "fp32") -> float:
        """Peak FLOP/s = units * clock * FLOP/cycle/unit at `precision` (or its fallback).
        For a clustered CPU: the sum over clusters of count x clock x the core's rate (each
        core falling back on its own table)."""
        if self.clusters:
            return float(sum(c.count * c.core_flops(precision) for c in self.clusters))
        fpc = self.flop_per_cycle_per_unit[self.rate_precision(precision)]
        return float(self.units) * self.clock_ghz * 1e9 * float(fpc)

    def flop_pj(self, precision: str) -> float:
        """pJ per FLOP at `precision`. A precision the spec's energy table lacks takes the figure
        of the precision it falls back on (PRECISION_FALLBACK) scaled by their peak rates: the
        table's figures are 0.6 x the active power over that precision's peak (docs/HWSPECS.md),
        so a precision this processor runs faster on the same power costs less per FLOP (an
        ARMv8.2 core's fp16 at twice the fp32 rate: half the fp32 figure). Where its rate falls
        back too, the figure is the fallback's unchanged."""
        table = self.energy.pj_per_flop
        if precision in table:
            return float(table[precision])
        pj = self.energy.flop_pj(precision)         # the fallback's figure (or the error)
        base = next(p for p in PRECISION_FALLBACK.get(precision, ()) if p in table)
        fast, slow = self.peak_flops(precision), self.peak_flops(base)
        return pj * slow / fast if fast > slow > 0 else pj

    def energy_j(self, precision: str, flops, dram_bytes, time_s):
        """Energy of kernels (scalars or arrays) as the runtime models without per-level cache
        traffic count it (ncnn CPU and Vulkan): FLOPs at `precision` (flop_pj), the DRAM bytes
        they move, static power over their time."""
        return ((flops * self.flop_pj(precision) + dram_bytes * self.energy.dram_pj_per_byte) * 1e-12
                + self.energy.static_w * time_s)

    def model_runtimes(self) -> list[str]:
        """The runtimes with a model of their own this processor can run (MODEL_RUNTIMES)."""
        return model_runtimes_for(self.kind, self.vulkan is not None)

    def default_model(self) -> str | None:
        """The default runtime where it is one with a model of its own (MODEL_RUNTIMES), else None."""
        return self.default_runtime if self.default_runtime in MODEL_RUNTIMES else None

    def runtime(self, name: str | None = None) -> Runtime:
        """The named runtime of the spec, or the default one. A runtime with a model of its own
        (ncnn, ncnn-vulkan) has no record here: the error says so, and unknown names list
        what the processor has."""
        key = self.default_runtime if name is None else name
        if key in self.runtimes:
            return self.runtimes[key]
        if key in self.model_runtimes():
            which = "its default runtime" if name is None else "runtime"
            raise AugurError(f"{which} {key!r} is priced by a model of its own, which this does not use; "
                             f"name a runtime of the spec with --runtime: {', '.join(self.runtimes)}",
                             where=self.name)
        names = [*self.runtimes, *self.model_runtimes()]
        raise AugurError(f"processor '{self.name}' has no runtime '{key}'"
                         f"{name_hint(key, names, '', known='it has', max_listed=len(names))}")


@dataclass(frozen=True)
class Device:
    name: str
    description: str
    memory_bytes: int
    sources: tuple        # of Source
    processors: dict      # name -> Processor
    file: str
    # The merged, validated YAML tree (located nodes) that built this device. Kept so
    # apply_overrides can edit the spec and re-validate it; the engine never reads it.
    raw: object = field(default=None, compare=False, repr=False)
    # The folder the spec was read from: its cores/, archs/, fits/ are searched first.
    near: object = field(default=None, compare=False, repr=False)
    # The calibration host (the spec's `host:` section as a plain dict); None if not recorded.
    host: dict | None = field(default=None, compare=False)

    def processor(self, name: str | None = None) -> Processor:
        """The named processor; with no name, the only one, or the first GPU."""
        if name is None:
            if len(self.processors) == 1:
                return next(iter(self.processors.values()))
            gpus = [p for p in self.processors.values() if p.kind == "gpu"]
            if gpus:
                return gpus[0]
            return next(iter(self.processors.values()))
        if name not in self.processors:
            raise AugurError(f"device {self.name} has no processor {name!r}; it has "
                             f"{', '.join(self.processors)}", file=self.file)
        return self.processors[name]
