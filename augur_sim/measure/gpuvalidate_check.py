"""Re-predict the cases `augur validate --processor gpu` measured (a JSON-lines file, one
report per line) with the current memory model, and compare with what was measured.

The reports carry the measured figures (max_memory_allocated / max_memory_reserved, less
what was held before the network was built; device memory in use, context included) and the
prediction of the model as it was when they ran. Re-predicting them here shows what a model
change does to the agreement, without the GPU: docs/ACCURACY_GPU_MEMORY.md (section from
scripts/gpu_memory_accuracy.py) and tests/test_gpu_validate_h200.py use it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AugurError
from . import relative_error
from ..engine.hwrow import pick_processor, pick_runtime
from ..engine.runtime_memory import model_for, runtime_footprint
from ..estimator import estimate
from ..frontends import load_net
from ..graph import rebatch
from ..hw import load_hw

KEYS = ("net", "hw", "runtime", "precision", "batch", "memory")
MEM_KEYS = ("measured_max_memory_allocated_bytes", "measured_max_memory_reserved_bytes",
            "measured_device_used_bytes", "predicted_max_memory_allocated_bytes",
            "predicted_max_memory_reserved_bytes", "predicted_peak_bytes")


@dataclass(frozen=True)
class ValidateMemRow:
    net: str
    runtime: str
    precision: str
    batch: int
    measured: tuple        # (allocated, reserved, device used) bytes
    recorded: tuple        # the prediction stored in the report (model of the day)
    predicted: tuple       # the current model's (allocated, reserved, headline peak)
    weights_bytes: int     # current model: the parameters' blocks
    cublas_bytes: int      # current model: cuBLAS/cuBLASLt workspaces held
    peak_layer: str = ""   # current model: the layer running at the allocated peak
    peak_cudnn_bytes: int = 0    # its cuDNN workspace, alive at the peak
    peak_cublas_bytes: int = 0   # cuBLAS workspaces held at the peak

    @property
    def peak_tensors_bytes(self) -> int:
        """Activations and inputs alive at the predicted allocated peak."""
        return self.predicted[0] - self.weights_bytes - self.peak_cudnn_bytes - self.peak_cublas_bytes

    @property
    def label(self) -> str:
        return f"{self.net} {self.runtime.replace('pytorch-', '')} {self.precision} b{self.batch}"

    def errors(self, which: str = "predicted") -> tuple:
        """(allocated, reserved, device) relative errors of `which` prediction."""
        pred = getattr(self, which)
        return tuple(relative_error(p, m) for p, m in zip(pred, self.measured))


def load_reports(path) -> list[dict]:
    """The JSON reports of a validate --processor gpu run, one per line; blank lines skipped."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise AugurError(f"{path}: cannot read the validate reports: {e}")
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except ValueError as e:
            raise AugurError(f"{path}:{i}: validate report: expected one JSON object per line ({e})")
        if not isinstance(d, dict) or any(k not in d for k in KEYS) or \
                not isinstance(d["memory"], dict) or any(k not in d["memory"] for k in MEM_KEYS):
            raise AugurError(f"{path}:{i}: validate report: expected keys {', '.join(KEYS)} and "
                             f"memory.{{{', '.join(MEM_KEYS)}}}")
        b = d["batch"]
        if isinstance(b, bool) or not isinstance(b, int) or not 0 < b <= 65536:
            raise AugurError(f"{path}:{i}: validate report: batch must be an integer in 1..65536, got {b!r}")
        for k in MEM_KEYS:
            v = d["memory"][k]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << 50:
                raise AugurError(f"{path}:{i}: validate report: memory.{k} must be a byte count, got {v!r}")
        out.append(d)
    return out


def _footprint(g, device, d: dict, overrides: dict):
    """The runtime's memory model with some of its spec constants replaced (what-if)."""
    proc = pick_processor(device, "gpu")
    rt = pick_runtime(proc, d["runtime"])
    section = {**dict(rt.memory), **overrides}
    return runtime_footprint(g, model_for(rt.name, section), section, proc.units, d["precision"], proc.kind,
                             rt.name, rt.fusion, proc.arch)


def repredict(reports: list[dict], overrides: dict | None = None) -> list[ValidateMemRow]:
    """The current model's prediction of each report's case, through `estimate` (the path
    `augur validate` takes); with `overrides`, the memory model alone with those constants
    replaced (to show what one change of the model does)."""
    rows, devices = [], {}
    for d in reports:
        if d["hw"] not in devices:
            devices[d["hw"]] = load_hw(d["hw"])
        g = rebatch(load_net(d["net"]), int(d["batch"]))
        if overrides is None:
            est = estimate(g, devices[d["hw"]], processor="gpu", runtime=d["runtime"], precision=d["precision"])
            rfp, peak = est.runtime_memory, est.total.peak_memory_bytes
        else:
            rfp = _footprint(g, devices[d["hw"]], d, overrides)
            peak = rfp.peak_bytes if rfp is not None else 0
        ex = rfp.extra if rfp is not None else {}
        if "max_memory_allocated" not in ex:
            raise AugurError(f"runtime '{d['runtime']}' of {d['hw']} has no PyTorch memory model")
        est_peak = int(peak)
        m = d["memory"]
        rows.append(ValidateMemRow(
            net=d["net"], runtime=d["runtime"], precision=d["precision"], batch=int(d["batch"]),
            measured=(m["measured_max_memory_allocated_bytes"], m["measured_max_memory_reserved_bytes"],
                      m["measured_device_used_bytes"]),
            recorded=(m["predicted_max_memory_allocated_bytes"], m["predicted_max_memory_reserved_bytes"],
                      m["predicted_peak_bytes"]),
            predicted=(int(ex["max_memory_allocated"]), int(ex["max_memory_reserved"]),
                       est_peak),
            weights_bytes=int(ex.get("weights_allocated", 0)), cublas_bytes=int(ex.get("cublas_workspaces", 0)),
            peak_layer=str(ex.get("peak_layer", "")), peak_cudnn_bytes=int(ex.get("peak_cudnn_workspace", 0)),
            peak_cublas_bytes=int(ex.get("peak_cublas_workspaces", 0))))
    return rows


def summary(rows: list[ValidateMemRow], which: str = "predicted") -> dict:
    """Per figure (allocated, reserved, device): median and worst |error| (%), the worst case."""
    out = {}
    for i, key in enumerate(("allocated", "reserved", "device")):
        errs = np.array([100 * r.errors(which)[i] for r in rows])
        if not len(errs):
            out[key] = {"median_pct": float("nan"), "max_pct": float("nan"), "worst_pct": float("nan"), "worst": ""}
            continue
        j = int(np.argmax(np.abs(errs)))
        out[key] = {"median_pct": float(np.median(np.abs(errs))), "max_pct": float(np.abs(errs[j])),
                    "worst_pct": float(errs[j]), "worst": rows[j].label}
    return out
