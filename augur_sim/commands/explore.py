"""augur whatif | sweep | plot: design-space exploration."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import AugurError
from ..explore import sweep as S
from ..explore import whatif as W
from ..explore.generate import parse_generate
from ..explore.sweep import read_table
from ..explore.sweep_plots import LABEL_MODES, METRICS, heatmap_plot, pareto_plot, parse_axis, whatif_plot
from ..frontends import load_net
from ..report import dumps, to_csv
from .args import Once, _positive, _shape, add_hw_args, add_net_args, anchor_arg, emit


def cmd_whatif(args):
    batch = _positive("--batch")(args.batch) if args.batch is not None else None
    sets = W.parse_set(args.set)
    axes = [W.parse_vary(v) for v in args.vary or ()]
    if not sets and not axes:
        raise AugurError("give at least one --set KEY=VALUE or --vary KEY=START:STOP:STEPS")
    if args.plot and not axes:
        raise AugurError("--plot draws a --vary grid; give --vary")
    if args.plot:
        if str(args.plot).rsplit(".", 1)[-1].lower() not in ("png", "pdf", "svg"):
            raise AugurError(f"plot file must end in .png, .pdf or .svg, got '{args.plot}'")
    shape = _shape(args.input_shape) if args.input_shape is not None else None
    graph = load_net(args.net, batch=batch, input_shape=shape, lenient=args.lenient)
    threads = _positive("--threads")(args.threads) if args.threads is not None else None
    kw = dict(processor=args.processor, precision=args.precision, runtime=args.runtime, threads=threads,
              cores=args.cores)
    if axes:
        g = W.grid(graph, args.hw, axes, sets, **kw)
        if args.plot:
            whatif_plot(g, args.plot)
        if args.format == "json":
            emit(dumps(W.grid_dict(g)), args.out)
        elif args.format == "csv":
            emit(W.grid_csv(g), args.out)
        else:
            emit(W.grid_table(g), args.out)
        return 0
    c = W.compare(graph, args.hw, sets, **kw)
    if args.format == "json":
        emit(dumps(W.comparison_dict(c)), args.out)
    elif args.format == "csv":
        d = W.comparison_dict(c)
        emit(to_csv(d["layers"], ["name", "base_ms", "new_ms", "base_bound", "new_bound"]), args.out)
    else:
        emit(W.comparison_table(c), args.out)
    return 0


def _joined(values, default: str = "") -> str:
    """A list option's values as one comma list ('a', 'b,c' -> 'a,b,c')."""
    return ",".join(values) if values else default


