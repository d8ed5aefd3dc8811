"""The hardware-spec schema, declared as data.

Every field a device YAML may hold is one `Field` row in `SECTIONS`. The loader
validates against these rows and nothing else, and `schema_doc()` prints the same
rows, so documentation and validation cannot drift apart.

Bounds are sanity limits, not physics: they catch typos (a clock in MHz written
where GHz belongs, a bandwidth in bytes/s, a size in bytes written as KiB) and
values that would overflow or divide by zero downstream.
"""
from __future__ import annotations

from dataclasses import dataclass

# Precisions a FLOP/cycle or pJ/FLOP table may name. fp32 is always required.
PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "int8")

# Fusion rules a runtime can declare (the lowering pass applies them, see docs/HWSPECS.md).
from augur_sim.fusion import FUSION_RULES  # noqa: E402  (shared with the lowering)

PROCESSOR_KINDS = ("cpu", "gpu")

# GPU kernel-level models a runtime may name (augur_sim/engine/gpu_algos.py); each has its
# fitted parameters in hwspecs/fits/NAME.yaml.
KERNEL_MODELS = ("pytorch",)

# GPU architecture classes ncnn's Vulkan backend is fitted on (augur_sim/engine/ncnn_vulkan.py,
# measurements/ncnn/vulkan_fit.yaml): one per family of shader cores whose compilers and
# memory systems behave alike, never one per device.
VULKAN_CLASSES = (
    "nvidia",          # GeForce/Quadro/Jetson (Pascal..Ampere): 32-wide warps, CUDA cores
    "amd",             # GCN (Polaris, Vega) and RDNA: 64/32-wide waves
    "intel",           # Gen8..Gen12 EUs (HD/UHD/Xe integrated)
    "adreno",          # Qualcomm Adreno 4xx..7xx, X1
    "mali-midgard",    # Mali-T6xx/T7xx/T8xx: vec4 VLIW shader cores
    "mali-bifrost",    # Mali-G31..G76, G52: quad-based execution engines
    "mali-valhall",    # Mali-G57..G720: 16-wide warps
    "powervr",         # Imagination Rogue / B-Series
    "videocore",       # Broadcom VideoCore VI/VII (v3dv driver)
    "apple",           # Apple GPU through MoltenVK
)

# ISA classes a core file may name: the labels portable runtime fits key on (with the core
# name first, see docs/HWSPECS.md "Fitted runtimes"). Coarse on purpose: one class per
# family of SIMD code paths a runtime such as ncnn compiles (its arm/x86/mips/loongarch/
# riscv kernels dispatch on the same features).
ISA_CLASSES = (
    "armv7-neon",            # 32-bit Arm, 128-bit NEON + VFPv4 (Cortex-A5..A17)
    "armv8-neon",            # AArch64 ASIMD, no fp16 arithmetic (A35/A53/A57/A72/A73, Denver2...)
    "armv8.2-fp16",          # + fp16 arithmetic (asimdhp), no dot product
    "armv8.2-fp16-dot",      # + SDOT/UDOT (A55/A75/A76/A77/A78/X1, N1, Apple M1...)
    "armv8.6-bf16-i8mm",     # + BF16 and I8MM (Armv9 cores, X2+, N2/V1/V2, Apple M2+)
    "x86-sse",               # SSE2..SSE4.2, no AVX (Yonah, Silvermont/Airmont, Tremont)
    "x86-avx",               # AVX without FMA/AVX2
    "x86-avx2",              # AVX2 + FMA (Zen 1-3, Skylake client, Golden Cove client, Gracemont)
    "x86-avx512",            # AVX-512F (Skylake-SP and later servers, Ice/Tiger Lake, Zen 4/5)
    "x86-knc",               # Knights Corner IMCI (512-bit, not AVX-512)
    "mips-mmi",              # Loongson MMI (64-bit SIMD)
    "mips-msa",              # MIPS MSA 128-bit
    "mips-scalar",           # MIPS without usable SIMD
    "loongarch-lsx",         # LoongArch 128-bit LSX
    "loongarch-lasx",        # LoongArch 256-bit LASX
    "riscv64-scalar",        # RV64GC, no vector unit
    "riscv64-rvv",           # RVV 1.0
    "riscv64-xtheadvector",  # T-Head's RVV 0.7.1 vector extension
    "sw64",                  # Sunway SW64
)

