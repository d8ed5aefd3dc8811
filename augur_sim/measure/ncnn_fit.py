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
    # Second level: the core type of the slowest thread (index into `cores`, -1: none).
    row_core: np.ndarray | None = field(default=None)
    cores: tuple = ()

    def subset(self, mask: np.ndarray) -> FitData:
        return FitData(self.xall, self.net_start, self.net_stop, self.row_net[mask], self.hws[mask],
                       self.row_class[mask], self.y_ms[mask], self.classes,
                       None if self.groups is None else self.groups[mask], self.group_names,
                       None if self.row_core is None else self.row_core[mask], self.cores)

    def core_index(self) -> np.ndarray:
        return np.full(len(self.y_ms), -1, dtype=np.int64) if self.row_core is None else self.row_core


@dataclass(frozen=True)
class FitResult:
    g: np.ndarray             # [NP] shared log-parameters
    d: np.ndarray             # [C, NP] class log-offsets
    classes: tuple
    rms_log: float
    iterations: int
    seconds: float
    n_rows: int
    dc: np.ndarray | None = None   # [K, NP] core-type log-offsets on top of the class's
    cores: tuple = ()

    def params(self, cls: str | None, core: str | None = None) -> np.ndarray:
        """Parameter values of a class (the shared ones for an unknown class or None), with
        the core type's own offset where the fit saw that core."""
        lp = self.g.copy()
        if cls in self.classes:
            lp = lp + self.d[self.classes.index(cls)]
        if core is not None and core in self.cores and self.dc is not None:
            lp = lp + self.dc[self.cores.index(core)]
        return np.exp(lp)


def predict_ms(data: FitData, g: np.ndarray, d: np.ndarray, dc: np.ndarray | None = None) -> np.ndarray:
    # A row whose class (core) the parameters do not know (index -1) takes the shared values.
    dz = np.vstack([d, np.zeros((1, NP))])
    lp = g[None, :] + dz[data.row_class]
    if dc is not None and len(dc):
        dcz = np.vstack([dc, np.zeros((1, NP))])
        lp = lp + dcz[data.core_index()]
    prow = np.exp(lp)
    return predict_rows(data.xall, data.net_start, data.net_stop, data.row_net, data.hws, prow) * 1e3


def param_rows(data: FitData, res: FitResult) -> np.ndarray:
    """[R, NP] parameter values of each row under a fit (class, then core offsets)."""
    dz = np.vstack([res.d, np.zeros((1, NP))])
    lp = res.g[None, :] + dz[data.row_class]
    if res.dc is not None and len(res.dc):
        lp = lp + np.vstack([res.dc, np.zeros((1, NP))])[data.core_index()]
    return np.exp(lp)


def predict_fit(data: FitData, res: FitResult) -> np.ndarray:
    return predict_ms(data, res.g, res.d, res.dc)


def _residuals(data, g, d, dc=None):
    return np.log(predict_ms(data, g, d, dc)) - np.log(data.y_ms)


