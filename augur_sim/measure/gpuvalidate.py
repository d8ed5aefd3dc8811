"""`augur validate --processor gpu`: run a network in PyTorch on this machine's CUDA GPU and
compare time and memory with the prediction of the spec's GPU runtime.

What runs: the graph through measure/torchexec.py (random weights, one torch call per layer,
each layer output released after its last reader as an ordinary PyTorch module does), at the
graph's batch, in `--precision` (fp32 or fp16), with PyTorch's defaults (cuDNN may use TF32
for fp32 convs on Ampere and later; fp32 matmuls stay FP32). The runtime decides how it is
timed:
  - a `*cudagraph*` runtime: the forward captured in one CUDA graph and replayed between
    CUDA events (the GPU's own time, no host issue);
  - otherwise (eager): CUDA events around each forward, host dispatch included as it is
    when the GPU waits for it.
Memory, in the same process before the timing: `gc.collect()`, `empty_cache()`,
`reset_peak_memory_stats()`, then one inference (eager), or the warm-up on a side stream,
the capture and one replay (CUDA graph); measured `max_memory_allocated` and
`max_memory_reserved` (less what was held before), and the device's used memory
(`mem_get_info`: total - free, which includes the CUDA context) at the end. The prediction is
the runtime's memory model (engine/gpu_memory.py), whose `max_memory_allocated` /
`max_memory_reserved` are compared with the measured ones.
"""
from __future__ import annotations

import gc
import statistics
from dataclasses import dataclass

from ..errors import AugurError
from . import AllocatorErrors, relative_error
from ..estimator import estimate
from .torchexec import build_module, random_inputs

MiB = 1 << 20


@dataclass(frozen=True)
class GpuMemory(AllocatorErrors):
    measured_allocated_bytes: int
    measured_reserved_bytes: int
    device_used_bytes: int            # total - free after the run: context + everything cached
    predicted_allocated_bytes: int
    predicted_reserved_bytes: int
    predicted_peak_bytes: int         # the estimate's headline (reserved + context)

    @property
    def device_error(self) -> float:
        return relative_error(self.predicted_peak_bytes, self.device_used_bytes)

    def to_dict(self) -> dict:
        return {"measured_max_memory_allocated_bytes": self.measured_allocated_bytes,
                "measured_max_memory_reserved_bytes": self.measured_reserved_bytes,
                "measured_device_used_bytes": self.device_used_bytes,
                "predicted_max_memory_allocated_bytes": self.predicted_allocated_bytes,
                "predicted_max_memory_reserved_bytes": self.predicted_reserved_bytes,
                "predicted_peak_bytes": self.predicted_peak_bytes,
                "allocated_error": self.allocated_error, "reserved_error": self.reserved_error,
                "device_used_error": self.device_error}


@dataclass(frozen=True)
class GpuValidation:
    net: str
    hw: str
    runtime: str
    precision: str
    batch: int
    gpu_name: str
    torch_version: str
    timing: str                       # "cudagraph replay" | "eager, CUDA events"
    runs: int
    predicted_s: float
    measured_s: float                 # median over the runs
    measured_min_s: float
    measured_max_s: float
    memory: GpuMemory
    warnings: tuple = ()

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.predicted_s / self.measured_s - 1.0)


@dataclass(frozen=True)
class Measured:
    """What one run of the harness measured (seconds, bytes); kept apart from the torch code
    so the comparison is testable without a GPU."""
    gpu_name: str
    gpu_sms: int
    torch_version: str
    times_s: tuple
    allocated_bytes: int
    reserved_bytes: int
    device_used_bytes: int


def _torch_cuda():
    try:
        import torch
    except ImportError:
        raise AugurError("validate --processor gpu runs the network in PyTorch on this machine's GPU; "
                         "PyTorch is not installed here")
    if not torch.cuda.is_available():
        raise AugurError("validate --processor gpu needs a CUDA GPU on this machine; torch sees none")
    return torch


def cuda_event_times_s(torch, fn, runs: int) -> list[float]:
    """GPU time of each of `runs` calls of fn(), seconds: each call between its own pair of
    CUDA events, waited for before the next (no overlap between calls)."""
    torch.cuda.synchronize()
    out = []
    for _ in range(runs):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b) * 1e-3)
    return out


def measure_torch(graph, precision: str, cudagraph: bool, runs: int, warmup: int = 3) -> Measured:
    """Run `graph` in PyTorch on the GPU: memory first (one clean inference), then time."""
    torch = _torch_cuda()
    dev = torch.device("cuda")
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base_alloc = torch.cuda.memory_allocated()
    base_res = torch.cuda.memory_reserved()
    mod = build_module(graph, dev, precision, free_after_last_use=True)
    xs = random_inputs(graph, dev, precision)
    gr = None
    with torch.inference_mode():
        if not cudagraph:
            mod(*xs)
        else:
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(warmup):
                    mod(*xs)
            torch.cuda.current_stream().wait_stream(s)
            torch.cuda.synchronize()
            gr = torch.cuda.CUDAGraph()
            with torch.cuda.graph(gr):
                mod(*xs)
            gr.replay()
        torch.cuda.synchronize()
        alloc = torch.cuda.max_memory_allocated() - base_alloc
        res = torch.cuda.max_memory_reserved() - base_res
        free, total = torch.cuda.mem_get_info()
        if gr is not None:
            for _ in range(warmup):
                gr.replay()
            fn = gr.replay
        else:
            for _ in range(warmup):
                mod(*xs)

            def fn():
                mod(*xs)
        times = cuda_event_times_s(torch, fn, runs)
    props = torch.cuda.get_device_properties(0)
    return Measured(props.name, int(props.multi_processor_count), torch.__version__, tuple(times),
                    int(alloc), int(res), int(total - free))


