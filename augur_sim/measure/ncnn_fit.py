"""Fit the ncnn runtime's portable parameters to measured network times, with numpy.

Parameters (ncnn_cost.PARAM_NAMES) belong to an ISA class, never to a device: a device with
no measurement inherits its cores' class. Each class's parameters are the shared ('default')
values times a class factor; in log space

    log p[class, k] = g[k] + d[class, k]

fitted by Levenberg-Marquardt on the log of the network times (relative errors), with a
Huber weight on large residuals (one odd measurement must not move a class) and a ridge
penalty lam * d^2 that pulls a class with little data towards the shared values. The
Jacobian is by finite differences over the vectorised numba engine: a class's parameters
only change that class's rows, so one iteration costs about 2 x NP network sweeps.

Leave-one-device-out: `loo` refits without each device's rows (warm-started from the full
fit) and predicts that device's rows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..engine.ncnn_cost import NP, PARAM_NAMES, predict_rows

# Starting values: physically plausible, not fitted (the fit moves them).
INIT = {"eff_gemm": 0.5, "eff_winograd": 0.4, "eff_depthwise": 0.15, "eff_int8": 0.3,
        "stream_cycles_per_elem": 1.0, "dram_eff": 0.6, "cache_bytes_per_cycle": 16.0,
        "layer_overhead_kcycles": 5.0, "sync_per_thread": 0.05, "eff_innerproduct": 0.1}
INIT_LOG = np.log(np.array([INIT[n] for n in PARAM_NAMES]))


@dataclass
class FitData:
    """Measured rows, each a (network kernels, hardware row, class) with its time."""
    xall: np.ndarray          # stacked ncnn work rows of every network
    net_start: np.ndarray     # int64 [nets]
    net_stop: np.ndarray
    row_net: np.ndarray       # int64 [R]
    hws: np.ndarray           # [R, NN]
    row_class: np.ndarray     # int64 [R] index into classes
    y_ms: np.ndarray          # measured time, ms
    classes: tuple            # class names
    groups: np.ndarray | None = field(default=None)   # int64 [R] device index (for leave-one-out)
    group_names: tuple = ()

    def subset(self, mask: np.ndarray) -> FitData:
        return FitData(self.xall, self.net_start, self.net_stop, self.row_net[mask], self.hws[mask],
                       self.row_class[mask], self.y_ms[mask], self.classes,
                       None if self.groups is None else self.groups[mask], self.group_names)


@dataclass(frozen=True)
class FitResult:
    g: np.ndarray             # [NP] shared log-parameters
    d: np.ndarray             # [C, NP] class log-offsets
    classes: tuple
    rms_log: float
    iterations: int
    seconds: float
    n_rows: int

    def params(self, cls: str | None) -> np.ndarray:
        """Parameter values of a class (the shared ones for an unknown class or None)."""
        if cls in self.classes:
            return np.exp(self.g + self.d[self.classes.index(cls)])
        return np.exp(self.g)


def predict_ms(data: FitData, g: np.ndarray, d: np.ndarray) -> np.ndarray:
    # A row whose class the parameters do not know (index -1) takes the shared values.
    dz = np.vstack([d, np.zeros((1, NP))])
    prow = np.exp(g[None, :] + dz[data.row_class])
    return predict_rows(data.xall, data.net_start, data.net_stop, data.row_net, data.hws, prow) * 1e3


def _residuals(data, g, d):
    return np.log(predict_ms(data, g, d)) - np.log(data.y_ms)


def fit(data: FitData, lam: float = 2.0, iters: int = 40, huber: float = 0.3, g0=None, d0=None,
        free_global: bool = True, tol: float = 1e-5) -> FitResult:
    """Levenberg-Marquardt on log-time residuals; see the module docstring."""
    t0 = time.perf_counter()
    C = len(data.classes)
    g = (INIT_LOG.copy() if g0 is None else np.array(g0, dtype=float))
    d = (np.zeros((C, NP)) if d0 is None else np.array(d0, dtype=float))
    present = np.bincount(data.row_class[data.row_class >= 0], minlength=C) > 0
    cls_rows = [np.nonzero(data.row_class == c)[0] for c in range(C)]
    h = 1e-4
    mu = 1e-2

    def objective(r, dd, w):
        return float(np.sum(w * r * r) + lam * np.sum(dd * dd))

    r = _residuals(data, g, d)
    it = 0
    for it in range(1, iters + 1):  # noqa: B007  (the count is reported after the loop)
        # Huber weights (IRLS): full weight inside the threshold, threshold/|r| outside.
        a = np.abs(r)
        w = np.where(a <= huber, 1.0, huber / np.maximum(a, 1e-12))
        # Jacobian columns: shared parameters (all rows), then each present class's offsets.
        cols = []
        if free_global:
            for k in range(NP):
                gg = g.copy()
                gg[k] += h
                cols.append((_residuals(data, gg, d) - r) / h)
        for c in range(C):
            if not present[c]:
                continue
            idx = cls_rows[c]
            sub = data.subset(idx)
            for k in range(NP):
                dd = d.copy()
                dd[c, k] += h
                col = np.zeros_like(r)
                col[idx] = (_residuals(sub, g, dd) - r[idx]) / h
                cols.append(col)
        J = np.stack(cols, axis=1)
        # Penalty rows: sqrt(lam) * d for the class offsets.
        npg = NP if free_global else 0
        pcs = [c for c in range(C) if present[c]]
        nd = len(pcs) * NP
        sw = np.sqrt(w)
        A = np.vstack([J * sw[:, None], np.hstack([np.zeros((nd, npg)), np.sqrt(lam) * np.eye(nd)])])
        dvec = np.concatenate([d[c] for c in pcs]) if pcs else np.zeros(0)
        b = np.concatenate([r * sw, np.sqrt(lam) * dvec])
        AtA = A.T @ A
        Atb = A.T @ b
        f0 = objective(r, d, w)
        improved = False
        for _ in range(8):
            step = np.linalg.solve(AtA + mu * np.diag(np.diag(AtA) + 1e-9), -Atb)
            step = np.clip(step, -1.0, 1.0)
            g1 = g + (step[:npg] if free_global else 0.0)
            d1 = d.copy()
            for j, c in enumerate(pcs):
                d1[c] += step[npg + j * NP: npg + (j + 1) * NP]
            r1 = _residuals(data, g1, d1)
            if np.all(np.isfinite(r1)) and objective(r1, d1, w) < f0:
                rel = (f0 - objective(r1, d1, w)) / max(f0, 1e-12)
                g, d, r = g1, d1, r1
                mu = max(mu / 3.0, 1e-6)
                improved = True
                break
            mu *= 4.0
        if not improved or rel < tol:
            break
    return FitResult(g, d, tuple(data.classes), float(np.sqrt(np.mean(r * r))), it,
                     time.perf_counter() - t0, len(r))


def loo(data: FitData, full: FitResult, lam: float = 2.0, iters: int = 4) -> np.ndarray:
    """Leave-one-device-out predictions (ms) of every row: each device's rows predicted by
    parameters fitted without that device (warm start from the full fit)."""
    if data.groups is None:
        raise ValueError("leave-one-device-out needs the rows' device groups")
    pred = np.full(len(data.y_ms), np.nan)
    for gi in np.unique(data.groups):
        test = data.groups == gi
        train = data.subset(~test)
        res = fit(train, lam=lam, iters=iters, g0=full.g, d0=full.d)
        pred[test] = predict_ms(data.subset(test), res.g, res.d)
    return pred
