"""Each activation function's facts, in one table that every stage reads:

- `flops`: FLOPs per output element, the default counting convention (conventions.py);
- `exp`: exp-class transcendental evaluations per element (exp, sigmoid, tanh, erf...).
  FMA pipes do not compute them: a runtime evaluates them with polynomial or library
  code, so a kernel full of them can be slower than its FLOPs say (lowering.py's C_TRANS
  column). Piecewise-linear functions (relu, clip, hard_*) have none;
- `epilogue`: a runtime can apply it in a conv/fc kernel's epilogue (fusion rule
  conv_relu / fc_relu, lowering.plan_fusion);
- `onnx`: the ONNX operator that is this function (ONNX import maps it here; export
  writes it back), with `onnx_attrs` = (ONNX attribute, our attribute, default) each;
  `export`: "node" when export is that one node with those attributes, "custom" when
  measure/export.py builds it (extra inputs or weights, opset-dependent forms,
  compositions), "none" when there is no ONNX form;
- `torch`: the attribute path under `torch` of the function the GPU runner calls with
  the tensor alone (None: measure/torchexec.py builds it from the layer's attributes).

A leaf module (no imports from the package), so conventions, ops, lowering, the frontends
and the measuring code all import it without a cycle.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Activation:
    fn: str
    flops: int
    exp: int = 0
    epilogue: bool = False
    onnx: str | None = None
    onnx_attrs: tuple[tuple[str, str, float], ...] = ()
    export: str = "node"
    torch: str | None = None


_TABLE = (
    Activation("relu", 1, epilogue=True, onnx="Relu", torch="nn.functional.relu"),   # one comparison
    Activation("leaky_relu", 2, epilogue=True, onnx="LeakyRelu", onnx_attrs=(("alpha", "alpha", 0.01),),
               export="custom"),                                                     # comparison + multiply
    Activation("prelu", 2, epilogue=True, onnx="PRelu", export="custom"),            # slope is a weight
    Activation("elu", 3, exp=1, epilogue=True, onnx="Elu", onnx_attrs=(("alpha", "alpha", 1.0),),
               torch="nn.functional.elu"),                                           # comparison, exp, mul-sub
    Activation("sigmoid", 3, exp=1, epilogue=True, onnx="Sigmoid", torch="sigmoid"),  # exp, add, divide
    Activation("tanh", 1, exp=1, epilogue=True, onnx="Tanh", torch="tanh"),
    Activation("clip", 2, epilogue=True, onnx="Clip", export="custom"),              # min and max (inputs)
    Activation("hard_sigmoid", 3, epilogue=True, onnx="HardSigmoid",
               onnx_attrs=(("alpha", "alpha", 0.2), ("beta", "beta", 0.5)),
               torch="nn.functional.hardsigmoid"),                                   # multiply-add, clip
    Activation("hard_swish", 4, epilogue=True, onnx="HardSwish", torch="nn.functional.hardswish"),
    # tanh form: x*0.5*(1+tanh(c*(x+0.044715x^3))); its ONNX op needs opset 20
    Activation("gelu", 6, exp=1, epilogue=True, onnx="Gelu", export="custom", torch="nn.functional.gelu"),
    Activation("erf", 1, exp=1, onnx="Erf", torch="erf"),
    Activation("sqrt", 1, onnx="Sqrt"),
    Activation("exp", 1, exp=1, onnx="Exp", torch="exp"),
    Activation("abs", 1, onnx="Abs", torch="abs"),
    Activation("neg", 1, onnx="Neg", torch="neg"),
    Activation("power", 3, exp=1, export="custom"),                # Caffe Power: scale, shift, pow
    Activation("swish", 4, exp=1, epilogue=True, export="custom", torch="nn.functional.silu"),  # sigmoid + mul
    Activation("softplus", 3, exp=1, onnx="Softplus", torch="nn.functional.softplus"),  # log(1 + exp(x))
    # x * tanh(softplus(x)); its ONNX op needs opset 18
    Activation("mish", 5, exp=2, onnx="Mish", export="custom", torch="nn.functional.mish"),
)
ACTIVATIONS: dict[str, Activation] = {a.fn: a for a in _TABLE}
# ONNX operator -> our function name (ONNX import).
ONNX_ACTIVATIONS: dict[str, str] = {a.onnx: a.fn for a in _TABLE if a.onnx}
EPILOGUE_ACTIVATIONS = frozenset(a.fn for a in _TABLE if a.epilogue)
