"""How far a fitted runtime's predictions fell from measurements on devices its fit never saw.

A fit file (measurements/ncnn/fit.yaml) may have a companion beside it, `<fit stem>.held_out.yaml`
(measurements/ncnn/fit.held_out.yaml), written by the accuracy script from its
leave-one-device-out predictions (scripts/accuracy_ncnn.py, measure/held_out.py):

    runtime: ncnn
    fit_sha256: <sha256 of the fit file those predictions reproduce>
    protocol: ...            # how each device was held out
    corpus: ...              # what was measured
    generated: ...           # when
    fields: [family, threads, design_fitted]
    groups:
      - {family: arm-ooo-wide, threads: 2-8, design_fitted: 'yes', rows: 640, devices: 18,
         median_abs_pct: 21.0, within_35: 0.71, ratio_p10: 0.70, ratio_p50: 0.98, ratio_p90: 1.45}
      - {family: arm-ooo-wide, rows: ...}   # a group names some of the fields; none: every row
      ...

ratio = predicted / measured of one held-out run. An estimate looks up the most specific group
its own run belongs to (the group naming the most fields, all equal to the run's) and reports
the range the measured time fell in for 80% of those held-out runs: predicted / ratio_p90 to
predicted / ratio_p10. The band belongs to one fit: the file records the fit's sha256, and a
fit file that differs (refitted, edited, another file) gets no band rather than a wrong one.

Optionally (both or neither): `relative_to` at the top names one configuration (for ncnn: a
device section, core set and thread count), and each group carries rel_median_abs_pct,
rel_ratio_p10 and rel_ratio_p90: the same held-out runs with each configuration's own scale
(its median ratio) divided out. They say how far one network is off relative to the others on
the same device, which is what comparing two networks there rests on; an estimate reports them
beside its band.

Optionally, with relative_to: each group's anc_pairs, anc_median_abs_pct, anc_within_35,
anc_ratio_p10 and anc_ratio_p90: every ordered pair of held-out runs of one configuration (two
networks run the same way on one device), the first's measured / predicted scaling the
second's prediction; ratio = that anchored prediction / the second's measured time. They say
how far an estimate anchored on one network measured on the device (`augur estimate --anchor`)
falls from the measured time; such an estimate reports them instead of the spec-only band.

Optionally, band_stretch (>= 1): the spec-only band an estimate reports is the group's
ratio_p10 .. ratio_p90 widened that many times in log around ratio_p50 (stretched_band). A new
device's runs fall outside their group's 10th-90th percentile range more often than the group's
own runs do (the device's own scale is in no group); the accuracy script fits the stretch so
that 80% of each held-out device's runs fall inside the band it would have been given
(measure/held_out.fit_band_stretch).

Optionally, with relative_to, rel_band_stretch (>= 1): the same for the relative band, widened
around its geometric centre sqrt(rel_ratio_p10 x rel_ratio_p90) (it has no median: each
configuration's median is divided out), so that it too holds 80% of a held-out device's runs.

Optionally, device_order: which of two devices runs a network faster, as the held-out
predictions called it. Every two held-out runs of one network at one thread count on two
device sections, binned by how far apart the predictions put them (ratio_from .. ratio_to, the
slower prediction over the faster), with the share of pairs whose measurements put the same
device first:

    device_order:
      - {ratio_from: 1.0, ratio_to: 1.1, pairs: 3218, ordered: 0.527}
      - ...

Comparisons of devices (`augur report` with several, `augur sweep` across devices) say what
their predicted gap is worth (order_confidence).

Optionally, placement_choice: which placement (core set and thread count) runs a network fastest
on one device, as the held-out predictions called it. Per (device section, network) group with at
least min_placements placements measured: the share whose predicted fastest was the measured
fastest, the share whose predicted fastest measured within 10% of the fastest, and the same share
for the placement with the most threads (measure/ncnn_accuracy.placement_choice):

    placement_choice:
      - {min_placements: 2, groups: 1320, fastest: 0.821, within_10: 0.891, most_threads_within_10: 0.778}
      - {min_placements: 3, ...}

A sweep over several placements (`augur sweep --threads 1,2,4 --cores big,all`) quotes the entry
of its own number of placements (placement_summary).

This is the reader, beside the engine that uses it (evaluation may not import measure/).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import AugurError
from ..hw.kmodel import FITS_DIR
from ..hw.load import HELD_OUT_SUFFIX
from .ncnn_params import load_yaml_doc

TOP_KEYS = ("runtime", "fit_sha256", "protocol", "corpus", "generated", "fields", "groups")
OPTIONAL_TOP_KEYS = ("relative_to", "band_stretch", "rel_band_stretch", "device_order", "placement_choice")
ORDER_KEYS = ("ratio_from", "ratio_to", "pairs", "ordered")
PLACEMENT_KEYS = ("min_placements", "groups", "fastest", "within_10", "most_threads_within_10")
STAT_KEYS = ("rows", "devices", "median_abs_pct", "within_35", "ratio_p10", "ratio_p50", "ratio_p90")
REL_KEYS = ("rel_median_abs_pct", "rel_ratio_p10", "rel_ratio_p90")
ANC_KEYS = ("anc_pairs", "anc_median_abs_pct", "anc_within_35", "anc_ratio_p10", "anc_ratio_p90")
# The share of held-out runs the reported range covers (between the 10th and 90th percentile).
BAND_SHARE = 0.8


@dataclass(frozen=True)
class ErrorGroup:
    match: tuple            # ((field, value), ...): the fields this group fixes
    rows: int
    devices: int
    median_abs_pct: float
    within_35: float
    ratio_p10: float
    ratio_p50: float
    ratio_p90: float
    # With each configuration's scale divided out (REL_KEYS); None where the file has none.
    rel_median_abs_pct: float | None = None
    rel_ratio_p10: float | None = None
    rel_ratio_p90: float | None = None
    # Anchored on another network of the same configuration (ANC_KEYS); None where the file has none.
    anc_pairs: int | None = None
    anc_median_abs_pct: float | None = None
    anc_within_35: float | None = None
    anc_ratio_p10: float | None = None
    anc_ratio_p90: float | None = None

    def describe(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.match) or "all runs"


@dataclass(frozen=True)
class HeldOutError:
    path: str
    runtime: str
    fit_sha256: str
    protocol: str
    corpus: str
    generated: str
    fields: tuple
    groups: tuple
    relative_to: str = ""
    band_stretch: float = 1.0
    rel_band_stretch: float = 1.0
    # ((ratio_from, ratio_to, pairs, ordered), ...): device pairs by predicted gap; () where none.
    device_order: tuple = ()
    # ((min_placements, groups, fastest, within_10, most_threads_within_10), ...); () where none.
    placement_choice: tuple = ()

    def lookup(self, key: dict) -> ErrorGroup | None:
        """The group naming the most fields, every one equal to the run's (`key`: field -> value)."""
        best = None
        for g in self.groups:
            if all(str(key.get(f)) == v for f, v in g.match) and (best is None or len(g.match) > len(best.match)):
                best = g
        return best


