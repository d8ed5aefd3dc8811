"""Analytical traffic: bounds, monotonicity, the blocked-GEMM formula, conv variants."""
from __future__ import annotations

import itertools
import math

import numba
import pytest

from augur_sim.engine import traffic as tr

KIB = 1024
CACHES = [1 * KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, 1024 * KIB, 8192 * KIB]
DIMS = [1, 7, 16, 64, 200, 1000]


def test_everything_fits_is_compulsory():
    # 32x48x40 fp32: A+B+C = 19.3 KB, far below 0.7 of 1 MiB
    q = tr.gemm_traffic_bytes(32, 48, 40, 3, 4, 1024 * KIB, 64)
    assert q == tr.compulsory_gemm_bytes(32, 48, 40, 3, 4, 64)
    assert q == 3 * (math.ceil(32 * 40 * 4 / 64) + math.ceil(40 * 48 * 4 / 64)
                     + math.ceil(32 * 48 * 4 / 64)) * 64


def test_bounds_and_monotonicity_grid():
    """Over a grid of shapes: >= compulsory, >= I/O lower bound, whole lines,
    non-increasing as the cache grows."""
    for M, N, K in itertools.product(DIMS, DIMS, DIMS):
        prev = math.inf
        for cache in CACHES:
            q = tr.gemm_traffic_bytes(M, N, K, 2, 4, cache, 64)
            assert q >= tr.compulsory_gemm_bytes(M, N, K, 2, 4, 64)
            assert q >= tr.io_lower_bound_bytes(M, N, K, 2, 4, cache)
            assert q % 64 == 0
            assert q <= prev, (M, N, K, cache)
            prev = q


def test_io_lower_bound_value():
    # 2*M*N*K/sqrt(S) - 2*S elements, S = 4096 elements (16 KiB of fp32)
    lb = tr.io_lower_bound_bytes(512, 512, 512, 1, 4, 16 * KIB)
    assert lb == pytest.approx((2 * 512 ** 3 / 64 - 2 * 4096) * 4)
    assert tr.io_lower_bound_bytes(8, 8, 8, 1, 4, 16 * KIB) == 0.0  # term is negative


def test_large_k_follows_blocked_formula():
    """No panel fits (K large): Q = s*(M*K*ceil(N/n_b) + K*N*ceil(M/m_b) + M*N)."""
    M, N, K, s, cache, line = 512, 512, 4096, 4, 32 * KIB, 64
    m_b, n_b = tr.choose_gemm_blocks(M, N, K, s, cache, line)
    assert 1 < m_b < M and 1 < n_b < N
    # the C block (plus one A line per row and one B row) fits the usable lines
    usable = math.floor(tr.ASSOC_SAFETY * cache / line)
    c_lines = m_b * math.ceil(n_b * s / line)
    assert c_lines + m_b + math.ceil(n_b * s / line) <= usable
    want = s * (M * K * math.ceil(N / n_b) + K * N * math.ceil(M / m_b) + M * N)
    assert tr.gemm_traffic_bytes(M, N, K, 1, s, cache, line) == want
    # and that is within a small factor of the I/O lower bound
    assert want < 3 * tr.io_lower_bound_bytes(M, N, K, 1, s, cache)


def test_blocks_fit_and_grow_with_cache():
    small = tr.choose_gemm_blocks(1024, 1024, 1024, 4, 16 * KIB, 64)
    big = tr.choose_gemm_blocks(1024, 1024, 1024, 4, 256 * KIB, 64)
    assert small[0] * small[1] * 4 <= 16 * KIB
    assert big[0] * big[1] > small[0] * small[1]


def test_count_scales_linearly():
    one = tr.gemm_traffic_bytes(300, 200, 100, 1, 4, 32 * KIB, 64)
    assert tr.gemm_traffic_bytes(300, 200, 100, 5, 4, 32 * KIB, 64) == 5 * one
    assert tr.gemm_traffic_bytes(0, 200, 100, 5, 4, 32 * KIB, 64) == 0.0


def test_callable_from_other_jitted_code():
    @numba.njit
    def total(cache_bytes):
        q = 0.0
        for m in range(1, 5):
            q += tr.gemm_traffic_bytes(64 * m, 96, 128, 1, 4, cache_bytes, 64)
            q += tr.direct_conv_traffic_bytes(32, 3, 3, 56, 56, 56, 56, 1, 1, 1, 4,
                                              cache_bytes, 64)
            q += tr.conv_gemm_traffic_bytes(16, 32, 3, 3, 28, 28, 28, 28, 1, 2, 4,
                                            cache_bytes, 64, True)
        return q

    want = sum(tr.gemm_traffic_bytes(64 * m, 96, 128, 1, 4, 8 * KIB, 64)
               + tr.direct_conv_traffic_bytes(32, 3, 3, 56, 56, 56, 56, 1, 1, 1, 4, 8 * KIB, 64)
               + tr.conv_gemm_traffic_bytes(16, 32, 3, 3, 28, 28, 28, 28, 1, 2, 4, 8 * KIB,
                                            64, True)
               for m in range(1, 5))
    assert total(8 * KIB) == want


