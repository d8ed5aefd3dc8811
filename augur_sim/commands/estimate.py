"""augur nets | analyze | estimate | hw | export: a network, a device, and the network on the device."""
from __future__ import annotations

from .. import hw
from ..conventions import DEFAULT
from ..counts import count_net
from ..estimator import estimate
from ..graph import PRECISIONS
from ..explore.plots import roofline_plot
from ..frontends import list_nets
from ..measure.export import export_cmd
from ..report import analyze_csv, analyze_dict, analyze_table, dumps, estimate_csv, estimate_table, table
from .args import _positive, _shape, add_hw_args, add_net_args, emit, net_from_args


def cmd_nets(args):
    rows = [(name, path.suffix[1:], path.name) for name, path in list_nets()]
    emit(table(["name", "format", "file"], rows, ["<", "<", "<"]))


def cmd_analyze(args):
    graph = net_from_args(args)
    nc = count_net(graph, DEFAULT.with_(fold_bn=args.fold_bn), args.precision)
    if args.format == "json":
        emit(dumps(analyze_dict(nc)), args.out)
    elif args.format == "csv":
        emit(analyze_csv(nc), args.out)
    else:
        emit(analyze_table(nc), args.out)


def cmd_estimate(args):
    graph = net_from_args(args)
    threads = _positive("--threads")(args.threads) if args.threads is not None else None
    est = estimate(graph, args.hw, processor=args.processor, precision=args.precision, threads=threads,
                   policy=args.policy, runtime=args.runtime, runtime_mib=args.runtime_mib,
                   cores=args.cores)
    if args.plot:
        roofline_plot(est, args.hw, args.plot)
    if args.format == "json":
        emit(dumps(est.to_dict()), args.out)
    elif args.format == "csv":
        emit(estimate_csv(est), args.out)
    else:
        emit(estimate_table(est), args.out)


def cmd_hw(args):
    if args.hw_command == "list":
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
    p.add_argument("--precision", "--dtype", dest="precision", choices=PRECISIONS, default="fp32",
                   help="element precision of the counted tensors (--dtype: the older name)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--fold-bn", action="store_true", help="count BatchNorm as folded into the conv (0 FLOPs)")
    p.add_argument("--out", default=None, help="write to this file (atomically) instead of stdout")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("estimate", help="time, memory and energy per layer on a device")
    add_net_args(p)
    add_hw_args(p)
    p.add_argument("--threads", default=None,
                   help="CPU threads (default: the cores of the --cores set); more than the set's "
                        "cores time-share them")
    p.add_argument("--cores", choices=["big", "little", "all"], default=None,
                   help="CPU core set, as ncnn's powersave 2/1/0 (default: big; big and little "
                        "split at the midpoint of the clusters' maximum clocks)")
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
    batch = _positive("--batch")(args.batch) if args.batch is not None else None
    shape = _shape(args.input_shape) if args.input_shape is not None else None
    emit(export_cmd(args.net, args.out, batch=batch, opset=args.opset, input_shape=shape))


def register_more(sub):
    p = sub.add_parser("export", help="write a network as an ONNX model with random weights")
    add_net_args(p)
    p.add_argument("--out", required=True, help="the .onnx file to write (atomically)")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=cmd_export)