# Feature flags a core file may list (named like the Linux hwcaps / ncnn's cpu_support_*).
CORE_FEATURES = (
    "neon", "vfpv4", "asimdhp", "dotprod", "fhm", "i8mm", "bf16", "sve", "sve2",
    "sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "avx", "f16c", "fma", "avx2",
    "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx", "imci",
    "mmi", "msa", "lsx", "lasx", "rvv", "zfh", "xtheadvector", "sw_simd",
)

# Sanity limits shared by several fields.
MAX_CLOCK_GHZ = 10.0
MAX_BW_GBS = 100_000.0
MAX_CACHE_KIB = float(1 << 30)          # 1 TiB expressed in KiB
MAX_MEMORY_GIB = 65_536.0               # 64 TiB: a multi-socket server, not a typo
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Field:
    """One key of one section.

    type is one of: str, int, number, bool, section (nested mapping of `of`),
    list_of (list of mappings of section `of`), map_of (mapping user-name ->
    section `of`), precision_map (mapping precision -> number), number_list,
    str_list. Bounds apply to numbers and to every element of number collections;
    `lo_open` makes the lower bound exclusive (the usual case: zero is rejected).
    """
    name: str
    type: str
    unit: str = ""
    required: bool = True
    lo: float | None = None
    hi: float | None = None
    doc: str = ""
    lo_open: bool = True
    of: str | None = None
    choices: tuple = ()
    # Conditional presence (keys of the same mapping): a field in `required_unless` is
    # optional when one of those keys is present; a field in `forbidden_with` must be
    # absent when one of them is (it is derived from them instead).
    required_unless: tuple = ()
    forbidden_with: tuple = ()


F = Field

