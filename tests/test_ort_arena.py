"""ORT's first-run arena (augur_sim/engine/ort_arena.py): hand-checked cases (issue 12).

The expected figures are worked out in the comments from the rules of ORT's BFC arena
(onnxruntime/core/framework/bfc_arena.cc), its allocation planner and MLAS' conv
working buffer, not read back from the code under test.
"""
from __future__ import annotations

from augur_sim.engine.ort_arena import BfcArena, first_run, mlas_conv_working_floats, ort_order
from augur_sim.frontends.yamlnet import load_yamlnet_text

MiB = 1 << 20
PAGE = 4096


def pages(n: int) -> int:
    return -(-n // PAGE) * PAGE


def test_extend_doubles_until_the_request_fits_then_doubles_once_more():
    a = BfcArena()
    a.alloc(45 * MiB)          # 1 MiB doubled to 64 MiB (the request needed it: no extra doubling)
    assert a.region_bytes == [64 * MiB]
    # 64 MiB < 2 x 45 MiB: the chunk is not split, the 45 MiB request owns all 64 MiB, so the
    # next request needs a new region: 64 MiB again, after which the size doubles to 128.
    a.alloc(11 * MiB)
    assert a.region_bytes == [64 * MiB, 64 * MiB]
    a.alloc(60 * MiB)          # the second region's 53 MiB remainder is too small
    assert a.region_bytes == [64 * MiB, 64 * MiB, 128 * MiB]


def test_split_only_when_twice_the_request_and_free_chunks_merge():
    a = BfcArena()
    x = a.alloc(MiB // 4)       # region of 1 MiB, split (1 MiB >= 2 x 256 KiB)
    y = a.alloc(MiB // 4)       # from the 768 KiB remainder, split again (>= 512 KiB)
    z = a.alloc(400 * 1024)     # the 512 KiB remainder: not split (512 < 800 KiB), taken whole
    assert a.region_bytes == [MiB]
    assert [c.used for c in a.regions[0]] == [True, True, True]
    a.free(y)
    a.free(x)                   # merges with y's free chunk: one 512 KiB free chunk at offset 0
    assert [(c.off, c.size, c.used) for c in a.regions[0]] == [(0, MiB // 2, False), (MiB // 2, MiB // 2, True)]
    a.free(z)
    assert [(c.size, c.used) for c in a.regions[0]] == [(MiB, False)]


def test_best_fit_and_touched_pages():
    a = BfcArena()
    x = a.alloc(MiB)                   # region 0: 1 MiB, taken whole (size doubles to 2 MiB)
    a.alloc(MiB // 2)                  # region 1: 2 MiB, split: 1.5 MiB free remains
    z = a.alloc(MiB)                   # the 1.5 MiB remainder, not split (1.5 < 2 x 1), taken whole
    assert a.region_bytes == [MiB, 2 * MiB]
    a.free(x)
    a.free(z)
    w = a.alloc(900 * 1024)            # fits both free chunks (1 MiB, 1.5 MiB): the smaller wins
    assert w == (0, 0)
    # Written pages: region 0's first MiB (x, then w inside it); region 1: 0.5 + 1 MiB.
    assert a.touched_bytes == MiB + MiB // 2 + MiB


def test_mlas_working_buffer_cases():
    # 1x1, stride 1, no pad: GEMM straight on the input, no buffer.
    assert mlas_conv_working_floats(1, 1, 64, 64, 1, 1, 56 * 56, True, 1) == 0
    # 3x3, 58 -> 58 on 56x56 (ShuffleNet-like), batch 1: filters (58) < pixels (3136), so one
    # 128 x 128 float segment per thread; complexity 58*3136*522/65536 + 1 = 2 threads
    # wanted, 1 available.
    assert mlas_conv_working_floats(1, 1, 58, 58, 3, 3, 3136, False, 1) == 16384
    assert mlas_conv_working_floats(1, 1, 58, 58, 3, 3, 3136, False, 2) == 2 * 16384
    # 512 filters on a 7x7 output: filters > pixels: the whole im2col, 49 x (256 * 9).
    assert mlas_conv_working_floats(1, 1, 256, 512, 3, 3, 49, False, 1) == 49 * 256 * 9
    # A batch of 2, group 1: one image's expansion per thread, the largest of 3136 x 522,
    # 58 x 3136 and 16384: 1636992 floats, for min(threads, 2) threads.
    assert mlas_conv_working_floats(2, 1, 58, 58, 3, 3, 3136, False, 4) == 2 * 3136 * 522


_NET = """
name: arena
description: test net
input: {shape: [10, 3, 227, 227]}
layers:
  - conv1: {conv: {out: 96, k: 7, s: 2}, act: relu}
  - pool1: {maxpool: {k: 3, s: 2}}
  - conv2: {conv: {out: 16, k: 1}, act: relu}
"""


def test_first_run_of_a_small_net_by_hand():
    g = load_yamlnet_text(_NET)
    r = first_run(g, block=16)
    conv1 = 10 * 96 * 111 * 111 * 4      # 47312640 B: region 64 MiB, not split
    pool1 = 10 * 96 * 55 * 55 * 4        # 11616000 B: a second 64 MiB region, split
    conv2 = 10 * 16 * 55 * 55 * 4        # 1936000 B: the second region's remainder (52.9 MiB), split
    assert r.region_bytes == (64 * MiB, 64 * MiB)
    # conv1 is freed after pool1 and nothing reuses its pages; conv2 lands right after pool1.
    # The graph output leaves NCHWc through a ReorderOutput copy (1936000 B): the best fit
    # is then pool1's freed 11.6 MB chunk (smaller than conv1's 64 MiB and the remainder),
    # at offset 0 of the second region, pages pool1 already wrote.
    assert r.requests == 4
    assert r.touched_bytes == pages(conv1) + pages(pool1 + conv2)
    assert r.peak_live_bytes == conv1 + pool1
    # Both regions are larger than glibc's largest mmap threshold: all pages are new.
    assert r.heap_touched_bytes == 0 and r.fresh_bytes(10 * MiB) == r.touched_bytes
    # The memory pattern traced meanwhile: conv1 at 0, pool1 after it (no gap yet), conv2 in
    # the gap conv1 left (offset 0), the output's reorder after conv2: peak conv1 + pool1.
    assert r.pattern_bytes == conv1 + pool1
    # Second run: both regions are one free 64 MiB chunk again; the 56 MiB pattern block
    # takes the newer region whole (equal sizes: the lower address), and its values write
    # [0, conv1 + pool1) there. Region 0 keeps the first run's conv1 pages.
    assert r.serving_region_bytes == (64 * MiB, 64 * MiB)
    assert r.serving_touched_bytes == pages(conv1) + pages(conv1 + pool1)


_SAME_BYTES = """
name: reuse
description: test net
input: {shape: [1, 16, 32, 32]}
layers:
  - a: {conv: {out: 32, k: 1}}
  - b: {conv: {out: 32, k: 1}}
  - c: {conv: {out: 32, k: 1}}
  - d: {conv: {out: 16, k: 1}}
  - e: {reshape: [1, 32, 16, 32], in: d}
  - f: {conv: {out: 32, k: 1}}
"""


def test_planner_reuses_a_freed_buffer_only_for_the_same_shape():
    g = load_yamlnet_text(_SAME_BYTES)
    r = first_run(g, block=0)      # no NCHWc: no reorder copies in the way
    # a -> b -> c: c takes a's freed buffer (same shape [1,32,32,32]); d ([1,16,32,32]) is
    # new; e is a view of d; f's output [1,32,16,32] has d's byte count (16384 floats) but
    # not its shape, and d is still being read: new. Requests: a, b, d, f.
    assert r.requests == 4
    # With NCHWc (block 16) ORT adds a ReorderInput for a (16 input channels), a
    # ReorderOutput before the reshape and one for the graph output f.
    assert first_run(g, block=16).requests == 7


def test_execution_order_runs_the_later_branch_first():
    text = """
name: order
description: test net
input: {shape: [1, 16, 8, 8]}
layers:
  - sq: {conv: {out: 16, k: 1}}
  - e1: {conv: {out: 16, k: 1}}
  - e3: {conv: {out: 16, k: 3, p: 1}, in: sq}
  - cat: {concat: true, in: [e1, e3]}
"""
    g = load_yamlnet_text(text)
    # ORT's reverse DFS from the leaf: of cat's inputs, the higher-indexed branch (e3) is
    # emitted first (as ORT ran SqueezeNet's expand3x3 before expand1x1).
    assert ort_order(g) == ["data", "sq", "e3", "e1", "cat"]


def test_memory_fit_recovers_known_constants():
    # Points made from known constants with predict_peak itself (the fit's own formula): the
    # two-stage fit must return them (to its grid's resolution for the first-run terms).
    from augur_sim.measure.memfit import MemPoint, fit_ort, predict_peak
    truth = {"base_mib": 10.0, "per_thread_mib": 0.5, "per_node_kib": 8.0, "nchwc_weight_copies": 2.5,
             "plain_weight_copies": 1.5, "gemm_weight_copies": 1.2, "transient_copies": 1.0,
             "heap_retained_copies": 0.5, "activation_factor": 1.1}
    rng = __import__("numpy").random.default_rng(0)
    pts = []
    for i in range(30):
        f = {"threads": 1 + i % 2, "kernels": int(rng.integers(5, 200)), "nchwc": int(rng.integers(0, 200)) * MiB,
             "plain": int(rng.integers(0, 20)) * MiB, "gemm": int(rng.integers(0, 100)) * MiB, "other": 0,
             "largest": int(rng.integers(1, 60)) * MiB, "heap_touched": int(rng.integers(0, 60)) * MiB,
             "mmap_touched": int(rng.integers(0, 200)) * MiB * (i % 3 == 0)}
        creation = predict_peak({**f, "heap_touched": 0, "mmap_touched": 0}, truth)
        pts.append(MemPoint(f"p{i}", f["threads"], f, int(predict_peak(f, truth)), 0, int(creation)))
    empty = {"threads": 1, "kernels": 0, "nchwc": 0, "plain": 0, "gemm": 0, "other": 0, "largest": 0,
             "heap_touched": 0, "mmap_touched": 0}
    for th in (1, 2):
        e = {**empty, "threads": th}
        b = int(predict_peak(e, truth))
        pts.append(MemPoint("empty", th, e, b, 0, b))
    fit = fit_ort(pts, exclude=())
    for k in ("base_mib", "per_thread_mib", "nchwc_weight_copies", "plain_weight_copies", "gemm_weight_copies",
              "transient_copies"):
        assert abs(fit.consts[k] - truth[k]) < 0.02 * max(truth[k], 1), k
    assert abs(fit.consts["per_node_kib"] - truth["per_node_kib"]) < 0.2
    assert abs(fit.consts["heap_retained_copies"] - 0.5) <= 0.05
    assert abs(fit.consts["activation_factor"] - 1.1) <= 0.02
    assert fit.max_abs_pct < 1.0


def test_touched_pages_are_the_union_of_the_spans_pages_counted_once():
    """Each byte span [a, b) touches pages a // 4096 .. ceil(b / 4096); overlapping spans count
    a page once. Hand-checked cases, then random spans against a page-set reference, then a
    batch-65536 size, which a set of page numbers made take minutes and gigabytes."""
    import random

    from augur_sim.engine.ort_arena import _pages_in_union
    assert _pages_in_union([]) == 0
    assert _pages_in_union([(0, 1)]) == 1                       # one byte: its page
    assert _pages_in_union([(4095, 4097)]) == 2                 # straddles a page boundary
    assert _pages_in_union([(0, 8192), (4096, 12288)]) == 3     # pages 0-1 and 1-2: page 1 once
    assert _pages_in_union([(0, 4096), (8192, 8193)]) == 2      # a gap: page 1 untouched
    assert _pages_in_union([(100, 100)]) == 1                   # an empty span inside a page: that page
    rng = random.Random(0)
    for _ in range(500):
        spans = [(a, a + rng.choice([0, 1, rng.randint(0, 20000)])) for a in
                 (rng.randint(0, 60000) for _ in range(rng.randint(0, 12)))]
        ref = set()
        for a, b in spans:
            ref.update(range(a // PAGE, -(-b // PAGE)))
        assert _pages_in_union(spans) == len(ref), spans
    huge = 1 << 48                                                # 2^36 pages
    assert _pages_in_union([(0, huge), (huge // 2, huge + 1)]) == huge // PAGE + 1
