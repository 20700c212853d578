"""The URL and address policy for webhook targets: one module, used when a URL is saved
and again for every address the dispatcher connects to.

A target must be public. Hosts are read the way browsers (WHATWG URL) and `inet_aton`
read them, so every spelling of a private address is caught: decimal `2130706433`,
octal `0177.0.0.1`, hex `0x7f.1`, short forms `127.1`, IPv6 embeddings of IPv4
(mapped, compatible, NAT64, 6to4, Teredo) and full-width digits. Names reserved for
local use (`localhost`, `*.localhost`, `.local`, `.internal`, `.localdomain`,
`.home.arpa`) are refused too; other names are checked after resolution, at connect.
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
)
_V4_NETWORKS = tuple((ipaddress.IPv4Network(net), why) for net, why in _V4_RULES)
_V6_NETWORKS = tuple((ipaddress.IPv6Network(net), why) for net, why in _V6_RULES)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_V4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NUMERIC_LABEL = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


class UrlRejected(ValueError):
    """A URL or address that is not an acceptable webhook target; `reason` is for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, in any of the usual embeddings."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _V4_TRANSLATED or address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _V4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public target, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return f"{address} has an IPv6 zone id"
        embedded = _embedded_v4(address)
        if embedded is not None:
            inner = refusal(embedded)
            return f"{address} embeds {embedded}, {inner.split(' is ', 1)[1]}" if inner else None
        for network6, why in _V6_NETWORKS:
            if address in network6:
                return f"{address} is {why}"
        if not address.is_global:
            return f"{address} is not a public IPv6 address"
        return None
    for network, why in _V4_NETWORKS:
        if address in network:
            return f"{address} is {why}"
    if not address.is_global:
        return f"{address} is not a public IPv4 address"
    return None


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


def normalise_host(raw_host: str) -> str:
    """Percent-decoding, NFKC (full-width digits and dots) and IDNA, as browsers do."""
    host = unquote(raw_host)
    host = unicodedata.normalize("NFKC", host).replace("。", ".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UrlRejected(f"host {raw_host!r} is not a valid domain name") from None
    return host


def _check_host(raw_host: str, *, allow_private: bool) -> None:
    if raw_host.startswith("["):
        literal = raw_host[1:-1]
        if "%" in literal:
            raise UrlRejected("IPv6 zone ids are not allowed in webhook URLs")
        try:
            check_address(ipaddress.IPv6Address(literal), allow_private=allow_private)
        except ipaddress.AddressValueError:
            raise UrlRejected(f"host {raw_host!r} is not a valid IPv6 address") from None
        return
    host = normalise_host(raw_host)
    if not host or any(c in host for c in "%/\\@[]:<>^|' \"") or not host.strip("."):
        raise UrlRejected(f"host {raw_host!r} is not a valid domain name")
    address = parse_whatwg_ipv4(host)
    if address is not None:
        check_address(address, allow_private=allow_private)
        return
    name = host.rstrip(".")
    if not allow_private and (name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES)):
        raise UrlRejected(f"{name} is a local host name")
    if len(name) > 253 or any(not 0 < len(label) <= 63 for label in name.split(".")):
        raise UrlRejected(f"host {raw_host!r} is not a valid domain name")


def check_webhook_url(url: str, *, allow_private: bool = False) -> str:
    """Validate a webhook URL on save; returns it stripped of surrounding whitespace."""
    url = url.strip()
    if not url:
        raise UrlRejected("URL must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRejected(f"URL must be at most {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url) or "\\" in url:
        raise UrlRejected("URL must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRejected(f"URL is malformed: {exc}") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in allowed:
        raise UrlRejected("URL must use https")
    if "@" in parts.netloc:
        raise UrlRejected("URL must not contain user information (user:password@)")
    if port == 0:
        raise UrlRejected("URL port must be between 1 and 65535")
    raw_host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if parts.netloc.startswith("[") and "]" in parts.netloc:
        raw_host = parts.netloc[: parts.netloc.index("]") + 1]
    if not raw_host or not parts.hostname:
        raise UrlRejected("URL must have a host")
    _check_host(raw_host, allow_private=allow_private)
    return url
