"""Charts of what-if grids and sweep results (matplotlib, Agg; written atomically)."""
from __future__ import annotations

import itertools

import numpy as np

from ..errors import AugurError
from .plots import _plt, _save

MAX_HEATMAP_NETS = 60  # beyond this a heatmap row is under a pixel; the fastest/slowest are kept


def whatif_plot(g, path) -> None:
    """Write whatif_figure(g) to `path` (PNG, PDF or SVG)."""
    _save(whatif_figure(g), path)


def whatif_figure(g):
    """Total time against the first --vary key, one line per value of the other keys; the
    point where the compute-bound share crosses 50 % is marked, each bound written on the
    side of the mark where it holds."""
    plt = _plt()
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


def _records(table, pair):
    cols = {c: table.column(c).to_pylist() for c in ("net", "hw", "processor", "batch", "precision",
                                                     "time_ms", "macs")}
    return [dict(zip(cols, vals)) for vals in zip(*cols.values())
            if (vals[3], vals[4]) == pair]


def heatmap_plot(table, path, batch=None, precision=None, max_panels: int = 4) -> str:
    """Latency (log colour) of networks (rows) by devices (columns), a panel per batch/precision."""
    plt = _plt()
    pairs = _select(table, batch, precision)[:max_panels]
    fig, axes = plt.subplots(1, len(pairs), figsize=(2 + 6 * len(pairs), 8), squeeze=False,
                             layout="constrained")
    for ax, pair in zip(axes[0], pairs):
        recs = _records(table, pair)
        devs = sorted({f"{r['hw']}/{r['processor']}" for r in recs})
        lat: dict = {}
        for r in recs:
            lat.setdefault(r["net"], {})[f"{r['hw']}/{r['processor']}"] = r["time_ms"]
        nets = sorted(lat, key=lambda n: np.nanmean([lat[n].get(d, np.nan) for d in devs]))
        note = ""
        if len(nets) > MAX_HEATMAP_NETS:
            half = MAX_HEATMAP_NETS // 2
            note = f" ({MAX_HEATMAP_NETS} of {len(nets)} nets: fastest and slowest)"
            nets = nets[:half] + nets[-half:]
        m = np.array([[lat[n].get(d, np.nan) for d in devs] for n in nets], dtype=float)
        im = ax.imshow(np.log10(m), aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(devs)), devs, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(nets)), nets, fontsize=6 if len(nets) > 25 else 8)
        if m.size <= 400:
            for i in range(m.shape[0]):
                for j in range(m.shape[1]):
                    if np.isfinite(m[i, j]):
                        ax.text(j, i, f"{m[i, j]:.3g}", ha="center", va="center", fontsize=6, color="w")
        ax.set_title(f"batch {pair[0]}, {pair[1]}: latency ms (log colour){note}", fontsize=8)
        fig.colorbar(im, ax=ax, label="log10 latency (ms)")
    _save(fig, path)
    return str(path)


def pareto_front(macs: np.ndarray, time_ms: np.ndarray) -> np.ndarray:
    """Indices of networks no other network beats on both counts (more MACs in less time)."""
    order = np.lexsort((-macs, time_ms))  # fastest first; among equal times, most MACs first
    best = -np.inf
    front = []
    for i in order:
        if macs[i] > best:
            front.append(i)
            best = macs[i]
    return np.array(front, dtype=np.int64)


def pareto_plot(table, path, batch=None, precision=None) -> str:
    """MACs against latency, one colour per device, each device's Pareto front drawn as a line."""
    plt = _plt()
    pair = _select(table, batch, precision)[0]
    recs = _records(table, pair)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    devs = sorted({f"{r['hw']}/{r['processor']}" for r in recs})
    for d in devs:
        rs = [r for r in recs if f"{r['hw']}/{r['processor']}" == d]
        t = np.array([r["time_ms"] for r in rs], dtype=float)
        m = np.array([r["macs"] for r in rs], dtype=float)
        pts = ax.scatter(t, m, s=10, alpha=0.35, label=d)
        f = pareto_front(m, t)
        ax.plot(t[f], m[f], "-o", ms=4, lw=1.5, color=pts.get_facecolor()[0][:3])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("MACs")
    ax.set_title(f"batch {pair[0]}, {pair[1]}: MACs vs latency; lines: Pareto front "
                 f"(most MACs for the time)", fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, markerscale=2)
    _save(fig, path)
    return str(path)