def cmd_sweep(args):
    # `--out -`: the table goes to stdout (CSV, or JSON with --format json) once the sweep is
    # complete; the summary and progress go to stderr. A file's format is its suffix.
    to_stdout = args.out == "-"
    out = None if to_stdout else Path(args.out)
    if to_stdout:
        fmt = args.format or "csv"
    else:
        fmt = S._fmt(out)  # check the suffix before any work
        if args.format is not None and args.format != fmt:
            raise AugurError(f"--format {args.format} contradicts --out {args.out} (a results file's format "
                             f"is its suffix; --format is for --out -)")
    # List options arrive as lists (repeated, space-separated, a shell-expanded glob); each
    # item may itself be a comma list: joined, they go through the one comma-list parser.
    batches = S.parse_batches(_joined(args.batch, "1"))
    precisions = S.parse_precisions(_joined(args.precision, "fp32"))
    processors = S.parse_list(_joined(args.processor), "--processor") if args.processor else None
    nets = S.expand_nets(S.parse_list(_joined(args.nets), "--nets")) if args.nets else []
    gens = [parse_generate(g) for g in args.generate] if args.generate else []
    if gens and not 0 <= args.seed < 2**63:  # numpy's seed sequence takes non-negative integers only
        raise AugurError(f"--seed must be a non-negative integer, got {args.seed}")
    if not args.hw:
        raise AugurError("--hw is required: device names, spec paths or globs")
    devices = S.expand_hw(S.parse_list(_joined(args.hw), "--hw"))
    jobs = _positive("--jobs")(args.jobs) if args.jobs is not None else None
    flush_rows = _positive("--flush-rows")(args.flush_rows)
    # --threads / --cores: one value, or several (every core set at every thread count, a row each).
    threads = S.parse_threads(_joined(args.threads)) if args.threads else None
    cores = S.parse_cores(_joined(args.cores)) if args.cores else None
    S.check_model_runtime(args.runtime, precisions, threads, cores)
    if args.runtime is not None:
        if processors:
            raise AugurError(f"--processor: --runtime {args.runtime} picks each device's "
                             f"{S.MODEL_RUNTIMES[args.runtime].upper()} itself")
        S.build_model_pack(devices, args.runtime, threads, cores)  # a device without one is refused now
    else:
        # A --processor no device has, or a --threads a device cannot take, is refused now, not after generating.
        S.build_pack(devices, processors, precisions, threads=threads, cores=cores)
    # Generating networks is the slow part of a large --generate: every other option is
    # checked first, so a typo is reported at once rather than after the generation.
    nets += S.generated_specs(gens, args.seed)
    progress = args.progress or sys.stderr.isatty()
    summ = S.run_sweep(nets, devices, batches, precisions, out, processors=processors,
                       scheduler=args.scheduler, jobs=jobs, progress=progress, flush_rows=flush_rows,
                       runtime=args.runtime, threads=threads, cores=cores,
                       anchors=[anchor_arg(a) for a in args.anchor or ()])
    for note in summ.notes:
        print(f"note: {note}", file=sys.stderr)
    if to_stdout:
        text = S.table_text(summ.table, fmt)
        sys.stdout.write(text)
        sys.stdout.flush()
        print(f"stdout: {summ.rows_in_file} rows ({fmt}) from {summ.items} items in {summ.elapsed_s:.1f} s "
              f"[{summ.backend}]", file=sys.stderr)
        return 0
    print(f"{out}: {summ.rows_in_file} rows ({summ.rows_written} new, {summ.rows_skipped} already there) "
          f"from {summ.items} items in {summ.elapsed_s:.1f} s [{summ.backend}]", file=sys.stderr)
    return 0


def cmd_plot(args):
    # Axis and label options are checked before the results file is read or anything drawn.
    parse_axis(args.pareto_x, "--pareto-x")
    parse_axis(args.pareto_y, "--pareto-y")
    table = read_table(args.results)
    if len(table) == 0:
        raise AugurError("no rows to plot", file=args.results)
    prefix = args.out_prefix or str(args.results).rsplit(".", 1)[0]
    ext = args.image_format
    try:
        a = heatmap_plot(table, f"{prefix}-heatmap.{ext}", batch=args.batch, precision=args.precision)
    except AugurError as e:
        raise e.located(file=args.results)  # e.g. no rows of the asked batch: name the results file
    b = pareto_plot(table, f"{prefix}-pareto.{ext}", batch=args.batch, precision=args.precision,
                    x=args.pareto_x, y=args.pareto_y, labels=args.pareto_labels)
    print(f"wrote {a} and {b}", file=sys.stderr)
    return 0


