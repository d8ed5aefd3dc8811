"""Sweeps: rows match estimate(), resume after SIGKILL, dedupe, errors, progress."""
import io
import re
import signal
import subprocess
import time

import numpy as np
import pytest
from explore_util import REPO, augur, augur_cmd, augur_env

from augur_sim.estimator import estimate
from augur_sim.explore import sweep as S
from augur_sim.hw import load_hw

DEVS = ["jetson_nano", "raspberry_pi_4", "nvidia_t4"]


def _rows(path):
    t = S.read_table(path)
    return {tuple(r[k] for k in S.KEY_REQUIRED): r for r in t.to_pylist()}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_sweep_rows_match_estimate(tmp_path, suffix):
    out = tmp_path / f"r{suffix}"
    nets = S.expand_nets(["squeezenet1_1", "resnet18"]) + S.generated_specs([("mobilenet", 2)], seed=1)
    devs = S.expand_hw(DEVS)
    summ = S.run_sweep(nets, devs, [1, 4], ["fp32", "fp16"], out)
    assert summ.rows_total == 4 * 3 * 2 * 2 == summ.rows_in_file == summ.rows_written
    rows = _rows(out)
    assert len(rows) == 48
    for net, hw, b, prec in [("resnet18", "jetson_nano", 4, "fp16"), ("squeezenet1_1", "raspberry_pi_4", 1, "fp32"),
                             ("mobilenet-s1-00001", "nvidia_t4", 4, "fp32")]:
        g = nets[[n.name for n in nets].index(net)].graph(b)
        est = estimate(g, hw, precision=prec)
        r = rows[(net, hw, est.processor, b, prec)]
        assert r["time_ms"] == pytest.approx(est.total.time_s * 1e3, rel=1e-12)
        assert r["energy_mj"] == pytest.approx(est.total.energy_j * 1e3, rel=1e-12)
        assert r["dram_bytes"] == pytest.approx(est.total.dram_bytes, rel=1e-12)
        assert r["macs"] == est.total.macs and r["params"] == est.total.params
        assert r["peak_memory_bytes_reuse"] == est.footprints["reuse"].peak_memory_bytes
        assert r["peak_memory_bytes_caffe"] == est.footprints["caffe"].peak_memory_bytes
        # The headline peak is the runtime's memory model where it has one (ONNX Runtime on the
        # Raspberry Pi 4, PyTorch's allocator on the T4): the figure `augur estimate` prints.
        assert r["peak_memory_bytes"] == est.total.peak_memory_bytes
        assert r["memory_model"] == (est.runtime_memory.model if est.runtime_memory else "tensors")
        assert r["fits"] == est.fits
        share = est.total.bound_time_s["compute"] / est.total.time_s
        assert r["compute_share"] == pytest.approx(share, rel=1e-9, abs=1e-12)
        assert r["bound"] == ("compute" if share >= 0.5 else "memory")
    gen = rows[("mobilenet-s1-00000", "nvidia_t4", "gpu", 1, "fp32")]
    assert gen["gen_family"] == "mobilenet" and gen["gen_seed"] == 1 and '"width_mult"' in gen["gen_params"]
    assert rows[("resnet18", "nvidia_t4", "gpu", 1, "fp32")]["gen_family"] is None
    # Re-running skips everything and leaves the same rows.
    again = S.run_sweep(nets, devs, [1, 4], ["fp32", "fp16"], out)
    assert again.rows_written == 0 and again.rows_skipped == 48 and again.items == 0
    assert _rows(out) == rows
    assert not (tmp_path / f"r{suffix}.parts").exists()


def test_fits_uses_the_runtimes_memory_model(tmp_path):
    """A device whose memory lies between the tensors' reuse peak and what its runtime really
    holds (ONNX Runtime's weight copies and arena): the sweep says it does not fit, as
    `augur estimate` does, and the reuse column still reads below the memory."""
    est = estimate("resnet50", "raspberry_pi_4")
    reuse, head = est.footprints["reuse"].peak_memory_bytes, est.total.peak_memory_bytes
    assert est.runtime_memory is not None and est.runtime_memory.model == "onnxruntime" and reuse < head
    mem_gib = (reuse + head) / 2 / 2**30
    spec = tmp_path / "pi4_small.yaml"
    spec.write_text(f"""name: pi4_small
description: "Raspberry Pi 4 with less memory (test)"
extends: {REPO / 'hwspecs' / 'raspberry_pi_4.yaml'}
sources:
  - {{id: t, ref: "hypothetical: a test of the sweep's fits column"}}
memory_gib: {mem_gib:.6f}    # src: t
""")
    out = tmp_path / "m.csv"
    S.run_sweep(S.expand_nets(["resnet50"]), S.expand_hw([str(spec)]), [1], ["fp32"], out)
    r = next(iter(_rows(out).values()))
    small = estimate("resnet50", str(spec))
    assert not small.fits and r["fits"] is False and r["peak_memory_bytes"] == head
    assert r["peak_memory_bytes_reuse"] < r["memory_capacity_bytes"] < r["peak_memory_bytes"]


def test_one_cost_call_per_fusion_set(monkeypatch):
    calls = []
    real = S.network_costs

    def spy(low, hws):
        calls.append(hws.shape[0])
        return real(low, hws)
    monkeypatch.setattr(S, "network_costs", spy)
    devs = [load_hw(d) for d in DEVS + ["jetson_tx2", "nvidia_a100"]]
    pack = S.build_pack(devs, None, ["fp32"])
    net = S.expand_nets(["resnet18"])[0]
    rows = S.evaluate_item(S.Item(net, 1, "fp32"), pack)
    assert len(rows) == len(devs)
    groups = pack.groups["fp32"]
    assert len(calls) == len(groups) < len(devs) and sum(calls) == len(devs)


