"""`augur calibrate`: measure this machine under ONNX Runtime (CPU) and write a hardware spec.

Microbenchmarks only, never whole networks (the networks are the validation set):
  - GEMMs (ORT Gemm) and convolutions (dense, grouped, depthwise; 1x1, 3x3, larger;
    strided) of shapes that occur in CNNs, single-op ONNX models built with onnx.helper;
  - pooling, element-wise add, ReLU, LRN, concat, softmax, sigmoid, tanh (the last
    four also fit the runtime's transcendental rates: `pow_gops`, `transcendental_gops`);
  - stride-1 convs, depthwise convs and pools as chains of identical units (see below);
  - memory bandwidth: ORT Add on arrays resident in L2, in L3, and far beyond L3;
  - per-op dispatch: a chain of tiny ReLUs of two lengths (slope = per node,
    intercept = the fixed cost of one session.run call);
  - cache geometry from the OS (/sys/devices/system/cpu/cpu0/cache).
Every benchmark is also built as a LayerGraph (one unit: one layer, or a conv pair) and
lowered; the efficiency
parameters of the `onnxruntime` runtime are then fitted (augur_sim/measure/fit.py) so the
engine's predicted times match the measured ones.

Peak FLOP/s. FLOP/cycle per core comes from the ISA (CPU flags: AVX-512F -> 16 fp32
lanes, AVX2+FMA -> 8, else 4; two FMA pipes, FMA = 2 FLOPs). A VM does not reveal the
sustained clock (/proc/cpuinfo shows the TSC rate), so the clock is derived from the
measured large GEMMs and convs (the median of the three fastest rates per thread):
clock = rate / (FLOP/cycle * ASSUMED_GEMM_PEAK),
never below the nominal MHz. gemm_peak is then fitted against that peak; only the
product peak * gemm_peak is a measurement, and the spec says so.

Threads: ORT runs with intra_op_num_threads = N; the spec's `units` is N (one core
per thread), so `augur estimate --hw host_1t` reproduces a 1-thread run. Cache and
DRAM bandwidths are measured with N threads (aggregate, as the schema wants).

Noise: each benchmark is warmed up, then timed in R rounds; with one thread, rounds
interleave the benchmarks in a shuffled order so a burst of load from another process
spreads over all of them; with several threads each session is timed in one block after
a pause (an idle ORT thread pool keeps spinning for tens of ms and would slow the next
session down several-fold). Medians are fitted and the spread (min / IQR / max) is printed.

Chains: a standalone op pays what a network amortises (session.run, and the NCHWc
Reorder nodes ORT puts around convs and pools, which can cost more than the op itself).
Stride-1 convs, depthwise convs and stride-1 pools are therefore timed as chains of 1 and
1 + K units and the slope is fitted; the other standalone convs and pools have the share
of Reorder time found by a short profiled run removed (see LayerSpec, layout_share).
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AugurError

ASSUMED_GEMM_PEAK = 0.9          # fraction of FMA peak MLAS SGEMM reaches on a large GEMM (assumption)
RUNTIME = "onnxruntime"
FUSION = ("conv_bias", "conv_bn", "conv_relu", "conv_eltwise")
TINY_ENV = "AUGUR_CALIBRATE_TINY"
UNFITTED = ()                      # families measured and reported but not fitted (none since the pow term)


# ------------------------------------------------------------------ machine facts

@dataclass(frozen=True)
class CacheInfo:
    level: int
    size_bytes: int
    line_bytes: int
    assoc: int
    shared: bool


@dataclass(frozen=True)
class MachineInfo:
    cpu_model: str
    cores: int
    flags: frozenset
    nominal_mhz: float
    caches: tuple
    memory_bytes: int
    versions: dict


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _size_bytes(text: str) -> int:
    t = text.strip().upper()
    mult = 1
    for suf, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)):
        if t.endswith(suf):
            t, mult = t[:-1], m
            break
    try:
        return int(t) * mult
    except ValueError:
        return 0


def read_caches(root: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> tuple:
    """Data and unified caches of cpu0, innermost first, from sysfs."""
    out = []
    for d in sorted(root.glob("index*")):
        if _read(d / "type") not in ("Data", "Unified"):
            continue
        try:
            level = int(_read(d / "level"))
        except ValueError:
            continue
        size = _size_bytes(_read(d / "size"))
        line = int(_read(d / "coherency_line_size") or 64)
        assoc = int(_read(d / "ways_of_associativity") or 8)
        shared_list = _read(d / "shared_cpu_list")
        shared = ("-" in shared_list or "," in shared_list)
        if size > 0:
            out.append(CacheInfo(level, size, line, max(assoc, 1), shared))
    out.sort(key=lambda c: c.level)
    return tuple(out)


def machine_info() -> MachineInfo:
    model, mhz, flags = platform.processor() or platform.machine(), 0.0, frozenset()
    for line in _read(Path("/proc/cpuinfo")).splitlines():
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k == "model name" and model in ("", platform.machine(), platform.processor()):
            model = v
        elif k == "cpu MHz" and not mhz:
            try:
                mhz = float(v)
            except ValueError:
                pass
        elif k == "flags" and not flags:
            flags = frozenset(v.split())
    mem = 0
    for line in _read(Path("/proc/meminfo")).splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
    import onnx
    import onnxruntime
    versions = {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__,
                "numpy": np.__version__, "python": platform.python_version()}
    return MachineInfo(cpu_model=model, cores=os.cpu_count() or 1, flags=flags, nominal_mhz=mhz,
                       caches=read_caches(), memory_bytes=mem or (8 << 30), versions=versions)


def isa_flop_per_cycle(flags) -> tuple[int, str]:
    """fp32 FLOP/cycle/core from the vector ISA: lanes x 2 FMA pipes x 2 FLOPs."""
    if "avx512f" in flags:
        return 64, "AVX-512F: 16 fp32 lanes x 2 FMA pipes x 2"
    if "avx2" in flags and "fma" in flags:
        return 32, "AVX2+FMA: 8 fp32 lanes x 2 FMA pipes x 2"
    if "asimd" in flags or "neon" in flags:
        return 16, "NEON: 4 fp32 lanes x 2 FMA pipes x 2"
    return 8, "SSE: 4 fp32 lanes x 2 (no FMA)"


# ------------------------------------------------------------------ benchmarks

@dataclass(frozen=True)
class LayerSpec:
    """One microbenchmark: a single layer of our graph vocabulary.

    chain = 0: the op alone in a model; its time is the run minus session.run's fixed cost.
    chain = K > 0: the op is timed as a chain. A `unit` (the op, followed by `back` where
    the op changes the channel count: a conv mapping the channels back) is repeated 1 and
    1 + K times, and the time of one unit is the slope (t[1+K] - t[1]) / K. The slope
    drops what a standalone op pays once per run and a network amortises: session.run,
    and the layout Reorder nodes ORT puts around its NCHWc kernels (convs, pools)."""
    name: str
    family: str                   # gemm | conv | dwconv | gconv | pool | eltwise | act | lrn | concat | softmax
    op: str
    attrs: dict
    in_shapes: tuple
    chain: int = 0
    back: dict | None = None      # attrs of the conv that closes a unit (cout -> cin), or None


CHAIN_K = 6   # extra units in the long chain (units: 1 and 1 + CHAIN_K)


def _conv(name, family, cin, cout, hw, k, s=1, g=1, chain=False):
    p = k // 2
    attrs = {"out_channels": cout, "kernel": (k, k), "stride": (s, s), "pad": (p, p, p, p), "group": g,
             "bias": True}
    back = None
    if chain and s != 1:
        raise AugurError(f"benchmark {name}: only stride-1 convs keep their shape in a chain")
    if chain and cin != cout:
        back = dict(attrs, out_channels=cin)
    return LayerSpec(name, family, "conv", attrs, ((1, cin, hw, hw),), CHAIN_K if chain else 0, back)


def _gemm(name, m, n, k):
    return LayerSpec(name, "gemm", "fc", {"out_features": m, "axis": 1, "bias": True}, ((n, k),))


def _pool(name, mode, c, hw, k, s, p, chain=False):
    return LayerSpec(name, "pool", "pool", {"mode": mode, "kernel": (k, k), "stride": (s, s), "pad": (p,) * 4},
                     ((1, c, hw, hw),), CHAIN_K if chain else 0)


def _lrn(name, c, hw):
    return LayerSpec(name, "lrn", "lrn", {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0, "region": "across"},
                     ((1, c, hw, hw),))


def bench_specs(mode: str) -> list[LayerSpec]:
    """The benchmark set: 'full', 'quick' (a subset) or 'tiny' (tests only).

    Stride-1 convs, depthwise convs and stride-1 pools are timed as chains (see LayerSpec):
    that is how a network runs them. Strided and first-layer convs, GEMMs, element-wise
    ops, LRN, softmax and concat are timed alone (their shape does not survive a chain,
    or a network runs them outside the NCHWc layout too)."""
    if mode == "tiny":
        return [_gemm("gemm_64x32x64", 64, 32, 64), _conv("conv3x3_8_8", "conv", 8, 8, 8, 3, chain=True),
                _conv("dw3x3_8", "dwconv", 8, 8, 8, 3, g=8),
                LayerSpec("relu_4k", "act", "act", {"fn": "relu"}, ((1, 16, 16, 16),)),
                LayerSpec("add_4k", "eltwise", "eltwise", {"fn": "sum"}, ((1, 16, 16, 16),) * 2),
                _lrn("lrn5_16_8", 16, 8),
                LayerSpec("sigmoid_4k", "trans", "act", {"fn": "sigmoid"}, ((1, 16, 16, 16),))]
    quick = [
        _gemm("gemm_1000x1x4096", 1000, 1, 4096),
        _gemm("gemm_256x256x256", 256, 256, 256),
        _gemm("gemm_1024x64x1024", 1024, 64, 1024),
        _conv("conv3x3_64_56", "conv", 64, 64, 56, 3, chain=True),
        _conv("conv3x3_256_14", "conv", 256, 256, 14, 3, chain=True),
        _conv("conv1x1_256_64_56", "conv", 256, 64, 56, 1, chain=True),
        _conv("conv1x1_1024_256_14", "conv", 1024, 256, 14, 1, chain=True),
        _conv("conv3x3s2_128_56", "conv", 128, 128, 56, 3, s=2),
        _conv("conv7x7s2_3_64_224", "conv", 3, 64, 224, 7, s=2),
        _conv("conv1x1_64_16_55", "conv", 64, 16, 55, 1, chain=True),
        _conv("dw3x3_32_112", "dwconv", 32, 32, 112, 3, g=32, chain=True),
        _conv("dw3x3_512_14", "dwconv", 512, 512, 14, 3, g=512, chain=True),
        _conv("gconv3x3_g32_128_56", "gconv", 128, 128, 56, 3, g=32, chain=True),
        _pool("maxpool3x3s1_64_56", "max", 64, 56, 3, 1, 1, chain=True),
        LayerSpec("gavgpool_2048_7", "pool", "pool", {"mode": "avg", "global": True}, ((1, 2048, 7, 7),)),
        LayerSpec("relu_64_112", "act", "act", {"fn": "relu"}, ((1, 64, 112, 112),)),
        LayerSpec("add_256_56", "eltwise", "eltwise", {"fn": "sum"}, ((1, 256, 56, 56),) * 2),
        LayerSpec("add_64_28", "eltwise", "eltwise", {"fn": "sum"}, ((1, 64, 28, 28),) * 2),
        _lrn("lrn5_96_55", 96, 55),
        LayerSpec("sigmoid_64_112", "trans", "act", {"fn": "sigmoid"}, ((1, 64, 112, 112),)),
    ]
    if mode == "quick":
        return quick
    more = [
        _gemm("gemm_4096x1x4096", 4096, 1, 4096),
        _gemm("gemm_1024x1024x1024", 1024, 1024, 1024),
        _gemm("gemm_64x3136x576", 64, 3136, 576),
        _gemm("gemm_512x49x4608", 512, 49, 4608),
        _gemm("gemm_16x256x64", 16, 256, 64),
        _gemm("gemm_128x128x2048", 128, 128, 2048),
        _conv("conv3x3_128_28", "conv", 128, 128, 28, 3, chain=True),
        _conv("conv3x3_512_7", "conv", 512, 512, 7, 3, chain=True),
        _conv("conv3x3_3_64_224", "conv", 3, 64, 224, 3),
        _conv("conv3x3_64_64_224", "conv", 64, 64, 224, 3, chain=True),
        _conv("conv1x1_64_256_56", "conv", 64, 256, 56, 1),
        _conv("conv1x1_2048_512_7", "conv", 2048, 512, 7, 1, chain=True),
        _conv("conv1x1_96_16_55", "conv", 96, 16, 55, 1, chain=True),
        _conv("conv1x1_32_96_112", "conv", 32, 96, 112, 1, chain=True),
        _conv("conv1x1_320_1280_7", "conv", 320, 1280, 7, 1, chain=True),
        _conv("conv1x1s2_256_512_56", "conv", 256, 512, 56, 1, s=2),
        _conv("conv11x11s4_3_96_227", "conv", 3, 96, 227, 11, s=4),
        _conv("conv5x5_48_128_27", "conv", 48, 128, 27, 5, chain=True),
        _conv("conv3x3_16_64_55", "conv", 16, 64, 55, 3, chain=True),
        _conv("gconv5x5_g2_96_256_27", "gconv", 96, 256, 27, 5, g=2),
        _conv("dw3x3s2_64_112", "dwconv", 64, 64, 112, 3, s=2, g=64),
        _conv("dw3x3_1024_7", "dwconv", 1024, 1024, 7, 3, g=1024, chain=True),
        _conv("dw3x3_144_56", "dwconv", 144, 144, 56, 3, g=144, chain=True),
        _conv("dw5x5_240_14", "dwconv", 240, 240, 14, 5, g=240, chain=True),
        _pool("maxpool3x3s1_192_28", "max", 192, 28, 3, 1, 1, chain=True),
        _pool("avgpool3x3s1_256_28", "avg", 256, 28, 3, 1, 1, chain=True),
        LayerSpec("relu_512_28", "act", "act", {"fn": "relu"}, ((1, 512, 28, 28),)),
        LayerSpec("relu_4k", "act", "act", {"fn": "relu"}, ((1, 64, 8, 8),)),
        LayerSpec("add_2048_7", "eltwise", "eltwise", {"fn": "sum"}, ((1, 2048, 7, 7),) * 2),
        LayerSpec("concat2_128_28", "concat", "concat", {"axis": 1}, ((1, 128, 28, 28),) * 2),
        LayerSpec("softmax_1000", "softmax", "softmax", {"axis": 1}, ((1, 1000),)),
        _lrn("lrn5_256_27", 256, 27),
        LayerSpec("sigmoid_256_28", "trans", "act", {"fn": "sigmoid"}, ((1, 256, 28, 28),)),
        LayerSpec("tanh_64_112", "trans", "act", {"fn": "tanh"}, ((1, 64, 112, 112),)),
    ]
    return quick + more


def layer_graph(spec: LayerSpec, units: int = 1):
    """The benchmark as a LayerGraph: `units` repetitions of its unit (the op, then `back`
    where set), inputs x0, x1, ...; the first unit's op is named spec.name."""
    from ..graph import GraphBuilder, Layer
    if units < 1 or (units > 1 and not spec.chain):
        raise AugurError(f"benchmark {spec.name}: {units} units asked of a benchmark that is not a chain")
    b = GraphBuilder(spec.name if units == 1 else f"{spec.name}_x{units}")
    names = []
    for i, s in enumerate(spec.in_shapes):
        b.add_input(f"x{i}", s)
        names.append(f"x{i}")
    prev = tuple(names)
    for u in range(units):
        steps = [(spec.op, spec.attrs)] + ([("conv", spec.back)] if spec.back else [])
        for j, (op, attrs) in enumerate(steps):
            name = spec.name if (u, j) == (0, 0) else f"{spec.name}_u{u}_{j}"
            b.add_layer(Layer(name, op, dict(attrs), prev, (name,)))
            prev = (name,)
    return b.build()


