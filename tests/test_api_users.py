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
