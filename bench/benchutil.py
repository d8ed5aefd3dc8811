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


def interleaved(a, b, rounds: int, before=None) -> dict:
    """Run a and b alternately `rounds` times each: on a shared machine whose load drifts,
    both medians then come from the same minutes. `before` (untimed) runs before every call.

    Per call: wall time (perf_counter), CPU time of the process (process_time: user +
    system, so the kernel's work on the call's page faults counts, and time other
    processes hold the cores does not) and minor page faults (getrusage). Medians of each,
    the speed-ups b / a, and every round's figures (ms, faults) for the record."""
    import resource
    import statistics
    import time
    per = {k: {"wall_s": [], "cpu_s": [], "minflt": []} for k in "ab"}
    for _ in range(rounds):
        for key, fn in (("a", a), ("b", b)):
            if before is not None:
                before()
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            c1, t1 = time.process_time(), time.perf_counter()
            per[key]["minflt"].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
            per[key]["wall_s"].append(t1 - t0)
            per[key]["cpu_s"].append(c1 - c0)
    med = {f"{k}_{m}": statistics.median(v) for k, d in per.items() for m, v in d.items()}
    med["wall_speedup"] = med["b_wall_s"] / med["a_wall_s"]
    med["cpu_speedup"] = med["b_cpu_s"] / med["a_cpu_s"]
    med["rounds"] = rounds
    med["per_round"] = {k: {m: [round(x * 1e3, 3) if m.endswith("_s") else x for x in v] for m, v in d.items()}
                        for k, d in per.items()}
    return med
