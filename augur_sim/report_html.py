"""`augur report`: one self-contained HTML file (inline CSS, JS and SVG; nothing fetched).

Every number shown comes from an estimate's JSON form (Estimate.to_dict(), what
`augur estimate --format json` prints) or is a sum or ratio of its fields. Each number is
written as <span class="n" data-key=K data-dev=D data-v=V data-scale=S>TEXT</span>:
V is the exact value (the JSON value for keys "total.*", "memory.*", "layers.*"; the
report's own aggregate for "derived.*"), TEXT is V / S rounded for people. Tests read the
rendered page back and check both against the JSON; the sortable table sorts by V.

Stages: a CNN is a sequence of resolution stages (112x112, 56x56, ... for ResNet-50), so a
layer's stage is the spatial size of its output (the dims after batch and channels); layers
without spatial dims (fc, flatten, softmax) form the head. This works for any frontend,
whatever its layer names.
"""
from __future__ import annotations

import datetime
import html
import io
import json
import math

from .engine.held_out import current_held_out, order_bin, order_span, placement_summary
from .engine.ncnn_params import DEFAULT_FIT as NCNN_DEFAULT_FIT
from .graph import DTYPE_BYTES
from .plots import Roofs, pyplot, roofline_figure, run_roofs
from .report import int8_kernels_note

BOUND_COLORS = {"compute": "#d62728", "memory": "#1f77b4", "cache": "#2ca02c", "overhead": "#7f7f7f"}
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#86bcb6", "#d4a6c8"]
MEM_PARTS = (("weight_bytes", "weights", "#4e79a7"), ("peak_activation_bytes", "activations", "#f28e2b"),
             ("workspace_bytes", "workspace", "#59a14f"), ("runtime_bytes", "runtime", "#bab0ac"))
MAX_DEVICES = 4


# ---------------------------------------------------------------------------------------
# Grouping

def stage_key(output_shape) -> tuple:
    """The spatial size of a layer's output: () for layers without spatial dims (the head)."""
    s = tuple(output_shape)
    return s[2:] if len(s) >= 3 else ()


def stage_names(layers: list[dict]) -> dict[tuple, str]:
    """Stage key -> label, numbered in order of first appearance ("S1 112x112", ..., "head")."""
    out: dict[tuple, str] = {}
    for l in layers:
        if l["op"] == "input":
            continue
        k = stage_key(l["output_shape"])
        if k not in out and k:
            out[k] = f"S{len(out) + 1} {'x'.join(str(d) for d in k)}"
    out[()] = "head (no spatial dims)"
    return out


def groups(d: dict, by: str) -> list[dict]:
    """Per-group sums over an estimate's layers (input layers left out): op kinds largest
    time first, stages in network order. by = "op" (augur's op kind) or "stage"."""
    eb = DTYPE_BYTES.get(d["precision"], 4)
    names = stage_names(d["layers"]) if by == "stage" else {}
    acc: dict[str, dict] = {}
    for l in d["layers"]:
        if l["op"] == "input":
            continue
        g = l["op"] if by == "op" else names[stage_key(l["output_shape"])]
        a = acc.setdefault(g, {"group": g, "layers": 0, "kernels": 0, "time_ms": 0.0, "dram_bytes": 0.0,
                               "energy_mj": 0.0, "macs": 0, "params": 0, "activation_bytes": 0})
        a["layers"] += 1
        a["kernels"] += l["fused_into"] is None
        for k in ("time_ms", "dram_bytes", "energy_mj", "macs", "params"):
            a[k] += l[k]
        a["activation_bytes"] += math.prod(l["output_shape"]) * eb
    total = sum(a["time_ms"] for a in acc.values()) or 1.0
    for a in acc.values():
        a["share"] = a["time_ms"] / total
    if by == "stage":
        order = {label: k for k, label in enumerate(names.values())}
        return sorted(acc.values(), key=lambda a: order[a["group"]])
    return sorted(acc.values(), key=lambda a: (-a["time_ms"], a["group"]))


# ---------------------------------------------------------------------------------------
# Numbers

