"""Hypothesis strategies for every input format augur reads (Caffe prototxt and ncnn .param
have theirs in test_caffe_fuzz.py and test_ncnn.py): YAML nets, hardware specs, ONNX models,
and command lines typed at the CLI. The property is the project's contract for bad input:
the input loads (and counts, estimates, prints), or it is refused with one AugurError line
that names the file (or, at the CLI, one `augur: error:` line and exit code 2). Never another
exception, never a traceback, never a hang (each example has a deadline far above what a
valid input takes).

Examples are derandomized (the same ones every run: CI stays stable); scripts/fuzz.py runs
the large randomized campaign.
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
from datetime import timedelta
from pathlib import Path

import fuzz_cases
import numpy as np
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from augur_sim.counts import count_net
from augur_sim.errors import AugurError
from augur_sim.graph import LayerGraph

REPO = Path(__file__).resolve().parents[1]
SETTINGS = dict(deadline=timedelta(seconds=60), derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


def _check_refusal(e: AugurError, file: str) -> None:
    event("refused")
    s = str(e)
    assert "\n" not in s, s
    assert s.startswith(file), (file, s)


def _check_graph(g: LayerGraph) -> None:
    event("loaded")
    nc = count_net(g)
    for lc in nc.layers:
        assert all(d > 0 for shp in lc.output_shapes for d in shp), (lc.name, lc.output_shapes)
        c = lc.counts
        assert min(c.macs, c.flops, c.params, c.out_elems) >= 0, lc.name
    assert nc.total.macs == sum(lc.counts.macs for lc in nc.layers)


# Values a careless or hostile file may hold where a size is expected.
ODD_INTS = st.sampled_from([0, -1, 1, 2, 3, 7, 2**31, 2**40, 2**63, -2**63, 10**30])
ODD_VALUES = st.one_of(
    ODD_INTS, st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=8), st.lists(ODD_INTS, max_size=5), st.dictionaries(st.text(max_size=4), ODD_INTS, max_size=2))
SMALL = st.integers(1, 8)


# ---------------------------------------------------------------- YAML nets

ACTS = ["relu", "relu6", "sigmoid", "tanh", "hard_swish", "gelu", "swish", "leaky_relu", "nosuchfn"]


def _op(size):
    """One op entry: plausible options, now and then an odd value in one of them."""
    return st.one_of(
        st.builds(lambda o, k, s, p, g: {"conv": {"out": o, "k": k, "s": s, "p": p, "g": g}},
                  st.sampled_from([4, 8, 16]) | size, st.sampled_from([1, 3, 5]) | size,
                  st.sampled_from([1, 2]) | size, st.sampled_from([0, 1, "auto"]) | size,
                  st.sampled_from([1, 1, 1, "dw", 2, 4]) | size),
        st.builds(lambda k: {"maxpool": k}, st.sampled_from([2, 3]) | size),
        st.builds(lambda k: {"avgpool": {"k": k, "ceil": True}}, st.sampled_from([2, 3]) | size),
        st.just({"gap": True}), st.just({"bn": True}), st.just({"dropout": True}), st.just({"identity": True}),
        st.builds(lambda f: {"act": f}, st.sampled_from(ACTS)),
        st.builds(lambda o: {"fc": o}, st.sampled_from([10, 100]) | size),
        st.builds(lambda n: {"split": n}, st.sampled_from([2, 4]) | size),
        st.builds(lambda n: {"shuffle": n}, st.sampled_from([2, 4]) | size),
        st.builds(lambda n: {"lrn": n}, st.sampled_from([3, 5]) | size),
        st.builds(lambda a: {"softmax": a}, st.sampled_from([1, -1]) | size),
        st.builds(lambda s: {"reshape": s}, st.lists(st.sampled_from([-1, 0, 1, 2, 4]) | size, max_size=5)),
        st.builds(lambda p: {"transpose": p}, st.permutations([0, 1, 2, 3]) | st.lists(size, max_size=5)),
        st.builds(lambda p: {"pad": p}, st.lists(st.sampled_from([0, 1]) | size, min_size=8, max_size=8)),
        st.builds(lambda a: {"mean": {"axes": a}}, st.lists(st.sampled_from([2, 3, 9, -1]), min_size=1, max_size=2)),
    )


@st.composite
def yaml_nets(draw) -> str:
    odd = draw(st.integers(0, 2)) == 0
    size = ODD_VALUES if odd else st.sampled_from([1, 2, 4])
    n = draw(st.integers(1, 6))
    shape = [draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 3, 8])), *[draw(st.sampled_from([8, 16, 32]))] * 2]
    if odd and draw(st.booleans()):
        shape[draw(st.integers(0, 3))] = draw(ODD_INTS)
    elif draw(st.integers(0, 7)) == 0:
        shape = draw(st.lists(SMALL, max_size=6))          # the wrong rank
    layers = []
    for i in range(n):
        entry = dict(draw(_op(size)))
        if draw(st.integers(0, 4)) == 0:
            entry["act"] = draw(st.sampled_from(ACTS))
        if i and draw(st.integers(0, 5)) == 0:      # a join with an earlier layer, by name or index
            entry = {"add": True, "in": [f"l{draw(st.integers(0, i - 1))}", f"l{i - 1}"]}
        layers.append({f"l{i}": entry})
    doc = {"name": "fz", "input": {"shape": shape}, "layers": layers}
    if draw(st.integers(0, 3)) == 0:
        reps = draw(st.sampled_from([1, 2, 3, 0, -1, 10001]) | (ODD_VALUES if odd else st.nothing()))
        doc["blocks"] = {"b": {"params": {"w": "int"},
                               "layers": [{"c": {"conv": {"out": "$w", "k": 3, "p": 1}, "bn": True, "act": "relu"}},
                                          {"s": {"add": True, "in": ["c", "input"]}}]}}
        layers.append({"rep": {"repeat": reps, "block": "b", "args": {"w": draw(st.sampled_from([3, 8]) | size)}}})
    if draw(st.integers(0, 5)) == 0:
        doc[draw(st.sampled_from(["outputs", "extra", "source"]))] = draw(ODD_VALUES)
    text = yaml.safe_dump(doc, sort_keys=False)
    if draw(st.integers(0, 4)) == 0:                 # text-level damage too: syntax errors
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "[", "{", ": :", "\t", "\x00", "&a", "*a", "!!python/x"])) \
            + text[cut:]
    return text


@settings(max_examples=150, **SETTINGS)
@given(text=yaml_nets())
def test_yaml_nets_load_or_give_one_located_error(text):
    from augur_sim.frontends.yamlnet import load_yamlnet_text
    try:
        g = load_yamlnet_text(text, "net.yaml")
    except AugurError as e:
        _check_refusal(e, "net.yaml")
        return
    _check_graph(g)


# ---------------------------------------------------------------- hardware specs

SPECS = {p.stem: yaml.safe_load(p.read_text()) for p in
         [REPO / "hwspecs" / f"{n}.yaml" for n in ("jetson_tx2", "raspberry_pi_4", "jetson_nano")]}


def _paths(node, prefix=()):
    """Every path into a spec's mapping/list tree."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def hw_specs(draw) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(SPECS)))
    doc = json.loads(json.dumps(SPECS[name]))       # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        how = draw(st.sampled_from(["scale", "scale", "scale", "value", "value", "delete", "unknown_key"]))
        old = parent[path[-1]]
        if how == "scale" and isinstance(old, (int, float)) and not isinstance(old, bool):
            # A plausible edit (what a what-if user does): the same kind of number, rescaled.
            new = old * draw(st.sampled_from([0.5, 0.9, 1.1, 2, 10]))
            parent[path[-1]] = int(new) if isinstance(old, int) and new == int(new) else new
        elif how in ("value", "scale"):
            parent[path[-1]] = draw(ODD_VALUES)
        elif how == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["dram_bw_gb", "clock", "x", "name2"]))] = draw(ODD_VALUES)
        if not isinstance(doc, dict):
            break
    return name, yaml.safe_dump(doc, sort_keys=False)


