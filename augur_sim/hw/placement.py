"""Which cores a CPU run uses, and how fast its threads are: ncnn's big/little rule.

How ncnn chooses cores (src/cpu.cpp in Tencent/ncnn, read for this module; described here in
our own words):

- `initialize_cpu_thread_affinity_mask` reads every logical CPU's maximum frequency (on Linux
  and Android from cpufreq's cpuinfo_max_freq, in kHz), takes the smallest and the largest,
  and sets the threshold half-way between them (integer kHz). A CPU whose maximum is below the
  threshold is *little*, any other is *big*. If the threshold equals the largest maximum (all
  CPUs alike) there are no little CPUs and every CPU is big. A CPU with SMT siblings is always
  big (x86 hybrids: the hyper-threaded P-cores are big, the E-cores little). On Apple systems
  the first performance level is big and the others little.
- `set_cpu_powersave(p)` picks the mask (0 = all, 1 = little, 2 = big) and calls
  `set_cpu_thread_affinity`, which, with OpenMP, sets the OpenMP thread count to the number of
  CPUs in the mask and gives each of those threads the *whole* mask as its affinity (threads
  float inside the set; they are not pinned one per core). With an empty mask (powersave 1 on
  a CPU without little cores) the affinity call fails and ncnn returns an error, leaving the
  affinity as it was: every CPU. benchncnn then sets `opt.num_threads` to its own argument, so
  a run may ask for more threads than the set has CPUs; the extra threads inherit the mask
  and time-share its CPUs (nothing clamps them).
- ncnn's layers split work with `#pragma omp parallel for num_threads(opt.num_threads)` over
  channels or tiles, with OpenMP's default (static) schedule: each thread gets an equal
  contiguous share, and the layer ends when the slowest thread ends.

Our model of one run (`place`):

- The core set follows ncnn's rule on the clusters' `clock_ghz` (the cluster's maximum).
  `little` on a CPU without little cores uses every core, as ncnn's failed call leaves it
  (`Placement.note` says so).
- Threads go to the set's cores fastest first (the Linux scheduler puts runnable threads on
  idle cores, and energy-aware scheduling favours the big ones for busy threads), one per
  physical core, then round again (SMT siblings or time-sharing) until all are placed. A core
  running k threads gives each 1/k of its rate (an FMA-bound kernel does not gain from SMT).
  On Intel hybrids (P-cores with SMT, E-cores without) this is Linux's asym-packing order
  since 6.5: a fully idle lower-priority core (an E-core) is preferred to a higher-priority
  core whose SMT sibling is busy, so T threads fill the P-cores' first threads, then the
  E-cores, then the P-cores' siblings (Ricardo Neri's "avoid unnecessary migrations within
  SMT domains" series, kernel/sched/fair.c sched_use_asym_prio / asym_active_balance; LWN
  909611 on the Plumbers 2022 talk, Phoronix 2022-11-23 on the v2 series).
- Static splitting makes every thread do 1/T of the work, so a layer takes as long as its
  slowest thread: the effective rate is T x the slowest thread's rate (the straggler). On a
  mixed set (`all` on big.LITTLE) that is T copies of a little core, not the sum of the
  cores' rates; `Placement.sum_flops` gives the sum (what dynamic scheduling could reach) for
  comparison.
- Private caches (L1, L2) are those of the straggler's cluster; their aggregate bandwidth is
  T x the straggler's per-thread share. Shared levels and DRAM are the processor's.
- Threads beyond MAX_OVERSUBSCRIPTION x the set's logical CPUs are refused (a typo, not a run).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from augur_sim.errors import AugurError
from augur_sim.hw.model import Cluster

CORE_SETS = ("big", "little", "all")
POWERSAVE = {"all": 0, "little": 1, "big": 2}   # ncnn's / benchncnn's powersave argument
MAX_OVERSUBSCRIPTION = 16


@dataclass(frozen=True)
class Placement:
    cores: str                  # the set asked for: big | little | all
    threads: int                # T: threads the work is split over
    clusters: tuple             # Cluster objects of the set (fastest first)
    load: tuple                 # per cluster of `clusters`: tuple of threads on each core
    straggler: int              # index into `clusters` of the slowest thread's cluster
    straggler_k: int            # threads sharing the straggler's core
    note: str = ""              # what differs from a plain reading of the request

    @property
    def set_cores(self) -> int:
        return sum(c.count for c in self.clusters)

    @property
    def set_logical_cpus(self) -> int:
        return sum(c.count * c.smt for c in self.clusters)

    @property
    def oversubscribed(self) -> bool:
        return self.threads > self.set_logical_cpus

    def thread_flops(self, precision: str = "fp32") -> float:
        """The slowest thread's FLOP/s."""
        c = self.clusters[self.straggler]
        return c.core_flops(precision) / self.straggler_k

    def peak_flops(self, precision: str = "fp32") -> float:
        """Effective peak of a statically split loop: T x the slowest thread's rate."""
        return self.threads * self.thread_flops(precision)

    def sum_flops(self, precision: str = "fp32") -> float:
        """Sum of the busy cores' rates (an upper bound a dynamic schedule could approach)."""
        return float(sum(c.core_flops(precision) for c, ks in zip(self.clusters, self.load)
                         for k in ks if k > 0))

    def describe(self) -> str:
        parts = []
        for c, ks in zip(self.clusters, self.load):
            busy = sum(1 for k in ks if k > 0)
            if busy:
                parts.append(f"{sum(ks)} on {busy}x {c.core_name} @ {c.clock_ghz:g} GHz ({c.name})")
        s = f"cores {self.cores} (ncnn powersave={POWERSAVE[self.cores]}), {self.threads} thread(s): " \
            + ", ".join(parts)
        if self.straggler_k > 1:
            s += f"; {self.straggler_k} threads share the slowest core"
        return s + (f"; {self.note}" if self.note else "")


