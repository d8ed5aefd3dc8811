"""Each op kind's facts, in one table that every stage reads (ops/activations.py does the same
for each activation function, one level down):

- `kernel`: the kernel class lowering gives the kind: "gemm" (conv, deconv, fc, matmul; a
  depthwise conv runs as a direct sliding-window kernel instead, lowering._is_depthwise),
  "stream" (touches each byte about once) or "noop" (free views; the registry's category
  "free" says the same and lowering checks both agree);
- `chain`: the kind heads a fusion chain (lowering.plan_fusion): "conv" (its epilogues are
  the conv_* rules), "fc" (the fc_* rules), "bn" (scale/bias/act after it), "elt" (an act
  after it); None: it starts no chain;
- `exp`, `pow`: transcendental evaluations per output element (lowering's C_TRANS, C_POW
  columns; "act" takes them from its function in ops/activations.py);
- `flops`: the Conventions fields (conventions.py, printed with every report) that set the
  kind's FLOPs per MAC, element or window element, where it has a per-element cost ("act"
  reads its function's own, ops/activations.py);
- `onnx`: the ONNX operators the importer (frontends/onnx.py) turns into this kind: its
  operator table is built from these (ONNX_KINDS), so an operator is supported exactly when
  a kind names it here;
- `yaml`: the keys of the YAML net format that make this kind (frontends/yamlnet.py takes
  its layer keys from here);
- `export`: "custom" when measure/export.py writes the kind (its emitter for the kind),
  "none" when the kind has no ONNX form, `no_export` saying why;
- `torch`: what the GPU runner (measure/torchexec.py) runs the kind with, as a path under
  `torch` (for "act", the module its functions come from); None: the runner has no form
  for the kind and refuses a graph that has one.

A leaf module (no imports from the package), so lowering, the frontends and the measuring
code all import it without a cycle; tests/test_op_facts.py checks the table against the
registry, the ONNX importer's readers, the exporter's emitters and the torch runner.
"""
from __future__ import annotations

from dataclasses import dataclass

KERNEL_CLASSES = ("gemm", "stream", "noop")
EXPORT_RULES = ("custom", "none")


@dataclass(frozen=True)
class OpFacts:
    kind: str
    kernel: str = "stream"
    chain: str | None = None
    exp: float = 0.0
    pow: float = 0.0
    flops: tuple[str, ...] = ()
    onnx: tuple[str, ...] = ()
    yaml: tuple[str, ...] = ()
    export: str = "custom"
    no_export: str = ""
    torch: str | None = None


_REDUCE_ONNX = tuple(f"Reduce{k}" for k in ("Mean", "Sum", "Max", "Min", "Prod", "L1", "L2", "SumSquare",
                                            "LogSum", "LogSumExp"))

_MAC_BIAS = ("flops_per_mac", "bias_flops_per_output")

