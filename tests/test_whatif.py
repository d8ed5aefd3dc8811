"""What-if: --set comparisons, --vary grids (exact and derived rows), CLI errors."""
import numpy as np
import pytest
from explore_util import REPO, augur

from augur_sim.engine.hwrow import pick_processor
from augur_sim.errors import AugurError
from augur_sim.estimator import estimate
from augur_sim.explore import whatif as W
from augur_sim.explore.generate import generate
from augur_sim.frontends import load_net
from augur_sim.hw import apply_overrides, load_hw

CASES = [("resnet50", "jetson_nano", None), ("squeezenet1_1", "raspberry_pi_4", None),
         ("mobilenet", "nvidia_t4", None), ("resnet18", "jetson_tx2", "cpu")]


def _net(name):
    return generate("mobilenet", 1, seed=4)[0].graph() if name == "mobilenet" else load_net(name)


@pytest.mark.parametrize("net,hw,proc", CASES)
def test_doubling_bandwidth_never_slows_a_layer(net, hw, proc):
    dev = load_hw(hw)
    p = pick_processor(dev, proc)
    c = W.compare(_net(net), dev, {f"{p.name}.dram_bw_gbs": 2 * p.dram_bw_gbs}, processor=proc)
    assert c.layers
    for l in c.layers:
        assert l.new_s <= l.base_s * (1 + 1e-12), l.name
    assert c.new.total.time_s <= c.base.total.time_s
    # A DRAM-bound layer gains (its memory time halves) unless overheads hide it.
    if any(l.base_bound == "memory" for l in c.layers):
        assert any(l.new_s < l.base_s for l in c.layers)


def test_vary_bandwidth_flips_the_bound():
    ax = W.parse_vary("gpu.dram_bw_gbs=0.5:2000:16:log")
    g = W.grid("resnet50", "jetson_nano", [ax])
    assert g.compute_share[0] < 0.5 < g.compute_share[-1]
    # More bandwidth never costs time.
    assert np.all(np.diff(g.time_s) <= 1e-15)
    cross = g.crossings()
    assert len(cross) == 1
    lab, x, direction = cross[0]
    assert lab == () and 0.5 < x < 2000 and direction == "memory->compute"
    # The crossing lies between the last memory-bound and first compute-bound grid points.
    i = int(np.argmax(g.compute_share >= 0.5))
    assert ax.values[i - 1] <= x <= ax.values[i]
    assert "memory -> compute bound" in W.grid_table(g)


def _per_point(net, hw, axes, sets=None):
    dev = apply_overrides(load_hw(hw), sets) if sets else load_hw(hw)
    import itertools
    out = []
    for p in itertools.product(*[a.values for a in axes]):
        d = apply_overrides(dev, {a.key: v for a, v in zip(axes, p)})
        out.append(estimate(net, d).total.time_s)
    return np.array(out)


def test_grid_equals_per_point_estimate_exact_path():
    axes = [W.parse_vary("gpu.dram_bw_gbs=10,30,90"), W.parse_vary("gpu.clock_ghz=0.6:1.2:3")]
    g = W.grid("squeezenet1_1", "jetson_nano", axes)
    assert g.method == "exact"
    ref = _per_point("squeezenet1_1", "jetson_nano", axes)
    np.testing.assert_allclose(g.time_s, ref, rtol=1e-12)