def companion_path(fit_path) -> Path:
    """Where the held-out error of a fit file lives: beside it, `<stem>.held_out.yaml`."""
    p = Path(fit_path)
    return p.with_name(p.stem + HELD_OUT_SUFFIX)


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _num(v, where, path, lo, hi, integer=False):
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi
    if ok and integer:
        ok = isinstance(v, int)
    if not ok:
        kind = "an integer" if integer else "a number"
        raise AugurError(f"expected {kind} in [{lo:g}, {hi:g}], got {v!r}", file=path, where=where)
    return v


def parse_group(g, fields: tuple, path: str, where: str) -> ErrorGroup:
    """One group of a held-out error document, checked: its fields' values and its statistics."""
    if not isinstance(g, dict):
        raise AugurError("expected a mapping", file=path, where=where)
    for k in g:
        if k not in STAT_KEYS and k not in REL_KEYS and k not in ANC_KEYS and k not in fields:
            raise AugurError(f"unknown key (expected the fields {', '.join(fields)} or "
                             f"{', '.join(STAT_KEYS + REL_KEYS + ANC_KEYS)})", file=path, where=f"{where}.{k}")
    for k in STAT_KEYS:
        if k not in g:
            raise AugurError("missing", file=path, where=f"{where}.{k}")
    rows = _num(g["rows"], f"{where}.rows", path, 1, 1e9, integer=True)
    devices = _num(g["devices"], f"{where}.devices", path, 1, rows, integer=True)
    med = _num(g["median_abs_pct"], f"{where}.median_abs_pct", path, 0, 1e6)
    w35 = _num(g["within_35"], f"{where}.within_35", path, 0, 1)
    q = [_num(g[k], f"{where}.{k}", path, 1e-6, 1e6) for k in ("ratio_p10", "ratio_p50", "ratio_p90")]
    if not q[0] <= q[1] <= q[2]:
        raise AugurError(f"expected ratio_p10 <= ratio_p50 <= ratio_p90, got {q[0]}, {q[1]}, {q[2]}",
                         file=path, where=where)
    rel: tuple = (None, None, None)
    if any(k in g for k in REL_KEYS):
        for k in REL_KEYS:
            if k not in g:
                raise AugurError(f"missing ({', '.join(REL_KEYS)} come together)", file=path, where=f"{where}.{k}")
        rmed = _num(g["rel_median_abs_pct"], f"{where}.rel_median_abs_pct", path, 0, 1e6)
        r10, r90 = (_num(g[k], f"{where}.{k}", path, 1e-6, 1e6) for k in ("rel_ratio_p10", "rel_ratio_p90"))
        if r10 > r90:
            raise AugurError(f"expected rel_ratio_p10 <= rel_ratio_p90, got {r10}, {r90}", file=path, where=where)
        rel = (float(rmed), float(r10), float(r90))
    anc: tuple = (None,) * 5
    if any(k in g for k in ANC_KEYS):
        for k in ANC_KEYS:
            if k not in g:
                raise AugurError(f"missing ({', '.join(ANC_KEYS)} come together)", file=path, where=f"{where}.{k}")
        pairs = _num(g["anc_pairs"], f"{where}.anc_pairs", path, 1, 1e12, integer=True)
        amed = _num(g["anc_median_abs_pct"], f"{where}.anc_median_abs_pct", path, 0, 1e6)
        aw35 = _num(g["anc_within_35"], f"{where}.anc_within_35", path, 0, 1)
        a10, a90 = (_num(g[k], f"{where}.{k}", path, 1e-6, 1e6) for k in ("anc_ratio_p10", "anc_ratio_p90"))
        if a10 > a90:
            raise AugurError(f"expected anc_ratio_p10 <= anc_ratio_p90, got {a10}, {a90}", file=path, where=where)
        anc = (int(pairs), float(amed), float(aw35), float(a10), float(a90))
    match = tuple((f, str(g[f])) for f in fields if f in g)
    return ErrorGroup(match, int(rows), int(devices), float(med), float(w35), float(q[0]), float(q[1]), float(q[2]),
                      rel_median_abs_pct=rel[0], rel_ratio_p10=rel[1], rel_ratio_p90=rel[2], anc_pairs=anc[0],
                      anc_median_abs_pct=anc[1], anc_within_35=anc[2], anc_ratio_p10=anc[3], anc_ratio_p90=anc[4])


