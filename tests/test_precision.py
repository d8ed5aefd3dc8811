"""Issue 14 items 3-4: the precision really used per kernel, a warning when the requested one
falls back, no speed-up from a precision the hardware lacks, and the spec file, runtime and
precision an estimate used, in its table header and its JSON."""
import json
from pathlib import Path

import pytest

from augur_sim.cli import main
from augur_sim.estimator import estimate
from augur_sim.explore import sweep as S
from augur_sim.explore import whatif as W
from augur_sim.hw import load_hw

REPO_HW = Path(__file__).resolve().parents[1] / "hwspecs"


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_int8_on_a_maxwell_gpu_runs_at_fp16():
    # The Nano's GPU (Maxwell GM20B) lists fp32 and fp16 rates, no int8: int8 falls back to fp16.
    i8 = estimate("resnet18", "jetson_nano", precision="int8")
    f16 = estimate("resnet18", "jetson_nano", precision="fp16")
    assert (i8.precision, i8.precision_used) == ("int8", "fp16")
    assert i8.total.time_s == pytest.approx(f16.total.time_s, rel=1e-12)
    assert i8.total.dram_bytes == pytest.approx(f16.total.dram_bytes, rel=1e-12)
    assert i8.total.peak_memory_bytes == f16.total.peak_memory_bytes
    assert len(i8.warnings) == 1 and "no int8 rate" in i8.warnings[0] and "costed at fp16" in i8.warnings[0]
    assert f16.warnings == () and f16.precision_used == "fp16"
    # The storage figure shrinks (a file of int8 weights), the run's memory does not.
    assert i8.weight_storage_bytes * 2 == f16.weight_storage_bytes


@pytest.mark.parametrize("prec", ["fp16", "int8"])
def test_tx1_cpu_has_only_fp32(prec):
    # The TX1's Cortex-A57 spec lists an fp32 rate only: no speed-up and no memory saving.
    low = estimate("resnet18", "jetson_tx1", processor="cpu", precision=prec)
    f32 = estimate("resnet18", "jetson_tx1", processor="cpu")
    assert low.precision_used == "fp32"
    assert low.total.time_s == f32.total.time_s
    assert low.total.peak_memory_bytes == f32.total.peak_memory_bytes
    assert low.total.energy_j == f32.total.energy_j
    assert f"no {prec} rate" in low.warnings[0]


def test_a_precision_the_hardware_has_still_speeds_up():
    # The TX2's Pascal GPU lists fp16: fp16 is used as asked, faster than fp32, no warning.
    f16 = estimate("resnet18", "jetson_tx2", processor="gpu", precision="fp16")
    f32 = estimate("resnet18", "jetson_tx2", processor="gpu")
    assert f16.precision_used == "fp16" and not f16.warnings
    assert f16.total.time_s < f32.total.time_s


def test_json_and_table_say_what_was_used(capsys):
    rc, out, err = run(capsys, "estimate", "resnet18", "--hw", "jetson_nano", "--precision", "int8",
                       "--format", "json")
    assert rc == 0
    d = json.loads(out)
    assert d["precision"] == "int8" and d["precision_used"] == "fp16"
    assert d["spec_file"].endswith("jetson_nano.yaml") and d["runtime"]
    assert {l["precision_used"] for l in d["layers"]} == {"fp16"}
    assert d["warnings"] and "no int8 rate" in d["warnings"][0]
    assert d["total"]["weight_storage_bytes"] < d["total"]["weight_bytes"]
    rc, out, err = run(capsys, "estimate", "resnet18", "--hw", "jetson_nano", "--precision", "int8")
    head = out.splitlines()[:3]
    assert head[1].startswith("spec hwspecs/jetson_nano.yaml   runtime cudnn   precision used fp16 (requested int8)")
    assert head[2].startswith("WARNING: int8 requested")
    rc, out, err = run(capsys, "estimate", "resnet18", "--hw", "jetson_nano")
    assert out.splitlines()[1] == "spec hwspecs/jetson_nano.yaml   runtime cudnn   precision used fp32"


def test_spec_file_is_the_file_really_read(tmp_path, capsys):
    src = load_hw("jetson_nano").file
    from pathlib import Path
    p = tmp_path / "jetson_nano.yaml"
    p.write_text((Path(__file__).resolve().parents[1] / src).read_text())
    d = json.loads(run(capsys, "estimate", "resnet18", "--hw", str(p), "--format", "json")[1])
    assert Path(d["spec_file"]).resolve() == p.resolve()


def test_sweep_costs_the_fallback_precision():
    devs = [load_hw("jetson_nano"), load_hw("host_xeon_kvm2c_1t")]
    pack = S.build_pack(devs, None, ["int8", "fp16"])
    net = S.expand_nets(["resnet18"])[0]
    i8 = {(r["hw"], r["processor"]): r for r in S.evaluate_item(S.Item(net, 1, "int8"), pack)}
    f16 = {(r["hw"], r["processor"]): r for r in S.evaluate_item(S.Item(net, 1, "fp16"), pack)}
    assert i8[("jetson_nano", "gpu")]["precision_used"] == "fp16"
    assert i8[("jetson_nano", "gpu")]["time_ms"] == pytest.approx(f16[("jetson_nano", "gpu")]["time_ms"])
    assert i8[("host_xeon_kvm2c_1t", "cpu")]["precision_used"] == "fp32"
    # The sweep's figures are the estimate's.
    e = estimate("resnet18", "jetson_nano", processor="gpu", precision="int8")
    assert i8[("jetson_nano", "gpu")]["time_ms"] == pytest.approx(e.total.time_s * 1e3, rel=1e-9)


