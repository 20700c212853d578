"""Canonical JSON, exact bytes: every expectation below is what Node prints for
`JSON.stringify(JSON.parse(text))` (checked against Node in test_canonical_vs_node)."""

import enum
import json
import math
from collections import OrderedDict
from typing import Any

import pytest

from app.wire.canonical_json import (
    CanonicalJSONError,
    _dumps_exact,
    dumps,
    js_number,
    js_string,
    loads,
    validate,
)
from tests.support.hard_payloads import HARD_PAYLOADS, REFUSED_PAYLOADS

NUMBERS = [
    ("0", "0"),
    ("-0", "0"),
    ("-0.0", "0"),
    ("1.0", "1"),
    ("-1.0", "-1"),
    ("100.0", "100"),
    ("0.1", "0.1"),
    ("0.30000000000000004", "0.30000000000000004"),
    ("1.5", "1.5"),
    ("123.456", "123.456"),
    ("1e21", "1e+21"),
    ("1E21", "1e+21"),
    ("-1e21", "-1e+21"),
    ("1.5e21", "1.5e+21"),
    ("1e20", "100000000000000000000"),
    ("123456789012345680000.0", "123456789012345680000"),
    ("999999999999999900000.0", "999999999999999900000"),
    ("1e-7", "1e-7"),
    ("1.5e-7", "1.5e-7"),
    ("-1e-7", "-1e-7"),
    ("0.000001", "0.000001"),
    ("1e-6", "0.000001"),
    ("0.0000015", "0.0000015"),
    ("0.00001", "0.00001"),
    ("5e-324", "5e-324"),
    ("-5e-324", "-5e-324"),
    ("2.2250738585072014e-308", "2.2250738585072014e-308"),
    ("1.7976931348623157e308", "1.7976931348623157e+308"),
    ("1.5e300", "1.5e+300"),
    ("12.5e299", "1.25e+300"),
    ("1e16", "10000000000000000"),
    ("2e53", "2e+53"),
    ("9007199254740993.0", "9007199254740992"),
    ("9007199254740991", "9007199254740991"),
    ("-9007199254740991", "-9007199254740991"),
    ("0.1000000000000000055511151231257827", "0.1"),
    ("3.141592653589793238", "3.141592653589793"),
    ("1E2", "100"),
    ("125e-4", "0.0125"),
    ("0.5e1", "5"),
    ("66.66666666666667", "66.66666666666667"),
    ("4.35", "4.35"),
    ("1e-5", "0.00001"),
    ("1.23e-5", "0.0000123"),
    ("1.2345e20", "123450000000000000000"),
]


@pytest.mark.parametrize(("text", "expected"), NUMBERS)
def test_numbers_print_like_javascript(text: str, expected: str) -> None:
    assert dumps(loads(text)) == expected.encode()


def test_js_number_directly() -> None:
    assert js_number(-0.0) == "0"
    assert js_number(1e21) == "1e+21"
    assert js_number(1e-7) == "1e-7"
    assert js_number(float("nan")) == "null"
    assert js_number(math.inf) == "null"


STRINGS: list[tuple[str, str]] = [
    ("", '""'),
    ("plain", '"plain"'),
    ('q"uote', '"q\\"uote"'),
    ("back\\slash", '"back\\\\slash"'),
    ("\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'),
    ("\x00\x01\x1f", '"\\u0000\\u0001\\u001f"'),
    ("\x0b", '"\\u000b"'),
    ("\x7f", '"\x7f"'),
    ("\x80\x9f", '"\x80\x9f"'),
    ("/ </script>", '"/ </script>"'),
    ("\u2028\u2029", '"\u2028\u2029"'),
    ("é ü ñ", '"é ü ñ"'),
    ("屏幕截图", '"屏幕截图"'),
    ("🚀", '"🚀"'),
    ("\ud83d\ude80", '"🚀"'),  # a pair held as two code points is one character
    ("\ud800", '"\\ud800"'),
    ("\udfff", '"\\udfff"'),
    ("a\udc00b", '"a\\udc00b"'),
    ("\ude00\ud83d", '"\\ude00\\ud83d"'),  # reversed: two lone surrogates
    ("\ud800\ud800\udc00", '"\\ud800𐀀"'),
    ("\ufeff\ufffe\uffff", '"\ufeff\ufffe\uffff"'),
]


@pytest.mark.parametrize(("value", "expected"), STRINGS)
def test_strings_escape_like_javascript(value: str, expected: str) -> None:
    assert js_string(value) == expected
    assert dumps(value) == expected.encode("utf-8")


def test_every_control_character() -> None:
    controls = "".join(chr(code) for code in range(0x20))
    short = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}
    expected = "".join(short.get(code, f"\\u{code:04x}") for code in range(0x20))
    assert dumps(controls) == f'"{expected}"'.encode()


