"""Issue 14 item 12: the Python API as a user meets it: documented, typed signatures,
records and DataFrames, short reprs, units named in keys, bf16."""
import inspect
import json
import sys

import pytest

import augur_sim
from augur_sim.errors import AugurError
from augur_sim.estimator import estimate


def test_estimate_signature_and_doc_are_the_real_ones():
    sig = inspect.signature(augur_sim.estimate)
    for p in ("net", "hw", "processor", "batch", "precision", "threads", "policy", "runtime", "runtime_mib"):
        assert p in sig.parameters, p
    assert sig.parameters["precision"].default == "fp32"
    assert sig.parameters["net"].annotation != inspect.Parameter.empty
    doc = inspect.getdoc(augur_sim.estimate)
    for word in ("precision_used", "time_s", "time_ms", "Raises"):
        assert word in doc, word


def test_estimate_records_match_json_and_totals():
    e = estimate("resnet18", "jetson_nano")
    recs = e.to_records()
    d = e.to_dict()
    assert len(recs) == len(d["layers"]) == len(e.layers)
    assert all(r["net"] == "resnet18" and r["hw"] == "jetson_nano" and r["precision_used"] == "fp32" for r in recs)
    # Units: objects in s and J, records and JSON in ms and mJ, named by their keys.
    assert sum(r["time_ms"] for r in recs) == pytest.approx(e.total.time_s * 1e3, rel=1e-12)
    assert sum(r["energy_mj"] for r in recs) == pytest.approx(e.total.energy_j * 1e3, rel=1e-12)
    assert recs[1]["output_shape"] == "x".join(map(str, e.layers[1].output_shape))
    json.dumps(recs)  # plain data only


def test_to_dataframe_with_and_without_pandas(monkeypatch):
    pd = pytest.importorskip("pandas")
    e = estimate("resnet18", "jetson_nano")
    df = e.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == len(e.layers)
    assert df["time_ms"].sum() == pytest.approx(e.total.time_s * 1e3)
    nc = augur_sim.analyze("resnet18")
    assert nc.to_dataframe()["macs"].sum() == nc.total.macs
    monkeypatch.setitem(sys.modules, "pandas", None)   # as if not installed
    with pytest.raises(AugurError, match="needs pandas.*to_records"):
        e.to_dataframe()


def test_analyze_result_has_to_dict_and_a_short_repr(capsys):
    nc = augur_sim.analyze("mobilenet_v2")
    r = repr(nc)
    assert len(r) < 200 and "mobilenet_v2" in r and f"{nc.total.macs:,}" in r
    d = nc.to_dict()
    from augur_sim.cli import main
    assert main(["analyze", "mobilenet_v2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(d))
    recs = nc.to_records()
    assert sum(r["macs"] for r in recs) == nc.total.macs


def test_estimate_repr_is_short():
    e = estimate("mobilenet_v2", "jetson_tx2", precision="int8")
    r = repr(e)
    assert len(r) < 250 and "ms" in r and "MiB" in r
    assert ("used fp16" in r) == (e.precision_used == "fp16")


def test_bf16_accepted_and_costed_at_what_the_hardware_has():
    e = estimate("resnet18", "jetson_nano", precision="bf16")   # Maxwell: no bf16, fp16 rate
    assert e.precision == "bf16" and e.precision_used == "fp16" and e.warnings
    f16 = estimate("resnet18", "jetson_nano", precision="fp16")
    assert e.total.time_s == f16.total.time_s


@pytest.mark.parametrize("prec, why", [("tf32", "GEMM mode"), ("fp64", "not an inference precision"),
                                       ("fp8", "expected one of")])
def test_precisions_refused_with_a_reason(prec, why):
    with pytest.raises(AugurError, match=why):
        estimate("resnet18", "jetson_nano", precision=prec)


def test_input_shape_on_a_loaded_network_is_refused_not_dropped():
    """A loaded network's shapes were inferred when it was built: estimate(g, ..., input_shape=)
    used to return the 224 px answer (4.09 G MACs) under a 160 px request. Another resolution is
    refused; the same shape at another batch re-batches; the name with the shape works."""
    g = augur_sim.load_net("resnet50")
    with pytest.raises(augur_sim.AugurError, match="already loaded at 1x3x224x224"):
        augur_sim.estimate(g, "jetson_tx2", processor="gpu", input_shape=(1, 3, 160, 160))
    with pytest.raises(augur_sim.AugurError, match="already loaded"):
        augur_sim.analyze(g, input_shape=(1, 3, 160, 160))
    assert augur_sim.estimate(g, "jetson_tx2", processor="gpu", input_shape=(4, 3, 224, 224)).batch == 4
    small = augur_sim.estimate("resnet50", "jetson_tx2", processor="gpu", input_shape=(1, 3, 160, 160))
    assert small.total.macs < 0.6 * augur_sim.estimate(g, "jetson_tx2", processor="gpu").total.macs


@pytest.mark.parametrize("call, fragment", [
    (lambda: augur_sim.estimate("resnet50", "jetson_tx2", input_shape="1x3x224x224"), "got the string '1x3x224x224'"),
    (lambda: augur_sim.estimate("resnet50", "jetson_tx2", input_shape=5), "got int"),
    (lambda: augur_sim.estimate("resnet50", "jetson_tx2", input_shape=(1, 3, -2, 2)), "dimension -2 must be positive"),
    (lambda: augur_sim.load_net(""), "a network is needed"),
    (lambda: augur_sim.estimate("resnet50", None), "hardware must be a name from `augur hw list`"),
    (lambda: augur_sim.estimate("resnet50", "jetson_tx2", threads=-2), "processor 'gpu' is a GPU (got -2)"),
])
def test_api_misuse_is_one_augur_error_about_the_argument(call, fragment):
    with pytest.raises(augur_sim.AugurError) as e:
        call()
    assert fragment in str(e.value) and "\n" not in str(e.value)
    assert augur_sim.AugurError is AugurError
