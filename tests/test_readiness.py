"""`imagewatch readiness` against the simulator over HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from checks import REGISTRY
from checks.base import Outcome, ProbeContext
from checks.edit import Edit
from monitor.clock import FrozenClock
from monitor.config import LoadedConfig, parse
from monitor.plan import settings_for
from monitor.readiness import (
    AccountReport,
    LaunchProfile,
    Readiness,
    exit_code,
    overall,
    plan,
)
from monitor.readiness.requirements import (
    MET,
    NOT_MET,
    UNKNOWN,
    Requirement,
    from_outcome,
    requirements,
    snapshot_requirement,
    traffic_requirement,
    transparent_requirement,
)
from monitor.readiness.requirements import verdict as verdict_of
from monitor.simulator.scenarios import PINNED, scenario
from monitor.store import ProbeResult, Store
from tests.conftest import Api, ServedSimulator, generation_body, json_response, run_check
from tests.traffic import usage_row

PROFILE = """
[launch]
name = "spring-campaign"
model = "gpt-image-2"
snapshot = "gpt-image-2-2026-04-21"
peak_images_per_minute = {peak}
quality = "medium"
size = "1024x1024"
needs_edits = {edits}
needs_transparent_background = {transparent}
max_cost_per_image_usd = 0.06
monthly_images = 100000
"""


def setup(
    folder: Path,
    url: str,
    peak: int = 40,
    edits: bool = False,
    transparent: bool = False,
    model: str = "gpt-image-2",
) -> tuple[Path, Path, dict[str, str]]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder)}
    blocks = [
        f'[monitor]\ndatabase_url = "sqlite:///{folder / "r.db"}"\n'
        f'site_dir = "{folder / "public"}"\n'
        f'[checks.pricing]\nsource = "{url}/_sim/prices/published.json"\n'
        '[checks.generation]\nmax_retry_wait = "1s"\n'
    ]
    for name in ("verified", "unverified", "flaky"):
        var = name.upper()
        env[var] = scenario(name).api_key
        block = (
            f'[[accounts]]\nname = "{name}"\nbase_url = "{url}/v1"\napi_key_env = "{var}"\n'
            f'project = "{scenario(name).project}"\n'
        )
        if scenario(name).admin_key:
            env[var + "_ADMIN"] = scenario(name).admin_key or ""
            block += f'admin_key_env = "{var}_ADMIN"\n'
        blocks.append(block)
    config = folder / "imagewatch.toml"
    config.write_text("\n".join(blocks), encoding="utf-8")
    profile = folder / "launch.toml"
    text = PROFILE.format(peak=peak, edits=str(edits).lower(), transparent=str(transparent).lower())
    if model != "gpt-image-2":
        text = text.replace('model = "gpt-image-2"', f'model = "{model}"').replace(
            'snapshot = "gpt-image-2-2026-04-21"\n', ""
        )
    profile.write_text(text, encoding="utf-8")
    return config, profile, env


def readiness(
    config: Path, profile: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "readiness",
            "--config",
            str(config),
            "--profile",
            str(profile),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def report(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(run.stdout)
    return document


def requirement(document: dict[str, Any], account: str, key: str) -> dict[str, str]:
    entry = next(a for a in document["accounts"] if a["account"] == account)
    return next(r for r in entry["requirements"] if r["key"] == key)


def verdict(document: dict[str, Any], account: str) -> str:
    return str(next(a for a in document["accounts"] if a["account"] == account)["verdict"])


def test_a_verified_tier_3_account_is_go_for_40_images_per_minute(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, profile, env = setup(tmp_path, simulator.url, peak=40)
    run = readiness(config, profile, env, "--account", "verified", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    document = report(run)
    assert verdict(document, "verified") == "GO"
    assert (
        requirement(document, "verified", "images_per_minute")["detail"]
        == "50 images/min (tier 3) ≥ 40"
    )
    cost = requirement(document, "verified", "cost_per_image")
    assert cost["state"] == "met"
    assert cost["detail"].startswith(
        "$0.0527 per image (1756 output tokens at $30/1M); $5,268.00 a month for 100,000 images"
    )


def test_the_same_account_is_no_go_for_100_and_the_tier_is_named(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, profile, env = setup(tmp_path, simulator.url, peak=100)
    run = readiness(config, profile, env, "--account", "verified", "--json")
    assert run.returncode == 1
    rate = requirement(report(run), "verified", "images_per_minute")
    assert rate["state"] == "not_met"
    assert rate["detail"] == "50 images/min (tier 3) < 100"
    assert rate["advice"].startswith("Tier 4 (150 images/min) would suffice")


def test_an_unverified_account_is_no_go_with_the_verification_step(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, profile, env = setup(tmp_path, simulator.url)
    run = readiness(config, profile, env, "--account", "unverified")
    assert run.returncode == 1
    assert "unverified: NO-GO" in run.stdout
    assert "Organization not verified" in run.stdout
    assert (
        "what to do: Verify the organization at "
        "https://platform.openai.com/settings/organization/general" in run.stdout
    )


def test_a_flaky_account_is_inconclusive_never_go(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, profile, env = setup(tmp_path, simulator.url)
    run = readiness(config, profile, env, "--account", "flaky", "--json")
    assert run.returncode == 3
    document = report(run)
    assert verdict(document, "flaky") == "INCONCLUSIVE"
    assert requirement(document, "flaky", "generation")["state"] == "unknown"


def test_dry_run_sends_nothing(simulator: ServedSimulator, tmp_path: Path) -> None:
    config, profile, env = setup(tmp_path, simulator.url, edits=True)
    before = {n: simulator.control(n)["requests"] for n in ("verified", "unverified", "flaky")}
    run = readiness(config, profile, env, "--dry-run")
    assert run.returncode == 0
    assert "nothing was sent (--dry-run)" in run.stdout
    assert "verified                 edit           gpt-image-2              $0.0034" in run.stdout
    after = {n: simulator.control(n)["requests"] for n in before}
    assert after == before
    assert not (tmp_path / "r.db").exists()


def test_max_spend_below_one_probe_sends_no_paid_probe(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, profile, env = setup(tmp_path, simulator.url)
    run = readiness(config, profile, env, "--account", "verified", "--max-spend", "0.001", "--json")
    assert run.returncode == 3, run.stderr
    assert "1 paid probe(s) not sent to stay within --max-spend $0.001" in run.stderr
    assert simulator.control("verified")["billed_images"] == 0
    generation = requirement(report(run), "verified", "generation")
    assert generation["state"] == "unknown"
    assert "--max-spend" in generation["detail"]
    assert report(run)["spend"]["spent_usd"] == 0


def test_edits_and_transparency_are_probed_when_the_profile_needs_them(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, profile, env = setup(tmp_path, simulator.url, edits=True, transparent=True)
    document = report(readiness(config, profile, env, "--account", "verified", "--json"))
    assert requirement(document, "verified", "edits")["state"] == "met"
    transparent = requirement(document, "verified", "transparent")
    assert transparent["state"] == "not_met"  # gpt-image-2 refuses transparent backgrounds
    assert "Transparent background is not supported for this model." in transparent["detail"]
    config, profile, env = setup(tmp_path, simulator.url, transparent=True, model="gpt-image-1.5")
    document = report(readiness(config, profile, env, "--account", "verified", "--json"))
    assert requirement(document, "verified", "transparent")["state"] == "met"


def test_markdown_and_json_carry_the_same_report_and_it_is_stored(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    import sqlite3

    config, profile, env = setup(tmp_path, simulator.url, peak=100)
    markdown = readiness(config, profile, env, "--account", "verified", "--markdown")
    assert markdown.stdout.startswith("## Launch readiness: spring-campaign")
    assert "### verified: NO-GO" in markdown.stdout
    assert (
        "| ❌ | At least 100 images per minute | 50 images/min (tier 3) < 100 | Tier 4"
        in markdown.stdout
    )
    with sqlite3.connect(tmp_path / "r.db") as db:
        rows = db.execute("SELECT account, verdict, profile FROM launch_reports").fetchall()
    assert rows == [("verified", "NO-GO", "spring-campaign")]
    published = subprocess.run(
        [sys.executable, "-m", "monitor", "publish", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert published.returncode == 0, published.stderr
    page = (tmp_path / "public" / "accounts" / "verified.html").read_text(encoding="utf-8")
    assert "Launch readiness: spring-campaign" in page
    status = json.loads((tmp_path / "public" / "status.json").read_text(encoding="utf-8"))
    launch = next(a for a in status["accounts"] if a["name"] == "verified")["launch"]
    assert (launch["profile"], launch["verdict"]) == ("spring-campaign", "NO-GO")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[launch]\nname = 'x'\nmax_cost_per_image_usd = 0.06\n",
            ["launch.peak_images_per_minute: required key is missing"],
        ),
        (
            "[launch]\nname = 'x'\npeak_images_per_minute = 0\nmax_cost_per_image_usd = 0.06\n"
            "size = '1792x936'\ncolour = 'red'\n",
            [
                "launch.peak_images_per_minute: input should be greater than or equal to 1",
                "launch.size: invalid size '1792x936'. Width and height must both be "
                "divisible by 16.",
                "launch.colour: unknown key",
            ],
        ),
        ("[lunch]\nname = 'x'\n", ["lunch: unknown key", "launch: required table is missing"]),
    ],
)
def test_a_bad_profile_is_one_line_per_problem_and_exit_2(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    config, profile, env = setup(tmp_path, "http://127.0.0.1:9")
    profile.write_text(text, encoding="utf-8")
    run = readiness(config, profile, env)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [f"error: {line}" for line in expected]


# In-process: the plan, the requirements and the probes through the runner's Round.


def loaded_for(
    url: str, tmp_path: Path, generation: dict[str, Any] | None = None, **account: Any
) -> LoadedConfig:
    env = {"VERIFIED": scenario("verified").api_key}
    data: dict[str, Any] = {
        "monitor": {"database_url": f"sqlite:///{tmp_path / 'r.db'}"},
        "accounts": [
            {
                "name": "verified",
                "base_url": f"{url}/v1",
                "api_key_env": "VERIFIED",
                "project": scenario("verified").project,
                **account,
            }
        ],
        "checks": {
            "pricing": {"source": f"{url}/_sim/prices/published.json"},
            "generation": {"max_retry_wait": "1s", **(generation or {})},
        },
    }
    return parse(data, env)


def launch(**values: Any) -> LaunchProfile:
    fields: dict[str, Any] = {
        "name": "spring-campaign",
        "peak_images_per_minute": 40,
        "max_cost_per_image_usd": Decimal("0.06"),
        "needs_edits": True,
        "needs_transparent_background": True,
    }
    return LaunchProfile.model_validate(fields | values)


def check_readiness(
    loaded: LoadedConfig, profile: LaunchProfile, store: Store, clock: FrozenClock
) -> AccountReport:
    account = loaded.accounts[0]

    async def go() -> AccountReport:
        async with httpx.AsyncClient(timeout=30) as client:
            runner = Readiness(loaded, profile, store, client, clock)
            return await runner.account(account, plan(profile, loaded, [account], None))

    return asyncio.run(go())


def stated(report: AccountReport, key: str) -> Requirement:
    return next(r for r in report.requirements if r.key == key)


def test_the_plan_prices_each_probe_with_the_checks_own_estimate(tmp_path: Path) -> None:
    loaded = loaded_for("http://127.0.0.1:9", tmp_path)
    planned = plan(launch(), loaded, loaded.accounts, None)
    assert [(p.name, p.model, f"{p.cost_usd:.4f}") for p in planned] == [
        ("model_listing", "gpt-image-2", "0.0000"),
        ("generation", "gpt-image-2", "0.0019"),
        ("edit", "gpt-image-2", "0.0034"),
        ("transparent", "gpt-image-2", "0.0019"),
        ("rate_limits", "gpt-image-2", "0.0000"),
        ("pricing", "gpt-image-2", "0.0000"),
    ]
    settings = settings_for(loaded, "generation", "gpt-image-2")
    for probe in planned:
        if probe.paid:
            assert probe.cost_usd == REGISTRY[probe.check].expected_cost(probe.model, settings)
    older = plan(launch(model="gpt-image-1.5"), loaded, loaded.accounts, None)
    assert [f"{p.cost_usd:.4f}" for p in older if p.paid] == ["0.0090", "0.0105", "0.0090"]


def test_a_paid_probe_of_an_unpriced_model_is_planned_at_a_cent(tmp_path: Path) -> None:
    loaded = loaded_for("http://127.0.0.1:9", tmp_path)
    planned = plan(launch(model="gateway-image"), loaded, loaded.accounts, Decimal("0.015"))
    assert [(p.name, str(p.cost_usd), p.allowed) for p in planned if p.paid] == [
        ("generation", "0.01", True),
        ("edit", "0.01", False),
        ("transparent", "0.01", False),
    ]


def test_the_plan_lists_the_snapshot_only_when_the_profile_pins_one(tmp_path: Path) -> None:
    loaded = loaded_for("http://127.0.0.1:9", tmp_path)
    pinned = plan(launch(snapshot=PINNED), loaded, loaded.accounts, None)
    assert [(p.name, p.model) for p in pinned][:2] == [
        ("model_listing", "gpt-image-2"),
        ("snapshot", PINNED),
    ]
    assert "snapshot" not in [p.name for p in plan(launch(), loaded, loaded.accounts, None)]


def result(check: str, status: str, reason: str, **details: Any) -> ProbeResult:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    return ProbeResult(
        account="verified",
        check=check,
        model="gpt-image-2",
        status=status,
        reason=reason,
        summary="what the probe saw",
        details=details,
        started_at=now,
        finished_at=now,
    )


def test_a_refused_transparent_background_is_not_met_any_other_invalid_request_is_unknown() -> None:
    refusal = {"param": "background", "message": "Transparent background is not supported."}
    refused = transparent_requirement(
        result("transparency", "unknown", "invalid_request", error=refusal), ""
    )
    assert (refused.state, refused.detail) == (
        NOT_MET,
        "The model refuses it: Transparent background is not supported.",
    )
    other = transparent_requirement(
        result("transparency", "unknown", "invalid_request", error={"param": "size"}), ""
    )
    assert other.state == UNKNOWN
    assert transparent_requirement(None, "skipped").detail == "skipped"


def test_a_snapshot_shutting_down_before_the_launch_is_not_met() -> None:
    row = result("snapshot", "warn", "shutdown_scheduled", model={"shutdown_date": "2026-11-30"})
    before = snapshot_requirement(launch(snapshot=PINNED, launch_date=date(2026, 12, 1)), row)
    assert before.state == NOT_MET
    after = snapshot_requirement(launch(snapshot=PINNED, launch_date=date(2026, 11, 1)), row)
    assert after.state == MET
    assert after.detail.endswith("; a shutdown is scheduled for 2026-11-30")


def test_a_rate_limited_probe_could_not_tell_and_a_failed_one_is_not_met() -> None:
    assert from_outcome("generation", "t", result("generation", "warn", "rate_limited")).state == (
        UNKNOWN
    )
    assert from_outcome("generation", "t", result("generation", "warn", "new_snapshot")).state == (
        MET
    )
    failed = from_outcome("generation", "t", result("generation", "fail", "insufficient_quota"))
    assert failed.state == NOT_MET
    assert failed.advice


@pytest.mark.parametrize(
    ("states", "expected", "code"),
    [
        ([], "GO", 0),
        ([MET, MET], "GO", 0),
        ([MET, UNKNOWN], "INCONCLUSIVE", 3),
        ([UNKNOWN, NOT_MET, MET], "NO-GO", 1),
    ],
)
def test_the_go_no_go_is_the_verdict_of_the_requirements(
    states: list[str], expected: str, code: int
) -> None:
    judged = [Requirement(f"r{i}", "t", state, "d") for i, state in enumerate(states)]
    reports = [AccountReport("verified", verdict_of(judged), judged, 0.0, [])]
    assert reports[0].verdict == overall(reports) == expected
    assert exit_code(reports) == code
    halves = [
        AccountReport("a", verdict_of(judged[:1]), judged[:1], 0.0, []),
        AccountReport("b", verdict_of(judged[1:]), judged[1:], 0.0, []),
    ]
    assert overall(halves) == expected


def test_launch_probes_run_through_the_runner_and_are_stored_like_every_probe(
    simulator: ServedSimulator, tmp_path: Path, clock: FrozenClock
) -> None:
    loaded = loaded_for(simulator.url, tmp_path)
    store = Store.open(loaded.config.monitor.database_url)
    report = check_readiness(loaded, launch(model="gpt-image-1.5"), store, clock)
    assert [p["probe"] for p in report.probes] == [
        "model_listing",
        "generation",
        "rate_limits",
        "pricing",
        "edit",
        "transparent",
    ]
    assert stated(report, "edits").state == MET
    assert stated(report, "transparent").state == MET
    stored = {row.check: row for row in store.results()}
    assert stored["transparency"].details["image"]["has_alpha"] is True
    assert stored["transparency"].details["request"]["output_format"] == "png"
    assert stored["edit"].status == "pass"
    assert report.spent_usd == pytest.approx(sum(r.cost_usd or 0 for r in store.results()))


def test_launch_image_probes_run_with_the_generation_settings(
    simulator: ServedSimulator, tmp_path: Path, clock: FrozenClock
) -> None:
    loaded = loaded_for(simulator.url, tmp_path, generation={"quality": "medium"})
    store = Store.open(loaded.config.monitor.database_url)
    profile = launch(model="gpt-image-1.5")
    check_readiness(loaded, profile, store, clock)
    stored = {row.check: row for row in store.results()}
    for check in ("generation", "edit", "transparency"):
        assert stored[check].details["request"]["quality"] == "medium", check
    planned = {p.check: p.cost_usd for p in plan(profile, loaded, loaded.accounts, None)}
    medium = settings_for(loaded, "generation", "gpt-image-1.5")
    assert planned["edit"] == REGISTRY["edit"].expected_cost("gpt-image-1.5", medium)


def test_a_crashing_launch_probe_could_not_tell_and_the_report_goes_on(
    simulator: ServedSimulator, tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(Edit):
        async def run(self, ctx: ProbeContext) -> Outcome:
            raise RuntimeError("edit probe bug")

    monkeypatch.setitem(REGISTRY, "edit", Broken())
    loaded = loaded_for(simulator.url, tmp_path)
    store = Store.open(loaded.config.monitor.database_url)
    report = check_readiness(loaded, launch(model="gpt-image-1.5"), store, clock)
    edits = stated(report, "edits")
    assert edits.state == UNKNOWN
    assert "monitor error: RuntimeError: edit probe bug" in edits.detail
    assert stated(report, "transparent").state == MET
    assert report.verdict == "INCONCLUSIVE"


def test_the_daily_probe_budget_holds_for_launch_probes_too(
    simulator: ServedSimulator, tmp_path: Path, clock: FrozenClock
) -> None:
    loaded = loaded_for(simulator.url, tmp_path, daily_probe_budget_usd="0.004")
    store = Store.open(loaded.config.monitor.database_url)
    report = check_readiness(loaded, launch(), store, clock)
    assert stated(report, "generation").state == MET
    edits = stated(report, "edits")
    assert edits.state == UNKNOWN
    assert "Daily probe budget $0.004 reached" in edits.detail
    assert simulator.control("verified")["billed_images"] == 1


def answering_a_png(*, alpha: bool) -> Api:
    """A scripted API whose generation answers a 1024x1024 PNG, with or without alpha."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA" if alpha else "RGB", (1024, 1024)).save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    body = generation_body(1024, 1024, 272, data=[{"b64_json": png}])
    return Api().on("POST", "/v1/images/generations", json_response(200, body))


