"""The operator kit in docs/operations/ against a real /metrics scrape.

Every metric name the Grafana dashboard and the Prometheus alert rules use must be a
series the app exports, under the right name for its type (`_total` for counters,
`_bucket`/`_sum`/`_count` for histograms, the bare name for gauges), with samples after
a little traffic (the app runs under uvicorn with its dispatcher on, delivering to a real
receiver). And every family the app exports is on the dashboard, so the kit cannot fall
behind the code silently.
"""

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from app.ops.metrics import REGISTRY
from tests.conftest import make_settings
from tests.support.factories import new_tenant, new_webhook
from tests.support.receiver import Receiver
from tests.support.server import serve
from tests.support.workers import ingest

KIT = Path(__file__).resolve().parents[2] / "docs" / "operations"
DASHBOARD = KIT / "grafana-dashboard.json"
RULES = KIT / "prometheus-alerts.yaml"
METRIC_NAME = re.compile(r"hookline_[a-z_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
EVENTS = 5


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in _dashboard()["panels"] for target in panel["targets"]]


def _rule_exprs() -> list[str]:
    return [str(rule["expr"]) for rule in _rules()]


def _names(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


def test_dashboard_is_importable_with_a_datasource_variable() -> None:
    dashboard = _dashboard()
    [variable] = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    source = {"type": "prometheus", "uid": f"${{{variable['name']}}}"}
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["title"] and panel["description"], panel
        assert panel["datasource"] == source, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == source, panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_every_rule_is_complete() -> None:
    rules = _rules()
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule["alert"].startswith("Hookline"), rule
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]


async def _scrape(http: httpx.AsyncClient) -> tuple[dict[str, str], set[str]]:
    """Family name -> type, and every sample name present."""
    response = await http.get("/metrics")
    assert response.status_code == 200
    types: dict[str, str] = {}
    samples: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        if family.name.startswith("hookline_"):
            types[family.name] = family.type
            samples.update(sample.name for sample in family.samples)
    return types, samples


def _exported(types: dict[str, str]) -> set[str]:
    """The series names the families are queried by."""
    return {family + suffix for family, kind in types.items() for suffix in SUFFIXES[kind]}


async def test_every_metric_the_kit_uses_is_exported(database_url: str) -> None:
    referenced = _names(_dashboard_exprs()) | _names(_rule_exprs())
    assert referenced  # the pattern found the names at all
    settings = make_settings(
        database_url, dispatcher="on", allow_private_targets=True, poll_interval_seconds=0.2
    )
    async with Receiver() as receiver, serve(settings) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            tenant = await new_tenant(http, "Operator kit")
            await new_webhook(http, tenant, url=receiver.url())
            await ingest(http, tenant, 0, EVENTS)
            await receiver.wait_for(EVENTS, timeout=30)
            # Results are written after the receiver answered: wait for their counters.
            async with asyncio.timeout(30):
                while True:
                    types, samples = await _scrape(http)
                    if referenced & _exported(types) <= samples:
                        break
                    await asyncio.sleep(0.2)
    assert referenced <= _exported(types), sorted(referenced - _exported(types))
    assert referenced <= samples, sorted(referenced - samples)


def test_the_dashboard_shows_every_family() -> None:
    # The families as the app defines them, read from its registry (no server needed).
    families = {m.name: m.type for m in REGISTRY.collect() if m.name.startswith("hookline_")}
    on_dashboard = _names(_dashboard_exprs())
    missing = [
        family
        for family, kind in families.items()
        if not any(family + suffix in on_dashboard for suffix in SUFFIXES[kind])
    ]
    assert not missing
