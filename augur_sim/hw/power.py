"""The clock a GPU sustains under a heavy FMA load, from its datasheet power facts.

A board's power limit (TDP) caps the clock a dense GEMM or conv can hold: at full occupancy
every FP32 lane switches each cycle, so the dynamic power is about
`energy per FLOP x units x FLOP/cycle/unit x clock`. The clock at which that reaches the
board limit is `tdp_w / (energy per FLOP x units x FLOP/cycle/unit)`; GPU Boost runs the
chip at the lower of that and its boost clock, and the datasheet base clock is the floor it
is specified to hold. The energy per FLOP is ONE coefficient for every GPU, fitted on the
kernel corpus (`fma_pj` in hwspecs/fits/pytorch.yaml, pJ per FP32 FLOP on a 16 nm die,
board level: it carries the SM's register file, operand delivery, caches and memory traffic
a GEMM drives, not only the FMA unit), scaled linearly with the process node: switching
energy C V^2 with the capacitance shrinking with the feature size at the roughly constant
~0.7-0.8 V these nodes run at (an estimate, not fitted: the corpus has only 16, 12 and 7 nm).
A tensor-core load is assumed to draw the same board power per SM and clock as an FP32 one
(both keep the SM's datapaths busy every cycle; not identifiable from the fp32 corpus).
"""
from __future__ import annotations

REFERENCE_NODE_NM = 16.0


def sustained_clock_ghz(boost_ghz: float, base_ghz: float, tdp_w: float, units: float,
                        fp32_flop_per_cycle: float, process_nm: float, pj_per_flop_16nm: float) -> float:
    """Clock (GHz) a full-occupancy FMA load holds: min(boost, power-limited clock), never
    below the base clock. Without a TDP or process node on the spec: the boost clock."""
    if tdp_w <= 0.0 or process_nm <= 0.0 or pj_per_flop_16nm <= 0.0:
        return boost_ghz
    joule_per_flop = pj_per_flop_16nm * 1e-12 * process_nm / REFERENCE_NODE_NM
    limit_ghz = tdp_w / (joule_per_flop * units * fp32_flop_per_cycle) / 1e9
    return min(boost_ghz, max(base_ghz, limit_ghz))
