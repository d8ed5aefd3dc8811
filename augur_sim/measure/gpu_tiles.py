"""cuBLAS's sgemm tile and split-K choice as data, learned from the corpus' kernel names.

cuBLAS picks one of a few CTA tiles (its kernel names say which: maxwell_sgemm_64x64_tn,
volta_sgemm_128x32_sliced1x4_tn, ...) and, for a linear layer, a split-K factor (the kernel's
grid z) from the GEMM's shape with a heuristic of its own that is not the fastest candidate
(the corpus shows e.g. 64x64 tiles reaching a third less of peak than the 128x64 the model
would pick). The fit costs every training row with the tile and split its kernel shows
(`corpus_forces`); a prediction looks the choice up here, in a table from the training GPUs'
rows of the same compute-capability major (`Table`, `table_forces`): shape bins of one
octave in M, N, K and the GEMM count, the most frequent (tile, split) of the cell. A GPU whose
major has no table, or a shape whose cell is empty, takes the model's fastest candidate.

The force codes go to engine/gpu_algos.kernel_time: 1000 + 100 * tile index + split.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from ..engine.gpu_algos import FORCE_GEMM
from ..lowering import C_GCOUNT, C_K, C_M, C_N
from .gpu_corpus import gemm_choice


def arch_major(arch: str) -> str:
    """'sm_61' -> 'sm_6': the cuBLAS kernel family follows the compute-capability major
    (the corpus: maxwell_* kernels on sm_60 and sm_61, volta_* on sm_70 and sm_75)."""
    return arch[:-1] if arch.startswith("sm_") and len(arch) >= 5 else arch


def _cell(row) -> tuple[int, ...]:
    """One-octave bins of M, N, K and the GEMM count."""
    return tuple(int(np.floor(np.log2(max(row[c], 1.0)))) for c in (C_M, C_N, C_K, C_GCOUNT))


def encode(tile: int, split: int) -> int:
    return FORCE_GEMM + 100 * tile + split


def corpus_forces(corpus) -> np.ndarray:
    """Per row: the force code of the kernel the corpus saw (-1: not an sgemm row)."""
    out = np.full(len(corpus.op), -1, dtype=np.int64)
    for i in range(len(corpus.op)):
        ti, sp = gemm_choice(corpus.op[i], corpus.kernel[i], corpus.grid[i], corpus.dims[i])
        if ti >= 0:
            out[i] = encode(ti, sp)
    return out


@dataclass(frozen=True)
class Table:
    cells: dict          # (major, bin M, bin N, bin K, bin count) -> force code
    rows: int            # training rows it was built from
    devices: tuple       # training GPUs

    def majors(self) -> set:
        return {k[0] for k in self.cells}


def build(corpus, arch_of) -> Table:
    """The table from the corpus' sgemm rows; arch_of(device) -> 'sm_XY'."""
    codes = corpus_forces(corpus)
    votes: dict = collections.defaultdict(collections.Counter)
    n = 0
    for i in np.flatnonzero(codes >= 0):
        votes[(arch_major(arch_of(corpus.device[i])),) + _cell(corpus.rows[i])][int(codes[i])] += 1
        n += 1
    # Ties go to the smallest code: deterministic.
    cells = {k: min(c, key=lambda code: (-c[code], code)) for k, c in votes.items()}
    return Table(cells, n, tuple(sorted(set(corpus.device[codes >= 0].tolist()))))


def table_forces(corpus, table: Table, arch_of, majors=None) -> np.ndarray:
    """Per row: the table's choice for the row's GPU (-1: the model's fastest candidate).
    majors: the compute-capability majors the table is trusted for (None: all it has)."""
    out = np.full(len(corpus.op), -1, dtype=np.int64)
    for i in range(len(corpus.op)):
        if corpus.op[i] not in ("linear", "bmm"):
            continue
        major = arch_major(arch_of(corpus.device[i]))
        if majors is not None and major not in majors:
            continue
        code = table.cells.get((major,) + _cell(corpus.rows[i]))
        if code is not None:
            out[i] = code
    return out


def agreement_by_major(corpus, arch_of) -> dict:
    """{major: (sgemm rows, rows where the table of the major's other GPUs names the same
    tile and split)}: how far cuBLAS's choice carries from one GPU of a major to another
    (kernel names only, no latencies). A major with one GPU has no entry."""
    truth = corpus_forces(corpus)
    devs = sorted(set(corpus.device[truth >= 0].tolist()))
    out: dict = {}
    for dev in devs:
        major = arch_major(arch_of(dev))
        others = [d for d in devs if d != dev and arch_major(arch_of(d)) == major]
        if not others:
            continue
        tab = build(corpus.take(np.flatnonzero(np.isin(corpus.device, others))), arch_of)
        held = corpus.take(np.flatnonzero((corpus.device == dev) & (truth >= 0)))
        f = table_forces(held, tab, arch_of)
        n, same = out.get(major, (0, 0))
        out[major] = (n + len(held.op), same + int(np.sum(f == truth[(corpus.device == dev) & (truth >= 0)])))
    return out


def trusted_majors(agreement: dict, min_share: float = 0.5) -> set:
    """Majors whose choice carries between GPUs on at least min_share of the rows."""
    return {m for m, (n, same) in agreement.items() if n and same / n >= min_share}
