"""ncnn timed on this project's VM (measurements/ncnn_host/) against the model that never saw it:
the page states what the model computes, the measurement script follows benchncnn's protocol, and
the clock probe measures a clock."""
from __future__ import annotations

import csv
import importlib.util
import math
import sys
import types
from pathlib import Path

import pytest
from shared_data import SHARED

REPO = Path(__file__).resolve().parents[1]
MODELS = SHARED / "corpora" / "ncnn" / "models"


def _script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_host_page_states_what_the_model_computes_from_the_stored_timings():
    """Every row of docs/ACCURACY_NCNN_HOST.md's summary is recomputed from the stored timings and
    the shipped fit; the stored file holds the 35 networks at 1 and 2 threads of one ncnn release."""
    if not MODELS.is_dir():
        pytest.skip(f"{MODELS} not present")
    from augur_sim.hw import load_hw
    from augur_sim.measure import ncnn_accuracy as A
    acc = _script("ncnn_host_accuracy")
    files = acc.timing_files()
    rows = acc.read_timings(files)
    assert len(files) >= 2 and len(rows) == 70 * len(files) and {r["threads"] for r in rows} == {"1", "2"}
    assert len({r["model"] for r in rows}) == 35 and len({r["ncnn_version"] for r in rows}) == 1
    res = acc.predict(rows, MODELS, load_hw(acc.SPEC))
    page = (REPO / "docs" / "ACCURACY_NCNN_HOST.md").read_text()
    s = A.stats([r["pred_ms"] for r in res], [r["meas_ms"] for r in res])
    assert A.stats_row("all", s) in page
    # Each network's row: the stored time and the model's.
    for r in res:
        assert f"| {r['model']} | {r['threads']} | {r['meas_ms']:.2f} | {r['pred_ms']:.2f} |" in page
    # Each run's geometric mean over the sittings: of two sittings, between their two times.
    for (m, t), (mean, _) in acc.per_run(res).items():
        ms = [r["meas_ms"] for r in res if (r["model"], r["threads"]) == (m, t)]
        assert min(ms) <= mean <= max(ms)
    # The unseen machine is predicted as the held-out corpus devices are, or better (29% median for a
    # design no training device has): a regression of the model shows here first.
    assert s["median_abs_pct"] < 29.0
    # Peak memory: each row and the float networks' summary, recomputed.
    mem = acc.predict_memory([r for f in acc.memory_files() for r in csv.DictReader(f.open())], MODELS,
                             load_hw(acc.SPEC))
    assert len(mem) == 70
    fl = [r for r in mem if not r["int8"]]
    sm = A.stats([r["pred_bytes"] for r in fl], [r["meas_bytes"] for r in fl])
    assert A.stats_row("float networks", sm) in page and sm["median_abs_pct"] < 20.0
    for r in mem:
        assert f"| {r['model']} | {r['threads']} | {r['meas_bytes'] / 2**20:.1f} | {r['pred_bytes'] / 2**20:.1f} |" in page
    # The Winograd check: each network's measured on-less-off peak beside the model's growth, and the
    # growth of a network without Winograd convs is nothing.
    on = [r for f in acc.memory_files() for r in csv.DictReader(f.open())]
    off = [r for f in acc.nowinograd_files() for r in csv.DictReader(f.open())]
    assert off and {r["winograd"] for r in on} == {"1"} and {r["winograd"] for r in off} == {"0"}
    table = acc.winograd_lines(on, off, MODELS, load_hw(acc.SPEC))
    assert all(line in page for line in table if line.startswith("| resnet"))
    assert acc.winograd_growth(MODELS, load_hw(acc.SPEC), "mobilenet", 1) == 0.0


def test_measure_script_times_as_benchncnn_does(tmp_path, monkeypatch):
    """With a stand-in for ncnn's package: empty weights, light mode, Vulkan off, benchncnn's input
    shape filled with 0.01, warm-up runs not timed, one row per network and thread count."""
    if not (MODELS / "squeezenet.param").is_file():
        pytest.skip(f"{MODELS} not present")
    calls = {"extract": 0, "nets": []}

    class Opt:
        num_threads, lightmode, use_vulkan_compute = 0, False, True

    class Mat:
        def __init__(self, w, h, c):
            calls["shape"] = (w, h, c)

        def fill(self, v):
            calls["fill"] = v

    class Extractor:
        def input(self, name, mat):
            calls["in"] = name

        def extract(self, name):
            calls["extract"] += 1
            return 0, object()

    class Net:
        def __init__(self):
            self.opt = Opt()
            calls["nets"].append(self)

        def load_param(self, path):
            return 0

        def load_model(self, reader):
            calls["reader"] = reader

        def input_names(self):
            return ["data"]

        def output_names(self):
            return ["prob"]

        def create_extractor(self):
            return Extractor()

        def clear(self):
            pass

    fake = types.SimpleNamespace(Net=Net, Mat=Mat, DataReaderFromEmpty=lambda: "empty", __version__="0.test")
    monkeypatch.setitem(sys.modules, "ncnn", fake)
    models = tmp_path / "models"
    models.mkdir()
    (models / "squeezenet.param").write_text((MODELS / "squeezenet.param").read_text())
    out = tmp_path / "t.csv"
    meas = _script("ncnn_host_measure")
    assert meas.main(["--models", str(models), "--out", str(out), "--threads", "1,2", "--warmup", "3",
                      "--runs", "5", "--cool-s", "0"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["model"], r["threads"], r["runs"]) for r in rows] == [("squeezenet", "1", "5"), ("squeezenet", "2", "5")]
    assert calls["extract"] == 2 * (3 + 5) and calls["shape"] == (227, 227, 3) and calls["fill"] == 0.01
    assert calls["reader"] == "empty" and calls["in"] == "data"
    assert [(n.opt.num_threads, n.opt.lightmode, n.opt.use_vulkan_compute) for n in calls["nets"]] == \
        [(1, True, False), (2, True, False)]
    assert all(float(r["min_ms"]) <= float(r["avg_ms"]) <= float(r["max_ms"]) for r in rows)
    # Without the package: one line, exit 2, nothing written.
    monkeypatch.setitem(sys.modules, "ncnn", None)
    other = tmp_path / "none.csv"
    assert meas.main(["--models", str(models), "--out", str(other)]) == 2 and not other.exists()


def test_clock_probe_measures_a_plausible_clock():
    """Two dependent one-cycle ops an iteration: a clock between 0.3 and 10 GHz on any machine that
    runs the suite (a loop the compiler folded away would read far above it)."""
    ghz = _script("cpu_clock").clock_ghz(runs=3, n=20_000_000)
    assert math.isfinite(ghz) and 0.3 < ghz < 10.0, ghz