def test_integer_like_keys_first_in_numeric_order() -> None:
    text = (
        '{"10":"ten","2":"two","a":"a","1":"one","-1":"m","01":"z",'
        '"4294967295":"max","4294967294":"idx","0":"zero"}'
    )
    assert dumps(loads(text)) == (
        b'{"0":"zero","1":"one","2":"two","10":"ten","4294967294":"idx",'
        b'"a":"a","-1":"m","01":"z","4294967295":"max"}'
    )


def test_near_miss_keys_keep_insertion_order() -> None:
    value = {"1.0": 1, "1e3": 2, " 1": 3, "+1": 4, "00": 5, "\u0661": 6, "1": 7}
    assert dumps(value) == '{"1":7,"1.0":1,"1e3":2," 1":3,"+1":4,"00":5,"\u0661":6}'.encode()


def test_plain_keys_keep_insertion_order() -> None:
    assert dumps({"b": 1, "a": 2, "": 3, "__proto__": 4}) == b'{"b":1,"a":2,"":3,"__proto__":4}'


def test_duplicate_keys_last_value_first_position() -> None:
    assert dumps(loads('{"a":1,"b":2,"a":3}')) == b'{"a":3,"b":2}'


def test_nesting_and_literals() -> None:
    value: dict[str, Any] = {"t": True, "f": False, "n": None, "l": [1, [2, [3, {}]], []]}
    value["o"] = {"x": {}}
    assert dumps(value) == b'{"t":true,"f":false,"n":null,"l":[1,[2,[3,{}]],[]],"o":{"x":{}}}'
    assert dumps((1, 2)) == b"[1,2]"
    assert dumps([]) == b"[]"
    assert dumps({}) == b"{}"


def test_deep_nesting_within_the_limit() -> None:
    text = '{"a":' * 63 + "1" + "}" * 63
    assert dumps(loads(text)) == text.encode()


class Colour(str, enum.Enum):  # noqa: UP042 - the case under test
    RED = "red"


class Mode(enum.StrEnum):
    OFFICE = "office"


class Level(enum.IntEnum):
    HIGH = 3


class Ratio(float):
    pass


@pytest.mark.parametrize(
    "value",
    [
        Colour.RED,
        {"m": Mode.OFFICE},
        [Level.HIGH],
        {Colour.RED: 1},
        Ratio(0.5),
        OrderedDict([("2", 1)]),
    ],
)
def test_subclasses_of_the_json_types_are_refused(value: Any) -> None:
    """Nothing sends them (bodies come from `loads`), so no plain value is guessed at."""
    with pytest.raises(TypeError):
        dumps(value)
    with pytest.raises(CanonicalJSONError):
        validate(value)


@pytest.mark.parametrize("value", [{1: "x"}, {(1,): 1}, {1, 2}, b"bytes", object(), 1j])
def test_unsupported_types_raise_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        dumps(value)


def test_output_is_compact_utf8_and_matches_json_dumps_when_simple() -> None:
    value = {"event": "desktop.app_tracking.captured", "data": [{"a": 1, "b": "é"}]}
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert dumps(value) == compact


@pytest.mark.parametrize(("name", "text"), HARD_PAYLOADS, ids=[n for n, _ in HARD_PAYLOADS])
def test_hard_payloads_are_fixed_points(name: str, text: str) -> None:
    # Re-parsed with plain json.loads: an integral float beyond 2^53 (`2e53`) prints as
    # integer digits, which `loads` would refuse as an unsafe integer on the way back in.
    body = dumps(loads(text))
    assert dumps(json.loads(body)) == body


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("name", "raw"), REFUSED_PAYLOADS, ids=[n for n, _ in REFUSED_PAYLOADS])
def test_loads_refuses(name: str, raw: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        loads(raw)


@pytest.mark.parametrize(
    "text",
    ["", "{", '{"a":1,}', "[1 2]", "'x'", '{"a":"\x01"}', "01", "1.", ".5", "+1", "[1]x", "nul"],
)
def test_loads_refuses_invalid_json(text: str) -> None:
    with pytest.raises(CanonicalJSONError, match="invalid JSON"):
        loads(text)


def test_loads_depth_limit_is_configurable() -> None:
    text = "[" * 10 + "]" * 10
    assert loads(text, max_depth=10) is not None
    with pytest.raises(CanonicalJSONError, match="nesting deeper than 9"):
        loads(text.replace("[]", "[1]"), max_depth=9)


@pytest.mark.parametrize("opener", ["[", '{"k":'])
@pytest.mark.parametrize(("inner", "counts"), [("[]", 1), ("{}", 1), ("1", 0), ('""', 0)])
def test_loads_and_validate_agree_on_depth(opener: str, inner: str, counts: int) -> None:
    # Every container counts, an empty innermost one too: 64 deep passes, 65 does not.
    closer = "]" if opener == "[" else "}"
    for wrappers in (63, 64, 65):
        text = opener * wrappers + inner + closer * wrappers
        if wrappers + counts <= 64:
            validate(loads(text))
            continue
        with pytest.raises(CanonicalJSONError, match="nesting deeper than 64"):
            loads(text)
        with pytest.raises(CanonicalJSONError, match="nesting deeper than 64"):
            validate(json.loads(text))


def test_loads_depth_check_on_large_texts() -> None:
    # Past 64 KiB the bracket-count shortcut is skipped; the walk still counts.
    padding = "x" * 100_000
    assert loads('[["' + padding + '"]]', max_depth=2) == [[padding]]
    with pytest.raises(CanonicalJSONError, match="nesting deeper than 2"):
        loads('[[["' + padding + '"]]]', max_depth=2)


def test_loads_refuses_very_deep_without_recursion_error() -> None:
    with pytest.raises(CanonicalJSONError):
        loads("[" * 100_000 + "]" * 100_000)


def test_loads_accepts_str_and_bytes_alike() -> None:
    assert loads('{"a":"é"}') == loads('{"a":"é"}'.encode()) == {"a": "é"}


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": 2**53}, ".a"),
        ({"a": [1, -(2**53)]}, ".a[1]"),
        ({"x": math.nan}, ".x"),
        ({"x": -math.inf}, ".x"),
        ({"k": {1: 2}}, ".k"),
        ({"b": b"x"}, ".b"),
        ({"s": {1, 2}}, ".s"),
    ],
)
def test_validate_refuses_with_a_path(value: Any, where: str) -> None:
    with pytest.raises(CanonicalJSONError) as caught:
        validate(value, path="data")
    assert caught.value.path == "data" + where


