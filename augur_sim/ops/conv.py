"""Convolution and transposed convolution (2-D, NCHW)."""
from __future__ import annotations

from ..errors import ShapeError
from ._util import need_inputs, need_rank, pos_int, prod
from .counts import Counts
from .registry import OpDef, register


def _geometry(attrs, op):
    kernel, stride = attrs["kernel"], attrs.get("stride", (1, 1))
    dilation, pad = attrs.get("dilation", (1, 1)), attrs.get("pad", (0, 0, 0, 0))
    # Fast path (every conv of every network passes here): plain positive ints of the
    # right counts; anything else goes through pos_int, which says what is wrong.
    if len(kernel) == len(stride) == len(dilation) == 2 and len(pad) == 4:
        for v in (*kernel, *stride, *dilation):  # plain loops: cheaper than all(generator)
            if type(v) is not int or v <= 0:
                break
        else:
            for v in pad:
                if type(v) is not int or v < 0:
                    break
            else:
                return (*kernel, *stride, *dilation, *pad)
    kh, kw = (pos_int(k, f"{op} kernel size") for k in kernel)
    sh, sw = (pos_int(s, f"{op} stride") for s in stride)
    dh, dw = (pos_int(d, f"{op} dilation") for d in dilation)
    pt, pl, pb, pr = (pos_int(p, f"{op} pad", allow_zero=True) for p in pad)
    return kh, kw, sh, sw, dh, dw, pt, pl, pb, pr


def _check_groups(cin, cout, g, op):
    pos_int(g, f"{op} group")
    if cin % g or cout % g:
        raise ShapeError(f"{op}: group {g} must divide input channels {cin} and output channels {cout}")


def infer_conv(attrs, in_shapes):
    need_inputs(in_shapes, 1, "conv")
    need_rank(in_shapes[0], 4, "conv", 4)
    n, cin, h, w = in_shapes[0]
    cout = pos_int(attrs["out_channels"], "conv num_output")
    g = attrs.get("group", 1)
    _check_groups(cin, cout, g, "conv")
    kh, kw, sh, sw, dh, dw, pt, pl, pb, pr = _geometry(attrs, "conv")
    ekh, ekw = dh * (kh - 1) + 1, dw * (kw - 1) + 1  # dilated extent
    if ekh > h + pt + pb or ekw > w + pl + pr:
        raise ShapeError(f"conv kernel {kh}x{kw} (dilated extent {ekh}x{ekw}) is larger than the "
                         f"padded input {h + pt + pb}x{w + pl + pr}")
    # Caffe and ONNX both round a convolution's output down.
    ho = (h + pt + pb - ekh) // sh + 1
    wo = (w + pl + pr - ekw) // sw + 1
    params = [(cout, cin // g, kh, kw)]
    if attrs.get("bias", True):
        params.append((cout,))
    return [(n, cout, ho, wo)], params


def _counts(macs, attrs, ins, outs, params, conventions):
    """Shared by conv and deconv: FLOPs from MACs and the bias, params from the weights."""
    bias = attrs.get("bias", True)
    flops = conventions.flops_per_mac * macs + (conventions.bias_flops_per_output * prod(outs[0]) if bias else 0)
    p = sum(prod(s) for s in params)
    return Counts(macs=macs, flops=flops, params=p, in_elems=prod(ins[0]), out_elems=prod(outs[0]),
                  weight_elems=p)


def count_conv(attrs, ins, outs, params, conventions):
    n, cin, _, _ = ins[0]
    _, cout, ho, wo = outs[0]
    kh, kw = attrs["kernel"]
    return _counts(n * ho * wo * cout * (cin // attrs.get("group", 1)) * kh * kw, attrs, ins, outs, params, conventions)


def infer_deconv(attrs, in_shapes):
    need_inputs(in_shapes, 1, "deconv")
    need_rank(in_shapes[0], 4, "deconv", 4)
    n, cin, h, w = in_shapes[0]
    cout = pos_int(attrs["out_channels"], "deconv num_output")
    g = attrs.get("group", 1)
    _check_groups(cin, cout, g, "deconv")
    kh, kw, sh, sw, dh, dw, pt, pl, pb, pr = _geometry(attrs, "deconv")
    oph, opw = attrs.get("output_padding", (0, 0))
    ho = (h - 1) * sh - pt - pb + dh * (kh - 1) + 1 + oph
    wo = (w - 1) * sw - pl - pr + dw * (kw - 1) + 1 + opw
    if ho <= 0 or wo <= 0:
        raise ShapeError(f"deconv output {ho}x{wo} is empty: padding exceeds the output extent")
    params = [(cin, cout // g, kh, kw)]
    if attrs.get("bias", True):
        params.append((cout,))
    return [(n, cout, ho, wo)], params


def count_deconv(attrs, ins, outs, params, conventions):
    n, cin, h, w = ins[0]
    kh, kw = attrs["kernel"]
    # Every input pixel scatters a kh x kw x Cout/g patch (DESIGN.md §1).
    macs = n * h * w * cin * (outs[0][1] // attrs.get("group", 1)) * kh * kw
    return _counts(macs, attrs, ins, outs, params, conventions)


register(OpDef("conv", infer_conv, count_conv, doc="2-D convolution, NCHW; attrs out_channels, kernel, "
               "stride, pad (t,l,b,r), dilation, group, bias"))
register(OpDef("deconv", infer_deconv, count_deconv, doc="2-D transposed convolution; conv attrs + "
               "output_padding"))
