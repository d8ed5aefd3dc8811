#!/usr/bin/env python3
"""Fuzz campaign: N cases per input class, each under a time and a memory limit; failures
reported by signature.

    python scripts/fuzz.py --cases 1000                 # 1000 per class, every class
    python scripts/fuzz.py --classes yamlnet,onnx --cases 5000 --start 20000
    python scripts/fuzz.py --replay yamlnet:1234        # one case, verbose

Cases come from tests/fuzz_cases.py (the same generators the test suite draws from), so a
case is reproducible from its (class, seed). Classes: prototxt, yamlnet, hwspec, onnx, ncnn
(.param files: benchncnn's from ../shared when present, small generated ones always) and cli.

Each worker is a persistent forked process that parses in-process (no interpreter start per
case), warmed up (imports, numba compilation) before its address-space limit is set
(RLIMIT_AS, --mem-mib above the worker's own footprint after warm-up); each case gets
--timeout-s seconds (SIGALRM inside the worker, and a watchdog in the parent that kills a
worker stuck in native code). A worker that dies is replaced, and its case recorded as a
crash. A worker keeps one case folder (decoys planted once) and resets it after each case.
The summary (--json) gives per-class outcome counts, mean time a case holds a worker and the
rate that gives, failure signatures with a reproducing seed, the slowest case and the peak
resident memory of the workers.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import fuzz_cases  # noqa: E402


class CaseTimeout(BaseException):
    """Raised by SIGALRM inside a case (a BaseException so `except Exception` cannot eat it)."""


def _alarm(signum, frame):
    raise CaseTimeout()


def _vm_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _warm_up(folder: Path) -> None:
    """Import and JIT-compile what cases use, so the memory limit applies to the cases only."""
    from augur_sim.estimator import estimate
    from augur_sim.frontends import load_net
    for hw in ("jetson_nano", "raspberry_pi_4"):
        estimate(load_net(REPO / "nets" / "squeezenet1_1.yaml"), hw)
    fuzz_cases.make_case("onnx", 0, folder)
    fuzz_cases._subparsers()


def worker(conn, mem_mib: int, timeout_s: float, base: str):
    folder = Path(tempfile.mkdtemp(prefix="w", dir=base))
    _warm_up(folder / "warm")
    # One case folder for the worker's life, reset after each case (fuzz_cases.reset_folder).
    d = folder / "case"
    snap = fuzz_cases.prepare_folder(d)
    limit = _vm_bytes() + mem_mib * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)
    conn.send(("ready", limit, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    while True:
        msg = conn.recv()
        if msg is None:
            break
        cls, seed = msg
        t0 = time.monotonic()
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
            try:
                case = fuzz_cases.make_case(cls, seed, d, prepared=True)
                oc = fuzz_cases.run_case(case, d)
                res = (oc.status, oc.signature, oc.detail, case.note, " ".join(case.argv))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except CaseTimeout:
            res = ("FAIL", f"hang ({cls}, > {timeout_s:g} s)", "", "", "")
        except MemoryError:
            res = ("FAIL", f"memory limit ({cls}, > {mem_mib} MiB)", "", "", "")
        except BaseException as e:  # noqa: BLE001 -- a bug in the harness itself; report it
            res = ("FAIL", f"harness {type(e).__name__}", str(e)[:300], "", "")
        try:
            snap = fuzz_cases.reset_folder(d, snap)
        except OSError:
            shutil.rmtree(d, ignore_errors=True)
            snap = fuzz_cases.prepare_folder(d)
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        conn.send((res, time.monotonic() - t0, rss_kib))


class Pool:
    def __init__(self, n, mem_mib, timeout_s, base):
        self.args = (mem_mib, timeout_s, base)
        self.timeout_s = timeout_s
        self.ctx = mp.get_context("fork")
        self.workers = [self._start() for _ in range(n)]
        self.peak_rss_kib = 0
        self.limit_bytes = 0
        self.base_rss_kib = 0

    def _start(self):
        a, b = self.ctx.Pipe()
        p = self.ctx.Process(target=worker, args=(b, *self.args), daemon=True)
        p.start()
        return [p, a, None, 0]      # process, conn, current case, cases done

    def _ready(self, w):
        tag, limit, rss = w[1].recv()
        self.limit_bytes, self.base_rss_kib = limit, max(self.base_rss_kib, rss)

    def run(self, cases, recycle=3000):
        """Yield (cls, seed, result, seconds) for each case."""
        todo = list(cases)[::-1]
        for w in self.workers:
            self._ready(w)
        busy = {}
        while todo or busy:
            for i, w in enumerate(self.workers):
                if i not in busy and todo:
                    case = todo.pop()
                    w[1].send(case)
                    busy[i] = (case, time.monotonic())
            # Block until some worker answers (or 50 ms pass, to check for hangs and deaths).
            ready = set(mpc.wait([self.workers[i][1] for i in busy], timeout=0.05))
            for i, (case, t0) in list(busy.items()):
                w = self.workers[i]
                if w[1] in ready:
                    try:
                        res, dt, rss = w[1].recv()
                    except EOFError:
                        res, dt, rss = ("FAIL", f"worker died ({case[0]})", "", "", ""), time.monotonic() - t0, 0
                        self._replace(i)
                    del busy[i]
                    self.peak_rss_kib = max(self.peak_rss_kib, rss)
                    w[3] += 1
                    yield case[0], case[1], res, dt
                    if w[3] >= recycle and self.workers[i] is w:
                        self._replace(i)
                elif not w[0].is_alive() or time.monotonic() - t0 > self.timeout_s + 15:
                    # Stuck in native code (the alarm could not interrupt it), or killed.
                    alive = w[0].is_alive()
                    self._replace(i)
                    del busy[i]
                    sig = f"hang ({case[0]}, native)" if alive else f"worker died ({case[0]}, exit {w[0].exitcode})"
                    yield case[0], case[1], ("FAIL", sig, "", "", ""), time.monotonic() - t0

    def _replace(self, i):
        old = self.workers[i]
        try:
            old[1].send(None)
        except (OSError, BrokenPipeError):
            pass
        old[0].join(1)
        if old[0].is_alive():
            old[0].kill()
            old[0].join()
        self.workers[i] = self._start()
        self._ready(self.workers[i])

    def close(self):
        for w in self.workers:
            try:
                w[1].send(None)
            except (OSError, BrokenPipeError):
                pass
            w[0].join(5)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--classes", default=",".join(fuzz_cases.CLASSES))
    ap.add_argument("--cases", type=int, default=200, help="cases per class")
    ap.add_argument("--start", type=int, default=0, help="first seed (run a campaign in chunks)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--timeout-s", type=float, default=20.0, help="per case")
    ap.add_argument("--mem-mib", type=int, default=1024, help="address space per worker above its warm footprint")
    ap.add_argument("--json", default=None, help="write the summary here")
    ap.add_argument("--replay", default=None, help="CLASS:SEED: run one case in this process and print it")
    args = ap.parse_args(argv)

    if args.replay:
        cls, seed = args.replay.split(":")
        d = Path(tempfile.mkdtemp(prefix="augur-fuzz-"))
        case = fuzz_cases.make_case(cls, int(seed), d)
        print(f"case: {case}\nfolder: {d}")
        if case.path:
            print(Path(case.path).read_bytes()[:2000])
        print(fuzz_cases.run_case(case, d))
        return 0

    classes = [c for c in args.classes.split(",") if c]
    cases = [(c, s) for s in range(args.start, args.start + args.cases) for c in classes]
    base = tempfile.mkdtemp(prefix="augur-fuzz-")
    counts: dict = defaultdict(Counter)
    case_s: dict = defaultdict(float)
    failures: dict = {}
    slowest = (0.0, None)
    t_start = time.monotonic()
    pool = Pool(args.workers, args.mem_mib, args.timeout_s, base)
    try:
        for n, (cls, seed, res, dt) in enumerate(pool.run(cases), 1):
            status, sig, detail, note, argv_s = res
            counts[cls][status] += 1
            case_s[cls] += dt
            if dt > slowest[0]:
                slowest = (dt, f"{cls}:{seed}")
            if status == "FAIL":
                f = failures.setdefault(sig, {"count": 0, "first": f"{cls}:{seed}", "detail": detail,
                                              "note": note, "argv": argv_s})
                f["count"] += 1
            if n % 500 == 0:
                print(f"{n}/{len(cases)} cases, {time.monotonic() - t_start:.0f} s, "
                      f"{sum(f['count'] for f in failures.values())} failures", file=sys.stderr, flush=True)
    finally:
        pool.close()
        shutil.rmtree(base, ignore_errors=True)
    summary = {
        "classes": {c: dict(counts[c]) for c in classes},
        "cases": sum(sum(c.values()) for c in counts.values()),
        "seeds": [args.start, args.start + args.cases],
        "failures": failures,
        "timeout_s": args.timeout_s,
        "mem_limit_mib_above_warm": args.mem_mib,
        "address_space_limit_mib": round(pool.limit_bytes / (1 << 20)),
        "warm_worker_rss_mib": round(pool.base_rss_kib / 1024),
        "peak_worker_rss_mib": round(pool.peak_rss_kib / 1024),
        "slowest_case": {"seconds": round(slowest[0], 3), "case": slowest[1]},
        "wall_s": round(time.monotonic() - t_start, 1),
    }
    wall = max(summary["wall_s"], 1e-9)
    summary["cases_per_s"] = round(summary["cases"] / wall, 2)
    # Per class: the mean time a case holds a worker (making its files included), and the
    # rate that gives with every worker on that class alone.
    summary["per_class"] = {c: {"mean_case_ms": round(1e3 * case_s[c] / max(1, sum(counts[c].values())), 2),
                                "cases_per_s_all_workers": round(args.workers * sum(counts[c].values())
                                                                 / max(case_s[c], 1e-9), 2)}
                            for c in classes}
    text = json.dumps(summary, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
