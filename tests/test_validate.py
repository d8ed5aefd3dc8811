"""validate: a tiny network run in ONNX Runtime, measured vs predicted per kernel group."""
import json

import pytest

from augur_sim.cli import main
from augur_sim.graph import GraphBuilder, Layer
from augur_sim.measure.validate import validate, validate_dict, validate_table

HW = "intel_i7_1185g7"  # any CPU spec with an onnxruntime runtime; the numbers are not judged here


def tiny_net():
    """conv+bn+relu, conv+bn, residual add+relu, a depthwise conv, pool, fc: every fusion
    pattern ORT rewrites (BN folding, FusedConv / NCHWc Conv+Sum, Reorder nodes)."""
    b = GraphBuilder("tiny")
    b.add_input("x", (1, 16, 32, 32))
    conv = {"kernel": (3, 3), "pad": (1, 1, 1, 1), "bias": False}
    b.add_layer(Layer("c1", "conv", {**conv, "out_channels": 32}, ("x",), ("c1",)))
    b.add_layer(Layer("bn1", "batchnorm", {"affine": True}, ("c1",), ("bn1",)))
    b.add_layer(Layer("r1", "act", {"fn": "relu"}, ("bn1",), ("r1",)))
    b.add_layer(Layer("c2", "conv", {**conv, "out_channels": 32}, ("r1",), ("c2",)))
    b.add_layer(Layer("bn2", "batchnorm", {"affine": True}, ("c2",), ("bn2",)))
    b.add_layer(Layer("add", "eltwise", {"fn": "sum"}, ("bn2", "r1"), ("add",)))
    b.add_layer(Layer("r2", "act", {"fn": "relu"}, ("add",), ("r2",)))
    b.add_layer(Layer("dw", "conv", {**conv, "out_channels": 32, "group": 32}, ("r2",), ("dw",)))
    b.add_layer(Layer("pool", "pool", {"mode": "avg", "global": True}, ("dw",), ("pool",)))
    b.add_layer(Layer("fc", "fc", {"out_features": 10, "axis": 1}, ("pool",), ("fc",)))
    return b.build()


@pytest.fixture(scope="module")
def result():
    return validate(tiny_net(), HW, threads=1, runs=3)


def test_every_compute_layer_is_in_exactly_one_group(result):
    g = tiny_net()
    compute = [n for n in g.order if g.layer(n).op != "input"]
    seen = [l for grp in result.groups for l in grp.layers]
    assert sorted(seen) == sorted(compute)  # each once, none missing
    # The convs ran: every group holding a conv or fc has measured and predicted time.
    for grp in result.groups:
        if g.layer(grp.name).op in ("conv", "fc"):
            assert grp.measured_s > 0 and grp.predicted_s > 0, grp
    # ORT's nodes all found a layer, and their times add up to the profiled total.
    assert result.unmapped_s == 0.0
    assert sum(x.measured_s for x in result.groups) == pytest.approx(result.node_sum_s, rel=1e-9)


def test_totals_are_wall_time_and_prediction(result):
    assert result.measured_s > 0 and result.wall_min_s <= result.measured_s <= result.wall_max_s
    assert result.predicted_s == pytest.approx(sum(x.predicted_s for x in result.groups), rel=1e-9)
    assert result.error_pct == pytest.approx(100 * (result.predicted_s / result.measured_s - 1))


def test_json_and_table(result):
    d = validate_dict(result)
    assert set(d["total"]) >= {"predicted_ms", "measured_ms", "error_pct", "node_sum_ms"}
    assert d["layers"] and all(set(l) >= {"name", "predicted_ms", "measured_ms", "error_pct"} for l in d["layers"])
    json.dumps(d)
    text = validate_table(result)
    assert "total: predicted" in text and "c1" in text


