"""Time the benchncnn corpus networks on this machine with ncnn's Python package, the way
benchncnn runs them, for `scripts/ncnn_host_accuracy.py` to judge the ncnn model against.

    pip install ncnn            # the measurement's only extra (not a dependency of augur-sim)
    python scripts/ncnn_host_measure.py --out measurements/ncnn_host/NAME.csv [--threads 1,2] \
        [--memory-out measurements/ncnn_host/NAME_memory.csv]

What benchncnn does (benchmark/benchncnn.cpp, Tencent/ncnn; described, not copied): each network's
.param is loaded with empty weights (a data reader that returns zeros), options at their defaults
with light mode on and Vulkan off, the input a Mat of the shape benchncnn hard-codes for that
network (augur's frontends/ncnn.BENCHNCNN_INPUT_SHAPES) filled with 0.01, a few warm-up runs, then
timed runs of one extractor each (input blob in, first output blob out), reported as min, max and
average milliseconds. Here: 4 warm-up and 8 timed runs (benchncnn's defaults are 8 and 4; more
timed runs steady a shared VM), a pause between networks (benchncnn's cooling down).
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from augur_sim.fileio import atomic_write_text  # noqa: E402
from augur_sim.frontends.ncnn import BENCHNCNN_INPUT_SHAPES  # noqa: E402

COLUMNS = ("model", "threads", "powersave", "winograd", "min_ms", "max_ms", "avg_ms", "runs", "ncnn_version", "cpu",
           "date_utc")
MEMORY_COLUMNS = ("model", "threads", "winograd", "baseline_bytes", "peak_bytes", "delta_bytes", "samples",
                  "ncnn_version", "cpu", "date_utc")

# Peak memory of one network, in a fresh child process (an allocator's pools and the heap never
# shrink back, so a second network in one process would be measured against the first's
# leftovers): the child imports ncnn, reads its resident set's high-water mark (Linux VmHWM),
# loads the network as the timing does, runs it twice (the second run reuses the pools, as a
# served network does) and reads the mark again; the figure is the difference.
_CHILD = r"""
import json, sys
import ncnn
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
param, threads, w, h, c, wino = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:7])
base = hwm()
net = ncnn.Net()
net.opt.num_threads = threads
net.opt.lightmode = True
net.opt.use_vulkan_compute = False
net.opt.use_winograd_convolution = bool(wino)
net.load_param(param)
net.load_model(ncnn.DataReaderFromEmpty())
mat = ncnn.Mat(w, h, c)
mat.fill(0.01)
for _ in range(2):
    ex = net.create_extractor()
    ex.input(net.input_names()[0], mat)
    _, out = ex.extract(net.output_names()[0])
    del out, ex
