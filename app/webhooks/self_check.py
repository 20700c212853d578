"""The signature self-check of a simulation: the same payload again, deliberately mis-signed.

A receiver that verifies signatures must refuse it; one that answers 2xx accepts forged
deliveries, and the dashboard says so. The copy is signed in the webhook's scheme with
a fresh random secret of that scheme's format (so only the HMAC is wrong, never the
header's shape) and no rotation's previous secret; its body is byte for byte the
simulation's, `"simulation": true` included. It goes through the ordinary outbound
pool and guard, and only after the signed send got an HTTP answer (an endpoint that
is down or refused tells nothing about verification).
"""

from typing import Any

import aiohttp

from app.config import Settings
from app.egress.client import USER_AGENT
from app.egress.sender import PostResult, post_signed
from app.kit.ids import new_id
from app.kit.time import utc_now
from app.wire.signature import Signing, new_secret, signed_headers

SELF_CHECK_RESPONSE_LIMIT = 4096


async def send_mis_signed(
    settings: Settings,
    http: aiohttp.ClientSession,
    *,
    url: str,
    scheme: str,
    body: bytes,
    event_type: str,
    signed: PostResult,
) -> dict[str, Any]:
    if signed.status is None:
        return {"sent": False, "status": None, "acceptedBadSignature": False, "error": None}
    headers = signed_headers(
        Signing(scheme, new_secret(scheme)),
        body=body,
        delivery_id=new_id("sim"),
        event_type=event_type,
        at=utc_now(),
        user_agent=USER_AGENT,
    )
    result = await post_signed(
        http,
        url=url,
        body=body,
        headers=headers,
        timeout_seconds=settings.delivery_timeout_seconds,
        allow_private=settings.allow_private_targets,
        max_response_bytes=SELF_CHECK_RESPONSE_LIMIT,
    )
    return {
        "sent": result.status is not None,
        "status": result.status,
        "acceptedBadSignature": result.delivered,
        "error": result.error,
    }
