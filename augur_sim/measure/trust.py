"""Is a calibration to be trusted? Checks `augur calibrate` runs on its own fit.

A fit whose parameters sit at their bounds, or that reproduces its own microbenchmarks
badly, describes the optimiser's walls and the machine's noise, not the machine: the
spec it writes would mislead every estimate made with it. These checks turn that into
loud warnings (and a refusal when the fit is useless), per microbenchmark family so the
reader sees which measurements to distrust.

Noise: a benchmark whose interquartile range is a large share of its median was measured
while something else ran. calibrate re-measures those (interleaved rounds again) and,
when the machine was loaded, takes the lower quartile rather than the median: other jobs
only ever add time, so the faster runs are the ones that saw the machine alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISY_IQR_PCT = 25.0        # IQR above this share of the median: re-measure the point
FAMILY_WARN_PCT = 25.0      # a family's median |error| above this: warn
FIT_REFUSE_PCT = 50.0       # the whole fit's median |error| above this: refuse to write
BOUND_REL = 0.01            # within 1% of the bounds' span from a bound: "at the bound"
LOADED_PER_CORE = 0.5       # 1-min load average per core above this: the machine is loaded


@dataclass(frozen=True)
class TrustReport:
    family_error_pct: dict      # family -> median |error| % of the fitted model on it
    family_count: dict          # family -> benchmarks
    at_bounds: tuple            # (param, value, "lower"|"upper")
    noisy: tuple                # benchmark names whose IQR stayed above NOISY_IQR_PCT
    median_error_pct: float
    warnings: tuple
    refuse: bool


def abs_error_pct(predicted_s: float, measured_s: float) -> float:
    """|error| as a percentage on the log scale the fit minimises (symmetric for x2 and /2)."""
    if predicted_s <= 0 or measured_s <= 0:
        return float("inf")
    return 100.0 * (np.exp(abs(np.log(predicted_s / measured_s))) - 1.0)


def params_at_bounds(values: dict, params, rel: float = BOUND_REL) -> list[tuple]:
    """Fitted parameters sitting on (within `rel` of the span from) a bound of their range."""
    out = []
    for p in params:
        if p.name not in values or getattr(p, "choices", None):
            continue  # discrete choices (tile sizes) have no bound to be stopped by
        v, span = float(values[p.name]), float(p.hi - p.lo)
        if v <= p.lo + rel * span:
            out.append((p.name, v, "lower"))
        elif v >= p.hi - rel * span:
            out.append((p.name, v, "upper"))
    return out


def loaded(load_avg: float, cores: int, own_threads: int = 0) -> bool:
    """The machine ran other work: load beyond this process' threads above LOADED_PER_CORE per core."""
    return max(load_avg - own_threads, 0.0) / max(cores, 1) > LOADED_PER_CORE


def trust(benches, values: dict, params, noisy=(), load=(0.0, 0.0), cores: int = 1,
          threads: int = 1, may_refuse: bool = True) -> TrustReport:
    """Check a calibration: per-family residuals, parameters at bounds, noisy points, load.
    `benches`: objects with .spec.family, .spec.name, .predicted_s, .kernel_s."""
    fam: dict = {}
    allerr = []
    for b in benches:
        e = abs_error_pct(b.predicted_s, b.kernel_s)
        fam.setdefault(b.spec.family, []).append(e)
        allerr.append(e)
    fam_err = {f: float(np.median(v)) for f, v in fam.items()}
    med = float(np.median(allerr)) if allerr else float("inf")
    bounds = params_at_bounds(values, params)
    warns = []
    for f, e in sorted(fam_err.items(), key=lambda kv: -kv[1]):
        if e > FAMILY_WARN_PCT:
            warns.append(f"family '{f}': the fitted model misses its {len(fam[f])} benchmark(s) by "
                         f"{e:.0f}% (median |error|): estimates of such layers are not to be trusted")
    for name, v, side in bounds:
        warns.append(f"parameter {name} = {v:.4g} sits at its {side} bound: the fit was stopped by the "
                     f"bound, not by the measurements (noise, or a model that cannot explain them)")
    if noisy:
        warns.append(f"{len(noisy)} benchmark(s) stayed noisy after re-measuring (IQR > {NOISY_IQR_PCT:.0f}% of "
                     f"the median): {', '.join(noisy[:8])}{' ...' if len(noisy) > 8 else ''}")
    if any(loaded(x, cores, threads) for x in load):
        warns.append(f"the machine was loaded while calibrating (1-min load average {load[0]:.2f} before, "
                     f"{load[1]:.2f} after, on {cores} core(s)): lower-quartile timings were used; "
                     f"re-run on an idle machine for a spec to rely on")
    refuse = may_refuse and med > FIT_REFUSE_PCT
    if med > FIT_REFUSE_PCT:
        warns.insert(0, f"the fit reproduces its own microbenchmarks only to {med:.0f}% (median |error|, "
                        f"limit {FIT_REFUSE_PCT:.0f}%)" + (": refusing to write a spec that would mislead"
                                                            if refuse else ""))
    return TrustReport(fam_err, {f: len(v) for f, v in fam.items()}, tuple(bounds), tuple(noisy), med,
                       tuple(warns), refuse)


def trust_text(t: TrustReport) -> str:
    lines = ["fit residual per microbenchmark family (median |error|): " + ", ".join(
        f"{f} {e:.1f}% (n={t.family_count[f]})" for f, e in sorted(t.family_error_pct.items()))]
    for w in t.warnings:
        lines.append(f"WARNING: {w}")
    return "\n".join(lines) + "\n"
