"""An estimate's records: per layer and total time, memory and energy, assembled from
one target's kernel costs (augur_sim/evaluate.py) and the memory footprints."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from .conventions import Conventions
from .engine.kernels import BOUND_NAMES
from .engine.memory import Footprint
from .engine.runtime_memory import RuntimeFootprint, model_for, runtime_footprint
from .graph import DTYPE_BYTES
from .lowering import CLASS_NAMES, LoweredNet
from .records import records_dataframe

# Fixed memory a runtime needs besides tensors (library code, allocator bookkeeping; on a
# GPU the CUDA context and cuDNN/cuBLAS handles). Estimates, not measurements: a CUDA
# context alone is commonly a few hundred MiB; overridable with runtime_mib=.
DEFAULT_RUNTIME_MIB = {"cpu": 32, "gpu": 300}
MAX_RUNTIME_MIB = 1 << 30  # 1 PiB of runtime overhead is a units mistake, not a runtime


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    type: str
    op: str
    kernel: str              # the kernel (host layer) this layer ran in
    fused_into: str | None   # host layer when this layer was fused into another's kernel
    kernel_class: str
    time_s: float
    compute_s: float
    memory_s: float
    macs: int
    flops: int
    params: int
    dram_bytes: float
    bound: str
    energy_j: float
    input_shapes: tuple
    output_shape: tuple
    # The algorithm the runtime ran this layer's kernel with, where the runtime models one
    # (ncnn: winograd63, sgemm1x1, depthwise...); None for the roofline runtimes.
    algorithm: str | None = None


@dataclass(frozen=True)
class Totals:
    time_s: float
    macs: int
    flops: int
    params: int
    stat_params: int
    weight_bytes: int
    peak_activation_bytes: int
    peak_memory_bytes: int
    dram_bytes: float
    energy_j: float
    bound_time_s: dict  # bound name -> seconds


@dataclass(frozen=True)
class Estimate:
    net: str
    hw: str
    processor: str
    processor_kind: str
    runtime: str
    batch: int
    precision: str
    threads: int | None
    policy: str
    total: Totals
    footprints: dict  # policy -> Footprint
    memory_capacity_bytes: int
    assumptions: dict = field(default_factory=dict)
    # The chosen runtime's own memory model (engine/runtime_memory.py); None when the
    # runtime has none and the headline peak is the policy view's.
    runtime_memory: RuntimeFootprint | None = field(default=None, compare=False)
    # The lowered net and the kernel costs [kernels, 7]; per-layer records are built from
    # them on first use, so a caller that wants totals only never pays for them.
    lowered: LoweredNet = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    kernel_costs: np.ndarray = field(default=None, repr=False, compare=False)  # type: ignore[arg-type]
    # kernel (host layer) -> algorithm, for runtimes that choose one per kernel (ncnn)
    algorithms: dict | None = field(default=None, repr=False, compare=False)
    # CPU runs: the core set the run used (big | little | all) and the placement it resolved
    # to (augur_sim.hw.placement.Placement); None on a GPU.
    cores: str | None = None
    placement: object = field(default=None, repr=False, compare=False)
    # What the estimate really used: `precision` is the one asked for, `precision_used` the
    # one every kernel is costed at (they differ when the processor lacks the asked one; see
    # precision.py), from the spec file `spec_file`. `weight_storage_bytes`: the weights at
    # the asked precision, what a file holding them would take (not memory the run saves).
    precision_used: str = ""
    spec_file: str | None = None
    warnings: tuple = ()
    weight_storage_bytes: int | None = None

    @cached_property
    def layers(self) -> tuple[LayerEstimate, ...]:
        return layer_estimates(self.lowered, self.kernel_costs, self.algorithms)

    @property
    def fits(self) -> bool:
        return self.total.peak_memory_bytes <= self.memory_capacity_bytes

    def __repr__(self) -> str:
        # Short: the per-layer records are a property (est.layers), not part of the repr.
        t = self.total
        used = self.precision_used or self.precision
        return (f"Estimate({self.net} on {self.hw}/{self.processor}, runtime {self.runtime}, batch {self.batch}, "
                f"{self.precision}" + (f" (used {used})" if used != self.precision else "")
                + f": {t.time_s * 1e3:.3f} ms, peak memory {t.peak_memory_bytes / 2**20:.1f} MiB, "
                f"energy {t.energy_j * 1e3:.3f} mJ, {len(self.lowered.counts) if self.lowered else 0} layers)")

    def to_records(self) -> list[dict]:
        """One flat dict per layer, in the JSON's units (keys name them: time_ms, energy_mj,
        dram_bytes), with the estimate's context (net, hw, processor, runtime, batch,
        precision, precision_used) on every record, ready for csv.DictWriter or pandas."""
        ctx = {"net": self.net, "hw": self.hw, "processor": self.processor, "runtime": self.runtime,
               "batch": self.batch, "precision": self.precision,
               "precision_used": self.precision_used or self.precision}
        out = []
        for rec in self.to_dict()["layers"]:
            rec = dict(rec)
            rec["input_shapes"] = ";".join("x".join(map(str, s)) for s in rec["input_shapes"])
            rec["output_shape"] = "x".join(map(str, rec["output_shape"]))
            out.append({**ctx, **rec})
        return out

    def to_dataframe(self):
        """to_records() as a pandas DataFrame (pandas is optional: imported here, on use)."""
        return records_dataframe(self.to_records())

    def to_dict(self) -> dict:
        t = self.total
        return {
            "net": self.net, "hw": self.hw, "processor": self.processor,
            "processor_kind": self.processor_kind, "runtime": self.runtime, "batch": self.batch,
            "precision": self.precision, "precision_used": self.precision_used or self.precision,
            "spec_file": self.spec_file, "warnings": list(self.warnings),
            "threads": self.threads, "cores": self.cores, "policy": self.policy,
            "total": {
                "time_ms": t.time_s * 1e3, "macs": t.macs, "flops": t.flops, "params": t.params,
                "stat_params": t.stat_params, "weight_bytes": t.weight_bytes,
                "peak_activation_bytes": t.peak_activation_bytes,
                "peak_memory_bytes": t.peak_memory_bytes, "dram_bytes": t.dram_bytes,
                "energy_mj": t.energy_j * 1e3,
                "bound_time_ms": {k: v * 1e3 for k, v in t.bound_time_s.items()},
                "memory_capacity_bytes": self.memory_capacity_bytes, "fits": self.fits,
                "weight_storage_bytes": self.weight_storage_bytes,
            },
            "memory_model": self.runtime_memory.to_dict() if self.runtime_memory else None,
            "memory": {p: {"weight_bytes": f.weight_bytes, "peak_activation_bytes": f.peak_activation_bytes,
                           "workspace_bytes": f.workspace_bytes, "runtime_bytes": f.runtime_bytes,
                           "peak_memory_bytes": f.peak_memory_bytes, "peak_step": f.peak_step}
                       for p, f in self.footprints.items()},
            "layers": [{
                "name": l.name, "type": l.type, "op": l.op, "kernel": l.kernel, "fused_into": l.fused_into,
                "kernel_class": l.kernel_class, "time_ms": l.time_s * 1e3, "compute_ms": l.compute_s * 1e3,
                "memory_ms": l.memory_s * 1e3, "macs": l.macs, "flops": l.flops, "params": l.params,
                "dram_bytes": l.dram_bytes, "bound": l.bound, "energy_mj": l.energy_j * 1e3,
                "input_shapes": [list(s) for s in l.input_shapes], "output_shape": list(l.output_shape),
                **({"algorithm": l.algorithm} if l.algorithm is not None else {}),
                "precision_used": self.precision_used or self.precision,
            } for l in self.layers],
            "assumptions": self.assumptions,
        }


def layer_estimates(low: LoweredNet, res: np.ndarray, algorithms: dict | None = None) -> tuple[LayerEstimate, ...]:
    """Per-layer records: a kernel's cost goes to its host layer (with the auxiliary kernels
    the runtime runs for it, such as a separate bias pass); fused layers get 0."""
    aux: dict[str, np.ndarray] = {}
    for k, kern in enumerate(low.kernels):
        if kern.aux:
            aux[kern.name] = aux.get(kern.name, 0.0) + res[k]
    layers = []
    for lc in low.counts:
        k = low.layer_kernel[lc.name]
        kern = low.kernels[k]
        host = kern.layers[0] == lc.name
        r = res[k] + aux[lc.name] if host and lc.name in aux else res[k]
        layers.append(LayerEstimate(
            name=lc.name, type=lc.src_type or lc.op, op=lc.op, kernel=kern.name,
            fused_into=None if host else kern.name, kernel_class=CLASS_NAMES[kern.cls],
            time_s=float(r[0]) if host else 0.0, compute_s=float(r[1]) if host else 0.0,
            memory_s=float(r[2]) if host else 0.0, macs=lc.counts.macs, flops=lc.counts.flops,
            params=lc.counts.params, dram_bytes=float(r[3]) if host else 0.0,
            bound=BOUND_NAMES[int(res[k, 4])] if host else "fused",
            energy_j=float(r[5]) if host else 0.0, input_shapes=lc.input_shapes,
            output_shape=lc.output_shapes[0] if lc.output_shapes else (),
            algorithm=algorithms.get(kern.name) if algorithms and host else None))
    return tuple(layers)


def rescaled(est: Estimate, scale: float) -> Estimate:
    """`est` with every kernel's time (and its compute and memory parts) times `scale`: the
    device's speed taken from a measurement (estimator.apply_anchors). Counts, traffic, memory
    and energy stay the model's. A copy: `est` is unchanged."""
    res = np.array(est.kernel_costs, dtype=float, copy=True)
    res[:, 0:3] *= scale
    t = est.total
    total = replace(t, time_s=t.time_s * scale, bound_time_s={k: v * scale for k, v in t.bound_time_s.items()})
    return replace(est, total=total, kernel_costs=res, assumptions=copy.deepcopy(est.assumptions))


