"""Which database errors mean "the database is away" (retry later) rather than "this
statement is wrong" (retrying cannot help): the one home of that rule, used by the
dispatcher's result writer and the API's 503 mapping."""

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

# SQLSTATE classes of a server that is unreachable or going away: 08 connection
# exception, 53 insufficient resources, 57 operator intervention (shutdown, cancel).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def database_unreachable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or went away mid-way."""
    if isinstance(exc, (DisconnectionError, InterfaceError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(sqlstate, str):
            return sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
        # aiosqlite: "database is locked" and I/O errors are OperationalError; a
        # constraint or encoding failure is not.
        return isinstance(exc, OperationalError)
    # asyncpg's own errors (the ingest writer uses asyncpg directly) carry the SQLSTATE.
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
    return isinstance(exc, OSError)
