"""Charts with matplotlib (Agg backend: no display needed). Written atomically."""
from __future__ import annotations

import numpy as np

from .engine.hwrow import H_BW, H_DRAM_BW, H_MEM_EFF, H_NLEV, H_PEAK, hw_row, pick_processor, pick_runtime
from .errors import AugurError
from .fileio import atomic_path
from .hw import load_hw


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported on first use (matplotlib is optional)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path) -> None:
    """Write `fig` to `path` (.png, .pdf or .svg) atomically and close it."""
    plt = pyplot()
    fmt = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else "png"
    if fmt not in ("png", "pdf", "svg"):
        raise AugurError(f"plot file must end in .png, .pdf or .svg, got '{path}'")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight")
    plt.close(fig)


def roofline_plot(est, hw, path) -> None:
    """Roofs of the processor (peak compute, DRAM and cache bandwidths) and every kernel as
    a point at (FLOPs / DRAM byte, achieved FLOP/s), sized by its share of the time."""
    save_figure(roofline_figure(est, hw), path)


def roofline_figure(est, hw, figsize=(8, 5.5)):
    """The matplotlib figure of roofline_plot (the caller saves and closes it)."""
    device = hw if hasattr(hw, "processors") else load_hw(hw)
    proc = pick_processor(device, est.processor)
    # The ncnn runtimes (ncnn, ncnn-vulkan) are priced by their own models, not by a runtime
    # of the spec: their roofs are the processor's, drawn with its default runtime's row (its
    # first runtime where the default is such a model).
    rt = est.runtime if est.runtime in proc.runtimes else (
        next(iter(proc.runtimes)) if proc.default_model() else None)
    row = hw_row(proc, pick_runtime(proc, rt), est.precision, est.threads, getattr(est, "cores", None))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=figsize)
    pts = [(l.flops / l.dram_bytes, l.flops / l.time_s, l.time_s, l.bound, l.name)
           for l in est.layers if l.fused_into is None and l.time_s > 0 and l.dram_bytes > 0 and l.flops > 0]
    xs = np.logspace(-2, 4, 200)
    peak = row[H_PEAK]
    ax.plot(xs, np.minimum(peak, xs * row[H_DRAM_BW]), "k-", lw=2, label=f"DRAM {row[H_DRAM_BW] / 1e9:.0f} GB/s")
    ax.plot(xs, np.minimum(peak, xs * row[H_DRAM_BW] * row[H_MEM_EFF]), "k--", lw=1,
            label=f"DRAM achievable ({row[H_MEM_EFF]:.0%})")
    for i in range(1, int(row[H_NLEV])):
        bw = row[H_BW[i]]
        ax.plot(xs, np.minimum(peak, xs * bw), ":", lw=1, label=f"cache level {i + 1} {bw / 1e9:.0f} GB/s")
    ax.axhline(peak, color="gray", lw=0.8)
    # An ncnn estimate of a quantised network runs its int8 kernels against the int8 rate (two
    # ops per MAC, as the kernels' FLOPs are counted): on a dot-product core above the float roof.
    if (getattr(est, "assumptions", None) or {}).get("ncnn", {}).get("int8_kernels") and \
            "int8" in proc.flop_per_cycle_per_unit:
        peak8 = hw_row(proc, pick_runtime(proc, rt), "int8", est.threads, getattr(est, "cores", None))[H_PEAK]
        if peak8 != peak:
            ax.axhline(peak8, color="tab:purple", lw=0.8, ls="-.", label=f"int8 peak {peak8 / 1e9:.0f} Gop/s")
    colors = {"compute": "tab:red", "memory": "tab:blue", "cache": "tab:green", "overhead": "tab:gray"}
    tot = est.total.time_s or 1.0
    for bound, c in colors.items():
        sel = [p for p in pts if p[3] == bound]
        if sel:
            ax.scatter([p[0] for p in sel], [p[1] for p in sel], s=[20 + 2000 * p[2] / tot for p in sel],
                       c=c, alpha=0.55, edgecolors="k", linewidths=0.4, label=f"{bound}-bound kernels")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOPs per DRAM byte)")
    ax.set_ylabel("achieved FLOP/s")
    ax.set_title(f"{est.net} on {est.hw}/{est.processor}, batch {est.batch}, {est.precision}: "
                 f"{est.total.time_s * 1e3:.2f} ms")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="both", alpha=0.2)
    return fig
