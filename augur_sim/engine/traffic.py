"""Analytical memory traffic of CNN layers through one cache level (numba, scalar).

Every public function is ``@numba.njit(cache=True)`` on int/float scalars and returns
float64 bytes moved between a cache of ``cache_bytes`` and the level below, so the cost
kernels can call them from inside their own jitted loops (no Python objects, no
allocation). Apply them once per level of a hierarchy, each level with its own size.

Assumptions shared by all models (docs/CACHE_MODEL.md has the equations):
- write-back, write-allocate cache with LRU-like replacement; outputs are written whole,
  so their first write allocates without fetching (write-validate / streaming stores)
  and each output byte leaves the cache once: "outputs are written once";
- a working set "fits" when it needs at most ``ASSOC_SAFETY`` of the cache lines: the
  rest absorbs set conflicts of a set-associative cache and the stale lines LRU keeps;
- row-major tensors whose rows start on a line boundary (padded / packed layouts), so a
  row of w elements costs ceil(w * elem_bytes / line_bytes) lines;
- nothing is assumed to stay in the cache between layers: each layer pays its compulsory
  traffic (inputs and weights read once, outputs written once), rounded to whole lines;
- all models are clamped from below by compulsory traffic, and the GEMM models also by
  the I/O lower bound of classical matrix multiplication (``io_lower_bound_bytes``).

Shapes are trusted here (the hardware and layer loaders validate them): a zero-sized
problem moves 0 bytes; a non-positive line or element size is a caller bug (ValueError).
"""
from __future__ import annotations

import math

import numba
import numpy as np

# Fraction of the cache lines a working set may use and still be taken as resident
# (headroom for set conflicts and for the stale lines LRU holds on to). 0.7 agrees best
# with the LRU oracle in tests/test_cachesim.py; see docs/CACHE_MODEL.md.
ASSOC_SAFETY = 0.7
# The same for sliding-window sweeps, whose lines are consecutive and fill all sets evenly.
STREAM_SAFETY = 0.9


@numba.njit(cache=True)
def _lines_of(n_elems, elem_bytes, line_bytes):
    """Lines spanned by a line-aligned run of n_elems elements."""
    return math.ceil(n_elems * elem_bytes / line_bytes)


@numba.njit(cache=True)
def _cap_lines(cache_bytes, line_bytes):
    """Cache lines a working set may use (the associativity safety margin applied)."""
    if cache_bytes <= 0.0:
        return 0.0
    return math.floor(ASSOC_SAFETY * cache_bytes / line_bytes)


@numba.njit(cache=True)
def _check_sizes(elem_bytes, line_bytes):
    if elem_bytes <= 0 or line_bytes <= 0:
        raise ValueError("traffic: elem_bytes and line_bytes must be positive")


@numba.njit(cache=True)
def compulsory_gemm_bytes(M, N, K, count, elem_bytes, line_bytes):
    """A, B and C of ``count`` GEMMs each moved once, every matrix rounded up to lines."""
    _check_sizes(elem_bytes, line_bytes)
    if M <= 0 or N <= 0 or K <= 0 or count <= 0:
        return 0.0
    a = math.ceil(M * K * elem_bytes / line_bytes)
    b = math.ceil(K * N * elem_bytes / line_bytes)
    c = math.ceil(M * N * elem_bytes / line_bytes)
    return float(count) * (a + b + c) * line_bytes


@numba.njit(cache=True)
def io_lower_bound_bytes(M, N, K, count, elem_bytes, cache_bytes):
    """I/O lower bound of ``count`` classical GEMMs with a fast memory of cache_bytes.

    Uses 2*M*N*K/sqrt(S) - 2*S elements, S = cache size in elements. The leading term
    2*M*N*K/sqrt(S) is the tight bound of Smith, Lowery, Langou and van de Geijn ("A
    Tight I/O Lower Bound for Matrix Multiplication", arXiv:1702.02017); it is the
    Hong-Kung order M*N*K/sqrt(S) with the best known constant, 2. Subtracting 2*S (the
    most a cache that starts full and ends full can save) keeps it a bound for small
    problems, where the leading term alone would overshoot compulsory traffic's reach.
    """
    if M <= 0 or N <= 0 or K <= 0 or count <= 0 or elem_bytes <= 0:
        return 0.0
    s_elems = cache_bytes / elem_bytes
    if s_elems < 1.0:
        s_elems = 1.0
    q = 2.0 * M * N * K / math.sqrt(s_elems) - 2.0 * s_elems
    if q < 0.0:
        q = 0.0
    return float(count) * q * elem_bytes


