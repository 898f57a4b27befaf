"""Which probes a config asks for, and what each runs with."""

from __future__ import annotations

from checks import REGISTRY
from monitor.config import parse
from monitor.plan import settings_for

ENV = {"KEY_A": "sk-test-aaaa11112222", "KEY_B": "sk-test-bbbb33334444"}
CONFIG = {
    "accounts": [
        {
            "name": "a",
            "api_key_env": "KEY_A",
            "models": ["gpt-image-2"],
            "snapshots": ["gpt-image-2-2026-04-21"],
        },
        {"name": "b", "api_key_env": "KEY_B", "models": ["gpt-image-1.5", "gpt-image-2"]},
    ],
    "checks": {"pricing": {"source": "https://prices.example/map.json"}},
}


def test_every_check_gets_every_watched_model_of_every_account_and_the_price_source() -> None:
    loaded = parse(CONFIG, ENV)
    for check in REGISTRY:
        settings = settings_for(loaded, check, "gpt-image-2")
        assert settings["watched_models"] == [
            "gpt-image-1.5",
            "gpt-image-2",
            "gpt-image-2-2026-04-21",
        ], check
        assert settings["price_source"] == "https://prices.example/map.json", check


def test_the_price_source_defaults_to_litellm() -> None:
    loaded = parse({"accounts": CONFIG["accounts"][:1]}, ENV)
    check = next(iter(REGISTRY))
    assert settings_for(loaded, check, "gpt-image-2")["price_source"] == "litellm"
