"""Trace-driven oracle: a set-associative LRU cache hierarchy simulated in numba.

This is the check on the analytical model in ``traffic.py`` and a deep-dive tool for
one layer; it is far too slow to run per layer of a whole network.

Cache model (every level):
- set-associative, true LRU inside a set (a per-way time stamp; the smallest stamp goes);
- write-back, write-allocate;
- non-inclusive, non-exclusive ("NINE"): a miss at level i is sent to level i+1 and the
  line is filled into every level that missed on the way; an eviction from level i does
  not touch level i+1 (no back-invalidation);
- a dirty victim at level i is written to level i+1 as a full-line write (a write-back
  never needs the old contents), and a dirty victim at the last level goes to memory;
- at the end every dirty line is flushed down, so each written byte is counted once as
  a write-back: results do not depend on what happened to stay in the cache.

Access kinds:
- ``READ``: a load; a miss fetches the line from below.
- ``WRITE``: a partial store or read-modify-write; a miss fetches the line (write-allocate)
  and the line becomes dirty.
- ``WRITE_FULL``: the program overwrites the whole line before reading it (an output
  tensor written in order); a miss allocates the line without fetching it
  ("write-validate", as non-temporal / streaming stores do). The replayers use it for the
  first write of an output, which is what lets "outputs are written once" hold.

Counters, per level: accesses, hits, misses (of any kind), writebacks (dirty lines sent
down, the final flush included), fill_bytes (lines fetched from the level below times
the line size). Memory traffic = last level fill bytes + last level writebacks x line.

The replayers generate the address stream of a loop nest inside numba, so no trace is
ever materialised. Consecutive accesses to the same line are certain hits at the first
level and do not change any LRU order, so the replayers fold them into the counters
without simulating them: the numbers are exactly those of the element-by-element trace.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from augur_sim.engine.traffic import choose_gemm_blocks
from augur_sim.errors import AugurError

READ = 0
WRITE = 1
WRITE_FULL = 2

# Above this many element accesses a replay takes more than a few seconds on one core
# (measured: ~170 million element accesses per second for replay_gemm thanks to the
# same-line folding, ~15 million per second for an explicit random trace); the
# analytical model in traffic.py is the tool for larger layers.
MAX_TRACE_ACCESSES = 200_000_000

_STACK_SLOTS = 4096  # pending (level, address, kind) operations of one access

# The jitted kernels allocate nothing, so reference counting of their many array
# arguments is pure overhead: switching it off (_nrt=False) makes each simulated access
# 3-4x cheaper.


@dataclass(frozen=True)
class CacheLevel:
    """One level of the simulated hierarchy."""

    size_bytes: int
    line_bytes: int
    assoc: int


@dataclass(frozen=True)
class CacheStats:
    """Counters of one level after a simulation (level 0 is closest to the core)."""

    level: int
    accesses: int
    hits: int
    misses: int
    writebacks: int
    miss_bytes: int  # bytes fetched into this level from the one below

    def traffic_below_bytes(self, line_bytes: int) -> int:
        """Bytes moved between this level and the one below (fills + write-backs)."""
        return self.miss_bytes + self.writebacks * line_bytes


# ----------------------------------------------------------------------------- core

def _check_levels(sizes, lines, assocs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate level arrays; one-line AugurError naming the level and what was expected."""
    sizes_a = np.asarray(sizes, dtype=np.int64).ravel()
    lines_a = np.asarray(lines, dtype=np.int64).ravel()
    assocs_a = np.asarray(assocs, dtype=np.int64).ravel()
    if not (len(sizes_a) == len(lines_a) == len(assocs_a)) or len(sizes_a) == 0:
        raise AugurError("cache levels: sizes, lines and assocs must be non-empty and of "
                         f"equal length, got {len(sizes_a)}, {len(lines_a)}, {len(assocs_a)}",
                         where="cachesim")
    if len(sizes_a) > 8:
        raise AugurError(f"cache levels: at most 8 levels are simulated, got {len(sizes_a)}",
                         where="cachesim")
    for i in range(len(sizes_a)):
        s, ln, a = int(sizes_a[i]), int(lines_a[i]), int(assocs_a[i])
        where = f"cachesim.levels[{i}]"
        if ln <= 0 or ln & (ln - 1):
            raise AugurError(f"line_bytes must be a positive power of two, got {ln}", where=where)
        if a <= 0:
            raise AugurError(f"assoc must be positive, got {a}", where=where)
        if s <= 0 or s % (ln * a):
            raise AugurError(f"size_bytes must be a positive multiple of line_bytes*assoc "
                             f"({ln * a}), got {s}", where=where)
        if s > (1 << 34):
            raise AugurError(f"size_bytes {s} is absurd for a simulated cache (limit 16 GiB)",
                             where=where)
    return sizes_a, lines_a, assocs_a


