"""The embedded default's demo tenant: a reseller, two organisations and a webhook target.
(`traffic` posts synthetic events for it, `jpeg` draws their screenshots.)

The plaintext keys are kept in `.hookline/demo.json` (git-ignored, mode 600) so that
`make run` can print them again on the next start; keys are otherwise never stored.
"""

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.keys import find_key
from app.models import Reseller
from app.organisations.service import create_organisation
from app.resellers.service import create_reseller

DEMO_RESELLER = "Demo Reseller"
DEMO_ORGANISATIONS = ("Acme Design Studio", "Globex Support Centre")


@dataclass(frozen=True, slots=True)
class DemoTenant:
    reseller_id: str
    api_key: str
    ingest_keys: dict[str, str]


def _read(state_file: Path) -> dict[str, object]:
    try:
        data = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(state_file: Path, data: dict[str, object]) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(data, indent=2))
    os.chmod(state_file, 0o600)


def admin_token(state_dir: Path) -> str:
    """The admin token of the embedded default: generated once, kept beside the database."""
    state = _read(state_dir / "demo.json")
    token = state.get("adminToken")
    if isinstance(token, str) and len(token) >= 16:
        return token
    token = "adm_" + secrets.token_urlsafe(24)
    _write(state_dir / "demo.json", {**state, "adminToken": token})
    return token


async def ensure_demo_tenant(
    sessionmaker: async_sessionmaker[AsyncSession], state_dir: Path
) -> DemoTenant:
    state_file = state_dir / "demo.json"
    state = _read(state_file)
    async with sessionmaker() as session:
        api_key = state.get("apiKey")
        key_row = await find_key(session, api_key) if isinstance(api_key, str) else None
        ingest = state.get("ingestKeys")
        if key_row is not None and isinstance(ingest, dict) and isinstance(api_key, str):
            return DemoTenant(
                key_row.reseller_id, api_key, {str(k): str(v) for k, v in ingest.items()}
            )
        existing = (
            await session.execute(select(Reseller).where(Reseller.name == DEMO_RESELLER))
        ).scalar_one_or_none()
        if existing is not None:
            # The keys file was lost: mint a fresh key for the existing tenant.
            from app.auth.keys import mint_key

            reseller_id, api_key = (
                existing.id,
                mint_key(session, kind="reseller", reseller_id=existing.id).plaintext,
            )
        else:
            reseller, api_key = await create_reseller(session, DEMO_RESELLER)
            reseller_id = reseller.id
        ingest_keys = {}
        for name in DEMO_ORGANISATIONS:
            _, key = await create_organisation(session, reseller_id, name)
            ingest_keys[name] = key
        await session.commit()
    _write(state_file, {**state, "apiKey": api_key, "ingestKeys": ingest_keys})
    return DemoTenant(reseller_id, api_key, ingest_keys)
