"""Memory models of runtimes nobody here could measure: PyTorch on a GPU, Caffe, ncnn.

Modelled from the runtimes' documentation and source (named per term), checked by
hand-computed cases in tests/test_runtime_memory.py; NOT checked against a measurement
(no GPU or Jetson was available to this project's memory work). Every figure that is an
estimate says so in the spec (`# estimate:`) or in the model's notes.
"""
from __future__ import annotations

import math

from ..graph import DTYPE_BYTES, LayerGraph
from ..ops import registry
from .memory import MiB, RuntimeFootprint, footprint, im2col_bytes, schedule
from .ncnn_algos import bordered_elems, is_ncnn_depthwise

# ------------------------------------------------------------------ CUDA caching allocator
# PyTorch's c10/cuda/CUDACachingAllocator.cpp (described, not copied):
#  - every request is rounded up to a multiple of kMinBlockSize = 512 B;
#  - requests up to kSmallSize = 1 MiB come from the small pool, whose segments are
#    cudaMalloc'ed kSmallBuffer = 2 MiB at a time;
#  - larger requests come from the large pool: below kMinLargeAlloc = 10 MiB a new segment
#    is kLargeBuffer = 20 MiB; from 10 MiB up, the request rounded up to kRoundLarge = 2 MiB;
#  - a free block is split when the remainder is >= 512 B (small pool) or > 1 MiB (large);
#    freed blocks go back to their pool and are reused best-fit, never cudaFree'd
#    (reserved memory only grows until empty_cache()).
MIN_BLOCK = 512
SMALL_SIZE = 1 << 20
SMALL_BUFFER = 2 << 20
LARGE_BUFFER = 20 << 20
MIN_LARGE_ALLOC = 10 << 20
ROUND_LARGE = 2 << 20


