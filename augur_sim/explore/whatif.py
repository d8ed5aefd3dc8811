"""What-if studies: change hardware spec fields, see what moves.

`compare` estimates one network on a device and on the same device with `--set` edits,
layer by layer. `grid` varies one or more fields over values (`--vary`) and evaluates
every grid point in one `cost_totals` call: all hardware rows are built first, then the
lowered network meets all of them at once.

Two ways to build the rows. The exact way re-validates the spec per point with
apply_overrides (which checks and builds again only the part of the spec a point
changes). For big grids, rows are derived: each axis value is validated once (one
apply_overrides per value, not per point), the columns it changes are recorded, and
points combine those column edits (a column two axes touch, e.g. peak FLOP/s under
both clock and units, combines multiplicatively). Derived rows are checked against the
exact path at the grid's corners and a few random points before use; on any mismatch
the grid falls back to the exact path.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import yaml

from ..errors import AugurError
from ..estimator import MODEL_RUNTIMES, estimate, estimated_runtime_why, model_default
from ..result import Estimate
from ..evaluate import Target, check_precision, device_of, lowered, network_costs, resolve_target
from ..frontends import load_net
from ..hw import apply_overrides
from ..hw.kmodel import class_params
from ..hw.kmodel import load_fit as load_kmodel_fit
from ..hw.load import clock_scaled_caches
from ..hw.power import sustained_clock_ghz
from ..precision import resolve as resolve_precision
from ..report import ibytes, table, to_csv

MAX_STEPS = 10_000
MAX_POINTS = 1_000_000
EXACT_LIMIT = 256   # grids up to this many points use apply_overrides per point
# Points of a grid under a runtime priced by a model of its own (estimator.MODEL_RUNTIMES), not
# by a spec row: each point is a whole estimate.
MAX_MODEL_POINTS = 4096


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple


def _num(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise AugurError(f"{what}: '{text}' is not a number")
    if not math.isfinite(v):
        raise AugurError(f"{what}: '{text}' is not a finite number")
    return v


def _tidy(v: float):
    """Integral values as int, so integer spec fields (units, sizes) accept them."""
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def parse_set(items) -> dict:
    """['gpu.dram_bw_gbs=51.2', ...] -> {'gpu.dram_bw_gbs': '51.2'} (values typed by the schema)."""
    out = {}
    for it in items or ():
        key, sep, val = str(it).partition("=")
        key, val = key.strip(), val.strip()
        if not sep or not key or not val:
            raise AugurError(f"--set must look like KEY=VALUE (e.g. gpu.dram_bw_gbs=51.2), got '{it}'")
        if val[:1] in "[{":
            try:
                val = yaml.safe_load(val)
            except yaml.YAMLError:
                raise AugurError(f"--set {key}: cannot parse '{val}' as a YAML list or mapping")
        if key in out:
            raise AugurError(f"--set {key} is given twice")
        out[key] = val
    return out


def parse_vary(text: str) -> Axis:
    """KEY=START:STOP:STEPS[:log] (inclusive, START > STOP runs downwards) or KEY=v1,v2,..."""
    key, sep, spec = str(text).partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key or not spec:
        raise AugurError(f"--vary must look like KEY=START:STOP:STEPS or KEY=v1,v2,..., got '{text}'")
    if ":" in spec:
        parts = spec.split(":")
        log = len(parts) == 4 and parts[3] == "log"
        if len(parts) not in (3, 4) or (len(parts) == 4 and not log):
            raise AugurError(f"--vary {key}: expected START:STOP:STEPS or START:STOP:STEPS:log, got '{spec}'")
        start, stop = _num(parts[0], f"--vary {key} START"), _num(parts[1], f"--vary {key} STOP")
        try:
            steps = int(parts[2])
        except ValueError:
            raise AugurError(f"--vary {key}: STEPS must be an integer, got '{parts[2]}'")
        if steps < 2 or steps > MAX_STEPS:
            raise AugurError(f"--vary {key}: STEPS must be between 2 and {MAX_STEPS}, got {steps}")
        if start == stop:
            raise AugurError(f"--vary {key}: START and STOP are equal ({start:g}); use --set for one value")
        if log:
            if start <= 0 or stop <= 0:
                raise AugurError(f"--vary {key}: a log range needs positive START and STOP")
            vals = np.geomspace(start, stop, steps)
        else:
            vals = np.linspace(start, stop, steps)
        vals[0], vals[-1] = start, stop  # exact ends (geomspace rounds them)
        values = tuple(_tidy(float(v)) for v in vals)
    else:
        items = [s.strip() for s in spec.split(",")]
        if any(not s for s in items):
            raise AugurError(f"--vary {key}: empty value in list '{spec}'")
        values = tuple(_tidy(_num(s, f"--vary {key}")) for s in items)
        if len(values) < 2:
            raise AugurError(f"--vary {key}: a list needs at least 2 values; use --set for one")
        if len(set(values)) != len(values):
            raise AugurError(f"--vary {key}: repeated values in '{spec}'")
    return Axis(key, values)


# ---------------------------------------------------------------- single comparison

@dataclass(frozen=True)
class LayerDelta:
    name: str
    base_s: float
    new_s: float
    base_bound: str
    new_bound: str

    @property
    def speedup(self) -> float:
        return self.base_s / self.new_s if self.new_s > 0 else float("inf")


@dataclass(frozen=True)
class Comparison:
    base: Estimate
    new: Estimate
    overrides: dict
    layers: tuple  # of LayerDelta (kernels that ran: fused layers are left out)
    notes: tuple = ()  # what the overrides changed besides the keys given (clock-scaled caches)

    @property
    def speedup(self) -> float:
        return self.base.total.time_s / self.new.total.time_s

    @property
    def bound_changes(self) -> list:
        return [l for l in self.layers if l.base_bound != l.new_bound]


def _override(device, overrides: dict):
    return apply_overrides(device, overrides) if overrides else device


def compare(net, hw, overrides: dict, processor=None, batch=None, precision="fp32", runtime=None,
            threads=None, cores=None) -> Comparison:
    if not overrides:
        raise AugurError("nothing to compare: give at least one --set KEY=VALUE (or --vary)")
    graph = load_net(net, batch=batch)
    dev = device_of(hw)
    new_dev = _override(dev, overrides)
    kw = dict(processor=processor, precision=precision, runtime=runtime, threads=threads, cores=cores)
    base, new = estimate(graph, dev, **kw), estimate(graph, new_dev, **kw)
    newl = {l.name: l for l in new.layers}
    deltas = tuple(LayerDelta(l.name, l.time_s, newl[l.name].time_s, l.bound, newl[l.name].bound)
                   for l in base.layers if l.fused_into is None and l.name in newl
                   and newl[l.name].fused_into is None)
    warns = tuple(dict.fromkeys(f"WARNING: {w}" for w in base.warnings + new.warnings))
    proc = dev.processor(base.processor)
    return Comparison(base, new, dict(overrides), deltas, warns + fit_notes(base, new) + clock_notes(dev, [overrides])
                      + power_limit_notes(dev, new.processor, new.runtime, [overrides])
                      + error_notes(proc, proc.runtimes.get(base.runtime)))


def error_notes(proc, runtime) -> tuple:
    """Where the runtime's efficiencies are estimates (its `source:`), a note saying so: a
    what-if's speed-up depends on the runtime's balance of compute and memory (a Pi 5 with twice
    the DRAM bandwidth: 1.03x under onnxruntime's estimated efficiencies, 1.44x under the fitted
    ncnn model), so the user should know which of them is measured. `runtime`: a Runtime of the
    spec, or None for a runtime with a model of its own (fitted: no note)."""
    if runtime is None or not runtime.source.startswith("estimate"):
        return ()
    return (f"note: {estimated_runtime_why(runtime.name, proc)}",)


def fit_notes(base: Estimate, new: Estimate) -> tuple:
    """A line where the network does not fit the memory of either device: a speed-up on hardware
    that cannot hold the network (memory_gib set below its peak) is no answer, and `estimate`
    says so of the same run."""
    def line(e: Estimate) -> str:
        return f"peak {ibytes(e.total.peak_memory_bytes)} exceeds {ibytes(e.memory_capacity_bytes)}"
    if base.fits and new.fits:
        return ()
    if not base.fits and not new.fits:
        return (f"WARNING: does not fit, before ({line(base)}) or after the change ({line(new)})",)
    if not new.fits:
        return (f"WARNING: does not fit after the change: {line(new)} (before: fits)",)
    return (f"note: fits only after the change (before: {line(base)})",)


def power_limit_notes(device, processor: str, runtime: str, override_sets) -> tuple:
    """One line per GPU whose edited clock_ghz its GEMMs and convs cannot reach: under the
    kernel model they run at the clock the board's power limit sustains (hw/power.py), so a
    faster clock speeds up the other kernels only, which reads as a what-if that did nothing
    unless it is said."""
    out: dict = {}
    for ov in override_sets:
        dev = _override(device, ov)
        proc = dev.processors.get(processor)
        if proc is None or proc.kind != "gpu" or f"{proc.name}.clock_ghz" not in ov:
            continue
        rt = proc.runtimes.get(runtime)
        if rt is None or not rt.kernel_model:
            continue
        pj = float(class_params(load_kmodel_fit(rt.kernel_model), proc.arch).get("fma_pj", 0.0))
        heavy = sustained_clock_ghz(proc.clock_ghz, proc.base_clock_ghz, proc.tdp_w, proc.units,
                                    proc.flop_per_cycle_per_unit["fp32"], proc.process_nm, pj)
        if heavy < proc.clock_ghz * (1 - 1e-9):
            out[proc.name] = (f"note: at {proc.name}.clock_ghz = {proc.clock_ghz:g} GHz the GEMMs and convs of "
                              f"{runtime} run at {heavy:.3g} GHz, the clock the board's power limit "
                              f"({proc.name}.tdp_w = {proc.tdp_w:g} W) sustains under a full FMA load "
                              f"(augur_sim/hw/power.py): the clock speeds up the other kernels only")
    return tuple(out.values())


def clock_notes(device, override_sets) -> tuple:
    """One line per clock override saying which cache bandwidths follow it (per-cycle figures)."""
    scaled: dict = {}
    for ov in override_sets:
        for k in clock_scaled_caches(device, ov):
            proc = k.split(".", 1)[0]
            scaled.setdefault(proc, [])
            if k not in scaled[proc]:
                scaled[proc].append(k)
    return tuple(f"note: {', '.join(ks)} scale with {proc}.clock_ghz (cache bandwidths are bytes per "
                 f"cycle of the processor clock); {proc}.dram_bw_gbs does not"
                 for proc, ks in scaled.items())


def comparison_table(c: Comparison) -> str:
    rows = [(l.name, f"{l.base_s * 1e3:.4f}", f"{l.new_s * 1e3:.4f}", f"{l.speedup:.2f}x", l.base_bound,
             l.new_bound + (" *" if l.new_bound != l.base_bound else ""))
            for l in c.layers if l.base_bound != "none"]
    sets = ", ".join(f"{k}={v}" for k, v in c.overrides.items())
    b, n = c.base, c.new
    head = (f"{b.net} on {b.hw}/{b.processor} ({b.runtime}), batch {b.batch}, {b.precision}\n"
            f"what-if: {sets}\n")
    body = table(["layer", "base ms", "new ms", "speed-up", "base bound", "new bound"], rows,
                 ["<", ">", ">", ">", "<", "<"])
    changed = c.bound_changes
    tail = (f"\ntotal: {b.total.time_s * 1e3:.4f} ms -> {n.total.time_s * 1e3:.4f} ms, "
            f"speed-up {c.speedup:.3f}x\n"
            f"bound changed in {len(changed)} layer(s)"
            + (": " + ", ".join(f"{l.name} ({l.base_bound} -> {l.new_bound})" for l in changed[:20])
               + (" ..." if len(changed) > 20 else "") if changed else ""))
    return head + body + tail + "".join("\n" + n for n in c.notes)


def comparison_dict(c: Comparison) -> dict:
    return {"overrides": {k: v for k, v in c.overrides.items()},
            "base": {"time_ms": c.base.total.time_s * 1e3}, "new": {"time_ms": c.new.total.time_s * 1e3},
            "speedup": c.speedup,
            "layers": [{"name": l.name, "base_ms": l.base_s * 1e3, "new_ms": l.new_s * 1e3,
                        "base_bound": l.base_bound, "new_bound": l.new_bound} for l in c.layers],
            "bound_changes": [l.name for l in c.bound_changes], "notes": list(c.notes)}


# ---------------------------------------------------------------- grids

@dataclass(frozen=True)
class Grid:
    net: str
    hw: str
    processor: str
    batch: int
    precision: str
    axes: tuple               # of Axis
    points: tuple             # of value tuples, itertools.product order (first axis slowest)
    time_s: np.ndarray        # [points]
    dram_bytes: np.ndarray
    energy_j: np.ndarray
    compute_share: np.ndarray  # compute-bound time / total time
    baseline_time_s: float    # the device as given, no --set / --vary
    method: str               # "exact" or "derived" rows; "estimates" (a --runtime ncnn grid)
    notes: tuple = ()         # what the axes change besides their keys (clock-scaled caches)

    @property
    def shape(self) -> tuple:
        return tuple(len(a.values) for a in self.axes)

    def speedup(self) -> np.ndarray:
        return self.baseline_time_s / self.time_s

    def crossings(self) -> list[Crossing]:
        """Where the compute-bound share crosses 50 % along the first axis, per line of the
        other axes, with the direction as the first axis' value rises."""
        x = np.array(self.axes[0].values, dtype=float)
        share = self.compute_share.reshape(self.shape)
        out = []
        for rest in itertools.product(*[range(len(a.values)) for a in self.axes[1:]]):
            s = share[(slice(None),) + rest]
            label = tuple(a.values[i] for a, i in zip(self.axes[1:], rest))
            for i in range(len(x) - 1):
                a, b = s[i] - 0.5, s[i + 1] - 0.5
                if a == 0.0 or (a < 0) != (b < 0) and b != 0.0:
                    xc = x[i] if a == 0.0 else x[i] + (x[i + 1] - x[i]) * (-a) / (b - a)
                    # Direction along rising values of the key, whatever order the axis lists them.
                    rising_share = (s[i + 1] > s[i]) == (x[i + 1] > x[i])
                    out.append(Crossing(label, float(xc), "memory->compute" if rising_share
                                        else "compute->memory"))
        return out

    def lines(self) -> list[tuple[tuple, float, float]]:
        """(other axis values, min share, max share) per line along the first axis."""
        share = self.compute_share.reshape(self.shape)
        out = []
        for rest in itertools.product(*[range(len(a.values)) for a in self.axes[1:]]):
            s = share[(slice(None),) + rest]
            out.append((tuple(a.values[i] for a, i in zip(self.axes[1:], rest)), float(s.min()), float(s.max())))
        return out


