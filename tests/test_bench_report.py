"""bench/report.py's speed-up rows: the interleaved runs are judged on CPU time, the warm-heap
run gets its own row, and the heap note names how the pair's calls started."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _report():
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _bench(name, median, **info):
    return {"name": name, "fullname": f"bench/bench_peers.py::{name}", "stats": {"median": median, "min": median,
            "rounds": 3}, "extra_info": info}


def _inter(pair, a_cpu, b_cpu, a_wall, b_wall, **extra):
    return _bench("inter", 1.0, interleaved=pair, a_cpu_s=a_cpu, b_cpu_s=b_cpu, a_wall_s=a_wall, b_wall_s=b_wall,
                  cpu_speedup=b_cpu / a_cpu, wall_speedup=b_wall / a_wall, a_minflt=30, b_minflt=50000, **extra)


def test_interleaved_rows_are_judged_on_cpu_time():
    r = _report()
    pair = "file-estimate:resnet50"
    benches = [
        _bench("a", 0.010, pair=pair, role="augur", tool="augur-sim", pair_what="file", speedup_target=10.0,
               net="resnet50", each_call="fresh heap"),
        _bench("b", 0.150, pair=pair, role="peer", tool="onnx-tool", each_call="fresh heap"),
        # wall says 12x (met), CPU says 9x (not met): the row follows CPU time
        _inter(pair, 0.010, 0.090, 0.010, 0.120, each_call="fresh heap"),
        _inter(pair + ":warm", 0.010, 0.080, 0.010, 0.080, each_call="warm"),
    ]
    rows = r.speedup_rows(benches)
    assert [row[-1] for row in rows] == ["yes", "**no**", "**no**"]
    assert rows[0][4] == "15.0x"
    assert rows[1][2] == "10.00 ms" and rows[1][3] == "onnx-tool 90.00 ms" and rows[1][4] == "9.0x"
    assert "wall: 10.00 ms / 120.00 ms, 12.0x" in rows[1][0] and "50,000" in rows[1][0]
    assert "warm" in rows[2][0] and rows[2][4] == "8.0x"
    assert r.heap_note(benches) == "fresh heap"


def test_corpus_targets_are_judged_and_their_row_counts_printed():
    """The benchncnn corpus benchmarks (bench/bench_ncnn_corpus.py): a test_target_* row with
    its target, met or not by the median, and how many corpus rows it predicted or fitted."""
    r = _report()
    benches = [_bench("test_target_ncnn_corpus_predict", 1.5, what="corpus", net="35 networks", target_s=20.0,
                      predicted_rows=5937),
               _bench("test_target_ncnn_vulkan_fit", 400.0, what="fit", net="corpus", target_s=300.0,
                      fitted_rows=865)]
    targets, others = r.benchmark_rows(benches)
    assert others == []
    by = {row[0].split("`")[1]: row for row in targets}
    assert by["test_target_ncnn_corpus_predict"][5:] == ["< 20.00 s", "yes", "5,937 corpus rows predicted"]
    assert by["test_target_ncnn_vulkan_fit"][5:] == ["< 300.00 s", "**no**", "865 corpus rows fitted"]
