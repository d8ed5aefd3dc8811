"""The estimate API: network x device -> per-layer and total time, memory and energy."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from .conventions import DEFAULT, Conventions
from .engine.hwrow import pick_processor
from .engine.memory import POLICIES, footprint
from .errors import AugurError
from .engine.ncnn_algos import NCNN_FUSION
from .engine.held_out import expected_error, kernel_model_error, ncnn_key, vk_key
from .engine.ncnn_cost import N_CLOCK_HZ, N_FP16, N_FP32_FPC, N_THREADS, PARAM_NAMES
from .evaluate import check_precision, device_of, kernel_costs, lowered, ncnn_costs, resolve_target
from .frontends import load_net
from .graph import DTYPE_BYTES, LayerGraph
from .hw import Device, load_hw
from .hw.load import spec_names
from .hw.model import MODEL_RUNTIMES, Runtime  # noqa: F401  (MODEL_RUNTIMES re-exported)
from .engine.ncnn_params import DEFAULT_FIT, load_fit
from .engine.ncnn_hw import ncnn_hw
from .engine.kernels import BOUND_COMPUTE, BOUND_DRAM, BOUND_NONE, BOUND_OVERHEAD
from .engine.ncnn_vulkan import (DEFAULT_VK_FIT, V_ALGO, VA_NOOP, VK_FUSION, VK_PARAM_NAMES,
                                 load_vk_fit, vk_hw, vk_kernel_costs, vk_rows)
from .precision import resolve as resolve_precision
from .result import (  # noqa: F401  (re-exported: the records' historical home)
    DEFAULT_RUNTIME_MIB,
    MAX_RUNTIME_MIB,
    Estimate,
    LayerEstimate,
    Totals,
    assemble,
    layer_estimates,
    rescaled,
)


def estimate(net: str | os.PathLike | LayerGraph, hw: str | os.PathLike | Device, processor: str | None = None,
             batch: int | None = None, precision: str = "fp32", threads: int | None = None,
             policy: str = "reuse", runtime: str | None = None,
             conventions: Conventions = DEFAULT, runtime_mib: float | None = None,
             input_shape: tuple | None = None, cores: str | None = None, anchors=()) -> Estimate:
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
        anchors: measurements of other networks on this device, ((net, measured_ms), ...), run
            the way this estimate asks (same device, processor, runtime, precision, cores and
            threads, and batch when one is given; each at its descriptor's own input). Given, every time of
            the estimate is the model's times the median measured / predicted of the anchors:
            the device's speed from measurement, the network's time relative to the anchors
            from the model. The expected error is then the held-out anchored band (anc_* of
            engine/held_out.py) where the runtime records one; `assumptions["anchor"]` says how.

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
    anchors = tuple(anchors or ())
    if anchors:
        hw = device_of(hw)   # loaded once for the estimate and its anchors
    kw: dict = dict(processor=processor, precision=precision, threads=threads, policy=policy, runtime=runtime,
              conventions=conventions, runtime_mib=runtime_mib, cores=cores)
    est = estimate_graph(graph, hw, anchored=bool(anchors), **kw)
    return apply_anchors(est, anchors, hw, kw, batch) if anchors else est


def model_default(hw, processor: str | None, runtime: str | None) -> str | None:
    """The runtime an estimate runs: `runtime` as asked, or, asked none, the processor's default
    where that is a runtime with a model of its own (MODEL_RUNTIMES: a corpus spec's CPU defaults
    to the fitted `ncnn`); None leaves the choice to the spec's runtimes (resolve_target)."""
    if runtime is not None:
        return runtime
    return pick_processor(device_of(hw), processor).default_model()


def check_model_placement(runtime: str | None, threads, cores) -> None:
    """--threads / --cores place CPU runs: refused for ncnn-vulkan, which runs on the GPU."""
    if runtime == "ncnn-vulkan" and (threads is not None or cores is not None):
        raise AugurError("--threads and --cores place CPU runs; --runtime ncnn-vulkan runs on the GPU")


