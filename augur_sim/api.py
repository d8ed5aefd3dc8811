"""The public API, re-exported by the package: ``load_net``, ``load_hw``, ``analyze``, ``estimate``, and
``AugurError``, what each raises on bad input (a one-line message naming the file, line or argument)."""
from __future__ import annotations

from .conventions import DEFAULT, Conventions
from .counts import NetCount, count_net
from .errors import AugurError
from .estimator import estimate
from .frontends import load_net
from .hw import load_hw

__all__ = ["AugurError", "analyze", "estimate", "load_hw", "load_net"]


def analyze(spec, batch: int | None = None, input_shape: tuple | None = None, precision: str = "fp32",
            conventions: Conventions | None = None, dtype: str | None = None) -> NetCount:
    """Per-layer and total counts (a NetCount). `dtype` is the old name of `precision`."""
    return count_net(load_net(spec, batch=batch, input_shape=input_shape), conventions or DEFAULT,
                     dtype or precision)