class _State:
    """Numpy arrays holding the whole hierarchy (numba sees only the arrays)."""

    def __init__(self, sizes, lines, assocs):
        self.sizes, self.lines, self.assocs = _check_levels(sizes, lines, assocs)
        nsets = self.sizes // (self.lines * self.assocs)
        self.nsets = nsets.astype(np.int64)
        ways = nsets * self.assocs
        self.off = np.zeros(len(ways) + 1, dtype=np.int64)
        self.off[1:] = np.cumsum(ways)
        total = int(self.off[-1])
        self.tags = np.full(total, -1, dtype=np.int64)
        self.stamps = np.zeros(total, dtype=np.int64)
        self.dirty = np.zeros(total, dtype=np.bool_)
        nl = len(self.sizes)
        # counters: 0 accesses, 1 hits, 2 misses, 3 writebacks, 4 fill bytes
        self.counts = np.zeros((nl, 5), dtype=np.int64)
        self.clock = np.zeros(1, dtype=np.int64)
        self.stack = np.zeros((_STACK_SLOTS, 3), dtype=np.int64)

    def args(self):
        return (self.lines, self.assocs, self.nsets, self.off, self.tags, self.stamps,
                self.dirty, self.counts, self.clock, self.stack)

    def stats(self) -> list[CacheStats]:
        return [CacheStats(level=i, accesses=int(c[0]), hits=int(c[1]), misses=int(c[2]),
                           writebacks=int(c[3]), miss_bytes=int(c[4]))
                for i, c in enumerate(self.counts)]


@numba.njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # _nrt: numba option missing from its stubs
def _access(addr, kind, lines, assocs, nsets, off, tags, stamps, dirty, counts, clock, stack):
    """One access at level 0; the misses and write-backs it causes are worked off a stack."""
    nlev = lines.shape[0]
    sp = 0
    stack[0, 0] = 0
    stack[0, 1] = addr
    stack[0, 2] = kind
    sp = 1
    while sp > 0:
        sp -= 1
        lev = stack[sp, 0]
        a = stack[sp, 1]
        k = stack[sp, 2]
        lb = lines[lev]
        line = a // lb
        s = line % nsets[lev]
        base = off[lev] + s * assocs[lev]
        clock[0] += 1
        now = clock[0]
        counts[lev, 0] += 1
        hit_way = -1
        for w in range(assocs[lev]):
            if tags[base + w] == line:
                hit_way = w
                break
        if hit_way >= 0:
            counts[lev, 1] += 1
            stamps[base + hit_way] = now
            if k != READ:
                dirty[base + hit_way] = True
            continue
        counts[lev, 2] += 1
        # victim: an empty way if any, else the least recently used one
        victim = 0
        oldest = stamps[base]
        for w in range(assocs[lev]):
            if tags[base + w] < 0:
                victim = w
                break
            if stamps[base + w] < oldest:
                oldest = stamps[base + w]
                victim = w
        vslot = base + victim
        if tags[vslot] >= 0 and dirty[vslot]:
            counts[lev, 3] += 1
            if lev + 1 < nlev:
                vaddr = tags[vslot] * lb
                lb2 = lines[lev + 1]
                if lb >= lb2:
                    # the victim covers whole lines below: full-line writes, no fetch
                    n = lb // lb2
                    for j in range(n):
                        stack[sp, 0] = lev + 1
                        stack[sp, 1] = vaddr + j * lb2
                        stack[sp, 2] = WRITE_FULL
                        sp += 1
                else:
                    # a part of a bigger line below: that line must be fetched there
                    stack[sp, 0] = lev + 1
                    stack[sp, 1] = vaddr
                    stack[sp, 2] = WRITE
                    sp += 1
        tags[vslot] = line
        stamps[vslot] = now
        dirty[vslot] = k != READ
        if k != WRITE_FULL:
            counts[lev, 4] += lb
            if lev + 1 < nlev:
                # the fill: pushed last so it is served before the write-back drains
                stack[sp, 0] = lev + 1
                stack[sp, 1] = line * lb
                stack[sp, 2] = READ
                sp += 1


