"""ONNX Runtime's CPU arena during a session's first run: what the activations make resident.

Measured on this project's host (ORT 1.32, verbose arena log, a fresh process per run):
the first `session.run` does not use the memory pattern. The pattern is traced during that
run and used from the second run on (where it adds one block of the pattern's size), so
the first run allocates every activation separately from the BFC arena. The arena's own
rules then decide how many bytes become resident, and they are far from "the live bytes at
the peak" for large activations (SqueezeNet v1.0 at batch 10: 46 MiB of live tensors at
the peak, two 64 MiB regions and ~97 MiB resident).

What is simulated (described from onnxruntime/core/framework/bfc_arena.cc, not copied):
- Requests round up to 256 B (`RoundedBytes`).
- A request takes the smallest free chunk that fits (the bins hold free chunks ordered by
  size, then address; `FindChunkPtr`). Regions come from mmap at falling addresses, so on
  equal sizes the newest region wins.
- A chunk is split only when it is at least twice the request, or the waste would reach
  `max_dead_bytes_per_chunk` (128 MiB); otherwise the request takes the whole chunk
  (`SplitFreeChunkFromBin`). A 45 MiB tensor in a 64 MiB chunk leaves nothing for the next.
- When nothing fits, the arena extends by a new region (`Extend`, kNextPowerOfTwo): the
  region size starts at `initial_chunk_size_bytes` (1 MiB) and doubles until the request
  fits; if no doubling was needed the size after this extension doubles. Regions never
  merge and are never returned.
- Freed chunks merge with free neighbours in the same region (`FreeAndMaybeCoalesce`).
Resident: the pages any tensor wrote (a region is mmap'd, untouched pages cost nothing).

Which buffers are requested, in what order, comes from ORT's allocation planner
(onnxruntime/core/framework/allocation_planner.cc): an output reuses a freed buffer only
when its element size and shape are the same (`SameSize`: shapes, not byte counts), taking
the most recently freed one; otherwise it is a new arena request. Outputs of NCHWc kernels
have their channels padded to the block, and a ReorderOutput / ReorderInput copy appears
where an NCHWc tensor meets an op without an NCHWc kernel or the reverse
(onnxruntime/core/optimizer/nchwc_transformer.cc). A generic Conv's im2col buffer is
requested from the arena after its output and freed when the conv returns
(onnxruntime/core/providers/cpu/nn/conv.cc).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..graph import LayerGraph
from ..ops import registry
from ..ort_layout import conv_plan, round_up

ARENA_ALIGN_BYTES = 256
INITIAL_REGION_BYTES = 1 << 20
MAX_DEAD_BYTES_PER_CHUNK = 128 << 20
PAGE_BYTES = 4096
PATTERN_ALIGN_BYTES = 64     # kAllocAlignment: traced sizes are rounded to it

# Ops with an NCHWc kernel or that are layout-agnostic on blocked tensors in ORT's NCHWc
# transformer: pooling (not global-only variants matter: both are small), element-wise add /
# activations / BatchNorm on blocked tensors, channel concat of block-aligned inputs.
_NCHWC_FOLLOWERS = ("pool", "eltwise", "act", "batchnorm", "bn", "scale", "bias")
_FUSED_OR_INPLACE = ("act", "batchnorm", "bn", "scale", "bias")


@dataclass
class _Chunk:
    off: int
    size: int
    used: bool = False


class BfcArena:
    """A simulation of the BFC arena's placement; `touched_bytes` is what became resident."""

    def __init__(self, initial_region_bytes: int = INITIAL_REGION_BYTES,
                 max_dead_bytes: int = MAX_DEAD_BYTES_PER_CHUNK):
        self.regions: list[list[_Chunk]] = []
        self.region_bytes: list[int] = []
        self.curr_region_bytes = initial_region_bytes
        self.max_dead_bytes = max_dead_bytes
        self._touched: list[list[tuple[int, int]]] = []

    def _extend(self, rounded: int) -> None:
        grew = False
        while rounded > self.curr_region_bytes:
            self.curr_region_bytes *= 2
            grew = True
        size = self.curr_region_bytes
        if not grew:
            self.curr_region_bytes *= 2
        self.regions.append([_Chunk(0, size)])
        self.region_bytes.append(size)
        self._touched.append([])

    def _find(self, rounded: int):
        best = None
        for r, chunks in enumerate(self.regions):
            for i, c in enumerate(chunks):
                if not c.used and c.size >= rounded:
                    key = (c.size, -r, c.off)
                    if best is None or key < best[0]:
                        best = (key, r, i)
        return best

    def alloc(self, num_bytes: int, write: bool = True) -> tuple[int, int]:
        """Place a request; returns (region, offset). `write`: the caller writes all of it
        (else it marks what it writes with `touch`)."""
        rounded = round_up(max(int(num_bytes), 1), ARENA_ALIGN_BYTES)
        best = self._find(rounded)
        if best is None:
            self._extend(rounded)
            best = self._find(rounded)
        _, r, i = best
        c = self.regions[r][i]
        if c.size >= 2 * rounded or c.size - rounded >= self.max_dead_bytes:
            self.regions[r].insert(i + 1, _Chunk(c.off + rounded, c.size - rounded))
            c.size = rounded
        c.used = True
        if write:
            self._touched[r].append((c.off, c.off + int(num_bytes)))
        return r, c.off

    def touch(self, where: tuple[int, int], start: int, size: int) -> None:
        """Mark [start, start + size) of the chunk placed at `where` as written."""
        r, off = where
        self._touched[r].append((off + start, off + start + size))

    def free(self, where: tuple[int, int]) -> None:
        r, off = where
        chunks = self.regions[r]
        i = next(k for k, c in enumerate(chunks) if c.off == off)
        chunks[i].used = False
        if i + 1 < len(chunks) and not chunks[i + 1].used:
            chunks[i].size += chunks[i + 1].size
            del chunks[i + 1]
        if i > 0 and not chunks[i - 1].used:
            chunks[i - 1].size += chunks[i].size
            del chunks[i]

    @property
    def reserved_bytes(self) -> int:
        return sum(self.region_bytes)

    def region_touched_bytes(self) -> list:
        """Per region, bytes of the pages any request wrote (page granular)."""
        # The union of each span's pages [a // page, ceil(b / page)), as merged intervals: a
        # set of page numbers grew with the bytes (70 M pages, 4.5 GB of Python ints, for a
        # 285 GiB batch-65536 run), this grows with the requests.
        return [_pages_in_union(spans) * PAGE_BYTES for spans in self._touched]

    @property
    def touched_bytes(self) -> int:
        return sum(self.region_touched_bytes())


