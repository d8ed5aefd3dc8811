"""Protocol-buffer text format parser (the syntax of Caffe's .prototxt files).

The result is a schema-free tree of ``Message`` objects: every field keeps its line
number so that later stages (augur_sim/frontends/caffe.py) can name the exact line of
a bad value. Typing (which fields exist, which are repeated, enum names) is the
frontend's business; this module only knows the syntax:

- fields ``name: value`` and sub-messages ``name { ... }`` / ``name < ... >``, with an
  optional ``:`` before a message, ``;`` or ``,`` after a field;
- lists ``name: [v1, v2]`` and ``name [ {..}, {..} ]``;
- ``#`` comments;
- strings in single or double quotes with C escapes; adjacent strings concatenate;
- identifiers (enum names, true/false) become ``Ident`` (a str subclass);
- numbers: decimal, negative, hex ``0x1F``, octal ``017``, floats ``1e-4``, ``.5``,
  ``5.``, ``1.0f``, and ``inf``/``infinity``/``nan`` in any case, optionally negated.

Speed: one compiled regex splits the whole file into tokens in C (``findall``); the
Python loop then touches each token once. Whitespace and comments ride along in the
first group of each token, so line numbers come from counting newlines there.
"""
from __future__ import annotations

import re

from ..errors import ParseError


class Ident(str):
    """An unquoted identifier value: an enum name or a boolean spelling."""
    __slots__ = ()


class Message:
    """One message: its fields in file order as (name, value, line); values are int, float,
    str (quoted string), Ident (unquoted identifier) or Message."""
    __slots__ = ("fields", "line")

    def __init__(self, line: int | None = None):
        self.fields: list[tuple[str, object, int]] = []
        self.line = line

    def get(self, name: str, default=None):
        """The field's value; like protobuf, the last occurrence wins."""
        for n, v, _ in reversed(self.fields):
            if n == name:
                return v
        return default

    def getall(self, name: str) -> list:
        return [v for n, v, _ in self.fields if n == name]

    def line_of(self, name: str) -> int | None:
        """Line of the field's first occurrence (None when absent)."""
        for n, _, ln in self.fields:
            if n == name:
                return ln
        return None

    def names(self) -> list[str]:
        return [n for n, _, _ in self.fields]

    def __contains__(self, name: str) -> bool:
        for n, _, _ in self.fields:
            if n == name:
                return True
        return False

    def __repr__(self) -> str:
        return f"Message(line={self.line}, fields={[(n, v) for n, v, _ in self.fields]!r})"


# One token per match. Group 0 is the whitespace and comments before the token
# (possessive, so it never gives text back). Then, first, the fast path: a whole
# one-line field ``name: value`` (1 name, 2 string, 3 number, 4 identifier) or
# ``name {`` (1 name, 5 the brace) in one match, which covers almost every line of a
# real file and halves the work of the Python loop. Everything else falls to single
# tokens: 6 identifier, 7 punctuation, 8 string, 9 number-like word, 10 lone minus,
# 11 end of text, 12 any other character. (Indices are those of findall's tuples.)
# The number-like word is deliberately loose (it swallows "12abc" or "0x1g") so that a
# malformed number is reported as one bad number; _number() does the strict check.
# An exponent sign is accepted only right after e/E.
_STR = r""""[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"""
_NUM = r"""[0-9.][\w.]*(?:(?<=[eE])[-+][\w.]*)?"""
_TOKEN = re.compile(r"""
    (\s*+(?:\#[^\n]*\s*)*+)
    (?:
        ([A-Za-z_]\w*)[ \t]*(?::[ \t]*(?:(""" + _STR + r""")|(-?""" + _NUM + r""")|([A-Za-z_]\w*))
                            |:?[ \t]*([{<]))
      | ([A-Za-z_]\w*)
      | ([{}<>:;,\[\]])
      | (""" + _STR + r""")
      | (""" + _NUM + r""")
      | (-)
      | (\Z)
      | (.)
    )""", re.X | re.S | re.ASCII)

_INT = re.compile(r"(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+|[0-9]+(?=[fF]))"
                    r"[fF]?\Z")
_SPECIAL_FLOATS = {"inf": float("inf"), "infinity": float("inf"), "nan": float("nan")}

_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))", re.S)
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\", "'": "'", '"': '"', "?": "?"}

# Guards against hostile input: deeper nesting than any real descriptor, and integers
# beyond 64 bits (protobuf has no wider integer type).
MAX_DEPTH = 100
_INT_LIMIT = 1 << 64


def _number(word: str, negative: bool):
    """Strict conversion of a number-like word (sign removed); None when not a legal number."""
    if _INT.match(word):
        if word[:2] in ("0x", "0X"):
            v = int(word, 16)
        elif len(word) > 1 and word[0] == "0":
            v = int(word, 8)
        else:
            v = int(word)
        if v >= _INT_LIMIT:
            return None
        return -v if negative else v
    if _FLOAT.match(word):
        f = float(word.rstrip("fF"))
        return -f if negative else f
    return None


