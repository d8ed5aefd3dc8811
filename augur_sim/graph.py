"""The layer graph: the one representation every later stage consumes.

Nodes are layers (canonical op kind, attributes, source location); edges carry the
tensors between them. Shape inference runs once, in topological order, when the
graph is built; its errors name the layer and the line it came from.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from .errors import AugurError, ShapeError
from .memo import per_graph
from .ops import registry

Shape = tuple[int, ...]

# A dimension beyond this is a descriptor error, not a network: 2**31 elements in one
# axis already exceeds any real activation, and keeps every product far from int64 overflow.
MAX_DIM = 1 << 31
# Whole-tensor guard: products of dims must stay well inside int64 in the numba kernels,
# which multiply element counts by bytes and by repeat factors.
MAX_TENSOR_ELEMS = 1 << 46
# Tensor rank: ONNX/Caffe nets use up to 6; 32 leaves room without letting a file hand us
# thousands of dims (messages, products and numba arrays all grow with it).
MAX_RANK = 32
# Batch sizes a user may ask for (estimate/analyze --batch, load_net(batch=), sweep --batch: one
# bound, so a sweep row can be re-run by `augur estimate` and back); checked before any frontend
# writes the value into a protobuf or an array. 2^20, not the sweep's former 2^16: an estimate's
# cost does not grow with the batch (resnet50 at 2^20: 1.7 s, 160 MB), and check_shape's
# MAX_TENSOR_ELEMS already refuses a tensor the batch would make too large.
MAX_BATCH = 1 << 20

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
# The precisions a network is counted, lowered and estimated at (every command's
# --precision choices). bf16 has a storage size above but no estimate path yet.
PRECISIONS = ("fp32", "fp16", "bf16", "int8")


@dataclass(frozen=True)
class SourceLoc:
    file: str | None
    line: int | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)


@dataclass(frozen=True)
class Layer:
    name: str
    op: str
    attrs: dict = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    source: SourceLoc | None = None
    inplace: bool = False
    # Weight tensor shapes, filled in by shape inference (frontends leave it empty).
    params: tuple[Shape, ...] = ()
    # The frontend's own type name ("Convolution", "Conv"), for reports.
    src_type: str | None = None


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: Shape
    dtype: str
    producer: str  # layer name (graph inputs are produced by their Input layer)

    @property
    def elems(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def _short(v) -> str:
    """A value from a file, shown briefly (an error must stay one short line)."""
    text = repr(v) if not isinstance(v, int) or abs(v) < 10**30 else "a huge integer"
    return text if len(text) <= 40 else text[:37] + "..."


def _plain_shape(shape: tuple) -> bool:
    """True for the common case check_shape passes at once: plain ints in range, product in range."""
    n = 1
    for d in shape:
        if type(d) is not int or d <= 0 or d > MAX_DIM:
            return False
        n *= d
    return n <= MAX_TENSOR_ELEMS and len(shape) <= MAX_RANK


def check_shapes(shapes: Iterable[Iterable[Any]], what: str, op: str) -> tuple[Shape, ...]:
    """check_shape of each shape, `what` naming them as f"{what} {op}" (the message is built
    only when a shape fails: every layer's outputs and weights pass here)."""
    out = []
    for s in shapes:
        s = tuple(s)
        out.append(s if _plain_shape(s) else check_shape(s, f"{what} {op}"))
    return tuple(out)


def check_shape(shape: Iterable[Any], what: str) -> Shape:
    """Validate an untrusted shape: positive ints, no absurd sizes."""
    shape = tuple(shape)
    if _plain_shape(shape):  # fast path: every layer's outputs pass here
        return shape
    if len(shape) > MAX_RANK:
        raise ShapeError(f"{what}: {len(shape)} dimensions; at most {MAX_RANK} are supported")
    out = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, int):
            raise ShapeError(f"{what}: dimension {_short(d)} is not an integer")
        if d <= 0:
            raise ShapeError(f"{what}: dimension {_short(d)} must be positive")
        if d > MAX_DIM:
            raise ShapeError(f"{what}: dimension {_short(d)} is absurdly large (> {MAX_DIM})")
        out.append(d)
    n = 1
    for d in out:
        n *= d
        if n > MAX_TENSOR_ELEMS:
            # Stop multiplying: the product is not printed (it could exceed int->str limits).
            raise ShapeError(f"{what}: shape {tuple(out)} has more than {MAX_TENSOR_ELEMS} elements")
    return tuple(out)


