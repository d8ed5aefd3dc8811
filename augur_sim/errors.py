"""One error type for everything a user can get wrong.

The CLI turns an AugurError into one line on stderr and exit code 2; a traceback
means a bug in augur-sim, never bad input.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

# An error about an unknown name lists the valid names when there are at most this many;
# beyond it, the list would bury the error line, so it names the command that lists them.
MAX_LISTED_NAMES = 12


def close_names(word: str, names: Iterable[str], n: int = 3, cutoff: float = 0.65) -> list[str]:
    """The names closest to `word` (a typo), best first, case ignored ('NCNN' -> 'ncnn')."""
    by_lower: dict[str, str] = {}
    for name in names:
        by_lower.setdefault(name.lower(), name)
    return [by_lower[m] for m in difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=cutoff)]


def name_hint(word: str, names: Iterable[str], listing: str, known: str = "known", cutoff: float = 0.65,
              max_listed: int = MAX_LISTED_NAMES) -> str:
    """What follows "unknown X 'word'" in an error: ' (did you mean a, b?)' when names are close,
    then '; KNOWN: x, y, z' when there are at most `max_listed` names, else "; `LISTING` lists all N"."""
    names = list(names)
    near = close_names(word, names, cutoff=cutoff)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    if len(names) <= max_listed:
        return f"{hint}; {known}: {', '.join(names)}" if names else hint
    return f"{hint}; `{listing}` lists all {len(names)}"


class AugurError(Exception):
    """A user-facing error: ``FILE:LINE: WHERE: message`` on one line."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 where: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.where = where

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else str(self.file))
        if self.where:
            parts.append(str(self.where))
        parts.append(self.message)
        # Errors are one line by contract: fold any newline a message may carry.
        return ": ".join(parts).replace("\n", " ")

    def located(self, file: str | None = None, line: int | None = None,
                where: str | None = None) -> AugurError:
        """Fill in location fields that are still unknown (inner code rarely knows the file)."""
        if self.file is None and file is not None:
            self.file = file
        if self.line is None and line is not None:
            self.line = line
        if self.where is None and where is not None:
            self.where = where
        return self


class ParseError(AugurError):
    """Syntax of a descriptor or spec file."""


class SchemaError(AugurError):
    """A value that parses but breaks the declared schema."""


class ShapeError(AugurError):
    """Shape inference failed for a layer."""


class UnsupportedOpError(AugurError):
    """A layer type or op no frontend/op registry knows."""
