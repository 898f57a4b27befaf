from __future__ import annotations

import httpx

from tests.conftest import Api, error_fixture, raw_response, run_check

PATH = "/v1/models/gpt-image-2-2026-04-21"


def model(**extra: object) -> httpx.Response:
    body = {
        "id": "gpt-image-2-2026-04-21",
        "object": "model",
        "created": 1776399994,
        "owned_by": "system",
        **extra,
    }
    return httpx.Response(200, json=body)


def test_snapshot_passes_when_available() -> None:
    outcome = run_check(
        "snapshot", Api().on("GET", PATH, model(shutdown_date=None)), model="gpt-image-2-2026-04-21"
    )
    assert (outcome.status, outcome.reason) == ("pass", "snapshot_available")


def test_snapshot_warns_when_a_shutdown_is_scheduled() -> None:
    outcome = run_check(
        "snapshot",
        Api().on("GET", PATH, model(shutdown_date="2027-05-05")),
        model="gpt-image-2-2026-04-21",
    )
    assert (outcome.status, outcome.reason) == ("warn", "shutdown_scheduled")
    assert "2027-05-05" in outcome.summary


def test_snapshot_fails_missing_on_404() -> None:
    api = Api().on("GET", PATH, raw_response(404, error_fixture("404_model_not_found.json")))
    outcome = run_check("snapshot", api, model="gpt-image-2-2026-04-21")
    assert (outcome.status, outcome.reason, outcome.http_status) == (
        "fail",
        "snapshot_missing",
        404,
    )


def test_snapshot_does_not_trust_a_proxy_404_page() -> None:
    api = Api().on("GET", PATH, raw_response(404, b"<h1>Not Found</h1>", "text/html"))
    assert (
        run_check("snapshot", api, model="gpt-image-2-2026-04-21").reason == "unexpected_response"
    )


def test_snapshot_maps_account_errors() -> None:
    api = Api().on("GET", PATH, raw_response(401, error_fixture("401_invalid_api_key.json")))
    assert run_check("snapshot", api, model="gpt-image-2-2026-04-21").reason == "invalid_api_key"


def test_snapshot_refuses_a_different_model_object() -> None:
    api = Api().on("GET", PATH, httpx.Response(200, json={"id": "other", "object": "model"}))
    assert (
        run_check("snapshot", api, model="gpt-image-2-2026-04-21").reason == "unexpected_response"
    )