def test_validate_depth_and_accepts_the_edges() -> None:
    validate({"max": 2**53 - 1, "min": -(2**53 - 1), "f": 1e308, "s": "\ud800", "n": None})
    deep: Any = 1
    for _ in range(64):
        deep = [deep]
    validate(deep)
    with pytest.raises(CanonicalJSONError, match="nesting"):
        validate([deep])


def test_validate_accepts_what_dumps_encodes() -> None:
    validate({"t": (1, 2.5, "x"), "n": [None, True]})
    with pytest.raises(CanonicalJSONError, match="integer beyond"):
        validate({"l": (1, 2**60)})


FAST_PATH_TRAPS: list[Any] = [
    {"a": 1.0},
    {"a": [-0.0, 1e-07, 1e16, 1e21, 5e-324, 0.5]},
    {"a": math.nan, "b": [math.inf, -math.inf]},
    {"10": 1, "2": 2, "a": 3},
    {"-1": 1, "true": 2, "null": 3, "false": 4, "NaN": 5, "Infinity": 6},
    {"s": 'x:1.0, y:[1e-07] {"2":1}'},
    ["\ud83d\ude00", "\ud800"],
    [{"k": "\udc00"}],
    {"__proto__": [1, 2, {"": None}]},
]


@pytest.mark.parametrize("value", FAST_PATH_TRAPS)
def test_fast_path_agrees_with_the_exact_encoder(value: Any) -> None:
    assert dumps(value) == _dumps_exact(value)


_PADDING = "QUJD" * 20_000  # a screenshot's base64, in small


@pytest.mark.parametrize("value", FAST_PATH_TRAPS)
def test_large_fast_path_agrees_with_the_exact_encoder(value: Any) -> None:
    large = {"image": _PADDING, "value": value, "more": [value, (value,)]}
    assert dumps(large) == _dumps_exact(large)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 0.5, "b": [1e-4, 9.5e14 + 0.5, -123.25], "c": {"d": "x", "": None}, "e": (1, True)},
        [{"k": "v", "l": [[], {}]}],
        {"-1": 1, "01": 2, "4294967295": 3, "1.0": 4, "true": 5, "": 6, "\u0661": 7},
    ],
)
def test_large_plain_values_take_the_c_encoder(value: Any) -> None:
    from app.wire.canonical_json import _as_is

    large = {"image": _PADDING, "value": value}
    assert _as_is(large)
    assert dumps(large) == _dumps_exact(large)


@pytest.mark.parametrize(
    "value",
    [
        {"2": 1},
        {"4294967294": 1},
        {"a": 1.0},
        {"a": -0.0},
        {"a": 1e-5},
        {"a": 1e16},
        {1: 2},
        Colour.RED,
        Ratio(0.5),
        OrderedDict(a=1),
    ],
)
def test_large_values_to_fix_take_the_exact_path(value: Any) -> None:
    from app.wire.canonical_json import _as_is

    large = [_PADDING, value]
    assert not _as_is(large)
    if type(value) not in (dict, list) or 1 in value:  # the exact path refuses it
        with pytest.raises(TypeError):
            dumps(large)
        return
    assert dumps(large) == _dumps_exact(large)


@pytest.mark.parametrize("value", [{1: "x"}, {-1: "x"}, {1.5: 1}, {True: 1}, {None: 1}])
def test_non_str_keys_raise_on_the_fast_path_too(value: Any) -> None:
    with pytest.raises(TypeError):
        dumps(value)
    with pytest.raises(TypeError):
        dumps([value])


def test_namedtuple_is_refused() -> None:
    from collections import namedtuple

    point = namedtuple("point", "x y")
    with pytest.raises(TypeError):
        dumps([point(1, 2)])
