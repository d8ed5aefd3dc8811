"""Memory footprint of one inference (DESIGN.md §5).

    peak = weights + max over the schedule of live activations + workspace + runtime constant

Two policies:
- caffe: every blob is allocated for the whole run; in-place layers share their input's
  blob; one im2col buffer, as large as the largest any conv needs, serves all convs.
- reuse: a tensor is freed after its last consumer (modern runtimes' arenas); views
  (reshape, flatten, identity) and in-place layers alias their input; the workspace is
  the largest single im2col buffer, live only during its conv, so it adds at that step.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AugurError
from ..graph import DTYPE_BYTES, LayerGraph
from ..memo import per_graph
from ..ops import registry

POLICIES = ("caffe", "reuse")
MiB = 1 << 20


@dataclass(frozen=True)
class Footprint:
    policy: str
    weight_bytes: int
    peak_activation_bytes: int
    workspace_bytes: int
    runtime_bytes: int
    peak_step: str          # layer at which the activation peak happens ("" for caffe)

    @property
    def peak_memory_bytes(self) -> int:
        return self.weight_bytes + self.peak_activation_bytes + self.workspace_bytes + self.runtime_bytes


def im2col_bytes(graph: LayerGraph, name: str, elem_bytes: int) -> int:
    """Caffe's column buffer for one conv: (Cin*kh*kw) x (Hout*Wout), all groups; 0 for 1x1/s1/p0."""
    layer = graph.layer(name)
    if layer.op not in ("conv", "deconv"):
        return 0
    kh, kw = layer.attrs["kernel"]
    stride = layer.attrs.get("stride", (1, 1))
    pad = layer.attrs.get("pad", (0, 0, 0, 0))
    if kh == kw == 1 and tuple(stride) == (1, 1) and not any(pad):
        return 0
    (_, cin, hin, win), = graph.in_shapes(layer)
    (_, cout, hout, wout), = graph.out_shapes(layer)
    if layer.op == "deconv":  # col2im buffer: (Cout*kh*kw) x (Hin*Win)
        return cout * kh * kw * hin * win * elem_bytes
    return cin * kh * kw * hout * wout * elem_bytes


def _aliases(graph: LayerGraph) -> dict[str, str]:
    """tensor -> the tensor whose storage it uses (in-place layers and views share).
    Computed once per graph (both policies and every precision walk the same aliases)."""
    cache = per_graph(graph, "aliases")
    root = cache.get("root")
    if root is not None:
        return root
    root = {}
    nodes = graph.g._node
    for name in graph.order:
        layer = nodes[name]["layer"]
        free = layer.op != "input" and registry.get(layer.op).category == "free"
        for t in layer.outputs:
            if (layer.inplace or free) and layer.inputs:
                src = layer.inputs[0]
                root[t] = root.get(src, src)
            else:
                root[t] = t
    cache["root"] = root
    return root


def footprint(graph: LayerGraph, dtype: str = "fp32", policy: str = "reuse",
              runtime_bytes: int = 0, weight_elems: int | None = None) -> Footprint:
    if policy not in POLICIES:
        raise AugurError(f"unknown memory policy '{policy}'; expected one of {', '.join(POLICIES)}")
    eb = DTYPE_BYTES[dtype]
    if weight_elems is None:
        weight_elems = sum(_prod(s) for n in graph.order for s in graph.layer(n).params)
    # The activation walk depends only on (graph, dtype, policy): cache it per graph, so
    # repeated estimates (what-ifs, sweeps over devices) pay for it once.
    cache = per_graph(graph, "footprints")
    key = (dtype, policy)
    if key not in cache:
        cache[key] = _activations(graph, eb, policy)
    act, ws, step = cache[key]
    return Footprint(policy, weight_elems * eb, act, ws, runtime_bytes, step)


def schedule(graph: LayerGraph, eb: int):
    """(storage root -> bytes; per step: roots born, roots dying) with views and in-place
    layers aliased to their input's storage; graph outputs never die."""
    root = _aliases(graph)
    size = _sizes(graph, eb)
    nodes = graph.g._node
    layers = [nodes[n]["layer"] for n in graph.order]
    last = {}
    for i, L in enumerate(layers):
        for t in L.inputs:
            last[root[t]] = i
        for t in L.outputs:
            last[root[t]] = i
    for t in graph.outputs:
        last[root[t]] = len(layers)
    born, seen = [], set()
    for L in layers:
        outs = L.outputs
        if len(outs) == 1:  # nearly every layer: no duplicates to drop
            r = root[outs[0]]
            b = [] if r in seen else [r]
        else:
            b = [r for r in dict.fromkeys(root[t] for t in outs) if r not in seen]
        seen.update(b)
        born.append(b)
    # A root dies at the last step that touches it (graph outputs: never, their step is
    # past the end), so each step's dying roots come straight from `last`.
    dies: list[list[str]] = [[] for _ in layers]
    for r, i in last.items():
        if i < len(layers):
            dies[i].append(r)
    for d in dies:
        d.sort()
    return size, born, dies


def _sizes(graph: LayerGraph, eb: int) -> dict[str, int]:
    """Bytes of every tensor at `eb` bytes an element, once per graph (both policies use it)."""
    cache = per_graph(graph, "tensor_bytes")
    size = cache.get(eb)
    if size is None:
        size = cache[eb] = {t: info.elems * eb for t, info in graph.tensors.items()}
    return size


def _activations(graph: LayerGraph, eb: int, policy: str) -> tuple[int, int, str]:
    """(peak activation bytes, workspace bytes, step of the peak) under a policy."""
    root = _aliases(graph)
    cols = per_graph(graph, "im2col").get(eb)
    if cols is None:
        cols = per_graph(graph, "im2col")[eb] = {n: im2col_bytes(graph, n, eb) for n in graph.order}
    if policy == "caffe":
        size = _sizes(graph, eb)
        act = sum(size[t] for t, r in root.items() if r == t)
        return act, max(cols.values(), default=0), ""
    # reuse: walk the schedule; a storage root lives from its producer to the last
    # consumer of any tensor that aliases it; graph outputs live to the end.
    size, born, dies = schedule(graph, eb)
    live, peak, peak_step, peak_ws = 0, 0, "", 0
    for i, name in enumerate(graph.order):
        for r in born[i]:  # plain loops: a generator per step cost more than the walk
            live += size[r]
        here = live + cols[name]
        if here > peak:
            peak, peak_step, peak_ws = here, name, cols[name]
        gone = 0
        for r in dies[i]:
            gone += size[r]
        live -= gone
    return peak - peak_ws, peak_ws, peak_step


def _prod(s) -> int:
    n = 1
    for d in s:
        n *= d
    return n


@dataclass(frozen=True)
class RuntimeFootprint:
    """Peak memory as one runtime holds it: named terms (bytes) that add up to the peak."""
    model: str
    terms: tuple                     # ((name, bytes, what it is), ...) in report order
    notes: tuple = ()                # what the model leaves out or assumes
    extra: dict = field(default_factory=dict)   # model-specific figures (e.g. reserved vs allocated)

    @property
    def peak_bytes(self) -> int:
        return int(sum(b for _, b, _ in self.terms))

    def to_dict(self) -> dict:
        return {"model": self.model, "peak_bytes": self.peak_bytes,
                "terms": {n: {"bytes": int(b), "what": w} for n, b, w in self.terms},
                "notes": list(self.notes), **self.extra}