class Crossing(NamedTuple):
    label: tuple       # values of the other axes
    at: float          # first-axis value where the compute share is 50 % (interpolated)
    direction: str     # "compute->memory" or "memory->compute", as the first axis' value rises

    @property
    def before_after(self) -> tuple[str, str]:
        a, b = self.direction.split("->")
        return f"{a}-bound", f"{b}-bound"


def crossing_lines(g: Grid) -> list[str]:
    """Plain sentences: where the bound flips and which way, or that it does not (and why)."""
    key = g.axes[0].key
    cross = g.crossings()
    out = []
    for lab, lo, hi in g.lines():
        where = (" for " + ", ".join(f"{a.key}={v:g}" for a, v in zip(g.axes[1:], lab))) if lab else ""
        mine = [c for c in cross if c.label == lab]
        for c in mine:
            below, above = c.before_after
            verb = "falls" if c.direction == "compute->memory" else "rises"
            out.append(f"{c.direction.replace('->', ' -> ')} bound at {key} = {c.at:.4g}{where}: as {key} rises "
                       f"the compute share {verb} through 50% ({below} below, {above} above)")
        if not mine:
            state = ("compute-bound (compute share above 50%)" if lo >= 0.5 else
                     "memory-bound (compute share below 50%)")
            out.append(f"no crossing{where}: {state} at every point, compute share {lo:.1%} to {hi:.1%}")
    return out