class LayerGraph:
    """A built, shape-inferred layer graph. Read-only by convention."""

    def __init__(self, name: str, source_file: str | None, g: nx.DiGraph,
                 tensors: dict[str, TensorInfo], order: list[str], inputs: list[str],
                 outputs: list[str], dropped: list[tuple[str, str, str]], shapes: dict | None = None):
        # shapes: id(layer) -> (layer, input shapes, output shapes) as build() inferred them;
        # in_shapes/out_shapes answer from it for the graph's own layer objects.
        self._shapes = shapes or {}
        self.name = name
        self.source_file = source_file
        self.g = g
        self.tensors = tensors
        self.order = order
        self.inputs = inputs
        self.outputs = outputs
        self.dropped = dropped

    def layer(self, name: str) -> Layer:
        return self.g._node[name]["layer"]

    def layers(self) -> list[Layer]:
        return [self.g.nodes[n]["layer"] for n in self.order]

    def in_shapes(self, layer: Layer) -> tuple[Shape, ...]:
        known = self._shapes.get(id(layer))
        if known is not None and known[0] is layer:
            return known[1]
        return tuple(self.tensors[t].shape for t in layer.inputs)

    def out_shapes(self, layer: Layer) -> tuple[Shape, ...]:
        known = self._shapes.get(id(layer))
        if known is not None and known[0] is layer:
            return known[2]
        return tuple(self.tensors[t].shape for t in layer.outputs)

    def quantised_layers(self) -> list[str]:
        """The layers a quantised descriptor marks as int8 (an ncnn `_int8` .param's
        int8_scale_term, an ONNX QuantizeLinear-style `quant` op): what only a runtime with int8
        kernels for them (ncnn on a CPU) runs as int8. Cached beside the graph (memo.per_graph):
        every estimate asks, and the walk over the layers was most of a cached estimate's time."""
        cache = per_graph(self, "quantised_layers")
        if "names" not in cache:
            cache["names"] = tuple(n for n in self.order if self.g.nodes[n]["layer"].attrs.get("int8")
                                   or self.g.nodes[n]["layer"].attrs.get("quant"))
        return list(cache["names"])

    @property
    def batch(self) -> int:
        return self.tensors[self.inputs[0]].shape[0] if self.inputs else 1

    def consumers(self, tensor: str) -> list[str]:
        """The layers that read `tensor`, each once, in declaration order."""
        self.tensors[tensor]  # KeyError for a tensor the graph does not have
        cache = per_graph(self, "consumers")
        by_tensor = cache.get("map")
        if by_tensor is None:
            # One pass over the layers for every tensor (networkx's edge views per call
            # cost more than the fusion planning that asks).
            by_tensor = {}
            for v, d in self.g._node.items():
                for t in d["layer"].inputs:
                    lst = by_tensor.setdefault(t, [])
                    if v not in lst:
                        lst.append(v)
            cache["map"] = by_tensor
        return list(by_tensor.get(tensor, ()))

    def __len__(self) -> int:
        return len(self.order)


def as_text(name) -> str:
    """A name from a file as text. Protobuf hands back bytes for a string field that is not
    valid UTF-8 (ONNX node names seen in fuzzing); such bytes become backslash escapes, the
    same for every occurrence, so tensors still connect and reports stay printable."""
    if isinstance(name, str):
        return name
    if isinstance(name, (bytes, bytearray)):
        return bytes(name).decode("utf-8", errors="backslashreplace")
    return str(name)


def _all_text(layer: Layer) -> bool:
    # Plain loops: every layer of every network passes here, and generator expressions
    # inside all() cost several times as much for a handful of names.
    if type(layer.name) is not str or (layer.src_type is not None and type(layer.src_type) is not str):
        return False
    for t in layer.inputs:
        if type(t) is not str:
            return False
    for t in layer.outputs:
        if type(t) is not str:
            return False
    return True


