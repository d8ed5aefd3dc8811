"""The benchncnn corpus (../shared/corpora/ncnn): rows, device map, and the fit/predict table.

`benchncnn_train.csv` has one row per (device section, threads, powersave, gpu_device,
model) with benchncnn's min/max/avg milliseconds. `measurements/ncnn/devices.csv` maps a
section's heading to a hardware spec. `build_table` groups the rows so every network is
loaded and lowered once per architecture family and every (device, cores, threads) placed
once, and returns the arrays the numba engine evaluates in one call (ncnn_fit.FitData).
"""
from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine.ncnn_algos import NCNN_FUSION, NX, ncnn_rows
from ..engine.ncnn_cost import NN
from ..engine.ncnn_hw import ncnn_hw, with_net
from ..errors import AugurError
from ..frontends import load_net
from ..frontends.ncnn import BENCHNCNN_INPUT_SHAPES
from ..hw import load_hw
from ..lowering import lower
from .ncnn_fit import FitData

POWERSAVE_CORES = {0: "all", 1: "little", 2: "big"}
CORPUS_COLUMNS = ("section", "device", "threads", "powersave", "gpu_device", "model", "min_ms", "max_ms",
                  "avg_ms")
MAX_THREADS = 4096


@dataclass(frozen=True)
class CorpusRow:
    section: int
    device: str
    threads: int
    powersave: int
    gpu_device: int
    model: str
    min_ms: float
    max_ms: float
    avg_ms: float
    line: int

    @property
    def cores(self) -> str:
        return POWERSAVE_CORES[self.powersave]

    @property
    def is_cpu(self) -> bool:
        return self.gpu_device < 0


def _int(v, path, line, col, lo, hi):
    try:
        x = int(v)
    except (TypeError, ValueError):
        raise AugurError(f"column {col}: expected an integer, got {v!r}", file=str(path), line=line)
    if not lo <= x <= hi:
        raise AugurError(f"column {col}: {x} outside [{lo}, {hi}]", file=str(path), line=line)
    return x


def _ms(v, path, line, col):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise AugurError(f"column {col}: expected milliseconds, got {v!r}", file=str(path), line=line)
    if not (x > 0 and x < 1e7):
        raise AugurError(f"column {col}: {x} ms is not a positive time below 10^7 ms", file=str(path), line=line)
    return x


def load_corpus(path) -> list[CorpusRow]:
    """Every row of a benchncnn CSV; a malformed row is a one-line located error."""
    path = Path(path)
    if not path.is_file():
        raise AugurError("corpus file not found", file=str(path))
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        missing = [c for c in CORPUS_COLUMNS if c not in (rd.fieldnames or ())]
        if missing:
            raise AugurError(f"missing column(s) {', '.join(missing)}; expected {', '.join(CORPUS_COLUMNS)}",
                             file=str(path), line=1)
        for i, r in enumerate(rd, start=2):
            rows.append(CorpusRow(
                section=_int(r["section"], path, i, "section", 0, 10**6),
                device=r["device"] or "", threads=_int(r["threads"], path, i, "threads", 1, MAX_THREADS),
                powersave=_int(r["powersave"], path, i, "powersave", 0, 2),
                # Old benchncnn output (before Vulkan) has no GPU field: a CPU row.
                gpu_device=_int(r["gpu_device"] or "-1", path, i, "gpu_device", -1, 64),
                model=r["model"] or "", min_ms=_ms(r["min_ms"], path, i, "min_ms"),
                max_ms=_ms(r["max_ms"], path, i, "max_ms"), avg_ms=_ms(r["avg_ms"], path, i, "avg_ms"),
                line=i))
    return rows


def load_devices(path) -> dict:
    """section_title -> (hw spec name, cpu_processor) from measurements/ncnn/devices.csv."""
    path = Path(path)
    if not path.is_file():
        return {}
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        if "section_title" not in (rd.fieldnames or ()) or "hw" not in (rd.fieldnames or ()):
            raise AugurError("expected columns section_title, hw, cpu_processor, gpu_processor",
                             file=str(path), line=1)
        for r in rd:
            if r.get("hw"):
                out[r["section_title"]] = (r["hw"], r.get("cpu_processor") or None)
    return out


@dataclass
class CorpusTable:
    """The corpus rows the model can predict, as engine arrays, plus why the others cannot."""
    data: object                              # ncnn_fit.FitData
    rows: list                                # CorpusRow per data row
    hw_names: list                            # spec name per data row
    isa: list                                 # isa class per data row
    archs: list                               # architecture family per data row
    cores: list                               # core design of the slowest thread per data row
    fams: list                                # its pipeline family per data row
    net_keys: list                            # (model, arch) per network block
    net_algos: list                           # algorithm names per network block
    skipped: dict = field(default_factory=dict)   # reason -> count
    skipped_rows: list = field(default_factory=list)
    anomalies: dict = field(default_factory=dict)  # data row index -> why it weighs nothing in the fit


