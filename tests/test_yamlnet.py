"""The YAML network format: expansion (blocks, repeat, params, branches) and strict errors."""
from __future__ import annotations

import textwrap

import pytest

from augur_sim.counts import count_net
from augur_sim.errors import AugurError, ParseError, SchemaError
from augur_sim.frontends import load_net
from augur_sim.frontends.yamlnet import load_yamlnet

HEAD = """\
name: t
input: {shape: [1, 3, 16, 16]}
"""


def _write(tmp_path, text):
    p = tmp_path / "net.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def load(tmp_path, text, **kw):
    return load_yamlnet(_write(tmp_path, text), **kw)


def line_of(text, needle):
    lines = textwrap.dedent(text).splitlines()
    hits = [i + 1 for i, l in enumerate(lines) if needle in l]
    assert len(hits) == 1, f"needle {needle!r} must be on exactly one line"
    return hits[0]


def fails(tmp_path, text, cls=SchemaError):
    p = _write(tmp_path, text)
    with pytest.raises(cls) as ei:
        load_yamlnet(p)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(f"{p}:")
    return msg, str(p)


# ------------------------------------------------------------------ expansion

def test_fused_group_expands_to_three_layers(tmp_path):
    text = HEAD + """\
layers:
  - conv1: {conv: {out: 8, k: 3, p: 1}, bn: true, act: relu}
  - fc: {fc: 10}
"""
    g = load(tmp_path, text)
    conv, bn, act = (g.layer(n) for n in ("conv1", "conv1.bn", "conv1.relu"))
    assert conv.op == "conv" and bn.op == "batchnorm" and act.op == "act"
    assert conv.attrs["bias"] is False  # the BN's beta replaces the conv bias
    assert conv.attrs["pad"] == (1, 1, 1, 1) and conv.attrs["kernel"] == (3, 3)
    assert bn.attrs["affine"] is True and act.attrs["fn"] == "relu"
    assert bn.inputs == ("conv1",) and act.inputs == ("conv1.bn",)
    assert g.layer("fc").inputs == ("conv1.relu",)
    assert conv.source.line == act.source.line == line_of(text, "conv1:")
    c = count_net(g)
    by = {l.name: l.counts for l in c.layers}
    assert by["conv1"].params == 8 * 3 * 9          # no bias
    assert by["conv1.bn"].params == 16 and by["conv1.bn"].stat_params == 16
    assert by["fc"].params == 10 * 8 * 16 * 16 + 10  # fc keeps its bias without bn


def test_conv_without_bn_keeps_bias_and_explicit_override(tmp_path):
    g = load(tmp_path, HEAD + """\
layers:
  - a: {conv: {out: 4, k: 1}, act: relu}
  - b: {conv: {out: 4, k: 1, bias: true}, bn: true}
""")
    assert g.layer("a").attrs["bias"] is True
    assert g.layer("b").attrs["bias"] is True


BLOCK_NET = HEAD + """\
blocks:
  basic:
    params: {out: int, stride: {type: int, default: 1}, project: {type: bool, default: false}}
    layers:
      - conv1: {conv: {out: $out, k: 3, s: $stride, p: 1}, bn: true, act: relu}
      - conv2: {conv: {out: $out, k: 3, p: 1}, bn: true}
      - downsample: {conv: {out: $out, k: 1, s: $stride}, bn: true, in: input, if: $project}
      - add: {add: true, in: [conv2, downsample], act: relu}
layers:
  - stem: {conv: {out: 8, k: 3, p: 1}}
  - layer1: {repeat: 3, block: basic, args: {out: 16}, first: {stride: 2, project: true}}
"""


