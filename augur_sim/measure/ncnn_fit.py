"""Fit the ncnn runtime's portable parameters to measured network times, with numpy.

Parameters (ncnn_cost.PARAM_NAMES) belong to an ISA class, a pipeline family and a core
design, never to a device: a device with no measurement inherits its cores' values. A row's
parameters are the shared ('default') values times class, family and design factors; in log
space

    log p[row, k] = g[k] + d[class, k] + f[family, k] + c[design, k]

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

from ..engine.ncnn_cost import NP, predict_rows
from ..engine.ncnn_params import INIT_LOG, FitResult



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
    # Third level: the core design of the slowest thread (index into `cores`, -1: none).
    row_core: np.ndarray | None = field(default=None)
    cores: tuple = ()
    # Second level: the pipeline family of that core (ncnn_hw.pipeline_family; -1: none).
    row_fam: np.ndarray | None = field(default=None)
    fams: tuple = ()
    # Weight of each row in the fit (1; 0 for a row flagged as anomalous, see
    # ncnn_corpus.thread_anomalies): flagged rows are still predicted and reported.
    row_weight: np.ndarray | None = field(default=None)

    def subset(self, mask: np.ndarray) -> FitData:
        def sub(a):
            return None if a is None else a[mask]
        return FitData(self.xall, self.net_start, self.net_stop, self.row_net[mask], self.hws[mask],
                       self.row_class[mask], self.y_ms[mask], self.classes, sub(self.groups), self.group_names,
                       sub(self.row_core), self.cores, sub(self.row_fam), self.fams, sub(self.row_weight))

    def core_index(self) -> np.ndarray:
        return np.full(len(self.y_ms), -1, dtype=np.int64) if self.row_core is None else self.row_core

    def fam_index(self) -> np.ndarray:
        return np.full(len(self.y_ms), -1, dtype=np.int64) if self.row_fam is None else self.row_fam

    def weights(self) -> np.ndarray:
        return np.ones(len(self.y_ms)) if self.row_weight is None else self.row_weight


def _level_sum(data: FitData, d: np.ndarray, dc, df) -> np.ndarray:
    """[R, NP] summed log-offsets of each row (an unknown index, -1, adds nothing)."""
    lp = np.vstack([d, np.zeros((1, NP))])[data.row_class]
    if dc is not None and len(dc):
        lp = lp + np.vstack([dc, np.zeros((1, NP))])[data.core_index()]
    if df is not None and len(df):
        lp = lp + np.vstack([df, np.zeros((1, NP))])[data.fam_index()]
    return lp


def predict_ms(data: FitData, g: np.ndarray, d: np.ndarray, dc: np.ndarray | None = None,
               df: np.ndarray | None = None) -> np.ndarray:
    prow = np.exp(g[None, :] + _level_sum(data, d, dc, df))
    return predict_rows(data.xall, data.net_start, data.net_stop, data.row_net, data.hws, prow) * 1e3


def param_rows(data: FitData, res: FitResult) -> np.ndarray:
    """[R, NP] parameter values of each row under a fit (class, family, then core offsets)."""
    return np.exp(res.g[None, :] + _level_sum(data, res.d, res.dc, res.df))


def predict_fit(data: FitData, res: FitResult) -> np.ndarray:
    return predict_ms(data, res.g, res.d, res.dc, res.df)


def _residuals(data, g, d, dc=None, df=None):
    return np.log(predict_ms(data, g, d, dc, df)) - np.log(data.y_ms)


# Ridge weights of the three offset levels, chosen by leave-one-device-out (approximated by one
# Gauss-Newton step from the full fit per held-out device) over a grid of seven settings on the
# benchncnn corpus (2026-12-01; median |error| / share within 35%): class, family, design =
# 2, 2, 30 (the earlier default): 26.5% / 59.3%; 2, 2, 100: 25.7% / 59.9%; 2, 8, 30: 26.9% /
# 59.2%; 8, 8, 30: 26.8% / 59.9%; 0.5, 0.5, 30: 25.9% / 60.2%; 0.5, 0.5, 100: 25.7% / 60.3%;
# 0.5, 0.5, 300: 25.6% / 60.5%. A weak pull on the class and family offsets lets them carry
# what the devices of a class share; a strong one on the design offsets keeps a design seen on
# one device from absorbing that device's whole bias, which a held-out device of a new design
# would not inherit. 100 rather than 300: the two differ by 0.1 point.
RIDGE_CLASS = 0.5
RIDGE_FAMILY = 0.5
RIDGE_DESIGN = 100.0


def fit(data: FitData, lam: float = RIDGE_CLASS, iters: int = 40, huber: float = 0.3, g0=None, d0=None,
        free_global: bool = True, tol: float = 1e-5, lam_core: float = RIDGE_DESIGN, dc0=None,
        lam_fam: float = RIDGE_FAMILY, df0=None) -> FitResult:
    """Levenberg-Marquardt on log-time residuals; see the module docstring.

    Offsets come in three levels on top of the shared values: the ISA class's (ridge lam),
    the core's pipeline family's (ridge lam_fam: in-order / narrow / wide out-of-order, so a
    core type no training device has inherits what its family shares), and, where the data
    names the core design of the slowest thread, the design's own (ridge lam_core): a design
    seen on several devices (Cortex-A55 and A76 share a class but not a pipeline) gets its
    own correction, one seen nowhere keeps its class's and family's values. The design's
    ridge is the strongest (RIDGE_DESIGN against ~35-70 rows a device): a design seen on one
    device only would otherwise absorb that device's whole bias and leave its class and
    family nothing to pass on (see RIDGE_CLASS above for how the weights were chosen)."""
    t0 = time.perf_counter()
    C = len(data.classes)
    F = len(data.fams)
    K = len(data.cores)
    g = (INIT_LOG.copy() if g0 is None else np.array(g0, dtype=float))
    D = np.zeros((C + F + K, NP))
    if d0 is not None:
        D[:C] = d0
    if df0 is not None and F:
        D[C:C + F] = df0
    if dc0 is not None and K:
        D[C + F:] = dc0
    rc = data.row_class
    rf = data.fam_index()
    rk = data.core_index()
    off_rows = ([np.nonzero(rc == c)[0] for c in range(C)] + [np.nonzero(rf == f)[0] for f in range(F)]
                + [np.nonzero(rk == k)[0] for k in range(K)])
    present = [len(x) > 0 for x in off_rows]
    # An offset with no rows here (a held-out device's own core type) must not keep a value
    # a warm start carried in from a fit that saw it: it reverts to its level's prior, 0.
    for j in range(C + F + K):
        if not present[j]:
            D[j] = 0.0
    pen = np.array([lam] * C + [lam_fam] * F + [lam_core] * K)
    wrow = data.weights()
    h = 1e-4
    mu = 1e-2

    def split(dd):
        return dd[:C], (dd[C + F:] if K else None), (dd[C:C + F] if F else None)

    def resid(dd, gg=None, sub=None):
        dsub = data if sub is None else sub
        return _residuals(dsub, g if gg is None else gg, *split(dd))

    def objective(r, dd, w):
        return float(np.sum(w * r * r) + np.sum(pen[:, None] * dd * dd))

    r = resid(D)
    it = 0
    rel = 1.0
    for it in range(1, iters + 1):  # noqa: B007  (the count is reported after the loop)
        # Huber weights (IRLS): full weight inside the threshold, threshold/|r| outside;
        # rows flagged anomalous weigh nothing.
        a = np.abs(r)
        w = wrow * np.where(a <= huber, 1.0, huber / np.maximum(a, 1e-12))
        # Jacobian columns: shared parameters (all rows), then each present offset row's
        # parameters (only the rows of that class, family or core change).
        cols = []
        if free_global:
            for k in range(NP):
                gg = g.copy()
                gg[k] += h
                cols.append((resid(D, gg) - r) / h)
        pcs = [j for j in range(C + F + K) if present[j]]
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
            r1 = _residuals(data, g1, *split(D1))
            if np.all(np.isfinite(r1)) and objective(r1, D1, w) < f0:
                rel = (f0 - objective(r1, D1, w)) / max(f0, 1e-12)
                g, D, r = g1, D1, r1
                mu = max(mu / 3.0, 1e-6)
                improved = True
                break
            mu *= 4.0
        if not improved or rel < tol:
            break
    dd, dc, df = split(D)
    ok = wrow > 0
    return FitResult(g, dd.copy(), tuple(data.classes), float(np.sqrt(np.mean(r[ok] ** 2))), it,
                     time.perf_counter() - t0, len(r), None if dc is None else dc.copy(), tuple(data.cores),
                     None if df is None else df.copy(), tuple(data.fams))


def loo(data: FitData, full: FitResult, lam: float = RIDGE_CLASS, iters: int = 4) -> np.ndarray:
    """Leave-one-device-out predictions (ms) of every row: each device's rows predicted by
    parameters fitted without that device (warm start from the full fit)."""
    if data.groups is None:
        raise ValueError("leave-one-device-out needs the rows' device groups")
    pred = np.full(len(data.y_ms), np.nan)
    for gi in np.unique(data.groups):
        test = data.groups == gi
        train = data.subset(~test)
        res = fit(train, lam=lam, iters=iters, g0=full.g, d0=full.d, dc0=full.dc, df0=full.df)
        pred[test] = predict_fit(data.subset(test), res)
    return pred
