"""Design-space sweeps: networks x devices x batch x precision -> one results table.

Work is split into items (one network at one batch and precision); an item is lowered
once per fusion rule set and evaluated against ALL hardware rows of that rule set in one
`cost_totals` call. Items run in-process, in a local process pool, or on a
dask.distributed cluster; results are written as they arrive into a part folder
(`OUT.parts/`, one complete file per chunk, each renamed into place), then merged into
OUT atomically. A killed sweep therefore loses at most the rows not yet flushed, and a
re-run skips every (net, hw, processor, batch, precision, cores, threads) key already present.

`--runtime ncnn` / `ncnn-vulkan` sweeps price each device with that runtime's own model
instead (estimator.estimate, one device at a time), and add each run's expected error to the
row. Under ncnn a CPU's placement (core set and thread count) is part of the key: `--threads
1,2,4 --cores big,all` prices every device at each placement it can take, one row each. A
resumed file's rows must be runs of the same runtime (a key does not name it).
"""
from __future__ import annotations

import fnmatch
import glob as globmod
import io
import json
import math
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..engine.held_out import batch_band, current_held_out, kernel_model_error, order_summary, placement_summary
from ..engine.hwrow import pick_processor, pick_runtime
from ..engine.memory import POLICIES, footprint
from ..engine.runtime_memory import model_for, runtime_footprint
from ..engine.ncnn_cost import N_THREADS
from ..engine.ncnn_hw import ncnn_hw
from ..engine.ncnn_params import DEFAULT_FIT as NCNN_DEFAULT_FIT
from ..engine.ncnn_params import load_fit as load_ncnn_fit
from ..engine.ncnn_vulkan import DEFAULT_VK_FIT as VK_DEFAULT_FIT
from ..engine.ncnn_vulkan import is_quantised, vk_hw
from ..errors import AugurError
from ..estimator import (MODEL_RUNTIMES, anchor_scale, check_model_placement, estimate, estimate_graph,
                         ncnn_class_warning, with_anchor_scale)
from ..evaluate import Target, lowered, network_costs
from ..fileio import atomic_path
from ..frontends import SUFFIXES, load_net, resolve_net
from ..frontends.generated import GenSpec
from ..graph import MAX_BATCH, PRECISIONS, rebatch
from ..hw import load_hw
from ..hw.load import spec_names
from ..hw.placement import CORE_SETS, candidate_placements
from ..precision import resolve as resolve_precision
from ..progress import progress_bar
from ..result import DEFAULT_RUNTIME_MIB
from .generate import generate

# A row's key: the run it prices. cores and threads are the CPU placement of ncnn rows (the
# core set and the thread count the estimate ran), empty for every other runtime.
KEY = ("net", "hw", "processor", "batch", "precision", "cores", "threads")
# The columns a results file must have; one written before placements were keyed may lack the rest.
KEY_REQUIRED = KEY[:5]


def key_order(k: tuple) -> tuple:
    """A row key as a sort key: empty fields (None) first, so keys with and without a placement sort."""
    return tuple((v is not None, v if v is not None else "") for v in k)


# (column, arrow type name). The order is the file's column order.
COLUMNS = (
    ("net", "string"), ("net_source", "string"), ("hw", "string"), ("processor", "string"),
    ("processor_kind", "string"), ("runtime", "string"), ("batch", "int64"), ("precision", "string"),
    ("precision_used", "string"),
    ("time_ms", "float64"), ("throughput_ips", "float64"), ("macs", "int64"), ("flops", "int64"),
    ("params", "int64"), ("dram_bytes", "float64"), ("energy_mj", "float64"),
    ("compute_share", "float64"), ("bound", "string"),
    ("peak_memory_bytes_reuse", "int64"), ("peak_memory_bytes_caffe", "int64"),
    ("memory_capacity_bytes", "int64"), ("fits", "bool"), ("fits_caffe", "bool"),
    # Runtimes with a model of their own (--runtime ncnn / ncnn-vulkan): the CPU placement
    # asked for; for those and the GPU kernel model's runtimes (pytorch-eager / -cudagraph),
    # the range 80% of held-out runs like this one measured (engine/held_out.py); empty for
    # the specs' other runtimes, which record none.
    ("threads", "int64"), ("cores", "string"), ("expected_low_ms", "float64"), ("expected_high_ms", "float64"),
    # The peak `augur estimate` reports (its headline): the runtime's own memory model where it
    # has one (engine/runtime_memory.py: ONNX Runtime's arena, PyTorch's caching allocator,
    # Caffe's blobs, ncnn's allocators), else the reuse policy's; `fits` compares it with the
    # device's memory. `memory_model` names which.
    ("peak_memory_bytes", "int64"), ("memory_model", "string"),
    # --anchor: the measured / predicted of the networks timed on the (one) device, which every
    # time of the row (time_ms, throughput, the expected range) was scaled by; empty: spec only.
    ("anchor_scale", "float64"),
    ("gen_family", "string"), ("gen_seed", "int64"), ("gen_index", "int64"),
    ("gen_resolution", "int64"), ("gen_blocks", "int64"), ("gen_width", "float64"),
    ("gen_params", "string"),
)
GEN_COLUMNS = ("gen_family", "gen_seed", "gen_index", "gen_resolution", "gen_blocks", "gen_width",
               "gen_params")


def arrow_schema():
    import pyarrow as pa
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}
    return pa.schema([(n, types[t]) for n, t in COLUMNS])


# ---------------------------------------------------------------- inputs

@dataclass(frozen=True)
class NetSpec:
    """A network to sweep: a descriptor path, or a generated network (family, seed, index)."""
    name: str
    source: str
    path: str | None = None
    gen: GenSpec | None = None

    def graph(self, batch: int):
        if self.gen is not None:
            return self.gen.graph(batch)
        assert self.path is not None  # a NetSpec is a path or a generated network
        return _load_path(self.path, batch)


_GRAPH_CACHE: dict = {}


def _load_path(path: str, batch: int):
    """Descriptor files are parsed once per process; other batches are rebatched copies."""
    base = _GRAPH_CACHE.get(path)
    if base is None:
        if len(_GRAPH_CACHE) > 64:
            _GRAPH_CACHE.clear()
        base = _GRAPH_CACHE[path] = load_net(path)
    return base if base.batch == batch else rebatch(base, batch)


def _has_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def _hw_path_like(s: str) -> bool:
    """A --hw pattern with a folder or a .yaml suffix globs files; a bare one globs device names."""
    return "/" in s or os.sep in s or s.endswith((".yaml", ".yml"))


def expand_nets(specs) -> list[NetSpec]:
    """Zoo names, paths and globs -> NetSpecs (a glob matching nothing is an error)."""
    out, seen = [], set()
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        if _has_glob(spec):
            paths = sorted(p for p in globmod.glob(spec) if Path(p).suffix in SUFFIXES)
            if not paths:
                raise AugurError(f"--nets pattern '{spec}' matches no descriptor file "
                                 f"({', '.join(SUFFIXES)})")
        else:
            paths = [str(resolve_net(spec))]
        for p in paths:
            name = Path(p).stem
            if name in seen:
                continue  # the same network named twice (a glob and a name)
            seen.add(name)
            out.append(NetSpec(name=name, source=str(p), path=str(p)))
    return out


