"""The LRU oracle: hand-checked traces, folding exactness, limits, and agreement with
the analytical model of engine/traffic.py on small layers."""
from __future__ import annotations

import numpy as np
import pytest

from augur_sim.engine import cachesim as cs
from augur_sim.engine import traffic as tr
from augur_sim.errors import AugurError


def _mem_traffic(stats: list[cs.CacheStats], line_bytes: int) -> int:
    return stats[-1].traffic_below_bytes(line_bytes)


# ------------------------------------------------------------------ hand-checked

def test_direct_mapped_hand_trace():
    # 4 lines of 16 B, direct mapped: line index mod 4 is the set.
    addrs = [0, 4, 64, 0, 16, 20]
    #        m  h  m(evicts 0)  m(evicts 64)  m  h
    hits, misses, wbs = cs.simulate_trace(addrs, [False] * 6, [64], [16], [1])
    assert (hits[0], misses[0], wbs[0]) == (2, 4, 0)


def test_two_way_evicts_least_recently_used():
    # 2 sets x 2 ways of 16 B lines; addresses 0, 32, 64 all map to set 0.
    addrs = [0, 32, 0, 64, 0, 32, 64]
    # 0 m, 32 m, 0 h (32 now LRU), 64 m evicts 32, 0 h, 32 m evicts 64, 64 m evicts 0.
    # FIFO would evict 0 at the fourth access and miss on the fifth.
    hits, misses, _ = cs.simulate_trace(addrs, [False] * 7, [64], [16], [2])
    assert (hits[0], misses[0]) == (2, 5)
    st = cs.simulate_trace_stats(addrs + [0], [False] * 8, [64], [16], [2])
    assert st[0].misses == 6  # 0 was evicted by the last 64: LRU order held


def test_writebacks_and_write_validate():
    # One set, one way of 16 B: each new line evicts the previous one.
    addrs = [0, 16, 32]
    wr = [True, True, False]
    st = cs.simulate_trace_stats(addrs, wr, [16], [16], [1])[0]
    # two dirty lines leave the cache (evicted by 16, then by 32); 32 is clean
    assert st.writebacks == 2
    assert st.miss_bytes == 3 * 16  # write-allocate fetches every missed line
    st2 = cs.simulate_trace_stats(addrs, wr, [16], [16], [1], write_fetch=False)[0]
    assert st2.writebacks == 2
    assert st2.miss_bytes == 16  # whole-line writes allocate without a fetch


def test_final_flush_counts_dirty_lines_at_every_level():
    st = cs.simulate_trace_stats([0], [True], [64, 256], [16, 16], [1, 1])
    assert [s.writebacks for s in st] == [1, 1]
    assert [s.misses for s in st] == [1, 1]


def test_second_level_catches_first_level_misses():
    # L1: 1 line; L2: 4 lines fully associative. Alternate two lines.
    addrs = [0, 64, 0, 64, 0]
    st = cs.simulate_trace_stats(addrs, [False] * 5, [16, 64], [16, 16], [1, 4])
    assert (st[0].hits, st[0].misses) == (0, 5)
    assert (st[1].accesses, st[1].hits, st[1].misses) == (5, 3, 2)
    assert st[1].miss_bytes == 32


def test_larger_lines_below():
    # L1 16 B lines, L2 64 B lines: four L1 lines share one L2 line.
    addrs = [0, 16, 32, 48]
    st = cs.simulate_trace_stats(addrs, [False] * 4, [64, 1024], [16, 64], [4, 4])
    assert st[0].misses == 4
    assert (st[1].misses, st[1].hits) == (1, 3)


def _explicit_gemm_trace(M, N, K, s, m_b, n_b, lda, ldb, ldc, a0, b0, c0):
    """The replay_gemm loop nest written out element by element, in plain Python."""
    addrs, kinds = [], []
    for i0 in range(0, M, m_b):
        for j0 in range(0, N, n_b):
            for k in range(K):
                for j in range(j0, min(j0 + n_b, N)):
                    addrs.append(b0 + (k * ldb + j) * s)
                    kinds.append(cs.READ)
                for i in range(i0, min(i0 + m_b, M)):
                    addrs.append(a0 + (i * lda + k) * s)
                    kinds.append(cs.READ)
                    for j in range(j0, min(j0 + n_b, N)):
                        addrs.append(c0 + (i * ldc + j) * s)
                        kinds.append(cs.WRITE_FULL if k == 0 else cs.WRITE)
    return np.array(addrs, dtype=np.int64), np.array(kinds, dtype=np.int64)


@pytest.mark.parametrize("M,N,K,m_b,n_b,size", [(12, 20, 9, 5, 8, 512), (16, 16, 16, 16, 16, 1024),
                                                  (7, 33, 5, 3, 16, 256)])
