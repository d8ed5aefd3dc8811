"""Cold start of the command line: `augur estimate resnet50 --hw jetson_tx2` as a whole
process, with numba's on-disk cache of compiled kernels cold and warm.

    PYTHONPATH=. python bench/coldstart.py [--runs N] [--out bench/coldstart.json]

- cold: each run gets a fresh empty NUMBA_CACHE_DIR, so numba compiles every kernel.
- warm: the same directory again after one priming run: numba loads the compiled code.
Medians over the runs. The breakdown says where the time goes: interpreter start-up,
imports (python -X importtime, top-level modules by cumulative time), and in-process
phases timed with perf_counter (import, load net, load hw, first estimate = numba
compile or cache load + the estimate, report rendering), cold and warm.
Writes a small JSON that bench/report.py adds to the README table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARGS = ["estimate", "resnet50", "--hw", "jetson_tx2"]
WARM_TARGET_S = 1.5

# Runs inside the measured interpreter: times each phase of what `augur estimate` does.
PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
from augur_sim import cli
cli.build_parser(ARGS)  # the parser `augur estimate` builds
t1 = time.perf_counter()
from augur_sim.estimator import estimate
from augur_sim.frontends import load_net
from augur_sim.hw import load_hw
from augur_sim.report import estimate_table
t2 = time.perf_counter()
g = load_net("resnet50")
t3 = time.perf_counter()
dev = load_hw("jetson_tx2")
t4 = time.perf_counter()
est = estimate(g, dev)
t5 = time.perf_counter()
estimate(g, dev)
t6 = time.perf_counter()
estimate_table(est)
t7 = time.perf_counter()
print(json.dumps({"import_cli_s": t1 - t0, "import_rest_s": t2 - t1, "load_net_s": t3 - t2,
                  "load_hw_s": t4 - t3, "first_estimate_s": t5 - t4, "second_estimate_s": t6 - t5,
                  "report_s": t7 - t6}))
""".replace("ARGS)", repr(ARGS) + ")", 1)


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("augur")
    if exe.is_file():
        return [str(exe)] + ARGS
    return [sys.executable, "-m", "augur_sim.cli"] + ARGS


def _env(cache_dir: str | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def _timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def _phases(cache_dir: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PHASES], env=_env(cache_dir), cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _importtime(cache_dir: str, top: int = 8) -> dict:
    """Where import time goes, from python -X importtime: self time summed per top-level
    package (numpy, numba, networkx, augur_sim, ...), largest first."""
    cmd = [sys.executable, "-X", "importtime", "-m", "augur_sim.cli"] + ARGS
    err = subprocess.run(cmd, env=_env(cache_dir), cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True).stderr
    by_pkg: dict[str, float] = {}
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| \s*(\S+)", line)
        if m:
            pkg = m.group(3).split(".")[0]
            by_pkg[pkg] = by_pkg.get(pkg, 0.0) + int(m.group(1)) / 1e6
    rows = sorted(by_pkg.items(), key=lambda r: -r[1])
    return {"total_s": sum(by_pkg.values()),
            "top": [{"package": n, "self_s": s} for n, s in rows[:top]]}


def measure(runs: int) -> dict:
    cmd = _command()
    base = [_timed([sys.executable, "-c", "pass"], _env(None)) for _ in range(runs)]
    cold = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            cold.append(_timed(cmd, _env(d)))
    with tempfile.TemporaryDirectory() as d:
        _timed(cmd, _env(d))  # prime the cache
        warm = [_timed(cmd, _env(d)) for _ in range(runs)]
        phases_warm = _phases(d)
        imports = _importtime(d)
    with tempfile.TemporaryDirectory() as d:
        phases_cold = _phases(d)
    import numba
    return {
        "command": "augur " + " ".join(ARGS),
        "runs": runs,
        "python": platform.python_version(),
        "numba": numba.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "interpreter_start_s": statistics.median(base),
        "cold_s": statistics.median(cold),
        "warm_s": statistics.median(warm),
        "cold_runs_s": cold,
        "warm_runs_s": warm,
        "warm_target_s": WARM_TARGET_S,
        "phases_cold": phases_cold,
        "phases_warm": phases_warm,
        # First estimate minus a second one: compiling (cold) or loading (warm) the kernels.
        "numba_compile_s": phases_cold["first_estimate_s"] - phases_cold["second_estimate_s"],
        "numba_cache_load_s": phases_warm["first_estimate_s"] - phases_warm["second_estimate_s"],
        "imports": imports,
        # With PYTHONDONTWRITEBYTECODE set, no .pyc is written: every run compiles the
        # package's sources again, which an installed package (pip writes .pyc) does not.
        "bytecode_cache": not os.environ.get("PYTHONDONTWRITEBYTECODE"),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per case; medians are reported")
    ap.add_argument("--out", default=str(REPO / "bench" / "coldstart.json"))
    a = ap.parse_args(argv)
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    res = measure(a.runs)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    p = res["phases_warm"]
    print(f"{res['command']}: cold {res['cold_s']:.2f} s, warm {res['warm_s']:.2f} s "
          f"(target < {WARM_TARGET_S} s), interpreter alone {res['interpreter_start_s']:.2f} s")
    print(f"  numba compile {res['numba_compile_s']:.2f} s cold, cache load {res['numba_cache_load_s']:.2f} s warm")
    print("  warm phases: " + ", ".join(f"{k[:-2]} {v * 1e3:.0f} ms" for k, v in p.items()))
    print(f"  imports {res['imports']['total_s'] * 1e3:.0f} ms: " + ", ".join(
        f"{r['package']} {r['self_s'] * 1e3:.0f} ms" for r in res["imports"]["top"][:6]))
    if not res["bytecode_cache"]:
        print("  note: PYTHONDONTWRITEBYTECODE is set, so every run compiled the package's sources "
              "(an installed package has .pyc files); unset it for a user's start-up")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
