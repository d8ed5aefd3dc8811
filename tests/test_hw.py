"""Hardware specs: shipped files, peak arithmetic, strict validation, extends, overrides."""
from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from augur_sim.errors import AugurError, ParseError, SchemaError
from augur_sim.hw import FUSION_RULES, SECTIONS, apply_overrides, check_hw, format_hw, list_hw, load_hw, schema_doc

REPO = Path(__file__).resolve().parents[1]
HWSPECS = REPO / "hwspecs"
SHIPPED = sorted(HWSPECS.glob("*.yaml"))

REQUIRED_DEVICES = [
    "jetson_tk1", "jetson_tx1", "jetson_tx2", "jetson_nano", "jetson_xavier_nx",
    "jetson_agx_orin", "snapdragon_835", "snapdragon_855", "raspberry_pi_4", "raspberry_pi_5",
    "intel_i7_1185g7", "amd_epyc_9654", "amd_epyc_9654_1core", "nvidia_t4", "nvidia_a100",
    "nvidia_h100_sxm", "nvidia_h200",
]


# ------------------------------------------------------------------ shipped specs

def test_at_least_17_specs_and_all_required_present():
    stems = [p.stem for p in SHIPPED]
    assert len(stems) >= 17
    missing = [d for d in REQUIRED_DEVICES if d not in stems]
    assert not missing, missing


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_spec_loads_and_is_sane(path):
    dev = check_hw(path)
    assert dev.name == path.stem
    assert dev.memory_bytes > 0 and dev.processors
    ids = {s.id for s in dev.sources}
    for proc in dev.processors.values():
        assert proc.peak_flops("fp32") > 0
        assert proc.runtimes
        # The default: a runtime of the spec, or a built-in model this processor can run.
        assert proc.default_runtime in proc.runtimes or proc.default_runtime in proc.model_runtimes()
        for rt in proc.runtimes.values():
            # every efficiency figure must say where it comes from
            assert rt.source.strip()
            assert rt.source.startswith(("estimate:", "measured")), rt.source
            assert 0 < rt.gemm_peak <= 1 and 0 < rt.mem <= 1
            assert set(rt.fusion) <= set(FUSION_RULES)
        sizes = [c.size_bytes for c in proc.caches]
        assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
        assert len(proc.energy.cache_pj_per_byte) == len(proc.caches)
    assert ids


def test_names_unique_and_list_hw_matches_files():
    listed = list_hw()
    names = [n for n, _ in listed]
    assert len(names) == len(set(names))
    assert set(names) >= {p.stem for p in SHIPPED}
    assert "tx2_2x_bw" not in names          # examples/ is not listed
    assert all(desc for _, desc in listed)


_FLOW_NUMBER = re.compile(r"[:\[,]\s*-?\d")


CATALOG = sorted((HWSPECS / "cores").glob("*.yaml")) + sorted(
    p for p in (HWSPECS / "fits").glob("*.yaml")   # runtime fits; the GPU kernel fit has its own reader,
    if re.search(r"^runtime:", p.read_text(), re.M) and not p.name.endswith(".held_out.yaml"))  # its held-out error too


def _source_ids(path) -> set:
    """Source ids a shipped file may cite: a device's, a core's (with its parent's), a fit's."""
    from augur_sim.hw.catalog import check_catalog_file
    if path.parent.name in ("cores", "fits"):
        got = check_catalog_file(path)
        srcs = got.sources if hasattr(got, "sources") else got[0]["__sources__"]
        return {s.id for s in srcs}
    return {s.id for s in check_hw(path).sources}