@settings(max_examples=100, **SETTINGS)
@given(spec=hw_specs(), precision=st.sampled_from(["fp32", "fp16", "int8"]))
def test_hw_specs_load_or_give_one_located_error(tmp_path_factory, spec, precision):
    from augur_sim.estimator import estimate
    from augur_sim.hw import format_hw, load_hw
    name, text = spec
    folder = tmp_path_factory.mktemp("hw")
    path = folder / f"{name}.yaml"
    path.write_text(text)
    try:
        dev = load_hw(str(path))
        format_hw(dev)
        event("loaded")
        for proc in dev.processors:
            est = estimate(fuzz_cases._tiny_net(), dev, processor=proc, precision=precision)
            assert est.total.time_s > 0 and np.isfinite(est.total.time_s), (proc, est.total.time_s)
    except AugurError as e:
        _check_refusal(e, str(path))


# ---------------------------------------------------------------- ONNX

ONNX_OPS = ["Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul", "Add", "Mul",
            "Concat", "Reshape", "Transpose", "Flatten", "Softmax", "BatchNormalization", "Sigmoid", "Clip",
            "Pad", "Resize", "Slice", "Split", "Gather", "Unsqueeze", "ReduceMean", "Einsum", "Loop", "NoSuchOp"]
I64 = st.sampled_from([0, -1, 1, 2, 3, 7, 2**31, 2**40, 2**62, -2**62, 2**63 - 1, -2**63])  # what the wire holds
ATTRS = {"kernel_shape": st.lists(st.sampled_from([1, 3]) | I64, min_size=1, max_size=3),
         "strides": st.lists(st.sampled_from([1, 2]) | I64, min_size=1, max_size=3),
         "pads": st.lists(st.sampled_from([0, 1]) | I64, min_size=1, max_size=5),
         "group": st.sampled_from([1, 2]) | I64, "axis": st.sampled_from([0, 1, -1]) | I64,
         "perm": st.permutations([0, 1, 2, 3]) | st.lists(I64, min_size=1, max_size=4), "transB": st.sampled_from([0, 1]),
         "epsilon": st.floats(allow_nan=True), "dilations": st.lists(st.sampled_from([1, 2]) | I64, min_size=1,
                                                                      max_size=3)}
