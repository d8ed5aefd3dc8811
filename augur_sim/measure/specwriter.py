"""The calibration written out: a summary of what was measured and how well the fit
reproduces it, and the hardware spec YAML (every figure with its source)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import AugurError
from ..fileio import atomic_path, check_writable
from ..hw import check_hw
from ..ort_layout import nchwc_block
from ..report import table
from .hostcheck import host_facts
from .calibrate import FUSION, RUNTIME, Calibration, spec_caches
from .machine import machine_label


def summary_text(c: Calibration) -> str:
    """What was measured, its spread, and how well the fitted model reproduces it."""
    lines = [f"machine: {machine_label(c.machine)}; threads {c.threads}; mode {c.mode}; "
             f"{c.seconds:.0f} s; onnxruntime {c.machine.versions['onnxruntime']}",
             f"peak: {c.fpc} FLOP/cycle ({c.fpc_note}) x {c.clock_ghz:.2f} GHz ({c.clock_note}) x {c.threads}",
             f"machine load (1-min average) before / after: {c.extras.get('load', (0, 0))[0]:.2f} / "
             f"{c.extras.get('load', (0, 0))[1]:.2f} (this process adds up to {c.threads}; more means other jobs)",
             f"overheads: session.run {c.run_overhead_s * 1e6:.1f} us, per node {c.node_overhead_s * 1e6:.2f} us "
             f"(tiny ReLU chains)",
             "bandwidth (ORT Add, 2 reads + 1 write): " + ", ".join(
                 f"{k} {v:.1f} GB/s (IQR {c.bandwidth_timing[k].iqr_pct:.0f}%)" for k, v in c.bandwidth_gbs.items())]
    rows = []
    for b in c.benches:
        t = b.timing
        err = 100.0 * (b.predicted_s / b.kernel_s - 1.0) if b.kernel_s > 0 else 0.0
        gf = f"{b.flops / b.kernel_s / 1e9:.1f}" if b.flops and b.kernel_s > 0 else ""
        lay = c.extras.get("layout_share", {}).get(b.spec.name, 0.0)
        how = (f"chain 1/{1 + b.spec.chain}" + (" (pair)" if b.spec.back else "") if b.spec.chain
               else f"alone, -{100 * lay:.0f}% reorder" if lay > 0.005 else "alone")
        rows.append((b.spec.name, b.spec.family, how, f"{t.min_s * 1e3:.3f}", f"{t.median_s * 1e3:.3f}",
                     f"{t.max_s * 1e3:.3f}", f"{t.iqr_pct:.0f}%", f"{b.kernel_s * 1e3:.3f}", gf,
                     f"{b.predicted_s * 1e3:.3f}", f"{err:+.0f}%"))
    lines.append("(min/median/max/IQR: one run of the single-unit model; kernel ms: one unit in a network, "
                 "= the chain slope, or the run minus session.run's cost and minus the profiled share of "
                 "layout Reorder nodes)")
    lines.append(table(["benchmark", "family", "timed as", "min ms", "median ms", "max ms", "IQR", "kernel ms",
                        "GFLOP/s", "model ms", "model err"], rows, ["<", "<", "<"] + [">"] * 8))
    errs = np.array([abs(np.log(b.predicted_s / b.kernel_s)) for b in c.benches if b.kernel_s > 0])
    lines.append(f"fit: log-loss {c.fit.start_loss:.3f} -> {c.fit.loss:.4f} over {c.fit.evaluations} candidate rows; "
                 f"median |error| {100 * (np.exp(np.median(errs)) - 1):.1f}%, "
                 f"worst {100 * (np.exp(errs.max()) - 1):.0f}%")
    lines.append("fitted: " + ", ".join(f"{k} {_fmt(v)}" for k, v in c.fit_values.items()))
    return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    return str(v) if isinstance(v, int) else f"{v:.4g}"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', "'") + '"'


def _nchwc_rule(m) -> tuple:
    """ORT's NCHWc layout rule for this CPU (MLAS block by ISA; ort_layout.py)."""
    b = nchwc_block(m.flags)
    return (f"nchwc{b}",) if b else ()