def parse_held_out(doc, path: str) -> HeldOutError:
    """Check a held-out error document (it may have been edited by hand) and build the record."""
    if not isinstance(doc, dict):
        raise AugurError("expected a mapping with " + ", ".join(TOP_KEYS), file=path)
    for k in doc:
        if k not in TOP_KEYS and k not in OPTIONAL_TOP_KEYS:
            raise AugurError(f"unknown key (expected one of {', '.join(TOP_KEYS + OPTIONAL_TOP_KEYS)})", file=path,
                             where=str(k))
    for k in TOP_KEYS:
        if k not in doc:
            raise AugurError("missing", file=path, where=k)
    for k in ("runtime", "fit_sha256", "protocol", "corpus", "generated"):
        if not isinstance(doc[k], str) or not doc[k]:
            raise AugurError("expected a non-empty string", file=path, where=k)
    sha = doc["fit_sha256"]
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise AugurError("expected 64 lowercase hex digits (a sha256)", file=path, where="fit_sha256")
    fields = doc["fields"]
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields) or \
            len(set(fields)) != len(fields) or set(fields) & set(STAT_KEYS):
        raise AugurError("expected a list of distinct field names (not " + ", ".join(STAT_KEYS) + ")",
                         file=path, where="fields")
    groups = doc["groups"]
    if not isinstance(groups, list) or not groups:
        raise AugurError("expected a non-empty list of groups", file=path, where="groups")
    out = [parse_group(g, tuple(fields), path, f"groups[{i}]") for i, g in enumerate(groups)]
    rel_to = doc.get("relative_to", "")
    if not isinstance(rel_to, str) or ("relative_to" in doc and not rel_to):
        raise AugurError("expected a non-empty string", file=path, where="relative_to")
    if bool(rel_to) != any(g.rel_ratio_p10 is not None for g in out) or \
            len({g.rel_ratio_p10 is None for g in out}) > 1:
        raise AugurError(f"expected relative_to and every group's {', '.join(REL_KEYS)} together, or none of them",
                         file=path, where="relative_to")
    # Anchored pairs are pairs of runs of one configuration: relative_to says what that is.
    if len({g.anc_pairs is None for g in out}) > 1 or (out[0].anc_pairs is not None and not rel_to):
        raise AugurError(f"expected every group's {', '.join(ANC_KEYS)} or none of them, and relative_to "
                         "with them (the configuration an anchor pairs runs within)", file=path, where="groups")
    stretch = _num(doc.get("band_stretch", 1.0), "band_stretch", path, 1, 10)
    if "rel_band_stretch" in doc and not rel_to:
        raise AugurError("expected with relative_to (it widens the relative band)", file=path,
                         where="rel_band_stretch")
    rel_stretch = _num(doc.get("rel_band_stretch", 1.0), "rel_band_stretch", path, 1, 10)
    order = _parse_order(doc["device_order"], path) if "device_order" in doc else ()
    placement = _parse_placement(doc["placement_choice"], path) if "placement_choice" in doc else ()
    return HeldOutError(path, doc["runtime"], sha, doc["protocol"], doc["corpus"], doc["generated"],
                        tuple(fields), tuple(out), rel_to, float(stretch), float(rel_stretch), order, placement)


