"""The YAML reader's fast loader (libyaml's parser under PyYAML's composer, yamlguard.py)
reads every shipped file exactly as PyYAML's pure-Python safe loader does, and reports bad
documents at the same lines."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from augur_sim.errors import ParseError
from augur_sim.hw.yamlsrc import parse_yaml
from augur_sim.yamlguard import BoundedLoader, BoundedSafeLoader, parse_error

REPO = Path(__file__).resolve().parents[1]
FILES = sorted((REPO / "nets").glob("*.yaml")) + sorted((REPO / "hwspecs").rglob("*.yaml"))
fast_only = pytest.mark.skipif(BoundedLoader is BoundedSafeLoader, reason="PyYAML has no libyaml here")


def _compose(loader_cls, text):
    loader = loader_cls(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _same(a, b, where):
    assert type(a) is type(b) and a.tag == b.tag, where
    assert (a.start_mark.line, a.start_mark.column) == (b.start_mark.line, b.start_mark.column), where
    if isinstance(a, yaml.ScalarNode):
        # (a plain scalar's style is None in PyYAML, '' in libyaml: both "plain")
        assert (a.value, a.style or None) == (b.value, b.style or None), where
    elif isinstance(a, yaml.SequenceNode):
        assert len(a.value) == len(b.value), where
        for i, (x, y) in enumerate(zip(a.value, b.value)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert len(a.value) == len(b.value), where
        for (ka, va), (kb, vb) in zip(a.value, b.value):
            _same(ka, kb, where)
            _same(va, vb, f"{where}.{ka.value}")


def test_files_exist():
    assert len(FILES) > 20


@fast_only
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_fast_loader_composes_what_the_python_loader_does(path):
    text = path.read_text()
    _same(_compose(BoundedLoader, text), _compose(BoundedSafeLoader, text), path.name)


@fast_only
@pytest.mark.parametrize("text", [
    "a: [1, 2\n", "a: 1\n\tb: 2\n", "a: *nope\n", "- 1\nb: 2\n", "a: b: c\n", "a:\n  - 1\n - 2\n",
    "x: 'open\n", "a: \x07\n",
])
def test_bad_documents_fail_at_the_same_line(text):
    lines = []
    for cls in (BoundedLoader, BoundedSafeLoader):
        with pytest.raises(yaml.YAMLError) as ei:
            _compose(cls, text)
        lines.append(parse_error(ei.value, text, "f.yaml").line)
    assert lines[0] == lines[1]


def test_nesting_is_bounded_by_either_parser():
    for depth in (150, 5000):
        with pytest.raises(ParseError, match="nesting deeper than"):
            parse_yaml("a: " + "[" * depth + "]" * depth + "\n", "deep.yaml")


@pytest.mark.parametrize("text,line", [
    ("name: é\nb: x\x01\n", 2),
    ("a: 1\n# ééééé\n\n\nb: \x00\n", 5),     # libyaml counts bytes: the 2-byte characters must not shift the line
    ("a: \udcff\n", 1),                      # a lone surrogate cannot go to libyaml: still one located line
])
def test_control_characters_located_on_their_line(text, line):
    with pytest.raises(ParseError) as e:
        parse_yaml(text, "f.yaml")
    assert str(e.value).startswith(f"f.yaml:{line}: character U+") and "\n" not in str(e.value)
