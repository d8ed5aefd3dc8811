"""Reports: aligned tables for people, JSON and CSV for programs."""
from __future__ import annotations

import csv
import io
import json

from .counts import NetCount
from .graph import DTYPE_BYTES

_PREFIX = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
UNITS_LINE = ("units: time ms; sizes binary (KiB, MiB, GiB = 2^10, 2^20, 2^30 B); energy mJ (J from "
              "1,000 mJ); MACs/FLOPs/params with SI prefixes (k, M, G = 10^3, 10^6, 10^9)")
# augur analyze counts (no time, no energy): its units line names only what it shows.
ANALYZE_UNITS_LINE = ("units: sizes binary (KiB, MiB, GiB = 2^10, 2^20, 2^30 B); MACs/params with SI prefixes "
                      "(k, M, G = 10^3, 10^6, 10^9)")


def si(x: float, unit: str = "", digits: int = 3) -> str:
    """1234567 -> '1.23 M' (+unit); small values keep their digits."""
    ax = abs(x)
    for scale, p in _PREFIX:
        if ax >= scale:
            return f"{x / scale:.{digits}g} {p}{unit}".rstrip()
    if isinstance(x, int) or float(x).is_integer():
        return f"{int(x)} {unit}".rstrip()
    return f"{x:.{digits}g} {unit}".rstrip()


def energy(j: float) -> str:
    """Energy without exponents: '0.0421 mJ', '12.600 mJ', '1.260 J' (mJ below 1 J)."""
    mj = j * 1e3
    if abs(mj) >= 1000:
        return f"{j:,.3f} J"
    if abs(mj) >= 1:
        return f"{mj:.3f} mJ"
    return f"{mj:.4f} mJ"


def ibytes(n: float) -> str:
    """Sizes in binary units everywhere (KiB, MiB, GiB, TiB = 2^10 ... 2^40 bytes)."""
    for scale, p in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {p}"
    return f"{int(n)} B"


def table(headers, rows, align=None) -> str:
    cols = list(zip(*([headers] + [[str(c) for c in r] for r in rows]))) if rows else [[h] for h in headers]
    widths = [max(len(c) for c in col) for col in cols]
    align = align or ["<"] + [">"] * (len(headers) - 1)
    def fmt(r):
        return "  ".join(f"{str(c):{a}{w}}" for c, a, w in zip(r, align, widths)).rstrip()
    lines = [fmt(headers), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def shape_str(s) -> str:
    return "x".join(str(d) for d in s)


# ---------------------------------------------------------------- analyze

def analyze_dict(nc: NetCount) -> dict:
    return nc.to_dict()


def analyze_table(nc: NetCount) -> str:
    eb = DTYPE_BYTES[nc.dtype]
    rows = [(l.name, l.src_type or l.op, ",".join(shape_str(s) for s in l.input_shapes) or "-",
             ",".join(shape_str(s) for s in l.output_shapes), si(l.counts.macs), si(l.counts.flops),
             si(l.counts.params), ibytes(l.counts.out_elems * eb)) for l in nc.layers]
    t = nc.total
    rows.append(("TOTAL", "", "", "", si(t.macs), si(t.flops), si(t.params), ibytes(nc.activation_bytes)))
    out = [f"network {nc.net}   batch {nc.batch}   dtype {nc.dtype}",
           table(["layer", "type", "input", "output", "MACs", "FLOPs", "params", "activations"], rows,
                 ["<", "<", "<", "<", ">", ">", ">", ">"]),
           "",
           f"MACs {t.macs:,}   FLOPs {t.flops:,}   params {t.params:,} learned + {t.stat_params:,} "
           f"statistics (BN mean/var, Caffe scale factors)",
           f"weights {ibytes(nc.weight_bytes)}   activations {ibytes(nc.activation_bytes)} (every tensor once)"]
    free = [l.name for l in nc.layers if l.category == "free" and l.op != "input"]
    move = [l.name for l in nc.layers if l.category == "movement"]
    if free or move:
        out.append(f"zero-FLOP layers: {len(free)} free views, {len(move)} data movement (concat/split/...)")
    for n, ty, r in nc.dropped:
        out.append(f"dropped: {n} ({ty}): {r}")
    out.append(f"conventions: {nc.conventions.describe()}")
    return "\n".join(out)


def to_csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})
    return buf.getvalue()


def analyze_csv(nc: NetCount) -> str:
    d = analyze_dict(nc)
    return to_csv(d["layers"], ["name", "type", "op", "category", "input_shapes", "output_shape", "macs",
                                "flops", "params", "stat_params", "input_elems", "output_elems",
                                "input_bytes", "activation_bytes"])