def test_replay_folding_is_exact(M, N, K, m_b, n_b, size):
    """Folded replay == the element-by-element trace: same hits, misses, write-backs."""
    lines, assocs, s = [32, 64], [2, 4], 4
    got = cs.replay_gemm(M, N, K, s, m_b, n_b, K, [size, 4 * size], lines, assocs)
    e = lines[0] // s
    lda, ldb = cs._row_stride(K, e, True), cs._row_stride(N, e, True)
    page = 4096
    a0 = page
    b0 = cs._round_up(a0 + M * lda * s, page) + page
    c0 = cs._round_up(b0 + K * ldb * s, page) + page
    addrs, kinds = _explicit_gemm_trace(M, N, K, s, m_b, n_b, lda, ldb, ldb, a0, b0, c0)
    st = cs._State([size, 4 * size], lines, assocs)
    cs._run_trace(addrs, kinds, *st.args())
    want = st.stats()
    assert got == want
    assert got[0].accesses == len(addrs)


# ------------------------------------------------------------------------ limits

def test_bad_levels_are_one_line_errors():
    with pytest.raises(AugurError, match=r"levels\[0\].*power of two"):
        cs.simulate_trace([0], [False], [1024], [48], [4])
    with pytest.raises(AugurError, match="multiple of line_bytes"):
        cs.simulate_trace([0], [False], [1000], [64], [4])
    with pytest.raises(AugurError, match="equal length"):
        cs.simulate_trace([0], [False], [1024, 4096], [64], [4])
    with pytest.raises(AugurError, match="non-negative"):
        cs.simulate_trace([-64], [False], [1024], [64], [4])


def test_too_large_layer_is_refused():
    with pytest.raises(AugurError) as ei:
        cs.replay_gemm(4096, 4096, 4096, 4, 64, 64, 4096, [32768], [64], [8])
    msg = str(ei.value)
    assert "too large for trace simulation" in msg and "analytical" in msg
    assert "\n" not in msg


# -------------------------------------------------------------------- agreement

def _gemm_ratio(M, N, K, cache, assoc):
    m_b, n_b = tr.choose_gemm_blocks(M, N, K, 4, cache, 64)
    st = cs.replay_gemm(M, N, K, 4, int(m_b), int(n_b), K, [cache], [64], [assoc])
    sim = _mem_traffic(st, 64)
    ana = tr.gemm_traffic_bytes(M, N, K, 1, 4, cache, 64)
    return ana / sim, sim / tr.compulsory_gemm_bytes(M, N, K, 1, 4, 64)


def test_gemm_agreement_with_oracle():
    """Analytical vs simulated memory traffic, 40 GEMMs with M,N,K in 16..256,
    4-64 KiB caches, 8/16 ways. Measured over 300 such cases (docs/CACHE_MODEL.md):
    median ratio 1.00, range 0.79-1.15."""
    rng = np.random.default_rng(2024)
    dims = [16, 24, 32, 48, 64, 96, 100, 128, 160, 200, 256]
    ratios, beyond_compulsory = [], 0
    for _ in range(40):
        M, N, K = (int(x) for x in rng.choice(dims, 3))
        cache = int(rng.choice([4, 8, 16, 32, 64])) * 1024
        r, excess = _gemm_ratio(M, N, K, cache, int(rng.choice([8, 16])))
        ratios.append(r)
        beyond_compulsory += excess > 1.05
    ratios = np.array(ratios)
    assert beyond_compulsory >= 15  # the sample exercises capacity traffic, not just fits
    assert 0.9 <= np.median(ratios) <= 1.1
    assert ratios.min() >= 0.7 and ratios.max() <= 1.4


def test_gemm_agreement_two_levels():
    """The last level of an L1+L2 hierarchy against the model at the L2 size."""
    for M, N, K, l2 in [(128, 200, 96, 32768), (256, 64, 128, 16384), (100, 256, 64, 65536)]:
        st = cs.simulate_layer_gemm(M, N, K, [(4096, 64, 8), (l2, 64, 16)])
        assert len(st) == 2 and st[0].accesses > st[1].accesses
        sim = _mem_traffic(st, 64)
        ana = tr.gemm_traffic_bytes(M, N, K, 1, 4, l2, 64)
        assert 0.8 <= ana / sim <= 1.25, (M, N, K, l2, ana / sim)


def test_direct_conv_agreement_with_oracle():
    """Depthwise sliding window: measured over 64 cases, median 1.00, range 0.62-1.21."""
    ratios = []
    for C, k, H, s, p, cache in [(8, 3, 56, 1, 1, 1024), (4, 5, 64, 1, 2, 1024),
                                  (4, 5, 64, 1, 2, 2048), (4, 7, 96, 2, 3, 2048),
                                  (8, 3, 112, 2, 1, 1024), (4, 3, 224, 1, 1, 2048),
                                  (16, 3, 28, 1, 1, 4096)]:
        Ho = (H + 2 * p - k) // s + 1
        st = cs.replay_conv_direct(C, k, k, H, H, s, p, 4, [cache], [64], [4])
        sim = _mem_traffic(st, 64)
        ana = tr.direct_conv_traffic_bytes(C, k, k, H, H, Ho, Ho, s, s, 1, 4, cache, 64)
        ratios.append(ana / sim)
    ratios = np.array(ratios)
    assert 0.8 <= np.median(ratios) <= 1.2
    assert ratios.min() >= 0.5 and ratios.max() <= 1.5
