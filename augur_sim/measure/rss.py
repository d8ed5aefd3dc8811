"""Peak resident memory of one ONNX Runtime inference, measured in a fresh child process.

A child Python process imports numpy and onnxruntime, makes the input arrays, and reads
its baseline; then it creates a CPU session from the model file (the same options as
validate/calibrate: ORT_ENABLE_ALL, sequential, intra-op threads = N) and runs it once,
then once more (from the second run on ORT uses its memory pattern: the serving figure).
The figure is the process' peak resident set (Linux VmHWM, the kernel's high-water mark
of RSS; ru_maxrss elsewhere) at the end minus the baseline. A fresh process per sample
matters: ORT's arena and the allocator's heap never shrink back, so a second session in
the same process would be measured against memory the first left behind.

RSS does not depend on how loaded the machine is, but it does vary a little from run to
run (thread stacks touched, heap fragmentation): the median of N samples is reported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

from ..errors import AugurError
from . import relative_error
from .export import build_model

MAX_SAMPLES = 100

# The child: stdlib + numpy + onnxruntime only, so its baseline is what any ORT user pays.
_CHILD = r"""
import json, resource, sys
def _status():
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    if "VmHWM" not in out:   # not Linux: ru_maxrss (KiB on Linux/BSD, bytes on macOS)
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["VmHWM"] = r if sys.platform == "darwin" else r * 1024
        out["VmRSS"] = out["VmHWM"]
    return out
import numpy as np
import onnxruntime as ort
path, threads, shapes = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
feeds = {k: np.random.default_rng(0).standard_normal(v, dtype=np.float32) for k, v in shapes.items()}
base = _status()
# Start the high-water mark afresh at the current RSS (Linux >= 4.0), so what the imports or
# the inputs' creation touched and freed does not hide the session's own peak.
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status()
    base["VmHWM"] = base["VmRSS"]
except OSError:
    pass
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.log_severity_level = 3
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
made = _status()
s.run(None, feeds)
ran = _status()
s.run(None, feeds)
ran2 = _status()
print(json.dumps({"base_hwm": base["VmHWM"], "base_rss": base["VmRSS"],
                  "session_hwm": made["VmHWM"], "session_rss": made["VmRSS"],
                  "run_hwm": ran["VmHWM"], "run_rss": ran["VmRSS"], "run2_hwm": ran2["VmHWM"]}))
"""


@dataclass(frozen=True)
class RssSample:
    """One child process: resident bytes above the baseline taken after imports."""
    peak_bytes: int          # high-water mark after session creation and one run
    session_peak_bytes: int  # high-water mark right after session creation
    steady_bytes: int        # resident after the run
    serving_peak_bytes: int = 0   # high-water mark after a second run (ORT's memory pattern in use)


@dataclass(frozen=True)
class RssMeasurement:
    threads: int
    samples: tuple           # of RssSample

    @property
    def peak_bytes(self) -> int:
        return int(np.median([s.peak_bytes for s in self.samples]))

    @property
    def session_peak_bytes(self) -> int:
        return int(np.median([s.session_peak_bytes for s in self.samples]))

    @property
    def steady_bytes(self) -> int:
        return int(np.median([s.steady_bytes for s in self.samples]))

    @property
    def serving_peak_bytes(self) -> int:
        return int(np.median([s.serving_peak_bytes for s in self.samples]))

    @property
    def spread_bytes(self) -> int:
        p = [s.peak_bytes for s in self.samples]
        return int(max(p) - min(p))


def measure_model_rss(model_path: str, input_shapes: dict, threads: int, samples: int = 3,
                      timeout_s: float = 600.0) -> RssMeasurement:
    """Median over `samples` fresh child processes of the peak RSS of session creation + one run."""
    if isinstance(samples, bool) or not isinstance(samples, int) or not 0 < samples <= MAX_SAMPLES:
        raise AugurError(f"memory samples must be an integer in 1..{MAX_SAMPLES}, got {samples!r}")
    shapes = json.dumps({k: [int(d) for d in v] for k, v in input_shapes.items()})
    env = dict(os.environ)
    # The child must not inherit thread settings that change what ORT/numpy allocate.
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(k, None)
    out = []
    for _ in range(samples):
        try:
            p = subprocess.run([sys.executable, "-c", _CHILD, model_path, str(threads), shapes],
                               capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            raise AugurError(f"memory measurement: the child process ran past {timeout_s:g} s")
        if p.returncode != 0:
            last = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise AugurError(f"memory measurement: the child process failed: {last}")
        try:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise AugurError("memory measurement: the child process printed no result")
        base = r["base_hwm"]
        out.append(RssSample(peak_bytes=max(r["run_hwm"] - base, 0),
                             session_peak_bytes=max(r["session_hwm"] - base, 0),
                             steady_bytes=max(r["run_rss"] - r["base_rss"], 0),
                             serving_peak_bytes=max(r.get("run2_hwm", r["run_hwm"]) - base, 0)))
    return RssMeasurement(threads=threads, samples=tuple(out))


def measure_graph_rss(graph, threads: int, samples: int = 3) -> RssMeasurement:
    """Export `graph` (random weights, augur_sim.export) to a temporary file and measure it."""
    model, _ = build_model(graph)
    shapes = {t: graph.tensors[t].shape for t in graph.inputs}
    with tempfile.TemporaryDirectory(prefix="augur-rss-") as tmp:
        path = os.path.join(tmp, "model.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        del model
        return measure_model_rss(path, shapes, threads, samples)


@dataclass(frozen=True)
class MemoryCheck:
    """Predicted peak (the spec runtime's memory model) against measured peak RSS."""
    measured_peak_rss_bytes: int
    predicted_peak_bytes: int
    samples: int
    spread_bytes: int
    model: str
    measured_serving_peak_bytes: int = 0    # after a second run (ORT's memory pattern in use)
    predicted_serving_peak_bytes: int = 0   # the model's serving figure (0: it has none)

    @property
    def error(self) -> float:
        """predicted / measured - 1 (a fraction; +0.10 = predicted 10% high)."""
        return relative_error(self.predicted_peak_bytes, self.measured_peak_rss_bytes)

    def to_dict(self) -> dict:
        return {"measured_peak_rss_bytes": self.measured_peak_rss_bytes,
                "predicted_peak_bytes": self.predicted_peak_bytes, "error": self.error,
                "samples": self.samples, "spread_bytes": self.spread_bytes, "model": self.model,
                "measured_serving_peak_bytes": self.measured_serving_peak_bytes,
                "predicted_serving_peak_bytes": self.predicted_serving_peak_bytes}


def memory_check(graph, est, threads: int, samples: int = 3) -> MemoryCheck:
    m = measure_graph_rss(graph, threads, samples)
    model = est.runtime_memory.model if est.runtime_memory is not None else "tensors"
    serving = est.runtime_memory.extra.get("serving_peak_bytes", 0) if est.runtime_memory is not None else 0
    return MemoryCheck(m.peak_bytes, int(est.total.peak_memory_bytes), samples, m.spread_bytes, model,
                       m.serving_peak_bytes, int(serving))
