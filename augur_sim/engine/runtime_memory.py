"""Peak memory of one inference as a given runtime really allocates it.

The runtime-independent views (augur_sim/engine/memory.py: the `caffe` and `reuse`
policies) count tensors. Runtimes hold more: copies of the weights made while loading or
re-laying them out, allocator rounding and segments, scratch buffers, a fixed cost per
process. Each model below names what it counts, term by term, and the headline peak is
their sum. The model is chosen by the runtime's `memory:` section in the hardware spec
(`model:` and the constants it needs); without one, the name of the runtime picks it.

Models
- onnxruntime (CPU): see `ort_memory`; constants measured by `augur calibrate`'s memory
  microbenchmarks (augur_sim/memfit.py) because they mix ORT's own copies with glibc's
  heap behaviour, which no document states.
- pytorch-eager / pytorch-cudagraph (GPU): the CUDA caching allocator (`cuda_round`).
- caffe-* : Caffe's TEST phase (`caffe_memory`).
- ncnn: blob and workspace allocators (`ncnn_memory`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..errors import AugurError
from ..graph import DTYPE_BYTES, LayerGraph
from ..ort_layout import conv_plan, mlas_packb_bytes
from . import gpu_memory, ort_arena
from .memory import MiB, RuntimeFootprint, im2col_bytes

MODELS = ("onnxruntime", "pytorch", "caffe", "ncnn", "tensors")


def model_for(runtime_name: str, section: dict | None) -> str:
    """The memory model a runtime uses: its `memory.model`, else by the runtime's name."""
    if section and section.get("model"):
        return section["model"]
    n = runtime_name.lower()
    if n.startswith("onnxruntime") or n.startswith("ort"):
        return "onnxruntime"
    if n.startswith("pytorch") or n.startswith("torch"):
        return "pytorch"
    if n.startswith("caffe"):
        return "caffe"
    if n.startswith("ncnn"):
        return "ncnn"
    return "tensors"


# ------------------------------------------------------------------ onnxruntime

# Constants of the ORT model. Defaults: the fit on this project's AVX-512 host (ORT 1.32,
# glibc malloc, `augur calibrate` memory microbenchmarks); a spec's `memory:` section
# overrides each (the calibrated host specs carry their own).
ORT_DEFAULTS = {
    "base_mib": 9.891,           # empty session: ORT's kernel registry, thread pool, arena headers
    "per_thread_mib": 0.113,     # a pool thread's stack and TLS pages actually touched
    "per_node_kib": 10.33,      # session state per kernel (node, kernel object, plan entries)
    "nchwc_weight_copies": 3.046,  # resident bytes per byte of NCHWc-reordered filter
    "plain_weight_copies": 2.788,  # the same for convs left to the generic Conv
    "gemm_weight_copies": 1.000,   # resident bytes per byte of Gemm/MatMul weight (pre-packed B)
    "transient_copies": 1.008,     # extra copies of the largest initializer alive during loading
    "activation_factor": 1.12,      # resident bytes per newly touched arena byte (first run)
    "heap_retained_copies": 0.25,   # freed-but-resident heap bytes left by loading, per weight byte
    "nchwc_block": 16,         # MLAS NCHWc block (floats): 16 with AVX-512, 8 with AVX2, 0 none
}


MLAS_CONV_SEGMENT_BYTES = 128 * 128 * 4


@dataclass(frozen=True)
class OrtWeights:
    """A network's weights as ORT's CPU provider stores them (bytes)."""
    nchwc_bytes: int       # NCHWc convs: filter + bias reordered and padded to the block
    plain_bytes: int       # convs ORT leaves to its generic Conv (unpadded)
    gemm_bytes: int        # Gemm / MatMul weights (MLAS pre-packs B)
    other_bytes: int       # everything else that survives optimisation (unfolded BN, PReLU...)
    largest_bytes: int     # the largest single initializer (one transient copy while loading)
    kernels: int           # nodes left to run (after ORT's fusions, about one per our kernel)
    scratch_bytes: int = 0  # the largest im2col buffer of a generic Conv


