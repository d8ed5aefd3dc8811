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