def _memory_model(est, device, runtime: str) -> dict:
    rm = est.runtime_memory
    extra = rm.extra if rm is not None else {}
    if "max_memory_allocated" not in extra:
        raise AugurError(f"runtime '{runtime}' of {device.name} has no PyTorch memory model "
                         "(its spec's memory section): nothing to compare the GPU's figures with")
    return extra


def compare(graph, device, est, runtime: str, precision: str, m: Measured, warnings=()) -> GpuValidation:
    extra = _memory_model(est, device, runtime)
    mem = GpuMemory(m.allocated_bytes, m.reserved_bytes, m.device_used_bytes,
                    int(extra["max_memory_allocated"]), int(extra["max_memory_reserved"]),
                    int(est.total.peak_memory_bytes))
    ts = sorted(m.times_s)
    return GpuValidation(net=graph.name, hw=device.name, runtime=runtime, precision=precision,
                         batch=int(graph.batch), gpu_name=m.gpu_name,
                         torch_version=m.torch_version,
                         timing="cudagraph replay" if "cudagraph" in runtime else "eager, CUDA events",
                         runs=len(ts), predicted_s=float(est.total.time_s),
                         measured_s=float(statistics.median(ts)), measured_min_s=ts[0], measured_max_s=ts[-1],
                         memory=mem, warnings=tuple(warnings))


def validate_gpu(graph, device, proc, runtime: str, precision: str, runs: int) -> GpuValidation:
    if precision not in ("fp32", "fp16"):
        raise AugurError(f"validate --processor gpu runs fp32 or fp16, not {precision!r}")
    _torch_cuda()  # before any work: fail at once where there is no GPU to run on
    est = estimate(graph, device, processor=proc.name, runtime=runtime, precision=precision)
    _memory_model(est, device, runtime)  # and before the run, not after it
    m = measure_torch(graph, precision, "cudagraph" in runtime, runs)
    warnings = []
    if int(proc.units) != m.gpu_sms:
        warnings.append(f"spec {device.name} may not describe this GPU: it has {proc.units} SMs, "
                        f"this {m.gpu_name} has {m.gpu_sms}")
    return compare(graph, device, est, runtime, precision, m, warnings)


def gpu_validate_table(v: GpuValidation) -> str:
    m = v.memory
    lines = [f"{v.net} on {v.hw} ({v.gpu_name}): PyTorch {v.torch_version}, runtime {v.runtime}, "
             f"{v.precision}, batch {v.batch}, {v.runs} runs ({v.timing})",
             f"total: predicted {v.predicted_s * 1e3:.3f} ms, measured {v.measured_s * 1e3:.3f} ms "
             f"(median; min {v.measured_min_s * 1e3:.3f}, max {v.measured_max_s * 1e3:.3f}), "
             f"error {v.error_pct:+.1f}%",
             f"memory: max_memory_allocated predicted {m.predicted_allocated_bytes / MiB:.1f} MiB, measured "
             f"{m.measured_allocated_bytes / MiB:.1f} MiB ({100 * m.allocated_error:+.1f}%); "
             f"max_memory_reserved predicted {m.predicted_reserved_bytes / MiB:.1f} MiB, measured "
             f"{m.measured_reserved_bytes / MiB:.1f} MiB ({100 * m.reserved_error:+.1f}%)",
             f"device memory in use after the run (context included): measured {m.device_used_bytes / MiB:.0f} MiB, "
             f"predicted peak {m.predicted_peak_bytes / MiB:.0f} MiB ({100 * m.device_error:+.1f}%)"]
    for w in v.warnings:
        lines.append(f"WARNING: {w}")
    return "\n".join(lines) + "\n"


def gpu_validate_dict(v: GpuValidation) -> dict:
    return {"net": v.net, "hw": v.hw, "gpu": v.gpu_name, "torch": v.torch_version, "runtime": v.runtime,
            "precision": v.precision, "batch": v.batch, "timing": v.timing, "runs": v.runs,
            "total": {"predicted_ms": v.predicted_s * 1e3, "measured_ms": v.measured_s * 1e3,
                      "measured_min_ms": v.measured_min_s * 1e3, "measured_max_ms": v.measured_max_s * 1e3,
                      "error_pct": v.error_pct},
            "memory": v.memory.to_dict(), "warnings": list(v.warnings)}
