"""A fit's held-out error (engine/held_out.py, measure/held_out.py): summarised from
leave-one-device-out predictions, looked up by an estimate, refused when it is malformed or
belongs to another version of the fit."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from augur_sim.engine.held_out import (ANC_KEYS, REL_KEYS, companion_path, expected_error, file_sha256, load_held_out, ncnn_key,
                                       parse_held_out, stretched_band, thread_band)
from augur_sim.engine import ncnn_params
from augur_sim.engine.ncnn_params import DEFAULT_FIT, load_yaml_doc
from augur_sim.errors import AugurError
from augur_sim.measure.held_out import group_stats, summarise, write_held_out


def _runs():
    """Two families: 'a' on five devices with predictions 1.2x measured, 'b' on two devices."""
    keys, devs, pred, meas = [], [], [], []
    for d in range(5):
        for i in range(20):
            keys.append({"family": "a", "threads": "1"})
            devs.append(f"dev{d}")
            meas.append(10.0 + i)
            pred.append(1.2 * (10.0 + i))
    for d in range(2):
        for _ in range(40):
            keys.append({"family": "b", "threads": "1"})
            devs.append(f"other{d}")
            meas.append(5.0)
            pred.append(2.5)
    return keys, devs, np.array(pred), np.array(meas)


def test_group_stats_are_the_quantiles_of_predicted_over_measured():
    pred = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0])
    meas = np.full(11, 5.0)      # ratios 0.2 .. 2.2
    s = group_stats(pred, meas)
    assert s["ratio_p10"] == pytest.approx(0.4) and s["ratio_p50"] == pytest.approx(1.2)
    assert s["ratio_p90"] == pytest.approx(2.0)
    # |ratio - 1| of 0.8 .. 1.2 (step 0.2): 0.8 0.6 0.4 0.2 0 0.2 0.4 0.6 0.8 1.0 1.2 -> median 0.6
    assert s["median_abs_pct"] == pytest.approx(60.0)
    assert s["within_35"] == pytest.approx(3 / 11, abs=1e-3)


def test_summarise_keeps_groups_with_enough_rows_and_devices():
    keys, devs, pred, meas = _runs()
    groups = summarise(keys, devs, pred, meas, [("family", "threads"), ("family",)], min_rows=60, min_devices=4)
    named = {tuple((k, g[k]) for k in ("family", "threads") if k in g): g for g in groups}
    # 'a' (100 rows, 5 devices) at both levels; 'b' (80 rows but 2 devices) at neither; all rows once.
    assert set(named) == {(("family", "a"), ("threads", "1")), (("family", "a"),), ()}
    a = named[(("family", "a"),)]
    assert a["rows"] == 100 and a["devices"] == 5 and a["ratio_p50"] == pytest.approx(1.2)
    assert named[()]["rows"] == 180 and named[()]["devices"] == 7


def test_summarise_leaves_out_runs_without_a_prediction():
    keys, devs, pred, meas = _runs()
    pred[:10] = np.nan
    groups = summarise(keys, devs, pred, meas, [("family",)])
    assert [g for g in groups if "family" not in g][0]["rows"] == 170


def _doc(sha="0" * 64, **over):
    doc = {"runtime": "ncnn", "fit_sha256": sha, "protocol": "leave-one-device-out", "corpus": "c",
           "generated": "2026-12-02", "fields": ["family", "threads"],
           "groups": [{"family": "a", "threads": "1", "rows": 100, "devices": 5, "median_abs_pct": 20.0,
                       "within_35": 0.8, "ratio_p10": 0.8, "ratio_p50": 1.0, "ratio_p90": 1.25},
                      {"family": "a", "rows": 200, "devices": 6, "median_abs_pct": 25.0, "within_35": 0.7,
                       "ratio_p10": 0.7, "ratio_p50": 1.0, "ratio_p90": 1.4},
                      {"rows": 500, "devices": 20, "median_abs_pct": 30.0, "within_35": 0.6,
                       "ratio_p10": 0.5, "ratio_p50": 1.0, "ratio_p90": 2.0}]}
    doc.update(over)
    return doc


def _with_rel(doc):
    """Add the relative figures (every group's rel_*, relative_to) to a _doc; returns None."""
    doc["relative_to"] = "device at one core set and thread count"
    for g in doc["groups"]:
        g.update(rel_median_abs_pct=10.0, rel_ratio_p10=0.9, rel_ratio_p90=1.1)


def _with_anc(doc, rel=True):
    """Add the anchored figures (every group's anc_*) to a _doc, and the relative ones unless
    rel=False; returns None."""
    if rel:
        _with_rel(doc)
    for g in doc["groups"]:
        g.update(anc_pairs=3 * g["rows"], anc_median_abs_pct=15.0, anc_within_35=0.85, anc_ratio_p10=0.8,
                 anc_ratio_p90=1.2)


def test_lookup_takes_the_most_specific_matching_group():
    rec = parse_held_out(_doc(), "x.yaml")
    assert rec.lookup({"family": "a", "threads": "1"}).rows == 100
    assert rec.lookup({"family": "a", "threads": ">8"}).rows == 200      # no (a, >8): the family's
    assert rec.lookup({"family": "z", "threads": "1"}).rows == 500       # unknown family: every run


@pytest.mark.parametrize("edit, where, what", [
    (lambda d: d.update(extra=1), "extra", "unknown key"),
    (lambda d: d.pop("fit_sha256"), "fit_sha256", "missing"),
    (lambda d: d.update(fit_sha256="abc"), "fit_sha256", "sha256"),
    (lambda d: d["groups"][0].update(ratio_p10=2.0), "groups[0]", "ratio_p10 <= ratio_p50"),
    (lambda d: d["groups"][1].update(rows=-3), "groups[1].rows", "expected an integer"),
    (lambda d: d["groups"][2].update(within_35=1.5), "groups[2].within_35", "expected a number"),
    (lambda d: d["groups"][0].update(colour="red"), "groups[0].colour", "unknown key"),
    (lambda d: d["groups"][0].pop("ratio_p90"), "groups[0].ratio_p90", "missing"),
    (lambda d: d.update(groups=[]), "groups", "non-empty"),
    (lambda d: d.update(fields=["rows"]), "fields", "distinct field names"),
    # The figures with each configuration's scale divided out: all three, on every group, with
    # relative_to naming the configuration, or none of them.
    (lambda d: _with_rel(d) or d["groups"][1].pop("rel_ratio_p90"), "groups[1].rel_ratio_p90", "come together"),
    (lambda d: _with_rel(d) or d.pop("relative_to"), "relative_to", "together, or none"),
    (lambda d: _with_rel(d) or [g.pop(k) for k in REL_KEYS for g in d["groups"][:1]], "relative_to",
     "together, or none"),
    (lambda d: d.update(relative_to="device"), "relative_to", "together, or none"),
    (lambda d: _with_rel(d) or d.update(relative_to=""), "relative_to", "non-empty string"),
    (lambda d: _with_rel(d) or d["groups"][2].update(rel_ratio_p10=3.0), "groups[2]", "rel_ratio_p10 <= rel_ratio_p90"),
    (lambda d: _with_rel(d) or d["groups"][0].update(rel_median_abs_pct=-1), "groups[0].rel_median_abs_pct",
     "expected a number"),
    # The anchored figures: all five on every group, with relative_to (the configuration an
    # anchor pairs runs within), or none of them.
    (lambda d: _with_anc(d) or d["groups"][0].pop("anc_pairs"), "groups[0].anc_pairs", "come together"),
    (lambda d: _with_anc(d) or [d["groups"][1].pop(k) for k in ANC_KEYS], "groups", "or none of them"),
    (lambda d: _with_anc(d, rel=False), "groups", "relative_to"),
    (lambda d: _with_anc(d) or d["groups"][2].update(anc_ratio_p10=2.0), "groups[2]",
     "anc_ratio_p10 <= anc_ratio_p90"),
    (lambda d: _with_anc(d) or d["groups"][0].update(anc_pairs=0), "groups[0].anc_pairs", "expected an integer"),
    (lambda d: _with_anc(d) or d["groups"][1].update(anc_within_35=2), "groups[1].anc_within_35",
     "expected a number"),
])
def test_malformed_file_is_refused_with_its_path(edit, where, what):
    doc = _doc()
    edit(doc)
    with pytest.raises(AugurError) as e:
        parse_held_out(doc, "fit.held_out.yaml")
    msg = str(e.value)
    assert "fit.held_out.yaml" in msg and where in msg and what in msg


def test_written_file_reads_back_tied_to_its_fit(tmp_path):
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    keys, devs, pred, meas = _runs()
    out = write_held_out(fit, "ncnn", "p", "c", ("family", "threads"),
                         summarise(keys, devs, pred, meas, [("family", "threads"), ("family",)]))
    assert out == companion_path(fit) == tmp_path / "fit.held_out.yaml"
    rec = load_held_out(fit)
    assert rec.fit_sha256 == file_sha256(fit)
    e = expected_error(fit, {"family": "a", "threads": "1"}, 0.012, "ncnn")
    assert e["available"] and e["rows"] == 100 and e["group"] == {"family": "a", "threads": "1"}
    # 80% of these held-out runs measured between predicted / p90 and predicted / p10.
    g = rec.lookup({"family": "a", "threads": "1"})
    assert e["range_ms"] == pytest.approx([12.0 / g.ratio_p90, 12.0 / g.ratio_p10])
    assert e["range_ms"][0] == pytest.approx(10.0, rel=1e-2)     # every run was predicted 1.2x too slow
    # Another version of the fit: no band, and says why.
    fit.write_text("default: {changed: 1}\n")
    e = expected_error(fit, {"family": "a", "threads": "1"}, 0.012, "ncnn")
    assert not e["available"] and "sha256 differs" in e["why"]


def test_relative_figures_divide_out_each_configurations_scale_and_reach_the_estimate(tmp_path):
    """Family 'a': five devices, each predicted at its own scale (0.6x .. 1.4x) but every network
    in the same proportion but one per device (1.5x off its device's scale): the band is wide, the
    relative one narrow, and the estimate reports both."""
    from augur_sim.measure.ncnn_accuracy import scale_removed
    from augur_sim.report import expected_error_lines
    keys, devs, pred, meas = [], [], [], []
    for d, scale in enumerate((0.6, 0.8, 1.0, 1.2, 1.4)):
        for i in range(20):
            keys.append({"family": "a", "threads": "1"})
            devs.append(f"dev{d}")
            meas.append(10.0 + i)
            pred.append(scale * (10.0 + i) * (1.5 if i == 0 else 1.0))
    pred, meas = np.array(pred), np.array(meas)
    rel = scale_removed(devs, pred, meas)
    groups = summarise(keys, devs, pred, meas, [("family",)], rel=rel)
    g = next(x for x in groups if x.get("family") == "a")
    assert g["ratio_p10"] < 0.8 and g["ratio_p90"] > 1.2               # the devices' scales
    assert g["rel_ratio_p10"] == pytest.approx(1.0) and g["rel_median_abs_pct"] == pytest.approx(0.0)
    assert g["rel_ratio_p90"] == pytest.approx(1.0)                     # 5 of 100 runs off: beyond p90
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    write_held_out(fit, "ncnn", "p", "c", ("family",), groups, relative_to="device")
    e = expected_error(fit, {"family": "a"}, 0.012, "ncnn")
    r = e["relative"]
    assert r == {"relative_to": "device", "median_abs_pct": 0.0, "ratio_p10": 1.0, "ratio_p90": 1.0, "share": 0.8,
                 "band_stretch": 1.0, "band_low": 1.0, "band_high": 1.0}
    lines = expected_error_lines(e)
    assert any(x.startswith("  comparing networks on one device: with its own scale divided out, 80% of those "
                            "runs measured 1.00x to 1.00x the prediction") for x in lines)
    # A file without them (older, or a runtime that records none): no relative entry, no line.
    write_held_out(fit, "ncnn", "p", "c", ("family",), summarise(keys, devs, pred, meas, [("family",)]))
    e = expected_error(fit, {"family": "a"}, 0.012, "ncnn")
    assert e["available"] and "relative" not in e
    assert not any("comparing networks" in x for x in expected_error_lines(e))


def test_no_file_means_no_band(tmp_path):
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    e = expected_error(fit, {"family": "a"}, 0.01, "ncnn")
    assert not e["available"] and e["why"].startswith("fit.held_out.yaml absent")


def test_another_runtimes_file_is_refused(tmp_path):
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    companion_path(fit).write_text(yaml.safe_dump(_doc(sha=file_sha256(fit), runtime="ncnn-vulkan")))
    with pytest.raises(AugurError, match="runtime: expected 'ncnn'"):
        expected_error(fit, {"family": "a"}, 0.01, "ncnn")


def test_thread_bands_and_key():
    assert [thread_band(t) for t in (1, 2, 8, 9, 64)] == ["1", "2-8", "2-8", ">8", ">8"]
    assert ncnn_key("arm-inorder", 4, True) == {"family": "arm-inorder", "threads": "2-8", "design_fitted": "yes"}


def test_shipped_held_out_error_belongs_to_the_shipped_fit():
    """Refitting measurements/ncnn/fit.yaml without re-running scripts/accuracy_ncnn.py leaves a
    band that describes another fit: this fails until both are regenerated together."""
    rec = load_held_out(DEFAULT_FIT)
    assert rec is not None, "measurements/ncnn/fit.held_out.yaml missing: run scripts/accuracy_ncnn.py"
    assert rec.fit_sha256 == file_sha256(DEFAULT_FIT)
    assert rec.lookup({}).rows >= 4000                           # the whole corpus' CPU rows


def _mobilenet():
    from shared_data import SHARED
    param = SHARED / "corpora" / "ncnn" / "models" / "mobilenet.param"
    if not param.is_file():
        pytest.skip(f"{param} not present")
    return param


def test_estimate_reports_its_expected_error(capsys):
    from augur_sim.cli import main
    param = _mobilenet()
    argv = ["estimate", str(param), "--hw", "raspberry_pi_4_1800", "--threads", "4", "--runtime", "ncnn"]
    assert main(argv + ["--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    e = d["assumptions"]["expected_error"]
    assert e["available"], e
    assert e["key"] == {"family": "arm-ooo-narrow", "threads": "2-8", "design_fitted": "yes"}   # Cortex-A72, 4 threads
    t = d["total"]["time_ms"]
    # The shipped file widens the 10th-90th percentile band (band_stretch > 1: a new device's runs
    # fall outside their group's percentiles more often than the group's own do).
    s = load_held_out(DEFAULT_FIT).band_stretch
    assert e["band_stretch"] == s and 1.0 < s < 2.0
    lo, hi = stretched_band(e["ratio_p10"], e["ratio_p50"], e["ratio_p90"], s)
    assert lo < e["ratio_p10"] and hi > e["ratio_p90"]
    assert e["range_ms"] == pytest.approx([t / hi, t / lo])
    assert e["source"] == "measurements/ncnn/fit.held_out.yaml"
    assert main(argv) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if x.startswith("expected error:"))
    assert line.startswith(f"expected error: {e['range_ms'][0]:.3g} to {e['range_ms'][1]:.3g} ms")
    # The shipped file records the relative figures too: comparing networks on this device.
    r = e["relative"]
    assert r["relative_to"] == "device at one core set and thread count"
    assert r["ratio_p10"] <= 1.0 <= r["ratio_p90"] and r["median_abs_pct"] < e["median_abs_pct"]
    assert "  comparing networks on one device at one core set and thread count: " in text


def test_estimate_with_a_malformed_held_out_file_exits_2(tmp_path, monkeypatch, capsys):
    import augur_sim.estimator as E
    from augur_sim.cli import main
    param = _mobilenet()
    fit = tmp_path / "fit.yaml"
    shutil.copy(DEFAULT_FIT, fit)
    companion_path(fit).write_text("runtime: ncnn\nfit_sha256: [\n")
    monkeypatch.setattr(E, "DEFAULT_FIT", fit)
    rc = main(["estimate", str(param), "--hw", "raspberry_pi_4_1800", "--threads", "4", "--runtime", "ncnn"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "fit.held_out.yaml" in err[0] and "not valid YAML" in err[0]


def test_vulkan_estimate_reports_its_expected_error(capsys):
    from augur_sim.cli import main
    from augur_sim.engine.ncnn_vulkan import DEFAULT_VK_FIT
    rec = load_held_out(DEFAULT_VK_FIT)
    assert rec is not None and rec.fit_sha256 == file_sha256(DEFAULT_VK_FIT), \
        "measurements/ncnn/vulkan_fit.held_out.yaml missing or stale: run scripts/accuracy_ncnn_vulkan.py"
    param = _mobilenet()
    assert main(["estimate", str(param), "--hw", "snapdragon_660_vulkan", "--runtime", "ncnn-vulkan",
                 "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    e = d["assumptions"]["expected_error"]
    assert e["available"] and e["key"] == {"gpu_class": "adreno", "kind": "integrated"}
    g = rec.lookup(e["key"])
    t = d["total"]["time_ms"]
    lo, hi = stretched_band(g.ratio_p10, g.ratio_p50, g.ratio_p90, rec.band_stretch)
    assert e["range_ms"] == pytest.approx([t / hi, t / lo])


def test_a_cpu_without_core_types_gets_a_warning_and_no_band(capsys):
    """jetson_tx1's CPU names no core type: no ISA class, so the fit's shared values and no
    held-out group (every corpus device had a class) describe it; no spec is named like it."""
    from augur_sim.cli import main
    param = _mobilenet()
    assert main(["estimate", str(param), "--hw", "jetson_tx1", "--threads", "4", "--runtime", "ncnn",
                 "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    warns = [w for w in d["warnings"] if "no ISA class 'default'" in w]
    assert len(warns) == 1 and "specs named like it" not in warns[0]
    assert d["assumptions"]["expected_error"]["available"] is False


def test_a_cpu_without_core_types_is_pointed_at_its_cored_relative(capsys):
    """jetson_tx2 (A57 and Denver CPUs of `units`) has a relative, jetson_tx2_nx, whose clusters
    name their cores: the warning names it. The Vulkan twins of a board are never suggested for a
    CPU runtime, a relative without an underscore between the names is (snapdragon_855 ->
    snapdragon_855plus), and a relative whose CPU names no core type is not."""
    from augur_sim.cli import main
    from augur_sim.estimator import _cored_variants
    param = _mobilenet()
    assert main(["estimate", str(param), "--hw", "jetson_tx2", "--threads", "4", "--runtime", "ncnn",
                 "--format", "json"]) == 0
    warns = json.loads(capsys.readouterr().out)["warnings"]
    assert any("no ISA class" in w and "jetson_tx2_nx" in w for w in warns)
    pi5 = _cored_variants("raspberry_pi_5")
    assert "raspberry_pi_5_ncnn" in pi5 and "raspberry_pi_5_2900," in pi5 and "_vulkan" not in pi5
    assert "snapdragon_855plus" in _cored_variants("snapdragon_855")
    assert _cored_variants("amd_epyc_9654") == ""      # its _1core variant has no core types either


def test_band_coverage_leaves_each_device_out_of_its_own_band():
    """Five devices predicted 1.2x their measured time and one 3x: each of the five gets a band
    from the others that holds it; the odd one gets the five's band (1.2x) and falls outside."""
    from augur_sim.measure.held_out import band_coverage
    keys, devs, pred, meas = [], [], [], []
    for d in ["d0", "d1", "d2", "d3", "d4", "odd"]:
        for i in range(20):
            keys.append({"family": "a"})
            devs.append(d)
            meas.append(10.0 + i)
            pred.append((3.0 if d == "odd" else 1.2) * (10.0 + i))
    inside = band_coverage(keys, devs, np.array(pred), np.array(meas), [("family",)], ("family",))
    assert inside[:100].all() and not inside[100:].any()
    # The relative band divides each device's scale out. Give every device the same spread of
    # networks around its scale (0.9x .. 1.1x): the odd device's 3x is then its scale only, and
    # it is covered exactly as the others are (the band from the others' runs holds the middle
    # of the spread, not its ends).
    from augur_sim.measure.ncnn_accuracy import scale_removed
    f = np.tile(0.9 + 0.2 * np.arange(20) / 19, 6)
    pred_f = np.array(pred) * f
    rel = scale_removed(devs, pred_f, np.array(meas))
    inside_rel = band_coverage(keys, devs, pred_f, np.array(meas), [("family",)], ("family",), rel=rel)
    per_dev = inside_rel.reshape(6, 20)
    assert (per_dev == per_dev[0]).all() and 0.7 <= per_dev[0].mean() < 1.0
    assert not band_coverage(keys, devs, pred_f, np.array(meas), [("family",)], ("family",))[100:].any()


def test_pairwise_order_counts_device_pairs_the_prediction_orders_right():
    from augur_sim.measure.ncnn_accuracy import pairwise_order
    # One network: devices A (10 ms), B (20 ms), C (30 ms) predicted 12, 11, 40: A/B wrong, A/C and
    # B/C right; a second run of A (same device) is never paired with A.
    keys = ["net"] * 4
    devs = ["A", "B", "C", "A"]
    meas = [10.0, 20.0, 30.0, 10.5]
    pred = [12.0, 11.0, 40.0, 12.5]
    assert pairwise_order(keys, devs, pred, meas) == (5, 3)       # A-B, A-C, B-C, B-A', C-A'
    # Only pairs measured more than 1.6x apart: A-B, A-C, B-A', C-A' (B-C is 1.5x); A-C and C-A' right.
    assert pairwise_order(keys, devs, pred, meas, min_ratio=1.6) == (4, 2)


def test_anchored_scales_each_configuration_by_its_anchor_network():
    from augur_sim.measure.ncnn_accuracy import anchored
    # Device X predicted 2x too slow throughout: its anchor fixes the others exactly. Device Y has
    # no anchor run: no prediction. The anchor itself is not predicted.
    keys = ["X", "X", "X", "Y", "Y"]
    models = ["sq", "mb", "rn", "mb", "rn"]
    meas = np.array([10.0, 20.0, 40.0, 20.0, 40.0])
    pred = np.array([20.0, 40.0, 80.0, 30.0, 70.0])
    out = anchored(keys, models, pred, meas, "sq")
    assert np.isnan(out[0]) and out[1:3] == pytest.approx([20.0, 40.0]) and np.isnan(out[3:]).all()


def test_repeat_pairs_pair_each_configuration_measured_twice_and_compare_both_ways():
    from augur_sim.measure.ncnn_accuracy import repeat_pairs, repeat_stats
    # Configuration k1 measured three times (sections 5, 5, 9), k2 once, k3 twice (sections 1, 2).
    keys = ["k1", "k2", "k1", "k3", "k1", "k3"]
    sections = [5, 7, 5, 1, 9, 2]
    i, j, same = repeat_pairs(keys, sections)
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 2), (0, 4), (2, 4), (3, 5)]
    assert dict(zip(zip(i.tolist(), j.tolist()), same.tolist())) == {
        (0, 2): True, (0, 4): False, (2, 4): False, (3, 5): False}
    # 10 ms against 20 ms reads -50% one way and +100% the other, 10 against 10.5 ms -4.8% and +5%:
    # four comparisons, median (5% + 50%) / 2, half of them within 35%.
    s = repeat_stats(np.array([0, 1]), np.array([2, 3]), np.array([10.0, 10.0, 20.0, 10.5]))
    assert s["n"] == 4 and s["median_abs_pct"] == pytest.approx(27.5) and s["within_35"] == 0.5
    # The best single prediction of each pair, at its geometric mean, misses each run by sqrt(2) - 1
    # (10 vs 20 ms) and sqrt(1.05) - 1: the median of the two; only the first pair is more than 35% off.
    assert s["pairs"] == 2 and s["half_median_pct"] == pytest.approx(100 * (2 ** 0.5 + 1.05 ** 0.5 - 2) / 2)
    assert s["half_beyond_35"] == 0.5
    assert repeat_pairs(["a", "b"], [1, 1])[0].size == 0


def test_stats_table_with_extra_columns_has_as_many_header_cells_as_row_cells():
    """A markdown table renders only when its header, delimiter and rows have the same cells (the
    extra columns once ran into the header's last cell)."""
    from augur_sim.measure.ncnn_accuracy import grouped, stats_table
    lines = stats_table("device", grouped(["a", "a", "b"], [1.0, 2.0, 3.0], [1.0, 1.0, 3.0]),
                        ("x", "y"), lambda k: (k + "1", k + "2"))
    cells = [line.count("|") for line in lines]
    assert len(set(cells)) == 1 and lines[0].endswith("| x | y |") and lines[2].endswith("| a1 | a2 |")


def test_scale_removed_divides_out_each_configurations_median_ratio():
    from augur_sim.measure.ncnn_accuracy import pairwise_order, scale_removed, stats
    # Configuration X predicted 2x too slow on every network, Y 0.5x too fast but for one
    # network a further 1.5x off: once each one's scale is out, X is exact and only that
    # network of Y is off, by 1.5x relative to its configuration's median.
    keys = ["X", "X", "X", "Y", "Y", "Y"]
    meas = np.array([10.0, 20.0, 40.0, 10.0, 20.0, 40.0])
    pred = np.array([20.0, 40.0, 80.0, 5.0, 10.0, 30.0])
    rel = scale_removed(keys, pred, meas)
    assert rel[:5] == pytest.approx(meas[:5]) and rel[5] == pytest.approx(60.0)
    assert stats(rel, meas)["within_35"] == pytest.approx(5 / 6)
    # Which network is faster on one configuration: the networks in place of the devices.
    nets = ["a", "b", "c", "a", "b", "c"]
    assert pairwise_order(keys, nets, pred, meas) == (6, 6)
    # A prediction that is not a time is left out, not divided by.
    rel2 = scale_removed(keys, np.array([20.0, 40.0, 80.0, 5.0, 10.0, np.nan]), meas)
    assert np.isnan(rel2[5]) and rel2[3:5] == pytest.approx(meas[3:5])


def test_generated_yaml_is_parsed_once_per_content(tmp_path, monkeypatch):
    """Fit and held-out files are read by every estimate (a sweep: every row); their parse is
    shared while the bytes stay the same, and a rewrite of the same size (within one timestamp
    tick) is read anew."""
    calls = []
    real = yaml.safe_load
    monkeypatch.setattr(ncnn_params.yaml, "safe_load", lambda text: calls.append(1) or real(text))
    p = tmp_path / "fit.yaml"
    p.write_text("a: 1\n")
    assert load_yaml_doc(p) == {"a": 1} and load_yaml_doc(p) == {"a": 1}
    assert len(calls) == 1
    p.write_text("a: 2\n")
    assert load_yaml_doc(p) == {"a": 2} and len(calls) == 2
    p.write_text("a: [\n")
    with pytest.raises(AugurError, match="not valid YAML"):
        load_yaml_doc(p)


def test_gpu_batch_bands_and_key():
    from augur_sim.engine.held_out import batch_band, gpu_key
    assert [batch_band(b) for b in (1, 2, 16, 256)] == ["1", ">1", ">1", ">1"]
    assert gpu_key("pytorch-eager", "fp16", 8) == {"runtime": "pytorch-eager", "precision": "fp16", "batch": ">1"}


def test_shipped_gpu_held_out_error_belongs_to_the_shipped_pytorch_fit():
    """hwspecs/fits/pytorch.held_out.yaml (scripts/h200_kernel_model.py --held-out) describes
    the shipped pytorch.yaml: refitting one without regenerating the other fails here."""
    from augur_sim.hw.kmodel import FITS_DIR
    fit = FITS_DIR / "pytorch.yaml"
    rec = load_held_out(fit)
    assert rec is not None, "hwspecs/fits/pytorch.held_out.yaml missing: run scripts/h200_kernel_model.py --held-out"
    assert rec.runtime == "pytorch" and rec.fit_sha256 == file_sha256(fit)
    graph = rec.lookup({"runtime": "pytorch-cudagraph"})
    assert graph.match == (("runtime", "pytorch-cudagraph"),) and graph.devices == 1 and graph.rows >= 100
    # A run of the eager runtime finds the eager groups, not the CUDA-graph ones.
    eager = rec.lookup({"runtime": "pytorch-eager", "precision": "fp16", "batch": "1"})
    assert dict(eager.match) == {"runtime": "pytorch-eager", "precision": "fp16", "batch": "1"}


def test_gpu_estimate_reports_its_expected_error(capsys):
    from augur_sim.cli import main
    from augur_sim.hw.kmodel import FITS_DIR
    argv = ["estimate", "resnet50", "--hw", "nvidia_l4", "--runtime", "pytorch-cudagraph", "--batch", "16",
            "--precision", "fp16"]
    assert main(argv + ["--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    e = d["assumptions"]["expected_error"]
    assert e["available"], e
    assert e["key"] == {"runtime": "pytorch-cudagraph", "precision": "fp16", "batch": ">1"}
    g = load_held_out(FITS_DIR / "pytorch.yaml").lookup(e["key"])
    assert e["devices"] == g.devices == 1
    t = d["total"]["time_ms"]
    assert e["range_ms"] == pytest.approx([t / g.ratio_p90, t / g.ratio_p10])
    assert e["source"] == "hwspecs/fits/pytorch.held_out.yaml"
    assert main(argv) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("expected error:"))
    assert "on 1 device held out of the fit" in line


def test_gpu_runtime_without_the_kernel_model_reports_no_band(capsys):
    """The specs' roofline runtimes (here the Jetson TX2's default) record no held-out error: the
    estimate says it is not known and why (estimated efficiencies), with no range."""
    from augur_sim.cli import main
    assert main(["estimate", "resnet50", "--hw", "jetson_tx2", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    rec = d["assumptions"]["expected_error"]
    assert rec["available"] is False and "range_ms" not in rec and "cudnn's efficiencies are estimates" in rec["why"]


def test_gpu_estimate_with_a_malformed_held_out_file_exits_2(tmp_path, monkeypatch, capsys):
    import augur_sim.engine.held_out as HO
    from augur_sim.cli import main
    from augur_sim.hw.kmodel import FITS_DIR
    shutil.copy(FITS_DIR / "pytorch.yaml", tmp_path / "pytorch.yaml")
    (tmp_path / "pytorch.held_out.yaml").write_text("runtime: pytorch\ngroups: [\n")
    monkeypatch.setattr(HO, "FITS_DIR", tmp_path)
    rc = main(["estimate", "resnet18", "--hw", "nvidia_l4", "--runtime", "pytorch-cudagraph"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "pytorch.held_out.yaml" in err[0] and "not valid YAML" in err[0]


def test_band_stretch_is_the_smallest_that_holds_80_percent_worked_by_hand():
    """Every run's band 0.8x .. 1.25x around 1.0; per device 7 runs at ratio 1.0, 2 at 1.4, 1 at
    2.0: the band as it is holds 70%; 1.25^s reaches 1.4 at s = ln 1.4 / ln 1.25 = 1.508, so
    s = 1.51 holds 90% (1.50 still 70%), on every device alike (nested: 90% too)."""
    from augur_sim.measure.held_out import band_inside, fit_band_stretch
    ratios = [1.0] * 7 + [1.4] * 2 + [2.0]
    devs = [f"d{d}" for d in range(5) for _ in ratios]
    meas = np.full(50, 10.0)
    pred = meas * np.tile(ratios, 5)
    q = np.tile([0.8, 1.0, 1.25], (50, 1))
    assert band_inside(pred, meas, q).mean() == pytest.approx(0.7)
    assert band_inside(pred, meas, q, 1.50).mean() == pytest.approx(0.7)
    stretch, nested = fit_band_stretch(devs, pred, meas, q)
    assert stretch == 1.51 and nested.mean() == pytest.approx(0.9)
    q[:10] = np.nan                                     # a device without a band: never inside
    assert not band_inside(pred, meas, q, 3.0)[:10].any()


def test_band_stretch_widens_the_estimates_range_in_log(tmp_path):
    from augur_sim.report import expected_error_lines
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    doc = _doc(sha=file_sha256(fit), band_stretch=2.0)
    companion_path(fit).write_text(yaml.safe_dump(doc))
    e = expected_error(fit, {"family": "a", "threads": "1"}, 0.012, "ncnn")
    # Group (a, 1): p10 0.8, p50 1.0, p90 1.25 -> widened to 0.64 .. 1.5625.
    assert (e["band_low"], e["band_high"]) == pytest.approx((0.64, 1.5625))
    assert e["range_ms"] == pytest.approx([12.0 / 1.5625, 12.0 / 0.64])
    line = expected_error_lines(e)[0]
    assert "80% measured 0.80x to 1.25x the prediction, the band widened x2.00 in log to 0.64x to 1.56x" in line
    # Without it: the 10th-90th percentile range as it is, and the line says nothing of widening.
    companion_path(fit).write_text(yaml.safe_dump(_doc(sha=file_sha256(fit))))
    e = expected_error(fit, {"family": "a", "threads": "1"}, 0.012, "ncnn")
    assert e["range_ms"] == pytest.approx([12.0 / 1.25, 12.0 / 0.8])
    assert "widened" not in expected_error_lines(e)[0]


@pytest.mark.parametrize("value", [0.5, 11, "wide", True])
def test_band_stretch_out_of_range_is_refused(value):
    with pytest.raises(AugurError, match="band_stretch.*expected a number in"):
        parse_held_out(_doc(band_stretch=value), "fit.held_out.yaml")


def test_rel_band_stretch_widens_the_relative_band_around_its_geometric_centre(tmp_path):
    """rel_ratio_p10 0.9, rel_ratio_p90 1.1 (centre sqrt(0.99) = 0.99499), stretch 2:
    0.99499 (0.9 / 0.99499)^2 = 0.81407 .. 0.99499 (1.1 / 0.99499)^2 = 1.21608; the text
    keeps the measured 80% and says how far it was widened; the spec-only band is untouched."""
    from augur_sim.report import relative_error_lines
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    doc = _doc(sha=file_sha256(fit), rel_band_stretch=2.0)
    _with_rel(doc)
    companion_path(fit).write_text(yaml.safe_dump(doc))
    e = expected_error(fit, {"family": "a", "threads": "1"}, 0.012, "ncnn")
    r = e["relative"]
    assert (r["band_low"], r["band_high"]) == pytest.approx((0.81407, 1.21608), rel=1e-4)
    assert r["band_stretch"] == 2.0 and e["range_ms"] == pytest.approx([12.0 / 1.25, 12.0 / 0.8])
    line = relative_error_lines(r)[0]
    assert "80% of those runs measured 0.91x to 1.11x the prediction, widened x2.00 in log to 0.82x to 1.23x" in line
    # The measurement side widens a band without a p50 the same way.
    from augur_sim.measure.held_out import stretched
    lo, hi = stretched(np.array([[0.9, np.nan, 1.1]]), 2.0)
    assert (lo[0], hi[0]) == pytest.approx((r["band_low"], r["band_high"]))
    # Without the key the relative band is the percentiles as they are.
    doc.pop("rel_band_stretch")
    companion_path(fit).write_text(yaml.safe_dump(doc))
    r = expected_error(fit, {"family": "a", "threads": "1"}, 0.012, "ncnn")["relative"]
    assert (r["band_low"], r["band_high"]) == (0.9, 1.1) and "widened" not in relative_error_lines(r)[0]


@pytest.mark.parametrize("value", [0.5, 11, "wide", True])
def test_rel_band_stretch_out_of_range_or_without_relative_to_is_refused(value):
    doc = _doc(rel_band_stretch=value)
    _with_rel(doc)
    with pytest.raises(AugurError, match="rel_band_stretch.*expected a number in"):
        parse_held_out(doc, "fit.held_out.yaml")
    with pytest.raises(AugurError, match="rel_band_stretch.*expected with relative_to"):
        parse_held_out(_doc(rel_band_stretch=1.5), "fit.held_out.yaml")


def test_a_batch_above_one_gets_the_batch_one_band_and_says_so(capsys):
    """benchncnn ran batch 1 only: an ncnn (or ncnn-vulkan) estimate at batch 4 reports the band
    of those batch-1 runs, the same ratios as at batch 1, and says whose band it is."""
    from augur_sim.cli import main
    param = _mobilenet()
    for hw, extra in (("raspberry_pi_4_1800", ["--runtime", "ncnn", "--threads", "4"]),
                      ("rockchip_rk3588_vulkan", ["--runtime", "ncnn-vulkan"])):
        recs = {}
        for b in (1, 4):
            assert main(["estimate", str(param), "--hw", hw, *extra, "--batch", str(b), "--format", "json"]) == 0
            recs[b] = json.loads(capsys.readouterr().out)["assumptions"]["expected_error"]
        assert recs[1]["available"] and recs[4]["available"] and "extrapolated" not in recs[1]
        assert recs[4]["extrapolated"].startswith("benchncnn ran batch 1 only") and "batch 4" in recs[4]["extrapolated"]
        assert (recs[4]["band_low"], recs[4]["band_high"]) == (recs[1]["band_low"], recs[1]["band_high"])
        assert main(["estimate", str(param), "--hw", hw, *extra, "--batch", "4"]) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("expected error:"))
        assert "(benchncnn ran batch 1 only: the band is of batch-1 runs, this estimate is batch 4)" in line


def test_order_by_predicted_gap_bins_device_pairs_by_their_predicted_gap():
    """By hand: one network on devices A (10 ms), B (20 ms), C (30 ms), predicted 12, 11, 40 ms,
    and a second run of A. Pairs (predicted gap, ordered right?): A-B 12/11 = 1.09 (wrong),
    A-C 3.33 (right), B-C 3.64 (right), B-A' 12.5/11 = 1.14 (wrong), C-A' 3.2 (right); A-A' is one
    device, never paired."""
    from augur_sim.measure.ncnn_accuracy import order_by_predicted_gap
    bins = order_by_predicted_gap(["net"] * 4, ["A", "B", "C", "A"], [12.0, 11.0, 40.0, 12.5],
                                  [10.0, 20.0, 30.0, 10.5], edges=(1.0, 1.1, 1.25, 2.0))
    assert [(b["ratio_from"], b["pairs"], b["ordered"]) for b in bins] == [
        (1.0, 1, 0.0), (1.1, 1, 0.0), (1.25, 0, 0.0), (2.0, 3, 1.0)]
    # Plain numbers: the held-out file is written with yaml.safe_dump.
    assert yaml.safe_load(yaml.safe_dump(bins)) == bins


def _with_order(d, bins=None):
    d["device_order"] = bins if bins is not None else [
        {"ratio_from": 1.0, "ratio_to": 1.25, "pairs": 100, "ordered": 0.6},
        {"ratio_from": 1.25, "ratio_to": 2.0, "pairs": 50, "ordered": 0.8},
        {"ratio_from": 2.0, "ratio_to": 1000.0, "pairs": 400, "ordered": 0.97}]


@pytest.mark.parametrize("bins, where, what", [
    ([], "device_order", "non-empty list"),
    ([{"ratio_from": 1.0, "ratio_to": 2.0, "pairs": 3}], "device_order[0]", "exactly ratio_from"),
    ([{"ratio_from": 1.1, "ratio_to": 2.0, "pairs": 3, "ordered": 0.5}], "device_order[0]", "from 1x upwards"),
    ([{"ratio_from": 1.0, "ratio_to": 2.0, "pairs": 3, "ordered": 0.5},
      {"ratio_from": 2.5, "ratio_to": 9.0, "pairs": 3, "ordered": 0.5}], "device_order[1]", "where the last ended"),
    ([{"ratio_from": 1.0, "ratio_to": 1.0, "pairs": 3, "ordered": 0.5}], "device_order[0]", "above its start"),
    ([{"ratio_from": 1.0, "ratio_to": 2.0, "pairs": 3, "ordered": 1.5}], "device_order[0].ordered", "expected a number"),
    ([{"ratio_from": 1.0, "ratio_to": 2.0, "pairs": -1, "ordered": 0.5}], "device_order[0].pairs", "an integer"),
])
def test_malformed_device_order_is_refused_with_its_path(bins, where, what):
    doc = _doc()
    _with_order(doc, bins)
    _assert_refused(doc, where, what)


def _assert_refused(doc, where, what):
    """parse_held_out refuses `doc` in one message naming the file, the YAML path and what was expected."""
    with pytest.raises(AugurError) as e:
        parse_held_out(doc, "fit.held_out.yaml")
    msg = str(e.value)
    assert "fit.held_out.yaml" in msg and where in msg and what in msg, msg


def test_order_confidence_looks_up_the_predicted_gap(tmp_path):
    from augur_sim.engine.held_out import order_confidence, order_summary
    doc = _doc()
    _with_order(doc)
    rec = parse_held_out(doc, "fit.held_out.yaml")
    assert order_confidence(rec, 1.1)["ordered"] == 0.6
    assert order_confidence(rec, 1 / 1.1)["ordered"] == 0.6          # either order of the two devices
    assert order_confidence(rec, 1.25)["ordered"] == 0.8             # a bin holds its lower edge
    assert order_confidence(rec, 5000.0)["ordered"] == 0.97          # the last bin is open-ended
    assert order_confidence(parse_held_out(_doc(), "x"), 1.5) is None  # no table: nothing to say
    assert order_summary(rec) == "1x to 1.25x: 60% of 100; 1.25x to 2x: 80% of 50; 2x or more: 97% of 400"
    # Written and read back; an estimate (spec-only) carries the table for comparisons.
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    keys, devs, pred, meas = _runs()
    write_held_out(fit, "ncnn", "p", "c", ("family", "threads"),
                   summarise(keys, devs, pred, meas, [("family", "threads"), ("family",)]),
                   device_order=doc["device_order"])
    e = expected_error(fit, {"family": "a", "threads": "1"}, 0.012, "ncnn")
    assert e["device_order"] == doc["device_order"]


def test_shipped_ncnn_held_out_records_device_order_and_it_reaches_comparisons(tmp_path):
    """The shipped held-out file (scripts/accuracy_ncnn.py) carries device_order; a report of two
    devices under ncnn quotes the bin of their predicted gap, and a sweep of two devices under
    ncnn notes the table; one device gets no such note."""
    from augur_sim.cli import main
    from augur_sim.engine.held_out import order_confidence
    from augur_sim.estimator import estimate
    from augur_sim.explore import sweep as S
    rec = load_held_out(DEFAULT_FIT)
    assert rec is not None and rec.fit_sha256 == file_sha256(DEFAULT_FIT)
    assert len(rec.device_order) >= 3 and rec.device_order[0][0] == 1.0
    # More predicted apart, more often ordered right (the corpus' held-out pairs).
    shares = [b[3] for b in rec.device_order]
    assert shares == sorted(shares) and shares[-1] > 0.9
    kw = dict(runtime="ncnn", threads=4, cores="big")
    a = estimate("squeezenet1_1", "rockchip_rk3588", **kw)
    b = estimate("squeezenet1_1", "raspberry_pi_4_1800", **kw)
    ratio = b.total.time_s / a.total.time_s
    want = order_confidence(rec, ratio)
    out = tmp_path / "r.html"
    assert main(["report", "squeezenet1_1", "--hw", "rockchip_rk3588", "raspberry_pi_4_1800", "--runtime", "ncnn",
                 "--threads", "4", "--out", str(out)]) == 0
    text = out.read_text()
    assert f"{100 * want['ordered']:.0f}% of {want['pairs']:,} ordered so by measurement" in text
    # At --cores all without --threads each device runs its own count (the RK3588 8, the Pi 4 4):
    # the held-out pairs ran one count on both, so no quote.
    assert main(["report", "squeezenet1_1", "--hw", "rockchip_rk3588", "raspberry_pi_4_1800", "--runtime", "ncnn",
                 "--cores", "all", "--out", str(out)]) == 0
    assert "ordered so by measurement" not in out.read_text()
    nets = S.expand_nets(["squeezenet1_1"])
    two = S.run_sweep(nets, S.expand_hw(["rockchip_rk3588", "raspberry_pi_4_1800"]), [1], ["fp32"], None,
                      runtime="ncnn")
    assert [n for n in two.notes if n.startswith("which of two devices is faster (ncnn rows)")]
    one = S.run_sweep(nets, S.expand_hw(["rockchip_rk3588"]), [1], ["fp32"], None, runtime="ncnn")
    assert not [n for n in one.notes if n.startswith("which of two devices")]


def test_placement_choice_by_hand():
    """Device D, network n at three placements: measured (big,1) 30, (big,4) 12, (all,8) 10 ms,
    predicted 31, 11, 14: the predicted fastest (big,4) is not the fastest, but within 20% (12/10),
    not within 10%; the most threads (all,8) is the fastest. Network m at two placements, (big,1)
    measured 20 and 22 ms (re-measured: geometric mean 20.98) and (big,4) 8, predicted 21, 7: right.
    A third group with one placement counts nowhere."""
    from augur_sim.measure.ncnn_accuracy import placement_choice
    groups = [("D", "n")] * 3 + [("D", "m")] * 3 + [("E", "n")]
    places = [("big", 1), ("big", 4), ("all", 8), ("big", 1), ("big", 1), ("big", 4), ("big", 1)]
    threads = [p[1] for p in places]
    pred = [31.0, 11.0, 14.0, 21.0, 21.0, 7.0, 5.0]
    meas = [30.0, 12.0, 10.0, 20.0, 22.0, 8.0, 5.0]
    two, three = placement_choice(groups, places, threads, pred, meas)
    assert two == {"min_placements": 2, "groups": 2, "fastest": 0.5, "within_10": 0.5, "most_threads_within_10": 1.0}
    assert three == {"min_placements": 3, "groups": 1, "fastest": 0.0, "within_10": 0.0,
                     "most_threads_within_10": 1.0}
    # The slack: at 15% the (big,4) pick of network n (12 vs 10 ms: 20% slower) still misses, at 25% it counts.
    assert placement_choice(groups, places, threads, pred, meas, minima=(3,), slack=0.15)[0]["within_10"] == 0.0
    assert placement_choice(groups, places, threads, pred, meas, minima=(3,), slack=0.25)[0]["within_10"] == 1.0


def _with_placement(d, entries=None):
    d["placement_choice"] = entries if entries is not None else [
        {"min_placements": 2, "groups": 1000, "fastest": 0.8, "within_10": 0.9, "most_threads_within_10": 0.75},
        {"min_placements": 3, "groups": 400, "fastest": 0.65, "within_10": 0.8, "most_threads_within_10": 0.5}]


@pytest.mark.parametrize("entries, where, what", [
    ([], "placement_choice", "non-empty list"),
    ([{"min_placements": 2, "groups": 3}], "placement_choice[0]", "exactly min_placements"),
    ([{"min_placements": 1, "groups": 3, "fastest": 0.5, "within_10": 0.5, "most_threads_within_10": 0.5}],
     "placement_choice[0].min_placements", "expected an integer in [2"),
    ([{"min_placements": 3, "groups": 3, "fastest": 0.5, "within_10": 0.5, "most_threads_within_10": 0.5},
      {"min_placements": 2, "groups": 3, "fastest": 0.5, "within_10": 0.5, "most_threads_within_10": 0.5}],
     "placement_choice[1].min_placements", "above the last entry's (3)"),
    ([{"min_placements": 2, "groups": 3, "fastest": 1.5, "within_10": 0.5, "most_threads_within_10": 0.5}],
     "placement_choice[0].fastest", "expected a number"),
    ([{"min_placements": 2, "groups": 0, "fastest": 0.5, "within_10": 0.5, "most_threads_within_10": 0.5}],
     "placement_choice[0].groups", "an integer"),
])
def test_malformed_placement_choice_is_refused_with_its_path(entries, where, what):
    doc = _doc()
    _with_placement(doc, entries)
    _assert_refused(doc, where, what)


def test_placement_summary_quotes_the_entry_of_the_sweeps_placements(tmp_path):
    from augur_sim.engine.held_out import placement_summary
    doc = _doc()
    _with_placement(doc)
    rec = parse_held_out(doc, "fit.held_out.yaml")
    assert placement_summary(rec, 1) is None
    two = placement_summary(rec, 2)
    assert "1,000 held-out device x network groups with 2 or more" in two and "fastest in 80%" in two \
        and "within 10% of it in 90%" in two and "most threads: 75%" in two
    assert "400 held-out" in placement_summary(rec, 6) and "within 10% of it in 80%" in placement_summary(rec, 6)
    assert placement_summary(parse_held_out(_doc(), "x"), 4) is None
    # Written and read back.
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    keys, devs, pred, meas = _runs()
    out = write_held_out(fit, "ncnn", "p", "c", ("family", "threads"),
                         summarise(keys, devs, pred, meas, [("family", "threads"), ("family",)]),
                         placement_choice=doc["placement_choice"])
    assert load_held_out(fit).placement_choice == rec.placement_choice and out.is_file()
