"""Generated architectures: deterministic, buildable, counts move the right way."""
import json

import pytest

from augur_sim.counts import count_net
from augur_sim.errors import AugurError
from augur_sim.explore.generate import generate, parse_generate
from augur_sim.frontends.generated import FAMILIES, build, sample_params


@pytest.mark.parametrize("family", FAMILIES)
def test_deterministic_for_a_seed(family):
    a = generate(family, 6, seed=11)
    b = generate(family, 6, seed=11)
    assert [g.params for g in a] == [g.params for g in b]
    # Network i does not depend on how many were asked for (workers rebuild one at a time).
    assert generate(family, 3, seed=11, start=3)[0].params == a[3].params
    c = generate(family, 6, seed=12)
    assert [g.params for g in a] != [g.params for g in c]
    # Same graph twice: same counts.
    assert count_net(a[2].graph()).total == count_net(b[2].graph()).total


@pytest.mark.parametrize("family", FAMILIES)
def test_every_generated_graph_builds(family):
    for g in generate(family, 12, seed=3):
        graph = g.graph(batch=2)
        assert graph.batch == 2
        tot = count_net(graph).total
        assert tot.macs > 0 and tot.params > 0
        out = graph.tensors[graph.outputs[0]].shape
        assert out == (2, 1000)
        flat = g.flat()
        assert json.loads(flat["gen_params"]) == g.params
        assert flat["gen_blocks"] == sum(g.params["depths"])


def test_params_stay_in_documented_ranges():
    from augur_sim.frontends import generated as G
    for g in generate("resnet", 40, seed=5):
        p = g.params
        assert p["resolution"] in G.RESNET_RESOLUTIONS
        assert all(lo <= d <= hi for d, (lo, hi) in zip(p["depths"], G.RESNET_DEPTHS[p["block"]]))
        assert set(p["kernels"]) <= set(G.RESNET_KERNELS)
        assert p["widths"] == [p["base_width"] * 2 ** i for i in range(4)]
    for g in generate("mobilenet", 40, seed=5):
        p = g.params
        assert G.MBV2_WIDTH_MULT[0] <= p["width_mult"] <= G.MBV2_WIDTH_MULT[1]
        assert p["expansions"][0] == 1 and set(p["expansions"][1:]) <= set(G.MBV2_EXPANSIONS)
        assert set(p["kernels"]) <= set(G.MBV2_KERNELS)
        assert all(lo <= d <= hi for d, (lo, hi) in zip(p["depths"], G.MBV2_DEPTHS))


def _doc_bounds() -> dict:
    """The bounds table of docs/SWEEPS.md: family -> (GMACs min, max, M params min, max)."""
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "SWEEPS.md").read_text()
    rows = re.findall(r"^\| (resnet|mobilenet) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", text, re.M)
    return {r[0]: tuple(float(x) for x in r[1:]) for r in rows}


@pytest.mark.parametrize("family", FAMILIES)
def test_space_bounds_are_the_documented_ones_and_hold_for_samples(family):
    from augur_sim.explore.generate import space_bounds
    b = space_bounds(family)
    doc = _doc_bounds()[family]
    got = (b.macs_min / 1e9, b.macs_max / 1e9, b.params_min / 1e6, b.params_max / 1e6)
    for d, g in zip(doc, got):
        assert d == pytest.approx(g, rel=5e-3), (family, doc, got)
    for g in generate(family, 40, seed=9):
        t = count_net(g.graph()).total
        assert b.macs_min <= t.macs <= b.macs_max and b.params_min <= t.params <= b.params_max, g.name


def test_space_is_bounded_by_the_published_networks():
    """The largest ResNet of the space is ResNet-152 (He et al. 2016) at 256 px; ResNet-18,
    ResNet-50 and MobileNetV2 1.0 are points of the space, count for count."""
    from augur_sim.explore.generate import space_bounds
    from augur_sim.frontends.generated import corner_params
    from augur_sim.frontends import load_net
    r152 = count_net(load_net("resnet152", input_shape=(1, 3, 256, 256))).total
    b = space_bounds("resnet")
    assert (b.macs_max, b.params_max) == (r152.macs, r152.params)
    assert b.macs_max < 16e9 and b.params_max < 61e6      # not the 120 GMACs / 599 M of before
    for zoo, block, depths in (("resnet18", "basic", [2, 2, 2, 2]), ("resnet50", "bottleneck", [3, 4, 6, 3])):
        p = dict(corner_params("resnet", True, block), resolution=224, depths=depths)
        assert _mp(build("resnet", p)) == _mp(load_net(zoo)), zoo
    p = dict(corner_params("mobilenet", False), resolution=224, width_mult=1.0, stem_width=32,
             widths=[16, 24, 32, 64, 96, 160, 320], depths=[1, 2, 3, 4, 3, 3, 1], expansions=[1] + [6] * 6,
             kernels=[3] * 7, last_width=1280)
    assert _mp(build("mobilenet", p)) == _mp(load_net("mobilenet_v2"))


def _mp(graph):
    t = count_net(graph).total
    return t.macs, t.params, t.stat_params


@pytest.mark.parametrize("family", FAMILIES)
def test_macs_and_params_grow_with_width(family):
    p = sample_params(family, 7, 0)
    wide = dict(p)
    wide["widths"] = [w * 2 for w in p["widths"]]
    if family == "mobilenet":
        wide["last_width"] = p["last_width"] * 2
    small, big = count_net(build(family, p)).total, count_net(build(family, wide)).total
    assert big.macs > small.macs
    assert big.params > small.params


def test_macs_grow_with_depth_and_resolution():
    p = sample_params("resnet", 1, 0)
    deeper = dict(p, depths=[d + 1 for d in p["depths"]])
    bigger = dict(p, resolution=p["resolution"] + 64)
    base = count_net(build("resnet", p)).total.macs
    assert count_net(build("resnet", deeper)).total.macs > base
    assert count_net(build("resnet", bigger)).total.macs > base


def test_se_adds_layers_and_params():
    p = sample_params("mobilenet", 2, 0)
    off = dict(p, se=[False] * 7)
    on = dict(p, se=[True] * 7)
    g_off, g_on = build("mobilenet", off), build("mobilenet", on)
    assert len(g_on) > len(g_off)
    assert any(l.attrs.get("fn") == "sigmoid" for l in g_on.layers())
    assert count_net(g_on).total.params > count_net(g_off).total.params


@pytest.mark.parametrize("bad", ["resnet", "vit:3", "resnet:0", "resnet:x", "resnet:-2", "mobilenet:10000000"])
def test_parse_generate_rejects(bad):
    with pytest.raises(AugurError):
        parse_generate(bad)


def test_parse_generate_ok():
    assert parse_generate("mobilenet:25") == ("mobilenet", 25)