class GraphBuilder:
    """Collects layers from a frontend, then checks and shape-infers them in build()."""

    def __init__(self, net_name: str, file: str | None = None):
        self.net_name = net_name
        self.file = file
        self._layers: list[Layer] = []
        self._names: set[str] = set()
        self.dropped: list[tuple[str, str, str]] = []
        # layer name -> (input shapes, output shapes, param shapes) a frontend already
        # inferred with the same op rules; build() reuses them when the inputs match.
        self._inferred: dict[str, tuple] = {}

    def add_input(self, name: str, shape: Iterable[int], dtype: str = "fp32",
                  source: SourceLoc | None = None, layer_name: str | None = None) -> None:
        try:
            shp = check_shape(list(shape), f"input '{name}'")
            if not shp:
                # The batch is a network input's first dimension: a scalar input has none.
                raise ShapeError(f"input '{name}' has no dimensions; a network input needs at least the batch")
        except AugurError as e:
            raise e.located(file=source.file if source else self.file,
                            line=source.line if source else None)
        self.add_layer(Layer(name=layer_name or name, op="input", attrs={"shape": shp, "dtype": dtype},
                             inputs=(), outputs=(name,), source=source, src_type="Input"))

    def add_layer(self, layer: Layer, inferred: tuple | None = None) -> None:
        """Add a layer; `inferred` = (input shapes, output shapes, param shapes) when the
        frontend has run the op's shape rule already (build() then skips it)."""
        if not _all_text(layer):
            layer = _replace(layer, name=as_text(layer.name), inputs=tuple(as_text(t) for t in layer.inputs),
                             outputs=tuple(as_text(t) for t in layer.outputs),
                             src_type=None if layer.src_type is None else as_text(layer.src_type))
        if inferred is not None:
            self._inferred[layer.name] = inferred
        if layer.name in self._names:
            raise AugurError(f"duplicate layer name '{layer.name}'", file=self._file(layer),
                             line=self._line(layer), where=f"layer '{layer.name}'")
        if not layer.outputs:
            raise AugurError("layer produces no output", file=self._file(layer),
                             line=self._line(layer), where=f"layer '{layer.name}'")
        self._names.add(layer.name)
        self._layers.append(layer)

    def drop(self, name: str, type_: str, reason: str) -> None:
        self.dropped.append((as_text(name), as_text(type_), as_text(reason)))

    def _file(self, layer: Layer) -> str | None:
        return layer.source.file if layer.source and layer.source.file else self.file

    @staticmethod
    def _line(layer: Layer) -> int | None:
        return layer.source.line if layer.source else None

    def _err(self, layer: Layer, msg: str, cls=AugurError) -> AugurError:
        return cls(msg, file=self._file(layer), line=self._line(layer), where=f"layer '{layer.name}'")

    def build(self) -> LayerGraph:
        if not any(l.op == "input" for l in self._layers):
            raise AugurError("the network declares no input", file=self.file)
        producer: dict[str, str] = {}
        index: dict[str, int] = {}
        for i, layer in enumerate(self._layers):
            for t in layer.outputs:
                if t in producer:
                    raise self._err(layer, f"tensor '{t}' is already produced by layer "
                                           f"'{producer[t]}' (tensor names must be unique)")
                producer[t] = layer.name
            index[layer.name] = i
        edges: dict[tuple[str, str], list[str]] = {}
        forward = True  # every edge from an earlier layer to a later one
        for i, layer in enumerate(self._layers):
            for t in layer.inputs:
                u = producer.get(t)
                if u is None:
                    raise self._err(layer, f"input '{t}' is produced by no layer")
                if u == layer.name:
                    raise self._err(layer, f"layer consumes its own output '{t}'")
                if index[u] > i:
                    forward = False
                ts = edges.setdefault((u, layer.name), [])
                if t not in ts:
                    ts.append(t)
        g = _digraph(self._layers, edges)
        # Declared in an order that already is a topological one (as ONNX requires, and as
        # most files are): that order is the one Kahn's algorithm below would return, since
        # it breaks ties by declaration order.
        order = [l.name for l in self._layers] if forward else _stable_topological_order(g, index)
        if order is None:
            cycle = nx.find_cycle(g)
            names = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
            first = g.nodes[cycle[0][0]]["layer"]
            raise self._err(first, f"the graph has a cycle: {names}")

        tensors: dict[str, TensorInfo] = {}
        shapes: dict[int, tuple] = {}
        nodes = g._node  # plain dict access: the node view costs more than the inference
        for name in order:
            layer = nodes[name]["layer"]
            in_shapes = tuple([tensors[t].shape for t in layer.inputs])
            dtype = tensors[layer.inputs[0]].dtype if layer.inputs else layer.attrs.get("dtype", "fp32")
            known = self._inferred.get(name)
            if known is not None and known[0] == in_shapes:
                out_shapes, param_shapes = known[1], known[2]
            else:
                out_shapes, param_shapes = self._infer(layer, in_shapes)
            if param_shapes != layer.params:
                # Direct construction: dataclasses.replace costs more than the whole inference.
                layer = Layer(layer.name, layer.op, layer.attrs, layer.inputs, layer.outputs, layer.source,
                              layer.inplace, param_shapes, layer.src_type)
                nodes[name]["layer"] = layer
            for t, s in zip(layer.outputs, out_shapes):
                tensors[t] = TensorInfo(t, s, dtype, layer.name)
            shapes[id(layer)] = (layer, in_shapes, tuple(out_shapes))
        succ = g._succ
        for u, v in edges:  # each edge's data dict, without networkx's edge view
            d = succ[u][v]
            d["shapes"] = [tensors[t].shape for t in d["tensors"]]
        consumed = {t for l in self._layers for t in l.inputs}
        outputs = [t for l in (nodes[n]["layer"] for n in order) for t in l.outputs
                   if t not in consumed]
        inputs = [l.outputs[0] for l in (nodes[n]["layer"] for n in order) if l.op == "input"]
        return LayerGraph(self.net_name, self.file, g, tensors, order, inputs, outputs, self.dropped, shapes)

    def _infer(self, layer: Layer, in_shapes: tuple) -> tuple[tuple, tuple]:
        """(output shapes, param shapes) of one layer by its op's rule, checked."""
        try:
            opdef = registry.get(layer.op)
            out_shapes, param_shapes = opdef.infer(layer.attrs, in_shapes)
            if len(out_shapes) != len(layer.outputs):
                raise ShapeError(f"{layer.op} gives {len(out_shapes)} outputs but the layer "
                                 f"names {len(layer.outputs)} tops")
            out_shapes = check_shapes(out_shapes, "output of", layer.op)
            param_shapes = check_shapes(param_shapes, "weights of", layer.op)
        except AugurError as e:
            raise e.located(file=self._file(layer), line=self._line(layer),
                            where=f"layer '{layer.name}'")
        return out_shapes, param_shapes


