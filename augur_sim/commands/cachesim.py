"""`augur cachesim NET LAYER --hw HW`: replay one layer's loop nest through the device's
cache hierarchy (the LRU oracle), next to what the analytical model predicts."""
from __future__ import annotations

from ..engine.cachesim import (MAX_TRACE_ACCESSES, CacheLevel, direct_replay_accesses, layer_gemm_accesses,
                               replay_conv_direct, simulate_layer_gemm)
from ..engine.hwrow import pick_processor
from ..engine.traffic import direct_conv_traffic_bytes, gemm_traffic_bytes
from ..errors import AugurError
from ..graph import DTYPE_BYTES, PRECISIONS
from ..hw import load_hw
from ..lowering import (
    C_CH,
    C_GCOUNT,
    C_HIN,
    C_HOUT,
    C_K,
    C_KH,
    C_KW,
    C_M,
    C_N,
    C_SH,
    C_WIN,
    C_WOUT,
    DIRECT,
    GEMM,
    lower,
)
from ..report import ibytes, table
from .args import add_net_args, emit, net_from_args


def _check_simulable(layer: str, accesses: int) -> None:
    """A layer whose replay would pass the simulator's limit is refused before it starts, in terms
    of what the user can do about it."""
    if accesses > MAX_TRACE_ACCESSES:
        raise AugurError(f"layer '{layer}' needs {accesses:.3g} simulated memory accesses, more than the "
                         f"{MAX_TRACE_ACCESSES:.3g} a trace simulation takes (a few seconds); `augur estimate` "
                         f"prices its traffic with the analytical model, or a smaller --input-shape makes "
                         f"it small enough to simulate")


def cachesim_report(graph, layer: str, hw, processor=None, precision="fp32") -> str:
    if layer not in graph.g:
        near = [n for n in graph.order if layer.lower() in n.lower()][:8]
        raise AugurError(f"no layer '{layer}' in {graph.name}" + (f"; similar: {', '.join(near)}" if near else ""))
    device = hw if hasattr(hw, "processors") else load_hw(hw)
    proc = pick_processor(device, processor)
    levels = [CacheLevel(c.size_bytes, c.line_bytes, c.assoc) for c in proc.caches]
    if not levels:
        raise AugurError(f"processor '{proc.name}' declares no caches to simulate")
    low = lower(graph, precision, ())  # one layer, unfused: the loop nest of that layer alone
    k = low.layer_kernel[layer]
    r = low.rows[k]
    eb = DTYPE_BYTES[precision]
    cls = int(r[0])
    if cls == GEMM:
        M, N, K, cnt = int(r[C_M]), int(r[C_N]), int(r[C_K]), int(r[C_GCOUNT])
        _check_simulable(layer, layer_gemm_accesses(M, N, K, levels, eb))
        stats = simulate_layer_gemm(M, N, K, levels, eb)
        what = (f"GEMM M={M} N={N} K={K} (one of {cnt} identical GEMMs: groups x images; "
                f"counts are for one)")
        model = [gemm_traffic_bytes(M, N, K, 1, eb, lv.size_bytes, lv.line_bytes) for lv in levels]
    elif cls == DIRECT:
        C, kh, kw = int(r[C_CH]), int(r[C_KH]), int(r[C_KW])
        H, W, sh = int(r[C_HIN]), int(r[C_WIN]), int(r[C_SH])
        pad = graph.layer(layer).attrs.get("pad", (0, 0, 0, 0))
        _check_simulable(layer, direct_replay_accesses(1, C, int(r[C_HOUT]), int(r[C_WOUT]), kh, kw))
        stats = replay_conv_direct(C, kh, kw, H, W, sh, (pad[0], pad[1]), eb, [l.size_bytes for l in levels],
                                   [l.line_bytes for l in levels], [l.assoc for l in levels], batch=1)
        what = f"depthwise conv C={C} {kh}x{kw} stride {sh} over {H}x{W} (one image)"
        model = [direct_conv_traffic_bytes(C, kh, kw, H, W, r[C_HOUT], r[C_WOUT], sh, sh, 1, eb,
                                           lv.size_bytes, lv.line_bytes) for lv in levels]
    else:
        raise AugurError(f"layer '{layer}' ({graph.layer(layer).op}) is a stream kernel; trace simulation "
                         f"covers GEMM-lowered and depthwise convs, fc and matmul")
    rows = []
    for s, lv, m, c in zip(stats, levels, model, proc.caches):
        below = s.traffic_below_bytes(lv.line_bytes)
        ways = f"{lv.assoc}-way" + (" (assumed)" if c.assoc_assumed else "")
        rows.append((f"L{s.level + 1}", ibytes(lv.size_bytes), ways, f"{s.accesses:,}",
                     f"{s.hits:,}", f"{s.misses:,}", f"{s.hits / max(s.accesses, 1):.1%}", ibytes(below),
                     ibytes(m), f"{m / below:.2f}" if below else "-"))
    head = f"{graph.name} / {layer} on {device.name}/{proc.name}, {precision}: {what}"
    return head + "\n" + table(["level", "size", "assoc", "accesses", "hits", "misses", "hit rate",
                                "traffic below (sim)", "analytical", "model/sim"], rows,
                               ["<", ">", ">", ">", ">", ">", ">", ">", ">", ">"])


def cmd_cachesim(args):
    emit(cachesim_report(net_from_args(args), args.layer, args.hw, args.processor, args.precision))


def register(sub):
    p = sub.add_parser("cachesim", help="trace-driven cache simulation of one layer (hits and misses per level)")
    add_net_args(p)
    p.add_argument("layer", help="the layer's name (see `augur analyze NET`)")
    p.add_argument("--hw", required=True)
    p.add_argument("--processor", default=None)
    p.add_argument("--precision", choices=PRECISIONS, default="fp32")
    p.set_defaults(func=cmd_cachesim)
