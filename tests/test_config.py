from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor.config import ConfigError, load, parse

ENV = {"OPENAI_API_KEY": "sk-test-0000000000001111", "OPENAI_KEY_EU": "sk-test-eu-22223333"}


def minimal(**account: Any) -> dict[str, Any]:
    return {"accounts": [{"name": "prod", "api_key_env": "OPENAI_API_KEY", **account}]}


def problems(data: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(data, ENV if environ is None else environ)
    return caught.value.problems


def test_a_minimal_config_gets_the_documented_defaults() -> None:
    loaded = parse(minimal(), ENV)
    config = loaded.config
    assert config.monitor.database_url == "sqlite:///imagewatch.db"
    assert config.checks.generation.every == 3600
    assert config.checks.generation.every_when_failing == 300
    assert config.checks.pricing.source == "litellm"
    assert loaded.accounts[0].models == ("gpt-image-2",)
    assert loaded.accounts[0].api_key == ENV["OPENAI_API_KEY"]


def test_a_missing_environment_variable_names_the_key_path() -> None:
    data = {
        "accounts": [
            {"name": "a", "api_key_env": "OPENAI_API_KEY"},
            {"name": "b", "api_key_env": "OPENAI_API_KEY"},
            {"name": "eu", "api_key_env": "OPENAI_KEY_EU"},
        ]
    }
    assert problems(data, {"OPENAI_API_KEY": "sk-x-12345678"}) == [
        "accounts[2].api_key_env: environment variable OPENAI_KEY_EU is not set"
    ]


def test_unknown_keys_are_errors() -> None:
    assert problems(minimal(modles=["gpt-image-2"])) == ["accounts[0].modles: unknown key"]
    data = minimal() | {"checks": {"generation": {"evry": "1h"}}}
    assert problems(data) == ["checks.generation.evry: unknown key"]
    assert problems(minimal() | {"monitr": {}}) == ["monitr: unknown key"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (minimal(name="Prod EU"), "accounts[0].name: 'Prod EU' must be lowercase letters"),
        (minimal(base_url="api.openai.com"), "accounts[0].base_url: 'api.openai.com' must start"),
        (minimal(api_key_env="not a name"), "accounts[0].api_key_env: 'not a name' is not an"),
        (minimal(daily_probe_budget_usd=-1), "accounts[0].daily_probe_budget_usd: input should be"),
        (minimal(models=[]), "accounts[0].models: list should have at least 1 item"),
        (minimal(required_images_per_minute=0), "accounts[0].required_images_per_minute: input"),
        (
            minimal() | {"checks": {"generation": {"every": "soon"}}},
            "checks.generation.every: invalid duration 'soon'",
        ),
        (
            minimal() | {"checks": {"generation": {"quality": "ultra"}}},
            "checks.generation.quality: input should be 'low', 'medium' or 'high'",
        ),
        (
            minimal() | {"checks": {"pricing": {"source": "openrouter"}}},
            "checks.pricing.source: 'openrouter' is not supported yet",
        ),
        (
            minimal() | {"checks": {"rate_limits": {"headroom_warn": 2}}},
            "checks.rate_limits.headroom_warn: input should be less than or equal to 1",
        ),
        (
            minimal() | {"alerts": {"channels": [{"name": "x"}]}},
            "alerts.channels[0].url_env: required key is missing",
        ),
        ({"accounts": []}, "accounts: list should have at least 1 item"),
        ({}, "accounts: required key is missing"),
    ],
)
def test_each_config_error_is_one_line_with_its_key_path(
    data: dict[str, Any], expected: str
) -> None:
    found = problems(data)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_durations_accept_compound_forms() -> None:
    loaded = parse(
        minimal() | {"checks": {"generation": {"every": "1h30m", "every_when_failing": "90s"}}}, ENV
    )
    assert loaded.config.checks.generation.every == 5400
    assert loaded.config.checks.generation.every_when_failing == 90


