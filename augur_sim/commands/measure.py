"""augur calibrate | validate: measure this machine, and check predictions against it."""
from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from ..engine.ncnn_params import DEFAULT_FIT, REPO
from ..errors import AugurError
from ..fileio import check_writable
from ..measure.calibrate import calibrate
from ..measure.ncnn_accuracy import stats
from ..measure.ncnn_corpus import build_table, load_corpus, load_devices
from ..measure.ncnn_fit import HUBER_LOG, RIDGE_CLASS, RIDGE_DESIGN, RIDGE_FAMILY, fit, predict_fit
from ..measure.ncnn_params import write_fit
from ..measure.specwriter import check_out_path, summary_text, write_spec
from ..measure.trust import trust_text
from ..measure.gpuvalidate import GpuValidation, gpu_validate_dict, gpu_validate_table
from ..measure.validate import validate, validate_dict, validate_table
from ..report import dumps
from .args import _positive, emit


def cmd_calibrate(args):
    threads = _positive("--threads")(args.threads) if args.threads is not None else None
    check_out_path(args.out)
    mode = "quick" if args.quick else "full"
    cal = calibrate(threads=threads, mode=mode, progress=not args.no_progress)
    report = cal.extras["trust"]
    sys.stderr.write(summary_text(cal))
    sys.stderr.write(trust_text(report))
    if report.refuse and not args.force:
        raise AugurError(f"calibrate: {report.warnings[0]}; nothing written (--force writes it anyway)")
    path = write_spec(cal, args.out)
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
    batch = _positive("--batch")(args.batch) if args.batch is not None else None
    res = validate(args.net, args.hw, threads=threads, runs=runs, processor=args.processor,
                   runtime=args.runtime, memory_samples=mem_samples, batch=batch, precision=args.precision)
    for w in res.warnings:  # loud: on stderr as well as in the report
        print(f"augur validate: WARNING: {w}", file=sys.stderr)
    gpu = isinstance(res, GpuValidation)
    if args.format == "json":
        emit(dumps(gpu_validate_dict(res) if gpu else validate_dict(res)), args.out)
    else:
        emit(gpu_validate_table(res) if gpu else validate_table(res), args.out)
    return 0


def cmd_fit_corpus(args):
    """Fit the ncnn runtime's portable parameters to the benchncnn corpus' training rows."""
    if args.runtime != "ncnn":
        raise AugurError(f"fit-corpus: unknown runtime {args.runtime!r}; expected ncnn")
    out = Path(args.out) if args.out else DEFAULT_FIT
    check_writable(out)
    corpus = Path(args.corpus) if args.corpus else Path(os.environ.get("AUGUR_SHARED", REPO.parent / "shared")) \
        / "corpora" / "ncnn"
    rows = load_corpus(corpus / "benchncnn_train.csv")
    table = build_table(rows, load_devices(REPO / "measurements" / "ncnn" / "devices.csv"), corpus / "models")
    if not table.rows:
        raise AugurError("no corpus row can be predicted (no device spec in measurements/ncnn/devices.csv?)",
                         file=str(corpus / "benchncnn_train.csv"))
    res = fit(table.data, lam=args.lam)
    s = stats(predict_fit(table.data, res), table.data.y_ms)
    prov = {"corpus": "corpora/ncnn/benchncnn_train.csv (benchncnn README results, training sections only)",
            "rows": len(table.rows), "rows_in_corpus": len(rows),
            "rows_flagged_anomalous_unweighted": len(table.anomalies),
            "devices": sorted({r.device for r in table.rows}),
            "date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", "ridge_lambda": args.lam,
            "ridge_family": RIDGE_FAMILY, "ridge_design": RIDGE_DESIGN, "huber_log": HUBER_LOG,
            "iterations": res.iterations, "fit_seconds": round(res.seconds, 1)}
    resid = {"rms_log_error": round(res.rms_log, 4), "median_abs_error_pct": round(s["median_abs_pct"], 1),
             "within_25": round(s["within_25"], 3), "within_35": round(s["within_35"], 3),
             "within_50": round(s["within_50"], 3)}
    write_fit(out, res, prov, resid)
    emit(f"wrote {out}: {len(res.classes)} ISA classes, {len(res.fams)} pipeline families and "
         f"{len(res.cores)} core designs x {res.g.size} parameters from {len(table.rows)} rows "
         f"({len(table.anomalies)} flagged anomalous, not weighted) "
         f"in {res.seconds:.1f} s; in-sample median |error| {s['median_abs_pct']:.1f}%")
    return 0


def register(sub):
    p = sub.add_parser("calibrate", help="measure this machine under ONNX Runtime and write a hardware spec")
    p.add_argument("--out", default="hwspecs/host.yaml", help="spec to write (atomically); its stem is the name")
    p.add_argument("--threads", default=None, help="ORT intra-op threads = the spec's units (default: all cores)")
    p.add_argument("--quick", action="store_true", help="fewer shapes and rounds (under a minute)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--force", action="store_true",
                   help="write the spec even when the fit is too poor to trust (it still warns)")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("validate", help="run a network here (ONNX Runtime on the CPU, or PyTorch on a CUDA GPU "
                                        "with --processor gpu); measured vs predicted")
    p.add_argument("net", help="a descriptor path (.prototxt, .yaml, .onnx) or a name from `augur nets`")
    p.add_argument("--hw", required=True, help="the spec of this machine (e.g. from `augur calibrate`)")
    p.add_argument("--processor", default=None,
                   help="processor of the spec (default: its CPU); a GPU processor runs PyTorch on this "
                        "machine's CUDA GPU and compares time and torch.cuda memory")
    p.add_argument("--batch", default=None, help="batch size (default: the descriptor's)")
    p.add_argument("--precision", choices=["fp32", "fp16"], default="fp32",
                   help="GPU only: tensors' precision (the CPU runs the fp32 ONNX export)")
    p.add_argument("--runtime", default=None, help="runtime of the processor (default: its default)")
    p.add_argument("--threads", default=None, help="ORT intra-op threads (default: the spec's units)")
    p.add_argument("--runs", default="10", help="timed runs after warm-up (default 10)")
    p.add_argument("--memory-samples", default="3",
                   help="fresh processes whose peak RSS is measured (median); 0: skip (default 3)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--out", default=None, help="write the report to this file (atomically)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("fit-corpus", help="fit a runtime's portable parameters to a measurement corpus "
                                          "(ncnn: the benchncnn results)")
    p.add_argument("runtime", help="ncnn")
    p.add_argument("--corpus", default=None, help="corpus folder (default: ../shared/corpora/ncnn or "
                                                  "$AUGUR_SHARED/corpora/ncnn)")
    p.add_argument("--out", default=None, help="fit file to write (default: measurements/ncnn/fit.yaml)")
    p.add_argument("--lam", type=float, default=RIDGE_CLASS, help="ridge weight pulling ISA classes to shared values")
    p.set_defaults(func=cmd_fit_corpus)


__all__ = ["register", "AugurError"]
