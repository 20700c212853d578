"""`python -m pytest -p bench.reqwest_plugin tests/...`: the same tests, pyreqwest as the client.

Swaps the one factory of the app's outbound session (`app.egress.client`, used by the
lifespan's `http_component`, and its import in `app.dispatch.runner`, used by
`python -m app worker`) for `bench.reqwest_sender`'s, so the dispatcher and
simulations under test send through pyreqwest while every test file stays unchanged.
Benchmarks only: this is how the guard tests were run against pyreqwest for the
decision in the README; nothing in the app or in CI loads it.
"""

from __future__ import annotations

from typing import Any

import pytest

import app.dispatch.runner
import app.egress.client
from app.config import Settings
from bench.reqwest_sender import as_client_session, create_reqwest_session


def _reqwest_session(settings: Settings, **options: Any) -> Any:
    return as_client_session(create_reqwest_session(settings, **options))


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001 - pytest's hook signature
    app.egress.client.create_http_session = _reqwest_session
    app.dispatch.runner.create_http_session = _reqwest_session  # type: ignore[attr-defined]


def pytest_report_header() -> str:
    return "outbound client: pyreqwest (bench.reqwest_plugin)"
