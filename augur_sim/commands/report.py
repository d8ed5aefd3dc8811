"""augur report: an estimate as one self-contained HTML page (report_html.py)."""
from __future__ import annotations

import sys

from .. import __version__
from ..errors import AugurError
from ..estimator import estimate
from ..fileio import atomic_write_text, check_writable
from ..graph import PRECISIONS
from ..hw import load_hw
from ..report import ibytes
from ..explore.sweep import placement_times
from ..report_html import MAX_DEVICES, render
from .args import RUNTIME_HELP, _positive, add_net_args, anchor_arg, batch_arg, net_from_args


def distinct_devices(devices: list) -> tuple[list, list]:
    """(devices each once, in first-given order; the ones left out as repeats). Two loads of one spec
    are equal (hw.model.Device compares its fields): a spec named twice, or by name and by path,
    is one target, priced alike under one set of options, as `augur sweep` takes it."""
    kept: list = []
    repeats: list = []
    for d in devices:
        (repeats if d in kept else kept).append(d)
    return kept, repeats


def cmd_report(args):
    given = [h for v in args.hw for h in v.split(",") if h]  # --hw a b, --hw a --hw b, or --hw a,b
    if not given:
        raise AugurError("--hw needs a device name or spec path (`augur hw list`)")
    args.hw = list(dict.fromkeys(given))  # a repeat is one device: not counted against the limit
    if len(args.hw) > MAX_DEVICES:
        raise AugurError(f"--hw given {len(args.hw)} devices; a report compares at most {MAX_DEVICES}")
    if args.anchor and len(args.hw) > 1:
        raise AugurError("--anchor is a time measured on one device: give one --hw with it")
    anchors = [anchor_arg(a) for a in args.anchor or ()]
    check_writable(args.out)  # before the slow part
    threads = _positive("--threads")(args.threads) if args.threads is not None else None
    graph = net_from_args(args)
    loaded = {h: load_hw(h) for h in args.hw}
    devices, repeats = distinct_devices([loaded[h] for h in given])
    if repeats:
        # Two identical cards would read as two devices agreeing: one card, and a note (stderr, as
        # `augur sweep` gives its notes) saying the repeat was dropped rather than lost.
        names = ", ".join(dict.fromkeys(d.name for d in repeats))
        print(f"note: --hw {names} given more than once: one card per device", file=sys.stderr)
    ests = [estimate(graph, dev, processor=args.processor, precision=args.precision, threads=threads,
                     policy=args.policy, runtime=args.runtime, runtime_mib=args.runtime_mib,
                     cores=args.cores, anchors=anchors, batch=batch_arg(args))
            for dev in devices]
    # Under ncnn: the same network at each placement of the device's CPU worth trying (not for an
    # anchored estimate: its anchor was timed at the one placement asked).
    placements = [None if anchors else placement_times(graph, dev, e, args.cores, threads, args.precision,
                                                       batch_arg(args))
                  for dev, e in zip(devices, ests)]
    command = "augur " + " ".join(sys.argv[1:]) if args.record_command else ""
    text = render(ests, devices, command=command, version=__version__, placements=placements)
    atomic_write_text(args.out, text)
    print(f"wrote {args.out} ({ibytes(len(text.encode()))}): {ests[0].net} on "
          f"{', '.join(e.hw for e in ests)}")


def register(sub):
    p = sub.add_parser("report", help="an estimate as one self-contained HTML page (one or more devices)")
    add_net_args(p)
    p.add_argument("--hw", nargs="+", action="extend", required=True, metavar="HW",
                   help="a name from `augur hw list` or a spec YAML path; several (space- or comma-separated, "
                        "or --hw repeated, as `augur sweep` takes them) compare devices side by side")
    p.add_argument("--processor", default=None, help="cpu, gpu or a processor name (on every device)")
    p.add_argument("--runtime", default=None, help=RUNTIME_HELP)
    p.add_argument("--precision", choices=PRECISIONS, default="fp32")
    p.add_argument("--threads", default=None, help="CPU threads (default: the cores of the --cores set)")
    p.add_argument("--cores", choices=["big", "little", "all"], default=None,
                   help="CPU core set, as in `augur estimate` (default: big)")
    p.add_argument("--policy", choices=["caffe", "reuse"], default="reuse",
                   help="memory policy for the headline figure (both are shown)")
    p.add_argument("--runtime-mib", type=float, default=None,
                   help="fixed runtime memory in MiB (default: estimate per processor kind)")
    p.add_argument("--anchor", action="append", default=None, metavar="NET=MS",
                   help="as in `augur estimate`: a network measured on the device (one --hw) and its time in ms")
    p.add_argument("--out", required=True, help="the .html file to write (atomically)")
    p.add_argument("--no-command", dest="record_command", action="store_false",
                   help="do not print the command line in the report")
    p.set_defaults(func=cmd_report)
