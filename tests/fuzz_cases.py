"""Fuzz cases for every input format augur-sim reads, shared by the test suite (through
hypothesis: a drawn seed and class pick one case) and by scripts/fuzz.py (N seeds per class
under time and memory limits).

A case is fully determined by (class, seed): `make_case` writes its files into a folder
and returns what to run; `run_case` runs it and classifies the outcome:

  ok        the input loaded (and counted, estimated, formatted)
  refused   a one-line AugurError / `augur: error:` line with exit code 2
  FAIL      anything else: another exception (the signature names its type and the
            innermost augur_sim frame), an error message of more than one line or without
            the prefix, a secret planted in a file the case names appearing in any output.

The contract checked is the project's: bad input gives one line and exit 2, never a
traceback, and never echoes content of files it merely names.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import stat
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUGUR_SHARED") or REPO.parent / "shared")

# A marker planted in files a case may name (extends:, --hw, net paths): it must never be
# printed. Content of such a file is "foreign": the user pointed at it, they did not write it.
SECRET = "zq-SECRET-7f3a-do-not-echo"

CLASSES = ("prototxt", "yamlnet", "hwspec", "onnx", "ncnn", "cli")

NUMBERS = ["0", "-1", "1", "2", "3", "7", "1099511627776", "18446744073709551616", "1e308", "-0.5",
           "0x7fffffff", "nan", ".inf", "-.inf", "2.5", "017", "99999999999999999999", "2147483648",
           "-2147483649", "1e-300", "65536", "4096", "1000000000"]
GARBAGE = ["{", "}", "[", "]", "::", '"', "'", "@", "-", "&a", "*a", "!!python/object:os.system",
           "!!set", "<<: *a", "\t", "\x00", "\x01", "\x1b[31m", "\u202e", "\ufeff", "é", "💥", "\\x",
           "1.2.3", "%TAG", "---", "...", "? complex", "|", ">", "#", ": :", "~", "null", "true"]
_SEEDS: dict = {}   # seed inputs per class, read once per process
_NUM = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")


@dataclass(frozen=True)
class Case:
    cls: str
    seed: int
    kind: str            # "load" (a file through the API) or "cli" (argv through augur's main)
    path: str | None     # the input file, for kind "load"
    argv: tuple = ()     # for kind "cli"
    note: str = ""       # how it was made (for the report)


# ---------------------------------------------------------------- text mutation

def mutate_text(text: str, rnd: random.Random, n_ops: int | None = None) -> tuple[str, str]:
    """Line- and token-level damage; returns (text, short description of the ops)."""
    lines = text.split("\n") or [""]
    ops = []
    for _ in range(n_ops or rnd.choice([1, 1, 1, 2, 2, 3])):
        op = rnd.choice(["delete", "duplicate", "number", "number", "number", "insert", "swap",
                         "truncate", "char", "repeat", "key"])
        i = rnd.randrange(len(lines))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "number":
            for k in range(len(lines)):
                j = (i + k) % len(lines)
                ms = list(_NUM.finditer(lines[j]))
                if ms:
                    m = rnd.choice(ms)
                    lines[j] = lines[j][:m.start()] + rnd.choice(NUMBERS) + lines[j][m.end():]
                    break
        elif op == "insert":
            lines.insert(i, (" " * rnd.randint(0, 6)) + rnd.choice(GARBAGE))
        elif op == "swap":
            j = rnd.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "truncate":
            cut = rnd.randrange(len(lines[i]) + 1)
            lines = lines[:i] + [lines[i][:cut]]
        elif op == "char":
            s = lines[i]
            pos = rnd.randrange(len(s) + 1)
            lines[i] = s[:pos] + rnd.choice(GARBAGE) + s[pos:]
        elif op == "repeat":
            lines[i:i + 1] = [lines[i]] * rnd.randint(2, 50)
        elif op == "key":
            # Replace a word by another word of the file: wrong keys in the right places.
            words = re.findall(r"[A-Za-z_]{2,}", text)
            s = lines[i]
            ws = list(re.finditer(r"[A-Za-z_]{2,}", s))
            if ws and words:
                m = rnd.choice(ws)
                lines[i] = s[:m.start()] + rnd.choice(words) + s[m.end():]
        ops.append(op)
    return "\n".join(lines), "+".join(ops)


def flip_bytes(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    if not b:
        return bytes(b)
    for _ in range(rnd.randint(1, 8)):
        choice = rnd.random()
        i = rnd.randrange(len(b))
        if choice < 0.6:
            b[i] = rnd.randrange(256)
        elif choice < 0.8:
            del b[i:i + rnd.randint(1, 16)]
        else:
            b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        if not b:
            break
    return bytes(b)


# ---------------------------------------------------------------- seeds

def _small_files(folder: Path, pattern: str, max_lines: int) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob(pattern)) if p.read_text(errors="replace").count("\n") <= max_lines]


def prototxt_seeds() -> list[str]:
    texts = [p.read_text() for p in _small_files(SHARED / "prototxt", "*.prototxt", 600)]
    texts.append('name: "tiny"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 16 dim: 16 }\n'
                 'layer { name: "c1" type: "Convolution" bottom: "data" top: "c1"\n'
                 '  convolution_param { num_output: 8 kernel_size: 3 pad: 1 stride: 1 group: 1 } }\n'
                 'layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" }\n'
                 'layer { name: "p1" type: "Pooling" bottom: "c1" top: "p1"\n'
                 '  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n'
                 'layer { name: "s" type: "Slice" bottom: "p1" top: "s1" top: "s2" slice_param { axis: 1 } }\n'
                 'layer { name: "cat" type: "Concat" bottom: "s1" bottom: "s2" top: "cat" }\n'
                 'layer { name: "fc" type: "InnerProduct" bottom: "cat" top: "fc" '
                 'inner_product_param { num_output: 10 } }\n'
                 'layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }\n')
    return texts


def yamlnet_seeds() -> list[str]:
    return [p.read_text() for p in _small_files(REPO / "nets", "*.yaml", 80)]


def hwspec_seeds() -> list[tuple[str, str]]:
    if "hwspec" not in _SEEDS:
        _SEEDS["hwspec"] = [(p.stem, p.read_text()) for p in sorted((REPO / "hwspecs").glob("*.yaml"))]
    return _SEEDS["hwspec"]


YAML_INSERTS = [
    "  - split: 1000000000", "  - {repeat: 100000, block: nosuch}", "  - split: {parts: 5000}",
    "  - conv: {out: 99999999999, k: 1}", "  - reshape: [-1, -1]", "  - conv: {out: 8, k: 3, g: 7}",
    "x: &a [*a]", "  - &a {act: relu}\n  - *a", "a: &x [1,2,3]\nb: [*x,*x,*x,*x,*x,*x]",
    "  - concat: {axis: 99}", "  - transpose: [0, 0, 1, 2]", "  - pad: [1, 1, 99999999999, 1]",
    "  - maxpool: {k: 0}", "  - fc: -1", "  - act: nosuchfn", "  - block: b\n    repeat: 3",
    "  - " + "[" * 200, "  - {in: [input, input, input], add: true}", "  - matmul: true",
    "  - mean: {axes: [9]}", "  - layernorm: {axis: -9}", "  - deconv: {out: 4, k: 99999}",
]


def random_yamlnet(rnd: random.Random) -> str:
    """A structurally plausible net: a random chain with blocks, repeats and conditions."""
    c = rnd.choice([1, 3, 8, 16])
    hw = rnd.choice([1, 4, 7, 16, 32])
    lines = ["name: gen", f"input: {{shape: [{rnd.choice([1, 2])}, {c}, {hw}, {hw}]}}"]
    if rnd.random() < 0.5:
        lines += ["blocks:", "  blk:", "    params: {w: int, on: {type: bool, default: true}}", "    layers:",
                  "      - a: {conv: {out: $w, k: 3, p: 1}, bn: true, act: relu}",
                  "      - b: {conv: {out: $w, k: 1}, if: $on}",
                  "      - {add: true, in: [b, a], if: $on}"]
    lines.append("layers:")
    ops = ["conv: {out: %d, k: %d, s: %d, p: %d}", "maxpool: {k: %d, s: %d}", "act: relu", "bn: true",
           "avgpool: %d", "gap: true", "dropout: true", "identity: true", "act: sigmoid", "softmax: true",
           "shuffle: %d", "split: %d", "lrn: %d"]
    n_split = 0
    for _ in range(rnd.randint(1, 8)):
        op = rnd.choice(ops)
        vals = tuple(rnd.choice([0, 1, 2, 3, 4, 7, 8, 16, 64]) for _ in range(op.count("%d")))
        lines.append("  - " + (op % vals if vals else op))
        if op.startswith("split"):
            # Automatic names count per kind: the n-th split is split<n>; rejoin its parts.
            n_split += 1
            parts = ", ".join(f"split{n_split}:{i}" for i in range(max(vals[0], 1)))
            lines.append(f"  - {{concat: 1, in: [{parts}]}}")
    if "blocks:" in lines:
        lines.append(f"  - {{repeat: {rnd.choice([1, 2, 3, '$x', 0, -1, 10001])}, block: blk, "
                     f"args: {{w: {rnd.choice([1, 4, 8, 0, -3, 'x'])}}}}}")
    if rnd.random() < 0.7:
        lines += ["  - flatten: true", f"  - fc: {rnd.choice([1, 10, 1000])}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- ONNX

ONNX_OPS = ["Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul", "Add", "Mul",
            "Concat", "Reshape", "Transpose", "Flatten", "Softmax", "BatchNormalization", "Gather", "Slice",
            "Split", "Squeeze", "Unsqueeze", "Pad", "Resize", "Clip", "Sigmoid", "LayerNormalization",
            "ReduceMean", "Shape", "Constant", "Identity", "NonMaxSuppression", "Loop", "If", "Einsum",
            "TopK", "Cast", "Erf", "Where", "ConvTranspose", "LRN", "Dropout", "Expand", "Tile", "Range"]


def onnx_seeds():
    """A few small models (built with onnx.helper) covering convs, residuals, embeddings, reshapes."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def model(nodes, inputs, outputs, inits=(), opset=17):
        g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])

    f = TensorProto.FLOAT
    vi = helper.make_tensor_value_info
    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")
    b = numpy_helper.from_array(np.ones((8,), np.float32), "b")
    fw = numpy_helper.from_array(np.ones((10, 8), np.float32), "fw")
    m1 = model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
                helper.make_node("Relu", ["c"], ["r"], name="relu"),
                helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
                helper.make_node("GlobalAveragePool", ["p"], ["g"], name="gap"),
                helper.make_node("Flatten", ["g"], ["fl"], name="flat"),
                helper.make_node("Gemm", ["fl", "fw"], ["y"], transB=1, name="fc")],
               [vi("x", f, ["N", 3, 16, 16])], [vi("y", f, ["N", 10])], [w, b, fw])
    w2 = numpy_helper.from_array(np.ones((4, 4, 1, 1), np.float32), "w2")
    m2 = model([helper.make_node("Conv", ["x", "w2"], ["a"], name="c1"),
                helper.make_node("Add", ["a", "x"], ["s"], name="add"),
                helper.make_node("Concat", ["s", "x"], ["cat"], axis=1, name="cat"),
                helper.make_node("Split", ["cat"], ["u", "v"], axis=1, name="split"),
                helper.make_node("Mul", ["u", "v"], ["y"], name="mul")],
               [vi("x", f, [1, 4, 8, 8])], [vi("y", f, [1, 4, 8, 8])], [w2])
    emb = numpy_helper.from_array(np.ones((100, 16), np.float32), "emb")
    mw = numpy_helper.from_array(np.ones((16, 16), np.float32), "mw")
    m3 = model([helper.make_node("Gather", ["emb", "ids"], ["e"], axis=0, name="lookup"),
                helper.make_node("MatMul", ["e", "mw"], ["h"], name="mm"),
                helper.make_node("Softmax", ["h"], ["y"], axis=-1, name="sm")],
               [vi("ids", TensorProto.INT64, [1, 12])], [vi("y", f, [1, 12, 16])], [emb, mw])
    shp = numpy_helper.from_array(np.array([1, 8, 16], np.int64), "shp")
    m4 = model([helper.make_node("Reshape", ["x", "shp"], ["r"], name="reshape"),
                helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1], name="tr"),
                helper.make_node("Sigmoid", ["t"], ["y"], name="sig")],
               [vi("x", f, [1, 8, 4, 4])], [vi("y", f, [1, 16, 8])], [shp])
    out = []
    for m in (m1, m2, m3, m4):
        onnx.checker.check_model(m)
        out.append(m.SerializeToString())
    return out