# Inputs benchncnn feeds every model (benchmark/benchncnn.cpp, main: each model is benchmarked
# with a fixed ncnn::Mat(w, h, c)); one table, kept with the ncnn frontend. FastestDet and
# vision_transformer declare no input shape; the other files agree with it.
BENCHNCNN_INPUT = BENCHNCNN_INPUT_SHAPES
# Older README sections name a few models differently from today's files.
MODEL_ALIASES = {"squeezenet-int8": "squeezenet_int8", "squeezenet-ssd": "squeezenet_ssd",
                 "mobilenet-ssd": "mobilenet_ssd", "mobilenet-yolo": "mobilenet_yolo",
                 "mobilenet_yolov3": "mobilenetv2_yolov3"}


def model_file(models_dir: Path, model: str) -> Path:
    return Path(models_dir) / f"{MODEL_ALIASES.get(model, model)}.param"


def _graph_loader(models_dir: Path):
    cache: dict = {}

    def get(model: str):
        if model not in cache:
            p = model_file(models_dir, model)
            try:
                shape = BENCHNCNN_INPUT.get(MODEL_ALIASES.get(model, model))
                cache[model] = load_net(str(p), input_shape=shape)
            except AugurError as e:
                cache[model] = e
            except Exception as e:  # noqa: BLE001 - a frontend bug must not stop the harness
                cache[model] = AugurError(f"{type(e).__name__}: {e}", file=str(p))
        return cache[model]
    return get