def _fmt(x: float, digits: int = 4) -> str:
    """x with `digits` significant digits, never in exponent notation."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    dec = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{dec}f}"


def _scale(v: float, kind: str) -> tuple[float, str]:
    """(divisor, unit) for a value: SI prefixes for counts, binary ones for bytes."""
    av = abs(v)
    if kind == "bytes":
        for b, u in ((2.0**40, "TiB"), (2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB")):
            if av >= b:
                return b, u
        return 1.0, "B"
    if kind == "count":
        for c, u in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if av >= c:
                return c, u
        return 1.0, ""
    return 1.0, kind  # a fixed unit (ms, mJ, %...)


def num(v, key: str, dev: int, kind: str = "", scale: float | None = None, digits: int = 4) -> str:
    """One number: exact value in data-v, rounded text, then its unit."""
    s, unit = _scale(float(v), kind) if scale is None else (scale, kind)
    # Whole counts below 1,000 stay whole: "128", not "128.0".
    text = str(int(v)) if s == 1.0 and isinstance(v, int) and abs(v) < 1000 else _fmt(float(v) / s, digits)
    span = (f'<span class="n" data-key="{html.escape(key)}" data-dev="{dev}" data-v="{v!r}" '
            f'data-scale="{s!r}">{text}</span>')
    return span + (f'<span class="u">&#8239;{html.escape(unit)}</span>' if unit else "")


def esc(x) -> str:
    return html.escape(str(x))


# ---------------------------------------------------------------------------------------
# Charts (inline SVG)

def bar_chart(rows: list[tuple[str, float, str, str]], width: int = 520) -> str:
    """Horizontal bars: (label, value, value text, colour), scaled to the largest value."""
    if not rows:
        return ""
    top = max(v for _, v, _, _ in rows) or 1.0
    h, label_w, text_w = 20, 150, 150
    bar_w = width - label_w - text_w
    out = [f'<svg class="chart" viewBox="0 0 {width} {h * len(rows) + 4}" width="100%" role="img" '
           f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, v, text, color) in enumerate(rows):
        y = i * h + 2
        w = max(bar_w * v / top, 0.5 if v > 0 else 0)
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" class="lbl">{esc(label)}</text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{h - 6}" fill="{color}">'
                   f'<title>{esc(label)}: {esc(text)}</title></rect>'
                   f'<text x="{label_w + w + 5:.1f}" y="{y + 14}" class="val">{esc(text)}</text>')
    out.append("</svg>")
    return "".join(out)


def stacked_bar(parts: list[tuple[str, float, str]], width: int = 520, height: int = 22) -> str:
    """One bar split into parts (label, value, colour), proportional to the values."""
    total = sum(v for _, v, _ in parts) or 1.0
    out = [f'<svg class="stack" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="none" '
           f'role="img" xmlns="http://www.w3.org/2000/svg">']
    x = 0.0
    for label, v, color in parts:
        w = width * v / total
        if w > 0:
            out.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{color}">'
                       f'<title>{esc(label)}: {v / total:.1%}</title></rect>')
        x += w
    out.append("</svg>")
    return "".join(out)


def roofline_svg(est, device, salt: str) -> str:
    """The roofline chart of plots.py as inline SVG (text kept as text)."""
    import matplotlib
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 9}):
        fig = roofline_figure(est, device, figsize=(7.2, 4.6))
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
        pyplot().close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE: inline SVG has neither
    return svg.replace("<svg ", '<svg class="roofline" ', 1)


# ---------------------------------------------------------------------------------------
# Sections

def _band(i: int, d: dict) -> str:
    """The measured range of held-out runs like this one (engine/held_out.py), where recorded;
    where the estimate says why there is none, that reason (a latency without a range must not
    read as an exact one)."""
    e = (d.get("assumptions") or {}).get("expected_error") or {}
    if not e.get("available"):
        why = e.get("why")
        return f'<br><small class="noband">expected error: not known ({esc(why)})</small>' if why else ""
    k = "assumptions.expected_error.range_ms"
    one = e["devices"] == 1
    runs = "anchored pairs" if e.get("anchored") else "runs"
    s = e.get("band_stretch", 1.0)
    widened = f"; the percentile band widened x{s:.2f} in log to hold that share of a new device" if s != 1.0 else ""
    if e.get("extrapolated"):
        widened += f"; {e['extrapolated']}"
    return (f'<br><small title="{esc(e["describe"])}; {esc(e["devices"])} device{"" if one else "s"} held out of '
            f'the fit; {esc(e["protocol"])}{esc(widened)}">{100 * e["share"]:.0f}% of '
            f'{"the held-out device&#39;s" if one else "held-out devices&#39;"} {runs}: '
            f'{num(e["range_ms"][0], k + ".0", i, "ms", 1.0, 3)} to {num(e["range_ms"][1], k + ".1", i, "ms", 1.0, 3)}'
            f'</small>{_relative_band(e.get("relative"))}')


def order_share(d0: dict, d: dict, ratio: float) -> dict | None:
    """The held-out device_order bin (engine/held_out.order_bin) a predicted time ratio between two
    estimates falls in, where both ran one runtime (and, under ncnn, one thread count) and both
    carry the same table (spec-only estimates of a fitted runtime); None otherwise."""
    e0 = (d0.get("assumptions") or {}).get("expected_error") or {}
    e1 = (d.get("assumptions") or {}).get("expected_error") or {}
    bins = e0.get("device_order")
    if d0["runtime"] != d["runtime"] or e1.get("device_order") != bins:
        return None
    # The held-out pairs ran one thread count on both devices (ncnn): a comparison at two
    # counts (each device's default core set) is not what the table measured.
    threads = [(x["assumptions"].get("ncnn") or {}).get("threads") for x in (d0, d)]
    return order_bin(bins, ratio) if threads[0] == threads[1] else None


def _order_note(d0: dict, d: dict, ratio: float) -> str:
    b = order_share(d0, d, ratio)
    if b is None:
        return ""
    e = d0["assumptions"]["expected_error"]
    span = order_span(b, b is e["device_order"][-1])
    return (f' <small title="every two held-out runs of one network at one thread count on two devices, '
            f'{esc(e["protocol"])}">(held-out device pairs predicted {span} apart: '
            f'{100 * b["ordered"]:.0f}% of {b["pairs"]:,} ordered so by measurement)</small>')


def _ran_at(d: dict) -> str:
    """The precision an estimate's kernels ran at (a processor without the asked rate falls
    back; the ncnn runtimes pick theirs), with the one asked where it differs."""
    used = d.get("precision_used") or d["precision"]
    return used if used == d["precision"] else f"{used} (asked {d['precision']})"


def _precisions_text(ds) -> str:
    """The header's precision and devices: one precision for all, or each device's (a report
    across runtimes can mix them: ncnn runs fp16 on an FP16 core, ONNX Runtime fp32)."""
    used = [d.get("precision_used") or d["precision"] for d in ds]
    if len(set(used)) == 1:
        return f"{used[0]}, on {', '.join(d['hw'] for d in ds)}"
    return "on " + ", ".join(f"{d['hw']} ({u})" for d, u in zip(ds, used))


def _anchor_note(i: int, d: dict) -> str:
    """How an anchored estimate's times came about (estimator.apply_anchors), where it is one."""
    a = (d.get("assumptions") or {}).get("anchor")
    if not a:
        return ""
    k = "assumptions.anchor"
    each = ", ".join(f'{esc(u["net"])} measured {num(u["measured_ms"], f"{k}.anchors.{j}.measured_ms", i, "ms", 1.0)}'
                     f' (model {num(u["predicted_ms"], f"{k}.anchors.{j}.predicted_ms", i, "ms", 1.0)})'
                     for j, u in enumerate(a["anchors"]))
    return (f'<br><small title="{esc(a["how"])}">anchored: the model&#39;s times '
            f'x{num(a["scale"], k + ".scale", i, "", 1.0, 3)} from {each}; spec alone '
            f'{num(a["spec_only_time_ms"], k + ".spec_only_time_ms", i, "ms", 1.0)}</small>')


