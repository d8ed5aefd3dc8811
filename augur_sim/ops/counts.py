"""The additive cost record of one op (tinygrad-style): a leaf module, so the op families,
the graph walk (augur_sim/counts.py) and the lowering all import it without a cycle."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, init=False)
class Counts:
    macs: int = 0
    flops: int = 0
    params: int = 0        # learned weights and biases
    stat_params: int = 0   # stored but not learned: BN mean/variance, Caffe's scale factor
    in_elems: int = 0      # activation elements read (sum over inputs)
    out_elems: int = 0     # activation elements written
    weight_elems: int = 0  # params + stat_params: what a kernel actually reads

    def __init__(self, macs: int = 0, flops: int = 0, params: int = 0, stat_params: int = 0,
                 in_elems: int = 0, out_elems: int = 0, weight_elems: int = 0) -> None:
        # The dataclass's own constructor, with the same signature, but writing the fields
        # straight into the instance dict: a frozen dataclass sets each one through
        # object.__setattr__, three times the cost, and every layer of every count builds
        # one or more of these. Still frozen (assignment raises); tests/test_fast_records.py
        # keeps this signature in step with the fields.
        d = self.__dict__
        d["macs"] = macs
        d["flops"] = flops
        d["params"] = params
        d["stat_params"] = stat_params
        d["in_elems"] = in_elems
        d["out_elems"] = out_elems
        d["weight_elems"] = weight_elems

    def __add__(self, other: Counts) -> Counts:
        # Spelled out: this runs once per layer per count, and fields() is slow.
        return Counts(self.macs + other.macs, self.flops + other.flops, self.params + other.params,
                      self.stat_params + other.stat_params, self.in_elems + other.in_elems,
                      self.out_elems + other.out_elems, self.weight_elems + other.weight_elems)
