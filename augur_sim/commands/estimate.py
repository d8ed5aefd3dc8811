"""augur nets | analyze | estimate | hw: a network, a device, and the network on the device."""
from __future__ import annotations

import fnmatch

from .. import hw
from ..conventions import DEFAULT
from ..counts import count_net
from ..engine.hwrow import pick_processor
from ..engine.ncnn_params import load_fit
from ..engine.ncnn_vulkan import load_vk_fit
from ..estimator import estimate, fitted_models
from ..explore.sweep import placement_line, placement_times
from ..graph import PRECISIONS
from ..plots import roofline_plot
from ..frontends import list_nets
from .. import views
from ..errors import AugurError, name_hint
from ..report import analyze_csv, analyze_dict, analyze_table, dumps, estimate_csv, estimate_table, table, to_csv
from .args import _positive, add_hw_args, add_net_args, anchor_arg, batch_arg, emit, net_from_args


def cmd_nets(args):
    rows = [(name, path.suffix[1:], path.name) for name, path in list_nets()]
    emit(table(["name", "format", "file"], rows, ["<", "<", "<"]))


def _views_args(args, rows: str):
    """--top and --group-by, checked; one of them at most (--top ranks single `rows`, --group-by
    totals them per group: both at once has no one meaning)."""
    top = _positive("--top")(args.top) if args.top is not None else None
    top, group_by = views.check_top(top), views.check_group_by(args.group_by)
    if top and group_by:
        raise AugurError(f"--top and --group-by conflict: --top N lists the N heaviest {rows}, --group-by "
                         f"totals per {group_by}; give one")
    return top, group_by


def cmd_analyze(args):
    top, group_by = _views_args(args, "layers")
    if (top or group_by) and args.format != "table":
        raise AugurError("--top and --group-by shape the table; --format json/csv carry every layer")
    graph = net_from_args(args)
    nc = count_net(graph, DEFAULT.with_(fold_bn=args.fold_bn), args.precision)
    if top or group_by:
        emit(views.analyze_text(nc, top, group_by), args.out)
    elif args.format == "json":
        emit(dumps(analyze_dict(nc)), args.out)
    elif args.format == "csv":
        emit(analyze_csv(nc), args.out)
    else:
        emit(analyze_table(nc), args.out)


def cmd_estimate(args):
    top, group_by = _views_args(args, "kernels")
    view = args.view or "kernels"
    if view == "layers" and (top or group_by):
        raise AugurError("--top and --group-by rank and group executed kernels; drop --view layers")
    if args.format == "summary" and (args.view is not None or top or group_by):
        given = "--view" if args.view is not None else "--top" if top else "--group-by"
        raise AugurError(f"{given} conflicts with --format summary: {given} shapes the table, CSV and JSON; "
                         f"the summary lists every kernel in network order")
    graph = net_from_args(args)
    threads = _positive("--threads")(args.threads) if args.threads is not None else None
    anchors = [anchor_arg(a) for a in args.anchor or ()]
    device = hw.load_hw(args.hw)
    est = estimate(graph, device, processor=args.processor, precision=args.precision, threads=threads,
                   policy=args.policy, runtime=args.runtime, runtime_mib=args.runtime_mib,
                   cores=args.cores, anchors=anchors, batch=batch_arg(args))
    if args.plot:
        roofline_plot(est, device, args.plot)
    if args.format == "json":
        d = est.to_dict()
        if group_by:
            d["groups"] = views.group_records(est, group_by)
        if args.view == "kernels" or top:
            # The executed kernels as the table lists them (fused layers folded into their
            # host), beside the per-layer list every JSON carries; --top N: the N slowest.
            d["kernels"] = views.kernel_records(est, top)
        emit(dumps(d), args.out)
    elif args.format == "csv":
        if group_by:
            recs = views.group_records(est, group_by)
            emit(to_csv(recs, list(recs[0]) if recs else [group_by]), args.out)
        elif args.view == "kernels" or top:
            # --top N ranks kernels, as in the table: the N slowest kernel rows, slowest first.
            recs = views.kernel_records(est, top)
            emit(to_csv(recs, list(recs[0]) if recs else ["kernel"]), args.out)
        else:
            emit(estimate_csv(est), args.out)   # one row per layer (the CSV's historical layout)
    elif args.format == "summary":
        emit(views.summary(est), args.out)
    else:
        # Under ncnn (spec only: an anchor was timed at the one placement asked): the same network
        # at the other placements of the CPU worth trying, in one line.
        line = None
        if est.runtime == "ncnn" and not anchors:
            line = placement_line(placement_times(graph, device, est, args.cores, threads,
                                                  args.precision, batch_arg(args)))
        extra = (line,) if line else ()
        text = estimate_table(est, extra=extra) if view == "layers" else views.estimate_text(est, top, group_by, extra)
        emit(text, args.out)