def _relative_band(r: dict | None) -> str:
    """How far this network is off relative to others on the same device (held_out's rel_*)."""
    if not r:
        return ""
    return (f'<br><small title="the same held-out runs with each {esc(r["relative_to"])}&#39;s own scale divided '
            f'out: what a comparison of two networks there rests on">against other networks on one '
            f'{esc(r["relative_to"])}: {1 / r["band_high"]:.2f}x to {1 / r["band_low"]:.2f}x</small>')


def _warnings(d: dict) -> str:
    """The estimate's warnings (a precision fallback, a spec priced with the shared values, ...),
    shown on the card as the CLI prints them: the page must not hide what the terminal says."""
    ws = d.get("warnings") or []
    if not ws:
        return ""
    return '<ul class="warn">' + "".join(f"<li>{esc(w)}</li>" for w in ws) + "</ul>"


def _summary_card(i: int, d: dict, device, proc, roofs: Roofs) -> str:
    t = d["total"]
    bt = t["bound_time_ms"]
    bsum = sum(bt.values()) or 1.0
    fits = t["fits"]
    thr = d["batch"] / (t["time_ms"] / 1e3) if t["time_ms"] > 0 else 0.0
    cap = t["memory_capacity_bytes"]
    badge = ('<span class="badge ok">fits</span>' if fits else '<span class="badge bad">does not fit</span>')
    runs_on = (f"{esc(d['processor'])} ({esc(d['processor_kind'])}), runtime {esc(d['runtime'])}, "
               f"{esc(_ran_at(d))}")
    int8 = int8_kernels_note(d["assumptions"])
    runs_on += f", {esc(int8)})" if int8 else ""
    legend = "".join(
        f'<li><i style="background:{BOUND_COLORS.get(k, "#999")}"></i>{esc(k)} '
        f'{num(v / bsum * 100, f"derived.bound_share.{k}", i, "%", 1.0, 3)} '
        f'<small>({num(v, f"total.bound_time_ms.{k}", i, "ms", 1.0)})</small></li>'
        for k, v in bt.items())
    return f"""
<div class="card">
  <h3>{esc(d['hw'])} <small>{runs_on}</small></h3>
  <p class="desc">{esc(device.description)}</p>{_warnings(d)}
  <div class="kpis">
    <div><b>{num(t['time_ms'], 'total.time_ms', i, 'ms', 1.0)}</b>
      <em>latency, batch {esc(d['batch'])}{_anchor_note(i, d)}{_band(i, d)}</em></div>
    <div><b>{num(thr, 'derived.throughput_per_s', i, 'inferences/s', 1.0, 4)}</b><em>throughput</em></div>
    <div><b>{num(t['peak_memory_bytes'], 'total.peak_memory_bytes', i, 'bytes')}</b>
      <em>peak memory ({_headline_memory(d)}) {badge}<br>of {num(cap, 'total.memory_capacity_bytes', i, 'bytes')}
      ({num(t['peak_memory_bytes'] / cap * 100 if cap else 0.0, 'derived.memory_share', i, '%', 1.0, 3)})</em></div>
    <div><b>{num(t['energy_mj'], 'total.energy_mj', i, 'mJ', 1.0)}</b><em>energy per batch</em></div>
  </div>
  <table class="facts">
    <tr><th>MACs</th><td>{num(t['macs'], 'total.macs', i, 'count')}</td>
        <th>FLOPs</th><td>{num(t['flops'], 'total.flops', i, 'count')}</td></tr>
    <tr><th>parameters</th><td>{num(t['params'], 'total.params', i, 'count')}</td>
        <th>BN statistics</th><td>{num(t['stat_params'], 'total.stat_params', i, 'count')}</td></tr>
    <tr><th>weights</th><td>{num(t['weight_bytes'], 'total.weight_bytes', i, 'bytes')}</td>
        <th>DRAM traffic</th><td>{num(t['dram_bytes'], 'total.dram_bytes', i, 'bytes')}</td></tr>
    <tr><th>peak FLOP/s</th><td{_placement_title(d)}>{num(roofs.peak_flops, roofs.peak_key or 'derived.peak_flops', i,
                                                     'count')}FLOP/s <small>(this run, {esc(_ran_at(d))})</small></td>
        <th>DRAM bandwidth</th><td>{num(proc.dram_bw_gbs, 'derived.dram_bw_gbs', i, 'GB/s', 1.0)}
          {_dram_eff_text(i, roofs)}</td></tr>
  </table>
  <h4>time by bound</h4>
  {stacked_bar([(k, v, BOUND_COLORS.get(k, '#999')) for k, v in bt.items()])}
  <ul class="legend">{legend}</ul>
</div>"""