def test_extend_existing_and_dedupe_parts(tmp_path):
    out = tmp_path / "r.csv"
    devs = S.expand_hw(DEVS[:2])
    nets = S.expand_nets(["squeezenet1_1"])
    S.run_sweep(nets, devs, [1], ["fp32"], out)
    before = _rows(out)
    # A stray chunk holding a duplicate row (a retried task) must not duplicate it.
    store = S.ResultStore(out)
    store.add(list(before.values())[:1])
    store.keys.clear()
    store.buf = list(before.values())[:1]
    store.flush()
    more = S.expand_nets(["squeezenet1_1", "resnet18"])
    summ = S.run_sweep(more, devs, [1], ["fp32"], out)
    assert summ.rows_written == 2 and summ.rows_in_file == 4
    after = _rows(out)
    assert len(S.read_table(out)) == 4
    for k, v in before.items():
        assert after[k] == v


def _finished_chunks(parts):
    """Chunk files the sweep finished writing. A chunk is written to a hidden temporary file
    beside it ('.chunk-...') and renamed when complete; a kill can leave such a file
    half-written, and the resume ignores it, so the test must too."""
    return [f for f in parts.iterdir() if f.suffix == ".parquet" and not f.name.startswith(".")]


def test_kill_and_resume_gives_the_uninterrupted_file(tmp_path):
    args = ["sweep", "--generate", "mobilenet:150", "--seed", "9", "--hw", "jetson_nano,nvidia_t4",
            "--batch", "1", "--precision", "fp32", "--jobs", "1", "--flush-rows", "20"]
    killed = tmp_path / "k.parquet"
    parts = tmp_path / "k.parquet.parts"
    p = subprocess.Popen(augur_cmd(args + ["--out", killed]), cwd=REPO, env=augur_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if parts.is_dir() and len(_finished_chunks(parts)) >= 2:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not killed.exists(), "the sweep finished before it could be killed"
    done = sum(len(S.read_table(f)) for f in _finished_chunks(parts))
    assert 0 < done < 300
    assert augur(args + ["--out", killed]) == 0
    assert not parts.exists()
    ref = tmp_path / "ref.parquet"
    assert augur(args + ["--out", ref]) == 0
    a, b = S.read_table(killed), S.read_table(ref)
    assert len(a) == len(b) == 300
    assert a.equals(b)  # same rows, same values (both sorted by key)


def test_empty_glob_and_bad_args_exit_2_without_output(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    for argv, needle in [
        (["--nets", str(tmp_path / "none*.yaml"), "--hw", "jetson_nano"], "matches no"),
        (["--nets", "squeezenet1_1", "--hw", str(tmp_path / "none*.yaml")], "matches no"),
        (["--nets", "squeezenet1_1", "--hw", "jetson_nano", "--batch", "0"], "--batch"),
        (["--nets", "squeezenet1_1", "--hw", "jetson_nano", "--precision", "fp8"], "precision"),
        (["--nets", "squeezenet1_1", "--hw", "jetson_nano", "--processor", "npu"], "no device"),
        (["--generate", "resnet:0", "--hw", "jetson_nano"], "--generate"),
        (["--nets", "no_such_net", "--hw", "jetson_nano"], "no_such_net"),
    ]:
        rc = augur(["sweep"] + argv + ["--out", out])
        err = capsys.readouterr().err
        assert rc == 2, argv
        assert err.startswith("augur: error:") and err.count("\n") == 1 and needle in err, err
        assert not list(tmp_path.iterdir())
    rc = augur(["sweep", "--nets", "squeezenet1_1", "--hw", "jetson_nano", "--out", tmp_path / "r.json"])
    assert rc == 2 and ".parquet or .csv" in capsys.readouterr().err


def test_processor_all_gives_every_processor(tmp_path):
    out = tmp_path / "r.csv"
    S.run_sweep(S.expand_nets(["squeezenet1_1"]), S.expand_hw(["jetson_nano"]), [1], ["fp32"], out,
                processors=["all"])
    rows = _rows(out)
    assert {k[2] for k in rows} == set(load_hw("jetson_nano").processors)


def test_progress_line():
    buf = io.StringIO()
    p = S.progress_bar(10, "sweep", "rows", True, stream=buf)
    p.update(4)
    p.update(6)
    p.close()
    text = buf.getvalue()
    assert "10/10" in text and "rows/s" in text and text.endswith("\n")
    quiet = io.StringIO()
    q = S.progress_bar(10, "sweep", "rows", False, stream=quiet)
    q.update(10)
    q.close()
    assert quiet.getvalue() == ""


def test_peak_memory_axis_reads_the_headline_and_old_files_fall_back():
    from augur_sim.explore.sweep_plots import METRICS
    m = METRICS["peak_mib"]
    assert m.value({"peak_memory_bytes": 3 * 2**20, "peak_memory_bytes_reuse": 2**20}) == 3.0
    # A row of a file written before the headline column existed.
    assert m.value({"peak_memory_bytes": None, "peak_memory_bytes_reuse": 2**20}) == 1.0


def test_plot_command(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    S.run_sweep(S.expand_nets(["squeezenet1_1", "resnet18"]) + S.generated_specs([("resnet", 3)], 2),
                S.expand_hw(DEVS), [1, 2], ["fp32"], out)
    assert augur(["plot", out, "--out-prefix", tmp_path / "fig"]) == 0
    for name in ("fig-heatmap.png", "fig-pareto.png"):
        assert (tmp_path / name).stat().st_size > 2000
    assert augur(["plot", out, "--out-prefix", tmp_path / "x", "--precision", "int8"]) == 2
    assert not (tmp_path / "x-heatmap.png").exists()


def test_pareto_front():
    from augur_sim.explore.sweep_plots import pareto_front
    macs = np.array([1, 5, 3, 5, 9, 2.0])
    t = np.array([1, 2, 2, 3, 4, 5.0])
    f = set(pareto_front(macs, t).tolist())
    # (1,1) fastest; (5,2) beats (3,2) and (5,3); (9,4) most MACs; (2,5) dominated.
    assert f == {0, 1, 4}


def test_hw_glob_without_a_folder_matches_device_names():
    """README's `--hw 'jetson_*'` selects shipped devices by name, from any working directory."""
    devs = S.expand_hw(["jetson_*"])
    names = [d.name for d in devs]
    shipped = sorted(p.stem for p in (REPO / "hwspecs").glob("jetson_*.yaml"))
    assert names == shipped and "jetson_tx2" in names
    # a pattern with a folder still globs files
    assert [d.name for d in S.expand_hw([str(REPO / "hwspecs" / "jetson_t*.yaml")])] == \
        [n for n in shipped if n.startswith("jetson_t")]


NCNN_DEVS = ["raspberry_pi_4_1800", "rockchip_rk3588"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_ncnn_sweep_rows_match_estimate_and_carry_the_expected_error(tmp_path, suffix):
    """--runtime ncnn: every device's CPU priced by the ncnn model, placed by --threads/--cores,
    each row the same estimate `augur estimate --runtime ncnn` makes, with its held-out band."""
    out = tmp_path / f"n{suffix}"
    nets = S.expand_nets(["squeezenet1_1", "mobilenet_v2"])
    summ = S.run_sweep(nets, S.expand_hw(NCNN_DEVS), [1], ["fp32"], out, runtime="ncnn", threads=2,
                       cores="big")
    assert summ.rows_in_file == 4
    rows = _rows(out)
    for net in ("squeezenet1_1", "mobilenet_v2"):
        for hw in NCNN_DEVS:
            est = estimate(nets[[n.name for n in nets].index(net)].graph(1), hw, runtime="ncnn", threads=2,
                           cores="big")
            r = rows[(net, hw, "cpu", 1, "fp32")]
            assert r["runtime"] == "ncnn" and r["threads"] == 2 and r["cores"] == "big"
            assert r["time_ms"] == pytest.approx(est.total.time_s * 1e3, rel=1e-12)
            assert r["peak_memory_bytes"] == est.total.peak_memory_bytes and r["memory_model"] == "ncnn"
            e = est.assumptions["expected_error"]
            assert e["available"]
            assert [r["expected_low_ms"], r["expected_high_ms"]] == pytest.approx(e["range_ms"], rel=1e-12)
            assert r["expected_low_ms"] < r["expected_high_ms"]
    # The default-runtime sweep records no band.
    plain = tmp_path / f"p{suffix}"
    S.run_sweep(nets[:1], S.expand_hw(["jetson_nano"]), [1], ["fp32"], plain)
    r = next(iter(_rows(plain).values()))
    assert r["expected_low_ms"] is None and r["threads"] is None and r["runtime"] != "ncnn"


def test_gpu_kernel_model_sweep_rows_carry_the_estimates_expected_error(tmp_path):
    """A device whose default runtime is the GPU kernel model (nvidia_l4: pytorch-cudagraph) gets,
    in a plain sweep, the held-out band `augur estimate` reports for the same run."""
    out = tmp_path / "g.csv"
    nets = S.expand_nets(["resnet18"])
    S.run_sweep(nets, S.expand_hw(["nvidia_l4"]), [1, 16], ["fp16"], out)
    rows = _rows(out)
    for b in (1, 16):
        r = rows[("resnet18", "nvidia_l4", "gpu", b, "fp16")]
        est = estimate(nets[0].graph(b), "nvidia_l4", precision="fp16")
        e = est.assumptions["expected_error"]
        assert r["runtime"] == "pytorch-cudagraph" and e["available"]
        assert e["key"]["batch"] == ("1" if b == 1 else ">1")
        assert r["time_ms"] == pytest.approx(est.total.time_s * 1e3, rel=1e-9)
        assert [r["expected_low_ms"], r["expected_high_ms"]] == pytest.approx(e["range_ms"], rel=1e-9)


def test_ncnn_sweep_notes_a_cpu_the_fit_has_no_class_for(tmp_path, capsys):
    """A device whose CPU names no core type is priced with the fit's shared values and its
    rows get no expected range; the sweep says so once per such device on stderr (what
    `augur estimate --runtime ncnn` warns), naming its cored relative, and not for the others."""
    out = tmp_path / "n.csv"
    assert augur(["sweep", "--nets", "squeezenet1_1", "mobilenet_v2", "--hw", "jetson_tx1",
                  "snapdragon_855plus", "--runtime", "ncnn", "--threads", "4", "--out", out]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note: ")]
    # Two devices under ncnn: the last note says what ranking them by time is worth.
    assert notes[-1].startswith("note: which of two devices is faster (ncnn rows)")
    notes = notes[:-1]
    assert len(notes) == 1 and notes[0].startswith("note: jetson_tx1: the ncnn fit has no ISA class")
    assert "no expected_low_ms" in notes[0]
    rows = _rows(out)
    assert rows[("squeezenet1_1", "jetson_tx1", "cpu", 1, "fp32")]["expected_low_ms"] is None
    assert rows[("squeezenet1_1", "snapdragon_855plus", "cpu", 1, "fp32")]["expected_low_ms"] > 0
    # A board and its Vulkan spec (which extends it) share one CPU: the second's rows repeat the
    # first's, and the note says so rather than leaving two identical rows unexplained.
    out2 = tmp_path / "v.csv"
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "snapdragon_660", "snapdragon_660_vulkan",
                  "snapdragon_765g", "--runtime", "ncnn", "--threads", "4", "--out", out2]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note: ")]
    assert notes[:-1] == ["note: snapdragon_660_vulkan: the same CPU as snapdragon_660 (the same spec figures): "
                          "its rows repeat snapdragon_660's"]
    assert notes[-1].startswith("note: which of two devices is faster (ncnn rows)")
    rows = _rows(out2)
    assert rows[("squeezenet1_1", "snapdragon_660_vulkan", "cpu", 1, "fp32")]["time_ms"] == \
        rows[("squeezenet1_1", "snapdragon_660", "cpu", 1, "fp32")]["time_ms"]
    # The default runtime's sweep has no such notes.
    S_out = S.run_sweep(S.expand_nets(["squeezenet1_1"]), S.expand_hw(["jetson_tx1"]), [1], ["fp32"],
                        tmp_path / "p.csv")
    assert S_out.notes == []


def test_ncnn_sweep_refuses_to_resume_another_runtimes_rows(tmp_path, capsys):
    """A key names an ncnn row's placement but not its runtime: rows of the spec's own runtime
    (ONNX Runtime on the Pi 4's CPU) are not kept as the ncnn run of the same network, nor the
    other way round."""
    out = tmp_path / "n.csv"
    base = ["sweep", "--nets", "squeezenet1_1", "--hw", "raspberry_pi_4", "--out", out]
    assert augur(base) == 0
    before = out.read_bytes()
    for extra in (["--runtime", "ncnn"], ["--runtime", "ncnn", "--threads", "2"]):
        capsys.readouterr()
        assert augur(base + extra) == 2, extra
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "already holds squeezenet1_1 on raspberry_pi_4 (cpu) run with runtime " \
            "onnxruntime; this sweep asks for runtime ncnn" in err
        assert out.read_bytes() == before
    other = tmp_path / "m.csv"
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "raspberry_pi_4", "--out", other, "--runtime",
                  "ncnn"]) == 0
    capsys.readouterr()
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "raspberry_pi_4", "--out", other]) == 2
    assert "run with runtime ncnn; this sweep asks for runtime onnxruntime" in capsys.readouterr().err


