"""The webhook-URL rules of SPEC §2: every rule, every spelling of a private address."""

import ipaddress

import pytest

from app.egress.url_policy import (
    UrlRejected,
    check_address,
    check_webhook_url,
    is_public_address,
    parse_whatwg_ipv4,
)

ACCEPTED = [
    "https://example.com",
    "https://example.com/",
    "https://hooks.example.com/reseller/events",
    "https://hooks.example.com:8443/a?b=1#frag",
    "HTTPS://EXAMPLE.COM/Path",
    "https://8.8.8.8/",
    "https://93.184.216.34:443/x",
    "https://[2606:4700:4700::1111]/",
    "https://[2001:4860:4860::8888]:8443/",
    "https://xn--bcher-kva.example/",
    "https://bücher.example/",
    "https://127.0.0.1.nip.io/",  # a name: checked again after resolution, at connect
    "https://sub.domain.example.co.uk/a/b/c",
    "  https://example.com/padded  ",
    "https://example.com/" + "a" * 2000,
    "https://1.1.1.1/",
    "https://example.com/%7Euser",
    "https://e-x.example/path;params",
    "https://example.com./",
    "https://example.com:/",
    "https://example.com:00443/",
    "https://example.com:65535/",
    "https://_acme.example.com/",
    "https://example.com/?next=http://127.0.0.1/",
    "https://example.com/path@127.0.0.1",
    "https://example.com#@127.0.0.1",
    "https://[2002:808:808::1]/",  # 6to4 around a public address
    "https://[64:ff9b::808:808]/",  # NAT64 of a public address
    "https://[::ffff:8.8.8.8]/",
    "https://１.１.１.１/",
    "https://8.8.8.8./",
    "https://134744072/",  # 8.8.8.8 spelled as one number: public, so fine
]