def onnx_model(spec: LayerSpec, graph) -> bytes:
    """An ONNX model of the benchmark graph (one node per layer), weights random (their
    values do not matter)."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    inits, nodes = [], []
    for lname in graph.order:
        layer = graph.layer(lname)
        if layer.op == "input":
            continue
        a = layer.attrs
        node_in = list(layer.inputs)
        in_shape = graph.tensors[layer.inputs[0]].shape

        def weight(suffix, shape):
            inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.05).astype(np.float32),
                                                 f"{lname}_{suffix}"))
            node_in.append(f"{lname}_{suffix}")

        out = [layer.outputs[0]]
        if layer.op == "conv":
            cin = in_shape[1]
            g = a.get("group", 1)
            kh, kw = a["kernel"]
            weight("w", (a["out_channels"], cin // g, kh, kw))
            if a.get("bias", True):
                weight("b", (a["out_channels"],))
            t, l, b_, r = a.get("pad", (0, 0, 0, 0))
            node = helper.make_node("Conv", node_in, out, name=lname, kernel_shape=[kh, kw],
                                    strides=list(a.get("stride", (1, 1))), pads=[t, l, b_, r], group=g)
        elif layer.op == "fc":
            weight("w", (a["out_features"], in_shape[1]))
            if a.get("bias", True):
                weight("b", (a["out_features"],))
            node = helper.make_node("Gemm", node_in, out, name=lname, transB=1)
        elif layer.op == "pool":
            if a.get("global"):
                node = helper.make_node("GlobalAveragePool" if a["mode"] == "avg" else "GlobalMaxPool",
                                        node_in, out, name=lname)
            else:
                t, l, b_, r = a.get("pad", (0, 0, 0, 0))
                kw_ = {"count_include_pad": 1} if a["mode"] == "avg" else {}
                node = helper.make_node("MaxPool" if a["mode"] == "max" else "AveragePool", node_in, out,
                                        name=lname, kernel_shape=list(a["kernel"]),
                                        strides=list(a.get("stride", (1, 1))), pads=[t, l, b_, r], **kw_)
        elif layer.op == "act":
            fns = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "erf": "Erf"}
            if a["fn"] not in fns:
                raise AugurError(f"calibrate has no ONNX builder for activation '{a['fn']}'")
            node = helper.make_node(fns[a["fn"]], node_in, out, name=lname)
        elif layer.op == "eltwise":
            node = helper.make_node("Add", node_in, out, name=lname)
        elif layer.op == "lrn":
            node = helper.make_node("LRN", node_in, out, name=lname, size=a["size"], alpha=a["alpha"],
                                    beta=a["beta"], bias=a["k"])
        elif layer.op == "concat":
            node = helper.make_node("Concat", node_in, out, name=lname, axis=a.get("axis", 1))
        elif layer.op == "softmax":
            node = helper.make_node("Softmax", node_in, out, name=lname, axis=a.get("axis", 1))
        else:
            raise AugurError(f"calibrate has no ONNX builder for op '{layer.op}'")
        nodes.append(node)
    ins = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, list(s)) for i, s in enumerate(spec.in_shapes)]
    last = graph.layer(graph.order[-1]).outputs[0]
    outs = [helper.make_tensor_value_info(last, TensorProto.FLOAT, list(graph.tensors[last].shape))]
    g = helper.make_graph(nodes, graph.name, ins, outs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _chain_model(n: int, elems: int = 8) -> bytes:
    """n tiny ReLUs in a row: the per-node and per-run overhead of the runtime."""
    from onnx import TensorProto, helper
    nodes, prev = [], "x"
    for i in range(n):
        out = "y" if i == n - 1 else f"t{i}"
        nodes.append(helper.make_node("Relu", [prev], [out], name=f"r{i}"))
        prev = out
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, elems])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, elems])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _add_model(elems: int) -> bytes:
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"], name="add")], "stream",
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, [elems]) for n in ("a", "b")],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [elems])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


# ------------------------------------------------------------------ timing

def session(model: bytes, threads: int, profile: bool = False, optimized_path: str | None = None,
            profile_prefix: str | None = None):
    """An ORT CPU session as validate and calibrate both use it: default graph optimisations
    (ORT_ENABLE_ALL), sequential execution, intra-op threads = `threads`."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    if profile:
        so.enable_profiling = True
        if profile_prefix:  # else ORT writes its JSON into the current folder
            so.profile_file_prefix = profile_prefix
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    try:
        return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own exception types for bad models
        raise AugurError(f"ONNX Runtime cannot load the model: {str(e).splitlines()[0]}")


