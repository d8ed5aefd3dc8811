"""The three evaluation paths (estimate, what-if, sweep) reproduce, bit for bit, the numbers
recorded in tests/golden/paths_zoo.json for the 14 zoo networks x 3 devices.

The file was first recorded at commit e41bb4c, before the evaluation path was unified
(augur_sim/evaluate.py), so this test is what shows the redesign changed no number. A
change to the model that moves numbers on purpose regenerates it with
`pytest tests/test_paths_golden.py --update-golden` and says why in the commit message."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import augur_sim
from augur_sim.explore import sweep as S
from augur_sim.explore import whatif as W

GOLDEN = Path(__file__).resolve().parent / "golden" / "paths_zoo.json"
NETS = ["alexnet", "densenet121", "efficientnet_b0", "googlenet", "inception_v3", "mobilenet_v1",
        "mobilenet_v2", "resnet152", "resnet18", "resnet50", "shufflenet_v2_x1_0", "squeezenet1_0",
        "squeezenet1_1", "vgg16"]
DEVICES = ["jetson_tx2", "raspberry_pi_4", "nvidia_h200"]
PRECISIONS = ("fp32", "fp16", "int8")


def _record(net: str, dev, pack) -> dict:
    g = augur_sim.load_net(net)
    e = augur_sim.estimate(g, dev)
    t = e.total
    key = f"{e.processor}.dram_bw_gbs"
    gr = W.grid(g, dev, [W.Axis(key, (10, 50, 200))])
    c = W.compare(g, dev, {key: 25})
    spec = S.expand_nets([net])[0]
    sweep = []
    for p in PRECISIONS:
        sweep += S.evaluate_item(S.Item(spec, 1, p), pack)
    for r in sweep:
        r.pop("net_source")  # a path: differs between checkouts
        # Columns of `--runtime ncnn` and `--anchor` sweeps (added after the file was recorded):
        # empty here.
        for col in ("threads", "cores", "anchor_scale"):
            assert r.pop(col) is None, col
        # The expected range (added after the file was recorded): a kernel-model runtime's rows
        # (the H200's default since 2026-12-03) carry one, tests/test_sweep.py checks it.
        lo, hi = r.pop("expected_low_ms"), r.pop("expected_high_ms")
        assert (lo is None) == (hi is None) and (lo is None or 0 < lo < hi)
        # The headline peak (added after the file was recorded): the runtime's memory model's,
        # which this file does not record; tests/test_sweep.py checks it against estimate().
        assert r.pop("peak_memory_bytes") >= 0 and r.pop("memory_model")
    return {
        "estimate": {"processor": e.processor, "runtime": e.runtime, "time_s": t.time_s, "dram_bytes": t.dram_bytes,
                     "energy_j": t.energy_j, "bound_time_s": t.bound_time_s, "macs": t.macs, "flops": t.flops,
                     "params": t.params,
                     "peak_memory_bytes": {k: f.peak_memory_bytes for k, f in e.footprints.items()},
                     "kernel_costs_sha256": hashlib.sha256(np.ascontiguousarray(e.kernel_costs).tobytes()).hexdigest(),
                     "layer_time_s": [l.time_s for l in e.layers]},
        "whatif": {"key": key, "grid_time_s": gr.time_s.tolist(), "grid_dram_bytes": gr.dram_bytes.tolist(),
                   "grid_energy_j": gr.energy_j.tolist(), "grid_compute_share": gr.compute_share.tolist(),
                   "grid_baseline_time_s": gr.baseline_time_s,
                   "compare_base_time_s": c.base.total.time_s, "compare_new_time_s": c.new.total.time_s},
        "sweep": sweep,
    }


def _all_records() -> dict:
    out = {}
    for d in DEVICES:
        dev = augur_sim.load_hw(d)
        pack = S.build_pack([dev], None, list(PRECISIONS))
        for n in NETS:
            out[f"{n}@{d}"] = _record(n, dev, pack)
    return out


def _differences(now: dict, ref: dict) -> list[str]:
    if sorted(now) != sorted(ref):
        return [f"cases {sorted(set(now) ^ set(ref))}"]
    return [f"{k} {path}" for k in sorted(now) for path in ("estimate", "whatif", "sweep")
            if now[k][path] != ref[k][path]]


@pytest.mark.slow
def test_three_paths_match_the_recorded_numbers(update_golden):
    now = json.loads(json.dumps(_all_records()))  # the same float/key normalisation as the file
    if update_golden:
        old = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        GOLDEN.write_text(json.dumps({"commit": old.get("commit", "") + " (regenerated)", "nets": NETS,
                                      "devices": DEVICES, "results": now}, indent=1, sort_keys=True))
        pytest.skip("golden file rewritten; review `git diff tests/golden` and commit it with the reason")
    ref = json.loads(GOLDEN.read_text())
    assert ref["nets"] == NETS and ref["devices"] == DEVICES
    diffs = _differences(now, ref["results"])
    assert not diffs, f"{len(diffs)} of {3 * len(now)} results differ from tests/golden/paths_zoo.json: " + \
        ", ".join(diffs[:12])


def test_a_changed_number_is_seen():
    # The comparison is exact: one ulp in one sweep row, or a missing case, is a difference.
    ref = json.loads(GOLDEN.read_text())["results"]
    assert _differences(ref, ref) == []
    now = json.loads(json.dumps(ref))
    row = now["resnet18@raspberry_pi_4"]["sweep"][0]
    row["time_ms"] = float(np.nextafter(row["time_ms"], np.inf))
    assert _differences(now, ref) == ["resnet18@raspberry_pi_4 sweep"]
    del now["vgg16@nvidia_h200"]
    assert _differences(now, ref) and "vgg16@nvidia_h200" in _differences(now, ref)[0]
