"""Node.js fixtures: one Express receiver and one JSON.stringify oracle per session.

Without `node` the tests are skipped, unless HOOKLINE_TEST_REQUIRE_NODE is set (CI),
where they fail instead.
"""

import os
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.support.node import (
    NodeReceiver,
    NodeUnavailable,
    StringifyOracle,
    ensure_node_modules,
    node_available,
    node_receiver,
)

NODE_SECRET = "whsec_conformance_7d1c0a9e4b2f"


def _require_node() -> None:
    required = bool(os.environ.get("HOOKLINE_TEST_REQUIRE_NODE"))
    if not node_available():
        if required:
            pytest.fail("node is required (HOOKLINE_TEST_REQUIRE_NODE) but not installed")
        pytest.skip("node is not installed")
    try:
        ensure_node_modules()
    except NodeUnavailable as exc:
        if required:
            raise
        pytest.skip(str(exc))


@pytest_asyncio.fixture(scope="session")
async def express_receiver() -> AsyncIterator[NodeReceiver]:
    """The seed's Express receiver (plus raw-body checks), accepting `NODE_SECRET`."""
    _require_node()
    async with node_receiver(NODE_SECRET) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def stringify_oracle() -> Iterator[StringifyOracle]:
    _require_node()
    with StringifyOracle() as oracle:
        yield oracle
