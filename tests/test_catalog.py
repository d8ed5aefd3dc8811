"""Core-type catalogue, clustered CPUs and ncnn's big/little thread placement.

The 3-cluster fixture tests/hwspecs/tri_soc.yaml is checked by hand:
  prime  1x Cortex-X1  @ 3.0 GHz, 32 FLOP/cycle -> 96 GFLOP/s per core
  big    3x Cortex-A78 @ 2.5 GHz, 16 FLOP/cycle -> 40 GFLOP/s per core
  little 4x Cortex-A55 @ 1.8 GHz,  8 FLOP/cycle -> 14.4 GFLOP/s per core
ncnn's threshold is (1.8 + 3.0) / 2 = 2.4 GHz: X1 and A78 are big (4 cores), A55 little (4).
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from augur_sim.cli import main
from augur_sim.engine.hwrow import (
    H_BW,
    H_NLEV,
    H_PEAK,
    H_SIZE,
    H_UNITS,
    hw_row,
    resolve_runtime,
)
from augur_sim.errors import AugurError, SchemaError
from augur_sim.hw import apply_overrides, load_hw
from augur_sim.hw.catalog import check_catalog_file
from augur_sim.hw.placement import place, split_big_little
from augur_sim.measure.ncnn_vulkan_fit import parse_gpu_map

REPO = Path(__file__).resolve().parents[1]
TRI = REPO / "tests" / "hwspecs" / "tri_soc.yaml"
CORES = sorted((REPO / "hwspecs" / "cores").glob("*.yaml"))
G = 1e9


@pytest.fixture(scope="module")
def tri():
    return load_hw(str(TRI))


def _row(dev, cores=None, threads=None, precision="fp32"):
    proc = dev.processor("cpu")
    # A corpus spec's default is the built-in ncnn model (no row): its generic engine's row.
    return hw_row(proc, proc.runtime("ncnn-roofline" if proc.default_model() else None), precision, threads, cores)


# ------------------------------------------------------------------ the hand-checked SoC

def test_clusters_resolve_core_facts(tri):
    cpu = tri.processor("cpu")
    assert [c.name for c in cpu.clusters] == ["prime", "big", "little"]
    assert [c.core.name for c in cpu.clusters] == ["cortex_x1", "cortex_a78", "cortex_a55"]
    assert cpu.units == 8 and cpu.clock_ghz == 3.0
    # The processor's peak is the sum of the clusters': 96 + 3 x 40 + 4 x 14.4 = 273.6 GFLOP/s.
    assert cpu.peak_flops("fp32") == pytest.approx(273.6 * G)
    # fp16: every core here computes fp16 at twice fp32.
    assert cpu.peak_flops("fp16") == pytest.approx(2 * 273.6 * G)
    big, little = split_big_little(cpu.clusters)
    assert big == (0, 1) and little == (2,)


def test_big_threads_4_uses_the_big_clusters_clock_and_core(tri):
    r = _row(tri, "big", 4)
    # X1 + 3x A78, one thread each; the A78 threads are the slowest: 4 x 2.5 GHz x 16 = 160.
    assert r[H_PEAK] == pytest.approx(160 * G)
    assert r[H_UNITS] == 4
    # L1/L2 of the straggler's cluster (A78: 64 KB L1D, the spec's 512 KB L2), then the L3.
    assert r[H_NLEV] == 3
    assert r[H_SIZE[0]] == 64 * 1024 and r[H_SIZE[1]] == 512 * 1024 and r[H_SIZE[2]] == 4096 * 1024
    # L1 bandwidth: 4 threads x 32 B/cycle (A78 core file) x 2.5 GHz.
    assert r[H_BW[0]] == pytest.approx(4 * 32 * 2.5 * G)
    # The default for big is one thread per big core: the same row.
    assert (_row(tri, "big") == r).all() and (_row(tri) == r).all()
    p = place(tri.processor("cpu"), "big", 4)
    assert p.clusters[p.straggler].core.name == "cortex_a78" and p.straggler_k == 1
    assert p.sum_flops() == pytest.approx((96 + 3 * 40) * G)


def test_little_uses_the_a55_cluster(tri):
    r = _row(tri, "little")
    assert r[H_UNITS] == 4
    assert r[H_PEAK] == pytest.approx(4 * 1.8 * 8 * G)          # 57.6 GFLOP/s
    assert r[H_SIZE[1]] == 128 * 1024                           # the A55 cluster's L2
    assert r[H_BW[0]] == pytest.approx(4 * 16 * 1.8 * G)        # A55: 16 B/cycle L1


def test_all_is_paced_by_the_slowest_thread(tri):
    r = _row(tri, "all")
    # 8 threads, one per core; static splitting: 8 x the A55's 14.4 GFLOP/s, not the 273.6 sum.
    assert r[H_UNITS] == 8
    assert r[H_PEAK] == pytest.approx(8 * 14.4 * G)
    p = place(tri.processor("cpu"), "all")
    assert p.sum_flops() == pytest.approx(273.6 * G)
    # Two threads on all cores land on the fastest two: X1 and one A78 -> 2 x 40.
    assert _row(tri, "all", 2)[H_PEAK] == pytest.approx(80 * G)


def test_oversubscribed_threads_time_share(tri):
    # 6 threads on the 4 big cores: X1 and the first A78 run two each. Slowest thread: an
    # A78 shared by two (20 GFLOP/s) -> 6 x 20 = 120, less than 4 threads' 160.
    r = _row(tri, "big", 6)
    assert r[H_UNITS] == 6
    assert r[H_PEAK] == pytest.approx(120 * G)
    p = place(tri.processor("cpu"), "big", 6)
    assert p.oversubscribed and "time-share" in p.note and p.straggler_k == 2
    # 8 threads: every core runs two, the same rate as 4 threads (no gain, nothing clamped).
    assert _row(tri, "big", 8)[H_PEAK] == pytest.approx(160 * G)
    assert place(tri.processor("cpu"), "big", 8).threads == 8
    with pytest.raises(AugurError, match="more than 16-fold"):
        place(tri.processor("cpu"), "big", 4 * 16 + 1)


def test_little_on_a_cpu_without_little_cores_uses_all_of_them():
    dev = load_hw("rockchip_rk3568")
    p = place(dev.processor("cpu"), "little")
    assert p.threads == 4 and "fails" in p.note
    assert (_row(dev, "little") == _row(dev, "big")).all()


def test_smt_cores_are_big_and_share_their_pipes():
    # Hybrid x86 as ncnn sees it: SMT cores are always big. A 2-thread-per-core Zen 3 at
    # 16 threads on 8 cores: each core's 32 FLOP/cycle shared by two threads.
    dev = load_hw("azure_d64s_v6")
    cpu = dev.processor("cpu")
    p = place(cpu, "big", 64)
    assert p.set_logical_cpus == 64 and not p.oversubscribed and p.straggler_k == 2
    assert p.peak_flops() == pytest.approx(32 * 3.0 * 64 * G)


def test_estimate_api_and_cli_take_cores(tri, capsys):
    from augur_sim.estimator import estimate
    big = estimate("resnet18", tri, cores="big")
    little = estimate("resnet18", tri, cores="little")
    assert big.cores == "big" and little.cores == "little"
    assert little.total.time_s > big.total.time_s
    assert "placement" in big.assumptions and "cortex_a78" in big.assumptions["placement"]
    assert big.to_dict()["cores"] == "big"
    rc = main(["estimate", "resnet18", "--hw", str(TRI), "--cores", "all", "--threads", "3"])
    out = capsys.readouterr().out
    assert rc == 0 and "placement: cores all (ncnn powersave=0), 3 thread(s)" in out
    with pytest.raises(SystemExit) as e:
        main(["estimate", "resnet18", "--hw", str(TRI), "--cores", "middle"])
    assert e.value.code == 2 and "--cores: invalid choice" in capsys.readouterr().err


def test_gpu_rejects_cores():
    from augur_sim.estimator import estimate
    with pytest.raises(AugurError, match="--cores \\(cores=\\) applies to CPU processors only"):
        estimate("resnet18", "jetson_tx2", processor="gpu", cores="big")


def test_plain_processor_is_one_implicit_cluster():
    dev = load_hw("jetson_tx1")
    cpu = dev.processor("cpu")
    assert not cpu.clusters
    # Unchanged for threads <= cores; beyond, T threads on C cores give T/ceil(T/C) cores.
    assert _row(dev)[H_PEAK] == pytest.approx(cpu.peak_flops())
    assert _row(dev, threads=2)[H_PEAK] == pytest.approx(cpu.peak_flops() / 2)
    assert _row(dev, threads=6)[H_PEAK] == pytest.approx(cpu.peak_flops() * 6 / (4 * 2))


# ------------------------------------------------------------------ what-ifs

def test_override_a_cluster_clock_and_extends(tri, tmp_path):
    dev = apply_overrides(tri, {"cpu.clusters[1].clock_ghz": "3.0"})
    # A78 now at 3.0 GHz: the big threads' straggler runs 3.0 x 16 = 48 -> 4 x 48 = 192.
    assert _row(dev, "big")[H_PEAK] == pytest.approx(192 * G)
    with pytest.raises(SchemaError, match=r"clusters\[1\]\.clock_ghz"):
        apply_overrides(tri, {"cpu.clusters[1].clock_ghz": 0})
    with pytest.raises(SchemaError, match="unknown override key"):
        apply_overrides(tri, {"cpu.clusters[7].clock_ghz": 1.0})
    child = tmp_path / "tri_fast_little.yaml"
    child.write_text(f"""name: tri_fast_little
