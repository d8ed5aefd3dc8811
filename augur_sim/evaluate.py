"""The one evaluation path: a workload, lowered once, costed against hardware rows.

- A *workload* is what runs: a layer graph at a precision, counted under conventions,
  fused by a runtime's rules. Its lowering (augur_sim/lowering.py) depends on nothing
  else, so it is cached per graph (augur_sim/memo.py), never on the graph object.
- A *target* is where it runs: a device's processor, a runtime of that processor, a
  thread count (and, for CPU clusters, which cores). It resolves to one float64 hardware
  row (augur_sim/engine/hwrow.py).
- Costing is one numba call over any number of rows: per kernel (`kernel_costs`, for
  per-layer reports) or per network (`network_costs`, for grids and sweeps).

`estimate` (augur_sim/estimator.py), the what-if grids and the sweeps
(augur_sim/explore/) all go through these functions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conventions import DEFAULT, Conventions
from .engine.hwrow import cpu_placement, hw_row, pick_processor, pick_runtime, resolve_runtime
from .engine.kernels import cost_matrix, cost_totals
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
        """The hardware row of this target at a precision (see engine/hwrow.py)."""
        return hw_row(self.processor, self.runtime, precision, self.threads, self.cores)

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
    processor's default runtime) of a device, by name or kind."""
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
