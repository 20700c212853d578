"""Property: whatever JSON values, headers, query strings and credentials a client sends
to any route of the OpenAPI schema, the answer is never a 5xx, and every error is the
JSON error shape. In-process through httpx's ASGI transport, on both databases, with a
bounded number of examples so the suite stays fast (schemathesis, next door, checks the
schema-guided cases)."""

import json
import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest_asyncio
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from tests.conftest import make_settings
from tests.support.factories import ADMIN_HEADERS, EVENT_TYPES, Tenant, new_tenant, new_webhook

EXAMPLES = 300
# Field names the API knows, so generated objects reach past "unknown field" often.
KNOWN_KEYS = (
    "name", "url", "events", "enabled", "event", "userId", "teamId", "data", "timestamp",
    "version", "agent", "maxInFlight", "ratePerSecond", "since", "until", "statuses",
    "eventTypes", "organisationIds", "overlapSeconds",
)  # fmt: skip
QUERY_KEYS = ("limit", "cursor", "type", "organisationId", "webhookId", "status", "event", "window")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/vnd.api+json",
    "",
)
PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from([*EVENT_TYPES, "", " ", "\x00", "\ud800", "https://a.example.com/x"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=12,
)


def _encode(value: Any) -> bytes:
    # `\uXXXX` escapes carry lone surrogates; NaN/Infinity come out as the invalid tokens.
    return json.dumps(value).encode()


bodies = st.one_of(
    json_values.map(_encode),
    st.binary(max_size=64),
    st.just(b""),
)
queries = st.dictionaries(st.sampled_from(QUERY_KEYS) | PRINTABLE, PRINTABLE, max_size=3)
header_names = st.sampled_from(
    ["X-Request-ID", "Accept", "Accept-Encoding", "Idempotency-Key", "X-Forwarded-For", "Origin"]
) | st.from_regex(r"X-[A-Za-z0-9-]{1,12}", fullmatch=True)
extra_headers = st.dictionaries(header_names, PRINTABLE, max_size=3)
# Half the time the credential the route wants, so requests get past authentication.
credentials = st.sampled_from(["right"] * 6 + ["reseller", "other", "ingest", "admin"])
credentials |= st.sampled_from(["invalid", "none", "junk"])


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() for method in item)


@pytest_asyncio.fixture(scope="module")
async def fuzz(database_url: str) -> Any:
    # A short delivery timeout: simulations to the unreachable example host end quickly.
    app = create_app(make_settings(database_url, delivery_timeout_seconds=0.5))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as http:
            tenant, other = await new_tenant(http, "Fuzz"), await new_tenant(http, "Other")
            webhook = await new_webhook(http, tenant)
            yield http, _operations(app), tenant, other, webhook


def _auth(kind: str, method: str, path: str, tenant: Tenant, other: Tenant) -> dict[str, str]:
    if kind == "right":
        if path.startswith("/v1/admin"):
            kind = "admin"
        elif method == "POST" and path.startswith("/v1/events"):
            kind = "ingest"
        else:
            kind = "reseller"
    return {
        "reseller": tenant.headers,
        "other": other.headers,
        "ingest": tenant.ingest_headers,
        "admin": ADMIN_HEADERS,
        "invalid": {"Authorization": "Bearer hk_" + "x" * 43},
        "none": {},
        "junk": {"Authorization": "Basic Zm9vOmJhcg=="},
    }[kind]


@given(data=st.data())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
async def test_no_input_gets_a_5xx_or_a_non_json_error(fuzz: Any, data: st.DataObject) -> None:
    http, operations, tenant, other, webhook = fuzz
    method, template = data.draw(st.sampled_from(operations), label="operation")
    ids = st.sampled_from([webhook["id"], tenant.organisation_id, "dlv_x", "x"]) | PRINTABLE
    path = re.sub(r"\{[^}]+\}", lambda _: data.draw(ids.filter(bool), label="id") or "x", template)
    headers = {
        **data.draw(extra_headers, label="headers"),
        **_auth(data.draw(credentials, label="credentials"), method, template, tenant, other),
    }
    body = b""
    if method in ("POST", "PATCH", "PUT"):
        body = data.draw(bodies, label="body")
        types = st.sampled_from(["application/json"] * 4 + list(CONTENT_TYPES)) | PRINTABLE
        content_type = data.draw(types, label="type")
        if content_type:
            headers["Content-Type"] = content_type
    query = urlencode(data.draw(queries, label="query"))
    url = httpx.URL(path.replace("?", "%3F").replace("#", "%23"), query=query.encode())
    response = await http.request(method, url, content=body, headers=headers)

    assert response.status_code < 500, (method, path, response.status_code, response.text)
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), response
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str), error
