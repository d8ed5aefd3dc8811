"""Lowering rules of PyTorch eager execution that the generic lowering does not know.

`lrn_composite` (fusion rule, augur_sim/fusion.py): PyTorch has no LRN kernel.
torch.nn.functional.local_response_norm (torch/nn/functional.py) builds it from tensor ops,
each one kernel in eager mode (and one node of a captured CUDA graph):

  1. div = x * x                                  (square)
  2. pad div, viewed (N, 1, C, H, W), by size // 2 and (size - 1) // 2 zero channels:
     aten constant_pad_nd (aten/src/ATen/native/PadNd.cpp) allocates the padded tensor,
     fills it with the pad value, then copies the input into its interior: two kernels
  3. avg_pool3d over (size, 1, 1), stride 1        (the windowed channel sum)
  4. div * alpha, 5. + k, 6. ** beta               (three element-wise kernels)
  7. x / div                                       (the output)

So an LRN over E elements of C channels costs eight bandwidth kernels: the pad's tensor
holds E * (C + size - 1) / C elements. The LRN's own row becomes the pooling pass; the
other seven are auxiliary rows of the same layer.
"""
from __future__ import annotations

import numpy as np

from .lowering import (
    C_CH,
    C_CLS,
    C_ELEM_BYTES,
    C_FLOPS,
    C_IN_BYTES,
    C_OUT_BYTES,
    C_POW,
    C_TRANS,
    C_W_BYTES,
    NCOLS,
    STREAM,
    Kernel,
)


def lrn_pass_elems(elems: float, channels: float, size: int) -> list[tuple[str, float, float, float, float]]:
    """(name, elements read, elements written, FLOPs, pow evaluations) of each of the eight
    kernels of one LRN over `elems` elements of `channels` channels (module docstring)."""
    padded = elems * (channels + size - 1) / channels
    return [
        ("square", elems, elems, elems, 0.0),
        ("pad_fill", 0.0, padded, 0.0, 0.0),
        ("pad_copy", elems, elems, 0.0, 0.0),
        ("avg_pool3d", padded, elems, size * elems, 0.0),
        ("scale", elems, elems, elems, 0.0),
        ("add", elems, elems, elems, 0.0),
        ("pow", elems, elems, 0.0, elems),
        ("divide", 2.0 * elems, elems, elems, 0.0),
    ]


def lrn_passes(graph, rows: np.ndarray, kernels: list) -> tuple[np.ndarray, list]:
    """Each across-channel LRN kernel as the eight passes of lrn_pass_elems: its row becomes
    the avg_pool3d pass, the seven others are appended as auxiliary rows of the layer."""
    extra_rows, extra_kernels = [], []
    rows = rows.copy()
    for i, kern in enumerate(kernels):
        layer = graph.layer(kern.name)
        if layer.op != "lrn" or len(kern.layers) != 1 or layer.attrs.get("region", "across") != "across":
            continue
        eb = rows[i, C_ELEM_BYTES]
        elems = rows[i, C_OUT_BYTES] / eb
        channels = max(rows[i, C_CH], 1.0)
        for name, e_in, e_out, flops, pw in lrn_pass_elems(elems, channels, int(layer.attrs.get("size", 5))):
            r = rows[i] if name == "avg_pool3d" else np.zeros(NCOLS)
            r[C_CLS] = STREAM
            r[C_ELEM_BYTES] = eb
            r[C_IN_BYTES], r[C_OUT_BYTES], r[C_W_BYTES] = e_in * eb, e_out * eb, 0.0
            r[C_FLOPS], r[C_POW], r[C_TRANS] = flops, pw, 0.0
            if name != "avg_pool3d":
                extra_rows.append(r)
                extra_kernels.append(Kernel(kern.name, (kern.name,), STREAM, aux=True))
    if not extra_rows:
        return rows, kernels
    return np.vstack([rows, np.array(extra_rows)]), list(kernels) + extra_kernels
