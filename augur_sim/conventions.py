"""Counting conventions: every per-element cost in one record, printed with every report.

Tools disagree on what an element-wise op or a pooling window "costs"; stating the
choice next to the numbers ends the confusion. Defaults follow ../shared/DESIGN.md §1.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from .errors import AugurError
from .ops.activations import ACTIVATIONS

# FLOPs per output element of each activation function (the table in ops/activations.py).
DEFAULT_ACT_FLOPS = {a.fn: a.flops for a in ACTIVATIONS.values()}


@dataclass(frozen=True)
class Conventions:
    flops_per_mac: int = 2
    bias_flops_per_output: int = 1
    act_flops: dict = field(default_factory=lambda: dict(DEFAULT_ACT_FLOPS))
    # BN at inference: x*a + b per element, or 0 when folded into the preceding conv.
    bn_flops_per_elem: int = 2
    fold_bn: bool = False
    scale_flops_per_elem: int = 1        # plus bias_flops_per_output when Scale has a bias
    pool_flops_per_window_elem: int = 1  # max: compare, avg: add; k*k per output
    avg_pool_divide: bool = True         # one divide per output for average pooling
    softmax_flops_per_elem: int = 3      # exp + add + divide
    eltwise_flops_per_input: int = 1     # (n_inputs - 1) per output; coefficients add 1 each
    layernorm_flops_per_elem: int = 5    # mean, var (2), normalise, affine
    reduce_flops_per_input: int = 1
    resize_flops_per_output: int = 4     # bilinear: 4 taps; nearest counts 0
    # LRN (Caffe): sum of `size` squares per element, then scale, pow and multiply.
    lrn_flops_fixed: int = 3
    # Detection post-processing (augur_sim/ops/detect.py): the candidates that survive the
    # confidence threshold depend on the image; sorting and NMS are counted for this many
    # (per class for SSD), and an IoU test costs this many FLOPs (areas, overlap, divide).
    detect_candidates: int = 100
    nms_iou_flops: int = 12

    def as_dict(self) -> dict:
        return asdict(self)

    def with_(self, **kw) -> Conventions:
        """A copy with some fields changed (unknown fields are an error naming the valid ones)."""
        valid = set(self.__dataclass_fields__)
        bad = sorted(set(kw) - valid)
        if bad:
            raise AugurError(f"unknown convention(s) {', '.join(bad)}; valid: {', '.join(sorted(valid))}")
        return replace(self, **kw)

    def cache_key(self) -> str:
        """A string that differs between conventions that count differently (the record holds
        a dict, so it has no hash): the key of the counts and lowerings cached per graph.
        Computed once per record (act_flops is never edited in place; with_() copies)."""
        key = self.__dict__.get("_cache_key")
        if key is None:
            key = repr(self)
            object.__setattr__(self, "_cache_key", key)
        return key

    def describe(self) -> str:
        text = self.__dict__.get("_description")
        if text is None:
            text = self._describe()
            object.__setattr__(self, "_description", text)
        return text

    def _describe(self) -> str:
        acts = ", ".join(f"{k} {v}" for k, v in sorted(self.act_flops.items()))
        return (f"MAC = 1 multiply-accumulate; FLOPs = {self.flops_per_mac}/MAC for conv/deconv/fc/matmul "
                f"+ {self.bias_flops_per_output}/output for a bias; "
                f"BN {0 if self.fold_bn else self.bn_flops_per_elem}/elem{' (folded)' if self.fold_bn else ''}; "
                f"Scale {self.scale_flops_per_elem}/elem (+bias); pooling {self.pool_flops_per_window_elem}"
                f" per window element{' + 1 divide (avg)' if self.avg_pool_divide else ''}; "
                f"softmax {self.softmax_flops_per_elem}/elem; eltwise {self.eltwise_flops_per_input}"
                f" per extra input; LRN 2*size+{self.lrn_flops_fixed}/elem; activations/elem: {acts}; "
                f"detection heads: sort + NMS counted for {self.detect_candidates} candidates, "
                f"{self.nms_iou_flops}/IoU; "
                f"params = learned weights+biases, BN statistics and Caffe's scale factor counted apart")


DEFAULT = Conventions()
