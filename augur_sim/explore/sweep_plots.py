"""Charts of what-if grids and sweep results (matplotlib, Agg; written atomically)."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import AugurError
from ..plots import pyplot, save_figure

MAX_HEATMAP_NETS = 60  # beyond this a heatmap row is under a pixel; the fastest/slowest are kept


def whatif_plot(g, path) -> None:
    """Write whatif_figure(g) to `path` (PNG, PDF or SVG)."""
    save_figure(whatif_figure(g), path)


def whatif_figure(g):
    """Total time against the first --vary key, one line per value of the other keys; the
    point where the compute-bound share crosses 50 % is marked, each bound written on the
    side of the mark where it holds."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    x = np.array(g.axes[0].values, dtype=float)
    t = (g.time_s * 1e3).reshape(g.shape)
    share = g.compute_share.reshape(g.shape)
    for rest in itertools.product(*[range(len(a.values)) for a in g.axes[1:]]):
        lab = tuple(a.values[i] for a, i in zip(g.axes[1:], rest))
        y = t[(slice(None),) + rest]
        s = share[(slice(None),) + rest]
        name = ", ".join(f"{a.key}={v:g}" for a, v in zip(g.axes[1:], lab)) or g.net
        line, = ax.plot(x, y, "-", lw=1.5, label=name)
        # Compute-bound points filled, memory-bound hollow: the flip is visible even unmarked.
        ax.scatter(x[s >= 0.5], y[s >= 0.5], color=line.get_color(), s=18, zorder=3)
        ax.scatter(x[s < 0.5], y[s < 0.5], facecolors="none", edgecolors=line.get_color(), s=18, zorder=3)
        for c in g.crossings():
            if c.label == lab:
                xc = c.at
                yc = float(np.interp(xc, x if x[0] < x[-1] else x[::-1], y if x[0] < x[-1] else y[::-1]))
                ax.axvline(xc, color=line.get_color(), ls=":", lw=1)
                # Each state is written on the side of the line where it holds: `below` applies
                # to smaller values of the key, `above` to larger ones.
                below, above = c.before_after
                ax.annotate(f"{below} \u2190", (xc, yc), textcoords="offset points", xytext=(-5, 8),
                            ha="right", fontsize=7, color=line.get_color(), gid=f"left:{below}")
                ax.annotate(f"\u2192 {above}", (xc, yc), textcoords="offset points", xytext=(5, 8),
                            ha="left", fontsize=7, color=line.get_color(), gid=f"right:{above}")
    vals = x[x > 0]
    if len(vals) == len(x) and vals.max() / vals.min() >= 20:
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(g.axes[0].key)
    ax.set_ylabel("total time (ms)")
    ax.set_title(f"{g.net} on {g.hw}/{g.processor}, batch {g.batch}, {g.precision} "
                 f"(filled: >50% compute-bound time)", fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)
    return fig


def _select(table, batch, precision):
    """Rows of one (batch, precision): the asked ones, else the first present."""
    batches = table.column("batch").to_pylist()
    precs = table.column("precision").to_pylist()
    pairs = list(dict.fromkeys(zip(batches, precs)))
    if batch is not None:
        pairs = [p for p in pairs if p[0] == batch]
    if precision is not None:
        pairs = [p for p in pairs if p[1] == precision]
    if not pairs:
        raise AugurError(f"no rows with batch {batch if batch is not None else 'any'} and precision "
                         f"{precision or 'any'}")
    return pairs


def _records(table, pair, extra=()):
    """Rows of one (batch, precision) as dicts, each with `dev`: its device as the charts tell
    devices apart (hw, processor and, for an ncnn CPU swept at several placements, the core set
    and thread count)."""
    names = set(table.column_names)
    place = tuple(c for c in ("cores", "threads") if c in names)
    cols = {c: table.column(c).to_pylist() for c in dict.fromkeys(("net", "hw", "processor", "batch", "precision",
                                                                   "time_ms", "macs", *place, *extra))}
    recs = [dict(zip(cols, vals)) for vals in zip(*cols.values()) if (vals[3], vals[4]) == pair]
    for r in recs:
        r["dev"] = (r["hw"], r["processor"], r.get("cores"), r.get("threads"))
    return recs


