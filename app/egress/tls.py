"""TLS for deliveries: always verified; `HOOKLINE_CA_BUNDLE` adds CAs (private PKI, tests)."""

import ssl


def build_ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context