def _row_for(device, processor, runtime, precision, threads, cores=None) -> tuple[Target, np.ndarray, str]:
    """The target, its hardware row and the precision it really runs `precision` at
    (precision.py): the row is built at that precision."""
    t = resolve_target(device, processor, runtime, threads, cores)
    used = resolve_precision(t.processor, precision, runtime=t.runtime).used
    return t, t.row(used), used


def _exact_rows(base_dev, axes, points, processor, runtime, precision, threads, cores=None):
    """Rows for every point, and per point the lowering key (fusion set, precision used)."""
    rows, keys = [], []
    for p in points:
        dev = _override(base_dev, {a.key: v for a, v in zip(axes, p)})
        t, row, used = _row_for(dev, processor, runtime, precision, threads, cores)
        rows.append(row)
        keys.append((t.fusion, used))
    return np.stack(rows), keys


def _derived_rows(base_dev, axes, points, processor, runtime, precision, threads, cores=None):
    """Rows from per-axis column edits; None when an axis changes more than numbers can say."""
    t0, base, used0 = _row_for(base_dev, processor, runtime, precision, threads, cores)
    key0 = (t0.fusion, used0)
    edits = []       # per axis: {value: {col: new value}}
    touched: dict[int, int] = {}
    for a in axes:
        per = {}
        cols_a = set()
        for v in a.values:
            t, row, used = _row_for(_override(base_dev, {a.key: v}), processor, runtime, precision, threads,
                                    cores)
            if (t.fusion, used) != key0:
                return None
            cols = np.nonzero(row != base)[0]
            per[v] = {int(c): float(row[c]) for c in cols}
            cols_a.update(int(c) for c in cols)
        for c in cols_a:
            touched[c] = touched.get(c, 0) + 1
        edits.append(per)
    for c, n in touched.items():
        if n > 1 and base[c] == 0.0:
            return None  # a shared column must combine as ratios of a non-zero base
    shape = tuple(len(a.values) for a in axes)
    assert len(points) == math.prod(shape)  # the whole grid, in itertools.product order
    rows = np.tile(base, (len(points), 1))
    # Column by column over all points at once, axis after axis as a point's edits apply:
    # a column one axis touches takes that axis' value; a shared one is multiplied by each
    # axis' ratio in turn (a value that leaves it alone: x / x = 1.0 exactly).
    for a, a_edits, idx in zip(axes, edits, np.indices(shape).reshape(len(axes), -1)):
        for c in sorted({c for e in a_edits.values() for c in e}):
            vals = np.array([a_edits[v].get(c, base[c]) for v in a.values])
            if touched[c] == 1:
                rows[:, c] = vals[idx]
            else:
                rows[:, c] *= (vals / base[c])[idx]
    return rows, [key0] * len(points)


