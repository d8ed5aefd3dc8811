"""Find, read, merge (extends), validate and override hardware specs.

Validation is driven entirely by the `Field` rows in schema.SECTIONS plus a few
cross-field rules (cache order, one energy figure per cache, default runtime
exists, name equals file stem). Every error is a SchemaError (ParseError for YAML
syntax) carrying file, 1-based line and the YAML path.
"""
from __future__ import annotations

import difflib
import math
import os
import re
from pathlib import Path

import yaml

from augur_sim.errors import AugurError, SchemaError, name_hint
from augur_sim.hw.model import (ASSUMED_ASSOC, Cache, Cluster, Core, Device, Energy, Processor, Runtime, SmFacts,
                                 Source, VulkanFacts, model_runtimes_for)
from augur_sim.hw.placement import place, private_caches
from augur_sim.hw.schema import PRECISIONS, SECTIONS, Field, field
from augur_sim.hw.yamlsrc import Node, format_path, from_plain, read_yaml

MAX_EXTENDS_DEPTH = 16
MAX_PEAK_FLOPS = 1e17   # 100 PFLOP/s on one processor is a units/clock/FLOP-per-cycle typo

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")     # device names: file stems
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_+-]*$")        # processor/runtime/source names: no dots
_CLASS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")     # fit classes: core names, isa classes
_REPO_ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- locating files

def hwspec_dirs() -> list[Path]:
    """Folders searched for specs by name: $AUGUR_HWSPECS entries first, then the repo's hwspecs/."""
    dirs = [Path(p) for p in os.environ.get("AUGUR_HWSPECS", "").split(os.pathsep) if p.strip()]
    dirs.append(_REPO_ROOT / "hwspecs")
    return dirs