def _mappings(items, path: str, key: str, fields: tuple, what: str):
    """(YAML path, mapping) of each item of the non-empty list `items` under top-level `key`,
    each a mapping with exactly `fields`."""
    if not isinstance(items, list) or not items:
        raise AugurError(f"expected a non-empty list of {what}", file=path, where=key)
    for i, e in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(e, dict) or set(e) != set(fields):
            raise AugurError("expected a mapping with exactly " + ", ".join(fields), file=path, where=where)
        yield where, e


def _parse_placement(entries, path: str) -> tuple:
    """placement_choice: entries by rising min_placements (at least 2), each with its group count and shares."""
    out, prev = [], 1
    for where, e in _mappings(entries, path, "placement_choice", PLACEMENT_KEYS, "entries"):
        k = _num(e["min_placements"], where + ".min_placements", path, 2, 1e6, integer=True)
        if k <= prev:
            raise AugurError(f"expected min_placements above the last entry's ({prev})", file=path,
                             where=where + ".min_placements")
        n = _num(e["groups"], where + ".groups", path, 1, 1e12, integer=True)
        shares = [float(_num(e[f], f"{where}.{f}", path, 0, 1)) for f in PLACEMENT_KEYS[2:]]
        out.append((int(k), int(n), *shares))
        prev = k
    return tuple(out)


