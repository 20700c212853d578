"""Text from outside (a receiver's reply, an exception's message) made safe to store.

Both databases refuse some strings: PostgreSQL any NUL, and neither can encode a lone
surrogate. A receiver controls these bytes, so they are cleaned before they reach a
row: one hostile reply must never fail the write it shares with other tenants' results.
"""

REPLACEMENT = "\ufffd"


def storable_text(value: str | None, *, limit: int) -> str | None:
    """`value` with NULs and lone surrogates replaced by U+FFFD, cut to `limit` characters."""
    if value is None:
        return None
    value = value[:limit]
    if "\x00" in value:
        value = value.replace("\x00", REPLACEMENT)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: replace each one
        value = "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value
