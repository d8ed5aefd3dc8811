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
from __future__ import annotations

import difflib
from pathlib import Path

from augur_sim.errors import SchemaError
from augur_sim.hw.model import Core

KINDS = {"core": "cores", "fit": "fits"}
_CACHE: dict = {}


def catalog_dirs(kind: str, near: Path | None = None) -> list[Path]:
    """Folders searched for catalogue files of `kind` (core | fit)."""
    from augur_sim.hw.load import hwspec_dirs
    sub = KINDS[kind]
    dirs = [near / sub] if near is not None else []
    return dirs + [d / sub for d in hwspec_dirs()]


def available(kind: str, near: Path | None = None) -> list[str]:
    seen: list[str] = []
    for d in catalog_dirs(kind, near):
        if d.is_dir():
            for f in sorted(d.glob("*.yaml")):
                if f.stem not in seen:
                    seen.append(f.stem)
    return seen


def find(kind: str, name: str, near: Path | None = None) -> Path | None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    for d in catalog_dirs(kind, near):
        cand = d / f"{name}.yaml"
        if cand.is_file():
            return cand
    return None


def unknown_message(kind: str, name: str, near: Path | None = None) -> str:
    names = available(kind, near)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (f"unknown {kind} {name!r}{hint}; {KINDS[kind]}/ has {len(names)} files"
            + (f": {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}" if names else ""))


def _key(path: Path):
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def _checked(kind: str, path: Path) -> dict:
    """Read (following extends), validate against SECTIONS[kind] and check name == stem."""
    from augur_sim.hw.load import _err, _load_tree, _section, _shown, _sub, checked_sources
    tree = _load_tree(path)
    d = _section(tree, kind, ())
    if d["name"] != path.stem:
        raise _err(_sub(tree, "name"), ("name",),
                   f"must equal the file stem {path.stem!r}, got {d['name']!r}")
    d["__sources__"] = checked_sources(d)
    d["__file__"] = _shown(path)
    return d


def load_core(path: Path) -> Core:
    """The Core in one file (cached)."""
    from augur_sim.hw.load import _err, _sub
    key = ("core",) + _key(path)
    if key in _CACHE:
        return _CACHE[key]
    d = _checked("core", path)
    l1 = round(d["l1d_kib"] * 1024)
    l2 = round(d["l2_kib"] * 1024) if "l2_kib" in d else None
    if l2 is not None and l2 <= l1:
        raise _err(_sub(d["__node__"], "l2_kib"), ("l2_kib",),
                   f"must be larger than l1d_kib ({d['l1d_kib']:g}), got {d['l2_kib']:g}")
    if d.get("smt", 1) > 1 and d.get("l2_shared", False):
        pass  # allowed: SMT cores with a cluster-shared L2 exist (Knights Corner rings aside)
    core = Core(name=d["name"], description=d["description"], vendor=d["vendor"], isa=d["isa"],
                isa_class=d["isa_class"], simd_bits=d["simd_bits"], fma_pipes=d["fma_pipes"],
                flop_per_cycle=dict(d["flop_per_cycle"]), features=tuple(d["features"]),
                l1d_bytes=l1, l2_bytes=l2, l2_shared=d.get("l2_shared", False),
                l1_bytes_per_cycle=d["l1_bytes_per_cycle"],
                l2_bytes_per_cycle=d["l2_bytes_per_cycle"], smt=d.get("smt", 1),
                issue_width=d.get("issue_width"), sources=d["__sources__"], file=d["__file__"])
    _CACHE[key] = core
    return core


def load_fit(path: Path):
    """(validated fit dict, merged tree) of one fit file (cached). The tree's nodes keep
    their lines so a merged runtime's errors point into the fit file."""
    key = ("fit",) + _key(path)
    if key not in _CACHE:
        from augur_sim.hw.load import _load_tree
        d = _checked("fit", path)
        _CACHE[key] = (d, _load_tree(path))
    return _CACHE[key]


def check_catalog_file(path) -> object:
    """Validate one catalogue file by its folder (cores/ or fits/): for tests and
    `augur hw check`. Raises SchemaError / ParseError."""
    p = Path(path)
    kind = {v: k for k, v in KINDS.items()}.get(p.parent.name)
    if kind is None:
        raise SchemaError("not in a cores/ or fits/ folder", file=str(p))
    return {"core": load_core, "fit": load_fit}[kind](p)
