"""Every ORM table; Alembic reads `Base.metadata` from here."""

from app.db.base import Base
from app.models.api_key import ApiKey
from app.models.attempt import DeliveryAttempt
from app.models.attempt_rollup import AttemptRollup
from app.models.delivery import Delivery
from app.models.event import Event
from app.models.idempotency_key import IdempotencyKey
from app.models.organisation import Organisation
from app.models.recovery import Recovery
from app.models.reseller import Reseller
from app.models.webhook import Webhook

__all__ = [
    "ApiKey",
    "AttemptRollup",
    "Base",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "IdempotencyKey",
    "Organisation",
    "Recovery",
    "Reseller",
    "Webhook",
]
