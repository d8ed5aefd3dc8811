"""PyTorch GPU memory, predicted (the caching-allocator model) against measured.

The measurements (measurements/h200_memory/, scripts/gpu_corpus_measure.py) ran each zoo
network through augur_sim/measure/torchexec.py's GraphModule, one entry after another in one
process, and recorded torch.cuda.max_memory_allocated / max_memory_reserved less what was
held before the entry. Two properties of that protocol decide how the model is run here,
and neither is fitted:
- The GraphModule keeps every layer's output in a dict until forward returns, and runs no
  op in place: the model runs with `keep_outputs: 1` (a torchvision-style module frees by
  reference count instead, the model's default).
- cuBLAS workspaces are allocated once per (handle, stream) and kept. An entry's own
  figure includes the workspaces it created (the first eager entry: the default stream's;
  each CUDA-graph entry: its new side stream's, until PyTorch's stream pool wraps round),
  visible as the growth of the next entry's base. They are taken out of the measured
  figure, so the model runs with no cuBLAS workspace; their size (33 MiB per stream on
  this H200: 32 MiB cuBLAS + 1 MiB cuBLASLt) is reported, not modelled.
Weights and inputs are checked separately (`weights_inputs_allocated_bytes`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.gpu_memory import pytorch_memory
from ..errors import AugurError
from . import AllocatorErrors, relative_error
from ..frontends import load_net

MODEL_CONSTS = {"keep_outputs": 1, "cublas_workspace_mib": 0, "cublaslt_workspace_mib": 0, "context_mib": 0}


@dataclass(frozen=True)
class GpuMemRow(AllocatorErrors):
    net: str
    batch: int
    precision: str
    mode: str
    measured_allocated_bytes: int     # less the workspaces the entry created
    measured_reserved_bytes: int      # less the base reserved and the workspaces created
    predicted_allocated_bytes: int
    predicted_reserved_bytes: int
    workspace_bytes: int              # cuBLAS workspaces this entry created (taken out)
    measured_weights_inputs_bytes: int
    predicted_weights_inputs_bytes: int

    @property
    def weights_error(self) -> float:
        return relative_error(self.predicted_weights_inputs_bytes, self.measured_weights_inputs_bytes)


def load_measurements(path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise AugurError(f"{path}: cannot read the GPU memory measurements: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("nets"), list):
        raise AugurError(f"{path}: expected an object with a 'nets' list")
    return data


def compare(data: dict, nets_dir, only=None) -> list[GpuMemRow]:
    """One row per measured entry (in file order; `only`: a predicate on the entry)."""
    entries = data["nets"]
    rows = []
    for i, e in enumerate(entries):
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        created = max(nxt["base_allocated_bytes"] - e["base_allocated_bytes"], 0) if nxt else 0
        created_res = max(nxt["base_reserved_bytes"] - e["base_reserved_bytes"], 0) if nxt else 0
        if only is not None and not only(e):
            continue
        g = load_net(str(Path(nets_dir) / e["file"]), batch=int(e["batch"]))
        cg = e["mode"] == "cudagraph"
        f = pytorch_memory(g, {**MODEL_CONSTS, "cudagraph": int(cg)}, e["precision"])
        inputs = sum(g.tensors[t].elems for t in g.inputs) * (2 if e["precision"] == "fp16" else 4)
        rows.append(GpuMemRow(
            net=e["file"].rsplit(".", 1)[0], batch=int(e["batch"]), precision=e["precision"], mode=e["mode"],
            measured_allocated_bytes=int(e["peak_allocated_bytes"]) - created,
            measured_reserved_bytes=int(e["peak_reserved_bytes"]) - int(e["base_reserved_bytes"]) - created_res,
            predicted_allocated_bytes=int(f.extra["max_memory_allocated"]),
            predicted_reserved_bytes=int(f.extra["max_memory_reserved"]),
            workspace_bytes=created,
            measured_weights_inputs_bytes=int(e["weights_inputs_allocated_bytes"]),
            predicted_weights_inputs_bytes=int(f.extra["weights_allocated"]) + inputs))
    return rows


def summary(rows) -> dict:
    """median / worst |error| (%) of allocated and reserved peaks."""
    out = {}
    for key in ("allocated", "reserved", "weights"):
        errs = np.abs([100 * getattr(r, f"{key}_error") for r in rows])
        worst = rows[int(np.argmax(errs))] if len(rows) else None
        out[key] = {"median_pct": float(np.median(errs)) if len(rows) else float("nan"),
                    "max_pct": float(errs.max()) if len(rows) else float("nan"),
                    "worst": f"{worst.net} b{worst.batch} {worst.precision} {worst.mode}" if worst else ""}
    return out
