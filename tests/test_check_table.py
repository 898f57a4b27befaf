"""What `check` prints: a table that fits the terminal, notes for long evidence, verdicts."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from rich.console import Console

from monitor.cli import table
from monitor.store import ProbeResult
from tests.test_publish import row as result_row

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
VERIFY_URL = "https://platform.openai.com/settings/organization/general?verify=1&from=imagewatch"
VERIFY = (
    "Your organization must be verified to use the model `gpt-image-2`. Please go to: "
    f"{VERIFY_URL} and click on Verify Organization. If you just verified, it can take up to "
    "15 minutes for access to propagate."
)
HOSTILE = "boom \x1b[2J\x1b]0;owned\x07 \x9b31m red \u202eevil"
WIDTHS = (80, 120, 140, 200)


def row(
    account: str,
    check: str,
    status: str,
    reason: str,
    summary: str,
    model: str = "gpt-image-2",
    request_id: str | None = None,
) -> ProbeResult:
    cost = 0.053 if check == "generation" and status == "pass" else None
    return result_row(
        account, check, status, reason, summary, T0, model, request_id=request_id, cost_usd=cost
    )


RESULTS = [
    row("verified", "model_listing", "pass", "listed", "gpt-image-2 listed (created 2026-04-17)"),
    row(
        "verified",
        "snapshot",
        "pass",
        "snapshot_available",
        "gpt-image-2-2026-04-21 available",
        model="gpt-image-2-2026-04-21",
    ),
    row(
        "verified",
        "generation",
        "pass",
        "ok",
        "1024x1024 low image in 7.8 s, 272 output tokens",
        request_id="req_5f0c8c1e9d7b4a3f8e2d1c0b9a8f7e6d",
    ),
    row(
        "project-without-model",
        "generation",
        "fail",
        "org_verification_required",
        VERIFY,
        request_id="req_0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ),
    row("project-without-model", "rate_limits", "unknown", "generation_failed", HOSTILE),
]


def rendered(width: int, results: list[ProbeResult] = RESULTS) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, highlight=False, soft_wrap=False, color_system=None)
    table.render(results, console)
    return out.getvalue()


def words_of(results: list[ProbeResult], width: int) -> set[str]:
    """The words a reader must find whole: names, and every word of the evidence shown
    (all of it when wide, what did not pass when compact) that made it through cleaning."""
    from checks.text import clean

    found = set()
    for r in results:
        found |= {r.account, r.check, r.model}
        if width >= table.WIDE or r.status != "pass":
            found |= {w for w in clean(r.summary).split() if "\ufffd" not in w}
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_the_check_table_fits_the_terminal_and_never_splits_a_word(width: int) -> None:
    text = rendered(width)
    table_lines = text.split("\n[1]")[0].splitlines()
    assert all(len(line) <= width for line in table_lines), text
    flat = " ".join(text.split())
    for word in words_of(RESULTS, width):
        assert word in flat, f"{word!r} split or missing at {width} columns:\n{text}"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_url_is_never_cut_and_stands_under_the_table(width: int) -> None:
    text = rendered(width)
    assert VERIFY_URL in text.splitlines() or any(
        VERIFY_URL in line.split() for line in text.splitlines()
    ), text
    notes = text.split("\n[1] ", 1)
    assert len(notes) == 2
    assert "org_verification_required" in notes[1]
    assert "see [1]" in text or "[1]" in notes[0]


def test_the_layout_is_compact_below_140_columns_and_wide_from_it() -> None:
    assert "Latency" not in rendered(139)
    assert "Check · model" in rendered(120)
    wide = rendered(140)
    assert "Latency" in wide
    assert "Evidence" in wide
    assert "$0.0530" in wide


@pytest.mark.parametrize("width", WIDTHS)
def test_api_text_never_carries_an_escape_sequence_to_the_terminal(width: int) -> None:
    text = rendered(width)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\x9b" not in text
    assert "\u202e" not in text


def test_each_account_ends_with_a_verdict_line() -> None:
    lines = rendered(120).splitlines()
    assert any(re.match(r"^  verified +ready$", line) for line in lines)
    verdict = next(line for line in lines if line.startswith("  project-without-model"))
    assert "NOT READY — generation: Organization not verified" in verdict
    assert "rate_limits" not in verdict  # a dependent unknown is explained, not a problem


def test_a_name_too_long_for_any_table_gets_one_stanza_per_result() -> None:
    long_name = "an-account-whose-name-is-longer-than-any-narrow-terminal-could-show-in-a-column"
    quota = "You exceeded your quota"
    results = [row(long_name, "generation", "fail", "insufficient_quota", quota)]
    text = rendered(80, results)
    assert f"{long_name} · generation · gpt-image-2: FAIL — Out of quota" in " ".join(text.split())
    assert "You exceeded your quota" in text


def test_check_prints_the_table_and_a_verdict_line(simulator: object, tmp_path: object) -> None:
    """End to end through a pipe (200 columns): the verdict is there, the words whole."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from monitor.simulator.scenarios import scenario

    url = simulator.url  # type: ignore[attr-defined]
    folder = Path(str(tmp_path))
    config = folder / "imagewatch.toml"
    config.write_text(
        f'[monitor]\ndatabase_url = "sqlite:///{folder / "t.db"}"\n'
        f'[[accounts]]\nname = "unverified"\nbase_url = "{url}/v1"\napi_key_env = "KEY"\n'
        f'[checks.pricing]\nsource = "{url}/_sim/prices/published.json"\n',
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "KEY": scenario("unverified").api_key,
    }
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "NOT READY — generation: Organization not verified" in run.stdout
    flat = " ".join(run.stdout.split())
    assert "no headers because generation failed" in flat
    assert all(len(line) <= 200 for line in run.stdout.splitlines() if "://" not in line)