description: "tri_soc with 8 little cores"
extends: {TRI}
processors:
  cpu:
    clusters:
      - {{name: prime, core: cortex_x1, count: 1, clock_ghz: 3.0, l2_kib: 1024}}
      - {{name: little, core: cortex_a55, count: 8, clock_ghz: 1.8, l2_kib: 128}}
""")
    d2 = load_hw(str(child))
    assert d2.processor("cpu").units == 9
    assert _row(d2, "little")[H_PEAK] == pytest.approx(8 * 14.4 * G)


# ------------------------------------------------------------------ schema errors

def _bad(tmp_path, old, new):
    src = TRI.read_text()
    assert old in src
    p = tmp_path / "tri_soc.yaml"
    p.write_text(src.replace(old, new, 1))
    with pytest.raises(SchemaError) as e:
        load_hw(str(p))
    msg = str(e.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("old,new,line,path,fragment", [
    ("core: cortex_a78,", "core: cortex_a99,", 13, "processors.cpu.clusters[1].core", "unknown core 'cortex_a99'"),
    ("count: 4,", "count: 0,", 14, "processors.cpu.clusters[2].count", "must be >= 1"),
    ("clock_ghz: 2.5,", "clock_ghz: 2500,", 13, "processors.cpu.clusters[1].clock_ghz", "must be <= 10"),
    ("clock_ghz: 2.5,", "clock_ghz: -1,", 13, "processors.cpu.clusters[1].clock_ghz", "must be > 0"),
    ("count: 4,", "count: 2.5,", 14, "processors.cpu.clusters[2].count", "expected an integer"),
    ("l2_kib: 128}", "l2_kib: 128, ways: 8}", 14, "processors.cpu.clusters[2].ways", "unknown key 'ways'"),
    ("l2_kib: 128}", "l2_kib: 16}", 14, "processors.cpu.clusters[2].l2_kib", "must be larger than the core's L1D"),
    ("    clusters:\n", "    units: 8\n    clusters:\n", 11, "processors.cpu.units", "not allowed together with 'clusters'"),
    ("{level: 3,", "{level: 2,", 16, "processors.cpu.caches[0].level", "level >= 3"),
    ("size_kib: 4096", "size_kib: 512", 16, "processors.cpu.caches[0].size_kib", "largest cluster L2"),
    ("[0.5, 2, 5]", "[0.5, 2]", 23, "processors.cpu.energy.cache_pj_per_byte", "needs one entry per cache level (3)"),
    ("kind: cpu", "kind: gpu", 12, "processors.cpu.clusters", "clusters describe CPU cores"),
])
def test_bad_cluster_is_one_located_line(tmp_path, old, new, line, path, fragment):
    msg = _bad(tmp_path, old, new)
    assert re.match(rf"^\S*tri_soc\.yaml:{line}: {re.escape(path)}: ", msg), msg
    assert fragment in msg, msg


def test_unknown_core_suggests_near_names(tmp_path):
    msg = _bad(tmp_path, "core: cortex_a78,", "core: cortex_a77x,")
    assert "did you mean" in msg and "cortex_a77" in msg


def test_bad_core_file_is_located_in_that_file(tmp_path):
    cores = tmp_path / "cores"
    cores.mkdir()
    (cores / "my_core.yaml").write_text(
        (REPO / "hwspecs" / "cores" / "cortex_a55.yaml").read_text()
        .replace("name: cortex_a55", "name: my_core").replace("isa_class: armv8.2-fp16-dot", "isa_class: armv8.2-quantum"))
    spec = TRI.read_text().replace("core: cortex_a55,", "core: my_core,")
    (tmp_path / "tri_soc.yaml").write_text(spec)
    with pytest.raises(SchemaError) as e:
        load_hw(str(tmp_path / "tri_soc.yaml"))
    assert re.match(r"^\S*cores/my_core\.yaml:7: isa_class: must be one of", str(e.value)), str(e.value)


# ------------------------------------------------------------------ fitted runtimes

FIT = """name: myfit
description: "test fit"
sources:
  - {id: t, ref: "test"}
