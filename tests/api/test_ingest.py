"""Ingest under concurrency, on SQLite and PostgreSQL: group commit, idempotency keys,
subscriptions read at commit time, content types and the strings JavaScript carries."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.group_commit import GroupCommitter
from app.main import create_app
from app.models import Delivery, Event, IdempotencyKey
from tests.conftest import make_settings
from tests.support.factories import Tenant, app_event, new_tenant, new_webhook

ACTIVITY = "desktop.activity_tracking.captured"
APP = "desktop.app_tracking.captured"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest_asyncio.fixture(scope="module")
async def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture(scope="module")
async def ingest_app(database_url: str, clock: Clock) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url))
    application.state.clock = clock  # idempotency keys expire on this clock
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="module")
async def http(ingest_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=ingest_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as client:
        yield client


def _engine(app: FastAPI) -> AsyncEngine:
    engine: AsyncEngine = app.state.engine
    return engine


def _committer(app: FastAPI) -> GroupCommitter:
    committer: GroupCommitter = app.state.ingest.committer
    return committer


async def _post(
    http: httpx.AsyncClient,
    tenant: Tenant,
    body: Any,
    *,
    key: str | None = None,
    path: str = "/v1/events",
    content_type: str | None = "application/json",
) -> httpx.Response:
    headers = dict(tenant.ingest_headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if key is not None:
        headers["Idempotency-Key"] = key
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await http.post(path, content=raw, headers=headers)


async def _count(app: FastAPI, model: Any, **where: Any) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    async with _engine(app).connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def _deliveries_of(app: FastAPI, event_ids: list[str]) -> dict[str, int]:
    async with _engine(app).connect() as connection:
        rows = await connection.execute(
            select(Delivery.event_id, func.count())
            .where(Delivery.event_id.in_(event_ids))
            .group_by(Delivery.event_id)
        )
        return {row[0]: int(row[1]) for row in rows}


async def test_fifty_concurrent_events_each_committed_once_with_their_deliveries(
    http: httpx.AsyncClient, ingest_app: FastAPI
) -> None:
    tenant = await new_tenant(http, "Group Reseller")
    await new_webhook(http, tenant, name="All")
    await new_webhook(http, tenant, name="Activity", events=(ACTIVITY,))
    bodies = [
        app_event(user_id=f"u{i}") if i % 2 else {**app_event(user_id=f"u{i}"), "event": ACTIVITY}
        for i in range(50)
    ]
    groups_before = _committer(ingest_app).groups
    answers = await asyncio.gather(*(_post(http, tenant, body) for body in bodies))
    assert [a.status_code for a in answers] == [202] * 50, [a.text for a in answers]
    ids = [a.json()["id"] for a in answers]
    assert len(set(ids)) == 50
    expected = {
        a.json()["id"]: (2 if b["event"] == ACTIVITY else 1)
        for a, b in zip(answers, bodies, strict=True)
    }
    assert {a.json()["id"]: a.json()["deliveries"] for a in answers} == expected
    assert await _count(ingest_app, Event, reseller_id=tenant.reseller_id) == 50
    assert await _deliveries_of(ingest_app, ids) == expected
    # They shared transactions: fewer commits than requests.
    assert _committer(ingest_app).groups - groups_before < 50
    assert _committer(ingest_app).largest_group > 1


async def test_a_refused_request_in_a_group_leaves_the_others_accepted(
    http: httpx.AsyncClient, ingest_app: FastAPI
) -> None:
    tenant = await new_tenant(http, "Refused Reseller")
    await new_webhook(http, tenant)
    bodies: list[Any] = [app_event(user_id=f"ok{i}") for i in range(20)]
    bodies[5] = app_event(userId="")  # refused by validation
    bodies[12] = {"event": [APP], "userId": "u", "teamId": "t", "data": {}}
    answers = await asyncio.gather(*(_post(http, tenant, body) for body in bodies))
    statuses = [a.status_code for a in answers]
    assert statuses[5] == statuses[12] == 422
    assert [s for i, s in enumerate(statuses) if i not in (5, 12)] == [202] * 18
    assert "event" in answers[12].json()["error"]["fields"]
    assert await _count(ingest_app, Event, reseller_id=tenant.reseller_id) == 18


@contextmanager
def _nothing() -> Iterator[None]:
    yield


async def _poison_trigger(app: FastAPI, *, drop: bool = False) -> None:
    """A trigger refusing one user id: a statement the database refuses, mid-group."""
    async with _engine(app).begin() as connection:
        if connection.dialect.name == "postgresql":
            if drop:
                await connection.execute(text("DROP TRIGGER poison ON events"))
                return
            await connection.execute(
                text(
                    "CREATE OR REPLACE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'poisoned'; END $$ LANGUAGE plpgsql"
                )
            )
            await connection.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW "
                    "WHEN (NEW.user_id = 'poison') EXECUTE FUNCTION poison()"
                )
            )
        elif drop:
            await connection.execute(text("DROP TRIGGER poison"))
        else:
            await connection.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON events "
                    "WHEN NEW.user_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
                )
            )


async def test_a_statement_refused_in_a_group_fails_only_its_own_request(
    http: httpx.AsyncClient, ingest_app: FastAPI
) -> None:
    tenant = await new_tenant(http, "Poison Reseller")
    await new_webhook(http, tenant)
    await _poison_trigger(ingest_app)
    try:
        bodies = [app_event(user_id="poison" if i == 7 else f"u{i}") for i in range(20)]
        answers = await asyncio.gather(*(_post(http, tenant, body) for body in bodies))
    finally:
        await _poison_trigger(ingest_app, drop=True)
    statuses = [a.status_code for a in answers]
    assert statuses[7] == 500
    assert answers[7].json()["error"]["code"] == "internal_error"
    assert [s for i, s in enumerate(statuses) if i != 7] == [202] * 19
    assert await _count(ingest_app, Event, reseller_id=tenant.reseller_id) == 19
    ids = [a.json()["id"] for i, a in enumerate(answers) if i != 7]
    assert await _deliveries_of(ingest_app, ids) == dict.fromkeys(ids, 1)


async def test_subscriptions_changed_between_two_groups_are_honoured(
    http: httpx.AsyncClient, ingest_app: FastAPI
) -> None:
    tenant = await new_tenant(http, "Subscriptions Reseller")
    first = await new_webhook(http, tenant, name="First", events=(APP,))

    async def fan_out() -> set[int]:
        answers = await asyncio.gather(*(_post(http, tenant, app_event()) for _ in range(10)))
        assert {a.status_code for a in answers} == {202}
        return {a.json()["deliveries"] for a in answers}

    assert await fan_out() == {1}
    second = await new_webhook(http, tenant, name="Second", events=(APP,))
    assert await fan_out() == {2}
    patched = await http.patch(
        f"/v1/webhooks/{first['id']}", json={"events": [ACTIVITY]}, headers=tenant.headers
    )
    assert patched.status_code == 200
    assert await fan_out() == {1}
    assert (
        await http.patch(
            f"/v1/webhooks/{second['id']}", json={"enabled": False}, headers=tenant.headers
        )
    ).status_code == 200
    assert await fan_out() == {0}
    assert (
        await http.delete(f"/v1/webhooks/{first['id']}", headers=tenant.headers)
    ).status_code == 204
    activity = await _post(http, tenant, {**app_event(), "event": ACTIVITY})
    assert activity.json()["deliveries"] == 0


async def test_idempotency_replay_conflict_scope_and_expiry(
    http: httpx.AsyncClient, ingest_app: FastAPI, clock: Clock
) -> None:
    tenant = await new_tenant(http, "Idempotent Reseller")
    other = await new_tenant(http, "Other Idempotent Reseller")
    await new_webhook(http, tenant)
    body = app_event(user_id="retry")
    first = await _post(http, tenant, body, key="agent-1-seq-1")
    assert first.status_code == 202
    assert "idempotent-replayed" not in first.headers
    again = await _post(http, tenant, body, key="agent-1-seq-1")
    assert again.status_code == 202
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(ingest_app, Event, organisation_id=tenant.organisation_id) == 1
    assert await _deliveries_of(ingest_app, [first.json()["id"]]) == {first.json()["id"]: 1}

    conflict = await _post(http, tenant, app_event(user_id="changed"), key="agent-1-seq-1")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    # Scoped to the organisation: another one may use the same key.
    elsewhere = await _post(http, other, app_event(user_id="changed"), key="agent-1-seq-1")
    assert elsewhere.status_code == 202
    assert await _count(ingest_app, Event, organisation_id=tenant.organisation_id) == 1

    # Batches take keys too; the same key on the batch route is another request (409).
    batch = {"events": [app_event(user_id="b1"), app_event(user_id="b2")]}
    accepted = await _post(http, tenant, batch, key="batch-1", path="/v1/events/batch")
    replayed = await _post(http, tenant, batch, key="batch-1", path="/v1/events/batch")
    assert accepted.status_code == replayed.status_code == 202
    assert replayed.content == accepted.content
    assert len(accepted.json()["ids"]) == 2
    assert (await _post(http, tenant, body, key="batch-1")).status_code == 409
    assert await _count(ingest_app, Event, organisation_id=tenant.organisation_id) == 3

    # Expiry: 24 h later the key is free again, and pruning removes what expired.
    clock.now += timedelta(hours=24, seconds=1)
    try:
        fresh = await _post(http, tenant, app_event(user_id="changed"), key="agent-1-seq-1")
        assert fresh.status_code == 202
        assert fresh.json()["id"] != first.json()["id"]
        assert "idempotent-replayed" not in fresh.headers
        assert (
            await _post(http, tenant, app_event(user_id="changed"), key="agent-1-seq-1")
        ).content == fresh.content
        assert await _count(ingest_app, IdempotencyKey, organisation_id=tenant.organisation_id) == 2
        await _committer(ingest_app).prune()
        # batch-1 expired and is gone; the renewed key stays.
        assert await _count(ingest_app, IdempotencyKey, organisation_id=tenant.organisation_id) == 1
        assert await _count(ingest_app, IdempotencyKey, key="batch-1") == 0
    finally:
        clock.now = datetime.now(UTC)


async def test_concurrent_retries_with_one_key_create_one_event(
    http: httpx.AsyncClient, ingest_app: FastAPI
) -> None:
    tenant = await new_tenant(http, "Racing Reseller")
    body = app_event(user_id="race")
    answers = await asyncio.gather(*(_post(http, tenant, body, key="same") for _ in range(8)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.content for a in answers}) == 1
    assert await _count(ingest_app, Event, organisation_id=tenant.organisation_id) == 1
    mixed = await asyncio.gather(
        _post(http, tenant, app_event(user_id="a"), key="mixed"),
        _post(http, tenant, app_event(user_id="b"), key="mixed"),
    )
    assert sorted(a.status_code for a in mixed) == [202, 409]
    assert await _count(ingest_app, Event, organisation_id=tenant.organisation_id) == 2


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"tab\there"])
async def test_refuses_unusable_idempotency_keys(http: httpx.AsyncClient, key: bytes) -> None:
    tenant = await new_tenant(http, "Bad Key Reseller")
    headers = [(k.encode(), v.encode()) for k, v in tenant.ingest_headers.items()]
    headers.append((b"Idempotency-Key", key))
    response = await http.post("/v1/events", json=app_event(), headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/json; charset=utf-8", 202),
        ("application/vnd.agent+json", 202),
        (None, 202),
    ],
)
async def test_content_types(
    http: httpx.AsyncClient, content_type: str | None, status: int
) -> None:
    tenant = await new_tenant(http, "Content Reseller")
    for path, body in (
        ("/v1/events", app_event()),
        ("/v1/events/batch", {"events": [app_event()]}),
    ):
        response = await _post(http, tenant, body, content_type=content_type, path=path)
        assert response.status_code == status, response.text
        if status == 415:
            assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("value", "escaped"),
    [("a\ud800b", "a\\ud800b"), ("\udfff", "\\udfff"), ("nul\u0000id", "nul\\u0000id")],
)
async def test_strings_javascript_carries_are_accepted_and_delivered_canonically(
    http: httpx.AsyncClient, ingest_app: FastAPI, value: str, escaped: str
) -> None:
    tenant = await new_tenant(http, "Strings Reseller")
    await new_webhook(http, tenant)
    # json.dumps writes lone surrogates as \ud800 escapes, as a JavaScript agent would.
    body = {**app_event(), "userId": value, "teamId": value, "agent": value}
    answers = await asyncio.gather(
        _post(http, tenant, body), *(_post(http, tenant, app_event()) for _ in range(5))
    )
    assert [a.status_code for a in answers] == [202] * 6, answers[0].text
    event_id = answers[0].json()["id"]
    async with _engine(ingest_app).connect() as connection:
        row = (
            await connection.execute(
                select(Event.body, Event.user_id, Event.team_id).where(Event.id == event_id)
            )
        ).one()
    for field in ("agent", "userId", "teamId"):
        assert f'"{field}":"{escaped}"'.encode() in row.body  # exactly as delivered
    assert row.user_id == row.team_id == escaped  # the history's columns: the escape
    listed = await http.get("/v1/events", headers=tenant.headers)
    assert listed.status_code == 200
    [shown] = [e for e in listed.json()["data"] if e["id"] == event_id]
    assert shown["userId"] == escaped
    detail = await http.get(f"/v1/events/{event_id}", headers=tenant.headers)
    assert detail.status_code == 200
    assert detail.json()["payload"]["userId"] == value
    assert await _deliveries_of(ingest_app, [event_id]) == {event_id: 1}


async def test_event_as_a_list_is_refused(http: httpx.AsyncClient) -> None:
    tenant = await new_tenant(http, "List Reseller")
    response = await _post(http, tenant, {"event": [APP], "userId": "u", "teamId": "t", "data": {}})
    assert response.status_code == 422
    assert "event" in response.json()["error"]["fields"]
    batch = await _post(
        http, tenant, {"events": [{**app_event(), "event": [APP]}]}, path="/v1/events/batch"
    )
    assert batch.status_code == 422
    assert "events[0].event" in batch.json()["error"]["fields"]
