"""Protobuf text-format parser: every syntax feature, and every syntax error as a
one-line ParseError naming file and line."""
import math

import pytest

from augur_sim.errors import AugurError, ParseError
from augur_sim.frontends.prototxt import Ident, Message, parse


def fields(msg):
    return [(n, v) for n, v, _ in msg.fields]


def test_scalars_messages_and_lines():
    m = parse('name: "net"\nlayer {\n  type: "Conv"\n  top: "a"\n  top: "b"\n}\n', "f.prototxt")
    assert m.get("name") == "net"
    layer = m.get("layer")
    assert isinstance(layer, Message)
    assert layer.line == 2
    assert layer.getall("top") == ["a", "b"]
    assert layer.line_of("type") == 3
    assert layer.line_of("top") == 4  # first occurrence
    assert layer.line_of("missing") is None
    assert m.get("missing", 7) == 7
    assert "top" in layer and "bottom" not in layer


def test_last_occurrence_wins_for_get():
    m = parse("a: 1 a: 2")
    assert m.get("a") == 2 and m.getall("a") == [1, 2]


def test_angle_brackets_and_optional_colon():
    m = parse("a: { x: 1 } b < y: 2 > c: < z: 3 >")
    assert [n for n in m.names()] == ["a", "b", "c"]
    assert m.get("a").get("x") == 1 and m.get("b").get("y") == 2 and m.get("c").get("z") == 3


@pytest.mark.parametrize("text,value", [
    ("v: 0", 0), ("v: 42", 42), ("v: -7", -7), ("v: 0x1F", 31), ("v: 0XfF", 255), ("v: -0x10", -16),
    ("v: 017", 15), ("v: 1.5", 1.5), ("v: 1e-4", 1e-4), ("v: 2E+3", 2000.0), ("v: .5", 0.5),
    ("v: 5.", 5.0), ("v: 1.0f", 1.0), ("v: 2.5F", 2.5), ("v: 3f", 3.0), ("v: -1.25e2", -125.0),
    ("v: - 5", -5), ("v: -\n 5", -5), ("v: 18446744073709551615", (1 << 64) - 1),
])
def test_number_spellings(text, value):
    got = parse(text).get("v")
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text,sign", [("v: inf", 1), ("v: -inf", -1), ("v: Infinity", 1), ("v: -INF", -1)])
def test_infinities(text, sign):
    assert parse(text).get("v") == sign * math.inf


def test_nan():
    assert math.isnan(parse("v: nan").get("v")) and math.isnan(parse("v: -NaN").get("v"))


def test_identifiers_are_ident():
    m = parse("pool: MAX flag: true other: false")
    assert m.get("pool") == "MAX" and isinstance(m.get("pool"), Ident)
    assert isinstance(m.get("flag"), Ident) and m.get("flag") == "true"
    # A quoted string is not an identifier.
    assert not isinstance(parse('t: "MAX"').get("t"), Ident)


def test_strings_escapes_and_concatenation():
    m = parse(r'''a: 'it\'s' b: "tab\there" c: "x" 'y'  "z" d: "\x41\101\u00e9" e: "q\"q" f: "a\\b"''')
    assert m.get("a") == "it's"
    assert m.get("b") == "tab\there"
    assert m.get("c") == "xyz"
    assert m.get("d") == "AAé"
    assert m.get("e") == 'q"q'
    assert m.get("f") == "a\\b"
    # Concatenation across lines keeps the field on its first line.
    m = parse('a: "x"\n"y"\nb: 1')
    assert m.get("a") == "xy" and m.line_of("b") == 3


def test_comments_and_separators():
    m = parse('# header\na: 1; b: 2, # trailing\n# c: 3\nd { e: 4; },\n f: "#not a comment"')
    assert fields(m)[:2] == [("a", 1), ("b", 2)]
    assert "c" not in m
    assert m.get("d").get("e") == 4
    assert m.get("f") == "#not a comment"
    assert m.line_of("d") == 4


def test_fields_split_over_lines_with_comments():
    m = parse("a # comment\n :\n 5\nb\n{\n c: X }")
    assert m.get("a") == 5 and m.line_of("a") == 1
    assert m.get("b").get("c") == "X" and m.line_of("b") == 4


def test_lists():
    m = parse("v: [1, 2.5, -3] w: [] s: ['a', \"b\"] m [ { x: 1 }, < x: 2 > ] n: [{y: 1}]\nafter: 1")
    assert m.getall("v") == [1, 2.5, -3]
    assert m.getall("w") == []
    assert m.getall("s") == ["a", "b"]
    assert [x.get("x") for x in m.getall("m")] == [1, 2]
    assert m.getall("n")[0].get("y") == 1
    assert m.line_of("after") == 2


def test_deep_nesting_is_iterative_and_limited():
    ok = "a { " * 50 + "}" * 50
    m = parse(ok)
    depth = 0
    while m.get("a") is not None:
        m, depth = m.get("a"), depth + 1
    assert depth == 50
    with pytest.raises(ParseError, match="nested deeper"):
        parse("a { " * 5000 + "}" * 5000)


def test_empty_input():
    assert parse("").fields == [] and parse("  # only a comment\n").fields == []


def one_line_error(text, match, line):
    with pytest.raises(ParseError, match=match) as ei:
        parse(text, "bad.prototxt")
    err = ei.value
    assert isinstance(err, AugurError)
    assert err.file == "bad.prototxt" and err.line == line
    s = str(err)
    assert "\n" not in s and s.startswith(f"bad.prototxt:{line}:")
    return s


def test_unclosed_brace_names_the_opening_line():
    s = one_line_error("a: 1\nlayer {\n  b: 2\n  c {\n  }\n", "never closed", 2)
    assert "layer" in s


def test_extra_closing_brace():
    one_line_error("a {\n}\n}\n", "unbalanced", 3)


def test_mismatched_closer():
    one_line_error("a <\n b: 1\n}", "opened with '<' at line 1", 3)


@pytest.mark.parametrize("bad", ["1.2.3", "0x", "08", "12abc", "1e", "0x1G", "1e+", ".", "1.5ff", "-foo",
                                 "99999999999999999999999"])
def test_bad_numbers(bad):
    one_line_error(f"x: 1\nv: {bad}\n", "bad number|does not fit|64 bits", 2)


def test_unterminated_string():
    one_line_error('a: 1\nb: "abc\nc: 2', "unterminated string", 2)
    one_line_error("a: 'abc", "unterminated string", 1)


def test_invalid_escape():
    one_line_error(r'a: "\q"', "invalid escape", 1)


@pytest.mark.parametrize("text,match,line", [
    ("a 5", "expected ':' or '{'", 1),
    ("a:\n}", "expected a value", 2),
    (": 5", "unexpected ':'", 1),
    ("5", "unexpected '5'", 1),
    ('"s"', "unexpected", 1),
    ("a: -", "after '-'", 1),
    ("a: [1, 2", "never closed", 1),
    ("a: [1 2]", "expected ',' or ']'", 1),
    ("a [1, 2]", "expected ':'", 1),
    ("a: 1\n@", "unexpected '@'", 2),
    ("a: b: 1", "unexpected ':'", 1),
    ("a: { b: 1 ", "never closed", 1),
])
def test_unexpected_tokens(text, match, line):
    one_line_error(text, match, line)


def test_line_numbers_after_multiline_tokens():
    m = parse('a: "x"\n\n\n# c\n# d\nb: 1\n  c {\n\n d: 2 }')
    assert m.line_of("b") == 6 and m.line_of("c") == 7 and m.get("c").line_of("d") == 9