def _placement_title(d: dict) -> str:
    """The cores a CPU run used, as a tooltip of its peak: the peak is theirs, not the chip's."""
    a = d.get("assumptions") or {}
    where = (a.get("ncnn") or {}).get("placement") or a.get("placement")
    return f' title="{esc(where)}"' if where else ""


def _dram_eff_text(i: int, roofs: Roofs) -> str:
    """The share of DRAM bandwidth the estimate's runtime streams at, and whose figure it is."""
    if roofs.dram_eff is None:
        return f'<small>(achievable: {esc(roofs.dram_eff_says)})</small>'
    return (f'<small>(achievable {num(roofs.dram_eff, roofs.dram_eff_key or "derived.dram_eff", i, "%", 0.01, 3)}: '
            f'{esc(roofs.dram_eff_says)})</small>')


def _group_table(i: int, d: dict, by: str, colors: dict) -> str:
    gs = groups(d, by)
    chart = bar_chart([(g["group"], g["time_ms"], f"{_fmt(g['time_ms'])} ms ({g['share']:.1%})",
                        colors.get(g["group"], "#888")) for g in gs if g["time_ms"] > 0])
    rows = []
    for g in gs:
        k = f"derived.by_{by}.{g['group']}"
        rows.append(
            f"<tr><td>{esc(g['group'])}</td><td data-v=\"{g['kernels']}\">{g['kernels']} / {g['layers']}</td>"
            f"<td>{num(g['time_ms'], k + '.time_ms', i, 'ms', 1.0)}</td>"
            f"<td>{num(g['share'] * 100, k + '.share', i, '%', 1.0, 3)}</td>"
            f"<td>{num(g['dram_bytes'], k + '.dram_bytes', i, 'bytes')}</td>"
            f"<td>{num(g['params'], k + '.params', i, 'count')}</td>"
            f"<td>{num(g['activation_bytes'], k + '.activation_bytes', i, 'bytes')}</td>"
            f"<td>{num(g['energy_mj'], k + '.energy_mj', i, 'mJ', 1.0)}</td></tr>")
    head = ("<tr><th>" + ("op type" if by == "op" else "stage") + "</th><th>kernels / layers</th>"
            "<th>time</th><th>share</th><th>DRAM traffic</th><th>params</th><th>outputs</th><th>energy</th></tr>")
    return (f'<div class="card"><h3>{esc(d["hw"])}</h3><div class="gcard"><div>{chart}</div>'
            f'<table class="grid sortable"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div></div>')


def _placement_card(i: int, d: dict) -> str:
    """An ncnn estimate's network at each placement of its CPU worth trying (`placements`, added by
    `augur report`), fastest first, this run and the fastest marked; with the held-out record of
    how often the predicted fastest placement was the measured fastest."""
    ps = d.get("placements")
    if not ps:
        return (f'<div class="card"><h3>{esc(d["hw"])}</h3><p class="note">runtime {esc(d["runtime"])}: one '
                'placement</p></div>')
    best = min(p["time_ms"] for p in ps)
    rows = []
    for j in sorted(range(len(ps)), key=lambda j: ps[j]["time_ms"]):
        p = ps[j]
        marks = [m for m, on in (("fastest", p["time_ms"] == best), ("this run", p["this_run"])) if on]
        this = ' class="this"' if p["this_run"] else ""
        rows.append(f'<tr{this}><td>{esc(p["cores"])}</td>'
                    f'<td data-v="{p["threads"]}">{p["threads"]}</td>'
                    f'<td>{num(p["time_ms"], f"placements.{j}.time_ms", i, "ms", 1.0)}</td>'
                    f'<td>{num(p["time_ms"] / best, f"derived.placement_ratio.{j}", i, "x", 1.0, 3)}</td>'
                    f'<td>{esc(", ".join(marks))}</td></tr>')
    e = (d.get("assumptions") or {}).get("expected_error") or {}
    said = placement_summary(current_held_out(NCNN_DEFAULT_FIT), len(ps)) if e.get("available") else None
    quote = f'<p class="note">Held out: {esc(said)}.</p>' if said else ""
    return (f'<div class="card"><h3>{esc(d["hw"])}</h3><table class="grid sortable"><thead><tr><th>cores</th>'
            f'<th>threads</th><th>time</th><th>of the fastest</th><th></th></tr></thead><tbody>{"".join(rows)}'
            f'</tbody></table>{quote}</div>')