@numba.njit(cache=True)
def _gemm_eval(M, N, K, s, L, cap, m, n):
    """Lines moved by the blocked schedule with blocks (m, n); (-1, ...) if infeasible.

    Schedule (the one cachesim.replay_gemm replays): for each m x n block of C, stream k
    over 0..K with rank-1 updates; blocks in row-major order (j fastest).
    Returns (total, a_lines, b_lines, c_lines).
    """
    nl = _lines_of(n, s, L)        # one row of the C block / one row of the B panel
    kl = _lines_of(K, s, L)        # one row of A
    big_nl = _lines_of(N, s, L)    # one row of B or C
    # The C block must stay while k streams: C block + one A line per block row + the
    # current B row segment.
    if m * nl + m + nl > cap:
        return -1.0, 0.0, 0.0, 0.0
    nbi = math.ceil(M / m)
    nbj = math.ceil(N / n)
    a_all = M * kl
    b_all = K * big_nl
    c_all = M * big_nl
    # The A panel (m x K) is reused by the next block of the same block row if it
    # survives one block: A panel + B panel + C block.
    a_reuse = m * kl + K * nl + m * nl <= cap
    # All of B is reused by the next block row if it survives one block row:
    # B + A panel + the C row panel.
    b_reuse = K * big_nl + m * kl + m * big_nl <= cap
    a_lines = a_all if (a_reuse or nbj == 1) else a_all * nbj
    b_lines = b_all if (b_reuse or nbi == 1) else b_all * nbi
    return a_lines + b_lines + c_all, a_lines, b_lines, c_all


@numba.njit(cache=True)
def _gemm_best(M, N, K, s, L, cache_bytes):
    """Best blocks over the candidates; returns (m_b, n_b, total, a, b, c) in lines.

    n_b runs over a fixed grid (one line of elements times powers of two, and N); for each
    n_b the m_b candidates are the largest m_b of each reuse regime (C block resident,
    A panel reused, B reused), since within a regime traffic only falls as m_b grows.
    The result is the exact minimum over that grid, so it cannot rise with the cache.
    """
    cap = _cap_lines(cache_bytes, L)
    # Everything fits: one pass over each matrix, counted as the contiguous tensors
    # they are (the row-aligned counts below would add up to a line per row).
    a_c = _lines_of(M * K, s, L)
    b_c = _lines_of(K * N, s, L)
    c_c = _lines_of(M * N, s, L)
    if a_c + b_c + c_c <= cap:
        return M, N, a_c + b_c + c_c, a_c, b_c, c_c
    kl = _lines_of(K, s, L)
    big_nl = _lines_of(N, s, L)
    best = -1.0
    bm = 1.0
    bn = 1.0
    ba = 0.0
    bb = 0.0
    bc = 0.0
    e = math.floor(L / s)
    if e < 1.0:
        e = 1.0
    n = e
    done = False
    while not done:
        if n >= N:
            n = float(N)
            done = True
        nl = _lines_of(n, s, L)
        m1 = math.floor((cap - nl) / (nl + 1.0))
        m2 = math.floor((cap - K * nl) / (kl + nl))
        m3 = math.floor((cap - K * big_nl) / (kl + big_nl))
        for t in range(3):
            mc = m1 if t == 0 else (m2 if t == 1 else m3)
            if mc > m1:
                mc = m1
            if mc > M:
                mc = float(M)
            if mc < 1.0:
                continue
            # Same number of block rows with the smallest block: reuse only gets easier.
            mc = math.ceil(M / math.ceil(M / mc))
            tot, a, b, c = _gemm_eval(M, N, K, s, L, cap, mc, n)
            if tot >= 0.0 and (best < 0.0 or tot < best):
                best = tot
                bm = mc
                bn = n
                ba = a
                bb = b
                bc = c
        n = n * 2.0
    if best < 0.0:
        # Not even one line of C fits: every element access goes to the level below.
        ba = M * kl * N
        bb = K * big_nl * M
        bc = M * big_nl * 2.0 * K
        best = ba + bb + bc
        bm = 1.0
        bn = min(e, float(N))
    return bm, bn, best, ba, bb, bc


@numba.njit(cache=True)
def choose_gemm_blocks(M, N, K, elem_bytes, cache_bytes, line_bytes=64):
    """(m_b, n_b) output block the GEMM model picks for this cache (k is fully streamed)."""
    _check_sizes(elem_bytes, line_bytes)
    if M <= 0 or N <= 0 or K <= 0:
        return np.int64(1), np.int64(1)
    bm, bn, _t, _a, _b, _c = _gemm_best(float(M), float(N), float(K), float(elem_bytes),
                                        float(line_bytes), float(cache_bytes))
    return np.int64(bm), np.int64(bn)


