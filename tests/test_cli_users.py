"""Issue 14, CLI as users type it (a real shell: unquoted globs expanded, repeated options):
items 1 (lists and one error prefix), 2 (whatif wording), 3 (precision), 10 (--lenient),
11 (summary views)."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def sh(cmd: str, cwd=REPO):
    """Run `augur ...` through /bin/sh as typed (globs expand in the shell, not in augur)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    line = cmd.replace("augur ", f"{sys.executable} -m augur_sim.cli ", 1)
    r = subprocess.run(line, shell=True, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    return r.returncode, r.stdout, r.stderr


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_sweep_repeated_hw_keeps_every_device(tmp_path):
    out = tmp_path / "r.csv"
    rc, _, err = sh(f"augur sweep --nets squeezenet1_1 --hw jetson_nano --hw raspberry_pi_4 --hw jetson_tx2 "
                    f"--out {out}")
    assert rc == 0, err
    assert {r["hw"] for r in _rows(out)} == {"jetson_nano", "raspberry_pi_4", "jetson_tx2"}


def test_sweep_space_lists_unquoted_globs_and_commas(tmp_path):
    out = tmp_path / "r.csv"
    # nets/s*.yaml is expanded by the shell into several words; --batch takes two words.
    rc, _, err = sh(f"augur sweep --nets nets/squeezenet*.yaml resnet18 --hw jetson_nano,raspberry_pi_4 "
                    f"--batch 1 8 --precision fp32 fp16 --out {out}")
    assert rc == 0, err
    rows = _rows(out)
    nets = {r["net"] for r in rows}
    assert nets == {"squeezenet1_0", "squeezenet1_1", "resnet18"}
    assert {r["batch"] for r in rows} == {"1", "8"} and {r["precision"] for r in rows} == {"fp32", "fp16"}
    assert len(rows) == 3 * 2 * 2 * 2


def test_one_error_prefix_with_a_hint():
    rc, out, err = sh("augur estimate resnet18 --hw jetson_nano --bogus 3")
    assert rc == 2 and out == ""
    assert err.count("augur: error:") == 1 and "augur: error: augur" not in err
    assert "see `augur" in err and err.count("\n") == 1


def test_single_valued_option_given_twice_is_refused():
    rc, _, err = sh("augur estimate resnet18 --hw jetson_nano --hw raspberry_pi_4")
    assert rc == 2 and "--hw given twice" in err and "augur sweep" in err


def test_whatif_clock_wording_as_typed():
    rc, out, err = sh("augur whatif mobilenet_v2 --hw jetson_tx2 --vary gpu.clock_ghz=0.3:2.0:8")
    assert rc == 0, err
    assert "compute -> memory bound at gpu.clock_ghz" in out and "memory -> compute" not in out
    assert "scale with gpu.clock_ghz" in out


def test_estimate_precision_fallback_warns_in_table_and_json():
    rc, out, err = sh("augur estimate resnet50 --hw jetson_nano --precision int8")
    assert rc == 0 and "precision used fp16 (requested int8)" in out and "WARNING: int8 requested" in out
    rc, out, err = sh("augur estimate resnet50 --hw raspberry_pi_4 --precision fp16 --format json")
    d = json.loads(out)
    assert d["precision_used"] == "fp32" and d["warnings"]


def _gather_model(path):
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    emb = numpy_helper.from_array(np.ones((100, 16), np.float32), "emb")
    w = numpy_helper.from_array(np.ones((16, 8), np.float32), "w")
    m = helper.make_model(helper.make_graph(
        [helper.make_node("Gather", ["emb", "ids"], ["e"], axis=0, name="lookup"),
         helper.make_node("MatMul", ["e", "w"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12, 8])], [emb, w]),
        opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(m, str(path))


@pytest.mark.parametrize("cmd", ["analyze {m}", "estimate {m} --hw jetson_nano", "whatif {m} --hw jetson_nano "
                                 "--set gpu.dram_bw_gbs=50", "cachesim {m} mm --hw jetson_nano"])
def test_lenient_on_every_command_that_reads_onnx(tmp_path, cmd):
    m = tmp_path / "emb.onnx"
    _gather_model(m)
    rc, _, err = sh("augur " + cmd.format(m=m))
    assert rc == 2 and "Gather" in err
    # No contradiction: the message does not list Gather among the supported ops.
    assert "constant" in err and "supported ONNX ops:" not in err
    rc, out, err = sh("augur " + cmd.format(m=m) + " --lenient")
    assert rc == 0, err


def test_lenient_export(tmp_path):
    m = tmp_path / "emb.onnx"
    _gather_model(m)
    rc, _, err = sh(f"augur export {m} --out {tmp_path / 'o.onnx'} --lenient")
    assert "unrecognized arguments" not in err


def test_top_group_by_and_summary(tmp_path):
    rc, out, err = sh("augur estimate mobilenet_v2 --hw jetson_tx2 --top 8")
    assert rc == 0, err
    assert "8 of 153 kernels shown" in out and "cum. %" in out
    rc, out, _ = sh("augur estimate mobilenet_v2 --hw jetson_tx2 --group-by op --format json")
    d = json.loads(out)
    shares = [g["time_share"] for g in d["groups"]]
    assert abs(sum(shares) - 1) < 1e-9 and shares == sorted(shares, reverse=True)
    assert abs(sum(g["time_ms"] for g in d["groups"]) - d["total"]["time_ms"]) < 1e-9
    rc, out, _ = sh("augur estimate mobilenet_v2 --hw jetson_tx2 --group-by stage")
    assert "stage2" in out and "% time" in out
    rc, out, _ = sh("augur estimate mobilenet_v2 --hw jetson_tx2 --format summary")
    assert "% params" in out and "% MACs" in out and "Estimated peak memory (MiB)" in out
    rc, out, _ = sh("augur analyze mobilenet_v2 --top 5")
    assert "5 of 153 layers shown" in out
    rc, _, err = sh("augur analyze mobilenet_v2 --top 0")
    assert rc == 2 and "--top" in err


def test_units_no_exponents_and_binary_sizes():
    rc, out, _ = sh("augur estimate resnet50 --hw raspberry_pi_4")
    assert "e+0" not in out and "energy 1.256 J" in out.replace(",", "")
    assert " MB" not in out and "MiB" in out and "units: time ms; sizes binary" in out


def test_generated_networks_addressable_by_name(tmp_path):
    # Item 13: the name a sweep's --generate gives a network estimates and exports it.
    from augur_sim.estimator import estimate
    from augur_sim.explore import sweep as S
    from augur_sim.frontends import load_net
    spec = S.generated_specs([("resnet", 3)], 0)[2]
    assert spec.name == "resnet-s0-00002"
    g = load_net("resnet-s0-00002")
    assert sum(1 for _ in g.order) == sum(1 for _ in spec.gen.graph().order)
    pack = S.build_pack([S.expand_hw(["jetson_nano"])[0]], None, ["fp32"])
    row = S.evaluate_item(S.Item(spec, 1, "fp32"), pack)[0]
    assert estimate(g, "jetson_nano").total.time_s * 1e3 == pytest.approx(row["time_ms"], rel=1e-9)
    rc, out, err = sh(f"augur export resnet-s0-00002 --out {tmp_path / 'g.onnx'}")
    assert rc == 0 and (tmp_path / "g.onnx").stat().st_size > 0, err
    rc, out, err = sh("augur estimate resnet-s0-00002 --hw jetson_nano --format json")
    assert rc == 0 and json.loads(out)["net"] == "resnet-s0-00002"


# ---------------------------------------------------------------- item 13: sweep to stdout, Pareto options

def test_sweep_out_dash_writes_the_table_to_stdout(tmp_path):
    rc, out, err = sh("augur sweep --nets squeezenet1_1 resnet18 --hw jetson_nano raspberry_pi_4 --out - --progress",
                      cwd=tmp_path)
    assert rc == 0, err
    assert out.startswith('"net","net_source"') and out.count("\n") == 5   # the header and 4 rows only
    assert "rows/s" in err                                               # the progress bar on stderr
    rows = list(csv.DictReader(out.splitlines()))
    assert {(r["net"], r["hw"]) for r in rows} == {(n, h) for n in ("squeezenet1_1", "resnet18")
                                                   for h in ("jetson_nano", "raspberry_pi_4")}
    # Only the table on stdout; the summary on stderr; no file or part folder left behind.
    assert "rows" in err and "net,net_source" not in err.replace('"', "")
    assert list(tmp_path.iterdir()) == []
    # The same rows as a results file, column for column.
    f = tmp_path / "r.csv"
    assert sh(f"augur sweep --nets squeezenet1_1 resnet18 --hw jetson_nano raspberry_pi_4 --out {f}")[0] == 0
    assert _rows(f) == rows
    rc, out, err = sh("augur sweep --nets squeezenet1_1 --hw jetson_nano --batch 1 4 --out - --format json")
    d = json.loads(out)
    assert rc == 0 and [r["batch"] for r in d] == [1, 4] and d[1]["throughput_ips"] > 0
    assert d[0]["time_ms"] == pytest.approx(float(next(r["time_ms"] for r in rows if r["net"] == "squeezenet1_1"
                                                       and r["hw"] == "jetson_nano")), rel=1e-12)


def test_sweep_out_dash_prints_nothing_on_error(tmp_path):
    rc, out, err = sh("augur sweep --nets squeezenet1_1 nosuchnet --hw jetson_nano --out -")
    assert rc == 2 and out == "" and err.count("\n") == 1 and "nosuchnet" in err
    rc, out, err = sh(f"augur sweep --nets squeezenet1_1 --hw jetson_nano --out {tmp_path / 'r.csv'} --format json")
    assert rc == 2 and "contradicts" in err and not (tmp_path / "r.csv").exists()


def _front_brute_force(pts):
    """Points no other point dominates (x lower is better, y higher is better)."""
    return {n for n, x, y in pts
            if not any(x2 <= x and y2 >= y and (x2 < x or y2 > y) for _, x2, y2 in pts)}


def test_pareto_axes_and_front_labels_as_typed(tmp_path):
    import re
    res = tmp_path / "r.csv"
    rc, _, err = sh(f"augur sweep --nets squeezenet1_1 resnet18 resnet50 mobilenet_v2 alexnet --generate resnet:4 "
                    f"--hw jetson_nano raspberry_pi_4 --out {res}")
    assert rc == 0, err
    rc, _, err = sh(f"augur plot {res} --pareto-x energy_mj --pareto-y params --image-format svg "
                    f"--out-prefix {tmp_path / 'p'}")
    assert rc == 0, err
    svg = (tmp_path / "p-pareto.svg").read_text()
    assert 'id="xlabel:energy_mj:min"' in svg and 'id="ylabel:params:max"' in svg
    labels = set(re.findall(r'id="label:([^"]+)"', svg))
    want = set()
    rows = _rows(res)
    # The two devices run different runtimes (cudnn, onnxruntime): their labels name them.
    for dev in ("jetson_nano/gpu (cudnn)", "raspberry_pi_4/cpu (onnxruntime)"):
        pts = [(r["net"], float(r["energy_mj"]), float(r["params"])) for r in rows
               if f"{r['hw']}/{r['processor']} ({r['runtime']})" == dev]
        front = _front_brute_force(pts)
        assert 0 < len(front) < len(pts)
        want |= {f"{dev}:{n}" for n in front}
    assert labels == want
    # Reversed direction and no labels; unknown quantities are one-line errors, nothing written.
    rc, _, err = sh(f"augur plot {res} --pareto-x peak_mib --pareto-y macs:min --pareto-labels none "
                    f"--image-format svg --out-prefix {tmp_path / 'q'}")
    svg = (tmp_path / "q-pareto.svg").read_text()
    assert rc == 0 and 'id="ylabel:macs:min"' in svg and 'id="label:' not in svg
    for bad in ("--pareto-x speed", "--pareto-y macs:most"):
        rc, _, err = sh(f"augur plot {res} {bad} --out-prefix {tmp_path / 'z'}")
        assert rc == 2 and err.count("\n") == 1 and "--pareto-" in err
    assert not list(tmp_path.glob("z-*"))


# ---------------------------------------------------------------- item 11: whatif grid in MiB

def test_whatif_grid_reports_dram_in_mib():
    rc, out, err = sh("augur whatif squeezenet1_1 --hw jetson_nano --vary gpu.dram_bw_gbs=25.6,51.2 --format json")
    assert rc == 0, err
    pts = json.loads(out)["points"]
    assert "dram_mb" not in pts[0]
    rc, est, _ = sh("augur estimate squeezenet1_1 --hw jetson_nano --format json")
    dram = json.loads(est)["total"]["dram_bytes"]
    assert pts[0]["gpu.dram_bw_gbs"] == 25.6
    assert pts[0]["dram_mib"] == pytest.approx(dram / 2**20, rel=1e-9)
    rc, out, _ = sh("augur whatif squeezenet1_1 --hw jetson_nano --vary gpu.dram_bw_gbs=25.6,51.2")
    assert "DRAM MiB" in out and " MB" not in out


# ---------------------------------------------------------------- item 11: the default table shows kernels

def _table_rows(out: str, first_head: str) -> list[list[str]]:
    lines = out.splitlines()
    i = next(k for k, l in enumerate(lines) if l.startswith(first_head + " "))
    rows = []
    for l in lines[i + 2:]:
        if not l.strip():
            break
        rows.append(l.split())
    return rows


def test_default_estimate_table_lists_executed_kernels():
    rc, out, err = sh("augur estimate mobilenet_v2 --hw raspberry_pi_4")
    assert rc == 0, err
    rows = _table_rows(out, "kernel")
    names = [r[0] for r in rows]
    # ONNX Runtime fuses conv+BN+ReLU6: one row each, the fused layers named in its type.
    assert "features0" in names and "features0.bn" not in names and "features0.relu6" not in names
    assert rows[names.index("features0")][1] == "conv+bn+relu6"
    rc, js, _ = sh("augur estimate mobilenet_v2 --hw raspberry_pi_4 --format json")
    layers = json.loads(js)["layers"]
    kernels = [l for l in layers if l["op"] != "input" and not l.get("fused_into")]
    assert names == [l["name"] for l in kernels]
    assert sum(float(r[3]) for r in rows) == pytest.approx(json.loads(js)["total"]["time_ms"], rel=2e-3)
    # The per-layer view on request: every layer, fused ones included.
    rc, out, _ = sh("augur estimate mobilenet_v2 --hw raspberry_pi_4 --view layers")
    lnames = [r[0] for r in _table_rows(out, "layer")]
    assert "features0.bn" in lnames and len(lnames) == sum(1 for l in layers if l["op"] != "input")
    # --top / --group-by / summary keep working on kernels; with --view layers they are refused.
    rc, out, _ = sh("augur estimate mobilenet_v2 --hw raspberry_pi_4 --top 5")
    assert rc == 0 and f"5 of {len(kernels)} kernels shown" in out
    rc, _, err = sh("augur estimate mobilenet_v2 --hw raspberry_pi_4 --view layers --top 5")
    assert rc == 2 and "--view layers" in err and err.count("\n") == 1


def test_kernel_csv_sums_to_the_total():
    rc, out, err = sh("augur estimate resnet18 --hw raspberry_pi_4 --format csv --view kernels")
    assert rc == 0, err
    rows = list(csv.DictReader(out.splitlines()))
    rc, js, _ = sh("augur estimate resnet18 --hw raspberry_pi_4 --format json")
    total = json.loads(js)["total"]
    assert sum(float(r["time_ms"]) for r in rows) == pytest.approx(total["time_ms"], rel=1e-9)
    assert sum(int(r["macs"]) for r in rows) == total["macs"]
    assert any(r["types"] == "conv+bn+relu" for r in rows)
    # The JSON gives the same kernel rows under "kernels" (beside its per-layer list).
    rc, js, err = sh("augur estimate resnet18 --hw raspberry_pi_4 --format json --view kernels")
    assert rc == 0, err
    ks = json.loads(js)["kernels"]
    assert [k["kernel"] for k in ks] == [r["kernel"] for r in rows]
    assert [k["types"] for k in ks] == [r["types"] for r in rows]
    assert [k["time_ms"] for k in ks] == pytest.approx([float(r["time_ms"]) for r in rows], rel=1e-6)
    rc, js, err = sh("augur estimate resnet18 --hw raspberry_pi_4 --format json --view kernels --top 3")
    top = json.loads(js)["kernels"]
    assert rc == 0 and len(top) == 3
    assert [k["time_ms"] for k in top] == sorted((k["time_ms"] for k in ks), reverse=True)[:3]
    rc, js, _ = sh("augur estimate resnet18 --hw raspberry_pi_4 --format json --view layers")
    assert rc == 0 and "kernels" not in json.loads(js) and json.loads(js)["total"] == total
    rc, _, err = sh("augur estimate resnet18 --hw raspberry_pi_4 --format summary --view kernels")
    assert rc == 2 and "--view" in err