NAMES = st.text(max_size=6) | st.sampled_from(["", "x", "conv", "BADUTF8"])


@st.composite
def onnx_models(draw) -> bytes:
    from onnx import TensorProto, helper, numpy_helper
    c = draw(st.sampled_from([1, 3, 4]))
    dims = draw(st.lists(st.sampled_from([1, c, 8, 16]) | I64 | st.sampled_from(["N", "", "seq"]),
                         min_size=0, max_size=5) | st.just([1, c, 8, 8]))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    inits = [numpy_helper.from_array(np.ones((4, c, 3, 3), np.float32), "w"),
             numpy_helper.from_array(np.array([1, -1], np.int64), "shape2")]
    if draw(st.booleans()):
        bad = numpy_helper.from_array(np.ones((4,), np.float32), "w_bad")
        bad.dims[:] = [draw(I64)]
        inits.append(bad)
    nodes, prev = [], "x"
    for i in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(ONNX_OPS))
        ins = [prev] + (["w"] if op == "Conv" else ["shape2"] if op == "Reshape" else [])
        if op in ("Add", "Mul", "Concat", "MatMul"):
            ins.append(draw(st.sampled_from(["x", prev, "w", "nosuch"])))
        attrs = {k: draw(ATTRS[k]) for k in draw(st.lists(st.sampled_from(sorted(ATTRS)), max_size=2, unique=True))}
        name = draw(NAMES)
        nodes.append(helper.make_node(op, ins, [f"t{i}"], name=name, **attrs))
        prev = f"t{i}"
    y = helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, draw(NAMES), [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", draw(st.sampled_from([11, 13, 17, 99])))])
    data = model.SerializeToString().replace(b"BADUTF8", b"\xff\xfe\x80A\xc3(A")  # same length, not UTF-8
    how = draw(st.sampled_from(["whole", "whole", "truncate", "flip"]))
    if how == "truncate":
        data = data[:draw(st.integers(0, max(0, len(data) - 1)))]
    elif how == "flip" and data:
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        data = bytes(b)
    return data


@settings(max_examples=150, **SETTINGS)
@given(data=onnx_models(), lenient=st.booleans())
def test_onnx_models_load_or_give_one_located_error(tmp_path_factory, data, lenient):
    from augur_sim.frontends import load_net
    from augur_sim.report import analyze_dict, dumps
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    path.write_bytes(data)
    try:
        g = load_net(str(path), lenient=lenient)
    except AugurError as e:
        _check_refusal(e, str(path))
        return
    _check_graph(g)
    json.loads(dumps(analyze_dict(count_net(g))))   # names that are not UTF-8 must still print


# ---------------------------------------------------------------- CLI

def _subcommands():
    import argparse

    from augur_sim.cli import build_parser
    out = {}
    for a in build_parser()._actions:
        if isinstance(a, argparse._SubParsersAction):
            out.update({k: v for k, v in a.choices.items() if k in CLI_COMMANDS})
    return out


# Commands that read user input; calibrate/validate time real runs, the corpus fits read
# reference data, sweep has its own CLI tests (a grid is slow to draw at random).
CLI_COMMANDS = ("nets", "analyze", "estimate", "report", "hw", "whatif", "plot", "export", "cachesim")
SUBS = _subcommands()
OUT = Path(tempfile.mkdtemp(prefix="augur-hypothesis-cli-"))
NET_WORDS = ["squeezenet1_1", "resnet18", "nosuchnet", "resnet-s0-00002", "mobilenet-s1-00003", "", "-",
             "nets/alexnet.yaml", "README.md", "nets", "/dev/null"]
HW_WORDS = ["jetson_nano", "raspberry_pi_4", "jetson_tx2", "nosuchhw", "", "hwspecs/jetson_nano.yaml", "README.md",
            "hwspecs"]
WORDS = {"net": NET_WORDS, "--hw": HW_WORDS, "name": HW_WORDS, "file": HW_WORDS,
         "--batch": ["1", "2", "0", "-1", "x", "99999999999999999999", "1,2"],
         "--input-shape": ["1x3x64x64", "1x3x0x2", "x", "3x224", "1x3x99999999x99999999"],
         "--set": ["gpu.clock_ghz=2", "gpu.clock_ghz=-1", "cpu.units=0", "nosuch=1", "=", "gpu.clock_ghz=[1,2]"],
         "--vary": ["gpu.clock_ghz=0.5:2:3", "gpu.clock_ghz=1:1:1", "x=1:2:3", "gpu.dram_bw_gbs=1,2",
                    "gpu.clock_ghz=1:2:100000"],
         "--top": ["3", "0", "-1", "x"], "--threads": ["1", "2", "0", "-3", "x"],
         "--runtime-mib": ["0", "10", "-1", "nan", "inf"], "--opset": ["17", "1", "0", "99999"],
         "layer": ["conv1", "fire2.squeeze", "nosuch", ""], "results": ["nosuch.csv", "README.md"],
         "--pareto-x": ["macs", "latency_ms:min", "energy_mj", "bogus", "macs:up"],
         "--pareto-y": ["params", "peak_mib:max", "bogus"]}
GOOD = {"net": ["squeezenet1_1", "mobilenet_v2", "resnet-s0-00002"], "--hw": ["jetson_nano", "raspberry_pi_4"],
        "name": ["jetson_nano"], "file": ["hwspecs/jetson_nano.yaml"], "--batch": ["1", "2"], "--top": ["3"],
        "--set": ["gpu.clock_ghz=0.5", "cpu.clock_ghz=1.0"], "--vary": ["gpu.dram_bw_gbs=10,20"],
        "--threads": ["1", "2"], "layer": ["conv1", "fire2.squeeze"], "--input-shape": ["1x3x64x64"]}
FREE = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)


