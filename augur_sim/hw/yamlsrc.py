"""Read a YAML file into a tree of located nodes (value, file, line).

yaml.SafeLoader composes the document into nodes that carry start marks; we walk
those nodes ourselves so that every value keeps the line it came from, duplicate
keys are caught (PyYAML silently keeps the last one), and alias expansion is bounded
(a "billion laughs" file would otherwise expand exponentially).
"""
from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from augur_sim.errors import ParseError, SchemaError
from augur_sim.hw.schema import MAX_FILE_BYTES
from augur_sim.yamlguard import MAX_YAML_DEPTH, BoundedLoader, BoundedSafeLoader, parse_error

MAX_NODES = 50_000


@dataclass
class Node:
    """value: dict[str, Node] | list[Node] | scalar (str, int, float, bool, None, ...)."""
    value: object
    file: str
    line: int | None      # 1-based; None for values that came from overrides
    key_lines: dict | None = None  # mapping: key -> the line of the key itself
    # What hw/load.py derived from this subtree (its checked section, its built processor),
    # so that an override re-checks only what it changed. Sound because a tree is never
    # changed once read: hw/load.apply_overrides copies the nodes on an override's path.
    derived: dict | None = field(default=None, compare=False, repr=False)


def format_path(path: tuple) -> str:
    """('processors', 'gpu', 'caches', 1, 'size_kib') -> 'processors.gpu.caches[1].size_kib'."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def read_text(path: Path, shown: str) -> str:
    """The file's text, refusing missing, unreadable, oversized or non-UTF-8 files."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            # A FIFO would block, a device would stream without end: specs are plain files.
            raise SchemaError("not a regular file", file=shown)
        size = st.st_size
        if size > MAX_FILE_BYTES:
            raise SchemaError(f"file is {size} bytes; hardware specs are limited to "
                              f"{MAX_FILE_BYTES} bytes", file=shown)
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise SchemaError(f"cannot read file: {e.strerror or e}", file=shown) from None
    if len(data) > MAX_FILE_BYTES:
        raise SchemaError(f"file is over {MAX_FILE_BYTES} bytes", file=shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SchemaError(f"not UTF-8 text (byte {e.start})", file=shown) from None


class _Walker:
    def __init__(self, shown: str, loader: yaml.SafeLoader, max_nodes: int = MAX_NODES, what: str = "specs"):
        self.shown = shown
        self.loader = loader
        self.count = 0
        self.max_nodes = max_nodes
        self.what = what

    def walk(self, node: yaml.Node, path: tuple) -> Node:
        self.count += 1
        line = node.start_mark.line + 1
        if len(path) > MAX_YAML_DEPTH:
            # The composer's bound does not see a recursive alias (`a: &x [*x]` is a node that
            # contains itself): the walk would recurse without end.
            raise ParseError(f"YAML nesting deeper than {MAX_YAML_DEPTH} levels (a recursive alias?)",
                             file=self.shown, line=line)
        if self.count > self.max_nodes:
            raise SchemaError(f"document expands to more than {self.max_nodes} nodes "
                              "(aliases?)", file=self.shown, line=line, where=format_path(path))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and \
                node.tag not in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            # Specs and nets are plain data: explicit tags (!!python/..., !!set, !!omap) are refused.
            raise ParseError(f"YAML tag {node.tag!r} not allowed; {self.what} are plain mappings, "
                             "lists and scalars", file=self.shown, line=line,
                             where=format_path(path) or None)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Node] = {}
            key_lines: dict[str, int] = {}
            for knode, vnode in node.value:
                kline = knode.start_mark.line + 1
                if not isinstance(knode, yaml.ScalarNode) or knode.tag == "tag:yaml.org,2002:merge":
                    raise SchemaError("mapping keys must be plain strings (no '<<' merges, no "
                                      "complex keys)", file=self.shown, line=kline,
                                      where=format_path(path))
                key = self.loader.construct_object(knode)
                if not isinstance(key, str):
                    raise SchemaError(f"mapping key {key!r} must be a string",
                                      file=self.shown, line=kline, where=format_path(path))
                if key in out:
                    raise SchemaError(f"duplicate key {key!r} (first at line {out[key].line})",
                                      file=self.shown, line=kline, where=format_path(path + (key,)))
                child = self.walk(vnode, path + (key,))
                # A mapping's own line is where its value starts; errors about the key
                # itself read better at the key's line.
                if not isinstance(child.value, (dict, list)):
                    child.line = kline
                out[key] = child
                key_lines[key] = kline
            return Node(out, self.shown, line, key_lines)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.walk(v, path + (i,)) for i, v in enumerate(node.value)],
                        self.shown, line)
        try:
            value = self.loader.construct_object(node)
        except yaml.YAMLError as e:
            raise ParseError(f"bad scalar: {getattr(e, 'problem', None) or e}",
                             file=self.shown, line=line, where=format_path(path)) from None
        return Node(value, self.shown, line)


def parse_yaml(text: str, shown: str, max_nodes: int = MAX_NODES, what: str = "specs",
               top: str = "top level must be a mapping of spec fields",
               empty: str = "empty document; expected a mapping", empty_line: int | None = 1) -> Node:
    """Compose `text` with the safe loader and return the located tree. The one YAML
    reader of the package: hardware specs (here) and YAML nets (frontends/yamlnet.py)."""
    loader = None
    cls: type = BoundedLoader
    try:
        # The loader's constructor already scans the text (a NUL byte raises there), so it
        # is built inside the try; composing is depth-bounded (yamlguard).
        try:
            loader = cls(text)
        except UnicodeEncodeError:
            # A lone surrogate (text from an API caller) cannot go to libyaml as UTF-8;
            # PyYAML's own reader refuses it with a located error.
            cls = BoundedSafeLoader
            loader = cls(text)
        root = loader.get_single_node()
        if root is None:
            raise SchemaError(empty, file=shown, line=empty_line)
        if not isinstance(root, yaml.MappingNode):
            raise SchemaError(top,
                              file=shown, line=root.start_mark.line + 1)
        return _Walker(shown, loader, max_nodes, what).walk(root, ())
    except yaml.YAMLError as e:
        raise parse_error(e, text, shown, getattr(cls, "byte_offsets", False)) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: Path, shown: str) -> Node:
    return parse_yaml(read_text(path, shown), shown)


def from_plain(value, file: str = "<overrides>", line: int | None = None) -> Node:
    """Wrap plain Python data (dicts/lists/scalars) as located nodes."""
    if isinstance(value, Node):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SchemaError(f"mapping key {k!r} must be a string", file=file)
            out[k] = from_plain(v, file, line)
        return Node(out, file, line)
    if isinstance(value, (list, tuple)):
        return Node([from_plain(v, file, line) for v in value], file, line)
    return Node(value, file, line)