# Colours of a runtime memory model's terms (engine/runtime_memory.py), in the order it lists them.
TERM_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#bab0ac", "#e15759", "#76b7b2", "#edc948", "#b07aa1")


def _headline_memory(d: dict) -> str:
    """What the headline peak is: the runtime's own memory model where it has one, else a policy."""
    rm = d.get("memory_model")
    return f"{esc(rm['model'])} model" if rm else f"{esc(d['policy'])} policy"


def _memory_card(i: int, d: dict) -> str:
    out = [f'<div class="card"><h3>{esc(d["hw"])}</h3>']
    rm = d.get("memory_model")
    if rm:
        # The runtime's own model, term by term (its allocators, copies, constants): the headline.
        terms = list(rm["terms"].items())
        colors = [TERM_COLORS[j % len(TERM_COLORS)] for j in range(len(terms))]
        out.append(f"<h4>{esc(rm['model'])} model (headline): "
                   f"{num(rm['peak_bytes'], 'memory_model.peak_bytes', i, 'bytes')}</h4>")
        out.append(stacked_bar([(n, t["bytes"], c) for (n, t), c in zip(terms, colors)]))
        out.append('<ul class="legend">' + "".join(
            f'<li title="{esc(t["what"])}"><i style="background:{c}"></i>{esc(n)} '
            f'{num(t["bytes"], f"memory_model.terms.{n}.bytes", i, "bytes")}</li>'
            for (n, t), c in zip(terms, colors)) + "</ul>")
    for policy, m in d["memory"].items():
        mark = " (headline)" if policy == d["policy"] and not rm else ""
        parts = [(label, m[k], c) for k, label, c in MEM_PARTS]
        out.append(f"<h4>{esc(policy)} policy{mark}: "
                   f"{num(m['peak_memory_bytes'], f'memory.{policy}.peak_memory_bytes', i, 'bytes')}</h4>")
        out.append(stacked_bar(parts))
        out.append('<ul class="legend">' + "".join(
            f'<li><i style="background:{c}"></i>{esc(label)} '
            f'{num(m[k], f"memory.{policy}.{k}", i, "bytes")}</li>' for k, label, c in MEM_PARTS) + "</ul>")
        if m.get("peak_step"):
            out.append(f'<p class="note">activations peak at layer <code>{esc(m["peak_step"])}</code></p>')
    out.append("</div>")
    return "".join(out)


LAYER_COLS = (("time_ms", "time", "ms"), ("share", "share", "%"), ("bound", "bound", None),
              ("dram_bytes", "DRAM", "bytes"), ("energy_mj", "energy", "mJ"))