def _runs(proc, runtime: str) -> bool:
    """Whether `augur estimate --runtime RUNTIME` can price this processor: a runtime of its spec
    or a built-in model it qualifies for (ncnn on a CPU, ncnn-vulkan on a GPU with Vulkan figures)."""
    return runtime in proc.runtimes or runtime in proc.model_runtimes()


def hw_list_rows(patterns=(), kind=None, runtime=None) -> list[dict]:
    """The shipped specs `augur hw list` shows, filtered: names matching any of `patterns`
    (device names or fnmatch globs, as `augur sweep --hw` takes them), with a processor of
    `kind`, with a processor `runtime` can price. A pattern matching no name, and a runtime no
    spec has, are one-line errors (a typo, not an empty answer)."""
    names = [n for n, _ in hw.list_hw()]
    pats = [p.strip() for v in patterns for p in v.split(",") if p.strip()]
    if pats:
        keep = set()
        for pat in pats:
            hit = [n for n in names if fnmatch.fnmatchcase(n, pat)]
            if not hit:
                raise AugurError(f"hw list: '{pat}' matches no shipped device name (names and globs, "
                                 "as `augur sweep --hw` takes them)")
            keep.update(hit)
        names = [n for n in names if n in keep]
    devices = [hw.load_hw(n) for n in names]
    if runtime is not None:
        known = sorted({r for d in devices for p in d.processors.values()
                        for r in (*p.runtimes, *p.model_runtimes())})
        if runtime not in known:
            raise AugurError(f"hw list --runtime: no listed device runs {runtime!r}"
                             f"{name_hint(runtime, known, '', known='runtimes', max_listed=len(known))}")
    fits = (load_fit(), load_vk_fit())
    rows = []
    for dev in devices:
        procs = [p for p in dev.processors.values()
                 if (kind is None or p.kind == kind) and (runtime is None or _runs(p, runtime))]
        if not procs:
            continue
        # What `augur estimate NET --hw NAME` runs: the default processor's default runtime.
        proc = pick_processor(dev, None)
        rows.append({"name": dev.name, "default_runtime": proc.default_runtime, "processor": proc.name,
                     "processors": [f"{p.name} ({p.kind})" for p in dev.processors.values()],
                     "fitted_models": fitted_models(dev, *fits), "description": dev.description})
    return rows


def cmd_hw(args):
    if args.hw_command == "list":
        rows = hw_list_rows(args.patterns, args.kind, args.runtime)
        if args.format == "json":
            emit(dumps({"devices": rows}))
        elif args.format == "csv":
            emit(to_csv(rows, list(rows[0]) if rows else ["name"]))
        elif not rows:
            emit("no shipped device matches\n")
        else:
            emit(table(["name", "default runtime (processor)", "fitted models (class; a CPU: its big cores)",
                        "description"],
                       [(r["name"], f"{r['default_runtime']} ({r['processor']})", r["fitted_models"],
                         r["description"]) for r in rows], ["<", "<", "<", "<"]))
    elif args.hw_command == "show":
        dev = hw.load_hw(args.name)
        # The corpus-fitted models are built in, not runtimes of the spec: say which price it.
        fitted = f"  fitted models (class; a CPU: its big cores): {fitted_models(dev)}"
        emit(hw.format_hw(dev).rstrip("\n") + "\n" + fitted + "\n")
    elif args.hw_command == "check":
        dev = hw.check_hw(args.file)
        emit(f"{args.file}: ok: {dev.name}, processors {', '.join(dev.processors)}")
    elif args.hw_command == "schema":
        emit(hw.schema_doc())


