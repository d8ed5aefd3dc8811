"""The additive cost record of one op (tinygrad-style): a leaf module, so the op families,
the graph walk (augur_sim/counts.py) and the lowering all import it without a cycle."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Counts:
    macs: int = 0
    flops: int = 0
    params: int = 0        # learned weights and biases
    stat_params: int = 0   # stored but not learned: BN mean/variance, Caffe's scale factor
    in_elems: int = 0      # activation elements read (sum over inputs)
    out_elems: int = 0     # activation elements written
    weight_elems: int = 0  # params + stat_params: what a kernel actually reads

    def __add__(self, other: Counts) -> Counts:
        # Spelled out: this runs once per layer per count, and fields() is slow.
        return Counts(self.macs + other.macs, self.flops + other.flops, self.params + other.params,
                      self.stat_params + other.stat_params, self.in_elems + other.in_elems,
                      self.out_elems + other.out_elems, self.weight_elems + other.weight_elems)