def test_derived_rows_equal_apply_overrides_rows():
    # Clock and unit count both scale peak FLOP/s: the shared column must combine exactly.
    axes = [W.parse_vary("gpu.dram_bw_gbs=5:200:7:log"), W.parse_vary("gpu.clock_ghz=0.4:1.6:5"),
            W.parse_vary("gpu.units=1,2,4"), W.parse_vary("gpu.caches[1].size_kib=128,512")]
    sets = {"gpu.energy.static_w": 2.0}
    exact = W.grid("squeezenet1_1", "jetson_nano", axes, sets, exact_limit=10**9)
    derived = W.grid("squeezenet1_1", "jetson_nano", axes, sets, exact_limit=0)
    assert exact.method == "exact" and derived.method == "derived"
    np.testing.assert_allclose(derived.time_s, exact.time_s, rtol=1e-12)
    np.testing.assert_allclose(derived.energy_j, exact.energy_j, rtol=1e-12)
    sel = [0, 17, len(exact.points) - 1]
    ref = []
    dev = apply_overrides(load_hw("jetson_nano"), sets)
    for i in sel:
        d = apply_overrides(dev, {a.key: v for a, v in zip(axes, exact.points[i])})
        ref.append(estimate("squeezenet1_1", d).total.time_s)
    np.testing.assert_allclose(derived.time_s[sel], ref, rtol=1e-12)
    # Baseline is the spec as given: speed-up 1 where the grid point equals it.
    assert exact.baseline_time_s == pytest.approx(estimate("squeezenet1_1", "jetson_nano").total.time_s)


def test_derived_grid_is_the_exact_grid_where_axes_touch_disjoint_columns():
    # Bandwidth and clock edit different row columns, so each derived row holds exactly the
    # values apply_overrides gives that point: bit-identical, on a grid that is not square
    # (a point given another point's values, or the axes swapped, would show).
    axes = [W.parse_vary("gpu.dram_bw_gbs=5:200:7:log"), W.parse_vary("gpu.clock_ghz=0.4:1.6:4")]
    exact = W.grid("squeezenet1_1", "jetson_nano", axes, exact_limit=10**9)
    derived = W.grid("squeezenet1_1", "jetson_nano", axes, exact_limit=0)
    assert (exact.method, derived.method) == ("exact", "derived")
    for k in ("time_s", "dram_bytes", "energy_j", "compute_share"):
        assert getattr(derived, k).tobytes() == getattr(exact, k).tobytes(), k
    t = derived.time_s.reshape(7, 4)
    assert np.all(np.ptp(t, axis=0) > 0) and np.all(np.ptp(t, axis=1) > 0)  # both axes move it


def test_compare_reports_bound_changes_and_speedup():
    c = W.compare("resnet50", "jetson_nano", {"gpu.dram_bw_gbs": 2.0})
    assert c.speedup < 1.0
    assert c.bound_changes and all(l.new_bound == "memory" for l in c.bound_changes)
    text = W.comparison_table(c)
    assert "speed-up" in text and "bound changed in" in text


@pytest.mark.parametrize("text", ["gpu.clock_ghz", "gpu.clock_ghz=1:2", "gpu.clock_ghz=1:2:1", "=1,2",
                                  "gpu.clock_ghz=1:2:x", "gpu.clock_ghz=1:1:4", "gpu.clock_ghz=3",
                                  "gpu.clock_ghz=1,,2", "gpu.clock_ghz=1,1", "gpu.clock_ghz=0:4:3:log",
                                  "gpu.clock_ghz=a,b", "gpu.clock_ghz=1:2:3:lin", "gpu.clock_ghz=1:nan:3"])
def test_parse_vary_rejects(text):
    with pytest.raises(AugurError):
        W.parse_vary(text)


def test_parse_vary_forms():
    assert W.parse_vary("gpu.units=1:4:4").values == (1, 2, 3, 4)
    assert W.parse_vary("gpu.clock_ghz=2:1:3").values == (2, 1.5, 1)  # downwards is allowed
    v = W.parse_vary("x=1:100:3:log").values
    assert v[0] == 1 and v[-1] == 100 and v[1] == pytest.approx(10)


def test_hypothetical_extends_device_matches_set(tmp_path):
    ex = REPO / "hwspecs" / "examples" / "tx2_2x_bw.yaml"
    dev = load_hw(str(ex))
    bw = dev.processors["gpu"].dram_bw_gbs
    c = W.compare("resnet18", "jetson_tx2", {"gpu.dram_bw_gbs": bw})
    assert estimate("resnet18", str(ex)).total.time_s == pytest.approx(c.new.total.time_s, rel=1e-12)


# ---------------------------------------------------------------- CLI

