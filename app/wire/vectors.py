"""Published test vectors (docs/vectors/): for a set of hard payloads, the input, the
canonical body bytes, the secrets, timestamp and id, and the headers both schemes send.

Everything is fixed (secrets derived from a label, one timestamp, one id per vector) so the
files are byte-stable; they are built by the same code that signs real deliveries, and
tests/conformance/test_vectors.py checks the files against that code and against the
`standardwebhooks` packages from PyPI and npm, so the docs cannot drift. Regenerate from
a checkout (the payloads are the conformance suite's):

    python -m app.wire.vectors            # rewrite docs/vectors/
    python -m app.wire.vectors --check    # exit 1 if the files differ from the code
"""

import argparse
import base64
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.wire.canonical_json import loads
from app.wire.envelope import Party, envelope_bytes
from app.wire.signature import HOOKLINE, STANDARD_WEBHOOKS, Signing, signed_headers

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "vectors"
TIMESTAMP_MS = 1769591645035  # 2026-01-28T09:14:05.035Z: hookline signs the milliseconds,
USER_AGENT = "Hookline/1.0.0"  # standard-webhooks the seconds (1769591645)
EVENT_TYPE = "desktop.app_tracking.captured"

# The conformance suite's hard payloads that the vectors publish (tests/support/hard_payloads.py).
CHOSEN = (
    "app_tracking",
    "float_one_point_zero",
    "exp_1e21",
    "exp_1e_minus_7",
    "small_plain_0_000001",
    "negative_zero",
    "integral_float_beyond_2_53",
    "every_control_character",
    "short_escapes",
    "line_and_paragraph_separators",
    "emoji",
    "cjk",
    "lone_high_surrogate",
    "lone_low_surrogate",
    "surrogate_pair_as_escapes",
    "unicode_escapes_of_ascii",
    "slash_and_script",
    "integer_like_keys_mixed",
    "duplicate_keys",
    "proto_and_constructor",
    "empty_key",
    "whitespace_heavy",
)


def _label_bytes(label: str) -> bytes:
    return hashlib.sha256(f"hookline test vectors: {label}".encode()).digest()


# Test secrets, never used anywhere else: hookline's in its 43-character format, the
# standard-webhooks ones as `whsec_` + base64 of 32 bytes, as Hookline mints them.
HOOKLINE_SECRET = base64.urlsafe_b64encode(_label_bytes("hookline")).decode().rstrip("=")
SW_SECRET = "whsec_" + base64.b64encode(_label_bytes("standard-webhooks")).decode()
SW_PREVIOUS_SECRET = "whsec_" + base64.b64encode(_label_bytes("previous")).decode()


def vector(index: int, name: str, data_text: str) -> dict[str, Any]:
    """One vector: the event `data` as a client sent it, and everything derived from it."""
    delivery_id = f"dlv_vector{index:02d}"
    fields: dict[str, Any] = {
        "event_type": EVENT_TYPE,
        "event_id": f"evt_vector{index:02d}",
        "timestamp_ms": TIMESTAMP_MS,
        "parent": Party("rsl_vectors", "Vector Reseller"),
        "organisation": Party("org_vectors", "Vector Organisation"),
        "user_id": "user_1",
        "team_id": "team_1",
    }
    body = envelope_bytes(**fields, data=loads(data_text))
    at = datetime.fromtimestamp(TIMESTAMP_MS / 1000, UTC)
    overlap_until = datetime.fromtimestamp(TIMESTAMP_MS / 1000 + 3600, UTC)

    def headers(signing: Signing) -> dict[str, str]:
        return signed_headers(
            signing,
            body=body,
            delivery_id=delivery_id,
            event_type=EVENT_TYPE,
            at=at,
            user_agent=USER_AGENT,
        )

    hookline = headers(Signing(HOOKLINE, HOOKLINE_SECRET))
    standard = headers(Signing(STANDARD_WEBHOOKS, SW_SECRET))
    rotating = headers(Signing(STANDARD_WEBHOOKS, SW_SECRET, SW_PREVIOUS_SECRET, overlap_until))
    return {
        "name": name,
        "input": {
            "data": data_text,
            "envelope": {
                "event": EVENT_TYPE,
                "eventId": fields["event_id"],
                "timestamp": TIMESTAMP_MS,
                "parentOrganisation": {"id": "rsl_vectors", "name": "Vector Reseller"},
                "organisation": {"id": "org_vectors", "name": "Vector Organisation"},
                "userId": "user_1",
                "teamId": "team_1",
            },
        },
        "body": {
            "utf8": body.decode("utf-8"),
            "base64": base64.b64encode(body).decode("ascii"),
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
        },
        "deliveryId": delivery_id,
        "hookline": {
            "secret": HOOKLINE_SECRET,
            "timestamp": str(TIMESTAMP_MS),
            "signedContent": "<timestamp>.<body>",
            "headers": hookline,
        },
        "standardWebhooks": {
            "secret": SW_SECRET,
            "keyHex": _label_bytes("standard-webhooks").hex(),  # the HMAC key: decoded base64
            "timestamp": str(TIMESTAMP_MS // 1000),
            "signedContent": "<webhook-id>.<webhook-timestamp>.<body>",
            "headers": standard,
            "duringRotation": {
                "previousSecret": SW_PREVIOUS_SECRET,
                "headers": rotating,
            },
        },
    }


def render(value: dict[str, Any]) -> str:
    """The file's text: ASCII-only JSON (non-ASCII as escapes), so any editor shows it."""
    return json.dumps(value, indent=2, ensure_ascii=True) + "\n"


def files(payloads: list[tuple[str, str]]) -> dict[str, str]:
    """File name → text, for the chosen payloads of `payloads` (name, data text)."""
    by_name = dict(payloads)
    out: dict[str, str] = {}
    for index, name in enumerate(CHOSEN, start=1):
        out[f"{index:02d}-{name}.json"] = render(vector(index, name, by_name[name]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.wire.vectors", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--directory", type=Path, default=DIRECTORY)
    args = parser.parse_args(argv)
    from tests.support.hard_payloads import HARD_PAYLOADS  # a checkout's: see the docstring

    wanted = files(HARD_PAYLOADS)
    present = {p.name for p in args.directory.glob("*.json")} if args.directory.is_dir() else set()
    if args.check:
        stale = [n for n, text in wanted.items() if _read(args.directory / n) != text]
        stale += sorted(present - set(wanted))
        for name in stale:
            sys.stderr.write(f"differs: {args.directory / name}\n")
        return 1 if stale else 0
    args.directory.mkdir(parents=True, exist_ok=True)
    for name in present - set(wanted):
        (args.directory / name).unlink()
    for name, text in wanted.items():
        (args.directory / name).write_text(text, encoding="ascii")
    sys.stdout.write(f"wrote {len(wanted)} vectors to {args.directory}\n")
    return 0


def _read(path: Path) -> str | None:
    return path.read_text(encoding="ascii") if path.is_file() else None


if __name__ == "__main__":
    raise SystemExit(main())