def estimate_graph(graph: LayerGraph, hw, *, processor=None, precision: str = "fp32", threads=None,
                   policy: str = "reuse", runtime=None, conventions: Conventions = DEFAULT, runtime_mib=None,
                   cores=None, anchored: bool = False) -> Estimate:
    """estimate() of a loaded graph, without anchors; anchored: report the anchored band as the
    expected error, for a caller that scales the estimate itself (with_anchor_scale)."""
    if runtime is None:
        hw = device_of(hw)
        runtime = model_default(hw, processor, runtime)
        if runtime is not None:
            try:
                return estimate_graph(graph, hw, processor=processor, precision=precision, threads=threads,
                                      policy=policy, runtime=runtime, conventions=conventions,
                                      runtime_mib=runtime_mib, cores=cores, anchored=anchored)
            except AugurError as e:
                # Name where the runtime came from: the user asked for none.
                others = ", ".join(pick_processor(hw, processor).runtimes)
                raise AugurError(f"{e.message} ({runtime} is the default runtime of {hw.name}; "
                                 f"--runtime picks another: {others})", e.file, e.line, e.where) from None
    if runtime == "ncnn-vulkan":
        # ncnn's Vulkan backend: a GPU spec with a `vulkan:` section, parameters by GPU class.
        check_model_placement(runtime, threads, cores)
        device = device_of(hw)
        proc = pick_processor(device, processor)
        est = estimate_ncnn_vulkan(graph, device, proc, precision, policy, conventions, runtime_mib,
                                   anchored=anchored)
        return replace(est, precision_used=est.precision, spec_file=device.file)
    if runtime == "ncnn":
        # ncnn's CPU runtime: any CPU spec, parameters by ISA class (evaluate.ncnn_costs).
        device = device_of(hw)
        proc = pick_processor(device, processor or "cpu")
        est = estimate_ncnn(graph, device, proc, precision, cores, threads, policy, conventions, runtime_mib,
                            anchored=anchored)
        return replace(est, precision_used=est.precision, spec_file=device.file)
    target = resolve_target(hw, processor, runtime, threads, cores)
    # Kernels run at the precision the processor has (precision.py): int8 asked of a GPU
    # without an int8 path is costed, in time and in bytes, as its fp16 fallback.
    use = resolve_precision(target.processor, precision, target.device.name, target.runtime)
    low = target.workload(graph, use.used, conventions).lowered()
    res = kernel_costs(low, target.row(use.used)[None, :])[0]
    mib = DEFAULT_RUNTIME_MIB[target.processor.kind] if runtime_mib is None else runtime_mib
    if not np.isfinite(mib) or mib < 0 or mib > MAX_RUNTIME_MIB:
        raise AugurError(f"runtime memory must be a non-negative number of MiB up to {MAX_RUNTIME_MIB}, "
                         f"got {mib}")
    fps = {p: footprint(graph, use.used, p, int(mib * 2**20), low.total.weight_elems) for p in POLICIES}
    pl = target.placement
    warns: tuple[str, ...] = (use.warning,) if use.warning else ()
    quant = graph.quantised_layers()
    if quant and use.used != "int8":
        # A quantised descriptor (an ncnn `_int8` .param) on a runtime that prices every kernel at
        # one precision: its int8 layers cost what the float network's do, which the user who
        # picked the quantised file should be told.
        warns += (f"{len(quant)} layers of {graph.name} are quantised to int8 (e.g. {quant[0]}); runtime "
                  f"{target.runtime.name} prices every kernel at {use.used}, so they cost as the float "
                  "network's do; --runtime ncnn on a CPU runs them on ncnn's int8 kernels",)
    if target.processor.kind == "cpu" and getattr(target.runtime, "fitted", None) == "ncnn_roofline":
        # The corpus specs' default runtime is ncnn on the generic roofline engine, with estimated
        # efficiencies: the corpus-fitted ncnn model is `--runtime ncnn` (a model of its own, not
        # a runtime of the spec), which a user would otherwise not know to ask for.
        warns += (f"runtime {target.runtime.name} is ncnn on the generic roofline with estimated efficiencies; "
                  "--runtime ncnn prices this CPU with the ncnn model fitted on benchncnn's corpus and states "
                  "its expected error (docs/ACCURACY_NCNN.md compares the two)",)
    est = assemble(graph, target.device, target.processor, target.runtime, low, res, use.used, threads,
                   policy, fps, conventions, asked=precision, precision_used=use.used,
                   spec_file=target.device.file, warnings=warns,
                   weight_storage_bytes=(low.total.params + low.total.stat_params) * DTYPE_BYTES[precision],
                   cores=pl.cores if pl is not None else None, placement=pl)
    if pl is not None:
        est.assumptions["placement"] = pl.describe()
    km = target.runtime.kernel_model
    if km and target.processor.kind == "gpu":
        # How far this runtime's whole-network predictions fell from the measured networks of
        # a GPU the kernel model's fit never saw (engine/held_out.py, GPU_FIELDS).
        est.assumptions["expected_error"] = _shown_paths(kernel_model_error(
            km, target.runtime.name, use.used, graph.batch, est.total.time_s, anchored))
    elif target.runtime.source.startswith("estimate"):
        est.assumptions["expected_error"] = {"available": False,
                                             "why": estimated_runtime_why(target.runtime.name, target.processor)}
    return est