def assemble(graph, device, proc, rt, low: LoweredNet, res: np.ndarray, precision, threads, policy,
             fps: dict, conventions: Conventions, asked: str | None = None, **fields) -> Estimate:
    """The Estimate of kernel costs `res`, costed at `precision`; `asked`: the precision asked
    for, when it differs; `fields` sets Estimate's other fields (one construction: a
    dataclasses.replace afterwards costs as much as building the record)."""
    # Time by bound: one bincount over the kernels (bound codes 0..3; 4 = no-op).
    by_bound = np.bincount(res[:, 4].astype(np.int64), weights=res[:, 0], minlength=len(BOUND_NAMES))
    bound_time = {b: float(by_bound[i]) for i, b in enumerate(BOUND_NAMES[:4])}
    fp: Footprint = fps[policy]
    tot = low.total
    eb = DTYPE_BYTES[precision]
    # Headline peak: the runtime's memory model when it has one; the policy view otherwise
    # (both policy views stay in `footprints`).
    mem_section = dict(rt.memory)
    rfp = runtime_footprint(graph, model_for(rt.name, mem_section), mem_section, threads or proc.units,
                            precision, proc.kind, rt.name, rt.fusion, proc.arch, fields.get("algorithms"))
    total = Totals(
        time_s=float(res[:, 0].sum()), macs=tot.macs, flops=tot.flops,
        params=tot.params, stat_params=tot.stat_params,
        weight_bytes=(tot.params + tot.stat_params) * eb,
        peak_activation_bytes=fp.peak_activation_bytes,
        peak_memory_bytes=rfp.peak_bytes if rfp else fp.peak_memory_bytes,
        dram_bytes=float(res[:, 3].sum()), energy_j=float(res[:, 5].sum()), bound_time_s=bound_time)
    assumptions = {
        "conventions": conventions.describe(),
        "fusion_rules": list(low.fusion),
        "runtime": f"{rt.name}: {rt.stack}",
        "efficiency_source": rt.source,
        "memory_policy": policy,
        "memory_model": rfp.model if rfp else f"tensors ({policy} policy + runtime constant)",
        "runtime_memory_bytes": fp.runtime_bytes,
        "time_model": ("GPU kernel model '" + rt.kernel_model + "' (engine/gpu_algos.py): cuDNN conv "
                       "algorithm, GEMM tiles in waves over the SMs, split-K, bandwidth kernels, launch "
                       "floor; parameters hwspecs/fits/" + rt.kernel_model + ".yaml; " +
                       ("network time = sum of kernels (no overlap between kernels)" if rt.graph_floor_s > 0.0
                        else "network time = an asynchronous pipeline: the host issues op after op, the GPU "
                        "starts an op when the previous one ends and it has been issued; each op's time is "
                        "what it adds to the GPU's end (engine/gpu_algos.pipeline_step)")) if rt.kernel_model else
                      "roofline per kernel: max(compute, slowest memory level) + per-kernel overhead, "
                      "at least the host issue time for asynchronous runtimes; network time = sum of "
                      "kernels (no overlap between kernels)",
        "dropped_layers": [list(d) for d in graph.dropped],
    }
    return Estimate(net=graph.name, hw=device.name, processor=proc.name, processor_kind=proc.kind,
                    runtime=rt.name, batch=graph.batch, precision=asked or precision,
                    threads=threads,
                    policy=policy, total=total, footprints=fps,
                    memory_capacity_bytes=device.memory_bytes, assumptions=assumptions,
                    lowered=low, kernel_costs=res, runtime_memory=rfp, **fields)