def test_whatif_grid_costs_the_fallback_and_warns():
    g = W.grid("resnet18", "jetson_nano", [W.parse_vary("gpu.dram_bw_gbs=10,20")], precision="int8")
    e = estimate("resnet18", "jetson_nano", processor="gpu", precision="int8")
    assert g.baseline_time_s == pytest.approx(e.total.time_s, rel=1e-12)
    assert any("no int8 rate" in n for n in g.notes) and "WARNING: int8 requested" in W.grid_table(g)
    # A rate added by --vary makes int8 real at that point (and only there), under a runtime that
    # runs int8 layers (TensorRT; the default cudnn is PyTorch, which runs none on a GPU).
    g2 = W.grid("resnet18", "jetson_nano", [W.parse_vary("gpu.flop_per_cycle_per_unit.int8=256,2048")],
                precision="int8", runtime="tensorrt")
    assert g2.time_s[1] < g2.time_s[0]


def test_a_runtime_without_int8_costs_int8_at_fp16_on_a_gpu_that_has_it():
    """The T4 has an int8 tensor-core rate, but PyTorch (runtimes pytorch-*, cudnn) runs no int8
    layer on a GPU (`precisions: [fp32, fp16, bf16]`): int8 is costed at fp16 there, with a
    warning naming the runtime; TensorRT on the same GPU lists no limit and runs int8."""
    for rt in ("pytorch-cudagraph", "pytorch-eager", "cudnn"):
        i8 = estimate("resnet18", "nvidia_t4", runtime=rt, precision="int8")
        f16 = estimate("resnet18", "nvidia_t4", runtime=rt, precision="fp16")
        assert (i8.precision, i8.precision_used) == ("int8", "fp16"), rt
        assert i8.total.time_s == pytest.approx(f16.total.time_s, rel=1e-12)
        assert len(i8.warnings) == 1 and f"runtime {rt} runs no int8 layers" in i8.warnings[0]
        assert "no int8 rate" not in i8.warnings[0]
    trt = estimate("resnet18", "nvidia_t4", runtime="tensorrt", precision="int8")
    assert trt.precision_used == "int8" and trt.warnings == ()
    assert trt.total.time_s < estimate("resnet18", "nvidia_t4", runtime="tensorrt", precision="fp16").total.time_s
    # A sweep and a what-if grid cost it the same way.
    pack = S.build_pack([load_hw("nvidia_t4")], None, ["int8"])
    net = S.expand_nets(["resnet18"])[0]
    (row,) = S.evaluate_item(S.Item(net, 1, "int8"), pack)
    assert row["precision_used"] == "fp16"
    e = estimate("resnet18", "nvidia_t4", precision="int8")
    assert row["time_ms"] == pytest.approx(e.total.time_s * 1e3, rel=1e-9)
    g = W.grid("resnet18", "nvidia_t4", [W.parse_vary("gpu.dram_bw_gbs=320,640")], precision="int8")
    assert g.baseline_time_s == pytest.approx(e.total.time_s, rel=1e-12)
    assert any("runs no int8 layers" in n for n in g.notes)


def test_runtime_precisions_in_a_spec(tmp_path):
    """`precisions` on a spec's runtime: a precision outside the list falls back along int8 ->
    fp16 -> fp32 to the first the runtime lists; a value outside the vocabulary is a one-line
    error naming the file, line and YAML path."""
    from augur_sim.errors import SchemaError
    from augur_sim.hw import check_hw
    text = (REPO_HW / "nvidia_t4.yaml").read_text()
    only32 = text.replace("name: nvidia_t4", "name: t4_fp32_only").replace(
        "        fusion: [conv_bias, conv_bn, conv_relu, conv_eltwise, fc_bias, fc_relu, eltwise_relu]",
        "        fusion: [conv_bias, conv_bn, conv_relu, conv_eltwise, fc_bias, fc_relu, eltwise_relu]\n"
        "        precisions: [fp32]")
    assert only32 != text
    spec = tmp_path / "t4_fp32_only.yaml"
    spec.write_text(only32)
    for asked in ("fp16", "int8"):
        e = estimate("resnet18", str(spec), runtime="tensorrt", precision=asked)
        assert e.precision_used == "fp32" and "runs no " + asked in e.warnings[0]
    assert estimate("resnet18", str(spec), runtime="tensorrt").warnings == ()
    from augur_sim.hw import format_hw
    assert "runs fp32 only" in format_hw(load_hw(str(spec)))
    bad = tmp_path / "bad.yaml"
    bad.write_text(only32.replace("precisions: [fp32]", "precisions: [fp32, int4]"))
    with pytest.raises(SchemaError, match=r"bad.yaml:\d+: processors\.gpu\.runtimes\.tensorrt\.precisions.*int4"):
        check_hw(bad)
    # Every fallback ends at fp32: a list without it (or empty, or repeating one) is refused.
    bad = tmp_path / "sub" / "t4_fp32_only.yaml"
    bad.parent.mkdir()
    for value in ("[]", "[fp16, int8]"):
        bad.write_text(only32.replace("precisions: [fp32]", f"precisions: {value}"))
        with pytest.raises(SchemaError, match=r"t4_fp32_only.yaml:\d+: processors\.gpu\.runtimes\.tensorrt\.precisions: "
                                              r"expected the precisions the stack runs, fp32 among them"):
            check_hw(bad)
    bad.write_text(only32.replace("precisions: [fp32]", "precisions: [fp32, fp32]"))
    with pytest.raises(SchemaError, match=r"precisions\[1\]: 'fp32' listed twice"):
        check_hw(bad)