def _check_points(n: int, shape: tuple, rng) -> list[int]:
    corners = [int(np.ravel_multi_index(c, shape)) for c in
               itertools.product(*[(0, s - 1) for s in shape])]
    extra = [int(i) for i in rng.integers(0, n, size=min(8, n))]
    return sorted(set(corners[:64] + extra))


def grid(net, hw, axes, overrides: dict | None = None, processor=None, batch=None, precision="fp32",
         runtime=None, threads=None, exact_limit: int = EXACT_LIMIT, cores=None) -> Grid:
    check_precision(precision)
    axes = tuple(axes)
    if not axes:
        raise AugurError("--vary needs at least one KEY=...")
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise AugurError(f"--vary names a key twice: {', '.join(sorted({k for k in keys if keys.count(k) > 1}))}")
    for k in keys:
        if overrides and k in overrides:
            raise AugurError(f"{k} is both --set and --vary")
    npts = math.prod(len(a.values) for a in axes)
    if npts > MAX_POINTS:
        raise AugurError(f"the grid has {npts} points; at most {MAX_POINTS}")
    graph = load_net(net, batch=batch)
    dev = device_of(hw)
    base_dev = _override(dev, overrides or {})
    model = model_default(dev, processor, runtime)
    if model in MODEL_RUNTIMES:
        return _model_grid(graph, dev, base_dev, axes, overrides, processor, precision, model, threads, cores,
                           asked=runtime)
    t0, row0, used0 = _row_for(dev, processor, runtime, precision, threads, cores)
    points = list(itertools.product(*[a.values for a in axes]))
    method = "exact"
    built = None
    if npts > exact_limit:
        built = _derived_rows(base_dev, axes, points, processor, runtime, precision, threads, cores)
        if built is not None:
            rng = np.random.default_rng(0)
            idx = _check_points(npts, tuple(len(a.values) for a in axes), rng)
            ex, _ = _exact_rows(base_dev, axes, [points[i] for i in idx], processor, runtime,
                                precision, threads, cores)
            if np.allclose(built[0][idx], ex, rtol=1e-12, atol=0.0):
                method = "derived"
            else:
                built = None
    if built is None:
        built = _exact_rows(base_dev, axes, points, processor, runtime, precision, threads, cores)
    rows, keys = built
    res = np.empty((npts, 4))
    # Points normally share one lowering key (one lowering, one call); a --vary of the
    # runtime's fusion list or of a precision's rate splits them into a call per key.
    for key in dict.fromkeys(keys):
        sel = np.array([i for i, k in enumerate(keys) if k == key])
        res[sel] = network_costs(lowered(graph, key[1], key[0]), rows[sel])
    base_t = float(network_costs(lowered(graph, used0, t0.fusion), row0[None, :])[0, 0])
    warning = resolve_precision(t0.processor, precision, dev.name, t0.runtime).warning
    g = _grid_of(graph, dev, t0.processor.name, precision, axes, points, res, base_t, method, overrides,
                 (warning,) if warning else (), runtime=t0.runtime.name)
    # As compare: say which kind of runtime's balance the grid's speed-ups rest on.
    return replace(g, notes=g.notes + error_notes(t0.processor, t0.runtime))


