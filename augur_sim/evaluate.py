"""The one evaluation path: a workload, lowered once, costed against hardware rows.

- A *workload* is what runs: a layer graph at a precision, counted under conventions,
  fused by a runtime's rules. Its lowering (augur_sim/lowering.py) depends on nothing
  else, so it is cached per graph (augur_sim/memo.py), never on the graph object.
- A *target* is where it runs: a device's processor, a runtime of that processor, a
  thread count (and, for CPU clusters, which cores). It resolves to one float64 hardware
  row (augur_sim/engine/hwrow.py).
- Costing is one numba call over any number of rows: per kernel (`kernel_costs`, for
  per-layer reports) or per network (`network_costs`, for grids and sweeps).
- The ncnn CPU runtime has its own kernels (ncnn's algorithm per layer, engine/ncnn_*.py)
  and its own hardware row: `ncnn_costs` prices the same lowering with them, into the
  same [kernels, 7] columns.

`estimate` (augur_sim/estimator.py), the what-if grids and the sweeps
(augur_sim/explore/) all go through these functions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conventions import DEFAULT, Conventions
from .engine.hwrow import cpu_placement, hw_row, pick_processor, pick_runtime, resolve_runtime
from .engine.kernels import BOUND_COMPUTE, BOUND_DRAM, BOUND_NONE, BOUND_OVERHEAD, cost_matrix, cost_totals
from .engine.ncnn_algos import A_NOOP, NCNN_FUSION, X_ALGO, NcnnRows, ncnn_rows
from .engine.ncnn_cost import N_EB_ACT
from .engine.ncnn_cost import kernel_costs as ncnn_kernel_costs
from .engine.ncnn_hw import NcnnHw, ncnn_hw, with_net
from .graph import LayerGraph
from .hw import Device, Processor, Runtime, load_hw
from .hw.placement import Placement
from .lowering import LoweredNet, lower
from .memo import per_graph
from .precision import check


def check_precision(precision: str) -> None:
    check(precision)   # precision.py: refused precisions say why


def lowered(graph: LayerGraph, precision: str = "fp32", fusion=(), conventions: Conventions = DEFAULT
            ) -> LoweredNet:
    """The graph lowered at a precision under fusion rules and conventions, computed once."""
    key = (precision, tuple(sorted(fusion)), conventions.cache_key())
    cache = per_graph(graph, "lowered")
    low = cache.get(key)
    if low is None:
        low = cache[key] = lower(graph, precision, fusion, conventions)
    return low


@dataclass(frozen=True, eq=False)
class Workload:
    """A network as one runtime runs it: graph, precision, conventions, fusion rules."""
    graph: LayerGraph
    precision: str = "fp32"
    conventions: Conventions = DEFAULT
    fusion: tuple[str, ...] = ()

    def lowered(self) -> LoweredNet:
        return lowered(self.graph, self.precision, self.fusion, self.conventions)


@dataclass(frozen=True, eq=False)
class Target:
    """Where a workload runs. On a CPU, `cores` (big | little | all, ncnn's powersave 2/1/0;
    None = big) and `threads` (None = one per core of that set) are placed as ncnn does
    (augur_sim/hw/placement.py); `placement` is the result (None on a GPU) and `runtime` the
    one the slowest thread's core type selects where the runtime is fitted per core."""
    device: Device
    processor: Processor
    runtime: Runtime
    threads: int | None = None
    cores: str | None = None
    placement: Placement | None = None

    @property
    def fusion(self) -> tuple[str, ...]:
        return tuple(sorted(self.runtime.fusion))

    def row(self, precision: str = "fp32") -> np.ndarray:
        """The hardware row of this target at a precision (see engine/hwrow.py), read-only.

        A row depends on the processor, the runtime, the precision, threads and cores only,
        and processors are immutable records: it is built once per processor object and kept
        beside it (re-estimating on a loaded device skips it; an edited device is a new object)."""
        rows = self.processor.__dict__.get("_rows")
        if rows is None:
            rows = {}
            object.__setattr__(self.processor, "_rows", rows)
        key = (id(self.runtime), precision, self.threads, self.cores)
        hit = rows.get(key)
        if hit is not None and hit[0] is self.runtime:
            return hit[1]
        row = hw_row(self.processor, self.runtime, precision, self.threads, self.cores)
        row.flags.writeable = False
        rows[key] = (self.runtime, row)
        return row

    def workload(self, graph: LayerGraph, precision: str = "fp32",
                 conventions: Conventions = DEFAULT) -> Workload:
        """The graph as this target's runtime runs it (its fusion rules)."""
        return Workload(graph, precision, conventions, self.fusion)


