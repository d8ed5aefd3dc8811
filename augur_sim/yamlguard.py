"""Bounds shared by every YAML reader of augur-sim (hardware specs, YAML nets).

PyYAML's scanner and parser are iterative, but its composer builds nodes by recursion:
a line of 10,000 `[` would exhaust Python's stack (RecursionError, a traceback) before
any schema check runs. The loaders here count the nesting depth as they compose and
refuse a document deeper than MAX_YAML_DEPTH, which no real spec or network needs.
"""
from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from .errors import ParseError

# Specs nest about 6 deep, YAML nets about 8; 100 leaves room while staying far
# below Python's recursion limit (each level costs a few frames in the composer).
MAX_YAML_DEPTH = 100


class YamlTooDeep(yaml.YAMLError):
    """Raised by a bounded loader; carries the line where the limit was crossed."""

    def __init__(self, line: int):
        super().__init__(f"nesting deeper than {MAX_YAML_DEPTH} levels")
        self.line = line


class DepthBoundedMixin:
    """Mix into a yaml Loader class (before it) to bound the composer's recursion."""

    _depth = 0

    def compose_node(self, parent, index):  # noqa: D401 -- PyYAML's hook
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise YamlTooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class BoundedSafeLoader(DepthBoundedMixin, yaml.SafeLoader):
    """yaml.SafeLoader with the nesting bound."""


# libyaml's parser: yaml imports its C extension (yaml.cyaml) when PyYAML was built with it.
_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)


if _CParser is not None:
    class BoundedFastLoader(DepthBoundedMixin, Composer, _CParser, SafeConstructor, Resolver):
        """The same loader with libyaml's scanner and parser: events come from C (about 10x
        faster than PyYAML's Python scanner), while composing stays PyYAML's Python composer
        (its C one would take neither the nesting bound nor the checks of the walk) and
        constructing stays SafeConstructor. Its errors carry the same lines; their wording
        is libyaml's."""

        byte_offsets = True     # libyaml gives a ReaderError's position in UTF-8 bytes

        def __init__(self, stream):
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    BoundedLoader: type = BoundedFastLoader
else:
    BoundedLoader = BoundedSafeLoader


def _mark_line(e) -> int | None:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    return mark.line + 1 if mark else None


def parse_error(e: yaml.YAMLError, text: str, file: str | None, byte_offsets: bool = False) -> ParseError:
    """Any PyYAML error as a one-line ParseError with the line it happened at.

    The message is built from PyYAML's own problem description, never from the file's
    text, so an error never echoes content of a file it was pointed at."""
    if isinstance(e, YamlTooDeep) or "maximum nesting depth" in str(getattr(e, "problem", "")):
        # (libyaml's parser has its own bound, 1000 levels, met before the composer's.)
        line = e.line if isinstance(e, YamlTooDeep) else _mark_line(e)
        return ParseError(f"YAML nesting deeper than {MAX_YAML_DEPTH} levels", file=file, line=line)
    if isinstance(e, yaml.reader.ReaderError):
        pos = max(0, e.position)
        if byte_offsets:
            line = text.encode("utf-8")[:pos].count(b"\n") + 1
        else:
            line = text.count("\n", 0, pos) + 1
        ch = e.character
        code = ch if isinstance(ch, int) else (ord(ch) if isinstance(ch, str) and len(ch) == 1 else None)
        what = f"character U+{code:04X}" if code is not None else "a character"
        return ParseError(f"{what} is not allowed in YAML (control characters and NUL are refused)",
                          file=file, line=line)
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        mark_line = mark.line + 1 if mark else None
        msg = " ".join(str(p) for p in (e.context, e.problem) if p) or "syntax error"
        return ParseError(f"YAML syntax: {msg}", file=file, line=mark_line)
    return ParseError("YAML syntax error", file=file)
