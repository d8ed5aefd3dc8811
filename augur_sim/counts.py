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
from .records import records_dataframe


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

    def __repr__(self) -> str:
        t = self.total
        return (f"NetCount({self.net}, batch {self.batch}, {self.dtype}: {len(self.layers)} layers, "
                f"{t.macs:,} MACs, {t.params:,} params)")

    def to_dict(self) -> dict:
        """The same dict `augur analyze --format json` prints (counts, and sizes in bytes)."""
        t = self.total
        return {
            "net": self.net, "batch": self.batch, "dtype": self.dtype,
            "conventions": self.conventions.as_dict(),
            "total": {"macs": t.macs, "flops": t.flops, "params": t.params, "stat_params": t.stat_params,
                      "weight_bytes": self.weight_bytes, "activation_bytes": self.activation_bytes},
            "layers": [{"name": l.name, "type": l.src_type or l.op, "op": l.op, "category": l.category,
                        "input_shapes": [list(s) for s in l.input_shapes],
                        "output_shape": list(l.output_shapes[0]) if l.output_shapes else [],
                        "output_shapes": [list(s) for s in l.output_shapes],
                        "macs": l.counts.macs, "flops": l.counts.flops, "params": l.counts.params,
                        "stat_params": l.counts.stat_params,
                        "input_elems": l.counts.in_elems, "output_elems": l.counts.out_elems,
                        "input_bytes": l.counts.in_elems * DTYPE_BYTES[self.dtype],
                        "activation_bytes": l.counts.out_elems * DTYPE_BYTES[self.dtype]}
                       for l in self.layers],
            "dropped": [{"name": n, "type": ty, "reason": r} for n, ty, r in self.dropped],
        }

    def to_records(self) -> list[dict]:
        """One flat dict per layer (shapes as '1x64x56x56'), with net, batch and dtype."""
        ctx = {"net": self.net, "batch": self.batch, "dtype": self.dtype}
        out = []
        for rec in self.to_dict()["layers"]:
            rec = dict(rec)
            rec["input_shapes"] = ";".join("x".join(map(str, s)) for s in rec["input_shapes"])
            rec["output_shape"] = "x".join(map(str, rec["output_shape"]))
            rec["output_shapes"] = ";".join("x".join(map(str, s)) for s in rec["output_shapes"])
            out.append({**ctx, **rec})
        return out

    def to_dataframe(self):
        """to_records() as a pandas DataFrame (pandas is optional: imported here, on use)."""
        return records_dataframe(self.to_records())


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
    # Field by field (as Counts.__add__ adds, in layer order), without a Counts object per
    # partial sum, in one pass instead of one generator per field.
    macs = flops = params = stat = ins = outs = w = 0
    for l in layers:
        c = l.counts
        macs += c.macs
        flops += c.flops
        params += c.params
        stat += c.stat_params
        ins += c.in_elems
        outs += c.out_elems
        w += c.weight_elems
    total = Counts(macs, flops, params, stat, ins, outs, w)
    return NetCount(graph.name, graph.batch, precision, conventions, layers, total, tuple(graph.dropped))