# ---------------------------------------------------------------- estimate

def estimate_table(est, top: int = 8, body: str | None = None, extra: tuple = ()) -> str:
    """Header, per-layer table (or `body` in its place: views.estimate_text passes kernel rows
    or group totals), totals, where the time goes, memory and the assumptions; `extra`: lines
    after the expected error (the ncnn placements `augur estimate` compares)."""
    rows = []
    # Runtimes that choose an algorithm per kernel (ncnn) get a column saying which.
    algo = any(l.algorithm is not None for l in est.layers)
    for l in est.layers if body is None else ():
        if l.op == "input":
            continue
        rows.append((l.name, l.type, shape_str(l.output_shape),
                     f"{l.time_s * 1e3:.3f}" if l.fused_into is None else "-",
                     si(l.flops), ibytes(l.dram_bytes) if l.fused_into is None else "-",
                     l.bound if l.fused_into is None else f"fused>{l.fused_into}")
                    + ((l.algorithm or "-",) if algo else ()))
    t = est.total
    hdr = (f"{est.net} on {est.hw}/{est.processor} ({est.processor_kind}, runtime {est.runtime})   "
           f"batch {est.batch}   {est.precision}" + (f"   threads {est.threads}" if est.threads else ""))
    used = est.precision_used or est.precision
    hdr += (f"\nspec {est.spec_file or est.hw}   runtime {est.runtime}   precision used {used}"
            + (f" (requested {est.precision})" if used != est.precision else ""))
    int8 = int8_kernels_note(est.assumptions)
    if int8:
        hdr += f"   {int8}; the others and the stored activations {used})"
    hdr += "".join(f"\nWARNING: {w}" for w in est.warnings)
    pl = getattr(est, "placement", None)
    if pl is not None and (pl.clusters[0].core is not None or pl.note):
        hdr += "\nplacement: " + pl.describe()
    heads = ["layer", "type", "output", "time ms", "FLOPs", "DRAM", "bound"] + (["algorithm"] if algo else [])
    out = [hdr, body if body is not None else
           table(heads, rows, ["<", "<", "<", ">", ">", ">", "<"] + (["<"] if algo else [])), ""]
    out.append(f"total time {t.time_s * 1e3:.3f} ms   MACs {si(t.macs)}   FLOPs {si(t.flops)}   "
               f"params {si(t.params)}   DRAM traffic {ibytes(t.dram_bytes)}   energy {energy(t.energy_j)}")
    out += anchor_lines(est.assumptions.get("anchor"))
    out += expected_error_lines(est.assumptions.get("expected_error"))
    out += list(extra)
    # Where the time goes.
    hosts = sorted((l for l in est.layers if l.fused_into is None and l.time_s > 0), key=lambda l: -l.time_s)
    out.append("")
    if body is None:   # a body from views already lists the kernels with their shares
        out.append(f"where the time goes (top {min(top, len(hosts))} kernels):")
        for l in hosts[:top]:
            share = l.time_s / t.time_s * 100 if t.time_s else 0
            out.append(f"  {l.name:<28} {l.time_s * 1e3:9.3f} ms  {share:5.1f}%  {l.bound}")
    else:
        out.append("where the time goes:")
    bt = t.bound_time_s
    tot = sum(bt.values()) or 1.0
    out.append("  by bound: " + ", ".join(f"{k} {v / tot * 100:.1f}%" for k, v in bt.items()))
    out.append("")
    rm = est.runtime_memory
    if rm is not None:
        terms = " + ".join(f"{n} {ibytes(b)}" for n, b, _ in rm.terms if b)
        out.append(f"memory ({est.runtime}, {rm.model} model): {terms} = {ibytes(rm.peak_bytes)}  <- headline")
        for note in rm.notes:
            out.append(f"  ({note})")
    for p, f in est.footprints.items():
        mark = "  <- headline" if p == est.policy and rm is None else ""
        out.append(f"memory ({p}): weights {ibytes(f.weight_bytes)} + activations "
                   f"{ibytes(f.peak_activation_bytes)} + workspace {ibytes(f.workspace_bytes)} + runtime "
                   f"{ibytes(f.runtime_bytes)} = {ibytes(f.peak_memory_bytes)}{mark}")
    cap = est.memory_capacity_bytes
    if est.fits:
        out.append(f"fits: peak {ibytes(t.peak_memory_bytes)} of the device's {ibytes(cap)} "
                   f"({t.peak_memory_bytes / cap * 100:.1f}%)")
    else:
        out.append(f"WARNING: does not fit: peak {ibytes(t.peak_memory_bytes)} exceeds the device's "
                   f"{ibytes(cap)} of memory")
    a = est.assumptions
    out.append(f"fusion rules assumed: {', '.join(a['fusion_rules']) or 'none'}")
    out.append(f"efficiency: {a['runtime']}; source: {a['efficiency_source']}")
    out.append(f"model: {a['time_model']}")
    out.append(f"conventions: {a['conventions']}")
    out.append(UNITS_LINE)
    return "\n".join(out)


