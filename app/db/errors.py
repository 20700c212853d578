"""Which database errors mean "the database is away" (retry later) rather than "this
statement is wrong" (retrying cannot help): the one home of that rule, used by the
dispatcher's result writer and the API's 503 mapping."""

from asyncpg.exceptions import ConnectionDoesNotExistError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

# SQLSTATE classes of a server that is unreachable or going away: 08 connection
# exception, 53 insufficient resources, 57 operator intervention (shutdown, cancel).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
# SQLite has no SQLSTATE: its OperationalError covers both a busy or unreadable file
# (away: retry) and a wrong statement ("no such table", a syntax error: a bug).
_SQLITE_AWAY = ("locked", "busy", "disk i/o", "unable to open", "disk is full", "readonly")


def database_unreachable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or went away mid-way."""
    away = (DisconnectionError, InterfaceError, ConnectionError, TimeoutError)
    if isinstance(exc, (*away, ConnectionDoesNotExistError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(sqlstate, str):
            return sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
        # aiosqlite: "database is locked" and I/O errors are OperationalError; a
        # constraint or encoding failure is not, nor is a statement SQLite refuses.
        if not isinstance(exc, OperationalError):
            return False
        message = str(exc.orig).lower()
        return any(marker in message for marker in _SQLITE_AWAY)
    # asyncpg's own errors (the ingest writer uses asyncpg directly) carry the SQLSTATE.
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
    return isinstance(exc, OSError)
