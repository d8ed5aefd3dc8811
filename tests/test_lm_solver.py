"""The Levenberg-Marquardt solver shared by the ncnn CPU and Vulkan fits (measure/lm_solver.py),
on a synthetic model whose answer is known: t_r = sum_k x[r, k] * p[r, k], log p = Z B."""
from __future__ import annotations

import numpy as np
import pytest

from augur_sim.measure.lm_solver import huber_weights, levenberg_marquardt, onehot

NP = 3


def _problem(seed=1, R=60, C=3):
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, C, R)
    Z = np.hstack([np.ones((R, 1)), onehot(cls, C)])
    x = rng.uniform(0.5, 2.0, (R, NP))
    B_true = np.vstack([np.log([2.0, 0.5, 3.0]), rng.normal(0.0, 0.3, (C, NP))])
    y = np.sum(x * np.exp(Z @ B_true), axis=1)
    return Z, x, B_true, y


def _resid(x, y):
    ly = np.log(y)
    return lambda LP: np.log(np.sum(x * np.exp(LP), axis=1)) - ly


def test_onehot_leaves_unknown_rows_empty():
    assert onehot(np.array([1, -1, 0]), 2).tolist() == [[0, 1], [0, 0], [1, 0]]


def test_solver_recovers_the_row_parameters_of_exact_data():
    Z, x, B_true, y = _problem()
    M = Z.shape[1]
    out = levenberg_marquardt(_resid(x, y), Z, np.zeros((M, NP)), np.array([0.0] + [1e-8] * (M - 1)),
                              np.ones(M, dtype=bool), np.ones(len(y)), huber=10.0, iters=100, tol=1e-14,
                              mu_min=1e-7, tries=10)
    # Shared values and class offsets are identified only through their sum per row (the tiny
    # ridge picks one split): each row's log-parameters must be the true ones.
    assert out.iterations > 1
    assert np.max(np.abs(out.resid)) < 1e-6
    assert Z @ out.B == pytest.approx(Z @ B_true, abs=1e-3)


def test_solver_keeps_frozen_rows_and_applies_the_projection():
    Z, x, B_true, y = _problem(seed=2)
    M = Z.shape[1]
    B0 = np.zeros((M, NP))
    B0[2] = 0.25                       # a frozen class row keeps its start value exactly
    free = np.ones(M, dtype=bool)
    free[2] = False

    def cap(B):                        # no shared log-value above 0.5
        B = B.copy()
        B[0] = np.minimum(B[0], 0.5)
        return B
    out = levenberg_marquardt(_resid(x, y), Z, B0, np.array([0.0] + [1.0] * (M - 1)), free, np.ones(len(y)),
                              huber=10.0, iters=60, tol=1e-12, mu_min=1e-6, tries=8, project=cap)
    assert np.all(out.B[2] == 0.25)
    assert np.all(out.B[0] <= 0.5 + 1e-12)
    # The true shared value of parameter 2 (log 3 = 1.1) is above the cap: the cap binds.
    assert out.B[0, 2] == pytest.approx(0.5)


def test_huber_weights_and_a_zero_weight_row():
    r = np.array([0.1, -0.4, 2.0, 5.0])
    w = huber_weights(r, np.array([1.0, 1.0, 1.0, 0.0]), 0.2)
    assert w == pytest.approx([1.0, 0.5, 0.1, 0.0])


def test_huber_loss_follows_the_majority_where_squares_follow_an_outlier():
    # One shared parameter, every row measuring it as 1 except one row 20x off.
    R = 30
    Z = np.ones((R, 1))
    x = np.ones((R, 1))
    y = np.ones(R)
    y[0] = 20.0
    w = np.ones(R)
    w_flag = w.copy()
    w_flag[0] = 0.0

    def run(huber, wr):
        return levenberg_marquardt(_resid(x, y), Z, np.zeros((1, 1)), np.zeros(1), np.ones(1, dtype=bool), wr,
                                   huber=huber, iters=100, tol=1e-14, mu_min=1e-7, tries=10).B[0, 0]
    squares, robust, flagged = run(100.0, w), run(0.05, w), run(0.05, w_flag)
    assert squares == pytest.approx(np.log(20.0) / R, rel=1e-3)     # the mean of the log residuals
    assert abs(robust) < 0.25 * squares
    assert flagged == pytest.approx(0.0, abs=1e-6)                  # a weightless row moves nothing


def test_ncnn_predictions_match_a_fits_offsets_by_name(tmp_path):
    """A fit read back from its file lists classes, families and cores in the file's order:
    predict_fit matches them to the rows by name, and a name the fit never saw takes the level
    above's values (here: the shared ones)."""
    import dataclasses

    from augur_sim.engine.ncnn_algos import NCNN_FUSION, ncnn_rows
    from augur_sim.engine.ncnn_cost import NN, N_CLOCK_HZ, N_DRAM_BPS, N_EB_ACT, N_FP32_FPC, N_LLC_BYTES, N_THREADS
    from augur_sim.engine.ncnn_params import INIT_LOG, NP as NPC
    from augur_sim.frontends import load_net
    from augur_sim.lowering import lower
    from augur_sim.measure.ncnn_fit import FitData, predict_fit, predict_ms
    g = load_net("squeezenet1_1")
    x = ncnn_rows(g, lower(g, "fp32", NCNN_FUSION), "arm").x
    R = 3
    hws = np.zeros((R, NN))
    hws[:, N_THREADS] = 4
    hws[:, N_CLOCK_HZ] = 2e9
    hws[:, N_FP32_FPC] = 16
    hws[:, N_DRAM_BPS] = 2e10
    hws[:, N_LLC_BYTES] = 2**20
    hws[:, N_EB_ACT] = 4
    data = FitData(x, np.array([0]), np.array([len(x)]), np.zeros(R, dtype=np.int64), hws,
                   np.array([0, 1, 2], dtype=np.int64), np.ones(R), ("a", "b", "c"))
    from augur_sim.engine.ncnn_params import FitResult
    d = np.array([np.full(NPC, 0.3), np.full(NPC, -0.2)])
    res = FitResult(INIT_LOG.copy(), d, ("a", "b"), 0.0, 0, 0.0, R)
    want = predict_ms(data, INIT_LOG, np.vstack([d, np.zeros((1, NPC))]))
    assert predict_fit(data, res) == pytest.approx(want, rel=1e-12)
    flipped = dataclasses.replace(res, d=d[::-1].copy(), classes=("b", "a"))
    assert predict_fit(data, flipped) == pytest.approx(want, rel=1e-12)
    # Class "c" is unknown to the fit: the shared values, so a different time from "a" and "b".
    assert len({round(float(v), 9) for v in want}) == 3