def ort_weights(graph: LayerGraph, block: int, elem_bytes: int = 4) -> OrtWeights:
    """Classify and size the initializers ORT keeps. BatchNorm/Scale right after a conv are
    folded into the conv's filter and bias (ConvBNFusion, ConvMulFusion/ConvAddFusion), so
    they cost nothing of their own; a conv without a bias gains one."""
    nchwc = plain = gemm = other = largest = scratch = 0
    folded = _folded_into_conv(graph)
    kernels = 0
    for name in graph.order:
        L = graph.layer(name)
        b = sum(math.prod(s) for s in L.params) * elem_bytes
        if L.op == "conv":
            (_, cin, *_), = graph.in_shapes(L)
            (_, cout, *_), = graph.out_shapes(L)
            kh, kw = L.attrs["kernel"]
            p = conv_plan(cin, cout, L.attrs.get("group", 1), kh, kw, block, elem_bytes)
            b = p.weight_bytes
            if p.nchwc:
                nchwc += b
            else:
                plain += b
                # The generic Conv's im2col scratch (NCHWc kernels need none). MLAS expands the
                # whole image for one group (MlasConvPrepare), but grouped convs run segmented
                # with a working buffer of MLAS_SGEMM_STRIDEN x STRIDEK = 128 x 128 floats per
                # thread (onnxruntime/core/mlas/lib/convolve.cpp).
                col = im2col_bytes(graph, name, elem_bytes)
                if L.attrs.get("group", 1) > 1:
                    col = min(col, MLAS_CONV_SEGMENT_BYTES)
                scratch = max(scratch, col)
            kernels += 1
        elif L.op in ("fc", "matmul"):
            if L.params and len(L.params[0]) == 2 and elem_bytes == 4:
                # B pre-packed for MLAS; the original is released (its only consumer packed it).
                n_out, k = L.params[0]
                b = mlas_packb_bytes(n_out, k) + sum(math.prod(s) for s in L.params[1:]) * elem_bytes
            gemm += b
            kernels += 1
        elif name in folded:
            b = 0
        else:
            other += b
            if L.op not in ("input",):
                kernels += 1
        largest = max(largest, b)
    return OrtWeights(nchwc, plain, gemm, other, largest, kernels, scratch)


def _folded_into_conv(graph: LayerGraph) -> set:
    """BN / Scale layers ORT folds into the conv before them (single-consumer chains)."""
    out = set()
    for name in graph.order:
        L = graph.layer(name)
        if L.op not in ("bn", "batchnorm", "scale") or len(L.inputs) < 1:
            continue
        src = graph.tensors[L.inputs[0]].producer
        while src and (src in out or graph.layer(src).op == "conv"):
            if graph.layer(src).op == "conv":
                out.add(name)
                break
            src = graph.tensors[graph.layer(src).inputs[0]].producer
    return out


def ort_memory(graph: LayerGraph, threads: int, consts: dict, dtype: str = "fp32") -> RuntimeFootprint:
    """ONNX Runtime, CPU provider, one session created from a file and run once.

    Peak = the larger of session creation's peak and the first run's (ORT 1.32, default
    session options), each a sum of terms:
    - session: `base_mib` for an empty session, `per_thread_mib` per intra-op thread,
      `per_node_kib` per kernel left after ORT's fusions.
    - weights: ORT reads the model into a protobuf, converts initializers into tensors,
      rewrites them (ConvBN fusion makes a new filter; the NCHWc transformer a reordered,
      block-padded one; core/optimizer/nchwc_transformer.cc), then lets kernels pre-pack
      (Gemm/MatMul pack B for MLAS' SGEMM: core/providers/cpu/math/gemm.cc PrePack,
      MlasGemmPackB) and drops the originals a pre-packed kernel no longer needs
      (SessionState's pre-pack pass releases initializers whose every consumer packed
      them). Which intermediate copies stay resident depends on glibc's malloc (freed
      blocks below the dynamic mmap threshold stay in the heap, are reused by later
      tensors but not returned): so the model charges a measured number of resident bytes
      per byte of each weight class instead of counting copies one by one.
    - creation adds the transient: the largest initializer exists twice while it is
      converted or packed (VGG-16's 392 MiB fc6); being mmapped, it is returned after.
    - the first run adds the arena pages it writes that were not resident before
      (augur_sim/engine/ort_arena.py: ORT's first run allocates every activation from the
      BFC arena, whose no-split and power-of-two growth rules decide the pages; arena
      regions that glibc serves from its heap first reuse the memory loading freed, about
      `heap_retained_copies` bytes per weight byte).
    """
    c = {**ORT_DEFAULTS, **(consts or {})}
    eb = DTYPE_BYTES[dtype]
    block = int(c["nchwc_block"])
    w = ort_weights(graph, block, eb)
    run = ort_arena.first_run(graph, block, eb, threads)
    wsum = w.nchwc_bytes + w.plain_bytes + w.gemm_bytes + w.other_bytes
    fresh = run.fresh_bytes(c["heap_retained_copies"] * wsum)
    act = int(c["activation_factor"] * fresh)
    transient = int(c["transient_copies"] * w.largest_bytes)
    terms = [
        ("session", int((c["base_mib"] + c["per_thread_mib"] * threads) * MiB
                        + c["per_node_kib"] * 1024 * w.kernels),
         f"empty session + {threads} thread(s) + {w.kernels} kernels"),
        ("weights", int(c["nchwc_weight_copies"] * w.nchwc_bytes + c["plain_weight_copies"] * w.plain_bytes
                        + c["gemm_weight_copies"] * w.gemm_bytes + w.other_bytes),
         f"resident weight copies: NCHWc convs {w.nchwc_bytes} B x {c['nchwc_weight_copies']:g}, "
         f"generic convs {w.plain_bytes} B x {c['plain_weight_copies']:g}, Gemm/MatMul {w.gemm_bytes} B x "
         f"{c['gemm_weight_copies']:g}, other {w.other_bytes} B"),
    ]
    resident = sum(b for _, b, _ in terms)
    serving_act = int(c["activation_factor"] * run.fresh_bytes(c["heap_retained_copies"] * wsum, serving=True))
    serving = max(resident + max(act, transient), resident + serving_act)
    arena_what = (f"first run: {run.touched_bytes} B of arena pages written in {len(run.region_bytes)} "
                  f"region(s) of {run.reserved_bytes} B ({run.requests} requests, peak live "
                  f"{run.peak_live_bytes} B); {int(fresh)} B newly resident")
    if act >= transient:
        terms.append(("activations", act, arena_what + f" (above the load's transient {transient} B)"))
    else:
        terms.append(("transient", transient, "the largest initializer while it is converted/packed at load "
                      f"(the first run adds less: {act} B; {arena_what})"))
    return RuntimeFootprint("onnxruntime", tuple(terms), notes=(
        "fitted constants: resident bytes per weight byte mix ORT's copies with glibc heap "
        "retention; measured, not derived",
        f"serving (from the second run on, ORT adds its memory pattern, one {run.pattern_bytes / MiB:.3g} MiB "
        f"block): {serving / MiB:.3g} MiB"),
        extra={"arena": {"touched_bytes": run.touched_bytes, "reserved_bytes": run.reserved_bytes,
                         "regions_bytes": list(run.region_bytes), "requests": run.requests,
                         "peak_live_bytes": run.peak_live_bytes, "fresh_bytes": int(fresh),
                         "pattern_bytes": run.pattern_bytes},
               "serving_peak_bytes": int(serving)})