def test_duplicate_names_and_admin_without_project_are_refused() -> None:
    data = {
        "accounts": [
            {"name": "prod", "api_key_env": "OPENAI_API_KEY"},
            {"name": "prod", "api_key_env": "OPENAI_API_KEY", "admin_key_env": "OPENAI_KEY_EU"},
        ]
    }
    assert problems(data) == [
        "accounts[1].name: duplicate account name 'prod' (also accounts[0])",
        "accounts[1].project: required when admin_key_env is set (the Admin API lists rate "
        "limits per project)",
    ]


def test_baseline_prices_come_from_config_or_the_published_table() -> None:
    data = minimal() | {"pricing": {"baseline": {"gpt-image-2": {"image_output": 31.5}}}}
    config = parse(data, ENV).config
    assert str(config.baseline("gpt-image-2-2026-04-21")["image_output"]) == "31.5"
    assert str(config.baseline("gpt-image-1.5")["image_output"]) == "32.00"


def test_load_reports_a_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load(str(tmp_path / "nope.toml"), ENV)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[accounts]\nname = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load(str(bad), ENV)


def test_config_path_comes_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('[[accounts]]\nname = "x"\napi_key_env = "OPENAI_API_KEY"\n', "utf-8")
    loaded = load(None, ENV | {"IMAGEWATCH_CONFIG": str(path)})
    assert loaded.accounts[0].name == "x"


def test_init_writes_an_example_that_loads_as_is(tmp_path: Path) -> None:
    target = tmp_path / "imagewatch.toml"
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "init", "--path", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    loaded = load(str(target), ENV)
    assert loaded.accounts[0].snapshots == ("gpt-image-2-2026-04-21",)
    again = subprocess.run(
        [sys.executable, "-m", "monitor", "init", "--path", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2
    assert again.stderr.strip() == f"error: {target} exists; pass --force to overwrite it"


def test_check_refuses_a_bad_config_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "imagewatch.toml"
    path.write_text(
        '[[accounts]]\nname = "eu"\napi_key_env = "OPENAI_KEY_EU"\ncolour = 1\n', "utf-8"
    )
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin"},
    )
    assert run.returncode == 2
    assert run.stderr.splitlines() == ["error: accounts[0].colour: unknown key"]
    assert "Traceback" not in run.stderr


def test_an_account_listing_a_retired_model_is_refused_with_its_key_path_and_source() -> None:
    from datetime import date

    data = minimal(models=["gpt-image-2", "dall-e-3"], snapshots=["dall-e-2"])
    with pytest.raises(ConfigError) as caught:
        parse(data, ENV, today=date(2026, 11, 21))
    first, second = caught.value.problems
    assert first.startswith("accounts[0].models[1]: dall-e-3 was shut down on 2026-05-12")
    assert "https://developers.openai.com/api/docs/deprecations" in first
    assert second.startswith("accounts[0].snapshots[0]: dall-e-2 was shut down on 2026-05-12")


def test_a_model_is_refused_only_from_its_retirement_day_on() -> None:
    from datetime import date

    data = minimal(models=["dall-e-3"])
    assert parse(data, ENV, today=date(2026, 5, 11)).accounts[0].models == ("dall-e-3",)
    with pytest.raises(ConfigError):
        parse(data, ENV, today=date(2026, 5, 12))


def test_load_passes_today_to_the_retirement_check(tmp_path: Path) -> None:
    from datetime import date

    path = tmp_path / "imagewatch.toml"
    path.write_text(
        '[[accounts]]\nname = "x"\napi_key_env = "OPENAI_API_KEY"\nmodels = ["dall-e-2"]\n',
        "utf-8",
    )
    assert load(str(path), ENV, today=date(2026, 1, 1)).accounts[0].models == ("dall-e-2",)
    with pytest.raises(ConfigError, match=r"^accounts\[0\]\.models\[0\]: dall-e-2 was shut"):
        load(str(path), ENV, today=date(2026, 11, 21))
