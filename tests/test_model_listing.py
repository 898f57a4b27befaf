from __future__ import annotations

import json

import httpx

from checks.base import Evidence
from tests.conftest import Api, error_fixture, fixture_bytes, make_account, raw_response, run_check


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
