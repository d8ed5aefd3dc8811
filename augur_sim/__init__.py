"""augur-sim: estimate how fast a CNN runs on a device, how much memory it needs and
where the time goes, from its descriptor and a YAML hardware spec.

The public API (augur_sim/api.py): ``load_net``, ``load_hw``, ``analyze``, ``estimate``, and
``AugurError`` (what they raise on bad input).
They are resolved on first use (PEP 562), so that importing one stage of the package
(``augur_sim.hw``, ``augur_sim.graph``) does not import every other stage and numba."""
from __future__ import annotations

import importlib

__version__ = "0.1.0"
__all__ = ["AugurError", "analyze", "estimate", "load_hw", "load_net"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("augur_sim.api"), name)
    raise AttributeError(f"module 'augur_sim' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
