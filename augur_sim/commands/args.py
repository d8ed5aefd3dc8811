"""Argument helpers every command group shares: net and device options, positive
integers, input shapes, and writing a report to stdout or a file (atomically)."""
from __future__ import annotations

import argparse
import sys

from ..errors import AugurError
from ..fileio import atomic_write_text
from ..frontends import load_net
from ..graph import PRECISIONS


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        raise AugurError(f"--input-shape must look like 1x3x224x224, got '{text}'")
    if not dims or any(d <= 0 for d in dims):
        raise AugurError(f"--input-shape dims must be positive, got '{text}'")
    return dims


def _positive(name):
    def conv(text):
        try:
            v = int(text)
        except ValueError:
            raise AugurError(f"{name} must be a positive integer, got '{text}'")
        if v <= 0:
            raise AugurError(f"{name} must be a positive integer, got '{text}'")
        return v
    return conv


def emit(text: str, out: str | None = None) -> None:
    if out:
        atomic_write_text(out, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


class Once(argparse.Action):
    """A single-valued option given twice with different values is an error, not 'the last
    one wins' silently (`estimate --hw a --hw b` would estimate b alone). `augur sweep`
    takes lists."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault("_given_once", {})
        if self.dest in seen and seen[self.dest] != values:
            parser.error(f"{option_string} given twice ({seen[self.dest]!r} and {values!r}); this command takes "
                         f"one value (`augur sweep` takes several)")
        seen[self.dest] = values
        setattr(namespace, self.dest, values)


def add_net_args(p, batch=True):
    p.add_argument("net", help="a descriptor path (.prototxt, .yaml, .onnx) or a name from `augur nets`")
    if batch:
        p.add_argument("--batch", type=str, default=None, action=Once,
                       help="batch size (default: the file's, or --input-shape's first dimension; given both, "
                            "they must agree)")
    p.add_argument("--input-shape", default=None, action=Once,
                   help="override the input shape, e.g. 1x3x224x224 (the first dimension is the batch)")
    p.add_argument("--lenient", action="store_true",
                   help="ONNX: keep ops augur does not model, at zero cost (listed as dropped)")


# What --runtime takes, for every command that estimates one device at a time.
RUNTIME_HELP = ("a runtime of the processor (`augur hw show HW` lists them), or a built-in corpus-fitted "
                "model: ncnn (any CPU), ncnn-vulkan (a GPU with a vulkan section); default: the processor's "
                "default_runtime (`augur hw list`)")


def add_hw_args(p, hw_help="a name from `augur hw list` or a spec YAML path"):
    """The device options every estimating command shares."""
    p.add_argument("--hw", required=True, action=Once, help=hw_help)
    p.add_argument("--processor", default=None, action=Once, help="cpu, gpu or a processor name of the spec")
    p.add_argument("--runtime", default=None, action=Once, help=RUNTIME_HELP)
    p.add_argument("--precision", choices=PRECISIONS, default="fp32", action=Once)


def batch_arg(args) -> int | None:
    """--batch as given (None: the descriptor's); anchors run at it too."""
    return _positive("--batch")(args.batch) if getattr(args, "batch", None) is not None else None


def net_from_args(args):
    batch = batch_arg(args)
    shape = _shape(args.input_shape) if args.input_shape is not None else None
    return load_net(args.net, batch=batch, input_shape=shape, lenient=getattr(args, "lenient", False))


def anchor_arg(text: str) -> tuple[str, float]:
    """--anchor NET=MS: a network (descriptor path or name) and its measured time in ms."""
    net, sep, ms = text.rpartition("=")
    try:
        value = float(ms)
    except ValueError:
        value = None
    if not sep or not net or value is None:
        raise AugurError(f"--anchor: expected NET=MS (a descriptor or a name from `augur nets`, '=', the time "
                         f"measured for it on this device in ms), got {text!r}")
    return net, value
