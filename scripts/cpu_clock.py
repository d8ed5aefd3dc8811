"""The clock a core of this machine runs at while busy, from a dependent integer chain.

    python scripts/cpu_clock.py [--runs 5]

One iteration of the loop below is an XOR and an ADD on the same register, each one cycle of latency
on every x86-64 and Arm core, and dependent on the last, so the loop runs at two cycles an
iteration whatever the core's width (the loop counter runs beside it); iterations per second x 2
is the clock. (Three dependent ops would not do: LLVM merges the XORs of consecutive iterations of
((x ^ a) + b) ^ c, leaving two.) What /proc/cpuinfo says in a VM is the TSC's rate, not the
core's. Prints the fastest of --runs timings (the least disturbed by other work).
"""
from __future__ import annotations

import argparse
import sys
import time

import numba


@numba.njit(cache=False)
def _chain(n, x):
    for _ in range(n):
        x = (x ^ 0x5A5A5A5A) + 0x3C3C3C3C
    return x


def clock_ghz(runs: int = 5, n: int = 400_000_000) -> float:
    _chain(10, 1)
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        _chain(n, 1)
        best = min(best, time.perf_counter() - t0)
    return 2 * n / best / 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"{clock_ghz(args.runs):.3f} GHz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