def ort_features(graph: LayerGraph, threads: int, block: int = 16) -> dict:
    """The quantities ort_memory multiplies by its constants (for fitting them)."""
    w = ort_weights(graph, block)
    run = ort_arena.first_run(graph, block, 4, threads)
    return {"threads": threads, "kernels": w.kernels, "nchwc": w.nchwc_bytes, "plain": w.plain_bytes,
            "gemm": w.gemm_bytes, "other": w.other_bytes, "largest": w.largest_bytes,
            "heap_touched": run.heap_touched_bytes, "mmap_touched": run.mmap_touched_bytes}


def check_consts(consts: dict, where: str = "memory") -> None:
    for k, v in consts.items():
        if k == "model":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0 or v > 1e6:
            raise AugurError(f"{where}.{k}: expected a non-negative number up to 1e6, got {v!r}")


def runtime_footprint(graph: LayerGraph, model: str, section: dict | None, threads: int | None,
                      dtype: str = "fp32", kind: str = "cpu", runtime_name: str = "",
                      fusion=(), arch: str = "", algorithms: dict | None = None) -> RuntimeFootprint | None:
    """Dispatch to the runtime's model; None for 'tensors' (no runtime model). `arch`: the
    processor's architecture name (an NVIDIA `sm_NN` picks PyTorch's cuBLAS workspace);
    `algorithms`: layer -> the algorithm a runtime model chose (ncnn: a Winograd conv keeps its
    transformed kernel)."""
    section = dict(section or {})
    section.pop("model", None)
    section.pop("source", None)
    check_consts(section)
    if model == "pytorch" and "cudagraph" in runtime_name.lower():
        section.setdefault("cudagraph", 1)
    if model == "pytorch" and "cublas_workspace_mib" not in section:
        # PyTorch's default cuBLAS workspace per (handle, stream) is ":4096:8" = 32 MiB on
        # Hopper (sm_90) and newer, ":4096:2:16:8" = 8.125 MiB before (aten/src/ATen/cuda/
        # CublasHandlePool.cpp, parseChosenWorkspaceSize); cuBLASLt's 1 MiB is a block of its
        # own: the H200 measurements held 32 + 1 MiB allocated (34 MiB reserved) per stream.
        m = re.fullmatch(r"sm_(\d+)\w*", arch or "")
        if m and int(m.group(1)) >= 90:
            section["cublas_workspace_mib"] = 32.0
    if model == "onnxruntime":
        # No NCHWc rewrite unless the runtime declares it (ARM builds of ORT have none).
        section.setdefault("nchwc_block", 16 if "nchwc16" in fusion else 8 if "nchwc8" in fusion else 0)
        return ort_memory(graph, threads or 1, section, dtype)
    if model == "tensors":
        return None
    if model == "pytorch":
        return gpu_memory.pytorch_memory(graph, section, dtype)
    if model == "caffe":
        return gpu_memory.caffe_memory(graph, section, dtype, kind)
    if model == "ncnn":
        return gpu_memory.ncnn_memory(graph, section, dtype, algorithms)
    raise AugurError(f"unknown memory model '{model}'; expected one of {', '.join(MODELS)}")


__all__ = ["RuntimeFootprint", "model_for", "ort_memory", "ort_weights", "runtime_footprint",
           "ORT_DEFAULTS", "im2col_bytes"]