def build_table(rows, devices: dict, models_dir, classes=None, hw_loader=None) -> CorpusTable:
    """Group CPU rows by network and by run configuration; see the module docstring."""
    hw_loader = hw_loader or load_hw
    graph = _graph_loader(Path(models_dir))
    skipped: dict = defaultdict(int)
    skipped_rows = []
    devs: dict = {}
    confs: dict = {}
    blocks: dict = {}
    xs: list = []
    algos: list = []
    keys: list = []
    keep, hwrows, blk, isa, archs, hw_names, core_names, fam_names = [], [], [], [], [], [], [], []

    def skip(r, why):
        skipped[why] += 1
        skipped_rows.append((r, why))

    for r in rows:
        if not r.is_cpu:
            skip(r, "Vulkan GPU row (no ncnn-vulkan runtime)")
            continue
        if r.device not in devices:
            skip(r, "device section has no spec in measurements/ncnn/devices.csv")
            continue
        hw_name, cpu_name = devices[r.device]
        if hw_name not in devs:
            try:
                dev = hw_loader(hw_name)
                proc = dev.processor(cpu_name) if cpu_name else next(
                    p for p in dev.processors.values() if p.kind == "cpu")
                devs[hw_name] = proc
            except (AugurError, StopIteration) as e:
                devs[hw_name] = AugurError(str(e) or "no CPU processor")
        proc = devs[hw_name]
        if isinstance(proc, AugurError):
            skip(r, f"spec {hw_name}: {proc}")
            continue
        ck = (hw_name, r.cores, r.threads)
        if ck not in confs:
            try:
                confs[ck] = ncnn_hw(proc, r.cores, r.threads)
            except AugurError as e:
                confs[ck] = e
        hw = confs[ck]
        if isinstance(hw, AugurError):
            skip(r, f"placement: {hw}")
            continue
        g = graph(r.model)
        if isinstance(g, AugurError):
            skip(r, f"network {r.model} does not load")
            continue
        bk = (r.model, hw.arch)
        if bk not in blocks:
            low = lower(g, "fp32", NCNN_FUSION)
            nr = ncnn_rows(g, low, hw.arch)
            blocks[bk] = (len(xs), float(low.total.weight_elems))
            xs.append(nr.x)
            algos.append(nr.algos)
            keys.append(bk)
        bi, wel = blocks[bk]
        keep.append(r)
        hwrows.append(with_net(hw.row, wel))
        blk.append(bi)
        isa.append(hw.isa_class)
        archs.append(hw.arch)
        hw_names.append(hw_name)
        core_names.append(hw.caps.design or hw.caps.name)
        fam_names.append(hw.caps.family)
    if classes is None:
        classes = tuple(sorted(set(isa)))
    cidx = {c: i for i, c in enumerate(classes)}
    core_list = tuple(sorted(set(core_names)))
    core_idx = {c: i for i, c in enumerate(core_list)}
    fam_list = tuple(sorted(set(fam_names)))
    fam_idx = {c: i for i, c in enumerate(fam_list)}
    anomalies = thread_anomalies(keep)
    sizes = np.array([len(x) for x in xs], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if len(xs) else np.zeros(0, np.int64)
    dev_names = sorted({r.device for r in keep})
    gidx = {d: i for i, d in enumerate(dev_names)}
    data = FitData(
        xall=np.vstack(xs) if xs else np.zeros((0, NX)), net_start=start, net_stop=start + sizes,
        row_net=np.array(blk, dtype=np.int64), hws=np.array(hwrows) if hwrows else np.zeros((0, NN)),
        row_class=np.array([cidx.get(c, -1) for c in isa], dtype=np.int64),
        y_ms=np.array([r.avg_ms for r in keep]), classes=tuple(classes),
        groups=np.array([gidx[r.device] for r in keep], dtype=np.int64), group_names=tuple(dev_names),
        row_core=np.array([core_idx[c] for c in core_names], dtype=np.int64), cores=core_list,
        row_fam=np.array([fam_idx[c] for c in fam_names], dtype=np.int64), fams=fam_list,
        row_weight=np.array([0.0 if i in anomalies else 1.0 for i in range(len(keep))]))
    return CorpusTable(data, keep, hw_names, isa, archs, core_names, fam_names, keys, algos, dict(skipped),
                       skipped_rows, anomalies)


# A run with more threads on the same device is slower than its single-thread run by more
# than this factor: not what splitting a layer over more cores does (per-layer fork costs
# add microseconds, not multiples), but what a throttled, busy or oversubscribed system does
# (e.g. 12 threads on a 12-core big.LITTLE part running regnety 35x slower than 1 thread).
ANOMALY_SLOWDOWN = 3.0
# A whole configuration (device section, core set, thread count) whose networks are, at the
# median, slower than their single-thread runs: the threads did not get cores of their own
# (a busy or oversubscribed system), not a property of ncnn or of the cores. In the corpus
# the configurations split cleanly: three sit at 2.1x-5.3x the single-thread median, every
# other at or below 0.77x.
ANOMALY_CONFIG_SLOWDOWN = 1.0
# A whole configuration whose networks are, at the median, this much slower than with half
# the threads on the same device section and core set: doubling the threads nearly doubled
# the time, which splitting layers does not do (the extra threads add fork and barrier costs
# of microseconds per layer), but threads that lose their cores to the rest of the system do
# (every core of the machine busy, the OS and the benchmark's other threads preempting one of
# them at each barrier). In the corpus the median ratio of the 36 (T, T/2) configuration
# pairs is at most 1.30 (64 vs 32 threads on a 64-vCPU VM) but for one, 1.92 (64 vs 32
# threads on a 64-core server).
ANOMALY_DOUBLING_SLOWDOWN = 1.5


def thread_anomalies(rows) -> dict:
    """Rows (index -> reason) that are slower with more threads than with one, by more than
    ANOMALY_SLOWDOWN, on the same device section and network, and every row of a configuration
    whose median network is slower than with one thread (ANOMALY_CONFIG_SLOWDOWN) or than with
    half the threads by ANOMALY_DOUBLING_SLOWDOWN. They stay
    in the corpus and in every accuracy figure; the fit gives them no weight so they cannot
    bend shared values."""
    single: dict = {}
    for r in rows:
        if r.threads == 1:
            key = (r.section, r.device, r.model)
            single[key] = min(single.get(key, float("inf")), r.avg_ms)
    ratios: dict = defaultdict(list)
    for r in rows:
        t1 = single.get((r.section, r.device, r.model))
        if r.threads > 1 and t1 is not None:
            ratios[(r.section, r.device, r.powersave, r.threads)].append(r.avg_ms / t1)
    conf_median = {k: float(np.median(v)) for k, v in ratios.items()}
    by_threads = {(r.section, r.device, r.powersave, r.model, r.threads): r.avg_ms for r in rows}
    halves: dict = defaultdict(list)
    for (sec, dev, ps, model, T), ms in by_threads.items():
        half = by_threads.get((sec, dev, ps, model, T // 2)) if T % 2 == 0 else None
        if half is not None:
            halves[(sec, dev, ps, T)].append(ms / half)
    half_median = {k: float(np.median(v)) for k, v in halves.items() if len(v) >= 5}
    out = {}
    for i, r in enumerate(rows):
        t1 = single.get((r.section, r.device, r.model))
        med = conf_median.get((r.section, r.device, r.powersave, r.threads))
        hmed = half_median.get((r.section, r.device, r.powersave, r.threads))
        if r.threads > 1 and t1 is not None and r.avg_ms > ANOMALY_SLOWDOWN * t1:
            out[i] = (f"{r.threads} threads take {r.avg_ms / t1:.1f}x the single-thread time "
                      f"({r.avg_ms:.1f} ms vs {t1:.1f} ms)")
        elif med is not None and med > ANOMALY_CONFIG_SLOWDOWN:
            out[i] = (f"{r.threads} threads ({r.cores}): this configuration's networks take {med:.1f}x their "
                      f"single-thread time at the median")
        elif hmed is not None and hmed > ANOMALY_DOUBLING_SLOWDOWN:
            out[i] = (f"{r.threads} threads ({r.cores}): this configuration's networks take {hmed:.1f}x their "
                      f"time with {r.threads // 2} threads at the median")
    return out
