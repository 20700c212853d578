"""Synthetic desktop-agent traffic against a running Hookline (the demo and the benchmarks).

Each ingest key stands for one organisation with a few teams and users; events follow
the desktop agent's shapes (SPEC Appendix A) and screenshots carry a real JPEG
(`app.demo.jpeg`). Sending is open-loop:
requests leave on schedule at the chosen rate whatever the server's latency (bounded
in flight), which is what a fleet of desktops does and what a benchmark must measure.
"""

import asyncio
import base64
import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.demo.jpeg import screenshot_jpeg
from app.events.catalogue import ACTIVITY_TRACKING, APP_TRACKING, SCREENSHOT_TRACKING

# (name, type, category, domain, path, productivity)
APPS = (
    ("Visual Studio Code", "application", "Development", "", "", "productive"),
    ("GitHub", "website", "Development", "github.com", "/acme/api/pulls", "productive"),
    ("Slack", "application", "Communication", "", "", "neutral"),
    ("Figma", "website", "Design", "figma.com", "/file/k3Y/dashboard", "productive"),
    ("Gmail", "website", "Email", "mail.google.com", "/mail/u/0/#inbox", "neutral"),
    ("Jira", "website", "Project Management", "acme.atlassian.net", "/browse/OPS-42", "productive"),
    ("Zoom", "application", "Meetings", "", "", "neutral"),
    ("Microsoft Excel", "application", "Office", "", "", "productive"),
    ("YouTube", "website", "Entertainment", "youtube.com", "/watch?v=dQw4w9WgXcQ", "unproductive"),
    ("Reddit", "website", "Social Media", "reddit.com", "/r/programming", "unproductive"),
)
EVENT_TYPES = (APP_TRACKING, SCREENSHOT_TRACKING, ACTIVITY_TRACKING)
EVENT_WEIGHTS = (6, 3, 1)
TEAMS_PER_ORG, USERS_PER_TEAM = 3, 4
MAX_IN_FLIGHT = 64


# --- events ---


@dataclass(frozen=True, slots=True)
class Organisation:
    ingest_key: str
    organisation_id: str
    people: tuple[tuple[str, str, str, str], ...]  # user id, team id, operating system, work type


def organisation_for(ingest_key: str, rng: random.Random) -> Organisation:
    """A stable organisation per key; its id is a hash, so the key itself never shows."""
    tag = hashlib.sha256(ingest_key.encode()).hexdigest()[:8]
    people = tuple(
        (
            f"user_{tag[:4]}_{team}{user:02d}",
            f"team_{tag[:4]}_{team}",
            rng.choice(("macos", "windows", "linux")),
            rng.choice(("office", "remote", "hybrid")),
        )
        for team in range(1, TEAMS_PER_ORG + 1)
        for user in range(1, USERS_PER_TEAM + 1)
    )
    return Organisation(ingest_key, f"org_{tag}", people)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _app(rng: random.Random) -> dict[str, Any]:
    name, kind, category, domain, path, productivity = rng.choice(APPS)
    app: dict[str, Any] = {"name": name, "type": kind, "category": category}
    slug = name.lower().replace(" ", "-")
    if domain:
        app |= {"iconUrl": f"https://{domain}/favicon.ico", "domain": domain}
        app["fullUrl"] = f"https://{domain}{path}"
    else:
        app["iconUrl"] = f"https://icons.example.com/{slug}.png"
    app["productivityStatus"] = productivity
    return app


def make_event(
    org: Organisation, rng: random.Random, event_type: str | None = None, screenshot_kb: int = 0
) -> dict[str, Any]:
    """One ingest body (`POST /v1/events`) of the given or a weighted random type."""
    if event_type is None:
        event_type = rng.choices(EVENT_TYPES, EVENT_WEIGHTS)[0]
    user_id, team_id, system, work_type = rng.choice(org.people)
    now = datetime.now(UTC)
    ids = {
        "organisation": {"organisationId": org.organisation_id},
        "team": {"teamId": team_id},
        "user": {"userId": user_id},
    }
    data: Any
    if event_type == APP_TRACKING:
        seconds = rng.randrange(15, 1800)
        time_range = {"startDate": _iso(now - timedelta(seconds=seconds)), "endDate": _iso(now)}
        tracking = {
            "trackingId": f"trk_{rng.getrandbits(48):012x}",
            "app": _app(rng),
            "time": time_range | {"durationInSeconds": seconds},
            "trackingMode": "online",
            "operatingSystem": system,
        }
        data = [ids | {"tracking": tracking}]
    elif event_type == SCREENSHOT_TRACKING:
        image = base64.b64encode(screenshot_jpeg(rng, screenshot_kb)).decode()
        shot = {
            "screenshotId": f"scr_{rng.getrandbits(48):012x}",
            "imageBuffer": image,
            "app": _app(rng),
            "time": {"capturedAt": _iso(now)},
            "operatingSystem": system,
            "workType": work_type,
            "isIdle": rng.random() < 0.1,
        }
        data = [ids | {"screenshot": shot}]
    else:
        data = ids | {
            "activity": {"workMode": rng.random() < 0.8, "privacyMode": rng.random() < 0.2}
        }
    return {
        "event": event_type,
        "userId": user_id,
        "teamId": team_id,
        "data": data,
        "timestamp": int(now.timestamp() * 1000),
    }


# --- sending ---


