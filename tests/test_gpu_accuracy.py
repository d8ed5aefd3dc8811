"""The H200 runtime fitted from microbenchmarks still predicts the networks measured in the
same run (measurements/, PyTorch eager on a real H200). No GPU needed: the measurements
are data; this guards the model against changes that would break what was validated."""
import json
from pathlib import Path

import numpy as np
import pytest

from augur_sim.estimator import estimate
from augur_sim.frontends import load_net
from augur_sim.graph import rebatch

from shared_data import PROTOTXT

ROOT = Path(__file__).resolve().parents[1]
RUN1 = ROOT / "measurements" / "h200_pytorch_2026-11-26_run1.json"


def test_h200_pytorch_eager_whole_network_error():
    data = json.loads(RUN1.read_text())
    errs = []
    for e in data["nets"]:
        if not e.get("gpu") or e["batch"] != 1:
            continue
        src = ROOT / "nets" / e["file"] if e["file"].endswith(".yaml") else PROTOTXT / e["file"]
        if not src.exists():
            continue
        rt = "pytorch-eager" if e["precision"] == "fp16" else "pytorch-eager-fp32"
        est = estimate(rebatch(load_net(src), 1), "nvidia_h200", runtime=rt, precision=e["precision"])
        errs.append(est.total.time_s / e["gpu"]["median_s"] - 1)
    if len(errs) < 20:
        pytest.skip("reference descriptors missing")
    errs = np.abs(errs)
    # Measured on 2026-11-26 (docs/ACCURACY_GPU.md): median 18%, all but a few within 40%.
    assert np.median(errs) <= 0.25
    assert np.mean(errs <= 0.5) >= 0.9
