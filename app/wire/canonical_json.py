"""Canonical JSON: the bytes JavaScript's `JSON.stringify(JSON.parse(text))` produces.

Receivers verify signatures either over the raw body or, like the seed's Express
sample, over `JSON.stringify(req.body)`; both succeed only if the body already is what
JavaScript would print. So this encoder follows ECMAScript exactly:

- numbers: Number::toString — shortest round-trip digits (Python's `repr` gives the
  same digits), plain notation for 1e-6 <= |x| < 1e21, else `1e+21` / `1.5e-7`; `-0`
  prints `0`; integral floats print without `.0`;
- strings: only `"`, `\\` and U+0000–U+001F are escaped (`\\b \\f \\n \\r \\t`, else
  `\\u00xx`); lone surrogates become `\\udxxx`; everything else is raw UTF-8;
- objects: integer-like keys ("0" … "4294967294") first in ascending numeric order,
  then the other keys in insertion order; no whitespace anywhere.

`loads` is the matching parser for ingest: it refuses what JavaScript cannot carry
unchanged (integers beyond ±(2^53−1), NaN/Infinity, overflow to infinity, nesting
deeper than the limit, invalid UTF-8) instead of silently changing it.
"""

import json
import math
import re
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
MAX_ARRAY_INDEX = 2**32 - 2
_SURROGATE = re.compile("[\ud800-\udfff]")
_ARRAY_INDEX = re.compile(r"(?:0|[1-9][0-9]{0,9})\Z")


class CanonicalJSONError(ValueError):
    """A value JavaScript cannot carry unchanged; `path` points at it (`data[0].x`)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{message} at {path}" if path else message)
        self.message = message
        self.path = path


# ---------------------------------------------------------------- encoding


def js_number(value: float) -> str:
    """ECMAScript Number::toString for a finite float."""
    if value == 0:
        return "0"
    if value.is_integer() and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return str(int(value))
    if value != value or value in (math.inf, -math.inf):
        return "null"  # what JSON.stringify prints; `loads` never lets these in
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent_text = text.partition("e")
    integer, _, fraction = mantissa.partition(".")
    digits = (integer + fraction).lstrip("0")
    exponent = int(exponent_text or 0) - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    k = len(stripped)
    n = k + exponent  # value = 0.s × 10^n, in ECMAScript's terms s × 10^(n−k)
    if k <= n <= 21:
        return sign + stripped + "0" * (n - k)
    if 0 < n <= 21:
        return sign + stripped[:n] + "." + stripped[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + stripped
    exp = n - 1
    exp_text = ("e+" if exp >= 0 else "e-") + str(abs(exp))
    if k == 1:
        return sign + stripped + exp_text
    return sign + stripped[0] + "." + stripped[1:] + exp_text


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def js_string(value: str) -> str:
    """JSON.stringify of a string, as text (lone surrogates escaped, pairs joined)."""
    encoded: str = encode_basestring(value)
    if _SURROGATE.search(encoded) is None:
        return encoded
    # A high+low pair held as two code points is one character to JavaScript.
    joined = encoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE.sub(_escape_surrogate, joined)


def _ordered_items(obj: dict[str, Any]) -> Any:
    try:
        indices = [key for key in obj if key[:1].isdigit() and _ARRAY_INDEX.match(key)]
    except (TypeError, AttributeError):  # a non-str key: the same error `_encode` gives
        raise TypeError("object keys must be strings") from None
    if not indices:
        return obj.items()
    indices = [key for key in indices if int(key) <= MAX_ARRAY_INDEX]
    if not indices:
        return obj.items()
    indices.sort(key=int)
    first = set(indices)
    return [(key, obj[key]) for key in indices] + [
        (key, value) for key, value in obj.items() if key not in first
    ]


def _encode(value: Any, out: list[str]) -> None:
    # Ordered by frequency in real payloads; bool before int (bool is an int).
    kind = type(value)
    if kind is str:
        out.append(js_string(value))
    elif kind is dict:
        out.append("{")
        first = True
        for key, item in _ordered_items(value):
            if type(key) is not str:
                raise TypeError(f"object keys must be strings, not {type(key).__name__}")
            if not first:
                out.append(",")
            first = False
            out.append(js_string(key))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif kind is list or kind is tuple:
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif kind is int:
        out.append(str(value))
    elif kind is float:
        out.append(js_number(value))
    else:  # subclasses too (enums, OrderedDict): nothing sends them, so none is guessed at
        _unsupported(value)


def _unsupported(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# The fast path: the stdlib's C encoder already prints strings, integers, literals and
# most floats exactly as JavaScript does, and in insertion order. It is used when a walk
# over the containers (cheap: it never reads a string, so a multi-megabyte screenshot
# costs no more than a small event) finds nothing it would print differently:
# - no integer-like key (JavaScript moves those first) and no key that is not a str
#   (`1`, `True`, `None` must raise TypeError, not print as "1", "true", "null");
# - no float Python prints unlike JavaScript: integral (`1.0`, `-0.0`) or outside
#   1e-4 <= |x| < 1e16, where repr switches to exponents (`1e-05`, `1e+16`) — some of
#   those agree (`1e-10`, `1e+21`) but are rare enough to leave to the exact path;
# - no subclass or other type (enums, OrderedDict…): the exact path refuses those.
# NaN and ±Infinity make the encoder raise ValueError (allow_nan=False), and lone or
# unjoined surrogates make `.encode("utf-8")` raise: both go to the exact path too.
_C_ENCODE = json.JSONEncoder(
    ensure_ascii=False,
    check_circular=False,
    allow_nan=False,
    separators=(",", ":"),
    default=_unsupported,
).encode


def dumps(value: Any) -> bytes:
    """The canonical UTF-8 bytes of `value`."""
    if _as_is(value):
        try:
            text: str = _C_ENCODE(value)
            return text.encode("utf-8")
        except (ValueError, UnicodeEncodeError):
            pass  # non-finite numbers, surrogates: the exact path handles them
    return _dumps_exact(value)


def _as_is(value: Any) -> bool:
    """True if the C encoder prints `value` exactly as JavaScript would (see above)."""
    if type(value) is not dict and type(value) is not list:
        return False  # a bare scalar: the exact path is as fast
    stack = [value]
    children: Iterable[Any]
    while stack:
        current = stack.pop()
        if type(current) is dict:
            for key in current:
                if type(key) is not str:
                    return False
                if key[:1] in _DIGITS and _ARRAY_INDEX.match(key) and int(key) <= MAX_ARRAY_INDEX:
                    return False
            children = current.values()
        else:
            children = current
        for child in children:
            kind = type(child)
            if kind is str or kind is int or kind is bool or child is None:
                continue
            if kind is float:
                if child.is_integer() or not 1e-4 <= abs(child) < 1e16:
                    return False
            elif kind is dict or kind is list or kind is tuple:
                stack.append(child)
            else:
                return False
    return True


_DIGITS = frozenset("0123456789")


def _dumps_exact(value: Any) -> bytes:
    """The slow path, exact for every value (also the reference `dumps` is tested against)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