def _grid_of(graph, dev, processor: str, precision: str, axes, points, res, base_t: float, method: str,
             overrides, warnings, runtime: str | None = None) -> Grid:
    """The Grid of per-point totals res ([points, 4]: time, DRAM bytes, energy, compute-bound
    time), with its notes: the warnings, then the caches the axes' clocks scale, then (the
    grid's highest clock of each clock axis) a power limit the GEMMs cannot pass."""
    t = res[:, 0]
    share = np.where(t > 0, res[:, 3] / np.where(t > 0, t, 1.0), 0.0)
    notes = clock_notes(dev, [{**(overrides or {}), a.key: v} for a in axes for v in a.values])
    if runtime:
        notes += power_limit_notes(dev, processor, runtime, [{**(overrides or {}), a.key: max(a.values)}
                                                             for a in axes if a.key.endswith(".clock_ghz")])
    notes = tuple(dict.fromkeys(f"WARNING: {w}" for w in warnings)) + notes
    return Grid(graph.name, dev.name, processor, graph.batch, precision, axes, tuple(points), t,
                res[:, 1], res[:, 2], share, base_t, method, notes)


def _model_grid(graph, dev, base_dev, axes, overrides, processor, precision, runtime, threads, cores,
                asked: str | None = None) -> Grid:
    """A --vary grid under a runtime priced by its own model (ncnn, ncnn-vulkan: no spec row to
    edit column by column): one whole estimate per point, as `augur estimate` makes it on the
    edited spec. `asked`: the --runtime given (None: the spec's default is that model, and the
    estimates say so in their refusals)."""
    points = list(itertools.product(*[a.values for a in axes]))
    if len(points) > MAX_MODEL_POINTS:
        raise AugurError(f"the grid has {len(points)} points; {runtime} (a runtime with a model of its own) "
                         f"estimates each point whole, at most {MAX_MODEL_POINTS}")
    kw = dict(processor=processor, precision=precision, runtime=asked, threads=threads, cores=cores)
    base = estimate(graph, dev, **kw)
    res = np.empty((len(points), 4))
    for i, p in enumerate(points):
        tot = estimate(graph, _override(base_dev, {a.key: v for a, v in zip(axes, p)}), **kw).total
        res[i] = (tot.time_s, tot.dram_bytes, tot.energy_j, tot.bound_time_s.get("compute", 0.0))
    return _grid_of(graph, dev, base.processor, base.precision, axes, points, res, base.total.time_s, "estimates",
                    overrides, base.warnings)


