from fastapi import APIRouter

router = APIRouter(prefix="/deliveries", tags=["deliveries"])