def test_stream_rounds_each_operand_to_lines():
    assert tr.stream_traffic_bytes(100, 64, 0, 64) == (2 + 1) * 64
    assert tr.stream_traffic_bytes(0, 0, 0, 64) == 0.0
    assert tr.stream_traffic_bytes(1, 1, 1, 128) == 3 * 128


def _direct_comp(C, k, H, Ho, batch=1):
    return tr.stream_traffic_bytes(batch * C * H * H * 4, batch * C * Ho * Ho * 4,
                                   C * k * k * 4, 64)


def test_direct_conv_regimes():
    C, k, H = 32, 3, 112
    comp = _direct_comp(C, k, H, H)
    # line buffer (3 rows of 448 B + output row) fits in 4 KiB: compulsory
    assert tr.direct_conv_traffic_bytes(C, k, k, H, H, H, H, 1, 1, 1, 4, 4 * KIB, 64) == comp
    # 1 KiB holds the window but not 3 rows: vertical reuse lost, up to 3x the input
    q = tr.direct_conv_traffic_bytes(C, k, k, H, H, H, H, 1, 1, 1, 4, 1 * KIB, 64)
    in_bytes = C * H * H * 4
    assert comp < q <= comp + 2 * in_bytes + 64
    # a cache of two lines keeps nothing: every window element is a read
    tiny = tr.direct_conv_traffic_bytes(C, k, k, H, H, H, H, 1, 1, 1, 4, 128, 64)
    assert tiny >= comp + 7 * in_bytes
    # monotone in cache size, never below compulsory, for strides 1 and 2
    for stride in (1, 2):
        Ho = (H + 2 - k) // stride + 1
        prev = math.inf
        for cache in [128, 512, 1 * KIB, 2 * KIB, 4 * KIB, 64 * KIB]:
            q = tr.direct_conv_traffic_bytes(C, k, k, H, H, Ho, Ho, stride, stride, 2, 4,
                                             cache, 64)
            assert _direct_comp(C, k, H, Ho, 2) <= q <= prev
            prev = q


def test_conv_gemm_bounds_and_batch_sharing():
    for (cin, cout, k, H, groups, im2col) in [(64, 64, 3, 56, 1, True), (256, 64, 1, 28, 1, False),
                                                (16, 16, 3, 14, 4, True), (512, 512, 3, 7, 1, True)]:
        comp_w = groups * cout * cin * k * k * 4
        for cache in [8 * KIB, 64 * KIB, 1024 * KIB, 16384 * KIB]:
            q1 = tr.conv_gemm_traffic_bytes(cin, cout, k, k, H, H, H, H, groups, 1, 4, cache,
                                            64, im2col)
            q4 = tr.conv_gemm_traffic_bytes(cin, cout, k, k, H, H, H, H, groups, 4, 4, cache,
                                            64, im2col)
            comp4 = tr.stream_traffic_bytes(4 * groups * cin * H * H * 4,
                                            4 * groups * cout * H * H * 4, comp_w, 64)
            assert q4 >= comp4
            lb = tr.io_lower_bound_bytes(cout, H * H, cin * k * k, groups * 4, 4, cache)
            assert q4 >= lb
            assert q4 <= 4 * q1  # a batch never costs more than separate images
    # weights (64x576 fp32 = 147 KB) fit in half of 1 MiB: the batch shares them
    q1 = tr.conv_gemm_traffic_bytes(64, 64, 3, 3, 56, 56, 56, 56, 1, 1, 4, 1024 * KIB, 64, True)
    q4 = tr.conv_gemm_traffic_bytes(64, 64, 3, 3, 56, 56, 56, 56, 1, 4, 4, 1024 * KIB, 64, True)
    assert q4 < 4 * q1


def test_im2col_buffer_costs_when_it_spills():
    # 1x1 conv, big plane: im2col copies the input; the copy does not fit 32 KiB
    args = (64, 64, 1, 1, 56, 56, 56, 56, 1, 1, 4, 32 * KIB, 64)
    direct = tr.conv_gemm_traffic_bytes(*args, False)
    lowered = tr.conv_gemm_traffic_bytes(*args, True)
    buf = 64 * 56 * 56 * 4
    assert lowered >= direct + buf  # written out once and read again by the GEMM
    # with a cache that holds the copy, lowering costs only the input read
    big = (64, 64, 1, 1, 56, 56, 56, 56, 1, 1, 4, 4096 * KIB, 64)
    assert tr.conv_gemm_traffic_bytes(*big, True) == tr.conv_gemm_traffic_bytes(*big, False)


def test_bad_sizes_raise():
    with pytest.raises(ValueError):
        tr.gemm_traffic_bytes(8, 8, 8, 1, 4, 1024, 0)
    with pytest.raises(ValueError):
        tr.stream_traffic_bytes(8, 8, 8, -64)
