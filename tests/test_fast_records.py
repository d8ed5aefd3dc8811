"""The hot frozen records built without the dataclass constructor's per-field
object.__setattr__ (Counts, LayerCount, TensorInfo: their own __init__; Layer:
graph.new_layer) stay what the dataclass would build: same fields, same defaults, still
frozen, equal to a record made field by field."""
from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from augur_sim.counts import LayerCount
from augur_sim.graph import Layer, SourceLoc, TensorInfo, new_layer
from augur_sim.ops.counts import Counts


@pytest.mark.parametrize("cls", [Counts, LayerCount, TensorInfo])
def test_init_signature_follows_the_fields(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields):
        want = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert p.default == want, f.name


def _values(cls):
    return {f.name: (f"v_{f.name}", i) for i, f in enumerate(dataclasses.fields(cls))}


@pytest.mark.parametrize("cls", [Counts, LayerCount, TensorInfo])
def test_records_hold_what_they_were_given_and_stay_frozen(cls):
    vals = _values(cls)
    a, b = cls(**vals), cls(*vals.values())
    assert a == b and hash(a) == hash(b)
    assert dataclasses.asdict(a) == vals
    for k, v in vals.items():
        assert getattr(a, k) == v
    name = next(iter(vals))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(a, name, 1)
    assert pickle.loads(pickle.dumps(a)) == a
    changed = dataclasses.replace(a, **{name: "other"})
    assert getattr(changed, name) == "other" and changed != a


def test_counts_defaults_and_sum():
    c = Counts(macs=3, params=2)
    assert (c.macs, c.flops, c.params, c.stat_params, c.in_elems, c.out_elems, c.weight_elems) == \
        (3, 0, 2, 0, 0, 0, 0)
    assert c + Counts(1, 2, 3, 4, 5, 6, 7) == Counts(4, 2, 5, 4, 5, 6, 7)


def test_new_layer_is_the_layer_the_constructor_builds():
    fields = [f.name for f in dataclasses.fields(Layer)]
    params = list(inspect.signature(new_layer).parameters)
    assert params == fields  # new_layer writes exactly the dataclass's fields, in order
    args = ("c1", "conv", {"kernel": (3, 3)}, ("x",), ("y",), SourceLoc("m.onnx", None), False,
            ((8, 3, 3, 3),), "Conv")
    a, b = new_layer(*args), Layer(*args)
    assert type(a) is Layer and a == b and vars(a) == vars(b)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.op = "fc"
    assert dataclasses.replace(a, op="fc").op == "fc"
