"""`/metrics`, `/healthz`, `/readyz` and the site, served by the daemon's listener: the
collector on a store with known rows, the listener's answers through ASGI (no port), a
taken port refused in one line, and the shipped rules and dashboard against the collector's
names (promtool when installed; under CI it must be)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from checks.base import SystemClock
from checks.generation import Generation
from checks.model_listing import ModelListing
from checks.pricing import Pricing
from checks.rate_limits import RateLimits
from checks.snapshot import Snapshot
from monitor.cli import main
from monitor.cli.export import integration_text
from monitor.clock import FrozenClock
from monitor.config import LoadedConfig, parse
from monitor.daemon import Daemon
from monitor.listener import (
    Health,
    Listener,
    ListenError,
    liveness,
    open_socket,
    readiness,
    site_file,
)
from monitor.metrics import FAMILIES, Collector
from monitor.scheduler import serve
from monitor.store import Incident, OutboxMessage, ProbeResult, Store
from tests.conftest import ServedSimulator, free_port
from tests.test_daemon import config_for
from tests.traffic import spend_row, usage_row

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
PINNED = "gpt-image-2-2026-04-21"
SECRET = "sk-test-never-in-metrics-0123456789"


def loaded_config(site_dir: Path | None = None) -> LoadedConfig:
    accounts = [
        {
            "name": name,
            "api_key_env": f"KEY_{name.upper()}",
            "snapshots": [PINNED],
            "daily_probe_budget_usd": Decimal("0.25"),
        }
        for name in ("verified", "unverified")
    ]
    monitor = {"site_dir": str(site_dir)} if site_dir else {}
    return parse(
        {"monitor": monitor, "accounts": accounts},
        {"KEY_VERIFIED": SECRET, "KEY_UNVERIFIED": SECRET + "x"},
    )


def result(
    account: str,
    check: str,
    status: str,
    reason: str,
    *,
    model: str = "gpt-image-2",
    minutes_ago: float = 1,
    latency_ms: float | None = 250.0,
    cost_usd: float | None = None,
    details: dict[str, Any] | None = None,
) -> ProbeResult:
    finished = NOW - timedelta(minutes=minutes_ago)
    return ProbeResult(
        account=account,
        check=check,
        model=model,
        status=status,
        reason=reason,
        summary=f"an API message quoting {SECRET}",
        latency_ms=latency_ms,
        cost_usd=cost_usd,
        details=details or {},
        started_at=finished - timedelta(seconds=1),
        finished_at=finished,
    )


def known_rows(store: Store) -> None:
    store.add_results(
        [
            result("verified", Generation.name, "pass", "ok", minutes_ago=30, cost_usd=0.004),
            result("verified", Generation.name, "pass", "ok", latency_ms=3000, cost_usd=0.005),
            result("unverified", Generation.name, "fail", "org_verification_required"),
            result(
                "verified",
                RateLimits.name,
                "pass",
                "headroom_ok",
                details={
                    "headers": {
                        "requests": {"limit": 50, "remaining": 49},
                        "tokens": {"limit": 100000, "remaining": 99000},
                        "made-up-by-a-proxy": {"limit": 1, "remaining": 1},
                    }
                },
            ),
            result(
                "verified",
                Pricing.name,
                "fail",
                "price_changed",
                details={"published": {"image_output": "40.00", "text_input": "5.00"}},
            ),
            result(
                "verified",
                Snapshot.name,
                "warn",
                "shutdown_scheduled",
                model=PINNED,
                details={"model": {"id": PINNED, "shutdown_date": "2027-05-05"}},
            ),
            # A model the listing saw that no account watches, and a reason from elsewhere.
            result("verified", ModelListing.name, "warn", "new_model", model="gpt-image-9"),
            result("unverified", ModelListing.name, "unknown", "some_future_reason"),
            usage_row("verified", NOW - timedelta(minutes=1)),
            spend_row("verified", NOW - timedelta(minutes=1)),
        ]
    )
    with store.alert_work("test") as work:
        work.add_incident(
            Incident(
                account="unverified",
                check=Generation.name,
                model="gpt-image-2",
                reason="org_verification_required",
                summary="HTTP 403",
                opened_at=NOW,
                updated_at=NOW,
            )
        )
        work.add(
            OutboxMessage(
                channel="ops",
                kind="opened",
                dedupe_key="k1",
                title="t",
                body="b",
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )


def scrape_text(store: Store, loaded: LoadedConfig, probing: bool = True) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(store, loaded, FrozenClock(NOW), lambda: probing))
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str):
    return found.get((name, frozenset(labels.items())))


def test_the_collector_exposes_the_latest_state_with_bounded_labels(store: Store) -> None:
    known_rows(store)
    text = scrape_text(store, loaded_config())
    found = samples(text)
    pair = {"account": "verified", "check": Generation.name, "model": "gpt-image-2"}
    assert value(found, "imagewatch_check_status", **pair, status="pass") == 1
    assert value(found, "imagewatch_check_status", **pair, status="fail") == 0
    failing = {"account": "unverified", "check": Generation.name, "model": "gpt-image-2"}
    assert value(found, "imagewatch_check_status", **failing, status="fail") == 1
    assert (
        value(found, "imagewatch_check_reason_info", **failing, reason="org_verification_required")
        == 1
    )
    listing = {"account": "unverified", "check": ModelListing.name, "model": "gpt-image-2"}
    assert value(found, "imagewatch_check_reason_info", **listing, reason="other") == 1
    assert (
        value(found, "imagewatch_last_result_timestamp_seconds", **pair)
        == (NOW - timedelta(minutes=1)).timestamp()
    )
    # Counters from the rollups: two generation passes, their cost, their latency buckets.
    generations = {"account": "verified", "check": Generation.name}
    assert value(found, "imagewatch_probes_total", **generations, status="pass") == 2
    assert value(found, "imagewatch_probe_cost_usd_total", account="verified") == pytest.approx(
        0.009
    )
    assert value(found, "imagewatch_probe_duration_seconds_bucket", **pair, le="0.4") == 1
    assert value(found, "imagewatch_probe_duration_seconds_bucket", **pair, le="3.2") == 2
    assert value(found, "imagewatch_probe_duration_seconds_bucket", **pair, le="+Inf") == 2
    assert value(found, "imagewatch_budget_usd", account="verified") == 0.25
    assert value(found, "imagewatch_budget_remaining_usd", account="verified") == pytest.approx(
        0.241
    )
    assert value(found, "imagewatch_budget_remaining_usd", account="unverified") == 0.25
    limits = {"account": "verified", "model": "gpt-image-2"}
    assert value(found, "imagewatch_ratelimit_limit", **limits, resource="requests") == 50
    assert value(found, "imagewatch_ratelimit_remaining", **limits, resource="tokens") == 99000
    price = {"model": "gpt-image-2"}
    assert (
        value(found, "imagewatch_price_usd_per_million_tokens", **price, category="image_output")
        == 40
    )
    pinned = {"account": "verified", "model": PINNED}
    assert (
        value(found, "imagewatch_model_shutdown_timestamp_seconds", **pinned)
        == datetime(2027, 5, 5, tzinfo=UTC).timestamp()
    )
    assert value(found, "imagewatch_incidents_open", account="unverified") == 1
    assert value(found, "imagewatch_incidents_open", account="verified") == 0
    assert value(found, "imagewatch_outbox_pending") == 1
    assert value(found, "imagewatch_daemon_up") == 1
    assert value(found, "imagewatch_daemon_probing") == 1
    assert any(name == "imagewatch_build_info" for name, _ in found)
    # Bounded: no model outside the config, no resource outside the list, no API text.
    assert "gpt-image-9" not in text
    assert "made-up-by-a-proxy" not in text
    assert SECRET not in text
    assert "API message" not in text


def test_the_collector_exposes_each_accounts_traffic_and_spend_from_their_latest_results(
    store: Store,
) -> None:
    at = NOW - timedelta(minutes=2)
    store.add_results(
        [
            usage_row("verified", at - timedelta(minutes=15), peak_hour=3, peak_day=4),
            usage_row("verified", at, limit=50, peak_hour=12, peak_day=30),
            spend_row("verified", at, budget=300.0, drift_pct=-7.5),
            # not label values: a model no account watches, an account not configured
            usage_row("verified", at, model="gpt-image-9"),
            spend_row("elsewhere", at),
        ]
    )
    text = scrape_text(store, loaded_config())
    found = samples(text)
    usage = {"account": "verified", "model": "gpt-image-2"}
    peak = "imagewatch_usage_peak_images_per_minute"
    assert value(found, peak, **usage, window="hour") == 12
    assert value(found, peak, **usage, window="day") == 30
    assert value(found, "imagewatch_usage_limit_images_per_minute", **usage) == 50
    assert value(found, "imagewatch_usage_images", **usage) == 180
    assert value(found, "imagewatch_spend_today_usd", account="verified") == 6.0
    assert value(found, "imagewatch_spend_forecast_month_usd", account="verified") == 255.0
    assert value(found, "imagewatch_spend_monthly_budget_usd", account="verified") == 300.0
    assert value(found, "imagewatch_billing_drift_ratio", account="verified") == -0.075
    assert "gpt-image-9" not in text
    assert "elsewhere" not in text
    assert "proj_prod" not in text  # the project is not a label


def test_an_account_without_a_budget_or_a_limit_exposes_no_such_sample(store: Store) -> None:
    at = NOW - timedelta(minutes=2)
    store.add_results(
        [usage_row("verified", at, limit=None), spend_row("verified", at, budget=None)]
    )
    found = samples(scrape_text(store, loaded_config()))
    names = {name for name, _ in found}
    assert "imagewatch_usage_limit_images_per_minute" not in names
    assert "imagewatch_spend_monthly_budget_usd" not in names
    assert "imagewatch_usage_peak_images_per_minute" in names


def test_the_collector_exposes_exactly_the_families_it_declares(store: Store) -> None:
    known_rows(store)
    exposed = {f.name for f in text_string_to_metric_families(scrape_text(store, loaded_config()))}
    # The parser names a counter's family without its _total.
    declared = {re.sub(r"_total$", "", name) for name in FAMILIES}
    assert exposed == declared


def test_a_daemon_running_but_not_probing_says_so_in_its_metrics(store: Store) -> None:
    found = samples(scrape_text(store, loaded_config(), probing=False))
    assert value(found, "imagewatch_daemon_probing") == 0
    assert value(found, "imagewatch_daemon_up") == 1


def test_healthz_turns_503_when_no_result_is_stored_for_twice_the_interval() -> None:
    started = NOW - timedelta(minutes=30)
    assert liveness(NOW - timedelta(seconds=100), started, 60, NOW).code == 200
    stale = liveness(NOW - timedelta(seconds=121), started, 60, NOW)
    assert stale.code == 503
    assert "\n" not in stale.line
    assert "not probing" in stale.line
    # a daemon that has stored nothing yet counts from its start
    assert liveness(None, NOW - timedelta(seconds=30), 60, NOW).code == 200


def test_readyz_is_200_only_once_the_first_round_is_stored() -> None:
    assert readiness(None).code == 503
    assert readiness(NOW).code == 200


def make_site(folder: Path) -> Path:
    site = folder / "public"
    (site / "accounts").mkdir(parents=True)
    (site / "index.html").write_text("<h1>ready</h1>", encoding="utf-8")
    (site / "status.json").write_text("{}", encoding="utf-8")
    (site / "feed.atom").write_text("<feed/>", encoding="utf-8")
    (site / "badge.svg").write_text("<svg/>", encoding="utf-8")
    (site / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (site / "accounts" / "index.html").write_text("accounts", encoding="utf-8")
    (site / ".hidden").write_text("no", encoding="utf-8")
    (folder / "imagewatch.toml").write_text(f'api_key = "{SECRET}"', encoding="utf-8")
    (site / "escape.txt").symlink_to(folder / "imagewatch.toml")
    return site


class Served:
    """The listener app over a store, answered through ASGI: no port needed."""

    def __init__(self, store: Store, site: Path) -> None:
        self.clock = FrozenClock(NOW)
        self.first_round_at: datetime | None = None
        loaded = loaded_config(site)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Collector(store, loaded, self.clock, lambda: True))
        self.app = Listener(
            registry,
            health=lambda: liveness(
                store.newest_result_at(), NOW - timedelta(hours=1), 60, self.clock.now()
            ),
            ready=lambda: readiness(self.first_round_at),
            site_dir=site,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://iw") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(go())


@pytest.fixture
def served(store: Store, tmp_path: Path) -> Served:
    known_rows(store)
    return Served(store, make_site(tmp_path))


def test_the_listener_serves_metrics_in_the_prometheus_text_format(served: Served) -> None:
    answer = served.request("GET", "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "imagewatch_check_status{" in answer.text
    assert SECRET not in answer.text


def test_the_listener_serves_the_site_with_the_right_content_types(served: Served) -> None:
    expected = {
        "/": "text/html",
        "/index.html": "text/html",
        "/accounts/": "text/html",
        "/accounts": "text/html",
        "/status.json": "application/json",
        "/feed.atom": "application/atom+xml",
        "/badge.svg": "image/svg+xml",
        "/shot.png": "image/png",
    }
    for path, kind in expected.items():
        answer = served.request("GET", path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].split(";")[0] == kind, path
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert served.request("HEAD", "/status.json").status_code == 200


def test_the_listener_serves_nothing_outside_the_site(served: Served) -> None:
    for path in (
        "/../imagewatch.toml",
        "/%2e%2e/imagewatch.toml",
        "/accounts/../../imagewatch.toml",
        "/..%2fimagewatch.toml",
        "/escape.txt",
        "/.hidden",
        "/missing.html",
        "/status.json%00.html",
    ):
        answer = served.request("GET", path)
        assert answer.status_code == 404, path
        assert SECRET not in answer.text


def test_site_file_confines_every_path_to_the_site(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert site_file(site, "/../imagewatch.toml") is None
    assert site_file(site, "/accounts/../../imagewatch.toml") is None
    assert site_file(site, "/escape.txt") is None
    assert site_file(site, "/") == (site / "index.html").resolve()


def test_the_listener_answers_get_and_head_only_and_takes_no_body(served: Served) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        answer = served.request(method, "/metrics")
        assert answer.status_code == 405, method
        assert answer.headers["allow"] == "GET, HEAD"
    assert served.request("GET", "/healthz", content=b"x" * 10).status_code == 400


def test_healthz_and_readyz_follow_probing_and_the_first_round(
    served: Served, store: Store
) -> None:
    assert served.request("GET", "/healthz").status_code == 200
    assert served.request("GET", "/readyz").status_code == 503
    served.first_round_at = NOW
    assert served.request("GET", "/readyz").status_code == 200
    served.clock.advance(600)  # no result for ten minutes: twice the interval is two
    stale = served.request("GET", "/healthz")
    assert stale.status_code == 503
    assert stale.text.count("\n") == 1
    later = NOW + timedelta(seconds=600)
    probe = result("verified", Generation.name, "pass", "ok")
    probe.finished_at = later
    store.add_result(probe)
    assert served.request("GET", "/healthz").status_code == 200


def test_the_listener_refuses_a_taken_port_in_one_line() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ListenError) as caught:
            open_socket(f"127.0.0.1:{port}")
    finally:
        taken.close()
    assert str(caught.value) == (
        f"listen: cannot listen on 127.0.0.1:{port}: address already in use"
    )


def test_run_on_a_taken_port_ends_in_one_error_line_and_exit_2(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = tmp_path / "imagewatch.toml"
    config.write_text(
        f'[monitor]\ndatabase_url = "sqlite:///{tmp_path / "iw.db"}"\n'
        '[[accounts]]\nname = "prod"\napi_key_env = "K"\n',
        encoding="utf-8",
    )
    try:
        answer = CliRunner().invoke(
            main, ["run", "--config", str(config), "--listen", f"127.0.0.1:{port}"], env={"K": "x"}
        )
    finally:
        taken.close()
    assert answer.exit_code == 2
    assert answer.output.strip().splitlines() == [
        f"error: listen: cannot listen on 127.0.0.1:{port}: address already in use"
    ]


@pytest.mark.parametrize("address", ["9464", "localhost", "127.0.0.1:0", "127.0.0.1:99999", ":80"])
def test_a_bad_listen_address_is_refused_by_the_config(address: str) -> None:
    from monitor.config import ConfigError

    with pytest.raises(ConfigError, match=r"monitor\.listen"):
        parse(
            {"monitor": {"listen": address}, "accounts": [{"name": "a", "api_key_env": "K"}]},
            {"K": "x"},
        )


def metric_names(expression: str) -> set[str]:
    return set(re.findall(r"\bimagewatch_[a-z_]+", expression))


def exposed_names() -> set[str]:
    histograms = {"imagewatch_probe_duration_seconds"}
    return set(FAMILIES) | {f"{h}_{s}" for h in histograms for s in ("bucket", "count", "sum")}


def test_the_dashboard_is_json_that_uses_only_exposed_metrics() -> None:
    dashboard = json.loads(integration_text("grafana-dashboard"))
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(expressions) >= 10
    used = set().union(*(metric_names(e) for e in expressions))
    assert used <= exposed_names(), used - exposed_names()
    variables = [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    assert set().union(*(metric_names(v) for v in variables)) <= exposed_names()


def test_the_rules_use_only_exposed_metrics() -> None:
    rules = yaml.safe_load(integration_text("prometheus-rules"))["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {
        "ImagewatchAccountNotReady",
        "ImagewatchNotProbing",
        "ImagewatchBudgetNearlySpent",
        "ImagewatchPriceChanged",
        "ImagewatchSnapshotShutdownSoon",
    }
    used = set().union(*(metric_names(r["expr"]) for r in rules))
    assert used <= exposed_names(), used - exposed_names()


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install promtool (Debian package prometheus)")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return found


def test_promtool_accepts_the_exported_rules(tmp_path: Path) -> None:
    rules = tmp_path / "imagewatch-rules.yml"
    answer = CliRunner().invoke(main, ["export", "prometheus-rules"])
    assert answer.exit_code == 0
    rules.write_text(answer.output, encoding="utf-8")
    checked = subprocess.run(
        [promtool(), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_accepts_a_scrape(store: Store) -> None:
    known_rows(store)
    checked = subprocess.run(
        [promtool(), "check", "metrics"],
        input=scrape_text(store, loaded_config()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_health_lines_are_one_line() -> None:
    for answer in (readiness(None), readiness(NOW), Health(200, "ok: probing")):
        assert "\n" not in answer.line


def test_the_readme_metric_table_lists_every_exposed_family() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("| metric | labels | what |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"`(imagewatch_[a-z_]+)`", table))
    assert documented == set(FAMILIES)


def test_a_store_that_fails_makes_metrics_and_healthz_503_without_its_message(
    tmp_path: Path,
) -> None:
    def broken() -> Health:
        raise RuntimeError(f"password={SECRET}")

    class Broken:
        def collect(self) -> Any:
            raise RuntimeError(f"password={SECRET}")

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Broken())  # type: ignore[arg-type]
    app = Listener(registry, health=broken, ready=broken, site_dir=make_site(tmp_path))

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://iw") as client:
            return [await client.get(p) for p in ("/metrics", "/healthz", "/readyz")]

    for answer in asyncio.run(go()):
        assert answer.status_code == 503
        assert SECRET not in answer.text


def test_the_listener_starts_and_stops_with_the_daemon(
    simulator: ServedSimulator, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the daemon publishes to the default site_dir
    loaded = config_for(simulator.url, "verified")
    port = free_port()
    logged: list[str] = []

    async def go() -> tuple[int, int]:
        stop = asyncio.Event()
        async with httpx.AsyncClient() as client:
            daemon = Daemon(loaded, store, client, SystemClock())
            serving = asyncio.create_task(
                serve(daemon, logged.append, stop=stop, listening=open_socket(f"127.0.0.1:{port}"))
            )
            base = f"http://127.0.0.1:{port}"
            deadline = asyncio.get_running_loop().time() + 30
            ready = 0
            while ready != 200 and asyncio.get_running_loop().time() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    ready = (await client.get(f"{base}/readyz")).status_code
                await asyncio.sleep(0.05)
            health = (await client.get(f"{base}/healthz")).status_code
            stop.set()
            await serving
        return ready, health

    assert asyncio.run(go()) == (200, 200)
    assert logged[-1] == "stopped"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


# (alert, input series, minutes evaluated, labels each firing alert carries)
RULE_CASES: list[tuple[str, dict[str, str], int, list[dict[str, str]]]] = [
    ("ImagewatchNotProbing", {"imagewatch_daemon_probing": "0x10"}, 6, [{}]),
    ("ImagewatchNotProbing", {"imagewatch_daemon_probing": "1x10"}, 6, []),
    ("ImagewatchDown", {"imagewatch_outbox_pending": "0x10"}, 6, [{}]),
    ("ImagewatchDown", {"imagewatch_daemon_up": "1x10"}, 6, []),
    (
        "ImagewatchAccountNotReady",
        {
            'imagewatch_check_status{account="unverified",check="generation",'
            'model="gpt-image-2",status="fail"}': "1x10",
            'imagewatch_check_status{account="verified",check="generation",'
            'model="gpt-image-2",status="fail"}': "0x10",
        },
        3,
        [{"account": "unverified", "check": "generation", "model": "gpt-image-2"}],
    ),
    (
        "ImagewatchBudgetNearlySpent",
        {
            'imagewatch_budget_usd{account="low"}': "0.25x10",
            'imagewatch_budget_remaining_usd{account="low"}': "0.01x10",
            'imagewatch_budget_usd{account="fine"}': "0.25x10",
            'imagewatch_budget_remaining_usd{account="fine"}': "0.2x10",
        },
        2,
        [{"account": "low"}],
    ),
    (
        "ImagewatchPriceChanged",
        {
            'imagewatch_check_reason_info{account="a",check="pricing",model="gpt-image-2",'
            'reason="price_changed"}': "1x3",
        },
        1,
        [{"account": "a", "check": "pricing", "model": "gpt-image-2", "reason": "price_changed"}],
    ),
    (
        "ImagewatchSnapshotShutdownSoon",
        {
            # promtool's clock starts at 0: ten days away fires, a hundred does not
            f'imagewatch_model_shutdown_timestamp_seconds{{account="a",model="{PINNED}"}}': (
                f"{10 * 86400}x3"
            ),
            'imagewatch_model_shutdown_timestamp_seconds{account="a",model="later"}': (
                f"{100 * 86400}x3"
            ),
        },
        1,
        [{"account": "a", "model": PINNED}],
    ),
    (
        "ImagewatchTrafficNearLimit",
        {
            'imagewatch_usage_peak_images_per_minute{account="busy",model="gpt-image-2",'
            'window="hour"}': "45x3",
            'imagewatch_usage_peak_images_per_minute{account="busy",model="gpt-image-2",'
            'window="day"}': "50x3",
            'imagewatch_usage_limit_images_per_minute{account="busy",model="gpt-image-2"}': "50x3",
            'imagewatch_usage_peak_images_per_minute{account="calm",model="gpt-image-2",'
            'window="hour"}': "10x3",
            'imagewatch_usage_limit_images_per_minute{account="calm",model="gpt-image-2"}': "50x3",
        },
        1,
        [{"account": "busy", "model": "gpt-image-2"}],
    ),
    (
        "ImagewatchSpendOverBudget",
        {
            'imagewatch_spend_forecast_month_usd{account="over"}': "400x3",
            'imagewatch_spend_monthly_budget_usd{account="over"}': "300x3",
            'imagewatch_spend_forecast_month_usd{account="under"}': "200x3",
            'imagewatch_spend_monthly_budget_usd{account="under"}': "300x3",
        },
        1,
        [{"account": "over"}],
    ),
    (
        "ImagewatchBillingDrift",
        {
            'imagewatch_billing_drift_ratio{account="drifting"}': "-0.12x3",
            'imagewatch_billing_drift_ratio{account="exact"}': "0.01x3",
        },
        1,
        [{"account": "drifting"}],
    ),
]


def expanded(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)


def test_promtool_fires_each_rule_on_the_series_it_is_for(tmp_path: Path) -> None:
    text = integration_text("prometheus-rules")
    (tmp_path / "rules.yml").write_text(text, encoding="utf-8")
    rules = {r["alert"]: r for r in yaml.safe_load(text)["groups"][0]["rules"]}
    tests = []
    for alert, series, minutes, firing in RULE_CASES:
        rule = rules[alert]
        tests.append(
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "alert_rule_test": [
                    {
                        "eval_time": f"{minutes}m",
                        "alertname": alert,
                        "exp_alerts": [
                            {
                                "exp_labels": {**labels, **rule["labels"]},
                                "exp_annotations": {
                                    k: expanded(v, labels) for k, v in rule["annotations"].items()
                                },
                            }
                            for labels in firing
                        ],
                    }
                ],
            }
        )
    unit = tmp_path / "rules_test.yml"
    unit.write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "tests": tests}), "utf-8")
    checked = subprocess.run(
        [promtool(), "test", "rules", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert {alert for alert, *_ in RULE_CASES} == set(rules)


def test_listen_with_once_is_refused_in_one_line() -> None:
    answer = CliRunner().invoke(main, ["run", "--once", "--listen", "127.0.0.1:9464"])
    assert answer.exit_code == 2
    assert answer.output.strip().splitlines() == [
        "error: --listen: the listener serves the daemon; --once runs one round"
    ]
