"""The shared YAML reader (hw/yamlsrc.parse_yaml) runs on libyaml's parser when PyYAML has
it: same located trees as the pure-Python loader, same one-line errors."""
from pathlib import Path

import pytest
import yaml

from augur_sim.errors import ParseError
from augur_sim.hw import yamlsrc
from augur_sim.yamlguard import BoundedSafeLoader, FastSafeLoader

REPO = Path(__file__).resolve().parents[1]
FILES = sorted((REPO / "hwspecs").rglob("*.yaml")) + sorted((REPO / "nets").glob("*.yaml"))


def _plain(node):
    v = node.value
    if isinstance(v, dict):
        return {k: (_plain(c), c.line) for k, c in v.items()}
    if isinstance(v, list):
        return [(_plain(c), c.line) for c in v]
    return v


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_libyaml_loader_in_use_and_gives_the_same_trees(monkeypatch):
    assert FastSafeLoader is not BoundedSafeLoader
    assert len(FILES) > 50
    for p in FILES:
        text = p.read_text()
        fast = _plain(yamlsrc.parse_yaml(text, p.name))
        monkeypatch.setattr(yamlsrc, "FastSafeLoader", BoundedSafeLoader)
        slow = _plain(yamlsrc.parse_yaml(text, p.name))
        monkeypatch.undo()
        assert fast == slow, p.name


@pytest.mark.parametrize("text,line", [
    ("name: é\nb: x\x01\n", 2),            # a control byte after a 2-byte character: line 2, not 3
    ("a: 1\n# ééééé\n\n\nb: \x00\n", 5),
    ("a: \udcff\n", 1),                      # a lone surrogate cannot go to libyaml: still one line
])
def test_control_characters_located_on_their_line(text, line):
    with pytest.raises(ParseError) as e:
        yamlsrc.parse_yaml(text, "f.yaml")
    assert str(e.value).startswith(f"f.yaml:{line}: character U+") and "\n" not in str(e.value)


def test_libyaml_depth_limit_reads_as_ours():
    with pytest.raises(ParseError) as e:
        yamlsrc.parse_yaml("a: " + "[" * 5000 + "\n", "f.yaml")
    assert "nesting deeper than 100 levels" in str(e.value)
