"""Detection heads and post-processing (ncnn/Caffe-SSD PriorBox and DetectionOutput, the
YOLO v2/v3 region decoders), counted as the element-wise and sorting work they are.

Counting convention (docs/NCNN.md, "Detection heads"):
- the dense part runs for every prior/anchor whatever the image: decoding, sigmoids,
  softmax, the arg-max over classes, the threshold test; it is counted exactly;
- the data-dependent part (sorting the candidates above the confidence threshold, then
  greedy NMS, one IoU per candidate pair in the worst case) is counted for
  ``Conventions.detect_candidates`` candidates (per class for SSD, capped by the layer's
  own top-k), because the real number depends on the image;
- the output holds an upper bound on the detections: keep_top_k rows (SSD) or
  ``detect_candidates`` rows (YOLO) of (label, score, xmin, ymin, xmax, ymax).
These layers have no weights. Shapes are per image with the batch first, like every op.
"""
from __future__ import annotations

import math

from ..errors import ShapeError
from ._util import need_inputs, need_rank, pos_int, prod
from .counts import Counts
from .registry import OpDef, register

# Per-coordinate work of a prior box: centre +- half size, divided by the image size.
_PRIOR_FLOPS_PER_COORD = 2
# Decoding one SSD box against its prior with variances: centre and size offsets
# (4 multiply-adds with the variances, 2 multiplies by the prior size), 2 exps, 4 corners.
_SSD_DECODE_FLOPS = 16
# Decoding one YOLO box: 2 sigmoids (3 each), 2 exps, scale to the net, 4 corners.
_YOLO_DECODE_FLOPS = 16


def _sort_and_nms_flops(cands: int, conventions) -> int:
    if cands <= 1:
        return cands
    # A comparison sort (n log2 n comparisons), then greedy NMS: each candidate against the
    # kept ones, at most n(n-1)/2 IoU evaluations.
    return int(cands * math.log2(cands)) + cands * (cands - 1) // 2 * conventions.nms_iou_flops


# --- PriorBox -------------------------------------------------------------------------

def num_priors(attrs) -> int:
    n_min, n_max, n_ar = len(attrs["min_sizes"]), len(attrs.get("max_sizes", ())), len(attrs.get("aspect_ratios", ()))
    n = n_min * n_ar + n_min + n_max
    if attrs.get("flip", True):
        n += n_min * n_ar
    return n


def infer_priorbox(attrs, in_shapes):
    need_inputs(in_shapes, (1, 2), "priorbox")
    need_rank(in_shapes[0], 3, "priorbox")
    if not attrs.get("min_sizes"):
        raise ShapeError("priorbox needs at least one min size")
    if attrs.get("max_sizes") and len(attrs["max_sizes"]) != len(attrs["min_sizes"]):
        raise ShapeError(f"priorbox has {len(attrs['max_sizes'])} max sizes for "
                         f"{len(attrs['min_sizes'])} min sizes (want as many, or none)")
    n, *_, h, w = in_shapes[0]
    # Caffe/ncnn layout: row 0 the boxes (4 per prior per position), row 1 the variances.
    return [(n, 2, 4 * h * w * num_priors(attrs))], []


def count_priorbox(attrs, ins, outs, params, conventions):
    coords = outs[0][0] * outs[0][2]
    return Counts(flops=coords * _PRIOR_FLOPS_PER_COORD, in_elems=0, out_elems=prod(outs[0]))


# --- SSD DetectionOutput ----------------------------------------------------------------

def infer_detection_output(attrs, in_shapes):
    need_inputs(in_shapes, 3, "detection_output")
    loc, conf, prior = in_shapes
    classes = pos_int(attrs["num_classes"], "detection_output num_class")
    n = loc[0]
    loc_elems, conf_elems, prior_elems = prod(loc[1:]), prod(conf[1:]), prod(prior[1:])
    if loc_elems % 4:
        raise ShapeError(f"detection_output: box input has {loc_elems} values, not a multiple of 4")
    boxes = loc_elems // 4
    if conf_elems != boxes * classes:
        raise ShapeError(f"detection_output: {boxes} boxes x {classes} classes want {boxes * classes} "
                         f"scores, the score input has {conf_elems}")
    if prior_elems != 2 * loc_elems:
        raise ShapeError(f"detection_output: {boxes} boxes want {2 * loc_elems} prior values "
                         f"(boxes and variances), the prior input has {prior_elems}")
    keep = pos_int(attrs.get("keep_top_k", 100), "detection_output keep_top_k")
    return [(n, keep, 6)], []


def count_detection_output(attrs, ins, outs, params, conventions):
    n = ins[0][0]
    boxes = prod(ins[0][1:]) // 4
    classes = attrs["num_classes"]
    fg = max(classes - 1, 1)  # class 0 is the background and is skipped
    cands = min(boxes, attrs.get("nms_top_k", boxes), conventions.detect_candidates)
    per_image = (boxes * _SSD_DECODE_FLOPS + boxes * fg        # decode, threshold tests
                 + fg * _sort_and_nms_flops(cands, conventions)          # per-class sort + NMS
                 + _sort_and_nms_flops(min(fg * cands, attrs.get("keep_top_k", 100)), conventions) // 2)
    return Counts(flops=n * per_image, in_elems=sum(prod(s) for s in ins), out_elems=prod(outs[0]))


# --- YOLO v2 / v3 region decoders ---------------------------------------------------------

def infer_yolo(attrs, in_shapes):
    need_inputs(in_shapes, (1, 16), "yolo_detection")
    classes = pos_int(attrs["num_classes"], "yolo num_class")
    boxes = pos_int(attrs["num_box"], "yolo num_box")
    for s in in_shapes:
        need_rank(s, 4, "yolo_detection", 4)
        if s[1] != boxes * (5 + classes):
            raise ShapeError(f"yolo_detection: an input with {s[1]} channels; {boxes} boxes x (4 coords + "
                             f"1 objectness + {classes} classes) want {boxes * (5 + classes)}")
    n = in_shapes[0][0]
    return [(n, attrs.get("max_detections", 100), 6)], []


def count_yolo(attrs, ins, outs, params, conventions):
    n = ins[0][0]
    classes, boxes = attrs["num_classes"], attrs["num_box"]
    anchors = sum(boxes * s[2] * s[3] for s in ins)
    # Objectness and best-class sigmoids (3 FLOPs each), their product, the threshold test,
    # an arg-max over the classes; YOLO v2 first runs a softmax over the class scores.
    dense = 3 + 3 + 1 + 1 + classes
    if attrs.get("softmax"):
        dense += classes * conventions.softmax_flops_per_elem
    cands = min(anchors, conventions.detect_candidates)
    per_image = anchors * dense + cands * _YOLO_DECODE_FLOPS + _sort_and_nms_flops(cands, conventions)
    return Counts(flops=n * per_image, in_elems=sum(prod(s) for s in ins), out_elems=prod(outs[0]))


register(OpDef("priorbox", infer_priorbox, count_priorbox,
               doc="SSD prior boxes; attrs min_sizes, max_sizes, aspect_ratios, flip, clip"))
register(OpDef("detection_output", infer_detection_output, count_detection_output,
               doc="SSD box decoding + per-class NMS; attrs num_classes, nms_top_k, keep_top_k"))
register(OpDef("yolo_detection", infer_yolo, count_yolo,
               doc="YOLO v2/v3 region decoding + NMS; attrs num_classes, num_box, softmax (v2), "
                   "max_detections"))