@pytest.mark.parametrize("path", SHIPPED + [HWSPECS / "examples" / "tx2_2x_bw.yaml"] + CATALOG,
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_number_is_traceable(path):
    """Each line carrying a number cites a listed source ('# src: ID') or says '# estimate:'."""
    ids = _source_ids(path)
    problems = []
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        if raw.lstrip().startswith("#") or raw.lstrip().startswith("- {id:"):
            continue
        code, _, comment = raw.partition(" #")
        key = code.strip().lstrip("- ").split(":")[0]
        if key in ("name", "description", "stack", "source", "ref", "extends"):
            continue
        if not _FLOW_NUMBER.search(code):
            continue
        if "estimate:" in comment:
            continue
        m = re.search(r"src:\s*([\w-]+(?:\s*,\s*[\w-]+)*)", comment)
        if not m:
            problems.append(f"{no}: no '# src:' or '# estimate:' comment: {raw.strip()}")
            continue
        for sid in re.split(r"\s*,\s*", m.group(1)):
            if sid not in ids:
                problems.append(f"{no}: cites unknown source {sid!r}")
    assert not problems, "\n".join(problems)


def test_peak_flops_by_hand_jetson_tx2():
    gpu = load_hw("jetson_tx2").processors["gpu"]
    # 2 SM x 1.3 GHz x 256 FLOP/cycle = 665.6 GFLOP/s; fp16 at twice that (1.33 TFLOPS)
    assert gpu.peak_flops("fp32") == pytest.approx(665.6e9)
    assert gpu.peak_flops("fp16") == pytest.approx(1331.2e9)
    # int8 is not declared: it runs at the fp16 rate
    assert gpu.rate_precision("int8") == "fp16"
    assert gpu.peak_flops("int8") == pytest.approx(1331.2e9)
    cpu = load_hw("jetson_tx2").processors["cpu"]
    # 4 cores x 2.0 GHz x 8 FLOP/cycle; fp16 undeclared falls back to fp32
    assert cpu.peak_flops("fp32") == pytest.approx(64e9)
    assert cpu.peak_flops("fp16") == pytest.approx(64e9)
    with pytest.raises(AugurError, match="fp64"):
        cpu.peak_flops("fp64")
    with pytest.raises(AugurError, match="unknown precision"):
        cpu.peak_flops("fp8")


def test_peak_flops_by_hand_a100_and_epyc():
    a100 = load_hw("nvidia_a100").processors["gpu"]
    assert a100.peak_flops("fp32") == pytest.approx(108 * 1.41e9 * 128)   # ~19.5 TFLOP/s
    assert a100.peak_flops("fp16") == pytest.approx(108 * 1.41e9 * 2048)  # ~312 TFLOP/s
    assert a100.peak_flops("fp16") / 1e12 == pytest.approx(312, rel=0.005)
    epyc = load_hw("amd_epyc_9654").processors["cpu"]
    assert epyc.peak_flops("fp32") == pytest.approx(96 * 3.55e9 * 32)     # 10,905.6 GFLOP/s
    one = load_hw("amd_epyc_9654_1core").processors["cpu"]
    assert one.units == 1 and one.peak_flops() == pytest.approx(3.7e9 * 32)


@pytest.mark.parametrize("dev", ["nvidia_h100_sxm", "nvidia_h200"])
def test_hopper_sxm_tensor_rates_match_nvidias_dense_figures(dev):
    """NVIDIA's H100 SXM / H200 datasheets: 66.9 T fp32, 494.7 T tf32 and 989.4 T fp16 dense
    (989 / 1979 with sparsity). Each device file restates the rate per clock at its own
    1.98 GHz, so sm_90's 2048 tf32 FLOP per clock (535 T here) must not leak through."""
    gpu = load_hw(dev).processors["gpu"]
    assert gpu.peak_flops("fp32") / 1e12 == pytest.approx(66.9, rel=0.002)
    assert gpu.peak_flops("tf32") / 1e12 == pytest.approx(494.7, rel=0.002)
    assert gpu.peak_flops("fp16") / 1e12 == pytest.approx(989.4, rel=0.002)
    assert gpu.peak_flops("tf32") == pytest.approx(gpu.peak_flops("fp16") / 2, rel=0.001)


def test_units_converted():
    dev = load_hw("jetson_tx2")
    gpu = dev.processors["gpu"]
    assert dev.memory_bytes == 8 * 2**30
    assert gpu.caches[0].size_bytes == 64 * 1024 and gpu.caches[1].size_bytes == 512 * 1024
    assert gpu.dispatch_s == pytest.approx(10e-6)
    assert gpu.runtimes["tensorrt"].dispatch_s == pytest.approx(8e-6)   # runtime's own value
    cpu_rt = dev.processors["cpu"].runtimes["onnxruntime"]
    assert cpu_rt.dispatch_s == pytest.approx(8e-6)                    # processor's default


def test_format_hw_and_schema_doc():
    text = format_hw(load_hw("jetson_tx2"))
    assert "665.6" in text and "1,331.2" in text and "59.7 GB/s" in text
    assert "[jt1]" in text and "runtime cudnn (default)" in text
    doc = schema_doc()
    for sec, fields in SECTIONS.items():
        assert f"[{sec}]" in doc
        for f in fields:
            assert re.search(rf"^\s+{re.escape(f.name)}\s", doc, re.M), f.name
    for rule in FUSION_RULES:
        assert rule in doc
    # docs/HWSPECS.md embeds the generated schema; it must not drift from the code
    assert doc in (REPO / "docs" / "HWSPECS.md").read_text()


def test_shipped_devices_table_matches_the_specs():
    """docs/HWSPECS.md's table of the original specs is written by hand; each row's peak rates,
    DRAM bandwidth and runtimes must be what the spec now gives (the table had gone stale when
    catalogue cores added int8 rates and the Hopper specs a TF32 one)."""
    text = (REPO / "docs" / "HWSPECS.md").read_text()
    table = text.split("## Shipped devices", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in table.splitlines()
            if ln.startswith("| ") and not ln.startswith("| spec")]
    assert len(rows) >= 20
    for name, proc, _units, peaks, dram, runtimes in rows:
        p = load_hw(name).processor(proc.split()[0])
        want = ", ".join(f"{k} {p.peak_flops(k) / 1e9:,.0f}" for k in ("fp32", "tf32", "fp16", "bf16", "int8")
                         if k in p.flop_per_cycle_per_unit)
        assert peaks == want, (name, proc)
        assert float(dram) == pytest.approx(p.dram_bw_gbs), (name, proc)
        assert set(runtimes.split(", ")) == set(p.runtimes), (name, proc)


def test_import_is_cheap():
    code = "import sys, augur_sim.hw; assert 'numba' not in sys.modules, 'numba imported'"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------ bad input

GOOD = """\
name: dev
description: test device
memory_gib: 4
sources:
  - {id: s1, ref: "datasheet"}
processors:
  gpu:
    kind: gpu
    units: 2
    clock_ghz: 1.0
    flop_per_cycle_per_unit: {fp32: 256, fp16: 512}
    caches:
      - {level: 1, size_kib: 64, line_bytes: 128, assoc: 4, shared: false, bw_gbs: 256}
      - level: 2
        size_kib: 512
        line_bytes: 128
        assoc: 16
        shared: true
        bw_gbs: 128
    dram_bw_gbs: 25.6
    overheads:
      dispatch_us: 10
    energy:
      pj_per_flop: {fp32: 10}
      dram_pj_per_byte: 40
      cache_pj_per_byte: [1, 4]
      static_w: 1
    runtimes:
      cudnn:
        stack: "cuDNN"
        source: "estimate: test"
        gemm_peak: 0.7
        gemm_half_m: 64
        gemm_half_n: 64
        gemm_half_k: 64
        tile_m: 128
        tile_n: 64
        dw_conv: 0.3
        mem: 0.8
        fusion: [conv_bias]
    default_runtime: cudnn
"""


def _write(tmp_path, text, name="dev"):
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return p


def _line_of(text, needle):
    hits = [i for i, l in enumerate(text.splitlines(), 1) if needle in l]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def test_good_fixture_loads(tmp_path):
    dev = check_hw(_write(tmp_path, GOOD))
    gpu = dev.processors["gpu"]
    assert gpu.peak_flops("fp16") == pytest.approx(2 * 1e9 * 512)
    assert gpu.runtimes["cudnn"].eltwise == 0.8        # defaults to mem


def test_energy_per_flop_of_a_precision_the_table_lacks_follows_its_peak(tmp_path):
    """The fixture gives 10 pJ per fp32 FLOP and runs fp16 at twice the fp32 rate: on the same
    power, an fp16 FLOP costs 5 pJ (docs/HWSPECS.md: 0.6 x power / peak). int8 has no rate of its
    own and falls back to fp16's, so it costs what fp16 does; a table entry is taken as written."""
    gpu = check_hw(_write(tmp_path, GOOD)).processors["gpu"]
    assert gpu.flop_pj("fp32") == 10.0
    assert gpu.flop_pj("fp16") == pytest.approx(5.0)
    assert gpu.flop_pj("int8") == pytest.approx(5.0)
    gpu8 = check_hw(_write(tmp_path, GOOD.replace("{fp32: 256, fp16: 512}", "{fp32: 256, fp16: 512, int8: 2048}")
                           .replace("pj_per_flop: {fp32: 10}", "pj_per_flop: {fp32: 10, fp16: 6}")
                           .replace("name: dev", "name: dev8"), "dev8")).processors["gpu"]
    assert gpu8.flop_pj("fp16") == 6.0
    assert gpu8.flop_pj("int8") == pytest.approx(6.0 * 512 / 2048)     # from fp16's figure and rate
    # A processor without a faster rate for the precision keeps the fallback's figure.
    flat = check_hw(_write(tmp_path, GOOD.replace("{fp32: 256, fp16: 512}", "{fp32: 256}").replace("name: dev", "name: flat"),
                           "flat")).processors["gpu"]
    assert flat.flop_pj("fp16") == 10.0


# (substring to replace, replacement, line marker in the broken text, expected YAML path,
#  expected message fragment)
BAD_CASES = [
    ("unknown_top", "memory_gib: 4", "memory_gib: 4\nmemroy: 3", "memroy: 3", "memroy",
     "allowed keys: name, description"),
    ("unknown_nested", "    dram_bw_gbs: 25.6", "    dram_bw_gbs: 25.6\n    dram_bw: 3", "dram_bw: 3",
     "processors.gpu.dram_bw", "did you mean 'dram_bw_gbs'"),
    ("bool_number", "clock_ghz: 1.0", "clock_ghz: true", "clock_ghz", "processors.gpu.clock_ghz",
     "got bool true"),
    ("string_number", "dram_bw_gbs: 25.6", "dram_bw_gbs: fast", "dram_bw_gbs",
     "processors.gpu.dram_bw_gbs", "expected a number (GB/s)"),
    ("float_int", "units: 2", "units: 2.5", "units:", "processors.gpu.units", "expected an integer"),
    ("zero", "dram_bw_gbs: 25.6", "dram_bw_gbs: 0", "dram_bw_gbs", "processors.gpu.dram_bw_gbs",
     "must be > 0"),
    ("negative", "memory_gib: 4", "memory_gib: -4", "memory_gib", "memory_gib", "must be > 0"),
    ("nan", "clock_ghz: 1.0", "clock_ghz: .nan", "clock_ghz", "processors.gpu.clock_ghz",
     "finite"),
    ("inf", "dram_bw_gbs: 25.6", "dram_bw_gbs: .inf", "dram_bw_gbs", "processors.gpu.dram_bw_gbs",
     "finite"),
    ("absurd_clock", "clock_ghz: 1.0", "clock_ghz: 1300", "clock_ghz", "processors.gpu.clock_ghz",
     "<= 10"),
    ("absurd_bw", "dram_bw_gbs: 25.6", "dram_bw_gbs: 2.56e+10", "dram_bw_gbs",
     "processors.gpu.dram_bw_gbs", "<= 100000"),
    ("exponent_text", "dram_bw_gbs: 25.6", "dram_bw_gbs: 2.56e1", "dram_bw_gbs",
     "processors.gpu.dram_bw_gbs", "write e.g. 1.0e+9"),
    ("absurd_size", "size_kib: 512", "size_kib: 2147483648", "size_kib: 2147483648",
     "processors.gpu.caches[1].size_kib", "<= 1.07374e+09"),
    ("cache_order", "size_kib: 512", "size_kib: 32", "size_kib: 32",
     "processors.gpu.caches[1].size_kib", "must be larger than caches[0] (64 KiB), got 32"),
    ("cache_level", "      - level: 2", "      - level: 1", "- level: 1",
     "processors.gpu.caches[1].level", "must be larger than caches[0].level"),
    ("line_pow2", "        line_bytes: 128", "        line_bytes: 96", "line_bytes: 96",
     "processors.gpu.caches[1].line_bytes", "power of two"),
    ("duplicate_key", "    units: 2", "    units: 2\n    units: 3", "units: 3",
     "processors.gpu.units", "duplicate key 'units' (first at line 9)"),
    ("missing", "    dram_bw_gbs: 25.6\n", "", "kind: gpu", "processors.gpu",
     "missing required field 'dram_bw_gbs'"),
    ("missing_fp32", "{fp32: 256, fp16: 512}", "{fp16: 512}", "flop_per_cycle_per_unit",
     "processors.gpu.flop_per_cycle_per_unit", "missing required precision 'fp32'"),
    ("bad_precision", "{fp32: 256, fp16: 512}", "{fp32: 256, fp12: 512}", "flop_per_cycle_per_unit",
     "processors.gpu.flop_per_cycle_per_unit.fp12", "unknown precision 'fp12'"),
    ("bad_kind", "kind: gpu", "kind: npu", "kind: npu", "processors.gpu.kind", "one of cpu, gpu"),
    ("bad_fusion", "fusion: [conv_bias]", "fusion: [conv_bias, conv_softmax]", "fusion:",
     "processors.gpu.runtimes.cudnn.fusion[1]", "unknown value 'conv_softmax'"),
    ("empty_source", 'source: "estimate: test"', 'source: ""', "source:",
     "processors.gpu.runtimes.cudnn.source", "must not be empty"),
    ("peak_over_1", "gemm_peak: 0.7", "gemm_peak: 1.5", "gemm_peak",
     "processors.gpu.runtimes.cudnn.gemm_peak", "<= 1"),
    ("default_runtime", "default_runtime: cudnn", "default_runtime: trt", "default_runtime",
     "processors.gpu.default_runtime", "must name one of runtimes (cudnn)"),
    ("default_model_wrong_kind", "default_runtime: cudnn", "default_runtime: ncnn", "default_runtime",
     "processors.gpu.default_runtime", "must name one of runtimes (cudnn), got 'ncnn'"),
    ("cache_energy_len", "cache_pj_per_byte: [1, 4]", "cache_pj_per_byte: [1]", "cache_pj_per_byte",
     "processors.gpu.energy.cache_pj_per_byte", "one entry per cache level (2)"),
    ("name_stem", "name: dev", "name: other", "name: other", "name", "must equal the file stem 'dev'"),
    ("dup_source", '  - {id: s1, ref: "datasheet"}', '  - {id: s1, ref: "a"}\n  - {id: s1, ref: "b"}',
     'ref: "b"', "sources[1].id", "duplicate source id 's1'"),
    ("list_not_map", "    overheads:\n      dispatch_us: 10", "    overheads: [10]", "overheads:",
     "processors.gpu.overheads", "expected a mapping"),
    ("merge_key", "memory_gib: 4", "memory_gib: 4\n<<: {x: 1}", "<<:", "", "no '<<' merges"),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_names_file_line_and_path(tmp_path, case):
    _, old, new, marker, where, fragment = case
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    path = _write(tmp_path, text)
    line = _line_of(text, marker)
    with pytest.raises(SchemaError) as ei:
        check_hw(path)
    err = ei.value
    msg = str(err)
    assert "dev.yaml" in msg
    assert err.line == line, (msg, line)
    assert f"dev.yaml:{line}:" in msg
    if where:
        assert err.where == where
        assert f": {where}: " in msg
    assert fragment in msg
    assert "\n" not in msg


def test_a_default_may_be_a_built_in_model_the_processor_can_run(tmp_path):
    """default_runtime names a runtime of the spec or a built-in model this processor can run:
    ncnn-vulkan on a GPU with a `vulkan:` section (and not ncnn, a CPU runtime, whose error
    lists what the GPU could take)."""
    vk = GOOD.replace("    default_runtime: cudnn", "    vulkan: {class: amd, fp16_storage: true, fp16_arithmetic: "
                      "true, discrete: true}\n    default_runtime: cudnn")
    assert vk != GOOD
    proc = check_hw(_write(tmp_path, vk.replace("default_runtime: cudnn", "default_runtime: ncnn-vulkan"))).processor()
    assert proc.default_model() == "ncnn-vulkan" and proc.model_runtimes() == ["ncnn-vulkan"]
    with pytest.raises(SchemaError, match=r"must name one of runtimes \(cudnn\) or a built-in model \(ncnn-vulkan\), "
                                          r"got 'ncnn'"):
        check_hw(_write(tmp_path, vk.replace("default_runtime: cudnn", "default_runtime: ncnn")))
    assert check_hw(_write(tmp_path, vk)).processor().default_model() is None


def test_unsafe_tag_and_empty_sources(tmp_path):
    text = GOOD.replace("memory_gib: 4", "memory_gib: !!python/object/apply:os.getpid []")
    with pytest.raises(ParseError) as ei:
        check_hw(_write(tmp_path, text))
    assert "dev.yaml:3:" in str(ei.value)
    text = GOOD.replace('sources:\n  - {id: s1, ref: "datasheet"}', "sources: []")
    with pytest.raises(SchemaError, match=r"dev\.yaml:4: sources: needs at least one source"):
        check_hw(_write(tmp_path, text))


def test_non_mapping_top_level(tmp_path):
    p = _write(tmp_path, "- a\n- b\n")
    with pytest.raises(SchemaError, match=r"dev\.yaml:1: top level must be a mapping"):
        check_hw(p)
    p = _write(tmp_path, "")
    with pytest.raises(SchemaError, match="empty document"):
        check_hw(p)


def test_yaml_syntax_error_has_line(tmp_path):
    text = GOOD.replace("units: 2", "units: [2")
    with pytest.raises(ParseError) as ei:
        check_hw(_write(tmp_path, text))
    assert "dev.yaml:" in str(ei.value) and ei.value.line is not None


def test_file_too_big(tmp_path):
    p = _write(tmp_path, GOOD + "#" + "x" * 1_000_001 + "\n")
    with pytest.raises(SchemaError, match=r"dev\.yaml: .*limited to 1000000 bytes"):
        check_hw(p)


def test_unreadable_files(tmp_path):
    with pytest.raises(SchemaError, match=r"nothere\.yaml: cannot read file"):
        check_hw(tmp_path / "nothere.yaml")
    d = tmp_path / "adir.yaml"
    d.mkdir()
    with pytest.raises(SchemaError, match=r"adir\.yaml: not a regular file"):
        check_hw(d)
    p = tmp_path / "dev.yaml"
    p.write_bytes(GOOD.encode() + b"\xff\xfe\n")
    with pytest.raises(SchemaError, match="not UTF-8"):
        check_hw(p)


def test_alias_bomb_is_bounded(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(SchemaError, match="more than 50000 nodes"):
        check_hw(_write(tmp_path, "\n".join(lines) + "\n"))


def test_unknown_name_lists_available():
    with pytest.raises(AugurError, match=r"unknown hardware 'jetson_tx3' \(did you mean jetson_tx2"):
        load_hw("jetson_tx3")


# ------------------------------------------------------------------ extends

def test_extends_merges_and_replaces_lists(tmp_path):
    _write(tmp_path, GOOD, "base")
    base_text = (tmp_path / "base.yaml").read_text().replace("name: dev", "name: base")
    (tmp_path / "base.yaml").write_text(base_text)
    child = """\
name: child
description: base with faster DRAM and one cache
extends: base
sources:
  - {id: s2, ref: "what-if"}
processors:
  gpu:
    dram_bw_gbs: 51.2
    caches:
      - {level: 1, size_kib: 128, line_bytes: 128, assoc: 4, shared: false, bw_gbs: 256}
    energy:
      cache_pj_per_byte: [2]
"""
    dev = check_hw(_write(tmp_path, child, "child"))
    gpu = dev.processors["gpu"]
    assert dev.name == "child" and dev.description.startswith("base with")
    assert gpu.dram_bw_gbs == 51.2                    # overridden
    assert gpu.clock_ghz == 1.0 and gpu.units == 2     # inherited
    assert len(gpu.caches) == 1 and gpu.caches[0].size_bytes == 128 * 1024   # list replaced
    assert gpu.energy.dram_pj_per_byte == 40           # sibling keys of a merged mapping kept
    assert {s.id for s in dev.sources} == {"s1", "s2"}  # sources merge by id


def test_extends_error_points_at_parent_line(tmp_path):
    base = GOOD.replace("name: dev", "name: base")
    _write(tmp_path, base, "base")
    child = ("name: child\ndescription: c\nextends: ./base.yaml\n"
             "processors:\n  gpu:\n    caches:\n"
             "      - {level: 1, size_kib: 1024, line_bytes: 128, assoc: 4, shared: false, bw_gbs: 1}\n"
             "      - {level: 2, size_kib: 512, line_bytes: 128, assoc: 4, shared: true, bw_gbs: 1}\n")
    with pytest.raises(SchemaError) as ei:
        check_hw(_write(tmp_path, child, "child"))
    assert "child.yaml:8:" in str(ei.value)
    assert ei.value.where == "processors.gpu.caches[1].size_kib"


def test_extends_cycle_and_missing_parent(tmp_path):
    a = GOOD.replace("name: dev", "name: a\nextends: b")
    _write(tmp_path, a, "a")
    _write(tmp_path, "name: b\nextends: a.yaml\n", "b")
    with pytest.raises(SchemaError) as ei:
        check_hw(tmp_path / "a.yaml")
    msg = str(ei.value)
    assert "extends cycle" in msg and "a.yaml" in msg and "b.yaml" in msg
    assert ei.value.where == "extends" and ei.value.line is not None

    _write(tmp_path, GOOD.replace("name: dev", "name: dev\nextends: no_such_spec"))
    with pytest.raises(SchemaError, match=r"dev\.yaml:2: extends: parent spec 'no_such_spec' not found"):
        check_hw(tmp_path / "dev.yaml")
    _write(tmp_path, GOOD.replace("name: dev", "name: dev\nextends: ../gone.yaml"))
    with pytest.raises(SchemaError, match=r"dev\.yaml:2: extends: parent spec file '../gone.yaml'"):
        check_hw(tmp_path / "dev.yaml")
    _write(tmp_path, GOOD.replace("name: dev", "name: dev\nextends: 3"))
    with pytest.raises(SchemaError, match=r"dev\.yaml:2: extends: expected a spec name"):
        check_hw(tmp_path / "dev.yaml")


def test_shipped_example_doubles_gpu_bandwidth():
    base = load_hw("jetson_tx2")
    ex = load_hw(HWSPECS / "examples" / "tx2_2x_bw.yaml")
    assert ex.name == "tx2_2x_bw"
    assert ex.processors["gpu"].dram_bw_gbs == pytest.approx(2 * base.processors["gpu"].dram_bw_gbs)
    assert ex.processors["cpu"] == base.processors["cpu"]
    assert ex.processors["gpu"].peak_flops() == base.processors["gpu"].peak_flops()


def test_env_search_path(tmp_path, monkeypatch):
    _write(tmp_path, GOOD.replace("name: dev", "name: mydev"), "mydev")
    monkeypatch.setenv("AUGUR_HWSPECS", str(tmp_path))
    assert load_hw("mydev").name == "mydev"
    assert "mydev" in [n for n, _ in list_hw()]


# ------------------------------------------------------------------ overrides

def test_apply_overrides_valid():
    base = load_hw("jetson_tx2")
    dev = apply_overrides(base, {"gpu.dram_bw_gbs": 51.2, "processors.gpu.clock_ghz": "1.5",
                                 "gpu.runtimes.cudnn.gemm_peak": 0.8,
                                 "cpu.caches[1].size_kib": 4096})
    assert dev.processors["gpu"].dram_bw_gbs == 51.2
    assert dev.processors["gpu"].peak_flops() == pytest.approx(2 * 1.5e9 * 256)
    assert dev.processors["gpu"].runtimes["cudnn"].gemm_peak == 0.8
    assert dev.processors["cpu"].caches[1].size_bytes == 4096 * 1024
    # the original is untouched
    assert base.processors["gpu"].dram_bw_gbs == 59.7 and base.processors["gpu"].clock_ghz == 1.3
    # optional field not present in the file can be set
    dev2 = apply_overrides(base, {"gpu.runtimes.cudnn.eltwise": 0.5})
    assert dev2.processors["gpu"].runtimes["cudnn"].eltwise == 0.5


def test_apply_overrides_on_plain_mapping():
    import yaml
    raw = yaml.safe_load(GOOD)
    dev = apply_overrides(raw, {"gpu.units": 4})
    assert dev.processors["gpu"].units == 4
    assert raw["processors"]["gpu"]["units"] == 2


def test_apply_overrides_unknown_key_lists_candidates():
    with pytest.raises(SchemaError) as ei:
        apply_overrides(load_hw("jetson_tx2"), {"gpu.dram_bw": 1.0})
    msg = str(ei.value)
    assert "unknown override key 'gpu.dram_bw'" in msg and "gpu.dram_bw_gbs" in msg
    with pytest.raises(SchemaError, match="unknown override key 'tpu.clock_ghz'"):
        apply_overrides(load_hw("jetson_tx2"), {"tpu.clock_ghz": 1.0})
    with pytest.raises(SchemaError, match="dotted path"):
        apply_overrides(load_hw("jetson_tx2"), {"gpu..clock_ghz": 1.0})


@pytest.mark.parametrize("key,value,fragment", [
    ("gpu.clock_ghz", -1.0, "must be > 0"),
    ("gpu.dram_bw_gbs", 0, "must be > 0"),
    ("gpu.clock_ghz", True, "got bool true"),
    ("gpu.units", "many", "expected an integer"),
    ("gpu.dram_bw_gbs", float("nan"), "finite"),
    ("gpu.caches[0].size_kib", 4096, "must be larger than caches[0]"),
])
def test_apply_overrides_rejects_bad_values(key, value, fragment):
    with pytest.raises(SchemaError) as ei:
        apply_overrides(load_hw("jetson_tx2"), {key: value})
    msg = str(ei.value)
    assert fragment in msg
    assert "jetson_tx2.yaml" in msg and "processors.gpu." in msg
    assert not math.isnan(load_hw("jetson_tx2").processors["gpu"].dram_bw_gbs)


def test_show_says_the_math_the_chip_runs_and_each_clusters_clock():
    """PyTorch lets cuDNN run fp32 convs in TF32, but a Turing T4 has no TF32 rate: `hw show`
    names what the chip runs (fp32) and why, not the runtime's wish; an Ada L4 runs TF32. A CPU
    whose clusters run at different clocks lists each clock with its cores, not the fastest alone."""
    t4 = format_hw(load_hw("nvidia_t4"))
    assert "fp32 conv math fp32 (the runtime's tf32 needs a GPU with a tf32 rate)" in t4
    assert "fp32 conv math tf32" not in t4
    assert "fp32 conv math tf32, fp32 matmul math fp32" in format_hw(load_hw("nvidia_l4"))
    assert "processor cpu (cpu): 8 cores (4 @ 2.4 GHz + 4 @ 1.8 GHz)" in format_hw(load_hw("rockchip_rk3588"))
    assert "processor cpu (cpu): 4 cores @ 2.4 GHz" in format_hw(load_hw("raspberry_pi_5"))