print(json.dumps({"baseline": base, "peak": hwm()}))
"""


def peak_memory(param: Path, threads: int, samples: int, winograd: bool = True) -> tuple[int, int]:
    """(baseline, peak) resident bytes of the median sample (by peak - baseline) of `samples` fresh
    children; `winograd` False: ncnn's Option::use_winograd_convolution off (3x3 convs on sgemm)."""
    import json
    import subprocess
    _, c, h, w = BENCHNCNN_INPUT_SHAPES[param.stem]
    got = []
    for _ in range(samples):
        r = subprocess.run([sys.executable, "-c", _CHILD, str(param), str(threads), str(w), str(h), str(c),
                            str(int(winograd))],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise SystemExit(f"{param}: the memory child failed: {r.stderr.strip().splitlines()[-1:]}")
        d = json.loads(r.stdout)
        got.append((d["peak"] - d["baseline"], d["baseline"], d["peak"]))
    got.sort()
    _, base, peak = got[len(got) // 2]
    return base, peak


def time_net(ncnn, param: Path, threads: int, warmup: int, runs: int, winograd: bool = True) -> list[float]:
    net = ncnn.Net()
    net.opt.num_threads = threads
    net.opt.lightmode = True
    net.opt.use_vulkan_compute = False
    net.opt.use_winograd_convolution = winograd
    if net.load_param(str(param)) != 0:
        raise SystemExit(f"{param}: ncnn could not load it")
    net.load_model(ncnn.DataReaderFromEmpty())
    _, c, h, w = BENCHNCNN_INPUT_SHAPES[param.stem]
    mat = ncnn.Mat(w, h, c)
    mat.fill(0.01)
    name_in, name_out = net.input_names()[0], net.output_names()[0]
    times = []
    for k in range(warmup + runs):
        t0 = time.perf_counter()
        ex = net.create_extractor()
        ex.input(name_in, mat)
        _, out = ex.extract(name_out)
        dt = (time.perf_counter() - t0) * 1e3
        # The output lives in the net's pool allocator: release it (and the extractor) before the net.
        del out, ex
        if k >= warmup:
            times.append(dt)
    net.clear()
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=str(REPO.parent / "shared" / "corpora" / "ncnn" / "models"))
    ap.add_argument("--out", default=None, help="timings CSV to write (atomically); none: no timing")
    ap.add_argument("--threads", default="1,2", help="thread counts (comma list)")
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--cool-s", type=float, default=1.0, help="pause between networks")
    ap.add_argument("--memory-out", default=None,
                    help="also measure each network's peak resident memory (fresh processes) into this CSV")
    ap.add_argument("--samples", type=int, default=3, help="fresh processes per network for --memory-out")
    ap.add_argument("--no-winograd", action="store_true",
                    help="ncnn's Winograd convolutions off (use_winograd_convolution = false), for the timings and "
                         "--memory-out alike: what Winograd saves in time and costs in memory, by difference")
    args = ap.parse_args(argv)
    try:
        import ncnn
    except ImportError:
        print("this script needs ncnn's Python package: pip install ncnn", file=sys.stderr)
        return 2
    models = sorted(p for p in Path(args.models).glob("*.param") if p.stem in BENCHNCNN_INPUT_SHAPES)
    if not models:
        print(f"{args.models}: no benchncnn .param files", file=sys.stderr)
        return 2
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name")) + f", {os.cpu_count()} CPUs"
    except (OSError, StopIteration):
        pass
    date = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    if not args.out and not args.memory_out:
        print("nothing to do: give --out (timings) and/or --memory-out", file=sys.stderr)
        return 2
    rows = []
    for threads in (int(t) for t in args.threads.split(",") if args.out):
        for m in models:
            ts = time_net(ncnn, m, threads, args.warmup, args.runs, not args.no_winograd)
            rows.append({"model": m.stem, "threads": threads, "powersave": 0, "winograd": int(not args.no_winograd),
                         "min_ms": f"{min(ts):.3f}",
                         "max_ms": f"{max(ts):.3f}", "avg_ms": f"{sum(ts) / len(ts):.3f}", "runs": len(ts),
                         "ncnn_version": ncnn.__version__, "cpu": cpu, "date_utc": date})
            print(f"{m.stem:22s} threads {threads}: min {min(ts):8.2f} ms  avg {sum(ts) / len(ts):8.2f} ms",
                  file=sys.stderr, flush=True)
            time.sleep(args.cool_s)
    if args.out:
        _write(args.out, COLUMNS, rows)
    if args.memory_out:
        mem = []
        for threads in (int(t) for t in args.threads.split(",")):
            for m in models:
                base, peak = peak_memory(m, threads, args.samples, not args.no_winograd)
                mem.append({"model": m.stem, "threads": threads, "winograd": int(not args.no_winograd),
                            "baseline_bytes": base, "peak_bytes": peak,
                            "delta_bytes": peak - base, "samples": args.samples, "ncnn_version": ncnn.__version__,
                            "cpu": cpu, "date_utc": date})
                print(f"{m.stem:22s} threads {threads}: {(peak - base) / 2**20:8.1f} MiB", file=sys.stderr,
                      flush=True)
        _write(args.memory_out, MEMORY_COLUMNS, mem)
    return 0


def _write(path, columns, rows) -> None:
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())
    print(f"wrote {path}: {len(rows)} rows", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
