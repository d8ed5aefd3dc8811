"""The closed vocabulary of fusion rules a runtime may declare (hw specs) and the
lowering applies (augur_sim/lowering.py). One table, so the two can never disagree."""

FUSION_RULES = {
    "conv_bias": "bias add folded into the conv / deconv kernel",
    "conv_bn": "inference BatchNorm (and Caffe Scale) folded into the preceding conv's weights",
    "conv_relu": "activation (ReLU/clip/...) applied in the conv epilogue",
    "conv_eltwise": "residual add (and its activation) applied in the epilogue of the conv feeding it",
    "bn_relu": "standalone BatchNorm and the following activation run as one kernel",
    "fc_bias": "bias add folded into the fully connected kernel",
    "fc_relu": "activation applied in the fully connected epilogue",
    "eltwise_relu": "element-wise op and the following activation run as one kernel",
    # Not fusions but lowering rules of the same kind (what the runtime does to the graph):
    "nchwc16": "ORT/MLAS NCHWc convs, 16-float blocks (AVX-512): convs whose channels do not "
               "align (ort_layout.py) run ORT's generic Conv, per-group im2col + SGEMM, "
               "depthwise ones included",
    "nchwc8": "the same with 8-float blocks (AVX2)",
    "scale_apart": "a Caffe Scale/Bias after a BatchNorm runs as a kernel of its own (PyTorch "
                   "eager: F.batch_norm, then addcmul), not folded into the BatchNorm",
    "lrn_composite": "LRN runs as PyTorch's F.local_response_norm composes it: eight kernels "
                     "(square, pad = fill + copy, avg_pool3d over channels, scale, add, pow, "
                     "divide; torch/nn/functional.py)",
    "pool_indices": "a windowed max pool also writes its argmax as int64 indices (PyTorch on "
                    "CUDA: max_pool2d runs max_pool2d_with_indices and drops the indices; "
                    "aten/src/ATen/native/Pooling.cpp)",
    "bn_native": "an inference BatchNorm that PyTorch does not hand to cuDNN (16-bit input with "
                 "16-bit parameters, or no affine parameters) runs aten's native CUDA path: a "
                 "copy of the running mean and an invstd kernel over the channels before the "
                 "element-wise pass (aten/src/ATen/native/Normalization.cpp, "
                 "cuda/Normalization.cu)",
}
