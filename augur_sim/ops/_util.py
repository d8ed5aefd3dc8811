"""Small helpers shared by the op modules."""
from __future__ import annotations

from ..errors import ShapeError


def prod(xs) -> int:
    n = 1
    for x in xs:
        n *= int(x)
    return n


def need_inputs(in_shapes, n: int | tuple, op: str) -> None:
    lo, hi = (n, n) if isinstance(n, int) else n
    if not lo <= len(in_shapes) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ShapeError(f"{op} takes {want} input(s), got {len(in_shapes)}")


def need_rank(shape, lo: int, op: str, hi: int | None = None) -> None:
    if len(shape) < lo or (hi is not None and len(shape) > hi):
        want = f"at least {lo}" if hi is None else (str(lo) if lo == hi else f"{lo} to {hi}")
        raise ShapeError(f"{op} needs an input of rank {want}, got shape {tuple(shape)}")


def norm_axis(axis: int, rank: int, op: str) -> int:
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise ShapeError(f"{op}: axis {axis} out of range for rank {rank}")
    return a


def pos_int(v, what: str, allow_zero: bool = False) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < (0 if allow_zero else 1):
        raise ShapeError(f"{what} must be a {'non-negative' if allow_zero else 'positive'} integer, got {v!r}")
    return v