def names_core_types(proc) -> bool:
    """A CPU whose clusters name core types from hwspecs/cores/: what the ncnn fit prices with its
    class, family and design values (an older spec's `units` CPU does not)."""
    return proc.kind == "cpu" and any(getattr(c, "core", None) is not None for c in proc.clusters or ())


def estimated_runtime_why(runtime: str, proc) -> str:
    """Why a runtime whose efficiencies the spec estimates (its `source:` starts with 'estimate')
    has no expected error, and, on a CPU whose clusters name their core types, what has one: the
    corpus-fitted ncnn model, which a user reading a bare latency would not know to ask for."""
    why = f"runtime {runtime}'s efficiencies are estimates, measured on no device"
    if names_core_types(proc):
        why += ("; --runtime ncnn prices this CPU with the model fitted on benchncnn's corpus, "
                "with a held-out error band")
    return why


# Most anchors a run takes (each is a whole estimate of its own).
MAX_ANCHORS = 16


def anchor_scale(anchors, hw, kw: dict, batch: int | None = None) -> tuple[float, list[dict]]:
    """The device's speed from networks measured on it (see estimate()): every anchor estimated
    the way `kw` says (estimate_graph's keywords), at `batch` (None: each descriptor's own); the
    scale is the median of their measured / predicted (for two, the geometric mean). Returns the
    scale and what each anchor contributed."""
    anchors = tuple(anchors)
    if len(anchors) > MAX_ANCHORS:
        raise AugurError(f"--anchor: at most {MAX_ANCHORS} anchors, got {len(anchors)}")
    used, ratios = [], []
    for i, item in enumerate(anchors):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise AugurError(f"anchors[{i}]: expected (net, measured_ms), got {item!r}")
        net, ms = item
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not np.isfinite(ms) or not 0 < ms <= 1e7:
            raise AugurError(f"anchor {net}: expected a measured time in ms, positive and at most 1e7, got {ms!r}")
        try:
            a = estimate_graph(load_net(net, batch=batch), hw, **kw)
        except AugurError as e:
            # Say which option the failing network came from: the error alone reads as if the
            # estimated network were at fault.
            raise AugurError(f"--anchor {net}={ms:g}: {e}") from None
        if not a.total.time_s > 0:
            raise AugurError(f"anchor {net}: the model predicts no time for it on {a.hw} (nothing to scale by)")
        ratios.append(float(ms) / (a.total.time_s * 1e3))
        used.append({"net": a.net, "source": str(net) if not isinstance(net, LayerGraph) else a.net,
                     "measured_ms": float(ms), "predicted_ms": a.total.time_s * 1e3, "ratio": ratios[-1]})
    return float(np.exp(np.median(np.log(ratios)))), used


def with_anchor_scale(est: Estimate, scale: float, used: list[dict]) -> Estimate:
    """`est` (made with anchored=True) with every kernel's time times `scale` (result.rescaled),
    its expected range scaled alike, and assumptions["anchor"] saying so."""
    out = rescaled(est, scale)
    ee = out.assumptions.get("expected_error")
    if ee and ee.get("available"):
        ee["range_ms"] = [x * scale for x in ee["range_ms"]]
    out.assumptions["anchor"] = {
        "scale": scale, "anchors": used, "spec_only_time_ms": est.total.time_s * 1e3,
        "time_ms": out.total.time_s * 1e3,
        "how": "every kernel's time is the model's times the median measured / predicted of the anchors (run the "
               "same way on the same device); energy is the model's, not scaled",
    }
    return out


def apply_anchors(est: Estimate, anchors: tuple, hw, kw: dict, batch: int | None = None) -> Estimate:
    """`est` scaled by the measured / predicted time of networks measured on the device
    (anchor_scale, with_anchor_scale). batch: the batch the anchors ran at (None: each
    descriptor's own)."""
    return with_anchor_scale(est, *anchor_scale(anchors, hw, kw, batch))


