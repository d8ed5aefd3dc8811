"""Estimates anchored on a network measured on the device (`augur estimate --anchor NET=MS`,
estimator.apply_anchors) and the held-out band they report (the anc_* figures of
engine/held_out.py, written by measure/held_out.summarise)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from augur_sim.engine.held_out import expected_error, load_held_out
from augur_sim.engine.ncnn_params import DEFAULT_FIT
from augur_sim.engine.ncnn_vulkan import DEFAULT_VK_FIT
from augur_sim.errors import AugurError
from augur_sim.estimator import estimate
from augur_sim.measure.held_out import anchored_band_coverage, anchored_pairs, summarise, write_held_out
from augur_sim.measure.ncnn_accuracy import scale_removed

# The hand-worked runs: device 0 predicted 2x its measured times except its third network,
# 3x; device 1 predicted 0.5x every one.
MEAS = [10.0, 20.0, 40.0, 5.0, 6.0, 7.0]
PRED = [20.0, 40.0, 120.0, 2.5, 3.0, 3.5]
DEVS = ["d0", "d0", "d0", "d1", "d1", "d1"]
KEYS = [{"family": "a"}] * 6


def test_anchored_pairs_are_every_ordered_pair_within_a_configuration():
    a, b = anchored_pairs(DEVS, np.ones(6, dtype=bool))
    assert sorted(zip(a.tolist(), b.tolist())) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1),
                                                   (3, 4), (3, 5), (4, 3), (4, 5), (5, 3), (5, 4)]
    ok = np.array([True, True, False, True, True, True])          # run 2 unusable: no pair holds it
    a, b = anchored_pairs(DEVS, ok)
    assert len(a) == 8 and 2 not in a and 2 not in b


def test_anchored_figures_worked_by_hand():
    """Device 0: anchored on a 2x network, the 3x one reads 1.5x (twice); anchored on the 3x one,
    the others read 2/3x (twice); the two 2x ones anchor each other exactly. Device 1: 6 exact
    pairs. Ratios: eight 1.0, two 1.5, two 0.667."""
    g = summarise(KEYS, DEVS, PRED, MEAS, [("family",)], min_rows=1, min_devices=1, configs=DEVS)
    top = next(x for x in g if "family" not in x)
    assert top["anc_pairs"] == 12
    assert top["anc_median_abs_pct"] == 0.0                        # 8 of 12 pairs exact
    assert top["anc_within_35"] == pytest.approx(10 / 12, abs=1e-3)  # all but the two 1.5x
    hand = [1.0] * 8 + [1.5, 1.5, 2 / 3, 2 / 3]
    assert top["anc_ratio_p10"] == pytest.approx(np.percentile(hand, 10), abs=1e-3)
    assert top["anc_ratio_p90"] == pytest.approx(np.percentile(hand, 90), abs=1e-3)
    # The spec-only figures of the same runs: 2x, 2x, 3x and 0.5x three times.
    assert top["median_abs_pct"] == pytest.approx(75.0)
    # Device 0 alone: |errors| 0, 0, 1/3, 1/3, 1/2, 1/2 -> median 1/3; 4 of 6 within 35%.
    d0 = summarise(KEYS[:3], DEVS[:3], PRED[:3], MEAS[:3], [], min_rows=1, min_devices=1, configs=DEVS[:3])[0]
    assert d0["anc_pairs"] == 6 and d0["anc_median_abs_pct"] == pytest.approx(33.3, abs=0.1)
    assert d0["anc_within_35"] == pytest.approx(4 / 6, abs=1e-3)


def test_a_group_whose_runs_each_stand_alone_is_an_error():
    with pytest.raises(ValueError, match="no run has another of its configuration"):
        summarise(KEYS, DEVS, PRED, MEAS, [], min_rows=1, min_devices=1, configs=list(range(6)))


def test_anchored_band_coverage_leaves_each_device_out():
    """Each device's pairs judged by the band of the other device's pairs: device 1's exact
    pairs fall inside device 0's band (which holds 1.0); device 0's 1.5x and 2/3x pairs fall
    outside device 1's band (exactly 1.0), its exact pairs inside."""
    inside = anchored_band_coverage(KEYS, DEVS, PRED, MEAS, [("family",)], ("family",), DEVS)
    a, b = anchored_pairs(DEVS, np.ones(6, dtype=bool))
    want = [not (j < 3 and 2 in (i, j)) for i, j in zip(a.tolist(), b.tolist())]
    assert inside.tolist() == want