def _shown(path: Path) -> str:
    """How errors name a file: relative to the working directory or repo when inside them."""
    p = path.resolve()
    for base in (Path.cwd(), _REPO_ROOT):
        try:
            return str(p.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def _looks_like_path(s: str) -> bool:
    return "/" in s or os.sep in s or s.endswith((".yaml", ".yml"))


def _find_by_name(name: str, first_dir: Path | None = None) -> Path | None:
    dirs = ([first_dir] if first_dir is not None else []) + hwspec_dirs()
    for d in dirs:
        for ext in (".yaml", ".yml"):
            cand = d / f"{name}{ext}"
            if cand.is_file():
                return cand
    return None


def spec_names() -> list[str]:
    """Names of the specs found by name (hwspec_dirs order, first folder wins), unloaded."""
    seen: list[str] = []
    for d in hwspec_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.y*ml")):
                if f.suffix in (".yaml", ".yml") and f.stem not in seen:
                    seen.append(f.stem)
    return seen


# ---------------------------------------------------------------- extends / merge

def _merge(base: Node, over: Node, path: tuple) -> Node:
    """Child `over` on parent `base`: mappings merge key by key, anything else replaces.
    `sources` lists merge by id (the child's entry wins) so a child can cite its parent's ids."""
    if path == ("sources",) and isinstance(base.value, list) and isinstance(over.value, list):
        merged: dict = {}
        for n in base.value + over.value:
            key = n.value["id"].value if isinstance(n.value, dict) and "id" in n.value else None
            # Only string ids merge; anything else (a mapping, a list) keeps its own slot and
            # is reported by validation with its line.
            merged[key if isinstance(key, str) else ("#", id(n))] = n
            continue
        return Node(list(merged.values()), over.file, over.line)
    if isinstance(base.value, dict) and isinstance(over.value, dict):
        out = dict(base.value)
        for k, v in over.value.items():
            out[k] = _merge(base.value[k], v, path + (k,)) if k in base.value else v
        return Node(out, over.file, over.line)
    return over


def _read_spec_tree(path: Path, shown: str, parent_of: Node | None) -> Node:
    """A spec file's located tree. A file named by `extends:` (parent_of set) is held to
    more: a .yaml/.yml name, and a document that looks like a spec; its errors never
    quote its content, since the user may not own that file (`extends: /etc/shadow`)."""
    if parent_of is not None and path.suffix not in (".yaml", ".yml"):
        raise SchemaError("a parent spec must be a .yaml or .yml file", file=parent_of.file,
                          line=parent_of.line, where="extends")
    try:
        tree = read_yaml(path, shown)
    except AugurError as e:
        if parent_of is None:
            raise
        raise SchemaError(f"parent spec {shown} is not a readable YAML spec"
                          + (f" (problem at its line {e.line})" if e.line else ""),
                          file=parent_of.file, line=parent_of.line, where="extends") from None
    keys = set(tree.value)
    # Top-level keys of the files read through here: device specs and catalogue files.
    allowed = {f.name for sec in ("device", "core", "fit") for f in SECTIONS[sec]}
    if parent_of is not None and not keys <= allowed:
        raise SchemaError(f"parent spec {shown} has top-level keys that are not spec fields",
                          file=parent_of.file, line=parent_of.line, where="extends")
    if "name" not in keys and "extends" not in keys and not keys & allowed - {"name"}:
        # Nothing of a spec at all: say so without listing its (foreign) keys.
        raise SchemaError(f"not a hardware spec: none of its {len(keys)} top-level key(s) is a spec "
                          f"field ({', '.join(f.name for f in SECTIONS['device'])})", file=shown, line=1)
    return tree


def _load_tree(path: Path, chain: tuple = (), parent_of: Node | None = None) -> Node:
    shown = _shown(path)
    tree = _read_spec_tree(path, shown, parent_of)
    ext = tree.value.get("extends")
    if ext is None:
        return tree
    if not isinstance(ext.value, str) or not ext.value.strip():
        raise SchemaError(f"expected a spec name or relative path, got {ext.value!r}",
                          file=ext.file, line=ext.line, where="extends")
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise SchemaError(f"extends chain deeper than {MAX_EXTENDS_DEPTH}",
                          file=ext.file, line=ext.line, where="extends")
    target = ext.value.strip()
    if _looks_like_path(target):
        parent = (path.parent / target)
        if not parent.is_file():
            raise SchemaError(f"parent spec file {target!r} not found (relative to {shown})",
                              file=ext.file, line=ext.line, where="extends")
    else:
        parent = _find_by_name(target, first_dir=path.parent)
        if parent is None:
            raise SchemaError(f"parent spec {target!r} not found next to {shown} nor in "
                              f"hwspecs search path", file=ext.file, line=ext.line,
                              where="extends")
    parent = parent.resolve()
    here = path.resolve()
    if parent in chain + (here,):
        cycle = " -> ".join(_shown(p) for p in chain + (here, parent))
        raise SchemaError(f"extends cycle: {cycle}", file=ext.file, line=ext.line,
                          where="extends")
    base = _load_tree(parent, chain + (here,), parent_of=ext)
    child = Node({k: v for k, v in tree.value.items() if k != "extends"}, tree.file, tree.line)
    return _merge(base, child, ())


# ---------------------------------------------------------------- architecture files

ARCH_KEYS = ("name", "description", "sources", "processor")


def _find_arch(name: str) -> Path | None:
    for d in hwspec_dirs():
        cand = d / "archs" / f"{name}.yaml"
        if cand.is_file():
            return cand
    return None


def _with_archs(tree: Node) -> Node:
    """Merge each processor's `arch: NAME` file (hwspecs/archs/NAME.yaml) under it: the
    architecture's shared facts first, the processor's own keys on top; the architecture's
    sources join the device's (by id). Errors in inherited values point at the arch file."""
    procs = tree.value.get("processors") if isinstance(tree.value, dict) else None
    if procs is None or not isinstance(procs.value, dict):
        return tree
    out_procs = dict(procs.value)
    sources = tree.value.get("sources")
    for pname, pnode in procs.value.items():
        a = pnode.value.get("arch") if isinstance(pnode.value, dict) else None
        if a is None:
            continue
        where = f"processors.{pname}.arch"
        if not isinstance(a.value, str) or not _NAME_RE.match(a.value):
            raise SchemaError(f"expected an architecture name, got {a.value!r}", file=a.file,
                              line=a.line, where=where)
        path = _find_arch(a.value)
        if path is None:
            known = sorted({f.stem for d in hwspec_dirs() for f in (d / "archs").glob("*.yaml")})
            raise SchemaError(f"unknown architecture {a.value!r}; known: {', '.join(known)}",
                              file=a.file, line=a.line, where=where)
        at = read_yaml(path, _shown(path))
        if not isinstance(at.value, dict):
            raise SchemaError("an architecture file must be a mapping", file=at.file, line=at.line)
        for k, v in at.value.items():
            if k not in ARCH_KEYS:
                raise SchemaError(f"unknown key {k!r}; allowed keys: {', '.join(ARCH_KEYS)}",
                                  file=v.file, line=v.line, where=k)
        for k in ARCH_KEYS:
            if k not in at.value:
                raise SchemaError(f"missing required key {k!r}", file=at.file, line=at.line)
        if at.value["name"].value != path.stem:
            n = at.value["name"]
            raise SchemaError(f"must equal the file stem {path.stem!r}, got {n.value!r}",
                              file=n.file, line=n.line, where="name")
        base = at.value["processor"]
        if not isinstance(base.value, dict):
            raise SchemaError("expected a mapping of processor fields", file=base.file,
                              line=base.line, where="processor")
        out_procs[pname] = _merge(base, pnode, ("processors", pname))
        asrc = at.value["sources"]
        if sources is None:
            sources = asrc
        else:
            sources = _merge(asrc, sources, ("sources",))
    out = dict(tree.value)
    out["processors"] = Node(out_procs, procs.file, procs.line)
    if sources is not None:
        out["sources"] = sources
    return Node(out, tree.file, tree.line)


# ---------------------------------------------------------------- validation

def _err(node: Node, path: tuple, msg: str) -> SchemaError:
    return SchemaError(msg, file=node.file, line=node.line, where=format_path(path) or None)


def _typename(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"bool {str(v).lower()}"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return f"{type(v).__name__} {v!r}"


def _expect_text(f: Field) -> str:
    if f.type == "number":
        return f"a number ({f.unit})" if f.unit else "a number"
    if f.type == "int":
        return f"an integer ({f.unit})" if f.unit else "an integer"
    return {"str": "a string", "bool": "true or false"}.get(f.type, f.type)


def _check_number(f: Field, node: Node, path: tuple, integer: bool = False) -> float | int:
    v = node.value
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        hint = ""
        if isinstance(v, str) and re.fullmatch(r"\s*[-+]?[\d.]+[eE]\d+\s*", v):
            # PyYAML (YAML 1.1) reads 1e9 as text; only 1.0e+9 is a float.
            hint = " (YAML reads an exponent without a sign as text: write e.g. 1.0e+9)"
        raise _err(node, path, f"expected {_expect_text(f)}, got {_typename(v)}{hint}")
    if integer and not isinstance(v, int):
        raise _err(node, path, f"expected an integer, got {v!r}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _err(node, path, f"must be a finite number, got {v!r}")
    unit = f" {f.unit}" if f.unit and f.unit not in ("fraction",) else ""
    if f.lo is not None:
        if (f.lo_open and v <= f.lo) or (not f.lo_open and v < f.lo):
            op = ">" if f.lo_open else ">="
            raise _err(node, path, f"must be {op} {f.lo:g}{unit}, got {v!r}")
    if f.hi is not None and v > f.hi:
        raise _err(node, path, f"must be <= {f.hi:g}{unit} (larger is not plausible; check "
                               f"the unit), got {v!r}")
    return v


def _check_str(node: Node, path: tuple) -> str:
    v = node.value
    if not isinstance(v, str):
        raise _err(node, path, f"expected a string, got {_typename(v)}")
    if not v.strip():
        raise _err(node, path, "must not be empty")
    return v.strip()


def _check_key(node: Node, path: tuple, key: str, what: str) -> None:
    if not _KEY_RE.match(key):
        raise _err(node, path, f"{what} name {key!r} must start with a letter or '_' and hold "
                               "only letters, digits, '_', '+', '-'")


def _value(f: Field, node: Node, path: tuple):
    """Type- and bounds-check one field; nested sections come back as plain dicts."""
    t = f.type
    if t == "number":
        return float(_check_number(f, node, path))
    if t == "int":
        return int(_check_number(f, node, path, integer=True))
    if t == "bool":
        if not isinstance(node.value, bool):
            raise _err(node, path, f"expected true or false, got {_typename(node.value)}")
        return node.value
    if t == "str":
        s = _check_str(node, path)
        if f.choices and s not in f.choices:
            raise _err(node, path, f"must be one of {', '.join(f.choices)}, got {s!r}")
        return s
    if t == "section":
        return _section(node, f.of, path)
    if t in ("list_of", "number_list", "str_list"):
        if not isinstance(node.value, list):
            raise _err(node, path, f"expected a list, got {_typename(node.value)}")
        items = []
        for i, item in enumerate(node.value):
            p = path + (i,)
            if t == "list_of":
                items.append(_section(item, f.of, p))
            elif t == "number_list":
                items.append(float(_check_number(f, item, p)))
            else:
                s = _check_str(item, p)
                if f.choices and s not in f.choices:
                    raise _err(item, p, f"unknown value {s!r}; allowed: {', '.join(f.choices)}")
                if s in items:
                    raise _err(item, p, f"{s!r} listed twice")
                items.append(s)
        return items
    if t == "class_map":
        if not isinstance(node.value, dict):
            raise _err(node, path, f"expected a mapping, got {_typename(node.value)}")
        out = {}
        for k, item in node.value.items():
            if not isinstance(k, str) or not _CLASS_RE.match(k):
                raise _err(item, path + (k,), f"class name {k!r} must be a core name, an "
                                              "isa_class or 'default'")
            out[k] = _section(item, f.of, path + (k,))
        return out
    if t in ("map_of", "precision_map"):
        if not isinstance(node.value, dict):
            raise _err(node, path, f"expected a mapping, got {_typename(node.value)}")
        out = {}
        for k, item in node.value.items():
            p = path + (k,)
            if t == "precision_map":
                if k not in PRECISIONS:
                    raise _err(item, p, f"unknown precision {k!r}; allowed: {', '.join(PRECISIONS)}")
                out[k] = float(_check_number(f, item, p))
            else:
                _check_key(item, p, k, f.of)
                out[k] = _section(item, f.of, p)
        if t == "precision_map" and "fp32" not in out:
            raise _err(node, path, f"missing required precision 'fp32' (has {', '.join(out) or 'none'})")
        return out
    raise AssertionError(f"schema field {f.name} has unknown type {t}")


def _derived(node: Node, key: tuple, make):
    """What `make()` derives from `node`'s subtree, made once per node (Node.derived): a tree
    an override copies only along its path, so the subtrees it leaves alone keep what was
    checked and built from them. Nothing is kept when `make` raises."""
    memo = node.derived
    if memo is None:
        memo = node.derived = {}
    if key not in memo:
        memo[key] = make()
    return memo[key]


def _section(node: Node, sec: str, path: tuple) -> dict:
    """Check a mapping against SECTIONS[sec] (once per node; `path` only names errors)."""
    return _derived(node, ("section", sec), lambda: _check_section(node, sec, path))


def _check_section(node: Node, sec: str, path: tuple) -> dict:
    """Check a mapping against SECTIONS[sec]: unknown keys, missing keys, each value."""
    fields = SECTIONS[sec]
    if not isinstance(node.value, dict):
        raise _err(node, path, f"expected a mapping ({sec}), got {_typename(node.value)}")
    allowed = [f.name for f in fields]
    for k, v in node.value.items():
        if k not in allowed:
            near = difflib.get_close_matches(k, allowed, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise _err(v, path + (k,), f"unknown key {k!r}{hint}; allowed keys: {', '.join(allowed)}")
    out = {"__node__": node}
    for f in fields:
        present = f.name in node.value
        lifted = [k for k in f.required_unless if k in node.value]
        clash = [k for k in f.forbidden_with if k in node.value]
        if present and clash:
            raise _err(node.value[f.name], path + (f.name,),
                       f"not allowed together with {clash[0]!r} (it is derived from it)")
        if not present:
            if f.required and not lifted:
                alt = f" or {' / '.join(repr(k) for k in f.required_unless)}" \
                    if f.required_unless else ""
                raise _err(node, path, f"missing required field {f.name!r}{alt} "
                                       f"({_expect_text(f)}: {f.doc})")
            continue
        out[f.name] = _value(f, node.value[f.name], path + (f.name,))
    return out


def _sub(node: Node, *keys) -> Node:
    for k in keys:
        node = node.value[k]
    return node


def _build_caches(entries: list, path: tuple, first_index: int = 0) -> list[Cache]:
    """Cache rows in order; each level and size larger than the one before."""
    caches = []
    prev = None
    for i, c in enumerate(entries):
        cnode = c["__node__"]
        cpath = path + ("caches", i)
        if c["line_bytes"] & (c["line_bytes"] - 1):
            raise _err(_sub(cnode, "line_bytes"), cpath + ("line_bytes",),
                       f"must be a power of two, got {c['line_bytes']}")
        if prev is not None:
            if c["level"] <= prev["level"]:
                raise _err(_sub(cnode, "level"), cpath + ("level",),
                           f"must be larger than caches[{i - 1}].level ({prev['level']}), "
                           f"got {c['level']}")
            if c["size_kib"] <= prev["size_kib"]:
                raise _err(_sub(cnode, "size_kib"), cpath + ("size_kib",),
                           f"must be larger than caches[{i - 1}] ({prev['size_kib']:g} KiB), "
                           f"got {c['size_kib']:g}")
        prev = c
        caches.append(Cache(level=c["level"], size_bytes=int(round(c["size_kib"] * 1024)),
                            line_bytes=c["line_bytes"], assoc=c["assoc"], shared=c["shared"],
                            bw_gbs=c["bw_gbs"]))
    return caches


def _build_clusters(d: dict, path: tuple, near: Path | None) -> tuple:
    """Resolve each cluster's core file and SoC-specific L2 into Cluster objects."""
    node = d["__node__"]
    if d["kind"] != "cpu":
        raise _err(_sub(node, "clusters"), path + ("clusters",),
                   f"clusters describe CPU cores; a {d['kind']} processor has units and clock_ghz")
    if not d["clusters"]:
        raise _err(_sub(node, "clusters"), path + ("clusters",), "needs at least one cluster")
    out = []
    for i, c in enumerate(d["clusters"]):
        cnode = c["__node__"]
        cpath = path + ("clusters", i)
        if any(o.name == c["name"] for o in out):
            raise _err(_sub(cnode, "name"), cpath + ("name",),
                       f"duplicate cluster name {c['name']!r}")
        cfile = find_catalog("core", c["core"], near)
        if cfile is None:
            raise _err(_sub(cnode, "core"), cpath + ("core",),
                       catalog_unknown_message("core", c["core"], near))
        core = load_core(cfile)
        if "l2_kib" in c:
            l2 = round(c["l2_kib"] * 1024)
            l2node, l2path = _sub(cnode, "l2_kib"), cpath + ("l2_kib",)
        elif core.l2_bytes is not None:
            l2, l2node, l2path = core.l2_bytes, _sub(cnode, "core"), cpath + ("core",)
        else:
            raise _err(cnode, cpath, f"missing l2_kib: core {core.name}'s file gives no L2 size "
                                     "(the SoC configures it)")
        if l2 <= core.l1d_bytes:
            raise _err(l2node, l2path, f"L2 ({l2 / 1024:g} KiB) must be larger than the core's "
                                       f"L1D ({core.l1d_bytes / 1024:g} KiB)")
        out.append(Cluster(name=c["name"], core=core, count=c["count"], clock_ghz=c["clock_ghz"],
                           flop_per_cycle=dict(core.flop_per_cycle), smt=core.smt,
                           l1d_bytes=core.l1d_bytes, l2_bytes=l2,
                           l2_shared=c.get("l2_shared", core.l2_shared),
                           l1_bytes_per_cycle=core.l1_bytes_per_cycle,
                           l2_bytes_per_cycle=core.l2_bytes_per_cycle))
    return tuple(out)


def _cluster_view(clusters: tuple) -> tuple[int, float, dict]:
    """units, clock_ghz and the FLOP/cycle table that make units x clock x table the sum of
    the clusters' peaks (each cluster falling back on its own core's table)."""
    units = sum(c.count for c in clusters)
    clock = max(c.clock_ghz for c in clusters)
    precs = []
    for c in clusters:
        precs += [p for p in c.flop_per_cycle if p not in precs]
    table = {}
    for p in precs:
        try:
            total = sum(c.count * c.core_flops(p) for c in clusters)
        except AugurError:
            continue    # a precision without fallback (fp64) on some cluster: not summable
        table[p] = total / (units * clock * 1e9)
    return units, clock, table


def _runtime(rname: str, r: dict, overheads: dict, fitted: str | None = None,
             fit_class: str | None = None) -> Runtime:
    return Runtime(
        name=rname, stack=r["stack"], source=r["source"], gemm_peak=r["gemm_peak"],
        gemm_half_m=r["gemm_half_m"], gemm_half_n=r["gemm_half_n"],
        gemm_half_k=r["gemm_half_k"], tile_m=r["tile_m"], tile_n=r["tile_n"],
        dw_conv=r["dw_conv"], mem=r["mem"], eltwise=r.get("eltwise", r["mem"]),
        fusion=tuple(r["fusion"]),
        dispatch_s=r.get("dispatch_us", overheads["dispatch_us"]) * 1e-6,
        issue_s=r.get("issue_us", 0.0) * 1e-6,
        transcendental_per_s=r.get("transcendental_gops", 0.0) * 1e9,
        pow_per_s=r.get("pow_gops", 0.0) * 1e9,
        conv_gemm=r.get("conv_gemm", 1.0),
        kernel_model=r.get("kernel_model", ""),
        fp32_conv_math=r.get("fp32_conv_math", "fp32"),
        fp32_matmul_math=r.get("fp32_matmul_math", "fp32"),
        graph_floor_s=r.get("graph_floor_us", 0.0) * 1e-6,
        precisions=tuple(r.get("precisions", ())),
        fitted=fitted, fit_class=fit_class,
        memory=tuple(sorted((k, v) for k, v in r.get("memory", {}).items() if k != "__node__")))


def _fitted_runtime(rname: str, r: dict, path: tuple, core, overheads: dict,
                    near: Path | None) -> Runtime:
    """The spec's runtime fields over the fit file's (core, then isa_class, then default)."""
    rnode = r["__node__"]
    fnode = _sub(rnode, "fitted")
    ffile = find_catalog("fit", r["fitted"], near)
    if ffile is None:
        raise _err(fnode, path + ("fitted",), catalog_unknown_message("fit", r["fitted"], near))
    fit, ftree = load_fit(ffile)
    classes = fit["classes"]
    # Most specific last: the shared fields, then default, the ISA class, the core itself.
    layers = [k for k in ("default", core.isa_class, core.name) if k in classes]
    cls = layers[-1] if layers else None
    merged: dict = {}
    if "runtime" in ftree.value:
        merged.update(ftree.value["runtime"].value)
    for k in layers:
        merged.update(ftree.value["classes"].value[k].value)
    merged.update({k: v for k, v in rnode.value.items() if k != "fitted"})
    missing = [f.name for f in SECTIONS["runtime"]
               if f.required and f.name != "fitted" and f.name not in merged]
    if missing:
        tried = f"default, {core.isa_class}, {core.name}"
        raise _err(fnode, path + ("fitted",),
                   f"fit {r['fitted']!r} gives no {', '.join(missing)} for core {core.name} "
                   f"(classes tried: {tried}) and the spec does not either")
    full = _section(Node(merged, rnode.file, rnode.line), "runtime", path)
    return _runtime(rname, full, overheads, fitted=r["fitted"], fit_class=cls)


def _build_processor(name: str, d: dict, path: tuple, near: Path | None = None) -> Processor:
    node = d["__node__"]
    clusters: tuple = ()
    if "clusters" in d:
        clusters = _build_clusters(d, path, near)
        units, clock, fpc = _cluster_view(clusters)
    else:
        units, clock = d["units"], d["clock_ghz"]
        fpc = d.get("flop_per_cycle_per_unit")
    shared = _build_caches(d["caches"], path)
    if clusters:
        # L1/L2 come from the clusters; the listed caches are the shared levels beyond them.
        biggest_l2 = max(c.l2_bytes for c in clusters)
        for i, c in enumerate(shared):
            cnode = d["caches"][i]["__node__"]
            if c.level < 3:
                raise _err(_sub(cnode, "level"), path + ("caches", i, "level"),
                           f"a clustered CPU lists only the shared levels beyond the clusters' "
                           f"L2 (level >= 3), got {c.level}")
            if i == 0 and c.size_bytes <= biggest_l2:
                raise _err(_sub(cnode, "size_kib"), path + ("caches", i, "size_kib"),
                           f"must be larger than the largest cluster L2 "
                           f"({biggest_l2 / 1024:g} KiB), got {c.size_bytes / 1024:g}")
    e = d["energy"]
    nlev = len(shared) + (2 if clusters else 0)
    if len(e["cache_pj_per_byte"]) != nlev:
        what = " (L1, L2 of the clusters, then the listed caches)" if clusters else ""
        raise _err(_sub(node, "energy", "cache_pj_per_byte"),
                   path + ("energy", "cache_pj_per_byte"),
                   f"needs one entry per cache level ({nlev}){what}, got "
                   f"{len(e['cache_pj_per_byte'])}")
    energy = Energy(pj_per_flop=dict(e["pj_per_flop"]), dram_pj_per_byte=e["dram_pj_per_byte"],
                    cache_pj_per_byte=tuple(e["cache_pj_per_byte"]), static_w=e["static_w"])
    if not d["runtimes"]:
        raise _err(_sub(node, "runtimes"), path + ("runtimes",), "needs at least one runtime")
    runtimes: dict = {}
    fitted: dict = {}
    default_set = None
    if clusters:
        # The default run (ncnn's powersave=2 with one thread per big core) fixes the
        # processor's displayed caches and which fitted class `runtimes` holds.
        proto = Processor(name=name, kind="cpu", units=units, clock_ghz=clock,
                          flop_per_cycle_per_unit=fpc, caches=(), dram_bw_gbs=d["dram_bw_gbs"],
                          dispatch_s=0.0, energy=energy, runtimes={}, default_runtime="",
                          clusters=clusters)
        default_set = place(proto)
    for rname, r in d["runtimes"].items():
        rpath = path + ("runtimes", rname)
        if "precisions" in r and "fp32" not in r["precisions"]:
            # Every fallback ends at fp32: a stack that lists its precisions lists fp32 (the
            # schema has refused repeats already).
            raise _err(_sub(r["__node__"], "precisions"), rpath + ("precisions",),
                       f"expected the precisions the stack runs, fp32 among them, got {r['precisions']!r}")
        if "fitted" in r:
            if not clusters:
                raise _err(_sub(r["__node__"], "fitted"), rpath + ("fitted",),
                           "a fitted runtime needs a clustered CPU (its core types pick the fit)")
            for c in clusters:
                if (rname, c.core.name) not in fitted:
                    fitted[(rname, c.core.name)] = _fitted_runtime(
                        rname, r, rpath, c.core, d["overheads"], near)
            straggler = default_set.clusters[default_set.straggler].core.name
            runtimes[rname] = fitted[(rname, straggler)]
        else:
            runtimes[rname] = _runtime(rname, r, d["overheads"])
    # The default may also be a runtime with a model of its own (ncnn on a CPU, ncnn-vulkan on
    # a GPU with a `vulkan:` section), which the spec does not list under runtimes.
    models = model_runtimes_for(d["kind"], "vulkan" in d)
    if d["default_runtime"] not in runtimes and d["default_runtime"] not in models:
        raise _err(_sub(node, "default_runtime"), path + ("default_runtime",),
                   f"must name one of runtimes ({', '.join(runtimes)})"
                   + (f" or a built-in model ({', '.join(models)})" if models else "")
                   + f", got {d['default_runtime']!r}")
    caches = list(shared)
    if clusters:
        ln = (shared[0].line_bytes if shared else 64)
        caches = [Cache(level=lv, size_bytes=size, line_bytes=ln, assoc=ASSUMED_ASSOC, assoc_assumed=True, shared=sh,
                        bw_gbs=bw / 1e9)
                  for lv, size, sh, bw in private_caches(default_set)] + caches
    proc = Processor(name=name, kind=d["kind"], units=units, clock_ghz=clock,
                     flop_per_cycle_per_unit=dict(fpc),
                     caches=tuple(caches), dram_bw_gbs=d["dram_bw_gbs"],
                     dispatch_s=d["overheads"]["dispatch_us"] * 1e-6, energy=energy,
                     runtimes=runtimes, default_runtime=d["default_runtime"],
                     clusters=clusters, fitted=fitted, shared_caches=tuple(shared),
                     arch=d.get("arch", ""),
                     tdp_w=float(d.get("tdp_w", 0.0)),
                     base_clock_ghz=float(d.get("base_clock_ghz", 0.0)),
                     process_nm=float(d.get("process_nm", 0.0)),
                     sm=SmFacts(**{k: v for k, v in d["sm"].items() if k != "__node__"})
                     if "sm" in d else None,
                     vulkan=VulkanFacts(gpu_class=d["vulkan"]["class"],
                                        fp16_storage=bool(d["vulkan"]["fp16_storage"]),
                                        fp16_arithmetic=bool(d["vulkan"]["fp16_arithmetic"]),
                                        discrete=bool(d["vulkan"]["discrete"]))
                     if "vulkan" in d else None)
    for prec in proc.flop_per_cycle_per_unit:
        if proc.peak_flops(prec) > MAX_PEAK_FLOPS:
            where = ("flop_per_cycle_per_unit", prec) if not clusters else ("clusters",)
            raise _err(_sub(node, *where) if not clusters else _sub(node, "clusters"),
                       path + where,
                       f"units x clock x FLOP/cycle = {proc.peak_flops(prec):.3g} FLOP/s at "
                       f"{prec}, over the {MAX_PEAK_FLOPS:g} plausibility limit")
    return proc


def checked_sources(d: dict) -> tuple:
    """The validated `sources` of a checked section (device, core, arch or fit): at least
    one, ids well-formed and unique."""
    if not d["sources"]:
        raise _err(_sub(d["__node__"], "sources"), ("sources",),
                   "needs at least one source (every figure must cite one or be an estimate)")
    out: list[Source] = []
    for i, s in enumerate(d["sources"]):
        _check_key(s["__node__"], ("sources", i, "id"), s["id"], "source")
        if any(s["id"] == o.id for o in out):
            raise _err(_sub(s["__node__"], "id"), ("sources", i, "id"),
                       f"duplicate source id {s['id']!r}")
        out.append(Source(s["id"], s["ref"]))
    return tuple(out)


def _processor(name: str, d: dict, near: Path | None) -> Processor:
    """The processor built from its checked section, once per processor node: an override
    elsewhere in the spec keeps this Processor as it is."""
    return _derived(d["__node__"], ("processor", name, near),
                    lambda: _build_processor(name, d, ("processors", name), near))


def build_device(tree: Node, stem: str | None, file: str, near: Path | None = None) -> Device:
    """Validate a merged tree and turn it into a Device. `stem` (the file's stem) is what
    `name` must equal; None skips that rule (specs built from plain dicts)."""
    d = _section(tree, "device", ())
    if not _NAME_RE.match(d["name"]):
        raise _err(_sub(tree, "name"), ("name",),
                   f"{d['name']!r} must hold only letters, digits, '_', '.', '-'")
    if stem is not None and d["name"] != stem:
        raise _err(_sub(tree, "name"), ("name",),
                   f"must equal the file stem {stem!r}, got {d['name']!r}")
    sources = checked_sources(d)
    if not d["processors"]:
        raise _err(_sub(tree, "processors"), ("processors",), "needs at least one processor")
    procs = {name: _processor(name, p, near) for name, p in d["processors"].items()}
    return Device(name=d["name"], description=d["description"],
                  memory_bytes=int(round(d["memory_gib"] * (1 << 30))), sources=sources,
                  processors=procs, file=file, raw=tree, near=near,
                  host={k: v for k, v in d["host"].items() if k != "__node__"} if "host" in d else None)


# ---------------------------------------------------------------- public API

def check_hw(path) -> Device:
    """Load and validate one spec file; raise SchemaError/ParseError or return the Device."""
    p = Path(path)
    tree = _with_archs(_load_tree(p))
    return build_device(tree, p.stem, _shown(p), p.resolve().parent)


def load_hw(name_or_path) -> Device:
    """A spec by name (searched in $AUGUR_HWSPECS, then the repo's hwspecs/) or by path."""
    if isinstance(name_or_path, Device):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path).strip():
        raise AugurError(f"hardware must be a name from `augur hw list`, a spec path or a loaded Device, got "
                         f"{name_or_path!r}")
    s = str(name_or_path)
    if isinstance(name_or_path, Path) or _looks_like_path(s) or Path(s).is_file():
        return check_hw(Path(s))
    found = _find_by_name(s)
    if found is None:
        names = spec_names()
        raise AugurError(f"unknown hardware {s!r}{name_hint(s, names, 'augur hw list', 'available', cutoff=0.4)}")
    return check_hw(found)


def list_hw() -> list[tuple[str, str]]:
    """(name, description) of every spec found by name, first folder wins; examples/ excluded."""
    out = []
    for name in spec_names():
        dev = load_hw(name)
        out.append((dev.name, dev.description))
    return sorted(out)


_KEYPATH_RE = re.compile(r"^[^.\[\]]+(\[\d+\])*(\.[^.\[\]]+(\[\d+\])*)*$")
_TOKEN_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parse_override_key(key) -> tuple:
    """'gpu.caches[1].size_kib' -> ('gpu', 'caches', 1, 'size_kib')."""
    if not isinstance(key, str) or not _KEYPATH_RE.match(key):
        raise SchemaError(f"override key must be a dotted path like gpu.caches[1].size_kib, "
                          f"got {key!r}")
    return tuple(m.group(1) if m.group(1) is not None else int(m.group(2))
                 for m in _TOKEN_RE.finditer(key))


def _field_at(path: tuple) -> Field | None:
    """The schema Field a full YAML path names (None if the schema has no such field)."""
    sec, f = "device", None
    i = 0
    while i < len(path):
        if sec is None:
            return None
        f = field(sec, path[i]) if isinstance(path[i], str) else None
        if f is None:
            return None
        i += 1
        if f.type == "section":
            sec = f.of
        elif f.type == "list_of" or f.type == "map_of":
            if i < len(path) and (isinstance(path[i], int) == (f.type == "list_of")):
                i += 1
                sec = f.of
            elif i < len(path):
                return None
        elif f.type in ("precision_map", "number_list", "str_list"):
            if i < len(path):
                if f.type == "precision_map" and path[i] in PRECISIONS and i == len(path) - 1:
                    return Field(path[i], "number", f.unit, lo=f.lo, hi=f.hi)
                if f.type == "number_list" and isinstance(path[i], int) and i == len(path) - 1:
                    return Field(str(path[i]), "number", f.unit, lo=f.lo, hi=f.hi)
                return None
        else:
            sec = None
    return f


def _leaf_paths(node: Node, path: tuple = ()) -> list[str]:
    if isinstance(node.value, dict):
        out = [format_path(path)] if path else []
        for k, v in node.value.items():
            out += _leaf_paths(v, path + (k,))
        return out
    if isinstance(node.value, list):
        out = [format_path(path)]
        for i, v in enumerate(node.value):
            out += _leaf_paths(v, path + (i,))
        return out
    return [format_path(path)]


def apply_overrides(device_or_raw, overrides: dict) -> Device:
    """A new Device with dotted-path fields replaced, e.g. {"gpu.dram_bw_gbs": 51.2}.

    Paths under processors may drop the "processors." prefix. String values for
    number/int/bool fields are parsed as YAML scalars ("51.2" -> 51.2) so CLI
    `--set key=value` strings work. The result is validated as a loaded spec is, with the
    same checks and errors, but only where the overrides change it: the new tree copies the
    nodes on each override's path and shares the rest with the given one (never changed),
    whose subtrees keep what was checked and built from them (`_derived`).
    """
    if isinstance(device_or_raw, Device):
        if device_or_raw.raw is None:
            raise AugurError("device has no spec tree to override")
        tree, file = device_or_raw.raw, device_or_raw.file
        stem, near_dir = device_or_raw.name, device_or_raw.near
    elif isinstance(device_or_raw, Node):
        tree, file, stem = device_or_raw, device_or_raw.file, None
        near_dir = None
    elif isinstance(device_or_raw, dict):
        tree, file, stem = from_plain(device_or_raw, "<spec>"), "<spec>", None
        near_dir = None
    else:
        raise AugurError(f"apply_overrides needs a Device or a spec mapping, got "
                         f"{type(device_or_raw).__name__}")
    where_file = f"{file} (override)"
    if not isinstance(overrides, dict):
        raise SchemaError(f"overrides must be a mapping of dotted path -> value, got "
                          f"{type(overrides).__name__}", file=where_file)
    old_clocks = {p: _num_at(tree, ("processors", p, "clock_ghz")) for p in _proc_names(tree)}
    tree = _shallow(tree)
    fresh = {id(tree)}  # the nodes this call made (the only ones it may change)
    done: list[tuple] = []
    for key, value in overrides.items():
        path = _parse_override_key(key)
        procs = tree.value.get("processors")
        if (field("device", path[0]) is None and procs is not None
                and isinstance(procs.value, dict) and path[0] in procs.value):
            path = ("processors",) + path
        f = _field_at(path)
        node = tree
        ok = f is not None
        for p in path[:-1] if ok else ():
            if isinstance(node.value, dict) and isinstance(p, str) and p in node.value:
                node = node.value[p]
            elif isinstance(node.value, list) and isinstance(p, int) and p < len(node.value):
                node = node.value[p]
            else:
                ok = False
                break
        last = path[-1]
        if ok:
            ok = (isinstance(node.value, dict) and isinstance(last, str)) or \
                 (isinstance(node.value, list) and isinstance(last, int) and last < len(node.value))
        if not ok:
            cands = _leaf_paths(tree)
            short = [c[len("processors."):] for c in cands if c.startswith("processors.")]
            near = difflib.get_close_matches(str(key), short + cands, n=5, cutoff=0.5)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise SchemaError(f"unknown override key {key!r}{hint}", file=where_file,
                              where=format_path(path))
        if isinstance(value, str) and f.type in ("number", "int", "bool"):
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                pass  # left as a string: validation reports the type error
        _own_parent(tree, path, fresh).value[last] = from_plain(value, where_file, None)
        done.append(path)
    new_clocks = {p: _num_at(tree, ("processors", p, "clock_ghz")) for p in old_clocks}
    for path in _clock_followers(tree, done, old_clocks, new_clocks):
        proc = path[1]
        parent = _own_parent(tree, path, fresh)
        node = parent.value["bw_gbs"]
        ratio = _num_at(tree, ("processors", proc, "clock_ghz")) / old_clocks[proc]
        parent.value["bw_gbs"] = Node(node.value * ratio, node.file, node.line, node.key_lines)
    return build_device(tree, stem, file, near_dir)


def _shallow(node: Node) -> Node:
    """A new node over a copy of `node`'s mapping or list (children shared), nothing derived."""
    v = node.value
    return Node(dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v,
                node.file, node.line, node.key_lines)


def _own_parent(tree: Node, path: tuple, fresh: set) -> Node:
    """The node holding `path`'s last step, after copying every node from `tree` (already
    this call's own) down to it that is not yet in `fresh` (ids of the nodes this call made)."""
    node = tree
    for p in path[:-1]:
        child = node.value[p]
        if id(child) not in fresh:
            child = _shallow(child)
            node.value[p] = child
            fresh.add(id(child))
        node = child
    return node


# On-chip caches move a fixed number of bytes per cycle of their processor's clock (the
# shipped specs derive bw_gbs as B/cycle x units x clock_ghz), so a clock override scales
# them; DRAM bandwidth has its own clock and stays. A cache bandwidth set explicitly in the
# same overrides is taken as given, at the new clock.

def _proc_names(tree: Node) -> list[str]:
    procs = tree.value.get("processors") if isinstance(tree.value, dict) else None
    return list(procs.value) if procs is not None and isinstance(procs.value, dict) else []


def _num_at(tree: Node, path: tuple):
    node = tree
    for p in path:
        if isinstance(node.value, dict) and isinstance(p, str) and p in node.value:
            node = node.value[p]
        elif isinstance(node.value, list) and isinstance(p, int) and 0 <= p < len(node.value):
            node = node.value[p]
        else:
            return None
    v = node.value
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _clock_followers(tree: Node, overridden: list[tuple], old_clocks: dict, new_clocks: dict) -> list[tuple]:
    """Paths ('processors', P, 'caches', i, 'bw_gbs') whose value follows a clock override."""
    out = []
    for proc, old in old_clocks.items():
        new = new_clocks.get(proc)
        if ("processors", proc, "clock_ghz") not in overridden:
            continue
        if not old or not new or old <= 0 or new <= 0 or new == old:
            continue  # nothing to scale, or validation reports the bad clock
        if any(p[:3] == ("processors", proc, "caches") and len(p) <= 4 for p in overridden):
            continue  # the cache list (or a whole level) was given: taken as is
        caches = tree.value["processors"].value[proc].value.get("caches")
        for i in range(len(caches.value) if caches is not None and isinstance(caches.value, list) else 0):
            path = ("processors", proc, "caches", i, "bw_gbs")
            if path not in overridden and _num_at(tree, path) is not None:
                out.append(path)
    return out


def clock_scaled_caches(device: Device, overrides: dict) -> list[str]:
    """The cache bandwidth keys (e.g. 'gpu.caches[0].bw_gbs') that `overrides` rescale with a
    processor clock, for reports to say so."""
    if device.raw is None or not overrides:
        return []
    tree = device.raw
    names = _proc_names(tree)
    old = {p: _num_at(tree, ("processors", p, "clock_ghz")) for p in names}
    paths, new = [], {}
    for key, value in overrides.items():
        try:
            path = _parse_override_key(key)
        except SchemaError:
            continue
        if path[0] in names and field("device", path[0]) is None:
            path = ("processors",) + path
        paths.append(path)
        if len(path) == 3 and path[2] == "clock_ghz":
            try:
                new[path[1]] = float(value)
            except (TypeError, ValueError):
                pass
    return [format_path(q[1:]) for q in _clock_followers(tree, paths, old, new)]


# ---------------------------------------------------------------- catalogue files
# The catalogue beside the device specs: CPU core types and runtime fits.
#
# - `hwspecs/cores/NAME.yaml`: one CPU microarchitecture (section `core` of the schema).
# - `hwspecs/fits/NAME.yaml` with a `runtime:` part: runtime fields keyed by core name or
#   isa_class (section `fit`), which a device runtime inherits with `fitted: NAME`. (Other
#   files in fits/, such as the GPU kernel model's pytorch.yaml, have their own readers.)
# - GPU architectures (`hwspecs/archs/`) are merged by `_with_archs` above, not here.
#
# Each is looked up in a `cores/` (`fits/`) folder next to the device file first,
# then under every folder of `hwspec_dirs()`. Files are validated with the same Field rows
# and one-line `FILE:LINE: path: message` errors as device specs, and cached by path and
# modification time (a what-if sweep re-validates a device thousands of times).

KINDS = {"core": "cores", "fit": "fits"}
# A fit's held-out error lives beside it (engine/held_out.companion_path): not a catalogue file.
HELD_OUT_SUFFIX = ".held_out.yaml"
_CATALOG_CACHE: dict = {}


def catalog_dirs(kind: str, near: Path | None = None) -> list[Path]:
    """Folders searched for catalogue files of `kind` (core | fit)."""
    sub = KINDS[kind]
    dirs = [near / sub] if near is not None else []
    return dirs + [d / sub for d in hwspec_dirs()]


def catalog_available(kind: str, near: Path | None = None) -> list[str]:
    seen: list[str] = []
    for d in catalog_dirs(kind, near):
        if d.is_dir():
            for f in sorted(d.glob("*.yaml")):
                if f.stem not in seen and not f.name.endswith(HELD_OUT_SUFFIX):
                    seen.append(f.stem)
    return seen


def find_catalog(kind: str, name: str, near: Path | None = None) -> Path | None:
    if not name or "/" in name or "\\" in name or name.startswith(".") or (name + ".yaml").endswith(HELD_OUT_SUFFIX):
        return None
    for d in catalog_dirs(kind, near):
        cand = d / f"{name}.yaml"
        if cand.is_file():
            return cand
    return None


def catalog_unknown_message(kind: str, name: str, near: Path | None = None) -> str:
    names = catalog_available(kind, near)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (f"unknown {kind} {name!r}{hint}; {KINDS[kind]}/ has {len(names)} files"
            + (f": {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}" if names else ""))


def _key(path: Path):
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def _checked(kind: str, path: Path) -> dict:
    """Read (following extends), validate against SECTIONS[kind] and check name == stem."""
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
    key = ("core",) + _key(path)
    if key in _CATALOG_CACHE:
        return _CATALOG_CACHE[key]
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
    _CATALOG_CACHE[key] = core
    return core


def load_fit(path: Path):
    """(validated fit dict, merged tree) of one fit file (cached). The tree's nodes keep
    their lines so a merged runtime's errors point into the fit file."""
    key = ("fit",) + _key(path)
    if key not in _CATALOG_CACHE:
        d = _checked("fit", path)
        _CATALOG_CACHE[key] = (d, _load_tree(path))
    return _CATALOG_CACHE[key]


def check_catalog_file(path) -> object:
    """Validate one catalogue file by its folder (cores/ or fits/): for tests and
    `augur hw check`. Raises SchemaError / ParseError."""
    p = Path(path)
    kind = {v: k for k, v in KINDS.items()}.get(p.parent.name)
    if kind is None:
        raise SchemaError("not in a cores/ or fits/ folder", file=str(p))
    return {"core": load_core, "fit": load_fit}[kind](p)