def cuda_round(size_bytes: int) -> int:
    """The block size the caching allocator hands out for a request."""
    if size_bytes < MIN_BLOCK:
        return MIN_BLOCK
    return -(-size_bytes // MIN_BLOCK) * MIN_BLOCK


def cuda_segment(block_bytes: int) -> int:
    """The cudaMalloc size when no cached block fits a rounded request."""
    if block_bytes <= SMALL_SIZE:
        return SMALL_BUFFER
    if block_bytes < MIN_LARGE_ALLOC:
        return LARGE_BUFFER
    return -(-block_bytes // ROUND_LARGE) * ROUND_LARGE


class CachingAllocator:
    """A small simulation of the caching allocator: segments, best-fit reuse, splitting and
    merging of neighbouring free blocks. Tracks allocated (live blocks) and reserved
    (segments) bytes and their peaks."""

    def __init__(self):
        self.segments = []         # each: list of [offset, size, free] blocks, in address order
        self.seg_small = []
        self.allocated = self.reserved = self.peak_allocated = self.peak_reserved = 0
        self.handles = {}
        self._next = 0

    def malloc(self, size_bytes: int) -> int:
        size = cuda_round(size_bytes)
        small = size <= SMALL_SIZE
        best = None
        for si, seg in enumerate(self.segments):
            if self.seg_small[si] != small:
                continue
            for bi, (_, bsize, free) in enumerate(seg):
                if free and bsize >= size and (best is None or bsize < best[2]):
                    best = (si, bi, bsize)
        if best is None:
            seg_size = cuda_segment(size)
            self.segments.append([[0, seg_size, True]])
            self.seg_small.append(small)
            self.reserved += seg_size
            self.peak_reserved = max(self.peak_reserved, self.reserved)
            best = (len(self.segments) - 1, 0, seg_size)
        si, bi, bsize = best
        seg = self.segments[si]
        off = seg[bi][0]
        rest = bsize - size
        if (small and rest >= MIN_BLOCK) or (not small and rest > SMALL_SIZE):
            seg[bi] = [off, size, False]
            seg.insert(bi + 1, [off + size, rest, True])
        else:
            seg[bi][2] = False
            size = bsize
        self.allocated += size
        self.peak_allocated = max(self.peak_allocated, self.allocated)
        h = self._next
        self._next += 1
        self.handles[h] = (si, off, size)
        return h

    def free(self, h: int) -> None:
        si, off, size = self.handles.pop(h)
        seg = self.segments[si]
        for b in seg:
            if b[0] == off:
                b[2] = True
                break
        self.allocated -= size
        merged: list = []
        for b in seg:
            if merged and merged[-1][2] and b[2]:
                merged[-1][1] += b[1]
            else:
                merged.append(list(b))
        self.segments[si] = merged


def _params(graph: LayerGraph, eb: int) -> list[int]:
    """One tensor per parameter (PyTorch allocates each weight and bias separately)."""
    out = []
    for n in graph.order:
        for s in graph.layer(n).params:
            e = 1
            for d in s:
                e *= d
            out.append(e * eb)
    return out


PYTORCH_DEFAULTS = {
    "context_mib": 500.0,       # estimate: CUDA context with lazy module loading + libraries
    "cublas_workspace_mib": 8.125,  # PyTorch's default CUBLAS_WORKSPACE_CONFIG ":4096:2:16:8" (32 on sm_90+)
    "cublaslt_workspace_mib": 1.0,  # PyTorch's default CUBLASLT_WORKSPACE_SIZE (1024 KiB), its own block
    "cudnn_workspace_cap_mib": 1024.0,  # cap on one conv's workspace the model assumes
    "cudnn_workspace": 2,       # 0: none; 1: each conv's column buffer; 2: NHWC copies (see _cudnn_workspace)
    "cudagraph": 0,             # 1: the graph's private pool keeps the activations reserved
    "keep_outputs": 0,          # 1: every layer output lives until forward returns (see below)
}


def _keep_all_schedule(graph: LayerGraph, eb: int):
    """Lifetimes under an executor that keeps every layer's output in a dict until the
    forward returns (augur_sim/measure/torchexec.py's GraphModule, which the H200 memory
    measurements ran): no in-place ops, nothing freed before the end; views (reshape,
    flatten, identity) share their input's block."""
    root: dict = {}
    for name in graph.order:
        L = graph.layer(name)
        view = registry.get(L.op).category == "free" and L.op != "input"
        for t in L.outputs:
            root[t] = root.get(L.inputs[0], L.inputs[0]) if view and L.inputs else t
    size = {t: graph.tensors[t].elems * eb for t in graph.tensors}
    born, seen = [], set()
    for name in graph.order:
        b = [root[t] for t in graph.layer(name).outputs if root[t] not in seen]
        seen.update(b)
        born.append(b)
    return size, born, [[] for _ in graph.order]


GEMM_OPS = ("fc", "matmul")   # the kinds PyTorch runs through cuBLAS/cuBLASLt (addmm, mm, bmm)


def _first_gemm(graph: LayerGraph) -> int | None:
    """Index in run order of the first layer that calls cuBLAS, None when none does.

    PyTorch allocates the cuBLAS workspace (and the cuBLASLt one) lazily, the first time a
    (handle, stream) pair is asked for a handle: getCurrentCUDABlasHandle /
    getCUDABlasLtWorkspace in aten/src/ATen/cuda/CublasHandlePool.cpp look the pair up in a
    map and only on a miss allocate the workspace through the caching allocator. Only the
    BLAS entry points (at::cuda::blas: gemm, bgemm, gemm_and_bias, behind linear/addmm/mm/
    bmm/matmul) ask for that handle; cuDNN convolutions use their own cuDNN handle
    (aten/src/ATen/cudnn/Handle.cpp) and never touch it. A network without fc/matmul never
    creates a cuBLAS workspace; one whose only GEMM is its classifier creates it after
    the convolutions have run, when few activations are alive."""
    for i, name in enumerate(graph.order):
        if graph.layer(name).op in GEMM_OPS:
            return i
    return None


def _cudnn_workspace(graph: LayerGraph, name: str, eb: int, mode: int, cap: int) -> int:
    """The transient workspace one convolution asks the caching allocator for (freed after it).

    mode 2 (default): cuDNN runs NCHW half-precision convolutions on Tensor Cores by
    transforming the tensors to NHWC (and padding channels) in its workspace (cuDNN
    developer guide, Legacy API, "Data and Filter Formats": "may use padding, folding, and
    NCHW-to-NHWC transformations to call the Tensor Core operations"): the model charges a
    copy of the input and of the output for every ungrouped fp16/bf16 conv. Grouped and
    depthwise convs are charged nothing (their kernels are not Tensor-Core GEMMs), nor are
    fp32 convs (TF32): the H200 data leave no room for such a copy there (vgg16 batch 1
    fp32: at most a few MiB at conv1_2), and cuDNN's choice is not documented.
    mode 1: the conv's GEMM column buffer (an upper estimate for GEMM-based algorithms).
    mode 0: nothing."""
    L = graph.layer(name)
    if mode == 1:
        return min(im2col_bytes(graph, name, eb), cap)
    if mode != 2 or L.op != "conv" or eb != 2 or L.attrs.get("group", 1) != 1:
        return 0
    return min((graph.tensors[L.inputs[0]].elems + graph.tensors[L.outputs[0]].elems) * eb, cap)


def pytorch_memory(graph: LayerGraph, consts: dict, dtype: str = "fp32") -> RuntimeFootprint:
    """PyTorch (eager or CUDA graphs) on one GPU, inference under torch.no_grad().

    - weights: one caching-allocator block per parameter (model.to('cuda')); BN keeps its
      four vectors (eager PyTorch does not fold BN).
    - activations: every layer's output is a new block, freed when its last consumer is done
      (reference counting); in-place ops and views share their input's block.
    - cuDNN workspace: requested from the caching allocator per convolution and freed after
      it (`_cudnn_workspace`: by default the NHWC copies of fp16 Tensor-Core convs).
    - cuBLAS + cuBLASLt workspaces: allocated through the caching allocator per (handle,
      stream) on the first GEMM that stream runs, kept for the process' life; no GEMM, no
      workspace (`_first_gemm`).
    - CUDA graphs (torch.cuda.graphs docs): the warm-up runs on a side stream (its GEMMs
      create that stream's workspaces, still held at capture), the capture on the graph's
      own stream (a second pair of workspaces, from the graph's private pool); the captured
      run's blocks come from the private pool, which stays reserved for the graph's life.
    - the CUDA context is outside the allocator: nvidia-smi shows it, memory_reserved()
      does not.
    - `keep_outputs: 1`: an executor that holds every layer output until the forward
      returns (this project's torch runner) instead of freeing by reference count.
    """
    c = {**PYTORCH_DEFAULTS, **(consts or {})}
    eb = DTYPE_BYTES[dtype]
    alloc = CachingAllocator()
    for p in _params(graph, eb):
        alloc.malloc(p)
    weights_alloc = alloc.allocated
    workspaces = [int(ws_mib * MiB) for ws_mib in (c["cublas_workspace_mib"], c["cublaslt_workspace_mib"])
                  if ws_mib]
    first_gemm = _first_gemm(graph)
    cudagraph = bool(c["cudagraph"])
    blas_held = 0    # cuBLAS workspaces allocated so far in `alloc`
    if cudagraph and first_gemm is not None:
        # The warm-up's later iterations (and the capture) run with the side stream's
        # workspaces already allocated by the first: they are held from the start.
        for ws in workspaces:
            alloc.malloc(ws)
        blas_held = sum(workspaces)
    # What the allocated peak is made of (for the breakdown the accuracy page prints):
    # the layer running, its cuDNN workspace and the cuBLAS workspaces held then.
    at_peak = {"layer": "", "cudnn_workspace": 0, "cublas_workspaces": blas_held}

    def mark(a: CachingAllocator, rec: dict, name: str, ws_live: int, blas: int) -> None:
        if a.allocated == a.peak_allocated:
            rec.update(layer=name, cudnn_workspace=ws_live, cublas_workspaces=blas)
    cap = int(c["cudnn_workspace_cap_mib"] * MiB)
    ws_mode = int(c["cudnn_workspace"])
    size, born, dies = _keep_all_schedule(graph, eb) if c["keep_outputs"] else schedule(graph, eb)
    handles = {}
    inputs = set(graph.inputs)
    for r in graph.inputs:
        handles[r] = alloc.malloc(size[r])
    for i, name in enumerate(graph.order):
        for r in born[i]:
            if r not in handles:
                handles[r] = alloc.malloc(size[r])
        if i == first_gemm and not cudagraph:
            for ws in workspaces:
                alloc.malloc(ws)
            blas_held = sum(workspaces)
        mark(alloc, at_peak, name, 0, blas_held)
        ws = _cudnn_workspace(graph, name, eb, ws_mode, cap)
        if ws:
            h = alloc.malloc(ws)
            mark(alloc, at_peak, name, ws, blas_held)
            alloc.free(h)
        for r in dies[i]:
            if r in handles and r not in inputs:
                alloc.free(handles.pop(r))
    act_reserved = alloc.peak_reserved
    total_reserved, total_allocated = act_reserved, alloc.peak_allocated
    graph_pool = 0
    if cudagraph:
        # The warm-up's outputs are dropped when its forward returns; torch.cuda.graph then
        # synchronizes, collects garbage and empties the cache before capturing
        # (torch/cuda/graphs.py, graph.__enter__), so only segments still holding a live
        # block (weights, inputs, workspaces) stay reserved. The capture allocates from a
        # private pool (a second allocator here) that the graph keeps for its life.
        for r, h in list(handles.items()):
            if r not in inputs and r not in graph.outputs:
                alloc.free(h)
                del handles[r]
        kept = sum(sum(b[1] for b in seg) for seg in alloc.segments if not all(b[2] for b in seg))
        pool = CachingAllocator()
        hs = {}
        pool_peak = {"layer": "", "cudnn_workspace": 0, "cublas_workspaces": 0}
        for i, name in enumerate(graph.order):
            for r in born[i]:
                if r not in inputs and r not in hs:
                    hs[r] = pool.malloc(size[r])
            if i == first_gemm:
                for ws in workspaces:   # the capture stream's own (handle, stream) pair
                    pool.malloc(ws)
            capture_blas = sum(workspaces) if first_gemm is not None and i >= first_gemm else 0
            mark(pool, pool_peak, name, 0, blas_held + capture_blas)
            ws = _cudnn_workspace(graph, name, eb, ws_mode, cap)
            if ws:
                h = pool.malloc(ws)
                mark(pool, pool_peak, name, ws, blas_held + capture_blas)
                pool.free(h)
            for r in dies[i]:
                if r in hs and r not in graph.outputs:
                    pool.free(hs.pop(r))
        graph_pool = pool.peak_reserved
        total_reserved = max(act_reserved, kept + graph_pool)
        if alloc.allocated + pool.peak_allocated > total_allocated:
            at_peak = pool_peak
        total_allocated = max(total_allocated, alloc.allocated + pool.peak_allocated)
    context = int(c["context_mib"] * MiB)
    terms = (("reserved", act_reserved, "caching allocator segments at the peak (weights, cuBLAS "
                                        "workspaces, activations, cuDNN workspace)"),
             ("graph_pool", total_reserved - act_reserved,
              f"CUDA graph private pool ({graph_pool} B) beyond the warm-up's segments, which "
              "empty_cache released before capture (cudagraph runtimes)"),
             ("context", context, "CUDA context and loaded libraries (outside the allocator)"))
    return RuntimeFootprint("pytorch", terms, notes=(
        "checked against PyTorch 2.11 on an H200 (docs/ACCURACY_GPU_MEMORY.md)",
        "cuDNN workspace: NHWC copies of in/out for ungrouped fp16 convs (cuDNN's choice is not documented)"),
        extra={"max_memory_allocated": total_allocated, "max_memory_reserved": total_reserved,
               "weights_allocated": weights_alloc, "graph_pool_reserved": graph_pool,
               "cublas_workspaces": (2 if cudagraph else 1) * sum(workspaces) if first_gemm is not None else 0,
               "peak_layer": at_peak["layer"], "peak_cudnn_workspace": at_peak["cudnn_workspace"],
               "peak_cublas_workspaces": at_peak["cublas_workspaces"]})


# ------------------------------------------------------------------ Caffe

CAFFE_DEFAULTS = {
    "context_mib": 0.0,        # CUDA context (GPU builds): set per device in the spec
    "cudnn": 0,                # 1: CuDNNConvolutionLayer (workspaces instead of col buffers)
    "cudnn_workspace_limit_mib": 8.0,   # BVLC cudnn_conv_layer.cpp's workspace_limit_bytes
    "cudnn_streams_per_group": 3,       # CUDNN_STREAMS_PER_GROUP in BVLC Caffe
    "host_weight_copy": 0,     # 1: the CPU copy of the weights shares the memory (Jetson: one DRAM)
}


def caffe_memory(graph: LayerGraph, consts: dict, dtype: str = "fp32", kind: str = "cpu") -> RuntimeFootprint:
    """BVLC Caffe in the TEST phase, one forward pass.

    - blobs: Net::Init gives every top a Blob; in-place layers (top == bottom) share it. A
      Blob's SyncedMemory allocates lazily on first access: forward touches every top's
      data, never a diff, so data only (no diffs in TEST).
    - weights: the learnable blobs' data (loaded from the .caffemodel); on a GPU the
      weights live on the device and their host copy stays allocated (SyncedMemory keeps
      both): on a Jetson, where CPU and GPU share one DRAM, both count (host_weight_copy).
    - conv scratch: each BaseConvolutionLayer owns its col_buffer_ (one image's im2col,
      all groups), touched on the first forward unless the conv is 1x1/s1/p0; they all
      stay allocated (per layer, not shared).
    - cuDNN engine (CuDNNConvolutionLayer): no col buffer; each layer cudaMallocs a
      workspace of its largest algorithm's need (forward and both backward algorithms are
      chosen in Reshape even in TEST) under an 8 MiB limit per algorithm, times groups x 3
      streams. The need itself is estimated as the layer's column buffer (cuDNN's GEMM-based
      algorithms need about that); cuDNN decides the real one.
    - CUDA context: `context_mib` from the spec (an estimate there).
    """
    c = {**CAFFE_DEFAULTS, **(consts or {})}
    eb = DTYPE_BYTES[dtype]
    fp = footprint(graph, dtype, "caffe")
    blobs = fp.peak_activation_bytes
    weights = fp.weight_bytes
    scratch = 0
    for name in graph.order:
        col = im2col_bytes(graph, name, eb)   # one image's columns (Caffe loops over the batch)
        if not col:
            continue
        if c["cudnn"]:
            g = graph.layer(name).attrs.get("group", 1)
            per_algo = min(col // g, int(c["cudnn_workspace_limit_mib"] * MiB))
            scratch += per_algo * g * int(c["cudnn_streams_per_group"])
        else:
            scratch += col
    host = weights if c["host_weight_copy"] else 0
    terms = (("blobs", blobs, "top blobs' data, in-place shared, no diffs (TEST)"),
             ("weights", weights, "learnable blobs' data"),
             ("host_weights", host, "the weights' host copy sharing the DRAM (unified memory)"),
             ("conv_scratch", scratch, "cuDNN workspaces" if c["cudnn"] else "per-layer col_buffer_ (one image)"),
             ("context", int(c["context_mib"] * MiB), "CUDA context and libraries"))
    return RuntimeFootprint("caffe", terms, notes=(
        "not measured: modelled from BVLC Caffe's source (net.cpp, blob/syncedmem, "
        "base_conv_layer.cpp, cudnn_conv_layer.cpp)",))


# ------------------------------------------------------------------ ncnn

NCNN_DEFAULTS = {
    "lightmode": 1,            # ncnn Option::lightmode (default on)
    "fp16_storage": 0,         # Option::use_fp16_storage on CPUs with fp16 arithmetic (ARMv8.2)
    "base_mib": 2.0,           # estimate: library, Net/Extractor objects, thread pool
    "weight_copies": 1.0,      # resident bytes per byte of weight after create_pipeline
}


def _ncnn_mat_bytes(shape, eb: int) -> int:
    """An ncnn Mat: each channel's plane padded to 16 bytes (Mat::cstep), plus the 64-byte
    over-read margin its fastMalloc adds (NCNN_MALLOC_OVERREAD)."""
    if len(shape) >= 3:
        c = shape[1] * (shape[0] if shape[0] > 1 else 1)
        plane = 1
        for d in shape[2:]:
            plane *= d
        return c * (-(-plane * eb // 16) * 16) + 64
    e = 1
    for d in shape:
        e *= d
    return e * eb + 64


def _ncnn_col_bytes(graph: LayerGraph, name: str, eb: int) -> int:
    """The column buffer of a conv, as memory.im2col_bytes, except that a depthwise conv has
    none (ncnn_algos.is_ncnn_depthwise: direct per-channel kernels on the bordered input)."""
    layer = graph.layer(name)
    if layer.op == "conv":
        ins, outs = graph.in_shapes(layer), graph.out_shapes(layer)
        if ins and outs and is_ncnn_depthwise(int(layer.attrs.get("group", 1)), int(ins[0][1]), int(outs[0][1])):
            return 0
    return im2col_bytes(graph, name, eb)


def _bordered_bytes(graph: LayerGraph, name: str, eb: int) -> int:
    layer = graph.layer(name)
    if layer.op not in ("conv", "pool"):
        return 0
    ins, outs = graph.in_shapes(layer), graph.out_shapes(layer)
    if not ins or not outs:
        return 0
    return int(bordered_elems(layer.op, layer.attrs, ins[0], outs[0])) * eb


# What ncnn keeps of a conv's kernel after create_pipeline, per byte of the kernel as stored in
# the model, by the algorithm the layer runs (engine/ncnn_algos.ALGO_NAMES): a Winograd conv keeps
# only its transformed kernel, one (m+2) x (m+2) tile per 3x3 kernel of F(m,3)
# (convolution_3x3_winograd.h, conv3x3s1_winograd{23,43,63}_transform_kernel: 16, 36, 64 values
# for 9), released in light mode; the int8 F(4,3) kernel is transformed into int16
# (convolution_3x3_winograd_int8.h: 36 int16 for 9 int8). Packed GEMM layouts (pack4/pack8,
# the im2col and 1x1 kernels) reorder the kernel without growing it beyond padding.
NCNN_KERNEL_GROWTH = {"winograd63": 64 / 9, "winograd43": 36 / 9, "winograd23": 16 / 9,
                      "int8_winograd43": 2 * 36 / 9}


def _ncnn_weight_bytes(graph: LayerGraph, eb: int, algorithms: dict | None) -> int:
    """The weights ncnn holds after create_pipeline: each layer's stored tensors at the storage
    precision (`eb`), a quantised layer's kernel (its first tensor) in int8, grown by its
    algorithm's transform (NCNN_KERNEL_GROWTH; `algorithms`: layer name -> ncnn algorithm, None:
    none known)."""
    total = 0.0
    for n in graph.order:
        layer = graph.layer(n)
        for k, shape in enumerate(layer.params):
            nbytes = float(math.prod(shape)) * (1 if k == 0 and layer.attrs.get("int8") else eb)
            if k == 0 and algorithms:
                nbytes *= NCNN_KERNEL_GROWTH.get(algorithms.get(n, ""), 1.0)
            total += nbytes
    return int(total)


def ncnn_memory(graph: LayerGraph, consts: dict, dtype: str = "fp32",
                algorithms: dict | None = None) -> RuntimeFootprint:
    """ncnn's Extractor on a CPU.

    - blobs: ncnn's blob allocator (a PoolAllocator, allocator.cpp) hands out Mats; in light
      mode the Extractor releases a blob once its consumers have run, so the pool reuses it
      (the `reuse` walk); without light mode every blob it computed stays until the
      Extractor dies (the `caffe` walk). Each Mat's channel planes are 16-byte aligned.
    - fp16 storage halves the blobs and the weights (layers cast them at create_pipeline).
    - workspace: scratch from the workspace allocator, freed after each layer: the largest
      one layer needs, estimated as its column buffer (none for a depthwise conv) plus the
      bordered copy a padded conv or pooling window makes of its input first
      (ncnn_algos.bordered_elems: make_padding allocates it from opt.workspace_allocator,
      and the column buffer is read from it).
    - weights: with light mode the layers release the loaded weight_data once
      create_pipeline has packed it: one resident copy (`weight_copies`) of what the layer keeps,
      a quantised layer's kernel in int8 and a Winograd conv's transformed kernel
      (`_ncnn_weight_bytes`; `algorithms` from the ncnn runtime model, none: as stored).
    """
    c = {**NCNN_DEFAULTS, **(consts or {})}
    eb = 2 if c["fp16_storage"] else DTYPE_BYTES[dtype]
    policy = "reuse" if c["lightmode"] else "caffe"
    size, born, dies = schedule(graph, eb)
    if policy == "caffe":
        blobs = sum(_ncnn_mat_bytes(graph.tensors[r].shape, eb) for b in born for r in b)
    else:
        live = peak = 0
        for i in range(len(graph.order)):
            live += sum(_ncnn_mat_bytes(graph.tensors[r].shape, eb) for r in born[i])
            peak = max(peak, live)
            live -= sum(_ncnn_mat_bytes(graph.tensors[r].shape, eb) for r in dies[i])
        blobs = peak
    weights = int(_ncnn_weight_bytes(graph, eb, algorithms) * c["weight_copies"])
    ws = max((_ncnn_col_bytes(graph, n, eb) + _bordered_bytes(graph, n, eb) for n in graph.order), default=0)
    terms = (("blobs", blobs, f"blob allocator peak ({'light mode' if c['lightmode'] else 'all blobs kept'})"),
             ("weights", weights, "weights after create_pipeline (Winograd kernels transformed, int8 kernels in int8)"
              if algorithms else "weights after create_pipeline (as stored; int8 kernels in int8)"),
             ("workspace", ws, "largest per-layer scratch from the workspace allocator"),
             ("runtime", int(c["base_mib"] * MiB), "library and objects (estimate)"))
    return RuntimeFootprint("ncnn", terms, notes=(
        "modelled from ncnn's allocator.cpp, net.cpp (Extractor, lightmode), mat.h and the Winograd kernel "
        "transforms; checked on one x86 machine (docs/ACCURACY_NCNN_HOST.md)",))