def test_written_anchored_figures_reach_expected_error(tmp_path):
    fit = tmp_path / "fit.yaml"
    fit.write_text("default: {}\n")
    groups = summarise(KEYS, DEVS, PRED, MEAS, [("family",)], min_rows=1, min_devices=1, configs=DEVS,
                       rel=scale_removed(DEVS, PRED, MEAS))
    write_held_out(fit, "ncnn", "p", "c", ("family",), groups, relative_to="device")
    e = expected_error(fit, {"family": "a"}, 0.012, "ncnn", anchored=True)
    assert e["anchored"] and e["rows"] == 12 and e["anchored_within"] == "device"
    g = load_held_out(fit).lookup({"family": "a"})
    assert e["range_ms"] == pytest.approx([12.0 / g.anc_ratio_p90, 12.0 / g.anc_ratio_p10])
    plain = expected_error(fit, {"family": "a"}, 0.012, "ncnn")
    assert "anchored" not in plain and plain["rows"] == 6
    # A file without anchored figures: an anchored estimate gets no band, and says why.
    write_held_out(fit, "ncnn", "p", "c", ("family",),
                   summarise(KEYS, DEVS, PRED, MEAS, [("family",)], min_rows=1, min_devices=1))
    e = expected_error(fit, {"family": "a"}, 0.012, "ncnn", anchored=True)
    assert not e["available"] and "no anchored held-out error" in e["why"]


PI = dict(hw="raspberry_pi_4_1800", runtime="ncnn", threads=4)


def test_an_anchor_scales_every_time_by_its_measured_over_predicted():
    base = estimate("mobilenet_v1", **PI)
    sq = estimate("squeezenet1_1", **PI).total.time_s * 1e3
    est = estimate("mobilenet_v1", anchors=[("squeezenet1_1", 2.0 * sq)], **PI)
    assert est.total.time_s == pytest.approx(2.0 * base.total.time_s)
    assert [l.time_s for l in est.layers] == pytest.approx([2.0 * l.time_s for l in base.layers])
    assert {k: v for k, v in est.total.bound_time_s.items()} == pytest.approx(
        {k: 2.0 * v for k, v in base.total.bound_time_s.items()})
    # Counts, memory and energy stay the model's; the spec-only estimate is untouched.
    assert est.total.macs == base.total.macs and est.total.peak_memory_bytes == base.total.peak_memory_bytes
    assert est.total.energy_j == base.total.energy_j
    assert base.total.time_s == pytest.approx(estimate("mobilenet_v1", **PI).total.time_s)
    a = est.assumptions["anchor"]
    assert a["scale"] == pytest.approx(2.0) and a["spec_only_time_ms"] == pytest.approx(base.total.time_s * 1e3)
    assert a["anchors"][0]["net"] == "squeezenet1_1" and a["anchors"][0]["predicted_ms"] == pytest.approx(sq)
    # Two anchors: the median (geometric mean) of their ratios, 2x and 8x -> 4x.
    r = estimate("resnet18", **PI).total.time_s * 1e3
    est2 = estimate("mobilenet_v1", anchors=[("squeezenet1_1", 2.0 * sq), ("resnet18", 8.0 * r)], **PI)
    assert est2.total.time_s == pytest.approx(4.0 * base.total.time_s)


def test_an_anchored_ncnn_estimate_reports_the_anchored_band():
    rec = load_held_out(DEFAULT_FIT)
    assert rec is not None and rec.lookup({}).anc_pairs is not None, \
        "measurements/ncnn/fit.held_out.yaml has no anchored figures: run scripts/accuracy_ncnn.py"
    sq = estimate("squeezenet1_1", **PI).total.time_s * 1e3
    base = estimate("mobilenet_v1", **PI)
    est = estimate("mobilenet_v1", anchors=[("squeezenet1_1", 1.5 * sq)], **PI)
    e, e0 = est.assumptions["expected_error"], base.assumptions["expected_error"]
    assert e["available"] and e["anchored"] and not e0.get("anchored")
    g = rec.lookup(e["key"])
    t = est.total.time_s * 1e3
    assert e["range_ms"] == pytest.approx([t / g.anc_ratio_p90, t / g.anc_ratio_p10])
    assert e["rows"] == g.anc_pairs and e["median_abs_pct"] == g.anc_median_abs_pct
    # The held-out runs say an anchor narrows the band: the anchored one is the narrower.
    assert g.anc_ratio_p90 / g.anc_ratio_p10 < g.ratio_p90 / g.ratio_p10