def _pages_in_union(spans) -> int:
    """How many pages the byte spans [a, b) touch together (each span's pages from a // PAGE_BYTES
    to ceil(b / PAGE_BYTES), overlaps counted once)."""
    total, end = 0, -1
    for lo, hi in sorted((a // PAGE_BYTES, -(-b // PAGE_BYTES)) for a, b in spans):
        if hi <= end:
            continue
        total += hi - max(lo, end)
        end = hi
    return total


# glibc's malloc serves requests below its mmap threshold from the heap, and raises the
# threshold (from 128 KiB) to the size of any mmapped block freed, up to
# DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit; malloc/malloc.c). Session creation frees
# many weight-sized blocks, so arena regions up to this size come from the heap, and there
# they reuse memory the load freed but the heap kept (already resident); larger regions
# are fresh mmaps whose written pages are all new.
GLIBC_MMAP_THRESHOLD_MAX_BYTES = 32 << 20


@dataclass(frozen=True)
class ArenaRun:
    touched_bytes: int       # arena pages written during the first run
    reserved_bytes: int      # the arena's regions (address space)
    requests: int            # arena requests (after the planner's reuse)
    peak_live_bytes: int     # the largest sum of live buffers (for comparison)
    heap_touched_bytes: int = 0   # of touched: in regions small enough to come from the heap
    region_bytes: tuple = ()
    pattern_bytes: int = 0        # the memory pattern's block, requested from the second run on
    serving_touched_bytes: int = 0       # arena pages written once the second run is done
    serving_heap_touched_bytes: int = 0
    serving_region_bytes: tuple = ()

    @property
    def mmap_touched_bytes(self) -> int:
        return self.touched_bytes - self.heap_touched_bytes

    def fresh_bytes(self, retained_bytes: float, serving: bool = False) -> float:
        """Touched bytes that become newly resident when the heap holds `retained_bytes` of
        freed, still-resident memory that heap-served regions can reuse (`serving`: after
        the second run, with the memory pattern's block)."""
        if serving:
            return (self.serving_touched_bytes - self.serving_heap_touched_bytes
                    + max(self.serving_heap_touched_bytes - retained_bytes, 0.0))
        return self.mmap_touched_bytes + max(self.heap_touched_bytes - retained_bytes, 0.0)


def ort_order(graph: LayerGraph) -> list:
    """Layers in the order ORT's sequential executor runs them: GraphViewer's default order
    is a reverse depth-first search from the leaf nodes (onnxruntime/core/graph/graph.cc,
    ReverseDFSFrom, with NodeCompare sorting a node's inputs by node index), i.e. a
    post-order in which, of a node's inputs, the branch with the highest index runs first.
    Node indices follow the file, which our layer order mirrors."""
    index = {n: i for i, n in enumerate(graph.order)}
    producer = {}
    for n in graph.order:
        for t in graph.layer(n).outputs:
            producer[t] = n
    consumers: dict = {n: 0 for n in graph.order}
    inputs_of = {}
    for n in graph.order:
        ins = sorted({producer[t] for t in graph.layer(n).inputs if t in producer}, key=lambda m: index[m])
        inputs_of[n] = ins
        for m in ins:
            consumers[m] += 1
    leaves = [n for n in graph.order if consumers[n] == 0]
    out, visited = [], set()
    stack = [(n, False) for n in leaves]
    while stack:
        n, leaving = stack.pop()
        if leaving:
            out.append(n)
            continue
        if n in visited:
            continue
        visited.add(n)
        stack.append((n, True))
        stack.extend((m, False) for m in inputs_of[n] if m not in visited)
    return out


def _tensor_layout(graph: LayerGraph, block: int) -> dict:
    """tensor -> channels as stored (padded to the block when an NCHWc kernel wrote it), or
    None when the tensor is plain NCHW."""
    blocked: dict = {}
    for name in graph.order:
        L = graph.layer(name)
        ins = [blocked.get(t) for t in L.inputs]
        out = None
        if block > 1 and L.op == "conv":
            (_, cin, *_), = graph.in_shapes(L)
            (_, cout, *_), = graph.out_shapes(L)
            kh, kw = L.attrs["kernel"]
            p = conv_plan(cin, cout, L.attrs.get("group", 1), kh, kw, block)
            out = p.out_channels if p.nchwc else None
        elif block > 1 and ins and ins[0] is not None:
            shp = graph.out_shapes(L)
            if L.op in _NCHWC_FOLLOWERS and len(shp[0]) == 4 and all(i is not None for i in ins):
                out = round_up(shp[0][1], block)
            elif L.op == "concat" and len(shp[0]) == 4 and all(
                    i is not None and graph.tensors[t].shape[1] % block == 0 for t, i in zip(L.inputs, ins)):
                out = round_up(shp[0][1], block)
            elif L.inplace or registry.get(L.op).category == "free" and L.op in ("identity",):
                out = ins[0]
        for t in L.outputs:
            blocked[t] = out
    return blocked


def _wants_blocked(graph: LayerGraph, L, block: int) -> bool:
    """Whether layer L reads NCHWc tensors (else a blocked input is reordered to NCHW first)."""
    if block <= 1:
        return False
    if L.op == "conv":
        (_, cin, *_), = graph.in_shapes(L)
        (_, cout, *_), = graph.out_shapes(L)
        kh, kw = L.attrs["kernel"]
        p = conv_plan(cin, cout, L.attrs.get("group", 1), kh, kw, block)
        return p.nchwc and cin >= block
    return L.op in _NCHWC_FOLLOWERS or L.op == "concat" or L.inplace


MLAS_CONV_WORKING_FLOATS_PER_THREAD = 128 * 128   # MLAS_SGEMM_STRIDEN x MLAS_SGEMM_STRIDEK
MLAS_SGEMM_THREAD_COMPLEXITY = 64 * 1024
MLAS_MAXIMUM_THREAD_COUNT = 16


def mlas_conv_working_floats(batch: int, group: int, cin: int, cout: int, kh: int, kw: int,
                             out_hw: int, pointwise: bool, threads: int) -> int:
    """The working buffer MlasConvPrepare (onnxruntime/core/mlas/lib/convolve.cpp) asks for:
    none for a pointwise conv (GEMM on the input directly); the whole im2col of one image
    and group when the filters outnumber the output pixels; otherwise a 128 x 128 segment
    per thread, or, with a batch or groups, one image-and-group expansion per thread."""
    k = (cin // group) * kh * kw
    filters = cout // group
    if pointwise:
        return 0
    if filters > out_hw:
        return out_hw * k
    t = min(int(filters * out_hw * k / MLAS_SGEMM_THREAD_COMPLEXITY) + 1, MLAS_MAXIMUM_THREAD_COUNT,
            max(threads, 1))
    if batch > 1 or group > 1:
        per = max(out_hw * k, filters * out_hw, MLAS_CONV_WORKING_FLOATS_PER_THREAD)
        return min(max(threads, 1), batch * group) * per
    return t * MLAS_CONV_WORKING_FLOATS_PER_THREAD


def _scratch(graph: LayerGraph, L, blocked: dict, elem_bytes: int, threads: int) -> tuple:
    """Temporary arena buffers a kernel takes while it runs (requested after its output)."""
    if L.op == "conv" and blocked.get(L.outputs[0]) is None:
        (n, cin, *_), = graph.in_shapes(L)
        (_, cout, ho, wo), = graph.out_shapes(L)
        kh, kw = L.attrs["kernel"]
        pointwise = (kh, kw) == (1, 1) and tuple(L.attrs.get("stride", (1, 1))) == (1, 1) \
            and not any(L.attrs.get("pad", (0, 0, 0, 0)))
        f = mlas_conv_working_floats(n, L.attrs.get("group", 1), cin, cout, kh, kw, ho * wo, pointwise, threads)
        return (f * elem_bytes,) if f else ()
    if L.op == "lrn":
        # LRN (providers/cpu/nn/lrn.cc): a scale buffer as large as the input, and the
        # squared input of one image padded by size - 1 channels.
        n, c, h, w = graph.tensors[L.inputs[0]].shape
        size = int(L.attrs.get("size", 5))
        return (n * c * h * w * elem_bytes, (c + size - 1) * h * w * elem_bytes)
    return ()


def first_run(graph: LayerGraph, block: int, elem_bytes: int = 4, threads: int = 1) -> ArenaRun:
    """Replay ORT's first run against the BFC arena simulation."""
    order = ort_order(graph)
    blocked = _tensor_layout(graph, block)

    def nbytes(t: str, chans) -> int:
        shp = list(graph.tensors[t].shape)
        if chans is not None and len(shp) >= 2:
            shp[1] = chans
        n = elem_bytes
        for d in shp:
            n *= int(d)
        return n

    # Storage roots: views and in-place layers share their input's buffer.
    # BatchNorm / Scale / bias / activation on a tensor read by nothing else: ORT folds them
    # into the conv before them (ConvBNFusion, ConvActivationFusion, the NCHWc Conv's
    # activation) or runs them in place (element-wise kernels declare MayInplace).
    # An element-wise sum writes into an input that dies with it: ORT's NCHWc Conv with a
    # fused Sum accumulates into the Sum tensor's buffer, and the planner lets Add reuse an
    # input it is the last reader of (allocation_planner.cc, FindReusableInput).
    plain_root: dict = {}
    n_readers: dict = {}
    for name in order:
        for t in graph.layer(name).inputs:
            n_readers[t] = n_readers.get(t, 0) + 1
    for t in graph.outputs:
        n_readers[t] = n_readers.get(t, 0) + 1
    for name in order:
        L = graph.layer(name)
        free = registry.get(L.op).category == "free" and L.op != "input"
        if L.op in _FUSED_OR_INPLACE and len(L.inputs) == 1 and n_readers.get(L.inputs[0]) == 1 \
                and L.inputs[0] not in graph.inputs:
            free = True
        for t in L.outputs:
            plain_root[t] = plain_root.get(L.inputs[0], L.inputs[0]) if (L.inplace or free) and L.inputs else t
    last_read: dict = {}
    for i, name in enumerate(order):
        for t in graph.layer(name).inputs:
            last_read[plain_root.get(t, t)] = i
    for t in graph.outputs:
        last_read[plain_root.get(t, t)] = len(order)
    pos = {n: i for i, n in enumerate(order)}
    producer = {t: n for n in order for t in graph.layer(n).outputs}
    # A conv whose (folded) output only feeds a sum whose other operand dies there and
    # already exists: the NCHWc Conv with a Sum input writes straight into that operand.
    into: dict = {}
    for i, name in enumerate(order):
        L = graph.layer(name)
        if L.op != "eltwise" or len(L.inputs) != 2 or block <= 1:
            continue
        for a, b in (L.inputs, L.inputs[::-1]):
            ra, rb = plain_root.get(a, a), plain_root.get(b, b)
            conv = producer.get(ra)
            if conv is None or graph.layer(conv).op != "conv" or n_readers.get(a) != 1 or last_read.get(ra) != i \
                    or blocked.get(ra) is None or rb in graph.inputs or last_read.get(rb) != i \
                    or pos[producer.get(rb, conv)] > pos[conv] or blocked.get(a) != blocked.get(b):
                continue
            into[ra] = b
            break
    root: dict = {}
    for i, name in enumerate(order):
        L = graph.layer(name)
        free = registry.get(L.op).category == "free" and L.op != "input"
        src = L.inputs[0] if L.inputs else None
        if L.outputs and L.outputs[0] in into:
            src, free = into[L.outputs[0]], True
        if L.op in _FUSED_OR_INPLACE and len(L.inputs) == 1 and n_readers.get(src) == 1 and src not in graph.inputs:
            free = True
        if L.op == "eltwise" and len(L.outputs) == 1:
            dying = [t for t in L.inputs if last_read.get(plain_root.get(t, t)) == i
                     and plain_root.get(t, t) not in graph.inputs
                     and graph.tensors[t].shape == graph.tensors[L.outputs[0]].shape
                     and blocked.get(t) == blocked.get(L.outputs[0])]
            if dying:
                src, free = dying[-1], True
        for t in L.outputs:
            root[t] = root.get(src, src) if (L.inplace or free) and src else t

    # Steps: (name, [(buffer key, bytes, shape key) born], [keys read], scratch bytes)
    steps: list = []
    reorder_of: dict = {}
    for name in order:
        L = graph.layer(name)
        if L.op == "input":
            continue
        reads: list = []
        wants = _wants_blocked(graph, L, block)
        for t in L.inputs:
            r = root.get(t, t)
            bl = blocked.get(t)
            if bl is not None and not wants or bl is None and wants and graph.tensors[t].shape[1:2] \
                    and len(graph.tensors[t].shape) == 4 and L.op == "conv":
                rkey: tuple = ("reorder", r, wants)
                if rkey not in reorder_of:
                    chans = round_up(graph.tensors[t].shape[1], block) if wants else None
                    reorder_of[rkey] = True
                    steps.append((f"reorder:{t}", [(rkey, nbytes(t, chans), (tuple(graph.tensors[t].shape), chans))],
                                  [r], ()))
                reads.append(rkey)
            else:
                reads.append(r)
        born: list = []
        for t in L.outputs:
            if root[t] == t:
                born.append((t, nbytes(t, blocked.get(t)), (tuple(graph.tensors[t].shape), blocked.get(t))))
        steps.append((name, born, reads, _scratch(graph, L, blocked, elem_bytes, threads)))
    # Graph outputs leave in NCHW: a ReorderOutput copy for each one an NCHWc kernel wrote.
    finals: list = []
    for t in graph.outputs:
        r = root.get(t, t)
        if blocked.get(t) is not None:
            key: tuple = ("reorder", r, False)
            steps.append((f"reorder:{t}", [(key, nbytes(t, None), (tuple(graph.tensors[t].shape), None))], [r], ()))
            finals.append(key)
        else:
            finals.append(r)

    last: dict = {}
    for i, (_, born, reads, _) in enumerate(steps):
        for k in reads:
            last[k] = i
        for k, _, _ in born:
            last.setdefault(k, i)
    for k in finals:
        last[k] = len(steps)
    for t in graph.inputs:
        last.pop(t, None)   # the caller's input buffers are not the arena's

    # Pass 1, the planner: an output takes the most recently freed buffer of its shape
    # (freed by a node before this one), else a new buffer; a buffer lives until the last
    # user of every tensor that took it.
    freelist: list = []          # (shape key, buffer), most recently freed first
    buf_of: dict = {}
    born_at: dict = {}           # buffer -> (step, bytes)
    dies_at: dict = {}           # buffer -> step after which it is released
    for i, (_, born, _, _) in enumerate(steps):
        for k, nb, shape in born:
            hit = next((j for j, (s, _) in enumerate(freelist) if s == shape), None)
            if hit is not None:
                buf = freelist.pop(hit)[1]
            else:
                buf = len(born_at)
                born_at[buf] = (i, nb)
            buf_of[k] = (buf, shape)
            dies_at[buf] = max(dies_at.get(buf, i), last.get(k, len(steps)))
        for k, (buf, shape) in list(buf_of.items()):
            if last.get(k, len(steps)) == i and dies_at[buf] == i:
                freelist.insert(0, (shape, buf))
                del buf_of[k]

    # Pass 2, the first run: buffers are requested when first written, scratch lives for its
    # node, buffers are released after their last user.
    arena = BfcArena()
    where: dict = {}
    live = peak_live = requests = 0
    by_step: dict = {}
    for buf, (i, nb) in born_at.items():
        by_step.setdefault(i, []).append((buf, nb))
    frees: dict = {}
    for buf, i in dies_at.items():
        frees.setdefault(i, []).append(buf)
    for i, (_, _, _, scratch) in enumerate(steps):
        for buf, nb in by_step.get(i, ()):
            where[buf] = arena.alloc(nb)
            live += nb
            requests += 1
        peak_live = max(peak_live, live)
        held = [arena.alloc(nb) for nb in scratch]
        requests += len(held)
        peak_live = max(peak_live, live + sum(scratch))
        for h in reversed(held):
            arena.free(h)
        for buf in frees.get(i, ()):
            arena.free(where[buf])
            live -= born_at[buf][1]
    per = arena.region_touched_bytes()
    heap = sum(t for t, r in zip(per, arena.region_bytes) if r <= GLIBC_MMAP_THRESHOLD_MAX_BYTES)
    regions1 = tuple(arena.region_bytes)

    # The memory pattern traced during the first run (core/framework/mem_pattern_planner.h,
    # MemPatternPlanner): each traced buffer (64-byte aligned) takes the smallest gap between
    # live blocks, ordered by offset, that holds it, else goes after the last live block;
    # the pattern's size is the largest end offset. From the second run on, one arena
    # request of that size holds every traced buffer at its offset.
    live_blocks: list = []        # (offset, size, buffer), ordered by offset
    pat_off: dict = {}
    pattern = 0
    for i in range(len(steps)):
        for buf, nb in by_step.get(i, ()):
            size = round_up(nb, PATTERN_ALIGN_BYTES)
            cur, waste, best, at = 0, None, (live_blocks[-1][0] + live_blocks[-1][1]) if live_blocks else 0, None
            for j, (o, sz, _) in enumerate(live_blocks):
                if o >= cur and o - cur >= size and (waste is None or o - cur - size < waste):
                    waste, best, at = o - cur - size, cur, j
                cur = o + sz
            live_blocks.insert(len(live_blocks) if at is None else at, (best, size, buf))
            pat_off[buf] = (best, nb)
            pattern = max(pattern, best + size)
        for buf in frees.get(i, ()):
            live_blocks = [b for b in live_blocks if b[2] != buf]
    # End of the first run: the outputs went back to the caller, every chunk is free.
    freed_in_run = {b for i in range(len(steps)) for b in frees.get(i, ())}
    for buf in where:
        if buf not in freed_in_run:
            arena.free(where[buf])
    if pattern:
        pat_where = arena.alloc(pattern, write=False)
        for o, nb in pat_off.values():
            arena.touch(pat_where, o, nb)
    for _, _, _, scratch in steps:
        held = [arena.alloc(nb) for nb in scratch]
        for h in reversed(held):
            arena.free(h)
    per2 = arena.region_touched_bytes()
    heap2 = sum(t for t, r in zip(per2, arena.region_bytes) if r <= GLIBC_MMAP_THRESHOLD_MAX_BYTES)
    return ArenaRun(sum(per), sum(regions1), requests, peak_live, heap, regions1,
                    pattern, sum(per2), heap2, tuple(arena.region_bytes))
