"""augur export: a network as an ONNX model with random weights (measure/export.py), in its
own module so that the other commands do not import the ONNX writer."""
from __future__ import annotations

from ..frontends import load_net
from ..measure.export import export_cmd
from .args import _positive, _shape, add_net_args, emit


def cmd_export(args):
    batch = _positive("--batch")(args.batch) if args.batch is not None else None
    shape = _shape(args.input_shape) if args.input_shape is not None else None
    graph = load_net(args.net, batch=batch, input_shape=shape, lenient=args.lenient)
    emit(export_cmd(graph, args.out, opset=args.opset))


def register(sub):
    p = sub.add_parser("export", help="write a network as an ONNX model with random weights")
    add_net_args(p)
    p.add_argument("--out", required=True, help="the .onnx file to write (atomically)")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=cmd_export)