SECTIONS: dict[str, tuple[Field, ...]] = {
    "device": (
        F("name", "str", doc="device name; must equal the file stem"),
        F("description", "str", doc="one line: what the device is"),
        F("memory_gib", "number", "GiB", lo=0, hi=MAX_MEMORY_GIB, doc="DRAM capacity"),
        F("extends", "str", required=False,
          doc="parent spec: a name (searched like load_hw) or a path relative to this file; "
              "child mappings merge into the parent's, lists replace, sources merge by id"),
        F("sources", "list_of", of="source", doc="where the figures come from"),
        F("processors", "map_of", of="processor", doc="processor name -> processor"),
        F("host", "section", of="host", required=False,
          doc="the machine a calibrated spec was measured on (written by augur calibrate; "
              "augur validate warns when it is not the machine it runs on)"),
    ),
    "host": (
        F("cpu_model", "str", doc="/proc/cpuinfo 'model name'"),
        F("cores", "int", "cores", lo=1, hi=1_000_000, lo_open=False, doc="logical CPUs the OS showed"),
        F("threads", "int", "threads", lo=1, hi=1_000_000, lo_open=False, doc="ORT intra-op threads calibrated"),
        F("isa", "str_list", doc="ISA flags that change the kernels (avx2, avx512f, fma, neon...)"),
        F("onnxruntime", "str", required=False, doc="ONNX Runtime version calibrated"),
        F("load_avg", "number_list", "runnable tasks", required=False, lo=0, hi=1e6, lo_open=False,
          doc="1-minute load average before and after the calibration run"),
    ),
    "source": (
        F("id", "str", doc="short key cited by '# src: ID' comments"),
        F("ref", "str", doc="URL, datasheet title, or 'measured by augur calibrate on DATE, MACHINE'"),
    ),
    "processor": (
        F("kind", "str", choices=PROCESSOR_KINDS, doc="cpu: units are cores; gpu: units are SMs"),
        F("units", "int", "cores|SMs", lo=1, hi=1_000_000, lo_open=False,
          required_unless=("clusters",), forbidden_with=("clusters",),
          doc="cores (cpu) or streaming multiprocessors (gpu) the processor has; a clustered "
              "CPU derives it (the sum of the clusters' counts)"),
        F("clock_ghz", "number", "GHz", lo=0, hi=MAX_CLOCK_GHZ,
          required_unless=("clusters",), forbidden_with=("clusters",),
          doc="sustained clock the peaks use; a clustered CPU derives it (the fastest cluster's)"),
        F("flop_per_cycle_per_unit", "precision_map", "FLOP/cycle", lo=0, hi=1_000_000,
          required_unless=("clusters",), forbidden_with=("clusters",),
          doc="peak FLOPs (FMA = 2) per cycle per core/SM, per precision; fp32 required; a "
              "clustered CPU derives it from its core types"),
        F("clusters", "list_of", of="cluster", required=False,
          doc="CPU only: the core clusters (big.LITTLE); core facts come from "
              "hwspecs/cores/CORE.yaml, L1 and L2 are derived per cluster, `caches` then lists "
              "only the shared levels beyond L2"),
        F("caches", "list_of", of="cache",
          doc="cache levels, innermost first; each larger than the last (clustered CPUs: only "
              "the shared levels beyond the clusters' L2, possibly none)"),
        F("dram_bw_gbs", "number", "GB/s", lo=0, hi=MAX_BW_GBS, doc="peak DRAM bandwidth (10^9 B/s)"),
        F("overheads", "section", of="overheads", doc="fixed costs"),
        F("energy", "section", of="energy", doc="energy figures"),
        F("runtimes", "map_of", of="runtime", doc="runtime name -> efficiency of this processor under it"),
        F("default_runtime", "str", doc="runtime used when none is asked for: a key of runtimes, or a built-in model "
          "(ncnn on a CPU, ncnn-vulkan on a GPU with a vulkan section)"),
        F("description", "str", required=False, doc="free text, e.g. the core or GPU model"),
        F("arch", "str", required=False,
          doc="architecture file (hwspecs/archs/NAME.yaml) whose processor facts this one "
              "inherits; keys written here win"),
        F("tdp_w", "number", "W", lo=0, hi=100_000, required=False,
          doc="GPU: board power limit (TDP) from the datasheet; with process_nm it bounds the "
              "clock a heavy FMA load sustains (hw/power.py); absent: no power limit modelled"),
        F("base_clock_ghz", "number", "GHz", lo=0, hi=MAX_CLOCK_GHZ, required=False,
          doc="GPU: datasheet base clock, the floor of the power-limited clock"),
        F("process_nm", "number", "nm", lo=0, hi=1000, required=False,
          doc="GPU: the die's process node as its maker names it (scales energy per FLOP)"),
        F("sm", "section", required=False, of="sm",
          doc="GPU streaming-multiprocessor facts every chip of the architecture shares"),
        F("vulkan", "section", required=False, of="vulkan",
          doc="GPU: what ncnn's Vulkan backend sees of it (--runtime ncnn-vulkan, "
              "augur_sim/engine/ncnn_vulkan.py); flop_per_cycle_per_unit then gives the "
              "shader-core rates (no tensor cores); absent: no ncnn-vulkan figures"),
    ),
    "vulkan": (
        F("class", "str", choices=VULKAN_CLASSES,
          doc="GPU architecture class the ncnn-vulkan fit keys on (closed list)"),
        F("fp16_storage", "bool",
          doc="the driver exposes 16-bit storage buffers (VK_KHR_16bit_storage): ncnn stores "
              "blobs and weights in fp16"),
        F("fp16_arithmetic", "bool",
          doc="the driver exposes shaderFloat16: ncnn's shaders compute in fp16, at the fp16 "
              "rate of flop_per_cycle_per_unit"),
        F("discrete", "bool",
          doc="a discrete GPU (Vulkan device type 0 as ncnn tests it): ncnn's Winograd "
              "variant choice depends on it"),
    ),
    "sm": (
        F("compute_capability", "number", lo=0, hi=100, doc="CUDA compute capability, e.g. 8.0"),
        F("fp32_lanes", "int", "lanes", lo=1, hi=4096, lo_open=False, doc="FP32 FMA lanes per SM"),
        F("tensor_cores", "int", lo=0, hi=1024, lo_open=False, doc="tensor cores per SM (0: none)"),
        F("l1_shared_kib", "number", "KiB", lo=0, hi=65536, doc="L1 + shared-memory array per SM"),
        F("max_shared_kib", "number", "KiB", lo=0, hi=65536, doc="shared memory one SM can give its blocks"),
        F("registers", "int", "32-bit", lo=1, hi=1 << 24, lo_open=False, doc="registers per SM"),
        F("max_warps", "int", lo=1, hi=1024, lo_open=False, doc="resident warps per SM"),
        F("max_blocks", "int", lo=1, hi=1024, lo_open=False, doc="resident thread blocks per SM"),
    ),
    "cluster": (
        F("name", "str", doc="cluster name, e.g. prime, big, little"),
        F("core", "str", doc="core type: the stem of a file in hwspecs/cores/"),
        F("count", "int", "cores", lo=1, hi=65536, lo_open=False, doc="cores in the cluster"),
        F("clock_ghz", "number", "GHz", lo=0, hi=MAX_CLOCK_GHZ,
          doc="the cluster's maximum clock (what ncnn reads from cpuinfo_max_freq to split big "
              "from little cores); the peaks use it"),
        F("l2_kib", "number", "KiB", required=False, lo=0, hi=MAX_CACHE_KIB,
          doc="L2 as this SoC configures it (default: the core file's l2_kib): per core, or the "
              "cluster's total when l2_shared"),
        F("l2_shared", "bool", required=False,
          doc="true: one L2 shared by the cluster's cores (default: the core file's l2_shared)"),
        F("description", "str", required=False, doc="free text"),
    ),
    "core": (
        F("name", "str", doc="core type; must equal the file stem"),
        F("description", "str", doc="one line: what the core is"),
        F("extends", "str", required=False,
          doc="parent core file (a stem in the same folder): a vendor variant such as a Kryo "
              "core inherits its Arm core's facts"),
        F("vendor", "str", doc="designer, e.g. Arm, Qualcomm, Apple, AMD, Intel"),
        F("isa", "str", doc="instruction set, e.g. armv8.2-a, x86-64-v3, rv64gcv, loongarch64"),
        F("isa_class", "str", choices=ISA_CLASSES,
          doc="the SIMD family runtime fits key on (closed list, see ISA classes)"),
        F("simd_bits", "int", "bits", lo=0, hi=4096, lo_open=False,
          doc="width of one SIMD register/operation the core executes (0: no SIMD)"),
        F("fma_pipes", "int", "pipes", lo=0, hi=16, lo_open=False,
          doc="vector (or scalar FP, without SIMD) FMA pipelines"),
        F("flop_per_cycle", "precision_map", "FLOP/cycle", lo=0, hi=100_000,
          doc="peak FLOPs (FMA = 2) per cycle per core per precision; fp16 only where the core "
              "computes in fp16; int8 = 2 x MACs/cycle of the best int8 instruction"),
        F("features", "str_list", choices=CORE_FEATURES, doc="ISA features (closed vocabulary)"),
        F("l1d_kib", "number", "KiB", lo=0, hi=MAX_CACHE_KIB, doc="L1 data cache per core"),
        F("l2_kib", "number", "KiB", required=False, lo=0, hi=MAX_CACHE_KIB,
          doc="L2 per core, or per cluster when l2_shared (a device's cluster may override "
              "the SoC's configuration)"),
        F("l2_shared", "bool", required=False,
          doc="true: the L2 is one per cluster, not one per core (default false)"),
        F("l1_bytes_per_cycle", "number", "B/cycle", lo=0, hi=100_000,
          doc="L1 load bandwidth per core"),
        F("l2_bytes_per_cycle", "number", "B/cycle", lo=0, hi=100_000,
          doc="L2 -> L1 fill bandwidth per core"),
        F("smt", "int", "threads", required=False, lo=1, hi=8, lo_open=False,
          doc="hardware threads per core (default 1); logical CPUs = count x smt"),
        F("issue_width", "int", "instructions", required=False, lo=1, hi=64, lo_open=False,
          doc="decode/issue width (informational)"),
        F("sources", "list_of", of="source", doc="where the figures come from"),
    ),
    "fit": (
        F("name", "str", doc="runtime fit name; must equal the file stem (a spec's `fitted:`)"),
        F("description", "str", doc="one line: what was fitted, on what data"),
        F("sources", "list_of", of="source", doc="the data and procedure"),
        F("runtime", "section", of="runtime_part",
          doc="fields shared by every class (stack, source, fusion...)"),
        F("classes", "class_map", of="runtime_part",
          doc="core name or isa_class (or 'default') -> runtime fields; lookup order: the "
              "core, then its isa_class, then default"),
    ),
    "cache": (
        F("level", "int", lo=1, hi=8, lo_open=False, doc="1 = innermost; strictly increasing"),
        F("size_kib", "number", "KiB", lo=0, hi=MAX_CACHE_KIB,
          doc="capacity of one instance (per core/SM if private, total if shared)"),
        F("line_bytes", "int", "B", lo=8, hi=4096, lo_open=False, doc="line size, a power of two"),
        F("assoc", "int", "ways", lo=1, hi=65536, lo_open=False, doc="associativity"),
        F("shared", "bool", doc="true: one instance shared by all units; false: one per unit"),
        F("bw_gbs", "number", "GB/s", lo=0, hi=MAX_BW_GBS,
          doc="aggregate bandwidth of this level over all units of the processor"),
    ),
    "overheads": (
        F("dispatch_us", "number", "us", lo=0, hi=1_000_000, lo_open=False,
          doc="fixed cost per kernel/layer: framework dispatch on CPU, launch on GPU"),
    ),
    "energy": (
        F("pj_per_flop", "precision_map", "pJ/FLOP", lo=0, hi=1_000_000,
          doc="dynamic energy per FLOP, per precision; fp32 required"),
        F("dram_pj_per_byte", "number", "pJ/B", lo=0, hi=1_000_000, doc="energy per DRAM byte"),
        F("cache_pj_per_byte", "number_list", "pJ/B", lo=0, hi=1_000_000,
          doc="energy per byte at each cache level; one entry per cache"),
        F("static_w", "number", "W", lo=0, hi=100_000, lo_open=False,
          doc="static/idle power charged for the whole run time"),
    ),
    "runtime": (
        F("fitted", "str", required=False,
          doc="take every field this runtime does not give from hwspecs/fits/FITTED.yaml, by "
              "the core type (then isa_class) of the cores the threads run on; CPU clusters only"),
        F("stack", "str", required_unless=("fitted",), doc="software stack, free text (library, version, OS)"),
        F("source", "str", required_unless=("fitted",),
          doc="'estimate: reasoning' or 'measured by augur calibrate on DATE, MACHINE'"),
        F("gemm_peak", "number", "fraction", lo=0, hi=1, required_unless=("fitted",),
          doc="fraction of peak a large GEMM reaches"),
        F("gemm_half_m", "number", "elements", lo=0, hi=1e9, required_unless=("fitted",),
          doc="GEMM M at which efficiency halves"),
        F("gemm_half_n", "number", "elements", lo=0, hi=1e9, required_unless=("fitted",),
          doc="GEMM N at which efficiency halves"),
        F("gemm_half_k", "number", "elements", lo=0, hi=1e9, required_unless=("fitted",),
          doc="GEMM K at which efficiency halves"),
        F("tile_m", "int", "elements", lo=1, hi=65536, lo_open=False,
          required_unless=("fitted",),
          doc="output tile rows per unit (cpu micro-kernel / gpu CTA) for utilisation and waves"),
        F("tile_n", "int", "elements", lo=1, hi=65536, lo_open=False, required_unless=("fitted",),
          doc="output tile columns per unit"),
        F("dw_conv", "number", "fraction", lo=0, hi=1, required_unless=("fitted",),
          doc="fraction of peak depthwise/direct convs reach"),
        F("mem", "number", "fraction", lo=0, hi=1, required_unless=("fitted",),
          doc="fraction of dram_bw_gbs streams reach"),
        F("eltwise", "number", "fraction", required=False, lo=0, hi=1,
          doc="fraction of dram_bw_gbs elementwise ops reach; default = mem"),
        F("fusion", "str_list", choices=tuple(FUSION_RULES),
          required_unless=("fitted",), doc="fusion rules this runtime applies (closed vocabulary)"),
        F("dispatch_us", "number", "us", required=False, lo=0, hi=1_000_000, lo_open=False,
          doc="per-kernel fixed cost under this runtime; default: the processor's "
              "overheads.dispatch_us"),
        F("issue_us", "number", "us", required=False, lo=0, hi=1_000_000, lo_open=False,
          doc="host time to issue one kernel of an asynchronous runtime (GPU eager "
              "frameworks): a kernel overlaps the issue of the next, so it costs at least "
              "this; default 0. kernel_model eager runtimes: the host's issue time of a "
              "tiny op in the network's asynchronous pipeline (a host measurement); absent: "
              "the fitted lat_us"),
        F("transcendental_gops", "number", "G/s", required=False, lo=0, hi=1_000_000, lo_open=False,
          doc="billions of exp-class evaluations (exp, sigmoid, tanh, erf) per second per unit "
              "in this runtime's element-wise code (sigmoid, swish, softmax, gelu...); added to "
              "a kernel's compute time; absent or 0: no such term"),
        F("pow_gops", "number", "G/s", required=False, lo=0, hi=1_000_000, lo_open=False,
          doc="billions of pow(x, y) evaluations with a non-integer exponent per second per "
              "unit (LRN's scale^-beta); added to a kernel's compute time; absent or 0: no "
              "such term"),
        F("conv_gemm", "number", "fraction", required=False, lo=0, hi=1,
          doc="fraction of the GEMM efficiency that convolutions lowered to GEMM reach "
              "(implicit-GEMM index math, halo loads, algorithm choice); default 1"),
        F("kernel_model", "str", required=False, choices=KERNEL_MODELS,
          doc="GPU kernel-level model (conv algorithm choice, GEMM tiles and waves, bandwidth "
              "kernels) with parameters fitted per SM architecture class in "
              "hwspecs/fits/NAME.yaml; absent: the generic efficiency fields above"),
        F("fp32_conv_math", "str", required=False, choices=("fp32", "tf32"),
          doc="math an fp32 convolution runs in: tf32 where the processor has a tf32 rate "
              "(PyTorch's default allows TF32 for cuDNN convs); default fp32"),
        F("fp32_matmul_math", "str", required=False, choices=("fp32", "tf32"),
          doc="math an fp32 matmul/linear runs in (PyTorch's default: fp32); default fp32"),
        F("precisions", "str_list", required=False, choices=("fp32", "fp16", "bf16", "int8"),
          doc="the tensor precisions this software stack runs on the processor, fp32 among them; a precision asked "
              "outside it is costed at its fallback (int8 -> fp16 -> fp32) with a warning, as one "
              "the processor has no rate for; absent: every precision the processor has a rate for"),
        F("graph_floor_us", "number", "us", required=False, lo=0, hi=1_000_000, lo_open=False,
          doc="kernel_model runtimes: per-kernel floor when kernels are replayed without "
              "the host (CUDA graph); absent: the fitted eager floor"),
        F("memory", "section", required=False, of="runtime_memory",
          doc="how this runtime allocates memory (augur_sim/engine/runtime_memory.py); absent: "
              "the model named like the runtime with its documented defaults"),
    ),
    # Constants of the runtime memory models; each model reads the keys it knows.
    "runtime_memory": (
        F("model", "str", required=False, choices=("onnxruntime", "pytorch", "caffe", "ncnn", "tensors"),
          doc="memory model; default: by the runtime's name (onnxruntime*, pytorch*, caffe*, ncnn*)"),
        F("source", "str", required=False, doc="'measured by augur calibrate on DATE, MACHINE' or 'estimate: ...'"),
        *(F(k, "number", u, required=False, lo=0, hi=1e6, lo_open=False, doc=d) for k, u, d in (
            ("base_mib", "MiB", "onnxruntime/ncnn: fixed cost of an empty session"),
            ("per_thread_mib", "MiB", "onnxruntime: per intra-op thread"),
            ("per_node_kib", "KiB", "onnxruntime: per kernel of the optimised graph"),
            ("nchwc_weight_copies", "x", "onnxruntime: resident bytes per byte of NCHWc conv weight"),
            ("plain_weight_copies", "x", "onnxruntime: the same for convs on the generic Conv"),
            ("gemm_weight_copies", "x", "onnxruntime: the same for Gemm/MatMul weights"),
            ("transient_copies", "x", "onnxruntime: copies of the largest initializer while loading"),
            ("activation_factor", "x", "onnxruntime: resident bytes per newly written arena byte (first run)"),
            ("heap_retained_copies", "x", "onnxruntime: freed heap bytes loading leaves resident, per weight byte"),
            ("nchwc_block", "floats", "onnxruntime: MLAS NCHWc block (16 AVX-512, 8 AVX2, 0 none)"),
            ("context_mib", "MiB", "pytorch/caffe: CUDA context and libraries"),
            ("cublas_workspace_mib", "MiB", "pytorch: cuBLAS workspace (default 8.125, 32 on sm_90+)"),
            ("cublaslt_workspace_mib", "MiB", "pytorch: cuBLASLt workspace (default 1)"),
            ("cudnn_workspace_cap_mib", "MiB", "pytorch: largest cuDNN workspace assumed"),
            ("cudnn_workspace", "0|1|2", "pytorch: cuDNN workspace per conv: 0 none, 1 column buffer, "
                                         "2 NHWC copies of fp16 ungrouped convs (default)"),
            ("cudagraph", "0|1", "pytorch: CUDA graph replay (private pool)"),
            ("keep_outputs", "0|1", "pytorch: the executor keeps every layer output until forward returns"),
            ("cudnn", "0|1", "caffe: cuDNN engine convolutions"),
            ("cudnn_workspace_limit_mib", "MiB", "caffe: per-algorithm workspace limit"),
            ("cudnn_streams_per_group", "streams", "caffe: CUDNN_STREAMS_PER_GROUP"),
            ("host_weight_copy", "0|1", "caffe: the weights' host copy shares the memory (Jetson)"),
            ("lightmode", "0|1", "ncnn: Option::lightmode"),
            ("fp16_storage", "0|1", "ncnn: Option::use_fp16_storage"),
            ("weight_copies", "x",
             "ncnn: resident bytes per byte of what the layers keep (Winograd kernels transformed)"))),
    ),
}