def fit(data: FitData, lam: float = 2.0, iters: int = 40, huber: float = 0.3, g0=None, d0=None,
        free_global: bool = True, tol: float = 1e-5, lam_core: float = 4.0, dc0=None) -> FitResult:
    """Levenberg-Marquardt on log-time residuals; see the module docstring.

    Offsets come in two levels: the ISA class's (ridge lam) and, where the data names the
    core type of the slowest thread, the core type's on top (ridge lam_core): a core seen on
    several devices (Cortex-A55 and A76 share a class but not a pipeline) gets its own
    correction, a core seen nowhere else keeps its class's values."""
    t0 = time.perf_counter()
    C = len(data.classes)
    K = len(data.cores)
    g = (INIT_LOG.copy() if g0 is None else np.array(g0, dtype=float))
    D = np.zeros((C + K, NP))
    if d0 is not None:
        D[:C] = d0
    if dc0 is not None and K:
        D[C:] = dc0
    rc = data.row_class
    rk = data.core_index()
    off_rows = [np.nonzero(rc == c)[0] for c in range(C)] + [np.nonzero(rk == k)[0] for k in range(K)]
    present = [len(x) > 0 for x in off_rows]
    # An offset with no rows here (a held-out device's own core type) must not keep a value
    # a warm start carried in from a fit that saw it: it reverts to its level's prior, 0.
    for j in range(C + K):
        if not present[j]:
            D[j] = 0.0
    pen = np.array([lam] * C + [lam_core] * K)
    h = 1e-4
    mu = 1e-2

    def resid(dd, gg=None, sub=None):
        dsub = data if sub is None else sub
        return _residuals(dsub, g if gg is None else gg, dd[:C], dd[C:] if K else None)

    def objective(r, dd, w):
        return float(np.sum(w * r * r) + np.sum(pen[:, None] * dd * dd))

    r = resid(D)
    it = 0
    rel = 1.0
    for it in range(1, iters + 1):  # noqa: B007  (the count is reported after the loop)
        # Huber weights (IRLS): full weight inside the threshold, threshold/|r| outside.
        a = np.abs(r)
        w = np.where(a <= huber, 1.0, huber / np.maximum(a, 1e-12))
        # Jacobian columns: shared parameters (all rows), then each present offset row's
        # parameters (only the rows of that class or core change).
        cols = []
        if free_global:
            for k in range(NP):
                gg = g.copy()
                gg[k] += h
                cols.append((resid(D, gg) - r) / h)
        pcs = [j for j in range(C + K) if present[j]]
        for j in pcs:
            idx = off_rows[j]
            sub = data.subset(idx)
            for k in range(NP):
                dd = D.copy()
                dd[j, k] += h
                col = np.zeros_like(r)
                col[idx] = (resid(dd, sub=sub) - r[idx]) / h
                cols.append(col)
        J = np.stack(cols, axis=1)
        npg = NP if free_global else 0
        nd = len(pcs) * NP
        sw = np.sqrt(w)
        pdiag = np.sqrt(np.repeat(pen[pcs], NP)) if pcs else np.zeros(0)
        A = np.vstack([J * sw[:, None], np.hstack([np.zeros((nd, npg)), np.diag(pdiag)])])
        dvec = np.concatenate([D[j] for j in pcs]) if pcs else np.zeros(0)
        b = np.concatenate([r * sw, pdiag * dvec])
        AtA = A.T @ A
        Atb = A.T @ b
        f0 = objective(r, D, w)
        improved = False
        for _ in range(8):
            step = np.linalg.solve(AtA + mu * np.diag(np.diag(AtA) + 1e-9), -Atb)
            step = np.clip(step, -1.0, 1.0)
            g1 = g + (step[:npg] if free_global else 0.0)
            D1 = D.copy()
            for n, j in enumerate(pcs):
                D1[j] += step[npg + n * NP: npg + (n + 1) * NP]
            r1 = _residuals(data, g1, D1[:C], D1[C:] if K else None)
            if np.all(np.isfinite(r1)) and objective(r1, D1, w) < f0:
                rel = (f0 - objective(r1, D1, w)) / max(f0, 1e-12)
                g, D, r = g1, D1, r1
                mu = max(mu / 3.0, 1e-6)
                improved = True
                break
            mu *= 4.0
        if not improved or rel < tol:
            break
    return FitResult(g, D[:C].copy(), tuple(data.classes), float(np.sqrt(np.mean(r * r))), it,
                     time.perf_counter() - t0, len(r), D[C:].copy() if K else None, tuple(data.cores))


def loo(data: FitData, full: FitResult, lam: float = 2.0, iters: int = 4) -> np.ndarray:
    """Leave-one-device-out predictions (ms) of every row: each device's rows predicted by
    parameters fitted without that device (warm start from the full fit)."""
    if data.groups is None:
        raise ValueError("leave-one-device-out needs the rows' device groups")
    pred = np.full(len(data.y_ms), np.nan)
    for gi in np.unique(data.groups):
        test = data.groups == gi
        train = data.subset(~test)
        res = fit(train, lam=lam, iters=iters, g0=full.g, d0=full.d, dc0=full.dc)
        pred[test] = predict_ms(data.subset(test), res.g, res.d, res.dc)
    return pred