def test_cli_set_and_vary(tmp_path, capsys):
    assert augur(["whatif", "squeezenet1_1", "--hw", "jetson_nano", "--set", "gpu.dram_bw_gbs=51.2",
                  "--set", "gpu.clock_ghz=1.3"]) == 0
    out = capsys.readouterr().out
    assert "speed-up" in out and "total:" in out
    png = tmp_path / "v.png"
    csv = tmp_path / "v.csv"
    assert augur(["whatif", "resnet50", "--hw", "jetson_nano", "--vary", "gpu.dram_bw_gbs=0.5:2000:10:log",
                  "--vary", "gpu.clock_ghz=0.5,1", "--plot", png, "--format", "csv", "--out", csv]) == 0
    assert png.stat().st_size > 1000
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("gpu.dram_bw_gbs,gpu.clock_ghz,time_ms") and len(lines) == 21


def _spec(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("args,needle", [
    (["--set", "gpu.dram_bw_gbz=51.2"], "unknown override key"),
    (["--set", "gpu.dram_bw_gbs=fast"], "dram_bw_gbs"),
    (["--set", "gpu.dram_bw_gbs=-5"], "dram_bw_gbs"),
    (["--set", "gpu.units=2.5"], "units"),
    (["--set", "gpu.dram_bw_gbs"], "KEY=VALUE"),
    (["--vary", "gpu.dram_bw_gbs=1:10:1"], "STEPS"),
    (["--vary", "gpu.dram_bw_gbs=1:10"], "START:STOP:STEPS"),
    (["--vary", "gpu.dram_bw_gbs=-1:10:3"], "dram_bw_gbs"),
    (["--vary", "gpu.nope=1:10:3"], "unknown override key"),
    ([], "--set"),
])
def test_cli_errors_one_line_exit_2_no_file(tmp_path, capsys, args, needle):
    out = tmp_path / "r.txt"
    png = tmp_path / "r.png"
    extra = ["--plot", png] if any(a == "--vary" for a in args) else []
    rc = augur(["whatif", "squeezenet1_1", "--hw", "jetson_nano", "--out", out] + args + extra)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("augur: error:") and err.count("\n") == 1 and needle in err
    assert not out.exists() and not png.exists()
    assert not [p for p in tmp_path.iterdir()]  # no temp files left either


def test_cli_extends_cycle_and_missing_parent(tmp_path, capsys):
    _spec(tmp_path, "a.yaml", "name: a\ndescription: x\nextends: b.yaml\n")
    _spec(tmp_path, "b.yaml", "name: b\ndescription: x\nextends: a.yaml\n")
    _spec(tmp_path, "c.yaml", "name: c\ndescription: x\nextends: nowhere.yaml\n")
    for spec, needle in (("a.yaml", "cycle"), ("c.yaml", "nowhere")):
        out = tmp_path / "o.txt"
        rc = augur(["whatif", "squeezenet1_1", "--hw", tmp_path / spec, "--set", "gpu.clock_ghz=1",
                    "--out", out])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and needle in err
        assert not out.exists()


# ---------------------------------------------------------------- issue 14, item 2

def test_raising_the_clock_crosses_compute_to_memory():
    # The compute share falls as the GPU clock rises: compute-bound at low clocks, memory-bound at high.
    g = W.grid("mobilenet_v2", "jetson_tx2", [W.parse_vary("gpu.clock_ghz=0.3:2.0:8")])
    assert g.compute_share[0] > 0.5 > g.compute_share[-1]
    (c,) = g.crossings()
    assert c.direction == "compute->memory" and c.before_after == ("compute-bound", "memory-bound")
    text = W.grid_table(g)
    assert "compute -> memory bound at gpu.clock_ghz = " in text
    assert "memory -> compute" not in text
    assert "compute share falls through 50%" in text
    assert W.grid_dict(g)["crossings"][0]["direction"] == "compute->memory"


def test_direction_does_not_depend_on_the_axis_order():
    up = W.grid("mobilenet_v2", "jetson_tx2", [W.parse_vary("gpu.clock_ghz=0.3:2.0:8")])
    down = W.grid("mobilenet_v2", "jetson_tx2", [W.parse_vary("gpu.clock_ghz=2.0:0.3:8")])
    assert [c.direction for c in down.crossings()] == [c.direction for c in up.crossings()]
    assert abs(down.crossings()[0].at - up.crossings()[0].at) < 1e-9


def test_no_crossing_says_which_side_and_the_range():
    g = W.grid("resnet50", "jetson_nano", [W.parse_vary("gpu.dram_bw_gbs=1:2:3")])
    assert g.crossings() == []
    text = W.grid_table(g)
    lo, hi = g.compute_share.min(), g.compute_share.max()
    assert "does not cross" not in text
    side = "compute-bound (compute share above 50%)" if lo >= 0.5 else "memory-bound (compute share below 50%)"
    assert f"no crossing: {side} at every point, compute share {lo:.1%} to {hi:.1%}" in text


def test_doubling_the_clock_scales_cache_bandwidths_not_dram():
    dev = load_hw("jetson_tx2")
    gpu = dev.processors["gpu"]
    fast = apply_overrides(dev, {"gpu.clock_ghz": gpu.clock_ghz * 2})
    f = fast.processors["gpu"]
    assert [c.bw_gbs for c in f.caches] == pytest.approx([2 * c.bw_gbs for c in gpu.caches])
    assert f.dram_bw_gbs == gpu.dram_bw_gbs
    # Other processors of the device are untouched.
    assert [c.bw_gbs for c in fast.processors["cpu"].caches] == [c.bw_gbs for c in dev.processors["cpu"].caches]
    # A cache bandwidth set in the same overrides is taken as given.
    pinned = apply_overrides(dev, {"gpu.clock_ghz": gpu.clock_ghz * 2, "gpu.caches[0].bw_gbs": 100.0})
    p = pinned.processors["gpu"]
    assert p.caches[0].bw_gbs == 100.0 and p.caches[1].bw_gbs == pytest.approx(2 * gpu.caches[1].bw_gbs)
    # ... and the reports say which ones followed the clock.
    c = W.compare("resnet18", dev, {"gpu.clock_ghz": gpu.clock_ghz * 2})
    text = W.comparison_table(c)
    assert "gpu.caches[0].bw_gbs, gpu.caches[1].bw_gbs scale with gpu.clock_ghz" in text
    assert "gpu.dram_bw_gbs does not" in text
    assert W.comparison_dict(c)["notes"] == list(c.notes)


def test_whatif_plot_writes_each_bound_on_its_side(tmp_path):
    from augur_sim.explore.sweep_plots import whatif_figure, whatif_plot
    g = W.grid("mobilenet_v2", "jetson_tx2", [W.parse_vary("gpu.clock_ghz=0.3:2.0:8")])
    fig = whatif_figure(g)
    ax = fig.axes[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = {t.get_gid(): t for t in ax.texts if t.get_gid()}
    left, right = texts["left:compute-bound"], texts["right:memory-bound"]
    x_cross = ax.transData.transform((g.crossings()[0].at, 1.0))[0]
    assert left.get_window_extent(r).x1 <= x_cross + 1 <= right.get_window_extent(r).x0 + 2
    # The compute-bound side of this net is the low-clock side: the filled markers are there.
    assert "compute-bound" in left.get_text() and "memory-bound" in right.get_text()
    out = tmp_path / "w.png"
    whatif_plot(g, out)
    assert out.stat().st_size > 1000


def test_ncnn_grid_and_compare_are_the_estimates_of_the_edited_spec():
    """--runtime ncnn has no spec row to edit: each --vary point is the estimate `augur estimate
    --runtime ncnn` makes of the edited spec, at the asked threads and cores, and the baseline is
    the spec as given; a faster cluster clock is never slower (the straggler cluster here)."""
    net = load_net("squeezenet1_1")
    base = apply_overrides(load_hw("raspberry_pi_4_1800"), {})
    axes = [W.parse_vary("cpu.clusters[0].clock_ghz=1.0,1.8,2.4")]
    g = W.grid("squeezenet1_1", "raspberry_pi_4_1800", axes, runtime="ncnn", threads=2, cores="big")
    ref = [estimate(net, apply_overrides(base, {"cpu.clusters[0].clock_ghz": v}), runtime="ncnn", threads=2,
                    cores="big").total.time_s for v in (1.0, 1.8, 2.4)]
    np.testing.assert_allclose(g.time_s, ref, rtol=1e-12)
    assert g.baseline_time_s == pytest.approx(ref[1], rel=1e-12)           # 1.8 GHz is the spec's own
    assert g.time_s[0] > g.time_s[1] > g.time_s[2] and g.method == "estimates"
    assert "3 points (one estimate each)" in W.grid_table(g).splitlines()[0]
    # Threads matter: 1 thread is slower than 2 at every point.
    g1 = W.grid("squeezenet1_1", "raspberry_pi_4_1800", axes, runtime="ncnn", threads=1)
    assert (g1.time_s > g.time_s).all()
    c = W.compare("squeezenet1_1", "raspberry_pi_4_1800", {"cpu.clusters[0].clock_ghz": 2.4}, runtime="ncnn",
                  threads=2, cores="big")
    assert c.new.total.time_s == pytest.approx(ref[2], rel=1e-12)
    # The spec's default runtime is that model: no --runtime, the same grid and comparison; what
    # it refuses, it refuses naming the default (as estimate does), on the grid as on --set.
    gd = W.grid("squeezenet1_1", "raspberry_pi_4_1800", axes, threads=2, cores="big")
    assert gd.method == "estimates" and np.array_equal(gd.time_s, g.time_s)
    with pytest.raises(AugurError, match="drop --precision .ncnn is the default runtime of raspberry_pi_4_1800"):
        W.grid("squeezenet1_1", "raspberry_pi_4_1800", axes, precision="fp16")
    cd = W.compare("squeezenet1_1", "raspberry_pi_4_1800", {"cpu.clusters[0].clock_ghz": 2.4}, threads=2, cores="big")
    assert cd.new.total.time_s == c.new.total.time_s and cd.new.runtime == "ncnn"


def test_cli_whatif_threads_cores_and_model_runtime_refusals(tmp_path, capsys):
    p = ["whatif", "squeezenet1_1", "--hw", "raspberry_pi_4_1800", "--runtime", "ncnn"]
    assert augur(p + ["--vary", "cpu.clusters[0].clock_ghz=1.0,2.0", "--threads", "2", "--cores", "big",
                      "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("cpu.clusters[0].clock_ghz,time_ms")
    for extra, needle in [(["--threads", "0"], "--threads must be a positive integer"),
                          (["--vary", "cpu.clusters[0].clock_ghz=1:2:5000"], "at most 4096")]:
        assert augur(p + ["--set", "cpu.dram_bw_gbs=20"] * ("--vary" not in extra) + extra) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err
    assert augur(["whatif", "squeezenet1_1", "--hw", "rockchip_rk3588_vulkan", "--runtime", "ncnn-vulkan",
                  "--vary", "gpu.clock_ghz=0.5,1.0", "--threads", "2"]) == 2
    assert "runs on the GPU" in capsys.readouterr().err


def test_a_clock_the_power_limit_caps_is_said():
    """Under the GPU kernel model a T4's GEMMs and convs run at the clock its 70 W limit sustains
    (0.80 GHz, hw/power.py), so --set gpu.clock_ghz=2.0 barely moves ResNet-50: the comparison
    and the grid say why; with the limit raised too (or on the 700 W H200) they say nothing."""
    from augur_sim.hw.kmodel import class_params, load_fit
    from augur_sim.hw.power import sustained_clock_ghz
    t4 = load_hw("nvidia_t4").processors["gpu"]
    pj = class_params(load_fit("pytorch"), t4.arch)["fma_pj"]
    # By hand: 70 W / (fma_pj x 12/16 nm x 40 SMs x 128 FLOP/clock), above the 0.585 GHz base.
    limit = 70 / (pj * 1e-12 * 12 / 16 * 40 * 128) / 1e9
    assert sustained_clock_ghz(2.0, 0.585, 70, 40, 128, 12, pj) == pytest.approx(limit)
    c = W.compare("resnet50", "nvidia_t4", {"gpu.clock_ghz": 2.0})
    notes = [n for n in c.notes if "power limit" in n]
    assert len(notes) == 1 and f"run at {limit:.3g} GHz" in notes[0] and "gpu.tdp_w = 70 W" in notes[0]
    assert c.new.total.time_s / c.base.total.time_s > 0.98       # the clock bought almost nothing
    g = W.grid("resnet50", "nvidia_t4", [W.parse_vary("gpu.clock_ghz=1.0,2.0")])
    assert sum("power limit" in n for n in g.notes) == 1
    assert not any("power limit" in n for n in W.compare("resnet50", "nvidia_t4",
                                                         {"gpu.clock_ghz": 2.0, "gpu.tdp_w": 300}).notes)
    assert not any("power limit" in n for n in W.compare("resnet50", "nvidia_h200", {"gpu.clock_ghz": 2.2}).notes)
    assert not any("power limit" in n for n in W.compare("resnet50", "nvidia_t4", {"gpu.dram_bw_gbs": 400}).notes)


FIT_NOTES = ("WARNING: does not fit", "note: fits only")


def test_compare_says_when_the_network_does_not_fit_either_device():
    """A what-if that shrinks memory_gib below the network's peak, or grows it above, moves no
    time (memory capacity is not a speed), so the comparison must say what it does change: whether
    the network fits. VGG-16 (845 MiB peak) on a 512 MiB Pi Zero 2 W."""
    fits = [n for n in W.compare("vgg16", "raspberry_pi_zero_2w", {"memory_gib": 0.01}).notes if n.startswith(FIT_NOTES)]
    assert fits == ["WARNING: does not fit, before (peak 845 MiB exceeds 512 MiB) or after the change "
                    "(peak 845 MiB exceeds 10.2 MiB)"]
    grown = W.compare("vgg16", "raspberry_pi_zero_2w", {"memory_gib": 2})
    assert [n for n in grown.notes if n.startswith(FIT_NOTES)] == ["note: fits only after the change (before: peak 845 MiB "
                                                      "exceeds 512 MiB)"]
    shrunk = W.compare("squeezenet1_1", "raspberry_pi_4", {"memory_gib": 0.01})
    assert any(n.startswith("WARNING: does not fit after the change: ") and n.endswith("(before: fits)")
               for n in shrunk.notes)
    assert not [n for n in W.compare("squeezenet1_1", "raspberry_pi_4", {"cpu.dram_bw_gbs": 25.6}).notes
                if n.startswith(FIT_NOTES)]


def test_whatif_says_when_its_runtimes_efficiencies_are_estimates():
    """The Pi 5's default onnxruntime has estimated efficiencies: twice the DRAM bandwidth reads
    1.03x there and 1.44x under the fitted ncnn model, so the comparison and the grid say which
    kind of runtime answered and point at the fitted one; the ncnn answer carries no such note."""
    c = W.compare("mobilenet_v2", "raspberry_pi_5", {"cpu.dram_bw_gbs": 34.14})
    notes = [n for n in c.notes if "efficiencies are estimates" in n]
    assert len(notes) == 1 and "--runtime ncnn prices this CPU" in notes[0]
    n = W.compare("mobilenet_v2", "raspberry_pi_5", {"cpu.dram_bw_gbs": 34.14}, runtime="ncnn")
    assert not [x for x in n.notes if "efficiencies are estimates" in x] and n.speedup > c.speedup * 1.2
    g = W.grid("mobilenet_v2", "raspberry_pi_5", [W.parse_vary("cpu.dram_bw_gbs=10,20")])
    assert sum("onnxruntime's efficiencies are estimates" in x for x in g.notes) == 1
    calibrated = W.compare("squeezenet1_1", "host_xeon_kvm2c_1t", {"cpu.dram_bw_gbs": 40})
    assert not [x for x in calibrated.notes if "efficiencies are estimates" in x]