# A fit file's runtime parts: the runtime's fields, every one optional (what a fit gives is
# merged under what the spec gives, then the merged runtime is checked as a whole).
SECTIONS["runtime_part"] = tuple(
    Field(**{**f.__dict__, "required": False, "required_unless": ()})
    for f in SECTIONS["runtime"] if f.name != "fitted")

# Sections that are not a device spec's own (printed after it by schema_doc).
CATALOG_SECTIONS = ("core", "fit", "runtime_part")


def field(section: str, name: str) -> Field | None:
    """The Field row for `name` in `section`, or None."""
    for f in SECTIONS[section]:
        if f.name == name:
            return f
    return None


def _bounds(f: Field) -> str:
    if f.lo is None and f.hi is None:
        return ""
    lo = "" if f.lo is None else f"{'>' if f.lo_open else '>='} {f.lo:g}"
    hi = "" if f.hi is None else f"<= {f.hi:g}"
    return ", ".join(p for p in (lo, hi) if p)


def _type_text(f: Field) -> str:
    if f.type in ("section", "list_of", "map_of"):
        return {"section": "{%s}", "list_of": "[%s]", "map_of": "{name: %s}"}[f.type] % f.of
    if f.type == "precision_map":
        return "{precision: number}"
    if f.type == "class_map":
        return f"{{core|isa_class|default: {f.of}}}"
    if f.type == "str_list":
        return "[str]"
    if f.type == "number_list":
        return "[number]"
    return f.type