@numba.njit(cache=True)
def gemm_traffic_bytes(M, N, K, count, elem_bytes, cache_bytes, line_bytes):
    """Bytes moved below a cache by ``count`` independent GEMMs C[MxN] = A[MxK] @ B[KxN].

    Blocked schedule: C blocks of m_b x n_b stay in the cache while k streams over K;
    A is read once per block column (ceil(N/n_b) times) unless an A panel survives one
    block, B once per block row (ceil(M/m_b) times) unless all of B survives a block
    row, C written once. The blocks are those of ``choose_gemm_blocks``, the minimum over
    the candidates. When everything fits this is compulsory traffic. Never below
    ``compulsory_gemm_bytes`` nor ``io_lower_bound_bytes``. Whole lines.
    """
    _check_sizes(elem_bytes, line_bytes)
    if M <= 0 or N <= 0 or K <= 0 or count <= 0:
        return 0.0
    _bm, _bn, t, _a, _b, _c = _gemm_best(float(M), float(N), float(K), float(elem_bytes),
                                         float(line_bytes), float(cache_bytes))
    q = float(count) * t * line_bytes
    comp = compulsory_gemm_bytes(M, N, K, count, elem_bytes, line_bytes)
    lb = io_lower_bound_bytes(M, N, K, count, elem_bytes, cache_bytes)
    lb = math.ceil(lb / line_bytes) * line_bytes
    return max(q, comp, lb)


@numba.njit(cache=True)
def _input_reuse_factor(kh, kw, win, wout, sh, sw, s, L, cache_bytes):
    """How many times a sliding window reads each input line from below.

    The window sweeps rows in order, so its lines spread evenly over the sets and the
    full cache counts (STREAM_SAFETY). need1 = kh input rows (the line buffer) + one
    output row + the channel's weights: if it fits, every input line is read once. If
    only the window itself fits (kh rows of ceil(kw) + 1 lines, the weights, one output
    line), the horizontal reuse stays and the vertical one fades: the factor ramps
    linearly from 1 (need1 = cache) to kh/sh (need1 = 2 x cache), the gradual loss a
    set-associative LRU shows (measured with cachesim.replay_conv_direct). Below that,
    every window element is a read: kh*kw/(sh*sw).
    """
    cap = math.floor(STREAM_SAFETY * cache_bytes / L)
    row_l = _lines_of(win, s, L)
    out_l = _lines_of(wout, s, L)
    w_l = _lines_of(kh * kw, s, L)
    f_v = max(1.0, kh / sh)
    need1 = kh * row_l + out_l + w_l
    if need1 <= cap:
        return 1.0
    need2 = kh * (_lines_of(kw, s, L) + 1.0) + w_l + 1.0
    if need2 <= cap:
        return 1.0 + (f_v - 1.0) * min(1.0, (need1 - cap) / cap)
    return max(f_v, kh * kw / (sh * sw))


@numba.njit(cache=True)
def direct_conv_traffic_bytes(C, kh, kw, Hin, Win, Hout, Wout, stride_h, stride_w, batch,
                              elem_bytes, cache_bytes, line_bytes):
    """Bytes moved by a depthwise / direct sliding-window conv over C channel planes.

    Input read once if kh rows of a channel plane fit (line-buffer reuse), else re-read
    by up to every covering output row (kh/stride_h, ramped, see _input_reuse_factor),
    else per window element (kh*kw/(stride_h*stride_w)); weights (C*kh*kw) read once if they fit in half the
    cache, else once per image; output written once. Schedule as
    cachesim.replay_conv_direct. Never below compulsory traffic.
    """
    _check_sizes(elem_bytes, line_bytes)
    if C <= 0 or Hin <= 0 or Win <= 0 or Hout <= 0 or Wout <= 0 or batch <= 0:
        return 0.0
    s = float(elem_bytes)
    L = float(line_bytes)
    cap = _cap_lines(float(cache_bytes), L)
    sh = max(1.0, float(stride_h))
    sw = max(1.0, float(stride_w))
    f = _input_reuse_factor(float(kh), float(kw), float(Win), float(Wout), sh, sw, s, L,
                            float(cache_bytes))
    # Read once (f == 1) or written in order, a plane is one contiguous run of lines;
    # re-read rows cost their own lines each time.
    if f == 1.0:
        in_lines = float(_lines_of(float(batch) * C * Hin * Win, s, L))
    else:
        in_lines = float(batch) * C * Hin * _lines_of(float(Win), s, L) * f
    out_lines = float(_lines_of(float(batch) * C * Hout * Wout, s, L))
    w_lines = _lines_of(float(C) * kh * kw, s, L)
    if w_lines > cap / 2.0:
        w_lines = w_lines * batch
    q = (in_lines + out_lines + w_lines) * L
    comp = stream_traffic_bytes(float(batch) * C * Hin * Win * s,
                                float(batch) * C * Hout * Wout * s,
                                float(C) * kh * kw * s, L)
    return max(q, comp)


