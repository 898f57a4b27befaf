from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx

from checks.base import Evidence
from tests.conftest import FIXTURES, Api, fixture_bytes, raw_response, run_check

URL = "https://prices.test/litellm.json"
PATH = "/litellm.json"


def source(**changes: object) -> httpx.Response:
    document = json.loads(fixture_bytes("litellm_prices.json"))
    document["gpt-image-2"].update(changes)
    return httpx.Response(200, json=document)


def generation(observed: int, expected: int = 54) -> Evidence:
    return Evidence(
        generation={
            "usage": {"output_tokens": observed},
            "expected_output_tokens": expected,
            "size": "1408x480",
        }
    )


def test_pricing_passes_when_prices_match_the_baseline() -> None:
    outcome = run_check("pricing", Api().on("GET", PATH, source()), settings={"source": URL})
    assert (outcome.status, outcome.reason) == ("pass", "price_unchanged")
    assert outcome.details["published"]["image_output"] == "30"


def test_pricing_fails_when_a_rate_moved() -> None:
    moved = source(output_cost_per_image_token=3.5e-05)
    outcome = run_check("pricing", Api().on("GET", PATH, moved), settings={"source": URL})
    assert (outcome.status, outcome.reason) == ("fail", "price_changed")
    assert outcome.details["moved"] == [
        {"category": "image_output", "baseline": "30", "published": "35", "change": "+16.67%"}
    ]


def test_pricing_respects_the_tolerance() -> None:
    api = Api().on("GET", PATH, source(output_cost_per_image_token=3.1e-05))
    settings = {"source": URL, "tolerance_pct": Decimal(5)}
    assert run_check("pricing", api, settings=settings).reason == "price_unchanged"


def test_pricing_compares_against_a_configured_baseline() -> None:
    settings = {"source": URL, "baseline": {"gpt-image-2": {"image_output": Decimal("25")}}}
    outcome = run_check("pricing", Api().on("GET", PATH, source()), settings=settings)
    assert outcome.reason == "price_changed"


def test_pricing_warns_on_an_unpriced_model() -> None:
    outcome = run_check(
        "pricing", Api().on("GET", PATH, source()), model="gpt-image-9", settings={"source": URL}
    )
    assert (outcome.status, outcome.reason) == ("warn", "model_unpriced")


def test_pricing_finds_snapshots_under_their_family() -> None:
    outcome = run_check(
        "pricing",
        Api().on("GET", PATH, source()),
        model="gpt-image-2-2026-04-21",
        settings={"source": URL},
    )
    assert outcome.reason == "price_unchanged"


def test_pricing_warns_on_token_usage_drift() -> None:
    outcome = run_check(
        "pricing",
        Api().on("GET", PATH, source()),
        settings={"source": URL},
        evidence=generation(observed=196),
    )
    assert (outcome.status, outcome.reason) == ("warn", "token_usage_drift")
    assert "196" in outcome.summary


def test_pricing_accepts_matching_token_usage() -> None:
    outcome = run_check(
        "pricing",
        Api().on("GET", PATH, source()),
        settings={"source": URL},
        evidence=generation(observed=54),
    )
    assert outcome.reason == "price_unchanged"
    assert outcome.details["output_tokens"]["observed"] == 54


def test_pricing_is_unknown_when_the_source_fails() -> None:
    for answer in (
        httpx.Response(500, text="oops"),
        raw_response(200, b"<html>", "text/html"),
        httpx.Response(200, json=["a", "list"]),
        httpx.ConnectError("down"),
    ):
        outcome = run_check("pricing", Api().on("GET", PATH, answer), settings={"source": URL})
        assert (outcome.status, outcome.reason) == ("unknown", "price_source_unavailable")


def test_pricing_reads_a_local_file(tmp_path: Path) -> None:
    outcome = run_check(
        "pricing", Api(), settings={"source": str(FIXTURES / "litellm_prices.json")}
    )
    assert outcome.reason == "price_unchanged"
    missing = run_check("pricing", Api(), settings={"source": str(tmp_path / "nope.json")})
    assert missing.reason == "price_source_unavailable"
