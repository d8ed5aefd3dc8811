"""The estimate API: network x device -> per-layer and total time, memory and energy."""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from .conventions import DEFAULT, Conventions
from .engine.hwrow import pick_processor
from .engine.memory import POLICIES, footprint
from .errors import AugurError
from .evaluate import check_precision, device_of, kernel_costs, resolve_target
from .frontends import load_net
from .graph import DTYPE_BYTES, LayerGraph
from .hw import Device
from .ncnn_estimate import estimate_ncnn
from .precision import resolve as resolve_precision
from .result import (  # noqa: F401  (re-exported: the records' historical home)
    DEFAULT_RUNTIME_MIB,
    MAX_RUNTIME_MIB,
    Estimate,
    LayerEstimate,
    Totals,
    assemble,
    layer_estimates,
)


def estimate(net: str | os.PathLike | LayerGraph, hw: str | os.PathLike | Device, processor: str | None = None,
             batch: int | None = None, precision: str = "fp32", threads: int | None = None,
             policy: str = "reuse", runtime: str | None = None,
             conventions: Conventions = DEFAULT, runtime_mib: float | None = None,
             input_shape: tuple | None = None, cores: str | None = None) -> Estimate:
    """Estimate time, memory and energy of `net` on one processor of `hw`.

    Args:
        net: a descriptor path (.prototxt, .yaml, .onnx, .param), a name from `augur nets`
            (or a generated network's name, e.g. resnet-s0-00002), or a LayerGraph from load_net().
        hw: a device name from `augur hw list`, a spec YAML path, or a Device from load_hw().
        processor: "cpu", "gpu" or a processor name of the spec (default: the spec's GPU,
            else its first processor).
        batch: batch size (default: the descriptor's).
        precision: "fp32", "fp16", "bf16" or "int8". A precision the processor has no rate
            for falls back (int8 -> fp16 -> fp32, bf16 -> fp16 -> fp32) and the estimate says
            so: `precision_used`, `warnings`.
        threads: CPU threads (default: all cores of the processor).
        policy: memory policy of the headline figure, "reuse" (buffers reused once dead) or
            "caffe" (every blob kept); both are in `footprints`.
        runtime: a runtime of the processor (default: its default_runtime); "ncnn" for the
            ncnn CPU model.
        conventions: counting conventions (augur_sim.conventions.DEFAULT).
        runtime_mib: fixed runtime memory in MiB (default: 32 on a CPU, 300 on a GPU).
        input_shape: override the input shape, e.g. (1, 3, 224, 224).
        cores: CPU runs: which cores, "big", "little" or "all" (see below).

    Returns:
        An Estimate. Objects carry SI units (`time_s`, `energy_j`, `*_bytes`); its to_dict(),
        to_records() and to_dataframe() carry display units named in their keys (`time_ms`,
        `energy_mj`, `*_bytes`).

    Raises:
        AugurError: bad input (unknown net or device, unsupported precision, ...), one line.

    CPU runs: `cores` is big | little | all (ncnn's powersave 2/1/0; default big) and
    `threads` the thread count (default: the cores of that set); see augur_sim.hw.placement
    for how threads land on clusters and what over-subscription does.
    """
    check_precision(precision)
    if policy not in POLICIES:
        raise AugurError(f"unknown memory policy '{policy}'; expected one of {', '.join(POLICIES)}")
    graph = load_net(net, batch=batch, input_shape=input_shape)
    if runtime == "ncnn":
        # ncnn's CPU runtime: any CPU spec, parameters by ISA class (augur_sim/ncnn_estimate.py).
        device = device_of(hw)
        proc = pick_processor(device, processor or "cpu")
        est = estimate_ncnn(graph, device, proc, precision, cores, threads, policy, conventions, runtime_mib)
        return replace(est, precision_used=est.precision, spec_file=device.file)
    target = resolve_target(hw, processor, runtime, threads, cores)
    # Kernels run at the precision the processor has (precision.py): int8 asked of a GPU
    # without an int8 path is costed, in time and in bytes, as its fp16 fallback.
    use = resolve_precision(target.processor, precision, target.device.name)
    low = target.workload(graph, use.used, conventions).lowered()
    res = kernel_costs(low, target.row(use.used)[None, :])[0]
    mib = DEFAULT_RUNTIME_MIB[target.processor.kind] if runtime_mib is None else runtime_mib
    if not np.isfinite(mib) or mib < 0 or mib > MAX_RUNTIME_MIB:
        raise AugurError(f"runtime memory must be a non-negative number of MiB up to {MAX_RUNTIME_MIB}, "
                         f"got {mib}")
    fps = {p: footprint(graph, use.used, p, int(mib * 2**20), low.total.weight_elems) for p in POLICIES}
    pl = target.placement
    est = assemble(graph, target.device, target.processor, target.runtime, low, res, use.used, threads,
                   policy, fps, conventions, asked=precision, precision_used=use.used,
                   spec_file=target.device.file, warnings=(use.warning,) if use.warning else (),
                   weight_storage_bytes=(low.total.params + low.total.stat_params) * DTYPE_BYTES[precision],
                   cores=pl.cores if pl is not None else None, placement=pl)
    if pl is not None:
        est.assumptions["placement"] = pl.describe()
    return est
