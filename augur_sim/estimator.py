"""The estimate API: network x device -> per-layer and total time, memory and energy."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .conventions import DEFAULT, Conventions
from .engine.hwrow import pick_processor
from .engine.memory import POLICIES, footprint
from .errors import AugurError
from .evaluate import check_precision, device_of, kernel_costs, resolve_target
from .frontends import load_net
from .ncnn_estimate import estimate_ncnn
from .result import (  # noqa: F401  (re-exported: the records' historical home)
    DEFAULT_RUNTIME_MIB,
    MAX_RUNTIME_MIB,
    Estimate,
    LayerEstimate,
    Totals,
    assemble,
    layer_estimates,
)


def estimate(net, hw, processor: str | None = None, batch: int | None = None, precision: str = "fp32",
             threads: int | None = None, policy: str = "reuse", runtime: str | None = None,
             conventions: Conventions = DEFAULT, runtime_mib: float | None = None,
             input_shape: tuple | None = None, cores: str | None = None) -> Estimate:
    """Estimate `net` (path, zoo name or LayerGraph) on `hw` (name, path or Device).

    CPU runs: `cores` is big | little | all (ncnn's powersave 2/1/0; default big) and
    `threads` the thread count (default: the cores of that set); see augur_sim.hw.placement
    for how threads land on clusters and what over-subscription does."""
    check_precision(precision)
    if policy not in POLICIES:
        raise AugurError(f"unknown memory policy '{policy}'; expected one of {', '.join(POLICIES)}")
    graph = load_net(net, batch=batch, input_shape=input_shape)
    if runtime == "ncnn":
        # ncnn's CPU runtime: any CPU spec, parameters by ISA class (augur_sim/ncnn_estimate.py).
        device = device_of(hw)
        proc = pick_processor(device, processor or "cpu")
        return estimate_ncnn(graph, device, proc, precision, cores, threads, policy, conventions, runtime_mib)
    target = resolve_target(hw, processor, runtime, threads, cores)
    low = target.workload(graph, precision, conventions).lowered()
    res = kernel_costs(low, target.row(precision)[None, :])[0]
    mib = DEFAULT_RUNTIME_MIB[target.processor.kind] if runtime_mib is None else runtime_mib
    if not np.isfinite(mib) or mib < 0 or mib > MAX_RUNTIME_MIB:
        raise AugurError(f"runtime memory must be a non-negative number of MiB up to {MAX_RUNTIME_MIB}, "
                         f"got {mib}")
    fps = {p: footprint(graph, precision, p, int(mib * 2**20), low.total.weight_elems) for p in POLICIES}
    est = assemble(graph, target.device, target.processor, target.runtime, low, res, precision, threads,
                   policy, fps, conventions)
    if target.placement is None:
        return est
    est.assumptions["placement"] = target.placement.describe()
    return replace(est, cores=target.placement.cores, placement=target.placement)
