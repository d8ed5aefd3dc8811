"""augur-sim's counting beside other tools' on the same ONNX files, in the same run.

Pairs (report.py prints augur / peer time per pair, matched by extra_info["pair"]):
- augur: load_onnx + count_net (ONNX file -> shape-inferred graph -> MACs, params per layer).
- onnx-tool: Model(file) + graph_reorder_nodes + shape_infer + profile, what its
  model_profile does minus printing the table (MACs, params, memory per node).
- fvcore / ptflops (PyTorch model counters), only where torch and they are installed:
  they count a torch module, so the module is built from the same graph (augur_sim.measure.torchexec)
  outside the timing; they trace or run the network. Skipped, with the reason, otherwise.
- torch.utils.flop_counter.FlopCounterMode (in PyTorch itself) likewise, where torch is
  installed: it counts by running one forward pass.
"""
from __future__ import annotations

import pytest
from benchutil import SIZE_IDS, SIZES, label

from augur_sim.counts import count_net
from augur_sim.frontends.onnx import load_onnx


def _augur_count(path):
    return count_net(load_onnx(path))


@pytest.mark.parametrize("size", SIZE_IDS)
def test_augur_onnx_count(benchmark, size, onnx_models):
    net = SIZES[size][0]
    nc = benchmark(_augur_count, onnx_models[net])
    label(benchmark, "augur: import .onnx + count_net", net, size, pair=f"count:{net}", role="augur",
          tool="augur-sim", macs=nc.total.macs, params=nc.total.params)
    assert nc.total.macs > 0


def _onnx_tool_profile(path):
    import onnx_tool
    m = onnx_tool.Model(str(path), {"verbose": False})
    g = m.graph
    g.graph_reorder_nodes()
    g.shape_infer()
    g.profile()
    return g


@pytest.mark.parametrize("size", SIZE_IDS)
def test_onnx_tool_profile(benchmark, size, onnx_models):
    pytest.importorskip("onnx_tool", reason="onnx-tool not installed (pip install -e '.[bench]')")
    net = SIZES[size][0]
    path = onnx_models[net]
    g = benchmark.pedantic(_onnx_tool_profile, args=(path,), rounds=5 if size != "medium" else 3,
                           warmup_rounds=0)
    label(benchmark, "onnx-tool: load + shape_infer + profile", net, size, pair=f"count:{net}",
          role="peer", tool="onnx-tool", macs=int(g.macs[0]), params=int(g.params))
    # onnx-tool adds bias adds and element-wise ops to its MACs: never fewer than augur's.
    assert g.macs[0] >= _augur_count(path).total.macs


def _torch_module(net):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: torch-based peers skipped")
    from augur_sim.frontends import load_net
    from augur_sim.measure.torchexec import build_module, random_inputs
    g = load_net(net)
    mod = build_module(g).eval()
    return torch, g, mod, random_inputs(g)


@pytest.mark.parametrize("size", SIZE_IDS)
def test_torch_flop_counter(benchmark, size):
    net = SIZES[size][0]
    torch, g, mod, xs = _torch_module(net)
    from torch.utils.flop_counter import FlopCounterMode

    def run():
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            mod(*xs)
        return fc.get_total_flops()
    flops = benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    label(benchmark, "torch FlopCounterMode: one forward pass", net, size, pair=f"count:{net}",
          role="peer", tool="torch.utils.flop_counter", flops=int(flops))
    assert flops > 0


@pytest.mark.parametrize("size", SIZE_IDS)
def test_fvcore_count(benchmark, size):
    pytest.importorskip("torch", reason="PyTorch not installed: torch-based peers skipped")
    fv = pytest.importorskip("fvcore.nn", reason="fvcore not installed: its count is skipped "
                             "(not a project dependency)")
    net = SIZES[size][0]
    torch, g, mod, xs = _torch_module(net)
    total = benchmark.pedantic(lambda: fv.FlopCountAnalysis(mod, tuple(xs)).total(), rounds=3,
                               warmup_rounds=0)
    label(benchmark, "fvcore FlopCountAnalysis (trace)", net, size, pair=f"count:{net}", role="peer",
          tool="fvcore", macs=int(total))
    assert total > 0


@pytest.mark.parametrize("size", SIZE_IDS)
def test_ptflops_count(benchmark, size):
    pytest.importorskip("torch", reason="PyTorch not installed: torch-based peers skipped")
    ptf = pytest.importorskip("ptflops", reason="ptflops not installed: its count is skipped "
                              "(not a project dependency)")
    net = SIZES[size][0]
    torch, g, mod, xs = _torch_module(net)
    shape = tuple(g.tensors[g.inputs[0]].shape[1:])

    def run():
        return ptf.get_model_complexity_info(mod, shape, as_strings=False, print_per_layer_stat=False,
                                             verbose=False)
    macs, params = benchmark.pedantic(run, rounds=3, warmup_rounds=0)
    label(benchmark, "ptflops get_model_complexity_info", net, size, pair=f"count:{net}", role="peer",
          tool="ptflops", macs=int(macs))
    assert macs > 0
