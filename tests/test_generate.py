"""Generated architectures: deterministic, buildable, counts move the right way."""
import json

import pytest

from augur_sim.counts import count_net
from augur_sim.errors import AugurError
from augur_sim.explore.generate import FAMILIES, build, generate, parse_generate, sample_params


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
    from augur_sim.explore import generate as G
    for g in generate("resnet", 40, seed=5):
        p = g.params
        assert p["resolution"] in G.RESNET_RESOLUTIONS
        assert all(lo <= d <= hi for d, (lo, hi) in zip(p["depths"], G.RESNET_DEPTHS))
        assert set(p["kernels"]) <= set(G.RESNET_KERNELS)
        assert G.RESNET_GROWTH[0] <= p["growth"] <= G.RESNET_GROWTH[1]
    for g in generate("mobilenet", 40, seed=5):
        p = g.params
        assert G.MBV2_WIDTH_MULT[0] <= p["width_mult"] <= G.MBV2_WIDTH_MULT[1]
        assert p["expansions"][0] == 1 and set(p["expansions"][1:]) <= set(G.MBV2_EXPANSIONS)
        assert set(p["kernels"]) <= set(G.MBV2_KERNELS)


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
