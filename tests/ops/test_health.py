"""/healthz names the running version: the one `app.__version__` holds, which is also the
package's version (pyproject reads it from there) and the outbound `User-Agent`'s."""

import httpx

from app import __version__
from app.egress.client import USER_AGENT


async def test_healthz_reports_the_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}
    assert USER_AGENT == f"Hookline/{__version__}"