def expand_hw(specs) -> list:
    """Device names, spec paths and globs -> loaded Devices, each once."""
    out, seen = [], set()
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        if _has_glob(spec) and not _hw_path_like(spec):
            # 'jetson_*': a pattern over device names (`augur hw list`), not over files here.

            paths = [n for n in spec_names() if fnmatch.fnmatchcase(n, spec)]
            if not paths:
                raise AugurError(f"--hw pattern '{spec}' matches no device name (see `augur hw list`)")
        elif _has_glob(spec):
            paths = sorted(p for p in globmod.glob(spec) if p.endswith((".yaml", ".yml")))
            if not paths:
                raise AugurError(f"--hw pattern '{spec}' matches no spec file (.yaml)")
        else:
            paths = [spec]
        for p in paths:
            dev = load_hw(p)
            if dev.name not in seen:
                seen.add(dev.name)
                out.append(dev)
    return out


def parse_list(text: str, what: str, parse=str) -> list:
    items = [t.strip() for t in str(text).split(",")]
    if not any(items):
        raise AugurError(f"{what} needs at least one value, got '{text}'")
    if not all(items):
        # An empty value ('--hw ""', 'a,,b') is a slip, not a request to drop it: say so
        # before the sweep starts (a fuzz case ran a million-network sweep past one).
        raise AugurError(f"{what}: an empty value in '{text}' (values are separated by commas or spaces)")
    out = []
    for t in items:
        try:
            v = parse(t)
        except ValueError:
            raise AugurError(f"{what}: '{t}' is not a valid value")
        if v not in out:
            out.append(v)
    return out


def parse_batches(text: str) -> list[int]:
    out = parse_list(text, "--batch", int)
    for b in out:
        if b <= 0 or b > MAX_BATCH:
            raise AugurError(f"--batch values must be between 1 and {MAX_BATCH}, got {b}")
    return out


def parse_threads(text: str) -> list[int]:
    out = parse_list(text, "--threads", int)
    for t in out:
        if t <= 0:
            raise AugurError(f"--threads values must be positive integers, got {t}")
    return out


def parse_choices(text: str, what: str, allowed) -> list[str]:
    """A comma list whose values must be among `allowed` (--cores, --precision)."""
    out = parse_list(text, what)
    for v in out:
        if v not in allowed:
            raise AugurError(f"{what}: unknown '{v}'; expected some of {', '.join(allowed)}")
    return out


def parse_cores(text: str) -> list[str]:
    return parse_choices(text, "--cores", CORE_SETS)


def parse_precisions(text: str) -> list[str]:
    return parse_choices(text, "--precision", PRECISIONS)


# ---------------------------------------------------------------- hardware pack

@dataclass(frozen=True)
class PackedTarget:
    """One (device, processor, runtime) of the sweep as plain data for the workers."""
    hw: str
    processor: str
    processor_kind: str
    runtime: str
    memory_capacity_bytes: int
    runtime_bytes: int
    # The GPU kernel model's fit name (hwspecs/fits/<name>.yaml) where the runtime is priced by
    # it: its held-out error gives the row its expected range, as `augur estimate` reports it.
    kernel_model: str = ""
    # The runtime's memory model (engine/runtime_memory.model_for; "tensors": none) and what it
    # is called with, as `augur estimate` calls it (result.build): the spec's `memory:` section
    # as sorted items, the threads (the processor's units), the architecture and fusion rules.
    memory_model: str = "tensors"
    memory_args: tuple = ()
    # Under ncnn: the placement every row of this target runs (the core set, the thread count
    # the estimate takes); None for every other runtime. Part of the row key.
    threads: int | None = None
    cores: str | None = None


def target_key(net: str, t: PackedTarget, batch: int, precision: str) -> tuple:
    """The KEY of target `t`'s row for one network, batch and precision."""
    return (net, t.hw, t.processor, batch, precision, t.cores, t.threads)


@dataclass(frozen=True)
class HwPack:
    """Everything a worker needs about the hardware, as plain picklable data.

    groups[precision] = list of (fusion rules, target indices, hardware rows [n, NHW]).
    """
    targets: tuple
    groups: dict
    # A runtime priced by its own model (MODEL_RUNTIMES) instead of the specs' rows: each
    # target's Device, and the runtime, threads and cores every estimate is made with.
    model: ModelRun | None = None
    # --anchor: every row's time times this (estimator.anchor_scale; None: spec only).
    anchor_scale: float | None = None


# Runtimes that have a model of their own (estimator.estimate_ncnn / estimate_ncnn_vulkan),
# and the processor kind each runs on.


@dataclass(frozen=True)
class ModelRun:
    # The --runtime of the sweep; "" where the pack mixes the specs' defaults, some of them a
    # runtime with a model of its own (each target's runtime is then its PackedTarget.runtime).
    runtime: str
    # Device per target, None for a target priced by the specs' rows (HwPack.groups). A device
    # swept at several placements (ncnn) stands once per placement.
    devices: tuple
    # Devices of the sweep the runtime cannot run on (a GPU-only spec in a --runtime ncnn sweep,
    # a GPU without a `vulkan:` section under ncnn-vulkan): ((name, why), ...), skipped and named
    # in a note, as --processor skips devices.
    skipped: tuple = ()
    # Placements of a multi-placement sweep left out for one device, named in a note:
    # ((device, "cores C, T threads", why), ...): one its CPU cannot take (too many threads for
    # the core set), or one the model prices exactly as an earlier placement of the device.
    dropped: tuple = ()


def placements_of(threads, cores) -> tuple:
    """The (threads, cores) placements a sweep asks for: every core set with every thread count,
    None where the option was not given (the default: big cores, one thread per core). Each of
    `threads` and `cores` is None, one value or a list."""
    def listed(v):
        return [None] if v is None else list(dict.fromkeys(v)) if isinstance(v, (list, tuple)) else [v]
    return tuple((t, c) for c in listed(cores) for t in listed(threads))


# How ncnn_targets words a placement dropped as a repeat of another (placement_notes sorts on it).
SAME_RUN = "priced as"


def _placement_text(cores: str | None, threads: int | None) -> str:
    return f"cores {cores}, {threads} thread{'s' if threads != 1 else ''}"


def ncnn_targets(dev, proc, runtime: str, placements: tuple) -> tuple[list, list]:
    """(targets, dropped): the CPU `proc` of `dev` at each placement, as PackedTargets with the
    core set and thread count resolved (ncnn_hw). Of several placements, one the CPU cannot take
    is dropped with why, and one whose ncnn row equals an earlier one's (the same slowest core,
    thread count, cores busy and caches: a CPU of one cluster runs `--cores big` and `all`
    alike, and under ncnn's static split 2 big + 2 little threads cost what 4 little ones do)
    is dropped as priced the same; a lone placement that fails, or a device that takes none, is
    an error."""
    targets: list[PackedTarget] = []
    rows: list[np.ndarray] = []
    dropped: list[tuple] = []
    errors: list[AugurError] = []
    for threads, cores in placements:
        try:
            hw = ncnn_hw(proc, cores, threads)
        except AugurError as e:
            if len(placements) == 1:
                raise
            errors.append(e)
            dropped.append((dev.name, f"cores {cores or 'big'}, {threads or 'default'} threads", e.message))
            continue
        n, c = int(hw.row[N_THREADS]), cores or "big"
        same = next((t for t, r in zip(targets, rows) if np.array_equal(r, hw.row)), None)
        if same is not None:
            dropped.append((dev.name, _placement_text(c, n),
                            f"{SAME_RUN} {_placement_text(same.cores, same.threads)}"))
            continue
        rows.append(hw.row)
        targets.append(PackedTarget(dev.name, proc.name, "cpu", runtime, int(dev.memory_bytes), 0, threads=n, cores=c))
    if not targets:
        raise errors[0]
    return targets, dropped


