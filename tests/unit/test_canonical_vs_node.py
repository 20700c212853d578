"""The encoder against JavaScript itself: generated values, one Node process.

Each value is written as `json.dumps(v, ensure_ascii=True)` (lone surrogates become
`\\udxxx` escapes, so any Python str survives), Node answers
`JSON.stringify(JSON.parse(text))`, and `dumps(v)` must be exactly those bytes.
Values go to Node in batches so thousands of them take a few seconds.
"""

import json
import math
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.wire.canonical_json import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    _dumps_exact,
    dumps,
    loads,
)
from tests.support.node import NodeUnavailable, StringifyOracle, node_available

BATCH = 40
EXAMPLES = 60  # x BATCH = 2,400 values compared with Node per run


@pytest.fixture(scope="module")
def oracle() -> Iterator[StringifyOracle]:
    if not node_available() and not os.environ.get("HOOKLINE_TEST_REQUIRE_NODE"):
        pytest.skip("node is not installed")
    try:
        process = StringifyOracle().start()
    except NodeUnavailable as exc:
        if os.environ.get("HOOKLINE_TEST_REQUIRE_NODE"):
            raise
        pytest.skip(str(exc))
    yield process
    process.close()


def _join_pairs(text: str) -> str:
    """A high+low surrogate pair as the one character JavaScript sees."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


_any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=[])
_special_char = st.sampled_from(
    [chr(c) for c in range(0x20)]
    + ['"', "\\", "/", "\x7f", "\u2028", "\u2029", "\ud800", "\udbff", "\udc00", "\udfff"]
    + ["\ud83d", "\ude00", "😀", "屏", "é", "\u0301", "\u200f", "\ufeff", "\uffff"]
)
strings = st.text(st.one_of(_any_char, _special_char), max_size=12)

floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=1e-9, max_value=1e-5).flatmap(lambda x: st.sampled_from([x, -x])),
    st.floats(min_value=1e19, max_value=1e23).flatmap(lambda x: st.sampled_from([x, -x])),
    st.integers(-(2**70), 2**70).map(float),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, 1e21, 1e-7, 1e-6, 0.1, 1.0]),
)
ints = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.integers(-1000, 1000)
keys = st.one_of(
    strings,
    st.integers(0, 2**32 + 5).map(str),
    st.sampled_from(["-1", "01", "00", "1.0", "4294967294", "4294967295", "__proto__", ""]),
    st.sampled_from(["constructor", "toString", "a", "b", "10", "2", "1"]),
).map(_join_pairs)  # keys that differ only in pair spelling would be one key in JavaScript

scalars = st.one_of(st.none(), st.booleans(), ints, floats, strings)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=6),
    ),
    max_leaves=25,
)


def _normalised(value: Any) -> Any:
    """`value` as `loads(dumps(value))` gives it back: pairs joined, tuples as lists."""
    if isinstance(value, str):
        return _join_pairs(value)
    if isinstance(value, dict):
        return {_join_pairs(k): _normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    return value


def _has_big_integral_float(value: Any) -> bool:
    if isinstance(value, float):
        # Integer digits in the output (from 1e21 on, JavaScript writes an exponent).
        return value.is_integer() and MAX_SAFE_INTEGER < abs(value) < 1e21
    if isinstance(value, dict):
        return any(_has_big_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_big_integral_float(v) for v in value)
    return False


def _same(a: Any, b: Any) -> bool:
    """Equality where floats compare by value (so -0.0 == 0 and 1.0 == 1)."""
    if isinstance(a, float | int) and isinstance(b, float | int):
        return (not isinstance(a, bool) and not isinstance(b, bool) and a == b) or a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(values, min_size=BATCH, max_size=BATCH))
def test_dumps_matches_node(oracle: StringifyOracle, batch: list[Any]) -> None:
    expected = oracle.stringify([json.dumps(value, ensure_ascii=True) for value in batch])
    for value, javascript in zip(batch, expected, strict=True):
        assert javascript is not None, oracle.last_errors
        # Both paths: the C-encoder fast path `dumps` takes when it can, and the exact one.
        assert dumps(value) == javascript.encode("utf-8"), value
        assert _dumps_exact(value) == javascript.encode("utf-8"), value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values)
def test_loads_round_trips_dumps(value: Any) -> None:
    body = dumps(value)
    if _has_big_integral_float(value):
        # 2e53 prints as integer digits (no exponent below 1e21), and `loads` refuses
        # integers beyond 2^53 - 1.
        with pytest.raises(CanonicalJSONError):
            loads(body)
        return
    assert _same(_reorder(loads(body)), _reorder(_normalised(value)))


def _reorder(value: Any) -> Any:
    """Key order aside (dumps moves integer-like keys first), the same object."""
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_reorder(item) for item in value]
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values)
def test_large_texts_agree_with_the_exact_encoder(value: Any) -> None:
    """Past 64 KiB `dumps` checks the value, not the text: the same bytes either way."""
    large = {"imageBuffer": "QUJD" * 17_000, "data": [value, {"v": value}]}
    assert dumps(large) == _dumps_exact(large)


# Number literals as clients spell them: parsing (Python's float() and JavaScript's
# JSON.parse both round correctly) and printing must agree on every one `loads` accepts.
number_texts = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,24}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,25}", fullmatch=True)),
    st.one_of(
        st.just(""),
        st.builds(
            lambda e, sign, n: f"{e}{sign}{n}",
            st.sampled_from("eE"),
            st.sampled_from(["", "+", "-"]),
            st.integers(0, 330),
        ),
    ),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(number_texts, min_size=100, max_size=100))
def test_number_literals_match_node(oracle: StringifyOracle, batch: list[str]) -> None:
    texts = [f"[{text}]" for text in batch]
    expected = oracle.stringify(texts)
    for text, javascript in zip(texts, expected, strict=True):
        try:
            value = loads(text)
        except CanonicalJSONError:
            continue  # unsafe integers and overflow: refused, never printed differently
        assert javascript is not None, oracle.last_errors
        assert dumps(value) == javascript.encode(), text


def test_specials_match_node(oracle: StringifyOracle) -> None:
    specials: list[Any] = [
        -0.0,
        math.ulp(0.0),
        2.0**-1074,
        1e21 - 65536,
        {"\ud83d\ude00": "\ud83d", "b": ["\udc00\ud800", "\x00"]},
        [1e-7, 1.5e-7, 9.999999999999999e20, 1e-6, 9.999999999999999e-7],
        {str(i): i for i in (5, 0, 4294967294, 4294967295, 3)},
    ]
    expected = oracle.stringify([json.dumps(v) for v in specials])
    assert [dumps(v) for v in specials] == [(e or "").encode() for e in expected]
