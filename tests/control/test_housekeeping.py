"""Auto-disable after a long *and* long-enough failure streak, cancel on disable/delete,
and retention pruning, driven by explicit times (no waiting)."""

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.dispatch.housekeeping import disable_failing_endpoints, prune_attempts
from app.dispatch.streaks import record_endpoint_outcomes
from app.kit.ids import new_id
from app.kit.time import utc_now
from app.models import Delivery, DeliveryAttempt, Event, Webhook
from tests.support.factories import Tenant, new_tenant, new_webhook

FIVE_DAYS = timedelta(days=5)


async def _pending_delivery(app: FastAPI, tenant: Tenant, webhook_id: str) -> str:
    async with app.state.sessionmaker() as session:
        event = Event(
            id=new_id("evt"),
            reseller_id=tenant.reseller_id,
            organisation_id=tenant.organisation_id,
            event_type="desktop.app_tracking.captured",
            user_id="u",
            team_id="t",
            timestamp_ms=0,
            body=b"{}",
            size=2,
        )
        session.add(event)
        await session.flush()
        delivery = Delivery(
            reseller_id=tenant.reseller_id,
            event_id=event.id,
            webhook_id=webhook_id,
            event_type=event.event_type,
            next_attempt_at=utc_now(),
        )
        session.add(delivery)
        await session.commit()
        return delivery.id


async def _webhook(app: FastAPI, webhook_id: str) -> Webhook:
    async with app.state.sessionmaker() as session:
        webhook = await session.get(Webhook, webhook_id)
        assert webhook is not None
        return webhook


async def test_streak_must_be_both_old_and_long(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    delivery_id = await _pending_delivery(app, tenant, webhook["id"])
    start = utc_now()
    async with app.state.sessionmaker() as session:
        # 19 failures spread over six days: long in time, too few in count
        await record_endpoint_outcomes(session, [(webhook["id"], False, start)] * 19)
        disabled = await disable_failing_endpoints(
            session, now=start + timedelta(days=6), disable_after=FIVE_DAYS, min_failures=20
        )
        assert disabled == []
        # the 20th failure, but the streak began only a day ago in this clock: not yet
        await record_endpoint_outcomes(session, [(webhook["id"], False, start)] * 1)
        assert not await disable_failing_endpoints(
            session, now=start + timedelta(days=1), disable_after=FIVE_DAYS, min_failures=20
        )
        disabled = await disable_failing_endpoints(
            session,
            now=start + timedelta(days=5, seconds=1),
            disable_after=FIVE_DAYS,
            min_failures=20,
        )
        await session.commit()
    assert disabled == [(tenant.reseller_id, webhook["id"])]
    card = (await client.get(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)).json()
    assert card["enabled"] is False
    assert "20 consecutive failed attempts" in card["disabledReason"]
    assert card["disabledAt"] is not None
    delivery = (await client.get(f"/v1/deliveries/{delivery_id}", headers=tenant.headers)).json()
    assert delivery["status"] == "cancelled" and delivery["lastError"] == "Webhook disabled"
    # retry refuses while disabled; re-enable by PATCH clears the reason and the streak
    assert (
        await client.post(f"/v1/deliveries/{delivery_id}/retry", headers=tenant.headers)
    ).status_code == 409
    enabled = await client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": True}, headers=tenant.headers
    )
    assert enabled.json()["enabled"] is True and enabled.json()["disabledReason"] is None
    assert (await _webhook(app, webhook["id"])).consecutive_failures == 0
    retried = await client.post(f"/v1/deliveries/{delivery_id}/retry", headers=tenant.headers)
    assert retried.status_code == 202 and retried.json()["status"] == "pending"


async def test_success_resets_the_streak(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    start = utc_now()
    async with app.state.sessionmaker() as session:
        await record_endpoint_outcomes(session, [(webhook["id"], False, start)] * 50)
        await record_endpoint_outcomes(session, [(webhook["id"], True, start)])
        disabled = await disable_failing_endpoints(
            session, now=start + timedelta(days=30), disable_after=FIVE_DAYS, min_failures=20
        )
        await session.commit()
    assert disabled == []
    stored = await _webhook(app, webhook["id"])
    assert stored.consecutive_failures == 0 and stored.failing_since is None


async def test_delete_cancels_pending(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    delivery_id = await _pending_delivery(app, tenant, webhook["id"])
    assert (
        await client.delete(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)
    ).status_code == 204
    delivery = (await client.get(f"/v1/deliveries/{delivery_id}", headers=tenant.headers)).json()
    assert delivery["status"] == "cancelled" and delivery["lastError"] == "Webhook deleted"
    assert delivery["nextAttemptAt"] is None
    retried = await client.post(f"/v1/deliveries/{delivery_id}/retry", headers=tenant.headers)
    assert retried.status_code == 409


async def test_prune_removes_only_old_attempts(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    delivery_id = await _pending_delivery(app, tenant, webhook["id"])
    now = utc_now()
    async with app.state.sessionmaker() as session:
        for number, age_days in enumerate((45, 31, 29, 1), start=1):
            session.add(
                DeliveryAttempt(
                    delivery_id=delivery_id,
                    attempt_number=number,
                    attempted_at=now - timedelta(days=age_days),
                    status_code=500,
                    latency_ms=3,
                )
            )
        await session.commit()
    async with app.state.sessionmaker() as session:
        pruned = await prune_attempts(session, now=now, retention_days=30)
        await session.commit()
        left = (
            (
                await session.execute(
                    select(DeliveryAttempt.attempt_number)
                    .where(DeliveryAttempt.delivery_id == delivery_id)
                    .order_by(DeliveryAttempt.attempt_number)
                )
            )
            .scalars()
            .all()
        )
    assert pruned == 2
    assert list(left) == [3, 4]


async def test_housekeeping_round_disables_prunes_and_announces(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from app.dispatch.housekeeping import housekeeping_once

    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    start = utc_now()
    async with app.state.sessionmaker() as session:
        await record_endpoint_outcomes(session, [(webhook["id"], False, start)] * 25)
        await session.commit()
    announced: list[str] = []
    disabled, _ = await housekeeping_once(
        app.state.sessionmaker,
        app.state.settings,
        now=start + timedelta(days=6),
        on_disabled=announced.append,
    )
    assert disabled == 1
    assert announced == [tenant.reseller_id]
    assert (await _webhook(app, webhook["id"])).enabled is False