def test_cli_json_on_an_onnx_file(tmp_path, capsys):
    from augur_sim.measure.export import export_onnx
    path = tmp_path / "tiny.onnx"
    export_onnx(tiny_net(), path)
    rc = main(["validate", str(path), "--hw", HW, "--threads", "1", "--runs", "2", "--format", "json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["total"]["measured_ms"] > 0 and len(d["layers"]) >= 4


@pytest.mark.parametrize("args, needle", [
    (["validate", "no_such_net_xyz", "--hw", HW], "no_such_net_xyz"),
    (["validate", "{bad}", "--hw", HW, "--runs", "0"], "--runs"),
])
def test_bad_input_exit_2(args, needle, tmp_path, capsys):
    args = [a.replace("{bad}", str(tmp_path / "x.onnx")) for a in args]
    (tmp_path / "x.onnx").write_bytes(b"\x00not an onnx model")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_non_onnx_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    assert main(["validate", str(bad), "--hw", HW]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("augur: error:")


def test_memory_is_measured_and_reported(result):
    m = result.memory
    assert m is not None and m.samples == 3
    # A fresh ORT process with a session of this tiny net grows by a few MiB (the empty
    # session alone is ~10 MiB on the reference host); never zero, never absurd.
    assert 1 << 20 < m.measured_peak_rss_bytes < 1 << 30
    assert m.predicted_peak_bytes > 0
    assert abs(m.error - (m.predicted_peak_bytes / m.measured_peak_rss_bytes - 1)) < 1e-12
    d = validate_dict(result)["memory"]
    assert set(d) >= {"measured_peak_rss_bytes", "predicted_peak_bytes", "error"}
    assert "measured peak RSS" in validate_table(result)


def _foreign_spec(tmp_path, cpu="AMD EPYC 7B13 64-Core Processor", isa="[sse4_2, avx, avx2, fma]",
                  threads=1):
    """The calibrated host spec with its `host:` section replaced (another machine)."""
    from pathlib import Path

    from augur_sim.hw import load_hw
    text = Path(load_hw("host_xeon_kvm2c_1t").file).read_text()
    host = (f'host:\n  cpu_model: "{cpu}"\n  cores: 2  # src: os\n  threads: {threads}  # src: cal\n'
            f"  isa: {isa}\n")
    text = text[:text.index("host:\n")] + host + text[text.index("processors:\n"):]
    i = text.index("name: ")
    text = text[:i] + "name: foreign_host" + text[text.index("\n", i):]
    p = tmp_path / "foreign_host.yaml"
    p.write_text(text)
    return str(p)


_TINY_YAML = """name: tiny
description: test
input: {shape: [1, 8, 16, 16]}
layers:
  - c1: {conv: {out: 16, k: 3, p: 1}, bn: true, act: relu}
  - pool: {gap: true}
  - flat: {flatten: true}
  - fc: {fc: 10}
"""


def test_validate_warns_on_a_foreign_spec(tmp_path, capsys):
    spec = _foreign_spec(tmp_path)
    v = validate(tiny_net(), spec, threads=1, runs=1, memory_samples=0)
    text = " ".join(v.warnings)
    assert "CPU model" in text and "AMD EPYC 7B13" in text
    assert "ISA flags differ" in text and "avx512f" in text
    assert "WARNING" in validate_table(v)
    assert validate_dict(v)["warnings"] == list(v.warnings)
    # The CLI says it on stderr as well as in the report.
    net = tmp_path / "tiny.yaml"
    net.write_text(_TINY_YAML)
    assert main(["validate", str(net), "--hw", spec, "--threads", "1", "--runs", "1",
                 "--memory-samples", "0"]) == 0
    err = capsys.readouterr().err
    assert "augur validate: WARNING" in err and "CPU model" in err


def test_validate_warns_on_other_thread_count_only(tmp_path):
    from augur_sim.measure.machine import machine_info
    from augur_sim.measure.hostcheck import isa_subset
    m = machine_info()
    spec = _foreign_spec(tmp_path, cpu=m.cpu_model, isa="[" + ", ".join(isa_subset(m.flags)) + "]", threads=2)
    v = validate(tiny_net(), spec, threads=1, runs=1, memory_samples=0)
    assert any("threads: spec calibrated with 2" in w for w in v.warnings)
    assert not any("CPU model" in w or "ISA" in w for w in v.warnings)


def test_hostcheck_no_host_section_is_a_warning():
    from augur_sim.measure.hostcheck import host_mismatches

    class M:
        cpu_model, cores, flags = "x", 2, frozenset({"avx2"})
    assert "no calibration host" in host_mismatches(None, M, 1)[0]
    same = {"cpu_model": "x", "cores": 2, "threads": 1, "isa": ["avx2"]}
    assert host_mismatches(same, M, 1) == []
