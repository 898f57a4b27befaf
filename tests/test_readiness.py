"""`imagewatch readiness` against the simulator over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor.simulator.scenarios import scenario
from tests.conftest import ServedSimulator

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
