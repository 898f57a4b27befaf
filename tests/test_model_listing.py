from __future__ import annotations

import json
from pathlib import Path

import httpx

from checks.base import Evidence, Outcome
from tests.conftest import (
    Api,
    error_fixture,
    fixture_bytes,
    make_account,
    raw_response,
    run_check,
)


def models(*extra: str) -> httpx.Response:
    body = json.loads(fixture_bytes("models_list.json"))
    body["data"] += [
        {"id": m, "object": "model", "created": 1, "owned_by": "system"} for m in extra
    ]
    return httpx.Response(200, json=body, headers={"x-request-id": "req_list"})


def test_model_listing_passes_when_the_model_is_listed() -> None:
    api = Api().on("GET", "/v1/models", models())
    outcome = run_check("model_listing", api)
    assert (outcome.status, outcome.reason) == ("pass", "listed")
    assert outcome.request_id == "req_list"
    assert outcome.details["family_snapshots"] == ["gpt-image-2-2026-04-21"]
    sent = api.requests[0]
    assert sent.headers["authorization"] == "Bearer sk-proj-test-secret-abcd1234"


def test_model_listing_sends_organization_and_project_headers() -> None:
    api = Api().on("GET", "/v1/models", models())
    run_check("model_listing", api, account=make_account(organization="org-x", project="proj_y"))
    assert api.requests[0].headers["openai-organization"] == "org-x"
    assert api.requests[0].headers["openai-project"] == "proj_y"


def test_model_listing_fails_not_listed() -> None:
    api = Api().on("GET", "/v1/models", models())
    outcome = run_check("model_listing", api, model="gpt-image-3")
    assert (outcome.status, outcome.reason) == ("fail", "not_listed")


def test_model_listing_warns_new_snapshot_not_pinned() -> None:
    api = Api().on("GET", "/v1/models", models("gpt-image-2-2026-11-05"))
    outcome = run_check("model_listing", api)
    assert (outcome.status, outcome.reason) == ("warn", "new_snapshot")
    assert outcome.details["new_snapshots"] == ["gpt-image-2-2026-11-05"]


def test_model_listing_ignores_older_unpinned_snapshots() -> None:
    api = Api().on("GET", "/v1/models", models("gpt-image-2-2026-01-01"))
    assert run_check("model_listing", api).reason == "listed"


def test_model_listing_maps_a_bad_key() -> None:
    refused = raw_response(401, error_fixture("401_invalid_api_key.json"))
    api = Api().on("GET", "/v1/models", refused)
    outcome = run_check("model_listing", api)
    assert (outcome.status, outcome.reason, outcome.http_status) == ("fail", "invalid_api_key", 401)


def test_model_listing_treats_a_non_list_answer_as_unexpected() -> None:
    api = Api().on("GET", "/v1/models", httpx.Response(200, json={"object": "list"}))
    assert run_check("model_listing", api).reason == "unexpected_response"
    api = Api().on("GET", "/v1/models", raw_response(200, b"<html>login</html>", "text/html"))
    assert run_check("model_listing", api).reason == "unexpected_response"


def test_model_listing_reports_timeouts_and_network_errors_as_unknown() -> None:
    api = Api().on("GET", "/v1/models", httpx.ReadTimeout("slow"))
    assert (run_check("model_listing", api).status, run_check("model_listing", api).reason) == (
        "unknown",
        "timeout",
    )
    api = Api().on("GET", "/v1/models", httpx.ConnectError("refused"))
    assert run_check("model_listing", api).reason == "network_error"


def test_model_listing_without_pins_warns_only_on_a_snapshot_that_appeared() -> None:
    unpinned = make_account(snapshots=())
    first = run_check("model_listing", Api().on("GET", "/v1/models", models()), account=unpinned)
    assert first.reason == "listed"
    later = run_check(
        "model_listing",
        Api().on("GET", "/v1/models", models("gpt-image-2-2026-11-05")),
        account=unpinned,
        evidence=Evidence(previous=first.details),
    )
    assert later.reason == "new_snapshot"
    assert later.details["new_snapshots"] == ["gpt-image-2-2026-11-05"]


LITELLM_PATH = "/BerriAI/litellm/main/model_prices_and_context_window.json"


def listing_then(*extra: str, **settings: object) -> tuple[Outcome, Api]:
    """A first listing, then a second one that shows `extra` too."""
    first = run_check("model_listing", Api().on("GET", "/v1/models", models()), settings=settings)
    api = Api().on("GET", "/v1/models", models(*extra))
    later = run_check(
        "model_listing", api, settings=settings, evidence=Evidence(previous=first.details)
    )
    return later, api


def test_model_listing_warns_once_about_a_gpt_image_model_no_account_watches(
    tmp_path: Path,
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-image-2.5-flare": {"output_cost_per_image_token": 3e-05}}))
    settings = {"watched_models": ["gpt-image-2", "gpt-image-1"], "price_source": str(prices)}
    later, _ = listing_then("gpt-image-2.5-flare", "gpt-image-2.5-flare-2026-09-08", **settings)
    assert (later.status, later.reason) == ("warn", "new_model")
    assert later.details["new_models"] == ["gpt-image-2.5-flare", "gpt-image-2.5-flare-2026-09-08"]
    assert later.details["new_model_prices"]["gpt-image-2.5-flare"] == {"image_output": "30"}
    # remembered: the next listing shows it again and says nothing
    again = run_check(
        "model_listing",
        Api().on("GET", "/v1/models", models("gpt-image-2.5-flare")),
        settings=settings,
        evidence=Evidence(previous=later.details),
    )
    assert again.reason == "listed"


def test_model_listing_says_nothing_new_on_a_first_listing() -> None:
    api = Api().on("GET", "/v1/models", models("gpt-image-2.5-sunburst"))
    assert run_check("model_listing", api).reason == "listed"


def test_a_model_another_account_watches_is_not_new() -> None:
    later, _ = listing_then("gpt-image-2.5-sunburst", watched_models=["gpt-image-2.5-sunburst"])
    assert later.reason == "listed"


def test_without_watched_models_the_accounts_own_models_count_as_watched() -> None:
    later, _ = listing_then("gpt-image-2.5-sunburst")
    assert later.reason == "new_model"
    assert later.details["new_models"] == ["gpt-image-2.5-sunburst"]


def test_new_model_survives_a_price_source_that_cannot_be_read() -> None:
    later, api = listing_then("gpt-image-2.5-sunburst")  # the default source answers 404 here
    assert later.reason == "new_model"
    assert "new_model_prices" not in later.details
    assert "HTTP 404" in later.details["price_source_error"]
    assert any(r.url.path == LITELLM_PATH for r in api.requests)


def test_a_new_snapshot_still_wins_and_the_new_model_is_kept_in_the_details() -> None:
    later, _ = listing_then("gpt-image-2-2026-11-05", "gpt-image-2.5-flare")
    assert later.reason == "new_snapshot"
    assert later.details["new_models"] == ["gpt-image-2.5-flare"]
