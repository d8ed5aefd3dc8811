"""Write the README's benchmark section from a pytest-benchmark JSON file.

    python bench/report.py bench/results.json [--coldstart bench/coldstart.json]
                           [--sweep10k bench/sweep_10k.txt] [--readme README.md] [--stdout]

Everything between `<!-- bench:begin -->` and `<!-- bench:end -->` in the README is
replaced (the markers are added under "## How fast is the estimator", before
"## Documents", when missing). The table is produced from measurements only: machine,
date, each benchmark's median and min, its target (benchmark.extra_info["target_s"])
and whether the median meets it, augur-sim / peer time ratios for the same counting work
(pairs by extra_info["pair"]), the cold start of the command line (bench/coldstart.py)
and, where present, the output of bench/sweep_10k.py saved to a text file.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
HEADING = "## How fast is the estimator"
SIZE_ORDER = {"small": 0, "medium": 1, "large": 2}
# Numbers a benchmark may record besides its label, printed in the notes column.
NOTE_KEYS = {"estimates_per_s": "estimates/s", "estimates_per_s_per_core": "estimates/s/core",
             "nets_per_s": "nets/s", "variants": "hw rows", "rows": "result rows",
             "predicted_rows": "corpus rows predicted", "fitted_rows": "corpus rows fitted"}


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_num(x: float) -> str:
    if isinstance(x, int):
        return f"{x:,}"
    if x >= 1e6:
        return f"{x / 1e6:.3g} M"
    if x >= 1e3:
        return f"{x / 1e3:.3g} k"
    return f"{x:.3g}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown CPU"


def machine(data: dict) -> str:
    mi = data.get("machine_info", {})
    cpu = mi.get("cpu", {}) or {}
    model = cpu.get("brand_raw") or _cpu_model()
    cores = cpu.get("count")
    if not cores:
        import os
        cores = os.cpu_count()
    py = mi.get("python_version") or ""
    out = f"{model}, {cores} logical cores, Python {py}".strip().rstrip(",")
    load = mi.get("loadavg")
    if load:
        out += (f" (load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} over 1 / 5 / 15 min "
                "when the run ended: other work shared the cores)" if load[1] > 0.5 * (cores or 1) else
                f" (load average {load[1]:.1f} over the last 5 min of the run)")
    return out


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _sort_key(b: dict):
    info = b.get("extra_info", {})
    return (b.get("fullname", "").split("::")[0], b["name"].split("[")[0],
            SIZE_ORDER.get(info.get("size"), 3), b["name"])


def _notes(info: dict) -> str:
    parts = []
    for k, label in NOTE_KEYS.items():
        if k in info:
            parts.append(f"{fmt_num(info[k])} {label}")
    return ", ".join(parts)


def benchmark_rows(benches: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    """(target rows, all other rows): [what, network, median, min, rounds, target, met, notes]."""
    targets, others = [], []
    for b in sorted(benches, key=_sort_key):
        info = b.get("extra_info", {})
        if "interleaved" in info:
            continue  # one timed loop over both tools: its medians are in the speed-up table
        st = b["stats"]
        what = info.get("what")
        net = info.get("net", "")
        tgt = info.get("target_s")
        met = "" if tgt is None else ("yes" if st["median"] < tgt else "**no**")
        row = [f"`{b['name']}`" + (f": {what}" if what else ""), net, fmt_time(st["median"]), fmt_time(st["min"]),
               str(st["rounds"]), "" if tgt is None else f"< {fmt_time(tgt)}", met, _notes(info)]
        (targets if tgt is not None and b["name"].startswith("test_target") else others).append(row)
    return targets, others


def speedup_rows(benches: list[dict]) -> list[list[str]]:
    """Pairs with a speed-up target (extra_info["speedup_target"] on augur's side): one row
    a pair: what is compared, augur's and the peer's median, peer / augur, target, met."""
    pairs: dict[str, dict] = {}
    for b in benches:
        info = b.get("extra_info", {})
        if "pair" in info and not info["pair"].startswith("count:"):
            pairs.setdefault(info["pair"], {})[info.get("role")] = (b, info)
    inter = {b["extra_info"]["interleaved"]: b["extra_info"] for b in benches
             if "interleaved" in b.get("extra_info", {})}
    rows = []
    for key in sorted(pairs):
        p = pairs[key]
        if "augur" not in p:
            continue
        ab, ai = p["augur"]
        a = ab["stats"]["median"]
        tgt = ai.get("speedup_target")
        if "peer" not in p:
            rows.append([ai.get("pair_what", key), ai.get("net", ""), fmt_time(a), "skipped", "", "", ""])
            continue
        pb, pi = p["peer"]
        m = pb["stats"]["median"]
        met = "" if tgt is None else ("yes" if m / a >= tgt else "**no**")
        rows.append([ai.get("pair_what", key), ai.get("net", ""), fmt_time(a),
                     f"{pi.get('tool', '')} {fmt_time(m)}", f"{m / a:.1f}x",
                     "" if tgt is None else f">= {tgt:g}x", met])
        if key in inter:
            rows.append(_interleaved_row(inter[key], ai, pi, tgt, "the same, interleaved round by round"))
        if f"{key}:warm" in inter:
            rows.append(_interleaved_row(inter[f"{key}:warm"], ai, pi, tgt,
                                         "the same, interleaved, heap kept warm (onnx-tool's best case: "
                                         "freed pages reused, none faulted in)"))
    return rows


def _interleaved_row(iv: dict, ai: dict, pi: dict, tgt, label: str) -> list[str]:
    """The interleaved run of a pair: CPU time medians (the process's user + system time,
    so other processes on a shared machine do not count, the kernel's work on the call's
    page faults does), judged against the target; wall time and page faults in the text."""
    sp = iv["cpu_speedup"]
    what = (f"{label}, CPU time (wall: {fmt_time(iv['a_wall_s'])} / "
            f"{fmt_time(iv['b_wall_s'])}, {iv['wall_speedup']:.1f}x")
    if "a_minflt" in iv:
        what += f"; minor page faults per call: {iv['a_minflt']:,.0f} / {iv['b_minflt']:,.0f}"
    what += ")"
    return [what, ai.get("net", ""), fmt_time(iv["a_cpu_s"]), f"{pi.get('tool', '')} {fmt_time(iv['b_cpu_s'])}",
            f"{sp:.1f}x", "" if tgt is None else f">= {tgt:g}x",
            "" if tgt is None else ("yes" if sp >= tgt else "**no**")]


def heap_note(benches: list[dict]) -> str:
    """How the file -> result calls started (extra_info["each_call"]), said once (the
    warm-heap row says its own)."""
    notes = {b.get("extra_info", {}).get("each_call") for b in benches
             if not str(b.get("extra_info", {}).get("interleaved", "")).endswith(":warm")} - {None}
    return "; ".join(sorted(notes))


def peer_rows(benches: list[dict]) -> tuple[list[str], list[list[str]]]:
    """One row a network: augur's time, each peer's time and augur / peer."""
    pairs: dict[str, dict] = {}
    for b in benches:
        info = b.get("extra_info", {})
        if "pair" in info and info["pair"].startswith("count:"):
            pairs.setdefault(info["pair"], {})[info.get("tool", b["name"])] = (b, info)
    tools = sorted({t for p in pairs.values() for t in p if t != "augur-sim"})
    headers = ["network", "augur-sim: import .onnx + count (median)"]
    for t in tools:
        headers += [f"{t} (median)", f"augur / {t}"]
    rows = []
    for key in sorted(pairs, key=lambda k: SIZE_ORDER.get(
            next(iter(pairs[k].values()))[1].get("size"), 3)):
        p = pairs[key]
        if "augur-sim" not in p:
            continue
        a = p["augur-sim"][0]["stats"]["median"]
        row = [p["augur-sim"][1].get("net", key), fmt_time(a)]
        for t in tools:
            if t in p:
                m = p[t][0]["stats"]["median"]
                row += [fmt_time(m), f"{a / m:.3f}"]
            else:
                row += ["skipped", ""]
        rows.append(row)
    return headers, rows


def coldstart_lines(cs: dict) -> list[str]:
    pw, pc = cs["phases_warm"], cs["phases_cold"]
    ok = "yes" if cs["warm_s"] < cs["warm_target_s"] else "**no**"
    imports = ", ".join(f"{r['package']} {fmt_time(r['self_s'])}" for r in cs["imports"]["top"][:6])
    lines = [
        f"Cold start of `{cs['command']}` as a whole process (median of {cs['runs']} runs, "
        f"{cs['date']}, Python {cs['python']}, numba {cs['numba']}):",
        "",
    ]
    lines += _md_table(
        ["numba cache", "wall time", "target", "met"],
        [["cold (empty NUMBA_CACHE_DIR: kernels compiled)", fmt_time(cs["cold_s"]), "", ""],
         ["warm (same cache dir, second run)", fmt_time(cs["warm_s"]),
          f"< {fmt_time(cs['warm_target_s'])}", ok]])
    lines += [
        "",
        f"Where the warm run goes: interpreter start {fmt_time(cs['interpreter_start_s'])}; "
        f"imports {fmt_time(pw['import_cli_s'] + pw['import_rest_s'])} (by package, self time "
        f"under -X importtime: {imports}); load the network {fmt_time(pw['load_net_s'])}, "
        f"the hardware spec {fmt_time(pw['load_hw_s'])}; first estimate "
        f"{fmt_time(pw['first_estimate_s'])}, of which loading the cached numba kernels is "
        f"{fmt_time(cs['numba_cache_load_s'])}; report {fmt_time(pw['report_s'])}. "
        f"Cold, compiling the kernels takes {fmt_time(cs['numba_compile_s'])} "
        f"(first estimate {fmt_time(pc['first_estimate_s'])}).",
    ]
    return lines


_SWEEP_RE = re.compile(r"(\d+) nets x (\d+) devices = (\d+) rows in ([\d.]+) s .*?([\d.]+) nets/s; "
                       r"backend ([^)]+)\)")


def sweep10k_lines(text: str) -> list[str]:
    m = None
    for line in text.splitlines():
        m = _SWEEP_RE.search(line) or m
    if m is None:
        return []
    n, d, rows, t, rate, backend = m.groups()
    return [f"`bench/sweep_10k.py`: {n} generated networks x {d} devices = {rows} result rows in "
            f"{float(t):.1f} s ({rate} nets/s, backend {backend})."]


def render(data: dict, coldstart: dict | None, sweep_text: str | None, note: str = "") -> str:
    benches = data.get("benchmarks", [])
    date = (data.get("datetime") or "")[:10]
    lines = [
        "<!-- generated by bench/report.py from a `make bench` run; do not edit by hand -->",
        f"Measured {date} on {machine(data)}, with pytest-benchmark {data.get('version', '')} "
        f"(`make bench`; what each benchmark measures: docs/BENCHMARKS.md). "
        f"Small = SqueezeNet 1.1, medium = ResNet-50, large = DenseNet-121.",
        "",
    ]
    if note:
        lines += [note, ""]
    targets, others = benchmark_rows(benches)
    headers = ["benchmark", "network", "median", "min", "rounds", "target", "met", "notes"]
    if targets:
        lines += ["Targets:", ""] + _md_table(headers, targets) + [""]
    srows = speedup_rows(benches)
    if srows:
        heap = heap_note(benches)
        lines += ["Speed-ups over onnx-tool in the same run, on the same ResNet-50 file with its weights "
                  "(peer median / augur-sim median; wall time from pytest-benchmark, and CPU time where the two "
                  "tools alternate round by round, which other processes on a shared machine do not inflate"
                  + (f"; file -> result calls: {heap}" if heap else "") + "):", ""] + \
            _md_table(["comparison", "network", "augur-sim (median)", "peer (median)", "speed-up", "target",
                       "met"], srows) + [""]
    headers_p, prows = peer_rows(benches)
    if prows:
        lines += ["The same counting work on the same ONNX files, augur-sim beside other tools "
                  "(ratio < 1: augur-sim is faster):", ""] + _md_table(headers_p, prows) + [""]
    if coldstart:
        lines += coldstart_lines(coldstart) + [""]
    if sweep_text:
        s = sweep10k_lines(sweep_text)
        if s:
            lines += s + [""]
    if others:
        lines += ["<details><summary>All benchmarks</summary>", ""] + _md_table(headers, others) + \
                 ["", "</details>"]
    return "\n".join(lines).rstrip() + "\n"


def update_readme(readme: Path, body: str) -> None:
    text = readme.read_text()
    block = f"{BEGIN}\n{body}{END}"
    if BEGIN in text and END in text:
        a, b = text.index(BEGIN), text.index(END) + len(END)
        text = text[:a] + block + text[b:]
    else:
        section = f"{HEADING}\n{block}\n\n"
        i = text.find("## Documents")
        text = text[:i] + section + text[i:] if i >= 0 else text.rstrip() + "\n\n" + section
    readme.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Write the README benchmark table from pytest-benchmark JSON.")
    ap.add_argument("results", help="pytest-benchmark JSON (--benchmark-json)")
    ap.add_argument("--coldstart", default=str(REPO / "bench" / "coldstart.json"),
                    help="JSON of bench/coldstart.py (skipped when absent)")
    ap.add_argument("--sweep10k", default=str(REPO / "bench" / "sweep_10k.txt"),
                    help="saved output of bench/sweep_10k.py (skipped when absent)")
    ap.add_argument("--readme", default=str(REPO / "README.md"))
    ap.add_argument("--stdout", action="store_true", help="print the section instead of editing the README")
    ap.add_argument("--note", default="", help="a sentence printed under the first line (say which "
                    "benchmarks ran when not all did)")
    a = ap.parse_args(argv)
    try:
        data = json.loads(Path(a.results).read_text())
    except (OSError, ValueError) as e:
        print(f"report: cannot read {a.results}: {e}", file=sys.stderr)
        return 2
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        print(f"report: {a.results} is not a pytest-benchmark JSON file (no 'benchmarks' list)", file=sys.stderr)
        return 2
    cs_path, sw_path = Path(a.coldstart), Path(a.sweep10k)
    coldstart = json.loads(cs_path.read_text()) if cs_path.is_file() else None
    sweep_text = sw_path.read_text() if sw_path.is_file() else None
    body = render(data, coldstart, sweep_text, a.note)
    if a.stdout:
        sys.stdout.write(body)
    else:
        update_readme(Path(a.readme), body)
        print(f"wrote the benchmark section of {a.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