def run_label(table) -> str:
    """How the sweep ran, where one runtime priced every row (a --runtime sweep): ', runtime
    ncnn, 4 threads (big)'; '' for a sweep of each device's own default runtime."""
    names = set(table.column_names)
    rts = set(table.column("runtime").to_pylist()) if "runtime" in names else set()
    if len(rts) != 1:
        return ""
    out = f", runtime {next(iter(rts))}"
    threads = set(table.column("threads").to_pylist()) if "threads" in names else set()
    cores = set(table.column("cores").to_pylist()) if "cores" in names else set()
    if len(threads) == 1 and None not in threads:
        out += f", {next(iter(threads))} threads"
        if len(cores) == 1 and None not in cores:
            out += f" ({next(iter(cores))})"
    return out


# Devices beyond which a chart changes its layout: the heatmap lists devices down the side,
# ranked fastest first (a row's name reads across, a column's is slanted and overlaps), and the
# Pareto chart moves its legend outside and names only the points on the front of all devices.
MANY_DEVICES = 12


def _device_labels(table, recs) -> dict:
    """'hw/processor' of each record's device (its `dev`), with its runtime where the rows mix
    runtimes (a sweep of each device's default: a time ratio across runtimes is not the
    hardware's), and its placement ('big x4') where a device was swept at several."""
    rts = {r["dev"]: r.get("runtime") for r in recs}
    mixed = len(set(rts.values())) > 1
    placements: dict = {}
    for k in rts:
        placements.setdefault(k[:2], set()).add(k[2:])
    out = {}
    for k, rt in rts.items():
        label = f"{k[0]}/{k[1]}"
        if len(placements[k[:2]]) > 1 and k[3] is not None:
            label += f" {k[2]} x{k[3]}"
        out[k] = label + (f" ({rt})" if mixed and rt else "")
    return out


def heatmap_plot(table, path, batch=None, precision=None, max_panels: int = 4) -> str:
    """Latency (log colour) of networks by devices, a panel per batch/precision. Networks are rows
    and devices columns; with more than MANY_DEVICES devices and fewer networks than devices, the
    devices are the rows instead, ranked by their mean log latency (fastest first). The figure
    grows with the grid, so that every label keeps its own line."""
    plt = pyplot()
    pairs = _select(table, batch, precision)[:max_panels]
    extra = ("runtime",) if "runtime" in table.column_names else ()
    grids = []
    for pair in pairs:
        recs = _records(table, pair, extra)
        label = _device_labels(table, recs)
        lat: dict = {}
        for r in recs:
            lat.setdefault(r["net"], {})[label[r["dev"]]] = r["time_ms"]
        devs = sorted(set(label.values()))
        nets = sorted(lat, key=lambda n: np.nanmean([np.log(lat[n].get(d, np.nan)) for d in devs]))
        note = ""
        if len(nets) > MAX_HEATMAP_NETS:
            half = MAX_HEATMAP_NETS // 2
            note = f" ({MAX_HEATMAP_NETS} of {len(nets)} nets: fastest and slowest)"
            nets = nets[:half] + nets[-half:]
        m = np.array([[lat[n].get(d, np.nan) for d in devs] for n in nets], dtype=float)
        if len(devs) > MANY_DEVICES and len(devs) > len(nets):
            with np.errstate(all="ignore"):
                rank = np.argsort(np.nanmean(np.log(m), axis=0), kind="stable")
            grids.append((pair, m[:, rank].T, [devs[k] for k in rank], nets, note, "devices ranked fastest first"))
        else:
            grids.append((pair, m, nets, devs, note, ""))
    # Inches: 0.2 a row, 0.45 a column (a cell holds its 3-digit time), room for the labels.
    widths = [min(max(3.0 + 0.45 * g[1].shape[1], 6.0), 30.0) for g in grids]
    height = min(max(2.0 + 0.2 * max(g[1].shape[0] for g in grids), 5.0), 60.0)
    fig, axes = plt.subplots(1, len(grids), figsize=(sum(widths), height), squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": widths})
    for ax, (pair, m, rows, cols, note, order) in zip(axes[0], grids):
        im = ax.imshow(np.log10(m), aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(cols)), cols, rotation=60 if len(cols) > 1 else 0, ha="right" if len(cols) > 1
                      else "center", fontsize=7)
        ax.set_yticks(range(len(rows)), rows, fontsize=6 if len(rows) > 25 else 8)
        if m.shape[1] <= 40 and m.shape[0] <= 200:
            for i in range(m.shape[0]):
                for j in range(m.shape[1]):
                    if np.isfinite(m[i, j]):
                        ax.text(j, i, f"{m[i, j]:.3g}", ha="center", va="center", fontsize=6, color="w")
        how = f"; {order}" if order else ""
        ax.set_title(f"batch {pair[0]}, {pair[1]}{run_label(table)}: latency ms (log colour){note}{how}", fontsize=8)
        fig.colorbar(im, ax=ax, label="log10 latency (ms)")
    save_figure(fig, path)
    return str(path)


