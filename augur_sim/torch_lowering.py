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
holds E * (C + size - 1) / C elements. augur_sim/lowering.py turns the LRN's own row into
the pooling pass and appends the other seven as auxiliary rows of the same layer.

`pool_indices` (fusion rule): aten's max_pool2d (aten/src/ATen/native/Pooling.cpp) has no
CUDA kernel of its own: on any device but the CPU (and MKL-DNN/quantized/XNNPACK tensors)
it calls max_pool2d_with_indices and returns the values only. That kernel
(aten/src/ATen/native/cuda/DilatedMaxPool2d.cu, max_pool_forward_nchw / _nhwc) stores, for
every output element, its value and the position of the maximum as an int64, so a max pool
on the GPU writes INDEX_BYTES more per output element than its output tensor holds. A global
max pool is not this call (augur_sim/measure/torchexec.py runs it as amax over H and W).
"""
from __future__ import annotations

# Bytes of one argmax index a CUDA max pool writes beside each output element (int64).
INDEX_BYTES = 8.0


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
