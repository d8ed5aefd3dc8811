"""Timing ONNX Runtime sessions: the session options validate and calibrate share,
interleaved timed rounds, the profiled share of layout Reorders, and what one kernel of a
benchmark takes inside a network."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from ..errors import AugurError
from .benchmarks import LayerSpec


def session(model: bytes, threads: int, profile: bool = False, optimized_path: str | None = None,
            profile_prefix: str | None = None):
    """An ORT CPU session as validate and calibrate both use it: default graph optimisations
    (ORT_ENABLE_ALL), sequential execution, intra-op threads = `threads`."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    if profile:
        so.enable_profiling = True
        if profile_prefix:  # else ORT writes its JSON into the current folder
            so.profile_file_prefix = profile_prefix
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    try:
        return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own exception types for bad models
        raise AugurError(f"ONNX Runtime cannot load the model: {str(e).splitlines()[0]}")


@dataclass(frozen=True)
class Timing:
    """Per-run wall time of session.run, seconds, over the timed rounds."""
    median_s: float
    q1_s: float
    q3_s: float
    min_s: float
    max_s: float
    rounds: int

    @staticmethod
    def of(samples) -> Timing:
        a = np.asarray(samples, dtype=np.float64)
        return Timing(float(np.median(a)), float(np.percentile(a, 25)), float(np.percentile(a, 75)),
                      float(a.min()), float(a.max()), int(a.size))

    @property
    def iqr_pct(self) -> float:
        return 100.0 * (self.q3_s - self.q1_s) / self.median_s if self.median_s > 0 else 0.0


SETTLE_S = 0.1   # pause before timing a multi-thread session: the last pool's workers stop spinning


def time_runs(sessions: dict, feeds: dict, rounds: int, sample_s: float, progress=None,
              seed: int = 0, threads: int = 1) -> dict:
    """Warm up every session, then time `rounds` interleaved rounds (shuffled order each
    round). One sample = mean of `inner` back-to-back runs, inner chosen so a sample lasts
    about `sample_s` (short ops would otherwise measure the timer). Returns name -> Timing."""
    rng = np.random.default_rng(seed)
    inner = {}
    for name, s in sessions.items():
        f = feeds[name]
        s.run(None, f)
        t = time.perf_counter()
        s.run(None, f)
        one = max(time.perf_counter() - t, 1e-6)
        inner[name] = int(min(max(1, sample_s / one), 2000))
        if progress is not None:
            progress.set_postfix_str(f"warm-up {name}"[:32], refresh=False)
            progress.update(1)
    samples: dict[str, list[float]] = {n: [] for n in sessions}
    names = list(sessions)

    def sample(name):
        s, f, k = sessions[name], feeds[name], inner[name]
        t = time.perf_counter()
        for _ in range(k):
            s.run(None, f)
        samples[name].append((time.perf_counter() - t) / k)
        if progress is not None:
            progress.set_postfix_str(name[:32], refresh=False)
            progress.update(1)

    if threads > 1:
        # Every multi-thread session owns a thread pool whose workers spin for tens of ms
        # after a run. Interleaving sessions run by run makes the spinning workers of the
        # last session fight the current one (measured: a 2-thread GEMM 6x slower). So each
        # session gets all its rounds in one block, after the previous pool has gone idle.
        for i in rng.permutation(len(names)):
            time.sleep(SETTLE_S)
            sessions[names[i]].run(None, feeds[names[i]])
            for _ in range(rounds):
                sample(names[i])
    else:
        # One thread: no pools. Rounds interleave the sessions in a shuffled order, so a burst
        # of load from another process spreads over all of them.
        for _ in range(rounds):
            for i in rng.permutation(len(names)):
                sample(names[i])
    return {n: Timing.of(v) for n, v in samples.items()}




def layout_share(model: bytes, feed: dict, threads: int, runs: int = 5) -> float:
    """Fraction of a model's profiled node time spent in the layout Reorder nodes ORT
    inserts around its NCHWc kernels (0 when it inserts none). A standalone op pays a
    Reorder of its input and of its output; inside a network consecutive NCHWc kernels
    pass blocked tensors to each other and those Reorders are not there."""
    d = tempfile.mkdtemp(prefix="augur-cal-")
    try:
        s = session(model, threads, profile=True, profile_prefix=os.path.join(d, "p"))
        for _ in range(runs + 1):
            s.run(None, feed)
        path = s.end_profiling()
        with open(path) as f:
            events = json.load(f)
    except (OSError, ValueError):
        return 0.0  # no profile: charge the standalone op with everything (the old behaviour)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    total = reorder = 0.0
    for ev in events:
        if ev.get("cat") != "Node" or not str(ev.get("name", "")).endswith("_kernel_time"):
            continue
        dur = float(ev.get("dur", 0))
        total += dur
        if str(ev.get("args", {}).get("op_name", "")).startswith("Reorder"):
            reorder += dur
    return reorder / total if total > 0 else 0.0




def kernel_time(spec: LayerSpec, timings: dict, run_s: float, layout: float = 0.0) -> float:
    """Seconds one unit of the benchmark takes inside a network: the chain slope for a
    chained benchmark; else the run minus session.run's fixed cost, less the share of
    layout Reorders the profile found (`layout`). Never below a tenth of the single-unit
    run (a slope swamped by noise must not reach zero)."""
    one = timings[spec.name].median_s
    if spec.chain:
        slope = (timings[f"{spec.name}__x{1 + spec.chain}"].median_s - one) / spec.chain
        return max(slope, 0.1 * one)
    return max((one - run_s) * (1.0 - min(max(layout, 0.0), 0.9)), 0.1 * one)