@dataclass(frozen=True)
class Metric:
    """A quantity of a sweep row a Pareto chart can put on an axis."""
    name: str
    label: str
    columns: tuple          # results columns it is computed from
    better: str             # "min" or "max": the direction the front prefers by default
    value: Callable         # row dict -> float


def _div(col, by):
    return lambda r: (r[col] / by) if r[col] is not None else float("nan")


# Latency, energy and memory are better small; MACs, FLOPs and parameters stand for the
# capacity a network buys with them (the usual NAS trade-off: most capacity for the cost),
# so larger is better. Either can be reversed with NAME:min / NAME:max.
METRICS = {m.name: m for m in (
    Metric("latency_ms", "latency per batch (ms)", ("time_ms",), "min", _div("time_ms", 1)),
    Metric("ms_per_image", "latency per image (ms)", ("time_ms", "batch"), "min",
           lambda r: r["time_ms"] / r["batch"] if r["time_ms"] is not None else float("nan")),
    Metric("throughput_ips", "throughput (images/s)", ("throughput_ips",), "max", _div("throughput_ips", 1)),
    Metric("energy_mj", "energy per batch (mJ)", ("energy_mj",), "min", _div("energy_mj", 1)),
    # The headline peak `augur estimate` reports (the runtime's memory model where it has one);
    # rows of files written before that column existed fall back to the reuse policy's.
    Metric("peak_mib", "peak memory (MiB)", ("peak_memory_bytes", "peak_memory_bytes_reuse"), "min",
           lambda r: _div("peak_memory_bytes" if r["peak_memory_bytes"] is not None
                          else "peak_memory_bytes_reuse", 2**20)(r)),
    Metric("dram_mib", "DRAM traffic per batch (MiB)", ("dram_bytes",), "min", _div("dram_bytes", 2**20)),
    Metric("macs", "MACs per batch", ("macs",), "max", _div("macs", 1)),
    Metric("flops", "FLOPs per batch", ("flops",), "max", _div("flops", 1)),
    Metric("params", "parameters", ("params",), "max", _div("params", 1)),
)}
LABEL_MODES = ("front", "all", "none")


def parse_axis(text: str, option: str) -> tuple[Metric, str]:
    """'macs' or 'macs:min' -> (metric, direction)."""
    name, _, want = str(text).partition(":")
    m = METRICS.get(name)
    if m is None:
        raise AugurError(f"{option}: unknown quantity '{name}'; expected one of {', '.join(METRICS)} "
                         f"(optionally :min or :max)")
    if want and want not in ("min", "max"):
        raise AugurError(f"{option}: '{text}': the direction after ':' must be min or max")
    return m, want or m.better


def pareto_mask(x: np.ndarray, y: np.ndarray, x_better: str = "min", y_better: str = "max") -> np.ndarray:
    """True for points no other point beats on both axes (at least as good on each, better on
    one), each axis in its preferred direction; points with a NaN are never on the front."""
    a = np.where(x_better == "min", x, -x).astype(float)
    b = np.where(y_better == "min", y, -y).astype(float)
    ok = np.isfinite(a) & np.isfinite(b)
    keep = np.zeros(len(a), dtype=bool)
    # Sort by the first axis (best first), ties broken by the second: a point is on the front
    # when it is strictly better on the second axis than every point before it.
    idx = np.nonzero(ok)[0]
    order = idx[np.lexsort((b[idx], a[idx]))]
    best = np.inf
    for i in order:
        if b[i] < best:
            keep[i] = True
            best = b[i]
    return keep


def pareto_front(macs: np.ndarray, time_ms: np.ndarray) -> np.ndarray:
    """Indices of networks no other network beats on both counts (more MACs in less time)."""
    mask = pareto_mask(time_ms, macs, "min", "max")
    return np.array([i for i in np.lexsort((-macs, time_ms)) if mask[i]], dtype=np.int64)


