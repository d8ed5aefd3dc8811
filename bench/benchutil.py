"""Helpers shared by the bench_*.py modules: which networks, where reference files live,
and how each benchmark labels itself for bench/report.py."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# One network per size class: (zoo name in nets/, Caffe reference file stem in shared/prototxt).
SIZES = {
    "small": ("squeezenet1_1", "squeezenet_v1.1"),
    "medium": ("resnet50", "resnet50"),
    "large": ("densenet121", "densenet121"),
}
SIZE_IDS = list(SIZES)
EXPORT_NETS = [zoo for zoo, _ in SIZES.values()]

# The project's reference inputs live beside the repo (../shared) or at $AUGUR_SHARED,
# the same rule as tests/shared_data.py.
SHARED = Path(os.environ.get("AUGUR_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PROTOTXT = SHARED / "prototxt"

DEVICE = "jetson_tx2"  # the device of `make run`; its GPU is the default processor


def prototxt_path(stem: str) -> Path:
    p = PROTOTXT / f"{stem}.prototxt"
    if not p.is_file():
        pytest.skip(f"reference descriptor {p.name} not present under {PROTOTXT}")
    return p


def label(benchmark, what: str, net: str, size: str | None = None, target_s: float | None = None,
          **extra) -> None:
    """Record what a benchmark measures; report.py prints these columns."""
    info = benchmark.extra_info
    info["what"] = what
    info["net"] = net
    if size is not None:
        info["size"] = size
    if target_s is not None:
        info["target_s"] = target_s
    info.update(extra)