@st.composite
def command_lines(draw) -> list[str]:
    import argparse
    cmd = draw(st.sampled_from(sorted(SUBS)))
    argv = [cmd]
    parsers = [SUBS[cmd]]
    for a in SUBS[cmd]._actions:
        if isinstance(a, argparse._SubParsersAction):
            sub = draw(st.sampled_from(sorted(a.choices)))
            argv.append(sub)
            parsers.append(a.choices[sub])
    for p in parsers:
        for a in p._actions:
            if a.dest == "help" or isinstance(a, argparse._SubParsersAction):
                continue
            key = a.option_strings[-1] if a.option_strings else a.dest
            if key == "--plot":
                continue
            if key in ("--out", "--out-prefix"):   # written into a folder of this test only
                argv += [key, str(OUT / draw(st.sampled_from(["o.onnx", "o.html", "o.json", "o.csv", "p", "-"])))]
                continue
            if a.option_strings and not a.required and draw(st.integers(0, 2)) != 0:
                continue
            good = GOOD.get(key)
            words = st.sampled_from(list(a.choices)) if a.choices else st.sampled_from(WORDS.get(key, ["1"]))
            if good and draw(st.integers(0, 2)) != 0:
                words = st.sampled_from(good)
            for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):   # now and then given twice
                if a.option_strings:
                    argv.append(a.option_strings[0])
                if a.nargs != 0:
                    argv.append(draw(words | FREE) if draw(st.integers(0, 5)) == 0 else draw(words))
                if not a.option_strings:
                    break
    if draw(st.integers(0, 6)) == 0:
        argv.insert(draw(st.integers(1, len(argv))), draw(st.sampled_from(["--bogus", "--", "-x", "--hw"])))
    return argv


@settings(max_examples=60, **SETTINGS)
@given(argv=command_lines())
def test_command_lines_run_or_give_one_error_line(argv):
    from augur_sim.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:                # argparse usage errors and --help
            rc = e.code if isinstance(e.code, int) else 2
    e = err.getvalue()
    assert "Traceback" not in e + out.getvalue(), (argv, e)
    event(f"exit {rc}")
    if rc == 0:
        return
    assert rc == 2, (argv, rc, e)
    assert e.startswith("augur: error: ") and e.count("\n") == 1, (argv, e)
