from datetime import datetime

from app.kit.schema import Schema


class DeliveryOut(Schema):
    id: str
    event_id: str
    webhook_id: str
    event: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class AttemptOut(Schema):
    id: str
    attempt_number: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_body: str | None
    error: str | None


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]