@numba.njit(cache=True)
def conv_gemm_traffic_bytes(Cin_g, Cout_g, kh, kw, Hin, Win, Hout, Wout, groups, batch,
                            elem_bytes, cache_bytes, line_bytes, im2col):
    """Bytes moved by a conv lowered to one GEMM per group per image.

    GEMM per group and image: M = Cout_g, K = Cin_g*kh*kw, N = Hout*Wout, blocked as in
    ``gemm_traffic_bytes``. Weights (A, M*K per group) are shared by the batch: they are
    charged once per group when they fit in half the cache (so they stay while the
    images stream), else once per image.
    im2col: the K x N buffer is built from the input (input read with the sliding-window
    reuse of ``direct_conv_traffic_bytes``; stride inferred as round(Hin/Hout)); if the
    buffer fits in half the cache it never leaves it (its GEMM read of B is a hit), else
    it is written out once and read back by the GEMM.
    Not im2col (1x1, stride 1): B is the input plane itself (Cin_g x Hin*Win).
    Never below compulsory traffic (input, weights, output once) nor the GEMM I/O bound.
    """
    _check_sizes(elem_bytes, line_bytes)
    if (Cin_g <= 0 or Cout_g <= 0 or kh <= 0 or kw <= 0 or Hin <= 0 or Win <= 0
            or Hout <= 0 or Wout <= 0 or groups <= 0 or batch <= 0):
        return 0.0
    s = float(elem_bytes)
    L = float(line_bytes)
    cb = float(cache_bytes)
    cap = _cap_lines(cb, L)
    M = float(Cout_g)
    K = float(Cin_g) * kh * kw
    N = float(Hout) * Wout
    _bm, _bn, t, a, b, c = _gemm_best(M, N, K, s, L, cb)
    a_all = M * _lines_of(K, s, L)
    per_image = t
    if im2col:
        sh = max(1.0, float(round(Hin / Hout)))
        sw = max(1.0, float(round(Win / Wout)))
        f = _input_reuse_factor(float(kh), float(kw), float(Win), float(Wout), sh, sw, s, L,
                                cb)
        if f == 1.0:
            in_lines = float(_lines_of(float(Cin_g) * Hin * Win, s, L))
        else:
            in_lines = float(Cin_g) * Hin * _lines_of(float(Win), s, L) * f
        buf_lines = K * _lines_of(N, s, L)
        if buf_lines <= cap / 2.0:
            per_image = in_lines + t - K * _lines_of(N, s, L)
        else:
            per_image = in_lines + buf_lines + t
    if a_all <= cap / 2.0 and batch > 1:
        # weights stay resident across the batch: only the first image fetches them
        per_group = per_image * batch - a * (batch - 1.0)
    else:
        per_group = per_image * batch
    q = per_group * groups * L
    comp = stream_traffic_bytes(float(batch) * groups * Cin_g * Hin * Win * s,
                                float(batch) * groups * Cout_g * Hout * Wout * s,
                                float(groups) * M * K * s, L)
    lb = io_lower_bound_bytes(M, N, K, float(groups) * batch, s, cb)
    lb = math.ceil(lb / L) * L
    return max(q, comp, lb)


@numba.njit(cache=True)
def stream_traffic_bytes(in_bytes, out_bytes, weight_bytes, line_bytes):
    """Elementwise / pooling-style streams: each operand moved once, rounded to lines."""
    if line_bytes <= 0:
        raise ValueError("traffic: line_bytes must be positive")
    q = 0.0
    if in_bytes > 0:
        q += math.ceil(in_bytes / line_bytes)
    if out_bytes > 0:
        q += math.ceil(out_bytes / line_bytes)
    if weight_bytes > 0:
        q += math.ceil(weight_bytes / line_bytes)
    return q * line_bytes
