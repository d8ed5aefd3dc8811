"""`augur validate`: run a network in ONNX Runtime (CPU) here and compare with the prediction.

The network is exported to ONNX (augur_sim.measure.export, random weights), run with the same
session options calibrate uses, and profiled per node. ORT rewrites the graph (BN folded
into Conv, activations and residual adds fused, NCHWc layout with Reorder nodes), so the
measured nodes are mapped back to our layers by name:
  - the exported model names every node after its layer (export_node -> layer via the
    node's output tensors, following intermediate tensors of multi-node layers);
  - an optimised node is named after the node it was built from plus ORT suffixes
    ("conv1.relu_nchwc"): the suffixes are stripped until a known node name remains;
  - nodes ORT inserts (ReorderInput/ReorderOutput) take the layer of their nearest
    mapped neighbour in the optimised graph (producer first, then consumer).
Measured and predicted times are compared per kernel group: the host layer and the
layers our lowering fuses into it under the spec's runtime, so every compute layer is
in exactly one row.

Measured total = median wall time of session.run over --runs runs after warm-up (no
profiling); the sum of profiled node times is reported beside it.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np

from ..engine.hwrow import pick_processor, pick_runtime
from ..errors import AugurError
from ..estimator import estimate
from ..evaluate import lowered
from ..frontends import load_net
from ..graph import rebatch
from ..hw import load_hw
from ..lowering import CLASS_NAMES, NOOP
from ..report import table
from .export import build_model
from .gpuvalidate import validate_gpu
from .hostcheck import host_mismatches
from .machine import machine_info
from .rss import MemoryCheck, memory_check
from .timing import session


@dataclass(frozen=True)
class GroupResult:
    name: str                  # host layer of the kernel group
    layers: tuple              # all layers of the group (host first)
    kernel_class: str
    ort_nodes: tuple           # optimised ORT node names mapped here
    predicted_s: float
    measured_s: float          # sum of the mapped nodes' median kernel times

    @property
    def error_pct(self) -> float | None:
        return None if self.measured_s <= 0 else 100.0 * (self.predicted_s / self.measured_s - 1.0)


@dataclass(frozen=True)
class Validation:
    net: str
    hw: str
    threads: int
    runs: int
    predicted_s: float
    measured_s: float          # median wall time of session.run
    wall_min_s: float
    wall_max_s: float
    node_sum_s: float          # sum of profiled node medians
    unmapped_s: float          # profiled time of nodes no layer could claim
    groups: tuple              # of GroupResult, graph order
    ort_version: str
    # Peak memory: measured RSS of fresh child processes vs the spec runtime's memory model
    # (None when not measured: memory_samples=0).
    memory: MemoryCheck | None = None
    # Why the figures may not mean what they seem (spec from another host, thread count...).
    warnings: tuple = ()
    batch: int = 1

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.predicted_s / self.measured_s - 1.0)

    def significant(self, share: float = 0.01) -> list:
        """Groups measured at >= `share` of the summed node time."""
        tot = sum(g.measured_s for g in self.groups) or 1.0
        return [g for g in self.groups if g.measured_s >= share * tot and g.error_pct is not None]

    def median_abs_error_pct(self, share: float = 0.01) -> float:
        errs = [abs(g.error_pct) for g in self.significant(share)]
        return float(np.median(errs)) if errs else float("nan")


def _export_node_layers(model, graph) -> dict:
    """Exported node name -> layer name, by output tensor (following intermediates)."""
    produced_by = {}
    consumers = defaultdict(list)
    for n in model.graph.node:
        for t in n.output:
            produced_by[t] = n
        for t in n.input:
            consumers[t].append(n)
    out = {}
    for n in model.graph.node:
        layer = None
        queue, seen = deque(n.output), set()
        while queue and layer is None:
            t = queue.popleft()
            if t in seen:
                continue
            seen.add(t)
            if t in graph.tensors and graph.tensors[t].producer != "":
                layer = graph.tensors[t].producer
                break
            for c in consumers.get(t, ()):
                queue.extend(c.output)
        if layer is not None:
            out[n.name] = layer
    # ORT may also name a rewritten node after its output tensor ("conv1.relu" + "_nchwc").
    for t, info in graph.tensors.items():
        out.setdefault(t, info.producer)
    return out


def _base_name(name: str, known: dict) -> str | None:
    """Strip ORT's suffixes ('_nchwc', '_fused', numbering) until a known node name remains."""
    n = name
    while True:
        if n in known:
            return n
        if "_" not in n:
            return None
        n = n.rsplit("_", 1)[0]