def _parse_order(bins, path: str) -> tuple:
    """device_order: contiguous bins from 1x upwards, each with its pair count and the share ordered."""
    out, prev = [], 1.0
    for where, b in _mappings(bins, path, "device_order", ORDER_KEYS, "bins"):
        lo = _num(b["ratio_from"], where + ".ratio_from", path, 1, 1e6)
        hi = _num(b["ratio_to"], where + ".ratio_to", path, 1, 1e6)
        if lo != prev or hi <= lo:
            raise AugurError(f"expected bins from 1x upwards, each starting where the last ended ({prev:g}) "
                             "and ending above its start", file=path, where=where)
        n = _num(b["pairs"], where + ".pairs", path, 0, 1e12, integer=True)
        share = _num(b["ordered"], where + ".ordered", path, 0, 1)
        out.append((float(lo), float(hi), int(n), float(share)))
        prev = hi
    return tuple(out)


def current_held_out(fit_path) -> HeldOutError | None:
    """The held-out record of a fit file where it describes this version of the fit (sha256);
    None where there is none or it describes another."""
    fit_path = Path(fit_path)
    rec = load_held_out(fit_path) if fit_path.is_file() else None
    return rec if rec is not None and rec.fit_sha256 == file_sha256(fit_path) else None


def order_bins(rec: HeldOutError) -> list[dict]:
    """device_order as the estimates' JSON carries it: one mapping of ORDER_KEYS per bin."""
    return [dict(zip(ORDER_KEYS, b)) for b in rec.device_order]


def order_bin(bins, ratio: float) -> dict | None:
    """The bin of `bins` (device_order mappings, from 1x upwards, the last open-ended) holding a
    predicted gap `ratio` between two devices (the slower prediction over the faster; a ratio under
    1 is read as its inverse); None where there are no bins, the bin has no pairs, or the ratio is
    not a positive number."""
    if not bins or not ratio > 0 or not math.isfinite(ratio):
        return None
    r = max(ratio, 1.0 / ratio)
    for k, b in enumerate(bins):
        if b["ratio_from"] <= r and (r < b["ratio_to"] or k == len(bins) - 1):
            return b if b["pairs"] else None
    return None


def order_span(b: dict, last: bool) -> str:
    """A device_order bin's gap in words ('1.25x to 1.5x'; the last, open-ended one '2x or more')."""
    return f"{b['ratio_from']:g}x or more" if last else f"{b['ratio_from']:g}x to {b['ratio_to']:g}x"


def order_summary(rec: HeldOutError) -> str:
    """device_order in one line: the share of held-out device pairs ordered as measured, by predicted gap."""
    bins = order_bins(rec)
    return "; ".join(f"{order_span(b, k == len(bins) - 1)}: {100 * b['ordered']:.0f}% of {b['pairs']:,}"
                     for k, b in enumerate(bins))


def placement_summary(rec: HeldOutError | None, placements: int) -> str | None:
    """What a sweep over `placements` placements of one device is worth: the placement_choice
    entry with the most placements at or under it, in words; None where there is none."""
    if rec is None or placements < 2:
        return None
    fit = [e for e in rec.placement_choice if e[0] <= placements]
    if not fit:
        return None
    k, n, fastest, within, naive = fit[-1]
    return (f"of {n:,} held-out device x network groups with {k} or more placements measured, the predicted "
            f"fastest was the measured fastest in {100 * fastest:.0f}% and within 10% of it in {100 * within:.0f}% "
            f"(the placement with the most threads: {100 * naive:.0f}%)")


