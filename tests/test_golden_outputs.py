"""Golden outputs: what `augur analyze` and `augur estimate` print (table and JSON) for three
networks, estimates on two devices, pinned in tests/golden/{analyze,estimate}/.

A change that moves any printed number shows up here as a diff to review. When the change
is intended, regenerate with `pytest tests/test_golden_outputs.py --update-golden`, read
`git diff tests/golden`, and say in the commit message why the numbers moved.
Tables are compared as text. JSON is compared value by value: exact for strings, integers
and structure, floats to a relative 1e-9 (the last bits of a float sum may differ between
CPUs; a model change moves far more than that)."""
import json
import math
from pathlib import Path

import pytest

from augur_sim.cli import main

GOLDEN = Path(__file__).resolve().parent / "golden"
NETS = ["squeezenet1_1", "mobilenet_v2", "resnet50"]
DEVICES = ["jetson_tx2", "raspberry_pi_4"]
FORMATS = {"table": "txt", "json": "json"}


def _run(capsys, argv) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def _same(a, b, path="") -> list[str]:
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300):
            return []
        return [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{path}: keys {list(a)} != {list(b)}"]
        return [d for k in a for d in _same(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _same(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _check(capsys, update_golden, argv, golden: Path, fmt: str):
    out = _run(capsys, argv + ["--format", fmt])
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(out)
        pytest.skip(f"rewrote {golden.relative_to(GOLDEN.parent)}")
    assert golden.is_file(), f"{golden} missing: run pytest --update-golden"
    ref = golden.read_text()
    if fmt == "json":
        diffs = _same(json.loads(out), json.loads(ref))
        assert not diffs, f"{golden.name}: {len(diffs)} value(s) differ, e.g. " + "; ".join(diffs[:5])
    else:
        assert out == ref, f"{golden.name} differs (see tests/README.md to regenerate)"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("net", NETS)
def test_analyze(capsys, update_golden, net, fmt):
    _check(capsys, update_golden, ["analyze", net], GOLDEN / "analyze" / f"{net}.{FORMATS[fmt]}", fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize("net", NETS)
def test_estimate(capsys, update_golden, net, dev, fmt):
    # The per-layer table, asked for explicitly since the default table shows kernels.
    view = ["--view", "layers"] if fmt == "table" else []
    _check(capsys, update_golden, ["estimate", net, "--hw", dev] + view,
           GOLDEN / "estimate" / f"{net}@{dev}.{FORMATS[fmt]}", fmt)


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize("net", NETS)
def test_estimate_default_kernel_table(capsys, update_golden, net, dev):
    _check(capsys, update_golden, ["estimate", net, "--hw", dev],
           GOLDEN / "estimate" / f"{net}@{dev}.kernels.txt", "table")


def test_json_comparison_sees_a_moved_number():
    ref = json.loads((GOLDEN / "estimate" / "resnet50@jetson_tx2.json").read_text())
    moved = json.loads(json.dumps(ref))
    moved["total"]["time_ms"] *= 1 + 1e-6
    assert _same(ref, ref) == []
    assert _same(moved, ref) == [f".total.time_ms: {moved['total']['time_ms']!r} != {ref['total']['time_ms']!r}"]
