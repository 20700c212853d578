"""The published test vectors (docs/vectors/) are exactly what the code produces, and every
one verifies where receivers verify: Hookline's own signing code, the `standardwebhooks`
package from PyPI, and Node (tests/receivers/node/check_vectors.mjs: the seed's Express
way, raw bytes, and the npm `standardwebhooks` package). So the docs cannot drift.
"""

import base64
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks.webhooks
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.kit.time import from_epoch_ms
from app.wire import standard_webhooks, vectors
from app.wire.canonical_json import dumps, loads
from app.wire.signature import HOOKLINE, STANDARD_WEBHOOKS, Signing, sign, signed_headers
from tests.conformance.conftest import _require_node
from tests.support.hard_payloads import HARD_PAYLOADS
from tests.support.node import NODE_DIR

FILES = sorted(vectors.DIRECTORY.glob("*.json"))
SIGNING_DOC = vectors.DIRECTORY.parent / "signing.md"


def _load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="ascii"))
    return vector


def test_the_files_are_what_the_code_produces() -> None:
    """Regenerating (`python -m app.wire.vectors`) would change nothing."""
    wanted = vectors.files(HARD_PAYLOADS)
    assert sorted(wanted) == [path.name for path in FILES]
    for path in FILES:
        assert path.read_text(encoding="ascii") == wanted[path.name], path.name
    assert vectors.main(["--check"]) == 0


def test_the_check_command_notices_a_stale_file(tmp_path: Path) -> None:
    assert vectors.main(["--directory", str(tmp_path)]) == 0
    assert vectors.main(["--check", "--directory", str(tmp_path)]) == 0
    first = sorted(tmp_path.glob("*.json"))[0]
    first.write_text(first.read_text().replace("v1,", "v1,A"), encoding="ascii")
    assert vectors.main(["--check", "--directory", str(tmp_path)]) == 1


def test_the_vectors_cover_the_hard_cases() -> None:
    names = {_load(path)["name"] for path in FILES}
    assert len(names) == len(FILES) >= 20
    assert {"lone_high_surrogate", "exp_1e21", "integer_like_keys_mixed", "emoji"} <= names


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_against_the_code(path: Path) -> None:
    vector = _load(path)
    body = vector["body"]["utf8"].encode("utf-8")
    assert base64.b64decode(vector["body"]["base64"]) == body
    parsed = json.loads(body)  # not `loads`: 2^53 is a fine body, only ingest refuses it
    assert dumps(parsed) == body  # canonical: what JSON.stringify(JSON.parse()) gives
    assert dumps(parsed["data"]) == dumps(loads(vector["input"]["data"]))
    at = from_epoch_ms(int(vector["hookline"]["timestamp"]))
    common = {"body": body, "delivery_id": vector["deliveryId"], "event_type": parsed["event"]}
    user_agent = vector["hookline"]["headers"]["user-agent"]

    hookline = vector["hookline"]
    assert hookline["headers"]["x-webhook-signature"] == sign(
        hookline["secret"], int(hookline["timestamp"]), body
    )
    assert hookline["headers"] == signed_headers(
        Signing(HOOKLINE, hookline["secret"]), at=at, user_agent=user_agent, **common
    )

    sw = vector["standardWebhooks"]
    assert standard_webhooks.key_of(sw["secret"]).hex() == sw["keyHex"]
    assert sw["headers"] == signed_headers(
        Signing(STANDARD_WEBHOOKS, sw["secret"]), at=at, user_agent=user_agent, **common
    )
    rotation = sw["duringRotation"]
    overlapping = Signing(
        STANDARD_WEBHOOKS, sw["secret"], rotation["previousSecret"], at + timedelta(seconds=1)
    )
    assert rotation["headers"] == signed_headers(
        overlapping, at=at, user_agent=user_agent, **common
    )
    ended = Signing(STANDARD_WEBHOOKS, sw["secret"], rotation["previousSecret"], at)
    assert signed_headers(ended, at=at, user_agent=user_agent, **common) == sw["headers"]
    for secret in (sw["secret"], rotation["previousSecret"]):
        assert standard_webhooks.verify(
            secret,
            vector["deliveryId"],
            int(sw["timestamp"]),
            body,
            rotation["headers"]["webhook-signature"],
        )


class _Clock:
    """The PyPI library's clock set to a vector's timestamp (its `datetime.now`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = datetime.now(UTC)
        clock = self

        class Frozen(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> "Frozen":
                return cls.fromtimestamp(clock.at.timestamp(), tz)

        monkeypatch.setattr(standardwebhooks.webhooks, "datetime", Frozen)


def _verifies(secret: str, body: bytes | str, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_at_the_pypi_library(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vector = _load(path)
    body = vector["body"]["utf8"].encode("utf-8")
    sw = vector["standardWebhooks"]
    rotation = sw["duringRotation"]
    clock = _Clock(monkeypatch)
    clock.at = datetime.fromtimestamp(int(sw["timestamp"]), UTC)
    signed = Webhook(sw["secret"]).sign(vector["deliveryId"], clock.at, body.decode())
    assert signed == sw["headers"]["webhook-signature"]
    assert _verifies(sw["secret"], body, sw["headers"])
    assert not _verifies(rotation["previousSecret"], body, sw["headers"])
    assert _verifies(sw["secret"], body, rotation["headers"])
    assert _verifies(rotation["previousSecret"], body, rotation["headers"])
    clock.at += timedelta(minutes=6)  # the library's replay window is 5 minutes
    assert not _verifies(sw["secret"], body, sw["headers"])


def _documented_python() -> dict[str, Any]:
    """The Python receiver example of docs/signing.md, run as a module."""
    blocks = re.findall(r"```python\n(.*?)```", SIGNING_DOC.read_text(), flags=re.DOTALL)
    [example] = [block for block in blocks if "def verify_hookline" in block]
    namespace: dict[str, Any] = {}
    exec(compile(example, str(SIGNING_DOC), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_at_the_documented_python_example(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = _documented_python()
    vector = _load(path)
    body = vector["body"]["utf8"].encode("utf-8")
    hookline, sw = vector["hookline"], vector["standardWebhooks"]
    at = int(hookline["timestamp"]) / 1000
    assert example["verify_hookline"](hookline["secret"], hookline["headers"], body, now=at)
    assert not example["verify_hookline"](hookline["secret"], hookline["headers"], body[:-1], at)
    assert not example["verify_hookline"](sw["secret"], hookline["headers"], body, now=at)
    assert not example["verify_hookline"](hookline["secret"], hookline["headers"], body, at + 600)
    clock = _Clock(monkeypatch)
    clock.at = datetime.fromtimestamp(int(sw["timestamp"]), UTC)
    rotation = sw["duringRotation"]
    assert example["verify_standard"](sw["secret"], sw["headers"], body)
    assert example["verify_standard"](rotation["previousSecret"], rotation["headers"], body)
    assert not example["verify_standard"](rotation["previousSecret"], sw["headers"], body)


def test_every_vector_at_node() -> None:
    _require_node()
    done = subprocess.run(
        ["node", "check_vectors.mjs", str(vectors.DIRECTORY)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in results] == [path.name for path in FILES]
    failed = [(r["file"], c) for r in results for c, ok in r["checks"].items() if ok is not True]
    assert failed == []
    assert all(len(r["checks"]) >= 19 for r in results)
