"""The PyTorch caching-allocator model against PyTorch GPU memory measured on an H200 (issue 12).

The measurements are this repository's `measurements/h200_memory/` (PyTorch 2.11, one H200,
2026-11-30). Nothing in the model is fitted to them; these tests pin the comparison on a fixed
sample so that a change to the allocator model that breaks the agreement fails here. The
small hand-checked cases come first.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from augur_sim.engine.gpu_memory import pytorch_memory
from augur_sim.frontends.yamlnet import load_yamlnet_text
from augur_sim.measure.gpu_memcheck import compare, load_measurements, summary

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "measurements" / "h200_memory" / "h200_memory_2026-11-30.json"
MiB = 1 << 20

_NET = """
name: chain
description: test net
input: {shape: [1, 64, 64, 64]}
layers:
  - a: {conv: {out: 64, k: 1}}
  - b: {conv: {out: 64, k: 1}}
  - c: {conv: {out: 64, k: 1}}
"""


def test_keep_outputs_holds_every_output_to_the_end():
    g = load_yamlnet_text(_NET)
    c = {"context_mib": 0, "cublas_workspace_mib": 0, "cublaslt_workspace_mib": 0, "cudnn_workspace_cap_mib": 0}
    # Each activation is 64*64*64*4 = 1 MiB (a small-pool block: <= 1 MiB). Weights: three
    # 64x64 filters (16384 B) and biases (256 B -> 512 B), each its own block.
    weights = 3 * (16384 + 512)
    refcount = pytorch_memory(g, c)
    keep = pytorch_memory(g, {**c, "keep_outputs": 1})
    assert keep.extra["weights_allocated"] == refcount.extra["weights_allocated"] == weights
    # Input + a + b + c all live at the end when kept: 4 MiB; by reference count at most
    # three at once (b is written while a is read; a dies, then c reuses a's block).
    assert keep.extra["max_memory_allocated"] == weights + 4 * MiB
    assert refcount.extra["max_memory_allocated"] == weights + 3 * MiB


def test_cudagraph_reserved_is_the_larger_of_warmup_and_pool_not_their_sum():
    text = _NET.replace("[1, 64, 64, 64]", "[1, 64, 128, 128]")   # 4 MiB activations: large pool
    g = load_yamlnet_text(text)
    c = {"context_mib": 0, "cublas_workspace_mib": 0, "cublaslt_workspace_mib": 0, "cudnn_workspace_cap_mib": 0,
         "keep_outputs": 1}
    eager = pytorch_memory(g, c)
    graph = pytorch_memory(g, {**c, "cudagraph": 1})
    # Eager: weights in one 2 MiB small segment; the 4 MiB input and a, b, c (4 MiB each) in
    # 20 MiB large segments: input + a + b + c = 16 MiB fit one segment. Reserved 22 MiB.
    assert eager.extra["max_memory_reserved"] == 22 * MiB
    # CUDA graph: after the warm-up, empty_cache keeps the segments holding the weights and
    # the input (2 + 20 MiB); the private pool needs one 20 MiB segment for a, b, c (12 MiB):
    # max(22, 22 + 20) = 42 MiB. The old model added the warm-up's whole peak: 22 + 20.
    assert graph.extra["graph_pool_reserved"] == 20 * MiB
    assert graph.extra["max_memory_reserved"] == 42 * MiB
    assert graph.peak_bytes == eager.peak_bytes + 20 * MiB


@pytest.fixture(scope="module")
def h200_rows():
    assert DATA.is_file(), f"{DATA} missing (it is part of the repository)"
    return compare(load_measurements(DATA), REPO / "nets")


def test_h200_fixed_sample(h200_rows):
    by = {(r.net, r.batch, r.precision, r.mode): r for r in h200_rows}
    assert len(h200_rows) == 112
    # Activation-dominated: every output kept, so the peak is the sum of the activations.
    r = by[("resnet50", 16, "fp32", "eager")]
    assert abs(r.allocated_error) < 0.02 and abs(r.reserved_error) < 0.02
    r = by[("densenet121", 16, "fp16", "cudagraph")]
    assert abs(r.allocated_error) < 0.03 and abs(r.reserved_error) < 0.03
    # Weight-dominated: one block per parameter.
    r = by[("vgg16", 1, "fp16", "eager")]
    assert abs(r.weights_error) < 0.01 and abs(r.allocated_error) < 0.06
    # The first eager entry carried the default stream's cuBLAS workspaces (33 MiB).
    assert by[("alexnet", 1, "fp32", "eager")].workspace_bytes == 33 * MiB


def test_h200_summary(h200_rows):
    s = summary(h200_rows)
    # Medians over the 112 entries as documented in docs/ACCURACY_GPU_MEMORY.md (0.8% / 1.0%).
    assert s["allocated"]["median_pct"] < 2.0 and s["reserved"]["median_pct"] < 2.0
    assert s["allocated"]["max_pct"] < 25.0 and s["reserved"]["max_pct"] < 35.0


def test_cublas_workspace_by_architecture():
    from augur_sim.engine.runtime_memory import runtime_footprint
    g = load_yamlnet_text(_NET)
    base = {"context_mib": 0, "cudnn_workspace_cap_mib": 0}
    hopper = runtime_footprint(g, "pytorch", base, 1, "fp32", "gpu", "pytorch-eager", (), "sm_90")
    ampere = runtime_footprint(g, "pytorch", base, 1, "fp32", "gpu", "pytorch-eager", (), "sm_80")
    # Hopper: 32 MiB cuBLAS (a 32 MiB large segment, exact) + 1 MiB cuBLASLt (small pool);
    # before: 8.125 MiB (8320 KiB) + the same 1 MiB. Same activations: the difference is
    # the cuBLAS workspace alone, allocated exactly (512 B multiples, no split remainder).
    assert hopper.extra["max_memory_allocated"] - ampere.extra["max_memory_allocated"] == 32 * MiB - 8320 * 1024
    # An explicit spec value wins.
    pinned = runtime_footprint(g, "pytorch", {**base, "cublas_workspace_mib": 8.125}, 1, "fp32", "gpu",
                               "pytorch-eager", (), "sm_90")
    assert pinned.extra["max_memory_allocated"] == ampere.extra["max_memory_allocated"]