def _ncnn_runtime(fit_source: str, isa_class: str, describe: str) -> Runtime:
    """A Runtime record for reports (the ncnn path does not use its efficiency fields)."""
    return Runtime(name="ncnn", stack=f"ncnn CPU (benchncnn defaults), {describe}",
                   source=f"fitted: {fit_source}, class {isa_class}", gemm_peak=1.0, gemm_half_m=0.0,
                   gemm_half_n=0.0, gemm_half_k=0.0, tile_m=1, tile_n=1, dw_conv=1.0, mem=1.0, eltwise=1.0,
                   fusion=NCNN_FUSION)


def estimate_ncnn(graph, device, proc, precision: str, cores: str | None, threads: int | None, policy: str,
                  conventions, runtime_mib, fit_path=None, anchored: bool = False) -> Estimate:
    """`estimate(..., runtime="ncnn")`: a network as benchncnn runs it on a CPU of any spec.

    The ncnn runtime needs nothing in the spec beyond its CPU clusters: the algorithm rules
    come from ncnn's sources (engine/ncnn_algos.py), the efficiencies from the portable fit
    (measurements/ncnn/fit.yaml) by the ISA class of the core the slowest thread runs on.
    Per layer, the estimate says which algorithm ncnn used (LayerEstimate.algorithm)."""
    if precision != "fp32":
        # benchncnn picks the precision itself: fp16 where the core computes in fp16, int8
        # for the quantised (_int8) networks.
        raise AugurError("the ncnn runtime chooses precision by core and network (fp16 storage and "
                         "arithmetic on ARMv8.2 cores with FP16, int8 for quantised layers); drop --precision")
    fit = load_fit(fit_path)
    nc = ncnn_costs(graph, proc, cores, threads, conventions, fit)
    low, hw = nc.lowered, nc.hw
    mib = DEFAULT_RUNTIME_MIB["cpu"] if runtime_mib is None else runtime_mib
    if not np.isfinite(mib) or mib < 0 or mib > MAX_RUNTIME_MIB:
        raise AugurError(f"runtime memory must be a non-negative number of MiB up to {MAX_RUNTIME_MIB}, got {mib}")
    fps = {p: footprint(graph, nc.store, p, int(mib * 2**20), low.total.weight_elems) for p in POLICIES}
    src = str(fit_path or DEFAULT_FIT.relative_to(DEFAULT_FIT.parents[2]))
    if fit.d.shape[0] == 0:
        src += " (absent: unfitted starting values)"
    rt = _ncnn_runtime(src, hw.isa_class if hw.isa_class in fit.classes else f"{hw.isa_class} -> default",
                       hw.describe)
    warning = ncnn_class_warning(device.name, hw.isa_class, fit)
    warn = (warning,) if warning else ()
    # Report the precision ncnn stores activations in on this core (fp16 on ARMv8.2 FP16 cores).
    est = assemble(graph, device, proc, rt, low, nc.costs, nc.store, threads, policy, fps, conventions,
                   algorithms=dict(zip(nc.rows.kernel_names, nc.rows.algos)), warnings=warn, cores=cores)
    est.assumptions["ncnn"] = {
        "placement": hw.describe, "threads": int(hw.row[N_THREADS]), "isa_class": hw.isa_class, "arch": hw.arch,
        "core_design": hw.caps.design, "pipeline_family": hw.caps.family,
        "fp16_arithmetic": bool(hw.caps.fp16_arith), "activation_bytes": nc.activation_bytes,
        "algorithms": {k: a for k, a in zip(nc.rows.kernel_names, nc.rows.algos) if a != "noop"},
        # Kernels of the network's quantised layers (an `_int8` .param), run in int8 whatever
        # the storage precision of the rest.
        "int8_kernels": sum(a.startswith("int8") for a in nc.rows.algos),
        "parameters": dict(zip(PARAM_NAMES, (float(v) for v in nc.params))),
        # The float peak of this run's threads the eff_* fractions apply to: what a roofline of
        # this run is drawn against (the spec's peak counts every core of the chip).
        "peak_flops": ncnn_peak_flops(hw.row),
    }
    # How far runs like this one were from benchncnn's measurements on devices the fit never
    # saw (leave-one-device-out, engine/held_out.py): the error of this estimate, as far as
    # the corpus can tell it.
    design = hw.caps.design or hw.caps.name
    est.assumptions["expected_error"] = _batch_one_runs(_shown_paths(expected_error(
        fit_path or DEFAULT_FIT, ncnn_key(hw.caps.family, int(hw.row[N_THREADS]), design in fit.cores),
        est.total.time_s, "ncnn", anchored)), graph.batch) if not warn else {
        "available": False, "why": "no held-out device was priced without its ISA class's values, as this one is"}
    return est