def _layer_table(ds: list[dict]) -> str:
    multi = len(ds) > 1
    head = ['<th data-col="index">#</th>', '<th data-col="name">layer</th>', '<th data-col="type">type</th>',
            '<th data-col="output">output</th>', '<th data-col="macs">MACs</th>', '<th data-col="params">params</th>']
    for i, d in enumerate(ds):
        for key, label, _ in LAYER_COLS:
            head.append(f'<th data-col="{key}.{i}">{label}' + (f"<br><small>{esc(d['hw'])}</small>" if multi else "")
                        + "</th>")
    rows = []
    totals = [d["total"]["time_ms"] or 1.0 for d in ds]
    for j, l in enumerate(ds[0]["layers"]):
        if l["op"] == "input":
            continue
        cells = [f'<td data-v="{j}">{j}</td>', f"<td>{esc(l['name'])}</td>", f"<td>{esc(l['type'])}</td>",
                 f"<td>{esc('x'.join(str(x) for x in l['output_shape']))}</td>",
                 f"<td>{num(l['macs'], f'layers.{j}.macs', 0, 'count')}</td>",
                 f"<td>{num(l['params'], f'layers.{j}.params', 0, 'count')}</td>"]
        for i, d in enumerate(ds):
            li = d["layers"][j]
            fused = li["fused_into"]
            bound = f'<td class="b-fused" title="fused into {esc(fused)}">fused</td>' if fused else \
                f'<td class="b-{esc(li["bound"])}">{esc(li["bound"])}</td>'
            cells += [f"<td>{num(li['time_ms'], f'layers.{j}.time_ms', i, 'ms', 1.0)}</td>",
                      f"<td>{num(li['time_ms'] / totals[i] * 100, f'derived.layer_share.{j}', i, '%', 1.0, 3)}</td>",
                      bound,
                      f"<td>{num(li['dram_bytes'], f'layers.{j}.dram_bytes', i, 'bytes')}</td>",
                      f"<td>{num(li['energy_mj'], f'layers.{j}.energy_mj', i, 'mJ', 1.0)}</td>"]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="wide"><table id="layers" class="grid sortable"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _assumptions(i: int, d: dict, device, proc) -> str:
    a = d["assumptions"]
    rows = [("device", f"{device.name}: {device.description}"),
            ("processor", f"{proc.name} ({proc.kind}), {proc.units} units at {proc.clock_ghz:g} GHz; "
                          "FLOP/cycle/unit "
                          + ", ".join(f"{k} {v:g}" for k, v in proc.flop_per_cycle_per_unit.items())),
            ("caches", "; ".join(f"L{c.level} {c.size_bytes // 1024} KiB {'shared' if c.shared else 'private'}, "
                                 f"{c.bw_gbs:g} GB/s" for c in proc.caches) or "none modelled"),
            ("precision", d["precision"]), ("batch", d["batch"]),
            ("threads", d["threads"] if d["threads"] is not None else "all cores")]
    rows = [(k, esc(v)) for k, v in rows]
    for k, v in a.items():
        if isinstance(v, list):
            v = esc(", ".join(" / ".join(map(str, x)) if isinstance(x, list) else str(x) for x in v) or "none")
        elif k.endswith("_bytes") and isinstance(v, (int, float)):
            v = num(v, f"assumptions.{k}", i, "bytes")
        else:
            v = esc(v)
        rows.append((k.replace("_", " "), v))
    srcs = "".join(f"<li><code>{esc(s.id)}</code>: {esc(s.ref)}</li>" for s in device.sources)
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return (f'<div class="card"><h3>{esc(d["hw"])}</h3><table class="kv">{body}</table>'
            f'<h4>sources of the spec ({esc(device.file)})</h4>'
            f'<ul class="src">{srcs or "<li>none listed</li>"}</ul></div>')


def _color_map(names) -> dict:
    return {n: PALETTE[k % len(PALETTE)] for k, n in enumerate(sorted(set(names)))}


# ---------------------------------------------------------------------------------------

