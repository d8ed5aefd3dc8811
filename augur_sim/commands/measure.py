"""augur calibrate | validate: measure this machine, and check predictions against it."""
from __future__ import annotations

import sys

from ..errors import AugurError
from ..fileio import check_writable
from ..measure.calibrate import calibrate
from ..measure.specwriter import check_out_path, summary_text, write_spec
from ..measure.validate import validate, validate_dict, validate_table
from ..report import dumps
from .args import _positive, emit


def cmd_calibrate(args):
    threads = _positive("--threads")(args.threads) if args.threads is not None else None
    check_out_path(args.out)
    mode = "quick" if args.quick else "full"
    cal = calibrate(threads=threads, mode=mode, progress=not args.no_progress)
    path = write_spec(cal, args.out)
    sys.stderr.write(summary_text(cal))
    emit(f"wrote {path}: {cal.threads} thread(s), {len(cal.benches)} benchmarks, fit log-loss {cal.fit.loss:.4f}")
    return 0


def cmd_validate(args):
    threads = _positive("--threads")(args.threads) if args.threads is not None else None
    runs = _positive("--runs")(args.runs)
    if args.out:
        check_writable(args.out)  # before the network runs, not after
    mem_samples = int(args.memory_samples) if str(args.memory_samples).isdigit() else -1
    if not 0 <= mem_samples <= 100:
        raise AugurError(f"--memory-samples: expected an integer 0..100, got {args.memory_samples!r}")
    res = validate(args.net, args.hw, threads=threads, runs=runs, processor=args.processor,
                   runtime=args.runtime, memory_samples=mem_samples)
    for w in res.warnings:  # loud: on stderr as well as in the report
        print(f"augur validate: WARNING: {w}", file=sys.stderr)
    if args.format == "json":
        emit(dumps(validate_dict(res)), args.out)
    else:
        emit(validate_table(res), args.out)
    return 0


def register(sub):
    p = sub.add_parser("calibrate", help="measure this machine under ONNX Runtime and write a hardware spec")
    p.add_argument("--out", default="hwspecs/host.yaml", help="spec to write (atomically); its stem is the name")
    p.add_argument("--threads", default=None, help="ORT intra-op threads = the spec's units (default: all cores)")
    p.add_argument("--quick", action="store_true", help="fewer shapes and rounds (under a minute)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("validate", help="run a network in ONNX Runtime here; measured vs predicted per layer")
    p.add_argument("net", help="a descriptor path (.prototxt, .yaml, .onnx) or a name from `augur nets`")
    p.add_argument("--hw", required=True, help="the spec of this machine (e.g. from `augur calibrate`)")
    p.add_argument("--processor", default=None, help="processor of the spec (default: its CPU)")
    p.add_argument("--runtime", default=None, help="runtime of the processor (default: its default)")
    p.add_argument("--threads", default=None, help="ORT intra-op threads (default: the spec's units)")
    p.add_argument("--runs", default="10", help="timed runs after warm-up (default 10)")
    p.add_argument("--memory-samples", default="3",
                   help="fresh processes whose peak RSS is measured (median); 0: skip (default 3)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--out", default=None, help="write the report to this file (atomically)")
    p.set_defaults(func=cmd_validate)


__all__ = ["register", "AugurError"]
