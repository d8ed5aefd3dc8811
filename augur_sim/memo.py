"""Values derived from a layer graph (counts, lowerings, activation footprints), cached beside
the graph rather than inside it: the graph stays read-only, pickles without them, and the
entries go when the graph goes (a weak reference keyed by the graph object)."""
from __future__ import annotations

import weakref
from typing import Any

_DERIVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def per_graph(graph: Any, kind: str) -> dict:
    """The cache of one kind of derived value for this graph object (a dict the caller keys)."""
    kinds = _DERIVED.get(graph)
    if kinds is None:
        kinds = _DERIVED[graph] = {}
    return kinds.setdefault(kind, {})


def forget(graph: Any) -> None:
    """Drop every value cached for this graph (benchmarks time the uncached path with it)."""
    _DERIVED.pop(graph, None)
