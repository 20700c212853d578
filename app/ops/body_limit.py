"""One body limit for every route, enforced before routing (pure ASGI).

Ingest paths get `HOOKLINE_MAX_EVENT_BYTES`; every other path `HOOKLINE_MAX_BODY_BYTES`.
A declared `Content-Length` above the limit is answered 413 at once, before the app runs
and without reading a byte of the body; a body without one (chunked) is counted as the
app reads it and the read that crosses the limit raises `BodyTooLarge`, which the app's
handler renders as the JSON 413. Both answers close the connection, so the unread rest
of the upload is never read.
"""

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSE = {"Connection": "close"}


class BodyTooLarge(HTTPException):
    """An `HTTPException`, so FastAPI's body parsing re-raises it as it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The body exceeds the limit of {limit} bytes", headers=CLOSE)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def too_large_response(limit: int) -> JSONResponse:
    body = {"error": {"code": "payload_too_large", "message": BodyTooLarge(limit).detail}}
    return JSONResponse(body, 413, headers=CLOSE)


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, limit: int, ingest_limit: int, ingest_paths: frozenset[str]
    ) -> None:
        self.app = app
        self.limit = limit
        self.ingest_limit = ingest_limit
        self.ingest_paths = ingest_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.ingest_limit if path.rstrip("/") in self.ingest_paths else self.limit
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await too_large_response(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await too_large_response(limit)(scope, receive, send)