# ---------------------------------------------------------------- parsing


def _refuse_constant(name: str) -> Any:
    raise CanonicalJSONError(f"{name} is not a JSON number JavaScript can carry")


def _checked_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise CanonicalJSONError(f"integer {text[:30]}… is too large") from None
    if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
        return number
    raise CanonicalJSONError(
        f"integer {text} is beyond ±(2^53−1); JavaScript would change it (send it as a string)"
    )


def _checked_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise CanonicalJSONError(f"number {text} overflows to Infinity")
    return number


# Built once: `json.loads(text, parse_int=...)` would build a decoder on every call.
_DECODER = json.JSONDecoder(
    parse_int=_checked_int, parse_float=_checked_float, parse_constant=_refuse_constant
)


def loads(raw: bytes | str, *, max_depth: int = 64) -> Any:
    """Parse JSON text for ingest, refusing what JavaScript cannot carry unchanged."""
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalJSONError(f"body is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = raw
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise CanonicalJSONError(f"nesting deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise CanonicalJSONError(
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    # Fewer brackets than the limit cannot nest past it: skip the walk (most events). Past
    # 64 KiB counting costs more than walking (a screenshot is one huge string, few nodes).
    if len(text) > 65536 or text.count("{") + text.count("[") > max_depth:
        _check_depth(value, max_depth)
    return value


def _check_depth(value: Any, max_depth: int) -> None:
    if type(value) is not dict and type(value) is not list:
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        # Every container counts, empty ones too (as in `validate`).
        if depth > max_depth:
            raise CanonicalJSONError(f"nesting deeper than {max_depth} levels")
        children = current.values() if type(current) is dict else current
        stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))


def validate(value: Any, *, max_depth: int = 64, path: str = "") -> None:
    """Apply `loads`' refusals to a value built in Python (not parsed from text).

    It accepts what `dumps` encodes (the JSON types exactly, and tuples as arrays) so
    the two never disagree about a value.
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, path)]
    while stack:
        current, depth, where = stack.pop()
        kind = type(current)
        if kind is bool or current is None or kind is str:
            continue
        if kind is int:
            if not -MAX_SAFE_INTEGER <= current <= MAX_SAFE_INTEGER:
                raise CanonicalJSONError("integer beyond ±(2^53−1)", where)
        elif kind is float:
            if not math.isfinite(current):
                raise CanonicalJSONError("non-finite number", where)
        elif kind is dict or kind is list or kind is tuple:
            if depth > max_depth:
                raise CanonicalJSONError(f"nesting deeper than {max_depth} levels", where)
            items = current.items() if kind is dict else enumerate(current)
            for key, child in items:
                if kind is dict and type(key) is not str:
                    raise CanonicalJSONError("object keys must be strings", where)
                child_path = f"{where}.{key}" if kind is dict else f"{where}[{key}]"
                stack.append((child, depth + 1, child_path))
        else:
            raise CanonicalJSONError(f"{kind.__name__} is not a JSON value", where)
