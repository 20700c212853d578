"""Structured logs: one JSON object per line (or plain text), request ids, redaction.

Stdlib `logging` only, so every library's records (uvicorn, SQLAlchemy, aiohttp) come
out in the same shape. Secrets never reach the output: a filter masks API keys,
ingest keys, admin tokens, bearer credentials and webhook secrets in every record's
message, arguments and extra fields, and the formatter masks its finished line once
more (tracebacks included).
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from app.config import Settings
from app.ops.request_id import current_request_id

MASK = "[redacted]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Reseller and ingest keys, the demo admin token: keep the kind, drop the secret part.
    (re.compile(r"(?<![A-Za-z0-9])(hk|ik|adm)_[A-Za-z0-9_-]{6,}"), rf"\1_{MASK}"),
    # Any bearer credential, whatever it looks like.
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), rf"\1 {MASK}"),
    # `secret=…`, `"apiKey": "…"`, `token: …` in messages and reprs.
    (
        re.compile(
            r"(?i)((?:secret|api_?key|ingest_?key|token|password)[\"']?\s*[:=]\s*[\"']?)"
            r"(?!\[redacted\])[^\s\"',;}\]]+"
        ),
        rf"\1{MASK}",
    ),
    # A Standard Webhooks secret: `whsec_` and base64 (keep the kind, drop the secret part).
    (re.compile(r"(?<![A-Za-z0-9])whsec_(?!\[redacted\])[A-Za-z0-9+/=]{8,}"), rf"whsec_{MASK}"),
    # A bare webhook secret: `secrets.token_urlsafe(32)` is exactly 43 URL-safe characters.
    (re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"), MASK),
)
# Per pattern: substrings (lower case) without which it cannot match; empty = always try.
_NEEDLES: tuple[tuple[str, ...], ...] = (
    ("hk_", "ik_", "adm_"),
    ("bearer",),
    ("secret", "api", "ingest", "token", "password"),
    ("whsec_",),
    (),
)
# Attributes every LogRecord has; anything else was passed with `extra=`.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class Redactor:
    """Masks the secret patterns, plus literal values (the configured admin token)."""

    def __init__(self, literals: tuple[str, ...] = ()) -> None:
        self.literals = tuple(sorted((v for v in literals if v), key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for literal in self.literals:
            text = text.replace(literal, MASK)
        lowered = text.lower()
        for (pattern, replacement), needles in zip(_PATTERNS, _NEEDLES, strict=True):
            # A substring test first: the access line of every request meets these.
            if not needles or any(needle in lowered for needle in needles):
                text = pattern.sub(replacement, text)
        return text


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}


class ContextFilter(logging.Filter):
    """Stamps the request id and redacts message, args and extras (the record is shared)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        try:
            message = record.getMessage()
        except Exception:  # a malformed call must not take the caller down
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        for key, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", ...extras}` on one line."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in extra_fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return self.redact(json.dumps(line, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id] message key=value…` for people at a terminal."""

    # The access line already says everything in its message.
    _EXTRAS_IN_MESSAGE = frozenset({"hookline.access"})

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        parts = [_timestamp(record), record.levelname, record.name]
        if request_id:
            parts.append(f"[{request_id}]")
        parts.append(record.getMessage())
        if record.name not in self._EXTRAS_IN_MESSAGE:
            parts.extend(f"{k}={v}" for k, v in extra_fields(record).items())
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return self.redact(text)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at the time (test capture included)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # called under the handler's lock
        super().emit(record)


_installed: logging.Handler | None = None


def configure_logging(settings: Settings) -> logging.Handler:
    """Install the one root handler (replacing ours from an earlier call: idempotent).

    Uvicorn's loggers are made to propagate to it, so its start-up and error lines come
    out in the same format; its access log stays off (`serve` passes `access_log=False`;
    the request-id middleware writes the access line instead).
    """
    global _installed
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    literals = (settings.admin_token.get_secret_value(),) if settings.admin_token else ()
    redact = Redactor(literals)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter(redact) if settings.log_json else TextFormatter(redact))
    handler.addFilter(ContextFilter(redact))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Uvicorn writes its access line only if this logger has handlers: it must have none.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    # Library noise: httpx logs every request it makes at INFO (the demo traffic's), and
    # aiosqlite two DEBUG lines per SQL operation (SQLAlchemy's own SQL log says more).
    for name in ("httpx", "httpcore", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
    _installed = handler
    return handler
