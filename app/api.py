"""Joins the domain routers under /v1."""

from fastapi import APIRouter

from app.deliveries.bulk_routes import router as bulk_deliveries_router
from app.deliveries.routes import router as deliveries_router
from app.errors import ERROR_RESPONSES
from app.events.routes import router as events_router
from app.organisations.routes import router as organisations_router
from app.resellers.routes import router as resellers_router
from app.webhooks.routes import router as webhooks_router

api_router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
for router in (
    resellers_router,
    organisations_router,
    events_router,
    webhooks_router,
    deliveries_router,
    bulk_deliveries_router,
):
    api_router.include_router(router)
