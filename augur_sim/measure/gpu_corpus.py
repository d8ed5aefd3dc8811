"""The NeuSight GPU kernel corpus (../shared/corpora/neusight/, SOURCES.md there) as kernel rows.

Each measurement becomes one row in the lowering's column layout (augur_sim/lowering.py), so
the fit and the accuracy report cost exactly what a network's kernels cost. Rows are built
with numpy from the op's dimensions (not through the layer graph: 250k one-layer graphs
would take minutes); tests/test_gpu_kernels.py checks a few against the real lowering.

What the corpus timed (SOURCES.md): PyTorch 2.1 fp32 ops with CUDA events, one op at a time:
conv = nn.Conv2d(bias=False); linear = (B, M, N) through nn.Linear(N, K) (one addmm: the
bias is in the GEMM); bmm = (B, M, N) @ (B, N, K); element-wise on (B, H).
"""
from __future__ import annotations

import csv
import re
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..conventions import DEFAULT
from ..engine.gpu_algos import (
    ALGO_GEMM,
    ALGO_IGEMM,
    ALGO_STREAM,
    ALGO_WINO_FUSED,
    ALGO_WINO_NONFUSED,
    SGEMM_TILES,
)
from ..errors import AugurError
from ..lowering import (
    C_BATCH,
    C_CH,
    C_CLS,
    C_ELEM_BYTES,
    C_FLOPS,
    C_GCOUNT,
    C_HIN,
    C_HOUT,
    C_IM2COL,
    C_IN_BYTES,
    C_K,
    C_KH,
    C_KW,
    C_M,
    C_N,
    C_OUT_BYTES,
    C_POW,
    C_REDUCE,
    C_SH,
    C_SW,
    C_TRANS,
    C_W_BYTES,
    C_WIN,
    C_WOUT,
    C_WSHARED,
    GEMM,
    NCOLS,
    STREAM,
)

# Corpus device name -> hardware spec (hwspecs/).
DEVICES = {
    "Tesla P100-PCIE-16GB": "nvidia_p100_pcie_16gb",
    "Tesla P4": "nvidia_p4",
    "Tesla T4": "nvidia_t4",
    "Tesla V100-PCIE-32GB": "nvidia_v100_pcie_32gb",
    "NVIDIA A100-PCIE-40GB": "nvidia_a100_pcie_40gb",
}
ELTWISE_BINARY = ("add", "mul", "div", "pow")
ELTWISE_SCALAR = ("addu", "mulu", "divu", "powu")
ACTS = ("relu", "gelu", "tanh")
OPS = ("conv", "linear", "bmm") + ELTWISE_BINARY + ELTWISE_SCALAR + ACTS + ("softmax", "ln")
# Op class of the accuracy targets.
OP_CLASS = {"conv": "conv", "linear": "linear/bmm", "bmm": "linear/bmm", "softmax": "softmax/ln",
            "ln": "softmax/ln", **{o: "element-wise" for o in ELTWISE_BINARY + ELTWISE_SCALAR + ACTS}}
MAX_DIM = 1 << 24


@dataclass(frozen=True)
class Corpus:
    op: np.ndarray           # op name per row
    device: np.ndarray       # hardware spec name per row
    latency_s: np.ndarray
    kernel: np.ndarray       # main kernel's name
    dims: list               # per row: dict of the op's dimensions
    rows: np.ndarray         # [n, NCOLS] lowered-style kernel rows
    algo: np.ndarray         # algorithm the kernel name shows (gpu_algos.ALGO_*)
    grid: np.ndarray         # [n, 3] the main kernel's CUDA grid (x, y, z)

    def take(self, idx) -> Corpus:
        idx = np.asarray(idx)
        return Corpus(self.op[idx], self.device[idx], self.latency_s[idx], self.kernel[idx],
                      [self.dims[i] for i in idx], self.rows[idx], self.algo[idx], self.grid[idx])


def corpus_dir(shared: Path) -> Path:
    return Path(shared) / "corpora" / "neusight"


def kernel_algo(op: str, kernel: str) -> int:
    """Which algorithm the profiled main kernel shows (the corpus' census, docs/ACCURACY_GPU_KERNELS.md)."""
    if op != "conv":
        return ALGO_GEMM if op in ("linear", "bmm") else ALGO_STREAM
    k = kernel.lower()
    if "winograd" in k:
        return ALGO_WINO_FUSED
    if "sgemm_" in k and "convolve" not in k:
        return ALGO_WINO_NONFUSED      # batched sgemm over 36 transformed positions
    return ALGO_IGEMM