def _host_lines(c: Calibration) -> list[str]:
    """The `host:` section: what validate compares with the machine it runs on."""
    h = host_facts(c.machine, c.threads, c.machine.versions.get("onnxruntime"), c.extras.get("load"))
    out = ["host:", f"  cpu_model: {_q(h['cpu_model'])}",
           f"  cores: {h['cores']}                                            # src: os",
           f"  threads: {h['threads']}                                          # src: cal",
           f"  isa: [{', '.join(h['isa'])}]"]
    if "onnxruntime" in h:
        out.append(f"  onnxruntime: {_q(h['onnxruntime'])}")
    if "load_avg" in h:
        out.append(f"  load_avg: [{', '.join(f'{x:.2f}' for x in h['load_avg'])}]"
                   "                                # src: cal (1-minute load average before / after calibrating)")
    return out


def spec_yaml(c: Calibration, name: str) -> str:
    """The hardware spec, as YAML text with a comment on every figure."""
    m = c.machine
    v = c.fit_values
    when = f"measured by augur calibrate on {c.date}, {machine_label(m)}"
    vers = ", ".join(f"{k} {val}" for k, val in m.versions.items())
    bw = c.bandwidth_gbs
    caches = spec_caches(m, c.threads, c.clock_ghz, bw)
    errs = np.array([abs(np.log(b.predicted_s / b.kernel_s)) for b in c.benches if b.kernel_s > 0])
    med = 100 * (np.exp(np.median(errs)) - 1)
    out = [
        "# Written by `augur calibrate` (augur_sim/measure/calibrate.py): microbenchmarks of ONNX Runtime on the",
        "# machine below, efficiency parameters fitted to them (docs/ACCURACY.md). Re-run to refresh.",
        f"# Mode {c.mode}, {c.threads} thread(s), {len(c.benches)} benchmarks, {c.seconds:.0f} s; fit median "
        f"|error| {med:.1f}% per benchmark; load average before / after {c.extras.get('load', (0, 0))[0]:.2f} / "
        f"{c.extras.get('load', (0, 0))[1]:.2f}.",
        f"name: {name}",
        f"description: {_q(f'{m.cpu_model} ({m.cores} cores), ONNX Runtime CPU with {c.threads} thread(s); ' + when)}",
        f"memory_gib: {m.memory_bytes / 2**30:.2f}"
        "                                   # src: os (/proc/meminfo MemTotal)",
        "sources:",
        f"  - {{id: cal, ref: {_q(when + f'; {c.threads} thread(s); ' + vers)}}}",
        "  - {id: os, ref: " + _q("/proc/cpuinfo, /proc/meminfo and /sys/devices/system/cpu/cpu0/cache on "
                                  + machine_label(m) + ", read " + c.date) + "}",
        *_host_lines(c),
        "processors:",
        "  cpu:",
        "    kind: cpu",
        f"    description: {_q(m.cpu_model + f'; units = ORT intra-op threads ({c.threads})')}",
        f"    units: {c.threads}                                            # src: cal (one core per ORT thread)",
        f"    clock_ghz: {c.clock_ghz:.3f}                                   # src: cal, os ({c.clock_note})",
        f"    flop_per_cycle_per_unit: {{fp32: {c.fpc}}}"
        f"                     # src: os (from the ISA flags: {c.fpc_note})",
        "    caches:",
    ]
    for r in caches:
        out.append(f"      - {{level: {r['level']}, size_kib: {r['size_kib']:g}, line_bytes: {r['line_bytes']}, "
                   f"assoc: {r['assoc']}, shared: {str(r['shared']).lower()}, bw_gbs: {r['bw_gbs']}}}  "
                   f"# src: os (geometry); {r['note']}")
    out += [
        f"    dram_bw_gbs: {bw['DRAM']:.2f}                                 # src: cal; measured: ORT Add stream far "
        f"beyond the last cache, {c.threads} thread(s) (not the DIMMs' peak: a VM hides them)",
        "    overheads:",
        f"      dispatch_us: {c.node_overhead_s * 1e6:.3f}                              # src: cal; measured: slope "
        f"of tiny ReLU chains (session.run itself: {c.run_overhead_s * 1e6:.1f} us, not modelled)",
        "    energy:",
        "      pj_per_flop: {fp32: 20.0}                          # estimate: not measured (no power counters here); "
        "server x86 core, ~0.6 x 5 W / 150 GFLOP/s",
        "      dram_pj_per_byte: 100                              # estimate: DDR4/DDR5 DIMM ~12 pJ/bit incl. I/O",
        f"      cache_pj_per_byte: [{', '.join(['1.0'] * len(caches))}]"
        "                 # estimate: not measured; ~1 pJ/B for on-chip SRAM",
        "      static_w: 5.0                                      # estimate: this VM's share of package idle power",
        "    runtimes:",
        f"      {RUNTIME}:",
        "        stack: " + _q(f"ONNX Runtime {m.versions[RUNTIME]} CPU EP (MLAS), ORT_ENABLE_ALL, sequential, "
                               f"intra_op_num_threads={c.threads}"),
        f"        source: {_q(when + '; efficiency fitted to microbenchmarks, not to networks')}",
        f"        gemm_peak: {v['gemm_peak']:.4f}                                  # src: cal (fitted; against "
        "the peak above)",
        f"        gemm_half_m: {v['gemm_half_m']:.3f}                                # src: cal (fitted)",
        f"        gemm_half_n: {v['gemm_half_n']:.3f}                                # src: cal (fitted)",
        f"        gemm_half_k: {v['gemm_half_k']:.3f}                                # src: cal (fitted)",
        f"        tile_m: {v['tile_m']}                                        # src: cal (fitted, discrete)",
        f"        tile_n: {v['tile_n']}                                        # src: cal (fitted, discrete)",
        f"        dw_conv: {v['dw_conv']:.4f}                                    # src: cal (fitted)",
        f"        mem: {v['mem']:.4f}                                        # src: cal (fitted, fraction of "
        "the measured stream bandwidths)",
        f"        eltwise: {v['eltwise']:.4f}                                    # src: cal (fitted)",
        f"        dispatch_us: {v['dispatch_s'] * 1e6:.3f}                                # src: cal (fitted "
        "per-kernel cost; includes thread-pool fork/join)",
        f"        transcendental_gops: {v['transcendental_per_s'] / 1e9:.4g}                     # src: cal (fitted "
        "per thread: exp-class evaluations, from sigmoid / tanh / softmax runs)",
        f"        pow_gops: {v['pow_per_s'] / 1e9:.4g}                                # src: cal (fitted per thread: "
        "pow evaluations, from LRN runs)",
        f"        fusion: [{', '.join(FUSION + _nchwc_rule(c.machine))}]   "
        "# ORT CPU: Conv+BN/Mul/Add folding, FusedConv (activation), "
        "NCHWc Conv+Sum",
        f"    default_runtime: {RUNTIME}",
    ]
    return "\n".join(out) + "\n"


def check_out_path(out) -> Path:
    """Refuse an output path that cannot take the spec, before minutes of benchmarks."""
    path = Path(out)
    if path.suffix not in (".yaml", ".yml"):
        raise AugurError("the spec must be written to a .yaml file", file=str(path))
    return check_writable(path)


def write_spec(c: Calibration, out: str) -> Path:
    """Write the spec atomically and check it loads; a spec that fails never replaces a good one."""
    path = check_out_path(out)
    text = spec_yaml(c, path.stem)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
        # Validate the temporary under the final name's stem (the name must equal the stem).
        chk = tmp.parent / f".check-{os.getpid()}" / path.name
        chk.parent.mkdir(exist_ok=True)
        try:
            chk.write_text(text)
            check_hw(chk)
        finally:
            chk.unlink(missing_ok=True)
            chk.parent.rmdir()
    return path
