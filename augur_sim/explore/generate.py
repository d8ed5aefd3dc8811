"""Generated networks for design-space sweeps: enumerating a family's networks
(`--generate FAMILY:COUNT`) and the bounds of its space.

The families themselves (the space's definition, a network's parameters from (family, seed,
index), its name and its graph) are a frontend: augur_sim/frontends/generated.py, as a
generated network's name is a descriptor everywhere a network name is.
Parameter ranges, their sources and the bounds of the space are documented in
docs/SWEEPS.md; keep the two in step (tests/test_generate.py checks the bounds).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..counts import count_net
from ..errors import AugurError
from ..frontends.generated import FAMILIES, RESNET_DEPTHS, GenSpec, build, corner_params

# Networks one --generate may ask for. A sweep plans every (network, batch, precision) item
# before it starts: 100k networks take ~60 MiB of plan, a million took over a GiB and ran
# out of memory in the fuzz campaign's 1.4 GiB worker. Larger screens run in parts (another
# --seed each), which also keeps each part restartable.
MAX_COUNT = 100_000


def parse_generate(text: str) -> tuple[str, int]:
    """'resnet:100' -> ('resnet', 100)."""
    fam, sep, cnt = str(text).partition(":")
    if not sep or fam not in FAMILIES:
        raise AugurError(f"--generate must look like FAMILY:COUNT with FAMILY one of "
                         f"{', '.join(FAMILIES)}, got '{text}'")
    try:
        n = int(cnt)
    except ValueError:
        raise AugurError(f"--generate count must be a positive integer, got '{cnt}'")
    if n <= 0 or n > MAX_COUNT:
        raise AugurError(f"--generate count must be between 1 and {MAX_COUNT}, got {n} "
                         "(sweep larger spaces in parts, another --seed each)")
    return fam, n


@dataclass(frozen=True)
class SpaceBounds:
    family: str
    macs_min: int
    macs_max: int
    params_min: int
    params_max: int


def space_bounds(family: str) -> SpaceBounds:
    """MACs and parameters (batch 1) of the smallest and largest networks of a family."""
    blocks = tuple(RESNET_DEPTHS) if family == "resnet" else ("",)
    lo = [count_net(build(family, corner_params(family, False, b))).total for b in blocks]
    hi = [count_net(build(family, corner_params(family, True, b))).total for b in blocks]
    return SpaceBounds(family, min(t.macs for t in lo), max(t.macs for t in hi),
                       min(t.params for t in lo), max(t.params for t in hi))


def generate(family: str, count: int, seed: int = 0, start: int = 0) -> list[GenSpec]:
    if family not in FAMILIES:
        raise AugurError(f"unknown network family '{family}'; expected one of {', '.join(FAMILIES)}")
    return [GenSpec(family, int(seed), i) for i in range(start, start + count)]
