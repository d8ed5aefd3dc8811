"""Memory microbenchmarks for ONNX Runtime and the fit of the ORT memory model's constants.

The networks here are synthetic (stacks of convs of one width, FC stacks, wide-activation
stems, many tiny layers, convs ORT leaves to its generic kernel); none of them is one of
the networks docs/ACCURACY.md checks, so the check on those stays out of sample. Each is
measured in fresh child processes (augur_sim/rss.py: peak RSS after session creation and
one run, minus the baseline after imports, median of N) at the thread counts asked, and the
constants of augur_sim.engine.runtime_memory.ort_memory are fitted by non-negative least
squares on relative error, so a 30 MiB network weighs as much as a 1 GiB one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.runtime_memory import ORT_DEFAULTS, MiB, ort_features
from ..frontends.yamlnet import load_yamlnet_text
from .rss import measure_graph_rss

def _stack(name: str, c: int, hw: int, n: int, k: int = 3, g=None, bn: bool = True, fc=()) -> str:
    conv = f"{{out: {c}, k: {k}, p: {k // 2}" + (f", g: {g}" if g else "") + "}"
    lines = [f"name: {name}", "description: augur memory microbenchmark", f"input: {{shape: [1, {c}, {hw}, {hw}]}}",
             "layers:"]
    for i in range(n):
        lines.append(f"  - c{i}: {{conv: {conv}, bn: {'true' if bn else 'false'}, act: relu}}")
    if fc:
        lines += ["  - pool: {gap: true}", "  - flat: {flatten: true}"]
        for j, f in enumerate(fc):
            lines.append(f"  - fc{j}: {{fc: {f}}}")
    return "\n".join(lines) + "\n"


def _fcnet(name: str, k: int, outs) -> str:
    lines = [f"name: {name}", "description: augur memory microbenchmark", f"input: {{shape: [1, {k}]}}", "layers:"]
    for j, f in enumerate(outs):
        lines.append(f"  - fc{j}: {{fc: {f}}}")
    return "\n".join(lines) + "\n"


def _residual(name: str, hw: int, stages, fc: int) -> str:
    """A synthetic residual network: a stem, bottleneck stages (mid width, out width, repeats),
    global pooling and an FC head. Widths and depths unlike any network docs/ACCURACY.md checks."""
    lines = [f"name: {name}", "description: augur memory microbenchmark", f"input: {{shape: [1, 3, {hw}, {hw}]}}",
             "blocks:", "  bott:",
             "    params: {mid: int, out: int, stride: {type: int, default: 1}, project: {type: bool, default: false}}",
             "    layers:",
             "      - a: {conv: {out: $mid, k: 1}, bn: true, act: relu}",
             "      - b: {conv: {out: $mid, k: 3, s: $stride, p: 1}, bn: true, act: relu}",
             "      - c: {conv: {out: $out, k: 1}, bn: true}",
             "      - proj: {conv: {out: $out, k: 1, s: $stride}, bn: true, in: input, if: $project}",
             "      - add: {add: true, in: [c, proj], act: relu}",
             "layers:", "  - stem: {conv: {out: 32, k: 3, s: 2, p: 1}, bn: true, act: relu}"]
    for i, (mid, out, rep) in enumerate(stages):
        lines.append(f"  - s{i}: {{repeat: {rep}, block: bott, args: {{mid: {mid}, out: {out}}}, "
                     f"first: {{stride: {1 if i == 0 else 2}, project: true}}}}")
    lines += ["  - pool: {gap: true}", "  - flat: {flatten: true}", f"  - fc: {{fc: {fc}}}"]
    return "\n".join(lines) + "\n"


def _branchy(name: str) -> str:
    """A synthetic multi-branch network (1x1 / 1x1-3x3 / 1x1-5x5 / pool-1x1 branches, concat)."""
    mod = ("{{block: mix, args: {{a: {0}, br: {1}, b: {2}, cr: {3}, c: {4}, p: {5}}}}}")
    return "\n".join([
        f"name: {name}", "description: augur memory microbenchmark", "input: {shape: [1, 3, 192, 192]}",
        "blocks:", "  mix:", "    params: {a: int, br: int, b: int, cr: int, c: int, p: int}", "    layers:",
        "      - b1: {conv: {out: $a, k: 1}, bn: true, act: relu}",
        "      - b2r: {conv: {out: $br, k: 1}, bn: true, act: relu, in: input}",
        "      - b2: {conv: {out: $b, k: 3, p: 1}, bn: true, act: relu}",
        "      - b3r: {conv: {out: $cr, k: 1}, bn: true, act: relu, in: input}",
        "      - b3: {conv: {out: $c, k: 5, p: 2}, bn: true, act: relu}",
        "      - b4p: {maxpool: {k: 3, s: 1, p: 1}, in: input}",
        "      - b4: {conv: {out: $p, k: 1}, bn: true, act: relu}",
        "      - cat: {concat: true, in: [b1, b2, b3, b4]}",
        "layers:",
        "  - stem: {conv: {out: 48, k: 5, s: 2, p: 2}, bn: true, act: relu}",
        "  - pool0: {maxpool: {k: 2, s: 2}}",
        "  - m1: " + mod.format(40, 56, 96, 24, 40, 24),
        "  - m2: " + mod.format(112, 96, 176, 32, 72, 48),
        "  - pool1: {maxpool: {k: 2, s: 2}}",
        "  - m3: " + mod.format(176, 144, 288, 48, 96, 96),
        "  - m4: " + mod.format(240, 192, 400, 64, 128, 128),
        "  - pool2: {maxpool: {k: 2, s: 2}}",
        "  - m5: " + mod.format(320, 240, 480, 96, 160, 160),
        "  - gap: {gap: true}", "  - flat: {flatten: true}", "  - fc: {fc: 700}"]) + "\n"


def _mobile(name: str) -> str:
    """A synthetic depthwise-separable residual network (expand 1x1, depthwise 3x3, project 1x1)."""
    blk = "{{repeat: {0}, block: inv, args: {{mid: {1}, out: {2}}}, first: {{stride: {3}, res: false}}}}"
    return "\n".join([
        f"name: {name}", "description: augur memory microbenchmark", "input: {shape: [1, 3, 192, 192]}",
        "blocks:", "  inv:", "    params: {mid: int, out: int, stride: {type: int, default: 1}, "
        "res: {type: bool, default: true}}", "    layers:",
        "      - expand: {conv: {out: $mid, k: 1}, bn: true, act: relu}",
        "      - dw: {conv: {k: 3, s: $stride, p: 1, g: dw}, bn: true, act: relu}",
        "      - project: {conv: {out: $out, k: 1}, bn: true}",
        "      - add: {add: true, in: [project, input], if: $res}",
        "layers:", "  - stem: {conv: {out: 24, k: 3, s: 2, p: 1}, bn: true, act: relu}",
        "  - s1: " + blk.format(2, 72, 40, 2), "  - s2: " + blk.format(3, 160, 80, 2),
        "  - s3: " + blk.format(3, 320, 144, 2), "  - s4: " + blk.format(2, 576, 240, 2),
        "  - head: {conv: {out: 960, k: 1}, bn: true, act: relu}",
        "  - gap: {gap: true}", "  - flat: {flatten: true}", "  - fc: {fc: 600}"]) + "\n"


def _plainnet(name: str) -> str:
    """A synthetic VGG-like network: 3x3 conv stages with pooling and a two-layer FC head."""
    lines = [f"name: {name}", "description: augur memory microbenchmark", "input: {shape: [1, 3, 128, 128]}",
             "layers:"]
    i = 0
    for width, n in ((48, 2), (96, 2), (192, 3), (384, 3)):
        for _ in range(n):
            lines.append(f"  - c{i}: {{conv: {{out: {width}, k: 3, p: 1}}, act: relu}}")
            i += 1
        lines.append(f"  - p{i}: {{maxpool: {{k: 2, s: 2}}}}")
    lines += ["  - flat: {flatten: true}", "  - fc1: {fc: 1536, act: relu}", "  - fc2: {fc: 1536, act: relu}",
              "  - fc3: {fc: 300}"]
    return "\n".join(lines) + "\n"


def _batched(text: str, n: int) -> str:
    return text.replace("input: {shape: [1, ", f"input: {{shape: [{n}, ", 1)


def bench_nets(mode: str = "full") -> list[tuple[str, str]]:
    """(name, YAML net text) of the memory microbenchmarks."""
    nets = [("empty", _stack("empty", 8, 4, 1, k=1, bn=False)),
            ("conv64x8", _stack("conv64x8", 64, 56, 8)),
            ("conv256x4", _stack("conv256x4", 256, 14, 4)),
            ("conv512x6", _stack("conv512x6", 512, 7, 6)),
            ("fc4096", _fcnet("fc4096", 4096, (4096,))),
            ("fc9216", _fcnet("fc9216", 9216, (4096, 4096, 1000))),
            ("wide_act", _stack("wide_act", 32, 224, 3)),
            ("plain58", _stack("plain58", 58, 56, 6)),
            ("dw_stack", _stack("dw_stack", 128, 56, 6, g="dw"))]
    if mode == "full":
        nets += [("conv128x16", _stack("conv128x16", 128, 28, 16)),
                 ("conv512x12", _stack("conv512x12", 512, 7, 12, fc=(1000,))),
                 ("tiny_x120", _stack("tiny_x120", 16, 8, 120, k=1)),
                 ("fc2048", _fcnet("fc2048", 2048, (2048, 1000))),
                 ("wide_act64", _stack("wide_act64", 64, 112, 4)),
                 ("plain62x3", _stack("plain62x3", 62, 28, 3, k=3)),
                 ("conv256x8_fc", _stack("conv256x8_fc", 256, 14, 8, fc=(4096, 1000))),
                 ("res_small", _residual("res_small", 128, ((48, 192, 2), (96, 384, 2), (192, 768, 2)), 500)),
                 ("res_wide", _residual("res_wide", 160, ((160, 480, 2), (320, 960, 3), (640, 1920, 2)), 1500)),
                 ("res_deep", _residual("res_deep", 96, ((64, 256, 6), (128, 512, 8)), 200)),
                 ("branchy", _branchy("branchy")), ("mobile", _mobile("mobile")),
                 ("plainnet", _plainnet("plainnet")),
                 # batch 8: activations, not weights, dominate (the Caffe files declare batch 10)
                 ("res_small_b8", _batched(_residual("res_small_b8", 128, ((48, 192, 2), (96, 384, 2),
                                                                          (192, 768, 2)), 500), 8)),
                 ("branchy_b8", _batched(_branchy("branchy_b8"), 8)),
                 ("fire_b6", _fire("fire_b6", 6)),
                 # generic-Conv weights large enough to weigh in the fit (250 % 4 != 0: no NCHWc)
                 ("plain250x6", _stack("plain250x6", 250, 14, 6))]
    return nets


def _fire(name: str, batch: int) -> str:
    """A synthetic squeeze / expand network (1x1 squeeze, parallel 1x1 and 3x3 expands,
    channel concat) with a wide stem: many concats, activations dominating at a batch."""
    mod = "{{block: fire, args: {{s: {0}, e: {1}}}}}"
    return "\n".join([
        f"name: {name}", "description: augur memory microbenchmark", f"input: {{shape: [{batch}, 3, 200, 200]}}",
        "blocks:", "  fire:", "    params: {s: int, e: int}", "    layers:",
        "      - sq: {conv: {out: $s, k: 1}, act: relu}",
        "      - e1: {conv: {out: $e, k: 1}, act: relu}",
        "      - e3: {conv: {out: $e, k: 3, p: 1}, act: relu, in: sq}",
        "      - cat: {concat: true, in: [e1, e3]}",
        "layers:", "  - stem: {conv: {out: 80, k: 5, s: 2, p: 2}, act: relu}",
        "  - pool0: {maxpool: {k: 2, s: 2}}",
        "  - f1: " + mod.format(24, 48), "  - f2: " + mod.format(24, 48), "  - f3: " + mod.format(40, 96),
        "  - pool1: {maxpool: {k: 2, s: 2}}",
        "  - f4: " + mod.format(40, 96), "  - f5: " + mod.format(56, 160), "  - f6: " + mod.format(56, 160),
        "  - pool2: {maxpool: {k: 2, s: 2}}", "  - f7: " + mod.format(72, 224),
        "  - head: {conv: {out: 500, k: 1}, act: relu}", "  - gap: {gap: true}", "  - flat: {flatten: true}"]) + "\n"


@dataclass(frozen=True)
class MemPoint:
    name: str
    threads: int
    features: dict
    measured_bytes: int
    spread_bytes: int
    session_bytes: int = 0      # peak right after session creation (before the first run)


def measure_points(threads=(1,), samples: int = 3, mode: str = "full", progress=None, only=None) -> list[MemPoint]:
    pts = []
    for name, text in bench_nets(mode):
        if only is not None and name not in only:
            continue
        g = load_yamlnet_text(text, file=f"<memory benchmark {name}>")
        for th in threads:
            m = measure_graph_rss(g, th, samples)
            pts.append(MemPoint(name, th, ort_features(g, th), m.peak_bytes, m.spread_bytes,
                               m.session_peak_bytes))
            if progress:
                progress(name, th, m)
    return pts


def nnls(a: np.ndarray, b: np.ndarray, iters: int = 200) -> np.ndarray:
    """Non-negative least squares (Lawson-Hanson active set), small problems only."""
    n = a.shape[1]
    x = np.zeros(n)
    passive = np.zeros(n, bool)
    for _ in range(iters):
        w = a.T @ (b - a @ x)
        cand = np.where(~passive & (w > 1e-12))[0]
        if cand.size == 0:
            break
        passive[cand[np.argmax(w[cand])]] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if np.all(z[passive] > 0):
                x = z
                break
            neg = passive & (z <= 0)
            alpha = np.min(x[neg] / (x[neg] - z[neg]))
            x = x + alpha * (z - x)
            passive &= x > 1e-12
    return x


@dataclass(frozen=True)
class MemFit:
    consts: dict
    residual_pct: dict          # point name|threads -> relative error % of the fit
    median_abs_pct: float
    max_abs_pct: float


# Uniform stacks (N identical convs) hold about 4 resident bytes per byte of NCHWc filter
# (BN folding accounts for ~0.85 of it), networks of mixed layers 2.2-3.3: measured on ORT
# 1.32 here, cause not isolated (the copies ORT's optimizer passes make and which of them
# glibc's heap keeps). The weight fit uses the network-like benchmarks; the stacks stay in
# the set as a reported check of that limit.
STACKS = ("conv64x8", "conv256x4", "conv512x6", "conv128x16", "conv512x12", "conv256x8_fc")

# Session creation's terms (stage 1, fitted on the peak right after creation).
CREATION_TERMS = (("nchwc_weight_copies", "nchwc"), ("plain_weight_copies", "plain"),
                  ("gemm_weight_copies", "gemm"), ("transient_copies", "largest"), ("per_node_kib", "kernels"))


def _wsum(f: dict) -> float:
    return f["nchwc"] + f["plain"] + f["gemm"] + f["other"]


def predict_peak(f: dict, consts: dict) -> float:
    """ort_memory's peak from a point's features (the same formula, for fitting)."""
    c = {**ORT_DEFAULTS, **consts}
    resident = (c["base_mib"] + c["per_thread_mib"] * f["threads"]) * MiB + c["per_node_kib"] * 1024 * f["kernels"] \
        + c["nchwc_weight_copies"] * f["nchwc"] + c["plain_weight_copies"] * f["plain"] \
        + c["gemm_weight_copies"] * f["gemm"] + f["other"]
    fresh = f["mmap_touched"] + max(f["heap_touched"] - c["heap_retained_copies"] * _wsum(f), 0.0)
    return resident + max(c["transient_copies"] * f["largest"], c["activation_factor"] * fresh)


def fit_ort(points: list[MemPoint], exclude=STACKS) -> MemFit:
    """Two stages. (1) base and per-thread cost from the empty network; the creation terms
    by NNLS on relative error of the peak right after session creation. (2) the first run's
    `activation_factor` and `heap_retained_copies` by a grid search on the relative error
    of the whole peak. Residuals are reported for every point; `exclude` stays out of (1)."""
    empty = {p.threads: p.measured_bytes for p in points if p.name == "empty"}
    if not empty:
        raise ValueError("the memory fit needs the 'empty' benchmark")
    ths = sorted(empty)
    base = float(empty[ths[0]])
    per_thread = max((empty[ths[-1]] - base) / (ths[-1] - ths[0]), 0.0) if len(ths) > 1 else ORT_DEFAULTS[
        "per_thread_mib"] * MiB
    base -= per_thread * ths[0]
    rows = [p for p in points if p.name != "empty"]
    sess = np.array([p.session_bytes or p.measured_bytes for p in rows], float)
    a = np.array([[p.features[f] for _, f in CREATION_TERMS] for p in rows], float)
    # A weight is resident at least once: the copy constants are fitted as 1 + (excess >= 0).
    floor = np.array([1.0 if k.endswith("_weight_copies") else 0.0 for k, _ in CREATION_TERMS])
    other = np.array([p.features["other"] for p in rows], float)
    y = sess - base - per_thread * np.array([p.threads for p in rows], float) - other - a @ floor
    wgt = 1.0 / sess
    use = np.array([p.name not in exclude for p in rows])
    scale = np.maximum(np.abs(a).max(axis=0), 1.0)
    x = nnls((a / scale * wgt[:, None])[use], (y * wgt)[use]) / scale + floor
    consts = {"base_mib": round(base / MiB, 3), "per_thread_mib": round(per_thread / MiB, 3)}
    for (k, _), v in zip(CREATION_TERMS, x):
        consts[k] = round(float(v * (1 / 1024 if k == "per_node_kib" else 1)), 4)
    meas = np.array([p.measured_bytes for p in rows], float)
    best: tuple = (float("inf"), 0.0, 1.0)
    for retain in np.arange(0.0, 3.0001, 0.05):
        for af in np.arange(0.5, 1.5001, 0.02):
            c = {**consts, "heap_retained_copies": retain, "activation_factor": af}
            r = np.array([predict_peak(p.features, c) for p in rows]) / meas - 1.0
            score = float(np.sum(r ** 2))
            if score < best[0]:
                best = (score, round(float(retain), 3), round(float(af), 3))
    consts["heap_retained_copies"], consts["activation_factor"] = best[1], best[2]
    pred = np.array([predict_peak(p.features, consts) for p in rows])
    err = {f"{p.name}|{p.threads}": float(100 * (pr / p.measured_bytes - 1)) for p, pr in zip(rows, pred)}
    e = np.abs([v for (k, v), u in zip(err.items(), use) if u])
    return MemFit(consts, err, float(np.median(e)), float(e.max()))