_TABLE = (
    OpFacts("conv", "gemm", chain="conv", flops=_MAC_BIAS, onnx=("Conv",), yaml=("conv",),
            torch="nn.functional.conv2d"),
    OpFacts("deconv", "gemm", chain="conv", flops=_MAC_BIAS, onnx=("ConvTranspose",), yaml=("deconv",),
            torch="nn.functional.conv_transpose2d"),
    OpFacts("fc", "gemm", chain="fc", flops=_MAC_BIAS, onnx=("Gemm", "MatMul"), yaml=("fc",),
            torch="nn.functional.linear"),
    OpFacts("matmul", "gemm", flops=("flops_per_mac",), onnx=("MatMul", "Gemm"), yaml=("matmul",),
            torch="matmul"),
    OpFacts("pool", flops=("pool_flops_per_window_elem",),
            onnx=("MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool"),
            yaml=("maxpool", "avgpool", "gap", "gmp"), torch="nn.functional.max_pool2d"),
    # one exp per element (exp, then a sum and a divide)
    OpFacts("softmax", exp=1.0, flops=("softmax_flops_per_elem",), onnx=("Softmax", "LogSoftmax"),
            yaml=("softmax",), torch="softmax"),
    OpFacts("batchnorm", chain="bn", flops=("bn_flops_per_elem",), onnx=("BatchNormalization",), yaml=("bn",),
            torch="nn.functional.batch_norm"),
    OpFacts("scale", flops=("scale_flops_per_elem",), torch="mul"),
    OpFacts("bias", flops=("bias_flops_per_output",), torch="add"),
    # (k + alpha/n * sum of squares) ^ -beta: one non-integer pow per element
    OpFacts("lrn", pow=1.0, flops=("lrn_flops_fixed",), onnx=("LRN",), yaml=("lrn",),
            torch="nn.functional.local_response_norm"),
    OpFacts("layernorm", flops=("layernorm_flops_per_elem",), onnx=("LayerNormalization",), yaml=("layernorm",),
            torch="nn.functional.layer_norm"),
    OpFacts("act", onnx=("Relu", "LeakyRelu", "PRelu", "Elu", "Sigmoid", "Tanh", "Clip", "HardSigmoid",
                         "HardSwish", "Gelu", "Erf", "Sqrt", "Exp", "Abs", "Neg", "Softplus", "Mish"),
            yaml=("act",), torch="nn.functional"),
    OpFacts("eltwise", chain="elt", flops=("eltwise_flops_per_input",),
            onnx=("Add", "Sum", "Mul", "Sub", "Div", "Pow", "Max", "Min"),
            yaml=("add", "mul", "max", "min", "sub", "div"), torch="add"),
    OpFacts("concat", onnx=("Concat",), yaml=("concat",), torch="cat"),
    OpFacts("split", onnx=("Split",), yaml=("split",), torch="split"),
    OpFacts("slice", onnx=("Slice",), torch="Tensor.__getitem__"),
    # `shuffle:` (a ShuffleNet channel shuffle) expands to reshape, transpose, reshape
    OpFacts("transpose", onnx=("Transpose",), yaml=("transpose", "shuffle"), torch="Tensor.permute"),
    OpFacts("pad", onnx=("Pad",), yaml=("pad",), torch="nn.functional.pad"),
    OpFacts("channel_shuffle"),  # ncnn's ShuffleChannel; the YAML format expands `shuffle:` instead
    OpFacts("reduce", flops=("reduce_flops_per_input",), onnx=_REDUCE_ONNX, yaml=("mean",), torch="mean"),
    OpFacts("resize", flops=("resize_flops_per_output",), onnx=("Resize", "Upsample"),
            torch="nn.functional.interpolate"),
    OpFacts("reshape", "noop", onnx=("Reshape", "Squeeze", "Unsqueeze"), yaml=("reshape",), torch="Tensor.reshape"),
    OpFacts("flatten", "noop", onnx=("Flatten",), yaml=("flatten",), torch="Tensor.reshape"),
    OpFacts("identity", "noop", onnx=("Identity", "Dropout", "Cast"), yaml=("identity", "dropout"),
            torch="Tensor.view_as"),
    OpFacts("const", "noop"),
    OpFacts("input", "noop", export="none", no_export="the graph's inputs: exported as graph inputs, not nodes"),
    OpFacts("opaque", "noop", export="none",
            no_export="an ONNX node the importer keeps uncounted: there is nothing to write back"),
    OpFacts("priorbox", export="none", no_export="SSD prior boxes: an ncnn/Caffe layer with no ONNX operator"),
    OpFacts("detection_output", flops=("detect_candidates", "nms_iou_flops"), export="none",
            no_export="SSD post-processing: no ONNX operator"),
    OpFacts("yolo_detection", flops=("softmax_flops_per_elem", "detect_candidates", "nms_iou_flops"),
            export="none", no_export="YOLO post-processing: no ONNX operator"),
)
FACTS: dict[str, OpFacts] = {f.kind: f for f in _TABLE}
# Kinds measure/export.py writes, and those it cannot (with the reason).
EXPORTABLE = frozenset(f.kind for f in _TABLE if f.export == "custom")
NO_EXPORT: dict[str, str] = {f.kind: f.no_export for f in _TABLE if f.export == "none"}
# ONNX operator -> the kinds it can become, in table order (MatMul and Gemm: fc with a
# constant weight, matmul otherwise); frontends/onnx.py builds its operator table from it.
ONNX_KINDS: dict[str, tuple[str, ...]] = {}
for _f in _TABLE:
    for _op in _f.onnx:
        ONNX_KINDS[_op] = ONNX_KINDS.get(_op, ()) + (_f.kind,)
# Kinds the torch runner runs.
TORCH_KINDS = frozenset(f.kind for f in _TABLE if f.torch)
# Kinds that head a fusion chain, by chain.
CHAIN: dict[str, str] = {f.kind: f.chain for f in _TABLE if f.chain}