def split_big_little(clusters) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(big, little) cluster indices by ncnn's rule on the clusters' maximum clocks."""
    khz = [round(c.clock_ghz * 1e6) for c in clusters]
    lo, hi = min(khz), max(khz)
    medium = (lo + hi) // 2
    if medium == hi:
        return tuple(range(len(clusters))), ()
    big = tuple(i for i, c in enumerate(clusters) if c.smt > 1 or khz[i] >= medium)
    little = tuple(i for i, c in enumerate(clusters) if c.smt == 1 and khz[i] < medium)
    return big, little


def _check_threads(threads, where: str) -> None:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads <= 0:
        raise AugurError(f"--threads must be a positive integer, got {threads!r}", where=where)


def clusters_of(proc) -> tuple:
    """A CPU's clusters; a processor written without them is one cluster of its units."""
    return proc.clusters or (Cluster(name=proc.name, core=None, count=proc.units, clock_ghz=proc.clock_ghz,
                                     flop_per_cycle=dict(proc.flop_per_cycle_per_unit)),)


def place(proc, cores: str | None = None, threads: int | None = None) -> Placement:
    """Threads of one run on `proc` (a CPU Processor): see the module docstring."""
    if proc.kind != "cpu":
        raise AugurError("--cores/--threads apply to CPU processors only", where=proc.name)
    cores = "big" if cores is None else cores
    if cores not in CORE_SETS:
        raise AugurError(f"--cores must be one of {', '.join(CORE_SETS)}, got {cores!r}",
                         where=proc.name)
    clusters = clusters_of(proc)
    big, little = split_big_little(clusters)
    note = ""
    if cores == "all":
        chosen = tuple(range(len(clusters)))
    elif cores == "big":
        chosen = big
    elif little:
        chosen = little
    else:
        chosen = tuple(range(len(clusters)))
        note = ("no little cores (all clusters' maximum clocks alike): ncnn's powersave=1 fails "
                "and leaves every core in use")
    # Fastest first (stable: the spec's order among equals).
    order = sorted(chosen, key=lambda i: -clusters[i].clock_ghz)
    sel = tuple(clusters[i] for i in order)
    ncores = sum(c.count for c in sel)
    nlogical = sum(c.count * c.smt for c in sel)
    if threads is None:
        threads = ncores
    _check_threads(threads, proc.name)
    if threads > MAX_OVERSUBSCRIPTION * nlogical:
        raise AugurError(f"--threads {threads} exceeds the {nlogical} cores of processor "
                         f"'{proc.name}' ({cores} set) more than {MAX_OVERSUBSCRIPTION}-fold; "
                         "over-subscribed threads time-share cores, but not that many")
    # Round-robin over the set's physical cores, fastest first.
    per_core = [threads // ncores + (1 if j < threads % ncores else 0) for j in range(ncores)]
    load, j = [], 0
    for c in sel:
        load.append(tuple(per_core[j:j + c.count]))
        j += c.count
    # The straggler: the busy core with the lowest per-thread rate (fp32 rates decide; the
    # same core is slowest at every precision for the catalogue's cores).
    worst, wi, wk = math.inf, 0, 1
    for i, (c, ks) in enumerate(zip(sel, load)):
        for k in ks:
            if k > 0 and c.core_flops("fp32") / k < worst:
                worst, wi, wk = c.core_flops("fp32") / k, i, k
    if threads > nlogical:
        extra = f"{threads} threads on {nlogical} logical CPUs time-share them"
        note = f"{note}; {extra}" if note else extra
    return Placement(cores=cores, threads=threads, clusters=sel, load=tuple(load),
                     straggler=wi, straggler_k=wk, note=note)


def private_caches(p: Placement) -> list[tuple[int, int, bool, float]]:
    """(level, size_bytes, shared, aggregate bw in B/s) of L1 and L2 for a placement on a
    clustered CPU: the straggler cluster's sizes; T x its per-thread bandwidth."""
    c = p.clusters[p.straggler]
    share = p.threads / p.straggler_k
    return [(1, c.l1d_bytes, False, share * c.l1_bytes_per_cycle * c.clock_ghz * 1e9),
            (2, c.l2_bytes, c.l2_shared, share * c.l2_bytes_per_cycle * c.clock_ghz * 1e9)]


def candidate_placements(proc) -> list[tuple[int, str]]:
    """(threads, cores) placements worth comparing on CPU `proc`, the ones a benchncnn user tries:
    each core set the CPU really has (big; little where ncnn finds little cores; all where that
    is more than big) at 1, 2, 4, ... threads up to its cores, its core count, and its logical
    CPUs where SMT gives more. Placements that land on the same cores are left to the caller to
    merge (several sets give the same one- or two-thread run)."""
    clusters = clusters_of(proc)
    big, little = split_big_little(clusters)
    sets = [("big", big)] + ([("little", little)] if little else []) \
        + ([("all", tuple(range(len(clusters))))] if len(big) < len(clusters) else [])
    out = []
    for name, idx in sets:
        ncores = sum(clusters[i].count for i in idx)
        nlogical = sum(clusters[i].count * clusters[i].smt for i in idx)
        counts = [1 << k for k in range(max(ncores, 1).bit_length()) if (1 << k) < ncores] + [ncores, nlogical]
        out += [(t, name) for t in dict.fromkeys(counts)]
    return out