def _int(v: str, what: str, path: Path, line: int, lo: int = 1) -> int:
    try:
        x = int(float(v))
    except ValueError:
        raise AugurError(f"{what}: expected a number, got {v!r}", file=str(path), line=line) from None
    if x < lo or x > MAX_DIM:
        raise AugurError(f"{what}: expected {lo}..{MAX_DIM}, got {x}", file=str(path), line=line)
    return x


def _grid(rec: dict, col: str) -> int:
    try:
        return max(int(float(rec.get(col) or 1)), 1)
    except ValueError:
        return 1


def _dims(op: str, rec: dict, path: Path, line: int) -> dict:
    """The op's dimensions from a record with the corpus' column names."""
    if op == "conv":
        dims = {k: _int(rec[c], c, path, line) for k, c in
                (("B", "B"), ("cin", "Input_Channel"), ("cout", "Output_Channel"),
                 ("k", "Kernel_Szie"), ("h", "Input_Size"), ("s", "Stride"))}
        dims["pad"] = _int(str(rec["Padding"]), "Padding", path, line, lo=0)
        return dims
    if op in ("linear", "bmm"):
        return {k: _int(rec[k], k, path, line) for k in ("B", "M", "N", "K")}
    return {k: _int(rec[k], k, path, line) for k in ("B", "H")}


def _corpus(recs: list) -> Corpus:
    rows = np.array([kernel_row(r["op"], r["dims"]) for r in recs]).reshape(-1, NCOLS)
    return Corpus(op=np.array([r["op"] for r in recs]), device=np.array([r["device"] for r in recs]),
                  latency_s=np.array([r["latency_s"] for r in recs]),
                  kernel=np.array([r["kernel"] for r in recs]), dims=[r["dims"] for r in recs],
                  rows=rows, algo=np.array([kernel_algo(r["op"], r["kernel"]) for r in recs],
                                           dtype=np.int64),
                  grid=np.array([r["grid"] for r in recs], dtype=np.int64).reshape(-1, 3))


def load_measured(path: Path, device: str) -> Corpus:
    """Corpus shapes timed elsewhere the way the corpus did (scripts/gpu_corpus_measure.py:
    the corpus' dimension columns, `op`, `latency_ms`, optionally `kernel`), on `device`."""
    path = Path(path)
    if not path.is_file():
        raise AugurError(f"measurement file {path} not found")
    recs = []
    with open(path, newline="") as f:
        for line, rec in enumerate(csv.DictReader(f), 2):
            op = rec.get("op", "")
            if op not in OPS:
                raise AugurError(f"op: expected one of {', '.join(OPS)}, got {op!r}", file=str(path), line=line)
            try:
                lat = float(rec["latency_ms"])
            except (TypeError, ValueError):
                raise AugurError(f"latency_ms: expected a number, got {rec.get('latency_ms')!r}",
                                 file=str(path), line=line) from None
            if not 0 < lat < 1e6:
                raise AugurError(f"latency_ms: expected a positive time, got {lat}", file=str(path), line=line)
            recs.append({"op": op, "device": device, "latency_s": lat * 1e-3,
                         "kernel": rec.get("kernel") or "", "dims": _dims(op, rec, path, line),
                         "grid": [1, 1, 1]})
    return _corpus(recs)


def read_op(root: Path, op: str) -> list[dict]:
    path = Path(root) / f"{op}.csv.gz"
    if not path.is_file():
        raise AugurError(f"corpus file {path} not found")
    out = []
    with gzip.open(path, "rt", newline="") as f:
        rd = csv.DictReader(f)
        for line, rec in enumerate(rd, 2):
            dev = rec["Device"]
            if dev not in DEVICES:
                continue
            lat = float(rec["Latency"])
            if not lat > 0:
                continue
            out.append({"op": op, "device": DEVICES[dev], "latency_s": lat * 1e-3,
                        "kernel": rec["Kernel Name"], "dims": _dims(op, rec, path, line),
                        "grid": [_grid(rec, c) for c in ("Grid x", "Grid y", "Grid z")]})
    return out


