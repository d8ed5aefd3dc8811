"""The `augur` command as a user runs it: outputs, keys, and bad input -> one line, exit 2."""
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import prototxt

from augur_sim.cli import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_nets_lists_the_zoo(capsys):
    rc, out, _ = run(capsys, "nets")
    assert rc == 0
    for name in ("resnet50", "mobilenet_v2", "efficientnet_b0", "shufflenet_v2_x1_0"):
        assert name in out


def test_analyze_json_keys_and_values(capsys):
    rc, out, _ = run(capsys, "analyze", "resnet50", "--format", "json", "--batch", "2")
    assert rc == 0
    d = json.loads(out)
    assert {"net", "batch", "conventions", "total", "layers"} <= set(d)
    assert d["batch"] == 2
    assert {"macs", "flops", "params", "weight_bytes", "activation_bytes"} <= set(d["total"])
    assert d["total"]["macs"] == 2 * 4_089_184_256
    assert d["total"]["params"] == 25_557_032
    layer = d["layers"][1]
    assert {"name", "type", "input_shapes", "output_shape", "macs", "flops", "params"} <= set(layer)


def test_analyze_csv_one_row_per_layer(capsys):
    rc, out, _ = run(capsys, "analyze", str(prototxt("squeezenet_v1.1")), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    import augur_sim
    nc = augur_sim.analyze(prototxt("squeezenet_v1.1"))
    assert rc == 0 and len(rows) == len(nc.layers)
    # The file declares batch 10; SOURCES.md derives 0.388 GMACs per image.
    assert sum(int(r["macs"]) for r in rows) == nc.total.macs
    assert abs(nc.total.macs / 10 / 0.388e9 - 1) < 0.001


def test_analyze_table_has_totals_and_conventions(capsys):
    rc, out, _ = run(capsys, "analyze", "alexnet", "--input-shape", "1x3x224x224", "--dtype", "fp16")
    assert rc == 0
    assert "TOTAL" in out and "conventions:" in out and "dtype fp16" in out


def test_estimate_json_keys(capsys):
    rc, out, _ = run(capsys, "estimate", "mobilenet_v2", "--hw", "jetson_tx2", "--processor", "gpu",
                     "--format", "json", "--precision", "fp16")
    assert rc == 0
    d = json.loads(out)
    for k in ("time_ms", "macs", "flops", "params", "weight_bytes", "peak_activation_bytes",
              "peak_memory_bytes", "dram_bytes", "energy_mj"):
        assert k in d["total"], k
    assert d["total"]["time_ms"] > 0
    assert {"hw", "processor", "batch", "precision", "assumptions"} <= set(d)
    assert {"conventions", "fusion_rules", "efficiency_source"} <= set(d["assumptions"])
    l = d["layers"][1]
    assert {"name", "type", "time_ms", "flops", "dram_bytes", "bound"} <= set(l)
    assert abs(sum(x["time_ms"] for x in d["layers"]) - d["total"]["time_ms"]) < 1e-9


def test_estimate_table_tells_where_time_goes(capsys):
    rc, out, _ = run(capsys, "estimate", "vgg16", "--hw", "jetson_nano", "--batch", "128", "--policy", "caffe")
    assert rc == 0
    assert "where the time goes" in out and "by bound:" in out
    assert "WARNING: does not fit" in out  # VGG-16 at batch 128 keeps ~8 GB of blobs: a Nano has 4 GB


def test_hw_list_show_check(capsys, tmp_path):
    rc, out, _ = run(capsys, "hw", "list")
    assert rc == 0 and "nvidia_h100_sxm" in out and "jetson_tx2" in out
    # Beside each spec, the corpus-fitted models that price it and by which class: a CPU whose
    # clusters name their cores by its ISA class, an older spec without core types by the shared
    # values, a Vulkan spec's GPU by its GPU class, the GPU kernel model by SM architecture.
    rows = {ln.split()[0]: ln for ln in out.splitlines()[2:]}
    assert "cpu: ncnn (armv8-neon)" in rows["raspberry_pi_4_1800"]
    assert "cpu: ncnn (shared values)" in rows["jetson_tx1"] and "cpu: ncnn (armv8-neon)" in rows["raspberry_pi_4"]
    assert "gpu: ncnn-vulkan (mali" in rows["rockchip_rk3588_vulkan"] and "cpu: ncnn (" in rows["rockchip_rk3588_vulkan"]
    assert "gpu: pytorch-eager, pytorch-cudagraph (sm_90)" in rows["nvidia_h200"] and "ncnn" not in rows["nvidia_h200"]
    # And what `augur estimate NET --hw NAME` runs: the default processor's default runtime.
    assert out.splitlines()[0].split()[1:4] == ["default", "runtime", "(processor)"]
    for name, default in [("rockchip_rk3588", "ncnn (cpu)"), ("rockchip_rk3588_vulkan", "ncnn-vulkan (gpu)"),
                          ("nvidia_h200", "pytorch-cudagraph (gpu)"), ("jetson_tx2", "cudnn (gpu)"),
                          ("raspberry_pi_4", "onnxruntime (cpu)")]:
        assert rows[name].split("  ")[0] == name and default in rows[name], (name, rows[name])
    all_names = set(rows)
    # Filters, for a user choosing among the GPUs one stack can price: names and globs as `augur
    # sweep --hw` takes them, a processor kind, a runtime (a spec's or a built-in model).
    rc, out, _ = run(capsys, "hw", "list", "nvidia_*", "--runtime", "pytorch-cudagraph", "--format", "json")
    got = {d["name"]: d for d in json.loads(out)["devices"]}
    assert rc == 0 and {"nvidia_h200", "nvidia_rtx3090", "nvidia_l4"} <= set(got)
    assert "nvidia_rtx3090_vulkan" not in got and all(n.startswith("nvidia_") for n in got)
    assert got["nvidia_rtx3090"]["default_runtime"] == "pytorch-cudagraph"
    rc, out, _ = run(capsys, "hw", "list", "--kind", "gpu", "--format", "csv")
    names = {ln.split(",")[0] for ln in out.splitlines()[1:]}
    assert rc == 0 and "jetson_tx2" in names and "raspberry_pi_4" not in names and names < all_names
    rc, out, _ = run(capsys, "hw", "list", "raspberry_pi_4,rockchip_rk3588", "--runtime", "ncnn")
    assert rc == 0 and {ln.split()[0] for ln in out.splitlines()[2:]} == {"raspberry_pi_4", "rockchip_rk3588"}
    rc, out, _ = run(capsys, "hw", "list", "raspberry_pi_4", "--kind", "gpu")
    assert rc == 0 and out.strip() == "no shipped device matches"
    for argv, want in ((["zz*"], "'zz*' matches no shipped device name"),
                       (["--runtime", "pytorch"], "no listed device runs 'pytorch' (did you mean pytorch-eager?); "
                                                  "runtimes: caffe-cublas, ")):
        rc, out, err = run(capsys, "hw", "list", *argv)
        assert rc == 2 and out == "" and want in err and len(err.strip().splitlines()) == 1, err
    rc, out, _ = run(capsys, "hw", "show", "rockchip_rk3588")
    assert rc == 0 and out.splitlines()[-1] == ("  fitted models (class; a CPU: its big cores): "
                                                "cpu: ncnn (armv8.2-fp16-dot)")
    rc, out, _ = run(capsys, "hw", "show", "nvidia_a100")
    # A100 SXM4 fp32: 108 SMs x 128 FLOP/cycle x 1.41 GHz = 19,491.8 GFLOP/s
    assert rc == 0 and out.startswith("nvidia_a100:") and "peak GFLOP/s: fp32 19,491.8" in out
    example = Path(__file__).resolve().parents[1] / "hwspecs" / "examples" / "tx2_2x_bw.yaml"
    rc, out, _ = run(capsys, "hw", "check", str(example))
    assert rc == 0 and "ok: tx2_2x_bw" in out
    bad = tmp_path / "dev.yaml"
    bad.write_text("name: dev\ndescription: x\nmemory_gib: -1\nsources: []\nprocessors: {}\n")
    rc, out, err = run(capsys, "hw", "check", str(bad))
    assert rc == 2 and out == "" and "dev.yaml:3: memory_gib" in err


@pytest.mark.parametrize("argv, needle", [
    (["analyze", "no_such_net"], "neither a file nor a network"),
    (["analyze", "resnet50", "--batch", "0"], "--batch must be a positive integer"),
    (["analyze", "resnet50", "--input-shape", "1x3xfoo"], "--input-shape"),
    (["estimate", "resnet50", "--hw", "no_such_device"], "no_such_device"),
    (["estimate", "resnet50", "--hw", "jetson_tx2", "--processor", "npu"], "has no processor 'npu'"),
    (["estimate", "resnet50", "--hw", "jetson_tx2", "--processor", "gpu", "--threads", "2"], "CPU processors"),
    (["cachesim", "resnet50", "nope", "--hw", "jetson_tx2"], "no layer 'nope'"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_descriptor_names_file_and_line(capsys, tmp_path):
    bad = tmp_path / "bad.prototxt"
    bad.write_text('name: "x"\ninput: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\n'
                   'layer { name: "c" type: "Convolution" bottom: "data" top: "c"\n'
                   '  convolution_param { num_output: 4 kernel_size: 9 } }\n')
    rc, _, err = run(capsys, "analyze", str(bad))
    assert rc == 2 and "bad.prototxt:7" in err and "layer 'c'" in err


def test_output_file_is_written_whole_or_not_at_all(capsys, tmp_path):
    out = tmp_path / "r.json"
    rc, _, _ = run(capsys, "analyze", "resnet18", "--format", "json", "--out", str(out))
    assert rc == 0 and json.loads(out.read_text())["net"] == "resnet18"
    missing = tmp_path / "nope" / "r.json"
    rc, _, err = run(capsys, "analyze", "resnet18", "--out", str(missing))
    assert rc == 2 and not missing.exists()


def test_cachesim_reports_levels(capsys):
    rc, out, _ = run(capsys, "cachesim", "mobilenet_v2", "stage1.dw", "--hw", "jetson_tx2", "--processor", "cpu")
    assert rc == 0 and "L1" in out and "L2" in out and "hit rate" in out


def test_console_script_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "augur_sim.cli", "analyze", "nonexistent.prototxt"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("augur: error: nonexistent.prototxt")


def test_roofline_plot_is_a_png_and_bad_suffix_leaves_nothing(capsys, tmp_path):
    png = tmp_path / "roof.png"
    rc, _, _ = run(capsys, "estimate", "resnet18", "--hw", "jetson_tx2", "--plot", str(png))
    assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "roof.bmp"
    rc, _, err = run(capsys, "estimate", "resnet18", "--hw", "jetson_tx2", "--plot", str(bad))
    assert rc == 2 and ".png" in err and not bad.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["roof.png"]  # no temp file left behind


def test_export_and_whatif_honour_input_shape(capsys, tmp_path):
    import onnx
    path = tmp_path / "s.onnx"
    rc, _, _ = run(capsys, "export", "squeezenet1_1", "--input-shape", "1x3x160x160", "--out", str(path))
    assert rc == 0
    dims = [d.dim_value for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 160, 160]
    args = ("whatif", "squeezenet1_1", "--hw", "jetson_tx2", "--set", "gpu.dram_bw_gbs=51.2", "--format", "json")
    rc, small, _ = run(capsys, *args, "--input-shape", "1x3x160x160")
    rc2, full, _ = run(capsys, *args)
    assert rc == rc2 == 0
    # (160/224)^2 of the work: the smaller input must be estimated faster
    assert json.loads(small)["base"]["time_ms"] < json.loads(full)["base"]["time_ms"]


def test_every_commands_help_prints(capsys):
    """`augur CMD --help` for every command and hw subcommand exits 0 with its usage (a help
    text with a bare '%' made argparse raise inside `augur estimate --help`)."""
    import argparse

    from augur_sim.cli import build_parser
    parser = build_parser(every=True)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = [[c] for c in sub.choices]
    hw_sub = next(a for a in sub.choices["hw"]._actions if isinstance(a, argparse._SubParsersAction))
    commands += [["hw", c] for c in hw_sub.choices]
    assert ["estimate"] in commands and ["hw", "list"] in commands
    for argv in commands:
        with pytest.raises(SystemExit) as e:
            main([*argv, "--help"])
        assert e.value.code == 0, argv
        assert capsys.readouterr().out.startswith("usage: augur " + " ".join(argv)), argv


def test_estimate_top_ranks_kernels_in_csv_and_json_too(capsys):
    """--top N means the N slowest kernels whatever the format: CSV gives their rows (it used to
    print every layer row, --top silently ignored), JSON a 'kernels' list of them."""
    args = ("estimate", "resnet18", "--hw", "jetson_tx2")
    rc, out, _ = run(capsys, *args, "--view", "kernels", "--format", "csv")
    every = list(csv.DictReader(io.StringIO(out)))
    slowest = sorted(every, key=lambda r: -float(r["time_ms"]))[:3]
    rc2, out, _ = run(capsys, *args, "--top", "3", "--format", "csv")
    top = list(csv.DictReader(io.StringIO(out)))
    assert rc == rc2 == 0 and len(every) > 3
    assert [r["kernel"] for r in top] == [r["kernel"] for r in slowest]
    rc, out, _ = run(capsys, *args, "--top", "3", "--format", "json")
    assert rc == 0 and [k["kernel"] for k in json.loads(out)["kernels"]] == [r["kernel"] for r in slowest]
    with pytest.raises(SystemExit):
        main(["estimate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "CSV: their rows; JSON: a 'kernels' list of them (not with --group-by)" in help_text


TRACE_NET = """\
name: trace
input: {shape: [1, 8, 12, 12]}
layers:
  - pw: {conv: {out: 16, k: 1}}
  - dw: {conv: {k: 3, s: 2, p: 1, g: dw}}
"""


@pytest.mark.parametrize("layer", ["pw", "dw"])
def test_cachesim_access_count_is_the_simulators(tmp_path, monkeypatch, layer):
    """cachesim refuses a layer over the simulator's limit before the replay, with its access
    count: that count must be exactly the one the replay makes (GEMM and depthwise)."""
    import augur_sim.commands.cachesim as cli_cs
    import augur_sim.engine.cachesim as engine_cs
    from augur_sim.errors import AugurError
    from augur_sim.frontends import load_net
    (tmp_path / "trace.yaml").write_text(TRACE_NET)
    graph = load_net(str(tmp_path / "trace.yaml"))
    seen = []
    monkeypatch.setattr(cli_cs, "_check_simulable", lambda name, n: seen.append(n))
    cli_cs.cachesim_report(graph, layer, "jetson_tx2", "cpu")
    (n,) = seen
    monkeypatch.setattr(engine_cs, "MAX_TRACE_ACCESSES", n - 1)
    with pytest.raises(AugurError, match="too large for trace simulation"):
        cli_cs.cachesim_report(graph, layer, "jetson_tx2", "cpu")
    monkeypatch.setattr(engine_cs, "MAX_TRACE_ACCESSES", n)
    cli_cs.cachesim_report(graph, layer, "jetson_tx2", "cpu")


def test_cachesim_too_large_layer_says_what_to_do_in_user_terms(capsys):
    rc, out, err = run(capsys, "cachesim", "resnet50", "layer1.0.conv2", "--hw", "jetson_tx2")
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "2.37e+08" in err and "2e+08" in err and "`augur estimate`" in err and "--input-shape" in err
    for internal in ("cachesim.", "replay_", "engine.", "traffic"):
        assert internal not in err.replace("prices its traffic", ""), err


# ---- Names, headers and limits a user review found wanting (2026-12-03).

def test_misspelled_runtime_gets_a_suggestion(capsys):
    for typo in ("ncn", "NCNN"):
        rc, _, err = run(capsys, "estimate", "mobilenet_v2", "--hw", "raspberry_pi_5", "--runtime", typo)
        assert rc == 2 and "(did you mean ncnn" in err, err


def test_unknown_device_suggests_without_dumping_every_name(capsys):
    rc, _, err = run(capsys, "estimate", "mobilenet_v2", "--hw", "raspberry_pi_5x")
    assert rc == 2 and "(did you mean raspberry_pi_5" in err and "`augur hw list`" in err
    assert "allwinner_h2plus" not in err and len(err) < 300, err


def test_summary_header_names_runtime_and_precision(capsys):
    rc, out, _ = run(capsys, "estimate", "resnet50", "--hw", "jetson_tx2", "--precision", "fp16",
                     "--format", "summary")
    header = out.splitlines()[1]
    assert rc == 0 and header.startswith("resnet50 on jetson_tx2/gpu") and "cudnn" in header and "fp16" in header


def test_analyze_units_line_names_only_what_analyze_shows(capsys):
    for view in (["--top", "3"], ["--group-by", "op"]):
        rc, out, _ = run(capsys, "analyze", "resnet50", *view)
        last = out.splitlines()[-1]
        assert rc == 0 and last.startswith("units:") and "time" not in last and "energy" not in last, last


def test_estimate_and_sweep_share_one_batch_limit(capsys, tmp_path):
    from augur_sim.graph import MAX_BATCH
    big = str(MAX_BATCH)
    rc, _, err = run(capsys, "estimate", "squeezenet1_1", "--hw", "jetson_tx2", "--batch", str(MAX_BATCH + 1))
    assert rc == 2 and f"up to {MAX_BATCH}" in err
    rc, _, err = run(capsys, "sweep", "--nets", "squeezenet1_1", "--hw", "jetson_tx2", "--batch", big,
                     "--out", str(tmp_path / "r.csv"))
    assert rc == 0, err