def test_ncnn_sweep_bad_options_exit_2_before_any_work(tmp_path, capsys):
    out = tmp_path / "n.parquet"
    for argv, needle in [
        (["--hw", "raspberry_pi_4_1800", "--runtime", "ncnn", "--precision", "fp16"], "drop --precision"),
        (["--hw", "raspberry_pi_4_1800,jetson_tx2", "--threads", "4"], "--threads and --cores place CPUs under ncnn; "
                                                                       "device 'jetson_tx2'"),
        (["--hw", "raspberry_pi_4_1800", "--runtime", "ncnn", "--processor", "gpu"], "--processor"),
        (["--hw", "jetson_tx2", "--runtime", "ncnn-vulkan"], "device 'jetson_tx2'"),
        (["--hw", "raspberry_pi_4_1800", "--runtime", "ncnn-vulkan", "--threads", "2"], "GPU"),
        (["--hw", "raspberry_pi_4_1800", "--runtime", "ncnn", "--threads", "100000"], "raspberry_pi_4_1800"),
        (["--hw", "nvidia_t4", "--runtime", "ncnn"], "has none"),
    ]:
        rc = augur(["sweep", "--nets", "squeezenet1_1"] + argv + ["--out", out])
        err = capsys.readouterr().err
        assert rc == 2, argv
        assert err.startswith("augur: error:") and err.count("\n") == 1 and needle in err, (argv, err)
        assert not list(tmp_path.iterdir())