def kernel_row(op: str, d: dict) -> np.ndarray:
    """One lowered-style row for one corpus op (fp32, 4-byte elements)."""
    eb = 4.0
    r = np.zeros(NCOLS)
    r[C_ELEM_BYTES] = eb
    if op == "conv":
        b, cin, cout, k, h, s, p = d["B"], d["cin"], d["cout"], d["k"], d["h"], d["s"], d["pad"]
        ho = (h + 2 * p - k) // s + 1
        r[C_CLS] = GEMM
        r[C_M], r[C_K], r[C_N], r[C_GCOUNT] = cout, cin * k * k, ho * ho, b
        r[C_CH], r[C_KH], r[C_KW] = cin, k, k
        r[C_HIN] = r[C_WIN] = h
        r[C_HOUT] = r[C_WOUT] = ho
        r[C_SH] = r[C_SW] = s
        r[C_BATCH] = b
        r[C_WSHARED] = 1.0
        r[C_IM2COL] = 0.0 if (k == 1 and s == 1 and p == 0) else 1.0
        r[C_FLOPS] = 2.0 * b * cout * ho * ho * cin * k * k
        r[C_IN_BYTES] = b * cin * h * h * eb
        r[C_OUT_BYTES] = b * cout * ho * ho * eb
        r[C_W_BYTES] = cout * cin * k * k * eb
        return r
    if op == "linear":
        rows_, n_in, n_out = d["B"] * d["M"], d["N"], d["K"]
        r[C_CLS] = GEMM
        r[C_M], r[C_K], r[C_N], r[C_GCOUNT] = n_out, n_in, rows_, 1
        r[C_WSHARED] = 1.0
        r[C_FLOPS] = 2.0 * rows_ * n_in * n_out + rows_ * n_out
        r[C_IN_BYTES] = rows_ * n_in * eb
        r[C_OUT_BYTES] = rows_ * n_out * eb
        r[C_W_BYTES] = (n_in * n_out + n_out) * eb
        return r
    if op == "bmm":
        b, m, n, k = d["B"], d["M"], d["N"], d["K"]
        r[C_CLS] = GEMM
        r[C_M], r[C_K], r[C_N], r[C_GCOUNT] = m, n, k, b
        r[C_FLOPS] = 2.0 * b * m * n * k
        r[C_IN_BYTES] = b * (m * n + n * k) * eb
        r[C_OUT_BYTES] = b * m * k * eb
        return r
    n = float(d["B"] * d["H"])
    r[C_CLS] = STREAM
    r[C_OUT_BYTES] = n * eb
    r[C_IN_BYTES] = (2.0 if op in ELTWISE_BINARY else 1.0) * n * eb
    if op in ELTWISE_BINARY + ELTWISE_SCALAR:
        r[C_FLOPS] = n * DEFAULT.eltwise_flops_per_input
        if op.startswith("pow"):
            r[C_POW] = n
    elif op in ACTS:
        r[C_FLOPS] = n * DEFAULT.act_flops[op]
        r[C_TRANS] = n if op in ("gelu", "tanh") else 0.0
    elif op == "softmax":
        r[C_FLOPS] = n * DEFAULT.softmax_flops_per_elem
        r[C_TRANS] = n
        r[C_REDUCE] = 1.0
    elif op == "ln":
        r[C_FLOPS] = n * DEFAULT.layernorm_flops_per_elem
        r[C_W_BYTES] = 2.0 * d["H"] * eb
        r[C_REDUCE] = 1.0
    else:
        raise AugurError(f"unknown corpus op {op!r}")
    return r


def load(root: Path, ops=OPS, per_op_device: int | None = None, seed: int = 0) -> Corpus:
    """The corpus' rows for `ops`; with per_op_device, a fixed random sample (numpy
    default_rng(seed)) of at most that many rows per (op, device)."""
    rng = np.random.default_rng(seed)
    recs = []
    for op in ops:
        got = read_op(root, op)
        if per_op_device is not None:
            by_dev: dict = {}
            for i, rec in enumerate(got):
                by_dev.setdefault(rec["device"], []).append(i)
            keep = []
            for dev in sorted(by_dev):
                idx = by_dev[dev]
                if len(idx) > per_op_device:
                    idx = sorted(rng.choice(idx, per_op_device, replace=False).tolist())
                keep += idx
            got = [got[i] for i in keep]
        recs += got
    return _corpus(recs)



_TILE_RE = re.compile(r"sgemm_(\d+)x(\d+)")


def gemm_choice(op: str, kernel: str, grid, dims: dict) -> tuple[int, int]:
    """(index into gpu_algos.SGEMM_TILES, split-K) of the cuBLAS kernel the corpus saw, in the
    model's orientation; (-1, 0) when the name shows no sgemm tile. cuBLAS is column-major:
    PyTorch's linear asks for out_features x rows (the model's M x N, so the tile reads
    as is), bmm for K x M per batch (the model's N x M: the tile is swapped). For a linear,
    grid z is the split-K factor; for bmm it is the batch."""
    m = _TILE_RE.search(kernel)
    if op not in ("linear", "bmm") or m is None:
        return -1, 0
    a, b = float(m.group(1)), float(m.group(2))
    tm, tn = (a, b) if op == "linear" else (b, a)
    hit = np.flatnonzero((SGEMM_TILES[:, 0] == tm) & (SGEMM_TILES[:, 1] == tn))
    if hit.size == 0:
        return -1, 0
    split = int(grid[2]) if op == "linear" else max(int(grid[2]) // int(dims["B"]), 1)
    return int(hit[0]), max(min(split, 99), 1)
