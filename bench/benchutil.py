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


def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS, Windows)."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()
# Said in extra_info and printed by report.py: how each call of a speed-up pair started.
FRESH_HEAP = ("garbage collected and freed heap memory returned to the OS (malloc_trim) before "
              "each call, outside the timing" if _TRIM is not None else
              "garbage collected before each call (no malloc_trim in this C library)")


def fresh_heap() -> None:
    """Before a timed call, untimed: collect garbage and hand freed heap memory back to the
    OS, so the call starts from the heap a new process has, whatever ran before it.

    Why: a tool that allocates 100 MB per call (onnx-tool holds a model's weights as
    arrays) runs 30-60 ms faster when the previous call's freed memory is still mapped and
    it reuses those pages instead of faulting in new ones (25,000-75,000 minor page faults
    a call). Whether that memory is still mapped depends on what ran before (a live object
    allocated above it keeps glibc from trimming the heap), so without this the same tool
    measured 84 ms in one setting and 150 ms in another (docs/BENCHMARKS.md)."""
    import gc
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