def test_a_runtime_without_held_out_figures_is_still_anchored():
    base = estimate("mobilenet_v1", "raspberry_pi_4_1800")
    sq = estimate("squeezenet1_1", "raspberry_pi_4_1800").total.time_s * 1e3
    est = estimate("mobilenet_v1", "raspberry_pi_4_1800", anchors=[("squeezenet1_1", 3.0 * sq)])
    assert est.total.time_s == pytest.approx(3.0 * base.total.time_s)
    assert "anchor" in est.assumptions


def test_anchored_vulkan_estimate_reports_its_anchored_band():
    rec = load_held_out(DEFAULT_VK_FIT)
    assert rec is not None and rec.lookup({}).anc_pairs is not None
    kw = dict(hw="jetson_orin_nano_vulkan", runtime="ncnn-vulkan")
    sq = estimate("squeezenet1_1", **kw).total.time_s * 1e3
    est = estimate("mobilenet_v1", anchors=[("squeezenet1_1", sq)], **kw)
    e = est.assumptions["expected_error"]
    assert e["available"] and e["anchored"] and e["anchored_within"] == "GPU"


@pytest.mark.parametrize("anchor, what", [
    ("squeezenet1_1", "expected NET=MS"),
    ("squeezenet1_1=", "expected NET=MS"),
    ("=3", "expected NET=MS"),
    ("squeezenet1_1=fast", "expected NET=MS"),
    ("squeezenet1_1=-3", "positive"),
    ("squeezenet1_1=0", "positive"),
    ("squeezenet1_1=inf", "positive"),
    ("squeezenet1_1=nan", "positive"),
    ("squeezenet1_1=1e9", "at most 1e7"),
    ("no_such_net=3", "no_such_net"),
])
def test_bad_anchor_exits_2_with_one_line(anchor, what, capsys, tmp_path):
    from augur_sim.cli import main
    out = tmp_path / "o.json"
    rc = main(["estimate", "mobilenet_v1", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn",
               "--anchor", anchor, "--format", "json", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and what in err[0], err
    assert not out.exists()
    if what == "no_such_net":
        # An anchor that fails to estimate says it is the anchor, not the estimated network.
        assert err[0].startswith("augur: error: --anchor no_such_net=3: "), err


def test_too_many_anchors_are_refused():
    with pytest.raises(AugurError, match="at most 16 anchors"):
        estimate("mobilenet_v1", anchors=[("squeezenet1_1", 1.0)] * 17, **PI)


def test_cli_anchor_prints_how_and_the_anchored_band(capsys):
    from augur_sim.cli import main
    sq = estimate("squeezenet1_1", **PI).total.time_s * 1e3
    argv = ["estimate", "mobilenet_v1", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn", "--threads", "4",
            "--anchor", f"squeezenet1_1={2 * sq}"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "anchored: every time above is the model's x2 (squeezenet1_1 measured" in text
    assert "held-out pairs of runs like this one" in text
    assert main(argv + ["--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    base = estimate("mobilenet_v1", **PI).total.time_s * 1e3
    assert d["total"]["time_ms"] == pytest.approx(2 * base)
    assert d["assumptions"]["anchor"]["time_ms"] == pytest.approx(2 * base)
    assert sum(x["time_ms"] for x in d["layers"]) == pytest.approx(2 * base)
    assert main(argv + ["--format", "summary"]) == 0
    assert "anchored: every time above" in capsys.readouterr().out


def test_anchor_choice_ranks_the_network_the_model_prices_off_last():
    """Two configurations of four networks; the model prices 'odd' 2x off the others' scale: as
    the anchor it throws the three others off by 2x (0.5x), while 'a', 'b' or 'c' as the anchor
    read the two others exactly and only 'odd' off."""
    from augur_sim.measure.ncnn_accuracy import anchor_choice_lines
    keys = ["c0"] * 4 + ["c1"] * 4
    models = ["odd", "a", "b", "c"] * 2
    meas = [30.0, 10.0, 20.0, 40.0, 3.0, 1.0, 2.0, 4.0]
    pred = [90.0, 15.0, 30.0, 60.0, 3.0, 0.5, 1.0, 2.0]   # c0 at 1.5x (odd 3x), c1 at 0.5x (odd 1x)
    lines = anchor_choice_lines(keys, models, pred, meas)
    rows = [[c.strip() for c in x.strip("|").split("|")] for x in lines[2:]]
    assert [r[0] for r in rows] == ["a", "b", "c", "odd"]
    assert rows[-1][1:6] == ["2", "6", "50%", "0%", "0%"]   # anchored on odd: every other run read 0.5x
    assert rows[0][1:6] == ["2", "6", "0%", "67%", "67%"]   # on a: b, c exact; odd 2x in both


def test_anchors_run_at_the_estimates_batch_and_the_gpu_model_reports_its_anchored_band(capsys):
    """A batch-16 estimate's anchor is the anchor network at batch 16 (what the user timed with
    the same settings), and a pytorch-cudagraph estimate reports the H200's anchored pairs."""
    from augur_sim.cli import main
    kw = dict(hw="nvidia_l4", runtime="pytorch-cudagraph", precision="fp16")
    r18_b16 = estimate("resnet18", batch=16, **kw).total.time_s * 1e3
    r18_b1 = estimate("resnet18", **kw).total.time_s * 1e3
    assert r18_b16 > 2 * r18_b1
    base = estimate("resnet50", batch=16, **kw)
    est = estimate("resnet50", batch=16, anchors=[("resnet18", 2 * r18_b16)], **kw)
    assert est.total.time_s == pytest.approx(2 * base.total.time_s)
    assert est.assumptions["anchor"]["anchors"][0]["predicted_ms"] == pytest.approx(r18_b16)
    e = est.assumptions["expected_error"]
    assert e["available"] and e["anchored"] and e["key"]["batch"] == ">1"
    # The CLI passes --batch on to the anchors.
    assert main(["estimate", "resnet50", "--hw", "nvidia_l4", "--runtime", "pytorch-cudagraph", "--precision",
                 "fp16", "--batch", "16", "--anchor", f"resnet18={2 * r18_b16}", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["total"]["time_ms"] == pytest.approx(2 * base.total.time_s * 1e3)


def test_anchored_sets_worked_by_hand():
    """One configuration, predicted / measured r = 2, 2, 3, 1. One anchor: every r_b / r_a (12);
    two anchors: r_b over the geometric mean of the pair's r, e.g. {0, 1} (mean 2) anchoring 3 ->
    1.5 and 1 -> 0.5; {2, 3} (mean sqrt 3) anchoring each 2 -> 2 / sqrt 3."""
    from augur_sim.measure.ncnn_accuracy import anchored_sets, per_run_anchored
    keys, pred, meas = ["c"] * 4, [2.0, 4.0, 9.0, 1.0], [1.0, 2.0, 3.0, 1.0]
    one = sorted(np.exp(anchored_sets(keys, pred, meas, 1)[0]))
    assert one == pytest.approx(sorted([1, 2 / 3, 2, 1, 2 / 3, 2, 1.5, 1.5, 3, 0.5, 0.5, 1 / 3]))
    r6, r2, r3 = 6 ** 0.5, 2 ** 0.5, 3 ** 0.5
    err, who = anchored_sets(keys, pred, meas, 2)
    two = sorted(np.exp(err))
    assert two == pytest.approx(sorted([1.5, 0.5,                     # {0, 1}
                                        2 / r6, 1 / r6, 2 / r6, 1 / r6,  # {0, 2}, {1, 2}
                                        2 / r2, 3 / r2, 2 / r2, 3 / r2,  # {0, 3}, {1, 3}
                                        2 / r3, 2 / r3]))                # {2, 3}
    # Each run predicted by the three pairs without it; run 2 (r = 3) by {0,1}: 1.5, {0,3} and
    # {1,3}: 3 / sqrt 2 (2.12): median |error| 112%, none within 35%.
    assert sorted(np.bincount(who).tolist()) == [3, 3, 3, 3]
    s = per_run_anchored(err, who)
    assert s["runs"] == 4
    per_run = {b: sorted(np.exp(err[who == b])) for b in range(4)}
    assert per_run[2] == pytest.approx([1.5, 3 / r2, 3 / r2])
    # Medians per run: 0 and 1 -> 2/sqrt6 (18.4%; their sets give 0.82, 1.41, 1.15), 2 -> 3/sqrt2
    # (112%), 3 -> 1/sqrt6 (59%); the median of the four: (18.4 + 59.2) / 2.
    assert s["median_abs_pct"] == pytest.approx(100 * np.median([1 - 2 / r6, 1 - 2 / r6, 3 / r2 - 1,
                                                                 1 - 1 / r6]))
    # Within 35%: run 0 has {1,2} 0.82 (18%), {1,3} 1.41 (41%), {2,3} 1.15 (15%): 2 of 3; run 1 alike;
    # run 2 none; run 3 (0.5, 0.41, 0.41) none.
    assert s["within_35"] == pytest.approx((2 / 3 + 2 / 3) / 4)
    # A key with no more runs than the set: no prediction from it.
    assert len(anchored_sets(["a", "a"], [1.0, 2.0], [1.0, 1.0], 2)[0]) == 0
