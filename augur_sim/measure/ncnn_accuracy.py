"""Accuracy of predictions against the benchncnn corpus: the figures and the markdown page.

Error of one row: predicted / measured - 1 (benchncnn's avg_ms). Summaries: median |error|,
the share of rows within +-25%, +-35% and +-50%, grouped per device, network, core family.
pairwise_order, order_lines and scale_removed know nothing of ncnn: the H200 network page
(scripts/h200_kernel_model.py) uses them too.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import numpy as np

from ..engine.held_out import order_span


def stats(pred, meas) -> dict:
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    ok = np.isfinite(pred) & (pred > 0)
    if not ok.any():
        return {"n": 0, "median_abs_pct": float("nan"), "within_25": float("nan"), "within_35": float("nan"),
                "within_50": float("nan"), "median_ratio": float("nan")}
    e = pred[ok] / meas[ok] - 1.0
    a = np.abs(e)
    return {"n": int(ok.sum()), "median_abs_pct": float(np.median(a) * 100),
            "within_25": float(np.mean(a <= 0.25)), "within_35": float(np.mean(a <= 0.35)),
            "within_50": float(np.mean(a <= 0.50)), "median_ratio": float(np.median(pred[ok] / meas[ok]))}


def grouped(keys, pred, meas) -> dict:
    idx = defaultdict(list)
    for i, k in enumerate(keys):
        idx[k].append(i)
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    return {k: stats(pred[v], meas[v]) for k, v in sorted(idx.items(), key=lambda kv: str(kv[0]))}


def _pct(x) -> str:
    return "-" if not np.isfinite(x) else f"{x:.0f}%"


def _share(x) -> str:
    return "-" if not np.isfinite(x) else f"{100 * x:.0f}%"


def stats_row(name, s: dict, extra=()) -> str:
    cells = [str(name), str(s["n"]), _pct(s["median_abs_pct"]), _share(s["within_25"]), _share(s["within_35"]),
             _share(s["within_50"]), "-" if not np.isfinite(s["median_ratio"]) else f"{s['median_ratio']:.2f}"]
    return "| " + " | ".join(cells + [str(e) for e in extra]) + " |"


STATS_HEAD = "| {} | rows | median abs error | within 25% | within 35% | within 50% | median pred/meas |"
STATS_SEP = "|---|---|---|---|---|---|---|"


def stats_table(title: str, groups: dict, extra_head=(), extra=None) -> list[str]:
    head = STATS_HEAD.format(title)
    sep = STATS_SEP
    if extra_head:
        # One more cell per extra column, after the row's last cell (the header ends with "|").
        head = head + "".join(f" {h} |" for h in extra_head)
        sep = sep + "---|" * len(extra_head)
    out = [head, sep]
    for k, s in groups.items():
        out.append(stats_row(k, s, extra(k) if extra else ()))
    return out


def repeat_pairs(keys, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, same_group) over every two rows with equal keys, each pair once (i < j): the same
    configuration measured twice. `groups[i]` names where row i was measured (a corpus section
    and its table); `same_group` says whether the two runs came from one of them (another build
    or run of one sitting) rather than from two (another board with the same chip, another
    release)."""
    idx = defaultdict(list)
    for n, k in enumerate(keys):
        idx[k].append(n)
    ii, jj = [], []
    for v in idx.values():
        for a, b in combinations(v, 2):
            ii.append(a)
            jj.append(b)
    i = np.array(ii, dtype=np.int64)
    j = np.array(jj, dtype=np.int64)
    g = np.asarray(groups, dtype=object)
    return i, j, (g[i] == g[j]) if len(i) else np.zeros(0, dtype=bool)


