"""Hardware specs: YAML files in hwspecs/ -> validated frozen dataclasses.

Contract (the cost engine and CLI rely on these names):
- `load_hw(name_or_path) -> Device`: a bare name is looked up as NAME.yaml in each
  folder of $AUGUR_HWSPECS (os.pathsep-separated), then in the repo's hwspecs/; a
  path (contains '/' or ends in .yaml) loads that file.
- `list_hw() -> list[(name, description)]`: the specs load_hw finds by name
  (hwspecs/examples/ is not listed; load examples by path).
- `check_hw(path) -> Device`: validate one file (raises SchemaError / ParseError).
- `apply_overrides(device_or_raw, {"gpu.dram_bw_gbs": 51.2}) -> Device`: edit and
  re-validate; the "processors." prefix may be dropped.
- `format_hw(device) -> str` for `augur hw show`; `schema_doc() -> str`.
- Dataclasses: Device(name, description, memory_bytes, sources, processors, file),
  Processor(name, kind, units, clock_ghz, flop_per_cycle_per_unit, caches,
  dram_bw_gbs, dispatch_s, energy, runtimes, default_runtime) with
  `peak_flops(precision)` and `rate_precision(precision)`, Cache(level, size_bytes,
  line_bytes, assoc, shared, bw_gbs), Energy(pj_per_flop, dram_pj_per_byte,
  cache_pj_per_byte, static_w), Runtime(name, stack, source, gemm_peak, gemm_half_m,
  gemm_half_n, gemm_half_k, tile_m, tile_n, dw_conv, mem, eltwise, fusion).
Cache.bw_gbs is the aggregate over all units of the processor; Cache.size_bytes is
one instance (per unit if not shared). See docs/HWSPECS.md.
"""
from augur_sim.hw.load import apply_overrides, check_hw, hwspec_dirs, list_hw, load_hw
from augur_sim.hw.model import PRECISION_FALLBACK, Cache, Device, Energy, Processor, Runtime, Source
from augur_sim.hw.schema import FUSION_RULES, PRECISIONS, SECTIONS, Field, schema_doc
from augur_sim.hw.show import format_hw

__all__ = ["load_hw", "list_hw", "check_hw", "apply_overrides", "format_hw", "schema_doc",
           "hwspec_dirs", "Device", "Processor", "Cache", "Energy", "Runtime", "Source",
           "Field", "SECTIONS", "PRECISIONS", "FUSION_RULES", "PRECISION_FALLBACK"]
