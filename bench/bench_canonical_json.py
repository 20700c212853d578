"""Canonical JSON against json and orjson on the payloads Hookline really carries.

`python bench/bench_canonical_json.py [--quick]` (or `python -m bench.bench_canonical_json`)
prints ops/s and MB/s (of the
canonical output) for a ~1 KiB app-tracking envelope and a ~2 MiB screenshot envelope:
`canonical_json.dumps` vs compact `json.dumps(...).encode()` vs `orjson.dumps`, and
`canonical_json.loads` vs `json.loads`, each as the best of several timeit repeats.
The ratio column is the time relative to the stdlib `json` call (lower is faster).
"""

from __future__ import annotations

import base64
import json
import random
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):  # run by path: make `app` and `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.wire import canonical_json
from bench.common import envelope, print_table

SCREENSHOT_EVENT = "desktop.screenshot_tracking.captured"


def app_event() -> dict[str, Any]:
    return envelope(1)


def screenshot_event(megabytes: float = 2) -> dict[str, Any]:
    """A screenshot envelope (SPEC Appendix A) whose base64 JPEG is about `megabytes`."""
    image = random.Random(7).randbytes(int(megabytes * 1024 * 1024 * 3 / 4))
    event = envelope(2)
    event["event"] = SCREENSHOT_EVENT
    event["data"] = [
        {
            "organisation": {"organisationId": "org_1"},
            "team": {"teamId": "team_1"},
            "user": {"userId": "user_1"},
            "screenshot": {
                "screenshotId": "scr_000000000001",
                "imageBuffer": base64.b64encode(image).decode("ascii"),
                "app": event["data"][0]["tracking"]["app"],
                "time": {"capturedAt": "2026-01-28T09:14:05.035Z"},
                "operatingSystem": "windows",
                "workType": "remote",
                "isIdle": False,
            },
        }
    ]
    return event


def best_seconds(call: Callable[[], object], *, number: int, repeat: int) -> float:
    """Best time per call: the least-disturbed run on a shared machine."""
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def measure(
    name: str, value: Any, *, number: int, repeat: int
) -> list[tuple[str, str, float, float, float]]:
    """Rows of (payload, operation, ops/s, MB/s, ratio to stdlib json)."""
    body = canonical_json.dumps(value)
    megabytes = len(body) / 1e6
    encoders: list[tuple[str, Callable[[], object]]] = [
        ("json.dumps (compact)", lambda: _compact_json(value)),
        ("canonical_json.dumps", lambda: canonical_json.dumps(value)),
        ("orjson.dumps", lambda: orjson.dumps(value)),
    ]
    decoders: list[tuple[str, Callable[[], object]]] = [
        ("json.loads", lambda: json.loads(body)),
        ("canonical_json.loads", lambda: canonical_json.loads(body)),
        ("orjson.loads", lambda: orjson.loads(body)),
    ]
    rows = []
    for group in (encoders, decoders):
        baseline = 0.0
        for label, call in group:
            seconds = best_seconds(call, number=number, repeat=repeat)
            baseline = baseline or seconds
            rows.append((name, label, 1 / seconds, megabytes / seconds, seconds / baseline))
    return rows


def main(quick: bool = False) -> list[tuple[str, str, float, float, float]]:
    """Print the table (and return its rows, for run_all or a README)."""
    small, large = app_event(), screenshot_event(2)
    small_size, large_size = len(canonical_json.dumps(small)), len(canonical_json.dumps(large))
    scale = 10 if quick else 1
    rows = measure(
        f"app event {small_size:,} B", small, number=20_000 // scale, repeat=5 if quick else 7
    )
    rows += measure(
        f"screenshot {large_size / 2**20:.1f} MiB", large, number=max(1, 40 // scale), repeat=5
    )
    print(f"canonical JSON, Python {sys.version.split()[0]}, orjson {orjson.__version__}")
    print_table(["payload", "operation", "ops/s", "MB/s", "time vs json"], rows)
    return rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
