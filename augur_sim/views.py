"""Summary views of an estimate or an analysis: the N heaviest kernels (`--top N`), totals
grouped by op type or by stage (`--group-by op|stage`), and a torchinfo-like summary with
percentage columns (`--format summary`).

Units everywhere in augur's text output: time in ms, sizes in binary units (B, KiB, MiB,
GiB; 1 MiB = 2^20 B), energy in mJ below 1 J and J above, counts with SI prefixes
(k, M, G = 10^3, 10^6, 10^9). JSON and CSV carry raw numbers whose key names their unit
(`time_ms`, `dram_bytes`, `energy_mj`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import AugurError
from .report import ANALYZE_UNITS_LINE, anchor_lines, energy, estimate_table, ibytes, shape_str, si, table

GROUP_BYS = ("op", "stage")
MAX_TOP = 1_000_000

_STAGE_SPLIT = re.compile(r"[./]")


def check_top(top) -> int | None:
    if top is None:
        return None
    if isinstance(top, bool) or not isinstance(top, int) or not 0 < top <= MAX_TOP:
        raise AugurError(f"--top must be a positive integer up to {MAX_TOP}, got {top!r}")
    return top


def check_group_by(group_by) -> str | None:
    if group_by is not None and group_by not in GROUP_BYS:
        raise AugurError(f"--group-by must be one of {', '.join(GROUP_BYS)}, got {group_by!r}")
    return group_by


def stage_of(name: str) -> str:
    """A layer's stage: the first part of its name before '.' or '/' ('stage4.0.expand' ->
    'stage4', '/layer1/layer1.0/conv1/Conv' -> 'layer1'); a name without one is its own stage."""
    parts = [p for p in _STAGE_SPLIT.split(name) if p]
    return parts[0] if parts else name


@dataclass(frozen=True)
class Kernel:
    """One executed kernel of an estimate: its host layer plus the layers fused into it."""
    name: str
    types: str            # "conv+bn+relu6"
    op: str               # the host layer's op
    output_shape: tuple
    time_s: float
    flops: int
    macs: int
    params: int
    dram_bytes: float
    energy_j: float
    bound: str
    algorithm: str | None = None   # for runtimes that pick one per kernel (ncnn)


def kernels(est) -> list[Kernel]:
    """The kernels that ran, in network order, each with the layers fused into it."""
    fused: dict[str, list] = {}
    for l in est.layers:
        if l.fused_into is not None:
            fused.setdefault(l.fused_into, []).append(l)
    out = []
    for l in est.layers:
        if l.fused_into is not None or l.op == "input":
            continue
        extra = fused.get(l.name, [])
        # A fused part of the kernel's own source layer (ncnn's activation_type, an ONNX
        # Conv's bias) carries that layer's type: name it by its op ("Convolution+relu").
        parts = [l.type] + [f.op if f.type == l.type else f.type for f in extra]
        out.append(Kernel(
            name=l.name, types="+".join(parts), op=l.op,
            output_shape=tuple(extra[-1].output_shape if extra else l.output_shape), time_s=l.time_s,
            flops=l.flops + sum(f.flops for f in extra), macs=l.macs + sum(f.macs for f in extra),
            params=l.params + sum(f.params for f in extra), dram_bytes=l.dram_bytes,
            energy_j=l.energy_j, bound=l.bound, algorithm=getattr(l, "algorithm", None)))
    return out


@dataclass(frozen=True)
class Group:
    key: str
    kernels: int
    time_s: float
    macs: int
    params: int
    dram_bytes: float
    energy_j: float


def group_kernels(ks: list[Kernel], by: str) -> list[Group]:
    """Totals per op type (the host layer's op) or per stage, heaviest first."""
    check_group_by(by)
    acc: dict[str, list] = {}
    for k in ks:
        key = k.op if by == "op" else stage_of(k.name)
        acc.setdefault(key, []).append(k)
    groups = [Group(key, len(v), sum(k.time_s for k in v), sum(k.macs for k in v), sum(k.params for k in v),
                    sum(k.dram_bytes for k in v), sum(k.energy_j for k in v)) for key, v in acc.items()]
    return sorted(groups, key=lambda g: (-g.time_s, -g.macs, g.key))


def _pct(part: float, whole: float) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "-"


def group_table(est, by: str) -> str:
    ks = kernels(est)
    gs = group_kernels(ks, by)
    t = est.total
    macs = sum(k.macs for k in ks)
    params = sum(k.params for k in ks)
    rows = [(g.key, g.kernels, f"{g.time_s * 1e3:.3f}", _pct(g.time_s, t.time_s), si(g.macs),
             _pct(g.macs, macs), si(g.params), _pct(g.params, params), ibytes(g.dram_bytes), energy(g.energy_j))
            for g in gs]
    rows.append(("TOTAL", len(ks), f"{t.time_s * 1e3:.3f}", "100.0%", si(macs), "100.0%", si(params), "100.0%",
                 ibytes(t.dram_bytes), energy(t.energy_j)))
    return table([by, "kernels", "time ms", "% time", "MACs", "% MACs", "params", "% params", "DRAM",
                  "energy"], rows, ["<"] + [">"] * 9)


def group_records(est, by: str) -> list[dict]:
    t = est.total
    return [{by: g.key, "kernels": g.kernels, "time_ms": g.time_s * 1e3,
             "time_share": g.time_s / t.time_s if t.time_s else 0.0, "macs": g.macs, "params": g.params,
             "dram_bytes": g.dram_bytes, "energy_mj": g.energy_j * 1e3} for g in group_kernels(kernels(est), by)]


def kernel_records(est, top: int | None = None) -> list[dict]:
    """Kernel rows as plain records (the CSV of `--view kernels`, the JSON's "kernels"),
    units in the keys; in execution order, or with `top` the N slowest, slowest first."""
    t = est.total.time_s
    ks = kernels(est)
    if top:
        ks = sorted(ks, key=lambda k: -k.time_s)[:top]
    return [{"kernel": k.name, "types": k.types, "op": k.op, "output_shape": "x".join(map(str, k.output_shape)),
             "time_ms": k.time_s * 1e3, "time_share": k.time_s / t if t else 0.0, "flops": k.flops, "macs": k.macs,
             "params": k.params, "dram_bytes": k.dram_bytes, "energy_mj": k.energy_j * 1e3, "bound": k.bound,
             **({"algorithm": k.algorithm} if k.algorithm is not None else {})}
            for k in ks]


def kernel_table(est, top: int | None = None) -> str:
    """One row per kernel (fused BN/activations shown in its type, not as rows of their own);
    with `top`, the N slowest kernels, slowest first, with running percentages."""
    ks = kernels(est)
    t = est.total.time_s
    order = sorted(ks, key=lambda k: -k.time_s)[:top] if top else ks
    rows: list[tuple] = []
    run = 0.0
    for k in order:
        run += k.time_s
        rows.append((k.name, k.types, shape_str(k.output_shape), f"{k.time_s * 1e3:.3f}", _pct(k.time_s, t),
                     _pct(run, t) if top else "", si(k.flops), ibytes(k.dram_bytes), k.bound))
    heads = ["kernel", "type", "output", "time ms", "% time", "cum. %" if top else "", "FLOPs", "DRAM", "bound"]
    if not top:
        heads.pop(5)
        rows = [r[:5] + r[6:] for r in rows]
    aligns = ["<", "<", "<"] + [">"] * (len(heads) - 4) + ["<"]
    if any(k.algorithm for k in ks):
        heads, aligns = heads + ["algorithm"], aligns + ["<"]
        rows = [r + (k.algorithm or "-",) for r, k in zip(rows, order)]
    text = table(heads, rows, aligns)
    if top:
        shown = sum(k.time_s for k in order)
        text += f"\n{len(order)} of {len(ks)} kernels shown: {_pct(shown, t)} of the time"
    return text


def summary(est) -> str:
    """A torchinfo-like summary: kernels in network order with their share of params, MACs
    and time, then totals and the memory a run needs."""
    ks = kernels(est)
    t = est.total
    macs = sum(k.macs for k in ks) or 0
    params = sum(k.params for k in ks) or 0
    rows = [(f"{k.name} ({k.types})", shape_str(k.output_shape), f"{k.params:,}", _pct(k.params, params),
             f"{k.macs:,}", _pct(k.macs, macs), f"{k.time_s * 1e3:.3f}", _pct(k.time_s, t.time_s))
            for k in ks]
    body = table(["kernel (type)", "output shape", "params", "% params", "MACs", "% MACs", "time ms", "% time"],
                 rows, ["<", "<", ">", ">", ">", ">", ">", ">"])
    width = max(len(line) for line in body.split("\n"))
    fp = est.footprints[est.policy]
    rule = "=" * width
    used = est.precision if est.precision_used == est.precision else f"{est.precision} (costed as {est.precision_used})"
    lines = [rule, f"{est.net} on {est.hw}/{est.processor}, runtime {est.runtime}, batch {est.batch}, {used}", rule,
             body, rule,
             f"Total params: {t.params:,} (+{t.stat_params:,} statistics)",
             f"Total MACs: {t.macs:,}",
             f"Total time: {t.time_s * 1e3:.3f} ms   energy: {energy(t.energy_j)}",
             *anchor_lines(est.assumptions.get("anchor")),
             rule,
             f"Params size (MiB): {fp.weight_bytes / 2**20:.2f}",
             f"Peak activations (MiB): {fp.peak_activation_bytes / 2**20:.2f}",
             f"Workspace + runtime (MiB): {(fp.workspace_bytes + fp.runtime_bytes) / 2**20:.2f}",
             f"Estimated peak memory (MiB): {fp.peak_memory_bytes / 2**20:.2f}  (policy {est.policy})",
             rule]
    return "\n".join(lines)


def estimate_text(est, top: int | None = None, group_by: str | None = None, extra: tuple = ()) -> str:
    """The estimate's table: kernel rows (fused layers folded into their host's type), the
    N slowest with `top`, or per-group totals with `group_by`; then the totals, where the
    time goes, memory and assumptions (report.estimate_table's tail)."""
    check_top(top)
    check_group_by(group_by)
    body = group_table(est, group_by) if group_by else kernel_table(est, top)
    return estimate_table(est, body=body, extra=extra)


# ---------------------------------------------------------------- analyze (counts only: shares of MACs)

def analyze_text(nc, top: int | None = None, group_by: str | None = None) -> str:
    """Counts of a network: the N layers with most MACs (`top`), or totals per op type or
    stage (`group_by`), with percentage columns."""
    check_top(top)
    check_group_by(group_by)
    layers = [l for l in nc.layers if l.op != "input"]
    macs = sum(l.counts.macs for l in layers)
    params = sum(l.counts.params for l in layers)
    head = f"network {nc.net}   batch {nc.batch}   dtype {nc.dtype}"
    if group_by:
        acc: dict[str, list] = {}
        for l in layers:
            acc.setdefault(l.op if group_by == "op" else stage_of(l.name), []).append(l)
        gs = sorted(acc.items(), key=lambda kv: (-sum(l.counts.macs for l in kv[1]), kv[0]))
        rows: list[tuple] = [(k, len(v), si(sum(l.counts.macs for l in v)), _pct(sum(l.counts.macs for l in v), macs),
                 si(sum(l.counts.params for l in v)), _pct(sum(l.counts.params for l in v), params))
                for k, v in gs]
        rows.append(("TOTAL", len(layers), si(macs), "100.0%", si(params), "100.0%"))
        body = table([group_by, "layers", "MACs", "% MACs", "params", "% params"], rows, ["<"] + [">"] * 5)
    else:
        order = sorted(layers, key=lambda l: -l.counts.macs)[:top] if top else layers
        rows = []
        run = 0
        for l in order:
            run += l.counts.macs
            rows.append((l.name, l.src_type or l.op, ",".join(shape_str(s) for s in l.output_shapes),
                         si(l.counts.macs), _pct(l.counts.macs, macs), _pct(run, macs), si(l.counts.params),
                         _pct(l.counts.params, params)))
        body = table(["layer", "type", "output", "MACs", "% MACs", "cum. %", "params", "% params"], rows,
                     ["<", "<", "<"] + [">"] * 5)
        if top:
            body += f"\n{len(order)} of {len(layers)} layers shown: {_pct(run, macs)} of the MACs"
    return "\n".join([head, body, "", f"weights {ibytes(nc.weight_bytes)}   activations "
                      f"{ibytes(nc.activation_bytes)} (every tensor once)", ANALYZE_UNITS_LINE])
