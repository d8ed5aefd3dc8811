"""The Vulkan rows of the benchncnn corpus, and the fit of ncnn-vulkan's portable parameters.

Rows with gpu_device >= 0 are mapped to a GPU processor by measurements/ncnn/devices.csv's
`gpu_processor` column: `PROC` (a processor of the row's `hw` spec), `SPEC:PROC` (a processor of
another spec, e.g. `rockchip_rk3588_vulkan:gpu`), or, for a section whose runs used several GPUs,
`IDX=SPEC:PROC` entries separated by `;` (benchncnn's gpu_device index -> processor). A GPU needs
a `vulkan:` section in its spec (engine/ncnn_vulkan.vk_hw). Quantised networks are not
predicted: ncnn's Vulkan backend runs their int8 layers on the CPU.

Parameters (engine/ncnn_vulkan.VK_PARAM_NAMES) are shared values times a factor per GPU class
(hw/schema.VULKAN_CLASSES) and one per GPU kind (engine/ncnn_vulkan.GPU_KINDS: integrated or
discrete), never per device; in log space log p = g + d[class] + dk[kind], fitted by
Levenberg-Marquardt (lm_solver, shared with the CPU fit) on log network times with ridges
pulling the offsets towards the shared values and a Huber weight on large residuals (one odd
device must not move a class).
Leave-one-device-out refits without each device section, cold-started from the initial values.
"""
from __future__ import annotations

import csv

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..engine.ncnn_vulkan import (GPU_KINDS, NVH, NVP, NVX, VH_BW, VH_CLASS, VH_DISCRETE, VK_FUSION, VK_INIT_LOG,
                                  VK_PARAM_NAMES, VkFit, is_quantised, vk_hw, vk_predict_rows, vk_rows)
from ..errors import AugurError
from ..fileio import atomic_write_text
from ..frontends import load_net
from ..frontends.ncnn import BENCHNCNN_INPUT_SHAPES
from ..hw import load_hw
from ..lowering import lower
from .lm_solver import levenberg_marquardt, onehot
from .ncnn_corpus import MODEL_ALIASES, model_file
from .ncnn_fit import by_name

# Ridge on the class offsets and the Huber threshold on log residuals (the CPU fit's order of
# magnitude; not tuned further). Checked by leave-one-device-out on the Vulkan rows (2026-12-01,
# median |error| / share within 35%, all rows; rows not flagged): ridge 1.0: 36.0% / 49%; 33% / 53%;
# ridge 0.3: 36.0% / 49%; 32.2% / 53%: no difference worth a choice.
RIDGE_CLASS = 1.0
HUBER_LOG = 0.2
# Ridge on the GPU-kind offsets (engine/ncnn_vulkan.GPU_KINDS: integrated or discrete; the figures
# that chose 1 over 10 and over no such level are there).
RIDGE_KIND = 1.0
# Sections whose GPU runs are not what a spec describes: kept in every figure, no weight in the fit.
FLAGGED = {
    "Hyper-V Linux Guest with GPU-PV": "GPU paravirtualised through Hyper-V (GPU-PV): every submission and "
                                       "dispatch crosses the VM boundary",
}


def parse_gpu_map(value: str, hw: str) -> dict:
    """gpu_device index (-1: any) -> (spec, processor) from a devices.csv gpu_processor cell."""
    out: dict = {}
    if not value:
        return out
    for part in value.split(";"):
        part = part.strip()
        idx = -1
        if "=" in part:
            i, part = part.split("=", 1)
            try:
                idx = int(i)
            except ValueError:
                raise AugurError(f"gpu_processor: expected IDX=SPEC:PROC, got {value!r}") from None
        spec, proc = (part.split(":", 1) if ":" in part else (hw, part))
        if not spec or not proc:
            raise AugurError(f"gpu_processor: expected [IDX=][SPEC:]PROC, got {value!r}")
        out[idx] = (spec, proc)
    return out


def _cached(cache: dict, key, make):
    """cache[key], made once as make(key); one that failed is kept as its AugurError (the rows
    that need it are skipped with its reason)."""
    if key not in cache:
        try:
            cache[key] = make(key)
        except AugurError as e:
            cache[key] = e
    return cache[key]


