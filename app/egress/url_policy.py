"""The URL and address policy for webhook targets: one module, used when a URL is saved
and again for every address the dispatcher connects to.

A target must be public. Hosts are read the way browsers (WHATWG URL) and `inet_aton`
read them, so every spelling of a private address is caught: decimal `2130706433`,
octal `0177.0.0.1`, hex `0x7f.1`, short forms `127.1`, IPv6 embeddings of IPv4
(mapped, compatible, NAT64, 6to4, Teredo) and full-width digits. Names reserved for
local use (`localhost`, `*.localhost`, `.local`, `.internal`, `.localdomain`,
`.home.arpa`) are refused too; other names are checked after resolution, at connect.

Host names are held to letters, digits, `-` and `_` after IDNA, ports to 1-65535 in
ASCII digits, and whitespace, control and invisible formatting characters are refused
anywhere in the URL, so nothing downstream can read the host differently from us.
"""

import ipaddress
import re
import unicodedata
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
LOCAL_NAMES = ("localhost", "localhost.localdomain")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")

_V4_RULES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "an unspecified ('this network') address"),
    ("10.0.0.0/8", "a private address (10.0.0.0/8)"),
    ("100.64.0.0/10", "a carrier-grade NAT address (100.64.0.0/10)"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address (169.254.0.0/16, cloud metadata)"),
    ("172.16.0.0/12", "a private address (172.16.0.0/12)"),
    ("192.0.0.0/24", "an IETF protocol assignment (192.0.0.0/24)"),
    ("192.0.2.0/24", "a documentation address (192.0.2.0/24)"),
    ("192.88.99.0/24", "a 6to4 relay anycast address"),
    ("192.168.0.0/16", "a private address (192.168.0.0/16)"),
    ("198.18.0.0/15", "a benchmarking address (198.18.0.0/15)"),
    ("198.51.100.0/24", "a documentation address (198.51.100.0/24)"),
    ("203.0.113.0/24", "a documentation address (203.0.113.0/24)"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
    ("255.255.255.255/32", "the broadcast address"),
)
_V6_RULES: tuple[tuple[str, str], ...] = (
    ("::/128", "the unspecified IPv6 address"),
    ("::1/128", "the IPv6 loopback address"),
    ("100::/64", "an IPv6 discard-only address"),
    ("2001:db8::/32", "an IPv6 documentation address"),
    ("2001:10::/28", "an IPv6 ORCHID address"),
    ("fc00::/7", "an IPv6 unique local address (fc00::/7)"),
    ("fe80::/10", "an IPv6 link-local address"),
    ("fec0::/10", "an IPv6 site-local address"),
    ("ff00::/8", "an IPv6 multicast address"),
    ("64:ff9b:1::/48", "an IPv6 local-use NAT64 address (64:ff9b:1::/48)"),
    ("3fff::/20", "an IPv6 documentation address"),
    ("5f00::/16", "an IPv6 segment-routing address (5f00::/16)"),
)
_V4_NETWORKS = tuple((ipaddress.IPv4Network(net), why) for net, why in _V4_RULES)
_V6_NETWORKS = tuple((ipaddress.IPv6Network(net), why) for net, why in _V6_RULES)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_V4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NUMERIC_LABEL = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_NAME_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# The authority after user-info is refused: a host (bracketed IPv6 or no colon) and an
# optional ASCII-digit port; urlsplit alone lets `[::1]x` or `:+80` through or misreads them.
_AUTHORITY = re.compile(r"^(?P<host>\[[^\[\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]*))?$")


class UrlRejected(ValueError):
    """A URL or address that is not an acceptable webhook target; `reason` is for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, in any of the usual embeddings."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _V4_TRANSLATED or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _V4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_rule(address: IPAddress) -> str | None:
    """Which rule refuses `address`, as a predicate ("is a loopback address"), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "has an IPv6 zone id"
        embedded = _embedded_v4(address)
        if embedded is not None:
            inner = address_rule(embedded)
            return f"embeds {embedded}, {inner.removeprefix('is ')}" if inner else None
        for network6, why in _V6_NETWORKS:
            if address in network6:
                return f"is {why}"
        if address not in _GLOBAL_UNICAST or not address.is_global:
            return "is not a public IPv6 address"
        return None
    for network, why in _V4_NETWORKS:
        if address in network:
            return f"is {why}"
    if not address.is_global:
        return "is not a public IPv4 address"
    return None


def refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public target, as a sentence, or None when it is."""
    rule = address_rule(address)
    return f"{address} {rule}" if rule else None


def check_address(address: str | IPAddress, *, allow_private: bool = False) -> None:
    """Raise `UrlRejected` unless `address` is public (or private targets are allowed)."""
    try:
        parsed = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        raise UrlRejected(f"{address!r} is not an IP address") from None
    if allow_private:
        return
    reason = refusal(parsed)
    if reason is not None:
        raise UrlRejected(reason)


def is_public_address(address: str | IPAddress) -> bool:
    try:
        check_address(address)
    except UrlRejected:
        return False
    return True


def _parse_ipv4_number(label: str) -> int:
    if label[:2] in ("0x", "0X"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)
    return int(label, 10)


def parse_whatwg_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a WHATWG URL parser (or inet_aton) reads in `host`, if any.

    Returns None for ordinary names; raises `UrlRejected` for a numeric-looking host
    that is no valid address (browsers refuse those too).
    """
    labels = host.split(".")
    if labels and labels[-1] == "":
        labels = labels[:-1]
    if not labels or not _NUMERIC_LABEL.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMERIC_LABEL.match(label) for label in labels):
        raise UrlRejected(f"host {host!r} is neither a valid name nor a valid IPv4 address")
    try:
        numbers = [_parse_ipv4_number(label) for label in labels]
    except ValueError:
        raise UrlRejected(f"host {host!r} is not a valid IPv4 address") from None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise UrlRejected(f"host {host!r} is not a valid IPv4 address")
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _has_forbidden_characters(text: str) -> bool:
    """Whitespace (any script), control and invisible formatting characters."""
    return any(
        c.isspace() or c == "\\" or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
        for c in text
    )


