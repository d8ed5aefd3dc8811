"""Child process of bench_peers.test_interleaved_file_estimate_warm_heap: the interleaved
file -> result pair (augur-sim load_onnx + estimate, onnx-tool Model + shape_infer +
profile) on a heap that never gives memory back.

    python bench/warmheap.py MODEL.onnx DEVICE ROUNDS   -> one JSON line (benchutil.interleaved)

glibc is told to serve every block from the heap (no separate mappings for large blocks)
and never to trim it, so after the warm-up a call reuses pages earlier calls faulted in:
onnx-tool's best case, as in a long-running process whose heap happens to have room.
Where the C library has no mallopt the line says so ("skipped")."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import sys
from pathlib import Path

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc malloc.h


def main() -> int:
    path, device, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
    except (OSError, AttributeError):
        ok = False
    if not ok:
        print(json.dumps({"skipped": "this C library has no glibc mallopt"}))
        return 0
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]  # bench helpers; the package when not installed
    from bench_peers import augur_file_estimate, dropped, onnx_tool_profile
    from benchutil import interleaved

    from augur_sim.hw import load_hw
    hw = load_hw(device)
    a, b = dropped(augur_file_estimate, path, hw), dropped(onnx_tool_profile, path)
    a(), b(), a(), b()  # warm-up: numba kernels, imports, and the heap grown to its size
    res = interleaved(a, b, rounds, before=gc.collect)
    res["each_call"] = "heap kept warm (glibc mallopt: no trimming, no separate mappings), gc before each call"
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