def test_blocks_repeat_and_params(tmp_path):
    g = load(tmp_path, BLOCK_NET)
    names = set(g.order)
    for i in range(3):
        assert f"layer1.{i}.conv1" in names and f"layer1.{i}.add.relu" in names
    # `first` overrides only repetition 0: one projection, one stride-2 conv.
    assert "layer1.0.downsample" in names
    assert not any(n.startswith(("layer1.1.downsample", "layer1.2.downsample")) for n in names)
    assert g.layer("layer1.0.conv1").attrs["stride"] == (2, 2)
    assert g.layer("layer1.1.conv1").attrs["stride"] == (1, 1)
    assert g.tensors["layer1.2.add.relu"].shape == (1, 16, 8, 8)
    # The projection reads the block input; a skipped projection passes the input on.
    assert g.layer("layer1.0.downsample").inputs == ("stem",)
    assert g.layer("layer1.0.add").inputs == ("layer1.0.conv2.bn", "layer1.0.downsample.bn")
    assert g.layer("layer1.1.add").inputs == ("layer1.1.conv2.bn", "layer1.0.add.relu")
    # Layers inside a block point at the block's definition lines.
    assert g.layer("layer1.2.conv2").source.line == line_of(BLOCK_NET, "- conv2:")
    assert g.outputs == ["layer1.2.add.relu"]


def test_nested_blocks_and_repeat_count_from_param(tmp_path):
    g = load(tmp_path, HEAD + """\
blocks:
  unit:
    params: {c: int}
    layers:
      - c: {conv: {out: $c, k: 1}}
  stage:
    params: {c: int, n: int}
    layers:
      - units: {repeat: $n, block: unit, args: {c: $c}}
layers:
  - s1: {block: stage, args: {c: 5, n: 4}}
""")
    assert [n for n in g.order if n != "data"] == [f"s1.units.{i}.c" for i in range(4)]
    assert g.tensors["s1.units.3.c"].shape == (1, 5, 16, 16)


def test_se_block_broadcast_mul(tmp_path):
    g = load(tmp_path, HEAD + """\
layers:
  - body: {conv: {out: 32, k: 3, p: auto, g: 1}}
  - sq: {gap: true}
  - fc1: {conv: {out: 8, k: 1}, act: silu}
  - fc2: {conv: {out: 32, k: 1}, act: sigmoid}
  - scale: {mul: true, in: [body, fc2]}
""")
    assert g.tensors["fc2.sigmoid"].shape == (1, 32, 1, 1)
    assert g.tensors["scale"].shape == (1, 32, 16, 16)
    mul = g.layer("scale")
    assert mul.op == "eltwise" and mul.attrs["fn"] == "prod" and mul.attrs["broadcast"] is True
    assert g.layer("fc1.silu").attrs["fn"] == "swish"
    c = {l.name: l.counts for l in count_net(g).layers}
    assert c["scale"].macs == 0 and c["scale"].flops == 32 * 16 * 16


def test_depthwise_auto_pad_split_and_shuffle(tmp_path):
    g = load(tmp_path, HEAD + """\
layers:
  - pw: {conv: {out: 8, k: 1}}
  - dw: {conv: {k: 5, s: 2, p: auto, g: dw}, bn: true}
  - halves: {split: 2}
  - right: {conv: {out: 4, k: 1}, in: halves:1}
  - cat: {concat: true, in: [halves:0, right]}
  - mix: {shuffle: 2}
""")
    dw = g.layer("dw")
    assert dw.attrs["group"] == 8 and dw.attrs["out_channels"] == 8 and dw.attrs["pad"] == (2, 2, 2, 2)
    assert g.tensors["dw.bn"].shape == (1, 8, 8, 8)
    assert g.layer("halves").outputs == ("halves:0", "halves:1")
    assert g.layer("cat").inputs == ("halves:0", "right")
    ops = [(g.layer(n).op, g.tensors[n].shape) for n in ("mix.split_groups", "mix.transpose", "mix")]
    assert ops == [("reshape", (1, 2, 4, 8, 8)), ("transpose", (1, 4, 2, 8, 8)), ("reshape", (1, 8, 8, 8))]


def test_auto_names_skip_explicit_ones(tmp_path):
    g = load(tmp_path, HEAD + """\
layers:
  - conv: {out: 4, k: 1}
  - conv1: {conv: {out: 4, k: 1}}
  - {conv: {out: 4, k: 1}, act: relu}
  - {maxpool: 2}
""")
    assert [n for n in g.order if n != "data"] == ["conv2", "conv1", "conv3", "conv3.relu", "maxpool1"]
    assert g.layer("maxpool1").attrs["stride"] == (2, 2)  # stride defaults to the kernel


def test_layer_named_like_an_op(tmp_path):
    g = load(tmp_path, HEAD + """\
layers:
  - a: {conv: {out: 3, k: 1}}
  - add: {add: true, in: [a, input]}
""")
    assert g.layer("add").op == "eltwise" and g.layer("add").inputs == ("a", "data")