def anchor_lines(a: dict | None) -> list[str]:
    """How an anchored estimate's times came about (estimator.apply_anchors)."""
    if not a:
        return []
    each = ", ".join(f"{u['net']} measured {u['measured_ms']:.4g} ms, model {u['predicted_ms']:.4g} ms"
                     for u in a["anchors"])
    return [f"anchored: every time above is the model's x{a['scale']:.3g} ({each}; median of the ratios); "
            f"from the spec alone: {a['spec_only_time_ms']:.3f} ms"]


def expected_error_lines(e: dict | None) -> list[str]:
    """The estimate's own error as held-out devices measured it (engine/held_out.py), if recorded."""
    if not e:
        return []
    if not e.get("available"):
        return [f"expected error: not known ({e['why']})"]
    lo, hi = e["range_ms"]
    devices = f"{e['devices']} device{'' if e['devices'] == 1 else 's'}"
    share = f"{100 * e['share']:.0f}%"
    measured = f"{share} measured {1 / e['ratio_p90']:.2f}x to {1 / e['ratio_p10']:.2f}x"
    if e.get("anchored"):
        first = (f"of {e['rows']} held-out pairs of runs like this one ({e['describe']}) on {devices} held out of "
                 f"the fit, one network's measured time scaling another's prediction on the same "
                 f"{e['anchored_within']}, {measured} the anchored prediction; median |error| "
                 f"{e['median_abs_pct']:.0f}%, {100 * e['within_35']:.0f}% within +-35% (pairs of one anchor; "
                 f"several narrow it a little)")
    else:
        stretch = e.get("band_stretch", 1.0)
        widened = "" if stretch == 1.0 else (
            f", the band widened x{stretch:.2f} in log to {1 / e['band_high']:.2f}x to {1 / e['band_low']:.2f}x so "
            f"that it holds {share} of a held-out device's runs")
        first = (f"of {e['rows']} runs like this one ({e['describe']}) on {devices} held out of the fit, {measured} "
                 f"the prediction{widened}; median |error| {e['median_abs_pct']:.0f}%, "
                 f"{100 * e['within_35']:.0f}% within +-35%")
    if e.get("extrapolated"):
        first += f" ({e['extrapolated']})"
    return [f"expected error: {lo:.3g} to {hi:.3g} ms ({share} band): {first}",
            *relative_error_lines(e.get("relative")),
            f"  ({e['protocol']}; source {e['source']})"]


def int8_kernels_note(assumptions: dict) -> str:
    """'int8: N of M kernels (the quantised layers' for an ncnn estimate of a quantised network
    (the caller closes the parenthesis); '' otherwise."""
    nc = assumptions.get("ncnn") or {}
    if not nc.get("int8_kernels"):
        return ""
    return f"int8: {nc['int8_kernels']} of {len(nc['algorithms'])} kernels (the quantised layers"


def relative_error_lines(r: dict | None) -> list[str]:
    """How far this network is off relative to others run the same way (held_out's rel_*
    figures): the error a comparison of two networks on one device carries."""
    if not r:
        return []
    share = f"{100 * r['share']:.0f}%"
    stretch = r.get("band_stretch", 1.0)
    widened = "" if stretch == 1.0 else (
        f", widened x{stretch:.2f} in log to {1 / r['band_high']:.2f}x to {1 / r['band_low']:.2f}x so that it "
        f"holds {share} of a held-out device's runs")
    return [f"  comparing networks on one {r['relative_to']}: with its own scale divided out, "
            f"{share} of those runs measured {1 / r['ratio_p90']:.2f}x to {1 / r['ratio_p10']:.2f}x "
            f"the prediction{widened} (median |error| {r['median_abs_pct']:.0f}%)"]


def estimate_csv(est) -> str:
    return to_csv(est.to_dict()["layers"], ["name", "type", "op", "kernel", "fused_into", "kernel_class",
                                            "time_ms", "compute_ms", "memory_ms", "macs", "flops",
                                            "params", "dram_bytes", "bound", "energy_mj", "output_shape"])


def dumps(d: dict) -> str:
    return json.dumps(d, indent=2, sort_keys=False) + "\n"