def ncnn_peak_flops(row) -> float:
    """The float FLOP/s of an ncnn hardware row as ncnn_cost.kernel_time prices it: threads x the
    slowest thread's share of its core clock x the core's FLOP/cycle, doubled for fp16 arithmetic."""
    return float(row[N_THREADS] * row[N_CLOCK_HZ] * row[N_FP32_FPC] * (2.0 if row[N_FP16] > 0.0 else 1.0))


def _batch_one_runs(rec: dict, batch: int) -> dict:
    """The ncnn runtimes' held-out runs are benchncnn's, all at batch 1: an estimate of a larger
    batch gets their band, saying it is theirs (`extrapolated`), not one of runs like it."""
    if rec.get("available") and batch > 1:
        rec["extrapolated"] = f"benchncnn ran batch 1 only: the band is of batch-1 runs, this estimate is batch {batch}"
    return rec


def ncnn_class_warning(device_name: str, isa_class: str, fit) -> str | None:
    """The warning of an ncnn estimate whose CPU the fit has no ISA class for; None where it has.
    A CPU whose clusters name no core type (hwspecs/cores/) has no ISA class, pipeline family or
    core design to take fitted values from: the shared values price it, a cruder estimate."""
    if isa_class in fit.classes:
        return None
    return (f"the ncnn fit has no ISA class {isa_class!r} (its CPU clusters name no core type from hwspecs/cores/, "
            "or one of a class benchncnn never measured): priced with the shared values, expect a larger error"
            + _cored_variants(device_name))


def _cored_variants(name: str) -> str:
    """A hint naming the catalogue's specs named like this one (`<name>*`: the same board at
    another clock, its corpus spec, a relative such as snapdragon_855plus for snapdragon_855)
    whose CPU clusters name their core types, which the ncnn runtime prices with fitted values."""
    found = []
    for other in spec_names():
        if other == name or not other.startswith(name) or other.endswith("_vulkan"):
            continue
        try:
            dev = load_hw(other)
        except AugurError:
            continue
        if any(names_core_types(p) for p in dev.processors.values()):
            found.append(other)
    return f"; specs named like it that name their core types: {', '.join(found)}" if found else ""


def _shown_paths(rec: dict) -> dict:
    """A held-out error record with the repository's own files named relative to it (as the
    fit source is), so reports do not carry this machine's paths."""
    src = rec.get("source")
    if src:
        try:
            rec["source"] = str(Path(src).resolve().relative_to(DEFAULT_FIT.parents[2]))
        except ValueError:
            pass
    return rec


