"""Schemathesis against the app's own OpenAPI schema, served by a real uvicorn on loopback:
no 5xx, every response matching the documented schema and status codes, for valid
(positive) and invalid (negative) generated requests on every operation."""

import itertools
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from app.db.migrate import upgrade_to_head
from app.main import create_app
from tests.conftest import make_settings
from tests.support.factories import ADMIN_HEADERS

CHECKS = (
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
)


def _run_server(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def live_api() -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'schemathesis.db'}"
        upgrade_to_head(url)
        server, thread, base = _run_server(create_app(make_settings(url)))
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                reseller = http.post(
                    "/v1/admin/resellers", json={"name": "Fuzz"}, headers=ADMIN_HEADERS
                ).json()
                headers = {"Authorization": f"Bearer {reseller['apiKey']}"}
                org = http.post("/v1/organisations", json={"name": "O"}, headers=headers).json()
            yield {
                "base": base,
                "reseller": headers,
                "ingest": {"Authorization": f"Bearer {org['ingestKey']}"},
            }
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def _headers_for(case: Any, live_api: dict[str, Any]) -> dict[str, str]:
    path: str = case.operation.path
    if path.startswith("/v1/admin"):
        return ADMIN_HEADERS
    if path.startswith("/v1/events") and case.operation.method.upper() == "POST":
        return dict(live_api["ingest"])
    return dict(live_api["reseller"])


def test_api_conforms_to_its_schema(live_api: dict[str, Any]) -> None:
    api_schema = schemathesis.openapi.from_url(f"{live_api['base']}/openapi.json")
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    calls: list[str] = []

    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            calls.append(case.operation.path)
            case.call_and_validate(headers=_headers_for(case, live_api), checks=CHECKS, timeout=30)

        try:
            check()
        except Unsatisfiable:
            # no invalid request exists for an operation without parameters or body
            assert mode is GenerationMode.NEGATIVE
    # every operation was exercised, most with many generated cases
    assert len(calls) > 10 * len(operations)