def schema_doc() -> str:
    """The schema as plain text tables, one per section (used by `augur hw show --schema`
    and docs/HWSPECS.md)."""
    out = ["Hardware spec schema (augur-sim). Numbers: int or float, never bool, never NaN/inf.",
           f"Precisions: {', '.join(PRECISIONS)} (fp32 required in every precision table).",
           ""]
    for sec, fields in SECTIONS.items():
        if sec == "runtime_part":
            out.append("[runtime_part]")
            out.append("  the [runtime] fields except fitted, every one optional")
            out.append("")
            continue
        out.append(f"[{sec}]")
        w = max(len(f.name) for f in fields)
        for f in fields:
            req = "required" if f.required else "optional"
            parts = [_type_text(f)]
            if f.unit:
                parts.append(f.unit)
            b = _bounds(f)
            if b:
                parts.append(b)
            if f.choices and f.type != "str_list":
                parts.append("one of " + "|".join(f.choices))
            if f.required_unless:
                parts.append("optional with " + "|".join(f.required_unless))
            if f.forbidden_with:
                parts.append("absent with " + "|".join(f.forbidden_with))
            out.append(f"  {f.name:<{w}}  {req:<8}  {'; '.join(parts)}")
            out.append(f"  {'':<{w}}            {f.doc}")
        out.append("")
    out.append("[isa classes]")
    out.append("  " + ", ".join(ISA_CLASSES))
    out.append("")
    out.append("[core features]")
    out.append("  " + ", ".join(CORE_FEATURES))
    out.append("")
    out.append("[fusion rules]")
    w = max(len(k) for k in FUSION_RULES)
    for k, v in FUSION_RULES.items():
        out.append(f"  {k:<{w}}  {v}")
    return "\n".join(out) + "\n"