def test_anchored_sweep_rows_are_the_anchored_estimates(tmp_path):
    """--anchor on a sweep: each row is the estimate `augur estimate --anchor` makes (its time
    scaled by the anchor's measured / predicted, its expected range the anchored band), for the
    specs' rows (nvidia_l4's kernel-model runtime) and the ncnn model's alike."""
    nets = S.expand_nets(["resnet18", "mobilenet_v2"])
    for hw, kw, runtime in (("nvidia_l4", {"precision": "fp16"}, None),
                            ("raspberry_pi_4_1800", {"runtime": "ncnn", "threads": 4}, "ncnn")):
        sq = estimate("squeezenet1_1", hw, batch=4 if runtime is None else None, **kw).total.time_s * 1e3
        anchors = [("squeezenet1_1", 2.0 * sq)]
        out = tmp_path / f"{hw}.csv"
        batch = 4 if runtime is None else 1
        S.run_sweep(nets, S.expand_hw([hw]), [batch], [kw.get("precision", "fp32")], out, runtime=runtime,
                    threads=kw.get("threads"), anchors=anchors)
        rows = _rows(out)
        for n in nets:
            r = rows[(n.name, hw, "gpu" if runtime is None else "cpu", batch, kw.get("precision", "fp32"))]
            est = estimate(n.graph(batch), hw, anchors=anchors, batch=batch, **kw)
            spec = estimate(n.graph(batch), hw, **kw)
            assert r["anchor_scale"] == pytest.approx(2.0)
            assert r["time_ms"] == pytest.approx(est.total.time_s * 1e3, rel=1e-9)
            assert r["time_ms"] == pytest.approx(2.0 * spec.total.time_s * 1e3, rel=1e-9)
            e = est.assumptions["expected_error"]
            assert e["available"] and e["anchored"]
            assert [r["expected_low_ms"], r["expected_high_ms"]] == pytest.approx(e["range_ms"], rel=1e-9)