REJECTED = [
    ("http://example.com/", "https"),
    ("ftp://example.com/", "https"),
    ("javascript:alert(1)", "https"),
    ("example.com/path", "https"),
    ("//example.com/path", "https"),
    ("", "empty"),
    ("https://", "host"),
    ("https:///path", "host"),
    ("https://example.com/" + "a" * 2050, "2048"),
    ("https://user@example.com/", "user information"),
    ("https://user:pass@example.com/", "user information"),
    ("https://example.com@127.0.0.1/", "user information"),
    ("https://ex ample.com/", "spaces"),
    ("https://exa\nmple.com/", "control"),
    ("https://example.com\\@evil/", "backslash"),
    ("https://example.com:0/", "port"),
    ("https://example.com:99999/", "port"),
    ("https://example.com:65536/", "port"),
    ("https://example.com:+443/", "malformed"),
    ("https://example.com:٤٤٣/", "malformed"),
    ("https://a:b:c/", "malformed"),
    ("https://[2606:4700::1111]x/", "malformed"),
    ("https://[example.com]/", "malformed"),
    ("https:example.com", "host"),
    ("https:/example.com", "host"),
    ("https://:443/", "host"),
    ("https://./", "host"),
    ("https://example.com/a\u00a0b", "spaces"),
    ("https://example.com/\u202eevil", "control"),
    ("https://exa\u200bmple.com/", "control"),
    ("https://exa%00mple.com/", "control"),
    ("https://exa%0Ample.com/", "control"),
    ("https://exa%20mple.com/", "spaces"),
    ("https://ex*ample.com/", "not a valid domain name"),
    ("https://example.com../", "not a valid domain name"),
    ("https://-example.com/", "not a valid domain name"),
    ("https://" + "a" * 64 + ".example/", "not a valid domain name"),
    ("https://%ff.example/", "not a valid domain name"),
    ("https://localhost/", "local host name"),
    ("https://LOCALHOST/", "local host name"),
    ("https://localhost./", "local host name"),
    ("https://api.localhost/", "local host name"),
    ("https://printer.local/", "local host name"),
    ("https://metadata.google.internal/", "local host name"),
    ("https://box.localdomain/", "local host name"),
    ("https://nas.home.arpa/", "local host name"),
    ("https://Api.LocalHost./", "local host name"),
    ("https://localhost.localdomain/", "local host name"),
    ("https://%6c%6f%63%61%6c%68%6f%73%74/", "local host name"),
    ("https://127.0.0.1/", "loopback"),
    ("https://127.255.255.254/", "loopback"),
    ("https://127.0.0.1.:443/", "loopback"),
    ("https://2130706433/", "loopback"),
    ("https://017700000001/", "loopback"),
    ("https://0x7f000001/", "loopback"),
    ("https://0177.0.0.1/", "loopback"),
    ("https://0x7f.0x0.0x0.0x1/", "loopback"),
    ("https://0x7f.1/", "loopback"),
    ("https://127.1/", "loopback"),
    ("https://127.0.1/", "loopback"),
    ("https://%31%32%37.0.0.1/", "loopback"),
    ("https://１２７.０.０.１/", "loopback"),
    ("https://１２７．０．０．１/", "loopback"),
    ("https://127。0。0。1/", "loopback"),
    ("https://0x7F.0.0.1/", "loopback"),
    ("https://0X7F000001/", "loopback"),
    ("https://127.0.0x0.1/", "loopback"),
    ("https://0177.1/", "loopback"),
    ("https://127.0.0.1./", "loopback"),
    ("https://127.0.0.\u00ad1/", "control"),
    ("https://0x/", "unspecified"),
    ("https://169.254.43518/", "link-local"),
    ("https://2852039166/", "link-local"),
    ("https://0xa9.0xfe.0xa9.0xfe/", "link-local"),
    ("https://0251.0376.0251.0376/", "link-local"),
    ("https://100.64.1/", "carrier-grade NAT"),
    ("https://172.16.1/", "172.16.0.0/12"),
    ("https://198.19.255.1/", "benchmarking"),
    ("https://09.1.1.1/", "not a valid IPv4"),
    ("https://127.0.0.0x/", "loopback"),
    ("https://a.b.127.0.0.1/", "neither a valid name"),
    ("https://0/", "unspecified"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://10.0.0.1/", "10.0.0.0/8"),
    ("https://10.1/", "10.0.0.0/8"),
    ("https://167772161/", "10.0.0.0/8"),
    ("https://172.16.0.1/", "172.16.0.0/12"),
    ("https://172.31.255.255/", "172.16.0.0/12"),
    ("https://192.168.1.1/", "192.168.0.0/16"),
    ("https://0xc0a80101/", "192.168.0.0/16"),
    ("https://0300.0250.1.1/", "192.168.0.0/16"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://100.64.0.1/", "carrier-grade NAT"),
    ("https://100.127.255.254/", "carrier-grade NAT"),
    ("https://192.0.0.8/", "IETF"),
    ("https://192.0.2.10/", "documentation"),
    ("https://198.51.100.7/", "documentation"),
    ("https://203.0.113.9/", "documentation"),
    ("https://198.18.0.1/", "benchmarking"),
    ("https://224.0.0.1/", "multicast"),
    ("https://239.255.255.250/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "reserved"),
    ("https://256.1.1.1/", "not a valid IPv4"),
    ("https://1.2.3.4.5/", "neither a valid name"),
    ("https://0x100000000/", "not a valid IPv4"),
    ("https://[::1]/", "loopback"),
    ("https://[0:0:0:0:0:0:0:1]/", "loopback"),
    ("https://[::]/", "unspecified"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),
    ("https://[::ffff:7f00:1]/", "loopback"),
    ("https://[::ffff:10.0.0.1]/", "10.0.0.0/8"),
    ("https://[::ffff:169.254.169.254]/", "link-local"),
    ("https://[::127.0.0.1]/", "loopback"),
    ("https://[64:ff9b::7f00:1]/", "loopback"),
    ("https://[64:ff9b::a00:1]/", "10.0.0.0/8"),
    ("https://[2002:c0a8:101::]/", "192.168.0.0/16"),
    ("https://[2002:7f00:1::1]/", "loopback"),
    ("https://[fc00::1]/", "unique local"),
    ("https://[fd12:3456::1]/", "unique local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[fe80::1%25eth0]/", "zone"),
    ("https://[fec0::1]/", "site-local"),
    ("https://[ff02::1]/", "multicast"),
    ("https://[2001:db8::1]/", "documentation"),
    ("https://[3fff::1]/", "documentation"),
    ("https://[5f00::1]/", "segment-routing"),
    ("https://[64:ff9b:1::a00:1]/", "NAT64"),
    ("https://[::ffff:0:a00:1]/", "10.0.0.0/8"),
    ("https://[::ffff:a9fe:a9fe]/", "link-local"),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "documentation"),  # Teredo 192.0.2.45
    ("https://[100::1]/", "discard"),
    ("https://[4000::1]/", "not a public IPv6"),
    ("https://[::2]/", "unspecified"),
    ("https://[::ffff:0177.0.0.1]/", "malformed"),
    ("https://[fe80::1%eth0]/", "zone"),
    ("https://[::1/", "malformed"),
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_accepted(url: str) -> None:
    assert check_webhook_url(url) == url.strip()


@pytest.mark.parametrize(("url", "rule"), REJECTED)
def test_rejected_with_the_rule_named(url: str, rule: str) -> None:
    with pytest.raises(UrlRejected) as caught:
        check_webhook_url(url)
    assert rule.lower() in caught.value.reason.lower(), caught.value.reason


def test_at_least_eighty_cases() -> None:
    assert len(ACCEPTED) + len(REJECTED) >= 80


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost:3000/webhooks/reseller",
        "https://10.0.0.5/",
        "http://[::1]:9000/",
        "http://192.168.1.20/x",
    ],
)
def test_allow_private_relaxes_scheme_and_host(url: str) -> None:
    assert check_webhook_url(url, allow_private=True) == url
    with pytest.raises(UrlRejected):
        check_webhook_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://user:pw@127.0.0.1/", "ftp://127.0.0.1/", "http://", "http://a b/"],
)
def test_allow_private_keeps_the_other_rules(url: str) -> None:
    with pytest.raises(UrlRejected):
        check_webhook_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.2.3.4", False),
        ("172.20.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.1.1", False),
        ("::1", False),
        ("::ffff:192.168.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("64:ff9b::c0a8:1", False),
        ("2002:0a00:0001::", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo client 192.0.2.45
        ("fe80::abcd", False),
        ("fd00::5", False),
        ("ff05::2", False),
        ("3fff::1", False),
        ("64:ff9b:1::808:808", False),
        ("2001:4860:4860::8888", True),
        ("1.1.1.1", True),
        ("198.18.0.1", False),
        ("255.255.255.255", False),
    ],
)
def test_check_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public
    assert is_public_address(ipaddress.ip_address(address)) is public
    check_address(address, allow_private=True)  # never raises when private is allowed


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("0.0.0.0", "0.0.0.0 is an unspecified ('this network') address"),
        ("10.9.8.7", "10.9.8.7 is a private address (10.0.0.0/8)"),
        (
            "169.254.169.254",
            "169.254.169.254 is a link-local address (169.254.0.0/16, cloud metadata)",
        ),
        ("::1", "::1 is the IPv6 loopback address"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1 embeds 127.0.0.1, a loopback address"),
        ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe embeds 169.254.169.254, a link-local address"),
        ("2002:c0a8:0101::1", "2002:c0a8:101::1 embeds 192.168.1.1, a private address"),
        ("fe80::1%eth0", "fe80::1%eth0 has an IPv6 zone id"),
        ("fd00::1", "fd00::1 is an IPv6 unique local address (fc00::/7)"),
    ],
)
def test_check_address_names_the_rule(address: str, reason: str) -> None:
    with pytest.raises(UrlRejected) as caught:
        check_address(address)
    assert caught.value.reason.startswith(reason), caught.value.reason


def test_check_address_refuses_non_addresses() -> None:
    with pytest.raises(UrlRejected):
        check_address("example.com")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", None),
        ("1.2.3.4", "1.2.3.4"),
        ("16909060", "1.2.3.4"),
        ("0x01020304", "1.2.3.4"),
        ("1.0x2.03.4", "1.2.3.4"),
        ("1.2.772", "1.2.3.4"),
        ("1.131844", "1.2.3.4"),
        ("1.2.3.4.", "1.2.3.4"),
        ("a.1", "error"),
        ("09.1.1.1", "error"),
    ],
)
def test_whatwg_ipv4_parsing(host: str, expected: str | None) -> None:
    if expected == "error":
        with pytest.raises(UrlRejected):
            parse_whatwg_ipv4(host)
        return
    parsed = parse_whatwg_ipv4(host)
    assert (str(parsed) if parsed else None) == expected
