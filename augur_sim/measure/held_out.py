"""Writing a fit's held-out error (engine/held_out.py reads it): leave-one-device-out
predictions summarised per group of runs, so an estimate can say how far off runs like its own
were on devices the fit never saw.

Groups: for each level (a tuple of fields, most specific first), every combination of values
that has at least MIN_ROWS runs from MIN_DEVICES devices; the empty level (every run) always.
A group thinner than that would report a range from one or two devices' biases. A group may
hold the same runs as a more specific one (every Adreno is integrated): both are kept, since a
run that matches the less specific one only (another thread band) must still find it.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from ..engine.held_out import (BAND_SHARE, HeldOutError, companion_path, file_sha256, parse_group,
                                parse_held_out, stretched_band)
from ..fileio import atomic_write_text
from .ncnn_accuracy import stats

MIN_ROWS = 60
MIN_DEVICES = 4


def group_stats(pred, meas) -> dict:
    """The accuracy figures (ncnn_accuracy.stats) and the quantiles of predicted / measured over
    some held-out runs."""
    s = stats(pred, meas)
    p10, p50, p90 = np.percentile(np.asarray(pred, dtype=float) / np.asarray(meas, dtype=float), [10, 50, 90])
    return {"median_abs_pct": round(s["median_abs_pct"], 1), "within_35": round(s["within_35"], 3),
            "ratio_p10": round(float(p10), 3), "ratio_p50": round(float(p50), 3), "ratio_p90": round(float(p90), 3)}


def relative_stats(rel, meas) -> dict:
    """The same figures for predictions with each configuration's own scale divided out
    (ncnn_accuracy.scale_removed): how far one network's time is off relative to the others
    measured with it, which is what a comparison of two networks on one device rests on."""
    s = group_stats(rel, meas)
    return {f"rel_{k}": s[k] for k in ("median_abs_pct", "ratio_p10", "ratio_p90")}


def anchored_pairs(configs: list, ok) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (a, b), a != b, of usable runs (ok) of one configuration (configs[i]:
    run i's device, core set, threads...): run a measured on the device anchors run b."""
    idx = defaultdict(list)
    for i in np.nonzero(ok)[0]:
        idx[configs[i]].append(i)
    a_list, b_list = [], []
    for members in idx.values():
        m = np.asarray(members)
        a, b = np.meshgrid(m, m, indexing="ij")
        off = a != b
        a_list.append(a[off])
        b_list.append(b[off])
    if not a_list:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(a_list), np.concatenate(b_list)


def anchored_stats(pred, meas) -> dict:
    """The figures of anchored predictions (anc_*): `pred` the second run's prediction times the
    first run's measured / predicted, `meas` the second run's measured time, one per pair."""
    s = group_stats(pred, meas)
    return {"anc_pairs": int(len(pred)), "anc_median_abs_pct": s["median_abs_pct"],
            "anc_within_35": s["within_35"], "anc_ratio_p10": s["ratio_p10"], "anc_ratio_p90": s["ratio_p90"]}