def grid_rows(g: Grid) -> tuple[list[str], list[list]]:
    heads = [a.key for a in g.axes] + ["time_ms", "speedup", "compute_share", "dram_mib", "energy_mj"]
    sp = g.speedup()
    rows = [list(p) + [float(g.time_s[i] * 1e3), float(sp[i]), float(g.compute_share[i]),
                       float(g.dram_bytes[i] / 2**20), float(g.energy_j[i] * 1e3)]
            for i, p in enumerate(g.points)]
    return heads, rows


def grid_table(g: Grid) -> str:
    heads, rows = grid_rows(g)
    k = len(g.axes)
    text = [(*[f"{v:g}" for v in r[:k]], f"{r[k]:.4f}", f"{r[k + 1]:.3f}x", f"{r[k + 2]:.1%}",
             f"{r[k + 3]:.2f}", f"{r[k + 4]:.3f}") for r in rows]
    head = (f"{g.net} on {g.hw}/{g.processor}, batch {g.batch}, {g.precision}: baseline "
            f"{g.baseline_time_s * 1e3:.4f} ms; {len(g.points)} points "
            f"({'one estimate each' if g.method == 'estimates' else g.method + ' rows'})\n")
    tail = "".join("\n" + line for line in crossing_lines(g) + list(g.notes))
    return head + table(heads[:k] + ["time ms", "speed-up", "compute share", "DRAM MiB", "energy mJ"],
                        text) + tail


def grid_csv(g: Grid) -> str:
    heads, rows = grid_rows(g)
    return to_csv([dict(zip(heads, r)) for r in rows], heads)


def grid_dict(g: Grid) -> dict:
    heads, rows = grid_rows(g)
    return {"net": g.net, "hw": g.hw, "processor": g.processor, "batch": g.batch, "precision": g.precision,
            "baseline_time_ms": g.baseline_time_s * 1e3, "method": g.method,
            "axes": [{"key": a.key, "values": list(a.values)} for a in g.axes],
            "points": [dict(zip(heads, r)) for r in rows],
            "crossings": [{"at": dict(zip([a.key for a in g.axes[1:]], c.label)), g.axes[0].key: c.at,
                           "direction": c.direction} for c in g.crossings()],
            "notes": list(g.notes)}
