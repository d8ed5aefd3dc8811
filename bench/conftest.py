"""Shared set-up for the speed benchmarks (pytest-benchmark).

Benchmark modules are named bench_*.py so that `make test` (testpaths = tests) never
collects them; the hook below makes `pytest bench` collect them. Under
`--benchmark-disable` (make bench-smoke, CI) every benchmark body runs once as a plain
test: nothing here may fail for timing reasons, targets are only recorded in extra_info
and judged by bench/report.py.
"""
from __future__ import annotations

import pytest
from benchutil import EXPORT_NETS


def pytest_collect_file(file_path, parent):
    # A file named on the command line is collected by pytest itself; only add the rest.
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") \
            and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def onnx_models(tmp_path_factory):
    """The zoo networks of EXPORT_NETS exported once per session as ONNX (random weights,
    so each file has a real model's size); never committed. {net name: path}."""
    from augur_sim.frontends import load_net
    from augur_sim.measure.export import export_onnx
    d = tmp_path_factory.mktemp("onnx")
    out = {}
    for net in EXPORT_NETS:
        path = d / f"{net}.onnx"
        export_onnx(load_net(net), path)
        out[net] = path
    return out


@pytest.fixture(scope="session")
def onnx_stripped(onnx_models, tmp_path_factory):
    """The same files with every tensor over 4 KB moved to an external data file that is
    then deleted: what a weight-free ("stripped") model costs to read. {net name: path}."""
    import onnx
    d = tmp_path_factory.mktemp("onnx_stripped")
    out = {}
    for net, src in onnx_models.items():
        m = onnx.load(str(src))
        for t in m.graph.initializer:
            if len(t.raw_data) > 4096:
                t.ClearField("raw_data")
                t.data_location = onnx.TensorProto.EXTERNAL
                e = t.external_data.add()
                e.key, e.value = "location", "absent.bin"
        path = d / f"{net}.onnx"
        path.write_bytes(m.SerializeToString())
        out[net] = path
    return out


@pytest.fixture(scope="session")
def onnx_external_3gb(tmp_path_factory):
    """An fc layer whose 3.0 GB float32 weight lives in a sparse external data file (the
    model the tests build: tests/onnx_util.py)."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from onnx_util import external_data_model
    return external_data_model(tmp_path_factory.mktemp("onnx_ext"))[0]


def pytest_benchmark_update_machine_info(config, machine_info):
    """The machine's load when the results are written (1, 5, 15-minute averages): on a
    shared machine the timings mean little without it; report.py prints it."""
    import os
    try:
        machine_info["loadavg"] = list(os.getloadavg())
    except OSError:
        pass
