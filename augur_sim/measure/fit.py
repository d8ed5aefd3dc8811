"""Fit a hardware row's efficiency parameters to measured kernel times (numpy only).

The cost engine evaluates [kernels x hardware rows] in one call, so a fit does not
step one candidate at a time: every iteration builds a block of candidate rows
(random samples, or a grid along each parameter) and costs them all at once.

Objective: mean squared log-ratio between predicted and measured time per benchmark
(a benchmark may lower to several kernel rows; their times add). Log error treats a
10 us op 20% off the same as a 100 ms GEMM 20% off, which is what a per-layer
accuracy target asks for.

Search: log-uniform random search over the box, then coordinate sweeps from the start
row and the best few samples (multi-start): each sweep
costs a grid of values around the incumbent for every parameter in one call, moves
to the best single change (and tries all per-parameter bests together), and shrinks
the grid span when nothing improves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.kernels import cost_matrix
from ..errors import AugurError


@dataclass(frozen=True)
class Param:
    """One fitted column of the hardware row. choices: a discrete set (tile sizes)."""
    name: str
    col: int
    lo: float
    hi: float
    log: bool = True
    choices: tuple = ()


@dataclass(frozen=True)
class FitResult:
    values: dict              # param name -> fitted value
    row: np.ndarray           # the fitted hardware row
    loss: float               # mean squared log error at the optimum
    start_loss: float         # the same for the starting row
    predicted_s: np.ndarray   # per benchmark, at the optimum
    evaluations: int          # candidate rows costed


def bench_times(rows: np.ndarray, owner: np.ndarray, n_bench: int, hws: np.ndarray) -> np.ndarray:
    """Predicted time of each benchmark for each hardware row: [P, n_bench]."""
    t = cost_matrix(rows, hws)[:, :, 0]           # [P, kernels]
    out = np.zeros((hws.shape[0], n_bench))
    for k in range(rows.shape[0]):
        out[:, owner[k]] += t[:, k]
    return out


def log_loss(pred: np.ndarray, measured: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean squared log-ratio, one value per candidate row of `pred`."""
    err = np.log(np.maximum(pred, 1e-15) / measured[None, :])
    return (err * err * weights[None, :]).sum(axis=1) / weights.sum()


def _to_unit(p: Param, v: float) -> float:
    return (np.log(v) - np.log(p.lo)) / (np.log(p.hi) - np.log(p.lo)) if p.log else \
        (v - p.lo) / (p.hi - p.lo)


def _from_unit(p: Param, u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    if p.log:
        return np.exp(np.log(p.lo) + u * (np.log(p.hi) - np.log(p.lo)))
    return p.lo + u * (p.hi - p.lo)


def _check(params, base_row, measured, rows, owner) -> None:
    for p in params:
        if not (p.lo > 0 if p.log else True) or not p.hi > p.lo:
            raise AugurError(f"fit parameter {p.name}: bounds [{p.lo}, {p.hi}] are not a valid range")
        if not 0 <= p.col < base_row.shape[0]:
            raise AugurError(f"fit parameter {p.name}: column {p.col} outside the hardware row")
    if measured.ndim != 1 or not np.all(np.isfinite(measured)) or np.any(measured <= 0):
        raise AugurError("measured times must be positive finite numbers, one per benchmark")
    if owner.shape[0] != rows.shape[0] or (owner.size and (owner.min() < 0 or owner.max() >= measured.size)):
        raise AugurError("every kernel row must belong to one benchmark")


def fit_params(rows: np.ndarray, owner: np.ndarray, measured_s: np.ndarray, base_row: np.ndarray,
               params: list[Param], weights: np.ndarray | None = None, seed: int = 0,
               n_random: int = 384, sweeps: int = 40, grid: int = 9, n_starts: int = 5) -> FitResult:
    """Minimise the log error of the engine's benchmark times over `params` of `base_row`."""
    measured = np.asarray(measured_s, dtype=np.float64)
    owner = np.asarray(owner, dtype=np.int64)
    _check(params, base_row, measured, rows, owner)
    n = measured.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    rng = np.random.default_rng(seed)
    evals = 0

    def evaluate(cands: np.ndarray) -> np.ndarray:
        nonlocal evals
        evals += cands.shape[0]
        return log_loss(bench_times(rows, owner, n, cands), measured, w)

    def clamp(row):
        for p in params:
            if p.choices:
                row[p.col] = min(p.choices, key=lambda c: abs(c - row[p.col]))
            else:
                row[p.col] = float(np.clip(row[p.col], p.lo, p.hi))
        return row

    start = clamp(base_row.astype(np.float64).copy())
    start_loss = float(evaluate(start[None, :])[0])

    # 1. Random search over the whole box (the start row competes too).
    cands = np.repeat(start[None, :], n_random, axis=0)
    for p in params:
        if p.choices:
            cands[:, p.col] = rng.choice(np.array(p.choices, dtype=np.float64), n_random)
        else:
            cands[:, p.col] = _from_unit(p, rng.random(n_random))
    losses = evaluate(cands)
    # Multi-start: the shape factors and gemm_peak trade off against each other, so one
    # descent can stall in a poor valley; descend from the start row and the best few samples.
    order = np.argsort(losses)[:max(n_starts - 1, 0)]
    starts = [(start, start_loss)] + [(cands[i].copy(), float(losses[i])) for i in order]
    best, best_loss = start, start_loss
    for row, loss in starts:
        row, loss = _descend(row, loss, params, evaluate, sweeps, grid)
        if loss < best_loss:
            best, best_loss = row, loss
    pred = bench_times(rows, owner, n, best[None, :])[0]
    return FitResult(values={p.name: float(best[p.col]) for p in params}, row=best, loss=best_loss,
                     start_loss=start_loss, predicted_s=pred, evaluations=evals)


def _descend(best, best_loss, params, evaluate, sweeps, grid):
    """Coordinate sweeps from one row: a grid per parameter, all costed in one call."""
    span = 0.5  # half-width of the grid, in unit-box coordinates
    for _ in range(sweeps):
        blocks = []
        for p in params:
            if p.choices:
                vals = np.array(p.choices, dtype=np.float64)
            else:
                u0 = _to_unit(p, best[p.col])
                vals = _from_unit(p, u0 + np.linspace(-span, span, grid))
            b = np.repeat(best[None, :], vals.size, axis=0)
            b[:, p.col] = vals
            blocks.append(b)
        cands = np.concatenate(blocks)
        losses = evaluate(cands)
        # Best value per parameter, then the joint move.
        per_param = {}
        off = 0
        for p, b in zip(params, blocks):
            seg = losses[off:off + b.shape[0]]
            j = int(np.argmin(seg))
            if seg[j] < best_loss:
                per_param[p.name] = b[j, p.col]
            off += b.shape[0]
        improved = False
        i = int(np.argmin(losses))
        if losses[i] < best_loss:
            best, best_loss, improved = cands[i].copy(), float(losses[i]), True
        if len(per_param) > 1:
            joint = best.copy()
            for p in params:
                if p.name in per_param:
                    joint[p.col] = per_param[p.name]
            jl = float(evaluate(joint[None, :])[0])
            if jl < best_loss:
                best, best_loss, improved = joint, jl, True
        if not improved:
            span *= 0.5
            if span < 1e-3:
                break
    return best, best_loss