def test_anchored_sweep_refuses_several_targets_and_mixing_with_spec_only_rows(tmp_path, capsys):
    out = tmp_path / "a.csv"
    base = ["sweep", "--nets", "squeezenet1_1", "--out", out]
    for extra, needle in [(["--hw", "raspberry_pi_4", "--hw", "jetson_nano"], "2 device/processor targets"),
                          (["--hw", "jetson_nano", "--processor", "all"], "device/processor targets"),
                          (["--hw", "jetson_nano", "--batch", "1,8"], "one --batch"),
                          (["--hw", "jetson_nano", "--anchor", "resnet18=x"], "expected NET=MS")]:
        capsys.readouterr()
        assert augur(base + extra + ["--anchor", "resnet18=5"]) == 2, extra
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, (extra, err)
        assert not out.exists()
    # Spec-only rows, then an anchored sweep into the same file: refused, the file untouched;
    # and the other way round.
    assert augur(base + ["--hw", "jetson_nano"]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert augur(base + ["--hw", "jetson_nano", "--anchor", "resnet18=5"]) == 2
    err = capsys.readouterr().err
    assert "already holds squeezenet1_1 on jetson_nano (gpu) spec only; this sweep is anchored" in err
    assert out.read_bytes() == before
    anchored = tmp_path / "b.csv"
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "jetson_nano", "--anchor", "resnet18=5",
                  "--out", anchored]) == 0
    capsys.readouterr()
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "jetson_nano", "--anchor", "resnet18=6",
                  "--out", anchored]) == 2
    assert "anchored (times scaled x" in capsys.readouterr().err
    # The same anchor again: nothing new, nothing refused.
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "jetson_nano", "--anchor", "resnet18=5",
                  "--out", anchored]) == 0


def test_a_runtime_sweep_skips_devices_without_its_processor_kind_and_says_so(tmp_path, capsys):
    """--runtime ncnn over CPUs and GPU-only specs: the GPU-only ones are skipped (named in a
    note), the others priced; only when no device has a CPU is the sweep refused."""
    out = tmp_path / "n.csv"
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "nvidia_t4", "raspberry_pi_4_1800", "nvidia_l4",
                  "--runtime", "ncnn", "--threads", "4", "--out", out]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note: ")]
    assert notes == ["note: skipped 2 device(s) without a CPU, which --runtime ncnn needs: nvidia_t4, nvidia_l4"]
    assert {k[1] for k in _rows(out)} == {"raspberry_pi_4_1800"}
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "nvidia_t4", "nvidia_l4", "--runtime", "ncnn",
                  "--out", tmp_path / "none.csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none of the 2 devices can run it (without a CPU)" in err
    assert not (tmp_path / "none.csv").exists()
    # ncnn-vulkan: a GPU without a `vulkan:` section (jetson_agx_orin) is skipped like a device
    # without a GPU (raspberry_pi_4_1800); the Vulkan specs are priced.
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "jetson_agx_orin", "raspberry_pi_4_1800",
                  "rockchip_rk3588_vulkan", "--runtime", "ncnn-vulkan", "--out", tmp_path / "vk.csv"]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note: ")]
    assert notes == ["note: skipped 1 device(s) whose GPU has no `vulkan:` section, which --runtime ncnn-vulkan "
                     "needs: jetson_agx_orin",
                     "note: skipped 1 device(s) without a GPU, which --runtime ncnn-vulkan needs: raspberry_pi_4_1800"]
    assert {k[1] for k in _rows(tmp_path / "vk.csv")} == {"rockchip_rk3588_vulkan"}


def test_a_runtime_sweep_at_batch_above_one_says_whose_range_its_rows_carry(tmp_path, capsys):
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn",
                  "--batch", "1,4,8", "--out", tmp_path / "b.csv"]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note: ")]
    assert notes == ["note: benchncnn ran batch 1 only: the expected_low_ms / expected_high_ms of the rows at "
                     "batch 4, 8 are the range of its batch-1 runs"]
    assert augur(["sweep", "--nets", "squeezenet1_1", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn",
                  "--out", tmp_path / "one.csv"]) == 0
    assert "note:" not in capsys.readouterr().err


def test_a_default_runtime_sweep_prices_corpus_cpus_with_the_fitted_model(tmp_path):
    """A sweep without --runtime runs each processor's default: a corpus spec's CPU is the fitted
    ncnn model (one estimate each, with threads, cores and the expected range, the rows --runtime
    ncnn gives), beside the others' spec rows in one table; --threads places those CPUs. A spec
    whose CPU still defaults to the generic ncnn-roofline is named in a note pointing at the
    fitted model."""
    nets = S.expand_nets(["squeezenet1_1"])
    devs = S.expand_hw(["rockchip_rk3588", "raspberry_pi_4_1800", "jetson_nano"])
    summ = S.run_sweep(nets, devs, [1], ["fp32"], None, processors=["cpu"])
    # Two devices priced by ncnn: the last note says what ranking them by time is worth.
    assert summ.notes[-1].startswith("which of two devices is faster (ncnn rows)")
    # Rows of two runtimes side by side: a note says a ratio across them is not the hardware's.
    assert summ.notes[:-1] == ["CPU rows come from 2 runtimes (each device's default; devices: ncnn 2, onnxruntime 1): "
                          "a ratio of times across runtimes is not the hardware's alone; compare within one "
                          "(column runtime)"]
    rows = {r["hw"]: r for r in summ.table.to_pylist()}
    assert {h: r["runtime"] for h, r in rows.items()} == {"rockchip_rk3588": "ncnn", "raspberry_pi_4_1800": "ncnn",
                                                         "jetson_nano": "onnxruntime"}
    fitted_run = S.run_sweep(nets, devs[:2], [1], ["fp32"], None, runtime="ncnn")
    assert fitted_run.notes == summ.notes[-1:]   # one runtime: no mixed-runtime note
    fitted = {r["hw"]: r for r in fitted_run.table.to_pylist()}
    for hw in fitted:
        for col in ("time_ms", "threads", "cores", "expected_low_ms", "expected_high_ms", "precision_used"):
            assert rows[hw][col] == fitted[hw][col], (hw, col)
    assert rows["rockchip_rk3588"]["expected_low_ms"] < rows["rockchip_rk3588"]["time_ms"]
    assert rows["jetson_nano"]["threads"] is None
    two = {r["hw"]: r for r in S.run_sweep(nets, devs[:2], [1], ["fp32"], None, threads=2).table.to_pylist()}
    assert {r["threads"] for r in two.values()} == {2}
    assert two["rockchip_rk3588"]["time_ms"] > rows["rockchip_rk3588"]["time_ms"]
    # At fp16 the ncnn rows are ncnn's own run (precision_used), and a note says so.
    half = S.run_sweep(nets, devs, [1], ["fp16"], None, processors=["cpu"])
    assert len(half.notes) == 3 and half.notes[0].startswith("2 device(s) default to a runtime that picks its "
                                                             "precision itself")
    hrows = {r["hw"]: r for r in half.table.to_pylist()}
    assert hrows["rockchip_rk3588"]["time_ms"] == rows["rockchip_rk3588"]["time_ms"]
    assert hrows["rockchip_rk3588"]["precision_used"] == "fp16" and hrows["raspberry_pi_4_1800"][
        "precision_used"] == "fp32"
    # A spec whose CPU defaults to the generic engine: the note.
    text = (REPO / "hwspecs" / "rockchip_rk3588.yaml").read_text()
    spec = tmp_path / "my_rk3588.yaml"
    spec.write_text(re.sub(r"default_runtime: ncnn\b.*", "default_runtime: ncnn-roofline", text)
                    .replace("name: rockchip_rk3588", "name: my_rk3588"))
    notes = S.run_sweep(nets, S.expand_hw([str(spec)]), [1], ["fp32"], None).notes
    assert len(notes) == 1 and notes[0].startswith("1 device(s) priced with their default runtime ncnn-roofline")


