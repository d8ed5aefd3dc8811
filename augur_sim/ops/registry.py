"""The op registry: each op kind's shape rule and cost, as pure functions.

Categories (reports say which is which, fvcore-style):
- compute:  does arithmetic (conv, fc, pooling, activations, normalisation, ...)
- movement: no arithmetic but moves bytes (concat, split, slice, transpose, pad)
- free:     a view that costs nothing at run time (reshape, flatten, dropout, identity, input)
An op no frontend maps to a registered kind is unsupported: an error lists what is supported.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UnsupportedOpError

CATEGORIES = ("compute", "movement", "free")


@dataclass(frozen=True)
class OpDef:
    kind: str
    infer: Callable   # (attrs, in_shapes) -> (out_shapes, param_shapes)
    count: Callable   # (attrs, in_shapes, out_shapes, param_shapes, conventions) -> Counts
    category: str = "compute"
    doc: str = ""


_REGISTRY: dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    if opdef.category not in CATEGORIES:
        raise ValueError(f"bad category {opdef.category}")
    if opdef.kind in _REGISTRY:
        raise ValueError(f"op kind {opdef.kind} registered twice")
    _REGISTRY[opdef.kind] = opdef
    return opdef


def get(kind: str) -> OpDef:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise UnsupportedOpError(f"unknown op kind '{kind}'; supported: {', '.join(sorted(_REGISTRY))}")


def kinds() -> list[str]:
    return sorted(_REGISTRY)


def by_category() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for k, d in sorted(_REGISTRY.items()):
        out[d.category].append(k)
    return out
