"""Which precision a kernel really runs at on a processor, and what to tell the user.

A precision is only as fast as the hardware that executes it: a spec lists a FLOP rate per
precision (`flop_per_cycle_per_unit`), and a precision it does not list falls back along
hw.model.PRECISION_FALLBACK (int8 -> fp16 -> fp32). A runtime without an int8 path does not
move int8 tensors either: it runs the fallback's kernels, whose tensors are the fallback's
size. So augur costs every kernel (time, DRAM traffic, energy, memory) at the precision it
falls back to, and warns. The weights a file stores may still be smaller (an int8 file is
a quarter of an fp32 one): the estimate reports that storage figure apart, never as memory
the run saves. augur runs all kernels of one estimate at one precision.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import AugurError
from .graph import DTYPE_BYTES, PRECISIONS

# The precisions an estimate can be asked for are graph.PRECISIONS: those with a tensor
# storage size. The spec schema also has fp64 and tf32 rates; tf32 is a GEMM mode over fp32
# tensors and fp64 is not a CNN inference precision, so asking for them is refused with that reason.
_NOT_ASKABLE = {"tf32": "tf32 is a GEMM mode over fp32 tensors, not a storage precision: ask for fp32",
                "fp64": "fp64 is not an inference precision augur models"}


def check(precision) -> str:
    """`precision` if an estimate can be asked for it, else a one-line AugurError saying why."""
    if precision in PRECISIONS:
        return precision
    why = _NOT_ASKABLE.get(precision)
    raise AugurError(f"precision {precision!r} is not supported"
                     + (f": {why}" if why else f"; expected one of {', '.join(PRECISIONS)}"))


@dataclass(frozen=True)
class PrecisionUse:
    requested: str
    used: str              # the precision kernels are costed at
    warning: str | None    # set when used != requested


def resolve(proc, requested: str, device_name: str | None = None, runtime=None) -> PrecisionUse:
    """The precision `proc` runs `requested` at (its own rate, else the fallback's). A runtime
    that lists the precisions its stack runs (`precisions`: PyTorch runs no int8 layer on a
    GPU) moves a precision outside the list to its fallback the same way, however fast the
    processor's rate for it."""
    allowed = tuple(getattr(runtime, "precisions", ()) or ())
    used = proc.rate_precision(requested)
    by_runtime = bool(allowed) and used not in allowed
    if by_runtime:
        # The first fallback the stack runs that the processor has a rate for (else fp32).
        used = proc.rate_precision_within(requested, allowed)
    if used not in DTYPE_BYTES:     # a declared rate augur cannot lower to (tf32, fp64): costed as fp32
        used = "fp32"
    if used == requested:
        return PrecisionUse(requested, used, None)
    where = f"{device_name}/{proc.name}" if device_name else proc.name
    ratio = DTYPE_BYTES[used] // DTYPE_BYTES[requested]
    if by_runtime:
        why = (f"runtime {runtime.name} runs no {requested} layers on {where} (its stack runs "
               f"{', '.join(allowed)}: the runtime's `precisions`)")
    else:
        rates = ", ".join(sorted(proc.flop_per_cycle_per_unit))
        why = f"{where} has no {requested} rate in its spec (it lists {rates})"
    warning = (f"{requested} requested, but {why}: "
               f"every kernel is costed at {used} (time, traffic, energy and memory), with no speed-up from "
               f"{requested}" + (f"; weights stored at {requested} in a file would still be {ratio}x smaller "
                                 f"on disk" if ratio > 1 else ""))
    return PrecisionUse(requested, used, warning)