def map_nodes(opt_model, export_layers: dict) -> tuple[dict, list]:
    """Optimised node name -> layer name; and the names nothing could claim."""
    direct = {}
    for n in opt_model.graph.node:
        b = _base_name(n.name, export_layers)
        if b is not None:
            direct[n.name] = export_layers[b]
    producer = {t: n for n in opt_model.graph.node for t in n.output}
    consumers = defaultdict(list)
    for n in opt_model.graph.node:
        for t in n.input:
            consumers[t].append(n)
    result, unmapped = dict(direct), []
    for n in opt_model.graph.node:
        if n.name in result:
            continue
        found = None
        for direction in ("up", "down"):
            queue, seen = deque([n]), {n.name}
            while queue and found is None:
                cur = queue.popleft()
                nxt = [producer[t] for t in cur.input if t in producer] if direction == "up" else \
                    [c for t in cur.output for c in consumers.get(t, ())]
                for m in nxt:
                    if m.name in direct:
                        found = direct[m.name]
                        break
                    if m.name not in seen:
                        seen.add(m.name)
                        queue.append(m)
            if found is not None:
                break
        if found is None:
            unmapped.append(n.name)
        else:
            result[n.name] = found
    return result, unmapped


def _profile_node_times(path: str) -> dict:
    """Node name -> median kernel time (s) over the profiled runs."""
    try:
        with open(path) as f:
            events = json.load(f)
    except (OSError, ValueError) as e:
        raise AugurError(f"cannot read the ONNX Runtime profile: {e}", file=path)
    times = defaultdict(list)
    for ev in events:
        if ev.get("cat") == "Node" and str(ev.get("name", "")).endswith("_kernel_time"):
            times[ev["name"][:-len("_kernel_time")]].append(float(ev.get("dur", 0)) * 1e-6)
    return {k: float(np.median(v)) for k, v in times.items()}


MAX_RUNS = 100_000  # beyond this a run of a large net takes days: surely a typo


