"""The Levenberg-Marquardt solver shared by the ncnn CPU fit (ncnn_fit.fit) and the ncnn-vulkan
fit (ncnn_vulkan_fit.fit).

Both fit log-parameters that are linear in stacked coefficients, log p = Z B: Z [R, M] is the
rows' indicator design (a column of ones for the shared values, one column per class, family,
core design ...), B [M, NP] the shared log-values and the offsets. A row's predicted time
depends on B only through its own log-parameters, so the Jacobian of the log-time residuals is
J[r, (m, k)] = Z[r, m] G[r, k] with G[r, k] = d log t_r / d log p[r, k]: NP finite-difference
sweeps of the vectorised engine over every row, however many offsets there are. The normal
equations are summed per distinct design row (gram), never forming J.

Loss: sum of w_r r_r^2 over rows plus a ridge pen[m] * B[m, k]^2 per coefficient row, where
w_r is the row's own weight (0 for a row flagged anomalous) times a Huber weight refreshed
each iteration (IRLS): 1 inside `huber`, huber/|r| outside, so one odd measurement pulls like
an L1 term instead of a square. Steps are damped (mu), clipped to +-1 in log space (a factor
e at most per iteration), and optionally projected (`project`, e.g. the Vulkan fit's bound of
an efficiency at 1).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LMOutcome:
    """The solver's end point: coefficients B [M, NP], the residuals there and the iterations run."""
    B: np.ndarray
    resid: np.ndarray
    iterations: int


def onehot(idx: np.ndarray, n: int) -> np.ndarray:
    """[R, n] indicator columns of idx (an index of -1, unknown, sets none): a level of the design."""
    out = np.zeros((len(idx), n))
    ok = idx >= 0
    out[np.nonzero(ok)[0], idx[ok]] = 1.0
    return out


def gram(Z: np.ndarray, G: np.ndarray, w: np.ndarray) -> np.ndarray:
    """J^T W J of the log-parameter model, J[r, (m, k)] = Z[r, m] G[r, k], without forming J.

    Rows of one device configuration share their design row, so the sum over rows is a sum
    over the distinct design rows u of (Z_u Z_u^T) (x) S_u with S_u = sum_r w_r g_r g_r^T:
    a few hundred small outer products instead of a (rows x M*NP) product."""
    M = Z.shape[1]
    NP = G.shape[1]
    U, inv = np.unique(Z, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    S = np.zeros((len(U), NP, NP))
    np.add.at(S, inv, (G * w[:, None])[:, :, None] * G[:, None, :])
    ZZ = (U[:, :, None] * U[:, None, :]).reshape(len(U), M * M)
    return (ZZ.T @ S.reshape(len(U), NP * NP)).reshape(M, M, NP, NP).transpose(0, 2, 1, 3).reshape(M * NP, M * NP)


def huber_weights(r: np.ndarray, w_row: np.ndarray, huber: float) -> np.ndarray:
    """IRLS weights: the row's own weight, times threshold/|r| where |r| exceeds the threshold."""
    a = np.abs(r)
    return w_row * np.where(a <= huber, 1.0, huber / np.maximum(a, 1e-12))


def levenberg_marquardt(resid: Callable[[np.ndarray], np.ndarray], Z: np.ndarray, B0: np.ndarray,
                        pen: np.ndarray, free: np.ndarray, w_row: np.ndarray, huber: float, iters: int,
                        tol: float, mu_min: float, tries: int,
                        project: Callable[[np.ndarray], np.ndarray] | None = None,
                        hstep: float = 1e-4, mu0: float = 1e-2) -> LMOutcome:
    """Minimise the Huber-weighted, ridge-penalised log-time loss over B (module docstring).

    resid(LP) -> [R] log(predicted) - log(measured) for row log-parameters LP [R, NP];
    Z [R, M] the design; B0 [M, NP] the start; pen [M] the ridge weight of each coefficient
    row; free [M] which rows the solve moves (the others keep their B0 values), or [M, NP]
    which coefficients; w_row [R] the
    rows' own weights. Each iteration tries at most `tries` damping values (mu x4 after a
    failed try, /3 down to mu_min after a success) and stops when no try lowers the loss or
    the relative decrease is under tol."""
    M, NP = B0.shape
    B = np.array(B0, dtype=float)
    free = np.asarray(free, dtype=bool)
    fidx = np.nonzero(np.repeat(free, NP) if free.ndim == 1 else free.reshape(-1))[0]
    P = np.repeat(pen, NP)
    mu = mu0

    def objective(r, BB, w):
        return float(np.sum(w * r * r) + np.sum(pen[:, None] * BB * BB))

    LP = Z @ B
    r = resid(LP)
    it = 0
    for it in range(1, iters + 1):  # noqa: B007  (the count is reported after the loop)
        w = huber_weights(r, w_row, huber)
        G = np.empty((len(r), NP))
        for k in range(NP):
            L2 = LP.copy()
            L2[:, k] += hstep
            G[:, k] = (resid(L2) - r) / hstep
        AtA = (gram(Z, G, w) + np.diag(P))[np.ix_(fidx, fidx)]
        Atb = ((Z.T @ (G * (w * r)[:, None])).reshape(-1) + P * B.reshape(-1))[fidx]
        f0 = objective(r, B, w)
        improved = False
        rel = 0.0
        for _ in range(tries):
            step = np.linalg.solve(AtA + mu * np.diag(np.diag(AtA) + 1e-9), -Atb)
            step = np.clip(step, -1.0, 1.0)
            B1 = B.copy().reshape(-1)
            B1[fidx] += step
            B1 = B1.reshape(M, NP)
            if project is not None:
                B1 = project(B1)
            LP1 = Z @ B1
            r1 = resid(LP1)
            f1 = objective(r1, B1, w) if np.all(np.isfinite(r1)) else np.inf
            if f1 < f0:
                rel = (f0 - f1) / max(f0, 1e-12)
                B, LP, r = B1, LP1, r1
                mu = max(mu / 3.0, mu_min)
                improved = True
                break
            mu *= 4.0
        if not improved or rel < tol:
            break
    return LMOutcome(B, r, it)
