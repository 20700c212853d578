"""Request-scoped sessions: one transaction per request, committed at the edge.

Services flush, never commit. Side effects that must follow the commit (waking the
dispatcher, live-feed messages) are queued with `after_commit` and run only once the
commit succeeded; a rollback drops them.
"""

import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

_AFTER_COMMIT = "hookline.after_commit"


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def run_after_commit(session: AsyncSession) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        try:
            action()
        except Exception:
            log.exception("after-commit action failed")


async def commit(session: AsyncSession) -> None:
    """Commit, then run the queued side effects."""
    await session.commit()
    run_after_commit(session)


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            session.info.pop(_AFTER_COMMIT, None)
            await session.rollback()
            raise
        await commit(session)


# scope="function": the commit happens before the response is sent, so a 2xx always
# means the data is durable.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessions


# For routes that wait on something slow (an outbound POST): they open short sessions
# themselves, so no connection is held while they wait.
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
