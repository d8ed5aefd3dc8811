"""`augur validate --processor gpu`: the comparison and the report without a GPU (a synthetic
measurement), the refusal where PyTorch/CUDA is missing, and the runner's freeing rule."""
import importlib.util
import json

import pytest

from augur_sim import estimate
from augur_sim.cli import main
from augur_sim.frontends import load_net
from augur_sim.graph import rebatch
from augur_sim.hw import load_hw
from augur_sim.measure.gpuvalidate import Measured, compare, gpu_validate_dict, gpu_validate_table
from augur_sim.measure.torchexec import last_use_drops

HAS_CUDA = False
if importlib.util.find_spec("torch") is not None:
    import torch
    HAS_CUDA = torch.cuda.is_available()


def _measured(times_ms, alloc_mib, res_mib, used_mib=900, sms=132):
    return Measured("NVIDIA H200", sms, "2.11.0", tuple(t * 1e-3 for t in times_ms),
                    int(alloc_mib * 2**20), int(res_mib * 2**20), int(used_mib * 2**20))


def test_compare_uses_the_runtime_memory_model_and_the_median_time():
    g = rebatch(load_net("resnet18"), 16)
    dev = load_hw("nvidia_h200")
    est = estimate(g, dev, processor="gpu", runtime="pytorch-eager", precision="fp16")
    extra = est.runtime_memory.extra
    m = _measured([3.0, 1.0, 2.0], extra["max_memory_allocated"] / 2**20 / 1.25,
                  extra["max_memory_reserved"] / 2**20 * 2, used_mib=est.total.peak_memory_bytes / 2**20 / 2)
    v = compare(g, dev, est, "pytorch-eager", "fp16", m)
    assert v.batch == 16 and v.runs == 3
    assert v.measured_s == pytest.approx(2e-3) and v.measured_min_s == pytest.approx(1e-3)
    assert v.error_pct == pytest.approx(100 * (est.total.time_s / 2e-3 - 1))
    assert v.memory.allocated_error == pytest.approx(0.25, abs=1e-6)
    assert v.memory.reserved_error == pytest.approx(-0.5, abs=1e-6)
    assert v.memory.device_error == pytest.approx(1.0, abs=1e-6)
    text = gpu_validate_table(v)
    assert "+25.0%" in text and "-50.0%" in text and "pytorch-eager, fp16, batch 16" in text
    d = json.loads(json.dumps(gpu_validate_dict(v)))
    assert d["memory"]["predicted_max_memory_allocated_bytes"] == int(extra["max_memory_allocated"])
    assert d["total"]["measured_ms"] == pytest.approx(2.0)


def test_a_runtime_without_a_pytorch_memory_model_is_refused():
    g = load_net("resnet18")
    dev = load_hw("nvidia_h200")
    est = estimate(g, dev, processor="gpu", runtime="cudnn")
    if est.runtime_memory is not None and "max_memory_allocated" in est.runtime_memory.extra:
        pytest.skip("the cudnn runtime of this spec has a PyTorch memory model")
    from augur_sim.errors import AugurError
    with pytest.raises(AugurError, match="no PyTorch memory model"):
        compare(g, dev, est, "cudnn", "fp32", _measured([1.0], 10, 20))


@pytest.mark.skipif(HAS_CUDA, reason="this machine has PyTorch with a CUDA GPU")
def test_cli_without_pytorch_or_cuda_is_one_line_exit_2(capsys):
    rc = main(["validate", "resnet18", "--hw", "nvidia_h200", "--processor", "gpu", "--runtime", "pytorch-eager"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "PyTorch" in err[0] or "CUDA" in err[0]


def test_cpu_validate_refuses_fp16(capsys):
    rc = main(["validate", "resnet18", "--hw", "raspberry_pi_4", "--precision", "fp16"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "fp32" in err[0]


def test_runner_frees_each_tensor_after_its_last_reader():
    g = load_net("resnet18")
    layers = [g.layer(n) for n in g.order if g.layer(n).op != "input"]
    drops = last_use_drops(layers, list(g.outputs))
    pos = {l.name: i for i, l in enumerate(layers)}
    dropped_at = {t: i for i, ts in enumerate(drops) for t in ts}
    for t, i in dropped_at.items():
        readers = [pos[c] for c in g.consumers(t)]
        assert max(readers) == i, t          # dropped right after its last reader, not before
    assert not set(dropped_at) & set(g.outputs)
    # a residual block's input is read by the shortcut add: it lives until that add
    adds = [l for l in layers if l.op in ("eltwise", "add")]
    assert adds and all(any(t in dropped_at for t in a.inputs) for a in adds)
