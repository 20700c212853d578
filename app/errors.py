"""One exception tree for every failure a client can see, rendered by one handler.

Each class has an HTTP status and a stable `code`; clients switch on the code, people
read the message. A foreign id raises the same `NotFound` as a missing one.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.errors import database_unreachable
from app.ops.request_id import current_request_id

log = logging.getLogger(__name__)


class HooklineError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields
        self.headers = headers


class Unauthorized(HooklineError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HooklineError):
    status_code = 403
    code = "forbidden"


class NotFound(HooklineError):
    status_code = 404
    code = "not_found"


class RequestTimeout(HooklineError):
    status_code = 408
    code = "request_timeout"


class Conflict(HooklineError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(HooklineError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(HooklineError):
    status_code = 415
    code = "unsupported_media_type"


class TooManyRequests(HooklineError):
    status_code = 429
    code = "too_many_requests"


class ValidationFailed(HooklineError):
    status_code = 422
    code = "validation_error"


class ServiceUnavailable(HooklineError):
    """503: retry later (ingest: a failed group commit, the bytes-in-flight budget spent)."""

    status_code = 503
    code = "service_unavailable"


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None
    request_id: str | None = Field(default=None, alias="requestId")


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "Missing or invalid credentials",
        403: "Wrong kind of key",
        404: "Not found (also for another tenant's ids)",
        409: "Conflict with the object's state",
        413: "Body too large",
        415: "The body is not JSON",
        422: "Validation failed; `fields` has a message per field",
        429: "Too many at once; retry after `Retry-After` seconds",
        500: "Unexpected error; `requestId` finds its traceback in the log",
        503: "Database unavailable; retry",
    }.items()
}


def error_body(
    code: str, message: str, fields: dict[str, str] | None = None, *, request_id: bool = False
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    if request_id:
        error["requestId"] = current_request_id()
    return {"error": error}


def internal_error_response() -> JSONResponse:
    """The 500 every unexpected exception answers: the shape, the request id, no details."""
    body = error_body("internal_error", "Internal error", request_id=True)
    return JSONResponse(body, 500, headers={"Connection": "close"})


class UnexpectedErrorMiddleware:
    """Whatever escapes the app or the middleware inside this one answers the JSON 500.

    Inside `RequestIdMiddleware`, so the body and the log line carry the request id;
    the traceback goes to the log only.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:  # too late for a body: let the server abort the connection
                raise
            log.exception("unexpected error")
            await internal_error_response()(scope, receive, send)


_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    """`("body", "events", 0)` → `events[0]`; the request part (body/query/path) is dropped."""
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path", "header")
        else [str(p) for p in loc]
    )
    name = ""
    for part in parts:
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name or "body"


def _validation_fields(exc: RequestValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        message = str(error.get("msg", "Invalid value")).removeprefix("Value error, ")
        fields.setdefault(_field_name(tuple(error.get("loc", ()))), message)
    return fields


def error_response(exc: HooklineError) -> JSONResponse:
    """How a `HooklineError` answers (also used by ingest's fast path, past the handlers)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
    headers.update(exc.headers or {})
    return JSONResponse(
        error_body(exc.code, exc.message, exc.fields), exc.status_code, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    async def hookline_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HooklineError)
        return error_response(exc)

    async def request_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        fields = _validation_fields(exc)
        return JSONResponse(error_body("validation_error", "Invalid request", fields), 422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # FastAPI's "error parsing the body" (e.g. invalid UTF-8): a validation error.
            message = "Request body is not valid JSON"
            return JSONResponse(error_body("validation_error", message, {"body": message}), 422)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    async def database_error(_: Request, exc: Exception) -> JSONResponse:
        # The database being away is an outage, not a bug: 503 so clients retry. Anything
        # else (a statement the database refuses) would fail the same way again: never 503,
        # or an agent retries it forever.
        if database_unreachable(exc):
            return JSONResponse(
                error_body("service_unavailable", "Database unavailable, retry shortly"),
                503,
                headers={"Retry-After": "1"},
            )
        if isinstance(exc, IntegrityError):
            log.warning("integrity error: %s", type(exc.orig).__name__)
            return JSONResponse(error_body("conflict", "Conflicts with existing data"), 409)
        log.error("database refused a statement", exc_info=exc)
        return internal_error_response()

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return internal_error_response()

    app.add_exception_handler(HooklineError, hookline_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(OSError, database_error)
    # Starlette gives this one to its outermost middleware, so errors raised in our own
    # middleware get the JSON shape too.
    app.add_exception_handler(Exception, unexpected)
