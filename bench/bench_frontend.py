"""Front half of the pipeline: parsing, graph building, counting, ONNX import.

Each benchmark times one stage on its own with its inputs prepared outside the timing
(file text read once, graph loaded once), for a small, a medium and a large network.
"""
from __future__ import annotations

import dataclasses

import pytest
from benchutil import SIZE_IDS, SIZES, label, prototxt_path

from augur_sim.counts import count_net
from augur_sim.frontends import load_net
from augur_sim.frontends.caffe import load_caffe_text
from augur_sim.frontends.onnx import load_onnx
from augur_sim.frontends.prototxt import parse
from augur_sim.frontends.yamlnet import load_yamlnet
from augur_sim.graph import GraphBuilder


@pytest.mark.parametrize("size", SIZE_IDS)
def test_parse_prototxt(benchmark, size):
    """Caffe text -> protobuf-text message tree (no graph yet)."""
    path = prototxt_path(SIZES[size][1])
    text = path.read_text()
    msg = benchmark(parse, text, str(path))
    label(benchmark, "parse .prototxt text", path.stem, size)
    assert msg.getall("layer") or msg.getall("layers")


@pytest.mark.parametrize("size", SIZE_IDS)
def test_load_prototxt(benchmark, size):
    """Caffe text -> shape-inferred LayerGraph (parse + build)."""
    path = prototxt_path(SIZES[size][1])
    text = path.read_text()
    g = benchmark(load_caffe_text, text, str(path), None, path.stem)
    label(benchmark, "parse + build .prototxt", path.stem, size)
    assert len(g) > 10


@pytest.mark.parametrize("size", SIZE_IDS)
def test_load_yaml(benchmark, size):
    """The zoo's YAML descriptor -> LayerGraph (read, parse, expand, build)."""
    net = SIZES[size][0]
    from augur_sim.frontends import resolve_net
    path = resolve_net(net)
    g = benchmark(load_yamlnet, path)
    label(benchmark, "load zoo .yaml", net, size)
    assert len(g) > 10


@pytest.mark.parametrize("size", SIZE_IDS)
def test_build_graph(benchmark, size):
    """GraphBuilder.build alone: edges, topological order, shape inference of every layer.
    The builder is filled once with the frontend's layers (weights cleared, as a frontend
    leaves them); build() does not change it, so each round redoes the same work."""
    net = SIZES[size][0]
    g0 = load_net(net)
    b = GraphBuilder(g0.name, g0.source_file)
    for name in g0.order:
        b.add_layer(dataclasses.replace(g0.layer(name), params=()))
    g = benchmark(b.build)
    label(benchmark, "GraphBuilder.build", net, size)
    assert g.order == g0.order and g.tensors.keys() == g0.tensors.keys()


@pytest.mark.parametrize("size", SIZE_IDS)
def test_count(benchmark, size):
    """count_net: MACs, FLOPs, parameters and activation sizes of every layer."""
    net = SIZES[size][0]
    g = load_net(net)
    nc = benchmark(count_net, g)
    label(benchmark, "count_net", net, size)
    assert nc.total.macs > 0 and nc.total.params > 0


@pytest.mark.parametrize("size", SIZE_IDS)
def test_import_onnx(benchmark, size, onnx_models):
    """ONNX file (with weights) -> LayerGraph: structure-only read (weights skipped), ONNX
    shape inference, translation, build."""
    net = SIZES[size][0]
    path = onnx_models[net]
    g = benchmark(load_onnx, path)
    label(benchmark, "import .onnx", net, size)
    assert len(g) > 10


def test_target_resnet152_prototxt_parse_build_count(benchmark):
    """Issue target: ResNet-152's .prototxt from disk to per-layer counts in under 30 ms."""
    path = prototxt_path("resnet152")

    def run():
        from augur_sim.frontends.caffe import load_caffe
        return count_net(load_caffe(path))
    nc = benchmark(run)
    label(benchmark, "read + parse + build + count .prototxt", "resnet152", "large", target_s=0.030)
    # ResNet-152 at 224x224: about 11.5 G multiply-accumulates, 60 M parameters.
    assert 11e9 < nc.total.macs < 12e9 and 59e6 < nc.total.params < 61e6


@pytest.mark.parametrize("size", SIZE_IDS)
def test_import_onnx_stripped(benchmark, size, onnx_stripped):
    """The same as test_import_onnx on a copy of the file without its weights (tensors
    over 4 KB moved to an absent external file): the structure-only read makes the two
    cost about the same."""
    net = SIZES[size][0]
    g = benchmark(load_onnx, onnx_stripped[net])
    label(benchmark, "import .onnx, weights stripped", net, size)
    assert len(g) > 10


def test_target_onnx_external_data_3gb(benchmark, onnx_external_3gb):
    """Issue 14: a model whose external weight file is over 2 GB (3.0 GB, sparse) opens in
    well under a second; the external file is never read."""
    g = benchmark(load_onnx, onnx_external_3gb)
    label(benchmark, "import .onnx with a 3.0 GB external data file", "fc 30000x25000", target_s=0.1)
    assert len(g) == 2
