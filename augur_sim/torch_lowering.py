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

`bn_native` (fusion rule): F.batch_norm in eval mode goes to cuDNN only when aten's
backend choice allows it (aten/src/ATen/native/Normalization.cpp, the cuDNN branch of the
batch-norm backend selection): weight and bias defined, and a half-precision input only with
fp32 parameters (a bfloat16 input never). A network converted to fp16 as a whole (its
parameters fp16 too, as `model.half()` and augur_sim/measure/torchexec.py do), a bf16 one,
and a BatchNorm without affine parameters (Caffe's, whose Scale is a layer of its own) take
the native CUDA path instead: batch_norm_cuda_out (aten/src/ATen/native/cuda/
Normalization.cu), which in eval mode copies the running mean into a buffer of the
accumulate type (copy_), computes invstd = rsqrt(running_var + eps) in a kernel of its own
(batch_norm_calc_invstd), and only then runs the element-wise normalisation: two more GPU
operations over C elements per BatchNorm, each a node of a captured CUDA graph. cuDNN's
inference BatchNorm (fp32 with affine parameters) is the one kernel.
"""
from __future__ import annotations

# Bytes of one argmax index a CUDA max pool writes beside each output element (int64).
INDEX_BYTES = 8.0
# The accumulate type of aten's native BatchNorm buffers (save_mean, save_invstd): fp32.
ACC_BYTES = 4.0


def bn_takes_native_path(precision: str, affine: bool) -> bool:
    """Whether PyTorch's eval-mode F.batch_norm skips cuDNN for a network whose parameters
    share its precision (module docstring, `bn_native`)."""
    return precision in ("fp16", "bf16") or not affine


def bn_native_pass_elems(channels: float) -> list[tuple[str, float, float, float, float]]:
    """(name, bytes read per element size, bytes written, FLOPs, transcendentals) of the two
    small operations aten's native eval BatchNorm runs before its element-wise pass: the
    running mean copied into the accumulate-type save_mean, and invstd from the running
    variance. Reads are in the input's element size (the running statistics share it), writes
    in ACC_BYTES."""
    return [("copy_mean", channels, channels * ACC_BYTES, 0.0, 0.0),
            ("calc_invstd", channels, channels * ACC_BYTES, channels, channels)]


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