def normalise_host(raw_host: str) -> str:
    """Percent-decoding, NFKC (full-width digits and dots) and IDNA, as browsers do."""
    host = unquote(raw_host)
    if _has_forbidden_characters(host):
        raise UrlRejected(f"host {raw_host!r} contains spaces or control characters")
    host = unicodedata.normalize("NFKC", host).replace("。", ".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise UrlRejected(f"host {raw_host!r} is not a valid domain name") from None
    return host


def _check_ipv6_literal(raw_host: str, *, allow_private: bool) -> None:
    literal = raw_host[1:-1]
    if "%" in literal:
        raise UrlRejected("IPv6 zone ids are not allowed in webhook URLs")
    try:
        address = ipaddress.IPv6Address(literal)
    except ipaddress.AddressValueError:
        raise UrlRejected(f"host {raw_host!r} is not a valid IPv6 address") from None
    check_address(address, allow_private=allow_private)


def _check_host(raw_host: str, *, allow_private: bool) -> None:
    if raw_host.startswith("["):
        _check_ipv6_literal(raw_host, allow_private=allow_private)
        return
    host = normalise_host(raw_host)
    if not host.strip("."):
        raise UrlRejected("URL must have a host")
    # WHATWG: a host whose last label is numeric is an IPv4 address, or invalid.
    address = parse_whatwg_ipv4(host)
    if address is not None:
        check_address(address, allow_private=allow_private)
        return
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if len(name) > 253 or not all(_NAME_LABEL.match(label) for label in labels):
        raise UrlRejected(f"host {raw_host!r} is not a valid domain name")
    if not allow_private and (name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES)):
        raise UrlRejected(f"{name} is a local host name")


def check_webhook_url(url: str, *, allow_private: bool = False) -> str:
    """Validate a webhook URL on save; returns it stripped of surrounding whitespace.

    With `allow_private` (development and tests only) `http` and private, loopback and
    local hosts are accepted; every other rule still applies.
    """
    url = url.strip()
    if not url:
        raise UrlRejected("URL must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRejected(f"URL must be at most {MAX_URL_LENGTH} characters")
    if _has_forbidden_characters(url):
        raise UrlRejected("URL must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UrlRejected(f"URL is malformed: {exc}") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in allowed:
        raise UrlRejected("URL must use https")
    if not url[len(parts.scheme) :].startswith("://"):
        raise UrlRejected("URL must have a host (scheme://host/...)")
    if "@" in parts.netloc:
        raise UrlRejected("URL must not contain user information (user:password@)")
    authority = _AUTHORITY.match(parts.netloc)
    if authority is None:
        raise UrlRejected("URL is malformed: the host or port cannot be read")
    raw_host, port = authority.group("host"), authority.group("port")
    if port and not 1 <= int(port) <= 65535:
        raise UrlRejected("URL port must be between 1 and 65535")
    if not raw_host:
        raise UrlRejected("URL must have a host")
    _check_host(raw_host, allow_private=allow_private)
    return url