def placement_times(graph, dev, est, cores, threads, precision, batch) -> list[dict] | None:
    """An ncnn estimate's network at the placements of its CPU a benchncnn user would try
    (hw/placement.candidate_placements), the estimate's own first, each once (placements the model
    prices alike merged, sweep.ncnn_targets): [{cores, threads, time_ms,
    this_run}]; None for any other runtime."""
    if est.runtime != "ncnn":
        return None
    proc = dev.processor(est.processor)
    targets, _ = ncnn_targets(dev, proc, "ncnn", ((threads, cores), *candidate_placements(proc)))
    out = []
    for k, t in enumerate(targets):
        e = est if k == 0 else estimate(graph, dev, processor=est.processor, precision=precision, runtime="ncnn",
                                        threads=t.threads, cores=t.cores, batch=batch)
        out.append({"cores": t.cores, "threads": t.threads, "time_ms": e.total.time_s * 1e3, "this_run": k == 0})
    return out


def placement_line(pts: list[dict] | None) -> str | None:
    """One line of `augur estimate`'s table on placement_times: the fastest placement tried and how
    this run compares; None where there is nothing to compare."""
    if not pts or len(pts) < 2:
        return None
    best = min(pts, key=lambda p: p["time_ms"])
    this = pts[0]
    if best is this:
        nxt = min(pts[1:], key=lambda p: p["time_ms"])
        return (f"placements (predicted, {len(pts)} tried): this run is the fastest; next "
                f"{_placement_text(nxt['cores'], nxt['threads'])} at {nxt['time_ms'] / this['time_ms']:.2f}x its time "
                "(`augur report` lists them)")
    return (f"placements (predicted, {len(pts)} tried): fastest {_placement_text(best['cores'], best['threads'])}, "
            f"{best['time_ms']:.3f} ms; this run takes {this['time_ms'] / best['time_ms']:.2f}x that "
            "(`augur report` lists them)")


def check_model_runtime(runtime: str | None, precisions, threads, cores) -> None:
    """--runtime / --threads / --cores of a sweep, before any work."""
    if runtime is None:
        return  # --threads / --cores: build_pack checks that every device defaults to ncnn
    if runtime not in MODEL_RUNTIMES:
        raise AugurError(f"--runtime: a sweep takes {', '.join(MODEL_RUNTIMES)} (runtimes with a model of their "
                         f"own); without --runtime each device's default runtime is used, got '{runtime}'")
    if list(precisions) != ["fp32"]:
        raise AugurError(f"--runtime {runtime} chooses precision itself (fp16 where the hardware has it, int8 for "
                         "quantised networks); drop --precision")
    check_model_placement(runtime, threads, cores)


def select_targets(devices, processors: list[str] | None):
    """(device, processor) pairs: the default processor, the named ones, or 'all'."""
    pairs = []
    for dev in devices:
        if not processors:
            pairs.append((dev, pick_processor(dev, None)))
            continue
        chosen = []
        for want in processors:
            if want == "all":
                chosen += list(dev.processors.values())
            else:
                chosen += [p for n, p in dev.processors.items() if n == want or p.kind == want][:1]
        names = list(dict.fromkeys(p.name for p in chosen))  # unique, in order
        pairs += [(dev, dev.processors[n]) for n in names]
    if not pairs:
        raise AugurError(f"no device has a processor matching --processor {','.join(processors or ())}")
    return pairs


def build_model_pack(devices, runtime: str, threads=None, cores=None) -> HwPack:
    """A --runtime ncnn / ncnn-vulkan sweep: one target per device, its CPU (ncnn: one per
    placement, `threads` and `cores` each one value or a list, ncnn_targets) or GPU.
    Of several devices, those the runtime cannot run on at all (no processor of its kind; for
    ncnn-vulkan, no GPU with a `vulkan:` section) are skipped, as --processor skips devices, and
    named in the sweep's notes; a lone device, or a sweep where none is left, is refused."""
    kind = MODEL_RUNTIMES[runtime]
    placements = placements_of(threads, cores)
    targets, devs, skipped, dropped = [], [], [], []
    refusals = []
    for dev in devices:
        procs = [p for p in dev.processors.values() if p.kind == kind]
        if runtime == "ncnn-vulkan":
            procs = [p for p in procs if getattr(p, "vulkan", None) is not None] or procs
        why = None
        if not procs:
            why = (f"without a {kind.upper()}",
                   f"--runtime {runtime} runs on a {kind.upper()}; device '{dev.name}' has none (it has: "
                   f"{', '.join(f'{n} ({p.kind})' for n, p in dev.processors.items())})")
        elif runtime == "ncnn-vulkan" and getattr(procs[0], "vulkan", None) is None:
            why = ("whose GPU has no `vulkan:` section",
                   f"--runtime {runtime} on device '{dev.name}': {procs[0].name}: this GPU has no ncnn-vulkan "
                   "figures (a `vulkan:` section: class, fp16_storage, fp16_arithmetic, discrete)")
        if why is not None:
            skipped.append((dev.name, why[0]))
            refusals.append(why[1])
            continue
        try:
            # What the estimate will need of the processor, checked now rather than mid-sweep.
            if runtime == "ncnn":
                its, drop = ncnn_targets(dev, procs[0], runtime, placements)
            else:
                vk_hw(procs[0])
                its, drop = [PackedTarget(dev.name, procs[0].name, kind, runtime, int(dev.memory_bytes), 0)], []
        except AugurError as e:
            raise AugurError(f"--runtime {runtime} on device '{dev.name}': {e}")
        targets += its
        devs += [dev] * len(its)
        dropped += drop
    if not devs:
        raise AugurError(refusals[0] if len(refusals) == 1 else
                         f"--runtime {runtime}: none of the {len(refusals)} devices can run it "
                         f"({'; '.join(dict.fromkeys(w for _, w in skipped))})")
    return HwPack(tuple(targets), {"fp32": []}, ModelRun(runtime, tuple(devs), tuple(skipped), tuple(dropped)))


