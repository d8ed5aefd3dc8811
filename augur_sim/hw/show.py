"""Human-readable description of a Device, for `augur hw show`."""
from __future__ import annotations

from augur_sim.hw.kmodel import asked_math, resolve_math
from augur_sim.hw.model import Device
from augur_sim.hw.placement import place, split_big_little


def _size(size_bytes: int) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size_bytes >= div:
            return f"{size_bytes / div:g} {unit}"
    return f"{size_bytes} B"


def _math(proc, rt, op: str) -> str:
    """The math an fp32 op of class `op` runs in on this chip: the runtime's choice where the
    chip has it (resolve_math), and what the runtime would have chosen where it has not (PyTorch
    lets cuDNN use TF32 for fp32 convs, but a Turing or Volta GPU has no TF32)."""
    got = resolve_math(proc, rt, "fp32", op)
    want = asked_math(rt, op)
    return got if got == want else f"{got} (the runtime's {want} needs a GPU with a {want} rate)"


def format_hw(device: Device) -> str:
    """Multi-line description: per processor its peaks (GFLOP/s per declared precision),
    bandwidths, caches, overhead, energy and runtimes; then the sources."""
    out = [f"{device.name}: {device.description}",
           f"  file: {device.file}",
           f"  memory: {_size(device.memory_bytes)}"]
    for p in device.processors.values():
        unit_word = "cores" if p.kind == "cpu" else "SMs"
        clocks = sorted({c.clock_ghz for c in p.clusters}, reverse=True)
        if len(clocks) > 1:
            # Clusters at different clocks: each clock with its cores (the peak uses each).
            parts = " + ".join(f"{sum(c.count for c in p.clusters if c.clock_ghz == g)} @ {g:g} GHz" for g in clocks)
            out.append(f"  processor {p.name} ({p.kind}): {p.units} {unit_word} ({parts})")
        else:
            out.append(f"  processor {p.name} ({p.kind}): {p.units} {unit_word} @ {p.clock_ghz:g} GHz")
        peaks = ", ".join(f"{prec} {p.peak_flops(prec) / 1e9:,.1f}"
                          for prec in p.flop_per_cycle_per_unit)
        out.append(f"    peak GFLOP/s: {peaks}")
        if p.clusters:
            big, little = split_big_little(p.clusters)
            for i, c in enumerate(p.clusters):
                role = "big" if i in big and little else "little" if i in little else "all"
                cf = ", ".join(f"{k} {v:g}" for k, v in c.flop_per_cycle.items())
                out.append(f"    cluster {c.name} ({role}): {c.count}x {c.core_name} @ {c.clock_ghz:g} GHz, "
                           f"{c.core.isa_class}, FLOP/cycle {cf}, L2 {_size(c.l2_bytes)} "
                           f"{'shared' if c.l2_shared else 'per core'}")
            out.append(f"    default run: {place(p).describe()}")
            out.append("    caches below: those of the default run")
        else:
            fpc = ", ".join(f"{k} {v:g}" for k, v in p.flop_per_cycle_per_unit.items())
            out.append(f"    FLOP/cycle/{unit_word[:-1]}: {fpc}")
        out.append(f"    DRAM bandwidth: {p.dram_bw_gbs:g} GB/s; "
                   f"machine balance {p.peak_flops('fp32') / (p.dram_bw_gbs * 1e9):.1f} FLOP/B (fp32)")
        for c in p.caches:
            scope = "shared" if c.shared else f"per {unit_word[:-1]}"
            out.append(f"    L{c.level}: {_size(c.size_bytes)} {scope}, {c.line_bytes} B lines, "
                       f"{c.assoc}-way{' (assumed)' if c.assoc_assumed else ''}, {c.bw_gbs:g} GB/s aggregate")
        out.append(f"    dispatch overhead: {p.dispatch_s * 1e6:g} us per kernel/layer")
        vk = getattr(p, "vulkan", None)
        if vk is not None:
            # What --runtime ncnn-vulkan reads (engine/ncnn_vulkan.py).
            yn = {True: "yes", False: "no"}
            out.append(f"    vulkan (ncnn-vulkan): class {vk.gpu_class}, "
                       f"{'discrete' if vk.discrete else 'integrated'}, fp16 storage {yn[vk.fp16_storage]}, "
                       f"fp16 arithmetic {yn[vk.fp16_arithmetic]}")
        e = p.energy
        flop_e = ", ".join(f"{k} {v:g}" for k, v in e.pj_per_flop.items())
        cache_e = ", ".join(f"L{c.level} {v:g}" for c, v in zip(p.caches, e.cache_pj_per_byte))
        out.append(f"    energy: pJ/FLOP {flop_e}; DRAM {e.dram_pj_per_byte:g} pJ/B"
                   + (f"; caches pJ/B {cache_e}" if cache_e else "")
                   + f"; static {e.static_w:g} W")
        if p.default_model():
            # A default with a model of its own has no record in runtimes to mark below.
            out.append(f"    runtime {p.default_model()} (default): the built-in {p.default_model()} model, "
                       "parameters fitted on benchncnn's corpus (see 'fitted models' below)")
        for r in p.runtimes.values():
            mark = " (default)" if r.name == p.default_runtime else ""
            out.append(f"    runtime {r.name}{mark}: {r.stack}")
            if r.precisions:
                out.append(f"      runs {', '.join(r.precisions)} only (others are costed at their fallback)")
            if r.kernel_model:
                out.append(f"      kernel model {r.kernel_model} (hwspecs/fits/{r.kernel_model}.yaml, "
                           f"class of {p.arch or 'no arch'}); fp32 conv math {_math(p, r, 'conv')}, fp32 "
                           f"matmul math {_math(p, r, 'matmul')}"
                           + (f"; CUDA-graph floor {r.graph_floor_s * 1e6:g} us" if r.graph_floor_s else ""))
                out.append(f"      fusion: {', '.join(r.fusion) or 'none'}")
                out.append(f"      source: {r.source}")
                continue
            if r.fitted:
                out.append(f"      fitted from fits/{r.fitted}.yaml, class {r.fit_class} (default run); "
                           "other core sets use their slowest core's class")
            out.append(f"      gemm_peak {r.gemm_peak:g}, half at M/N/K {r.gemm_half_m:g}/"
                       f"{r.gemm_half_n:g}/{r.gemm_half_k:g}, tile {r.tile_m}x{r.tile_n}, "
                       f"dw_conv {r.dw_conv:g}, mem {r.mem:g}, eltwise {r.eltwise:g}, "
                       f"dispatch {r.dispatch_s * 1e6:g} us")
            extra = []
            if r.issue_s:
                extra.append(f"host issue {r.issue_s * 1e6:g} us/kernel")
            if r.transcendental_per_s:
                extra.append(f"transcendentals {r.transcendental_per_s / 1e9:g} G/s/unit")
            if r.pow_per_s:
                extra.append(f"pow {r.pow_per_s / 1e9:g} G/s/unit")
            if extra:
                out.append("      " + ", ".join(extra))
            out.append(f"      fusion: {', '.join(r.fusion) or 'none'}")
            out.append(f"      source: {r.source}")
    out.append("  sources:")
    for s in device.sources:
        out.append(f"    [{s.id}] {s.ref}")
    return "\n".join(out) + "\n"