def render(ests: list, devices: list, command: str = "", version: str = "", placements=None) -> str:
    """The HTML report of one network's estimates on one or more devices. `placements`: per
    device, the network at each placement of an ncnn CPU (explore/sweep.placement_times) or
    None; where any device has them, a section compares them."""
    ds = [e.to_dict() for e in ests]
    for d, p in zip(ds, placements or ()):
        if p:
            d["placements"] = p
    names = [l["name"] for l in ds[0]["layers"]]
    if any([l["name"] for l in d["layers"]] != names for d in ds[1:]):
        raise ValueError("the estimates are not of the same network")
    procs = [dev.processor(e.processor) for e, dev in zip(ests, devices)]
    roofs = [run_roofs(e, p) for e, p in zip(ests, procs)]
    d0 = ds[0]
    ops = _color_map(g["group"] for d in ds for g in groups(d, "op"))
    stages = _color_map(g["group"] for d in ds for g in groups(d, "stage"))
    cols = f"cols{min(len(ds), 2)}"
    cmp_line = ""
    if len(ds) > 1:
        parts = []
        base = ds[0]["total"]["time_ms"]
        for i, d in enumerate(ds[1:], 1):
            r = d["total"]["time_ms"] / base if base else 0.0
            parts.append(f"{esc(d['hw'])} takes {num(r, f'derived.time_ratio.{i}', i, 'x', 1.0, 3)} the time of "
                         f"{esc(ds[0]['hw'])}" + _order_note(ds[0], d, r))
        cmp_line = '<p class="cmp">' + "; ".join(parts) + "."
        rts = list(dict.fromkeys(d["runtime"] for d in ds))
        if len(rts) > 1:
            # Each device runs its spec's default runtime unless --runtime names one: a ratio
            # across different software stacks (or models of them) is not the hardware's alone.
            which = esc(", ".join(d["hw"] + " " + d["runtime"] for d in ds))
            cmp_line += (f" <small>Not the same runtime: {which} (each spec's default); "
                         "<code>--runtime</code> names one for all.</small>")
        cmp_line += "</p>"
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data = json.dumps(ds, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    sections = [
        f'<section id="summary"><h2>Summary</h2>{cmp_line}<div class="row {cols}">'
        + "".join(_summary_card(i, d, dev, p, r) for i, (d, dev, p, r) in enumerate(zip(ds, devices, procs, roofs)))
        + "</div></section>",
        '<section id="by-op"><h2>Time and memory by op type</h2><p class="note">A fused layer (BN, ReLU, '
        'a bias folded into its conv) costs nothing of its own: its time is in its host kernel\'s row. '
        '"outputs" is the size of the output tensors the layers write, each once.</p>'
        f'<div class="row {cols}">' + "".join(_group_table(i, d, "op", ops) for i, d in enumerate(ds))
        + "</div></section>",
        '<section id="by-stage"><h2>Time and memory by stage</h2><p class="note">A stage is the spatial size '
        'of a layer\'s output (the resolution stages of a CNN); layers without spatial dims form the head.</p>'
        f'<div class="row {cols}">' + "".join(_group_table(i, d, "stage", stages) for i, d in enumerate(ds))
        + "</div></section>",
        *([f'<section id="placements"><h2>How to run it</h2><p class="note">The same network at each '
           'placement of the CPU a benchncnn user would try (core set: ncnn&#39;s powersave; threads: '
           'its num_threads), placements the model prices alike (the same slowest core, thread count and caches) '
           'counted once. Predicted, '
           'spec only: the held-out record below says how often the predicted fastest was the measured '
           f'fastest.</p><div class="row {cols}">' + "".join(_placement_card(i, d) for i, d in enumerate(ds))
           + "</div></section>"] if any(d.get("placements") for d in ds) else []),
        '<section id="memory"><h2>Memory footprint</h2><p class="note">The runtime\'s own memory model, '
        'where it has one (its allocators, weight copies and fixed costs, term by term), is the headline; '
        'both allocation policies follow: <b>caffe</b> keeps every blob for the whole run, <b>reuse</b> frees a '
        'tensor after its last consumer. Without a runtime model the headline uses the policy marked.</p>'
        f'<div class="row {cols}">' + "".join(_memory_card(i, d) for i, d in enumerate(ds)) + "</div></section>",
        '<section id="roofline"><h2>Roofline</h2><p class="note">Each kernel at its arithmetic intensity '
        '(FLOPs per DRAM byte) and achieved FLOP/s, sized by its share of the time, coloured by what bounds it.</p>'
        f'<div class="row {cols}">'
        + "".join(f'<div class="card">{roofline_svg(e, dev, f"augur{i}")}</div>'
                  for i, (e, dev) in enumerate(zip(ests, devices))) + "</div></section>",
        '<section id="layers-section"><h2>Layers</h2><p class="note">Click a column to sort (again to reverse); '
        'type in the box to filter by layer name, type or bound. A layer fused into another\'s kernel (grey) '
        'has no time of its own.</p>'
        '<input id="filter" type="search" placeholder="filter layers">' + _layer_table(ds) + "</section>",
        '<section id="assumptions"><h2>Assumptions</h2><p class="note">These are a model\'s estimates, not '
        'measurements: every efficiency figure comes from the source named for it.</p>'
        f'<div class="row {cols}">'
        + "".join(_assumptions(i, d, dev, p) for i, (d, dev, p) in enumerate(zip(ds, devices, procs)))
        + "</div></section>",
    ]
    title = f"{d0['net']} on {', '.join(d['hw'] for d in ds)}"
    nav_placements = '<a href="#placements">how to run it</a>' if any(d.get("placements") for d in ds) else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="augur-sim {esc(version)}">
<title>augur-sim report: {esc(title)}</title>
<style>{CSS}</style></head>
<body>
<header><h1>augur-sim report: {esc(d0['net'])}</h1>
<p>batch {esc(d0['batch'])}, {esc(_precisions_text(ds))}.
Generated {generated} by augur-sim {esc(version)}{(': <code>' + esc(command) + '</code>') if command else ''}.</p>
<nav><a href="#summary">summary</a><a href="#by-op">by op type</a><a href="#by-stage">by stage</a>
{nav_placements}<a href="#memory">memory</a><a href="#roofline">roofline</a><a href="#layers-section">layers</a>
<a href="#assumptions">assumptions</a></nav></header>
<main>{''.join(sections)}</main>
<footer>The data behind this page (the JSON of <code>augur estimate --format json</code> for each device,
with <code>placements</code>: the ncnn network's time at each placement compared above) is embedded in it:
element <code>#augur-data</code>.</footer>
<script type="application/json" id="augur-data">{data}</script>
<script>{JS}</script>
</body></html>
"""


CSS = """
:root{--fg:#1d2430;--muted:#5b6575;--line:#dde2ea;--bg:#f5f7fa;--card:#fff;--accent:#2f5fa7}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
  color:var(--fg);background:var(--bg)}
header{background:#1f2d44;color:#fff;padding:18px 28px 10px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0 0 8px;color:#c9d3e3}
header code{color:#fff}
nav a{color:#9fc1ff;margin-right:16px;text-decoration:none;font-size:13px}
main{padding:8px 28px 24px;max-width:1500px}
h2{font-size:18px;margin:26px 0 8px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:0 0 6px}
h3 small{font-weight:normal;color:var(--muted);font-size:12px}
h4{font-size:13px;margin:12px 0 4px;color:var(--muted);font-weight:600}
.row{display:grid;gap:16px}
.cols1{grid-template-columns:1fr}
tr.this td{font-weight:600}
.cols2{grid-template-columns:1fr 1fr}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;overflow-x:auto}
.desc{margin:0 0 10px;color:var(--muted);font-size:12px}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin-bottom:10px}
.kpis div{background:var(--bg);border-radius:6px;padding:8px 10px}
.kpis b{display:block;font-size:20px;color:var(--accent)}
.kpis b .u{font-size:13px;font-weight:600}
.kpis em{font-style:normal;font-size:12px;color:var(--muted)}
.badge{display:inline-block;border-radius:9px;padding:0 7px;font-size:11px;color:#fff}
.badge.ok{background:#2e8b57}.badge.bad{background:#c0392b}
.warn{margin:0 0 10px;padding:6px 10px 6px 26px;background:#fdf3e1;border-left:3px solid #d98c1f;font-size:12px}
.noband{color:#a05a00}
table{border-collapse:collapse}
.facts{width:100%;font-size:13px}
.facts th,.kv th{text-align:left;color:var(--muted);font-weight:normal;padding:2px 10px 2px 0;
  white-space:nowrap;vertical-align:top}
.facts td{padding:2px 14px 2px 0}
.kv td{padding:2px 0;font-size:13px}
.legend{list-style:none;padding:0;margin:6px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px}
.stack{height:22px;border-radius:4px;display:block}
.chart{display:block;margin-bottom:8px;font-size:11px;max-width:620px}
.cols1 .gcard{display:grid;grid-template-columns:minmax(0,560px) 1fr;gap:20px;align-items:start}
.chart .lbl{fill:#333}.chart .val{fill:#555}
.grid{width:100%;font-size:12px;margin-top:6px}
.grid th{position:sticky;top:0;background:#eef1f6;text-align:right;padding:4px 6px;
  border-bottom:1px solid var(--line);cursor:pointer;user-select:none;white-space:nowrap}
.grid th:nth-child(-n+4){text-align:left}
.grid td{padding:2px 6px;border-bottom:1px solid #f0f2f5;text-align:right;white-space:nowrap}
.grid td:nth-child(-n+4){text-align:left}
#by-op .grid th:nth-child(n+2),#by-stage .grid th:nth-child(n+2),
#by-op .grid td:nth-child(n+2),#by-stage .grid td:nth-child(n+2){text-align:right}
.grid th[aria-sort=ascending]::after{content:" \\25B2"}
.grid th[aria-sort=descending]::after{content:" \\25BC"}
.grid td.b-fused{color:#98a1b0;text-align:left}
.grid tbody tr:hover td{background:#f3f7ff}
.b-compute{color:#d62728}.b-memory{color:#1f77b4}.b-cache{color:#2ca02c}.b-overhead{color:#7f7f7f}
#filter{margin:4px 0;padding:5px 8px;width:280px;border:1px solid var(--line);border-radius:5px}
.roofline{width:100%;max-width:820px;height:auto;display:block}
.wide{overflow-x:auto;max-height:900px;overflow-y:auto;border:1px solid var(--line);border-radius:6px;
  background:var(--card)}
.wide .grid{margin-top:0}
.note{color:var(--muted);font-size:12px;margin:2px 0 8px}
.cmp{font-size:15px;margin:4px 0 12px}
.src{font-size:12px;color:var(--muted);padding-left:18px}
footer{padding:10px 28px 30px;color:var(--muted);font-size:12px}
@media (max-width:1000px){.cols2{grid-template-columns:1fr}.kpis{grid-template-columns:repeat(2,1fr)}}
"""

JS = """
(function(){
  function val(td){var e=td.hasAttribute('data-v')?td:td.querySelector('[data-v]');
    return e?parseFloat(e.getAttribute('data-v')):td.textContent.trim().toLowerCase();}
  function sortTable(table,col,desc){
    var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=val(a.cells[col]),y=val(b.cells[col]),r;
      if(typeof x==='number'&&typeof y==='number'){r=x-y;}else{x=String(x);y=String(y);r=x<y?-1:(x>y?1:0);}
      return desc?-r:r;});
    rows.forEach(function(r){body.appendChild(r);});
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      if(i===col){th.setAttribute('aria-sort',desc?'descending':'ascending');}else{th.removeAttribute('aria-sort');}});
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.addEventListener('click',function(){sortTable(table,i,th.getAttribute('aria-sort')!=='descending');});});
  });
  var f=document.getElementById('filter'),lt=document.getElementById('layers');
  if(f&&lt){f.addEventListener('input',function(){var q=f.value.toLowerCase();
    Array.prototype.forEach.call(lt.tBodies[0].rows,function(r){
      r.style.display=(!q||r.textContent.toLowerCase().indexOf(q)>=0)?'':'none';});});}
  // #sort=COLUMN[,asc] sorts the layer table on opening (links can point at a sorted view).
  var m=/sort=([^,&]+)(,asc)?/.exec(location.hash);
  if(m&&lt){Array.prototype.forEach.call(lt.tHead.rows[0].cells,function(th,i){
    if(th.getAttribute('data-col')===decodeURIComponent(m[1])){sortTable(lt,i,!m[2]);}});}
  document.body.setAttribute('data-js','ok');
})();
"""
