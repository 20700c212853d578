"""The route class of every API router: credentials before the body, JSON or 415.

FastAPI reads and parses a route's body before it solves the route's dependencies, so
an unauthenticated client could make the server read and parse up to the body limit
(and before the limit existed, any amount). `ApiRoute` runs the route's reseller or
admin check (`app.auth.deps.EARLY_AUTH`) first, refuses a body that is not JSON with
415 (a route whose body is optional may also be called with none), and only then lets
FastAPI read it, with the app's settings in
`app.kit.schema.validation_settings` for the field validators. The body's size is
bounded before routing by `app.ops.body_limit`. Ingest routes read their body by hand
after `IngestAuth`, so they have no body field and pass straight through.
"""

from collections.abc import Awaitable, Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.auth.deps import EARLY_AUTH
from app.errors import UnsupportedMediaType
from app.kit.schema import validation_settings

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def early_auth_of(dependant: Dependant) -> Callable[[Request], Awaitable[object]] | None:
    pending = list(dependant.dependencies)
    while pending:
        sub = pending.pop(0)
        check = EARLY_AUTH.get(sub.call) if sub.call is not None else None
        if check is not None:
            return check
        pending.extend(sub.dependencies)
    return None


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class ApiRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        check = early_auth_of(self.dependant)
        optional = not self.body_field.field_info.is_required()

        async def authenticated_then_body(request: Request) -> Response:
            if check is not None:
                await check(request)
            content_type = request.headers.get("content-type")
            if not is_json(content_type) and not (optional and _no_body(request)):
                raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json)")
            token = validation_settings.set(request.app.state.settings)
            try:
                return await handler(request)
            finally:
                validation_settings.reset(token)

        return authenticated_then_body


def _no_body(request: Request) -> bool:
    """No body at all (an optional body left out): nothing to parse, so no type to check."""
    headers = request.headers
    return "transfer-encoding" not in headers and headers.get("content-length", "0") == "0"