def validate(net, hw, threads: int | None = None, runs: int = 10, processor: str | None = None,
             runtime: str | None = None, warmup: int = 2, profile_runs: int | None = None,
             memory_samples: int = 3, batch: int | None = None, precision: str = "fp32"):
    """Run `net` here and compare with the prediction: on the CPU in ONNX Runtime (a
    Validation), or, for a GPU processor of the spec, in PyTorch on this machine's CUDA GPU
    (a gpuvalidate.GpuValidation)."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs <= 0 or runs > MAX_RUNS:
        raise AugurError(f"--runs must be a positive integer up to {MAX_RUNS}, got {runs!r}")
    graph = load_net(net)
    if batch is not None:
        graph = rebatch(graph, batch)
    device = hw if hasattr(hw, "processors") else load_hw(hw)
    proc = pick_processor(device, processor or ("cpu" if any(p.kind == "cpu" for p in device.processors.values())
                                                else None))
    if proc.kind == "gpu":
        rt = pick_runtime(proc, runtime)
        return validate_gpu(graph, device, proc, rt.name, precision, runs)
    if proc.kind != "cpu":
        raise AugurError(f"validate runs ONNX Runtime on this machine's CPU or PyTorch on its GPU; "
                         f"processor '{proc.name}' is a {proc.kind}")
    if precision != "fp32":
        raise AugurError(f"validate on the CPU runs the fp32 ONNX export; --precision {precision} "
                         "is for a GPU processor")
    import onnx
    import onnxruntime as ort

    rt = pick_runtime(proc, runtime)
    cores = os.cpu_count() or 1
    if threads is not None and threads > cores:
        # ORT would try to start that many threads (100000 hangs the machine); calibrate refuses too.
        raise AugurError(f"--threads {threads} exceeds the {cores} cores of this machine")
    threads = threads or proc.units
    warnings = tuple(_host_warnings(device, threads))
    est = estimate(graph, device, processor=proc.name, runtime=rt.name, threads=threads)
    low = lowered(graph, "fp32", rt.fusion)
    model, _ = build_model(graph)
    data = model.SerializeToString()
    export_layers = _export_node_layers(model, graph)

    feeds = {}
    rng = np.random.default_rng(0)
    for t in graph.inputs:
        feeds[t] = rng.standard_normal(graph.tensors[t].shape).astype(np.float32)

    with tempfile.TemporaryDirectory(prefix="augur-validate-") as tmp:
        opt_path = os.path.join(tmp, "optimized.onnx")
        s = session(data, threads, optimized_path=opt_path)
        for _ in range(warmup):
            s.run(None, feeds)
        walls = []
        for _ in range(runs):
            t0 = time.perf_counter()
            s.run(None, feeds)
            walls.append(time.perf_counter() - t0)
        del s
        opt = onnx.load(opt_path, load_external_data=False)
        ps = session(data, threads, profile=True, profile_prefix=os.path.join(tmp, "ort_profile"))
        for _ in range(max(profile_runs or min(runs, 5), 1) + 1):
            ps.run(None, feeds)
        prof = ps.end_profiling()
        try:
            node_t = _profile_node_times(prof)
        finally:
            try:
                os.unlink(prof)
            except OSError:
                pass

    node_layer, unmapped = map_nodes(opt, export_layers)
    by_kernel_meas: defaultdict[int, float] = defaultdict(float)
    by_kernel_nodes: defaultdict[int, list] = defaultdict(list)
    unmapped_s = 0.0
    for name, t in node_t.items():
        layer = node_layer.get(name)
        if layer is None or layer not in low.layer_kernel:
            unmapped_s += t
            continue
        k = low.layer_kernel[layer]
        by_kernel_meas[k] += t
        by_kernel_nodes[k].append(name)
    pred = {l.name: l.time_s for l in est.layers}
    groups = []
    for k, kern in enumerate(low.kernels):
        if kern.cls == NOOP and by_kernel_meas.get(k, 0.0) == 0.0:
            continue
        groups.append(GroupResult(kern.name, kern.layers, CLASS_NAMES[kern.cls], tuple(by_kernel_nodes.get(k, ())),
                                  float(pred.get(kern.name, 0.0)), float(by_kernel_meas.get(k, 0.0))))
    w = np.array(walls)
    mem = None
    if memory_samples:
        mem = memory_check(graph, est, threads, memory_samples)
    return Validation(net=graph.name, hw=device.name, threads=threads, runs=runs,
                      predicted_s=float(est.total.time_s), measured_s=float(np.median(w)),
                      wall_min_s=float(w.min()), wall_max_s=float(w.max()),
                      node_sum_s=float(sum(node_t.values())), unmapped_s=unmapped_s, groups=tuple(groups),
                      ort_version=ort.__version__, memory=mem, warnings=warnings, batch=int(graph.batch))


def _host_warnings(device, threads: int) -> list[str]:
    """The spec's calibration host against this machine (hostcheck.py)."""
    return [f"spec {device.name} may not describe this machine: {m}"
            for m in host_mismatches(device.host, machine_info(), threads)]


