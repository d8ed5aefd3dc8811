"""apply_overrides checks and builds only what an override changes (hw/load.py: the new tree
copies the nodes on the override's path, and the subtrees it shares with the loaded spec
keep what was checked and built from them). Pinned here against the full rebuild (the same
overrides on a copy of the spec tree, in which nothing was checked yet): for every field of
a few shipped specs (GPUs, a GPU with an architecture file, clustered CPUs with fitted
runtimes), a changed value gives an equal device and bit-identical hardware rows, and a
negative, zero or absurd value the same one-line error."""
from __future__ import annotations

import dataclasses

import pytest

from augur_sim.errors import AugurError
from augur_sim.evaluate import resolve_target
from augur_sim.graph import PRECISIONS
from augur_sim.hw import SECTIONS, apply_overrides, load_hw
from augur_sim.hw.yamlsrc import Node, format_path

DEVICES = ["jetson_tx2", "nvidia_a100", "allwinner_t527", "amd_epyc_7742"]


def copy_tree(node: Node) -> Node:
    """A deep copy of a spec tree: new nodes, nothing derived from them yet."""
    if isinstance(node.value, dict):
        return Node({k: copy_tree(v) for k, v in node.value.items()}, node.file, node.line)
    if isinstance(node.value, list):
        return Node([copy_tree(v) for v in node.value], node.file, node.line)
    return Node(node.value, node.file, node.line)


def _leaves(node: Node, path: tuple = ()):
    """(path, value) of every scalar in a spec tree."""
    if isinstance(node.value, dict):
        for k, v in node.value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node.value, list):
        for i, v in enumerate(node.value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, node.value


def _changed(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v * 2
    if isinstance(v, float):
        return v * 1.25
    return f"{v}x"


def _outcome(dev, overrides):
    try:
        return apply_overrides(dev, overrides)
    except AugurError as e:
        return f"{type(e).__name__}: {e}"


def _rows(dev) -> dict:
    """Every processor x runtime x precision's hardware row as bytes (or the error)."""
    out = {}
    for pname, proc in dev.processors.items():
        for rname in proc.runtimes:
            t = resolve_target(dev, pname, rname)
            for prec in PRECISIONS:
                try:
                    out[pname, rname, prec] = t.row(prec).tobytes()
                except AugurError as e:
                    out[pname, rname, prec] = str(e)
    return out


def _same(fast, full) -> None:
    assert isinstance(fast, str) == isinstance(full, str), (fast, full)
    if isinstance(full, str):
        assert fast == full
        return
    assert fast == full and fast.host == full.host
    assert copy_tree(fast.raw) == copy_tree(full.raw)
    for name, proc in full.processors.items():
        assert fast.processors[name].fitted == proc.fitted
    assert _rows(fast) == _rows(full)


def _full(base, overrides):
    # The reference: nothing in a copied tree has been checked, so all of it is, and every
    # processor is built again.
    return _outcome(dataclasses.replace(base, raw=copy_tree(base.raw)), overrides)


@pytest.mark.parametrize("name", DEVICES)
def test_every_field_changed_gives_the_full_rebuild(name):
    base = load_hw(name)
    before = copy_tree(base.raw)
    valid = 0
    for path, v in _leaves(base.raw):
        ov = {format_path(path): _changed(v)}
        fast = _outcome(base, ov)
        _same(fast, _full(base, ov))
        valid += not isinstance(fast, str)
    assert copy_tree(base.raw) == before  # the loaded spec is never changed
    assert valid > len(list(_leaves(base.raw))) // 2  # the comparison saw devices, not only errors


def _plain(node: Node):
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    return node.value


@pytest.mark.parametrize("name", DEVICES)
def test_added_fields_and_whole_sections_give_the_full_rebuild(name):
    # Fields the spec leaves out (a runtime's, whether its own or inherited from a fit file)
    # and whole sections given as a mapping or list.
    base = load_hw(name)
    cases = []
    for pname, pnode in base.raw.value["processors"].value.items():
        for rname, rnode in pnode.value["runtimes"].value.items():
            for f in SECTIONS["runtime"]:
                if f.type == "number" and f.name not in rnode.value:
                    cases.append({f"{pname}.runtimes.{rname}.{f.name}": 0.5})
        caches = _plain(pnode.value["caches"])
        if caches:
            caches[-1]["bw_gbs"] *= 2
            cases.append({f"{pname}.caches": caches})
        cases.append({f"{pname}.energy": {**_plain(pnode.value["energy"]), "static_w": 3.0}})
    assert len(cases) > 5
    for ov in cases:
        _same(_outcome(base, ov), _full(base, ov))


@pytest.mark.parametrize("name", DEVICES)
def test_bad_numbers_give_the_full_rebuilds_error(name):
    base = load_hw(name)
    refused = 0
    for path, v in _leaves(base.raw):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        for bad in (-1, 0, 1e30):
            ov = {format_path(path): bad}
            fast = _outcome(base, ov)
            _same(fast, _full(base, ov))
            refused += isinstance(fast, str)
    assert refused > 40


def test_negative_clock_is_refused_naming_the_yaml_path():
    with pytest.raises(AugurError) as e:
        apply_overrides(load_hw("jetson_tx2"), {"gpu.clock_ghz": -1.3})
    assert "processors.gpu.clock_ghz" in str(e.value) and "-1.3" in str(e.value)


def test_an_override_rebuilds_only_its_processor():
    base = load_hw("jetson_tx2")
    dev = apply_overrides(base, {"gpu.clock_ghz": 1.0})
    assert dev.processors["gpu"] is not base.processors["gpu"]
    assert dev.processors["gpu"].clock_ghz == 1.0
    others = [p for p in base.processors if p != "gpu"]
    assert others and all(dev.processors[p] is base.processors[p] for p in others)
    # Within the GPU, the subtrees the clock leaves alone are the loaded spec's nodes; the
    # cache bandwidths it scales (bytes per cycle) are new ones.
    gpu, gpu0 = dev.raw.value["processors"].value["gpu"], base.raw.value["processors"].value["gpu"]
    assert gpu.value["runtimes"] is gpu0.value["runtimes"]
    assert gpu.value["caches"] is not gpu0.value["caches"]
    assert dev == _full(base, {"gpu.clock_ghz": 1.0})


def test_overrides_of_an_overridden_device_compose():
    base = load_hw("nvidia_a100")
    two = apply_overrides(apply_overrides(base, {"gpu.clock_ghz": 1.2}), {"gpu.dram_bw_gbs": 900.0})
    one = _full(base, {"gpu.clock_ghz": 1.2, "gpu.dram_bw_gbs": 900.0})
    _same(two, one)
