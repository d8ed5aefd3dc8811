"""Per-layer counts: MACs, FLOPs, parameters and activation sizes.

Each op's count is a pure function of its attributes and shapes (augur_sim/ops);
this module only walks the graph and adds up.
"""
from __future__ import annotations

from dataclasses import dataclass

from .conventions import DEFAULT, Conventions
from .errors import AugurError
from .graph import DTYPE_BYTES, LayerGraph
from .ops import registry
from .ops.counts import Counts


@dataclass(frozen=True)
class LayerCount:
    name: str
    op: str
    src_type: str | None
    category: str  # compute | movement | free  (see ops.registry)
    input_shapes: tuple
    output_shapes: tuple
    counts: Counts


@dataclass(frozen=True)
class NetCount:
    net: str
    batch: int
    dtype: str
    conventions: Conventions
    layers: tuple[LayerCount, ...]
    total: Counts
    dropped: tuple

    @property
    def weight_bytes(self) -> int:
        return (self.total.params + self.total.stat_params) * DTYPE_BYTES[self.dtype]

    @property
    def activation_bytes(self) -> int:
        """Bytes of every activation tensor the network produces (inputs included), each once."""
        return sum(l.counts.out_elems for l in self.layers) * DTYPE_BYTES[self.dtype]


def count_layer(graph: LayerGraph, name: str, conventions: Conventions = DEFAULT) -> LayerCount:
    layer = graph.layer(name)
    opdef = registry.get(layer.op)
    ins, outs = graph.in_shapes(layer), graph.out_shapes(layer)
    c = opdef.count(layer.attrs, ins, outs, layer.params, conventions)
    return LayerCount(layer.name, layer.op, layer.src_type, opdef.category, ins, outs, c)


def count_net(graph: LayerGraph, conventions: Conventions = DEFAULT, precision: str = "fp32") -> NetCount:
    if precision not in DTYPE_BYTES:
        raise AugurError(f"unknown precision '{precision}'; expected one of {', '.join(DTYPE_BYTES)}")
    layers = tuple(count_layer(graph, n, conventions) for n in graph.order)
    total = Counts()
    for l in layers:
        total = total + l.counts
    return NetCount(graph.name, graph.batch, precision, conventions, layers, total, tuple(graph.dropped))