@dataclass(frozen=True)
class Timing:
    """Per-run wall time of session.run, seconds, over the timed rounds."""
    median_s: float
    q1_s: float
    q3_s: float
    min_s: float
    max_s: float
    rounds: int

    @staticmethod
    def of(samples) -> "Timing":
        a = np.asarray(samples, dtype=np.float64)
        return Timing(float(np.median(a)), float(np.percentile(a, 25)), float(np.percentile(a, 75)),
                      float(a.min()), float(a.max()), int(a.size))

    @property
    def iqr_pct(self) -> float:
        return 100.0 * (self.q3_s - self.q1_s) / self.median_s if self.median_s > 0 else 0.0


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, label: str, stream=None, enabled: bool = True):
        self.total, self.done, self.label = max(total, 1), 0, label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def step(self, what: str = "", n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if not self.enabled:
            return
        # A log file (not a terminal) gets a line per quarter, not a carriage-return storm.
        tty = getattr(self.stream, "isatty", lambda: False)()
        if not tty and self.done * 4 // self.total == (self.done - n) * 4 // self.total and self.done < self.total:
            return
        width = 30
        fill = int(width * self.done / self.total)
        el = time.perf_counter() - self.t0
        self.stream.write(f"{chr(13) if tty else ''}{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} "
                          f"{el:5.1f}s {what[:32]:<32}" + ("" if tty else "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            self.stream.write("\n")
            self.stream.flush()


SETTLE_S = 0.1   # pause before timing a multi-thread session: the last pool's workers stop spinning


def time_runs(sessions: dict, feeds: dict, rounds: int, sample_s: float, progress: Progress | None = None,
              seed: int = 0, threads: int = 1) -> dict:
    """Warm up every session, then time `rounds` interleaved rounds (shuffled order each
    round). One sample = mean of `inner` back-to-back runs, inner chosen so a sample lasts
    about `sample_s` (short ops would otherwise measure the timer). Returns name -> Timing."""
    rng = np.random.default_rng(seed)
    inner = {}
    for name, s in sessions.items():
        f = feeds[name]
        s.run(None, f)
        t = time.perf_counter()
        s.run(None, f)
        one = max(time.perf_counter() - t, 1e-6)
        inner[name] = int(min(max(1, sample_s / one), 2000))
        if progress:
            progress.step(f"warm-up {name}")
    samples = {n: [] for n in sessions}
    names = list(sessions)

    def sample(name):
        s, f, k = sessions[name], feeds[name], inner[name]
        t = time.perf_counter()
        for _ in range(k):
            s.run(None, f)
        samples[name].append((time.perf_counter() - t) / k)
        if progress:
            progress.step(name)

    if threads > 1:
        # Every multi-thread session owns a thread pool whose workers spin for tens of ms
        # after a run. Interleaving sessions run by run makes the spinning workers of the
        # last session fight the current one (measured: a 2-thread GEMM 6x slower). So each
        # session gets all its rounds in one block, after the previous pool has gone idle.
        for i in rng.permutation(len(names)):
            time.sleep(SETTLE_S)
            sessions[names[i]].run(None, feeds[names[i]])
            for _ in range(rounds):
                sample(names[i])
    else:
        # One thread: no pools. Rounds interleave the sessions in a shuffled order, so a burst
        # of load from another process spreads over all of them.
        for _ in range(rounds):
            for i in rng.permutation(len(names)):
                sample(names[i])
    return {n: Timing.of(v) for n, v in samples.items()}


# ------------------------------------------------------------------ the calibration

def layout_share(model: bytes, feed: dict, threads: int, runs: int = 5) -> float:
    """Fraction of a model's profiled node time spent in the layout Reorder nodes ORT
    inserts around its NCHWc kernels (0 when it inserts none). A standalone op pays a
    Reorder of its input and of its output; inside a network consecutive NCHWc kernels
    pass blocked tensors to each other and those Reorders are not there."""
    import json
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="augur-cal-")
    try:
        s = session(model, threads, profile=True, profile_prefix=os.path.join(d, "p"))
        for _ in range(runs + 1):
            s.run(None, feed)
        path = s.end_profiling()
        with open(path) as f:
            events = json.load(f)
    except (OSError, ValueError):
        return 0.0  # no profile: charge the standalone op with everything (the old behaviour)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    total = reorder = 0.0
    for ev in events:
        if ev.get("cat") != "Node" or not str(ev.get("name", "")).endswith("_kernel_time"):
            continue
        dur = float(ev.get("dur", 0))
        total += dur
        if str(ev.get("args", {}).get("op_name", "")).startswith("Reorder"):
            reorder += dur
    return reorder / total if total > 0 else 0.0


def _loadavg() -> float:
    """1-minute load average (the machine is shared: a busy one skews every timing)."""
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return float("nan")


def _kernel_time(spec: LayerSpec, timings: dict, run_s: float, layout: float = 0.0) -> float:
    """Seconds one unit of the benchmark takes inside a network: the chain slope for a
    chained benchmark; else the run minus session.run's fixed cost, less the share of
    layout Reorders the profile found (`layout`). Never below a tenth of the single-unit
    run (a slope swamped by noise must not reach zero)."""
    one = timings[spec.name].median_s
    if spec.chain:
        slope = (timings[f"{spec.name}__x{1 + spec.chain}"].median_s - one) / spec.chain
        return max(slope, 0.1 * one)
    return max((one - run_s) * (1.0 - min(max(layout, 0.0), 0.9)), 0.1 * one)


@dataclass(frozen=True)
class BenchResult:
    spec: LayerSpec
    timing: Timing
    kernel_s: float          # median minus the fixed per-run cost: what one kernel takes
    predicted_s: float = 0.0
    flops: float = 0.0


@dataclass(frozen=True)
class Calibration:
    machine: MachineInfo
    threads: int
    mode: str
    date: str
    clock_ghz: float
    clock_note: str
    fpc: int
    fpc_note: str
    run_overhead_s: float
    node_overhead_s: float
    bandwidth_gbs: dict      # "L2" | "L3" | "DRAM" -> measured GB/s (ORT Add, N threads)
    bandwidth_timing: dict   # same keys -> Timing
    benches: tuple           # of BenchResult
    fit: object              # FitResult
    fit_values: dict
    seconds: float
    extras: dict = field(default_factory=dict)


def _stream_sizes(machine: MachineInfo, threads: int, mode: str) -> dict:
    """Elements per array of the Add stream for each level (three arrays live at once)."""
    caches = machine.caches
    l2 = next((c for c in caches if c.level == 2), None)
    llc = caches[-1] if caches else None
    if mode == "tiny":
        return {"L2": 1 << 14, "DRAM": 1 << 18}
    out = {}
    if l2:
        per = l2.size_bytes * (threads if not l2.shared else 1) // 2
        out["L2"] = max(per // 12, 1 << 12)
    if llc and llc.level >= 3:
        # Well inside the last level (a VM's share of a big shared L3 is smaller than sysfs says).
        out["L3"] = max(min(llc.size_bytes // 16, 32 << 20) // 12, 1 << 16)
    big = max((llc.size_bytes if llc else 32 << 20) * (2 if mode == "quick" else 3), 256 << 20)
    big = min(big, machine.memory_bytes // 6)
    out["DRAM"] = big // 12
    return out


def _fit_params():
    from ..engine.hwrow import (H_DW_EFF, H_ELT_EFF, H_GEMM_PEAK, H_HALF_K, H_HALF_M, H_HALF_N,
                               H_MEM_EFF, H_OVERHEAD, H_POW, H_TILE_M, H_TILE_N, H_TRANS)
    from .fit import Param
    return [
        Param("gemm_peak", H_GEMM_PEAK, 0.05, 1.0),
        Param("gemm_half_m", H_HALF_M, 0.25, 512.0),
        Param("gemm_half_n", H_HALF_N, 0.25, 2048.0),
        Param("gemm_half_k", H_HALF_K, 0.25, 2048.0),
        Param("dw_conv", H_DW_EFF, 0.002, 1.0),
        Param("mem", H_MEM_EFF, 0.05, 1.0),
        Param("eltwise", H_ELT_EFF, 0.05, 1.0),
        Param("dispatch_s", H_OVERHEAD, 1e-7, 1e-4),
        Param("transcendental_per_s", H_TRANS, 1e8, 1e12),
        Param("pow_per_s", H_POW, 1e6, 1e11),
        Param("tile_m", H_TILE_M, 1, 64, choices=(1, 4, 8, 16, 32, 64)),
        Param("tile_n", H_TILE_N, 1, 256, choices=(1, 8, 16, 32, 64, 128, 256)),
    ]


def build_processor(machine: MachineInfo, threads: int, clock_ghz: float, fpc: int, bw: dict,
                    dispatch_s: float, rt_values: dict | None = None, source: str = "calibrating"):
    """The Processor object the spec will describe (also used to cost candidate rows)."""
    from ..hw import Cache, Energy, Processor, Runtime
    v = dict(gemm_peak=ASSUMED_GEMM_PEAK, gemm_half_m=8.0, gemm_half_n=32.0, gemm_half_k=32.0, tile_m=16,
             tile_n=64, dw_conv=0.1, mem=0.8, eltwise=0.8, dispatch_s=dispatch_s,
             transcendental_per_s=4e9, pow_per_s=1e8)
    v.update(rt_values or {})
    caches = _spec_caches(machine, threads, clock_ghz, bw)
    rt = Runtime(name=RUNTIME, stack="", source=source, gemm_peak=v["gemm_peak"], gemm_half_m=v["gemm_half_m"],
                 gemm_half_n=v["gemm_half_n"], gemm_half_k=v["gemm_half_k"], tile_m=int(v["tile_m"]),
                 tile_n=int(v["tile_n"]), dw_conv=v["dw_conv"], mem=v["mem"], eltwise=v["eltwise"],
                 fusion=FUSION, dispatch_s=v["dispatch_s"], transcendental_per_s=v["transcendental_per_s"],
                 pow_per_s=v["pow_per_s"])
    cs = tuple(Cache(level=c["level"], size_bytes=int(c["size_kib"] * 1024), line_bytes=c["line_bytes"],
                     assoc=c["assoc"], shared=c["shared"], bw_gbs=c["bw_gbs"]) for c in caches)
    return Processor(name="cpu", kind="cpu", units=threads, clock_ghz=clock_ghz,
                     flop_per_cycle_per_unit={"fp32": fpc}, caches=cs, dram_bw_gbs=bw["DRAM"],
                     dispatch_s=dispatch_s,
                     energy=Energy(pj_per_flop={"fp32": 20.0}, dram_pj_per_byte=100.0,
                                   cache_pj_per_byte=tuple(1.0 for _ in cs), static_w=5.0),
                     runtimes={RUNTIME: rt}, default_runtime=RUNTIME)


def _spec_caches(machine: MachineInfo, threads: int, clock_ghz: float, bw: dict) -> list[dict]:
    """Cache rows for the spec. Bandwidth of a level = the measured stream rate of data
    resident in it; L1 (never the serving level in the engine) from the ISA: 2 x 64 B
    loads per cycle per core."""
    rows = []
    dram = bw["DRAM"]
    prev_bw = None
    for c in reversed(machine.caches):
        key = f"L{c.level}"
        if key in bw:
            b = bw[key]
            note = f"measured: ORT Add stream resident in {key}, {threads} thread(s)"
        elif c.level == 1:
            b = 2 * 64 * clock_ghz * threads
            note = "from ISA: 2 x 64 B loads/cycle/core x clock x threads"
        else:
            b = prev_bw if prev_bw else dram
            note = "not measured: set to the next level's bandwidth"
        b = max(b, prev_bw or 0.0, dram)  # an inner level is never slower than the one outside it
        prev_bw = b
        rows.append({"level": c.level, "size_kib": c.size_bytes / 1024, "line_bytes": c.line_bytes,
                     "assoc": c.assoc, "shared": c.shared, "bw_gbs": round(b, 2), "note": note})
    rows.reverse()
    return rows


def calibrate(threads: int | None = None, mode: str = "full", progress: bool = True,
              log=None, seed: int = 0) -> Calibration:
    """Measure this machine and fit the onnxruntime efficiency parameters."""
    from ..engine.hwrow import hw_row
    from .fit import fit_params
    from ..lowering import NOOP, lower

    if os.environ.get(TINY_ENV):
        mode = "tiny"
    if mode not in ("full", "quick", "tiny"):
        raise AugurError(f"unknown calibration mode '{mode}'; expected full, quick or tiny")
    t_start = time.perf_counter()
    load_before = _loadavg()
    log = log or (lambda s: print(s, file=sys.stderr))
    machine = machine_info()
    threads = threads or machine.cores
    if isinstance(threads, bool) or not isinstance(threads, int) or threads <= 0:
        raise AugurError(f"--threads must be a positive integer, got {threads!r}")
    if threads > machine.cores:
        raise AugurError(f"--threads {threads} exceeds the {machine.cores} cores of this machine")
    rounds = {"full": 21, "quick": 9, "tiny": 1}[mode]
    if threads > 1 and mode != "tiny":
        # Two threads share the machine with whatever else runs: more, interleaved rounds so
        # the medians survive bursts of load on either core.
        rounds += rounds // 2
    sample_s = {"full": 0.015, "quick": 0.004, "tiny": 0.0002}[mode]
    specs = bench_specs(mode)
    sizes = _stream_sizes(machine, threads, mode)

    # Sessions for everything, built up front so the timed rounds interleave.
    sessions, feeds, graphs, layout = {}, {}, {}, {}
    rng = np.random.default_rng(seed)
    n_chained = sum(1 for s in specs if s.chain)
    n_steps = (len(specs) + n_chained) * (rounds + 1) + 2 * (rounds + 1) + len(sizes) * (rounds + 1)
    bar = Progress(n_steps, "calibrate", enabled=progress)
    for s in specs:
        g = layer_graph(s)
        graphs[s.name] = g
        feed = {f"x{i}": rng.standard_normal(sh).astype(np.float32) for i, sh in enumerate(s.in_shapes)}
        model = onnx_model(s, g)
        sessions[s.name] = session(model, threads)
        feeds[s.name] = feed
        if not s.chain and s.op in ("conv", "pool"):
            layout[s.name] = layout_share(model, feed, threads, runs=2 if mode == "tiny" else 5)
        if s.chain:
            long_ = f"{s.name}__x{1 + s.chain}"
            sessions[long_] = session(onnx_model(s, layer_graph(s, 1 + s.chain)), threads)
            feeds[long_] = feed
    chain_n = (1, 17)
    for n in chain_n:
        key = f"__chain{n}"
        sessions[key] = session(_chain_model(n), threads)
        feeds[key] = {"x": np.ones((1, 8), np.float32)}
    timings = time_runs(sessions, feeds, rounds, sample_s, bar, seed, threads)
    node_s = max((timings["__chain17"].median_s - timings["__chain1"].median_s) / (chain_n[1] - chain_n[0]), 0.0)
    run_s = max(timings["__chain1"].median_s - node_s, 0.0)

    # Bandwidth: one Add stream per level, 3 arrays (2 read, 1 written) -> bytes = 12 * elems.
    bw_sess, bw_feeds = {}, {}
    for level, n in sizes.items():
        bw_sess[level] = session(_add_model(n), threads)
        bw_feeds[level] = {"a": np.ones(n, np.float32), "b": np.ones(n, np.float32)}
    bw_t = time_runs(bw_sess, bw_feeds, rounds, sample_s * 4, bar, seed + 1, threads)
    del bw_sess, bw_feeds
    bw = {lvl: 12.0 * sizes[lvl] / max(bw_t[lvl].median_s - run_s, 1e-9) / 1e9 for lvl in sizes}
    bar.close()

    # Peak: ISA FLOP/cycle; clock from the largest GEMM-class benchmark's rate per thread.
    fpc, fpc_note = isa_flop_per_cycle(machine.flags)
    nominal = machine.nominal_mhz / 1000.0 if machine.nominal_mhz else 2.0
    big = [s for s in specs if s.family in ("gemm", "conv")]
    rates = []
    for s in big:
        fl = float(sum(l.counts.flops for l in lower(graphs[s.name]).counts))
        t = _kernel_time(s, timings, run_s, layout.get(s.name, 0.0))
        if fl / 2 > 20e6 and t > 0:
            rates.append(fl / t)
    # The median of the three fastest, not the fastest: one benchmark's noisy chain slope or
    # over-removed Reorder share must not set the clock (seen once: 649 GFLOP/s on 2 threads
    # against ~340 for every other large conv).
    best_rate = float(np.median(sorted(rates)[-3:])) if rates else 0.0
    derived = best_rate / (fpc * threads * ASSUMED_GEMM_PEAK) / 1e9 if best_rate else 0.0
    if derived > nominal:
        clock = derived
        clock_note = (f"derived: best measured GEMM/conv rate (median of the 3 fastest) {best_rate / 1e9:.1f} GFLOP/s / ({fpc} FLOP/cycle x "
                      f"{threads} thread(s) x assumed {ASSUMED_GEMM_PEAK} of peak); nominal {nominal:.2f} GHz")
    else:
        clock = nominal
        clock_note = f"nominal: /proc/cpuinfo cpu MHz (the fastest measured rate implies {derived:.2f} GHz)"
    clock = float(min(max(clock, 0.1), 9.9))

    # Fit: each benchmark lowered as one layer; all candidate rows costed in one call.
    rows, owner, measured, wts = [], [], [], []
    for i, s in enumerate(specs):
        low = lower(graphs[s.name], "fp32", FUSION)
        for r in low.rows:
            if int(r[0]) != NOOP:
                rows.append(r)
                owner.append(i)
        measured.append(_kernel_time(s, timings, run_s, layout.get(s.name, 0.0)))
        # The networks are mostly convolutions: let them count double in the fit.
        wts.append(2.0 if s.family in ("conv", "gconv", "dwconv") else 0.0 if s.family in UNFITTED else 1.0)
    rows_a = np.array(rows)
    proc = build_processor(machine, threads, clock, fpc, bw, node_s)
    base = hw_row(proc, proc.runtimes[RUNTIME])
    fr = fit_params(rows_a, np.array(owner), np.array(measured), base, _fit_params(), np.array(wts), seed=seed,
                    n_random={"full": 512, "quick": 256, "tiny": 64}[mode],
                    sweeps={"full": 40, "quick": 25, "tiny": 6}[mode])
    values = dict(fr.values)
    values["tile_m"], values["tile_n"] = int(values["tile_m"]), int(values["tile_n"])
    results = []
    for i, s in enumerate(specs):
        fl = float(sum(l.counts.flops for l in lower(graphs[s.name]).counts))
        results.append(BenchResult(s, timings[s.name], measured[i], float(fr.predicted_s[i]), fl))
    return Calibration(machine=machine, threads=threads, mode=mode, date=_dt.date.today().isoformat(),
                       clock_ghz=clock, clock_note=clock_note, fpc=fpc, fpc_note=fpc_note,
                       run_overhead_s=run_s, node_overhead_s=node_s, bandwidth_gbs=bw, bandwidth_timing=bw_t,
                       benches=tuple(results), fit=fr, fit_values=values,
                       seconds=time.perf_counter() - t_start,
                       extras={"chain": {k: timings[k] for k in timings if k.startswith("__chain")},
                               "layout_share": layout, "load": (load_before, _loadavg())})


# ------------------------------------------------------------------ reports and the spec

def machine_label(m: MachineInfo) -> str:
    return f"{m.cpu_model}, {m.cores} cores"


def summary_text(c: Calibration) -> str:
    """What was measured, its spread, and how well the fitted model reproduces it."""
    from ..report import table
    lines = [f"machine: {machine_label(c.machine)}; threads {c.threads}; mode {c.mode}; "
             f"{c.seconds:.0f} s; onnxruntime {c.machine.versions['onnxruntime']}",
             f"peak: {c.fpc} FLOP/cycle ({c.fpc_note}) x {c.clock_ghz:.2f} GHz ({c.clock_note}) x {c.threads}",
             f"machine load (1-min average) before / after: {c.extras.get('load', (0, 0))[0]:.2f} / "
             f"{c.extras.get('load', (0, 0))[1]:.2f} (this process adds up to {c.threads}; more means other jobs)",
             f"overheads: session.run {c.run_overhead_s * 1e6:.1f} us, per node {c.node_overhead_s * 1e6:.2f} us "
             f"(tiny ReLU chains)",
             "bandwidth (ORT Add, 2 reads + 1 write): " + ", ".join(
                 f"{k} {v:.1f} GB/s (IQR {c.bandwidth_timing[k].iqr_pct:.0f}%)" for k, v in c.bandwidth_gbs.items())]
    rows = []
    for b in c.benches:
        t = b.timing
        err = 100.0 * (b.predicted_s / b.kernel_s - 1.0) if b.kernel_s > 0 else 0.0
        gf = f"{b.flops / b.kernel_s / 1e9:.1f}" if b.flops and b.kernel_s > 0 else ""
        lay = c.extras.get("layout_share", {}).get(b.spec.name, 0.0)
        how = (f"chain 1/{1 + b.spec.chain}" + (" (pair)" if b.spec.back else "") if b.spec.chain
               else f"alone, -{100 * lay:.0f}% reorder" if lay > 0.005 else "alone")
        rows.append((b.spec.name, b.spec.family, how, f"{t.min_s * 1e3:.3f}", f"{t.median_s * 1e3:.3f}",
                     f"{t.max_s * 1e3:.3f}", f"{t.iqr_pct:.0f}%", f"{b.kernel_s * 1e3:.3f}", gf,
                     f"{b.predicted_s * 1e3:.3f}", f"{err:+.0f}%"))
    lines.append("(min/median/max/IQR: one run of the single-unit model; kernel ms: one unit in a network, "
                 "= the chain slope, or the run minus session.run's cost and minus the profiled share of "
                 "layout Reorder nodes)")
    lines.append(table(["benchmark", "family", "timed as", "min ms", "median ms", "max ms", "IQR", "kernel ms",
                        "GFLOP/s", "model ms", "model err"], rows, ["<", "<", "<"] + [">"] * 8))
    errs = np.array([abs(np.log(b.predicted_s / b.kernel_s)) for b in c.benches if b.kernel_s > 0])
    lines.append(f"fit: log-loss {c.fit.start_loss:.3f} -> {c.fit.loss:.4f} over {c.fit.evaluations} candidate rows; "
                 f"median |error| {100 * (np.exp(np.median(errs)) - 1):.1f}%, worst {100 * (np.exp(errs.max()) - 1):.0f}%")
    lines.append("fitted: " + ", ".join(f"{k} {_fmt(v)}" for k, v in c.fit_values.items()))
    return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    return str(v) if isinstance(v, int) else f"{v:.4g}"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', "'") + '"'


def spec_yaml(c: Calibration, name: str) -> str:
    """The hardware spec, as YAML text with a comment on every figure."""
    m = c.machine
    v = c.fit_values
    when = f"measured by augur calibrate on {c.date}, {machine_label(m)}"
    vers = ", ".join(f"{k} {val}" for k, val in m.versions.items())
    bw = c.bandwidth_gbs
    caches = _spec_caches(m, c.threads, c.clock_ghz, bw)
    errs = np.array([abs(np.log(b.predicted_s / b.kernel_s)) for b in c.benches if b.kernel_s > 0])
    med = 100 * (np.exp(np.median(errs)) - 1)
    out = [
        "# Written by `augur calibrate` (augur_sim/measure/calibrate.py): microbenchmarks of ONNX Runtime on the",
        "# machine below, efficiency parameters fitted to them (docs/ACCURACY.md). Re-run to refresh.",
        f"# Mode {c.mode}, {c.threads} thread(s), {len(c.benches)} benchmarks, {c.seconds:.0f} s; fit median "
        f"|error| {med:.1f}% per benchmark; load average before / after {c.extras.get('load', (0, 0))[0]:.2f} / "
        f"{c.extras.get('load', (0, 0))[1]:.2f}.",
        f"name: {name}",
        f"description: {_q(f'{m.cpu_model} ({m.cores} cores), ONNX Runtime CPU with {c.threads} thread(s); ' + when)}",
        f"memory_gib: {m.memory_bytes / 2**30:.2f}                                   # src: os (/proc/meminfo MemTotal)",
        "sources:",
        f"  - {{id: cal, ref: {_q(when + f'; {c.threads} thread(s); ' + vers)}}}",
        f"  - {{id: os, ref: {_q('/proc/cpuinfo, /proc/meminfo and /sys/devices/system/cpu/cpu0/cache on ' + machine_label(m) + ', read ' + c.date)}}}",
        "processors:",
        "  cpu:",
        "    kind: cpu",
        f"    description: {_q(m.cpu_model + f'; units = ORT intra-op threads ({c.threads})')}",
        f"    units: {c.threads}                                            # src: cal (one core per ORT thread)",
        f"    clock_ghz: {c.clock_ghz:.3f}                                   # src: cal, os ({c.clock_note})",
        f"    flop_per_cycle_per_unit: {{fp32: {c.fpc}}}                     # src: os (from the ISA flags: {c.fpc_note})",
        "    caches:",
    ]
    for r in caches:
        out.append(f"      - {{level: {r['level']}, size_kib: {r['size_kib']:g}, line_bytes: {r['line_bytes']}, "
                   f"assoc: {r['assoc']}, shared: {str(r['shared']).lower()}, bw_gbs: {r['bw_gbs']}}}  "
                   f"# src: os (geometry); {r['note']}")
    out += [
        f"    dram_bw_gbs: {bw['DRAM']:.2f}                                 # src: cal; measured: ORT Add stream far "
        f"beyond the last cache, {c.threads} thread(s) (not the DIMMs' peak: a VM hides them)",
        "    overheads:",
        f"      dispatch_us: {c.node_overhead_s * 1e6:.3f}                              # src: cal; measured: slope "
        f"of tiny ReLU chains (session.run itself: {c.run_overhead_s * 1e6:.1f} us, not modelled)",
        "    energy:",
        "      pj_per_flop: {fp32: 20.0}                          # estimate: not measured (no power counters here); "
        "server x86 core, ~0.6 x 5 W / 150 GFLOP/s",
        "      dram_pj_per_byte: 100                              # estimate: DDR4/DDR5 DIMM ~12 pJ/bit incl. I/O",
        f"      cache_pj_per_byte: [{', '.join(['1.0'] * len(caches))}]"
        "                 # estimate: not measured; ~1 pJ/B for on-chip SRAM",
        "      static_w: 5.0                                      # estimate: this VM's share of package idle power",
        "    runtimes:",
        f"      {RUNTIME}:",
        f"        stack: {_q(f'ONNX Runtime {m.versions[RUNTIME]} CPU EP (MLAS), ORT_ENABLE_ALL, sequential, intra_op_num_threads={c.threads}')}",
        f"        source: {_q(when + '; efficiency fitted to microbenchmarks, not to networks')}",
        f"        gemm_peak: {v['gemm_peak']:.4f}                                  # src: cal (fitted; against "
        "the peak above)",
        f"        gemm_half_m: {v['gemm_half_m']:.3f}                                # src: cal (fitted)",
        f"        gemm_half_n: {v['gemm_half_n']:.3f}                                # src: cal (fitted)",
        f"        gemm_half_k: {v['gemm_half_k']:.3f}                                # src: cal (fitted)",
        f"        tile_m: {v['tile_m']}                                        # src: cal (fitted, discrete)",
        f"        tile_n: {v['tile_n']}                                        # src: cal (fitted, discrete)",
        f"        dw_conv: {v['dw_conv']:.4f}                                    # src: cal (fitted)",
        f"        mem: {v['mem']:.4f}                                        # src: cal (fitted, fraction of "
        "the measured stream bandwidths)",
        f"        eltwise: {v['eltwise']:.4f}                                    # src: cal (fitted)",
        f"        dispatch_us: {v['dispatch_s'] * 1e6:.3f}                                # src: cal (fitted "
        "per-kernel cost; includes thread-pool fork/join)",
        f"        transcendental_gops: {v['transcendental_per_s'] / 1e9:.4g}                     # src: cal (fitted "
        "per thread: exp-class evaluations, from sigmoid / tanh / softmax runs)",
        f"        pow_gops: {v['pow_per_s'] / 1e9:.4g}                                # src: cal (fitted per thread: "
        "pow evaluations, from LRN runs)",
        f"        fusion: [{', '.join(FUSION)}]   # ORT CPU: Conv+BN/Mul/Add folding, FusedConv (activation), "
        "NCHWc Conv+Sum",
        f"    default_runtime: {RUNTIME}",
    ]
    return "\n".join(out) + "\n"


def check_out_path(out) -> Path:
    """Refuse an output path that cannot take the spec, before minutes of benchmarks."""
    from ..fileio import check_writable
    path = Path(out)
    if path.suffix not in (".yaml", ".yml"):
        raise AugurError("the spec must be written to a .yaml file", file=str(path))
    return check_writable(path)


def write_spec(c: Calibration, out: str) -> Path:
    """Write the spec atomically and check it loads; a spec that fails never replaces a good one."""
    from ..fileio import atomic_path
    from ..hw import check_hw
    path = check_out_path(out)
    text = spec_yaml(c, path.stem)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
        # Validate the temporary under the final name's stem (the name must equal the stem).
        chk = tmp.parent / f".check-{os.getpid()}" / path.name
        chk.parent.mkdir(exist_ok=True)
        try:
            chk.write_text(text)
            check_hw(chk)
        finally:
            chk.unlink(missing_ok=True)
            chk.parent.rmdir()
    return path
