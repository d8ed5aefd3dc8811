"""`augur report`: one self-contained HTML file whose every number equals the JSON of
`augur estimate --format json` (or is a sum or ratio of its fields).

The page is checked twice: as written (always), and as headless Chromium renders it (when
/usr/bin/chromium is present; skipped with the reason otherwise): the rendered DOM's
numbers against the JSON, the sort script run through a #sort= link, and a screenshot
that must show a real page rather than a blank one."""
from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from augur_sim.cli import main
from augur_sim.report_html import groups, stage_key, stage_names

CHROMIUM = "/usr/bin/chromium"
DEVICES = ["jetson_tx2", "raspberry_pi_4"]
MAX_BYTES = 2 * 1000 * 1000


class _Numbers(HTMLParser):
    """Collects every <span data-key> (key, device, exact value, scale, shown text), the
    layer table's rows and the <body> attributes."""

    def __init__(self):
        super().__init__()
        self.numbers, self.body, self.rows = [], {}, []
        self._cur, self._in_layers, self._row = None, False, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "table" and a.get("id") == "layers":
            self._in_layers = True
        if self._in_layers and tag == "tr":
            self._row = []
        if self._row is not None and tag == "td":
            self._row.append(a)
        if tag == "span" and "data-key" in a:
            self._cur = [a["data-key"], int(a["data-dev"]), float(a["data-v"]), float(a["data-scale"]), ""]

    def handle_data(self, data):
        if self._cur is not None:
            self._cur[4] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._cur is not None:
            self.numbers.append(tuple(self._cur))
            self._cur = None
        if tag == "tr" and self._row is not None:
            if self._row:
                self.rows.append(self._row)
            self._row = None
        if tag == "table":
            self._in_layers = False


def parse(text: str) -> _Numbers:
    p = _Numbers()
    p.feed(text)
    return p