def summarise(keys: list, devices: list, pred, meas, levels, min_rows: int = MIN_ROWS,
              min_devices: int = MIN_DEVICES, rel=None, configs=None) -> list[dict]:
    """keys[i]: field -> value of run i; devices[i]: its device; levels: tuples of fields, the
    most specific first. Runs without a finite positive prediction are left out. rel: the same
    predictions with each configuration's scale divided out (ncnn_accuracy.scale_removed), whose
    figures each group then also carries (relative_stats). configs[i]: run i's configuration;
    given, each group also carries the figures of its runs anchored on every other run of their
    configuration (anchored_pairs, anchored_stats); a group whose runs have no such pair (each
    alone in its configuration) is an error, as the file holds those figures for all or none."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    ok = np.isfinite(pred) & (pred > 0) & np.isfinite(meas) & (meas > 0)
    if rel is not None:
        rel = np.asarray(rel, dtype=float)
        ok &= np.isfinite(rel) & (rel > 0)
    if configs is not None:
        pa, pb = anchored_pairs(configs, ok)
        anc_pred = pred[pb] * meas[pa] / pred[pa]
        in_group = np.zeros(len(pred), dtype=bool)
    out = []
    for level in list(levels) + [()]:
        idx = defaultdict(list)
        for i in np.nonzero(ok)[0]:
            idx[tuple(str(keys[i][f]) for f in level)].append(i)
        for vals, ix in sorted(idx.items()):
            ndev = len({devices[i] for i in ix})
            if level and (len(ix) < min_rows or ndev < min_devices):
                continue
            anc = {}
            if configs is not None:
                in_group[:] = False
                in_group[ix] = True
                sel = in_group[pb]
                if not sel.any():
                    raise ValueError(f"group {dict(zip(level, vals))}: no run has another of its configuration "
                                     "to anchor it")
                anc = anchored_stats(anc_pred[sel], meas[pb[sel]])
            out.append({**dict(zip(level, vals)), "rows": len(ix), "devices": ndev,
                        **group_stats(pred[ix], meas[ix]),
                        **(relative_stats(rel[ix], meas[ix]) if rel is not None else {}), **anc})
        if not level:
            break
    return out


def write_held_out(fit_path, runtime: str, protocol: str, corpus: str, fields, groups: list[dict],
                   header: str = "generated; do not edit by hand", relative_to: str = "",
                   band_stretch: float = 1.0, rel_band_stretch: float = 1.0,
                   device_order: list | None = None, placement_choice: list | None = None) -> Path:
    """Write `<fit stem>.held_out.yaml` beside the fit file (atomically), tied to its sha256.
    relative_to: what one configuration is, whose scale the groups' rel_* figures divide out;
    band_stretch, rel_band_stretch: how much estimates widen the spec-only and the relative
    band (fit_band_stretch; 1: not); device_order: device pairs by predicted gap
    (measure/ncnn_accuracy.order_by_predicted_gap); placement_choice: which placement of a device
    runs a network fastest (measure/ncnn_accuracy.placement_choice)."""
    fit_path = Path(fit_path)
    doc = {"runtime": runtime, "fit_sha256": file_sha256(fit_path), "protocol": protocol, "corpus": corpus,
           "generated": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", "fields": list(fields),
           **({"relative_to": relative_to} if relative_to else {}),
           **({"band_stretch": float(band_stretch)} if band_stretch != 1.0 else {}),
           **({"rel_band_stretch": float(rel_band_stretch)} if rel_band_stretch != 1.0 else {}),
           **({"device_order": device_order} if device_order else {}),
           **({"placement_choice": placement_choice} if placement_choice else {}), "groups": groups}
    out = companion_path(fit_path)
    parse_held_out(doc, str(out))       # what is written must read back
    atomic_write_text(out, f"# {header}\n" + yaml.safe_dump(doc, sort_keys=False, width=120))
    return out


def loo_band_quantiles(keys: list, devices: list, pred, meas, levels, fields, rel=None, configs=None) -> np.ndarray:
    """For each run, the (p10, p50, p90) of predicted / measured of the group an estimate would
    have looked it up in, with the groups summarised from the other devices' runs only ([n, 3];
    NaN where no group matched). With rel (the predictions with each configuration's scale
    divided out), the relative band's (rel_ratio_p10, NaN, rel_ratio_p90) instead; with configs
    (each run's configuration), the anchored band's (anc_ratio_p10, NaN, anc_ratio_p90), for the
    run as the one an anchor predicts."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    rel = None if rel is None else np.asarray(rel, dtype=float)
    devs = np.asarray(devices, dtype=object)
    q = np.full((len(pred), 3), np.nan)
    for dev in sorted(set(devs.tolist())):
        mine = np.nonzero(devs == dev)[0]
        rest = np.nonzero(devs != dev)[0]
        groups = summarise([keys[i] for i in rest], devs[rest].tolist(), pred[rest], meas[rest], levels,
                           rel=None if rel is None else rel[rest],
                           configs=None if configs is None else [configs[i] for i in rest])
        rec = HeldOutError("", "", "", "", "", "", tuple(fields),
                           tuple(parse_group(g, tuple(fields), "", "") for g in groups))
        for i in mine:
            g = rec.lookup(keys[i])
            if g is None:
                continue
            if configs is not None:
                q[i] = (g.anc_ratio_p10, np.nan, g.anc_ratio_p90)
            elif rel is None:
                q[i] = (g.ratio_p10, g.ratio_p50, g.ratio_p90)
            elif g.rel_ratio_p10 is not None:
                q[i] = (g.rel_ratio_p10, np.nan, g.rel_ratio_p90)
    return q


def stretched(q: np.ndarray, stretch: float) -> tuple[np.ndarray, np.ndarray]:
    """The band's (low, high) ratios widened `stretch` times in log around the median:
    p50 (p10 / p50)^s, p50 (p90 / p50)^s (engine/held_out.stretched_band, per run; s = 1: the
    band as it is). A band without a p50 (the relative and anchored ones) widens around its
    geometric centre, as engine/held_out.stretched_relative does."""
    q = np.asarray(q, dtype=float)
    if stretch == 1.0:
        return q[..., 0], q[..., 2]
    with np.errstate(invalid="ignore"):
        mid = np.where(np.isfinite(q[..., 1]), q[..., 1], np.sqrt(q[..., 0] * q[..., 2]))
    return stretched_band(q[..., 0], mid, q[..., 2], stretch)


def band_inside(pred, meas, q: np.ndarray, stretch: float = 1.0) -> np.ndarray:
    """Whether each measured time lies in predicted / high .. predicted / low of its band
    (q: [n, 3] from loo_band_quantiles); False where the run has no band or no prediction."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    lo, hi = stretched(q, stretch)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(pred) & np.isfinite(lo) & np.isfinite(hi)
        return ok & (pred / np.where(ok, hi, 1.0) <= meas) & (meas <= pred / np.where(ok, lo, 1.0))


def band_coverage(keys: list, devices: list, pred, meas, levels, fields, rel=None) -> np.ndarray:
    """Whether each run's measured time fell inside the band an estimate would have reported
    for it, with the groups summarised from the other devices' runs only: the band's own
    leave-one-device-out check (bool per run; False where no group matched). With rel (the
    predictions with each configuration's scale divided out), the relative band's check
    instead: rel / measured within the group's rel_ratio_p10 to rel_ratio_p90."""
    q = loo_band_quantiles(keys, devices, pred, meas, levels, fields, rel=rel)
    return band_inside(pred if rel is None else rel, meas, q)


# The stretches fit_band_stretch tries: 1 (the 10th-90th percentile band as it is) to 3.
STRETCHES = np.round(np.arange(1.0, 3.0001, 0.01), 2)


def fit_band_stretch(devices: list, pred, meas, q: np.ndarray, target: float = BAND_SHARE) -> tuple:
    """The smallest stretch of a band (stretched) under which `target` of the runs fall inside
    the band their device would have been given (q: loo_band_quantiles): the held-out groups'
    10th-90th percentile range holds fewer than 80% of a new device's runs, since the device's
    own scale is not in its group (the spec-only band; for the relative band, pred = the
    predictions with each configuration's scale divided out, q its rel_* quantiles, what a
    device's runs share beyond that scale). Returns (stretch, nested), nested the
    check of that choice: each device's runs judged at the stretch fitted on the other devices'
    runs alone (bool per run)."""
    devs = np.asarray(devices, dtype=object)
    cover = np.stack([band_inside(pred, meas, q, s) for s in STRETCHES])    # [stretches, runs]

    def smallest(mask):
        share = cover[:, mask].mean(axis=1)
        hit = np.nonzero(share >= target)[0]
        return float(STRETCHES[hit[0]] if len(hit) else STRETCHES[-1])

    stretch = smallest(np.ones(len(devs), dtype=bool))
    nested = np.zeros(len(devs), dtype=bool)
    for dev in sorted(set(devs.tolist())):
        mine = devs == dev
        s_dev = smallest(~mine)
        nested[mine] = cover[int(np.searchsorted(STRETCHES, s_dev)), mine]
    return stretch, nested


def anchored_band_coverage(keys: list, devices: list, pred, meas, levels, fields, configs: list) -> np.ndarray:
    """The anchored band's own leave-one-device-out check: for every anchored pair of runs of a
    device (anchored_pairs), whether the second run's measured time fell inside the band an
    anchored estimate would have been given by groups summarised from the other devices' runs
    (bool per pair, in anchored_pairs' order over the usable runs; False where no group matched)."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    ok = np.isfinite(pred) & (pred > 0) & np.isfinite(meas) & (meas > 0)
    pa, pb = anchored_pairs(configs, ok)
    q = loo_band_quantiles(keys, devices, pred, meas, levels, fields, configs=configs)
    return band_inside(pred[pb] * meas[pa] / pred[pa], meas[pb], q[pb])