def build_pack(devices, processors, precisions, runtime_mib: dict | None = None, threads=None,
               cores=None) -> HwPack:
    """A sweep of each processor's default runtime. A processor whose default is a runtime with
    a model of its own (a corpus spec's CPU: ncnn; its GPU: ncnn-vulkan) is priced by that model,
    one estimate per device (ModelRun, devices None for the others); the rest by their rows.
    `threads` / `cores` (each one value or a list: one target per placement) place the CPUs of
    such a sweep where every device defaults to ncnn (the specs' own runtimes use every core of
    their processor)."""
    mib = dict(DEFAULT_RUNTIME_MIB, **(runtime_mib or {}))
    placements = placements_of(threads, cores)
    targets, resolved, modelled, dropped = [], [], [], []
    for dev, proc in select_targets(devices, processors):
        if proc.default_model() == "ncnn":
            try:
                # What each estimate will need, checked before any work.
                its, drop = ncnn_targets(dev, proc, "ncnn", placements)
            except AugurError as e:
                raise AugurError(f"device '{dev.name}' (default runtime ncnn): {e}")
            targets += its
            modelled += [dev] * len(its)
            dropped += drop
            continue
        if threads is not None or cores is not None:
            raise AugurError(f"--threads and --cores place CPUs under ncnn; device '{dev.name}' is priced on its "
                             f"{proc.name} ({proc.kind}) by {proc.default_runtime}, which does not take them "
                             "(--runtime ncnn prices every device's CPU with ncnn)")
        if proc.default_model():
            targets.append(PackedTarget(dev.name, proc.name, proc.kind, proc.default_model(),
                                        int(dev.memory_bytes), 0))
            modelled.append(dev)
            continue
        t = Target(dev, proc, pick_runtime(proc, None))
        km = t.runtime.kernel_model if proc.kind == "gpu" else ""
        section = dict(t.runtime.memory)
        mem_args = (tuple(sorted(section.items())), proc.units, proc.kind, t.runtime.name,
                    tuple(t.runtime.fusion), proc.arch)
        targets.append(PackedTarget(dev.name, proc.name, proc.kind, t.runtime.name, int(dev.memory_bytes),
                                    int(mib[proc.kind] * 2**20), km, model_for(t.runtime.name, section), mem_args))
        resolved.append(t)
        modelled.append(None)
    row_idx = [i for i, d in enumerate(modelled) if d is None]
    groups = {}
    for prec in precisions:
        # One lowering per (fusion set, precision the processor really runs `prec` at): a
        # device without an int8 rate is costed at its fallback (precision.py), bytes included.
        by_key: dict = {}
        for i, t in zip(row_idx, resolved):
            used = resolve_precision(t.processor, prec, runtime=t.runtime).used
            by_key.setdefault((t.fusion, used), []).append((i, t))
        groups[prec] = [(fus, used, np.array([i for i, _ in its], dtype=np.int64),
                         np.stack([t.row(used) for _, t in its])) for (fus, used), its in by_key.items()]
    model = ModelRun("", tuple(modelled), (), tuple(dropped)) if any(d is not None for d in modelled) else None
    return HwPack(tuple(targets), groups, model)


# ---------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class Item:
    net: NetSpec
    batch: int
    precision: str


def evaluate_item(item: Item, pack: HwPack, skip: frozenset = frozenset()) -> list[dict]:
    """All rows of one (net, batch, precision): one lowering per fusion set (cached,
    augur_sim/evaluate.py), one network_costs call per lowering over every hardware row
    that shares it."""
    graph = item.net.graph(item.batch)
    prec = item.precision
    gen = item.net.gen.flat() if item.net.gen is not None else {c: None for c in GEN_COLUMNS}
    # Targets priced by a runtime's own model, one estimate each; the rest by their rows below.
    rows = _model_rows(item, graph, pack, skip, gen) if pack.model is not None else []
    fps_by: dict = {}
    bands: dict = {}
    # Runtime memory models depend on the graph, not on the hardware row: one call per
    # (model, its arguments, precision) of this item, shared by the targets that agree.
    heads: dict = {}
    for fusion, used, idx, hws in pack.groups[prec]:
        todo = [k for k, ti in enumerate(idx) if target_key(item.net.name, pack.targets[ti], item.batch, prec)
                not in skip]
        if not todo:
            continue
        low = lowered(graph, used, fusion)
        tot = low.total
        if used not in fps_by:
            # Footprints do not depend on the hardware but for the runtime constant, added below.
            fps_by[used] = {p: footprint(graph, used, p, 0, tot.weight_elems).peak_memory_bytes for p in POLICIES}
        fps = fps_by[used]
        res = network_costs(low, hws[todo])
        for k, r in zip(todo, res):
            t = pack.targets[idx[k]]
            time_s = float(r[0]) * (pack.anchor_scale or 1.0)
            share = float(r[3] / r[0]) if r[0] > 0 else 0.0
            reuse = fps["reuse"] + t.runtime_bytes
            caffe = fps["caffe"] + t.runtime_bytes
            head, head_model = reuse, "tensors"
            if t.memory_model != "tensors":
                hkey = (t.memory_model, t.memory_args, used)
                if hkey not in heads:
                    section, units, kind, rt_name, fus, arch = t.memory_args
                    rfp = runtime_footprint(graph, t.memory_model, dict(section), units, used, kind, rt_name,
                                            fus, arch)
                    heads[hkey] = (rfp.peak_bytes, rfp.model) if rfp is not None else None
                if heads[hkey] is not None:
                    head, head_model = heads[hkey]
            lo = hi = None
            if t.kernel_model:
                # One look-up per (fit, runtime, precision, batch band) of this item, not per row.
                bkey = (t.kernel_model, t.runtime, used, batch_band(item.batch))
                if bkey not in bands:
                    # The range of a 1 s prediction: it scales with the prediction.
                    ee = kernel_model_error(t.kernel_model, t.runtime, used, item.batch, 1.0,
                                            anchored=pack.anchor_scale is not None)
                    bands[bkey] = ee["range_ms"] if ee.get("available") else None
                if bands[bkey] is not None:
                    lo, hi = time_s * bands[bkey][0], time_s * bands[bkey][1]
            rows.append({
                "net": item.net.name, "net_source": item.net.source, "hw": t.hw,
                "processor": t.processor, "processor_kind": t.processor_kind, "runtime": t.runtime,
                "batch": item.batch, "precision": prec, "precision_used": used, "time_ms": time_s * 1e3,
                "throughput_ips": item.batch / time_s if time_s > 0 else None,
                "macs": int(tot.macs), "flops": int(tot.flops), "params": int(tot.params),
                "dram_bytes": float(r[1]), "energy_mj": float(r[2]) * 1e3,
                "compute_share": share, "bound": "compute" if share >= 0.5 else "memory",
                "peak_memory_bytes_reuse": int(reuse), "peak_memory_bytes_caffe": int(caffe),
                "memory_capacity_bytes": t.memory_capacity_bytes,
                "fits": bool(head <= t.memory_capacity_bytes),
                "fits_caffe": bool(caffe <= t.memory_capacity_bytes), "threads": None, "cores": None,
                "expected_low_ms": lo, "expected_high_ms": hi, "peak_memory_bytes": int(head),
                "memory_model": head_model, "anchor_scale": pack.anchor_scale, **gen})
    return rows