def order_confidence(rec: HeldOutError | None, ratio: float) -> dict | None:
    """What a predicted gap between two devices is worth: the device_order bin of `ratio`
    (order_bin), or None where the record has no such table."""
    return None if rec is None else order_bin(order_bins(rec), ratio)


def stretched_band(p10, p50, p90, stretch: float):
    """(low, high) of predicted / measured: p10 .. p90 widened `stretch` times in log around p50."""
    return p50 * (p10 / p50) ** stretch, p50 * (p90 / p50) ** stretch


def stretched_relative(p10, p90, stretch: float):
    """(low, high) of a relative band: p10 .. p90 widened `stretch` times in log around its
    geometric centre (the relative band has no median of its own)."""
    return stretched_band(p10, (p10 * p90) ** 0.5, p90, stretch)


def load_held_out(fit_path) -> HeldOutError | None:
    """The held-out error recorded beside a fit file; None when there is none."""
    path = companion_path(fit_path)
    if not path.is_file():
        return None
    return parse_held_out(load_yaml_doc(path), str(path))


def expected_error(fit_path, key: dict, predicted_s: float, runtime: str, anchored: bool = False) -> dict:
    """What an estimate reports about its own error: the held-out group its run belongs to and
    the range the measured time fell in for 80% of those runs; or why there is none.
    anchored: the estimate was scaled by a network measured on the device (`--anchor`): the
    range comes from the group's anchored pairs (anc_*) instead, where the file has them."""
    fit_path = Path(fit_path)
    rec = load_held_out(fit_path) if fit_path.is_file() else None
    if rec is None:
        return {"available": False, "why": f"{companion_path(fit_path).name} absent: no held-out error recorded "
                                           f"for {fit_path.name}"}
    if rec.runtime != runtime:
        raise AugurError(f"runtime: expected {runtime!r} (the fit beside it), got {rec.runtime!r}",
                         file=rec.path)
    if rec.fit_sha256 != file_sha256(fit_path):
        return {"available": False,
                "why": f"{Path(rec.path).name} describes another version of {fit_path.name} (sha256 differs): "
                       "re-run the accuracy script after refitting"}
    g = rec.lookup(key)
    if g is None:
        return {"available": False, "why": f"no group of {Path(rec.path).name} matches this run"}
    if anchored and (g.anc_ratio_p10 is None or g.anc_ratio_p90 is None):
        return {"available": False, "why": f"{Path(rec.path).name} records no anchored held-out error "
                                           "(re-run the accuracy script)"}
    common = {"available": True, "group": dict(g.match), "describe": g.describe(), "devices": g.devices,
              "share": BAND_SHARE, "protocol": rec.protocol, "corpus": rec.corpus, "generated": rec.generated,
              "source": rec.path, "key": {k: str(v) for k, v in key.items()}}
    relative = {}
    if g.rel_ratio_p10 is not None and g.rel_ratio_p90 is not None:
        rlo, rhi = stretched_relative(g.rel_ratio_p10, g.rel_ratio_p90, rec.rel_band_stretch)
        relative = {"relative": {"relative_to": rec.relative_to, "median_abs_pct": g.rel_median_abs_pct,
                                 "ratio_p10": g.rel_ratio_p10, "ratio_p90": g.rel_ratio_p90, "share": BAND_SHARE,
                                 "band_stretch": rec.rel_band_stretch, "band_low": rlo, "band_high": rhi}}
    if anchored and g.anc_ratio_p10 is not None and g.anc_ratio_p90 is not None:
        return {**common, "anchored": True, "anchored_within": rec.relative_to, "rows": g.anc_pairs,
                "median_abs_pct": g.anc_median_abs_pct, "within_35": g.anc_within_35,
                "ratio_p10": g.anc_ratio_p10, "ratio_p90": g.anc_ratio_p90,
                "range_ms": [predicted_s * 1e3 / g.anc_ratio_p90, predicted_s * 1e3 / g.anc_ratio_p10], **relative}
    lo, hi = stretched_band(g.ratio_p10, g.ratio_p50, g.ratio_p90, rec.band_stretch)
    # Comparing this device with another under the same runtime: what a predicted gap is worth
    # (device_order; spec-only predictions, so not for anchored estimates above).
    order = {"device_order": order_bins(rec)} if rec.device_order else {}
    return {**common, "rows": g.rows, "median_abs_pct": g.median_abs_pct, "within_35": g.within_35,
            "ratio_p10": g.ratio_p10, "ratio_p50": g.ratio_p50, "ratio_p90": g.ratio_p90,
            "band_stretch": rec.band_stretch, "band_low": lo, "band_high": hi,
            "range_ms": [predicted_s * 1e3 / hi, predicted_s * 1e3 / lo], **relative, **order}