def estimate_json(capsys, net, hw) -> dict:
    assert main(["estimate", net, "--hw", hw, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def expected(key: str, dev: int, js: list[dict]):
    """The value a number with this key must have, from the JSON alone; None when it comes
    from the hardware spec rather than the estimate (checked for consistency only)."""
    d = js[dev]
    parts = key.split(".")
    if parts[0] in ("total", "memory", "memory_model", "assumptions"):
        v = d
        for p in parts:
            v = v[int(p)] if isinstance(v, list) else v[p]
        return v
    if parts[0] == "layers":
        return d["layers"][int(parts[1])][parts[2]]
    if parts[0] == "placements":
        # Not in `augur estimate`'s JSON: the report adds them (test_ncnn_report_compares_placements
        # checks each against its own estimate).
        return d["placements"][int(parts[1])][parts[2]] if "placements" in d else None
    assert parts[0] == "derived", key
    kind = parts[1]
    t = d["total"]
    if kind == "bound_share":
        return t["bound_time_ms"][parts[2]] / sum(t["bound_time_ms"].values()) * 100
    if kind == "throughput_per_s":
        return d["batch"] / (t["time_ms"] / 1e3)
    if kind == "memory_share":
        return t["peak_memory_bytes"] / t["memory_capacity_bytes"] * 100
    if kind == "layer_share":
        return d["layers"][int(parts[2])]["time_ms"] / t["time_ms"] * 100
    if kind == "time_ratio":
        return t["time_ms"] / js[0]["total"]["time_ms"]
    if kind == "placement_ratio":
        if "placements" not in d:
            return None
        ts = [p["time_ms"] for p in d["placements"]]
        return ts[int(parts[2])] / min(ts)
    if kind in ("by_op", "by_stage"):
        field = parts[-1]
        name = ".".join(parts[2:-1])
        if kind == "by_op":
            members = [l for l in d["layers"] if l["op"] == name]
        else:
            names = stage_names(d["layers"])
            members = [l for l in d["layers"] if l["op"] != "input" and names[stage_key(l["output_shape"])] == name]
        assert members, key
        if field == "share":
            return sum(l["time_ms"] for l in members) / t["time_ms"] * 100
        if field == "activation_bytes":
            return sum(math.prod(l["output_shape"]) for l in members) * {"fp32": 4, "fp16": 2, "int8": 1}[d["precision"]]
        return sum(l[field] for l in members)
    return None  # peak_flops, dram_bw_gbs: from the spec


def check_numbers(page: _Numbers, js: list[dict]) -> int:
    """Every number's exact value equals the JSON's, and its text is that value rounded."""
    assert page.numbers
    for key, dev, v, scale, text in page.numbers:
        want = expected(key, dev, js)
        if want is not None:
            assert math.isclose(v, float(want), rel_tol=1e-9, abs_tol=1e-12), (key, dev, v, want)
        shown = text.replace(",", "").strip()
        dec = len(shown.split(".")[1]) if "." in shown else 0
        assert abs(float(shown) * scale - v) <= 0.5 * 10 ** -dec * scale * (1 + 1e-9) + 1e-12, (key, text, v)
    keys = {(k, d) for k, d, *_ in page.numbers}
    for dev, d in enumerate(js):
        for k in ("total.time_ms", "total.peak_memory_bytes", "total.energy_mj", "total.macs", "total.params",
                  "memory.caffe.peak_memory_bytes", "memory.reuse.peak_memory_bytes"):
            assert (k, dev) in keys, (k, dev)
        timed = [j for j, l in enumerate(d["layers"]) if l["op"] != "input"]
        assert all((f"layers.{j}.time_ms", dev) in keys for j in timed)
    return len(page.numbers)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """ResNet-50 on two devices, written by the CLI; (path, html text)."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "resnet50", "--hw", DEVICES[0], "--hw", DEVICES[1], "--out", str(out)]) == 0
    return out, out.read_text()


def test_report_takes_devices_as_sweep_does(tmp_path):
    """--hw A B (space-separated, as `augur sweep` takes it) and --hw A,B give the page --hw A --hw B gives."""
    def page(hw):
        out = tmp_path / "r.html"
        assert main(["report", "resnet18", *hw, "--out", str(out), "--no-command"]) == 0
        return re.sub(r"Generated [^<]*|<dc:date>[^<]*</dc:date>", "", out.read_text())
    ref = page(["--hw", DEVICES[0], "--hw", DEVICES[1]])
    assert DEVICES[1] in ref
    assert page(["--hw", DEVICES[0], DEVICES[1]]) == ref
    assert page(["--hw", f"{DEVICES[0]},{DEVICES[1]}"]) == ref


@pytest.fixture(scope="module")
def estimates():
    """The JSON of `augur estimate resnet50 --hw D --format json` for each device."""
    import contextlib
    import io
    out = []
    for hw in DEVICES:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["estimate", "resnet50", "--hw", hw, "--format", "json"]) == 0
        out.append(json.loads(buf.getvalue()))
    return out


def test_report_is_self_contained_small_and_shows_the_json_numbers(report, estimates):
    path, text = report
    assert path.stat().st_size < MAX_BYTES
    # Nothing to fetch: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text, re.I)
    assert "@import" not in text and not re.search(r"url\(\s*['\"]?(https?:|//)", text)
    for section in ("summary", "by-op", "by-stage", "memory", "roofline", "layers", "assumptions"):
        assert f'id="{section}' in text, section
    assert text.count('class="roofline"') == 2  # one chart per device
    page = parse(text)
    assert check_numbers(page, estimates) > 1000
    # The embedded data is the JSON itself.
    blob = re.search(r'<script type="application/json" id="augur-data">(.*?)</script>', text, re.S).group(1)
    assert json.loads(blob) == estimates
    # fits / does not fit as the JSON says
    assert text.count('class="badge ok">fits<') == sum(d["total"]["fits"] for d in estimates)


def test_groups_add_up_to_the_totals(estimates):
    for d in estimates:
        for by in ("op", "stage"):
            gs = groups(d, by)
            assert math.isclose(sum(g["time_ms"] for g in gs), d["total"]["time_ms"], rel_tol=1e-9)
            assert math.isclose(sum(g["share"] for g in gs), 1.0, rel_tol=1e-9)
            assert sum(g["layers"] for g in gs) == sum(l["op"] != "input" for l in d["layers"])
    # ResNet-50's resolution stages, in network order, then the head.
    labels = [g["group"] for g in groups(estimates[0], "stage")]
    assert labels[:5] == ["S1 112x112", "S2 56x56", "S3 28x28", "S4 14x14", "S5 7x7"]
    assert labels[-1].startswith("head")


def test_devices_on_different_default_runtimes_are_flagged_beside_the_ratio(tmp_path, capsys):
    """nvidia_h200 defaults to pytorch-cudagraph, jetson_tx2 to cudnn: the time ratio of the two
    is not the hardware's alone, and the page says so; with --runtime naming one for both it does not."""
    out = tmp_path / "two.html"
    assert main(["report", "resnet18", "--hw", "nvidia_h200", "--hw", "jetson_tx2", "--out", str(out)]) == 0
    assert ("Not the same runtime: nvidia_h200 pytorch-cudagraph, jetson_tx2 cudnn (each spec's default)"
            in out.read_text())
    assert main(["report", "resnet18", "--hw", "nvidia_h200", "--hw", "jetson_tx2", "--runtime", "cudnn",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "takes" in text and "Not the same runtime" not in text
    capsys.readouterr()


def test_the_header_and_cards_say_the_precision_each_device_ran_at(tmp_path, capsys):
    """A report across runtimes can mix precisions (ncnn runs fp16 on the RK3588's FP16 cores,
    ONNX Runtime fp32 on the Pi 4): the header names each device's, not the first's for all; a
    device that fell back from the asked precision says both on its card."""
    out = tmp_path / "mixed.html"
    assert main(["report", "squeezenet1_1", "--hw", "rockchip_rk3588", "--hw", "raspberry_pi_4",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "<p>batch 1, on rockchip_rk3588 (fp16), raspberry_pi_4 (fp32)." in text
    assert "runtime ncnn, fp16</small>" in text and "runtime onnxruntime, fp32</small>" in text
    assert main(["report", "squeezenet1_1", "--hw", "jetson_nano", "--precision", "int8", "--out", str(out)]) == 0
    text = out.read_text()
    assert "<p>batch 1, fp16, on jetson_nano." in text and "runtime cudnn, fp16 (asked int8)</small>" in text
    capsys.readouterr()


def test_one_device_report(tmp_path, capsys):
    out = tmp_path / "one.html"
    assert main(["report", "squeezenet1_1", "--hw", "raspberry_pi_4", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    js = [estimate_json(capsys, "squeezenet1_1", "raspberry_pi_4")]
    page = parse(out.read_text())
    check_numbers(page, js)
    assert {d for _, d, *_ in page.numbers} == {0}
    # ONNX Runtime's memory model is this device's headline: every term on the page as the JSON has it.
    assert js[0]["memory_model"]["model"] == "onnxruntime"
    assert {f"memory_model.terms.{n}.bytes" for n in js[0]["memory_model"]["terms"]} <= {k for k, *_ in page.numbers}


def test_ncnn_report_shows_the_held_out_range(tmp_path, capsys):
    """An ncnn estimate's expected error (the measured range of held-out runs like it) is on the
    page, as numbers the JSON holds."""
    from shared_data import SHARED
    param = SHARED / "corpora" / "ncnn" / "models" / "squeezenet.param"
    if not param.is_file():
        pytest.skip(f"{param} not present")
    out = tmp_path / "ncnn.html"
    args = [str(param), "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn", "--threads", "4"]
    assert main(["report"] + args + ["--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["estimate"] + args + ["--format", "json"]) == 0
    js = [json.loads(capsys.readouterr().out)]
    assert js[0]["assumptions"]["expected_error"]["available"]
    page = parse(out.read_text())
    check_numbers(page, js)
    keys = {k for k, *_ in page.numbers}
    assert {"assumptions.expected_error.range_ms.0", "assumptions.expected_error.range_ms.1"} <= keys
    # The headline peak is ncnn's memory model, named as such, with its terms; the policies
    # follow unmarked. And the band for comparing networks on this device.
    text = out.read_text()
    mm = js[0]["memory_model"]
    assert mm["model"] == "ncnn" and mm["peak_bytes"] == js[0]["total"]["peak_memory_bytes"]
    assert "peak memory (ncnn model)" in text and "ncnn model (headline): " in text
    assert "reuse policy (headline)" not in text
    assert {"memory_model.peak_bytes"} | {f"memory_model.terms.{n}.bytes" for n in mm["terms"]} <= keys
    r = js[0]["assumptions"]["expected_error"]["relative"]
    # The relative band as estimates report it: widened by the file's rel_band_stretch (> 1 shipped).
    assert r["band_stretch"] > 1.0 and r["band_high"] > r["ratio_p90"]
    assert (f"against other networks on one {r['relative_to']}: {1 / r['band_high']:.2f}x to "
            f"{1 / r['band_low']:.2f}x") in text


def test_report_shows_the_estimates_warnings_and_a_missing_range(tmp_path, capsys):
    """What the terminal warns about is on the page too: a CPU whose clusters name no core type is
    priced by ncnn's shared values, with no known error; the card says both, not a bare latency."""
    out = tmp_path / "warn.html"
    args = ["squeezenet1_1", "--hw", "jetson_tx2", "--processor", "cpu", "--runtime", "ncnn", "--threads", "4"]
    assert main(["estimate"] + args + ["--format", "json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["warnings"] and not js["assumptions"]["expected_error"]["available"]
    assert main(["report"] + args + ["--out", str(out)]) == 0
    text = out.read_text()
    warn_html = text.split('<ul class="warn">', 1)[1].split("</ul>", 1)[0]
    assert "the ncnn fit has no ISA class" in warn_html and "jetson_tx2_nx" in warn_html
    why = js["assumptions"]["expected_error"]["why"]
    assert f'<small class="noband">expected error: not known ({html.escape(why)})</small>' in text
    # A device without warnings gets no warning box.
    out2 = tmp_path / "clean.html"
    assert main(["report", "squeezenet1_1", "--hw", "jetson_tx2_nx", "--runtime", "ncnn", "--threads", "4",
                 "--out", str(out2)]) == 0
    assert '<ul class="warn">' not in out2.read_text()


def test_gpu_kernel_model_report_shows_its_one_device_range(tmp_path, capsys):
    """A pytorch-cudagraph estimate's expected error comes from one held-out GPU: on the page as
    numbers the JSON holds, worded for one device."""
    out = tmp_path / "gpu.html"
    args = ["resnet18", "--hw", "nvidia_l4", "--runtime", "pytorch-cudagraph", "--batch", "16"]
    assert main(["report"] + args + ["--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["estimate"] + args + ["--format", "json"]) == 0
    js = [json.loads(capsys.readouterr().out)]
    assert js[0]["assumptions"]["expected_error"]["devices"] == 1
    text = out.read_text()
    page = parse(text)
    check_numbers(page, js)
    assert {"assumptions.expected_error.range_ms.0", "assumptions.expected_error.range_ms.1"} <= \
        {k for k, *_ in page.numbers}
    assert "80% of the held-out device&#39;s runs:" in text and "1 device held out of the fit" in text


def test_names_from_files_are_escaped(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto as T, helper
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="<b>bold</b>&"),
             helper.make_node("Relu", ["y"], ["z"], name="</script><script>alert(1)</script>")]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("z", T.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    src = tmp_path / "m.onnx"
    onnx.save_model(m, str(src))
    out = tmp_path / "m.html"
    assert main(["report", str(src), "--hw", "raspberry_pi_4", "--out", str(out)]) == 0
    text = out.read_text()
    assert "<b>bold</b>" not in text and "alert(1)</script>" not in text
    assert "&lt;b&gt;bold&lt;/b&gt;&amp;" in text
    assert text.count("</script>") == 2  # the data block and the page's script, nothing injected


@pytest.mark.parametrize("args, says", [
    (["--hw", "no_such_device"], "no_such_device"),
    (["--hw", "jetson_tx2", "--processor", "npu"], "npu"),
    (["--hw", "a", "--hw", "b", "--hw", "c", "--hw", "d", "--hw", "e"], "at most 4"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, capsys, args, says):
    out = tmp_path / "r.html"
    assert main(["report", "resnet18", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("augur: error:") and says in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_missing_output_folder_is_refused_before_the_work(tmp_path, capsys, monkeypatch):
    import augur_sim.commands.report as R
    monkeypatch.setattr(R, "estimate", lambda *a, **k: pytest.fail("estimated before checking --out"))
    assert main(["report", "resnet18", "--hw", "jetson_tx2", "--out", str(tmp_path / "no" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_failure_while_rendering_leaves_the_old_file(tmp_path, monkeypatch, capsys):
    import augur_sim.report_html as R
    out = tmp_path / "r.html"
    out.write_text("old")
    from augur_sim.errors import AugurError
    monkeypatch.setattr(R, "roofline_svg", lambda *a, **k: (_ for _ in ()).throw(AugurError("chart failed")))
    assert main(["report", "resnet18", "--hw", "jetson_tx2", "--out", str(out)]) == 2
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert "chart failed" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# In a real browser

def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile{len(list(tmp_path.iterdir()))}"
    profile.mkdir()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    env = {k: v for k, v in os.environ.items() if k not in ("http_proxy", "https_proxy")}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)


needs_chromium = pytest.mark.skipif(not (os.access(CHROMIUM, os.X_OK) and shutil.which(CHROMIUM)),
                                    reason=f"{CHROMIUM} not installed (Debian package 'chromium'): the "
                                           "report is checked as written, not as a browser renders it")


@needs_chromium
def test_rendered_page_shows_the_json_numbers_and_sorts(report, estimates, tmp_path):
    path, _ = report
    r = _chromium(tmp_path, "--dump-dom", f"{path.as_uri()}#sort=time_ms.1")
    assert r.returncode == 0, r.stderr[-2000:]
    page = parse(r.stdout)
    assert page.body.get("data-js") == "ok"  # the page's script ran to its end
    assert check_numbers(page, estimates) > 1000
    # #sort=time_ms.1 sorted the layer table by the second device's time, largest first: the
    # rows' first cells (the layer's index in the JSON) now come in that order.
    times = [estimates[1]["layers"][int(row[0]["data-v"])]["time_ms"] for row in page.rows]
    assert len(times) == sum(l["op"] != "input" for l in estimates[1]["layers"])
    assert times == sorted(times, reverse=True) and times[0] == max(l["time_ms"] for l in estimates[1]["layers"])
    as_written = [int(row[0]["data-v"]) for row in parse(report[1]).rows]
    assert as_written == sorted(as_written)  # unsorted in the file: the script did it


@needs_chromium
def test_screenshot_is_a_real_page(report, tmp_path):
    import numpy as np
    from matplotlib import image
    path, _ = report
    shot = tmp_path / "shot.png"
    r = _chromium(tmp_path, "--window-size=1400,2400", f"--screenshot={shot}", path.as_uri())
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    img = image.imread(str(shot))[:, :, :3]
    assert img.shape[:2] == (2400, 1400)
    # Not blank: many colours (text, bars, charts) and a good part of the page drawn on.
    colours = len(np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    background = img[-1, -1]
    drawn = np.mean(np.any(np.abs(img - background) > 0.08, axis=2))
    assert colours > 500 and drawn > 0.08, (colours, drawn)  # a blank page: 1 colour, 0.0
    # The header band and the bound colours of the summary are where the layout puts them.
    assert img[20, 700].mean() < 0.35  # dark header
    red = np.all(np.abs(img - np.array([0xd6, 0x27, 0x28]) / 255) < 0.06, axis=2)
    assert red[:1400].sum() > 2000  # the compute share bars


def test_anchored_report_shows_the_anchor_and_its_band(tmp_path, capsys):
    """`augur report --anchor`: the anchored latency, the anchor's measured and modelled times and
    the anchored band, as numbers the estimate's JSON (with the same anchor) holds."""
    out = tmp_path / "anchored.html"
    args = ["mobilenet_v1", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn", "--threads", "4",
            "--anchor", "squeezenet1_1=40"]
    assert main(["report"] + args + ["--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["estimate"] + args + ["--format", "json"]) == 0
    js = [json.loads(capsys.readouterr().out)]
    assert js[0]["assumptions"]["expected_error"]["anchored"]
    text = out.read_text()
    page = parse(text)
    check_numbers(page, js)
    keys = {k for k, *_ in page.numbers}
    assert {"assumptions.anchor.scale", "assumptions.anchor.spec_only_time_ms",
            "assumptions.anchor.anchors.0.measured_ms", "assumptions.anchor.anchors.0.predicted_ms",
            "assumptions.expected_error.range_ms.0"} <= keys
    assert "held-out devices&#39; anchored pairs:" in text and "anchored: the model&#39;s times" in text


def test_report_refuses_an_anchor_for_several_devices(tmp_path, capsys):
    out = tmp_path / "x.html"
    rc = main(["report", "mobilenet_v1", "--hw", "raspberry_pi_4_1800", "--hw", "raspberry_pi_5",
               "--anchor", "squeezenet1_1=40", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "one --hw" in err[0]
    assert not out.exists()


def test_ncnn_report_compares_placements(tmp_path):
    """Under ncnn the page prices the network at each placement of the CPU worth trying, each the
    time `augur estimate --runtime ncnn --threads T --cores C` gives, this run and the fastest
    marked; placements the model prices alike (the RK3399's 4 threads under `all` are 2 A72 + 2
    A53 threads, as slow as 4 A53 ones under static splitting) appear once. An anchored report
    has no such section (its anchor was timed at one placement), nor a runtime without placements."""
    from augur_sim.estimator import estimate
    out = tmp_path / "p.html"
    assert main(["report", "mobilenet_v2", "--hw", "rockchip_rk3399", "raspberry_pi_4_1800", "--runtime", "ncnn",
                 "--threads", "2", "--out", str(out)]) == 0
    text = out.read_text()
    blob = re.search(r'<script type="application/json" id="augur-data">(.*?)</script>', text, re.S).group(1)
    js = json.loads(blob)
    rk = js[0]["placements"]
    assert sorted((p["cores"], p["threads"]) for p in rk) == [("all", 6), ("big", 1), ("big", 2), ("little", 1),
                                                                ("little", 2), ("little", 4)]
    assert [p["this_run"] for p in rk] == [True] + [False] * 5 and (rk[0]["cores"], rk[0]["threads"]) == ("big", 2)
    assert sorted((p["cores"], p["threads"]) for p in js[1]["placements"]) == [("big", 1), ("big", 2), ("big", 4)]
    page = parse(text)
    seen = 0
    for key, dev, v, _scale, _shown in page.numbers:
        parts = key.split(".")
        if parts[0] == "placements":
            p = js[dev]["placements"][int(parts[1])]
            est = estimate("mobilenet_v2", js[dev]["hw"], runtime="ncnn", threads=p["threads"], cores=p["cores"])
            assert v == pytest.approx(est.total.time_s * 1e3, rel=1e-9) == p["time_ms"]
            seen += 1
        elif parts[:2] == ["derived", "placement_ratio"]:
            ts = [p["time_ms"] for p in js[dev]["placements"]]
            assert v == pytest.approx(ts[int(parts[2])] / min(ts), rel=1e-12)
    assert seen == 9
    # The model's pick for the RK3399: all six cores, ahead of the 2 A72s asked for.
    fastest = min(rk, key=lambda p: p["time_ms"])
    assert (fastest["cores"], fastest["threads"]) == ("all", 6) and fastest["time_ms"] < rk[0]["time_ms"]
    assert 'id="placements"' in text and "this run" in text and "fastest" in text
    assert "held-out device x network groups" in text
    anchored = tmp_path / "a.html"
    assert main(["report", "mobilenet_v2", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn", "--threads", "2",
                 "--anchor", "squeezenet1_1=40", "--out", str(anchored)]) == 0
    assert 'id="placements"' not in anchored.read_text()
    plain = tmp_path / "r.html"
    assert main(["report", "mobilenet_v2", "--hw", "jetson_nano", "--out", str(plain)]) == 0
    assert 'id="placements"' not in plain.read_text() and '"placements"' not in plain.read_text()


def test_ncnn_estimate_names_the_fastest_placement(capsys):
    """`augur estimate --runtime ncnn` says, in one line after its expected error, which of the
    placements the report compares is fastest and how this run compares; when this run is the
    fastest, the next one. Not for an anchored estimate, nor another runtime."""
    from augur_sim.estimator import estimate
    from augur_sim.explore.sweep import placement_times
    from augur_sim.frontends import load_net
    from augur_sim.hw import load_hw
    assert main(["estimate", "mobilenet_v2", "--hw", "rockchip_rk3399", "--runtime", "ncnn", "--threads", "2"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("placements (predicted"))
    g = load_net("mobilenet_v2")
    dev = load_hw("rockchip_rk3399")
    est = estimate(g, dev, runtime="ncnn", threads=2)
    pts = placement_times(g, dev, est, None, 2, "fp32", None)
    best = min(pts, key=lambda p: p["time_ms"])
    assert (best["cores"], best["threads"]) == ("all", 6)
    assert line == (f"placements (predicted, {len(pts)} tried): fastest cores all, 6 threads, {best['time_ms']:.3f} ms; "
                    f"this run takes {pts[0]['time_ms'] / best['time_ms']:.2f}x that (`augur report` lists them)")
    # It stands after the expected error, before where the time goes.
    lines = out.splitlines()
    assert lines.index(line) < next(i for i, ln in enumerate(lines) if ln.startswith("where the time goes"))
    assert main(["estimate", "mobilenet_v2", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn"]) == 0
    assert "placements (predicted, 3 tried): this run is the fastest; next cores big, 2 threads at" in \
        capsys.readouterr().out
    for args in (["--runtime", "ncnn", "--anchor", "squeezenet1_1=40"], []):
        assert main(["estimate", "mobilenet_v2", "--hw", "raspberry_pi_4_1800" if args else "jetson_nano", *args]) == 0
        assert "placements (predicted" not in capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# The run's roofs, and each device once

def page_data(text: str) -> list[dict]:
    """The estimates' JSON embedded in a page."""
    return json.loads(re.search(r'<script type="application/json" id="augur-data">(.*?)</script>', text, re.S).group(1))


def rooflines(text: str) -> list[str]:
    """Each card's roofline chart (inline SVG, its text kept as text), in device order."""
    return re.findall(r'<svg class="roofline".*?</svg>', text, re.S)


def test_card_peak_is_the_runs_cores_at_the_precision_used(tmp_path, capsys):
    """The card's peak FLOP/s and its roofline's ridge are the peak of the cores the run uses at
    the precision its kernels ran at, not the chip's: two Cortex-A55 threads of the RK3588 in fp16
    (2 x 1.8 GHz x 16 FLOP/cycle, not all 8 cores' 422.4 G); its 4 big threads the 4 A76s at
    2.4 GHz the Pi 5 has, which runs ONNX Runtime in fp32 there."""
    from augur_sim.hw import load_hw
    from augur_sim.hw.placement import place
    rk = load_hw("rockchip_rk3588").processor("cpu")
    pi5 = load_hw("raspberry_pi_5").processor("cpu")
    runs = {"little": (["--hw", "rockchip_rk3588", "--cores", "little", "--threads", "2"],
                       [place(rk, "little", 2)]),
            "pair": (["--hw", "raspberry_pi_5", "rockchip_rk3588", "--threads", "4"],
                     [place(pi5, None, 4), place(rk, None, 4)])}
    assert runs["little"][1][0].peak_flops("fp16") == pytest.approx(57.6e9, rel=1e-12)
    for name, (args, placements) in runs.items():
        out = tmp_path / f"{name}.html"
        assert main(["report", "mobilenet_v2", *args, "--out", str(out)]) == 0
        text = out.read_text()
        js = page_data(text)
        page = parse(text)
        check_numbers(page, js)  # an ncnn card's peak is the estimate's own: its JSON's value
        peaks = {dev: v for key, dev, v, *_ in page.numbers if key.endswith("peak_flops")}
        for dev, (d, pl, svg) in enumerate(zip(js, placements, rooflines(text))):
            want = pl.peak_flops(d["precision_used"])
            assert peaks[dev] == pytest.approx(want, rel=1e-12), (name, d["hw"], peaks[dev], want)
            assert f"peak {want / 1e9:,.1f} GFLOP/s ({d['precision_used']})" in svg  # the ridge's roof
    # The two runs on four A76s at 2.4 GHz: one rate per precision, whatever else the chip has.
    assert place(rk, None, 4).peak_flops("fp16") == place(pi5, None, 4).peak_flops("fp16") < rk.peak_flops("fp16")
    capsys.readouterr()


def test_dram_achievable_is_the_runtime_that_priced_the_run(tmp_path, capsys):
    """The roofline's achievable DRAM line and the card's figure are the estimate's runtime's: the
    fitted ncnn model's dram_eff (RK3588, its default), ncnn-vulkan's fitted mem_eff (the Orin
    Nano's Vulkan spec), ONNX Runtime's `mem` (the Pi 5); never another runtime of the same spec
    (the RK3588's ncnn-roofline, the Orin's vulkan-roofline, both spec estimates)."""
    from augur_sim.hw import load_hw
    from augur_sim.hw.kmodel import HBM_ARCHS, class_params, load_fit
    out = tmp_path / "rt.html"
    assert main(["report", "squeezenet1_1", "--hw", "raspberry_pi_5", "rockchip_rk3588", "jetson_orin_nano_vulkan",
                 "nvidia_l4", "--out", str(out)]) == 0
    text = out.read_text()
    js = page_data(text)
    assert [d["runtime"] for d in js] == ["onnxruntime", "ncnn", "ncnn-vulkan", "pytorch-cudagraph"]
    svgs = rooflines(text)
    ort = load_hw("raspberry_pi_5").processor("cpu").runtime("onnxruntime")
    assert f"DRAM achievable ({ort.mem:.0%}: onnxruntime's mem; element-wise kernels {ort.eltwise:.0%})" in svgs[0]
    eff = js[1]["assumptions"]["ncnn"]["parameters"]["dram_eff"]
    assert f"DRAM achievable ({eff:.0%}: fitted dram_eff of ncnn)" in svgs[1]
    vk = js[2]["assumptions"]["ncnn_vulkan"]["parameters"]["mem_eff"]
    assert f"DRAM achievable ({min(vk, 1.0):.0%}: fitted mem_eff of ncnn-vulkan)" in svgs[2]
    # The GPU kernel model streams at its fitted `mem` (the L4 is no HBM part), not the runtime's `mem`.
    l4 = load_hw("nvidia_l4").processor("gpu")
    assert l4.arch not in HBM_ARCHS
    km = class_params(load_fit(l4.runtime("pytorch-cudagraph").kernel_model), l4.arch)["mem"]
    assert f"DRAM achievable ({km:.0%}: fitted kernel model of pytorch-cudagraph)" in svgs[3]
    # The cards say the same, as the numbers the JSON holds.
    page = parse(text)
    check_numbers(page, js)
    keys = {(k, dev) for k, dev, *_ in page.numbers}
    assert {("assumptions.ncnn.parameters.dram_eff", 1), ("assumptions.ncnn_vulkan.peak_flops", 2)} <= keys
    assert ("derived.dram_eff", 0) in keys and ("assumptions.ncnn_vulkan.parameters.mem_eff", 2) in keys
    capsys.readouterr()


def test_a_model_estimate_without_its_dram_figure_says_so():
    """Where the estimate's model gives no achievable-DRAM figure, the chart says so, rather than
    draw the spec's other runtime's."""
    from dataclasses import replace
    from augur_sim.estimator import estimate
    from augur_sim.hw import load_hw
    from augur_sim.plots import run_roofs
    from augur_sim.report_html import roofline_svg
    dev = load_hw("rockchip_rk3588")
    est = estimate("squeezenet1_1", dev, threads=2)
    bare = replace(est, assumptions={**est.assumptions, "ncnn": {k: v for k, v in est.assumptions["ncnn"].items()
                                                                 if k != "parameters"}})
    roofs = run_roofs(bare, dev.processor("cpu"))
    assert roofs.dram_eff is None and roofs.peak_flops == est.assumptions["ncnn"]["peak_flops"]
    svg = roofline_svg(bare, dev, "t")
    assert "DRAM achievable: the ncnn estimate carries no dram_eff" in svg and "DRAM achievable (" not in svg


def test_a_repeated_device_is_one_card_and_a_note(tmp_path, capsys):
    """`--hw raspberry_pi_5 raspberry_pi_5` prices one target twice: one card, and a note on stderr
    naming what was merged; the same spec by name and by path is one device too, and repeats do not
    count against the limit of devices."""
    out = tmp_path / "dup.html"
    assert main(["report", "squeezenet1_1", "--hw", "raspberry_pi_5", "raspberry_pi_5", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "note: --hw raspberry_pi_5 given more than once: one card per device\n"
    text = out.read_text()
    assert [d["hw"] for d in page_data(text)] == ["raspberry_pi_5"] and len(rooflines(text)) == 1
    spec = Path(__file__).resolve().parents[1] / "hwspecs" / "raspberry_pi_5.yaml"
    assert main(["report", "squeezenet1_1", "--hw", "raspberry_pi_5", str(spec), "jetson_tx2", "jetson_tx2",
                 "raspberry_pi_4", "raspberry_pi_5", "--out", str(out)]) == 0
    assert [d["hw"] for d in page_data(out.read_text())] == ["raspberry_pi_5", "jetson_tx2", "raspberry_pi_4"]
    assert capsys.readouterr().err == \
        "note: --hw raspberry_pi_5, jetson_tx2 given more than once: one card per device\n"
    # Distinct devices: no note.
    assert main(["report", "squeezenet1_1", "--hw", "raspberry_pi_5", "jetson_tx2", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
