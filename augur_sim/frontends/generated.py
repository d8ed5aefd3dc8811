"""Generated networks (ResNet-like and MobileNetV2-like families) as descriptors: a name
such as `resnet-s0-00002` (FAMILY-sSEED-INDEX, what `sweep --generate` calls its networks)
or a parameter set becomes a LayerGraph.

Each network is a pure function of (family, seed, index): its parameters come from a
generator seeded with all three, so network i is the same whether a sweep asks for 10
or 10,000 of them, and a remote worker can rebuild it from those three numbers alone.
The graph is built directly with GraphBuilder (no descriptor text to parse).
Parameter ranges, their sources and the bounds of the space are documented in
docs/SWEEPS.md; keep the two in step (tests/test_generate.py checks the bounds).
Enumerating the space for a sweep and its bounds are explore/generate.py's.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import AugurError
from ..graph import GraphBuilder, Layer, LayerGraph

FAMILIES = ("resnet", "mobilenet")

# The space is bounded by published architecture families, so that every generated network
# is one a practitioner could plausibly train and deploy (bounds over the whole space:
# explore/generate.py's space_bounds(), stated in docs/SWEEPS.md and checked by
# tests/test_generate.py).
#
# ResNet-like family: He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition",
# CVPR 2016, Table 1. A stem conv (7x7 there) with stride 2 and a 3x3/2 max pool; four stages
# whose widths double from one to the next (64, 128, 256, 512); basic blocks (two 3x3) in
# ResNet-18/34 with 2-3, 2-4, 2-6, 2-3 blocks per stage, bottleneck blocks (1x1, 3x3, 1x1 with
# expansion 4) in ResNet-50/101/152 with 3, 4-8, 6-36, 3. Widths 0.5x and 0.75x of the paper's
# (as width multipliers shrink MobileNets, Howard et al. 2017) give the small end; the large
# end is ResNet-152 itself. Resolutions: 224 (the paper's crops) and 256 (its resize and one
# of its test scales), and the 160/192 of MobileNet's resolution multiplier.
RESNET_RESOLUTIONS = (160, 192, 224, 256)
RESNET_STEM_WIDTHS = (32, 48, 64)
RESNET_STEM_KERNELS = (3, 7)
RESNET_BASE_WIDTHS = (32, 48, 64)               # stage-1 width; x2 per stage after it
RESNET_GROWTH = 2.0
RESNET_DEPTHS = {"basic": ((2, 3), (2, 4), (2, 6), (2, 3)),           # ResNet-18 .. ResNet-34
                 "bottleneck": ((3, 3), (4, 8), (6, 36), (3, 3))}     # ResNet-50 .. ResNet-152
RESNET_KERNELS = (3,)
BOTTLENECK_EXPANSION = 4

# MobileNetV2-like family: Sandler et al., "MobileNetV2", CVPR 2018 (Table 2: channels,
# strides and blocks per stage 1, 2, 3, 4, 3, 3, 1; width multipliers 0.35-1.4 and input
# resolutions 96-224 in its trade-off study). Search-space choices as the NAS papers built on
# it explore them: blocks per stage MobileNetV2's +-1 and expansion ratios 3 or 6 (MnasNet,
# Tan et al., CVPR 2019); depthwise kernels 3, 5 (MnasNet) and 7 (ProxylessNAS, Cai et al.,
# ICLR 2019); squeeze-excite per stage (MnasNet); hard-swish (MobileNetV3, Howard et al. 2019).
MBV2_RESOLUTIONS = (96, 128, 160, 192, 224)
MBV2_WIDTH_MULT = (0.35, 1.4)                    # uniform, rounded to 0.05
MBV2_CHANNELS = (16, 24, 32, 64, 96, 160, 320)   # before the width multiplier
MBV2_STRIDES = (1, 2, 2, 2, 1, 2, 1)
MBV2_DEPTHS = ((1, 2), (1, 3), (2, 4), (3, 5), (2, 4), (2, 4), (1, 2))
MBV2_EXPANSIONS = (3, 6)                         # stage 0 always uses 1, as in MobileNetV2
MBV2_KERNELS = (3, 5, 7)
MBV2_SE_PROB = 0.3                               # per stage
MBV2_ACTS = ("relu6", "hard_swish")
NUM_CLASSES = 1000


@dataclass(frozen=True)
class GenSpec:
    """One generated network: enough to rebuild it anywhere."""
    family: str
    seed: int
    index: int
    # Drawn again from (family, seed, index) when asked for, unless given: a sweep of a
    # million generated networks then holds a million small records, not a million dicts
    # (the fuzz campaign's 1.4 GiB cap stopped `--generate resnet:999999` in generation).
    given_params: dict | None = field(default=None, compare=False, repr=False)

    @property
    def params(self) -> dict:
        if self.given_params is not None:
            return self.given_params
        return sample_params(self.family, self.seed, self.index)

    @property
    def name(self) -> str:
        return f"{self.family}-s{self.seed}-{self.index:05d}"

    def params_json(self) -> str:
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"))

    def graph(self, batch: int = 1) -> LayerGraph:
        return build(self.family, self.params, batch=batch, name=self.name)

    def flat(self) -> dict:
        """A few flat columns for tables (the JSON holds everything)."""
        p = self.params
        if self.family == "resnet":
            blocks, width = sum(p["depths"]), p["base_width"] / 64.0
        else:
            blocks, width = sum(p["depths"]), p["width_mult"]
        return {"gen_family": self.family, "gen_seed": self.seed, "gen_index": self.index,
                "gen_resolution": p["resolution"], "gen_blocks": blocks, "gen_width": float(width),
                "gen_params": self.params_json()}


# Names of generated networks: FAMILY-sSEED-INDEX (GenSpec.name).
_NAME = re.compile(r"^(resnet|mobilenet)-s(\d{1,18})-(\d{1,9})$")


def parse_name(name: str) -> GenSpec | None:
    """The generated network a name such as `resnet-s0-00002` stands for (None: not such a name)."""
    m = _NAME.match(name)
    return GenSpec(m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def _rng(family: str, seed: int, index: int) -> np.random.Generator:
    # Family in the seed too, so resnet #3 and mobilenet #3 of one seed are unrelated draws.
    return np.random.default_rng([int(seed), int(index), FAMILIES.index(family)])


def _round8(x: float) -> int:
    """Channel counts as hardware-friendly multiples of 8 (never below 8)."""
    return max(8, int(round(x / 8.0)) * 8)


def sample_params(family: str, seed: int, index: int) -> dict:
    if family not in FAMILIES:
        raise AugurError(f"unknown network family '{family}'; expected one of {', '.join(FAMILIES)}")
    rng = _rng(family, seed, index)
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731 - plain python ints/strs
    if family == "resnet":
        block = pick(("basic", "bottleneck"))
        base = pick(RESNET_BASE_WIDTHS)
        return {
            "resolution": pick(RESNET_RESOLUTIONS),
            "block": block,
            "stem_width": pick(RESNET_STEM_WIDTHS),
            "stem_kernel": pick(RESNET_STEM_KERNELS),
            "base_width": base,
            "growth": RESNET_GROWTH,
            "widths": [_round8(base * RESNET_GROWTH ** i) for i in range(4)],
            "depths": [int(rng.integers(lo, hi + 1)) for lo, hi in RESNET_DEPTHS[block]],
            "kernels": [pick(RESNET_KERNELS) for _ in range(4)],
        }
    wm = round(float(rng.uniform(*MBV2_WIDTH_MULT)) * 20) / 20
    return {
        "resolution": pick(MBV2_RESOLUTIONS),
        "width_mult": wm,
        "stem_width": _round8(32 * wm),
        "widths": [_round8(c * wm) for c in MBV2_CHANNELS],
        "depths": [int(rng.integers(lo, hi + 1)) for lo, hi in MBV2_DEPTHS],
        "expansions": [1] + [pick(MBV2_EXPANSIONS) for _ in MBV2_CHANNELS[1:]],
        "kernels": [pick(MBV2_KERNELS) for _ in MBV2_CHANNELS],
        "se": [bool(rng.random() < MBV2_SE_PROB) for _ in MBV2_CHANNELS],
        "act": pick(MBV2_ACTS),
        "last_width": _round8(1280 * max(1.0, wm)),
    }


def corner_params(family: str, hi: bool, block: str = "basic") -> dict:
    """The smallest (hi=False) or largest (hi=True) network of the space: every choice at
    its low or high end. MACs and parameters grow with each choice (resolution, widths,
    depths, kernels, expansion, squeeze-excite), so these two bound the space."""
    end = (lambda seq: max(seq)) if hi else (lambda seq: min(seq))
    if family == "resnet":
        base = end(RESNET_BASE_WIDTHS)
        return {"resolution": end(RESNET_RESOLUTIONS), "block": block, "stem_width": end(RESNET_STEM_WIDTHS),
                "stem_kernel": end(RESNET_STEM_KERNELS), "base_width": base, "growth": RESNET_GROWTH,
                "widths": [_round8(base * RESNET_GROWTH ** i) for i in range(4)],
                "depths": [end(r) for r in RESNET_DEPTHS[block]], "kernels": [end(RESNET_KERNELS)] * 4}
    wm = end(MBV2_WIDTH_MULT)
    return {"resolution": end(MBV2_RESOLUTIONS), "width_mult": wm, "stem_width": _round8(32 * wm),
            "widths": [_round8(c * wm) for c in MBV2_CHANNELS], "depths": [end(r) for r in MBV2_DEPTHS],
            "expansions": [1] + [end(MBV2_EXPANSIONS)] * (len(MBV2_CHANNELS) - 1),
            "kernels": [end(MBV2_KERNELS)] * len(MBV2_CHANNELS), "se": [hi] * len(MBV2_CHANNELS),
            "act": "relu6", "last_width": _round8(1280 * max(1.0, wm))}



# ---------------------------------------------------------------- graph construction

_ACTS = {"relu": {"fn": "relu"}, "relu6": {"fn": "clip", "min": 0.0, "max": 6.0},
         "hard_swish": {"fn": "hard_swish"}, "sigmoid": {"fn": "sigmoid"}}


class _Net:
    """Thin helper over GraphBuilder: every method adds one layer and returns its output tensor."""

    def __init__(self, name: str, batch: int, res: int):
        self.b = GraphBuilder(name, None)
        self.b.add_input("data", (batch, 3, res, res))

    def _add(self, name, op, attrs, inputs, src_type):
        self.b.add_layer(Layer(name=name, op=op, attrs=attrs, inputs=tuple(inputs), outputs=(name,),
                               src_type=src_type))
        return name

    def conv(self, name, x, out, k, s=1, groups=1):
        p = k // 2
        return self._add(name, "conv", {"out_channels": out, "kernel": (k, k), "stride": (s, s),
                                        "pad": (p, p, p, p), "group": groups, "bias": False}, [x], "Conv")

    def bn(self, name, x):
        return self._add(name, "batchnorm", {"affine": True, "eps": 1e-5}, [x], "BatchNormalization")

    def act(self, name, x, fn):
        return self._add(name, "act", dict(_ACTS[fn]), [x], fn)

    def cba(self, name, x, out, k, s=1, groups=1, act="relu"):
        """conv + BN (+ activation): the unit every block is made of."""
        y = self.bn(f"{name}.bn", self.conv(f"{name}.conv", x, out, k, s, groups))
        return self.act(f"{name}.{act}", y, act) if act else y

    def add(self, name, a, b):
        return self._add(name, "eltwise", {"fn": "sum", "broadcast": False}, [a, b], "Add")

    def mul(self, name, a, b):
        return self._add(name, "eltwise", {"fn": "prod", "broadcast": True}, [a, b], "Mul")

    def maxpool(self, name, x):
        return self._add(name, "pool", {"mode": "max", "kernel": (3, 3), "stride": (2, 2),
                                        "pad": (1, 1, 1, 1)}, [x], "MaxPool")

    def gap(self, name, x):
        return self._add(name, "pool", {"mode": "avg", "global": True}, [x], "GlobalAveragePool")

    def head(self, x):
        x = self.gap("avgpool", x)
        x = self._add("flatten", "flatten", {"axis": 1, "end_axis": -1}, [x], "Flatten")
        return self._add("fc", "fc", {"out_features": NUM_CLASSES, "bias": True}, [x], "Gemm")


def _resnet(net: _Net, p: dict) -> None:
    x = net.cba("stem", "data", p["stem_width"], p["stem_kernel"], 2)
    x = net.maxpool("stem.pool", x)
    cin = p["stem_width"]
    bottleneck = p["block"] == "bottleneck"
    for si, (w, depth, k) in enumerate(zip(p["widths"], p["depths"], p["kernels"])):
        cout = w * BOTTLENECK_EXPANSION if bottleneck else w
        for bi in range(depth):
            name = f"layer{si + 1}.{bi}"
            s = 2 if (bi == 0 and si > 0) else 1
            if bottleneck:
                y = net.cba(f"{name}.a", x, w, 1)
                y = net.cba(f"{name}.b", y, w, k, s)
                y = net.cba(f"{name}.c", y, cout, 1, act=None)
            else:
                y = net.cba(f"{name}.a", x, w, k, s)
                y = net.cba(f"{name}.b", y, w, k, act=None)
            # Projection shortcut where the shape changes (torchvision convention).
            short = net.cba(f"{name}.down", x, cout, 1, s, act=None) if (s != 1 or cin != cout) else x
            x = net.act(f"{name}.relu", net.add(f"{name}.add", y, short), "relu")
            cin = cout
    net.head(x)


def _mobilenet(net: _Net, p: dict) -> None:
    act = p["act"]
    x = net.cba("stem", "data", p["stem_width"], 3, 2, act=act)
    cin = p["stem_width"]
    for si in range(len(MBV2_CHANNELS)):
        w, depth, t, k, se = (p["widths"][si], p["depths"][si], p["expansions"][si],
                              p["kernels"][si], p["se"][si])
        for bi in range(depth):
            name = f"stage{si}.{bi}"
            s = MBV2_STRIDES[si] if bi == 0 else 1
            hidden = _round8(cin * t)
            y = net.cba(f"{name}.expand", x, hidden, 1, act=act) if t != 1 else x
            hidden = hidden if t != 1 else cin
            y = net.cba(f"{name}.dw", y, hidden, k, s, groups=hidden, act=act)
            if se:
                # Squeeze-excite: pool, reduce to a quarter of the block input, expand, gate.
                g = net.gap(f"{name}.se.pool", y)
                g = net.act(f"{name}.se.relu", net.conv(f"{name}.se.reduce", g, max(8, _round8(cin / 4)), 1),
                            "relu")
                g = net.act(f"{name}.se.gate", net.conv(f"{name}.se.expand", g, hidden, 1), "sigmoid")
                y = net.mul(f"{name}.se.scale", y, g)
            y = net.cba(f"{name}.project", y, w, 1, act=None)
            x = net.add(f"{name}.add", y, x) if (s == 1 and cin == w) else y
            cin = w
    x = net.cba("last", x, p["last_width"], 1, act=act)
    net.head(x)


def build(family: str, params: dict, batch: int = 1, name: str | None = None) -> LayerGraph:
    """The LayerGraph of one parameter set (see sample_params for the keys)."""
    if family not in FAMILIES:
        raise AugurError(f"unknown network family '{family}'; expected one of {', '.join(FAMILIES)}")
    net = _Net(name or f"{family}-custom", batch, int(params["resolution"]))
    (_resnet if family == "resnet" else _mobilenet)(net, params)
    return net.b.build()