runtime:
  stack: "fit stack"
  source: "estimate: test fit"
  gemm_half_m: 16
  gemm_half_n: 16
  gemm_half_k: 16
  tile_m: 8
  tile_n: 8
  mem: 0.6
  fusion: [conv_bias]
classes:
  default: {gemm_peak: 0.5, dw_conv: 0.2}
  armv8.2-fp16-dot: {gemm_peak: 0.6}
  cortex_x1: {gemm_peak: 0.9}
"""


def _fitted_spec(tmp_path, fit=FIT, runtime="      fitted: myfit\n      dw_conv: 0.3\n"):
    (tmp_path / "fits").mkdir(exist_ok=True)
    (tmp_path / "fits" / "myfit.yaml").write_text(fit)
    src = TRI.read_text()
    head, _, _ = src.partition("    runtimes:\n")
    p = tmp_path / "tri_soc.yaml"
    p.write_text(head + "    runtimes:\n      fitrt:\n" + runtime.replace("      ", "        ")
                 + "    default_runtime: fitrt\n")
    return p


def test_fitted_runtime_layers_default_class_and_core(tmp_path):
    dev = load_hw(str(_fitted_spec(tmp_path)))
    cpu = dev.processor("cpu")
    # The default set (big) is paced by an A78 thread: isa_class armv8.2-fp16-dot -> 0.6.
    rt = cpu.runtime("fitrt")
    assert rt.fitted == "myfit" and rt.fit_class == "armv8.2-fp16-dot" and rt.gemm_peak == 0.6
    assert rt.dw_conv == 0.3                      # the spec's own field wins over the fit
    assert rt.tile_m == 8 and rt.stack == "fit stack"
    # One thread on all cores runs on the X1: its core entry -> 0.9.
    p1 = place(cpu, "all", 1)
    assert resolve_runtime(cpu, rt, p1).gemm_peak == 0.9
    assert resolve_runtime(cpu, rt, place(cpu, "little")).gemm_peak == 0.6   # A55: same class


def test_fitted_runtime_errors(tmp_path):
    p = _fitted_spec(tmp_path, runtime="      fitted: nofit\n")
    with pytest.raises(SchemaError, match=r"runtimes\.fitrt\.fitted: unknown fit 'nofit'"):
        load_hw(str(p))
    p = _fitted_spec(tmp_path, fit=FIT.replace("  default: {gemm_peak: 0.5, dw_conv: 0.2}\n", ""),
                     runtime="      fitted: myfit\n")
    with pytest.raises(SchemaError, match="gives no dw_conv for core cortex_x1"):
        load_hw(str(p))
    p = _fitted_spec(tmp_path, fit=FIT.replace("gemm_peak: 0.9", "gemm_peak: 1.9"))
    with pytest.raises(SchemaError, match=r"fits/myfit\.yaml:18: classes\.cortex_x1\.gemm_peak: must be <= 1"):
        load_hw(str(p))


# ------------------------------------------------------------------ the shipped catalogue

@pytest.mark.parametrize("path", CORES, ids=lambda p: p.stem)
def test_core_file_loads_and_is_consistent(path):
    core = check_catalog_file(path)
    assert core.name == path.stem
    fpc = core.flop_per_cycle
    assert fpc["fp32"] > 0
    # fp16 arithmetic only where the core has it; int8 at least the fp32 rate.
    assert ("fp16" in fpc) == ("asimdhp" in core.features or "avx512_fp16" in core.features
                                or "zfh" in core.features), core.name
    assert fpc.get("int8", fpc["fp32"]) >= fpc["fp32"]
    if core.isa_class.startswith("armv8.2-fp16-dot") or core.isa_class.startswith("armv8.6"):
        assert "dotprod" in core.features
    if core.isa_class == "armv8.6-bf16-i8mm":
        assert "i8mm" in core.features
    if core.simd_bits >= 128 and core.isa_class.startswith(("arm", "x86")):
        # FLOP/cycle never exceeds pipes x lanes x 2 (FMA).
        assert fpc["fp32"] <= core.fma_pipes * core.simd_bits / 32 * 2 * 2, core.name


def test_catalogue_covers_the_issue_list():
    names = {p.stem for p in CORES}
    want = {"cortex_a5", "cortex_a7", "cortex_a9", "cortex_a15", "cortex_a17", "cortex_a35", "cortex_a53",
            "cortex_a55", "cortex_a57", "cortex_a72", "cortex_a73", "cortex_a75", "cortex_a76", "cortex_a77",
            "cortex_a78", "cortex_x1", "cortex_x2", "cortex_x3", "cortex_x4", "cortex_a510", "cortex_a520",
            "cortex_a710", "cortex_a715", "cortex_a720", "carmel", "denver2", "apple_firestorm",
            "apple_icestorm", "apple_m3_p", "neoverse_n1", "neoverse_n2", "neoverse_v1", "neoverse_v2",
            "taishan_v110", "zen", "zen2", "zen3", "zen4", "zen5", "skylake_sp", "cascade_lake",
            "willow_cove", "raptor_cove", "gracemont", "tremont", "airmont", "yonah", "knights_corner"}
    assert want <= names, sorted(want - names)
    assert any(n.startswith("kryo_") for n in names)


def test_kryo_variant_inherits_its_arm_core():
    kryo = check_catalog_file(REPO / "hwspecs" / "cores" / "kryo_485_gold.yaml")
    a76 = check_catalog_file(REPO / "hwspecs" / "cores" / "cortex_a76.yaml")
    assert kryo.vendor == "Qualcomm" and kryo.flop_per_cycle == a76.flop_per_cycle
    assert kryo.isa_class == a76.isa_class and kryo.l1d_bytes == a76.l1d_bytes


# ------------------------------------------------------------------ corpus device list

DEVICES = REPO / "measurements" / "ncnn" / "devices.csv"


def _shared() -> Path | None:
    env = os.environ.get("AUGUR_SHARED")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared"]:
        if (cand / "corpora" / "ncnn" / "benchncnn_train.csv").is_file():
            return cand
    return None


def test_devices_csv_specs_load():
    rows = list(csv.DictReader(DEVICES.open()))
    assert rows and list(rows[0]) == ["section_title", "hw", "cpu_processor", "gpu_processor"]
    titles = [r["section_title"] for r in rows]
    assert len(titles) == len(set(titles))
    for r in rows:
        dev = load_hw(r["hw"])
        if r["cpu_processor"]:
            assert r["cpu_processor"] in dev.processors, (r["hw"], r["cpu_processor"])
        # gpu_processor: [IDX=][SPEC:]PROC entries (measure/ncnn_vulkan_fit.parse_gpu_map)
        for spec, proc in parse_gpu_map(r["gpu_processor"], r["hw"]).values():
            gdev = dev if spec == r["hw"] else load_hw(spec)
            assert proc in gdev.processors and gdev.processors[proc].kind == "gpu", (spec, proc)
        if r["cpu_processor"]:
            assert dev.processors[r["cpu_processor"]].kind == "cpu"


def test_devices_csv_titles_are_corpus_sections():
    shared = _shared()
    if shared is None:
        pytest.skip("shared corpus not found (set AUGUR_SHARED or place shared/ beside the repo)")
    corpus = {r["device"] for r in csv.DictReader((shared / "corpora" / "ncnn" / "benchncnn_train.csv").open())}
    sources = (shared / "corpora" / "SOURCES.md").read_text()
    held = " ".join(sources[sources.index("Held back (no rows here"):].split("\n\n")[0].split())
    rows = list(csv.DictReader(DEVICES.open()))
    for r in rows:
        t = r["section_title"]
        assert t in corpus or t in held, t
    # Every held-back name of SOURCES.md has a spec.
    names = held.split(": ", 1)[1].rstrip(".").split("; ")
    names = [n.replace(" (both sections)", "").replace(" (its Vulkan rows)", "") for n in names]
    assert len(names) == 15
    missing = [n for n in names if n not in {r["section_title"] for r in rows}]
    assert not missing, missing


def test_every_corpus_cpu_run_places():
    """Every (section, threads, powersave) the corpus ran resolves to a placement with that
    many threads: over-subscribed runs time-share, powersave=1 on SMP CPUs uses all cores."""
    shared = _shared()
    if shared is None:
        pytest.skip("shared corpus not found (set AUGUR_SHARED or place shared/ beside the repo)")
    specs = {r["section_title"]: r for r in csv.DictReader(DEVICES.open())}
    runs = {(r["device"], int(r["threads"]), int(r["powersave"]))
            for r in csv.DictReader((shared / "corpora" / "ncnn" / "benchncnn_train.csv").open())
            if r["gpu_device"] == "-1" and r["device"] in specs and specs[r["device"]]["cpu_processor"]}
    assert len(runs) > 100
    sets = {0: "all", 1: "little", 2: "big"}
    smp_little = oversubscribed = 0
    for title, threads, powersave in sorted(runs):
        s = specs[title]
        p = place(load_hw(s["hw"]).processor(s["cpu_processor"]), sets[powersave], threads)
        assert p.threads == threads and p.peak_flops() > 0
        smp_little += "no little cores" in p.note
        oversubscribed += p.oversubscribed
    # Both documented special cases occur in the corpus (Loongson 3A4000 4/1, Orion O6 12/2...).
    assert smp_little >= 3 and oversubscribed >= 3


# ------------------------------------------------------------------ one board, one energy estimate

def _board_variants():
    """(base, variant, kind) for every spec named `<base>_ncnn` (the same board described for the
    ncnn corpus) or `<base>_<digits>` (the same chip at another clock, in MHz) beside `<base>`."""
    names = {p.stem for p in (REPO / "hwspecs").glob("*.yaml")}
    out = []
    for n in sorted(names):
        base, _, suffix = n.rpartition("_")
        if base in names and (suffix == "ncnn" or suffix.isdigit()):
            out.append((base, n, "ncnn" if suffix == "ncnn" else "clock"))
    return out


def test_twin_specs_of_one_board_agree_on_cpu_energy():
    """Two specs of one board priced the same network at 27 and 46 mJ because each guessed the
    CPU's active power apart. A board's `_ncnn` twin carries its base spec's energy figures; a
    clock variant keeps its base's memory and cache figures, and a faster clock never costs less
    per FLOP (power rises at least as fast as the clock)."""
    pairs = _board_variants()
    assert {("jetson_agx_orin", "jetson_agx_orin_ncnn", "ncnn"),
            ("raspberry_pi_4", "raspberry_pi_4_1800", "clock")} <= set(pairs)
    for base, var, kind in pairs:
        pb, pv = load_hw(base).processor("cpu"), load_hw(var).processor("cpu")
        eb, ev = pb.energy, pv.energy
        assert (eb.dram_pj_per_byte, eb.cache_pj_per_byte, eb.static_w) == \
            (ev.dram_pj_per_byte, ev.cache_pj_per_byte, ev.static_w), (base, var)
        if kind == "ncnn":
            assert eb == ev, (base, var)
        else:
            faster = pv.clock_ghz > pb.clock_ghz
            lo, hi = (eb, ev) if faster else (ev, eb)
            assert lo.flop_pj("fp32") <= hi.flop_pj("fp32"), (base, var)


def test_cluster_cache_associativity_is_marked_assumed(capsys):
    """Core files give no associativity: a clustered CPU's L1 and L2 get 8 ways, which `hw show`
    and the cache oracle say are assumed; a spec's own cache keeps its figure unmarked."""
    cpu = load_hw("raspberry_pi_4").processor("cpu")
    assert [(c.level, c.assoc, c.assoc_assumed) for c in cpu.caches] == [(1, 8, True), (2, 8, True)]
    assert main(["hw", "show", "snapdragon_855"]) == 0
    out = capsys.readouterr().out
    assert "L1: 64 KiB per core, 64 B lines, 8-way (assumed)" in out
    assert "L3: 2 MiB shared, 64 B lines, 16-way, " in out
    assert main(["cachesim", "squeezenet1_1", "fire2.squeeze", "--hw", "raspberry_pi_4"]) == 0
    out = capsys.readouterr().out
    assert out.count("8-way (assumed)") == 2
    assert main(["cachesim", "squeezenet1_1", "fire2.squeeze", "--hw", "jetson_tx1", "--processor", "cpu"]) == 0
    assert "assumed" not in capsys.readouterr().out