def _model_rows(item: Item, graph, pack: HwPack, skip: frozenset, gen: dict) -> list[dict]:
    """Rows of the targets priced by a runtime's own model (a --runtime ncnn / ncnn-vulkan sweep,
    or a spec whose default is one): the same estimate `augur estimate` makes, one device at a
    time (these models price per device, not in one call over rows). They choose the precision
    themselves: a row's precision is the one asked, precision_used the one the runtime ran."""
    m = pack.model
    assert m is not None  # evaluate_item routes only a model pack here
    rows = []
    for t, dev in zip(pack.targets, m.devices):
        if dev is None or target_key(item.net.name, t, item.batch, item.precision) in skip:
            continue
        try:
            est = estimate_graph(graph, dev, processor=t.processor, runtime=t.runtime, threads=t.threads,
                                 cores=t.cores, anchored=pack.anchor_scale is not None)
        except AugurError as e:
            raise e.located(where=f"{item.net.name} on {t.hw}")
        if pack.anchor_scale is not None:
            est = with_anchor_scale(est, pack.anchor_scale, [])
        tot = est.total
        time_s = tot.time_s
        bt = tot.bound_time_s
        share = bt.get("compute", 0.0) / sum(bt.values()) if sum(bt.values()) > 0 else 0.0
        reuse = est.footprints["reuse"].peak_memory_bytes
        caffe = est.footprints["caffe"].peak_memory_bytes
        cap = est.memory_capacity_bytes
        ee = est.assumptions.get("expected_error") or {}
        lo, hi = ee["range_ms"] if ee.get("available") else (None, None)
        rows.append({
            "net": item.net.name, "net_source": item.net.source, "hw": t.hw, "processor": t.processor,
            "processor_kind": t.processor_kind, "runtime": t.runtime, "batch": item.batch,
            "precision": item.precision, "precision_used": est.precision_used or est.precision,
            "time_ms": time_s * 1e3, "throughput_ips": item.batch / time_s if time_s > 0 else None,
            "macs": int(tot.macs), "flops": int(tot.flops), "params": int(tot.params),
            "dram_bytes": float(tot.dram_bytes), "energy_mj": float(tot.energy_j) * 1e3,
            "compute_share": share, "bound": "compute" if share >= 0.5 else "memory",
            "peak_memory_bytes_reuse": int(reuse), "peak_memory_bytes_caffe": int(caffe),
            "memory_capacity_bytes": int(cap), "fits": est.fits, "fits_caffe": bool(caffe <= cap),
            # The placement the target resolved (ncnn_targets) is the one the estimate ran.
            "threads": t.threads, "cores": t.cores,
            "expected_low_ms": lo, "expected_high_ms": hi, "peak_memory_bytes": int(tot.peak_memory_bytes),
            "memory_model": est.runtime_memory.model if est.runtime_memory else "tensors",
            "anchor_scale": pack.anchor_scale, **gen})
    return rows


def evaluate_chunk(items, pack: HwPack, skip: frozenset = frozenset()) -> list[dict]:
    """One task: a few items against all hardware rows (module-level, so it pickles)."""
    out = []
    for it in items:
        out += evaluate_item(it, pack, skip)
    return out


# ---------------------------------------------------------------- result store

def _fmt(out: Path, what: str = "--out") -> str:
    suf = out.suffix.lower()
    if suf not in (".parquet", ".csv"):
        raise AugurError(f"{what} must end in .parquet or .csv, got '{out}'")
    return suf[1:]


def read_table(path):
    """A results file (.parquet or .csv) as a pyarrow Table with the sweep schema."""
    import pyarrow as pa
    path = Path(path)
    fmt = _fmt(path, "a sweep results file")
    schema = arrow_schema()
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq
            t = pq.read_table(path)
        else:
            import pyarrow.csv as pcsv
            t = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
                column_types={n: schema.field(n).type for n in schema.names},
                strings_can_be_null=True))
    except FileNotFoundError:
        raise AugurError("no such file", file=str(path))
    except (pa.ArrowException, OSError) as e:
        raise AugurError(f"cannot read results: {str(e).splitlines()[0]}", file=str(path))
    missing = [n for n in KEY_REQUIRED if n not in t.column_names]
    if missing:
        raise AugurError(f"not a sweep results file: no column(s) {', '.join(missing)}", file=str(path))
    cols = [t.column(n) if n in t.column_names else pa.nulls(len(t), schema.field(n).type)
            for n in schema.names]
    try:
        return pa.Table.from_arrays([c.cast(schema.field(n).type) for c, n in zip(cols, schema.names)],
                                    schema=schema)
    except pa.ArrowException as e:
        raise AugurError(f"results file has columns of the wrong type: {str(e).splitlines()[0]}",
                         file=str(path))


