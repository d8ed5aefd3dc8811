"""augur nets | analyze | estimate | hw."""
from __future__ import annotations

import sys

from ..errors import AugurError


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
        from ..fileio import atomic_write_text
        atomic_write_text(out, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def add_net_args(p, batch=True):
    p.add_argument("net", help="a descriptor path (.prototxt, .yaml, .onnx) or a name from `augur nets`")
    if batch:
        p.add_argument("--batch", type=str, default=None, help="batch size (default: the file's)")
    p.add_argument("--input-shape", default=None, help="override the input shape, e.g. 1x3x224x224")


def add_hw_args(p, hw_help="a name from `augur hw list` or a spec YAML path"):
    """The device options every estimating command shares."""
    p.add_argument("--hw", required=True, help=hw_help)
    p.add_argument("--processor", default=None, help="cpu, gpu or a processor name of the spec")
    p.add_argument("--runtime", default=None, help="a runtime of the processor (default: its default)")
    p.add_argument("--precision", choices=["fp32", "fp16", "int8"], default="fp32")


def net_from_args(args):
    from ..frontends import load_net
    batch = _positive("--batch")(args.batch) if getattr(args, "batch", None) is not None else None
    shape = _shape(args.input_shape) if args.input_shape is not None else None
    return load_net(args.net, batch=batch, input_shape=shape, lenient=getattr(args, "lenient", False))


def cmd_nets(args):
    from ..frontends import list_nets
    from ..report import table
    rows = [(name, path.suffix[1:], path.name) for name, path in list_nets()]
    emit(table(["name", "format", "file"], rows, ["<", "<", "<"]))


def cmd_analyze(args):
    from ..conventions import DEFAULT
    from ..counts import count_net
    from ..report import analyze_csv, analyze_dict, analyze_table, dumps
    graph = net_from_args(args)
    nc = count_net(graph, DEFAULT.with_(fold_bn=args.fold_bn), args.dtype)
    if args.format == "json":
        emit(dumps(analyze_dict(nc)), args.out)
    elif args.format == "csv":
        emit(analyze_csv(nc), args.out)
    else:
        emit(analyze_table(nc), args.out)


def cmd_estimate(args):
    from ..estimator import estimate
    from ..report import dumps, estimate_csv, estimate_table
    graph = net_from_args(args)
    threads = _positive("--threads")(args.threads) if args.threads is not None else None
    est = estimate(graph, args.hw, processor=args.processor, precision=args.precision, threads=threads,
                   policy=args.policy, runtime=args.runtime, runtime_mib=args.runtime_mib)
    if args.plot:
        from ..explore.plots import roofline_plot
        roofline_plot(est, args.hw, args.plot)
    if args.format == "json":
        emit(dumps(est.to_dict()), args.out)
    elif args.format == "csv":
        emit(estimate_csv(est), args.out)
    else:
        emit(estimate_table(est), args.out)


def cmd_hw(args):
    from .. import hw
    if args.hw_command == "list":
        from ..report import table
        emit(table(["name", "description"], hw.list_hw(), ["<", "<"]))
    elif args.hw_command == "show":
        emit(hw.format_hw(hw.load_hw(args.name)))
    elif args.hw_command == "check":
        dev = hw.check_hw(args.file)
        emit(f"{args.file}: ok: {dev.name}, processors {', '.join(dev.processors)}")
    elif args.hw_command == "schema":
        emit(hw.schema_doc())


def register(sub):
    p = sub.add_parser("nets", help="list the networks shipped in nets/")
    p.set_defaults(func=cmd_nets)

    p = sub.add_parser("analyze", help="per-layer counts: MACs, FLOPs, params, activations")
    add_net_args(p)
    p.add_argument("--dtype", choices=["fp32", "fp16", "int8"], default="fp32")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--fold-bn", action="store_true", help="count BatchNorm as folded into the conv (0 FLOPs)")
    p.add_argument("--out", default=None, help="write to this file (atomically) instead of stdout")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("estimate", help="time, memory and energy per layer on a device")
    add_net_args(p)
    add_hw_args(p)
    p.add_argument("--threads", default=None, help="CPU threads (default: all cores)")
    p.add_argument("--policy", choices=["caffe", "reuse"], default="reuse",
                   help="memory policy for the headline figure (both are reported)")
    p.add_argument("--runtime-mib", type=float, default=None,
                   help="fixed runtime memory in MiB (default: estimate per processor kind)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--plot", default=None, help="write a roofline chart (PNG) here")
    p.add_argument("--out", default=None, help="write the report to this file (atomically)")
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("hw", help="hardware specs: list, show, check, schema")
    hsub = p.add_subparsers(dest="hw_command", metavar="HWCOMMAND")
    hsub.required = True
    hsub.add_parser("list", help="the shipped devices")
    s = hsub.add_parser("show", help="one device in full")
    s.add_argument("name")
    s = hsub.add_parser("check", help="validate a spec file")
    s.add_argument("file")
    hsub.add_parser("schema", help="the spec schema")
    p.set_defaults(func=cmd_hw)
    register_more(sub)


def cmd_export(args):
    from ..measure.export import export_cmd
    batch = _positive("--batch")(args.batch) if args.batch is not None else None
    shape = _shape(args.input_shape) if args.input_shape is not None else None
    emit(export_cmd(args.net, args.out, batch=batch, opset=args.opset, input_shape=shape))


def cmd_cachesim(args):
    from .cachesim import cachesim_report
    emit(cachesim_report(net_from_args(args), args.layer, args.hw, args.processor, args.precision))


def register_more(sub):
    p = sub.add_parser("export", help="write a network as an ONNX model with random weights")
    add_net_args(p)
    p.add_argument("--out", required=True, help="the .onnx file to write (atomically)")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("cachesim", help="trace-driven cache simulation of one layer (hits and misses per level)")
    add_net_args(p)
    p.add_argument("layer", help="the layer's name (see `augur analyze NET`)")
    p.add_argument("--hw", required=True)
    p.add_argument("--processor", default=None)
    p.add_argument("--precision", choices=["fp32", "fp16", "int8"], default="fp32")
    p.set_defaults(func=cmd_cachesim)