def repeat_stats(i, j, meas) -> dict:
    """What the repeated pairs (repeat_pairs) say about the corpus' noise, in the targets' terms.

    `stats` of one run taken as the prediction of the other, both ways round (the error measure is
    not symmetric), plus the least any single prediction must miss one run of a pair by: a
    prediction p misses the farther of two runs a, b by at least half their log distance (equality
    at the geometric mean), so `half_median_pct` is the median over the pairs of
    exp(|log a/b| / 2) - 1 and `half_beyond_35` the share of pairs where even that is over 35%."""
    meas = np.asarray(meas, dtype=float)
    out = stats(np.concatenate([meas[i], meas[j]]), np.concatenate([meas[j], meas[i]]))
    half = np.exp(np.abs(np.log(meas[i] / meas[j])) / 2.0) - 1.0
    out["pairs"] = int(len(i))
    out["half_median_pct"] = float(np.median(half) * 100) if len(i) else float("nan")
    out["half_beyond_35"] = float(np.mean(half > 0.35)) if len(i) else float("nan")
    return out


def runs_by_key(keys, pred) -> dict:
    """Run indices per key, in order, of the runs with a finite positive prediction."""
    idx = defaultdict(list)
    for i, k in enumerate(keys):
        if np.isfinite(pred[i]) and pred[i] > 0:
            idx[k].append(i)
    return idx


def _pairs(keys, members, pred, meas):
    """Per key: (dm, dp, use) over its runs with a prediction: the log ratios of measured and of
    predicted times of every two runs, and the pairs counted (each pair once, two different
    members, measured not equal)."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    members = np.asarray(members, dtype=object)
    for ix in runs_by_key(keys, pred).values():
        ix = np.array(ix)
        lm = np.log(meas[ix])
        lp = np.log(pred[ix])
        dm = lm[:, None] - lm[None, :]
        upper = np.triu(np.ones((len(ix), len(ix)), dtype=bool), 1)
        yield dm, lp[:, None] - lp[None, :], upper & (members[ix][:, None] != members[ix][None, :]) & (dm != 0)


def pairwise_order(keys, devices, pred, meas, min_ratio: float = 1.0) -> tuple[int, int]:
    """(pairs, pairs ordered right): every two runs with the same key (network and threads) on
    different devices whose measured times differ by more than `min_ratio` (1: any
    difference); right when the predictions put the same one first. What a user choosing
    between devices needs: which is faster, more than by how much. With the configuration as
    the key and the network in place of the device, the same count answers the other choice:
    which of two networks runs faster on one device."""
    pairs = right = 0
    lim = np.log(min_ratio)
    for dm, dp, use in _pairs(keys, devices, pred, meas):
        use = use & (np.abs(dm) > lim)
        pairs += int(use.sum())
        right += int((use & (np.sign(dm) == np.sign(dp))).sum())
    return pairs, right


# Edges of the predicted-gap bins of order_by_predicted_gap (slower / faster prediction).
ORDER_EDGES = (1.0, 1.1, 1.25, 1.5, 2.0)
# The last bin's upper edge: no two predictions of one network are further apart in the corpus.
ORDER_TOP = 1000.0


def order_by_predicted_gap(keys, members, pred, meas, edges=ORDER_EDGES) -> list[dict]:
    """Pairs of runs with the same key and different members (two devices running one network at
    one thread count), binned by how far apart the PREDICTIONS put them (the slower prediction
    over the faster), with the share whose measurements put the same one first: what "A is
    predicted 1.3x faster than B" is worth before anything is measured. Pairs measured equal
    are left out, as in pairwise_order."""
    bounds = np.log(np.array(tuple(edges) + (ORDER_TOP,)))
    pairs = np.zeros(len(edges), dtype=np.int64)
    right = np.zeros(len(edges), dtype=np.int64)
    for dm, dp, use in _pairs(keys, members, pred, meas):
        gap = np.abs(dp[use])
        ok = (np.sign(dm) == np.sign(dp))[use]
        b = np.clip(np.searchsorted(bounds, gap, side="right") - 1, 0, len(edges) - 1)
        pairs += np.bincount(b, minlength=len(edges))
        right += np.bincount(b, weights=ok, minlength=len(edges)).astype(np.int64)
    tops = tuple(edges[1:]) + (ORDER_TOP,)
    return [{"ratio_from": float(a), "ratio_to": float(z), "pairs": int(n),
             "ordered": round(float(r) / int(n), 4) if n else 0.0}
            for a, z, n, r in zip(edges, tops, pairs, right)]


def gap_order_lines(bins: list[dict]) -> list[str]:
    """A markdown table of order_by_predicted_gap."""
    return ["| predictions apart by | pairs | ordered as measured |", "|---|---|---|",
            *(f"| {order_span(b, k == len(bins) - 1)} | {b['pairs']} | {100 * b['ordered']:.1f}% |"
              for k, b in enumerate(bins))]


def order_lines(keys, members, pred, meas) -> list[str]:
    """A markdown table of pairwise_order: pairs with the same key and different members, by
    how far apart they were measured (the device ranking and network ranking sections of the
    accuracy pages)."""
    L = ["| pairs measured apart by | pairs | ordered as measured |", "|---|---|---|"]
    for lim, what in ((1.0, "any amount"), (1.25, "more than 1.25x"), (1.5, "more than 1.5x"),
                      (2.0, "more than 2x")):
        n, ok = pairwise_order(keys, members, pred, meas, lim)
        L.append(f"| {what} | {n} | {100 * ok / max(n, 1):.1f}% |")
    return L


def scale_removed(keys, pred, meas) -> np.ndarray:
    """The predictions with each key's own scale divided out: every prediction of a key (one
    device, core set and thread count) divided by that key's median predicted / measured
    ratio. What is left is how well the model orders and spaces the networks on one device,
    apart from how fast it takes the device to be."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    out = np.full(len(pred), np.nan)
    idx = runs_by_key(keys, pred)
    for members in idx.values():
        ix = np.array(members)
        out[ix] = pred[ix] / np.exp(np.median(np.log(pred[ix] / meas[ix])))
    return out