def test_sweep_plots_say_how_a_runtime_sweep_ran(tmp_path, monkeypatch):
    """A --runtime ncnn sweep's heatmap and Pareto titles name the runtime, threads and cores
    every row was priced with; a sweep of each device's own default runtime names none."""
    from augur_sim.explore import sweep_plots as P
    titles = []
    monkeypatch.setattr(P, "save_figure", lambda fig, path: titles.extend(a.get_title() for a in fig.axes
                                                                          if a.get_title()))
    nets = S.expand_nets(["squeezenet1_1", "mobilenet_v2"])
    t = S.run_sweep(nets, S.expand_hw(NCNN_DEVS), [1], ["fp32"], None, runtime="ncnn", threads=2,
                    cores="big").table
    assert P.run_label(t) == ", runtime ncnn, 2 threads (big)"
    P.heatmap_plot(t, tmp_path / "h.png")
    P.pareto_plot(t, tmp_path / "p.png")
    assert len(titles) == 2 and all(", runtime ncnn, 2 threads (big):" in x for x in titles)
    plain = S.run_sweep(nets, S.expand_hw(["jetson_nano", "nvidia_l4"]), [1], ["fp32"], None).table
    assert P.run_label(plain) == ""


def test_plots_of_many_devices_rank_them_and_keep_labels_apart(monkeypatch):
    """More devices than MANY_DEVICES and fewer networks: the heatmap lists the devices down the
    side, ranked by mean log latency (fastest first), each named with its runtime where the
    rows mix runtimes, and grows so each keeps its line; the Pareto chart's legend stands
    outside in columns and `front` names only the points on the front of all devices."""
    from augur_sim.explore import sweep_plots as P
    figs = []
    monkeypatch.setattr(P, "save_figure", lambda fig, path: figs.append(fig))
    hw = ["rockchip_rk3588", "raspberry_pi_4_1800", "raspberry_pi_zero_2w", "snapdragon_855plus", "apple_m1",
          "rockchip_rk3566", "allwinner_h616", "amlogic_a311d", "snapdragon_8gen2", "intel_i7_7700k",
          "loongson_3a6000", "starfive_jh7110", "jetson_nano", "nvidia_t4"]
    assert len(hw) > P.MANY_DEVICES
    t = S.run_sweep(S.expand_nets(["squeezenet1_1", "mobilenet_v2"]), S.expand_hw(hw), [1], ["fp32"], None).table
    P.heatmap_plot(t, "h.png")
    ax = figs[0].axes[0]
    rows = [x.get_text() for x in ax.get_yticklabels()]
    assert "devices ranked fastest first" in ax.get_title() and len(rows) == len(hw)
    assert "nvidia_t4/gpu (pytorch-cudagraph)" in rows and "jetson_nano/gpu (cudnn)" in rows
    assert "rockchip_rk3588/cpu (ncnn)" in rows
    lat = {}
    for r in t.to_pylist():
        lat.setdefault(r["hw"], []).append(np.log(r["time_ms"]))
    ranked = sorted(lat, key=lambda h: np.mean(lat[h]))
    assert [r.split("/")[0] for r in rows] == ranked
    assert figs[0].get_size_inches()[1] >= 0.2 * len(hw)
    # A few devices: networks down the side, devices across, as before.
    P.heatmap_plot(S.run_sweep(S.expand_nets(["squeezenet1_1"]), S.expand_hw(hw[:3]), [1], ["fp32"], None).table,
                   "h2.png")
    assert [x.get_text() for x in figs[1].axes[0].get_yticklabels()] == ["squeezenet1_1"]
    fig = P.pareto_figure(t)
    leg = fig.axes[0].get_legend()
    assert leg is not None and len(leg.get_texts()) == len(hw) and leg.get_bbox_to_anchor().x0 > \
        fig.axes[0].get_window_extent().x1 - 1
    # The legend names each device's runtime too, as the heatmap does (the rows mix runtimes).
    assert {"nvidia_t4/gpu (pytorch-cudagraph)", "jetson_nano/gpu (cudnn)"} <= {x.get_text() for x in leg.get_texts()}
    named = {a.get_gid() for a in fig.axes[0].texts}
    xs = [(r["hw"], r["net"]) for r in t.to_pylist()]
    times = np.array([r["time_ms"] for r in t.to_pylist()])
    macs = np.array([r["macs"] for r in t.to_pylist()], dtype=float)
    front = {xs[i] for i in np.nonzero(P.pareto_mask(times, macs, "min", "max"))[0]}
    assert named and {(g.split(":")[1].split("/")[0], g.split(":")[2]) for g in named} == front


