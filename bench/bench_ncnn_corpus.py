"""The benchncnn corpus (issue 10): every row predicted, and the fits of the ncnn runtime models.

Targets (issue 10): the whole corpus (6,374 rows: CPU and Vulkan) predicted in under 20 s, and
a fit over it in under 5 minutes. "Predicted" starts from the files: the corpus CSV, the
devices' specs and the networks' .param files are read, every network is lowered for each
architecture family or GPU kind its rows need, the committed fits (measurements/ncnn/fit.yaml,
vulkan_fit.yaml) are read and every row is evaluated. Only the numba kernels' compilation (a
warm-up call) and the CSV's first read into the page cache are outside the timing. A fit starts
cold from the model's initial values on a table built outside the timing (what
scripts/accuracy_ncnn*.py and `augur fit-corpus` do after their table build).

Needs ../shared/corpora/ncnn (or $AUGUR_SHARED): skipped without it.
"""
from __future__ import annotations

import numpy as np
import pytest
from benchutil import SHARED, label

from augur_sim.engine.ncnn_params import DEFAULT_FIT, load_fit
from augur_sim.engine.ncnn_vulkan import DEFAULT_VK_FIT, load_vk_fit
from augur_sim.measure import ncnn_fit, ncnn_vulkan_fit
from augur_sim.measure.ncnn_corpus import build_table, load_corpus, load_devices

CORPUS = SHARED / "corpora" / "ncnn"
DEVICES = DEFAULT_FIT.parent / "devices.csv"
PREDICT_TARGET_S = 20.0
FIT_TARGET_S = 300.0


@pytest.fixture(scope="module")
def corpus_csv():
    path = CORPUS / "benchncnn_train.csv"
    if not path.is_file():
        pytest.skip(f"benchncnn corpus not present under {CORPUS}")
    load_corpus(path)  # the file into the page cache, the corpus reader imported
    return path


def _predict_cpu(csv_path):
    rows = load_corpus(csv_path)
    table = build_table(rows, load_devices(DEVICES), CORPUS / "models")
    return table, ncnn_fit.predict_fit(table.data, load_fit(DEFAULT_FIT))


def _predict_vulkan(csv_path):
    rows = load_corpus(csv_path)
    tab = ncnn_vulkan_fit.build_vk_table(rows, ncnn_vulkan_fit.load_gpu_devices(DEVICES), CORPUS / "models")
    return tab, ncnn_vulkan_fit.predict_fit(tab.data, load_vk_fit(DEFAULT_VK_FIT))


def _check(pred, n_min):
    # Every predictable row gets a finite positive time (hundreds of rows: a lost network or
    # device would show here before it showed as a speed-up).
    assert len(pred) >= n_min and np.all(np.isfinite(pred)) and np.all(pred > 0)


def test_target_ncnn_corpus_predict(benchmark, corpus_csv):
    """Every row of the corpus the models predict, CPU and Vulkan, from the files."""
    _predict_cpu(corpus_csv)
    _predict_vulkan(corpus_csv)  # warm-up: numba kernels loaded or compiled

    def run():
        (cpu, p_cpu), (vk, p_vk) = _predict_cpu(corpus_csv), _predict_vulkan(corpus_csv)
        return len(cpu.rows) + len(vk.rows), p_cpu, p_vk
    n, p_cpu, p_vk = benchmark.pedantic(run, rounds=3, iterations=1)
    label(benchmark, "benchncnn corpus: read, lower, predict every CPU and Vulkan row with the committed fits",
          "35 networks", target_s=PREDICT_TARGET_S, predicted_rows=n)
    _check(p_cpu, 4000)
    _check(p_vk, 900)


def test_target_ncnn_vulkan_corpus_predict(benchmark, corpus_csv):
    """The Vulkan rows alone: read, lower for each GPU kind, predict with vulkan_fit.yaml."""
    _predict_vulkan(corpus_csv)
    tab, pred = benchmark.pedantic(_predict_vulkan, args=(corpus_csv,), rounds=5, iterations=1)
    label(benchmark, "benchncnn corpus, Vulkan rows: read, lower, predict with the committed fit",
          f"{len(tab.net_keys)} network x GPU-kind blocks", target_s=PREDICT_TARGET_S, predicted_rows=len(pred))
    _check(pred, 900)


@pytest.fixture(scope="module")
def vk_table(corpus_csv):
    return ncnn_vulkan_fit.build_vk_table(load_corpus(corpus_csv), ncnn_vulkan_fit.load_gpu_devices(DEVICES),
                                          CORPUS / "models")


def test_ncnn_vulkan_predict_rows(benchmark, vk_table):
    """The engine alone: every Vulkan row of a built table evaluated (one vk_predict_rows call)."""
    fit = load_vk_fit(DEFAULT_VK_FIT)
    ncnn_vulkan_fit.predict_fit(vk_table.data, fit)
    pred = benchmark(ncnn_vulkan_fit.predict_fit, vk_table.data, fit)
    label(benchmark, "ncnn-vulkan engine: every Vulkan row of a built table", "corpus", predicted_rows=len(pred))
    _check(pred, 900)


def test_target_ncnn_vulkan_fit(benchmark, vk_table):
    """The Vulkan fit (ncnn_vulkan_fit.fit, cold start, to convergence) on the built table."""
    ncnn_vulkan_fit.predict_fit(vk_table.data, load_vk_fit(DEFAULT_VK_FIT))  # warm-up
    res = benchmark.pedantic(ncnn_vulkan_fit.fit, args=(vk_table.data,), rounds=3, iterations=1)
    label(benchmark, "ncnn-vulkan fit over the corpus's Vulkan rows (cold start, to convergence)",
          "corpus", target_s=FIT_TARGET_S, fitted_rows=res.n_rows)
    # Converged, not stopped by the iteration cap, and a fit: the log error well under the
    # unfitted start's.
    assert 1 < res.iterations < 60 and res.rms_log < 0.6


def test_target_ncnn_cpu_fit(benchmark, corpus_csv):
    """The CPU fit (ncnn_fit.fit, cold start, up to its 40 iterations) on the built CPU table."""
    table = build_table(load_corpus(corpus_csv), load_devices(DEVICES), CORPUS / "models")
    ncnn_fit.predict_fit(table.data, load_fit(DEFAULT_FIT))  # warm-up
    res = benchmark.pedantic(ncnn_fit.fit, args=(table.data,), rounds=1, iterations=1, warmup_rounds=0)
    label(benchmark, "ncnn CPU fit over the corpus's CPU rows (cold start)", "corpus", target_s=FIT_TARGET_S,
          fitted_rows=int((table.data.weights() > 0).sum()))
    assert res.iterations > 1 and res.rms_log < 0.5