def anchored(keys, models, pred, meas, anchor: str) -> np.ndarray:
    """Predictions rescaled by one measured network per key: within each key (one device, core
    set and thread count), every prediction times the anchor network's measured / predicted
    (NaN for the anchor itself and for keys without it). What a user who can run one network on
    the device gets for the others."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    out = np.full(len(pred), np.nan)
    idx = defaultdict(list)
    for i, k in enumerate(keys):
        idx[k].append(i)
    for members in idx.values():
        a = [i for i in members if models[i] == anchor and np.isfinite(pred[i]) and pred[i] > 0]
        if not a:
            continue
        scale = float(np.exp(np.median(np.log(meas[a] / pred[a]))))
        for i in members:
            if models[i] != anchor:
                out[i] = pred[i] * scale
    return out


def anchor_choice_lines(keys, models, pred, meas, what: str = "configuration") -> list[str]:
    """Which network to measure as the anchor (`augur estimate --anchor`): for each network,
    the other networks' error with it as the anchor in every key that ran it (anchored()),
    best first. A network the model prices off from the others makes a poor anchor."""
    per = {m: stats(anchored(keys, models, pred, meas, m), meas) for m in sorted(set(models))}
    per = {m: s for m, s in per.items() if s["n"]}
    head = (f"| anchor network | {what}s | other rows | median abs error | within 25% | within 35% |")
    L = [head, "|---|---|---|---|---|---|"]
    for m, s in sorted(per.items(), key=lambda kv: kv[1]["median_abs_pct"]):
        n_keys = len({k for k, mm in zip(keys, models) if mm == m})
        L.append(f"| {m} | {n_keys} | {s['n']} | {_pct(s['median_abs_pct'])} | {_share(s['within_25'])} | "
                 f"{_share(s['within_35'])} |")
    return L


def anchored_sets(keys, pred, meas, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The log errors of every prediction anchored on every set of k other runs of its key (one
    device, core set and threads): log(pred_b / meas_b) minus the mean of the set's, which is
    anchoring on the geometric mean of their measured / predicted (as `--anchor` does for two;
    for more, this mean stands in for its median). Returns the errors and, for each, the index
    b of the run predicted. k = 1: anchored() over every anchor."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    idx = runs_by_key(keys, pred)
    errs, who = [], []
    for members in idx.values():
        e = np.log(pred[members] / meas[members])
        n = len(e)
        if n <= k:
            continue
        sets = np.array(list(combinations(range(n), k)))             # [m, k]
        mean = e[sets].mean(axis=1)                                  # [m]
        inside = np.zeros((len(sets), n), dtype=bool)
        np.put_along_axis(inside, sets, True, axis=1)
        err = e[None, :] - mean[:, None]                             # [m, n]
        errs.append(err[~inside])
        who.append(np.broadcast_to(np.asarray(members), err.shape)[~inside])
    if not errs:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(errs), np.concatenate(who)


def per_run_anchored(err, who) -> dict:
    """anchored_sets' errors summarised with every predicted run weighing the same, however many
    anchor sets its configuration offers (a 35-network configuration has 6,545 sets of three, a
    ten-network one 120): per run, the median |error| over its sets and the share within 35%;
    then the median and the mean of those over the runs."""
    a = np.abs(np.expm1(np.asarray(err, dtype=float)))
    who = np.asarray(who)
    order = np.argsort(who, kind="stable")
    a, who = a[order], who[order]
    cuts = np.flatnonzero(np.diff(who)) + 1
    groups = np.split(a, cuts)
    med = np.array([np.median(g) for g in groups])
    w35 = np.array([np.mean(g <= 0.35) for g in groups])
    return {"runs": len(groups), "median_abs_pct": 100 * float(np.median(med)), "within_35": float(np.mean(w35))}


# The fewest placements a (device, network) group must have measured for placement_choice, one
# entry per minimum: 2 (most groups: one thread against several), 3 (a real choice among many).
PLACEMENT_MINIMA = (2, 3)
# How close to the measured fastest a placement must be to count as a good pick (the held-out
# file's within_10 and most_threads_within_10).
PLACEMENT_SLACK = 0.10


def placement_choice(groups, placements, threads, pred, meas, minima=PLACEMENT_MINIMA,
                     slack: float = PLACEMENT_SLACK) -> list[dict]:
    """Which placement (core set and thread count) runs a network fastest on one device, as the
    predictions call it. Runs sharing a group (a device section and a network) and a placement are
    one placement (re-measured configurations: the geometric mean of their measured times, the
    prediction being one). Per group with at least `minimum` placements: whether the predicted
    fastest is the measured fastest, and whether its measured time is within `slack` of the
    measured fastest; beside it the same for the placement with the most threads (ties: the first
    in `placements` order), the choice a user makes without a model. What `augur sweep --threads
    1,2,4 --cores big,all` is worth: one entry per minimum in `minima`."""
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    by: dict = defaultdict(lambda: defaultdict(list))
    for i, (g, pl) in enumerate(zip(groups, placements)):
        if np.isfinite(pred[i]) and pred[i] > 0 and meas[i] > 0:
            by[g][pl].append(i)
    out = []
    for minimum in minima:
        n = fastest = good = naive = 0
        for runs in by.values():
            if len(runs) < minimum:
                continue
            pls = list(runs)
            m = np.array([np.exp(np.mean(np.log(meas[runs[p]]))) for p in pls])
            p = np.array([pred[runs[q][0]] for q in pls])
            pick = int(np.argmin(p))
            most = max(range(len(pls)), key=lambda k: (threads[runs[pls[k]][0]], -k))
            n += 1
            fastest += int(m[pick] == m.min())
            good += int(m[pick] <= (1 + slack) * m.min())
            naive += int(m[most] <= (1 + slack) * m.min())
        if n:
            out.append({"min_placements": int(minimum), "groups": n, "fastest": round(fastest / n, 4),
                        "within_10": round(good / n, 4), "most_threads_within_10": round(naive / n, 4)})
    return out


def placement_lines(entries: list[dict]) -> list[str]:
    """A markdown table of placement_choice."""
    return ["| placements measured | device x network groups | predicted fastest is the fastest | predicted "
            "fastest within 10% of the fastest | most threads within 10% of the fastest |", "|---|---|---|---|---|",
            *(f"| {e['min_placements']} or more | {e['groups']} | {100 * e['fastest']:.1f}% | "
              f"{100 * e['within_10']:.1f}% | {100 * e['most_threads_within_10']:.1f}% |" for e in entries)]