def _unescape(body: str, file, line) -> str:
    def repl(m):
        octal, hexa, u4, u8, simple = m.groups()
        if octal or hexa or u4 or u8:
            code = int(octal, 8) if octal else int(hexa or u4 or u8, 16)
            if code > 0x10FFFF:
                raise ParseError(f"escape {m.group(0)!r} is out of the Unicode range", file=file, line=line)
            return chr(code)
        if simple in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[simple]
        raise ParseError(f"invalid escape sequence '\\{simple}' in a string", file=file, line=line)
    return _ESCAPE.sub(repl, body)


def _string(tok_str: str, file, line) -> str:
    body = tok_str[1:-1]
    return _unescape(body, file, line) if "\\" in body else body


def _is_end(tok) -> bool:
    # findall gives "" for groups that did not take part; only the end token has none.
    return not (tok[1] or tok[6] or tok[7] or tok[8] or tok[9] or tok[10] or tok[12])


def _describe(tok) -> str:
    if _is_end(tok):
        return "end of file"
    if tok[1]:
        return repr(tok[1])
    return repr(tok[6] or tok[7] or tok[8] or tok[9] or tok[10] or tok[12])


def _word_value(word: str, name: str, file, line):
    """Value of an unquoted number-like word or identifier (sign included)."""
    negative = word[0] == "-"
    body = word[1:] if negative else word
    if body[0].isdigit() or body[0] == ".":
        if body.isdigit() and (body[0] != "0" or len(body) == 1):
            v = int(body)  # the common case: plain decimal
            if v < _INT_LIMIT:
                return -v if negative else v
        else:
            v = _number(body, negative)
            if v is not None:
                return v
        raise ParseError(f"bad number '{word}' for field '{name}'", file=file, line=line)
    low = body.lower()
    if low in _SPECIAL_FLOATS:
        f = _SPECIAL_FLOATS[low]
        return -f if negative else f
    if negative:
        raise ParseError(f"bad number '{word}' for field '{name}'", file=file, line=line)
    return Ident(body)


class _State:
    """Cursor over the token list: index and current line (for the slow paths)."""
    __slots__ = ("toks", "i", "line", "file", "pending")

    def __init__(self, toks, file):
        self.toks, self.i, self.line, self.file = toks, 0, 1, file
        # A sub-message the slow path opened, for _body to descend into.
        self.pending = None

    def next(self):
        t = self.toks[self.i]
        self.i += 1
        if t[0]:
            self.line += t[0].count("\n")
        return t

    def peek(self):
        return self.toks[self.i]

    def err(self, message: str, line: int | None = None) -> ParseError:
        return ParseError(message, file=self.file, line=self.line if line is None else line)


def parse(text: str, file: str | None = None) -> Message:
    """Parse protobuf text format into a Message tree; ParseError (one line, with file and
    line) on any syntax error."""
    st = _State(_TOKEN.findall(text), file)
    root = Message(line=1)
    _body(st, root, None, 1, None, 0)
    return root


def _body(st: _State, msg: Message, closer: str | None, open_line: int, open_name: str | None,
          depth: int) -> None:
    """Fill ``msg`` with fields until its closer (None: end of file). Nesting uses an
    explicit stack, not recursion, so deep input cannot exhaust Python's stack."""
    toks, file = st.toks, st.file
    frames: list = []
    fields = msg.fields
    i, line = st.i, st.line
    while True:
        t = toks[i]
        i += 1
        if t[0]:
            line += t[0].count("\n")
        name = t[1]
        if name:
            # Fast path: a complete one-line field.
            if t[2]:
                body = t[2][1:-1]
                value = _unescape(body, file, line) if "\\" in body else body
                if toks[i][8]:  # adjacent strings concatenate
                    parts = [value]
                    while toks[i][8]:
                        u = toks[i]
                        i += 1
                        if u[0]:
                            line += u[0].count("\n")
                        parts.append(_string(u[8], file, line))
                    value = "".join(parts)
                fields.append((name, value, line))
            elif t[3]:
                w = t[3]
                if w.isdigit() and (w[0] != "0" or len(w) == 1) and len(w) < 19:
                    fields.append((name, int(w), line))
                else:
                    fields.append((name, _word_value(w, name, file, line), line))
            elif t[4]:
                fields.append((name, _word_value(t[4], name, file, line), line))
            else:
                if depth + len(frames) >= MAX_DEPTH:
                    raise ParseError(f"messages nested deeper than {MAX_DEPTH} levels", file=file, line=line)
                sub = Message(line=line)
                fields.append((name, sub, line))
                frames.append((msg, closer, open_line, open_name))
                msg, closer, open_line, open_name = sub, "}" if t[5] == "{" else ">", line, name
                fields = sub.fields
                continue
        elif t[6]:
            # Slow path: a field split over lines, with comments, lists, or "- 5".
            st.i, st.line = i, line
            _slow_field(st, msg, t[6], depth + len(frames))
            i, line = st.i, st.line
            if st.pending is not None:
                # _slow_field opened a sub-message: descend into it.
                sub, sub_closer, sub_line, sub_name = st.pending
                st.pending = None
                if depth + len(frames) >= MAX_DEPTH:
                    raise ParseError(f"messages nested deeper than {MAX_DEPTH} levels", file=file,
                                     line=sub_line)
                frames.append((msg, closer, open_line, open_name))
                msg, closer, open_line, open_name = sub, sub_closer, sub_line, sub_name
                fields = sub.fields
                continue
        elif t[7]:
            p = t[7]
            if p == closer:
                if not frames:  # the end of a list element (see _list)
                    st.i, st.line = i, line
                    return
                msg, closer, open_line, open_name = frames.pop()
                fields = msg.fields
            elif p == "}" or p == ">":
                if closer is None:
                    raise ParseError(f"unexpected '{p}': no message is open here (unbalanced braces)",
                                     file=file, line=line)
                raise ParseError(f"'{p}' cannot close the message '{open_name}' opened with "
                                 f"'{'{' if closer == '}' else '<'}' at line {open_line}", file=file, line=line)
            else:
                raise ParseError(f"unexpected {p!r}; expected a field name", file=file, line=line)
        elif _is_end(t):
            if closer is not None:
                raise ParseError(f"'{'{' if closer == '}' else '<'}' of message '{open_name}' opened at line "
                                 f"{open_line} is never closed (unbalanced braces)", file=file, line=open_line)
            st.i, st.line = i, line
            return
        elif t[12] == '"' or t[12] == "'":
            raise ParseError("unterminated string", file=file, line=line)
        else:
            raise ParseError(f"unexpected {_describe(t)}; expected a field name", file=file, line=line)
        # One optional separator after a field or a closed message.
        u = toks[i]
        if u[7] == ";" or u[7] == ",":
            if u[0]:
                line += u[0].count("\n")
            i += 1