def mutate_onnx(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    import onnx
    from onnx import helper
    if rnd.random() < 0.25:
        return flip_bytes(data, rnd), "bytes"
    m = onnx.load_from_string(data)
    g = m.graph
    ops = []
    for _ in range(rnd.randint(1, 3)):
        op = rnd.choice(["op_type", "attr", "attr_int", "rename_in", "delete", "dup", "dims", "badname",
                         "opset", "elem", "init_dims", "domain"])
        nodes = list(g.node)
        node = rnd.choice(nodes) if nodes else None
        if op == "op_type" and node is not None:
            node.op_type = rnd.choice(ONNX_OPS)
        elif op == "attr" and node is not None and node.attribute:
            del node.attribute[rnd.randrange(len(node.attribute))]
        elif op == "attr_int" and node is not None:
            name = rnd.choice(["axis", "group", "kernel_shape", "strides", "pads", "perm", "transB", "epsilon",
                               "dilations", "keepdims", "split"])
            v = rnd.choice([0, -1, -99, 1, 3, 2**31, 2**62, -2**62])
            keep = [a for a in node.attribute if a.name != name]
            del node.attribute[:]
            node.attribute.extend(keep)
            node.attribute.append(helper.make_attribute(name, [v] * rnd.randint(1, 4) if rnd.random() < .5 else v))
        elif op == "rename_in" and node is not None and node.input:
            node.input[rnd.randrange(len(node.input))] = rnd.choice(["nosuch", "", "x", "y"] + list(node.output))
        elif op == "delete" and node is not None:
            g.node.remove(node)
        elif op == "dup" and node is not None:
            g.node.append(node)
        elif op == "dims" and g.input:
            dims = g.input[0].type.tensor_type.shape.dim
            if dims:
                d = dims[rnd.randrange(len(dims))]
                if rnd.random() < 0.3:
                    d.dim_param = rnd.choice(["N", "seq", ""])
                else:
                    d.dim_value = rnd.choice([0, 1, 2, 3, 7, 2**31, 2**40, 2**62])
        elif op == "badname" and node is not None:
            node.name = "BADNAMEMARK"
        elif op == "opset":
            m.opset_import[0].version = rnd.choice([1, 6, 9, 11, 13, 17, 21, 99])
        elif op == "elem" and g.input:
            g.input[0].type.tensor_type.elem_type = rnd.choice([0, 1, 2, 7, 10, 11, 16, 99])
        elif op == "init_dims" and g.initializer:
            t = rnd.choice(list(g.initializer))
            if t.dims:
                t.dims[rnd.randrange(len(t.dims))] = rnd.choice([0, 1, 5, 2**31, 2**50])
        elif op == "domain" and node is not None:
            node.domain = rnd.choice(["com.microsoft", "ai.onnx.ml", "x"])
        ops.append(op)
    out = m.SerializeToString()
    # Not valid UTF-8 and of the same length: protobuf will hand it back as bytes.
    out = out.replace(b"BADNAMEMARK", b"\xff\xfeB\xc3(AD\x80MRK")
    return out, "+".join(ops)


# ---------------------------------------------------------------- ncnn .param

NCNN_NUMBERS = ["0", "-1", "1", "3", "-233", "-234", "2147483647", "2147483648", "-2147483649", "99999999999999",
                "1e308", "1e999", "-0.5", "nan", "inf", "2.5", "0x10", "", "1,2", "3,1,2,3", "65536", "-23300"]
NCNN_GARBAGE = ["=", "0=", "=1", "-23300=", "-23300=5,1", "-23330=4,3,1,1", "Convolution", "0 1", "7767517", "x=y",
                "-99999=1", "31=1", "32=1", "Input in 0 1 in", "Split s 1 9 a b", "\t", "é", "\x00", "💥",
                "-23300=99999999,1", "6=-1", "0=0", "1=0", "3=0", "Noop", "MemoryData", "Eltwise e 2 1 a b c"]
_NCNN_TOKEN = re.compile(r"\S+")


def ncnn_corpus_seeds() -> list[tuple[str, str]]:
    """(stem, text) of benchncnn's .param files of up to 300 lines, when ../shared is there."""
    return [(p.stem, p.read_text()) for p in _small_files(SHARED / "corpora" / "ncnn" / "models", "*.param", 300)]


def random_ncnn(rnd: random.Random) -> str:
    """A small, valid-looking .param: an Input, then a random chain with splits, a residual
    add, pools and a classifier head, blob counts kept consistent (mutations break them)."""
    c, hw = rnd.choice([1, 3, 4, 8]), rnd.choice([1, 5, 8, 16, 32])
    layers = [f"Input data 0 1 data 0={hw} 1={hw} 2={c}"]
    blob, n_blobs, k = "data", 1, 0
    for _ in range(rnd.randint(1, 8)):
        k += 1
        kind = rnd.choice(["conv", "dw", "pool", "relu", "bn", "residual", "sigmoid", "concat", "deconv", "clip"])
        out = f"b{k}"
        if kind == "conv":
            o, ker, st = rnd.choice([4, 8, 16]), rnd.choice([1, 3, 5]), rnd.choice([1, 2])
            layers.append(f"Convolution conv{k} 1 1 {blob} {out} 0={o} 1={ker} 3={st} 4={ker // 2} 5=1 "
                          f"6={o * c * ker * ker} 9={rnd.choice([0, 1, 2])}")
            c = o
        elif kind == "dw":
            ker = rnd.choice([3, 5])
            layers.append(f"ConvolutionDepthWise dw{k} 1 1 {blob} {out} 0={c} 1={ker} 4={ker // 2} 5=1 "
                          f"6={c * ker * ker} 7={c} 9=1")
        elif kind == "deconv":
            layers.append(f"Deconvolution up{k} 1 1 {blob} {out} 0={c} 1=2 3=2 5=0 6={c * c * 4}")
        elif kind == "pool":
            layers.append(f"Pooling pool{k} 1 1 {blob} {out} 0={rnd.choice([0, 1])} 1=2 2=2 "
                          f"{rnd.choice(['', '4=1', '5=1'])}".rstrip())
        elif kind == "relu":
            layers.append(f"ReLU relu{k} 1 1 {blob} {out}")
        elif kind == "sigmoid":
            layers.append(f"Sigmoid sig{k} 1 1 {blob} {out}")
        elif kind == "clip":
            layers.append(f"Clip clip{k} 1 1 {blob} {out} 0=0.0 1=6.0")
        elif kind == "bn":
            layers.append(f"BatchNorm bn{k} 1 1 {blob} {out} 0={c}")
        elif kind == "residual":
            layers.append(f"Split sp{k} 1 2 {blob} {out}a {out}b")
            layers.append(f"Convolution rc{k} 1 1 {out}a {out}c 0={c} 1=3 4=1 5=1 6={c * c * 9}")
            layers.append(f"BinaryOp add{k} 2 1 {out}c {out}b {out} 0=0")
            n_blobs += 3
        elif kind == "concat":
            layers.append(f"Split sp{k} 1 2 {blob} {out}a {out}b")
            layers.append(f"Concat cat{k} 2 1 {out}a {out}b {out} 0=0")
            n_blobs += 2
            c *= 2
        blob = out
        n_blobs += 1
    if rnd.random() < 0.7:
        layers.append(f"Pooling gap 1 1 {blob} gp 0=1 4=1")
        layers.append(f"InnerProduct fc 1 1 gp fc 0=10 1=1 2={10 * c}")
        layers.append("Softmax prob 1 1 fc prob 0=0")
        n_blobs += 3
    return f"7767517\n{len(layers)} {n_blobs}\n" + "\n".join(layers) + "\n"


def mutate_ncnn(text: str, rnd: random.Random) -> tuple[str, str]:
    """Token-level damage to layer lines (the format is whitespace-separated tokens), or the
    generic line-level damage."""
    if rnd.random() < 0.4:
        return mutate_text(text, rnd)
    lines = text.split("\n")
    ops = []
    for _ in range(rnd.choice([1, 1, 2, 3])):
        op = rnd.choice(["number", "number", "number", "drop", "insert", "header", "blob", "type"])
        i = 2 + rnd.randrange(max(1, len(lines) - 3)) if op != "header" else rnd.choice([0, 1])
        if i >= len(lines):
            continue
        toks = _NCNN_TOKEN.findall(lines[i])
        if not toks:
            continue
        j = rnd.randrange(len(toks))
        if op in ("number", "header"):
            key, eq, val = toks[j].partition("=")
            tgt = val if eq and rnd.random() < 0.75 else toks[j]
            ms = list(re.finditer(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", tgt))
            if ms:
                m = rnd.choice(ms)
                new = tgt[:m.start()] + rnd.choice(NCNN_NUMBERS) + tgt[m.end():]
                toks[j] = (key + eq + new) if tgt is val else new
        elif op == "drop":
            del toks[j]
        elif op == "insert":
            toks.insert(j, rnd.choice(NCNN_GARBAGE))
        elif op == "blob" and len(toks) > 4:
            toks[rnd.randrange(4, len(toks))] = rnd.choice(["data", "nosuch", "b1", "b1a", "prob", ""])
        elif op == "type":
            toks[0] = rnd.choice(["Convolution", "Pooling", "Split", "Concat", "Reshape", "Permute", "Slice",
                                  "Interp", "Crop", "Eltwise", "Gemm", "MultiHeadAttention", "Noop",
                                  "DetectionOutput", "Yolov3DetectionOutput", "PriorBox", "Nosuch"])
        lines[i] = " ".join(toks)
        ops.append(op)
    return "\n".join(lines), "+".join(ops) or "none"


# ---------------------------------------------------------------- hardware specs

def make_hwspec(rnd: random.Random, folder: Path) -> tuple[Path, str]:
    name, text = rnd.choice(hwspec_seeds())
    note = [name]
    r = rnd.random()
    if r < 0.6:
        text, ops = mutate_text(text, rnd)
        note.append(ops)
    if rnd.random() < 0.35:
        target = rnd.choice(["secret.yaml", "secret.txt", "./secret.txt", "fifo.yaml", "adir.yaml", "/dev/zero",
                             "nothere.yaml", f"{name}.yaml", "binary.yaml", "jetson_nano", "list.yaml",
                             "../" * 30 + "etc/passwd", "deep.yaml"])
        text = f"extends: {target}\n" + "\n".join(l for l in text.split("\n") if not l.startswith("extends:"))
        note.append(f"extends={target}")
    if rnd.random() < 0.1:
        text = text.replace("- {id: ", "- {id: {x: 1}, ref2: ", 1)
        note.append("id-mapping")
    if rnd.random() < 0.05:
        text = text.replace("description:", "description: " + "[" * rnd.choice([50, 99, 101, 5000]), 1)
        note.append("deep")
    p = folder / "spec" / f"{name}.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_text(text, errors="surrogateescape")
    return p, " ".join(note)


def plant_decoys(folder: Path) -> None:
    """Files a case may name: each holds the secret in a form a careless error would echo."""
    spec = folder / "spec"
    spec.mkdir(exist_ok=True)
    for d in (folder, spec):
        (d / "secret.yaml").write_text(f"{SECRET}: 1\nroot:{SECRET}:0:0\n")
        (d / "secret.txt").write_text(f"root:{SECRET}:20228:0:99999:7:::\n")
        (d / "list.yaml").write_text(f"- {SECRET}\n")
        (d / "binary.yaml").write_bytes(bytes(range(256)) + SECRET.encode())
        (d / "deep.yaml").write_text("name: " + "[" * 10000 + "\n")
        (d / "adir.yaml").mkdir(exist_ok=True)
        fifo = d / "fifo.yaml"
        if not fifo.exists():
            os.mkfifo(fifo)


# ---------------------------------------------------------------- CLI

CLI_SKIP = {"calibrate", "validate"}   # they time real runs on this machine: not input parsing


_SUBPARSERS: dict = {}


def _subparsers():
    """The CLI's subcommands (built once: cases only read the parser's option tables)."""
    if not _SUBPARSERS:
        _SUBPARSERS.update(_build_subparsers())
    return _SUBPARSERS


def _build_subparsers():
    import argparse

    from augur_sim.cli import build_parser
    p = build_parser(every=True)
    out = {}
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                if name not in CLI_SKIP:
                    out[name] = sp
    return out


_NET_VALUES = ["resnet18", "mobilenet_v2", "squeezenet1_1", "nosuchnet", "nets/alexnet.yaml", "net.yaml",
               "model.onnx", "model.param", "tiny.prototxt", "secret.yaml", "spec/secret.txt", "adir.yaml", "", "-", "nets/*.yaml",
               "resnet-s0-00002", "regnet-s1-00000"]
_HW_VALUES = ["jetson_nano", "raspberry_pi_4", "jetson_tx2", "jetson_*", "nosuchhw", "spec/secret.yaml",
              "raspberry_pi_4_1800", "rockchip_rk3588_vulkan", "snapdragon_*",
              "secret.txt", "/dev/zero", "fifo.yaml", "adir.yaml", "", "hwspecs/jetson_nano.yaml"]
_VALUES = {
    "--hw": _HW_VALUES, "--nets": _NET_VALUES, "net": _NET_VALUES,
    "--batch": ["1", "8", "0", "-1", "1,8", "99999999999999999999", "x", "1.5", "", "2 4"],
    "--input-shape": ["1x3x224x224", "1x3x0x2", "3x224", "x", "1x3x99999999x99999999", "1x" * 40 + "1"],
    "--precision": ["fp32", "fp16", "int8", "bf16", "fp64", "fp16,int8", ""],
    "--threads": ["1", "4", "0", "-2", "99999", "x", "1,4", "2,99999", "1,,2", "4,4"],
    "--cores": ["big", "little", "all", "big,all", "medium", "", "all,big,little"],
    "--runtime": ["ncnn", "ncnn-vulkan", "pytorch-eager", "cudnn", "nosuch", ""],
    "--runtime-mib": ["0", "10", "-1", "nan", "inf", "1e308"],
    "--set": ["gpu.clock_ghz=2", "gpu.clock_ghz=-1", "cpu.units=0", "nosuch=1", "gpu.caches[0].size_kib=1e30",
              "=", "gpu.clock_ghz=[1,2]", "name=x", "cpu.clusters[0].clock_ghz=2", "cpu.clusters[9].count=1"],
    "--vary": ["gpu.clock_ghz=0.3:2.0:8", "gpu.clock_ghz=1:1:1", "cpu.clock_ghz=0:1:3", "x=1:2:3",
               "gpu.dram_bw_gbs=1,2,3", "gpu.clock_ghz=1:2:100000", "gpu.clock_ghz=1:2:3:log",
               "cpu.clusters[0].clock_ghz=1:2:3", "cpu.clusters[0].count=1,2"],
    "--generate": ["resnet:2", "regnet:1", "mobilenet:1", "resnet:0", "resnet:-1", "x:2", "resnet:999999"],
    "--seed": ["0", "1", "-1", "x", "99999999999999999999"],
    "--top": ["3", "0", "-1", "x", "100000"],
    "--group-by": ["op", "stage", "x"],
    "layer": ["conv1", "nosuch", ""],
    "name": ["jetson_nano", "nosuch", "spec/secret.yaml", "secret.txt"],
    "file": ["spec/secret.yaml", "secret.txt", "hwspecs/jetson_nano.yaml", "adir.yaml", "fifo.yaml"],
    "results": ["sweep.csv", "secret.txt", "nosuch.parquet"],
    "--opset": ["17", "1", "0", "99999"],
    "--anchor": ["squeezenet1_1=3", "squeezenet1_1=0", "net.yaml=5", "nosuchnet=2", "model.param=1", "x=nan",
                 "=", "resnet18=1e400", "tiny.prototxt=2", "model.onnx=4", "squeezenet1_1=-1", "adir.yaml=1",
                 "fifo.yaml=2", "secret.txt=1", "resnet-s0-00002=7", "squeezenet1_1==3"],
}
_GENERIC = ["1", "0", "-1", "x", "", "out", "99999999999999999999", "nan"]
_SLOW_OPTIONS = {"--scheduler", "--jobs", "--progress", "--plot", "--flush-rows"}


def make_cli(rnd: random.Random, folder: Path) -> tuple[tuple, str]:
    import argparse
    subs = _subparsers()
    cmd = rnd.choice(sorted(subs))
    sp = subs[cmd]
    argv = [cmd]
    for a in sp._actions:
        if isinstance(a, argparse._SubParsersAction):
            sub = rnd.choice(sorted(a.choices))
            argv.append(sub)
            for b in a.choices[sub]._actions:
                if not b.option_strings and b.dest != "help":
                    argv.append(rnd.choice(_VALUES.get(b.dest, _GENERIC)))
            continue
        if a.dest == "help":
            continue
        if not a.option_strings:
            vals = _VALUES.get(a.dest, _GENERIC)
            n = 1 if a.nargs in (None, 1) else rnd.randint(1, 3)
            argv.extend(rnd.choice(vals) for _ in range(n))
            continue
        opt = a.option_strings[-1]
        if opt in _SLOW_OPTIONS:
            continue
        required = getattr(a, "required", False)
        if not required and rnd.random() < 0.6:
            continue
        for _ in range(rnd.choice([1, 1, 1, 2])):          # sometimes repeated
            if a.nargs == 0:
                argv.append(opt)
                break
            if opt in ("--out", "--out-prefix"):
                argv += [opt, rnd.choice(["out.json", "out.csv", "-", "adir.yaml", "o.parquet", "x.onnx", "o"])]
                continue
            vals = [c for c in a.choices] if a.choices else _VALUES.get(opt, _GENERIC)
            argv.append(opt)
            argv.extend(rnd.choice(vals) for _ in range(rnd.choice([1, 1, 2]) if a.nargs not in (None, 1)
                                                        else 1))
    # For a sweep, keep the grid tiny: it is option parsing under test, not the engine's speed.
    if cmd == "sweep":
        argv = [x if x not in ("nets/*.yaml", "jetson_*") else "resnet18" for x in argv]
    if cmd in ("estimate", "whatif", "analyze", "export", "cachesim") and rnd.random() < 0.3:
        argv = [x if x not in ("nets/*.yaml",) else "squeezenet1_1" for x in argv]
    return tuple(argv), cmd


# ---------------------------------------------------------------- cases

def _seeds(cls):
    if cls not in _SEEDS:
        _SEEDS[cls] = {"prototxt": prototxt_seeds, "yamlnet": yamlnet_seeds, "onnx": onnx_seeds,
                       "ncnn": ncnn_corpus_seeds}[cls]()
    return _SEEDS[cls]


def prepare_folder(folder: Path) -> dict:
    """Plant the decoys and the files CLI cases name; return a snapshot for reset_folder."""
    folder.mkdir(parents=True, exist_ok=True)
    plant_decoys(folder)
    (folder / "net.yaml").write_text((REPO / "nets" / "squeezenet1_1.yaml").read_text())
    (folder / "tiny.prototxt").write_text(_seeds("prototxt")[-1])
    (folder / "model.onnx").write_bytes(_seeds("onnx")[0])
    (folder / "model.param").write_text(random_ncnn(random.Random(0)))
    (folder / "sweep.csv").write_text("net,hw\nx,y\n")
    return _snapshot(folder)


def _snapshot(folder: Path) -> dict:
    out = {}
    for root, dirs, files in os.walk(folder):
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            # A folder's size and mtime change when a case adds a file to it: its type only.
            plain = not stat.S_ISDIR(st.st_mode)
            out[os.path.relpath(p, folder)] = (st.st_mode, st.st_size if plain else 0, st.st_mtime_ns if plain else 0)
    return out


def reset_folder(folder: Path, snap: dict) -> dict:
    """Bring a case folder back to its prepared state: remove what a case added, and prepare
    it afresh if a case changed a planted file. Much cheaper than a new folder per case
    (removing a folder tree costs ~12 ms here, more than most cases)."""
    now = _snapshot(folder)
    if any(now.get(k) != v for k, v in snap.items()):
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
        return prepare_folder(folder)
    for rel in sorted((k for k in now if k not in snap), key=lambda k: -k.count(os.sep)):
        p = folder / rel
        try:
            if p.is_dir() and not p.is_symlink():
                import shutil
                shutil.rmtree(p)
            else:
                p.unlink()
        except FileNotFoundError:
            pass
    return snap


def make_case(cls: str, seed: int, folder: Path, prepared: bool = False) -> Case:
    """The case (cls, seed), its files written into `folder` (prepared by prepare_folder
    unless `prepared` says it already is)."""
    rnd = random.Random(f"{cls}:{seed}")
    if not prepared:
        prepare_folder(folder)
    if cls == "prototxt":
        text, ops = mutate_text(rnd.choice(_seeds(cls)), rnd)
        p = folder / "case.prototxt"
        p.write_text(text, errors="surrogateescape")
        return Case(cls, seed, "load", str(p), note=ops)
    if cls == "yamlnet":
        if rnd.random() < 0.3:
            text, ops = random_yamlnet(rnd), "generated"
        else:
            text, ops = mutate_text(rnd.choice(_seeds(cls)), rnd)
        if rnd.random() < 0.2:
            lines = text.split("\n")
            lines.insert(rnd.randrange(len(lines) + 1), rnd.choice(YAML_INSERTS))
            text, ops = "\n".join(lines), ops + "+insert"
        p = folder / "case.yaml"
        p.write_text(text, errors="surrogateescape")
        return Case(cls, seed, "load", str(p), note=ops)
    if cls == "hwspec":
        p, note = make_hwspec(rnd, folder)
        return Case(cls, seed, "load", str(p), note=note)
    if cls == "onnx":
        data, ops = mutate_onnx(rnd.choice(_seeds(cls)), rnd)
        p = folder / "case.onnx"
        p.write_bytes(data)
        return Case(cls, seed, "load", str(p), note=ops)
    if cls == "ncnn":
        corpus = _seeds(cls)
        if corpus and rnd.random() < 0.7:
            stem, text = rnd.choice(corpus)
            note = stem
        else:
            stem, text, note = "gen", random_ncnn(rnd), "generated"
        text, ops = mutate_ncnn(text, rnd)
        # The file keeps its corpus stem: some benchncnn models take their input shape from it.
        p = folder / f"{stem}.param"
        p.write_text(text, errors="surrogateescape")
        return Case(cls, seed, "load", str(p), note=f"{note}:{ops}")
    if cls == "cli":
        # Files the options may name are in the case folder (prepare_folder; the CLI runs there).
        argv, cmd = make_cli(rnd, folder)
        return Case(cls, seed, "cli", None, argv=argv, note=cmd)
    raise ValueError(f"unknown fuzz class {cls!r}")


@dataclass
class Outcome:
    status: str          # ok | refused | FAIL
    signature: str = ""  # for FAIL: what went wrong and where
    detail: str = ""


def _signature(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    ours = [f for f in frames if "augur_sim" in f.filename.replace("\\", "/")]
    f = (ours or frames or [None])[-1]
    where = f"{Path(f.filename).name}:{f.name}" if f is not None else "?"
    return f"{type(e).__name__} in {where}"


def _check_message(msg: str, outputs: str) -> str | None:
    if SECRET in outputs:
        return "secret-echoed"
    if "\n" in msg.strip():
        return "multi-line-error"
    if "Traceback" in outputs:
        return "traceback-printed"
    return None


def _load_and_use(path: str, seed: int) -> None:
    """What a user does with a file: load it, count it, estimate it, print it every way."""
    from augur_sim.counts import count_net
    from augur_sim.estimator import estimate
    from augur_sim.frontends import load_net
    from augur_sim.report import analyze_csv, analyze_dict, analyze_table, dumps, estimate_csv, estimate_table
    g = load_net(path, lenient=seed % 2 == 1)
    nc = count_net(g)
    json.loads(dumps(analyze_dict(nc)))
    analyze_csv(nc), analyze_table(nc)
    if seed % 8 == 0 and sum(1 for _ in g.order) <= 400:   # the engine on a sample: parsing is the target
        # A corpus spec too: its CPU defaults to the fitted ncnn model, which picks the precision itself.
        hw = ("jetson_nano", "raspberry_pi_4", "rockchip_rk3588")[(seed // 8) % 3]
        est = estimate(g, hw, precision="fp32" if hw == "rockchip_rk3588" else ("fp32", "fp16", "int8")[seed % 3])
        dumps(est.to_dict()), estimate_csv(est), estimate_table(est)


_TINY: list = []


def _tiny_net():
    if not _TINY:
        from augur_sim.frontends.yamlnet import load_yamlnet_text
        _TINY.append(load_yamlnet_text("name: t\ninput: {shape: [1, 3, 32, 32]}\nlayers:\n"
                                       "  - {conv: {out: 16, k: 3, p: 1}, bn: true, act: relu}\n"
                                       "  - {conv: {out: 16, k: 3, g: 16, p: 1}, act: relu}\n"
                                       "  - maxpool: 2\n  - gap: true\n  - fc: 10\n"))
    return _TINY[0]


def _hw_and_use(path: str, seed: int) -> None:
    from augur_sim.estimator import estimate
    from augur_sim.hw import format_hw, load_hw
    dev = load_hw(path)
    format_hw(dev)
    g = _tiny_net()
    for proc in dev.processors:
        estimate(g, dev, processor=proc, precision=("fp32", "fp16", "int8")[seed % 3])


def run_case(case: Case, folder: Path) -> Outcome:
    """Run one case in this process (the caller bounds its time and memory)."""
    from augur_sim.errors import AugurError
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if case.kind == "cli":
                from augur_sim.cli import main
                try:
                    rc = main(list(case.argv))
                except SystemExit as e:    # argparse's --help, or _Parser.error
                    rc = e.code if isinstance(e.code, int) else 2
            else:
                try:
                    if case.cls == "hwspec":
                        _hw_and_use(case.path, case.seed)
                    else:
                        _load_and_use(case.path, case.seed)
                    rc = 0
                except AugurError as e:
                    print(f"augur: error: {e}", file=sys_stderr())
                    rc = 2
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001 -- classifying every escape is the point
        if type(e).__name__ == "CaseTimeout":
            raise
        return Outcome("FAIL", _signature(e), f"{type(e).__name__}: {str(e)[:300]}")
    finally:
        os.chdir(old)
    o, e = out.getvalue(), err.getvalue()
    bad = _check_message(e, o + e)
    if bad:
        return Outcome("FAIL", bad, (e or o)[:300])
    if rc == 0:
        return Outcome("ok")
    if rc == 2 and e.startswith("augur: error: ") and e.strip().count("\n") == 0:
        return Outcome("refused", detail=e.strip()[:200])
    return Outcome("FAIL", f"exit-{rc}-stderr-{'prefixed' if e.startswith('augur: error: ') else 'bare'}",
                   (e or o)[:300])


def sys_stderr():
    import sys
    return sys.stderr
