"""The catalogue beside the device specs: CPU core types and runtime fits.

- `hwspecs/cores/NAME.yaml`: one CPU microarchitecture (section `core` of the schema).
- `hwspecs/fits/NAME.yaml` with a `runtime:` part: runtime fields keyed by core name or
  isa_class (section `fit`), which a device runtime inherits with `fitted: NAME`. (Other
  files in fits/, such as the GPU kernel model's pytorch.yaml, have their own readers.)
- GPU architectures (`hwspecs/archs/`) are merged by `load._with_archs`, not here.

Each is looked up in a `cores/` (`fits/`) folder next to the device file first,
then under every folder of `hwspec_dirs()`. Files are validated with the same Field rows
and one-line `FILE:LINE: path: message` errors as device specs, and cached by path and
modification time (a what-if sweep re-validates a device thousands of times).
"""
from augur_sim.hw.load import (KINDS, catalog_available, catalog_dirs, catalog_unknown_message,  # noqa: F401
                               check_catalog_file, find_catalog, load_core, load_fit)