def test_outputs_and_input_shape_override(tmp_path):
    text = HEAD + """\
layers:
  - a: {conv: {out: 3, k: 1}}
  - b: {conv: {out: 5, k: 3}, in: input}
outputs: [a, b]
"""
    g = load(tmp_path, text, input_shape=(2, 3, 32, 32))
    assert sorted(g.outputs) == ["a", "b"]
    assert g.tensors["b"].shape == (2, 5, 30, 30)


def test_load_net_dispatches_yaml(tmp_path):
    p = _write(tmp_path, HEAD + "layers:\n  - {fc: 7}\n")
    g = load_net(str(p), batch=3)
    assert g.tensors["fc1"].shape == (3, 7)


# ------------------------------------------------------------------ bad input

def test_unknown_key(tmp_path):
    text = HEAD + "layers:\n  - c: {conv: {out: 4, k: 1, strid: 2}}\n"
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:4: layers[0].c.conv.strid:")
    assert "unknown option 'strid'" in msg and "expected one of out, k, s, p" in msg


def test_unknown_layer_key_suggests(tmp_path):
    msg, p = fails(tmp_path, HEAD + "layers:\n  - c: {conv: {out: 4, k: 1}, actt: relu}\n")
    assert msg.startswith(f"{p}:4: layers[0].c.actt:") and "did you mean 'act'" in msg


def test_unknown_top_level_key(tmp_path):
    msg, p = fails(tmp_path, HEAD + "layer:\n  - {fc: 3}\n")
    assert msg.startswith(f"{p}:3: layer:")


def test_wrong_type(tmp_path):
    msg, p = fails(tmp_path, HEAD + "layers:\n  - c: {conv: {out: 4, k: '3'}}\n")
    assert msg.startswith(f"{p}:4: layers[0].c.conv.k:") and "positive integer" in msg


def test_wrong_arg_type(tmp_path):
    text = BLOCK_NET.replace("args: {out: 16}", "args: {out: sixteen}")
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:{line_of(text, 'layer1:')}: layers[1].layer1.args.out:")
    assert "expected int" in msg


@pytest.mark.parametrize("bad", ["out: 0", "out: -4", "k: 0", "s: [1, -1]"])
def test_zero_and_negative_dims(tmp_path, bad):
    key = bad.split(":")[0]
    conv = {"out": 4, "k": 1}
    body = ", ".join(f"{k}: {v}" for k, v in conv.items() if k != key)
    text = HEAD + f"layers:\n  - c: {{conv: {{{body}, {bad}}}}}\n"
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:4: layers[0].c.conv.{key}")
    assert "positive" in msg


def test_zero_input_dim(tmp_path):
    msg, p = fails(tmp_path, "name: t\ninput: {shape: [1, 3, 0, 16]}\nlayers:\n  - {fc: 3}\n")
    assert msg.startswith(f"{p}:2: input.shape[2]:")


def test_zero_dim_through_param(tmp_path):
    text = BLOCK_NET.replace("args: {out: 16}", "args: {out: 0}")
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:{line_of(text, '- conv1:')}: blocks.basic.layers[0].conv1.conv.out")
    assert "expanding layer1.0 = basic" in msg


def test_undefined_block(tmp_path):
    text = BLOCK_NET.replace("block: basic", "block: basik")
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:{line_of(text, 'layer1:')}: layers[1].layer1.block:")
    assert "undefined block 'basik'" in msg


def test_undefined_reference(tmp_path):
    text = BLOCK_NET.replace("in: [conv2, downsample]", "in: [conv2, shortcut]")
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:{line_of(text, '- add:')}: blocks.basic.layers[3].add.in[1]")
    assert "undefined layer 'shortcut'" in msg


def test_forward_reference_is_undefined(tmp_path):
    msg, _ = fails(tmp_path, HEAD + "layers:\n  - a: {fc: 3, in: b}\n  - b: {fc: 3}\n")
    assert "undefined layer 'b'" in msg


def test_undefined_param(tmp_path):
    text = BLOCK_NET.replace("s: $stride, p: 1", "s: $strde, p: 1")
    msg, p = fails(tmp_path, text)
    assert f"{p}:{line_of(text, '- conv1:')}: blocks.basic.layers[0].conv1.conv.s" in msg
    assert "undefined parameter '$strde'" in msg