def _slow_field(st: _State, msg: Message, name: str, depth: int) -> None:
    """Parse the rest of a field after its name token, the general way."""
    fline = st.line
    t = st.next()
    colon = t[7] == ":"
    if colon:
        t = st.next()
    if t[1]:
        # The lookahead regex took "a: b" as a fast field after the colon: that is "name:"
        # then a new field only when a value is missing, which is an error.
        raise st.err(f"expected a value for field '{name}', got {t[1]!r}")
    p = t[7]
    if p == "{" or p == "<":
        st.pending = (Message(line=fline), "}" if p == "{" else ">", st.line, name)
        msg.fields.append((name, st.pending[0], fline))
        return
    if p == "[":
        _list(st, msg, name, fline, colon, depth)
        return
    if not colon:
        raise st.err(f"expected ':' or '{{' after field name '{name}', got {_describe(t)}")
    msg.fields.append((name, _value(st, t, name), fline))


def _value(st: _State, t, name: str):
    """A scalar whose first token ``t`` was just consumed."""
    if t[8]:
        parts = [_string(t[8], st.file, st.line)]
        while st.peek()[8]:
            u = st.next()
            parts.append(_string(u[8], st.file, st.line))
        return "".join(parts)
    if t[9]:
        return _word_value(t[9], name, st.file, st.line)
    if t[6]:
        return _word_value(t[6], name, st.file, st.line)
    if t[10]:
        u = st.next()
        word = u[9] or u[6]
        if not word:
            raise st.err(f"expected a number after '-' for field '{name}'")
        return _word_value("-" + word, name, st.file, st.line)
    if t[12] == '"' or t[12] == "'":
        raise st.err(f"unterminated string for field '{name}'")
    raise st.err(f"expected a value for field '{name}', got {_describe(t)}")


def _list(st: _State, msg: Message, name: str, fline: int, colon: bool, depth: int) -> None:
    """The rest of ``name: [a, b]`` or ``name [ {..}, {..} ]`` after the '['."""
    first = True
    while True:
        t = st.next()
        if t[7] == "]":
            return
        if not first:
            if t[7] != ",":
                if _is_end(t):
                    raise st.err(f"'[' of field '{name}' opened at line {fline} is never closed", fline)
                raise st.err(f"expected ',' or ']' in the list of field '{name}', got {_describe(t)}")
            t = st.next()
        first = False
        if t[7] == "{" or t[7] == "<":
            if depth + 1 >= MAX_DEPTH:
                raise st.err(f"messages nested deeper than {MAX_DEPTH} levels")
            sub = Message(line=st.line)
            msg.fields.append((name, sub, st.line))
            _body(st, sub, "}" if t[7] == "{" else ">", st.line, name, depth + 1)
        elif _is_end(t):
            raise st.err(f"'[' of field '{name}' opened at line {fline} is never closed", fline)
        elif t[1]:
            raise st.err(f"unexpected {t[1]!r} in the list of field '{name}'")
        else:
            # Scalars only after ':' (protobuf's rule: "name [1, 2]" is not legal).
            if not colon:
                raise st.err(f"expected ':' before the list of values of field '{name}'")
            msg.fields.append((name, _value(st, t, name), st.line))