def _pct(x) -> str:
    return "" if x is None else f"{x:+.1f}%"


def validate_table(v: Validation, top: int = 5) -> str:
    rows = []
    for g in v.groups:
        rows.append((g.name, g.kernel_class, len(g.layers), f"{g.predicted_s * 1e3:.3f}", f"{g.measured_s * 1e3:.3f}",
                     _pct(g.error_pct)))
    lines = [f"{v.net} on {v.hw}: ONNX Runtime {v.ort_version} CPU, {v.threads} thread(s), batch {v.batch}, "
             f"{v.runs} runs",
             table(["kernel group", "class", "layers", "predicted ms", "measured ms", "error"], rows,
                   ["<", "<", ">", ">", ">", ">"]),
             "",
             f"total: predicted {v.predicted_s * 1e3:.3f} ms, measured {v.measured_s * 1e3:.3f} ms "
             f"(median wall of session.run; min {v.wall_min_s * 1e3:.3f}, max {v.wall_max_s * 1e3:.3f}), "
             f"error {v.error_pct:+.1f}%",
             f"profiled node time: {v.node_sum_s * 1e3:.3f} ms (unmapped {v.unmapped_s * 1e3:.3f} ms)"]
    sig = v.significant()
    if sig:
        worst = sorted(sig, key=lambda g: -abs(g.error_pct))[:top]
        lines.append(f"per kernel group (>= 1% of node time, {len(sig)} groups): median |error| "
                     f"{v.median_abs_error_pct():.1f}%; worst: " +
                     ", ".join(f"{g.name} {_pct(g.error_pct)}" for g in worst))
    if v.memory is not None:
        m = v.memory
        lines.append(f"memory: predicted peak {m.predicted_peak_bytes / 2**20:.1f} MiB ({m.model} model), "
                     f"measured peak RSS {m.measured_peak_rss_bytes / 2**20:.1f} MiB (fresh process: session "
                     f"creation + one run, minus the baseline after imports; median of {m.samples}, spread "
                     f"{m.spread_bytes / 2**20:.1f} MiB), error {100 * m.error:+.1f}%")
        if m.predicted_serving_peak_bytes and m.measured_serving_peak_bytes:
            se = m.predicted_serving_peak_bytes / m.measured_serving_peak_bytes - 1.0
            lines.append(f"memory after a second run (serving: ORT's memory pattern in use): predicted "
                         f"{m.predicted_serving_peak_bytes / 2**20:.1f} MiB, measured "
                         f"{m.measured_serving_peak_bytes / 2**20:.1f} MiB, error {100 * se:+.1f}%")
    for w in v.warnings:
        lines.append(f"WARNING: {w}")
    return "\n".join(lines) + "\n"


def validate_dict(v: Validation) -> dict:
    return {
        "net": v.net, "hw": v.hw, "threads": v.threads, "batch": v.batch, "runs": v.runs,
        "onnxruntime": v.ort_version,
        "total": {"predicted_ms": v.predicted_s * 1e3, "measured_ms": v.measured_s * 1e3,
                  "error_pct": v.error_pct, "measured_min_ms": v.wall_min_s * 1e3,
                  "measured_max_ms": v.wall_max_s * 1e3, "node_sum_ms": v.node_sum_s * 1e3,
                  "unmapped_ms": v.unmapped_s * 1e3},
        "summary": {"median_abs_error_pct": v.median_abs_error_pct(),
                    "groups_over_1pct": len(v.significant())},
        "layers": [{"name": g.name, "layers": list(g.layers), "kernel_class": g.kernel_class,
                    "ort_nodes": list(g.ort_nodes), "predicted_ms": g.predicted_s * 1e3,
                    "measured_ms": g.measured_s * 1e3, "error_pct": g.error_pct} for g in v.groups],
        "memory": v.memory.to_dict() if v.memory is not None else None,
        "warnings": list(v.warnings),
    }