@numba.njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # _nrt: numba option missing from its stubs
def _flush(lines, assocs, nsets, off, tags, stamps, dirty, counts, clock, stack):
    """Write every dirty line down, level by level, so all written bytes are counted."""
    nlev = lines.shape[0]
    for lev in range(nlev):
        lb = lines[lev]
        for slot in range(off[lev], off[lev + 1]):
            if tags[slot] >= 0 and dirty[slot]:
                dirty[slot] = False
                counts[lev, 3] += 1
                if lev + 1 < nlev:
                    lb2 = lines[lev + 1]
                    vaddr = tags[slot] * lb
                    if lb >= lb2:
                        for j in range(lb // lb2):
                            _access_at(lev + 1, vaddr + j * lb2, WRITE_FULL, lines, assocs,
                                       nsets, off, tags, stamps, dirty, counts, clock, stack)
                    else:
                        _access_at(lev + 1, vaddr, WRITE, lines, assocs, nsets, off, tags,
                                   stamps, dirty, counts, clock, stack)


@numba.njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # _nrt: numba option missing from its stubs
def _access_at(lev, addr, kind, lines, assocs, nsets, off, tags, stamps, dirty, counts,
               clock, stack):
    """Like _access but entering at level ``lev`` (used by the flush)."""
    # Shift the hierarchy view: run _access on the tail levels' arrays. The tail shares
    # the underlying storage, so the state is updated in place.
    _access(addr, kind, lines[lev:], assocs[lev:], nsets[lev:], off[lev:], tags, stamps,
            dirty, counts[lev:], clock, stack)


@numba.njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # _nrt: numba option missing from its stubs
def _run_trace(addrs, kinds, lines, assocs, nsets, off, tags, stamps, dirty, counts, clock,
               stack):
    for i in range(addrs.shape[0]):
        _access(addrs[i], kinds[i], lines, assocs, nsets, off, tags, stamps, dirty, counts,
                clock, stack)
    _flush(lines, assocs, nsets, off, tags, stamps, dirty, counts, clock, stack)


def simulate_trace(addresses, is_write, sizes, lines, assocs, write_fetch: bool = True):
    """Replay an explicit trace; returns ``(hits[L], misses[L], writebacks[L])`` int64 arrays.

    ``is_write`` marks stores. With ``write_fetch`` (default) a store miss fetches the
    line (plain write-allocate); with ``write_fetch=False`` stores are taken as
    whole-line writes (WRITE_FULL). Dirty lines are flushed at the end and counted.
    """
    addrs = np.ascontiguousarray(addresses, dtype=np.int64).ravel()
    wr = np.ascontiguousarray(is_write, dtype=np.bool_).ravel()
    if addrs.shape != wr.shape:
        raise AugurError(f"trace: {addrs.size} addresses but {wr.size} is_write flags",
                         where="cachesim.simulate_trace")
    if addrs.size and addrs.min() < 0:
        raise AugurError("trace: addresses must be non-negative", where="cachesim.simulate_trace")
    if addrs.size > MAX_TRACE_ACCESSES:
        raise AugurError(f"trace of {addrs.size} accesses is above the trace-simulation limit "
                         f"{MAX_TRACE_ACCESSES}; use the analytical model (engine.traffic)",
                         where="cachesim.simulate_trace")
    kinds = np.where(wr, WRITE if write_fetch else WRITE_FULL, READ).astype(np.int64)
    st = _State(sizes, lines, assocs)
    _run_trace(addrs, kinds, *st.args())
    c = st.counts
    return c[:, 1].copy(), c[:, 2].copy(), c[:, 3].copy()


def simulate_trace_stats(addresses, is_write, sizes, lines, assocs,
                         write_fetch: bool = True) -> list[CacheStats]:
    """Like ``simulate_trace`` but returns the full per-level ``CacheStats``."""
    addrs = np.ascontiguousarray(addresses, dtype=np.int64).ravel()
    wr = np.ascontiguousarray(is_write, dtype=np.bool_).ravel()
    if addrs.shape != wr.shape:
        raise AugurError(f"trace: {addrs.size} addresses but {wr.size} is_write flags",
                         where="cachesim.simulate_trace")
    if addrs.size and addrs.min() < 0:
        raise AugurError("trace: addresses must be non-negative", where="cachesim.simulate_trace")
    kinds = np.where(wr, WRITE if write_fetch else WRITE_FULL, READ).astype(np.int64)
    st = _State(sizes, lines, assocs)
    _run_trace(addrs, kinds, *st.args())
    return st.stats()


# ------------------------------------------------------------------------ replayers

@numba.njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # _nrt: numba option missing from its stubs
def _touch(addr, kind, last_line, l0, lines, assocs, nsets, off, tags, stamps, dirty, counts,
           clock, stack):
    """Element access through the same-line folding; returns the new last line."""
    ln = addr // l0
    if ln == last_line and kind == READ:
        # same line as the access just before: certain level-0 hit, LRU order unchanged
        counts[0, 0] += 1
        counts[0, 1] += 1
        return ln
    _access(addr, kind, lines, assocs, nsets, off, tags, stamps, dirty, counts, clock, stack)
    return ln


@numba.njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # _nrt: numba option missing from its stubs
def _replay_gemm(M, N, K, s, m_b, n_b, lda, ldb, ldc, a0, b0, c0, lines, assocs, nsets, off,
                 tags, stamps, dirty, counts, clock, stack):
    l0 = lines[0]
    for i0 in range(0, M, m_b):
        i1 = min(i0 + m_b, M)
        for j0 in range(0, N, n_b):
            j1 = min(j0 + n_b, N)
            for k in range(K):
                # the B row segment of this k (held in registers for the rank-1 update)
                last = -1
                for j in range(j0, j1):
                    last = _touch(b0 + (k * ldb + j) * s, READ, last, l0, lines, assocs,
                                  nsets, off, tags, stamps, dirty, counts, clock, stack)
                for i in range(i0, i1):
                    _access(a0 + (i * lda + k) * s, READ, lines, assocs, nsets, off, tags,
                            stamps, dirty, counts, clock, stack)
                    ckind = WRITE_FULL if k == 0 else WRITE
                    last = -1
                    for j in range(j0, j1):
                        addr = c0 + (i * ldc + j) * s
                        ln = addr // l0
                        if ln == last:
                            # same C line as the previous element: a level-0 hit that
                            # is already dirty
                            counts[0, 0] += 1
                            counts[0, 1] += 1
                        else:
                            _access(addr, ckind, lines, assocs, nsets, off, tags, stamps,
                                    dirty, counts, clock, stack)
                            last = ln
    _flush(lines, assocs, nsets, off, tags, stamps, dirty, counts, clock, stack)


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def _row_stride(n_elems: int, e: int, odd_rows: bool) -> int:
    """Row pitch in elements: whole lines, and an odd number of them when odd_rows.

    An odd pitch in lines is coprime with the power-of-two set count, so the rows of a
    block spread over all sets instead of piling into a few (what padded or packed
    layouts achieve in real libraries).
    """
    lines_per_row = -(-n_elems // e)
    if odd_rows and lines_per_row % 2 == 0:
        lines_per_row += 1
    return lines_per_row * e


def _check_dims(where: str, **dims) -> None:
    for name, v in dims.items():
        if int(v) != v or v <= 0:
            raise AugurError(f"{name} must be a positive integer, got {v!r}", where=where)
        if v > (1 << 31):
            raise AugurError(f"{name}={v} is absurd (limit 2^31)", where=where)


def gemm_replay_accesses(M: int, N: int, K: int, m_b: int, n_b: int) -> int:
    """Element accesses replay_gemm makes: every C update reads and writes (2MNK), each block
    column re-reads A and each block row re-reads B."""
    return 2 * M * N * K + M * K * (-(-N // n_b)) + K * N * (-(-M // m_b))


def layer_gemm_accesses(M: int, N: int, K: int, levels, elem_bytes: int = 4) -> int:
    """Element accesses simulate_layer_gemm would make (its blocks for the last level): what a
    caller checks against MAX_TRACE_ACCESSES before asking for a replay."""
    last = levels[-1] if isinstance(levels[-1], CacheLevel) else CacheLevel(*levels[-1])
    m_b, n_b = choose_gemm_blocks(M, N, K, elem_bytes, last.size_bytes, last.line_bytes)
    return gemm_replay_accesses(M, N, K, int(m_b), int(n_b))


def direct_replay_accesses(batch: int, C: int, Ho: int, Wo: int, kh: int, kw: int) -> int:
    """Element accesses replay_conv_direct makes: per output element its kh x kw window and
    weights, and one write."""
    return batch * C * Ho * Wo * (2 * kh * kw + 1)


def _too_large(where: str, accesses: int) -> None:
    if accesses > MAX_TRACE_ACCESSES:
        raise AugurError(f"layer too large for trace simulation ({accesses:.3g} accesses > "
                         f"{MAX_TRACE_ACCESSES:.3g}); use the analytical model "
                         f"(engine.traffic)", where=where)


def replay_gemm(M, N, K, elem_bytes, m_b, n_b, k_b, sizes, lines, assocs,
                odd_rows: bool = True) -> list[CacheStats]:
    """Simulate the blocked GEMM C[MxN] = A[MxK] @ B[KxN] that traffic.py models.

    Row-major A, B, C at disjoint base addresses. Loop order (output-stationary, k streamed):

        for i0 in 0..M step m_b:            # block row of C
          for j0 in 0..N step n_b:          # block column of C
            for k in 0..K:                  # rank-1 update of the C block
              read B[k, j0:j0+n_b]
              for i in i0..i0+m_b:
                read A[i, k]
                for j in j0..j0+n_b: C[i, j] += A[i, k] * B[k, j]

    The first update of C (k == 0) is a whole-line write; later ones read-modify-write.
    ``k_b`` must be >= K (k fully streamed, the analytical model's schedule); it is
    accepted for the interface and checked. Every row starts on a line boundary and,
    with ``odd_rows``, spans an odd number of lines (as a padded or packed layout
    would), which keeps pathological set conflicts of power-of-two strides out of the
    comparison with the analytical model; pass ``odd_rows=False`` to see them.
    """
    where = "cachesim.replay_gemm"
    _check_dims(where, M=M, N=N, K=K, elem_bytes=elem_bytes, m_b=m_b, n_b=n_b, k_b=k_b)
    if k_b < K:
        raise AugurError(f"k_b={k_b} < K={K}: only the k-streamed schedule is replayed",
                         where=where)
    st = _State(sizes, lines, assocs)
    _too_large(where, gemm_replay_accesses(M, N, K, m_b, n_b))
    l0 = int(st.lines[0])
    e = max(1, l0 // elem_bytes)
    lda = _row_stride(K, e, odd_rows)
    ldb = _row_stride(N, e, odd_rows)
    ldc = ldb
    page = 1 << 12
    a0 = page
    b0 = _round_up(a0 + M * lda * elem_bytes, page) + page
    c0 = _round_up(b0 + K * ldb * elem_bytes, page) + page
    _replay_gemm(M, N, K, elem_bytes, min(m_b, M), min(n_b, N), lda, ldb, ldc, a0, b0, c0,
                 *st.args())
    return st.stats()


@numba.njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # _nrt: numba option missing from its stubs
def _replay_conv_direct(B, C, kh, kw, H, W, Ho, Wo, sh, sw, ph, pw, s, ldw, ldwo, in0, w0,
                        out0, lines, assocs, nsets, off, tags, stamps, dirty, counts, clock,
                        stack):
    l0 = lines[0]
    for b in range(B):
        for c in range(C):
            in_plane = in0 + ((b * C + c) * H * ldw) * s
            out_plane = out0 + ((b * C + c) * Ho * ldwo) * s
            for oh in range(Ho):
                last_out = -1
                for ow in range(Wo):
                    for r in range(kh):
                        y = oh * sh - ph + r
                        if y < 0 or y >= H:
                            continue
                        last = -1
                        for q in range(kw):
                            x = ow * sw - pw + q
                            if x < 0 or x >= W:
                                continue
                            last = _touch(in_plane + (y * ldw + x) * s, READ, last, l0, lines,
                                          assocs, nsets, off, tags, stamps, dirty, counts,
                                          clock, stack)
                    # the channel's kh*kw weights: one small contiguous run
                    last = -1
                    for t in range(kh * kw):
                        last = _touch(w0 + (c * kh * kw + t) * s, READ, last, l0, lines,
                                      assocs, nsets, off, tags, stamps, dirty, counts, clock,
                                      stack)
                    addr = out_plane + (oh * ldwo + ow) * s
                    ln = addr // l0
                    if ln == last_out:
                        counts[0, 0] += 1
                        counts[0, 1] += 1
                    else:
                        _access(addr, WRITE_FULL, lines, assocs, nsets, off, tags, stamps,
                                dirty, counts, clock, stack)
                        last_out = ln
    _flush(lines, assocs, nsets, off, tags, stamps, dirty, counts, clock, stack)


def replay_conv_direct(C, kh, kw, H, W, stride, pad, elem_bytes, sizes, lines, assocs,
                       batch: int = 1, odd_rows: bool = True) -> list[CacheStats]:
    """Simulate a depthwise (per-channel) sliding-window conv, NCHW, output written once.

    Loop order: for image, for channel, for output row, for output column, for the
    kh x kw window (input rows then columns), read that channel's weights, write the
    output element. ``stride`` and ``pad`` are ints or (h, w) pairs. Rows are laid out
    as in ``replay_gemm`` (line-aligned, an odd number of lines with ``odd_rows``).
    """
    where = "cachesim.replay_conv_direct"
    sh, sw = (stride, stride) if np.isscalar(stride) else tuple(stride)
    ph, pw = (pad, pad) if np.isscalar(pad) else tuple(pad)
    _check_dims(where, C=C, kh=kh, kw=kw, H=H, W=W, stride_h=sh, stride_w=sw,
                elem_bytes=elem_bytes, batch=batch)
    if ph < 0 or pw < 0 or ph >= kh or pw >= kw:
        raise AugurError(f"pad ({ph}, {pw}) must be in [0, kernel size)", where=where)
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    if Ho <= 0 or Wo <= 0:
        raise AugurError(f"kernel {kh}x{kw} larger than padded input {H}x{W}", where=where)
    st = _State(sizes, lines, assocs)
    _too_large(where, direct_replay_accesses(batch, C, Ho, Wo, kh, kw))
    l0 = int(st.lines[0])
    e = max(1, l0 // elem_bytes)
    ldw = _row_stride(W, e, odd_rows)
    ldwo = _row_stride(Wo, e, odd_rows)
    page = 1 << 12
    in0 = page
    w0 = _round_up(in0 + batch * C * H * ldw * elem_bytes, page) + page
    out0 = _round_up(w0 + C * kh * kw * elem_bytes, page) + page
    _replay_conv_direct(batch, C, kh, kw, H, W, Ho, Wo, sh, sw, ph, pw, elem_bytes, ldw, ldwo,
                        in0, w0, out0, *st.args())
    return st.stats()


def simulate_layer_gemm(M, N, K, levels, elem_bytes: int = 4) -> list[CacheStats]:
    """Convenience: replay a GEMM with the blocks the analytical model picks for the
    last (largest) level, so the simulated memory traffic is comparable to
    ``traffic.gemm_traffic_bytes`` for that level.

    ``levels`` is a sequence of ``CacheLevel`` (or (size_bytes, line_bytes, assoc) tuples).
    """

    lv = [x if isinstance(x, CacheLevel) else CacheLevel(*x) for x in levels]
    sizes = [x.size_bytes for x in lv]
    lines = [x.line_bytes for x in lv]
    assocs = [x.assoc for x in lv]
    _check_levels(sizes, lines, assocs)
    m_b, n_b = choose_gemm_blocks(M, N, K, elem_bytes, sizes[-1], lines[-1])
    return replay_gemm(M, N, K, elem_bytes, int(m_b), int(n_b), K, sizes, lines, assocs)