def load_gpu_devices(path) -> dict:
    """section_title -> {gpu_device index: (spec, processor)} from devices.csv."""
    path = Path(path)
    if not path.is_file():
        return {}
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        for line, r in enumerate(csv.DictReader(f), start=2):
            try:
                m = parse_gpu_map((r.get("gpu_processor") or "").strip(), r.get("hw") or "")
            except AugurError as e:
                raise AugurError(str(e), file=str(path), line=line) from None
            if m:
                out[r["section_title"]] = m
    return out


@dataclass
class VkData:
    """Measured Vulkan rows as engine arrays."""
    xall: np.ndarray
    net_start: np.ndarray
    net_stop: np.ndarray
    row_net: np.ndarray
    hws: np.ndarray
    row_class: np.ndarray
    y_ms: np.ndarray
    classes: tuple
    groups: np.ndarray
    group_names: tuple
    row_weight: np.ndarray

    def kind_index(self) -> np.ndarray:
        """[R] index into GPU_KINDS of each row's GPU (integrated 0, discrete 1)."""
        return (self.hws[:, VH_DISCRETE] > 0).astype(np.int64)

    def subset(self, mask) -> VkData:
        return VkData(self.xall, self.net_start, self.net_stop, self.row_net[mask], self.hws[mask],
                      self.row_class[mask], self.y_ms[mask], self.classes, self.groups[mask], self.group_names,
                      self.row_weight[mask])


@dataclass
class VkTable:
    data: VkData
    rows: list                     # CorpusRow per data row
    gpus: list                     # "spec:proc" per data row
    classes: list                  # GPU class per data row
    net_keys: list                 # (model, discrete) per block
    net_algos: list
    skipped: dict = field(default_factory=dict)
    skipped_rows: list = field(default_factory=list)
    flagged: dict = field(default_factory=dict)   # data row index -> reason