def test_missing_and_unknown_args(tmp_path):
    msg, _ = fails(tmp_path, BLOCK_NET.replace("args: {out: 16}", "args: {}"))
    assert "needs parameter 'out'" in msg
    msg, _ = fails(tmp_path, BLOCK_NET.replace("args: {out: 16}", "args: {out: 16, width: 2}"))
    assert "layers[1].layer1.args.width" in msg and "no parameter 'width'" in msg


def test_block_recursion(tmp_path):
    text = HEAD + """\
blocks:
  a:
    layers:
      - x: {block: b}
  b:
    layers:
      - y: {block: a}
layers:
  - top: {block: a}
"""
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:{line_of(text, '- y:')}: blocks.b.layers[0].y.block")
    assert "block recursion: a -> b -> a" in msg


def test_self_recursion(tmp_path):
    msg, _ = fails(tmp_path, HEAD + "blocks:\n  a:\n    layers:\n      - x: {block: a}\n"
                                    "layers:\n  - top: {block: a}\n")
    assert "block recursion: a -> a" in msg


def test_duplicate_layer_names(tmp_path):
    text = HEAD + "layers:\n  - a: {fc: 3}\n  - a: {fc: 4}\n"
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:5: layers[1].a:") and "duplicate layer name 'a' (first at line 4)" in msg


def test_duplicate_yaml_key(tmp_path):
    msg, p = fails(tmp_path, HEAD + "layers:\n  - a: {conv: {out: 3, out: 4, k: 1}}\n")
    assert msg.startswith(f"{p}:4:") and "duplicate key 'out'" in msg


def test_two_ops_in_one_entry(tmp_path):
    msg, _ = fails(tmp_path, HEAD + "layers:\n  - a: {conv: {out: 3, k: 1}, fc: 3}\n")
    assert "layers[0].a.fc" in msg and "one op per layer entry" in msg


def test_multi_output_needs_an_index(tmp_path):
    msg, p = fails(tmp_path, HEAD + "layers:\n  - s: {split: 3}\n  - c: {conv: {out: 2, k: 1}}\n")
    assert msg.startswith(f"{p}:5: layers[1].c:") and "'s' has 3 outputs" in msg
    msg, _ = fails(tmp_path, HEAD + "layers:\n  - s: {split: 3}\n  - c: {concat: true, in: [s:0, s:3]}\n")
    assert "index 3 is out of range" in msg


def test_dangling_branch(tmp_path):
    text = HEAD + "layers:\n  - a: {conv: {out: 3, k: 1}}\n  - b: {conv: {out: 3, k: 1}, in: input}\n"
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:4: layers[0].a") and "never used" in msg


def test_unused_block(tmp_path):
    text = HEAD + "blocks:\n  spare:\n    layers:\n      - {fc: 3}\nlayers:\n  - {fc: 3}\n"
    msg, p = fails(tmp_path, text)
    assert msg.startswith(f"{p}:4: blocks.spare:") and "never used" in msg


def test_absurd_repeat(tmp_path):
    msg, _ = fails(tmp_path, BLOCK_NET.replace("repeat: 3", "repeat: 1000000"))
    assert "layers[1].layer1.repeat" in msg and "more than" in msg


def test_shape_error_is_located(tmp_path):
    text = HEAD + "layers:\n  - big: {conv: {out: 3, k: 17}}\n"
    p = _write(tmp_path, text)
    with pytest.raises(AugurError) as ei:
        load_yamlnet(p)
    assert str(ei.value).startswith(f"{p}:4: layers[0].big.conv (layer 'big'):")
    assert "larger than the padded input" in str(ei.value)


def test_yaml_syntax_error(tmp_path):
    msg, p = fails(tmp_path, HEAD + "layers:\n  - a: {conv: {out: 3, k: 1}\n", cls=ParseError)
    assert "YAML syntax" in msg


def test_unsafe_tags_are_refused(tmp_path):
    fails(tmp_path, HEAD + "layers: !!python/object/apply:os.system ['true']\n", cls=ParseError)


def test_not_a_mapping(tmp_path):
    msg, _ = fails(tmp_path, "- just\n- a list\n")
    assert "a network file is a mapping" in msg