def _add_view_args(p, top_help, group_help):
    p.add_argument("--top", default=None, metavar="N", help=f"{top_help} (not with --group-by)")
    p.add_argument("--group-by", choices=views.GROUP_BYS, default=None,
                   help=f"{group_help}: totals per op type or per stage (the layer name's first part: "
                        "stage4.0.expand -> stage4)")


def register(sub):
    p = sub.add_parser("nets", help="list the networks shipped in nets/")
    p.set_defaults(func=cmd_nets)

    p = sub.add_parser("analyze", help="per-layer counts: MACs, FLOPs, params, activations")
    add_net_args(p)
    p.add_argument("--precision", "--dtype", dest="precision", choices=PRECISIONS, default="fp32",
                   help="element precision of the counted tensors (--dtype: the older name)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--fold-bn", action="store_true", help="count BatchNorm as folded into the conv (0 FLOPs)")
    _add_view_args(p, "table: the N layers with most MACs, with %% columns", "table")
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
    p.add_argument("--format", choices=["table", "json", "csv", "summary"], default="table",
                   help="summary: torchinfo-like, kernels with their share of params, MACs and time")
    _add_view_args(p, "the N slowest kernels (fused layers folded into their host): the table's rows, with "
                      "%% columns; CSV: their rows; JSON: a 'kernels' list of them",
                   "table, JSON and CSV")
    p.add_argument("--view", choices=["kernels", "layers"], default=None,
                   help="table: one row per executed kernel, its fused BN/activations named in its type "
                        "(conv+bn+relu) (default), or one row per layer as the descriptor lists them; "
                        "CSV: --view kernels (or --top N) gives kernel rows (default: layer rows); JSON: "
                        "--view kernels (or --top N) adds a 'kernels' list (with --top N, the N slowest) to "
                        "the per-layer one")
    p.add_argument("--anchor", action="append", default=None, metavar="NET=MS",
                   help="a network measured on this device, run the same way (runtime, precision, cores, threads, "
                        "--batch), and its time in ms: every time is scaled by measured / predicted of it (repeat "
                        "for several: the median ratio), and the expected error is the held-out band of estimates "
                        "anchored so")
    p.add_argument("--plot", default=None, help="write a roofline chart (PNG) here")
    p.add_argument("--out", default=None, help="write the report to this file (atomically)")
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("hw", help="hardware specs: list, show, check, schema")
    hsub = p.add_subparsers(dest="hw_command", metavar="HWCOMMAND")
    hsub.required = True
    s = hsub.add_parser("list", help="the shipped devices (filter by name, processor kind, runtime)")
    s.add_argument("patterns", nargs="*", metavar="NAME",
                   help="device names or globs ('nvidia_*'), space- or comma-separated (default: all)")
    s.add_argument("--kind", choices=["cpu", "gpu"], default=None,
                   help="only devices with a processor of this kind")
    s.add_argument("--runtime", default=None,
                   help="only devices with a processor this runtime can price (a spec runtime such as "
                        "pytorch-cudagraph or tensorrt, or a built-in model: ncnn, ncnn-vulkan)")
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s = hsub.add_parser("show", help="one device in full")
    s.add_argument("name")
    s = hsub.add_parser("check", help="validate a spec file")
    s.add_argument("file")
    hsub.add_parser("schema", help="the spec schema")
    p.set_defaults(func=cmd_hw)