def build_vk_table(rows, gpu_devices: dict, models_dir, hw_loader=None) -> VkTable:
    """The Vulkan rows the model can predict, grouped so each network is lowered once per GPU kind."""
    hw_loader = hw_loader or load_hw
    skipped: dict = defaultdict(int)
    skipped_rows = []
    procs: dict = {}
    graphs: dict = {}
    blocks: dict = {}
    xs: list = []
    algos: list = []
    keys: list = []
    keep, hwrows, blk, cls, gpus = [], [], [], [], []
    wbytes: list = []

    def skip(r, why):
        skipped[why] += 1
        skipped_rows.append((r, why))

    for r in rows:
        if r.is_cpu:
            continue
        m = gpu_devices.get(r.device)
        if not m:
            skip(r, "section has no GPU processor in measurements/ncnn/devices.csv")
            continue
        target = m.get(r.gpu_device, m.get(-1))
        if target is None:
            skip(r, f"gpu_device {r.gpu_device} of the section is not mapped (which GPU it was is not known)")
            continue
        hw = _cached(procs, target, lambda t: vk_hw(hw_loader(t[0]).processor(t[1])))
        if isinstance(hw, AugurError):
            skip(r, f"spec {target[0]}: {hw}")
            continue
        model = MODEL_ALIASES.get(r.model, r.model)
        g = _cached(graphs, model, lambda m: load_net(str(model_file(Path(models_dir), m)),
                                                     input_shape=BENCHNCNN_INPUT_SHAPES.get(m)))
        if isinstance(g, AugurError):
            skip(r, f"network {r.model} does not load")
            continue
        if is_quantised(g):
            skip(r, "quantised (int8) network: ncnn's Vulkan backend runs its int8 layers on the CPU")
            continue
        bk = (model, hw.discrete)
        if bk not in blocks:
            low = lower(g, "fp32", VK_FUSION)
            vr = vk_rows(g, low, hw.discrete)
            blocks[bk] = len(xs)
            wbytes.append(float(low.total.weight_elems) * 2.0)
            xs.append(vr.x)
            algos.append(vr.algos)
            keys.append(bk)
        keep.append(r)
        hwrows.append(hw.row)
        blk.append(blocks[bk])
        cls.append(hw.gpu_class)
        gpus.append(f"{target[0]}:{target[1]}")
    classes = tuple(sorted(set(cls)))
    cidx = {c: i for i, c in enumerate(classes)}
    for i, c in enumerate(cls):
        hwrows[i] = hwrows[i].copy()
        hwrows[i][VH_CLASS] = cidx[c]
    sizes = np.array([len(x) for x in xs], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if len(xs) else np.zeros(0, np.int64)
    # A group is a device section and GPU: what leave-one-device-out holds out.
    gkeys = [f"{r.section}:{g}" for r, g in zip(keep, gpus)]
    gnames = tuple(sorted(set(gkeys)))
    gi = {k: i for i, k in enumerate(gnames)}
    flagged = {i: why for i, r in enumerate(keep) for k, why in FLAGGED.items() if r.device.startswith(k)}
    # A run faster than reading the network's weights once (fp16) from DRAM at the spec's peak
    # did not run the network as described (the weights of vgg16 or resnet50 do not fit on chip):
    # every row of such a section weighs nothing.
    bad_sections = {r.section for r, b, h in zip(keep, blk, hwrows) if r.avg_ms * 1e-3 < wbytes[b] / h[VH_BW]}
    for i, r in enumerate(keep):
        if r.section in bad_sections and i not in flagged:
            flagged[i] = ("section has runs faster than reading the network's weights once from DRAM "
                          "(e.g. a large network in under its weight-streaming time): not a full GPU run")
    data = VkData(
        xall=np.vstack(xs) if xs else np.zeros((0, NVX)), net_start=start, net_stop=start + sizes,
        row_net=np.array(blk, dtype=np.int64), hws=np.array(hwrows) if hwrows else np.zeros((0, NVH)),
        row_class=np.array([cidx[c] for c in cls], dtype=np.int64), y_ms=np.array([r.avg_ms for r in keep]),
        classes=classes, groups=np.array([gi[k] for k in gkeys], dtype=np.int64), group_names=gnames,
        row_weight=np.array([0.0 if i in flagged else 1.0 for i in range(len(keep))]))
    return VkTable(data, keep, gpus, cls, keys, algos, dict(skipped), skipped_rows, flagged)


def param_rows(data: VkData, g: np.ndarray, d: np.ndarray, dk: np.ndarray | None = None) -> np.ndarray:
    """[R, NVP] parameter values of each row: shared values times its class's and its GPU kind's
    factors (d [C, NVP], dk [len(GPU_KINDS), NVP] log-offsets in the data's order)."""
    off = np.vstack([d, np.zeros((1, NVP))])[data.row_class] if len(d) else np.zeros((len(data.y_ms), NVP))
    if dk is not None:
        off = off + dk[data.kind_index()]
    return np.exp(g[None, :] + off)


def predict_ms(data: VkData, g: np.ndarray, d: np.ndarray, dk: np.ndarray | None = None) -> np.ndarray:
    return vk_predict_rows(data.xall, data.net_start, data.net_stop, data.row_net, data.hws,
                           param_rows(data, g, d, dk)) * 1e3


def predict_fit(data: VkData, fit: VkFit) -> np.ndarray:
    """Predicted ms of every row under a fit; a class or kind the fit has not seen adds nothing
    (the shared values)."""
    return predict_ms(data, fit.g, by_name(data.classes, fit.classes, fit.d, NVP),
                      by_name(GPU_KINDS, fit.kinds, fit.dk, NVP))


# Parameters that are fractions of a peak (the efficiencies and mem_eff): a fit may not push a
# class above 1. A fraction the data cannot pin down would otherwise drift without bound (the
# direct shader's own efficiency did, to 1 in every class, before it joined the GEMM
# family: engine/ncnn_vulkan.VK_ALGO_FAMILY).
_FRACTIONS = np.array([n.startswith("eff_") or n == "mem_eff" for n in VK_PARAM_NAMES])


def _bounded(B: np.ndarray) -> np.ndarray:
    """B with every offset's log-fraction (shared + that offset) at most 0. A class and a kind
    offset together may still pass 1: the engine caps every fraction at 1 (vk_kernel_time)."""
    B = B.copy()
    B[0, _FRACTIONS] = np.minimum(B[0, _FRACTIONS], 0.0)
    if len(B) > 1:
        B[1:, _FRACTIONS] = np.minimum(B[1:, _FRACTIONS], -B[0, _FRACTIONS][None, :])
    return B


def fit(data: VkData, lam: float = RIDGE_CLASS, huber: float = HUBER_LOG, iters: int = 60,
        tol: float = 1e-6, lam_kind: float = RIDGE_KIND) -> VkFit:
    """Levenberg-Marquardt on log-time residuals over [g; d; dk] (see the module docstring), by
    the solver the CPU fit uses (lm_solver.levenberg_marquardt). Two levels of offsets on the
    shared values: the GPU class's (ridge lam) and the GPU kind's (integrated or discrete, ridge
    lam_kind; engine/ncnn_vulkan.GPU_KINDS). The Jacobian is exact in structure: a row's time
    depends only on its own log-parameters (g + d[class] + dk[kind]), so NVP finite-difference
    sweeps of the engine give every column. An offset with no weighted row stays at 0; every
    trial step is projected so no class's efficiency exceeds 1 (_bounded)."""
    C = len(data.classes)
    K = len(GPU_KINDS)
    w_row = data.row_weight
    Z = np.hstack([np.ones((len(data.y_ms), 1)), onehot(data.row_class, C), onehot(data.kind_index(), K)])
    present: np.ndarray = np.asarray((Z[w_row > 0] > 0).any(axis=0))
    present[0] = True
    B = np.zeros((1 + C + K, NVP))
    B[0] = VK_INIT_LOG
    pen = np.array([0.0] + [lam] * C + [lam_kind] * K)
    ly = np.log(data.y_ms)

    def resid(LP):
        return np.log(vk_predict_rows(data.xall, data.net_start, data.net_stop, data.row_net, data.hws,
                                      np.exp(LP)) * 1e3) - ly

    # Damping floor and tries per iteration as the Vulkan fit has always used them (the CPU
    # fit's are 1e-6 and 8).
    out = levenberg_marquardt(resid, Z, B, pen, present, w_row, huber, iters, tol, mu_min=1e-7, tries=10,
                              project=_bounded)
    B, r, it = out.B, out.resid, out.iterations
    ok = w_row > 0
    rms = float(np.sqrt(np.mean(r[ok] ** 2))) if ok.any() else float("nan")
    keep = [c for c in range(C) if present[1 + c]]
    kinds = [k for k in range(K) if present[1 + C + k]]
    return VkFit(B[0].copy(), B[1 + np.array(keep, dtype=np.int64)].reshape(len(keep), NVP).copy(),
                 tuple(data.classes[c] for c in keep), rms, it, int(ok.sum()),
                 B[1 + C + np.array(kinds, dtype=np.int64)].reshape(len(kinds), NVP).copy() if kinds else None,
                 tuple(GPU_KINDS[k] for k in kinds))


def loo(data: VkData, **kw) -> np.ndarray:
    """Leave-one-device-out: each group's rows predicted by a cold-started fit without them."""
    pred = np.full(len(data.y_ms), np.nan)
    for gi in np.unique(data.groups):
        test = data.groups == gi
        res = fit(data.subset(~test), **kw)
        pred[test] = predict_fit(data.subset(test), res)
    return pred


def write_vk_fit(path, res: VkFit, provenance: dict) -> None:
    """Write the fit as YAML (atomically), with its provenance."""

    def vals(lp):
        return {n: float(f"{float(np.exp(v)):.6g}") for n, v in zip(VK_PARAM_NAMES, lp)}
    doc = {"name": "ncnn-vulkan", **provenance, "default": vals(res.g),
           "classes": {c: vals(res.g + res.d[i]) for i, c in enumerate(res.classes)}}
    if res.dk is not None:
        # Factors on top of the class's values (engine/ncnn_vulkan.VkFit.params multiplies them in).
        doc["gpu_kinds"] = {k: vals(res.dk[i]) for i, k in enumerate(res.kinds)}
    atomic_write_text(Path(path), "# written by scripts/accuracy_ncnn_vulkan.py "
                      "(augur_sim/measure/ncnn_vulkan_fit.py); do not edit by hand\n"
                      + yaml.safe_dump(doc, sort_keys=False, width=120))