def test_quantised_networks_on_ncnn_vulkan_devices_are_left_out_and_noted(tmp_path, capsys):
    """ncnn-vulkan cannot price a quantised network (its int8 layers run on the CPU): a sweep
    leaves those (network, GPU) pairs out with a note pointing at --processor cpu, and prices
    everything else (before, the first such pair failed the whole sweep); with nothing else to
    price it is a one-line error and no file."""
    from shared_data import SHARED
    models = SHARED / "corpora" / "ncnn" / "models"
    if not (models / "mobilenet_int8.param").is_file():
        pytest.skip(f"{models} not present")
    nets = S.expand_nets([str(models / "mobilenet_int8.param"), str(models / "mobilenet.param")])
    for runtime in (None, "ncnn-vulkan"):
        devs = S.expand_hw(["rockchip_rk3588_vulkan", "rockchip_rk3588"] if runtime is None else
                           ["rockchip_rk3588_vulkan", "nvidia_rtx3090_vulkan"])
        summ = S.run_sweep(nets, devs, [1], ["fp32"], None, runtime=runtime)
        got = {(r["net"], r["hw"]) for r in summ.table.to_pylist()}
        gpus = [d.name for d in devs if d.name.endswith("_vulkan")]
        assert got == {("mobilenet", d.name) for d in devs} | (
            {("mobilenet_int8", "rockchip_rk3588")} if runtime is None else set())
        note = [n for n in summ.notes if n.startswith("1 quantised network(s) not priced")]
        assert len(note) == 1 and "mobilenet_int8 on " + ", ".join(sorted(gpus)) in note[0]
        assert note[0].endswith("--processor cpu prices them under ncnn")
    out = tmp_path / "q.csv"
    assert augur(["sweep", "--nets", str(models / "mobilenet_int8.param"), "--hw", "rockchip_rk3588_vulkan",
                  "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing this sweep plans can be priced" in err and not out.exists()


def test_quantised_networks_on_float_runtimes_are_noted_once(tmp_path):
    """A quantised network on a runtime that prices every kernel at one float precision costs as
    its float twin: the sweep says so once, naming the network and those runtimes, and not where
    every row runs an int8-aware runtime (ncnn on the CPU)."""
    from shared_data import SHARED
    models = SHARED / "corpora" / "ncnn" / "models"
    if not (models / "mobilenet_int8.param").is_file():
        pytest.skip(f"{models} not present")
    nets = S.expand_nets([str(models / "mobilenet_int8.param"), str(models / "mobilenet.param")])
    summ = S.run_sweep(nets, S.expand_hw(["nvidia_t4", "rockchip_rk3588"]), [1], ["fp32"], None)
    note = [n for n in summ.notes if "quantised network(s) (mobilenet_int8) on " in n]
    assert len(note) == 1 and note[0].startswith("1 quantised network(s) (mobilenet_int8) on pytorch-cudagraph:")
    rows = {(r["net"], r["hw"]): r for r in summ.table.to_pylist()}
    # What the note says: on the T4 the quantised network costs what the float one does.
    assert rows[("mobilenet_int8", "nvidia_t4")]["time_ms"] == pytest.approx(
        rows[("mobilenet", "nvidia_t4")]["time_ms"], rel=0.05)
    summ = S.run_sweep(nets, S.expand_hw(["rockchip_rk3588"]), [1], ["fp32"], None)
    assert not [n for n in summ.notes if "quantised network(s) (" in n]


def test_a_resumed_ncnn_file_adds_the_placements_it_lacks(tmp_path):
    """The placement is part of an ncnn row's key: a file written at 2 threads holds that run; a
    sweep at the default placement (the Pi 4's 4 big cores) adds its own row beside it, and
    running either again adds nothing."""
    out = tmp_path / "t.csv"
    base = ["sweep", "--nets", "squeezenet1_1", "--hw", "raspberry_pi_4_1800", "--out", out]
    assert augur(base + ["--runtime", "ncnn", "--threads", "2"]) == 0
    assert augur(base) == 0
    rows = S.read_table(out).to_pylist()
    assert sorted((r["cores"], r["threads"]) for r in rows) == [("big", 2), ("big", 4)]
    assert rows[0]["time_ms"] != rows[1]["time_ms"]
    before = out.read_bytes()
    assert augur(base + ["--threads", "2,4"]) == 0 and augur(base + ["--runtime", "ncnn"]) == 0
    assert out.read_bytes() == before

def test_ncnn_sweep_over_placements_prices_each_as_estimate_does(tmp_path, capsys):
    """`--threads 1,2,4 --cores big,all`: a row per placement a device's CPU runs differently,
    each the time `augur estimate --runtime ncnn --threads T --cores C` gives. The Pi 4's one
    cluster runs `all` as `big`; the RK3399's one and two threads land on its two A72s under
    either set: those placements are named in a note, not priced twice."""
    out = tmp_path / "p.csv"
    assert augur(["sweep", "--nets", "squeezenet1_1", "mobilenet_v2", "--hw", "raspberry_pi_4_1800",
                  "rockchip_rk3399", "--runtime", "ncnn", "--threads", "1,2", "--threads", "4", "--cores", "big,all",
                  "--out", out]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note: ")]
    rows = S.read_table(out).to_pylist()
    got = sorted((r["hw"], r["cores"], r["threads"]) for r in rows if r["net"] == "squeezenet1_1")
    assert got == [("raspberry_pi_4_1800", "big", 1), ("raspberry_pi_4_1800", "big", 2),
                   ("raspberry_pi_4_1800", "big", 4), ("rockchip_rk3399", "all", 4), ("rockchip_rk3399", "big", 1),
                   ("rockchip_rk3399", "big", 2), ("rockchip_rk3399", "big", 4)]
    assert len(rows) == 14
    for r in rows:
        est = estimate(r["net"], r["hw"], runtime="ncnn", threads=r["threads"], cores=r["cores"])
        assert r["time_ms"] == pytest.approx(est.total.time_s * 1e3, rel=1e-9)
    # Four A53s beside the two A72s are faster than the two A72s oversubscribed, and the model says so.
    t = {(r["cores"], r["threads"]): r["time_ms"] for r in rows
         if r["net"] == "mobilenet_v2" and r["hw"] == "rockchip_rk3399"}
    assert len(set(t.values())) == 4
    same = next(n for n in notes if "priced exactly as another placement" in n)
    assert same.startswith("note: 5 placement(s) not priced") and \
        "rockchip_rk3399: cores all, 2 threads (priced as cores big, 2 threads)" in same
    # The note quotes the shipped held-out file's entry for four placements (3 or more measured).
    from augur_sim.engine.held_out import current_held_out, placement_summary
    from augur_sim.engine.ncnn_params import DEFAULT_FIT
    rec = current_held_out(DEFAULT_FIT)
    assert rec is not None and [e[0] for e in rec.placement_choice] == [2, 3]
    # Over the corpus' groups of 3+ placements the model's pick beats the most threads.
    assert rec.placement_choice[-1][3] > rec.placement_choice[-1][4]
    said = placement_summary(rec, 4)
    assert said.startswith(f"of {rec.placement_choice[-1][1]:,} held-out device x network groups with 3 or more")
    assert any(n.startswith("note: ncnn rows at up to 4 placements per device") and said in n for n in notes)
    # Run again: nothing new.
    before = out.read_bytes()
    assert augur(["sweep", "--nets", "squeezenet1_1,mobilenet_v2", "--hw", "raspberry_pi_4_1800", "rockchip_rk3399",
                  "--runtime", "ncnn", "--threads", "1,2,4", "--cores", "big", "all", "--out", out]) == 0
    assert out.read_bytes() == before


def test_ncnn_sweep_over_placements_drops_what_a_cpu_cannot_take(tmp_path, capsys):
    """Of several thread counts, one beyond 16 threads a core (MAX_OVERSUBSCRIPTION) of a device
    is left out for that device with a note (100 threads: over the Pi 4's 4 cores, not the
    RK3588's 8 under --cores all); alone it is an error, as in `augur estimate`."""
    rows = S.run_sweep(S.expand_nets(["squeezenet1_1"]), S.expand_hw(["raspberry_pi_4_1800", "rockchip_rk3588"]),
                       [1], ["fp32"], None, runtime="ncnn", threads=[4, 100], cores="all").table.to_pylist()
    assert sorted((r["hw"], r["threads"]) for r in rows) == [("raspberry_pi_4_1800", 4), ("rockchip_rk3588", 4),
                                                              ("rockchip_rk3588", 100)]
    summ = S.run_sweep(S.expand_nets(["squeezenet1_1"]), S.expand_hw(["raspberry_pi_4_1800"]), [1], ["fp32"], None,
                       runtime="ncnn", threads=[4, 100])
    assert any(n.startswith("1 placement(s) not priced, beyond what the device's CPU can take: "
                            "raspberry_pi_4_1800: cores big, 100 threads (--threads 100 exceeds") for n in summ.notes)
    base = ["sweep", "--nets", "squeezenet1_1", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn", "--out"]
    for extra, needle in [(["--threads", "100"], "--threads 100 exceeds the 4 cores"),
                          (["--threads", "0,2"], "--threads values must be positive integers, got 0"),
                          (["--threads", "2,x"], "--threads: 'x' is not a valid value"),
                          (["--cores", "big,middle"], "--cores: unknown 'middle'; expected some of big, little, all")]:
        capsys.readouterr()
        out = tmp_path / "bad.csv"
        assert augur(base + [out] + extra) == 2, extra
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err and "Traceback" not in err, err
        assert not out.exists()
    # An anchor is one device run one way.
    capsys.readouterr()
    assert augur(base + [tmp_path / "a.csv", "--threads", "2,4", "--anchor", "squeezenet1_1=50"]) == 2
    err = capsys.readouterr().err
    assert "--anchor is a time measured on one device run one way" in err and "(cores big, 2 threads)" in err


def test_plot_of_a_placement_sweep_tells_placements_apart():
    from augur_sim.explore.sweep_plots import _device_labels, _records
    summ = S.run_sweep(S.expand_nets(["squeezenet1_1", "resnet18"]),
                       S.expand_hw(["rockchip_rk3399", "raspberry_pi_4_1800"]), [1], ["fp32"], None,
                       runtime="ncnn", threads=[2, 4], cores="big")
    recs = _records(summ.table, (1, "fp32"))
    labels = sorted(set(_device_labels(summ.table, recs).values()))
    assert labels == ["raspberry_pi_4_1800/cpu big x2", "raspberry_pi_4_1800/cpu big x4",
                      "rockchip_rk3399/cpu big x2", "rockchip_rk3399/cpu big x4"]
    one = S.run_sweep(S.expand_nets(["squeezenet1_1"]), S.expand_hw(["rockchip_rk3399"]), [1], ["fp32"], None,
                      runtime="ncnn", threads=4)
    assert list(_device_labels(one.table, _records(one.table, (1, "fp32"))).values()) == ["rockchip_rk3399/cpu"]
