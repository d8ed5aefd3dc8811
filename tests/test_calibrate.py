"""calibrate + fit: the fit recovers known parameters; calibrate writes a spec load_hw accepts."""
import re
from pathlib import Path

import numpy as np
import pytest

from augur_sim.calibrate import (FUSION, RUNTIME, LayerSpec, _conv, _fit_params, _gemm, bench_specs,
                                 build_processor, calibrate, layer_graph, machine_info, read_caches,
                                 write_spec)
from augur_sim.cli import main
from augur_sim.engine.hwrow import H_DW_EFF, H_GEMM_PEAK, H_MEM_EFF, H_OVERHEAD, hw_row
from augur_sim.fit import Param, bench_times, fit_params
from augur_sim.hw import load_hw
from augur_sim.lower import NOOP, lower


@pytest.fixture(autouse=True, scope="module")
def _measure_commands():
    """The lead registers augur_sim.commands.measure in cli.COMMAND_MODULES; until then, here."""
    import augur_sim.cli as cli
    added = "augur_sim.commands.measure" not in cli.COMMAND_MODULES
    if added:
        cli.COMMAND_MODULES.append("augur_sim.commands.measure")
    yield
    if added:
        cli.COMMAND_MODULES.remove("augur_sim.commands.measure")


def _bench_rows(specs):
    rows, owner = [], []
    for i, s in enumerate(specs):
        for r in lower(layer_graph(s), "fp32", FUSION).rows:
            if int(r[0]) != NOOP:
                rows.append(r)
                owner.append(i)
    return np.array(rows), np.array(owner)


def _synthetic_base(units=1):
    m = machine_info()
    bw = {"L2": 80.0, "L3": 25.0, "DRAM": 12.0}
    proc = build_processor(m, units, 2.5, 64, bw, 1e-6)
    return proc, hw_row(proc, proc.runtimes[RUNTIME])


def test_fit_recovers_known_parameters_from_engine_generated_times():
    specs = bench_specs("quick")
    specs = [s for s in specs if s.family != "lrn"]
    rows, owner = _bench_rows(specs)
    _, base = _synthetic_base()
    true = base.copy()
    truth = {"gemm_peak": 0.72, "gemm_half_m": 12.0, "gemm_half_n": 40.0, "gemm_half_k": 24.0, "dw_conv": 0.06,
             "mem": 0.7, "eltwise": 0.55, "dispatch_s": 3e-6}
    cols = {p.name: p.col for p in _fit_params()}
    for k, v in truth.items():
        true[cols[k]] = v
    clean = bench_times(rows, owner, len(specs), true[None, :])[0]
    noise = np.exp(np.random.default_rng(1).normal(0.0, 0.02, clean.size))  # 2% measurement noise
    params = [p for p in _fit_params() if not p.choices]
    start = base.copy()  # the generic defaults, far from the truth
    res = fit_params(rows, owner, clean * noise, start, params, seed=3)
    assert res.loss < res.start_loss / 20
    assert res.loss < 0.01  # ~10% rms log error at worst, with 2% noise
    v = res.values
    # The identifiable parameters come back; each of them drives several benchmarks.
    assert v["gemm_peak"] == pytest.approx(truth["gemm_peak"], rel=0.15)
    assert v["dispatch_s"] == pytest.approx(truth["dispatch_s"], rel=0.5)
    assert v["eltwise"] == pytest.approx(truth["eltwise"], rel=0.2)
    assert v["dw_conv"] == pytest.approx(truth["dw_conv"], rel=0.3)
    # And the fitted row reproduces every benchmark it was fitted to.
    assert np.all(np.abs(np.log(res.predicted_s / clean)) < 0.15)