def test_the_transparency_probe_asks_for_a_transparent_png_whatever_its_settings() -> None:
    api = answering_a_png(alpha=True)
    outcome = run_check(
        "transparency", api, model="gpt-image-1.5", settings={"output_format": "jpeg"}
    )
    sent = json.loads(api.requests[0].content)
    assert (sent["background"], sent["output_format"]) == ("transparent", "png")
    assert "output_compression" not in sent
    assert (outcome.status, outcome.reason) == ("pass", "ok")


def test_the_transparency_probe_fails_when_the_png_has_no_transparent_pixel() -> None:
    outcome = run_check("transparency", answering_a_png(alpha=False), model="gpt-image-1.5")
    assert (outcome.status, outcome.reason) == ("fail", "transparency_unsupported")
    assert "no pixel of it is transparent" in outcome.summary


def test_a_launch_whose_peak_fits_beside_the_days_traffic_is_met() -> None:
    usage = usage_row("verified", datetime(2026, 11, 21, 12, 0, tzinfo=UTC), limit=50, peak_day=8)
    judged = traffic_requirement(launch(peak_images_per_minute=40), usage, None)
    assert judged.state == MET
    assert judged.detail == (
        "the day's peak 8 + the launch's 40 = 48 images/min ≤ the limit 50 "
        "(usage read 2026-11-21 12:00 UTC)"
    )