@dataclass
class TrafficStats:
    sent: int = 0  # events posted (a batch counts its events)
    accepted: int = 0  # events answered 202
    failed: int = 0  # events refused or lost to a network error
    deliveries: int = 0  # deliveries the accepted events created
    by_type: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)  # "202", "422", "ConnectError"…
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.accepted / self.elapsed if self.elapsed else 0.0


async def _post(
    client: httpx.AsyncClient, org: Organisation, events: list[dict[str, Any]], stats: TrafficStats
) -> None:
    headers = {"Authorization": f"Bearer {org.ingest_key}"}
    single = len(events) == 1
    stats.sent += len(events)
    try:
        if single:
            response = await client.post("/v1/events", json=events[0], headers=headers)
        else:
            response = await client.post(
                "/v1/events/batch", json={"events": events}, headers=headers
            )
    except httpx.HTTPError as exc:
        stats.failed += len(events)
        stats.statuses[type(exc).__name__] += len(events)
        return
    stats.statuses[str(response.status_code)] += len(events)
    if response.status_code != 202:
        stats.failed += len(events)
        return
    stats.accepted += len(events)
    stats.deliveries += int(response.json().get("deliveries", 0))
    stats.by_type.update(event["event"] for event in events)


async def send_events(
    base_url: str,
    ingest_keys: Sequence[str],
    rate: float,
    duration: float | None = None,
    count: int | None = None,
    *,
    batch_size: int = 1,
    screenshot_kb: int = 0,
    seed: int | None = None,
    client: httpx.AsyncClient | None = None,
    stats: TrafficStats | None = None,
) -> TrafficStats:
    """Post synthetic events at `rate` events/s until `duration` seconds or `count` events.

    With neither, runs until cancelled (`stats`, when given, is filled in as it goes).
    `batch_size` > 1 posts `/v1/events/batch` requests of that many events, still at
    `rate` events per second. `client` replaces the one made for `base_url` (tests pass
    an ASGI-transport client).
    """
    if not ingest_keys or rate <= 0 or batch_size < 1:
        raise ValueError("need at least one ingest key, a positive rate and batch size")
    rng = random.Random(seed)
    orgs = [organisation_for(key, rng) for key in ingest_keys]
    stats = stats if stats is not None else TrafficStats()
    own_client = client is None
    http = client or httpx.AsyncClient(base_url=base_url, timeout=30)
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()

    async def post(org: Organisation, events: list[dict[str, Any]]) -> None:
        try:
            await _post(http, org, events, stats)
        finally:
            in_flight.release()

    started = time.monotonic()
    posted = 0
    try:
        while count is None or posted < count:
            due = started + posted / rate
            if duration is not None and due - started >= duration:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            size = batch_size if count is None else min(batch_size, count - posted)
            org = rng.choice(orgs)
            events = [make_event(org, rng, screenshot_kb=screenshot_kb) for _ in range(size)]
            await in_flight.acquire()
            task = asyncio.create_task(post(org, events))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            posted += size
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        stats.elapsed = time.monotonic() - started
        if own_client:
            await http.aclose()
    return stats


def summary(stats: TrafficStats) -> str:
    types = ", ".join(f"{name.split('.')[1]}={n}" for name, n in sorted(stats.by_type.items()))
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(stats.statuses.items()))
    return (
        f"sent {stats.sent}, accepted {stats.accepted}, failed {stats.failed} in "
        f"{stats.elapsed:.1f}s ({stats.rate:.1f}/s); deliveries {stats.deliveries}; "
        f"types: {types or '-'}; statuses: {statuses or '-'}"
    )


# --- the embedded demo: a webhook and gentle traffic once the server answers ---

# No external endpoint is reachable from a laptop demo by default: deliveries to this one
# fail and retry, which is what the delivery log should show; edit it to a real receiver.
DEMO_WEBHOOK = {
    "name": "Demo endpoint",
    "url": "https://example.com/hookline-demo",
    "events": list(EVENT_TYPES),
}
DEMO_RATE = 0.5  # one event every two seconds: the feed is alive, the database stays small


async def wait_until_up(client: httpx.AsyncClient, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get("/healthz")).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.25)
    return False


async def ensure_demo_webhook(client: httpx.AsyncClient, api_key: str) -> None:
    """One webhook subscribed to every type, unless the tenant already has webhooks."""
    headers = {"Authorization": f"Bearer {api_key}"}
    existing = await client.get("/v1/webhooks", params={"limit": 1}, headers=headers)
    if existing.status_code == 200 and not existing.json()["data"]:
        await client.post("/v1/webhooks", json=DEMO_WEBHOOK, headers=headers)


async def run_demo(
    base_url: str, api_key: str, ingest_keys: Sequence[str], traffic: bool, rate: float = DEMO_RATE
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        if not await wait_until_up(client):
            return
        await ensure_demo_webhook(client, api_key)
        if traffic:
            await send_events(base_url, ingest_keys, rate, client=client)


def start_demo(
    base_url: str, api_key: str, ingest_keys: Sequence[str], traffic: bool
) -> threading.Thread:
    """Runs `run_demo` on its own loop in a daemon thread: it ends with the server."""
    thread = threading.Thread(
        target=asyncio.run,
        args=(run_demo(base_url, api_key, list(ingest_keys), traffic),),
        name="hookline-demo-traffic",
        daemon=True,
    )
    thread.start()
    return thread