def test_fit_is_exact_without_noise_on_one_parameter():
    specs = [_gemm("g1", 256, 256, 256), _gemm("g2", 1024, 64, 1024), _conv("c", "conv", 64, 64, 28, 3)]
    rows, owner = _bench_rows(specs)
    _, base = _synthetic_base()
    true = base.copy()
    true[H_GEMM_PEAK] = 0.4
    t = bench_times(rows, owner, 3, true[None, :])[0]
    res = fit_params(rows, owner, t, base, [Param("gemm_peak", H_GEMM_PEAK, 0.05, 1.0)], n_random=16)
    assert res.values["gemm_peak"] == pytest.approx(0.4, rel=1e-3)


def test_fit_rejects_bad_measurements():
    from augur_sim.errors import AugurError
    specs = [_gemm("g1", 64, 64, 64)]
    rows, owner = _bench_rows(specs)
    _, base = _synthetic_base()
    with pytest.raises(AugurError, match="positive"):
        fit_params(rows, owner, np.array([-1.0]), base, [Param("mem", H_MEM_EFF, 0.1, 1.0)])


def test_sysfs_caches_parse(tmp_path):
    for i, (lvl, typ, size, shared) in enumerate([(1, "Data", "48K", "0"), (1, "Instruction", "32K", "0"),
                                                  (2, "Unified", "2048K", "0"), (3, "Unified", "260M", "0-1")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        for k, v in {"level": lvl, "type": typ, "size": size, "coherency_line_size": 64,
                     "ways_of_associativity": 16, "shared_cpu_list": shared}.items():
            (d / k).write_text(f"{v}\n")
    cs = read_caches(tmp_path)
    assert [(c.level, c.size_bytes, c.shared) for c in cs] == [(1, 48 << 10, False), (2, 2 << 20, False),
                                                               (3, 260 << 20, True)]


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("AUGUR_CALIBRATE_TINY", "1")
    out = tmp_path_factory.mktemp("cal") / "host_tiny.yaml"
    rc = main(["calibrate", "--out", str(out), "--threads", "1", "--quick", "--no-progress"])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_calibrate_writes_a_spec_load_hw_accepts(tiny_spec):
    dev = load_hw(str(tiny_spec))
    assert dev.name == "host_tiny"
    proc = dev.processor("cpu")
    assert proc.units == 1
    rt = proc.runtime(RUNTIME)
    assert 0 < rt.gemm_peak <= 1 and 0 < rt.mem <= 1
    assert proc.dram_bw_gbs > 0
    assert set(rt.fusion) == set(FUSION)
    text = tiny_spec.read_text()
    # Provenance: date and machine in the runtime's source and in sources.
    assert re.search(r"measured by augur calibrate on \d{4}-\d\d-\d\d, ", rt.source)
    assert any("measured by augur calibrate on" in s.ref for s in dev.sources)
    assert machine_info().cpu_model.split()[0] in text
    # The caches come from the OS, innermost first, sizes strictly growing.
    sizes = [c.size_bytes for c in proc.caches]
    assert sizes == sorted(sizes) and len(sizes) >= 1


@pytest.mark.parametrize("edit, where", [
    (lambda t: re.sub(r"dram_bw_gbs: [0-9.]+", "dram_bw_gbs: -5", t), "dram_bw_gbs"),
    (lambda t: t.replace("    units:", "    bogus_key: 3\n    units:"), "bogus_key"),
])
def test_hand_broken_spec_is_a_one_line_error_exit_2(tiny_spec, tmp_path, capsys, edit, where):
    broken = tmp_path / "host_tiny.yaml"
    broken.write_text(edit(tiny_spec.read_text()))
    rc = main(["hw", "check", str(broken)])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and where in err and err.startswith("augur: error:")


def test_calibrate_refuses_bad_threads_and_output(tmp_path, capsys):
    assert main(["calibrate", "--threads", "0", "--out", str(tmp_path / "h.yaml")]) == 2
    assert main(["calibrate", "--threads", "4096", "--out", str(tmp_path / "h.yaml"), "--no-progress"]) == 2
    assert "exceeds" in capsys.readouterr().err
    assert not (tmp_path / "h.yaml").exists()
