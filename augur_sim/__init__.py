"""augur-sim: estimate how fast a CNN runs on a device, how much memory it needs and
where the time goes, from its descriptor and a YAML hardware spec."""
from __future__ import annotations

__version__ = "0.1.0"


def load_net(spec, batch=None, input_shape=None, lenient=False):
    """A network (path or zoo name) as a shape-inferred LayerGraph."""
    from .frontends import load_net as _load
    return _load(spec, batch=batch, input_shape=input_shape, lenient=lenient)


def load_hw(spec):
    """A hardware spec (name from `augur hw list`, or a YAML path) as a Device."""
    from .hw import load_hw as _load
    return _load(spec)


def analyze(spec, batch=None, input_shape=None, dtype="fp32", conventions=None):
    """Per-layer and total counts (a NetCount)."""
    from .conventions import DEFAULT
    from .counts import count_net
    return count_net(load_net(spec, batch=batch, input_shape=input_shape), conventions or DEFAULT, dtype)


def __getattr__(name: str):
    # `estimate` is the real function (its signature and documentation, not a **kw wrapper),
    # resolved on first use so that importing the package stays free of numba (PEP 562).
    if name == "estimate":
        from .estimator import estimate
        return estimate
    raise AttributeError(f"module 'augur_sim' has no attribute '{name}'")