def test_a_launch_whose_peak_does_not_fit_beside_the_days_traffic_is_not_met_and_says_why() -> None:
    usage = usage_row("verified", datetime(2026, 11, 21, 12, 0, tzinfo=UTC), limit=50, peak_day=30)
    judged = traffic_requirement(launch(peak_images_per_minute=40), usage, None)
    assert judged.state == NOT_MET
    assert "the day's peak 30 + the launch's 40 = 70 images/min > the limit 50" in judged.detail
    assert "tier 4 would cover both" in judged.advice
    assert verdict_of([judged]) == "NO-GO"


def test_without_a_limit_in_the_usage_read_the_rate_limits_evidence_gives_it() -> None:
    at = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    usage = usage_row("verified", at, limit=None, peak_day=20)
    limits = result("rate_limits", "pass", "headroom_ok", images_per_minute=50)
    assert traffic_requirement(launch(), usage, limits).state == NOT_MET  # 20 + 40 > 50
    unknown = traffic_requirement(launch(), usage, None)
    assert unknown.state == UNKNOWN
    assert "no images-per-minute limit" in unknown.detail


def test_the_traffic_requirement_is_judged_only_when_a_usage_read_exists() -> None:
    profile = launch(needs_edits=False, needs_transparent_background=False)
    without = requirements(profile, {}, [])
    assert "images_per_minute_beside_traffic" not in [r.key for r in without]
    usage = usage_row("verified", datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    with_usage = requirements(profile, {"usage": usage}, [])
    assert "images_per_minute_beside_traffic" in [r.key for r in with_usage]


def test_readiness_weighs_the_launch_against_the_stored_usage_read_of_the_account(
    simulator: ServedSimulator, tmp_path: Path, clock: FrozenClock
) -> None:
    loaded = loaded_for(simulator.url, tmp_path)
    store = Store.open(loaded.config.monitor.database_url)
    store.add_result(usage_row("verified", clock.now(), limit=50, peak_day=30))
    profile = launch(needs_edits=False, needs_transparent_background=False)
    report = check_readiness(loaded, profile, store, clock)
    assert stated(report, "images_per_minute").state == MET  # 50 ≥ 40 alone
    beside = stated(report, "images_per_minute_beside_traffic")
    assert beside.state == NOT_MET
    assert "30 + the launch's 40 = 70 images/min > the limit 50" in beside.detail
    assert report.verdict == "NO-GO"