# The ncnn CPU runtime's groups (scripts/accuracy_ncnn.py writes them, estimate_ncnn looks them
# up): the pipeline family of the slowest thread's core, the thread band (the error grows with
# threads: one, a phone's or board's handful, a server's dozens), and whether the fit has seen
# that core design on some training device (a held-out device whose design another device
# shares inherits that device's offsets; one of a new design only its class's and family's).
NCNN_FIELDS = ("family", "threads", "design_fitted")
NCNN_LEVELS = (NCNN_FIELDS, ("family", "threads"), ("family",), ("threads", "design_fitted"), ("threads",))


def thread_band(threads: int) -> str:
    return "1" if threads <= 1 else "2-8" if threads <= 8 else ">8"


def ncnn_key(family: str, threads: int, design_fitted: bool) -> dict:
    return {"family": family, "threads": thread_band(threads), "design_fitted": "yes" if design_fitted else "no"}


# The ncnn-vulkan runtime's groups (scripts/accuracy_ncnn_vulkan.py): the GPU's class (its
# shader-core family, whose fitted offsets a new GPU of the class inherits) and whether it
# is a discrete card or shares the SoC's memory.
VK_FIELDS = ("gpu_class", "kind")
VK_LEVELS = (VK_FIELDS, ("gpu_class",), ("kind",))


def vk_key(gpu_class: str, discrete: bool) -> dict:
    return {"gpu_class": gpu_class, "kind": "discrete" if discrete else "integrated"}


# The PyTorch GPU kernel model's groups (scripts/h200_kernel_model.py writes them beside
# hwspecs/fits/pytorch.yaml; the estimate of a kernel-model runtime looks them up): the runtime
# (a CUDA-graph replay has no host in its time, eager PyTorch does), the precision the kernels
# ran at and the batch band (one image: launch- and latency-bound; more: throughput-bound).
# Network-level truth for a GPU the fit never saw exists for one GPU only (the H200), so these
# groups come from one device: the estimate says so.
GPU_FIELDS = ("runtime", "precision", "batch")
GPU_LEVELS = (GPU_FIELDS, ("runtime", "precision"), ("runtime",))


def batch_band(batch: int) -> str:
    return "1" if batch <= 1 else ">1"


def gpu_key(runtime: str, precision: str, batch: int) -> dict:
    return {"runtime": runtime, "precision": precision, "batch": batch_band(batch)}


def kernel_model_error(kernel_model: str, runtime: str, precision: str, batch: int, predicted_s: float,
                       anchored: bool = False) -> dict:
    """expected_error of a run priced by the GPU kernel model `kernel_model` (its fit file
    hwspecs/fits/<kernel_model>.yaml, the held-out error beside it)."""
    return expected_error(FITS_DIR / f"{kernel_model}.yaml", gpu_key(runtime, precision, batch), predicted_s,
                          kernel_model, anchored)