def device_of(hw) -> Device:
    """A Device from a Device, a name from `augur hw list` or a spec path."""
    return hw if hasattr(hw, "processors") else load_hw(hw)


def resolve_target(hw, processor: str | None = None, runtime: str | None = None, threads: int | None = None,
                   cores: str | None = None) -> Target:
    """The processor (default: the device's GPU, else its first) and runtime (default: the
    processor's default runtime) of a device, by name or kind. The runtime is one of the spec's:
    a default that is a model of its own (ncnn, ncnn-vulkan) is routed before this
    (estimator.model_default) and refused here, naming the spec's runtimes."""
    device = device_of(hw)
    proc = pick_processor(device, processor)
    placement = cpu_placement(proc, threads, cores)
    rt = resolve_runtime(proc, pick_runtime(proc, runtime), placement)
    return Target(device, proc, rt, threads, cores, placement)


def kernel_costs(low: LoweredNet, rows: np.ndarray) -> np.ndarray:
    """[rows, kernels, 7] per-kernel costs (see engine/kernels.py for the columns)."""
    return cost_matrix(low.rows, np.ascontiguousarray(rows))


def network_costs(low: LoweredNet, rows: np.ndarray) -> np.ndarray:
    """[rows, 4] network totals: time, DRAM bytes, energy, compute-bound time."""
    return cost_totals(low.rows, np.ascontiguousarray(rows))


@dataclass(frozen=True, eq=False)
class NcnnCosts:
    """A network as ncnn runs it on one CPU: its lowering under ncnn's fusion, the ncnn
    work rows (algorithm per kernel), the placed hardware, the fitted parameters used, and
    the kernel costs in kernel_costs' columns."""
    lowered: LoweredNet
    rows: NcnnRows
    hw: NcnnHw
    params: np.ndarray
    costs: np.ndarray      # [kernels, 7]: time, compute, memory, DRAM bytes, bound, energy, on-chip (0)
    store: str             # activations' storage precision: fp16 on ARMv8.2 FP16 cores, else fp32
    activation_bytes: int  # bytes per stored activation element (the hardware row's)


def ncnn_costs(graph: LayerGraph, proc: Processor, cores: str | None, threads: int | None,
               conventions: Conventions, fit, winograd: bool = True) -> NcnnCosts:
    """Cost `graph` under ncnn on CPU `proc` (cores/threads placed as ncnn does), with the
    portable parameters `fit` gives the ISA class of the slowest thread's core; `winograd` False:
    ncnn's Winograd convolutions switched off (engine/ncnn_algos.ncnn_rows)."""
    hw = ncnn_hw(proc, cores, threads)
    params = fit.params(hw.isa_class, hw.caps.design or hw.caps.name, hw.caps.family)
    low = lowered(graph, "fp32", NCNN_FUSION, conventions)
    nr = ncnn_rows(graph, low, hw.arch, winograd)
    row = with_net(hw.row, float(low.total.weight_elems))
    kc = ncnn_kernel_costs(nr.x, row, params)
    res = np.zeros((low.n, 7))
    res[:, 0] = kc[:, 0]
    res[:, 1] = kc[:, 1]
    res[:, 2] = kc[:, 2]
    # DRAM bytes: what the kernel's memory term sent to DRAM (activations when its working
    # set spills half the last level, weights when the network's do not stay resident).
    res[:, 3] = kc[:, 4]
    busy = np.maximum(kc[:, 1], kc[:, 2])
    res[:, 4] = np.where(nr.x[:, X_ALGO] == A_NOOP, BOUND_NONE,
                         np.where(kc[:, 3] > busy, BOUND_OVERHEAD,
                                  np.where(kc[:, 1] >= kc[:, 2], BOUND_COMPUTE, BOUND_DRAM)))
    store = "fp16" if row[N_EB_ACT] == 2 else "fp32"
    # Energy as the generic engine counts it (engine/kernels.py), less the on-chip levels ncnn's
    # model does not track: FLOPs, the DRAM bytes each kernel moves, static power over its time.
    res[:, 5] = proc.energy_j(store, low.rows[:, 5], res[:, 3], res[:, 0])
    return NcnnCosts(low, nr, hw, params, res, store, int(row[N_EB_ACT]))