def _write_table(table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq
        pq.write_table(table, path)
    else:
        import pyarrow.csv as pcsv
        pcsv.write_csv(table, path)


def _keys(table) -> list[tuple]:
    cols = [table.column(k).to_pylist() for k in KEY]
    return list(zip(*cols))


class ResultStore:
    """Durable, deduplicating results: chunk files in OUT.parts/, merged into OUT at the end."""

    def __init__(self, out, flush_rows: int = 2000, flush_s: float = 2.0):
        self.out = Path(out)
        self.fmt = _fmt(self.out)
        parent = self.out.parent if str(self.out.parent) else Path(".")
        if not parent.is_dir():
            raise AugurError(f"cannot write: folder '{parent}' does not exist", file=str(self.out))
        self.parts = self.out.with_name(self.out.name + ".parts")
        self.flush_rows, self.flush_s = flush_rows, flush_s
        self.buf: list[dict] = []
        self.keys: set = set()
        self.configs: dict = {}     # key -> (runtime, anchor_scale) of a row already in OUT
        self.seq = 0
        self.last_flush = time.monotonic()
        self.written = 0

    def _existing_files(self) -> list[Path]:
        files = [self.out] if self.out.is_file() else []
        if self.parts.is_dir():
            files += sorted(p for p in self.parts.iterdir()
                            if p.suffix == f".{self.fmt}" and not p.name.startswith("."))
        return files

    def load_keys(self) -> set:
        for f in self._existing_files():
            t = read_table(f)
            keys = _keys(t)
            self.keys.update(keys)
            for k, c in zip(keys, zip(*(t.column(n).to_pylist() for n in ("runtime", "anchor_scale")))):
                self.configs.setdefault(k, c)
        return self.keys

    def add(self, rows: list[dict]) -> int:
        """Keep rows whose key is new; flush when enough rows or time has gathered."""
        n = 0
        for r in rows:
            k = tuple(r[c] for c in KEY)
            if k in self.keys:
                continue  # a retried task (lost worker) or a row from an earlier run
            self.keys.add(k)
            self.buf.append(r)
            n += 1
        if len(self.buf) >= self.flush_rows or time.monotonic() - self.last_flush >= self.flush_s:
            self.flush()
        return n

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.buf:
            return
        import pyarrow as pa
        self.parts.mkdir(exist_ok=True)
        table = pa.Table.from_pylist(self.buf, schema=arrow_schema())
        while True:
            self.seq += 1
            name = self.parts / f"chunk-{os.getpid()}-{int(time.time() * 1e3)}-{self.seq:06d}.{self.fmt}"
            if not name.exists():
                break
        with atomic_path(name) as tmp:
            _write_table(table, tmp, self.fmt)
        self.written += len(self.buf)
        self.buf = []

    def finalize(self) -> int:
        """Merge OUT and every chunk, first copy of each key wins, sorted by key; atomic."""
        import pyarrow as pa
        self.flush()
        files = self._existing_files()
        if not files:
            table = arrow_schema().empty_table()
        else:
            table = pa.concat_tables([read_table(f) for f in files])
        keys = _keys(table)
        first: dict[tuple, int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        order = sorted(first, key=key_order)
        table = table.take(pa.array([first[k] for k in order], type=pa.int64()))
        with atomic_path(self.out) as tmp:
            _write_table(table, tmp, self.fmt)
        if self.parts.is_dir():
            for p in self.parts.iterdir():
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
            try:
                self.parts.rmdir()
            except OSError:
                pass  # another writer's temp file appeared; harmless, merged next time
        return len(table)


class MemoryStore:
    """Results kept in memory for `--out -`: nothing is resumed or written until the sweep
    has finished, so a failed or interrupted sweep prints no partial table."""

    def __init__(self):
        self.buf: list[dict] = []
        self.keys: set = set()
        self.configs: dict = {}     # nothing is resumed
        self.table = None

    def load_keys(self) -> set:
        return self.keys

    def add(self, rows: list[dict]) -> int:
        n = 0
        for r in rows:
            k = tuple(r[c] for c in KEY)
            if k not in self.keys:
                self.keys.add(k)
                self.buf.append(r)
                n += 1
        return n

    def flush(self) -> None:
        pass

    def finalize(self) -> int:
        import pyarrow as pa
        rows = sorted(self.buf, key=lambda r: key_order(tuple(r[c] for c in KEY)))
        self.table = pa.Table.from_pylist(rows, schema=arrow_schema())
        return len(self.table)


def table_text(table, fmt: str) -> str:
    """A results table as the text `--out -` prints: CSV (the columns of a .csv results
    file, same writer) or JSON (an array of one object per row)."""
    if fmt == "csv":
        import pyarrow.csv as pcsv
        buf = io.BytesIO()
        pcsv.write_csv(table, buf)
        return buf.getvalue().decode()
    if fmt == "json":
        rows = table.to_pylist()
        for r in rows:
            for k, v in r.items():
                if isinstance(v, float) and not math.isfinite(v):
                    r[k] = None  # JSON has no NaN/inf
        return json.dumps(rows, indent=1) + "\n"
    raise AugurError(f"--format must be csv or json, got '{fmt}'")


# ---------------------------------------------------------------- running

@dataclass
class SweepSummary:
    rows_total: int          # rows the plan asks for
    rows_skipped: int        # already present before this run
    rows_written: int        # added by this run
    rows_in_file: int
    elapsed_s: float
    items: int
    backend: str
    notes: list = field(default_factory=list)
    table: object = None     # the rows, when the sweep ran with out=None (pyarrow Table)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _chunk_size(n_items: int, workers: int) -> int:
    # About 4 tasks a worker balances load; 64 items caps the work a lost task redoes.
    return max(1, min(64, math.ceil(n_items / max(1, 4 * workers))))


def _run_local(chunks, pack, skip, on_rows):
    for ch in chunks:
        on_rows(evaluate_chunk(ch, pack, skip))


def _run_pool(chunks, pack, skip, on_rows, jobs: int):
    # spawn: forking a process that already runs numba's thread pool is not safe.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as ex:
        futs = [ex.submit(evaluate_chunk, ch, pack, skip) for ch in chunks]
        try:
            for f in as_completed(futs):
                on_rows(f.result())
        except BaseException:
            for f in futs:
                f.cancel()
            raise


def _run_dask(chunks, pack, skip, on_rows, scheduler: str):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise AugurError("--scheduler needs the 'distributed' package (pip install distributed)")
    try:
        client = Client(scheduler, timeout="20s") if isinstance(scheduler, str) else scheduler
    except (OSError, TimeoutError, ValueError) as e:  # ValueError: a malformed address
        raise AugurError(f"cannot reach the dask scheduler at {scheduler}: {e}")
    own = isinstance(scheduler, str)
    try:
        futs = client.map(evaluate_chunk, chunks, pack=pack, skip=skip, pure=False)
        for f in as_completed(futs):
            on_rows(f.result())
    finally:
        if own:
            client.close()


MAX_MEMORY_ROWS = 200_000  # rows `--out -` may hold (about 1 KiB each in memory)


def plan_items(nets: list[NetSpec], batches, precisions) -> list[Item]:
    return [Item(n, b, p) for n in nets for b in batches for p in precisions]


def run_sweep(nets: list[NetSpec], devices, batches, precisions, out, processors=None,
              scheduler=None, jobs: int | None = None, progress: bool = False,
              flush_rows: int = 2000, flush_s: float = 2.0, runtime_mib: dict | None = None,
              runtime: str | None = None, threads=None, cores=None, anchors=()) -> SweepSummary:
    """Evaluate the plan, skipping keys already in `out` (or its part folder), then merge.
    `runtime` (ncnn, ncnn-vulkan): every device priced by that runtime's own model, its CPU
    placed by `threads` and `cores` (each one value or a list: a row per placement), as `augur
    estimate --runtime` does. `anchors`: networks timed on the sweep's one device, ((net,
    measured_ms), ...), scaling every row's time as `augur estimate --anchor` does (anchored_pack)."""
    t0 = time.monotonic()
    # out=None: keep the rows in memory (summary.table), for `--out -`.
    store = MemoryStore() if out is None else ResultStore(out, flush_rows, flush_s)
    if not nets:
        raise AugurError("the sweep has no networks (give --nets and/or --generate)")
    if not devices:
        raise AugurError("the sweep has no devices (give --hw)")
    names = [n.name for n in nets]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise AugurError(f"two networks share the name(s) {', '.join(dup)}; rows are keyed by name")
    check_model_runtime(runtime, precisions, threads, cores)
    pack = (build_model_pack(devices, runtime, threads, cores) if runtime is not None
            else build_pack(devices, processors, precisions, runtime_mib, threads, cores))
    if anchors:
        pack = anchored_pack(pack, anchors, devices, batches, precisions)
    store.load_keys()
    _check_resumed_runs(store, pack, nets, batches, precisions)
    items = plan_items(nets, batches, precisions)
    quantised = quantised_nets(nets, pack)
    unpriced = vulkan_int8_pairs(quantised, pack)
    # Skip whole items already done; items partly done evaluate only their missing rows. A pair
    # the runtime cannot price (unpriced) is not planned: the workers skip it as if done.
    todo, total, skipped = [], 0, 0
    present = store.keys
    for it in items:
        keys = [k for t in pack.targets for k in [target_key(it.net.name, t, it.batch, it.precision)]
                if (k[0], k[1], k[2]) not in unpriced]
        have = sum(k in present for k in keys)
        total += len(keys)
        skipped += have
        if have < len(keys):
            todo.append(it)
    if total == 0 and unpriced:
        raise AugurError("nothing this sweep plans can be priced: " + unpriced_notes(unpriced)[0])
    # Only keys of partly-done items matter to workers; keep what travels small.
    partial = frozenset(k for it in todo for t in pack.targets
                        for k in [target_key(it.net.name, t, it.batch, it.precision)]
                        if k in present or (k[0], k[1], k[2]) in unpriced)
    if out is None and total > MAX_MEMORY_ROWS:
        # `--out -` holds the whole table until the sweep completes (nothing half-printed).
        raise AugurError(f"--out - keeps the table in memory until the sweep completes: {total} rows planned, "
                         f"at most {MAX_MEMORY_ROWS}; write larger sweeps to a file (--out sweep.parquet)")
    bar = progress_bar(total - skipped, "sweep", "rows", progress)
    written = [0]

    def on_rows(rows):
        written[0] += store.add(rows)
        bar.update(len(rows))

    backend = "local"
    try:
        if scheduler is not None:
            backend = f"dask {scheduler if isinstance(scheduler, str) else 'client'}"
            nworkers = 1
            if not isinstance(scheduler, str):
                nworkers = max(1, len(scheduler.scheduler_info().get("workers", {})))
            _run_dask(_chunks(todo, _chunk_size(len(todo), max(nworkers, 8))), pack, partial, on_rows,
                      scheduler)
        else:
            if jobs is None:
                # A process pool pays ~1-2 s a worker to start: only worth it for big sweeps.
                jobs = (os.cpu_count() or 1) if len(todo) >= 200 else 1
            if jobs > 1 and len(todo) > 1:
                backend = f"process pool x{jobs}"
                _run_pool(_chunks(todo, _chunk_size(len(todo), jobs)), pack, partial, on_rows, jobs)
            else:
                _run_local([[it] for it in todo], pack, partial, on_rows)
    finally:
        # Whatever finished is kept, even on an error or Ctrl-C: flush to the part folder.
        store.flush()
        bar.close()
    n = store.finalize()
    return SweepSummary(total, skipped, written[0], n, time.monotonic() - t0, len(todo), backend,
                        notes=(model_notes(pack) + placement_notes(pack) + unpriced_notes(unpriced)
                               + float_int8_notes(quantised, pack)
                               + precision_notes(pack, precisions)
                               + batch_notes(pack, batches) + default_runtime_notes(pack)
                               + mixed_runtime_notes(pack) + order_notes(pack)),
                        table=getattr(store, "table", None))


def default_runtime_notes(pack: HwPack) -> list[str]:
    """A sweep of the specs' own runtimes that priced CPUs with `ncnn-roofline` (ncnn on the
    generic roofline, estimated efficiencies: the corpus specs' default before the fitted model
    became it, still a spec's if it names it), as `augur estimate` warns of one estimate:
    `--runtime ncnn` is the corpus-fitted model."""
    names = [t.hw for t in pack.targets if t.processor_kind == "cpu" and t.runtime == "ncnn-roofline"]
    if not names:
        return []
    return [f"{len(names)} device(s) priced with their default runtime ncnn-roofline (ncnn on the generic "
            f"roofline, estimated efficiencies): --runtime ncnn prices a CPU with the ncnn model fitted on "
            f"benchncnn's corpus, with each row's expected range ({', '.join(names[:8])}"
            f"{', ...' if len(names) > 8 else ''})"]


def quantised_nets(nets, pack: HwPack) -> list[str]:
    """The names of the sweep's quantised networks (int8 layers: an ncnn `_int8` .param) where a
    note needs them, i.e. some target runs a runtime other than ncnn's CPU model (vulkan_int8_pairs,
    float_int8_notes); only descriptor files can be quantised (generated networks never are)."""
    if all(t.runtime == "ncnn" for t in pack.targets):
        return []
    return [n.name for n in nets if n.path is not None and is_quantised(_load_path(n.path, 1))]


def vulkan_int8_pairs(quantised: list[str], pack: HwPack) -> frozenset:
    """(network, device, processor) pairs no row can price: a quantised ncnn network (int8
    layers) on a target run by ncnn-vulkan, whose Vulkan backend runs those layers on the CPU
    (engine/ncnn_vulkan.vk_rows refuses them). A sweep leaves them out and notes them rather than
    failing every other row."""
    gpus = [t for t in pack.targets if t.runtime == "ncnn-vulkan"]
    return frozenset((n, t.hw, t.processor) for n in quantised for t in gpus)


# Runtimes that price a quantised network's int8 layers as int8 (ncnn's CPU model) or refuse it
# (ncnn-vulkan, vulkan_int8_pairs); every other prices each kernel at the row's one precision.
INT8_AWARE_RUNTIMES = ("ncnn", "ncnn-vulkan")


def float_int8_notes(quantised: list[str], pack: HwPack) -> list[str]:
    """What `augur estimate` warns of a quantised network on a runtime that prices every kernel at
    one precision (estimator.estimate_graph), once for the sweep: its rows cost as the float
    network's do unless their precision_used is int8."""
    others = sorted({t.runtime for t in pack.targets if t.runtime not in INT8_AWARE_RUNTIMES})
    if not quantised or not others:
        return []
    names = ", ".join(quantised[:8]) + (", ..." if len(quantised) > 8 else "")
    return [f"{len(quantised)} quantised network(s) ({names}) "
            f"on {', '.join(others)}: those runtimes price every kernel at the row's precision_used, so their int8 "
            "layers cost as the float network's do unless that is int8; --runtime ncnn prices them on a CPU's "
            "int8 kernels"]


def unpriced_notes(unpriced: frozenset) -> list[str]:
    if not unpriced:
        return []
    nets = sorted({n for n, _, _ in unpriced})
    hws = sorted({h for _, h, _ in unpriced})
    return [f"{len(nets)} quantised network(s) not priced on the {len(hws)} device(s) run by ncnn-vulkan (its Vulkan "
            f"backend runs int8 layers on the CPU, which the model does not cover): {', '.join(nets[:8])}"
            f"{', ...' if len(nets) > 8 else ''} on {', '.join(hws[:8])}{', ...' if len(hws) > 8 else ''}; "
            "--processor cpu prices them under ncnn"]


def mixed_runtime_notes(pack: HwPack) -> list[str]:
    """A sweep of the specs' defaults whose processors of one kind ran different runtimes (the
    data-centre GPUs' pytorch-cudagraph beside a Jetson's cudnn and a desktop card's ncnn-vulkan):
    a ratio of two such rows' times is the runtimes' as much as the hardware's, as `augur report`
    flags beside its time ratio. One note per processor kind."""
    if pack.model is not None and pack.model.runtime:
        return []  # --runtime: one runtime for every row
    notes = []
    for kind in ("cpu", "gpu"):
        by_rt: dict = {}
        for t in pack.targets:
            if t.processor_kind == kind:
                by_rt.setdefault(t.runtime, []).append(t.hw)
        if len(by_rt) > 1:
            counts = ", ".join(f"{rt} {len(hws)}" for rt, hws in sorted(by_rt.items(), key=lambda kv: -len(kv[1])))
            notes.append(f"{kind.upper()} rows come from {len(by_rt)} runtimes (each device's default; devices: "
                         f"{counts}): a ratio of times across runtimes is not the hardware's alone; compare "
                         "within one (column runtime)")
    return notes


def order_notes(pack: HwPack) -> list[str]:
    """A sweep that prices two or more devices with one fitted model (ncnn, ncnn-vulkan): what a
    predicted gap between two of them is worth, from the held-out device pairs of the fit
    (engine/held_out.device_order), the question a user ranking devices by time_ms asks."""
    m = pack.model
    if m is None:
        return []
    notes = []
    for runtime, fit, what in (("ncnn", NCNN_DEFAULT_FIT, "one network at one thread count"),
                               ("ncnn-vulkan", VK_DEFAULT_FIT, "one network on two GPUs")):
        names = {t.hw for t, d in zip(pack.targets, m.devices) if d is not None and t.runtime == runtime}
        rec = current_held_out(fit) if len(names) >= 2 else None
        if rec is not None and rec.device_order:
            notes.append(f"which of two devices is faster ({runtime} rows): of held-out device pairs, {what}, the "
                         f"share the measurements ordered as predicted, by how far apart the predictions were: "
                         f"{order_summary(rec)} ({Path(rec.path).name})")
    return notes


def precision_notes(pack: HwPack, precisions) -> list[str]:
    """A sweep of the specs' defaults at a precision other than fp32, where some devices default
    to a runtime that chooses its precision itself (ncnn, ncnn-vulkan): their rows at that
    precision are the runtime's own run, which precision_used names."""
    m = pack.model
    other = [p for p in precisions if p != "fp32"]
    if m is None or m.runtime or not other:
        return []
    names = [t.hw for t, d in zip(pack.targets, m.devices) if d is not None]
    return [f"{len(names)} device(s) default to a runtime that picks its precision itself (ncnn, ncnn-vulkan: "
            f"fp16 where the hardware computes in it, int8 for quantised layers): their rows at "
            f"{', '.join(other)} are that run, as precision_used says ({', '.join(names[:8])}"
            f"{', ...' if len(names) > 8 else ''})"]


def batch_notes(pack: HwPack, batches) -> list[str]:
    """The corpus runtimes' expected ranges come from benchncnn's runs, all at batch 1: a sweep's
    rows at a larger batch carry that range (as `augur estimate` says of one estimate)."""
    big = sorted(b for b in set(batches) if b > 1)
    if pack.model is None or not big:
        return []
    return [f"benchncnn ran batch 1 only: the expected_low_ms / expected_high_ms of the rows at batch "
            f"{', '.join(map(str, big))} are the range of its batch-1 runs"]


def model_notes(pack: HwPack) -> list[str]:
    """The notes of a --runtime sweep: the devices it skipped (no processor of the runtime's
    kind); under ncnn, what `augur estimate --runtime ncnn` warns of a device, once per device
    (the rows carry no warnings: a CPU the fit has no ISA class for is priced with the shared
    values, and its rows have no expected range), and a device whose CPU is the same as an
    earlier one's (a `*_vulkan` spec extends its board's spec), whose rows repeat that device's."""
    m = pack.model
    if m is None:
        return []
    notes = []
    for why in dict.fromkeys(w for _, w in m.skipped):
        names = [n for n, w in m.skipped if w == why]
        notes.append(f"skipped {len(names)} device(s) {why}, which --runtime {m.runtime} needs: {', '.join(names)}")
    fit = None
    seen: list = []
    for t, dev in zip(pack.targets, m.devices):
        if dev is None or t.runtime != "ncnn" or any(name == dev.name for name, _ in seen):
            continue  # a device's other placements: one note per device
        fit = fit or load_ncnn_fit()
        proc = dev.processors[t.processor]
        twin = next((name for name, p in seen if p == proc), None)
        seen.append((dev.name, proc))
        if twin is not None:
            notes.append(f"{dev.name}: the same CPU as {twin} (the same spec figures): its rows repeat {twin}'s")
            continue
        hw = ncnn_hw(proc, t.cores, t.threads)
        w = ncnn_class_warning(dev.name, hw.isa_class, fit)
        if w:
            notes.append(f"{dev.name}: {w} (its rows have no expected_low_ms / expected_high_ms)")
    return notes


def placement_notes(pack: HwPack) -> list[str]:
    """A sweep of ncnn CPUs at several placements: the placements it left out (dropped by
    ncnn_targets), and what choosing a device's fastest placement by time_ms is worth, from the
    held-out groups of the fit (engine/held_out.placement_choice)."""
    m = pack.model
    if m is None:
        return []
    notes = []
    same = [d for d in m.dropped if d[2].startswith(SAME_RUN)]
    refused = [d for d in m.dropped if not d[2].startswith(SAME_RUN)]
    for hits, what in ((same, "each priced exactly as another placement of its device (the same slowest core, "
                              "thread count and caches)"),
                       (refused, "beyond what the device's CPU can take")):
        if hits:
            shown = "; ".join(f"{dev}: {pl} ({w})" for dev, pl, w in hits[:6]) + ("; ..." if len(hits) > 6 else "")
            notes.append(f"{len(hits)} placement(s) not priced, {what}: {shown}")
    per_dev: dict = {}
    for t, d in zip(pack.targets, m.devices):
        if d is not None and t.runtime == "ncnn":
            per_dev[t.hw] = per_dev.get(t.hw, 0) + 1
    most = max(per_dev.values(), default=0)
    if most >= 2:
        rec = current_held_out(NCNN_DEFAULT_FIT)
        said = placement_summary(rec, most)
        notes.append(f"ncnn rows at up to {most} placements per device (columns cores, threads): the fastest of a "
                     "device's placements for a network is the lowest time_ms"
                     + (f"; {said} ({Path(rec.path).name})" if rec is not None and said else ""))
    return notes


def anchored_pack(pack: HwPack, anchors, devices, batches, precisions) -> HwPack:
    """`pack` with the scale of networks timed on its device (estimator.anchor_scale): the
    anchors are estimated as the sweep prices that device (its processor and runtime, threads,
    cores, the sweep's batch and precision). A time measured on one device at one batch and
    precision says nothing of another: one target, one batch, one precision."""
    if len(pack.targets) != 1:
        def name(t):
            return f"{t.hw}/{t.processor}" + (f" ({_placement_text(t.cores, t.threads)})" if t.threads else "")
        raise AugurError(f"--anchor is a time measured on one device run one way: this sweep has {len(pack.targets)} "
                         f"device/processor targets ({', '.join(name(t) for t in pack.targets[:4])}"
                         f"{', ...' if len(pack.targets) > 4 else ''}); give one --hw (and one --processor, one "
                         "--threads and one --cores)")
    if len(batches) != 1 or len(precisions) != 1:
        raise AugurError("--anchor is a time measured at one batch and precision: give one --batch and one "
                         "--precision with it")
    t = pack.targets[0]
    m = pack.model
    dev = next(d for d in devices if d.name == t.hw)
    # The target's runtime by name: its spec runtime, or the model a sweep or its default named.
    model = m is not None and m.devices[0] is not None
    kw = {"processor": t.processor, "precision": "fp32" if model else precisions[0], "runtime": t.runtime,
          "threads": t.threads, "cores": t.cores}
    scale, _ = anchor_scale(anchors, dev, kw, batches[0])
    return replace(pack, anchor_scale=scale)


def _anchoring(scale: float | None) -> str:
    return "spec only" if scale is None else f"anchored (times scaled x{scale:.4g})"


def _check_resumed_runs(store, pack: HwPack, nets, batches, precisions) -> None:
    """A resumed file's rows must be runs of the same kind as this sweep's: a key names the
    placement of an ncnn row but not the runtime, so a row of another runtime for a device this
    sweep prices (or one scaled by another anchor) would be kept as if it answered this sweep."""
    targets: dict[tuple, PackedTarget] = {}
    for t in pack.targets:
        targets.setdefault((t.hw, t.processor), t)  # a device's placements share its runtime
    names = {n.name for n in nets}
    for (net, hw, proc, b, p, *_), (rt, scale) in store.configs.items():
        t = targets.get((hw, proc))
        if t is None or net not in names or b not in batches or p not in precisions:
            continue  # not a run this sweep plans
        want = pack.anchor_scale
        if (want is None) != (scale is None) or (want is not None and not math.isclose(want, scale, rel_tol=1e-9)):
            raise AugurError(f"already holds {net} on {hw} ({proc}) {_anchoring(scale)}; this sweep is "
                             f"{_anchoring(want)}: write it to another --out", file=str(store.out))
        if rt != t.runtime:
            raise AugurError(f"already holds {net} on {hw} ({proc}) run with runtime {rt}; this sweep asks for "
                             f"runtime {t.runtime}: write it to another --out", file=str(store.out))


def generated_specs(gens: list[tuple[str, int]], seed: int) -> list[NetSpec]:
    out = []
    for fam, count in gens:
        for g in generate(fam, count, seed):
            out.append(NetSpec(name=g.name, source=f"generated:{fam}", gen=g))
    return out
