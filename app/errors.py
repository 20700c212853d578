"""One exception tree for every failure a client can see, rendered by one handler.

Each class has an HTTP status and a stable `code`; clients switch on the code, people
read the message. A foreign id raises the same `NotFound` as a missing one.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException


class HooklineError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class Unauthorized(HooklineError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HooklineError):
    status_code = 403
    code = "forbidden"


class NotFound(HooklineError):
    status_code = 404
    code = "not_found"


class Conflict(HooklineError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(HooklineError):
    status_code = 413
    code = "payload_too_large"


class ValidationFailed(HooklineError):
    status_code = 422
    code = "validation_error"


class ServiceUnavailable(HooklineError):
    status_code = 503
    code = "service_unavailable"


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


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
        422: "Validation failed; `fields` has a message per field",
        503: "Database unavailable; retry",
    }.items()
}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


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


def install_error_handlers(app: FastAPI) -> None:
    async def hookline_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HooklineError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            error_body(exc.code, exc.message, exc.fields), exc.status_code, headers=headers
        )

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
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The database being away is an outage, not a bug: answer 503 so clients retry.
        del exc
        return JSONResponse(
            error_body("service_unavailable", "Database unavailable, retry shortly"),
            503,
            headers={"Retry-After": "1"},
        )

    app.add_exception_handler(HooklineError, hookline_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(DBAPIError, database_unavailable)
    app.add_exception_handler(OSError, database_unavailable)
