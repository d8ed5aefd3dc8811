"""ONNX models built for tests and benchmarks (bench/conftest.py imports this too)."""
from __future__ import annotations

from pathlib import Path


def external_data_model(folder: Path, rows: int = 25_000, cols: int = 30_000) -> tuple[Path, Path]:
    """(model, weight file): an fc layer (MatMul) whose float32 weight, rows x cols (3.0 GB
    by default, over protobuf's 2 GiB), lives in folder/weights.bin, a sparse file that
    costs nothing to create."""
    from onnx import TensorProto as T, helper
    w = T()
    w.name, w.data_type, w.data_location = "W", T.FLOAT, T.EXTERNAL
    w.dims.extend([cols, rows])
    for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", str(rows * cols * 4))):
        e = w.external_data.add()
        e.key, e.value = k, v
    data = folder / "weights.bin"
    with open(data, "wb") as f:
        f.truncate(rows * cols * 4)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"], name="fc")], "ext",
                          [helper.make_tensor_value_info("x", T.FLOAT, [1, cols])],
                          [helper.make_tensor_value_info("y", T.FLOAT, None)], initializer=[w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = folder / "ext.onnx"
    path.write_bytes(m.SerializeToString())
    return path, data