def register(sub):
    p = sub.add_parser("whatif", help="change hardware spec fields (--set) or sweep them (--vary)")
    add_net_args(p)
    add_hw_args(p, "device name or spec YAML (may `extends:` another)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="edit a spec field, e.g. gpu.dram_bw_gbs=51.2 (repeatable)")
    p.add_argument("--vary", action="append", metavar="KEY=START:STOP:STEPS[:log]|KEY=v1,v2,...",
                   help="vary a field over a range or list (repeat for a grid)")
    p.add_argument("--threads", default=None,
                   help="CPU threads (default: the cores of the --cores set), as in augur estimate")
    p.add_argument("--cores", choices=["big", "little", "all"], default=None,
                   help="CPU core set, as ncnn's powersave 2/1/0 (default: big), as in augur estimate")
    p.add_argument("--plot", default=None, help="with --vary: total time against the first key (PNG)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--out", default=None, help="write the report to this file (atomically)")
    p.set_defaults(func=cmd_whatif)

    p = sub.add_parser("sweep", help="networks x devices x batch x precision -> parquet/csv")
    p.add_argument("--nets", nargs="+", action="extend", default=None, metavar="NET",
                   help="zoo names, descriptor paths or globs: space- or comma-separated, repeatable")
    p.add_argument("--generate", action="append", metavar="FAMILY:COUNT",
                   help="add generated networks: resnet:N or mobilenet:N (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed for --generate (default 0)")
    p.add_argument("--hw", nargs="+", action="extend", default=None, metavar="HW",
                   help="device names, spec paths or globs: space- or comma-separated, repeatable")
    p.add_argument("--processor", nargs="+", action="extend", default=None, metavar="PROC",
                   help="processor names/kinds, or 'all' (default: each device's GPU, else its first "
                        "processor); space- or comma-separated, repeatable")
    p.add_argument("--batch", nargs="+", action="extend", default=None, metavar="N",
                   help="batch sizes (default 1): space- or comma-separated, repeatable")
    p.add_argument("--precision", nargs="+", action="extend", default=None, metavar="P",
                   help="precisions among fp32, fp16, bf16, int8 (default fp32): space- or comma-separated, "
                        "repeatable")
    p.add_argument("--runtime", choices=sorted(S.MODEL_RUNTIMES), default=None,
                   help="price every device with this runtime's own model, as `augur estimate --runtime` does "
                        "(ncnn: each device's CPU; ncnn-vulkan: its GPU), with each run's expected error "
                        "(expected_low_ms, expected_high_ms); default: each device's default runtime")
    p.add_argument("--threads", nargs="+", action="extend", default=None, metavar="N",
                   help="under ncnn (--runtime ncnn, or devices that default to it): CPU threads (default: the "
                        "cores of the --cores set); several (space- or comma-separated, repeatable): a row per "
                        "thread count")
    p.add_argument("--cores", nargs="+", action="extend", default=None, metavar="SET",
                   help="under ncnn (--runtime ncnn, or devices that default to it): the CPU core set among big, "
                        "little, all, ncnn's powersave 2/1/0 (default: big); several: a row per core set and "
                        "thread count")
    p.add_argument("--anchor", action="append", default=None, metavar="NET=MS",
                   help="as in `augur estimate`: a network timed on the sweep's one device (one --hw, --batch and "
                        "--precision) and its time in ms; every row's time is scaled by measured / predicted "
                        "(column anchor_scale)")
    p.add_argument("--out", required=True, help="results file, .parquet or .csv; re-runs resume it; "
                                                "'-': the table on stdout once complete (no resume)")
    p.add_argument("--format", choices=["csv", "json"], default=None,
                   help="with --out -: csv (default) or json (an array of row objects)")
    p.add_argument("--scheduler", default=None, help="dask.distributed scheduler, e.g. tcp://host:8786")
    p.add_argument("--jobs", default=None, help="local worker processes (default: all cores for "
                                                "big sweeps, in-process for small ones)")
    p.add_argument("--progress", action="store_true", help="progress bar even when stderr is not a tty")
    p.add_argument("--flush-rows", default="2000", help="write a chunk to OUT.parts/ every N rows "
                                                        "(and every 2 s): what a kill can lose at most")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("plot", help="heatmap and Pareto chart of a sweep's results")
    p.add_argument("results", help="a results file from `augur sweep` (.parquet or .csv)")
    p.add_argument("--out-prefix", default=None, help="PREFIX-heatmap.png, PREFIX-pareto.png "
                                                      "(default: the results path without suffix)")
    p.add_argument("--batch", type=int, default=None, help="batch to plot (default: the first)")
    p.add_argument("--precision", default=None, help="precision to plot (default: the first)")
    p.add_argument("--pareto-x", default="latency_ms", action=Once, metavar="QTY[:min|max]",
                   help=f"Pareto chart x axis, one of {', '.join(METRICS)} (default latency_ms); "
                        f":min/:max overrides which way is better")
    p.add_argument("--pareto-y", default="macs", action=Once, metavar="QTY[:min|max]",
                   help="Pareto chart y axis (default macs: most MACs for the latency)")
    p.add_argument("--pareto-labels", choices=LABEL_MODES, default="front", action=Once,
                   help="name the networks on each device's front (default), every point, or none")
    p.add_argument("--image-format", choices=["png", "svg", "pdf"], default="png", action=Once,
                   help="file type of both charts (default png)")
    p.set_defaults(func=cmd_plot)