def pareto_plot(table, path, batch=None, precision=None, x: str = "latency_ms", y: str = "macs",
                labels: str = "front") -> str:
    """Write pareto_figure(...) to `path` (PNG, PDF or SVG)."""
    save_figure(pareto_figure(table, batch, precision, x, y, labels), path)
    return str(path)


def pareto_figure(table, batch=None, precision=None, x: str = "latency_ms", y: str = "macs",
                  labels: str = "front"):
    """One quantity against another (METRICS), one colour per device, each device's Pareto
    front drawn as a line; `labels` names the networks on the front (or every point, or
    none). Annotations carry gid 'label:DEVICE:NET' and the axis labels 'xlabel:NAME'/'ylabel:NAME'
    so an SVG can be checked without reading glyphs. With more than MANY_DEVICES devices the
    legend stands outside the axes in columns, and `front` names only the points on the front
    of all devices together (each device's own front labelled would pile its names on the
    others')."""
    mx, dx = parse_axis(x, "--pareto-x")
    my, dy = parse_axis(y, "--pareto-y")
    if labels not in LABEL_MODES:
        raise AugurError(f"--pareto-labels must be one of {', '.join(LABEL_MODES)}, got '{labels}'")
    plt = pyplot()
    pair = _select(table, batch, precision)[0]
    extra = sorted(set(mx.columns + my.columns) - {"time_ms", "macs", "batch"})
    # The runtime too, so that the legend names it where the rows mix runtimes (_device_labels),
    # as the heatmap's columns do.
    extra += ["runtime"] if "runtime" in table.column_names and "runtime" not in extra else []
    recs = _records(table, pair, extra)
    label = _device_labels(table, recs)
    devs = sorted(set(label.values()))
    many = len(devs) > MANY_DEVICES
    ncol = -(-len(devs) // 45) if many else 1
    fig, ax = plt.subplots(figsize=(8 + (2.6 * ncol if many else 0), max(5.5, min(len(devs) / ncol * 0.13 + 1, 30))
                                    if many else 5.5), layout="constrained" if many else None)
    if many and labels == "front":
        allx = np.array([mx.value(r) for r in recs], dtype=float)
        ally = np.array([my.value(r) for r in recs], dtype=float)
        on_all = {(r["dev"], r["net"]) for r, on in zip(recs, pareto_mask(allx, ally, dx, dy)) if on}
    positive = True
    for d in devs:
        rs = [r for r in recs if label[r["dev"]] == d]
        xs = np.array([mx.value(r) for r in rs], dtype=float)
        ys = np.array([my.value(r) for r in rs], dtype=float)
        positive &= bool(np.all(xs[np.isfinite(xs)] > 0) and np.all(ys[np.isfinite(ys)] > 0))
        pts = ax.scatter(xs, ys, s=10, alpha=0.35, label=d)
        on = pareto_mask(xs, ys, dx, dy)
        f = np.nonzero(on)[0]
        f = f[np.argsort(xs[f], kind="stable")]
        colour = pts.get_facecolor()[0][:3]
        ax.plot(xs[f], ys[f], "-o", ms=4, lw=1.5, color=colour)
        named: list[int] = ([int(i) for i in f] if labels == "front" else
                            list(range(len(rs))) if labels == "all" else [])
        if many and labels == "front":
            named = [i for i in named if (rs[i]["dev"], rs[i]["net"]) in on_all]
        for i in named:
            if np.isfinite(xs[i]) and np.isfinite(ys[i]):
                ax.annotate(rs[i]["net"], (xs[i], ys[i]), textcoords="offset points", xytext=(4, 3),
                            fontsize=6, color=colour, gid=f"label:{d}:{rs[i]['net']}")
    if positive:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"{mx.label}, {'lower' if dx == 'min' else 'higher'} is better")
    ax.set_ylabel(f"{my.label}, {'lower' if dy == 'min' else 'higher'} is better")
    ax.xaxis.label.set_gid(f"xlabel:{mx.name}:{dx}")
    ax.yaxis.label.set_gid(f"ylabel:{my.name}:{dy}")
    ax.set_title(f"batch {pair[0]}, {pair[1]}{run_label(table)}: {my.name} ({dy}) vs {mx.name} ({dx}); lines: each "
                 f"device's Pareto front", fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    if many:
        ax.legend(fontsize=6, markerscale=2, ncol=ncol, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0)
    else:
        ax.legend(fontsize=7, markerscale=2)
    return fig
