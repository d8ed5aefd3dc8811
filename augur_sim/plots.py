"""Charts with matplotlib (Agg backend: no display needed). Written atomically."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine.hwrow import (H_BW, H_DRAM_BW, H_ELT_EFF, H_KM, H_MEM_EFF, H_NLEV, H_PEAK, P_MEM, hw_row,
                           pick_processor, pick_runtime)
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


@dataclass(frozen=True)
class Roofs:
    """The roofs of one estimate's run, from the model that priced it."""
    peak_flops: float             # FLOP/s of the cores the run uses, at the precision its kernels ran at
    peak_key: str                 # where peak_flops is in the estimate's JSON ("" where it is not)
    dram_bw_bytes_per_s: float    # the spec's DRAM bandwidth
    dram_eff: float | None        # share of it the runtime's streams reach; None: no one figure
    dram_eff_key: str             # where dram_eff is in the estimate's JSON ("" where it is not)
    dram_eff_says: str            # where dram_eff comes from, or why there is none
    cache_bw_bytes_per_s: tuple   # the spec's cache levels beyond the first, at the run's placement
    int8_peak_ops: float | None   # an ncnn run's int8 kernels: the int8 rate of the same cores


def spec_row(est, proc, precision: str | None = None) -> np.ndarray:
    """The generic hardware row of the run's placement (cores, threads) at `precision` (default:
    the one its kernels ran at). The ncnn runtimes are models of their own, not runtimes of the
    spec: their row is built with the spec's default runtime (its first where the default is such
    a model), for the spec's bandwidths and caches only."""
    rt = est.runtime if est.runtime in proc.runtimes else (
        next(iter(proc.runtimes)) if proc.default_model() else None)
    return hw_row(proc, pick_runtime(proc, rt), precision or est.precision_used or est.precision, est.threads,
                  est.cores)


def model_section(est) -> tuple[str, dict]:
    """("ncnn" | "ncnn_vulkan" | "", its assumptions): which fitted model priced the estimate. Named
    by the section it writes, not by est.runtime: a spec may call a runtime of its own "ncnn"."""
    for name in ("ncnn", "ncnn_vulkan"):
        sec = (est.assumptions or {}).get(name)
        if isinstance(sec, dict):
            return name, sec
    return "", {}


def _model_dram_eff(name: str, sec: dict) -> tuple[float | None, str, str]:
    """(dram_eff, JSON key, what it is) of a fitted ncnn model: the fitted parameter its memory time
    divides by (ncnn_cost: dram_eff; ncnn_vulkan: mem_eff, at most 1)."""
    param = "dram_eff" if name == "ncnn" else "mem_eff"
    v = (sec.get("parameters") or {}).get(param)
    if v is None:
        return None, "", f"the {name.replace('_', '-')} estimate carries no {param}: no one achievable DRAM figure"
    # The model caps a fitted value above 1 at the whole bandwidth: the figure is then not the JSON's.
    key = f"assumptions.{name}.parameters.{param}" if float(v) <= 1.0 else ""
    return min(float(v), 1.0), key, f"fitted {param} of {name.replace('_', '-')}"


def _spec_dram_eff(row: np.ndarray, runtime: str) -> tuple[float, str]:
    """(dram_eff, what it is) of a runtime of the spec, from its hardware row."""
    if row[H_KM] > 0.0:
        # The GPU kernel model streams at its fitted P_MEM (engine/gpu_algos.resident_bw), not at
        # the runtime's `mem`, which it never reads.
        return float(row[P_MEM]), f"fitted kernel model of {runtime}"
    says = f"{runtime}'s mem"
    if row[H_ELT_EFF] != row[H_MEM_EFF]:
        # Element-wise kernels stream at the runtime's `eltwise` instead (engine/kernels.py).
        says += f"; element-wise kernels {row[H_ELT_EFF]:.0%}"
    return float(row[H_MEM_EFF]), says


def run_roofs(est, proc) -> Roofs:
    """The roofs of `est`'s run on processor `proc`: the peak of the cores it uses at the precision
    it ran at (the estimate's own figure where its model records one) and the DRAM efficiency of
    the runtime that produced it, never another runtime's of the same spec."""
    row = spec_row(est, proc)
    caches = tuple(float(row[H_BW[i]]) for i in range(1, int(row[H_NLEV])))
    name, sec = model_section(est)
    if not name:
        spec_eff, spec_says = _spec_dram_eff(row, est.runtime)
        return Roofs(float(row[H_PEAK]), "", float(row[H_DRAM_BW]), spec_eff, "", spec_says, caches, None)
    eff, eff_key, says = _model_dram_eff(name, sec)
    int8 = None
    if name == "ncnn" and sec.get("int8_kernels") and "int8" in proc.flop_per_cycle_per_unit:
        # Its quantised layers run on int8 kernels (two ops per MAC, as their FLOPs are counted).
        int8 = float(spec_row(est, proc, "int8")[H_PEAK])
    return Roofs(float(sec["peak_flops"]), f"assumptions.{name}.peak_flops", float(row[H_DRAM_BW]), eff, eff_key,
                 says, caches, int8)


def roofline_figure(est, hw, figsize=(8, 5.5)):
    """The matplotlib figure of roofline_plot (the caller saves and closes it): the roofs of
    run_roofs, every kernel a point."""
    device = hw if hasattr(hw, "processors") else load_hw(hw)
    roofs = run_roofs(est, pick_processor(device, est.processor))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=figsize)
    pts = [(l.flops / l.dram_bytes, l.flops / l.time_s, l.time_s, l.bound, l.name)
           for l in est.layers if l.fused_into is None and l.time_s > 0 and l.dram_bytes > 0 and l.flops > 0]
    xs = np.logspace(-2, 4, 200)
    peak = roofs.peak_flops
    dram = roofs.dram_bw_bytes_per_s
    ax.plot(xs, np.minimum(peak, xs * dram), "k-", lw=2, label=f"DRAM {dram / 1e9:.0f} GB/s")
    if roofs.dram_eff is not None:
        ax.plot(xs, np.minimum(peak, xs * dram * roofs.dram_eff), "k--", lw=1,
                label=f"DRAM achievable ({roofs.dram_eff:.0%}: {roofs.dram_eff_says})")
    else:
        # Say so rather than draw another runtime's figure.
        ax.plot([], [], " ", label=f"DRAM achievable: {roofs.dram_eff_says}")
    for i, bw in enumerate(roofs.cache_bw_bytes_per_s, 2):
        ax.plot(xs, np.minimum(peak, xs * bw), ":", lw=1, label=f"cache level {i} {bw / 1e9:.0f} GB/s")
    ax.axhline(peak, color="gray", lw=0.8,
               label=f"peak {peak / 1e9:,.1f} GFLOP/s ({est.precision_used or est.precision})")
    # An ncnn estimate of a quantised network runs its int8 kernels against the int8 rate: on a
    # dot-product core above the float roof.
    peak8 = roofs.int8_peak_ops
    if peak8 is not None and peak8 != peak:
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
