"""Request ids and the access log, as a pure ASGI middleware.

Pure ASGI rather than `BaseHTTPMiddleware`: it passes streaming bodies, lifespan and
websocket scopes through untouched and adds no task per request. The id comes from
the caller's `X-Request-ID` when it is sane (at most 64 of `[A-Za-z0-9._-]`, so a
proxy's id follows the request through our logs) or is generated; it lives in a
contextvar the log formatter reads, and goes back as a response header.
"""

import logging
import re
import secrets
import time
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Probes and scrapes every few seconds would drown the access log: they log at DEBUG.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

request_id_var: ContextVar[str | None] = ContextVar("hookline_request_id", default=None)
access_logger = logging.getLogger("hookline.access")


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id() -> str:
    return "req_" + secrets.token_hex(8)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            candidate: str = value.decode("latin-1")
            return candidate if _SANE.fullmatch(candidate) else None
    return None


class RequestIdMiddleware:
    """Sets the request id for the request's context and writes one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                headers.append((HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = status or 500
            raise
        finally:
            _log_access(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)


def _log_access(scope: Scope, status: int | None, elapsed: float) -> None:
    path: str = scope.get("path", "")
    level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
    if not access_logger.isEnabledFor(level):
        return
    method: str = scope.get("method", "")
    duration_ms = round(elapsed * 1000, 2)
    extra: dict[str, Any] = {
        "method": method,
        "path": path,  # never the query string: it is where people put tokens
        "status": status,
        "duration_ms": duration_ms,
    }
    access_logger.log(level, "%s %s %s %.1fms", method, path, status, duration_ms, extra=extra)