def estimate_ncnn_vulkan(graph, device, proc, precision: str, policy: str, conventions, runtime_mib,
                         fit_path=None, anchored: bool = False) -> Estimate:
    """`estimate(..., runtime="ncnn-vulkan")`: a network as benchncnn runs it on a GPU through
    ncnn's Vulkan backend (engine/ncnn_vulkan.py): per layer the shader ncnn picks, priced by a
    roofline with the portable parameters of the GPU's class (measurements/ncnn/vulkan_fit.yaml).
    The per-inference submit cost (upload, queue submit, fence wait, download) is part of the
    total and of the overhead-bound time, not of any layer."""
    if precision != "fp32":
        raise AugurError("the ncnn-vulkan runtime chooses precision by GPU (fp16 storage and arithmetic where "
                         "the driver has them); drop --precision")
    hw = vk_hw(proc)
    fit = load_vk_fit(fit_path)
    params = fit.params(hw.gpu_class, hw.discrete)
    low = lowered(graph, "fp32", VK_FUSION, conventions)
    vr = vk_rows(graph, low, hw.discrete)
    kc = vk_kernel_costs(vr.x, hw.row, params)
    res = np.zeros((low.n, 7))
    res[:, 0:3] = kc[:, 0:3]
    res[:, 3] = kc[:, 4]
    busy = np.maximum(kc[:, 1], kc[:, 2])
    res[:, 4] = np.where(vr.x[:, V_ALGO] == VA_NOOP, BOUND_NONE,
                         np.where(kc[:, 3] > busy, BOUND_OVERHEAD, np.where(kc[:, 1] >= kc[:, 2], BOUND_COMPUTE,
                                                                            BOUND_DRAM)))
    store = "fp16" if hw.fp16_storage else "fp32"
    res[:, 5] = proc.energy_j("fp16" if hw.fp16_arithmetic else "fp32", low.rows[:, 5], res[:, 3], res[:, 0])
    mib = DEFAULT_RUNTIME_MIB["gpu"] if runtime_mib is None else runtime_mib
    if not np.isfinite(mib) or mib < 0 or mib > MAX_RUNTIME_MIB:
        raise AugurError(f"runtime memory must be a non-negative number of MiB up to {MAX_RUNTIME_MIB}, got {mib}")
    fps = {p: footprint(graph, store, p, int(mib * 2**20), low.total.weight_elems) for p in POLICIES}
    src = str(fit_path or DEFAULT_VK_FIT.relative_to(DEFAULT_VK_FIT.parents[2]))
    if not fit.classes:
        src += " (absent: unfitted starting values)"
    cls = hw.gpu_class if hw.gpu_class in fit.classes else f"{hw.gpu_class} -> shared values"
    rt = Runtime(name="ncnn-vulkan", stack=f"ncnn Vulkan backend (benchncnn defaults), {hw.describe}",
                 source=f"fitted: {src}, class {cls}", gemm_peak=1.0, gemm_half_m=0.0, gemm_half_n=0.0,
                 gemm_half_k=0.0, tile_m=1, tile_n=1, dw_conv=1.0, mem=1.0, eltwise=1.0, fusion=VK_FUSION)
    est = assemble(graph, device, proc, rt, low, res, store, None, policy, fps, conventions,
                   algorithms=dict(zip(vr.kernel_names, vr.algos)))
    est.assumptions["ncnn_vulkan"] = {
        "gpu": hw.describe, "gpu_class": hw.gpu_class, "fp16_arithmetic": hw.fp16_arithmetic,
        "fp16_storage": hw.fp16_storage, "discrete": hw.discrete,
        "shaders": {k: a for k, a in zip(vr.kernel_names, vr.algos) if a != "noop"},
        "parameters": dict(zip(VK_PARAM_NAMES, (float(v) for v in params))),
        "peak_flops": float(hw.peak_flops),  # the shader rate the model prices (fp16 where it computes so)
    }
    est.assumptions["expected_error"] = _batch_one_runs(_shown_paths(expected_error(
        fit_path or DEFAULT_VK_FIT, vk_key(hw.gpu_class, hw.discrete), est.total.time_s, "ncnn-vulkan", anchored)),
        graph.batch)
    return est


def fitted_models(device, ncnn_fit=None, vk_fit=None) -> str:
    """Which corpus-fitted models price a device's processors, and by what: its CPU under ncnn by
    the ISA class of its cores (or the fit's shared values, where its clusters name no core type
    of a fitted class), its GPU under ncnn-vulkan by GPU class, and the GPU kernel model's
    runtimes by SM architecture. What `augur hw list` shows beside each spec."""
    ncnn_fit = load_fit() if ncnn_fit is None else ncnn_fit
    vk_fit = load_vk_fit() if vk_fit is None else vk_fit
    parts = []
    for name, proc in device.processors.items():
        found = []
        if proc.kind == "cpu":
            try:
                cls = ncnn_hw(proc, None, None).isa_class
            except AugurError:
                cls = None
            if cls is not None:
                found.append(f"ncnn ({cls if cls in ncnn_fit.classes else 'shared values'})")
        else:
            if getattr(proc, "vulkan", None) is not None:
                cls = vk_hw(proc).gpu_class
                found.append(f"ncnn-vulkan ({cls if cls in vk_fit.classes else 'shared values'})")
            km = [n for n, r in proc.runtimes.items() if getattr(r, "kernel_model", "")]
            if km:
                found.append(f"{', '.join(km)} ({proc.arch})")
        if found:
            parts.append(f"{name}: {'; '.join(found)}")
    return " | ".join(parts) or "-"