def _digraph(layers: list[Layer], edges: dict[tuple[str, str], list[str]]) -> nx.DiGraph:
    """The networkx graph of the layers (node attr `layer`) and edges (attr `tensors`), its
    adjacency dicts filled as DiGraph.add_nodes_from / add_edges_from fill them on a new
    graph (one shared data dict per edge in _succ and _pred), without their per-item
    checks and attribute merging: building the graph was a quarter of build()."""
    g = nx.DiGraph()
    node, succ, pred = g._node, g._succ, g._pred
    for l in layers:
        node[l.name] = {"layer": l}
        succ[l.name] = {}
        pred[l.name] = {}
    for (u, v), ts in edges.items():
        d = {"tensors": ts}
        succ[u][v] = d
        pred[v][u] = d
    return g


def _stable_topological_order(g: nx.DiGraph, index: dict[str, int]) -> list[str] | None:
    """Kahn's algorithm, ties broken by declaration order (reports follow the file); None on
    a cycle. networkx's lexicographic sort does the same at several times the cost."""
    indeg = {n: len(p) for n, p in g._pred.items()}
    heap = [(index[n], n) for n, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    succ = g._succ
    order = []
    while heap:
        _, n = heapq.heappop(heap)
        order.append(n)
        for v in succ[n]:
            indeg[v] -= 1
            if indeg[v] == 0:
                heapq.heappush(heap, (index[v], v))
    return order if len(order) == len(indeg) else None


def _replace(layer: Layer, **kw) -> Layer:
    return replace(layer, **kw)


def check_batch(batch) -> int:
    """A batch size from a user, or an AugurError (bool, non-int, <= 0, > MAX_BATCH)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or not 0 < batch <= MAX_BATCH:
        shown = repr(batch) if not isinstance(batch, int) or abs(batch) < 10**30 else "a huge integer"
        raise AugurError(f"batch must be a positive integer up to {MAX_BATCH}, got {shown}")
    return batch


def rebatch(graph: LayerGraph, batch: int) -> LayerGraph:
    """The same network at another batch size: every input's leading dim replaced."""
    check_batch(batch)
    b = GraphBuilder(graph.name, graph.source_file)
    for name in graph.order:
        layer = graph.layer(name)
        if layer.op == "input":
            shape = (batch,) + tuple(layer.attrs["shape"][1:])
            layer = _replace(layer, attrs={**layer.attrs, "shape": shape})
        elif layer.op == "const" and "batch" in layer.attrs:
            # A stored constant (ncnn MemoryData) is broadcast to the batch it meets.
            layer = _replace(layer, attrs={**layer.attrs, "batch": batch})
        b.add_layer(_replace(layer, params=()))
    b.dropped = list(graph.dropped)
    return b.build()
